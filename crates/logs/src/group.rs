//! The log group and log stream records, name rules, ARNs, and how a request names a group.

use serde::{Deserialize, Serialize};
use stratus_core::{Arn, RequestContext};
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, Txn};

use crate::errors::{constraint, group_not_found, invalid_parameter};
use crate::keys;
use crate::types::Tags;

/// The retention periods PutRetentionPolicy accepts, in days.
pub const RETENTION_DAYS: &[i64] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

pub const DAY_MS: u64 = 24 * 3600 * 1000;

pub const GROUP_NAME_PATTERN: &str = "[\\.\\-_/#A-Za-z0-9]+";
pub const STREAM_NAME_PATTERN: &str = "[^:*]*";
pub const IDENTIFIER_PATTERN: &str = "[\\w#+=/:,.@-]*";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupRecord {
    pub id: u64,
    pub name: String,
    pub account: String,
    pub region: String,
    /// Milliseconds since the epoch.
    pub created: u64,
    #[serde(default)]
    pub retention_days: Option<i64>,
    #[serde(default)]
    pub tags: Tags,
    pub class: String,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub deletion_protection: bool,
    /// PutBearerTokenAuthentication's setting.
    #[serde(default)]
    pub bearer_token: bool,
    /// Message bytes of the events kept (AWS reports the group's stored bytes).
    #[serde(default)]
    pub stored_bytes: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<crate::subscriptions::Subscription>,
    /// Metric filters, as answered (`filters.rs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metric_filters: Vec<serde_json::Value>,
}

impl GroupRecord {
    /// The ARN DescribeLogGroups reports as `arn` (with the trailing `:*`).
    pub fn arn(&self) -> String {
        format!("{}:*", self.group_arn())
    }

    /// The ARN without `:*` (`logGroupArn`, and what the tagging operations take).
    pub fn group_arn(&self) -> String {
        format!(
            "arn:{partition}:logs:{}:{}:log-group:{}",
            self.region,
            self.account,
            self.name,
            partition = stratus_core::partition(&self.region)
        )
    }

    pub fn stream_arn(&self, stream: &str) -> String {
        format!("{}:log-stream:{stream}", self.group_arn())
    }

    /// Events with a timestamp before this are past the retention period.
    pub fn retention_cutoff(&self, now: u64) -> u64 {
        match self.retention_days {
            Some(d) if d > 0 => now.saturating_sub(d as u64 * DAY_MS),
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamRecord {
    pub id: u64,
    pub name: String,
    pub created: u64,
    #[serde(default)]
    pub first_event: Option<u64>,
    #[serde(default)]
    pub last_event: Option<u64>,
    #[serde(default)]
    pub last_ingestion: Option<u64>,
    /// How many PutLogEvents calls stored events (the upload sequence token is derived from it).
    #[serde(default)]
    pub uploads: u64,
    #[serde(default)]
    pub stored_bytes: u64,
}

impl StreamRecord {
    pub fn upload_sequence_token(&self) -> Option<String> {
        (self.uploads > 0).then(|| sequence_token(self.id, self.uploads))
    }
}

/// A sequence token shaped like AWS's (56 decimal digits). AWS ignores sequence tokens on input
/// now; they are still returned.
pub fn sequence_token(stream_id: u64, uploads: u64) -> String {
    format!("49{:020}{:034}", stream_id, uploads)
}

fn matches_pattern(name: &str, pattern: &str) -> bool {
    match pattern {
        GROUP_NAME_PATTERN => {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || ".-_/#".contains(c))
        }
        STREAM_NAME_PATTERN => !name.contains([':', '*']),
        IDENTIFIER_PATTERN => name.chars().all(|c| c.is_alphanumeric() || "_#+=/:,.@-".contains(c)),
        _ => true,
    }
}

/// Checks a member against its model pattern (the protocol layer checks lengths).
pub fn check_pattern(member: &str, value: &str, pattern: &str) -> Result<(), AwsError> {
    if matches_pattern(value, pattern) {
        Ok(())
    } else {
        Err(constraint(member, value, &format!("Member must satisfy regular expression pattern: {pattern}")))
    }
}

pub fn validate_group_name(member: &str, name: &str) -> Result<(), AwsError> {
    check_pattern(member, name, GROUP_NAME_PATTERN)
}

pub fn validate_stream_name(member: &str, name: &str) -> Result<(), AwsError> {
    check_pattern(member, name, STREAM_NAME_PATTERN)
}

pub fn load_group(
    r: &mut dyn ReadTxn,
    account: &str,
    region: &str,
    name: &str,
) -> Result<Option<GroupRecord>, AwsError> {
    match r.get(&keys::group(account, region, name))? {
        Some(bytes) => Ok(Some(
            serde_json::from_slice(&bytes).map_err(|e| AwsError::internal(format!("corrupt log group record: {e}")))?,
        )),
        None => Ok(None),
    }
}

/// Every log group of an account and region.
pub fn all_groups_of(r: &mut dyn ReadTxn, account: &str, region: &str) -> Result<Vec<GroupRecord>, AwsError> {
    let rows = stratus_storage::scan_prefix(r, &crate::keys::groups(account, region), usize::MAX)?;
    rows.iter()
        .map(|(_, v)| serde_json::from_slice(v).map_err(|e| AwsError::internal(format!("corrupt log group: {e}"))))
        .collect()
}

pub fn save_group(t: &mut dyn Txn, g: &GroupRecord) -> Result<(), AwsError> {
    let bytes = serde_json::to_vec(g).map_err(|e| AwsError::internal(e.to_string()))?;
    t.put(&keys::group(&g.account, &g.region, &g.name), &bytes)?;
    Ok(())
}

pub fn decode_stream(bytes: &[u8]) -> Result<StreamRecord, AwsError> {
    serde_json::from_slice(bytes).map_err(|e| AwsError::internal(format!("corrupt log stream record: {e}")))
}

pub fn load_stream(r: &mut dyn ReadTxn, group_id: u64, name: &str) -> Result<Option<StreamRecord>, AwsError> {
    r.get(&keys::stream(group_id, name))?.map(|b| decode_stream(&b)).transpose()
}

pub fn save_stream(t: &mut dyn Txn, group_id: u64, s: &StreamRecord) -> Result<(), AwsError> {
    let bytes = serde_json::to_vec(s).map_err(|e| AwsError::internal(e.to_string()))?;
    t.put(&keys::stream(group_id, &s.name), &bytes)?;
    Ok(())
}

/// A log group as a request names it: the group's account, region and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub account: String,
    pub region: String,
    pub name: String,
}

impl GroupRef {
    pub fn named(ctx: &RequestContext, name: &str) -> Self {
        Self { account: ctx.account.clone(), region: ctx.region.clone(), name: name.to_string() }
    }

    pub fn load(&self, r: &mut dyn ReadTxn) -> Result<GroupRecord, AwsError> {
        load_group(r, &self.account, &self.region, &self.name)?.ok_or_else(group_not_found)
    }

    /// The group of `logGroupName` or `logGroupIdentifier` (a name or an ARN, with or without
    /// the trailing `:*`); exactly one must be given.
    pub fn resolve(ctx: &RequestContext, name: Option<&str>, identifier: Option<&str>) -> Result<Self, AwsError> {
        match (name, identifier) {
            (Some(_), Some(_)) => Err(AwsError::new(
                "ValidationException",
                "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
            )),
            (None, None) => Err(invalid_parameter("Should provide either name or ARN of the log group.")),
            (Some(n), None) => {
                validate_group_name("logGroupName", n)?;
                Ok(Self::named(ctx, n))
            }
            (None, Some(id)) => {
                check_pattern("logGroupIdentifier", id, IDENTIFIER_PATTERN)?;
                if id.starts_with("arn:") {
                    Self::from_arn(id).ok_or_else(group_not_found)
                } else {
                    validate_group_name("logGroupIdentifier", id)?;
                    Ok(Self::named(ctx, id))
                }
            }
        }
    }

    /// `arn:aws:logs:{region}:{account}:log-group:{name}[:*]`.
    pub fn from_arn(arn: &str) -> Option<Self> {
        let a = Arn::parse(arn)?;
        if a.service != "logs" {
            return None;
        }
        let name = a.resource.strip_prefix("log-group:")?;
        let name = name.strip_suffix(":*").unwrap_or(name);
        if name.is_empty() || name.contains(':') {
            return None;
        }
        Some(Self { account: a.account.to_string(), region: a.region.to_string(), name: name.to_string() })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_model_patterns() {
        assert!(validate_group_name("logGroupName", "/aws/lambda/my-fn_1.#x").is_ok());
        assert!(validate_group_name("logGroupName", "a b").is_err());
        assert!(validate_group_name("logGroupName", "a:b").is_err());
        assert!(validate_stream_name("logStreamName", "2024/01/01/[$LATEST]abc def").is_ok());
        assert!(validate_stream_name("logStreamName", "a:b").is_err());
        assert!(validate_stream_name("logStreamName", "a*").is_err());
        let e = validate_group_name("logGroupName", "x y").unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
        assert!(e.message.contains("Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"));
    }

    #[test]
    fn group_arns_parse_with_and_without_star() {
        let g = GroupRef::from_arn("arn:aws:logs:eu-west-1:123456789012:log-group:/a/b:*").unwrap();
        assert_eq!((g.account.as_str(), g.region.as_str(), g.name.as_str()), ("123456789012", "eu-west-1", "/a/b"));
        assert_eq!(GroupRef::from_arn("arn:aws:logs:eu-west-1:123456789012:log-group:g").unwrap().name, "g");
        assert!(GroupRef::from_arn("arn:aws:sqs:eu-west-1:123456789012:q").is_none());
        assert!(GroupRef::from_arn("arn:aws:logs:eu-west-1:1:log-group:g:log-stream:s").is_none());
    }
}
