//! Types every Stratus crate shares: who is calling and where (account, region, request id),
//! and the seams through which time and randomness enter, so that tests can be deterministic.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub mod http;
pub mod time;

mod error;
pub use error::AwsError;

/// The account that resources belong to when a request does not name one.
pub const DEFAULT_ACCOUNT: &str = "000000000000";
/// The region used when a request's credential scope does not give one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Time, as a seam: production uses the system clock, tests a [`ManualClock`].
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> SystemTime;

    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64 {
        self.now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct ManualClock {
    millis: AtomicU64,
}

impl ManualClock {
    pub fn new(start_millis: u64) -> Self {
        Self { millis: AtomicU64::new(start_millis) }
    }

    pub fn advance(&self, by: Duration) {
        self.millis.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.millis.load(Ordering::SeqCst))
    }
}

/// Identifiers and random tokens, as a seam.
pub trait IdSource: Send + Sync + 'static {
    /// 16 random bytes.
    fn random_bytes(&self) -> [u8; 16];

    /// A version 4 UUID in its canonical lower-case form.
    fn uuid(&self) -> String {
        let mut b = self.random_bytes();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(36);
        for (i, x) in b.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                s.push('-');
            }
            s.push(char::from(HEX[usize::from(x >> 4)]));
            s.push(char::from(HEX[usize::from(x & 0x0f)]));
        }
        s
    }
}

/// An identifier of `len` characters of `[a-z0-9]` (API Gateway's ids of APIs, resources,
/// deployments, keys).
pub fn alnum_id(ids: &dyn IdSource, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in ids.random_bytes() {
            if out.len() == len {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
        }
    }
    out
}

#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl IdSource for RandomIds {
    fn random_bytes(&self) -> [u8; 16] {
        rand::random()
    }
}

/// Deterministic ids for tests: a counter rendered into the bytes.
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: AtomicU64,
}

impl IdSource for SequentialIds {
    fn random_bytes(&self) -> [u8; 16] {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let mut b = [0u8; 16];
        b[8..].copy_from_slice(&n.to_be_bytes());
        b
    }
}

/// The clock and id source a service runs with.
#[derive(Clone)]
pub struct Env {
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdSource>,
}

impl Env {
    pub fn system() -> Self {
        Self { clock: Arc::new(SystemClock), ids: Arc::new(RandomIds) }
    }
}

impl Default for Env {
    fn default() -> Self {
        Self::system()
    }
}

/// Who made a request, and where it is directed.
/// What authorization needs of a resource that can have its own policy (a queue, topic or
/// function): that policy and the resource's tags (`aws:ResourceTag/…`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceAccess {
    pub policy: Option<String>,
    pub tags: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The account the request acts in.
    pub account: String,
    pub region: String,
    pub request_id: String,
    /// The access key the request was signed with, if any.
    pub access_key: Option<String>,
    /// The `Host` header as the client sent it (used to build URLs the client can reach).
    pub host: String,
    /// The request path, undecoded.
    pub path: String,
}

impl RequestContext {
    /// The context of work Stratus does on its own behalf (a trigger, a poller, a
    /// destination) in an account and region.
    pub fn internal(account: &str, region: &str, request_id: String) -> Self {
        Self {
            account: account.to_string(),
            region: region.to_string(),
            request_id,
            access_key: None,
            host: "localhost".into(),
            path: "/".into(),
        }
    }

    /// An ARN in this context's partition, region and account.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!("arn:{}:{service}:{}:{}:{resource}", partition(&self.region), self.region, self.account)
    }

    /// The partition of the request's region (`aws`, `aws-cn`, `aws-us-gov`, …).
    pub fn partition(&self) -> &'static str {
        partition(&self.region)
    }
}

/// The partitions ARNs may name.
pub const PARTITIONS: &[&str] =
    &["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"];

/// An ARN with its partition written `aws`: IAM compares ARNs that way, as one server serves
/// every partition (a policy naming `arn:aws-cn:…` and a resource of a China region match).
pub fn canonical_arn(s: &str) -> std::borrow::Cow<'_, str> {
    if let Some(rest) = s.strip_prefix("arn:")
        && let Some((p, tail)) = rest.split_once(':')
        && p != "aws"
        && PARTITIONS.contains(&p)
    {
        return std::borrow::Cow::Owned(format!("arn:aws:{tail}"));
    }
    std::borrow::Cow::Borrowed(s)
}

/// What follows `arn:{partition}:` in an ARN of a known partition (`iam::123456789012:role/r`).
pub fn arn_without_partition(arn: &str) -> Option<&str> {
    let (p, rest) = arn.strip_prefix("arn:")?.split_once(':')?;
    PARTITIONS.contains(&p).then_some(rest)
}

/// An `aws`-partition ARN written in the partition of `region` (other ARNs as they are).
pub fn in_partition(arn: &str, region: &str) -> String {
    match (partition(region), arn.strip_prefix("arn:aws:")) {
        ("aws", _) | (_, None) => arn.to_string(),
        (p, Some(rest)) => format!("arn:{p}:{rest}"),
    }
}

/// The partition a region belongs to: `aws-cn` for China, `aws-us-gov` for GovCloud,
/// `aws-iso`, `aws-iso-b`, `aws-iso-e` and `aws-iso-f` for the isolated regions, `aws-eusc` for the
/// European Sovereign Cloud, `aws` for every other. ARNs begin with it.
pub fn partition(region: &str) -> &'static str {
    const BY_PREFIX: &[(&str, &str)] = &[
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("us-isof-", "aws-iso-f"),
        ("eusc-", "aws-eusc"),
    ];
    BY_PREFIX.iter().find(|(prefix, _)| region.starts_with(prefix)).map_or("aws", |&(_, p)| p)
}

/// Region names as AWS spells them (`us-east-1`), so that they are safe in keys and ARNs.
pub fn valid_region(r: &str) -> bool {
    !r.is_empty() && r.len() <= 32 && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Whether a string is a 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account an access key stands for in open mode: a 12-digit key id is that account,
/// anything else the default account.
pub fn account_for_access_key(key: &str, default_account: &str) -> String {
    if is_account_id(key) { key.to_string() } else { default_account.to_string() }
}

/// The parts of an ARN (`arn:partition:service:region:account:resource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    pub fn parse(s: &'a str) -> Option<Self> {
        let mut it = s.splitn(6, ':');
        if it.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: it.next()?,
            service: it.next()?,
            region: it.next()?,
            account: it.next()?,
            resource: it.next()?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn uuid_is_v4_shaped() {
        let u = SequentialIds::default().uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(RandomIds.uuid().split('-').count(), 5);
        struct Fixed;
        impl IdSource for Fixed {
            fn random_bytes(&self) -> [u8; 16] {
                std::array::from_fn(|i| i as u8 * 17)
            }
        }
        assert_eq!(Fixed.uuid(), "00112233-4455-4677-8899-aabbccddeeff");
    }

    #[test]
    fn arn_parses() {
        assert_eq!(
            (partition("cn-north-1"), partition("us-gov-west-1"), partition("eu-west-1")),
            ("aws-cn", "aws-us-gov", "aws")
        );
        let a = Arn::parse("arn:aws:sqs:us-east-1:000000000000:q:x").unwrap();
        assert_eq!(a.service, "sqs");
        assert_eq!(a.resource, "q:x");
        assert!(Arn::parse("nope").is_none());
    }

    #[test]
    fn accounts_from_keys() {
        assert_eq!(account_for_access_key("123456789012", DEFAULT_ACCOUNT), "123456789012");
        assert_eq!(account_for_access_key("test", DEFAULT_ACCOUNT), DEFAULT_ACCOUNT);
    }
}
