//! Server-side encryption as clients see it: the kind each version was written with —
//! SSE-S3 (`AES256`, also the bucket default), SSE-KMS (`aws:kms`, `aws:kms:dsse`, with the key
//! id echoed) or SSE-C (a customer key: only its MD5 is kept, and every read must give the same
//! key) — chosen by the upload's headers or else the bucket's default encryption, and answered
//! on writes and reads. Bytes are stored as written: the store is the trust boundary here.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest as _, Md5};
use s3s::dto::*;
use s3s::{S3Error, S3Result, s3_error};
use serde::{Deserialize, Serialize};

use crate::errors::{self, Res};
use crate::types::{Bucket, Version};

/// How a version was encrypted.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Encryption {
    /// `AES256`, `aws:kms`, `aws:kms:dsse`, or `SSE-C`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
    /// The base64 MD5 of the customer's key (SSE-C).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_md5: Option<String>,
    #[serde(default)]
    pub bucket_key: bool,
}

const SSE_C: &str = "SSE-C";

/// The customer key headers of a request, checked: the key's base64 MD5, or None when the
/// request gives none.
pub fn customer_key(alg: Option<&str>, key: Option<&str>, md5: Option<&str>) -> S3Result<Option<String>> {
    match (alg, key, md5) {
        (None, None, None) => Ok(None),
        (Some(a), Some(k), Some(m)) => {
            if a != "AES256" {
                return Err(errors::invalid_argument("The encryption algorithm specified is not valid"));
            }
            let raw = STANDARD
                .decode(k)
                .map_err(|_| errors::invalid_argument("The secret key was invalid for the specified algorithm."))?;
            if raw.len() != 32 {
                return Err(errors::invalid_argument("The secret key was invalid for the specified algorithm."));
            }
            let computed = STANDARD.encode(Md5::digest(&raw));
            if computed != m {
                return Err(errors::invalid_argument(
                    "The calculated MD5 hash of the key did not match the hash that was provided.",
                ));
            }
            Ok(Some(computed))
        }
        (None, ..) => Err(errors::invalid_argument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.",
        )),
        _ => Err(errors::invalid_argument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.",
        )),
    }
}

/// The encryption a write asks for (`x-amz-server-side-encryption*` or SSE-C headers).
pub fn requested(
    sse: Option<&ServerSideEncryption>,
    kms_key: Option<&str>,
    bucket_key: Option<bool>,
    customer: Option<String>,
) -> S3Result<Option<Encryption>> {
    if let Some(md5) = customer {
        if sse.is_some() {
            return Err(errors::invalid_argument(
                "Server Side Encryption with Customer provided key is incompatible with the encryption method specified",
            ));
        }
        return Ok(Some(Encryption { kind: SSE_C.into(), key_md5: Some(md5), ..Default::default() }));
    }
    let Some(kind) = sse.map(|s| s.as_str().to_string()) else {
        if kms_key.is_some() {
            return Err(errors::invalid_argument(
                "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
            ));
        }
        return Ok(None);
    };
    match kind.as_str() {
        "AES256" => {
            if kms_key.is_some() {
                return Err(errors::invalid_argument(
                    "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
                ));
            }
            Ok(Some(Encryption { kind, ..Default::default() }))
        }
        "aws:kms" | "aws:kms:dsse" => Ok(Some(Encryption {
            kind,
            kms_key: kms_key.map(str::to_string),
            bucket_key: bucket_key.unwrap_or(false),
            ..Default::default()
        })),
        _ => Err(errors::invalid_argument("The encryption method specified is not supported")),
    }
}

/// A new version's encryption: what the write asked for, else the bucket's default; a KMS key
/// that is not named is the account's AWS managed key for S3.
pub fn for_new_version(b: &Bucket, asked: Option<Encryption>) -> Res<Encryption> {
    let mut e = match asked {
        Some(e) => e,
        None => {
            let rule = b
                .configs
                .get("encryption")
                .and_then(|x| crate::configs::encryption_from_xml(x).ok())
                .and_then(|c| c.rules.into_iter().next());
            match rule {
                Some(r) => {
                    let d = r.apply_server_side_encryption_by_default;
                    Encryption {
                        kind: d.as_ref().map_or("AES256".into(), |d| d.sse_algorithm.as_str().to_string()),
                        kms_key: d.and_then(|d| d.kms_master_key_id),
                        bucket_key: r.bucket_key_enabled.unwrap_or(false),
                        key_md5: None,
                    }
                }
                None => Encryption { kind: "AES256".into(), ..Default::default() },
            }
        }
    };
    if e.kind.starts_with("aws:kms") && e.kms_key.is_none() {
        e.kms_key = Some(format!(
            "arn:{partition}:kms:{}:{}:alias/aws/s3",
            b.region,
            b.account,
            partition = stratus_core::partition(&b.region)
        ));
    }
    if e.kind != "aws:kms" {
        e.bucket_key = false;
    }
    Ok(e)
}

/// Whether a read may see the version: an SSE-C version needs its key again.
pub fn check_read(v: &Version, given: Option<&str>) -> Result<(), S3Error> {
    let stored = v.encryption.as_ref().filter(|e| e.kind == SSE_C).and_then(|e| e.key_md5.as_deref());
    match (stored, given) {
        (None, None) => Ok(()),
        (None, Some(_)) => {
            Err(s3_error!(InvalidRequest, "The encryption parameters are not applicable to this object."))
        }
        (Some(_), None) => Err(s3_error!(
            InvalidRequest,
            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."
        )),
        (Some(s), Some(g)) if s == g => Ok(()),
        (Some(_), Some(_)) => Err(s3_error!(AccessDenied, "Access Denied")),
    }
}

/// Whether an UploadPart carries what its upload's encryption needs: the upload's SSE-C key,
/// and no key when the upload has none.
pub fn check_part(upload: Option<&Encryption>, given: Option<&str>) -> Result<(), S3Error> {
    let stored = upload.filter(|e| e.kind == SSE_C).and_then(|e| e.key_md5.as_deref());
    match (stored, given) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(s3_error!(
            InvalidRequest,
            "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters."
        )),
        (Some(_), None) => Err(s3_error!(
            InvalidRequest,
            "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters."
        )),
        (Some(s), Some(g)) if s == g => Ok(()),
        (Some(_), Some(_)) => Err(s3_error!(
            InvalidArgument,
            "The provided encryption parameters did not match the ones used originally."
        )),
    }
}

/// The encryption headers a response carries for a version:
/// (x-amz-server-side-encryption, KMS key id, bucket key, SSE-C algorithm, SSE-C key MD5).
pub struct Answer {
    pub sse: Option<ServerSideEncryption>,
    pub kms_key: Option<String>,
    pub bucket_key: Option<bool>,
    pub customer_algorithm: Option<String>,
    pub customer_key_md5: Option<String>,
}

pub fn answer(e: Option<&Encryption>) -> Answer {
    match e {
        Some(e) if e.kind == SSE_C => Answer {
            sse: None,
            kms_key: None,
            bucket_key: None,
            customer_algorithm: Some("AES256".into()),
            customer_key_md5: e.key_md5.clone(),
        },
        Some(e) => Answer {
            sse: Some(ServerSideEncryption::from(e.kind.clone())),
            kms_key: e.kms_key.clone(),
            bucket_key: e.bucket_key.then_some(true),
            customer_algorithm: None,
            customer_key_md5: None,
        },
        None => Answer {
            sse: Some(ServerSideEncryption::from_static(ServerSideEncryption::AES256)),
            kms_key: None,
            bucket_key: None,
            customer_algorithm: None,
            customer_key_md5: None,
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn customer_keys() {
        let key = [7u8; 32];
        let k = STANDARD.encode(key);
        let m = STANDARD.encode(Md5::digest(key));
        assert_eq!(customer_key(Some("AES256"), Some(&k), Some(&m)).unwrap(), Some(m.clone()));
        assert!(customer_key(Some("AES256"), Some(&k), Some("bad")).is_err());
        assert!(customer_key(Some("AES128"), Some(&k), Some(&m)).is_err());
        assert!(customer_key(Some("AES256"), None, Some(&m)).is_err());
        assert_eq!(customer_key(None, None, None).unwrap(), None);
    }
}
