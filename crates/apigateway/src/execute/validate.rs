//! Request validation by the method's request validator: required parameters, and the body
//! against the model for its content type (JSON Schema draft 4).

use serde_json::Value;

use super::{Call, HttpAnswer, gateway_error};

pub fn request(c: &Call<'_>) -> Result<(), HttpAnswer> {
    let Some(id) = c.method.get("requestValidatorId").and_then(Value::as_str) else { return Ok(()) };
    let Some(v) = c.d.doc.validators.get(id) else { return Ok(()) };
    if v.get("validateRequestParameters").and_then(Value::as_bool) == Some(true) {
        let mut missing = Vec::new();
        for (name, required) in c.method.get("requestParameters").and_then(Value::as_object).into_iter().flatten() {
            if required.as_bool() != Some(true) {
                continue;
            }
            let present = if let Some(h) = name.strip_prefix("method.request.header.") {
                c.header(h).is_some()
            } else if let Some(q) = name
                .strip_prefix("method.request.querystring.")
                .or_else(|| name.strip_prefix("method.request.multivaluequerystring."))
            {
                c.query.iter().any(|(k, _)| k == q)
            } else if let Some(p) = name.strip_prefix("method.request.path.") {
                c.path_params.iter().any(|(k, _)| k == p)
            } else {
                true
            };
            if !present {
                missing.push(name.rsplit('.').next().unwrap_or(name).to_string());
            }
        }
        if !missing.is_empty() {
            let message = format!("Missing required request parameters: [{}]", missing.join(", "));
            return Err(gateway_error(
                Some(c.d),
                "BAD_REQUEST_PARAMETERS",
                400,
                "BadRequestException",
                Some(&message),
                &c.request_id,
                Some(c),
            ));
        }
    }
    if v.get("validateRequestBody").and_then(Value::as_bool) == Some(true) {
        let ct = c
            .header("content-type")
            .unwrap_or("application/json")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let models = c.method.get("requestModels").and_then(Value::as_object);
        let model = models.and_then(|m| m.get(&ct).or_else(|| m.get("$default"))).and_then(Value::as_str);
        if let Some(name) = model
            && let Some(schema) = c.d.doc.models.get(name).and_then(|m| m.get("schema")).and_then(Value::as_str)
        {
            let bad = |detail: String| {
                tracing::debug!(request_id = %c.request_id, validation = %detail, "invalid request body");
                gateway_error(
                    Some(c.d),
                    "BAD_REQUEST_BODY",
                    400,
                    "BadRequestException",
                    Some("Invalid request body"),
                    &c.request_id,
                    Some(c),
                )
            };
            let compiled = crate::models::compile(&c.d.doc, schema).map_err(bad)?;
            let instance: Value = if c.req.body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&c.req.body).map_err(|_| bad("[Invalid JSON body]".into()))?
            };
            let errors = compiled.validate(&instance);
            if !errors.is_empty() {
                return Err(bad(format!("[{}]", errors.join(", "))));
            }
        }
    }
    Ok(())
}
