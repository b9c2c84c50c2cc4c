//! A whole SIM7080 modem against garbage: random bytes, AT-ish lines from a grammar (real and
//! made-up commands, odd arguments, overlong lines, lone CR/LF, BS/DEL, NUL, 0xFF), pieces of
//! real FTP sessions against an embedded server, all in random chunks with random pauses.
//! After each case the modem must still read its input, answer a probe line within a bounded
//! time, and end cleanly (no panic) when the host goes away.
//!
//! The probe is sound whatever state the garbage left behind:
//! - 1460 filler bytes first end a fixed-length data phase the garbage may have opened
//!   (`AT+FTPPUT=2,<n>` takes at most 1360), then a CR ends any partial line.
//! - `AT&F` restores echo, ATV and ATQ before the final result is framed.
//! - The probe writes and reads back a nonce (`AT+FTPUN`), so its answer cannot be confused
//!   with anything the garbage made the modem say, and URCs never land inside it.
//! - If it gets no answer and the garbage dialled a data call (`CONNECT`), the line may be
//!   online in PPP: the host escapes (`+++` between guard times), hangs up and probes again.
//! - The terminator and backspace characters (S3, S5) must keep their defaults, or no line
//!   could be typed at all, and `AT+FTPSERV` may only name the test's own hosts (which stay on
//!   loopback). [`hazard`] checks both conservatively: it assembles a line from every `AT` in
//!   the input with the line layer's own assembler, and cases that could do either are skipped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::select;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio::time::timeout;
use vmodem::dialect;
use vmodem::embedded::ftp::{EmbeddedFtp, EmbeddedFtpConfig};
use vmodem::modem::Modem;
use vmodem::net::{Net, NetConfig, Redirect};
use vmodem::transport::Links;
use vmodem_at::assemble::{Assembled, Assembler};
use vmodem_at::{Form, Settings, Syntax, parse_line};

/// Cases of the random test (each runs a fresh modem).
const CASES: u32 = 128;
/// The longest the modem may take to read all of a case's input.
const SEND_LIMIT: Duration = Duration::from_secs(10);
/// The longest the modem may take to answer the probe.
const ANSWER_LIMIT: Duration = Duration::from_secs(10);
/// A little more than a data call's guard time around `+++` (1 s, fixed).
const DATA_GUARD: Duration = Duration::from_millis(1200);
/// The longest the modem may take to stop once the host is gone.
const STOP_LIMIT: Duration = Duration::from_secs(5);
/// SIM7080 line limit (characters after `AT`).
const LINE_CHARS: usize = 559;

/// `AT+FTPSERV` values the grammar uses. The first reaches the embedded server (port 21 is
/// redirected), the second an address nothing listens on; names under `.invalid` that match no
/// redirect fail at once without a DNS query.
const HOSTS: &[&str] = &["ftp.robust.invalid", "down.robust.invalid", "nohost.invalid", ""];
const FTP_USER: &str = "robust";
const FTP_PASS: &str = "robust";

/// The runtime, the embedded FTP server and the redirects to it, shared by every case.
struct Harness {
    runtime: Runtime,
    redirects: Vec<Redirect>,
    _ftp: EmbeddedFtp,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("robustness-ftp");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("hello.txt"), b"hello, robust world\n".repeat(300)).unwrap();
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let (ftp, refused) = runtime.block_on(async {
            let ftp = EmbeddedFtp::start(EmbeddedFtpConfig {
                root,
                user: FTP_USER.into(),
                password: FTP_PASS.into(),
                bind: loopback,
            })
            .await
            .unwrap();
            (ftp, std::net::TcpListener::bind(loopback).unwrap().local_addr().unwrap())
        });
        let redirects = vec![Redirect::new(HOSTS[0], Some(21), ftp.addr()), Redirect::new(HOSTS[1], None, refused)];
        Harness { runtime, redirects, _ftp: ftp }
    })
}

/// Why a case could leave the modem unreachable by design, or reach beyond loopback; `None`
/// if it cannot. Every line the modem can run starts at an `AT` of the input and is assembled
/// from the bytes that follow (data phases only ever take bytes between lines), so assembling
/// from every `AT` finds each of them, and some that never run.
fn hazard(input: &[u8]) -> Option<String> {
    let settings = Settings::default();
    for start in 0..input.len().saturating_sub(1) {
        if !input[start..start + 2].eq_ignore_ascii_case(b"AT") {
            continue;
        }
        let mut asm = Assembler::new(LINE_CHARS);
        let (_, Some(Assembled::Line(body))) = asm.push(&input[start..], &settings, &mut Vec::new()) else {
            continue;
        };
        for cmd in parse_line(&body).into_iter().flatten() {
            let Form::Write(args) = &cmd.form else { continue };
            let value = args.first().map(|a| a.bytes()).unwrap_or_default();
            let register = cmd.name.strip_prefix('S').and_then(|n| n.parse::<u8>().ok());
            let default = register.map(|r| settings.s[r.min(12) as usize]);
            let number = args.first().and_then(|a| a.number());
            let line_register = cmd.syntax == Syntax::Basic && matches!(register, Some(3..=5));
            if line_register && number != default.map(u64::from) {
                return Some(format!("changes {}: {:?}", cmd.name, String::from_utf8_lossy(&body)));
            }
            if cmd.name == "+FTPSERV" && !HOSTS.iter().any(|h| h.as_bytes() == value) {
                return Some(format!("names another server: {:?}", String::from_utf8_lossy(&body)));
            }
        }
    }
    None
}

/// One write of the case, and how long to wait after it.
#[derive(Clone)]
struct Piece {
    bytes: Vec<u8>,
    pause_ms: u8,
}

impl std::fmt::Debug for Piece {
    /// Readable bytes in a failing case: `b"AT+CSQ\r" then 20 ms`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\" then {} ms", self.bytes.escape_ascii(), self.pause_ms)
    }
}

/// The real commands the grammar names (extended ones without their `+`).
const EXTENDED: &[&str] = &[
    "FTPGET",
    "FTPPUT",
    "FTPLIST",
    "FTPDELE",
    "FTPSIZE",
    "FTPMKD",
    "FTPRMD",
    "FTPRENAME",
    "FTPMDTM",
    "FTPQUIT",
    "FTPSTATE",
    "FTPPORT",
    "FTPMODE",
    "FTPTYPE",
    "FTPPUTOPT",
    "FTPCID",
    "FTPREST",
    "FTPSERV",
    "FTPUN",
    "FTPPW",
    "FTPGETNAME",
    "FTPGETPATH",
    "FTPPUTNAME",
    "FTPPUTPATH",
    "CNACT",
    "CNCFG",
    "CGATT",
    "CGDCONT",
    "CGACT",
    "CGNAPN",
    "CFUN",
    "CMEE",
    "IPR",
    "IFC",
    "ICF",
    "CGMI",
    "CGMM",
    "CGMR",
    "CGSN",
    "GSN",
    "CIMI",
    "CCID",
    "SIMCOMATI",
    "CPIN",
    "CSQ",
    "CREG",
    "CGREG",
    "CEREG",
    "COPS",
];

/// Basic commands, S-parameters included (the line registers only with their defaults).
const BASIC: &[&str] = &[
    "E", "E0", "E1", "E2", "V0", "V1", "Q0", "Q1", "X4", "X9", "Z", "Z0", "Z1", "&F", "&F0", "&W", "&C1", "&D2", "&K3",
    "I", "I0", "I9", "S0=1", "S0?", "S3?", "S3=?", "S3=13", "S4=10", "S5=8", "S7=60", "S7=0", "S99=1", "S3=", "S", "H",
    "O", "A", "D*99#",
];

/// Lines of real FTP sessions against the embedded server, in the order a host sends them.
const SESSION: &[&str] = &[
    "AT+CNACT=0,1\r",
    "AT+FTPCID=0\r",
    "AT+FTPSERV=\"ftp.robust.invalid\"\r",
    "AT+FTPUN=\"robust\"\r",
    "AT+FTPPW=\"robust\"\r",
    "AT+FTPGETNAME=\"hello.txt\"\r",
    "AT+FTPPUTNAME=\"up.txt\"\r",
    "AT+FTPGETPATH=\"/\"\r",
    "AT+FTPGET=1\r",
    "AT+FTPGET=2,1460\r",
    "AT+FTPLIST=1\r",
    "AT+FTPPUT=1\r",
    "AT+FTPPUT=2,0\r",
    "AT+FTPSIZE\r",
    "AT+FTPQUIT\r",
    "AT+CNACT=0,0\r",
];

/// Control and odd bytes.
const ODD: &[&[u8]] =
    &[b"\x08", b"\x7f", b"\0", b"\xff", b"\r", b"\n", b"\r\n", b"\x1a", b"\x03", b"\x10", b"\x1b", b" ", b"\t"];

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        select(&["0", "1", "2", "3", "-1", "1.5", "0x10", "4294967296", "99999999999999999999", "1360", "1460"][..])
            .prop_map(String::from),
        (0u32..70000).prop_map(|n| n.to_string()),
    ]
}

fn arg() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => number(),
        2 => "\"[ -!#-~]{0,24}\"",
        1 => "\"[a-z;,=?]{0,8}",
        1 => "[a-zA-Z0-9_./?=-]{1,10}",
        1 => Just(String::new()),
    ]
}

/// An extended command: a real or made-up name, in one of its four forms.
fn extended() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        4 => select(EXTENDED).prop_map(|n| format!("+{n}")),
        1 => "[+^$%*#][A-Z0-9]{1,8}",
        1 => "\\+[a-z&?=]{0,3}",
    ];
    let form = prop_oneof![
        Just(String::new()),
        Just("?".to_string()),
        Just("=?".to_string()),
        prop::collection::vec(arg(), 0..6).prop_map(|a| format!("={}", a.join(","))),
    ];
    (name, form, select(HOSTS)).prop_map(|(name, form, host)| {
        if name == "+FTPSERV" && form.starts_with('=') && form != "=?" {
            format!("{name}=\"{host}\"")
        } else {
            format!("{name}{form}")
        }
    })
}

/// What may come between or inside commands.
fn command() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => extended().prop_map(String::into_bytes),
        3 => select(BASIC).prop_map(|c| c.as_bytes().to_vec()),
        1 => "[ -~]{1,6}".prop_map(String::into_bytes),
        1 => select(ODD).prop_map(<[u8]>::to_vec),
    ]
}

/// An AT-ish line: prefix, commands with or without separators, a terminator (or none).
fn line() -> impl Strategy<Value = Vec<u8>> {
    let prefix = select(&["AT", "at", "At", "aT", "", "A", "AAT", "A/", "AT\x08"][..]);
    let separator = select(&[";", "", ";;", " ; "][..]);
    let terminator = select(&["\r", "\r\n", "\n", "", "\n\r", "\r\r"][..]);
    (prefix, prop::collection::vec((command(), separator), 0..8), terminator).prop_map(|(p, cmds, t)| {
        let mut line = p.as_bytes().to_vec();
        for (cmd, sep) in cmds {
            line.extend(cmd);
            line.extend(sep.as_bytes());
        }
        line.extend(t.as_bytes());
        line
    })
}

/// A line longer than the modem's buffer.
fn overlong() -> impl Strategy<Value = Vec<u8>> {
    (select(&["AT+FTPGETPATH=\"", "AT", "AT+CSQ;", "at+ftpun="][..]), prop::collection::vec(32u8..127, 600..5000))
        .prop_map(|(head, body)| {
            let mut line = head.as_bytes().to_vec();
            line.extend(body);
            line.push(b'\r');
            line
        })
}

/// A line of a real session; an upload chunk comes with up to as many bytes as it announces.
fn session() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => select(SESSION).prop_map(|l| l.as_bytes().to_vec()),
        1 => session_chunk(),
    ]
}

/// `AT+FTPPUT=2,<n>` and up to `n` bytes (`n` may exceed what the modem confirms).
fn session_chunk() -> impl Strategy<Value = Vec<u8>> {
    (1usize..1460, 0usize..1460, any::<u8>()).prop_map(|(n, sent, b)| {
        let mut line = format!("AT+FTPPUT=2,{n}\r").into_bytes();
        line.extend(std::iter::repeat_n(b, sent.min(n)));
        line
    })
}

fn piece() -> impl Strategy<Value = Piece> {
    let bytes = prop_oneof![
        6 => line(),
        4 => session(),
        2 => prop::collection::vec(any::<u8>(), 0..512),
        1 => overlong(),
        1 => select(ODD).prop_map(<[u8]>::to_vec),
    ];
    let pause = prop_oneof![6 => Just(0u8), 1 => 1u8..40];
    (bytes, pause).prop_map(|(bytes, pause_ms)| Piece { bytes, pause_ms })
}

/// The setup of a working session and its start, then a pause for the server, so that the
/// garbage after it meets a download with data waiting or an upload ready for a chunk; and
/// maybe that chunk, in full or cut short (the data phase is left open).
fn prelude() -> impl Strategy<Value = Vec<Piece>> {
    let start = select(&["AT+FTPGET=1\r", "AT+FTPPUT=1\r", "AT+FTPPUT=1\r", "AT+FTPLIST=1\r", "AT+FTPSIZE\r", ""][..]);
    let chunk = prop::option::of(session_chunk());
    (start, 20u8..80, chunk).prop_map(|(start, pause_ms, chunk)| {
        let setup = "AT+CNACT=0,1\rAT+FTPSERV=\"ftp.robust.invalid\"\rAT+FTPUN=\"robust\"\rAT+FTPPW=\"robust\"\r\
                     AT+FTPGETNAME=\"hello.txt\"\rAT+FTPPUTNAME=\"up.txt\"\r";
        let start = Piece { bytes: format!("{setup}{start}").into_bytes(), pause_ms };
        [start].into_iter().chain(chunk.map(|bytes| Piece { bytes, pause_ms: 0 })).collect()
    })
}

/// A case: what to send, and the chunk sizes to send it in (cycled).
fn case() -> impl Strategy<Value = (Vec<Piece>, Vec<usize>)> {
    let pieces = (prop::option::weighted(0.5, prelude()), prop::collection::vec(piece(), 1..16))
        .prop_map(|(prelude, pieces)| prelude.into_iter().flatten().chain(pieces).collect());
    (pieces, prop::collection::vec(1usize..2048, 1..4))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Runs one case on a fresh modem; `Err` says how the modem failed.
async fn run_case(pieces: &[Piece], chunks: &[usize], redirects: &[Redirect]) -> Result<(), String> {
    let dialect = dialect::build(Default::default()).map_err(|e| e.to_string())?;
    let modem = Modem::new(dialect, Net::new(NetConfig::redirecting(redirects.to_vec())));
    let (host, line) = tokio::io::duplex(1 << 16);
    let task = tokio::spawn(modem.run(Links::single(Box::new(line))));
    let (mut rx, mut tx) = tokio::io::split(host);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        while let Ok(n @ 1..) = rx.read(&mut buf).await {
            if out_tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let died = |task: &tokio::task::JoinHandle<()>, what: &str| {
        if task.is_finished() { format!("{what}; the modem task has ended (panicked?)") } else { what.to_string() }
    };

    let send = async {
        let mut sizes = chunks.iter().cycle();
        for piece in pieces {
            for chunk in piece.bytes.chunks(*sizes.next().unwrap_or(&1)) {
                tx.write_all(chunk).await?;
            }
            if piece.pause_ms > 0 {
                tokio::time::sleep(Duration::from_millis(piece.pause_ms.into())).await;
            }
        }
        std::io::Result::Ok(())
    };
    match timeout(SEND_LIMIT, send).await {
        Err(_) => return Err(died(&task, "the modem stopped reading its input")),
        Ok(Err(e)) => return Err(died(&task, &format!("writing to the modem: {e}"))),
        Ok(Ok(())) => {}
    }

    let mut output = Vec::new();
    let mut answered = probe(&mut tx, &mut out_rx, &mut output).await;
    if !answered && contains(&output, b"CONNECT") {
        // The garbage dialled a data call and the line is online: escape as a host does.
        answered = escape_online(&mut tx).await.is_ok() && probe(&mut tx, &mut out_rx, &mut output).await;
    }
    if !answered {
        let tail = String::from_utf8_lossy(&output[output.len().saturating_sub(300)..]).into_owned();
        return Err(died(&task, &format!("no answer to the probe; output ends with {tail:?}")));
    }
    if task.is_finished() {
        return Err("the modem task ended while its host was connected".into());
    }

    drop(tx);
    reader.abort();
    let _ = reader.await;
    match timeout(STOP_LIMIT, task).await {
        Err(_) => Err("the modem did not stop after its host went away".into()),
        Ok(Err(e)) if e.is_panic() => Err(format!("the modem task panicked: {e}")),
        Ok(_) => Ok(()),
    }
}

/// Sends the probe and waits for its answer, gathering the modem's output; `false` if it does
/// not come within [`ANSWER_LIMIT`].
async fn probe(
    tx: &mut (impl AsyncWriteExt + Unpin),
    out_rx: &mut mpsc::UnboundedReceiver<Vec<u8>>,
    output: &mut Vec<u8>,
) -> bool {
    let nonce = format!("probe{:016x}", rand_u64());
    let mut probe = vec![b'x'; 1460];
    probe.push(b'\r');
    probe.extend(format!("AT&F;+FTPUN=\"{nonce}\";+FTPUN?\r").as_bytes());
    let expected = format!("\r\n+FTPUN: \"{nonce}\"\r\n\r\nOK\r\n");
    let answered = timeout(ANSWER_LIMIT, async {
        tx.write_all(&probe).await.ok()?;
        while !contains(output, expected.as_bytes()) {
            output.extend(out_rx.recv().await?);
        }
        Some(())
    })
    .await;
    matches!(answered, Ok(Some(())))
}

/// Leaves a data call the garbage dialled: `+++` between the guard times, then `ATH`.
async fn escape_online(tx: &mut (impl AsyncWriteExt + Unpin)) -> std::io::Result<()> {
    tokio::time::sleep(DATA_GUARD).await;
    tx.write_all(b"+++").await?;
    tokio::time::sleep(DATA_GUARD).await;
    tx.write_all(b"ATH\r").await
}

/// A nonce for the probe (not from proptest, so no case can contain it).
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    h.finish()
}

fn check(pieces: &[Piece], chunks: &[usize]) -> Result<(), TestCaseError> {
    let input: Vec<u8> = pieces.iter().flat_map(|p| p.bytes.iter().copied()).collect();
    if let Some(why) = hazard(&input) {
        return Err(TestCaseError::reject(why));
    }
    let h = harness();
    h.runtime.block_on(run_case(pieces, chunks, &h.redirects)).map_err(TestCaseError::fail)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, max_shrink_time: 60_000, ..ProptestConfig::default() })]

    /// Random garbage never panics or wedges the modem.
    #[test]
    fn garbage_never_panics_or_wedges((pieces, chunks) in case()) {
        check(&pieces, &chunks)?;
    }
}

/// Inputs worth keeping whatever the random test draws.
#[test]
fn nasty_inputs_never_panic_or_wedge() {
    let long = |n: usize| [b"AT".to_vec(), vec![b'A'; n], b"\r".to_vec()].concat();
    let cases: Vec<Vec<u8>> = vec![
        b"A/".to_vec(),
        b"\r\n\r\n\n\n\r\r".to_vec(),
        b"AT\0\xff\r".to_vec(),
        b"\x08\x7fAT\x08\x08\x08\x7f\r".to_vec(),
        long(600),
        long(5000),
        vec![0xff; 70_000],
        [b"AT".to_vec(), vec![b';'; 600], b"\r".to_vec()].concat(),
        b"AT+FTPPUT=2,1360\r".to_vec(),
        b"AT+FTPGET=2,1460\rAT+FTPGET=2,99999999999999999999\r".to_vec(),
        b"AT+CFUN=1,1\rAT+FTP".to_vec(),
        b"AT+CFUN=0\rAT+CNACT=0,1\rAT+CFUN=1\rAT+CFUN=6\r".to_vec(),
        b"ATE0V0Q1&W\rATZ\rAT+CMEE=2\rAT+FTPQUIT\r".to_vec(),
        b"AT+CNACT=0,1\ratD*99#\n+r? ; AT+FTPPUT=2,649\rmmmm\x05a\xed\x7e\x7d".to_vec(),
        b"AT+FTPSERV=\"ftp.robust.invalid\"\rAT+CNACT=0,1\rAT+FTPUN=\"robust\";+FTPPW=\"robust\"\r\
          AT+FTPPUTNAME=\"n.txt\";+FTPPUT=1\r"
            .to_vec(),
        b"AT+FTPSERV=\"ftp.robust.invalid\"\rAT+CNACT=0,1\rAT+FTPUN=\"robust\";+FTPPW=\"robust\"\r\
          AT+FTPGETNAME=\"hello.txt\";+FTPGET=1;+FTPGET=2,1460;+FTPQUIT\rA/A/A/"
            .to_vec(),
    ];
    for bytes in cases {
        let pieces = [Piece { bytes: bytes.clone(), pause_ms: 50 }];
        if let Err(e) = check(&pieces, &[4096]) {
            panic!("{:?}: {e}", String::from_utf8_lossy(&bytes));
        }
    }
}
