//! FTPS through the modem, as a SIM7080 host sets it up (AN7080-CN §5.2): the CA certificate
//! written with `AT+CFSWFILE`, converted with `AT+CSSLCFG="CONVERT",2,...`, then
//! `AT+FTPSSL=<1 implicit|2 explicit>,0,"<calist>",""` and an ordinary `AT+FTPGET` /
//! `AT+FTPPUT`, against vsftpd and proftpd as scripts/test-servers.sh starts them (their test
//! CA issues the servers' certificate for `localhost`, so the context's SNI name is set to it;
//! the host's FTPSERV is the application notes' address, redirected to the server), and the extended and
//! ET transfers over it.

use crate::support::{pki, rig};

use std::net::SocketAddr;

use pki::Pki;
use rcgen::KeyPair;
use rig::*;

/// The test servers' CA certificate (PEM).
fn test_ca() -> Vec<u8> {
    let path = ServersEnv::load().get("CA_PEM");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The server's implicit-FTPS address.
fn implicit_addr(kind: Kind) -> SocketAddr {
    let key = match kind {
        Kind::Vsftpd => "VSFTPD_IMPLICIT_PORT",
        Kind::Proftpd => "PROFTPD_IMPLICIT_PORT",
        Kind::Libunftp => panic!("the embedded server has no implicit FTPS"),
    };
    let port: u16 = ServersEnv::load().get(key).parse().expect("a port number in servers.env");
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Writes `ca` into /customer/ as `name` and converts it as a CA list.
async fn install_ca(m: &mut Rig, name: &str, ca: &[u8]) {
    m.ok("AT+CFSINIT").await;
    let cmd = format!("AT+CFSWFILE=3,\"{name}\",0,{},5000", ca.len());
    m.send_data(&cmd, "DOWNLOAD", ca).await.expect("the certificate is written");
    m.ok("AT+CFSTERM").await;
    m.ok(&format!("AT+CSSLCFG=\"convert\",2,\"{name}\"")).await;
}

/// A download and an upload of every byte value, both checked by hash.
async fn round_trip(server: &Server, m: &mut Rig) {
    let file = every_byte(512);
    server.write("tls.bin", &file);
    let (code, data) = get(m, "tls.bin").await;
    assert_eq!(code, 0);
    assert_eq!(sha256(&data), sha256(&file));
    assert_eq!(put(m, "up.bin", &file).await.code, 0);
    assert_eq!(sha256(&server.read("up.bin")), sha256(&file));
    assert_idle(m).await;
}

/// Explicit FTPS (`AUTH TLS` on the control port), the server's certificate verified.
async fn explicit(server: Server) {
    let mut m = server.modem().await;
    install_ca(&mut m, "ca.pem", &test_ca()).await;
    m.ok("AT+CSSLCFG=\"SNI\",0,\"localhost\"").await;
    m.ok("AT+FTPSSL=2,0,\"ca.pem\",\"\"").await;
    round_trip(&server, &mut m).await;
}

/// Implicit FTPS (TLS from the first byte, the application notes' port 990).
async fn implicit(server: Server) {
    let mut m = server.modem_with(implicit_addr(server.kind), Vec::new()).await;
    install_ca(&mut m, "ca.pem", &test_ca()).await;
    m.ok("AT+CSSLCFG=\"SNI\",0,\"localhost\"").await;
    m.ok("AT+FTPSSL=1,0,\"ca.pem\",\"\"").await;
    round_trip(&server, &mut m).await;
}

/// The certificate does not name the server the host asked for (the context's SNI name,
/// which the certificate is checked against): the handshake fails, `+FTPGET: 1,90`.
async fn wrong_name(server: Server) {
    server.write("tls.bin", b"x");
    let mut m = server.modem().await;
    install_ca(&mut m, "ca.pem", &test_ca()).await;
    m.ok("AT+CSSLCFG=\"SNI\",0,\"ftp.example.com\"").await;
    m.ok("AT+FTPSSL=2,0,\"ca.pem\",\"\"").await;
    let (code, data) = get(&mut m, "tls.bin").await;
    assert_eq!((code, data.len()), (90, 0));
    assert_idle(&mut m).await;
}

/// Without a CA list the module does not check the certificate (the handshake signatures
/// still are): the same server works with no SNI name and nothing converted.
async fn no_ca_list(server: Server) {
    let mut m = server.modem().await;
    m.ok("AT+FTPSSL=2,0,\"\",\"\"").await;
    round_trip(&server, &mut m).await;
}

/// A CA list that did not issue the server's certificate: `+FTPGET: 1,90`.
async fn untrusted(server: Server) {
    server.write("tls.bin", b"x");
    let mut m = server.modem().await;
    let other = rcgen::generate_simple_self_signed(vec!["other CA".to_string()]).expect("a certificate");
    install_ca(&mut m, "other.pem", other.cert.pem().as_bytes()).await;
    m.ok("AT+CSSLCFG=\"SNI\",0,\"localhost\"").await;
    m.ok("AT+FTPSSL=2,0,\"other.pem\",\"\"").await;
    assert_eq!(get(&mut m, "tls.bin").await.0, 90);
}

/// The SIM7080's other transfers over explicit FTPS: `AT+FTPEXTGET=2` into the module file
/// system and the `AT+FTPETGET` stream of a file of 64 MiB and a bit, and an `AT+FTPEXTPUT`
/// upload, each checked by hash.
async fn extended_over_tls(server: Server) {
    let file = pattern(64 * 1024 * 1024 + 321, 3);
    server.write("tls.bin", &file);
    let mut m = server.modem().await;
    install_ca(&mut m, "ca.pem", &test_ca()).await;
    m.ok("AT+CSSLCFG=\"SNI\",0,\"localhost\"").await;
    m.ok("AT+FTPSSL=2,0,\"ca.pem\",\"\"").await;
    m.ok("AT+FTPGETNAME=\"tls.bin\"").await;

    m.ok("AT+FTPEXTGET=2,2,\"tls.bin\"").await;
    assert_eq!(m.session_end("+FTPEXTGETFILE").await.code, 0);
    let stored = std::fs::read(m.module_file("datatx", "tls.bin")).expect("the downloaded file");
    assert_eq!(sha256(&stored), sha256(&file));

    m.ok("AT+FTPETGET=1").await;
    let mut streamed = Vec::new();
    let (end, _) = m.et_get(|b| streamed.extend_from_slice(b)).await;
    assert_eq!(end.code, 0);
    assert_eq!(sha256(&streamed), sha256(&file));

    m.ok("AT+FTPPUTNAME=\"up.bin\"").await;
    m.ok("AT+FTPEXTPUT=1").await;
    let piece = &file[..64 * 1024];
    m.send_data("AT+FTPEXTPUT=2,0,65536,10000", "+FTPEXTPUT: 0,65536", piece).await.expect("the buffer loads");
    m.ok("AT+FTPPUT=1").await;
    assert_eq!(m.session_end("+FTPPUT").await.code, 0);
    assert_eq!(sha256(&server.read("up.bin")), sha256(piece));
    assert_idle(&mut m).await;
}

/// Twenty FTPS sessions in a row through one modem (a download and an upload each), against
/// servers that insist on TLS session reuse on the data connection: all complete, all whole.
async fn consecutive(server: Server) {
    let mut m = server.modem().await;
    install_ca(&mut m, "ca.pem", &test_ca()).await;
    m.ok("AT+CSSLCFG=\"SNI\",0,\"localhost\"").await;
    m.ok("AT+FTPSSL=2,0,\"ca.pem\",\"\"").await;
    for i in 0..20u64 {
        let file = pattern(10_000 + i as usize, i);
        server.write("tls.bin", &file);
        let (code, data) = get(&mut m, "tls.bin").await;
        assert_eq!(code, 0, "download {i}");
        assert_eq!(sha256(&data), sha256(&file), "download {i}");
        assert_eq!(put(&mut m, "up.bin", &file).await.code, 0, "upload {i}");
        assert_eq!(sha256(&server.read("up.bin")), sha256(&file), "upload {i}");
    }
    assert_idle(&mut m).await;
}

server_tests!(vsftpd, super::Kind::Vsftpd, ignore = "needs the Debian test servers (scripts/test.sh starts them)"; explicit, implicit, wrong_name, no_ca_list, untrusted, extended_over_tls, consecutive);
server_tests!(proftpd, super::Kind::Proftpd, ignore = "needs the Debian test servers (scripts/test.sh starts them)"; explicit, implicit, wrong_name, no_ca_list, untrusted, extended_over_tls, consecutive);

/// A server without TLS refuses `AUTH TLS`: `+FTPGET: 1,92`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_server_refuses_auth() {
    run(Kind::Libunftp, |server| async move {
        server.write("tls.bin", b"x");
        let mut m = server.modem().await;
        m.ok("AT+FTPSSL=2,0,\"\",\"\"").await;
        assert_eq!(get(&mut m, "tls.bin").await.0, 92);
        assert_idle(&mut m).await;
    })
    .await;
}

/// Forty explicit-FTPS sessions in a row against the embedded server, each answering `234` to
/// `AUTH TLS` and reading the handshake that follows at once: every one completes (libunftp
/// 0.24.0 unpatched read the ClientHello as a command in about one session in ten).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_server_upgrades_every_session() {
    let servers = Pki::new("server test CA");
    let (_files, ftps) = servers.embedded_ftps(None);
    let server = Server::embedded_ftps(ftps).await;
    let mut m = server.modem().await;
    install_ca(&mut m, "ca.pem", servers.ca_pem.as_bytes()).await;
    m.ok("AT+CSSLCFG=\"SNI\",0,\"localhost\"").await;
    m.ok("AT+FTPSSL=2,0,\"ca.pem\",\"\"").await;
    for i in 0..40u64 {
        let file = pattern(1000 + i as usize, i);
        server.write("tls.bin", &file);
        let (code, data) = get(&mut m, "tls.bin").await;
        assert_eq!((code, sha256(&data)), (0, sha256(&file)), "session {i}");
    }
    assert_idle(&mut m).await;
}

/// A server that requires a client certificate (the embedded server with mutual TLS): the
/// certificate and its key written with `AT+CFSWFILE`, converted with
/// `AT+CSSLCFG="CONVERT",1,<cert>,<key>` and named in `AT+FTPSSL` make the session work; without
/// them the server's refusal ends it with an SSL code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_from_the_file_system() {
    let servers = Pki::new("server test CA");
    let clients = Pki::new("client test CA");
    let (_files, ftps) = servers.embedded_ftps(Some(&clients));
    let client_key = KeyPair::generate().expect("a client key");
    let client_cert = clients.sign(&["client"], &client_key);
    let server = Server::embedded_ftps(ftps).await;
    server.write("tls.bin", b"for clients only\n");

    let mut m = server.modem().await;
    install_ca(&mut m, "ca.pem", servers.ca_pem.as_bytes()).await;
    m.ok("AT+CSSLCFG=\"SNI\",0,\"localhost\"").await;
    m.ok("AT+FTPSSL=2,0,\"ca.pem\",\"\"").await;
    // The server refuses with an alert (91); when its close overtakes the alert, the client
    // sees a failed handshake instead (90). Either way no data, and an SSL code.
    let (code, data) = get(&mut m, "tls.bin").await;
    assert!(matches!(code, 90 | 91) && data.is_empty(), "without a client certificate: {code}");

    m.ok("AT+CFSINIT").await;
    for (name, text) in [("client.crt", client_cert.as_str()), ("client.key", &client_key.serialize_pem())] {
        let cmd = format!("AT+CFSWFILE=3,\"{name}\",0,{},5000", text.len());
        m.send_data(&cmd, "DOWNLOAD", text.as_bytes()).await.expect("the file is written");
    }
    m.ok("AT+CFSTERM").await;
    m.ok("AT+CSSLCFG=\"CONVERT\",1,\"client.crt\",\"client.key\"").await;
    m.ok("AT+FTPSSL=2,0,\"ca.pem\",\"client.crt\"").await;
    let (code, data) = get(&mut m, "tls.bin").await;
    assert_eq!((code, data.as_slice()), (0, &b"for clients only\n"[..]));
    assert_idle(&mut m).await;
}
