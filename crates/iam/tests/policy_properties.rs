//! Properties of the policy language over generated input: parsing any text and evaluating any
//! parsed policy against any request never panics, and an explicit `Deny` of everything wins
//! over whatever else the policies say.

use proptest::prelude::*;
use stratus_iam::policy::{
    Caller, Context, Decide, Decision, Denial, Policy, PolicyKind, PolicyType, Request, decide, explain,
};

const KINDS: [PolicyKind; 5] =
    [PolicyKind::Identity, PolicyKind::Resource, PolicyKind::Trust, PolicyKind::Boundary, PolicyKind::Session];

fn action() -> impl Strategy<Value = String> {
    prop_oneof![Just("*".to_string()), "(sqs|sns|s3|lambda|iam):[A-Za-z*?]{1,12}", "[a-z0-9:*?]{0,16}",]
}

fn resource() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        "arn:aws:(sqs|sns|lambda):us-east-1:123456789012:[a-z*?${}:/-]{0,16}",
        "arn:aws:s3:::[a-z*?/-]{1,16}",
        "[ -~]{0,24}",
    ]
}

fn condition() -> impl Strategy<Value = serde_json::Value> {
    let op = prop_oneof![
        Just("StringEquals"),
        Just("StringLike"),
        Just("StringNotEquals"),
        Just("NumericLessThan"),
        Just("DateGreaterThan"),
        Just("Bool"),
        Just("IpAddress"),
        Just("ArnLike"),
        Just("Null"),
        Just("ForAnyValue:StringEquals"),
        Just("ForAllValues:StringLike"),
        Just("StringEqualsIfExists"),
        Just("BinaryEquals"),
        Just("NotIpAddress"),
    ];
    let key = prop_oneof![
        Just("aws:username"),
        Just("aws:SourceIp"),
        Just("aws:CurrentTime"),
        Just("aws:RequestedRegion"),
        Just("aws:PrincipalTag/team"),
        Just("s3:prefix"),
    ];
    (op, key, proptest::collection::vec("[ -~]{0,20}", 0..3))
        .prop_map(|(op, key, values)| serde_json::json!({ op: { key: values } }))
}

fn statement(with_principal: bool) -> impl Strategy<Value = serde_json::Value> {
    (
        prop::bool::ANY,
        proptest::collection::vec(action(), 1..3),
        proptest::collection::vec(resource(), 1..3),
        prop::option::of(condition()),
        prop::bool::ANY,
    )
        .prop_map(move |(allow, actions, resources, cond, not_action)| {
            let mut s = serde_json::json!({ "Effect": if allow { "Allow" } else { "Deny" }, "Resource": resources });
            s[if not_action { "NotAction" } else { "Action" }] = serde_json::json!(actions);
            if let Some(c) = cond {
                s["Condition"] = c;
            }
            if with_principal {
                s["Principal"] = serde_json::json!({ "AWS": "*" });
            }
            s
        })
}

fn document(with_principal: bool) -> impl Strategy<Value = String> {
    proptest::collection::vec(statement(with_principal), 1..4)
        .prop_map(|statements| serde_json::json!({ "Version": "2012-10-17", "Statement": statements }).to_string())
}

fn request_parts() -> impl Strategy<Value = (String, String, Vec<(String, String)>)> {
    (
        action(),
        resource(),
        proptest::collection::vec(("aws:(username|SourceIp|CurrentTime|RequestedRegion)", "[ -~]{0,20}"), 0..4),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsing_any_text_never_panics(text in "[ -~\\n]{0,200}") {
        for kind in KINDS {
            let _ = Policy::parse(&text, kind);
        }
    }

    #[test]
    fn parsing_json_like_text_never_panics(doc in document(false), cut in 0usize..400) {
        // Truncated and intact documents alike.
        let cut = doc.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(doc.len());
        for kind in KINDS {
            let _ = Policy::parse(&doc[..cut], kind);
            let _ = Policy::parse(&doc, kind);
        }
    }

    #[test]
    fn evaluating_any_policy_never_panics_and_a_deny_of_everything_wins(
        identity in document(false),
        resource_doc in document(true),
        (action, resource, keys) in request_parts(),
    ) {
        let caller = Caller::user("123456789012", "/", "alice", "AIDAEXAMPLEEXAMPLE01");
        let mut context = Context::new();
        for (k, v) in &keys {
            context.insert(k, v.clone());
        }
        let request = Request { principal: &caller, action: &action, resource: &resource, context: &context };
        let identity = Policy::parse(&identity, PolicyKind::Identity).ok();
        let resource_policy = Policy::parse(&resource_doc, PolicyKind::Resource).ok();
        let deny_all = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
            PolicyKind::Identity,
        ).map_err(|e| TestCaseError::fail(e.message))?;
        let policies: Vec<&Policy> = identity.iter().collect();
        let input = Decide {
            request: &request,
            identity: &policies,
            resource: resource_policy.as_ref(),
            resource_account: None,
            boundary: None,
            session: None,
        };
        let _ = explain(&input);
        let with_deny: Vec<&Policy> = identity.iter().chain(std::iter::once(&deny_all)).collect();
        let input = Decide { identity: &with_deny, ..input };
        prop_assert_eq!(decide(&input), Decision::ExplicitDeny);
        let verdict = explain(&input);
        prop_assert!(matches!(verdict.denial, Some(Denial::ExplicitDeny(PolicyType::Identity | PolicyType::Resource))));
    }
}
