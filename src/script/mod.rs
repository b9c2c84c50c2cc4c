//! Transcripts: readable scripts of what a host sends and the exact bytes a modem answers, run
//! against vmodem in the tests and against any modem (vmodem or a real module) by
//! `vmodem chat`.
//!
//! ```text
//! # SIM7080 FTP GET, AN7080 §5.1
//! @family sim7080
//! @server ftp
//! @var ftp_host = 112.74.93.163
//! @file simftp.txt = pattern:50
//!
//! > ATE0
//! < OK
//! > AT+FTPSERV="{ftp_host}"
//! < OK
//! > AT+FTPGET=1
//! < OK
//! < +FTPGET: 1,1
//! > AT+FTPGET=2,1024
//! < +FTPGET: 2,50
//! << {file:simftp.txt}
//! < OK
//! < +FTPGET: 1,0
//! ```
//!
//! Lines:
//! - `# ...` is a comment; blank lines are ignored.
//! - `> TEXT` sends `TEXT` and a CR. `{name}` inserts a variable. While echo is on (it is at
//!   power-on; `E0`, `E1`, `Z`, `&F`, `&W` and `+CFUN=1,1` in sent lines change it, as does
//!   `@echo on|off`) the echo of the line is expected first.
//! - `>> RAW` sends bytes exactly: escapes `\r \n \t \\ \{ \xHH` and generators
//!   `{pattern:N}` (`0123456789` repeated), `{bytes:N}` (0x00..0xFF repeated), `{hex:0310}`,
//!   `{file:NAME}` / `{file:NAME:OFFSET:LEN}` (a fixture's bytes), `{var}`.
//! - `< TEXT` expects one line as V.250 frames it: a URC or final result code is
//!   `CR LF TEXT CR LF`; a command's first information line is too, and its further lines
//!   are `TEXT CR LF`. A bare `<` between two commands' information separates them. In TEXT,
//!   `{$name}` captures a decimal number, `{*}` matches anything up to the text that follows it
//!   on the line (or to the end of the line), `{name}` inserts a variable.
//! - `<< RAW` expects bytes exactly, with the escapes and generators of `>>`, plus `{any:N}`
//!   and `{any:$name}` for bytes whose content does not matter.
//! - `@sleep SECONDS` waits; `@timeout SECONDS` sets how long each expectation may take;
//!   `@network release` makes the emulated network release the packet-data contexts (only a
//!   run against an in-process modem can: `run_with` and its network handle).
//! - `@sms FROM TEXT`: a text message from FROM arrives, taken by the centre at
//!   `02/01/30,20:40:31+00` (an in-process run only, as `@network`).
//! - `@peer connect PORT`, `@peer send RAW`, `@peer expect RAW`, `@peer close`: a remote client
//!   of a server the modem opened (`AT+CIPSERVER`, `AT+CASERVER`) connects to PORT on loopback,
//!   sends bytes, expects exactly these bytes (the escapes and generators of `>>`), closes.
//! - Header directives, read by the test harness and `vmodem chat`: `@family NAME`,
//!   `@server ftp`, `@var NAME = VALUE`, `@file NAME = CONTENT` (a fixture on the server:
//!   `text:...`, `pattern:N`, `bytes:N`, `hex:...`), `@mtime NAME = YYYYMMDDHHMMSS`,
//!   `@dir NAME`, `@after-file NAME = CONTENT` and `@after-missing NAME` (the server state the
//!   harness checks afterwards), `@config KEY = VALUE` (modem configuration for in-process runs).
//!
//! Before the first line is sent, bytes the modem sent earlier (boot URCs) are discarded once
//! the line has been quiet for a moment, unless the transcript begins with `<` lines, which
//! then match them. After the last line the line must stay quiet: a stray URC fails the run.
//!
//! `vmodem serve --record FILE` writes transcripts in this format from a live session (see
//! [`crate::record`]).

pub(crate) mod content;
pub mod fixtures;
pub(crate) mod framing;
mod parse;
mod run;

pub use content::Content;
pub use parse::{Expect, Header, PeerStep, Program, Script, Step};
pub use run::{Mismatch, Outcome, StepTime, Timed, run, run_timed, run_with};
