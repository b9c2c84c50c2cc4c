//! Dialect-neutral services that do the real work: the FTP client today; HTTP, the module file
//! system and TLS contexts later. They know nothing of AT syntax.

pub mod ftp;
