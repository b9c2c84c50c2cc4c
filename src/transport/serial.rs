//! The host side of a serial line: a tty device opened as a host opens a module's port (a real
//! USB-serial adapter, or the PTY path of a vmodem started with `--pty`). Used by
//! `vmodem chat` and `vmodem term`. Raw mode, 8N1, no flow control, the chosen speed.

use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::termios::{ControlModes, OptionalActions};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// An open serial device.
#[derive(Debug)]
pub struct SerialPort {
    io: AsyncFd<OwnedFd>,
}

/// Opens `path` raw at `baud` bits per second, 8N1.
pub fn open(path: &Path, baud: u32) -> io::Result<SerialPort> {
    let fd = rustix::fs::open(path, OFlags::RDWR | OFlags::NOCTTY | OFlags::NONBLOCK | OFlags::CLOEXEC, Mode::empty())?;
    let mut t = rustix::termios::tcgetattr(&fd)?;
    t.make_raw();
    t.set_speed(baud)?;
    t.control_modes -= ControlModes::CSTOPB | ControlModes::PARENB | ControlModes::CRTSCTS | ControlModes::CSIZE;
    t.control_modes |= ControlModes::CS8 | ControlModes::CREAD | ControlModes::CLOCAL;
    rustix::termios::tcsetattr(&fd, OptionalActions::Now, &t)?;
    // SAFETY: `register` needs the fd to stay open while registered. The OwnedFd moves into the
    // AsyncFd, which deregisters before dropping (and so closing) it.
    let io = unsafe { AsyncFd::register(fd)? };
    Ok(SerialPort { io })
}

impl AsyncRead for SerialPort {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.io.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|fd| rustix::io::read(fd.get_ref(), &mut *unfilled).map_err(io::Error::from)) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // A PTY whose modem went away reads EIO: the line has ended.
                Ok(Err(e)) if Errno::from_io_error(&e) == Some(Errno::IO) => return Poll::Ready(Ok(())),
                Ok(Err(e)) if Errno::from_io_error(&e) == Some(Errno::INTR) => continue,
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for SerialPort {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.io.poll_write_ready(cx))?;
            match guard.try_io(|fd| rustix::io::write(fd.get_ref(), data).map_err(io::Error::from)) {
                Ok(Ok(n)) => return Poll::Ready(Ok(n)),
                Ok(Err(e)) if Errno::from_io_error(&e) == Some(Errno::INTR) => continue,
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
