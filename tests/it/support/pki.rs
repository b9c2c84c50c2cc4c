//! Certificates made for a test: a CA (rcgen) and what it signs, and `openssl` for the key
//! formats rcgen does not write. Shared by several test files, each of which uses a part of it.
#![allow(dead_code)]

use std::process::Command;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PublicKeyData};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use vmodem::embedded::ftp::EmbeddedFtps;

/// A CA made for one test, and what it signs.
pub struct Pki {
    pub ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    /// A new CA named `name` (distinct names: a CA of the same name as the real issuer would be
    /// tried as the issuer and fail differently).
    pub fn new(name: &str) -> Pki {
        let key = KeyPair::generate().expect("a CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_pem = params.self_signed(&key).expect("a CA certificate").pem();
        Pki { ca_pem, issuer: Issuer::new(params, key) }
    }

    /// A certificate (PEM) for `key`, valid for `names`, signed by this CA.
    pub fn sign(&self, names: &[&str], key: &impl PublicKeyData) -> String {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let params = CertificateParams::new(names).expect("certificate parameters");
        params.signed_by(key, &self.issuer).expect("a certificate").pem()
    }

    /// A server certificate for localhost and 127.0.0.1 and its PKCS#8 key, both PEM.
    pub fn server(&self) -> (String, String) {
        self.server_for(&["localhost", "127.0.0.1"])
    }

    /// A server certificate for `names` (host names or IP addresses) and its PKCS#8 key.
    pub fn server_for(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().expect("a server key");
        (self.sign(names, &key), key.serialize_pem())
    }

    /// Certificate files for the embedded server: a certificate of this CA for localhost, and
    /// with `clients` the CA whose client certificates it then requires. The files live as
    /// long as the returned folder.
    pub fn embedded_ftps(&self, clients: Option<&Pki>) -> (tempfile::TempDir, EmbeddedFtps) {
        self.embedded_ftps_for(&["localhost", "127.0.0.1"], clients)
    }

    /// Like [`embedded_ftps`](Self::embedded_ftps), with a certificate for `names`.
    pub fn embedded_ftps_for(&self, names: &[&str], clients: Option<&Pki>) -> (tempfile::TempDir, EmbeddedFtps) {
        let files = tempfile::tempdir().expect("a folder for certificates");
        let (cert, key) = self.server_for(names);
        let file = |name: &str, text: &str| {
            let path = files.path().join(name);
            std::fs::write(&path, text).expect("write a certificate file");
            path
        };
        let ftps = EmbeddedFtps {
            cert: file("server.pem", &cert),
            key: file("server.key", &key),
            client_ca: clients.map(|ca| file("client-ca.pem", &ca.ca_pem)),
        };
        (files, ftps)
    }

    /// A rustls server configuration (TLS 1.2) with a certificate of this CA.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let (cert, key) = self.server();
        let chain = vec![CertificateDer::from_pem_slice(cert.as_bytes()).expect("a PEM certificate")];
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("a PEM key");
        let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS12])
            .expect("TLS 1.2")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("a server configuration");
        Arc::new(config)
    }
}

/// Runs `openssl` with `args`; its standard output.
pub fn openssl(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl (scripts/test-servers.sh install provides it)");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), input).expect("write to openssl");
    let out = child.wait_with_output().expect("openssl output");
    assert!(out.status.success(), "openssl {args:?} failed");
    out.stdout
}
