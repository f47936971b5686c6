//! CloudWatch Logs driven through the protocol layer's `dispatch`, with hand-made JSON 1.1
//! requests (`X-Amz-Target: Logs_20140328.<Op>`), on an in-memory store and a manual clock.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method, Uri};
use serde_json::{Value, json};
use stratus_core::{Env, ManualClock, RequestContext, SequentialIds};
use stratus_logs::Logs;
use stratus_proto::{ApiRequest, dispatch};
use stratus_storage::Store;

const START: u64 = 1_700_000_000_000;
const HOUR: u64 = 3600 * 1000;
const DAY: u64 = 24 * HOUR;

struct Harness {
    logs: Logs,
    clock: Arc<ManualClock>,
    ctx: RequestContext,
}

impl Harness {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(START));
        let env = Env { clock: clock.clone(), ids: Arc::new(SequentialIds::default()) };
        let logs = Logs::new(Store::in_memory(), env).unwrap();
        let ctx = RequestContext {
            account: "000000000000".into(),
            region: "us-east-1".into(),
            request_id: "req-1".into(),
            access_key: Some("test".into()),
            host: "localhost:4566".into(),
            path: "/".into(),
        };
        Self { logs, clock, ctx }
    }

    fn now(&self) -> u64 {
        use stratus_core::Clock;
        self.clock.now_millis()
    }

    /// (HTTP status, parsed body).
    async fn call(&self, op: &str, body: Value) -> (u16, Value) {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-target", format!("Logs_20140328.{op}").parse().unwrap());
        headers.insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
        let uri: Uri = "/".parse().unwrap();
        let raw = body.to_string();
        let req = ApiRequest { method: &Method::POST, uri: &uri, headers: &headers, body: raw.as_bytes() };
        let resp = dispatch(&self.logs, &self.ctx, &req).await;
        let status = resp.status().as_u16();
        let v: Value = serde_json::from_slice(resp.body()).unwrap();
        (status, v)
    }

    async fn ok(&self, op: &str, body: Value) -> Value {
        let (status, v) = self.call(op, body).await;
        assert_eq!(status, 200, "{op} failed: {v}");
        v
    }

    /// (error code without the namespace, message).
    async fn err(&self, op: &str, body: Value) -> (String, String) {
        let (status, v) = self.call(op, body).await;
        assert_eq!(status, 400, "{op} should fail: {v}");
        let ty = v["__type"].as_str().unwrap();
        let code = ty.rsplit('#').next().unwrap().to_string();
        (code, v["message"].as_str().unwrap_or_default().to_string())
    }

    async fn group_and_stream(&self, group: &str, stream: &str) {
        self.ok("CreateLogGroup", json!({"logGroupName": group})).await;
        self.ok("CreateLogStream", json!({"logGroupName": group, "logStreamName": stream})).await;
    }

    async fn put(&self, group: &str, stream: &str, events: &[(u64, &str)]) -> Value {
        let evs: Vec<Value> = events.iter().map(|(t, m)| json!({"timestamp": t, "message": m})).collect();
        self.ok("PutLogEvents", json!({"logGroupName": group, "logStreamName": stream, "logEvents": evs})).await
    }
}

fn messages(v: &Value) -> Vec<String> {
    v["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn groups_create_describe_delete() {
    let h = Harness::new();
    h.ok("CreateLogGroup", json!({"logGroupName": "/app/one", "tags": {"env": "dev"}})).await;
    h.ok("CreateLogGroup", json!({"logGroupName": "/app/two", "logGroupClass": "INFREQUENT_ACCESS"})).await;
    h.ok("CreateLogGroup", json!({"logGroupName": "other"})).await;

    let (code, msg) = h.err("CreateLogGroup", json!({"logGroupName": "/app/one"})).await;
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("ResourceAlreadyExistsException", "The specified log group already exists")
    );
    let (code, msg) = h.err("CreateLogGroup", json!({"logGroupName": "bad name"})).await;
    assert_eq!(code, "InvalidParameterException");
    assert!(
        msg.contains("at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern"),
        "{msg}"
    );
    let (code, msg) = h.err("CreateLogGroup", json!({"logGroupName": "aws/mine"})).await;
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("InvalidParameterException", "Log groups starting with AWS/ are reserved for AWS.")
    );
    let (code, msg) = h.err("CreateLogGroup", json!({"logGroupName": "a".repeat(513)})).await;
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(msg, "Invalid LogGroup or LogStream, both must have length less than or equal to 512.");
    let (code, _) = h.err("CreateLogGroup", json!({"logGroupName": "x", "logGroupClass": "NOPE"})).await;
    assert_eq!(code, "InvalidParameterException");

    let all = h.ok("DescribeLogGroups", json!({})).await;
    let names: Vec<&str> =
        all["logGroups"].as_array().unwrap().iter().map(|g| g["logGroupName"].as_str().unwrap()).collect();
    assert_eq!(names, ["/app/one", "/app/two", "other"]);
    let g = &all["logGroups"][0];
    assert_eq!(g["arn"], "arn:aws:logs:us-east-1:000000000000:log-group:/app/one:*");
    assert_eq!(g["logGroupArn"], "arn:aws:logs:us-east-1:000000000000:log-group:/app/one");
    assert_eq!(g["creationTime"], START);
    assert_eq!(g["metricFilterCount"], 0);
    assert_eq!(g["storedBytes"], 0);
    assert_eq!(g["logGroupClass"], "STANDARD");
    assert!(g.get("retentionInDays").is_none());
    assert_eq!(all["logGroups"][1]["logGroupClass"], "INFREQUENT_ACCESS");
    assert!(all.get("nextToken").is_none());

    let p = h.ok("DescribeLogGroups", json!({"logGroupNamePrefix": "/app/"})).await;
    assert_eq!(p["logGroups"].as_array().unwrap().len(), 2);
    let p = h.ok("DescribeLogGroups", json!({"logGroupNamePattern": "two"})).await;
    assert_eq!(p["logGroups"].as_array().unwrap().len(), 1);
    let p = h.ok("DescribeLogGroups", json!({"logGroupNamePattern": "TWO"})).await;
    assert_eq!(p["logGroups"].as_array().unwrap().len(), 0, "the pattern is case-sensitive");
    let (code, msg) = h.err("DescribeLogGroups", json!({"logGroupNamePrefix": "a", "logGroupNamePattern": "b"})).await;
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(msg, "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.");
    let (code, msg) = h.err("DescribeLogGroups", json!({"limit": 51})).await;
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        msg,
        "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50"
    );

    // Paging with limit 2.
    let p1 = h.ok("DescribeLogGroups", json!({"limit": 2})).await;
    assert_eq!(p1["logGroups"].as_array().unwrap().len(), 2);
    let token = p1["nextToken"].as_str().unwrap();
    let p2 = h.ok("DescribeLogGroups", json!({"limit": 2, "nextToken": token})).await;
    assert_eq!(p2["logGroups"][0]["logGroupName"], "other");
    assert!(p2.get("nextToken").is_none());
    let (code, msg) = h.err("DescribeLogGroups", json!({"nextToken": "garbage"})).await;
    assert_eq!((code.as_str(), msg.as_str()), ("InvalidParameterException", "The specified nextToken is invalid."));

    // Deletion protection blocks DeleteLogGroup until it is turned off.
    h.ok("CreateLogGroup", json!({"logGroupName": "kept", "deletionProtectionEnabled": true})).await;
    let d = h.ok("DescribeLogGroups", json!({"logGroupNamePrefix": "kept"})).await;
    assert_eq!(d["logGroups"][0]["deletionProtectionEnabled"], true);
    let (code, msg) = h.err("DeleteLogGroup", json!({"logGroupName": "kept"})).await;
    assert_eq!(code, "ValidationException");
    assert_eq!(msg, "Cannot delete log group with deletion protection enabled. Disable deletion protection first.");
    h.ok("PutLogGroupDeletionProtection", json!({"logGroupIdentifier": "kept", "deletionProtectionEnabled": false}))
        .await;
    h.ok("DeleteLogGroup", json!({"logGroupName": "kept"})).await;

    h.ok("DeleteLogGroup", json!({"logGroupName": "/app/one"})).await;
    let (code, msg) = h.err("DeleteLogGroup", json!({"logGroupName": "/app/one"})).await;
    assert_eq!((code.as_str(), msg.as_str()), ("ResourceNotFoundException", "The specified log group does not exist."));
    // The name is free again, and the new group starts empty.
    h.ok("CreateLogGroup", json!({"logGroupName": "/app/one"})).await;
    let t = h.ok("ListTagsLogGroup", json!({"logGroupName": "/app/one"})).await;
    assert_eq!(t["tags"], json!({}));
}

#[tokio::test]
async fn streams_create_describe_order_delete() {
    let h = Harness::new();
    h.ok("CreateLogGroup", json!({"logGroupName": "g"})).await;
    let (code, msg) = h.err("CreateLogStream", json!({"logGroupName": "nope", "logStreamName": "s"})).await;
    assert_eq!((code.as_str(), msg.as_str()), ("ResourceNotFoundException", "The specified log group does not exist."));
    for s in ["b", "a", "c"] {
        h.ok("CreateLogStream", json!({"logGroupName": "g", "logStreamName": s})).await;
    }
    let (code, msg) = h.err("CreateLogStream", json!({"logGroupName": "g", "logStreamName": "a"})).await;
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("ResourceAlreadyExistsException", "The specified log stream already exists")
    );
    let (code, _) = h.err("CreateLogStream", json!({"logGroupName": "g", "logStreamName": "a:b"})).await;
    assert_eq!(code, "InvalidParameterException");

    let now = h.now();
    h.put("g", "c", &[(now - 3000, "c1")]).await;
    h.put("g", "a", &[(now - 1000, "a1")]).await;
    h.put("g", "b", &[(now - 2000, "b1")]).await;

    let d = h.ok("DescribeLogStreams", json!({"logGroupName": "g"})).await;
    let names: Vec<&str> =
        d["logStreams"].as_array().unwrap().iter().map(|s| s["logStreamName"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let a = &d["logStreams"][0];
    assert_eq!(a["arn"], "arn:aws:logs:us-east-1:000000000000:log-group:g:log-stream:a");
    assert_eq!(a["firstEventTimestamp"], now - 1000);
    assert_eq!(a["lastEventTimestamp"], now - 1000);
    assert_eq!(a["lastIngestionTime"], now);
    assert_eq!(a["storedBytes"], 0);
    assert!(a["uploadSequenceToken"].as_str().unwrap().len() >= 50);

    let by_time =
        h.ok("DescribeLogStreams", json!({"logGroupName": "g", "orderBy": "LastEventTime", "descending": true})).await;
    let names: Vec<&str> =
        by_time["logStreams"].as_array().unwrap().iter().map(|s| s["logStreamName"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let by_time = h.ok("DescribeLogStreams", json!({"logGroupName": "g", "orderBy": "LastEventTime"})).await;
    let names: Vec<&str> =
        by_time["logStreams"].as_array().unwrap().iter().map(|s| s["logStreamName"].as_str().unwrap()).collect();
    assert_eq!(names, ["c", "b", "a"]);

    let desc = h.ok("DescribeLogStreams", json!({"logGroupName": "g", "descending": true, "limit": 2})).await;
    let names: Vec<&str> =
        desc["logStreams"].as_array().unwrap().iter().map(|s| s["logStreamName"].as_str().unwrap()).collect();
    assert_eq!(names, ["c", "b"]);
    let next = h
        .ok(
            "DescribeLogStreams",
            json!({"logGroupName": "g", "descending": true, "limit": 2, "nextToken": desc["nextToken"]}),
        )
        .await;
    assert_eq!(next["logStreams"][0]["logStreamName"], "a");
    assert!(next.get("nextToken").is_none());

    let p = h.ok("DescribeLogStreams", json!({"logGroupIdentifier": "arn:aws:logs:us-east-1:000000000000:log-group:g", "logStreamNamePrefix": "b"})).await;
    assert_eq!(p["logStreams"].as_array().unwrap().len(), 1);
    let p = h.ok("DescribeLogStreams", json!({"logGroupIdentifier": "g", "logStreamNamePrefix": "b"})).await;
    assert_eq!(p["logStreams"].as_array().unwrap().len(), 1);
    // The identifier's pattern has no `*`: AWS asks for the ARN without the trailing `:*`.
    let (code, _) = h
        .err("DescribeLogStreams", json!({"logGroupIdentifier": "arn:aws:logs:us-east-1:000000000000:log-group:g:*"}))
        .await;
    assert_eq!(code, "InvalidParameterException");
    let (code, msg) = h.err("DescribeLogStreams", json!({"logGroupName": "g", "logGroupIdentifier": "g"})).await;
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("ValidationException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    );
    let (code, _) = h
        .err("DescribeLogStreams", json!({"logGroupName": "g", "orderBy": "LastEventTime", "logStreamNamePrefix": "a"}))
        .await;
    assert_eq!(code, "InvalidParameterException");
    let (code, msg) = h.err("DescribeLogStreams", json!({"logGroupName": "g", "orderBy": "Size"})).await;
    assert_eq!(code, "InvalidParameterException");
    assert!(msg.contains("Member must satisfy enum value set: [LogStreamName, LastEventTime]"), "{msg}");

    h.ok("DeleteLogStream", json!({"logGroupName": "g", "logStreamName": "a"})).await;
    let (code, msg) = h.err("DeleteLogStream", json!({"logGroupName": "g", "logStreamName": "a"})).await;
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("ResourceNotFoundException", "The specified log stream does not exist.")
    );
    let (code, _) = h.err("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "a"})).await;
    assert_eq!(code, "ResourceNotFoundException");
    // Recreated, the stream has none of the old events.
    h.ok("CreateLogStream", json!({"logGroupName": "g", "logStreamName": "a"})).await;
    let ev = h.ok("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "a"})).await;
    assert!(messages(&ev).is_empty());
}

#[tokio::test]
async fn put_log_events_rules() {
    let h = Harness::new();
    h.group_and_stream("g", "s").await;
    let now = h.now();

    let (code, msg) = h
        .err(
            "PutLogEvents",
            json!({"logGroupName": "g", "logStreamName": "s", "logEvents": [
            {"timestamp": now, "message": "later"}, {"timestamp": now - 10, "message": "earlier"}]}),
        )
        .await;
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order.")
    );
    let (code, msg) = h
        .err(
            "PutLogEvents",
            json!({"logGroupName": "g", "logStreamName": "s", "logEvents": [
            {"timestamp": now - 25 * HOUR, "message": "a"}, {"timestamp": now, "message": "b"}]}),
        )
        .await;
    assert_eq!(
        (code.as_str(), msg.as_str()),
        (
            "InvalidParameterException",
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
        )
    );
    let big = "x".repeat(600_000);
    let (code, _) = h
        .err(
            "PutLogEvents",
            json!({"logGroupName": "g", "logStreamName": "s", "logEvents": [
            {"timestamp": now, "message": big}, {"timestamp": now, "message": big}]}),
        )
        .await;
    assert_eq!(code, "InvalidParameterException");
    let (code, _) = h.err("PutLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "logEvents": []})).await;
    assert_eq!(code, "InvalidParameterException");
    let (code, msg) = h
        .err(
            "PutLogEvents",
            json!({"logGroupName": "g", "logStreamName": "nope", "logEvents": [{"timestamp": now, "message": "m"}]}),
        )
        .await;
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("ResourceNotFoundException", "The specified log stream does not exist.")
    );
    let (code, msg) = h
        .err(
            "PutLogEvents",
            json!({"logGroupName": "nope", "logStreamName": "s", "logEvents": [{"timestamp": now, "message": "m"}]}),
        )
        .await;
    assert_eq!((code.as_str(), msg.as_str()), ("ResourceNotFoundException", "The specified log group does not exist."));

    // Too old and too new events are rejected, the rest stored; the sequence token is ignored.
    let r = h
        .ok(
            "PutLogEvents",
            json!({"logGroupName": "g", "logStreamName": "s", "sequenceToken": "whatever", "logEvents": [
            {"timestamp": now - 15 * DAY, "message": "ancient"},
            {"timestamp": now - 15 * DAY + 1, "message": "ancient2"},
            {"timestamp": now - 1000, "message": "ok1"},
            {"timestamp": now, "message": "ok2"},
            {"timestamp": now + 3 * HOUR, "message": "future"},
            {"timestamp": now + 4 * HOUR, "message": "future2"}]}),
        )
        .await;
    assert_eq!(r["rejectedLogEventsInfo"], json!({"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 4}));
    let t1 = r["nextSequenceToken"].as_str().unwrap().to_string();
    let ev = h.ok("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "startFromHead": true})).await;
    assert_eq!(messages(&ev), ["ok1", "ok2"]);
    assert_eq!(ev["events"][0]["timestamp"], now - 1000);
    assert_eq!(ev["events"][0]["ingestionTime"], now);

    let r = h.put("g", "s", &[(now, "again")]).await;
    assert_ne!(r["nextSequenceToken"].as_str().unwrap(), t1);
    assert!(r.get("rejectedLogEventsInfo").is_none());

    // Events past the retention period are reported as expired.
    h.ok("PutRetentionPolicy", json!({"logGroupName": "g", "retentionInDays": 1})).await;
    let r = h.put("g", "s", &[(now - 2 * DAY, "expired"), (now, "fresh")]).await;
    assert_eq!(r["rejectedLogEventsInfo"], json!({"expiredLogEventEndIndex": 0}));
}

#[tokio::test]
async fn get_log_events_tokens_and_ranges() {
    let h = Harness::new();
    h.group_and_stream("g", "s").await;
    let base = h.now() - 100_000;
    let evs: Vec<(u64, String)> = (0..25).map(|n| (base + n * 10, format!("m{n:02}"))).collect();
    let refs: Vec<(u64, &str)> = evs.iter().map(|(t, m)| (*t, m.as_str())).collect();
    h.put("g", "s", &refs).await;
    // Same timestamp: kept in ingestion order.
    h.put("g", "s", &[(base + 240, "m24b")]).await;

    // Default: the newest events, oldest first.
    let tail = h.ok("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "limit": 5})).await;
    assert_eq!(messages(&tail), ["m21", "m22", "m23", "m24", "m24b"]);
    let fwd = tail["nextForwardToken"].as_str().unwrap().to_string();
    let back = tail["nextBackwardToken"].as_str().unwrap().to_string();
    assert!(fwd.starts_with("f/") && back.starts_with("b/"), "{fwd} {back}");

    // Backwards from there.
    let older =
        h.ok("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "limit": 5, "nextToken": back})).await;
    assert_eq!(messages(&older), ["m16", "m17", "m18", "m19", "m20"]);

    // Forward at the end: nothing, and the same token back.
    let end = h.ok("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "nextToken": fwd})).await;
    assert!(messages(&end).is_empty());
    assert_eq!(end["nextForwardToken"].as_str().unwrap(), fwd);
    h.put("g", "s", &[(base + 500, "new")]).await;
    let more = h.ok("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "nextToken": fwd})).await;
    assert_eq!(messages(&more), ["new"]);

    // From the head, paging forward through everything.
    let mut token: Option<String> = None;
    let mut all = Vec::new();
    loop {
        let mut req = json!({"logGroupName": "g", "logStreamName": "s", "limit": 7, "startFromHead": true});
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let page = h.ok("GetLogEvents", req).await;
        let next = page["nextForwardToken"].as_str().unwrap().to_string();
        all.extend(messages(&page));
        if token.as_deref() == Some(next.as_str()) {
            break;
        }
        token = Some(next);
    }
    assert_eq!(all.len(), 27);
    assert_eq!(all.first().unwrap(), "m00");
    assert_eq!(all.last().unwrap(), "new");

    // startTime inclusive, endTime exclusive; logGroupIdentifier by ARN.
    let r = h
        .ok(
            "GetLogEvents",
            json!({"logGroupIdentifier": "arn:aws:logs:us-east-1:000000000000:log-group:g", "logStreamName": "s",
            "startTime": base + 20, "endTime": base + 50, "startFromHead": true}),
        )
        .await;
    assert_eq!(messages(&r), ["m02", "m03", "m04"]);

    let (code, msg) =
        h.err("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "nextToken": "invalid-token"})).await;
    assert_eq!((code.as_str(), msg.as_str()), ("InvalidParameterException", "The specified nextToken is invalid."));
    let (code, msg) = h.err("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "limit": 10001})).await;
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        msg,
        "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000"
    );
    let (code, msg) = h.err("GetLogEvents", json!({"logGroupName": "nope", "logStreamName": "s"})).await;
    assert_eq!((code.as_str(), msg.as_str()), ("ResourceNotFoundException", "The specified log group does not exist."));

    // An empty stream still answers both tokens.
    h.ok("CreateLogStream", json!({"logGroupName": "g", "logStreamName": "empty"})).await;
    let e = h.ok("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "empty"})).await;
    assert!(e["nextForwardToken"].as_str().unwrap().starts_with("f/"));
    assert!(e["nextBackwardToken"].as_str().unwrap().starts_with("b/"));
}

#[tokio::test]
async fn filter_log_events_patterns_streams_and_paging() {
    let h = Harness::new();
    h.group_and_stream("g", "web-1").await;
    h.ok("CreateLogStream", json!({"logGroupName": "g", "logStreamName": "web-2"})).await;
    h.ok("CreateLogStream", json!({"logGroupName": "g", "logStreamName": "worker"})).await;
    let t = h.now() - 10_000;
    h.put(
        "g",
        "web-1",
        &[
            (t, "[ERROR] disk full"),
            (t + 20, "[INFO] served /index.html"),
            (t + 40, r#"{"level":"warn","latency":120}"#),
        ],
    )
    .await;
    h.put(
        "g",
        "web-2",
        &[
            (t + 10, "[INFO] started"),
            (t + 30, "[ERROR] timeout talking to db"),
            (t + 50, r#"{"level":"info","latency":3}"#),
        ],
    )
    .await;
    h.put("g", "worker", &[(t + 5, "job 1 done"), (t + 25, "job 2 failed: ERROR code 7")]).await;

    // Interleaved in timestamp order across streams.
    let all = h.ok("FilterLogEvents", json!({"logGroupName": "g"})).await;
    assert_eq!(all["events"].as_array().unwrap().len(), 8);
    let ts: Vec<u64> = all["events"].as_array().unwrap().iter().map(|e| e["timestamp"].as_u64().unwrap()).collect();
    let mut sorted = ts.clone();
    sorted.sort();
    assert_eq!(ts, sorted);
    let first = &all["events"][0];
    assert_eq!(first["logStreamName"], "web-1");
    assert_eq!(first["message"], "[ERROR] disk full");
    assert_eq!(first["ingestionTime"], h.now());
    assert_eq!(first["eventId"].as_str().unwrap().len(), 56);
    assert_eq!(all["searchedLogStreams"], json!([]));
    assert!(all.get("nextToken").is_none());

    let f = |p: &'static str| json!({"logGroupName": "g", "filterPattern": p});
    assert_eq!(
        messages(&h.ok("FilterLogEvents", f("ERROR")).await),
        ["[ERROR] disk full", "job 2 failed: ERROR code 7", "[ERROR] timeout talking to db"]
    );
    assert_eq!(
        messages(&h.ok("FilterLogEvents", f("ERROR -job")).await),
        ["[ERROR] disk full", "[ERROR] timeout talking to db"]
    );
    assert_eq!(messages(&h.ok("FilterLogEvents", f("?disk ?started")).await), ["[ERROR] disk full", "[INFO] started"]);
    assert_eq!(messages(&h.ok("FilterLogEvents", f("\"talking to\"")).await), ["[ERROR] timeout talking to db"]);
    assert_eq!(
        messages(&h.ok("FilterLogEvents", f("{ $.latency > 100 }")).await),
        [r#"{"level":"warn","latency":120}"#]
    );
    assert_eq!(messages(&h.ok("FilterLogEvents", f("{ $.level = \"in*\" || $.latency = 120 }")).await).len(), 2);
    let (code, msg) = h.err("FilterLogEvents", f("{ $.level = ")).await;
    assert_eq!(code, "InvalidParameterException");
    assert!(msg.starts_with("Invalid filter pattern"), "{msg}");

    // Streams by name and by prefix.
    let r = h.ok("FilterLogEvents", json!({"logGroupName": "g", "logStreamNames": ["worker", "missing"]})).await;
    assert_eq!(messages(&r), ["job 1 done", "job 2 failed: ERROR code 7"]);
    let r = h.ok("FilterLogEvents", json!({"logGroupName": "g", "logStreamNamePrefix": "web-"})).await;
    assert_eq!(r["events"].as_array().unwrap().len(), 6);
    let (code, _) = h
        .err("FilterLogEvents", json!({"logGroupName": "g", "logStreamNamePrefix": "w", "logStreamNames": ["worker"]}))
        .await;
    assert_eq!(code, "InvalidParameterException");

    // startTime and endTime are both inclusive.
    let r = h.ok("FilterLogEvents", json!({"logGroupName": "g", "startTime": t + 10, "endTime": t + 25})).await;
    let ts: Vec<u64> = r["events"].as_array().unwrap().iter().map(|e| e["timestamp"].as_u64().unwrap() - t).collect();
    assert_eq!(ts, [10, 20, 25]);

    // Paging: limit 3 over 8 events; event ids are stable across calls.
    let mut token: Option<Value> = None;
    let mut ids = Vec::new();
    loop {
        let mut req = json!({"logGroupName": "g", "limit": 3, "interleaved": true});
        if let Some(t) = &token {
            req["nextToken"] = t.clone();
        }
        let page = h.ok("FilterLogEvents", req).await;
        ids.extend(page["events"].as_array().unwrap().iter().map(|e| e["eventId"].clone()));
        match page.get("nextToken") {
            Some(t) => token = Some(t.clone()),
            None => break,
        }
    }
    let again: Vec<Value> = all["events"].as_array().unwrap().iter().map(|e| e["eventId"].clone()).collect();
    assert_eq!(ids, again);
    // An exact fit ends without a token.
    let r = h.ok("FilterLogEvents", json!({"logGroupName": "g", "limit": 8})).await;
    assert!(r.get("nextToken").is_none());

    let (code, msg) = h.err("FilterLogEvents", json!({"logGroupName": "g", "nextToken": "invalid-token"})).await;
    assert_eq!((code.as_str(), msg.as_str()), ("InvalidParameterException", "The specified nextToken is invalid."));
    let (code, _) = h.err("FilterLogEvents", json!({"logGroupName": "nope"})).await;
    assert_eq!(code, "ResourceNotFoundException");
}

#[tokio::test]
async fn retention_policy_hides_and_sweeps_old_events() {
    let h = Harness::new();
    h.group_and_stream("g", "s").await;
    let now = h.now();
    h.put("g", "s", &[(now - 3 * DAY, "old"), (now - 3 * DAY + 10, "old2")]).await;
    h.put("g", "s", &[(now - HOUR, "recent")]).await;

    let (code, msg) = h.err("PutRetentionPolicy", json!({"logGroupName": "g", "retentionInDays": 2})).await;
    assert_eq!(code, "InvalidParameterException");
    assert!(msg.starts_with("1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30"), "{msg}");
    let (code, _) = h.err("PutRetentionPolicy", json!({"logGroupName": "nope", "retentionInDays": 1})).await;
    assert_eq!(code, "ResourceNotFoundException");

    h.ok("PutRetentionPolicy", json!({"logGroupName": "g", "retentionInDays": 1})).await;
    let d = h.ok("DescribeLogGroups", json!({"logGroupNamePrefix": "g"})).await;
    assert_eq!(d["logGroups"][0]["retentionInDays"], 1);
    assert_eq!(d["logGroups"][0]["storedBytes"], 13);
    // Past retention: not returned, even before the sweep.
    let ev = h.ok("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "startFromHead": true})).await;
    assert_eq!(messages(&ev), ["recent"]);
    assert_eq!(messages(&h.ok("FilterLogEvents", json!({"logGroupName": "g"})).await), ["recent"]);

    assert_eq!(h.logs.sweep_expired().await.unwrap(), 2);
    assert_eq!(h.logs.sweep_expired().await.unwrap(), 0);
    let d = h.ok("DescribeLogGroups", json!({"logGroupNamePrefix": "g"})).await;
    assert_eq!(d["logGroups"][0]["storedBytes"], 6);

    // Without a policy the remaining events stay; an hour later than a day they go too.
    h.ok("DeleteRetentionPolicy", json!({"logGroupName": "g"})).await;
    let d = h.ok("DescribeLogGroups", json!({"logGroupNamePrefix": "g"})).await;
    assert!(d["logGroups"][0].get("retentionInDays").is_none());
    h.clock.advance(Duration::from_millis(2 * DAY));
    assert_eq!(h.logs.sweep_expired().await.unwrap(), 0);
    h.ok("PutRetentionPolicy", json!({"logGroupName": "g", "retentionInDays": 1})).await;
    assert_eq!(h.logs.sweep_expired().await.unwrap(), 1);
    let ev = h.ok("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s"})).await;
    assert!(messages(&ev).is_empty());
}

#[tokio::test]
async fn tags_by_name_and_by_arn() {
    let h = Harness::new();
    h.ok("CreateLogGroup", json!({"logGroupName": "g", "tags": {"env": "testing1"}})).await;
    let arn = "arn:aws:logs:us-east-1:000000000000:log-group:g";
    h.ok("TagResource", json!({"resourceArn": arn, "tags": {"test1": "val1", "test2": "val2"}})).await;
    h.ok("TagLogGroup", json!({"logGroupName": "g", "tags": {"test3": "val3"}})).await;
    let a = h.ok("ListTagsLogGroup", json!({"logGroupName": "g"})).await;
    let b = h.ok("ListTagsForResource", json!({"resourceArn": arn})).await;
    assert_eq!(a["tags"], json!({"env": "testing1", "test1": "val1", "test2": "val2", "test3": "val3"}));
    assert_eq!(a, b);
    h.ok("UntagLogGroup", json!({"logGroupName": "g", "tags": ["test3"]})).await;
    h.ok("UntagResource", json!({"resourceArn": arn, "tagKeys": ["env", "test1"]})).await;
    let b = h.ok("ListTagsForResource", json!({"resourceArn": format!("{arn}:*")})).await;
    assert_eq!(b["tags"], json!({"test2": "val2"}));

    let (code, _) = h
        .err("ListTagsForResource", json!({"resourceArn": "arn:aws:logs:us-east-1:000000000000:log-group:nope"}))
        .await;
    assert_eq!(code, "ResourceNotFoundException");
    let (code, _) = h.err("TagResource", json!({"resourceArn": "not-an-arn", "tags": {"a": "b"}})).await;
    assert_eq!(code, "InvalidParameterException");
    let many: serde_json::Map<String, Value> = (0..50).map(|n| (format!("k{n}"), json!("v"))).collect();
    let (code, _) = h.err("TagResource", json!({"resourceArn": arn, "tags": many})).await;
    assert_eq!(code, "TooManyTagsException");
    let (code, _) = h.err("TagLogGroup", json!({"logGroupName": "nope", "tags": {"a": "b"}})).await;
    assert_eq!(code, "ResourceNotFoundException");
}

#[tokio::test]
async fn every_operation_of_the_model_is_served() {
    let h = Harness::new();
    let names: Vec<String> = stratus_proto::Service::model(&h.logs).operations.keys().cloned().collect();
    for op in &names {
        assert!(stratus_logs::SUPPORTED.contains(&op.as_str()), "{op} is not served");
    }
    // Not an operation of the model at all.
    let (status, v) = h.call("NoSuchThing", json!({})).await;
    assert_eq!(status, 400);
    assert!(v["__type"].as_str().unwrap().ends_with("UnknownOperationException"));
}

#[tokio::test]
async fn append_creates_group_and_stream_in_one_call() {
    let h = Harness::new();
    let now = h.now();
    h.logs
        .append(
            "000000000000",
            "us-east-1",
            "/aws/lambda/fn",
            "2024/01/01/[$LATEST]abc",
            vec![(now + 5, "second".into()), (now, "first".into())],
        )
        .await
        .unwrap();
    h.logs
        .append(
            "000000000000",
            "us-east-1",
            "/aws/lambda/fn",
            "2024/01/01/[$LATEST]abc",
            vec![(now + 9, "third".into())],
        )
        .await
        .unwrap();
    let ev = h.ok("GetLogEvents", json!({"logGroupName": "/aws/lambda/fn", "logStreamName": "2024/01/01/[$LATEST]abc", "startFromHead": true})).await;
    assert_eq!(messages(&ev), ["first", "second", "third"]);
    let d = h.ok("DescribeLogStreams", json!({"logGroupName": "/aws/lambda/fn"})).await;
    assert_eq!(d["logStreams"][0]["firstEventTimestamp"], now);
    assert_eq!(d["logStreams"][0]["lastEventTimestamp"], now + 9);
    // Another account sees nothing.
    let mut other = Harness::new();
    other.logs = h.logs.clone();
    other.ctx.account = "111111111111".into();
    let (code, _) = other.err("GetLogEvents", json!({"logGroupName": "/aws/lambda/fn", "logStreamName": "x"})).await;
    assert_eq!(code, "ResourceNotFoundException");
    assert!(h.logs.append("000000000000", "us-east-1", "bad name", "s", vec![]).await.is_err());
}
