//! Users, groups and roles: what they share (loading, inline and attached policies, tags) and
//! each one's own operations.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, Txn, scan_prefix};

use crate::errors::{already_exists, delete_conflict, no_policy, no_such};
use crate::keys::{self, Kind};
use crate::types::*;
use crate::{Inner, ids, policies};

/// A user, group or role.
pub trait Entity: Serialize + DeserializeOwned + Send + 'static {
    const KIND: Kind;
    /// As errors name it: `user`, `group`, `role`.
    const WHAT: &'static str;
    /// As "already exists" errors name it.
    const TITLE: &'static str;
    fn name(&self) -> &str;
    fn path(&self) -> &str;
    fn policies(&self) -> &Policies;
    fn policies_mut(&mut self) -> &mut Policies;
    fn arn(&self, account: &str) -> String {
        arn(account, Self::WHAT, self.path(), self.name())
    }
}

impl Entity for UserRecord {
    const KIND: Kind = Kind::User;
    const WHAT: &'static str = "user";
    const TITLE: &'static str = "User";
    fn name(&self) -> &str {
        &self.name
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn policies(&self) -> &Policies {
        &self.policies
    }
    fn policies_mut(&mut self) -> &mut Policies {
        &mut self.policies
    }
}

impl Entity for GroupRecord {
    const KIND: Kind = Kind::Group;
    const WHAT: &'static str = "group";
    const TITLE: &'static str = "Group";
    fn name(&self) -> &str {
        &self.name
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn policies(&self) -> &Policies {
        &self.policies
    }
    fn policies_mut(&mut self) -> &mut Policies {
        &mut self.policies
    }
}

impl Entity for RoleRecord {
    const KIND: Kind = Kind::Role;
    const WHAT: &'static str = "role";
    const TITLE: &'static str = "Role";
    fn name(&self) -> &str {
        &self.name
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn policies(&self) -> &Policies {
        &self.policies
    }
    fn policies_mut(&mut self) -> &mut Policies {
        &mut self.policies
    }
}

/// Users and roles: entities with tags and a permissions boundary.
pub trait Tagged: Entity {
    fn tags(&self) -> &[Tag];
    fn tags_mut(&mut self) -> &mut Vec<Tag>;
    fn boundary_mut(&mut self) -> &mut Option<String>;
}

impl Tagged for UserRecord {
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
    fn tags_mut(&mut self) -> &mut Vec<Tag> {
        &mut self.tags
    }
    fn boundary_mut(&mut self) -> &mut Option<String> {
        &mut self.boundary
    }
}

impl Tagged for RoleRecord {
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
    fn tags_mut(&mut self) -> &mut Vec<Tag> {
        &mut self.tags
    }
    fn boundary_mut(&mut self) -> &mut Option<String> {
        &mut self.boundary
    }
}

/// Put/DeleteUserPermissionsBoundary and the role ones (`member` names the entity).
pub async fn put_boundary<E: Tagged>(
    i: &Inner,
    ctx: &RequestContext,
    input: Value,
    member: &str,
    set: bool,
) -> Result<(), AwsError> {
    let name = req(&input, member)?.to_string();
    let arn = if set { Some(req(&input, "PermissionsBoundary")?.to_string()) } else { None };
    let account = ctx.account.clone();
    i.write(move |t| {
        let mut e: E = load(t, &account, &name)?;
        set_boundary(t, &account, e.boundary_mut(), arn)?;
        save(t, &account, &e)
    })
    .await
}

/// Tag/UntagUser and Tag/UntagRole.
pub async fn tag<E: Tagged>(
    i: &Inner,
    ctx: &RequestContext,
    input: Value,
    member: &str,
    add: bool,
) -> Result<(), AwsError> {
    let name = req(&input, member)?.to_string();
    let tags = tags_of(&input)?;
    let remove = strings_of(&input, "TagKeys");
    let account = ctx.account.clone();
    i.write(move |t| {
        let mut e: E = load(t, &account, &name)?;
        if add {
            merge_tags(e.tags_mut(), tags)?;
        } else {
            remove_tags(e.tags_mut(), &remove);
        }
        save(t, &account, &e)
    })
    .await
}

/// ListUserTags and ListRoleTags.
pub async fn list_tags<E: Tagged>(
    i: &Inner,
    ctx: &RequestContext,
    input: Value,
    member: &str,
) -> Result<Value, AwsError> {
    let name = req(&input, member)?.to_string();
    let account = ctx.account.clone();
    let e: E = i.read(move |r| load(r, &account, &name)).await?;
    let (items, next) =
        page(e.tags().to_vec(), str_of(&input, "Marker"), input.get("MaxItems").and_then(Value::as_i64))?;
    Ok(listing(json!({ "Tags": items }), next))
}

pub fn find<E: Entity>(r: &mut dyn ReadTxn, account: &str, name: &str) -> Result<Option<E>, AwsError> {
    r.get(&keys::entity(E::KIND, account, name))?.map(|b| decode(&b)).transpose()
}

pub fn load<E: Entity>(r: &mut dyn ReadTxn, account: &str, name: &str) -> Result<E, AwsError> {
    find(r, account, name)?.ok_or_else(|| no_such(E::WHAT, name))
}

pub fn save<E: Entity>(t: &mut dyn Txn, account: &str, e: &E) -> Result<(), AwsError> {
    t.put(&keys::entity(E::KIND, account, e.name()), &encode(e)?)?;
    Ok(())
}

pub fn all<E: Entity>(r: &mut dyn ReadTxn, account: &str) -> Result<Vec<E>, AwsError> {
    scan_prefix(r, &keys::entities(E::KIND, account), usize::MAX)?.iter().map(|(_, v)| decode(v)).collect()
}

fn create_new<E: Entity>(t: &mut dyn Txn, account: &str, e: &E) -> Result<(), AwsError> {
    if t.get(&keys::entity(E::KIND, account, e.name()))?.is_some() {
        return Err(already_exists(E::TITLE, e.name()));
    }
    save(t, account, e)
}

/// Inline policy documents are at most 2,048 (users), 5,120 (groups) or 10,240 (roles)
/// characters without whitespace.
fn inline_max(kind: Kind) -> usize {
    match kind {
        Kind::User => 2048,
        Kind::Group => 5120,
        _ => 10240,
    }
}

// ------------------------------------------------------------------ inline and attached policies

fn check_arn(arn: &str) -> Result<(), AwsError> {
    if stratus_core::Arn::parse(arn).is_some() {
        Ok(())
    } else {
        Err(crate::errors::validation(format!("ARN {arn} is not valid.")))
    }
}

pub async fn put_inline<E: Entity>(
    i: &Inner,
    ctx: &RequestContext,
    input: Value,
    member: &str,
) -> Result<(), AwsError> {
    let name = req(&input, member)?.to_string();
    let policy = req(&input, "PolicyName")?.to_string();
    check_name("policyName", &policy, 128)?;
    let doc = req(&input, "PolicyDocument")?.to_string();
    check_document(&doc, DocumentKind::Identity, inline_max(E::KIND))?;
    let account = ctx.account.clone();
    i.write(move |t| {
        let mut e: E = load(t, &account, &name)?;
        e.policies_mut().inline.insert(policy, doc);
        save(t, &account, &e)
    })
    .await
}

pub async fn get_inline<E: Entity>(
    i: &Inner,
    ctx: &RequestContext,
    input: Value,
    member: &str,
) -> Result<Value, AwsError> {
    let name = req(&input, member)?.to_string();
    let policy = req(&input, "PolicyName")?.to_string();
    let account = ctx.account.clone();
    let e: E = i.read(move |r| load(r, &account, &name)).await?;
    let doc = e.policies().inline.get(&policy).ok_or_else(|| no_such(&format!("{} policy", E::WHAT), &policy))?;
    Ok(json!({ member: e.name(), "PolicyName": policy, "PolicyDocument": encode_document(doc) }))
}

pub async fn list_inline<E: Entity>(
    i: &Inner,
    ctx: &RequestContext,
    input: Value,
    member: &str,
) -> Result<Value, AwsError> {
    let name = req(&input, member)?.to_string();
    let account = ctx.account.clone();
    let e: E = i.read(move |r| load(r, &account, &name)).await?;
    let names: Vec<String> = e.policies().inline.keys().cloned().collect();
    let (items, next) = page(names, str_of(&input, "Marker"), input.get("MaxItems").and_then(Value::as_i64))?;
    Ok(listing(json!({ "PolicyNames": items }), next))
}

pub async fn delete_inline<E: Entity>(
    i: &Inner,
    ctx: &RequestContext,
    input: Value,
    member: &str,
) -> Result<(), AwsError> {
    let name = req(&input, member)?.to_string();
    let policy = req(&input, "PolicyName")?.to_string();
    let account = ctx.account.clone();
    i.write(move |t| {
        let mut e: E = load(t, &account, &name)?;
        if e.policies_mut().inline.remove(&policy).is_none() {
            return Err(no_such(&format!("{} policy", E::WHAT), &policy));
        }
        save(t, &account, &e)
    })
    .await
}

pub async fn attach<E: Entity>(i: &Inner, ctx: &RequestContext, input: Value, member: &str) -> Result<(), AwsError> {
    let name = req(&input, member)?.to_string();
    let arn = req(&input, "PolicyArn")?.to_string();
    check_arn(&arn)?;
    let account = ctx.account.clone();
    i.write(move |t| {
        let mut e: E = load(t, &account, &name)?;
        if !policies::attachable(t, &account, &arn)? {
            return Err(no_policy(&arn));
        }
        let attached = &mut e.policies_mut().attached;
        if !attached.contains(&arn) {
            if attached.len() >= 10 {
                return Err(crate::errors::limit_exceeded(format!(
                    "Cannot exceed quota for PoliciesPer{}: 10",
                    E::TITLE
                )));
            }
            attached.push(arn);
        }
        save(t, &account, &e)
    })
    .await
}

pub async fn detach<E: Entity>(i: &Inner, ctx: &RequestContext, input: Value, member: &str) -> Result<(), AwsError> {
    let name = req(&input, member)?.to_string();
    let arn = req(&input, "PolicyArn")?.to_string();
    check_arn(&arn)?;
    let account = ctx.account.clone();
    i.write(move |t| {
        let mut e: E = load(t, &account, &name)?;
        let attached = &mut e.policies_mut().attached;
        let before = attached.len();
        attached.retain(|a| a != &arn);
        if attached.len() == before {
            return Err(AwsError::new("NoSuchEntity", format!("Policy {arn} was not found.")).with_status(404));
        }
        save(t, &account, &e)
    })
    .await
}

pub async fn list_attached<E: Entity>(
    i: &Inner,
    ctx: &RequestContext,
    input: Value,
    member: &str,
) -> Result<Value, AwsError> {
    let name = req(&input, member)?.to_string();
    let prefix = str_of(&input, "PathPrefix").unwrap_or("/").to_string();
    let account = ctx.account.clone();
    let e: E = i.read(move |r| load(r, &account, &name)).await?;
    let items: Vec<Value> = e
        .policies()
        .attached
        .iter()
        .filter(|a| policies::path_of_arn(a).starts_with(&prefix))
        .map(|a| json!({ "PolicyArn": a, "PolicyName": a.rsplit('/').next().unwrap_or_default() }))
        .collect();
    let (items, next) = page(items, str_of(&input, "Marker"), input.get("MaxItems").and_then(Value::as_i64))?;
    Ok(listing(json!({ "AttachedPolicies": items }), next))
}

/// Sets or removes a permissions boundary (users and roles).
fn set_boundary(
    t: &mut dyn Txn,
    account: &str,
    slot: &mut Option<String>,
    arn: Option<String>,
) -> Result<(), AwsError> {
    if let Some(a) = &arn
        && !policies::attachable(t, account, a)?
    {
        return Err(AwsError::new("NoSuchEntity", format!("Scope ARN: {a} does not exist or is not attachable."))
            .with_status(404));
    }
    *slot = arn;
    Ok(())
}

fn user_json(u: &UserRecord, account: &str, with_tags: bool) -> Value {
    let mut v = json!({
        "UserName": u.name, "UserId": u.id, "Path": u.path, "Arn": u.arn(account), "CreateDate": u.created,
    });
    if let Some(o) = v.as_object_mut() {
        if let Some(b) = boundary_json(&u.boundary) {
            o.insert("PermissionsBoundary".into(), b);
        }
        if with_tags && !u.tags.is_empty() {
            o.insert("Tags".into(), tags_json(&u.tags));
        }
    }
    v
}

fn group_json(g: &GroupRecord, account: &str) -> Value {
    json!({ "GroupName": g.name, "GroupId": g.id, "Path": g.path, "Arn": g.arn(account), "CreateDate": g.created })
}

pub fn role_json(r: &RoleRecord, account: &str, full: bool) -> Value {
    let mut v = json!({
        "RoleName": r.name, "RoleId": r.id, "Path": r.path, "Arn": r.arn(account), "CreateDate": r.created,
        "AssumeRolePolicyDocument": encode_document(&r.trust), "MaxSessionDuration": r.max_session,
    });
    if let Some(o) = v.as_object_mut() {
        if let Some(d) = &r.description {
            o.insert("Description".into(), json!(d));
        }
        if let Some(b) = boundary_json(&r.boundary) {
            o.insert("PermissionsBoundary".into(), b);
        }
        if full {
            if !r.tags.is_empty() {
                o.insert("Tags".into(), tags_json(&r.tags));
            }
            let last = match &r.last_used {
                Some((when, region)) => json!({ "LastUsedDate": when, "Region": region }),
                None => json!({}),
            };
            o.insert("RoleLastUsed".into(), last);
        }
    }
    v
}

fn path_prefix(input: &Value) -> Result<String, AwsError> {
    let p = str_of(input, "PathPrefix").unwrap_or("/").to_string();
    if !p.starts_with('/') {
        return Err(crate::errors::validation(format!(
            "1 validation error detected: Value '{p}' at 'pathPrefix' failed to satisfy constraint: Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*"
        )));
    }
    Ok(p)
}

// ------------------------------------------------------------------ users

pub async fn create_user(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = req(&input, "UserName")?.to_string();
    check_name("userName", &name, 64)?;
    let path = str_of(&input, "Path").unwrap_or("/").to_string();
    check_path(&path)?;
    let tags = tags_of(&input)?;
    check_tags(&tags)?;
    let boundary = str_of(&input, "PermissionsBoundary").map(str::to_string);
    let mut u = UserRecord {
        name,
        id: ids::entity(i.env.ids.as_ref(), "AIDA"),
        path,
        created: i.now_secs(),
        tags,
        boundary: None,
        policies: Policies::default(),
    };
    let account = ctx.account.clone();
    let u = i
        .write(move |t| {
            set_boundary(t, &account, &mut u.boundary, boundary)?;
            create_new(t, &account, &u)?;
            Ok(u)
        })
        .await?;
    Ok(json!({ "User": user_json(&u, &ctx.account, true) }))
}

pub async fn get_user(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let Some(name) = str_of(&input, "UserName").map(str::to_string) else {
        // The caller: an IAM user's key names its user; otherwise the account's root user.
        if let Some(user) = i.directory.user_of_key(ctx.access_key.as_deref()) {
            let account = ctx.account.clone();
            let u: UserRecord = i.read(move |r| load(r, &account, &user)).await?;
            return Ok(json!({ "User": user_json(&u, &ctx.account, true) }));
        }
        return Ok(json!({ "User": {
            "UserId": ctx.account, "Arn": format!("arn:{}:iam::{}:root", ctx.partition(), ctx.account), "CreateDate": i.now_secs(),
        }}));
    };
    let account = ctx.account.clone();
    let u: UserRecord = i.read(move |r| load(r, &account, &name)).await?;
    Ok(json!({ "User": user_json(&u, &ctx.account, true) }))
}

pub async fn list_users(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let prefix = path_prefix(&input)?;
    let account = ctx.account.clone();
    let users: Vec<UserRecord> = i.read(move |r| all(r, &account)).await?;
    let items: Vec<Value> =
        users.iter().filter(|u| u.path.starts_with(&prefix)).map(|u| user_json(u, &ctx.account, false)).collect();
    let (items, next) = page(items, str_of(&input, "Marker"), input.get("MaxItems").and_then(Value::as_i64))?;
    Ok(listing(json!({ "Users": items }), next))
}

pub async fn update_user(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    let name = req(&input, "UserName")?.to_string();
    let new_name = str_of(&input, "NewUserName").map(str::to_string);
    let new_path = str_of(&input, "NewPath").map(str::to_string);
    if let Some(n) = &new_name {
        check_name("newUserName", n, 64)?;
    }
    if let Some(p) = &new_path {
        check_path(p)?;
    }
    let account = ctx.account.clone();
    let renamed = i
        .write(move |t| {
            let mut u: UserRecord = load(t, &account, &name)?;
            if let Some(p) = new_path {
                u.path = p;
            }
            let Some(n) = new_name.filter(|n| *n != u.name) else {
                save(t, &account, &u)?;
                return Ok((Vec::new(), u));
            };
            if !n.eq_ignore_ascii_case(&u.name) && find::<UserRecord>(t, &account, &n)?.is_some() {
                return Err(already_exists("User", &n));
            }
            t.delete(&keys::entity(Kind::User, &account, &u.name))?;
            let old = std::mem::replace(&mut u.name, n.clone());
            save(t, &account, &u)?;
            // Group memberships and access keys follow the new name.
            for mut g in all::<GroupRecord>(t, &account)? {
                if let Some(m) = g.members.iter_mut().find(|m| m.eq_ignore_ascii_case(&old)) {
                    *m = n.clone();
                    save(t, &account, &g)?;
                }
            }
            let mut moved = Vec::new();
            for (k, v) in scan_prefix(t, keys::ACCESS_KEYS, usize::MAX)? {
                let mut key: AccessKeyRecord = decode(&v)?;
                if key.account == account && key.user.eq_ignore_ascii_case(&old) {
                    key.user = n.clone();
                    t.put(&k, &encode(&key)?)?;
                    moved.push(key);
                }
            }
            Ok((moved, u))
        })
        .await?;
    // The user's keys now name the new name or path.
    let _ = renamed;
    i.reload_directory().await
}

pub async fn delete_user(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    let name = req(&input, "UserName")?.to_string();
    let account = ctx.account.clone();
    i.write(move |t| {
        let u: UserRecord = load(t, &account, &name)?;
        let has_keys = scan_prefix(t, keys::ACCESS_KEYS, usize::MAX)?.iter().any(|(_, v)| {
            decode::<AccessKeyRecord>(v).is_ok_and(|k| k.account == account && k.user.eq_ignore_ascii_case(&u.name))
        });
        if has_keys {
            return Err(delete_conflict("Cannot delete entity, must delete access keys first."));
        }
        if crate::service_credentials::any_for(t, &account, &u.name)? {
            return Err(delete_conflict("Cannot delete entity, must delete service specific credentials first."));
        }
        if !u.policies.inline.is_empty() {
            return Err(delete_conflict("Cannot delete entity, must delete policies first."));
        }
        if !u.policies.attached.is_empty() {
            return Err(delete_conflict("Cannot delete entity, must detach all policies first."));
        }
        if all::<GroupRecord>(t, &account)?.iter().any(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(&u.name))) {
            return Err(delete_conflict("Cannot delete entity, must remove users from group first."));
        }
        t.delete(&keys::entity(Kind::User, &account, &u.name))?;
        Ok(())
    })
    .await
}

// ------------------------------------------------------------------ groups

pub async fn create_group(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = req(&input, "GroupName")?.to_string();
    check_name("groupName", &name, 128)?;
    let path = str_of(&input, "Path").unwrap_or("/").to_string();
    check_path(&path)?;
    let g = GroupRecord {
        name,
        id: ids::entity(i.env.ids.as_ref(), "AGPA"),
        path,
        created: i.now_secs(),
        members: Vec::new(),
        policies: Policies::default(),
    };
    let account = ctx.account.clone();
    let g = i
        .write(move |t| {
            create_new(t, &account, &g)?;
            Ok(g)
        })
        .await?;
    Ok(json!({ "Group": group_json(&g, &ctx.account) }))
}

pub async fn get_group(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = req(&input, "GroupName")?.to_string();
    let account = ctx.account.clone();
    let (g, users) = i
        .read(move |r| {
            let g: GroupRecord = load(r, &account, &name)?;
            let mut users = Vec::new();
            for m in &g.members {
                if let Some(u) = find::<UserRecord>(r, &account, m)? {
                    users.push(u);
                }
            }
            Ok((g, users))
        })
        .await?;
    let items: Vec<Value> = users.iter().map(|u| user_json(u, &ctx.account, false)).collect();
    let (items, next) = page(items, str_of(&input, "Marker"), input.get("MaxItems").and_then(Value::as_i64))?;
    Ok(listing(json!({ "Group": group_json(&g, &ctx.account), "Users": items }), next))
}

pub async fn list_groups(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let prefix = path_prefix(&input)?;
    let account = ctx.account.clone();
    let groups: Vec<GroupRecord> = i.read(move |r| all(r, &account)).await?;
    let items: Vec<Value> =
        groups.iter().filter(|g| g.path.starts_with(&prefix)).map(|g| group_json(g, &ctx.account)).collect();
    let (items, next) = page(items, str_of(&input, "Marker"), input.get("MaxItems").and_then(Value::as_i64))?;
    Ok(listing(json!({ "Groups": items }), next))
}

pub async fn list_groups_for_user(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = req(&input, "UserName")?.to_string();
    let account = ctx.account.clone();
    let groups: Vec<GroupRecord> = i
        .read(move |r| {
            let u: UserRecord = load(r, &account, &name)?;
            Ok(all::<GroupRecord>(r, &account)?
                .into_iter()
                .filter(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(&u.name)))
                .collect())
        })
        .await?;
    let items: Vec<Value> = groups.iter().map(|g| group_json(g, &ctx.account)).collect();
    let (items, next) = page(items, str_of(&input, "Marker"), input.get("MaxItems").and_then(Value::as_i64))?;
    Ok(listing(json!({ "Groups": items }), next))
}

pub async fn membership(i: &Inner, ctx: &RequestContext, input: Value, add: bool) -> Result<(), AwsError> {
    let group = req(&input, "GroupName")?.to_string();
    let user = req(&input, "UserName")?.to_string();
    let account = ctx.account.clone();
    i.write(move |t| {
        let mut g: GroupRecord = load(t, &account, &group)?;
        let u: UserRecord = load(t, &account, &user)?;
        let at = g.members.iter().position(|m| m.eq_ignore_ascii_case(&u.name));
        match (add, at) {
            (true, None) => g.members.push(u.name),
            (false, Some(n)) => {
                g.members.remove(n);
            }
            (false, None) => {
                return Err(no_such("user", &u.name));
            }
            (true, Some(_)) => {}
        }
        save(t, &account, &g)
    })
    .await
}

pub async fn delete_group(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    let name = req(&input, "GroupName")?.to_string();
    let account = ctx.account.clone();
    i.write(move |t| {
        let g: GroupRecord = load(t, &account, &name)?;
        if !g.members.is_empty() {
            return Err(delete_conflict("Cannot delete entity, must remove users from group first."));
        }
        if !g.policies.inline.is_empty() {
            return Err(delete_conflict("Cannot delete entity, must delete policies first."));
        }
        if !g.policies.attached.is_empty() {
            return Err(delete_conflict("Cannot delete entity, must detach all policies first."));
        }
        t.delete(&keys::entity(Kind::Group, &account, &g.name))?;
        Ok(())
    })
    .await
}

pub async fn update_group(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    let name = req(&input, "GroupName")?.to_string();
    let new_name = str_of(&input, "NewGroupName").map(str::to_string);
    let new_path = str_of(&input, "NewPath").map(str::to_string);
    if let Some(n) = &new_name {
        check_name("newGroupName", n, 128)?;
    }
    if let Some(p) = &new_path {
        check_path(p)?;
    }
    let account = ctx.account.clone();
    i.write(move |t| {
        let mut g: GroupRecord = load(t, &account, &name)?;
        if let Some(p) = new_path {
            g.path = p;
        }
        if let Some(n) = new_name.filter(|n| *n != g.name) {
            if !n.eq_ignore_ascii_case(&g.name) && find::<GroupRecord>(t, &account, &n)?.is_some() {
                return Err(already_exists("Group", &n));
            }
            t.delete(&keys::entity(Kind::Group, &account, &g.name))?;
            g.name = n;
        }
        save(t, &account, &g)
    })
    .await
}

// ------------------------------------------------------------------ roles

pub async fn create_role(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = req(&input, "RoleName")?.to_string();
    check_name("roleName", &name, 64)?;
    let path = str_of(&input, "Path").unwrap_or("/").to_string();
    check_path(&path)?;
    let trust = req(&input, "AssumeRolePolicyDocument")?.to_string();
    check_document(&trust, DocumentKind::Trust, 2048)?;
    let max_session = max_session(&input)?.unwrap_or(3600);
    let tags = tags_of(&input)?;
    check_tags(&tags)?;
    let boundary = str_of(&input, "PermissionsBoundary").map(str::to_string);
    let mut role = RoleRecord {
        name,
        id: ids::entity(i.env.ids.as_ref(), "AROA"),
        path,
        created: i.now_secs(),
        trust,
        description: str_of(&input, "Description").map(str::to_string),
        max_session,
        tags,
        boundary: None,
        policies: Policies::default(),
        last_used: None,
    };
    let account = ctx.account.clone();
    let role = i
        .write(move |t| {
            set_boundary(t, &account, &mut role.boundary, boundary)?;
            create_new(t, &account, &role)?;
            Ok(role)
        })
        .await?;
    let mut out = role_json(&role, &ctx.account, false);
    if let (Some(o), false) = (out.as_object_mut(), role.tags.is_empty()) {
        o.insert("Tags".into(), tags_json(&role.tags));
    }
    Ok(json!({ "Role": out }))
}

fn max_session(input: &Value) -> Result<Option<u32>, AwsError> {
    match input.get("MaxSessionDuration").and_then(Value::as_i64) {
        None => Ok(None),
        Some(d) if (3600..=43200).contains(&d) => Ok(Some(d as u32)),
        Some(d) => Err(crate::errors::validation(format!(
            "1 validation error detected: Value '{d}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {} than or equal to {}",
            if d < 3600 { "greater" } else { "less" },
            if d < 3600 { 3600 } else { 43200 }
        ))),
    }
}

pub async fn get_role(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = req(&input, "RoleName")?.to_string();
    let account = ctx.account.clone();
    let role: RoleRecord = i.read(move |r| load(r, &account, &name)).await?;
    Ok(json!({ "Role": role_json(&role, &ctx.account, true) }))
}

pub async fn list_roles(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let prefix = path_prefix(&input)?;
    let account = ctx.account.clone();
    let roles: Vec<RoleRecord> = i.read(move |r| all(r, &account)).await?;
    let items: Vec<Value> =
        roles.iter().filter(|r| r.path.starts_with(&prefix)).map(|r| role_json(r, &ctx.account, false)).collect();
    let (items, next) = page(items, str_of(&input, "Marker"), input.get("MaxItems").and_then(Value::as_i64))?;
    Ok(listing(json!({ "Roles": items }), next))
}

pub async fn update_role(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    let name = req(&input, "RoleName")?.to_string();
    let description = str_of(&input, "Description").map(str::to_string);
    let max = max_session(&input)?;
    let account = ctx.account.clone();
    i.write(move |t| {
        let mut role: RoleRecord = load(t, &account, &name)?;
        if description.is_some() {
            role.description = description;
        }
        if let Some(m) = max {
            role.max_session = m;
        }
        save(t, &account, &role)
    })
    .await
}

pub async fn update_role_description(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = req(&input, "RoleName")?.to_string();
    let description = req(&input, "Description")?.to_string();
    let account = ctx.account.clone();
    let role = i
        .write(move |t| {
            let mut role: RoleRecord = load(t, &account, &name)?;
            role.description = Some(description);
            save(t, &account, &role)?;
            Ok(role)
        })
        .await?;
    Ok(json!({ "Role": role_json(&role, &ctx.account, true) }))
}

pub async fn update_trust(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    let name = req(&input, "RoleName")?.to_string();
    let doc = req(&input, "PolicyDocument")?.to_string();
    check_document(&doc, DocumentKind::Trust, 2048)?;
    let account = ctx.account.clone();
    i.write(move |t| {
        let mut role: RoleRecord = load(t, &account, &name)?;
        role.trust = doc;
        save(t, &account, &role)
    })
    .await
}

pub async fn delete_role(i: &Inner, ctx: &RequestContext, input: Value) -> Result<(), AwsError> {
    let name = req(&input, "RoleName")?.to_string();
    let account = ctx.account.clone();
    i.write(move |t| {
        let role: RoleRecord = load(t, &account, &name)?;
        if !role.policies.inline.is_empty() {
            return Err(delete_conflict("Cannot delete entity, must delete policies first."));
        }
        if !role.policies.attached.is_empty() {
            return Err(delete_conflict("Cannot delete entity, must detach all policies first."));
        }
        t.delete(&keys::entity(Kind::Role, &account, &role.name))?;
        Ok(())
    })
    .await
}
