//! Records expire with their stream's retention period: past it they are no longer read, and
//! the sweep deletes them; a longer retention keeps them.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use stratus_core::{Env, ManualClock, RequestContext, SequentialIds};
use stratus_kinesis::{Kinesis, Settings};
use stratus_proto::Service;
use stratus_storage::Store;

async fn call(k: &Kinesis, op: &str, input: Value) -> Value {
    let ctx = RequestContext::internal("000000000000", "us-east-1", "r".into());
    let op = k.model().operation(op).unwrap_or_else(|| panic!("no {op}"));
    k.call(&ctx, op, input).await.unwrap_or_else(|e| panic!("{}: {}", e.code, e.message))
}

async fn read_all(k: &Kinesis, stream: &str) -> Vec<String> {
    let it = call(
        k,
        "GetShardIterator",
        json!({"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"}),
    )
    .await;
    let out = call(k, "GetRecords", json!({"ShardIterator": it["ShardIterator"]})).await;
    out["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["Data"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn records_expire_after_the_retention_period() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let env = Env { clock: clock.clone(), ids: Arc::new(SequentialIds::default()) };
    let k = Kinesis::new(Store::in_memory(), env, Settings::default()).unwrap_or_else(|e| panic!("{e}"));
    for s in ["short", "long"] {
        call(&k, "CreateStream", json!({"StreamName": s, "ShardCount": 1})).await;
    }
    call(&k, "IncreaseStreamRetentionPeriod", json!({"StreamName": "long", "RetentionPeriodHours": 48})).await;
    for s in ["short", "long"] {
        call(&k, "PutRecord", json!({"StreamName": s, "Data": "b2xk", "PartitionKey": "p"})).await;
    }
    clock.advance(Duration::from_secs(23 * 3600));
    for s in ["short", "long"] {
        call(&k, "PutRecord", json!({"StreamName": s, "Data": "bmV3", "PartitionKey": "p"})).await;
    }
    assert_eq!(read_all(&k, "short").await, ["b2xk", "bmV3"]);
    clock.advance(Duration::from_secs(2 * 3600));
    // Past 24 hours the old record is no longer read, even before the sweep.
    assert_eq!(read_all(&k, "short").await, ["bmV3"]);
    assert_eq!(read_all(&k, "long").await, ["b2xk", "bmV3"]);
    assert_eq!(k.expire_now().await.unwrap_or_else(|e| panic!("{e}")), 1);
    assert_eq!(read_all(&k, "short").await, ["bmV3"]);
    assert_eq!(read_all(&k, "long").await, ["b2xk", "bmV3"]);
}
