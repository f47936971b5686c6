//! Attribute values as DynamoDB's JSON writes them (`{"S": "x"}`, `{"N": "1.5"}`,
//! `{"B": base64}`, `{"SS": [...]}`, `{"M": {...}}`, `{"L": [...]}`, `{"NULL": true}`,
//! `{"BOOL": false}`), checked as DynamoDB checks them, and an item's size as DynamoDB counts it.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value as Json, json};

use crate::number::Number;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    S(String),
    N(Number),
    B(Vec<u8>),
    Ss(Vec<String>),
    Ns(Vec<Number>),
    Bs(Vec<Vec<u8>>),
    M(BTreeMap<String, Value>),
    L(Vec<Value>),
    Null,
    Bool(bool),
}

pub type Item = BTreeMap<String, Value>;

/// How deep maps and lists may nest (DynamoDB's limit is 32 levels).
const MAX_DEPTH: usize = 32;

fn invalid(message: impl std::fmt::Display) -> String {
    format!("One or more parameter values were invalid: {message}")
}

fn no_duplicates<T: PartialEq + std::fmt::Debug>(items: &[T], shown: impl Fn(&T) -> String) -> Result<(), String> {
    for (i, a) in items.iter().enumerate() {
        if items[..i].contains(a) {
            let all: Vec<String> = items.iter().map(&shown).collect();
            return Err(invalid(format!("Input collection [{}] contains duplicates.", all.join(", "))));
        }
    }
    Ok(())
}

fn binary(v: &Json) -> Result<Vec<u8>, String> {
    let s = v.as_str().ok_or("Invalid binary value: expected a base64 string")?;
    STANDARD.decode(s).map_err(|_| "Invalid binary value: not base64".to_string())
}

fn strings(v: &Json, what: &str) -> Result<Vec<String>, String> {
    let list = v.as_array().ok_or_else(|| format!("Invalid {what}: expected a list"))?;
    list.iter()
        .map(|x| x.as_str().map(str::to_string).ok_or_else(|| format!("Invalid {what}: expected strings")))
        .collect()
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::S(_) => "S",
            Value::N(_) => "N",
            Value::B(_) => "B",
            Value::Ss(_) => "SS",
            Value::Ns(_) => "NS",
            Value::Bs(_) => "BS",
            Value::M(_) => "M",
            Value::L(_) => "L",
            Value::Null => "NULL",
            Value::Bool(_) => "BOOL",
        }
    }

    /// One attribute value of DynamoDB's JSON; the error is a ValidationException's message.
    pub fn from_json(v: &Json) -> Result<Value, String> {
        Value::parse(v, 0)
    }

    fn parse(v: &Json, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(
                "Nesting Levels have exceeded supported limits: Nesting levels of attribute values must not exceed 32"
                    .into(),
            );
        }
        let obj = v.as_object().ok_or_else(|| "Supplied AttributeValue is not an object".to_string())?;
        let mut set = obj.iter().filter(|(_, x)| !x.is_null());
        let (kind, x) = match (set.next(), set.next()) {
            (Some(one), None) => one,
            (None, _) => {
                return Err(invalid(
                    "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
                ));
            }
        };
        Ok(match kind.as_str() {
            "S" => Value::S(x.as_str().ok_or("Invalid S value: expected a string")?.to_string()),
            "N" => Value::N(Number::parse(x.as_str().ok_or("Invalid N value: expected a string")?)?),
            "B" => Value::B(binary(x)?),
            "BOOL" => Value::Bool(x.as_bool().ok_or("Invalid BOOL value: expected true or false")?),
            "NULL" => {
                if x.as_bool() != Some(true) {
                    return Err(invalid("Null attribute value types must have the value of true"));
                }
                Value::Null
            }
            "SS" => {
                let s = strings(x, "SS")?;
                if s.is_empty() {
                    return Err(invalid("An string set  may not be empty"));
                }
                no_duplicates(&s, String::clone)?;
                Value::Ss(s)
            }
            "NS" => {
                let n = strings(x, "NS")?.iter().map(|s| Number::parse(s)).collect::<Result<Vec<_>, _>>()?;
                if n.is_empty() {
                    return Err(invalid("An number set  may not be empty"));
                }
                no_duplicates(&n, Number::to_string)?;
                Value::Ns(n)
            }
            "BS" => {
                let list = x.as_array().ok_or("Invalid BS value: expected a list")?;
                let b = list.iter().map(binary).collect::<Result<Vec<_>, _>>()?;
                if b.is_empty() {
                    return Err(invalid("Binary sets should not be empty"));
                }
                no_duplicates(&b, |x| STANDARD.encode(x))?;
                Value::Bs(b)
            }
            "M" => {
                let m = x.as_object().ok_or("Invalid M value: expected a map")?;
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    out.insert(k.clone(), Value::parse(v, depth + 1)?);
                }
                Value::M(out)
            }
            "L" => {
                let l = x.as_array().ok_or("Invalid L value: expected a list")?;
                Value::L(l.iter().map(|v| Value::parse(v, depth + 1)).collect::<Result<_, _>>()?)
            }
            other => {
                return Err(format!("Supplied AttributeValue has an unknown datatype: {other}"));
            }
        })
    }

    pub fn to_json(&self) -> Json {
        match self {
            Value::S(s) => json!({"S": s}),
            Value::N(n) => json!({"N": n.to_string()}),
            Value::B(b) => json!({"B": STANDARD.encode(b)}),
            Value::Ss(s) => json!({"SS": s}),
            Value::Ns(n) => json!({"NS": n.iter().map(Number::to_string).collect::<Vec<_>>()}),
            Value::Bs(b) => json!({"BS": b.iter().map(|x| STANDARD.encode(x)).collect::<Vec<_>>()}),
            Value::M(m) => json!({"M": item_to_json(m)}),
            Value::L(l) => json!({"L": l.iter().map(Value::to_json).collect::<Vec<_>>()}),
            Value::Null => json!({"NULL": true}),
            Value::Bool(b) => json!({"BOOL": b}),
        }
    }

    /// The value's size as DynamoDB counts it: UTF-8 bytes of strings, bytes of binaries,
    /// about one byte per two significant digits plus one for numbers, one byte for NULL and
    /// BOOL, three bytes plus one per element for lists and maps (and map keys).
    pub fn size(&self) -> usize {
        let number = |n: &Number| n.precision().div_ceil(2) + 1;
        match self {
            Value::S(s) => s.len(),
            Value::N(n) => number(n),
            Value::B(b) => b.len(),
            Value::Ss(s) => s.iter().map(String::len).sum(),
            Value::Ns(n) => n.iter().map(number).sum(),
            Value::Bs(b) => b.iter().map(Vec::len).sum(),
            Value::M(m) => 3 + m.iter().map(|(k, v)| k.len() + v.size() + 1).sum::<usize>(),
            Value::L(l) => 3 + l.iter().map(|v| v.size() + 1).sum::<usize>(),
            Value::Null | Value::Bool(_) => 1,
        }
    }
}

/// An item (`{"attr": {"S": ...}, ...}`).
pub fn item_from_json(v: &Json) -> Result<Item, String> {
    let obj = v.as_object().ok_or_else(|| "Invalid item: expected a map of attribute values".to_string())?;
    let mut item = Item::new();
    for (k, v) in obj {
        item.insert(k.clone(), Value::from_json(v)?);
    }
    Ok(item)
}

pub fn item_to_json(item: &Item) -> Json {
    Json::Object(item.iter().map(|(k, v)| (k.clone(), v.to_json())).collect::<Map<_, _>>())
}

/// An item's size: each attribute's name and value.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + v.size()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_type() {
        let item = json!({
            "s": {"S": "x"}, "n": {"N": "1.50"}, "b": {"B": "AQI="}, "ss": {"SS": ["a", "b"]},
            "ns": {"NS": ["1", "2"]}, "bs": {"BS": ["AQ=="]}, "m": {"M": {"k": {"BOOL": true}}},
            "l": {"L": [{"NULL": true}, {"S": ""}]},
        });
        let parsed = item_from_json(&item).expect("item");
        let mut expected = item.clone();
        expected["n"] = json!({"N": "1.5"});
        assert_eq!(item_to_json(&parsed), expected);
    }

    #[test]
    fn refuses_what_dynamodb_refuses() {
        let err = |v: Json| Value::from_json(&v).expect_err("invalid");
        assert!(err(json!({})).contains("Supplied AttributeValue is empty"));
        assert!(err(json!({"S": "a", "N": "1"})).contains("more than one datatypes"));
        assert_eq!(
            err(json!({"SS": []})),
            "One or more parameter values were invalid: An string set  may not be empty"
        );
        assert!(err(json!({"SS": ["a", "a"]})).contains("Input collection [a, a] contains duplicates."));
        assert!(err(json!({"NS": ["1", "1.0"]})).contains("contains duplicates"));
        assert!(err(json!({"NULL": false})).contains("Null attribute value types must have the value of true"));
        assert!(err(json!({"N": "x"})).contains("cannot be converted to a numeric value"));
        let mut deep = json!({"S": "leaf"});
        for _ in 0..40 {
            deep = json!({"L": [deep]});
        }
        assert!(err(deep).contains("Nesting Levels"));
    }

    #[test]
    fn sizes() {
        let item = item_from_json(&json!({"id": {"S": "abc"}, "n": {"N": "12345"}})).expect("item");
        assert_eq!(item_size(&item), 2 + 3 + 1 + 4);
    }
}
