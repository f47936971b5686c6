//! Syntax trees: the raw trees the parser builds (placeholders still unresolved, functions
//! still by name) and the checked trees that are evaluated (names and values substituted).

use std::fmt;

use crate::value::Value;

/// One step of a document path as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RawElem {
    /// A bare identifier (subject to the reserved-word check).
    Ident(String),
    /// An expression attribute name (`#n`).
    Name(String),
    Index(usize),
}

pub(crate) type RawPath = Vec<RawElem>;

/// An operand as written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RawOperand {
    Path(RawPath),
    /// An expression attribute value (`:v`).
    Value(String),
    Call(String, Vec<RawOperand>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// The operator with its operands swapped (`:v < a` is `a > :v`).
    pub(crate) fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        }
    }
}

/// A condition as written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RawCond {
    Cmp(CmpOp, RawOperand, RawOperand),
    Between(RawOperand, RawOperand, RawOperand),
    In(RawOperand, Vec<RawOperand>),
    Call(String, Vec<RawOperand>),
    Not(Box<RawCond>),
    And(Vec<RawCond>),
    Or(Vec<RawCond>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Plus,
    Minus,
}

/// The right-hand side of a SET action as written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RawSetValue {
    Operand(RawOperand),
    Arith(ArithOp, RawOperand, RawOperand),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Section {
    Set,
    Remove,
    Add,
    Delete,
}

impl Section {
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Section::Set => "SET",
            Section::Remove => "REMOVE",
            Section::Add => "ADD",
            Section::Delete => "DELETE",
        }
    }
}

/// One action of an update expression as written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RawAction {
    Set(RawPath, RawSetValue),
    Remove(RawPath),
    Add(RawPath, String),
    Delete(RawPath, String),
}

impl RawAction {
    pub(crate) fn path(&self) -> &RawPath {
        match self {
            RawAction::Set(p, _) | RawAction::Remove(p) | RawAction::Add(p, _) | RawAction::Delete(p, _) => p,
        }
    }
}

/// One step of a document path with its name substituted.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PathElem {
    Attr(String),
    Index(usize),
}

/// A document path with its names substituted; it always starts with an attribute name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Path(pub Vec<PathElem>);

impl Path {
    /// The top-level attribute the path starts with.
    pub(crate) fn head(&self) -> &str {
        match self.0.first() {
            Some(PathElem::Attr(a)) => a,
            _ => "",
        }
    }
}

/// DynamoDB's rendering in messages: `[a, b, [1], c]`.
impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match e {
                PathElem::Attr(a) => f.write_str(a)?,
                PathElem::Index(n) => write!(f, "[{n}]")?,
            }
        }
        f.write_str("]")
    }
}

/// An operand of a condition, checked.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Operand {
    Path(Path),
    Value(Value),
    Size(Box<Operand>),
}

/// A condition, checked.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cond {
    Cmp(CmpOp, Operand, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Exists(Path),
    NotExists(Path),
    AttrType(Operand, String),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

impl Operand {
    fn for_each_path<'a>(&'a self, f: &mut impl FnMut(&'a Path)) {
        match self {
            Operand::Path(p) => f(p),
            Operand::Value(_) => {}
            Operand::Size(inner) => inner.for_each_path(f),
        }
    }
}

impl Cond {
    /// Calls `f` with every document path the condition reads, in the order written.
    pub(crate) fn for_each_path<'a>(&'a self, f: &mut impl FnMut(&'a Path)) {
        match self {
            Cond::Cmp(_, a, b) | Cond::BeginsWith(a, b) | Cond::Contains(a, b) => {
                a.for_each_path(f);
                b.for_each_path(f);
            }
            Cond::Between(a, b, c) => [a, b, c].into_iter().for_each(|o| o.for_each_path(f)),
            Cond::In(a, list) => std::iter::once(a).chain(list).for_each(|o| o.for_each_path(f)),
            Cond::Exists(p) | Cond::NotExists(p) => f(p),
            Cond::AttrType(a, _) => a.for_each_path(f),
            Cond::Not(inner) => inner.for_each_path(f),
            Cond::And(parts) | Cond::Or(parts) => parts.iter().for_each(|c| c.for_each_path(f)),
        }
    }
}

/// The distinct top-level attributes of some paths, in the order first named.
pub(crate) fn top_level_names<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for path in paths {
        if !names.iter().any(|n| n == path.head()) {
            names.push(path.head().to_string());
        }
    }
    names
}

/// An operand of a SET action, checked.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SetOperand {
    Path(Path),
    Value(Value),
    IfNotExists(Path, Box<SetOperand>),
    ListAppend(Box<SetOperand>, Box<SetOperand>),
}

/// The right-hand side of a SET action, checked.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SetValue {
    Operand(SetOperand),
    Arith(ArithOp, SetOperand, SetOperand),
}

/// One action of an update expression, checked.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Action {
    Set(Path, SetValue),
    Remove(Path),
    Add(Path, Value),
    Delete(Path, Value),
}

impl Action {
    pub(crate) fn path(&self) -> &Path {
        match self {
            Action::Set(p, _) | Action::Remove(p) | Action::Add(p, _) | Action::Delete(p, _) => p,
        }
    }
}
