//! A scripted fake FTP server for the edge cases no real server produces on demand: the test
//! writes the server's side as an async script over one control connection (send this reply,
//! expect that command, open a passive port, stall, ...). Loopback only.

use std::future::Future;
use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A fake server running one script.
pub struct FakeFtp {
    /// Where the control connection goes.
    pub addr: SocketAddr,
    script: JoinHandle<()>,
}

impl FakeFtp {
    /// Listens on `ip` (port 0) and runs `script` on the first connection.
    pub async fn start_on<F, Fut>(ip: &str, script: F) -> std::io::Result<FakeFtp>
    where
        F: FnOnce(Conn) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind((ip, 0)).await?;
        let addr = listener.local_addr()?;
        let script = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.expect("fake FTP: accept");
            let (read, write) = stream.into_split();
            script(Conn::new(read, write)).await;
        });
        Ok(FakeFtp { addr, script })
    }

    /// Listens on 127.0.0.1.
    pub async fn start<F, Fut>(script: F) -> FakeFtp
    where
        F: FnOnce(Conn) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self::start_on("127.0.0.1", script).await.expect("fake FTP: bind")
    }

    /// Waits for the script to end, re-raising its assertion failures.
    pub async fn done(self) {
        if let Err(e) = self.script.await {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

/// The server's end of the control connection.
pub struct Conn {
    read: BufReader<Box<dyn AsyncRead + Send + Unpin>>,
    write: Box<dyn AsyncWrite + Send + Unpin>,
}

impl Conn {
    /// A control connection over any byte stream's halves (plain TCP, or TLS for FTPS).
    pub fn new(read: impl AsyncRead + Send + Unpin + 'static, write: impl AsyncWrite + Send + Unpin + 'static) -> Conn {
        Conn { read: BufReader::new(Box::new(read)), write: Box::new(write) }
    }

    /// Sends one reply line (CRLF added).
    pub async fn reply(&mut self, line: &str) {
        self.raw(format!("{line}\r\n").as_bytes()).await;
    }

    /// Sends bytes as they are.
    pub async fn raw(&mut self, bytes: &[u8]) {
        self.write.write_all(bytes).await.expect("fake FTP: write");
    }

    /// Like `raw`, but reports failure (the client may have hung up).
    pub async fn try_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.write.write_all(bytes).await
    }

    /// The next command line without CRLF; empty when the client closed the connection.
    pub async fn command(&mut self) -> String {
        let mut line = String::new();
        self.read.read_line(&mut line).await.expect("fake FTP: read");
        line.trim_end_matches(['\r', '\n']).to_string()
    }

    /// Reads the next command and checks it.
    pub async fn expect(&mut self, want: &str) {
        let got = self.command().await;
        assert_eq!(got, want, "fake FTP expected {want:?}");
    }

    /// Greeting, USER/331, PASS/230, TYPE I/200.
    pub async fn login(&mut self) {
        self.reply("220 fake ready").await;
        self.expect("USER u").await;
        self.reply("331 password please").await;
        self.expect("PASS p").await;
        self.reply("230 logged in").await;
        self.expect("TYPE I").await;
        self.reply("200 binary").await;
    }

    /// Answers an expected `EPSV` with a fresh data port.
    pub async fn epsv(&mut self) -> TcpListener {
        self.expect("EPSV").await;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("fake FTP: data bind");
        let port = listener.local_addr().expect("fake FTP: data addr").port();
        self.reply(&format!("229 Entering Extended Passive Mode (|||{port}|)")).await;
        listener
    }
}

/// Accepts the client's data connection.
pub async fn accept(listener: &TcpListener) -> TcpStream {
    listener.accept().await.expect("fake FTP: data accept").0
}
