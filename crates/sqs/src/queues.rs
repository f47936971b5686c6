//! Queue operations: create, find, list, delete, attributes, tags, permissions, purge.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, Txn, next_sequence, scan_prefix};

use crate::errors::{
    invalid_attribute_name, invalid_attribute_value_reason, invalid_parameter, invalid_value, queue_does_not_exist,
};
use crate::queue::{
    ALL_ATTRIBUTES, QueueRecord, parse_queue_arn, parse_queue_url, queue_url, validate_attributes, validate_name,
};
use crate::types::*;
use crate::{Inner, keys};

/// How long a deleted queue's name stays unavailable.
const DELETED_NAME_HOLD_MS: u64 = 60_000;
const PURGE_INTERVAL_MS: u64 = 60_000;

pub(crate) fn load(
    r: &mut dyn ReadTxn,
    account: &str,
    region: &str,
    name: &str,
) -> Result<Option<QueueRecord>, AwsError> {
    match r.get(&keys::queue(account, region, name))? {
        Some(bytes) => Ok(Some(
            serde_json::from_slice(&bytes).map_err(|e| AwsError::internal(format!("corrupt queue record: {e}")))?,
        )),
        None => Ok(None),
    }
}

pub(crate) fn save(t: &mut dyn Txn, q: &QueueRecord) -> Result<(), AwsError> {
    let bytes = serde_json::to_vec(q).map_err(|e| AwsError::internal(e.to_string()))?;
    t.put(&keys::queue(&q.account, &q.region, &q.name), &bytes)?;
    Ok(())
}

/// The queue a `QueueUrl` names, in the request's region.
///
/// Every message operation starts here, so the decoded record is kept per thread beside the
/// bytes it was decoded from: a record is reused only while the store still holds exactly
/// those bytes (read in the caller's transaction), so a change or a deletion is seen at once.
pub(crate) fn resolve(r: &mut dyn ReadTxn, ctx: &RequestContext, url: &str) -> Result<Arc<QueueRecord>, AwsError> {
    let (account, name) = parse_queue_url(url, ctx).ok_or_else(queue_does_not_exist)?;
    let key = keys::queue(&account, &ctx.region, &name);
    let bytes = r.get(&key)?.ok_or_else(queue_does_not_exist)?;
    stratus_storage::decoded(&key, bytes, |b| {
        serde_json::from_slice(b).map(Arc::new).map_err(|e| AwsError::internal(format!("corrupt queue record: {e}")))
    })
}

/// The queue an ARN names.
pub(crate) fn load_arn(r: &mut dyn ReadTxn, arn: &str) -> Result<Option<QueueRecord>, AwsError> {
    match parse_queue_arn(arn) {
        Some((account, region, name)) => load(r, &account, &region, &name),
        None => Ok(None),
    }
}

/// Checks the queues a RedrivePolicy refers to.
fn check_redrive_target(r: &mut dyn ReadTxn, attrs: &Attributes, fifo: bool, own_arn: &str) -> Result<(), AwsError> {
    let Some(policy) = attrs.get("RedrivePolicy").filter(|p| !p.is_empty()) else { return Ok(()) };
    let v: Value =
        serde_json::from_str(policy).map_err(|_| invalid_attribute_value_reason("RedrivePolicy", "invalid JSON"))?;
    let arn = v.get("deadLetterTargetArn").and_then(Value::as_str).unwrap_or_default();
    let dlq = load_arn(r, arn)?.ok_or_else(|| {
        invalid_parameter(format!(
            "Value {policy} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist."
        ))
    })?;
    if dlq.is_fifo() != fifo {
        return Err(invalid_parameter(format!(
            "Value {policy} for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type of queue as the source.."
        )));
    }
    if !dlq.allows_redrive_from(own_arn) {
        return Err(invalid_parameter(format!(
            "Value {policy} for parameter RedrivePolicy is invalid. Reason: Queue {own_arn} is not allowed to use {arn} as its dead-letter queue."
        )));
    }
    Ok(())
}

/// Whether a CreateQueue attribute matches an existing queue's: JSON documents compare by
/// meaning (a `RedrivePolicy` with spaces or a string `maxReceiveCount` is the same policy).
fn same_attribute(name: &str, existing: Option<&str>, given: &str) -> bool {
    let Some(existing) = existing else { return false };
    match name {
        "RedrivePolicy" => {
            crate::queue::normalize_redrive_policy(existing) == crate::queue::normalize_redrive_policy(given)
        }
        "Policy" | "RedriveAllowPolicy" => {
            match (serde_json::from_str::<Value>(existing), serde_json::from_str::<Value>(given)) {
                (Ok(a), Ok(b)) => a == b,
                _ => existing == given,
            }
        }
        _ => existing == given,
    }
}

pub(crate) async fn create(
    i: &Inner,
    ctx: &RequestContext,
    input: CreateQueueInput,
) -> Result<QueueUrlOutput, AwsError> {
    let name = input.queue_name;
    let fifo_attr = input.attributes.get("FifoQueue").map(String::as_str);
    let fifo = fifo_attr == Some("true");
    // Only a FIFO name knows the attribute: a standard queue refuses it, "false" included.
    if !name.ends_with(".fifo") && fifo_attr.is_some() {
        return Err(crate::errors::invalid_attribute_name("FifoQueue"));
    }
    if name.ends_with(".fifo") && !fifo {
        return Err(invalid_parameter(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.",
        ));
    }
    validate_name(&name, fifo)?;
    validate_attributes(&input.attributes, fifo, true)?;
    if input.tags.len() > 50 {
        return Err(invalid_parameter("Too many tags added for queue (maximum 50)."));
    }
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let now = i.now();
    let url = queue_url(ctx, &account, &name);
    let (attrs, tags) = (input.attributes, input.tags);
    i.store
        .write(move |t| {
            if let Some(existing) = load(t, &account, &region, &name)? {
                for (k, v) in &attrs {
                    if !same_attribute(k, existing.attr(k).as_deref(), v) {
                        return Err(AwsError::new(
                            "QueueNameExists",
                            format!("A queue already exists with the same name and a different value for attribute {k}"),
                        ));
                    }
                }
                return Ok(());
            }
            if let Some(at) = t.get(&keys::gone(&account, &region, &name))? {
                let at = u64::from_be_bytes(at.as_slice().try_into().unwrap_or([0; 8]));
                if now < at + DELETED_NAME_HOLD_MS {
                    return Err(AwsError::new(
                        "QueueDeletedRecently",
                        "You must wait 60 seconds after deleting a queue before you can create another queue with the same name.",
                    ));
                }
            }
            let arn = format!("arn:{partition}:sqs:{region}:{account}:{name}", partition = stratus_core::partition(&region));
            check_redrive_target(t, &attrs, fifo, &arn)?;
            let mut stored = attrs;
            if !fifo {
                stored.remove("FifoQueue");
            }
            if let Some(p) = stored.get_mut("RedrivePolicy").filter(|p| !p.is_empty()) {
                *p = crate::queue::normalize_redrive_policy(p);
            }
            let q = QueueRecord {
                id: next_sequence(t, keys::QUEUE_IDS)?,
                name,
                account,
                region,
                attributes: stored,
                tags,
                created: now / 1000,
                last_modified: now / 1000,
                last_purge: None,
                indexed: true,
            };
            t.put(&keys::count(q.id), &0u64.to_be_bytes())?;
            save(t, &q)
        })
        .await?;
    Ok(QueueUrlOutput { queue_url: url })
}

pub(crate) async fn get_url(
    i: &Inner,
    ctx: &RequestContext,
    input: GetQueueUrlInput,
) -> Result<QueueUrlOutput, AwsError> {
    let account = input.owner.filter(|o| !o.is_empty()).unwrap_or_else(|| ctx.account.clone());
    let (region, name) = (ctx.region.clone(), input.queue_name.clone());
    let acct = account.clone();
    let found = i.read(move |r| load(r, &acct, &region, &name)).await?;
    match found {
        Some(q) => Ok(QueueUrlOutput { queue_url: queue_url(ctx, &account, &q.name) }),
        None => Err(queue_does_not_exist()),
    }
}

/// Pagination tokens carry the last name returned.
fn encode_token(last: &str) -> String {
    STANDARD.encode(json!({ "after": last }).to_string())
}

fn decode_token(token: &str) -> Result<String, AwsError> {
    STANDARD
        .decode(token)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v.get("after").and_then(Value::as_str).map(str::to_string))
        .ok_or_else(|| invalid_parameter("Invalid NextToken value."))
}

fn max_results(v: Option<i64>) -> Result<Option<usize>, AwsError> {
    match v {
        None => Ok(None),
        Some(n) if (1..=1000).contains(&n) => Ok(Some(n as usize)),
        Some(n) => Err(invalid_value("MaxResults", n, "MaxResults must be an integer between 1 and 1000.")),
    }
}

pub(crate) async fn list(
    i: &Inner,
    ctx: &RequestContext,
    input: ListQueuesInput,
) -> Result<ListQueuesOutput, AwsError> {
    let limit = max_results(input.max_results)?;
    let after = input.next_token.as_deref().map(decode_token).transpose()?;
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let prefix = input.queue_name_prefix.unwrap_or_default();
    let names = i
        .read(move |r| {
            let base = keys::queues(&account, &region);
            let start = stratus_storage::listing_start(&base, &prefix, after.as_deref());
            let end = stratus_storage::prefix_end(&base);
            let rows = r.scan(&start, end.as_deref(), limit.unwrap_or(1000) + 1)?;
            Ok(rows
                .into_iter()
                .filter_map(|(k, _)| String::from_utf8(k[base.len()..].to_vec()).ok())
                .take_while(|n| n.starts_with(&prefix))
                .collect::<Vec<_>>())
        })
        .await?;
    let cap = limit.unwrap_or(1000);
    let more = names.len() > cap;
    let names = &names[..names.len().min(cap)];
    Ok(ListQueuesOutput {
        queue_urls: names.iter().map(|n| queue_url(ctx, &ctx.account, n)).collect(),
        next_token: if more && limit.is_some() { names.last().map(|n| encode_token(n)) } else { None },
    })
}

pub(crate) async fn delete(i: &Inner, ctx: &RequestContext, input: QueueUrlInput) -> Result<(), AwsError> {
    let ctx2 = ctx.clone();
    let now = i.now();
    let id = i
        .store
        .write(move |t| {
            let q = resolve(t, &ctx2, &input.queue_url)?;
            t.delete(&keys::queue(&q.account, &q.region, &q.name))?;
            t.delete(&keys::count(q.id))?;
            for prefix in [
                keys::messages(q.id),
                keys::visibility(q.id),
                keys::dedups(q.id),
                keys::attempts(q.id),
                keys::groups(q.id),
                keys::heads(q.id),
            ] {
                let end = stratus_storage::prefix_end(&prefix);
                t.delete_range(&prefix, end.as_deref())?;
            }
            t.put(&keys::gone(&q.account, &q.region, &q.name), &now.to_be_bytes())?;
            Ok::<_, AwsError>(q.id)
        })
        .await?;
    i.wake(id);
    Ok(())
}

/// Counts of visible, in-flight and delayed messages, from the visibility index.
/// (visible, in flight, delayed). With a kept total only the invisible part of the
/// visibility index is read (in-flight and delayed messages), not the visible backlog.
fn counts(r: &mut dyn ReadTxn, id: u64, now: u64) -> Result<(u64, u64, u64), AwsError> {
    let (mut visible, mut inflight, mut delayed) = (0, 0, 0);
    let total = r.get(&keys::count(id))?.and_then(|v| Some(u64::from_be_bytes(v.as_slice().try_into().ok()?)));
    let start = if total.is_some() { keys::visible(id, now + 1, 0) } else { keys::visibility(id) };
    let end = stratus_storage::prefix_end(&keys::visibility(id));
    let mut from = start;
    loop {
        let rows = r.scan(&from, end.as_deref(), 4096)?;
        let Some((last, _)) = rows.last() else { break };
        // The next scan starts just after the last key read.
        from = last.clone();
        from.push(0);
        let n = rows.len();
        for (k, v) in rows {
            let Some((at, _)) = keys::parse_visible(&k) else { continue };
            if at <= now {
                visible += 1;
            } else if v.first() == Some(&1) {
                inflight += 1;
            } else {
                delayed += 1;
            }
        }
        if n < 4096 {
            break;
        }
    }
    if let Some(total) = total {
        visible = total.saturating_sub(inflight + delayed);
    }
    Ok((visible, inflight, delayed))
}

pub(crate) async fn get_attributes(
    i: &Inner,
    ctx: &RequestContext,
    input: GetQueueAttributesInput,
) -> Result<AttributesOutput, AwsError> {
    for n in &input.attribute_names {
        if n != "All" && !ALL_ATTRIBUTES.contains(&n.as_str()) {
            return Err(invalid_attribute_name(n));
        }
    }
    let ctx2 = ctx.clone();
    let now = i.now();
    let names = input.attribute_names;
    let url = input.queue_url;
    i.read(move |r| {
        let q = resolve(r, &ctx2, &url)?;
        let all = names.iter().any(|n| n == "All");
        let wanted = |n: &str| all || names.iter().any(|x| x == n);
        let need_counts = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        .iter()
        .any(|n| wanted(n));
        let (visible, inflight, delayed) = if need_counts { counts(r, q.id, now)? } else { (0, 0, 0) };
        let mut attrs = BTreeMap::new();
        for &name in ALL_ATTRIBUTES {
            if !wanted(name) {
                continue;
            }
            let value = match name {
                "ApproximateNumberOfMessages" => Some(visible.to_string()),
                "ApproximateNumberOfMessagesNotVisible" => Some(inflight.to_string()),
                "ApproximateNumberOfMessagesDelayed" => Some(delayed.to_string()),
                "CreatedTimestamp" => Some(q.created.to_string()),
                "LastModifiedTimestamp" => Some(q.last_modified.to_string()),
                "QueueArn" => Some(q.arn()),
                "FifoQueue" | "ContentBasedDeduplication" | "DeduplicationScope" | "FifoThroughputLimit" => {
                    if q.is_fifo() { q.attr(name) } else { None }
                }
                other => q.attr(other).filter(|v| !v.is_empty()),
            };
            if let Some(v) = value {
                attrs.insert(name.to_string(), v);
            }
        }
        Ok(AttributesOutput { attributes: attrs })
    })
    .await
}

pub(crate) async fn set_attributes(
    i: &Inner,
    ctx: &RequestContext,
    input: SetQueueAttributesInput,
) -> Result<(), AwsError> {
    let ctx2 = ctx.clone();
    let now = i.now();
    let id = i
        .store
        .write(move |t| {
            let mut q = Arc::unwrap_or_clone(resolve(t, &ctx2, &input.queue_url)?);
            validate_attributes(&input.attributes, q.is_fifo(), false)?;
            check_redrive_target(t, &input.attributes, q.is_fifo(), &q.arn())?;
            for (k, mut v) in input.attributes {
                if k == "FifoQueue" {
                    continue;
                }
                if k == "RedrivePolicy" && !v.is_empty() {
                    v = crate::queue::normalize_redrive_policy(&v);
                }
                if v.is_empty()
                    && matches!(k.as_str(), "Policy" | "RedrivePolicy" | "RedriveAllowPolicy" | "KmsMasterKeyId")
                {
                    q.attributes.remove(&k);
                } else {
                    q.attributes.insert(k, v);
                }
            }
            q.last_modified = now / 1000;
            save(t, &q)?;
            Ok::<_, AwsError>(q.id)
        })
        .await?;
    // A shorter delay or retention may change what is available now.
    i.wake(id);
    Ok(())
}

pub(crate) async fn purge(i: &Inner, ctx: &RequestContext, input: QueueUrlInput) -> Result<(), AwsError> {
    let ctx2 = ctx.clone();
    let now = i.now();
    i.store
        .write(move |t| {
            let mut q = Arc::unwrap_or_clone(resolve(t, &ctx2, &input.queue_url)?);
            if q.last_purge.is_some_and(|p| now < p + PURGE_INTERVAL_MS) {
                return Err(AwsError::new(
                    "PurgeQueueInProgress",
                    format!("Only one PurgeQueue operation on {} is allowed every 60 seconds.", q.name),
                ));
            }
            for prefix in [keys::messages(q.id), keys::visibility(q.id), keys::groups(q.id), keys::heads(q.id)] {
                let end = stratus_storage::prefix_end(&prefix);
                t.delete_range(&prefix, end.as_deref())?;
            }
            if q.indexed {
                t.put(&keys::count(q.id), &0u64.to_be_bytes())?;
            }
            q.last_purge = Some(now);
            save(t, &q)
        })
        .await
}

fn update(
    i: &Inner,
    ctx: &RequestContext,
    url: String,
    f: impl FnOnce(&mut QueueRecord) -> Result<(), AwsError> + Send + 'static,
) -> impl Future<Output = Result<(), AwsError>> + Send {
    let ctx2 = ctx.clone();
    let store = i.store.clone();
    async move {
        store
            .write(move |t| {
                let mut q = Arc::unwrap_or_clone(resolve(t, &ctx2, &url)?);
                f(&mut q)?;
                save(t, &q)
            })
            .await
    }
}

pub(crate) async fn tag(i: &Inner, ctx: &RequestContext, input: TagQueueInput) -> Result<(), AwsError> {
    if input.tags.is_empty() {
        return Err(invalid_parameter("The request must contain at least one tag."));
    }
    update(i, ctx, input.queue_url, move |q| {
        q.tags.extend(input.tags);
        if q.tags.len() > 50 {
            return Err(invalid_parameter("Too many tags added for queue (maximum 50)."));
        }
        Ok(())
    })
    .await
}

pub(crate) async fn untag(i: &Inner, ctx: &RequestContext, input: UntagQueueInput) -> Result<(), AwsError> {
    update(i, ctx, input.queue_url, move |q| {
        for k in input.tag_keys {
            q.tags.remove(&k);
        }
        Ok(())
    })
    .await
}

pub(crate) async fn list_tags(
    i: &Inner,
    ctx: &RequestContext,
    input: QueueUrlInput,
) -> Result<ListQueueTagsOutput, AwsError> {
    let ctx2 = ctx.clone();
    i.read(move |r| Ok(ListQueueTagsOutput { tags: resolve(r, &ctx2, &input.queue_url)?.tags.clone() })).await
}

/// Actions AddPermission may grant (without the `SQS:` prefix).
const PERMISSION_ACTIONS: &[&str] = &[
    "*",
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "PurgeQueue",
    "ListQueueTags",
    "ListMessageMoveTasks",
    "StartMessageMoveTask",
    "CancelMessageMoveTask",
];

pub(crate) async fn add_permission(i: &Inner, ctx: &RequestContext, input: AddPermissionInput) -> Result<(), AwsError> {
    if input.label.is_empty()
        || input.label.len() > 80
        || !input.label.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        return Err(invalid_value(
            "Label",
            &input.label,
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    if input.account_ids.is_empty() {
        return Err(crate::errors::missing_parameter("AWSAccountIds"));
    }
    if input.actions.is_empty() {
        return Err(crate::errors::missing_parameter("Actions"));
    }
    for a in &input.actions {
        if !PERMISSION_ACTIONS.contains(&a.as_str()) {
            return Err(invalid_value("ActionName.1", a, "Only the queue owner is allowed to invoke this action."));
        }
    }
    let label = input.label.clone();
    update(i, ctx, input.queue_url, move |q| {
        let mut policy: Value = q.attributes.get("Policy").and_then(|p| serde_json::from_str(p).ok()).unwrap_or_else(
            || json!({"Version": "2012-10-17", "Id": format!("{}/SQSDefaultPolicy", q.arn()), "Statement": []}),
        );
        let statements = policy
            .get_mut("Statement")
            .and_then(Value::as_array_mut)
            .ok_or_else(|| AwsError::internal("stored policy has no Statement list"))?;
        if statements.iter().any(|s| s.get("Sid").and_then(Value::as_str) == Some(&label)) {
            return Err(invalid_value("Label", &label, "Already exists."));
        }
        let principals: Vec<String> = input.account_ids.iter().map(|a| format!("arn:aws:iam::{a}:root")).collect();
        let actions: Vec<String> = input.actions.iter().map(|a| format!("SQS:{a}")).collect();
        statements.push(json!({
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": if principals.len() == 1 { json!(principals[0]) } else { json!(principals) }},
            "Action": if actions.len() == 1 { json!(actions[0]) } else { json!(actions) },
            "Resource": q.arn(),
        }));
        q.attributes.insert("Policy".into(), policy.to_string());
        Ok(())
    })
    .await
}

pub(crate) async fn remove_permission(
    i: &Inner,
    ctx: &RequestContext,
    input: RemovePermissionInput,
) -> Result<(), AwsError> {
    let label = input.label.clone();
    update(i, ctx, input.queue_url, move |q| {
        let not_found = || invalid_value("Label", &label, "can't find label on existing policy.");
        let mut policy: Value =
            q.attributes.get("Policy").and_then(|p| serde_json::from_str(p).ok()).ok_or_else(not_found)?;
        let statements = policy.get_mut("Statement").and_then(Value::as_array_mut).ok_or_else(not_found)?;
        let before = statements.len();
        statements.retain(|s| s.get("Sid").and_then(Value::as_str) != Some(&label));
        if statements.len() == before {
            return Err(not_found());
        }
        if statements.is_empty() {
            q.attributes.remove("Policy");
        } else {
            q.attributes.insert("Policy".into(), policy.to_string());
        }
        Ok(())
    })
    .await
}

pub(crate) async fn list_dead_letter_sources(
    i: &Inner,
    ctx: &RequestContext,
    input: ListDeadLetterSourceQueuesInput,
) -> Result<ListDeadLetterSourceQueuesOutput, AwsError> {
    let limit = max_results(input.max_results)?;
    let after = input.next_token.as_deref().map(decode_token).transpose()?;
    let ctx2 = ctx.clone();
    let sources = i
        .read(move |r| {
            let dlq = resolve(r, &ctx2, &input.queue_url)?;
            let arn = dlq.arn();
            let mut names = Vec::new();
            for (_, v) in scan_prefix(r, &keys::queues(&dlq.account, &dlq.region), usize::MAX)? {
                let Ok(q) = serde_json::from_slice::<QueueRecord>(&v) else { continue };
                if q.redrive().is_some_and(|(target, _)| target == arn)
                    && after.as_ref().is_none_or(|a| q.name.as_str() > a.as_str())
                {
                    names.push((q.account, q.name));
                }
            }
            Ok::<_, AwsError>(names)
        })
        .await?;
    let cap = limit.unwrap_or(1000);
    let more = sources.len() > cap;
    let page = &sources[..sources.len().min(cap)];
    Ok(ListDeadLetterSourceQueuesOutput {
        queue_urls: page.iter().map(|(a, n)| queue_url(ctx, a, n)).collect(),
        next_token: if more && limit.is_some() { page.last().map(|(_, n)| encode_token(n)) } else { None },
    })
}
