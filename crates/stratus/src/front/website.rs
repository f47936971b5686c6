//! The S3 website door: static website hosting of buckets with a website configuration, at
//! `{bucket}.s3-website.localhost` (also `{bucket}.s3-website-{region}.localhost` and
//! `{bucket}.s3-website.{region}.localhost`, AWS's two endpoint spellings) and at the path form
//! `/_aws/s3-website/{bucket}/{path}` for clients that cannot set the Host. What a request
//! answers is `stratus_s3::website`'s; this door parses the request, checks the method and, in
//! `--auth enforce` mode, that the bucket's policy lets anonymous readers get the object (as a
//! website endpoint only serves public content), and writes the response.

use http::{HeaderValue, Method, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use stratus_core::RequestContext;
use stratus_iam_api::{Authorizer, OnResource};
use stratus_s3::website::{WebsiteAnswer, WebsiteBody, WebsiteRequest, refusal};

use crate::gateway::{Body, FrontDoor, Head, boxed};

const PATH_FORM: &str = "/_aws/s3-website/";

pub struct WebsiteDoor {
    pub s3: stratus_s3::S3,
    /// Present in enforce mode: anonymous access is checked against the bucket policy.
    pub authorizer: Option<Authorizer>,
    pub default_account: String,
    pub default_region: String,
    pub env: stratus_core::Env,
}

/// The bucket a website host names (`{bucket}.s3-website[-.]{region?}.localhost`).
fn bucket_of_host(host: &str) -> Option<&str> {
    let rest = host.strip_suffix(".localhost")?;
    let at = rest.rfind(".s3-website")?;
    let (bucket, tail) = rest.split_at(at);
    let tail = &tail[".s3-website".len()..];
    let ok = tail.is_empty()
        || tail.strip_prefix('-').is_some_and(stratus_core::valid_region)
        || tail.strip_prefix('.').is_some_and(stratus_core::valid_region);
    (ok && !bucket.is_empty()).then_some(bucket)
}

impl WebsiteDoor {
    async fn allowed(&self, bucket: &str, key: &str, request_id: &str) -> bool {
        let Some(authorizer) = &self.authorizer else { return true };
        let Some(access) = self.s3.bucket_policy_internal(bucket).await else {
            // No bucket: the answer says so.
            return true;
        };
        let resource = format!("arn:aws:s3:::{bucket}/{key}");
        let ctx = RequestContext::internal(&self.default_account, &self.default_region, request_id.to_string());
        let asked = OnResource {
            service: "s3",
            action: "s3:GetObject",
            resource: &resource,
            policy: access.policy.as_deref(),
            owner: Some(&access.owner),
        };
        authorizer.authorize_with_policy(None, &ctx, &asked, Default::default()).await.is_ok()
    }

    async fn handle(&self, req: hyper::Request<Incoming>) -> Response<Body> {
        let (parts, _body) = req.into_parts();
        let request_id = self.env.ids.uuid();
        let host = parts.headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("localhost").to_string();
        let host_name = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h).to_string();
        let raw_path = parts.uri.path();
        let (bucket, path) = match raw_path.strip_prefix(PATH_FORM) {
            Some(rest) => {
                let (b, p) = rest.split_once('/').unwrap_or((rest, ""));
                (b.to_string(), format!("/{p}"))
            }
            None => (bucket_of_host(&host_name).unwrap_or_default().to_string(), raw_path.to_string()),
        };
        let path = percent_encoding::percent_decode_str(&path).decode_utf8_lossy().into_owned();
        let r = WebsiteRequest {
            bucket: &bucket,
            path: &path,
            head: parts.method == Method::HEAD,
            host: &host,
            request_id: &request_id,
        };
        let answer = if parts.method != Method::GET && parts.method != Method::HEAD {
            refusal(&r, 405)
        } else if !self.allowed(&bucket, path.trim_start_matches('/'), &request_id).await {
            refusal(&r, 403)
        } else {
            self.s3.website(&r).await
        };
        respond(answer, &request_id)
    }
}

fn respond(a: WebsiteAnswer, request_id: &str) -> Response<Body> {
    let body = match a.body {
        WebsiteBody::Empty => boxed(Full::default()),
        WebsiteBody::Html(h) => boxed(Full::new(bytes::Bytes::from(h))),
        WebsiteBody::Object(blob) => s3s::Body::from(blob).boxed_unsync(),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(a.status).unwrap_or(StatusCode::NOT_FOUND);
    let h = resp.headers_mut();
    for (name, value) in a.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amz-request-id", v);
    }
    h.insert("server", HeaderValue::from_static("AmazonS3"));
    resp
}

impl FrontDoor for WebsiteDoor {
    fn claims(&self, head: &Head<'_>) -> bool {
        head.path().starts_with(PATH_FORM) || bucket_of_host(head.host_name()).is_some()
    }

    fn serve(&self, req: hyper::Request<Incoming>) -> stratus_proto::BoxFuture<'_, Response<Body>> {
        Box::pin(self.handle(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(bucket_of_host("site.s3-website.localhost"), Some("site"));
        assert_eq!(bucket_of_host("my.site.s3-website-us-east-1.localhost"), Some("my.site"));
        assert_eq!(bucket_of_host("site.s3-website.eu-west-1.localhost"), Some("site"));
        assert_eq!(bucket_of_host("site.s3.localhost"), None);
        assert_eq!(bucket_of_host("s3-website.localhost"), None);
        assert_eq!(bucket_of_host("site.s3-website-Not_A_Region.localhost"), None);
    }
}
