//! The 3GPP TS 27.010 multiplexer (`AT+CMUX`): its frame codec ([`frame`]) and the modem's
//! side of the multiplexer ([`mux`]), on which each channel's AT interpreter will sit.

pub mod frame;
pub mod mux;
