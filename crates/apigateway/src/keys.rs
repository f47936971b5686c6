//! API keys, usage plans (throttle and quota per key, enforced by `execute`) with their keys
//! and usage, and the account settings.

use serde_json::{Map, Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{self, bad_request, conflict};
use crate::store::{self, get_json, put_json};
use crate::{Inner, patch, s};

pub fn key_key(account: &str, region: &str, id: &str) -> String {
    format!("{}apikey/{id}", store::scope(account, region))
}

pub fn key_value_key(value: &str) -> String {
    format!("{}keyvalue/{value}", store::PREFIX)
}

pub fn plan_key(account: &str, region: &str, id: &str) -> String {
    format!("{}plan/{id}", store::scope(account, region))
}

pub fn plan_key_key(account: &str, region: &str, plan: &str, key: &str) -> String {
    format!("{}plankey/{plan}/{key}", store::scope(account, region))
}

fn account_key(account: &str, region: &str) -> String {
    format!("{}account", store::scope(account, region))
}

fn key_not_found() -> AwsError {
    errors::not_found("Invalid API Key identifier specified")
}

fn plan_not_found() -> AwsError {
    errors::not_found("Invalid Usage Plan ID specified")
}

fn without_value(mut k: Value, include: bool) -> Value {
    if !include {
        k.as_object_mut().map(|o| o.remove("value"));
    }
    k
}

fn new_key(i: &Inner, input: &Value) -> Result<Value, AwsError> {
    let now = store::timestamp(i.now());
    let value = match input.get("value").and_then(Value::as_str) {
        Some(v) if v.len() < 20 => return Err(bad_request("API Key value should be at least 20 characters")),
        Some(v) => v.to_string(),
        None => format!("{}{}", i.id(20), i.id(20)),
    };
    let mut k = json!({
        "id": i.id(10),
        "value": value,
        "enabled": input.get("enabled").and_then(Value::as_bool).unwrap_or(false),
        "createdDate": now,
        "lastUpdatedDate": now,
        "stageKeys": [],
    });
    for f in ["name", "description", "customerId", "tags"] {
        if let Some(v) = input.get(f).filter(|v| !v.is_null()) {
            k[f] = v.clone();
        }
    }
    if let Some(sk) = input.get("stageKeys").and_then(Value::as_array) {
        k["stageKeys"] = Value::Array(
            sk.iter().map(|x| Value::String(format!("{}/{}", s(x, "restApiId"), s(x, "stageName")))).collect(),
        );
    }
    Ok(k)
}

fn store_key(t: &mut dyn stratus_storage::Txn, account: &str, region: &str, k: &Value) -> Result<(), AwsError> {
    let value = s(k, "value");
    let index = key_value_key(value);
    if t.get(index.as_bytes()).map_err(store::store_err)?.is_some() {
        return Err(conflict("API Key already exists"));
    }
    t.put(index.as_bytes(), format!("{account}/{region}/{}", s(k, "id")).as_bytes()).map_err(store::store_err)?;
    put_json(t, &key_key(account, region, s(k, "id")), k)
}

pub async fn create_key(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let k = new_key(i, &input)?;
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let out = k.clone();
    i.store.write(move |t| store_key(t, &account, &region, &k)).await?;
    Ok(out)
}

async fn load_key(i: &Inner, ctx: &RequestContext, id: &str) -> Result<Value, AwsError> {
    let key = key_key(&ctx.account, &ctx.region, id);
    i.store.read(move |r| get_json::<Value>(r, &key)?.ok_or_else(key_not_found)).await
}

pub async fn get_key(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let k = load_key(i, ctx, s(&input, "apiKey")).await?;
    Ok(without_value(k, input.get("includeValue").and_then(Value::as_bool).unwrap_or(false)))
}

pub async fn list_keys(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let prefix = format!("{}apikey/", store::scope(&ctx.account, &ctx.region));
    let keys: Vec<Value> = i.store.read(move |r| store::list_json(r, &prefix)).await?;
    let include = input.get("includeValues").and_then(Value::as_bool).unwrap_or(false);
    let name = input.get("nameQuery").and_then(Value::as_str);
    let customer = input.get("customerId").and_then(Value::as_str);
    let items: Vec<Value> = keys
        .into_iter()
        .filter(|k| name.is_none_or(|n| s(k, "name").starts_with(n)))
        .filter(|k| customer.is_none_or(|c| s(k, "customerId") == c))
        .map(|k| without_value(k, include))
        .collect();
    Ok(crate::page(items, &input))
}

pub async fn update_key(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ops = patch::ops(&input)?;
    let key = key_key(&ctx.account, &ctx.region, s(&input, "apiKey"));
    let (model, now) = (i.model, store::timestamp(i.now()));
    let out = i
        .store
        .write(move |t| {
            let mut k: Value = get_json(t, &key)?.ok_or_else(key_not_found)?;
            patch::apply(
                model,
                "ApiKey",
                &mut k,
                &ops,
                &["name", "description", "enabled", "customerId"],
                &mut |op, segs, k| {
                    if segs.first().map(String::as_str) != Some("stageKeys") {
                        return Ok(false);
                    }
                    let v = op.value.clone().unwrap_or_default();
                    let list = k.as_object_mut().map(|o| o.entry("stageKeys").or_insert_with(|| json!([])));
                    if let Some(Value::Array(list)) = list {
                        match op.op.as_str() {
                            "add" => list.push(Value::String(v)),
                            "remove" => list.retain(|x| x.as_str() != Some(&v)),
                            _ => return Err(patch::invalid_path(op)),
                        }
                    }
                    Ok(true)
                },
            )?;
            k["lastUpdatedDate"] = now;
            put_json(t, &key, &k)?;
            Ok::<_, AwsError>(k)
        })
        .await?;
    Ok(without_value(out, false))
}

pub async fn delete_key(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region, id) = (ctx.account.clone(), ctx.region.clone(), s(&input, "apiKey").to_string());
    i.store
        .write(move |t| {
            let key = key_key(&account, &region, &id);
            let k: Value = get_json(t, &key)?.ok_or_else(key_not_found)?;
            t.delete(key.as_bytes()).map_err(store::store_err)?;
            t.delete(key_value_key(s(&k, "value")).as_bytes()).map_err(store::store_err)?;
            // The key leaves every usage plan.
            let plans: Vec<Value> = store::list_json(t, &format!("{}plan/", store::scope(&account, &region)))?;
            for p in plans {
                t.delete(plan_key_key(&account, &region, s(&p, "id"), &id).as_bytes()).map_err(store::store_err)?;
            }
            Ok(Value::Object(Map::new()))
        })
        .await
}

/// ImportApiKeys, CSV format: a header naming the columns (`name`, `key`, `description`,
/// `enabled`, `usageplanIds`), a key per line.
pub async fn import_keys(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    use base64::Engine;
    if s(&input, "format") != "csv" {
        return Err(bad_request("Invalid format specified: only csv is supported"));
    }
    let raw = base64::engine::general_purpose::STANDARD.decode(s(&input, "body")).unwrap_or_default();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines.next().unwrap_or("").split(',').map(|h| h.trim().to_ascii_lowercase()).collect();
    if !header.iter().any(|h| h == "key") {
        return Err(bad_request("Invalid API Key CSV: a 'key' column is required"));
    }
    let mut keys = Vec::new();
    let mut plans_of = Vec::new();
    for line in lines {
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let col =
            |n: &str| header.iter().position(|h| h == n).and_then(|p| cols.get(p)).copied().filter(|c| !c.is_empty());
        let mut spec = json!({"value": col("key").unwrap_or(""), "enabled": col("enabled").is_some_and(|e| e.eq_ignore_ascii_case("true"))});
        if let Some(n) = col("name") {
            spec["name"] = json!(n);
        }
        if let Some(d) = col("description") {
            spec["description"] = json!(d);
        }
        let k = new_key(i, &spec)?;
        plans_of.push(
            col("usageplanids").map(|p| p.split(':').map(str::to_string).collect::<Vec<_>>()).unwrap_or_default(),
        );
        keys.push(k);
    }
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let fail = input.get("failOnWarnings").and_then(Value::as_bool).unwrap_or(false);
    i.store
        .write(move |t| {
            let mut ids = Vec::new();
            for (k, plans) in keys.iter().zip(plans_of) {
                store_key(t, &account, &region, k)?;
                for p in plans {
                    if get_json::<Value>(t, &plan_key(&account, &region, &p))?.is_none() {
                        if fail {
                            return Err(plan_not_found());
                        }
                        continue;
                    }
                    let pk = json!({"id": s(k, "id"), "type": "API_KEY", "value": s(k, "value"), "name": k.get("name").cloned().unwrap_or(Value::Null)});
                    put_json(t, &plan_key_key(&account, &region, &p, s(k, "id")), &pk)?;
                }
                ids.push(Value::String(s(k, "id").to_string()));
            }
            Ok(json!({"ids": ids, "warnings": []}))
        })
        .await
}

fn check_plan(p: &Value) -> Result<(), AwsError> {
    if let Some(q) = p.get("quota") {
        let period = s(q, "period");
        if !["DAY", "WEEK", "MONTH"].contains(&period) {
            return Err(bad_request("Invalid quota period specified. Valid options are DAY, WEEK, MONTH"));
        }
        if q.get("limit").and_then(Value::as_i64).is_none_or(|l| l < 0) {
            return Err(bad_request("Invalid quota limit specified"));
        }
    }
    if let Some(t) = p.get("throttle")
        && (t.get("rateLimit").and_then(Value::as_f64).is_some_and(|r| r < 0.0)
            || t.get("burstLimit").and_then(Value::as_i64).is_some_and(|b| b < 0))
    {
        return Err(bad_request("Invalid throttle settings"));
    }
    Ok(())
}

/// Every API stage a plan names exists.
fn check_stages(t: &mut dyn stratus_storage::ReadTxn, account: &str, region: &str, p: &Value) -> Result<(), AwsError> {
    for st in p.get("apiStages").and_then(Value::as_array).into_iter().flatten() {
        let (api, stage) = (s(st, "apiId"), s(st, "stage"));
        if get_json::<Value>(t, &store::stage_key(account, region, api, stage))?.is_none() {
            return Err(errors::not_found(format!("Invalid stage identifier specified: {api}:{stage}")));
        }
    }
    Ok(())
}

pub async fn create_plan(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let mut p = json!({"id": i.id(6), "name": s(&input, "name"), "apiStages": []});
    for k in ["description", "apiStages", "throttle", "quota", "tags"] {
        if let Some(v) = input.get(k).filter(|v| !v.is_null()) {
            p[k] = v.clone();
        }
    }
    if let Some(q) = p.get_mut("quota").and_then(Value::as_object_mut) {
        q.entry("offset").or_insert(json!(0));
    }
    check_plan(&p)?;
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    i.store
        .write(move |t| {
            check_stages(t, &account, &region, &p)?;
            put_json(t, &plan_key(&account, &region, s(&p, "id")), &p)?;
            Ok(p)
        })
        .await
}

async fn load_plan(i: &Inner, ctx: &RequestContext, id: &str) -> Result<Value, AwsError> {
    let key = plan_key(&ctx.account, &ctx.region, id);
    i.store.read(move |r| get_json::<Value>(r, &key)?.ok_or_else(plan_not_found)).await
}

pub async fn get_plan(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    load_plan(i, ctx, s(&input, "usagePlanId")).await
}

pub async fn list_plans(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let key_id = input.get("keyId").and_then(Value::as_str).map(str::to_string);
    let plans: Vec<Value> = i
        .store
        .read(move |r| {
            let plans: Vec<Value> = store::list_json(r, &format!("{}plan/", store::scope(&account, &region)))?;
            let mut out = Vec::new();
            for p in plans {
                if let Some(k) = &key_id
                    && get_json::<Value>(r, &plan_key_key(&account, &region, s(&p, "id"), k))?.is_none()
                {
                    continue;
                }
                out.push(p);
            }
            Ok::<_, AwsError>(out)
        })
        .await?;
    Ok(crate::page(plans, &input))
}

pub async fn update_plan(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ops = patch::ops(&input)?;
    let (account, region, id) = (ctx.account.clone(), ctx.region.clone(), s(&input, "usagePlanId").to_string());
    let model = i.model;
    i.store
        .write(move |t| {
            let key = plan_key(&account, &region, &id);
            let mut p: Value = get_json(t, &key)?.ok_or_else(plan_not_found)?;
            patch::apply(
                model,
                "UsagePlan",
                &mut p,
                &ops,
                &["name", "description", "throttle", "quota", "productCode"],
                &mut |op, segs, p| {
                    if segs.first().map(String::as_str) != Some("apiStages") {
                        return Ok(false);
                    }
                    let v = op.value.clone().unwrap_or_default();
                    let Some((api, stage)) = v.split_once(':') else {
                        return Err(bad_request(format!("Invalid API Stage specified: {v}")));
                    };
                    let list = p.as_object_mut().map(|o| o.entry("apiStages").or_insert_with(|| json!([])));
                    if let Some(Value::Array(list)) = list {
                        match op.op.as_str() {
                            "add" => list.push(json!({"apiId": api, "stage": stage})),
                            "remove" => list.retain(|x| !(s(x, "apiId") == api && s(x, "stage") == stage)),
                            _ => return Err(patch::invalid_path(op)),
                        }
                    }
                    Ok(true)
                },
            )?;
            check_plan(&p)?;
            check_stages(t, &account, &region, &p)?;
            put_json(t, &key, &p)?;
            Ok(p)
        })
        .await
}

pub async fn delete_plan(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region, id) = (ctx.account.clone(), ctx.region.clone(), s(&input, "usagePlanId").to_string());
    i.store
        .write(move |t| {
            let key = plan_key(&account, &region, &id);
            get_json::<Value>(t, &key)?.ok_or_else(plan_not_found)?;
            t.delete(key.as_bytes()).map_err(store::store_err)?;
            store::delete_prefix(t, &format!("{}plankey/{id}/", store::scope(&account, &region)))?;
            Ok(Value::Object(Map::new()))
        })
        .await
}

pub async fn create_plan_key(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    if s(&input, "keyType") != "API_KEY" {
        return Err(bad_request("Invalid key type specified. The only valid value is API_KEY"));
    }
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let (plan, key_id) = (s(&input, "usagePlanId").to_string(), s(&input, "keyId").to_string());
    i.store
        .write(move |t| {
            let p: Value = get_json(t, &plan_key(&account, &region, &plan))?.ok_or_else(plan_not_found)?;
            let k: Value = get_json(t, &key_key(&account, &region, &key_id))?.ok_or_else(key_not_found)?;
            // A key may not reach one API stage through two plans.
            let plans: Vec<Value> = store::list_json(t, &format!("{}plan/", store::scope(&account, &region)))?;
            for other in plans.iter().filter(|o| s(o, "id") != plan) {
                if get_json::<Value>(t, &plan_key_key(&account, &region, s(other, "id"), &key_id))?.is_none() {
                    continue;
                }
                for a in p.get("apiStages").and_then(Value::as_array).into_iter().flatten() {
                    let clash = other.get("apiStages").and_then(Value::as_array).into_iter().flatten().any(|b| s(a, "apiId") == s(b, "apiId") && s(a, "stage") == s(b, "stage"));
                    if clash {
                        return Err(conflict(format!(
                            "Usage Plan {plan} cannot be added because API Key {key_id} cannot reference multiple Usage Plans with the same API Stage: {}:{}",
                            s(a, "apiId"), s(a, "stage")
                        )));
                    }
                }
            }
            let pk = json!({"id": key_id, "type": "API_KEY", "value": s(&k, "value"), "name": k.get("name").cloned().unwrap_or(Value::Null)});
            put_json(t, &plan_key_key(&account, &region, &plan, &key_id), &pk)?;
            Ok(pk)
        })
        .await
}

pub async fn get_plan_key(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let (plan, key_id) = (s(&input, "usagePlanId").to_string(), s(&input, "keyId").to_string());
    i.store
        .read(move |r| {
            get_json::<Value>(r, &plan_key(&account, &region, &plan))?.ok_or_else(plan_not_found)?;
            get_json::<Value>(r, &plan_key_key(&account, &region, &plan, &key_id))?
                .ok_or_else(|| errors::not_found("Invalid Usage Plan Key identifier specified"))
        })
        .await
}

pub async fn list_plan_keys(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region, plan) = (ctx.account.clone(), ctx.region.clone(), s(&input, "usagePlanId").to_string());
    let name = input.get("nameQuery").and_then(Value::as_str).map(str::to_string);
    let keys: Vec<Value> = i
        .store
        .read(move |r| {
            get_json::<Value>(r, &plan_key(&account, &region, &plan))?.ok_or_else(plan_not_found)?;
            store::list_json(r, &format!("{}plankey/{plan}/", store::scope(&account, &region)))
        })
        .await?;
    let keys = keys.into_iter().filter(|k| name.as_deref().is_none_or(|n| s(k, "name").starts_with(n))).collect();
    Ok(crate::page(keys, &input))
}

pub async fn delete_plan_key(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let (plan, key_id) = (s(&input, "usagePlanId").to_string(), s(&input, "keyId").to_string());
    i.store
        .write(move |t| {
            get_json::<Value>(t, &plan_key(&account, &region, &plan))?.ok_or_else(plan_not_found)?;
            let key = plan_key_key(&account, &region, &plan, &key_id);
            get_json::<Value>(t, &key)?
                .ok_or_else(|| errors::not_found("Invalid Usage Plan Key identifier specified"))?;
            t.delete(key.as_bytes()).map_err(store::store_err)?;
            Ok(Value::Object(Map::new()))
        })
        .await
}

/// GetUsage: per key, per day from `startDate` to `endDate`, `[used, remaining]`.
pub async fn usage(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let plan = load_plan(i, ctx, s(&input, "usagePlanId")).await?;
    let (start, end) = (s(&input, "startDate").to_string(), s(&input, "endDate").to_string());
    let (Some(from), Some(to)) = (day_number(&start), day_number(&end)) else {
        return Err(bad_request("Invalid date format. Dates must be in yyyy-MM-dd format"));
    };
    if to < from {
        return Err(bad_request("The end date must not be before the start date"));
    }
    let (account, region, plan_id) = (ctx.account.clone(), ctx.region.clone(), s(&plan, "id").to_string());
    let keys: Vec<Value> = i
        .store
        .read(move |r| store::list_json(r, &format!("{}plankey/{plan_id}/", store::scope(&account, &region))))
        .await?;
    let limit = plan.get("quota").and_then(|q| q.get("limit")).and_then(Value::as_i64);
    let want = input.get("keyId").and_then(Value::as_str);
    let mut items = Map::new();
    for k in keys.iter().filter(|k| want.is_none_or(|w| s(k, "id") == w)) {
        let days: Vec<Value> = (from..=to)
            .map(|d| {
                let used = i.runtime.used_on(s(&plan, "id"), s(k, "id"), d) as i64;
                json!([used, limit.map_or(0, |l| (l - used).max(0))])
            })
            .collect();
        items.insert(s(k, "id").to_string(), Value::Array(days));
    }
    Ok(json!({"usagePlanId": s(&plan, "id"), "startDate": start, "endDate": end, "items": items}))
}

/// Days since the epoch of a `yyyy-MM-dd` date.
pub fn day_number(date: &str) -> Option<i64> {
    let mut it = date.split('-');
    let (y, m, d): (i64, i64, i64) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?);
    if it.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (proleptic Gregorian).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146097 + doe - 719468)
}

pub async fn account(i: &Inner, ctx: &RequestContext) -> Result<Value, AwsError> {
    let key = account_key(&ctx.account, &ctx.region);
    let stored: Option<Value> = i.store.read(move |r| get_json(r, &key)).await?;
    let mut a = json!({
        "throttleSettings": {"burstLimit": 5000, "rateLimit": 10000.0},
        "features": ["UsagePlans"],
        "apiKeyVersion": "4",
    });
    if let Some(role) = stored.as_ref().and_then(|s| s.get("cloudwatchRoleArn")) {
        a["cloudwatchRoleArn"] = role.clone();
    }
    Ok(a)
}

pub async fn update_account(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ops = patch::ops(&input)?;
    let key = account_key(&ctx.account, &ctx.region);
    let model = i.model;
    i.store
        .write(move |t| {
            let mut a: Value = get_json(t, &key)?.unwrap_or_else(|| json!({}));
            patch::apply(model, "Account", &mut a, &ops, &["cloudwatchRoleArn"], &mut |_, _, _| Ok(false))?;
            put_json(t, &key, &a)
        })
        .await?;
    account(i, ctx).await
}
