//! The policy grammar and AWS's validation on write, in the order IAM applies its checks (IAM
//! reports only the first failing stage, with a fixed `MalformedPolicyDocument` message):
//!
//! 1. grammar: JSON, known elements, value types, Effect, one of Action/NotAction etc.
//!    ("Syntax errors in policy.")
//! 2. managed policies only: "Policy document must be version 2012-10-17 or greater."
//! 3. principal presence for the policy kind
//! 4. the legacy parser: case-sensitive Effect, date condition values, resource ARN layout
//!    ("The policy failed legacy parsing")
//! 5. statement ids: IAM documents need alphanumeric ids, every policy unique ones
//! 6. actions present; resources present (identity-like) or absent (trust)
//! 7. resource ARN format errors, which carry the offending resource
//! 8. action vendor prefixes; trust policies: STS actions only
//! 9. principal values

use serde_json::{Map, Value};

use super::condition::{Condition, Operator, SetOperator, parse_date, parse_operator_name};
use super::pattern::Pattern;
use super::principal::{AwsPrincipal, PrincipalSpec};
use super::{Effect, PatternList, Policy, PolicyError, PolicyKind, PrincipalElement, Statement, Version};

const SYNTAX: &str = "Syntax errors in policy.";
const LEGACY: &str = "The policy failed legacy parsing";

const TOP_ELEMENTS: &[&str] = &["Version", "Id", "Statement", "Conditions"];
const STATEMENT_ELEMENTS: &[&str] =
    &["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"];
const PARTITIONS: &[&str] =
    &["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc", "*"];

/// One key of a condition block: set operator, operator, `IfExists`, key, values.
type RawCondition<'a> = (SetOperator, Operator, bool, &'a str, Vec<String>);

/// A statement after the grammar check, still as JSON text.
struct RawStatement<'a> {
    sid: Option<&'a str>,
    effect: &'a str,
    principal: Option<(&'a Value, bool)>,
    actions: Option<(Vec<&'a str>, bool)>,
    resources: Option<(Vec<&'a str>, bool)>,
    conditions: Vec<RawCondition<'a>>,
}

fn err(message: impl Into<String>) -> PolicyError {
    PolicyError::new(message)
}

/// ARNs of every partition read as `aws` ones ([`stratus_core::canonical_arn`]).
fn canonical_arns(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(c) = stratus_core::canonical_arn(s) {
                *s = c;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(canonical_arns),
        Value::Object(o) => o.values_mut().for_each(canonical_arns),
        _ => {}
    }
}

pub(crate) fn parse(document: &str, kind: PolicyKind, managed: bool) -> Result<Policy, PolicyError> {
    let mut value: Value = serde_json::from_str(document).map_err(|_| err(SYNTAX))?;
    canonical_arns(&mut value);
    let (version, id, raws) = grammar(&value).ok_or_else(|| err(SYNTAX))?;

    if managed && version != Version::V2012_10_17 {
        return Err(err("Policy document must be version 2012-10-17 or greater."));
    }
    for st in &raws {
        match (kind.is_identity_like(), st.principal.is_some()) {
            (true, true) => return Err(err("Policy document should not specify a principal.")),
            (false, false) => return Err(err("Missing required field Principal")),
            _ => {}
        }
    }

    // The legacy parser; resource format errors are kept for later, as IAM reports them after
    // the statement checks.
    let mut resource_error: Option<String> = None;
    for st in &raws {
        if st.effect != "Allow" && st.effect != "Deny" {
            return Err(err(LEGACY));
        }
        for (_, op, _, _, values) in &st.conditions {
            if op.is_date() && values.iter().any(|v| parse_date(v).is_none()) {
                return Err(err(LEGACY));
            }
        }
        if let Some((resources, _)) = &st.resources {
            for r in resources {
                match check_resource(r) {
                    ResourceCheck::Ok => {}
                    ResourceCheck::Format(message) => {
                        resource_error.get_or_insert(message);
                    }
                    ResourceCheck::Legacy if resource_error.is_none() => return Err(err(LEGACY)),
                    ResourceCheck::Legacy => {}
                }
            }
        }
    }

    let iam_document = kind != PolicyKind::Resource;
    let mut sids: Vec<&str> = Vec::new();
    for sid in raws.iter().filter_map(|s| s.sid).filter(|s| !s.is_empty()) {
        if iam_document && !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(err(
                "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
            ));
        }
        if sids.contains(&sid) {
            return Err(err("Statement IDs (SID) in a single policy must be unique."));
        }
        sids.push(sid);
    }

    if raws.iter().any(|s| s.actions.as_ref().is_none_or(|(a, _)| a.is_empty())) {
        return Err(err("Policy statement must contain actions."));
    }
    if kind.is_identity_like() && raws.iter().any(|s| s.resources.as_ref().is_none_or(|(r, _)| r.is_empty())) {
        return Err(err("Policy statement must contain resources."));
    }
    if kind == PolicyKind::Trust && raws.iter().any(|s| s.resources.is_some()) {
        return Err(err("Has prohibited field Resource"));
    }
    if let Some(message) = resource_error {
        return Err(err(message));
    }

    for st in &raws {
        for action in st.actions.iter().flat_map(|(a, _)| a) {
            check_action(action)?;
            if kind == PolicyKind::Trust && !is_sts_action(action) {
                return Err(err("AssumeRole policy may only specify STS AssumeRole actions."));
            }
        }
    }

    let variables = version == Version::V2012_10_17;
    let mut statements = Vec::with_capacity(raws.len());
    for st in raws {
        let principal = match st.principal {
            Some((value, negated)) => Some(PrincipalElement { spec: principal_spec(value)?, negated }),
            None => None,
        };
        let compile = |(items, negated): (Vec<&str>, bool), variables: bool| PatternList {
            negated,
            patterns: items.iter().map(|i| Pattern::compile(i, true, variables)).collect(),
        };
        let (actions, action_negated) = st.actions.unwrap_or_default();
        statements.push(Statement {
            sid: st.sid.map(str::to_string),
            effect: if st.effect == "Allow" { Effect::Allow } else { Effect::Deny },
            principal,
            actions: compile((actions, action_negated), false),
            resources: st.resources.map(|r| compile(r, variables)),
            conditions: st
                .conditions
                .iter()
                .map(|(set, op, if_exists, key, values)| Condition::new(*op, *set, *if_exists, key, values, variables))
                .collect(),
        });
    }
    Ok(Policy { kind, version, id: id.map(str::to_string), statements })
}

/// The grammar check; `None` = "Syntax errors in policy."
fn grammar(value: &Value) -> Option<(Version, Option<&str>, Vec<RawStatement<'_>>)> {
    let doc = value.as_object()?;
    if doc.keys().any(|k| !TOP_ELEMENTS.contains(&k.as_str())) {
        return None;
    }
    let version = match doc.get("Version") {
        None => Version::Missing,
        Some(Value::String(v)) if v == "2012-10-17" => Version::V2012_10_17,
        Some(Value::String(v)) if v == "2008-10-17" => Version::V2008_10_17,
        Some(_) => return None,
    };
    let id = match doc.get("Id") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return None,
    };
    let statements: Vec<&Value> = match doc.get("Statement")? {
        Value::Array(items) if !items.is_empty() => items.iter().collect(),
        v @ Value::Object(_) => vec![v],
        _ => return None,
    };
    let raws = statements.into_iter().map(statement).collect::<Option<Vec<_>>>()?;
    Some((version, id, raws))
}

fn statement(value: &Value) -> Option<RawStatement<'_>> {
    let st = value.as_object()?;
    if st.keys().any(|k| !STATEMENT_ELEMENTS.contains(&k.as_str())) {
        return None;
    }
    let effect = st.get("Effect")?.as_str()?;
    if !effect.eq_ignore_ascii_case("allow") && !effect.eq_ignore_ascii_case("deny") {
        return None;
    }
    let sid = match st.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return None,
    };
    let principal = either(st, "Principal", "NotPrincipal", Some)?;
    let actions = either(st, "Action", "NotAction", string_list)?;
    let resources = either(st, "Resource", "NotResource", string_list)?;
    let conditions = match st.get("Condition") {
        None => Vec::new(),
        Some(c) => conditions(c)?,
    };
    Some(RawStatement { sid, effect, principal, actions, resources, conditions })
}

/// An element that may appear as itself or negated (`Action`/`NotAction`), not both.
/// `None` = syntax error; `Some(None)` = neither present.
fn either<'a, T>(
    st: &'a Map<String, Value>,
    name: &str,
    not_name: &str,
    parse: impl Fn(&'a Value) -> Option<T>,
) -> Option<Option<(T, bool)>> {
    match (st.get(name), st.get(not_name)) {
        (Some(_), Some(_)) => None,
        (Some(v), None) => Some(Some((parse(v)?, false))),
        (None, Some(v)) => Some(Some((parse(v)?, true))),
        (None, None) => Some(None),
    }
}

/// A string or an array of strings.
fn string_list(value: &Value) -> Option<Vec<&str>> {
    match value {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(items) => items.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

/// A condition value: strings, numbers and booleans (AWS accepts `"aws:SecureTransport": false`),
/// alone or in an array.
fn condition_values(value: &Value) -> Option<Vec<String>> {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        v => Some(vec![scalar(v)?]),
    }
}

fn conditions(value: &Value) -> Option<Vec<RawCondition<'_>>> {
    let mut out = Vec::new();
    for (name, block) in value.as_object()? {
        let block = block.as_object()?;
        let mut entries = Vec::with_capacity(block.len());
        for (key, v) in block {
            entries.push((key.as_str(), condition_values(v)?));
        }
        let Some((set, op, if_exists)) = parse_operator_name(name) else {
            // IAM accepts an unknown operator only with an empty block.
            if entries.is_empty() {
                continue;
            }
            return None;
        };
        for (key, values) in entries {
            out.push((set, op, if_exists, key, values));
        }
    }
    Some(out)
}

enum ResourceCheck {
    Ok,
    /// A format error with its message, reported after the statement checks.
    Format(String),
    /// "The policy failed legacy parsing".
    Legacy,
}

/// A `Resource` value's ARN layout, as IAM checks it on write.
fn check_resource(resource: &str) -> ResourceCheck {
    if resource == "*" {
        return ResourceCheck::Ok;
    }
    let parts: Vec<&str> = resource.split(':').collect();
    if parts.len() < 2 {
        return ResourceCheck::Format(format!("Resource {resource} must be in ARN format or \"*\"."));
    }
    let partition = parts[1];
    if !PARTITIONS.contains(&partition) {
        let service = parts.get(2).copied().filter(|p| !p.is_empty() || parts.len() > 3).unwrap_or("*");
        let region = parts.get(3).copied().unwrap_or("*");
        let account = parts.get(4).copied().unwrap_or("*");
        let tail = if parts.len() > 5 { parts[5..].join(":") } else { "*".to_string() };
        return ResourceCheck::Format(format!(
            "Partition \"{partition}\" is not valid for resource \"arn:{partition}:{service}:{region}:{account}:{tail}\"."
        ));
    }
    if parts.len() < 3 {
        return ResourceCheck::Format("Resource vendor must be fully qualified and cannot contain regexes.".into());
    }
    let service = parts[2];
    let region = parts.get(3).copied();
    match service {
        "iam" if region.is_none_or(|r| !r.is_empty()) => {
            return ResourceCheck::Format(format!("IAM resource {resource} cannot contain region information."));
        }
        "s3" if region.is_none_or(|r| !r.is_empty())
            && !parts.get(5).is_some_and(|id| id.starts_with("accesspoint/")) =>
        {
            return ResourceCheck::Format(format!("Resource {resource} can not contain region information."));
        }
        _ => {}
    }
    if (parts.len() < 6 && resource.contains("::")) || service.is_empty() {
        return ResourceCheck::Legacy;
    }
    ResourceCheck::Ok
}

fn check_action(action: &str) -> Result<(), PolicyError> {
    if action == "*" {
        return Ok(());
    }
    let mut parts = action.split(':');
    let vendor = parts.next().unwrap_or_default();
    match (parts.next(), parts.next()) {
        (None, _) => Err(err("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")),
        (Some(_), Some(_)) => Err(err("Actions/Condition can contain only one colon.")),
        (Some(_), None) => {
            let valid = vendor == "*" || vendor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            if valid { Ok(()) } else { Err(err(format!("Vendor {vendor} is not valid"))) }
        }
    }
}

fn is_sts_action(action: &str) -> bool {
    action.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("sts:"))
}

fn invalid_principal(key: &str, value: &str) -> PolicyError {
    err(format!("Invalid principal in policy: \"{key}\":\"{value}\""))
}

fn principal_spec(value: &Value) -> Result<PrincipalSpec, PolicyError> {
    let mut spec = PrincipalSpec::default();
    let map = match value {
        Value::String(s) if s == "*" => {
            spec.everyone = true;
            return Ok(spec);
        }
        Value::Object(map) if !map.is_empty() => map,
        other => return Err(err(format!("Invalid principal in policy: {other}"))),
    };
    for (key, v) in map {
        let values = string_list(v).ok_or_else(|| err(format!("Invalid principal in policy: \"{key}\":{v}")))?;
        for value in values {
            match key.as_str() {
                "AWS" => spec.aws.push(AwsPrincipal::parse(value).ok_or_else(|| invalid_principal(key, value))?),
                "Service" if !value.is_empty() => spec.services.push(value.into()),
                "Federated" if !value.is_empty() => spec.federated.push(value.into()),
                "CanonicalUser" if !value.is_empty() => spec.canonical.push(value.into()),
                _ => return Err(invalid_principal(key, value)),
            }
        }
    }
    Ok(spec)
}
