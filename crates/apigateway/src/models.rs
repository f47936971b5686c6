//! Models (JSON Schema draft 4 documents that request validators check bodies against) and
//! request validators.

use serde_json::{Map, Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{self, bad_request, conflict};
use crate::restapis::{load, modify};
use crate::store::ApiDoc;
use crate::{Inner, patch, s};

/// The models every new API has.
pub fn defaults(i: &Inner) -> Vec<(String, Value)> {
    vec![
        (
            "Empty".into(),
            json!({"id": i.id(6), "name": "Empty", "description": "This is a default empty schema model",
                "schema": "{\n  \"$schema\": \"http://json-schema.org/draft-04/schema#\",\n  \"title\" : \"Empty Schema\",\n  \"type\" : \"object\"\n}",
                "contentType": "application/json"}),
        ),
        (
            "Error".into(),
            json!({"id": i.id(6), "name": "Error", "description": "This is a default error schema model",
                "schema": "{\n  \"$schema\" : \"http://json-schema.org/draft-04/schema#\",\n  \"title\" : \"Error Schema\",\n  \"type\" : \"object\",\n  \"properties\" : {\n    \"message\" : { \"type\" : \"string\" }\n  }\n}",
                "contentType": "application/json"}),
        ),
    ]
}

fn model_not_found() -> AwsError {
    errors::not_found("Invalid model name specified")
}

/// A model's schema compiled, its references to other models resolved in `doc`.
pub fn compile(doc: &ApiDoc, schema_text: &str) -> Result<crate::schema::Schema, String> {
    let schema: Value =
        serde_json::from_str(schema_text).map_err(|e| format!("Invalid model schema specified: {e}"))?;
    let models = |uri: &str| -> Option<Value> {
        let name = uri.rsplit('/').next()?;
        let m = doc.models.get(name)?;
        serde_json::from_str(m.get("schema")?.as_str()?).ok()
    };
    crate::schema::Schema::compile(&schema, &models)
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "name").to_string();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad_request("Model name must be alphanumeric"));
    }
    let content_type = s(&input, "contentType");
    if content_type.is_empty() {
        return Err(bad_request("Invalid content type specified: null"));
    }
    let mut m = json!({"id": i.id(6), "name": name, "contentType": content_type});
    for k in ["schema", "description"] {
        if let Some(v) = input.get(k).filter(|v| !v.is_null()) {
            m[k] = v.clone();
        }
    }
    modify(i, ctx, s(&input, "restApiId"), move |doc| {
        if doc.models.contains_key(&name) {
            return Err(conflict("Model name already exists for this REST API"));
        }
        if let Some(text) = m.get("schema").and_then(Value::as_str) {
            compile(doc, text).map_err(bad_request)?;
        }
        doc.models.insert(name, m.clone());
        Ok(m)
    })
    .await
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = load(i, ctx, s(&input, "restApiId")).await?;
    doc.models.get(s(&input, "modelName")).cloned().ok_or_else(model_not_found)
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = load(i, ctx, s(&input, "restApiId")).await?;
    Ok(crate::page(doc.models.into_values().collect(), &input))
}

pub async fn update(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ops = patch::ops(&input)?;
    let name = s(&input, "modelName").to_string();
    let model = i.model;
    modify(i, ctx, s(&input, "restApiId"), move |doc| {
        let mut m = doc.models.get(&name).cloned().ok_or_else(model_not_found)?;
        patch::apply(model, "Model", &mut m, &ops, &["schema", "description"], &mut |_, _, _| Ok(false))?;
        if let Some(text) = m.get("schema").and_then(Value::as_str) {
            compile(doc, text).map_err(bad_request)?;
        }
        doc.models.insert(name, m.clone());
        Ok(m)
    })
    .await
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "modelName").to_string();
    modify(i, ctx, s(&input, "restApiId"), move |doc| {
        if !doc.models.contains_key(&name) {
            return Err(model_not_found());
        }
        let used = doc.resources.values().flat_map(|r| r.methods.values()).any(|m| {
            m.get("requestModels").and_then(Value::as_object).is_some_and(|ms| ms.values().any(|v| v == name.as_str()))
        });
        if used {
            return Err(conflict(format!("Cannot delete model '{name}', is referenced in method request")));
        }
        doc.models.remove(&name);
        Ok(Value::Object(Map::new()))
    })
    .await
}

/// A mapping template that copies the model's properties, as GetModelTemplate generates.
pub async fn template(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = load(i, ctx, s(&input, "restApiId")).await?;
    let m = doc.models.get(s(&input, "modelName")).ok_or_else(model_not_found)?;
    let schema: Value =
        m.get("schema").and_then(Value::as_str).and_then(|t| serde_json::from_str(t).ok()).unwrap_or(Value::Null);
    let mut out = String::from("#set($inputRoot = $input.path('$'))\n{\n");
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        let lines: Vec<String> = props
            .iter()
            .map(|(k, p)| match p.get("type").and_then(Value::as_str) {
                Some("string") => format!("  \"{k}\" : \"$inputRoot.{k}\""),
                _ => format!("  \"{k}\" : $inputRoot.{k}"),
            })
            .collect();
        out.push_str(&lines.join(",\n"));
        out.push('\n');
    }
    out.push('}');
    Ok(json!({"value": out}))
}

fn validator_not_found() -> AwsError {
    errors::not_found("Invalid Request Validator identifier specified")
}

pub async fn create_validator(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let v = json!({
        "id": i.id(6),
        "name": s(&input, "name"),
        "validateRequestBody": input.get("validateRequestBody").and_then(Value::as_bool).unwrap_or(false),
        "validateRequestParameters": input.get("validateRequestParameters").and_then(Value::as_bool).unwrap_or(false),
    });
    modify(i, ctx, s(&input, "restApiId"), move |doc| {
        let id = s(&v, "id").to_string();
        doc.validators.insert(id, v.clone());
        Ok(v)
    })
    .await
}

pub async fn get_validator(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = load(i, ctx, s(&input, "restApiId")).await?;
    doc.validators.get(s(&input, "requestValidatorId")).cloned().ok_or_else(validator_not_found)
}

pub async fn list_validators(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = load(i, ctx, s(&input, "restApiId")).await?;
    Ok(crate::page(doc.validators.into_values().collect(), &input))
}

pub async fn update_validator(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ops = patch::ops(&input)?;
    let id = s(&input, "requestValidatorId").to_string();
    let model = i.model;
    modify(i, ctx, s(&input, "restApiId"), move |doc| {
        let v = doc.validators.get_mut(&id).ok_or_else(validator_not_found)?;
        let fields = ["name", "validateRequestBody", "validateRequestParameters"];
        patch::apply(model, "RequestValidator", v, &ops, &fields, &mut |_, _, _| Ok(false))?;
        Ok(v.clone())
    })
    .await
}

pub async fn delete_validator(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = s(&input, "requestValidatorId").to_string();
    modify(i, ctx, s(&input, "restApiId"), move |doc| {
        doc.validators.remove(&id).ok_or_else(validator_not_found)?;
        for r in doc.resources.values_mut() {
            for m in r.methods.values_mut() {
                if m.get("requestValidatorId").and_then(Value::as_str) == Some(id.as_str()) {
                    m.as_object_mut().map(|o| o.remove("requestValidatorId"));
                }
            }
        }
        Ok(Value::Object(Map::new()))
    })
    .await
}
