//! The modem's serial line over TCP: vmodem listens, and each accepted connection is a host
//! plugging in. Useful behind `socat pty,raw,echo=0,link=/tmp/ttyV0 tcp:HOST:PORT`, for an
//! emulator's TCP serial client (QEMU `-serial tcp:HOST:PORT`), or for `nc`. To dial an
//! emulator's server socket instead, see [`connect`](super::connect).
//!
//! Each link is the `TcpStream` with `TCP_NODELAY` set, so single echoed characters and short
//! result codes go out at once. Unlike a PTY link, a TCP link reports the peer's disconnect on
//! write too (`BrokenPipe`/`ConnectionReset`), as a socket does.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tracing::warn;

use super::listen::{self, Acceptor};
use super::{Link, Links, failed};

/// Binds `addr` and yields one link per accepted connection.
///
/// Returns the bound address, which tells you the port when `addr` asked for port 0. The accept
/// loop runs until the returned [`Links`] is dropped. An error names `addr`.
pub async fn listen(addr: SocketAddr) -> io::Result<(Links, SocketAddr)> {
    let named = failed(format!("cannot listen on {addr}"));
    let listener = TcpListener::bind(addr).await.map_err(&named)?;
    let local = listener.local_addr().map_err(&named)?;
    Ok((listen::spawn(listener, local.to_string()), local))
}

impl Acceptor for TcpListener {
    async fn accept(&self) -> io::Result<(Link, String)> {
        let (stream, peer) = TcpListener::accept(self).await?;
        if let Err(e) = stream.set_nodelay(true) {
            warn!(%peer, error = %e, "cannot set TCP_NODELAY");
        }
        Ok((Box::new(stream), peer.to_string()))
    }
}
