//! vmodem: a software cellular modem. A host speaks AT commands to it over a serial line and it
//! answers byte for byte as a SIMCom or Fibocom module would, while doing the FTP work for real.
//!
//! Layers, each knowing only the one below (see DESIGN.md): [`transport`] (bytes to and from
//! the host) → the line layer (`vmodem_at`, IO-free) → dialects (IO-free command tables and
//! state machines) → [`service`] (real FTP) → [`net`] (every socket).

pub mod embedded;
pub mod net;
pub mod service;
pub mod transport;
