//! Who owns a piece of work, and the rows through which the modem reaches each service of a
//! family. Every job and every data phase records its [`Owner`] when it starts; its events,
//! its host bytes, its end and its timer go to that owner's [`Service`] row, found by lookup.
//! A family lists its services once (`SERVICES`, one row each); a new service is its module
//! and one row.

use tokio::time::Instant;
use vmodem_at::{DataEnd, Failure, Reply, Response};

use super::Io;
use crate::service::{Event, JobId};

/// A service of a dialect: what owns a job, a data phase, a pending command or a timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    /// The FTP application: its sessions, their transfers and their data phases.
    Ftp,
    /// The RAM buffer an FTP upload can be loaded into first (SIMCom `AT+FTPEXTPUT=2`).
    FtpBuffer,
    /// The HTTP application (SIMCom `AT+HTTP*`).
    Http,
    /// The module file system's commands (SIMCom `AT+CFSWFILE`).
    Fs,
    /// The sockets of the module's TCP/IP application (SIMCom `AT+CIPSTART`, the L610's
    /// `AT+MIPOPEN`) and its name look-ups.
    Socket,
    /// The sockets of the SIMCom application network (`AT+CAOPEN` over `AT+CNACT` contexts).
    AppSocket,
    /// Short messages (`AT+CMGS` and the other 27.005 commands).
    Sms,
    /// Network time by NTP (`AT+CNTP`).
    Ntp,
    /// The packet data call: PPP on the line (`ATD*99#`).
    Ppp,
}

impl Owner {
    /// Every owner.
    pub const ALL: [Owner; 9] = [
        Owner::Ftp,
        Owner::FtpBuffer,
        Owner::Http,
        Owner::Fs,
        Owner::Socket,
        Owner::AppSocket,
        Owner::Sms,
        Owner::Ntp,
        Owner::Ppp,
    ];

    /// Its name in the API and in metrics labels (`ftp`, `app_socket`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Owner::Ftp => "ftp",
            Owner::FtpBuffer => "ftp_buffer",
            Owner::Http => "http",
            Owner::Fs => "fs",
            Owner::Socket => "socket",
            Owner::AppSocket => "app_socket",
            Owner::Sms => "sms",
            Owner::Ntp => "ntp",
            Owner::Ppp => "ppp",
        }
    }
}

/// How the modem reaches one service of the family state `S`. Hooks a service does not need
/// keep their defaults: no deadline, never paused, and anything unexpected (an event, a data
/// phase) traced as a warning and answered as a failure.
pub struct Service<S: 'static> {
    /// The owner this row serves.
    pub owner: Owner,
    event: fn(&mut S, JobId, Event, &mut Io),
    data: fn(&mut S, &[u8]),
    data_end: fn(&mut S, DataEnd, &mut Response<'_>, &mut Io) -> Reply,
    resume: fn(&mut S, &mut Response<'_>, &mut Io) -> Reply,
    deadline: fn(&S) -> Option<Instant>,
    tick: fn(&mut S, &mut Io),
    paused: fn(&S) -> bool,
    bearer_lost: fn(&mut S, u8, &mut Io),
}

impl<S> std::fmt::Debug for Service<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("owner", &self.owner).finish_non_exhaustive()
    }
}

impl<S> Service<S> {
    /// A row for `owner` with every hook at its default.
    pub const fn new(owner: Owner) -> Self {
        Service {
            owner,
            event: |_, job, event, _| tracing::warn!(target: "vmodem::modem", "job {job}: unexpected {event:?}"),
            data: |_, payload| tracing::warn!(target: "vmodem::modem", "{} data bytes nobody takes", payload.len()),
            data_end: |_, _, _, _| Reply::Error(Failure::Plain),
            resume: |_, _, _| Reply::Error(Failure::Plain),
            deadline: |_| None,
            tick: |_, _| {},
            paused: |_| false,
            bearer_lost: |_, _, _| {},
        }
    }

    /// The events of the jobs this service started.
    pub const fn events(mut self, hook: fn(&mut S, JobId, Event, &mut Io)) -> Self {
        self.event = hook;
        self
    }

    /// The bytes and the end of the data phases this service opened.
    pub const fn data(
        mut self,
        data: fn(&mut S, &[u8]),
        end: fn(&mut S, DataEnd, &mut Response<'_>, &mut Io) -> Reply,
    ) -> Self {
        self.data = data;
        self.data_end = end;
        self
    }

    /// The result of a command this service left pending.
    pub const fn resume(mut self, hook: fn(&mut S, &mut Response<'_>, &mut Io) -> Reply) -> Self {
        self.resume = hook;
        self
    }

    /// The service's timer: when it next wants its `tick`, and what it does then.
    pub const fn timer(mut self, deadline: fn(&S) -> Option<Instant>, tick: fn(&mut S, &mut Io)) -> Self {
        self.deadline = deadline;
        self.tick = tick;
        self
    }

    /// Whether host input must wait for this service (a stream faster than its server).
    pub const fn paused(mut self, hook: fn(&S) -> bool) -> Self {
        self.paused = hook;
        self
    }

    /// What the service does when a bearer (a PDP context, a bearer profile, the call) goes.
    pub const fn bearer_lost(mut self, hook: fn(&mut S, u8, &mut Io)) -> Self {
        self.bearer_lost = hook;
        self
    }
}

/// `event` as the event type of the service that should have sent it; an event of another
/// service (a job routed to the wrong owner) is traced as a warning and gives `None`.
pub fn expect<E: TryFrom<Event, Error = Event>>(job: JobId, event: Event) -> Option<E> {
    match E::try_from(event) {
        Ok(event) => Some(event),
        Err(other) => {
            tracing::warn!(target: "vmodem::modem", "job {job}: an event of another service: {other:?}");
            None
        }
    }
}

/// The routing over a family's service rows: a lookup by owner, then the row's hook.
pub(super) struct Routes<S: 'static>(pub &'static [Service<S>]);

impl<S> Routes<S> {
    /// The row of `owner`; `None` (traced) if the family has no such service.
    fn of(&self, owner: Owner) -> Option<&'static Service<S>> {
        let row = self.0.iter().find(|s| s.owner == owner);
        if row.is_none() {
            tracing::warn!(target: "vmodem::modem", "no {owner:?} service in this family");
        }
        row
    }

    pub(super) fn event(&self, s: &mut S, owner: Owner, job: JobId, event: Event, io: &mut Io) {
        if let Some(row) = self.of(owner) {
            (row.event)(s, job, event, io);
        }
    }

    pub(super) fn data(&self, s: &mut S, owner: Owner, payload: &[u8]) {
        if let Some(row) = self.of(owner) {
            (row.data)(s, payload);
        }
    }

    pub(super) fn data_end(&self, s: &mut S, owner: Owner, end: DataEnd, rsp: &mut Response<'_>, io: &mut Io) -> Reply {
        self.of(owner).map_or(Reply::Error(Failure::Plain), |row| (row.data_end)(s, end, rsp, io))
    }

    pub(super) fn resume(&self, s: &mut S, owner: Owner, rsp: &mut Response<'_>, io: &mut Io) -> Reply {
        self.of(owner).map_or(Reply::Error(Failure::Plain), |row| (row.resume)(s, rsp, io))
    }

    pub(super) fn deadlines(&self, s: &S, each: &mut dyn FnMut(Owner, Instant)) {
        for row in self.0 {
            if let Some(at) = (row.deadline)(s) {
                each(row.owner, at);
            }
        }
    }

    pub(super) fn tick(&self, s: &mut S, owner: Owner, io: &mut Io) {
        if let Some(row) = self.of(owner) {
            (row.tick)(s, io);
        }
    }

    pub(super) fn paused(&self, s: &S) -> bool {
        self.0.iter().any(|row| (row.paused)(s))
    }

    pub(super) fn bearer_lost(&self, s: &mut S, cid: u8, io: &mut Io) {
        for row in self.0 {
            (row.bearer_lost)(s, cid, io);
        }
    }
}
