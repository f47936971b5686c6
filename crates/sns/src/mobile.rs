//! Mobile push, recorded rather than sent: platform applications (CreatePlatformApplication,
//! Get/SetPlatformApplicationAttributes, ListPlatformApplications, DeletePlatformApplication)
//! and their endpoints (CreatePlatformEndpoint, Get/SetEndpointAttributes,
//! ListEndpointsByPlatformApplication, DeleteEndpoint). No push service is reachable from a
//! local server, so a message for an endpoint — published to it directly or through an
//! `application` subscription — is kept in the message record ([`crate::recorded`]) where tests
//! read what would have been sent.
//!
//! - `sns/app/{account}/{region}/{platform}/{name}` → application record (JSON)
//! - `sns/ep/{account}/{region}/{platform}/{name}/{id}` → endpoint record (JSON)
//!
//! ARNs are `arn:aws:sns:{region}:{account}:app/{platform}/{name}` and
//! `…:endpoint/{platform}/{name}/{id}`, so a lookup by ARN is one `get`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, Txn, prefix_end, scan_prefix};

use crate::Inner;
use crate::errors::invalid_parameter_reason;
use crate::topic::{decode, encode};

pub const PLATFORMS: &[&str] = &["ADM", "APNS", "APNS_SANDBOX", "BAIDU", "GCM", "MPNS", "WNS"];
/// Attributes that hold credentials: kept, never answered back.
const SECRET: &[&str] = &["PlatformCredential", "PlatformPrincipal"];
const APP_ATTRIBUTES: &[&str] = &[
    "PlatformCredential",
    "PlatformPrincipal",
    "EventEndpointCreated",
    "EventEndpointDeleted",
    "EventEndpointUpdated",
    "EventDeliveryFailure",
    "SuccessFeedbackRoleArn",
    "FailureFeedbackRoleArn",
    "SuccessFeedbackSampleRate",
    "Enabled",
    "ApplePlatformTeamID",
    "ApplePlatformBundleID",
    "AuthenticationMethod",
];
const ENDPOINT_ATTRIBUTES: &[&str] = &["CustomUserData", "Enabled", "Token"];
const LIST_PAGE: usize = 100;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Application {
    pub account: String,
    pub region: String,
    pub platform: String,
    pub name: String,
    pub attributes: BTreeMap<String, String>,
}

impl Application {
    pub fn arn(&self) -> String {
        format!(
            "arn:{partition}:sns:{}:{}:app/{}/{}",
            self.region,
            self.account,
            self.platform,
            self.name,
            partition = stratus_core::partition(&self.region)
        )
    }

    pub fn enabled(&self) -> bool {
        self.attributes.get("Enabled").is_none_or(|v| !v.eq_ignore_ascii_case("false"))
    }

    fn shown(&self) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = self
            .attributes
            .iter()
            .filter(|(k, _)| !SECRET.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.entry("Enabled".into()).or_insert_with(|| "true".into());
        out
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoint {
    pub account: String,
    pub region: String,
    pub platform: String,
    pub app: String,
    pub id: String,
    /// `Token`, `Enabled` and `CustomUserData` when set.
    pub attributes: BTreeMap<String, String>,
}

impl Endpoint {
    pub fn arn(&self) -> String {
        format!(
            "arn:{partition}:sns:{}:{}:endpoint/{}/{}/{}",
            self.region,
            self.account,
            self.platform,
            self.app,
            self.id,
            partition = stratus_core::partition(&self.region)
        )
    }

    pub fn enabled(&self) -> bool {
        self.attributes.get("Enabled").is_none_or(|v| !v.eq_ignore_ascii_case("false"))
    }
}

fn app_key(account: &str, region: &str, platform: &str, name: &str) -> Vec<u8> {
    format!("sns/app/{account}/{region}/{platform}/{name}").into_bytes()
}

fn endpoint_key(account: &str, region: &str, platform: &str, app: &str, id: &str) -> Vec<u8> {
    format!("sns/ep/{account}/{region}/{platform}/{app}/{id}").into_bytes()
}

fn endpoints_prefix(a: &Application) -> Vec<u8> {
    format!("sns/ep/{}/{}/{}/{}/", a.account, a.region, a.platform, a.name).into_bytes()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn attributes(v: &Value) -> BTreeMap<String, String> {
    v.get("Attributes")
        .and_then(Value::as_object)
        .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// `(account, region, platform, name)` of an application ARN.
fn parse_app_arn(arn: &str) -> Option<(String, String, String, String)> {
    let a = stratus_core::Arn::parse(arn).filter(|a| a.service == "sns")?;
    let mut parts = a.resource.strip_prefix("app/")?.splitn(2, '/');
    let (platform, name) = (parts.next()?, parts.next()?);
    (!name.is_empty() && !name.contains('/'))
        .then(|| (a.account.to_string(), a.region.to_string(), platform.to_string(), name.to_string()))
}

/// Whether an ARN names a platform endpoint (`…:endpoint/{platform}/{app}/{id}`).
pub fn is_endpoint_arn(arn: &str) -> bool {
    stratus_core::Arn::parse(arn).is_some_and(|a| a.service == "sns" && a.resource.starts_with("endpoint/"))
}

fn endpoint_key_of(arn: &str) -> Option<Vec<u8>> {
    let a = stratus_core::Arn::parse(arn).filter(|a| a.service == "sns")?;
    let parts: Vec<&str> = a.resource.strip_prefix("endpoint/")?.split('/').collect();
    match parts.as_slice() {
        [platform, app, id] if !id.is_empty() => Some(endpoint_key(a.account, a.region, platform, app, id)),
        _ => None,
    }
}

fn app_not_found() -> AwsError {
    AwsError::new("NotFoundException", "PlatformApplication does not exist")
}

fn endpoint_not_found() -> AwsError {
    AwsError::new("NotFoundException", "Endpoint does not exist")
}

fn load_app(r: &mut dyn ReadTxn, arn: &str) -> Result<Option<Application>, AwsError> {
    let Some((account, region, platform, name)) = parse_app_arn(arn) else { return Ok(None) };
    r.get(&app_key(&account, &region, &platform, &name))?.map(|b| decode(&b)).transpose()
}

pub fn load_endpoint(r: &mut dyn ReadTxn, arn: &str) -> Result<Option<Endpoint>, AwsError> {
    let Some(key) = endpoint_key_of(arn) else { return Ok(None) };
    r.get(&key)?.map(|b| decode(&b)).transpose()
}

/// The application of an endpoint.
pub fn endpoint_app(r: &mut dyn ReadTxn, e: &Endpoint) -> Result<Option<Application>, AwsError> {
    r.get(&app_key(&e.account, &e.region, &e.platform, &e.app))?.map(|b| decode(&b)).transpose()
}

fn check_app_attributes(attrs: &BTreeMap<String, String>) -> Result<(), AwsError> {
    for (k, v) in attrs {
        if !APP_ATTRIBUTES.contains(&k.as_str()) {
            return Err(invalid_parameter_reason("Attributes", format!("Invalid attribute name: {k}")));
        }
        if k == "Enabled" && !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
            return Err(invalid_parameter_reason("Attributes", "Enabled must be true or false"));
        }
    }
    Ok(())
}

/// The credentials each platform needs (checked for presence: no provider is reachable to
/// check them further).
fn check_credentials(platform: &str, attrs: &BTreeMap<String, String>) -> Result<(), AwsError> {
    let has = |k: &str| attrs.get(k).is_some_and(|v| !v.is_empty());
    let missing = |k: &str| invalid_parameter_reason("Attributes", format!("{k} attribute must be specified"));
    if !has("PlatformCredential") {
        return Err(missing("PlatformCredential"));
    }
    let token_auth = attrs.get("AuthenticationMethod").is_some_and(|m| m == "Token");
    if matches!(platform, "APNS" | "APNS_SANDBOX") && token_auth {
        for k in ["PlatformPrincipal", "ApplePlatformTeamID", "ApplePlatformBundleID"] {
            if !has(k) {
                return Err(missing(k));
            }
        }
    } else if matches!(platform, "APNS" | "APNS_SANDBOX" | "ADM" | "BAIDU" | "MPNS") && !has("PlatformPrincipal") {
        return Err(missing("PlatformPrincipal"));
    }
    Ok(())
}

pub(crate) async fn create_app(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "Name").to_string();
    let platform = s(&input, "Platform").to_string();
    let attrs = attributes(&input);
    if !valid_name(&name) {
        return Err(invalid_parameter_reason(
            "Name",
            "Invalid platform application name. Must be 1-256 alphanumeric characters, '_', '-' or '.'",
        ));
    }
    if !PLATFORMS.contains(&platform.as_str()) {
        return Err(invalid_parameter_reason("Platform", format!("Platform {platform} is not supported")));
    }
    check_app_attributes(&attrs)?;
    check_credentials(&platform, &attrs)?;
    let app =
        Application { account: ctx.account.clone(), region: ctx.region.clone(), platform, name, attributes: attrs };
    let arn = app.arn();
    i.store
        .write(move |t| {
            // Creating an application that exists updates it, as AWS does.
            t.put(&app_key(&app.account, &app.region, &app.platform, &app.name), &encode(&app)?)?;
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(json!({"PlatformApplicationArn": arn}))
}

pub(crate) async fn get_app_attributes(i: &Inner, input: Value) -> Result<Value, AwsError> {
    let arn = s(&input, "PlatformApplicationArn").to_string();
    let app = i.store.read(move |r| load_app(r, &arn)).await?.ok_or_else(app_not_found)?;
    Ok(json!({"Attributes": app.shown()}))
}

pub(crate) async fn set_app_attributes(i: &Inner, input: Value) -> Result<Value, AwsError> {
    let arn = s(&input, "PlatformApplicationArn").to_string();
    let attrs = attributes(&input);
    check_app_attributes(&attrs)?;
    i.store
        .write(move |t| {
            let mut app = load_app(t, &arn)?.ok_or_else(app_not_found)?;
            app.attributes.extend(attrs);
            t.put(&app_key(&app.account, &app.region, &app.platform, &app.name), &encode(&app)?)?;
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(Value::Null)
}

pub(crate) async fn delete_app(i: &Inner, input: Value) -> Result<Value, AwsError> {
    let arn = s(&input, "PlatformApplicationArn").to_string();
    i.store
        .write(move |t| {
            if let Some(app) = load_app(t, &arn)? {
                let p = endpoints_prefix(&app);
                t.delete_range(&p, prefix_end(&p).as_deref())?;
                t.delete(&app_key(&app.account, &app.region, &app.platform, &app.name))?;
            }
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(Value::Null)
}

/// One page of records under `prefix`, after the key `token` names.
fn page<T: serde::de::DeserializeOwned>(
    r: &mut dyn ReadTxn,
    prefix: &[u8],
    token: &str,
    size: usize,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let start = if token.is_empty() {
        prefix.to_vec()
    } else {
        let after = crate::topics::decode_token(token)?;
        let mut k = prefix.to_vec();
        k.extend_from_slice(after.as_bytes());
        k.push(0);
        k
    };
    let end = prefix_end(prefix);
    let rows = r.scan(&start, end.as_deref(), size + 1)?;
    let more = rows.len() > size;
    let rows = &rows[..rows.len().min(size)];
    let next = match (more, rows.last()) {
        (true, Some((k, _))) => Some(crate::topics::encode_token(&String::from_utf8_lossy(&k[prefix.len()..]))),
        _ => None,
    };
    Ok((rows.iter().map(|(_, v)| decode(v)).collect::<Result<_, _>>()?, next))
}

pub(crate) async fn list_apps(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let token = s(&input, "NextToken").to_string();
    let prefix = format!("sns/app/{}/{}/", ctx.account, ctx.region).into_bytes();
    let (apps, next) = i.store.read(move |r| page::<Application>(r, &prefix, &token, LIST_PAGE)).await?;
    let list: Vec<Value> =
        apps.iter().map(|a| json!({"PlatformApplicationArn": a.arn(), "Attributes": a.shown()})).collect();
    let mut out = json!({"PlatformApplications": list});
    if let (Some(n), Some(o)) = (next, out.as_object_mut()) {
        o.insert("NextToken".into(), json!(n));
    }
    Ok(out)
}

fn check_endpoint_attributes(attrs: &BTreeMap<String, String>) -> Result<(), AwsError> {
    for (k, v) in attrs {
        if !ENDPOINT_ATTRIBUTES.contains(&k.as_str()) {
            return Err(invalid_parameter_reason("Attributes", format!("Invalid attribute name: {k}")));
        }
        if k == "Enabled" && !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
            return Err(invalid_parameter_reason("Attributes", "Enabled must be true or false"));
        }
        if k == "CustomUserData" && v.len() > 2048 {
            return Err(invalid_parameter_reason("CustomUserData", "must be at most 2048 bytes long"));
        }
    }
    Ok(())
}

pub(crate) async fn create_endpoint(i: &Inner, input: Value) -> Result<Value, AwsError> {
    let arn = s(&input, "PlatformApplicationArn").to_string();
    let token = s(&input, "Token").to_string();
    if token.is_empty() {
        return Err(invalid_parameter_reason("Token", "must not be empty"));
    }
    let mut attrs = attributes(&input);
    check_endpoint_attributes(&attrs)?;
    if let Some(d) = input.get("CustomUserData").and_then(Value::as_str) {
        attrs.insert("CustomUserData".into(), d.to_string());
    }
    attrs.insert("Token".into(), token.clone());
    attrs.entry("Enabled".into()).or_insert_with(|| "true".into());
    let id = i.env.ids.uuid();
    let arn = i
        .store
        .write(move |t| {
            let app = load_app(t, &arn)?.ok_or_else(app_not_found)?;
            // A token is one endpoint: asked again with the same attributes, the same endpoint.
            for (_, v) in scan_prefix(t, &endpoints_prefix(&app), usize::MAX)? {
                let e: Endpoint = decode(&v)?;
                if e.attributes.get("Token") == Some(&token) {
                    if e.attributes == attrs {
                        return Ok(e.arn());
                    }
                    return Err(invalid_parameter_reason(
                        "Token",
                        format!("Endpoint {} already exists with the same Token, but different attributes.", e.arn()),
                    ));
                }
            }
            let e = Endpoint {
                account: app.account.clone(),
                region: app.region.clone(),
                platform: app.platform.clone(),
                app: app.name.clone(),
                id,
                attributes: attrs,
            };
            t.put(&endpoint_key(&e.account, &e.region, &e.platform, &e.app, &e.id), &encode(&e)?)?;
            Ok(e.arn())
        })
        .await?;
    Ok(json!({"EndpointArn": arn}))
}

pub(crate) async fn get_endpoint_attributes(i: &Inner, input: Value) -> Result<Value, AwsError> {
    let arn = s(&input, "EndpointArn").to_string();
    let e = i.store.read(move |r| load_endpoint(r, &arn)).await?.ok_or_else(endpoint_not_found)?;
    Ok(json!({"Attributes": e.attributes}))
}

pub(crate) async fn set_endpoint_attributes(i: &Inner, input: Value) -> Result<Value, AwsError> {
    let arn = s(&input, "EndpointArn").to_string();
    let attrs = attributes(&input);
    check_endpoint_attributes(&attrs)?;
    i.store
        .write(move |t| {
            let mut e = load_endpoint(t, &arn)?.ok_or_else(endpoint_not_found)?;
            e.attributes.extend(attrs);
            t.put(&endpoint_key(&e.account, &e.region, &e.platform, &e.app, &e.id), &encode(&e)?)?;
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(Value::Null)
}

pub(crate) async fn delete_endpoint(i: &Inner, input: Value) -> Result<Value, AwsError> {
    let arn = s(&input, "EndpointArn").to_string();
    i.store
        .write(move |t| {
            if let Some(key) = endpoint_key_of(&arn) {
                t.delete(&key)?;
            }
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(Value::Null)
}

pub(crate) async fn list_endpoints(i: &Inner, input: Value) -> Result<Value, AwsError> {
    let arn = s(&input, "PlatformApplicationArn").to_string();
    let token = s(&input, "NextToken").to_string();
    let (endpoints, next) = i
        .store
        .read(move |r| {
            let app = load_app(r, &arn)?.ok_or_else(app_not_found)?;
            page::<Endpoint>(r, &endpoints_prefix(&app), &token, LIST_PAGE)
        })
        .await?;
    let list: Vec<Value> =
        endpoints.iter().map(|e| json!({"EndpointArn": e.arn(), "Attributes": e.attributes})).collect();
    let mut out = json!({"Endpoints": list});
    if let (Some(n), Some(o)) = (next, out.as_object_mut()) {
        o.insert("NextToken".into(), json!(n));
    }
    Ok(out)
}

/// The endpoint a direct Publish (TargetArn) goes to, checked as AWS does: it must exist and
/// be enabled, and so must its application.
pub fn publish_target(t: &mut dyn Txn, arn: &str) -> Result<Endpoint, AwsError> {
    let e = load_endpoint(t, arn)?
        .ok_or_else(|| invalid_parameter_reason("TargetArn", "No endpoint found for the target arn specified"))?;
    if !e.enabled() {
        return Err(AwsError::new("EndpointDisabledException", "Endpoint is disabled"));
    }
    match endpoint_app(t, &e)? {
        Some(app) if !app.enabled() => {
            Err(AwsError::new("PlatformApplicationDisabledException", "Platform application is disabled"))
        }
        Some(_) => Ok(e),
        None => Err(endpoint_not_found()),
    }
}

/// The platform an endpoint ARN belongs to (`GCM`, `APNS`, …): the key a JSON-structured
/// message is chosen by.
pub fn platform_of(endpoint_arn: &str) -> Option<String> {
    let a = stratus_core::Arn::parse(endpoint_arn)?;
    a.resource.strip_prefix("endpoint/")?.split('/').next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns() {
        assert_eq!(
            parse_app_arn("arn:aws:sns:us-east-1:000000000000:app/GCM/my-app"),
            Some(("000000000000".into(), "us-east-1".into(), "GCM".into(), "my-app".into()))
        );
        assert_eq!(parse_app_arn("arn:aws:sns:us-east-1:000000000000:app/GCM/"), None);
        assert!(is_endpoint_arn("arn:aws:sns:us-east-1:000000000000:endpoint/GCM/a/123"));
        assert!(!is_endpoint_arn("arn:aws:sns:us-east-1:000000000000:topic"));
        assert_eq!(platform_of("arn:aws:sns:us-east-1:000000000000:endpoint/APNS/a/1").as_deref(), Some("APNS"));
        assert!(endpoint_key_of("arn:aws:sns:us-east-1:000000000000:endpoint/GCM/a").is_none());
    }

    #[test]
    fn credentials() {
        let attrs = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert!(check_credentials("GCM", &attrs(&[("PlatformCredential", "key")])).is_ok());
        assert!(check_credentials("GCM", &attrs(&[])).is_err());
        assert!(check_credentials("APNS", &attrs(&[("PlatformCredential", "key")])).is_err());
        assert!(check_credentials("APNS", &attrs(&[("PlatformCredential", "k"), ("PlatformPrincipal", "c")])).is_ok());
    }
}
