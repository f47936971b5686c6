//! GetAccountAuthorizationDetails: every user, group, role and managed policy of the account
//! with their policies, in one answer (the account's IAM as infrastructure tools audit it).

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::scan_prefix;

use crate::entities::{self, Entity};
use crate::keys::{self, Kind};
use crate::types::*;
use crate::{Inner, managed};

fn inline(p: &Policies) -> Value {
    Value::Array(
        p.inline
            .iter()
            .map(|(name, doc)| json!({ "PolicyName": name, "PolicyDocument": encode_document(doc) }))
            .collect(),
    )
}

fn attached(p: &Policies) -> Value {
    Value::Array(
        p.attached
            .iter()
            .map(|a| json!({ "PolicyArn": a, "PolicyName": a.rsplit('/').next().unwrap_or_default() }))
            .collect(),
    )
}

fn with(mut v: Value, key: &str, extra: Option<Value>) -> Value {
    if let (Some(o), Some(x)) = (v.as_object_mut(), extra) {
        o.insert(key.into(), x);
    }
    v
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let filter = strings_of(&input, "Filter");
    let want = |k: &str| filter.is_empty() || filter.iter().any(|f| f == k);
    let account = ctx.account.clone();
    let (users, groups, roles, customer) = i
        .read(move |r| {
            let users: Vec<UserRecord> = entities::all(r, &account)?;
            let groups: Vec<GroupRecord> = entities::all(r, &account)?;
            let roles: Vec<RoleRecord> = entities::all(r, &account)?;
            let customer: Vec<PolicyRecord> = scan_prefix(r, &keys::entities(Kind::Policy, &account), usize::MAX)?
                .iter()
                .map(|(_, v)| decode(v))
                .collect::<Result<_, _>>()?;
            Ok((users, groups, roles, customer))
        })
        .await?;
    let acct = &ctx.account;
    let user_list: Vec<Value> = users
        .iter()
        .map(|u| {
            let groups_of: Vec<&str> = groups
                .iter()
                .filter(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(&u.name)))
                .map(|g| g.name.as_str())
                .collect();
            let v = json!({
                "UserName": u.name, "UserId": u.id, "Path": u.path, "Arn": u.arn(acct), "CreateDate": u.created,
                "UserPolicyList": inline(&u.policies), "AttachedManagedPolicies": attached(&u.policies),
                "GroupList": groups_of, "Tags": u.tags,
            });
            with(v, "PermissionsBoundary", boundary_json(&u.boundary))
        })
        .collect();
    let group_list: Vec<Value> = groups
        .iter()
        .map(|g| {
            json!({
                "GroupName": g.name, "GroupId": g.id, "Path": g.path, "Arn": g.arn(acct), "CreateDate": g.created,
                "GroupPolicyList": inline(&g.policies), "AttachedManagedPolicies": attached(&g.policies),
            })
        })
        .collect();
    let role_list: Vec<Value> = roles
        .iter()
        .map(|x| {
            let last = match &x.last_used {
                Some((when, region)) => json!({ "LastUsedDate": when, "Region": region }),
                None => json!({}),
            };
            let v = json!({
                "RoleName": x.name, "RoleId": x.id, "Path": x.path, "Arn": x.arn(acct), "CreateDate": x.created,
                "AssumeRolePolicyDocument": encode_document(&x.trust), "InstanceProfileList": [],
                "RolePolicyList": inline(&x.policies), "AttachedManagedPolicies": attached(&x.policies),
                "Tags": x.tags, "RoleLastUsed": last,
            });
            with(v, "PermissionsBoundary", boundary_json(&x.boundary))
        })
        .collect();
    // Attachment counts, and which AWS managed policies are in use.
    let all_attached: Vec<&String> = users
        .iter()
        .map(|u| &u.policies)
        .chain(groups.iter().map(|g| &g.policies))
        .chain(roles.iter().map(|x| &x.policies))
        .flat_map(|p| p.attached.iter())
        .collect();
    let boundaries: Vec<&String> = users
        .iter()
        .filter_map(|u| u.boundary.as_ref())
        .chain(roles.iter().filter_map(|x| x.boundary.as_ref()))
        .collect();
    let count = |arn: &str| {
        (all_attached.iter().filter(|a| **a == arn).count(), boundaries.iter().filter(|b| **b == arn).count())
    };
    let mut policies = Vec::new();
    if want("LocalManagedPolicy") {
        for p in &customer {
            let a = arn(acct, "policy", &p.path, &p.name);
            let (n, b) = count(&a);
            let versions: Vec<Value> = p
                .versions
                .iter()
                .map(|v| {
                    json!({ "VersionId": v.id, "IsDefaultVersion": v.id == p.default_version,
                                 "CreateDate": v.created, "Document": encode_document(&v.document) })
                })
                .collect();
            policies.push(json!({
                "PolicyName": p.name, "PolicyId": p.id, "Arn": a, "Path": p.path, "DefaultVersionId": p.default_version,
                "AttachmentCount": n, "PermissionsBoundaryUsageCount": b, "IsAttachable": true,
                "CreateDate": p.created, "UpdateDate": p.updated, "PolicyVersionList": versions,
            }));
        }
    }
    if want("AWSManagedPolicy") {
        for m in managed::all() {
            let (n, b) = count(&m.arn);
            if n + b == 0 {
                continue;
            }
            policies.push(json!({
                "PolicyName": m.policy_name, "PolicyId": m.policy_id, "Arn": m.arn, "Path": m.path,
                "DefaultVersionId": m.default_version_id, "AttachmentCount": n, "PermissionsBoundaryUsageCount": b,
                "IsAttachable": true, "Description": m.description, "CreateDate": m.created_secs(),
                "UpdateDate": m.updated_secs(),
                "PolicyVersionList": [{ "VersionId": m.default_version_id, "IsDefaultVersion": true,
                    "CreateDate": m.updated_secs(), "Document": encode_document(&m.document_text()) }],
            }));
        }
    }
    Ok(json!({
        "UserDetailList": if want("User") { user_list } else { Vec::new() },
        "GroupDetailList": if want("Group") { group_list } else { Vec::new() },
        "RoleDetailList": if want("Role") { role_list } else { Vec::new() },
        "Policies": policies,
        "IsTruncated": false,
    }))
}
