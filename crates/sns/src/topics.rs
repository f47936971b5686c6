//! Topic operations: CreateTopic, DeleteTopic, ListTopics, Get/SetTopicAttributes and tags.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN;
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::Txn;

use crate::Inner;
use crate::errors;
use crate::keys;
use crate::topic::{self, Topic, check_topic_attribute, decode, encode, load_topic, parse_topic_arn, topic_arn};
use crate::types::*;

/// Topics per ListTopics page (AWS's page size).
const PAGE: usize = 100;
const MAX_TAGS: usize = 50;

pub fn encode_token(last: &str) -> String {
    TOKEN.encode(last.as_bytes())
}

pub fn decode_token(t: &str) -> Result<String, AwsError> {
    TOKEN
        .decode(t.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| errors::invalid_parameter("NextToken"))
}

fn check_tags(tags: &[Tag]) -> Result<(), AwsError> {
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 {
            return Err(errors::invalid_parameter_reason("Tags", "Tag keys must be between 1 and 128 characters"));
        }
        if t.value.chars().count() > 256 {
            return Err(errors::invalid_parameter_reason("Tags", "Tag values must be at most 256 characters"));
        }
    }
    Ok(())
}

pub(crate) async fn create(
    i: &Inner,
    ctx: &RequestContext,
    input: CreateTopicInput,
) -> Result<CreateTopicOutput, AwsError> {
    let fifo = match input.attributes.get("FifoTopic").map(String::as_str) {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(_) => {
            return Err(errors::invalid_parameter_reason(
                "Attributes",
                "FifoTopic: Invalid value. Valid values are: true, false",
            ));
        }
    };
    if fifo && !input.name.ends_with(".fifo") {
        return Err(errors::invalid_parameter("Topic Name"));
    }
    if fifo && !topic::valid_name(&input.name, true) {
        return Err(errors::invalid_parameter(
            "Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.",
        ));
    }
    if !fifo && !topic::valid_name(&input.name, false) {
        return Err(errors::invalid_parameter("Topic Name"));
    }
    if input.data_protection_policy.is_some() {
        return Err(errors::invalid_parameter_reason(
            "DataProtectionPolicy",
            "Data protection policies are not supported by this server",
        ));
    }
    let mut attributes = Attributes::new();
    for (k, v) in &input.attributes {
        check_topic_attribute(k, v, fifo)?;
        if k != "FifoTopic" {
            attributes.insert(k.clone(), v.clone());
        }
    }
    check_tags(&input.tags)?;
    if input.tags.len() > MAX_TAGS {
        return Err(errors::tag_limit_exceeded());
    }
    let tags: BTreeMap<String, String> = input.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
    let t = Topic {
        name: input.name,
        account: ctx.account.clone(),
        region: ctx.region.clone(),
        fifo,
        attributes,
        tags,
        subscriptions_deleted: 0,
    };
    let arn = t.arn();
    let given = input.attributes;
    let given_tags = !input.tags.is_empty();
    i.store
        .write(move |txn| {
            let key = keys::topic(&t.account, &t.region, &t.name);
            if let Some(b) = txn.get(&key)? {
                // CreateTopic is idempotent only when it asks for what exists.
                let existing: Topic = decode(&b)?;
                let same = given.iter().all(|(k, v)| match k.as_str() {
                    "FifoTopic" => existing.fifo == v.eq_ignore_ascii_case("true"),
                    _ => existing.attributes.get(k).map(String::as_str).unwrap_or_default() == v,
                });
                if !same {
                    return Err(errors::invalid_parameter_reason(
                        "Attributes",
                        "Topic already exists with different attributes",
                    ));
                }
                if given_tags && existing.tags != t.tags {
                    return Err(errors::invalid_parameter_reason("Tags", "Topic already exists with different tags"));
                }
                return Ok(());
            }
            txn.put(&key, &encode(&t)?)?;
            Ok(())
        })
        .await?;
    Ok(CreateTopicOutput { topic_arn: arn })
}

pub(crate) async fn delete(i: &Inner, input: TopicArnInput) -> Result<(), AwsError> {
    // Deleting a topic that does not exist is not an error.
    let Some((account, region, name)) = parse_topic_arn(&input.topic_arn) else {
        return Err(errors::invalid_parameter("TopicArn"));
    };
    i.store
        .write(move |txn| {
            txn.delete(&keys::topic(&account, &region, &name))?;
            let unsubscribed = format!("sns/us/{account}/{region}/{name}/").into_bytes();
            for prefix in [
                keys::topic_subscriptions(&account, &region, &name),
                keys::dedups(&account, &region, &name),
                unsubscribed,
            ] {
                let end = stratus_storage::prefix_end(&prefix);
                txn.delete_range(&prefix, end.as_deref())?;
            }
            Ok(())
        })
        .await
}

pub(crate) async fn list(i: &Inner, ctx: &RequestContext, input: ListInput) -> Result<ListTopicsOutput, AwsError> {
    let after = input.next_token.as_deref().map(decode_token).transpose()?;
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let names = i
        .read(move |r| {
            let base = keys::topics(&account, &region);
            let start = stratus_storage::listing_start(&base, "", after.as_deref());
            let end = stratus_storage::prefix_end(&base);
            let rows = r.scan(&start, end.as_deref(), PAGE + 1)?;
            Ok(rows
                .into_iter()
                .filter_map(|(k, _)| String::from_utf8(k[base.len()..].to_vec()).ok())
                .collect::<Vec<_>>())
        })
        .await?;
    let more = names.len() > PAGE;
    let names = &names[..names.len().min(PAGE)];
    Ok(ListTopicsOutput {
        topics: names.iter().map(|n| TopicEntry { topic_arn: topic_arn(&ctx.region, &ctx.account, n) }).collect(),
        next_token: if more { names.last().map(|n| encode_token(n)) } else { None },
    })
}

pub(crate) async fn get_attributes(i: &Inner, input: TopicArnInput) -> Result<AttributesOutput, AwsError> {
    let arn = input.topic_arn;
    i.read(move |r| {
        let t = load_topic(r, &arn)?;
        let subs = topic::topic_subscriptions(r, &t)?;
        let confirmed = subs.iter().filter(|s| s.confirmed).count();
        Ok(AttributesOutput { attributes: t.all_attributes(confirmed, subs.len() - confirmed) })
    })
    .await
}

pub(crate) async fn set_attributes(i: &Inner, input: SetTopicAttributesInput) -> Result<(), AwsError> {
    let name = input.attribute_name;
    let value = input.attribute_value.unwrap_or_default();
    if name == "FifoTopic" {
        return Err(errors::invalid_parameter_reason(
            "AttributeName",
            "FifoTopic cannot be changed after the topic is created",
        ));
    }
    let arn = input.topic_arn;
    i.store
        .write(move |txn| {
            let mut t = load_topic(txn, &arn)?;
            // An empty value resets the attribute to its default (DisplayName keeps "").
            if value.is_empty() && name != "DisplayName" {
                if !topic::topic_attribute_known(&name) {
                    return Err(errors::invalid_parameter("AttributeName"));
                }
                t.attributes.remove(&name);
            } else {
                check_topic_attribute(&name, &value, t.fifo)?;
                t.attributes.insert(name, value);
            }
            save(txn, &t)
        })
        .await
}

pub fn save(txn: &mut dyn Txn, t: &Topic) -> Result<(), AwsError> {
    txn.put(&keys::topic(&t.account, &t.region, &t.name), &encode(t)?)?;
    Ok(())
}

fn load_resource(txn: &mut dyn stratus_storage::ReadTxn, arn: &str) -> Result<Topic, AwsError> {
    load_topic(txn, arn).map_err(|e| if e.code == "NotFoundException" { errors::resource_not_found() } else { e })
}

pub(crate) async fn tag(i: &Inner, input: TagResourceInput) -> Result<Empty, AwsError> {
    check_tags(&input.tags)?;
    i.store
        .write(move |txn| {
            let mut t = load_resource(txn, &input.resource_arn)?;
            for tag in input.tags {
                t.tags.insert(tag.key, tag.value);
            }
            if t.tags.len() > MAX_TAGS {
                return Err(errors::tag_limit_exceeded());
            }
            save(txn, &t)
        })
        .await?;
    Ok(Empty {})
}

pub(crate) async fn untag(i: &Inner, input: UntagResourceInput) -> Result<Empty, AwsError> {
    i.store
        .write(move |txn| {
            let mut t = load_resource(txn, &input.resource_arn)?;
            for k in &input.tag_keys {
                t.tags.remove(k);
            }
            save(txn, &t)
        })
        .await?;
    Ok(Empty {})
}

pub(crate) async fn list_tags(i: &Inner, input: ResourceArnInput) -> Result<ListTagsOutput, AwsError> {
    i.read(move |r| {
        let t = load_resource(r, &input.resource_arn)?;
        Ok(ListTagsOutput { tags: t.tags.into_iter().map(|(key, value)| Tag { key, value }).collect() })
    })
    .await
}
