//! Vended-log deliveries: delivery sources (a resource of another service and the kind of logs
//! it sends), delivery destinations (a log group, an S3 bucket or a Firehose stream, with an
//! access policy) and the deliveries that connect one to the other, as CloudWatch Logs keeps
//! them (Put/Get/Describe/Delete of each, UpdateDeliveryConfiguration,
//! DescribeConfigurationTemplates). The logs themselves come from the vending services
//! (CloudFront, Bedrock, …), which this server does not run, so nothing flows through them.
//!
//! - `logs/vs/{account}/{region}/{name}` → delivery source (JSON, as answered)
//! - `logs/vd/{account}/{region}/{name}` → delivery destination (JSON, as answered, plus its
//!   `policy`)
//! - `logs/vl/{account}/{region}/{id}` → delivery (JSON, as answered)

use serde_json::{Map, Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, Txn, scan_prefix};

use crate::records::{DESCRIBE, list_all, page};

use crate::Inner;

const OUTPUT_FORMATS: &[&str] = &["json", "plain", "w3c", "raw", "parquet"];

fn key(kind: &str, account: &str, region: &str, name: &str) -> Vec<u8> {
    format!("logs/{kind}/{account}/{region}/{name}").into_bytes()
}

fn prefix(kind: &str, ctx: &RequestContext) -> Vec<u8> {
    format!("logs/{kind}/{}/{}/", ctx.account, ctx.region).into_bytes()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", message)
}

fn not_found(message: impl Into<String>) -> AwsError {
    AwsError::new("ResourceNotFoundException", message)
}

fn conflict(message: impl Into<String>) -> AwsError {
    AwsError::new("ConflictException", message)
}

/// Names of sources and destinations: `[\w-]*`, 1 to 60 characters.
fn check_name(member: &str, name: &str) -> Result<(), AwsError> {
    if name.is_empty() || name.len() > 60 {
        return Err(validation(format!(
            "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must have length between 1 and 60"
        )));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(validation(format!(
            "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]*"
        )));
    }
    Ok(())
}

fn load(r: &mut dyn ReadTxn, k: &[u8]) -> Result<Option<Value>, AwsError> {
    Ok(r.get(k)?.and_then(|b| serde_json::from_slice(&b).ok()))
}

fn save(t: &mut dyn Txn, k: &[u8], v: &Value) -> Result<(), AwsError> {
    t.put(k, v.to_string().as_bytes())?;
    Ok(())
}

fn tags_of(input: &Value) -> Value {
    input.get("tags").filter(|t| t.is_object()).cloned().unwrap_or_else(|| json!({}))
}

// ----------------------------------------------------------------------------- sources

pub async fn put_source(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "name").to_string();
    check_name("name", &name)?;
    let resource = s(&input, "resourceArn").to_string();
    let Some(arn) = stratus_core::Arn::parse(&resource) else {
        return Err(validation(format!("Invalid resourceArn: {resource}")));
    };
    let service = arn.service.to_string();
    let log_type = s(&input, "logType").to_string();
    if log_type.is_empty() {
        return Err(validation("logType is required."));
    }
    let tags = tags_of(&input);
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let k = key("vs", &account, &region, &name);
    i.store
        .write(move |t| {
            let source = match load(t, &k)? {
                Some(existing) => {
                    if existing["logType"] != json!(log_type) {
                        return Err(conflict("Update to existing Delivery Source with new LogType is not allowed."));
                    }
                    let mut s = existing;
                    s["resourceArns"] = json!([resource]);
                    s["service"] = json!(service);
                    s
                }
                None => json!({
                    "name": name,
                    "arn": format!("arn:{partition}:logs:{region}:{account}:delivery-source:{name}", partition = stratus_core::partition(&region)),
                    "resourceArns": [resource],
                    "service": service,
                    "logType": log_type,
                    "tags": tags,
                }),
            };
            save(t, &k, &source)?;
            Ok(json!({ "deliverySource": source }))
        })
        .await
}

pub async fn get_source(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let k = key("vs", &ctx.account, &ctx.region, s(&input, "name"));
    let source = i.read(move |r| load(r, &k)).await?;
    let source = source.ok_or_else(|| not_found("Cannot find delivery source with the given name."))?;
    Ok(json!({ "deliverySource": source }))
}

pub async fn describe_sources(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    page(&list_all(i, prefix("vs", ctx)).await?, &input, &DESCRIBE, "name", "deliverySources")
}

/// Whether any delivery of this account and region satisfies `uses`.
fn in_use(t: &mut dyn ReadTxn, account: &str, region: &str, uses: impl Fn(&Value) -> bool) -> Result<bool, AwsError> {
    let p = format!("logs/vl/{account}/{region}/").into_bytes();
    Ok(scan_prefix(t, &p, usize::MAX)?
        .iter()
        .filter_map(|(_, v)| serde_json::from_slice::<Value>(v).ok())
        .any(|d| uses(&d)))
}

pub async fn delete_source(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "name").to_string();
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    i.store
        .write(move |t| {
            let k = key("vs", &account, &region, &name);
            if t.get(&k)?.is_none() {
                return Err(not_found("Cannot find delivery source with the given name."));
            }
            if in_use(t, &account, &region, |d| d["deliverySourceName"] == json!(name))? {
                return Err(conflict(
                    "Cannot delete delivery source because it is associated with existing deliveries. Delete the deliveries first.",
                ));
            }
            t.delete(&k)?;
            Ok(Value::Null)
        })
        .await
}

// ----------------------------------------------------------------------------- destinations

/// The destination type of a resource: a log group, a bucket or a Firehose stream.
fn destination_type(arn: &str) -> Option<&'static str> {
    let a = stratus_core::Arn::parse(arn)?;
    match a.service {
        "logs" if a.resource.starts_with("log-group:") => Some("CWL"),
        "s3" => Some("S3"),
        "firehose" if a.resource.starts_with("deliverystream/") => Some("FH"),
        "xray" => Some("XRAY"),
        _ => None,
    }
}

pub async fn put_destination(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "name").to_string();
    check_name("name", &name)?;
    let format = input.get("outputFormat").and_then(Value::as_str).map(str::to_string);
    if let Some(f) = &format
        && !OUTPUT_FORMATS.contains(&f.as_str())
    {
        return Err(validation(format!(
            "1 validation error detected: Value '{f}' at 'outputFormat' failed to satisfy constraint: Member must satisfy enum value set: [json, plain, w3c, raw, parquet]"
        )));
    }
    let config = input.get("deliveryDestinationConfiguration").cloned().unwrap_or(Value::Null);
    let resource = s(&config, "destinationResourceArn").to_string();
    let kind = match input.get("deliveryDestinationType").and_then(Value::as_str) {
        Some(k) => k.to_string(),
        None => destination_type(&resource)
            .ok_or_else(|| validation(format!("Invalid destinationResourceArn: {resource}")))?
            .to_string(),
    };
    if kind != "XRAY" && resource.is_empty() {
        return Err(validation("deliveryDestinationConfiguration.destinationResourceArn is required."));
    }
    let tags = tags_of(&input);
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let k = key("vd", &account, &region, &name);
    i.store
        .write(move |t| {
            let existing = load(t, &k)?;
            let mut d = json!({
                "name": name,
                "arn": format!("arn:{partition}:logs:{region}:{account}:delivery-destination:{name}", partition = stratus_core::partition(&region)),
                "deliveryDestinationType": kind,
                "deliveryDestinationConfiguration": {"destinationResourceArn": resource},
                "tags": existing.as_ref().map_or(tags, |e| e["tags"].clone()),
            });
            if let Some(f) = format {
                d["outputFormat"] = json!(f);
            }
            if let Some(p) = existing.as_ref().and_then(|e| e.get("policy")) {
                d["policy"] = p.clone();
            }
            save(t, &k, &d)?;
            Ok(json!({ "deliveryDestination": answer_destination(&d) }))
        })
        .await
}

/// A destination as answered: without its policy.
fn answer_destination(d: &Value) -> Value {
    let mut d = d.clone();
    if let Some(m) = d.as_object_mut() {
        m.remove("policy");
    }
    d
}

pub async fn get_destination(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let k = key("vd", &ctx.account, &ctx.region, s(&input, "name"));
    let d = i.read(move |r| load(r, &k)).await?;
    let d = d.ok_or_else(|| not_found("Cannot find delivery destination with the given name."))?;
    Ok(json!({ "deliveryDestination": answer_destination(&d) }))
}

pub async fn describe_destinations(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let all: Vec<Value> = list_all(i, prefix("vd", ctx)).await?.iter().map(answer_destination).collect();
    page(&all, &input, &DESCRIBE, "name", "deliveryDestinations")
}

pub async fn delete_destination(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "name").to_string();
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    i.store
        .write(move |t| {
            let k = key("vd", &account, &region, &name);
            let Some(d) = load(t, &k)? else {
                return Err(not_found("Cannot find delivery destination with the given name."));
            };
            if in_use(t, &account, &region, |x| x["deliveryDestinationArn"] == d["arn"])? {
                return Err(conflict(
                    "Cannot delete delivery destination because it is associated with existing deliveries. Delete the deliveries first.",
                ));
            }
            t.delete(&k)?;
            Ok(Value::Null)
        })
        .await
}

/// Put (policy `Some`) or delete (`None`) a destination's access policy.
async fn set_policy(i: &Inner, ctx: &RequestContext, name: String, policy: Option<String>) -> Result<(), AwsError> {
    let k = key("vd", &ctx.account, &ctx.region, &name);
    i.store
        .write(move |t| {
            let mut d =
                load(t, &k)?.ok_or_else(|| not_found("Cannot find delivery destination with the given name."))?;
            match policy {
                Some(p) => d["policy"] = json!(p),
                None => {
                    if let Some(m) = d.as_object_mut() {
                        m.remove("policy");
                    }
                }
            }
            save(t, &k, &d)
        })
        .await
}

pub async fn put_destination_policy(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "deliveryDestinationName").to_string();
    let policy = s(&input, "deliveryDestinationPolicy").to_string();
    if !serde_json::from_str::<Value>(&policy).is_ok_and(|p| p.is_object()) {
        return Err(validation("The delivery destination policy is not a valid JSON policy document."));
    }
    set_policy(i, ctx, name, Some(policy.clone())).await?;
    Ok(json!({ "policy": { "deliveryDestinationPolicy": policy } }))
}

pub async fn get_destination_policy(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let k = key("vd", &ctx.account, &ctx.region, s(&input, "deliveryDestinationName"));
    let d = i.read(move |r| load(r, &k)).await?;
    let d = d.ok_or_else(|| not_found("Cannot find delivery destination with the given name."))?;
    Ok(match d.get("policy") {
        Some(p) => json!({ "policy": { "deliveryDestinationPolicy": p } }),
        None => json!({ "policy": {} }),
    })
}

pub async fn delete_destination_policy(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    set_policy(i, ctx, s(&input, "deliveryDestinationName").to_string(), None).await?;
    Ok(Value::Null)
}

// ----------------------------------------------------------------------------- deliveries

pub async fn create_delivery(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let source_name = s(&input, "deliverySourceName").to_string();
    let destination_arn = s(&input, "deliveryDestinationArn").to_string();
    let id: String = i.env.ids.uuid().chars().filter(char::is_ascii_alphanumeric).take(16).collect();
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let optional: Map<String, Value> = ["recordFields", "fieldDelimiter", "s3DeliveryConfiguration"]
        .into_iter()
        .filter_map(|k| input.get(k).map(|v| (k.to_string(), v.clone())))
        .collect();
    let tags = tags_of(&input);
    i.store
        .write(move |t| {
            if load(t, &key("vs", &account, &region, &source_name))?.is_none() {
                return Err(not_found("Cannot find delivery source with the given name."));
            }
            let destination =
                stratus_core::Arn::parse(&destination_arn).filter(|a| a.service == "logs").and_then(|a| {
                    a.resource.strip_prefix("delivery-destination:").map(|n| key("vd", a.account, a.region, n))
                });
            let destination = match destination {
                Some(k) => load(t, &k)?,
                None => None,
            };
            let Some(destination) = destination else {
                return Err(not_found("Cannot find delivery destination with the given ARN."));
            };
            let kind = destination["deliveryDestinationType"].clone();
            let duplicate = in_use(t, &account, &region, |d| {
                d["deliverySourceName"] == json!(source_name) && d["deliveryDestinationType"] == kind
            })?;
            if duplicate {
                return Err(conflict(
                    "Delivery already exists for this Delivery Source with the same Delivery Destination Type.",
                ));
            }
            let mut d = json!({
                "id": id,
                "arn": format!("arn:{partition}:logs:{region}:{account}:delivery:{id}", partition = stratus_core::partition(&region)),
                "deliverySourceName": source_name,
                "deliveryDestinationArn": destination_arn,
                "deliveryDestinationType": kind,
                "tags": tags,
            });
            for (k, v) in optional {
                d[k] = v;
            }
            save(t, &key("vl", &account, &region, &id), &d)?;
            Ok(json!({ "delivery": d }))
        })
        .await
}

pub async fn get_delivery(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let k = key("vl", &ctx.account, &ctx.region, s(&input, "id"));
    let d = i.read(move |r| load(r, &k)).await?;
    Ok(json!({ "delivery": d.ok_or_else(|| not_found("Cannot find delivery with the given id."))? }))
}

pub async fn describe_deliveries(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    page(&list_all(i, prefix("vl", ctx)).await?, &input, &DESCRIBE, "id", "deliveries")
}

pub async fn delete_delivery(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let k = key("vl", &ctx.account, &ctx.region, s(&input, "id"));
    crate::records::delete_existing(i, k, || not_found("Cannot find delivery with the given id.")).await
}

pub async fn update_delivery_configuration(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let k = key("vl", &ctx.account, &ctx.region, s(&input, "id"));
    i.store
        .write(move |t| {
            let mut d = load(t, &k)?.ok_or_else(|| not_found("Cannot find delivery with the given id."))?;
            for field in ["recordFields", "fieldDelimiter", "s3DeliveryConfiguration"] {
                if let Some(v) = input.get(field) {
                    d[field] = v.clone();
                }
            }
            save(t, &k, &d)?;
            Ok(Value::Null)
        })
        .await
}

// ----------------------------------------------------------------------------- templates

/// The record fields of CloudFront's standard logs (v2), the vended logs most used.
const CLOUDFRONT_FIELDS: &[&str] = &[
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
];

fn templates() -> Vec<Value> {
    let fields: Vec<Value> = CLOUDFRONT_FIELDS.iter().map(|f| json!({"name": f, "mandatory": false})).collect();
    let defaults = |kind: &str| {
        let mut d = json!({"recordFields": CLOUDFRONT_FIELDS, "fieldDelimiter": "\t"});
        if kind == "S3" {
            d["s3DeliveryConfiguration"] =
                json!({"suffixPath": "{DistributionId}/{yyyy}/{MM}/{dd}/{HH}", "enableHiveCompatiblePath": false});
        }
        d
    };
    [
        ("S3", vec!["w3c", "json", "plain", "parquet"]),
        ("CWL", vec!["w3c", "json"]),
        ("FH", vec!["w3c", "json", "plain", "raw"]),
    ]
    .into_iter()
    .map(|(kind, formats)| {
        json!({
            "service": "cloudfront",
            "logType": "ACCESS_LOGS",
            "resourceType": "distribution",
            "deliveryDestinationType": kind,
            "defaultDeliveryConfigValues": defaults(kind),
            "allowedFields": fields,
            "allowedOutputFormats": formats,
            "allowedActionForAllowVendedLogsDeliveryForResource": "cloudfront:AllowVendedLogDeliveryForResource",
            "allowedFieldDelimiters": ["\t", "\\t", " ", ",", "|"],
        })
    })
    .collect()
}

pub async fn describe_configuration_templates(input: Value) -> Result<Value, AwsError> {
    let list = |k: &str| -> Option<Vec<String>> {
        input.get(k).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
    };
    let (log_types, resource_types, kinds) =
        (list("logTypes"), list("resourceTypes"), list("deliveryDestinationTypes"));
    let service = input.get("service").and_then(Value::as_str);
    let keep = |t: &Value, field: &str, want: &Option<Vec<String>>| {
        want.as_ref().is_none_or(|w| w.iter().any(|x| t[field] == json!(x)))
    };
    let mut all: Vec<Value> = templates()
        .into_iter()
        .filter(|t| service.is_none_or(|s| t["service"] == json!(s)))
        .filter(|t| keep(t, "logType", &log_types) && keep(t, "resourceType", &resource_types))
        .filter(|t| keep(t, "deliveryDestinationType", &kinds))
        .collect();
    for (n, t) in all.iter_mut().enumerate() {
        t["position"] = json!(n.to_string());
    }
    let mut out = page(&all, &input, &DESCRIBE, "position", "configurationTemplates")?;
    if let Some(items) = out["configurationTemplates"].as_array_mut() {
        for t in items {
            if let Some(m) = t.as_object_mut() {
                m.remove("position");
            }
        }
    }
    Ok(out)
}
