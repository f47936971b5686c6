//! The AWS wire protocols, driven by the service models: find the operation a request names,
//! decode its input into the model's shape (as a JSON value with the model's member names),
//! validate it, hand it to the service, and encode the output or error the way the protocol
//! and its clients expect.
//!
//! Architecture invariant: this crate knows no service. Services implement [`Service`] and work
//! on typed inputs and outputs (serde structs over the model's member names); one operation
//! implementation serves every protocol the service speaks (SQS: JSON and query).

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, Uri};
use serde_json::Value;
use stratus_core::RequestContext;

pub mod cbor;
pub mod ec2;
pub mod error;
pub mod eventstream;
pub mod json;
pub mod model;
pub mod query;
pub mod restjson;
pub mod validate;
pub mod xml;

pub use error::{AwsError, ValidationFailure};
pub use model::{Operation, Protocol, ServiceModel};
pub use validate::Checks;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The protocol a particular request arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Json,
    /// The JSON protocols' requests and responses as CBOR (`application/x-amz-cbor-1.1`), as the
    /// AWS SDK for Java sends them to Kinesis by default.
    Cbor,
    Query,
    /// EC2's query dialect (see [`ec2`]).
    Ec2,
    RestJson,
}

/// An AWS service behind the protocol layer.
pub trait Service: Send + Sync + 'static {
    fn model(&self) -> &ServiceModel;

    /// Runs an operation. `input` has been validated against the operation's input shape.
    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        op: &'a Operation,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, AwsError>>;

    /// Adjusts a decoded input before validation (e.g. SQS's query protocol may name the queue
    /// by the request path instead of a `QueueUrl` parameter).
    fn prepare(&self, _ctx: &RequestContext, _op: &Operation, _wire: Wire, _input: &mut Value) {}

    /// Whether `op`, whose output the model marks as an event stream, is answered by
    /// [`Service::call_events`] (otherwise [`Service::call`] answers it, e.g. with the service's
    /// error for an operation it does not serve).
    fn streams_events(&self, _op: &Operation) -> bool {
        false
    }

    /// Starts an operation whose output is an event stream (the model marks it), after the same
    /// decoding, authorization and validation as [`Service::call`].
    fn call_events<'a>(
        &'a self,
        _ctx: &'a RequestContext,
        op: &'a Operation,
        _input: Value,
    ) -> BoxFuture<'a, Result<Box<dyn eventstream::EventSource>, AwsError>> {
        Box::pin(async move { Err(AwsError::internal(format!("{} is not served", op.name))) })
    }

    /// Which model checks the service wants the protocol layer to make.
    fn checks(&self) -> Checks {
        Checks::default()
    }

    /// The error a validation failure of `op`'s input is reported as.
    fn validation_error(&self, _op: &Operation, failure: &ValidationFailure, wire: Wire) -> AwsError {
        match wire {
            Wire::Query | Wire::Ec2 => failure.to_query_style(),
            _ => failure.to_validation_exception(),
        }
    }
}

/// A validated input as the operation's typed input; `invalid_code` is the service's error for
/// an input the model accepts but the type does not (reported with the serde message).
pub fn typed_input<T: serde::de::DeserializeOwned>(input: Value, invalid_code: &str) -> Result<T, AwsError> {
    serde_json::from_value(input).map_err(|e| AwsError::new(invalid_code, format!("Invalid request: {e}")))
}

/// An operation's typed output as the value the protocol encodes.
pub fn typed_output<T: serde::Serialize>(output: T) -> Result<Value, AwsError> {
    serde_json::to_value(output).map_err(|e| AwsError::internal(e.to_string()))
}

/// The parts of an HTTP request the protocol layer reads.
pub struct ApiRequest<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl ApiRequest<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn is_form(&self) -> bool {
        self.header("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    }

    fn is_cbor(&self) -> bool {
        let want = cbor::CONTENT_TYPE.as_bytes();
        self.header("content-type")
            .and_then(|c| c.as_bytes().get(..want.len()))
            .is_some_and(|c| c.eq_ignore_ascii_case(want))
    }
}

/// Which wire protocol a request is in, for a service that speaks `model`'s protocols.
pub fn detect_wire(model: &ServiceModel, req: &ApiRequest<'_>) -> Wire {
    let speaks_query = model.metadata.protocol == Protocol::Query || model.metadata.query_compatible;
    if model.metadata.protocol == Protocol::Json && req.is_cbor() {
        return Wire::Cbor;
    }
    if req.headers.contains_key("x-amz-target") && model.metadata.protocol == Protocol::Json {
        return Wire::Json;
    }
    if speaks_query
        && (req.is_form() || (req.method == Method::GET && req.uri.query().is_some_and(|q| q.contains("Action="))))
    {
        return Wire::Query;
    }
    match model.metadata.protocol {
        Protocol::Ec2 => Wire::Ec2,
        Protocol::RestJson => Wire::RestJson,
        Protocol::Query => Wire::Query,
        _ if speaks_query && !req.headers.contains_key("x-amz-target") => Wire::Query,
        _ => Wire::Json,
    }
}

/// Handles one API request end to end.
/// Decides whether a decoded, valid request may run (IAM authorization, in enforce mode).
pub trait Authorize: Send + Sync {
    fn authorize<'a>(
        &'a self,
        ctx: &'a RequestContext,
        op: &'a Operation,
        input: &'a Value,
    ) -> BoxFuture<'a, Result<(), AwsError>>;
}

pub async fn dispatch(svc: &dyn Service, ctx: &RequestContext, req: &ApiRequest<'_>) -> Response<Bytes> {
    dispatch_authorized(svc, ctx, req, None).await
}

/// [`dispatch`], asking `authz` (when given) once the request is decoded, before its input is
/// validated and the call runs.
pub async fn dispatch_authorized(
    svc: &dyn Service,
    ctx: &RequestContext,
    req: &ApiRequest<'_>,
    authz: Option<&dyn Authorize>,
) -> Response<Bytes> {
    match dispatch_events(svc, ctx, req, authz).await {
        Dispatched::Full(r) => r,
        // Only callers that can stream a body ask for operations with event streams.
        Dispatched::Events(e) => {
            let err = AwsError::internal(format!("{} streams its output; this endpoint cannot", e.op.name));
            error_response(svc.model(), e.wire, Some(e.op), &err, &ctx.request_id)
        }
    }
}

/// The answer to a request: a whole response, or the start of an event stream.
pub enum Dispatched<'m> {
    Full(Response<Bytes>),
    Events(Events<'m>),
}

/// An operation answering with an event stream (SubscribeToShard): the caller sends
/// [`Events::head`], then [`Events::initial`], then each event the source yields, framed by
/// [`Events::frame`].
pub struct Events<'m> {
    pub model: &'m ServiceModel,
    pub op: &'m Operation,
    pub wire: Wire,
    pub source: Box<dyn eventstream::EventSource>,
}

impl Events<'_> {
    fn content_type(&self) -> &'static str {
        if self.wire == Wire::Cbor { cbor::CONTENT_TYPE } else { json::content_type(self.model) }
    }

    /// The response head: 200 with the event stream content type.
    pub fn head(&self, request_id: &str) -> Response<()> {
        let mut r = Response::new(());
        let h = r.headers_mut();
        h.insert("content-type", HeaderValue::from_static("application/vnd.amazon.eventstream"));
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert("x-amzn-requestid", v);
        }
        r
    }

    /// The `initial-response` message (the output's members other than the stream: none).
    pub fn initial(&self) -> Vec<u8> {
        let payload = self.payload(None, &Value::Object(Default::default()));
        eventstream::event("initial-response", self.content_type(), &payload)
    }

    fn payload(&self, shape: Option<&str>, value: &Value) -> Vec<u8> {
        match self.wire {
            Wire::Cbor => cbor::encode_json(self.model, shape, value),
            _ => serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()),
        }
    }

    /// One event (or the exception that ends the stream) as an event stream message.
    pub fn frame(&self, event: &Result<(String, Value), AwsError>) -> Vec<u8> {
        match event {
            Ok((name, value)) => {
                let shape = self
                    .model
                    .event_stream_member(self.op)
                    .and_then(|m| self.model.shape(self.op.output.as_deref()?)?.members.get(m))
                    .and_then(|m| self.model.shape(&m.shape))
                    .and_then(|u| u.members.get(name))
                    .map(|m| m.shape.clone());
                eventstream::event(name, self.content_type(), &self.payload(shape.as_deref(), value))
            }
            Err(e) => {
                let body = serde_json::json!({"message": e.message});
                eventstream::exception(&e.code, self.content_type(), &self.payload(None, &body))
            }
        }
    }
}

/// [`dispatch_authorized`] for callers that can stream: an operation whose output is an event
/// stream answers [`Dispatched::Events`] once it has started.
pub async fn dispatch_events<'m>(
    svc: &'m dyn Service,
    ctx: &RequestContext,
    req: &ApiRequest<'_>,
    authz: Option<&dyn Authorize>,
) -> Dispatched<'m> {
    let model = svc.model();
    let wire = detect_wire(model, req);
    let decoded = match wire {
        Wire::Json => json::decode_request(model, req),
        Wire::Cbor => cbor::decode_request(model, req),
        Wire::Query => decode_query(model, req),
        Wire::Ec2 => ec2::decode_request(model, req),
        Wire::RestJson => restjson::decode_request(model, req),
    };
    let full = Dispatched::Full;
    let (op, mut input) = match decoded {
        Ok(Decoded::Ok(op, input)) => (op, input),
        Ok(Decoded::Invalid(op, failure)) => {
            let err = svc.validation_error(op, &failure, wire);
            return full(error_response(model, wire, Some(op), &err, &ctx.request_id));
        }
        Err(err) => return full(error_response(model, wire, None, &err, &ctx.request_id)),
    };
    svc.prepare(ctx, op, wire, &mut input);
    // As on AWS, a caller without the right learns nothing about the input's validity.
    if let Some(a) = authz
        && let Err(err) = a.authorize(ctx, op, &input).await
    {
        return full(error_response(model, wire, Some(op), &err, &ctx.request_id));
    }
    if let Some(shape) = op.input.as_deref()
        && let Err(failure) = validate::validate(model, shape, &input, svc.checks())
    {
        let err = svc.validation_error(op, &failure, wire);
        return full(error_response(model, wire, Some(op), &err, &ctx.request_id));
    }
    if svc.streams_events(op) && model.event_stream_member(op).is_some() {
        return match svc.call_events(ctx, op, input).await {
            Ok(source) => Dispatched::Events(Events { model, op, wire, source }),
            Err(err) => full(error_response(model, wire, Some(op), &err, &ctx.request_id)),
        };
    }
    full(match svc.call(ctx, op, input).await {
        Ok(output) => match wire {
            Wire::Json => json::encode_response(model, &output, &ctx.request_id),
            Wire::Cbor => cbor::encode_response(model, op, &output, &ctx.request_id),
            Wire::Query => {
                let body = query::encode_response(model, op, &output, &ctx.request_id);
                respond(StatusCode::OK, "text/xml", &ctx.request_id, body.into())
            }
            Wire::Ec2 => {
                let body = ec2::encode_response(model, op, &output, &ctx.request_id);
                respond(StatusCode::OK, "text/xml;charset=UTF-8", &ctx.request_id, body.into())
            }
            Wire::RestJson => restjson::encode_response(model, op, output, &ctx.request_id),
        },
        Err(err) => error_response(model, wire, Some(op), &err, &ctx.request_id),
    })
}

/// A decoded request: its operation and input, or the operation and why its input is invalid.
pub enum Decoded<'m> {
    Ok(&'m Operation, Value),
    Invalid(&'m Operation, ValidationFailure),
}

/// The query parameters of a query-style request (URL query and form body).
pub(crate) fn query_params(req: &ApiRequest<'_>) -> Result<query::Params, AwsError> {
    let mut params = query::Params::new();
    if let Some(q) = req.uri.query() {
        query::parse_form(q.as_bytes(), &mut params).map_err(|m| AwsError::new("MalformedQueryString", m))?;
    }
    if req.is_form() {
        query::parse_form(req.body, &mut params).map_err(|m| AwsError::new("MalformedQueryString", m))?;
    }
    Ok(params)
}

fn decode_query<'m>(model: &'m ServiceModel, req: &ApiRequest<'_>) -> Result<Decoded<'m>, AwsError> {
    let params = query_params(req)?;
    let action = params
        .get("Action")
        .ok_or_else(|| AwsError::new("MissingAction", "The request must contain the parameter Action."))?;
    let op = model.operation(action).ok_or_else(|| {
        AwsError::new("InvalidAction", format!("The action {action} is not valid for this web service."))
    })?;
    Ok(match query::decode(model, op, &params) {
        Ok(v) => Decoded::Ok(op, v),
        Err(f) => Decoded::Invalid(op, f),
    })
}

/// The error response for `wire`.
pub fn error_response(
    model: &ServiceModel,
    wire: Wire,
    _op: Option<&Operation>,
    err: &AwsError,
    request_id: &str,
) -> Response<Bytes> {
    match wire {
        Wire::Query => {
            let (status, body) = query::encode_error(model, err, request_id);
            respond(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                "text/xml",
                request_id,
                body.into(),
            )
        }
        Wire::Ec2 => {
            let (status, body) = ec2::encode_error(model, err, request_id);
            respond(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                "text/xml;charset=UTF-8",
                request_id,
                body.into(),
            )
        }
        Wire::Json => json::encode_error(model, err, request_id),
        Wire::Cbor => cbor::encode_error(model, err, request_id),
        Wire::RestJson => restjson::encode_error(model, err, request_id),
    }
}

pub(crate) fn respond(
    status: StatusCode,
    content_type: &'static str,
    request_id: &str,
    body: Bytes,
) -> Response<Bytes> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    r
}

/// An error field's value in a JSON body: a JSON object or array given as text is inserted as
/// JSON (DynamoDB's `Item`, `CancellationReasons`), anything else as a string.
pub(crate) fn field_value(v: &str) -> serde_json::Value {
    let structured = v.starts_with('{') || v.starts_with('[');
    structured
        .then(|| serde_json::from_str::<serde_json::Value>(v).ok())
        .flatten()
        .unwrap_or_else(|| serde_json::Value::String(v.to_string()))
}
