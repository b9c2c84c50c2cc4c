//! The link between a running job and its modem. A job is one piece of work a dialect asked a
//! service for (download a file, hold an FTP session, make an HTTP request, carry a socket),
//! run as its own task. It reports [`Event`]s to the modem and, for a job that lasts (a held
//! FTP session, a socket), takes more [`Input`] from it. Both travel through bounded channels:
//! a job that reports faster than the modem handles waits, and a modem that has gone is
//! noticed.
//!
//! A service's job module (`ftp::job`, `http::job`, `socket::job`) defines its own `Request`,
//! `Event` and `Input` types and a `run` function taking a [`Job`] of those types; the
//! registration line in [`crate::service`] wraps them into the modem-wide enums.

use std::marker::PhantomData;

use tokio::sync::mpsc;

use super::{Event, Input};

/// Identifies a job for its events, its input and its cancellation; unique within a modem.
pub type JobId = u64;

/// Events of one job as the modem receives them: the job and what it says.
pub type Report = (JobId, Event);

/// Input a running job may hold unread at most (a held session takes one piece at a time).
pub const INPUT_QUEUE: usize = 2;

/// A running job's side of the link: reports its service's events `E`, takes its service's
/// input `I`. [`Job::split`] parts the two, for a job that reports while it waits for input.
#[derive(Debug)]
pub struct Job<E, I> {
    reporter: Reporter<E>,
    inbox: Inbox<I>,
}

/// The reporting half of a [`Job`]; clones report as the same job.
#[derive(Debug)]
pub struct Reporter<E> {
    id: JobId,
    events: mpsc::Sender<Report>,
    types: PhantomData<fn(E)>,
}

impl<E> Clone for Reporter<E> {
    fn clone(&self) -> Self {
        Reporter { id: self.id, events: self.events.clone(), types: PhantomData }
    }
}

/// The input half of a [`Job`].
#[derive(Debug)]
pub struct Inbox<I> {
    id: JobId,
    inbox: mpsc::Receiver<Input>,
    types: PhantomData<fn() -> I>,
}

impl<E: Into<Event>, I: TryFrom<Input>> Job<E, I> {
    /// The link of job `id`, reporting into `events`, reading from `inbox`.
    pub fn new(id: JobId, events: mpsc::Sender<Report>, inbox: mpsc::Receiver<Input>) -> Self {
        Job { reporter: Reporter { id, events, types: PhantomData }, inbox: Inbox { id, inbox, types: PhantomData } }
    }

    /// Reports `event` (see [`Reporter::report`]).
    pub async fn report(&self, event: E) -> bool {
        self.reporter.report(event).await
    }

    /// A function that reports an event if the modem's queue has room at that moment, and
    /// drops it otherwise: for diagnostics raised inside a session's callbacks, never worth
    /// stalling the session for.
    pub fn offering(&self) -> impl Fn(E) + Send + Sync + 'static {
        let (id, events) = (self.reporter.id, self.reporter.events.clone());
        move |event| {
            let _ = events.try_send((id, event.into()));
        }
    }

    /// The next input (see [`Inbox::next`]).
    pub async fn input(&mut self) -> Option<I> {
        self.inbox.next().await
    }

    /// The two halves, to report from one place while waiting for input in another.
    pub fn split(self) -> (Reporter<E>, Inbox<I>) {
        (self.reporter, self.inbox)
    }
}

impl<E: Into<Event>> Reporter<E> {
    /// Reports `event`, waiting while the modem's queue is full; `false` once the modem has
    /// gone (the job should stop).
    pub async fn report(&self, event: E) -> bool {
        self.events.send((self.id, event.into())).await.is_ok()
    }
}

impl<I: TryFrom<Input>> Inbox<I> {
    /// The next input the modem sends this job; `None` once the modem has closed the job's
    /// inbox (or gone). Input of another service cannot reach a job, and is skipped with a
    /// warning if it does.
    pub async fn next(&mut self) -> Option<I> {
        loop {
            let input = self.inbox.recv().await?;
            match I::try_from(input) {
                Ok(input) => return Some(input),
                Err(_) => tracing::warn!(target: "vmodem::service", "job {}: input of another service", self.id),
            }
        }
    }
}

/// The modem's side of a job's input: a bounded queue into the job's inbox.
pub fn inbox() -> (mpsc::Sender<Input>, mpsc::Receiver<Input>) {
    mpsc::channel(INPUT_QUEUE)
}
