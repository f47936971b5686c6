//! Custom domain names and their API mappings: a domain (REGIONAL, with AWS's generated
//! `d-….execute-api.{region}.amazonaws.com` target) maps API stages under keys (`""` for the
//! root, `orders` or `v1/orders`); a request whose Host is the domain goes to the stage whose
//! key is the longest prefix of its path, with the key removed. The execute-api door asks
//! [`crate::ApiGatewayV2::is_domain`] synchronously, so the mappings of every domain are kept
//! in memory (`Domains`) and reloaded after every change.
//!
//! Keys: `apigwv2/domain/{account}/{region}/{name}` → [`DomainDoc`] (apart from the APIs, so
//! that loading every domain reads only domains).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{bad_request, conflict, not_found};
use crate::store;
use crate::{Inner, s};

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct DomainDoc {
    pub domain: Value,
    #[serde(default)]
    pub mappings: std::collections::BTreeMap<String, Value>,
}

/// Where custom domains' requests go.
/// Each domain's mappings: (key, api id, stage), longest keys first.
type Mappings = HashMap<String, Vec<(String, String, String)>>;

#[derive(Default)]
pub struct Domains {
    map: std::sync::RwLock<Mappings>,
}

impl Domains {
    pub fn contains(&self, host: &str) -> bool {
        self.map.read().is_ok_and(|m| !m.is_empty() && m.contains_key(&host.to_ascii_lowercase()))
    }

    /// `(api id, stage, the path after the mapping's key)` for a request to a domain.
    pub fn route(&self, host: &str, path: &str) -> Option<(String, String, String)> {
        let m = self.map.read().ok()?;
        let mappings = m.get(&host.to_ascii_lowercase())?;
        let trimmed = path.trim_start_matches('/');
        for (key, api, stage) in mappings {
            if key.is_empty() {
                return Some((api.clone(), stage.clone(), path.to_string()));
            }
            if let Some(rest) = trimmed.strip_prefix(key.as_str())
                && (rest.is_empty() || rest.starts_with('/'))
            {
                let rest = if rest.is_empty() { "/".to_string() } else { rest.to_string() };
                return Some((api.clone(), stage.clone(), rest));
            }
        }
        None
    }
}

const DOMAINS: &str = "apigwv2/domain/";

fn domain_key(account: &str, region: &str, name: &str) -> String {
    format!("{DOMAINS}{account}/{region}/{}", name.to_ascii_lowercase())
}

fn domain_not_found(name: &str) -> AwsError {
    not_found(format!("The domain name resource specified in the request was not found: {name}"), "DomainName")
}

fn mapping_not_found(id: &str) -> AwsError {
    not_found(format!("Invalid ApiMapping identifier specified {id}"), "ApiMapping")
}

/// Reads every domain's mappings into memory.
pub async fn reload(i: &Inner) -> Result<(), AwsError> {
    let docs: Vec<DomainDoc> = i.store.read(|r| store::list_json(r, DOMAINS)).await?;
    let mut map = Mappings::new();
    for d in docs {
        let name = s(&d.domain, "domainName").to_ascii_lowercase();
        let mut list: Vec<(String, String, String)> = d
            .mappings
            .values()
            .map(|m| (s(m, "apiMappingKey").to_string(), s(m, "apiId").to_string(), s(m, "stage").to_string()))
            .collect();
        list.sort_by_key(|m| std::cmp::Reverse(m.0.len()));
        map.insert(name, list);
    }
    if let Ok(mut m) = i.domains.map.write() {
        *m = map;
    }
    Ok(())
}

fn valid_domain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.contains('.')
        && name
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '*'))
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "domainName").to_ascii_lowercase();
    if !valid_domain(&name) {
        return Err(bad_request(format!("Invalid domain name {name}")));
    }
    let target = format!("d-{}.execute-api.{}.amazonaws.com", i.id(10), ctx.region);
    let configs: Vec<Value> = input
        .get("domainNameConfigurations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_else(|| vec![json!({})])
        .into_iter()
        .map(|mut c| {
            c["apiGatewayDomainName"] = json!(target);
            c["domainNameStatus"] = json!("AVAILABLE");
            c["hostedZoneId"] = json!("Z1UJRXOUMOOFQ8");
            if c.get("endpointType").is_none() {
                c["endpointType"] = json!("REGIONAL");
            }
            if c.get("securityPolicy").is_none() {
                c["securityPolicy"] = json!("TLS_1_2");
            }
            c
        })
        .collect();
    let domain = json!({
        "domainName": name,
        "domainNameArn": format!("arn:{partition}:apigateway:{}::/domainnames/{name}", ctx.region, partition = stratus_core::partition(&ctx.region)),
        "apiMappingSelectionExpression": "$request.basepath",
        "domainNameConfigurations": configs,
        "routingMode": input.get("routingMode").cloned().unwrap_or(json!("API_MAPPING_ONLY")),
        "tags": input.get("tags").cloned().unwrap_or_else(|| json!({})),
    });
    let out = domain.clone();
    let key = domain_key(&ctx.account, &ctx.region, &name);
    i.store
        .write(move |t| {
            if t.get(key.as_bytes()).map_err(AwsError::from)?.is_some() {
                return Err(conflict(format!("The domain name {name} already exists")));
            }
            store::put_json(t, &key, &DomainDoc { domain, mappings: Default::default() })
        })
        .await?;
    reload(i).await?;
    Ok(out)
}

async fn load(i: &Inner, ctx: &RequestContext, name: &str) -> Result<DomainDoc, AwsError> {
    let key = domain_key(&ctx.account, &ctx.region, name);
    let name = name.to_string();
    i.store.read(move |r| store::get_json::<DomainDoc>(r, &key)).await?.ok_or_else(|| domain_not_found(&name))
}

async fn modify<T: Send + 'static>(
    i: &Inner,
    ctx: &RequestContext,
    name: &str,
    f: impl FnOnce(&mut DomainDoc) -> Result<T, AwsError> + Send + 'static,
) -> Result<T, AwsError> {
    let key = domain_key(&ctx.account, &ctx.region, name);
    let name = name.to_string();
    let out = i
        .store
        .write(move |t| {
            let mut d: DomainDoc = store::get_json(t, &key)?.ok_or_else(|| domain_not_found(&name))?;
            let out = f(&mut d)?;
            store::put_json(t, &key, &d)?;
            Ok::<T, AwsError>(out)
        })
        .await?;
    reload(i).await?;
    Ok(out)
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    Ok(load(i, ctx, s(&input, "domainName")).await?.domain)
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let prefix = format!("{DOMAINS}{}/{}/", ctx.account, ctx.region);
    let docs: Vec<DomainDoc> = i.store.read(move |r| store::list_json(r, &prefix)).await?;
    crate::page(docs.into_iter().map(|d| d.domain).collect(), &input)
}

pub async fn update(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "domainName").to_string();
    modify(i, ctx, &name, move |d| {
        if let Some(c) = input.get("domainNameConfigurations").and_then(Value::as_array) {
            let target = d.domain.pointer("/domainNameConfigurations/0/apiGatewayDomainName").cloned();
            let configs: Vec<Value> = c
                .iter()
                .cloned()
                .map(|mut c| {
                    c["apiGatewayDomainName"] = target.clone().unwrap_or(Value::Null);
                    c["domainNameStatus"] = json!("AVAILABLE");
                    c
                })
                .collect();
            d.domain["domainNameConfigurations"] = json!(configs);
        }
        Ok(d.domain.clone())
    })
    .await
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "domainName").to_string();
    let key = domain_key(&ctx.account, &ctx.region, &name);
    i.store
        .write(move |t| {
            if t.get(key.as_bytes()).map_err(AwsError::from)?.is_none() {
                return Err(domain_not_found(&name));
            }
            t.delete(key.as_bytes()).map_err(AwsError::from)
        })
        .await?;
    reload(i).await?;
    Ok(json!({}))
}

fn valid_mapping_key(key: &str) -> bool {
    key.is_empty()
        || (!key.starts_with('/')
            && !key.ends_with('/')
            && !key.contains("//")
            && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')))
}

pub async fn create_mapping(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let api = s(&input, "apiId").to_string();
    let stage = s(&input, "stage").to_string();
    let doc = crate::apis::load(i, ctx, &api).await?;
    if !doc.stages.contains_key(&stage) {
        return Err(bad_request(format!("Invalid stage identifier specified {stage}")));
    }
    let key = s(&input, "apiMappingKey").trim_matches('/').to_string();
    if !valid_mapping_key(&key) {
        return Err(bad_request(format!("Invalid API mapping key {key}")));
    }
    let id = i.id(6);
    let mapping = json!({"apiMappingId": id, "apiId": api, "stage": stage, "apiMappingKey": key});
    let name = s(&input, "domainName").to_string();
    modify(i, ctx, &name, move |d| {
        if d.mappings.values().any(|m| s(m, "apiMappingKey") == key) {
            return Err(conflict(format!("The API mapping key {key} is already used on this domain name")));
        }
        d.mappings.insert(id, mapping.clone());
        Ok(mapping)
    })
    .await
}

pub async fn get_mapping(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let d = load(i, ctx, s(&input, "domainName")).await?;
    let id = s(&input, "apiMappingId");
    d.mappings.get(id).cloned().ok_or_else(|| mapping_not_found(id))
}

pub async fn list_mappings(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let d = load(i, ctx, s(&input, "domainName")).await?;
    crate::page(d.mappings.into_values().collect(), &input)
}

pub async fn update_mapping(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    if let Some(stage) = input.get("stage").and_then(Value::as_str) {
        let api = input.get("apiId").and_then(Value::as_str).unwrap_or_default();
        let doc = crate::apis::load(i, ctx, api).await?;
        if !doc.stages.contains_key(stage) {
            return Err(bad_request(format!("Invalid stage identifier specified {stage}")));
        }
    }
    let name = s(&input, "domainName").to_string();
    modify(i, ctx, &name, move |d| {
        let id = s(&input, "apiMappingId").to_string();
        let mut m = d.mappings.get(&id).cloned().ok_or_else(|| mapping_not_found(&id))?;
        if let Some(k) = input.get("apiMappingKey").and_then(Value::as_str) {
            let k = k.trim_matches('/');
            if !valid_mapping_key(k) {
                return Err(bad_request(format!("Invalid API mapping key {k}")));
            }
            m["apiMappingKey"] = json!(k);
        }
        for f in ["apiId", "stage"] {
            if let Some(v) = input.get(f).filter(|v| !v.is_null()) {
                m[f] = v.clone();
            }
        }
        d.mappings.insert(id, m.clone());
        Ok(m)
    })
    .await
}

pub async fn delete_mapping(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "domainName").to_string();
    modify(i, ctx, &name, move |d| {
        let id = s(&input, "apiMappingId");
        d.mappings.remove(id).ok_or_else(|| mapping_not_found(id))?;
        Ok(json!({}))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_by_longest_key() {
        let d = Domains::default();
        if let Ok(mut m) = d.map.write() {
            m.insert(
                "api.example.com".into(),
                vec![
                    ("v1/orders".into(), "a".into(), "prod".into()),
                    ("v1".into(), "b".into(), "prod".into()),
                    ("".into(), "c".into(), "$default".into()),
                ],
            );
        }
        assert!(d.contains("API.example.com"));
        assert_eq!(d.route("api.example.com", "/v1/orders/7"), Some(("a".into(), "prod".into(), "/7".into())));
        assert_eq!(d.route("api.example.com", "/v1"), Some(("b".into(), "prod".into(), "/".into())));
        assert_eq!(d.route("api.example.com", "/v10"), Some(("c".into(), "$default".into(), "/v10".into())));
        assert!(valid_mapping_key("v1/orders") && valid_mapping_key("") && !valid_mapping_key("a//b"));
    }
}
