//! The SMS centre behind every modem of one process: a message a modem submits to the number
//! of another modem attached here arrives at that modem as an SMS-DELIVER (and the sender gets
//! an SMS-STATUS-REPORT if it asked for one); a message to any other number is kept, the
//! newest [`KEPT_MAX`], for a test or a person to read. Tests and the control socket inject
//! messages the same way a sender's would arrive.
//!
//! A modem whose storage is full hands a message back ([`SmsCentre::hold`]): the centre keeps
//! it and delivers it again once the modem says it has room ([`SmsCentre::release`]), as a
//! network does after "memory capacity exceeded" until the phone's memory-available
//! notification (TS 23.040 §10.3, RP-SMMA).
//!
//! Numbers match on their digits: `+8613800000002` and `8613800000002` are one subscriber
//! (the type of number is the sender's business, as on a network that normalises both).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::pdu::{Address, Deliver, StatusReport, Submit, Timestamp};

/// Messages kept for numbers no modem here answers to, at most; the oldest go first.
pub const KEPT_MAX: usize = 1000;
/// Messages waiting for one modem's task to take them, at most; a sender waits beyond that.
pub const MAILBOX: usize = 16;
/// TP-Status "short message received by the SME" (TS 23.040 §9.2.3.15).
const RECEIVED: u8 = 0x00;

/// What the centre hands a modem.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// A message for it.
    Deliver(Deliver),
    /// The outcome of a message it sent and asked a report for.
    Report(StatusReport),
}

/// A message for a number no modem here answers to.
#[derive(Debug, Clone)]
pub struct Kept {
    /// The sender's number.
    pub from: String,
    /// The message as it was submitted.
    pub submit: Submit,
    /// When the centre took it.
    pub timestamp: Timestamp,
}

/// Why a message was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CentreError {
    /// The receiving modem has stopped.
    #[error("the modem of {0} has stopped")]
    Gone(String),
}

/// The SMS centre. Cheap to clone; clones are the same centre.
#[derive(Debug, Clone, Default)]
pub struct SmsCentre {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    mailboxes: HashMap<String, mpsc::Sender<Incoming>>,
    kept: VecDeque<Kept>,
    /// Messages a full modem handed back, by its number's key; at most [`KEPT_MAX`] each.
    held: HashMap<String, VecDeque<Deliver>>,
}

/// A number's digits, the key subscribers are found by.
fn key(number: &str) -> String {
    number.chars().filter(char::is_ascii_alphanumeric).collect()
}

impl SmsCentre {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Attaches the modem answering to `number`: what arrives for it comes out of the
    /// returned mailbox (an earlier modem with that number is detached).
    pub fn attach(&self, number: &str) -> mpsc::Receiver<Incoming> {
        let (tx, rx) = mpsc::channel(MAILBOX);
        self.inner().mailboxes.insert(key(number), tx);
        rx
    }

    /// Takes `submit` from the modem of `from` at `timestamp`: to an attached modem (waiting
    /// while its mailbox is full), or kept. A status report goes back to the sender if asked.
    pub async fn submit(&self, from: &str, submit: Submit, timestamp: Timestamp) -> Result<(), CentreError> {
        let to = submit.destination.number.clone();
        let mailbox = self.inner().mailboxes.get(&key(&to)).cloned();
        let Some(mailbox) = mailbox else {
            tracing::info!(target: "vmodem::sms", "kept a message from {from} to {to}");
            let mut inner = self.inner();
            if inner.kept.len() == KEPT_MAX {
                inner.kept.pop_front();
            }
            inner.kept.push_back(Kept { from: from.to_string(), submit, timestamp });
            return Ok(());
        };
        let deliver = Deliver::from_submit(Address::parse(from), &submit, timestamp);
        mailbox.send(Incoming::Deliver(deliver)).await.map_err(|_| CentreError::Gone(to.clone()))?;
        if submit.status_report {
            let report = StatusReport {
                message_ref: submit.message_ref,
                recipient: submit.destination.clone(),
                timestamp,
                discharge: timestamp,
                status: RECEIVED,
            };
            self.deliver(from, Incoming::Report(report)).await?;
        }
        Ok(())
    }

    /// Hands `incoming` to the modem of `number` (an injected message), waiting while its
    /// mailbox is full; an error if no modem here answers to it.
    pub async fn deliver(&self, number: &str, incoming: Incoming) -> Result<(), CentreError> {
        let mailbox = self.inner().mailboxes.get(&key(number)).cloned();
        let mailbox = mailbox.ok_or_else(|| CentreError::Gone(number.to_string()))?;
        mailbox.send(incoming).await.map_err(|_| CentreError::Gone(number.to_string()))
    }

    /// Keeps `deliver`, which the modem of `number` had no room for, until it has
    /// ([`SmsCentre::release`]); beyond [`KEPT_MAX`] waiting the oldest is dropped.
    pub fn hold(&self, number: &str, deliver: Deliver) {
        let mut inner = self.inner();
        let held = inner.held.entry(key(number)).or_default();
        if held.len() == KEPT_MAX {
            held.pop_front();
        }
        held.push_back(deliver);
    }

    /// The modem of `number` has room again: what was held for it is delivered, oldest first
    /// (waiting while its mailbox is full). Returns how many went.
    pub async fn release(&self, number: &str) -> Result<usize, CentreError> {
        let held = self.inner().held.remove(&key(number)).unwrap_or_default();
        let count = held.len();
        for deliver in held {
            self.deliver(number, Incoming::Deliver(deliver)).await?;
        }
        Ok(count)
    }

    /// The messages kept for numbers no modem here answers to, oldest first.
    pub fn kept(&self) -> Vec<Kept> {
        self.inner().kept.iter().cloned().collect()
    }
}
