//! Item operations: PutItem, GetItem, DeleteItem and UpdateItem, with condition, projection and
//! update expressions, ReturnValues and consumed capacity; and the one write path every change
//! of an item goes through (`apply`), which keeps index entries and the table's counts in the
//! same transaction.

use serde_json::{Value as Json, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, Txn};

use crate::errors::{conditional_check_failed, no_table, validation};
use crate::expr::{self, ExprKind, Placeholders};
use crate::table::TableRecord;
use crate::tables::{key_item, load, table_name};
use crate::value::{Item, item_from_json, item_size, item_to_json};
use crate::{Inner, capacity, keys};

/// DynamoDB's item size limit.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

pub fn encode(item: &Item) -> Vec<u8> {
    item_to_json(item).to_string().into_bytes()
}

pub fn decode(bytes: &[u8]) -> Result<Item, AwsError> {
    let v: Json = serde_json::from_slice(bytes).map_err(|e| AwsError::internal(format!("corrupt item: {e}")))?;
    item_from_json(&v).map_err(|e| AwsError::internal(format!("corrupt item: {e}")))
}

pub fn get(r: &mut dyn ReadTxn, key: &[u8]) -> Result<Option<Item>, AwsError> {
    r.get(key)?.map(|b| decode(&b)).transpose()
}

fn s<'a>(v: &'a Json, member: &str) -> Option<&'a str> {
    v.get(member).and_then(Json::as_str)
}

/// The table a request names, which must exist (item operations answer without its name).
pub fn table_for(r: &mut dyn ReadTxn, ctx: &RequestContext, name: &str) -> Result<TableRecord, AwsError> {
    load(r, ctx, name)?.ok_or_else(no_table)
}

/// Replaces `old` by `new` (either may be absent) under `key`: the item, its index entries,
/// its stream record and the table's and indexes' counts.
pub fn apply(
    t: &mut dyn Txn,
    table: &TableRecord,
    key: &[u8],
    old: Option<&Item>,
    new: Option<&Item>,
    now_ms: u64,
) -> Result<(), AwsError> {
    apply_as(t, table, key, old, new, now_ms, None)
}

/// [`apply`] for a change DynamoDB makes itself (time to live), whose stream record names it
/// (`userIdentity`).
pub fn apply_as(
    t: &mut dyn Txn,
    table: &TableRecord,
    key: &[u8],
    old: Option<&Item>,
    new: Option<&Item>,
    now_ms: u64,
    identity: Option<&Json>,
) -> Result<(), AwsError> {
    if old.is_none() && new.is_none() {
        return Ok(());
    }
    crate::streams::record_change(t, table, old, new, now_ms, identity)?;
    let size = |i: Option<&Item>| i.map_or(0, |i| item_size(i) as u64);
    match new {
        Some(item) => t.put(key, &encode(item))?,
        None => t.delete(key)?,
    }
    count(t, &keys::counts(table.id, None), (old.is_some(), size(old)), (new.is_some(), size(new)))?;
    for index in table.indexes() {
        let before = old.and_then(|o| table.index_entry(index, o));
        let after = new.and_then(|i| table.index_entry(index, i));
        if let Some((k, _)) = &before {
            t.delete(k)?;
        }
        if let Some((k, kept)) = &after {
            t.put(k, &encode(kept))?;
        }
        let entry = |e: &Option<(Vec<u8>, Item)>| (e.is_some(), e.as_ref().map_or(0, |(_, i)| item_size(i) as u64));
        if before.is_some() || after.is_some() {
            count(t, &keys::counts(table.id, Some(index.number)), entry(&before), entry(&after))?;
        }
    }
    Ok(())
}

/// The counts under `key`: (items, bytes), if any were kept.
pub fn counts(r: &mut dyn ReadTxn, key: &[u8]) -> Result<Option<(u64, u64)>, AwsError> {
    let Some(v) = r.get(key)? else { return Ok(None) };
    let half = |b: &[u8]| b.try_into().map(u64::from_be_bytes).unwrap_or(0);
    Ok((v.len() == 16).then(|| (half(&v[..8]), half(&v[8..]))))
}

/// Writes counts under `key`.
pub fn set_counts(t: &mut dyn Txn, key: &[u8], (items, bytes): (u64, u64)) -> Result<(), AwsError> {
    let mut v = items.to_be_bytes().to_vec();
    v.extend_from_slice(&bytes.to_be_bytes());
    t.put(key, &v)?;
    Ok(())
}

/// Moves the counts under `key` from one (present, size) to another.
fn count(t: &mut dyn Txn, key: &[u8], before: (bool, u64), after: (bool, u64)) -> Result<(), AwsError> {
    if before == after {
        return Ok(());
    }
    let (items, bytes) = counts(t, key)?.unwrap_or_default();
    let items = (items + u64::from(after.0)).saturating_sub(u64::from(before.0));
    let bytes = (bytes + after.1).saturating_sub(before.1);
    set_counts(t, key, (items, bytes))
}

fn check_size(item: &Item) -> Result<(), AwsError> {
    if item_size(item) > MAX_ITEM_BYTES {
        return Err(validation("Item size has exceeded the maximum allowed size"));
    }
    Ok(())
}

/// `ReturnValues` of a write, checked against what the operation allows.
fn return_values<'a>(input: &'a Json, allowed: &[&str]) -> Result<&'a str, AwsError> {
    let rv = s(input, "ReturnValues").unwrap_or("NONE");
    if !allowed.contains(&rv) {
        return Err(validation("Return values set to invalid value"));
    }
    Ok(rv)
}

/// A parsed `ConditionExpression` and the request's placeholders.
struct Conditioned {
    placeholders: Placeholders,
    condition: Option<expr::Condition>,
}

fn conditioned(input: &Json) -> Result<Conditioned, AwsError> {
    let mut placeholders = placeholders(input)?;
    let condition = match s(input, "ConditionExpression") {
        Some(c) => Some(expr::parse_condition(c, ExprKind::Condition, &mut placeholders).map_err(expr_error)?),
        None => None,
    };
    Ok(Conditioned { placeholders, condition })
}

pub fn placeholders(input: &Json) -> Result<Placeholders, AwsError> {
    Placeholders::new(input.get("ExpressionAttributeNames"), input.get("ExpressionAttributeValues")).map_err(expr_error)
}

pub fn expr_error(e: expr::ExprError) -> AwsError {
    validation(e.message)
}

/// Whether a failed condition answers the old item (`ReturnValuesOnConditionCheckFailure`).
fn old_on_failure(input: &Json) -> bool {
    s(input, "ReturnValuesOnConditionCheckFailure") == Some("ALL_OLD")
}

/// Checks the condition against the stored item (absent: an empty item), answering
/// ConditionalCheckFailedException, with the item when `old_on_failure`.
fn check_condition(c: &Option<expr::Condition>, old: Option<&Item>, old_on_failure: bool) -> Result<(), AwsError> {
    let Some(c) = c else { return Ok(()) };
    let empty = Item::new();
    if c.eval(old.unwrap_or(&empty)).map_err(expr_error)? {
        return Ok(());
    }
    let mut e = conditional_check_failed();
    if old_on_failure && let Some(o) = old {
        e = e.with_field("Item", item_to_json(o).to_string());
    }
    Err(e)
}

fn with_capacity(mut out: Json, input: &Json, table: &TableRecord, units: f64, write: bool) -> Json {
    if let (Some(o), Some(c)) = (out.as_object_mut(), capacity::consumed(input, table, units, write)) {
        o.insert("ConsumedCapacity".into(), c);
    }
    out
}

pub async fn put(i: &Inner, ctx: &RequestContext, mut input: Json) -> Result<Json, AwsError> {
    crate::legacy::translate(&mut input)?;
    let name = table_name(&input)?;
    let item = item_from_json(input.get("Item").unwrap_or(&Json::Null)).map_err(validation)?;
    check_size(&item)?;
    let rv = return_values(&input, &["NONE", "ALL_OLD"])?.to_string();
    let c = conditioned(&input)?;
    c.placeholders.check_all_used().map_err(expr_error)?;
    let ctx = crate::tables::scoped(ctx, &input);
    let return_old = old_on_failure(&input);
    let now = i.now();
    let (table, old, units, item) = i
        .write_items(move |t| {
            let table = table_for(t, &ctx, &name)?;
            let key = table.item_key(&item)?;
            let old = get(t, &key)?;
            check_condition(&c.condition, old.as_ref(), return_old)?;
            apply(t, &table, &key, old.as_ref(), Some(&item), now)?;
            let units = capacity::write_units(old.as_ref(), Some(&item));
            // The item goes back to be freed on this thread: freeing its many small
            // allocations on the writer's thread costs both threads more.
            Ok::<_, AwsError>((table, old, units, item))
        })
        .await?;
    drop(item);
    let mut out = json!({});
    if let (Some(o), "ALL_OLD") = (&old, rv.as_str()) {
        out = json!({"Attributes": item_to_json(o)});
    }
    Ok(with_capacity(out, &input, &table, units, true))
}

pub async fn get_item(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let name = table_name(&input)?;
    let key = key_item(&input, "Key")?;
    let mut p = placeholders(&input)?;
    let projection = projection_of(&input, &mut p)?;
    p.check_all_used().map_err(expr_error)?;
    let consistent = input.get("ConsistentRead").and_then(Json::as_bool).unwrap_or(false);
    let ctx = crate::tables::scoped(ctx, &input);
    // A point read: on the caller's thread where the store allows it.
    let (table, item) = i
        .store
        .read_short(move |r| {
            let table = table_for(r, &ctx, &name)?;
            let k = table.key_of(&key)?;
            let item = get(r, &k)?;
            Ok::<_, AwsError>((table, item))
        })
        .await?;
    let units = capacity::read_units(item.as_ref().map_or(0, item_size), consistent);
    let mut out = match &item {
        Some(it) => json!({"Item": item_to_json(&project(&projection, it))}),
        None => json!({}),
    };
    out = with_capacity(out, &input, &table, units, false);
    Ok(out)
}

/// `ProjectionExpression`, or the legacy `AttributesToGet`.
pub fn projection_of(input: &Json, p: &mut Placeholders) -> Result<Option<expr::Projection>, AwsError> {
    let expression = s(input, "ProjectionExpression");
    let legacy = input.get("AttributesToGet").and_then(Json::as_array);
    match (expression, legacy) {
        (Some(_), Some(_)) => Err(validation(
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}",
        )),
        (Some(e), None) => Ok(Some(expr::parse_projection(e, p).map_err(expr_error)?)),
        (None, Some(names)) => {
            // Each name is an attribute name as it is, not a path.
            let mut legacy = Placeholders::new(
                Some(&Json::Object(
                    names
                        .iter()
                        .enumerate()
                        .filter_map(|(n, v)| Some((format!("#a{n}"), Json::String(v.as_str()?.to_string()))))
                        .collect(),
                )),
                None,
            )
            .map_err(expr_error)?;
            let text: Vec<String> = (0..names.len()).map(|n| format!("#a{n}")).collect();
            Ok(Some(expr::parse_projection(&text.join(", "), &mut legacy).map_err(expr_error)?))
        }
        (None, None) => Ok(None),
    }
}

pub fn project(p: &Option<expr::Projection>, item: &Item) -> Item {
    match p {
        Some(p) => p.apply(item),
        None => item.clone(),
    }
}

pub async fn delete(i: &Inner, ctx: &RequestContext, mut input: Json) -> Result<Json, AwsError> {
    crate::legacy::translate(&mut input)?;
    let name = table_name(&input)?;
    let key = key_item(&input, "Key")?;
    let rv = return_values(&input, &["NONE", "ALL_OLD"])?.to_string();
    let c = conditioned(&input)?;
    c.placeholders.check_all_used().map_err(expr_error)?;
    let ctx = crate::tables::scoped(ctx, &input);
    let return_old = old_on_failure(&input);
    let now = i.now();
    let (table, old) = i
        .write_items(move |t| {
            let table = table_for(t, &ctx, &name)?;
            let k = table.key_of(&key)?;
            let old = get(t, &k)?;
            check_condition(&c.condition, old.as_ref(), return_old)?;
            apply(t, &table, &k, old.as_ref(), None, now)?;
            Ok::<_, AwsError>((table, old))
        })
        .await?;
    let units = capacity::write_units(old.as_ref(), None);
    let mut out = json!({});
    if let (Some(o), "ALL_OLD") = (&old, rv.as_str()) {
        out = json!({"Attributes": item_to_json(o)});
    }
    Ok(with_capacity(out, &input, &table, units, true))
}

pub async fn update(i: &Inner, ctx: &RequestContext, mut input: Json) -> Result<Json, AwsError> {
    crate::legacy::translate(&mut input)?;
    let name = table_name(&input)?;
    let key = key_item(&input, "Key")?;
    let rv = return_values(&input, &["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"])?.to_string();
    let mut c = conditioned(&input)?;
    let update = match s(&input, "UpdateExpression") {
        Some(u) => Some(expr::parse_update(u, &mut c.placeholders).map_err(expr_error)?),
        None => None,
    };
    c.placeholders.check_all_used().map_err(expr_error)?;
    let ctx = crate::tables::scoped(ctx, &input);
    let return_old = old_on_failure(&input);
    let now = i.now();
    let (table, old, new) = i
        .write_items(move |t| {
            let table = table_for(t, &ctx, &name)?;
            let k = table.key_of(&key)?;
            if let Some(u) = &update {
                for n in u.top_level_names() {
                    if table.key.names().contains(&n.as_str()) {
                        return Err(validation(format!(
                            "One or more parameter values were invalid: Cannot update attribute {n}. This attribute is part of the key"
                        )));
                    }
                }
            }
            let old = get(t, &k)?;
            check_condition(&c.condition, old.as_ref(), return_old)?;
            let mut new = old.clone().unwrap_or_else(|| key.clone());
            if let Some(u) = &update {
                u.apply(&mut new).map_err(expr_error)?;
            }
            check_size(&new)?;
            apply(t, &table, &k, old.as_ref(), Some(&new), now)?;
            Ok((table, old, new))
        })
        .await?;
    let units = capacity::write_units(old.as_ref(), Some(&new));
    let changed = |a: &Item, b: Option<&Item>| -> Item {
        a.iter().filter(|(n, v)| b.and_then(|b| b.get(*n)) != Some(*v)).map(|(n, v)| (n.clone(), v.clone())).collect()
    };
    let attributes = match rv.as_str() {
        "ALL_OLD" => old.clone(),
        "ALL_NEW" => Some(new.clone()),
        "UPDATED_OLD" => old.as_ref().map(|o| changed(o, Some(&new))),
        "UPDATED_NEW" => Some(changed(&new, old.as_ref())),
        _ => None,
    };
    let mut out = json!({});
    if let Some(a) = attributes.filter(|a| !a.is_empty()) {
        out = json!({"Attributes": item_to_json(&a)});
    }
    Ok(with_capacity(out, &input, &table, units, true))
}
