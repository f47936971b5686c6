//! Shards: ListShards (with ShardFilter and pagination), and resharding — SplitShard,
//! MergeShards and UpdateShardCount. Resharding closes shards (they stay readable to their
//! end until their records expire) and opens children that name their parents.
//!
//! UpdateShardCount does what AWS does: a series of splits and merges, so every new shard has
//! at most two parents. Shards made only on the way are closed at once and hold no records.

use serde_json::{Value as Json, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::Inner;
use crate::errors::{in_use, invalid_argument, limit_exceeded, validation};
use crate::stream::{Shard, StreamRecord, StreamRef, even_ranges, parse_shard_id, shard_id, stream_ref};
use crate::streams::{SHARD_LIMIT, read_stream, s};

/// Closes the parents and opens their children `children` (hash ranges), returning their indexes.
fn replace(
    st: &mut StreamRecord,
    parents: (u32, Option<u32>),
    children: &[(u128, u128)],
    now: u64,
    counter: u64,
) -> Vec<u32> {
    for p in [Some(parents.0), parents.1].into_iter().flatten() {
        if let Some(s) = st.shards.iter_mut().find(|s| s.index == p) {
            s.end_counter = Some(counter);
            s.closed_ms = Some(now);
        }
    }
    let mut made = Vec::new();
    for &(lo, hi) in children {
        let index = st.next_shard_index();
        st.shards.push(Shard {
            index,
            parent: Some(parents.0),
            adjacent_parent: parents.1,
            start_hash: lo,
            end_hash: hi,
            start_counter: counter,
            end_counter: None,
            created_ms: now,
            closed_ms: None,
        });
        made.push(index);
    }
    made
}

fn open_shard(st: &StreamRecord, id: &str) -> Result<Shard, AwsError> {
    let missing = |shown: &str| {
        AwsError::new(
            "ResourceNotFoundException",
            format!("Could not find shard {shown} in stream {} under account {}.", st.name, st.account),
        )
    };
    let index = parse_shard_id(id).ok_or_else(|| missing(id))?;
    let shard = st.shard(index).cloned().ok_or_else(|| missing(&shard_id(index)))?;
    if !shard.open() {
        return Err(invalid_argument(format!(
            "Shard {} in stream {} under account {} has already been merged or split, and thus is not eligible for merging or splitting.",
            shard_id(index),
            st.name,
            st.account
        )));
    }
    Ok(shard)
}

fn check_active(st: &StreamRecord, now: u64) -> Result<(), AwsError> {
    if st.active(now) {
        Ok(())
    } else {
        Err(in_use(format!(
            "Stream {} under account {} not ACTIVE, instead in state {}",
            st.name,
            st.account,
            st.status(now)
        )))
    }
}

/// Runs a resharding change in one transaction, at the stream's current record counter (every
/// record already written is in a parent); the stream is UPDATING for a moment after.
async fn reshard(
    i: &Inner,
    at: StreamRef,
    f: impl FnOnce(&mut StreamRecord, u64, u64) -> Result<(), AwsError> + Send + 'static,
) -> Result<(), AwsError> {
    let delay = i.settings.update_ms;
    let now = i.now();
    i.store
        .write(move |t| {
            let mut st = at.load(t)?;
            check_active(&st, now)?;
            let counter = stratus_storage::current_sequence(t, &crate::stream::counter_name(st.id))?.unwrap_or(0);
            f(&mut st, now, counter)?;
            st.pending = "UPDATING".into();
            st.ready_ms = now + delay;
            crate::stream::save(t, &st)
        })
        .await?;
    i.changed.bump();
    Ok(())
}

/// A hash key argument: digits, read as a number (one past 2^128 − 1 counts as the largest,
/// which no range check passes).
fn hash_arg(v: &Json, member: &str) -> Result<u128, AwsError> {
    let text = s(v, member).unwrap_or_default();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(validation(format!(
            "1 validation error detected: Value '{text}' at '{}' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{{0,38}})",
            member[..1].to_ascii_lowercase() + &member[1..]
        )));
    }
    Ok(text.parse::<u128>().unwrap_or(u128::MAX))
}

fn check_limit(st: &StreamRecord, open_in_account: u32, more: u32) -> Result<(), AwsError> {
    if open_in_account + more > SHARD_LIMIT {
        return Err(limit_exceeded(format!(
            "This request would exceed the shard limit for the account {} in {}. Current shard count for the account: {open_in_account}. Limit: {SHARD_LIMIT}. Number of additional shards that would have resulted from this request: {more}. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.",
            st.account, st.region
        )));
    }
    Ok(())
}

pub async fn split(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let at = stream_ref(ctx, &input)?;
    let id = s(&input, "ShardToSplit").unwrap_or_default().to_string();
    let new_start = hash_arg(&input, "NewStartingHashKey")?;
    let shown = s(&input, "NewStartingHashKey").unwrap_or_default().to_string();
    let open_total = crate::streams::open_shards_in_account(i, ctx).await?;
    reshard(i, at, move |st, now, counter| {
        let shard = open_shard(st, &id)?;
        if new_start <= shard.start_hash.saturating_add(1) || new_start >= shard.end_hash {
            return Err(invalid_argument(format!(
                "NewStartingHashKey {shown} used in SplitShard() on shard {} in stream {} under account {} is not both greater than one plus the shard's StartingHashKey {} and less than the shard's EndingHashKey {}.",
                shard.id(), st.name, st.account, shard.start_hash, shard.end_hash
            )));
        }
        check_limit(st, open_total, 1)?;
        replace(st, (shard.index, None), &[(shard.start_hash, new_start - 1), (new_start, shard.end_hash)], now, counter);
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub async fn merge(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let at = stream_ref(ctx, &input)?;
    let a = s(&input, "ShardToMerge").unwrap_or_default().to_string();
    let b = s(&input, "AdjacentShardToMerge").unwrap_or_default().to_string();
    reshard(i, at, move |st, now, counter| {
        let (x, y) = (open_shard(st, &a)?, open_shard(st, &b)?);
        // AWS takes the pair in hash key order only.
        if x.end_hash.checked_add(1) != Some(y.start_hash) {
            return Err(invalid_argument(format!(
                "Shards {} and {} in stream {} under account {} are not an adjacent pair of shards eligible for merging",
                x.id(),
                y.id(),
                st.name,
                st.account
            )));
        }
        let range = (x.start_hash.min(y.start_hash), x.end_hash.max(y.end_hash));
        replace(st, (x.index, Some(y.index)), &[range], now, counter);
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

/// Resizes the stream to `target` shards of even ranges by splits and merges.
fn rescale(st: &mut StreamRecord, target: u32, now: u64, counter: u64) {
    let ranges = even_ranges(target);
    // Split every open shard at each new boundary strictly inside it.
    for &(lo, _) in ranges.iter().skip(1) {
        let inside = st.open_shards().find(|s| s.start_hash < lo && lo <= s.end_hash).cloned();
        if let Some(s) = inside {
            replace(st, (s.index, None), &[(s.start_hash, lo - 1), (lo, s.end_hash)], now, counter);
        }
    }
    // Merge the open shards within each new range, two at a time, until one is left.
    for &(lo, hi) in &ranges {
        loop {
            let mut within: Vec<Shard> =
                st.open_shards().filter(|s| s.start_hash >= lo && s.end_hash <= hi).cloned().collect();
            if within.len() < 2 {
                break;
            }
            within.sort_by_key(|s| s.start_hash);
            let (x, y) = (within[0].clone(), within[1].clone());
            replace(st, (x.index, Some(y.index)), &[(x.start_hash, y.end_hash)], now, counter);
        }
    }
}

pub async fn update_shard_count(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let at = stream_ref(ctx, &input)?;
    let target = input.get("TargetShardCount").and_then(Json::as_u64).unwrap_or(0) as u32;
    if s(&input, "ScalingType") != Some("UNIFORM_SCALING") {
        return Err(validation("ScalingType must be UNIFORM_SCALING."));
    }
    let open_total = crate::streams::open_shards_in_account(i, ctx).await?;
    let out = std::sync::Arc::new(std::sync::Mutex::new((0u32, String::new(), String::new())));
    let slot = out.clone();
    reshard(i, at, move |st, now, counter| {
        if st.mode == "ON_DEMAND" {
            return Err(validation(format!(
                "Request is invalid. Stream {} under account {} is in On-Demand mode.",
                st.name, st.account
            )));
        }
        let current = st.open_shards().count() as u32;
        if target > current * 2 {
            return Err(limit_exceeded(format!(
                "UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: {current}, Target shard count: {target}"
            )));
        }
        if target * 2 < current {
            return Err(limit_exceeded(format!(
                "UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: {current}, Target shard count: {target}"
            )));
        }
        if target > current {
            check_limit(st, open_total, target - current)?;
        }
        if target != current {
            rescale(st, target, now, counter);
        }
        if let Ok(mut o) = slot.lock() {
            *o = (current, st.name.clone(), st.arn());
        }
        Ok(())
    })
    .await?;
    let (current, name, arn) = out.lock().map(|o| o.clone()).unwrap_or_default();
    Ok(json!({"StreamName": name, "StreamARN": arn, "CurrentShardCount": current, "TargetShardCount": target}))
}

/// Which shards a ShardFilter keeps.
fn filtered(st: &StreamRecord, filter: Option<&Json>, now: u64) -> Result<Vec<Shard>, AwsError> {
    let live: Vec<Shard> = st.live_shards(now).cloned().collect();
    let Some(f) = filter else { return Ok(live) };
    let kind = s(f, "Type").unwrap_or_default();
    let ts = f.get("Timestamp").and_then(Json::as_f64).map(|t| (t * 1000.0) as u64);
    let indexes: Vec<u32> = live.iter().map(|s| s.index).collect();
    let root = |s: &Shard| [s.parent, s.adjacent_parent].into_iter().flatten().all(|p| !indexes.contains(&p));
    Ok(match kind {
        "AFTER_SHARD_ID" => {
            let id = s(f, "ShardId").ok_or_else(|| {
                invalid_argument("ShardId must be specified for the AFTER_SHARD_ID ShardFilter type.")
            })?;
            let after = parse_shard_id(id).ok_or_else(|| invalid_argument(format!("Invalid ShardId {id}.")))?;
            live.into_iter().filter(|s| s.index > after).collect()
        }
        "AT_LATEST" => live.into_iter().filter(Shard::open).collect(),
        "AT_TRIM_HORIZON" => live.iter().filter(|s| root(s)).cloned().collect(),
        "FROM_TRIM_HORIZON" => live,
        "AT_TIMESTAMP" | "FROM_TIMESTAMP" => {
            let ts = ts.ok_or_else(|| {
                invalid_argument(format!("Timestamp must be specified for the {kind} ShardFilter type."))
            })?;
            live.into_iter()
                .filter(|s| {
                    let open_then = s.closed_ms.is_none_or(|c| c > ts);
                    if kind == "AT_TIMESTAMP" { open_then && s.created_ms <= ts } else { open_then }
                })
                .collect()
        }
        other => return Err(invalid_argument(format!("Invalid ShardFilter type {other}."))),
    })
}

pub async fn list_shards(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let now = i.now();
    let max = input.get("MaxResults").and_then(Json::as_u64).unwrap_or(1000).min(1000) as usize;
    let (at, after, filter) = match s(&input, "NextToken") {
        Some(token) => {
            for other in ["StreamName", "StreamARN", "ShardFilter", "ExclusiveStartShardId"] {
                if input.get(other).is_some() {
                    return Err(invalid_argument(format!("NextToken and {other} cannot be provided together.")));
                }
            }
            let payload = crate::tokens::open(token, now)?;
            let v: Json =
                serde_json::from_str(&payload).map_err(|_| invalid_argument(format!("Invalid NextToken {token}.")))?;
            let at = StreamRef {
                account: s(&v, "a").unwrap_or_default().into(),
                region: s(&v, "r").unwrap_or_default().into(),
                name: s(&v, "n").unwrap_or_default().into(),
            };
            let after = v.get("i").and_then(Json::as_u64).map(|x| x as u32);
            (at, after, v.get("f").cloned().filter(|f| !f.is_null()))
        }
        None => {
            if s(&input, "StreamName").is_none() && s(&input, "StreamARN").is_none() {
                return Err(invalid_argument("Either NextToken or StreamName should be provided."));
            }
            let at = stream_ref(ctx, &input)?;
            let after = match s(&input, "ExclusiveStartShardId") {
                Some(id) => Some(parse_shard_id(id).ok_or_else(|| invalid_argument(format!("Invalid ShardId {id}.")))?),
                None => None,
            };
            (at, after, input.get("ShardFilter").cloned())
        }
    };
    let st = read_stream(i, at.clone()).await?;
    let shards: Vec<Shard> =
        filtered(&st, filter.as_ref(), now)?.into_iter().filter(|s| after.is_none_or(|a| s.index > a)).collect();
    let page: Vec<Json> = shards.iter().take(max).map(|s| st.render_shard(s)).collect();
    let mut out = json!({"Shards": page});
    if shards.len() > max
        && let Some(last) = shards.get(max - 1)
    {
        let payload = json!({"a": at.account, "r": at.region, "n": at.name, "i": last.index, "f": filter});
        out["NextToken"] = json!(crate::tokens::seal(&payload.to_string(), now));
    }
    Ok(out)
}

/// The shards of a stream with their parents, for readers that follow lineage (event source
/// mappings): `(shard id, parent ids, open)`.
pub async fn lineage(i: &Inner, at: StreamRef) -> Result<Vec<(String, Vec<String>, bool)>, AwsError> {
    let st = read_stream(i, at).await?;
    let now = i.now();
    Ok(st
        .live_shards(now)
        .map(|s| (s.id(), s.parent.into_iter().chain(s.adjacent_parent).map(shard_id).collect(), s.open()))
        .collect())
}
