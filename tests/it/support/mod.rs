//! What the integration tests share: the host side of a modem's line (`at_host`), of PPP
//! (`ppp_host`: ppproto and smoltcp) and of 27.010 multiplexing (`cmux_host`), what the data
//! call tests share (`ppp_call`), the FTP rig
//! of the scenario tests (`rig`, with its test macros), fake peers (`fake_ftp`, `board`), the
//! test PKI (`pki`), nginx and tinyproxy (`nginx`), and the transfer helpers (`transfers`).

pub mod at_host;
pub mod board;
pub mod browser;
pub mod cmux_host;
pub mod fake_ftp;
pub mod nginx;
pub mod pki;
pub mod ppp_call;
pub mod ppp_host;
#[macro_use]
pub mod rig;
pub mod transfers;
