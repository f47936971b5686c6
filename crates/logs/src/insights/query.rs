//! The Logs Insights query language: a lexer and a parser into [`Query`], a list of commands
//! joined by `|` — `fields`, `display`, `filter`, `stats … by …`, `sort`, `limit`, `parse`
//! (glob or regex) and `dedup` — over expressions with comparisons, `like`/`not like`,
//! `in [...]`, `and`/`or`/`not`, arithmetic and functions.

use regex::Regex;

/// A parse failure: what is wrong, and where (character offsets).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryError {
    pub message: String,
    pub start: usize,
    pub end: usize,
}

fn error(message: impl Into<String>, start: usize, end: usize) -> QueryError {
    QueryError { message: message.into(), start, end }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Regex(String),
    Num(f64),
    Op(&'static str),
    Pipe,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

const OPS: &[&str] = &["!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "%", "(", ")", ",", "[", "]", "^"];

fn lex(src: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).map_or(src.len(), |c| c.0);
    while i < chars.len() {
        let (pos, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            // A comment to the end of the line.
            while i < chars.len() && chars[i].1 != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '|' {
            out.push(Token { tok: Tok::Pipe, start: pos, end: pos + 1 });
            i += 1;
            continue;
        }
        if c == '"' || c == '\'' || c == '`' {
            let mut s = String::new();
            i += 1;
            let mut closed = false;
            while i < chars.len() {
                let ch = chars[i].1;
                if ch == '\\' && c != '`' && i + 1 < chars.len() {
                    let next = chars[i + 1].1;
                    s.push(match next {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                    i += 2;
                    continue;
                }
                if ch == c {
                    closed = true;
                    i += 1;
                    break;
                }
                s.push(ch);
                i += 1;
            }
            if !closed {
                return Err(error("unterminated string", pos, src.len()));
            }
            let tok = if c == '`' { Tok::Ident(s) } else { Tok::Str(s) };
            out.push(Token { tok, start: pos, end: at(i) });
            continue;
        }
        // A regex literal where an operand is expected (not after an operand).
        let after_operand = matches!(
            out.last().map(|t| &t.tok),
            Some(Tok::Ident(_) | Tok::Str(_) | Tok::Num(_) | Tok::Regex(_) | Tok::Op(")") | Tok::Op("]"))
        ) && !matches!(out.last().map(|t| &t.tok), Some(Tok::Ident(w)) if is_keyword(w))
            // `parse @message /…/`: the pattern follows the field.
            && !(out.len() >= 2 && matches!(&out[out.len() - 2].tok, Tok::Ident(w) if w.eq_ignore_ascii_case("parse")));
        if c == '/' && !after_operand {
            let mut s = String::new();
            i += 1;
            let mut closed = false;
            while i < chars.len() {
                let ch = chars[i].1;
                if ch == '\\' && i + 1 < chars.len() && chars[i + 1].1 == '/' {
                    s.push('/');
                    i += 2;
                    continue;
                }
                if ch == '\\' && i + 1 < chars.len() {
                    s.push('\\');
                    s.push(chars[i + 1].1);
                    i += 2;
                    continue;
                }
                if ch == '/' {
                    closed = true;
                    i += 1;
                    break;
                }
                s.push(ch);
                i += 1;
            }
            if !closed {
                return Err(error("unterminated regular expression", pos, src.len()));
            }
            // Flags after the closing slash (`/…/i`).
            let mut flags = String::new();
            while i < chars.len() && chars[i].1.is_ascii_alphabetic() {
                flags.push(chars[i].1);
                i += 1;
            }
            if flags.contains('i') {
                s = format!("(?i){s}");
            }
            out.push(Token { tok: Tok::Regex(s), start: pos, end: at(i) });
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|n| n.1.is_ascii_digit())) {
            let start = i;
            while i < chars.len() && (chars[i].1.is_ascii_digit() || chars[i].1 == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().map(|c| c.1).collect();
            // A duration such as 5m or 1h: one token for bin().
            if i < chars.len() && chars[i].1.is_ascii_alphabetic() {
                let unit_start = i;
                while i < chars.len() && chars[i].1.is_ascii_alphanumeric() {
                    i += 1;
                }
                let unit: String = chars[unit_start..i].iter().map(|c| c.1).collect();
                out.push(Token { tok: Tok::Ident(format!("{text}{unit}")), start: pos, end: at(i) });
                continue;
            }
            let n: f64 = text.parse().map_err(|_| error(format!("bad number {text}"), pos, at(i)))?;
            out.push(Token { tok: Tok::Num(n), start: pos, end: at(i) });
            continue;
        }
        if c.is_alphabetic() || c == '@' || c == '_' || c == '$' {
            let start = i;
            while i < chars.len() {
                let ch = chars[i].1;
                if ch.is_alphanumeric() || ch == '_' || ch == '@' || ch == '.' || ch == '$' {
                    i += 1;
                } else {
                    break;
                }
            }
            let text: String = chars[start..i].iter().map(|c| c.1).collect();
            let text = text.trim_end_matches('.').to_string();
            out.push(Token { tok: Tok::Ident(text), start: pos, end: at(i) });
            continue;
        }
        let rest = &src[pos..];
        let Some(op) = OPS.iter().find(|o| rest.starts_with(**o)) else {
            return Err(error(format!("unexpected character '{c}'"), pos, pos + c.len_utf8()));
        };
        out.push(Token { tok: Tok::Op(op), start: pos, end: pos + op.len() });
        i += op.chars().count();
    }
    Ok(out)
}

fn is_keyword(w: &str) -> bool {
    matches!(w.to_ascii_lowercase().as_str(), "and" | "or" | "not" | "like" | "in" | "as" | "by" | "asc" | "desc")
}

/// An expression.
#[derive(Debug, Clone)]
pub enum Expr {
    Field(String),
    Num(f64),
    Str(String),
    /// `*` as in `count(*)`.
    Star,
    List(Vec<Expr>),
    Regex(Regex),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(&'static str, Box<Expr>, Box<Expr>),
    Arith(&'static str, Box<Expr>, Box<Expr>),
    /// `a like b` (negated for `not like`); `b` a regex or a substring.
    Like(bool, Box<Expr>, Box<Expr>),
    In(bool, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

/// A named output (`expr as alias`): its column name is the alias or the expression's text.
#[derive(Debug, Clone)]
pub struct Named {
    pub name: String,
    pub expr: Expr,
}

#[derive(Debug, Clone)]
pub enum Command {
    Fields(Vec<Named>),
    Display(Vec<String>),
    Filter(Expr),
    Stats { aggregates: Vec<Named>, by: Vec<Named> },
    Sort(Vec<(Expr, bool)>),
    Limit(usize),
    ParseGlob { field: Expr, pattern: Regex, names: Vec<String> },
    ParseRegex { field: Expr, pattern: Regex },
    Dedup(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Query {
    pub commands: Vec<Command>,
}

pub const AGGREGATES: &[&str] = &[
    "count",
    "count_distinct",
    "sum",
    "avg",
    "min",
    "max",
    "pct",
    "percentile",
    "stddev",
    "earliest",
    "latest",
    "sortsfirst",
    "sortslast",
];

struct Parser<'a> {
    src: &'a str,
    toks: &'a [Token],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn span(&self) -> (usize, usize) {
        match self.toks.get(self.pos) {
            Some(t) => (t.start, t.end),
            None => (self.src.len(), self.src.len()),
        }
    }

    fn fail<T>(&self, what: &str) -> Result<T, QueryError> {
        let (s, e) = self.span();
        let found = match self.toks.get(self.pos) {
            Some(t) => format!("'{}'", &self.src[t.start..t.end]),
            None => "end of query".into(),
        };
        Err(error(format!("mismatched input {found} expecting {what}"), s, e))
    }

    fn next(&mut self) -> Option<&'a Tok> {
        let t = self.toks.get(self.pos).map(|t| &t.tok);
        self.pos += 1;
        t
    }

    fn keyword(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(x)) if x.eq_ignore_ascii_case(w))
    }

    fn eat_keyword(&mut self, w: &str) -> bool {
        if self.keyword(w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Op(o)) if *o == op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_op(&mut self, op: &str) -> Result<(), QueryError> {
        if self.eat_op(op) { Ok(()) } else { self.fail(&format!("'{op}'")) }
    }

    fn at_end_of_command(&self) -> bool {
        matches!(self.peek(), None | Some(Tok::Pipe))
    }

    fn text(&self, from: usize) -> String {
        let start = self.toks.get(from).map_or(self.src.len(), |t| t.start);
        let end = self.toks.get(self.pos.saturating_sub(1)).map_or(start, |t| t.end).max(start);
        self.src[start..end].to_string()
    }

    fn expr(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.and()?;
        while self.eat_keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.not()?;
        while self.eat_keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, QueryError> {
        if self.eat_keyword("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, QueryError> {
        let left = self.additive()?;
        for op in ["=", "!=", "<=", ">=", "<", ">"] {
            if self.eat_op(op) {
                let op: &'static str = OPS.iter().find(|o| **o == op).copied().unwrap_or("=");
                return Ok(Expr::Cmp(op, Box::new(left), Box::new(self.additive()?)));
            }
        }
        let negated = if self.keyword("not")
            && matches!(self.toks.get(self.pos + 1).map(|t| &t.tok), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("like") || w.eq_ignore_ascii_case("in"))
        {
            self.pos += 1;
            true
        } else {
            false
        };
        if self.eat_keyword("like") {
            return Ok(Expr::Like(negated, Box::new(left), Box::new(self.additive()?)));
        }
        if self.eat_keyword("in") {
            return Ok(Expr::In(negated, Box::new(left), Box::new(self.additive()?)));
        }
        if negated {
            return self.fail("'like' or 'in'");
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op(o @ ("+" | "-"))) => *o,
                _ => return Ok(left),
            };
            self.pos += 1;
            left = Expr::Arith(op, Box::new(left), Box::new(self.multiplicative()?));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op(o @ ("*" | "/" | "%" | "^"))) => *o,
                _ => return Ok(left),
            };
            self.pos += 1;
            left = Expr::Arith(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if self.eat_op("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        let (start, end) = self.span();
        match self.next() {
            Some(Tok::Num(n)) => Ok(Expr::Num(*n)),
            Some(Tok::Str(s)) => Ok(Expr::Str(s.clone())),
            Some(Tok::Regex(r)) => Regex::new(r)
                .map(Expr::Regex)
                .map_err(|e| error(format!("invalid regular expression: {e}"), start, end)),
            Some(Tok::Op("(")) => {
                let e = self.expr()?;
                self.expect_op(")")?;
                Ok(e)
            }
            Some(Tok::Op("[")) => {
                let mut items = Vec::new();
                if !self.eat_op("]") {
                    loop {
                        items.push(self.expr()?);
                        if self.eat_op("]") {
                            break;
                        }
                        self.expect_op(",")?;
                    }
                }
                Ok(Expr::List(items))
            }
            Some(Tok::Op("*")) => Ok(Expr::Star),
            Some(Tok::Ident(name)) if !is_keyword(name) || self.peek() == Some(&Tok::Op("(")) => {
                if self.eat_op("(") {
                    let mut args = Vec::new();
                    if !self.eat_op(")") {
                        loop {
                            args.push(self.expr()?);
                            if self.eat_op(")") {
                                break;
                            }
                            self.expect_op(",")?;
                        }
                    }
                    return Ok(Expr::Call(name.to_ascii_lowercase(), args));
                }
                Ok(Expr::Field(name.clone()))
            }
            _ => {
                self.pos -= 1;
                self.fail("an expression")
            }
        }
    }

    /// `expr [as alias]`, named by the alias or its text.
    fn named(&mut self) -> Result<Named, QueryError> {
        let from = self.pos;
        let expr = self.expr()?;
        let text = self.text(from);
        let name = if self.eat_keyword("as") {
            match self.next() {
                Some(Tok::Ident(a)) => a.clone(),
                _ => {
                    self.pos -= 1;
                    return self.fail("an alias");
                }
            }
        } else {
            match &expr {
                Expr::Field(f) => f.clone(),
                _ => text,
            }
        };
        Ok(Named { name, expr })
    }

    fn named_list(&mut self, stop_at_by: bool) -> Result<Vec<Named>, QueryError> {
        let mut out = vec![self.named()?];
        while self.eat_op(",") {
            out.push(self.named()?);
        }
        if !(self.at_end_of_command() || stop_at_by && self.keyword("by")) {
            return self.fail("',' or '|'");
        }
        Ok(out)
    }

    fn field_names(&mut self) -> Result<Vec<String>, QueryError> {
        let mut out = Vec::new();
        loop {
            match self.next() {
                Some(Tok::Ident(f)) => out.push(f.clone()),
                _ => {
                    self.pos -= 1;
                    return self.fail("a field name");
                }
            }
            if !self.eat_op(",") {
                break;
            }
        }
        if !self.at_end_of_command() {
            return self.fail("',' or '|'");
        }
        Ok(out)
    }

    fn command(&mut self) -> Result<Command, QueryError> {
        let (start, end) = self.span();
        let name = match self.next() {
            Some(Tok::Ident(n)) => n.to_ascii_lowercase(),
            _ => {
                self.pos -= 1;
                return self.fail("{K_PARSE, K_FIELDS, K_FILTER, K_STATS, K_SORT, K_LIMIT, K_DISPLAY, K_DEDUP}");
            }
        };
        let cmd = match name.as_str() {
            "fields" => Command::Fields(self.named_list(false)?),
            "display" => Command::Display(self.field_names()?),
            "dedup" => Command::Dedup(self.field_names()?),
            "filter" => {
                let e = self.expr()?;
                Command::Filter(e)
            }
            "stats" => {
                let aggregates = self.named_list(true)?;
                for a in &aggregates {
                    if !matches!(&a.expr, Expr::Call(f, _) if AGGREGATES.contains(&f.as_str())) {
                        return Err(error(format!("{} is not an aggregate function", a.name), start, end));
                    }
                }
                let by = if self.eat_keyword("by") { self.named_list(false)? } else { Vec::new() };
                Command::Stats { aggregates, by }
            }
            "sort" => {
                let mut keys = Vec::new();
                loop {
                    let e = self.expr()?;
                    let desc = if self.eat_keyword("asc") {
                        false
                    } else {
                        self.eat_keyword("desc");
                        true
                    };
                    keys.push((e, desc));
                    if !self.eat_op(",") {
                        break;
                    }
                }
                Command::Sort(keys)
            }
            "limit" => match self.next() {
                Some(Tok::Num(n)) if *n >= 1.0 && n.fract() == 0.0 => Command::Limit(*n as usize),
                _ => {
                    self.pos -= 1;
                    return self.fail("a positive whole number");
                }
            },
            "parse" => {
                let field = self.primary()?;
                match self.next() {
                    Some(Tok::Str(glob)) => {
                        if !self.eat_keyword("as") {
                            return self.fail("'as'");
                        }
                        let names = self.field_names()?;
                        let stars = glob.matches('*').count();
                        if stars != names.len() {
                            return Err(error(
                                format!("the pattern has {stars} wildcards for {} fields", names.len()),
                                start,
                                end,
                            ));
                        }
                        // Wildcards are lazy except the last, which takes the rest.
                        let parts: Vec<String> = glob.split('*').map(regex::escape).collect();
                        let mut re = String::new();
                        for (n, part) in parts.iter().enumerate() {
                            re.push_str(part);
                            if n + 1 < parts.len() {
                                re.push_str(if n + 2 == parts.len() { "(.*)" } else { "(.*?)" });
                            }
                        }
                        let pattern =
                            Regex::new(&re).map_err(|e| error(format!("invalid pattern: {e}"), start, end))?;
                        Command::ParseGlob { field, pattern, names }
                    }
                    Some(Tok::Regex(r)) => {
                        let pattern =
                            Regex::new(r).map_err(|e| error(format!("invalid regular expression: {e}"), start, end))?;
                        if pattern.capture_names().flatten().next().is_none() {
                            return Err(error("the regular expression names no capture group", start, end));
                        }
                        Command::ParseRegex { field, pattern }
                    }
                    _ => {
                        self.pos -= 1;
                        return self.fail("a pattern");
                    }
                }
            }
            _ => {
                self.pos -= 1;
                return self.fail("{K_PARSE, K_FIELDS, K_FILTER, K_STATS, K_SORT, K_LIMIT, K_DISPLAY, K_DEDUP}");
            }
        };
        if !self.at_end_of_command() {
            return self.fail("'|'");
        }
        Ok(cmd)
    }
}

/// Parses a query.
pub fn parse(src: &str) -> Result<Query, QueryError> {
    let toks = lex(src)?;
    let mut p = Parser { src, toks: &toks, pos: 0 };
    let mut commands = Vec::new();
    loop {
        commands.push(p.command()?);
        match p.next() {
            None => break,
            Some(Tok::Pipe) => continue,
            Some(_) => {
                p.pos -= 1;
                return p.fail("'|'");
            }
        }
    }
    Ok(Query { commands })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        let q = parse(
            "fields @timestamp, @message | filter level = \"ERROR\" and latency > 10 | sort @timestamp desc | limit 20",
        )
        .unwrap();
        assert_eq!(q.commands.len(), 4);
        let q = parse("stats count(*) as n, avg(latency) by bin(5m), level").unwrap();
        match &q.commands[0] {
            Command::Stats { aggregates, by } => {
                assert_eq!(aggregates[0].name, "n");
                assert_eq!(aggregates[1].name, "avg(latency)");
                assert_eq!(by[0].name, "bin(5m)");
                assert_eq!(by[1].name, "level");
            }
            other => panic!("{other:?}"),
        }
        assert!(parse("parse @message \"user=* action=*\" as who, act").is_ok());
        assert!(parse("parse @message /user=(?<who>\\S+)/").is_ok());
        assert!(parse("filter @message like /a|b/ | fields @message").is_ok());
        assert!(parse("filter x / 4 = 30").is_ok());
    }

    #[test]
    fn refuses_bad_queries() {
        for bad in [
            "fields @message | filter (level = \"ERROR\"",
            "frobnicate level",
            "stats count(*) by",
            "limit many",
            "fields a b",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
