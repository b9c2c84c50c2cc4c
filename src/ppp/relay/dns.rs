//! The network's DNS server, as the host sees it at the addresses IPCP gave it (RFC 1877):
//! each query over UDP is answered by resolving its name through [`Net`], so redirects and
//! DNS faults apply to the host's look-ups as to the module's own.
//!
//! - A: the IPv4 addresses the name resolves to (at most [`MAX_ANSWERS`], TTL [`TTL`]).
//! - AAAA and every other type: no records (NODATA), since the link is IPv4 only; the name
//!   is resolved all the same, so that a name that does not exist is NXDOMAIN whatever the
//!   type (RFC 8020).
//! - A name that does not resolve: NXDOMAIN (RCODE 3); the resolver failing otherwise:
//!   SERVFAIL (2); a message that is no query: FORMERR (1), or no answer at all when not even
//!   its header can be read (RFC 1035 §4.1.1); another opcode: NOTIMP (4).
//!
//! Answers stay within 512 bytes, so they are never truncated and the host never retries over
//! TCP; the server speaks no EDNS (RFC 6891 §7: a responder without it answers without OPT).

use std::net::{IpAddr, Ipv4Addr};

use simple_dns::rdata::{A, RData};
use simple_dns::{CLASS, OPCODE, Packet, PacketFlag, QCLASS, QTYPE, Question, RCODE, ResourceRecord, TYPE};

use crate::net::{Net, NetError};

/// The TTL of the answers: short, since the names may be redirected at run time.
pub(super) const TTL: u32 = 60;

/// The most A records in one answer (each takes 16 bytes with a compressed name).
const MAX_ANSWERS: usize = 8;

/// The length of a DNS header.
const HEADER: usize = 12;

/// What a message sent to the DNS server calls for.
#[derive(Debug)]
pub(super) enum Query {
    /// Nothing: not even a header to answer (or a response, not a query).
    Ignore(&'static str),
    /// This answer, at once.
    Answer(Vec<u8>),
    /// A look-up through the network.
    Resolve(Lookup),
}

/// A query whose name is to be resolved.
#[derive(Debug)]
pub(super) struct Lookup {
    id: u16,
    recursion_desired: bool,
    question: Question<'static>,
}

/// Reads a message sent to the DNS server.
pub(super) fn read(message: &[u8]) -> Query {
    if message.len() < HEADER {
        return Query::Ignore("shorter than a DNS header");
    }
    let id = u16::from_be_bytes([message[0], message[1]]);
    let flags = message[2];
    if flags & 0x80 != 0 {
        return Query::Ignore("a response, not a query");
    }
    let recursion_desired = flags & 0x01 != 0;
    let opcode = OPCODE::from(u16::from((flags >> 3) & 0x0F));
    if opcode != OPCODE::StandardQuery {
        return error(id, opcode, recursion_desired, RCODE::NotImplemented);
    }
    let Ok(packet) = Packet::parse(message) else {
        return error(id, opcode, recursion_desired, RCODE::FormatError);
    };
    match packet.questions.as_slice() {
        [question] if matches!(question.qclass, QCLASS::CLASS(CLASS::IN) | QCLASS::ANY) => {
            Query::Resolve(Lookup { id, recursion_desired, question: question.clone().into_owned() })
        }
        [_] => error(id, opcode, recursion_desired, RCODE::NotImplemented),
        _ => error(id, opcode, recursion_desired, RCODE::FormatError),
    }
}

/// A header-only answer with `rcode`.
fn error(id: u16, opcode: OPCODE, recursion_desired: bool, rcode: RCODE) -> Query {
    let mut reply = reply(id, recursion_desired);
    *reply.opcode_mut() = opcode;
    *reply.rcode_mut() = rcode;
    match reply.build_bytes_vec() {
        Ok(bytes) => Query::Answer(bytes),
        Err(_) => Query::Ignore("cannot write the error"),
    }
}

fn reply(id: u16, recursion_desired: bool) -> Packet<'static> {
    let mut reply = Packet::new_reply(id);
    reply.set_flags(PacketFlag::RECURSION_AVAILABLE);
    if recursion_desired {
        reply.set_flags(PacketFlag::RECURSION_DESIRED);
    }
    reply
}

impl Lookup {
    /// The name asked for, as [`Net::resolve`] takes it.
    pub(super) fn name(&self) -> String {
        self.question.qname.to_string()
    }

    /// Resolves the name through `net` and writes the answer.
    pub(super) async fn answer(self, net: &Net) -> Option<Vec<u8>> {
        let resolved = net.resolve(&self.name(), 0).await;
        let mut reply = reply(self.id, self.recursion_desired);
        match resolved {
            Ok(addrs) if matches!(self.question.qtype, QTYPE::TYPE(TYPE::A) | QTYPE::ANY) => {
                let mut v4: Vec<Ipv4Addr> = Vec::new();
                for ip in addrs.iter().filter_map(|a| match a.ip() {
                    IpAddr::V4(ip) => Some(ip),
                    IpAddr::V6(_) => None,
                }) {
                    if !v4.contains(&ip) && v4.len() < MAX_ANSWERS {
                        v4.push(ip);
                    }
                }
                let name = self.question.qname.clone();
                reply.answers.extend(
                    v4.into_iter().map(|ip| ResourceRecord::new(name.clone(), CLASS::IN, TTL, RData::A(A::from(ip)))),
                );
            }
            Ok(_) => {}
            Err(NetError::Dns(_)) => *reply.rcode_mut() = RCODE::NameError,
            Err(_) => *reply.rcode_mut() = RCODE::ServerFailure,
        }
        reply.questions.push(self.question);
        reply.build_bytes_vec_compressed().ok()
    }
}
