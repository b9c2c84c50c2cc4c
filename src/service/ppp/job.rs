//! A data call's PPP, as a job: the link's control protocols ([`Link`]) on the line's bytes,
//! and the host's IP packets carried by the [`Relay`] through the modem's network.
//!
//! The modem feeds the job the host's bytes one piece at a time ([`Input::Line`]); the job
//! acknowledges each ([`Event::Taken`]) once the link has taken it; the host's packets wait
//! for room in the relay in a queue of at most 64, and while it is full the job takes no
//! more, so the host's bytes never pile up here. The link's bytes for the host go out as
//! [`Event::Line`], at most [`LINE_MAX`] bytes each; the modem's bounded event queue holds the
//! job back while the host reads slowly, and the relay's queues hold the network back in
//! turn. The job ends, with [`Event::Ended`], when the link is dead: the host terminated it,
//! or the modem did after [`Input::Close`] (the bearer went).

use std::collections::VecDeque;

use tokio::time::Instant;

use crate::net::Net;
use crate::ppp::link::{Link, LinkConfig};
use crate::ppp::relay::{Relay, RelayConfig};
use crate::service::job::Job;

/// The most bytes of one [`Event::Line`].
pub const LINE_MAX: usize = 16 * 1024;
/// Packets of the host waiting for room in the relay, at most (the link holds more).
const WAITING_MAX: usize = 64;

/// A data call's PPP.
#[derive(Debug)]
pub struct Request {
    /// How the link negotiates, and what it gives the host.
    pub link: LinkConfig,
    /// What the relay answers for (the host's address, the DNS servers).
    pub relay: RelayConfig,
}

/// What the modem gives the job.
#[derive(Debug)]
pub enum Input {
    /// Bytes the host sent on the line.
    Line(Vec<u8>),
    /// The bearer went: the link ends (LCP Terminate-Request).
    Close,
}

/// What the job reports.
#[derive(Debug)]
pub enum Event {
    /// Bytes for the host's line.
    Line(Vec<u8>),
    /// The last [`Input::Line`] has been taken: the next may come.
    Taken,
    /// The link is dead; the job has ended.
    Ended(End),
}

/// Why the link ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The host terminated it (or gave up negotiating).
    Host,
    /// The modem terminated it (the bearer went).
    Modem,
    /// The job failed.
    Failed(String),
}

impl Event {
    /// Whether this is the job's last event.
    pub fn is_final(&self) -> bool {
        matches!(self, Event::Ended(_))
    }
}

/// The job's end when it fails (a panic): the call ends.
pub fn failed(why: String) -> Event {
    Event::Ended(End::Failed(why))
}

/// Runs the call's PPP until the link is dead, or the modem drops the job.
pub async fn run(net: Net, request: Request, job: Job<Event, Input>) {
    let (reporter, mut inbox) = job.split();
    let mut link = Link::new(request.link, Instant::now());
    let mut relay = Relay::spawn(net, request.relay);
    let mut waiting: VecDeque<Vec<u8>> = VecDeque::new();
    let mut closing = false;
    let mut out = Vec::new();
    loop {
        link.take_output(&mut out);
        if out.len() <= LINE_MAX {
            if !out.is_empty() && !reporter.report(Event::Line(std::mem::take(&mut out))).await {
                return;
            }
        } else {
            for piece in out.chunks(LINE_MAX) {
                if !reporter.report(Event::Line(piece.to_vec())).await {
                    return;
                }
            }
            out.clear();
        }
        if link.is_dead() {
            let end = if closing { End::Modem } else { End::Host };
            reporter.report(Event::Ended(end)).await;
            return;
        }
        while waiting.len() < WAITING_MAX
            && let Some(packet) = link.poll_packet()
        {
            waiting.push_back(packet);
        }
        let deadline = link.poll_timeout();
        tokio::select! {
            input = inbox.next(), if waiting.len() < WAITING_MAX => match input {
                Some(Input::Line(bytes)) => {
                    link.receive(Instant::now(), &bytes);
                    if !reporter.report(Event::Taken).await {
                        return;
                    }
                }
                Some(Input::Close) => {
                    closing = true;
                    link.close(Instant::now());
                }
                None => return,
            },
            sent = relay.reserve(), if !waiting.is_empty() => match sent {
                Some(permit) => {
                    if let Some(packet) = waiting.pop_front() {
                        permit.send(packet);
                    }
                }
                None => {
                    reporter.report(failed("the relay stopped".into())).await;
                    return;
                }
            },
            packet = relay.recv() => match packet {
                Some(packet) => {
                    link.send_packet(&packet);
                    link.take_output(&mut out);
                    // What else is ready goes in the same piece of line.
                    while out.len() < LINE_MAX && let Some(packet) = relay.try_recv() {
                        link.send_packet(&packet);
                        link.take_output(&mut out);
                    }
                }
                None => {
                    reporter.report(failed("the relay stopped".into())).await;
                    return;
                }
            },
            () = sleep_until(deadline) => link.handle_timeout(Instant::now()),
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
