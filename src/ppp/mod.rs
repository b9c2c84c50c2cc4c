//! PPP, the modem's side (RFC 1661): its HDLC-like framing ([`hdlc`]), the link's control
//! protocols ([`link`]), the relay that carries the host's IP traffic ([`relay`]), and the job
//! that runs the two for a data call ([`job`]).

pub mod hdlc;
pub mod job;
pub mod link;
pub mod relay;
