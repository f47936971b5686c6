//! AWS Signature Version 4 for Stratus: parsing a request's authentication,
//! verifying it against a secret key, and signing / presigning requests.
//!
//! A server handles a request in three steps:
//!
//! 1. [`parse`] reads the `Authorization` header or the presigned query
//!    parameters into an [`AuthInfo`] (`Ok(None)`: the request is anonymous).
//! 2. The caller looks up the secret for [`AuthInfo::access_key`]
//!    (unknown → [`SigV4Error::UnknownAccessKey`]).
//! 3. [`verify`] checks time, scope and signature.
//!
//! Errors carry AWS's wording: `Display` is the message the JSON and query
//! services send, and [`SigV4Error::aws_error`] gives code, HTTP status and
//! message for each wire [`Dialect`] (S3 included). [`SigV4Error::kind`] gives
//! the coarse [`SigV4ErrorKind`] for protocols that map errors themselves.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use http::{HeaderMap, Method, Uri};
//! use stratus_sigv4::{SigningParams, parse, sha256_hex, sign, verify};
//!
//! let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let params = SigningParams {
//!     access_key: "AKIDEXAMPLE",
//!     secret_key: "secret",
//!     session_token: None,
//!     region: "us-east-1",
//!     service: "sqs",
//!     time: now,
//! };
//! let uri: Uri = "http://localhost:4566/".parse().unwrap();
//! let body = br#"{"QueueNamePrefix":"a"}"#;
//! let mut headers = HeaderMap::new();
//! headers.insert("x-amz-target", "AmazonSQS.ListQueues".parse().unwrap());
//! sign(&params, &Method::POST, &uri, &mut headers, body).unwrap();
//!
//! let info = parse(&Method::POST, &uri, &headers).unwrap().unwrap();
//! assert_eq!(info.access_key, "AKIDEXAMPLE");
//! verify(&info, &Method::POST, &uri, &headers, &sha256_hex(body), "secret", now).unwrap();
//! ```

mod canonical;
mod error;
mod parse;
mod sign;
mod time;
mod verify;

use std::time::SystemTime;

pub use canonical::{
    ALGORITHM, EMPTY_SHA256, STREAMING_PAYLOAD, UNSIGNED_PAYLOAD, chunk_signature, hmac_sha256, sha256_hex, signing_key,
};
pub use error::{AwsErrorInfo, Dialect, ExpiresProblem, SigV4Error, SigV4ErrorKind};
pub use parse::parse;
pub use sign::{presign, sign};
pub use time::{format_amz_date, parse_amz_date};
pub use verify::{MAX_CLOCK_SKEW_SECS, MAX_PRESIGN_EXPIRES_SECS, unsigned_amz_headers, verify};

/// Which form the request was authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthKind {
    /// `Authorization: AWS4-HMAC-SHA256 …` header.
    Header,
    /// Presigned URL (`X-Amz-*` query parameters), valid for `expires_secs`
    /// from `amz_date`.
    Presigned {
        /// The `X-Amz-Expires` value.
        expires_secs: u64,
    },
}

/// What a request's SigV4 authentication says (parsed, not yet verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthInfo {
    /// Header or presigned form.
    pub kind: AuthKind,
    /// The access key id from the credential.
    pub access_key: String,
    /// Credential scope date, `YYYYMMDD`.
    pub date: String,
    /// Credential scope region.
    pub region: String,
    /// Credential scope service.
    pub service: String,
    /// Request time, `YYYYMMDDTHHMMSSZ` (`X-Amz-Date` header or query value,
    /// or the `Date` header converted).
    pub amz_date: String,
    /// `SignedHeaders`, as sent (normally lower-case, sorted).
    pub signed_headers: Vec<String>,
    /// The signature, as sent (64 hex digits when well-formed).
    pub signature: String,
    /// `X-Amz-Security-Token` header or query value, if any.
    pub session_token: Option<String>,
}

impl AuthInfo {
    /// `date/region/service/aws4_request`.
    pub fn credential_scope(&self) -> String {
        canonical::credential_scope(&self.date, &self.region, &self.service)
    }

    /// The signing key for this request's scope, e.g. to check the chunk
    /// signatures of an `aws-chunked` body with [`chunk_signature`] (seeded
    /// with [`AuthInfo::signature`]) after [`verify`] succeeded.
    pub fn signing_key(&self, secret_key: &str) -> [u8; 32] {
        canonical::signing_key(secret_key, &self.date, &self.region, &self.service)
    }

    /// Whether this is a presigned URL.
    pub fn is_presigned(&self) -> bool {
        matches!(self.kind, AuthKind::Presigned { .. })
    }
}

/// What [`sign`] and [`presign`] need.
#[derive(Clone, Copy)]
pub struct SigningParams<'a> {
    /// Access key id.
    pub access_key: &'a str,
    /// Secret access key.
    pub secret_key: &'a str,
    /// Session token (sent as `X-Amz-Security-Token`), for temporary credentials.
    pub session_token: Option<&'a str>,
    /// Region of the credential scope.
    pub region: &'a str,
    /// Service of the credential scope (`s3` switches to S3's path rules).
    pub service: &'a str,
    /// Signing time.
    pub time: SystemTime,
}

impl std::fmt::Debug for SigningParams<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningParams")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("session_token", &self.session_token.map(|_| "<redacted>"))
            .field("region", &self.region)
            .field("service", &self.service)
            .field("time", &self.time)
            .finish()
    }
}
