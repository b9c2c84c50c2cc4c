//! The data call's service: the PPP link and the relay of the host's IP traffic
//! ([`crate::ppp`]) run as one job for the call's life.

pub mod job;
