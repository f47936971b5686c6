//! Key conditions: the restrictions DynamoDB puts on a KeyConditionExpression beyond those of
//! any condition (AND only; `=`, `<`, `<=`, `>`, `>=`, BETWEEN and begins_with only; each on one
//! top-level attribute against expression attribute values; one condition per attribute), and
//! the conditions they leave.

use super::ExprError;
use super::ast::{CmpOp, Cond, Operand};
use crate::value::Value;

/// A condition on a sort key (or, as `Eq`, on any key attribute).
#[derive(Clone, Debug, PartialEq)]
pub enum SortCondition {
    Eq(Value),
    Lt(Value),
    Le(Value),
    Gt(Value),
    Ge(Value),
    Between(Value, Value),
    BeginsWith(Value),
}

/// A query's key condition: equality on the partition key, optionally a condition on the sort key.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyCondition {
    pub partition: (String, Value),
    pub sort: Option<(String, SortCondition)>,
}

impl KeyCondition {
    /// When both conditions are equalities the parser cannot know which attribute is the
    /// partition key; this puts `hash_key`'s condition in `partition`.
    pub fn with_partition_key(self, hash_key: &str) -> KeyCondition {
        match self.sort {
            Some((name, SortCondition::Eq(value))) if name == hash_key && self.partition.0 != hash_key => {
                let (old_name, old_value) = self.partition;
                KeyCondition { partition: (name, value), sort: Some((old_name, SortCondition::Eq(old_value))) }
            }
            sort => KeyCondition { partition: self.partition, sort },
        }
    }
}

fn error(message: &str) -> ExprError {
    ExprError::new(message)
}

/// The key conditions of a checked condition, in the order written.
pub(crate) fn key_conditions(cond: &Cond) -> Result<Vec<(String, SortCondition)>, ExprError> {
    let mut out = Vec::new();
    collect(cond, &mut out)?;
    Ok(out)
}

fn collect(cond: &Cond, out: &mut Vec<(String, SortCondition)>) -> Result<(), ExprError> {
    let operator = match cond {
        Cond::And(parts) => return parts.iter().try_for_each(|c| collect(c, out)),
        Cond::Or(_) => "OR",
        Cond::Not(_) => "NOT",
        Cond::In(..) => "IN",
        Cond::Cmp(CmpOp::Ne, ..) => "<>",
        Cond::Exists(_) => "attribute_exists",
        Cond::NotExists(_) => "attribute_not_exists",
        Cond::AttrType(..) => "attribute_type",
        Cond::Contains(..) => "contains",
        Cond::Cmp(..) | Cond::Between(..) | Cond::BeginsWith(..) => {
            let (name, condition) = key_condition(cond)?;
            if out.iter().any(|(n, _)| *n == name) {
                return Err(error("KeyConditionExpressions must only contain one condition per key"));
            }
            out.push((name, condition));
            return Ok(());
        }
    };
    Err(ExprError::new(format!("Invalid operator used in KeyConditionExpression: {operator}")))
}

/// One comparison, BETWEEN or begins_with as a condition on one key attribute.
fn key_condition(cond: &Cond) -> Result<(String, SortCondition), ExprError> {
    let operands: Vec<&Operand> = match cond {
        Cond::Cmp(_, a, b) => vec![a, b],
        Cond::Between(a, low, high) => {
            first_operand_is_key(a, "BETWEEN")?;
            vec![a, low, high]
        }
        Cond::BeginsWith(a, prefix) => {
            first_operand_is_key(a, "begins_with")?;
            vec![a, prefix]
        }
        _ => Vec::new(),
    };
    let mut key: Option<(usize, String)> = None;
    for (i, operand) in operands.iter().enumerate() {
        match operand {
            Operand::Path(path) => {
                if key.is_some() {
                    return Err(error(
                        "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
                    ));
                }
                if path.0.len() > 1 {
                    return Err(error("KeyConditionExpressions cannot have conditions on nested attributes"));
                }
                key = Some((i, path.head().to_string()));
            }
            Operand::Size(_) => return Err(error("KeyConditionExpressions cannot contain nested operations")),
            Operand::Value(_) => {}
        }
    }
    let (position, name) =
        key.ok_or_else(|| error("Invalid condition in KeyConditionExpression: No key attribute specified"))?;
    let values: Vec<Value> = operands
        .iter()
        .filter_map(|o| match o {
            Operand::Value(v) => Some(v.clone()),
            _ => None,
        })
        .collect();
    Ok((name, sort_condition(cond, position, values)?))
}

fn first_operand_is_key(operand: &Operand, operator: &str) -> Result<(), ExprError> {
    match operand {
        Operand::Path(_) => Ok(()),
        _ => Err(ExprError::new(format!(
            "Invalid condition in KeyConditionExpression: {operator} operator must have the key attribute as its first operand"
        ))),
    }
}

fn sort_condition(cond: &Cond, key_position: usize, values: Vec<Value>) -> Result<SortCondition, ExprError> {
    let mut values = values.into_iter();
    let mut next =
        || values.next().ok_or_else(|| error("Invalid condition in KeyConditionExpression: No value specified"));
    Ok(match cond {
        Cond::Cmp(op, ..) => {
            let op = if key_position == 0 { *op } else { op.flipped() };
            let value = next()?;
            match op {
                CmpOp::Eq | CmpOp::Ne => SortCondition::Eq(value),
                CmpOp::Lt => SortCondition::Lt(value),
                CmpOp::Le => SortCondition::Le(value),
                CmpOp::Gt => SortCondition::Gt(value),
                CmpOp::Ge => SortCondition::Ge(value),
            }
        }
        Cond::Between(..) => {
            let low = next()?;
            SortCondition::Between(low, next()?)
        }
        _ => SortCondition::BeginsWith(next()?),
    })
}

/// The partition key's condition (the first equality) and the other condition, if any.
pub(crate) fn into_key_condition(mut conditions: Vec<(String, SortCondition)>) -> Result<KeyCondition, ExprError> {
    // Not verified against DynamoDB, which words these against the table's key schema (e.g.
    // "Query condition missed key schema element: pk"); callers that know the schema can use
    // `parse_key_condition_parts` to word them so.
    let unsupported = || error("Query key condition not supported");
    if conditions.len() > 2 {
        return Err(unsupported());
    }
    let at = conditions.iter().position(|(_, c)| matches!(c, SortCondition::Eq(_))).ok_or_else(unsupported)?;
    let (name, condition) = conditions.remove(at);
    let SortCondition::Eq(value) = condition else { return Err(unsupported()) };
    Ok(KeyCondition { partition: (name, value), sort: conditions.pop() })
}
