//! Object Lock on versions: retention (GOVERNANCE, COMPLIANCE) and legal holds, set at upload
//! (`x-amz-object-lock-*` headers, or the bucket's default retention) or by PutObjectRetention
//! and PutObjectLegalHold, and enforced where S3 enforces them: deleting a version, and
//! shortening or weakening a retention. A delete without a version id only adds a delete
//! marker, so it is never refused.

use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result, s3_error};
use stratus_storage::{ReadTxn, Txn};

use crate::errors::{self, Fail, Res, no_such_key};
use crate::objects::{encode, load_bucket, versions};
use crate::types::{Bucket, Lock, Version};
use crate::{S3, keys};

fn missing_configuration() -> S3Error {
    s3_error!(InvalidRequest, "Bucket is missing Object Lock Configuration")
}

fn no_configuration() -> S3Error {
    let mut e =
        s3_error!(NoSuchObjectLockConfiguration, "The specified object does not have a ObjectLock configuration");
    e.set_status_code(http::StatusCode::NOT_FOUND);
    e
}

fn denied() -> S3Error {
    s3_error!(AccessDenied, "Access Denied because object protected by object lock.")
}

fn millis(t: &Timestamp) -> u64 {
    let t = time::OffsetDateTime::from(t.clone());
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// Whether the bucket has Object Lock.
pub fn enabled(b: &Bucket) -> bool {
    b.configs.contains_key("object-lock")
}

/// The lock an upload asks for with its `x-amz-object-lock-*` headers, checked.
pub fn requested(
    mode: Option<&ObjectLockMode>,
    until: Option<&Timestamp>,
    hold: Option<&ObjectLockLegalHoldStatus>,
    now: u64,
) -> S3Result<Lock> {
    let retention = match (mode, until) {
        (None, None) => None,
        (Some(m), Some(u)) => {
            let until = millis(u);
            if until <= now {
                return Err(errors::invalid_argument("The retain until date must be in the future!"));
            }
            Some((m.as_str().to_string(), until))
        }
        _ => {
            return Err(errors::invalid_argument(
                "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
            ));
        }
    };
    if let Some((m, _)) = &retention
        && !matches!(m.as_str(), "GOVERNANCE" | "COMPLIANCE")
    {
        return Err(errors::invalid_argument("Unknown wormMode directive."));
    }
    let legal_hold = match hold.map(|h| h.as_str()) {
        None => None,
        Some("ON") => Some(true),
        Some("OFF") => Some(false),
        Some(_) => return Err(errors::invalid_argument("Legal Hold must be either of 'ON' or 'OFF'")),
    };
    Ok(Lock { retention, legal_hold })
}

/// The lock a new version gets in bucket `b`: what its upload asked for, else the bucket's
/// default retention. Asking for one where the bucket has no Object Lock is refused.
pub fn for_new_version(b: &Bucket, asked: Lock, now: u64) -> Res<Lock> {
    if !enabled(b) {
        if asked.is_empty() {
            return Ok(asked);
        }
        return Err(Fail(missing_configuration()));
    }
    if asked.retention.is_some() {
        return Ok(asked);
    }
    let default = b
        .configs
        .get("object-lock")
        .and_then(|x| crate::configs::object_lock_from_xml(x).ok())
        .and_then(|c| c.rule)
        .and_then(|r| r.default_retention);
    let retention = default.and_then(|d| {
        let mode = d.mode?.as_str().to_string();
        let days = d.days.map(i64::from).or(d.years.map(|y| i64::from(y) * 365))?;
        let until = now.saturating_add(u64::try_from(days).ok()?.saturating_mul(86_400_000));
        Some((mode, until))
    });
    Ok(Lock { retention, ..asked })
}

/// Whether deleting this version is refused: a legal hold, a COMPLIANCE retention, or a
/// GOVERNANCE one without the bypass.
pub fn check_delete(v: &Version, now: u64, bypass: bool) -> Result<(), S3Error> {
    if v.lock.legal_hold == Some(true) {
        return Err(denied());
    }
    match &v.lock.retention {
        Some((mode, until)) if *until > now => {
            if mode == "COMPLIANCE" || !bypass {
                return Err(denied());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Whether the version must stay (lifecycle leaves it).
pub fn locked(v: &Version, now: u64) -> bool {
    check_delete(v, now, false).is_err()
}

/// Rewrites one version in place (and the current pointer when it is the newest).
fn save_version(t: &mut dyn Txn, bucket: &str, key: &str, v: &Version, newest: bool) -> Res<()> {
    t.put(&keys::version(bucket, key, v.order), &encode(v))?;
    if newest && !v.delete_marker {
        t.put(&keys::current(bucket, key), &encode(v))?;
    }
    Ok(())
}

/// The version a lock call names (the newest one by default), with whether it is the newest.
fn target(t: &mut dyn ReadTxn, b: &Bucket, key: &str, version_id: Option<&str>) -> Res<(Version, bool)> {
    if !enabled(b) {
        return Err(Fail(missing_configuration()));
    }
    let all = versions(t, &b.name, key)?;
    let newest = all.first().map(|v| v.order);
    let v = match version_id {
        Some(vid) => all.into_iter().find(|v| v.version_id == vid).ok_or(Fail(errors::no_such_version()))?,
        None => all.into_iter().next().ok_or(Fail(no_such_key()))?,
    };
    if v.delete_marker {
        return Err(Fail(s3_error!(MethodNotAllowed, "The specified method is not allowed against this resource.")));
    }
    let is_newest = newest == Some(v.order);
    Ok((v, is_newest))
}

pub async fn put_retention(
    s3: &S3,
    req: S3Request<PutObjectRetentionInput>,
) -> S3Result<S3Response<PutObjectRetentionOutput>> {
    let i = req.input;
    let now = s3.now_millis();
    let bypass = i.bypass_governance_retention.unwrap_or(false);
    let wanted = match i.retention.as_ref().map(|r| (r.mode.as_ref(), r.retain_until_date.as_ref())) {
        None | Some((None, None)) => None,
        Some((Some(m), Some(u))) => {
            let until = millis(u);
            if until <= now {
                return Err(errors::invalid_argument("The retain until date must be in the future!"));
            }
            Some((m.as_str().to_string(), until))
        }
        Some(_) => {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
    };
    s3.store()
        .write(move |t| -> Res<()> {
            let b = load_bucket(t, &i.bucket)?;
            let (mut v, newest) = target(t, &b, &i.key, i.version_id.as_deref())?;
            if let Some((mode, until)) = v.lock.retention.clone().filter(|(_, u)| *u > now) {
                let weaker = match &wanted {
                    None => true,
                    Some((m, u)) => *u < until || (mode == "COMPLIANCE" && m != "COMPLIANCE"),
                };
                if weaker && (mode == "COMPLIANCE" || !bypass) {
                    return Err(Fail(denied()));
                }
            }
            v.lock.retention = wanted;
            save_version(t, &b.name, &i.key, &v, newest)
        })
        .await?;
    Ok(S3Response::new(PutObjectRetentionOutput::default()))
}

pub async fn get_retention(
    s3: &S3,
    req: S3Request<GetObjectRetentionInput>,
) -> S3Result<S3Response<GetObjectRetentionOutput>> {
    let i = req.input;
    let v = lock_of(s3, &i.bucket, &i.key, i.version_id.as_deref()).await?;
    let (mode, until) = v.lock.retention.ok_or_else(no_configuration)?;
    Ok(S3Response::new(GetObjectRetentionOutput {
        retention: Some(ObjectLockRetention {
            mode: Some(ObjectLockRetentionMode::from(mode)),
            retain_until_date: Some(timestamp_ms(until)),
        }),
    }))
}

pub async fn put_legal_hold(
    s3: &S3,
    req: S3Request<PutObjectLegalHoldInput>,
) -> S3Result<S3Response<PutObjectLegalHoldOutput>> {
    let i = req.input;
    let on = match i.legal_hold.as_ref().and_then(|h| h.status.as_ref()).map(|s| s.as_str()) {
        Some("ON") => true,
        Some("OFF") => false,
        _ => {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
    };
    s3.store()
        .write(move |t| -> Res<()> {
            let b = load_bucket(t, &i.bucket)?;
            let (mut v, newest) = target(t, &b, &i.key, i.version_id.as_deref())?;
            v.lock.legal_hold = Some(on);
            save_version(t, &b.name, &i.key, &v, newest)
        })
        .await?;
    Ok(S3Response::new(PutObjectLegalHoldOutput::default()))
}

pub async fn get_legal_hold(
    s3: &S3,
    req: S3Request<GetObjectLegalHoldInput>,
) -> S3Result<S3Response<GetObjectLegalHoldOutput>> {
    let i = req.input;
    let v = lock_of(s3, &i.bucket, &i.key, i.version_id.as_deref()).await?;
    let on = v.lock.legal_hold.ok_or_else(no_configuration)?;
    Ok(S3Response::new(GetObjectLegalHoldOutput {
        legal_hold: Some(ObjectLockLegalHold {
            status: Some(ObjectLockLegalHoldStatus::from_static(if on { "ON" } else { "OFF" })),
        }),
    }))
}

async fn lock_of(s3: &S3, bucket: &str, key: &str, version_id: Option<&str>) -> S3Result<Version> {
    let (bucket, key, vid) = (bucket.to_string(), key.to_string(), version_id.map(str::to_string));
    s3.store()
        .read(move |r| -> Res<Version> {
            let b = load_bucket(r, &bucket)?;
            Ok(target(r, &b, &key, vid.as_deref())?.0)
        })
        .await
        .map_err(|f: Fail| f.0)
}

/// A retain-until time as S3 writes it (milliseconds kept).
pub fn timestamp_ms(ms: u64) -> Timestamp {
    Timestamp::from(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
}

/// The lock headers of HEAD and GET.
pub fn headers(v: &Version) -> (Option<ObjectLockMode>, Option<Timestamp>, Option<ObjectLockLegalHoldStatus>) {
    let (mode, until) = match &v.lock.retention {
        Some((m, u)) => (Some(ObjectLockMode::from(m.clone())), Some(timestamp_ms(*u))),
        None => (None, None),
    };
    let hold = v.lock.legal_hold.map(|on| ObjectLockLegalHoldStatus::from_static(if on { "ON" } else { "OFF" }));
    (mode, until, hold)
}
