//! Authentication: turns a request's SigV4 authentication into a [`Principal`].
//!
//! - **Open** mode (the default on loopback): any key is accepted and the signature is not
//!   checked; a 12-digit access key id is that account, anything else the default account.
//! - **Verify** mode: the access key must be known to the [`KeyStore`] and the signature must
//!   verify (time, scope, signature), with AWS's error for each failure.
//!
//! Keys come from a [`KeyStore`]: the configured credentials (each the root user of its
//! account) and the keys IAM and STS issue ([`Identity`] says who they act as).

use std::collections::HashMap;
use std::time::SystemTime;

use http::{HeaderMap, Method, Uri};
use serde::Deserialize;
use stratus_core::account_for_access_key;
use stratus_sigv4::{AuthInfo, Dialect, SigV4Error};

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// Verify mode, and the request carries no signature.
    Missing,
    SigV4(SigV4Error),
}

impl From<SigV4Error> for AuthError {
    fn from(e: SigV4Error) -> Self {
        Self::SigV4(e)
    }
}

impl AuthError {
    /// Code, HTTP status and message as AWS sends them in `dialect`.
    pub fn aws_error(&self, dialect: Dialect) -> (String, u16, String) {
        match self {
            Self::Missing => match dialect {
                Dialect::Json => {
                    ("MissingAuthenticationTokenException".into(), 400, "Missing Authentication Token".into())
                }
                Dialect::Query => {
                    ("MissingAuthenticationToken".into(), 403, "Request is missing Authentication Token".into())
                }
                Dialect::S3 => ("AccessDenied".into(), 403, "Access Denied".into()),
            },
            Self::SigV4(e) => {
                let info = e.aws_error(dialect);
                (info.code.to_string(), info.status, info.message)
            }
        }
    }

    pub fn kind(&self) -> Option<stratus_sigv4::SigV4ErrorKind> {
        match self {
            Self::Missing => None,
            Self::SigV4(e) => Some(e.kind()),
        }
    }
}

/// A key the server knows.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Credential {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub account: String,
    /// May call the platform's administrative endpoints (reset).
    #[serde(default)]
    pub admin: bool,
    /// Temporary credentials: the session token requests must carry.
    #[serde(skip)]
    pub session_token: Option<String>,
    /// Temporary credentials: when they stop working (seconds since the epoch).
    #[serde(skip)]
    pub expires: Option<u64>,
    /// Who the key acts as (configured keys: the account's root user).
    #[serde(skip)]
    pub identity: Identity,
}

/// Who a key acts as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Identity {
    /// The account's root user (configured credentials, open mode).
    #[default]
    Root,
    /// An IAM user (its access keys, or its GetSessionToken credentials).
    User { name: String, id: String, arn: String },
    /// A session of a role (AssumeRole).
    Role { role_name: String, role_id: String, role_arn: String, session_name: String },
}

impl Identity {
    /// The ARN GetCallerIdentity answers for a caller in `account`.
    pub fn caller_arn(&self, account: &str) -> String {
        match self {
            Identity::Root => format!("arn:aws:iam::{account}:root"),
            Identity::User { arn, .. } => arn.clone(),
            Identity::Role { role_name, session_name, .. } => {
                format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}")
            }
        }
    }

    /// `aws:userid`: the account id for root, the user id, or `role id:session name`.
    pub fn user_id(&self, account: &str) -> String {
        match self {
            Identity::Root => account.to_string(),
            Identity::User { id, .. } => id.clone(),
            Identity::Role { role_id, session_name, .. } => format!("{role_id}:{session_name}"),
        }
    }
}

/// Where secrets are looked up by access key id.
pub trait KeyStore: Send + Sync + 'static {
    fn lookup(&self, access_key: &str) -> Option<Credential>;
}

/// A fixed set of keys (from the configuration).
#[derive(Debug, Default, Clone)]
pub struct StaticKeys {
    keys: HashMap<String, Credential>,
}

impl StaticKeys {
    pub fn new(creds: impl IntoIterator<Item = Credential>) -> Self {
        Self { keys: creds.into_iter().map(|c| (c.access_key_id.clone(), c)).collect() }
    }
}

impl KeyStore for StaticKeys {
    fn lookup(&self, access_key: &str) -> Option<Credential> {
        self.keys.get(access_key).cloned()
    }
}

/// Key stores asked in order (the configured keys, then the keys IAM and STS issued).
pub struct ChainedKeys(pub Vec<std::sync::Arc<dyn KeyStore>>);

impl KeyStore for ChainedKeys {
    fn lookup(&self, access_key: &str) -> Option<Credential> {
        self.0.iter().find_map(|k| k.lookup(access_key))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Open,
    Verify,
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account: String,
    pub access_key: Option<String>,
    /// The credential scope's region, when signed.
    pub region: Option<String>,
    /// The credential scope's service, when signed.
    pub service: Option<String>,
    pub admin: bool,
    /// Who the key acts as.
    pub identity: Identity,
}

pub struct Authenticator {
    mode: Mode,
    keys: Box<dyn KeyStore>,
    default_account: String,
}

impl Authenticator {
    pub fn new(mode: Mode, keys: Box<dyn KeyStore>, default_account: impl Into<String>) -> Self {
        Self { mode, keys, default_account: default_account.into() }
    }

    pub fn open(default_account: impl Into<String>) -> Self {
        Self::new(Mode::Open, Box::new(StaticKeys::default()), default_account)
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Parses the request's SigV4 authentication (no verification).
    pub fn parse(method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<Option<AuthInfo>, SigV4Error> {
        stratus_sigv4::parse(method, uri, headers)
    }

    /// Decides who made the request. `payload_sha256` is the hex SHA-256 of the body (only
    /// computed by callers in verify mode; in open mode it is not read).
    pub fn authenticate(
        &self,
        info: Option<&AuthInfo>,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        payload_sha256: impl FnOnce() -> String,
        now: SystemTime,
    ) -> Result<Principal, AuthError> {
        match (self.mode, info) {
            (Mode::Open, None) => Ok(Principal {
                account: self.default_account.clone(),
                access_key: None,
                region: None,
                service: None,
                admin: true,
                identity: Identity::Root,
            }),
            (Mode::Open, Some(i)) => {
                // A key IAM issued acts as its owner, unchecked; any other key as root.
                let (account, identity) = match self.keys.lookup(&i.access_key) {
                    Some(cred) => (cred.account, cred.identity),
                    None => (account_for_access_key(&i.access_key, &self.default_account), Identity::Root),
                };
                Ok(Principal {
                    account,
                    access_key: Some(i.access_key.clone()),
                    region: Some(i.region.clone()),
                    service: Some(i.service.clone()),
                    admin: true,
                    identity,
                })
            }
            (Mode::Verify, None) => Err(AuthError::Missing),
            (Mode::Verify, Some(i)) => {
                let cred = self
                    .keys
                    .lookup(&i.access_key)
                    .ok_or_else(|| SigV4Error::UnknownAccessKey { access_key: i.access_key.clone() })?;
                let unknown = || SigV4Error::UnknownAccessKey { access_key: i.access_key.clone() };
                // Temporary credentials work only with their session token, until they expire.
                if let Some(token) = &cred.session_token
                    && i.session_token.as_deref() != Some(token.as_str())
                {
                    return Err(unknown().into());
                }
                let secs = now.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
                if cred.expires.is_some_and(|e| e <= secs) {
                    return Err(unknown().into());
                }
                stratus_sigv4::verify(i, method, uri, headers, &payload_sha256(), &cred.secret_access_key, now)?;
                Ok(Principal {
                    account: cred.account,
                    access_key: Some(i.access_key.clone()),
                    region: Some(i.region.clone()),
                    service: Some(i.service.clone()),
                    admin: cred.admin,
                    identity: cred.identity,
                })
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use stratus_sigv4::{SigV4ErrorKind, SigningParams, sha256_hex};

    use super::*;

    const NOW: u64 = 1_790_000_000;

    fn keys() -> Box<dyn KeyStore> {
        Box::new(StaticKeys::new([Credential {
            access_key_id: "AKIDKNOWN".into(),
            secret_access_key: "s3cr3t".into(),
            account: "111122223333".into(),
            ..Default::default()
        }]))
    }

    fn signed(secret: &str, at: u64, body: &[u8]) -> (Method, Uri, HeaderMap) {
        let uri: Uri = "http://localhost:4566/".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-target", "AmazonSQS.ListQueues".parse().unwrap());
        headers.insert("content-type", "application/x-amz-json-1.0".parse().unwrap());
        let p = SigningParams {
            access_key: "AKIDKNOWN",
            secret_key: secret,
            session_token: None,
            region: "eu-west-1",
            service: "sqs",
            time: UNIX_EPOCH + Duration::from_secs(at),
        };
        stratus_sigv4::sign(&p, &Method::POST, &uri, &mut headers, body).unwrap();
        (Method::POST, uri, headers)
    }

    fn check(
        a: &Authenticator,
        secret: &str,
        signed_at: u64,
        body: &[u8],
        sent_body: &[u8],
    ) -> Result<Principal, AuthError> {
        let (m, u, h) = signed(secret, signed_at, body);
        let info = Authenticator::parse(&m, &u, &h).unwrap();
        a.authenticate(info.as_ref(), &m, &u, &h, || sha256_hex(sent_body), UNIX_EPOCH + Duration::from_secs(NOW))
    }

    #[test]
    fn verify_mode_accepts_known_key_with_good_signature() {
        let a = Authenticator::new(Mode::Verify, keys(), "000000000000");
        let p = check(&a, "s3cr3t", NOW, b"{}", b"{}").unwrap();
        assert_eq!(p.account, "111122223333");
        assert_eq!(p.region.as_deref(), Some("eu-west-1"));
        assert!(!p.admin);
    }

    #[test]
    fn verify_mode_rejects_wrong_secret_tampered_body_skew_and_unknown_keys() {
        let a = Authenticator::new(Mode::Verify, keys(), "000000000000");
        let e = check(&a, "wrong", NOW, b"{}", b"{}").unwrap_err();
        assert_eq!(e.kind(), Some(SigV4ErrorKind::SignatureMismatch));
        let e = check(&a, "s3cr3t", NOW, b"{}", b"{\"x\":1}").unwrap_err();
        assert_eq!(e.kind(), Some(SigV4ErrorKind::SignatureMismatch));
        let e = check(&a, "s3cr3t", NOW - 16 * 60, b"{}", b"{}").unwrap_err();
        assert_eq!(e.kind(), Some(SigV4ErrorKind::Expired));

        let other = Authenticator::new(Mode::Verify, Box::new(StaticKeys::default()), "000000000000");
        let e = check(&other, "s3cr3t", NOW, b"{}", b"{}").unwrap_err();
        assert_eq!(e.kind(), Some(SigV4ErrorKind::UnknownAccessKey));
    }

    #[test]
    fn verify_mode_rejects_expired_presigned_urls() {
        let a = Authenticator::new(Mode::Verify, keys(), "000000000000");
        let p = SigningParams {
            access_key: "AKIDKNOWN",
            secret_key: "s3cr3t",
            session_token: None,
            region: "us-east-1",
            service: "sqs",
            time: UNIX_EPOCH + Duration::from_secs(NOW - 600),
        };
        let uri: Uri = "http://localhost:4566/000000000000/q?Action=GetQueueUrl&QueueName=q".parse().unwrap();
        let url: Uri = stratus_sigv4::presign(&p, &Method::GET, &uri, 60).unwrap().parse().unwrap();
        let h = HeaderMap::new();
        let mut hh = h.clone();
        hh.insert("host", "localhost:4566".parse().unwrap());
        let info = Authenticator::parse(&Method::GET, &url, &hh).unwrap();
        let e = a
            .authenticate(
                info.as_ref(),
                &Method::GET,
                &url,
                &hh,
                || sha256_hex(b""),
                UNIX_EPOCH + Duration::from_secs(NOW),
            )
            .unwrap_err();
        assert_eq!(e.kind(), Some(SigV4ErrorKind::PresignExpired));
        // Within its lifetime it verifies.
        let ok = a.authenticate(
            info.as_ref(),
            &Method::GET,
            &url,
            &hh,
            || sha256_hex(b""),
            UNIX_EPOCH + Duration::from_secs(NOW - 590),
        );
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn verify_mode_requires_a_signature() {
        let a = Authenticator::new(Mode::Verify, keys(), "000000000000");
        let e = a
            .authenticate(None, &Method::GET, &"/".parse().unwrap(), &HeaderMap::new(), String::new, SystemTime::now())
            .unwrap_err();
        assert_eq!(e, AuthError::Missing);
    }

    #[test]
    fn open_mode_maps_keys_to_accounts_without_checking() {
        let a = Authenticator::open("000000000000");
        let p = check(&a, "anything", NOW - 3600, b"{}", b"tampered").unwrap();
        assert_eq!(p.account, "000000000000");
        let (m, u, mut h) = signed("x", NOW, b"");
        let auth = h.get("authorization").unwrap().to_str().unwrap().replace("AKIDKNOWN", "123456789012");
        h.insert("authorization", auth.parse().unwrap());
        let info = Authenticator::parse(&m, &u, &h).unwrap();
        let p = a.authenticate(info.as_ref(), &m, &u, &h, String::new, SystemTime::now()).unwrap();
        assert_eq!(p.account, "123456789012");
    }
}
