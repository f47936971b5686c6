//! Parameter mapping of HTTP APIs: an integration's `requestParameters` change what is sent to
//! an HTTP_PROXY integration (`append:`, `overwrite:` or `remove:` a `header.{name}` or
//! `querystring.{name}`; `overwrite:path`), name the parameters of an AWS service integration
//! (`QueueUrl`, `MessageBody`, …), and `responseParameters` (by status code) change the answer
//! (`header.{name}` as above, `overwrite:statuscode`). Values are text with `$request.header.x`,
//! `$request.querystring.x`, `$request.body.a.b`, `$request.path`, `$request.path.x`,
//! `$context.x`, `$stageVariables.x` (response values also `$response.header.x`,
//! `$response.body.a.b`), bare or as `${…}` inside text.

use serde_json::Value;

use super::{Call, HttpAnswer};

/// What a mapping value may read besides the request.
pub struct Response<'a> {
    pub answer: &'a HttpAnswer,
}

fn header(pairs: &[(String, String)], name: &str) -> Option<String> {
    let values: Vec<&str> =
        pairs.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect();
    (!values.is_empty()).then(|| values.join(","))
}

fn json_path(body: &[u8], path: &str) -> Option<String> {
    let mut cur: Value = serde_json::from_slice(body).ok()?;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        cur = match part.split_once('[') {
            Some((name, idx)) => {
                let n: usize = idx.trim_end_matches(']').parse().ok()?;
                let inner = if name.is_empty() { cur } else { cur.get(name)?.clone() };
                inner.get(n)?.clone()
            }
            None => cur.get(part)?.clone(),
        };
    }
    Some(match cur {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

/// One variable's value (`request.header.x` without the `$`).
fn variable(name: &str, c: &Call<'_>, response: Option<&Response<'_>>) -> Option<String> {
    if let Some(h) = name.strip_prefix("request.header.") {
        return header(&c.req.headers, h);
    }
    if let Some(q) = name.strip_prefix("request.querystring.") {
        let values: Vec<&str> = c.query.iter().filter(|(k, _)| k == q).map(|(_, v)| v.as_str()).collect();
        return (!values.is_empty()).then(|| values.join(","));
    }
    if let Some(p) = name.strip_prefix("request.body") {
        return json_path(&c.req.body, p.trim_start_matches('.'));
    }
    if name == "request.body" {
        return Some(String::from_utf8_lossy(&c.req.body).into_owned());
    }
    if name == "request.path" {
        return Some(c.resource_path.clone());
    }
    if let Some(p) = name.strip_prefix("request.path.") {
        return c.path_params.iter().find(|(k, _)| k == p).map(|(_, v)| v.clone());
    }
    if let Some(v) = name.strip_prefix("stageVariables.") {
        return c.stage_variables.iter().find(|(k, _)| k == v).map(|(_, x)| x.clone());
    }
    if let Some(r) = response {
        if let Some(h) = name.strip_prefix("response.header.") {
            return header(&r.answer.headers, h);
        }
        if let Some(p) = name.strip_prefix("response.body") {
            return json_path(&r.answer.body, p.trim_start_matches('.'));
        }
    }
    let ctx = name.strip_prefix("context.")?;
    match ctx {
        "requestId" => Some(c.request_id.clone()),
        "stage" => Some(c.stage.clone()),
        "routeKey" => Some(c.route_key.clone()),
        "apiId" => Some(c.req.api_id.clone()),
        "domainName" => Some(c.domain_name().to_string()),
        "httpMethod" => Some(c.req.method.clone()),
        "identity.sourceIp" => Some(c.req.source_ip.clone()),
        "accountId" => Some(c.account.clone()),
        other => {
            let path = other.strip_prefix("authorizer.")?;
            let mut cur = c.authorizer.as_ref()?;
            for part in path.split('.') {
                cur = cur.get(part).or_else(|| cur.get("lambda").and_then(|l| l.get(part)))?;
            }
            Some(match cur {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        }
    }
}

/// A mapping value with its variables replaced (unknown ones become empty).
pub fn evaluate(expr: &str, c: &Call<'_>, response: Option<&Response<'_>>) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(inner) = after.strip_prefix('{')
            && let Some(end) = inner.find('}')
        {
            out.push_str(&variable(&inner[..end], c, response).unwrap_or_default());
            rest = &inner[end + 1..];
            continue;
        }
        let end = after
            .find(|ch: char| !(ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-' | '[' | ']')))
            .unwrap_or(after.len());
        let name = after[..end].trim_end_matches('.');
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        out.push_str(&variable(name, c, response).unwrap_or_default());
        rest = &after[name.len()..];
    }
    out.push_str(rest);
    out
}

/// One change of a request or an answer.
enum Change<'a> {
    Header(&'a str, &'a str, String),
    Query(&'a str, &'a str, String),
    Path(String),
    Status(String),
}

fn changes<'a>(map: &'a Value, c: &Call<'_>, response: Option<&Response<'_>>) -> Vec<Change<'a>> {
    let Some(map) = map.as_object() else { return Vec::new() };
    map.iter()
        .filter_map(|(k, v)| {
            let (op, target) = k.split_once(':')?;
            let value = evaluate(v.as_str().unwrap_or(""), c, response);
            if let Some(h) = target.strip_prefix("header.") {
                return Some(Change::Header(op, h, value));
            }
            if let Some(q) = target.strip_prefix("querystring.") {
                return Some(Change::Query(op, q, value));
            }
            match (op, target) {
                ("overwrite", "path") => Some(Change::Path(value)),
                ("overwrite", "statuscode") => Some(Change::Status(value)),
                _ => None,
            }
        })
        .collect()
}

fn apply_pair(list: &mut Vec<(String, String)>, op: &str, name: &str, value: String, case_insensitive: bool) {
    let same = |k: &String| if case_insensitive { k.eq_ignore_ascii_case(name) } else { k == name };
    match op {
        "append" => list.push((name.to_string(), value)),
        "overwrite" => {
            list.retain(|(k, _)| !same(k));
            list.push((name.to_string(), value));
        }
        "remove" => list.retain(|(k, _)| !same(k)),
        _ => {}
    }
}

/// The request an HTTP_PROXY integration receives after the integration's request mapping:
/// its headers, query string pairs and, when overwritten, its path.
pub fn map_request(
    integration: &Value,
    c: &Call<'_>,
    headers: &mut Vec<(String, String)>,
    query: &mut Vec<(String, String)>,
) -> Option<String> {
    let mut path = None;
    let map = integration.get("requestParameters")?;
    for change in changes(map, c, None) {
        match change {
            Change::Header(op, name, v) => apply_pair(headers, op, name, v, true),
            Change::Query(op, name, v) => apply_pair(query, op, name, v, false),
            Change::Path(p) => path = Some(p),
            Change::Status(_) => {}
        }
    }
    path
}

/// The answer after the integration's response mapping for its status code.
pub fn map_response(integration: &Value, c: &Call<'_>, answer: &mut HttpAnswer) {
    let Some(map) = integration.get("responseParameters").and_then(|m| m.get(answer.status.to_string())) else {
        return;
    };
    let snapshot = answer.clone();
    let response = Response { answer: &snapshot };
    for change in changes(map, c, Some(&response)) {
        match change {
            Change::Header(op, name, v) => apply_pair(&mut answer.headers, op, name, v, true),
            Change::Status(s) => {
                if let Ok(code) = s.trim().parse::<u16>()
                    && (100..600).contains(&code)
                {
                    answer.status = code;
                }
            }
            Change::Query(..) | Change::Path(_) => {}
        }
    }
}

/// The named parameters of an AWS service integration (`QueueUrl`, `MessageBody`, …).
pub fn service_parameters(integration: &Value, c: &Call<'_>) -> serde_json::Map<String, Value> {
    integration
        .get("requestParameters")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter().map(|(k, v)| (k.clone(), Value::String(evaluate(v.as_str().unwrap_or(""), c, None)))).collect()
        })
        .unwrap_or_default()
}
