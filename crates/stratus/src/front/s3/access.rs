//! S3 requests in enforce mode: each operation is authorized by the caller's IAM policies and
//! the bucket's policy, for its action (the Service Authorization Reference's name for it) on
//! the bucket or object ARN. An unsigned request is anonymous: only a bucket policy can allow it.

use std::sync::Arc;

use s3s::access::{S3Access, S3AccessContext};
use s3s::path::S3Path;
use s3s::{S3Result, s3_error};
use stratus_core::RequestContext;
use stratus_iam::policy::Context;
use stratus_iam::{Identity, KeyStore};
use stratus_iam_api::{Authorizer, OnResource};
use stratus_s3::Caller;

pub struct Access {
    pub authorizer: Authorizer,
    pub keys: Arc<dyn KeyStore>,
    /// Where bucket policies and owners are read.
    pub s3: stratus_s3::S3,
}

/// The condition keys an S3 request carries: the client's address and S3's own keys for the
/// operation (a listing's `s3:prefix`, `s3:delimiter` and `s3:max-keys`; an upload's
/// `s3:x-amz-server-side-encryption`, `s3:x-amz-acl` and `s3:x-amz-storage-class`).
fn condition_keys(cx: &S3AccessContext<'_>, source_ip: &str) -> Context {
    let mut c = Context::new();
    c.insert("aws:SourceIp", source_ip);
    match cx.s3_op().name() {
        "ListObjects" | "ListObjectsV2" | "ListObjectVersions" | "ListMultipartUploads" => {
            for (k, v) in form_urlencoded::parse(cx.uri().query().unwrap_or_default().as_bytes()) {
                if matches!(k.as_ref(), "prefix" | "delimiter" | "max-keys") {
                    c.insert(&format!("s3:{k}"), v.into_owned());
                }
            }
        }
        "PutObject" | "CopyObject" | "CreateMultipartUpload" => {
            for h in ["x-amz-server-side-encryption", "x-amz-acl", "x-amz-storage-class"] {
                if let Some(v) = cx.headers().get(h).and_then(|v| v.to_str().ok()) {
                    c.insert(&format!("s3:{h}"), v);
                }
            }
        }
        _ => {}
    }
    c
}

fn resource(path: &S3Path) -> String {
    match path {
        S3Path::Root => "*".into(),
        S3Path::Bucket { bucket } => format!("arn:aws:s3:::{bucket}"),
        S3Path::Object { bucket, key } => format!("arn:aws:s3:::{bucket}/{key}"),
    }
}

#[async_trait::async_trait]
impl S3Access for Access {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let action = stratus_iam_api::action("s3", cx.s3_op().name());
        let resource = resource(cx.s3_path());
        let Some(caller) = cx.extensions_mut().get::<Caller>().cloned() else {
            return Err(s3_error!(AccessDenied, "Access Denied"));
        };
        // The bucket's policy and owner: its policy may grant (also to other accounts and to
        // anonymous requests) or deny.
        let bucket = match cx.s3_path() {
            S3Path::Bucket { bucket } | S3Path::Object { bucket, .. } => Some(bucket.to_string()),
            S3Path::Root => None,
        };
        let access = match &bucket {
            Some(b) => self.s3.bucket_policy_internal(b).await,
            None => None,
        };
        // Block Public Access's RestrictPublicBuckets: with a public policy, only the owner's
        // principals (and AWS services) get in.
        if let Some(a) = &access
            && a.restricted
            && (caller.access_key.is_none() || caller.account != a.owner)
        {
            return Err(s3_error!(AccessDenied, "Access Denied"));
        }
        let mut context = condition_keys(cx, &caller.source_ip);
        for (k, v) in access.iter().flat_map(|a| a.tags.iter()) {
            context.insert(&format!("aws:ResourceTag/{k}"), v.clone());
        }
        let (owner, policy) = access.map_or((None, None), |a| (Some(a.owner), a.policy));
        let mut ctx = RequestContext::internal(&caller.account, &caller.region, caller.request_id.clone());
        let who = caller.access_key.as_deref().map(|key| {
            ctx.access_key = Some(key.to_string());
            self.keys.lookup(key).map(|c| c.identity).unwrap_or(Identity::Root)
        });
        let asked = OnResource {
            service: "s3",
            action: &action,
            resource: &resource,
            policy: policy.as_deref(),
            owner: owner.as_deref(),
        };
        let decided = self.authorizer.authorize_with_policy(who.as_ref(), &ctx, &asked, context).await;
        match decided {
            Ok(()) => Ok(()),
            Err(e) => Err(s3s::S3Error::with_message(s3s::S3ErrorCode::AccessDenied, e.message)),
        }
    }
}
