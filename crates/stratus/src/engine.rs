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
