//! Opening data connections. Passive: EPSV, falling back to PASV for the rest of the session
//! once a server rejects EPSV; the connection goes to the control connection's peer address
//! whatever address a PASV reply names (curl's default: servers behind NAT often announce a
//! private address). Active: listen on the control connection's local address and announce
//! it with PORT (IPv4) or EPRT (IPv6), and take only a connection from the control
//! connection's peer address: any other is closed (and logged) and the wait goes on within the
//! data-connection timeout, so a third party that races the server cannot inject a file's
//! contents or take an upload. On FTPS every data connection runs a TLS handshake as the
//! client, in active mode too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::time::timeout;

use super::command::Command;
use super::config::DataMode;
use super::error::{Channel, DataConnectCause, FtpError, Step};
use super::reply::Reply;
use super::session::FtpSession;
use super::stream::{FtpStream, SessionTls};
use crate::net::{NetError, NetListener, NetStream};

impl FtpSession {
    /// Opens a data connection, sends `cmd` (after `REST offset` when `offset` > 0) and
    /// returns the connection with the command's preliminary (1xx) reply. From then on the
    /// transfer's final reply is outstanding until `finish` reads it.
    pub(super) async fn open_transfer(
        &mut self,
        step: Step,
        cmd: Command<'_>,
        offset: u64,
    ) -> Result<(FtpStream, Reply), FtpError> {
        let opened = self.open_data(step, cmd, offset).await?;
        self.open = Some(step);
        self.control.mark_stale();
        Ok(opened)
    }

    async fn open_data(&mut self, step: Step, cmd: Command<'_>, offset: u64) -> Result<(FtpStream, Reply), FtpError> {
        let wait = self.timeouts.data_connect;
        let passive = self.mode == DataMode::Passive;
        let connection = match self.mode {
            DataMode::Passive => {
                let addr = self.passive_address().await?;
                match timeout(wait, self.net.connect_addr(addr)).await {
                    Ok(Ok(stream)) => Connection::Open(stream),
                    Ok(Err(e)) => return Err(data_error(true, e)),
                    Err(_) => return Err(data_error(true, NetError::Timeout(addr))),
                }
            }
            DataMode::Active => {
                let server = self.control.peer_addr()?.ip();
                let (listener, addr) = self.announce_listener().await?;
                Connection::Listening { listener, addr, server }
            }
        };
        self.restart_at(offset).await?;
        self.control.send(step, &cmd).await?;
        // The data connection (accepted, TLS handshake done) and the preliminary reply come
        // in the order the server chooses: proftpd finishes the handshake before its 150,
        // vsftpd sends 150 first. Wait for both at once.
        let data = connection.establish(self.tls.clone(), wait);
        tokio::pin!(data);
        let preliminary = tokio::select! {
            biased;
            reply = self.preliminary(step, passive) => reply?,
            data = &mut data => {
                let data = self.data_or_stale(data)?;
                return Ok((data, self.preliminary(step, passive).await?));
            }
        };
        let data = data.await;
        Ok((self.data_or_stale(data)?, preliminary))
    }

    /// After the transfer command: a data connection that failed leaves the command's final
    /// reply to come, to be skipped before the next command.
    fn data_or_stale(&mut self, data: Result<FtpStream, FtpError>) -> Result<FtpStream, FtpError> {
        if data.is_err() {
            self.control.mark_stale();
        }
        data
    }

    async fn restart_at(&mut self, offset: u64) -> Result<(), FtpError> {
        if offset == 0 {
            return Ok(());
        }
        let reply = self.control.command(Step::Rest, "REST", offset.to_string().as_bytes()).await?;
        match reply.is_intermediate() {
            true => Ok(()),
            false => Err(FtpError::Rejected { step: Step::Rest, reply }),
        }
    }

    /// The transfer command's preliminary reply. A 425 means the server could not open the
    /// data connection; anything else that is not 1xx refuses the command.
    async fn preliminary(&mut self, step: Step, passive: bool) -> Result<Reply, FtpError> {
        let reply = self.control.reply(step).await?;
        if reply.is_preliminary() {
            Ok(reply)
        } else if reply.code == 425 {
            Err(FtpError::DataConnect { passive, cause: DataConnectCause::Reply(reply) })
        } else {
            Err(FtpError::Rejected { step, reply })
        }
    }

    async fn passive_address(&mut self) -> Result<SocketAddr, FtpError> {
        let peer = self.control.peer_addr()?;
        if !self.epsv_rejected {
            let reply = self.control.command(Step::Epsv, "EPSV", b"").await?;
            if reply.code == 229 {
                let port = parse_epsv(&reply.text()).ok_or_else(|| malformed(Step::Epsv, &reply))?;
                return Ok(SocketAddr::new(peer.ip(), port));
            }
            tracing::debug!(target: "vmodem::ftp", "EPSV refused ({}); PASV for the rest of the session", reply.code);
            self.epsv_rejected = true;
        }
        let reply = self.control.command(Step::Pasv, "PASV", b"").await?;
        if reply.code != 227 {
            return Err(FtpError::Rejected { step: Step::Pasv, reply });
        }
        let (_announced, port) = parse_pasv(&reply.text()).ok_or_else(|| malformed(Step::Pasv, &reply))?;
        Ok(SocketAddr::new(peer.ip(), port))
    }

    async fn announce_listener(&mut self) -> Result<(NetListener, SocketAddr), FtpError> {
        let local = self.control.local_addr()?;
        let listener = self.net.listen(local.ip()).await.map_err(|e| data_error(false, e))?;
        let addr = listener.local_addr().map_err(|e| data_error(false, NetError::Io(e)))?;
        let (step, verb, arg) = match local.ip().to_canonical() {
            IpAddr::V4(ip) => (Step::Port, "PORT", port_argument(ip, addr.port())),
            IpAddr::V6(ip) => (Step::Eprt, "EPRT", eprt_argument(ip, addr.port())),
        };
        let reply = self.control.command(step, verb, arg.as_bytes()).await?;
        match reply.is_completion() {
            true => Ok((listener, addr)),
            false => Err(FtpError::Rejected { step, reply }),
        }
    }
}

/// A data connection before the transfer command's preliminary reply.
enum Connection {
    /// Passive mode: connected to the server.
    Open(NetStream),
    /// Active mode: waiting on `addr` for a connection from `server`.
    Listening {
        /// Where the server is to connect.
        listener: NetListener,
        /// The address announced with PORT or EPRT.
        addr: SocketAddr,
        /// The control connection's peer: the only address a data connection is taken from.
        server: IpAddr,
    },
}

impl Connection {
    /// The connection ready for the transfer: accepted (active mode) and, on FTPS, with its
    /// TLS handshake done (the same configuration and server name as the control connection,
    /// so it resumes the control connection's TLS session). Each step within `wait`.
    async fn establish(self, tls: Option<SessionTls>, wait: Duration) -> Result<FtpStream, FtpError> {
        let stream = match self {
            Connection::Open(stream) => stream,
            Connection::Listening { listener, addr, server } => {
                match timeout(wait, accept_from(&listener, server)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(e)) => return Err(data_error(false, e)),
                    Err(_) => return Err(data_error(false, NetError::Timeout(addr))),
                }
            }
        };
        match tls {
            Some(tls) => tls.handshake(stream, Channel::Data, wait).await,
            None => Ok(FtpStream::Plain(stream)),
        }
    }
}

/// The first connection from `server`; one from any other address is closed, logged, and
/// the wait goes on (the caller bounds it).
async fn accept_from(listener: &NetListener, server: IpAddr) -> Result<NetStream, NetError> {
    loop {
        let (stream, from) = listener.accept().await?;
        if from.ip().to_canonical() == server.to_canonical() {
            return Ok(stream);
        }
        drop(stream);
        tracing::warn!(target: "vmodem::ftp", "refused a data connection from {from}: the server is {server}");
    }
}

fn data_error(passive: bool, e: NetError) -> FtpError {
    FtpError::DataConnect { passive, cause: DataConnectCause::Net(e) }
}

fn malformed(step: Step, reply: &Reply) -> FtpError {
    FtpError::Malformed(format!("{step}: no address in {reply}"))
}

/// The port of a 229 reply: `(|||port|)`, any delimiter.
fn parse_epsv(text: &str) -> Option<u16> {
    let inner = &text[text.find('(')? + 1..];
    let mut chars = inner.chars();
    let delim = chars.next().filter(|c| c.is_ascii_punctuation())?;
    if chars.next()? != delim || chars.next()? != delim {
        return None;
    }
    let rest = chars.as_str();
    rest[..rest.find(delim)?].parse().ok().filter(|&port| port != 0)
}

/// The address and port of a 227 reply: the first `h1,h2,h3,h4,p1,p2` in the text, with or
/// without parentheses.
fn parse_pasv(text: &str) -> Option<(Ipv4Addr, u16)> {
    let bytes = text.as_bytes();
    (0..bytes.len())
        .filter(|&i| bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit()))
        .find_map(|i| six_numbers(&text[i..]))
}

fn six_numbers(mut s: &str) -> Option<(Ipv4Addr, u16)> {
    let mut n = [0u8; 6];
    for (i, slot) in n.iter_mut().enumerate() {
        if i > 0 {
            s = s.strip_prefix(',')?;
        }
        let len = s.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=3).contains(&len) {
            return None;
        }
        *slot = s[..len].parse().ok()?;
        s = &s[len..];
    }
    let port = u16::from(n[4]) << 8 | u16::from(n[5]);
    (port != 0).then(|| (Ipv4Addr::new(n[0], n[1], n[2], n[3]), port))
}

fn port_argument(ip: Ipv4Addr, port: u16) -> String {
    let [a, b, c, d] = ip.octets();
    format!("{a},{b},{c},{d},{},{}", port >> 8, port & 0xFF)
}

fn eprt_argument(ip: Ipv6Addr, port: u16) -> String {
    format!("|2|{ip}|{port}|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsv_replies() {
        assert_eq!(parse_epsv("Entering Extended Passive Mode (|||6446|)"), Some(6446));
        assert_eq!(parse_epsv("ok (!!!21!)"), Some(21));
        assert_eq!(parse_epsv("Entering Extended Passive Mode (|||0|)"), None);
        assert_eq!(parse_epsv("Entering Extended Passive Mode (||6446|)"), None);
        assert_eq!(parse_epsv("Entering Extended Passive Mode (|||6446"), None);
        assert_eq!(parse_epsv("Entering Extended Passive Mode"), None);
        assert_eq!(parse_epsv("(|||99999|)"), None);
    }

    #[test]
    fn pasv_replies() {
        let want = Some((Ipv4Addr::new(192, 168, 1, 2), 19 * 256 + 137));
        assert_eq!(parse_pasv("Entering Passive Mode (192,168,1,2,19,137)."), want);
        assert_eq!(parse_pasv("Entering Passive Mode 192,168,1,2,19,137"), want);
        assert_eq!(parse_pasv("=192,168,1,2,19,137"), want);
        assert_eq!(parse_pasv("Mode (1,2) then (192,168,1,2,19,137)"), want);
        assert_eq!(parse_pasv("Entering Passive Mode (192,168,1,2,19)"), None);
        assert_eq!(parse_pasv("Entering Passive Mode (192,168,1,256,19,137)"), None);
        assert_eq!(parse_pasv("(1,2,3,4,0,0)"), None);
        assert_eq!(parse_pasv(""), None);
    }

    #[test]
    fn port_and_eprt_arguments() {
        assert_eq!(port_argument(Ipv4Addr::new(127, 0, 0, 1), 0x1389), "127,0,0,1,19,137");
        assert_eq!(eprt_argument(Ipv6Addr::LOCALHOST, 5000), "|2|::1|5000|");
    }
}
