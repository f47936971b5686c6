//! Typed inputs and outputs of the SNS operations, over the model's member names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub type Attributes = BTreeMap<String, String>;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageAttributeValue {
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// Base64, as on the wire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<String>,
}

pub type MessageAttributes = BTreeMap<String, MessageAttributeValue>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTopicInput {
    pub name: String,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub data_protection_policy: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTopicOutput {
    pub topic_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicArnInput {
    pub topic_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    pub next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicEntry {
    pub topic_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTopicsOutput {
    pub topics: Vec<TopicEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributesOutput {
    pub attributes: Attributes,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetTopicAttributesInput {
    pub topic_arn: String,
    pub attribute_name: String,
    pub attribute_value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscribeInput {
    pub topic_arn: String,
    pub protocol: String,
    pub endpoint: Option<String>,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default)]
    pub return_subscription_arn: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionArnOutput {
    pub subscription_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfirmSubscriptionInput {
    pub topic_arn: String,
    pub token: String,
    pub authenticate_on_unsubscribe: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionArnInput {
    pub subscription_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSubscriptionsByTopicInput {
    pub topic_arn: String,
    pub next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionEntry {
    pub subscription_arn: String,
    pub owner: String,
    pub protocol: String,
    pub endpoint: String,
    pub topic_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSubscriptionsOutput {
    pub subscriptions: Vec<SubscriptionEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetSubscriptionAttributesInput {
    pub subscription_arn: String,
    pub attribute_name: String,
    pub attribute_value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishInput {
    pub topic_arn: Option<String>,
    pub target_arn: Option<String>,
    pub phone_number: Option<String>,
    pub message: String,
    pub subject: Option<String>,
    pub message_structure: Option<String>,
    #[serde(default)]
    pub message_attributes: MessageAttributes,
    pub message_deduplication_id: Option<String>,
    pub message_group_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishOutput {
    pub message_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishBatchRequestEntry {
    pub id: String,
    pub message: String,
    pub subject: Option<String>,
    pub message_structure: Option<String>,
    #[serde(default)]
    pub message_attributes: MessageAttributes,
    pub message_deduplication_id: Option<String>,
    pub message_group_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishBatchInput {
    pub topic_arn: String,
    #[serde(default)]
    pub publish_batch_request_entries: Vec<PublishBatchRequestEntry>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishBatchResultEntry {
    pub id: String,
    pub message_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResultErrorEntry {
    pub id: String,
    pub code: String,
    pub message: String,
    pub sender_fault: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishBatchOutput {
    pub successful: Vec<PublishBatchResultEntry>,
    pub failed: Vec<BatchResultErrorEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceInput {
    pub resource_arn: String,
    pub tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceInput {
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceArnInput {
    pub resource_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsOutput {
    pub tags: Vec<Tag>,
}

/// Outputs with no members (`TagResourceResponse`): an empty result element.
#[derive(Serialize)]
pub struct Empty {}
