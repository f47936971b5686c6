//! Authorization of API requests (`--auth enforce`): the caller's policies (its own and its
//! groups' or its role's, inline and attached, its permissions boundary, its session policies),
//! compiled once and cached until IAM changes, then AWS's evaluation flow
//! (`stratus_iam::policy::explain`) for the request's action and resource.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use stratus_core::RequestContext;
use stratus_iam::Identity as Who;
use stratus_iam::policy::{Caller, Context, Decide, Policy, Request, access_denied_message, explain};
use stratus_proto::AwsError;
use stratus_storage::ReadTxn;

use crate::entities::{self, Entity};
use crate::types::{GroupRecord, RoleRecord, SessionRecord, UserRecord, decode};
use crate::{Inner, actions, keys, policies, sts};

/// A caller's policies, compiled.
struct Compiled {
    caller: Caller,
    identity: Vec<Policy>,
    boundary: Option<Vec<Policy>>,
    session: Option<Vec<Policy>>,
}

/// What a front door that found the resource's policy itself (S3's buckets) asks for.
#[derive(Debug, Clone, Copy)]
pub struct OnResource<'a> {
    /// Which service's wording a denial takes.
    pub service: &'a str,
    pub action: &'a str,
    pub resource: &'a str,
    /// The resource's policy document, if it has one.
    pub policy: Option<&'a str>,
    /// The account owning the resource.
    pub owner: Option<&'a str>,
}

/// What one request asks for: the action, on which resource, that resource's policy and owner.
#[derive(Clone, Copy)]
struct Target<'a> {
    service: &'a str,
    action: &'a str,
    resource: &'a str,
    policy: Option<&'a Policy>,
    owner: Option<&'a str>,
}

/// Where the resource policies and tags of other services' resources come from (queues, topics
/// and functions); the binary implements it over those services.
pub trait ResourcePolicies: Send + Sync + 'static {
    /// The policy document and tags of the resource `arn` of `service`; None when it does not
    /// exist.
    fn access<'a>(
        &'a self,
        service: &'a str,
        arn: &'a str,
    ) -> stratus_proto::BoxFuture<'a, Result<Option<stratus_core::ResourceAccess>, AwsError>>;
}

/// (account, access key) → (IAM generation the policies were compiled at, policies).
type Cache = HashMap<(String, String), (u64, Arc<Compiled>)>;

/// Decides API requests in enforce mode.
#[derive(Clone)]
pub struct Authorizer {
    inner: Arc<Inner>,
    cache: Arc<Mutex<Cache>>,
}

impl Authorizer {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Self { inner, cache: Arc::new(Mutex::new(HashMap::new())) }
    }

    /// Whether the caller of `ctx` (acting as `who`) may call `op` of `service` with `input`.
    /// The error is AWS's denial as the service words it.
    /// `source_ip` is the client's address (`aws:SourceIp`), when the request came over the
    /// network.
    pub async fn authorize(
        &self,
        who: &Who,
        ctx: &RequestContext,
        service: &str,
        op: &str,
        input: &Value,
        source_ip: Option<&str>,
    ) -> Result<(), AwsError> {
        // Everyone may ask who they are, whatever their policies say; the web-identity and SAML
        // exchanges are authorized by their token, not by the caller.
        let exempt =
            service == "sts" && matches!(op, "GetCallerIdentity" | "AssumeRoleWithWebIdentity" | "AssumeRoleWithSAML");
        if exempt {
            return Ok(());
        }
        let action = actions::action(service, op);
        let resource = actions::resource(service, op, input, ctx);
        let found = if service == "sts" && op == "AssumeRole" {
            // AssumeRole is decided together with the role's trust policy, its resource policy.
            self.trust_of(&resource).await?
        } else {
            self.found(&action, &resource).await?
        };
        let owner = owner_of(&found, &action, &resource);
        let target = Target {
            service,
            action: &action,
            resource: &resource,
            policy: found.as_ref().and_then(|f| f.policy.as_ref()),
            owner: owner.as_deref(),
        };
        let mut context = actions::condition_keys(service, op, input, ctx);
        if let Some(ip) = source_ip {
            context.insert("aws:SourceIp", ip);
        }
        resource_tags(&found, &mut context);
        self.decide(who, ctx, &target, context.clone()).await?;
        for (action, resource) in actions::dependent(service, op, input) {
            let target = Target { service, action, resource: &resource, policy: None, owner: None };
            self.decide(who, ctx, &target, context.clone()).await?;
        }
        Ok(())
    }

    /// Whether the role `role_arn`, as an AWS service uses it for `session_name` (Lambda
    /// polling a queue or delivering to a destination for a function), may perform `action` on
    /// `resource`: the role's policies and boundary, with the resource's own policy. `Err` is
    /// the denial; a role that no longer exists may do nothing.
    pub async fn authorize_role(
        &self,
        role_arn: &str,
        session_name: &str,
        action: &str,
        resource: &str,
    ) -> Result<(), AwsError> {
        let service = action.split(':').next().unwrap_or_default();
        let Some((account, name)) = sts::parse_role_arn(role_arn).map(|(a, n)| (a.to_string(), n.to_string())) else {
            return Err(denied(service, format!("{role_arn} is not a role")));
        };
        let lookup = account.clone();
        let role: Option<RoleRecord> = self.inner.read(move |r| entities::find(r, &lookup, &name)).await?;
        let Some(role) = role.filter(|r| r.arn(&account) == role_arn) else {
            return Err(denied(service, format!("The role {role_arn} does not exist")));
        };
        let who = Who::Role {
            role_name: role.name.clone(),
            role_id: role.id.clone(),
            role_arn: role_arn.to_string(),
            session_name: session_name.to_string(),
        };
        // The cache is keyed by access key: a service's use of a role has none of its own.
        let mut ctx = RequestContext::internal(&account, "us-east-1", String::new());
        ctx.access_key = Some(format!("service-use:{role_arn}:{session_name}"));
        let found = self.found(action, resource).await?;
        let owner = owner_of(&found, action, resource);
        let target = Target {
            service,
            action,
            resource,
            policy: found.as_ref().and_then(|f| f.policy.as_ref()),
            owner: owner.as_deref(),
        };
        let mut context = Context::new();
        resource_tags(&found, &mut context);
        self.decide(&who, &ctx, &target, context).await
    }

    /// The policy and tags of the resource an action acts on, for the services whose resources
    /// have their own (queues, topics, functions).
    async fn found(&self, action: &str, resource: &str) -> Result<Option<Found>, AwsError> {
        let service = action.split(':').next().unwrap_or_default();
        if matches!(service, "sqs" | "sns" | "lambda" | "dynamodb" | "kinesis") && resource != "*" {
            self.resource_access(service, resource).await
        } else {
            Ok(None)
        }
    }

    /// [`Authorizer::authorize_action`] for a resource whose policy and owner the caller found
    /// (S3's buckets): `who` None is an anonymous (unsigned) request, which only the resource
    /// policy can allow. `context` holds what the request says for conditions (the client's
    /// address, the service's own keys such as `s3:prefix`).
    pub async fn authorize_with_policy(
        &self,
        who: Option<&Who>,
        ctx: &RequestContext,
        asked: &OnResource<'_>,
        context: Context,
    ) -> Result<(), AwsError> {
        let OnResource { service, action, resource, policy, owner } = *asked;
        // Stored policies were accepted by their service; one the language refuses grants nothing.
        let policy = policy.and_then(|d| Policy::parse(d, stratus_iam::policy::PolicyKind::Resource).ok());
        let Some(who) = who else {
            let caller = Caller::anonymous();
            let context = self.with_globals(context, ctx);
            let request = Request { principal: &caller, action, resource, context: &context };
            let verdict = explain(&Decide {
                request: &request,
                identity: &[],
                resource: policy.as_ref(),
                resource_account: owner,
                boundary: None,
                session: None,
            });
            return match verdict.denial {
                None => Ok(()),
                // S3 words every anonymous denial this way; other services say why.
                Some(_) if service == "s3" => Err(denied(service, "Access Denied".to_string())),
                Some(d) => Err(denied(service, access_denied_message("anonymous", action, resource, d))),
            };
        };
        self.decide(who, ctx, &Target { service, action, resource, policy: policy.as_ref(), owner }, context).await
    }

    /// Whether AWS service `principal` (`sns.amazonaws.com`) may perform `action` on `resource`
    /// on behalf of `source_arn` (its topic, bucket, …): only the resource's own policy can
    /// allow it, as on AWS; `aws:SourceArn` and `aws:SourceAccount` are in the context.
    pub async fn service_may(
        &self,
        principal: &str,
        action: &str,
        resource: &str,
        source_arn: &str,
        source_account: &str,
    ) -> Result<bool, AwsError> {
        let service = action.split(':').next().unwrap_or_default();
        let Some(Found { policy: Some(policy), .. }) = self.resource_access(service, resource).await? else {
            return Ok(false);
        };
        let caller = Caller::service(principal);
        let mut context = Context::new();
        context.insert("aws:SourceArn", source_arn.to_string());
        context.insert("aws:SourceAccount", source_account.to_string());
        let request = Request { principal: &caller, action, resource, context: &context };
        let verdict = explain(&Decide {
            request: &request,
            identity: &[],
            resource: Some(&policy),
            resource_account: None,
            boundary: None,
            session: None,
        });
        Ok(verdict.denial.is_none())
    }

    /// The resource's own policy, owner and tags, when it exists.
    async fn resource_access(&self, service: &str, arn: &str) -> Result<Option<Found>, AwsError> {
        let Some(source) = self.inner.resource_policies() else { return Ok(None) };
        let Some(account) = stratus_core::Arn::parse(arn).map(|a| a.account.to_string()) else { return Ok(None) };
        let Some(access) = source.access(service, arn).await? else { return Ok(None) };
        // Stored policies were accepted by their service; one the language refuses grants nothing.
        let policy = access.policy.and_then(|d| Policy::parse(&d, stratus_iam::policy::PolicyKind::Resource).ok());
        Ok(Some(Found { policy, account, tags: access.tags }))
    }

    /// The trust policy of the role `arn` (and its account), if the role exists.
    async fn trust_of(&self, arn: &str) -> Result<Option<Found>, AwsError> {
        let Some((account, name)) = sts::parse_role_arn(arn).map(|(a, n)| (a.to_string(), n.to_string())) else {
            return Ok(None);
        };
        let lookup = account.clone();
        let role: Option<RoleRecord> = self.inner.read(move |r| entities::find(r, &lookup, &name)).await?;
        Ok(role.filter(|r| r.arn(&account) == arn).map(|r| Found {
            policy: Policy::parse(&r.trust, stratus_iam::policy::PolicyKind::Trust).ok(),
            account,
            tags: r.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect(),
        }))
    }

    /// Whether the caller may perform `action` on `resource` (for front doors that know both,
    /// such as S3's). `service` chooses how a denial is worded.
    pub async fn authorize_action(
        &self,
        who: &Who,
        ctx: &RequestContext,
        service: &str,
        action: &str,
        resource: &str,
    ) -> Result<(), AwsError> {
        self.decide(who, ctx, &Target { service, action, resource, policy: None, owner: None }, Context::new()).await
    }

    /// The global condition keys every request has, added to what the request said.
    fn with_globals(&self, mut context: Context, ctx: &RequestContext) -> Context {
        context.insert("aws:RequestedRegion", ctx.region.clone());
        context.insert("aws:SecureTransport", "false");
        let now = self.inner.now_secs();
        context.insert("aws:EpochTime", now.to_string());
        context.insert("aws:CurrentTime", stratus_core::time::iso8601_secs(now));
        context
    }

    async fn decide(
        &self,
        who: &Who,
        ctx: &RequestContext,
        target: &Target<'_>,
        context: Context,
    ) -> Result<(), AwsError> {
        let Target { service, action, resource, policy: resource_policy, owner } = *target;
        let foreign = owner.filter(|a| *a != ctx.account);
        if matches!(who, Who::Root) && foreign.is_none() {
            return Ok(());
        }
        let compiled = self.compiled(who, ctx).await?;
        let context = self.with_globals(context, ctx);
        let request = Request { principal: &compiled.caller, action, resource, context: &context };
        let identity: Vec<&Policy> = compiled.identity.iter().collect();
        let boundary: Option<Vec<&Policy>> = compiled.boundary.as_ref().map(|b| b.iter().collect());
        let session: Option<Vec<&Policy>> = compiled.session.as_ref().map(|s| s.iter().collect());
        let verdict = explain(&Decide {
            request: &request,
            identity: &identity,
            resource: resource_policy,
            resource_account: foreign,
            boundary: boundary.as_deref(),
            session: session.as_deref(),
        });
        match verdict.denial {
            None => Ok(()),
            Some(denial) => Err(denied(service, access_denied_message(&compiled.caller.arn, action, resource, denial))),
        }
    }

    async fn compiled(&self, who: &Who, ctx: &RequestContext) -> Result<Arc<Compiled>, AwsError> {
        let key = (ctx.account.clone(), ctx.access_key.clone().unwrap_or_default());
        let generation = self.inner.generation();
        if let Some((g, c)) = self.cache.lock().ok().and_then(|m| m.get(&key).cloned())
            && g == generation
        {
            return Ok(c);
        }
        let (who2, account, access_key) = (who.clone(), ctx.account.clone(), key.1.clone());
        let compiled = Arc::new(self.inner.read(move |r| compile(r, &who2, &account, &access_key)).await?);
        if let Ok(mut m) = self.cache.lock() {
            if m.len() > 10_000 {
                m.clear();
            }
            m.insert(key, (generation, compiled.clone()));
        }
        Ok(compiled)
    }
}

/// What the authorizer found of the resource a request acts on.
struct Found {
    /// Its policy (a role's trust policy), when it has one the language accepts.
    policy: Option<Policy>,
    /// The account owning it.
    account: String,
    tags: std::collections::BTreeMap<String, String>,
}

/// `aws:ResourceTag/{key}` for each of the resource's tags.
fn resource_tags(found: &Option<Found>, context: &mut Context) {
    for (k, v) in found.iter().flat_map(|f| f.tags.iter()) {
        context.insert(&format!("aws:ResourceTag/{k}"), v.clone());
    }
}

/// The account that owns the resource: a resource of another account is reached only through
/// its policy, so only resources that can have one (queues, topics, functions, roles) are
/// reachable across accounts. S3's ARNs name no account.
fn owner_of(found: &Option<Found>, action: &str, resource: &str) -> Option<String> {
    found.as_ref().map(|f| f.account.clone()).or_else(|| {
        matches!(action.split(':').next(), Some("sqs" | "sns" | "lambda" | "dynamodb" | "kinesis"))
            .then(|| stratus_core::Arn::parse(resource).map(|a| a.account.to_string()))
            .flatten()
            .filter(|a| !a.is_empty())
    })
}

fn parse_all(docs: Vec<String>) -> Vec<Policy> {
    // Documents were validated when written; one that no longer parses grants nothing.
    docs.iter().filter_map(|d| Policy::parse(d, stratus_iam::policy::PolicyKind::Identity).ok()).collect()
}

pub(crate) fn documents_of<E: Entity>(r: &mut dyn ReadTxn, account: &str, e: &E) -> Result<Vec<String>, AwsError> {
    let mut docs: Vec<String> = e.policies().inline.values().cloned().collect();
    for a in &e.policies().attached {
        docs.extend(policies::default_document(r, account, a)?);
    }
    Ok(docs)
}

fn boundary_of(r: &mut dyn ReadTxn, account: &str, arn: &Option<String>) -> Result<Option<Vec<Policy>>, AwsError> {
    match arn {
        None => Ok(None),
        Some(a) => Ok(Some(parse_all(policies::default_document(r, account, a)?.into_iter().collect()))),
    }
}

fn compile(r: &mut dyn ReadTxn, who: &Who, account: &str, access_key: &str) -> Result<Compiled, AwsError> {
    let mut caller = sts::caller(who, account);
    match who {
        Who::Root => Ok(Compiled { caller, identity: Vec::new(), boundary: None, session: None }),
        Who::User { name, .. } => {
            let Some(u) = entities::find::<UserRecord>(r, account, name)? else {
                return Ok(Compiled { caller, identity: Vec::new(), boundary: None, session: None });
            };
            caller.tags = u.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
            let mut docs = documents_of(r, account, &u)?;
            for g in entities::all::<GroupRecord>(r, account)? {
                if g.members.iter().any(|m| m.eq_ignore_ascii_case(&u.name)) {
                    docs.extend(documents_of(r, account, &g)?);
                }
            }
            let boundary = boundary_of(r, account, &u.boundary)?;
            Ok(Compiled { caller, identity: parse_all(docs), boundary, session: None })
        }
        Who::Role { role_name, .. } => {
            let Some(role) = entities::find::<RoleRecord>(r, account, role_name)? else {
                return Ok(Compiled { caller, identity: Vec::new(), boundary: None, session: None });
            };
            caller.tags = role.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
            let docs = documents_of(r, account, &role)?;
            let boundary = boundary_of(r, account, &role.boundary)?;
            let session: Option<SessionRecord> = r.get(&keys::session(access_key))?.map(|b| decode(&b)).transpose()?;
            let session = match session {
                Some(s) if s.policy.is_some() || !s.policy_arns.is_empty() => {
                    let mut docs: Vec<String> = s.policy.into_iter().collect();
                    for a in &s.policy_arns {
                        docs.extend(policies::default_document(r, account, a)?);
                    }
                    Some(parse_all(docs))
                }
                _ => None,
            };
            Ok(Compiled { caller, identity: parse_all(docs), boundary, session })
        }
    }
}

/// AWS's denial as each service words it.
fn denied(service: &str, message: String) -> AwsError {
    let (code, status) = match service {
        "sns" => ("AuthorizationError", 403),
        "lambda" | "apigateway" => ("AccessDeniedException", 403),
        "dynamodb" | "kinesis" => ("AccessDeniedException", 400),
        "logs" => ("AccessDeniedException", 400),
        _ => ("AccessDenied", 403),
    };
    let message = if service == "sns" {
        // SNS names its actions in upper case in this message.
        message.replacen(" sns:", " SNS:", 1)
    } else {
        message
    };
    AwsError::new(code, message).with_status(status)
}
