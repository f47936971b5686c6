//! The delivery loop: consumes the `sns-deliveries` outbox, delivers each record to its
//! endpoint with SNS's retry policy, dead-letters what cannot be delivered, and acknowledges
//! the record only then — so delivery is at least once, also across a crash (a restart begins
//! a record's retries again).
//!
//! Retries (AWS documents them per protocol):
//! - SQS and Lambda (AWS-managed endpoints): 3 immediate retries, 2 one second apart, then 10
//!   with exponential backoff from 1 to 20 seconds. AWS then keeps retrying every 20 seconds
//!   for 23 days; Stratus stops there (about 70 seconds in all) so that a lost endpoint does not
//!   hold a record for weeks. Errors that retrying cannot fix (the queue or function does not
//!   exist, the message is refused) are not retried, as AWS does with client-side errors.
//! - HTTP/S: the subscription's (or topic's) `healthyRetryPolicy`; by default 3 retries 20
//!   seconds apart. Any answer other than 2xx, or no answer within 15 seconds, is a failure.
//!
//! When retries are exhausted, a subscription with a `RedrivePolicy` gets the message in its
//! dead-letter queue (as an SQS subscription would have received it); otherwise it is dropped.
//!
//! Order: records of a FIFO topic are delivered one at a time per subscription, in publish
//! order; other records are delivered concurrently.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;

use crate::message::{self, Delivery, NOTIFICATION, Urls};
use crate::signing::Signer;
use crate::topic::{Subscription, Topic};
use crate::{Inner, SqsAttribute, SqsDelivery, keys};

/// Records read from the outbox per scan.
const SCAN: usize = 256;

/// The HTTP/S healthy retry policy of a subscription: its own `DeliveryPolicy` over the
/// topic's, unless the topic disables subscription overrides.
pub fn http_retry_policy(t: &Topic, s: &Subscription) -> Value {
    let mut policy = t.http_retry_policy();
    let eff: Value = serde_json::from_str(&t.effective_delivery_policy()).unwrap_or(Value::Null);
    let overrides = !eff["http"]["disableSubscriptionOverrides"].as_bool().unwrap_or(false);
    if overrides
        && let Some(Ok(sub)) = s.attributes.get("DeliveryPolicy").map(|p| serde_json::from_str::<Value>(p))
        && let (Some(Value::Object(h)), Value::Object(p)) = (sub.get("healthyRetryPolicy"), &mut policy)
    {
        for (k, v) in h {
            p.insert(k.clone(), v.clone());
        }
    }
    policy
}

/// The delays before each retry, per the documented phases (immediate, pre-backoff at the
/// minimum delay, backoff from minimum to maximum, post-backoff at the maximum).
pub fn retry_delays(d: &Delivery) -> Vec<Duration> {
    let secs = |s: f64| Duration::from_millis((s * 1000.0) as u64);
    let Some(p) = d.retry_policy.as_ref().filter(|_| crate::topic::is_http(&d.protocol)) else {
        let mut v = vec![Duration::ZERO; 3];
        v.extend([secs(1.0); 2]);
        v.extend(backoff(1.0, 20.0, 10, "exponential").into_iter().map(secs));
        return v;
    };
    let n = |k: &str, default: u64| p.get(k).and_then(Value::as_u64).unwrap_or(default);
    let (min, max) = (n("minDelayTarget", 20) as f64, n("maxDelayTarget", 20) as f64);
    let total = n("numRetries", 3);
    let no_delay = n("numNoDelayRetries", 0).min(total);
    let min_delay = n("numMinDelayRetries", 0).min(total - no_delay);
    let max_delay = n("numMaxDelayRetries", 0).min(total - no_delay - min_delay);
    let backoff_n = total - no_delay - min_delay - max_delay;
    let function = p.get("backoffFunction").and_then(Value::as_str).unwrap_or("linear");
    let mut v = vec![Duration::ZERO; no_delay as usize];
    v.extend(std::iter::repeat_n(secs(min), min_delay as usize));
    v.extend(backoff(min, max, backoff_n as usize, function).into_iter().map(secs));
    v.extend(std::iter::repeat_n(secs(max), max_delay as usize));
    v
}

/// `n` delays rising from `min` to `max`: linearly (linear, arithmetic) or by a constant
/// factor (exponential, geometric).
fn backoff(min: f64, max: f64, n: usize, function: &str) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let f = if n <= 1 { 1.0 } else { i as f64 / (n - 1) as f64 };
            match function {
                "exponential" | "geometric" if min > 0.0 => min * (max / min).powf(f),
                _ => min + (max - min) * f,
            }
        })
        .collect()
}

enum Outcome {
    Delivered,
    /// Worth another try (endpoint down, throttled, server error).
    Retry(String),
    /// Retrying cannot help (the endpoint does not exist, the message is refused).
    Fail(String),
}

fn classify(e: &stratus_proto::AwsError) -> Outcome {
    let transient = e.status.is_some_and(|s| s >= 500)
        || matches!(
            e.code.as_str(),
            "TooManyRequestsException"
                | "ThrottlingException"
                | "Throttling"
                | "RequestThrottled"
                | "ServiceUnavailable"
        );
    if transient { Outcome::Retry(e.to_string()) } else { Outcome::Fail(e.to_string()) }
}

pub(crate) async fn run(i: Arc<Inner>) {
    let signer = loop {
        match crate::ensure_signer(&i).await {
            Ok(s) => break s,
            Err(e) => {
                tracing::warn!(error = %e, "SNS signing key unavailable; deliveries wait");
                if i.closing() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let claims = stratus_storage::OutboxClaims::default();
    // FIFO subscriptions with a delivery under way: the next waits for it, to keep order.
    let lanes: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut generation = i.generation();
    loop {
        if i.generation() != generation {
            // A reset wiped the outbox: what was in flight belongs to the old one.
            generation = i.generation();
            claims.clear();
            if let Ok(mut l) = lanes.lock() {
                l.clear();
            }
        }
        let signal = i.store.outbox_signal().clone();
        let notified = signal.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let local = i.wake.notified();
        tokio::pin!(local);
        local.as_mut().enable();
        let mut after = 0;
        let mut blocked: HashSet<String> = HashSet::new();
        let round = claims.begin_round();
        loop {
            let records = match i.store.outbox_pending(keys::DELIVERY_TOPIC, after, SCAN).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read SNS deliveries");
                    break;
                }
            };
            let n = records.len();
            for (seq, bytes) in records {
                after = seq;
                if claims.is_claimed(seq) {
                    continue;
                }
                let Ok(d) = serde_json::from_slice::<Delivery>(&bytes) else {
                    tracing::warn!("dropping an unreadable SNS delivery record");
                    let _ = i.store.outbox_ack(keys::DELIVERY_TOPIC, seq).await;
                    continue;
                };
                if d.fifo {
                    // One record per subscription per scan, and none while one is under way. A
                    // busy lane stays blocked for the rest of the scan: its delivery may finish
                    // meanwhile, and a later record must not overtake the ones skipped here.
                    let busy = lanes.lock().map(|l| l.contains(&d.subscription_arn)).unwrap_or(true);
                    if !blocked.insert(d.subscription_arn.clone()) || busy {
                        continue;
                    }
                    if let Ok(mut l) = lanes.lock() {
                        l.insert(d.subscription_arn.clone());
                    }
                }
                claims.claim(seq);
                let (i2, claims2, lanes2, signer2) = (i.clone(), claims.clone(), lanes.clone(), signer.clone());
                tokio::spawn(async move {
                    let lane = d.fifo.then(|| d.subscription_arn.clone());
                    let done = deliver(&i2, &signer2, d, generation).await;
                    if !done || i2.generation() != generation {
                        // Left in the outbox (shutdown) or gone with it (reset).
                        return;
                    }
                    let acked = i2.store.outbox_ack(keys::DELIVERY_TOPIC, seq).await;
                    if let Err(e) = &acked {
                        tracing::warn!(error = %e, "could not remove a delivered SNS record");
                    }
                    claims2.release(seq, acked.is_ok());
                    if let (Some(l), Ok(mut lanes)) = (lane, lanes2.lock()) {
                        lanes.remove(&l);
                    }
                    i2.wake.notify_one();
                });
            }
            if n < SCAN {
                break;
            }
        }
        claims.end_round(round);
        if i.closing() {
            return;
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = &mut local => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Delivers one record with retries, then dead-letters it if that fails. Returns whether the
/// record is done with (false: abandoned for a shutdown or a reset, so not to be acknowledged).
async fn deliver(i: &Inner, signer: &Signer, d: Delivery, generation: u64) -> bool {
    let delays = retry_delays(&d);
    let mut attempt = 0;
    let why = loop {
        match attempt_once(i, signer, &d).await {
            Outcome::Delivered => return true,
            Outcome::Fail(why) => break why,
            Outcome::Retry(why) => {
                let Some(delay) = delays.get(attempt) else { break why };
                if i.closing() || i.generation() != generation {
                    // Shutting down: the record stays in the outbox for the next start. Reset:
                    // the record is gone.
                    return false;
                }
                tracing::debug!(subscription = %d.subscription_arn, %why, "SNS delivery failed; retrying");
                attempt += 1;
                tokio::time::sleep(*delay).await;
                if i.generation() != generation {
                    return false;
                }
            }
        }
    };
    tracing::warn!(subscription = %d.subscription_arn, %why, "SNS delivery failed");
    if let Some(dlq) = d.dead_letter_queue.clone().filter(|_| d.kind == NOTIFICATION) {
        let targets = i.targets();
        let msg = sqs_message(&d, signer, &i.urls(), &dlq);
        let sent = match (targets, msg) {
            (Some(t), Ok(m)) => t.send_sqs(&dlq, m).await.map_err(|e| e.to_string()),
            (None, _) => Err("no delivery targets".into()),
            (_, Err(e)) => Err(e),
        };
        if let Err(e) = sent {
            tracing::warn!(subscription = %d.subscription_arn, %dlq, error = %e, "could not dead-letter an SNS message; dropped");
        }
    }
    true
}

/// What an SQS queue receives: the envelope, or with raw delivery the message itself with the
/// SNS message attributes as SQS message attributes. FIFO queues get the group and
/// deduplication ids.
fn sqs_message(d: &Delivery, signer: &Signer, urls: &Urls<'_>, queue_arn: &str) -> Result<SqsDelivery, String> {
    let (body, attributes) = if d.raw {
        let attrs = d
            .attributes
            .iter()
            .map(|(k, a)| SqsAttribute {
                name: k.clone(),
                data_type: a.data_type.clone(),
                string_value: a.string_value.clone(),
                binary_value: a.binary_value.as_deref().and_then(|b| B64.decode(b).ok()),
            })
            .collect();
        (d.message.clone(), attrs)
    } else {
        (message::envelope(d, signer, urls)?, Vec::new())
    };
    let fifo_queue = queue_arn.ends_with(".fifo");
    Ok(SqsDelivery {
        source_arn: d.topic_arn.clone(),
        body,
        attributes,
        group_id: if fifo_queue { d.group_id.clone() } else { None },
        dedup_id: if fifo_queue { d.dedup_id.clone() } else { None },
    })
}

async fn attempt_once(i: &Inner, signer: &Signer, d: &Delivery) -> Outcome {
    let urls = i.urls();
    match d.protocol.as_str() {
        "sqs" | "lambda" => {
            let Some(targets) = i.targets() else { return Outcome::Retry("no delivery targets yet".into()) };
            let result = if d.protocol == "sqs" {
                match sqs_message(d, signer, &urls, &d.endpoint) {
                    Ok(m) => targets.send_sqs(&d.endpoint, m).await,
                    Err(e) => return Outcome::Retry(e),
                }
            } else {
                match message::lambda_event(d, signer, &urls) {
                    Ok(ev) => targets.invoke_lambda(&d.endpoint, &d.topic_arn, ev.to_string().into_bytes()).await,
                    Err(e) => return Outcome::Retry(e),
                }
            };
            match result {
                Ok(()) => Outcome::Delivered,
                Err(e) => classify(&e),
            }
        }
        "http" | "https" => {
            let body = if d.raw && d.kind == NOTIFICATION {
                d.message.clone()
            } else {
                match message::envelope(d, signer, &urls) {
                    Ok(b) => b,
                    Err(e) => return Outcome::Retry(e),
                }
            };
            let mut headers = vec![
                ("x-amz-sns-message-type", d.kind.clone()),
                ("x-amz-sns-message-id", d.message_id.clone()),
                ("x-amz-sns-topic-arn", d.topic_arn.clone()),
                ("content-type", "text/plain; charset=UTF-8".to_string()),
                ("user-agent", "Amazon Simple Notification Service Agent".to_string()),
            ];
            if d.kind == NOTIFICATION {
                headers.push(("x-amz-sns-subscription-arn", d.subscription_arn.clone()));
            }
            if d.raw && d.kind == NOTIFICATION {
                headers.push(("x-amz-sns-rawdelivery", "true".to_string()));
            }
            match crate::http::post(&d.endpoint, &headers, body, i.tls().as_ref()).await {
                Ok(s) if (200..300).contains(&s) => Outcome::Delivered,
                Ok(s) => Outcome::Retry(format!("endpoint answered HTTP {s}")),
                Err(e) => Outcome::Retry(e),
            }
        }
        "sms" | "application" => record(i, d).await,
        other => Outcome::Fail(format!("protocol {other} is not delivered")),
    }
}

/// A delivery to a phone (`sms`) or a device (`application`): recorded, as nothing is sent
/// from here. A device endpoint that is gone or disabled takes nothing.
async fn record(i: &Inner, d: &Delivery) -> Outcome {
    let d = d.clone();
    let r = i
        .store
        .write(move |t| {
            let (kind, account, region) = if d.protocol == "sms" {
                let a = stratus_core::Arn::parse(&d.topic_arn).map(|a| (a.account.to_string(), a.region.to_string()));
                let (account, region) = a.unwrap_or_default();
                if crate::sms::opted_out(t, &account, &region, &d.endpoint)? {
                    return Ok(false);
                }
                (crate::recorded::SMS, account, region)
            } else {
                match crate::mobile::publish_target(t, &d.endpoint) {
                    Ok(e) => (crate::recorded::PUSH, e.account, e.region),
                    Err(_) => return Ok(false),
                }
            };
            crate::recorded::record(
                t,
                &crate::recorded::Sent {
                    kind,
                    account: &account,
                    region: &region,
                    destination: &d.endpoint,
                    message_id: &d.message_id,
                    message: &d.message,
                    subject: d.subject.as_deref(),
                    attributes: &d.attributes,
                    topic_arn: Some(&d.topic_arn),
                    timestamp: &d.timestamp,
                },
            )?;
            Ok::<_, stratus_proto::AwsError>(true)
        })
        .await;
    match r {
        Ok(true) => Outcome::Delivered,
        Ok(false) => Outcome::Fail("the endpoint is disabled, gone or opted out".into()),
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(protocol: &str, policy: Option<Value>) -> Delivery {
        serde_json::from_value(serde_json::json!({
            "kind": "Notification", "subscription_arn": "s", "topic_arn": "t", "protocol": protocol,
            "endpoint": "e", "message_id": "m", "message": "x", "timestamp": "t", "signature_version": "1",
            "retry_policy": policy,
        }))
        .unwrap()
    }

    #[test]
    fn delays() {
        let aws = retry_delays(&d("sqs", None));
        assert_eq!(aws.len(), 15);
        assert_eq!(aws[..3], [Duration::ZERO; 3]);
        assert_eq!(aws[5], Duration::from_secs(1));
        assert_eq!(aws[14], Duration::from_secs(20));
        let default = crate::topic::default_delivery_policy()["http"]["defaultHealthyRetryPolicy"].clone();
        assert_eq!(retry_delays(&d("http", Some(default))), vec![Duration::from_secs(20); 3]);
        let p = serde_json::json!({"numRetries": 4, "numNoDelayRetries": 1, "minDelayTarget": 1, "maxDelayTarget": 3});
        assert_eq!(
            retry_delays(&d("http", Some(p))),
            vec![Duration::ZERO, Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(3)]
        );
    }
}
