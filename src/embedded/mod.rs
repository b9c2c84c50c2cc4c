//! Servers vmodem can run in-process: the FTP server behind `vmodem serve --demo`, also used
//! by the tests as the fast tier.

pub mod ftp;
