//! PPP, the modem's side (RFC 1661): so far its HDLC-like framing ([`hdlc`]), which the link,
//! authentication and IP control protocols will be built on.

pub mod hdlc;
