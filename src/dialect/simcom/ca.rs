//! The sockets of the application network on the SIM7070/SIM7080/SIM7090 and the SIM7000
//! (`AT+CAOPEN` ... `AT+CACLOSE`, M7080 §10), over the `AT+CNACT` contexts and the socket slots
//! of [`crate::dialect::sockets`].

use super::Simcom;
use crate::dialect::{Owner, Service};

/// The application network's sockets.
#[derive(Debug, Default)]
pub struct Ca {}

/// The sockets' service: their jobs' events, their data phases.
pub(super) const SERVICE: Service<Simcom> = Service::new(Owner::AppSocket);

/// The socket commands.
pub(super) const COMMANDS: &[crate::dialect::Entry<Simcom>] = &[];
