//! Mapping: templates (Velocity, by `stratus-vtl`, with API Gateway's `$input`, `$util`,
//! `$context` and `$stageVariables`), parameter mapping expressions
//! (`method.request.header.X`, `integration.response.body.a.b`, `'literal'` …), and template
//! selection by content type.

use serde_json::{Map, Value};
use stratus_vtl::apigw;

use super::Call;

/// What a template set through `$context.requestOverride` / `$context.responseOverride`.
#[derive(Debug, Default)]
pub struct Overrides {
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    pub request_headers: Vec<(String, String)>,
    pub request_query: Vec<(String, String)>,
    pub request_path: Vec<(String, String)>,
}

fn variables(c: &Call<'_>, body: &str, headers: &[(String, String)], template: &str) -> apigw::Variables {
    // `$context` is large to build: only for templates that read it.
    let context = if template.contains("context") { c.context_variables() } else { Value::Object(Map::new()) };
    apigw::Variables {
        body: body.to_string(),
        params: apigw::Params { path: c.path_params.clone(), querystring: c.query.clone(), header: headers.to_vec() },
        context,
        stage_variables: c.stage_variables.clone(),
    }
}

/// A template without references or directives renders as itself.
fn is_static(template: &str) -> bool {
    !template.contains('$') && !template.contains('#')
}

/// The deployment's parsed template for this text.
fn parsed(c: &Call<'_>, template: &str) -> Result<std::sync::Arc<stratus_vtl::Template>, String> {
    if let Some(t) = c.d.templates.lock().ok().and_then(|m| m.get(template).cloned()) {
        return Ok(t);
    }
    let t = std::sync::Arc::new(stratus_vtl::Template::parse(template).map_err(|e| e.to_string())?);
    if let Ok(mut m) = c.d.templates.lock()
        && m.len() < 10_000
    {
        m.insert(template.to_string(), t.clone());
    }
    Ok(t)
}

fn render(t: &stratus_vtl::Template, vars: apigw::Variables) -> Result<(String, Overrides), String> {
    let mut ctx = vars.into_context();
    let out = t.render(&mut ctx).map_err(|e| e.to_string())?;
    let o = apigw::overrides(&ctx);
    Ok((
        out,
        Overrides {
            status: o.status,
            headers: o.headers,
            request_headers: o.request_headers,
            request_query: o.request_querystring,
            request_path: o.request_path,
        },
    ))
}

/// An integration request template, over the method request.
pub fn render_request(template: &str, c: &Call<'_>, body: &str) -> Result<(String, Overrides), String> {
    if is_static(template) {
        return Ok((template.to_string(), Overrides::default()));
    }
    render(&*parsed(c, template)?, variables(c, body, &c.headers, template))
}

/// An integration response template, over the integration's answer.
pub fn render_response(template: &str, c: &Call<'_>, body: &str) -> Result<(String, Overrides), String> {
    if is_static(template) {
        return Ok((template.to_string(), Overrides::default()));
    }
    render(&*parsed(c, template)?, variables(c, body, &c.headers, template))
}

/// A gateway response template for an error.
pub fn render_error(template: &str, c: &Call<'_>, message: &str, kind: &str) -> Result<String, String> {
    let mut v = variables(c, "", &c.headers, "context");
    v.context["error"] = serde_json::json!({
        "message": message,
        "messageString": Value::String(message.to_string()).to_string(),
        "responseType": kind,
    });
    render(&*parsed(c, template)?, v).map(|(s, _)| s)
}

/// A gateway response template for an error found before the request reached a method.
pub fn render_bare_error(template: &str, message: &str, kind: &str, request_id: &str) -> Result<String, String> {
    let v = apigw::Variables {
        body: String::new(),
        params: apigw::Params { path: Vec::new(), querystring: Vec::new(), header: Vec::new() },
        context: serde_json::json!({
            "requestId": request_id,
            "error": {
                "message": message,
                "messageString": Value::String(message.to_string()).to_string(),
                "responseType": kind,
            },
        }),
        stage_variables: Vec::new(),
    };
    let t = stratus_vtl::Template::parse(template).map_err(|e| e.to_string())?;
    render(&t, v).map(|(s, _)| s)
}

/// The template for a content type: that type's, else `application/json`'s when the request
/// names no type, else none.
pub fn select<'t>(
    templates: Option<&'t Map<String, Value>>,
    content_type: Option<&str>,
) -> Option<(String, Option<&'t str>)> {
    let templates = templates?;
    if templates.is_empty() {
        return None;
    }
    let ct = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match ct {
        Some(ct) if !ct.is_empty() => templates.get(&ct).map(|t| (ct.clone(), t.as_str())),
        _ => templates.get("application/json").map(|t| ("application/json".to_string(), t.as_str())),
    }
}

/// A value by a dotted path (`a.b[0].c`) in a JSON document.
fn json_path<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = v;
    for part in path.trim_start_matches('$').split('.').filter(|p| !p.is_empty()) {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        if let Some(i) = index {
            cur = cur.get(i)?;
        }
    }
    Some(cur)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The value of a request-side mapping expression.
pub fn request_value(expr: &str, c: &Call<'_>) -> Option<String> {
    let expr = expr.trim();
    if let Some(lit) = expr.strip_prefix('\'').and_then(|e| e.strip_suffix('\'')) {
        return Some(lit.to_string());
    }
    if let Some(h) = expr.strip_prefix("method.request.header.") {
        return c.header(h).map(str::to_string);
    }
    if let Some(h) = expr.strip_prefix("method.request.multivalueheader.") {
        let vals: Vec<&str> =
            c.req.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(h)).map(|(_, v)| v.as_str()).collect();
        return (!vals.is_empty()).then(|| vals.join(","));
    }
    if let Some(q) = expr.strip_prefix("method.request.querystring.") {
        return c.query.iter().rev().find(|(k, _)| k == q).map(|(_, v)| v.clone());
    }
    if let Some(q) = expr.strip_prefix("method.request.multivaluequerystring.") {
        let vals: Vec<&str> = c.query.iter().filter(|(k, _)| k == q).map(|(_, v)| v.as_str()).collect();
        return (!vals.is_empty()).then(|| vals.join(","));
    }
    if let Some(p) = expr.strip_prefix("method.request.path.") {
        return c.path_params.iter().find(|(k, _)| k == p).map(|(_, v)| v.clone());
    }
    if expr == "method.request.body" {
        return Some(String::from_utf8_lossy(&c.req.body).into_owned());
    }
    if let Some(path) = expr.strip_prefix("method.request.body.") {
        let body: Value = serde_json::from_slice(&c.req.body).ok()?;
        return json_path(&body, path).map(text);
    }
    if let Some(v) = expr.strip_prefix("stageVariables.") {
        return c.stage_variables.iter().find(|(k, _)| k == v).map(|(_, v)| v.clone());
    }
    if let Some(path) = expr.strip_prefix("context.") {
        return json_path(&c.context_variables(), path).filter(|v| !v.is_null()).map(text);
    }
    None
}

/// The value of a response-side mapping expression over the integration's answer.
pub fn response_value(expr: &str, c: &Call<'_>, headers: &[(String, String)], body: &[u8]) -> Option<String> {
    let expr = expr.trim();
    if let Some(h) = expr.strip_prefix("integration.response.header.") {
        return headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(h)).map(|(_, v)| v.clone());
    }
    if let Some(h) = expr.strip_prefix("integration.response.multivalueheader.") {
        let vals: Vec<&str> =
            headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(h)).map(|(_, v)| v.as_str()).collect();
        return (!vals.is_empty()).then(|| vals.join(","));
    }
    if expr == "integration.response.body" {
        return Some(String::from_utf8_lossy(body).into_owned());
    }
    if let Some(path) = expr.strip_prefix("integration.response.body.") {
        let v: Value = serde_json::from_slice(body).ok()?;
        return json_path(&v, path).map(text);
    }
    request_value(expr, c)
}

/// Replaces `$context.a.b` (and `${context.a.b}`-free forms) in an access log format.
pub fn substitute_context(format: &str, ctx: &Value) -> String {
    let mut out = String::with_capacity(format.len());
    let mut rest = format;
    while let Some(pos) = rest.find("$context.") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + "$context.".len()..];
        let end = after.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '.' || ch == '_')).unwrap_or(after.len());
        let name = after[..end].trim_end_matches('.');
        let value = json_path(ctx, name).map(text).filter(|v| v != "null").unwrap_or_else(|| "-".to_string());
        out.push_str(&value);
        rest = &after[name.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn access_log_formats_take_context_values() {
        let ctx = serde_json::json!({"requestId": "r1", "identity": {"sourceIp": "1.2.3.4"}, "status": 200});
        assert_eq!(
            substitute_context(
                "$context.identity.sourceIp - [$context.requestId] $context.status $context.missing.",
                &ctx
            ),
            "1.2.3.4 - [r1] 200 -."
        );
    }
}
