//! Time to live: expired items go at the next sweep, with a stream record naming DynamoDB;
//! items not yet expired, with a non-number TTL attribute or an expiry over five years ago stay.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use stratus_core::{Env, ManualClock, RequestContext};
use stratus_dynamodb::DynamoDb;
use stratus_proto::Service;
use stratus_storage::Store;

async fn call(api: &dyn Service, op: &str, input: Value) -> Value {
    let ctx = RequestContext::internal("123456789012", "us-east-1", "req".into());
    let op = api.model().operation(op).expect("operation").clone();
    api.call(&ctx, &op, input).await.expect("call")
}

#[tokio::test]
async fn expired_items_are_swept_with_a_service_identity() {
    let now_s: u64 = 1_800_000_000;
    let clock = Arc::new(ManualClock::new(now_s * 1000));
    let ddb = DynamoDb::new(Store::in_memory(), Env { clock: clock.clone(), ids: Env::system().ids }).expect("ddb");
    call(
        &ddb,
        "CreateTable",
        json!({
            "TableName": "t", "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "OLD_IMAGE"},
        }),
    )
    .await;
    call(
        &ddb,
        "UpdateTimeToLive",
        json!({"TableName": "t",
        "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "expires"}}),
    )
    .await;
    let put = |pk: &str, expires: Value| json!({"TableName": "t", "Item": {"pk": {"S": pk}, "expires": expires}});
    call(&ddb, "PutItem", put("soon", json!({"N": (now_s + 60).to_string()}))).await;
    call(&ddb, "PutItem", put("later", json!({"N": (now_s + 3600).to_string()}))).await;
    call(&ddb, "PutItem", put("text", json!({"S": "1"}))).await;
    call(&ddb, "PutItem", put("ancient", json!({"N": "1000"}))).await;
    assert_eq!(ddb.sweep_expired().await.expect("sweep"), 0);
    clock.advance(Duration::from_secs(120));
    assert_eq!(ddb.sweep_expired().await.expect("sweep"), 1);
    let left = call(&ddb, "Scan", json!({"TableName": "t"})).await;
    let mut keys: Vec<&str> =
        left["Items"].as_array().expect("items").iter().filter_map(|i| i["pk"]["S"].as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["ancient", "later", "text"]);
    // The stream's REMOVE record names DynamoDB.
    let streams = ddb.streams().expect("streams");
    let arn = call(&ddb, "DescribeTable", json!({"TableName": "t"})).await["Table"]["LatestStreamArn"].clone();
    let shard =
        call(&streams, "DescribeStream", json!({"StreamArn": arn})).await["StreamDescription"]["Shards"][0]["ShardId"]
            .clone();
    let it = call(
        &streams,
        "GetShardIterator",
        json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
    )
    .await;
    let records = call(&streams, "GetRecords", json!({"ShardIterator": it["ShardIterator"]})).await;
    let removed: Vec<&Value> =
        records["Records"].as_array().expect("records").iter().filter(|r| r["eventName"] == "REMOVE").collect();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["userIdentity"], json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"}));
    assert_eq!(removed[0]["dynamodb"]["Keys"]["pk"]["S"], "soon");
}
