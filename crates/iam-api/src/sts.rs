//! STS: who is calling, and temporary credentials (AssumeRole, GetSessionToken).

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_iam::Identity;
use stratus_iam::policy::{Caller, CallerKind, Context, Effect, Policy, PolicyKind, Request};
use stratus_proto::AwsError;

use crate::entities::{self, Entity};
use crate::errors::{access_denied, validation};
use crate::keys::{self, Kind};
use crate::types::*;
use crate::{Inner, ids};

/// Session names: 2–64 of `[\w+=,.@-]`.
fn check_session_name(name: &str) -> Result<(), AwsError> {
    let ok = (2..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        return Ok(());
    }
    if name.len() < 2 {
        return Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"
        )));
    }
    if name.len() > 64 {
        return Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64"
        )));
    }
    Err(validation(format!(
        "1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
    )))
}

/// The policy engine's view of a caller.
pub fn caller(identity: &Identity, account: &str) -> Caller {
    let (kind, username, role_arn) = match identity {
        Identity::Root => (CallerKind::Root, None, None),
        Identity::User { name, .. } => (CallerKind::User, Some(name.clone()), None),
        Identity::Role { role_arn, .. } => (CallerKind::AssumedRole, None, Some(role_arn.clone())),
    };
    Caller {
        arn: identity.caller_arn(account),
        account: account.to_string(),
        kind,
        user_id: identity.user_id(account),
        username,
        tags: Vec::new(),
        role_arn,
    }
}

pub async fn get_caller_identity(i: &Inner, ctx: &RequestContext) -> Result<Value, AwsError> {
    let identity = i.directory.identity_of(ctx.access_key.as_deref());
    Ok(json!({
        "Account": ctx.account,
        "Arn": stratus_core::in_partition(&identity.caller_arn(&ctx.account), &ctx.region),
        "UserId": identity.user_id(&ctx.account),
    }))
}

pub async fn get_access_key_info(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let key = req(&input, "AccessKeyId")?;
    let account =
        i.directory.account_of(key).unwrap_or_else(|| stratus_core::account_for_access_key(key, &ctx.account));
    Ok(json!({ "Account": account }))
}

fn credentials_json(s: &SessionRecord) -> Value {
    json!({ "AccessKeyId": s.id, "SecretAccessKey": s.secret, "SessionToken": s.token, "Expiration": s.expires })
}

/// `(account, name)` of a role ARN (`arn:aws:iam::{account}:role{path}{name}`).
pub fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = stratus_core::arn_without_partition(arn)?.strip_prefix("iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_name = resource.strip_prefix("role/")?;
    Some((account, path_name.rsplit('/').next()?))
}

pub async fn assume_role(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let role_arn = req(&input, "RoleArn")?.to_string();
    let session_name = req(&input, "RoleSessionName")?.to_string();
    check_session_name(&session_name)?;
    let identity = i.directory.identity_of(ctx.access_key.as_deref());
    let caller_arn = identity.caller_arn(&ctx.account);
    let not_authorized = || {
        access_denied(format!(
            "User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        ))
    };
    let Some((role_account, role_name)) = parse_role_arn(&role_arn).map(|(a, n)| (a.to_string(), n.to_string())) else {
        return Err(validation(format!("{role_arn} is invalid")));
    };
    let external_id = str_of(&input, "ExternalId").map(str::to_string);
    let lookup_account = role_account.clone();
    let role: Option<RoleRecord> = i.read(move |r| entities::find(r, &lookup_account, &role_name)).await?;
    // A role that does not exist is indistinguishable from one that does not trust the caller.
    let role = role.filter(|r| r.arn(&role_account) == role_arn).ok_or_else(not_authorized)?;
    if i.check_trust {
        if identity == Identity::Root {
            return Err(access_denied("Roles may not be assumed by root accounts."));
        }
        let trust = Policy::parse(&role.trust, PolicyKind::Trust).map_err(|e| AwsError::internal(e.message))?;
        let who = caller(&identity, &ctx.account);
        let mut context = Context::new();
        if let Some(x) = &external_id {
            context.insert("sts:ExternalId", x.clone());
        }
        context.insert("aws:PrincipalAccount", ctx.account.clone());
        let request = Request { principal: &who, action: "sts:AssumeRole", resource: &role_arn, context: &context };
        if trust.evaluate(&request) != Effect::Allow {
            return Err(not_authorized());
        }
    }
    issue_session(i, ctx, &input, &role, &role_arn, &session_name).await
}

/// A new session of `role` (AssumeRole, AssumeRoleWithWebIdentity): the request's duration,
/// session policies, tags and source identity checked, the session stored and its keys
/// working at once. Returns `Credentials`, `AssumedRoleUser`, `PackedPolicySize`.
pub async fn issue_session(
    i: &Inner,
    ctx: &RequestContext,
    input: &Value,
    role: &RoleRecord,
    role_arn: &str,
    session_name: &str,
) -> Result<Value, AwsError> {
    check_session_name(session_name)?;
    let role_account = parse_role_arn(role_arn).map(|(a, _)| a.to_string()).unwrap_or_default();
    let session_policy = str_of(input, "Policy").map(str::to_string);
    if let Some(p) = &session_policy {
        check_document(p, DocumentKind::Identity, 2048)?;
    }
    let policy_arns: Vec<String> = input
        .get("PolicyArns")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|p| p.get("arn").and_then(Value::as_str).map(str::to_string)).collect())
        .unwrap_or_default();
    let tags = tags_of(input)?;
    let source_identity = str_of(input, "SourceIdentity").map(str::to_string);
    let duration = input.get("DurationSeconds").and_then(Value::as_i64).unwrap_or(3600);
    if duration < 900 {
        return Err(validation(format!(
            "1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        )));
    }
    if duration > i64::from(role.max_session) {
        return Err(validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role."));
    }
    let now = i.now_secs();
    let session = SessionRecord {
        id: ids::access_key(i.env.ids.as_ref(), true),
        secret: ids::secret(i.env.ids.as_ref()),
        token: ids::session_token(i.env.ids.as_ref()),
        account: role_account.clone(),
        expires: now + duration as u64,
        of: SessionOf::Role {
            role_name: role.name.clone(),
            role_id: role.id.clone(),
            role_arn: role_arn.to_string(),
            session_name: session_name.to_string(),
        },
        policy: session_policy,
        policy_arns,
        tags,
        source_identity: source_identity.clone(),
    };
    let stored = session.clone();
    let region = ctx.region.clone();
    let name = role.name.clone();
    i.write(move |t| {
        t.put(&keys::session(&stored.id), &encode(&stored)?)?;
        if let Some(mut r) = entities::find::<RoleRecord>(t, &stored.account, &name)? {
            r.last_used = Some((now, region));
            t.put(&keys::entity(Kind::Role, &stored.account, &r.name), &encode(&r)?)?;
        }
        Ok(())
    })
    .await?;
    i.directory.put_session(&session);
    let mut out = json!({
        "Credentials": credentials_json(&session),
        "AssumedRoleUser": {
            "Arn": format!("arn:{}:sts::{role_account}:assumed-role/{}/{session_name}", ctx.partition(), role.name),
            "AssumedRoleId": format!("{}:{session_name}", role.id),
        },
        "PackedPolicySize": 0,
    });
    if let (Some(s), Some(o)) = (source_identity, out.as_object_mut()) {
        o.insert("SourceIdentity".into(), json!(s));
    }
    Ok(out)
}

pub async fn get_session_token(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let identity = i.directory.identity_of(ctx.access_key.as_deref());
    let (of, max) = match &identity {
        Identity::Role { .. } => {
            return Err(access_denied("Cannot call GetSessionToken with session credentials"));
        }
        Identity::User { name, id, arn } => {
            (SessionOf::User { name: name.clone(), id: id.clone(), arn: arn.clone() }, 129_600)
        }
        Identity::Root => (SessionOf::Root, 3600),
    };
    let duration =
        input.get("DurationSeconds").and_then(Value::as_i64).unwrap_or(if max == 3600 { 3600 } else { 43_200 });
    if !(900..=max).contains(&duration) {
        return Err(validation(format!(
            "1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value {} than or equal to {}",
            if duration < 900 { "greater" } else { "less" },
            if duration < 900 { 900 } else { max }
        )));
    }
    let session = SessionRecord {
        id: ids::access_key(i.env.ids.as_ref(), true),
        secret: ids::secret(i.env.ids.as_ref()),
        token: ids::session_token(i.env.ids.as_ref()),
        account: ctx.account.clone(),
        expires: i.now_secs() + duration as u64,
        of,
        policy: None,
        policy_arns: Vec::new(),
        tags: Vec::new(),
        source_identity: None,
    };
    let stored = session.clone();
    i.write(move |t| {
        t.put(&keys::session(&stored.id), &encode(&stored)?)?;
        Ok(())
    })
    .await?;
    i.directory.put_session(&session);
    Ok(json!({ "Credentials": credentials_json(&session) }))
}

/// The role `role_arn` (and its account) when it exists and — when callers are authenticated —
/// its trust policy lets AWS service `service` assume it; otherwise AWS's error for a function
/// whose role Lambda cannot assume.
pub async fn trusted_role(i: &Inner, role_arn: &str, service: &str) -> Result<(String, RoleRecord), AwsError> {
    // "lambda.amazonaws.com" is "Lambda" in the message.
    let who = service.strip_suffix(".amazonaws.com").map(|s| {
        let mut c = s.chars();
        c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
    });
    let cannot = || {
        AwsError::new(
            "InvalidParameterValueException",
            format!("The role defined for the function cannot be assumed by {}.", who.as_deref().unwrap_or(service)),
        )
        .with_status(400)
    };
    let (account, name) = parse_role_arn(role_arn).map(|(a, n)| (a.to_string(), n.to_string())).ok_or_else(cannot)?;
    let lookup = account.clone();
    let role: Option<RoleRecord> = i.read(move |r| entities::find(r, &lookup, &name)).await?;
    let role = role.filter(|r| r.arn(&account) == role_arn).ok_or_else(cannot)?;
    if i.check_trust {
        let trust = Policy::parse(&role.trust, PolicyKind::Trust).map_err(|e| AwsError::internal(e.message))?;
        let caller = Caller::service(service);
        let context = Context::new();
        let request = Request { principal: &caller, action: "sts:AssumeRole", resource: role_arn, context: &context };
        if trust.evaluate(&request) != Effect::Allow {
            return Err(cannot());
        }
    }
    Ok((account, role))
}

/// Temporary credentials of a role for an AWS service acting with it (Lambda running a
/// function as its execution role). When callers are authenticated the role's trust policy must
/// let `service` assume it.
pub async fn assume_for_service(
    i: &Inner,
    role_arn: &str,
    session_name: &str,
    service: &str,
    region: &str,
) -> Result<SessionRecord, AwsError> {
    let (account, role) = trusted_role(i, role_arn, service).await?;
    let now = i.now_secs();
    let mut session_name: String =
        session_name.chars().filter(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c)).collect();
    session_name.truncate(64);
    let session = SessionRecord {
        id: ids::access_key(i.env.ids.as_ref(), true),
        secret: ids::secret(i.env.ids.as_ref()),
        token: ids::session_token(i.env.ids.as_ref()),
        account: account.clone(),
        expires: now + u64::from(role.max_session),
        of: SessionOf::Role {
            role_name: role.name.clone(),
            role_id: role.id.clone(),
            role_arn: role_arn.to_string(),
            session_name,
        },
        policy: None,
        policy_arns: Vec::new(),
        tags: Vec::new(),
        source_identity: None,
    };
    let stored = session.clone();
    let region = region.to_string();
    i.write(move |t| {
        t.put(&keys::session(&stored.id), &encode(&stored)?)?;
        if let Some(mut r) = entities::find::<RoleRecord>(t, &stored.account, &role.name)? {
            r.last_used = Some((now, region));
            t.put(&keys::entity(Kind::Role, &stored.account, &r.name), &encode(&r)?)?;
        }
        Ok(())
    })
    .await?;
    i.directory.put_session(&session);
    Ok(session)
}
