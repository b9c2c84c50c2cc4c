//! The 3GPP TS 27.010 multiplexer (`AT+CMUX`): so far its frame codec ([`frame`]), which the
//! multiplexer's channels will be built on.

pub mod frame;
