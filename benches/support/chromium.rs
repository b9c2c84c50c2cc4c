//! A headless Chromium driven through WebDriver (Debian's `chromium` and `chromium-driver`,
//! which scripts/test-servers.sh installs), for the benchmarks that keep the web console open,
//! with the console tests' flags (tests/it/support/browser.rs). chromedriver runs in a process
//! group of its own with the Chromium it starts, and with a temporary folder as `TMPDIR`; when
//! the [`Browser`] is dropped the group is killed, Chromium's crash handlers (which leave the
//! group) are waited for or killed by their ids, and the folder is removed.
//!
//! Include with `#[path = "support/chromium.rs"] mod chromium;`.
#![allow(dead_code)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fantoccini::wd::WindowHandle;
use fantoccini::{Client, ClientBuilder};
use serde_json::Value;

/// How long the driver and a page may take to come up.
pub const SHOW: Duration = Duration::from_secs(20);
/// How long the group may take to go after SIGKILL.
const GONE: Duration = Duration::from_secs(10);

/// Whether `chromium` and `chromedriver` run; an error with advice if not.
pub fn available() -> anyhow::Result<()> {
    for tool in ["chromium", "chromedriver"] {
        let ran = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        if !ran.as_ref().is_ok_and(|s| s.success()) {
            bail!(
                "this benchmark keeps the web console open in a headless Chromium, and `{tool} --version` does \
                 not run ({}); install Debian's chromium and chromium-driver (apt-get install chromium \
                 chromium-driver, as scripts/test-servers.sh install does)",
                ran.err().map(|e| e.to_string()).unwrap_or_else(|| "it failed".into())
            );
        }
    }
    Ok(())
}

/// chromedriver, leading a process group of its own with the Chromium it starts, and the
/// temporary folder they work in (`TMPDIR`: chromedriver's profile, Chromium's singleton
/// socket). Dropping it kills the group, waits until it has gone, ends Chromium's crash
/// handlers and removes the folder.
struct Group {
    driver: std::process::Child,
    /// Chromium's crash handlers (`chrome_crashpad_handler`) that this browser started: they
    /// leave the group (a session of their own, their parent gone) and go by themselves soon
    /// after the browser, or are killed by their id.
    helpers: Vec<(u32, u64)>,
    _tmp: tempfile::TempDir,
}

impl Drop for Group {
    fn drop(&mut self) {
        let group = self.driver.id();
        if let Some(pid) = rustix::process::Pid::from_raw(group as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            let _ = self.driver.wait();
            // Its orphans are reaped by init; wait (boundedly) until they have gone.
            let deadline = Instant::now() + GONE;
            while rustix::process::test_kill_process_group(pid).is_ok() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let deadline = Instant::now() + GONE;
        while self.helpers.iter().any(|&(pid, start)| started(pid) == Some(start)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        for &(pid, start) in &self.helpers {
            if started(pid) == Some(start)
                && let Some(pid) = rustix::process::Pid::from_raw(pid as i32)
            {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
}

/// The running `chrome_crashpad_handler` processes: pid and start time (clock ticks since boot).
fn crash_handlers() -> Vec<(u32, u64)> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim_end().starts_with("chrome_crashpad"))
        })
        .filter_map(|pid| Some((pid, started(pid)?)))
        .collect()
}

/// When process `pid` started (clock ticks since boot), if it runs.
fn started(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // starttime is the 22nd field of the line, the 20th after the command.
    stat.rsplit_once(')')?.1.split_whitespace().nth(19)?.parse().ok()
}

/// A headless Chromium and its chromedriver, in a process group of their own.
pub struct Browser {
    pub client: Client,
    driver: Group,
}

impl Browser {
    /// A fresh headless Chromium with a window of `width` x `height`.
    pub async fn open(width: u32, height: u32) -> anyhow::Result<Browser> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let tmp = tempfile::Builder::new().prefix("vmodem-bench-chromium-").tempdir()?;
        let before = crash_handlers();
        let driver = {
            use std::os::unix::process::CommandExt;
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .env("TMPDIR", tmp.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .context("starting chromedriver")?
        };
        let launched = started(driver.id()).unwrap_or(0);
        // From here on, whatever fails, dropping `driver` kills the group.
        let mut driver = Group { driver, helpers: Vec::new(), _tmp: tmp };
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         format!("--window-size={width},{height}")]
            }
        });
        let caps = caps.as_object().expect("an object").clone();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + SHOW;
        let client = loop {
            // chromedriver speaks plain HTTP on loopback.
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&url).await {
                Ok(client) => break client,
                Err(e) if Instant::now() > deadline => bail!("no WebDriver session from chromedriver in {SHOW:?}: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        // Chromium is up, and has started its crash handlers.
        driver.helpers = crash_handlers().into_iter().filter(|h| !before.contains(h) && h.1 >= launched).collect();
        Ok(Browser { client, driver })
    }

    /// The process group (chromedriver's pid).
    pub fn group(&self) -> u32 {
        self.driver.driver.id()
    }

    /// Whether chromedriver is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.driver.driver.try_wait(), Ok(None))
    }

    /// Opens a new tab of the current window (`tab`), or a new window, and makes it current.
    pub async fn new_window(&self, tab: bool) -> anyhow::Result<WindowHandle> {
        let window = self.client.new_window(tab).await?.handle;
        self.client.switch_to_window(window.clone()).await?;
        Ok(window)
    }

    /// Runs `script` (a function body that returns a value) in the current window's page.
    pub async fn js(&self, script: &str) -> anyhow::Result<Value> {
        self.client.execute(script, Vec::new()).await.with_context(|| format!("running {script}"))
    }

    /// Waits (at most [`SHOW`]) until `script` returns something true (not false, null, 0 or
    /// ""), which it returns; an error naming `what` with the last value if it does not.
    pub async fn until(&self, what: &str, script: &str) -> anyhow::Result<Value> {
        let deadline = Instant::now() + SHOW;
        loop {
            let value = self.js(script).await?;
            let truthy = match &value {
                Value::Null | Value::Bool(false) => false,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return Ok(value);
            }
            if Instant::now() > deadline {
                bail!("{what}: the page did not show it in {SHOW:?}; last {value}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
