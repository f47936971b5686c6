//! The AWS API door: every service described by a model (query, JSON and rest-json protocols).
//! It claims a request signed for a service other than S3, one with `X-Amz-Target`, `Action=`
//! or a form body, and an unsigned one whose method and path a served REST model's URI
//! templates match. It reads the body (up to the limit of the operation's service), says who
//! calls, picks the service and hands the request to the protocol layer.

use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use stratus_core::{Env, RequestContext};
use stratus_iam::{AuthError, Authenticator, Principal};
use stratus_proto::model::Protocol;
use stratus_proto::{ApiRequest, Service, Wire};
use stratus_sigv4::{AuthInfo, Dialect};

use crate::gateway::{Body, FrontDoor, Head, Reply, auth_error, boxed, guess_dialect, host_of, plain_error};
use crate::services::{Services, UnsignedPrincipal};

/// Largest request body accepted, except where a service allows more (see [`body_limit`]).
pub const MAX_BODY: usize = 16 << 20;

/// How requests find a service: its SigV4 signing name and its `X-Amz-Target` prefix.
struct Route {
    signing_name: String,
    target_prefix: Option<String>,
    service: Arc<dyn Service>,
}

pub struct AwsDoor {
    routes: Vec<Route>,
    auth: Arc<Authenticator>,
    /// Enforce mode: every request is authorized by IAM policies before it runs.
    authorizer: Option<stratus_iam_api::Authorizer>,
    env: Env,
    default_region: String,
    unsigned: Vec<UnsignedPrincipal>,
}

impl AwsDoor {
    /// Takes the APIs and unsigned-request rules out of the registrations.
    pub fn new(
        services: &mut Services,
        auth: Arc<Authenticator>,
        authorizer: Option<stratus_iam_api::Authorizer>,
        env: Env,
        default_region: String,
    ) -> Self {
        let mut routes = Vec::new();
        let mut unsigned = Vec::new();
        for r in &mut services.list {
            if let Some(service) = r.api.clone() {
                let m = &service.model().metadata;
                routes.push(Route {
                    signing_name: m.signing_name.clone(),
                    target_prefix: m.target_prefix.clone(),
                    service,
                });
            }
            if let Some(u) = r.unsigned.take() {
                unsigned.push(u);
            }
        }
        AwsDoor { routes, auth, authorizer, env, default_region, unsigned }
    }

    fn by_signing_name(&self, name: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.signing_name == name)
    }

    fn rest_route(&self, method: &Method, uri: &http::Uri) -> Option<&Route> {
        self.routes.iter().find(|r| {
            let model = r.service.model();
            model.metadata.protocol == Protocol::RestJson
                && stratus_proto::restjson::claims(model, method.as_str(), uri)
        })
    }

    fn served(&self) -> String {
        let mut names: Vec<&str> = self.routes.iter().map(|r| r.signing_name.as_str()).collect();
        names.dedup();
        names.push("s3");
        names.join(", ")
    }

    /// The service a request is for, or the error naming what is not served here.
    fn route(&self, parts: &Parts, info: Option<&AuthInfo>) -> Result<&Route, Box<Reply>> {
        let unserved = |what: String| {
            Box::new(plain_error(
                guess_dialect(parts),
                StatusCode::NOT_IMPLEMENTED,
                "NotImplemented",
                &format!("This server does not provide {what}. It serves: {}.", self.served()),
            ))
        };
        if let Some(target) = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
            let prefix = target.rsplit_once('.').map(|(p, _)| p).unwrap_or(target);
            return self
                .routes
                .iter()
                .find(|r| r.target_prefix.as_deref() == Some(prefix))
                .ok_or_else(|| unserved(format!("the API of X-Amz-Target {prefix}")));
        }
        if let Some(i) = info {
            // Services sharing a signing name (API Gateway's REST and HTTP APIs both sign as
            // `apigateway`) are told apart by their URI templates.
            let shared = self.routes.iter().filter(|r| r.signing_name == i.service).count() > 1;
            let by_template = shared
                .then(|| {
                    self.routes.iter().find(|r| {
                        r.signing_name == i.service
                            && r.service.model().metadata.protocol == Protocol::RestJson
                            && stratus_proto::restjson::claims(r.service.model(), parts.method.as_str(), &parts.uri)
                    })
                })
                .flatten();
            return by_template
                .or_else(|| self.by_signing_name(&i.service))
                .ok_or_else(|| unserved(format!("the {} service", i.service)));
        }
        if let Some(r) = self.rest_route(&parts.method, &parts.uri) {
            return Ok(r);
        }
        // Unsigned query requests: the service whose model has the action, or SQS's queue URLs.
        let action = parts.uri.query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("Action=")));
        self.routes
            .iter()
            .find(|r| action.is_some_and(|a| r.service.model().operation(a).is_some()))
            .or_else(|| self.by_signing_name("sqs"))
            .ok_or_else(|| unserved("this API".into()))
    }

    fn route_by_form_action(&self, parts: &Parts, body: &Bytes) -> Option<&Route> {
        let form = parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form || parts.uri.query().is_some_and(|q| q.contains("Action=")) {
            return None;
        }
        let action = form_urlencoded::parse(body).find(|(k, _)| k == "Action").map(|(_, v)| v.into_owned())?;
        self.routes.iter().find(|r| r.service.model().operation(&action).is_some())
    }

    fn authenticate(&self, parts: &Parts, body: &Bytes, info: Option<&AuthInfo>) -> Result<Principal, AuthError> {
        self.auth.authenticate(
            info,
            &parts.method,
            &parts.uri,
            &parts.headers,
            || stratus_sigv4::sha256_hex(body),
            self.env.clock.now(),
        )
    }

    async fn api(&self, req: hyper::Request<Incoming>) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let info = match Authenticator::parse(&parts.method, &parts.uri, &parts.headers) {
            Ok(i) => i,
            Err(e) => return auth_error(guess_dialect(&parts), &AuthError::SigV4(e)).map(boxed),
        };
        let route = match self.route(&parts, info.as_ref()) {
            Ok(r) => r,
            Err(reply) => return reply.map(boxed),
        };
        let body = match read_body(&parts, body, route).await {
            Ok(b) => b,
            Err(reply) => return reply.map(boxed),
        };
        // An unsigned form request names its action in the body (STS's
        // AssumeRoleWithWebIdentity): the service whose model has it.
        let route = match info {
            None => self.route_by_form_action(&parts, &body).unwrap_or(route),
            Some(_) => route,
        };
        let req = ApiRequest { method: &parts.method, uri: &parts.uri, headers: &parts.headers, body: &body };
        let wire = stratus_proto::detect_wire(route.service.model(), &req);
        let dialect = if matches!(wire, Wire::Query | Wire::Ec2) { Dialect::Query } else { Dialect::Json };
        let principal = match info.is_none().then(|| self.unsigned.iter().find_map(|u| u(&parts, &body))).flatten() {
            Some(p) if p.service.as_deref().is_none_or(|s| s == route.signing_name) => Ok(p),
            _ => self.authenticate(&parts, &body, info.as_ref()),
        };
        let principal = match principal {
            Ok(p) => p,
            // A CBOR client reads its errors in CBOR.
            Err(e) if wire == Wire::Cbor => {
                let (code, status, message) = e.aws_error(dialect);
                let err = stratus_core::AwsError::new(code, message).with_status(status);
                let id = self.env.ids.uuid();
                return stratus_proto::error_response(route.service.model(), wire, None, &err, &id)
                    .map(|b| boxed(Full::new(b)));
            }
            Err(e) => return auth_error(dialect, &e).map(boxed),
        };
        let region = principal
            .region
            .as_deref()
            .filter(|r| stratus_core::valid_region(r))
            .unwrap_or(&self.default_region)
            .to_string();
        let who = principal.identity.clone();
        let ctx = RequestContext {
            account: principal.account,
            region,
            request_id: self.env.ids.uuid(),
            access_key: principal.access_key,
            host: host_of(&parts),
            path: parts.uri.path().to_string(),
        };
        let source_ip = parts.extensions.get::<crate::gateway::Peer>().map(|p| p.0.ip().to_string());
        let authz = self.authorizer.as_ref().map(|a| DoorAuthz {
            authorizer: a,
            who,
            service: &route.signing_name,
            source_ip: source_ip.clone(),
        });
        let answer = stratus_proto::dispatch_events(
            route.service.as_ref(),
            &ctx,
            &req,
            authz.as_ref().map(|a| a as &dyn stratus_proto::Authorize),
        )
        .await;
        match answer {
            stratus_proto::Dispatched::Full(resp) => {
                tracing::debug!(service = %route.signing_name, status = resp.status().as_u16(), request_id = %ctx.request_id, "request");
                resp.map(|b| boxed(Full::new(b)))
            }
            stratus_proto::Dispatched::Events(events) => {
                tracing::debug!(service = %route.signing_name, request_id = %ctx.request_id, "event stream");
                event_stream(route.service.clone(), events, &ctx.request_id)
            }
        }
    }
}

/// An event stream response: the head now, then the initial response and each event as the
/// service produces them. The stream ends when the source does, or when the client goes away
/// (the body is dropped, and the task stops at its next send).
fn event_stream(service: Arc<dyn Service>, events: stratus_proto::Events<'_>, request_id: &str) -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let head = events.head(request_id);
    let first = Bytes::from(events.initial());
    // The events are framed in a task that owns the service (and so its model).
    let stratus_proto::Events { op, wire, mut source, .. } = events;
    let op = op.name.clone();
    tokio::spawn(async move {
        let model = service.model();
        let Some(op) = model.operation(&op) else { return };
        let framer = stratus_proto::Events { model, op, wire, source: Box::new(Ended) };
        if tx.send(first).await.is_err() {
            return;
        }
        while let Some(event) = source.next().await {
            let last = event.is_err();
            if tx.send(Bytes::from(framer.frame(&event))).await.is_err() || last {
                return;
            }
        }
    });
    head.map(|()| http_body_util::BodyExt::boxed_unsync(ChannelBody(rx)))
}

/// A source with nothing more to send.
struct Ended;

impl stratus_proto::eventstream::EventSource for Ended {
    fn next(
        &mut self,
    ) -> stratus_proto::BoxFuture<'_, Option<Result<(String, serde_json::Value), stratus_core::AwsError>>> {
        Box::pin(async { None })
    }
}

/// A body fed from a channel.
struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = crate::gateway::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

/// One request's authorization: who calls, for which service.
struct DoorAuthz<'a> {
    authorizer: &'a stratus_iam_api::Authorizer,
    who: stratus_iam::Identity,
    service: &'a str,
    /// The client's address (`aws:SourceIp`).
    source_ip: Option<String>,
}

impl stratus_proto::Authorize for DoorAuthz<'_> {
    fn authorize<'b>(
        &'b self,
        ctx: &'b RequestContext,
        op: &'b stratus_proto::Operation,
        input: &'b serde_json::Value,
    ) -> stratus_proto::BoxFuture<'b, Result<(), stratus_core::AwsError>> {
        Box::pin(self.authorizer.authorize(&self.who, ctx, self.service, &op.name, input, self.source_ip.as_deref()))
    }
}

/// How much body an operation takes: Lambda's code uploads carry a 50 MB zip as base64 in
/// JSON (AWS's limit for the request is 70,167,211 bytes); everything else fits in
/// [`MAX_BODY`]. Returns the limit and the operation it is for, for the error.
fn body_limit(route: &Route, parts: &Parts) -> (usize, Option<&'static str>) {
    if route.signing_name != "lambda" {
        return (MAX_BODY, None);
    }
    let path = parts.uri.path().trim_end_matches('/');
    let op = match parts.method {
        Method::POST if path == "/2015-03-31/functions" => Some("CreateFunction"),
        Method::PUT if path.starts_with("/2015-03-31/functions/") && path.ends_with("/code") => {
            Some("UpdateFunctionCode")
        }
        Method::POST if path.starts_with("/2018-10-31/layers/") && path.ends_with("/versions") => {
            Some("PublishLayerVersion")
        }
        _ => None,
    };
    match op {
        Some(op) => (stratus_lambda::MAX_CODE_REQUEST_BYTES, Some(op)),
        None => (MAX_BODY, None),
    }
}

/// Reads the body, refusing one over the operation's limit before reading it whole.
async fn read_body(parts: &Parts, body: Incoming, route: &Route) -> Result<Bytes, Box<Reply>> {
    let (limit, op) = body_limit(route, parts);
    let too_large = || {
        let dialect = guess_dialect(parts);
        Box::new(match (route.signing_name.as_str(), op) {
            // What Invoke answers for any payload over its limit, however large.
            ("lambda", None) if parts.uri.path().trim_end_matches('/').ends_with("/invocations") => plain_error(
                dialect,
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLargeException",
                &format!(
                    "Request must be smaller than {} bytes for the InvokeFunction operation",
                    stratus_lambda::MAX_SYNC_PAYLOAD
                ),
            ),
            ("lambda", op) => plain_error(
                dialect,
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLargeException",
                &format!("Request must be smaller than {limit} bytes for the {} operation", op.unwrap_or("requested")),
            ),
            _ => plain_error(
                dialect,
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                &format!("Request body is larger than the {limit} bytes this server accepts."),
            ),
        })
    };
    if let Some(len) = parts.headers.get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        && len > limit as u64
    {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(too_large()),
        Err(_) => Err(Box::new(plain_error(
            guess_dialect(parts),
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            "The request body could not be read.",
        ))),
    }
}

impl FrontDoor for AwsDoor {
    fn claims(&self, head: &Head<'_>) -> bool {
        let host = head.host_name();
        if host == "s3.localhost" || host.ends_with(".s3.localhost") {
            return false;
        }
        match head.signed_service() {
            Some("s3") => return false,
            Some(_) => return true,
            None => {}
        }
        if head.header("x-amz-target").is_some() {
            return true;
        }
        let uri = head.uri;
        if uri.query().is_some_and(|q| q.split('&').any(|kv| kv.starts_with("Action="))) {
            return true;
        }
        let form = head.header("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if form && head.method == Method::POST {
            return true;
        }
        self.rest_route(head.method, uri).is_some()
    }

    fn serve(&self, req: hyper::Request<Incoming>) -> stratus_proto::BoxFuture<'_, Response<Body>> {
        Box::pin(self.api(req))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::Value;
    use stratus_core::{AwsError, RequestContext};
    use stratus_proto::model::{Operation, ServiceModel};

    use super::*;
    use crate::services::Registration;

    /// A service that is only its model: claiming looks at nothing else.
    struct ModelOnly(ServiceModel);

    impl Service for ModelOnly {
        fn model(&self) -> &ServiceModel {
            &self.0
        }

        fn call<'a>(
            &'a self,
            _ctx: &'a RequestContext,
            _op: &'a Operation,
            _input: Value,
        ) -> stratus_proto::BoxFuture<'a, Result<Value, AwsError>> {
            Box::pin(async { Ok(Value::Null) })
        }
    }

    fn door() -> AwsDoor {
        let mut services = Services::default();
        for (name, json) in [
            ("sqs", include_str!("../../../../models/sqs.json")),
            ("lambda", include_str!("../../../../models/lambda.json")),
        ] {
            let model = ServiceModel::parse(json, None).unwrap();
            services.register(Registration::new(name).api(Arc::new(ModelOnly(model))));
        }
        let auth = Arc::new(Authenticator::open("000000000000"));
        AwsDoor::new(&mut services, auth, None, Env::system(), "us-east-1".into())
    }

    fn claims(door: &AwsDoor, method: &str, uri: &str, headers: &[(&str, &str)]) -> bool {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(()).unwrap();
        door.claims(&Head::of(&req))
    }

    fn v4(service: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=x"
        )
    }

    #[test]
    fn claims_api_requests_and_leaves_s3_its_own() {
        let d = door();
        // Signed for a service: that service's, S3's excepted (also one not served here).
        assert!(claims(&d, "POST", "/", &[("authorization", &v4("sqs"))]));
        assert!(claims(&d, "POST", "/", &[("authorization", &v4("cloudformation"))]));
        assert!(!claims(&d, "GET", "/bucket/key", &[("authorization", &v4("s3"))]));
        assert!(!claims(&d, "GET", "/b/k?AWSAccessKeyId=a&Signature=s&Expires=1", &[]));
        assert!(!claims(&d, "GET", "/b/k?X-Amz-Credential=a%2F20240101%2Fus-east-1%2Fs3%2Faws4_request", &[]));
        // Unsigned: targets, actions and form posts are API requests.
        assert!(claims(&d, "POST", "/", &[("x-amz-target", "AmazonSQS.ListQueues")]));
        assert!(claims(&d, "GET", "/?Action=ListQueues", &[]));
        assert!(claims(&d, "POST", "/", &[("content-type", "application/x-www-form-urlencoded")]));
        // Unsigned REST: the model's URI templates decide; the rest is S3's.
        assert!(claims(&d, "GET", "/2015-03-31/functions/", &[]));
        assert!(claims(&d, "GET", "/2015-03-31/functions/my-fn", &[]));
        assert!(claims(&d, "POST", "/2015-03-31/functions/my-fn/invocations", &[]));
        assert!(!claims(&d, "GET", "/b/k", &[]));
        assert!(!claims(&d, "PUT", "/2015-03-31/functions/my-fn", &[]));
        // S3's virtual hosts are never claimed.
        assert!(!claims(&d, "GET", "/?Action=ListQueues", &[("host", "bucket.s3.localhost:4566")]));
    }

    #[test]
    fn services_sharing_a_signing_name_are_told_apart_by_path() {
        let mut services = Services::default();
        for (name, json) in [
            ("apigateway", include_str!("../../../../models/apigateway.json")),
            ("apigatewayv2", include_str!("../../../../models/apigatewayv2.json")),
        ] {
            let model = ServiceModel::parse(json, None).unwrap();
            services.register(Registration::new(name).api(Arc::new(ModelOnly(model))));
        }
        let auth = Arc::new(Authenticator::open("000000000000"));
        let d = AwsDoor::new(&mut services, auth, None, Env::system(), "us-east-1".into());
        let chosen = |method: &str, uri: &str| {
            let req = http::Request::builder()
                .method(method)
                .uri(uri)
                .header("authorization", v4("apigateway"))
                .header("x-amz-date", "20240101T000000Z")
                .body(())
                .unwrap();
            let (parts, ()) = req.into_parts();
            let info = Authenticator::parse(&parts.method, &parts.uri, &parts.headers).unwrap();
            let route = d.route(&parts, info.as_ref()).map_err(|_| ()).unwrap();
            route.service.model().metadata.service_id.clone()
        };
        assert_eq!(chosen("GET", "/restapis"), "API Gateway");
        assert_eq!(chosen("POST", "/v2/apis"), "ApiGatewayV2");
        assert_eq!(chosen("GET", "/v2/apis/abc/routes"), "ApiGatewayV2");
        assert_eq!(chosen("GET", "/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Frestapis%2Fx"), "API Gateway");
        assert!(d.served().matches("apigateway").count() == 1);
    }
}
