//! Enhanced fan-out consumers (Register/Deregister/Describe/ListStreamConsumers) and the
//! resource policies of streams and consumers (Put/Get/DeleteResourcePolicy).
//!
//! A consumer's ARN is `{stream ARN}/consumer/{name}:{creation time in seconds}`; it is
//! CREATING for a moment after registration, as on AWS.

use serde_json::{Value as Json, json};
use stratus_proto::AwsError;

use crate::Inner;
use crate::errors::{in_use, invalid_argument, limit_exceeded};
use crate::stream::{Consumer, StreamRecord, StreamRef, parse_arn};
use crate::streams::{consumer_not_found, read_stream, resource_ref, s, tag_map, update};

/// Consumers a stream may have.
const MAX_CONSUMERS: usize = 20;

fn render(st: &StreamRecord, c: &Consumer, now: u64) -> Json {
    json!({
        "ConsumerName": c.name,
        "ConsumerARN": st.consumer_arn(c),
        "ConsumerStatus": if now < c.ready_ms { "CREATING" } else { "ACTIVE" },
        "ConsumerCreationTimestamp": c.created_ms as f64 / 1000.0,
    })
}

fn stream_of(arn: &str) -> Result<StreamRef, AwsError> {
    let (account, region, name, tail) =
        parse_arn(arn).ok_or_else(|| invalid_argument(format!("Invalid StreamARN {arn}")))?;
    if tail.is_some() {
        return Err(invalid_argument(format!("Invalid StreamARN {arn}")));
    }
    Ok(StreamRef { account, region, name })
}

/// The stream and consumer name a request names: `ConsumerARN`, or `StreamARN` with
/// `ConsumerName`.
fn consumer_ref(input: &Json) -> Result<(StreamRef, String, Option<String>), AwsError> {
    if let Some(arn) = s(input, "ConsumerARN") {
        let (at, name) = resource_ref(arn)?;
        let name = name.ok_or_else(|| invalid_argument(format!("Invalid ConsumerARN {arn}")))?;
        return Ok((at, name, Some(arn.to_string())));
    }
    match (s(input, "StreamARN"), s(input, "ConsumerName")) {
        (Some(stream), Some(name)) => Ok((stream_of(stream)?, name.to_string(), None)),
        _ => Err(invalid_argument("Either ConsumerARN or both ConsumerName and StreamARN must be provided.")),
    }
}

/// The consumer, checking that an ARN's creation time matches the registered consumer's (a
/// consumer registered again under the same name has a new ARN).
fn find<'a>(st: &'a StreamRecord, name: &str, arn: Option<&str>) -> Result<&'a Consumer, AwsError> {
    st.consumers
        .iter()
        .find(|c| c.name == name && arn.is_none_or(|a| a == st.consumer_arn(c)))
        .ok_or_else(|| consumer_not_found(arn.unwrap_or(name)))
}

pub async fn register(i: &Inner, input: Json) -> Result<Json, AwsError> {
    let at = stream_of(s(&input, "StreamARN").unwrap_or_default())?;
    let name = s(&input, "ConsumerName").unwrap_or_default().to_string();
    let tags = tag_map(input.get("Tags"))?;
    let delay = i.settings.consumer_ms;
    let out = update(i, at, move |st, now| {
        if st.consumers.iter().any(|c| c.name == name) {
            return Err(in_use(format!(
                "Consumer {name} under stream {} already exists for account {}.",
                st.name, st.account
            )));
        }
        if st.consumers.len() >= MAX_CONSUMERS {
            return Err(limit_exceeded(format!(
                "Consumer limit of {MAX_CONSUMERS} has been reached for stream {} under account {}.",
                st.name, st.account
            )));
        }
        let c = Consumer { name, created_ms: now, ready_ms: now + delay, policy: None, tags };
        let out = render(st, &c, now);
        st.consumers.push(c);
        Ok(out)
    })
    .await?;
    Ok(json!({"Consumer": out}))
}

pub async fn deregister(i: &Inner, input: Json) -> Result<Json, AwsError> {
    let (at, name, arn) = consumer_ref(&input)?;
    update(i, at, move |st, _| {
        find(st, &name, arn.as_deref())?;
        st.consumers.retain(|c| c.name != name);
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub async fn describe(i: &Inner, input: Json) -> Result<Json, AwsError> {
    let (at, name, arn) = consumer_ref(&input)?;
    let st = read_stream(i, at).await?;
    let c = find(&st, &name, arn.as_deref())?;
    let mut d = render(&st, c, i.now());
    d["StreamARN"] = json!(st.arn());
    Ok(json!({"ConsumerDescription": d}))
}

pub async fn list(i: &Inner, input: Json) -> Result<Json, AwsError> {
    let at = stream_of(s(&input, "StreamARN").unwrap_or_default())?;
    let now = i.now();
    let max = input.get("MaxResults").and_then(Json::as_u64).unwrap_or(100) as usize;
    let after = match s(&input, "NextToken") {
        Some(t) => Some(crate::tokens::open(t, now)?),
        None => None,
    };
    let st = read_stream(i, at).await?;
    let mut all: Vec<&Consumer> = st.consumers.iter().collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let rest: Vec<&Consumer> = all.into_iter().filter(|c| after.as_ref().is_none_or(|a| &c.name > a)).collect();
    let page: Vec<Json> = rest.iter().take(max).map(|c| render(&st, c, now)).collect();
    let mut out = json!({"Consumers": page});
    if rest.len() > max
        && let Some(last) = rest.get(max - 1)
    {
        out["NextToken"] = json!(crate::tokens::seal(&last.name, now));
    }
    Ok(out)
}

/// The stream and, for a consumer ARN, the consumer of a policy operation.
async fn policy_target(i: &Inner, arn: &str) -> Result<(StreamRef, Option<String>), AwsError> {
    let (at, consumer) = resource_ref(arn)?;
    let st = read_stream(i, at.clone()).await?;
    if let Some(c) = &consumer {
        find(&st, c, Some(arn))?;
    }
    Ok((at, consumer))
}

pub async fn put_policy(i: &Inner, input: Json) -> Result<Json, AwsError> {
    let arn = s(&input, "ResourceARN").unwrap_or_default().to_string();
    let policy = s(&input, "Policy").unwrap_or_default().to_string();
    if serde_json::from_str::<Json>(&policy).ok().filter(Json::is_object).is_none() {
        return Err(invalid_argument("Invalid policy document: the policy is not valid JSON."));
    }
    let (at, consumer) = policy_target(i, &arn).await?;
    update(i, at, move |st, _| slot(st, consumer.as_deref(), &arn).map(|p| *p = Some(policy))).await?;
    Ok(json!({}))
}

fn slot<'a>(st: &'a mut StreamRecord, consumer: Option<&str>, arn: &str) -> Result<&'a mut Option<String>, AwsError> {
    match consumer {
        None => Ok(&mut st.policy),
        Some(c) => {
            st.consumers.iter_mut().find(|x| x.name == c).map(|x| &mut x.policy).ok_or_else(|| consumer_not_found(arn))
        }
    }
}

pub async fn get_policy(i: &Inner, input: Json) -> Result<Json, AwsError> {
    let arn = s(&input, "ResourceARN").unwrap_or_default().to_string();
    let (at, consumer) = policy_target(i, &arn).await?;
    let st = read_stream(i, at).await?;
    let policy = match &consumer {
        None => st.policy.clone(),
        Some(c) => st.consumers.iter().find(|x| &x.name == c).and_then(|x| x.policy.clone()),
    };
    Ok(json!({"Policy": policy.unwrap_or_else(|| "{}".into())}))
}

pub async fn delete_policy(i: &Inner, input: Json) -> Result<Json, AwsError> {
    let arn = s(&input, "ResourceARN").unwrap_or_default().to_string();
    let (at, consumer) = policy_target(i, &arn).await?;
    update(i, at, move |st, _| {
        let p = slot(st, consumer.as_deref(), &arn)?;
        if p.is_none() {
            return Err(AwsError::new(
                "ResourceNotFoundException",
                format!("No resource policy found for resource ARN {arn}."),
            ));
        }
        *p = None;
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

/// `(stream ARN, consumer)` of a consumer ARN, for readers of a consumer (event source
/// mappings with an enhanced fan-out consumer, SubscribeToShard).
pub async fn stream_of_consumer(i: &Inner, arn: &str) -> Result<StreamRef, AwsError> {
    let (at, consumer) = policy_target(i, arn).await?;
    consumer.ok_or_else(|| invalid_argument(format!("Invalid ConsumerARN {arn}")))?;
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_refs() {
        let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1700000000";
        let (at, name, given) = consumer_ref(&json!({"ConsumerARN": arn})).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((at.name.as_str(), name.as_str(), given.as_deref()), ("s", "c", Some(arn)));
        assert!(consumer_ref(&json!({"ConsumerName": "c"})).is_err());
        assert!(stream_of("arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1").is_err());
    }
}
