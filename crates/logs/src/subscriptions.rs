//! Subscription filters: up to two per log group, each a filter pattern and a destination (a
//! Lambda function, or a Kinesis stream written as the filter's role). Every write of events (PutLogEvents and the service's own appends,
//! such as function output) checks the group's filters in the same transaction and pushes, per
//! filter with matching events, one outbox record (topic [`crate::SUBSCRIPTIONS_TOPIC`]) with
//! the payload AWS delivers: `{"awslogs": {"data": base64(gzip(JSON))}}`, the JSON being the
//! `DATA_MESSAGE` with the group, stream, filter name and the matching events. The binary's
//! trigger engine invokes the function asynchronously (its policy must let
//! `logs.amazonaws.com` in for the group), or puts the gzipped document into the stream as one
//! record (partition key: the log stream, or random with `Random` distribution).

use std::io::Write;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::Txn;

use crate::Inner;
use crate::errors::{invalid_filter_pattern, invalid_parameter};
use crate::group::{GroupRecord, GroupRef, save_group};
use crate::pattern::FilterPattern;

/// AWS's limit of subscription filters per log group.
const MAX_FILTERS: usize = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subscription {
    pub name: String,
    pub pattern: String,
    pub destination: String,
    #[serde(default)]
    pub role_arn: Option<String>,
    pub distribution: String,
    pub created: u64,
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn not_found() -> AwsError {
    AwsError::new("ResourceNotFoundException", "The specified subscription filter does not exist.").with_status(400)
}

pub async fn put(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "filterName").to_string();
    if name.is_empty() || name.len() > 512 || name.contains(':') || name.contains('*') {
        return Err(invalid_parameter("Invalid filterName"));
    }
    let pattern = s(&input, "filterPattern").to_string();
    FilterPattern::parse(&pattern).map_err(|e| invalid_filter_pattern(&e.0))?;
    let destination = s(&input, "destinationArn").to_string();
    let arn = stratus_core::Arn::parse(&destination)
        .ok_or_else(|| invalid_parameter(format!("Invalid destinationArn {destination}")))?;
    let kinesis = arn.service == "kinesis" && arn.resource.starts_with("stream/");
    let to_destination = arn.service == "logs";
    match arn.service {
        "lambda" if arn.resource.starts_with("function:") => {}
        _ if kinesis => {
            // Logs writes to a stream as the role it is given.
            if input.get("roleArn").and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(invalid_parameter("roleArn is required when the destination is a Kinesis stream."));
            }
        }
        "logs" if arn.resource.starts_with("destination:") => {}
        "firehose" | "logs" => {
            return Err(invalid_parameter(format!(
                "Subscription filters to {} are not served by this server: use a Lambda function, a Kinesis stream or a destination",
                arn.service
            )));
        }
        _ => return Err(invalid_parameter(format!("Invalid destinationArn {destination}"))),
    }
    if arn.region != ctx.region {
        return Err(invalid_parameter("The destination must be in the log group's region"));
    }
    let distribution = match s(&input, "distribution") {
        "" => "ByLogStream".to_string(),
        d @ ("Random" | "ByLogStream") => d.to_string(),
        other => return Err(invalid_parameter(format!("Invalid distribution {other}"))),
    };
    let sub = Subscription {
        name,
        pattern,
        destination,
        role_arn: input.get("roleArn").and_then(Value::as_str).map(str::to_string),
        distribution,
        created: i.now(),
    };
    let group = GroupRef::named(ctx, s(&input, "logGroupName"));
    let known = group.clone();
    let g = i.read(move |r| known.load(r)).await?;
    if to_destination {
        // A destination: it must exist, and let this account subscribe.
        let (d_arn, account) = (sub.destination.clone(), g.account.clone());
        let d = i
            .read(move |r| crate::destinations::load_arn(r, &d_arn))
            .await?
            .ok_or_else(|| AwsError::new("ResourceNotFoundException", "The specified destination does not exist."))?;
        if !crate::destinations::allows(&d, &account) {
            return Err(AwsError::new(
                "AccessDeniedException",
                format!(
                    "User with accountId: {account} is not authorized to perform: logs:PutSubscriptionFilter on resource: {}",
                    sub.destination
                ),
            ));
        }
    }
    let allowed = to_destination
        || match i.destinations.get() {
            Some(d) => d.allows(&sub.destination, &g.arn(), &g.account).await,
            None => false,
        };
    if !allowed && kinesis {
        return Err(invalid_parameter(
            "Could not deliver test message to specified Kinesis stream. Check if the given kinesis stream is in ACTIVE state.",
        ));
    }
    if !allowed {
        return Err(invalid_parameter(
            "Could not execute the lambda function. Make sure you have given CloudWatch Logs permission to execute your function.",
        ));
    }
    i.store
        .write(move |t| {
            let mut g = group.load(t)?;
            let full = g.subscriptions.len() >= MAX_FILTERS;
            match g.subscriptions.iter_mut().find(|x| x.name == sub.name) {
                Some(existing) => *existing = sub,
                None if full => {
                    return Err(AwsError::new("LimitExceededException", "Resource limit exceeded.").with_status(400));
                }
                None => g.subscriptions.push(sub),
            }
            save_group(t, &g)
        })
        .await?;
    Ok(json!({}))
}

fn shown(g: &GroupRecord, x: &Subscription) -> Value {
    let mut v = json!({
        "filterName": x.name,
        "logGroupName": g.name,
        "filterPattern": x.pattern,
        "destinationArn": x.destination,
        "distribution": x.distribution,
        "creationTime": x.created,
    });
    if let Some(r) = &x.role_arn {
        v["roleArn"] = json!(r);
    }
    v
}

pub async fn describe(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let group = GroupRef::named(ctx, s(&input, "logGroupName"));
    let g = i.read(move |r| group.load(r)).await?;
    let prefix = s(&input, "filterNamePrefix");
    let filters: Vec<Value> =
        g.subscriptions.iter().filter(|x| x.name.starts_with(prefix)).map(|x| shown(&g, x)).collect();
    Ok(json!({ "subscriptionFilters": filters }))
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let group = GroupRef::named(ctx, s(&input, "logGroupName"));
    let name = s(&input, "filterName").to_string();
    i.store
        .write(move |t| {
            let mut g = group.load(t)?;
            let before = g.subscriptions.len();
            g.subscriptions.retain(|x| x.name != name);
            if g.subscriptions.len() == before {
                return Err(not_found());
            }
            save_group(t, &g)
        })
        .await?;
    Ok(json!({}))
}

/// The outbox records for events just written to a stream of `g`: one per subscription filter
/// with matching events.
pub fn deliver(t: &mut dyn Txn, g: &GroupRecord, stream: &str, events: &[(String, u64, &str)]) -> Result<(), AwsError> {
    for sub in &g.subscriptions {
        let Ok(pattern) = FilterPattern::parse(&sub.pattern) else { continue };
        let matching: Vec<Value> = events
            .iter()
            .filter(|(_, _, m)| pattern.matches(m))
            .map(|(id, ts, m)| json!({"id": id, "timestamp": ts, "message": m}))
            .collect();
        if matching.is_empty() {
            continue;
        }
        let message = json!({
            "messageType": "DATA_MESSAGE",
            "owner": g.account,
            "logGroup": g.name,
            "logStream": stream,
            "subscriptionFilters": [sub.name],
            "logEvents": matching,
        });
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(message.to_string().as_bytes()).map_err(|e| AwsError::internal(e.to_string()))?;
        let zipped = gz.finish().map_err(|e| AwsError::internal(e.to_string()))?;
        let data = base64::engine::general_purpose::STANDARD.encode(zipped);
        // A destination delivers to its target stream (as it is now).
        let target = match crate::destinations::load_arn(t, &sub.destination)? {
            Some(d) => d["targetArn"].as_str().unwrap_or_default().to_string(),
            None if stratus_core::canonical_arn(&sub.destination).starts_with("arn:aws:logs:") => continue,
            None => sub.destination.clone(),
        };
        let record = if stratus_core::canonical_arn(&target).starts_with("arn:aws:kinesis:") {
            // A stream gets the gzipped document itself, keyed by the log stream (or at random).
            let key =
                if sub.distribution == "Random" { format!("{:016x}", rand_key(&data)) } else { stream.to_string() };
            json!({"destination": target, "event": data, "partition_key": key, "kinesis": true})
        } else {
            json!({
                "destination": sub.destination,
                "event": {"awslogs": {"data": data}},
                "principal": "logs.amazonaws.com",
                "source": g.arn(),
                "source_account": g.account,
            })
        };
        let bytes = serde_json::to_vec(&record).map_err(|e| AwsError::internal(e.to_string()))?;
        stratus_storage::outbox_push(t, crate::SUBSCRIPTIONS_TOPIC, &bytes)?;
    }
    Ok(())
}

/// A partition key for `Random` distribution: spread by the content.
fn rand_key(data: &str) -> u64 {
    data.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
