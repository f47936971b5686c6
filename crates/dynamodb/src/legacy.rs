//! The legacy (non-expression) parameters older SDK code sends — `KeyConditions`,
//! `QueryFilter`, `ScanFilter`, `Expected` with `ConditionalOperator`, `AttributeUpdates` —
//! rewritten into the expressions they mean (`KeyConditionExpression`, `FilterExpression`,
//! `ConditionExpression`, `UpdateExpression`) with their own placeholders, so the one expression
//! engine serves both. As on AWS, a request may not mix the two kinds.

use serde_json::{Map, Value as Json, json};
use stratus_proto::AwsError;

use crate::errors::{invalid, validation};

const LEGACY: &[&str] =
    &["KeyConditions", "QueryFilter", "ScanFilter", "Expected", "AttributeUpdates", "ConditionalOperator"];
const EXPRESSIONS: &[&str] = &[
    "KeyConditionExpression",
    "FilterExpression",
    "ConditionExpression",
    "UpdateExpression",
    "ProjectionExpression",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
];

#[derive(Default)]
struct Placeholders {
    names: Map<String, Json>,
    values: Map<String, Json>,
}

impl Placeholders {
    fn name(&mut self, attr: &str) -> String {
        let n = format!("#l{}", self.names.len());
        self.names.insert(n.clone(), json!(attr));
        n
    }

    fn value(&mut self, v: &Json) -> String {
        let n = format!(":l{}", self.values.len());
        self.values.insert(n.clone(), v.clone());
        n
    }
}

/// `{ComparisonOperator, AttributeValueList}` on `attr` as a condition.
fn comparison(p: &mut Placeholders, attr: &str, c: &Json) -> Result<String, AwsError> {
    let op = c.get("ComparisonOperator").and_then(Json::as_str).unwrap_or_default();
    let args = c.get("AttributeValueList").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    let want = match op {
        "NULL" | "NOT_NULL" => 0..=0,
        "BETWEEN" => 2..=2,
        "IN" => 1..=100,
        _ => 1..=1,
    };
    if !want.contains(&args.len()) {
        return Err(invalid(format!("Invalid number of argument(s) for the {op} ComparisonOperator")));
    }
    let n = p.name(attr);
    let v: Vec<String> = args.iter().map(|a| p.value(a)).collect();
    let first = v.first().cloned().unwrap_or_default();
    Ok(match op {
        "EQ" => format!("{n} = {first}"),
        "NE" => format!("{n} <> {first}"),
        "LE" => format!("{n} <= {first}"),
        "LT" => format!("{n} < {first}"),
        "GE" => format!("{n} >= {first}"),
        "GT" => format!("{n} > {first}"),
        "NOT_NULL" => format!("attribute_exists({n})"),
        "NULL" => format!("attribute_not_exists({n})"),
        "CONTAINS" => format!("contains({n}, {first})"),
        "NOT_CONTAINS" => format!("NOT contains({n}, {first})"),
        "BEGINS_WITH" => format!("begins_with({n}, {first})"),
        "IN" => format!("{n} IN ({})", v.join(", ")),
        "BETWEEN" => format!("{n} BETWEEN {first} AND {}", v[1]),
        other => {
            return Err(validation(format!(
                "1 validation error detected: Value '{other}' at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"
            )));
        }
    })
}

/// A map of attribute → comparison, joined by `joiner`.
fn conditions(p: &mut Placeholders, map: &Json, joiner: &str) -> Result<String, AwsError> {
    let mut parts = Vec::new();
    for (attr, c) in map.as_object().into_iter().flatten() {
        parts.push(comparison(p, attr, c)?);
    }
    Ok(parts.join(&format!(" {joiner} ")))
}

/// `Expected`: per attribute a `Value` (equal), `Exists: false` (absent), or a comparison.
fn expected(p: &mut Placeholders, map: &Json, joiner: &str) -> Result<String, AwsError> {
    let mut parts = Vec::new();
    for (attr, e) in map.as_object().into_iter().flatten() {
        if e.get("ComparisonOperator").is_some() {
            parts.push(comparison(p, attr, e)?);
            continue;
        }
        let exists = e.get("Exists").and_then(Json::as_bool).unwrap_or(true);
        parts.push(match (exists, e.get("Value")) {
            (true, Some(v)) => {
                let n = p.name(attr);
                format!("{n} = {}", p.value(v))
            }
            (false, None) => format!("attribute_not_exists({})", p.name(attr)),
            (false, Some(_)) => {
                return Err(invalid("Value cannot be used when Exists is false for Attribute: ".to_string() + attr));
            }
            (true, None) => {
                return Err(invalid("Value must be provided when Exists is true for Attribute: ".to_string() + attr));
            }
        });
    }
    Ok(parts.join(&format!(" {joiner} ")))
}

/// `AttributeUpdates`: PUT (the default), ADD and DELETE per attribute.
fn updates(p: &mut Placeholders, map: &Json) -> Result<String, AwsError> {
    let (mut set, mut add, mut delete, mut remove) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (attr, u) in map.as_object().into_iter().flatten() {
        let action = u.get("Action").and_then(Json::as_str).unwrap_or("PUT");
        let n = p.name(attr);
        match (action, u.get("Value")) {
            ("PUT", Some(v)) => set.push(format!("{n} = {}", p.value(v))),
            ("DELETE", None) => remove.push(n),
            ("DELETE", Some(v)) => delete.push(format!("{n} {}", p.value(v))),
            ("ADD", Some(v)) if v.get("L").is_some() => {
                let empty = p.value(&json!({"L": []}));
                set.push(format!("{n} = list_append(if_not_exists({n}, {empty}), {})", p.value(v)));
            }
            ("ADD", Some(v)) => add.push(format!("{n} {}", p.value(v))),
            (other, None) => {
                return Err(invalid(format!(
                    "Only DELETE action is allowed when no attribute value is specified: {other}"
                )));
            }
            (other, _) => return Err(validation(format!("Unknown AttributeAction: {other}"))),
        }
    }
    let mut out = Vec::new();
    for (clause, items) in [("SET", set), ("ADD", add), ("DELETE", delete), ("REMOVE", remove)] {
        if !items.is_empty() {
            out.push(format!("{clause} {}", items.join(", ")));
        }
    }
    Ok(out.join(" "))
}

/// Rewrites a request's legacy parameters into expressions (in place).
pub fn translate(input: &mut Json) -> Result<(), AwsError> {
    let Some(obj) = input.as_object() else { return Ok(()) };
    let legacy: Vec<&str> = LEGACY.iter().copied().filter(|k| obj.contains_key(*k)).collect();
    if legacy.is_empty() {
        return Ok(());
    }
    let expressions: Vec<&str> = EXPRESSIONS.iter().copied().filter(|k| obj.contains_key(*k)).collect();
    if !expressions.is_empty() {
        return Err(validation(format!(
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
            legacy.join(", "),
            expressions.join(", ")
        )));
    }
    let joiner = obj.get("ConditionalOperator").and_then(Json::as_str).unwrap_or("AND").to_string();
    if joiner != "AND" && joiner != "OR" {
        return Err(validation(format!(
            "1 validation error detected: Value '{joiner}' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [AND, OR]"
        )));
    }
    let mut p = Placeholders::default();
    let mut out = Map::new();
    if let Some(k) = obj.get("KeyConditions") {
        out.insert("KeyConditionExpression".into(), json!(conditions(&mut p, k, "AND")?));
    }
    for member in ["QueryFilter", "ScanFilter"] {
        if let Some(f) = obj.get(member) {
            out.insert("FilterExpression".into(), json!(conditions(&mut p, f, &joiner)?));
        }
    }
    if let Some(e) = obj.get("Expected") {
        out.insert("ConditionExpression".into(), json!(expected(&mut p, e, &joiner)?));
    }
    if let Some(u) = obj.get("AttributeUpdates") {
        let text = updates(&mut p, u)?;
        if !text.is_empty() {
            out.insert("UpdateExpression".into(), json!(text));
        }
    }
    if let Some(o) = input.as_object_mut() {
        for k in LEGACY {
            o.remove(*k);
        }
        if !p.names.is_empty() {
            o.insert("ExpressionAttributeNames".into(), Json::Object(p.names));
        }
        if !p.values.is_empty() {
            o.insert("ExpressionAttributeValues".into(), Json::Object(p.values));
        }
        o.extend(out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_parameters_become_expressions() {
        let mut q = json!({"TableName": "t", "KeyConditions": {
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]},
        }, "QueryFilter": {"n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "5"}]}}});
        translate(&mut q).expect("translate");
        assert_eq!(q["KeyConditionExpression"], "#l0 = :l0");
        assert_eq!(q["FilterExpression"], "#l1 BETWEEN :l1 AND :l2");
        assert_eq!(q["ExpressionAttributeNames"], json!({"#l0": "pk", "#l1": "n"}));
        assert!(q.get("KeyConditions").is_none());
        let mut u = json!({"Expected": {"v": {"Exists": false}}, "AttributeUpdates": {
            "a": {"Value": {"S": "x"}}, "n": {"Action": "ADD", "Value": {"N": "1"}}, "gone": {"Action": "DELETE"}}});
        translate(&mut u).expect("translate");
        assert_eq!(u["ConditionExpression"], "attribute_not_exists(#l0)");
        assert_eq!(u["UpdateExpression"], "SET #l1 = :l0 ADD #l3 :l1 REMOVE #l2");
        let mut mixed = json!({"Expected": {}, "ConditionExpression": "x = :y"});
        assert!(translate(&mut mixed).expect_err("mixed").message.contains("Can not use both"));
        let mut bad = json!({"ScanFilter": {"a": {"ComparisonOperator": "EQ", "AttributeValueList": []}}});
        assert!(translate(&mut bad).expect_err("arity").message.contains("Invalid number of argument(s) for the EQ"));
    }
}
