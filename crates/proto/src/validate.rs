//! Checks a decoded input against its model shape: required members, types, enums, ranges and
//! lengths. The first failure is reported, as AWS does for most services.

use serde_json::Value;

use crate::error::ValidationFailure;
use crate::model::{ServiceModel, ShapeKind};

#[derive(Debug, Clone, Copy)]
pub struct Checks {
    /// Check string values against the shape's enum (some services report unknown values with
    /// their own error instead).
    pub enums: bool,
    /// Check numeric ranges and lengths.
    pub ranges: bool,
}

impl Default for Checks {
    fn default() -> Self {
        Self { enums: true, ranges: true }
    }
}

pub fn validate(model: &ServiceModel, shape: &str, value: &Value, checks: Checks) -> Result<(), ValidationFailure> {
    walk(model, shape, value, "", "", checks)
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn walk(
    model: &ServiceModel,
    shape_name: &str,
    v: &Value,
    path: &str,
    member: &str,
    checks: Checks,
) -> Result<(), ValidationFailure> {
    let Some(shape) = model.shape(shape_name) else { return Ok(()) };
    let type_err = |expected: &'static str| ValidationFailure::Type {
        path: path.to_string(),
        member: member.to_string(),
        expected,
        value: describe(v),
    };
    let length = |len: usize, value: Option<&str>| -> Result<(), ValidationFailure> {
        if !checks.ranges {
            return Ok(());
        }
        let l = len as f64;
        if shape.min.is_some_and(|m| l < m) || shape.max.is_some_and(|m| l > m) {
            return Err(ValidationFailure::Length {
                path: path.to_string(),
                member: member.to_string(),
                len,
                value: value.map(str::to_string),
                min: shape.min,
                max: shape.max,
            });
        }
        Ok(())
    };
    match shape.kind {
        ShapeKind::Structure => {
            let Value::Object(obj) = v else { return Err(type_err("structure")) };
            for req in &shape.required {
                if obj.get(req).is_none_or(Value::is_null) {
                    return Err(ValidationFailure::Missing { path: join(path, req), member: req.clone() });
                }
            }
            for (name, m) in &shape.members {
                if let Some(child) = obj.get(name).filter(|c| !c.is_null()) {
                    walk(model, &m.shape, child, &join(path, name), name, checks)?;
                }
            }
        }
        ShapeKind::List => {
            let Value::Array(items) = v else { return Err(type_err("list")) };
            length(items.len(), None)?;
            if let Some(m) = &shape.member {
                for (i, item) in items.iter().enumerate() {
                    walk(model, &m.shape, item, &join(path, &(i + 1).to_string()), member, checks)?;
                }
            }
        }
        ShapeKind::Map => {
            let Value::Object(obj) = v else { return Err(type_err("map")) };
            length(obj.len(), None)?;
            for (k, item) in obj {
                if let Some(key) = &shape.key {
                    walk(model, &key.shape, &Value::String(k.clone()), &join(path, k), member, checks)?;
                }
                if let Some(val) = &shape.value {
                    walk(model, &val.shape, item, &join(path, k), member, checks)?;
                }
            }
        }
        ShapeKind::String => {
            let Value::String(s) = v else { return Err(type_err("string")) };
            if checks.enums
                && let Some(allowed) = &shape.enum_values
                && !allowed.iter().any(|a| a == s)
            {
                return Err(ValidationFailure::Enum {
                    path: path.to_string(),
                    member: member.to_string(),
                    value: s.clone(),
                    allowed: allowed.clone(),
                });
            }
            length(s.chars().count(), Some(s))?;
        }
        ShapeKind::Integer | ShapeKind::Long => {
            let Some(n) = v.as_i64() else { return Err(type_err("integer")) };
            range(shape.min, shape.max, n as f64, v, path, member, checks)?;
        }
        ShapeKind::Float | ShapeKind::Double => {
            let Some(n) = v.as_f64() else { return Err(type_err("number")) };
            range(shape.min, shape.max, n, v, path, member, checks)?;
        }
        ShapeKind::Boolean => {
            if !v.is_boolean() {
                return Err(type_err("boolean"));
            }
        }
        ShapeKind::Timestamp => {
            if !v.is_number() && !v.is_string() {
                return Err(type_err("timestamp"));
            }
        }
        ShapeKind::Blob => {
            let Value::String(s) = v else { return Err(type_err("blob")) };
            length(s.len() / 4 * 3, None)?;
        }
    }
    Ok(())
}

fn range(
    min: Option<f64>,
    max: Option<f64>,
    n: f64,
    v: &Value,
    path: &str,
    member: &str,
    checks: Checks,
) -> Result<(), ValidationFailure> {
    if checks.ranges && (min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m)) {
        return Err(ValidationFailure::Range {
            path: path.to_string(),
            member: member.to_string(),
            value: describe(v),
            min,
            max,
        });
    }
    Ok(())
}

fn join(path: &str, seg: &str) -> String {
    if path.is_empty() { seg.to_string() } else { format!("{path}.{seg}") }
}
