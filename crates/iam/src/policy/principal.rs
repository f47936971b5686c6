//! Who calls ([`Caller`]) and the `Principal`/`NotPrincipal` element of resource and trust
//! policies.
//!
//! Matching (IAM User Guide, "AWS JSON policy elements: Principal"):
//! - `"*"` and `{"AWS": "*"}` (documented as equivalent): everyone, anonymous callers included.
//! - an account id or `arn:aws:iam::ACCOUNT:root`: any principal of that account. Within the
//!   account this delegates to its identity policies (see [`Grade::Account`]).
//! - a user, assumed-role session or federated-user ARN: that principal exactly.
//! - a role ARN: the sessions of that role.
//! - `{"Service": ...}`, `{"Federated": ...}`: that service, that identity provider.
//! - `NotPrincipal`: everyone except principals listed with *all* their identities (a session
//!   is excluded only if its session ARN, its role ARN and its account are all listed).

/// What kind of principal makes a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CallerKind {
    /// The account's root user.
    Root,
    User,
    /// A role session (AssumeRole).
    AssumedRole,
    /// A GetFederationToken session.
    FederatedUser,
    /// An AWS service acting on a resource policy's grant, e.g. `lambda.amazonaws.com`.
    Service(String),
    /// A web identity or SAML provider (matched by `{"Federated": ...}` in trust policies),
    /// e.g. `cognito-identity.amazonaws.com` or a `saml-provider` ARN.
    IdentityProvider(String),
    /// An unsigned request.
    Anonymous,
}

/// The principal making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `arn:aws:iam::123456789012:user/alice`, `...:assumed-role/R/session`, `...:root`.
    pub arn: String,
    pub account: String,
    pub kind: CallerKind,
    /// `aws:userid`: `AIDA...`, `AROA...:session`, the account id for root.
    pub user_id: String,
    /// `aws:username` (users only).
    pub username: Option<String>,
    /// `aws:PrincipalTag/*`.
    pub tags: Vec<(String, String)>,
    /// For an assumed role: the role's ARN (`arn:aws:iam::ACCOUNT:role/path/R`). A policy naming
    /// the role matches its sessions.
    pub role_arn: Option<String>,
}

impl Caller {
    pub fn root(account: &str) -> Caller {
        Caller {
            arn: format!("arn:aws:iam::{account}:root"),
            account: account.to_string(),
            kind: CallerKind::Root,
            user_id: account.to_string(),
            username: None,
            tags: Vec::new(),
            role_arn: None,
        }
    }

    /// An IAM user; `path` is `/` or `/a/b/`.
    pub fn user(account: &str, path: &str, name: &str, user_id: &str) -> Caller {
        Caller {
            arn: format!("arn:aws:iam::{account}:user{path}{name}"),
            account: account.to_string(),
            kind: CallerKind::User,
            user_id: user_id.to_string(),
            username: Some(name.to_string()),
            tags: Vec::new(),
            role_arn: None,
        }
    }

    /// A session of role `name` (path `/` or `/a/b/`); `role_id` is the role's `AROA...` id.
    pub fn assumed_role(account: &str, path: &str, name: &str, session: &str, role_id: &str) -> Caller {
        Caller {
            arn: format!("arn:aws:sts::{account}:assumed-role/{name}/{session}"),
            account: account.to_string(),
            kind: CallerKind::AssumedRole,
            user_id: format!("{role_id}:{session}"),
            username: None,
            tags: Vec::new(),
            role_arn: Some(format!("arn:aws:iam::{account}:role{path}{name}")),
        }
    }

    /// An AWS service principal, e.g. `sns.amazonaws.com`.
    pub fn service(name: &str) -> Caller {
        Caller {
            arn: name.to_string(),
            account: String::new(),
            kind: CallerKind::Service(name.to_string()),
            user_id: name.to_string(),
            username: None,
            tags: Vec::new(),
            role_arn: None,
        }
    }

    pub fn anonymous() -> Caller {
        Caller {
            arn: "anonymous".to_string(),
            account: String::new(),
            kind: CallerKind::Anonymous,
            user_id: "anonymous".to_string(),
            username: None,
            tags: Vec::new(),
            role_arn: None,
        }
    }

    /// A principal of an account (not a service, provider or anonymous caller).
    fn in_account(&self) -> bool {
        matches!(self.kind, CallerKind::Root | CallerKind::User | CallerKind::AssumedRole | CallerKind::FederatedUser)
    }
}

/// How specifically an `Allow` in a resource policy names the caller; decides whether the grant
/// stands on its own within the account (IAM User Guide, "Policy evaluation for requests within
/// a single account").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grade {
    /// The caller's account (id or root ARN): within the account, a delegation to its identity
    /// policies, not a grant by itself.
    Account,
    /// The role whose session calls: a grant, but limited by the role's permissions boundary and
    /// the session policies.
    Role,
    /// The caller itself (user, session, service, `*`): a grant that neither the permissions
    /// boundary nor session policies limit.
    Direct,
}

/// One `AWS` entry of a `Principal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AwsPrincipal {
    Everyone,
    Account(Box<str>),
    /// A user, role, session or federated-user ARN, or a unique id.
    Arn(Box<str>),
}

impl AwsPrincipal {
    /// Parses one `AWS` value; `None` if it is not a valid principal.
    pub fn parse(value: &str) -> Option<AwsPrincipal> {
        if value == "*" {
            return Some(Self::Everyone);
        }
        if is_account_id(value) {
            return Some(Self::Account(value.into()));
        }
        if let Some(rest) = value.strip_prefix("arn:") {
            if value.contains(['*', '?']) {
                return None;
            }
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [partition, service, region, account, resource] = parts.as_slice() else { return None };
            if !partition.starts_with("aws") || !region.is_empty() || !is_account_id(account) || resource.is_empty() {
                return None;
            }
            return match (*service, *resource) {
                ("iam", "root") => Some(Self::Account((*account).into())),
                ("iam", r) if r.starts_with("user/") || r.starts_with("role/") => Some(Self::Arn(value.into())),
                ("sts", r) if r.starts_with("assumed-role/") || r.starts_with("federated-user/") => {
                    Some(Self::Arn(value.into()))
                }
                _ => None,
            };
        }
        // A unique id (AIDA..., AROA...), as AWS shows principals that were deleted.
        let unique_id = value.len() >= 16 && value.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        unique_id.then(|| Self::Arn(value.into()))
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A parsed `Principal`/`NotPrincipal` element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PrincipalSpec {
    /// `"Principal": "*"`.
    pub everyone: bool,
    pub aws: Vec<AwsPrincipal>,
    pub services: Vec<Box<str>>,
    pub federated: Vec<Box<str>>,
    pub canonical: Vec<Box<str>>,
}

impl PrincipalSpec {
    /// How the element names `caller`, if it does.
    pub fn grade(&self, caller: &Caller) -> Option<Grade> {
        if self.everyone {
            return Some(Grade::Direct);
        }
        let mut best: Option<Grade> = None;
        let mut raise = |g: Grade| best = Some(best.map_or(g, |b| b.max(g)));
        for p in &self.aws {
            match p {
                AwsPrincipal::Everyone => return Some(Grade::Direct),
                AwsPrincipal::Account(a) if caller.in_account() && caller.account == **a => {
                    raise(if caller.kind == CallerKind::Root { Grade::Direct } else { Grade::Account })
                }
                AwsPrincipal::Arn(arn) if caller.in_account() => {
                    if caller.arn == **arn {
                        return Some(Grade::Direct);
                    }
                    if caller.role_arn.as_deref() == Some(&**arn) {
                        raise(Grade::Role);
                    }
                }
                _ => {}
            }
        }
        match &caller.kind {
            CallerKind::Service(s) if self.services.iter().any(|x| x.eq_ignore_ascii_case(s)) => {
                return Some(Grade::Direct);
            }
            CallerKind::IdentityProvider(p) if self.federated.iter().any(|x| **x == **p) => {
                return Some(Grade::Direct);
            }
            _ => {}
        }
        best
    }

    /// `NotPrincipal`: whether the element lists the caller with all its identities, so that a
    /// `NotPrincipal` statement does not apply to it.
    pub fn excludes(&self, caller: &Caller) -> bool {
        if self.everyone || self.aws.contains(&AwsPrincipal::Everyone) {
            return true;
        }
        let lists_arn = |arn: &str| self.aws.iter().any(|p| matches!(p, AwsPrincipal::Arn(a) if **a == *arn));
        let lists_account = || self.aws.iter().any(|p| matches!(p, AwsPrincipal::Account(a) if **a == *caller.account));
        match &caller.kind {
            CallerKind::Root => lists_account(),
            CallerKind::User | CallerKind::FederatedUser => lists_arn(&caller.arn) && lists_account(),
            CallerKind::AssumedRole => {
                lists_arn(&caller.arn) && caller.role_arn.as_deref().is_some_and(lists_arn) && lists_account()
            }
            CallerKind::Service(s) => self.services.iter().any(|x| x.eq_ignore_ascii_case(s)),
            CallerKind::IdentityProvider(p) => self.federated.iter().any(|x| **x == **p),
            CallerKind::Anonymous => false,
        }
    }
}
