//! The L610's sockets (`AT+MIPOPEN` ... `AT+MIPCLOSE`) over the `AT+MIPCALL` bearer and the
//! socket slots of [`crate::dialect::sockets`].

use super::Fibocom;
use crate::dialect::{Owner, Service};

/// The L610's sockets.
#[derive(Debug, Default)]
pub struct Mip {}

/// The sockets' service: their jobs' events, their data phases.
pub(super) const SERVICE: Service<Fibocom> = Service::new(Owner::Socket);

/// The socket commands.
pub(super) const COMMANDS: &[crate::dialect::Entry<Fibocom>] = &[];
