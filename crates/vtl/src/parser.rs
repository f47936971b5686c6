//! Template parsing: a hand-written scanner turns VTL source into a flat token stream, the
//! whitespace-gobbling pass (see the crate docs) drops directive-only lines, and a block builder
//! nests the tokens into the syntax tree that `render` walks.

use std::collections::HashMap;
use std::sync::Arc;

use crate::{Error, MAX_DEPTH};

/// A source position (1-based line and column).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Pos {
    pub line: usize,
    pub col: usize,
}

/// A reference such as `$!{a.b(1)[0]}`.
#[derive(Debug, Clone)]
pub(crate) struct Reference {
    pub quiet: bool,
    pub name: String,
    pub parts: Vec<Part>,
    /// The source text, rendered when the reference does not resolve.
    pub literal: String,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub(crate) enum Part {
    Prop(String),
    Index(Expr),
    Call(String, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Interp(Vec<Node>),
    List(Vec<Expr>),
    Range(Box<Expr>, Box<Expr>),
    Map(Vec<(Expr, Expr)>),
    Ref(Reference),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    Ref(Reference),
    /// `\$x` with the number of backslashes before the `$`.
    EscapedRef(usize, Reference),
    Set(Reference, Expr),
    If(Vec<(Expr, Vec<Node>)>, Option<Vec<Node>>),
    Foreach(Pos, String, Expr, Vec<Node>),
    Break,
    Stop,
    MacroCall(Pos, String, Vec<Expr>, String),
    Define(String, Vec<Node>),
    Evaluate(Pos, Expr),
}

/// A `#macro` definition.
#[derive(Debug)]
pub(crate) struct MacroDef {
    pub params: Vec<String>,
    pub body: Vec<Node>,
}

/// A parsed template. Parse once, render many times; `Template` is `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Template {
    pub(crate) nodes: Arc<Vec<Node>>,
    pub(crate) macros: Arc<HashMap<String, Arc<MacroDef>>>,
}

impl Template {
    /// Parses VTL source text.
    pub fn parse(source: &str) -> Result<Template, Error> {
        let mut p = Scanner::new(source);
        let tokens = p.tokens()?;
        let tokens = gobble(tokens);
        let nodes = build(tokens, &mut p.macros)?;
        Ok(Template { nodes: Arc::new(nodes), macros: Arc::new(p.macros) })
    }
}

#[derive(Debug)]
enum Tok {
    Text(String),
    Node(Node),
    If(Expr),
    ElseIf(Expr),
    Else,
    End,
    Foreach(String, Expr),
    Macro(String, Vec<String>),
    Define(String),
    Comment(bool),
}

impl Tok {
    fn is_directive(&self) -> bool {
        match self {
            Tok::Text(_) => false,
            Tok::Node(n) => matches!(n, Node::Set(..) | Node::Break | Node::Stop),
            _ => true,
        }
    }
}

const DIRECTIVES: &[&str] =
    &["set", "if", "elseif", "else", "end", "foreach", "break", "stop", "macro", "define", "evaluate"];

struct Scanner {
    chars: Vec<char>,
    pos: usize,
    end: usize,
    depth: usize,
    line_starts: Vec<usize>,
    macros: HashMap<String, Arc<MacroDef>>,
}

fn ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}
fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

impl Scanner {
    fn new(source: &str) -> Scanner {
        let chars: Vec<char> = source.chars().collect();
        let mut line_starts = vec![0];
        line_starts.extend(chars.iter().enumerate().filter(|(_, c)| **c == '\n').map(|(i, _)| i + 1));
        Scanner { end: chars.len(), chars, pos: 0, depth: 0, line_starts, macros: HashMap::new() }
    }

    fn pos_of(&self, idx: usize) -> Pos {
        let line = self.line_starts.partition_point(|&s| s <= idx);
        let start = self.line_starts.get(line.saturating_sub(1)).copied().unwrap_or(0);
        Pos { line, col: idx - start + 1 }
    }

    fn err_at(&self, idx: usize, msg: impl Into<String>) -> Error {
        let p = self.pos_of(idx);
        Error::Parse { message: msg.into(), line: p.line, column: p.col }
    }

    fn err(&self, msg: impl Into<String>) -> Error {
        self.err_at(self.pos, msg)
    }

    fn peek(&self) -> Option<char> {
        if self.pos < self.end { self.chars.get(self.pos).copied() } else { None }
    }

    fn peek_at(&self, off: usize) -> Option<char> {
        let i = self.pos + off;
        if i < self.end { self.chars.get(i).copied() } else { None }
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(i, c)| self.peek_at(i) == Some(c))
    }

    fn text(&self, from: usize, to: usize) -> String {
        self.chars.get(from..to).map(|s| s.iter().collect()).unwrap_or_default()
    }

    fn ident(&mut self) -> Option<String> {
        if !self.peek().is_some_and(ident_start) {
            return None;
        }
        let start = self.pos;
        while self.peek().is_some_and(ident_char) {
            self.pos += 1;
        }
        Some(self.text(start, self.pos))
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: char) -> Result<(), Error> {
        self.ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(format!("expected '{c}'")))
        }
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH * 2 {
            return Err(self.err("nesting too deep"));
        }
        Ok(())
    }

    /// Scans template text up to `self.end` into tokens.
    fn tokens(&mut self) -> Result<Vec<(Tok, Pos)>, Error> {
        let mut out: Vec<(Tok, Pos)> = Vec::new();
        let mut text = String::new();
        let mut text_start = self.pos;
        macro_rules! flush {
            () => {
                if !text.is_empty() {
                    out.push((Tok::Text(std::mem::take(&mut text)), self.pos_of(text_start)));
                }
            };
        }
        while let Some(c) = self.peek() {
            if text.is_empty() {
                text_start = self.pos;
            }
            let start = self.pos;
            match c {
                '\\' => {
                    let mut n = 0;
                    while self.peek_at(n) == Some('\\') {
                        n += 1;
                    }
                    self.pos += n;
                    if self.peek() == Some('$')
                        && let Some(r) = self.try_reference()?
                    {
                        flush!();
                        out.push((Tok::Node(Node::EscapedRef(n, r)), self.pos_of(start)));
                        continue;
                    }
                    if self.peek() == Some('#') {
                        let save = self.pos;
                        self.pos += 1;
                        let formal = self.peek() == Some('{');
                        if formal {
                            self.pos += 1;
                        }
                        let name = self.ident().unwrap_or_default();
                        if DIRECTIVES.contains(&name.as_str()) && (!formal || self.peek() == Some('}')) {
                            text.extend(std::iter::repeat_n('\\', n / 2));
                            if n % 2 == 1 {
                                if formal {
                                    self.pos += 1;
                                }
                                text.push_str(&self.text(save, self.pos));
                            } else {
                                self.pos = save;
                            }
                            continue;
                        }
                        self.pos = save;
                    }
                    text.extend(std::iter::repeat_n('\\', n));
                }
                '$' => match self.try_reference()? {
                    Some(r) => {
                        flush!();
                        out.push((Tok::Node(Node::Ref(r)), self.pos_of(start)));
                    }
                    None => {
                        text.push('$');
                        self.pos += 1;
                    }
                },
                '#' => match self.hash()? {
                    Some(tok) => {
                        flush!();
                        out.push((tok, self.pos_of(start)));
                    }
                    None => {
                        text.push('#');
                        self.pos = start + 1;
                    }
                },
                c => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
        flush!();
        Ok(out)
    }

    /// At `$`: parses a reference, or restores the position and returns `None`.
    fn try_reference(&mut self) -> Result<Option<Reference>, Error> {
        let start = self.pos;
        self.pos += 1;
        let quiet = self.peek() == Some('!');
        if quiet {
            self.pos += 1;
        }
        let formal = self.peek() == Some('{');
        if formal {
            self.pos += 1;
        }
        let Some(name) = self.ident() else {
            self.pos = start;
            return Ok(None);
        };
        let parts = self.parts()?;
        if formal {
            if self.peek() != Some('}') {
                self.pos = start;
                return Ok(None);
            }
            self.pos += 1;
        }
        let literal = self.text(start, self.pos);
        Ok(Some(Reference { quiet, name, parts, literal, pos: self.pos_of(start) }))
    }

    fn parts(&mut self) -> Result<Vec<Part>, Error> {
        let mut parts = Vec::new();
        loop {
            let save = self.pos;
            match self.peek() {
                Some('.') if self.peek_at(1).is_some_and(ident_start) => {
                    self.pos += 1;
                    let name = self.ident().unwrap_or_default();
                    if self.peek() == Some('(') {
                        self.pos += 1;
                        let args = self.args(')', true)?;
                        parts.push(Part::Call(name, args));
                    } else {
                        parts.push(Part::Prop(name));
                    }
                }
                Some('[') => {
                    self.pos += 1;
                    match self.index_expr() {
                        Ok(e) => parts.push(Part::Index(e)),
                        Err(_) => {
                            self.pos = save;
                            return Ok(parts);
                        }
                    }
                }
                _ => return Ok(parts),
            }
        }
    }

    fn index_expr(&mut self) -> Result<Expr, Error> {
        self.ws();
        let e = self.expr()?;
        self.expect(']')?;
        Ok(e)
    }

    /// Comma-separated (or, for macro calls, whitespace-separated) expressions up to `close`.
    fn args(&mut self, close: char, commas_required: bool) -> Result<Vec<Expr>, Error> {
        self.enter()?;
        let mut args = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                Some(c) if c == close => {
                    self.pos += 1;
                    break;
                }
                None => return Err(self.err(format!("expected '{close}'"))),
                _ => {}
            }
            if !args.is_empty() {
                if self.peek() == Some(',') {
                    self.pos += 1;
                    self.ws();
                } else if commas_required {
                    return Err(self.err("expected ','"));
                }
            }
            args.push(self.expr()?);
        }
        self.depth -= 1;
        Ok(args)
    }

    /// At `#`: comment, unparsed block, directive or macro call; `None` means literal `#`.
    fn hash(&mut self) -> Result<Option<Tok>, Error> {
        let start = self.pos;
        if self.starts_with("##") {
            while self.peek().is_some_and(|c| c != '\n') {
                self.pos += 1;
            }
            return Ok(Some(Tok::Comment(true)));
        }
        if self.starts_with("#*") {
            self.pos += 2;
            while !self.starts_with("*#") {
                if self.peek().is_none() {
                    return Err(self.err_at(start, "unterminated #* comment"));
                }
                self.pos += 1;
            }
            self.pos += 2;
            return Ok(Some(Tok::Comment(false)));
        }
        if self.starts_with("#[[") {
            self.pos += 3;
            let from = self.pos;
            while !self.starts_with("]]#") {
                if self.peek().is_none() {
                    return Err(self.err_at(start, "unterminated #[[ block"));
                }
                self.pos += 1;
            }
            let t = self.text(from, self.pos);
            self.pos += 3;
            return Ok(Some(Tok::Text(t)));
        }
        self.pos += 1;
        let formal = self.peek() == Some('{');
        if formal {
            self.pos += 1;
        }
        if !self.peek().is_some_and(ident_start) {
            return Ok(None);
        }
        let name_start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        let name = self.text(name_start, self.pos);
        if formal {
            if self.peek() != Some('}') {
                return Ok(None);
            }
            self.pos += 1;
        }
        let tok = match name.as_str() {
            "else" => Tok::Else,
            "end" => Tok::End,
            "break" => Tok::Node(Node::Break),
            "stop" => Tok::Node(Node::Stop),
            "set" => {
                self.expect('(')?;
                self.ws();
                let target = match self.peek() {
                    Some('$') => self.try_reference()?,
                    _ => None,
                };
                let target = target.ok_or_else(|| self.err("#set needs a reference"))?;
                self.expect('=')?;
                self.ws();
                let value = self.expr()?;
                self.expect(')')?;
                Tok::Node(Node::Set(target, value))
            }
            "if" | "elseif" | "evaluate" => {
                self.expect('(')?;
                self.ws();
                let e = self.expr()?;
                self.expect(')')?;
                match name.as_str() {
                    "if" => Tok::If(e),
                    "elseif" => Tok::ElseIf(e),
                    _ => Tok::Node(Node::Evaluate(self.pos_of(start), e)),
                }
            }
            "foreach" => {
                self.expect('(')?;
                let var = self.var_name()?;
                self.ws();
                if !self.starts_with("in") || self.peek_at(2).is_some_and(ident_char) {
                    return Err(self.err("expected 'in'"));
                }
                self.pos += 2;
                self.ws();
                let e = self.expr()?;
                self.expect(')')?;
                Tok::Foreach(var, e)
            }
            "define" => {
                self.expect('(')?;
                let var = self.var_name()?;
                self.expect(')')?;
                Tok::Define(var)
            }
            "macro" => {
                self.expect('(')?;
                self.ws();
                let mname = self.ident().ok_or_else(|| self.err("expected macro name"))?;
                let mut params = Vec::new();
                loop {
                    self.ws();
                    match self.peek() {
                        Some(')') => {
                            self.pos += 1;
                            break;
                        }
                        Some(',') => self.pos += 1,
                        Some('$') => params.push(self.var_name()?),
                        _ => return Err(self.err("bad #macro parameters")),
                    }
                }
                Tok::Macro(mname, params)
            }
            _ => {
                let save = self.pos;
                self.ws();
                if self.peek() != Some('(') || name == "parse" || name == "include" {
                    self.pos = save;
                    return Ok(None);
                }
                self.pos += 1;
                let args = self.args(')', false)?;
                let literal = self.text(start, self.pos);
                Tok::Node(Node::MacroCall(self.pos_of(start), name, args, literal))
            }
        };
        Ok(Some(tok))
    }

    fn var_name(&mut self) -> Result<String, Error> {
        self.ws();
        if self.peek() != Some('$') {
            return Err(self.err("expected a $variable"));
        }
        self.pos += 1;
        let braced = self.peek() == Some('{');
        if braced {
            self.pos += 1;
        }
        let name = self.ident().ok_or_else(|| self.err("expected a variable name"))?;
        if braced && self.peek() == Some('}') {
            self.pos += 1;
        }
        Ok(name)
    }

    fn word(&mut self, w: &str) -> bool {
        if self.starts_with(w) && !self.peek_at(w.len()).is_some_and(ident_char) {
            self.pos += w.len();
            true
        } else {
            false
        }
    }

    fn op(&mut self, symbols: &[(&str, BinOp)], words: &[(&str, BinOp)]) -> Option<BinOp> {
        self.ws();
        for (s, op) in symbols {
            if self.starts_with(s) {
                // `<` must not eat the start of `<=`; symbols are listed longest first.
                self.pos += s.chars().count();
                return Some(*op);
            }
        }
        for (w, op) in words {
            if self.word(w) {
                return Some(*op);
            }
        }
        None
    }

    fn expr(&mut self) -> Result<Expr, Error> {
        self.enter()?;
        let r = self.binary(0);
        self.depth -= 1;
        r
    }

    fn binary(&mut self, level: usize) -> Result<Expr, Error> {
        type Level = (&'static [(&'static str, BinOp)], &'static [(&'static str, BinOp)]);
        const LEVELS: [Level; 6] = [
            (&[("||", BinOp::Or)], &[("or", BinOp::Or)]),
            (&[("&&", BinOp::And)], &[("and", BinOp::And)]),
            (&[("==", BinOp::Eq), ("!=", BinOp::Ne)], &[("eq", BinOp::Eq), ("ne", BinOp::Ne)]),
            (
                &[("<=", BinOp::Le), (">=", BinOp::Ge), ("<", BinOp::Lt), (">", BinOp::Gt)],
                &[("lt", BinOp::Lt), ("le", BinOp::Le), ("gt", BinOp::Gt), ("ge", BinOp::Ge)],
            ),
            (&[("+", BinOp::Add), ("-", BinOp::Sub)], &[]),
            (&[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Mod)], &[]),
        ];
        let Some((symbols, words)) = LEVELS.get(level) else {
            return self.unary();
        };
        let mut left = self.binary(level + 1)?;
        loop {
            let save = self.pos;
            match self.op(symbols, words) {
                Some(op) => {
                    self.ws();
                    let right = self.binary(level + 1)?;
                    left = Expr::Bin(op, Box::new(left), Box::new(right));
                }
                None => {
                    self.pos = save;
                    return Ok(left);
                }
            }
        }
    }

    fn unary(&mut self) -> Result<Expr, Error> {
        self.ws();
        self.enter()?;
        let r = if self.peek() == Some('!') && self.peek_at(1) != Some('=') {
            self.pos += 1;
            self.unary().map(|e| Expr::Not(Box::new(e)))
        } else if self.word("not") {
            self.unary().map(|e| Expr::Not(Box::new(e)))
        } else if self.peek() == Some('-') {
            self.pos += 1;
            self.unary().map(|e| match e {
                Expr::Int(i) => Expr::Int(i.wrapping_neg()),
                Expr::Float(f) => Expr::Float(-f),
                e => Expr::Neg(Box::new(e)),
            })
        } else {
            self.primary()
        };
        self.depth -= 1;
        r
    }

    fn primary(&mut self) -> Result<Expr, Error> {
        self.ws();
        let start = self.pos;
        match self.peek() {
            Some('(') => {
                self.pos += 1;
                self.ws();
                let e = self.expr()?;
                self.expect(')')?;
                Ok(e)
            }
            Some('$') => match self.try_reference()? {
                Some(r) => Ok(Expr::Ref(r)),
                None => Err(self.err("invalid reference")),
            },
            Some(q @ ('"' | '\'')) => self.string(q),
            Some(c) if c.is_ascii_digit() => {
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let mut float = false;
                if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
                    float = true;
                    self.pos += 1;
                    while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.pos += 1;
                    }
                }
                let t = self.text(start, self.pos);
                match (float, t.parse::<i64>()) {
                    (false, Ok(i)) => Ok(Expr::Int(i)),
                    _ => t.parse::<f64>().map(Expr::Float).map_err(|_| self.err_at(start, "bad number")),
                }
            }
            Some('[') => {
                self.pos += 1;
                self.ws();
                if self.peek() == Some(']') {
                    self.pos += 1;
                    return Ok(Expr::List(Vec::new()));
                }
                let first = self.expr()?;
                self.ws();
                if self.starts_with("..") {
                    self.pos += 2;
                    self.ws();
                    let last = self.expr()?;
                    self.expect(']')?;
                    return Ok(Expr::Range(Box::new(first), Box::new(last)));
                }
                let mut items = vec![first];
                loop {
                    self.ws();
                    match self.peek() {
                        Some(']') => {
                            self.pos += 1;
                            break;
                        }
                        Some(',') => {
                            self.pos += 1;
                            self.ws();
                            items.push(self.expr()?);
                        }
                        _ => return Err(self.err("expected ',' or ']'")),
                    }
                }
                Ok(Expr::List(items))
            }
            Some('{') => {
                self.pos += 1;
                self.enter()?;
                let mut entries = Vec::new();
                loop {
                    self.ws();
                    if self.peek() == Some('}') {
                        self.pos += 1;
                        break;
                    }
                    if !entries.is_empty() {
                        self.expect(',')?;
                        self.ws();
                    }
                    let k = self.expr()?;
                    self.expect(':')?;
                    self.ws();
                    let v = self.expr()?;
                    entries.push((k, v));
                }
                self.depth -= 1;
                Ok(Expr::Map(entries))
            }
            _ => {
                if self.word("true") {
                    Ok(Expr::Bool(true))
                } else if self.word("false") {
                    Ok(Expr::Bool(false))
                } else if self.word("null") {
                    Ok(Expr::Null)
                } else {
                    Err(self.err("expected an expression"))
                }
            }
        }
    }

    /// A string literal; double-quoted strings containing `$` or `#` are interpolated templates.
    fn string(&mut self, quote: char) -> Result<Expr, Error> {
        let start = self.pos;
        self.pos += 1;
        let from = self.pos;
        loop {
            match self.peek() {
                None => return Err(self.err_at(start, "unterminated string")),
                Some('\\') => self.pos += 2,
                Some(c) if c == quote => {
                    if self.peek_at(1) == Some(quote) {
                        self.pos += 2;
                    } else {
                        break;
                    }
                }
                Some(_) => self.pos += 1,
            }
        }
        let to = self.pos.min(self.end);
        self.pos = to + 1;
        let doubled: String = [quote, quote].iter().collect();
        let raw = self.text(from, to);
        if quote == '\'' || !(raw.contains('$') || raw.contains('#')) {
            return Ok(Expr::Str(raw.replace(&doubled, &quote.to_string())));
        }
        self.enter()?;
        let (saved_pos, saved_end) = (self.pos, self.end);
        self.pos = from;
        self.end = to;
        let tokens = self.tokens();
        self.pos = saved_pos;
        self.end = saved_end;
        let mut tokens = tokens?;
        for (t, _) in tokens.iter_mut() {
            if let Tok::Text(s) = t {
                *s = s.replace(&doubled, "\"");
            }
        }
        let nodes = build(tokens, &mut self.macros)?;
        self.depth -= 1;
        Ok(Expr::Interp(nodes))
    }
}

/// Drops the indentation and newline of lines that hold only directives and comments, and the
/// newline that ends a `##` comment.
fn gobble(tokens: Vec<(Tok, Pos)>) -> Vec<(Tok, Pos)> {
    // Split text so each text token holds at most one newline, at its end.
    let mut split: Vec<(Tok, Pos)> = Vec::new();
    for (tok, pos) in tokens {
        match tok {
            Tok::Text(s) if s.contains('\n') => {
                let mut rest = s.as_str();
                while let Some(i) = rest.find('\n') {
                    split.push((Tok::Text(rest[..=i].to_string()), pos));
                    rest = &rest[i + 1..];
                }
                if !rest.is_empty() {
                    split.push((Tok::Text(rest.to_string()), pos));
                }
            }
            tok => split.push((tok, pos)),
        }
    }
    let mut keep = vec![true; split.len()];
    let mut line_start = 0;
    for i in 0..split.len() {
        let ends_line = matches!(&split[i].0, Tok::Text(s) if s.ends_with('\n'));
        if !ends_line && i + 1 != split.len() {
            continue;
        }
        let line = &split[line_start..=i];
        let has_directive = line.iter().any(|(t, _)| t.is_directive());
        let blank = line.iter().all(|(t, _)| match t {
            Tok::Text(s) => s.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n')),
            t => t.is_directive(),
        });
        if has_directive && blank {
            for (j, (t, _)) in line.iter().enumerate() {
                if matches!(t, Tok::Text(_)) {
                    keep[line_start + j] = false;
                }
            }
        }
        line_start = i + 1;
    }
    for i in 0..split.len() {
        if matches!(split[i].0, Tok::Comment(true))
            && let Some((Tok::Text(s), _)) = split.get(i + 1)
            && (s == "\n" || s == "\r\n")
            && let Some(k) = keep.get_mut(i + 1)
        {
            *k = false;
        }
    }
    split.into_iter().zip(keep).filter(|(_, k)| *k).map(|(t, _)| t).collect()
}

enum Frame {
    Root,
    If { branches: Vec<(Expr, Vec<Node>)>, cond: Option<Expr> },
    Foreach(Pos, String, Expr),
    Macro(String, Vec<String>),
    Define(String),
}

/// Nests the flat token stream into blocks.
fn build(tokens: Vec<(Tok, Pos)>, macros: &mut HashMap<String, Arc<MacroDef>>) -> Result<Vec<Node>, Error> {
    let mut stack: Vec<(Frame, Vec<Node>, Pos)> = vec![(Frame::Root, Vec::new(), Pos::default())];
    let perr = |pos: Pos, msg: &str| Error::Parse { message: msg.into(), line: pos.line, column: pos.col };
    for (tok, pos) in tokens {
        match tok {
            Tok::Text(s) => {
                if let Some((_, body, _)) = stack.last_mut() {
                    if let Some(Node::Text(prev)) = body.last_mut() {
                        prev.push_str(&s);
                    } else {
                        body.push(Node::Text(s));
                    }
                }
            }
            Tok::Node(n) => {
                if let Some((_, body, _)) = stack.last_mut() {
                    body.push(n);
                }
            }
            Tok::Comment(_) => {}
            Tok::If(e) => stack.push((Frame::If { branches: Vec::new(), cond: Some(e) }, Vec::new(), pos)),
            Tok::Foreach(v, e) => stack.push((Frame::Foreach(pos, v, e), Vec::new(), pos)),
            Tok::Macro(name, params) => stack.push((Frame::Macro(name, params), Vec::new(), pos)),
            Tok::Define(v) => stack.push((Frame::Define(v), Vec::new(), pos)),
            Tok::ElseIf(e) => match stack.last_mut() {
                Some((Frame::If { branches, cond }, body, _)) => {
                    let c = cond.take().ok_or_else(|| perr(pos, "#elseif after #else"))?;
                    branches.push((c, std::mem::take(body)));
                    *cond = Some(e);
                }
                _ => return Err(perr(pos, "#elseif without #if")),
            },
            Tok::Else => match stack.last_mut() {
                Some((Frame::If { branches, cond }, body, _)) => {
                    let c = cond.take().ok_or_else(|| perr(pos, "#else after #else"))?;
                    branches.push((c, std::mem::take(body)));
                }
                _ => return Err(perr(pos, "#else without #if")),
            },
            Tok::End => {
                if stack.len() < 2 {
                    return Err(perr(pos, "#end without a matching directive"));
                }
                let Some((frame, body, _)) = stack.pop() else { break };
                let node = match frame {
                    Frame::Root => None,
                    Frame::If { mut branches, cond } => match cond {
                        Some(c) => {
                            branches.push((c, body));
                            Some(Node::If(branches, None))
                        }
                        None => Some(Node::If(branches, Some(body))),
                    },
                    Frame::Foreach(p, v, e) => Some(Node::Foreach(p, v, e, body)),
                    Frame::Define(v) => Some(Node::Define(v, body)),
                    Frame::Macro(name, params) => {
                        macros.insert(name, Arc::new(MacroDef { params, body }));
                        None
                    }
                };
                if let (Some(n), Some((_, parent, _))) = (node, stack.last_mut()) {
                    parent.push(n);
                }
            }
        }
    }
    if stack.len() > 1 {
        let pos = stack.last().map(|(_, _, p)| *p).unwrap_or_default();
        return Err(perr(pos, "missing #end"));
    }
    Ok(stack.pop().map(|(_, body, _)| body).unwrap_or_default())
}
