//! Access keys of IAM users: at most two per user, active or inactive, with their last use.

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::scan_prefix;

use crate::entities::load;
use crate::errors::limit_exceeded;
use crate::keys;
use crate::types::*;
use crate::{Inner, ids};

const MAX_KEYS: usize = 2;

/// The user a key operation is about: `UserName`, or the caller's own user.
fn user_name(i: &Inner, ctx: &RequestContext, input: &Value) -> Result<String, AwsError> {
    if let Some(n) = str_of(input, "UserName") {
        return Ok(n.to_string());
    }
    i.directory
        .user_of_key(ctx.access_key.as_deref())
        .ok_or_else(|| crate::errors::validation("Must specify userName when calling with non-User credentials"))
}

fn keys_of(r: &mut dyn stratus_storage::ReadTxn, account: &str, user: &str) -> Result<Vec<AccessKeyRecord>, AwsError> {
    let mut out = Vec::new();
    for (_, v) in scan_prefix(r, keys::ACCESS_KEYS, usize::MAX)? {
        let k: AccessKeyRecord = decode(&v)?;
        if k.account == account && k.user.eq_ignore_ascii_case(user) {
            out.push(k);
        }
    }
    out.sort_by_key(|k| k.created);
    Ok(out)
}

fn no_key(id: &str) -> AwsError {
    AwsError::new("NoSuchEntity", format!("The Access Key with id {id} cannot be found.")).with_status(404)
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let user = user_name(i, ctx, &input)?;
    let key = AccessKeyRecord {
        id: ids::access_key(i.env.ids.as_ref(), false),
        secret: ids::secret(i.env.ids.as_ref()),
        account: ctx.account.clone(),
        user,
        status: "Active".into(),
        created: i.now_secs(),
        last_used: None,
    };
    let account = ctx.account.clone();
    let (key, u) = i
        .write(move |t| {
            let u: UserRecord = load(t, &account, &key.user)?;
            if keys_of(t, &account, &u.name)?.len() >= MAX_KEYS {
                return Err(limit_exceeded(format!("Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS}")));
            }
            let key = AccessKeyRecord { user: u.name.clone(), ..key };
            t.put(&keys::access_key(&key.id), &encode(&key)?)?;
            Ok((key, u))
        })
        .await?;
    i.directory.put_key_for(&key, &u.id, &u.path);
    Ok(json!({ "AccessKey": {
        "UserName": key.user, "AccessKeyId": key.id, "Status": key.status, "SecretAccessKey": key.secret,
        "CreateDate": key.created,
    }}))
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let user = user_name(i, ctx, &input)?;
    let account = ctx.account.clone();
    let keys = i
        .read(move |r| {
            let u: UserRecord = load(r, &account, &user)?;
            keys_of(r, &account, &u.name)
        })
        .await?;
    let items: Vec<Value> = keys
        .iter()
        .map(|k| json!({ "UserName": k.user, "AccessKeyId": k.id, "Status": k.status, "CreateDate": k.created }))
        .collect();
    let (items, next) = page(items, str_of(&input, "Marker"), input.get("MaxItems").and_then(Value::as_i64))?;
    Ok(listing(json!({ "AccessKeyMetadata": items }), next))
}

pub async fn update(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    let user = user_name(i, ctx, &input)?;
    let id = req(&input, "AccessKeyId")?.to_string();
    let status = req(&input, "Status")?.to_string();
    if status != "Active" && status != "Inactive" {
        return Err(crate::errors::validation(format!(
            "1 validation error detected: Value '{status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
        )));
    }
    let account = ctx.account.clone();
    let (key, u) = i
        .write(move |t| {
            let u: UserRecord = load(t, &account, &user)?;
            let mut key = keys_of(t, &account, &u.name)?.into_iter().find(|k| k.id == id).ok_or_else(|| no_key(&id))?;
            key.status = status;
            t.put(&keys::access_key(&key.id), &encode(&key)?)?;
            Ok((key, u))
        })
        .await?;
    i.directory.put_key_for(&key, &u.id, &u.path);
    Ok(())
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    let user = user_name(i, ctx, &input)?;
    let id = req(&input, "AccessKeyId")?.to_string();
    let account = ctx.account.clone();
    let gone = id.clone();
    i.write(move |t| {
        let u: UserRecord = load(t, &account, &user)?;
        if !keys_of(t, &account, &u.name)?.iter().any(|k| k.id == id) {
            return Err(no_key(&id));
        }
        t.delete(&keys::access_key(&id))?;
        Ok(())
    })
    .await?;
    i.directory.remove(&gone);
    Ok(())
}

pub async fn last_used(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = req(&input, "AccessKeyId")?.to_string();
    let account = ctx.account.clone();
    let key: Option<AccessKeyRecord> =
        i.read(move |r| r.get(&keys::access_key(&id))?.map(|b| decode(&b)).transpose()).await?;
    let Some(key) = key.filter(|k| k.account == account) else {
        return Err(crate::errors::access_denied("The specified access key does not belong to this account."));
    };
    let used = match &key.last_used {
        Some((when, service, region)) => json!({ "LastUsedDate": when, "ServiceName": service, "Region": region }),
        None => json!({ "ServiceName": "N/A", "Region": "N/A" }),
    };
    Ok(json!({ "UserName": key.user, "AccessKeyLastUsed": used }))
}
