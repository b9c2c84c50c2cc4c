//! The message storages (TS 27.005 §3.1 `<mem>`): numbered places, from 1, each empty or
//! holding one message with its status. A storage holds at most its capacity; a message for a
//! full one is refused (`+CMS ERROR: 322`, memory full).

use crate::sms::pdu::{Deliver, StatusReport, Submit};

/// A message's status (TS 27.005 §3.1 `<stat>`), numbered as PDU mode prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `"REC UNREAD"`, 0: received, not yet read.
    Unread = 0,
    /// `"REC READ"`, 1: received and read.
    Read = 1,
    /// `"STO UNSENT"`, 2: stored by the host, not sent.
    Unsent = 2,
    /// `"STO SENT"`, 3: stored by the host and sent.
    Sent = 3,
}

impl Status {
    /// The statuses in `<stat>` order, as text mode names them.
    pub const ALL: [(Status, &'static str); 4] = [
        (Status::Unread, "REC UNREAD"),
        (Status::Read, "REC READ"),
        (Status::Unsent, "STO UNSENT"),
        (Status::Sent, "STO SENT"),
    ];

    /// The text-mode name.
    pub fn text(self) -> &'static str {
        Self::ALL[self as usize].1
    }

    /// The status of `<stat>` in PDU mode (0-3).
    pub fn from_number(n: u64) -> Option<Status> {
        Self::ALL.get(usize::try_from(n).ok()?).map(|(s, _)| *s)
    }

    /// The status a text-mode name stands for.
    pub fn from_text(text: &str) -> Option<Status> {
        Self::ALL.iter().find(|(_, t)| t.eq_ignore_ascii_case(text)).map(|(s, _)| *s)
    }
}

/// A stored message.
#[derive(Debug, Clone)]
pub enum Message {
    /// One that came from the network (an SMS-DELIVER).
    Received(Deliver),
    /// One the host wrote (`AT+CMGW`) or sent and kept.
    Outgoing(Submit),
    /// A status report the network brought (`AT+CNMI` `<ds>` 2).
    Report(StatusReport),
}

/// A storage's place: its status and message.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Read, unread, sent or unsent.
    pub status: Status,
    /// The message.
    pub message: Message,
}

/// One storage (`"SM"`, the SIM; `"ME"`, the module).
#[derive(Debug, Clone)]
pub struct Store {
    places: Vec<Option<Stored>>,
}

impl Store {
    /// An empty storage of `capacity` places.
    pub fn new(capacity: usize) -> Self {
        Store { places: vec![None; capacity] }
    }

    /// How many places it has.
    pub fn capacity(&self) -> usize {
        self.places.len()
    }

    /// How many hold a message.
    pub fn used(&self) -> usize {
        self.places.iter().flatten().count()
    }

    /// Puts `stored` in the lowest free place; its index, or `None` when full.
    pub fn put(&mut self, stored: Stored) -> Option<usize> {
        let free = self.places.iter().position(Option::is_none)?;
        self.places[free] = Some(stored);
        Some(free + 1)
    }

    /// The message at `index` (from 1), if any.
    pub fn get(&self, index: usize) -> Option<&Stored> {
        self.places.get(index.checked_sub(1)?)?.as_ref()
    }

    /// The message at `index`, to change its status.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut Stored> {
        self.places.get_mut(index.checked_sub(1)?)?.as_mut()
    }

    /// Whether `index` names a place of this storage (empty or not).
    pub fn contains(&self, index: usize) -> bool {
        (1..=self.places.len()).contains(&index)
    }

    /// Empties the place at `index`.
    pub fn delete(&mut self, index: usize) {
        if let Some(place) = index.checked_sub(1).and_then(|i| self.places.get_mut(i)) {
            *place = None;
        }
    }

    /// Empties every place whose status `matches`.
    pub fn delete_where(&mut self, matches: impl Fn(Status) -> bool) {
        for place in &mut self.places {
            if place.as_ref().is_some_and(|s| matches(s.status)) {
                *place = None;
            }
        }
    }

    /// The messages held, with their indexes, in index order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Stored)> {
        self.places.iter().enumerate().filter_map(|(i, p)| p.as_ref().map(|s| (i + 1, s)))
    }
}
