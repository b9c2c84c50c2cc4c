//! TLS for the services: a rustls client configuration for one session, built from the settings
//! a dialect collects (SIMCom `AT+CSSLCFG`, `AT+FTPSSL`, `AT+HTTPSSL`): the CA list, an
//! optional client certificate, whether the server's certificate is checked, the TLS versions
//! and the server name. FTPS and HTTPS share it, and its classification of failed handshakes
//! ([`HandshakeFailure`]).
//!
//! Every configuration gets its own session store ([`with_fresh_sessions`]): one FTP session's
//! control and data connections resume each other's TLS sessions (servers that insist on it,
//! such as vsftpd's `require_ssl_reuse` and proftpd's default, refuse data connections that do
//! not), while tickets never leak from one FTP session into the next (rustls keys its store by
//! server name only, and proftpd refuses a data connection that resumes another session's
//! ticket).
//!
//! Only the ring crypto provider is used, so no process-wide default provider is needed.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// TLS sessions one store keeps: one FTP session needs one per server (TLS 1.2), or a few
/// tickets (TLS 1.3).
const SESSIONS_PER_STORE: usize = 32;

/// The TLS versions a session may negotiate.
///
/// SIMCom's `AT+CSSLCFG="SSLVERSION",<ctx>,<ver>` maps to these: 0 (any) is [`Any`](Self::Any)
/// and 3 (TLS 1.2) is [`Tls12`](Self::Tls12); TLS 1.0 and 1.1 (1 and 2) are not offered by
/// rustls. The modules have no value for TLS 1.3 alone: [`Tls13`](Self::Tls13) is for vmodem's
/// own settings (a configuration file, a test).
///
/// TLS 1.2 is the default: a TLS 1.2 session resumes as often as needed, while rustls uses each
/// TLS 1.3 ticket once and proftpd issues none on upload connections, so a proftpd session with
/// many transfers runs out of tickets and its next data connection, a full handshake, is
/// refused (425). libunftp leaves TLS 1.3 off by default for its own reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVersions {
    /// TLS 1.2 only.
    #[default]
    Tls12,
    /// TLS 1.3 only.
    Tls13,
    /// TLS 1.3 or 1.2, whichever the server prefers of the two.
    Any,
}

/// Whether the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verification {
    /// The chain must lead to one of the CA certificates, and name the server.
    #[default]
    Verify,
    /// Any certificate for any name is accepted (the modules' "ignore certificate" setting).
    /// The server must still prove it holds the certificate's key (the handshake signatures
    /// are checked), but nothing stops a man in the middle presenting a certificate of its own.
    IgnoreCertificate,
}

/// A client certificate chain and its private key, for servers that ask for client
/// authentication. Both are PEM or DER; the key is PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The client certificate first, then any intermediates: PEM (one or more certificates)
    /// or one DER certificate.
    pub chain: Vec<u8>,
    /// The private key of the first certificate: PEM or DER.
    pub key: Vec<u8>,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity").field("chain", &self.chain.len()).field("key", &"****").finish()
    }
}

/// What one session's TLS needs: the settings of an SSL context as a modem stores them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// The trusted CA certificates: PEM with one or more certificates, or one DER
    /// certificate. May be empty only with [`Verification::IgnoreCertificate`].
    pub ca: Vec<u8>,
    /// A client certificate for servers that ask for one.
    pub identity: Option<ClientIdentity>,
    /// Whether the server's certificate is checked.
    pub verification: Verification,
    /// The versions offered.
    pub versions: TlsVersions,
    /// The name sent in SNI and checked against the certificate, instead of the host
    /// (`AT+CSSLCFG="SNI"`).
    pub sni: Option<String>,
}

/// Why a TLS configuration cannot be built from the settings.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// No CA certificate was given while certificates are to be checked.
    #[error("no CA certificate given (only the ignore-certificate mode may go without)")]
    NoCa,
    /// The CA list holds no usable certificate.
    #[error("CA list: {0}")]
    Ca(String),
    /// The client certificate chain holds no usable certificate.
    #[error("client certificate: {0}")]
    ClientCertificate(String),
    /// The client key is not a private key rustls can use.
    #[error("client key: {0}")]
    ClientKey(String),
    /// The server name (the host or the SNI setting) is neither a DNS name nor an IP address.
    #[error("invalid server name {0:?}")]
    ServerName(String),
    /// rustls refused the combination (a key that does not match the certificate, say).
    #[error(transparent)]
    Rustls(#[from] rustls::Error),
}

impl TlsSettings {
    /// A client configuration for these settings, with a session store of its own.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsConfigError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = match self.versions {
            TlsVersions::Tls12 => &[&rustls::version::TLS12],
            TlsVersions::Tls13 => &[&rustls::version::TLS13],
            TlsVersions::Any => &[&rustls::version::TLS13, &rustls::version::TLS12],
        };
        let builder = ClientConfig::builder_with_provider(provider.clone()).with_protocol_versions(versions)?;
        let builder = match self.verification {
            Verification::Verify => builder.with_root_certificates(self.roots()?),
            Verification::IgnoreCertificate => {
                tracing::warn!(target: "vmodem::tls", "server certificates are not checked for this session");
                builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            }
        };
        let mut config = match &self.identity {
            None => builder.with_no_client_auth(),
            Some(identity) => {
                let chain = certificates(&identity.chain).map_err(TlsConfigError::ClientCertificate)?;
                builder.with_client_auth_cert(chain, private_key(&identity.key)?)?
            }
        };
        config.resumption = fresh_resumption();
        Ok(Arc::new(config))
    }

    /// The name a session with `host` uses for SNI and to check the certificate: the SNI
    /// setting if there is one, else the host; an IP address is checked against the
    /// certificate's IP addresses (and sent without SNI).
    pub fn server_name(&self, host: &str) -> Result<ServerName<'static>, TlsConfigError> {
        let name = self.sni.as_deref().filter(|s| !s.is_empty()).unwrap_or(host);
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Ok(ServerName::IpAddress(ip.into()));
        }
        ServerName::try_from(name.to_string()).map_err(|_| TlsConfigError::ServerName(name.to_string()))
    }

    fn roots(&self) -> Result<RootCertStore, TlsConfigError> {
        if self.ca.iter().all(u8::is_ascii_whitespace) {
            return Err(TlsConfigError::NoCa);
        }
        let mut roots = RootCertStore::empty();
        for cert in certificates(&self.ca).map_err(TlsConfigError::Ca)? {
            roots.add(cert).map_err(|e| TlsConfigError::Ca(e.to_string()))?;
        }
        Ok(roots)
    }
}

/// Why a TLS handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeFailure {
    /// rustls refused the handshake; [`rustls::Error::InvalidCertificate`] says the server's
    /// certificate was rejected (unknown issuer, wrong name, expired, bad signature).
    #[error(transparent)]
    Tls(rustls::Error),
    /// The connection failed or closed during the handshake (FTP servers that insist on TLS
    /// session reuse hang up on a data connection that does not resume).
    #[error("connection lost during the handshake: {0}")]
    Io(io::Error),
}

impl HandshakeFailure {
    /// Whether the server's certificate was rejected (untrusted, wrong name, expired, a bad
    /// handshake signature), as opposed to a failed negotiation or a lost connection.
    pub fn is_certificate(&self) -> bool {
        matches!(self, HandshakeFailure::Tls(rustls::Error::InvalidCertificate(_)))
    }
}

/// The rustls error inside an IO error from a TLS stream, if there is one.
pub(crate) fn rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

/// A copy of `config` with a new, empty session store: what every FTP session starts from,
/// so that no ticket of an earlier session is ever offered.
pub fn with_fresh_sessions(config: &ClientConfig) -> Arc<ClientConfig> {
    let mut config = config.clone();
    config.resumption = fresh_resumption();
    Arc::new(config)
}

fn fresh_resumption() -> Resumption {
    Resumption::store(Arc::new(ClientSessionMemoryCache::new(SESSIONS_PER_STORE)))
}

/// Whether `bytes` are PEM text rather than DER.
fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// The certificates of a PEM text (all of them), or one DER certificate.
fn certificates(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    if !is_pem(bytes) {
        // A DER certificate is an ASN.1 SEQUENCE; anything else is neither form.
        return match bytes.first() {
            Some(0x30) => Ok(vec![CertificateDer::from(bytes.to_vec())]),
            _ => Err("neither PEM nor a DER certificate".into()),
        };
    }
    let certs = CertificateDer::pem_slice_iter(bytes).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
    match certs.is_empty() {
        true => Err("no CERTIFICATE in the PEM text".into()),
        false => Ok(certs),
    }
}

/// A private key from PEM (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`) or DER.
fn private_key(bytes: &[u8]) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    let key = match is_pem(bytes) {
        true => PrivateKeyDer::from_pem_slice(bytes).map_err(|e| e.to_string()),
        false => PrivateKeyDer::try_from(bytes.to_vec()).map_err(str::to_string),
    };
    key.map_err(TlsConfigError::ClientKey)
}

/// The ignore-certificate verifier: every chain and name is accepted, but the handshake
/// signatures are still checked with the provider's algorithms, so the server must hold the
/// private key of the certificate it sent.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use rustls::server::{ClientHello, ResolvesServerCert};
    use rustls::sign::CertifiedKey;
    use rustls::{CertificateError, ClientConnection, ServerConfig, ServerConnection};

    use super::*;

    /// A CA and a server certificate it signed for `localhost` and 127.0.0.1.
    struct Pki {
        ca_pem: String,
        ca_der: Vec<u8>,
        server_chain: Vec<CertificateDer<'static>>,
        server_key: KeyPair,
    }

    fn pki() -> Pki {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        // Distinct names: a CA of the same name would be tried as the issuer (BadSignature).
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, format!("test CA {n}"));
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        let server = params.signed_by(&server_key, &issuer).unwrap();
        Pki { ca_pem: ca.pem(), ca_der: ca.der().to_vec(), server_chain: vec![server.der().clone()], server_key }
    }

    /// Serves `chain` but signs with `key` (which need not belong to it).
    #[derive(Debug)]
    struct Serve(Arc<CertifiedKey>);

    impl ResolvesServerCert for Serve {
        fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
            Some(self.0.clone())
        }
    }

    fn server_config(chain: Vec<CertificateDer<'static>>, key: &KeyPair) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        let signer = provider.key_provider.load_private_key(key).unwrap();
        let resolver = Serve(Arc::new(CertifiedKey::new(chain, signer)));
        let config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        Arc::new(config)
    }

    /// Runs a handshake in memory; the client's error if it fails.
    fn handshake(
        client: &TlsSettings,
        host: &str,
        server: Arc<ServerConfig>,
    ) -> Result<ClientConnection, rustls::Error> {
        let name = client.server_name(host).unwrap();
        let mut c = ClientConnection::new(client.client_config().unwrap(), name)?;
        let mut s = ServerConnection::new(server)?;
        for _ in 0..10 {
            let done = !c.is_handshaking() && !s.is_handshaking();
            let mut wire = Vec::new();
            c.write_tls(&mut wire).unwrap();
            s.read_tls(&mut wire.as_slice()).unwrap();
            // A server-side failure shows as the alert the client then receives.
            let _ = s.process_new_packets();
            let mut wire = Vec::new();
            s.write_tls(&mut wire).unwrap();
            c.read_tls(&mut wire.as_slice()).unwrap();
            c.process_new_packets()?;
            // One more round after the handshake delivers TLS 1.3 session tickets.
            if done {
                return Ok(c);
            }
        }
        panic!("the handshake did not finish");
    }

    fn verify(ca: &[u8]) -> TlsSettings {
        TlsSettings { ca: ca.to_vec(), ..TlsSettings::default() }
    }

    #[test]
    fn ca_lists_in_pem_or_der() {
        let (a, b) = (pki(), pki());
        let both = format!("{}\n{}", a.ca_pem, b.ca_pem);
        assert_eq!(verify(both.as_bytes()).roots().unwrap().len(), 2);
        assert_eq!(verify(&a.ca_der).roots().unwrap().len(), 1);
        assert!(matches!(verify(b"").client_config(), Err(TlsConfigError::NoCa)));
        assert!(matches!(verify(b"\r\n").client_config(), Err(TlsConfigError::NoCa)));
        assert!(matches!(verify(b"not a certificate").client_config(), Err(TlsConfigError::Ca(_))));
        assert!(matches!(verify(b"-----BEGIN PRIVATE KEY-----\n").client_config(), Err(TlsConfigError::Ca(_))));
        let ignore = TlsSettings { verification: Verification::IgnoreCertificate, ..TlsSettings::default() };
        assert!(ignore.client_config().is_ok(), "no CA is fine when certificates are not checked");
    }

    #[test]
    fn server_names() {
        let settings = TlsSettings::default();
        assert_eq!(
            settings.server_name("127.0.0.1").unwrap(),
            ServerName::IpAddress("127.0.0.1".parse::<IpAddr>().unwrap().into())
        );
        assert_eq!(
            settings.server_name("::1").unwrap(),
            ServerName::IpAddress("::1".parse::<IpAddr>().unwrap().into())
        );
        assert_eq!(settings.server_name("ftp.example.com").unwrap(), ServerName::try_from("ftp.example.com").unwrap());
        assert!(matches!(settings.server_name("bad name!"), Err(TlsConfigError::ServerName(_))));
        let sni = TlsSettings { sni: Some("localhost".into()), ..TlsSettings::default() };
        assert_eq!(sni.server_name("127.0.0.1").unwrap(), ServerName::try_from("localhost").unwrap());
    }

    #[test]
    fn verified_handshakes_check_the_issuer_and_the_name() {
        let (good, other) = (pki(), pki());
        let server = || server_config(good.server_chain.clone(), &good.server_key);
        for versions in [TlsVersions::Tls12, TlsVersions::Tls13, TlsVersions::Any] {
            let settings = TlsSettings { versions, ..verify(good.ca_pem.as_bytes()) };
            let c = handshake(&settings, "localhost", server()).unwrap();
            let want = match versions {
                TlsVersions::Tls12 => rustls::ProtocolVersion::TLSv1_2,
                _ => rustls::ProtocolVersion::TLSv1_3,
            };
            assert_eq!(c.protocol_version(), Some(want));
            handshake(&settings, "127.0.0.1", server()).unwrap();
        }
        let err = handshake(&verify(&other.ca_der), "localhost", server()).unwrap_err();
        assert_eq!(err, rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer));
        let err = handshake(&verify(good.ca_pem.as_bytes()), "example.com", server()).unwrap_err();
        assert!(
            matches!(err, rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn ignore_mode_accepts_any_certificate_but_checks_the_signature() {
        let (good, other) = (pki(), pki());
        for versions in [TlsVersions::Tls12, TlsVersions::Tls13] {
            let ignore = TlsSettings {
                ca: other.ca_pem.clone().into_bytes(),
                verification: Verification::IgnoreCertificate,
                versions,
                ..TlsSettings::default()
            };
            handshake(&ignore, "example.com", server_config(good.server_chain.clone(), &good.server_key)).unwrap();
            // The server sends one certificate and signs with another key.
            let forged = server_config(good.server_chain.clone(), &other.server_key);
            let err = handshake(&ignore, "localhost", forged).unwrap_err();
            assert_eq!(err, rustls::Error::InvalidCertificate(CertificateError::BadSignature), "{versions:?}");
        }
    }

    #[test]
    fn client_identities_in_pem_or_der() {
        let a = pki();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["client".to_string()]).unwrap().self_signed(&key).unwrap();
        let with = |chain: Vec<u8>, key: Vec<u8>| TlsSettings {
            identity: Some(ClientIdentity { chain, key }),
            ..verify(a.ca_pem.as_bytes())
        };
        with(cert.pem().into_bytes(), key.serialize_pem().into_bytes()).client_config().unwrap();
        with(cert.der().to_vec(), key.serialize_der()).client_config().unwrap();
        assert!(matches!(private_key(key.serialize_pem().as_bytes()), Ok(PrivateKeyDer::Pkcs8(_))));
        assert!(matches!(
            with(cert.der().to_vec(), b"junk".to_vec()).client_config(),
            Err(TlsConfigError::ClientKey(_))
        ));
        assert!(matches!(
            with(b"junk".to_vec(), key.serialize_der()).client_config(),
            Err(TlsConfigError::ClientCertificate(_))
        ));
        let other_key = KeyPair::generate().unwrap();
        let mismatch = with(cert.der().to_vec(), other_key.serialize_der()).client_config();
        assert!(matches!(mismatch, Err(TlsConfigError::Rustls(rustls::Error::InconsistentKeys(_)))), "{mismatch:?}");
        let text = format!("{:?}", with(cert.der().to_vec(), key.serialize_der()));
        assert!(text.contains("key: \"****\""), "{text}");
    }

    #[test]
    fn sessions_resume_within_a_store_and_never_across_stores() {
        use rustls::HandshakeKind::{Full, Resumed};
        let p = pki();
        let server = server_config(p.server_chain.clone(), &p.server_key);
        for versions in [TlsVersions::Tls12, TlsVersions::Tls13] {
            let settings = TlsSettings { versions, ..verify(p.ca_pem.as_bytes()) };
            let config = settings.client_config().unwrap();
            let connect = |config: &Arc<ClientConfig>| {
                let mut c = ClientConnection::new(config.clone(), settings.server_name("localhost").unwrap()).unwrap();
                let mut s = ServerConnection::new(server.clone()).unwrap();
                while c.is_handshaking() || s.is_handshaking() || c.wants_read() && s.wants_write() {
                    let mut wire = Vec::new();
                    c.write_tls(&mut wire).unwrap();
                    s.read_tls(&mut wire.as_slice()).unwrap();
                    s.process_new_packets().unwrap();
                    let mut wire = Vec::new();
                    s.write_tls(&mut wire).unwrap();
                    c.read_tls(&mut wire.as_slice()).unwrap();
                    c.process_new_packets().unwrap();
                }
                c.handshake_kind()
            };
            assert_eq!(connect(&config), Some(Full), "{versions:?}");
            assert_eq!(connect(&config), Some(Resumed), "{versions:?}: the control connection's session, resumed");
            let next_session = with_fresh_sessions(&config);
            assert_eq!(connect(&next_session), Some(Full), "{versions:?}: nothing from the last session");
            assert_eq!(connect(&settings.client_config().unwrap()), Some(Full), "{versions:?}");
        }
    }
}
