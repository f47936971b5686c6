//! TLS on the one port: a connection whose first byte starts a TLS handshake (0x16) is served
//! over TLS, any other as plain HTTP. The certificate comes from a local certificate authority
//! kept in the data directory (`tls/ca.pem`, `tls/ca.key`; made at first start, a new one per
//! run in memory mode); the server certificate is made at every start for `localhost`, the
//! service hosts (`*.execute-api.localhost`, `*.s3.localhost`, load balancers'
//! `*.{region}.elb.localhost`) and the loopback addresses. Clients trust the CA by downloading it from
//! `/_stratus/ca.pem`; function environments trust it through `ca-bundle.pem` (the system's
//! CAs and this one), named by `AWS_CA_BUNDLE`, `SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE` and
//! `NODE_EXTRA_CA_CERTS`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::services::{FileResult, PlatformFiles};

/// Names the server certificate covers.
const DNS_NAMES: &[&str] =
    &["localhost", "*.execute-api.localhost", "*.s3.localhost", "*.elb.localhost", "*.localhost"];

/// Regions whose load balancer names (`{name}-{digits}.{region}.elb.localhost`) the
/// certificate covers: a wildcard covers one label only.
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-east-1",
    "me-south-1",
    "af-south-1",
];

/// Where the system keeps its CA bundle (Debian, Fedora, Alpine, openSUSE).
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

pub struct Tls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub ca_pem: String,
    /// The system's CAs and this one, for function environments.
    pub bundle: PathBuf,
}

fn err(what: &str) -> impl Fn(rcgen::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// The CA in `dir` (made when missing), a fresh server certificate signed by it, and the TLS
/// acceptor.
pub fn load_or_create(dir: &Path) -> Result<Tls, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (ca_cert_path, ca_key_path) = (dir.join("ca.pem"), dir.join("ca.key"));
    let (ca_pem, ca_key) = match (std::fs::read_to_string(&ca_cert_path), std::fs::read_to_string(&ca_key_path)) {
        (Ok(cert), Ok(key)) => (cert, KeyPair::from_pem(&key).map_err(err("the CA key"))?),
        _ => {
            let key = KeyPair::generate().map_err(err("a CA key"))?;
            let cert = ca_params().self_signed(&key).map_err(err("the CA certificate"))?;
            let pem = cert.pem();
            write_private(&ca_key_path, &key.serialize_pem())?;
            std::fs::write(&ca_cert_path, &pem).map_err(|e| format!("cannot write {}: {e}", ca_cert_path.display()))?;
            (pem, key)
        }
    };
    // The CA's subject and key are all signing needs: the same parameters it was made with.
    let issuer = rcgen::Issuer::new(ca_params(), ca_key);
    let key = KeyPair::generate().map_err(err("a server key"))?;
    let mut names: Vec<String> = DNS_NAMES.iter().map(|s| s.to_string()).collect();
    names.extend(REGIONS.iter().map(|r| format!("*.{r}.elb.localhost")));
    if let Ok(h) = std::fs::read_to_string("/etc/hostname") {
        let h = h.trim();
        if !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') {
            names.push(h.to_string());
        }
    }
    let mut params = CertificateParams::new(names).map_err(err("the server certificate's names"))?;
    params.distinguished_name.push(DnType::CommonName, "localhost");
    for ip in [std::net::IpAddr::from([127, 0, 0, 1]), std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)] {
        params.subject_alt_names.push(SanType::IpAddress(ip));
    }
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2045, 1, 1);
    let cert = params.signed_by(&key, &issuer).map_err(err("the server certificate"))?;
    let ca_der = rustls_pemfile_der(&ca_pem)?;
    let chain = vec![CertificateDer::from(cert.der().to_vec()), ca_der];
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    // ring, not aws-lc-rs: it builds with the C compiler alone (no cmake) and quickly. rustls
    // marks its provider deprecated for lacking post-quantum key exchange, which local
    // connections to this server do not need.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| format!("the server certificate: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let bundle = dir.join("ca-bundle.pem");
    let mut all = SYSTEM_BUNDLES.iter().find_map(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    if !all.ends_with('\n') && !all.is_empty() {
        all.push('\n');
    }
    all.push_str(&ca_pem);
    std::fs::write(&bundle, all).map_err(|e| format!("cannot write {}: {e}", bundle.display()))?;
    Ok(Tls { acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)), ca_pem, bundle })
}

/// The CA's certificate parameters (its subject names what signed the server certificate).
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, "Stratus local CA");
    params.distinguished_name.push(DnType::OrganizationName, "Stratus");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2045, 1, 1);
    params
}

/// The DER of the first certificate in a PEM text.
fn rustls_pemfile_der(pem: &str) -> Result<CertificateDer<'static>, String> {
    use base64::Engine;
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body).map_err(|e| format!("the CA certificate: {e}"))?;
    Ok(CertificateDer::from(der))
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(text.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `/_stratus/ca.pem`: the CA certificate, for clients that want TLS.
pub struct CaFile {
    pub pem: String,
}

impl PlatformFiles for CaFile {
    fn prefix(&self) -> &'static str {
        "ca.pem"
    }

    fn get<'a>(&'a self, name: &'a str, _query: &'a str) -> stratus_proto::BoxFuture<'a, FileResult> {
        Box::pin(async move { Ok(name.is_empty().then(|| ("application/x-pem-file", Bytes::from(self.pem.clone())))) })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_kept_and_server_certificates_are_signed_by_it() {
        let dir = std::env::temp_dir().join(format!("stratus-tls-{}", std::process::id()));
        let first = load_or_create(&dir).unwrap();
        let second = load_or_create(&dir).unwrap();
        assert_eq!(first.ca_pem, second.ca_pem, "the CA is made once and kept");
        let bundle = std::fs::read_to_string(&first.bundle).unwrap();
        assert!(bundle.ends_with(&first.ca_pem));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
