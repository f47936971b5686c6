//! Typed inputs and outputs of the CloudWatch Logs operations, over the model's member names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub type Tags = BTreeMap<String, String>;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateLogGroupInput {
    pub log_group_name: String,
    #[serde(default)]
    pub tags: Option<Tags>,
    pub kms_key_id: Option<String>,
    pub log_group_class: Option<String>,
    pub deletion_protection_enabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupNameInput {
    pub log_group_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogGroupsInput {
    pub log_group_name_prefix: Option<String>,
    pub log_group_name_pattern: Option<String>,
    pub log_group_class: Option<String>,
    pub log_group_identifiers: Option<Vec<String>>,
    pub limit: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupOutput {
    pub log_group_name: String,
    pub creation_time: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_in_days: Option<i64>,
    pub metric_filter_count: u64,
    pub arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    pub log_group_class: String,
    pub log_group_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_protection_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bearer_token_authentication_enabled: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogGroupsOutput {
    pub log_groups: Vec<LogGroupOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamInput {
    pub log_group_name: String,
    pub log_stream_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogStreamsInput {
    pub log_group_name: Option<String>,
    pub log_group_identifier: Option<String>,
    pub log_stream_name_prefix: Option<String>,
    pub order_by: Option<String>,
    pub descending: Option<bool>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogStreamOutput {
    pub log_stream_name: String,
    pub creation_time: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_event_timestamp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_event_timestamp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_ingestion_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_sequence_token: Option<String>,
    pub arn: String,
    pub stored_bytes: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogStreamsOutput {
    pub log_streams: Vec<LogStreamOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct InputLogEvent {
    pub timestamp: i64,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutLogEventsInput {
    pub log_group_name: String,
    pub log_stream_name: String,
    pub log_events: Vec<InputLogEvent>,
    /// Ignored, as AWS ignores it now.
    #[allow(dead_code)]
    pub sequence_token: Option<String>,
}

#[derive(Serialize, Default, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RejectedLogEventsInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub too_new_log_event_start_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub too_old_log_event_end_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_log_event_end_index: Option<usize>,
}

impl RejectedLogEventsInfo {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PutLogEventsOutput {
    pub next_sequence_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_log_events_info: Option<RejectedLogEventsInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogEventsInput {
    pub log_group_name: Option<String>,
    pub log_group_identifier: Option<String>,
    pub log_stream_name: String,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
    pub start_from_head: Option<bool>,
}

#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OutputLogEvent {
    pub timestamp: u64,
    pub message: String,
    pub ingestion_time: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogEventsOutput {
    pub events: Vec<OutputLogEvent>,
    pub next_forward_token: String,
    pub next_backward_token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterLogEventsInput {
    pub log_group_name: Option<String>,
    pub log_group_identifier: Option<String>,
    pub log_stream_names: Option<Vec<String>>,
    pub log_stream_name_prefix: Option<String>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub filter_pattern: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FilteredLogEvent {
    pub log_stream_name: String,
    pub timestamp: u64,
    pub message: String,
    pub ingestion_time: u64,
    pub event_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchedLogStream {
    pub log_stream_name: String,
    pub searched_completely: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterLogEventsOutput {
    pub events: Vec<FilteredLogEvent>,
    pub searched_log_streams: Vec<SearchedLogStream>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutRetentionPolicyInput {
    pub log_group_name: String,
    pub retention_in_days: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagLogGroupInput {
    pub log_group_name: String,
    pub tags: Tags,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagLogGroupInput {
    pub log_group_name: String,
    pub tags: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagsOutput {
    pub tags: Tags,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResourceInput {
    pub resource_arn: String,
    pub tags: Tags,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResourceInput {
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceArnInput {
    pub resource_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutLogGroupDeletionProtectionInput {
    pub log_group_identifier: String,
    pub deletion_protection_enabled: bool,
}
