//! The IAM policy language: parsing, validation and evaluation.
//!
//! A policy document is parsed and validated once ([`Policy::parse`], with AWS's
//! `MalformedPolicyDocument` messages) into a compiled form: wildcard patterns are split into
//! pieces, condition values are parsed into numbers, dates, CIDR blocks and ARN segments, and
//! context keys are folded to lower case. Evaluation ([`Policy::evaluate`], [`decide`]) then runs
//! per request without parsing and, for policies without policy variables, without allocating.
//!
//! - `parse`: the JSON grammar and AWS's validation rules, per [`PolicyKind`].
//! - `pattern`: `*`/`?` wildcards and `${...}` policy variables.
//! - `condition`: every condition operator, `...IfExists`, `ForAllValues:`/`ForAnyValue:`.
//! - `principal`: who calls ([`Caller`]) and the `Principal`/`NotPrincipal` element.
//! - `context`: the request context ([`Context`]) and the keys derived from the caller.
//! - `decide`: AWS's evaluation flow across identity, resource, boundary and session policies.
//!
//! Sources: the IAM User Guide pages "IAM JSON policy elements", "Condition operators",
//! "IAM policy elements: Variables and tags", "Policy evaluation logic" (single account and
//! cross-account), "Troubleshoot access denied error messages".

mod condition;
mod context;
mod decide;
mod parse;
mod pattern;
mod principal;

#[cfg(test)]
mod tests;

use std::fmt;

pub use context::Context;
pub use decide::{Decide, Decision, Denial, PolicyType, Verdict, access_denied_message, decide, explain};
pub use principal::{Caller, CallerKind};

use condition::Condition;
use context::lookup;
use pattern::{Pattern, VarSource};
use principal::{Grade, PrincipalSpec};

/// Where a policy document is attached; decides which elements it must and must not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Attached to a user, group or role (inline or managed). No `Principal`; needs `Resource`.
    Identity,
    /// Attached to a resource (queue, topic, bucket, function). Needs `Principal`.
    Resource,
    /// A role's trust policy. Needs `Principal`; no `Resource`; only STS actions.
    Trust,
    /// A permissions boundary (identity-like).
    Boundary,
    /// A session policy passed to AssumeRole / GetFederationToken (identity-like).
    Session,
}

impl PolicyKind {
    fn is_identity_like(self) -> bool {
        matches!(self, Self::Identity | Self::Boundary | Self::Session)
    }
}

/// A policy document AWS refuses, with the message of its `MalformedPolicyDocument` error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub message: String,
}

impl PolicyError {
    fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PolicyError {}

/// The policy language version (`Version` element).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
    /// `2008-10-17`: `${...}` is literal text.
    V2008_10_17,
    /// No `Version` element; treated as `2008-10-17`.
    Missing,
}

/// What one policy (or one statement) says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
    /// No statement applies to the request.
    NotApplicable,
}

/// One request to authorize.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Who calls.
    pub principal: &'a Caller,
    /// The IAM action, e.g. `sqs:SendMessage`.
    pub action: &'a str,
    /// The resource's ARN, or `*` when the action has no resource.
    pub resource: &'a str,
    /// Condition keys and their values.
    pub context: &'a Context,
}

impl VarSource for Request<'_> {
    fn resolve(&self, key: &str) -> Option<&str> {
        lookup(self, key).single()
    }
}

/// A parsed, validated and compiled policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    kind: PolicyKind,
    version: Version,
    id: Option<String>,
    statements: Vec<Statement>,
}

#[derive(Debug, Clone)]
struct Statement {
    sid: Option<String>,
    /// `Allow` or `Deny`.
    effect: Effect,
    principal: Option<PrincipalElement>,
    actions: PatternList,
    /// `None` when the statement has neither `Resource` nor `NotResource` (resource and trust
    /// policies: the resource the policy is attached to).
    resources: Option<PatternList>,
    conditions: Vec<Condition>,
}

#[derive(Debug, Clone)]
struct PrincipalElement {
    spec: PrincipalSpec,
    /// `NotPrincipal`.
    negated: bool,
}

/// `Action`/`NotAction` or `Resource`/`NotResource`.
#[derive(Debug, Clone)]
struct PatternList {
    negated: bool,
    patterns: Vec<Pattern>,
}

impl PatternList {
    fn matches(&self, text: &str, fold: bool, vars: &dyn VarSource) -> bool {
        let hit = self.patterns.iter().any(|p| p.matches(text, fold, vars));
        hit != self.negated
    }
}

/// The combined result of one policy's statements, as [`decide`] needs it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Outcome {
    pub deny: bool,
    /// The strongest way an `Allow` statement named the caller (identity policies: `Direct`).
    pub allow: Option<Grade>,
}

impl Statement {
    /// Whether the statement applies to the request, and how specifically it names the caller.
    fn applies(&self, req: &Request<'_>) -> Option<Grade> {
        if !self.actions.matches(req.action, true, req) {
            return None;
        }
        if let Some(resources) = &self.resources
            && !resources.matches(&stratus_core::canonical_arn(req.resource), false, req)
        {
            return None;
        }
        let grade = match &self.principal {
            None => Grade::Direct,
            Some(p) if p.negated => {
                if p.spec.excludes(req.principal) {
                    return None;
                }
                Grade::Direct
            }
            Some(p) => p.spec.grade(req.principal)?,
        };
        if !self.conditions.iter().all(|c| c.evaluate(req)) {
            return None;
        }
        Some(grade)
    }
}

impl Policy {
    /// Parses and validates a policy document (JSON text) as AWS does on write.
    ///
    /// A missing `Version` is accepted (as AWS does for inline, resource and trust policies);
    /// use [`Policy::parse_managed`] for `CreatePolicy`/`CreatePolicyVersion`.
    pub fn parse(document: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        parse::parse(document, kind, false)
    }

    /// Parses a managed policy document (`CreatePolicy`, `CreatePolicyVersion`): an identity
    /// policy that must also say `"Version": "2012-10-17"`.
    pub fn parse_managed(document: &str) -> Result<Policy, PolicyError> {
        parse::parse(document, PolicyKind::Identity, true)
    }

    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// The `Id` element.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The statements' `Sid`s, in order (`None` where a statement has none).
    pub fn sids(&self) -> impl Iterator<Item = Option<&str>> {
        self.statements.iter().map(|s| s.sid.as_deref())
    }

    /// Statement-level evaluation of this one policy against a request: `Deny` if any statement
    /// that applies denies, else `Allow` if any allows, else `NotApplicable`.
    pub fn evaluate(&self, req: &Request<'_>) -> Effect {
        let outcome = self.outcome(req);
        if outcome.deny {
            Effect::Deny
        } else if outcome.allow.is_some() {
            Effect::Allow
        } else {
            Effect::NotApplicable
        }
    }

    pub(crate) fn outcome(&self, req: &Request<'_>) -> Outcome {
        let mut out = Outcome::default();
        for statement in &self.statements {
            let Some(grade) = statement.applies(req) else { continue };
            if statement.effect == Effect::Deny {
                out.deny = true;
                return out;
            }
            out.allow = Some(out.allow.map_or(grade, |g| g.max(grade)));
        }
        out
    }
}
