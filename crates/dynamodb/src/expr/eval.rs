//! Evaluating checked conditions against an item, and the value semantics they share with
//! updates: finding a document path, equality (sets compare as sets), ordering (numbers,
//! strings by UTF-8 bytes, binaries by bytes; nothing else is ordered), and `size`.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::ast::{CmpOp, Cond, Operand, Path, PathElem};
use crate::number::Number;
use crate::value::{Item, Value};

/// The value at `path` in `item`, if there is one.
pub(crate) fn lookup<'a>(item: &'a Item, path: &Path) -> Option<&'a Value> {
    let mut elems = path.0.iter();
    let mut current = match elems.next()? {
        PathElem::Attr(name) => item.get(name)?,
        PathElem::Index(_) => return None,
    };
    for elem in elems {
        current = match (current, elem) {
            (Value::M(map), PathElem::Attr(name)) => map.get(name)?,
            (Value::L(list), PathElem::Index(i)) => list.get(*i)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Whether `cond` holds for `item`. Comparisons with a missing operand are false (`<>` is true).
pub(crate) fn holds(cond: &Cond, item: &Item) -> bool {
    match cond {
        Cond::And(parts) => parts.iter().all(|c| holds(c, item)),
        Cond::Or(parts) => parts.iter().any(|c| holds(c, item)),
        Cond::Not(inner) => !holds(inner, item),
        Cond::Exists(path) => lookup(item, path).is_some(),
        Cond::NotExists(path) => lookup(item, path).is_none(),
        Cond::Cmp(op, a, b) => match (operand(item, a), operand(item, b)) {
            (Some(a), Some(b)) => compares(*op, &a, &b),
            _ => *op == CmpOp::Ne,
        },
        Cond::Between(a, low, high) => match (operand(item, a), operand(item, low), operand(item, high)) {
            (Some(a), Some(low), Some(high)) => compares(CmpOp::Ge, &a, &low) && compares(CmpOp::Le, &a, &high),
            _ => false,
        },
        Cond::In(a, list) => {
            operand(item, a).is_some_and(|a| list.iter().any(|o| operand(item, o).is_some_and(|o| equal(&a, &o))))
        }
        Cond::AttrType(a, type_name) => operand(item, a).is_some_and(|v| v.type_name() == type_name),
        Cond::BeginsWith(a, prefix) => match (operand(item, a), operand(item, prefix)) {
            (Some(a), Some(prefix)) => begins_with(&a, &prefix),
            _ => false,
        },
        Cond::Contains(a, needle) => match (operand(item, a), operand(item, needle)) {
            (Some(a), Some(needle)) => contains(&a, &needle),
            _ => false,
        },
    }
}

fn operand<'a>(item: &'a Item, op: &'a Operand) -> Option<Cow<'a, Value>> {
    match op {
        Operand::Path(path) => lookup(item, path).map(Cow::Borrowed),
        Operand::Value(v) => Some(Cow::Borrowed(v)),
        Operand::Size(inner) => size(&*operand(item, inner)?).map(Cow::Owned),
    }
}

/// `size`: UTF-16 code units of a string (as DynamoDB counts them), bytes of a binary,
/// elements of a set or list, entries of a map; other types have no size.
pub(crate) fn size(v: &Value) -> Option<Value> {
    let n = match v {
        Value::S(s) => s.encode_utf16().count(),
        Value::B(b) => b.len(),
        Value::Ss(s) => s.len(),
        Value::Ns(s) => s.len(),
        Value::Bs(s) => s.len(),
        Value::L(l) => l.len(),
        Value::M(m) => m.len(),
        Value::N(_) | Value::Null | Value::Bool(_) => return None,
    };
    Number::parse(&n.to_string()).ok().map(Value::N)
}

fn compares(op: CmpOp, a: &Value, b: &Value) -> bool {
    match op {
        CmpOp::Eq => equal(a, b),
        CmpOp::Ne => !equal(a, b),
        CmpOp::Lt => compare(a, b) == Some(Ordering::Less),
        CmpOp::Le => matches!(compare(a, b), Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => compare(a, b) == Some(Ordering::Greater),
        CmpOp::Ge => matches!(compare(a, b), Some(Ordering::Greater | Ordering::Equal)),
    }
}

/// The order of two values of the same orderable type (N, S, B).
pub(crate) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::N(x), Value::N(y)) => Some(x.cmp(y)),
        (Value::S(x), Value::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::B(x), Value::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Equality as DynamoDB sees it: same type, numbers by value, sets regardless of order.
pub(crate) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Ss(x), Value::Ss(y)) => same_set(x, y),
        (Value::Ns(x), Value::Ns(y)) => same_set(x, y),
        (Value::Bs(x), Value::Bs(y)) => same_set(x, y),
        (Value::L(x), Value::L(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q)),
        (Value::M(x), Value::M(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

fn same_set<T: PartialEq>(x: &[T], y: &[T]) -> bool {
    x.len() == y.len() && x.iter().all(|e| y.contains(e))
}

fn begins_with(a: &Value, prefix: &Value) -> bool {
    match (a, prefix) {
        (Value::S(s), Value::S(p)) => s.starts_with(p.as_str()),
        (Value::B(b), Value::B(p)) => b.starts_with(p),
        _ => false,
    }
}

/// `contains`: a substring of a string (or of a binary), a member of a set, an element of a list.
fn contains(a: &Value, needle: &Value) -> bool {
    match (a, needle) {
        (Value::S(s), Value::S(n)) => s.contains(n.as_str()),
        (Value::B(b), Value::B(n)) => n.is_empty() || b.windows(n.len()).any(|w| w == n.as_slice()),
        (Value::Ss(set), Value::S(n)) => set.contains(n),
        (Value::Ns(set), Value::N(n)) => set.contains(n),
        (Value::Bs(set), Value::B(n)) => set.contains(n),
        (Value::L(list), n) => list.iter().any(|e| equal(e, n)),
        _ => false,
    }
}
