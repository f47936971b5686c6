//! Amazon SQS: standard and FIFO queues, dead-letter queues and message move tasks, served in
//! both of SQS's protocols (JSON and query) by the shared protocol layer.
//!
//! Every operation is one storage transaction; long polls wait on a per-queue wake-up that
//! sends signal, so a waiting receive returns as soon as a message is committed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::Value;
use stratus_core::{Env, RequestContext};
use stratus_proto::typed_output as out;
use stratus_proto::{AwsError, BoxFuture, Checks, Operation, Service, ServiceModel, ValidationFailure, Wire};
use stratus_storage::{ReadTxn, SequenceBlocks, Store};
use tokio::sync::Notify;

mod errors;
mod groups;
mod keys;
mod message;
mod messages;
mod movetasks;
mod queue;
mod queues;
mod sweeper;
pub mod types;

pub use message::{md5_hex, md5_of_attributes};

static MODEL: LazyLock<Result<ServiceModel, String>> = LazyLock::new(|| {
    ServiceModel::parse(
        include_str!("../../../models/sqs.json"),
        Some(include_str!("../../../models/sqs-query-names.json")),
    )
    .map_err(|e| e.to_string())
});

/// The SQS service.
#[derive(Clone)]
pub struct Sqs {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Store,
    pub env: Env,
    model: &'static ServiceModel,
    waker: Waker,
    /// Message numbers of each queue, taken from durably reserved blocks.
    pub seqs: Arc<SequenceBlocks>,
    /// Set on shutdown: long polls return at once.
    closing: AtomicBool,
    closing_signal: Notify,
}

/// Message numbers reserved per write of a queue's counter.
const MESSAGE_NUMBER_BLOCK: u64 = 1024;

impl Sqs {
    pub fn new(store: Store, env: Env) -> Result<Self, String> {
        let model = MODEL.as_ref().map_err(Clone::clone)?;
        let sqs = Self {
            inner: Arc::new(Inner {
                store,
                env,
                model,
                waker: Waker::default(),
                seqs: Arc::new(SequenceBlocks::new(MESSAGE_NUMBER_BLOCK)),
                closing: AtomicBool::new(false),
                closing_signal: Notify::new(),
            }),
        };
        Ok(sqs)
    }

    /// Starts the background work: message move tasks left running by a previous process
    /// are resumed, and expired messages are swept.
    pub fn start(&self) {
        let inner = self.inner.clone();
        tokio::spawn(async move { movetasks::resume_all(inner).await });
        tokio::spawn(sweeper::run(self.inner.clone()));
    }

    /// Ends long polls early so that shutdown does not wait for them.
    pub fn shutdown(&self) {
        self.inner.closing.store(true, Ordering::SeqCst);
        self.inner.closing_signal.notify_waiters();
    }

    fn internal_ctx(&self, account: &str, region: &str) -> RequestContext {
        RequestContext::internal(account, region, self.inner.env.ids.uuid())
    }

    /// Receives up to 10 messages with every attribute, waiting up to `wait_seconds` (woken by
    /// sends), for a poller inside Stratus (Lambda's event source mappings).
    pub async fn receive_internal(
        &self,
        account: &str,
        region: &str,
        queue: &str,
        max: u8,
        wait_seconds: u8,
    ) -> Result<Vec<types::Message>, AwsError> {
        let ctx = self.internal_ctx(account, region);
        let input = types::ReceiveMessageInput {
            queue_url: format!("http://localhost/{account}/{queue}"),
            attribute_names: vec!["All".into()],
            message_system_attribute_names: Vec::new(),
            message_attribute_names: vec!["All".into()],
            max_number_of_messages: Some(i64::from(max.clamp(1, 10))),
            visibility_timeout: None,
            wait_time_seconds: Some(i64::from(wait_seconds.min(20))),
            receive_request_attempt_id: None,
        };
        Ok(messages::receive(&self.inner, &ctx, input).await?.messages)
    }

    /// Deletes messages by receipt handle (at most 10); returns the handles that failed.
    pub async fn delete_internal(
        &self,
        account: &str,
        region: &str,
        queue: &str,
        handles: Vec<String>,
    ) -> Result<Vec<String>, AwsError> {
        let ctx = self.internal_ctx(account, region);
        let entries: Vec<Value> = handles
            .iter()
            .enumerate()
            .map(|(n, h)| serde_json::json!({"Id": format!("m{n}"), "ReceiptHandle": h}))
            .collect();
        let out = messages::delete_batch(
            &self.inner,
            &ctx,
            types::BatchInput { queue_url: format!("http://localhost/{account}/{queue}"), entries },
        )
        .await?;
        Ok(out
            .failed
            .iter()
            .filter_map(|f| f.id.strip_prefix('m')?.parse::<usize>().ok())
            .filter_map(|n| handles.get(n).cloned())
            .collect())
    }

    /// The visibility timeout (seconds) of a queue and whether it is FIFO.
    pub async fn queue_info_internal(&self, account: &str, region: &str, queue: &str) -> Result<(u64, bool), AwsError> {
        let (account, region, queue) = (account.to_string(), region.to_string(), queue.to_string());
        self.inner
            .read(move |r| {
                let q = queues::load(r, &account, &region, &queue)?.ok_or_else(errors::queue_does_not_exist)?;
                Ok((q.visibility_timeout(), q.is_fifo()))
            })
            .await
    }

    /// The queue's resource policy (its `Policy` attribute) and tags, for authorization; None
    /// when the queue does not exist.
    pub async fn access_internal(&self, queue_arn: &str) -> Result<Option<stratus_core::ResourceAccess>, AwsError> {
        let Some((account, region, name)) = queue::parse_queue_arn(queue_arn) else { return Ok(None) };
        self.inner
            .read(move |r| {
                Ok(queues::load(r, &account, &region, &name)?.map(|q| stratus_core::ResourceAccess {
                    policy: q.attributes.get("Policy").filter(|p| !p.is_empty()).cloned(),
                    tags: q.tags.clone(),
                }))
            })
            .await
    }

    /// Sends a message on behalf of another part of Stratus (a Lambda destination): the same
    /// checks and durability as SendMessage. Returns the message id.
    pub async fn send_internal(
        &self,
        account: &str,
        region: &str,
        queue: &str,
        body: String,
    ) -> Result<String, AwsError> {
        self.send_internal_message(account, region, queue, body, Default::default(), None, None).await
    }

    /// Sends a message with message attributes and, for FIFO queues, a group and deduplication
    /// id, on behalf of another part of Stratus (an SNS subscription): the same checks (and
    /// attribute MD5s) and durability as SendMessage. Returns the message id.
    #[allow(clippy::too_many_arguments)]
    pub async fn send_internal_message(
        &self,
        account: &str,
        region: &str,
        queue: &str,
        body: String,
        attributes: types::MessageAttributes,
        group_id: Option<String>,
        dedup_id: Option<String>,
    ) -> Result<String, AwsError> {
        let ctx = self.internal_ctx(account, region);
        let input = types::SendMessageInput {
            queue_url: format!("http://localhost/{account}/{queue}"),
            message_body: body,
            delay_seconds: None,
            message_attributes: attributes,
            message_system_attributes: Default::default(),
            message_deduplication_id: dedup_id,
            message_group_id: group_id,
        };
        Ok(messages::send(&self.inner, &ctx, input).await?.message_id)
    }

    /// Forgets in-memory state (after the store was wiped).
    pub fn reset(&self) {
        self.inner.waker.reset();
        self.inner.seqs.clear();
    }
}

/// Per queue id, a wake-up for long polls: signalled when messages may have become available.
#[derive(Clone, Default)]
pub(crate) struct Waker {
    map: Arc<Mutex<HashMap<u64, Arc<Notify>>>>,
}

impl Waker {
    pub fn waiter(&self, queue_id: u64) -> Arc<Notify> {
        match self.map.lock() {
            Ok(mut w) => w.entry(queue_id).or_default().clone(),
            Err(_) => Arc::new(Notify::new()),
        }
    }

    pub fn wake(&self, queue_id: u64) {
        let n = self.map.lock().ok().and_then(|w| w.get(&queue_id).cloned());
        if let Some(n) = n {
            n.notify_waiters();
        }
    }

    fn reset(&self) {
        if let Ok(mut w) = self.map.lock() {
            for n in w.values() {
                n.notify_waiters();
            }
            w.clear();
        }
    }
}

impl Inner {
    pub fn waiter(&self, queue_id: u64) -> Arc<Notify> {
        self.waker.waiter(queue_id)
    }

    pub fn wake(&self, queue_id: u64) {
        self.waker.wake(queue_id)
    }

    pub fn wake_handle(&self) -> Waker {
        self.waker.clone()
    }

    pub fn closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    pub fn now(&self) -> u64 {
        self.env.clock.now_millis()
    }

    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn ReadTxn) -> Result<T, AwsError> + Send + 'static,
    ) -> Result<T, AwsError> {
        self.store.read(f).await
    }
}

fn parse<T: serde::de::DeserializeOwned>(input: Value) -> Result<T, AwsError> {
    stratus_proto::typed_input(input, "InvalidParameterValue")
}

impl Service for Sqs {
    fn model(&self) -> &ServiceModel {
        self.inner.model
    }

    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        op: &'a Operation,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, AwsError>> {
        Box::pin(async move {
            let i = &self.inner;
            match op.name.as_str() {
                "CreateQueue" => out(queues::create(i, ctx, parse(input)?).await?),
                "GetQueueUrl" => out(queues::get_url(i, ctx, parse(input)?).await?),
                "ListQueues" => out(queues::list(i, ctx, parse(input)?).await?),
                "DeleteQueue" => queues::delete(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "GetQueueAttributes" => out(queues::get_attributes(i, ctx, parse(input)?).await?),
                "SetQueueAttributes" => queues::set_attributes(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "PurgeQueue" => queues::purge(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "TagQueue" => queues::tag(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "UntagQueue" => queues::untag(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "ListQueueTags" => out(queues::list_tags(i, ctx, parse(input)?).await?),
                "AddPermission" => queues::add_permission(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "RemovePermission" => queues::remove_permission(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "ListDeadLetterSourceQueues" => out(queues::list_dead_letter_sources(i, ctx, parse(input)?).await?),
                "SendMessage" => out(messages::send(i, ctx, parse(input)?).await?),
                "SendMessageBatch" => out(messages::send_batch(i, ctx, parse(input)?).await?),
                "ReceiveMessage" => out(messages::receive(i, ctx, parse(input)?).await?),
                "DeleteMessage" => messages::delete(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "DeleteMessageBatch" => out(messages::delete_batch(i, ctx, parse(input)?).await?),
                "ChangeMessageVisibility" => {
                    messages::change_visibility(i, ctx, parse(input)?).await.map(|()| Value::Null)
                }
                "ChangeMessageVisibilityBatch" => out(messages::change_visibility_batch(i, ctx, parse(input)?).await?),
                "StartMessageMoveTask" => out(movetasks::start(i, ctx, parse(input)?).await?),
                "CancelMessageMoveTask" => out(movetasks::cancel(i, ctx, parse(input)?).await?),
                "ListMessageMoveTasks" => out(movetasks::list(i, ctx, parse(input)?).await?),
                other => Err(AwsError::new("UnsupportedOperation", format!("The operation {other} is not supported."))),
            }
        })
    }

    fn prepare(&self, ctx: &RequestContext, op: &Operation, wire: Wire, input: &mut Value) {
        // Query clients may address the queue by the request path instead of `QueueUrl`.
        let takes_url = op
            .input
            .as_deref()
            .and_then(|s| self.inner.model.shape(s))
            .is_some_and(|s| s.members.contains_key("QueueUrl"));
        if wire == Wire::Query
            && takes_url
            && let Value::Object(obj) = input
            && !obj.contains_key("QueueUrl")
            && ctx.path.trim_matches('/').contains('/')
        {
            obj.insert("QueueUrl".into(), Value::String(ctx.path.clone()));
        }
        // A batch without entries (the query protocol cannot send an empty list) is answered
        // by the operation, whose message names its entry type.
        if op.name.ends_with("Batch")
            && let Value::Object(obj) = input
            && obj.get("Entries").is_none_or(Value::is_null)
        {
            obj.insert("Entries".into(), Value::Array(Vec::new()));
        }
    }

    fn checks(&self) -> Checks {
        // SQS reports unknown attribute names with its own InvalidAttributeName.
        Checks { enums: false, ranges: true }
    }

    fn validation_error(&self, _op: &Operation, failure: &ValidationFailure, _wire: Wire) -> AwsError {
        // Both wires report validation failures in the query style (`MissingParameter`, ...).
        failure.to_query_style()
    }
}
