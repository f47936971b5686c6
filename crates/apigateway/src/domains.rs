//! Custom domain names and their base path mappings. Requests whose Host is a domain name
//! reach the mapped API and stage (the execute-api door asks [`route`]).

use serde_json::{Map, Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{self, bad_request, conflict};
use crate::store::{self, get_json, put_json};
use crate::{Inner, patch, s};

fn domain_key(account: &str, region: &str, name: &str) -> String {
    format!("{}domain/{name}", store::scope(account, region))
}

fn domain_index(name: &str) -> String {
    format!("{}domain/{name}", store::PREFIX)
}

fn mapping_prefix(account: &str, region: &str, domain: &str) -> String {
    format!("{}mapping/{domain}/", store::scope(account, region))
}

fn not_found() -> AwsError {
    errors::not_found("Invalid domain name identifier specified")
}

fn mapping_not_found() -> AwsError {
    errors::not_found("Invalid base path mapping identifier specified")
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "domainName").to_ascii_lowercase();
    if name.is_empty() || !name.contains('.') {
        return Err(bad_request("Invalid domain name specified"));
    }
    let types = input.get("endpointConfiguration").and_then(|e| e.get("types")).cloned().unwrap_or(json!(["EDGE"]));
    let regional = types.as_array().is_some_and(|t| t.iter().any(|x| x == "REGIONAL"));
    let cert = if regional { "regionalCertificateArn" } else { "certificateArn" };
    if input.get(cert).and_then(Value::as_str).is_none() {
        return Err(bad_request(format!(
            "A certificate was not provided for the {} endpoint",
            if regional { "REGIONAL" } else { "EDGE" }
        )));
    }
    let suffix = i.id(10);
    let mut d = json!({
        "domainName": name,
        "domainNameArn": format!("arn:{partition}:apigateway:{}::/domainnames/{name}", ctx.region, partition = stratus_core::partition(&ctx.region)),
        "domainNameStatus": "AVAILABLE",
        "endpointConfiguration": {"types": types, "ipAddressType": "ipv4"},
        "securityPolicy": input.get("securityPolicy").cloned().unwrap_or(json!("TLS_1_2")),
        "certificateUploadDate": store::timestamp(i.now()),
    });
    if regional {
        d["regionalDomainName"] = json!(format!("d-{suffix}.execute-api.{}.amazonaws.com", ctx.region));
        d["regionalHostedZoneId"] = json!("Z1UJRXOUMOOFQ8");
    } else {
        d["distributionDomainName"] = json!(format!("d{suffix}.cloudfront.net"));
        d["distributionHostedZoneId"] = json!("Z2FDTNDATAQYW2");
    }
    for k in [
        "certificateArn",
        "certificateName",
        "regionalCertificateArn",
        "regionalCertificateName",
        "tags",
        "mutualTlsAuthentication",
    ] {
        if let Some(v) = input.get(k).filter(|v| !v.is_null()) {
            d[k] = v.clone();
        }
    }
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    i.store
        .write(move |t| {
            if t.get(domain_index(&name).as_bytes()).map_err(store::store_err)?.is_some() {
                return Err(conflict("The domain name you provided already exists."));
            }
            t.put(domain_index(&name).as_bytes(), format!("{account}/{region}").as_bytes())
                .map_err(store::store_err)?;
            put_json(t, &domain_key(&account, &region, &name), &d)?;
            Ok(d)
        })
        .await
        .inspect(|d| remember(i, s(d, "domainName"), true))
}

fn remember(i: &Inner, name: &str, present: bool) {
    if let Ok(mut set) = i.runtime.domains.write() {
        if present {
            set.insert(name.to_string());
        } else {
            set.remove(name);
        }
    }
}

/// Reads every custom domain name into memory (at start).
pub async fn load_names(i: &Inner) -> Result<(), AwsError> {
    let prefix = format!("{}domain/", store::PREFIX);
    let rows = i
        .store
        .read(move |r| stratus_storage::scan_prefix(r, prefix.as_bytes(), usize::MAX).map_err(store::store_err))
        .await?;
    for (k, _) in rows {
        let key = String::from_utf8_lossy(&k).into_owned();
        if let Some(name) = key.rsplit('/').next() {
            remember(i, name, true);
        }
    }
    Ok(())
}

async fn load(i: &Inner, ctx: &RequestContext, name: &str) -> Result<Value, AwsError> {
    let key = domain_key(&ctx.account, &ctx.region, &name.to_ascii_lowercase());
    i.store.read(move |r| get_json::<Value>(r, &key)?.ok_or_else(not_found)).await
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    load(i, ctx, s(&input, "domainName")).await
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let prefix = format!("{}domain/", store::scope(&ctx.account, &ctx.region));
    let items: Vec<Value> = i.store.read(move |r| store::list_json(r, &prefix)).await?;
    Ok(crate::page(items, &input))
}

pub async fn update(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ops = patch::ops(&input)?;
    let key = domain_key(&ctx.account, &ctx.region, &s(&input, "domainName").to_ascii_lowercase());
    let model = i.model;
    i.store
        .write(move |t| {
            let mut d: Value = get_json(t, &key)?.ok_or_else(not_found)?;
            let fields = [
                "certificateArn",
                "certificateName",
                "regionalCertificateArn",
                "regionalCertificateName",
                "securityPolicy",
                "mutualTlsAuthentication",
            ];
            patch::apply(model, "DomainName", &mut d, &ops, &fields, &mut |_, _, _| Ok(false))?;
            put_json(t, &key, &d)?;
            Ok(d)
        })
        .await
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region, name) =
        (ctx.account.clone(), ctx.region.clone(), s(&input, "domainName").to_ascii_lowercase());
    i.store
        .write(move |t| {
            let key = domain_key(&account, &region, &name);
            get_json::<Value>(t, &key)?.ok_or_else(not_found)?;
            t.delete(key.as_bytes()).map_err(store::store_err)?;
            t.delete(domain_index(&name).as_bytes()).map_err(store::store_err)?;
            store::delete_prefix(t, &mapping_prefix(&account, &region, &name))?;
            Ok(name)
        })
        .await
        .map(|name| {
            remember(i, &name, false);
            Value::Object(Map::new())
        })
}

fn base_path_of(input: &Value) -> Result<String, AwsError> {
    let b = input.get("basePath").and_then(Value::as_str).unwrap_or("");
    if b.is_empty() || b == "(none)" {
        return Ok("(none)".into());
    }
    if !b.bytes().all(|c| c.is_ascii_alphanumeric() || b"._-/".contains(&c)) {
        return Err(bad_request(
            "API Gateway V1 doesn't support the slash character (/) in base path mappings. To create a multi-level base path mapping, use API Gateway V2.",
        ));
    }
    Ok(b.to_string())
}

pub async fn create_mapping(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let domain = s(&input, "domainName").to_ascii_lowercase();
    let base = base_path_of(&input)?;
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let (api, stage) =
        (s(&input, "restApiId").to_string(), input.get("stage").and_then(Value::as_str).map(str::to_string));
    i.store
        .write(move |t| {
            get_json::<Value>(t, &domain_key(&account, &region, &domain))?.ok_or_else(not_found)?;
            store::load_api(t, &account, &region, &api)
                .map_err(|_| bad_request("Invalid REST API identifier specified"))?;
            if let Some(st) = &stage
                && get_json::<Value>(t, &store::stage_key(&account, &region, &api, st))?.is_none()
            {
                return Err(bad_request("Invalid stage identifier specified"));
            }
            let key = format!("{}{base}", mapping_prefix(&account, &region, &domain));
            if t.get(key.as_bytes()).map_err(store::store_err)?.is_some() {
                return Err(conflict("Base path already exists for this domain name"));
            }
            let mut m = json!({"basePath": base, "restApiId": api});
            if let Some(st) = stage {
                m["stage"] = json!(st);
            }
            put_json(t, &key, &m)?;
            Ok(m)
        })
        .await
}

fn mapping_key(ctx: &RequestContext, input: &Value) -> Result<String, AwsError> {
    let domain = s(input, "domainName").to_ascii_lowercase();
    Ok(format!("{}{}", mapping_prefix(&ctx.account, &ctx.region, &domain), base_path_of(input)?))
}

pub async fn get_mapping(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    load(i, ctx, s(&input, "domainName")).await?;
    let key = mapping_key(ctx, &input)?;
    i.store.read(move |r| get_json::<Value>(r, &key)?.ok_or_else(mapping_not_found)).await
}

pub async fn list_mappings(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    load(i, ctx, s(&input, "domainName")).await?;
    let prefix = mapping_prefix(&ctx.account, &ctx.region, &s(&input, "domainName").to_ascii_lowercase());
    let items: Vec<Value> = i.store.read(move |r| store::list_json(r, &prefix)).await?;
    Ok(crate::page(items, &input))
}

pub async fn update_mapping(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ops = patch::ops(&input)?;
    load(i, ctx, s(&input, "domainName")).await?;
    let key = mapping_key(ctx, &input)?;
    let prefix = mapping_prefix(&ctx.account, &ctx.region, &s(&input, "domainName").to_ascii_lowercase());
    let model = i.model;
    i.store
        .write(move |t| {
            let mut m: Value = get_json(t, &key)?.ok_or_else(mapping_not_found)?;
            patch::apply(
                model,
                "BasePathMapping",
                &mut m,
                &ops,
                &["basePath", "restApiId", "stage"],
                &mut |_, _, _| Ok(false),
            )?;
            t.delete(key.as_bytes()).map_err(store::store_err)?;
            put_json(t, &format!("{prefix}{}", s(&m, "basePath")), &m)?;
            Ok(m)
        })
        .await
}

pub async fn delete_mapping(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    load(i, ctx, s(&input, "domainName")).await?;
    let key = mapping_key(ctx, &input)?;
    i.store
        .write(move |t| {
            get_json::<Value>(t, &key)?.ok_or_else(mapping_not_found)?;
            t.delete(key.as_bytes()).map_err(store::store_err)?;
            Ok(Value::Object(Map::new()))
        })
        .await
}

/// The API, stage and remaining path a request to a custom domain goes to: the mapping whose
/// base path is the path's first segment, else the `(none)` mapping; a mapping without a stage
/// takes the stage from the path.
pub async fn route(i: &Inner, host: &str, path: &str) -> Option<(String, String, String)> {
    let host = host.to_ascii_lowercase();
    let path = path.to_string();
    i.store
        .read_short(move |r| {
            let Some(owner) = r.get(domain_index(&host).as_bytes()).ok().flatten() else {
                return Ok::<_, AwsError>(None);
            };
            let owner = String::from_utf8_lossy(&owner).into_owned();
            let Some((account, region)) = owner.split_once('/') else { return Ok(None) };
            let prefix = mapping_prefix(account, region, &host);
            let trimmed = path.trim_start_matches('/');
            let (first, rest) = trimmed.split_once('/').map_or((trimmed, ""), |(a, b)| (a, b));
            let mut candidates = vec![(first.to_string(), format!("/{rest}"))];
            candidates.push(("(none)".to_string(), format!("/{trimmed}")));
            for (base, remaining) in candidates {
                let Some(m) = get_json::<Value>(r, &format!("{prefix}{base}"))? else { continue };
                let api = s(&m, "restApiId").to_string();
                return Ok(Some(match m.get("stage").and_then(Value::as_str) {
                    Some(st) => (api, st.to_string(), remaining),
                    None => {
                        let t = remaining.trim_start_matches('/');
                        let (st, rest) = t.split_once('/').map_or((t, ""), |(a, b)| (a, b));
                        (api, st.to_string(), format!("/{rest}"))
                    }
                }));
            }
            Ok(None)
        })
        .await
        .ok()
        .flatten()
}
