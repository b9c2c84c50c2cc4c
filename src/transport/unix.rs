//! The modem's serial line over a Unix stream socket: `--unix PATH` listens like `--tcp`, with
//! file-system permissions instead of a port (QEMU `-serial unix:PATH`, `socat`,
//! `nc -U`). To dial a socket an emulator listens on, see [`connect`](super::connect).
//!
//! A socket file at the path is replaced (it is probably left over from an earlier run; testing
//! it with a connection would look like a host plugging in to a vmodem still using it), and
//! anything else there is refused, as [`pty::open`] replaces only a symlink. The handle removes
//! the file when dropped, unless another process has since put its own socket there.
//!
//! [`pty::open`]: super::pty::open

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use tokio::net::UnixListener;
use tracing::{debug, warn};

use super::listen::{self, Acceptor};
use super::{Link, Links, failed};

/// Binds a Unix socket at `path` and yields one link per accepted connection.
///
/// Keep the returned handle while the socket should exist: dropping it removes the socket file.
pub fn listen(path: &Path) -> io::Result<(Links, UnixHandle)> {
    let (listener, handle) = bind(path, "the line's socket")?;
    Ok((listen::spawn(listener, format!("unix:{}", path.display())), handle))
}

/// Binds a Unix socket at `path`, replacing a stale socket file and refusing any other file
/// (see the module docs); `what` says what the socket is for, in the errors, each of which
/// names the path. The handle removes the file when dropped. The control socket binds its own
/// this way.
pub fn bind(path: &Path, what: &str) -> io::Result<(UnixListener, UnixHandle)> {
    let named = failed(format!("cannot create {what} at {}", path.display()));
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(named(e)),
        Ok(meta) if meta.file_type().is_socket() => {
            debug!(path = %path.display(), "replacing an existing socket file");
            std::fs::remove_file(path).map_err(&named)?;
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket; refusing to replace it with {what}", path.display()),
            ));
        }
    }
    let listener = UnixListener::bind(path).map_err(&named)?;
    let meta = std::fs::symlink_metadata(path).map_err(&named)?;
    Ok((listener, UnixHandle { path: path.to_path_buf(), inode: (meta.dev(), meta.ino()) }))
}

/// Owns the socket file; dropping it removes the file if it is still the one bound.
#[derive(Debug)]
#[must_use = "dropping the handle removes the socket file"]
pub struct UnixHandle {
    path: PathBuf,
    inode: (u64, u64),
}

impl UnixHandle {
    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for UnixHandle {
    fn drop(&mut self) {
        match std::fs::symlink_metadata(&self.path) {
            Ok(meta) if (meta.dev(), meta.ino()) == self.inode => {
                if let Err(e) = std::fs::remove_file(&self.path) {
                    warn!(path = %self.path.display(), error = %e, "cannot remove the socket file");
                }
            }
            _ => debug!(path = %self.path.display(), "socket file no longer ours; left in place"),
        }
    }
}

impl Acceptor for UnixListener {
    async fn accept(&self) -> io::Result<(Link, String)> {
        let (stream, _) = UnixListener::accept(self).await?;
        Ok((Box::new(stream), "unix peer".to_string()))
    }
}
