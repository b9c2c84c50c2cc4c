//! Dialect-neutral services that do the real work: the FTP and HTTP clients, and the jobs a
//! dialect asks the modem to run with them. They know nothing of AT syntax.

pub mod fs;
pub mod ftp;
pub mod http;
pub mod job;
pub mod pipe;
pub mod sink;
pub mod tls;

pub use job::{Event, FtpOp, FtpWork, JobEvent, JobId, Request, SessionWork, Source, TransferSettings, Value};
