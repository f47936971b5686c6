//! The trigger engine (DESIGN.md §4): effects between services travel as outbox records that
//! this loop delivers. Services never call each other; only the binary knows both ends.
//!
//! Today it delivers Lambda's on-success / on-failure destination records to SQS queues and
//! Lambda functions. A record leaves the outbox only once delivered (or once it can never be:
//! the destination does not exist), so delivery is at least once, also across restarts.

use std::time::Duration;

use serde_json::Value;
use stratus_lambda::Lambda;
use stratus_sqs::Sqs;
use stratus_storage::Store;

pub struct Engine {
    pub store: Store,
    pub sqs: Sqs,
    pub lambda: Lambda,
}

enum Delivery {
    Done,
    /// Try again later (storage busy, shutting down).
    Retry(String),
}

impl Engine {
    pub async fn run(self) {
        loop {
            let signal = self.store.outbox_signal().clone();
            let notified = signal.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.store.outbox_pending(Lambda::DESTINATION_TOPIC, 0, 64).await {
                Ok(records) => {
                    for (seq, bytes) in records {
                        match self.deliver(&bytes).await {
                            Delivery::Done => {
                                if let Err(e) = self.store.outbox_ack(Lambda::DESTINATION_TOPIC, seq).await {
                                    tracing::warn!(error = %e, "could not remove a delivered destination record");
                                }
                            }
                            Delivery::Retry(why) => {
                                tracing::warn!(%why, "destination delivery failed; will retry");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not read destination records"),
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    async fn deliver(&self, bytes: &[u8]) -> Delivery {
        let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
            tracing::warn!("dropping an unreadable destination record");
            return Delivery::Done;
        };
        let destination = v["destination"].as_str().unwrap_or_default();
        let record = v["record"].to_string();
        let Some(arn) = stratus_core::Arn::parse(destination) else {
            tracing::warn!(%destination, "dropping a record for an invalid destination");
            return Delivery::Done;
        };
        let outcome = match arn.service {
            "sqs" => self.sqs.send_internal(arn.account, arn.region, arn.resource, record).await.map(|_| ()),
            "lambda" => self.lambda.invoke_event(arn.account, arn.region, destination, record.into_bytes()).await,
            other => {
                tracing::warn!(%destination, "destinations of service {other} are not served yet; record dropped");
                return Delivery::Done;
            }
        };
        match outcome {
            Ok(()) => Delivery::Done,
            // The destination does not exist: AWS drops such records too.
            Err(e) if matches!(e.code.as_str(), "QueueDoesNotExist" | "ResourceNotFoundException") => {
                tracing::warn!(%destination, error = %e, "destination does not exist; record dropped");
                Delivery::Done
            }
            Err(e) => Delivery::Retry(e.to_string()),
        }
    }
}

/// SQS as the queue behind Lambda's event source mappings.
pub struct SqsSource {
    pub sqs: Sqs,
}

fn queue_of(arn: &str) -> Result<(String, String, String), stratus_proto::AwsError> {
    let a = stratus_core::Arn::parse(arn)
        .filter(|a| a.service == "sqs")
        .ok_or_else(|| stratus_proto::AwsError::new("QueueDoesNotExist", format!("{arn} is not a queue ARN")))?;
    Ok((a.account.to_string(), a.region.to_string(), a.resource.to_string()))
}

impl stratus_lambda::QueueSource for SqsSource {
    fn info<'a>(&'a self, arn: &'a str) -> stratus_proto::BoxFuture<'a, Result<(u64, bool), stratus_proto::AwsError>> {
        Box::pin(async move {
            let (account, region, name) = queue_of(arn)?;
            self.sqs.queue_info_internal(&account, &region, &name).await
        })
    }

    fn receive<'a>(
        &'a self,
        arn: &'a str,
        max: u8,
        wait_seconds: u8,
    ) -> stratus_proto::BoxFuture<'a, Result<Vec<stratus_lambda::QueueMessage>, stratus_proto::AwsError>> {
        Box::pin(async move {
            let (account, region, name) = queue_of(arn)?;
            let msgs = self.sqs.receive_internal(&account, &region, &name, max, wait_seconds).await?;
            Ok(msgs
                .into_iter()
                .map(|m| {
                    let attrs: serde_json::Map<String, Value> = m
                        .message_attributes
                        .iter()
                        .map(|(k, v)| {
                            let mut a = serde_json::json!({
                                "stringListValues": v.string_list_values,
                                "binaryListValues": v.binary_list_values,
                                "dataType": v.data_type,
                            });
                            if let Some(o) = a.as_object_mut() {
                                if let Some(s) = &v.string_value {
                                    o.insert("stringValue".into(), Value::String(s.clone()));
                                }
                                if let Some(b) = &v.binary_value {
                                    o.insert("binaryValue".into(), Value::String(b.clone()));
                                }
                            }
                            (k.clone(), a)
                        })
                        .collect();
                    stratus_lambda::QueueMessage {
                        message_id: m.message_id,
                        receipt_handle: m.receipt_handle,
                        body: m.body,
                        md5_of_body: m.md5_of_body,
                        md5_of_message_attributes: m.md5_of_message_attributes,
                        attributes: m.attributes,
                        message_attributes: Value::Object(attrs),
                    }
                })
                .collect())
        })
    }

    fn delete<'a>(
        &'a self,
        arn: &'a str,
        handles: Vec<String>,
    ) -> stratus_proto::BoxFuture<'a, Result<(), stratus_proto::AwsError>> {
        Box::pin(async move {
            let (account, region, name) = queue_of(arn)?;
            self.sqs.delete_internal(&account, &region, &name, handles).await.map(|_| ())
        })
    }
}

/// SQS and Lambda as the endpoints of SNS subscriptions.
pub struct SnsTargets {
    pub sqs: Sqs,
    pub lambda: Lambda,
}

impl stratus_sns::Targets for SnsTargets {
    fn send_sqs<'a>(
        &'a self,
        queue_arn: &'a str,
        msg: stratus_sns::SqsDelivery,
    ) -> stratus_proto::BoxFuture<'a, Result<(), stratus_proto::AwsError>> {
        Box::pin(async move {
            use base64::Engine as _;
            let (account, region, name) = queue_of(queue_arn)?;
            let attributes = msg
                .attributes
                .into_iter()
                .map(|a| {
                    let v = stratus_sqs::types::MessageAttributeValue {
                        string_value: a.string_value,
                        binary_value: a.binary_value.map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
                        string_list_values: Vec::new(),
                        binary_list_values: Vec::new(),
                        data_type: a.data_type,
                    };
                    (a.name, v)
                })
                .collect();
            self.sqs
                .send_internal_message(&account, &region, &name, msg.body, attributes, msg.group_id, msg.dedup_id)
                .await
                .map(|_| ())
        })
    }

    fn invoke_lambda<'a>(
        &'a self,
        function_arn: &'a str,
        payload: Vec<u8>,
    ) -> stratus_proto::BoxFuture<'a, Result<(), stratus_proto::AwsError>> {
        Box::pin(async move {
            let arn = stratus_core::Arn::parse(function_arn).filter(|a| a.service == "lambda").ok_or_else(|| {
                stratus_proto::AwsError::new(
                    "ResourceNotFoundException",
                    format!("{function_arn} is not a function ARN"),
                )
            })?;
            self.lambda.invoke_event(arn.account, arn.region, function_arn, payload).await
        })
    }
}
