//! The Lambda API in process, through the protocol layer (rest-json routing, bindings, errors),
//! with a fake executor standing in for the process runtime.

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, Method, Uri};
use serde_json::{Value, json};
use stratus_core::{Env, RequestContext};
use stratus_lambda::{ExecError, Executor, InvokeRequest, InvokeResponse, Lambda};
use stratus_proto::{ApiRequest, BoxFuture, dispatch};
use stratus_storage::Store;

#[derive(Default)]
struct Fake {
    invoked: Mutex<Vec<(String, Vec<u8>)>>,
    retired: Mutex<Vec<String>>,
    layers: Mutex<Vec<(String, usize)>>,
}

impl Executor for Fake {
    fn check_code(&self, zip: &[u8]) -> Result<(), String> {
        if zip.starts_with(b"PK") { Ok(()) } else { Err("not a zip".into()) }
    }
    fn check_runtime(&self, runtime: &str) -> Result<(), String> {
        if runtime.starts_with("python") || runtime.starts_with("nodejs") || runtime.starts_with("provided") {
            Ok(())
        } else {
            Err(format!("The runtime parameter of {runtime} is not supported."))
        }
    }
    fn invoke(&self, req: InvokeRequest) -> BoxFuture<'_, Result<InvokeResponse, ExecError>> {
        Box::pin(async move {
            if let Ok(mut v) = self.invoked.lock() {
                v.push((req.key.clone(), req.payload.clone()));
            }
            if let Ok(mut l) = self.layers.lock() {
                *l = req.layers.iter().map(|(arn, zip)| (arn.clone(), zip.len())).collect();
            }
            if req.payload == b"{\"fail\":true}" {
                return Ok(InvokeResponse {
                    payload: br#"{"errorMessage":"boom","errorType":"Error"}"#.to_vec(),
                    function_error: Some("Unhandled".into()),
                    log_tail: "START RequestId: x\nEND RequestId: x\n".into(),
                });
            }
            Ok(InvokeResponse { payload: req.payload, function_error: None, log_tail: String::new() })
        })
    }
    fn retire(&self, prefix: &str) {
        if let Ok(mut v) = self.retired.lock() {
            v.push(prefix.to_string());
        }
    }
}

struct Api {
    lambda: Lambda,
    fake: Arc<Fake>,
    store: Store,
}

const ZIP: &[u8] = b"PK\x03\x04 pretend zip";

impl Api {
    fn new() -> Self {
        let fake = Arc::new(Fake::default());
        let store = Store::in_memory();
        let lambda = Lambda::new(store.clone(), Env::system(), fake.clone()).expect("lambda");
        Self { lambda, fake, store }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, HeaderMap, Vec<u8>) {
        let uri: Uri = path.parse().expect("uri");
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(http::HeaderName::from_bytes(k.as_bytes()).expect("name"), v.parse().expect("value"));
        }
        let ctx = RequestContext {
            account: "000000000000".into(),
            region: "us-east-1".into(),
            request_id: "req-1".into(),
            access_key: None,
            host: "localhost:4566".into(),
            path: uri.path().to_string(),
        };
        let req = ApiRequest { method: &method, uri: &uri, headers: &h, body };
        let r = dispatch(&self.lambda, &ctx, &req).await;
        (r.status().as_u16(), r.headers().clone(), r.body().to_vec())
    }

    async fn json(&self, method: Method, path: &str, body: Value) -> (u16, Value) {
        let raw = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        let (status, _, b) = self.call(method, path, &[], &raw).await;
        (status, if b.is_empty() { Value::Null } else { serde_json::from_slice(&b).unwrap_or(Value::Null) })
    }

    async fn create(&self, name: &str) -> Value {
        let (status, v) = self
            .json(
                Method::POST,
                "/2015-03-31/functions",
                json!({"FunctionName": name, "Runtime": "python3.12", "Role": "arn:aws:iam::000000000000:role/r",
                       "Handler": "app.handler", "Code": {"ZipFile": STANDARD.encode(ZIP)}}),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        v
    }
}

#[tokio::test]
async fn create_get_and_errors() {
    let api = Api::new();
    let created = api.create("f1").await;
    assert_eq!(created["State"], "Pending");
    assert_eq!(created["FunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:f1");
    let (status, got) = api.json(Method::GET, "/2015-03-31/functions/f1", Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(got["Configuration"]["State"], "Active");
    assert_eq!(got["Configuration"]["Timeout"], 3);
    assert_eq!(got["Configuration"]["MemorySize"], 128);
    let (status, v) = api
        .json(
            Method::POST,
            "/2015-03-31/functions",
            json!({"FunctionName": "f1", "Runtime": "python3.12",
        "Role": "arn:aws:iam::000000000000:role/r", "Handler": "a.b", "Code": {"ZipFile": STANDARD.encode(ZIP)}}),
        )
        .await;
    assert_eq!(status, 409, "{v}");
    let (status, _, _) = api.call(Method::GET, "/2015-03-31/functions/nope", &[], b"").await;
    assert_eq!(status, 404);
    let (status, v) = api
        .json(
            Method::POST,
            "/2015-03-31/functions",
            json!({"FunctionName": "f2", "Runtime": "cobol",
        "Role": "arn:aws:iam::000000000000:role/r", "Handler": "a.b", "Code": {"ZipFile": STANDARD.encode(ZIP)}}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = api
        .json(
            Method::POST,
            "/2015-03-31/functions",
            json!({"FunctionName": "f3", "Runtime": "python3.12",
        "Role": "arn:aws:iam::000000000000:role/r", "Handler": "a.b", "Code": {"ZipFile": STANDARD.encode(b"nope")}}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    let (status, _) = api.json(Method::POST, "/2015-03-31/functions", json!({"FunctionName": "f4"})).await;
    assert_eq!(status, 400, "missing required members");
}

#[tokio::test]
async fn invoke_modes_and_headers() {
    let api = Api::new();
    api.create("f").await;
    let (status, h, body) = api.call(Method::POST, "/2015-03-31/functions/f/invocations", &[], br#"{"a":1}"#).await;
    assert_eq!(status, 200);
    assert_eq!(body, br#"{"a":1}"#);
    assert_eq!(h["x-amz-executed-version"], "$LATEST");
    assert!(h.get("x-amz-function-error").is_none());

    let (status, h, body) = api
        .call(Method::POST, "/2015-03-31/functions/f/invocations", &[("x-amz-log-type", "Tail")], br#"{"fail":true}"#)
        .await;
    assert_eq!(status, 200);
    assert_eq!(h["x-amz-function-error"], "Unhandled");
    let log = STANDARD.decode(h["x-amz-log-result"].as_bytes()).expect("base64");
    assert!(String::from_utf8_lossy(&log).contains("START RequestId"));
    assert!(String::from_utf8_lossy(&body).contains("boom"));

    let (status, _, body) = api
        .call(Method::POST, "/2015-03-31/functions/f/invocations", &[("x-amz-invocation-type", "DryRun")], b"")
        .await;
    assert_eq!(status, 204);
    assert!(body.is_empty());

    let (status, _, body) = api.call(Method::POST, "/2015-03-31/functions/f/invocations", &[], b"not json").await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));

    let (status, h, _) = api
        .call(Method::POST, "/2015-03-31/functions/f/invocations", &[("x-amz-invocation-type", "Bogus")], b"{}")
        .await;
    assert_eq!(status, 400);
    assert_eq!(h["x-amzn-errortype"], "ValidationException");

    api.json(Method::PUT, "/2017-10-31/functions/f/concurrency", json!({"ReservedConcurrentExecutions": 0})).await;
    let (status, h, body) = api.call(Method::POST, "/2015-03-31/functions/f/invocations", &[], b"{}").await;
    assert_eq!(status, 429);
    assert_eq!(h["x-amzn-errortype"], "TooManyRequestsException");
    let v: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded");
    assert_eq!(
        api.fake.invoked.lock().map(|v| v.len()).unwrap_or(0),
        2,
        "throttled and dry runs never reach the executor"
    );
}

#[tokio::test]
async fn updates_retire_environments_and_versions_route_by_alias() {
    let api = Api::new();
    api.create("f").await;
    let (status, v) = api.json(Method::PUT, "/2015-03-31/functions/f/configuration", json!({"Timeout": 30})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["LastUpdateStatus"], "InProgress");
    assert!(api.fake.retired.lock().map(|r| r.contains(&"000000000000:us-east-1:f:".to_string())).unwrap_or(false));
    let (status, v) = api.json(Method::POST, "/2015-03-31/functions/f/versions", json!({})).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["Version"], "1");
    let (status, v) = api
        .json(Method::POST, "/2015-03-31/functions/f/aliases", json!({"Name": "live", "FunctionVersion": "1"}))
        .await;
    assert_eq!(status, 201, "{v}");
    let (status, h, _) = api.call(Method::POST, "/2015-03-31/functions/f/invocations?Qualifier=live", &[], b"{}").await;
    assert_eq!(status, 200);
    assert_eq!(h["x-amz-executed-version"], "1");
    let keys: Vec<String> =
        api.fake.invoked.lock().map(|v| v.iter().map(|(k, _)| k.clone()).collect()).unwrap_or_default();
    assert!(keys[0].starts_with("000000000000:us-east-1:f:1:"), "{keys:?}");
    let (status, _, _) = api.call(Method::POST, "/2015-03-31/functions/f/invocations?Qualifier=nope", &[], b"{}").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn unsupported_operations_say_so() {
    let api = Api::new();
    api.create("f").await;
    let (status, h, body) = api.call(Method::GET, "/2021-10-31/functions/f/url", &[], b"").await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert_eq!(h["x-amzn-errortype"], "UnknownOperationException");
}

#[tokio::test]
async fn layers_are_versioned_and_reach_the_executor() {
    let api = Api::new();
    let content =
        json!({"Content": {"ZipFile": STANDARD.encode(ZIP)}, "CompatibleRuntimes": ["python3.12"], "Description": "d"});
    let (status, v1) = api.json(Method::POST, "/2018-10-31/layers/shared/versions", content.clone()).await;
    assert_eq!(status, 201, "{v1}");
    assert_eq!(v1["Version"], 1);
    assert_eq!(v1["LayerVersionArn"], "arn:aws:lambda:us-east-1:000000000000:layer:shared:1");
    assert_eq!(v1["Content"]["CodeSize"], ZIP.len());
    let (_, v2) = api.json(Method::POST, "/2018-10-31/layers/shared/versions", content).await;
    assert_eq!(v2["Version"], 2);
    let (status, got) = api.json(Method::GET, "/2018-10-31/layers/shared/versions/1", Value::Null).await;
    assert_eq!((status, got["Description"].clone()), (200, json!("d")));
    let (status, got) =
        api.json(Method::GET, "/2018-10-31/layers?find=LayerVersion&Arn=arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Alayer%3Ashared%3A2", Value::Null).await;
    assert_eq!((status, got["Version"].clone()), (200, json!(2)), "{got}");
    let (_, list) = api.json(Method::GET, "/2018-10-31/layers/shared/versions", Value::Null).await;
    let versions: Vec<i64> = list["LayerVersions"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v["Version"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(versions, vec![2, 1], "newest first");
    let (_, layers) = api.json(Method::GET, "/2018-10-31/layers", Value::Null).await;
    assert_eq!(layers["Layers"][0]["LatestMatchingVersion"]["Version"], 2);

    let (status, v) = api
        .json(
            Method::POST,
            "/2015-03-31/functions",
            json!({"FunctionName": "withlayer", "Runtime": "python3.12",
        "Role": "arn:aws:iam::000000000000:role/r", "Handler": "a.b", "Code": {"ZipFile": STANDARD.encode(ZIP)},
        "Layers": ["arn:aws:lambda:us-east-1:000000000000:layer:shared:9"]}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = api
        .json(
            Method::POST,
            "/2015-03-31/functions",
            json!({"FunctionName": "withlayer", "Runtime": "python3.12",
        "Role": "arn:aws:iam::000000000000:role/r", "Handler": "a.b", "Code": {"ZipFile": STANDARD.encode(ZIP)},
        "Layers": ["arn:aws:lambda:us-east-1:000000000000:layer:shared:1"]}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["Layers"][0]["CodeSize"], ZIP.len());
    let (status, _, _) = api.call(Method::POST, "/2015-03-31/functions/withlayer/invocations", &[], b"{}").await;
    assert_eq!(status, 200);
    let seen = api.fake.layers.lock().map(|l| l.clone()).unwrap_or_default();
    assert_eq!(seen, vec![("arn:aws:lambda:us-east-1:000000000000:layer:shared:1".to_string(), ZIP.len())]);
    let (status, _, _) = api.call(Method::DELETE, "/2018-10-31/layers/shared/versions/1", &[], b"").await;
    assert_eq!(status, 204);
    let (status, _) = api.json(Method::GET, "/2018-10-31/layers/shared/versions/1", Value::Null).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_invoke_config_and_destinations() {
    let api = Api::new();
    api.lambda.start();
    api.create("f").await;
    let (status, _) = api.json(Method::GET, "/2019-09-25/functions/f/event-invoke-config", Value::Null).await;
    assert_eq!(status, 404);
    let (status, v) = api
        .json(
            Method::PUT,
            "/2019-09-25/functions/f/event-invoke-config",
            json!({"MaximumRetryAttempts": 0,
            "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:failures"},
                                  "OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:000000000000:successes"}}}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["FunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST");
    assert_eq!(v["MaximumRetryAttempts"], 0);
    let (status, v) =
        api.json(Method::PUT, "/2019-09-25/functions/f/event-invoke-config", json!({"MaximumRetryAttempts": 3})).await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = api
        .json(Method::POST, "/2019-09-25/functions/f/event-invoke-config", json!({"MaximumEventAgeInSeconds": 120}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["MaximumRetryAttempts"].clone(), v["MaximumEventAgeInSeconds"].clone()),
        (json!(0), json!(120)),
        "update merges"
    );
    let (_, list) = api.json(Method::GET, "/2019-09-25/functions/f/event-invoke-config/list", Value::Null).await;
    assert_eq!(list["FunctionEventInvokeConfigs"].as_array().map(Vec::len), Some(1));

    for payload in [&br#"{"fail":true}"#[..], br#"{"ok":1}"#] {
        let (status, _, _) = api
            .call(Method::POST, "/2015-03-31/functions/f/invocations", &[("x-amz-invocation-type", "Event")], payload)
            .await;
        assert_eq!(status, 202);
    }
    let mut records = Vec::new();
    for _ in 0..100 {
        records = api.store.outbox_pending("lambda-destinations", 0, 10).await.expect("outbox");
        if records.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let records: Vec<Value> = records.iter().map(|(_, b)| serde_json::from_slice(b).expect("json")).collect();
    let failure = records
        .iter()
        .find(|r| r["destination"] == "arn:aws:sqs:us-east-1:000000000000:failures")
        .expect("failure record");
    assert_eq!(failure["record"]["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(failure["record"]["requestContext"]["approximateInvokeCount"], 1);
    assert_eq!(failure["record"]["requestPayload"], json!({"fail": true}));
    assert_eq!(failure["record"]["responseContext"]["functionError"], "Unhandled");
    let success = records
        .iter()
        .find(|r| r["destination"] == "arn:aws:sqs:us-east-1:000000000000:successes")
        .expect("success record");
    assert_eq!(success["record"]["responsePayload"], json!({"ok": 1}));
    let (status, _, _) = api.call(Method::DELETE, "/2019-09-25/functions/f/event-invoke-config", &[], b"").await;
    assert_eq!(status, 204);
}

/// Objects a fake S3 holds, for packages named by `S3Bucket`/`S3Key`.
struct FakeS3;

impl stratus_lambda::CodeSource for FakeS3 {
    fn fetch<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        version: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<u8>, stratus_proto::AwsError>> {
        Box::pin(async move {
            match (bucket, key, version) {
                ("code", "f.zip", None | Some("v1")) => Ok(ZIP.to_vec()),
                ("code", _, _) => Err(stratus_proto::AwsError::new("NoSuchKey", "The specified key does not exist.")),
                _ => Err(stratus_proto::AwsError::new("NoSuchBucket", "The specified bucket does not exist")),
            }
        })
    }
}

#[tokio::test]
async fn code_from_s3_and_service_permissions() {
    let api = Api::new();
    let body = |code: Value| {
        json!({"FunctionName": "from-s3", "Runtime": "python3.12", "Role": "arn:aws:iam::000000000000:role/r",
               "Handler": "app.handler", "Code": code})
    };
    // Without S3 behind it, a bucket cannot exist.
    let (status, v) =
        api.json(Method::POST, "/2015-03-31/functions", body(json!({"S3Bucket": "code", "S3Key": "f.zip"}))).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap_or_default().contains("S3 Error Code: NoSuchBucket"), "{v}");
    api.lambda.set_code_source(Arc::new(FakeS3));
    let (status, v) =
        api.json(Method::POST, "/2015-03-31/functions", body(json!({"S3Bucket": "code", "S3Key": "nope.zip"}))).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap_or_default().contains("S3 Error Code: NoSuchKey"), "{v}");
    let (status, v) = api
        .json(
            Method::POST,
            "/2015-03-31/functions",
            body(json!({"S3Bucket": "code", "S3Key": "f.zip", "S3ObjectVersion": "v1"})),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["CodeSize"], ZIP.len());
    let (status, v) = api
        .json(Method::PUT, "/2015-03-31/functions/from-s3/code", json!({"S3Bucket": "other", "S3Key": "f.zip"}))
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap_or_default().contains("NoSuchBucket"), "{v}");

    let arn = "arn:aws:lambda:us-east-1:000000000000:function:from-s3";
    let access = api.lambda.access_internal(arn).await.expect("access").expect("the function");
    assert_eq!(access.policy, None);
    let (status, v) = api
        .json(
            Method::POST,
            "/2015-03-31/functions/from-s3/policy",
            json!({"StatementId": "s3", "Action": "lambda:InvokeFunction", "Principal": "s3.amazonaws.com"}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    // The policy authorization reads: what AddPermission built.
    let access = api.lambda.access_internal(arn).await.expect("access").expect("the function");
    let policy: serde_json::Value = serde_json::from_str(&access.policy.expect("a policy")).expect("json");
    assert_eq!(policy["Statement"][0]["Principal"]["Service"], "s3.amazonaws.com", "{policy}");
    assert_eq!(policy["Statement"][0]["Action"], "lambda:InvokeFunction", "{policy}");
    let missing = "arn:aws:lambda:us-east-1:000000000000:function:missing";
    assert_eq!(api.lambda.access_internal(missing).await.expect("access"), None);
}
