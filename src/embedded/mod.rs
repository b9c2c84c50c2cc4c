//! Servers vmodem can run in-process: the FTP and HTTP servers and the echo peer behind
//! `vmodem serve --demo`, also used by the tests as the fast tier.

pub mod echo;
pub mod ftp;
pub mod http;
