//! The IAM and STS APIs (query protocol): users, groups, roles, customer and AWS managed
//! policies, inline policies, access keys, and temporary credentials, kept in the store.
//!
//! The keys they issue authenticate at once: [`Directory`] holds every active key and session
//! in memory and is one of the authenticator's key stores. Both APIs are served in every auth
//! mode; AssumeRole evaluates trust policies whenever callers are authenticated (not in open mode).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use serde_json::Value;
use stratus_core::{Env, RequestContext};
use stratus_proto::{AwsError, BoxFuture, Checks, Operation, Service, ServiceModel, ValidationFailure, Wire};
use stratus_storage::{ReadTxn, Store, Txn};

mod access_keys;
mod actions;
mod authz;
mod details;
mod directory;
mod entities;
mod errors;
mod ids;
mod keys;
mod managed;
mod oidc;
mod policies;
mod reference;
mod service_credentials;
mod simulate;
mod sts;
mod types;

pub use actions::action;
pub use authz::{Authorizer, OnResource, ResourcePolicies};
pub use directory::Directory;
pub use sts::parse_role_arn;

use crate::types::{GroupRecord, RoleRecord, UserRecord};

static IAM_MODEL: LazyLock<Result<ServiceModel, String>> =
    LazyLock::new(|| ServiceModel::parse(include_str!("../../../models/iam.json"), None).map_err(|e| e.to_string()));
static STS_MODEL: LazyLock<Result<ServiceModel, String>> =
    LazyLock::new(|| ServiceModel::parse(include_str!("../../../models/sts.json"), None).map_err(|e| e.to_string()));

pub(crate) struct Inner {
    pub store: Store,
    pub env: Env,
    pub directory: Arc<Directory>,
    /// Callers are authenticated (verify and enforce modes): AssumeRole evaluates trust policies.
    pub check_trust: bool,
    /// Bumped by every committed IAM change: compiled policies older than it are stale.
    generation: AtomicU64,
    resources: std::sync::RwLock<Option<Arc<dyn ResourcePolicies>>>,
    /// The JWKS of each OpenID Connect issuer web identity tokens are verified with.
    issuer_keys: std::sync::RwLock<Arc<oidc::IssuerKeys>>,
}

impl Inner {
    pub fn now_secs(&self) -> u64 {
        self.env.clock.now_millis() / 1000
    }

    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn ReadTxn) -> Result<T, AwsError> + Send + 'static,
    ) -> Result<T, AwsError> {
        self.store.read(f).await
    }

    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Txn) -> Result<T, AwsError> + Send + 'static,
    ) -> Result<T, AwsError> {
        let out = self.store.write(f).await;
        self.generation.fetch_add(1, Ordering::SeqCst);
        out
    }

    pub fn issuer_keys(&self) -> Arc<oidc::IssuerKeys> {
        self.issuer_keys.read().map(|k| k.clone()).unwrap_or_default()
    }

    pub fn resource_policies(&self) -> Option<Arc<dyn ResourcePolicies>> {
        self.resources.read().ok().and_then(|r| r.clone())
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub async fn reload_directory(&self) -> Result<(), AwsError> {
        let dir = self.directory.clone();
        self.read(move |r| dir.load(r)).await
    }
}

/// IAM and STS over one store and one directory of keys.
#[derive(Clone)]
pub struct Identity {
    inner: Arc<Inner>,
    iam_model: &'static ServiceModel,
    sts_model: &'static ServiceModel,
}

impl Identity {
    pub fn new(store: Store, env: Env, check_trust: bool) -> Result<Self, String> {
        let iam_model = IAM_MODEL.as_ref().map_err(Clone::clone)?;
        let sts_model = STS_MODEL.as_ref().map_err(Clone::clone)?;
        let inner = Arc::new(Inner {
            store,
            env,
            directory: Arc::new(Directory::default()),
            check_trust,
            generation: AtomicU64::new(0),
            resources: std::sync::RwLock::new(None),
            issuer_keys: std::sync::RwLock::new(Arc::default()),
        });
        Ok(Self { inner, iam_model, sts_model })
    }

    /// Drops the temporary credentials that expired while the server was down and loads the
    /// issued keys (before the server takes requests).
    pub async fn start(&self) -> Result<(), String> {
        self.drop_expired_sessions().await.map_err(|e| e.message)?;
        self.inner.reload_directory().await.map_err(|e| e.message)
    }

    /// Forgets temporary credentials that have expired (they authenticate no longer either
    /// way); the binary calls it now and then. Returns how many went.
    pub async fn drop_expired_sessions(&self) -> Result<usize, AwsError> {
        let now = self.inner.now_secs();
        // Read first: most rounds have nothing to drop, and then write nothing.
        let expired: Vec<String> = self
            .inner
            .read(move |r| {
                Ok(stratus_storage::scan_prefix(r, keys::SESSIONS, usize::MAX)?
                    .into_iter()
                    .filter_map(|(_, v)| types::decode::<types::SessionRecord>(&v).ok())
                    .filter(|s| s.expires <= now)
                    .map(|s| s.id)
                    .collect())
            })
            .await?;
        if expired.is_empty() {
            return Ok(0);
        }
        let gone = expired.clone();
        self.inner
            .write(move |t| gone.iter().try_for_each(|id| t.delete(&keys::session(id)).map_err(AwsError::from)))
            .await?;
        for id in &expired {
            self.inner.directory.remove(id);
        }
        Ok(expired.len())
    }

    /// The keys IAM and STS issued, for the authenticator.
    pub fn directory(&self) -> Arc<Directory> {
        self.inner.directory.clone()
    }

    /// After the store was wiped: no issued key is valid any more.
    pub fn reset(&self) {
        self.inner.directory.clear();
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Where queue, topic and function policies come from (set once, by the binary).
    pub fn set_resource_policies(&self, source: Arc<dyn ResourcePolicies>) {
        if let Ok(mut slot) = self.inner.resources.write() {
            *slot = Some(source);
        }
    }

    /// Temporary credentials `(access key id, secret, session token, expiry in epoch seconds)`
    /// of `role_arn` for AWS service `service` (`lambda.amazonaws.com`) acting with it.
    pub async fn credentials_for_service(
        &self,
        role_arn: &str,
        session_name: &str,
        service: &str,
        region: &str,
    ) -> Result<(String, String, String, u64), AwsError> {
        let s = sts::assume_for_service(&self.inner, role_arn, session_name, service, region).await?;
        Ok((s.id, s.secret, s.token, s.expires))
    }

    /// `Ok` when `role_arn` exists and may be assumed by AWS service `service`
    /// (`lambda.amazonaws.com`): what CreateFunction checks of an execution role.
    pub async fn check_role_for_service(&self, role_arn: &str, service: &str) -> Result<(), AwsError> {
        sts::trusted_role(&self.inner, role_arn, service).await.map(|_| ())
    }

    /// The IAM user `(account, user name)` whose active service-specific credential for
    /// `service` (`codecommit.amazonaws.com`) has this user name and password: how a
    /// service's own sign-in, such as git over HTTPS, authenticates.
    pub async fn verify_service_password(
        &self,
        service: &str,
        user_name: &str,
        password: &str,
    ) -> Result<Option<(String, String)>, AwsError> {
        let now = self.inner.now_secs();
        let (service, user_name, password) = (service.to_string(), user_name.to_string(), password.to_string());
        self.inner.read(move |r| service_credentials::verify(r, &service, &user_name, &password, now)).await
    }

    /// The JWKS (`{"keys": [...]}`) of each OpenID Connect issuer (`https://…`, as in tokens'
    /// `iss`) that AssumeRoleWithWebIdentity verifies tokens with (from the configuration:
    /// Stratus fetches nothing from identity providers).
    pub fn set_issuer_keys(&self, keys: std::collections::HashMap<String, Value>) {
        if let Ok(mut k) = self.inner.issuer_keys.write() {
            *k = Arc::new(keys);
        }
    }

    /// Authorization of API requests, for enforce mode.
    pub fn authorizer(&self) -> Authorizer {
        Authorizer::new(self.inner.clone())
    }

    pub fn iam(&self) -> Iam {
        Iam { inner: self.inner.clone(), model: self.iam_model }
    }

    pub fn sts(&self) -> Sts {
        Sts { inner: self.inner.clone(), model: self.sts_model }
    }
}

/// The IAM API.
#[derive(Clone)]
pub struct Iam {
    inner: Arc<Inner>,
    model: &'static ServiceModel,
}

/// The STS API.
#[derive(Clone)]
pub struct Sts {
    inner: Arc<Inner>,
    model: &'static ServiceModel,
}

/// IAM and STS answer a model constraint failure as `ValidationError` (400).
fn validation_error(failure: &ValidationFailure) -> AwsError {
    let mut e = failure.to_validation_exception();
    e.code = "ValidationError".into();
    e.status = Some(400);
    e
}

fn none(r: Result<(), AwsError>) -> Result<Value, AwsError> {
    r.map(|()| Value::Null)
}

impl Service for Iam {
    fn model(&self) -> &ServiceModel {
        self.model
    }

    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        op: &'a Operation,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, AwsError>> {
        Box::pin(async move {
            let i = &*self.inner;
            use entities as e;
            match op.name.as_str() {
                "CreateUser" => e::create_user(i, ctx, input).await,
                "GetUser" => e::get_user(i, ctx, input).await,
                "ListUsers" => e::list_users(i, ctx, input).await,
                "UpdateUser" => none(e::update_user(i, ctx, input).await),
                "DeleteUser" => none(e::delete_user(i, ctx, input).await),
                "TagUser" => none(e::tag::<UserRecord>(i, ctx, input, "UserName", true).await),
                "UntagUser" => none(e::tag::<UserRecord>(i, ctx, input, "UserName", false).await),
                "ListUserTags" => e::list_tags::<UserRecord>(i, ctx, input, "UserName").await,
                "PutUserPermissionsBoundary" => {
                    none(e::put_boundary::<UserRecord>(i, ctx, input, "UserName", true).await)
                }
                "DeleteUserPermissionsBoundary" => {
                    none(e::put_boundary::<UserRecord>(i, ctx, input, "UserName", false).await)
                }
                "PutUserPolicy" => none(e::put_inline::<UserRecord>(i, ctx, input, "UserName").await),
                "GetUserPolicy" => e::get_inline::<UserRecord>(i, ctx, input, "UserName").await,
                "ListUserPolicies" => e::list_inline::<UserRecord>(i, ctx, input, "UserName").await,
                "DeleteUserPolicy" => none(e::delete_inline::<UserRecord>(i, ctx, input, "UserName").await),
                "AttachUserPolicy" => none(e::attach::<UserRecord>(i, ctx, input, "UserName").await),
                "DetachUserPolicy" => none(e::detach::<UserRecord>(i, ctx, input, "UserName").await),
                "ListAttachedUserPolicies" => e::list_attached::<UserRecord>(i, ctx, input, "UserName").await,

                "CreateGroup" => e::create_group(i, ctx, input).await,
                "GetGroup" => e::get_group(i, ctx, input).await,
                "ListGroups" => e::list_groups(i, ctx, input).await,
                "UpdateGroup" => none(e::update_group(i, ctx, input).await),
                "DeleteGroup" => none(e::delete_group(i, ctx, input).await),
                "AddUserToGroup" => none(e::membership(i, ctx, input, true).await),
                "RemoveUserFromGroup" => none(e::membership(i, ctx, input, false).await),
                "ListGroupsForUser" => e::list_groups_for_user(i, ctx, input).await,
                "PutGroupPolicy" => none(e::put_inline::<GroupRecord>(i, ctx, input, "GroupName").await),
                "GetGroupPolicy" => e::get_inline::<GroupRecord>(i, ctx, input, "GroupName").await,
                "ListGroupPolicies" => e::list_inline::<GroupRecord>(i, ctx, input, "GroupName").await,
                "DeleteGroupPolicy" => none(e::delete_inline::<GroupRecord>(i, ctx, input, "GroupName").await),
                "AttachGroupPolicy" => none(e::attach::<GroupRecord>(i, ctx, input, "GroupName").await),
                "DetachGroupPolicy" => none(e::detach::<GroupRecord>(i, ctx, input, "GroupName").await),
                "ListAttachedGroupPolicies" => e::list_attached::<GroupRecord>(i, ctx, input, "GroupName").await,

                "CreateRole" => e::create_role(i, ctx, input).await,
                "GetRole" => e::get_role(i, ctx, input).await,
                "ListRoles" => e::list_roles(i, ctx, input).await,
                "UpdateRole" => e::update_role(i, ctx, input).await.map(|()| serde_json::json!({})),
                "UpdateRoleDescription" => e::update_role_description(i, ctx, input).await,
                "UpdateAssumeRolePolicy" => none(e::update_trust(i, ctx, input).await),
                "DeleteRole" => none(e::delete_role(i, ctx, input).await),
                "TagRole" => none(e::tag::<RoleRecord>(i, ctx, input, "RoleName", true).await),
                "UntagRole" => none(e::tag::<RoleRecord>(i, ctx, input, "RoleName", false).await),
                "ListRoleTags" => e::list_tags::<RoleRecord>(i, ctx, input, "RoleName").await,
                "PutRolePermissionsBoundary" => {
                    none(e::put_boundary::<RoleRecord>(i, ctx, input, "RoleName", true).await)
                }
                "DeleteRolePermissionsBoundary" => {
                    none(e::put_boundary::<RoleRecord>(i, ctx, input, "RoleName", false).await)
                }
                "PutRolePolicy" => none(e::put_inline::<RoleRecord>(i, ctx, input, "RoleName").await),
                "GetRolePolicy" => e::get_inline::<RoleRecord>(i, ctx, input, "RoleName").await,
                "ListRolePolicies" => e::list_inline::<RoleRecord>(i, ctx, input, "RoleName").await,
                "DeleteRolePolicy" => none(e::delete_inline::<RoleRecord>(i, ctx, input, "RoleName").await),
                "AttachRolePolicy" => none(e::attach::<RoleRecord>(i, ctx, input, "RoleName").await),
                "DetachRolePolicy" => none(e::detach::<RoleRecord>(i, ctx, input, "RoleName").await),
                "ListAttachedRolePolicies" => e::list_attached::<RoleRecord>(i, ctx, input, "RoleName").await,

                "CreatePolicy" => policies::create(i, ctx, input).await,
                "GetPolicy" => policies::get(i, ctx, input).await,
                "ListPolicies" => policies::list(i, ctx, input).await,
                "DeletePolicy" => none(policies::delete(i, ctx, input).await),
                "CreatePolicyVersion" => policies::create_version(i, ctx, input).await,
                "GetPolicyVersion" => policies::get_version(i, ctx, input).await,
                "ListPolicyVersions" => policies::list_versions(i, ctx, input).await,
                "DeletePolicyVersion" => none(policies::delete_version(i, ctx, input).await),
                "SetDefaultPolicyVersion" => none(policies::set_default(i, ctx, input).await),
                "TagPolicy" => none(policies::tag(i, ctx, input, true).await),
                "UntagPolicy" => none(policies::tag(i, ctx, input, false).await),
                "ListPolicyTags" => policies::list_tags(i, ctx, input).await,
                "ListEntitiesForPolicy" => policies::list_entities(i, ctx, input).await,

                "GetAccountAuthorizationDetails" => details::get(i, ctx, input).await,
                "SimulatePrincipalPolicy" => simulate::principal(i, ctx, input).await,
                "SimulateCustomPolicy" => simulate::custom(ctx, input).await,

                "CreateAccessKey" => access_keys::create(i, ctx, input).await,
                "ListAccessKeys" => access_keys::list(i, ctx, input).await,
                "UpdateAccessKey" => none(access_keys::update(i, ctx, input).await),
                "DeleteAccessKey" => none(access_keys::delete(i, ctx, input).await),
                "GetAccessKeyLastUsed" => access_keys::last_used(i, ctx, input).await,

                "CreateOpenIDConnectProvider" => oidc::create(i, ctx, input).await,
                "GetOpenIDConnectProvider" => oidc::get(i, ctx, input).await,
                "ListOpenIDConnectProviders" => oidc::list(i, ctx).await,
                "DeleteOpenIDConnectProvider" => none(oidc::delete(i, ctx, input).await),
                "AddClientIDToOpenIDConnectProvider" => none(oidc::add_client_id(i, ctx, input).await),
                "RemoveClientIDFromOpenIDConnectProvider" => none(oidc::remove_client_id(i, ctx, input).await),
                "UpdateOpenIDConnectProviderThumbprint" => none(oidc::update_thumbprints(i, ctx, input).await),
                "TagOpenIDConnectProvider" => none(oidc::tag(i, ctx, input, true).await),
                "UntagOpenIDConnectProvider" => none(oidc::tag(i, ctx, input, false).await),
                "ListOpenIDConnectProviderTags" => oidc::list_tags(i, ctx, input).await,

                "CreateServiceSpecificCredential" => service_credentials::create(i, ctx, input).await,
                "ListServiceSpecificCredentials" => service_credentials::list(i, ctx, input).await,
                "ResetServiceSpecificCredential" => service_credentials::reset(i, ctx, input).await,
                "UpdateServiceSpecificCredential" => none(service_credentials::update(i, ctx, input).await),
                "DeleteServiceSpecificCredential" => none(service_credentials::delete(i, ctx, input).await),
                other => Err(errors::unsupported("IAM", other)),
            }
        })
    }

    fn checks(&self) -> Checks {
        Checks { enums: true, ranges: true }
    }

    fn validation_error(&self, _op: &Operation, failure: &ValidationFailure, _wire: Wire) -> AwsError {
        validation_error(failure)
    }
}

impl Service for Sts {
    fn model(&self) -> &ServiceModel {
        self.model
    }

    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        op: &'a Operation,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, AwsError>> {
        Box::pin(async move {
            let i = &*self.inner;
            match op.name.as_str() {
                "GetCallerIdentity" => sts::get_caller_identity(i, ctx).await,
                "AssumeRole" => sts::assume_role(i, ctx, input).await,
                "AssumeRoleWithWebIdentity" => oidc::assume_role_with_web_identity(i, ctx, input).await,
                "GetSessionToken" => sts::get_session_token(i, ctx, input).await,
                "GetAccessKeyInfo" => sts::get_access_key_info(i, ctx, input).await,
                other => Err(errors::unsupported("STS", other)),
            }
        })
    }

    fn checks(&self) -> Checks {
        Checks { enums: true, ranges: true }
    }

    fn validation_error(&self, _op: &Operation, failure: &ValidationFailure, _wire: Wire) -> AwsError {
        validation_error(failure)
    }
}
