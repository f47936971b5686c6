//! ListObjects (v1), ListObjectsV2 and ListObjectVersions: range scans over the current and
//! version indexes, with delimiter roll-up into common prefixes and S3's pagination markers.

use std::collections::HashMap;

use base64::Engine as _;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use stratus_storage::{ReadTxn, prefix_end, scan_prefix};

use crate::buckets::owner;
use crate::errors::Res;
use crate::objects::{decode, load_bucket, quoted, timestamp};
use crate::types::Version;
use crate::{S3, keys};

const BATCH: usize = 1000;

#[derive(Debug)]
pub enum Entry {
    Object(Box<Version>),
    Prefix(String),
}

pub struct Page {
    pub entries: Vec<Entry>,
    pub truncated: bool,
}

impl Entry {
    /// The name a listing continues after.
    fn name(&self) -> &str {
        match self {
            Entry::Object(v) => &v.key,
            Entry::Prefix(p) => p,
        }
    }
}

/// The common prefix `key` rolls up into, if any.
fn rolled_up<'a>(key: &'a str, prefix: &str, delimiter: Option<&str>) -> Option<&'a str> {
    let d = delimiter.filter(|d| !d.is_empty())?;
    let rest = key.get(prefix.len()..)?;
    let pos = rest.find(d)?;
    key.get(..prefix.len() + pos + d.len())
}

/// Where to continue after `after` (a key, or a common prefix whose keys are all skipped).
fn start_after(base: &[u8], prefix: &str, delimiter: Option<&str>, after: &str) -> Vec<u8> {
    let mut k = base.to_vec();
    k.extend_from_slice(after.as_bytes());
    if rolled_up(after, prefix, delimiter) == Some(after) {
        return prefix_end(&k).unwrap_or(k);
    }
    k.push(0);
    k
}

/// Lists current objects under `prefix`, after `after`, at most `max` entries.
pub fn list_current(
    r: &mut dyn ReadTxn,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    after: Option<&str>,
    max: usize,
) -> Res<Page> {
    let base = keys::current_prefix(bucket);
    let mut scope = base.clone();
    scope.extend_from_slice(prefix.as_bytes());
    let end = prefix_end(&scope);
    let mut start = scope.clone();
    if let Some(a) = after {
        start = start.max(start_after(&base, prefix, delimiter, a));
    }
    let mut entries = Vec::new();
    'scan: loop {
        let rows = r.scan(&start, end.as_deref(), BATCH)?;
        if rows.is_empty() {
            return Ok(Page { entries, truncated: false });
        }
        for (k, v) in rows {
            let key = String::from_utf8_lossy(&k[base.len()..]).into_owned();
            if entries.len() >= max {
                return Ok(Page { entries, truncated: true });
            }
            if let Some(cp) = rolled_up(&key, prefix, delimiter) {
                let mut skip = base.clone();
                skip.extend_from_slice(cp.as_bytes());
                entries.push(Entry::Prefix(cp.to_string()));
                match prefix_end(&skip) {
                    Some(s) => start = s,
                    None => return Ok(Page { entries, truncated: false }),
                }
                continue 'scan;
            }
            entries.push(Entry::Object(Box::new(decode(&v)?)));
            start = k;
            start.push(0);
        }
    }
}

/// Lists versions (and delete markers) under `prefix`, after (`key_marker`, `version_marker`).
pub fn list_all_versions(
    r: &mut dyn ReadTxn,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    key_marker: Option<&str>,
    version_marker: Option<&str>,
    max: usize,
) -> Res<(Page, HashMap<String, u64>)> {
    let base = keys::versions_prefix(bucket);
    let mut scope = base.clone();
    scope.extend_from_slice(prefix.as_bytes());
    let end = prefix_end(&scope);
    let mut start = scope.clone();
    if let Some(km) = key_marker.filter(|k| !k.is_empty()) {
        let after = match version_marker.filter(|v| !v.is_empty()) {
            Some(vm) => {
                let found = scan_prefix(r, &keys::versions_of(bucket, km), usize::MAX)?
                    .into_iter()
                    .find(|(_, v)| decode::<Version>(v).map(|v| v.version_id == vm).unwrap_or(false));
                match found {
                    Some((mut k, _)) => {
                        k.push(0);
                        k
                    }
                    None => prefix_end(&keys::versions_of(bucket, km)).unwrap_or_default(),
                }
            }
            None if rolled_up(km, prefix, delimiter) == Some(km) => {
                let mut k = base.clone();
                k.extend_from_slice(km.as_bytes());
                prefix_end(&k).unwrap_or(k)
            }
            None => prefix_end(&keys::versions_of(bucket, km)).unwrap_or_default(),
        };
        start = start.max(after);
    }
    // The newest version's order of each key seen, to mark `IsLatest`.
    let mut latest: HashMap<String, u64> = HashMap::new();
    let mut entries = Vec::new();
    'scan: loop {
        let rows = r.scan(&start, end.as_deref(), BATCH)?;
        if rows.is_empty() {
            return Ok((Page { entries, truncated: false }, latest));
        }
        for (k, v) in rows {
            let Some(key) = keys::object_key_of(base.len(), &k) else { continue };
            if entries.len() >= max {
                return Ok((Page { entries, truncated: true }, latest));
            }
            if let Some(cp) = rolled_up(&key, prefix, delimiter) {
                let mut skip = base.clone();
                skip.extend_from_slice(cp.as_bytes());
                entries.push(Entry::Prefix(cp.to_string()));
                match prefix_end(&skip) {
                    Some(s) => start = s,
                    None => return Ok((Page { entries, truncated: false }, latest)),
                }
                continue 'scan;
            }
            let ver: Version = decode(&v)?;
            if !latest.contains_key(&key) {
                let newest = scan_prefix(r, &keys::versions_of(bucket, &key), 1)?;
                let order = match newest.first() {
                    Some((_, nv)) => decode::<Version>(nv)?.order,
                    None => ver.order,
                };
                latest.insert(key.clone(), order);
            }
            entries.push(Entry::Object(Box::new(ver)));
            start = k;
            start.push(0);
        }
    }
}

/// URL-encodes names in listings when the client asks for `EncodingType=url`.
fn encoder(encoding: Option<&EncodingType>) -> impl Fn(&str) -> String + use<> {
    let on = encoding.is_some_and(|e| e.as_str() == EncodingType::URL);
    move |s: &str| {
        if !on {
            return s.to_string();
        }
        let mut out = String::with_capacity(s.len());
        for &b in s.as_bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }
}

fn max_keys(m: Option<i32>) -> S3Result<usize> {
    match m {
        None => Ok(1000),
        Some(n) if n < 0 => {
            Err(s3_error!(InvalidArgument, "Argument maxKeys must be an integer between 0 and 2147483647"))
        }
        Some(n) => Ok((n as usize).min(1000)),
    }
}

fn object_of(v: &Version, enc: &dyn Fn(&str) -> String, with_owner: bool) -> Object {
    Object {
        key: Some(enc(&v.key)),
        last_modified: Some(timestamp(v.last_modified_millis)),
        e_tag: Some(quoted(&v.etag)),
        size: Some(v.size as i64),
        storage_class: Some(ObjectStorageClass::from(v.class().to_string())),
        owner: with_owner.then(|| owner(&v.owner)),
        checksum_algorithm: v.checksum.as_ref().map(|(a, _)| vec![ChecksumAlgorithm::from(a.clone())]),
        ..Default::default()
    }
}

fn split(page: Page, enc: &dyn Fn(&str) -> String, with_owner: bool) -> (Vec<Object>, Vec<CommonPrefix>) {
    let mut objects = Vec::new();
    let mut prefixes = Vec::new();
    for e in page.entries {
        match e {
            Entry::Object(v) => objects.push(object_of(&v, enc, with_owner)),
            Entry::Prefix(p) => prefixes.push(CommonPrefix { prefix: Some(enc(&p)) }),
        }
    }
    (objects, prefixes)
}

pub async fn list_v1(s3: &S3, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
    let i = req.input;
    let max = max_keys(i.max_keys)?;
    let (bucket, prefix, delimiter, marker) =
        (i.bucket.clone(), i.prefix.clone().unwrap_or_default(), i.delimiter.clone(), i.marker.clone());
    let page = s3
        .store()
        .read(move |r| {
            load_bucket(r, &bucket)?;
            list_current(r, &bucket, &prefix, delimiter.as_deref(), marker.as_deref().filter(|m| !m.is_empty()), max)
        })
        .await?;
    let enc = encoder(i.encoding_type.as_ref());
    // NextMarker is only sent with a delimiter (without one, clients continue after the last key).
    let next_marker =
        (page.truncated && i.delimiter.is_some()).then(|| page.entries.last().map(|e| enc(e.name()))).flatten();
    let truncated = page.truncated;
    let (contents, prefixes) = split(page, &enc, true);
    Ok(S3Response::new(ListObjectsOutput {
        name: Some(i.bucket),
        prefix: Some(enc(i.prefix.as_deref().unwrap_or(""))),
        marker: Some(enc(i.marker.as_deref().unwrap_or(""))),
        max_keys: Some(i.max_keys.unwrap_or(1000)),
        is_truncated: Some(truncated),
        contents: (!contents.is_empty()).then_some(contents),
        common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
        delimiter: i.delimiter.as_deref().map(&enc),
        next_marker,
        encoding_type: i.encoding_type,
        ..Default::default()
    }))
}

fn token_encode(name: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(name.as_bytes())
}

fn token_decode(t: &str) -> S3Result<String> {
    base64::engine::general_purpose::STANDARD
        .decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| s3_error!(InvalidArgument, "The continuation token provided is incorrect"))
}

pub async fn list_v2(s3: &S3, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
    let i = req.input;
    let max = max_keys(i.max_keys)?;
    let after = match &i.continuation_token {
        Some(t) if t.is_empty() => {
            return Err(s3_error!(InvalidArgument, "The continuation token provided is incorrect"));
        }
        Some(t) => Some(token_decode(t)?),
        None => i.start_after.clone().filter(|s| !s.is_empty()),
    };
    let (bucket, prefix, delimiter) = (i.bucket.clone(), i.prefix.clone().unwrap_or_default(), i.delimiter.clone());
    let page = s3
        .store()
        .read(move |r| {
            load_bucket(r, &bucket)?;
            list_current(r, &bucket, &prefix, delimiter.as_deref(), after.as_deref(), max)
        })
        .await?;
    let enc = encoder(i.encoding_type.as_ref());
    let next = if page.truncated { page.entries.last().map(|e| token_encode(e.name())) } else { None };
    let truncated = page.truncated;
    let count = page.entries.len() as i32;
    let (contents, prefixes) = split(page, &enc, i.fetch_owner.unwrap_or(false));
    Ok(S3Response::new(ListObjectsV2Output {
        name: Some(i.bucket),
        prefix: Some(enc(i.prefix.as_deref().unwrap_or(""))),
        max_keys: Some(i.max_keys.unwrap_or(1000)),
        key_count: Some(count),
        continuation_token: i.continuation_token,
        is_truncated: Some(truncated),
        next_continuation_token: next,
        contents: (!contents.is_empty()).then_some(contents),
        common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
        delimiter: i.delimiter.as_deref().map(&enc),
        encoding_type: i.encoding_type,
        start_after: i.start_after.as_deref().map(&enc),
        ..Default::default()
    }))
}

pub async fn list_versions(
    s3: &S3,
    req: S3Request<ListObjectVersionsInput>,
) -> S3Result<S3Response<ListObjectVersionsOutput>> {
    let i = req.input;
    let max = max_keys(i.max_keys)?;
    if i.version_id_marker.is_some() && i.key_marker.is_none() {
        return Err(s3_error!(InvalidArgument, "A version-id marker cannot be specified without a key marker."));
    }
    let (bucket, prefix, delimiter, km, vm) = (
        i.bucket.clone(),
        i.prefix.clone().unwrap_or_default(),
        i.delimiter.clone(),
        i.key_marker.clone(),
        i.version_id_marker.clone(),
    );
    let (page, latest) = s3
        .store()
        .read(move |r| {
            load_bucket(r, &bucket)?;
            list_all_versions(r, &bucket, &prefix, delimiter.as_deref(), km.as_deref(), vm.as_deref(), max)
        })
        .await?;
    let enc = encoder(i.encoding_type.as_ref());
    let (mut next_key, mut next_version) = (None, None);
    if page.truncated {
        match page.entries.last() {
            Some(Entry::Object(v)) => {
                next_key = Some(enc(&v.key));
                next_version = Some(v.version_id.clone());
            }
            Some(Entry::Prefix(p)) => next_key = Some(enc(p)),
            None => {}
        }
    }
    let truncated = page.truncated;
    let (mut versions, mut markers, mut prefixes) = (Vec::new(), Vec::new(), Vec::new());
    for e in page.entries {
        match e {
            Entry::Prefix(p) => prefixes.push(CommonPrefix { prefix: Some(enc(&p)) }),
            Entry::Object(v) => {
                let is_latest = latest.get(&v.key) == Some(&v.order);
                if v.delete_marker {
                    markers.push(DeleteMarkerEntry {
                        is_latest: Some(is_latest),
                        key: Some(enc(&v.key)),
                        last_modified: Some(timestamp(v.last_modified_millis)),
                        owner: Some(owner(&v.owner)),
                        version_id: Some(v.version_id.clone()),
                    });
                } else {
                    versions.push(ObjectVersion {
                        e_tag: Some(quoted(&v.etag)),
                        is_latest: Some(is_latest),
                        key: Some(enc(&v.key)),
                        last_modified: Some(timestamp(v.last_modified_millis)),
                        owner: Some(owner(&v.owner)),
                        size: Some(v.size as i64),
                        storage_class: Some(ObjectVersionStorageClass::from(v.class().to_string())),
                        version_id: Some(v.version_id.clone()),
                        checksum_algorithm: v.checksum.as_ref().map(|(a, _)| vec![ChecksumAlgorithm::from(a.clone())]),
                        ..Default::default()
                    });
                }
            }
        }
    }
    Ok(S3Response::new(ListObjectVersionsOutput {
        name: Some(i.bucket),
        prefix: Some(enc(i.prefix.as_deref().unwrap_or(""))),
        key_marker: Some(enc(i.key_marker.as_deref().unwrap_or(""))),
        version_id_marker: Some(i.version_id_marker.unwrap_or_default()),
        max_keys: Some(i.max_keys.unwrap_or(1000)),
        is_truncated: Some(truncated),
        next_key_marker: next_key,
        next_version_id_marker: next_version,
        versions: (!versions.is_empty()).then_some(versions),
        delete_markers: (!markers.is_empty()).then_some(markers),
        common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
        delimiter: i.delimiter.as_deref().map(&enc),
        encoding_type: i.encoding_type,
        ..Default::default()
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn roll_up_into_common_prefixes() {
        assert_eq!(rolled_up("photos/2024/a.jpg", "photos/", Some("/")), Some("photos/2024/"));
        assert_eq!(rolled_up("photos/a.jpg", "photos/", Some("/")), None);
        assert_eq!(rolled_up("a.jpg", "", None), None);
        assert_eq!(rolled_up("a--b--c", "", Some("--")), Some("a--"));
    }

    #[test]
    fn continuing_after_a_common_prefix_skips_its_keys() {
        let base = b"s3/c/b/".to_vec();
        let s = start_after(&base, "", Some("/"), "dir/");
        assert!(s.as_slice() > b"s3/c/b/dir/zzzz".as_slice());
        let s = start_after(&base, "", Some("/"), "dir/file");
        assert_eq!(s, b"s3/c/b/dir/file\0".to_vec());
    }

    #[test]
    fn url_encoding_keeps_slashes() {
        let enc = encoder(Some(&EncodingType::from_static(EncodingType::URL)));
        assert_eq!(enc("a b/c+d"), "a%20b/c%2Bd");
        let plain = encoder(None);
        assert_eq!(plain("a b"), "a b");
    }

    #[test]
    fn tokens_round_trip() {
        assert_eq!(token_decode(&token_encode("dir/ü")).unwrap(), "dir/ü");
        assert!(token_decode("!!").is_err());
    }
}
