//! S3 requests in enforce mode: each operation is authorized by the caller's IAM policies for
//! its action (the Service Authorization Reference's name for it) on the bucket or object ARN.

use std::sync::Arc;

use s3s::access::{S3Access, S3AccessContext};
use s3s::path::S3Path;
use s3s::{S3Result, s3_error};
use stratus_core::RequestContext;
use stratus_iam::{Identity, KeyStore};
use stratus_iam_api::Authorizer;
use stratus_s3::Caller;

pub struct Access {
    pub authorizer: Authorizer,
    pub keys: Arc<dyn KeyStore>,
}

/// The IAM action of an S3 operation.
pub fn action(op: &str) -> String {
    let name = match op {
        "ListObjects" | "ListObjectsV2" | "HeadBucket" => "ListBucket",
        "ListObjectVersions" => "ListBucketVersions",
        "ListBuckets" => "ListAllMyBuckets",
        "HeadObject" => "GetObject",
        "CreateMultipartUpload" | "UploadPart" | "UploadPartCopy" | "CompleteMultipartUpload" | "CopyObject" => {
            "PutObject"
        }
        "ListParts" => "ListMultipartUploadParts",
        "ListMultipartUploads" => "ListBucketMultipartUploads",
        "DeleteObjects" => "DeleteObject",
        "GetBucketNotificationConfiguration" => "GetBucketNotification",
        "PutBucketNotificationConfiguration" => "PutBucketNotification",
        "GetBucketCors" => "GetBucketCORS",
        "PutBucketCors" | "DeleteBucketCors" => "PutBucketCORS",
        "DeleteBucketTagging" => "PutBucketTagging",
        "GetBucketLifecycleConfiguration" => "GetLifecycleConfiguration",
        "PutBucketLifecycleConfiguration" | "DeleteBucketLifecycle" => "PutLifecycleConfiguration",
        other => other,
    };
    format!("s3:{name}")
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
        let action = action(cx.s3_op().name());
        let resource = resource(cx.s3_path());
        let Some(caller) = cx.extensions_mut().get::<Caller>().cloned() else {
            return Err(s3_error!(AccessDenied, "Access Denied"));
        };
        // Unsigned requests are anonymous: without bucket policies (not yet enforced) nothing
        // grants them access.
        let Some(key) = caller.access_key.as_deref() else {
            return Err(s3_error!(AccessDenied, "Access Denied"));
        };
        let who = self.keys.lookup(key).map(|c| c.identity).unwrap_or(Identity::Root);
        let mut ctx = RequestContext::internal(&caller.account, &caller.region, caller.request_id.clone());
        ctx.access_key = Some(key.to_string());
        match self.authorizer.authorize_action(&who, &ctx, "s3", &action, &resource).await {
            Ok(()) => Ok(()),
            Err(e) => Err(s3s::S3Error::with_message(s3s::S3ErrorCode::AccessDenied, e.message)),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn operations_map_to_their_iam_actions() {
        assert_eq!(super::action("GetObject"), "s3:GetObject");
        assert_eq!(super::action("HeadObject"), "s3:GetObject");
        assert_eq!(super::action("ListObjectsV2"), "s3:ListBucket");
        assert_eq!(super::action("UploadPart"), "s3:PutObject");
        assert_eq!(super::action("ListBuckets"), "s3:ListAllMyBuckets");
    }
}
