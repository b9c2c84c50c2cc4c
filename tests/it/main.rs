//! vmodem's integration tests, in one binary: a real modem on an in-process line against real
//! peers. Tests that need a Debian server that scripts/test-servers.sh installs (vsftpd,
//! proftpd, pure-ftpd, nginx, tinyproxy) are marked `#[ignore]` with that reason, so that
//! `cargo test` on a machine without them runs everything else; `scripts/test.sh` starts the
//! servers and runs the ignored tests too, and there a missing server fails its test.

#[macro_use]
mod support;

mod api;
mod console;
mod deploy;
mod emulators;
mod extended;
mod faults;
mod fleet;
mod fs_sandbox;
mod ftp_client;
mod ftp_held;
mod ftps;
mod ftps_modem;
mod http_modem;
mod http_service;
mod l610;
mod layers;
mod link_profile;
mod ntp;
mod ppp;
mod ppp_faults;
mod record;
mod robustness;
mod scenarios;
mod sms;
mod socket_service;
mod sockets_ca;
mod sockets_cip;
mod sockets_mip;
mod startup;
mod transcripts;
mod transport;
