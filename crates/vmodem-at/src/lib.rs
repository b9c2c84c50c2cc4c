//! The V.250 line discipline of a software modem, free of IO: bytes from the host go in,
//! response bytes come out, and each parsed command is handed to an [`Executor`] (the dialect).
//!
//! It knows nothing of sockets, clocks or any particular modem family, so it can be fuzzed,
//! tested byte for byte, and reused by host-side tools. Modules:
//!
//! - [`assemble`]: finds `AT`/`A/`, collects a line, echo, backspace, length limit.
//! - [`command`]: splits a line into basic and extended commands with their arguments.
//! - [`frame`]: result codes, information lines, `+CME ERROR`, URC framing.
//! - [`engine`]: runs lines, queues URCs between responses, data phases.
//! - [`dle`]: DLE/ETX stuffing for transparent file streams.
//! - [`v250`]: the `E V Q Z &F &W &C &D S<n> +CMEE +IPR +IFC +ICF` commands.
//! - [`settings`]: the state those commands change, and the family limits.

pub mod assemble;
pub mod command;
pub mod dle;
pub mod engine;
pub mod frame;
pub mod settings;
pub mod v250;

pub use command::{Arg, Command, Form, ParseError, Syntax, parse_line};
pub use engine::{DataEnd, DataPhase, Engine, Executor, Reply, Response};
pub use frame::{Failure, ResultCode};
pub use settings::{Cmee, Dte, Limits, Settings};
