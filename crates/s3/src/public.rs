//! Block Public Access: a bucket's four settings (all on for new buckets, as on AWS since
//! April 2023) and AWS's test of whether a bucket policy is public.
//!
//! A policy is public when one of its `Allow` statements grants to everyone (`"*"` or
//! `{"AWS": "*"}`) without a condition that pins the caller to fixed values: a source ARN,
//! account, owner, VPC or endpoint, an organization, a user id, or a source IP range that is
//! not the whole internet ("The meaning of public", S3 User Guide).

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// What a new bucket gets.
    pub const ALL: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };
}

/// Condition keys whose fixed values make a grant to everyone non-public.
const PINNING_KEYS: &[&str] = &[
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:userid",
    "aws:sourceip",
];

fn one_or_many(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    }
}

fn grants_everyone(principal: &Value) -> bool {
    match principal {
        Value::String(s) => s == "*",
        Value::Object(m) => m.get("AWS").is_some_and(|a| one_or_many(a).iter().any(|p| p.as_str() == Some("*"))),
        _ => false,
    }
}

/// Whether a condition value pins the key: no wildcard, and for addresses not the whole
/// internet.
fn pins(key: &str, value: &Value) -> bool {
    one_or_many(value).iter().all(|v| {
        let Some(s) = v.as_str() else { return false };
        let wildcard = s.contains('*') || s.contains('?');
        let everywhere = key == "aws:sourceip" && (s.ends_with("/0") || s.is_empty());
        !wildcard && !everywhere
    })
}

fn pinned(condition: &Value) -> bool {
    let Some(ops) = condition.as_object() else { return false };
    ops.iter().any(|(op, keys)| {
        // Negated and existence operators pin nothing.
        let positive = !op.contains("Not") && !op.starts_with("Null") && !op.ends_with("IfExists");
        positive
            && keys.as_object().is_some_and(|k| {
                k.iter().any(|(key, v)| {
                    let key = key.to_ascii_lowercase();
                    PINNING_KEYS.contains(&key.as_str()) && pins(&key, v)
                })
            })
    })
}

/// Whether the policy document is public.
pub fn is_public(policy: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else { return false };
    one_or_many(&doc["Statement"])
        .iter()
        .any(|s| s["Effect"] == "Allow" && grants_everyone(&s["Principal"]) && !s.get("Condition").is_some_and(pinned))
}

#[cfg(test)]
mod tests {
    use super::is_public;

    fn statement(principal: &str, condition: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"{condition}}}]}}"#
        )
    }

    #[test]
    fn grants_to_everyone_without_pinning_conditions_are_public() {
        assert!(is_public(&statement(r#""*""#, "")));
        assert!(is_public(&statement(r#"{"AWS":["arn:aws:iam::123456789012:root","*"]}"#, "")));
        assert!(!is_public(&statement(r#"{"AWS":"arn:aws:iam::123456789012:root"}"#, "")));
        assert!(!is_public(&statement(r#"{"Service":"logging.s3.amazonaws.com"}"#, "")));
        let pinned = r#","Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}"#;
        assert!(!is_public(&statement(r#""*""#, pinned)));
        let office = r#","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#;
        assert!(!is_public(&statement(r#""*""#, office)));
        let internet = r#","Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}"#;
        assert!(is_public(&statement(r#""*""#, internet)));
        let wildcard = r#","Condition":{"StringLike":{"aws:SourceArn":"arn:aws:sns:*"}}"#;
        assert!(is_public(&statement(r#""*""#, wildcard)));
        let negated = r#","Condition":{"StringNotEquals":{"aws:SourceAccount":"123456789012"}}"#;
        assert!(is_public(&statement(r#""*""#, negated)));
        let deny = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#;
        assert!(!is_public(deny));
    }
}
