//! Patch operations (`patchOperations` of every `Update…`): JSON-pointer paths (`~1` for `/`)
//! into the resource's shape, with values given as strings and converted to the member's type
//! by the model. Maps take a key (`/variables/name`), lists of strings an element
//! (`add /binaryMediaTypes/image~1png`); a path outside what a resource lets change is
//! answered as AWS does.

use serde::Deserialize;
use serde_json::{Map, Value};
use stratus_proto::AwsError;
use stratus_proto::model::{ServiceModel, ShapeKind};

use crate::errors::bad_request;

#[derive(Debug, Clone, Deserialize)]
pub struct PatchOp {
    pub op: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

pub fn ops(input: &Value) -> Result<Vec<PatchOp>, AwsError> {
    match input.get("patchOperations") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| bad_request(format!("Invalid patch operations: {e}"))),
    }
}

/// The path's segments, unescaped.
pub fn segments(path: &str) -> Vec<String> {
    path.trim_start_matches('/').split('/').map(|s| s.replace("~1", "/").replace("~0", "~")).collect()
}

pub fn invalid_path(op: &PatchOp) -> AwsError {
    bad_request(format!(
        "Invalid patch path '{}' specified for op '{}'. Please choose supported operations",
        op.path.as_deref().unwrap_or(""),
        op.op
    ))
}

/// A resource's own handling of some paths: whether it handled the operation.
pub type Special<'a> = dyn FnMut(&PatchOp, &[String], &mut Value) -> Result<bool, AwsError> + 'a;

/// Applies `ops` to `target`, an instance of the model's shape `shape`, changing only the
/// members named in `patchable`. `special` sees each operation first and returns whether it
/// handled it (paths that are not member names, like a stage's method settings).
pub fn apply(
    model: &ServiceModel,
    shape: &str,
    target: &mut Value,
    ops: &[PatchOp],
    patchable: &[&str],
    special: &mut Special<'_>,
) -> Result<(), AwsError> {
    for op in ops {
        let path = op.path.as_deref().unwrap_or("");
        let segs = segments(path);
        if special(op, &segs, target)? {
            continue;
        }
        let Some(first) = segs.first().filter(|f| patchable.contains(&f.as_str())) else {
            return Err(invalid_path(op));
        };
        let member_shape = model
            .shape(shape)
            .and_then(|s| s.members.get(first.as_str()))
            .map(|m| m.shape.clone())
            .ok_or_else(|| invalid_path(op))?;
        let Value::Object(obj) = target else { return Err(AwsError::internal("patch target is not an object")) };
        apply_member(model, &member_shape, obj, first, &segs[1..], op)?;
    }
    Ok(())
}

fn apply_member(
    model: &ServiceModel,
    shape_name: &str,
    obj: &mut Map<String, Value>,
    name: &str,
    rest: &[String],
    op: &PatchOp,
) -> Result<(), AwsError> {
    let shape = model.shape(shape_name).ok_or_else(|| invalid_path(op))?;
    let is_remove = op.op == "remove";
    match shape.kind {
        ShapeKind::Map => {
            let value_shape = shape.value.as_ref().map(|m| m.shape.clone()).unwrap_or_default();
            match rest {
                [] if is_remove => {
                    obj.remove(name);
                    Ok(())
                }
                [] => Err(invalid_path(op)),
                [key, deeper @ ..] => {
                    let map = obj.entry(name.to_string()).or_insert_with(|| Value::Object(Map::new()));
                    if !map.is_object() {
                        *map = Value::Object(Map::new());
                    }
                    let Value::Object(map) = map else { return Err(invalid_path(op)) };
                    if deeper.is_empty() {
                        if is_remove {
                            map.remove(key);
                        } else {
                            map.insert(key.clone(), convert(model, &value_shape, op)?);
                        }
                        Ok(())
                    } else {
                        apply_member(model, &value_shape, map, key, deeper, op)
                    }
                }
            }
        }
        ShapeKind::List => {
            let list = obj.entry(name.to_string()).or_insert_with(|| Value::Array(Vec::new()));
            if !list.is_array() {
                *list = Value::Array(Vec::new());
            }
            let Value::Array(items) = list else { return Err(invalid_path(op)) };
            // The element is the rest of the path, or the value.
            let element = if rest.is_empty() { op.value.clone() } else { Some(rest.join("/")) };
            match (op.op.as_str(), element) {
                ("add", Some(e)) => {
                    if !items.iter().any(|i| i.as_str() == Some(&e)) {
                        items.push(Value::String(e));
                    }
                }
                ("remove", Some(e)) => items.retain(|i| i.as_str() != Some(&e)),
                ("remove", None) => {
                    obj.remove(name);
                }
                ("replace", Some(e)) if !rest.is_empty() => {
                    let new = op.value.clone().ok_or_else(|| bad_request("Missing value for replace"))?;
                    for i in items.iter_mut() {
                        if i.as_str() == Some(&e) {
                            *i = Value::String(new.clone());
                        }
                    }
                }
                ("replace", Some(e)) => *items = vec![Value::String(e)],
                _ => return Err(invalid_path(op)),
            }
            Ok(())
        }
        ShapeKind::Structure => match rest {
            [] if is_remove => {
                obj.remove(name);
                Ok(())
            }
            [] => Err(invalid_path(op)),
            [member, deeper @ ..] => {
                let inner =
                    shape.members.get(member.as_str()).map(|m| m.shape.clone()).ok_or_else(|| invalid_path(op))?;
                let child = obj.entry(name.to_string()).or_insert_with(|| Value::Object(Map::new()));
                if !child.is_object() {
                    *child = Value::Object(Map::new());
                }
                let Value::Object(child) = child else { return Err(invalid_path(op)) };
                apply_member(model, &inner, child, member, deeper, op)
            }
        },
        _ if !rest.is_empty() => Err(invalid_path(op)),
        _ if is_remove => {
            obj.remove(name);
            Ok(())
        }
        _ => {
            obj.insert(name.to_string(), convert(model, shape_name, op)?);
            Ok(())
        }
    }
}

/// The operation's value as the member's type.
fn convert(model: &ServiceModel, shape: &str, op: &PatchOp) -> Result<Value, AwsError> {
    let raw = op
        .value
        .clone()
        .ok_or_else(|| bad_request(format!("Invalid null value for '{}'", op.path.as_deref().unwrap_or(""))))?;
    let kind = model.shape(shape).map(|s| s.kind).unwrap_or(ShapeKind::String);
    let bad = || bad_request(format!("Invalid value '{raw}' for '{}'", op.path.as_deref().unwrap_or("")));
    Ok(match kind {
        ShapeKind::Boolean => match raw.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad()),
        },
        ShapeKind::Integer | ShapeKind::Long => Value::from(raw.trim().parse::<i64>().map_err(|_| bad())?),
        ShapeKind::Double | ShapeKind::Float => {
            let f = raw.trim().parse::<f64>().map_err(|_| bad())?;
            serde_json::Number::from_f64(f).map(Value::Number).ok_or_else(bad)?
        }
        _ => Value::String(raw),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn model() -> &'static ServiceModel {
        crate::model().unwrap()
    }

    fn op(op: &str, path: &str, value: Option<&str>) -> PatchOp {
        PatchOp { op: op.into(), path: Some(path.into()), value: value.map(Into::into) }
    }

    #[test]
    fn members_maps_and_lists_by_the_model() {
        let mut api = json!({"name": "a", "binaryMediaTypes": ["image/png"]});
        let ops = vec![
            op("replace", "/name", Some("b")),
            op("replace", "/minimumCompressionSize", Some("1024")),
            op("replace", "/disableExecuteApiEndpoint", Some("true")),
            op("add", "/binaryMediaTypes/application~1octet-stream", None),
            op("remove", "/binaryMediaTypes/image~1png", None),
        ];
        let fields = ["name", "minimumCompressionSize", "disableExecuteApiEndpoint", "binaryMediaTypes"];
        apply(model(), "RestApi", &mut api, &ops, &fields, &mut |_, _, _| Ok(false)).unwrap();
        assert_eq!(
            api,
            json!({"name": "b", "minimumCompressionSize": 1024, "disableExecuteApiEndpoint": true,
                "binaryMediaTypes": ["application/octet-stream"]})
        );
        let mut stage = json!({"stageName": "s"});
        let ops = vec![op("replace", "/variables/env", Some("prod")), op("replace", "/variables/x", Some("1"))];
        apply(model(), "Stage", &mut stage, &ops, &["variables"], &mut |_, _, _| Ok(false)).unwrap();
        let ops = vec![op("remove", "/variables/x", None)];
        apply(model(), "Stage", &mut stage, &ops, &["variables"], &mut |_, _, _| Ok(false)).unwrap();
        assert_eq!(stage["variables"], json!({"env": "prod"}));
    }

    #[test]
    fn refuses_paths_outside_the_patchable_members_and_bad_values() {
        let mut api = json!({"id": "x"});
        let e = apply(model(), "RestApi", &mut api, &[op("replace", "/id", Some("y"))], &["name"], &mut |_, _, _| {
            Ok(false)
        })
        .unwrap_err();
        assert_eq!(e.code, "BadRequestException");
        let e = apply(
            model(),
            "RestApi",
            &mut api,
            &[op("replace", "/minimumCompressionSize", Some("lots"))],
            &["minimumCompressionSize"],
            &mut |_, _, _| Ok(false),
        )
        .unwrap_err();
        assert_eq!(e.code, "BadRequestException");
        assert_eq!(api, json!({"id": "x"}));
    }
}
