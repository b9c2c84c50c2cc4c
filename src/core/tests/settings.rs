//! No setting can panic the modem: a property test over every duration and size key of the
//! configuration and over control-socket lines. Each value is refused when it is read, with a
//! message naming the key, or accepted and then lived with: a modem built from it runs an FTP
//! session, its timers fire, the fault plan strikes, and a week and more of virtual time passes.

use std::time::Duration;

use proptest::prelude::*;

use crate::config::Config;
use crate::core::ModuleTimes;
use crate::core::testing::Bench;
use crate::net::LinkProfile;
use crate::network::NetworkEvent;
use crate::plan::PlanEntry;
use crate::service::Request;
use crate::service::ftp::job::{Event, Request as FtpRequest};
use crate::service::ftp::{SessionWork, Value};
use crate::service::sink::Sink;

/// Every key of the configuration that holds a span of time or a size, as TOML dotted keys.
const KEYS: &[&str] = &[
    "ftp.unread_notice",
    "ftp.unread_timeout",
    "ftp.data_input",
    "ftp.fetch_timeout",
    "ftp.connect",
    "ftp.reply",
    "ftp.data_connect",
    "ftp.idle",
    "http.buffer",
    "fs.quota",
    "net.profile.down_kbps",
    "net.profile.up_kbps",
    "net.profile.latency_ms",
    "net.profile.jitter_ms",
    "net.profile.answer_ms",
    "net.profile.urc_ms",
];

/// Fault plan entries with one number left open (`{}`), as `[[faults]]`, `--fault` and the
/// control socket take them.
const ENTRIES: &[&str] = &[
    "kind = \"freeze\", seconds = {}",
    "kind = \"lose_registration\", at = {}, seconds = {}",
    "kind = \"drop_bearer\", when = \"AT+FTPGET=1\", delay = {}",
    "kind = \"reboot\", at = {}",
    "kind = \"urc\", matching = \"+FTPGET\", delay = {}",
    "kind = \"stall\", on = \"data\", after = 10, seconds = {}",
];

/// Numbers as a configuration may spell them: ordinary ones, the limits and just beyond, and
/// what parses but means nothing as a span or a size.
fn numbers() -> impl Strategy<Value = String> {
    prop_oneof![
        (0.0..120.0f64).prop_map(|v| format!("{v}")),
        (0u64..1_000_000).prop_map(|v| v.to_string()),
        Just("604800".into()),
        Just("604800.5".into()),
        Just("604800000".into()),
        Just("67108864".into()),
        Just("67108865".into()),
        Just("1e300".into()),
        Just("1e-300".into()),
        Just("inf".into()),
        Just("-inf".into()),
        Just("nan".into()),
        Just("-1".into()),
        Just("0".into()),
        Just("9223372036854775807".into()),
        Just("200000000000".into()),
    ]
}

/// A SIMCom FTP session under `bench`'s settings, through its timers, then a long wait.
fn live_with(mut b: Bench) {
    for line in ["AT+CNACT=0,1", "AT+FTPSERV=\"h\"", "AT+FTPGETNAME=\"f\"", "AT+FTPGET=1"] {
        b.at(line);
    }
    b.advance(Duration::from_secs(1));
    if b.has_started() {
        let (job, _, request) = b.started();
        if let Request::Ftp(FtpRequest::Once { work: SessionWork::Download { sink: Sink::Pipe(pipe), .. }, .. }) =
            request
        {
            let _ = pipe.try_write(b"0123456789");
            if b.core().takes_events() {
                b.event(job, Event::Data);
            }
        }
        b.advance(Duration::from_secs(30));
        b.at("AT+FTPGET=2,5");
        if b.core().takes_events() {
            b.event(job, Event::Done(Ok(Value::None)));
        }
        // The rest, so that no timer repeats through the long wait below.
        b.at("AT+FTPGET=2,5");
    }
    b.at("AT+FTPPUT=1");
    if b.core().takes_events() {
        b.network(NetworkEvent::ReleaseBearers);
    }
    for _ in 0..3 {
        b.advance(Duration::from_secs(8 * 24 * 3600));
        b.at("AT");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_duration_or_size_of_a_configuration_panics(key in prop::sample::select(KEYS), value in numbers()) {
        let text = format!("{key} = {value}\n");
        match toml::from_str::<Config>(&text) {
            Err(e) => {
                let message = e.to_string();
                let last = key.rsplit('.').next().unwrap_or(key);
                prop_assert!(message.contains(last), "{text}: the error does not name the key: {message}");
            }
            Ok(config) => {
                let mut bench = Bench::with(config.module.clone());
                let profile = config.serve.net.profile.profile().unwrap_or_default();
                bench.core().set_times(ModuleTimes { answer: profile.answer_delay(), urc: profile.urc_delay() });
                let now = bench.now();
                for fault in &config.serve.net.faults {
                    bench.core().handle_fault(now, PlanEntry::Net(fault.clone()));
                }
                live_with(bench);
            }
        }
    }

    #[test]
    fn no_fault_entry_or_control_line_panics(entry in prop::sample::select(ENTRIES), a in numbers(), b in numbers()) {
        let line = entry.replacen("{}", &a, 1).replacen("{}", &b, 1);
        match PlanEntry::parse(&line) {
            Err(message) => prop_assert!(!message.is_empty()),
            Ok(entry) => {
                let mut bench = Bench::new(crate::family::Family::Sim7080);
                let now = bench.now();
                bench.core().handle_fault(now, entry);
                bench.flush();
                live_with(bench);
            }
        }
    }

    #[test]
    fn any_control_line_parses_or_is_refused(line in "\\PC{0,80}") {
        let _ = PlanEntry::parse(&line);
        let _ = line.parse::<LinkProfile>();
        let _ = line.parse::<NetworkEvent>();
    }
}
