//! Dialect-neutral services that do the real work: the FTP and HTTP clients, the module file
//! system, TLS. They know nothing of AT syntax.
//!
//! Work a dialect asks for runs as a job ([`job`]): a [`Request`] starts it, [`Event`]s report
//! on it, [`Input`] feeds one that lasts. Each of the three is one enum with a variant per
//! service, made by the `services!` list below from each service's `job` module (its own
//! `Request`, `Event`, `Input` and `run`). Adding a service is its module plus one line there.

pub mod fs;
pub mod ftp;
pub mod http;
pub mod job;
pub mod ntp;
pub mod pipe;
pub mod ppp;
pub mod sink;
pub mod sms;
pub mod socket;
pub mod tls;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use job::{Job, JobId, Report};

use crate::net::Net;

/// Makes [`Request`], [`Event`] and [`Input`] from the list of services: each `Name =>
/// module` line adds a variant to each enum holding `module::Request`, `module::Event` and
/// `module::Input`, the conversions both ways, and the arm of [`Request::spawn`] that runs
/// `module::run`.
macro_rules! services {
    ($($(#[$doc:meta])* $name:ident => $($module:ident)::+,)+) => {
        /// Work a dialect asks a service for: one variant per service.
        #[derive(Debug)]
        pub enum Request {
            $($(#[$doc])* $name($($module)::+::Request),)+
        }

        /// What a service's job reports: one variant per service.
        #[derive(Debug)]
        pub enum Event {
            $($(#[$doc])* $name($($module)::+::Event),)+
        }

        /// More input for a running job (a held session's next piece of work): one variant per
        /// service.
        #[derive(Debug)]
        pub enum Input {
            $($(#[$doc])* $name($($module)::+::Input),)+
        }

        $(
            impl From<$($module)::+::Request> for Request {
                fn from(r: $($module)::+::Request) -> Self {
                    Request::$name(r)
                }
            }

            impl From<$($module)::+::Event> for Event {
                fn from(e: $($module)::+::Event) -> Self {
                    Event::$name(e)
                }
            }

            impl TryFrom<Event> for $($module)::+::Event {
                type Error = Event;

                fn try_from(event: Event) -> Result<Self, Event> {
                    #[allow(unreachable_patterns)]
                    match event {
                        Event::$name(e) => Ok(e),
                        other => Err(other),
                    }
                }
            }

            impl From<$($module)::+::Input> for Input {
                fn from(i: $($module)::+::Input) -> Self {
                    Input::$name(i)
                }
            }

            impl TryFrom<Input> for $($module)::+::Input {
                type Error = Input;

                fn try_from(input: Input) -> Result<Self, Input> {
                    #[allow(unreachable_patterns)]
                    match input {
                        Input::$name(i) => Ok(i),
                        other => Err(other),
                    }
                }
            }
        )+

        impl Request {
            /// Runs this request as job `id` on the runtime: its events go to `events`, its
            /// input comes from `inbox` (see [`job::inbox`]). A job that panics reports its
            /// service's failure (`module::failed`) in place of its end, so no state of the
            /// dialect waits for ever.
            pub fn spawn(
                self,
                net: Net,
                id: JobId,
                events: mpsc::Sender<Report>,
                inbox: mpsc::Receiver<Input>,
            ) -> JoinHandle<()> {
                match self {
                    $(Request::$name(r) => {
                        let run = $($module)::+::run(net, r, Job::new(id, events.clone(), inbox));
                        tokio::spawn(guarded(id, run, events, |why| $($module)::+::failed(why).into()))
                    })+
                }
            }
        }

        impl Event {
            /// Whether this is the job's last event (its task ends after it).
            pub fn is_final(&self) -> bool {
                match self {
                    $(Event::$name(e) => e.is_final(),)+
                }
            }
        }
    };
}

/// Runs a job's future; if it panics, reports `failed` with the panic's text as the job's last
/// event.
async fn guarded(
    id: JobId,
    run: impl std::future::Future<Output = ()> + Send,
    events: mpsc::Sender<Report>,
    failed: fn(String) -> Event,
) {
    use futures_util::FutureExt;
    if let Err(panic) = std::panic::AssertUnwindSafe(run).catch_unwind().await {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        tracing::error!(target: "vmodem::service", "job {id} stopped: {why}");
        // The modem may have gone meanwhile; nobody is left to tell.
        let _ = events.send((id, failed(why))).await;
    }
}

services! {
    /// FTP and FTPS: one-shot operations and held sessions.
    Ftp => ftp::job,
    /// HTTP and HTTPS requests.
    Http => http::job,
    /// TCP, TLS and UDP sockets the host opens, its TCP servers, and name look-ups.
    Socket => socket::job,
    /// Short messages the host sends, to the SMS centre.
    Sms => sms::job,
    /// The network time the host asks an NTP server for.
    Ntp => ntp::job,
    /// A data call's PPP and the host's IP traffic.
    Ppp => ppp::job,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::ftp::FtpError;

    #[tokio::test]
    async fn a_job_that_panics_reports_its_services_failure_as_its_end() {
        let (events, mut reports) = mpsc::channel(4);
        guarded(7, async { panic!("overflow when adding duration to instant") }, events, |why| {
            ftp::job::failed(why).into()
        })
        .await;
        let (job, event) = reports.recv().await.expect("the failure is reported");
        assert_eq!(job, 7);
        match event {
            Event::Ftp(ftp::job::Event::Done(Err(FtpError::Io(e)))) => {
                assert!(e.to_string().contains("overflow when adding duration"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert!(event_is_final_for_every_service());
    }

    /// The failure each service reports is its job's last event.
    fn event_is_final_for_every_service() -> bool {
        Event::from(ftp::job::failed(String::new())).is_final()
            && Event::from(http::job::failed(String::new())).is_final()
    }
}
