#![allow(clippy::unwrap_used)]

use super::condition::{Cidr, base64_decode, parse_date};
use super::pattern::{NoVars, Pattern};
use super::*;

const ACCT: &str = "111122223333";
const OTHER: &str = "444455556666";
const QUEUE: &str = "arn:aws:sqs:us-east-1:111122223333:q";
const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const ROLE: &str = "arn:aws:iam::111122223333:role/app/Worker";
const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/Worker/s1";

fn alice() -> Caller {
    let mut c = Caller::user(ACCT, "/", "alice", "AIDAALICE");
    c.tags = vec![("Team".into(), "blue".into())];
    c
}

fn bob() -> Caller {
    Caller::user(ACCT, "/", "bob", "AIDABOB")
}

fn session() -> Caller {
    Caller::assumed_role(ACCT, "/app/", "Worker", "s1", "AROAWORKER")
}

fn stranger() -> Caller {
    Caller::user(OTHER, "/", "eve", "AIDAEVE")
}

fn parse(kind: PolicyKind, doc: &str) -> Policy {
    match Policy::parse(doc, kind) {
        Ok(p) => p,
        Err(e) => panic!("{doc}: {}", e.message),
    }
}

/// An identity policy (2012-10-17) with the given statements.
fn identity(statements: &str) -> Policy {
    parse(PolicyKind::Identity, &format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#))
}

/// A resource policy (2012-10-17) with the given statements.
fn resource(statements: &str) -> Policy {
    parse(PolicyKind::Resource, &format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#))
}

fn eval(p: &Policy, caller: &Caller, action: &str, resource: &str, context: &Context) -> Effect {
    p.evaluate(&Request { principal: caller, action, resource, context })
}

/// Context keys and their values.
type Pairs<'a> = &'a [(&'a str, &'a [&'a str])];

fn ctx(pairs: Pairs<'_>) -> Context {
    let mut c = Context::new();
    for (k, vs) in pairs {
        c.insert_all(k, vs.iter().copied());
    }
    c
}

// ---------------------------------------------------------------- conditions

/// Whether an Allow-everything statement with `condition` applies for alice with `context`.
fn condition_holds(condition: &str, context: Pairs<'_>) -> bool {
    let p = identity(&format!(r#"{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{condition}}}"#));
    eval(&p, &alice(), "s3:GetObject", "*", &ctx(context)) == Effect::Allow
}

#[test]
fn condition_operators() {
    let k: Pairs<'_> = &[];
    #[rustfmt::skip]
    let cases: &[(&str, Pairs<'_>, bool)] = &[
        // String
        (r#"{"StringEquals":{"k":"a"}}"#, &[("k", &["a"])], true),
        (r#"{"StringEquals":{"k":"a"}}"#, &[("k", &["A"])], false),
        (r#"{"StringEquals":{"k":"a*"}}"#, &[("k", &["abc"])], false),
        (r#"{"StringEquals":{"k":"a*"}}"#, &[("k", &["a*"])], true),
        (r#"{"StringEquals":{"k":"a"}}"#, k, false),
        (r#"{"StringEquals":{"K":"a"}}"#, &[("k", &["a"])], true),
        (r#"{"StringNotEquals":{"k":"a"}}"#, &[("k", &["b"])], true),
        (r#"{"StringNotEquals":{"k":"a"}}"#, &[("k", &["a"])], false),
        (r#"{"StringNotEquals":{"k":["a","b"]}}"#, &[("k", &["b"])], false),
        (r#"{"StringNotEquals":{"k":["a","b"]}}"#, &[("k", &["c"])], true),
        (r#"{"StringNotEquals":{"k":"a"}}"#, k, true),
        (r#"{"StringEqualsIgnoreCase":{"k":"ABC"}}"#, &[("k", &["abc"])], true),
        (r#"{"StringEqualsIgnoreCase":{"k":"ABC"}}"#, &[("k", &["abd"])], false),
        (r#"{"StringNotEqualsIgnoreCase":{"k":"ABC"}}"#, &[("k", &["abc"])], false),
        (r#"{"StringNotEqualsIgnoreCase":{"k":"ABC"}}"#, &[("k", &["x"])], true),
        (r#"{"StringLike":{"k":"a*c"}}"#, &[("k", &["abbbc"])], true),
        (r#"{"StringLike":{"k":"a?c"}}"#, &[("k", &["abc"])], true),
        (r#"{"StringLike":{"k":"a?c"}}"#, &[("k", &["abbc"])], false),
        (r#"{"StringLike":{"k":"A*"}}"#, &[("k", &["abc"])], false),
        (r#"{"StringNotLike":{"k":"a*"}}"#, &[("k", &["xyz"])], true),
        (r#"{"StringNotLike":{"k":"a*"}}"#, &[("k", &["abc"])], false),
        (r#"{"StringNotLike":{"k":"a*"}}"#, k, true),
        // Numeric
        (r#"{"NumericEquals":{"k":"10"}}"#, &[("k", &["10.0"])], true),
        (r#"{"NumericEquals":{"k":10}}"#, &[("k", &["10"])], true),
        (r#"{"NumericEquals":{"k":"10"}}"#, &[("k", &["ten"])], false),
        (r#"{"NumericNotEquals":{"k":"10"}}"#, &[("k", &["11"])], true),
        (r#"{"NumericNotEquals":{"k":"10"}}"#, &[("k", &["10"])], false),
        (r#"{"NumericLessThan":{"k":"10"}}"#, &[("k", &["9.5"])], true),
        (r#"{"NumericLessThan":{"k":"10"}}"#, &[("k", &["10"])], false),
        (r#"{"NumericLessThanEquals":{"k":"10"}}"#, &[("k", &["10"])], true),
        (r#"{"NumericLessThanEquals":{"k":"10"}}"#, &[("k", &["11"])], false),
        (r#"{"NumericGreaterThan":{"k":"10"}}"#, &[("k", &["11"])], true),
        (r#"{"NumericGreaterThan":{"k":"10"}}"#, &[("k", &["10"])], false),
        (r#"{"NumericGreaterThanEquals":{"k":"10"}}"#, &[("k", &["10"])], true),
        (r#"{"NumericGreaterThanEquals":{"k":"10"}}"#, &[("k", &["-3"])], false),
        (r#"{"NumericLessThan":{"k":"10"}}"#, k, false),
        // Date
        (r#"{"DateLessThan":{"t":"2024-01-01T00:00:00Z"}}"#, &[("t", &["2023-12-31T23:59:59Z"])], true),
        (r#"{"DateLessThan":{"t":"2024-01-01T00:00:00Z"}}"#, &[("t", &["1704067199"])], true),
        (r#"{"DateLessThan":{"t":"2024-01-01T00:00:00Z"}}"#, &[("t", &["1704067200"])], false),
        (r#"{"DateLessThanEquals":{"t":"2024-01-01T00:00:00Z"}}"#, &[("t", &["1704067200"])], true),
        (r#"{"DateEquals":{"t":"2024-01-01"}}"#, &[("t", &["2024-01-01T00:00:00Z"])], true),
        (r#"{"DateEquals":{"t":"2024-01-01"}}"#, &[("t", &["2024-01-01T00:00:00.001Z"])], false),
        (r#"{"DateNotEquals":{"t":"2024-01-01"}}"#, &[("t", &["2024-01-02"])], true),
        (r#"{"DateNotEquals":{"t":"2024-01-01"}}"#, &[("t", &["2024-01-01T01:00:00+01:00"])], false),
        (r#"{"DateGreaterThan":{"t":"2024-01-01T00:00:00Z"}}"#, &[("t", &["2024-01-01T01:30:00+01:00"])], true),
        (r#"{"DateGreaterThan":{"t":"2024-01-01T00:00:00Z"}}"#, &[("t", &["2023-12-31T23:30:00-00:20"])], false),
        (r#"{"DateGreaterThanEquals":{"t":"1704067200"}}"#, &[("t", &["2024-01-01T00:00:00Z"])], true),
        (r#"{"DateGreaterThan":{"t":"2024-01-01"}}"#, &[("t", &["not a date"])], false),
        // Bool
        (r#"{"Bool":{"aws:SecureTransport":"true"}}"#, &[("aws:SecureTransport", &["true"])], true),
        (r#"{"Bool":{"aws:SecureTransport":"true"}}"#, &[("aws:SecureTransport", &["false"])], false),
        (r#"{"Bool":{"aws:SecureTransport":false}}"#, &[("aws:SecureTransport", &["false"])], true),
        (r#"{"Bool":{"aws:SecureTransport":"TRUE"}}"#, &[("aws:securetransport", &["true"])], true),
        (r#"{"Bool":{"aws:SecureTransport":"true"}}"#, k, false),
        // Binary
        (r#"{"BinaryEquals":{"k":"QmluYXJ5VmFsdWU="}}"#, &[("k", &["QmluYXJ5VmFsdWU="])], true),
        (r#"{"BinaryEquals":{"k":"QmluYXJ5VmFsdWU="}}"#, &[("k", &["QmluYXJ5VmFsdWU"])], true),
        (r#"{"BinaryEquals":{"k":"QmluYXJ5VmFsdWU="}}"#, &[("k", &["b3RoZXI="])], false),
        // IP
        (r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#, &[("aws:SourceIp", &["203.0.113.7"])], true),
        (r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#, &[("aws:SourceIp", &["203.0.114.1"])], false),
        (r#"{"IpAddress":{"aws:SourceIp":"10.0.0.1"}}"#, &[("aws:SourceIp", &["10.0.0.1"])], true),
        (r#"{"IpAddress":{"aws:SourceIp":"10.0.0.1"}}"#, &[("aws:SourceIp", &["10.0.0.2"])], false),
        (r#"{"IpAddress":{"aws:SourceIp":"2001:DB8::/32"}}"#, &[("aws:SourceIp", &["2001:db8:1::1"])], true),
        (r#"{"IpAddress":{"aws:SourceIp":"2001:DB8::/32"}}"#, &[("aws:SourceIp", &["2001:db9::1"])], false),
        (r#"{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}"#, &[("aws:SourceIp", &["2001:db8::1"])], false),
        (r#"{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}"#, &[("aws:SourceIp", &["8.8.8.8"])], true),
        (r#"{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}"#, &[("aws:SourceIp", &["192.168.3.4"])], true),
        (r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#, &[("aws:SourceIp", &["192.168.1.1"])], true),
        (r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#, &[("aws:SourceIp", &["10.1.2.3"])], false),
        // ARN (segment-wise)
        (r#"{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:111122223333:topic*"}}"#, &[("aws:SourceArn", &["arn:aws:sns:us-east-1:111122223333:topic-a"])], true),
        (r#"{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:111122223333:topic*"}}"#, &[("aws:SourceArn", &["arn:aws:sns:us-east-1:444455556666:topic-a"])], false),
        (r#"{"ArnEquals":{"aws:SourceArn":"arn:aws:iam::*:role/*"}}"#, &[("aws:SourceArn", &["arn:aws:iam::123456789012:role/a/b"])], true),
        (r#"{"ArnLike":{"aws:SourceArn":"arn:aws:sqs:us-east-1:*:q"}}"#, &[("aws:SourceArn", &["arn:aws:sqs:us-east-1:1:2:q"])], false),
        (r#"{"ArnLike":{"aws:SourceArn":"arn:aws:sqs:*"}}"#, &[("aws:SourceArn", &["arn:aws:sqs:us-east-1:1:q"])], false),
        (r#"{"ArnLike":{"aws:SourceArn":"arn:aws:sqs:us-east-1:1:q"}}"#, &[("aws:SourceArn", &["not-an-arn"])], false),
        (r#"{"ArnNotEquals":{"aws:SourceArn":"arn:aws:sqs:us-east-1:1:q"}}"#, &[("aws:SourceArn", &["arn:aws:sqs:us-east-1:1:other"])], true),
        (r#"{"ArnNotLike":{"aws:SourceArn":"arn:aws:sqs:*:1:*"}}"#, &[("aws:SourceArn", &["arn:aws:sqs:us-east-1:1:q"])], false),
        (r#"{"ArnNotLike":{"aws:SourceArn":"arn:aws:sqs:*:1:*"}}"#, k, true),
        // Null
        (r#"{"Null":{"k":"true"}}"#, k, true),
        (r#"{"Null":{"k":"true"}}"#, &[("k", &["x"])], false),
        (r#"{"Null":{"k":"false"}}"#, &[("k", &["x"])], true),
        (r#"{"Null":{"k":"false"}}"#, k, false),
        (r#"{"Null":{"k":"true"}}"#, &[("k", &[])], true),
        // ...IfExists
        (r#"{"StringEqualsIfExists":{"k":"a"}}"#, k, true),
        (r#"{"StringEqualsIfExists":{"k":"a"}}"#, &[("k", &["b"])], false),
        (r#"{"StringEqualsIfExists":{"k":"a"}}"#, &[("k", &["a"])], true),
        (r#"{"NumericLessThanIfExists":{"k":"5"}}"#, k, true),
        (r#"{"NumericLessThanIfExists":{"k":"5"}}"#, &[("k", &["6"])], false),
        (r#"{"ArnLikeIfExists":{"k":"arn:aws:s3:::*"}}"#, k, true),
        // Set operators
        (r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}"#, &[("aws:TagKeys", &["a"])], true),
        (r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}"#, &[("aws:TagKeys", &["a", "c"])], false),
        (r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}"#, k, true),
        (r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}"#, &[("aws:TagKeys", &[])], true),
        (r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}"#, &[("aws:TagKeys", &["a", "c"])], true),
        (r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}"#, &[("aws:TagKeys", &["c"])], false),
        (r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}"#, k, false),
        (r#"{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"a"}}"#, k, true),
        (r#"{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}"#, &[("aws:TagKeys", &["key2:audit"])], true),
        (r#"{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}"#, &[("aws:TagKeys", &["key1:legal"])], false),
        (r#"{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}"#, &[("aws:TagKeys", &["key1:hr", "key2:x"])], false),
        (r#"{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}"#, k, true),
        (r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"a"}}"#, &[("aws:TagKeys", &["a", "b"])], true),
        (r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"a"}}"#, &[("aws:TagKeys", &["a"])], false),
        (r#"{"ForAllValues:NumericLessThan":{"n":"10"}}"#, &[("n", &["1", "9"])], true),
        (r#"{"ForAllValues:NumericLessThan":{"n":"10"}}"#, &[("n", &["1", "19"])], false),
        // A plain operator on a multivalued key: any value; negated: none may match.
        (r#"{"StringEquals":{"k":"a"}}"#, &[("k", &["x", "a"])], true),
        (r#"{"StringNotEquals":{"k":"a"}}"#, &[("k", &["x", "a"])], false),
        // Keys ANDed, operators ANDed, values ORed
        (r#"{"StringEquals":{"a":"1","b":"2"}}"#, &[("a", &["1"]), ("b", &["2"])], true),
        (r#"{"StringEquals":{"a":"1","b":"2"}}"#, &[("a", &["1"])], false),
        (r#"{"StringEquals":{"a":"1"},"NumericLessThan":{"n":"3"}}"#, &[("a", &["1"]), ("n", &["2"])], true),
        (r#"{"StringEquals":{"a":"1"},"NumericLessThan":{"n":"3"}}"#, &[("a", &["1"]), ("n", &["4"])], false),
        (r#"{"StringEquals":{"a":["1","2","3"]}}"#, &[("a", &["3"])], true),
        // Unknown operator with an empty block is ignored.
        (r#"{"StringFrobnicate":{}}"#, k, true),
    ];
    for (condition, context, want) in cases {
        assert_eq!(condition_holds(condition, context), *want, "{condition} with {context:?}");
    }
}

#[test]
fn principal_keys_come_from_the_caller() {
    #[rustfmt::skip]
    let cases: &[(&str, Caller, bool)] = &[
        (r#"{"StringEquals":{"aws:username":"alice"}}"#, alice(), true),
        (r#"{"StringEquals":{"aws:username":"alice"}}"#, bob(), false),
        (r#"{"StringEquals":{"aws:PrincipalTag/team":"blue"}}"#, alice(), true),
        (r#"{"StringEquals":{"aws:PrincipalTag/team":"blue"}}"#, bob(), false),
        (r#"{"StringEquals":{"aws:userid":"AROAWORKER:s1"}}"#, session(), true),
        (r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/app/Worker"}}"#, session(), true),
        (r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/app/Worker"}}"#, alice(), false),
        (r#"{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}"#, session(), true),
        (r#"{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}"#, stranger(), false),
        (r#"{"StringEquals":{"aws:PrincipalType":"AssumedRole"}}"#, session(), true),
        (r#"{"StringEquals":{"aws:PrincipalType":"AssumedRole"}}"#, alice(), false),
        (r#"{"Null":{"aws:username":"true"}}"#, session(), true),
    ];
    for (condition, caller, want) in cases {
        let p = identity(&format!(r#"{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{condition}}}"#));
        let got = eval(&p, caller, "s3:GetObject", "*", &Context::new()) == Effect::Allow;
        assert_eq!(got, *want, "{condition} for {}", caller.arn);
    }
    // The context wins over the caller.
    let p = identity(
        r#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":"zed"}}}"#,
    );
    assert_eq!(eval(&p, &alice(), "s3:GetObject", "*", &ctx(&[("aws:username", &["zed"])])), Effect::Allow);
}

#[test]
fn dates_parse() {
    let s = 1_000_000_000i128;
    #[rustfmt::skip]
    let cases: &[(&str, Option<i128>)] = &[
        ("0", Some(0)),
        ("1704067200", Some(1_704_067_200 * s)),
        ("2024-01-01", Some(1_704_067_200 * s)),
        ("2024-01-01T00:00:00Z", Some(1_704_067_200 * s)),
        ("2024-01-01t00:00:00z", Some(1_704_067_200 * s)),
        ("2024-01-01T02:00:00+02:00", Some(1_704_067_200 * s)),
        ("2024-01-01T02:00:00+0200", Some(1_704_067_200 * s)),
        ("2023-12-31T19:00:00-05:00", Some(1_704_067_200 * s)),
        ("2024-01-01T00:00:00.5Z", Some(1_704_067_200 * s + s / 2)),
        ("2024-01-01T12:30", Some(1_704_067_200 * s + 45_000 * s)),
        ("2024-02", Some(1_706_745_600 * s)),
        ("1969-12-31T23:59:59Z", Some(-s)),
        ("2000-02-29", Some(951_782_400 * s)),
        ("2024-13-01", None),
        ("2024-01-32", None),
        ("2024-01-01T24:00:00Z", None),
        ("2024-01-01T00:60:00Z", None),
        ("yesterday", None),
        ("", None),
        ("12.5", None),
    ];
    for (text, want) in cases {
        assert_eq!(parse_date(text), *want, "{text}");
    }
}

#[test]
fn base64_and_cidr_parse() {
    assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
    assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
    assert_eq!(base64_decode("").unwrap(), b"");
    assert!(base64_decode("a$b=").is_none());
    assert!(base64_decode("a").is_none());

    let ip = |s: &str| s.parse().unwrap();
    let c = Cidr::parse("192.168.1.77/24").unwrap();
    assert!(c.contains(ip("192.168.1.1")));
    assert!(!c.contains(ip("192.168.2.1")));
    assert!(Cidr::parse("10.0.0.0/33").is_none());
    assert!(Cidr::parse("10.0.0.0/").is_none());
    assert!(Cidr::parse("10.0.0/8").is_none());
    assert!(Cidr::parse("::/0").unwrap().contains(ip("2001:db8::1")));
    assert!(!Cidr::parse("::/0").unwrap().contains(ip("1.2.3.4")));
    let c = Cidr::parse("2001:db8:abcd::/48").unwrap();
    assert!(c.contains(ip("2001:db8:abcd:ffff::1")));
    assert!(!c.contains(ip("2001:db8:abce::1")));
    assert!(Cidr::parse("1.2.3.4/32").unwrap().contains(ip("1.2.3.4")));
    assert!(!Cidr::parse("1.2.3.4/32").unwrap().contains(ip("1.2.3.5")));
}

// ---------------------------------------------------------------- wildcards

#[test]
fn wildcard_patterns() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, bool, bool)] = &[
        // (pattern, text, fold, matches)
        ("*", "", false, true),
        ("*", "anything:at/all", false, true),
        ("sqs:Send*", "sqs:SendMessage", true, true),
        ("sqs:Send*", "SQS:sendmessagebatch", true, true),
        ("sqs:Send*", "sqs:ReceiveMessage", true, false),
        ("sqs:Send*", "SQS:SendMessage", false, false),
        ("s3:*Object", "s3:GetObject", true, true),
        ("s3:*Object", "s3:GetObjectAcl", true, false),
        ("s3:Get?bject", "s3:GetObject", true, true),
        ("s3:Get?bject", "s3:Getbject", true, false),
        ("arn:aws:sqs:*", "arn:aws:sqs:us-east-1:111:q", false, true),
        ("arn:aws:s3:::b/*/x", "arn:aws:s3:::b/a/b/x", false, true),
        ("arn:aws:s3:::b/*/x", "arn:aws:s3:::b/a/b/y", false, false),
        ("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/k", false, false),
        ("a*b*c", "aXbYbZc", false, true),
        ("a*b*c", "aXcYb", false, false),
        ("*a", "bbbba", false, true),
        ("**", "x", false, true),
        ("?", "é", false, true),
        ("exact", "exact", false, true),
        ("exact", "exactly", false, false),
        ("", "", false, true),
        ("", "x", false, false),
    ];
    for (pattern, text, fold, want) in cases {
        let p = Pattern::compile(pattern, true, false);
        assert_eq!(p.matches(text, *fold, &NoVars), *want, "{pattern} ~ {text}");
    }
    // Many stars against a long near-miss stays linear-ish (would hang if exponential).
    let p = Pattern::compile(&format!("{}b", "a*".repeat(40)), true, false);
    assert!(!p.matches(&"a".repeat(5000), false, &NoVars));
    // Without wildcards `*` is literal.
    assert!(!Pattern::compile("a*", false, false).matches("abc", false, &NoVars));
    assert!(Pattern::compile("a*", false, false).matches("a*", false, &NoVars));
}

#[test]
fn actions_and_resources() {
    let p = identity(
        r#"{"Effect":"Allow","Action":["sqs:Send*","sqs:GetQueueUrl"],"Resource":"arn:aws:sqs:us-east-1:111122223333:*"}"#,
    );
    let none = Context::new();
    assert_eq!(eval(&p, &alice(), "sqs:SendMessage", QUEUE, &none), Effect::Allow);
    assert_eq!(eval(&p, &alice(), "SQS:getqueueurl", QUEUE, &none), Effect::Allow);
    assert_eq!(eval(&p, &alice(), "sqs:DeleteQueue", QUEUE, &none), Effect::NotApplicable);
    assert_eq!(
        eval(&p, &alice(), "sqs:SendMessage", "arn:aws:sqs:us-east-1:444455556666:q", &none),
        Effect::NotApplicable
    );
    assert_eq!(eval(&p, &alice(), "sqs:SendMessage", "*", &none), Effect::NotApplicable);

    let not_action = identity(r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#);
    assert_eq!(eval(&not_action, &alice(), "sqs:SendMessage", QUEUE, &none), Effect::Allow);
    assert_eq!(eval(&not_action, &alice(), "iam:CreateUser", "*", &none), Effect::NotApplicable);

    let not_resource = identity(r#"{"Effect":"Allow","Action":"s3:GetObject","NotResource":"arn:aws:s3:::secret/*"}"#);
    assert_eq!(eval(&not_resource, &alice(), "s3:GetObject", "arn:aws:s3:::public/x", &none), Effect::Allow);
    assert_eq!(eval(&not_resource, &alice(), "s3:GetObject", "arn:aws:s3:::secret/x", &none), Effect::NotApplicable);

    let deny_rest = identity(
        r#"{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","NotAction":["sqs:*","sts:GetCallerIdentity"],"Resource":"*"}"#,
    );
    assert_eq!(eval(&deny_rest, &alice(), "sqs:SendMessage", QUEUE, &none), Effect::Allow);
    assert_eq!(eval(&deny_rest, &alice(), "s3:GetObject", "*", &none), Effect::Deny);

    // Deny wins within one policy whatever the statement order.
    let both = identity(
        r#"{"Effect":"Deny","Action":"sqs:SendMessage","Resource":"*"},{"Effect":"Allow","Action":"*","Resource":"*"}"#,
    );
    assert_eq!(eval(&both, &alice(), "sqs:SendMessage", QUEUE, &none), Effect::Deny);
    assert_eq!(eval(&both, &alice(), "sqs:ReceiveMessage", QUEUE, &none), Effect::Allow);

    // A resource policy statement without Resource covers the resource it is attached to.
    let attached = resource(r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage"}"#);
    assert_eq!(eval(&attached, &alice(), "sqs:SendMessage", QUEUE, &none), Effect::Allow);
}

// ---------------------------------------------------------------- variables

#[test]
fn policy_variables() {
    let none = Context::new();
    let home = |version: &str, resource: &str| {
        parse(
            PolicyKind::Identity,
            &format!(r#"{{{version}"Statement":{{"Effect":"Allow","Action":"s3:*","Resource":"{resource}"}}}}"#),
        )
    };
    let v2012 = r#""Version":"2012-10-17","#;
    let p = home(v2012, "arn:aws:s3:::bucket/${aws:username}/*");
    assert_eq!(eval(&p, &alice(), "s3:GetObject", "arn:aws:s3:::bucket/alice/x", &none), Effect::Allow);
    assert_eq!(eval(&p, &alice(), "s3:GetObject", "arn:aws:s3:::bucket/bob/x", &none), Effect::NotApplicable);
    // No user name for a role session: the value matches nothing.
    assert_eq!(
        eval(&p, &session(), "s3:GetObject", "arn:aws:s3:::bucket/${aws:username}/x", &none),
        Effect::NotApplicable
    );

    // 2008-10-17 and no Version: literal text.
    for version in [r#""Version":"2008-10-17","#, ""] {
        let p = home(version, "arn:aws:s3:::bucket/${aws:username}/*");
        assert_eq!(eval(&p, &alice(), "s3:GetObject", "arn:aws:s3:::bucket/alice/x", &none), Effect::NotApplicable);
        assert_eq!(eval(&p, &alice(), "s3:GetObject", "arn:aws:s3:::bucket/${aws:username}/x", &none), Effect::Allow);
    }

    #[rustfmt::skip]
    let cases: &[(&str, Caller, &str, bool)] = &[
        ("arn:aws:s3:::b/${aws:PrincipalTag/team}", alice(), "arn:aws:s3:::b/blue", true),
        ("arn:aws:s3:::b/${aws:PrincipalTag/dept, 'none'}", alice(), "arn:aws:s3:::b/none", true),
        ("arn:aws:s3:::b/${aws:PrincipalTag/team, 'none'}", alice(), "arn:aws:s3:::b/none", false),
        ("arn:aws:s3:::b/${aws:userid}", alice(), "arn:aws:s3:::b/AIDAALICE", true),
        ("arn:aws:s3:::b/${AWS:UserName}", alice(), "arn:aws:s3:::b/alice", true),
        ("arn:aws:s3:::b/${*}", alice(), "arn:aws:s3:::b/*", true),
        ("arn:aws:s3:::b/${*}", alice(), "arn:aws:s3:::b/x", false),
        ("arn:aws:s3:::b/${?}${$}", alice(), "arn:aws:s3:::b/?$", true),
        ("arn:aws:s3:::b/${?}", alice(), "arn:aws:s3:::b/x", false),
        ("arn:aws:s3:::b/${aws:username}-*", alice(), "arn:aws:s3:::b/alice-1", true),
    ];
    for (pattern, caller, resource, want) in cases {
        let p = home(v2012, pattern);
        let got = eval(&p, caller, "s3:GetObject", resource, &none) == Effect::Allow;
        assert_eq!(got, *want, "{pattern} ~ {resource}");
    }

    // A wildcard inside a resolved value is literal.
    let mut star = alice();
    star.username = Some("a*".into());
    let p = home(v2012, "arn:aws:s3:::b/${aws:username}");
    assert_eq!(eval(&p, &star, "s3:GetObject", "arn:aws:s3:::b/abc", &none), Effect::NotApplicable);
    assert_eq!(eval(&p, &star, "s3:GetObject", "arn:aws:s3:::b/a*", &none), Effect::Allow);

    // Any single-valued context key; multivalued keys do not resolve.
    let p = home(v2012, "arn:aws:s3:::b/${aws:SourceIp}");
    assert_eq!(
        eval(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/1.2.3.4", &ctx(&[("aws:SourceIp", &["1.2.3.4"])])),
        Effect::Allow
    );
    let p = home(v2012, "arn:aws:s3:::b/${k}");
    assert_eq!(
        eval(&p, &alice(), "s3:GetObject", "arn:aws:s3:::b/x", &ctx(&[("k", &["x", "y"])])),
        Effect::NotApplicable
    );

    // In condition values.
    let cond = identity(
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringLike":{"s3:prefix":["home/${aws:username}/*"]}}}"#,
    );
    assert_eq!(
        eval(&cond, &alice(), "s3:ListBucket", "*", &ctx(&[("s3:prefix", &["home/alice/docs"])])),
        Effect::Allow
    );
    assert_eq!(
        eval(&cond, &alice(), "s3:ListBucket", "*", &ctx(&[("s3:prefix", &["home/bob/docs"])])),
        Effect::NotApplicable
    );
    let arn = identity(
        r#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:iam::111122223333:user/${aws:username}"}}}"#,
    );
    assert_eq!(eval(&arn, &alice(), "x:Y", "*", &ctx(&[("aws:SourceArn", &[ALICE])])), Effect::Allow);
    // An unresolvable variable in a negated operator: nothing equals it, so the condition holds.
    let negated = identity(
        r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"k":"${aws:username}"}}}"#,
    );
    assert_eq!(eval(&negated, &session(), "x:Y", "*", &ctx(&[("k", &["x"])])), Effect::Deny);
    assert_eq!(eval(&negated, &alice(), "x:Y", "*", &ctx(&[("k", &["alice"])])), Effect::NotApplicable);
}

// ---------------------------------------------------------------- principals

#[test]
fn principal_matching() {
    let svc = Caller::service("lambda.amazonaws.com");
    let anon = Caller::anonymous();
    let idp =
        Caller { kind: CallerKind::IdentityProvider("cognito-identity.amazonaws.com".into()), ..Caller::anonymous() };
    let other_session = Caller::assumed_role(ACCT, "/app/", "Worker", "s2", "AROAWORKER");
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<(Caller, bool)>)> = vec![
        (r#""*""#, vec![(alice(), true), (anon.clone(), true), (svc.clone(), true), (stranger(), true)]),
        (r#"{"AWS":"*"}"#, vec![(alice(), true), (anon.clone(), true)]),
        (r#"{"AWS":"111122223333"}"#, vec![(alice(), true), (session(), true), (stranger(), false), (anon.clone(), false), (svc.clone(), false)]),
        (r#"{"AWS":"arn:aws:iam::111122223333:root"}"#, vec![(alice(), true), (Caller::root(ACCT), true), (stranger(), false)]),
        (r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#, vec![(alice(), true), (bob(), false), (session(), false)]),
        (r#"{"AWS":["arn:aws:iam::111122223333:user/bob","arn:aws:iam::444455556666:user/eve"]}"#, vec![(alice(), false), (bob(), true), (stranger(), true)]),
        (r#"{"AWS":"arn:aws:iam::111122223333:role/app/Worker"}"#, vec![(session(), true), (other_session.clone(), true), (alice(), false)]),
        (r#"{"AWS":"arn:aws:iam::111122223333:role/Worker"}"#, vec![(session(), false)]),
        (r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/Worker/s1"}"#, vec![(session(), true), (other_session.clone(), false)]),
        (r#"{"Service":"lambda.amazonaws.com"}"#, vec![(svc.clone(), true), (alice(), false), (Caller::service("sns.amazonaws.com"), false)]),
        (r#"{"Service":["sns.amazonaws.com","lambda.amazonaws.com"]}"#, vec![(svc.clone(), true)]),
        (r#"{"Federated":"cognito-identity.amazonaws.com"}"#, vec![(idp.clone(), true), (anon.clone(), false)]),
        (r#"{"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}"#, vec![(alice(), false)]),
    ];
    for (principal, callers) in cases {
        let p = resource(&format!(r#"{{"Effect":"Allow","Principal":{principal},"Action":"sqs:*","Resource":"*"}}"#));
        for (caller, want) in callers {
            let got = eval(&p, &caller, "sqs:SendMessage", QUEUE, &Context::new()) == Effect::Allow;
            assert_eq!(got, want, "{principal} for {}", caller.arn);
        }
    }
}

#[test]
fn not_principal_needs_every_identity_listed() {
    let deny = |listed: &str| {
        resource(&format!(r#"{{"Effect":"Deny","NotPrincipal":{{"AWS":[{listed}]}},"Action":"sqs:*","Resource":"*"}}"#))
    };
    let none = Context::new();
    let p = deny(r#""arn:aws:iam::111122223333:user/alice","111122223333""#);
    assert_eq!(eval(&p, &alice(), "sqs:SendMessage", QUEUE, &none), Effect::NotApplicable);
    assert_eq!(eval(&p, &bob(), "sqs:SendMessage", QUEUE, &none), Effect::Deny);
    // The user without its account: still denied (IAM User Guide, NotPrincipal).
    let p = deny(r#""arn:aws:iam::111122223333:user/alice""#);
    assert_eq!(eval(&p, &alice(), "sqs:SendMessage", QUEUE, &none), Effect::Deny);
    // A session needs its session ARN, its role ARN and its account.
    let p = deny(&format!(r#""{SESSION}","{ROLE}","{ACCT}""#));
    assert_eq!(eval(&p, &session(), "sqs:SendMessage", QUEUE, &none), Effect::NotApplicable);
    let p = deny(&format!(r#""{ROLE}","{ACCT}""#));
    assert_eq!(eval(&p, &session(), "sqs:SendMessage", QUEUE, &none), Effect::Deny);
    assert_eq!(eval(&p, &Caller::anonymous(), "sqs:SendMessage", QUEUE, &none), Effect::Deny);
}

// ---------------------------------------------------------------- validation

#[test]
fn validation_errors() {
    use PolicyKind::*;
    const SYNTAX: &str = "Syntax errors in policy.";
    const LEGACY: &str = "The policy failed legacy parsing";
    let st = |body: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{body}]}}"#);
    #[rustfmt::skip]
    let cases: Vec<(PolicyKind, String, &str)> = vec![
        (Identity, "not json".into(), SYNTAX),
        (Identity, "[]".into(), SYNTAX),
        (Identity, r#"{"Version":"2012-10-17"}"#.into(), SYNTAX),
        (Identity, r#"{"Version":"2012-10-17","Statement":[]}"#.into(), SYNTAX),
        (Identity, r#"{"Version":"2012-10-17","Statement":"x"}"#.into(), SYNTAX),
        (Identity, r#"{"Version":"2013-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#.into(), SYNTAX),
        (Identity, r#"{"Version":"2012-10-17","Foo":1,"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#.into(), SYNTAX),
        (Identity, r#"{"Version":"2012-10-17","Id":5,"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#.into(), SYNTAX),
        (Identity, st(r#"{"Effect":"Allow","Actions":"s3:*","Resource":"*"}"#), SYNTAX),
        (Identity, st(r#"{"Effect":"Maybe","Action":"s3:*","Resource":"*"}"#), SYNTAX),
        (Identity, st(r#"{"Action":"s3:*","Resource":"*"}"#), SYNTAX),
        (Identity, st(r#"{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}"#), SYNTAX),
        (Identity, st(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"*"}"#), SYNTAX),
        (Identity, st(r#"{"Effect":"Allow","Action":5,"Resource":"*"}"#), SYNTAX),
        (Identity, st(r#"{"Effect":"Allow","Action":["s3:*",5],"Resource":"*"}"#), SYNTAX),
        (Identity, st(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Sid":1}"#), SYNTAX),
        (Identity, st(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringFrobnicate":{"k":"v"}}}"#), SYNTAX),
        (Identity, st(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":"v"}}"#), SYNTAX),
        (Identity, st(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"k":{"a":1}}}}"#), SYNTAX),
        (Identity, st(r#"{"Effect":"allow","Action":"s3:*","Resource":"*"}"#), LEGACY),
        (Identity, st(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}"#), LEGACY),
        (Identity, st(r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3::b"}"#), LEGACY),
        (Identity, st(r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}"#), "Policy document should not specify a principal."),
        (Session, st(r#"{"Effect":"Allow","NotPrincipal":{"AWS":"*"},"Action":"s3:*","Resource":"*"}"#), "Policy document should not specify a principal."),
        (Resource, st(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#), "Missing required field Principal"),
        (Trust, st(r#"{"Effect":"Allow","Action":"sts:AssumeRole"}"#), "Missing required field Principal"),
        (Identity, st(r#"{"Effect":"Allow","Resource":"*"}"#), "Policy statement must contain actions."),
        (Identity, st(r#"{"Effect":"Allow","Action":[],"Resource":"*"}"#), "Policy statement must contain actions."),
        (Identity, st(r#"{"Effect":"Allow","Action":"s3:*"}"#), "Policy statement must contain resources."),
        (Boundary, st(r#"{"Effect":"Allow","Action":"s3:*","Resource":[]}"#), "Policy statement must contain resources."),
        (Trust, st(r#"{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}"#), "Has prohibited field Resource"),
        (Trust, st(r#"{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"s3:GetObject"}"#), "AssumeRole policy may only specify STS AssumeRole actions."),
        (Identity, st(r#"{"Effect":"Allow","Action":"sqsSendMessage","Resource":"*"}"#), "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
        (Identity, st(r#"{"Effect":"Allow","Action":"sqs:Send:Message","Resource":"*"}"#), "Actions/Condition can contain only one colon."),
        (Identity, st(r#"{"Effect":"Allow","Action":"sq s:Send","Resource":"*"}"#), "Vendor sq s is not valid"),
        (Identity, st(r#"{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}"#), r#"Resource bucket must be in ARN format or "*"."#),
        (Identity, st(r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:iam:us-east-1:111122223333:user/x"}"#), "IAM resource arn:aws:iam:us-east-1:111122223333:user/x cannot contain region information."),
        (Identity, st(r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:us-east-1::b"}"#), "Resource arn:aws:s3:us-east-1::b can not contain region information."),
        (Identity, st(r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:foo:s3:::b"}"#), r#"Partition "foo" is not valid for resource "arn:foo:s3:::b"."#),
        (Identity, st(r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws"}"#), "Resource vendor must be fully qualified and cannot contain regexes."),
        (Identity, st(r#"{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"s3:*","Resource":"*"}"#), "Statement IDs (SID) in a single policy must be unique."),
        (Identity, st(r#"{"Sid":"a-b","Effect":"Allow","Action":"s3:*","Resource":"*"}"#), "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"),
        (Resource, st(r#"{"Effect":"Allow","Principal":{"AWS":"not-an-arn"},"Action":"s3:*","Resource":"*"}"#), r#"Invalid principal in policy: "AWS":"not-an-arn""#),
        (Resource, st(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/*"},"Action":"s3:*","Resource":"*"}"#), r#"Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:user/*""#),
        (Trust, st(r#"{"Effect":"Allow","Principal":{"Robot":"r2d2"},"Action":"sts:AssumeRole"}"#), r#"Invalid principal in policy: "Robot":"r2d2""#),
        (Resource, st(r#"{"Effect":"Allow","Principal":"someone","Action":"s3:*","Resource":"*"}"#), r#"Invalid principal in policy: "someone""#),
    ];
    for (kind, doc, want) in cases {
        match Policy::parse(&doc, kind) {
            Ok(_) => panic!("accepted {doc}"),
            Err(e) => assert_eq!(e.message, want, "{doc}"),
        }
    }
}

#[test]
fn valid_documents() {
    use PolicyKind::*;
    #[rustfmt::skip]
    let cases: &[(PolicyKind, &str)] = &[
        (Identity, r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#),
        (Identity, r#"{"Version":"2008-10-17","Id":"x","Statement":{"Effect":"Deny","NotAction":"s3:*","NotResource":["arn:aws:s3:::b"]}}"#),
        (Identity, r#"{"Version":"2012-10-17","Statement":{"Sid":"","Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":true},"NumericLessThan":{"s3:max-keys":10},"StringFrobnicate":{}}}}"#),
        (Identity, r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*:Get*","Resource":"arn:aws-cn:s3:::b/${aws:username}"}}"#),
        (Resource, r#"{"Version":"2012-10-17","Statement":{"Sid":"with spaces ok","Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:root","AIDAEXAMPLEUNIQUEID1"]},"Action":"sqs:*"}}"#),
        (Resource, r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:sts::111122223333:assumed-role/R/s"},"Action":"s3:*","Resource":"arn:aws:s3:us-east-1:111122223333:accesspoint/ap"}}"#),
        (Trust, r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com"]},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"]}]}"#),
    ];
    for (kind, doc) in cases {
        if let Err(e) = Policy::parse(doc, *kind) {
            panic!("{doc}: {}", e.message);
        }
    }
    let p = parse(Resource, cases[4].1);
    assert_eq!(p.kind(), Resource);
    assert_eq!(p.version(), Version::V2012_10_17);
    assert_eq!(p.sids().collect::<Vec<_>>(), vec![Some("with spaces ok")]);
    assert_eq!(parse(Identity, cases[1].1).id(), Some("x"));
    assert_eq!(parse(Identity, cases[0].1).version(), Version::Missing);
}

#[test]
fn managed_policies_need_the_current_version() {
    let msg = "Policy document must be version 2012-10-17 or greater.";
    let body = r#""Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#;
    assert_eq!(Policy::parse_managed(&format!("{{{body}}}")).unwrap_err().message, msg);
    assert_eq!(Policy::parse_managed(&format!(r#"{{"Version":"2008-10-17",{body}}}"#)).unwrap_err().message, msg);
    assert!(Policy::parse_managed(&format!(r#"{{"Version":"2012-10-17",{body}}}"#)).is_ok());
    assert!(Policy::parse(&format!("{{{body}}}"), PolicyKind::Identity).is_ok());
}

// ---------------------------------------------------------------- decide

struct Case<'a> {
    name: &'a str,
    caller: Caller,
    action: &'a str,
    identity: Vec<&'a Policy>,
    resource: Option<&'a Policy>,
    resource_account: Option<&'a str>,
    boundary: Option<Vec<&'a Policy>>,
    session: Option<Vec<&'a Policy>>,
    want: Result<(), Denial>,
}

fn case<'a>(name: &'a str, caller: Caller, want: Result<(), Denial>) -> Case<'a> {
    Case {
        name,
        caller,
        action: "sqs:SendMessage",
        identity: Vec::new(),
        resource: None,
        resource_account: None,
        boundary: None,
        session: None,
        want,
    }
}

fn run(c: &Case<'_>) -> Verdict {
    let context = Context::new();
    let resource_arn = if c.resource_account == Some(OTHER) { "arn:aws:sqs:us-east-1:444455556666:q" } else { QUEUE };
    let request = Request { principal: &c.caller, action: c.action, resource: resource_arn, context: &context };
    explain(&Decide {
        request: &request,
        identity: &c.identity,
        resource: c.resource,
        resource_account: c.resource_account,
        boundary: c.boundary.as_deref(),
        session: c.session.as_deref(),
    })
}

#[test]
fn decision_table() {
    use Denial::{ExplicitDeny, NoAllow};
    use PolicyType::*;
    let id_allow = identity(r#"{"Effect":"Allow","Action":["sqs:SendMessage","sts:AssumeRole"],"Resource":"*"}"#);
    let id_deny = identity(r#"{"Effect":"Deny","Action":"sqs:*","Resource":"*"}"#);
    let id_s3 = identity(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#);
    let sqs_only = identity(r#"{"Effect":"Allow","Action":"sqs:*","Resource":"*"}"#);
    let res = |principal: &str, effect: &str| {
        resource(&format!(r#"{{"Effect":"{effect}","Principal":{principal},"Action":"sqs:*","Resource":"*"}}"#))
    };
    let res_alice = res(&format!(r#"{{"AWS":"{ALICE}"}}"#), "Allow");
    let res_account = res(r#"{"AWS":"111122223333"}"#, "Allow");
    let res_other_account = res(r#"{"AWS":"444455556666"}"#, "Allow");
    let res_eve = res(r#"{"AWS":"arn:aws:iam::444455556666:user/eve"}"#, "Allow");
    let res_role = res(&format!(r#"{{"AWS":"{ROLE}"}}"#), "Allow");
    let res_session = res(&format!(r#"{{"AWS":"{SESSION}"}}"#), "Allow");
    let res_everyone = res(r#""*""#, "Allow");
    let res_deny = res(r#""*""#, "Deny");
    let res_service = res(r#"{"Service":"sns.amazonaws.com"}"#, "Allow");
    let trust = |principal: &str| {
        parse(
            PolicyKind::Trust,
            &format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"}}}}"#
            ),
        )
    };
    let trust_alice = trust(&format!(r#"{{"AWS":"{ALICE}"}}"#));
    let trust_account = trust(r#"{"AWS":"111122223333"}"#);
    let trust_other = trust(r#"{"Service":"ec2.amazonaws.com"}"#);
    let sns = Caller::service("sns.amazonaws.com");

    let cases = vec![
        Case { identity: vec![&id_allow], ..case("identity allow", alice(), Ok(())) },
        case("nothing", alice(), Err(NoAllow(Identity))),
        Case { identity: vec![&id_s3], ..case("identity allows something else", alice(), Err(NoAllow(Identity))) },
        Case { identity: vec![&id_allow, &id_deny], ..case("identity deny", alice(), Err(ExplicitDeny(Identity))) },
        Case { resource: Some(&res_alice), ..case("resource names the user", alice(), Ok(())) },
        Case { resource: Some(&res_alice), ..case("resource names another user", bob(), Err(NoAllow(Identity))) },
        Case { resource: Some(&res_everyone), ..case("resource allows everyone", bob(), Ok(())) },
        Case { resource: Some(&res_account), ..case("account principal delegates", alice(), Err(NoAllow(Identity))) },
        Case {
            identity: vec![&id_allow],
            resource: Some(&res_account),
            ..case("account principal + identity", alice(), Ok(()))
        },
        Case {
            identity: vec![&id_allow],
            resource: Some(&res_deny),
            ..case("resource deny", alice(), Err(ExplicitDeny(Resource)))
        },
        Case {
            identity: vec![&id_allow],
            boundary: Some(vec![&id_s3]),
            ..case("boundary misses", alice(), Err(NoAllow(Boundary)))
        },
        Case { identity: vec![&id_allow], boundary: Some(vec![&sqs_only]), ..case("boundary allows", alice(), Ok(())) },
        Case {
            identity: vec![&id_allow],
            boundary: Some(vec![&sqs_only, &id_deny]),
            ..case("boundary deny", alice(), Err(ExplicitDeny(Boundary)))
        },
        Case { identity: vec![&id_allow], boundary: Some(vec![]), ..case("empty boundary = none", alice(), Ok(())) },
        Case {
            resource: Some(&res_alice),
            boundary: Some(vec![&id_s3]),
            ..case("user ARN grant ignores boundary", alice(), Ok(()))
        },
        Case {
            identity: vec![&id_allow],
            session: Some(vec![&id_s3]),
            ..case("session misses", session(), Err(NoAllow(Session)))
        },
        Case { identity: vec![&id_allow], session: Some(vec![&sqs_only]), ..case("session allows", session(), Ok(())) },
        Case {
            identity: vec![&id_allow],
            session: Some(vec![&id_deny]),
            ..case("session deny", session(), Err(ExplicitDeny(Session)))
        },
        Case {
            identity: vec![&id_allow],
            boundary: Some(vec![&sqs_only]),
            session: Some(vec![&sqs_only]),
            ..case("all allow", session(), Ok(()))
        },
        Case { resource: Some(&res_role), ..case("role ARN grant", session(), Ok(())) },
        Case {
            resource: Some(&res_role),
            boundary: Some(vec![&id_s3]),
            ..case("role ARN grant, boundary", session(), Err(NoAllow(Boundary)))
        },
        Case {
            resource: Some(&res_role),
            session: Some(vec![&id_s3]),
            ..case("role ARN grant, session", session(), Err(NoAllow(Session)))
        },
        Case {
            resource: Some(&res_session),
            boundary: Some(vec![&id_s3]),
            session: Some(vec![&id_s3]),
            ..case("session ARN grant", session(), Ok(()))
        },
        Case {
            resource: Some(&res_session),
            session: Some(vec![&id_deny]),
            ..case("session ARN grant, explicit deny", session(), Err(ExplicitDeny(Session)))
        },
        // Cross-account
        Case {
            identity: vec![&id_allow],
            resource_account: Some(OTHER),
            ..case("cross, no resource policy", alice(), Err(NoAllow(Resource)))
        },
        Case {
            identity: vec![&id_allow],
            resource: Some(&res_other_account),
            resource_account: Some(OTHER),
            ..case("cross, resource names only its own account", alice(), Err(NoAllow(Resource)))
        },
        Case {
            identity: vec![&id_allow],
            resource: Some(&res_account),
            resource_account: Some(OTHER),
            ..case("cross, resource names caller's account", alice(), Ok(()))
        },
        Case {
            resource: Some(&res_account),
            resource_account: Some(OTHER),
            ..case("cross, resource only, no identity", alice(), Err(NoAllow(Identity)))
        },
        Case {
            identity: vec![&id_allow],
            resource: Some(&res_other_account),
            resource_account: Some(ACCT),
            ..case("cross, both allow", stranger(), Ok(()))
        },
        Case {
            resource: Some(&res_eve),
            resource_account: Some(ACCT),
            ..case("cross, resource only", stranger(), Err(NoAllow(Identity)))
        },
        Case { resource: Some(&res_eve), ..case("same account, resource only", stranger(), Ok(())) },
        Case {
            identity: vec![&id_allow],
            resource: Some(&res_eve),
            resource_account: Some(ACCT),
            boundary: Some(vec![&id_s3]),
            ..case("cross, boundary", stranger(), Err(NoAllow(Boundary)))
        },
        Case {
            identity: vec![&id_allow],
            resource: Some(&res_eve),
            resource_account: Some(ACCT),
            ..case("cross, user named", stranger(), Ok(()))
        },
        Case {
            identity: vec![&id_allow],
            resource: Some(&res_deny),
            resource_account: Some(ACCT),
            ..case("cross, resource deny", stranger(), Err(ExplicitDeny(Resource)))
        },
        // Root
        case("root, own account", Caller::root(ACCT), Ok(())),
        Case { identity: vec![&id_deny], ..case("root ignores identity policies", Caller::root(ACCT), Ok(())) },
        Case {
            resource: Some(&res_deny),
            ..case("root, resource deny", Caller::root(ACCT), Err(ExplicitDeny(Resource)))
        },
        Case {
            resource_account: Some(OTHER),
            ..case("root, other account", Caller::root(ACCT), Err(NoAllow(Resource)))
        },
        Case {
            resource: Some(&res_other_account),
            resource_account: Some(ACCT),
            ..case("root of other account, granted", Caller::root(OTHER), Ok(()))
        },
        // Services and anonymous callers
        Case { resource: Some(&res_service), ..case("service granted", sns.clone(), Ok(())) },
        Case { identity: vec![&id_allow], ..case("service, no resource policy", sns.clone(), Err(NoAllow(Resource))) },
        Case { resource: Some(&res_alice), ..case("service not named", sns.clone(), Err(NoAllow(Resource))) },
        Case { resource: Some(&res_everyone), ..case("anonymous, public", Caller::anonymous(), Ok(())) },
        Case {
            resource: Some(&res_account),
            ..case("anonymous, account", Caller::anonymous(), Err(NoAllow(Resource)))
        },
        // Trust policies must allow, even within the account.
        Case { action: "sts:AssumeRole", resource: Some(&trust_alice), ..case("trust names user", alice(), Ok(())) },
        Case {
            action: "sts:AssumeRole",
            resource: Some(&trust_account),
            ..case("trust names account", alice(), Err(NoAllow(Identity)))
        },
        Case {
            action: "sts:AssumeRole",
            identity: vec![&id_allow],
            resource: Some(&trust_account),
            ..case("trust account + identity", alice(), Ok(()))
        },
        Case {
            action: "sts:AssumeRole",
            identity: vec![&id_allow],
            resource: Some(&trust_other),
            ..case("trust misses", alice(), Err(NoAllow(Resource)))
        },
        Case {
            action: "sts:AssumeRole",
            resource: Some(&trust_other),
            ..case("trust misses root", Caller::root(ACCT), Err(NoAllow(Resource)))
        },
    ];
    for c in &cases {
        let verdict = run(c);
        let got = match verdict.denial {
            None => Ok(()),
            Some(d) => Err(d),
        };
        assert_eq!(got, c.want, "{}", c.name);
        let expected = match c.want {
            Ok(()) => Decision::Allow,
            Err(d) => d.decision(),
        };
        assert_eq!(verdict.decision, expected, "{}", c.name);
        assert_eq!(verdict.is_allowed(), c.want.is_ok(), "{}", c.name);
    }
    // decide() agrees with explain().
    let c = &cases[3];
    let context = Context::new();
    let request = Request { principal: &c.caller, action: c.action, resource: QUEUE, context: &context };
    let input = Decide {
        request: &request,
        identity: &c.identity,
        resource: None,
        resource_account: None,
        boundary: None,
        session: None,
    };
    assert_eq!(decide(&input), Decision::ExplicitDeny);
}

#[test]
fn denial_messages() {
    use Denial::{ExplicitDeny, NoAllow};
    use PolicyType::*;
    let a = "sqs:SendMessage";
    #[rustfmt::skip]
    let cases = [
        (NoAllow(Identity), "because no identity-based policy allows the sqs:SendMessage action"),
        (NoAllow(Resource), "because no resource-based policy allows the sqs:SendMessage action"),
        (NoAllow(Boundary), "because no permissions boundary allows the sqs:SendMessage action"),
        (NoAllow(Session), "because no session policy allows the sqs:SendMessage action"),
        (ExplicitDeny(Identity), "with an explicit deny in an identity-based policy"),
        (ExplicitDeny(Resource), "with an explicit deny in a resource-based policy"),
        (ExplicitDeny(Boundary), "with an explicit deny in a permissions boundary"),
        (ExplicitDeny(Session), "with an explicit deny in a session policy"),
    ];
    for (denial, want) in cases {
        assert_eq!(denial.message_suffix(a), want);
    }
    assert_eq!(
        access_denied_message(ALICE, a, QUEUE, NoAllow(Identity)),
        "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: sqs:SendMessage on resource: \
         arn:aws:sqs:us-east-1:111122223333:q because no identity-based policy allows the sqs:SendMessage action"
    );
    assert_eq!(ExplicitDeny(Session).decision(), Decision::ExplicitDeny);
    assert_eq!(NoAllow(Boundary).decision(), Decision::ImplicitDeny);
    assert_eq!(NoAllow(Boundary).policy_type(), Boundary);
}

#[test]
fn context_keys_are_case_insensitive() {
    let mut c = Context::new();
    c.insert("AWS:SourceIp", "1.2.3.4");
    assert_eq!(c.get("aws:sourceip").unwrap(), ["1.2.3.4"]);
    assert_eq!(c.get("aws:SOURCEIP").unwrap(), ["1.2.3.4"]);
    c.insert("aws:sourceip", "5.6.7.8");
    assert_eq!(c.get("aws:SourceIp").unwrap(), ["5.6.7.8"]);
    assert_eq!(c.len(), 1);
    c.insert_all("aws:TagKeys", ["a", "b"]);
    assert_eq!(c.get("aws:tagkeys").unwrap(), ["a", "b"]);
    assert_eq!(c.remove("AWS:TAGKEYS").unwrap(), vec!["a".to_string(), "b".to_string()]);
    assert!(c.get("aws:TagKeys").is_none());
    assert!(!c.is_empty());
}
