//! The host side of 27.010 multiplexing for the integration tests, written from the standard
//! (3GPP TS 27.010 §5, basic option) apart from vmodem's own multiplexer, as Zephyr's
//! `modem_cmux` and esp-modem are: it opens channels with SABM and waits for UA, answers the
//! modem's MSC commands, hands each channel's data to a stream of its own (so a PPP client and
//! an AT chat run side by side, each on its DLCI), cuts what it sends at N1, and closes down
//! with CLD. One task pumps the line; every wait is bounded.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The flag around every frame.
const FLAG: u8 = 0xF9;
/// Control octets, P/F set (§5.2.1.3).
const SABM: u8 = 0x3F;
const UA: u8 = 0x73;
const DM: u8 = 0x1F;
const DISC: u8 = 0x53;
const UIH: u8 = 0xEF;
/// Control channel message types, command form (§5.4.6.3).
const CLD_COMMAND: u8 = 0xC3;
const CLD_RESPONSE: u8 = 0xC1;
const MSC_COMMAND: u8 = 0xE3;
const MSC_RESPONSE: u8 = 0xE1;

/// The FCS (§5.2.1.6): CRC-8, reflected polynomial 0xE0, initial 0xFF, sent complemented.
fn fcs(octets: &[u8]) -> u8 {
    let mut crc = 0xFFu8;
    for &b in octets {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xE0 } else { crc >> 1 };
        }
    }
    0xFF - crc
}

/// A frame from the host (C/R 1 for its commands and its data, as Zephyr sends).
fn frame(dlci: u8, control: u8, info: &[u8]) -> Vec<u8> {
    let mut header = vec![(dlci << 2) | 0x03, control];
    if info.len() < 128 {
        header.push(((info.len() as u8) << 1) | 1);
    } else {
        header.extend([((info.len() & 0x7F) << 1) as u8, (info.len() >> 7) as u8]);
    }
    let check = if control & !0x10 == UIH & !0x10 { fcs(&header) } else { fcs(&[header.as_slice(), info].concat()) };
    [&[FLAG][..], &header, info, &[check, FLAG]].concat()
}

/// A frame the host read: its DLCI, control octet and information.
struct Received {
    dlci: u8,
    control: u8,
    info: Vec<u8>,
}

/// Finds the modem's frames in the line's bytes (length-counted, FCS checked).
#[derive(Default)]
struct Parser {
    buf: Vec<u8>,
}

impl Parser {
    fn push(&mut self, bytes: &[u8], out: &mut Vec<Received>) {
        self.buf.extend_from_slice(bytes);
        loop {
            let Some(start) = self.buf.iter().position(|&b| b == FLAG) else {
                self.buf.clear();
                return;
            };
            self.buf.drain(..start);
            // Repeated flags between frames.
            while self.buf.len() > 1 && self.buf[1] == FLAG {
                self.buf.remove(0);
            }
            if self.buf.len() < 4 {
                return;
            }
            let (address, control, l1) = (self.buf[1], self.buf[2], self.buf[3]);
            let (len, header) = if l1 & 1 == 1 {
                (usize::from(l1 >> 1), 3)
            } else {
                (usize::from(l1 >> 1) | usize::from(*self.buf.get(4).unwrap_or(&0)) << 7, 4)
            };
            let total = 1 + header + len + 2;
            if self.buf.len() < total {
                return;
            }
            let info = self.buf[1 + header..1 + header + len].to_vec();
            let good = self.buf[total - 1] == FLAG && {
                let covered = if control & !0x10 == UIH & !0x10 {
                    &self.buf[1..1 + header]
                } else {
                    &self.buf[1..1 + header + len]
                };
                fcs(covered) == self.buf[total - 2]
            };
            if good {
                out.push(Received { dlci: address >> 2, control, info });
                // The closing flag may open the next frame.
                self.buf.drain(..total - 1);
            } else {
                self.buf.drain(..1);
            }
        }
    }
}

/// What the test asks of the pump.
enum Ask {
    /// Send this frame and report the modem's answer on `dlci` (UA, DM, or a control UIH).
    Frame { bytes: Vec<u8>, dlci: u8, reply: oneshot::Sender<Received> },
}

/// A multiplexed line `S`: channels as streams, the control channel through the pump, which
/// runs while this lives.
pub struct CmuxHost<S> {
    asks: mpsc::Sender<Ask>,
    channels: mpsc::Sender<(u8, DuplexStream)>,
    pump: JoinHandle<(ReadHalf<S>, WriteHalf<S>)>,
    stop: oneshot::Sender<()>,
    frames: Arc<AtomicU64>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> CmuxHost<S> {
    /// Starts multiplexing on `line` (the modem has answered `AT+CMUX` with `OK`), sending
    /// information fields of at most `n1` octets, and opens the control channel.
    pub async fn start(line: S, n1: usize, within: Duration) -> Result<CmuxHost<S>, String> {
        let (asks, asks_rx) = mpsc::channel(4);
        let (channels, channels_rx) = mpsc::channel(4);
        let (stop, stop_rx) = oneshot::channel();
        let frames = Arc::new(AtomicU64::new(0));
        let pump = tokio::spawn(pump(line, n1, asks_rx, channels_rx, stop_rx, frames.clone()));
        let host = CmuxHost { asks, channels, pump, stop, frames };
        host.expect(0, SABM, UA, within).await?;
        Ok(host)
    }

    /// Opens channel `dlci` (SABM, UA with F); its data is the returned stream's.
    pub async fn open(&self, dlci: u8, within: Duration) -> Result<DuplexStream, String> {
        self.expect(dlci, SABM, UA, within).await?;
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        self.channels.send((dlci, theirs)).await.map_err(|_| "the pump stopped".to_string())?;
        Ok(ours)
    }

    /// Closes channel `dlci` (DISC, UA with F).
    pub async fn close(&self, dlci: u8, within: Duration) -> Result<(), String> {
        self.expect(dlci, DISC, UA, within).await
    }

    /// Sends a frame of `control` on `dlci` and waits for the answer `want`.
    async fn expect(&self, dlci: u8, control: u8, want: u8, within: Duration) -> Result<(), String> {
        let answer = self.ask(frame(dlci, control, &[]), dlci, within).await?;
        if answer.control != want {
            let got = if answer.control == DM { "DM".to_string() } else { format!("{:#04x}", answer.control) };
            return Err(format!("DLCI {dlci}: {control:#04x} answered {got}"));
        }
        Ok(())
    }

    async fn ask(&self, bytes: Vec<u8>, dlci: u8, within: Duration) -> Result<Received, String> {
        let (reply, answer) = oneshot::channel();
        self.asks.send(Ask::Frame { bytes, dlci, reply }).await.map_err(|_| "the pump stopped".to_string())?;
        tokio::time::timeout(within, answer)
            .await
            .map_err(|_| format!("timeout: no answer on DLCI {dlci} within {within:?}"))?
            .map_err(|_| "the pump stopped".to_string())
    }

    /// How many frames the modem has sent so far.
    pub fn frames(&self) -> &AtomicU64 {
        &self.frames
    }

    /// The close-down (CLD on DLCI 0), its response awaited; the line, plain again.
    pub async fn close_down(self, within: Duration) -> Result<S, String> {
        let answer = self.ask(frame(0, UIH, &[CLD_COMMAND, 0x01]), 0, within).await?;
        if answer.info.first() != Some(&CLD_RESPONSE) {
            return Err(format!("CLD answered {:02x?}", answer.info));
        }
        let _ = self.stop.send(());
        let (rd, wr) = self.pump.await.map_err(|e| format!("the pump: {e}"))?;
        Ok(rd.unsplit(wr))
    }
}

/// Moves frames between the line and the channels' streams until stopped, counting the
/// modem's frames.
async fn pump<S: AsyncRead + AsyncWrite>(
    line: S,
    n1: usize,
    mut asks: mpsc::Receiver<Ask>,
    mut channels: mpsc::Receiver<(u8, DuplexStream)>,
    mut stop: oneshot::Receiver<()>,
    frames_seen: Arc<AtomicU64>,
) -> (ReadHalf<S>, WriteHalf<S>) {
    let (mut rd, mut wr) = tokio::io::split(line);
    let mut parser = Parser::default();
    let mut open: HashMap<u8, WriteHalf<DuplexStream>> = HashMap::new();
    let mut waiting: HashMap<u8, oneshot::Sender<Received>> = HashMap::new();
    let (from_channels_tx, mut from_channels) = mpsc::channel::<(u8, Vec<u8>)>(16);
    let mut readers = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(Ask::Frame { bytes, dlci, reply }) = asks.recv() => {
                waiting.insert(dlci, reply);
                if wr.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            Some((dlci, stream)) = channels.recv() => {
                let (mut crd, cwr) = tokio::io::split(stream);
                let tx = from_channels_tx.clone();
                readers.push(tokio::spawn(async move {
                    let mut piece = vec![0u8; n1];
                    while let Ok(n) = crd.read(&mut piece).await {
                        if n == 0 || tx.send((dlci, piece[..n].to_vec())).await.is_err() {
                            break;
                        }
                    }
                }));
                open.insert(dlci, cwr);
            }
            Some((dlci, data)) = from_channels.recv() => {
                if wr.write_all(&frame(dlci, UIH, &data)).await.is_err() {
                    break;
                }
            }
            read = rd.read(&mut buf) => {
                let Ok(n) = read else { break };
                if n == 0 {
                    break;
                }
                let mut frames = Vec::new();
                parser.push(&buf[..n], &mut frames);
                frames_seen.fetch_add(frames.len() as u64, Ordering::Relaxed);
                for f in frames {
                    if f.control & !0x10 == UIH & !0x10 && f.dlci != 0 {
                        if let Some(cwr) = open.get_mut(&f.dlci) {
                            let _ = cwr.write_all(&f.info).await;
                        }
                    } else if f.dlci == 0 && f.info.first() == Some(&MSC_COMMAND) {
                        // The modem's MSC for a channel: answered with the same signals.
                        let mut info = f.info.clone();
                        info[0] = MSC_RESPONSE;
                        if wr.write_all(&frame(0, UIH, &info)).await.is_err() {
                            break;
                        }
                    } else if let Some(reply) = waiting.remove(&f.dlci) {
                        let _ = reply.send(f);
                    }
                }
            }
        }
    }
    for reader in readers {
        reader.abort();
    }
    (rd, wr)
}
