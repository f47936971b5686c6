//! Fuzzes AWS's evaluation flow: arbitrary policies of every kind (identity, resource,
//! boundary, session) and an arbitrary request (action, resource, context values), decided
//! and explained. No input may panic, and `explain` must agree with `decide`.
//!
//! Input layout: lines. The first four are the identity, resource, boundary and session
//! documents (an unparsable one is left out); then the action, the resource ARN, the resource's
//! account, and `key=value` context entries.
//!
//! Run with `scripts/fuzz.sh 60 policy_evaluate` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratus_iam::policy::{Caller, Context, Decide, Policy, PolicyKind, Request, decide, explain};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let mut next = || lines.next().unwrap_or_default();
    let identity = Policy::parse(next(), PolicyKind::Identity).ok();
    let resource = Policy::parse(next(), PolicyKind::Resource).ok();
    let boundary = Policy::parse(next(), PolicyKind::Boundary).ok();
    let session = Policy::parse(next(), PolicyKind::Session).ok();
    let (action, arn, owner) = (next(), next(), next());
    let mut context = Context::new();
    for entry in lines {
        if let Some((k, v)) = entry.split_once('=') {
            context.insert(k, v);
        }
    }
    let identity: Vec<&Policy> = identity.iter().collect();
    let boundary: Vec<&Policy> = boundary.iter().collect();
    let session: Vec<&Policy> = session.iter().collect();
    let callers = [
        Caller::root("123456789012"),
        Caller::user("123456789012", "/team/", "alice", "AIDAEXAMPLE"),
        Caller::assumed_role("123456789012", "/", "r", "s", "AROAEXAMPLE"),
        Caller::service("s3.amazonaws.com"),
        Caller::anonymous(),
    ];
    for caller in &callers {
        let request = Request { principal: caller, action, resource: arn, context: &context };
        let input = Decide {
            request: &request,
            identity: &identity,
            resource: resource.as_ref(),
            resource_account: (!owner.is_empty()).then_some(owner),
            boundary: Some(&boundary),
            session: Some(&session),
        };
        let verdict = explain(&input);
        assert_eq!(verdict.decision, decide(&input));
        assert_eq!(verdict.is_allowed(), verdict.denial.is_none());
    }
});
