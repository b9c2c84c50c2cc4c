//! The job of one message the host sends ([`Request::Submit`]): the centre takes it, or says
//! why not; one [`Event::Submitted`] answers.

use crate::net::Net;
use crate::sms::centre::CentreError;
use crate::sms::pdu::{Deliver, Submit, Timestamp};

/// What an SMS job does.
#[derive(Debug)]
pub enum Request {
    /// Hand `parts` (one message, or the parts of a concatenated one) from the subscriber
    /// `from` to the centre.
    Submit {
        /// The sender's own number.
        from: String,
        /// The message's parts, in order.
        parts: Vec<Submit>,
    },
    /// The storage of the subscriber `to` is full: the centre keeps `deliver` for later.
    Hold {
        /// The subscriber's own number.
        to: String,
        /// The message it had no room for.
        deliver: Deliver,
    },
    /// The subscriber `to` has room again: the centre delivers what it held.
    Release {
        /// The subscriber's own number.
        to: String,
    },
}

/// How an SMS job ended.
#[derive(Debug)]
pub enum Event {
    /// The centre took every part, or why it did not.
    Submitted(Result<(), CentreError>),
    /// The centre holds the message, or has delivered what it held.
    Done,
}

impl Event {
    /// Whether this is a job's last event (every SMS event is).
    pub fn is_final(&self) -> bool {
        true
    }
}

/// No input: an SMS job is one request.
#[derive(Debug)]
pub enum Input {}

/// What a job that stopped on a fault of its own reports in its place.
pub fn failed(why: String) -> Event {
    Event::Submitted(Err(CentreError::Gone(format!("the SMS job stopped: {why}"))))
}

/// The link an SMS job reports through.
pub type SmsJob = crate::service::Job<Event, Input>;

/// Runs `request` to its end, reporting through `job`.
pub async fn run(net: Net, request: Request, job: SmsJob) {
    let (reporter, _) = job.split();
    let centre = net.sms_centre();
    let (from, parts) = match request {
        Request::Submit { from, parts } => (from, parts),
        Request::Hold { to, deliver } => {
            centre.hold(&to, deliver);
            reporter.report(Event::Done).await;
            return;
        }
        Request::Release { to } => {
            if let Err(e) = centre.release(&to).await {
                tracing::info!(target: "vmodem::sms", "held messages not delivered: {e}");
            }
            reporter.report(Event::Done).await;
            return;
        }
    };
    let mut taken = Ok(());
    for submit in parts {
        taken = centre.submit(&from, submit, now()).await;
        if taken.is_err() {
            break;
        }
    }
    reporter.report(Event::Submitted(taken)).await;
}

/// The centre's clock: now, in UTC (the zone 0 quarter hours).
fn now() -> Timestamp {
    Timestamp::from_utc(time::OffsetDateTime::now_utc())
}
