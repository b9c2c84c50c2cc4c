//! The web console in a real browser (headless Chromium through WebDriver), on a fleet whose
//! hosts talk to their modems at the same time: the exchange appears live with its bytes and
//! its secrets masked, URCs marked; a person types into a modem no host holds; a progress
//! figure follows an FTP download to the file's size; a fault and a link profile chosen in the
//! page reach the host and the chart; a fleet of 1,000 pages and filters. Each test saves a
//! screenshot in `target/console-screenshots/`.

use std::path::Path;
use std::time::Duration;

use fantoccini::Locator;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;

use crate::api::fleet;
use crate::support::browser::Browser;
use crate::support::rig::{Kind, Server, at_ok, read_until, trace};

const WAIT: Duration = Duration::from_secs(15);

async fn host(dir: &Path, index: u64) -> UnixStream {
    UnixStream::connect(dir.join(format!("modem-{index}.sock"))).await.expect("the modem's socket")
}

/// The exchange as the page shows it.
const LINES: &str = "document.getElementById('lines').innerText";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver (scripts/test.sh installs them)"]
async fn the_exchange_appears_live_with_its_bytes_its_urcs_marked_and_secrets_masked() {
    trace();
    let dir = tempfile::tempdir().unwrap();
    let (_fleet, server) = fleet(dir.path(), "sim7080", 2).await;
    let browser = Browser::open(1280, 900).await;
    browser.client.goto(&format!("http://{}/#/modem/1", server.addr)).await.unwrap();
    browser.until("transcript header", &format!("return {LINES}.includes('@family sim7080')")).await;

    // No host yet: a person types into the modem.
    let note = browser.js("return document.getElementById('terminal-note').innerText").await;
    assert!(note.as_str().unwrap_or_default().starts_with("No host is connected"), "{note}");
    let typed = browser.client.find(Locator::Id("typed")).await.unwrap();
    typed.send_keys("AT+CGSN").await.unwrap();
    browser.client.find(Locator::Css("#terminal button")).await.unwrap().click().await.unwrap();
    let imei = _fleet.modems().get(1).unwrap().imei.clone();
    browser.until("typed command's answer", &format!("return {LINES}.includes('< {imei}')")).await;

    // A host comes: the page watches, and says so.
    let mut line = host(dir.path(), 1).await;
    at_ok(&mut line, "ATE0", WAIT).await;
    browser
        .until("terminal closed", "return document.getElementById('typed').disabled && document.getElementById('terminal-note').innerText.startsWith('A host is connected')")
        .await;
    at_ok(&mut line, "AT+CSQ", WAIT).await;
    at_ok(&mut line, "AT+FTPPW=\"topsecret\"", WAIT).await;
    at_ok(&mut line, "AT+CNACT=0,1", WAIT).await;
    read_until(&mut line, "+APP PDP: 0,ACTIVE\r\n", WAIT).await;
    let shown =
        browser.until("the exchange", &format!("return {LINES}.includes('+APP PDP: 0,ACTIVE') && {LINES}")).await;
    let shown = shown.as_str().unwrap();
    for expected in ["> AT+CSQ\n< +CSQ: 27,99\n< OK", "> AT+FTPPW=\"{ftp_pass}\"\n< OK", "> AT+CNACT=0,1\n< OK"] {
        assert!(shown.contains(expected), "{expected:?} is not in the page:\n{shown}");
    }
    let urc = browser.js("return [...document.querySelectorAll('#lines .urc')].map(e => e.innerText).join('|')").await;
    assert!(urc.as_str().unwrap().contains("< +APP PDP: 0,ACTIVE"), "the URC is marked: {urc}");
    let source = browser.client.source().await.unwrap();
    assert!(!source.contains("topsecret"), "the password never reaches the page");
    let transcript = get_text(server.addr, "/api/modems/1/transcript").await;
    assert!(transcript.contains("> AT+CNACT=0,1") && !transcript.contains("topsecret"), "{transcript}");
    // The search hides what does not match.
    browser.client.find(Locator::Id("search")).await.unwrap().send_keys("CSQ").await.unwrap();
    let visible = browser
        .js("return [...document.querySelectorAll('#lines > div:not(.hidden)')].map(e => e.innerText).join('\\n')")
        .await;
    assert_eq!(visible.as_str().unwrap().lines().filter(|l| !l.contains("CSQ")).count(), 0, "{visible}");
    browser.client.find(Locator::Id("search")).await.unwrap().clear().await.unwrap();
    browser.js("document.getElementById('search').dispatchEvent(new Event('input')); return 1").await;
    browser.shot("modem").await;
    line.write_all(b"AT\r").await.unwrap();
}

/// A GET over a bare socket: the whole answer.
async fn get(addr: std::net::SocketAddr, path: &str) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut answer)).await.unwrap().unwrap();
    answer
}

/// A GET's body.
async fn get_bytes(addr: std::net::SocketAddr, path: &str) -> Vec<u8> {
    let answer = get(addr, path).await;
    let at = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
    answer[at..].to_vec()
}

/// A GET's status.
async fn get_status(addr: std::net::SocketAddr, path: &str) -> u16 {
    String::from_utf8_lossy(&get(addr, path).await[9..12]).parse().unwrap()
}

/// A GET's body as text.
async fn get_text(addr: std::net::SocketAddr, path: &str) -> String {
    String::from_utf8_lossy(&get_bytes(addr, path).await).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver (scripts/test.sh installs them)"]
async fn a_download_s_progress_reaches_the_file_s_size_and_page_faults_and_profiles_reach_the_host() {
    trace();
    const SIZE: usize = 3 << 20;
    let ftp = Server::start(Kind::Libunftp).await;
    ftp.write("big.bin", &vec![7u8; SIZE]);
    let dir = tempfile::tempdir().unwrap();
    let (fleet, server) = fleet(dir.path(), "sim7080", 1).await;
    // 16 Mbit/s: about a second and a half for the file, so the page sees it move.
    fleet.modems().get(0).unwrap().handle.set_profile(vmodem::net::LinkProfile::new(16_000.0, 0.0, 0.0, 0.0));
    let browser = Browser::open(1280, 1000).await;
    browser.client.goto(&format!("http://{}/#/modem/0", server.addr)).await.unwrap();
    browser.until("the modem", "return document.getElementById('identity').innerText.includes('Modem 0')").await;
    let mut line = host(dir.path(), 0).await;
    at_ok(&mut line, "ATE0", WAIT).await;
    at_ok(&mut line, "AT+CNACT=0,1", WAIT).await;
    read_until(&mut line, "+APP PDP: 0,ACTIVE\r\n", WAIT).await;
    for cmd in [
        "AT+FTPCID=0".to_string(),
        format!("AT+FTPSERV=\"{}\"", ftp.addr.ip()),
        format!("AT+FTPPORT={}", ftp.addr.port()),
        format!("AT+FTPUN=\"{}\"", ftp.user),
        format!("AT+FTPPW=\"{}\"", ftp.password),
        format!("AT+FTPGETPATH=\"{}/\"", ftp.remote),
        "AT+FTPGETNAME=\"big.bin\"".to_string(),
    ] {
        at_ok(&mut line, &cmd, WAIT).await;
    }
    at_ok(&mut line, "AT+FTPEXTGET=2,3,\"big.bin\"", WAIT).await;
    let received = "return Number(document.getElementById('bytes').dataset.received || 0)";
    let during = browser
        .until(
            "progress under way",
            &format!("const n = (function(){{{received}}})(); return n > 0 && n < {SIZE} && n"),
        )
        .await;
    read_until(&mut line, "+FTPEXTGETFILE: 1,0\r\n", Duration::from_secs(30)).await;
    let after = browser
        .until(
            "progress at the file's size",
            &format!("const n = (function(){{{received}}})(); return n >= {SIZE} && n"),
        )
        .await;
    assert!(during.as_u64() < after.as_u64(), "{during} then {after}");
    let work = browser
        .until("work done", "const t = document.getElementById('work').innerText; return t.startsWith('done') && t")
        .await;
    assert_eq!(work, "done: ftp");
    let listed = browser
        .until(
            "the file in the list",
            "const t = document.getElementById('files').innerText; return t.includes('big.bin') && t",
        )
        .await;
    assert!(listed.as_str().unwrap().contains("/customer/big.bin\t3.00 MiB"), "{listed}");
    let href = browser.js("return document.querySelector('#files a').getAttribute('href')").await;
    let downloaded = get_bytes(server.addr, href.as_str().unwrap()).await;
    assert!(downloaded.len() == SIZE && downloaded.iter().all(|b| *b == 7), "{} bytes", downloaded.len());
    assert_eq!(get_status(server.addr, "/api/modems/0/files/customer/..%2F..%2Fetc%2Fpasswd").await, 404);
    browser.shot("download").await;

    // A fault chosen in the page reaches the host as the SIM7080 reports it.
    browser.client.find(Locator::Id("fault-kind")).await.unwrap().select_by_value("drop_bearer").await.unwrap();
    browser.client.find(Locator::Id("add-fault")).await.unwrap().click().await.unwrap();
    assert_eq!(read_until(&mut line, "+APP PDP: 0,DEACTIVE\r\n", WAIT).await, "\r\n+APP PDP: 0,DEACTIVE\r\n");
    browser.until("the fault counted", "return document.querySelector('[data-field=faults]').innerText === '1'").await;

    // A signal set in the page: AT+CSQ reports it, and the page shows it.
    let rssi = browser.client.find(Locator::Id("rssi")).await.unwrap();
    rssi.clear().await.unwrap();
    rssi.send_keys("7").await.unwrap();
    browser.client.find(Locator::Id("set-signal")).await.unwrap().click().await.unwrap();
    browser.until("the signal set", "return document.getElementById('said').innerText === 'signal 7: done'").await;
    assert!(at_ok(&mut line, "AT+CSQ", WAIT).await.starts_with("\r\n+CSQ: 7,"));
    browser.until("the signal shown", "return document.querySelector('[data-field=signal]').innerText === '7'").await;

    // A profile chosen in the page: the modem answers as slowly, and the chart draws its rate.
    browser.client.find(Locator::Id("profile")).await.unwrap().select_by_value("gsm").await.unwrap();
    browser.client.find(Locator::Id("set-profile")).await.unwrap().click().await.unwrap();
    browser.until("the chart's cap", "return document.getElementById('chart').dataset.cap === '1200'").await;
    let started = std::time::Instant::now();
    at_ok(&mut line, "AT", WAIT).await;
    assert!(started.elapsed() >= Duration::from_millis(30), "the gsm profile's answer time: {:?}", started.elapsed());
    browser.shot("controls").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver (scripts/test.sh installs them)"]
async fn a_fleet_of_a_thousand_pages_and_filters_in_the_overview() {
    trace();
    let dir = tempfile::tempdir().unwrap();
    let (_fleet, server) = fleet(dir.path(), "sim800", 1000).await;
    let mut line = host(dir.path(), 776).await;
    at_ok(&mut line, "ATE0", WAIT).await;
    let browser = Browser::open(1280, 800).await;
    browser.client.goto(&format!("http://{}/", server.addr)).await.unwrap();
    let shown = "return document.getElementById('shown').innerText";
    browser.until("the first page", &format!("{shown} === '1–50 of 1000'")).await;
    let rows = browser.js("return document.querySelectorAll('#modems tbody tr').length").await;
    assert_eq!(rows, 50);
    browser.until("the counts", "return document.querySelector('[data-state=off]').innerText === 'off 999'").await;
    browser.shot("overview").await;
    browser.client.find(Locator::Id("next")).await.unwrap().click().await.unwrap();
    browser.until("the second page", &format!("{shown} === '51–100 of 1000'")).await;
    let first = browser.js("return document.querySelector('#modems tbody tr').dataset.index").await;
    assert_eq!(first, "50");
    browser.client.find(Locator::Id("q")).await.unwrap().send_keys("+8613800000777").await.unwrap();
    browser.until("the filter", &format!("{shown} === '1–1 of 1'")).await;
    let found = browser.js("return document.querySelector('#modems tbody tr').dataset.index").await;
    assert_eq!(found, "776");
    browser.client.find(Locator::Id("q")).await.unwrap().clear().await.unwrap();
    browser.js("document.getElementById('q').dispatchEvent(new Event('input')); return 1").await;
    browser.client.find(Locator::Id("state")).await.unwrap().select_by_value("registered").await.unwrap();
    browser.until("the state filter", &format!("{shown} === '1–1 of 1'")).await;
    // A row opens its modem.
    browser.client.find(Locator::Css("#modems tbody tr")).await.unwrap().click().await.unwrap();
    browser.until("the modem", "return document.getElementById('identity').innerText.includes('Modem 776')").await;
    // A phone's width.
    browser.client.set_window_size(390, 844).await.unwrap();
    browser.client.goto(&format!("http://{}/", server.addr)).await.unwrap();
    browser.until("the first page on a phone", &format!("{shown} === '1–50 of 1000'")).await;
    let wide = browser
        .js("return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll')).map(e => e.tagName + '#' + e.id + '.' + e.className).join(' ')")
        .await;
    assert_eq!(wide, "", "no sideways scrolling at a phone's width");
    browser.shot("overview-phone").await;
}
