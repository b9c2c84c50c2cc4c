//! The in-process echo peer: every byte a TCP client sends comes back (plain, or over TLS),
//! every UDP datagram goes back to its sender. The peer of the socket commands in
//! `vmodem serve --demo` and in the tests; like the other embedded servers it binds the
//! address it is given (port 0 picks one) and stops, with every connection, when dropped.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use super::http::{EmbeddedHttps, acceptor};

/// How long a client may take over its TLS handshake.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(30);
/// Pause after a failed accept (out of file descriptors, say) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A running echo peer: TCP and UDP on the same port number; it stops when dropped.
#[derive(Debug)]
pub struct EmbeddedEcho {
    tcp: SocketAddr,
    udp: SocketAddr,
    tasks: [JoinHandle<()>; 2],
}

impl EmbeddedEcho {
    /// Binds TCP at `bind` (port 0 picks one) and UDP at the same address and port, and
    /// starts echoing; with `tls`, TCP clients talk TLS first.
    pub async fn start(bind: SocketAddr, tls: Option<&EmbeddedHttps>) -> io::Result<EmbeddedEcho> {
        let tls = tls.map(acceptor).transpose()?;
        let listener = TcpListener::bind(bind).await?;
        let tcp = listener.local_addr()?;
        let udp_socket = UdpSocket::bind(tcp).await?;
        let udp = udp_socket.local_addr()?;
        let tasks = [tokio::spawn(accept_loop(listener, tls)), tokio::spawn(datagrams(udp_socket))];
        Ok(EmbeddedEcho { tcp, udp, tasks })
    }

    /// Where TCP clients connect.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp
    }

    /// Where UDP datagrams go.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp
    }
}

impl Drop for EmbeddedEcho {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Accepts until aborted; each connection runs in `connections`, so aborting ends them.
async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let tls = tls.clone();
                    connections.spawn(async move {
                        match tls {
                            None => echo(stream).await,
                            Some(tls) => match tokio::time::timeout(HANDSHAKE_LIMIT, tls.accept(stream)).await {
                                Ok(Ok(stream)) => echo(stream).await,
                                Ok(Err(e)) => tracing::debug!(target: "vmodem::echo", "TLS handshake: {e}"),
                                Err(_) => tracing::debug!(target: "vmodem::echo", "TLS handshake timed out"),
                            },
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(target: "vmodem::echo", "accept: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = connections.join_next() => {}
        }
    }
}

/// Sends back everything until the client closes; then closes too.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(stream: S) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    if let Err(e) = tokio::io::copy(&mut rd, &mut wr).await {
        tracing::debug!(target: "vmodem::echo", "connection: {e}");
    }
    let _ = tokio::io::AsyncWriteExt::shutdown(&mut wr).await;
}

/// Sends every datagram back to where it came from.
async fn datagrams(socket: UdpSocket) {
    let mut buf = vec![0u8; 65_536];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, from)) => {
                if let Err(e) = socket.send_to(&buf[..n], from).await {
                    tracing::debug!(target: "vmodem::echo", "UDP to {from}: {e}");
                }
            }
            Err(e) => tracing::debug!(target: "vmodem::echo", "UDP: {e}"),
        }
    }
}
