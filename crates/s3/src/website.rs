//! The static website endpoint: what a website request (GET or HEAD of a path) answers, from
//! the bucket's website configuration — its index document (also for "folders", with the
//! redirect to the trailing slash), error document, whole-bucket redirect, routing rules, and
//! objects' own `x-amz-website-redirect-location`. The binary serves it at
//! `{bucket}.s3-website.localhost` and a path form; S3's REST API is not involved.

use s3s::dto::{RoutingRule, StreamingBlob, WebsiteConfiguration};

use crate::objects::{self, load_bucket};
use crate::types::Version;
use crate::{S3, body, keys};

/// The body of a website answer.
pub enum WebsiteBody {
    Empty,
    /// An error page S3 writes itself.
    Html(String),
    /// An object (the page asked for, or the error document).
    Object(StreamingBlob),
}

/// A website answer: status, headers and body.
pub struct WebsiteAnswer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: WebsiteBody,
}

/// A website request.
pub struct WebsiteRequest<'a> {
    pub bucket: &'a str,
    /// The URL path after the bucket (`/`, `/docs/`, `/a.html`), percent-decoded.
    pub path: &'a str,
    pub head: bool,
    /// The `Host` the client used (redirects keep it unless a rule names another).
    pub host: &'a str,
    pub request_id: &'a str,
}

fn error_page(r: &WebsiteRequest<'_>, status: u16, code: &str, message: &str, extra: &[(&str, &str)]) -> WebsiteAnswer {
    let reason = match status {
        403 => "403 Forbidden",
        405 => "405 Method Not Allowed",
        _ => "404 Not Found",
    };
    let esc = |v: &str| v.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut items = format!("<li>Code: {code}</li>\n<li>Message: {}</li>\n", esc(message));
    for (k, v) in extra {
        items.push_str(&format!("<li>{k}: {}</li>\n", esc(v)));
    }
    items.push_str(&format!("<li>RequestId: {}</li>\n", esc(r.request_id)));
    let html = format!(
        "<html>\n<head><title>{reason}</title></head>\n<body>\n<h1>{reason}</h1>\n<ul>\n{items}</ul>\n<hr/>\n</body>\n</html>\n"
    );
    WebsiteAnswer {
        status,
        headers: vec![("content-type", "text/html; charset=utf-8".into())],
        body: if r.head { WebsiteBody::Empty } else { WebsiteBody::Html(html) },
    }
}

/// A refusal of the website endpoint itself (a method other than GET or HEAD, or no access).
pub fn refusal(r: &WebsiteRequest<'_>, status: u16) -> WebsiteAnswer {
    match status {
        405 => {
            error_page(r, 405, "MethodNotAllowed", "The specified method is not allowed against this resource.", &[])
        }
        _ => error_page(r, 403, "AccessDenied", "Access Denied", &[]),
    }
}

fn redirect(status: u16, location: String) -> WebsiteAnswer {
    WebsiteAnswer { status, headers: vec![("location", location)], body: WebsiteBody::Empty }
}

/// Where a routing rule's redirect sends `key`.
fn rule_location(rule: &RoutingRule, key: &str, host: &str) -> (u16, String) {
    let r = &rule.redirect;
    let new_key = match (&r.replace_key_with, &r.replace_key_prefix_with) {
        (Some(k), _) => k.clone(),
        (None, Some(p)) => {
            let prefix = rule.condition.as_ref().and_then(|c| c.key_prefix_equals.as_deref()).unwrap_or("");
            format!("{p}{}", key.strip_prefix(prefix).unwrap_or(key))
        }
        (None, None) => key.to_string(),
    };
    let protocol = r.protocol.as_ref().map_or("http", |p| p.as_str());
    let host = r.host_name.as_deref().unwrap_or(host);
    let code = r.http_redirect_code.as_deref().and_then(|c| c.parse().ok()).unwrap_or(301);
    (code, format!("{protocol}://{host}/{new_key}"))
}

/// The first rule whose condition holds for `key`: before the object is looked up (`error`
/// None) rules without an error-code condition; after a 404, those that name it.
fn matching_rule<'a>(rules: &'a [RoutingRule], key: &str, error: Option<u16>) -> Option<&'a RoutingRule> {
    rules.iter().find(|rule| {
        let (prefix, code) = match &rule.condition {
            Some(c) => (c.key_prefix_equals.as_deref(), c.http_error_code_returned_equals.as_deref()),
            None => (None, None),
        };
        let prefix_ok = prefix.is_none_or(|p| key.starts_with(p));
        match (code, error) {
            (None, None) => prefix_ok,
            (Some(want), Some(got)) => prefix_ok && want.trim() == got.to_string(),
            _ => false,
        }
    })
}

fn http_date(millis: u64) -> String {
    let mut buf = Vec::new();
    match objects::timestamp(millis).format(s3s::dto::TimestampFormat::HttpDate, &mut buf) {
        Ok(()) => String::from_utf8(buf).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

impl S3 {
    async fn current(&self, bucket: &str, key: &str) -> Option<Version> {
        if key.is_empty() || key.contains('\0') {
            return None;
        }
        objects::resolve_with_data(self, bucket, key, None).await.ok()
    }

    fn serve(&self, v: Version, status: u16, head: bool) -> WebsiteAnswer {
        let h = &v.headers;
        let mut headers = vec![
            ("content-type", h.content_type.clone().unwrap_or_else(|| "binary/octet-stream".into())),
            ("etag", format!("\"{}\"", v.etag)),
            ("last-modified", http_date(v.last_modified_millis)),
            ("content-length", v.size.to_string()),
        ];
        for (name, value) in [
            ("content-encoding", &h.content_encoding),
            ("content-disposition", &h.content_disposition),
            ("content-language", &h.content_language),
            ("cache-control", &h.cache_control),
            ("expires", &h.expires),
        ] {
            if let Some(v) = value {
                headers.push((name, v.clone()));
            }
        }
        let body = if head {
            WebsiteBody::Empty
        } else {
            WebsiteBody::Object(body::read(self.store().blobs().clone(), v.segments, 0, v.size))
        };
        WebsiteAnswer { status, headers, body }
    }

    /// Answers a website request (the caller has checked the method and access).
    pub async fn website(&self, r: &WebsiteRequest<'_>) -> WebsiteAnswer {
        let name = r.bucket.to_string();
        let bucket = self.store().read(move |t| load_bucket(t, &name)).await;
        let Ok(bucket) = bucket else {
            return error_page(
                r,
                404,
                "NoSuchBucket",
                "The specified bucket does not exist",
                &[("BucketName", r.bucket)],
            );
        };
        let config: Option<WebsiteConfiguration> =
            bucket.configs.get("website").and_then(|x| crate::configs::website_from_xml(x).ok());
        let Some(config) = config else {
            return error_page(
                r,
                404,
                "NoSuchWebsiteConfiguration",
                "The specified bucket does not have a website configuration",
                &[("BucketName", r.bucket)],
            );
        };
        let key = r.path.trim_start_matches('/');
        if let Some(all) = &config.redirect_all_requests_to {
            let protocol = all.protocol.as_ref().map_or("http", |p| p.as_str());
            return redirect(301, format!("{protocol}://{}/{key}", all.host_name));
        }
        let rules = config.routing_rules.as_deref().unwrap_or_default();
        if let Some(rule) = matching_rule(rules, key, None) {
            let (code, location) = rule_location(rule, key, r.host);
            return redirect(code, location);
        }
        let suffix = config.index_document.as_ref().map(|d| d.suffix.as_str()).unwrap_or("index.html");
        let wanted = if key.is_empty() || key.ends_with('/') { format!("{key}{suffix}") } else { key.to_string() };
        if let Some(v) = self.current(r.bucket, &wanted).await {
            if let Some(to) = &v.headers.website_redirect {
                return redirect(301, to.clone());
            }
            return self.serve(v, 200, r.head);
        }
        // A "folder" without its slash: S3 redirects to the slash when the folder has an index.
        if !key.is_empty() && !key.ends_with('/') && self.current(r.bucket, &format!("{key}/{suffix}")).await.is_some()
        {
            return redirect(302, format!("/{key}/"));
        }
        if let Some(rule) = matching_rule(rules, key, Some(404)) {
            let (code, location) = rule_location(rule, key, r.host);
            return redirect(code, location);
        }
        if let Some(doc) = &config.error_document
            && let Some(v) = self.current(r.bucket, &doc.key).await
        {
            return self.serve(v, 404, r.head);
        }
        error_page(r, 404, "NoSuchKey", "The specified key does not exist.", &[("Key", &wanted)])
    }

    /// Whether a bucket exists (the website door's access check names it).
    pub async fn bucket_exists_internal(&self, bucket: &str) -> bool {
        let key = keys::bucket(bucket);
        self.store().read(move |t| t.get(&key)).await.ok().flatten().is_some()
    }
}
