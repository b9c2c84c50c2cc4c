//! PPP, the modem's side (RFC 1661): its HDLC-like framing ([`hdlc`]), the link's control
//! protocols ([`link`]) and the relay that carries the host's IP traffic ([`relay`]); the job
//! that runs the two for a data call is a service's (`service::ppp`).

pub mod hdlc;
pub mod link;
pub mod relay;
