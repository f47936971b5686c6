//! What IAM keeps (records), and the checks and wire forms shared by its operations.

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stratus_proto::AwsError;

use crate::errors::{invalid_input, malformed, validation};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value")]
    pub value: String,
}

/// Inline and attached policies: what users, groups and roles have in common.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Policies {
    /// Inline policies by name → document as given.
    #[serde(default)]
    pub inline: BTreeMap<String, String>,
    /// Managed policy ARNs, in attachment order.
    #[serde(default)]
    pub attached: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub name: String,
    pub id: String,
    pub path: String,
    /// Seconds since the epoch.
    pub created: u64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub boundary: Option<String>,
    #[serde(default)]
    pub policies: Policies,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupRecord {
    pub name: String,
    pub id: String,
    pub path: String,
    pub created: u64,
    /// Member user names, as given.
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub policies: Policies,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoleRecord {
    pub name: String,
    pub id: String,
    pub path: String,
    pub created: u64,
    /// The trust policy, as given.
    pub trust: String,
    #[serde(default)]
    pub description: Option<String>,
    pub max_session: u32,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub boundary: Option<String>,
    #[serde(default)]
    pub policies: Policies,
    /// When and in which region the role was last assumed.
    #[serde(default)]
    pub last_used: Option<(u64, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VersionRecord {
    pub id: String,
    pub document: String,
    pub created: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyRecord {
    pub name: String,
    pub id: String,
    pub path: String,
    pub created: u64,
    pub updated: u64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub versions: Vec<VersionRecord>,
    pub default_version: String,
    /// The number of the next version (`v{n}`).
    pub next_version: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessKeyRecord {
    pub id: String,
    pub secret: String,
    pub account: String,
    pub user: String,
    /// `Active` or `Inactive`.
    pub status: String,
    pub created: u64,
    /// (when, service, region) of the last use.
    #[serde(default)]
    pub last_used: Option<(u64, String, String)>,
}

/// Who temporary credentials act as.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SessionOf {
    /// AssumeRole.
    Role { role_name: String, role_id: String, role_arn: String, session_name: String },
    /// GetSessionToken by an IAM user.
    User { name: String, id: String, arn: String },
    /// GetSessionToken by the account's root user.
    Root,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub id: String,
    pub secret: String,
    pub token: String,
    pub account: String,
    /// Seconds since the epoch.
    pub expires: u64,
    pub of: SessionOf,
    /// Session policy document (AssumeRole `Policy`).
    #[serde(default)]
    pub policy: Option<String>,
    /// Managed session policies (AssumeRole `PolicyArns`).
    #[serde(default)]
    pub policy_arns: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub source_identity: Option<String>,
}

pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, AwsError> {
    serde_json::from_slice(bytes).map_err(|e| AwsError::internal(format!("corrupt IAM record: {e}")))
}

pub fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, AwsError> {
    serde_json::to_vec(v).map_err(|e| AwsError::internal(e.to_string()))
}

pub fn arn(account: &str, kind: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{kind}{path}{name}")
}

/// Policy documents travel URL-encoded in IAM's responses (the SDKs decode them).
const DOCUMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

pub fn encode_document(doc: &str) -> String {
    utf8_percent_encode(doc, DOCUMENT).to_string()
}

/// User, group and role names: 1–64 (roles and users) of `[\w+=,.@-]`.
pub fn check_name(member: &str, name: &str, max: usize) -> Result<(), AwsError> {
    let ok = !name.is_empty()
        && name.chars().count() <= max
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        return Ok(());
    }
    if name.chars().count() > max {
        return Err(validation(format!(
            "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        )));
    }
    Err(validation(format!(
        "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    )))
}

/// Paths: `/` or `/…/` of printable ASCII, at most 512 characters.
pub fn check_path(path: &str) -> Result<(), AwsError> {
    let ok = path.len() <= 512
        && path.starts_with('/')
        && path.ends_with('/')
        && path.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{path}' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
        )))
    }
}

/// Documents of identity policies (inline, managed, session, boundary) and trust policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// Inline and session policies.
    Identity,
    /// Customer managed policy versions (which must be version 2012-10-17).
    Managed,
    Trust,
}

/// Checks a policy document as IAM does on write: size, then the policy language.
pub fn check_document(doc: &str, kind: DocumentKind, max: usize) -> Result<(), AwsError> {
    let size = doc.chars().filter(|c| !c.is_whitespace()).count();
    if size > max {
        return Err(limit_size(kind, max));
    }
    use stratus_iam::policy::{Policy, PolicyKind};
    let parsed = match kind {
        DocumentKind::Identity => Policy::parse(doc, PolicyKind::Identity),
        DocumentKind::Managed => Policy::parse_managed(doc),
        DocumentKind::Trust => Policy::parse(doc, PolicyKind::Trust),
    };
    parsed.map(|_| ()).map_err(|e| {
        // IAM words a JSON syntax error in a trust policy differently.
        if kind == DocumentKind::Trust && e.message == "Syntax errors in policy." {
            malformed("This policy contains invalid Json")
        } else {
            malformed(e.message)
        }
    })
}

fn limit_size(kind: DocumentKind, max: usize) -> AwsError {
    match kind {
        DocumentKind::Trust => crate::errors::limit_exceeded(format!("Cannot exceed quota for ACLSizePerRole: {max}")),
        DocumentKind::Identity | DocumentKind::Managed => {
            crate::errors::limit_exceeded(format!("Cannot exceed quota for PolicySize: {max}"))
        }
    }
}

/// Tags: at most 50, keys 1–128 and values 0–256 characters, keys unique.
pub fn check_tags(tags: &[Tag]) -> Result<(), AwsError> {
    if tags.len() > 50 {
        return Err(crate::errors::limit_exceeded("The number of tags has reached the maximum limit."));
    }
    let mut seen = std::collections::HashSet::new();
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 || t.value.chars().count() > 256 {
            return Err(validation(format!(
                "1 validation error detected: Value '{}' at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128",
                t.key
            )));
        }
        if !seen.insert(t.key.to_lowercase()) {
            return Err(invalid_input("Duplicate tag keys found. Please note that Tag keys are case insensitive."));
        }
    }
    Ok(())
}

/// Adds or replaces tags by key (case-insensitively, keeping the new spelling).
pub fn merge_tags(existing: &mut Vec<Tag>, new: Vec<Tag>) -> Result<(), AwsError> {
    for t in new {
        match existing.iter_mut().find(|e| e.key.eq_ignore_ascii_case(&t.key)) {
            Some(e) => *e = t,
            None => existing.push(t),
        }
    }
    check_tags(existing)
}

pub fn remove_tags(existing: &mut Vec<Tag>, keys: &[String]) {
    existing.retain(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)));
}

pub fn tags_json(tags: &[Tag]) -> Value {
    json!(tags)
}

pub fn boundary_json(arn: &Option<String>) -> Option<Value> {
    arn.as_ref().map(|a| json!({ "PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": a }))
}

/// One page of a listing: `Marker` is the index of the next item (opaque to clients),
/// `MaxItems` 1–1000 (default 100).
pub fn page<T>(
    items: Vec<T>,
    marker: Option<&str>,
    max_items: Option<i64>,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let start = match marker {
        Some(m) => m.parse::<usize>().map_err(|_| validation("Invalid Marker."))?,
        None => 0,
    };
    let max = max_items.unwrap_or(100);
    if !(1..=1000).contains(&max) {
        return Err(validation(format!(
            "1 validation error detected: Value '{max}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000"
        )));
    }
    let total = items.len();
    let end = start.saturating_add(max as usize).min(total);
    let next = (end < total).then(|| end.to_string());
    Ok((items.into_iter().skip(start).take(end.saturating_sub(start)).collect(), next))
}

/// Adds `IsTruncated` and `Marker` to a listing's output.
pub fn listing(mut out: Value, next: Option<String>) -> Value {
    if let Some(o) = out.as_object_mut() {
        o.insert("IsTruncated".into(), Value::Bool(next.is_some()));
        if let Some(m) = next {
            o.insert("Marker".into(), Value::String(m));
        }
    }
    out
}

pub fn str_of<'a>(input: &'a Value, member: &str) -> Option<&'a str> {
    input.get(member).and_then(Value::as_str)
}

/// A required string member (the protocol layer has checked presence; this keeps the code
/// free of unwraps).
pub fn req<'a>(input: &'a Value, member: &str) -> Result<&'a str, AwsError> {
    str_of(input, member).ok_or_else(|| validation(format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null")))
}

pub fn tags_of(input: &Value) -> Result<Vec<Tag>, AwsError> {
    match input.get("Tags") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| validation(format!("Invalid Tags: {e}"))),
    }
}

pub fn strings_of(input: &Value, member: &str) -> Vec<String> {
    input
        .get(member)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}
