//! Applying a checked update expression to an item, as DynamoDB does: every SET value is
//! computed from the item as it was before the update; SET, ADD and DELETE then apply in path
//! order (so writes past the end of a list append in index order) and REMOVE last, from the
//! highest list index down (so indexes keep naming the elements they named before).

use std::collections::BTreeMap;

use super::ExprError;
use super::ast::{Action, ArithOp, Path, PathElem, SetOperand, SetValue, top_level_names};
use super::eval::lookup;
use super::project::Projection;
use crate::value::{Item, Value};

/// A checked update expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    pub(crate) actions: Vec<Action>,
}

fn invalid_path() -> ExprError {
    ExprError::new("The document path provided in the update expression is invalid for update")
}

fn wrong_type() -> ExprError {
    ExprError::new("An operand in the update expression has an incorrect data type")
}

fn missing_attribute() -> ExprError {
    ExprError::new("The provided expression refers to an attribute that does not exist in the item")
}

enum Write<'a> {
    Put(Value),
    Add(&'a Value),
    Delete(&'a Value),
}

impl Update {
    /// Applies SET/REMOVE/ADD/DELETE to `item` (a copy of the stored item, or the key alone for a
    /// new item). On error `item` is left as it was.
    pub fn apply(&self, item: &mut Item) -> Result<(), ExprError> {
        let original = item.clone();
        let result = self.apply_to(item, &original);
        if result.is_err() {
            *item = original;
        }
        result
    }

    fn apply_to(&self, item: &mut Item, original: &Item) -> Result<(), ExprError> {
        let mut writes = Vec::new();
        let mut removes = Vec::new();
        for action in &self.actions {
            match action {
                Action::Set(path, value) => writes.push((path, Write::Put(set_value(original, value)?))),
                Action::Add(path, value) => writes.push((path, Write::Add(value))),
                Action::Delete(path, value) => writes.push((path, Write::Delete(value))),
                Action::Remove(path) => removes.push(path),
            }
        }
        writes.sort_by(|a, b| a.0.cmp(b.0));
        removes.sort_by(|a, b| b.cmp(a));
        for (path, write) in writes {
            apply_write(item, path, write)?;
        }
        for path in removes {
            slot(item, path)?.remove();
        }
        Ok(())
    }

    /// Top-level attribute names the update touches (the caller refuses key attributes with its
    /// own message).
    pub fn top_level_names(&self) -> Vec<String> {
        top_level_names(self.actions.iter().map(Action::path))
    }

    /// The paths the update writes or removes, as a projection: applied to the item before and
    /// after the update it gives ReturnValues UPDATED_OLD and UPDATED_NEW (the paths never
    /// overlap, so this is a valid projection).
    pub fn projection(&self) -> Projection {
        Projection { paths: self.actions.iter().map(|a| a.path().clone()).collect() }
    }
}

fn apply_write(item: &mut Item, path: &Path, write: Write<'_>) -> Result<(), ExprError> {
    let slot = slot(item, path)?;
    match write {
        Write::Put(value) => slot.put(value),
        Write::Add(value) => {
            let sum = add(slot.get(), value)?;
            slot.put(sum);
        }
        Write::Delete(value) => match slot.get().map(|current| without(current, value)).transpose()? {
            Some(Some(rest)) => slot.put(rest),
            Some(None) => slot.remove(),
            None => {}
        },
    }
    Ok(())
}

/// ADD: a number to a number (a missing one counts as 0), a set's members to a set of the
/// same type (a missing one counts as empty).
fn add(current: Option<&Value>, value: &Value) -> Result<Value, ExprError> {
    Ok(match (current, value) {
        (None, v) => v.clone(),
        (Some(Value::N(a)), Value::N(b)) => Value::N(a.add(b).map_err(ExprError::new)?),
        (Some(Value::Ss(a)), Value::Ss(b)) => Value::Ss(union(a, b)),
        (Some(Value::Ns(a)), Value::Ns(b)) => Value::Ns(union(a, b)),
        (Some(Value::Bs(a)), Value::Bs(b)) => Value::Bs(union(a, b)),
        _ => return Err(wrong_type()),
    })
}

fn union<T: Clone + PartialEq>(a: &[T], b: &[T]) -> Vec<T> {
    let mut out = a.to_vec();
    for x in b {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

/// DELETE: a set without the given members; None when nothing is left (sets are never empty).
fn without(current: &Value, value: &Value) -> Result<Option<Value>, ExprError> {
    fn rest<T: Clone + PartialEq>(a: &[T], b: &[T]) -> Option<Vec<T>> {
        let kept: Vec<T> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
        (!kept.is_empty()).then_some(kept)
    }
    Ok(match (current, value) {
        (Value::Ss(a), Value::Ss(b)) => rest(a, b).map(Value::Ss),
        (Value::Ns(a), Value::Ns(b)) => rest(a, b).map(Value::Ns),
        (Value::Bs(a), Value::Bs(b)) => rest(a, b).map(Value::Bs),
        _ => return Err(wrong_type()),
    })
}

fn set_value(item: &Item, value: &SetValue) -> Result<Value, ExprError> {
    match value {
        SetValue::Operand(operand) => set_operand(item, operand),
        SetValue::Arith(op, a, b) => match (set_operand(item, a)?, set_operand(item, b)?) {
            (Value::N(x), Value::N(y)) => {
                let result = if *op == ArithOp::Plus { x.add(&y) } else { x.sub(&y) };
                result.map(Value::N).map_err(ExprError::new)
            }
            _ => Err(wrong_type()),
        },
    }
}

fn set_operand(item: &Item, operand: &SetOperand) -> Result<Value, ExprError> {
    match operand {
        SetOperand::Path(path) => lookup(item, path).cloned().ok_or_else(missing_attribute),
        SetOperand::Value(v) => Ok(v.clone()),
        SetOperand::IfNotExists(path, fallback) => match lookup(item, path) {
            Some(v) => Ok(v.clone()),
            None => set_operand(item, fallback),
        },
        SetOperand::ListAppend(a, b) => match (set_operand(item, a)?, set_operand(item, b)?) {
            (Value::L(mut x), Value::L(y)) => {
                x.extend(y);
                Ok(Value::L(x))
            }
            _ => Err(wrong_type()),
        },
    }
}

/// Where a path's last step lives: a map entry or a list position.
enum Slot<'a> {
    Map(&'a mut BTreeMap<String, Value>, &'a str),
    List(&'a mut Vec<Value>, usize),
}

enum Container<'a> {
    Map(&'a mut BTreeMap<String, Value>),
    List(&'a mut Vec<Value>),
}

/// The slot `path` names; every step before the last must exist and be a map (for a name) or a
/// list (for an index).
fn slot<'a>(item: &'a mut Item, path: &'a Path) -> Result<Slot<'a>, ExprError> {
    let (last, parents) = path.0.split_last().ok_or_else(invalid_path)?;
    let mut container = Container::Map(item);
    for elem in parents {
        let child = match (container, elem) {
            (Container::Map(m), PathElem::Attr(name)) => m.get_mut(name),
            (Container::List(l), PathElem::Index(i)) => l.get_mut(*i),
            _ => None,
        }
        .ok_or_else(invalid_path)?;
        container = match child {
            Value::M(m) => Container::Map(m),
            Value::L(l) => Container::List(l),
            _ => return Err(invalid_path()),
        };
    }
    match (container, last) {
        (Container::Map(m), PathElem::Attr(name)) => Ok(Slot::Map(m, name)),
        (Container::List(l), PathElem::Index(i)) => Ok(Slot::List(l, *i)),
        _ => Err(invalid_path()),
    }
}

impl Slot<'_> {
    fn get(&self) -> Option<&Value> {
        match self {
            Slot::Map(m, name) => m.get(*name),
            Slot::List(l, i) => l.get(*i),
        }
    }

    /// Sets the slot; a list position past the end appends.
    fn put(self, value: Value) {
        match self {
            Slot::Map(m, name) => {
                m.insert(name.to_string(), value);
            }
            Slot::List(l, i) => match l.get_mut(i) {
                Some(existing) => *existing = value,
                None => l.push(value),
            },
        }
    }

    /// Removes what is in the slot; nothing happens when it is empty or past the end of a list.
    fn remove(self) {
        match self {
            Slot::Map(m, name) => {
                m.remove(name);
            }
            Slot::List(l, i) => {
                if i < l.len() {
                    l.remove(i);
                }
            }
        }
    }
}
