//! Managed policies: customer managed ones (versions, default version, attachments) and the
//! AWS managed ones (read-only, attachable in every account).

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, Txn};

use crate::entities;
use crate::errors::{delete_conflict, limit_exceeded, no_policy};
use crate::keys::{self, Kind};
use crate::types::*;
use crate::{Inner, ids, managed};

/// Managed policy documents are at most 6,144 characters without whitespace.
const MAX_DOCUMENT: usize = 6144;
const MAX_VERSIONS: usize = 5;

/// `(account, path, name)` of a policy ARN (`arn:aws:iam::{account}:policy{path}{name}`).
pub fn parse_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = stratus_core::arn_without_partition(arn)?.strip_prefix("iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_name = resource.strip_prefix("policy")?;
    let slash = path_name.rfind('/')?;
    Some((account, &path_name[..=slash], &path_name[slash + 1..]))
}

pub fn path_of_arn(arn: &str) -> &str {
    parse_arn(arn).map(|(_, p, _)| p).unwrap_or("/")
}

fn customer(r: &mut dyn ReadTxn, account: &str, arn: &str) -> Result<Option<PolicyRecord>, AwsError> {
    let Some((owner, path, name)) = parse_arn(arn) else { return Ok(None) };
    if owner != account {
        return Ok(None);
    }
    let found: Option<PolicyRecord> =
        r.get(&keys::entity(Kind::Policy, account, name))?.map(|b| decode(&b)).transpose()?;
    Ok(found.filter(|p| p.path == path && p.name == name))
}

fn load_customer(r: &mut dyn ReadTxn, account: &str, arn: &str) -> Result<PolicyRecord, AwsError> {
    customer(r, account, arn)?.ok_or_else(|| no_policy(arn))
}

/// Whether `arn` is a policy the account may attach (its own, or an AWS managed one).
pub fn attachable(r: &mut dyn ReadTxn, account: &str, arn: &str) -> Result<bool, AwsError> {
    Ok(managed::find(arn).is_some() || customer(r, account, arn)?.is_some())
}

/// The document of a managed policy's default version (for evaluation).
pub fn default_document(r: &mut dyn ReadTxn, account: &str, arn: &str) -> Result<Option<String>, AwsError> {
    if let Some(m) = managed::find(arn) {
        return Ok(Some(m.document_text()));
    }
    Ok(customer(r, account, arn)?
        .and_then(|p| p.versions.into_iter().find(|v| v.id == p.default_version).map(|v| v.document)))
}

/// How many users, groups and roles have `arn` attached, and how many use it as boundary.
fn usage(r: &mut dyn ReadTxn, account: &str, arn: &str) -> Result<(usize, usize), AwsError> {
    let users = entities::all::<UserRecord>(r, account)?;
    let groups = entities::all::<GroupRecord>(r, account)?;
    let roles = entities::all::<RoleRecord>(r, account)?;
    let attached = users.iter().filter(|u| u.policies.attached.iter().any(|a| a == arn)).count()
        + groups.iter().filter(|g| g.policies.attached.iter().any(|a| a == arn)).count()
        + roles.iter().filter(|x| x.policies.attached.iter().any(|a| a == arn)).count();
    let boundaries = users.iter().filter(|u| u.boundary.as_deref() == Some(arn)).count()
        + roles.iter().filter(|x| x.boundary.as_deref() == Some(arn)).count();
    Ok((attached, boundaries))
}

fn policy_json(p: &PolicyRecord, account: &str, usage: (usize, usize), with_tags: bool) -> Value {
    let mut v = json!({
        "PolicyName": p.name, "PolicyId": p.id, "Arn": arn(account, "policy", &p.path, &p.name), "Path": p.path,
        "DefaultVersionId": p.default_version, "AttachmentCount": usage.0, "PermissionsBoundaryUsageCount": usage.1,
        "IsAttachable": true, "CreateDate": p.created, "UpdateDate": p.updated,
    });
    if let Some(o) = v.as_object_mut() {
        if let Some(d) = &p.description {
            o.insert("Description".into(), json!(d));
        }
        if with_tags && !p.tags.is_empty() {
            o.insert("Tags".into(), tags_json(&p.tags));
        }
    }
    v
}

fn managed_json(m: &managed::Managed, usage: (usize, usize)) -> Value {
    let (created, updated) = (m.created_secs(), m.updated_secs());
    json!({
        "PolicyName": m.policy_name, "PolicyId": m.policy_id, "Arn": m.arn, "Path": m.path,
        "DefaultVersionId": m.default_version_id, "AttachmentCount": usage.0,
        "PermissionsBoundaryUsageCount": usage.1, "IsAttachable": true, "Description": m.description,
        "CreateDate": created, "UpdateDate": updated,
    })
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = req(&input, "PolicyName")?.to_string();
    check_name("policyName", &name, 128)?;
    let path = str_of(&input, "Path").unwrap_or("/").to_string();
    check_path(&path)?;
    let doc = req(&input, "PolicyDocument")?.to_string();
    check_document(&doc, DocumentKind::Managed, MAX_DOCUMENT)?;
    let tags = tags_of(&input)?;
    check_tags(&tags)?;
    let now = i.now_secs();
    let p = PolicyRecord {
        name,
        id: ids::entity(i.env.ids.as_ref(), "ANPA"),
        path,
        created: now,
        updated: now,
        description: str_of(&input, "Description").map(str::to_string),
        tags,
        versions: vec![VersionRecord { id: "v1".into(), document: doc, created: now }],
        default_version: "v1".into(),
        next_version: 2,
    };
    let account = ctx.account.clone();
    let p = i
        .write(move |t| {
            let key = keys::entity(Kind::Policy, &account, &p.name);
            if t.get(&key)?.is_some() {
                return Err(AwsError::new(
                    "EntityAlreadyExists",
                    format!("A policy called {} already exists. Duplicate names are not allowed.", p.name),
                )
                .with_status(409));
            }
            t.put(&key, &encode(&p)?)?;
            Ok(p)
        })
        .await?;
    Ok(json!({ "Policy": policy_json(&p, &ctx.account, (0, 0), true) }))
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let arn = req(&input, "PolicyArn")?.to_string();
    let account = ctx.account.clone();
    let out = i
        .read(move |r| {
            let use_ = usage(r, &account, &arn)?;
            if let Some(m) = managed::find(&arn) {
                return Ok(managed_json(m, use_));
            }
            let p = load_customer(r, &account, &arn)?;
            Ok(policy_json(&p, &account, use_, true))
        })
        .await?;
    Ok(json!({ "Policy": out }))
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let scope = str_of(&input, "Scope").unwrap_or("All").to_string();
    let only_attached = input.get("OnlyAttached").and_then(Value::as_bool).unwrap_or(false);
    let prefix = str_of(&input, "PathPrefix").unwrap_or("/").to_string();
    let account = ctx.account.clone();
    let items = i
        .read(move |r| {
            let mut rows: Vec<(Value, (usize, usize))> = Vec::new();
            if scope != "Local" {
                for m in managed::all() {
                    let u = usage(r, &account, &m.arn)?;
                    rows.push((managed_json(m, u), u));
                }
            }
            if scope != "AWS" {
                for (_, v) in stratus_storage::scan_prefix(r, &keys::entities(Kind::Policy, &account), usize::MAX)? {
                    let p: PolicyRecord = decode(&v)?;
                    let a = arn(&account, "policy", &p.path, &p.name);
                    let u = usage(r, &account, &a)?;
                    rows.push((policy_json(&p, &account, u, false), u));
                }
            }
            Ok(rows)
        })
        .await?;
    let items: Vec<Value> = items
        .into_iter()
        .filter(|(v, u)| {
            v.get("Path").and_then(Value::as_str).is_some_and(|p| p.starts_with(&prefix)) && (!only_attached || u.0 > 0)
        })
        .map(|(v, _)| v)
        .collect();
    let (items, next) = page(items, str_of(&input, "Marker"), input.get("MaxItems").and_then(Value::as_i64))?;
    Ok(listing(json!({ "Policies": items }), next))
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    let arn = req(&input, "PolicyArn")?.to_string();
    let account = ctx.account.clone();
    i.write(move |t| {
        let p = load_customer(t, &account, &arn)?;
        let (attached, boundaries) = usage(t, &account, &arn)?;
        if attached > 0 || boundaries > 0 {
            return Err(delete_conflict("Cannot delete a policy attached to entities."));
        }
        if p.versions.len() > 1 {
            return Err(delete_conflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy."));
        }
        t.delete(&keys::entity(Kind::Policy, &account, &p.name))?;
        Ok(())
    })
    .await
}

fn version_json(v: &VersionRecord, default: &str, with_document: bool) -> Value {
    let mut out = json!({ "VersionId": v.id, "IsDefaultVersion": v.id == default, "CreateDate": v.created });
    if with_document && let Some(o) = out.as_object_mut() {
        o.insert("Document".into(), json!(encode_document(&v.document)));
    }
    out
}

fn no_version(arn: &str, version: &str) -> AwsError {
    AwsError::new("NoSuchEntity", format!("Policy {arn} version {version} does not exist or is not attachable."))
        .with_status(404)
}

async fn update<T: Send + 'static>(
    i: &Inner,
    ctx: &RequestContext,
    arn: String,
    f: impl FnOnce(&mut PolicyRecord) -> Result<T, AwsError> + Send + 'static,
) -> Result<T, AwsError> {
    let account = ctx.account.clone();
    i.write(move |t: &mut dyn Txn| {
        if managed::find(&arn).is_some() {
            return Err(crate::errors::access_denied(
                "AWS managed policies cannot be changed: they belong to AWS.".to_string(),
            ));
        }
        let mut p = load_customer(t, &account, &arn)?;
        let out = f(&mut p)?;
        t.put(&keys::entity(Kind::Policy, &account, &p.name), &encode(&p)?)?;
        Ok(out)
    })
    .await
}

pub async fn create_version(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let arn = req(&input, "PolicyArn")?.to_string();
    let doc = req(&input, "PolicyDocument")?.to_string();
    check_document(&doc, DocumentKind::Managed, MAX_DOCUMENT)?;
    let set_default = input.get("SetAsDefault").and_then(Value::as_bool).unwrap_or(false);
    let now = i.now_secs();
    let v = update(i, ctx, arn, move |p| {
        if p.versions.len() >= MAX_VERSIONS {
            return Err(limit_exceeded(
                "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
            ));
        }
        let v = VersionRecord { id: format!("v{}", p.next_version), document: doc, created: now };
        p.next_version += 1;
        p.updated = now;
        if set_default {
            p.default_version = v.id.clone();
        }
        p.versions.push(v.clone());
        Ok(version_json(&v, &p.default_version, false))
    })
    .await?;
    Ok(json!({ "PolicyVersion": v }))
}

pub async fn get_version(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let arn = req(&input, "PolicyArn")?.to_string();
    let version = req(&input, "VersionId")?.to_string();
    if let Some(m) = managed::find(&arn) {
        if version != m.default_version_id {
            return Err(no_version(&arn, &version));
        }
        let v = VersionRecord { id: version, document: m.document_text(), created: m.updated_secs() };
        return Ok(json!({ "PolicyVersion": version_json(&v, &m.default_version_id, true) }));
    }
    let account = ctx.account.clone();
    let p = i.read(move |r| load_customer(r, &account, &arn)).await?;
    let arn = arn_of(&ctx.account, &p);
    let v = p.versions.iter().find(|v| v.id == version).ok_or_else(|| no_version(&arn, &version))?;
    Ok(json!({ "PolicyVersion": version_json(v, &p.default_version, true) }))
}

fn arn_of(account: &str, p: &PolicyRecord) -> String {
    arn(account, "policy", &p.path, &p.name)
}

pub async fn list_versions(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let arn = req(&input, "PolicyArn")?.to_string();
    let items: Vec<Value> = if let Some(m) = managed::find(&arn) {
        let v = VersionRecord { id: m.default_version_id.clone(), document: String::new(), created: m.updated_secs() };
        vec![version_json(&v, &m.default_version_id, false)]
    } else {
        let account = ctx.account.clone();
        let p = i.read(move |r| load_customer(r, &account, &arn)).await?;
        p.versions.iter().rev().map(|v| version_json(v, &p.default_version, false)).collect()
    };
    let (items, next) = page(items, str_of(&input, "Marker"), input.get("MaxItems").and_then(Value::as_i64))?;
    Ok(listing(json!({ "Versions": items }), next))
}

pub async fn delete_version(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    let arn = req(&input, "PolicyArn")?.to_string();
    let version = req(&input, "VersionId")?.to_string();
    let a = arn.clone();
    update(i, ctx, arn, move |p| {
        if p.default_version == version {
            return Err(delete_conflict("Cannot delete the default version of a policy."));
        }
        let before = p.versions.len();
        p.versions.retain(|v| v.id != version);
        if p.versions.len() == before {
            return Err(no_version(&a, &version));
        }
        Ok(())
    })
    .await
}

pub async fn set_default(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    let arn = req(&input, "PolicyArn")?.to_string();
    let version = req(&input, "VersionId")?.to_string();
    let a = arn.clone();
    let now = i.now_secs();
    update(i, ctx, arn, move |p| {
        if !p.versions.iter().any(|v| v.id == version) {
            return Err(no_version(&a, &version));
        }
        p.default_version = version;
        p.updated = now;
        Ok(())
    })
    .await
}

pub async fn tag(i: &Inner, ctx: &RequestContext, input: Value, add: bool) -> Result<(), AwsError> {
    let arn = req(&input, "PolicyArn")?.to_string();
    let tags = tags_of(&input)?;
    let remove = strings_of(&input, "TagKeys");
    update(i, ctx, arn, move |p| {
        if add {
            merge_tags(&mut p.tags, tags)
        } else {
            remove_tags(&mut p.tags, &remove);
            Ok(())
        }
    })
    .await
}

pub async fn list_tags(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let arn = req(&input, "PolicyArn")?.to_string();
    let account = ctx.account.clone();
    let p = i.read(move |r| load_customer(r, &account, &arn)).await?;
    let (items, next) = page(p.tags, str_of(&input, "Marker"), input.get("MaxItems").and_then(Value::as_i64))?;
    Ok(listing(json!({ "Tags": items }), next))
}

pub async fn list_entities(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let arn = req(&input, "PolicyArn")?.to_string();
    let filter = str_of(&input, "EntityFilter").map(str::to_string);
    let account = ctx.account.clone();
    let (users, groups, roles) = i
        .read(move |r| {
            if !attachable(r, &account, &arn)? {
                return Err(no_policy(&arn));
            }
            let has = |p: &Policies| p.attached.contains(&arn);
            let users: Vec<UserRecord> =
                entities::all::<UserRecord>(r, &account)?.into_iter().filter(|u| has(&u.policies)).collect();
            let groups: Vec<GroupRecord> =
                entities::all::<GroupRecord>(r, &account)?.into_iter().filter(|g| has(&g.policies)).collect();
            let roles: Vec<RoleRecord> =
                entities::all::<RoleRecord>(r, &account)?.into_iter().filter(|x| has(&x.policies)).collect();
            Ok((users, groups, roles))
        })
        .await?;
    let want =
        |k: &str| filter.as_deref().is_none_or(|f| f == k || f == "LocalManagedPolicy" || f == "AWSManagedPolicy");
    let users: Vec<Value> = if want("User") {
        users.iter().map(|u| json!({ "UserName": u.name, "UserId": u.id })).collect()
    } else {
        Vec::new()
    };
    let groups: Vec<Value> = if want("Group") {
        groups.iter().map(|g| json!({ "GroupName": g.name, "GroupId": g.id })).collect()
    } else {
        Vec::new()
    };
    let roles: Vec<Value> = if want("Role") {
        roles.iter().map(|x| json!({ "RoleName": x.name, "RoleId": x.id })).collect()
    } else {
        Vec::new()
    };
    Ok(json!({ "PolicyUsers": users, "PolicyGroups": groups, "PolicyRoles": roles, "IsTruncated": false }))
}
