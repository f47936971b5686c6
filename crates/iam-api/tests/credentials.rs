//! Credentials IAM and STS issue: service-specific credentials sign in to their service only,
//! while active, with the password of the last reset; temporary credentials are forgotten once
//! expired.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use stratus_core::{Env, ManualClock, RequestContext};
use stratus_iam::KeyStore;
use stratus_iam_api::Identity;
use stratus_proto::Service;
use stratus_storage::Store;

async fn run(api: &dyn Service, op: &str, input: Value) -> Value {
    let ctx = RequestContext::internal("123456789012", "us-east-1", "req".into());
    let op = api.model().operation(op).expect("operation").clone();
    api.call(&ctx, &op, input).await.expect("call")
}

async fn call(identity: &Identity, op: &str, input: Value) -> Value {
    run(&identity.iam(), op, input).await
}

#[tokio::test]
async fn expired_sessions_are_dropped() {
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let env = Env { clock: clock.clone(), ids: Env::system().ids };
    let identity = Identity::new(Store::in_memory(), env, false).expect("identity");
    identity.start().await.expect("start");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]});
    call(&identity, "CreateRole", json!({"RoleName": "r", "AssumeRolePolicyDocument": trust.to_string()})).await;
    let assumed = run(
        &identity.sts(),
        "AssumeRole",
        json!({"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "sweep", "DurationSeconds": 900}),
    )
    .await;
    let key = assumed["Credentials"]["AccessKeyId"].as_str().expect("key").to_string();
    assert!(identity.directory().lookup(&key).is_some());
    assert_eq!(identity.drop_expired_sessions().await.expect("sweep"), 0);
    clock.advance(Duration::from_secs(899));
    assert_eq!(identity.drop_expired_sessions().await.expect("sweep"), 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(identity.drop_expired_sessions().await.expect("sweep"), 1);
    assert!(identity.directory().lookup(&key).is_none());
    // Gone from the store too: a restart does not bring it back.
    identity.start().await.expect("restart");
    assert!(identity.directory().lookup(&key).is_none());
}

#[tokio::test]
async fn a_password_signs_in_to_its_service_while_active() {
    let identity = Identity::new(Store::in_memory(), Env::system(), true).expect("identity");
    call(&identity, "CreateUser", json!({"UserName": "alice"})).await;
    let created = call(
        &identity,
        "CreateServiceSpecificCredential",
        json!({"UserName": "alice", "ServiceName": "codecommit.amazonaws.com"}),
    )
    .await;
    let c = &created["ServiceSpecificCredential"];
    let (user, password, id) = (
        c["ServiceUserName"].as_str().expect("user name"),
        c["ServicePassword"].as_str().expect("password"),
        c["ServiceSpecificCredentialId"].as_str().expect("id"),
    );
    assert_eq!(user, "alice-at-123456789012");
    let git = "codecommit.amazonaws.com";
    let who = identity.verify_service_password(git, user, password).await.expect("verify");
    assert_eq!(who, Some(("123456789012".to_string(), "alice".to_string())));
    // Another service, another password or another user name: nobody.
    for (service, u, p) in
        [("cassandra.amazonaws.com", user, password), (git, user, "wrong"), (git, "bob-at-123456789012", password)]
    {
        assert_eq!(identity.verify_service_password(service, u, p).await.expect("verify"), None);
    }
    // Inactive: refused; active again: accepted; after a reset only the new password works.
    let status = |s: &str| json!({"UserName": "alice", "ServiceSpecificCredentialId": id, "Status": s});
    call(&identity, "UpdateServiceSpecificCredential", status("Inactive")).await;
    assert_eq!(identity.verify_service_password(git, user, password).await.expect("verify"), None);
    call(&identity, "UpdateServiceSpecificCredential", status("Active")).await;
    assert!(identity.verify_service_password(git, user, password).await.expect("verify").is_some());
    let reset = call(
        &identity,
        "ResetServiceSpecificCredential",
        json!({"UserName": "alice", "ServiceSpecificCredentialId": id}),
    )
    .await;
    let fresh = reset["ServiceSpecificCredential"]["ServicePassword"].as_str().expect("password");
    assert_eq!(identity.verify_service_password(git, user, password).await.expect("verify"), None);
    assert!(identity.verify_service_password(git, user, fresh).await.expect("verify").is_some());
}
