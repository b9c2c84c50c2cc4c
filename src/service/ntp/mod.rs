//! The network time the host asks for (`AT+CNTP`): one SNTP exchange (RFC 4330, by the `sntpc`
//! crate) with the server the host names, over a UDP socket from [`crate::net`] (redirects and
//! DNS faults apply).

pub mod job;
