//! Amazon S3 in the gateway: which requests are S3's, and how they reach the `s3s` service
//! with their bodies streaming both ways (objects may be far larger than the gateway's body
//! limit, so S3 requests are routed before any body is read).
//!
//! Authentication: in `verify` mode `s3s` checks signatures (SigV4 header, presigned, streaming
//! chunks; SigV2 header and presigned) against the configured keys. In `open` mode nothing is
//! checked, but `s3s` verifies every signature it sees and cannot know the caller's secret, so
//! the signature is taken off the request before it is handed on; the caller is derived from
//! the access key as for every other service.

use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use s3s::auth::{S3Auth, SecretKey};
use s3s::host::{S3Host, VirtualHost};
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3Result, s3_error};
use stratus_core::{Env, account_for_access_key};
use stratus_iam::{KeyStore, Mode};
use stratus_s3::{Caller, S3};

use crate::gateway::{Body, FrontDoor, Head, boxed, signed};

mod access;
mod chunked;
mod form;

/// The S3 door: the service, and what is needed to say who calls. It comes last and takes
/// every request the doors before it left: S3's virtual hosts, S3-signed requests, and
/// unsigned ones that no served API claims (path-style object URLs).
pub struct S3Door {
    s3: S3,
    service: S3Service,
    mode: Mode,
    keys: Arc<dyn KeyStore>,
    default_account: String,
    default_region: String,
    env: Env,
}

/// `{bucket}.s3.localhost[:port]` is virtual-hosted style; every other host is path style.
struct Hosts;

impl S3Host for Hosts {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        let name =
            host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h);
        match name.strip_suffix(".s3.localhost") {
            Some(bucket) if !bucket.is_empty() => Ok(VirtualHost::new(host).with_bucket(bucket)),
            _ => Ok(VirtualHost::new(host)),
        }
    }
}

/// Secrets for `s3s` in verify mode.
struct Keys(Arc<dyn KeyStore>);

#[async_trait::async_trait]
impl S3Auth for Keys {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.0.lookup(access_key) {
            Some(c) => Ok(SecretKey::from(c.secret_access_key)),
            None => {
                Err(s3_error!(InvalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records."))
            }
        }
    }
}

/// Query parameters that carry a signature, dropped in open mode.
const SIGNATURE_PARAMS: &[&str] = &[
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "AWSAccessKeyId",
    "Signature",
    "Expires",
];

fn strip_signature(parts: &mut Parts) {
    parts.headers.remove("authorization");
    let Some(q) = parts.uri.query() else { return };
    if !q.split('&').any(|kv| SIGNATURE_PARAMS.iter().any(|p| kv.split('=').next() == Some(*p))) {
        return;
    }
    // Keep the other parameters byte for byte (they are part of how S3 reads the request).
    let kept: Vec<&str> =
        q.split('&').filter(|kv| !SIGNATURE_PARAMS.iter().any(|p| kv.split('=').next() == Some(*p))).collect();
    let pq =
        if kept.is_empty() { parts.uri.path().to_string() } else { format!("{}?{}", parts.uri.path(), kept.join("&")) };
    let mut b = http::Uri::builder().path_and_query(pq);
    if let Some(s) = parts.uri.scheme() {
        b = b.scheme(s.clone());
    }
    if let Some(a) = parts.uri.authority() {
        b = b.authority(a.clone());
    }
    if let Ok(u) = b.build() {
        parts.uri = u;
    }
}

/// The bucket a request addresses (virtual host first, then the first path segment).
fn bucket_of(parts: &Parts) -> Option<String> {
    let host = parts.headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("");
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    if let Some(b) = name.strip_suffix(".s3.localhost").filter(|b| !b.is_empty()) {
        return Some(b.to_string());
    }
    parts.uri.path().trim_start_matches('/').split('/').next().filter(|b| !b.is_empty()).map(str::to_string)
}

/// Whether a request names a bucket and no key.
fn is_bucket_request(parts: &Parts) -> bool {
    let host = parts.headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("");
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let path = parts.uri.path();
    if name.strip_suffix(".s3.localhost").is_some_and(|b| !b.is_empty()) {
        return path == "/" || path.is_empty();
    }
    let rest = path.trim_start_matches('/').trim_end_matches('/');
    !rest.is_empty() && !rest.contains('/')
}

fn error_xml(status: StatusCode, code: &str, message: &str, request_id: &str) -> Response<Body> {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
    );
    let mut r = Response::new(boxed(Full::new(Bytes::from(xml))));
    *r.status_mut() = status;
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/xml"));
    r
}

/// The message S3 sends with an error code, for errors raised without one.
fn default_message(code: &str) -> &'static str {
    match code {
        "InvalidBucketName" => "The specified bucket is not valid.",
        "NoSuchBucket" => "The specified bucket does not exist",
        "NoSuchKey" => "The specified key does not exist.",
        "NoSuchUpload" => {
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
        }
        "NoSuchVersion" => "The specified version does not exist.",
        "MethodNotAllowed" => "The specified method is not allowed against this resource.",
        "NotImplemented" => "A header you provided implies functionality that is not implemented.",
        "MissingContentLength" => "You must provide the Content-Length HTTP header.",
        "AccessDenied" => "Access Denied",
        "SignatureDoesNotMatch" => {
            "The request signature we calculated does not match the signature you provided. Check your key and signing method."
        }
        "MalformedXML" => "The XML you provided was not well-formed or did not validate against our published schema.",
        "InvalidArgument" => "Invalid Argument",
        "InvalidRequest" => "Invalid Request",
        _ => "The request could not be processed.",
    }
}

/// S3 error bodies always carry a `Message` and the `RequestId`; errors `s3s` raises itself
/// (path and header parsing) may lack them, and clients show "Unknown" then.
/// What an error body names besides its code, as S3 sends it: the bucket, key, version and
/// upload the request was about.
#[derive(Default)]
struct ErrorDetail {
    bucket: Option<String>,
    key: Option<String>,
    version_id: Option<String>,
    upload_id: Option<String>,
    method: String,
    /// The request's precondition headers, as AWS names them, in the order S3 evaluates them.
    conditions: Vec<&'static str>,
}

/// Precondition headers (lowercase) and the names S3's `Condition` element gives them.
const CONDITIONS: &[(&str, &str)] = &[
    ("if-match", "If-Match"),
    ("if-none-match", "If-None-Match"),
    ("if-unmodified-since", "If-Unmodified-Since"),
    ("if-modified-since", "If-Modified-Since"),
    ("x-amz-copy-source-if-match", "x-amz-copy-source-If-Match"),
    ("x-amz-copy-source-if-none-match", "x-amz-copy-source-If-None-Match"),
    ("x-amz-copy-source-if-unmodified-since", "x-amz-copy-source-If-Unmodified-Since"),
    ("x-amz-copy-source-if-modified-since", "x-amz-copy-source-If-Modified-Since"),
];

impl ErrorDetail {
    fn of(parts: &Parts) -> ErrorDetail {
        let host = parts.headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("");
        let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
        let path = parts.uri.path().trim_start_matches('/');
        let (bucket, key) = match name.strip_suffix(".s3.localhost").filter(|b| !b.is_empty()) {
            Some(b) => (Some(b.to_string()), Some(path.to_string())),
            None => match path.split_once('/') {
                Some((b, k)) => (Some(b.to_string()), Some(k.to_string())),
                None => (Some(path.to_string()), None),
            },
        };
        let decode = |x: &str| percent_encoding::percent_decode_str(x).decode_utf8_lossy().into_owned();
        let query: Vec<(String, String)> = form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let q = |n: &str| query.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        ErrorDetail {
            bucket: bucket.filter(|b| !b.is_empty()),
            key: key.filter(|k| !k.is_empty()).map(|k| decode(&k)),
            version_id: q("versionId"),
            upload_id: q("uploadId"),
            method: parts.method.as_str().to_string(),
            conditions: CONDITIONS.iter().filter(|(h, _)| parts.headers.contains_key(*h)).map(|(_, n)| *n).collect(),
        }
    }

    /// The elements S3 adds for an error code.
    fn elements(&self, code: &str) -> String {
        let esc = |v: &str| v.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        let el = |name: &str, v: &Option<String>| {
            v.as_ref().map(|v| format!("<{name}>{}</{name}>", esc(v))).unwrap_or_default()
        };
        match code {
            "NoSuchBucket"
            | "BucketNotEmpty"
            | "BucketAlreadyExists"
            | "BucketAlreadyOwnedByYou"
            | "NoSuchBucketPolicy"
            | "NoSuchCORSConfiguration"
            | "NoSuchTagSet"
            | "NoSuchWebsiteConfiguration"
            | "NoSuchLifecycleConfiguration"
            | "ReplicationConfigurationNotFoundError"
            | "ObjectLockConfigurationNotFoundError"
            | "OwnershipControlsNotFoundError" => el("BucketName", &self.bucket),
            "NoSuchKey" => el("Key", &self.key),
            "NoSuchVersion" => format!("{}{}", el("Key", &self.key), el("VersionId", &self.version_id)),
            "NoSuchUpload" | "InvalidPartOrder" => el("UploadId", &self.upload_id),
            // The first condition given is the one reported (S3 checks If-Match before the
            // dates, and a write takes one condition at a time).
            "PreconditionFailed" => el("Condition", &self.conditions.first().map(|c| c.to_string())),
            "ConditionalRequestConflict" => {
                format!("{}{}", el("Condition", &self.conditions.first().map(|c| c.to_string())), el("Key", &self.key))
            }
            // A write condition S3 does not offer names the headers that asked for it.
            "NotImplemented" if matches!(self.method.as_str(), "PUT" | "POST") => {
                let write: Vec<&str> =
                    self.conditions.iter().copied().filter(|c| matches!(*c, "If-Match" | "If-None-Match")).collect();
                if write.is_empty() { String::new() } else { el("Header", &Some(write.join(","))) }
            }
            "MethodNotAllowed" => {
                let kind = if self.key.is_some() { "OBJECT" } else { "BUCKET" };
                format!("<Method>{}</Method><ResourceType>{kind}</ResourceType>", esc(&self.method))
            }
            _ => String::new(),
        }
    }
}

/// GetObjectAttributes writes the ETag without quotes (the protocol layer always quotes one).
async fn unquoted_etag(resp: Response<Body>) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let Ok(collected) = body.collect().await else {
        return Response::from_parts(parts, boxed(Full::new(Bytes::new())));
    };
    let xml = String::from_utf8_lossy(&collected.to_bytes())
        .replace("<ETag>&quot;", "<ETag>")
        .replace("&quot;</ETag>", "</ETag>")
        .replace("<ETag>\"", "<ETag>")
        .replace("\"</ETag>", "</ETag>");
    parts.headers.remove("content-length");
    Response::from_parts(parts, boxed(Full::new(Bytes::from(xml))))
}

/// The error body completed, and its code (for the access log).
async fn complete_error(
    resp: Response<Body>,
    request_id: &str,
    detail: &ErrorDetail,
) -> (Response<Body>, Option<String>) {
    let small = hyper::body::Body::size_hint(resp.body()).upper().is_some_and(|n| n <= 64 << 10);
    if !small {
        return (resp, None);
    }
    let (mut parts, body) = resp.into_parts();
    let header = |parts: &mut http::response::Parts, name: &str| {
        parts.headers.remove(name).and_then(|v| v.to_str().ok().map(str::to_string))
    };
    let elements: Vec<(String, String)> = header(&mut parts, stratus_s3::ERROR_ELEMENTS)
        .map(|v| form_urlencoded::parse(v.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default();
    let Ok(collected) = body.collect().await else {
        let code = Some("InternalError".to_string());
        return (error_xml(parts.status, "InternalError", "We encountered an internal error.", request_id), code);
    };
    let mut xml = String::from_utf8_lossy(&collected.to_bytes()).into_owned();
    let mut found = None;
    if let Some(end) = xml.find("</Code>") {
        let code = xml[..end].rsplit('>').next().unwrap_or_default().to_string();
        found = Some(code.clone());
        let at = end + "</Code>".len();
        if !xml.contains("<Message>") {
            xml.insert_str(at, &format!("<Message>{}</Message>", default_message(&code)));
        }
        let mut extra = detail.elements(&code);
        let esc = |v: &str| v.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        for (name, value) in &elements {
            if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric()) {
                extra.push_str(&format!("<{name}>{}</{name}>", esc(value)));
            }
        }
        if !extra.is_empty()
            && let Some(close) = xml.rfind("<RequestId>").or_else(|| xml.rfind("</Error>"))
        {
            xml.insert_str(close, &extra);
        }
        if !xml.contains("<RequestId>")
            && let Some(close) = xml.rfind("</Error>")
        {
            xml.insert_str(close, &format!("<RequestId>{request_id}</RequestId>"));
        }
    }
    parts.headers.remove("content-length");
    (Response::from_parts(parts, boxed(Full::new(Bytes::from(xml)))), found)
}

/// Operations of S3's current model that the protocol layer does not know, by their
/// subresource: left alone, it would read them as another operation (UpdateObjectEncryption's
/// `PUT /{Bucket}/{Key}?encryption` as a PutObject of the XML, RenameObject as an empty
/// PutObject, GetBucketAbac as a listing). They answer NotImplemented, naming what they need.
fn unrouted_operation(parts: &Parts, has_key: bool) -> Option<(&'static str, &'static str)> {
    let query = parts.uri.query()?;
    let has = |q: &str| query.split('&').any(|kv| kv.split('=').next() == Some(q));
    let method = parts.method.as_str();
    let found = if has_key {
        match method {
            "PUT" if has("encryption") => {
                ("UpdateObjectEncryption", "changing an object's encryption in place is not served by this server")
            }
            "PUT" if has("renameObject") => {
                ("RenameObject", "RenameObject is for directory buckets, which this server does not serve")
            }
            _ => return None,
        }
    } else if has("abac") {
        (
            if method == "PUT" { "PutBucketAbac" } else { "GetBucketAbac" },
            "attribute-based access control for buckets is not served by this server",
        )
    } else if ["metadataConfiguration", "metadataTable", "metadataInventoryTable", "metadataJournalTable"]
        .iter()
        .any(|q| has(q))
    {
        ("S3 Metadata", "S3 Metadata configurations need S3 Tables, which this server does not run")
    } else {
        return None;
    };
    Some(found)
}

/// What an access log line takes from the request's head.
struct LogHead {
    method: Method,
    referer: Option<String>,
    user_agent: Option<String>,
    host: Option<String>,
    tls: bool,
}

impl LogHead {
    fn of(parts: &Parts) -> LogHead {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        LogHead {
            method: parts.method.clone(),
            referer: header("referer"),
            user_agent: header("user-agent"),
            host: header("host"),
            tls: parts.extensions.get::<crate::gateway::Secure>().is_some(),
        }
    }
}

/// The operation an access log line names: `REST.{METHOD}.{RESOURCE}` as S3 writes them.
fn log_operation(parts: &Parts, has_key: bool) -> String {
    let method = parts.method.as_str();
    let query: Vec<&str> =
        parts.uri.query().unwrap_or("").split('&').map(|p| p.split('=').next().unwrap_or("")).collect();
    let has = |q: &str| query.contains(&q);
    let copy = parts.headers.contains_key("x-amz-copy-source");
    let resource = if has_key {
        if has("uploadId") {
            match method {
                "PUT" if copy => "PART".to_string(),
                "PUT" => return "REST.PUT.PART".to_string(),
                "POST" => "UPLOAD".to_string(),
                "DELETE" => "UPLOAD".to_string(),
                _ => "UPLOAD".to_string(),
            }
        } else if has("uploads") {
            "UPLOADS".to_string()
        } else if has("tagging") {
            "OBJECT_TAGGING".to_string()
        } else if has("acl") {
            "ACL".to_string()
        } else if has("retention") {
            "OBJECT_RETENTION".to_string()
        } else if has("legal-hold") {
            "OBJECT_LEGAL_HOLD".to_string()
        } else if has("attributes") {
            "OBJECT_ATTRIBUTES".to_string()
        } else if has("restore") {
            "OBJECT_RESTORE".to_string()
        } else if has("select") {
            "SELECT".to_string()
        } else {
            "OBJECT".to_string()
        }
    } else {
        const BUCKET: &[(&str, &str)] = &[
            ("versioning", "VERSIONING"),
            ("versions", "BUCKETVERSIONS"),
            ("uploads", "UPLOADS"),
            ("delete", "MULTI_OBJECT_DELETE"),
            ("location", "LOCATION"),
            ("policy", "BUCKETPOLICY"),
            ("policyStatus", "POLICY_STATUS"),
            ("logging", "LOGGING_STATUS"),
            ("tagging", "TAGGING"),
            ("cors", "CORS"),
            ("lifecycle", "LIFECYCLE"),
            ("notification", "NOTIFICATION"),
            ("acl", "ACL"),
            ("website", "WEBSITE"),
            ("encryption", "ENCRYPTION"),
            ("replication", "REPLICATION"),
            ("requestPayment", "REQUEST_PAYMENT"),
            ("accelerate", "ACCELERATE"),
            ("object-lock", "OBJECT_LOCK_CONFIGURATION"),
            ("ownershipControls", "OWNERSHIP_CONTROLS"),
            ("publicAccessBlock", "PUBLIC_ACCESS_BLOCK"),
            ("inventory", "INVENTORY_CONFIGURATION"),
            ("analytics", "ANALYTICS_CONFIGURATION"),
            ("metrics", "METRICS_CONFIGURATION"),
            ("intelligent-tiering", "INTELLIGENT_TIERING_CONFIGURATION"),
        ];
        BUCKET.iter().find(|(q, _)| has(q)).map_or("BUCKET", |(_, r)| r).to_string()
    };
    let verb = if copy && method == "PUT" { "COPY" } else { method };
    format!("REST.{verb}.{resource}")
}

/// (signature version, authentication type) of a request, as access logs name them.
fn log_auth(parts: &Parts) -> (Option<String>, Option<String>) {
    let header = parts.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    let query = parts.uri.query().unwrap_or("");
    let q = |p: &str| query.split('&').any(|kv| kv.split('=').next() == Some(p));
    let (sig, auth) = if header.starts_with("AWS4-") {
        ("SigV4", "AuthHeader")
    } else if header.starts_with("AWS ") {
        ("SigV2", "AuthHeader")
    } else if q("X-Amz-Algorithm") {
        ("SigV4", "QueryString")
    } else if q("Signature") {
        ("SigV2", "QueryString")
    } else {
        return (None, None);
    };
    (Some(sig.to_string()), Some(auth.to_string()))
}

impl S3Door {
    pub fn new(
        s3: S3,
        mode: Mode,
        keys: Arc<dyn KeyStore>,
        authorizer: Option<stratus_iam_api::Authorizer>,
        default_account: String,
        default_region: String,
        env: Env,
    ) -> Self {
        let mut b = S3ServiceBuilder::new(s3.clone());
        b.set_host(Hosts);
        if mode == Mode::Verify {
            b.set_auth(Keys(keys.clone()));
        }
        if let Some(authorizer) = authorizer {
            b.set_access(access::Access { authorizer, keys: keys.clone(), s3: s3.clone() });
        }
        Self { s3, service: b.build(), mode, keys, default_account, default_region, env }
    }

    /// The account an access key acts for.
    fn account_of(&self, access_key: &str) -> String {
        match self.mode {
            Mode::Verify => {
                self.keys.lookup(access_key).map(|c| c.account).unwrap_or_else(|| self.default_account.clone())
            }
            Mode::Open => account_for_access_key(access_key, &self.default_account),
        }
    }

    pub async fn handle(&self, req: hyper::Request<Incoming>) -> Response<Body> {
        let started = std::time::Instant::now();
        let (mut parts, body) = req.into_parts();
        let request_id = self.env.ids.uuid();
        let request_uri = format!(
            "{} {} HTTP/1.1",
            parts.method,
            parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_string(), |p| p.to_string())
        );
        let (signature_version, authentication_type) = log_auth(&parts);
        let sig = signed(&parts.uri, &parts.headers);
        let region = sig
            .as_ref()
            .and_then(|s| s.region.clone())
            .filter(|r| stratus_core::valid_region(r))
            .unwrap_or_else(|| self.default_region.clone());
        let origin = parts.headers.get("origin").and_then(|v| v.to_str().ok()).map(str::to_string);
        let expects_continue = parts
            .headers
            .get("expect")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        if parts.method == Method::OPTIONS {
            return self.preflight(&parts, origin.as_deref(), &request_id).await;
        }
        let unchunk = self.mode == Mode::Open && chunked::is_chunked(&parts);
        if self.mode == Mode::Open {
            strip_signature(&mut parts);
            if unchunk {
                chunked::unframe_headers(&mut parts);
            }
        }
        let mut access_key = sig.map(|s| s.access_key);
        let body = match form::boundary(&parts) {
            Some(boundary) => match form::rewrite(&mut parts, body, &boundary, self.mode == Mode::Open).await {
                Ok(form) => {
                    // A form names its signer in a field, not in a header.
                    if form.access_key.is_some() {
                        access_key = form.access_key;
                    }
                    s3s::Body::http_body_unsync(form.body)
                }
                Err(e) => {
                    return error_xml(StatusCode::BAD_REQUEST, "MalformedPOSTRequest", &e.to_string(), &request_id);
                }
            },
            None if unchunk => s3s::Body::http_body_unsync(chunked::Unchunked::new(body)),
            None => s3s::Body::from(body),
        };
        let account = access_key.as_deref().map_or_else(|| self.default_account.clone(), |k| self.account_of(k));
        let source_ip = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_string())
            .or_else(|| parts.extensions.get::<crate::gateway::Peer>().map(|p| p.0.ip().to_string()))
            .unwrap_or_else(|| "127.0.0.1".to_string());
        let arn = access_key
            .as_deref()
            .and_then(|k| self.keys.lookup(k))
            .map_or_else(|| format!("arn:aws:iam::{account}:root"), |c| c.identity.caller_arn(&account));
        let requester = access_key.as_ref().map(|_| {
            let identity = (!arn.ends_with(":root")).then(|| arn.clone());
            (account.clone(), identity)
        });
        let settings = match bucket_of(&parts) {
            Some(b) => self.s3.bucket_settings(&b).await.map(|s| (b, s)),
            None => None,
        };
        // Requester Pays: another account must say it pays (x-amz-request-payer: requester).
        let mut charged = false;
        if let Some((_, s)) = &settings
            && s.requester_pays
            && (s.owner != account || access_key.is_none())
        {
            let pays = parts
                .headers
                .get("x-amz-request-payer")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("requester"));
            // Anonymous requests are never charged, so never served.
            if !pays || access_key.is_none() {
                let mut resp = error_xml(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied", &request_id);
                if let Ok(v) = HeaderValue::from_str(&request_id) {
                    resp.headers_mut().insert("x-amz-request-id", v);
                }
                if let Some((bucket, s)) = &settings
                    && s.logging.is_some()
                {
                    let detail = ErrorDetail::of(&parts);
                    let mut entry = stratus_s3::AccessEntry {
                        bucket: bucket.clone(),
                        remote_ip: source_ip.clone(),
                        requester: requester.clone(),
                        request_id: request_id.clone(),
                        operation: log_operation(&parts, detail.key.is_some()),
                        key: detail.key.clone(),
                        request_uri,
                        status: 403,
                        error_code: Some("AccessDenied".into()),
                        signature_version,
                        authentication_type,
                        ..Default::default()
                    };
                    self.fill_entry(&mut entry, &LogHead::of(&parts), &resp, started);
                    self.s3.log_access(s, &entry);
                }
                return resp;
            }
            charged = true;
        }
        let log_base =
            settings.as_ref().filter(|(_, s)| s.logging.is_some()).map(|(bucket, _)| stratus_s3::AccessEntry {
                bucket: bucket.clone(),
                remote_ip: source_ip.clone(),
                requester,
                request_id: request_id.clone(),
                request_uri,
                signature_version,
                authentication_type,
                ..Default::default()
            });
        parts.extensions.insert(Caller { account, region, request_id: request_id.clone(), access_key, source_ip, arn });
        let cors = match (&origin, bucket_of(&parts)) {
            (Some(o), Some(b)) => self.s3.cors_headers(&b, o, parts.method.as_str()).await,
            _ => Vec::new(),
        };
        // S3 ignores a Range header it cannot use (malformed, or several ranges): the whole
        // object is answered, where the S3 protocol layer would refuse the request.
        if parts.headers.get("range").is_some_and(|v| !usable_range(v.to_str().unwrap_or(""))) {
            parts.headers.remove("range");
        }
        // GetObjectAttributes without its attribute list is S3's own InvalidRequest (answered by
        // the service for an empty list), not the protocol layer's missing-header error.
        let attributes_call =
            parts.method == Method::GET && parts.uri.query().is_some_and(|q| q.split('&').any(|p| p == "attributes"));
        if attributes_call && !parts.headers.contains_key("x-amz-object-attributes") {
            parts.headers.insert("x-amz-object-attributes", http::HeaderValue::from_static(""));
        }
        let ranged_head = parts.method == Method::HEAD && parts.headers.contains_key("range");
        let detail = ErrorDetail::of(&parts);
        if let Some((op, why)) = unrouted_operation(&parts, detail.key.is_some()) {
            let mut r = error_xml(StatusCode::NOT_IMPLEMENTED, "NotImplemented", &format!("{op}: {why}."), &request_id);
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                r.headers_mut().insert("x-amz-request-id", v);
            }
            return r;
        }
        let bucket_head = parts.method == Method::HEAD && is_bucket_request(&parts);
        // What the access log line needs of the request, taken before the request is handed on.
        let log_request = log_base.map(|mut entry| {
            entry.operation = log_operation(&parts, detail.key.is_some());
            entry.key = detail.key.clone();
            let request_size = ["x-amz-decoded-content-length", "content-length"]
                .iter()
                .find_map(|h| parts.headers.get(*h).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()));
            if parts.method == Method::PUT && detail.key.is_some() {
                entry.object_size = request_size;
            }
            (entry, LogHead::of(&parts))
        });
        let req = hyper::Request::from_parts(parts, body);
        let mut resp = match self.service.call(req).await {
            Ok(r) => r.map(|b| b.boxed_unsync()),
            Err(e) => {
                tracing::warn!("S3 request failed: {e:?}");
                error_xml(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "We encountered an internal error.",
                    &request_id,
                )
            }
        };
        if bucket_head && resp.status() == StatusCode::OK {
            // HeadBucket answers with S3's XML content type, as a bucket-level request.
            resp.headers_mut().insert("content-type", HeaderValue::from_static("application/xml"));
        }
        if ranged_head && resp.status() == StatusCode::OK && resp.headers().contains_key("content-range") {
            // S3 answers a ranged HEAD like the ranged GET it describes; `s3s` keeps HEADs at 200.
            *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
        }
        if let Some(status) = resp.headers_mut().remove(stratus_s3::STATUS_OVERRIDE)
            && let Some(s) = status.to_str().ok().and_then(|s| s.parse::<u16>().ok())
            && let Ok(s) = StatusCode::from_u16(s)
        {
            *resp.status_mut() = s;
        }
        if attributes_call && resp.status() == StatusCode::OK {
            resp = unquoted_etag(resp).await;
        }
        let mut error_code = None;
        if resp.status().is_client_error() || resp.status().is_server_error() {
            (resp, error_code) = complete_error(resp, &request_id, &detail).await;
            if expects_continue {
                // An error answered before the body was asked for: the client (told nothing
                // with a 100) does not send it, yet the connection would wait to discard it and
                // eat the start of the next request. Closing keeps the two in step.
                resp.headers_mut().insert("connection", HeaderValue::from_static("close"));
            }
        }
        let h = resp.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            h.entry("x-amz-request-id").or_insert(v);
        }
        for (name, value) in cors {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        }
        if charged && resp.status().is_success() {
            resp.headers_mut().insert("x-amz-request-charged", HeaderValue::from_static("requester"));
        }
        if let (Some((mut entry, request)), Some((_, s))) = (log_request, &settings) {
            entry.status = resp.status().as_u16();
            entry.error_code = error_code;
            entry.version_id = detail.version_id.clone();
            self.fill_entry(&mut entry, &request, &resp, started);
            self.s3.log_access(s, &entry);
        }
        resp
    }

    /// The parts of an access log entry every request shares: time, sizes, headers.
    fn fill_entry(
        &self,
        entry: &mut stratus_s3::AccessEntry,
        head: &LogHead,
        resp: &Response<Body>,
        started: std::time::Instant,
    ) {
        entry.time_millis = self.env.clock.now_millis();
        let took = started.elapsed().as_millis() as u64;
        (entry.total_ms, entry.turnaround_ms) = (took, took);
        entry.referer = head.referer.clone();
        entry.user_agent = head.user_agent.clone();
        entry.host = head.host.clone();
        entry.host_id = self.env.ids.uuid().replace('-', "");
        entry.tls = head.tls;
        let length = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .or_else(|| hyper::body::Body::size_hint(resp.body()).exact());
        if head.method != Method::HEAD {
            entry.bytes_sent = length.filter(|n| *n > 0);
        }
        if entry.object_size.is_none() && entry.key.is_some() && matches!(head.method, Method::GET | Method::HEAD) {
            let total = resp
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit('/').next())
                .and_then(|v| v.parse::<u64>().ok());
            entry.object_size = total.or(length).filter(|_| resp.status().is_success());
        }
    }

    /// A CORS preflight, answered from the bucket's CORS rules as S3 does.
    async fn preflight(&self, parts: &Parts, origin: Option<&str>, request_id: &str) -> Response<Body> {
        let method = parts.headers.get("access-control-request-method").and_then(|v| v.to_str().ok());
        let (Some(origin), Some(method), Some(bucket)) = (origin, method, bucket_of(parts)) else {
            return error_xml(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Insufficient information. Origin request header needed.",
                request_id,
            );
        };
        let headers: Vec<String> = parts
            .headers
            .get("access-control-request-headers")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect())
            .unwrap_or_default();
        match self.s3.cors_preflight(&bucket, origin, method, &headers).await {
            Ok(allowed) => {
                let mut r = Response::new(boxed(Full::new(Bytes::new())));
                for (name, value) in allowed {
                    if let Ok(v) = HeaderValue::from_str(&value) {
                        r.headers_mut().insert(name, v);
                    }
                }
                r
            }
            Err(code) if code == "NoSuchBucket" => {
                error_xml(StatusCode::NOT_FOUND, "NoSuchBucket", "The specified bucket does not exist", request_id)
            }
            Err(_) => error_xml(
                StatusCode::FORBIDDEN,
                "AccessForbidden",
                "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
                request_id,
            ),
        }
    }
}

impl FrontDoor for S3Door {
    fn claims(&self, _head: &Head<'_>) -> bool {
        true
    }

    fn serve(&self, req: hyper::Request<Incoming>) -> stratus_proto::BoxFuture<'_, Response<Body>> {
        Box::pin(self.handle(req))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn req(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::Request<()> {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
        req(method, uri, headers).into_parts().0
    }

    #[test]
    fn open_mode_strips_only_signature_parameters() {
        let mut p = parts("GET", "/b/k?versionId=1&X-Amz-Signature=s&X-Amz-Credential=c&partNumber=2", &[]);
        strip_signature(&mut p);
        assert_eq!(p.uri.to_string(), "/b/k?versionId=1&partNumber=2");
        let mut p = parts("GET", "/b/k?AWSAccessKeyId=a&Signature=s&Expires=1", &[("authorization", "x")]);
        strip_signature(&mut p);
        assert_eq!(p.uri.to_string(), "/b/k");
        assert!(!p.headers.contains_key("authorization"));
    }

    #[test]
    fn virtual_hosts_name_the_bucket() {
        let h = Hosts;
        assert_eq!(h.parse_host_header("photos.s3.localhost:4566").unwrap().bucket(), Some("photos"));
        assert_eq!(h.parse_host_header("localhost:4566").unwrap().bucket(), None);
        assert_eq!(h.parse_host_header("s3.localhost").unwrap().bucket(), None);
    }
}

/// One byte range as S3 takes it: `bytes=first-[last]` or `bytes=-suffix`.
fn usable_range(v: &str) -> bool {
    let Some(spec) = v.trim().strip_prefix("bytes=") else { return false };
    let Some((a, b)) = spec.split_once('-') else { return false };
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
    match (a.is_empty(), b.is_empty()) {
        (false, true) => digits(a),
        (false, false) => digits(a) && digits(b) && a.parse::<u64>().ok() <= b.parse::<u64>().ok(),
        (true, false) => digits(b),
        (true, true) => false,
    }
}

#[cfg(test)]
mod range_tests {
    use super::usable_range;

    #[test]
    fn ranges_s3_uses() {
        for ok in ["bytes=0-1", "bytes=5-", "bytes=-3"] {
            assert!(usable_range(ok), "{ok}");
        }
        for bad in ["bytes=abc", "bytes=0-1,3-4", "bytes=-", "items=0-1", "bytes=5-2"] {
            assert!(!usable_range(bad), "{bad}");
        }
    }
}
