//! The accept loop shared by the listening transports ([`tcp`](super::tcp),
//! [`unix`](super::unix)): each accepted connection is the next [`Link`], and the modem drops the
//! previous link when it sees the new one, as a module does when another host takes over its
//! UART.

use std::io;
use std::time::Duration;

use tracing::{debug, info, warn};

use super::session::Session;
use super::{Link, Links};

/// How long the accept loop pauses after a failed `accept` (for example `EMFILE`), so that a
/// persistent error does not make it spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// A bound listening socket.
pub trait Acceptor: Send + 'static {
    /// The next connection, ready to be a link, and a description of its peer for the logs.
    fn accept(&self) -> impl Future<Output = io::Result<(Link, String)>> + Send;
}

/// Starts the accept loop; it runs until the returned [`Links`] is dropped.
pub fn spawn(acceptor: impl Acceptor, local: String) -> Links {
    let (tx, links) = Links::channel();
    info!(%local, "listening for hosts");
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = acceptor.accept() => accepted,
                _ = tx.closed() => break,
            };
            match accepted {
                Ok((link, peer)) => {
                    info!(%peer, %local, "host connected");
                    if tx.send(Box::new(Session::new(link, peer))).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    warn!(%local, error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
            }
        }
        debug!(%local, "no one takes links any more; listener closed");
    });
    links
}
