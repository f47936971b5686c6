//! OpenID Connect identity providers (IAM) and what they are for: STS
//! AssumeRoleWithWebIdentity, which trades a provider's signed ID token for a role's temporary
//! credentials when the role's trust policy lets that provider (`{"Federated": provider ARN}`)
//! in, with the token's claims as condition keys (`{provider}:aud`, `{provider}:sub`).
//!
//! A token is checked as AWS checks it: its issuer is a provider of the role's account, its
//! audience one of the provider's client ids, it has not expired, and (when callers are
//! authenticated) its RS256/RS384/RS512 signature verifies with a key of the provider's JWKS.
//! Stratus reaches no identity provider over the network: the JWKS of each issuer comes from
//! the configuration (`[[oidc_keys]]`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_iam::policy::{Caller, CallerKind, Context, Effect, Policy, PolicyKind, Request};
use stratus_proto::AwsError;
use stratus_storage::scan_prefix;

use crate::Inner;
use crate::entities::{self, Entity};
use crate::errors::{access_denied, limit_exceeded, validation};
use crate::keys;
use crate::types::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderRecord {
    /// The issuer without its scheme (`token.actions.githubusercontent.com`).
    pub url: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub tags: Vec<Tag>,
    pub created: u64,
}

fn arn(account: &str, url: &str) -> String {
    format!("arn:aws:iam::{account}:oidc-provider/{url}")
}

/// `https://host/path/` → `host/path`.
fn bare_url(url: &str) -> Result<String, AwsError> {
    let rest =
        url.strip_prefix("https://").ok_or_else(|| validation("Invalid URL: the URL must begin with https://"))?;
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains(['?', '#', ' ']) {
        return Err(validation(format!("Invalid URL: {url}")));
    }
    Ok(rest.to_string())
}

fn not_found(arn: &str) -> AwsError {
    AwsError::new("NoSuchEntity", format!("OpenIDConnect Provider not found for arn {arn}")).with_status(404)
}

/// `(account, url)` of a provider ARN.
fn parse_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = stratus_core::arn_without_partition(arn)?.strip_prefix("iam::")?;
    let (account, resource) = rest.split_once(':')?;
    Some((account, resource.strip_prefix("oidc-provider/")?))
}

fn load(r: &mut dyn stratus_storage::ReadTxn, account: &str, provider_arn: &str) -> Result<ProviderRecord, AwsError> {
    let (owner, url) = parse_arn(provider_arn).ok_or_else(|| not_found(provider_arn))?;
    if owner != account {
        return Err(not_found(provider_arn));
    }
    r.get(&keys::oidc_provider(account, url))?.map(|b| decode(&b)).transpose()?.ok_or_else(|| not_found(provider_arn))
}

fn save(t: &mut dyn stratus_storage::Txn, account: &str, p: &ProviderRecord) -> Result<(), AwsError> {
    t.put(&keys::oidc_provider(account, &p.url), &encode(p)?)?;
    Ok(())
}

fn client_ids(input: &Value) -> Result<Vec<String>, AwsError> {
    let ids = strings_of(input, "ClientIDList");
    if ids.len() > 100 {
        return Err(limit_exceeded("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100"));
    }
    Ok(ids)
}

fn thumbprints(input: &Value) -> Result<Vec<String>, AwsError> {
    let prints = strings_of(input, "ThumbprintList");
    if prints.len() > 5 {
        return Err(limit_exceeded("Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: 5"));
    }
    if let Some(bad) = prints.iter().find(|p| p.len() != 40 || !p.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(validation(format!("Invalid thumbprint: {bad}")));
    }
    Ok(prints)
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let p = ProviderRecord {
        url: bare_url(req(&input, "Url")?)?,
        client_ids: client_ids(&input)?,
        thumbprints: thumbprints(&input)?,
        tags: tags_of(&input)?,
        created: i.now_secs(),
    };
    let account = ctx.account.clone();
    let out = json!({ "OpenIDConnectProviderArn": arn(&account, &p.url), "Tags": p.tags });
    i.write(move |t| {
        if t.get(&keys::oidc_provider(&account, &p.url))?.is_some() {
            return Err(AwsError::new(
                "EntityAlreadyExists",
                format!("Provider with url https://{} already exists.", p.url),
            )
            .with_status(409));
        }
        save(t, &account, &p)
    })
    .await?;
    Ok(out)
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let provider = req(&input, "OpenIDConnectProviderArn")?.to_string();
    let account = ctx.account.clone();
    let p = i.read(move |r| load(r, &account, &provider)).await?;
    Ok(json!({
        "Url": p.url, "ClientIDList": p.client_ids, "ThumbprintList": p.thumbprints,
        "CreateDate": p.created, "Tags": tags_json(&p.tags),
    }))
}

pub async fn list(i: &Inner, ctx: &RequestContext) -> Result<Value, AwsError> {
    let account = ctx.account.clone();
    let prefix = keys::oidc_providers(&account);
    let all: Vec<ProviderRecord> =
        i.read(move |r| scan_prefix(r, &prefix, usize::MAX)?.iter().map(|(_, v)| decode(v)).collect()).await?;
    let list: Vec<Value> = all.iter().map(|p| json!({ "Arn": arn(&ctx.account, &p.url) })).collect();
    Ok(json!({ "OpenIDConnectProviderList": list }))
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    let provider = req(&input, "OpenIDConnectProviderArn")?.to_string();
    let account = ctx.account.clone();
    i.write(move |t| {
        // Deleting one that does not exist succeeds, as on AWS.
        if let Some((owner, url)) = parse_arn(&provider).filter(|(owner, _)| *owner == account) {
            t.delete(&keys::oidc_provider(owner, url))?;
        }
        Ok(())
    })
    .await
}

/// Changes a provider (client ids, thumbprints, tags).
pub async fn modify(
    i: &Inner,
    ctx: &RequestContext,
    input: Value,
    change: impl FnOnce(&mut ProviderRecord, &Value) -> Result<(), AwsError> + Send + 'static,
) -> Result<(), AwsError> {
    let provider = req(&input, "OpenIDConnectProviderArn")?.to_string();
    let account = ctx.account.clone();
    i.write(move |t| {
        let mut p = load(t, &account, &provider)?;
        change(&mut p, &input)?;
        save(t, &account, &p)
    })
    .await
}

pub async fn add_client_id(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    modify(i, ctx, input, |p, input| {
        let id = req(input, "ClientID")?.to_string();
        if !p.client_ids.contains(&id) {
            if p.client_ids.len() >= 100 {
                return Err(limit_exceeded("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100"));
            }
            p.client_ids.push(id);
        }
        Ok(())
    })
    .await
}

pub async fn remove_client_id(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    modify(i, ctx, input, |p, input| {
        let id = req(input, "ClientID")?;
        p.client_ids.retain(|c| c != id);
        Ok(())
    })
    .await
}

pub async fn update_thumbprints(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    modify(i, ctx, input, |p, input| {
        p.thumbprints = thumbprints(input)?;
        Ok(())
    })
    .await
}

pub async fn tag(i: &Inner, ctx: &RequestContext, input: Value, add: bool) -> Result<(), AwsError> {
    modify(i, ctx, input, move |p, input| {
        if add {
            merge_tags(&mut p.tags, tags_of(input)?)
        } else {
            remove_tags(&mut p.tags, &strings_of(input, "TagKeys"));
            Ok(())
        }
    })
    .await
}

pub async fn list_tags(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let provider = req(&input, "OpenIDConnectProviderArn")?.to_string();
    let account = ctx.account.clone();
    let p = i.read(move |r| load(r, &account, &provider)).await?;
    let (items, next) = page(p.tags, str_of(&input, "Marker"), input.get("MaxItems").and_then(Value::as_i64))?;
    Ok(listing(json!({ "Tags": items }), next))
}

// ------------------------------------------------------------------ web identity tokens

/// The JWKS of each issuer (`https://…` as in the tokens' `iss`), from the configuration.
pub type IssuerKeys = HashMap<String, Value>;

fn invalid_token(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidIdentityToken", message).with_status(400)
}

fn unverifiable() -> AwsError {
    AwsError::new(
        "IDPCommunicationError",
        "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
    )
    .with_status(400)
}

/// A checked token: its issuer (as in `iss`), the provider's bare URL, the audience that
/// matched, the subject.
pub struct WebIdentity {
    pub issuer: String,
    pub provider_arn: String,
    pub audience: String,
    pub subject: String,
    /// The provider's condition keys (`{url}:aud`, `{url}:sub`, `{url}:amr`, …).
    pub context: Context,
}

/// Checks a web identity token for a role of `account`, as AssumeRoleWithWebIdentity does.
pub async fn check_token(i: &Inner, account: &str, token: &str, verify: bool) -> Result<WebIdentity, AwsError> {
    let t = stratus_iam::jwt::Jwt::decode(token).ok_or_else(|| {
        invalid_token(
            "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.",
        )
    })?;
    let issuer = t.claims["iss"].as_str().unwrap_or_default().to_string();
    let url = issuer.strip_prefix("https://").unwrap_or(&issuer).trim_end_matches('/').to_string();
    let (acct, lookup) = (account.to_string(), url.clone());
    let provider: Option<ProviderRecord> =
        i.read(move |r| r.get(&keys::oidc_provider(&acct, &lookup))?.map(|b| decode(&b)).transpose()).await?;
    let Some(provider) = provider else {
        return Err(invalid_token(format!("No OpenIDConnect provider found in your account for {issuer}")));
    };
    let audience = t
        .audiences()
        .into_iter()
        .find(|a| provider.client_ids.contains(a))
        .ok_or_else(|| invalid_token("Incorrect token audience"))?;
    let now = i.now_secs();
    let exp = t.claims["exp"].as_u64().ok_or_else(|| invalid_token("The token has no expiration time (exp)"))?;
    if exp <= now {
        return Err(AwsError::new(
            "ExpiredTokenException",
            format!(
                "Token expired: current date/time {} must be before the expiration date/time {}",
                stratus_core::time::iso8601_secs(now),
                stratus_core::time::iso8601_secs(exp)
            ),
        )
        .with_status(400));
    }
    if verify {
        let keys = i.issuer_keys();
        let jwks = keys.get(&issuer).or_else(|| keys.get(&format!("https://{url}"))).ok_or_else(unverifiable)?;
        if !t.verify(jwks).map_err(invalid_token)? {
            return Err(invalid_token(
                "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.",
            ));
        }
    }
    let subject = t.claims["sub"].as_str().unwrap_or_default().to_string();
    let mut context = Context::new();
    context.insert(&format!("{url}:aud"), audience.clone());
    context.insert(&format!("{url}:sub"), subject.clone());
    for claim in ["azp", "amr", "email", "oaud"] {
        match &t.claims[claim] {
            Value::String(s) => {
                context.insert(&format!("{url}:{claim}"), s.clone());
            }
            Value::Array(a) => {
                context.insert_all(&format!("{url}:{claim}"), a.iter().filter_map(Value::as_str));
            }
            _ => {}
        }
    }
    let provider_arn = arn(account, &url);
    context.insert("aws:FederatedProvider", provider_arn.clone());
    Ok(WebIdentity { issuer, provider_arn, audience, subject, context })
}

/// Whether the role's trust policy lets the token's provider assume it.
pub fn trusts(trust: &str, role_arn: &str, who: &WebIdentity) -> Result<bool, AwsError> {
    let policy = Policy::parse(trust, PolicyKind::Trust).map_err(|e| AwsError::internal(e.message))?;
    let caller = Caller {
        arn: who.provider_arn.clone(),
        account: String::new(),
        kind: CallerKind::IdentityProvider(who.provider_arn.clone()),
        user_id: who.subject.clone(),
        username: None,
        tags: Vec::new(),
        role_arn: None,
    };
    let request = Request {
        principal: &caller,
        action: "sts:AssumeRoleWithWebIdentity",
        resource: role_arn,
        context: &who.context,
    };
    Ok(policy.evaluate(&request) == Effect::Allow)
}

/// AssumeRoleWithWebIdentity: checks the token and the role's trust policy, then issues a
/// session of the role like AssumeRole's.
pub async fn assume_role_with_web_identity(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let role_arn = req(&input, "RoleArn")?.to_string();
    let session_name = req(&input, "RoleSessionName")?.to_string();
    let token = req(&input, "WebIdentityToken")?.to_string();
    let Some((account, role_name)) = crate::sts::parse_role_arn(&role_arn).map(|(a, n)| (a.to_string(), n.to_string()))
    else {
        return Err(validation(format!("{role_arn} is invalid")));
    };
    let who = check_token(i, &account, &token, i.check_trust).await?;
    let lookup = account.clone();
    let role: Option<RoleRecord> = i.read(move |r| entities::find(r, &lookup, &role_name)).await?;
    let not_authorized = || access_denied("Not authorized to perform sts:AssumeRoleWithWebIdentity");
    let role = role.filter(|r| r.arn(&account) == role_arn).ok_or_else(not_authorized)?;
    // As for AssumeRole, open mode evaluates no trust policy.
    if i.check_trust && !trusts(&role.trust, &role_arn, &who)? {
        return Err(not_authorized());
    }
    let mut out = crate::sts::issue_session(i, ctx, &input, &role, &role_arn, &session_name).await?;
    if let Some(o) = out.as_object_mut() {
        o.insert("SubjectFromWebIdentityToken".into(), json!(who.subject));
        o.insert("Provider".into(), json!(who.issuer));
        o.insert("Audience".into(), json!(who.audience));
    }
    Ok(out)
}
