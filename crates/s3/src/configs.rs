//! Bucket configurations that are kept as they were put and answered back — default
//! encryption, website, logging, lifecycle, replication, Object Lock, transfer acceleration,
//! request payment, object ownership — and ACLs. Each is stored as its XML (s3s's own
//! serializers, so every member survives) in the bucket's `configs`, with AWS's defaults for
//! what was never put (SSE-S3 encryption, `BucketOwnerEnforced` ownership, the owner's full
//! control) and AWS's errors for what is missing or not allowed.

use s3s::dto::*;
use s3s::xml::{Deserialize, Serialize};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::S3;
use crate::buckets::owner;
use crate::errors::{Fail, invalid_argument};
use crate::objects::{self, load_bucket, save_bucket};
use crate::types::{Bucket, Versioning};

const ENCRYPTION: &str = "encryption";
const WEBSITE: &str = "website";
const LOGGING: &str = "logging";
const LIFECYCLE: &str = "lifecycle";
const REPLICATION: &str = "replication";
const OBJECT_LOCK: &str = "object-lock";
const ACCELERATE: &str = "accelerate";
const REQUEST_PAYMENT: &str = "request-payment";
const OWNERSHIP: &str = "ownership";
const ACL: &str = "acl";

pub(crate) fn to_xml<T: Serialize>(v: &T) -> S3Result<String> {
    let mut buf = Vec::new();
    let mut ser = s3s::xml::Serializer::new(&mut buf);
    v.serialize(&mut ser).map_err(|e| s3_error!(InternalError, "cannot write a configuration: {e:?}"))?;
    String::from_utf8(buf).map_err(|_| s3_error!(InternalError, "a configuration is not UTF-8"))
}

pub(crate) fn from_xml<T>(s: &str) -> S3Result<T>
where
    T: for<'x> Deserialize<'x>,
{
    let mut de = s3s::xml::Deserializer::new(s.as_bytes());
    T::deserialize(&mut de).map_err(|e| s3_error!(InternalError, "a stored configuration cannot be read: {e:?}"))
}

/// Sets (Some) or removes (None) one configuration, after `check` approves the bucket.
async fn set(
    s3: &S3,
    bucket: String,
    name: &'static str,
    xml: Option<String>,
    check: impl FnOnce(&Bucket) -> S3Result<()> + Send + 'static,
) -> S3Result<()> {
    s3.store()
        .write(move |t| {
            let mut b = load_bucket(t, &bucket)?;
            check(&b).map_err(Fail)?;
            match xml {
                Some(x) => b.configs.insert(name.to_string(), x),
                None => b.configs.remove(name),
            };
            save_bucket(t, &b)?;
            Ok::<_, Fail>(())
        })
        .await
        .map_err(|f: Fail| f.0)
}

/// A stored replication configuration.
pub(crate) fn replication_from_xml(x: &str) -> S3Result<ReplicationConfiguration> {
    from_xml(x)
}

/// A stored default encryption configuration.
pub(crate) fn encryption_from_xml(x: &str) -> S3Result<ServerSideEncryptionConfiguration> {
    from_xml(x)
}

/// A stored Object Lock configuration (its default retention).
pub(crate) fn object_lock_from_xml(x: &str) -> S3Result<ObjectLockConfiguration> {
    from_xml(x)
}

/// A stored lifecycle configuration, for the sweeper.
pub(crate) fn lifecycle_from_xml(x: &str) -> S3Result<BucketLifecycleConfiguration> {
    from_xml(x)
}

/// A stored website configuration, for the website endpoint.
pub(crate) fn website_from_xml(x: &str) -> S3Result<WebsiteConfiguration> {
    from_xml(x)
}

async fn get<T>(s3: &S3, bucket: &str, name: &str) -> S3Result<(Bucket, Option<T>)>
where
    T: for<'x> Deserialize<'x>,
{
    let b = objects::bucket_exists(s3, bucket).await?;
    let v = match b.configs.get(name) {
        Some(x) => Some(from_xml(x)?),
        None => None,
    };
    Ok((b, v))
}

fn any(_: &Bucket) -> S3Result<()> {
    Ok(())
}

fn versioned(what: &'static str) -> impl FnOnce(&Bucket) -> S3Result<()> + Send + 'static {
    move |b: &Bucket| {
        if b.versioning == Versioning::Enabled {
            Ok(())
        } else {
            Err(s3_error!(InvalidRequest, "Versioning must be 'Enabled' on the bucket to apply a {what} configuration"))
        }
    }
}

// ------------------------------------------------------------------------- encryption

fn default_encryption() -> ServerSideEncryptionConfiguration {
    ServerSideEncryptionConfiguration {
        rules: vec![ServerSideEncryptionRule {
            apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                sse_algorithm: ServerSideEncryption::from_static(ServerSideEncryption::AES256),
                kms_master_key_id: None,
            }),
            bucket_key_enabled: Some(false),
        }],
    }
}

pub async fn put_encryption(
    s3: &S3,
    req: S3Request<PutBucketEncryptionInput>,
) -> S3Result<S3Response<PutBucketEncryptionOutput>> {
    let i = req.input;
    let c = i.server_side_encryption_configuration;
    if c.rules.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    }
    for r in &c.rules {
        if let Some(d) = &r.apply_server_side_encryption_by_default
            && !matches!(d.sse_algorithm.as_str(), "AES256" | "aws:kms" | "aws:kms:dsse")
        {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
    }
    set(s3, i.bucket, ENCRYPTION, Some(to_xml(&c)?), any).await?;
    Ok(S3Response::new(PutBucketEncryptionOutput {}))
}

pub async fn get_encryption(
    s3: &S3,
    req: S3Request<GetBucketEncryptionInput>,
) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
    let (_, c) = get::<ServerSideEncryptionConfiguration>(s3, &req.input.bucket, ENCRYPTION).await?;
    Ok(S3Response::new(GetBucketEncryptionOutput {
        server_side_encryption_configuration: Some(c.unwrap_or_else(default_encryption)),
    }))
}

pub async fn delete_encryption(
    s3: &S3,
    req: S3Request<DeleteBucketEncryptionInput>,
) -> S3Result<S3Response<DeleteBucketEncryptionOutput>> {
    set(s3, req.input.bucket, ENCRYPTION, None, any).await?;
    Ok(S3Response::new(DeleteBucketEncryptionOutput {}))
}

// ------------------------------------------------------------------------- website

pub async fn put_website(
    s3: &S3,
    req: S3Request<PutBucketWebsiteInput>,
) -> S3Result<S3Response<PutBucketWebsiteOutput>> {
    let i = req.input;
    let w = &i.website_configuration;
    if w.index_document.is_none() && w.redirect_all_requests_to.is_none() {
        return Err(invalid_argument(
            "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty",
        ));
    }
    if w.redirect_all_requests_to.is_some()
        && (w.index_document.is_some() || w.error_document.is_some() || w.routing_rules.is_some())
    {
        return Err(invalid_argument(
            "RedirectAllRequestsTo cannot be provided in conjunction with other Routing/Redirect configurations.",
        ));
    }
    if let Some(d) = &w.index_document
        && (d.suffix.is_empty() || d.suffix.contains('/'))
    {
        return Err(invalid_argument("The IndexDocument Suffix is not well formed"));
    }
    set(s3, i.bucket, WEBSITE, Some(to_xml(&i.website_configuration)?), any).await?;
    Ok(S3Response::new(PutBucketWebsiteOutput {}))
}

pub async fn get_website(
    s3: &S3,
    req: S3Request<GetBucketWebsiteInput>,
) -> S3Result<S3Response<GetBucketWebsiteOutput>> {
    let (_, w) = get::<WebsiteConfiguration>(s3, &req.input.bucket, WEBSITE).await?;
    let Some(w) = w else {
        return Err(s3_error!(
            NoSuchWebsiteConfiguration,
            "The specified bucket does not have a website configuration"
        ));
    };
    Ok(S3Response::new(GetBucketWebsiteOutput {
        error_document: w.error_document,
        index_document: w.index_document,
        redirect_all_requests_to: w.redirect_all_requests_to,
        routing_rules: w.routing_rules,
    }))
}

pub async fn delete_website(
    s3: &S3,
    req: S3Request<DeleteBucketWebsiteInput>,
) -> S3Result<S3Response<DeleteBucketWebsiteOutput>> {
    set(s3, req.input.bucket, WEBSITE, None, any).await?;
    Ok(S3Response::new(DeleteBucketWebsiteOutput {}))
}

// ------------------------------------------------------------------------- logging

pub async fn put_logging(
    s3: &S3,
    req: S3Request<PutBucketLoggingInput>,
) -> S3Result<S3Response<PutBucketLoggingOutput>> {
    let i = req.input;
    if let Some(l) = &i.bucket_logging_status.logging_enabled
        && objects::bucket_exists(s3, &l.target_bucket).await.is_err()
    {
        return Err(s3_error!(InvalidTargetBucketForLogging, "The target bucket for logging does not exist"));
    }
    let xml =
        i.bucket_logging_status.logging_enabled.is_some().then(|| to_xml(&i.bucket_logging_status)).transpose()?;
    set(s3, i.bucket, LOGGING, xml, any).await?;
    Ok(S3Response::new(PutBucketLoggingOutput {}))
}

pub async fn get_logging(
    s3: &S3,
    req: S3Request<GetBucketLoggingInput>,
) -> S3Result<S3Response<GetBucketLoggingOutput>> {
    let (_, l) = get::<BucketLoggingStatus>(s3, &req.input.bucket, LOGGING).await?;
    Ok(S3Response::new(GetBucketLoggingOutput { logging_enabled: l.and_then(|l| l.logging_enabled) }))
}

// ------------------------------------------------------------------------- lifecycle

pub async fn put_lifecycle(
    s3: &S3,
    req: S3Request<PutBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
    let i = req.input;
    let Some(c) = i.lifecycle_configuration else {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    };
    if c.rules.is_empty() || c.rules.len() > 1000 {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    }
    let mut ids = std::collections::HashSet::new();
    for r in &c.rules {
        if let Some(id) = &r.id
            && (!ids.insert(id.clone()) || id.len() > 255)
        {
            return Err(invalid_argument("Rule ID must be unique. Found same ID for more than one rule"));
        }
        if !matches!(r.status.as_str(), "Enabled" | "Disabled") {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
        let has_action = r.expiration.is_some()
            || r.transitions.as_ref().is_some_and(|t| !t.is_empty())
            || r.noncurrent_version_expiration.is_some()
            || r.noncurrent_version_transitions.as_ref().is_some_and(|t| !t.is_empty())
            || r.abort_incomplete_multipart_upload.is_some();
        if !has_action {
            return Err(invalid_argument("At least one action needs to be specified in a rule"));
        }
        for t in r.transitions.iter().flatten() {
            let class = t.storage_class.as_ref().map(|c| c.as_str()).unwrap_or_default();
            if matches!(class, "STANDARD_IA" | "ONEZONE_IA") && t.days.is_some_and(|d| d < 30) {
                return Err(invalid_argument(&format!(
                    "'Days' in Transition action must be greater than or equal to 30 for storageClass '{class}'"
                )));
            }
        }
    }
    set(s3, i.bucket, LIFECYCLE, Some(to_xml(&c)?), any).await?;
    Ok(S3Response::new(PutBucketLifecycleConfigurationOutput::default()))
}

pub async fn get_lifecycle(
    s3: &S3,
    req: S3Request<GetBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
    let (_, c) = get::<BucketLifecycleConfiguration>(s3, &req.input.bucket, LIFECYCLE).await?;
    let Some(c) = c else {
        return Err(s3_error!(NoSuchLifecycleConfiguration, "The lifecycle configuration does not exist"));
    };
    Ok(S3Response::new(GetBucketLifecycleConfigurationOutput { rules: Some(c.rules), ..Default::default() }))
}

pub async fn delete_lifecycle(
    s3: &S3,
    req: S3Request<DeleteBucketLifecycleInput>,
) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
    set(s3, req.input.bucket, LIFECYCLE, None, any).await?;
    Ok(S3Response::new(DeleteBucketLifecycleOutput {}))
}

// ------------------------------------------------------------------------- replication

pub async fn put_replication(
    s3: &S3,
    req: S3Request<PutBucketReplicationInput>,
) -> S3Result<S3Response<PutBucketReplicationOutput>> {
    let i = req.input;
    if i.replication_configuration.rules.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    }
    set(s3, i.bucket, REPLICATION, Some(to_xml(&i.replication_configuration)?), versioned("replication")).await?;
    Ok(S3Response::new(PutBucketReplicationOutput {}))
}

pub async fn get_replication(
    s3: &S3,
    req: S3Request<GetBucketReplicationInput>,
) -> S3Result<S3Response<GetBucketReplicationOutput>> {
    let (_, c) = get::<ReplicationConfiguration>(s3, &req.input.bucket, REPLICATION).await?;
    let Some(c) = c else {
        return Err(s3_error!(ReplicationConfigurationNotFoundError, "The replication configuration was not found"));
    };
    Ok(S3Response::new(GetBucketReplicationOutput { replication_configuration: Some(c) }))
}

pub async fn delete_replication(
    s3: &S3,
    req: S3Request<DeleteBucketReplicationInput>,
) -> S3Result<S3Response<DeleteBucketReplicationOutput>> {
    set(s3, req.input.bucket, REPLICATION, None, any).await?;
    Ok(S3Response::new(DeleteBucketReplicationOutput {}))
}

// ------------------------------------------------------------------------- Object Lock

pub async fn put_object_lock(
    s3: &S3,
    req: S3Request<PutObjectLockConfigurationInput>,
) -> S3Result<S3Response<PutObjectLockConfigurationOutput>> {
    let i = req.input;
    let Some(c) = i.object_lock_configuration else {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    };
    if c.object_lock_enabled.as_ref().map(|e| e.as_str()) != Some("Enabled") {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    }
    if let Some(d) = c.rule.as_ref().and_then(|r| r.default_retention.as_ref()) {
        if d.days.is_some() == d.years.is_some() {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
        if d.days.is_some_and(|n| n <= 0) || d.years.is_some_and(|n| n <= 0) {
            return Err(invalid_argument("Default retention period must be a positive integer value"));
        }
    }
    let check = |b: &Bucket| {
        if b.versioning == Versioning::Enabled {
            Ok(())
        } else {
            Err(s3_error!(
                InvalidBucketState,
                "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration"
            ))
        }
    };
    set(s3, i.bucket, OBJECT_LOCK, Some(to_xml(&c)?), check).await?;
    Ok(S3Response::new(PutObjectLockConfigurationOutput::default()))
}

pub async fn get_object_lock(
    s3: &S3,
    req: S3Request<GetObjectLockConfigurationInput>,
) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> {
    let (_, c) = get::<ObjectLockConfiguration>(s3, &req.input.bucket, OBJECT_LOCK).await?;
    let Some(c) = c else {
        return Err(s3_error!(
            ObjectLockConfigurationNotFoundError,
            "Object Lock configuration does not exist for this bucket"
        ));
    };
    Ok(S3Response::new(GetObjectLockConfigurationOutput { object_lock_configuration: Some(c) }))
}

/// The Object Lock configuration of a bucket created with Object Lock enabled.
pub fn object_lock_enabled() -> S3Result<String> {
    to_xml(&ObjectLockConfiguration {
        object_lock_enabled: Some(ObjectLockEnabled::from_static(ObjectLockEnabled::ENABLED)),
        rule: None,
    })
}

// ------------------------------------------------------------------------- acceleration, payment

pub async fn put_accelerate(
    s3: &S3,
    req: S3Request<PutBucketAccelerateConfigurationInput>,
) -> S3Result<S3Response<PutBucketAccelerateConfigurationOutput>> {
    let i = req.input;
    match i.accelerate_configuration.status.as_ref().map(|s| s.as_str()) {
        Some("Enabled" | "Suspended") => {}
        _ => {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
    }
    if i.bucket.contains('.') {
        return Err(s3_error!(
            InvalidRequest,
            "S3 Transfer Acceleration is not supported for buckets with periods (.) in their names"
        ));
    }
    set(s3, i.bucket, ACCELERATE, Some(to_xml(&i.accelerate_configuration)?), any).await?;
    Ok(S3Response::new(PutBucketAccelerateConfigurationOutput {}))
}

pub async fn get_accelerate(
    s3: &S3,
    req: S3Request<GetBucketAccelerateConfigurationInput>,
) -> S3Result<S3Response<GetBucketAccelerateConfigurationOutput>> {
    let (_, c) = get::<AccelerateConfiguration>(s3, &req.input.bucket, ACCELERATE).await?;
    Ok(S3Response::new(GetBucketAccelerateConfigurationOutput {
        status: c.and_then(|c| c.status),
        ..Default::default()
    }))
}

pub async fn put_request_payment(
    s3: &S3,
    req: S3Request<PutBucketRequestPaymentInput>,
) -> S3Result<S3Response<PutBucketRequestPaymentOutput>> {
    let i = req.input;
    if !matches!(i.request_payment_configuration.payer.as_str(), "BucketOwner" | "Requester") {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    }
    set(s3, i.bucket, REQUEST_PAYMENT, Some(to_xml(&i.request_payment_configuration)?), any).await?;
    Ok(S3Response::new(PutBucketRequestPaymentOutput {}))
}

pub async fn get_request_payment(
    s3: &S3,
    req: S3Request<GetBucketRequestPaymentInput>,
) -> S3Result<S3Response<GetBucketRequestPaymentOutput>> {
    let (_, c) = get::<RequestPaymentConfiguration>(s3, &req.input.bucket, REQUEST_PAYMENT).await?;
    let payer = c.map(|c| c.payer).unwrap_or_else(|| Payer::from_static(Payer::BUCKET_OWNER));
    Ok(S3Response::new(GetBucketRequestPaymentOutput { payer: Some(payer) }))
}

// ------------------------------------------------------------------------- ownership and ACLs

/// The object ownership of a bucket: what was put, else AWS's default for new buckets.
fn ownership_of(b: &Bucket) -> S3Result<Option<String>> {
    match b.configs.get(OWNERSHIP) {
        Some(x) if x.is_empty() => Ok(None),
        Some(x) => {
            let c: OwnershipControls = from_xml(x)?;
            Ok(c.rules.first().map(|r| r.object_ownership.as_str().to_string()))
        }
        None => Ok(Some(ObjectOwnership::BUCKET_OWNER_ENFORCED.to_string())),
    }
}

pub fn ownership_xml(ownership: &str) -> S3Result<String> {
    to_xml(&OwnershipControls {
        rules: vec![OwnershipControlsRule { object_ownership: ObjectOwnership::from(ownership.to_string()) }],
    })
}

pub async fn put_ownership(
    s3: &S3,
    req: S3Request<PutBucketOwnershipControlsInput>,
) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
    let i = req.input;
    let rules = &i.ownership_controls.rules;
    let valid = rules.len() == 1
        && matches!(
            rules[0].object_ownership.as_str(),
            "BucketOwnerEnforced" | "BucketOwnerPreferred" | "ObjectWriter"
        );
    if !valid {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    }
    set(s3, i.bucket, OWNERSHIP, Some(to_xml(&i.ownership_controls)?), any).await?;
    Ok(S3Response::new(PutBucketOwnershipControlsOutput {}))
}

pub async fn get_ownership(
    s3: &S3,
    req: S3Request<GetBucketOwnershipControlsInput>,
) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
    let b = objects::bucket_exists(s3, &req.input.bucket).await?;
    let Some(o) = ownership_of(&b)? else {
        return Err(s3_error!(OwnershipControlsNotFoundError, "The bucket ownership controls were not found"));
    };
    let controls =
        OwnershipControls { rules: vec![OwnershipControlsRule { object_ownership: ObjectOwnership::from(o) }] };
    Ok(S3Response::new(GetBucketOwnershipControlsOutput { ownership_controls: Some(controls) }))
}

pub async fn delete_ownership(
    s3: &S3,
    req: S3Request<DeleteBucketOwnershipControlsInput>,
) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> {
    // Deleting leaves no controls (not the default): kept as an empty entry.
    set(s3, req.input.bucket, OWNERSHIP, Some(String::new()), any).await?;
    Ok(S3Response::new(DeleteBucketOwnershipControlsOutput {}))
}

/// The canonical user id of an account (64 hex digits, stable).
pub fn canonical_id(account: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(format!("stratus-canonical-user-{account}").as_bytes()))
}

fn grant(grantee: Grantee, permission: &'static str) -> Grant {
    Grant { grantee: Some(grantee), permission: Some(Permission::from_static(permission)) }
}

fn owner_grantee(account: &str) -> Grantee {
    Grantee {
        display_name: None,
        email_address: None,
        id: Some(canonical_id(account)),
        type_: Type::from_static(Type::CANONICAL_USER),
        uri: None,
    }
}

fn group(uri: &str) -> Grantee {
    Grantee {
        display_name: None,
        email_address: None,
        id: None,
        type_: Type::from_static(Type::GROUP),
        uri: Some(uri.to_string()),
    }
}

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// The grants of a canned ACL.
fn canned(account: &str, acl: &str) -> S3Result<Vec<Grant>> {
    let mut grants = vec![grant(owner_grantee(account), Permission::FULL_CONTROL)];
    match acl {
        "private" | "bucket-owner-full-control" | "bucket-owner-read" => {}
        "public-read" => grants.push(grant(group(ALL_USERS), Permission::READ)),
        "public-read-write" => {
            grants.push(grant(group(ALL_USERS), Permission::READ));
            grants.push(grant(group(ALL_USERS), Permission::WRITE));
        }
        "authenticated-read" => grants.push(grant(group(AUTHENTICATED_USERS), Permission::READ)),
        "aws-exec-read" | "log-delivery-write" => {}
        other => return Err(invalid_argument(&format!("Invalid canned ACL {other}"))),
    }
    Ok(grants)
}

/// Whether grants give anyone but the owner anything (what `BucketOwnerEnforced` refuses).
fn grants_others(account: &str, grants: &[Grant]) -> bool {
    let me = canonical_id(account);
    grants.iter().any(|g| g.grantee.as_ref().is_none_or(|e| e.id.as_deref() != Some(me.as_str())))
}

fn acl_not_supported() -> s3s::S3Error {
    s3_error!(AccessControlListNotSupported, "The bucket does not allow ACLs")
}

/// The grants an ACL request sets: a canned ACL, or an access control policy.
fn requested(account: &str, acl: Option<&str>, policy: Option<&AccessControlPolicy>) -> S3Result<Vec<Grant>> {
    match (acl, policy) {
        (Some(a), _) => canned(account, a),
        (None, Some(p)) => Ok(p.grants.clone().unwrap_or_default()),
        (None, None) => Err(s3_error!(MissingSecurityHeader, "Your request was missing a required header")),
    }
}

/// The ACL headers of a write (PutObject, CopyObject, CreateMultipartUpload): a canned ACL or
/// grant headers (`id="…"`, `uri="…"`, `emailAddress="…"`, comma-separated).
#[derive(Debug, Clone, Default)]
pub struct AclHeaders {
    pub canned: Option<String>,
    /// (permission, header value)
    pub grants: Vec<(&'static str, String)>,
}

macro_rules! acl_headers {
    ($i:expr) => {
        AclHeaders {
            canned: $i.acl.as_ref().map(|a| a.as_str().to_string()),
            grants: [
                (Permission::FULL_CONTROL, $i.grant_full_control.clone()),
                (Permission::READ, $i.grant_read.clone()),
                (Permission::READ_ACP, $i.grant_read_acp.clone()),
                (Permission::WRITE_ACP, $i.grant_write_acp.clone()),
            ]
            .into_iter()
            .filter_map(|(p, v)| v.map(|v| (p, v)))
            .collect(),
        }
    };
}

impl AclHeaders {
    pub fn of_put(i: &PutObjectInput) -> Self {
        acl_headers!(i)
    }
    pub fn of_copy(i: &CopyObjectInput) -> Self {
        acl_headers!(i)
    }
    pub fn of_create_upload(i: &CreateMultipartUploadInput) -> Self {
        acl_headers!(i)
    }

    fn is_empty(&self) -> bool {
        self.canned.is_none() && self.grants.is_empty()
    }
}

/// The grantees of one grant header.
fn header_grantees(value: &str) -> S3Result<Vec<Grantee>> {
    let mut out = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((kind, v)) = part.split_once('=') else {
            return Err(invalid_argument(&format!("Invalid grant header value {part}")));
        };
        let v = v.trim().trim_matches('"').to_string();
        let g = match kind.trim().to_ascii_lowercase().as_str() {
            "id" => Grantee {
                display_name: None,
                email_address: None,
                id: Some(v),
                type_: Type::from_static(Type::CANONICAL_USER),
                uri: None,
            },
            "uri" => group(&v),
            "emailaddress" => {
                return Err(s3_error!(
                    UnresolvableGrantByEmailAddress,
                    "The email address you provided does not match any account on record."
                ));
            }
            other => return Err(invalid_argument(&format!("Invalid grantee type {other}"))),
        };
        out.push(g);
    }
    Ok(out)
}

/// The grants a write's ACL headers ask for, checked against the bucket's object ownership
/// (`BucketOwnerEnforced` takes none but `bucket-owner-full-control`), as the ACL's XML; None
/// when the write has no ACL headers.
pub async fn acl_at_write(s3: &S3, bucket: &str, writer: &str, h: &AclHeaders) -> S3Result<Option<String>> {
    if h.is_empty() {
        return Ok(None);
    }
    if h.canned.is_some() && !h.grants.is_empty() {
        return Err(s3_error!(InvalidRequest, "Specifying both Canned ACLs and Header Grants is not allowed"));
    }
    let b = objects::bucket_exists(s3, bucket).await?;
    let grants = match &h.canned {
        Some(c) => {
            let mut g = canned(writer, c)?;
            if matches!(c.as_str(), "bucket-owner-full-control" | "bucket-owner-read") && writer != b.account {
                let p = if c == "bucket-owner-read" { Permission::READ } else { Permission::FULL_CONTROL };
                g.push(grant(owner_grantee(&b.account), p));
            }
            g
        }
        None => {
            let mut g = Vec::new();
            for (p, v) in &h.grants {
                for grantee in header_grantees(v)? {
                    g.push(grant(grantee, p));
                }
            }
            g
        }
    };
    if ownership_of(&b)?.as_deref() == Some("BucketOwnerEnforced") {
        let only_owner = h.canned.as_deref().is_some_and(|c| matches!(c, "bucket-owner-full-control" | "private"))
            || !grants_others(&b.account, &grants);
        if !only_owner {
            return Err(acl_not_supported());
        }
        return Ok(None);
    }
    let policy = AccessControlPolicy { grants: Some(grants), owner: Some(owner(writer)) };
    Ok(Some(to_xml(&policy)?))
}

/// Sets a version's ACL (its XML) after the write that made it.
pub async fn store_object_acl(s3: &S3, bucket: &str, key: &str, version_id: &str, xml: String) -> S3Result<()> {
    let (bucket, name) = (bucket.to_string(), object_acl_key(key, Some(version_id)));
    s3.store()
        .write(move |t| {
            let mut b = load_bucket(t, &bucket)?;
            b.configs.insert(name, xml);
            save_bucket(t, &b)?;
            Ok::<_, Fail>(())
        })
        .await
        .map_err(|f: Fail| f.0)
}

pub async fn put_bucket_acl(s3: &S3, req: S3Request<PutBucketAclInput>) -> S3Result<S3Response<PutBucketAclOutput>> {
    let i = req.input;
    let b = objects::bucket_exists(s3, &i.bucket).await?;
    let grants = requested(&b.account, i.acl.as_ref().map(|a| a.as_str()), i.access_control_policy.as_ref())?;
    if ownership_of(&b)?.as_deref() == Some("BucketOwnerEnforced") && grants_others(&b.account, &grants) {
        return Err(acl_not_supported());
    }
    let policy = AccessControlPolicy { grants: Some(grants), owner: Some(owner(&b.account)) };
    set(s3, i.bucket, ACL, Some(to_xml(&policy)?), any).await?;
    Ok(S3Response::new(PutBucketAclOutput {}))
}

pub async fn get_bucket_acl(s3: &S3, req: S3Request<GetBucketAclInput>) -> S3Result<S3Response<GetBucketAclOutput>> {
    let (b, p) = get::<AccessControlPolicy>(s3, &req.input.bucket, ACL).await?;
    let grants =
        p.and_then(|p| p.grants).unwrap_or_else(|| vec![grant(owner_grantee(&b.account), Permission::FULL_CONTROL)]);
    Ok(S3Response::new(GetBucketAclOutput { grants: Some(grants), owner: Some(owner(&b.account)) }))
}

fn object_acl_key(key: &str, version: Option<&str>) -> String {
    format!("{ACL}/{}/{key}", version.unwrap_or("null"))
}

pub async fn put_object_acl(s3: &S3, req: S3Request<PutObjectAclInput>) -> S3Result<S3Response<PutObjectAclOutput>> {
    let i = req.input;
    let b = objects::bucket_exists(s3, &i.bucket).await?;
    let v = objects::resolve(s3, &i.bucket, &i.key, i.version_id.as_deref()).await?;
    let grants = requested(&b.account, i.acl.as_ref().map(|a| a.as_str()), i.access_control_policy.as_ref())?;
    if ownership_of(&b)?.as_deref() == Some("BucketOwnerEnforced") && grants_others(&b.account, &grants) {
        return Err(acl_not_supported());
    }
    let policy = AccessControlPolicy { grants: Some(grants), owner: Some(owner(&b.account)) };
    let xml = to_xml(&policy)?;
    let name = object_acl_key(&i.key, Some(&v.version_id));
    s3.store()
        .write(move |t| {
            let mut b = load_bucket(t, &i.bucket)?;
            b.configs.insert(name, xml);
            save_bucket(t, &b)?;
            Ok::<_, Fail>(())
        })
        .await
        .map_err(|f: Fail| f.0)?;
    Ok(S3Response::new(PutObjectAclOutput::default()))
}

pub async fn get_object_acl(s3: &S3, req: S3Request<GetObjectAclInput>) -> S3Result<S3Response<GetObjectAclOutput>> {
    let i = req.input;
    let b = objects::bucket_exists(s3, &i.bucket).await?;
    let v = objects::resolve(s3, &i.bucket, &i.key, i.version_id.as_deref()).await?;
    let stored = b.configs.get(&object_acl_key(&i.key, Some(&v.version_id)));
    let grants = match stored {
        Some(x) => from_xml::<AccessControlPolicy>(x)?.grants.unwrap_or_default(),
        None => vec![grant(owner_grantee(&b.account), Permission::FULL_CONTROL)],
    };
    Ok(S3Response::new(GetObjectAclOutput {
        grants: Some(grants),
        owner: Some(owner(&b.account)),
        ..Default::default()
    }))
}

/// CreateBucket's ACL and ownership arguments: checked, and the configurations they make.
pub fn at_create(account: &str, i: &CreateBucketInput) -> S3Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let ownership = i.object_ownership.as_ref().map(|o| o.as_str().to_string());
    if let Some(o) = &ownership {
        if !matches!(o.as_str(), "BucketOwnerEnforced" | "BucketOwnerPreferred" | "ObjectWriter") {
            return Err(invalid_argument(&format!("Invalid x-amz-object-ownership header: {o}")));
        }
        out.push((OWNERSHIP.to_string(), ownership_xml(o)?));
    }
    if let Some(acl) = i.acl.as_ref().map(|a| a.as_str()) {
        let grants = canned(account, acl)?;
        let enforced = ownership.as_deref().is_none_or(|o| o == "BucketOwnerEnforced");
        if enforced && grants_others(account, &grants) {
            return Err(s3_error!(
                InvalidBucketAclWithObjectOwnership,
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"
            ));
        }
        let policy = AccessControlPolicy { grants: Some(grants), owner: Some(owner(account)) };
        out.push((ACL.to_string(), to_xml(&policy)?));
    }
    if i.object_lock_enabled_for_bucket == Some(true) {
        out.push((OBJECT_LOCK.to_string(), object_lock_enabled()?));
    }
    Ok(out)
}
