//! The checks DynamoDB makes on a parsed expression before using it, in DynamoDB's order, and
//! the substitution of expression attribute names and values that turns raw trees into the
//! checked trees that are evaluated.
//!
//! Conditions are checked for unknown functions, then misused functions, then reserved words,
//! then one comparison or function at a time (undefined names and values, operand counts,
//! operands that must differ, operand types). Projections for reserved words, undefined names,
//! then overlapping and conflicting paths. Update expressions are checked in
//! [`super::check_update`] with the helpers shared here.

use std::cmp::Ordering;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::ast::{Cond, Operand, Path, PathElem, RawCond, RawElem, RawOperand, RawPath};
use super::eval::compare;
use super::placeholders::Placeholders;
use super::reserved::is_reserved;
use super::{ExprError, ExprKind};
use crate::value::Value;

/// Functions of condition expressions and how many operands each takes.
pub(super) const CONDITION_FUNCTIONS: [(&str, usize); 6] = [
    ("attribute_exists", 1),
    ("attribute_not_exists", 1),
    ("attribute_type", 2),
    ("begins_with", 2),
    ("contains", 2),
    ("size", 1),
];

/// Functions of update expressions (both take two operands).
pub(super) const UPDATE_FUNCTIONS: [&str; 2] = ["if_not_exists", "list_append"];

/// The most values `IN` may list.
const MAX_IN_OPERANDS: usize = 100;

const VALID_TYPES: [&str; 10] = ["B", "NULL", "SS", "BOOL", "L", "BS", "N", "NS", "S", "M"];

/// An operand with its placeholders substituted; functions still by name.
#[derive(Clone, Debug)]
pub(super) enum Resolved {
    Path(Path),
    Value(Value),
    Call(String, Vec<Resolved>),
}

// Conditions.

pub(crate) fn check_condition(raw: &RawCond, kind: ExprKind, p: &mut Placeholders) -> Result<Cond, ExprError> {
    let global = first_bad_condition_function(raw)
        .or_else(|| {
            first_misused_in_condition(raw).map(|name| {
                format!("The function is not allowed to be used this way in an expression; function: {name}")
            })
        })
        .or_else(|| first_reserved_in_condition(raw).map(|word| reserved_message(&word)));
    if let Some(message) = global {
        return Err(kind.invalid(message));
    }
    build_condition(raw, p).map_err(|m| kind.invalid(m))
}

fn build_condition(raw: &RawCond, p: &mut Placeholders) -> Result<Cond, String> {
    match raw {
        RawCond::Not(inner) => Ok(Cond::Not(Box::new(build_condition(inner, p)?))),
        RawCond::And(parts) => Ok(Cond::And(parts.iter().map(|c| build_condition(c, p)).collect::<Result<_, _>>()?)),
        RawCond::Or(parts) => Ok(Cond::Or(parts.iter().map(|c| build_condition(c, p)).collect::<Result<_, _>>()?)),
        leaf => build_leaf(leaf, p),
    }
}

/// The operands a comparison or function condition is written with.
fn leaf_operands(leaf: &RawCond) -> Vec<&RawOperand> {
    match leaf {
        RawCond::Cmp(_, a, b) => vec![a, b],
        RawCond::Between(a, b, c) => vec![a, b, c],
        RawCond::In(a, list) => std::iter::once(a).chain(list).collect(),
        RawCond::Call(_, args) => args.iter().collect(),
        RawCond::Not(_) | RawCond::And(_) | RawCond::Or(_) => Vec::new(),
    }
}

/// The first error of each kind found in one comparison or function condition.
#[derive(Default)]
struct Slots {
    operand_count: Option<String>,
    distinct: Option<String>,
    operand_type: Option<String>,
}

pub(super) fn first(slot: &mut Option<String>, message: String) {
    slot.get_or_insert(message);
}

fn build_leaf(leaf: &RawCond, p: &mut Placeholders) -> Result<Cond, String> {
    let mut resolver = Resolver::new(p);
    let resolved: Vec<Option<Resolved>> = leaf_operands(leaf).into_iter().map(|o| resolver.operand(o)).collect();
    if let Some(message) = resolver.first_error {
        return Err(message);
    }
    let mut slots = Slots::default();
    let operands: Vec<Option<Operand>> =
        resolved.into_iter().map(|r| r.and_then(|r| condition_operand(r, &mut slots))).collect();
    let cond = leaf_condition(leaf, operands, &mut slots);
    match (slots.operand_count, slots.distinct, slots.operand_type, cond) {
        (Some(m), ..) | (None, Some(m), ..) | (None, None, Some(m), _) => Err(m),
        (None, None, None, Some(cond)) => Ok(cond),
        // Every path that yields no condition records an error first.
        (None, None, None, None) => Err("The expression could not be checked".into()),
    }
}

fn leaf_condition(leaf: &RawCond, operands: Vec<Option<Operand>>, slots: &mut Slots) -> Option<Cond> {
    let count = operands.len();
    match leaf {
        RawCond::Cmp(op, ..) => {
            let [a, b] = <[Option<Operand>; 2]>::try_from(operands).ok()?;
            let (a, b) = (a?, b?);
            check_distinct(op.symbol(), &a, &b, slots);
            Some(Cond::Cmp(*op, a, b))
        }
        RawCond::Between(..) => {
            let [a, low, high] = <[Option<Operand>; 3]>::try_from(operands).ok()?;
            let (a, low, high) = (a?, low?, high?);
            check_between_bounds(&low, &high, slots);
            Some(Cond::Between(a, low, high))
        }
        RawCond::In(..) => {
            if count - 1 > MAX_IN_OPERANDS {
                // Not verified against DynamoDB (its documented limit is 100 values).
                first(
                    &mut slots.operand_count,
                    format!(
                        "Too many operands for the operator or function; operator or function: IN, number of operands: {}",
                        count - 1
                    ),
                );
            }
            let mut all = operands.into_iter().collect::<Option<Vec<_>>>()?;
            let left = all.remove(0);
            Some(Cond::In(left, all))
        }
        RawCond::Call(name, _) => function_condition(name, operands, slots),
        RawCond::Not(_) | RawCond::And(_) | RawCond::Or(_) => None,
    }
}

fn function_condition(name: &str, operands: Vec<Option<Operand>>, slots: &mut Slots) -> Option<Cond> {
    let expected = CONDITION_FUNCTIONS.iter().find(|(f, _)| *f == name).map_or(0, |&(_, n)| n);
    if operands.len() != expected {
        first(&mut slots.operand_count, operand_count_message(name, operands.len()));
        return None;
    }
    let mut args = operands.into_iter().collect::<Option<Vec<_>>>()?;
    if let [a, b] = args.as_slice() {
        check_distinct(name, a, b, slots);
    }
    let second = if args.len() == 2 { args.pop() } else { None };
    let first_arg = args.pop()?;
    match (name, second) {
        ("attribute_exists" | "attribute_not_exists", None) => {
            let Operand::Path(path) = first_arg else {
                first(
                    &mut slots.operand_type,
                    format!("Operator or function requires a document path; operator or function: {name}"),
                );
                return None;
            };
            Some(if name == "attribute_exists" { Cond::Exists(path) } else { Cond::NotExists(path) })
        }
        ("attribute_type", Some(type_operand)) => {
            let type_name = attribute_type_name(&type_operand, slots)?;
            Some(Cond::AttrType(first_arg, type_name))
        }
        ("begins_with", Some(prefix)) => {
            for operand in [&first_arg, &prefix] {
                if let Some(t) = known_type(operand).filter(|t| *t != "S" && *t != "B") {
                    first(&mut slots.operand_type, operand_type_message("begins_with", t));
                    return None;
                }
            }
            Some(Cond::BeginsWith(first_arg, prefix))
        }
        ("contains", Some(needle)) => Some(Cond::Contains(first_arg, needle)),
        _ => None,
    }
}

/// The type name an `attribute_type` condition asks for (an expression attribute value of
/// type S holding one of DynamoDB's type names).
fn attribute_type_name(operand: &Operand, slots: &mut Slots) -> Option<String> {
    match (operand, known_type(operand)) {
        (Operand::Value(Value::S(t)), _) if VALID_TYPES.contains(&t.as_str()) => Some(t.clone()),
        (Operand::Value(Value::S(t)), _) => {
            first(
                &mut slots.operand_type,
                format!("Invalid attribute type name found; type: {t}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"),
            );
            None
        }
        (_, t) => {
            let t = t.unwrap_or("{NS,SS,L,BS,N,M,B,BOOL,NULL,S}");
            first(&mut slots.operand_type, operand_type_message("attribute_type", t));
            None
        }
    }
}

/// An operand of a condition; `size` is the only function an operand can be.
fn condition_operand(resolved: Resolved, slots: &mut Slots) -> Option<Operand> {
    match resolved {
        Resolved::Path(p) => Some(Operand::Path(p)),
        Resolved::Value(v) => Some(Operand::Value(v)),
        Resolved::Call(name, args) => {
            let args: Vec<Option<Operand>> = args.into_iter().map(|a| condition_operand(a, slots)).collect();
            if args.len() != 1 {
                first(&mut slots.operand_count, operand_count_message(&name, args.len()));
                return None;
            }
            let arg = args.into_iter().next().flatten()?;
            if let Some(t) = known_type(&arg).filter(|t| matches!(*t, "N" | "BOOL" | "NULL")) {
                first(&mut slots.operand_type, operand_type_message(&name, t));
                return None;
            }
            Some(Operand::Size(Box::new(arg)))
        }
    }
}

/// The type an operand is known to have before any item is seen.
fn known_type(operand: &Operand) -> Option<&'static str> {
    match operand {
        Operand::Value(v) => Some(v.type_name()),
        Operand::Size(_) => Some("N"),
        Operand::Path(_) => None,
    }
}

fn check_distinct(operator: &str, a: &Operand, b: &Operand, slots: &mut Slots) {
    if let (Operand::Path(x), Operand::Path(y)) = (a, b)
        && x == y
    {
        first(
            &mut slots.distinct,
            format!(
                "The first operand must be distinct from the remaining operands for this operator or function; operator: {operator}, first operand: {x}"
            ),
        );
    }
}

fn check_between_bounds(low: &Operand, high: &Operand, slots: &mut Slots) {
    let (Operand::Value(low), Operand::Value(high)) = (low, high) else { return };
    let bounds = format!(
        "lower bound operand: AttributeValue: {{{}:{}}}, upper bound operand: AttributeValue: {{{}:{}}}",
        low.type_name(),
        shown(low),
        high.type_name(),
        shown(high)
    );
    if low.type_name() != high.type_name() {
        first(
            &mut slots.operand_type,
            format!("The BETWEEN operator requires same data type for lower and upper bounds; {bounds}"),
        );
    } else if compare(low, high) == Some(Ordering::Greater) {
        first(
            &mut slots.operand_type,
            format!("The BETWEEN operator requires upper bound to be greater than or equal to lower bound; {bounds}"),
        );
    }
}

/// A value as DynamoDB shows it inside `AttributeValue: {T:...}`.
fn shown(v: &Value) -> String {
    match v {
        Value::S(s) => s.clone(),
        Value::N(n) => n.to_string(),
        Value::B(b) => STANDARD.encode(b),
        Value::Bool(b) => b.to_string(),
        Value::Null => "true".into(),
        other => other.to_json().get(other.type_name()).map(ToString::to_string).unwrap_or_default(),
    }
}

pub(super) fn operand_count_message(function: &str, count: usize) -> String {
    format!(
        "Incorrect number of operands for operator or function; operator or function: {function}, number of operands: {count}"
    )
}

pub(super) fn operand_type_message(function: &str, type_name: &str) -> String {
    format!(
        "Incorrect operand type for operator or function; operator or function: {function}, operand type: {type_name}"
    )
}

// Whole-condition checks.

fn first_bad_condition_function(raw: &RawCond) -> Option<String> {
    let mut found = None;
    for_each_call_in_condition(raw, &mut |name| {
        if found.is_none() && !CONDITION_FUNCTIONS.iter().any(|(f, _)| *f == name) {
            found = Some(if UPDATE_FUNCTIONS.contains(&name) {
                // Not verified against DynamoDB: the form its update-side message takes.
                format!("The function is not allowed in a condition expression; function: {name}")
            } else {
                format!("Invalid function name; function: {name}")
            });
        }
    });
    found
}

/// Calls every function's name, arguments before the function (the order DynamoDB finds them).
fn for_each_call_in_condition(raw: &RawCond, f: &mut impl FnMut(&str)) {
    match raw {
        RawCond::Not(inner) => for_each_call_in_condition(inner, f),
        RawCond::And(parts) | RawCond::Or(parts) => parts.iter().for_each(|c| for_each_call_in_condition(c, f)),
        RawCond::Call(name, args) => {
            args.iter().for_each(|a| for_each_call_in_operand(a, f));
            f(name);
        }
        leaf => leaf_operands(leaf).into_iter().for_each(|a| for_each_call_in_operand(a, f)),
    }
}

pub(super) fn for_each_call_in_operand(raw: &RawOperand, f: &mut impl FnMut(&str)) {
    if let RawOperand::Call(name, args) = raw {
        args.iter().for_each(|a| for_each_call_in_operand(a, f));
        f(name);
    }
}

/// The first function used where its result cannot go: `size` as a condition, or a condition
/// function as an operand.
fn first_misused_in_condition(raw: &RawCond) -> Option<String> {
    match raw {
        RawCond::Not(inner) => first_misused_in_condition(inner),
        RawCond::And(parts) | RawCond::Or(parts) => parts.iter().find_map(first_misused_in_condition),
        RawCond::Call(name, args) => {
            args.iter().find_map(first_misused_operand).or_else(|| (name == "size").then(|| name.clone()))
        }
        leaf => leaf_operands(leaf).into_iter().find_map(first_misused_operand),
    }
}

fn first_misused_operand(raw: &RawOperand) -> Option<String> {
    let RawOperand::Call(name, args) = raw else { return None };
    args.iter().find_map(first_misused_operand).or_else(|| (name != "size").then(|| name.clone()))
}

fn first_reserved_in_condition(raw: &RawCond) -> Option<String> {
    match raw {
        RawCond::Not(inner) => first_reserved_in_condition(inner),
        RawCond::And(parts) | RawCond::Or(parts) => parts.iter().find_map(first_reserved_in_condition),
        leaf => leaf_operands(leaf).into_iter().find_map(first_reserved_in_operand),
    }
}

pub(super) fn first_reserved_in_operand(raw: &RawOperand) -> Option<String> {
    match raw {
        RawOperand::Path(path) => first_reserved_in_path(path),
        RawOperand::Value(_) => None,
        RawOperand::Call(_, args) => args.iter().find_map(first_reserved_in_operand),
    }
}

pub(super) fn first_reserved_in_path(path: &RawPath) -> Option<String> {
    path.iter().find_map(|e| match e {
        RawElem::Ident(name) if is_reserved(name) => Some(name.clone()),
        _ => None,
    })
}

pub(super) fn reserved_message(word: &str) -> String {
    format!("Attribute name is a reserved keyword; reserved keyword: {word}")
}

/// Substitutes placeholders, remembering the first undefined name and the first undefined
/// value (and which of all came first).
pub(super) struct Resolver<'p> {
    p: &'p mut Placeholders,
    pub(super) first_error: Option<String>,
    pub(super) name_error: Option<String>,
    pub(super) value_error: Option<String>,
}

impl<'p> Resolver<'p> {
    pub(super) fn new(p: &'p mut Placeholders) -> Resolver<'p> {
        Resolver { p, first_error: None, name_error: None, value_error: None }
    }

    pub(super) fn path(&mut self, raw: &RawPath) -> Option<Path> {
        let mut elems = Vec::with_capacity(raw.len());
        let mut complete = true;
        for e in raw {
            match e {
                RawElem::Ident(name) => elems.push(PathElem::Attr(name.clone())),
                RawElem::Index(i) => elems.push(PathElem::Index(*i)),
                RawElem::Name(key) => match self.p.name(key) {
                    Some(name) => elems.push(PathElem::Attr(name)),
                    None => {
                        complete = false;
                        let m = format!(
                            "An expression attribute name used in the document path is not defined; attribute name: {key}"
                        );
                        self.first_error.get_or_insert_with(|| m.clone());
                        self.name_error.get_or_insert(m);
                    }
                },
            }
        }
        complete.then_some(Path(elems))
    }

    pub(super) fn value(&mut self, key: &str) -> Option<Value> {
        let value = self.p.value(key);
        if value.is_none() {
            let m = format!("An expression attribute value used in expression is not defined; attribute value: {key}");
            self.first_error.get_or_insert_with(|| m.clone());
            self.value_error.get_or_insert(m);
        }
        value
    }

    /// Resolves every part (so errors are found in the order written), then the whole.
    pub(super) fn operand(&mut self, raw: &RawOperand) -> Option<Resolved> {
        match raw {
            RawOperand::Path(path) => self.path(path).map(Resolved::Path),
            RawOperand::Value(key) => self.value(key).map(Resolved::Value),
            RawOperand::Call(name, args) => {
                let args: Vec<Option<Resolved>> = args.iter().map(|a| self.operand(a)).collect();
                Some(Resolved::Call(name.clone(), args.into_iter().collect::<Option<_>>()?))
            }
        }
    }
}

enum Clash {
    Overlap,
    Conflict,
}

/// Two paths overlap when one is a prefix of the other, and conflict when at the same step one
/// names an attribute and the other indexes a list.
fn clash(a: &Path, b: &Path) -> Option<Clash> {
    for (x, y) in a.0.iter().zip(&b.0) {
        match (x, y) {
            (PathElem::Attr(_), PathElem::Index(_)) | (PathElem::Index(_), PathElem::Attr(_)) => {
                return Some(Clash::Conflict);
            }
            _ if x != y => return None,
            _ => {}
        }
    }
    Some(Clash::Overlap)
}

/// DynamoDB's overlap error for the first overlapping pair, else its conflict error for the
/// first conflicting pair.
pub(super) fn path_clash(paths: &[&Path]) -> Option<String> {
    let mut conflict = None;
    for (j, later) in paths.iter().enumerate() {
        for earlier in &paths[..j] {
            let message = |what: &str| {
                format!(
                    "Two document paths {what} with each other; must remove or rewrite one of these paths; path one: {earlier}, path two: {later}"
                )
            };
            match clash(earlier, later) {
                Some(Clash::Overlap) => return Some(message("overlap")),
                Some(Clash::Conflict) => {
                    conflict.get_or_insert_with(|| message("conflict"));
                }
                None => {}
            }
        }
    }
    conflict
}

// Projections.

pub(crate) fn check_projection(raw: &[RawPath], p: &mut Placeholders) -> Result<Vec<Path>, ExprError> {
    let kind = ExprKind::Projection;
    if let Some(word) = raw.iter().find_map(first_reserved_in_path) {
        return Err(kind.invalid(reserved_message(&word)));
    }
    let mut resolver = Resolver::new(p);
    let paths: Vec<Option<Path>> = raw.iter().map(|path| resolver.path(path)).collect();
    if let Some(message) = resolver.first_error {
        return Err(kind.invalid(message));
    }
    let paths: Vec<Path> = paths.into_iter().flatten().collect();
    if let Some(message) = path_clash(&paths.iter().collect::<Vec<_>>()) {
        return Err(kind.invalid(message));
    }
    Ok(paths)
}
