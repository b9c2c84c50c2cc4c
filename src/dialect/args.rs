//! Reading a write form's arguments in handlers: numbers in a range, strings up to a length,
//! optional trailing arguments. Anything else is the family's "bad value" failure.

use std::ops::RangeInclusive;

use vmodem_at::{Arg, Command, Failure};

/// The arguments of one command, with the failure a bad one gets.
pub struct Args<'a> {
    args: &'a [Arg],
    bad: Failure,
}

impl<'a> Args<'a> {
    /// The arguments of `cmd`; a malformed one fails with `bad`.
    pub fn of(cmd: &'a Command, bad: Failure) -> Self {
        Args { args: cmd.args(), bad }
    }

    /// How many arguments were sent (a trailing empty one counts).
    pub fn len(&self) -> usize {
        self.args.len()
    }

    /// Whether no argument was sent.
    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    /// Fails unless the argument count is within `range`.
    pub fn count(&self, range: RangeInclusive<usize>) -> Result<(), Failure> {
        if range.contains(&self.args.len()) { Ok(()) } else { Err(self.bad) }
    }

    /// Whether argument `i` was sent and is not empty.
    pub fn has(&self, i: usize) -> bool {
        !matches!(self.args.get(i), None | Some(Arg::Empty))
    }

    /// Argument `i` as a number within `range`.
    pub fn uint(&self, i: usize, range: RangeInclusive<u64>) -> Result<u64, Failure> {
        self.args.get(i).and_then(Arg::number).filter(|v| range.contains(v)).ok_or(self.bad)
    }

    /// Argument `i` as a number within `range`, or `None` if it was left out or empty.
    pub fn opt_uint(&self, i: usize, range: RangeInclusive<u64>) -> Result<Option<u64>, Failure> {
        if self.has(i) { self.uint(i, range).map(Some) } else { Ok(None) }
    }

    /// Argument `i` as text (quoted or not) of at most `max` bytes.
    pub fn text(&self, i: usize, max: usize) -> Result<&'a str, Failure> {
        self.args.get(i).and_then(Arg::text).filter(|t| t.len() <= max).ok_or(self.bad)
    }

    /// Argument `i` as text of at most `max` bytes that the host quoted (families such as the
    /// L610 refuse an unquoted string).
    pub fn quoted(&self, i: usize, max: usize) -> Result<&'a str, Failure> {
        match self.args.get(i) {
            Some(Arg::Quoted(_)) => self.text(i, max),
            _ => Err(self.bad),
        }
    }

    /// Argument `i` as text, or `None` if it was left out or empty.
    pub fn opt_text(&self, i: usize, max: usize) -> Result<Option<&'a str>, Failure> {
        if self.has(i) { self.text(i, max).map(Some) } else { Ok(None) }
    }

    /// Argument `i` as one of `choices`, compared without regard to case; returns its index.
    pub fn choice(&self, i: usize, choices: &[&str]) -> Result<usize, Failure> {
        let text = self.text(i, 64)?;
        choices.iter().position(|c| c.eq_ignore_ascii_case(text)).ok_or(self.bad)
    }
}
