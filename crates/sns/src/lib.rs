//! Amazon SNS: standard and FIFO topics, subscriptions to SQS, Lambda and HTTP endpoints,
//! filter policies, signed messages, and durable fan-out over the query protocol.
//!
//! Publish writes one outbox record per matching subscription in the transaction that accepts
//! the message; [`Sns::start`] runs the loop that delivers them (`delivery.rs`). Deliveries to
//! SQS and Lambda go through [`Targets`], which the binary implements over those services
//! (service crates never call each other).
//!
//! `permissions.rs`: AddPermission/RemovePermission (statements of the topic's policy) and data
//! protection policies (kept).
//!
//! `mobile.rs` and `sms.rs`: mobile push (platform applications and endpoints) and SMS
//! (attributes, opt-outs, the sandbox), recorded rather than sent (`recorded.rs`): what would
//! have gone to a phone or device is kept in the store and read back through
//! [`Sns::recorded_messages`] (the binary serves it at `/_stratus/sns/messages`).
//!
//! Subscriptions to email and Firehose endpoints are refused with `InvalidParameter`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, RwLock};

use serde_json::Value;
use stratus_core::{Env, RequestContext};
use stratus_proto::typed_output as out;
use stratus_proto::{AwsError, BoxFuture, Checks, Operation, Service, ServiceModel, ValidationFailure, Wire};
use stratus_storage::{ReadTxn, Store};
use tokio::sync::Notify;

mod delivery;
mod errors;
pub mod filter;
mod http;
mod keys;
mod message;
mod mobile;
mod permissions;
mod publish;
mod recorded;
mod signing;
mod sms;
mod subscriptions;
mod topic;
mod topics;
pub mod types;

static MODEL: LazyLock<Result<ServiceModel, String>> =
    LazyLock::new(|| ServiceModel::parse(include_str!("../../../models/sns.json"), None).map_err(|e| e.to_string()));

/// A message for an SQS queue subscribed to a topic.
#[derive(Debug, Clone, PartialEq)]
pub struct SqsDelivery {
    /// The topic it comes from (`aws:SourceArn` of the delivery).
    pub source_arn: String,
    pub body: String,
    pub attributes: Vec<SqsAttribute>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
}

/// An SQS message attribute (raw delivery carries SNS message attributes as these).
#[derive(Debug, Clone, PartialEq)]
pub struct SqsAttribute {
    pub name: String,
    pub data_type: String,
    pub string_value: Option<String>,
    pub binary_value: Option<Vec<u8>>,
}

/// Where SNS delivers to SQS and Lambda: implemented by the binary over those services.
pub trait Targets: Send + Sync + 'static {
    /// Sends a message to the queue `queue_arn` (SendMessage's checks and durability).
    fn send_sqs<'a>(&'a self, queue_arn: &'a str, msg: SqsDelivery) -> BoxFuture<'a, Result<(), AwsError>>;
    /// Invokes `function_arn` asynchronously (`Event`) with `payload`, for the topic `topic_arn`.
    fn invoke_lambda<'a>(
        &'a self,
        function_arn: &'a str,
        topic_arn: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), AwsError>>;
}

/// The SNS service.
#[derive(Clone)]
pub struct Sns {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Store,
    pub env: Env,
    pub model: &'static ServiceModel,
    /// This server's base URL, for the URLs in messages (certificate, unsubscribe, confirm).
    endpoint: String,
    targets: RwLock<Option<Arc<dyn Targets>>>,
    signer: RwLock<Option<Arc<signing::Signer>>>,
    /// The TLS client for `https` endpoints, once the server says which roots to trust.
    tls: RwLock<Option<tokio_rustls::TlsConnector>>,
    /// Serializes creating the signing key.
    signer_init: tokio::sync::Mutex<()>,
    closing: AtomicBool,
    /// Bumped by a reset: deliveries begun before it neither retry nor acknowledge (the outbox
    /// they came from was wiped, and its sequence numbers start again).
    generation: AtomicU64,
    /// Wakes the delivery loop (a FIFO delivery finished, shutdown).
    wake: Notify,
}

impl Inner {
    pub fn now(&self) -> u64 {
        self.env.clock.now_millis()
    }

    pub fn closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn targets(&self) -> Option<Arc<dyn Targets>> {
        self.targets.read().ok().and_then(|t| t.clone())
    }

    pub fn tls(&self) -> Option<tokio_rustls::TlsConnector> {
        self.tls.read().ok().and_then(|t| t.clone())
    }

    pub fn urls(&self) -> message::Urls<'_> {
        message::Urls { endpoint: &self.endpoint }
    }

    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn ReadTxn) -> Result<T, AwsError> + Send + 'static,
    ) -> Result<T, AwsError> {
        self.store.read(f).await
    }
}

/// The signing key: loaded from the store, or made (in a blocking task) and stored once.
pub(crate) async fn ensure_signer(i: &Inner) -> Result<Arc<signing::Signer>, String> {
    if let Some(s) = i.signer.read().ok().and_then(|s| s.clone()) {
        return Ok(s);
    }
    let _guard = i.signer_init.lock().await;
    if let Some(s) = i.signer.read().ok().and_then(|s| s.clone()) {
        return Ok(s);
    }
    let stored: Option<Vec<u8>> =
        i.store.read(|r| r.get(keys::SIGNING)).await.map_err(|e: stratus_storage::StoreError| e.to_string())?;
    let signer = match stored.and_then(|b| serde_json::from_slice::<signing::Stored>(&b).ok()) {
        Some(s) => signing::Signer::from_stored(&s)?,
        None => {
            let (now, serial) = (i.now() / 1000, i.env.ids.random_bytes());
            let made = tokio::task::spawn_blocking(move || signing::Signer::generate(now, serial))
                .await
                .map_err(|e| e.to_string())??;
            let bytes = serde_json::to_vec(&made.to_stored()?).map_err(|e| e.to_string())?;
            // Another process cannot share the data directory, so the first writer wins only
            // against a reset racing with this; keep whichever is stored.
            let kept: Vec<u8> = i
                .store
                .write(move |t| match t.get(keys::SIGNING)? {
                    Some(existing) => Ok::<_, stratus_storage::StoreError>(existing),
                    None => {
                        t.put(keys::SIGNING, &bytes)?;
                        Ok(bytes)
                    }
                })
                .await
                .map_err(|e| e.to_string())?;
            let s: signing::Stored = serde_json::from_slice(&kept).map_err(|e| e.to_string())?;
            signing::Signer::from_stored(&s)?
        }
    };
    let signer = Arc::new(signer);
    if let Ok(mut slot) = i.signer.write() {
        *slot = Some(signer.clone());
    }
    Ok(signer)
}

impl Sns {
    /// `endpoint` is this server's base URL as endpoints reach it (`http://127.0.0.1:4566`).
    pub fn new(store: Store, env: Env, endpoint: String) -> Result<Self, String> {
        let model = MODEL.as_ref().map_err(Clone::clone)?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                env,
                model,
                endpoint: endpoint.trim_end_matches('/').to_string(),
                targets: RwLock::new(None),
                signer: RwLock::new(None),
                tls: RwLock::new(None),
                signer_init: tokio::sync::Mutex::new(()),
                closing: AtomicBool::new(false),
                generation: AtomicU64::new(0),
                wake: Notify::new(),
            }),
        })
    }

    pub fn set_targets(&self, t: Arc<dyn Targets>) {
        if let Ok(mut slot) = self.inner.targets.write() {
            *slot = Some(t);
        }
        self.inner.wake.notify_one();
    }

    /// Trusts the certificates of `roots_pem` (PEM) for `https` endpoints; until called,
    /// deliveries to them fail and are retried.
    pub fn trust(&self, roots_pem: &str) -> Result<(), String> {
        let connector = http::tls_connector(roots_pem)?;
        if let Ok(mut slot) = self.inner.tls.write() {
            *slot = Some(connector);
        }
        Ok(())
    }

    /// Starts the delivery loop (which first loads or makes the signing key).
    pub fn start(&self) {
        tokio::spawn(delivery::run(self.inner.clone()));
    }

    /// Stops taking new deliveries; records not yet delivered stay in the outbox.
    pub fn shutdown(&self) {
        self.inner.closing.store(true, Ordering::SeqCst);
        self.inner.wake.notify_one();
    }

    /// After the store was wiped: keep using the signing key, and store it again so that it
    /// survives a restart.
    pub fn reset(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        self.inner.wake.notify_one();
        let inner = self.inner.clone();
        let Some(signer) = inner.signer.read().ok().and_then(|s| s.clone()) else { return };
        tokio::spawn(async move {
            let Ok(bytes) = signer.to_stored().and_then(|s| serde_json::to_vec(&s).map_err(|e| e.to_string())) else {
                return;
            };
            let r: Result<(), stratus_storage::StoreError> =
                inner.store.write(move |t| t.put(keys::SIGNING, &bytes)).await;
            if let Err(e) = r {
                tracing::warn!(error = %e, "could not store the SNS signing key after a reset");
            }
        });
    }

    /// Publishes on behalf of another part of Stratus (S3 notifications, Lambda destinations):
    /// the same checks, fan-out and durability as Publish. Returns the message id; a topic
    /// that does not exist is `NotFoundException` (wire code `NotFound`).
    pub async fn publish_internal(
        &self,
        topic_arn: &str,
        message: String,
        subject: Option<String>,
    ) -> Result<String, AwsError> {
        let input = types::PublishInput {
            topic_arn: Some(topic_arn.to_string()),
            target_arn: None,
            phone_number: None,
            message,
            subject,
            message_structure: None,
            message_attributes: Default::default(),
            message_deduplication_id: None,
            message_group_id: None,
        };
        Ok(publish::publish(&self.inner, input).await?.message_id)
    }

    /// The topic's resource policy (its `Policy` attribute, SNS's default one unless set) and
    /// tags, for authorization; None when the topic does not exist.
    pub async fn access_internal(&self, topic_arn: &str) -> Result<Option<stratus_core::ResourceAccess>, AwsError> {
        let arn = topic_arn.to_string();
        self.inner
            .read(move |r| match topic::load_topic(r, &arn) {
                Ok(t) => Ok(Some(stratus_core::ResourceAccess {
                    policy: t.all_attributes(0, 0).get("Policy").cloned(),
                    tags: t.tags.clone(),
                })),
                Err(e) if e.code == "NotFoundException" => Ok(None),
                Err(e) => Err(e),
            })
            .await
    }

    pub async fn topic_exists(&self, topic_arn: &str) -> Result<bool, AwsError> {
        let arn = topic_arn.to_string();
        self.inner
            .read(move |r| match topic::load_topic(r, &arn) {
                Ok(_) => Ok(true),
                Err(e) if e.code == "NotFoundException" => Ok(false),
                Err(e) => Err(e),
            })
            .await
    }

    /// The SMS and push messages recorded instead of sent, oldest first, filtered by member
    /// equality (`phoneNumber`, `endpointArn`, `account`, `region`, `kind`).
    pub async fn recorded_messages(&self, filters: Vec<(String, String)>) -> Result<Value, AwsError> {
        let messages = self.inner.read(move |r| recorded::read(r, &filters)).await?;
        Ok(recorded::document(messages))
    }

    /// The PEM certificate that verifies message signatures (None until the key is ready).
    pub fn certificate_pem(&self) -> Option<String> {
        self.inner.signer.read().ok().and_then(|s| s.as_ref().map(|s| s.certificate_pem()))
    }

    /// The file name the certificate is served under (`SimpleNotificationService-{id}.pem`).
    pub fn certificate_file_name(&self) -> Option<String> {
        self.inner
            .signer
            .read()
            .ok()
            .and_then(|s| s.as_ref().map(|s| format!("SimpleNotificationService-{}.pem", s.id)))
    }
}

fn parse<T: serde::de::DeserializeOwned>(input: Value) -> Result<T, AwsError> {
    stratus_proto::typed_input(input, "InvalidParameterException")
}

fn none(r: Result<(), AwsError>) -> Result<Value, AwsError> {
    r.map(|()| Value::Null)
}

impl Service for Sns {
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
            // A topic is served in its own region only: an ARN of another one is refused as
            // a bad parameter, as SNS does.
            for member in ["TopicArn", "TargetArn"] {
                if let Some(arn) = input.get(member).and_then(Value::as_str).and_then(stratus_core::Arn::parse)
                    && arn.service == "sns"
                    && arn.region != ctx.region
                {
                    return Err(errors::invalid_parameter(member));
                }
            }
            match op.name.as_str() {
                "CreateTopic" => out(topics::create(i, ctx, parse(input)?).await?),
                "DeleteTopic" => none(topics::delete(i, parse(input)?).await),
                "ListTopics" => out(topics::list(i, ctx, parse(input)?).await?),
                "GetTopicAttributes" => out(topics::get_attributes(i, parse(input)?).await?),
                "SetTopicAttributes" => none(topics::set_attributes(i, parse(input)?).await),
                "TagResource" => out(topics::tag(i, parse(input)?).await?),
                "UntagResource" => out(topics::untag(i, parse(input)?).await?),
                "ListTagsForResource" => out(topics::list_tags(i, parse(input)?).await?),
                "Subscribe" => out(subscriptions::subscribe(i, parse(input)?).await?),
                "ConfirmSubscription" => out(subscriptions::confirm(i, parse(input)?).await?),
                "Unsubscribe" => none(subscriptions::unsubscribe(i, parse(input)?).await),
                "ListSubscriptions" => out(subscriptions::list(i, ctx, parse(input)?).await?),
                "ListSubscriptionsByTopic" => out(subscriptions::list_by_topic(i, parse(input)?).await?),
                "GetSubscriptionAttributes" => out(subscriptions::get_attributes(i, parse(input)?).await?),
                "SetSubscriptionAttributes" => none(subscriptions::set_attributes(i, parse(input)?).await),
                "Publish" => out(publish::publish_request(i, ctx, parse(input)?).await?),
                "PublishBatch" => out(publish::publish_batch(i, parse(input)?).await?),
                "AddPermission" => permissions::add(i, input).await,
                "RemovePermission" => permissions::remove(i, input).await,
                "PutDataProtectionPolicy" => permissions::put_data_protection(i, input).await,
                "GetDataProtectionPolicy" => permissions::get_data_protection(i, input).await,
                "CreatePlatformApplication" => mobile::create_app(i, ctx, input).await,
                "GetPlatformApplicationAttributes" => mobile::get_app_attributes(i, input).await,
                "SetPlatformApplicationAttributes" => mobile::set_app_attributes(i, input).await,
                "DeletePlatformApplication" => mobile::delete_app(i, input).await,
                "ListPlatformApplications" => mobile::list_apps(i, ctx, input).await,
                "CreatePlatformEndpoint" => mobile::create_endpoint(i, input).await,
                "GetEndpointAttributes" => mobile::get_endpoint_attributes(i, input).await,
                "SetEndpointAttributes" => mobile::set_endpoint_attributes(i, input).await,
                "DeleteEndpoint" => mobile::delete_endpoint(i, input).await,
                "ListEndpointsByPlatformApplication" => mobile::list_endpoints(i, input).await,
                "SetSMSAttributes" => sms::set_attributes(i, ctx, input).await,
                "GetSMSAttributes" => sms::get_attributes(i, ctx, input).await,
                "CheckIfPhoneNumberIsOptedOut" => sms::check_opted_out(i, ctx, input).await,
                "ListPhoneNumbersOptedOut" => sms::list_opted_out(i, ctx, input).await,
                "OptInPhoneNumber" => sms::opt_in(i, ctx, input).await,
                "GetSMSSandboxAccountStatus" => sms::sandbox_status().await,
                "CreateSMSSandboxPhoneNumber" => sms::sandbox_create(i, ctx, input).await,
                "VerifySMSSandboxPhoneNumber" => sms::sandbox_verify(i, ctx, input).await,
                "DeleteSMSSandboxPhoneNumber" => sms::sandbox_delete(i, ctx, input).await,
                "ListSMSSandboxPhoneNumbers" => sms::sandbox_list(i, ctx, input).await,
                "ListOriginationNumbers" => sms::list_origination_numbers(input).await,
                other => Err(errors::unsupported(other)),
            }
        })
    }

    fn checks(&self) -> Checks {
        Checks { enums: false, ranges: true }
    }

    fn validation_error(&self, _op: &Operation, failure: &ValidationFailure, _wire: Wire) -> AwsError {
        match failure {
            ValidationFailure::Missing { path, .. } if path == "PublishBatchRequestEntries" => errors::empty_batch(),
            other => errors::invalid_parameter(other.member()),
        }
    }
}
