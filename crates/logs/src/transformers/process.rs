//! The processors of a transformer, run over one log event. The event is a JSON object the
//! parsers build from the message (`@message`, or the key named by `source`); keys with dots are
//! paths into nested objects (`outer.inner`).

use serde_json::{Map, Value, json};
use stratus_proto::AwsError;

use crate::errors::invalid_parameter;

/// Processors that may come first.
pub const PARSERS: &[&str] = &[
    "parseJSON",
    "parseKeyValue",
    "csv",
    "grok",
    "parseCloudfront",
    "parsePostgres",
    "parseRoute53",
    "parseToOCSF",
    "parseVPC",
    "parseWAF",
];

/// Parsers of AWS services' own formats: only ever first.
pub const VENDOR_PARSERS: &[&str] =
    &["parseCloudfront", "parsePostgres", "parseRoute53", "parseToOCSF", "parseVPC", "parseWAF"];

/// Kept in transformers but not run by TestTransformer here.
const NOT_EVALUATED: &[&str] = &["dateTimeConverter", "parseWAF", "parseToOCSF"];

const ALL: &[&str] = &[
    "addKeys",
    "copyValue",
    "csv",
    "dateTimeConverter",
    "deleteKeys",
    "grok",
    "listToMap",
    "lowerCaseString",
    "moveKeys",
    "parseCloudfront",
    "parseJSON",
    "parseKeyValue",
    "parseRoute53",
    "parseToOCSF",
    "parsePostgres",
    "parseVPC",
    "parseWAF",
    "renameKeys",
    "splitString",
    "substituteString",
    "trimString",
    "typeConverter",
    "upperCaseString",
];

/// The one processor a list entry names, and its arguments.
pub fn single(p: &Value) -> Result<(&str, &Value), AwsError> {
    let obj = p.as_object().ok_or_else(|| invalid_parameter("Each processor is an object naming one processor."))?;
    let mut named = obj.iter().filter(|(_, v)| !v.is_null());
    match (named.next(), named.next()) {
        (Some((k, v)), None) if ALL.contains(&k.as_str()) => Ok((k.as_str(), v)),
        (Some((k, _)), None) => Err(invalid_parameter(format!("Unknown processor {k}."))),
        _ => Err(invalid_parameter("Each processor entry names exactly one processor.")),
    }
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn entries(args: &Value) -> &[Value] {
    args.get("entries").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn keys_of(args: &Value) -> Vec<&str> {
    args.get("withKeys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The arguments a processor needs.
pub fn check(name: &str, args: &Value) -> Result<(), AwsError> {
    let need = |ok: bool, what: &str| if ok { Ok(()) } else { Err(invalid_parameter(format!("{name}: {what}"))) };
    match name {
        "addKeys" | "copyValue" | "moveKeys" | "renameKeys" | "splitString" | "substituteString" | "typeConverter" => {
            let e = entries(args);
            need(!e.is_empty() && e.len() <= 10, "entries must hold between 1 and 10 entries")?;
            for entry in e {
                let ok = match name {
                    "addKeys" => s(entry, "key").is_some() && s(entry, "value").is_some(),
                    "renameKeys" => s(entry, "key").is_some() && s(entry, "renameTo").is_some(),
                    "splitString" => s(entry, "source").is_some() && s(entry, "delimiter").is_some(),
                    "substituteString" => {
                        let ok = s(entry, "source").is_some() && s(entry, "from").is_some() && s(entry, "to").is_some();
                        if let Some(from) = s(entry, "from")
                            && regex::Regex::new(from).is_err()
                        {
                            return Err(invalid_parameter(format!(
                                "substituteString: invalid regular expression {from}"
                            )));
                        }
                        ok
                    }
                    "typeConverter" => {
                        s(entry, "key").is_some()
                            && matches!(s(entry, "type"), Some("boolean" | "integer" | "double" | "string"))
                    }
                    _ => s(entry, "source").is_some() && s(entry, "target").is_some(),
                };
                need(ok, "an entry lacks a required member")?;
            }
            Ok(())
        }
        "deleteKeys" | "lowerCaseString" | "upperCaseString" | "trimString" => {
            let k = keys_of(args);
            need(!k.is_empty() && k.len() <= 10, "withKeys must name between 1 and 10 keys")
        }
        "grok" => {
            let m = s(args, "match").unwrap_or_default();
            need(!m.is_empty(), "match is required")?;
            super::grok::compile(m).map(|_| ())
        }
        "listToMap" => need(s(args, "source").is_some() && s(args, "key").is_some(), "source and key are required"),
        "dateTimeConverter" => need(
            s(args, "source").is_some() && s(args, "target").is_some() && args.get("matchPatterns").is_some(),
            "source, target and matchPatterns are required",
        ),
        _ => Ok(()),
    }
}

// ----------------------------------------------------------------------------- paths

fn get<'a>(event: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = event.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut cur = event.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

fn set(event: &mut Map<String, Value>, path: &str, value: Value, overwrite: bool) {
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = event;
    for p in &parts[..parts.len() - 1] {
        let slot = cur.entry(p.to_string()).or_insert_with(|| json!({}));
        if !slot.is_object() {
            if !overwrite {
                return;
            }
            *slot = json!({});
        }
        let Some(next) = slot.as_object_mut() else { return };
        cur = next;
    }
    let last = parts[parts.len() - 1].to_string();
    if overwrite || !cur.contains_key(&last) {
        cur.insert(last, value);
    }
}

fn remove(event: &mut Map<String, Value>, path: &str) -> Option<Value> {
    if let Some(v) = event.remove(path) {
        return Some(v);
    }
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = event;
    for p in &parts[..parts.len() - 1] {
        cur = cur.get_mut(*p)?.as_object_mut()?;
    }
    cur.remove(parts[parts.len() - 1])
}

fn overwrite(entry: &Value) -> bool {
    entry.get("overwriteIfExists").and_then(Value::as_bool).unwrap_or(false)
}

// ----------------------------------------------------------------------------- running

/// The text a parser reads: the message for `@message` (the default), else a string value.
fn source_text(event: &Map<String, Value>, message: &str, source: Option<&str>) -> Option<String> {
    match source.unwrap_or("@message") {
        "@message" => Some(message.to_string()),
        path => get(event, path).and_then(Value::as_str).map(str::to_string),
    }
}

/// Puts parsed fields at the root, or under `destination`.
fn place(event: &mut Map<String, Value>, fields: Map<String, Value>, destination: Option<&str>, overwrite: bool) {
    match destination.filter(|d| !d.is_empty()) {
        Some(d) => set(event, d, Value::Object(fields), true),
        None => {
            for (k, v) in fields {
                if overwrite || !event.contains_key(&k) {
                    event.insert(k, v);
                }
            }
        }
    }
}

/// Runs the processors over one message: the transformed event, or None when a parser cannot
/// read it. Processors this server does not evaluate are an error.
pub fn run(processors: &[Value], message: &str) -> Result<Option<Value>, AwsError> {
    let mut event = Map::new();
    for p in processors {
        let (name, args) = single(p)?;
        if NOT_EVALUATED.contains(&name) {
            return Err(AwsError::new(
                "InvalidOperationException",
                format!("The {name} processor is kept in transformers but not evaluated by this server."),
            ));
        }
        if !apply(name, args, &mut event, message) {
            return Ok(None);
        }
    }
    Ok(Some(Value::Object(event)))
}

/// One processor; false when a parser could not read its source.
fn apply(name: &str, args: &Value, event: &mut Map<String, Value>, message: &str) -> bool {
    match name {
        "parseJSON" => {
            let Some(text) = source_text(event, message, s(args, "source")) else { return false };
            let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&text) else { return false };
            place(event, fields, s(args, "destination"), true);
        }
        "parseKeyValue" => {
            let Some(text) = source_text(event, message, s(args, "source")) else { return false };
            let field_delim = s(args, "fieldDelimiter").unwrap_or("&");
            let kv_delim = s(args, "keyValueDelimiter").unwrap_or("=");
            let prefix = s(args, "keyPrefix").unwrap_or_default();
            let mut fields = Map::new();
            for pair in text.split(field_delim).filter(|p| !p.is_empty()) {
                match pair.split_once(kv_delim) {
                    Some((k, v)) => {
                        fields.insert(format!("{prefix}{k}"), json!(v));
                    }
                    None => {
                        if let Some(nm) = s(args, "nonMatchValue") {
                            fields.insert(format!("{prefix}{pair}"), json!(nm));
                        }
                    }
                }
            }
            place(event, fields, s(args, "destination"), overwrite(args));
        }
        "csv" => {
            let Some(text) = source_text(event, message, s(args, "source")) else { return false };
            let delim = s(args, "delimiter").and_then(|d| d.chars().next()).unwrap_or(',');
            let quote = s(args, "quoteCharacter").and_then(|q| q.chars().next()).unwrap_or('"');
            let values = split_csv(&text, delim, quote);
            let columns: Vec<String> = args
                .get("columns")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            let mut fields = Map::new();
            for (n, v) in values.into_iter().enumerate() {
                let name = columns.get(n).cloned().unwrap_or_else(|| format!("column_{}", n + 1));
                fields.insert(name, json!(v));
            }
            place(event, fields, s(args, "destination"), true);
        }
        "grok" => {
            let Some(text) = source_text(event, message, s(args, "source")) else { return false };
            let Ok(pattern) = super::grok::compile(s(args, "match").unwrap_or_default()) else { return false };
            let Some(fields) = pattern.captures(&text) else { return false };
            for (k, v) in fields {
                set(event, &k, v, true);
            }
        }
        "parseVPC" | "parseRoute53" | "parseCloudfront" | "parsePostgres" => {
            let Some(text) = source_text(event, message, s(args, "source")) else { return false };
            let Some(fields) = vendor(name, &text) else { return false };
            place(event, fields, None, true);
        }
        "addKeys" => {
            for e in entries(args) {
                if let (Some(k), Some(v)) = (s(e, "key"), s(e, "value")) {
                    set(event, k, json!(v), overwrite(e));
                }
            }
        }
        "deleteKeys" => {
            for k in keys_of(args) {
                remove(event, k);
            }
        }
        "copyValue" => {
            for e in entries(args) {
                if let (Some(from), Some(to)) = (s(e, "source"), s(e, "target"))
                    && let Some(v) = get(event, from).cloned()
                {
                    set(event, to, v, overwrite(e));
                }
            }
        }
        "moveKeys" => {
            for e in entries(args) {
                if let (Some(from), Some(to)) = (s(e, "source"), s(e, "target")) {
                    // Into the object `target` names, under the key's own name; else to `target`.
                    let leaf = from.rsplit('.').next().unwrap_or(from);
                    let dest = if get(event, to).is_some_and(Value::is_object) {
                        format!("{to}.{leaf}")
                    } else {
                        to.to_string()
                    };
                    if get(event, &dest).is_some() && !overwrite(e) {
                        continue;
                    }
                    if let Some(v) = remove(event, from) {
                        set(event, &dest, v, true);
                    }
                }
            }
        }
        "renameKeys" => {
            for e in entries(args) {
                if let (Some(from), Some(to)) = (s(e, "key"), s(e, "renameTo")) {
                    // The new name replaces the last step of the path.
                    let target = match from.rsplit_once('.') {
                        Some((parent, _)) => format!("{parent}.{to}"),
                        None => to.to_string(),
                    };
                    if get(event, &target).is_some() && !overwrite(e) {
                        continue;
                    }
                    if let Some(v) = remove(event, from) {
                        set(event, &target, v, true);
                    }
                }
            }
        }
        "lowerCaseString" | "upperCaseString" | "trimString" => {
            for k in keys_of(args) {
                if let Some(Value::String(v)) = get(event, k).cloned() {
                    let changed = match name {
                        "lowerCaseString" => v.to_lowercase(),
                        "upperCaseString" => v.to_uppercase(),
                        _ => v.trim().to_string(),
                    };
                    set(event, k, json!(changed), true);
                }
            }
        }
        "splitString" => {
            for e in entries(args) {
                if let (Some(k), Some(d)) = (s(e, "source"), s(e, "delimiter"))
                    && let Some(Value::String(v)) = get(event, k).cloned()
                {
                    let parts: Vec<Value> = v.split(d).map(|p| json!(p)).collect();
                    set(event, k, Value::Array(parts), true);
                }
            }
        }
        "substituteString" => {
            for e in entries(args) {
                if let (Some(k), Some(from), Some(to)) = (s(e, "source"), s(e, "from"), s(e, "to"))
                    && let Some(Value::String(v)) = get(event, k).cloned()
                    && let Ok(re) = regex::Regex::new(from)
                {
                    set(event, k, json!(re.replace_all(&v, to).into_owned()), true);
                }
            }
        }
        "typeConverter" => {
            for e in entries(args) {
                let (Some(k), Some(ty)) = (s(e, "key"), s(e, "type")) else { continue };
                let Some(v) = get(event, k).cloned() else { continue };
                if let Some(converted) = convert(&v, ty) {
                    set(event, k, converted, true);
                }
            }
        }
        "listToMap" => list_to_map(args, event),
        _ => {}
    }
    true
}

fn convert(v: &Value, ty: &str) -> Option<Value> {
    let text = match v {
        Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    };
    match ty {
        "string" => Some(json!(text)),
        "integer" => {
            text.parse::<i64>().ok().map(|n| json!(n)).or_else(|| text.parse::<f64>().ok().map(|f| json!(f as i64)))
        }
        "double" => text.parse::<f64>().ok().map(|f| json!(f)),
        "boolean" => match text.to_ascii_lowercase().as_str() {
            "true" => Some(json!(true)),
            "false" => Some(json!(false)),
            _ => None,
        },
        _ => None,
    }
}

fn list_to_map(args: &Value, event: &mut Map<String, Value>) {
    let (Some(source), Some(key)) = (s(args, "source"), s(args, "key")) else { return };
    let Some(Value::Array(items)) = get(event, source).cloned() else { return };
    let flatten = args.get("flatten").and_then(Value::as_bool).unwrap_or(false);
    let last = s(args, "flattenedElement") == Some("last");
    let mut map = Map::new();
    for item in items {
        let Some(obj) = item.as_object() else { continue };
        let Some(k) = obj.get(key).map(|k| k.as_str().map_or_else(|| k.to_string(), str::to_string)) else { continue };
        let value = match s(args, "valueKey") {
            Some(vk) => match obj.get(vk) {
                Some(v) => v.clone(),
                None => continue,
            },
            None => item.clone(),
        };
        if flatten {
            if last || !map.contains_key(&k) {
                map.insert(k, value);
            }
        } else {
            match map.get_mut(&k) {
                Some(Value::Array(list)) => list.push(value),
                _ => {
                    map.insert(k, json!([value]));
                }
            }
        }
    }
    match s(args, "target") {
        Some(t) => set(event, t, Value::Object(map), true),
        None => {
            for (k, v) in map {
                event.insert(k, v);
            }
        }
    }
}

fn split_csv(text: &str, delim: char, quote: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == quote {
                if chars.peek() == Some(&quote) {
                    chars.next();
                    cur.push(quote);
                } else {
                    in_quotes = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == quote && cur.is_empty() {
            in_quotes = true;
        } else if c == delim {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

/// How a vended log field is typed in the parsed event.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Float,
}

use Kind::{Float, Int, Text};

/// AWS services' log formats: field names (as the parsers name them) in their order, and types.
fn vendor(name: &str, text: &str) -> Option<Map<String, Value>> {
    const VPC: &[(&str, Kind)] = &[
        ("version", Int),
        ("accountId", Text),
        ("interfaceId", Text),
        ("srcAddr", Text),
        ("dstAddr", Text),
        ("srcPort", Int),
        ("dstPort", Int),
        ("protocol", Int),
        ("packets", Int),
        ("bytes", Int),
        ("start", Int),
        ("end", Int),
        ("action", Text),
        ("logStatus", Text),
    ];
    const ROUTE53: &[(&str, Kind)] = &[
        ("version", Float),
        ("queryTimestamp", Text),
        ("hostZoneId", Text),
        ("queryName", Text),
        ("queryType", Text),
        ("responseCode", Text),
        ("protocol", Text),
        ("edgeLocation", Text),
        ("resolverIp", Text),
        ("ednsClientSubnet", Text),
    ];
    const CLOUDFRONT: &[(&str, Kind)] = &[
        ("date", Text),
        ("time", Text),
        ("x-edge-location", Text),
        ("sc-bytes", Int),
        ("c-ip", Text),
        ("cs-method", Text),
        ("cs(Host)", Text),
        ("cs-uri-stem", Text),
        ("sc-status", Int),
        ("cs(Referer)", Text),
        ("cs(User-Agent)", Text),
        ("cs-uri-query", Text),
        ("cs(Cookie)", Text),
        ("x-edge-result-type", Text),
        ("x-edge-request-id", Text),
        ("x-host-header", Text),
        ("cs-protocol", Text),
        ("cs-bytes", Int),
        ("time-taken", Float),
        ("x-forwarded-for", Text),
        ("ssl-protocol", Text),
        ("ssl-cipher", Text),
        ("x-edge-response-result-type", Text),
        ("cs-protocol-version", Text),
        ("fle-status", Text),
        ("fle-encrypted-fields", Text),
        ("c-port", Int),
        ("time-to-first-byte", Float),
        ("x-edge-detailed-result-type", Text),
        ("sc-content-type", Text),
        ("sc-content-len", Int),
        ("sc-range-start", Text),
        ("sc-range-end", Text),
    ];
    let (fields, parts): (&[(&str, Kind)], Vec<String>) = match name {
        "parseVPC" => (VPC, text.split_whitespace().map(str::to_string).collect()),
        "parseRoute53" => (ROUTE53, text.split_whitespace().map(str::to_string).collect()),
        // CloudFront writes fields tab-separated and URL-encoded.
        "parseCloudfront" => (
            CLOUDFRONT,
            text.split('\t')
                .map(|f| percent_encoding::percent_decode_str(f).decode_utf8_lossy().into_owned())
                .collect(),
        ),
        "parsePostgres" => return postgres(text),
        _ => return None,
    };
    if parts.len() < 2 {
        return None;
    }
    let mut out = Map::new();
    for (v, (k, kind)) in parts.iter().zip(fields.iter()) {
        let value = match kind {
            Int => v.parse::<i64>().map(|n| json!(n)).unwrap_or_else(|_| json!(v)),
            Float => v.parse::<f64>().map(|n| json!(n)).unwrap_or_else(|_| json!(v)),
            Text => json!(v),
        };
        out.insert((*k).to_string(), value);
    }
    Some(out)
}

/// `2019-03-10 03:54:59 UTC:10.0.0.123(52834):postgres@logtestdb:[20175]:ERROR: …`: the
/// prefix's fields (the message after the level is not part of the parsed event).
fn postgres(text: &str) -> Option<Map<String, Value>> {
    let re = regex::Regex::new(
        r"^(?P<logTime>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \S+):(?P<srcIp>[^:]*):(?P<userName>[^@]*)@(?P<dbName>[^:]*):\[(?P<processId>\d+)\]:(?P<logLevel>[A-Z]+):",
    )
    .ok()?;
    let c = re.captures(text)?;
    let mut fields = Map::new();
    for name in ["logTime", "srcIp", "userName", "dbName", "processId", "logLevel"] {
        if let Some(m) = c.name(name) {
            fields.insert(name.to_string(), json!(m.as_str()));
        }
    }
    Some(fields)
}
