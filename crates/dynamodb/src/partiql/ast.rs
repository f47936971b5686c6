//! Syntax trees of the PartiQL subset DynamoDB runs.

use super::lexer::Op;

/// A literal as written.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Lit {
    Str(String),
    /// A number's text, with a leading `-` when negated.
    Num(String),
    Bool(bool),
    Null,
    Missing,
}

/// One step of a path after its first name.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Step {
    /// `.name`, `."name"` or `['name']`.
    Name(String),
    /// `[n]`.
    Index(usize),
}

/// A document path: a top-level attribute and the steps into it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Path {
    pub root: String,
    pub steps: Vec<Step>,
}

/// An expression. `AND` and `OR` chains are flat; `NOT IN`, `NOT BETWEEN`, `NOT LIKE` and
/// `IS NOT` are `Not` around the positive form.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Expr {
    Path(Path),
    Lit(Lit),
    /// A `?`: its position among the statement's parameters.
    Param(usize),
    List(Vec<Expr>),
    Bag(Vec<Expr>),
    Struct(Vec<(Expr, Expr)>),
    /// A function call, its name lower case.
    Call(String, Vec<Expr>),
    /// `*` as a function argument (`count(*)`).
    Star,
    Not(Box<Expr>),
    /// Unary `-` or `+` on something other than a number literal.
    Sign(Op, Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    /// Comparisons, arithmetic, `||` and `LIKE`.
    Binary(Op, Box<Expr>, Box<Expr>),
    Between(Box<Expr>, Box<Expr>, Box<Expr>),
    In(Box<Expr>, Box<Expr>),
    Is(Box<Expr>, TypeName),
    /// Something that parsed but is no expression DynamoDB runs (a nested statement), named as
    /// AWS names unsupported operations.
    Unsupported(&'static str),
}

/// A type of `IS`: the PartiQL name as written (upper case) and, for the ones DynamoDB
/// supports, what it means.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct TypeName {
    pub name: String,
    pub kind: Option<TypeKind>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TypeKind {
    Missing,
    Null,
    /// A DynamoDB attribute type (`S`, `N`, `B`, `BOOL`, `M`, `L`).
    Dynamo(&'static str),
}

/// `RETURNING (ALL | MODIFIED) (NEW | OLD) *`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Returning {
    AllNew,
    AllOld,
    ModifiedNew,
    ModifiedOld,
}

impl Returning {
    pub(super) fn words(self) -> &'static str {
        match self {
            Returning::AllNew => "ALL NEW *",
            Returning::AllOld => "ALL OLD *",
            Returning::ModifiedNew => "MODIFIED NEW *",
            Returning::ModifiedOld => "MODIFIED OLD *",
        }
    }

    /// The `ReturnValues` of UpdateItem it asks for.
    pub(super) fn return_values(self) -> &'static str {
        match self {
            Returning::AllNew => "ALL_NEW",
            Returning::AllOld => "ALL_OLD",
            Returning::ModifiedNew => "UPDATED_NEW",
            Returning::ModifiedOld => "UPDATED_OLD",
        }
    }
}

/// One action of an UPDATE.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Action {
    Set(Path, Expr),
    Remove(Path),
}

/// A projection item of a SELECT.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Projected {
    Star,
    Expr(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Select {
    pub projection: Vec<Projected>,
    pub table: String,
    pub index: Option<String>,
    pub filter: Option<Expr>,
    /// `ORDER BY` keys: the attribute and whether descending.
    pub order_by: Vec<(Expr, bool)>,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Statement {
    Select(Select),
    Insert {
        table: String,
        item: Expr,
    },
    Update {
        table: String,
        actions: Vec<Action>,
        filter: Option<Expr>,
        returning: Option<Returning>,
    },
    Delete {
        table: String,
        filter: Option<Expr>,
        returning: Option<Returning>,
    },
    /// `EXISTS(SELECT … WHERE …)`: a condition check of ExecuteTransaction.
    Exists(Select),
}
