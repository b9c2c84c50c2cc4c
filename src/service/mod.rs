//! Dialect-neutral services that do the real work: the FTP client, and the jobs a dialect asks
//! the modem to run with it. They know nothing of AT syntax.

pub mod fs;
pub mod ftp;
pub mod job;
pub mod pipe;
pub mod sink;
pub mod tls;

pub use job::{Event, FtpOp, FtpWork, JobEvent, JobId, Request, Source, Value};
