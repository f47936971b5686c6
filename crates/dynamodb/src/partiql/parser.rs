//! A recursive-descent parser for the PartiQL statements DynamoDB runs, following the reference
//! PartiQL parser where its messages show through: expressions by precedence climbing with
//! PartiQL's precedences (OR < AND < NOT < `=` `<>` `IS` < `<` `>` `IN` `BETWEEN` `LIKE` < `+`
//! `-` `||` < `*` `/` `%`), syntax errors at once, and semantic refusals (an alias, an
//! unsupported clause) remembered and reported only once the whole statement has parsed, as AWS
//! reports a syntax error anywhere before them.

use stratus_proto::AwsError;

use super::ast::{Action, Expr, Lit, Path, Projected, Returning, Select, Statement, Step, TypeKind, TypeName};
use super::lexer::{Op, Tok};
use super::messages as msg;
use super::{malformed, validation};

/// How deep expressions may nest (brackets, operators, NOT): bounds the recursion whatever the
/// input. DynamoDB's own limits (32 levels of values, 300 operators) come well before it.
pub(super) const MAX_DEPTH: usize = 100;

type PResult<T> = Result<T, AwsError>;

static EOF: Tok = Tok::Eof;

/// An infix operator as the parser sees it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Infix {
    Binary(Op),
    And,
    Or,
    Is { negated: bool },
    In { negated: bool },
    Between { negated: bool },
    Like { negated: bool },
}

pub(super) struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
    /// How many `?` the statement has so far.
    pub params: usize,
    /// The first semantic refusal found, reported once the statement has parsed.
    pub deferred: Option<AwsError>,
}

impl Parser {
    pub(super) fn new(toks: Vec<Tok>) -> Parser {
        Parser { toks, pos: 0, depth: 0, params: 0, deferred: None }
    }

    // Statements.

    pub(super) fn statement(&mut self) -> PResult<Statement> {
        let stmt = match self.peek() {
            Tok::Kw("SELECT") => {
                self.advance();
                Statement::Select(self.select()?)
            }
            Tok::Kw("INSERT") => {
                self.advance();
                if !self.eat_kw("INTO") {
                    return Err(malformed(msg::UNEXPECTED_KEYWORD));
                }
                self.insert()?
            }
            Tok::Kw("UPDATE") => {
                self.advance();
                self.update()?
            }
            Tok::Kw("DELETE") => {
                self.advance();
                if !self.eat_kw("FROM") {
                    return Err(malformed(msg::EXPECTED_FROM_AFTER_DELETE));
                }
                self.delete()?
            }
            Tok::Kw("FROM") => {
                self.advance();
                self.dml_after_from()?
            }
            Tok::Kw(kw @ ("CREATE" | "DROP")) => {
                let kw: &'static str = kw;
                return Err(self.ddl(kw));
            }
            Tok::Ident(w)
                if w.eq_ignore_ascii_case("exists")
                    && *self.peek_at(1) == Tok::LParen
                    && *self.peek_at(2) == Tok::Kw("SELECT") =>
            {
                self.pos += 3;
                self.enter()?;
                let select = self.select()?;
                self.expect(&Tok::RParen, "RIGHT_PAREN")?;
                self.leave();
                Statement::Exists(select)
            }
            _ => {
                // An expression on its own: parsed for its syntax errors, then refused as AWS
                // refuses it, by the kind of expression.
                let e = self.parse_expr(0)?;
                self.finish()?;
                let refusal = validation(msg::unsupported_operation(kind_of(&e)));
                return Err(self.deferred.take().unwrap_or(refusal));
            }
        };
        self.finish()?;
        Ok(stmt)
    }

    /// The end of a statement: an optional `;`, then nothing.
    fn finish(&mut self) -> PResult<()> {
        if self.eat(&Tok::Semi) && *self.peek() != Tok::Eof {
            return Err(malformed(msg::AFTER_SEMICOLON));
        }
        if *self.peek() != Tok::Eof {
            return Err(malformed(msg::LEFTOVER));
        }
        Ok(())
    }

    fn ddl(&mut self, kw: &str) -> AwsError {
        self.advance();
        let what = match (kw, self.peek()) {
            ("CREATE", Tok::Kw("TABLE")) => "CreateTable",
            ("CREATE", Tok::Kw("INDEX")) => "CreateIndex",
            ("DROP", Tok::Kw("TABLE")) => "DropTable",
            ("DROP", Tok::Kw("INDEX")) => "DropIndex",
            // PartiQL's message (unverified on AWS).
            _ => return malformed(&format!("Unexpected token following {kw}")),
        };
        validation(msg::unsupported_operation(what))
    }

    /// After `SELECT`.
    fn select(&mut self) -> PResult<Select> {
        let mut projection = Vec::new();
        if self.eat_kw("VALUE") {
            self.defer(validation(msg::SELECT_VALUE));
            self.parse_expr(0)?;
            projection.push(Projected::Star);
        } else {
            if self.eat_kw("DISTINCT") {
                self.defer(validation(msg::unsupported_clause("DISTINCT")));
            } else {
                self.eat_kw("ALL");
            }
            loop {
                if self.eat(&Tok::Star) {
                    projection.push(Projected::Star);
                } else {
                    projection.push(Projected::Expr(self.parse_expr(0)?));
                    self.optional_alias(false)?;
                }
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            if projection.len() > 1 && projection.contains(&Projected::Star) {
                return Err(malformed(msg::STAR_NOT_ALONE));
            }
        }
        if !self.eat_kw("FROM") {
            return Err(malformed(msg::EXPECTED_FROM_AFTER_SELECT));
        }
        let (table, index) = self.source()?;
        let filter = if self.eat_kw("WHERE") { Some(self.parse_expr(0)?) } else { None };
        if self.is_kw("GROUP") {
            return Err(validation(msg::unsupported_clause("GROUP BY")));
        }
        if self.is_kw("HAVING") {
            return Err(validation(msg::unsupported_clause("HAVING")));
        }
        let mut order_by = Vec::new();
        if self.eat_kw("ORDER") {
            if !self.eat_kw("BY") {
                return Err(malformed(&msg::expected("BY")));
            }
            loop {
                let key = self.parse_expr(0)?;
                let descending = self.eat_kw("DESC");
                if !descending {
                    self.eat_kw("ASC");
                }
                order_by.push((key, descending));
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            if filter.is_none() {
                self.defer(validation(msg::ORDER_BY_WITHOUT_WHERE));
            }
        }
        for clause in ["LIMIT", "OFFSET"] {
            if self.is_kw(clause) {
                return Err(validation(msg::unsupported_clause(clause)));
            }
        }
        Ok(Select { projection, table, index, filter, order_by })
    }

    /// The table (and index) a SELECT or a FROM-first update reads, and any alias.
    fn source(&mut self) -> PResult<(String, Option<String>)> {
        let e = self.parse_path_term()?;
        let (table, index) = match e {
            Expr::Path(Path { root, steps }) => {
                let mut names = Vec::new();
                for step in steps {
                    match step {
                        Step::Name(n) => names.push(n),
                        Step::Index(_) => self.defer(validation(msg::UNEXPECTED_FROM_SOURCE)),
                    }
                }
                if names.len() > 1 {
                    self.defer(validation(msg::FROM_COMPONENTS));
                }
                (root, names.into_iter().next())
            }
            _ => {
                self.defer(validation(msg::UNEXPECTED_FROM_SOURCE));
                (String::new(), None)
            }
        };
        self.check_table_name(&table);
        self.optional_alias(true)?;
        if self.eat(&Tok::Comma) {
            self.defer(validation(msg::MULTIPLE_FROM));
            self.source()?;
        }
        Ok((table, index))
    }

    /// `AS name`, `AT name`, `BY name` or a bare name after a table (or a projection item):
    /// parsed, then refused.
    fn optional_alias(&mut self, with_at_by: bool) -> PResult<()> {
        loop {
            let keyword = self.eat_kw("AS") || (with_at_by && (self.eat_kw("AT") || self.eat_kw("BY")));
            if keyword {
                match self.advance() {
                    Tok::Ident(_) | Tok::Quoted(_) => {}
                    _ => return Err(malformed(msg::UNEXPECTED_TERM)),
                }
            } else if matches!(self.peek(), Tok::Ident(w) if !w.eq_ignore_ascii_case("returning")) {
                self.advance();
            } else {
                return Ok(());
            }
            self.defer(validation(msg::ALIASING));
        }
    }

    fn check_table_name(&mut self, name: &str) {
        let valid = (3..=255).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid {
            self.defer(validation(msg::TABLE_NAME));
        }
    }

    /// The table of INSERT, UPDATE and DELETE: a name, not an index.
    fn dml_table(&mut self) -> PResult<String> {
        let table = match self.advance() {
            Tok::Ident(s) | Tok::Quoted(s) => s,
            _ => return Err(malformed(msg::EXPECTED_SIMPLE_PATH)),
        };
        while *self.peek() == Tok::Dot {
            self.advance();
            match self.advance() {
                Tok::Ident(_) | Tok::Quoted(_) => self.defer(validation(msg::ON_INDEX)),
                Tok::Star => return Err(malformed(msg::INVALID_DOT_SIMPLE)),
                _ => return Err(malformed(msg::INVALID_DOT_COMPONENT)),
            }
        }
        self.check_table_name(&table);
        Ok(table)
    }

    /// After `INSERT INTO`.
    fn insert(&mut self) -> PResult<Statement> {
        let table = self.dml_table()?;
        let item = if self.eat_kw("VALUE") {
            let item = self.parse_expr(0)?;
            if self.eat_kw("AT") {
                self.parse_expr(0)?;
                self.defer(validation(msg::AT_UNSUPPORTED));
            }
            if self.is_word("returning") {
                self.returning()?;
                self.defer(validation(msg::RETURNING_INSERT));
            }
            if !matches!(item, Expr::Struct(_)) {
                self.defer(validation(msg::ITEM_SYNTAX));
            }
            item
        } else {
            if self.eat_kw("VALUES") {
                loop {
                    self.parse_expr(0)?;
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
            } else {
                self.parse_expr(0)?;
            }
            self.defer(validation(msg::INSERT_MANY));
            Expr::Struct(Vec::new())
        };
        Ok(Statement::Insert { table, item })
    }

    /// After `UPDATE`.
    fn update(&mut self) -> PResult<Statement> {
        let table = self.dml_table()?;
        self.optional_alias(true)?;
        let actions = self.dml_actions()?;
        let filter = if self.eat_kw("WHERE") { Some(self.parse_expr(0)?) } else { None };
        let returning = self.optional_returning()?;
        Ok(Statement::Update { table, actions, filter, returning })
    }

    /// After `DELETE FROM`.
    fn delete(&mut self) -> PResult<Statement> {
        let table = self.dml_table()?;
        self.optional_alias(true)?;
        let filter = if self.eat_kw("WHERE") { Some(self.parse_expr(0)?) } else { None };
        let returning = self.optional_returning()?;
        Ok(Statement::Delete { table, filter, returning })
    }

    /// After `FROM` at the start: `FROM t [WHERE c] SET … | REMOVE … [RETURNING …]`, PartiQL's
    /// other form of UPDATE.
    fn dml_after_from(&mut self) -> PResult<Statement> {
        let (table, index) = self.source()?;
        if index.is_some() {
            self.defer(validation(msg::ON_INDEX));
        }
        let filter = if self.eat_kw("WHERE") { Some(self.parse_expr(0)?) } else { None };
        let actions = self.dml_actions()?;
        let returning = self.optional_returning()?;
        Ok(Statement::Update { table, actions, filter, returning })
    }

    /// `SET path = value[, …]` and `REMOVE path`, repeated; at least one.
    fn dml_actions(&mut self) -> PResult<Vec<Action>> {
        let mut actions = Vec::new();
        loop {
            if self.eat_kw("SET") {
                if !matches!(self.peek(), Tok::Ident(_) | Tok::Quoted(_)) {
                    return Err(malformed(msg::EXPECTED_ASSIGNMENT));
                }
                loop {
                    let target = self.simple_path()?;
                    if !self.eat(&Tok::Op(Op::Eq)) {
                        return Err(malformed(&msg::expected("'='")));
                    }
                    actions.push(Action::Set(target, self.parse_expr(0)?));
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
            } else if self.eat_kw("REMOVE") {
                actions.push(Action::Remove(self.simple_path()?));
            } else if actions.is_empty() {
                return Err(malformed(msg::EXPECTED_DML));
            } else {
                return Ok(actions);
            }
        }
    }

    /// The target of SET or REMOVE: a name, then `.name` and `[literal]` steps.
    fn simple_path(&mut self) -> PResult<Path> {
        let root = match self.advance() {
            Tok::Ident(s) | Tok::Quoted(s) => s,
            _ => return Err(malformed(msg::EXPECTED_SIMPLE_PATH)),
        };
        let mut steps = Vec::new();
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.advance();
                    match self.advance() {
                        Tok::Ident(s) | Tok::Quoted(s) => steps.push(Step::Name(s)),
                        Tok::Star => return Err(malformed(msg::INVALID_DOT_SIMPLE)),
                        _ => return Err(malformed(msg::INVALID_DOT_COMPONENT)),
                    }
                }
                Tok::LBracket => {
                    self.advance();
                    let e = self.parse_expr(0)?;
                    self.expect(&Tok::RBracket, "RIGHT_BRACKET")?;
                    if !matches!(e, Expr::Lit(Lit::Num(_) | Lit::Str(_))) {
                        return Err(malformed(msg::INVALID_COMPONENT_SIMPLE));
                    }
                    if let Some(step) = self.step_of(&e) {
                        steps.push(step);
                    }
                }
                _ => return Ok(Path { root, steps }),
            }
        }
    }

    fn optional_returning(&mut self) -> PResult<Option<Returning>> {
        if self.is_word("returning") { self.returning().map(Some) } else { Ok(None) }
    }

    /// `RETURNING (ALL | MODIFIED) (NEW | OLD) *[, …]`.
    fn returning(&mut self) -> PResult<Returning> {
        self.advance();
        let mut first = None;
        loop {
            let all = if self.eat_kw("ALL") {
                true
            } else if self.eat_word("modified") {
                false
            } else {
                // Unverified: PartiQL's message for a RETURNING element of another form.
                return Err(malformed("Unexpected token"));
            };
            let new = if self.eat_word("new") {
                true
            } else if self.eat_word("old") {
                false
            } else {
                return Err(malformed("Unexpected token"));
            };
            if !self.eat(&Tok::Star) {
                self.parse_expr(0)?;
                self.defer(validation(msg::RETURNING_SYNTAX));
            }
            let r = match (all, new) {
                (true, true) => Returning::AllNew,
                (true, false) => Returning::AllOld,
                (false, true) => Returning::ModifiedNew,
                (false, false) => Returning::ModifiedOld,
            };
            if first.is_some() {
                self.defer(validation(msg::RETURNING_MANY));
            }
            first.get_or_insert(r);
            if !self.eat(&Tok::Comma) {
                return Ok(r);
            }
        }
    }

    // Expressions.

    /// An expression of operators binding tighter than `min` (0: all).
    pub(super) fn parse_expr(&mut self, min: u8) -> PResult<Expr> {
        self.enter()?;
        let start = self.depth;
        let result = self.climb(min);
        self.depth = start;
        self.leave();
        result
    }

    fn climb(&mut self, min: u8) -> PResult<Expr> {
        let mut left = self.parse_unary()?;
        while let Some((infix, prec, width)) = self.infix() {
            if prec <= min {
                break;
            }
            let checks_rhs = !matches!(infix, Infix::Is { .. });
            if checks_rhs && *self.peek_at(width) == Tok::Eof {
                return Err(malformed(msg::MISSING_RHS));
            }
            self.pos += width;
            if !matches!(infix, Infix::And | Infix::Or) {
                // Other operators nest to the left: each counts as a level.
                self.enter()?;
            }
            left = self.apply(infix, prec, left)?;
        }
        Ok(left)
    }

    fn apply(&mut self, infix: Infix, prec: u8, left: Expr) -> PResult<Expr> {
        let negate = |negated: bool, e: Expr| if negated { Expr::Not(Box::new(e)) } else { e };
        Ok(match infix {
            Infix::And => {
                let right = self.parse_expr(prec)?;
                let mut parts = match left {
                    Expr::And(parts) => parts,
                    other => vec![other],
                };
                match right {
                    Expr::And(more) => parts.extend(more),
                    other => parts.push(other),
                }
                Expr::And(parts)
            }
            Infix::Or => {
                let right = self.parse_expr(prec)?;
                let mut parts = match left {
                    Expr::Or(parts) => parts,
                    other => vec![other],
                };
                match right {
                    Expr::Or(more) => parts.extend(more),
                    other => parts.push(other),
                }
                Expr::Or(parts)
            }
            Infix::Is { negated } => negate(negated, Expr::Is(Box::new(left), self.type_name()?)),
            Infix::In { negated } => {
                let right = if *self.peek() == Tok::LParen {
                    self.advance();
                    Expr::List(self.list_until(&Tok::RParen, "RIGHT_PAREN")?)
                } else {
                    self.parse_expr(prec)?
                };
                negate(negated, Expr::In(Box::new(left), Box::new(right)))
            }
            Infix::Between { negated } => {
                let low = self.parse_expr(prec)?;
                if !self.eat(&Tok::Op(Op::And)) {
                    return Err(malformed(&msg::expected("AND")));
                }
                if *self.peek() == Tok::Eof {
                    return Err(malformed(msg::EXPECTED_AFTER_AND));
                }
                let high = self.parse_expr(prec)?;
                negate(negated, Expr::Between(Box::new(left), Box::new(low), Box::new(high)))
            }
            Infix::Like { negated } => {
                let right = self.parse_expr(prec)?;
                if self.eat_kw("ESCAPE") {
                    self.parse_expr(prec)?;
                }
                negate(negated, Expr::Binary(Op::Like, Box::new(left), Box::new(right)))
            }
            Infix::Binary(op) => Expr::Binary(op, Box::new(left), Box::new(self.parse_expr(prec)?)),
        })
    }

    /// The infix operator here, its precedence and how many tokens it takes.
    fn infix(&self) -> Option<(Infix, u8, usize)> {
        Some(match self.peek() {
            Tok::Op(Op::Or) => (Infix::Or, 20, 1),
            Tok::Op(Op::And) => (Infix::And, 30, 1),
            Tok::Op(op @ (Op::Eq | Op::Ne)) => (Infix::Binary(*op), 50, 1),
            Tok::Op(Op::Is) if *self.peek_at(1) == Tok::Op(Op::Not) => (Infix::Is { negated: true }, 50, 2),
            Tok::Op(Op::Is) => (Infix::Is { negated: false }, 50, 1),
            Tok::Op(op @ (Op::Lt | Op::Le | Op::Gt | Op::Ge)) => (Infix::Binary(*op), 60, 1),
            Tok::Op(Op::In) => (Infix::In { negated: false }, 60, 1),
            Tok::Op(Op::Between) => (Infix::Between { negated: false }, 60, 1),
            Tok::Op(Op::Like) => (Infix::Like { negated: false }, 60, 1),
            Tok::Op(Op::Not) => match self.peek_at(1) {
                Tok::Op(Op::In) => (Infix::In { negated: true }, 60, 2),
                Tok::Op(Op::Between) => (Infix::Between { negated: true }, 60, 2),
                Tok::Op(Op::Like) => (Infix::Like { negated: true }, 60, 2),
                _ => return None,
            },
            Tok::Op(op @ (Op::Plus | Op::Minus | Op::Concat)) => (Infix::Binary(*op), 70, 1),
            Tok::Star => (Infix::Binary(Op::Times), 80, 1),
            Tok::Op(op @ (Op::Slash | Op::Percent)) => (Infix::Binary(*op), 80, 1),
            _ => return None,
        })
    }

    fn parse_unary(&mut self) -> PResult<Expr> {
        match self.peek() {
            Tok::Op(Op::Not) => {
                self.advance();
                let inner = self.parse_expr(40)?;
                Ok(Expr::Not(Box::new(inner)))
            }
            Tok::Op(op @ (Op::Minus | Op::Plus)) => {
                let op = *op;
                self.advance();
                self.enter()?;
                let term = self.parse_unary()?;
                self.leave();
                Ok(match term {
                    // PartiQL folds a sign into a number literal.
                    Expr::Lit(Lit::Num(text)) if op == Op::Minus => Expr::Lit(Lit::Num(match text.strip_prefix('-') {
                        Some(positive) => positive.to_string(),
                        None => format!("-{text}"),
                    })),
                    number @ Expr::Lit(Lit::Num(_)) => number,
                    other => Expr::Sign(op, Box::new(other)),
                })
            }
            _ => self.parse_path_term(),
        }
    }

    /// A term and the path steps after it.
    fn parse_path_term(&mut self) -> PResult<Expr> {
        let mut term = self.parse_term()?;
        if !matches!(self.peek(), Tok::Dot | Tok::LBracket) {
            return Ok(term);
        }
        let mut steps = Vec::new();
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.advance();
                    match self.advance() {
                        Tok::Ident(s) | Tok::Quoted(s) => steps.push(Step::Name(s)),
                        Tok::Star => self.defer(validation(msg::UNPIVOT_PATH)),
                        _ => return Err(malformed(msg::INVALID_DOT_COMPONENT)),
                    }
                }
                Tok::LBracket => {
                    self.advance();
                    if self.eat(&Tok::Star) {
                        self.defer(validation(msg::WILDCARD_PATH));
                    } else {
                        let e = self.parse_expr(0)?;
                        if let Some(step) = self.step_of(&e) {
                            steps.push(step);
                        }
                    }
                    self.expect(&Tok::RBracket, "RIGHT_BRACKET")?;
                }
                _ => break,
            }
        }
        match &mut term {
            Expr::Path(p) => p.steps.extend(steps),
            _ => self.defer(validation(msg::UNEXPECTED_PATH_COMPONENT)),
        }
        Ok(term)
    }

    /// The path step `[e]` stands for: a list index or (`['name']`) a map key.
    fn step_of(&mut self, e: &Expr) -> Option<Step> {
        match e {
            Expr::Lit(Lit::Str(s)) => Some(Step::Name(s.clone())),
            Expr::Lit(Lit::Num(text)) if text.bytes().all(|b| b.is_ascii_digit()) => match text.parse::<usize>() {
                Ok(i) => Some(Step::Index(i)),
                Err(_) => {
                    self.defer(validation(msg::list_index(text)));
                    None
                }
            },
            Expr::Lit(Lit::Num(text)) if text.starts_with('-') && text[1..].bytes().all(|b| b.is_ascii_digit()) => {
                self.defer(validation(msg::list_index(text)));
                None
            }
            _ => {
                self.defer(validation(msg::UNEXPECTED_PATH_COMPONENT));
                None
            }
        }
    }

    fn parse_term(&mut self) -> PResult<Expr> {
        let tok = self.peek().clone();
        match tok {
            Tok::Op(_) => Err(malformed(msg::UNEXPECTED_OPERATOR)),
            Tok::Kw(kw) => {
                self.advance();
                Ok(Expr::Lit(match kw {
                    "NULL" => Lit::Null,
                    "MISSING" => Lit::Missing,
                    "TRUE" => Lit::Bool(true),
                    "FALSE" => Lit::Bool(false),
                    "FROM" => {
                        // PartiQL's FROM-first DML as a term (how `SLECT * FROM t` reads).
                        self.dml_after_from()?;
                        return Ok(Expr::Unsupported("Dml"));
                    }
                    _ => return Err(malformed(msg::UNEXPECTED_KEYWORD)),
                }))
            }
            Tok::LParen => {
                self.advance();
                if *self.peek() == Tok::RParen {
                    return Err(malformed(msg::EMPTY_GROUP));
                }
                let mut items = self.list_until(&Tok::RParen, "RIGHT_PAREN")?;
                Ok(if items.len() == 1 { items.remove(0) } else { Expr::List(items) })
            }
            Tok::LBracket => {
                self.advance();
                Ok(Expr::List(self.list_until(&Tok::RBracket, "RIGHT_BRACKET")?))
            }
            Tok::LBag => {
                self.advance();
                Ok(Expr::Bag(self.list_until(&Tok::RBag, "RIGHT_DOUBLE_ANGLE_BRACKET")?))
            }
            Tok::LBrace => {
                self.advance();
                self.struct_body()
            }
            Tok::Ident(name) if *self.peek_at(1) == Tok::LParen => {
                self.pos += 2;
                let mut args = Vec::new();
                if !self.eat(&Tok::RParen) {
                    loop {
                        if self.eat(&Tok::Star) {
                            args.push(Expr::Star);
                        } else {
                            args.push(self.parse_expr(0)?);
                        }
                        if !self.eat(&Tok::Comma) {
                            break;
                        }
                    }
                    self.expect(&Tok::RParen, "RIGHT_PAREN")?;
                }
                Ok(Expr::Call(name.to_ascii_lowercase(), args))
            }
            Tok::Ident(root) | Tok::Quoted(root) => {
                self.advance();
                Ok(Expr::Path(Path { root, steps: Vec::new() }))
            }
            Tok::Question => {
                self.advance();
                self.params += 1;
                Ok(Expr::Param(self.params - 1))
            }
            Tok::Str(s) => {
                self.advance();
                Ok(Expr::Lit(Lit::Str(s)))
            }
            Tok::Num(n) => {
                self.advance();
                Ok(Expr::Lit(Lit::Num(n)))
            }
            _ => Err(malformed(msg::UNEXPECTED_TERM)),
        }
    }

    /// Comma-separated expressions up to `close` (none is allowed).
    fn list_until(&mut self, close: &Tok, close_name: &str) -> PResult<Vec<Expr>> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Ok(items);
        }
        loop {
            items.push(self.parse_expr(0)?);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect(close, close_name)?;
        Ok(items)
    }

    /// After `{`: `key: value` pairs up to `}`.
    fn struct_body(&mut self) -> PResult<Expr> {
        let mut fields = Vec::new();
        if self.eat(&Tok::RBrace) {
            return Ok(Expr::Struct(fields));
        }
        loop {
            let key = self.parse_expr(0)?;
            self.expect(&Tok::Colon, "COLON")?;
            let value = self.parse_expr(0)?;
            fields.push((key, value));
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect(&Tok::RBrace, "RIGHT_CURLY")?;
        Ok(Expr::Struct(fields))
    }

    /// The type after `IS` / `IS NOT`, with any parameters (`DECIMAL(5, 2)`).
    fn type_name(&mut self) -> PResult<TypeName> {
        let word = match self.peek() {
            Tok::Kw(k @ ("NULL" | "MISSING")) => (*k).to_string(),
            Tok::Ident(w) => w.to_ascii_uppercase(),
            _ => return Err(malformed(msg::EXPECTED_TYPE_NAME)),
        };
        let name = match word.as_str() {
            "DOUBLE" if self.peek_at(1).is_word("precision") => "DOUBLE PRECISION".to_string(),
            "CHARACTER" if self.peek_at(1).is_word("varying") => "CHARACTER VARYING".to_string(),
            w if TYPE_NAMES.contains(&w) => word.clone(),
            _ => return Err(malformed(msg::EXPECTED_TYPE_NAME)),
        };
        self.pos += name.split(' ').count();
        if *self.peek() == Tok::LParen {
            self.advance();
            self.list_until(&Tok::RParen, "RIGHT_PAREN")?;
        }
        let kind = match name.as_str() {
            "MISSING" => Some(TypeKind::Missing),
            "NULL" => Some(TypeKind::Null),
            "BOOL" | "BOOLEAN" => Some(TypeKind::Dynamo("BOOL")),
            "STRING" => Some(TypeKind::Dynamo("S")),
            "NUMERIC" => Some(TypeKind::Dynamo("N")),
            "BLOB" => Some(TypeKind::Dynamo("B")),
            "STRUCT" | "TUPLE" => Some(TypeKind::Dynamo("M")),
            "LIST" => Some(TypeKind::Dynamo("L")),
            _ => None,
        };
        Ok(TypeName { name, kind })
    }

    // Tokens.

    fn peek(&self) -> &Tok {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        self.toks.get(self.pos + ahead).unwrap_or(&EOF)
    }

    fn advance(&mut self) -> Tok {
        let t = self.peek().clone();
        if t != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == t {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Tok, name: &str) -> PResult<()> {
        if self.eat(t) { Ok(()) } else { Err(malformed(&msg::expected(name))) }
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Kw(k) if *k == kw)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        self.is_kw(kw) && {
            self.advance();
            true
        }
    }

    /// A word that is a keyword only where it stands (RETURNING, MODIFIED, NEW, OLD).
    fn is_word(&self, word: &str) -> bool {
        self.peek().is_word(word)
    }

    fn eat_word(&mut self, word: &str) -> bool {
        self.is_word(word) && {
            self.advance();
            true
        }
    }

    fn defer(&mut self, e: AwsError) {
        self.deferred.get_or_insert(e);
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH { Err(malformed(msg::TOO_DEEP)) } else { Ok(()) }
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

impl Tok {
    fn is_word(&self, word: &str) -> bool {
        matches!(self, Tok::Ident(w) if w.eq_ignore_ascii_case(word))
    }
}

/// The type names of PartiQL's `IS` (one word each; the two-word ones are matched apart).
const TYPE_NAMES: &[&str] = &[
    "NULL",
    "MISSING",
    "BOOL",
    "BOOLEAN",
    "SMALLINT",
    "INT2",
    "INTEGER2",
    "INT",
    "INTEGER",
    "INT4",
    "INTEGER4",
    "INT8",
    "INTEGER8",
    "BIGINT",
    "FLOAT",
    "REAL",
    "DECIMAL",
    "DEC",
    "NUMERIC",
    "TIMESTAMP",
    "CHAR",
    "CHARACTER",
    "VARCHAR",
    "STRING",
    "SYMBOL",
    "CLOB",
    "BLOB",
    "STRUCT",
    "TUPLE",
    "LIST",
    "SEXP",
    "BAG",
    "DATE",
    "TIME",
    "ANY",
];

/// How PartiQL's syntax tree names an expression (AWS names an unsupported statement so).
pub(super) fn kind_of(e: &Expr) -> &'static str {
    match e {
        Expr::Path(p) if p.steps.is_empty() => "Id",
        Expr::Path(_) => "Path",
        Expr::Lit(Lit::Missing) => "Missing",
        Expr::Lit(_) => "Lit",
        Expr::Param(_) => "Parameter",
        Expr::List(_) => "List",
        Expr::Bag(_) => "Bag",
        Expr::Struct(_) => "Struct",
        Expr::Call(..) => "Call",
        Expr::Star => "Star",
        Expr::Not(inner) => match inner.as_ref() {
            Expr::In(..) | Expr::Between(..) | Expr::Binary(Op::Like, ..) | Expr::Is(..) => kind_of(inner),
            _ => "Not",
        },
        Expr::Sign(Op::Minus, _) => "Neg",
        Expr::Sign(..) => "Pos",
        Expr::And(_) => "And",
        Expr::Or(_) => "Or",
        Expr::Binary(op, ..) => match op {
            Op::Eq => "Eq",
            Op::Ne => "Ne",
            Op::Lt => "Lt",
            Op::Le => "Lte",
            Op::Gt => "Gt",
            Op::Ge => "Gte",
            Op::Plus => "Plus",
            Op::Minus => "Minus",
            Op::Times => "Times",
            Op::Slash => "Divide",
            Op::Percent => "Modulo",
            Op::Concat => "Concat",
            Op::Like => "Like",
            _ => "Expr",
        },
        Expr::Between(..) => "Between",
        Expr::In(..) => "InCollection",
        Expr::Is(..) => "IsType",
        Expr::Unsupported(name) => name,
    }
}
