//! `vmodem serve --demo`: an embedded FTP server and an embedded HTTP server on loopback over a
//! folder of the vendor documents' sample files, reachable at the documents' own server address
//! (`AT+FTPSERV="112.74.93.163"` with user and password `simcomtest`, and
//! `AT+HTTPPARA="URL","112.74.93.163/simftp.txt"`), so a newcomer can type the application
//! note's sessions as printed; and an echo peer at the same address, port 7 (TCP and UDP), for
//! the socket commands.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};

use crate::embedded::echo::EmbeddedEcho;
use crate::embedded::ftp::{EmbeddedFtp, EmbeddedFtpConfig};
use crate::embedded::http::{EmbeddedHttp, EmbeddedHttpConfig};
use crate::family::Family;
use crate::net::Redirect;
use crate::script::Script;
use crate::script::fixtures;

/// The server address and login the SIMCom application notes use.
pub const SAMPLE_SERVER: &str = "112.74.93.163";
/// The port of the demo's echo peer at [`SAMPLE_SERVER`] (the echo protocol's, RFC 862).
pub const ECHO_PORT: u16 = 7;
/// User name and password of the notes.
pub const SAMPLE_LOGIN: &str = "simcomtest";

/// The sample files, written as transcript fixtures: `simftp.txt` is the 50 bytes of the
/// notes' FTPGET examples, with their FTPMDTM time; `rest.txt` the 29 bytes of the FTPREST
/// example; `1K.txt` answers FTPSIZE with 1024.
const SAMPLES: &str = "\
@file simftp.txt = pattern:50
@mtime simftp.txt = 20140409060951
@file rest.txt = text:wodeceshijieguo,zhgeshigeshia
@file 1K.txt = pattern:1024
@file allbytes.bin = bytes:4096
@file firmware.bin = pattern:262144
@dir upload
";

/// A running demo: the FTP and HTTP servers, the echo peer, and the folder served.
pub struct Demo {
    ftp: EmbeddedFtp,
    http: EmbeddedHttp,
    echo: EmbeddedEcho,
    dir: PathBuf,
}

impl Demo {
    /// Refreshes the sample files in `dir` and starts the servers on ephemeral loopback ports.
    /// An error about the folder names it.
    pub async fn start(dir: &Path) -> anyhow::Result<Demo> {
        std::fs::create_dir_all(dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                anyhow!("the demo folder {} exists and is not a folder", dir.display())
            }
            _ => anyhow!("cannot create the demo folder {}: {e}", dir.display()),
        })?;
        let samples = Script::parse(SAMPLES).map_err(anyhow::Error::msg)?;
        fixtures::install(&samples.header, dir)
            .with_context(|| format!("cannot write the sample files into {}", dir.display()))?;
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let ftp = EmbeddedFtp::start(EmbeddedFtpConfig {
            root: dir.to_path_buf(),
            user: SAMPLE_LOGIN.into(),
            password: SAMPLE_LOGIN.into(),
            bind: loopback,
        })
        .await?;
        let http =
            EmbeddedHttp::start(EmbeddedHttpConfig { root: dir.to_path_buf(), bind: loopback, tls: None }).await?;
        let echo = EmbeddedEcho::start(loopback, None).await?;
        Ok(Demo { ftp, http, echo, dir: dir.to_path_buf() })
    }

    /// Where the FTP server listens.
    pub fn ftp_addr(&self) -> SocketAddr {
        self.ftp.addr()
    }

    /// The folder they serve.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the demo keeps the module file system: `<dir>-fs` beside the FTP server's folder.
    pub fn fs_root(&self) -> PathBuf {
        let mut name = self.dir.file_name().unwrap_or_default().to_os_string();
        name.push("-fs");
        self.dir.with_file_name(name)
    }

    /// Sends the notes' server address to the embedded servers: port 21 to FTP, 80 to HTTP,
    /// 7 to the echo peer (its TCP and UDP ports have the same number).
    pub fn redirects(&self) -> [Redirect; 3] {
        [
            Redirect::new(SAMPLE_SERVER, Some(21), self.ftp.addr()),
            Redirect::new(SAMPLE_SERVER, Some(80), self.http.addr()),
            Redirect::new(SAMPLE_SERVER, Some(ECHO_PORT), self.echo.tcp_addr()),
        ]
    }

    /// What to print so a newcomer can start: how to connect to a modem of `family` and a
    /// session to type, in that family's commands.
    pub fn banner(&self, line: &str, family: Family) -> String {
        let session: String = try_session(family).iter().map(|l| format!("  {l}\n")).collect();
        format!(
            "vmodem demo: a {family} on {line}\n\
             FTP server {ftp} (also reachable as {SAMPLE_SERVER}:21), user/password {SAMPLE_LOGIN}, serving {dir}\n\
             HTTP server {http} (also reachable as {SAMPLE_SERVER}:80), serving the same folder\n\
             echo peer {echo} TCP and UDP (also reachable as {SAMPLE_SERVER}:{ECHO_PORT})\n\
             module file system in {fs}\n\
             \n\
             Try (each line ends with Enter):\n{session}",
            ftp = self.ftp.addr(),
            http = self.http.addr(),
            echo = self.echo.tcp_addr(),
            dir = self.dir.display(),
            fs = self.fs_root().display(),
        )
    }
}

/// A first session for `family`: its bearer, then a download of the sample file.
fn try_session(family: Family) -> Vec<String> {
    let login = [
        format!("AT+FTPSERV=\"{SAMPLE_SERVER}\""),
        format!("AT+FTPUN=\"{SAMPLE_LOGIN}\""),
        format!("AT+FTPPW=\"{SAMPLE_LOGIN}\""),
        "AT+FTPGETNAME=\"simftp.txt\"".into(),
        "AT+FTPGETPATH=\"/\"".into(),
        "AT+FTPGET=1          (wait for +FTPGET: 1,1)".into(),
        "AT+FTPGET=2,1024".into(),
    ];
    match family {
        Family::L610 => vec![
            "AT+MIPCALL=1,\"CMNET\"   (wait for +MIPCALL: <ip>)".into(),
            format!("AT+FTPOPEN=\"{SAMPLE_SERVER}\",\"{SAMPLE_LOGIN}\",\"{SAMPLE_LOGIN}\"   (wait for +FTPOPEN: 1)"),
            "AT+FTPGET=\"simftp.txt\"   (wait for +FTPGET: 1)".into(),
            "AT+FTPRECV=1024".into(),
            "AT+FTPCLOSE".into(),
        ],
        Family::Sim7080 | Family::Sim7070 | Family::Sim7090 => {
            ["AT+CNACT=0,1".into(), "AT+FTPCID=0".into()].into_iter().chain(login).collect()
        }
        Family::Sim7000 | Family::Sim800 | Family::Sim900 => {
            ["AT+SAPBR=3,1,\"APN\",\"CMNET\"".into(), "AT+SAPBR=1,1".into(), "AT+FTPCID=1".into()]
                .into_iter()
                .chain(login)
                .collect()
        }
    }
}
