//! Filter patterns (AWS's "Filter pattern syntax for metric filters, subscription filters, filter
//! log events, and Live Tail"): parsed once per request, then matched against each message.
//!
//! Supported:
//! - empty (or blank): every event;
//! - unstructured terms, case-sensitive substrings: `ERROR Exception` (all), `"exact phrase"`,
//!   `?ERROR ?WARN` (any of the `?` terms), `-DEBUG` (none of the `-` terms);
//! - JSON patterns `{ SELECTOR OP VALUE }` with `=`, `!=`, `<`, `<=`, `>`, `>=`, string values
//!   with `*` wildcards, numbers, `IS NULL`, `IS TRUE`, `IS FALSE`, `NOT EXISTS`, `EXISTS`,
//!   selectors `$.a.b`, `$.list[0]`, `$.list[*]`, combined with `&&`, `||` and parentheses;
//! - space-delimited patterns `[ip, user, ..., status = 4*, bytes > 1000]`, with conditions
//!   combined by `&&` / `||` inside one field;
//! - regular expressions between `%` signs (`%ERR(OR)?%` is rejected as AWS rejects it: no
//!   groups), alone or as a term, JSON value or delimited field value, with AWS's operators
//!   `^ $ ? [] {m,n} | \ * + .`.
//!
//! Anything else is an `InvalidParameterException`, never a panic.

use serde_json::Value;

/// Why a pattern could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

type Parsed<T> = Result<T, PatternError>;

fn err<T>(m: impl Into<String>) -> Parsed<T> {
    Err(PatternError(m.into()))
}

#[derive(Debug, Clone)]
pub enum FilterPattern {
    All,
    Terms(Terms),
    Json(JsonExpr),
    Delimited(Vec<DelimitedField>),
}

impl FilterPattern {
    pub fn parse(pattern: &str) -> Parsed<Self> {
        let p = pattern.trim();
        if p.is_empty() {
            return Ok(Self::All);
        }
        if p.starts_with('{') {
            return Ok(Self::Json(parse_json_pattern(p)?));
        }
        if p.starts_with('[') {
            return Ok(Self::Delimited(parse_delimited(p)?));
        }
        Ok(Self::Terms(parse_terms(p)?))
    }

    pub fn matches(&self, message: &str) -> bool {
        match self {
            Self::All => true,
            Self::Terms(t) => t.matches(message),
            Self::Json(e) => match serde_json::from_str::<Value>(message.trim()) {
                Ok(v) => e.eval(&v),
                Err(_) => false,
            },
            Self::Delimited(fields) => {
                let words = split_delimited(message);
                match_delimited(fields, &words)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Text matchers: substrings, wildcards, regular expressions
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub enum TextMatch {
    /// Appears anywhere in the text.
    Contains(String),
    /// Matches somewhere in the text (unanchored unless the regex says `^` / `$`).
    Regex(Regex),
}

impl TextMatch {
    fn matches(&self, text: &str) -> bool {
        match self {
            Self::Contains(s) => text.contains(s.as_str()),
            Self::Regex(r) => r.is_match(text),
        }
    }
}

/// A whole-value match: `*` wildcards, or a regular expression.
#[derive(Debug, Clone)]
pub enum ValueMatch {
    Glob(String),
    Regex(Regex),
}

impl ValueMatch {
    fn matches(&self, text: &str) -> bool {
        match self {
            Self::Glob(g) => glob(g, text),
            Self::Regex(r) => r.is_match(text),
        }
    }
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi.min(p.len())..].iter().all(|c| *c == '*')
}

// ---------------------------------------------------------------------------------------------
// Unstructured terms
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct Terms {
    required: Vec<TextMatch>,
    any_of: Vec<TextMatch>,
    excluded: Vec<TextMatch>,
}

impl Terms {
    fn matches(&self, m: &str) -> bool {
        self.required.iter().all(|t| t.matches(m))
            && (self.any_of.is_empty() || self.any_of.iter().any(|t| t.matches(m)))
            && !self.excluded.iter().any(|t| t.matches(m))
    }
}

/// Reads a double-quoted string starting at `chars[*i] == '"'`; `\"` and `\\` are escapes.
fn read_quoted(chars: &[char], i: &mut usize) -> Parsed<String> {
    let mut out = String::new();
    *i += 1;
    while let Some(&c) = chars.get(*i) {
        *i += 1;
        match c {
            '"' => return Ok(out),
            '\\' => match chars.get(*i) {
                Some(&n) => {
                    out.push(n);
                    *i += 1;
                }
                None => return err("unterminated escape"),
            },
            c => out.push(c),
        }
    }
    err("unterminated quoted string")
}

/// Reads `%…%` starting at `chars[*i] == '%'`.
fn read_regex(chars: &[char], i: &mut usize) -> Parsed<Regex> {
    let start = *i + 1;
    let mut j = start;
    while let Some(&c) = chars.get(j) {
        if c == '\\' {
            j += 2;
            continue;
        }
        if c == '%' {
            let body: String = chars.get(start..j).unwrap_or_default().iter().collect();
            *i = j + 1;
            return Regex::new(&body);
        }
        j += 1;
    }
    err("unterminated regular expression (missing closing %)")
}

fn parse_terms(p: &str) -> Parsed<Terms> {
    let chars: Vec<char> = p.chars().collect();
    let mut terms = Terms::default();
    let mut i = 0;
    let mut regexes = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let kind = match chars[i] {
            '?' => {
                i += 1;
                1
            }
            '-' => {
                i += 1;
                2
            }
            _ => 0,
        };
        let term = match chars.get(i) {
            None => return err("a term is missing after '?' or '-'"),
            Some(c) if c.is_whitespace() => return err("a term is missing after '?' or '-'"),
            Some('"') => TextMatch::Contains(read_quoted(&chars, &mut i)?),
            Some('%') => {
                regexes += 1;
                TextMatch::Regex(read_regex(&chars, &mut i)?)
            }
            Some(_) => {
                let mut word = String::new();
                while let Some(&c) = chars.get(i) {
                    if c.is_whitespace() {
                        break;
                    }
                    if c == '"' {
                        return err(format!("unexpected '\"' in term '{word}'"));
                    }
                    word.push(c);
                    i += 1;
                }
                TextMatch::Contains(word)
            }
        };
        if chars.get(i).is_some_and(|c| !c.is_whitespace()) {
            return err("terms must be separated by spaces");
        }
        match kind {
            1 => terms.any_of.push(term),
            2 => terms.excluded.push(term),
            _ => terms.required.push(term),
        }
    }
    if regexes > 2 {
        return err("a filter pattern can contain at most 2 regular expressions");
    }
    Ok(terms)
}

// ---------------------------------------------------------------------------------------------
// JSON patterns
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBrace,
    RBrace,
    LParen,
    RParen,
    And,
    Or,
    Op(CmpOp),
    Selector(Vec<Step>),
    Str(String),
    Regex(String),
    Word(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Self::Eq => ord == Equal,
            Self::Ne => ord != Equal,
            Self::Lt => ord == Less,
            Self::Le => ord != Greater,
            Self::Gt => ord == Greater,
            Self::Ge => ord != Less,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Key(String),
    Index(usize),
    AnyIndex,
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !"{}()&|=!<>\"%,[]".contains(c)
}

fn lex_json(p: &str) -> Parsed<Vec<Tok>> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '{' => {
                out.push(Tok::LBrace);
                i += 1;
            }
            '}' => {
                out.push(Tok::RBrace);
                i += 1;
            }
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            '&' if next == Some('&') => {
                out.push(Tok::And);
                i += 2;
            }
            '|' if next == Some('|') => {
                out.push(Tok::Or);
                i += 2;
            }
            '=' => {
                out.push(Tok::Op(CmpOp::Eq));
                i += if next == Some('=') { 2 } else { 1 };
            }
            '!' if next == Some('=') => {
                out.push(Tok::Op(CmpOp::Ne));
                i += 2;
            }
            '<' => {
                out.push(Tok::Op(if next == Some('=') { CmpOp::Le } else { CmpOp::Lt }));
                i += if next == Some('=') { 2 } else { 1 };
            }
            '>' => {
                out.push(Tok::Op(if next == Some('=') { CmpOp::Ge } else { CmpOp::Gt }));
                i += if next == Some('=') { 2 } else { 1 };
            }
            '"' => out.push(Tok::Str(read_quoted(&chars, &mut i)?)),
            '%' => {
                let start = i;
                read_regex(&chars, &mut i)?;
                let body: String = chars.get(start + 1..i - 1).unwrap_or_default().iter().collect();
                out.push(Tok::Regex(body));
            }
            '$' => {
                i += 1;
                let mut steps = Vec::new();
                loop {
                    match chars.get(i) {
                        Some('.') => {
                            i += 1;
                            let mut key = String::new();
                            while let Some(&k) = chars.get(i) {
                                if k == '.' || k == '[' || !is_word_char(k) {
                                    break;
                                }
                                key.push(k);
                                i += 1;
                            }
                            if key.is_empty() {
                                return err("a JSON selector has an empty property name");
                            }
                            steps.push(Step::Key(key));
                        }
                        Some('[') => {
                            let close = chars[i..].iter().position(|&x| x == ']').map(|o| i + o);
                            let Some(close) = close else { return err("a JSON selector misses ']'") };
                            let inner: String = chars.get(i + 1..close).unwrap_or_default().iter().collect();
                            let inner = inner.trim();
                            if inner == "*" {
                                steps.push(Step::AnyIndex);
                            } else {
                                let n = inner.parse::<usize>().map_err(|_| {
                                    PatternError(format!("invalid array index '{inner}' in a JSON selector"))
                                })?;
                                steps.push(Step::Index(n));
                            }
                            i = close + 1;
                        }
                        _ => break,
                    }
                }
                if steps.is_empty() {
                    return err("a JSON selector must name a property ($.name)");
                }
                out.push(Tok::Selector(steps));
            }
            c if is_word_char(c) => {
                let mut w = String::new();
                while let Some(&k) = chars.get(i) {
                    if !is_word_char(k) {
                        break;
                    }
                    w.push(k);
                    i += 1;
                }
                out.push(Tok::Word(w));
            }
            other => return err(format!("unexpected character '{other}'")),
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
pub enum JsonValue {
    Num(f64),
    Bool(bool),
    Text(ValueMatch),
}

#[derive(Debug, Clone)]
pub enum Check {
    Compare(CmpOp, JsonValue),
    IsNull,
    IsBool(bool),
    Exists,
    NotExists,
}

#[derive(Debug, Clone)]
pub enum JsonExpr {
    And(Box<JsonExpr>, Box<JsonExpr>),
    Or(Box<JsonExpr>, Box<JsonExpr>),
    Test(Vec<Step>, Check),
}

struct JsonParser {
    toks: Vec<Tok>,
    pos: usize,
    regexes: usize,
}

impl JsonParser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expr(&mut self, depth: usize) -> Parsed<JsonExpr> {
        if depth > 64 {
            return err("the pattern nests too deeply");
        }
        let mut left = self.and(depth)?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let right = self.and(depth)?;
            left = JsonExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Parsed<JsonExpr> {
        let mut left = self.primary(depth)?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let right = self.primary(depth)?;
            left = JsonExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn primary(&mut self, depth: usize) -> Parsed<JsonExpr> {
        match self.next() {
            Some(Tok::LParen) => {
                let e = self.expr(depth + 1)?;
                match self.next() {
                    Some(Tok::RParen) => Ok(e),
                    _ => err("missing ')'"),
                }
            }
            Some(Tok::Selector(steps)) => {
                let check = self.check()?;
                Ok(JsonExpr::Test(steps, check))
            }
            Some(other) => err(format!("expected a JSON selector ($.name), found {other:?}")),
            None => err("the JSON pattern ends early"),
        }
    }

    fn keyword(&mut self, kw: &str) -> bool {
        match self.peek() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    fn check(&mut self) -> Parsed<Check> {
        if self.keyword("IS") {
            if self.keyword("NULL") {
                return Ok(Check::IsNull);
            }
            if self.keyword("TRUE") {
                return Ok(Check::IsBool(true));
            }
            if self.keyword("FALSE") {
                return Ok(Check::IsBool(false));
            }
            return err("IS must be followed by NULL, TRUE or FALSE");
        }
        if self.keyword("NOT") {
            if self.keyword("EXISTS") {
                return Ok(Check::NotExists);
            }
            return err("NOT must be followed by EXISTS");
        }
        if self.keyword("EXISTS") {
            return Ok(Check::Exists);
        }
        let op = match self.next() {
            Some(Tok::Op(op)) => op,
            _ => return err("expected a comparison operator (=, !=, <, <=, >, >=)"),
        };
        let value = match self.next() {
            Some(Tok::Str(s)) => JsonValue::Text(ValueMatch::Glob(s)),
            Some(Tok::Regex(r)) => {
                self.regexes += 1;
                JsonValue::Text(ValueMatch::Regex(Regex::new(&r)?))
            }
            Some(Tok::Word(w)) => match w.parse::<f64>() {
                Ok(n) if n.is_finite() && !w.contains('*') => JsonValue::Num(n),
                _ if w == "true" => JsonValue::Bool(true),
                _ if w == "false" => JsonValue::Bool(false),
                _ => JsonValue::Text(ValueMatch::Glob(w)),
            },
            _ => return err("expected a value after the comparison operator"),
        };
        if !matches!(op, CmpOp::Eq | CmpOp::Ne) && !matches!(value, JsonValue::Num(_)) {
            return err("<, <=, > and >= compare numbers only");
        }
        Ok(Check::Compare(op, value))
    }
}

fn parse_json_pattern(p: &str) -> Parsed<JsonExpr> {
    let toks = lex_json(p)?;
    if toks.first() != Some(&Tok::LBrace) || toks.last() != Some(&Tok::RBrace) {
        return err("a JSON pattern must be enclosed in { }");
    }
    let inner = toks.get(1..toks.len() - 1).unwrap_or_default().to_vec();
    if inner.iter().any(|t| matches!(t, Tok::LBrace | Tok::RBrace)) {
        return err("unexpected brace in a JSON pattern");
    }
    let mut parser = JsonParser { toks: inner, pos: 0, regexes: 0 };
    let e = parser.expr(0)?;
    if parser.pos < parser.toks.len() {
        return err("unexpected text after the JSON expression");
    }
    if parser.regexes > 2 {
        return err("a filter pattern can contain at most 2 regular expressions");
    }
    Ok(e)
}

fn select<'a>(v: &'a Value, steps: &[Step], out: &mut Vec<&'a Value>) {
    let Some((first, rest)) = steps.split_first() else {
        out.push(v);
        return;
    };
    match (first, v) {
        (Step::Key(k), Value::Object(o)) => {
            if let Some(child) = o.get(k) {
                select(child, rest, out);
            }
        }
        (Step::Index(n), Value::Array(a)) => {
            if let Some(child) = a.get(*n) {
                select(child, rest, out);
            }
        }
        (Step::AnyIndex, Value::Array(a)) => {
            for child in a {
                select(child, rest, out);
            }
        }
        _ => {}
    }
}

fn compare(v: &Value, op: CmpOp, want: &JsonValue) -> bool {
    match want {
        JsonValue::Num(n) => match v.as_f64() {
            Some(x) => x.partial_cmp(n).is_some_and(|o| op.holds(o)),
            None => false,
        },
        JsonValue::Bool(b) => match v {
            Value::Bool(x) => op.holds(x.cmp(b)),
            _ => false,
        },
        JsonValue::Text(m) => {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return false,
            };
            let hit = m.matches(&text);
            if op == CmpOp::Eq { hit } else { !hit }
        }
    }
}

impl JsonExpr {
    fn eval(&self, v: &Value) -> bool {
        match self {
            Self::And(a, b) => a.eval(v) && b.eval(v),
            Self::Or(a, b) => a.eval(v) || b.eval(v),
            Self::Test(steps, check) => {
                let mut found = Vec::new();
                select(v, steps, &mut found);
                match check {
                    Check::NotExists => found.is_empty(),
                    Check::Exists => !found.is_empty(),
                    Check::IsNull => found.iter().any(|x| x.is_null()),
                    Check::IsBool(b) => found.iter().any(|x| x.as_bool() == Some(*b)),
                    Check::Compare(op, want) => found.iter().any(|x| compare(x, *op, want)),
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Space-delimited patterns
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub enum DelimitedField {
    /// `...`: any number of fields.
    Ellipsis,
    /// A named field, matching when its conditions hold (no condition: any value).
    Field(Option<FieldCond>),
}

#[derive(Debug, Clone)]
pub enum FieldCond {
    And(Box<FieldCond>, Box<FieldCond>),
    Or(Box<FieldCond>, Box<FieldCond>),
    Cmp(CmpOp, JsonValue),
}

impl FieldCond {
    fn eval(&self, field: &str) -> bool {
        match self {
            Self::And(a, b) => a.eval(field) && b.eval(field),
            Self::Or(a, b) => a.eval(field) || b.eval(field),
            Self::Cmp(op, JsonValue::Num(n)) => {
                field.parse::<f64>().ok().and_then(|x| x.partial_cmp(n)).is_some_and(|o| op.holds(o))
            }
            Self::Cmp(op, JsonValue::Bool(b)) => {
                let hit = field == b.to_string();
                if *op == CmpOp::Eq { hit } else { !hit }
            }
            Self::Cmp(op, JsonValue::Text(m)) => {
                let hit = m.matches(field);
                if *op == CmpOp::Eq { hit } else { !hit }
            }
        }
    }
}

/// Splits at top-level commas (outside quotes and `%…%`).
fn split_top_level(s: &str) -> Parsed<Vec<String>> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut regex, mut escaped) = (false, false, false);
    for c in s.chars() {
        if escaped {
            escaped = false;
            cur.push(c);
            continue;
        }
        match c {
            '\\' if quoted || regex => {
                escaped = true;
                cur.push(c);
            }
            '"' if !regex => {
                quoted = !quoted;
                cur.push(c);
            }
            '%' if !quoted => {
                regex = !regex;
                cur.push(c);
            }
            ',' if !quoted && !regex => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if quoted || regex {
        return err("unterminated string or regular expression");
    }
    parts.push(cur);
    Ok(parts)
}

fn parse_field_cond(toks: &[Tok], name: &str) -> Parsed<FieldCond> {
    // cond := cmp ((&& | ||) cmp)* with && binding tighter; each cmp is `name OP value`.
    let mut pos = 0;
    let mut regexes = 0;
    let mut cmp = |pos: &mut usize| -> Parsed<FieldCond> {
        match toks.get(*pos) {
            Some(Tok::Word(w)) if w == name => *pos += 1,
            Some(Tok::Word(w)) => return err(format!("a condition of field '{name}' names another field '{w}'")),
            _ => return err(format!("expected the field name '{name}'")),
        }
        let op = match toks.get(*pos) {
            Some(Tok::Op(op)) => *op,
            _ => return err("expected a comparison operator (=, !=, <, <=, >, >=)"),
        };
        *pos += 1;
        let value = match toks.get(*pos) {
            Some(Tok::Str(s)) => JsonValue::Text(ValueMatch::Glob(s.clone())),
            Some(Tok::Regex(r)) => {
                regexes += 1;
                JsonValue::Text(ValueMatch::Regex(Regex::new(r)?))
            }
            Some(Tok::Word(w)) => match w.parse::<f64>() {
                Ok(n) if n.is_finite() && !w.contains('*') => JsonValue::Num(n),
                _ => JsonValue::Text(ValueMatch::Glob(w.clone())),
            },
            _ => return err("expected a value after the comparison operator"),
        };
        *pos += 1;
        if !matches!(op, CmpOp::Eq | CmpOp::Ne) && !matches!(value, JsonValue::Num(_)) {
            return err("<, <=, > and >= compare numbers only");
        }
        Ok(FieldCond::Cmp(op, value))
    };
    let mut ors = Vec::new();
    let mut current = cmp(&mut pos)?;
    loop {
        match toks.get(pos) {
            Some(Tok::And) => {
                pos += 1;
                let rhs = cmp(&mut pos)?;
                current = FieldCond::And(Box::new(current), Box::new(rhs));
            }
            Some(Tok::Or) => {
                pos += 1;
                ors.push(current);
                current = cmp(&mut pos)?;
            }
            None => break,
            Some(other) => return err(format!("unexpected {other:?} in a field condition")),
        }
    }
    for left in ors.into_iter().rev() {
        current = FieldCond::Or(Box::new(left), Box::new(current));
    }
    if regexes > 2 {
        return err("a filter pattern can contain at most 2 regular expressions");
    }
    Ok(current)
}

fn parse_delimited(p: &str) -> Parsed<Vec<DelimitedField>> {
    let Some(inner) = p.strip_prefix('[').and_then(|s| s.strip_suffix(']')) else {
        return err("a space-delimited pattern must be enclosed in [ ]");
    };
    let mut fields = Vec::new();
    for part in split_top_level(inner)? {
        let part = part.trim();
        if part.is_empty() {
            if inner.trim().is_empty() {
                continue;
            }
            return err("a space-delimited pattern has an empty field");
        }
        if part == "..." {
            fields.push(DelimitedField::Ellipsis);
            continue;
        }
        let toks = lex_json(part)?;
        match toks.as_slice() {
            [Tok::Word(_)] => fields.push(DelimitedField::Field(None)),
            [Tok::Word(name), ..] => {
                let name = name.clone();
                fields.push(DelimitedField::Field(Some(parse_field_cond(&toks, &name)?)));
            }
            _ => return err(format!("invalid field '{part}' in a space-delimited pattern")),
        }
    }
    Ok(fields)
}

/// Fields of a message: separated by spaces; text in `"…"` or `[…]` is one field (without the
/// quotes or brackets).
pub fn split_delimited(message: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut chars = message.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut field = String::new();
        match c {
            '"' | '[' => {
                let close = if c == '"' { '"' } else { ']' };
                chars.next();
                for k in chars.by_ref() {
                    if k == close {
                        break;
                    }
                    field.push(k);
                }
            }
            _ => {
                while let Some(&k) = chars.peek() {
                    if k.is_whitespace() {
                        break;
                    }
                    field.push(k);
                    chars.next();
                }
            }
        }
        fields.push(field);
    }
    fields
}

fn match_delimited(pattern: &[DelimitedField], words: &[String]) -> bool {
    // Dynamic programming over (pattern index, word index): patterns are short.
    let (np, nw) = (pattern.len(), words.len());
    let mut reach = vec![vec![false; nw + 1]; np + 1];
    reach[0][0] = true;
    for pi in 0..np {
        for wi in 0..=nw {
            if !reach[pi][wi] {
                continue;
            }
            match &pattern[pi] {
                DelimitedField::Ellipsis => {
                    for r in reach[pi + 1].iter_mut().skip(wi) {
                        *r = true;
                    }
                }
                DelimitedField::Field(cond) => {
                    if wi < nw && cond.as_ref().is_none_or(|c| c.eval(&words[wi])) {
                        reach[pi + 1][wi + 1] = true;
                    }
                }
            }
        }
    }
    reach[np][nw]
}

// ---------------------------------------------------------------------------------------------
// Regular expressions (AWS's subset: no groups)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Atom {
    Any,
    Char(char),
    Class { negated: bool, items: Vec<(char, char)> },
}

impl Atom {
    fn matches(&self, c: char) -> bool {
        match self {
            Self::Any => c != '\n',
            Self::Char(x) => *x == c,
            Self::Class { negated, items } => items.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated,
        }
    }
}

/// One node of the expanded expression: `a{2,3}` is `One(a) One(a) Optional(a)`, `a+` is
/// `One(a) Star(a)`.
#[derive(Debug, Clone)]
enum Node {
    One(Atom),
    Optional(Atom),
    Star(Atom),
}

#[derive(Debug, Clone)]
struct Branch {
    start: bool,
    end: bool,
    nodes: Vec<Node>,
}

/// A regular expression of the subset CloudWatch Logs filter patterns allow, matched by
/// simulating its automaton (linear in the text, whatever the expression).
#[derive(Debug, Clone)]
pub struct Regex {
    branches: Vec<Branch>,
}

const MAX_REPEAT: usize = 1000;
const MAX_NODES: usize = 10_000;

impl Regex {
    pub fn new(src: &str) -> Parsed<Self> {
        if src.is_empty() {
            return err("empty regular expression");
        }
        let chars: Vec<char> = src.chars().collect();
        let mut branches = Vec::new();
        let new_branch = || Branch { start: false, end: false, nodes: Vec::new() };
        let mut branch = new_branch();
        let mut total = 0usize;
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            i += 1;
            let atom = match c {
                '(' | ')' => return err("parentheses are not supported in regular expressions"),
                '|' => {
                    branches.push(std::mem::replace(&mut branch, new_branch()));
                    continue;
                }
                '^' if branch.nodes.is_empty() && !branch.start => {
                    branch.start = true;
                    continue;
                }
                '$' if matches!(chars.get(i), None | Some('|')) => {
                    branch.end = true;
                    continue;
                }
                '.' => Atom::Any,
                '\\' => {
                    let Some(&e) = chars.get(i) else { return err("trailing backslash in a regular expression") };
                    i += 1;
                    escape_atom(e)
                }
                '[' => {
                    let (atom, next) = parse_class(&chars, i)?;
                    i = next;
                    atom
                }
                '*' | '+' | '?' | '{' => return err(format!("nothing to repeat before '{c}'")),
                c if c.is_ascii() => Atom::Char(c),
                _ => return err("multi-byte characters are not supported in regular expressions"),
            };
            let (min, max, next) = parse_quantifier(&chars, i)?;
            i = next;
            total += min + if max == usize::MAX { 1 } else { max - min };
            if total > MAX_NODES {
                return err("the regular expression is too large");
            }
            for _ in 0..min {
                branch.nodes.push(Node::One(atom.clone()));
            }
            if max == usize::MAX {
                branch.nodes.push(Node::Star(atom));
            } else {
                for _ in min..max {
                    branch.nodes.push(Node::Optional(atom.clone()));
                }
            }
        }
        branches.push(branch);
        Ok(Self { branches })
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.branches.iter().any(|b| b.is_match(text))
    }
}

impl Branch {
    /// Adds state `s` and everything reachable from it without consuming a character.
    fn close(&self, s: usize, set: &mut [bool]) {
        let mut s = s;
        loop {
            if set[s] {
                return;
            }
            set[s] = true;
            match self.nodes.get(s) {
                Some(Node::Optional(_) | Node::Star(_)) => s += 1,
                _ => return,
            }
        }
    }

    fn is_match(&self, text: &str) -> bool {
        let n = self.nodes.len();
        let mut cur = vec![false; n + 1];
        self.close(0, &mut cur);
        let accepts = |set: &[bool], at_end: bool| set[n] && (!self.end || at_end);
        let mut chars = text.chars().peekable();
        if accepts(&cur, chars.peek().is_none()) {
            return true;
        }
        while let Some(c) = chars.next() {
            let mut next = vec![false; n + 1];
            for (s, node) in self.nodes.iter().enumerate() {
                if !cur[s] {
                    continue;
                }
                match node {
                    Node::One(a) | Node::Optional(a) if a.matches(c) => self.close(s + 1, &mut next),
                    Node::Star(a) if a.matches(c) => self.close(s, &mut next),
                    _ => {}
                }
            }
            if !self.start {
                self.close(0, &mut next);
            }
            cur = next;
            if accepts(&cur, chars.peek().is_none()) {
                return true;
            }
            if !self.start && !self.end && cur[n] {
                return true;
            }
        }
        false
    }
}

fn escape_atom(e: char) -> Atom {
    let range = |items: Vec<(char, char)>, negated| Atom::Class { negated, items };
    match e {
        'd' => range(vec![('0', '9')], false),
        'D' => range(vec![('0', '9')], true),
        'w' => range(vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')], false),
        'W' => range(vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')], true),
        's' => range(vec![(' ', ' '), ('\t', '\t'), ('\n', '\n'), ('\r', '\r')], false),
        'S' => range(vec![(' ', ' '), ('\t', '\t'), ('\n', '\n'), ('\r', '\r')], true),
        't' => Atom::Char('\t'),
        'n' => Atom::Char('\n'),
        other => Atom::Char(other),
    }
}

fn parse_class(chars: &[char], mut i: usize) -> Parsed<(Atom, usize)> {
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut items = Vec::new();
    let mut first = true;
    loop {
        let Some(&c) = chars.get(i) else { return err("unterminated character class") };
        i += 1;
        if c == ']' && !first {
            break;
        }
        first = false;
        let lo = if c == '\\' {
            let Some(&e) = chars.get(i) else { return err("trailing backslash in a character class") };
            i += 1;
            match escape_atom(e) {
                Atom::Char(x) => x,
                Atom::Class { items: more, negated: false } => {
                    items.extend(more);
                    continue;
                }
                _ => return err("negated escapes are not supported inside a character class"),
            }
        } else {
            c
        };
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&n| n != ']') {
            let Some(&hi) = chars.get(i + 1) else { return err("unterminated character class") };
            i += 2;
            if hi < lo {
                return err("invalid range in a character class");
            }
            items.push((lo, hi));
        } else {
            items.push((lo, lo));
        }
    }
    Ok((Atom::Class { negated, items }, i))
}

fn parse_quantifier(chars: &[char], i: usize) -> Parsed<(usize, usize, usize)> {
    match chars.get(i) {
        Some('*') => Ok((0, usize::MAX, i + 1)),
        Some('+') => Ok((1, usize::MAX, i + 1)),
        Some('?') => Ok((0, 1, i + 1)),
        Some('{') => {
            let close = chars[i..].iter().position(|&c| c == '}').map(|o| i + o);
            let Some(close) = close else { return err("unterminated {m,n} repetition") };
            let body: String = chars.get(i + 1..close).unwrap_or_default().iter().collect();
            let num =
                |s: &str| s.trim().parse::<usize>().map_err(|_| PatternError(format!("invalid repetition {{{body}}}")));
            let (min, max) = match body.split_once(',') {
                None => {
                    let n = num(&body)?;
                    (n, n)
                }
                Some((a, b)) if b.trim().is_empty() => (num(a)?, usize::MAX),
                Some((a, b)) => (num(a)?, num(b)?),
            };
            if min > max || min > MAX_REPEAT || (max != usize::MAX && max > MAX_REPEAT) {
                return err(format!("invalid repetition {{{body}}}"));
            }
            Ok((min, max, close + 1))
        }
        _ => Ok((1, 1, i)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn check(pattern: &str, cases: &[(&str, bool)]) {
        let p = FilterPattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern:?} did not parse: {e:?}"));
        for (message, want) in cases {
            assert_eq!(p.matches(message), *want, "pattern {pattern:?} on message {message:?}");
        }
    }

    #[test]
    fn unstructured_terms() {
        let table: &[(&str, &[(&str, bool)])] = &[
            ("", &[("anything", true), ("", true)]),
            ("   ", &[("anything", true)]),
            (
                "ERROR",
                &[
                    ("[ERROR] A fatal exception has occurred", true),
                    ("Exiting with ERRORCODE: -1", true),
                    ("error", false),
                ],
            ),
            (
                "ERROR Exception",
                &[
                    ("[ERROR] Caught IllegalArgumentException", true),
                    ("[ERROR] Unhandled Exception", true),
                    ("ERROR only", false),
                    ("Exception only", false),
                ],
            ),
            (
                "\"Failed to process the request\"",
                &[("[WARN] Failed to process the request", true), ("Failed to process request", false)],
            ),
            ("Failed to process the request", &[("the request Failed to process", true), ("Failed to", false)]),
            ("ERROR -Exiting", &[("[ERROR] A fatal exception", true), ("Exiting with ERRORCODE: -1", false)]),
            ("?ERROR ?WARN", &[("[ERROR] x", true), ("[WARN] y", true), ("[INFO] z", false)]),
            ("-DEBUG", &[("INFO hello", true), ("DEBUG hello", false)]),
            ("\"ERROR 401\"", &[("[ERROR 401] UNAUTHORIZED", true), ("[ERROR 400] 401", false)]),
            ("?\"hello cruel\" ?world", &[("hello cruela", true), ("goodbye world", true), ("hello", false)]),
            (
                "ERROR ?A ?B -C",
                &[("ERROR A", true), ("ERROR B", true), ("ERROR", false), ("ERROR A C", false), ("A B", false)],
            ),
            ("\"quote \\\" inside\"", &[("a quote \" inside b", true), ("a quote inside", false)]),
            ("café", &[("un café noir", true), ("cafe", false)]),
            ("user@example.com", &[("login user@example.com ok", true)]),
        ];
        for (pattern, cases) in table {
            check(pattern, cases);
        }
    }

    #[test]
    fn json_patterns() {
        let ev = r#"{"eventType":"UpdateTrail","sourceIPAddress":"123.123.1.9","latency":50,"refreshRate":2.0,
            "user":{"id":1,"email":"John.Doe@example.com"},"users":[{"id":2},{"id":3}],"errorCode":null,
            "isTrusted":true,"tags":["a","b"],"code":"200"}"#;
        let table: &[(&str, bool)] = &[
            (r#"{ $.eventType = "UpdateTrail" }"#, true),
            (r#"{ $.eventType = UpdateTrail }"#, true),
            (r#"{ $.eventType = "Update*" }"#, true),
            (r#"{ $.eventType = "*Trail" }"#, true),
            (r#"{ $.eventType = "updatetrail" }"#, false),
            (r#"{ $.eventType != "UpdateTrail" }"#, false),
            (r#"{ $.eventType != "DeleteTrail" }"#, true),
            (r#"{ $.sourceIPAddress != 123.123.* }"#, false),
            (r#"{ $.sourceIPAddress = 123.123.* }"#, true),
            ("{ $.latency > 5 }", true),
            ("{ $.latency >= 50 }", true),
            ("{ $.latency < 50 }", false),
            ("{ $.latency <= 50 }", true),
            ("{ $.latency = 50 }", true),
            ("{ $.latency != 50 }", false),
            ("{ $.refreshRate = 2 }", true),
            ("{ $.user.id = 1 }", true),
            (r#"{ ($.user.id = 1) && ($.users[0].id = 2) }"#, true),
            (r#"{ $.user.id = 2 || $.users[1].id = 3 }"#, true),
            (r#"{ $.user.id = 2 && $.users[1].id = 3 }"#, false),
            (r#"{ $.users[*].id = 3 }"#, true),
            (r#"{ $.users[5].id = 3 }"#, false),
            (r#"{ $.tags[1] = "b" }"#, true),
            ("{ $.errorCode IS NULL }", true),
            ("{ $.eventType IS NULL }", false),
            ("{ $.missing NOT EXISTS }", true),
            ("{ $.eventType NOT EXISTS }", false),
            ("{ $.eventType EXISTS }", true),
            ("{ $.isTrusted IS TRUE }", true),
            ("{ $.isTrusted IS FALSE }", false),
            ("{ $.missing = \"x\" }", false),
            ("{ $.missing != \"x\" }", false),
            ("{ $.eventType > 5 }", false),
            ("{ $.code = 200 }", false),
            (r#"{ $.code = "200" }"#, true),
            (r#"{ $.latency = "50" }"#, true),
            (r#"{ ($.latency > 100 || $.isTrusted IS TRUE) && $.eventType = "Update*" }"#, true),
            (r#"{ $.eventType = %^Update[A-Z]% }"#, true),
            (r#"{ $.eventType = %^update% }"#, false),
        ];
        for (pattern, want) in table {
            check(pattern, &[(ev, *want)]);
        }
        // Not JSON, or JSON of another shape: no match.
        check("{ $.a = 1 }", &[("a = 1", false), ("[1,2]", false), (r#"{"a":1}"#, true), (r#"  {"a":1}  "#, true)]);
    }

    #[test]
    fn space_delimited_patterns() {
        let line = r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;
        assert_eq!(split_delimited(line).len(), 7);
        assert_eq!(split_delimited(line)[3], "10/Oct/2000:13:25:15 -0700");
        let table: &[(&str, bool)] = &[
            ("[ip, user, username, timestamp, request, status_code, bytes]", true),
            ("[ip, user, username, timestamp, request, status_code = 404, bytes]", true),
            ("[ip, user, username, timestamp, request, status_code = 200, bytes]", false),
            ("[ip, user, username, timestamp, request, status_code = 4*, bytes > 1000]", true),
            ("[ip, user, username, timestamp, request, status_code = 4*, bytes > 2000]", false),
            ("[ip, user, username, timestamp, request = \"*html*\", status_code, bytes]", true),
            ("[ip, user, username, timestamp, request = \"*jpg*\", status_code, bytes]", false),
            ("[ip = 127.0.0.1, ...]", true),
            ("[..., status_code = 404, bytes]", true),
            ("[ip, user, ...]", true),
            ("[ip, user]", false),
            ("[..., status_code = 500 || status_code = 404, bytes]", true),
            ("[..., status_code >= 400 && status_code < 500, bytes]", true),
            ("[..., status_code != 404, bytes]", false),
            ("[ip, user, username = frank, ...]", true),
        ];
        for (pattern, want) in table {
            check(pattern, &[(line, *want)]);
        }
    }

    #[test]
    fn regular_expressions() {
        let table: &[(&str, &[(&str, bool)])] = &[
            (
                "%AUTHORIZED%",
                &[
                    ("[ERROR 401] UNAUTHORIZED REQUEST", true),
                    ("[SUCCESS 200] AUTHORIZED REQUEST", true),
                    ("nope", false),
                ],
            ),
            ("%^[hc]at%", &[("hat trick", true), ("cat", true), ("that", false)]),
            ("%[hc]at$%", &[("a hat", true), ("hats", false)]),
            ("%colou?r%", &[("color", true), ("colour", true), ("colr", false)]),
            ("%a{3,5}%", &[("xaaay", true), ("xaay", false)]),
            ("%gray|grey%", &[("grey", true), ("gray", true), ("gry", false)]),
            ("%10\\.10\\.0\\.1%", &[("from 10.10.0.1", true), ("from 10x10x0x1", false)]),
            ("%[a-z]+-[0-9]+%", &[("id abc-123", true), ("ABC-123", false)]),
            ("%\\d{3}%", &[("code 404", true), ("code 44", false)]),
            ("%ERROR% -DEBUG", &[("ERROR x", true), ("ERROR DEBUG", false)]),
        ];
        for (pattern, cases) in table {
            check(pattern, cases);
        }
    }

    #[test]
    fn glob_wildcards() {
        assert!(glob("*", ""));
        assert!(glob("a*c", "abbbc"));
        assert!(glob("a*c*", "abcd"));
        assert!(!glob("a*c", "abd"));
        assert!(glob("**x", "x"));
        assert!(!glob("", "x"));
    }

    #[test]
    fn invalid_patterns_are_errors_not_panics() {
        for p in [
            "{",
            "{ }",
            "{ $.a = }",
            "{ $.a }",
            "{ $. = 1 }",
            "{ $.a[ = 1 }",
            "{ $.a[x] = 1 }",
            "{ $.a = 1 && }",
            "{ ($.a = 1 }",
            "{ $.a > \"x\" }",
            "{ $.a IS MAYBE }",
            "{ $.a = 1 } extra",
            "{ a = 1 }",
            "\"unterminated",
            "?",
            "-",
            "a\"b",
            "[a, b",
            "[a, , b]",
            "[a = ]",
            "[a > x]",
            "[a = 1 || b = 2]",
            "%unterminated",
            "%(group)%",
            "%a{5,3}%",
            "%*%",
            "%[abc%",
            "%a% %b% %c%",
            "%日本%",
            "\"a\"b",
        ] {
            assert!(FilterPattern::parse(p).is_err(), "{p:?} should be rejected");
        }
        // Deep nesting is refused instead of overflowing the stack.
        let deep = format!("{{ {}$.a = 1{} }}", "(".repeat(500), ")".repeat(500));
        assert!(FilterPattern::parse(&deep).is_err());
    }
}
