//! The key SNS signs its messages with and the certificate clients verify them with.
//!
//! One RSA-2048 key and a self-signed X.509 certificate per data directory, kept in the store
//! so that signatures verify across restarts. The certificate is small enough to write in DER
//! by hand: a version 3 TBSCertificate (serial, sha256WithRSAEncryption, issuer = subject CN,
//! validity, the key's SubjectPublicKeyInfo) signed with the key itself.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// The subject (and issuer) of the certificate.
const COMMON_NAME: &str = "sns.amazonaws.com";
/// sha256WithRSAEncryption (1.2.840.113549.1.1.11).
const SHA256_WITH_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B];
/// id-at-commonName (2.5.4.3).
const CN: &[u8] = &[0x55, 0x04, 0x03];

pub struct Signer {
    key: RsaPrivateKey,
    cert_der: Vec<u8>,
    /// Hex id in the certificate's file name (`SimpleNotificationService-{id}.pem`).
    pub id: String,
}

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
        Self { key, cert_der, id }
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
    pub fn sign(&self, canonical: &str, version: &str) -> Result<String, String> {
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

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn name(cn: &str) -> Vec<u8> {
    let atv = seq(&[&tlv(0x06, CN), &tlv(0x0C, cn.as_bytes())]);
    seq(&[&tlv(0x31, &atv)])
}

/// UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
fn time(secs: u64) -> Vec<u8> {
    let iso = stratus_core::time::iso8601_secs(secs); // 2026-11-26T15:04:05Z
    let digits: String = iso.chars().filter(char::is_ascii_digit).collect();
    if digits.starts_with("20") && digits[..4] < *"2050" {
        tlv(0x17, format!("{}Z", &digits[2..]).as_bytes())
    } else {
        tlv(0x18, format!("{digits}Z").as_bytes())
    }
}

fn certificate(key: &RsaPrivateKey, now_secs: u64, mut serial: [u8; 16]) -> Result<Vec<u8>, String> {
    // A positive serial in minimal form: clear the sign bit, keep the first byte non-zero.
    serial[0] = (serial[0] & 0x7F) | 0x40;
    let alg = seq(&[&tlv(0x06, SHA256_WITH_RSA), &[0x05, 0x00]]);
    let spki = key.to_public_key().to_public_key_der().map_err(|e| e.to_string())?;
    let version = tlv(0xA0, &tlv(0x02, &[2]));
    let validity = seq(&[&time(now_secs.saturating_sub(86_400)), &time(now_secs + 10 * 365 * 86_400)]);
    let tbs =
        seq(&[&version, &tlv(0x02, &serial), &alg, &name(COMMON_NAME), &validity, &name(COMMON_NAME), spki.as_bytes()]);
    let digest = sha2::Sha256::digest(&tbs);
    let sig = key.sign(Pkcs1v15Sign::new::<sha2::Sha256>(), &digest).map_err(|e| e.to_string())?;
    let mut bits = vec![0u8];
    bits.extend_from_slice(&sig);
    Ok(seq(&[&tbs, &alg, &tlv(0x03, &bits)]))
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
        let again = Signer::from_stored(&s.to_stored().unwrap()).unwrap();
        assert_eq!(again.id, s.id);
        assert!(again.certificate_pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
    }
}
