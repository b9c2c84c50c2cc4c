//! Command tables: one [`Entry`] per command, with what each of its four forms does, written so
//! a family's table reads like its AT manual:
//!
//! ```text
//! Entry::new("+FTPPORT").test("+FTPPORT: (1-65535)").read(ftp_port_read).write(ftp_port_write),
//! ```

use vmodem_at::{Command, Failure, Form, Reply, Response};

use super::Io;

/// What a handler gets: the response to write into and the modem context.
pub struct Ctx<'a, 'r> {
    /// Information lines and prompts.
    pub rsp: &'a mut Response<'r>,
    /// URCs, service requests, the clock.
    pub io: &'a mut Io,
}

/// What a handler returns: a reply, or the failure its arguments or state caused.
pub type Outcome = Result<Reply, Failure>;

/// A command handler over the family state `S`.
pub type Handler<S> = fn(&mut S, &Command, &mut Ctx<'_, '_>) -> Outcome;

/// What one form of a command does.
enum Answer<S> {
    /// The form does not exist on this command.
    Missing,
    /// Prints a fixed line, then `OK` (most test forms).
    Text(&'static str),
    /// Just `OK`.
    Ok,
    /// Runs a handler.
    Run(Handler<S>),
}

/// One command of a family's table.
pub struct Entry<S: 'static> {
    /// The upper-case name as the parser produces it (`+FTPGET`, `I`).
    pub name: &'static str,
    test: Answer<S>,
    read: Answer<S>,
    write: Answer<S>,
    exec: Answer<S>,
}

impl<S> std::fmt::Debug for Entry<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("name", &self.name).finish_non_exhaustive()
    }
}

impl<S> Entry<S> {
    /// A command with no forms yet.
    pub const fn new(name: &'static str) -> Self {
        Entry { name, test: Answer::Missing, read: Answer::Missing, write: Answer::Missing, exec: Answer::Missing }
    }

    /// The test form prints `text`.
    pub const fn test(mut self, text: &'static str) -> Self {
        self.test = Answer::Text(text);
        self
    }

    /// The test form answers just `OK`.
    pub const fn test_ok(mut self) -> Self {
        self.test = Answer::Ok;
        self
    }

    /// The test form runs `h` (when its text depends on the configuration).
    pub const fn test_with(mut self, h: Handler<S>) -> Self {
        self.test = Answer::Run(h);
        self
    }

    /// The read form runs `h`.
    pub const fn read(mut self, h: Handler<S>) -> Self {
        self.read = Answer::Run(h);
        self
    }

    /// The write form runs `h`.
    pub const fn write(mut self, h: Handler<S>) -> Self {
        self.write = Answer::Run(h);
        self
    }

    /// The execute form runs `h`.
    pub const fn exec(mut self, h: Handler<S>) -> Self {
        self.exec = Answer::Run(h);
        self
    }

    /// The execute form answers just `OK` (commands accepted for compatibility).
    pub const fn exec_ok(mut self) -> Self {
        self.exec = Answer::Ok;
        self
    }

    /// Runs the form `cmd` was sent in; `None` if this command has no such form.
    pub fn run(&self, state: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Option<Reply> {
        let answer = match cmd.form {
            Form::Test => &self.test,
            Form::Read => &self.read,
            Form::Write(_) => &self.write,
            Form::Exec => &self.exec,
        };
        match answer {
            Answer::Missing => None,
            Answer::Ok => Some(Reply::Ok),
            Answer::Text(text) => {
                ctx.rsp.line(text);
                Some(Reply::Ok)
            }
            Answer::Run(h) => Some(h(state, cmd, ctx).unwrap_or_else(Reply::Error)),
        }
    }
}

/// The entry called `name` in the first table that has it.
pub fn find<'t, S>(tables: &[&'t [Entry<S>]], name: &str) -> Option<&'t Entry<S>> {
    tables.iter().flat_map(|t| t.iter()).find(|e| e.name == name)
}
