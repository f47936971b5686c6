//! ExecuteStatement, BatchExecuteStatement and ExecuteTransaction: PartiQL statements
//! (`partiql`) run as the item operations they translate to, so they behave exactly as those do.
//! What the translation cannot know is finished here, with the table's key schema: an INSERT
//! must not replace an item (DuplicateItemException), and an UPDATE or DELETE names its item by
//! the WHERE clause's key equalities while its other equalities become conditions.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value as Json, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::validation;
use crate::partiql::{self, Op, Translated};
use crate::table::TableRecord;
use crate::{Inner, batch, items, query};

fn s<'a>(v: &'a Json, member: &str) -> Option<&'a str> {
    v.get(member).and_then(Json::as_str)
}

async fn table_of(i: &Inner, ctx: &RequestContext, input: &Json) -> Result<TableRecord, AwsError> {
    let name = crate::tables::table_name(input)?;
    let ctx = ctx.clone();
    i.read(move |r| items::table_for(r, &ctx, &name)).await
}

fn duplicate(e: AwsError) -> AwsError {
    if e.code == "ConditionalCheckFailedException" {
        AwsError::new("DuplicateItemException", partiql::DUPLICATE_ITEM)
    } else {
        e
    }
}

/// Translates a statement and completes it with the table's key schema (the INSERT condition,
/// the Key / condition split). Returns it, whether it is an INSERT, and its markers.
async fn prepared(
    i: &Inner,
    ctx: &RequestContext,
    statement: &str,
    parameters: &[Json],
) -> Result<(Translated, bool, Map<String, Json>), AwsError> {
    let mut t = partiql::translate(statement, parameters)?;
    let inserting = t.input.get("StratusInsert").is_some();
    let table: TableRecord = table_of(i, ctx, &t.input).await?;
    t.apply_key_schema(&table.key.names())?;
    let markers = t.strip_markers();
    Ok((t, inserting, markers))
}

/// Runs one statement; `request` carries ConsistentRead, Limit and NextToken for SELECT.
async fn run(
    i: &Inner,
    ctx: &RequestContext,
    statement: &str,
    parameters: &[Json],
    request: &Json,
) -> Result<Json, AwsError> {
    let (mut t, inserting, _) = prepared(i, ctx, statement, parameters).await?;
    let writes = !matches!(t.op, Op::Scan);
    if let (Some(v), Some(o), true) =
        (request.get("ReturnValuesOnConditionCheckFailure"), t.input.as_object_mut(), writes)
    {
        o.insert("ReturnValuesOnConditionCheckFailure".into(), v.clone());
    }
    match t.op {
        Op::Scan => {
            if let Some(o) = t.input.as_object_mut() {
                for m in ["ConsistentRead", "Limit", "ReturnConsumedCapacity"] {
                    if let Some(v) = request.get(m) {
                        o.insert(m.into(), v.clone());
                    }
                }
                if let Some(token) = s(request, "NextToken") {
                    let key: Json = STANDARD
                        .decode(token)
                        .ok()
                        .and_then(|b| serde_json::from_slice(&b).ok())
                        .ok_or_else(|| validation("Invalid NextToken"))?;
                    o.insert("ExclusiveStartKey".into(), key);
                }
            }
            let out = query::scan(i, ctx, t.input).await?;
            let mut answer = json!({"Items": out.get("Items").cloned().unwrap_or_else(|| json!([]))});
            if let (Some(last), Some(o)) = (out.get("LastEvaluatedKey"), answer.as_object_mut()) {
                o.insert("NextToken".into(), json!(STANDARD.encode(last.to_string())));
            }
            Ok(answer)
        }
        Op::PutItem => {
            let r = items::put(i, ctx, t.input).await;
            r.map_err(|e| if inserting { duplicate(e) } else { e }).map(|_| json!({"Items": []}))
        }
        Op::UpdateItem => {
            let out = items::update(i, ctx, t.input).await?;
            Ok(json!({"Items": out.get("Attributes").map(|a| vec![a.clone()]).unwrap_or_default()}))
        }
        Op::DeleteItem => {
            let out = items::delete(i, ctx, t.input).await?;
            Ok(json!({"Items": out.get("Attributes").map(|a| vec![a.clone()]).unwrap_or_default()}))
        }
        Op::ConditionCheck => Err(validation(partiql::EXISTS_OUTSIDE_TRANSACTION)),
    }
}

fn params(v: &Json) -> Vec<Json> {
    v.get("Parameters").and_then(Json::as_array).cloned().unwrap_or_default()
}

pub async fn execute(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let statement = s(&input, "Statement").ok_or_else(|| validation("Statement must be specified"))?;
    run(i, ctx, statement, &params(&input), &input).await
}

pub async fn batch_execute(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let list = input.get("Statements").and_then(Json::as_array).cloned().unwrap_or_default();
    if list.is_empty() || list.len() > 25 {
        return Err(validation(
            "1 validation error detected: Value at 'statements' failed to satisfy constraint: Member must have length less than or equal to 25",
        ));
    }
    let mut responses = Vec::new();
    for st in &list {
        let text = s(st, "Statement").unwrap_or_default();
        let table =
            partiql::translate(text, &params(st)).ok().and_then(|t| s(&t.input, "TableName").map(str::to_string));
        let mut r = json!({});
        match run(i, ctx, text, &params(st), st).await {
            Ok(out) => {
                if let Some(item) = out["Items"].as_array().and_then(|a| a.first()) {
                    r["Item"] = item.clone();
                }
            }
            Err(e) => {
                let code = e.code.trim_end_matches("Exception").to_string();
                r["Error"] = json!({"Code": code, "Message": e.message});
            }
        }
        if let Some(t) = table {
            r["TableName"] = json!(t);
        }
        responses.push(r);
    }
    Ok(json!({"Responses": responses}))
}

pub async fn execute_transaction(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let list = input.get("TransactStatements").and_then(Json::as_array).cloned().unwrap_or_default();
    if list.is_empty() || list.len() > 100 {
        return Err(validation(
            "1 validation error detected: Value at 'transactStatements' failed to satisfy constraint: Member must have length less than or equal to 100",
        ));
    }
    let mut actions = Vec::new();
    let mut reads = Vec::new();
    for st in &list {
        let (t, _, markers) = prepared(i, ctx, s(st, "Statement").unwrap_or_default(), &params(st)).await?;
        match t.op {
            Op::PutItem => actions.push(json!({"Put": t.input})),
            Op::UpdateItem => actions.push(json!({"Update": t.input})),
            Op::DeleteItem => actions.push(json!({"Delete": t.input})),
            Op::ConditionCheck => actions.push(json!({"ConditionCheck": t.input})),
            Op::Scan => reads.push((t.input, markers)),
        }
    }
    match (actions.is_empty(), reads.is_empty()) {
        (false, true) => {
            let mut request = json!({"TransactItems": actions});
            if let Some(token) = input.get("ClientRequestToken") {
                request["ClientRequestToken"] = token.clone();
            }
            batch::transact_write(i, ctx, request).await.map(|_| json!({}))
        }
        (true, false) => {
            let mut responses = Vec::new();
            for (r, _) in reads {
                let out = query::scan(i, ctx, r).await?;
                responses.push(match out["Items"].as_array().and_then(|a| a.first()) {
                    Some(item) => json!({"Item": item}),
                    None => json!({}),
                });
            }
            Ok(json!({"Responses": responses}))
        }
        _ => Err(validation("Transactions must contain either all reads or all writes")),
    }
}
