//! Log stream operations: create, delete, describe.

use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{Txn, next_sequence, prefix_end, scan_prefix};

use crate::errors::{invalid_parameter, stream_exists, stream_not_found};
use crate::group::{
    GroupRecord, GroupRef, StreamRecord, decode_stream, load_stream, save_stream, validate_stream_name,
};
use crate::tokens::{decode_list_token, encode_list_token};
use crate::types::*;
use crate::{Inner, keys};

const DESCRIBE_LIMIT: usize = 50;

pub(crate) fn new_stream(t: &mut dyn Txn, name: &str, now: u64) -> Result<StreamRecord, AwsError> {
    Ok(StreamRecord {
        id: next_sequence(t, keys::STREAM_IDS)?,
        name: name.to_string(),
        created: now,
        first_event: None,
        last_event: None,
        last_ingestion: None,
        uploads: 0,
        stored_bytes: 0,
    })
}

pub(crate) async fn create(i: &Inner, ctx: &RequestContext, input: StreamInput) -> Result<(), AwsError> {
    validate_stream_name("logStreamName", &input.log_stream_name)?;
    let group = GroupRef::named(ctx, &input.log_group_name);
    let name = input.log_stream_name;
    let now = i.now();
    i.store
        .write(move |t| {
            let g = group.load(t)?;
            if load_stream(t, g.id, &name)?.is_some() {
                return Err(stream_exists());
            }
            let s = new_stream(t, &name, now)?;
            save_stream(t, g.id, &s)
        })
        .await
}

pub(crate) async fn delete(i: &Inner, ctx: &RequestContext, input: StreamInput) -> Result<(), AwsError> {
    let group = GroupRef::named(ctx, &input.log_group_name);
    let name = input.log_stream_name;
    i.store
        .write(move |t| {
            let mut g = group.load(t)?;
            let s = load_stream(t, g.id, &name)?.ok_or_else(stream_not_found)?;
            t.delete(&keys::stream(g.id, &name))?;
            let prefix = keys::stream_events(g.id, s.id);
            let end = prefix_end(&prefix);
            t.delete_range(&prefix, end.as_deref())?;
            g.stored_bytes = g.stored_bytes.saturating_sub(s.stored_bytes);
            crate::group::save_group(t, &g)
        })
        .await
}

fn stream_output(g: &GroupRecord, s: &StreamRecord) -> LogStreamOutput {
    LogStreamOutput {
        log_stream_name: s.name.clone(),
        creation_time: s.created,
        first_event_timestamp: s.first_event,
        last_event_timestamp: s.last_event,
        last_ingestion_time: s.last_ingestion,
        upload_sequence_token: s.upload_sequence_token(),
        arn: g.stream_arn(&s.name),
        // Deprecated for streams: AWS reports zero.
        stored_bytes: 0,
    }
}

/// The sort key of a stream for an order: names sort as they are; last event times are
/// zero-padded so that the string order is the numeric order (streams without events first).
fn sort_key(s: &StreamRecord, by_time: bool) -> String {
    if by_time { format!("{:020}\u{0}{}", s.last_event.unwrap_or(0), s.name) } else { s.name.clone() }
}

pub(crate) async fn describe(
    i: &Inner,
    ctx: &RequestContext,
    input: DescribeLogStreamsInput,
) -> Result<DescribeLogStreamsOutput, AwsError> {
    let group = GroupRef::resolve(ctx, input.log_group_name.as_deref(), input.log_group_identifier.as_deref())?;
    let by_time = input.order_by.as_deref() == Some("LastEventTime");
    if by_time && input.log_stream_name_prefix.is_some() {
        return Err(invalid_parameter("Cannot order by LastEventTime with a logStreamNamePrefix."));
    }
    let descending = input.descending.unwrap_or(false);
    let limit = input.limit.map_or(DESCRIBE_LIMIT, |l| l.clamp(1, DESCRIBE_LIMIT as i64) as usize);
    let kind = if by_time { "streams-time" } else { "streams-name" };
    let after = input.next_token.as_deref().map(|t| decode_list_token(kind, t)).transpose()?;
    let prefix = input.log_stream_name_prefix.unwrap_or_default();
    let (g, mut streams) = i
        .read(move |r| {
            let g = group.load(r)?;
            let mut base = keys::streams(g.id);
            base.extend_from_slice(prefix.as_bytes());
            let mut out = Vec::new();
            for (_, v) in scan_prefix(r, &base, usize::MAX)? {
                out.push(decode_stream(&v)?);
            }
            Ok::<_, AwsError>((g, out))
        })
        .await?;
    streams.sort_by_cached_key(|s| sort_key(s, by_time));
    if descending {
        streams.reverse();
    }
    if let Some(after) = &after {
        streams.retain(|s| {
            let k = sort_key(s, by_time);
            if descending { k < *after } else { k > *after }
        });
    }
    let more = streams.len() > limit;
    streams.truncate(limit);
    Ok(DescribeLogStreamsOutput {
        next_token: if more { streams.last().map(|s| encode_list_token(kind, &sort_key(s, by_time))) } else { None },
        log_streams: streams.iter().map(|s| stream_output(&g, s)).collect(),
    })
}
