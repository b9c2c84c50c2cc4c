//! Whole-file transfers through vmodem's FTP client, as the client tests do them, and test data.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vmodem::service::ftp::{Completed, FtpError, FtpSession, StoreMode};

/// Downloads `path` from `offset` to the end, checking the byte count `finish` reports.
pub async fn get(session: &mut FtpSession, path: &str, offset: u64) -> Result<Vec<u8>, FtpError> {
    let mut stream = session.retrieve(path, offset).await?;
    let mut data = Vec::new();
    stream.read_to_end(&mut data).await.map_err(|e| session.broken(e))?;
    let done = session.finish(stream).await?;
    assert_eq!(done.bytes, data.len() as u64);
    Ok(data)
}

/// Uploads `data` to `path` in small writes, as a modem's data phases deliver them.
pub async fn put(session: &mut FtpSession, path: &str, mode: StoreMode, data: &[u8]) -> Result<Completed, FtpError> {
    let mut stream = session.store(path, mode).await?;
    for chunk in data.chunks(1500) {
        stream.write_all(chunk).await.map_err(|e| session.broken(e))?;
    }
    session.finish(stream).await
}

/// Bytes that are not all alike, so a misplaced chunk would be noticed.
pub fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
