//! AddTags, RemoveTags and DescribeTags for load balancers, target groups, listeners and rules
//! (the kind of resource follows from its ARN).

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::ReadTxn;

use crate::store::{self, Tags, str_of};
use crate::{Inner, errors};

/// AWS's limit of tags per resource.
const MAX_TAGS: usize = 50;

/// A resource's tags, and the key its record is stored under.
fn load(r: &mut dyn ReadTxn, account: &str, region: &str, arn: &str) -> Result<(String, Value), AwsError> {
    let resource = stratus_core::Arn::parse(arn).map(|a| a.resource.to_string()).unwrap_or_default();
    if resource.starts_with("loadbalancer/") {
        let d = store::load_lb(r, account, region, arn)?.ok_or_else(errors::lb_not_found)?;
        let key = store::lb_key(account, region, str_of(&d.lb, "LoadBalancerName"));
        return Ok((key, serde_json::to_value(d).map_err(|e| AwsError::internal(e.to_string()))?));
    }
    if resource.starts_with("targetgroup/") {
        let d = store::load_tg(r, account, region, arn)?.ok_or_else(errors::tg_not_found)?;
        let key = store::tg_key(account, region, str_of(&d.tg, "TargetGroupName"));
        return Ok((key, serde_json::to_value(d).map_err(|e| AwsError::internal(e.to_string()))?));
    }
    if resource.starts_with("listener/") {
        let d = store::load_listener(r, account, region, arn)?.ok_or_else(errors::listener_not_found)?;
        let Some((.., lb, id)) = store::parse_listener_arn(arn) else { return Err(errors::listener_not_found()) };
        let key = store::listener_key(account, region, &lb, &id);
        return Ok((key, serde_json::to_value(d).map_err(|e| AwsError::internal(e.to_string()))?));
    }
    if resource.starts_with("listener-rule/") {
        let d = store::load_rule(r, account, region, arn)?.ok_or_else(errors::rule_not_found)?;
        let Some((.., l, id)) = store::parse_rule_arn(arn) else { return Err(errors::rule_not_found()) };
        let key = store::rule_key(account, region, &l, &id);
        return Ok((key, serde_json::to_value(d).map_err(|e| AwsError::internal(e.to_string()))?));
    }
    Err(errors::validation(format!("'{arn}' is not a valid resource ARN")))
}

fn tags_in(doc: &Value) -> Tags {
    doc.get("tags").and_then(|t| serde_json::from_value(t.clone()).ok()).unwrap_or_default()
}

fn arns(input: &Value) -> Vec<String> {
    input
        .get("ResourceArns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

pub async fn add(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let new = store::tags_of(&input)?;
    let arns = arns(&input);
    i.store
        .write(move |t| {
            for arn in &arns {
                let (key, mut doc) = load(t, &account, &region, arn)?;
                let mut tags = tags_in(&doc);
                tags.extend(new.clone());
                if tags.len() > MAX_TAGS {
                    return Err(AwsError::new(
                        "TooManyTagsException",
                        "You've reached the limit on the number of tags for this resource.",
                    ));
                }
                doc["tags"] = serde_json::to_value(&tags).map_err(|e| AwsError::internal(e.to_string()))?;
                store::put_json(t, &key, &doc)?;
            }
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(json!({}))
}

pub async fn remove(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let keys: Vec<String> = input
        .get("TagKeys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let arns = arns(&input);
    i.store
        .write(move |t| {
            for arn in &arns {
                let (key, mut doc) = load(t, &account, &region, arn)?;
                let mut tags = tags_in(&doc);
                for k in &keys {
                    tags.remove(k);
                }
                doc["tags"] = serde_json::to_value(&tags).map_err(|e| AwsError::internal(e.to_string()))?;
                store::put_json(t, &key, &doc)?;
            }
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(json!({}))
}

pub async fn describe(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let arns = arns(&input);
    if arns.len() > 20 {
        return Err(errors::validation("You can specify up to 20 resource ARNs"));
    }
    let out = i
        .store
        .read(move |r| {
            let mut out = Vec::new();
            for arn in &arns {
                let (_, doc) = load(r, &account, &region, arn)?;
                out.push(json!({"ResourceArn": arn, "Tags": store::tag_list(&tags_in(&doc))}));
            }
            Ok::<_, AwsError>(out)
        })
        .await?;
    Ok(json!({"TagDescriptions": out}))
}
