//! What the benchmarks share.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A loopback TCP task for one connection that writes `reply(read)` back for every read: the
/// bare medium a benchmark sets vmodem beside.
pub async fn loopback_responder(mut reply: impl FnMut(&[u8], &mut Vec<u8>) + Send + 'static) -> io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let Ok((mut stream, _)) = listener.accept().await else { return };
        if stream.set_nodelay(true).is_err() {
            return;
        }
        let mut buf = [0u8; 4096];
        let mut out = Vec::new();
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            out.clear();
            reply(&buf[..n], &mut out);
            if stream.write_all(&out).await.is_err() {
                return;
            }
        }
    });
    Ok(addr)
}
