//! Dialect-neutral services that do the real work: the FTP and HTTP clients, the module file
//! system, TLS. They know nothing of AT syntax.
//!
//! Work a dialect asks for runs as a job ([`job`]): a [`Request`] starts it, [`Event`]s report
//! on it, [`Input`] feeds one that lasts. Each of the three is one enum with a variant per
//! service, made by the [`services!`] list below from each service's `job` module (its own
//! `Request`, `Event`, `Input` and `run`). Adding a service is its module plus one line there.

pub mod fs;
pub mod ftp;
pub mod http;
pub mod job;
pub mod pipe;
pub mod sink;
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
            /// input comes from `inbox` (see [`job::inbox`]).
            pub fn spawn(
                self,
                net: Net,
                id: JobId,
                events: mpsc::Sender<Report>,
                inbox: mpsc::Receiver<Input>,
            ) -> JoinHandle<()> {
                match self {
                    $(Request::$name(r) => tokio::spawn($($module)::+::run(net, r, Job::new(id, events, inbox))),)+
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

services! {
    /// FTP and FTPS: one-shot operations and held sessions.
    Ftp => ftp::job,
    /// HTTP and HTTPS requests.
    Http => http::job,
}
