//! The key SNS signs its messages with and the certificate clients verify them with.
//!
//! One RSA-2048 key and a self-signed X.509 certificate per data directory, kept in the store
//! so that signatures verify across restarts. `rcgen` writes the certificate; the RSA key
//! (which `rcgen` cannot make without a C crypto library) signs it through `rcgen::SigningKey`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// The subject (and issuer) of the certificate.
const COMMON_NAME: &str = "sns.amazonaws.com";

pub struct Signer {
    key: RsaPrivateKey,
    cert_der: Vec<u8>,
    /// Hex id in the certificate's file name (`SimpleNotificationService-{id}.pem`).
    pub id: String,
    /// Recent signatures: a message fanned out to many subscriptions has one canonical form
    /// (subscriptions are not part of it), and an RSA signature costs about a millisecond.
    recent: Mutex<Recent>,
}

/// Signatures by (version, SHA-256 of the canonical form), oldest evicted first.
#[derive(Default)]
struct Recent {
    by_digest: HashMap<(bool, [u8; 32]), String>,
    order: VecDeque<(bool, [u8; 32])>,
}

/// How many recent signatures are kept (enough for every message in flight at a high rate).
const RECENT_SIGNATURES: usize = 4_096;

/// The stored form: PKCS#8 key and DER certificate, base64.
#[derive(Serialize, Deserialize)]
pub struct Stored {
    key: String,
    cert: String,
}

impl Signer {
    /// A new key and certificate valid from a day before `now_secs` for ten years. Takes a
    /// moment (prime generation): call it where blocking is allowed.
    pub fn generate(now_secs: u64, serial: [u8; 16]) -> Result<Self, String> {
        // Key material needs a cryptographic generator, not the id source of `Env`.
        let key = RsaPrivateKey::new(&mut rand_core::OsRng, 2048).map_err(|e| e.to_string())?;
        let cert_der = certificate(&key, now_secs, serial)?;
        Ok(Self::from_parts(key, cert_der))
    }

    fn from_parts(key: RsaPrivateKey, cert_der: Vec<u8>) -> Self {
        let id = hex::encode(&sha2::Sha256::digest(&cert_der)[..16]);
        Self { key, cert_der, id, recent: Mutex::new(Recent::default()) }
    }

    pub fn to_stored(&self) -> Result<Stored, String> {
        let key = self.key.to_pkcs8_der().map_err(|e| e.to_string())?;
        Ok(Stored { key: B64.encode(key.as_bytes()), cert: B64.encode(&self.cert_der) })
    }

    pub fn from_stored(s: &Stored) -> Result<Self, String> {
        let key_der = B64.decode(&s.key).map_err(|e| e.to_string())?;
        let key = RsaPrivateKey::from_pkcs8_der(&key_der).map_err(|e| e.to_string())?;
        let cert_der = B64.decode(&s.cert).map_err(|e| e.to_string())?;
        Ok(Self::from_parts(key, cert_der))
    }

    pub fn certificate_pem(&self) -> String {
        let b64 = B64.encode(&self.cert_der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(chunk));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// The base64 signature of `canonical`: SHA1withRSA for version 1, SHA256withRSA for 2.
    /// The same canonical form is signed once (while it is among the recent ones).
    pub fn sign(&self, canonical: &str, version: &str) -> Result<String, String> {
        let key = (version == "2", <[u8; 32]>::from(sha2::Sha256::digest(canonical.as_bytes())));
        if let Some(sig) = self.recent.lock().ok().and_then(|r| r.by_digest.get(&key).cloned()) {
            return Ok(sig);
        }
        let sig = self.sign_now(canonical, version)?;
        if let Ok(mut r) = self.recent.lock()
            && r.by_digest.insert(key, sig.clone()).is_none()
        {
            r.order.push_back(key);
            if r.order.len() > RECENT_SIGNATURES
                && let Some(old) = r.order.pop_front()
            {
                r.by_digest.remove(&old);
            }
        }
        Ok(sig)
    }

    fn sign_now(&self, canonical: &str, version: &str) -> Result<String, String> {
        let sig = if version == "2" {
            let digest = sha2::Sha256::digest(canonical.as_bytes());
            self.key.sign(Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
        } else {
            let digest = sha1::Sha1::digest(canonical.as_bytes());
            self.key.sign(Pkcs1v15Sign::new::<sha1::Sha1>(), &digest)
        };
        sig.map(|s| B64.encode(s)).map_err(|e| e.to_string())
    }
}

/// The RSA key as `rcgen` sees a signer: SHA256withRSA over what it is given.
struct RcgenKey<'a> {
    key: &'a RsaPrivateKey,
    /// PKCS#1 RSAPublicKey, the SubjectPublicKeyInfo's key bits.
    public: Vec<u8>,
}

impl rcgen::PublicKeyData for RcgenKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

impl rcgen::SigningKey for RcgenKey<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let digest = sha2::Sha256::digest(msg);
        self.key.sign(Pkcs1v15Sign::new::<sha2::Sha256>(), &digest).map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

/// A self-signed certificate for `COMMON_NAME`, valid from a day before `now_secs` for ten years.
fn certificate(key: &RsaPrivateKey, now_secs: u64, mut serial: [u8; 16]) -> Result<Vec<u8>, String> {
    use rsa::pkcs1::EncodeRsaPublicKey;
    // A positive serial in minimal form: clear the sign bit, keep the first byte non-zero.
    serial[0] = (serial[0] & 0x7F) | 0x40;
    let public = key.to_public_key().to_pkcs1_der().map_err(|e| e.to_string())?.as_bytes().to_vec();
    let signer = RcgenKey { key, public };
    let at = |secs: u64| {
        time::OffsetDateTime::from_unix_timestamp(secs as i64).map_err(|e| format!("certificate validity: {e}"))
    };
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, COMMON_NAME);
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    params.not_before = at(now_secs.saturating_sub(86_400))?;
    params.not_after = at(now_secs + 10 * 365 * 86_400)?;
    let cert = params.self_signed(&signer).map_err(|e| e.to_string())?;
    Ok(cert.der().to_vec())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rsa::RsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;

    /// Reads one DER element: (tag, content, rest).
    fn read(d: &[u8]) -> (u8, &[u8], &[u8]) {
        let tag = d[0];
        let (len, hdr) = if d[1] < 0x80 {
            (d[1] as usize, 2)
        } else {
            let n = (d[1] & 0x7F) as usize;
            (d[2..2 + n].iter().fold(0usize, |a, b| a << 8 | *b as usize), 2 + n)
        };
        (tag, &d[hdr..hdr + len], &d[hdr + len..])
    }

    #[test]
    fn certificate_parses_and_verifies_signatures() {
        let s = Signer::generate(1_800_000_000, [7; 16]).unwrap();
        // Certificate ::= SEQUENCE { tbs, alg, signature }
        let (tag, cert, rest) = read(&s.cert_der);
        assert_eq!((tag, rest.len()), (0x30, 0));
        let (_, tbs_content, after_tbs) = read(cert);
        let tbs_len = cert.len() - after_tbs.len();
        let tbs = &cert[..tbs_len];
        let (_, _, after_alg) = read(after_tbs);
        let (bt, bits, _) = read(after_alg);
        assert_eq!(bt, 0x03);
        // The public key is the last element of the TBSCertificate.
        let mut rest = tbs_content;
        let mut last = rest;
        while !rest.is_empty() {
            last = rest;
            rest = read(rest).2;
        }
        let public = RsaPublicKey::from_public_key_der(last).unwrap();
        let digest = sha2::Sha256::digest(tbs);
        public.verify(Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, &bits[1..]).unwrap();

        for version in ["1", "2"] {
            let sig = B64.decode(s.sign("Message\nhi\n", version).unwrap()).unwrap();
            let ok = if version == "1" {
                public.verify(Pkcs1v15Sign::new::<sha1::Sha1>(), &sha1::Sha1::digest(b"Message\nhi\n"), &sig)
            } else {
                public.verify(Pkcs1v15Sign::new::<sha2::Sha256>(), &sha2::Sha256::digest(b"Message\nhi\n"), &sig)
            };
            ok.unwrap();
        }
        // PKCS#1 v1.5 is deterministic, so the remembered signature is the one signing gives.
        assert_eq!(s.sign("Message\nhi\n", "2").unwrap(), s.sign_now("Message\nhi\n", "2").unwrap());
        assert_eq!(s.recent.lock().unwrap().order.len(), 2);
        let again = Signer::from_stored(&s.to_stored().unwrap()).unwrap();
        assert_eq!(again.id, s.id);
        assert!(again.certificate_pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
    }
}
