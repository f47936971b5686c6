//! The checks DynamoDB makes on an update expression, in its order: reserved words, unknown
//! functions, repeated sections, undefined names, undefined values, overlapping and conflicting
//! paths, ADD/DELETE operand types, then function operands (arguments before the function).

use super::ast::{Action, ArithOp, Path, RawAction, RawOperand, RawSetValue, Section, SetOperand, SetValue};
use super::check::{
    CONDITION_FUNCTIONS, Resolved, Resolver, UPDATE_FUNCTIONS, first, first_reserved_in_operand,
    first_reserved_in_path, for_each_call_in_operand, operand_count_message, operand_type_message, path_clash,
    reserved_message,
};
use super::placeholders::Placeholders;
use super::{ExprError, ExprKind};
use crate::value::Value;

pub(crate) fn check_update(
    sections: &[(Section, Vec<RawAction>)],
    p: &mut Placeholders,
) -> Result<Vec<Action>, ExprError> {
    let kind = ExprKind::Update;
    let actions: Vec<&RawAction> = sections.iter().flat_map(|(_, a)| a).collect();
    let early = actions
        .iter()
        .find_map(|a| first_reserved_in_action(a))
        .map(|w| reserved_message(&w))
        .or_else(|| actions.iter().find_map(|a| first_bad_update_function(a)))
        .or_else(|| repeated_section(sections));
    if let Some(message) = early {
        return Err(kind.invalid(message));
    }
    let mut resolver = Resolver::new(p);
    let resolved: Vec<Option<ResolvedAction>> = actions.iter().map(|a| resolve_action(a, &mut resolver)).collect();
    if let Some(message) = resolver.name_error.or(resolver.value_error) {
        return Err(kind.invalid(message));
    }
    let resolved: Vec<ResolvedAction> = resolved.into_iter().flatten().collect();
    let paths: Vec<&Path> = resolved.iter().map(ResolvedAction::path).collect();
    if let Some(message) = path_clash(&paths) {
        return Err(kind.invalid(message));
    }
    if let Some(message) = resolved.iter().find_map(add_delete_operand_error) {
        return Err(kind.invalid(message));
    }
    let mut function_error = None;
    let checked: Vec<Option<Action>> = resolved.into_iter().map(|a| checked_action(a, &mut function_error)).collect();
    match function_error {
        Some(message) => Err(kind.invalid(message)),
        None => Ok(checked.into_iter().flatten().collect()),
    }
}

enum ResolvedAction {
    Set(Path, ResolvedSet),
    Remove(Path),
    Add(Path, Value),
    Delete(Path, Value),
}

enum ResolvedSet {
    Operand(Resolved),
    Arith(ArithOp, Resolved, Resolved),
}

impl ResolvedAction {
    fn path(&self) -> &Path {
        match self {
            ResolvedAction::Set(p, _)
            | ResolvedAction::Remove(p)
            | ResolvedAction::Add(p, _)
            | ResolvedAction::Delete(p, _) => p,
        }
    }
}

fn set_operands(value: &RawSetValue) -> Vec<&RawOperand> {
    match value {
        RawSetValue::Operand(o) => vec![o],
        RawSetValue::Arith(_, a, b) => vec![a, b],
    }
}

fn first_reserved_in_action(action: &RawAction) -> Option<String> {
    first_reserved_in_path(action.path()).or_else(|| match action {
        RawAction::Set(_, value) => set_operands(value).into_iter().find_map(first_reserved_in_operand),
        _ => None,
    })
}

fn first_bad_update_function(action: &RawAction) -> Option<String> {
    let RawAction::Set(_, value) = action else { return None };
    let mut found = None;
    for operand in set_operands(value) {
        for_each_call_in_operand(operand, &mut |name| {
            if found.is_some() || UPDATE_FUNCTIONS.contains(&name) {
                return;
            }
            found = Some(if CONDITION_FUNCTIONS.iter().any(|(f, _)| *f == name) {
                // Not verified against DynamoDB; several emulators agree on this text.
                format!("The function is not allowed in an update expression; function: {name}")
            } else {
                format!("Invalid function name; function: {name}")
            });
        });
    }
    found
}

fn repeated_section(sections: &[(Section, Vec<RawAction>)]) -> Option<String> {
    sections.iter().enumerate().find_map(|(i, (s, _))| {
        sections[..i]
            .iter()
            .any(|(earlier, _)| earlier == s)
            .then(|| format!("The \"{}\" section can only be used once in an update expression;", s.keyword()))
    })
}

fn resolve_action(action: &RawAction, r: &mut Resolver<'_>) -> Option<ResolvedAction> {
    let path = r.path(action.path());
    match action {
        RawAction::Set(_, RawSetValue::Operand(o)) => {
            let o = r.operand(o);
            Some(ResolvedAction::Set(path?, ResolvedSet::Operand(o?)))
        }
        RawAction::Set(_, RawSetValue::Arith(op, a, b)) => {
            let (a, b) = (r.operand(a), r.operand(b));
            Some(ResolvedAction::Set(path?, ResolvedSet::Arith(*op, a?, b?)))
        }
        RawAction::Remove(_) => Some(ResolvedAction::Remove(path?)),
        RawAction::Add(_, key) => {
            let v = r.value(key);
            Some(ResolvedAction::Add(path?, v?))
        }
        RawAction::Delete(_, key) => {
            let v = r.value(key);
            Some(ResolvedAction::Delete(path?, v?))
        }
    }
}

/// ADD takes a number or a set, DELETE a set.
fn add_delete_operand_error(action: &ResolvedAction) -> Option<String> {
    let (operator, value) = match action {
        ResolvedAction::Add(_, v) => ("ADD", v),
        ResolvedAction::Delete(_, v) => ("DELETE", v),
        _ => return None,
    };
    let shown = match value {
        Value::Ss(_) | Value::Ns(_) | Value::Bs(_) => return None,
        Value::N(_) if operator == "ADD" => return None,
        Value::S(_) => "STRING",
        Value::N(_) => "NUMBER",
        Value::B(_) => "BINARY",
        Value::Null => "NULL",
        Value::Bool(_) => "BOOLEAN",
        Value::L(_) => "LIST",
        Value::M(_) => "MAP",
    };
    Some(format!("Incorrect operand type for operator or function; operator: {operator}, operand type: {shown}"))
}

fn checked_action(action: ResolvedAction, error: &mut Option<String>) -> Option<Action> {
    match action {
        ResolvedAction::Set(path, ResolvedSet::Operand(o)) => {
            Some(Action::Set(path, SetValue::Operand(set_operand(o, error)?)))
        }
        ResolvedAction::Set(path, ResolvedSet::Arith(op, a, b)) => {
            let symbol = if op == ArithOp::Plus { "+" } else { "-" };
            let type_error = literal_type_error(symbol, "N", [&a, &b]);
            let (a, b) = (set_operand(a, error), set_operand(b, error));
            if let Some(m) = type_error {
                first(error, m);
            }
            Some(Action::Set(path, SetValue::Arith(op, a?, b?)))
        }
        ResolvedAction::Remove(path) => Some(Action::Remove(path)),
        ResolvedAction::Add(path, v) => Some(Action::Add(path, v)),
        ResolvedAction::Delete(path, v) => Some(Action::Delete(path, v)),
    }
}

/// An operand of a SET action, its functions checked after their arguments.
fn set_operand(resolved: Resolved, error: &mut Option<String>) -> Option<SetOperand> {
    let (name, args) = match resolved {
        Resolved::Path(p) => return Some(SetOperand::Path(p)),
        Resolved::Value(v) => return Some(SetOperand::Value(v)),
        Resolved::Call(name, args) => (name, args),
    };
    let count = args.len();
    let own_error = if count != 2 {
        Some(operand_count_message(&name, count))
    } else if name == "if_not_exists" {
        (!matches!(args[0], Resolved::Path(_)))
            .then(|| format!("Operator or function requires a document path; operator or function: {name}"))
    } else {
        literal_type_error(&name, "L", args.iter().collect::<Vec<_>>())
    };
    let mut checked: Vec<Option<SetOperand>> = args.into_iter().map(|a| set_operand(a, error)).collect();
    if let Some(m) = own_error {
        first(error, m);
        return None;
    }
    let b = checked.pop()??;
    let a = checked.pop()??;
    if name == "if_not_exists" {
        let SetOperand::Path(path) = a else { return None };
        return Some(SetOperand::IfNotExists(path, Box::new(b)));
    }
    Some(SetOperand::ListAppend(Box::new(a), Box::new(b)))
}

/// The operand-type error for the first literal operand not of type `wanted`.
fn literal_type_error<'a>(
    function: &str,
    wanted: &str,
    operands: impl IntoIterator<Item = &'a Resolved>,
) -> Option<String> {
    operands.into_iter().find_map(|o| match o {
        Resolved::Value(v) if v.type_name() != wanted => Some(operand_type_message(function, v.type_name())),
        _ => None,
    })
}
