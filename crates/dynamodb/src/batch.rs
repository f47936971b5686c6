//! BatchGetItem and BatchWriteItem (each one storage transaction, so nothing is left
//! unprocessed), and TransactGetItems and TransactWriteItems (all or nothing, with
//! `CancellationReasons` in request order and `ClientRequestToken` idempotency for ten minutes).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use serde_json::{Value as Json, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::validation;
use crate::expr::{self, ExprKind};
use crate::items::{apply, expr_error, get, placeholders, project, projection_of, table_for};
use crate::table::TableRecord;
use crate::tables::key_item;
use crate::value::{Item, item_from_json, item_size, item_to_json};
use crate::{Inner, capacity};

fn s<'a>(v: &'a Json, member: &str) -> Option<&'a str> {
    v.get(member).and_then(Json::as_str)
}

fn table_of(v: &str) -> String {
    v.rsplit_once(":table/").map_or(v, |(_, n)| n).to_string()
}

fn request_items(input: &Json) -> Result<&serde_json::Map<String, Json>, AwsError> {
    input
        .get("RequestItems")
        .and_then(Json::as_object)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| validation("1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null"))
}

pub async fn batch_get(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let requests = request_items(&input)?.clone();
    let total: usize = requests.values().map(|r| r.get("Keys").and_then(Json::as_array).map_or(0, Vec::len)).sum();
    if total > 100 {
        return Err(validation("Too many items requested for the BatchGetItem call"));
    }
    let mut plans = Vec::new();
    for (table, r) in &requests {
        let mut p = placeholders(r)?;
        let projection = projection_of(r, &mut p)?;
        p.check_all_used().map_err(expr_error)?;
        let keys: Vec<Item> = r
            .get("Keys")
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|k| item_from_json(k).map_err(validation))
            .collect::<Result<_, _>>()?;
        if keys.is_empty() {
            return Err(validation("1 validation error detected: The requestItems keys must not be empty"));
        }
        let consistent = r.get("ConsistentRead").and_then(Json::as_bool).unwrap_or(false);
        plans.push((table_of(table), keys, projection, consistent));
    }
    let ctx = ctx.clone();
    let want_capacity = input.get("ReturnConsumedCapacity").cloned();
    i.read(move |r| {
        let mut responses = serde_json::Map::new();
        let mut consumed = Vec::new();
        for (name, keys, projection, consistent) in plans {
            let table = table_for(r, &ctx, &name)?;
            let mut seen = HashSet::new();
            let mut found = Vec::new();
            let mut bytes = 0;
            for key in &keys {
                let k = table.key_of(key)?;
                if !seen.insert(k.clone()) {
                    return Err(validation("Provided list of item keys contains duplicates"));
                }
                if let Some(item) = get(r, &k)? {
                    bytes += item_size(&item);
                    found.push(item_to_json(&project(&projection, &item)));
                }
            }
            let probe = json!({"ReturnConsumedCapacity": want_capacity});
            consumed.extend(capacity::consumed(&probe, &table, capacity::read_units(bytes, consistent), false));
            responses.insert(name, Json::Array(found));
        }
        let mut out = json!({"Responses": responses, "UnprocessedKeys": {}});
        if !consumed.is_empty()
            && let Some(o) = out.as_object_mut()
        {
            o.insert("ConsumedCapacity".into(), Json::Array(consumed));
        }
        Ok(out)
    })
    .await
}

enum WriteRequest {
    Put(Item),
    Delete(Item),
}

pub async fn batch_write(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let requests = request_items(&input)?;
    let total: usize = requests.values().map(|r| r.as_array().map_or(0, Vec::len)).sum();
    if total > 25 {
        return Err(validation(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]",
        ));
    }
    let mut plans: Vec<(String, Vec<WriteRequest>)> = Vec::new();
    for (table, list) in requests {
        let mut writes = Vec::new();
        for w in list.as_array().map(Vec::as_slice).unwrap_or_default() {
            match (w.get("PutRequest"), w.get("DeleteRequest")) {
                (Some(p), None) => {
                    let item = item_from_json(p.get("Item").unwrap_or(&Json::Null)).map_err(validation)?;
                    if item_size(&item) > crate::items::MAX_ITEM_BYTES {
                        return Err(validation("Item size has exceeded the maximum allowed size"));
                    }
                    writes.push(WriteRequest::Put(item));
                }
                (None, Some(d)) => writes.push(WriteRequest::Delete(key_item(d, "Key")?)),
                _ => {
                    return Err(validation(
                        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
                    ));
                }
            }
        }
        plans.push((table_of(table), writes));
    }
    let ctx = ctx.clone();
    let want = input.get("ReturnConsumedCapacity").cloned();
    let now = i.now();
    i.write_items(move |t| {
        let mut consumed = Vec::new();
        for (name, writes) in plans {
            let table = table_for(t, &ctx, &name)?;
            let mut seen = HashSet::new();
            let mut units = 0.0;
            for w in writes {
                let (key, new) = match &w {
                    WriteRequest::Put(item) => (table.item_key(item)?, Some(item)),
                    WriteRequest::Delete(key) => (table.key_of(key)?, None),
                };
                if !seen.insert(key.clone()) {
                    return Err(validation("Provided list of item keys contains duplicates"));
                }
                let old = get(t, &key)?;
                units += capacity::write_units(old.as_ref(), new);
                apply(t, &table, &key, old.as_ref(), new, now)?;
            }
            let probe = json!({"ReturnConsumedCapacity": want});
            consumed.extend(capacity::consumed(&probe, &table, units, true));
        }
        let mut out = json!({"UnprocessedItems": {}});
        if !consumed.is_empty()
            && let Some(o) = out.as_object_mut()
        {
            o.insert("ConsumedCapacity".into(), Json::Array(consumed));
        }
        Ok(out)
    })
    .await
}

// ------------------------------------------------------------------ transactions

/// One action of TransactWriteItems, parsed.
struct Action {
    table: String,
    kind: &'static str,
    item: Option<Item>,
    key: Option<Item>,
    condition: Option<expr::Condition>,
    update: Option<expr::Update>,
    return_old_on_failure: bool,
}

fn parse_action(a: &Json) -> Result<Action, AwsError> {
    let (kind, body) = ["ConditionCheck", "Put", "Delete", "Update"]
        .iter()
        .find_map(|k| a.get(*k).map(|b| (*k, b)))
        .ok_or_else(|| validation("TransactItems can only contain one of Check, Put, Update or Delete"))?;
    let mut p = placeholders(body)?;
    let condition = match s(body, "ConditionExpression") {
        Some(c) => Some(expr::parse_condition(c, ExprKind::Condition, &mut p).map_err(expr_error)?),
        None => None,
    };
    let update = match s(body, "UpdateExpression") {
        Some(u) => Some(expr::parse_update(u, &mut p).map_err(expr_error)?),
        None => None,
    };
    if kind == "ConditionCheck" && condition.is_none() {
        return Err(validation("The ConditionCheck action requires a ConditionExpression"));
    }
    p.check_all_used().map_err(expr_error)?;
    Ok(Action {
        table: table_of(s(body, "TableName").unwrap_or_default()),
        kind,
        item: match kind {
            "Put" => Some(item_from_json(body.get("Item").unwrap_or(&Json::Null)).map_err(validation)?),
            _ => None,
        },
        key: match kind {
            "Put" => None,
            _ => Some(key_item(body, "Key")?),
        },
        condition,
        update,
        return_old_on_failure: s(body, "ReturnValuesOnConditionCheckFailure") == Some("ALL_OLD"),
    })
}

/// Tokens of the last ten minutes: token → (when, the request's text).
pub type Tokens = Mutex<HashMap<String, (u64, String)>>;

const TOKEN_MS: u64 = 10 * 60 * 1000;

pub async fn transact_write(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let list = input.get("TransactItems").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    if list.is_empty() || list.len() > 100 {
        return Err(validation(format!(
            "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100 and greater than or equal to 1 ({} given)",
            list.len()
        )));
    }
    let actions: Vec<Action> = list.iter().map(parse_action).collect::<Result<_, _>>()?;
    let now = i.now();
    if let Some(token) = s(&input, "ClientRequestToken") {
        let text = input.get("TransactItems").map(Json::to_string).unwrap_or_default();
        let mut tokens = i.tokens.lock().map_err(|_| AwsError::internal("token table poisoned"))?;
        tokens.retain(|_, (at, _)| now.saturating_sub(*at) < TOKEN_MS);
        match tokens.get(token) {
            Some((_, seen)) if *seen == text => return Ok(json!({})),
            Some(_) => {
                return Err(AwsError::new(
                    "IdempotentParameterMismatchException",
                    "Request params were not the same as the original request with the same ClientRequestToken",
                ));
            }
            None => {
                tokens.insert(token.to_string(), (now, text));
            }
        }
    }
    let ctx = ctx.clone();
    let token = s(&input, "ClientRequestToken").map(str::to_string);
    let result = i
        .write_items(move |t| {
            let mut tables: BTreeMap<String, TableRecord> = BTreeMap::new();
            let mut seen = HashSet::new();
            // Read and check everything first: any failed condition cancels all.
            let mut plans = Vec::new();
            let mut reasons = Vec::new();
            let mut failed = false;
            for a in &actions {
                if !tables.contains_key(&a.table) {
                    tables.insert(a.table.clone(), table_for(t, &ctx, &a.table)?);
                }
                let table = &tables[&a.table];
                let key = match (&a.item, &a.key) {
                    (Some(item), _) => table.item_key(item)?,
                    (None, Some(k)) => table.key_of(k)?,
                    _ => return Err(validation("The provided key element does not match the schema")),
                };
                if !seen.insert((a.table.clone(), key.clone())) {
                    return Err(validation("Transaction request cannot include multiple operations on one item"));
                }
                let old = get(t, &key)?;
                let holds = match &a.condition {
                    Some(c) => c.eval(old.as_ref().unwrap_or(&Item::new())).map_err(expr_error)?,
                    None => true,
                };
                if holds {
                    reasons.push(json!({"Code": "None"}));
                } else {
                    failed = true;
                    let mut r = json!({"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"});
                    if let (true, Some(o), Some(obj)) = (a.return_old_on_failure, &old, r.as_object_mut()) {
                        obj.insert("Item".into(), item_to_json(o));
                    }
                    reasons.push(r);
                }
                plans.push((key, old));
            }
            if failed {
                return Ok(Err(reasons));
            }
            for (a, (key, old)) in actions.iter().zip(plans) {
                let Some(table) = tables.get(&a.table) else { continue };
                let new = match a.kind {
                    "Put" => a.item.clone(),
                    "Delete" => None,
                    "Update" => {
                        let mut new = old.clone().or_else(|| a.key.clone()).unwrap_or_default();
                        if let Some(u) = &a.update {
                            u.apply(&mut new).map_err(expr_error)?;
                        }
                        Some(new)
                    }
                    _ => continue,
                };
                apply(t, table, &key, old.as_ref(), new.as_ref(), now)?;
            }
            Ok(Ok(()))
        })
        .await;
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            forget(i, token.as_deref());
            return Err(e);
        }
    };
    match outcome {
        Ok(()) => Ok(json!({})),
        Err(reasons) => {
            forget(i, token.as_deref());
            let codes: Vec<&str> = reasons.iter().map(|r| r["Code"].as_str().unwrap_or("None")).collect();
            Err(AwsError::new(
                "TransactionCanceledException",
                format!(
                    "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                    codes.join(", ")
                ),
            )
            .with_field("CancellationReasons", Json::Array(reasons).to_string()))
        }
    }
}

/// A request that failed may be retried with its token.
fn forget(i: &Inner, token: Option<&str>) {
    if let (Some(t), Ok(mut tokens)) = (token, i.tokens.lock()) {
        tokens.remove(t);
    }
}

pub async fn transact_get(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let list = input.get("TransactItems").and_then(Json::as_array).cloned().unwrap_or_default();
    if list.is_empty() || list.len() > 100 {
        return Err(validation(
            "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100",
        ));
    }
    let mut gets = Vec::new();
    for g in &list {
        let body = g.get("Get").ok_or_else(|| validation("TransactItems can only contain Get actions"))?;
        let mut p = placeholders(body)?;
        let projection = projection_of(body, &mut p)?;
        p.check_all_used().map_err(expr_error)?;
        gets.push((table_of(s(body, "TableName").unwrap_or_default()), key_item(body, "Key")?, projection));
    }
    let ctx = ctx.clone();
    i.read(move |r| {
        let mut responses = Vec::new();
        for (name, key, projection) in gets {
            let table = table_for(r, &ctx, &name)?;
            let k = table.key_of(&key)?;
            responses.push(match get(r, &k)? {
                Some(item) => json!({"Item": item_to_json(&project(&projection, &item))}),
                None => json!({}),
            });
        }
        Ok(json!({"Responses": responses}))
    })
    .await
}
