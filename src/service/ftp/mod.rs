//! vmodem's own FTP client: dialect-neutral, async, every socket through [`crate::net`].
//!
//! [`FtpSession::connect`] logs in; transfers ([`FtpSession::retrieve`], [`FtpSession::store`],
//! listings) open a data connection and hand back a stream to read or write, then
//! [`FtpSession::finish`] reads the final reply; one-shot commands return parsed results. Every wait has a timeout,
//! nothing is buffered without bound, and each failure is classified once as an
//! [`FtpError`] for the dialects to map to their own codes.
//!
//! Modules: `reply` (RFC 959 reply parser), `command` (command writer), `control` (the control
//! connection), `data` (PASV/EPSV/PORT/EPRT), `transfer` (data streams and their end),
//! `ascii` (TYPE A line ends), `idle` (stall detection), `stream` (plain or TLS),
//! `session`, `config`, `error`; `job` runs them as the modem's jobs.
//!
//! FTPS (RFC 4217), explicit or implicit, is a [`FtpTls`] in the [`FtpConfig`]; the rustls
//! configuration comes from [`crate::service::tls`].

mod ascii;
mod command;
mod config;
mod control;
mod data;
mod error;
mod idle;
pub mod job;
mod reply;
mod session;
mod stream;
mod transfer;

pub use config::{DataMode, Direction, FtpConfig, FtpTimeouts, FtpTls, FtpsMode, TraceHook, TraceLine};
pub use error::{Channel, DataConnectCause, FtpError, HandshakeFailure, Step, TransferFault};
pub use job::{FtpOp, SessionWork, Source, TransferSettings, Value};
pub use reply::{MAX_REPLY_BYTES, Reply, ReplyError, ReplyParser};
pub use session::{FtpSession, StoreMode};
pub use transfer::{Completed, Download, Transfer, Upload};
