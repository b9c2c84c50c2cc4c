//! The sockets of the TCP/IP application on the SIM800, SIM900 and SIM7000 (`AT+CIPSTART` ...
//! `AT+CIPCLOSE`, M800 ch. 8), over the socket slots of [`crate::dialect::sockets`]. Its
//! bring-up (`AT+CSTT`, `AT+CIICR`, `AT+CIFSR`, `AT+CIPSHUT`) is in `gprs`.

use super::Simcom;
use crate::dialect::{Owner, Service};

/// The TCP/IP application's sockets.
#[derive(Debug, Default)]
pub struct Cip {}

/// The sockets' service: their jobs' events, their data phases.
pub(super) const SERVICE: Service<Simcom> = Service::new(Owner::Socket);

/// The socket commands.
pub(super) const COMMANDS: &[crate::dialect::Entry<Simcom>] = &[];
