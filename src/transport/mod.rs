//! How a host reaches the modem's serial line: a PTY with a stable path, a TCP listener, or the
//! process's stdin/stdout (and, from the host's side, [`serial`] opens a tty device). A transport yields [`Link`]s; each new link replaces the previous
//! one, and the modem keeps its state across them, as a module does when a host reopens its
//! serial port. Transports know nothing of AT commands.

pub mod pacing;
pub mod pty;
pub mod serial;
pub mod stdio;
pub mod tcp;

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

impl std::fmt::Debug for dyn HostIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Link")
    }
}
