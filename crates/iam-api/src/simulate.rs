//! The policy simulator: SimulatePrincipalPolicy (a user's, group's or role's own policies)
//! and SimulateCustomPolicy (given documents), each decided by AWS's evaluation logic for every
//! action and resource asked about: `allowed`, `explicitDeny` or `implicitDeny`.

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_iam::policy::{Caller, Context, Decide, Decision, Policy, PolicyKind, Request, explain};
use stratus_proto::AwsError;

use crate::entities;
use crate::errors::{invalid_input, malformed};
use crate::types::{GroupRecord, RoleRecord, UserRecord, page, str_of, strings_of};
use crate::{Inner, authz, policies};

fn parse_all(docs: &[String], kind: PolicyKind) -> Result<Vec<Policy>, AwsError> {
    docs.iter().map(|d| Policy::parse(d, kind).map_err(|e| malformed(e.message))).collect()
}

fn context_of(input: &Value) -> Context {
    let mut c = Context::new();
    for e in input.get("ContextEntries").and_then(Value::as_array).into_iter().flatten() {
        if let Some(name) = e.get("ContextKeyName").and_then(Value::as_str) {
            c.insert_all(name, strings_of(e, "ContextKeyValues"));
        }
    }
    c
}

/// The simulation of every (action, resource) pair.
fn simulate(
    input: &Value,
    caller: &Caller,
    identity: &[Policy],
    boundary: Option<&[Policy]>,
) -> Result<Value, AwsError> {
    let actions = strings_of(input, "ActionNames");
    let mut resources = strings_of(input, "ResourceArns");
    if resources.is_empty() {
        resources.push("*".into());
    }
    let resource_policy = match str_of(input, "ResourcePolicy") {
        Some(d) => Some(Policy::parse(d, PolicyKind::Resource).map_err(|e| malformed(e.message))?),
        None => None,
    };
    let owner = str_of(input, "ResourceOwner").and_then(|o| stratus_core::Arn::parse(o).map(|a| a.account.to_string()));
    let context = context_of(input);
    let identity: Vec<&Policy> = identity.iter().collect();
    let boundary: Option<Vec<&Policy>> = boundary.map(|b| b.iter().collect());
    let mut results = Vec::new();
    for action in &actions {
        for resource in &resources {
            let request = Request { principal: caller, action, resource, context: &context };
            let verdict = explain(&Decide {
                request: &request,
                identity: &identity,
                resource: resource_policy.as_ref(),
                resource_account: owner.as_deref().filter(|o| *o != caller.account),
                boundary: boundary.as_deref(),
                session: None,
            });
            let decision = match verdict.decision {
                Decision::Allow => "allowed",
                Decision::ExplicitDeny => "explicitDeny",
                Decision::ImplicitDeny => "implicitDeny",
            };
            results.push(json!({
                "EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision,
                "MatchedStatements": [], "MissingContextValues": [],
            }));
        }
    }
    let (items, next) = page(results, str_of(input, "Marker"), input.get("MaxItems").and_then(Value::as_i64))?;
    Ok(crate::types::listing(json!({ "EvaluationResults": items }), next))
}

fn extra(input: &Value, member: &str, kind: PolicyKind) -> Result<Vec<Policy>, AwsError> {
    parse_all(&strings_of(input, member), kind)
}

pub async fn custom(ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let identity = extra(&input, "PolicyInputList", PolicyKind::Identity)?;
    let boundary = extra(&input, "PermissionsBoundaryPolicyInputList", PolicyKind::Boundary)?;
    let caller = match str_of(&input, "CallerArn") {
        Some(arn) => caller_of_arn(arn).ok_or_else(|| invalid_input(format!("Invalid ARN: {arn}")))?,
        None => Caller::user(&ctx.account, "/", "simulated", "AIDASIMULATEDUSER0001"),
    };
    simulate(&input, &caller, &identity, (!boundary.is_empty()).then_some(boundary.as_slice()))
}

/// A caller from a user or role ARN (`CallerArn`).
fn caller_of_arn(arn: &str) -> Option<Caller> {
    let a = stratus_core::Arn::parse(arn)?;
    let (kind, rest) = a.resource.split_once('/')?;
    let name = rest.rsplit('/').next()?;
    let path = &rest[..rest.len() - name.len()];
    let path = if path.is_empty() { "/".to_string() } else { format!("/{path}") };
    match kind {
        "user" => Some(Caller::user(a.account, &path, name, "AIDASIMULATEDUSER0001")),
        "role" => Some(Caller {
            arn: arn.to_string(),
            account: a.account.to_string(),
            kind: stratus_iam::policy::CallerKind::AssumedRole,
            user_id: "AROASIMULATEDROLE0001:simulated".into(),
            username: None,
            tags: Vec::new(),
            role_arn: Some(arn.to_string()),
        }),
        _ => None,
    }
}

pub async fn principal(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let source = crate::types::req(&input, "PolicySourceArn")?.to_string();
    let arn = stratus_core::Arn::parse(&source).ok_or_else(|| invalid_input(format!("Invalid ARN: {source}")))?;
    let (kind, name) = arn
        .resource
        .split_once('/')
        .map(|(k, rest)| (k.to_string(), rest.rsplit('/').next().unwrap_or_default().to_string()))
        .ok_or_else(|| invalid_input(format!("Invalid ARN: {source}")))?;
    let account = ctx.account.clone();
    let src = source.clone();
    let (docs, boundary_doc) = i
        .read(move |r| {
            let mut docs = Vec::new();
            let boundary = match kind.as_str() {
                "user" => {
                    let u: UserRecord = entities::load(r, &account, &name)?;
                    docs.extend(authz::documents_of(r, &account, &u)?);
                    for g in entities::all::<GroupRecord>(r, &account)? {
                        if g.members.iter().any(|m| m.eq_ignore_ascii_case(&u.name)) {
                            docs.extend(authz::documents_of(r, &account, &g)?);
                        }
                    }
                    u.boundary
                }
                "role" => {
                    let role: RoleRecord = entities::load(r, &account, &name)?;
                    docs.extend(authz::documents_of(r, &account, &role)?);
                    role.boundary
                }
                "group" => {
                    let g: GroupRecord = entities::load(r, &account, &name)?;
                    docs.extend(authz::documents_of(r, &account, &g)?);
                    None
                }
                _ => return Err(invalid_input(format!("Invalid ARN: {src}"))),
            };
            let boundary_doc = match boundary {
                Some(b) => policies::default_document(r, &account, &b)?,
                None => None,
            };
            Ok((docs, boundary_doc))
        })
        .await?;
    let mut identity = parse_all(&docs, PolicyKind::Identity)?;
    identity.extend(extra(&input, "PolicyInputList", PolicyKind::Identity)?);
    let mut boundary: Vec<Policy> = parse_all(&boundary_doc.into_iter().collect::<Vec<_>>(), PolicyKind::Boundary)?;
    boundary.extend(extra(&input, "PermissionsBoundaryPolicyInputList", PolicyKind::Boundary)?);
    let caller = caller_of_arn(str_of(&input, "CallerArn").unwrap_or(&source))
        .or_else(|| caller_of_arn(&source))
        .unwrap_or_else(|| Caller::root(&ctx.account));
    simulate(&input, &caller, &identity, (!boundary.is_empty()).then_some(boundary.as_slice()))
}
