//! Stream operations: CreateStream, DeleteStream, DescribeStream, DescribeStreamSummary,
//! ListStreams, UpdateStreamMode, retention, encryption, enhanced monitoring, tags,
//! UpdateMaxRecordSize and DescribeLimits.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{prefix_end, scan_prefix};

use crate::Inner;
use crate::errors::{in_use, invalid_argument, limit_exceeded, not_active, validation};
use crate::stream::{
    Shard, StreamRecord, StreamRef, even_ranges, load, parse_arn, save, stream_records_prefix, stream_ref,
    streams_prefix,
};

/// Open shards an account may have in a region (AWS's default quota in most regions).
pub const SHARD_LIMIT: u32 = 500;
/// On-demand streams an account may have.
pub const ON_DEMAND_LIMIT: u32 = 50;
/// Shards an on-demand stream starts with.
const ON_DEMAND_SHARDS: u32 = 4;
/// Shard-level metrics that `ALL` stands for.
const METRICS: &[&str] = &[
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
];

pub fn s<'a>(v: &'a Json, member: &str) -> Option<&'a str> {
    v.get(member).and_then(Json::as_str)
}

fn secs(ms: u64) -> Json {
    json!(ms as f64 / 1000.0)
}

/// Open shards of every stream of the account and region, and its on-demand streams.
fn account_usage(r: &mut dyn stratus_storage::ReadTxn, ctx: &RequestContext) -> Result<(u32, u32), AwsError> {
    let mut open = 0;
    let mut on_demand = 0;
    for (_, v) in scan_prefix(r, &streams_prefix(&ctx.account, &ctx.region), usize::MAX)? {
        let st: StreamRecord = serde_json::from_slice(&v).map_err(|e| AwsError::internal(e.to_string()))?;
        open += st.open_shards().count() as u32;
        on_demand += u32::from(st.mode == "ON_DEMAND");
    }
    Ok((open, on_demand))
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let name = s(&input, "StreamName").unwrap_or_default().to_string();
    let mode = input.get("StreamModeDetails").and_then(|m| s(m, "StreamMode")).unwrap_or("PROVISIONED").to_string();
    let count = match (mode.as_str(), input.get("ShardCount").and_then(Json::as_u64)) {
        ("ON_DEMAND", None) => ON_DEMAND_SHARDS,
        ("ON_DEMAND", Some(_)) => {
            return Err(validation("ShardCount must not be specified for a stream in ON_DEMAND mode."));
        }
        (_, Some(n)) => u32::try_from(n).unwrap_or(u32::MAX),
        (_, None) => return Err(validation("ShardCount is required for a stream in PROVISIONED mode.")),
    };
    let tags = tag_map(input.get("Tags"))?;
    let max_kib = input.get("MaxRecordSizeInKiB").and_then(Json::as_u64).unwrap_or(1024) as u32;
    let ctx = ctx.clone();
    let now = i.now();
    let ready = now + i.settings.create_ms;
    i.store
        .write(move |t| {
            if load(t, &ctx.account, &ctx.region, &name)?.is_some() {
                return Err(in_use(format!("Stream {name} under account {} already exists.", ctx.account)));
            }
            let (open, on_demand) = account_usage(t, &ctx)?;
            if open + count > SHARD_LIMIT {
                return Err(limit_exceeded(format!(
                    "This request would exceed the shard limit for the account {} in {}. Current shard count for the account: {open}. Limit: {SHARD_LIMIT}. Number of additional shards that would have resulted from this request: {count}. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.",
                    ctx.account, ctx.region
                )));
            }
            if mode == "ON_DEMAND" && on_demand >= ON_DEMAND_LIMIT {
                return Err(limit_exceeded(format!(
                    "This request would exceed the limit of {ON_DEMAND_LIMIT} on-demand streams for the account {} in {}.",
                    ctx.account, ctx.region
                )));
            }
            let id = stratus_storage::next_sequence(t, "kinesis/stream-id")?;
            let start = stratus_storage::current_sequence(t, &crate::stream::counter_name(id))?.unwrap_or(0);
            let shards = even_ranges(count)
                .into_iter()
                .enumerate()
                .map(|(n, (lo, hi))| Shard {
                    index: n as u32,
                    parent: None,
                    adjacent_parent: None,
                    start_hash: lo,
                    end_hash: hi,
                    start_counter: start,
                    end_counter: None,
                    created_ms: now,
                    closed_ms: None,
                })
                .collect();
            let st = StreamRecord {
                id,
                name,
                account: ctx.account.clone(),
                region: ctx.region.clone(),
                created_ms: now,
                ready_ms: ready,
                pending: "CREATING".into(),
                mode,
                retention_hours: 24,
                encryption: None,
                shard_metrics: Vec::new(),
                tags,
                shards,
                consumers: Vec::new(),
                policy: None,
                max_record_kib: max_kib,
            };
            save(t, &st)
        })
        .await?;
    Ok(json!({}))
}

/// Runs `f` on the stream a request names and saves what it leaves (one transaction).
pub async fn update<T: Send + 'static>(
    i: &Inner,
    at: StreamRef,
    f: impl FnOnce(&mut StreamRecord, u64) -> Result<T, AwsError> + Send + 'static,
) -> Result<T, AwsError> {
    let now = i.now();
    let out = i
        .store
        .write(move |t| {
            let mut st = at.load(t)?;
            let out = f(&mut st, now)?;
            save(t, &st)?;
            Ok::<_, AwsError>(out)
        })
        .await?;
    i.changed.bump();
    Ok(out)
}

/// [`update`] for changes that need the stream ACTIVE, leaving it UPDATING for a moment.
async fn update_active<T: Send + 'static>(
    i: &Inner,
    at: StreamRef,
    f: impl FnOnce(&mut StreamRecord, u64) -> Result<T, AwsError> + Send + 'static,
) -> Result<T, AwsError> {
    let delay = i.settings.update_ms;
    update(i, at, move |st, now| {
        if !st.active(now) {
            return Err(not_active(&st.name, &st.account));
        }
        let out = f(st, now)?;
        st.pending = "UPDATING".into();
        st.ready_ms = now + delay;
        Ok(out)
    })
    .await
}

pub async fn read_stream(i: &Inner, at: StreamRef) -> Result<StreamRecord, AwsError> {
    i.store.read(move |r| at.load(r)).await
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let at = stream_ref(ctx, &input)?;
    let enforce = input.get("EnforceConsumerDeletion").and_then(Json::as_bool).unwrap_or(false);
    i.store
        .write(move |t| {
            let st = at.load(t)?;
            if !st.consumers.is_empty() && !enforce {
                return Err(in_use(format!(
                    "Stream {} under account {} has registered consumers. Deregister them first or set EnforceConsumerDeletion.",
                    st.name, st.account
                )));
            }
            let prefix = stream_records_prefix(st.id);
            t.delete_range(&prefix, prefix_end(&prefix).as_deref())?;
            t.delete(&crate::stream::stream_key(&st.account, &st.region, &st.name))?;
            Ok(())
        })
        .await?;
    i.changed.bump();
    Ok(json!({}))
}

pub async fn describe(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let st = read_stream(i, stream_ref(ctx, &input)?).await?;
    let now = i.now();
    let limit = input.get("Limit").and_then(Json::as_u64).unwrap_or(100) as usize;
    let after = match s(&input, "ExclusiveStartShardId") {
        Some(id) => Some(
            crate::stream::parse_shard_id(id)
                .ok_or_else(|| invalid_argument(format!("ExclusiveStartShardId {id} is not a valid shard id.")))?,
        ),
        None => None,
    };
    // A stream being created shows no shards yet.
    let creating = st.status(now) == "CREATING";
    let live: Vec<&Shard> = st.live_shards(now).filter(|s| !creating && after.is_none_or(|a| s.index > a)).collect();
    let shards: Vec<Json> = live.iter().take(limit).map(|s| st.render_shard(s)).collect();
    let mut d = json!({
        "StreamName": st.name,
        "StreamARN": st.arn(),
        "StreamStatus": st.status(now),
        "StreamModeDetails": st.mode_details(),
        "Shards": shards,
        "HasMoreShards": live.len() > limit,
        "RetentionPeriodHours": st.retention_hours,
        "StreamCreationTimestamp": secs(st.created_ms),
        "EnhancedMonitoring": st.monitoring(),
        "EncryptionType": st.encryption_type(),
    });
    if let Some((_, key)) = &st.encryption {
        d["KeyId"] = json!(key);
    }
    Ok(json!({"StreamDescription": d}))
}

pub async fn describe_summary(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let st = read_stream(i, stream_ref(ctx, &input)?).await?;
    let now = i.now();
    let mut d = json!({
        "StreamName": st.name,
        "StreamARN": st.arn(),
        "StreamStatus": st.status(now),
        "StreamModeDetails": st.mode_details(),
        "RetentionPeriodHours": st.retention_hours,
        "StreamCreationTimestamp": secs(st.created_ms),
        "EnhancedMonitoring": st.monitoring(),
        "EncryptionType": st.encryption_type(),
        "OpenShardCount": st.open_shards().count(),
        "ConsumerCount": st.consumers.len(),
        "MaxRecordSizeInKiB": st.max_record_kib,
    });
    if let Some((_, key)) = &st.encryption {
        d["KeyId"] = json!(key);
    }
    Ok(json!({"StreamDescriptionSummary": d}))
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let limit = input.get("Limit").and_then(Json::as_u64).unwrap_or(100) as usize;
    let after = match s(&input, "NextToken") {
        Some(token) => {
            if s(&input, "ExclusiveStartStreamName").is_some() {
                return Err(invalid_argument("NextToken and ExclusiveStartStreamName cannot be provided together."));
            }
            Some(crate::tokens::open(token, i.now())?)
        }
        None => s(&input, "ExclusiveStartStreamName").map(str::to_string),
    };
    let prefix = streams_prefix(&ctx.account, &ctx.region);
    let start = match &after {
        Some(a) => {
            let mut k = prefix.clone();
            k.extend_from_slice(a.as_bytes());
            k.push(0);
            k
        }
        None => prefix.clone(),
    };
    let end = prefix_end(&prefix);
    let rows = i.store.read(move |r| r.scan(&start, end.as_deref(), limit + 1).map_err(AwsError::from)).await?;
    let now = i.now();
    let more = rows.len() > limit;
    let mut names = Vec::new();
    let mut summaries = Vec::new();
    for (_, v) in rows.iter().take(limit) {
        let st: StreamRecord = serde_json::from_slice(v).map_err(|e| AwsError::internal(e.to_string()))?;
        summaries.push(json!({
            "StreamName": st.name,
            "StreamARN": st.arn(),
            "StreamStatus": st.status(now),
            "StreamModeDetails": st.mode_details(),
            "StreamCreationTimestamp": secs(st.created_ms),
        }));
        names.push(st.name);
    }
    let mut out = json!({"StreamNames": names, "HasMoreStreams": more, "StreamSummaries": summaries});
    if more && let Some(last) = names.last() {
        out["NextToken"] = json!(crate::tokens::seal(last, i.now()));
    }
    Ok(out)
}

pub async fn update_mode(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let at = stream_ref(ctx, &input)?;
    let mode = input.get("StreamModeDetails").and_then(|m| s(m, "StreamMode")).unwrap_or_default().to_string();
    update_active(i, at, move |st, _| {
        if st.mode == mode {
            return Err(in_use(format!("Stream {} under account {} is already in {mode} mode.", st.name, st.account)));
        }
        st.mode = mode;
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub async fn retention(i: &Inner, ctx: &RequestContext, input: Json, increase: bool) -> Result<Json, AwsError> {
    let at = stream_ref(ctx, &input)?;
    let hours = input.get("RetentionPeriodHours").and_then(Json::as_i64).unwrap_or(0);
    if hours < 24 {
        return Err(invalid_argument(format!(
            "Minimum allowed retention period is 24 hours. Requested retention period ({hours} hours) is too short."
        )));
    }
    if hours > 8760 {
        return Err(invalid_argument(format!(
            "Maximum allowed retention period is 8760 hours. Requested retention period ({hours} hours) is too long."
        )));
    }
    let hours = hours as u32;
    update_active(i, at, move |st, _| {
        if increase && hours < st.retention_hours {
            return Err(invalid_argument(format!(
                "Requested retention period ({hours} hours) for stream {} can not be shorter than existing retention period ({} hours). Use DecreaseRetentionPeriod API.",
                st.name, st.retention_hours
            )));
        }
        if !increase && hours > st.retention_hours {
            return Err(invalid_argument(format!(
                "Requested retention period ({hours} hours) for stream {} can not be longer than existing retention period ({} hours). Use IncreaseRetentionPeriod API.",
                st.name, st.retention_hours
            )));
        }
        st.retention_hours = hours;
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub async fn encryption(i: &Inner, ctx: &RequestContext, input: Json, start: bool) -> Result<Json, AwsError> {
    let at = stream_ref(ctx, &input)?;
    let kind = s(&input, "EncryptionType").unwrap_or_default().to_string();
    let key = s(&input, "KeyId").unwrap_or_default().to_string();
    if kind != "KMS" {
        return Err(invalid_argument(format!("Encryption type {kind} is not supported. Use KMS.")));
    }
    update_active(i, at, move |st, _| {
        if start {
            st.encryption = Some((kind, key));
        } else {
            st.encryption = None;
        }
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub async fn monitoring(i: &Inner, ctx: &RequestContext, input: Json, enable: bool) -> Result<Json, AwsError> {
    let at = stream_ref(ctx, &input)?;
    let asked: Vec<String> = input
        .get("ShardLevelMetrics")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let expanded: Vec<String> =
        if asked.iter().any(|m| m == "ALL") { METRICS.iter().map(|m| m.to_string()).collect() } else { asked };
    let (current, desired, arn, name) = update_active(i, at, move |st, _| {
        let current = st.shard_metrics.clone();
        let mut desired: Vec<String> = if enable {
            let mut d = current.clone();
            d.extend(expanded.iter().filter(|m| !current.contains(m)).cloned());
            d
        } else {
            current.iter().filter(|m| !expanded.contains(m)).cloned().collect()
        };
        desired.sort_by_key(|m| METRICS.iter().position(|x| x == m));
        st.shard_metrics = desired.clone();
        Ok((current, desired, st.arn(), st.name.clone()))
    })
    .await?;
    Ok(json!({
        "StreamName": name,
        "StreamARN": arn,
        "CurrentShardLevelMetrics": current,
        "DesiredShardLevelMetrics": desired,
    }))
}

pub async fn max_record_size(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let at = stream_ref(ctx, &input)?;
    let kib = input.get("MaxRecordSizeInKiB").and_then(Json::as_u64).unwrap_or(1024) as u32;
    update_active(i, at, move |st, _| {
        st.max_record_kib = kib;
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

/// Open shards of all the account's streams in the region (for the shard limit).
pub async fn open_shards_in_account(i: &Inner, ctx: &RequestContext) -> Result<u32, AwsError> {
    let ctx = ctx.clone();
    Ok(i.store.read(move |r| account_usage(r, &ctx)).await?.0)
}

pub async fn describe_limits(i: &Inner, ctx: &RequestContext) -> Result<Json, AwsError> {
    let ctx = ctx.clone();
    let (open, on_demand) = i.store.read(move |r| account_usage(r, &ctx)).await?;
    Ok(json!({
        "ShardLimit": SHARD_LIMIT,
        "OpenShardCount": open,
        "OnDemandStreamCount": on_demand,
        "OnDemandStreamCountLimit": ON_DEMAND_LIMIT,
    }))
}

// ---- tags ----

/// Tags as given (`Tags` maps), checked against AWS's limits.
pub fn tag_map(v: Option<&Json>) -> Result<BTreeMap<String, String>, AwsError> {
    let mut out = BTreeMap::new();
    for (k, v) in v.and_then(Json::as_object).into_iter().flatten() {
        out.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
    }
    if out.len() > 50 {
        return Err(invalid_argument("Failed to add tags to stream: a resource can have at most 50 tags."));
    }
    Ok(out)
}

fn add_tags(tags: &mut BTreeMap<String, String>, new: BTreeMap<String, String>) -> Result<(), AwsError> {
    let total = tags.len() + new.keys().filter(|k| !tags.contains_key(*k)).count();
    if total > 50 {
        return Err(invalid_argument(format!(
            "Failed to add tags to stream: the resource would have {total} tags; at most 50 are allowed."
        )));
    }
    tags.extend(new);
    Ok(())
}

pub async fn add_tags_to_stream(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let at = stream_ref(ctx, &input)?;
    let new = tag_map(input.get("Tags"))?;
    update(i, at, move |st, _| add_tags(&mut st.tags, new)).await?;
    Ok(json!({}))
}

pub async fn remove_tags_from_stream(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let at = stream_ref(ctx, &input)?;
    let keys = strings(input.get("TagKeys"));
    update(i, at, move |st, _| {
        st.tags.retain(|k, _| !keys.contains(k));
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

fn strings(v: Option<&Json>) -> Vec<String> {
    v.and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn tag_list(tags: &BTreeMap<String, String>) -> Vec<Json> {
    tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect()
}

pub async fn list_tags_for_stream(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let st = read_stream(i, stream_ref(ctx, &input)?).await?;
    let limit = input.get("Limit").and_then(Json::as_u64).unwrap_or(50) as usize;
    let after = s(&input, "ExclusiveStartTagKey");
    let rest: Vec<(&String, &String)> = st.tags.iter().filter(|(k, _)| after.is_none_or(|a| k.as_str() > a)).collect();
    let page: BTreeMap<String, String> = rest.iter().take(limit).map(|(k, v)| ((*k).clone(), (*v).clone())).collect();
    Ok(json!({"Tags": tag_list(&page), "HasMoreTags": rest.len() > limit}))
}

/// The stream, and the consumer when the ARN names one, of a `ResourceARN`.
pub fn resource_ref(arn: &str) -> Result<(StreamRef, Option<String>), AwsError> {
    let bad = || invalid_argument(format!("Invalid ResourceARN {arn}"));
    let (account, region, name, tail) = parse_arn(arn).ok_or_else(bad)?;
    let consumer = match tail {
        None => None,
        Some(t) => {
            let rest = t.strip_prefix("consumer/").ok_or_else(bad)?;
            Some(rest.split_once(':').map_or(rest, |(n, _)| n).to_string())
        }
    };
    Ok((StreamRef { account, region, name }, consumer))
}

pub fn consumer_not_found(arn: &str) -> AwsError {
    AwsError::new("ResourceNotFoundException", format!("Consumer {arn} not found."))
}

pub async fn tag_resource(i: &Inner, input: Json, add: bool) -> Result<Json, AwsError> {
    let arn = s(&input, "ResourceARN").unwrap_or_default().to_string();
    let (at, consumer) = resource_ref(&arn)?;
    let new = if add { tag_map(input.get("Tags"))? } else { BTreeMap::new() };
    let keys = strings(input.get("TagKeys"));
    update(i, at, move |st, _| {
        let tags = match &consumer {
            None => &mut st.tags,
            Some(c) => {
                &mut st.consumers.iter_mut().find(|x| &x.name == c).ok_or_else(|| consumer_not_found(&arn))?.tags
            }
        };
        if add {
            add_tags(tags, new)
        } else {
            tags.retain(|k, _| !keys.contains(k));
            Ok(())
        }
    })
    .await?;
    Ok(json!({}))
}

pub async fn list_tags_for_resource(i: &Inner, input: Json) -> Result<Json, AwsError> {
    let arn = s(&input, "ResourceARN").unwrap_or_default().to_string();
    let (at, consumer) = resource_ref(&arn)?;
    let st = read_stream(i, at).await?;
    let tags = match &consumer {
        None => &st.tags,
        Some(c) => &st.consumers.iter().find(|x| &x.name == c).ok_or_else(|| consumer_not_found(&arn))?.tags,
    };
    Ok(json!({"Tags": tag_list(tags)}))
}

/// What authorization needs of a stream or consumer: its resource policy and tags.
pub async fn access(i: &Inner, arn: &str) -> Result<Option<stratus_core::ResourceAccess>, AwsError> {
    let Ok((at, consumer)) = resource_ref(arn) else { return Ok(None) };
    let found = i.store.read(move |r| load(r, &at.account, &at.region, &at.name)).await?;
    Ok(found.and_then(|st| match consumer {
        None => Some(stratus_core::ResourceAccess { policy: st.policy.clone(), tags: st.tags.clone() }),
        Some(c) => st
            .consumers
            .iter()
            .find(|x| x.name == c)
            .map(|x| stratus_core::ResourceAccess { policy: x.policy.clone(), tags: x.tags.clone() }),
    }))
}
