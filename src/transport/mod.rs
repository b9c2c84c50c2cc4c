//! How a host reaches the modem's serial line: a PTY with a stable path ([`pty`]), a TCP or Unix
//! socket vmodem listens on ([`tcp`], [`unix`]), an emulator's server socket or a tty device it
//! opens itself ([`connect`]), or the process's stdin/stdout ([`stdio`]); [`line`](mod@line) picks one from
//! the flags. Optional [`pacing`] moves bytes at the line's baud rate, and [`telnet`] answers the
//! negotiation emulators open their sockets with. From the host's side, [`serial`] opens a tty
//! device. A transport yields [`Link`]s; each new link replaces the previous one, and the modem
//! keeps its state across them, as a module does when a host reopens its serial port.
//! Transports know nothing of AT commands.

pub mod connect;
pub mod line;
pub mod listen;
pub mod pacing;
pub mod pty;
pub mod serial;
pub mod session;
pub mod stdio;
pub mod tcp;
pub mod telnet;
pub mod unix;

use std::io;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

/// Any duplex byte stream a host talks through.
pub trait HostIo: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> HostIo for T {}

/// One connection of a host to the modem's line.
pub type Link = Box<dyn HostIo>;

/// The stream of links a transport produces.
#[derive(Debug)]
pub struct Links {
    rx: mpsc::Receiver<Link>,
}

impl Links {
    /// A link stream and the sender a transport task feeds it through.
    pub fn channel() -> (mpsc::Sender<Link>, Links) {
        let (tx, rx) = mpsc::channel(1);
        (tx, Links { rx })
    }

    /// A stream that yields `link` once (stdio, in-process tests).
    pub fn single(link: Link) -> Links {
        let (tx, rx) = mpsc::channel(1);
        tx.try_send(link).ok();
        Links { rx }
    }

    /// Waits for the next link; `None` when the transport has ended.
    pub async fn next(&mut self) -> Option<Link> {
        self.rx.recv().await
    }

    /// The same links, each passed through `wrap` (pacing, for one). The transport behind stops
    /// when the returned stream is dropped, as it does for this one.
    pub fn map(mut self, mut wrap: impl FnMut(Link) -> Link + Send + 'static) -> Links {
        let (tx, links) = Links::channel();
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    next = self.next() => next,
                    _ = tx.closed() => return,
                };
                let Some(link) = next else { return };
                if tx.send(wrap(link)).await.is_err() {
                    return;
                }
            }
        });
        links
    }
}

/// Puts `what` (which names the path or address) in front of an error, keeping its kind:
/// `.map_err(failed(format!("cannot listen on {addr}")))`. A transport's start-up errors say
/// where they happened this way.
pub(crate) fn failed(what: String) -> impl Fn(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
}

impl std::fmt::Debug for dyn HostIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Link")
    }
}
