//! The crate's entry points for the rest of Stratus: `publish_internal`, `topic_exists`, the
//! `Targets` seam (with a fake SQS and Lambda), and the signing certificate.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use stratus_core::{Env, RequestContext};
use stratus_proto::{AwsError, BoxFuture, Service};
use stratus_sns::{Sns, SqsDelivery, Targets};
use stratus_storage::Store;

#[derive(Default)]
struct Fake {
    sqs: Mutex<Vec<(String, SqsDelivery)>>,
    lambda: Mutex<Vec<(String, Value)>>,
}

impl Targets for Fake {
    fn send_sqs<'a>(&'a self, queue_arn: &'a str, msg: SqsDelivery) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(async move {
            if queue_arn.ends_with(":missing") {
                return Err(AwsError::new("QueueDoesNotExist", "The specified queue does not exist."));
            }
            self.sqs.lock().unwrap().push((queue_arn.to_string(), msg));
            Ok(())
        })
    }

    fn invoke_lambda<'a>(
        &'a self,
        function_arn: &'a str,
        _topic: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(async move {
            self.lambda.lock().unwrap().push((function_arn.to_string(), serde_json::from_slice(&payload).unwrap()));
            Ok(())
        })
    }
}

async fn call(sns: &Sns, op: &str, input: Value) -> Result<Value, AwsError> {
    let ctx = RequestContext::internal("000000000000", "us-east-1", "req".into());
    let op = sns.model().operation(op).unwrap().clone();
    sns.call(&ctx, &op, input).await
}

async fn wait_for<T>(mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(v) = f() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_internal_fans_out_through_the_targets() {
    let sns = Sns::new(Store::in_memory(), Env::system(), "http://127.0.0.1:4566/".into()).unwrap();
    let fake = Arc::new(Fake::default());
    sns.set_targets(fake.clone());
    sns.start();
    let topic =
        call(&sns, "CreateTopic", json!({"Name": "orders"})).await.unwrap()["TopicArn"].as_str().unwrap().to_string();
    assert!(sns.topic_exists(&topic).await.unwrap());
    assert!(!sns.topic_exists("arn:aws:sns:us-east-1:000000000000:nope").await.unwrap());
    let queue = "arn:aws:sqs:us-east-1:000000000000:q";
    let function = "arn:aws:lambda:us-east-1:000000000000:function:f";
    call(&sns, "Subscribe", json!({"TopicArn": topic, "Protocol": "sqs", "Endpoint": queue})).await.unwrap();
    call(&sns, "Subscribe", json!({"TopicArn": topic, "Protocol": "lambda", "Endpoint": function})).await.unwrap();

    let id =
        sns.publish_internal(&topic, "{\"Records\":[]}".into(), Some("Amazon S3 Notification".into())).await.unwrap();
    let (arn, msg) = wait_for(|| fake.sqs.lock().unwrap().first().cloned()).await;
    assert_eq!(arn, queue);
    let env: Value = serde_json::from_str(&msg.body).unwrap();
    assert_eq!(
        (env["MessageId"].as_str(), env["Subject"].as_str()),
        (Some(id.as_str()), Some("Amazon S3 Notification"))
    );
    assert!(
        env["SigningCertURL"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:4566/_stratus/sns/SimpleNotificationService-")
    );
    let (arn, event) = wait_for(|| fake.lambda.lock().unwrap().first().cloned()).await;
    assert_eq!(arn, function);
    assert_eq!(event["Records"][0]["Sns"]["Message"], "{\"Records\":[]}");
    let pem = sns.certificate_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(env["SigningCertURL"].as_str().unwrap().ends_with(&sns.certificate_file_name().unwrap()));

    let err = sns.publish_internal("arn:aws:sns:us-east-1:000000000000:nope", "x".into(), None).await.unwrap_err();
    assert_eq!(err.code, "NotFoundException");
    sns.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_queue_dead_letters_without_retrying() {
    let sns = Sns::new(Store::in_memory(), Env::system(), "http://127.0.0.1:4566".into()).unwrap();
    let fake = Arc::new(Fake::default());
    sns.set_targets(fake.clone());
    sns.start();
    let topic =
        call(&sns, "CreateTopic", json!({"Name": "t"})).await.unwrap()["TopicArn"].as_str().unwrap().to_string();
    let dlq = "arn:aws:sqs:us-east-1:000000000000:dlq";
    let attrs = json!({"RedrivePolicy": json!({"deadLetterTargetArn": dlq}).to_string(), "RawMessageDelivery": "true"});
    call(
        &sns,
        "Subscribe",
        json!({"TopicArn": topic, "Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:000000000000:missing", "Attributes": attrs}),
    )
    .await
    .unwrap();
    call(
        &sns,
        "Publish",
        json!({"TopicArn": topic, "Message": "m", "MessageAttributes": {"a": {"DataType": "String", "StringValue": "v"}}}),
    )
    .await
    .unwrap();
    let (arn, msg) = wait_for(|| fake.sqs.lock().unwrap().first().cloned()).await;
    assert_eq!(arn, dlq);
    assert_eq!(msg.body, "m");
    assert_eq!(msg.attributes.len(), 1);
    assert_eq!((msg.attributes[0].name.as_str(), msg.attributes[0].string_value.as_deref()), ("a", Some("v")));
    sns.shutdown();
}
