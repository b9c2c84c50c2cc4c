//! What passes on a modem's line, for the web console: once a console asks, the modem's task
//! hands every byte either way to a [`record::Writer`](crate::record::Writer), which turns it
//! into transcript text with secrets masked as in recordings, and the text goes to the
//! consoles watching live. A modem no console has asked about costs one atomic load a chunk.
//! The text kept for the download is bounded ([`MAX_TEXT`]); beyond it the tap stops.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::family::Family;
use crate::record::{Options, Writer};
use crate::telemetry::LineTap;

/// The most transcript text a tap keeps (the download); beyond it the tap stops.
pub const MAX_TEXT: usize = 8 << 20;
/// Text chunks a slow console may fall behind by before it misses some (it is told so).
const BACKLOG: usize = 1024;

/// One modem's line, as consoles see it.
#[derive(Debug, Default)]
pub struct Tap {
    on: AtomicBool,
    session: Mutex<Option<Session>>,
}

#[derive(Debug)]
struct Session {
    writer: Writer,
    /// Everything written so far.
    text: String,
    live: broadcast::Sender<String>,
    /// Whether the text reached [`MAX_TEXT`].
    full: bool,
}

impl Tap {
    /// Starts taking the line of a `family` modem if it has not yet, and returns the text so
    /// far with a receiver of what follows.
    pub fn watch(&self, family: Family) -> (String, broadcast::Receiver<String>) {
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let session = session.get_or_insert_with(|| Session {
            writer: Writer::new(family, Options::default(), Instant::now()),
            text: String::new(),
            live: broadcast::channel(BACKLOG).0,
            full: false,
        });
        self.on.store(true, Ordering::Release);
        session.take_text();
        (session.text.clone(), session.live.subscribe())
    }

    /// The transcript so far, complete up to now (what the console downloads).
    pub fn transcript(&self) -> Option<String> {
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let session = session.as_mut()?;
        session.writer.finish();
        session.take_text();
        Some(session.text.clone())
    }

    fn with(&self, f: impl FnOnce(&mut Writer)) {
        if !self.on.load(Ordering::Acquire) {
            return;
        }
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(session) = session.as_mut().filter(|s| !s.full) {
            f(&mut session.writer);
            session.take_text();
        }
    }
}

impl LineTap for Tap {
    fn host(&self, bytes: &[u8]) {
        self.with(|writer| writer.host(bytes, Instant::now()));
    }

    fn modem(&self, bytes: &[u8]) {
        self.with(|writer| writer.modem(bytes, Instant::now()));
    }

    fn note(&self, what: &str) {
        self.with(|writer| writer.note(what, Instant::now()));
    }
}

impl Session {
    /// Moves what the writer has written into the text and out to the consoles.
    fn take_text(&mut self) {
        let new = self.writer.take();
        if new.is_empty() {
            return;
        }
        if self.text.len() + new.len() > MAX_TEXT {
            self.full = true;
            let note = format!("# The console's recording stopped here: it keeps {} MiB.\n", MAX_TEXT >> 20);
            self.text.push_str(&note);
            let _ = self.live.send(note);
            return;
        }
        self.text.push_str(&new);
        // No console listening is not an error: the text is kept for the next one.
        let _ = self.live.send(new);
    }
}
