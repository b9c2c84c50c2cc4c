//! The V.250 shape of a transcript: which `<` lines get a leading CR LF, and when the echo of a
//! sent line is expected. The compiler follows it line by line to turn a transcript into bytes;
//! the recorder follows the same model to choose lines that compile back to the bytes it saw.

/// Final result codes: they end a response (and get their own line breaks).
pub fn is_final(text: &[u8]) -> bool {
    const FINALS: [&[u8]; 6] = [b"OK", b"ERROR", b"NO CARRIER", b"NO DIALTONE", b"BUSY", b"NO ANSWER"];
    FINALS.contains(&text)
        || text.starts_with(b"+CME ERROR:")
        || text.starts_with(b"+CMS ERROR:")
        || text.starts_with(b"CONNECT")
}

/// Where a transcript is in the V.250 response structure, and whether the modem echoes.
#[derive(Debug, Clone)]
pub struct Framing {
    /// Between a sent command line and its final result code.
    in_response: bool,
    /// The next information line is the first of a command's response.
    first_info: bool,
    echo: bool,
    stored_echo: bool,
    /// A restart was asked for (`+CFUN=1,1`, `+CREBOOT`): if the line ends `OK`, the echo
    /// goes back to the stored setting.
    restarting: bool,
}

impl Default for Framing {
    /// Power-on: echo on, no command in progress.
    fn default() -> Self {
        Framing { in_response: false, first_info: true, echo: true, stored_echo: true, restarting: false }
    }
}

impl Framing {
    /// Whether the echo of the next sent line is expected.
    pub fn echo(&self) -> bool {
        self.echo
    }

    /// `@echo on|off`.
    pub fn set_echo(&mut self, on: bool) {
        self.echo = on;
    }

    /// A `>` line (`line` ends with its CR) is sent: returns whether its echo is expected, and
    /// follows `E`, `Z`, `&F`, `&W`, `+CFUN=1,1` and `+CREBOOT` in it for the lines after.
    pub fn send_line(&mut self, line: &[u8]) -> bool {
        let echoed = self.echo;
        self.follow_echo_commands(line);
        self.send_raw();
        echoed
    }

    /// Bytes are sent: a response follows.
    pub fn send_raw(&mut self) {
        self.in_response = true;
        self.first_info = true;
    }

    /// Whether `< TEXT` expects CR LF before `TEXT` (TEXT without placeholders).
    pub fn leads(&self, text: &[u8]) -> bool {
        !self.in_response || self.first_info || is_final(text)
    }

    /// An `< TEXT` line was expected.
    pub fn expect_line(&mut self, text: &[u8]) {
        if self.in_response {
            self.first_info = false;
        }
        if is_final(text) {
            self.in_response = false;
            if std::mem::take(&mut self.restarting) && text == b"OK" {
                self.echo = self.stored_echo;
            }
        }
    }

    /// A bare `<`: the next information line starts another command's response.
    pub fn separate(&mut self) {
        self.first_info = true;
    }

    /// Follows `E`, `Z`, `&F`, `&W`, `+CFUN=1,1` and `+CREBOOT` in a sent line, so the echo of
    /// the next line is expected exactly when the modem will send it (a restart's only once its
    /// line has answered `OK`).
    fn follow_echo_commands(&mut self, line: &[u8]) {
        let body = match line.get(..2) {
            Some(p) if p.eq_ignore_ascii_case(b"AT") => &line[2..line.len() - 1],
            _ => return,
        };
        for cmd in vmodem_at::parse_line(body) {
            let Ok(cmd) = cmd else { break };
            let first = cmd.args().first().and_then(vmodem_at::Arg::number);
            match cmd.name.as_str() {
                "E" => self.echo = first.unwrap_or(0) == 1,
                "Z" => self.echo = self.stored_echo,
                "&F" => self.echo = true,
                "&W" => self.stored_echo = self.echo,
                "+CFUN"
                    if matches!(cmd.args(), [a, b] if a.number() == Some(1) && b.number() == Some(1))
                        || first == Some(6) =>
                {
                    self.restarting = true
                }
                // The SIM7080 family's reboot command (its execute form).
                "+CREBOOT" if cmd.form == vmodem_at::Form::Exec => self.restarting = true,
                _ => {}
            }
        }
    }
}
