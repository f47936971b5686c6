//! What the S3 door needs to know of a bucket on every request — its owner, whether the
//! requester pays, where its server access logs go — kept in memory (loaded once per bucket,
//! forgotten when one of them changes), and server access logging: the door hands each request
//! of a logging bucket to [`S3::log_access`], lines gather in memory and a flusher writes them
//! into the target bucket as AWS names log objects. Delivery is best effort, as on AWS: lines
//! not yet flushed are lost with the process.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use s3s::dto::{BucketLoggingStatus, RequestPaymentConfiguration};

use crate::S3;
use crate::configs::{canonical_id, from_xml};

/// Where a bucket's access logs go.
#[derive(Debug, Clone, PartialEq)]
pub struct LogTarget {
    pub bucket: String,
    pub prefix: String,
    /// PartitionedPrefix: `{prefix}{account}/{region}/{bucket}/{YYYY}/{MM}/{DD}/…`.
    pub partitioned: bool,
    /// PartitionDateSource EventTime: the key names the day the requests were made (its time
    /// of day `00-00-00`), not the delivery time.
    pub event_time: bool,
}

/// A bucket as the door sees it.
#[derive(Debug, Clone)]
pub struct BucketSettings {
    pub owner: String,
    pub region: String,
    pub requester_pays: bool,
    pub logging: Option<LogTarget>,
}

/// The cache and the lines waiting to be written.
#[derive(Default)]
pub(crate) struct State {
    cache: std::sync::RwLock<HashMap<String, Option<Arc<BucketSettings>>>>,
    /// Bumped whenever an entry is forgotten: a load that began before does not store its
    /// (possibly older) answer.
    generation: AtomicU64,
    /// Source bucket → (request time, formatted line).
    pending: std::sync::Mutex<HashMap<String, Vec<(u64, String)>>>,
}

/// One request, as the door saw it.
#[derive(Debug, Clone, Default)]
pub struct AccessEntry {
    pub bucket: String,
    pub time_millis: u64,
    pub remote_ip: String,
    /// The caller: `None` when unauthenticated, else (account, ARN of an IAM identity or None
    /// for the account's root).
    pub requester: Option<(String, Option<String>)>,
    pub request_id: String,
    pub operation: String,
    pub key: Option<String>,
    pub request_uri: String,
    pub status: u16,
    pub error_code: Option<String>,
    pub bytes_sent: Option<u64>,
    pub object_size: Option<u64>,
    pub total_ms: u64,
    pub turnaround_ms: u64,
    pub referer: Option<String>,
    pub user_agent: Option<String>,
    pub version_id: Option<String>,
    pub host_id: String,
    pub signature_version: Option<String>,
    pub authentication_type: Option<String>,
    pub host: Option<String>,
    pub tls: bool,
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// (year, month, day, hour, minute, second) of epoch milliseconds, UTC.
fn civil(ms: u64) -> (u64, u64, u64, u64, u64, u64) {
    let c = stratus_core::time::civil(ms as i64);
    (c.year as u64, c.month.into(), c.day.into(), c.hour.into(), c.minute.into(), c.second.into())
}

fn dash(v: Option<&str>) -> &str {
    v.filter(|s| !s.is_empty()).unwrap_or("-")
}

fn quoted(v: Option<&str>) -> String {
    match v.filter(|s| !s.is_empty()) {
        Some(s) => format!("\"{}\"", s.replace('"', "\\\"")),
        None => "\"-\"".to_string(),
    }
}

impl AccessEntry {
    /// The line in S3's server access log format.
    pub fn line(&self, owner: &str) -> String {
        let (y, mo, d, h, mi, s) = civil(self.time_millis);
        let requester = match &self.requester {
            None => "-".to_string(),
            Some((_, Some(arn))) => arn.clone(),
            Some((account, None)) => canonical_id(account),
        };
        let key = self.key.as_deref().map(|k| percent_encoding::utf8_percent_encode(k, KEY_SET).to_string());
        let num = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |n| n.to_string());
        format!(
            "{owner} {bucket} [{d:02}/{mon}/{y}:{h:02}:{mi:02}:{s:02} +0000] {ip} {requester} {id} {op} {key} {uri} {status} {err} {sent} {size} {total} {turn} {referer} {agent} {version} {host_id} {sig} {cipher} {auth} {host} {tls} - -",
            owner = canonical_id(owner),
            bucket = self.bucket,
            mon = MONTHS[(mo as usize).saturating_sub(1).min(11)],
            ip = dash(Some(&self.remote_ip)),
            id = self.request_id,
            op = self.operation,
            key = dash(key.as_deref()),
            uri = quoted(Some(&self.request_uri)),
            status = self.status,
            err = dash(self.error_code.as_deref()),
            sent = num(self.bytes_sent),
            size = num(self.object_size),
            total = self.total_ms,
            turn = self.turnaround_ms,
            referer = quoted(self.referer.as_deref()),
            agent = quoted(self.user_agent.as_deref()),
            version = dash(self.version_id.as_deref()),
            host_id = dash(Some(&self.host_id)),
            sig = dash(self.signature_version.as_deref()),
            cipher = if self.tls { "TLS_AES_128_GCM_SHA256" } else { "-" },
            auth = dash(self.authentication_type.as_deref()),
            host = dash(self.host.as_deref()),
            tls = if self.tls { "TLSv1.3" } else { "-" },
        )
    }
}

/// What S3 encodes in a logged key: everything but unreserved characters and `/`.
const KEY_SET: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

/// The settings of a stored bucket.
fn settings_of(b: &crate::types::Bucket) -> BucketSettings {
    let requester_pays = b
        .configs
        .get("request-payment")
        .and_then(|x| from_xml::<RequestPaymentConfiguration>(x).ok())
        .is_some_and(|c| c.payer.as_str() == "Requester");
    let logging = b
        .configs
        .get("logging")
        .and_then(|x| from_xml::<BucketLoggingStatus>(x).ok())
        .and_then(|s| s.logging_enabled)
        .map(|l| {
            let partitioned = l.target_object_key_format.and_then(|f| f.partitioned_prefix);
            LogTarget {
                bucket: l.target_bucket,
                prefix: l.target_prefix,
                event_time: partitioned
                    .as_ref()
                    .and_then(|p| p.partition_date_source.as_ref())
                    .is_some_and(|d| d.as_str() == "EventTime"),
                partitioned: partitioned.is_some(),
            }
        });
    BucketSettings { owner: b.account.clone(), region: b.region.clone(), requester_pays, logging }
}

/// The key of a log object written at `now` (with EventTime, of requests made on the day of
/// `now`) for the source bucket.
fn object_key(t: &LogTarget, source: &BucketSettings, bucket: &str, now: u64, unique: &str) -> String {
    let (y, mo, d, h, mi, s) = if t.partitioned && t.event_time {
        let (y, mo, d, ..) = civil(now);
        (y, mo, d, 0, 0, 0)
    } else {
        civil(now)
    };
    let stamp = format!("{y:04}-{mo:02}-{d:02}-{h:02}-{mi:02}-{s:02}-{unique}");
    if t.partitioned {
        format!("{}{}/{}/{bucket}/{y:04}/{mo:02}/{d:02}/{stamp}", t.prefix, source.owner, source.region)
    } else {
        format!("{}{stamp}", t.prefix)
    }
}

impl S3 {
    /// The bucket's owner, requester-pays flag and logging target; None when there is no such
    /// bucket. Read from the store once, then from memory until it changes.
    pub async fn bucket_settings(&self, bucket: &str) -> Option<Arc<BucketSettings>> {
        let state = &self.inner.serverlog;
        if let Ok(cache) = state.cache.read()
            && let Some(s) = cache.get(bucket)
        {
            return s.clone();
        }
        let generation = state.generation.load(Ordering::SeqCst);
        let loaded = crate::objects::bucket_exists(self, bucket).await.ok().map(|b| Arc::new(settings_of(&b)));
        if let Ok(mut cache) = state.cache.write()
            && state.generation.load(Ordering::SeqCst) == generation
        {
            cache.insert(bucket.to_string(), loaded.clone());
        }
        loaded
    }

    /// After a change to the bucket (created, deleted, its logging or request payment put).
    pub(crate) fn forget_settings(&self, bucket: &str) {
        let state = &self.inner.serverlog;
        state.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut cache) = state.cache.write() {
            cache.remove(bucket);
        }
    }

    pub(crate) fn forget_all_settings(&self) {
        let state = &self.inner.serverlog;
        state.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut cache) = state.cache.write() {
            cache.clear();
        }
        if let Ok(mut pending) = state.pending.lock() {
            pending.clear();
        }
    }

    /// Queues a request's access log line (the bucket's logging was on when it was served).
    pub fn log_access(&self, settings: &BucketSettings, entry: &AccessEntry) {
        let line = entry.line(&settings.owner);
        if let Ok(mut pending) = self.inner.serverlog.pending.lock() {
            pending.entry(entry.bucket.clone()).or_default().push((entry.time_millis, line));
        }
    }

    /// Writes what gathered: one object per source bucket into its current target.
    pub(crate) async fn flush_access_logs(&self) {
        let batches: Vec<(String, Vec<(u64, String)>)> = match self.inner.serverlog.pending.lock() {
            Ok(mut p) => p.drain().collect(),
            Err(_) => return,
        };
        for (bucket, lines) in batches {
            let Some(settings) = self.bucket_settings(&bucket).await else { continue };
            let Some(target) = settings.logging.clone() else { continue };
            // With EventTime, an object holds the requests of one day and is named by it.
            let mut groups: Vec<(u64, Vec<String>)> = Vec::new();
            let now = self.now_millis();
            for (time, line) in lines {
                let when = if target.partitioned && target.event_time { time / 86_400_000 * 86_400_000 } else { now };
                match groups.iter_mut().find(|(w, _)| *w == when) {
                    Some((_, g)) => g.push(line),
                    None => groups.push((when, vec![line])),
                }
            }
            for (when, lines) in groups {
                let unique: String =
                    self.inner.env.ids.uuid().replace('-', "").to_uppercase().chars().take(16).collect();
                let key = object_key(&target, &settings, &bucket, when, &unique);
                let mut body = lines.join("\n");
                body.push('\n');
                let written =
                    self.put_object_internal(&target.bucket, &key, body.into_bytes(), "logging.s3.amazonaws.com").await;
                if let Err(e) = written {
                    tracing::debug!(bucket, target = target.bucket, error = %e.message, "an access log object was not written");
                }
            }
        }
    }

    /// Flushes access logs every `every` milliseconds.
    pub(crate) fn start_access_logs(&self, every: u64) {
        let s3 = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(every.max(100))).await;
                s3.flush_access_logs().await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_in_s3_format() {
        let e = AccessEntry {
            bucket: "src".into(),
            time_millis: 1_549_411_238_000,
            remote_ip: "192.0.2.3".into(),
            requester: Some(("111122223333".into(), None)),
            request_id: "3E57427F3EXAMPLE".into(),
            operation: "REST.GET.OBJECT".into(),
            key: Some("a b/c.txt".into()),
            request_uri: "GET /src/a%20b/c.txt HTTP/1.1".into(),
            status: 200,
            bytes_sent: Some(11),
            object_size: Some(11),
            total_ms: 7,
            user_agent: Some("Boto3/1.34".into()),
            host_id: "h".into(),
            signature_version: Some("SigV4".into()),
            authentication_type: Some("AuthHeader".into()),
            host: Some("localhost:4566".into()),
            ..Default::default()
        };
        let line = e.line("111122223333");
        let owner = canonical_id("111122223333");
        assert_eq!(
            line,
            format!(
                "{owner} src [06/Feb/2019:00:00:38 +0000] 192.0.2.3 {owner} 3E57427F3EXAMPLE REST.GET.OBJECT a%20b/c.txt \"GET /src/a%20b/c.txt HTTP/1.1\" 200 - 11 11 7 0 \"-\" \"Boto3/1.34\" - h SigV4 - AuthHeader localhost:4566 - - -"
            )
        );
    }

    #[test]
    fn log_object_keys() {
        let t = LogTarget { bucket: "logs".into(), prefix: "access/".into(), partitioned: false, event_time: false };
        let s = BucketSettings {
            owner: "000000000000".into(),
            region: "us-east-1".into(),
            requester_pays: false,
            logging: None,
        };
        assert_eq!(
            object_key(&t, &s, "src", 1_549_411_238_000, "ABCDEF0123456789"),
            "access/2019-02-06-00-00-38-ABCDEF0123456789"
        );
        let t = LogTarget { partitioned: true, ..t };
        assert_eq!(
            object_key(&t, &s, "src", 1_549_411_238_000, "ABCDEF0123456789"),
            "access/000000000000/us-east-1/src/2019/02/06/2019-02-06-00-00-38-ABCDEF0123456789"
        );
        let t = LogTarget { event_time: true, ..t };
        assert_eq!(
            object_key(&t, &s, "src", 1_549_411_238_000, "ABCDEF0123456789"),
            "access/000000000000/us-east-1/src/2019/02/06/2019-02-06-00-00-00-ABCDEF0123456789"
        );
    }
}
