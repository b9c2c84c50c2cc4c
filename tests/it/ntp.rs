//! Network time from a real NTP server: Debian's chronyd (scripts/test-servers.sh, serving its
//! clock on 127.0.0.1) answers `AT+CNTP` as TinyGSM sends it (`AT+CNTPCID`, `AT+CNTP=<server>,<tz>`,
//! `AT+CNTP`, then `+CNTP:` within 10 s), the server's name redirected to it; the module's clock
//! then reads the server's time in the zone given. Also the failures: a name that does not
//! resolve (62) and a server that does not answer (65).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncWriteExt, DuplexStream};
use vmodem::config::ModuleConfig;
use vmodem::dialect;
use vmodem::modem::Modem;
use vmodem::net::{Fault, Net, NetConfig, Redirect};
use vmodem::transport::{Link, Links};

use crate::support::rig::{AbortOnDrop, ServersEnv, at_ok, read_until, trace};

/// TinyGSM's wait for `+CNTP:`.
const WAIT: Duration = Duration::from_secs(10);

/// A modem of `family` whose `pool.ntp.org:123` is chronyd, and whose `silent.ntp.test` is a
/// UDP port nothing answers on; the host end of its line, echo off.
async fn modem(family: &str) -> (DuplexStream, AbortOnDrop, tokio::net::UdpSocket) {
    trace();
    let port: u16 = ServersEnv::load().get("NTP_PORT").parse().expect("a port");
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let redirects = vec![
        Redirect::new("pool.ntp.org", Some(123), SocketAddr::from(([127, 0, 0, 1], port))),
        Redirect::new("silent.ntp.test", Some(123), silent.local_addr().unwrap()),
    ];
    let net = Net::new(NetConfig::redirecting(redirects))
        .with_faults(vec![Fault::Dns { name: Some("nowhere.ntp.test".into()) }]);
    let config = ModuleConfig { family: family.parse().unwrap(), ..ModuleConfig::default() };
    let dialect = dialect::build(std::sync::Arc::new(config)).unwrap();
    let (mut host, line) = tokio::io::duplex(1 << 16);
    let line: Link = Box::new(line);
    let task = AbortOnDrop(tokio::spawn(Modem::new(dialect, net).run(Links::single(line))));
    host.write_all(b"ATE0\r").await.unwrap();
    until(&mut host, "OK\r\n").await;
    (host, task, silent)
}

/// What comes up to and including `end`.
async fn until(line: &mut DuplexStream, end: &str) -> String {
    read_until(line, end, WAIT + Duration::from_secs(5)).await
}

async fn at(line: &mut DuplexStream, cmd: &str) -> String {
    at_ok(line, cmd, WAIT + Duration::from_secs(5)).await
}

/// `+CCLK: "yy/MM/dd,hh:mm:ss+32"` as seconds (as if UTC): the local time it shows.
fn cclk_local(answer: &str) -> i64 {
    let quoted = answer.split('"').nth(1).expect("a quoted time");
    let (date, rest) = quoted.split_once(',').unwrap();
    let n: Vec<i64> = date.split('/').chain(rest[..8].split(':')).map(|x| x.parse().unwrap()).collect();
    assert_eq!(&rest[8..], "+32", "the zone given to AT+CNTP");
    let date =
        time::Date::from_calendar_date(2000 + n[0] as i32, time::Month::try_from(n[1] as u8).unwrap(), n[2] as u8);
    let t = time::Time::from_hms(n[3] as u8, n[4] as u8, n[5] as u8).unwrap();
    time::PrimitiveDateTime::new(date.unwrap(), t).assume_utc().unix_timestamp()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test servers' chronyd (scripts/test.sh starts it)"]
async fn tinygsm_s_ntp_sync_sets_the_sim800_clock_from_chronyd() {
    let (mut host, _modem, _silent) = modem("sim800").await;
    assert_eq!(at(&mut host, "AT+SAPBR=1,1").await, "\r\nOK\r\n");
    assert_eq!(at(&mut host, "AT+CNTPCID=1").await, "\r\nOK\r\n");
    assert_eq!(at(&mut host, "AT+CNTP=\"pool.ntp.org\",32").await, "\r\nOK\r\n");
    host.write_all(b"AT+CNTP\r").await.unwrap();
    assert_eq!(until(&mut host, "+CNTP: ").await, "\r\nOK\r\n\r\n+CNTP: ");
    assert_eq!(until(&mut host, "\r\n").await, "1\r\n");
    let clock = at(&mut host, "AT+CCLK?").await;
    let expected = time::OffsetDateTime::now_utc().unix_timestamp() + 8 * 3600;
    assert!((cclk_local(&clock) - expected).abs() <= 5, "{clock} is not chronyd's time in +32");

    for (server, code) in [("nowhere.ntp.test", "62"), ("silent.ntp.test", "65")] {
        assert_eq!(at(&mut host, &format!("AT+CNTP=\"{server}\",32")).await, "\r\nOK\r\n");
        host.write_all(b"AT+CNTP\r").await.unwrap();
        assert_eq!(until(&mut host, "\r\n+CNTP: ").await, "\r\nOK\r\n\r\n+CNTP: ");
        assert_eq!(until(&mut host, "\r\n").await, format!("{code}\r\n"), "{server}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test servers' chronyd (scripts/test.sh starts it)"]
async fn the_sim7080_reports_chronyd_s_time_with_the_result() {
    let (mut host, _modem, _silent) = modem("sim7080").await;
    assert_eq!(at(&mut host, "AT+CNACT=0,1").await, "\r\nOK\r\n");
    until(&mut host, "+APP PDP: 0,ACTIVE\r\n").await;
    assert_eq!(at(&mut host, "AT+CNTPCID=0").await, "\r\nOK\r\n");
    assert_eq!(at(&mut host, "AT+CNTP=\"pool.ntp.org\",32,0,2").await, "\r\nOK\r\n");
    host.write_all(b"AT+CNTP\r").await.unwrap();
    until(&mut host, "+CNTP: 1,\"").await;
    let utc = until(&mut host, "\"\r\n").await;
    let now = time::OffsetDateTime::now_utc();
    assert_eq!(&utc[..10], format!("{:04}/{:02}/{:02}", now.year(), u8::from(now.month()), now.day()), "{utc}");
    let clock = at(&mut host, "AT+CCLK?").await;
    assert!((cclk_local(&clock) - (now.unix_timestamp() + 8 * 3600)).abs() <= 5, "{clock}");
}
