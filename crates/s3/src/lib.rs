//! Amazon S3 on the Stratus storage interface, served over S3's REST-XML protocol by `s3s`:
//! buckets (location, versioning, tagging, policy, CORS, notification configuration),
//! objects (metadata, ranges, conditional requests, checksums, copy, tagging, versions and
//! delete markers), listings (v1, v2, versions), multipart uploads, and event notifications
//! written to the storage outbox in the transaction of the change that causes them.
//!
//! Operations not listed here answer `NotImplemented` (the `s3s` default), never a pretend
//! success. The gateway attaches a [`Caller`] to every request (account, region, request id).

use std::sync::{Arc, RwLock};

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};
use stratus_core::{AwsError, Env};
use stratus_storage::Store;

mod body;
mod buckets;
mod configs;
mod encryption;
mod errors;
pub use errors::ERROR_ELEMENTS;
mod keys;
mod lifecycle;
mod listing;
mod lock;
mod multipart;
pub mod notifications;
mod objects;
mod public;
mod replication;
mod reports;
mod select;
mod serverlog;
pub use serverlog::{AccessEntry, BucketSettings};
mod types;
pub mod website;

/// The outbox topic of S3 event notifications. A record is JSON `{"destination": "<arn>",
/// "source": "<bucket arn>", "source_account": "<bucket owner>", "event": <message to deliver>}`.
pub const EVENTS_TOPIC: &str = "s3-events";

/// Where notifications may go: the binary answers from the other services.
pub trait NotificationTargets: Send + Sync + 'static {
    /// Whether S3 may deliver events of the bucket `bucket_arn` (owned by `bucket_account`) to
    /// this destination ARN: it exists and its policy lets `s3.amazonaws.com` deliver.
    fn check<'a>(
        &'a self,
        arn: &'a str,
        bucket_arn: &'a str,
        bucket_account: &'a str,
    ) -> stratus_proto::BoxFuture<'a, bool>;
}

/// What authorizing a request to a bucket needs to know of it.
#[derive(Debug, Clone)]
pub struct BucketAccess {
    /// The account that owns it.
    pub owner: String,
    pub policy: Option<String>,
    /// Block Public Access's RestrictPublicBuckets holds for its public policy: only AWS
    /// services and the owner's own principals get access through it.
    pub restricted: bool,
    /// Its tags (`aws:ResourceTag/…`).
    pub tags: Vec<(String, String)>,
}

/// Who is calling: set by the gateway as a request extension.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: String,
    pub region: String,
    pub request_id: String,
    /// The access key id the request was signed with, if any.
    pub access_key: Option<String>,
    pub source_ip: String,
    /// The caller's ARN, for AWS's messages (`arn:aws:iam::{account}:root` when unknown).
    pub arn: String,
}

/// An internal response header: the status S3 answers where the protocol layer would write
/// another (RestoreObject's 202). The gateway applies and removes it.
pub const STATUS_OVERRIDE: &str = "x-stratus-status";

/// S3 acting on its own (lifecycle rules): its events name it as the principal.
pub(crate) const SERVICE_PRINCIPAL: &str = "s3.amazonaws.com";

impl Caller {
    fn principal_id(&self) -> String {
        if self.arn == SERVICE_PRINCIPAL {
            return SERVICE_PRINCIPAL.to_string();
        }
        format!("AWS:{}", self.access_key.as_deref().unwrap_or(&self.account))
    }
}

#[derive(Clone)]
pub struct S3 {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    env: Env,
    targets: RwLock<Option<Arc<dyn NotificationTargets>>>,
    settings: RwLock<Settings>,
    serverlog: serverlog::State,
}

/// Time settings of lifecycle rules and archive restores.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long a lifecycle "day" lasts (a real day unless shortened for tests).
    pub day_millis: u64,
    /// How long a RestoreObject takes to complete.
    pub restore_millis: u64,
    /// How often gathered server access log lines are written to their target buckets.
    pub access_log_millis: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { day_millis: 86_400_000, restore_millis: 0, access_log_millis: 10_000 }
    }
}

impl S3 {
    pub fn new(store: Store, env: Env) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                env,
                targets: RwLock::new(None),
                settings: RwLock::new(Settings::default()),
                serverlog: serverlog::State::default(),
            }),
        }
    }

    pub fn set_settings(&self, s: Settings) {
        if let Ok(mut slot) = self.inner.settings.write() {
            *slot = s;
        }
    }

    fn settings(&self) -> Settings {
        self.inner.settings.read().map(|s| *s).unwrap_or_default()
    }

    /// Starts the replicator and the lifecycle sweeper: every quarter of a lifecycle day (at least a second, at
    /// most a minute) the rules of every bucket are applied.
    pub fn start(&self) {
        tokio::spawn(replication::run(self.clone()));
        self.start_access_logs(self.settings().access_log_millis);
        let s3 = self.clone();
        tokio::spawn(async move {
            loop {
                let every = (s3.settings().day_millis / 4).clamp(1000, 60_000);
                tokio::time::sleep(std::time::Duration::from_millis(every)).await;
                if let Err(e) = lifecycle::sweep(&s3).await {
                    tracing::warn!(error = ?e, "the S3 lifecycle sweep failed");
                }
            }
        });
    }

    /// Applies every bucket's lifecycle rules once now; returns how many actions were taken.
    pub async fn sweep_lifecycle(&self) -> Result<usize, AwsError> {
        lifecycle::sweep(self)
            .await
            .map_err(|e| AwsError::new(e.code().as_str(), e.message().unwrap_or("").to_string()))
    }

    /// Sets how notification destinations are checked (without it, every destination is accepted).
    pub fn set_targets(&self, targets: Arc<dyn NotificationTargets>) {
        if let Ok(mut t) = self.inner.targets.write() {
            *t = Some(targets);
        }
    }

    /// Forgets in-memory state after the store was wiped (S3 keeps none today).
    pub fn reset(&self) {
        self.forget_all_settings();
    }

    /// The bucket's owner account and its policy, for authorization; None when the bucket does
    /// not exist.
    pub async fn bucket_policy_internal(&self, bucket: &str) -> Option<BucketAccess> {
        let b = objects::bucket_exists(self, bucket).await.ok()?;
        let public = b.policy.as_deref().is_some_and(public::is_public);
        let restricted = public && b.public_access_block.is_some_and(|p| p.restrict_public_buckets);
        Some(BucketAccess { owner: b.account, policy: b.policy, restricted, tags: b.tags.unwrap_or_default() })
    }

    /// Writes an object on behalf of another service (CloudWatch Logs exports), with its
    /// event notifications, as `writer` (the account acting).
    pub async fn put_object_internal(
        &self,
        bucket: &str,
        key: &str,
        data: Vec<u8>,
        writer: &str,
    ) -> Result<(), AwsError> {
        objects::put_internal(self, bucket, key, data, writer).await.map_err(|e| {
            let code = e.code().as_str().to_string();
            let status = e.status_code().map(|s| s.as_u16()).unwrap_or(400);
            AwsError::new(code, e.message().unwrap_or("").to_string()).with_status(status)
        })
    }

    /// Reads a whole object (Lambda's `S3Bucket`/`S3Key` code). Errors: `NoSuchBucket`, `NoSuchKey`.
    pub async fn get_object_internal(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<Vec<u8>, AwsError> {
        objects::read_whole(self, bucket, key, version_id).await.map_err(|e| {
            let code = e.code().as_str().to_string();
            let status = e.status_code().map(|s| s.as_u16()).unwrap_or(400);
            AwsError::new(code, e.message().unwrap_or("").to_string()).with_status(status)
        })
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    fn env(&self) -> &Env {
        &self.inner.env
    }

    fn now_millis(&self) -> u64 {
        self.inner.env.clock.now_millis()
    }

    fn targets(&self) -> Option<Arc<dyn NotificationTargets>> {
        self.inner.targets.read().ok().and_then(|t| t.clone())
    }

    /// A new opaque id (version ids, upload ids).
    fn new_id(&self) -> String {
        hex::encode(self.inner.env.ids.random_bytes())
    }
}

/// The caller attached by the gateway (tests and internal calls get the default account).
fn caller<T>(req: &S3Request<T>) -> Caller {
    req.extensions.get::<Caller>().cloned().unwrap_or_else(|| Caller {
        account: "000000000000".into(),
        region: req.region.as_ref().map(|r| r.as_str().to_string()).unwrap_or_else(|| "us-east-1".into()),
        request_id: String::new(),
        access_key: req.credentials.as_ref().map(|c| c.access_key.clone()),
        source_ip: "127.0.0.1".into(),
        arn: "arn:aws:iam::000000000000:root".into(),
    })
}

#[async_trait::async_trait]
impl s3s::S3 for S3 {
    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        let bucket = req.input.bucket.clone();
        let r = buckets::create(self, req).await;
        self.forget_settings(&bucket);
        r
    }
    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        let bucket = req.input.bucket.clone();
        let r = buckets::delete(self, req).await;
        self.forget_settings(&bucket);
        r
    }
    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        buckets::head(self, req).await
    }
    async fn list_buckets(&self, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        buckets::list(self, req).await
    }
    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        buckets::location(self, req).await
    }
    async fn put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        buckets::put_versioning(self, req).await
    }
    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        buckets::get_versioning(self, req).await
    }
    async fn put_bucket_tagging(
        &self,
        req: S3Request<PutBucketTaggingInput>,
    ) -> S3Result<S3Response<PutBucketTaggingOutput>> {
        buckets::put_tagging(self, req).await
    }
    async fn get_bucket_tagging(
        &self,
        req: S3Request<GetBucketTaggingInput>,
    ) -> S3Result<S3Response<GetBucketTaggingOutput>> {
        buckets::get_tagging(self, req).await
    }
    async fn delete_bucket_tagging(
        &self,
        req: S3Request<DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
        buckets::delete_tagging(self, req).await
    }
    async fn put_bucket_policy(
        &self,
        req: S3Request<PutBucketPolicyInput>,
    ) -> S3Result<S3Response<PutBucketPolicyOutput>> {
        buckets::put_policy(self, req).await
    }
    async fn get_bucket_policy(
        &self,
        req: S3Request<GetBucketPolicyInput>,
    ) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        buckets::get_policy(self, req).await
    }
    async fn delete_bucket_policy(
        &self,
        req: S3Request<DeleteBucketPolicyInput>,
    ) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
        buckets::delete_policy(self, req).await
    }
    async fn get_bucket_policy_status(
        &self,
        req: S3Request<GetBucketPolicyStatusInput>,
    ) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
        buckets::policy_status(self, req).await
    }
    async fn put_public_access_block(
        &self,
        req: S3Request<PutPublicAccessBlockInput>,
    ) -> S3Result<S3Response<PutPublicAccessBlockOutput>> {
        buckets::put_public_access_block(self, req).await
    }
    async fn get_public_access_block(
        &self,
        req: S3Request<GetPublicAccessBlockInput>,
    ) -> S3Result<S3Response<GetPublicAccessBlockOutput>> {
        buckets::get_public_access_block(self, req).await
    }
    async fn delete_public_access_block(
        &self,
        req: S3Request<DeletePublicAccessBlockInput>,
    ) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> {
        buckets::delete_public_access_block(self, req).await
    }
    async fn put_bucket_encryption(
        &self,
        req: S3Request<PutBucketEncryptionInput>,
    ) -> S3Result<S3Response<PutBucketEncryptionOutput>> {
        configs::put_encryption(self, req).await
    }
    async fn get_bucket_encryption(
        &self,
        req: S3Request<GetBucketEncryptionInput>,
    ) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
        configs::get_encryption(self, req).await
    }
    async fn delete_bucket_encryption(
        &self,
        req: S3Request<DeleteBucketEncryptionInput>,
    ) -> S3Result<S3Response<DeleteBucketEncryptionOutput>> {
        configs::delete_encryption(self, req).await
    }
    async fn put_bucket_website(
        &self,
        req: S3Request<PutBucketWebsiteInput>,
    ) -> S3Result<S3Response<PutBucketWebsiteOutput>> {
        configs::put_website(self, req).await
    }
    async fn get_bucket_website(
        &self,
        req: S3Request<GetBucketWebsiteInput>,
    ) -> S3Result<S3Response<GetBucketWebsiteOutput>> {
        configs::get_website(self, req).await
    }
    async fn delete_bucket_website(
        &self,
        req: S3Request<DeleteBucketWebsiteInput>,
    ) -> S3Result<S3Response<DeleteBucketWebsiteOutput>> {
        configs::delete_website(self, req).await
    }
    async fn put_bucket_logging(
        &self,
        req: S3Request<PutBucketLoggingInput>,
    ) -> S3Result<S3Response<PutBucketLoggingOutput>> {
        let bucket = req.input.bucket.clone();
        let r = configs::put_logging(self, req).await;
        self.forget_settings(&bucket);
        r
    }
    async fn get_bucket_logging(
        &self,
        req: S3Request<GetBucketLoggingInput>,
    ) -> S3Result<S3Response<GetBucketLoggingOutput>> {
        configs::get_logging(self, req).await
    }
    async fn put_bucket_lifecycle_configuration(
        &self,
        req: S3Request<PutBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
        configs::put_lifecycle(self, req).await
    }
    async fn get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
        configs::get_lifecycle(self, req).await
    }
    async fn delete_bucket_lifecycle(
        &self,
        req: S3Request<DeleteBucketLifecycleInput>,
    ) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
        configs::delete_lifecycle(self, req).await
    }
    async fn put_bucket_replication(
        &self,
        req: S3Request<PutBucketReplicationInput>,
    ) -> S3Result<S3Response<PutBucketReplicationOutput>> {
        configs::put_replication(self, req).await
    }
    async fn get_bucket_replication(
        &self,
        req: S3Request<GetBucketReplicationInput>,
    ) -> S3Result<S3Response<GetBucketReplicationOutput>> {
        configs::get_replication(self, req).await
    }
    async fn delete_bucket_replication(
        &self,
        req: S3Request<DeleteBucketReplicationInput>,
    ) -> S3Result<S3Response<DeleteBucketReplicationOutput>> {
        configs::delete_replication(self, req).await
    }
    async fn put_object_lock_configuration(
        &self,
        req: S3Request<PutObjectLockConfigurationInput>,
    ) -> S3Result<S3Response<PutObjectLockConfigurationOutput>> {
        configs::put_object_lock(self, req).await
    }
    async fn get_object_lock_configuration(
        &self,
        req: S3Request<GetObjectLockConfigurationInput>,
    ) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> {
        configs::get_object_lock(self, req).await
    }
    async fn put_bucket_accelerate_configuration(
        &self,
        req: S3Request<PutBucketAccelerateConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketAccelerateConfigurationOutput>> {
        configs::put_accelerate(self, req).await
    }
    async fn get_bucket_accelerate_configuration(
        &self,
        req: S3Request<GetBucketAccelerateConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketAccelerateConfigurationOutput>> {
        configs::get_accelerate(self, req).await
    }
    async fn put_bucket_request_payment(
        &self,
        req: S3Request<PutBucketRequestPaymentInput>,
    ) -> S3Result<S3Response<PutBucketRequestPaymentOutput>> {
        let bucket = req.input.bucket.clone();
        let r = configs::put_request_payment(self, req).await;
        self.forget_settings(&bucket);
        r
    }
    async fn get_bucket_request_payment(
        &self,
        req: S3Request<GetBucketRequestPaymentInput>,
    ) -> S3Result<S3Response<GetBucketRequestPaymentOutput>> {
        configs::get_request_payment(self, req).await
    }
    async fn put_bucket_ownership_controls(
        &self,
        req: S3Request<PutBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
        configs::put_ownership(self, req).await
    }
    async fn get_bucket_ownership_controls(
        &self,
        req: S3Request<GetBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
        configs::get_ownership(self, req).await
    }
    async fn delete_bucket_ownership_controls(
        &self,
        req: S3Request<DeleteBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> {
        configs::delete_ownership(self, req).await
    }
    async fn put_bucket_acl(&self, req: S3Request<PutBucketAclInput>) -> S3Result<S3Response<PutBucketAclOutput>> {
        configs::put_bucket_acl(self, req).await
    }
    async fn get_bucket_acl(&self, req: S3Request<GetBucketAclInput>) -> S3Result<S3Response<GetBucketAclOutput>> {
        configs::get_bucket_acl(self, req).await
    }
    async fn put_object_acl(&self, req: S3Request<PutObjectAclInput>) -> S3Result<S3Response<PutObjectAclOutput>> {
        configs::put_object_acl(self, req).await
    }
    async fn select_object_content(
        &self,
        req: S3Request<SelectObjectContentInput>,
    ) -> S3Result<S3Response<SelectObjectContentOutput>> {
        select::select(self, req).await
    }
    async fn get_object_acl(&self, req: S3Request<GetObjectAclInput>) -> S3Result<S3Response<GetObjectAclOutput>> {
        configs::get_object_acl(self, req).await
    }
    async fn put_bucket_cors(&self, req: S3Request<PutBucketCorsInput>) -> S3Result<S3Response<PutBucketCorsOutput>> {
        buckets::put_cors(self, req).await
    }
    async fn get_bucket_cors(&self, req: S3Request<GetBucketCorsInput>) -> S3Result<S3Response<GetBucketCorsOutput>> {
        buckets::get_cors(self, req).await
    }
    async fn delete_bucket_cors(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        buckets::delete_cors(self, req).await
    }
    async fn put_bucket_notification_configuration(
        &self,
        req: S3Request<PutBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketNotificationConfigurationOutput>> {
        buckets::put_notifications(self, req).await
    }
    async fn get_bucket_notification_configuration(
        &self,
        req: S3Request<GetBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketNotificationConfigurationOutput>> {
        buckets::get_notifications(self, req).await
    }
    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        objects::put(self, req).await
    }
    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        objects::get(self, req).await
    }
    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        objects::head(self, req).await
    }
    async fn put_object_retention(
        &self,
        req: S3Request<PutObjectRetentionInput>,
    ) -> S3Result<S3Response<PutObjectRetentionOutput>> {
        lock::put_retention(self, req).await
    }
    async fn get_object_retention(
        &self,
        req: S3Request<GetObjectRetentionInput>,
    ) -> S3Result<S3Response<GetObjectRetentionOutput>> {
        lock::get_retention(self, req).await
    }
    async fn put_object_legal_hold(
        &self,
        req: S3Request<PutObjectLegalHoldInput>,
    ) -> S3Result<S3Response<PutObjectLegalHoldOutput>> {
        lock::put_legal_hold(self, req).await
    }
    async fn get_object_legal_hold(
        &self,
        req: S3Request<GetObjectLegalHoldInput>,
    ) -> S3Result<S3Response<GetObjectLegalHoldOutput>> {
        lock::get_legal_hold(self, req).await
    }
    async fn put_bucket_inventory_configuration(
        &self,
        req: S3Request<PutBucketInventoryConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketInventoryConfigurationOutput>> {
        reports::put_inventory(self, req).await
    }
    async fn get_bucket_inventory_configuration(
        &self,
        req: S3Request<GetBucketInventoryConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketInventoryConfigurationOutput>> {
        reports::get_inventory(self, req).await
    }
    async fn delete_bucket_inventory_configuration(
        &self,
        req: S3Request<DeleteBucketInventoryConfigurationInput>,
    ) -> S3Result<S3Response<DeleteBucketInventoryConfigurationOutput>> {
        reports::delete_inventory(self, req).await
    }
    async fn list_bucket_inventory_configurations(
        &self,
        req: S3Request<ListBucketInventoryConfigurationsInput>,
    ) -> S3Result<S3Response<ListBucketInventoryConfigurationsOutput>> {
        reports::list_inventory(self, req).await
    }
    async fn put_bucket_analytics_configuration(
        &self,
        req: S3Request<PutBucketAnalyticsConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketAnalyticsConfigurationOutput>> {
        reports::put_analytics(self, req).await
    }
    async fn get_bucket_analytics_configuration(
        &self,
        req: S3Request<GetBucketAnalyticsConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketAnalyticsConfigurationOutput>> {
        reports::get_analytics(self, req).await
    }
    async fn delete_bucket_analytics_configuration(
        &self,
        req: S3Request<DeleteBucketAnalyticsConfigurationInput>,
    ) -> S3Result<S3Response<DeleteBucketAnalyticsConfigurationOutput>> {
        reports::delete_analytics(self, req).await
    }
    async fn list_bucket_analytics_configurations(
        &self,
        req: S3Request<ListBucketAnalyticsConfigurationsInput>,
    ) -> S3Result<S3Response<ListBucketAnalyticsConfigurationsOutput>> {
        reports::list_analytics(self, req).await
    }
    async fn put_bucket_metrics_configuration(
        &self,
        req: S3Request<PutBucketMetricsConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketMetricsConfigurationOutput>> {
        reports::put_metrics(self, req).await
    }
    async fn get_bucket_metrics_configuration(
        &self,
        req: S3Request<GetBucketMetricsConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketMetricsConfigurationOutput>> {
        reports::get_metrics(self, req).await
    }
    async fn delete_bucket_metrics_configuration(
        &self,
        req: S3Request<DeleteBucketMetricsConfigurationInput>,
    ) -> S3Result<S3Response<DeleteBucketMetricsConfigurationOutput>> {
        reports::delete_metrics(self, req).await
    }
    async fn list_bucket_metrics_configurations(
        &self,
        req: S3Request<ListBucketMetricsConfigurationsInput>,
    ) -> S3Result<S3Response<ListBucketMetricsConfigurationsOutput>> {
        reports::list_metrics(self, req).await
    }
    async fn put_bucket_intelligent_tiering_configuration(
        &self,
        req: S3Request<PutBucketIntelligentTieringConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketIntelligentTieringConfigurationOutput>> {
        reports::put_tiering(self, req).await
    }
    async fn get_bucket_intelligent_tiering_configuration(
        &self,
        req: S3Request<GetBucketIntelligentTieringConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketIntelligentTieringConfigurationOutput>> {
        reports::get_tiering(self, req).await
    }
    async fn delete_bucket_intelligent_tiering_configuration(
        &self,
        req: S3Request<DeleteBucketIntelligentTieringConfigurationInput>,
    ) -> S3Result<S3Response<DeleteBucketIntelligentTieringConfigurationOutput>> {
        reports::delete_tiering(self, req).await
    }
    async fn list_bucket_intelligent_tiering_configurations(
        &self,
        req: S3Request<ListBucketIntelligentTieringConfigurationsInput>,
    ) -> S3Result<S3Response<ListBucketIntelligentTieringConfigurationsOutput>> {
        reports::list_tiering(self, req).await
    }
    async fn restore_object(&self, req: S3Request<RestoreObjectInput>) -> S3Result<S3Response<RestoreObjectOutput>> {
        lifecycle::restore(self, req).await
    }
    async fn get_object_attributes(
        &self,
        req: S3Request<GetObjectAttributesInput>,
    ) -> S3Result<S3Response<GetObjectAttributesOutput>> {
        objects::attributes(self, req).await
    }
    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        objects::delete(self, req).await
    }
    async fn post_object(&self, req: S3Request<PostObjectInput>) -> S3Result<S3Response<PostObjectOutput>> {
        objects::post(self, req).await
    }
    async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
        objects::delete_many(self, req).await
    }
    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        objects::copy(self, req).await
    }
    async fn put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        objects::put_tagging(self, req).await
    }
    async fn get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        objects::get_tagging(self, req).await
    }
    async fn delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        objects::delete_tagging(self, req).await
    }
    async fn list_objects(&self, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
        listing::list_v1(self, req).await
    }
    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        listing::list_v2(self, req).await
    }
    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        listing::list_versions(self, req).await
    }
    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        multipart::create(self, req).await
    }
    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        multipart::upload_part(self, req).await
    }
    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        multipart::upload_part_copy(self, req).await
    }
    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        multipart::complete(self, req).await
    }
    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        multipart::abort(self, req).await
    }
    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        multipart::list_parts(self, req).await
    }
    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        multipart::list_uploads(self, req).await
    }
}
