//! Fuzzes the IAM policy parser (every document kind, and managed documents) on arbitrary
//! bytes, then evaluates what parsed against a few fixed requests: no input may panic either.
//!
//! Run with `scripts/fuzz.sh 60 policy_parse` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratus_iam::policy::{Caller, Context, Policy, PolicyKind, Request};

const KINDS: [PolicyKind; 5] =
    [PolicyKind::Identity, PolicyKind::Resource, PolicyKind::Trust, PolicyKind::Boundary, PolicyKind::Session];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let callers = [
        Caller::root("123456789012"),
        Caller::user("123456789012", "/", "alice", "AIDAEXAMPLE"),
        Caller::assumed_role("123456789012", "/", "r", "s", "AROAEXAMPLE"),
        Caller::service("sns.amazonaws.com"),
        Caller::anonymous(),
    ];
    let mut context = Context::new();
    context.insert("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:t");
    context.insert("aws:CurrentTime", "2026-12-07T00:00:00Z");
    context.insert("aws:SourceIp", "10.1.2.3");
    context.insert_all("aws:TagKeys", ["a", "b"]);
    let mut parsed: Vec<Policy> = KINDS.iter().filter_map(|k| Policy::parse(text, *k).ok()).collect();
    parsed.extend(Policy::parse_managed(text).ok());
    for policy in &parsed {
        for caller in &callers {
            for (action, resource) in [("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q"), ("s3:GetObject", "*")] {
                let request = Request { principal: caller, action, resource, context: &context };
                let _ = policy.evaluate(&request);
            }
        }
    }
});
