//! A request's ExpressionAttributeNames and ExpressionAttributeValues, validated as DynamoDB
//! validates them, and which of them the request's expressions used.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::ExprError;
use crate::value::Value;

/// ExpressionAttributeNames / ExpressionAttributeValues of one request, tracking which are used.
#[derive(Clone, Debug, Default)]
pub struct Placeholders {
    names: BTreeMap<String, String>,
    values: BTreeMap<String, Value>,
    used_names: BTreeSet<String>,
    used_values: BTreeSet<String>,
}

/// `#` or `:` followed by one or more of `[0-9a-zA-Z_]`.
fn valid_key(key: &str, sigil: char) -> bool {
    key.strip_prefix(sigil)
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

fn error(message: String) -> ExprError {
    ExprError { message }
}

impl Placeholders {
    pub fn new(names: Option<&Json>, values: Option<&Json>) -> Result<Placeholders, ExprError> {
        Ok(Placeholders {
            names: names.map(parse_names).transpose()?.unwrap_or_default(),
            values: values.map(parse_values).transpose()?.unwrap_or_default(),
            ..Placeholders::default()
        })
    }

    /// The attribute name `key` (`#n`) stands for, marking it used.
    pub(crate) fn name(&mut self, key: &str) -> Option<String> {
        let name = self.names.get(key)?.clone();
        self.used_names.insert(key.to_string());
        Some(name)
    }

    /// The value `key` (`:v`) stands for, marking it used.
    pub(crate) fn value(&mut self, key: &str) -> Option<Value> {
        let value = self.values.get(key)?.clone();
        self.used_values.insert(key.to_string());
        Some(value)
    }

    /// DynamoDB refuses names and values that no expression of the request used.
    pub fn check_all_used(&self) -> Result<(), ExprError> {
        let unused_names = unused(self.names.keys(), &self.used_names);
        if !unused_names.is_empty() {
            return Err(error(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{unused_names}}}"
            )));
        }
        let unused_values = unused(self.values.keys(), &self.used_values);
        if !unused_values.is_empty() {
            return Err(error(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{unused_values}}}"
            )));
        }
        Ok(())
    }
}

fn unused<'a>(keys: impl Iterator<Item = &'a String>, used: &BTreeSet<String>) -> String {
    keys.filter(|k| !used.contains(*k)).map(String::as_str).collect::<Vec<_>>().join(", ")
}

fn parse_names(json: &Json) -> Result<BTreeMap<String, String>, ExprError> {
    let map = json.as_object().ok_or_else(|| error("ExpressionAttributeNames must be a map".into()))?;
    if map.is_empty() {
        return Err(error("ExpressionAttributeNames must not be empty".into()));
    }
    if let Some(key) = map.keys().find(|k| !valid_key(k, '#')) {
        return Err(error(format!("ExpressionAttributeNames contains invalid key: Syntax error; key: \"{key}\"")));
    }
    let mut names = BTreeMap::new();
    for (key, value) in map {
        match value.as_str() {
            Some("") | None => {
                return Err(error(format!(
                    "ExpressionAttributeNames contains invalid value: Empty attribute name for key {key}"
                )));
            }
            Some(name) => {
                names.insert(key.clone(), name.to_string());
            }
        }
    }
    Ok(names)
}

fn parse_values(json: &Json) -> Result<BTreeMap<String, Value>, ExprError> {
    let map = json.as_object().ok_or_else(|| error("ExpressionAttributeValues must be a map".into()))?;
    if map.is_empty() {
        return Err(error("ExpressionAttributeValues must not be empty".into()));
    }
    if let Some(key) = map.keys().find(|k| !valid_key(k, ':')) {
        return Err(error(format!("ExpressionAttributeValues contains invalid key: Syntax error; key: \"{key}\"")));
    }
    let mut values = BTreeMap::new();
    for (key, json) in map {
        let value = Value::from_json(json).map_err(|m| {
            // Here DynamoDB words the "Supplied AttributeValue ..." errors without the prefix
            // it gives them in items.
            let m = m
                .strip_prefix("One or more parameter values were invalid: Supplied")
                .map_or(m.clone(), |rest| format!("Supplied{rest}"));
            error(format!("ExpressionAttributeValues contains invalid value: {m} for key {key}"))
        })?;
        values.insert(key.clone(), value);
    }
    Ok(values)
}
