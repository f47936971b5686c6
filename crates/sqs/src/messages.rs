//! Message operations: send, receive (with long polling), delete, change visibility, and their
//! batch forms.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use stratus_core::{IdSource, RequestContext};
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, SequenceBlocks, Txn, next_sequence, scan_prefix};

use crate::errors::{invalid_parameter, invalid_value, missing_parameter, not_for_queue_type, receipt_handle_invalid};
use crate::message::{
    StoredMessage, decode_receipt, decode_stored, encode_receipt, encode_stored, first_invalid_char, md5_hex,
    md5_of_attributes, message_size, validate_attributes, validate_system_attributes,
};
use crate::queue::QueueRecord;
use crate::queues::{load_arn, resolve};
use crate::types::*;
use crate::{Inner, groups, keys};

const DEDUP_WINDOW_MS: u64 = 5 * 60 * 1000;
const MAX_VISIBILITY_SECS: u64 = 43_200;
const MAX_BATCH: usize = 10;

/// Checks everything about a message that does not depend on other messages.
fn check_message(q: &QueueRecord, m: &SendMessageInput) -> Result<(), AwsError> {
    if m.message_body.is_empty() {
        return Err(missing_parameter("MessageBody"));
    }
    if let Some(c) = first_invalid_char(&m.message_body) {
        return Err(AwsError::new(
            "InvalidMessageContents",
            format!(
                "Invalid binary character '#x{:X}' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
                c as u32
            ),
        ));
    }
    validate_attributes(&m.message_attributes)?;
    validate_system_attributes(&m.message_system_attributes)?;
    let size = message_size(&m.message_body, &m.message_attributes);
    let max = q.max_message_size();
    if size as u64 > max {
        return Err(invalid_parameter(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {max} bytes."
        )));
    }
    if let Some(d) = m.delay_seconds {
        if q.is_fifo() && d != 0 {
            return Err(not_for_queue_type("DelaySeconds", d));
        }
        if !(0..=900).contains(&d) {
            return Err(invalid_value("DelaySeconds", d, "DelaySeconds must be >= 0 and <= 900."));
        }
    }
    if let Some(g) = &m.message_group_id {
        check_token("MessageGroupId", g)?;
    }
    if let Some(d) = &m.message_deduplication_id {
        if !q.is_fifo() {
            return Err(not_for_queue_type("MessageDeduplicationId", d));
        }
        check_token("MessageDeduplicationId", d)?;
    }
    if q.is_fifo() {
        if m.message_group_id.is_none() {
            return Err(missing_parameter("MessageGroupId"));
        }
        if m.message_deduplication_id.is_none() && !q.content_based_dedup() {
            return Err(invalid_parameter(
                "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
            ));
        }
    }
    Ok(())
}

/// Group and deduplication ids: 1–128 of the printable ASCII characters.
fn check_token(name: &str, v: &str) -> Result<(), AwsError> {
    if v.is_empty() || v.len() > 128 || !v.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(invalid_value(
            name,
            v,
            &format!("{name} can only include alphanumeric and punctuation characters. 1 to 128 in length."),
        ));
    }
    Ok(())
}

#[derive(serde::Serialize, serde::Deserialize)]
struct DedupEntry {
    message_id: String,
    seq_number: Option<String>,
    expires: u64,
}

fn fifo_sequence_number(seq: u64) -> String {
    format!("{}", 10_000_000_000_000_000_000u128 + u128::from(seq) * 1000)
}

/// Enqueues one checked message in a transaction. Returns the send result (for a FIFO
/// duplicate, the first message's id) and whether a new message was stored.
fn enqueue(
    t: &mut dyn Txn,
    q: &QueueRecord,
    m: SendMessageInput,
    sender: &str,
    now: u64,
    ids: &dyn IdSource,
    seqs: &SequenceBlocks,
) -> Result<(SendMessageOutput, bool), AwsError> {
    let md5_body = md5_hex(m.message_body.as_bytes());
    let md5_attrs = md5_of_attributes(&m.message_attributes);
    let md5_sys = md5_of_attributes(&m.message_system_attributes);
    let dedup_id = if q.is_fifo() {
        Some(m.message_deduplication_id.clone().unwrap_or_else(|| hex::encode(sha256(m.message_body.as_bytes()))))
    } else {
        None
    };
    if let Some(d) = &dedup_id {
        let scope = if q.dedup_per_group() {
            format!("{}\u{0}{d}", m.message_group_id.as_deref().unwrap_or_default())
        } else {
            d.clone()
        };
        let key = keys::dedup(q.id, &scope);
        if let Some(bytes) = t.get(&key)?
            && let Ok(entry) = serde_json::from_slice::<DedupEntry>(&bytes)
            && entry.expires > now
        {
            return Ok((
                SendMessageOutput {
                    md5_of_message_body: md5_body,
                    md5_of_message_attributes: md5_attrs,
                    md5_of_message_system_attributes: md5_sys,
                    message_id: entry.message_id,
                    sequence_number: entry.seq_number,
                },
                false,
            ));
        }
    }
    let seq = seqs.next(t, &keys::message_sequence(q.id))?;
    let delay = m.delay_seconds.map(|d| d as u64).unwrap_or_else(|| q.delay_seconds());
    let visible_at = now + delay * 1000;
    let id = ids.uuid();
    let seq_number = q.is_fifo().then(|| fifo_sequence_number(seq));
    let stored = StoredMessage {
        id: id.clone(),
        body: m.message_body,
        md5_body: md5_body.clone(),
        attrs: m.message_attributes,
        sys_attrs: m.message_system_attributes,
        sent: now,
        sender: sender.to_string(),
        first_receive: None,
        receive_count: 0,
        received_at: None,
        visible_at,
        receipt: 0,
        group: m.message_group_id.clone(),
        dedup: dedup_id.clone(),
        seq_number: seq_number.clone(),
        dlq_source: None,
    };
    t.put(&keys::message(q.id, seq), &encode_stored(&stored)?)?;
    t.put(&keys::visible(q.id, visible_at, seq), &[0])?;
    groups::added(t, q, stored.group.as_deref(), seq, visible_at)?;
    if let Some(d) = dedup_id {
        let scope = if q.dedup_per_group() {
            format!("{}\u{0}{d}", m.message_group_id.as_deref().unwrap_or_default())
        } else {
            d
        };
        let entry =
            DedupEntry { message_id: id.clone(), seq_number: seq_number.clone(), expires: now + DEDUP_WINDOW_MS };
        t.put(&keys::dedup(q.id, &scope), &serde_json::to_vec(&entry).map_err(|e| AwsError::internal(e.to_string()))?)?;
    }
    Ok((
        SendMessageOutput {
            md5_of_message_body: md5_body,
            md5_of_message_attributes: md5_attrs,
            md5_of_message_system_attributes: md5_sys,
            message_id: id,
            sequence_number: seq_number,
        },
        true,
    ))
}

/// Content-based deduplication ids are the SHA-256 of the body.
fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

pub(crate) async fn send(
    i: &Inner,
    ctx: &RequestContext,
    input: SendMessageInput,
) -> Result<SendMessageOutput, AwsError> {
    let ctx2 = ctx.clone();
    let now = i.now();
    let ids = i.env.ids.clone();
    let seqs = Arc::clone(&i.seqs);
    let sender = sender_id(ctx);
    let (out, qid) = i
        .store
        .write(move |t| {
            let q = resolve(t, &ctx2, &input.queue_url)?;
            check_message(&q, &input)?;
            let (out, _) = enqueue(t, &q, input, &sender, now, ids.as_ref(), &seqs)?;
            Ok::<_, AwsError>((out, q.id))
        })
        .await?;
    i.wake(qid);
    Ok(out)
}

fn sender_id(ctx: &RequestContext) -> String {
    ctx.access_key.clone().unwrap_or_else(|| ctx.account.clone())
}

/// Batch entry ids: 1–80 of `[A-Za-z0-9_-]`, distinct. `kind` names the entry type in the
/// error for an empty batch (`SendMessageBatchRequestEntry`).
fn check_batch_ids<'a>(ids: impl Iterator<Item = &'a str>, count: usize, kind: &str) -> Result<(), AwsError> {
    if count == 0 {
        return Err(AwsError::new("EmptyBatchRequest", format!("There should be at least one {kind} in the request.")));
    }
    if count > MAX_BATCH {
        return Err(AwsError::new(
            "TooManyEntriesInBatchRequest",
            format!("Maximum number of entries per request are {MAX_BATCH}. You have sent {count}."),
        ));
    }
    let mut seen = HashSet::new();
    for id in ids {
        if id.is_empty() || id.len() > 80 || !id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
            return Err(AwsError::new(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
        if !seen.insert(id) {
            return Err(AwsError::new("BatchEntryIdsNotDistinct", format!("Id {id} repeated.")));
        }
    }
    Ok(())
}

fn entry_id(v: &Value) -> &str {
    v.get("Id").and_then(Value::as_str).unwrap_or_default()
}

fn failure(id: &str, e: &AwsError) -> BatchResultErrorEntry {
    BatchResultErrorEntry {
        id: id.to_string(),
        sender_fault: e.status.is_none_or(|s| s < 500),
        code: e.code.clone(),
        message: e.message.clone(),
    }
}

pub(crate) async fn send_batch(
    i: &Inner,
    ctx: &RequestContext,
    input: SendMessageBatchInput,
) -> Result<BatchOutput<SendMessageBatchResultEntry>, AwsError> {
    check_batch_ids(input.entries.iter().map(entry_id), input.entries.len(), "SendMessageBatchRequestEntry")?;
    let ctx2 = ctx.clone();
    let now = i.now();
    let ids = i.env.ids.clone();
    let seqs = Arc::clone(&i.seqs);
    let sender = sender_id(ctx);
    let entries = input.entries;
    let (out, qid) = i
        .store
        .write(move |t| {
            let q = resolve(t, &ctx2, &input.queue_url)?;
            let mut total = 0usize;
            let mut parsed = Vec::with_capacity(entries.len());
            for e in entries {
                let id = entry_id(&e).to_string();
                let entry = serde_json::from_value::<SendMessageBatchEntry>(e)
                    .map_err(|err| invalid_parameter(format!("Invalid batch entry {id}: {err}")));
                if let Ok(en) = &entry {
                    total += message_size(&en.message.message_body, &en.message.message_attributes);
                }
                parsed.push((id, entry));
            }
            if q.is_fifo()
                && parsed.iter().any(|(_, e)| e.as_ref().is_ok_and(|en| en.message.message_group_id.is_none()))
            {
                return Err(invalid_parameter("The request must contain the parameter MessageGroupId."));
            }
            if q.is_fifo()
                && !q.content_based_dedup()
                && parsed
                    .iter()
                    .any(|(_, e)| e.as_ref().is_ok_and(|en| en.message.message_deduplication_id.is_none()))
            {
                return Err(invalid_parameter(
                    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                ));
            }
            // The batch as a whole may carry 1 MiB whatever the queue's MaximumMessageSize;
            // an entry over that is refused alone (below).
            let max = crate::queue::MAX_MESSAGE_SIZE;
            if total as u64 > max {
                return Err(AwsError::new(
                    "BatchRequestTooLong",
                    format!("Batch requests cannot be longer than {max} bytes. You have sent {total} bytes."),
                ));
            }
            let mut result = BatchOutput { successful: Vec::new(), failed: Vec::new() };
            for (id, entry) in parsed {
                let outcome = entry.and_then(|en| {
                    check_message(&q, &en.message)?;
                    enqueue(t, &q, en.message, &sender, now, ids.as_ref(), &seqs)
                });
                match outcome {
                    Ok((r, _)) => result.successful.push(SendMessageBatchResultEntry { id, result: r }),
                    Err(e) => result.failed.push(failure(&id, &e)),
                }
            }
            Ok::<_, AwsError>((result, q.id))
        })
        .await?;
    i.wake(qid);
    Ok(out)
}

/// Messages taken, when the next one becomes visible, and dead-letter queues to wake.
type Taken = (Vec<Message>, Option<u64>, Vec<u64>);

/// Batch entries by id, each parsed or not.
type Entries = Vec<(String, Result<ReceiptEntry, AwsError>)>;

/// What a receive asks for.
struct ReceiveSpec {
    max: usize,
    /// The request's visibility timeout; the queue's when it gives none.
    visibility_ms: Option<u64>,
    system_names: Vec<String>,
    attribute_names: Vec<String>,
    /// FIFO `ReceiveRequestAttemptId`: a retried receive gets the same messages back.
    attempt: Option<String>,
}

/// What a FIFO receive with a `ReceiveRequestAttemptId` handed out, for its retries.
#[derive(serde::Serialize, serde::Deserialize)]
struct Attempt {
    expires: u64,
    /// (sequence, receive number, receipt handle) of each message returned.
    messages: Vec<(u64, u32, String)>,
}

/// How long a receive attempt id can be retried.
const ATTEMPT_WINDOW_MS: u64 = 5 * 60 * 1000;

/// The messages of an earlier attempt that are still in flight under that attempt's receipt.
fn replay_attempt(
    t: &mut dyn Txn,
    q: &QueueRecord,
    spec: &ReceiveSpec,
    now: u64,
) -> Result<Option<Vec<Message>>, AwsError> {
    let Some(id) = spec.attempt.as_deref() else { return Ok(None) };
    let Some(bytes) = t.get(&keys::attempt(q.id, id))? else { return Ok(None) };
    let Ok(attempt) = serde_json::from_slice::<Attempt>(&bytes) else { return Ok(None) };
    if attempt.expires <= now {
        t.delete(&keys::attempt(q.id, id))?;
        return Ok(None);
    }
    let mut out = Vec::new();
    for (seq, receipt, handle) in attempt.messages {
        if let Some(v) = t.get(&keys::message(q.id, seq))? {
            let m = decode_stored(&v)?;
            if m.receipt == receipt && m.visible_at > now {
                out.push(render_with(&m, spec, handle));
            }
        }
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

/// Takes up to `spec.max` available messages, making them invisible. Expired messages are
/// dropped and messages past the redrive limit moved to the dead-letter queue on the way.
/// Also returns when the next invisible message becomes visible, for the long poll's sleep.
fn take_messages(
    t: &mut dyn Txn,
    q: &QueueRecord,
    spec: &ReceiveSpec,
    now: u64,
    ids: &dyn IdSource,
) -> Result<Taken, AwsError> {
    let retention_ms = q.retention_seconds() * 1000;
    let redrive = q.redrive();
    let mut dlq: Option<QueueRecord> = None;
    let mut woken = Vec::new();
    if let Some((arn, _)) = &redrive {
        dlq = load_arn(t, arn)?;
    }
    if q.is_fifo()
        && let Some(replayed) = replay_attempt(t, q, spec, now)?
    {
        return Ok((replayed, None, Vec::new()));
    }
    let mut out = Vec::with_capacity(spec.max);
    let mut handed = Vec::new();
    if q.is_fifo() && q.indexed {
        let mut next_visible = None;
        let available = fifo_available(t, q, spec, now, &redrive, dlq.as_ref(), &mut woken, &mut next_visible)?;
        hand_out(t, q, spec, now, ids, available, &mut handed, &mut out)?;
        record_attempt(t, q, spec, now, handed)?;
        return Ok((out, next_visible, woken));
    }
    // Candidates: standard queues by visibility time; FIFO queues strictly in send order.
    let candidates: Vec<(u64, Vec<u8>)> = if q.is_fifo() {
        scan_prefix(t, &keys::messages(q.id), 20_000)?
            .into_iter()
            .filter_map(|(k, v)| Some((keys::message_seq(&k)?, v)))
            .collect()
    } else {
        let start = keys::visibility(q.id);
        let end = keys::visible(q.id, now + 1, 0);
        let mut seqs = Vec::new();
        for (k, _) in t.scan(&start, Some(&end), spec.max * 4 + 64)? {
            if let Some((_, seq)) = keys::parse_visible(&k) {
                seqs.push(seq);
            }
        }
        let mut rows = Vec::with_capacity(seqs.len());
        for seq in seqs {
            if let Some(v) = t.get(&keys::message(q.id, seq))? {
                rows.push((seq, v));
            }
        }
        rows
    };
    let mut blocked_groups: HashSet<String> = HashSet::new();
    let mut next_visible: Option<u64> = None;
    // Available messages in order; FIFO queues hand them out group by group (as many of one
    // group as possible, then the next group), each group in send order.
    let mut available: Vec<(u64, StoredMessage)> = Vec::new();
    for (seq, bytes) in candidates {
        if !q.is_fifo() && available.len() >= spec.max {
            break;
        }
        let m = decode_stored(&bytes)?;
        if m.sent + retention_ms <= now {
            remove(t, q.id, seq, &m)?;
            continue;
        }
        if m.visible_at > now {
            next_visible = Some(next_visible.map_or(m.visible_at, |n| n.min(m.visible_at)));
            if let Some(g) = &m.group {
                blocked_groups.insert(g.clone());
            }
            continue;
        }
        if q.is_fifo() && m.group.as_ref().is_some_and(|g| blocked_groups.contains(g)) {
            continue;
        }
        if let (Some((_, max_receives)), Some(dlq)) = (&redrive, &dlq)
            && m.receive_count >= *max_receives
        {
            remove(t, q.id, seq, &m)?;
            move_to(t, dlq, m, Some(q.arn()), now)?;
            woken.push(dlq.id);
            continue;
        }
        available.push((seq, m));
    }
    if q.is_fifo() {
        let mut order: Vec<String> = Vec::new();
        for (_, m) in &available {
            let g = m.group.clone().unwrap_or_default();
            if !order.contains(&g) {
                order.push(g);
            }
        }
        let rank = |m: &StoredMessage| order.iter().position(|g| Some(g) == m.group.as_ref()).unwrap_or(0);
        available.sort_by_key(|(seq, m)| (rank(m), *seq));
    }
    hand_out(t, q, spec, now, ids, available, &mut handed, &mut out)?;
    if next_visible.is_none() && !q.is_fifo() {
        // The earliest invisible message, for the long poll to wake at.
        let start = keys::visible(q.id, now + 1, 0);
        let end = stratus_storage::prefix_end(&keys::visibility(q.id));
        if let Some((k, _)) = t.scan(&start, end.as_deref(), 1)?.into_iter().next() {
            next_visible = keys::parse_visible(&k).map(|(at, _)| at);
        }
    }
    record_attempt(t, q, spec, now, handed)?;
    Ok((out, next_visible, woken))
}

/// Makes the chosen messages invisible for the receive's visibility timeout and renders them.
#[allow(clippy::too_many_arguments)]
fn hand_out(
    t: &mut dyn Txn,
    q: &QueueRecord,
    spec: &ReceiveSpec,
    now: u64,
    ids: &dyn IdSource,
    available: Vec<(u64, StoredMessage)>,
    handed: &mut Vec<(u64, u32, String)>,
    out: &mut Vec<Message>,
) -> Result<(), AwsError> {
    for (seq, mut m) in available.into_iter().take(spec.max) {
        t.delete(&keys::visible(q.id, m.visible_at, seq))?;
        m.receive_count += 1;
        m.receipt = m.receipt.wrapping_add(1);
        m.first_receive.get_or_insert(now);
        m.received_at = Some(now);
        m.visible_at = now + spec.visibility_ms.unwrap_or_else(|| q.visibility_timeout() * 1000);
        t.put(&keys::visible(q.id, m.visible_at, seq), &[1])?;
        t.put(&keys::message(q.id, seq), &encode_stored(&m)?)?;
        if q.is_fifo() {
            groups::moved(t, q.id, seq, m.visible_at)?;
        }
        let handle = encode_receipt(q.id, seq, m.receipt, ids.random_bytes());
        handed.push((seq, m.receipt, handle.clone()));
        out.push(render_with(&m, spec, handle));
    }
    Ok(())
}

/// Remembers what a FIFO receive with a `ReceiveRequestAttemptId` handed out, for its retries.
fn record_attempt(
    t: &mut dyn Txn,
    q: &QueueRecord,
    spec: &ReceiveSpec,
    now: u64,
    handed: Vec<(u64, u32, String)>,
) -> Result<(), AwsError> {
    if q.is_fifo()
        && let Some(id) = spec.attempt.as_deref()
        && !handed.is_empty()
    {
        let record = Attempt { expires: now + ATTEMPT_WINDOW_MS, messages: handed };
        t.put(&keys::attempt(q.id, id), &serde_json::to_vec(&record).map_err(|e| AwsError::internal(e.to_string()))?)?;
    }
    Ok(())
}

/// The messages a FIFO receive may take, from the group heads: groups in the order of their
/// oldest message, as many of one group as the receive takes, then the next group. A group
/// whose oldest message is in flight (or delayed) is skipped whole. Expired messages are
/// dropped and those past the redrive limit dead-lettered on the way. Reads the heads it
/// skips and the messages it takes, not the backlog.
#[allow(clippy::too_many_arguments)]
fn fifo_available(
    t: &mut dyn Txn,
    q: &QueueRecord,
    spec: &ReceiveSpec,
    now: u64,
    redrive: &Option<(String, u32)>,
    dlq: Option<&QueueRecord>,
    woken: &mut Vec<u64>,
    next_visible: &mut Option<u64>,
) -> Result<Vec<(u64, StoredMessage)>, AwsError> {
    let retention_ms = q.retention_seconds() * 1000;
    let mut available: Vec<(u64, StoredMessage)> = Vec::with_capacity(spec.max);
    // Removing a group's head gives it a new, later head: visit each group once.
    let mut visited: HashSet<String> = HashSet::new();
    let mut after = None;
    'groups: while available.len() < spec.max {
        let heads = groups::heads(t, q.id, after, 64)?;
        if heads.is_empty() {
            break;
        }
        for head in heads {
            after = Some(head.seq);
            if head.visible_at > now {
                // The group's oldest message is in flight (or delayed): the group waits.
                *next_visible = Some(next_visible.map_or(head.visible_at, |n| n.min(head.visible_at)));
                continue;
            }
            let group = head.group;
            if !visited.insert(group.clone()) {
                continue;
            }
            // The group's messages page by page: messages that expire or are dead-lettered on
            // the way do not end the group early.
            let mut from = None;
            'group: loop {
                let want = spec.max - available.len() + 8;
                let seqs = groups::group_seqs(t, q.id, &group, from, want)?;
                let page_full = seqs.len() == want;
                for seq in seqs {
                    from = Some(seq);
                    let Some(bytes) = t.get(&keys::message(q.id, seq))? else { continue };
                    let m = decode_stored(&bytes)?;
                    if m.sent + retention_ms <= now {
                        remove(t, q.id, seq, &m)?;
                        continue;
                    }
                    if m.visible_at > now {
                        // In flight or delayed: the rest of the group waits behind it.
                        *next_visible = Some(next_visible.map_or(m.visible_at, |n| n.min(m.visible_at)));
                        break 'group;
                    }
                    if let (Some((_, max_receives)), Some(dlq)) = (redrive, dlq)
                        && m.receive_count >= *max_receives
                    {
                        remove(t, q.id, seq, &m)?;
                        move_to(t, dlq, m, Some(q.arn()), now)?;
                        woken.push(dlq.id);
                        continue;
                    }
                    available.push((seq, m));
                    if available.len() >= spec.max {
                        break 'groups;
                    }
                }
                if !page_full {
                    break;
                }
            }
        }
    }
    Ok(available)
}

fn remove(t: &mut dyn Txn, queue_id: u64, seq: u64, m: &StoredMessage) -> Result<(), AwsError> {
    t.delete(&keys::message(queue_id, seq))?;
    t.delete(&keys::visible(queue_id, m.visible_at, seq))?;
    groups::removed(t, queue_id, m.group.as_deref(), seq)
}

/// Stores `m` in queue `dest` as a new, never-received message (dead-lettering and move tasks).
pub(crate) fn move_to(
    t: &mut dyn Txn,
    dest: &QueueRecord,
    mut m: StoredMessage,
    source_arn: Option<String>,
    now: u64,
) -> Result<(), AwsError> {
    let seq = next_sequence(t, &keys::message_sequence(dest.id))?;
    m.receive_count = 0;
    m.receipt = 0;
    m.first_receive = None;
    m.received_at = None;
    m.visible_at = now;
    if source_arn.is_some() {
        m.dlq_source = source_arn;
    }
    if dest.is_fifo() {
        m.seq_number = Some(fifo_sequence_number(seq));
    }
    t.put(&keys::message(dest.id, seq), &encode_stored(&m)?)?;
    t.put(&keys::visible(dest.id, now, seq), &[0])?;
    groups::added(t, dest, m.group.as_deref(), seq, now)?;
    Ok(())
}

fn render_with(m: &StoredMessage, spec: &ReceiveSpec, receipt_handle: String) -> Message {
    let all_sys = spec.system_names.iter().any(|n| n == "All");
    let want = |n: &str| all_sys || spec.system_names.iter().any(|x| x == n);
    let mut attributes = BTreeMap::new();
    let mut put = |n: &str, v: Option<String>| {
        if want(n)
            && let Some(v) = v
        {
            attributes.insert(n.to_string(), v);
        }
    };
    put("SenderId", Some(m.sender.clone()));
    put("SentTimestamp", Some(m.sent.to_string()));
    put("ApproximateReceiveCount", Some(m.receive_count.to_string()));
    put("ApproximateFirstReceiveTimestamp", m.first_receive.map(|t| t.to_string()));
    put("SequenceNumber", m.seq_number.clone());
    put("MessageDeduplicationId", m.dedup.clone());
    put("MessageGroupId", m.group.clone());
    put("AWSTraceHeader", m.sys_attrs.get("AWSTraceHeader").and_then(|v| v.string_value.clone()));
    put("DeadLetterQueueSourceArn", m.dlq_source.clone());
    let message_attributes: MessageAttributes = m
        .attrs
        .iter()
        .filter(|(name, _)| {
            spec.attribute_names.iter().any(|p| {
                p == "All" || p == ".*" || p == *name || p.strip_suffix(".*").is_some_and(|pre| name.starts_with(pre))
            })
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Message {
        message_id: m.id.clone(),
        receipt_handle,
        md5_of_body: m.md5_body.clone(),
        body: m.body.clone(),
        attributes,
        md5_of_message_attributes: md5_of_attributes(&message_attributes),
        message_attributes,
    }
}

pub(crate) async fn receive(
    i: &Inner,
    ctx: &RequestContext,
    input: ReceiveMessageInput,
) -> Result<ReceiveMessageOutput, AwsError> {
    let max = input.max_number_of_messages.unwrap_or(1);
    if !(1..=10).contains(&max) {
        return Err(invalid_value("MaxNumberOfMessages", max, "Must be between 1 and 10, if provided."));
    }
    if let Some(w) = input.wait_time_seconds
        && !(0..=20).contains(&w)
    {
        return Err(invalid_value("WaitTimeSeconds", w, "Must be >= 0 and <= 20, if provided."));
    }
    if let Some(v) = input.visibility_timeout
        && !(0..=MAX_VISIBILITY_SECS as i64).contains(&v)
    {
        return Err(invalid_value("VisibilityTimeout", v, "Must be >= 0 and <= 43200, if provided."));
    }
    let mut system_names = input.attribute_names;
    system_names.extend(input.message_system_attribute_names);
    let url = input.queue_url;
    // The queue decides the defaults for visibility and wait, read in the receive's own
    // transaction (a read beforehand would cost a round trip of its own).
    let spec = Arc::new(ReceiveSpec {
        max: max as usize,
        visibility_ms: input.visibility_timeout.map(|v| v as u64 * 1000),
        system_names,
        attribute_names: input.message_attribute_names,
        attempt: input.receive_request_attempt_id,
    });
    let start = tokio::time::Instant::now();
    // Once the first attempt found nothing: the long poll's deadline and the queue's wake-up.
    let mut poll: Option<(tokio::time::Instant, Arc<tokio::sync::Notify>)> = None;
    loop {
        let waiter = poll.as_ref().map(|(_, w)| w.clone());
        let mut notified = waiter.as_ref().map(|w| Box::pin(w.notified()));
        if let Some(n) = notified.as_mut() {
            n.as_mut().enable();
        }
        let closing = i.closing_signal.notified();
        tokio::pin!(closing);
        closing.as_mut().enable();

        let (ctx2, url2, spec2, ids) = (ctx.clone(), url.clone(), spec.clone(), i.env.ids.clone());
        let now = i.now();
        let (messages, next_visible, woken, queue) = i
            .store
            .write(move |t| {
                let q = resolve(t, &ctx2, &url2)?;
                let (messages, next_visible, woken) = take_messages(t, &q, &spec2, now, ids.as_ref())?;
                Ok::<_, AwsError>((messages, next_visible, woken, (q.id, q.receive_wait_seconds())))
            })
            .await?;
        for id in woken {
            i.wake(id);
        }
        let deadline = match &poll {
            Some((d, _)) => *d,
            None => start + Duration::from_secs(input.wait_time_seconds.map(|w| w as u64).unwrap_or(queue.1)),
        };
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if !messages.is_empty() || left.is_zero() || i.closing() {
            return Ok(ReceiveMessageOutput { messages });
        }
        let Some(notified) = notified.as_mut() else {
            // The first empty answer of a long poll: from now on a send to the queue wakes it,
            // and the queue is looked at again so that no send in between is missed.
            poll = Some((deadline, i.waiter(queue.0)));
            continue;
        };
        let until_visible = next_visible.map(|at| Duration::from_millis(at.saturating_sub(i.now()) + 1));
        let sleep = until_visible.map_or(left, |v| v.min(left));
        tokio::select! {
            _ = notified => {}
            _ = &mut closing => {}
            _ = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Resolves a receipt handle against the queue: the message's sequence number, or the error
/// for a handle that is not one of this queue's.
fn receipt_for(q: &QueueRecord, handle: &str) -> Result<(u64, u32), AwsError> {
    match decode_receipt(handle) {
        Some(r) if r.queue_id == q.id => Ok((r.seq, r.receipt)),
        _ => Err(receipt_handle_invalid(handle)),
    }
}

/// Deletes the message a handle names. On a standard queue any handle of the message deletes
/// it, also one from an earlier receive (as SQS does, whatever its documentation warns).
fn delete_one(t: &mut dyn Txn, q: &QueueRecord, handle: &str, now: u64) -> Result<(), AwsError> {
    let (seq, receipt) = receipt_for(q, handle)?;
    if let Some(bytes) = t.get(&keys::message(q.id, seq))? {
        let m = decode_stored(&bytes)?;
        // FIFO queues refuse a handle whose visibility timeout has passed: the message may
        // already be on its way to another consumer, and order must hold.
        if q.is_fifo() && (m.receipt != receipt || m.visible_at <= now) {
            return Err(invalid_value("ReceiptHandle", handle, "The receipt handle has expired."));
        }
        if m.receipt >= receipt {
            remove(t, q.id, seq, &m)?;
        }
    }
    Ok(())
}

pub(crate) async fn delete(i: &Inner, ctx: &RequestContext, input: DeleteMessageInput) -> Result<(), AwsError> {
    let ctx2 = ctx.clone();
    let now = i.now();
    i.store
        .write(move |t| {
            let q = resolve(t, &ctx2, &input.queue_url)?;
            delete_one(t, &q, &input.receipt_handle, now)
        })
        .await
}

fn parse_entries(entries: Vec<Value>, kind: &str) -> Result<Entries, AwsError> {
    check_batch_ids(entries.iter().map(entry_id), entries.len(), kind)?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let id = entry_id(&e).to_string();
            let parsed = serde_json::from_value::<ReceiptEntry>(e)
                .map_err(|err| invalid_parameter(format!("Invalid batch entry {id}: {err}")));
            (id, parsed)
        })
        .collect())
}

/// What a receipt-handle batch does to one entry; `Ok(true)` when it made a message visible.
type ReceiptAction = fn(&mut dyn Txn, &QueueRecord, &ReceiptEntry, u64) -> Result<bool, AwsError>;

/// Runs `action` for each entry of a DeleteMessageBatch / ChangeMessageVisibilityBatch in one
/// transaction, collecting per-entry failures; wakes long polls if a message became visible.
async fn receipt_batch(
    i: &Inner,
    ctx: &RequestContext,
    input: BatchInput,
    kind: &str,
    action: ReceiptAction,
) -> Result<BatchOutput<IdEntry>, AwsError> {
    let entries = parse_entries(input.entries, kind)?;
    let ctx2 = ctx.clone();
    let now = i.now();
    let (out, qid, woke) = i
        .store
        .write(move |t| {
            let q = resolve(t, &ctx2, &input.queue_url)?;
            let mut out = BatchOutput { successful: Vec::new(), failed: Vec::new() };
            let mut woke = false;
            for (id, e) in entries {
                match e.and_then(|e| action(t, &q, &e, now)) {
                    Ok(visible) => {
                        woke |= visible;
                        out.successful.push(IdEntry { id });
                    }
                    Err(err) => out.failed.push(failure(&id, &err)),
                }
            }
            Ok::<_, AwsError>((out, q.id, woke))
        })
        .await?;
    if woke {
        i.wake(qid);
    }
    Ok(out)
}

pub(crate) async fn delete_batch(
    i: &Inner,
    ctx: &RequestContext,
    input: BatchInput,
) -> Result<BatchOutput<IdEntry>, AwsError> {
    receipt_batch(i, ctx, input, "DeleteMessageBatchRequestEntry", |t, q, e, now| {
        delete_one(t, q, &e.receipt_handle, now).map(|()| false)
    })
    .await
}

fn change_one(t: &mut dyn Txn, q: &QueueRecord, handle: &str, timeout: i64, now: u64) -> Result<bool, AwsError> {
    if !(0..=MAX_VISIBILITY_SECS as i64).contains(&timeout) {
        return Err(invalid_value(
            "VisibilityTimeout",
            timeout,
            "VisibilityTimeout must be an integer between 0 and 43200",
        ));
    }
    let (seq, receipt) = receipt_for(q, handle)?;
    let Some(bytes) = t.get(&keys::message(q.id, seq))? else {
        return Err(invalid_value(
            "ReceiptHandle",
            handle,
            "Message does not exist or is not available for visibility timeout change.",
        ));
    };
    let mut m = decode_stored(&bytes)?;
    // A standard queue takes any handle of a received message, also one whose visibility
    // expired or that a later receive superseded; a FIFO queue only its current one.
    let current = m.receipt == receipt && m.visible_at > now;
    if m.receive_count == 0 || m.receipt < receipt || (q.is_fifo() && !current) {
        return Err(AwsError::new(
            "MessageNotInflight",
            format!("Value {handle} for parameter ReceiptHandle is invalid. Reason: Message is not in flight."),
        ));
    }
    let received = m.received_at.unwrap_or(now);
    let new_visible = now + timeout as u64 * 1000;
    if new_visible > received + MAX_VISIBILITY_SECS * 1000 {
        return Err(invalid_value(
            "VisibilityTimeout",
            timeout,
            "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]",
        ));
    }
    t.delete(&keys::visible(q.id, m.visible_at, seq))?;
    m.visible_at = new_visible;
    t.put(&keys::visible(q.id, new_visible, seq), &[1])?;
    t.put(&keys::message(q.id, seq), &encode_stored(&m)?)?;
    if q.is_fifo() {
        groups::moved(t, q.id, seq, new_visible)?;
    }
    Ok(timeout == 0)
}

pub(crate) async fn change_visibility(
    i: &Inner,
    ctx: &RequestContext,
    input: ChangeMessageVisibilityInput,
) -> Result<(), AwsError> {
    let ctx2 = ctx.clone();
    let now = i.now();
    let (visible_now, qid) = i
        .store
        .write(move |t| {
            let q = resolve(t, &ctx2, &input.queue_url)?;
            Ok::<_, AwsError>((change_one(t, &q, &input.receipt_handle, input.visibility_timeout, now)?, q.id))
        })
        .await?;
    if visible_now {
        i.wake(qid);
    }
    Ok(())
}

pub(crate) async fn change_visibility_batch(
    i: &Inner,
    ctx: &RequestContext,
    input: BatchInput,
) -> Result<BatchOutput<IdEntry>, AwsError> {
    receipt_batch(i, ctx, input, "ChangeMessageVisibilityBatchRequestEntry", |t, q, e, now| {
        let timeout = e.visibility_timeout.ok_or_else(|| missing_parameter("VisibilityTimeout"))?;
        change_one(t, q, &e.receipt_handle, timeout, now)
    })
    .await
}

/// Reads messages of a queue without changing them (for move tasks).
pub(crate) fn visible_messages(
    r: &mut dyn ReadTxn,
    q: &QueueRecord,
    now: u64,
    limit: usize,
) -> Result<Vec<(u64, StoredMessage)>, AwsError> {
    let start = keys::visibility(q.id);
    let end = keys::visible(q.id, now + 1, 0);
    let mut out = Vec::new();
    for (k, _) in r.scan(&start, Some(&end), limit)? {
        let Some((_, seq)) = keys::parse_visible(&k) else { continue };
        if let Some(bytes) = r.get(&keys::message(q.id, seq))? {
            out.push((seq, decode_stored(&bytes)?));
        }
    }
    Ok(out)
}

pub(crate) fn remove_message(t: &mut dyn Txn, queue_id: u64, seq: u64, m: &StoredMessage) -> Result<(), AwsError> {
    remove(t, queue_id, seq, m)
}
