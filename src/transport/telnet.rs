//! Telnet openings from emulators' server sockets, tolerated and answered.
//!
//! QEMU's socket chardev with `telnet=on` and Renode's `CreateServerSocketTerminal` (with its
//! default `emitConfig`) open every connection with telnet option negotiation, then carry the
//! guest's UART bytes:
//!
//! * QEMU sends `IAC WILL ECHO, IAC WILL SUPPRESS-GO-AHEAD, IAC WILL BINARY, IAC DO BINARY`
//!   (`ff fb 01 ff fb 03 ff fb 00 ff fd 00`). It sends the guest's bytes as they are, but strips
//!   telnet commands from what it receives and turns `IAC IAC` into one 0xFF.
//! * Renode sends `IAC DO BINARY, IAC WILL ECHO, IAC WILL SUPPRESS-GO-AHEAD, IAC WONT LINEMODE`
//!   (`ff fd 00 ff fb 01 ff fb 03 ff fc 22`), then (since 2024) reads and discards the 9 bytes a
//!   telnet client answers before it passes anything to the guest. Both ways it carries bytes as
//!   they are.
//!
//! So vmodem negotiates only at the very start of a connection, and the data after it stays
//! binary-clean (0xFF is a legal byte in a file transfer): [`open`] waits up to [`PROBE`] for the
//! peer's first bytes. If they begin with `IAC`, it consumes the negotiation, answers each request
//! once (it agrees to BINARY and SUPPRESS-GO-AHEAD both ways and refuses the rest, ECHO included:
//! Renode then gets its 9 bytes), and hands the modem the first data byte on. Bytes from the peer
//! are never unescaped after that. Bytes to the peer are escaped (0xFF doubled) only when the
//! opening was QEMU's, because QEMU undoubles them and Renode does not. A peer whose first byte
//! is not `IAC` gets a plain link with its bytes in order. `--no-telnet` skips all of this.

use std::collections::BTreeSet;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tracing::{debug, info};

use super::{HostIo, Link};

/// How long a new connection may stay silent before vmodem takes it for a plain byte stream.
pub const PROBE: Duration = Duration::from_millis(100);

/// The most opening bytes vmodem reads as negotiation; anything beyond is data.
const MAX_OPENING: usize = 512;

const IAC: u8 = 0xff;
const DONT: u8 = 0xfe;
const DO: u8 = 0xfd;
const WONT: u8 = 0xfc;
const WILL: u8 = 0xfb;
const SB: u8 = 0xfa;
const SE: u8 = 0xf0;
/// The options vmodem agrees to: BINARY (0) and SUPPRESS-GO-AHEAD (3).
const AGREED: [u8; 2] = [0, 3];

/// QEMU's opening (`tcp_chr_telnet_init` in `chardev/char-socket.c`).
pub const QEMU_OPENING: [u8; 12] = [IAC, WILL, 1, IAC, WILL, 3, IAC, WILL, 0, IAC, DO, 0];
/// Renode's opening (`SocketServerProvider`).
pub const RENODE_OPENING: [u8; 12] = [IAC, DO, 0, IAC, WILL, 1, IAC, WILL, 3, IAC, WONT, 34];

/// Reads the peer's opening, answers any negotiation in it, and returns the link the modem
/// talks through (see the module docs). Fails only if the stream does.
pub async fn open<S: HostIo + 'static>(mut stream: S) -> io::Result<Link> {
    let mut opening = Opening::default();
    let mut buf = [0u8; 256];
    let first = loop {
        let n = match tokio::time::timeout(PROBE, stream.read(&mut buf)).await {
            Ok(read) => read?,
            Err(_silent) => break Vec::new(),
        };
        if n == 0 {
            break Vec::new();
        }
        let data = opening.feed(&buf[..n]);
        stream.write_all(&std::mem::take(&mut opening.replies)).await?;
        if let Some(at) = data {
            break buf[at..n].to_vec();
        }
    };
    let escape = opening.seen.starts_with(&QEMU_OPENING);
    if !opening.seen.is_empty() {
        info!(bytes = opening.seen.len(), escape, "telnet negotiation answered");
    }
    Ok(Box::new(Opened { inner: stream, first, first_pos: 0, escape, owed_iac: false }))
}

/// Where the opening parser is.
#[derive(Debug, Default, Clone, Copy)]
enum State {
    /// Between commands.
    #[default]
    Between,
    /// After `IAC`.
    Iac,
    /// After `IAC <verb>`, waiting for the option.
    Verb(u8),
    /// Inside `IAC SB ... IAC SE`.
    Sub,
    /// After `IAC` inside a subnegotiation.
    SubIac,
}

/// The negotiation at the start of a connection.
#[derive(Debug, Default)]
struct Opening {
    state: State,
    /// The negotiation bytes consumed so far.
    seen: Vec<u8>,
    /// Requests already answered, so that none is answered twice (no negotiation loops).
    answered: BTreeSet<(u8, u8)>,
    /// Answers not yet sent.
    replies: Vec<u8>,
}

impl Opening {
    /// Consumes negotiation from `bytes`; returns where the data begins, once it does.
    fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            if self.seen.len() >= MAX_OPENING {
                return Some(i);
            }
            self.state = match (self.state, b) {
                (State::Between, IAC) => State::Iac,
                (State::Between, _) => return Some(i),
                // `IAC IAC` is a data byte 0xFF: the data begins with the second one.
                (State::Iac, IAC) => return Some(i),
                (State::Iac, WILL | WONT | DO | DONT) => State::Verb(b),
                (State::Iac, SB) => State::Sub,
                (State::Iac, _) => State::Between,
                (State::Verb(verb), option) => {
                    self.answer(verb, option);
                    State::Between
                }
                (State::Sub, IAC) => State::SubIac,
                (State::Sub, _) => State::Sub,
                (State::SubIac, SE) => State::Between,
                (State::SubIac, _) => State::Sub,
            };
            self.seen.push(b);
        }
        None
    }

    /// Answers a request once: yes to BINARY and SUPPRESS-GO-AHEAD, no to the rest; a peer
    /// turning an option off needs no answer, since vmodem never turned one on unasked.
    fn answer(&mut self, verb: u8, option: u8) {
        if !self.answered.insert((verb, option)) {
            return;
        }
        let agreed = AGREED.contains(&option);
        let reply = match verb {
            DO if agreed => WILL,
            DO => WONT,
            WILL if agreed => DO,
            WILL => DONT,
            _ => return,
        };
        debug!(verb, option, reply, "telnet request answered");
        self.replies.extend_from_slice(&[IAC, reply, option]);
    }
}

/// A connection after its opening: the first data bytes, then the stream; 0xFF doubled on the
/// way out when the peer undoubles it.
struct Opened<S> {
    inner: S,
    first: Vec<u8>,
    first_pos: usize,
    escape: bool,
    /// The second 0xFF of an escape whose first one went out alone.
    owed_iac: bool,
}

impl<S: HostIo> Opened<S> {
    /// Sends the half of an escape still owed.
    fn poll_owed(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.owed_iac {
            match ready!(Pin::new(&mut self.inner).poll_write(cx, &[IAC]))? {
                0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                _ => self.owed_iac = false,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: HostIo> AsyncRead for Opened<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.first_pos < this.first.len() {
            let n = buf.remaining().min(this.first.len() - this.first_pos);
            buf.put_slice(&this.first[this.first_pos..this.first_pos + n]);
            this.first_pos += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: HostIo> AsyncWrite for Opened<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if !this.escape {
            return Pin::new(&mut this.inner).poll_write(cx, data);
        }
        ready!(this.poll_owed(cx))?;
        match data.iter().position(|&b| b == IAC) {
            Some(0) => {
                let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &[IAC, IAC]))?;
                this.owed_iac = n == 1;
                Poll::Ready(Ok(usize::from(n > 0)))
            }
            Some(end) => Pin::new(&mut this.inner).poll_write(cx, &data[..end]),
            None => Pin::new(&mut this.inner).poll_write(cx, data),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_owed(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_owed(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renode_gets_the_nine_bytes_it_waits_for() {
        let mut opening = Opening::default();
        assert_eq!(opening.feed(&RENODE_OPENING), None);
        assert_eq!(opening.replies, [IAC, WILL, 0, IAC, DONT, 1, IAC, DO, 3]);
    }

    #[test]
    fn qemu_gets_its_options_answered() {
        let mut opening = Opening::default();
        // Split anywhere, the opening parses the same.
        assert_eq!(opening.feed(&QEMU_OPENING[..4]), None);
        assert_eq!(opening.feed(&QEMU_OPENING[4..]), None);
        assert_eq!(opening.replies, [IAC, DONT, 1, IAC, DO, 3, IAC, DO, 0, IAC, WILL, 0]);
        assert_eq!(opening.seen, QEMU_OPENING);
    }

    #[test]
    fn data_begins_after_the_negotiation_and_subnegotiations_are_skipped() {
        let mut opening = Opening::default();
        let bytes = [IAC, SB, 24, 1, IAC, IAC, IAC, SE, IAC, 0xf1, b'A', b'T', IAC];
        assert_eq!(opening.feed(&bytes), Some(10));
        assert!(opening.replies.is_empty());
        // A repeated request is not answered again.
        let mut opening = Opening::default();
        opening.feed(&[IAC, DO, 5, IAC, DO, 5]);
        assert_eq!(opening.replies, [IAC, WONT, 5]);
        // A doubled IAC is a data byte 0xFF.
        assert_eq!(Opening::default().feed(&[IAC, IAC, 1]), Some(1));
    }

    #[test]
    fn an_endless_opening_ends_as_data() {
        let mut opening = Opening::default();
        let sub: Vec<u8> = [IAC, SB].into_iter().chain(std::iter::repeat_n(7, 1000)).collect();
        assert_eq!(opening.feed(&sub), Some(MAX_OPENING));
    }
}
