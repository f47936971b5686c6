//! Objects: PutObject, GetObject, HeadObject, DeleteObject(s), CopyObject, object tagging, and
//! the version bookkeeping every write shares ([`install`], [`remove_version`]).

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result, s3_error};
use stratus_storage::{ReadTxn, Txn, scan_prefix};

use crate::body::{self, Written};
use crate::errors::{self, Fail, Res, corrupt, no_such_bucket, no_such_key, no_such_version};
use crate::notifications::{EventSource, ObjectChange, event_message, outbox_record};
use crate::types::{Bucket, ContentHeaders, Segment, Version, Versioning};
use crate::{Caller, EVENTS_TOPIC, S3, caller, keys};

/// PutObject bodies up to this size are kept inline in the metadata store.
const INLINE_MAX: usize = 64 << 10;

/// Releases a removed version's bytes inside the transaction that removes it: inline bytes are
/// deleted at once; blob names are returned for deletion after the commit.
/// What a write (PutObject, CopyObject) asks for beyond its bytes — storage class, Object Lock
/// and encryption — checked: `(storage class, lock, encryption)`. A macro, as the inputs share
/// member names, not a type.
macro_rules! write_options {
    ($i:expr, $now:expr) => {
        (
            errors::storage_class($i.storage_class.as_ref())?,
            crate::lock::requested(
                $i.object_lock_mode.as_ref(),
                $i.object_lock_retain_until_date.as_ref(),
                $i.object_lock_legal_hold_status.as_ref(),
                $now,
            )?,
            crate::encryption::requested(
                $i.server_side_encryption.as_ref(),
                $i.ssekms_key_id.as_deref(),
                $i.bucket_key_enabled,
                crate::encryption::customer_key(
                    $i.sse_customer_algorithm.as_deref(),
                    $i.sse_customer_key.as_deref(),
                    $i.sse_customer_key_md5.as_deref(),
                )?,
            )?,
        )
    };
}

pub(crate) use write_options;

/// A read (GetObject, HeadObject) of an SSE-C version must give its key.
macro_rules! check_customer_key {
    ($v:expr, $i:expr) => {
        crate::encryption::check_read(
            &$v,
            crate::encryption::customer_key(
                $i.sse_customer_algorithm.as_deref(),
                $i.sse_customer_key.as_deref(),
                $i.sse_customer_key_md5.as_deref(),
            )?
            .as_deref(),
        )?
    };
}

fn release(t: &mut dyn Txn, segments: Vec<Segment>) -> Res<Vec<String>> {
    let mut files = Vec::new();
    for seg in segments {
        if seg.inline {
            t.delete(&keys::inline_data(&seg.blob))?;
        } else {
            files.push(seg.blob);
        }
    }
    Ok(files)
}

/// Loads the bytes of a version's inline segments, for reading it.
fn load_inline(r: &mut dyn ReadTxn, v: &mut Version) -> Res<()> {
    for seg in v.segments.iter_mut().filter(|s| s.inline) {
        let data = r.get(&keys::inline_data(&seg.blob))?.ok_or_else(|| Fail(corrupt()))?;
        seg.data = Some(bytes::Bytes::from(data));
    }
    Ok(())
}

pub fn decode<T: serde::de::DeserializeOwned>(v: &[u8]) -> Res<T> {
    serde_json::from_slice(v).map_err(|_| Fail(corrupt()))
}

pub fn encode<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

pub fn load_bucket(r: &mut dyn ReadTxn, name: &str) -> Res<Bucket> {
    match r.get(&keys::bucket(name))? {
        Some(v) => decode(&v),
        None => Err(Fail(no_such_bucket(name))),
    }
}

pub fn save_bucket(t: &mut dyn Txn, b: &Bucket) -> Res<()> {
    t.put(&keys::bucket(&b.name), &encode(b))?;
    Ok(())
}

/// All versions of one object, newest first.
pub fn versions(r: &mut dyn ReadTxn, bucket: &str, key: &str) -> Res<Vec<Version>> {
    scan_prefix(r, &keys::versions_of(bucket, key), usize::MAX)?.iter().map(|(_, v)| decode(v)).collect()
}

/// Adds `v` as the newest version of its object. Unless versioning is enabled, the `null`
/// version it replaces is removed; returns the blobs nobody refers to any more.
pub fn install(t: &mut dyn Txn, bucket: &Bucket, v: &Version) -> Res<Vec<String>> {
    let mut released = Vec::new();
    if v.version_id == "null" {
        for old in versions(t, &bucket.name, &v.key)? {
            if old.version_id == "null" {
                t.delete(&keys::version(&bucket.name, &v.key, old.order))?;
                released.extend(release(t, old.segments)?);
            }
        }
    }
    t.put(&keys::version(&bucket.name, &v.key, v.order), &encode(v))?;
    if v.delete_marker {
        t.delete(&keys::current(&bucket.name, &v.key))?;
    } else {
        t.put(&keys::current(&bucket.name, &v.key), &encode(v))?;
    }
    Ok(released)
}

/// Permanently removes one version; the next newer-than-all remaining version becomes current.
pub fn remove_version(
    t: &mut dyn Txn,
    bucket: &str,
    key: &str,
    version_id: &str,
) -> Res<Option<(Version, Vec<String>)>> {
    let all = versions(t, bucket, key)?;
    let Some(pos) = all.iter().position(|v| v.version_id == version_id) else { return Ok(None) };
    let gone = all[pos].clone();
    t.delete(&keys::version(bucket, key, gone.order))?;
    if pos == 0 {
        match all.get(1) {
            Some(next) if !next.delete_marker => t.put(&keys::current(bucket, key), &encode(next))?,
            _ => t.delete(&keys::current(bucket, key))?,
        }
    }
    let blobs = release(t, gone.segments.clone())?;
    Ok(Some((gone, blobs)))
}

/// The version id a new write gets under the bucket's versioning state.
pub fn new_version_id(s3: &S3, b: &Bucket) -> String {
    match b.versioning {
        Versioning::Enabled => s3.new_id(),
        _ => "null".into(),
    }
}

/// Pushes one outbox record per matching notification rule, in the write's transaction.
pub fn emit(t: &mut dyn Txn, b: &Bucket, who: &Caller, now_millis: u64, change: &ObjectChange<'_>) -> Res<()> {
    if b.notifications.is_empty() {
        return Ok(());
    }
    let time = stratus_core::time::iso8601_millis(now_millis);
    let principal = who.principal_id();
    let host_id = host_id(&who.request_id);
    let src = EventSource {
        region: &b.region,
        bucket: &b.name,
        bucket_owner: &b.account,
        principal_id: &principal,
        source_ip: &who.source_ip,
        request_id: &who.request_id,
        host_id: &host_id,
        time: &time,
    };
    for rule in b.notifications.iter().filter(|r| r.matches(change.event_name, change.key)) {
        let msg = event_message(&src, &rule.id, change);
        stratus_storage::outbox_push(t, EVENTS_TOPIC, &outbox_record(&rule.arn, &b.name, &b.account, msg))?;
    }
    Ok(())
}

/// S3's extended request id (`x-amz-id-2`), derived from the request id.
pub fn host_id(request_id: &str) -> String {
    body::b64(request_id.as_bytes())
}

pub fn timestamp(millis: u64) -> Timestamp {
    // S3 keeps whole seconds (HTTP dates cannot say more).
    Timestamp::from(UNIX_EPOCH + Duration::from_secs(millis / 1000))
}

fn ts_secs(t: &Timestamp) -> i64 {
    time::OffsetDateTime::from(t.clone()).unix_timestamp()
}

pub fn quoted(etag: &str) -> ETag {
    ETag::Strong(etag.to_string())
}

/// The encryption every object reports: S3's default, SSE-S3.
/// A 304 Not Modified carries the object's ETag, as S3 sends it.
fn with_etag(e: S3Error, etag: &str) -> S3Error {
    if *e.code() != s3s::S3ErrorCode::NotModified {
        return e;
    }
    let mut e = e;
    let mut h = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_str(&format!("\"{etag}\"")) {
        h.insert("etag", v);
    }
    e.set_headers(h);
    e
}

/// A version id as S3 makes them here (32 hex digits) or `null`; anything else is refused as
/// S3 refuses a malformed one.
pub fn check_version_id(id: &str) -> S3Result<()> {
    if id == "null" || (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())) {
        Ok(())
    } else {
        Err(errors::invalid_argument("Invalid version id specified"))
    }
}

pub fn check_key(key: &str) -> S3Result<()> {
    if key.is_empty() || key.len() > 1024 || key.contains('\0') {
        return Err(s3_error!(KeyTooLongError, "Your key is too long"));
    }
    Ok(())
}

/// Parses the `x-amz-tagging` header (a URL query string).
pub fn parse_tagging_header(h: Option<&str>) -> S3Result<Vec<(String, String)>> {
    let Some(h) = h else { return Ok(Vec::new()) };
    let tags: Vec<(String, String)> = form_urlencoded::parse(h.as_bytes()).into_owned().collect();
    validate_tags(&tags)?;
    Ok(tags)
}

pub fn validate_tags(tags: &[(String, String)]) -> S3Result<()> {
    if tags.len() > 10 {
        let mut e = S3Error::with_message(
            s3s::S3ErrorCode::Custom("BadRequest".into()),
            "Object tags cannot be greater than 10",
        );
        e.set_status_code(http::StatusCode::BAD_REQUEST);
        return Err(e);
    }
    let mut seen = std::collections::HashSet::new();
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 {
            return Err(s3_error!(InvalidTag, "The TagKey you have provided is invalid"));
        }
        if k.starts_with("aws:") {
            return Err(s3_error!(InvalidTag, "Your TagKey cannot be prefixed with aws:"));
        }
        if v.chars().count() > 256 {
            return Err(s3_error!(InvalidTag, "The TagValue you have provided is invalid"));
        }
        if !seen.insert(k) {
            return Err(s3_error!(InvalidTag, "Cannot provide multiple Tags with the same key"));
        }
    }
    Ok(())
}

pub fn tag_list(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect()
}

pub fn tags_from(set: &[Tag]) -> Vec<(String, String)> {
    set.iter().map(|t| (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default())).collect()
}

/// The checksum algorithms an upload must compute, and the values the client sent.
pub struct ChecksumRequest {
    pub algorithm: Option<String>,
    pub expected: Vec<(String, String)>,
    /// Names a checksum sent as a trailer (`x-amz-trailer`).
    pub trailer: Option<String>,
}

impl ChecksumRequest {
    pub fn new(
        algorithm: Option<&ChecksumAlgorithm>,
        given: &[(&str, Option<&String>)],
        headers: &http::HeaderMap,
    ) -> Self {
        let expected: Vec<(String, String)> =
            given.iter().filter_map(|(a, v)| v.map(|v| (a.to_string(), v.clone()))).collect();
        let trailer = headers.get("x-amz-trailer").and_then(|v| v.to_str().ok()).and_then(|t| {
            t.trim().to_ascii_lowercase().strip_prefix("x-amz-checksum-").map(|a| a.to_ascii_uppercase())
        });
        let algorithm = algorithm
            .map(|a| a.as_str().to_ascii_uppercase())
            .or_else(|| expected.first().map(|(a, _)| a.clone()))
            .or_else(|| trailer.clone());
        Self { algorithm, expected, trailer }
    }

    pub fn hasher(&self) -> s3s::checksum::ChecksumHasher {
        let mut algs: Vec<&str> = self.expected.iter().map(|(a, _)| a.as_str()).collect();
        algs.extend(self.algorithm.as_deref());
        body::hasher_for(&algs)
    }

    /// Verifies what the client sent against what was received; returns the value to store.
    pub fn verify(&self, w: &Written, trailers: Option<&http::HeaderMap>) -> S3Result<Option<(String, String)>> {
        let mut expected = self.expected.clone();
        if let (Some(alg), Some(tr)) = (&self.trailer, trailers) {
            let name = format!("x-amz-checksum-{}", alg.to_ascii_lowercase());
            if let Some(v) = tr.get(name.as_str()).and_then(|v| v.to_str().ok()) {
                expected.push((alg.clone(), v.to_string()));
            }
        }
        for (alg, value) in &expected {
            let got = body::checksum_value(&w.checksums, alg).unwrap_or_default();
            if &got != value {
                return Err(S3Error::with_message(
                    s3s::S3ErrorCode::BadDigest,
                    format!("The {alg} you specified did not match the calculated checksum."),
                ));
            }
        }
        Ok(self.algorithm.as_ref().and_then(|a| body::checksum_value(&w.checksums, a).map(|v| (a.clone(), v))))
    }

    /// Receives an upload's body into a new blob (or inline, up to `inline_max` bytes), then
    /// checks its Content-MD5 and checksums (trailing ones too); returns what was written and
    /// the checksum to store. A body that fails a check is deleted again.
    pub async fn receive(
        &self,
        s3: &S3,
        body: Option<StreamingBlob>,
        content_md5: Option<&str>,
        trailing: Option<&s3s::TrailingHeaders>,
        inline_max: usize,
    ) -> S3Result<(Written, Option<(String, String)>)> {
        let blob = keys::blob_name(s3.now_millis(), &s3.env().ids.uuid());
        let w = body::write(s3.store().blobs().clone(), blob, body, self.hasher(), inline_max).await?;
        let trailers = trailing.and_then(|t| t.take());
        match body::check_content_md5(content_md5, &w.md5).and_then(|()| self.verify(&w, trailers.as_ref())) {
            Ok(checksum) => Ok((w, checksum)),
            Err(e) => {
                if w.inline.is_none() {
                    body::delete_later(s3.store().blobs().clone(), vec![w.blob]);
                }
                Err(e)
            }
        }
    }
}

pub fn set_checksum(c: &Option<(String, String)>, out: &mut Checksum) {
    if let Some((alg, v)) = c {
        match alg.as_str() {
            "CRC32" => out.checksum_crc32 = Some(v.clone()),
            "CRC32C" => out.checksum_crc32c = Some(v.clone()),
            "SHA1" => out.checksum_sha1 = Some(v.clone()),
            "SHA256" => out.checksum_sha256 = Some(v.clone()),
            "CRC64NVME" => out.checksum_crc64nvme = Some(v.clone()),
            _ => {}
        }
    }
}

fn content_headers(
    content_type: Option<&String>,
    content_encoding: Option<&String>,
    content_disposition: Option<&String>,
    content_language: Option<&String>,
    cache_control: Option<&String>,
    expires: Option<&Timestamp>,
) -> ContentHeaders {
    let expires = expires.and_then(|t| {
        let mut buf = Vec::new();
        t.format(TimestampFormat::HttpDate, &mut buf).ok()?;
        String::from_utf8(buf).ok()
    });
    ContentHeaders {
        content_type: content_type.cloned(),
        content_encoding: content_encoding.cloned(),
        content_disposition: content_disposition.cloned(),
        content_language: content_language.cloned(),
        cache_control: cache_control.cloned(),
        expires,
        website_redirect: None,
    }
}

fn parse_expires(s: &Option<String>) -> Option<Timestamp> {
    s.as_deref().and_then(|s| Timestamp::parse(TimestampFormat::HttpDate, s).ok())
}

/// Makes sure the bucket exists before a body is streamed in.
pub async fn bucket_exists(s3: &S3, bucket: &str) -> S3Result<Bucket> {
    let name = bucket.to_string();
    Ok(s3.store().read(move |r| load_bucket(r, &name)).await?)
}

/// Writes a finished blob's version under its key (PutObject, CopyObject, CompleteMultipartUpload).
pub struct NewObject {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub segments: Vec<Segment>,
    pub headers: ContentHeaders,
    pub metadata: BTreeMap<String, String>,
    pub tags: Vec<(String, String)>,
    pub checksum: Option<(String, String)>,
    pub parts_count: Option<u32>,
    pub part_checksums: Vec<String>,
    pub event_name: &'static str,
    pub if_match: Option<ETagCondition>,
    pub if_none_match: Option<ETagCondition>,
    /// The multipart upload this completes: consumed in the same transaction, so that an upload
    /// whose conditions fail can be completed (or aborted) later.
    pub upload_id: Option<String>,
    /// None for STANDARD.
    pub storage_class: Option<String>,
    /// The Object Lock the upload asked for (the bucket's default retention applies otherwise).
    pub lock: crate::types::Lock,
    /// The encryption the write asked for (the bucket's default applies otherwise).
    pub encryption: Option<crate::encryption::Encryption>,
    /// The version id to write under (a replica keeps its source's); a new one otherwise.
    pub version_id: Option<String>,
    /// Written by replication: marked `REPLICA`, and not replicated again.
    pub replica: bool,
}

/// Commits a new object version (with its events); returns the version. On failure the new
/// blobs are deleted again.
pub async fn commit_object(s3: &S3, bucket: &str, who: &Caller, obj: NewObject) -> S3Result<Version> {
    // A completed upload's parts stay the upload's if the commit fails.
    let new_blobs: Vec<String> = match obj.upload_id {
        Some(_) => Vec::new(),
        None => obj.segments.iter().filter(|s| !s.inline).map(|s| s.blob.clone()).collect(),
    };
    let (bucket, s3c, who) = (bucket.to_string(), s3.clone(), who.clone());
    let now = s3.now_millis();
    let result = s3
        .store()
        .write_signalling(move |t| -> Res<(Version, Vec<String>)> {
            let b = load_bucket(t, &bucket)?;
            let lock = crate::lock::for_new_version(&b, obj.lock.clone(), now)?;
            let upload = match &obj.upload_id {
                Some(u) => Some(crate::multipart::take_upload(t, &bucket, &obj.key, u)?),
                None => None,
            };
            if obj.if_match.is_some() || obj.if_none_match.is_some() {
                let cur = t.get(&keys::current(&bucket, &obj.key))?.map(|v| decode::<Version>(&v)).transpose()?;
                // The key was written or deleted after the upload began: S3 refuses to decide.
                if cur.is_none()
                    && let Some(u) = &upload
                    && written_since(t, &bucket, &obj.key, u.initiated_millis)?
                {
                    return Err(Fail(errors::conditional_conflict()));
                }
                if let Some(c) = &obj.if_none_match
                    && let Some(cur) = &cur
                    && (c.is_any() || c.as_etag().is_some_and(|e| e.value() == cur.etag))
                {
                    return Err(Fail(errors::precondition_failed()));
                }
                if let Some(c) = &obj.if_match {
                    match &cur {
                        None => return Err(Fail(no_such_key())),
                        Some(cur) if !(c.is_any() || c.as_etag().is_some_and(|e| e.value() == cur.etag)) => {
                            return Err(Fail(errors::precondition_failed()));
                        }
                        _ => {}
                    }
                }
            }
            for seg in &obj.segments {
                if let Some(data) = seg.data.as_ref().filter(|_| seg.inline) {
                    t.put(&keys::inline_data(&seg.blob), data)?;
                }
            }
            let order = stratus_storage::next_sequence(t, keys::ORDER_SEQUENCE)?;
            let mut v = Version {
                key: obj.key.clone(),
                version_id: obj.version_id.clone().unwrap_or_else(|| new_version_id(&s3c, &b)),
                order,
                delete_marker: false,
                last_modified_millis: now,
                size: obj.size,
                etag: obj.etag.clone(),
                segments: obj.segments,
                headers: obj.headers,
                metadata: obj.metadata,
                tags: obj.tags,
                checksum: obj.checksum,
                parts_count: obj.parts_count,
                part_checksums: obj.part_checksums,
                owner: who.account.clone(),
                storage_class: obj.storage_class,
                restore: None,
                lock,
                encryption: Some(crate::encryption::for_new_version(&b, obj.encryption)?),
                replication_status: obj.replica.then(|| "REPLICA".to_string()),
            };
            crate::replication::on_new_version(t, &b, &mut v)?;
            let released = install(t, &b, &v)?;
            let change = ObjectChange {
                event_name: obj.event_name,
                key: &v.key,
                size: Some(v.size),
                etag: Some(&v.etag),
                version_id: (b.versioning != Versioning::Unversioned).then_some(v.version_id.as_str()),
                sequencer: order,
                transition: None,
            };
            emit(t, &b, &who, now, &change)?;
            Ok((v, released))
        })
        .await;
    match result {
        Ok((v, released)) => {
            body::delete_later(s3.store().blobs().clone(), released);
            Ok(v)
        }
        Err(e) => {
            body::delete_later(s3.store().blobs().clone(), new_blobs);
            Err(e.into())
        }
    }
}

pub async fn put(s3: &S3, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
    put_as(s3, req, "ObjectCreated:Put").await
}

/// PostObject (an HTML form upload): a PutObject whose event is `ObjectCreated:Post`.
pub async fn post(s3: &S3, req: S3Request<PostObjectInput>) -> S3Result<S3Response<PostObjectOutput>> {
    let put_req = req.map_input(|i| PutObjectInput {
        body: i.body,
        bucket: i.bucket,
        key: i.key,
        cache_control: i.cache_control,
        checksum_algorithm: i.checksum_algorithm,
        checksum_crc32: i.checksum_crc32,
        checksum_crc32c: i.checksum_crc32c,
        checksum_crc64nvme: i.checksum_crc64nvme,
        checksum_sha1: i.checksum_sha1,
        checksum_sha256: i.checksum_sha256,
        content_disposition: i.content_disposition,
        content_encoding: i.content_encoding,
        content_language: i.content_language,
        content_length: i.content_length,
        content_md5: i.content_md5,
        content_type: i.content_type,
        expires: i.expires,
        metadata: i.metadata,
        tagging: i.tagging,
        ..Default::default()
    });
    let out = put_as(s3, put_req, "ObjectCreated:Post").await?;
    Ok(out.map_output(|o| PostObjectOutput {
        e_tag: o.e_tag,
        version_id: o.version_id,
        checksum_crc32: o.checksum_crc32,
        checksum_crc32c: o.checksum_crc32c,
        checksum_crc64nvme: o.checksum_crc64nvme,
        checksum_sha1: o.checksum_sha1,
        checksum_sha256: o.checksum_sha256,
        ..Default::default()
    }))
}

async fn put_as(
    s3: &S3,
    req: S3Request<PutObjectInput>,
    event_name: &'static str,
) -> S3Result<S3Response<PutObjectOutput>> {
    let who = caller(&req);
    let trailing = req.trailing_headers.clone();
    let i = req.input;
    check_key(&i.key)?;
    // A body too large to keep inline is written to a file before the commit, so check the
    // bucket first rather than write it for nothing; a small one is checked by the commit.
    let small = i.content_length.is_some_and(|n| usize::try_from(n).is_ok_and(|n| n <= INLINE_MAX));
    if !small {
        bucket_exists(s3, &i.bucket).await?;
    }
    errors::check_write_conditions(i.if_match.as_ref(), i.if_none_match.as_ref())?;
    let (storage_class, lock, encryption) = write_options!(i, s3.now_millis());
    let acl =
        crate::configs::acl_at_write(s3, &i.bucket, &who.account, &crate::configs::AclHeaders::of_put(&i)).await?;
    let bucket = i.bucket.clone();
    let tags = parse_tagging_header(i.tagging.as_deref())?;
    let sums = ChecksumRequest::new(
        i.checksum_algorithm.as_ref(),
        &[
            ("CRC32", i.checksum_crc32.as_ref()),
            ("CRC32C", i.checksum_crc32c.as_ref()),
            ("SHA1", i.checksum_sha1.as_ref()),
            ("SHA256", i.checksum_sha256.as_ref()),
            ("CRC64NVME", i.checksum_crc64nvme.as_ref()),
        ],
        &req.headers,
    );
    let (w, checksum) = sums.receive(s3, i.body, i.content_md5.as_deref(), trailing.as_ref(), INLINE_MAX).await?;
    let etag = hex::encode(w.md5);
    let mut headers = content_headers(
        i.content_type.as_ref(),
        i.content_encoding.as_ref(),
        i.content_disposition.as_ref(),
        i.content_language.as_ref(),
        i.cache_control.as_ref(),
        i.expires.as_ref(),
    );
    headers.website_redirect = i.website_redirect_location;
    let obj = NewObject {
        key: i.key,
        size: w.size,
        etag: etag.clone(),
        segments: vec![w.segment()],
        headers,
        metadata: i.metadata.unwrap_or_default().into_iter().collect(),
        tags,
        checksum: checksum.clone(),
        parts_count: None,
        part_checksums: Vec::new(),
        event_name,
        if_match: i.if_match,
        if_none_match: i.if_none_match,
        upload_id: None,
        storage_class,
        lock,
        encryption,
        version_id: None,
        replica: false,
    };
    let key = obj.key.clone();
    let v = commit_object(s3, &bucket, &who, obj).await?;
    if let Some(acl) = acl {
        crate::configs::store_object_acl(s3, &bucket, &key, &v.version_id, acl).await?;
    }
    let enc = crate::encryption::answer(v.encryption.as_ref());
    let mut out = PutObjectOutput {
        e_tag: Some(quoted(&etag)),
        server_side_encryption: enc.sse,
        ssekms_key_id: enc.kms_key,
        bucket_key_enabled: enc.bucket_key,
        sse_customer_algorithm: enc.customer_algorithm,
        sse_customer_key_md5: enc.customer_key_md5,
        ..Default::default()
    };
    // Enabled versioning always gives a real id; `null` (unversioned, suspended) is not sent.
    if v.version_id != "null" {
        out.version_id = Some(v.version_id);
    }
    let mut c = Checksum::default();
    set_checksum(&checksum, &mut c);
    out.checksum_crc32 = c.checksum_crc32;
    out.checksum_crc32c = c.checksum_crc32c;
    out.checksum_sha1 = c.checksum_sha1;
    out.checksum_sha256 = c.checksum_sha256;
    out.checksum_crc64nvme = c.checksum_crc64nvme;
    out.checksum_type = checksum.as_ref().map(|_| ChecksumType::from_static(ChecksumType::FULL_OBJECT));
    Ok(S3Response::new(out))
}

/// Finds the version a HEAD or a tagging call names: the current one, or `version_id`.
pub async fn resolve(s3: &S3, bucket: &str, key: &str, version_id: Option<&str>) -> S3Result<Version> {
    find_version(s3, bucket, key, version_id, false).await
}

/// Like [`resolve`], with the bytes of inline segments loaded, for those who read the object
/// (GET, CopySource, internal reads).
pub async fn resolve_with_data(s3: &S3, bucket: &str, key: &str, version_id: Option<&str>) -> S3Result<Version> {
    find_version(s3, bucket, key, version_id, true).await
}

async fn find_version(
    s3: &S3,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    with_data: bool,
) -> S3Result<Version> {
    if let Some(id) = version_id {
        check_version_id(id)?;
    }
    let (bucket, key, vid) = (bucket.to_string(), key.to_string(), version_id.map(str::to_string));
    let load = move |r: &mut dyn ReadTxn, mut v: Version| -> Res<Version> {
        if with_data {
            load_inline(r, &mut v)?;
        }
        Ok(v)
    };
    s3.store()
        .read(move |r| -> Res<Result<Version, S3Error>> {
            load_bucket(r, &bucket)?;
            if let Some(vid) = vid {
                let all = versions(r, &bucket, &key)?;
                return Ok(match all.into_iter().find(|v| v.version_id == vid) {
                    Some(v) if !v.delete_marker => Ok(load(r, v)?),
                    Some(v) => {
                        let mut e =
                            s3_error!(MethodNotAllowed, "The specified method is not allowed against this resource.");
                        e = errors::with_delete_marker(e, &v.version_id);
                        Err(e)
                    }
                    None => Err(no_such_version()),
                });
            }
            if let Some(v) = r.get(&keys::current(&bucket, &key))? {
                return Ok(Ok(load(r, decode(&v)?)?));
            }
            // A delete marker on top says so in the 404.
            let newest = scan_prefix(r, &keys::versions_of(&bucket, &key), 1)?;
            Ok(match newest.first() {
                Some((_, v)) => {
                    let v: Version = decode(v)?;
                    Err(errors::with_delete_marker(no_such_key(), &v.version_id))
                }
                None => Err(no_such_key()),
            })
        })
        .await?
}

/// Whether `key` was written or deleted at or after `since_ms` (a version or delete marker that
/// new, or a deletion recorded while uploads were in progress).
fn written_since(r: &mut dyn ReadTxn, bucket: &str, key: &str, since_ms: u64) -> Res<bool> {
    if let Some((_, v)) = scan_prefix(r, &keys::versions_of(bucket, key), 1)?.first() {
        let v: Version = decode(v)?;
        if v.last_modified_millis >= since_ms {
            return Ok(true);
        }
    }
    let deleted = r.get(&keys::deleted_during_upload(bucket, key))?;
    Ok(deleted.and_then(|b| b.try_into().ok().map(u64::from_be_bytes)).is_some_and(|ms| ms >= since_ms))
}

/// The GET/HEAD preconditions of RFC 7232 as S3 applies them.
pub fn check_conditions(
    v: &Version,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
    modified_fails_with: fn() -> S3Error,
) -> S3Result<()> {
    let matches = |c: &ETagCondition| c.is_any() || c.as_etag().is_some_and(|e| e.value() == v.etag);
    let secs = (v.last_modified_millis / 1000) as i64;
    if let Some(c) = if_match {
        if !matches(c) {
            return Err(errors::precondition_failed());
        }
    } else if let Some(t) = if_unmodified_since
        && secs > ts_secs(t)
    {
        return Err(errors::precondition_failed());
    }
    if let Some(c) = if_none_match {
        if matches(c) {
            return Err(modified_fails_with());
        }
    } else if let Some(t) = if_modified_since
        && secs <= ts_secs(t)
    {
        return Err(modified_fails_with());
    }
    Ok(())
}

/// The byte range a GET asks for (Range header or partNumber): (offset, length, Content-Range).
fn byte_range(v: &Version, range: Option<&Range>, part_number: Option<i32>) -> S3Result<Option<(u64, u64)>> {
    if let Some(r) = range {
        let ok = r.check(v.size).map_err(|_| {
            let e = S3Error::with_message(
                s3s::S3ErrorCode::InvalidRange,
                "The requested range is not satisfiable".to_string(),
            );
            errors::with_elements(
                e,
                &[("RangeRequested", &r.to_header_string()), ("ActualObjectSize", &v.size.to_string())],
            )
        })?;
        return Ok(Some((ok.start, ok.end - ok.start)));
    }
    if let Some(n) = part_number {
        if v.parts_count.is_none() {
            // A single-part object is its own part 1 (answered 206 with its whole range).
            return match n {
                1 if v.size == 0 => Ok(None),
                1 => Ok(Some((0, v.size))),
                _ => Err(invalid_part_number()),
            };
        }
        let idx = usize::try_from(n - 1)
            .map_err(|_| errors::invalid_argument("Part number must be an integer between 1 and 10000, inclusive"))?;
        let mut off = 0;
        for (i, s) in v.segments.iter().enumerate() {
            if i == idx {
                return Ok(Some((off, s.size)));
            }
            off += s.size;
        }
        return Err(invalid_part_number());
    }
    Ok(None)
}

fn invalid_part_number() -> S3Error {
    let mut e = S3Error::with_message(
        s3s::S3ErrorCode::Custom("InvalidPartNumber".into()),
        "The requested partnumber is not satisfiable",
    );
    e.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
    e
}

fn metadata_out(v: &Version) -> Option<Metadata> {
    (!v.metadata.is_empty()).then(|| v.metadata.clone().into_iter().collect())
}

fn checksum_out(v: &Version, mode: Option<&ChecksumMode>, ranged: bool) -> Checksum {
    let mut c = Checksum::default();
    if mode.is_some_and(|m| m.as_str().eq_ignore_ascii_case("ENABLED")) && !ranged {
        set_checksum(&v.checksum, &mut c);
        c.checksum_type = v.checksum.as_ref().map(|_| checksum_type(v));
    }
    c
}

/// `x-amz-storage-class`, which S3 leaves out for STANDARD.
fn class_header(v: &Version) -> Option<StorageClass> {
    v.storage_class.clone().map(StorageClass::from)
}

/// `x-amz-restore` of a restored (or restoring) archived object.
fn restore_header(v: &Version, now: u64) -> Option<String> {
    let r = v.restore?;
    if now < r.ready_millis {
        return Some("ongoing-request=\"true\"".into());
    }
    let mut buf = Vec::new();
    timestamp(r.expiry_millis).format(TimestampFormat::HttpDate, &mut buf).ok()?;
    Some(format!("ongoing-request=\"false\", expiry-date=\"{}\"", String::from_utf8_lossy(&buf)))
}

/// `COMPOSITE` for a multipart object's checksum of its parts, else `FULL_OBJECT`.
fn checksum_type(v: &Version) -> ChecksumType {
    ChecksumType::from_static(if v.part_checksums.is_empty() {
        ChecksumType::FULL_OBJECT
    } else {
        ChecksumType::COMPOSITE
    })
}

/// The attributes GetObjectAttributes may ask for.
const OBJECT_ATTRIBUTES: &[&str] = &["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"];

/// GetObjectAttributes: what HEAD would tell, by attribute, plus the parts of a multipart object
/// (listed with their checksums when it has a composite one, paginated as ListParts is).
pub async fn attributes(
    s3: &S3,
    req: S3Request<GetObjectAttributesInput>,
) -> S3Result<S3Response<GetObjectAttributesOutput>> {
    let i = req.input;
    let wanted: Vec<String> = i
        .object_attributes
        .iter()
        .flat_map(|a| a.as_str().split(','))
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    if wanted.is_empty() {
        return Err(s3_error!(
            InvalidRequest,
            "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty"
        ));
    }
    if let Some(bad) = wanted.iter().find(|a| !OBJECT_ATTRIBUTES.contains(&a.as_str())) {
        return Err(errors::invalid_argument_named(
            "Invalid attribute name specified.",
            "x-amz-object-attributes",
            bad,
        ));
    }
    let v = resolve(s3, &i.bucket, &i.key, i.version_id.as_deref()).await?;
    let has = |a: &str| wanted.iter().any(|w| w == a);
    let mut out = GetObjectAttributesOutput {
        last_modified: Some(timestamp(v.last_modified_millis)),
        version_id: version_header(&v),
        ..Default::default()
    };
    if has("ETag") {
        out.e_tag = Some(ETag::Strong(v.etag.clone()));
    }
    if has("ObjectSize") {
        out.object_size = Some(v.size as i64);
    }
    if has("StorageClass") {
        out.storage_class = Some(StorageClass::from(v.class().to_string()));
    }
    if has("Checksum") && v.checksum.is_some() {
        // The composite value without its `-{parts}` suffix.
        let value = v.checksum.as_ref().map(|(a, val)| {
            let bare = if v.part_checksums.is_empty() {
                val.as_str()
            } else {
                val.rsplit_once('-').map_or(val.as_str(), |(b, _)| b)
            };
            (a.clone(), bare.to_string())
        });
        let mut c = Checksum::default();
        set_checksum(&value, &mut c);
        c.checksum_type = Some(checksum_type(&v));
        out.checksum = Some(c);
    }
    if has("ObjectParts")
        && let Some(count) = v.parts_count
    {
        let mut parts = GetObjectAttributesParts { total_parts_count: Some(count as i32), ..Default::default() };
        if let Some((alg, _)) = v.checksum.as_ref().filter(|_| !v.part_checksums.is_empty()) {
            let max = i.max_parts.unwrap_or(1000).clamp(0, 1000) as usize;
            let marker = i.part_number_marker.unwrap_or(0).max(0) as usize;
            let all: Vec<ObjectPart> = v
                .segments
                .iter()
                .zip(&v.part_checksums)
                .enumerate()
                .map(|(n, (seg, sum))| {
                    let mut p = ObjectPart {
                        part_number: Some(n as i32 + 1),
                        size: Some(seg.size as i64),
                        ..Default::default()
                    };
                    match alg.as_str() {
                        "CRC32" => p.checksum_crc32 = Some(sum.clone()),
                        "CRC32C" => p.checksum_crc32c = Some(sum.clone()),
                        "SHA1" => p.checksum_sha1 = Some(sum.clone()),
                        _ => p.checksum_sha256 = Some(sum.clone()),
                    }
                    p
                })
                .collect();
            let page: Vec<ObjectPart> = all.iter().skip(marker).take(max).cloned().collect();
            let truncated = marker + page.len() < all.len();
            parts.is_truncated = Some(truncated);
            parts.max_parts = Some(max as i32);
            parts.part_number_marker = Some(marker as i32);
            parts.next_part_number_marker = page.last().and_then(|p| p.part_number);
            parts.parts = Some(page);
        }
        out.object_parts = Some(parts);
    }
    Ok(S3Response::new(out))
}

fn version_header(v: &Version) -> Option<String> {
    (v.version_id != "null").then(|| v.version_id.clone())
}

pub async fn get(s3: &S3, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
    let i = req.input;
    let v = resolve_with_data(s3, &i.bucket, &i.key, i.version_id.as_deref()).await?;
    check_conditions(
        &v,
        i.if_match.as_ref(),
        i.if_none_match.as_ref(),
        i.if_modified_since.as_ref(),
        i.if_unmodified_since.as_ref(),
        errors::not_modified,
    )
    .map_err(|e| with_etag(e, &v.etag))?;
    check_customer_key!(v, i);
    if !v.readable(s3.now_millis()) {
        return Err(errors::invalid_object_state(v.class()));
    }
    let range = byte_range(&v, i.range.as_ref(), i.part_number)?;
    let (offset, len) = range.unwrap_or((0, v.size));
    let c = checksum_out(&v, i.checksum_mode.as_ref(), range.is_some());
    let h = &v.headers;
    let (lock_mode, lock_until, legal_hold) = crate::lock::headers(&v);
    let enc = crate::encryption::answer(v.encryption.as_ref());
    let out = GetObjectOutput {
        replication_status: v.replication_status.clone().map(ReplicationStatus::from),
        ssekms_key_id: enc.kms_key,
        bucket_key_enabled: enc.bucket_key,
        sse_customer_algorithm: enc.customer_algorithm,
        sse_customer_key_md5: enc.customer_key_md5,
        object_lock_mode: lock_mode,
        object_lock_retain_until_date: lock_until,
        object_lock_legal_hold_status: legal_hold,
        storage_class: class_header(&v),
        restore: restore_header(&v, s3.now_millis()),
        server_side_encryption: enc.sse,
        body: Some(body::read(s3.store().blobs().clone(), v.segments.clone(), offset, len)),
        content_length: Some(len as i64),
        content_range: range.map(|(o, l)| format!("bytes {}-{}/{}", o, o + l - 1, v.size)),
        accept_ranges: Some("bytes".into()),
        e_tag: Some(quoted(&v.etag)),
        last_modified: Some(timestamp(v.last_modified_millis)),
        content_type: Some(h.content_type.clone().unwrap_or_else(|| "binary/octet-stream".into())),
        content_encoding: i.response_content_encoding.or(h.content_encoding.clone()),
        content_disposition: i.response_content_disposition.or(h.content_disposition.clone()),
        content_language: i.response_content_language.or(h.content_language.clone()),
        cache_control: i.response_cache_control.or(h.cache_control.clone()),
        expires: i.response_expires.or(parse_expires(&h.expires)),
        website_redirect_location: h.website_redirect.clone(),
        metadata: metadata_out(&v),
        version_id: version_header(&v),
        tag_count: (!v.tags.is_empty()).then_some(v.tags.len() as i32),
        parts_count: if i.part_number.is_some() { v.parts_count.map(|n| n as i32) } else { None },
        checksum_crc32: c.checksum_crc32,
        checksum_crc32c: c.checksum_crc32c,
        checksum_sha1: c.checksum_sha1,
        checksum_sha256: c.checksum_sha256,
        checksum_crc64nvme: c.checksum_crc64nvme,
        checksum_type: c.checksum_type,
        ..Default::default()
    };
    let mut resp = S3Response::new(out);
    if let Some(t) = i.response_content_type
        && let Ok(v) = http::HeaderValue::from_str(&t)
    {
        resp.headers.insert(http::header::CONTENT_TYPE, v);
    }
    Ok(resp)
}

pub async fn head(s3: &S3, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
    let i = req.input;
    let v = resolve(s3, &i.bucket, &i.key, i.version_id.as_deref()).await?;
    check_conditions(
        &v,
        i.if_match.as_ref(),
        i.if_none_match.as_ref(),
        i.if_modified_since.as_ref(),
        i.if_unmodified_since.as_ref(),
        errors::not_modified,
    )
    .map_err(|e| with_etag(e, &v.etag))?;
    check_customer_key!(v, i);
    let range = byte_range(&v, i.range.as_ref(), i.part_number)?;
    let (offset, len) = range.unwrap_or((0, v.size));
    let c = checksum_out(&v, i.checksum_mode.as_ref(), range.is_some());
    let h = &v.headers;
    let (lock_mode, lock_until, legal_hold) = crate::lock::headers(&v);
    let enc = crate::encryption::answer(v.encryption.as_ref());
    let out = HeadObjectOutput {
        replication_status: v.replication_status.clone().map(ReplicationStatus::from),
        ssekms_key_id: enc.kms_key,
        bucket_key_enabled: enc.bucket_key,
        sse_customer_algorithm: enc.customer_algorithm,
        sse_customer_key_md5: enc.customer_key_md5,
        object_lock_mode: lock_mode,
        object_lock_retain_until_date: lock_until,
        object_lock_legal_hold_status: legal_hold,
        storage_class: class_header(&v),
        restore: restore_header(&v, s3.now_millis()),
        server_side_encryption: enc.sse,
        content_length: Some(len as i64),
        content_range: range.map(|(o, l)| format!("bytes {}-{}/{}", o, o + l - 1, v.size)),
        accept_ranges: Some("bytes".into()),
        e_tag: Some(quoted(&v.etag)),
        last_modified: Some(timestamp(v.last_modified_millis)),
        content_type: Some(h.content_type.clone().unwrap_or_else(|| "binary/octet-stream".into())),
        content_encoding: h.content_encoding.clone(),
        content_disposition: h.content_disposition.clone(),
        content_language: h.content_language.clone(),
        cache_control: h.cache_control.clone(),
        expires: parse_expires(&h.expires),
        website_redirect_location: h.website_redirect.clone(),
        metadata: metadata_out(&v),
        version_id: version_header(&v),
        parts_count: if i.part_number.is_some() { v.parts_count.map(|n| n as i32) } else { None },
        checksum_crc32: c.checksum_crc32,
        checksum_crc32c: c.checksum_crc32c,
        checksum_sha1: c.checksum_sha1,
        checksum_sha256: c.checksum_sha256,
        checksum_crc64nvme: c.checksum_crc64nvme,
        checksum_type: c.checksum_type,
        ..Default::default()
    };
    let _ = offset;
    let mut resp = S3Response::new(out);
    if range.is_some() {
        resp.status = Some(http::StatusCode::PARTIAL_CONTENT);
    }
    Ok(resp)
}

/// What one delete did: (delete marker created or removed, version id concerned).
pub struct Deleted {
    pub delete_marker: bool,
    pub version_id: Option<String>,
}

/// Deletes inside a transaction: a version permanently, or the object (a delete marker under
/// versioning). Returns what happened and the blobs to release.
/// What a delete names: a key, a version of it, and whether GOVERNANCE retention is bypassed.
pub struct DeleteTarget<'a> {
    pub key: &'a str,
    pub version_id: Option<&'a str>,
    pub bypass_governance: bool,
}

pub fn delete_in(
    s3: &S3,
    t: &mut dyn Txn,
    b: &Bucket,
    who: &Caller,
    now: u64,
    target: DeleteTarget<'_>,
) -> Res<(Deleted, Vec<String>)> {
    let DeleteTarget { key, version_id, bypass_governance } = target;
    if let Some(vid) = version_id {
        if let Some(v) = versions(t, &b.name, key)?.iter().find(|v| v.version_id == vid) {
            crate::lock::check_delete(v, now, bypass_governance)?;
        }
        let Some((gone, blobs)) = remove_version(t, &b.name, key, vid)? else {
            // Deleting a version that does not exist succeeds (S3 is idempotent here).
            return Ok((Deleted { delete_marker: false, version_id: Some(vid.to_string()) }, Vec::new()));
        };
        let order = stratus_storage::next_sequence(t, keys::ORDER_SEQUENCE)?;
        let change = ObjectChange {
            event_name: "ObjectRemoved:Delete",
            key,
            size: None,
            etag: None,
            version_id: Some(vid),
            sequencer: order,
            transition: None,
        };
        emit(t, b, who, now, &change)?;
        return Ok((Deleted { delete_marker: gone.delete_marker, version_id: Some(vid.to_string()) }, blobs));
    }
    match b.versioning {
        Versioning::Unversioned => {
            let mut released = Vec::new();
            let existed = t.get(&keys::current(&b.name, key))?.is_some();
            for v in versions(t, &b.name, key)? {
                t.delete(&keys::version(&b.name, key, v.order))?;
                released.extend(release(t, v.segments)?);
            }
            t.delete(&keys::current(&b.name, key))?;
            let mut uploads = keys::uploads_prefix(&b.name);
            uploads.extend_from_slice(key.as_bytes());
            uploads.push(0);
            if existed && !scan_prefix(t, &uploads, 1)?.is_empty() {
                t.put(&keys::deleted_during_upload(&b.name, key), &now.to_be_bytes())?;
            }
            if existed {
                let order = stratus_storage::next_sequence(t, keys::ORDER_SEQUENCE)?;
                let change = ObjectChange {
                    event_name: "ObjectRemoved:Delete",
                    key,
                    size: None,
                    etag: None,
                    version_id: None,
                    sequencer: order,
                    transition: None,
                };
                emit(t, b, who, now, &change)?;
            }
            Ok((Deleted { delete_marker: false, version_id: None }, released))
        }
        _ => {
            let order = stratus_storage::next_sequence(t, keys::ORDER_SEQUENCE)?;
            let mut marker = Version::delete_marker(key, new_version_id(s3, b), order, now, who.account.clone());
            crate::replication::on_new_version(t, b, &mut marker)?;
            let released = install(t, b, &marker)?;
            let change = ObjectChange {
                event_name: "ObjectRemoved:DeleteMarkerCreated",
                key,
                size: None,
                etag: None,
                version_id: Some(&marker.version_id),
                sequencer: order,
                transition: None,
            };
            emit(t, b, who, now, &change)?;
            Ok((Deleted { delete_marker: true, version_id: Some(marker.version_id) }, released))
        }
    }
}

pub async fn delete(s3: &S3, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
    let who = caller(&req);
    let i = req.input;
    if let Some(id) = i.version_id.as_deref() {
        check_version_id(id)?;
    }
    // A conditional delete (If-Match): the object must be there with that ETag, else 412 and
    // nothing is deleted.
    if let Some(cond) = &i.if_match {
        let v = resolve(s3, &i.bucket, &i.key, i.version_id.as_deref()).await?;
        if !(cond.is_any() || cond.as_etag().is_some_and(|e| e.value() == v.etag)) {
            return Err(errors::precondition_failed());
        }
    }
    let (s3c, now) = (s3.clone(), s3.now_millis());
    let (d, released) = s3
        .store()
        .write_signalling(move |t| {
            let b = load_bucket(t, &i.bucket)?;
            let bypass = i.bypass_governance_retention.unwrap_or(false);
            let target = DeleteTarget { key: &i.key, version_id: i.version_id.as_deref(), bypass_governance: bypass };
            delete_in(&s3c, t, &b, &who, now, target)
        })
        .await?;
    body::delete_later(s3.store().blobs().clone(), released);
    let out = DeleteObjectOutput {
        delete_marker: d.delete_marker.then_some(true),
        version_id: d.version_id,
        ..Default::default()
    };
    let mut resp = S3Response::new(out);
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}

pub async fn delete_many(s3: &S3, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
    let who = caller(&req);
    let i = req.input;
    if i.delete.objects.len() > 1000 {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    }
    let quiet = i.delete.quiet.unwrap_or(false);
    let (s3c, now) = (s3.clone(), s3.now_millis());
    let objects = i.delete.objects;
    let bucket = i.bucket;
    let bypass = i.bypass_governance_retention.unwrap_or(false);
    let (deleted, errs, released) = s3
        .store()
        .write_signalling(move |t| -> Res<_> {
            let b = load_bucket(t, &bucket)?;
            let (mut deleted, mut errs, mut released) = (Vec::new(), Vec::new(), Vec::new());
            for o in objects {
                if check_key(&o.key).is_err() {
                    errs.push(Error {
                        code: Some("InvalidArgument".into()),
                        key: Some(o.key.clone()),
                        message: Some("Invalid key".into()),
                        version_id: o.version_id.clone(),
                    });
                    continue;
                }
                let target =
                    DeleteTarget { key: &o.key, version_id: o.version_id.as_deref(), bypass_governance: bypass };
                let (d, r) = match delete_in(&s3c, t, &b, &who, now, target) {
                    Ok(done) => done,
                    // A locked version is this entry's error; the others go on.
                    Err(Fail(e)) if *e.code() == s3s::S3ErrorCode::AccessDenied => {
                        errs.push(Error {
                            code: Some("AccessDenied".into()),
                            key: Some(o.key.clone()),
                            message: e.message().map(str::to_string),
                            version_id: o.version_id.clone(),
                        });
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                released.extend(r);
                let entry = if o.version_id.is_some() {
                    DeletedObject {
                        key: Some(o.key),
                        version_id: d.version_id,
                        delete_marker: d.delete_marker.then_some(true),
                        delete_marker_version_id: None,
                    }
                } else {
                    DeletedObject {
                        key: Some(o.key),
                        version_id: None,
                        delete_marker: d.delete_marker.then_some(true),
                        delete_marker_version_id: if d.delete_marker { d.version_id } else { None },
                    }
                };
                deleted.push(entry);
            }
            Ok((deleted, errs, released))
        })
        .await?;
    body::delete_later(s3.store().blobs().clone(), released);
    let out = DeleteObjectsOutput {
        deleted: if quiet { None } else { Some(deleted) },
        errors: (!errs.is_empty()).then_some(errs),
        ..Default::default()
    };
    Ok(S3Response::new(out))
}

pub fn copy_source(src: &CopySource) -> S3Result<(String, String, Option<String>)> {
    match src {
        CopySource::Bucket { bucket, key, version_id } => {
            Ok((bucket.to_string(), key.to_string(), version_id.as_ref().map(|v| v.to_string())))
        }
        _ => Err(s3_error!(NotImplemented, "Copying from access points is not implemented")),
    }
}

pub async fn copy(s3: &S3, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
    let who = caller(&req);
    // If-Match / If-None-Match of a copy are about the destination key (the model's
    // CopyObject has no members for them yet).
    let condition = |name: &str| {
        req.headers.get(name).map(|v| {
            ETagCondition::parse_http_header(v.as_bytes())
                .map_err(|_| errors::invalid_argument("Invalid ETag condition"))
        })
    };
    let dest_if_match = condition("if-match").transpose()?;
    let dest_if_none_match = condition("if-none-match").transpose()?;
    errors::check_write_conditions(dest_if_match.as_ref(), dest_if_none_match.as_ref())?;
    let i = req.input;
    check_key(&i.key)?;
    let (sb, sk, svid) = copy_source(&i.copy_source)?;
    let (storage_class, lock, encryption) = write_options!(i, s3.now_millis());
    let acl =
        crate::configs::acl_at_write(s3, &i.bucket, &who.account, &crate::configs::AclHeaders::of_copy(&i)).await?;
    let dest = bucket_exists(s3, &i.bucket).await?;
    let src = resolve_with_data(s3, &sb, &sk, svid.as_deref()).await?;
    let source_key = crate::encryption::customer_key(
        i.copy_source_sse_customer_algorithm.as_deref(),
        i.copy_source_sse_customer_key.as_deref(),
        i.copy_source_sse_customer_key_md5.as_deref(),
    )?;
    crate::encryption::check_read(&src, source_key.as_deref())?;
    if !src.readable(s3.now_millis()) {
        return Err(errors::invalid_object_state(src.class()));
    }
    check_conditions(
        &src,
        i.copy_source_if_match.as_ref(),
        i.copy_source_if_none_match.as_ref(),
        i.copy_source_if_modified_since.as_ref(),
        i.copy_source_if_unmodified_since.as_ref(),
        errors::precondition_failed,
    )?;
    let replace = i.metadata_directive.as_ref().is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
    let replace_tags = i.tagging_directive.as_ref().is_some_and(|d| d.as_str() == TaggingDirective::REPLACE);
    if sb == i.bucket
        && sk == i.key
        && svid.is_none()
        && !replace
        && !replace_tags
        && i.storage_class.is_none()
        && i.website_redirect_location.is_none()
    {
        return Err(s3_error!(
            InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
        ));
    }
    let (headers, metadata) = if replace {
        (
            content_headers(
                i.content_type.as_ref(),
                i.content_encoding.as_ref(),
                i.content_disposition.as_ref(),
                i.content_language.as_ref(),
                i.cache_control.as_ref(),
                i.expires.as_ref(),
            ),
            i.metadata.unwrap_or_default().into_iter().collect(),
        )
    } else {
        (src.headers.clone(), src.metadata.clone())
    };
    let mut headers = headers;
    headers.website_redirect = match i.website_redirect_location {
        Some(r) => Some(r),
        None if replace => None,
        None => src.headers.website_redirect.clone(),
    };
    let tags = if replace_tags { parse_tagging_header(i.tagging.as_deref())? } else { src.tags.clone() };
    let algorithm = i
        .checksum_algorithm
        .as_ref()
        .map(|a| a.as_str().to_ascii_uppercase())
        .or_else(|| src.checksum.as_ref().map(|c| c.0.clone()));
    let hasher = body::hasher_for(&algorithm.iter().map(String::as_str).collect::<Vec<_>>());
    let blob = keys::blob_name(s3.now_millis(), &s3.env().ids.uuid());
    let (blobs, segments, size) = (s3.store().blobs().clone(), src.segments.clone(), src.size);
    let w = tokio::task::spawn_blocking(move || body::copy(&*blobs, &segments, 0, size, blob, hasher))
        .await
        .map_err(S3Error::internal_error)??;
    let checksum = algorithm.and_then(|a| body::checksum_value(&w.checksums, &a).map(|v| (a, v)));
    // A copy keeps the source's ETag (for multipart sources too).
    let etag = if src.parts_count.is_some() { hex::encode(w.md5) } else { src.etag.clone() };
    let obj = NewObject {
        key: i.key,
        size: w.size,
        etag: etag.clone(),
        segments: vec![Segment::file(w.blob, w.size)],
        headers,
        metadata,
        tags,
        checksum: checksum.clone(),
        parts_count: None,
        part_checksums: Vec::new(),
        event_name: "ObjectCreated:Copy",
        if_match: dest_if_match,
        if_none_match: dest_if_none_match,
        upload_id: None,
        storage_class,
        lock,
        encryption,
        version_id: None,
        replica: false,
    };
    let dest_key = obj.key.clone();
    let v = commit_object(s3, &dest.name, &who, obj).await?;
    if let Some(acl) = acl {
        crate::configs::store_object_acl(s3, &dest.name, &dest_key, &v.version_id, acl).await?;
    }
    let mut result = CopyObjectResult {
        e_tag: Some(quoted(&etag)),
        last_modified: Some(timestamp(v.last_modified_millis)),
        ..Default::default()
    };
    let mut c = Checksum::default();
    set_checksum(&checksum, &mut c);
    result.checksum_crc32 = c.checksum_crc32;
    result.checksum_crc32c = c.checksum_crc32c;
    result.checksum_sha1 = c.checksum_sha1;
    result.checksum_sha256 = c.checksum_sha256;
    result.checksum_crc64nvme = c.checksum_crc64nvme;
    let out = CopyObjectOutput {
        copy_object_result: Some(result),
        copy_source_version_id: version_header(&src),
        version_id: version_header(&v),
        ..Default::default()
    };
    Ok(S3Response::new(out))
}

/// Changes the tags of one version (the current one by default), with its event.
async fn set_tags(
    s3: &S3,
    who: Caller,
    bucket: String,
    key: String,
    version_id: Option<String>,
    tags: Vec<(String, String)>,
    event_name: &'static str,
) -> S3Result<String> {
    let now = s3.now_millis();
    let vid = s3
        .store()
        .write_signalling(move |t| -> Res<String> {
            let b = load_bucket(t, &bucket)?;
            let all = versions(t, &bucket, &key)?;
            let target = match &version_id {
                Some(vid) => all.iter().find(|v| &v.version_id == vid).ok_or(Fail(no_such_version()))?,
                None => all.first().filter(|v| !v.delete_marker).ok_or(Fail(no_such_key()))?,
            };
            if target.delete_marker {
                return Err(Fail(s3_error!(
                    MethodNotAllowed,
                    "The specified method is not allowed against this resource."
                )));
            }
            let mut v = target.clone();
            v.tags = tags;
            t.put(&keys::version(&bucket, &key, v.order), &encode(&v))?;
            if all.first().is_some_and(|n| n.order == v.order) {
                t.put(&keys::current(&bucket, &key), &encode(&v))?;
            }
            let order = stratus_storage::next_sequence(t, keys::ORDER_SEQUENCE)?;
            let change = ObjectChange {
                event_name,
                key: &key,
                size: None,
                etag: Some(&v.etag),
                version_id: (b.versioning != Versioning::Unversioned).then_some(v.version_id.as_str()),
                sequencer: order,
                transition: None,
            };
            emit(t, &b, &who, now, &change)?;
            Ok(v.version_id)
        })
        .await?;
    Ok(vid)
}

pub async fn put_tagging(
    s3: &S3,
    req: S3Request<PutObjectTaggingInput>,
) -> S3Result<S3Response<PutObjectTaggingOutput>> {
    let who = caller(&req);
    let i = req.input;
    let tags = tags_from(&i.tagging.tag_set);
    validate_tags(&tags)?;
    let vid = set_tags(s3, who, i.bucket, i.key, i.version_id, tags, "ObjectTagging:Put").await?;
    Ok(S3Response::new(PutObjectTaggingOutput { version_id: (vid != "null").then_some(vid) }))
}

pub async fn delete_tagging(
    s3: &S3,
    req: S3Request<DeleteObjectTaggingInput>,
) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
    let who = caller(&req);
    let i = req.input;
    let vid = set_tags(s3, who, i.bucket, i.key, i.version_id, Vec::new(), "ObjectTagging:Delete").await?;
    let mut resp = S3Response::new(DeleteObjectTaggingOutput { version_id: (vid != "null").then_some(vid) });
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}

pub async fn get_tagging(
    s3: &S3,
    req: S3Request<GetObjectTaggingInput>,
) -> S3Result<S3Response<GetObjectTaggingOutput>> {
    let i = req.input;
    let v = resolve(s3, &i.bucket, &i.key, i.version_id.as_deref()).await?;
    Ok(S3Response::new(GetObjectTaggingOutput { tag_set: tag_list(&v.tags), version_id: version_header(&v) }))
}

/// A whole object into memory (for internal callers with small objects).
/// PutObject on behalf of another service: `data` kept as one object (events sent as for a
/// PutObject by `writer`).
pub async fn put_internal(s3: &S3, bucket: &str, key: &str, data: Vec<u8>, writer: &str) -> S3Result<()> {
    check_key(key)?;
    let blob = keys::blob_name(s3.now_millis(), &s3.env().ids.uuid());
    let body = StreamingBlob::from(s3s::Body::from(bytes::Bytes::from(data)));
    let w = body::write(s3.store().blobs().clone(), blob, Some(body), body::hasher_for(&[]), INLINE_MAX).await?;
    let who = Caller {
        account: writer.to_string(),
        region: String::new(),
        request_id: s3.env().ids.uuid(),
        access_key: None,
        source_ip: "127.0.0.1".into(),
        arn: format!("arn:aws:iam::{writer}:root"),
    };
    let obj = NewObject {
        key: key.to_string(),
        size: w.size,
        etag: hex::encode(w.md5),
        segments: vec![w.segment()],
        headers: ContentHeaders::default(),
        metadata: BTreeMap::new(),
        tags: Vec::new(),
        checksum: None,
        parts_count: None,
        part_checksums: Vec::new(),
        event_name: "ObjectCreated:Put",
        if_match: None,
        if_none_match: None,
        upload_id: None,
        storage_class: None,
        lock: Default::default(),
        encryption: None,
        version_id: None,
        replica: false,
    };
    commit_object(s3, bucket, &who, obj).await.map(|_| ())
}

pub async fn read_whole(s3: &S3, bucket: &str, key: &str, version_id: Option<&str>) -> S3Result<Vec<u8>> {
    let v = resolve_with_data(s3, bucket, key, version_id).await?;
    let blobs = s3.store().blobs().clone();
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::with_capacity(v.size as usize);
        body::pump(&*blobs, &v.segments, 0, v.size, &mut |b| {
            out.extend_from_slice(&b);
            true
        })
        .map(|()| out)
    })
    .await
    .map_err(S3Error::internal_error)?
    .map_err(S3Error::internal_error)
}
