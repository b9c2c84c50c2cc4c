//! vmodem: a software cellular modem. A host speaks AT commands to it over a serial line and it
//! answers byte for byte as a SIMCom or Fibocom module would, while doing the FTP work for real.
//!
//! Layers, each knowing only the one below (see DESIGN.md): [`transport`] (bytes to and from
//! the host) → the line layer (`vmodem_at`, IO-free) → [`dialect`] (IO-free command tables
//! and state machines) → [`service`] (real FTP) → [`net`] (every socket). [`modem`] drives
//! one modem; [`script`] runs transcripts against any modem; [`record`] writes them from live
//! sessions.

pub mod cmux;
pub mod config;
pub mod control;
pub mod core;
pub mod demo;
pub mod dialect;
pub mod embedded;
pub mod family;
pub mod fleet;
pub mod limits;
pub mod modem;
pub mod net;
pub mod network;
pub mod observe;
pub mod plan;
pub mod ppp;
pub mod record;
pub mod script;
pub mod service;
pub mod sms;
pub mod telemetry;
pub mod transport;
