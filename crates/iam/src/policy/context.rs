//! The request context: condition keys and their values.
//!
//! Keys are case-insensitive (AWS: "condition key names are not case-sensitive"), so they are
//! stored folded to lower case and policies fold theirs when parsed. Keys about the caller
//! (`aws:username`, `aws:userid`, `aws:PrincipalArn`, `aws:PrincipalAccount`,
//! `aws:PrincipalType`, `aws:PrincipalTag/*`, ...) need not be inserted: when the context lacks
//! them they are derived from the request's [`Caller`](super::Caller).

use std::collections::HashMap;

use super::Request;
use super::principal::CallerKind;

/// Condition keys (case-insensitive) and their values; a key with several values is a
/// multivalued key (`aws:TagKeys`), for the `ForAllValues:`/`ForAnyValue:` operators.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    values: HashMap<String, Vec<String>>,
}

/// A value as IAM compares it: an ARN of any partition read as an `aws` one (no copy otherwise).
fn canonical(value: String) -> String {
    if let std::borrow::Cow::Owned(c) = stratus_core::canonical_arn(&value) { c } else { value }
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to the single `value`, replacing what it had.
    pub fn insert(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.values.insert(key.to_lowercase(), vec![canonical(value.into())]);
        self
    }

    /// Sets `key` to `values` (possibly several, possibly none), replacing what it had.
    pub fn insert_all<I, S>(&mut self, key: &str, values: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let values = values.into_iter().map(|v| canonical(v.into())).collect();
        self.values.insert(key.to_lowercase(), values);
        self
    }

    pub fn remove(&mut self, key: &str) -> Option<Vec<String>> {
        self.values.remove(&key.to_lowercase())
    }

    /// The values of `key` (any case).
    pub fn get(&self, key: &str) -> Option<&[String]> {
        if key.chars().any(char::is_uppercase) { self.get_folded(&key.to_lowercase()) } else { self.get_folded(key) }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn get_folded(&self, key: &str) -> Option<&[String]> {
        self.values.get(key).map(Vec::as_slice)
    }
}

/// The values a condition key has in a request, borrowed from the context or the caller.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Values<'a> {
    Absent,
    One(&'a str),
    Many(&'a [String]),
}

impl<'a> Values<'a> {
    pub fn len(&self) -> usize {
        match self {
            Self::Absent => 0,
            Self::One(_) => 1,
            Self::Many(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Self::Absent => None,
            Self::One(v) => (i == 0).then_some(*v),
            Self::Many(v) => v.get(i).map(String::as_str),
        }
    }

    /// The value of a single-valued key; `None` when absent or multivalued (AWS: multivalued
    /// keys cannot be policy variables).
    pub fn single(&self) -> Option<&'a str> {
        (self.len() == 1).then(|| self.get(0)).flatten()
    }
}

/// The values of `key` (already lower case) in the request: the context's, else derived from
/// the caller.
pub(crate) fn lookup<'a>(req: &Request<'a>, key: &str) -> Values<'a> {
    let context: &'a super::Context = req.context;
    if let Some(v) = context.get_folded(key) {
        return Values::Many(v);
    }
    let caller: &'a super::Caller = req.principal;
    let one = |v: Option<&'a str>| v.map_or(Values::Absent, Values::One);
    if let Some(tag) = key.strip_prefix("aws:principaltag/") {
        return one(caller.tags.iter().find(|(k, _)| k.eq_ignore_ascii_case(tag)).map(|(_, v)| v.as_str()));
    }
    let authenticated = !matches!(caller.kind, CallerKind::Anonymous | CallerKind::Service(_));
    match key {
        "aws:username" => one(caller.username.as_deref()),
        "aws:userid" if !caller.user_id.is_empty() => Values::One(&caller.user_id),
        "aws:principalarn" if authenticated => Values::One(caller.role_arn.as_deref().unwrap_or(caller.arn.as_str())),
        "aws:principalaccount" if authenticated && !caller.account.is_empty() => Values::One(&caller.account),
        "aws:principaltype" => one(match caller.kind {
            CallerKind::Root => Some("Account"),
            CallerKind::User => Some("User"),
            CallerKind::AssumedRole => Some("AssumedRole"),
            CallerKind::FederatedUser => Some("FederatedUser"),
            CallerKind::Anonymous => Some("Anonymous"),
            CallerKind::Service(_) | CallerKind::IdentityProvider(_) => None,
        }),
        "aws:principalisawsservice" => {
            Values::One(if matches!(caller.kind, CallerKind::Service(_)) { "true" } else { "false" })
        }
        "aws:principalservicename" => match &caller.kind {
            CallerKind::Service(name) => Values::One(name),
            _ => Values::Absent,
        },
        _ => Values::Absent,
    }
}
