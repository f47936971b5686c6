//! AWS's evaluation flow for one request across the policy types that apply to it (IAM User
//! Guide: "Policy evaluation logic", "Policy evaluation for requests within a single account",
//! "Cross-account policy evaluation logic"). Organizations SCPs/RCPs and VPC endpoint policies
//! are not modelled.
//!
//! 1. An explicit `Deny` in any applicable policy denies.
//! 2. The account's root user is allowed in its own account (identity policies cannot restrict
//!    it); elsewhere the resource policy must allow it.
//! 3. Service principals, identity providers and anonymous callers are allowed only by the
//!    resource policy.
//! 4. Same account: the identity policies or the resource policy must allow. A resource policy
//!    naming the caller itself (user ARN, session ARN, `*`) allows on its own, unlimited by the
//!    permissions boundary and session policies; one naming the role of a session grants like an
//!    identity policy, so the boundary and session policies limit it; one naming the account
//!    delegates to the identity policies. A role trust policy must allow in every case.
//! 5. Cross-account: the caller's side (identity policies, boundary, session policies) and the
//!    resource policy must both allow.

use super::principal::{CallerKind, Grade};
use super::{Outcome, Policy, PolicyKind, Request};

/// The final answer for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// The policy types named in AWS's access-denied messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    Identity,
    Resource,
    Boundary,
    Session,
}

/// Why a request was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Denial {
    /// A `Deny` statement of this policy type applies.
    ExplicitDeny(PolicyType),
    /// No policy of this type allows the request.
    NoAllow(PolicyType),
}

impl Denial {
    pub fn decision(&self) -> Decision {
        match self {
            Self::ExplicitDeny(_) => Decision::ExplicitDeny,
            Self::NoAllow(_) => Decision::ImplicitDeny,
        }
    }

    pub fn policy_type(&self) -> PolicyType {
        match self {
            Self::ExplicitDeny(t) | Self::NoAllow(t) => *t,
        }
    }

    /// The end of AWS's access-denied message: `because no identity-based policy allows the
    /// sqs:SendMessage action`, `with an explicit deny in a resource-based policy`, ...
    pub fn message_suffix(&self, action: &str) -> String {
        match self {
            Self::ExplicitDeny(t) => format!(
                "with an explicit deny in {}",
                match t {
                    PolicyType::Identity => "an identity-based policy",
                    PolicyType::Resource => "a resource-based policy",
                    PolicyType::Boundary => "a permissions boundary",
                    PolicyType::Session => "a session policy",
                }
            ),
            Self::NoAllow(t) => format!(
                "because no {} allows the {action} action",
                match t {
                    PolicyType::Identity => "identity-based policy",
                    PolicyType::Resource => "resource-based policy",
                    PolicyType::Boundary => "permissions boundary",
                    PolicyType::Session => "session policy",
                }
            ),
        }
    }
}

/// AWS's access-denied message: `User: ARN is not authorized to perform: ACTION on resource:
/// RESOURCE because no identity-based policy allows the ACTION action`.
pub fn access_denied_message(caller_arn: &str, action: &str, resource: &str, denial: Denial) -> String {
    format!(
        "User: {caller_arn} is not authorized to perform: {action} on resource: {resource} {}",
        denial.message_suffix(action)
    )
}

/// A decision with the reason for a denial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Verdict {
    pub decision: Decision,
    /// `None` exactly when the decision is `Allow`.
    pub denial: Option<Denial>,
}

impl Verdict {
    const ALLOW: Verdict = Verdict { decision: Decision::Allow, denial: None };

    fn deny(denial: Denial) -> Verdict {
        Verdict { decision: denial.decision(), denial: Some(denial) }
    }

    pub fn is_allowed(&self) -> bool {
        self.decision == Decision::Allow
    }

    pub fn reason(&self) -> Option<Denial> {
        self.denial
    }
}

/// Everything [`decide`] looks at for one request.
#[derive(Debug, Clone, Copy)]
pub struct Decide<'a> {
    pub request: &'a Request<'a>,
    /// Identity-based policies (inline and managed; the user's and its groups', or the role's).
    pub identity: &'a [&'a Policy],
    /// The resource's policy, if any (a role's trust policy for `sts:AssumeRole`).
    pub resource: Option<&'a Policy>,
    /// The account owning the resource; `None` = the caller's account.
    pub resource_account: Option<&'a str>,
    /// The permissions boundary, if set (an empty slice counts as none).
    pub boundary: Option<&'a [&'a Policy]>,
    /// Session policies (AssumeRole `Policy`/`PolicyArns`), if any (an empty slice counts as none).
    pub session: Option<&'a [&'a Policy]>,
}

/// AWS's evaluation flow for one request.
pub fn decide(input: &Decide<'_>) -> Decision {
    explain(input).decision
}

/// [`decide`], with the reason for a denial (for AWS's access-denied message).
pub fn explain(input: &Decide<'_>) -> Verdict {
    let req = input.request;
    let caller = req.principal;
    let resource = input.resource.map(|p| p.outcome(req)).unwrap_or_default();
    let trust = input.resource.is_some_and(|p| p.kind() == PolicyKind::Trust);

    // Callers outside any account's IAM: only the resource policy speaks.
    if matches!(caller.kind, CallerKind::Service(_) | CallerKind::IdentityProvider(_) | CallerKind::Anonymous) {
        return if resource.deny {
            Verdict::deny(Denial::ExplicitDeny(PolicyType::Resource))
        } else if resource.allow.is_some() {
            Verdict::ALLOW
        } else {
            Verdict::deny(Denial::NoAllow(PolicyType::Resource))
        };
    }

    let same_account = input.resource_account.is_none_or(|a| a == caller.account);
    if caller.kind == CallerKind::Root {
        return if resource.deny {
            Verdict::deny(Denial::ExplicitDeny(PolicyType::Resource))
        } else if (same_account && !trust) || resource.allow.is_some() {
            Verdict::ALLOW
        } else {
            Verdict::deny(Denial::NoAllow(PolicyType::Resource))
        };
    }

    let identity = combine(input.identity.iter().copied(), req);
    let boundary = input.boundary.filter(|b| !b.is_empty()).map(|b| combine(b.iter().copied(), req));
    let session = input.session.filter(|s| !s.is_empty()).map(|s| combine(s.iter().copied(), req));

    if identity.deny {
        return Verdict::deny(Denial::ExplicitDeny(PolicyType::Identity));
    }
    if resource.deny {
        return Verdict::deny(Denial::ExplicitDeny(PolicyType::Resource));
    }
    if boundary.is_some_and(|b| b.deny) {
        return Verdict::deny(Denial::ExplicitDeny(PolicyType::Boundary));
    }
    if session.is_some_and(|s| s.deny) {
        return Verdict::deny(Denial::ExplicitDeny(PolicyType::Session));
    }

    let boundary_allows = boundary.is_none_or(|b| b.allow.is_some());
    let session_allows = session.is_none_or(|s| s.allow.is_some());
    let identity_allows = identity.allow.is_some();

    if same_account {
        if resource.allow == Some(Grade::Direct) {
            return Verdict::ALLOW;
        }
        if trust && resource.allow.is_none() {
            return Verdict::deny(Denial::NoAllow(PolicyType::Resource));
        }
        if !identity_allows && resource.allow != Some(Grade::Role) {
            return Verdict::deny(Denial::NoAllow(PolicyType::Identity));
        }
    } else if !identity_allows {
        return Verdict::deny(Denial::NoAllow(PolicyType::Identity));
    }
    if !boundary_allows {
        return Verdict::deny(Denial::NoAllow(PolicyType::Boundary));
    }
    if !session_allows {
        return Verdict::deny(Denial::NoAllow(PolicyType::Session));
    }
    if !same_account && resource.allow.is_none() {
        return Verdict::deny(Denial::NoAllow(PolicyType::Resource));
    }
    Verdict::ALLOW
}

/// Several policies of one type: a deny in any, the strongest allow of all.
fn combine<'p>(policies: impl Iterator<Item = &'p Policy>, req: &Request<'_>) -> Outcome {
    let mut out = Outcome::default();
    for policy in policies {
        let o = policy.outcome(req);
        if o.deny {
            return Outcome { deny: true, allow: out.allow };
        }
        out.allow = out.allow.max(o.allow);
    }
    out
}
