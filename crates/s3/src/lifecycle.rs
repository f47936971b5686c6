//! Lifecycle rules applied, and archive restores.
//!
//! The sweeper ([`sweep`], started by [`S3::start`]) reads every bucket with a lifecycle
//! configuration and, in one transaction per bucket, does what its enabled rules say is due:
//! expires current versions (a delete, or a delete marker in a versioned bucket), removes
//! noncurrent versions (`NoncurrentDays`, keeping `NewerNoncurrentVersions`) and expired delete
//! markers, moves objects to another storage class (`Transitions`), and aborts incomplete
//! multipart uploads. Each action sends its `LifecycleExpiration:*` / `LifecycleTransition`
//! event to the bucket's notification destinations, with `s3.amazonaws.com` as the principal.
//! Rules filter by prefix, tags and object size, as AWS's do.
//!
//! Time is counted as S3 counts it: an action is due at the first day boundary ("midnight
//! UTC") after the object's creation (or, for noncurrent versions, the time it became
//! noncurrent) plus the rule's days. The length of a day is a setting
//! ([`crate::Settings::day_millis`]), so tests can watch rules act in seconds.
//!
//! RestoreObject makes an archived (GLACIER, DEEP_ARCHIVE) object readable for `Days`, after
//! [`crate::Settings::restore_millis`].

use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result, s3_error};
use stratus_storage::{Txn, prefix_end, scan_prefix};

use crate::errors::{self, Fail, Res, no_such_key};
use crate::notifications::ObjectChange;
use crate::objects::{self, decode, emit, encode, install, load_bucket, remove_version, versions};
use crate::types::{Bucket, Restore, Upload, Version, Versioning, archived};
use crate::{Caller, S3, SERVICE_PRINCIPAL, body, keys};

/// A rule as the sweeper uses it.
#[derive(Debug, Default)]
struct Rule {
    prefix: String,
    tags: Vec<(String, String)>,
    size_greater: Option<i64>,
    size_less: Option<i64>,
    expiration_days: Option<u64>,
    expiration_date_ms: Option<u64>,
    expired_marker: bool,
    noncurrent_days: Option<u64>,
    newer_noncurrent: usize,
    abort_days: Option<u64>,
    /// (days, date, storage class)
    transitions: Vec<(Option<u64>, Option<u64>, String)>,
}

fn date_ms(d: &Timestamp) -> u64 {
    let t = time::OffsetDateTime::from(d.clone());
    u64::try_from(t.unix_timestamp()).unwrap_or(0).saturating_mul(1000)
}

fn days(d: Option<i32>) -> Option<u64> {
    d.and_then(|d| u64::try_from(d).ok())
}

impl Rule {
    fn of(r: &LifecycleRule) -> Option<Rule> {
        if r.status.as_str() != "Enabled" {
            return None;
        }
        let mut rule = Rule { prefix: r.prefix.clone().unwrap_or_default(), ..Default::default() };
        if let Some(f) = &r.filter {
            if let Some(p) = &f.prefix {
                rule.prefix = p.clone();
            }
            if let Some(t) = &f.tag {
                rule.tags.push((t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default()));
            }
            rule.size_greater = f.object_size_greater_than;
            rule.size_less = f.object_size_less_than;
            if let Some(a) = &f.and {
                if let Some(p) = &a.prefix {
                    rule.prefix = p.clone();
                }
                for t in a.tags.iter().flatten() {
                    rule.tags.push((t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default()));
                }
                rule.size_greater = a.object_size_greater_than.or(rule.size_greater);
                rule.size_less = a.object_size_less_than.or(rule.size_less);
            }
        }
        if let Some(e) = &r.expiration {
            rule.expiration_days = days(e.days);
            rule.expiration_date_ms = e.date.as_ref().map(date_ms);
            rule.expired_marker = e.expired_object_delete_marker.unwrap_or(false);
        }
        if let Some(n) = &r.noncurrent_version_expiration {
            rule.noncurrent_days = days(n.noncurrent_days);
            rule.newer_noncurrent = n.newer_noncurrent_versions.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
        }
        rule.abort_days = r.abort_incomplete_multipart_upload.as_ref().and_then(|a| days(a.days_after_initiation));
        for t in r.transitions.iter().flatten() {
            if let Some(class) = &t.storage_class {
                rule.transitions.push((days(t.days), t.date.as_ref().map(date_ms), class.as_str().to_string()));
            }
        }
        Some(rule)
    }

    /// Whether the rule's filter takes this version (delete markers have no tags or size).
    fn takes(&self, v: &Version) -> bool {
        if !v.key.starts_with(&self.prefix) {
            return false;
        }
        if !self.tags.iter().all(|t| v.tags.contains(t)) {
            return false;
        }
        let size = i64::try_from(v.size).unwrap_or(i64::MAX);
        if (self.size_greater.is_some() || self.size_less.is_some()) && v.delete_marker {
            return false;
        }
        self.size_greater.is_none_or(|g| size > g) && self.size_less.is_none_or(|l| size < l)
    }
}

/// The clock of lifecycle rules.
struct Clock {
    now: u64,
    day: u64,
}

impl Clock {
    /// Whether `days` after `from` (rounded up to the next day boundary) has come.
    fn due(&self, from: u64, days: u64) -> bool {
        let at = from.saturating_add(days.saturating_mul(self.day));
        let boundary = at.div_ceil(self.day).saturating_mul(self.day);
        boundary <= self.now
    }
}

fn service_caller(b: &Bucket, request_id: String) -> Caller {
    Caller {
        account: b.account.clone(),
        region: b.region.clone(),
        request_id,
        access_key: None,
        source_ip: SERVICE_PRINCIPAL.into(),
        arn: SERVICE_PRINCIPAL.into(),
    }
}

fn change<'a>(event_name: &'static str, key: &'a str, version_id: Option<&'a str>, order: u64) -> ObjectChange<'a> {
    ObjectChange { event_name, key, size: None, etag: None, version_id, sequencer: order, transition: None }
}

/// Applies every bucket's lifecycle rules once; returns how many actions were taken.
pub async fn sweep(s3: &S3) -> S3Result<usize> {
    let buckets: Vec<Bucket> = s3
        .store()
        .read(|r| -> Res<Vec<Bucket>> {
            scan_prefix(r, keys::BUCKETS, usize::MAX)?
                .iter()
                .map(|(_, v)| decode::<Bucket>(v))
                .filter(|b| b.as_ref().map_or(true, |b| b.configs.contains_key("lifecycle")))
                .collect()
        })
        .await?;
    let mut actions = 0;
    for b in buckets {
        let Some(xml) = b.configs.get("lifecycle") else { continue };
        let Ok(config) = crate::configs::lifecycle_from_xml(xml) else { continue };
        let rules: Vec<Rule> = config.rules.iter().filter_map(Rule::of).collect();
        if rules.is_empty() {
            continue;
        }
        let clock = Clock { now: s3.now_millis(), day: s3.settings().day_millis.max(1) };
        let (name, s3c, request_id) = (b.name.clone(), s3.clone(), s3.env().ids.uuid());
        let (n, released) = s3
            .store()
            .write_signalling(move |t| -> Res<(usize, Vec<String>)> {
                let b = load_bucket(t, &name)?;
                apply(t, &s3c, &b, &rules, &clock, &service_caller(&b, request_id))
            })
            .await?;
        body::delete_later(s3.store().blobs().clone(), released);
        actions += n;
    }
    Ok(actions)
}

/// One bucket's rules, in the sweep's transaction: (actions taken, blobs released).
fn apply(
    t: &mut dyn Txn,
    s3: &S3,
    b: &Bucket,
    rules: &[Rule],
    clock: &Clock,
    who: &Caller,
) -> Res<(usize, Vec<String>)> {
    let mut done = 0;
    let mut released = Vec::new();
    // Every object key of the bucket, from its versions.
    let prefix = keys::versions_prefix(&b.name);
    let mut names: Vec<String> = Vec::new();
    for (_, v) in scan_prefix(t, &prefix, usize::MAX)? {
        let v: Version = decode(&v)?;
        if names.last() != Some(&v.key) {
            names.push(v.key);
        }
    }
    for key in names {
        done += apply_to_key(t, s3, b, rules, clock, who, &key, &mut released)?;
    }
    // Incomplete multipart uploads.
    let uploads = keys::uploads_prefix(&b.name);
    for (k, v) in scan_prefix(t, &uploads, usize::MAX)? {
        let u: Upload = decode(&v)?;
        let due = rules
            .iter()
            .any(|r| r.abort_days.is_some_and(|d| u.key.starts_with(&r.prefix) && clock.due(u.initiated_millis, d)));
        if due {
            t.delete(&k)?;
            let parts = keys::parts_prefix(&u.upload_id);
            for (_, p) in scan_prefix(t, &parts, usize::MAX)? {
                let p: crate::types::Part = decode(&p)?;
                released.push(p.blob);
            }
            t.delete_range(&parts, prefix_end(&parts).as_deref())?;
            done += 1;
        }
    }
    Ok((done, released))
}

#[allow(clippy::too_many_arguments)]
fn apply_to_key(
    t: &mut dyn Txn,
    s3: &S3,
    b: &Bucket,
    rules: &[Rule],
    clock: &Clock,
    who: &Caller,
    key: &str,
    released: &mut Vec<String>,
) -> Res<usize> {
    let mut done = 0;
    let versioned = b.versioning != Versioning::Unversioned;
    let mut all = versions(t, &b.name, key)?;
    // The current version: expiration first, else a transition.
    if let Some(cur) = all.first().filter(|v| !v.delete_marker).cloned() {
        let expire = rules.iter().any(|r| {
            r.takes(&cur)
                && (r.expiration_days.is_some_and(|d| clock.due(cur.last_modified_millis, d))
                    || r.expiration_date_ms.is_some_and(|d| d <= clock.now))
        });
        if expire {
            let order = stratus_storage::next_sequence(t, keys::ORDER_SEQUENCE)?;
            if versioned {
                let marker =
                    Version::delete_marker(key, objects::new_version_id(s3, b), order, clock.now, b.account.clone());
                released.extend(install(t, b, &marker)?);
                let c = change("LifecycleExpiration:DeleteMarkerCreated", key, Some(&marker.version_id), order);
                emit(t, b, who, clock.now, &c)?;
            } else {
                for v in &all {
                    if let Some((_, blobs)) = remove_version(t, &b.name, key, &v.version_id)? {
                        released.extend(blobs);
                    }
                }
                emit(t, b, who, clock.now, &change("LifecycleExpiration:Delete", key, None, order))?;
                return Ok(1);
            }
            done += 1;
            all = versions(t, &b.name, key)?;
        } else {
            // The latest transition that is due and changes the class.
            let target = rules
                .iter()
                .filter(|r| r.takes(&cur))
                .flat_map(|r| r.transitions.iter())
                .filter(|(days, date, _)| {
                    days.is_some_and(|d| clock.due(cur.last_modified_millis, d)) || date.is_some_and(|d| d <= clock.now)
                })
                .max_by_key(|(days, date, _)| (days.unwrap_or(0), date.unwrap_or(0)))
                .map(|(_, _, class)| class.clone());
            if let Some(class) = target.filter(|c| c != cur.class()) {
                let mut v = cur.clone();
                v.storage_class = (class != "STANDARD").then_some(class);
                v.restore = None;
                t.put(&keys::version(&b.name, key, v.order), &encode(&v))?;
                t.put(&keys::current(&b.name, key), &encode(&v))?;
                let order = stratus_storage::next_sequence(t, keys::ORDER_SEQUENCE)?;
                let vid = versioned.then_some(v.version_id.as_str());
                let c = ObjectChange {
                    size: Some(v.size),
                    etag: Some(&v.etag),
                    transition: Some(v.class()),
                    ..change("LifecycleTransition", key, vid, order)
                };
                emit(t, b, who, clock.now, &c)?;
                done += 1;
                all = versions(t, &b.name, key)?;
            }
        }
    }
    // Noncurrent versions: each became noncurrent when the next newer one was written.
    let mut gone = Vec::new();
    for (idx, v) in all.iter().enumerate().skip(1) {
        let since = all[idx - 1].last_modified_millis;
        // Object Lock keeps a locked version whatever the rules say.
        let expire = !crate::lock::locked(v, clock.now)
            && rules.iter().any(|r| {
                r.takes(v) && r.noncurrent_days.is_some_and(|d| idx > r.newer_noncurrent && clock.due(since, d))
            });
        if expire {
            gone.push(v.version_id.clone());
        }
    }
    for vid in gone {
        if let Some((_, blobs)) = remove_version(t, &b.name, key, &vid)? {
            released.extend(blobs);
            let order = stratus_storage::next_sequence(t, keys::ORDER_SEQUENCE)?;
            emit(t, b, who, clock.now, &change("LifecycleExpiration:Delete", key, Some(&vid), order))?;
            done += 1;
        }
    }
    // A delete marker with nothing behind it: removed when a rule asks (ExpiredObjectDeleteMarker,
    // or a days-based expiration it is old enough for).
    let all = versions(t, &b.name, key)?;
    if let [marker] = all.as_slice()
        && marker.delete_marker
    {
        let expire = rules.iter().any(|r| {
            marker.key.starts_with(&r.prefix)
                && r.tags.is_empty()
                && (r.expired_marker || r.expiration_days.is_some_and(|d| clock.due(marker.last_modified_millis, d)))
        });
        if expire && remove_version(t, &b.name, key, &marker.version_id)?.is_some() {
            let order = stratus_storage::next_sequence(t, keys::ORDER_SEQUENCE)?;
            emit(t, b, who, clock.now, &change("LifecycleExpiration:Delete", key, Some(&marker.version_id), order))?;
            done += 1;
        }
    }
    Ok(done)
}

/// RestoreObject: an archived object becomes readable for `Days` once the restore completes
/// (202 for a new restore, 200 when an existing one is extended; 409 while one is in progress).
pub async fn restore(s3: &S3, req: S3Request<RestoreObjectInput>) -> S3Result<S3Response<RestoreObjectOutput>> {
    let i = req.input;
    let days = i.restore_request.as_ref().and_then(|r| r.days);
    let Some(days) = days.filter(|d| *d > 0).and_then(|d| u64::try_from(d).ok()) else {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    };
    let settings = s3.settings();
    let now = s3.now_millis();
    let (bucket, key, version_id) = (i.bucket.clone(), i.key.clone(), i.version_id.clone());
    let created = s3
        .store()
        .write(move |t| -> Res<bool> {
            load_bucket(t, &bucket)?;
            let all = versions(t, &bucket, &key)?;
            let target = match &version_id {
                Some(vid) => all.iter().find(|v| &v.version_id == vid).ok_or(Fail(errors::no_such_version()))?,
                None => all.first().filter(|v| !v.delete_marker).ok_or(Fail(no_such_key()))?,
            };
            if target.delete_marker {
                return Err(Fail(s3_error!(
                    MethodNotAllowed,
                    "The specified method is not allowed against this resource."
                )));
            }
            if !archived(target.storage_class.as_deref()) {
                return Err(Fail(s3_error!(
                    InvalidObjectState,
                    "Restore is not allowed for the object's current storage class"
                )));
            }
            let mut v = target.clone();
            let created = match v.restore {
                Some(r) if now < r.ready_millis => {
                    return Err(Fail(s3_error!(RestoreAlreadyInProgress, "Object restore is already in progress")));
                }
                Some(r) if now < r.expiry_millis => {
                    v.restore = Some(Restore {
                        ready_millis: r.ready_millis,
                        expiry_millis: expiry(now, days, settings.day_millis),
                    });
                    false
                }
                _ => {
                    let ready = now + settings.restore_millis;
                    v.restore =
                        Some(Restore { ready_millis: ready, expiry_millis: expiry(ready, days, settings.day_millis) });
                    true
                }
            };
            t.put(&keys::version(&bucket, &key, v.order), &encode(&v))?;
            if all.first().is_some_and(|n| n.order == v.order) {
                t.put(&keys::current(&bucket, &key), &encode(&v))?;
            }
            Ok(created)
        })
        .await
        .map_err(|f: Fail| -> S3Error { f.0 })?;
    let mut resp = S3Response::new(RestoreObjectOutput::default());
    if created {
        // The protocol layer writes 200 for every RestoreObject; the gateway applies this.
        resp.headers.insert(crate::STATUS_OVERRIDE, http::HeaderValue::from_static("202"));
    }
    Ok(resp)
}

/// When a restored copy expires: `days` after `from`, at the following day boundary.
fn expiry(from: u64, days: u64, day: u64) -> u64 {
    let day = day.max(1);
    from.saturating_add(days.saturating_mul(day)).div_ceil(day).saturating_mul(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_up_to_the_next_boundary() {
        let c = Clock { now: 10_000, day: 1000 };
        assert!(c.due(7_500, 2)); // 9.5 days → boundary 10
        assert!(!c.due(8_500, 2)); // 10.5 → 11
        assert!(c.due(8_000, 2)); // exactly 10
        assert_eq!(expiry(1_500, 1, 1000), 3000);
    }

    #[test]
    fn filters() {
        let v = |key: &str, size: u64, tags: &[(&str, &str)]| Version {
            delete_marker: false,
            size,
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Version::delete_marker(key, "null".into(), 1, 0, String::new())
        };
        let r = Rule {
            prefix: "tmp/".into(),
            tags: vec![("k".into(), "v".into())],
            size_greater: Some(10),
            ..Default::default()
        };
        assert!(r.takes(&v("tmp/a", 11, &[("k", "v")])));
        assert!(!r.takes(&v("tmp/a", 10, &[("k", "v")])));
        assert!(!r.takes(&v("tmp/a", 11, &[])));
        assert!(!r.takes(&v("keep/a", 11, &[("k", "v")])));
    }
}
