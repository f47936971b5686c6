//! PartiQL for DynamoDB (the statements of ExecuteStatement, BatchExecuteStatement and
//! ExecuteTransaction), translated into the item operations that perform them: each statement
//! becomes an operation's name and the request JSON a client would send that operation, so the
//! operations' own code runs it.
//!
//! - `SELECT` → Scan (`TableName`, `IndexName`, `ProjectionExpression`, `FilterExpression`);
//! - `INSERT INTO t VALUE {...}` → PutItem (`Item`), marked `StratusInsert`;
//! - `UPDATE t SET … REMOVE … WHERE …` (and PartiQL's `FROM t WHERE … SET …`) → UpdateItem;
//! - `DELETE FROM t WHERE …` → DeleteItem;
//! - `EXISTS(SELECT … WHERE …)` → a ConditionCheck of TransactWriteItems.
//!
//! Names and values go into the expressions as fresh placeholders (`#p0`, `:p0`, …). The key
//! schema is not known here: an UPDATE's or DELETE's `Key` holds every `attr = value` of the
//! WHERE's top-level AND, and [`Translated::apply_key_schema`] moves the ones that are not key
//! attributes into the condition once the table is known. Members whose names start with
//! `Stratus` are markers for the caller ([`Translated::strip_markers`]); the operations ignore
//! them.
//!
//! Messages are DynamoDB's where known; `messages` says where each comes from.

mod ast;
mod lexer;
mod messages;
mod parser;
mod translate;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value as Json, json};
use stratus_proto::{AwsError, ValidationFailure};

pub use messages::{DUPLICATE_ITEM, EXISTS_OUTSIDE_TRANSACTION};

use crate::value::Value;

/// The longest statement DynamoDB takes, in characters.
pub const MAX_STATEMENT_CHARS: usize = 8192;

/// The prefix of the members that are markers for the caller, not part of any operation.
pub const MARKER_PREFIX: &str = "Stratus";

/// The item operation a statement is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    PutItem,
    UpdateItem,
    DeleteItem,
    /// SELECT.
    Scan,
    /// `EXISTS(SELECT …)`: the `ConditionCheck` member of TransactWriteItems (ExecuteTransaction
    /// only; elsewhere AWS answers [`EXISTS_OUTSIDE_TRANSACTION`]).
    ConditionCheck,
}

impl Op {
    /// The operation's name (`ConditionCheck` names the TransactWriteItems member).
    pub fn name(self) -> &'static str {
        match self {
            Op::PutItem => "PutItem",
            Op::UpdateItem => "UpdateItem",
            Op::DeleteItem => "DeleteItem",
            Op::Scan => "Scan",
            Op::ConditionCheck => "ConditionCheck",
        }
    }
}

/// One PartiQL statement as the item operation that performs it: the operation's name and its
/// request JSON exactly as a client would send it to that operation (DynamoDB JSON), so the
/// existing operation code runs it.
#[derive(Clone, Debug, PartialEq)]
pub struct Translated {
    pub op: Op,
    pub input: Json,
}

/// Translates one statement. `parameters` are the request's `Parameters` (DynamoDB JSON
/// attribute values, in order, one per `?`).
pub fn translate(statement: &str, parameters: &[Json]) -> Result<Translated, AwsError> {
    let len = statement.chars().count();
    if len == 0 || len > MAX_STATEMENT_CHARS {
        let value = (len <= MAX_STATEMENT_CHARS).then(|| statement.to_string());
        return Err(ValidationFailure::Length {
            path: "Statement".into(),
            member: "Statement".into(),
            len,
            value,
            min: Some(1.0),
            max: Some(MAX_STATEMENT_CHARS as f64),
        }
        .to_validation_exception());
    }
    let mut parser = parser::Parser::new(lexer::lex(statement)?);
    let stmt = parser.statement()?;
    if let Some(refusal) = parser.deferred.take() {
        return Err(refusal);
    }
    if parser.params != parameters.len() {
        return Err(validation(messages::PARAMETER_COUNT));
    }
    let params = parameters.iter().map(|p| Value::from_json(p).map_err(validation)).collect::<Result<Vec<_>, _>>()?;
    translate::statement(stmt, params)
}

impl Translated {
    /// Completes the request for a table whose key attributes are `key` (partition key first):
    ///
    /// - UpdateItem, DeleteItem and ConditionCheck: every key attribute must be in `Key`
    ///   (else AWS's "Where clause does not contain a mandatory equality on all key
    ///   attributes"); the other attributes there leave `Key` for `#kN = :kN` terms ANDed to
    ///   the `ConditionExpression`. For DeleteItem a remaining condition becomes
    ///   `attribute_not_exists(<partition key>) OR <condition>`: AWS deletes nothing and
    ///   succeeds for an item that does not exist, and answers ConditionalCheckFailedException
    ///   only for one that exists and fails the WHERE.
    /// - PutItem (an INSERT): `attribute_not_exists` of the partition key becomes the
    ///   condition (a failure is AWS's `DuplicateItemException`, [`DUPLICATE_ITEM`]).
    /// - Scan: nothing.
    ///
    /// Call it once per translation.
    pub fn apply_key_schema(&mut self, key: &[&str]) -> Result<(), AwsError> {
        let Some(input) = self.input.as_object_mut() else { return Ok(()) };
        match self.op {
            Op::Scan => Ok(()),
            Op::PutItem => {
                let Some(partition) = key.first() else { return Ok(()) };
                let name = fresh(input, "ExpressionAttributeNames", "#k");
                insert_into(input, "ExpressionAttributeNames", name.clone(), json!(partition));
                input.insert("ConditionExpression".into(), json!(format!("attribute_not_exists({name})")));
                Ok(())
            }
            Op::UpdateItem | Op::DeleteItem | Op::ConditionCheck => {
                let mut item_key = match input.remove("Key") {
                    Some(Json::Object(k)) => k,
                    _ => Map::new(),
                };
                if key.iter().any(|k| !item_key.contains_key(*k)) {
                    input.insert("Key".into(), Json::Object(item_key));
                    return Err(validation(messages::INCOMPLETE_KEY));
                }
                let others: Vec<String> = item_key.keys().filter(|k| !key.contains(&k.as_str())).cloned().collect();
                let mut terms = Vec::new();
                for attr in others {
                    let Some(value) = item_key.remove(&attr) else { continue };
                    let n = fresh(input, "ExpressionAttributeNames", "#k");
                    insert_into(input, "ExpressionAttributeNames", n.clone(), json!(attr));
                    let v = fresh(input, "ExpressionAttributeValues", ":k");
                    insert_into(input, "ExpressionAttributeValues", v.clone(), value);
                    terms.push(format!("{n} = {v}"));
                }
                input.insert("Key".into(), Json::Object(item_key));
                let mut parts: Vec<String> =
                    input.get("ConditionExpression").and_then(Json::as_str).map(str::to_string).into_iter().collect();
                parts.extend(terms);
                let mut condition = parts.join(" AND ");
                if self.op == Op::DeleteItem
                    && !condition.is_empty()
                    && let Some(partition) = key.first()
                {
                    // DELETE of an item that does not exist succeeds; the WHERE's conditions
                    // only stop the deletion of one that does. The condition is an AND chain
                    // (ORs inside it in parentheses), so OR binds it whole.
                    let n = fresh(input, "ExpressionAttributeNames", "#k");
                    insert_into(input, "ExpressionAttributeNames", n.clone(), json!(partition));
                    condition = format!("attribute_not_exists({n}) OR {condition}");
                }
                if !condition.is_empty() {
                    input.insert("ConditionExpression".into(), json!(condition));
                }
                Ok(())
            }
        }
    }

    /// Removes the caller's markers (members starting with [`MARKER_PREFIX`]) and returns them:
    /// `StratusInsert` (PutItem from INSERT), `StratusProjection` (Scan: each projected path's
    /// `Name` in the results, its last name and indexes as AWS names it, and its `Path`),
    /// `StratusEqualities` (Scan: the `attr = value` terms of the WHERE's top-level AND, for a
    /// read by key) and `StratusOrderBy` (Scan: `AttributeName` and `Descending` of each ORDER BY
    /// key).
    pub fn strip_markers(&mut self) -> Map<String, Json> {
        let Some(input) = self.input.as_object_mut() else { return Map::new() };
        let markers: Vec<String> = input.keys().filter(|k| k.starts_with(MARKER_PREFIX)).cloned().collect();
        markers.into_iter().filter_map(|k| input.remove(&k).map(|v| (k, v))).collect()
    }
}

/// A placeholder `{prefix}N` not yet in the map `member`.
fn fresh(input: &Map<String, Json>, member: &str, prefix: &str) -> String {
    let taken = input.get(member).and_then(Json::as_object);
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .find(|k| !taken.is_some_and(|m| m.contains_key(k)))
        .unwrap_or_else(|| prefix.to_string())
}

/// Adds `key: value` to the map `member` of the input.
fn insert_into(input: &mut Map<String, Json>, member: &str, key: String, value: Json) {
    let mut map = match input.remove(member) {
        Some(Json::Object(m)) => m,
        _ => Map::new(),
    };
    map.insert(key, value);
    input.insert(member.to_string(), Json::Object(map));
}

fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", message)
}

/// `Statement wasn't well formed, can't be processed: <detail>`.
fn malformed(detail: &str) -> AwsError {
    validation(format!("{}{detail}", messages::NOT_WELL_FORMED))
}
