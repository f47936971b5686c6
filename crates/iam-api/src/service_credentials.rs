//! Service-specific credentials of IAM users: a user name and password that work for one
//! service only (CodeCommit's git over HTTPS, Amazon Keyspaces), or a Bedrock API key. At most
//! two per user and service; active, inactive or expired; the password is shown on creation and
//! reset only. They act with their user's rights.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::scan_prefix;

use crate::entities::load;
use crate::errors::limit_exceeded;
use crate::types::*;
use crate::{Inner, ids, keys};

const MAX_PER_SERVICE: usize = 2;

/// The services that issue them; Bedrock's are API keys (an alias and a secret).
const SERVICES: &[&str] = &["codecommit.amazonaws.com", "cassandra.amazonaws.com", "bedrock.amazonaws.com"];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceCredentialRecord {
    pub id: String,
    pub account: String,
    pub user: String,
    pub service: String,
    /// The user name the service asks for (`{user}-at-{account}`), or a Bedrock key's alias.
    pub service_user_name: String,
    pub password: String,
    /// `Active`, `Inactive` or `Expired`.
    pub status: String,
    pub created: u64,
    pub expires: Option<u64>,
}

impl ServiceCredentialRecord {
    fn api_key(&self) -> bool {
        self.service == "bedrock.amazonaws.com"
    }

    /// The status now: a credential past its expiration date is `Expired`.
    fn status_at(&self, now: u64) -> &str {
        if self.expires.is_some_and(|e| e <= now) { "Expired" } else { &self.status }
    }

    fn metadata(&self, now: u64) -> Value {
        let mut v = json!({
            "UserName": self.user, "Status": self.status_at(now), "CreateDate": self.created,
            "ServiceSpecificCredentialId": self.id, "ServiceName": self.service,
        });
        if let Some(o) = v.as_object_mut() {
            let name = if self.api_key() { "ServiceCredentialAlias" } else { "ServiceUserName" };
            o.insert(name.into(), json!(self.service_user_name));
            if let Some(e) = self.expires {
                o.insert("ExpirationDate".into(), json!(e));
            }
        }
        v
    }

    /// The whole credential, secret included (creation and reset).
    fn with_secret(&self, now: u64) -> Value {
        let mut v = self.metadata(now);
        if let Some(o) = v.as_object_mut() {
            let name = if self.api_key() { "ServiceCredentialSecret" } else { "ServicePassword" };
            o.insert(name.into(), json!(self.password));
        }
        json!({ "ServiceSpecificCredential": v })
    }
}

fn credentials_of(
    r: &mut dyn stratus_storage::ReadTxn,
    account: &str,
    user: Option<&str>,
) -> Result<Vec<ServiceCredentialRecord>, AwsError> {
    let mut out = Vec::new();
    for (_, v) in scan_prefix(r, keys::SERVICE_CREDENTIALS, usize::MAX)? {
        let c: ServiceCredentialRecord = decode(&v)?;
        if c.account == account && user.is_none_or(|u| c.user.eq_ignore_ascii_case(u)) {
            out.push(c);
        }
    }
    out.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    Ok(out)
}

fn not_found(id: &str) -> AwsError {
    AwsError::new("NoSuchEntity", format!("No such credential {id} exists")).with_status(404)
}

/// The user an operation is about: `UserName`, or the caller's own user.
fn user_name(i: &Inner, ctx: &RequestContext, input: &Value) -> Result<String, AwsError> {
    if let Some(n) = str_of(input, "UserName") {
        return Ok(n.to_string());
    }
    i.directory
        .user_of_key(ctx.access_key.as_deref())
        .ok_or_else(|| crate::errors::validation("Must specify userName when calling with non-User credentials"))
}

/// A password of 44 characters of base64's alphabet; a Bedrock key's secret is longer.
fn password(i: &Inner, api_key: bool) -> String {
    let mut p = ids::secret(i.env.ids.as_ref());
    p.push_str(&ids::secret(i.env.ids.as_ref())[..if api_key { 40 } else { 4 }]);
    p
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let user = req(&input, "UserName")?.to_string();
    let service = req(&input, "ServiceName")?.to_string();
    if !SERVICES.contains(&service.as_str()) {
        return Err(AwsError::new(
            "NotSupportedService",
            format!("The specified service {service} is not supported for service-specific credentials."),
        )
        .with_status(404));
    }
    let now = i.now_secs();
    let expires = match input.get("CredentialAgeDays").and_then(Value::as_u64) {
        Some(days) if (1..=36600).contains(&days) => Some(now + days * 86_400),
        Some(days) => {
            return Err(crate::errors::validation(format!(
                "1 validation error detected: Value '{days}' at 'credentialAgeDays' failed to satisfy constraint: Member must have value between 1 and 36600"
            )));
        }
        None => None,
    };
    let api_key = service == "bedrock.amazonaws.com";
    let mut record = ServiceCredentialRecord {
        id: ids::entity(i.env.ids.as_ref(), "ACCA"),
        account: ctx.account.clone(),
        user,
        service,
        service_user_name: String::new(),
        password: password(i, api_key),
        status: "Active".into(),
        created: now,
        expires,
    };
    let alias = ids::id(i.env.ids.as_ref(), "", 4);
    let account = ctx.account.clone();
    let record = i
        .write(move |t| {
            let u: UserRecord = load(t, &account, &record.user)?;
            let same = credentials_of(t, &account, Some(&u.name))?;
            if same.iter().filter(|c| c.service == record.service).count() >= MAX_PER_SERVICE {
                return Err(limit_exceeded(format!(
                    "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: {MAX_PER_SERVICE}"
                )));
            }
            record.user = u.name.clone();
            record.service_user_name = if api_key {
                format!("BedrockAPIKey-{}-at-{account}", alias.to_lowercase())
            } else {
                format!("{}-at-{account}", u.name)
            };
            t.put(&keys::service_credential(&record.id), &encode(&record)?)?;
            Ok(record)
        })
        .await?;
    Ok(record.with_secret(now))
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let all_users = input.get("AllUsers").and_then(Value::as_bool).unwrap_or(false);
    let user = if all_users { None } else { Some(user_name(i, ctx, &input)?) };
    let service = str_of(&input, "ServiceName").map(str::to_string);
    let account = ctx.account.clone();
    let found = i
        .read(move |r| {
            let user = match user {
                Some(u) => Some(load::<UserRecord>(r, &account, &u)?.name),
                None => None,
            };
            credentials_of(r, &account, user.as_deref())
        })
        .await?;
    let now = i.now_secs();
    let items: Vec<Value> =
        found.iter().filter(|c| service.as_deref().is_none_or(|s| c.service == s)).map(|c| c.metadata(now)).collect();
    let (items, next) = page(items, str_of(&input, "Marker"), input.get("MaxItems").and_then(Value::as_i64))?;
    Ok(listing(json!({ "ServiceSpecificCredentials": items }), next))
}

/// Finds the caller's (or `UserName`'s) credential `id` and changes it with `change`.
async fn modify(
    i: &Inner,
    ctx: &RequestContext,
    input: &Value,
    change: impl FnOnce(&mut ServiceCredentialRecord) + Send + 'static,
) -> Result<ServiceCredentialRecord, AwsError> {
    let user = user_name(i, ctx, input)?;
    let id = req(input, "ServiceSpecificCredentialId")?.to_string();
    let account = ctx.account.clone();
    i.write(move |t| {
        let u: UserRecord = load(t, &account, &user)?;
        let mut c = credentials_of(t, &account, Some(&u.name))?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| not_found(&id))?;
        change(&mut c);
        t.put(&keys::service_credential(&c.id), &encode(&c)?)?;
        Ok(c)
    })
    .await
}

pub async fn reset(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let fresh = (password(i, false), password(i, true));
    let c = modify(i, ctx, &input, move |c| c.password = if c.api_key() { fresh.1 } else { fresh.0 }).await?;
    Ok(c.with_secret(i.now_secs()))
}

pub async fn update(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    let status = req(&input, "Status")?.to_string();
    if !matches!(status.as_str(), "Active" | "Inactive" | "Expired") {
        return Err(crate::errors::validation(format!(
            "1 validation error detected: Value '{status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive, Expired]"
        )));
    }
    modify(i, ctx, &input, move |c| c.status = status).await.map(|_| ())
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    let user = user_name(i, ctx, &input)?;
    let id = req(&input, "ServiceSpecificCredentialId")?.to_string();
    let account = ctx.account.clone();
    i.write(move |t| {
        let u: UserRecord = load(t, &account, &user)?;
        if !credentials_of(t, &account, Some(&u.name))?.iter().any(|c| c.id == id) {
            return Err(not_found(&id));
        }
        t.delete(&keys::service_credential(&id))?;
        Ok(())
    })
    .await
}

/// Whether a user has any (DeleteUser refuses then, as for access keys).
pub fn any_for(r: &mut dyn stratus_storage::ReadTxn, account: &str, user: &str) -> Result<bool, AwsError> {
    Ok(!credentials_of(r, account, Some(user))?.is_empty())
}

/// The user whose active credential for `service` has this service user name and password:
/// `(account, user name)`. What a service's own sign-in (git over HTTPS) asks.
pub fn verify(
    r: &mut dyn stratus_storage::ReadTxn,
    service: &str,
    service_user_name: &str,
    password: &str,
    now: u64,
) -> Result<Option<(String, String)>, AwsError> {
    for (_, v) in scan_prefix(r, keys::SERVICE_CREDENTIALS, usize::MAX)? {
        let c: ServiceCredentialRecord = decode(&v)?;
        if c.service == service
            && c.service_user_name == service_user_name
            && c.status_at(now) == "Active"
            && constant_time_eq(c.password.as_bytes(), password.as_bytes())
        {
            return Ok(Some((c.account, c.user)));
        }
    }
    Ok(None)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
