//! The host side of PPP for the integration tests: what pppd, Zephyr's modem stack, lwIP's
//! PPPoS or esp-modem do after `ATD*99#` answers `CONNECT`. Nothing here is vmodem's: the PPP
//! client is the `ppproto` crate (LCP, PAP, IPCP with RFC 1877 name servers) and the TCP/IP
//! stack is `smoltcp` (an `Interface` on `Medium::Ip` over a queue device), so a test checks the
//! modem against independent implementations.
//!
//! One loop drives everything ([`PppHost`]'s private `step`): it reads the line (bounded by the
//! caller's deadline and smoltcp's `poll_delay`) while writing what is queued for it, hands the
//! bytes to `PPPoS::consume`, sends what ppproto emits, passes received IPv4 packets to smoltcp
//! and frames smoltcp's packets with `PPPoS::send`. Every public call takes a `within` and
//! returns `Err` with a reason instead of waiting longer; nothing panics on what the modem sends
//! (ppproto's own panics on malformed input are caught and turned into `Err`).
//!
//! What ppproto cannot do, and what is done here instead:
//! - It has no restart timer: its Configure-Requests and Authenticate-Request are sent once.
//!   When negotiation stays in one phase for 3 s (the modem missed a request, e.g. one sent
//!   before it switched to PPP), ppproto's last request is sent again, as pppd's restart timer
//!   would.
//! - It has no close: [`PppHost::terminate`] frames the LCP Terminate-Request itself (RFC 1662
//!   framing, FCS-16, every control character escaped) and watches for the Terminate-Ack with
//!   its own decoder.
//! - It authenticates with PAP only: a modem asking for CHAP gets a Configure-Nak naming PAP.
//! - It rejects MRU, Magic-Number, PFC and ACFC, so the modem's frames keep the address and
//!   control fields and two-octet protocols, and the MRU stays 1500.
//!
//! Error strings start with a word a test can match: `refused`, `reset`, `timeout`,
//! `link down`, `NXDOMAIN` (and other DNS RCODE names), `ppp`, `line`.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use ppproto::pppos::{PPPoS, PPPoSAction};
use ppproto::{Config as PppConfig, Phase};
use smoltcp::iface::{Config as IfaceConfig, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::socket::{icmp, tcp, udp};
use smoltcp::wire::{HardwareAddress, Icmpv4Packet, Icmpv4Repr, IpAddress, IpCidr, IpEndpoint};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::time::{Instant, sleep, timeout_at};

/// The IP MTU: ppproto rejects the MRU option, so both sides keep PPP's default.
const MTU: usize = 1500;
/// Bytes read from the line at once.
const READ_CHUNK: usize = 16 * 1024;
/// ppproto's receive buffer: one frame's content (MRU + protocol + control + FCS) fits.
const PPP_RX: usize = 4096;
/// ppproto's transmit buffer: one IP packet with every octet escaped, or a batch of control
/// frames.
const PPP_TX: usize = 8192;
/// A negotiation phase not done after this long: ppproto's last request goes again.
const RESTART: Duration = Duration::from_secs(3);
/// The Terminate-Request is repeated this often until acked (pppd's term-restart).
const TERMINATE_RESTART: Duration = Duration::from_secs(3);
/// TCP receive and send buffers.
const TCP_BUFFER: usize = 64 * 1024;
/// After the whole response and our FIN, how long the modem gets to ack it.
const CLOSE_LINGER: Duration = Duration::from_secs(2);
/// A DNS query is repeated this often until answered (a stub resolver's retry).
const DNS_RETRY: Duration = Duration::from_secs(2);
/// The largest UDP payload in one unfragmented datagram over the MTU.
const MAX_UDP_PAYLOAD: usize = MTU - 28;
/// Non-PPP text kept at most.
const TEXT_CAP: usize = 1 << 20;
/// Control frames remembered for error messages.
const TRACE_CAP: usize = 48;
/// The peer address assumed when IPCP names none (pppd's default remote).
const DEFAULT_PEER: Ipv4Addr = Ipv4Addr::new(10, 64, 64, 64);

/// PPP protocol numbers (RFC 1661, 1332, 1334, 1994).
const LCP: u16 = 0xC021;
const PAP: u16 = 0xC023;
const CHAP: u16 = 0xC223;
const IPCP: u16 = 0x8021;
const IPV4: u16 = 0x0021;
/// LCP codes used here.
const TERMINATE_REQUEST: u8 = 5;
const TERMINATE_ACK: u8 = 6;
/// PAP's Authenticate-Nak.
const PAP_NAK: u8 = 3;

/// How [`PppHost::connect_with`] authenticates and what it was handed.
#[derive(Debug, Clone)]
pub struct PppOptions {
    /// PAP user name (at most 255 octets).
    pub username: String,
    /// PAP password (at most 255 octets).
    pub password: String,
    /// Bytes already read from the line after `CONNECT` (they may hold the modem's first
    /// frames); handled before the line is read.
    pub already_read: Vec<u8>,
}

impl Default for PppOptions {
    /// `user` / `pass`, nothing read yet.
    fn default() -> Self {
        PppOptions { username: "user".into(), password: "pass".into(), already_read: Vec::new() }
    }
}

/// A host with a PPP link up over `S` (a TCP stream to the modem's line, a PTY, a duplex pipe)
/// and a TCP/IP stack on it. Made by [`PppHost::connect_with`] or
/// [`PppHost::dial`]; the link is serviced (LCP echoes answered, TCP acked) only while one of its
/// async methods runs.
pub struct PppHost<S> {
    rd: ReadHalf<S>,
    wr: WriteHalf<S>,
    ppp: PPPoS<'static>,
    /// ppproto panicked: it is not called again.
    ppp_broken: bool,
    ppp_rx: Vec<u8>,
    ppp_tx: Vec<u8>,
    /// The read buffer.
    rbuf: Vec<u8>,
    /// Bytes for the line, written as the line takes them.
    out: Vec<u8>,
    /// Watches the modem's bytes: text between frames, and frames when asked to.
    scan: LineScan,
    dev: QueueDevice,
    iface: Interface,
    sockets: SocketSet<'static>,
    /// smoltcp's clock starts here.
    epoch: Instant,
    /// IPCP is up and the interface configured.
    up: bool,
    address: Ipv4Addr,
    peer: Ipv4Addr,
    dns: Vec<Ipv4Addr>,
    /// Why the link is over, once it is.
    down: Option<String>,
    /// The line reached end of file.
    eof: bool,
    /// Where the text received since IPCP came up starts in [`LineScan::text`].
    text_mark: usize,
    /// Control frames both ways, while negotiating or terminating.
    trace: VecDeque<String>,
    /// Whether control frames are traced (and the modem's frames decoded).
    tracing: bool,
    ping_seq: u16,
    /// The message of the modem's PAP Authenticate-Nak, if one came.
    auth_failed: Option<String>,
    /// ppproto's last Configure-Request or Authenticate-Request, framed: retransmitted when
    /// negotiation stalls.
    last_request: Option<Vec<u8>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> PppHost<S> {
    /// Runs PPP on `line` (already past `CONNECT`) until IPCP is up, within `within`, with the
    /// credentials and the bytes already read after `CONNECT` that `options` gives.
    pub async fn connect_with(line: S, options: PppOptions, within: Duration) -> Result<PppHost<S>, String> {
        let deadline = Instant::now() + within;
        if options.username.len() > 255 || options.password.len() > 255 {
            return Err("ppp: PAP user name and password are at most 255 octets".into());
        }
        // ppproto borrows its credentials for the client's life: a test's few bytes are leaked.
        let username: &'static [u8] = Box::leak(options.username.into_bytes().into_boxed_slice());
        let password: &'static [u8] = Box::leak(options.password.into_bytes().into_boxed_slice());
        let (rd, wr) = tokio::io::split(line);
        let mut dev = QueueDevice::default();
        let mut config = IfaceConfig::new(HardwareAddress::Ip);
        config.random_seed = fastrand::u64(..);
        let iface = Interface::new(config, &mut dev, smoltcp::time::Instant::from_millis(0));
        let mut host = PppHost {
            rd,
            wr,
            ppp: PPPoS::new(PppConfig { username, password }),
            ppp_broken: false,
            ppp_rx: vec![0; PPP_RX],
            ppp_tx: vec![0; PPP_TX],
            rbuf: vec![0; READ_CHUNK],
            out: Vec::new(),
            scan: LineScan::default(),
            dev,
            iface,
            sockets: SocketSet::new(Vec::new()),
            epoch: Instant::now(),
            up: false,
            address: Ipv4Addr::UNSPECIFIED,
            peer: Ipv4Addr::UNSPECIFIED,
            dns: Vec::new(),
            down: None,
            eof: false,
            text_mark: 0,
            trace: VecDeque::new(),
            tracing: true,
            ping_seq: 0,
            auth_failed: None,
            last_request: None,
        };
        host.scan.collect = true;
        host.ppp.open().map_err(|_| "ppp: ppproto would not open".to_string())?;
        // Its LCP Configure-Request goes out now.
        host.poll_ppp()?;
        if !options.already_read.is_empty() {
            host.input(&options.already_read)?;
        }
        host.negotiate(deadline, within).await?;
        Ok(host)
    }

    /// Sends `command` (e.g. `ATD*99#`, `AT+CGDATA="PPP",1`) with a CR, waits for `CONNECT`,
    /// then runs [`PppHost::connect_with`] on what follows; all within `within`. `Err` with the result
    /// line if the modem answers `NO CARRIER`, `ERROR`, `+CME ERROR: ...`, `BUSY`, `NO ANSWER` or
    /// `NO DIALTONE`. Needs verbose result codes (ATV1).
    pub async fn dial(mut line: S, command: &str, within: Duration) -> Result<PppHost<S>, String> {
        let deadline = Instant::now() + within;
        let mut cmd = command.as_bytes().to_vec();
        cmd.push(b'\r');
        match timeout_at(deadline, line.write_all(&cmd)).await {
            Err(_) => return Err(format!("timeout: could not write {command:?} within {within:?}")),
            Ok(Err(e)) => return Err(format!("line: writing {command:?}: {e}")),
            Ok(Ok(())) => {}
        }
        let _ = timeout_at(deadline, line.flush()).await;
        let mut got = Vec::new();
        let mut buf = vec![0; 4096];
        let rest = loop {
            match dial_result(&got) {
                Some(Ok(end)) => break got[end..].to_vec(),
                Some(Err(result)) => return Err(format!("{command} answered {result}")),
                None => {}
            }
            let n = match timeout_at(deadline, line.read(&mut buf)).await {
                Err(_) => {
                    return Err(format!(
                        "timeout: no CONNECT to {command:?} within {within:?}; got {:?}",
                        String::from_utf8_lossy(&got)
                    ));
                }
                Ok(Err(e)) => return Err(format!("line: reading after {command:?}: {e}")),
                Ok(Ok(0)) => {
                    return Err(format!("line closed before CONNECT; got {:?}", String::from_utf8_lossy(&got)));
                }
                Ok(Ok(n)) => n,
            };
            got.extend_from_slice(&buf[..n]);
        };
        let options = PppOptions { already_read: rest, ..PppOptions::default() };
        PppHost::connect_with(line, options, deadline.saturating_duration_since(Instant::now())).await
    }

    /// The host's address, as IPCP gave it.
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// The name servers IPCP gave (RFC 1877 primary, then secondary; those not given left out).
    pub fn dns(&self) -> Vec<Ipv4Addr> {
        self.dns.clone()
    }

    /// Whether the link is still up (no Terminate, NO CARRIER or end of file seen yet).
    pub fn is_up(&self) -> bool {
        self.up && self.down.is_none()
    }

    /// Why the link went down, once it has (seen only while a method runs).
    pub fn down_reason(&self) -> Option<&str> {
        self.down.as_deref()
    }

    /// Bytes received on the line that were not PPP (text outside frames: `CONNECT` leftovers,
    /// `NO CARRIER`...), lossily decoded, since the link was started.
    pub fn line_text(&self) -> String {
        String::from_utf8_lossy(&self.scan.text()).into_owned()
    }

    /// TCP: connects to `addr`, writes `request`, reads until the peer closes, feeding every
    /// byte received to `sink` as it comes, and returns how many there were. `Err`: `refused`
    /// (RST to the SYN), `reset` (RST before the peer's FIN), `timeout` (not done within
    /// `within`), `link down`.
    pub async fn tcp_exchange(
        &mut self,
        addr: SocketAddrV4,
        request: &[u8],
        mut sink: impl FnMut(&[u8]),
        within: Duration,
    ) -> Result<u64, String> {
        let deadline = Instant::now() + within;
        self.alive()?;
        let mut socket =
            tcp::Socket::new(tcp::SocketBuffer::new(vec![0; TCP_BUFFER]), tcp::SocketBuffer::new(vec![0; TCP_BUFFER]));
        let remote = IpEndpoint::new(IpAddress::Ipv4(*addr.ip()), addr.port());
        socket.connect(self.iface.context(), remote, local_port()).map_err(|e| format!("connect to {addr}: {e}"))?;
        let handle = self.sockets.add(socket);
        let result = self.tcp_run(handle, addr, request, &mut sink, deadline, within).await;
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        if result.is_err() && socket.is_open() {
            // Tell the modem the connection is gone (best effort).
            socket.abort();
            let _ = self.pump();
        }
        self.sockets.remove(handle);
        self.settle().await;
        result
    }

    /// `GET path` over HTTP/1.1 with `Host: host` and `Connection: close`, on
    /// [`PppHost::tcp_exchange`]; returns the status and the body (de-chunked, cut to
    /// Content-Length).
    pub async fn http_get(
        &mut self,
        addr: SocketAddrV4,
        host: &str,
        path: &str,
        within: Duration,
    ) -> Result<(u16, Vec<u8>), String> {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: vmodem-ppp-host\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        let mut raw = Vec::new();
        self.tcp_exchange(addr, request.as_bytes(), |bytes| raw.extend_from_slice(bytes), within).await?;
        parse_http_response(&raw)
    }

    /// An A query for `name` over UDP to `server`:53 (repeated every 2 s until answered);
    /// returns the addresses of the answer (empty when the name has no A record). `Err`:
    /// `NXDOMAIN`, `SERVFAIL`, `REFUSED`, `FORMERR`, `NOTIMP`, `RCODE n`, `timeout`, `link down`,
    /// `dns: ...` for a malformed answer.
    pub async fn dns_query(&mut self, server: Ipv4Addr, name: &str, within: Duration) -> Result<Vec<Ipv4Addr>, String> {
        let deadline = Instant::now() + within;
        let id = fastrand::u16(..);
        let query = dns_query_packet(id, name)?;
        let reply = self
            .udp_run(SocketAddrV4::new(server, 53), &query, Some(DNS_RETRY), deadline, |reply| {
                reply.len() >= 12 && u16::from_be_bytes([reply[0], reply[1]]) == id && reply[2] & 0x80 != 0
            })
            .await
            .map_err(|e| {
                if e.starts_with("timeout") {
                    format!("timeout: no DNS answer for {name} from {server} within {within:?}")
                } else {
                    e
                }
            })?;
        parse_dns_answer(&reply)
    }

    /// UDP: sends one datagram of `payload` (at most 1472 octets) to `addr` and returns the
    /// first datagram that comes back from it.
    pub async fn udp_exchange(
        &mut self,
        addr: SocketAddrV4,
        payload: &[u8],
        within: Duration,
    ) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + within;
        self.udp_run(addr, payload, None, deadline, |_| true).await.map_err(|e| {
            if e.starts_with("timeout") { format!("timeout: no datagram from {addr} within {within:?}") } else { e }
        })
    }

    /// An ICMP echo request (32 octets of data) to `addr`; the round trip once the matching
    /// reply comes.
    pub async fn ping(&mut self, addr: Ipv4Addr, within: Duration) -> Result<Duration, String> {
        let deadline = Instant::now() + within;
        self.alive()?;
        let mut socket = icmp::Socket::new(
            icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 4], vec![0; 4096]),
            icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 4], vec![0; 4096]),
        );
        let ident = fastrand::u16(..);
        socket.bind(icmp::Endpoint::Ident(ident)).map_err(|e| format!("icmp bind: {e}"))?;
        self.ping_seq = self.ping_seq.wrapping_add(1);
        let seq_no = self.ping_seq;
        let data = *b"vmodem ppp host echo 0123456789!";
        let repr = Icmpv4Repr::EchoRequest { ident, seq_no, data: &data };
        let buf =
            socket.send(repr.buffer_len(), IpAddress::Ipv4(addr)).map_err(|e| format!("icmp send to {addr}: {e}"))?;
        repr.emit(&mut Icmpv4Packet::new_unchecked(buf), &ChecksumCapabilities::default());
        let handle = self.sockets.add(socket);
        let sent = Instant::now();
        let result = loop {
            let socket = self.sockets.get_mut::<icmp::Socket>(handle);
            let mut replied = false;
            while let Ok((payload, from)) = socket.recv() {
                let Ok(packet) = Icmpv4Packet::new_checked(payload) else { continue };
                let Ok(reply) = Icmpv4Repr::parse(&packet, &ChecksumCapabilities::default()) else { continue };
                if let Icmpv4Repr::EchoReply { ident: i, seq_no: s, data: d } = reply
                    && from == IpAddress::Ipv4(addr)
                    && i == ident
                    && s == seq_no
                    && d == data
                {
                    replied = true;
                }
            }
            if replied {
                break Ok(sent.elapsed());
            }
            if let Err(e) = self.alive() {
                break Err(e);
            }
            if Instant::now() >= deadline {
                break Err(format!("timeout: no echo reply from {addr} within {within:?}"));
            }
            if let Err(e) = self.step(deadline).await {
                break Err(e);
            }
        };
        self.sockets.remove(handle);
        self.settle().await;
        result
    }

    /// Services the link until the modem ends it (an LCP or IPCP Terminate-Request, `NO
    /// CARRIER` on the line, end of file); returns why. `Err` (`timeout`) if it is still up after
    /// `within`.
    pub async fn wait_down(&mut self, within: Duration) -> Result<String, String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(reason) = self.down.clone() {
                // ppproto's Terminate-Ack may still be queued.
                self.settle().await;
                return Ok(reason);
            }
            if Instant::now() >= deadline {
                return Err(format!("timeout: the link is still up after {within:?}"));
            }
            self.step(deadline).await?;
        }
    }

    /// Keeps reading the line (and servicing the link while it is up) until the text outside
    /// PPP frames ([`PppHost::line_text`]) contains `needle`, e.g. `NO CARRIER` after the modem
    /// ended the link. `Err` on `timeout` or if the line closes first.
    pub async fn wait_text(&mut self, needle: &str, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            if self.line_text().contains(needle) {
                self.settle().await;
                return Ok(());
            }
            if self.eof {
                return Err(format!("line closed before {needle:?}; line text: {:?}", self.line_text()));
            }
            if Instant::now() >= deadline {
                return Err(format!("timeout: no {needle:?} within {within:?}; line text: {:?}", self.line_text()));
            }
            self.step(deadline).await?;
        }
    }

    /// Ends the link from the host's side: sends LCP Terminate-Request (every 3 s until
    /// answered), acks a Terminate-Request of the modem's meanwhile, and returns the line once
    /// the modem's Terminate-Ack has been read. Nothing after the Ack's closing flag is read, so
    /// the modem's `NO CARRIER` is the caller's to read next.
    pub async fn terminate(mut self, within: Duration) -> Result<S, String> {
        let deadline = Instant::now() + within;
        if let Some(reason) = &self.down {
            return Err(format!("link down already: {reason}"));
        }
        self.flush(deadline).await?;
        self.scan.collect = true;
        self.scan.frames.clear();
        self.tracing = true;
        let id = fastrand::u8(..);
        let request = hdlc_frame(&lcp_packet(TERMINATE_REQUEST, id));
        let mut sends = 0;
        let mut next_send = Instant::now();
        let mut byte = [0u8; 1];
        loop {
            while let Some(frame) = self.scan.frames.pop_front() {
                self.note("rx", &frame);
                let Some((protocol, packet)) = split_frame(&frame) else { continue };
                if protocol != LCP || packet.len() < 4 {
                    continue;
                }
                match packet[0] {
                    TERMINATE_ACK => return Ok(self.rd.unsplit(self.wr)),
                    TERMINATE_REQUEST => {
                        let ack = lcp_packet(TERMINATE_ACK, packet[1]);
                        self.note("tx", &ack);
                        self.write_now(&hdlc_frame(&ack), deadline).await?;
                    }
                    _ => {}
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "timeout: no LCP Terminate-Ack within {within:?} ({sends} Terminate-Request sent); {}",
                    self.context()
                ));
            }
            if now >= next_send {
                self.note("tx", &lcp_packet(TERMINATE_REQUEST, id));
                self.write_now(&request, deadline).await?;
                sends += 1;
                next_send = now + TERMINATE_RESTART;
            }
            // One octet at a time: nothing past the Terminate-Ack is taken from the line.
            match timeout_at(deadline.min(next_send), self.rd.read(&mut byte)).await {
                Err(_) => {}
                Ok(Ok(0)) => return Err(format!("line closed before the Terminate-Ack; {}", self.context())),
                Ok(Ok(_)) => self.scan.feed(&byte),
                Ok(Err(e)) => return Err(format!("line: {e}")),
            }
        }
    }

    /// Gives the line back as it is, the link left up (for `+++` tests: the caller waits the
    /// guard time and writes `+++`). Bytes already read were handled; what the methods queue for
    /// the line is written before they return.
    pub fn into_line(self) -> S {
        self.rd.unsplit(self.wr)
    }

    // ---- the driving loop ----

    /// Negotiates until IPCP is up.
    async fn negotiate(&mut self, deadline: Instant, within: Duration) -> Result<(), String> {
        let mut phase = self.ppp.status().phase;
        let mut phase_since = Instant::now();
        let mut retransmits = 0;
        loop {
            self.check_negotiation()?;
            let status = self.ppp.status();
            if status.phase == Phase::Open
                && let Some(ipv4) = status.ipv4
            {
                let Some(address) = ipv4.address else {
                    return Err(format!("ppp: IPCP opened without an address for the host; {}", self.context()));
                };
                self.address = address;
                self.peer = ipv4.peer_address.unwrap_or(DEFAULT_PEER);
                self.dns = ipv4.dns_servers.iter().flatten().copied().collect();
                self.iface.update_ip_addrs(|addrs| {
                    addrs.clear();
                    let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(address), 32));
                });
                // Medium::Ip needs a route for egress; the next hop is never looked up.
                self.iface.routes_mut().add_default_ipv4_route(self.peer).map_err(|_| "route table full")?;
                self.up = true;
                self.text_mark = self.scan.text_len();
                self.tracing = false;
                self.scan.collect = false;
                self.scan.frames.clear();
                return self.flush(deadline).await;
            }
            if status.phase == Phase::Dead {
                return Err(format!("ppp: the modem closed the link during negotiation; {}", self.context()));
            }
            if let Some(reason) = &self.down {
                return Err(format!("link down during negotiation: {reason}; {}", self.context()));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "timeout: IPCP not up within {within:?} (phase {:?}, {retransmits} retransmissions); {}",
                    status.phase,
                    self.context()
                ));
            }
            if status.phase != phase {
                phase = status.phase;
                phase_since = now;
            }
            // ppproto never retransmits: a request the modem missed (one sent before it switched
            // to PPP) would stall the phase for good. Its last request goes again, as pppd's
            // restart timer would send it.
            if now >= phase_since + RESTART
                && let Some(request) = self.last_request.clone()
            {
                retransmits += 1;
                self.push_trace(format!("-- {phase:?} for {RESTART:?}: the last request again"));
                self.out.extend_from_slice(&request);
                phase_since = now;
            }
            self.step(deadline.min(phase_since + RESTART)).await?;
        }
    }

    /// Fails once the modem answered PAP with Authenticate-Nak.
    fn check_negotiation(&mut self) -> Result<(), String> {
        match &self.auth_failed {
            Some(message) => Err(format!("ppp: PAP Authenticate-Nak ({message:?}); {}", self.context())),
            None => Ok(()),
        }
    }

    /// One turn: services ppproto and smoltcp, then waits until `until` (or smoltcp's next
    /// timer) for the line to bring bytes or take queued ones.
    async fn step(&mut self, until: Instant) -> Result<(), String> {
        self.pump()?;
        if self.eof {
            return Ok(());
        }
        let mut wait = until.saturating_duration_since(Instant::now());
        if self.up {
            let now = self.now();
            if let Some(delay) = self.iface.poll_delay(now, &self.sockets) {
                wait = wait.min(Duration::from_micros(delay.total_micros()));
            }
        }
        let PppHost { rd, wr, out, rbuf, .. } = self;
        let event = tokio::select! {
            read = rd.read(rbuf) => Event::Read(read),
            wrote = wr.write(out), if !out.is_empty() => Event::Wrote(wrote),
            () = sleep(wait) => Event::Idle,
        };
        match event {
            Event::Read(Ok(0)) => {
                self.eof = true;
                self.set_down("the line closed (end of file)".into());
            }
            Event::Read(Ok(n)) => {
                let buf = std::mem::take(&mut self.rbuf);
                let result = self.input(&buf[..n]);
                self.rbuf = buf;
                result?;
            }
            Event::Read(Err(e)) => return Err(format!("line: read: {e}")),
            Event::Wrote(Ok(0)) => return Err("line: write took nothing".into()),
            Event::Wrote(Ok(n)) => {
                self.out.drain(..n);
                if self.out.is_empty() {
                    self.wr.flush().await.map_err(|e| format!("line: flush: {e}"))?;
                }
            }
            Event::Wrote(Err(e)) => return Err(format!("line: write: {e}")),
            Event::Idle => {}
        }
        self.pump()
    }

    /// Steps until everything queued for the line is written.
    async fn flush(&mut self, deadline: Instant) -> Result<(), String> {
        while !self.out.is_empty() {
            if Instant::now() >= deadline {
                return Err("timeout: the line did not take our bytes".into());
            }
            if self.eof {
                return Err("line closed".into());
            }
            self.step(deadline).await?;
        }
        Ok(())
    }

    /// Writes what is queued for the line (best effort, 1 s at most): called before a method
    /// returns so that acks, FINs and ppproto's answers are not left behind.
    async fn settle(&mut self) {
        let _ = self.flush(Instant::now() + Duration::from_secs(1)).await;
    }

    /// Writes `bytes` at once (used while terminating, when nothing else is queued).
    async fn write_now(&mut self, bytes: &[u8], deadline: Instant) -> Result<(), String> {
        match timeout_at(deadline, async {
            self.wr.write_all(bytes).await?;
            self.wr.flush().await
        })
        .await
        {
            Err(_) => Err("timeout: the line did not take our bytes".into()),
            Ok(Err(e)) => Err(format!("line: write: {e}")),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// The modem's bytes: to the scanner and to ppproto.
    fn input(&mut self, data: &[u8]) -> Result<(), String> {
        self.scan.feed(data);
        if self.scan.collect {
            while let Some(frame) = self.scan.frames.pop_front() {
                self.note("rx", &frame);
                if let Some((PAP, packet)) = split_frame(&frame)
                    && packet.first() == Some(&PAP_NAK)
                {
                    let message = packet.get(5..).map(String::from_utf8_lossy).unwrap_or_default();
                    self.auth_failed.get_or_insert(message.into_owned());
                }
            }
        }
        let mut rest = data;
        while !rest.is_empty() {
            let n = self.ppp_call(|ppp, _, rx| ppp.consume(rest, rx))?;
            rest = &rest[n.min(rest.len())..];
            self.poll_ppp()?;
        }
        if self.up && self.down.is_none() && self.scan.take_text_changed() {
            let text = self.scan.text();
            let since = text.get(self.text_mark..).unwrap_or_default();
            if since.windows(10).any(|w| w == b"NO CARRIER") {
                self.set_down("the modem said NO CARRIER".into());
            }
        }
        Ok(())
    }

    /// Runs ppproto until it has nothing to do, then smoltcp; queues what both send.
    fn pump(&mut self) -> Result<(), String> {
        self.poll_ppp()?;
        if self.up && self.down.is_none() {
            let now = self.now();
            self.iface.poll(now, &mut self.dev, &mut self.sockets);
            while let Some(packet) = self.dev.tx.pop_front() {
                let sent = self.ppp_call(|ppp, tx, _| ppp.send(&packet, tx))?;
                let n =
                    sent.map_err(|_| format!("ppp: a {}-octet packet does not fit the frame buffer", packet.len()))?;
                self.out.extend_from_slice(&self.ppp_tx[..n]);
            }
        }
        Ok(())
    }

    /// Polls ppproto until it is idle: its frames to the line, IPv4 packets to smoltcp.
    fn poll_ppp(&mut self) -> Result<(), String> {
        for _ in 0..64 {
            match self.ppp_call(|ppp, tx, rx| ppp.poll(tx, rx))? {
                PPPoSAction::None => break,
                PPPoSAction::Transmit(n) => {
                    // Control frames only (IPv4 goes through PPPoS::send).
                    for frame in decode_frames(&self.ppp_tx[..n]) {
                        self.note("tx", &frame);
                        if let Some((LCP | PAP | IPCP, [1, ..])) = split_frame(&frame) {
                            self.last_request = Some(hdlc_frame(&frame));
                        }
                    }
                    self.out.extend_from_slice(&self.ppp_tx[..n]);
                }
                PPPoSAction::Received(range) => {
                    if self.up
                        && self.down.is_none()
                        && let Some(packet) = self.ppp_rx.get(range)
                    {
                        // smoltcp is built without auto-icmp-echo-reply: echoes are answered here.
                        match echo_reply(packet, self.address) {
                            Some(reply) => self.dev.tx.push_back(reply),
                            None => self.dev.rx.push_back(packet.to_vec()),
                        }
                    }
                }
            }
        }
        if self.up && self.down.is_none() && !self.ppp_broken {
            let status = self.ppp.status();
            if status.phase != Phase::Open || status.ipv4.is_none() {
                self.set_down("the modem closed the PPP link (Terminate-Request)".into());
            }
        }
        Ok(())
    }

    /// Calls ppproto, turning a panic (it has a few on malformed input) into `Err`.
    fn ppp_call<R>(&mut self, f: impl FnOnce(&mut PPPoS<'static>, &mut [u8], &mut [u8]) -> R) -> Result<R, String> {
        if self.ppp_broken {
            return Err("ppp: ppproto failed earlier on the modem's input".into());
        }
        let (ppp, tx, rx) = (&mut self.ppp, &mut self.ppp_tx, &mut self.ppp_rx);
        match catch_unwind(AssertUnwindSafe(|| f(ppp, tx, rx))) {
            Ok(r) => Ok(r),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                self.ppp_broken = true;
                let reason = format!("ppp: ppproto panicked on the modem's input ({what})");
                self.set_down(reason.clone());
                Err(format!("{reason}; {}", self.context()))
            }
        }
    }

    fn now(&self) -> smoltcp::time::Instant {
        smoltcp::time::Instant::from_millis(self.epoch.elapsed().as_millis() as i64)
    }

    fn alive(&self) -> Result<(), String> {
        match &self.down {
            Some(reason) => Err(format!("link down: {reason}")),
            None => Ok(()),
        }
    }

    fn set_down(&mut self, reason: String) {
        if self.down.is_none() {
            self.down = Some(reason);
        }
    }

    fn note(&mut self, direction: &str, frame: &[u8]) {
        if self.tracing {
            self.push_trace(describe_frame(direction, frame));
        }
    }

    fn push_trace(&mut self, line: String) {
        if self.trace.len() == TRACE_CAP {
            self.trace.pop_front();
        }
        self.trace.push_back(line);
    }

    /// What an error message adds: the control frames seen and the line's text.
    fn context(&self) -> String {
        let frames: Vec<&str> = self.trace.iter().map(String::as_str).collect();
        format!("frames:\n  {}\nline text: {:?}", frames.join("\n  "), self.line_text())
    }

    // ---- TCP and UDP ----

    async fn tcp_run(
        &mut self,
        handle: SocketHandle,
        addr: SocketAddrV4,
        request: &[u8],
        sink: &mut impl FnMut(&[u8]),
        deadline: Instant,
        within: Duration,
    ) -> Result<u64, String> {
        let mut sent = 0;
        let mut total = 0u64;
        let mut established = false;
        let mut peer_fin = false;
        let mut closed_at: Option<Instant> = None;
        loop {
            let socket = self.sockets.get_mut::<tcp::Socket>(handle);
            while socket.can_recv() {
                let n = socket
                    .recv(|bytes| {
                        sink(bytes);
                        (bytes.len(), bytes.len())
                    })
                    .map_err(|e| format!("tcp recv: {e}"))?;
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
            let state = socket.state();
            match state {
                tcp::State::Closed if !established => return Err(format!("refused: {addr} answered the SYN with RST")),
                tcp::State::Closed if !peer_fin => {
                    return Err(format!("reset: {addr} reset the connection after {total} bytes"));
                }
                tcp::State::Closed | tcp::State::TimeWait => return Ok(total),
                tcp::State::SynSent | tcp::State::SynReceived | tcp::State::Listen => {}
                tcp::State::CloseWait | tcp::State::LastAck | tcp::State::Closing => {
                    established = true;
                    peer_fin = true;
                }
                tcp::State::Established | tcp::State::FinWait1 | tcp::State::FinWait2 => established = true,
            }
            if socket.may_send() && sent < request.len() {
                sent += socket.send_slice(&request[sent..]).unwrap_or(0);
            }
            if state == tcp::State::CloseWait && !socket.can_recv() {
                // The whole response is in: close our side too.
                socket.close();
                closed_at.get_or_insert_with(Instant::now);
            }
            if let Some(at) = closed_at
                && at.elapsed() >= CLOSE_LINGER
            {
                return Ok(total);
            }
            if let Some(reason) = &self.down {
                return Err(format!("link down after {total} bytes: {reason}"));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "timeout: {addr} not done within {within:?} (state {state}, {sent} of {} request bytes sent, {total} bytes received)",
                    request.len()
                ));
            }
            self.step(deadline).await?;
        }
    }

    /// Sends `payload` to `addr` from a fresh port (again every `retry`, if given) and returns
    /// the first datagram from `addr` that `accept` takes.
    async fn udp_run(
        &mut self,
        addr: SocketAddrV4,
        payload: &[u8],
        retry: Option<Duration>,
        deadline: Instant,
        mut accept: impl FnMut(&[u8]) -> bool,
    ) -> Result<Vec<u8>, String> {
        self.alive()?;
        if payload.len() > MAX_UDP_PAYLOAD {
            return Err(format!("udp: {} octets do not fit one datagram ({MAX_UDP_PAYLOAD} at most)", payload.len()));
        }
        let mut socket = udp::Socket::new(
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 8], vec![0; 64 * 1024]),
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 8], vec![0; 64 * 1024]),
        );
        socket.bind(local_port()).map_err(|e| format!("udp bind: {e}"))?;
        let handle = self.sockets.add(socket);
        let remote = IpEndpoint::new(IpAddress::Ipv4(*addr.ip()), addr.port());
        let mut next_send = Instant::now();
        let result = loop {
            let socket = self.sockets.get_mut::<udp::Socket>(handle);
            let mut reply = None;
            while let Ok((data, meta)) = socket.recv() {
                if reply.is_none() && meta.endpoint == remote && accept(data) {
                    reply = Some(data.to_vec());
                }
            }
            if let Some(reply) = reply {
                break Ok(reply);
            }
            let now = Instant::now();
            if now >= next_send {
                if let Err(e) = socket.send_slice(payload, remote) {
                    break Err(format!("udp send to {addr}: {e}"));
                }
                next_send = match retry {
                    Some(every) => now + every,
                    None => deadline,
                };
            }
            if let Err(e) = self.alive() {
                break Err(e);
            }
            if now >= deadline {
                break Err(format!("timeout: no datagram from {addr}"));
            }
            if let Err(e) = self.step(deadline.min(next_send)).await {
                break Err(e);
            }
        };
        self.sockets.remove(handle);
        self.settle().await;
        result
    }
}

enum Event {
    Read(std::io::Result<usize>),
    Wrote(std::io::Result<usize>),
    Idle,
}

/// The ICMP echo reply to `packet` if it is an unfragmented echo request to `me` with good
/// checksums (as any IP host answers: RFC 1122 §3.2.2.6).
fn echo_reply(packet: &[u8], me: Ipv4Addr) -> Option<Vec<u8>> {
    let header = usize::from(packet.first()? & 0x0F) * 4;
    let total = usize::from(u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]));
    if packet[0] >> 4 != 4 || header < 20 || total < header + 8 || total > packet.len() {
        return None;
    }
    let fragmented = u16::from_be_bytes([packet[6], packet[7]]) & 0x3FFF != 0;
    if fragmented || packet[9] != 1 || packet[16..20] != me.octets() || packet[header] != 8 || packet[header + 1] != 0 {
        return None;
    }
    if internet_checksum(&packet[..header]) != 0 || internet_checksum(&packet[header..total]) != 0 {
        return None;
    }
    let mut reply = packet[..total].to_vec();
    reply.copy_within(12..16, 16);
    reply[12..16].copy_from_slice(&me.octets());
    reply[8] = 64;
    reply[10..12].fill(0);
    let sum = internet_checksum(&reply[..header]);
    reply[10..12].copy_from_slice(&sum.to_be_bytes());
    reply[header] = 0;
    reply[header + 2..header + 4].fill(0);
    let sum = internet_checksum(&reply[header..]);
    reply[header + 2..header + 4].copy_from_slice(&sum.to_be_bytes());
    Some(reply)
}

/// The Internet checksum (RFC 1071): zero over data that includes a good checksum.
fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// A random ephemeral port, so that a repeated exchange never meets the last one's TIME-WAIT.
fn local_port() -> u16 {
    fastrand::u16(49152..=65535)
}

// ---- smoltcp's device: two queues of IPv4 packets ----

#[derive(Default)]
struct QueueDevice {
    /// From the modem, for smoltcp.
    rx: VecDeque<Vec<u8>>,
    /// From smoltcp, for the modem.
    tx: VecDeque<Vec<u8>>,
}

struct QueueRxToken(Vec<u8>);

impl phy::RxToken for QueueRxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

struct QueueTxToken<'a>(&'a mut VecDeque<Vec<u8>>);

impl phy::TxToken for QueueTxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut packet = vec![0; len];
        let r = f(&mut packet);
        self.0.push_back(packet);
        r
    }
}

impl phy::Device for QueueDevice {
    type RxToken<'a> = QueueRxToken;
    type TxToken<'a> = QueueTxToken<'a>;

    fn receive(&mut self, _: smoltcp::time::Instant) -> Option<(QueueRxToken, QueueTxToken<'_>)> {
        let packet = self.rx.pop_front()?;
        Some((QueueRxToken(packet), QueueTxToken(&mut self.tx)))
    }

    fn transmit(&mut self, _: smoltcp::time::Instant) -> Option<QueueTxToken<'_>> {
        Some(QueueTxToken(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = MTU;
        caps
    }
}

// ---- the line as the host sees it: frames and text (RFC 1662) ----

/// Splits the modem's bytes at flags: a run that starts like a frame (0xFF, or an escape) is
/// PPP, anything else is text. While `collect` is set, frames are also decoded and checked.
#[derive(Default)]
struct LineScan {
    /// The current run's bytes (text, or a frame being collected).
    run: Vec<u8>,
    kind: RunKind,
    /// The current frame run is kept whole (collect was set when it began).
    keep: bool,
    text: Vec<u8>,
    text_changed: bool,
    collect: bool,
    /// Decoded frames with good FCS, without the FCS.
    frames: VecDeque<Vec<u8>>,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum RunKind {
    #[default]
    Empty,
    Text,
    Frame,
}

impl LineScan {
    fn feed(&mut self, data: &[u8]) {
        for &b in data {
            if b == 0x7E {
                self.end_run();
                continue;
            }
            match self.kind {
                RunKind::Empty => {
                    if b == 0xFF || b == 0x7D {
                        self.kind = RunKind::Frame;
                        self.keep = self.collect;
                        if self.keep {
                            self.run.push(b);
                        }
                    } else {
                        self.kind = RunKind::Text;
                        self.run.push(b);
                        self.text_changed = true;
                    }
                }
                RunKind::Text => {
                    if self.text.len() + self.run.len() < TEXT_CAP {
                        self.run.push(b);
                        self.text_changed = true;
                    }
                }
                RunKind::Frame => {
                    if self.keep && self.run.len() < 2 * PPP_RX {
                        self.run.push(b);
                    }
                }
            }
        }
    }

    fn end_run(&mut self) {
        match self.kind {
            RunKind::Empty => {}
            RunKind::Text => self.text.append(&mut self.run),
            RunKind::Frame => {
                if self.keep
                    && let Some(frame) = decode_frame(&self.run)
                {
                    self.frames.push_back(frame);
                }
            }
        }
        self.run.clear();
        self.kind = RunKind::Empty;
        self.keep = false;
    }

    /// The text so far, with a run not yet ended by a flag.
    fn text(&self) -> Vec<u8> {
        let mut text = self.text.clone();
        if self.kind == RunKind::Text {
            text.extend_from_slice(&self.run);
        }
        text
    }

    fn text_len(&self) -> usize {
        self.text.len() + if self.kind == RunKind::Text { self.run.len() } else { 0 }
    }

    fn take_text_changed(&mut self) -> bool {
        std::mem::take(&mut self.text_changed)
    }
}

/// FCS-16 (RFC 1662 §C.2).
fn fcs16(mut fcs: u16, data: &[u8]) -> u16 {
    for &b in data {
        fcs ^= u16::from(b);
        for _ in 0..8 {
            fcs = if fcs & 1 != 0 { (fcs >> 1) ^ 0x8408 } else { fcs >> 1 };
        }
    }
    fcs
}

/// One run between flags, unescaped; its content without the FCS if the FCS is good.
fn decode_frame(run: &[u8]) -> Option<Vec<u8>> {
    let mut content = Vec::with_capacity(run.len());
    let mut escaped = false;
    for &b in run {
        if escaped {
            content.push(b ^ 0x20);
            escaped = false;
        } else if b == 0x7D {
            escaped = true;
        } else {
            content.push(b);
        }
    }
    if escaped || content.len() < 4 || fcs16(0xFFFF, &content) != 0xF0B8 {
        return None;
    }
    content.truncate(content.len() - 2);
    Some(content)
}

/// The good frames in a stretch of complete frames (ppproto's output).
fn decode_frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split(|&b| b == 0x7E).filter(|run| !run.is_empty()).filter_map(decode_frame).collect()
}

/// Frames `content` (address and control included): FCS, every control character escaped
/// (the default ACCM, which any receiver takes), flags both ends.
fn hdlc_frame(content: &[u8]) -> Vec<u8> {
    let fcs = !fcs16(0xFFFF, content);
    let mut out = vec![0x7E];
    for &b in content.iter().chain(&fcs.to_le_bytes()) {
        if b < 0x20 || b == 0x7D || b == 0x7E {
            out.extend_from_slice(&[0x7D, b ^ 0x20]);
        } else {
            out.push(b);
        }
    }
    out.push(0x7E);
    out
}

/// An LCP packet without data: code, id, length 4.
fn lcp_packet(code: u8, id: u8) -> Vec<u8> {
    let mut content = vec![0xFF, 0x03];
    content.extend_from_slice(&LCP.to_be_bytes());
    content.extend_from_slice(&[code, id, 0, 4]);
    content
}

/// A frame's protocol and the rest, with or without address/control and protocol compression.
fn split_frame(frame: &[u8]) -> Option<(u16, &[u8])> {
    let rest = frame.strip_prefix(&[0xFF, 0x03]).unwrap_or(frame);
    match *rest {
        [short, ref rest @ ..] if short & 1 == 1 => Some((u16::from(short), rest)),
        [high, low, ref rest @ ..] => Some((u16::from_be_bytes([high, low]), rest)),
        _ => None,
    }
}

/// One line of the negotiation trace.
fn describe_frame(direction: &str, frame: &[u8]) -> String {
    let Some((protocol, packet)) = split_frame(frame) else {
        return format!("{direction} a frame too short: {}", hex(frame));
    };
    let name = match protocol {
        LCP => "LCP".to_string(),
        PAP => "PAP".to_string(),
        CHAP => "CHAP".to_string(),
        IPCP => "IPCP".to_string(),
        IPV4 => "IPv4".to_string(),
        0x8057 => "IPV6CP".to_string(),
        0x80FD => "CCP".to_string(),
        other => format!("protocol {other:#06x}"),
    };
    if protocol == IPV4 || packet.len() < 4 {
        return format!("{direction} {name}, {} octets", packet.len());
    }
    let code = match (protocol, packet[0]) {
        (PAP, 1) => "Authenticate-Request",
        (PAP, 2) => "Authenticate-Ack",
        (PAP, 3) => "Authenticate-Nak",
        (CHAP, 1) => "Challenge",
        (CHAP, 2) => "Response",
        (CHAP, 3) => "Success",
        (CHAP, 4) => "Failure",
        (_, 1) => "Configure-Request",
        (_, 2) => "Configure-Ack",
        (_, 3) => "Configure-Nak",
        (_, 4) => "Configure-Reject",
        (_, 5) => "Terminate-Request",
        (_, 6) => "Terminate-Ack",
        (_, 7) => "Code-Reject",
        (_, 8) => "Protocol-Reject",
        (_, 9) => "Echo-Request",
        (_, 10) => "Echo-Reply",
        (_, 11) => "Discard-Request",
        _ => "code ?",
    };
    format!("{direction} {name} {code} id {}: {}", packet[1], hex(&packet[4..]))
}

fn hex(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(40).map(|b| format!("{b:02x}")).collect();
    let more = if bytes.len() > 40 { " ..." } else { "" };
    format!("{}{more}", shown.join(" "))
}

// ---- dialling ----

/// In the text after the dial command: `Ok(offset after the CONNECT line)`, `Err(result line)`
/// for a failure, None while undecided.
fn dial_result(got: &[u8]) -> Option<Result<usize, String>> {
    let mut start = 0;
    while let Some(newline) = got[start..].iter().position(|&b| b == b'\n') {
        let end = start + newline + 1;
        let line = String::from_utf8_lossy(&got[start..end]);
        let line = line.trim();
        if line.starts_with("CONNECT") {
            return Some(Ok(end));
        }
        if matches!(line, "NO CARRIER" | "ERROR" | "BUSY" | "NO ANSWER" | "NO DIALTONE")
            || line.starts_with("+CME ERROR")
        {
            return Some(Err(line.to_string()));
        }
        start = end;
    }
    None
}

// ---- HTTP ----

/// Status and body of a whole HTTP/1.x response.
fn parse_http_response(raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let Some(head_end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Err(format!("http: no complete header in {} bytes: {:?}", raw.len(), lossy_prefix(raw)));
    };
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let body = &raw[head_end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split(' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err(format!("http: bad status line {status_line:?}"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(format!("http: bad status line {status_line:?}"));
    }
    let status: u16 = code.parse().map_err(|_| format!("http: bad status line {status_line:?}"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") && value.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(|_| format!("http: bad Content-Length {value:?}"))?);
        }
    }
    let body = if chunked {
        dechunk(body)?
    } else if let Some(length) = length {
        if body.len() < length {
            return Err(format!("http: body truncated: {} of {length} bytes", body.len()));
        }
        body[..length].to_vec()
    } else {
        body.to_vec()
    };
    Ok((status, body))
}

/// A chunked body's data (RFC 9112 §7.1); trailers are ignored.
fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return Err("http: chunked body ends early".into());
        };
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| format!("http: bad chunk size {size_text:?}"))?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if raw.len() < size + 2 || &raw[size..size + 2] != b"\r\n" {
            return Err("http: chunked body ends early".into());
        }
        body.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

fn lossy_prefix(raw: &[u8]) -> String {
    String::from_utf8_lossy(&raw[..raw.len().min(200)]).into_owned()
}

// ---- DNS (RFC 1035) ----

/// A recursive A query for `name`.
fn dns_query_packet(id: u16, name: &str) -> Result<Vec<u8>, String> {
    let mut packet = id.to_be_bytes().to_vec();
    // RD; one question.
    packet.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return Err(format!("dns: bad name {name:?}"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("dns: bad name {name:?}"));
        }
        packet.push(label.len() as u8);
        packet.extend_from_slice(label.as_bytes());
    }
    packet.push(0);
    // QTYPE A, QCLASS IN.
    packet.extend_from_slice(&[0, 1, 0, 1]);
    Ok(packet)
}

/// The A records of an answer, or the RCODE's name.
fn parse_dns_answer(reply: &[u8]) -> Result<Vec<Ipv4Addr>, String> {
    let malformed = || format!("dns: malformed answer ({} octets)", reply.len());
    if reply.len() < 12 {
        return Err(malformed());
    }
    match reply[3] & 0x0F {
        0 => {}
        1 => return Err("FORMERR".into()),
        2 => return Err("SERVFAIL".into()),
        3 => return Err("NXDOMAIN".into()),
        4 => return Err("NOTIMP".into()),
        5 => return Err("REFUSED".into()),
        rcode => return Err(format!("RCODE {rcode}")),
    }
    let questions = u16::from_be_bytes([reply[4], reply[5]]);
    let answers = u16::from_be_bytes([reply[6], reply[7]]);
    let mut pos = 12;
    for _ in 0..questions {
        pos = skip_dns_name(reply, pos).ok_or_else(malformed)? + 4;
    }
    let mut addresses = Vec::new();
    for _ in 0..answers {
        pos = skip_dns_name(reply, pos).ok_or_else(malformed)?;
        let fixed = reply.get(pos..pos + 10).ok_or_else(malformed)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let class = u16::from_be_bytes([fixed[2], fixed[3]]);
        let length = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let data = reply.get(pos + 10..pos + 10 + length).ok_or_else(malformed)?;
        if rtype == 1 && class == 1 && length == 4 {
            addresses.push(Ipv4Addr::new(data[0], data[1], data[2], data[3]));
        }
        pos += 10 + length;
    }
    Ok(addresses)
}

/// Where the name at `pos` ends (labels, possibly ending in a compression pointer).
fn skip_dns_name(packet: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *packet.get(pos)?;
        match len {
            0 => return Some(pos + 1),
            l if l & 0xC0 == 0xC0 => {
                packet.get(pos + 1)?;
                return Some(pos + 2);
            }
            l if l & 0xC0 == 0 => pos += 1 + usize::from(l),
            _ => return None,
        }
    }
}
