//! The S3 Select SQL subset: a lexer and a recursive-descent parser into [`Query`].
//!
//! `SELECT` items (`*`, expressions with `AS` aliases), `FROM S3Object` with an optional path
//! (`S3Object[*].items[*]`) and alias, `WHERE` and `LIMIT`. Expressions: `OR`, `AND`, `NOT`,
//! comparisons, `IS [NOT] NULL|MISSING`, `[NOT] LIKE … [ESCAPE …]`, `[NOT] BETWEEN`, `[NOT] IN`,
//! `||`, arithmetic, `CAST`, `CASE`, function calls (aggregates among them) and paths.
//! Errors carry S3 Select's codes (`ParseUnexpectedToken`, `ParseExpectedExpression`, …).

use super::SelectError;
use super::value::V;

#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    pub text: String,
    /// A quoted identifier matches case-sensitively; a bare one does not.
    pub quoted: bool,
}

impl Name {
    pub fn matches(&self, other: &str) -> bool {
        if self.quoted { self.text == other } else { self.text.eq_ignore_ascii_case(other) }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Field(Name),
    Index(i64),
    Wildcard,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Concat,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Agg {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Type {
    Bool,
    Int,
    Float,
    Decimal,
    String,
    Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Lit(V),
    Path(Vec<Step>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// `IS [NOT] NULL` (`missing` false) or `IS [NOT] MISSING`.
    Is {
        e: Box<Expr>,
        missing: bool,
        not: bool,
    },
    Like {
        e: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<Box<Expr>>,
        not: bool,
    },
    Between {
        e: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        not: bool,
    },
    In {
        e: Box<Expr>,
        list: Vec<Expr>,
        not: bool,
    },
    Cast(Box<Expr>, Type),
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    /// A scalar function, its name lower-cased.
    Call(String, Vec<Expr>),
    /// An aggregate; `None` is `COUNT(*)`. Its index among the query's aggregates.
    Aggregate {
        f: Agg,
        arg: Option<Box<Expr>>,
        slot: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub expr: Expr,
    pub alias: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// None is `SELECT *`.
    pub items: Option<Vec<Item>>,
    /// The steps after `S3Object` in FROM.
    pub from: Vec<Step>,
    pub alias: Option<String>,
    pub filter: Option<Expr>,
    pub limit: Option<u64>,
    /// How many aggregates the items hold (an aggregate query answers one row).
    pub aggregates: usize,
}

/// The longest expression S3 Select takes (256 KB).
pub const MAX_EXPRESSION: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Quoted(String),
    Str(String),
    Int(i64),
    Num(f64),
    Sym(&'static str),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) | Tok::Quoted(s) => s.clone(),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Int(n) => n.to_string(),
            Tok::Num(n) => n.to_string(),
            Tok::Sym(s) => (*s).to_string(),
        }
    }
}

const SYMBOLS: &[&str] =
    &["<>", "!=", "<=", ">=", "||", "*", ",", "(", ")", ".", "[", "]", "=", "<", ">", "+", "-", "/", "%"];

fn lex(sql: &str) -> Result<Vec<(Tok, usize)>, SelectError> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c == b'\'' || c == b'"' {
            let mut s = Vec::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => {
                        return Err(SelectError::new(
                            "LexerInvalidLiteral",
                            format!("The SQL expression contains an unterminated literal at column {}.", start + 1),
                        ));
                    }
                    Some(&q) if q == c => {
                        if b.get(i + 1) == Some(&c) {
                            s.push(c);
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(&x) => {
                        s.push(x);
                        i += 1;
                    }
                }
            }
            let s = String::from_utf8_lossy(&s).into_owned();
            out.push((if c == b'\'' { Tok::Str(s) } else { Tok::Quoted(s) }, start));
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let mut float = false;
            if i < b.len() && b[i] == b'.' && b.get(i + 1).is_none_or(|d| !d.is_ascii_alphabetic()) {
                float = true;
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                let mut j = i + 1;
                if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    float = true;
                    i = j;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text = &sql[start..i];
            let tok = if float {
                Tok::Num(text.parse().map_err(|_| invalid_literal(text, start))?)
            } else {
                match text.parse::<i64>() {
                    Ok(n) => Tok::Int(n),
                    Err(_) => Tok::Num(text.parse().map_err(|_| invalid_literal(text, start))?),
                }
            };
            out.push((tok, start));
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((Tok::Ident(sql[start..i].to_string()), start));
            continue;
        }
        match SYMBOLS.iter().find(|s| sql[i..].starts_with(**s)) {
            Some(s) => {
                i += s.len();
                out.push((Tok::Sym(s), start));
            }
            None => {
                let ch = sql[i..].chars().next().unwrap_or('?');
                return Err(SelectError::new(
                    "LexerInvalidChar",
                    format!("The SQL expression contains an invalid character {ch:?} at column {}.", start + 1),
                ));
            }
        }
    }
    Ok(out)
}

fn invalid_literal(text: &str, at: usize) -> SelectError {
    SelectError::new(
        "LexerInvalidLiteral",
        format!("The SQL expression contains an invalid literal {text} at column {}.", at + 1),
    )
}

/// Words that end an expression or a clause: never taken as a path or an alias.
const RESERVED: &[&str] = &[
    "select", "from", "where", "limit", "as", "and", "or", "not", "is", "null", "missing", "like", "escape", "between",
    "in", "case", "when", "then", "else", "end", "cast", "true", "false",
];

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    aggregates: usize,
    /// Inside an aggregate's argument (aggregates do not nest).
    in_aggregate: bool,
    len: usize,
}

pub fn parse(sql: &str) -> Result<Query, SelectError> {
    if sql.len() > MAX_EXPRESSION {
        return Err(SelectError::new(
            "ExpressionTooLong",
            "The SQL expression is too long: The maximum byte-length for the SQL expression is 256 KB.",
        ));
    }
    let mut p = Parser { toks: lex(sql)?, pos: 0, aggregates: 0, in_aggregate: false, len: sql.len() };
    let q = p.query()?;
    if let Some((t, at)) = p.toks.get(p.pos) {
        return Err(unexpected(t, *at));
    }
    Ok(q)
}

fn unexpected(t: &Tok, at: usize) -> SelectError {
    SelectError::new(
        "ParseUnexpectedToken",
        format!("The SQL expression contains an unexpected token {} at column {}.", t.describe(), at + 1),
    )
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }

    fn is_kw_at(&self, offset: usize, kw: &str) -> bool {
        matches!(self.toks.get(self.pos + offset), Some((Tok::Ident(s), _)) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(x)) if *x == s)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn fail(&self, expected: &str) -> SelectError {
        match self.toks.get(self.pos) {
            Some((t, at)) => unexpected(t, *at),
            None => SelectError::new(
                "ParseExpectedExpression",
                format!("The SQL expression ends where {expected} was expected, at column {}.", self.len + 1),
            ),
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), SelectError> {
        if self.eat_kw(kw) {
            return Ok(());
        }
        match self.toks.get(self.pos) {
            Some((t, at)) => Err(SelectError::new(
                "ParseExpectedKeyword",
                format!(
                    "The SQL expression expected the keyword {} but found {} at column {}.",
                    kw.to_uppercase(),
                    t.describe(),
                    at + 1
                ),
            )),
            None => Err(self.fail(kw)),
        }
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), SelectError> {
        if self.eat_sym(s) {
            return Ok(());
        }
        match self.toks.get(self.pos) {
            Some((t, at)) => Err(SelectError::new(
                "ParseExpectedTokenType",
                format!("The SQL expression expected {s} but found {} at column {}.", t.describe(), at + 1),
            )),
            None => Err(self.fail(s)),
        }
    }

    fn query(&mut self) -> Result<Query, SelectError> {
        self.expect_kw("select")?;
        let items = if self.eat_sym("*") {
            None
        } else {
            let mut items = Vec::new();
            loop {
                let expr = self.expr()?;
                let alias = if self.eat_kw("as") {
                    Some(self.name()?.text)
                } else if let Some(Tok::Ident(s)) = self.peek() {
                    if RESERVED.iter().any(|r| s.eq_ignore_ascii_case(r)) { None } else { Some(self.name()?.text) }
                } else if let Some(Tok::Quoted(_)) = self.peek() {
                    Some(self.name()?.text)
                } else {
                    None
                };
                items.push(Item { expr, alias });
                if !self.eat_sym(",") {
                    break;
                }
            }
            Some(items)
        };
        self.expect_kw("from")?;
        let source = self.name()?;
        if !source.text.eq_ignore_ascii_case("s3object") {
            return Err(SelectError::new(
                "ParseUnsupportedSyntax",
                format!("The SQL expression selects FROM {}: the object is S3Object.", source.text),
            ));
        }
        let from = self.steps()?;
        let alias = if self.eat_kw("as") {
            Some(self.name()?.text)
        } else {
            match self.peek() {
                Some(Tok::Ident(s)) if !RESERVED.iter().any(|r| s.eq_ignore_ascii_case(r)) => Some(self.name()?.text),
                Some(Tok::Quoted(_)) => Some(self.name()?.text),
                _ => None,
            }
        };
        let filter = if self.eat_kw("where") { Some(self.expr()?) } else { None };
        if filter.as_ref().is_some_and(has_aggregate) {
            return Err(SelectError::new(
                "ParseUnsupportedSyntax",
                "The SQL expression uses an aggregate function in the WHERE clause.",
            ));
        }
        let limit = if self.eat_kw("limit") {
            match self.toks.get(self.pos) {
                Some((Tok::Int(n), _)) if *n >= 0 => {
                    let n = *n as u64;
                    self.pos += 1;
                    Some(n)
                }
                Some((t, at)) => {
                    return Err(SelectError::new(
                        "ParseExpectedNumber",
                        format!("LIMIT expects a non-negative integer, not {} at column {}.", t.describe(), at + 1),
                    ));
                }
                None => return Err(self.fail("a number")),
            }
        } else {
            None
        };
        let aggregates = self.aggregates;
        if aggregates > 0 {
            // Every item of an aggregate query is an aggregate or made of aggregates and
            // constants: there is no GROUP BY.
            for item in items.iter().flatten() {
                if has_bare_path(&item.expr) {
                    return Err(SelectError::new(
                        "ParseUnsupportedSyntax",
                        "The SQL expression mixes aggregate functions with non-aggregate columns; S3 Select has no GROUP BY.",
                    ));
                }
            }
        }
        Ok(Query { items, from, alias, filter, limit, aggregates })
    }

    fn name(&mut self) -> Result<Name, SelectError> {
        match self.toks.get(self.pos).cloned() {
            Some((Tok::Ident(s), _)) => {
                self.pos += 1;
                Ok(Name { text: s, quoted: false })
            }
            Some((Tok::Quoted(s), _)) => {
                self.pos += 1;
                Ok(Name { text: s, quoted: true })
            }
            _ => Err(self.fail("a name")),
        }
    }

    /// `.name`, `[n]`, `[*]` and `.*` steps after a name.
    fn steps(&mut self) -> Result<Vec<Step>, SelectError> {
        let mut steps = Vec::new();
        loop {
            if self.eat_sym(".") {
                if self.eat_sym("*") {
                    steps.push(Step::Wildcard);
                } else {
                    if let Some((Tok::Ident(w), at)) = self.toks.get(self.pos)
                        && RESERVED.iter().any(|r| w.eq_ignore_ascii_case(r))
                    {
                        return Err(SelectError::new(
                            "ParseInvalidPathComponent",
                            format!(
                                "The SQL expression uses the keyword {} as a name at column {}: quote it (\"{w}\").",
                                w.to_uppercase(),
                                at + 1
                            ),
                        ));
                    }
                    steps.push(Step::Field(self.name()?));
                }
            } else if self.eat_sym("[") {
                match self.toks.get(self.pos).cloned() {
                    Some((Tok::Sym("*"), _)) => {
                        self.pos += 1;
                        steps.push(Step::Wildcard);
                    }
                    Some((Tok::Int(n), _)) => {
                        self.pos += 1;
                        steps.push(Step::Index(n));
                    }
                    Some((Tok::Str(s), _)) => {
                        self.pos += 1;
                        steps.push(Step::Field(Name { text: s, quoted: true }));
                    }
                    _ => return Err(self.fail("an index")),
                }
                self.expect_sym("]")?;
            } else {
                return Ok(steps);
            }
        }
    }

    fn expr(&mut self) -> Result<Expr, SelectError> {
        let mut left = self.and()?;
        while self.eat_kw("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, SelectError> {
        let mut left = self.not()?;
        while self.eat_kw("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, SelectError> {
        if self.eat_kw("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, SelectError> {
        let left = self.concat()?;
        let b = |e: Expr| Box::new(e);
        if self.eat_kw("is") {
            let not = self.eat_kw("not");
            let missing = if self.eat_kw("null") {
                false
            } else if self.eat_kw("missing") {
                true
            } else {
                return Err(self.fail("NULL or MISSING"));
            };
            return Ok(Expr::Is { e: b(left), missing, not });
        }
        let not = if self.is_kw("not")
            && (self.is_kw_at(1, "like") || self.is_kw_at(1, "between") || self.is_kw_at(1, "in"))
        {
            self.pos += 1;
            true
        } else {
            false
        };
        if self.eat_kw("like") {
            let pattern = self.concat()?;
            let escape = if self.eat_kw("escape") { Some(b(self.concat()?)) } else { None };
            return Ok(Expr::Like { e: b(left), pattern: b(pattern), escape, not });
        }
        if self.eat_kw("between") {
            let low = self.concat()?;
            self.expect_kw("and")?;
            let high = self.concat()?;
            return Ok(Expr::Between { e: b(left), low: b(low), high: b(high), not });
        }
        if self.eat_kw("in") {
            self.expect_sym("(")?;
            let mut list = vec![self.expr()?];
            while self.eat_sym(",") {
                list.push(self.expr()?);
            }
            self.expect_sym(")")?;
            return Ok(Expr::In { e: b(left), list, not });
        }
        if not {
            return Err(self.fail("LIKE, BETWEEN or IN"));
        }
        let op = match self.peek() {
            Some(Tok::Sym("=")) => BinOp::Eq,
            Some(Tok::Sym("!=")) | Some(Tok::Sym("<>")) => BinOp::Ne,
            Some(Tok::Sym("<")) => BinOp::Lt,
            Some(Tok::Sym("<=")) => BinOp::Le,
            Some(Tok::Sym(">")) => BinOp::Gt,
            Some(Tok::Sym(">=")) => BinOp::Ge,
            _ => return Ok(left),
        };
        self.pos += 1;
        let right = self.concat()?;
        Ok(Expr::Bin(op, b(left), b(right)))
    }

    fn concat(&mut self) -> Result<Expr, SelectError> {
        let mut left = self.additive()?;
        while self.eat_sym("||") {
            left = Expr::Bin(BinOp::Concat, Box::new(left), Box::new(self.additive()?));
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr, SelectError> {
        let mut left = self.term()?;
        loop {
            let op = if self.eat_sym("+") {
                BinOp::Add
            } else if self.eat_sym("-") {
                BinOp::Sub
            } else {
                return Ok(left);
            };
            left = Expr::Bin(op, Box::new(left), Box::new(self.term()?));
        }
    }

    fn term(&mut self) -> Result<Expr, SelectError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat_sym("*") {
                BinOp::Mul
            } else if self.eat_sym("/") {
                BinOp::Div
            } else if self.eat_sym("%") {
                BinOp::Mod
            } else {
                return Ok(left);
            };
            left = Expr::Bin(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, SelectError> {
        if self.eat_sym("-") {
            return Ok(match self.unary()? {
                Expr::Lit(V::Int(n)) => Expr::Lit(V::Int(n.wrapping_neg())),
                Expr::Lit(V::Float(f)) => Expr::Lit(V::Float(-f)),
                e => Expr::Neg(Box::new(e)),
            });
        }
        if self.eat_sym("+") {
            return self.unary();
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, SelectError> {
        let Some((tok, at)) = self.toks.get(self.pos).cloned() else { return Err(self.fail("an expression")) };
        match tok {
            Tok::Str(s) => {
                self.pos += 1;
                Ok(Expr::Lit(V::Str(s)))
            }
            Tok::Int(n) => {
                self.pos += 1;
                Ok(Expr::Lit(V::Int(n)))
            }
            Tok::Num(f) => {
                self.pos += 1;
                Ok(Expr::Lit(V::Float(f)))
            }
            Tok::Sym("(") => {
                self.pos += 1;
                let e = self.expr()?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Tok::Quoted(_) => {
                let first = self.name()?;
                let mut steps = vec![Step::Field(first)];
                steps.extend(self.steps()?);
                Ok(Expr::Path(steps))
            }
            Tok::Ident(word) => {
                let lower = word.to_ascii_lowercase();
                match lower.as_str() {
                    "null" => {
                        self.pos += 1;
                        return Ok(Expr::Lit(V::Null));
                    }
                    "missing" => {
                        self.pos += 1;
                        return Ok(Expr::Lit(V::Missing));
                    }
                    "true" | "false" => {
                        self.pos += 1;
                        return Ok(Expr::Lit(V::Bool(lower == "true")));
                    }
                    "cast" => return self.cast(),
                    "case" => return self.case(),
                    _ => {}
                }
                if RESERVED.contains(&lower.as_str()) {
                    return Err(SelectError::new(
                        "ParseExpectedExpression",
                        format!(
                            "The SQL expression expected an expression but found the keyword {} at column {}.",
                            word.to_uppercase(),
                            at + 1
                        ),
                    ));
                }
                if matches!(self.toks.get(self.pos + 1), Some((Tok::Sym("("), _))) {
                    self.pos += 2;
                    return self.call(&lower, at);
                }
                let first = self.name()?;
                let mut steps = vec![Step::Field(first)];
                steps.extend(self.steps()?);
                Ok(Expr::Path(steps))
            }
            other => Err(unexpected(&other, at)),
        }
    }

    fn cast(&mut self) -> Result<Expr, SelectError> {
        self.pos += 1;
        self.expect_sym("(")?;
        let e = self.expr()?;
        self.expect_kw("as")?;
        let (ty, at) = match self.toks.get(self.pos).cloned() {
            Some((Tok::Ident(t), at)) => (t.to_ascii_lowercase(), at),
            _ => return Err(self.fail("a type")),
        };
        self.pos += 1;
        let ty = match ty.as_str() {
            "bool" | "boolean" => Type::Bool,
            "int" | "integer" | "bigint" | "smallint" => Type::Int,
            "float" | "real" => Type::Float,
            "double" => {
                self.eat_kw("precision");
                Type::Float
            }
            "decimal" | "numeric" => {
                // Precision and scale are accepted and not applied.
                if self.eat_sym("(") {
                    while !self.eat_sym(")") {
                        if self.peek().is_none() {
                            return Err(self.fail(")"));
                        }
                        self.pos += 1;
                    }
                }
                Type::Decimal
            }
            "string" | "varchar" | "char" | "character" => Type::String,
            "timestamp" => Type::Timestamp,
            other => {
                return Err(SelectError::new(
                    "ParseInvalidTypeParam",
                    format!("The SQL expression casts to an unknown type {other} at column {}.", at + 1),
                ));
            }
        };
        self.expect_sym(")")?;
        Ok(Expr::Cast(Box::new(e), ty))
    }

    fn case(&mut self) -> Result<Expr, SelectError> {
        self.pos += 1;
        let operand = if self.is_kw("when") { None } else { Some(Box::new(self.expr()?)) };
        let mut whens = Vec::new();
        while self.eat_kw("when") {
            let cond = self.expr()?;
            self.expect_kw("then")?;
            whens.push((cond, self.expr()?));
        }
        if whens.is_empty() {
            return Err(self.fail("WHEN"));
        }
        let otherwise = if self.eat_kw("else") { Some(Box::new(self.expr()?)) } else { None };
        self.expect_kw("end")?;
        Ok(Expr::Case { operand, whens, otherwise })
    }

    /// A call whose `name(` was read.
    fn call(&mut self, name: &str, at: usize) -> Result<Expr, SelectError> {
        let agg = match name {
            "count" => Some(Agg::Count),
            "sum" => Some(Agg::Sum),
            "avg" => Some(Agg::Avg),
            "min" => Some(Agg::Min),
            "max" => Some(Agg::Max),
            _ => None,
        };
        if let Some(f) = agg {
            if self.in_aggregate {
                return Err(SelectError::new(
                    "ParseUnsupportedSyntax",
                    format!("The SQL expression nests aggregate functions at column {}.", at + 1),
                ));
            }
            let arg = if f == Agg::Count && self.eat_sym("*") {
                None
            } else {
                self.in_aggregate = true;
                let e = self.expr();
                self.in_aggregate = false;
                Some(Box::new(e?))
            };
            self.expect_sym(")")?;
            let slot = self.aggregates;
            self.aggregates += 1;
            return Ok(Expr::Aggregate { f, arg, slot });
        }
        let args = match name {
            "substring" => {
                let s = self.expr()?;
                let mut args = vec![s];
                if self.eat_kw("from") || self.eat_sym(",") {
                    args.push(self.expr()?);
                    if self.eat_kw("for") || self.eat_sym(",") {
                        args.push(self.expr()?);
                    }
                }
                args
            }
            "trim" => {
                // TRIM([[LEADING|TRAILING|BOTH] [chars] FROM] s): args are (mode, chars, s).
                let mode = ["leading", "trailing", "both"].into_iter().find(|m| self.is_kw(m));
                if mode.is_some() {
                    self.pos += 1;
                }
                let mode = Expr::Lit(V::Str(mode.unwrap_or("both").to_string()));
                if self.eat_kw("from") {
                    vec![mode, Expr::Lit(V::Str(" ".into())), self.expr()?]
                } else {
                    let first = self.expr()?;
                    if self.eat_kw("from") {
                        vec![mode, first, self.expr()?]
                    } else {
                        vec![mode, Expr::Lit(V::Str(" ".into())), first]
                    }
                }
            }
            "extract" => {
                let part = match self.toks.get(self.pos).cloned() {
                    Some((Tok::Ident(p), _)) => p.to_ascii_lowercase(),
                    _ => return Err(self.fail("a date part")),
                };
                self.pos += 1;
                self.expect_kw("from")?;
                vec![Expr::Lit(V::Str(part)), self.expr()?]
            }
            "date_add" | "date_diff" => {
                let part = match self.toks.get(self.pos).cloned() {
                    Some((Tok::Ident(p), _)) => p.to_ascii_lowercase(),
                    _ => return Err(self.fail("a date part")),
                };
                self.pos += 1;
                self.expect_sym(",")?;
                let a = self.expr()?;
                self.expect_sym(",")?;
                vec![Expr::Lit(V::Str(part)), a, self.expr()?]
            }
            _ => {
                let mut args = Vec::new();
                if !self.is_sym(")") {
                    args.push(self.expr()?);
                    while self.eat_sym(",") {
                        args.push(self.expr()?);
                    }
                }
                args
            }
        };
        self.expect_sym(")")?;
        if !super::eval::FUNCTIONS.contains(&name) {
            return Err(SelectError::new(
                "UnsupportedFunction",
                format!(
                    "The SQL expression calls an unsupported function {} at column {}.",
                    name.to_uppercase(),
                    at + 1
                ),
            ));
        }
        Ok(Expr::Call(name.to_string(), args))
    }
}

fn has_aggregate(e: &Expr) -> bool {
    let mut found = false;
    walk(e, &mut |x| found |= matches!(x, Expr::Aggregate { .. }));
    found
}

/// Whether a path is used outside any aggregate.
fn has_bare_path(e: &Expr) -> bool {
    match e {
        Expr::Aggregate { .. } => false,
        Expr::Path(_) => true,
        _ => {
            let mut found = false;
            children(e, &mut |c| found |= has_bare_path(c));
            found
        }
    }
}

fn walk(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    children(e, &mut |c| walk(c, f));
}

fn children(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    match e {
        Expr::Lit(_) | Expr::Path(_) => {}
        Expr::Neg(a) | Expr::Not(a) | Expr::Cast(a, _) | Expr::Is { e: a, .. } => f(a),
        Expr::And(a, b) | Expr::Or(a, b) | Expr::Bin(_, a, b) => {
            f(a);
            f(b);
        }
        Expr::Like { e, pattern, escape, .. } => {
            f(e);
            f(pattern);
            if let Some(x) = escape {
                f(x);
            }
        }
        Expr::Between { e, low, high, .. } => {
            f(e);
            f(low);
            f(high);
        }
        Expr::In { e, list, .. } => {
            f(e);
            list.iter().for_each(&mut *f);
        }
        Expr::Case { operand, whens, otherwise } => {
            if let Some(o) = operand {
                f(o);
            }
            for (c, v) in whens {
                f(c);
                f(v);
            }
            if let Some(o) = otherwise {
                f(o);
            }
        }
        Expr::Call(_, args) => args.iter().for_each(&mut *f),
        Expr::Aggregate { arg, .. } => {
            if let Some(a) = arg {
                f(a);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_shapes() {
        let q = parse("SELECT s.name, s._2 AS age FROM S3Object s WHERE CAST(s.age AS INT) > 30 LIMIT 5").unwrap();
        let items = q.items.unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].alias.as_deref(), Some("age"));
        assert_eq!(q.alias.as_deref(), Some("s"));
        assert_eq!(q.limit, Some(5));
        assert!(matches!(q.filter, Some(Expr::Bin(BinOp::Gt, _, _))));
        let q = parse("select * from s3object[*].items[*] t").unwrap();
        assert_eq!(q.items, None);
        assert_eq!(q.from.len(), 3);
        assert_eq!(q.alias.as_deref(), Some("t"));
        let q = parse("SELECT COUNT(*), AVG(CAST(_3 AS FLOAT)) FROM S3Object").unwrap();
        assert_eq!(q.aggregates, 2);
    }

    #[test]
    fn precedence() {
        let q = parse("SELECT * FROM S3Object WHERE a = 1 OR b = 2 AND NOT c = 3").unwrap();
        let Some(Expr::Or(_, right)) = q.filter else { panic!("OR binds loosest") };
        assert!(matches!(*right, Expr::And(_, _)));
        let q = parse("SELECT 1 + 2 * 3 FROM S3Object").unwrap();
        let e = &q.items.unwrap()[0].expr;
        assert!(matches!(e, Expr::Bin(BinOp::Add, _, r) if matches!(**r, Expr::Bin(BinOp::Mul, _, _))));
    }

    #[test]
    fn errors_carry_select_codes() {
        let code = |sql: &str| parse(sql).unwrap_err().code;
        assert_eq!(code("SELECT * FROM S3Object WHERE"), "ParseExpectedExpression");
        assert_eq!(code("SELECT * FROM S3Object s s"), "ParseUnexpectedToken");
        assert_eq!(code("SELEC * FROM S3Object"), "ParseExpectedKeyword");
        assert_eq!(code("SELECT * FROM S3Object WHERE a = 'x"), "LexerInvalidLiteral");
        assert_eq!(code("SELECT * FROM S3Object WHERE a # 1"), "LexerInvalidChar");
        assert_eq!(code("SELECT nosuch(a) FROM S3Object"), "UnsupportedFunction");
        assert_eq!(code("SELECT name, COUNT(*) FROM S3Object"), "ParseUnsupportedSyntax");
        assert_eq!(code("SELECT CAST(a AS BLOB) FROM S3Object"), "ParseInvalidTypeParam");
        assert_eq!(code("SELECT * FROM S3Object LIMIT x"), "ParseExpectedNumber");
    }
}
