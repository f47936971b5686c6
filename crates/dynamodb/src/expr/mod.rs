//! The expression language: ConditionExpression, FilterExpression, KeyConditionExpression,
//! ProjectionExpression and UpdateExpression, parsed and checked once (with DynamoDB's
//! ValidationException messages, verbatim) and then evaluated against items.
//!
//! - [`lexer`] and [`parse`] follow DynamoDB's expression grammar and build raw trees;
//! - [`check`] makes DynamoDB's semantic checks in its order and substitutes the request's
//!   [`Placeholders`];
//! - [`eval`] evaluates conditions, [`update`] applies updates, [`project`] projects items,
//!   [`keycond`] turns a key condition into partition and sort conditions.

mod ast;
mod check;
mod check_update;
mod eval;
mod keycond;
mod lexer;
mod parse;
mod placeholders;
mod project;
mod reserved;
mod update;

#[cfg(test)]
mod tests;

use std::fmt;

pub use keycond::{KeyCondition, SortCondition};
pub use placeholders::Placeholders;
pub use project::Projection;
pub use update::Update;

use crate::value::Item;

/// The longest expression DynamoDB accepts, in bytes.
pub const MAX_EXPRESSION_BYTES: usize = 4096;

/// Always a ValidationException; the message is DynamoDB's, verbatim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    pub message: String,
}

impl ExprError {
    pub(crate) fn new(message: impl Into<String>) -> ExprError {
        ExprError { message: message.into() }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExprError {}

/// Which request parameter an expression came from; it names the message prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExprKind {
    Condition,
    Filter,
    KeyCondition,
    Projection,
    Update,
}

impl ExprKind {
    fn parameter(self) -> &'static str {
        match self {
            ExprKind::Condition => "ConditionExpression",
            ExprKind::Filter => "FilterExpression",
            ExprKind::KeyCondition => "KeyConditionExpression",
            ExprKind::Projection => "ProjectionExpression",
            ExprKind::Update => "UpdateExpression",
        }
    }

    /// `Invalid <Parameter>: <detail>`.
    pub(crate) fn invalid(self, detail: impl fmt::Display) -> ExprError {
        ExprError::new(format!("Invalid {}: {detail}", self.parameter()))
    }
}

/// A checked condition (ConditionExpression or FilterExpression).
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    cond: ast::Cond,
}

impl Condition {
    /// Whether the condition holds for `item` (pass an empty item for one that does not exist).
    pub fn eval(&self, item: &Item) -> Result<bool, ExprError> {
        Ok(eval::holds(&self.cond, item))
    }

    /// Top-level attribute names the condition reads (a Query's filter may not name key
    /// attributes; the caller words that refusal).
    pub fn top_level_names(&self) -> Vec<String> {
        let mut paths = Vec::new();
        self.cond.for_each_path(&mut |p| paths.push(p));
        ast::top_level_names(paths)
    }
}

/// The checks every expression gets before it is parsed.
fn check_size(text: &str, kind: ExprKind) -> Result<(), ExprError> {
    if text.is_empty() {
        return Err(kind.invalid("The expression can not be empty;"));
    }
    if text.len() > MAX_EXPRESSION_BYTES {
        return Err(kind.invalid(format!(
            "Expression size has exceeded the maximum allowed size; expression size: {}",
            text.len()
        )));
    }
    Ok(())
}

/// Parses and checks a ConditionExpression or FilterExpression (`kind` names the message prefix).
pub fn parse_condition(text: &str, kind: ExprKind, p: &mut Placeholders) -> Result<Condition, ExprError> {
    check_size(text, kind)?;
    let raw = parse::Parser::new(text, kind).parse_condition()?;
    Ok(Condition { cond: check::check_condition(&raw, kind, p)? })
}

/// Parses and checks a ProjectionExpression.
pub fn parse_projection(text: &str, p: &mut Placeholders) -> Result<Projection, ExprError> {
    check_size(text, ExprKind::Projection)?;
    let raw = parse::Parser::new(text, ExprKind::Projection).parse_projection()?;
    Ok(Projection { paths: check::check_projection(&raw, p)? })
}

/// Parses and checks an UpdateExpression.
pub fn parse_update(text: &str, p: &mut Placeholders) -> Result<Update, ExprError> {
    check_size(text, ExprKind::Update)?;
    let raw = parse::Parser::new(text, ExprKind::Update).parse_update()?;
    Ok(Update { actions: check_update::check_update(&raw, p)? })
}

/// Parses and checks a KeyConditionExpression: the partition key's equality and at most one
/// other condition. When both are equalities the first written is taken as the partition key's
/// (see [`KeyCondition::with_partition_key`]).
pub fn parse_key_condition(text: &str, p: &mut Placeholders) -> Result<KeyCondition, ExprError> {
    keycond::into_key_condition(parse_key_condition_parts(text, p)?)
}

/// Parses and checks a KeyConditionExpression into its conditions, in the order written, for a
/// caller that checks them against the key schema itself (equalities are `SortCondition::Eq`).
pub fn parse_key_condition_parts(text: &str, p: &mut Placeholders) -> Result<Vec<(String, SortCondition)>, ExprError> {
    let kind = ExprKind::KeyCondition;
    check_size(text, kind)?;
    let raw = parse::Parser::new(text, kind).parse_condition()?;
    let cond = check::check_condition(&raw, kind, p)?;
    keycond::key_conditions(&cond)
}
