//! Command-line assembly: finds `AT` or `A/` in the byte stream, collects the line up to the
//! terminator, applies backspace, and echoes what belongs to the line.
//!
//! Choices where V.250 leaves room (documented here because hosts notice them):
//! - Bytes before an `AT` prefix are ignored and not echoed (UNISOC `ATR_ECHO_COMMAND_ONLY`).
//! - The prefix may be in any case (`AT`, `at`, `At`).
//! - A line ends at S3 (CR) or at a bare LF. An LF that arrives in the same input chunk right
//!   after the terminating CR is echoed and consumed with the line; a later one is junk.
//! - S5 (BS) and DEL (0x7F, which terminals send for backspace) delete the previous character.
//!   Other control characters inside a line are echoed but not stored.
//! - Past the family's line limit the characters are still echoed but no longer stored, and
//!   the line is answered with `ERROR`, so an endless line cannot grow memory.

use crate::settings::Settings;

/// What the assembler produced after consuming some input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assembled {
    /// A complete command line: the body after `AT`, edited, terminator removed.
    Line(Vec<u8>),
    /// The line was longer than the limit; it must be answered `ERROR` without running.
    Overlong,
    /// `A/`: repeat the previous command line.
    Repeat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Looking for `A`.
    Hunt,
    /// Saw `A` (kept in `prefix`), waiting for `T` or `/`.
    GotA,
    /// Inside a line after the `AT` prefix.
    Line,
}

/// Assembles command lines from host bytes.
#[derive(Debug, Clone)]
pub struct Assembler {
    state: State,
    prefix: u8,
    body: Vec<u8>,
    overlong: bool,
    limit: usize,
}

impl Assembler {
    /// An assembler that stores at most `limit` body characters per line.
    pub fn new(limit: usize) -> Self {
        Assembler { state: State::Hunt, prefix: b'A', body: Vec::new(), overlong: false, limit }
    }

    /// Whether a partial command line has been started (an `AT` was seen, no terminator yet).
    pub fn in_line(&self) -> bool {
        self.state == State::Line
    }

    /// Consumes bytes from `input` until a line is complete or the input is used up.
    /// Returns how many bytes were consumed and the completed line, if any. Echo bytes are
    /// appended to `echo` when `settings.echo` is on.
    pub fn push(&mut self, input: &[u8], settings: &Settings, echo: &mut Vec<u8>) -> (usize, Option<Assembled>) {
        let echo_byte = |b: u8, echo: &mut Vec<u8>| {
            if settings.echo {
                echo.push(b);
            }
        };
        for (i, &b) in input.iter().enumerate() {
            match self.state {
                State::Hunt => {
                    if b.eq_ignore_ascii_case(&b'A') {
                        self.prefix = b;
                        self.state = State::GotA;
                    }
                }
                State::GotA => {
                    if b.eq_ignore_ascii_case(&b'T') {
                        echo_byte(self.prefix, echo);
                        echo_byte(b, echo);
                        self.state = State::Line;
                        self.body.clear();
                        self.overlong = false;
                    } else if b == b'/' {
                        echo_byte(self.prefix, echo);
                        echo_byte(b, echo);
                        self.state = State::Hunt;
                        return (i + 1, Some(Assembled::Repeat));
                    } else if b.eq_ignore_ascii_case(&b'A') {
                        self.prefix = b;
                    } else {
                        self.state = State::Hunt;
                    }
                }
                State::Line => {
                    echo_byte(b, echo);
                    if b == settings.s3() || b == b'\n' {
                        let mut used = i + 1;
                        if b == settings.s3()
                            && input.get(used) == Some(&settings.s4())
                            && settings.s4() != settings.s3()
                        {
                            echo_byte(settings.s4(), echo);
                            used += 1;
                        }
                        self.state = State::Hunt;
                        let done = if self.overlong {
                            Assembled::Overlong
                        } else {
                            Assembled::Line(std::mem::take(&mut self.body))
                        };
                        self.body.clear();
                        return (used, Some(done));
                    } else if b == settings.s5() || b == 0x7f {
                        self.body.pop();
                    } else if b < 0x20 {
                        // Control characters are echoed but never part of a command.
                    } else if self.body.len() < self.limit {
                        self.body.push(b);
                    } else {
                        self.overlong = true;
                    }
                }
            }
        }
        (input.len(), None)
    }

    /// Forgets a partial line (used when the modem resets).
    pub fn reset(&mut self) {
        self.state = State::Hunt;
        self.body.clear();
        self.overlong = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> (Vec<Assembled>, Vec<u8>) {
        let settings = Settings::default();
        let mut asm = Assembler::new(16);
        let mut echo = Vec::new();
        let mut lines = Vec::new();
        let mut rest = input;
        while !rest.is_empty() {
            let (used, line) = asm.push(rest, &settings, &mut echo);
            rest = &rest[used..];
            lines.extend(line);
        }
        (lines, echo)
    }

    fn line(s: &str) -> Assembled {
        Assembled::Line(s.as_bytes().to_vec())
    }

    #[test]
    fn terminators_cr_crlf_and_lf() {
        let (lines, echo) = run(b"AT+A\rAT+B\r\nAT+C\n");
        assert_eq!(lines, [line("+A"), line("+B"), line("+C")]);
        assert_eq!(echo, b"AT+A\rAT+B\r\nAT+C\n");
    }

    #[test]
    fn junk_between_lines_is_ignored_and_not_echoed() {
        let (lines, echo) = run(b"\n\x1axyzAAt+Q\r\r\nqq");
        assert_eq!(lines, [line("+Q")]);
        assert_eq!(echo, b"At+Q\r");
    }

    #[test]
    fn backspace_and_delete_edit_the_line() {
        let (lines, echo) = run(b"AT+CSX\x08Q\x7f\x7fSQ\r");
        assert_eq!(lines, [line("+CSQ")]);
        assert_eq!(echo, b"AT+CSX\x08Q\x7f\x7fSQ\r");
    }

    #[test]
    fn repeat() {
        let (lines, echo) = run(b"a/");
        assert_eq!(lines, [Assembled::Repeat]);
        assert_eq!(echo, b"a/");
    }

    #[test]
    fn overlong_lines_are_flagged_not_stored() {
        let (lines, _) = run(b"AT0123456789abcdefg\rAT0123456789abcdef\r");
        assert_eq!(lines, [Assembled::Overlong, line("0123456789abcdef")]);
    }

    #[test]
    fn echo_off_echoes_nothing() {
        let settings = Settings { echo: false, ..Settings::default() };
        let mut asm = Assembler::new(100);
        let mut echo = Vec::new();
        let (_, l) = asm.push(b"AT\r", &settings, &mut echo);
        assert_eq!(l, Some(line("")));
        assert!(echo.is_empty());
    }

    #[test]
    fn a_line_split_over_chunks() {
        let settings = Settings::default();
        let mut asm = Assembler::new(100);
        let mut echo = Vec::new();
        assert_eq!(asm.push(b"A", &settings, &mut echo), (1, None));
        assert_eq!(asm.push(b"T+C", &settings, &mut echo), (3, None));
        assert!(asm.in_line());
        assert_eq!(asm.push(b"\r", &settings, &mut echo), (1, Some(line("+C"))));
        assert_eq!(echo, b"AT+C\r");
    }
}
