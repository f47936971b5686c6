//! Replication performed between buckets of this server. A new object version in a bucket
//! whose replication configuration has an enabled rule for it (prefix, tag and `And` filters;
//! the highest priority wins) is marked `PENDING` and, in the same transaction, an outbox record
//! (topic [`TOPIC`]) asks for its copy. The replicator ([`run`], started with the lifecycle
//! sweeper) copies the version into the destination bucket — same version id, metadata, tags
//! and checksum, the rule's storage class — marked `REPLICA`, and marks the source `COMPLETED`
//! (or `FAILED` when the destination bucket is gone or unversioned). Delete markers follow when
//! the rule's `DeleteMarkerReplication` is enabled. Replicas are not replicated again. At least once: a record leaves the outbox only once handled.

use s3s::dto::*;
use serde_json::{Value, json};
use stratus_storage::Txn;

use crate::errors::Res;
use crate::objects::{self, NewObject, encode, load_bucket, versions};
use crate::types::{Bucket, Segment, Version, Versioning};
use crate::{Caller, S3, body, keys};

/// The outbox topic of replications: `{"bucket", "key", "version_id", "destination",
/// "storage_class"}`.
pub const TOPIC: &str = "s3-replication";

/// Where the rule that replicates `v` sends it: the destination bucket's name, its storage
/// class, and whether the rule replicates delete markers.
struct Target {
    bucket: String,
    storage_class: Option<String>,
    delete_markers: bool,
}

/// The target of the rule that replicates `v`, if any.
fn rule_for(b: &Bucket, v: &Version) -> Option<Target> {
    let config = crate::configs::replication_from_xml(b.configs.get("replication")?).ok()?;
    let mut rules: Vec<&ReplicationRule> = config.rules.iter().filter(|r| r.status.as_str() == "Enabled").collect();
    rules.sort_by_key(|r| std::cmp::Reverse(r.priority.unwrap_or(0)));
    let rule = rules.into_iter().find(|r| {
        let (prefix, tags): (Option<&str>, Vec<(String, String)>) = match &r.filter {
            Some(f) => match &f.and {
                Some(a) => (
                    a.prefix.as_deref(),
                    a.tags
                        .iter()
                        .flatten()
                        .map(|t| (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default()))
                        .collect(),
                ),
                None => (
                    f.prefix.as_deref(),
                    f.tag
                        .iter()
                        .map(|t| (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default()))
                        .collect(),
                ),
            },
            None => (r.prefix.as_deref(), Vec::new()),
        };
        prefix.is_none_or(|p| v.key.starts_with(p)) && tags.iter().all(|t| v.tags.contains(t))
    })?;
    let bucket = stratus_core::canonical_arn(&rule.destination.bucket)
        .strip_prefix("arn:aws:s3:::")
        .unwrap_or(&rule.destination.bucket)
        .to_string();
    Some(Target {
        bucket,
        storage_class: rule.destination.storage_class.as_ref().map(|c| c.as_str().to_string()),
        delete_markers: rule
            .delete_marker_replication
            .as_ref()
            .and_then(|d| d.status.as_ref())
            .is_some_and(|s| s.as_str() == "Enabled"),
    })
}

/// In a write's transaction: marks a new version PENDING and asks for its copy when a rule of
/// its bucket replicates it.
pub fn on_new_version(t: &mut dyn Txn, b: &Bucket, v: &mut Version) -> Res<()> {
    if v.replication_status.as_deref() == Some("REPLICA") {
        return Ok(());
    }
    let Some(target) = rule_for(b, v) else { return Ok(()) };
    // A delete marker goes only where its rule says (and is not marked itself).
    if v.delete_marker && !target.delete_markers {
        return Ok(());
    }
    if !v.delete_marker {
        v.replication_status = Some("PENDING".into());
    }
    let record = json!({
        "bucket": b.name, "key": v.key, "version_id": v.version_id,
        "destination": target.bucket, "storage_class": target.storage_class, "delete_marker": v.delete_marker,
    });
    stratus_storage::outbox_push(t, TOPIC, record.to_string().as_bytes())?;
    Ok(())
}

/// Sets the replication status of one source version.
async fn mark(s3: &S3, bucket: &str, key: &str, version_id: &str, status: &'static str) -> Res<()> {
    let (bucket, key, vid) = (bucket.to_string(), key.to_string(), version_id.to_string());
    s3.store()
        .write(move |t| {
            let all = versions(t, &bucket, &key)?;
            let newest = all.first().map(|v| v.order);
            if let Some(mut v) = all.into_iter().find(|v| v.version_id == vid) {
                v.replication_status = Some(status.into());
                t.put(&keys::version(&bucket, &key, v.order), &encode(&v))?;
                if newest == Some(v.order) && !v.delete_marker {
                    t.put(&keys::current(&bucket, &key), &encode(&v))?;
                }
            }
            Ok(())
        })
        .await
}

/// Carries out one replication record. Err means try again later.
async fn replicate(s3: &S3, record: &Value) -> Result<(), String> {
    let field = |k: &str| record[k].as_str().unwrap_or_default().to_string();
    let (bucket, key, vid, destination) = (field("bucket"), field("key"), field("version_id"), field("destination"));
    if record["delete_marker"].as_bool() == Some(true) {
        return replicate_marker(s3, &destination, &key, &vid).await;
    }
    let Ok(src) =
        objects::resolve_with_data(s3, &bucket, &key, Some(&vid).filter(|v| *v != "null").map(String::as_str)).await
    else {
        return Ok(()); // the version is gone: nothing to copy
    };
    let dest_name = destination.clone();
    let dest = s3.store().read(move |r| load_bucket(r, &dest_name)).await;
    let Some(dest) = dest.ok().filter(|d| d.versioning == Versioning::Enabled) else {
        return mark(s3, &bucket, &key, &vid, "FAILED").await.map_err(|e| format!("{:?}", e.0));
    };
    let blob = keys::blob_name(s3.now_millis(), &s3.env().ids.uuid());
    let (blobs, segments, size) = (s3.store().blobs().clone(), src.segments.clone(), src.size);
    let w = tokio::task::spawn_blocking(move || body::copy(&*blobs, &segments, 0, size, blob, body::hasher_for(&[])))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{e:?}"))?;
    let who = Caller {
        account: dest.account.clone(),
        region: dest.region.clone(),
        request_id: s3.env().ids.uuid(),
        access_key: None,
        source_ip: crate::SERVICE_PRINCIPAL.into(),
        arn: crate::SERVICE_PRINCIPAL.into(),
    };
    let storage_class = record["storage_class"].as_str().map(str::to_string).or(src.storage_class.clone());
    let obj = NewObject {
        key: key.clone(),
        size: w.size,
        etag: src.etag.clone(),
        segments: vec![Segment::file(w.blob, w.size)],
        headers: src.headers.clone(),
        metadata: src.metadata.clone(),
        tags: src.tags.clone(),
        checksum: src.checksum.clone(),
        parts_count: src.parts_count,
        part_checksums: src.part_checksums.clone(),
        event_name: "ObjectCreated:Put",
        if_match: None,
        if_none_match: None,
        upload_id: None,
        storage_class: storage_class.filter(|c| c != "STANDARD"),
        lock: Default::default(),
        encryption: src.encryption.clone(),
        version_id: (src.version_id != "null").then(|| src.version_id.clone()),
        replica: true,
    };
    match objects::commit_object(s3, &destination, &who, obj).await {
        Ok(_) => mark(s3, &bucket, &key, &vid, "COMPLETED").await.map_err(|e| format!("{:?}", e.0)),
        Err(e) if e.status_code().is_some_and(|s| s.is_client_error()) => {
            mark(s3, &bucket, &key, &vid, "FAILED").await.map_err(|e| format!("{:?}", e.0))
        }
        Err(e) => Err(format!("{e:?}")),
    }
}

/// Puts a delete marker with the source's version id into a versioned destination (once).
async fn replicate_marker(s3: &S3, destination: &str, key: &str, vid: &str) -> Result<(), String> {
    let (dest, key, vid) = (destination.to_string(), key.to_string(), vid.to_string());
    let now = s3.now_millis();
    s3.store()
        .write_signalling(move |t| -> Res<()> {
            let Ok(b) = load_bucket(t, &dest) else { return Ok(()) };
            if b.versioning != Versioning::Enabled || versions(t, &dest, &key)?.iter().any(|v| v.version_id == vid) {
                return Ok(());
            }
            let order = stratus_storage::next_sequence(t, keys::ORDER_SEQUENCE)?;
            let marker = Version {
                replication_status: Some("REPLICA".into()),
                ..Version::delete_marker(&key, vid.clone(), order, now, b.account.clone())
            };
            objects::install(t, &b, &marker)?;
            Ok(())
        })
        .await
        .map_err(|e| format!("{:?}", e.0))
}

/// The replicator: drains [`TOPIC`] whenever the outbox is signalled (and every second).
pub async fn run(s3: S3) {
    loop {
        let signal = s3.store().outbox_signal().clone();
        let notified = signal.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        match s3.store().outbox_pending(TOPIC, 0, 64).await {
            Ok(records) if !records.is_empty() => {
                let mut done = Vec::new();
                for (seq, bytes) in records {
                    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
                        done.push(seq);
                        continue;
                    };
                    match replicate(&s3, &v).await {
                        Ok(()) => done.push(seq),
                        Err(e) => tracing::warn!(error = %e, "replication failed; will retry"),
                    }
                }
                let progressed = !done.is_empty();
                if let Err(e) = s3.store().outbox_ack_many(TOPIC, &done).await {
                    tracing::warn!(error = %e, "could not remove replication records");
                }
                if progressed {
                    continue;
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not read replication records"),
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
}
