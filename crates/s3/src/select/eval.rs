//! Evaluating S3 Select expressions over one record: paths (CSV columns by header name or
//! position `_N`, JSON members and list indexes), PartiQL's NULL/MISSING rules (a comparison with
//! either is NULL, and a NULL condition selects nothing), casts, the scalar functions, and the
//! aggregates' running state.

use std::cmp::Ordering;

use super::SelectError;
use super::sql::{Agg, BinOp, Expr, Name, Step, Type};
use super::value::{Num, V};

/// The scalar functions the parser accepts.
pub const FUNCTIONS: &[&str] = &[
    "lower",
    "upper",
    "char_length",
    "character_length",
    "substring",
    "trim",
    "coalesce",
    "nullif",
    "utcnow",
    "to_timestamp",
    "to_string",
    "extract",
    "date_add",
    "date_diff",
];

/// One input record.
pub enum Record<'a> {
    Csv(&'a [String]),
    Json(&'a V),
}

/// What evaluating needs besides the record.
pub struct Scope<'a> {
    /// FROM's alias (`FROM S3Object s`).
    pub alias: Option<&'a str>,
    /// CSV column names (FileHeaderInfo USE).
    pub headers: Option<&'a [String]>,
    /// The request's time, for UTCNOW().
    pub now_millis: i64,
    /// Results of the aggregates, when evaluating an aggregate query's items at the end.
    pub aggregates: Option<&'a [V]>,
}

fn err(code: &str, message: impl Into<String>) -> SelectError {
    SelectError::new(code, message)
}

impl Scope<'_> {
    pub fn eval(&self, e: &Expr, r: &Record) -> Result<V, SelectError> {
        Ok(match e {
            Expr::Lit(v) => v.clone(),
            Expr::Path(steps) => self.path(steps, r)?,
            Expr::Neg(a) => match self.eval(a, r)? {
                v if v.is_absent() => V::Null,
                v => match v.number() {
                    Some(Num::Int(n)) => n.checked_neg().map_or(V::Float(-(n as f64)), V::Int),
                    Some(Num::Float(f)) => V::Float(-f),
                    None => return Err(type_error("-", &v)),
                },
            },
            Expr::Not(a) => match truth(&self.eval(a, r)?)? {
                Some(b) => V::Bool(!b),
                None => V::Null,
            },
            Expr::And(a, b) => {
                let l = truth(&self.eval(a, r)?)?;
                if l == Some(false) {
                    return Ok(V::Bool(false));
                }
                match (l, truth(&self.eval(b, r)?)?) {
                    (_, Some(false)) => V::Bool(false),
                    (Some(true), Some(true)) => V::Bool(true),
                    _ => V::Null,
                }
            }
            Expr::Or(a, b) => {
                let l = truth(&self.eval(a, r)?)?;
                if l == Some(true) {
                    return Ok(V::Bool(true));
                }
                match (l, truth(&self.eval(b, r)?)?) {
                    (_, Some(true)) => V::Bool(true),
                    (Some(false), Some(false)) => V::Bool(false),
                    _ => V::Null,
                }
            }
            Expr::Bin(op, a, b) => binary(*op, self.eval(a, r)?, self.eval(b, r)?)?,
            Expr::Is { e, missing, not } => {
                let v = self.eval(e, r)?;
                let is = if *missing { matches!(v, V::Missing) } else { v.is_absent() };
                V::Bool(is != *not)
            }
            Expr::Like { e, pattern, escape, not } => {
                let (v, p) = (self.eval(e, r)?, self.eval(pattern, r)?);
                let esc = match escape {
                    Some(x) => match self.eval(x, r)? {
                        V::Str(s) if s.chars().count() == 1 => s.chars().next(),
                        other => {
                            return Err(err(
                                "InvalidArgument",
                                format!("The ESCAPE of LIKE must be one character, not {}.", other.type_name()),
                            ));
                        }
                    },
                    None => None,
                };
                match (v, p) {
                    (V::Str(s), V::Str(p)) => V::Bool(like(&s, &p, esc) != *not),
                    (a, b) if a.is_absent() || b.is_absent() => V::Null,
                    (a, _) => return Err(type_error("LIKE", &a)),
                }
            }
            Expr::Between { e, low, high, not } => {
                let v = self.eval(e, r)?;
                let (lo, hi) = (self.eval(low, r)?, self.eval(high, r)?);
                match (compare(&v, &lo), compare(&v, &hi)) {
                    (Some(a), Some(b)) => V::Bool((a != Ordering::Less && b != Ordering::Greater) != *not),
                    _ => V::Null,
                }
            }
            Expr::In { e, list, not } => {
                let v = self.eval(e, r)?;
                if v.is_absent() {
                    return Ok(V::Null);
                }
                let mut unknown = false;
                for item in list {
                    match compare(&v, &self.eval(item, r)?) {
                        Some(Ordering::Equal) => return Ok(V::Bool(!*not)),
                        None => unknown = true,
                        _ => {}
                    }
                }
                if unknown { V::Null } else { V::Bool(*not) }
            }
            Expr::Cast(a, ty) => cast(self.eval(a, r)?, *ty)?,
            Expr::Case { operand, whens, otherwise } => {
                let subject = match operand {
                    Some(o) => Some(self.eval(o, r)?),
                    None => None,
                };
                for (cond, value) in whens {
                    let c = self.eval(cond, r)?;
                    let hit = match &subject {
                        Some(s) => compare(s, &c) == Some(Ordering::Equal),
                        None => truth(&c)? == Some(true),
                    };
                    if hit {
                        return self.eval(value, r);
                    }
                }
                match otherwise {
                    Some(o) => self.eval(o, r)?,
                    None => V::Null,
                }
            }
            Expr::Call(name, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a, r)?);
                }
                call(name, vals, self.now_millis)?
            }
            Expr::Aggregate { slot, .. } => match self.aggregates.and_then(|a| a.get(*slot)) {
                Some(v) => v.clone(),
                None => return Err(err("InternalError", "An aggregate was evaluated outside its query.")),
            },
        })
    }

    /// Whether the record passes a WHERE condition (NULL and MISSING do not).
    pub fn passes(&self, cond: &Expr, r: &Record) -> Result<bool, SelectError> {
        Ok(truth(&self.eval(cond, r)?)? == Some(true))
    }

    fn path(&self, steps: &[Step], r: &Record) -> Result<V, SelectError> {
        let mut steps = steps;
        if let Some(Step::Field(first)) = steps.first() {
            let is_alias = self.alias.is_some_and(|a| first.matches(a)) || first.matches("s3object");
            if is_alias {
                if steps.len() == 1 {
                    return Ok(match r {
                        Record::Json(v) => (*v).clone(),
                        Record::Csv(fields) => self.csv_struct(fields),
                    });
                }
                steps = &steps[1..];
            }
        }
        match r {
            Record::Csv(fields) => {
                let [Step::Field(name)] = steps else {
                    return Ok(V::Missing);
                };
                self.column(name, fields)
            }
            Record::Json(v) => Ok(walk(v, steps)),
        }
    }

    fn column(&self, name: &Name, fields: &[String]) -> Result<V, SelectError> {
        if let Some(headers) = self.headers
            && let Some(i) = headers.iter().position(|h| name.matches(h))
        {
            return Ok(fields.get(i).map_or(V::Missing, |f| V::Str(f.clone())));
        }
        if let Some(n) = name.text.strip_prefix('_').and_then(|d| d.parse::<usize>().ok()) {
            if n == 0 {
                return Err(err("InvalidColumnIndex", "The column index at line 1, column 1 is invalid."));
            }
            return Ok(fields.get(n - 1).map_or(V::Missing, |f| V::Str(f.clone())));
        }
        if self.headers.is_none() {
            return Err(err(
                "MissingHeaders",
                format!(
                    "Some headers in the query are missing from the file: {} (FileHeaderInfo is not USE). Check the file and try again.",
                    name.text
                ),
            ));
        }
        Err(err(
            "MissingHeaderName",
            format!("The column {} is not in the file's header line. Check the file and try again.", name.text),
        ))
    }

    /// A CSV record as a structure: its header names, or `_1`, `_2`, ….
    pub fn csv_struct(&self, fields: &[String]) -> V {
        V::Struct(
            fields
                .iter()
                .enumerate()
                .map(|(n, f)| {
                    let key = self.headers.and_then(|h| h.get(n)).cloned().unwrap_or_else(|| format!("_{}", n + 1));
                    (key, V::Str(f.clone()))
                })
                .collect(),
        )
    }
}

/// Follows JSON steps from `v`; what is not there is MISSING.
pub fn walk(v: &V, steps: &[Step]) -> V {
    let mut cur = v;
    for (n, step) in steps.iter().enumerate() {
        cur = match (step, cur) {
            (Step::Field(name), V::Struct(members)) => match members.iter().find(|(k, _)| name.matches(k)) {
                Some((_, x)) => x,
                None => return V::Missing,
            },
            (Step::Index(i), V::List(items)) => match usize::try_from(*i).ok().and_then(|i| items.get(i)) {
                Some(x) => x,
                None => return V::Missing,
            },
            (Step::Wildcard, V::List(items)) => {
                return V::List(items.iter().map(|x| walk(x, &steps[n + 1..])).filter(|x| *x != V::Missing).collect());
            }
            (Step::Wildcard, V::Struct(members)) => {
                return V::List(
                    members.iter().map(|(_, x)| walk(x, &steps[n + 1..])).filter(|x| *x != V::Missing).collect(),
                );
            }
            _ => return V::Missing,
        };
    }
    cur.clone()
}

/// NULL/MISSING is unknown; a bool is itself; a string "true"/"false" (CSV) reads as one.
fn truth(v: &V) -> Result<Option<bool>, SelectError> {
    match v {
        V::Bool(b) => Ok(Some(*b)),
        V::Missing | V::Null => Ok(None),
        V::Str(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        V::Str(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        other => Err(err(
            "IncorrectSqlFunctionArgumentType",
            format!("A condition evaluated to {} where a boolean was expected.", other.type_name()),
        )),
    }
}

fn type_error(op: &str, v: &V) -> SelectError {
    err("InvalidDataType", format!("The SQL expression applies {op} to a value of type {}.", v.type_name()))
}

/// Orders two values of comparable types; None when either is NULL/MISSING or the types do not
/// compare. Numbers compare with numeric strings (CSV fields are strings).
pub fn compare(a: &V, b: &V) -> Option<Ordering> {
    match (a, b) {
        (x, y) if x.is_absent() || y.is_absent() => None,
        (V::Str(x), V::Str(y)) => Some(x.cmp(y)),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
        (V::Time(x), V::Time(y)) => Some(x.cmp(y)),
        (V::Time(t), V::Str(s)) => parse_timestamp(s).map(|u| t.cmp(&u)),
        (V::Str(s), V::Time(t)) => parse_timestamp(s).map(|u| u.cmp(t)),
        (V::Bool(x), V::Str(s)) | (V::Str(s), V::Bool(x)) => {
            let y = if s.eq_ignore_ascii_case("true") {
                true
            } else if s.eq_ignore_ascii_case("false") {
                false
            } else {
                return None;
            };
            let o = x.cmp(&y);
            Some(if matches!(a, V::Bool(_)) { o } else { o.reverse() })
        }
        _ => match (a.number()?, b.number()?) {
            (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
            (x, y) => x.as_f64().partial_cmp(&y.as_f64()),
        },
    }
}

fn binary(op: BinOp, a: V, b: V) -> Result<V, SelectError> {
    let cmp = |want: fn(Ordering) -> bool| match compare(&a, &b) {
        Some(o) => V::Bool(want(o)),
        None if a.is_absent() || b.is_absent() => V::Null,
        // Values of different kinds are never equal.
        None => V::Bool(false),
    };
    Ok(match op {
        BinOp::Eq => cmp(|o| o == Ordering::Equal),
        BinOp::Ne => match compare(&a, &b) {
            Some(o) => V::Bool(o != Ordering::Equal),
            None if a.is_absent() || b.is_absent() => V::Null,
            None => V::Bool(true),
        },
        BinOp::Lt => cmp(|o| o == Ordering::Less),
        BinOp::Le => cmp(|o| o != Ordering::Greater),
        BinOp::Gt => cmp(|o| o == Ordering::Greater),
        BinOp::Ge => cmp(|o| o != Ordering::Less),
        BinOp::Concat => {
            if a.is_absent() || b.is_absent() {
                return Ok(V::Null);
            }
            let mut s = String::new();
            a.write_text(&mut s);
            b.write_text(&mut s);
            V::Str(s)
        }
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
            if a.is_absent() || b.is_absent() {
                return Ok(V::Null);
            }
            let x = a.number().ok_or_else(|| type_error("arithmetic", &a))?;
            let y = b.number().ok_or_else(|| type_error("arithmetic", &b))?;
            arithmetic(op, x, y)?
        }
    })
}

fn arithmetic(op: BinOp, x: Num, y: Num) -> Result<V, SelectError> {
    let div_zero = || err("DivisionByZero", "The SQL expression divides by zero.");
    if let (Num::Int(a), Num::Int(b)) = (x, y) {
        let r = match op {
            BinOp::Add => a.checked_add(b),
            BinOp::Sub => a.checked_sub(b),
            BinOp::Mul => a.checked_mul(b),
            BinOp::Div if b == 0 => return Err(div_zero()),
            BinOp::Div => a.checked_div(b),
            BinOp::Mod if b == 0 => return Err(div_zero()),
            BinOp::Mod => a.checked_rem(b),
            _ => None,
        };
        if let Some(r) = r {
            return Ok(V::Int(r));
        }
    }
    let (a, b) = (x.as_f64(), y.as_f64());
    Ok(V::Float(match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div if b == 0.0 => return Err(div_zero()),
        BinOp::Div => a / b,
        BinOp::Mod if b == 0.0 => return Err(div_zero()),
        BinOp::Mod => a % b,
        _ => return Err(err("InternalError", "not an arithmetic operator")),
    }))
}

/// SQL LIKE: `%` any run, `_` one character, `esc` makes the next character literal.
pub fn like(s: &str, pattern: &str, esc: Option<char>) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum P {
        Any,
        One,
        Lit(char),
    }
    let mut pat = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == esc {
            if let Some(n) = chars.next() {
                pat.push(P::Lit(n));
            }
        } else if c == '%' {
            pat.push(P::Any);
        } else if c == '_' {
            pat.push(P::One);
        } else {
            pat.push(P::Lit(c));
        }
    }
    let s: Vec<char> = s.chars().collect();
    let (mut i, mut j) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        match pat.get(j) {
            Some(P::Any) => {
                star = Some((j, i));
                j += 1;
            }
            Some(P::One) => {
                i += 1;
                j += 1;
            }
            Some(P::Lit(c)) if *c == s[i] => {
                i += 1;
                j += 1;
            }
            _ => match star {
                Some((sj, si)) => {
                    j = sj + 1;
                    i = si + 1;
                    star = Some((sj, si + 1));
                }
                None => return false,
            },
        }
    }
    pat[j..].iter().all(|p| *p == P::Any)
}

fn cast_failed(v: &V, ty: &str) -> SelectError {
    let mut text = String::new();
    v.write_text(&mut text);
    err(
        "CastFailed",
        format!(
            "Attempt to convert from one data type to another using CAST failed in the SQL expression: {text:?} is not a valid {ty}."
        ),
    )
}

pub fn cast(v: V, ty: Type) -> Result<V, SelectError> {
    if v.is_absent() {
        return Ok(V::Null);
    }
    Ok(match ty {
        Type::String => match v {
            V::Str(_) => v,
            other => {
                let mut s = String::new();
                other.write_text(&mut s);
                V::Str(s)
            }
        },
        Type::Int => match &v {
            V::Int(_) => v,
            V::Float(f) if f.is_finite() => V::Int(f.trunc() as i64),
            V::Bool(b) => V::Int(i64::from(*b)),
            V::Str(s) => match super::value::parse_number(s.trim()) {
                Some(Num::Int(n)) => V::Int(n),
                Some(Num::Float(f)) if f.is_finite() && f.abs() < 9.2e18 => V::Int(f.trunc() as i64),
                _ => return Err(cast_failed(&v, "INT")),
            },
            _ => return Err(cast_failed(&v, "INT")),
        },
        Type::Float | Type::Decimal => match &v {
            V::Int(n) => V::Float(*n as f64),
            V::Float(_) => v,
            V::Bool(b) => V::Float(if *b { 1.0 } else { 0.0 }),
            V::Str(s) => match super::value::parse_number(s.trim()) {
                Some(n) => V::Float(n.as_f64()),
                None => return Err(cast_failed(&v, "FLOAT")),
            },
            _ => return Err(cast_failed(&v, "FLOAT")),
        },
        Type::Bool => match &v {
            V::Bool(_) => v,
            V::Int(n) => V::Bool(*n != 0),
            V::Float(f) => V::Bool(*f != 0.0),
            V::Str(s) if s.trim().eq_ignore_ascii_case("true") => V::Bool(true),
            V::Str(s) if s.trim().eq_ignore_ascii_case("false") => V::Bool(false),
            _ => return Err(cast_failed(&v, "BOOL")),
        },
        Type::Timestamp => match &v {
            V::Time(_) => v,
            V::Str(s) => V::Time(parse_timestamp(s.trim()).ok_or_else(|| cast_failed(&v, "TIMESTAMP"))?),
            _ => return Err(cast_failed(&v, "TIMESTAMP")),
        },
    })
}

fn text_arg(name: &str, v: &V) -> Result<String, SelectError> {
    match v {
        V::Str(s) => Ok(s.clone()),
        other => Err(err(
            "IncorrectSqlFunctionArgumentType",
            format!("{} expects a string, not {}.", name.to_uppercase(), other.type_name()),
        )),
    }
}

fn int_arg(name: &str, v: &V) -> Result<i64, SelectError> {
    match v.number() {
        Some(Num::Int(n)) => Ok(n),
        Some(Num::Float(f)) => Ok(f as i64),
        None => Err(err(
            "IncorrectSqlFunctionArgumentType",
            format!("{} expects a number, not {}.", name.to_uppercase(), v.type_name()),
        )),
    }
}

fn time_arg(name: &str, v: &V) -> Result<i64, SelectError> {
    match v {
        V::Time(t) => Ok(*t),
        V::Str(s) => parse_timestamp(s.trim()).ok_or_else(|| cast_failed(v, "TIMESTAMP")),
        other => Err(err(
            "IncorrectSqlFunctionArgumentType",
            format!("{} expects a timestamp, not {}.", name.to_uppercase(), other.type_name()),
        )),
    }
}

fn arity(name: &str, args: &[V], min: usize, max: usize) -> Result<(), SelectError> {
    if args.len() < min || args.len() > max {
        return Err(err(
            "IncorrectSqlFunctionArgumentType",
            format!(
                "{} takes {min}{} arguments, not {}.",
                name.to_uppercase(),
                if max > min { format!(" to {max}") } else { String::new() },
                args.len()
            ),
        ));
    }
    Ok(())
}

fn call(name: &str, args: Vec<V>, now: i64) -> Result<V, SelectError> {
    let n = name;
    match n {
        "coalesce" => {
            arity(n, &args, 1, usize::MAX)?;
            return Ok(args.into_iter().find(|v| !v.is_absent()).unwrap_or(V::Null));
        }
        "nullif" => {
            arity(n, &args, 2, 2)?;
            return Ok(if compare(&args[0], &args[1]) == Some(Ordering::Equal) { V::Null } else { args[0].clone() });
        }
        "utcnow" => {
            arity(n, &args, 0, 0)?;
            return Ok(V::Time(now));
        }
        _ => {}
    }
    // Every other function is NULL for a NULL or MISSING argument (the date part and trim mode
    // are literals).
    let skip = usize::from(matches!(n, "extract" | "date_add" | "date_diff" | "trim"));
    if args.iter().skip(skip).any(V::is_absent) {
        return Ok(V::Null);
    }
    Ok(match n {
        "lower" | "upper" => {
            arity(n, &args, 1, 1)?;
            let s = text_arg(n, &args[0])?;
            V::Str(if n == "lower" { s.to_lowercase() } else { s.to_uppercase() })
        }
        "char_length" | "character_length" => {
            arity(n, &args, 1, 1)?;
            V::Int(text_arg(n, &args[0])?.chars().count() as i64)
        }
        "substring" => {
            arity(n, &args, 2, 3)?;
            let s: Vec<char> = text_arg(n, &args[0])?.chars().collect();
            let start = int_arg(n, &args[1])?;
            // SQL positions start at 1; a start before 1 shortens what FOR takes.
            let end = match args.get(2) {
                Some(l) => {
                    let len = int_arg(n, l)?;
                    if len < 0 {
                        return Err(err("InvalidArgument", "SUBSTRING's length must not be negative."));
                    }
                    start.saturating_add(len)
                }
                None => i64::MAX,
            };
            let from = (start.max(1) - 1) as usize;
            let to = (end.max(1) - 1).min(s.len() as i64) as usize;
            V::Str(if from >= to { String::new() } else { s[from..to].iter().collect() })
        }
        "trim" => {
            arity(n, &args, 3, 3)?;
            let mode = text_arg(n, &args[0])?;
            let chars: Vec<char> = text_arg(n, &args[1])?.chars().collect();
            let s = text_arg(n, &args[2])?;
            let pred = |c: char| chars.contains(&c);
            V::Str(match mode.as_str() {
                "leading" => s.trim_start_matches(pred).to_string(),
                "trailing" => s.trim_end_matches(pred).to_string(),
                _ => s.trim_matches(pred).to_string(),
            })
        }
        "to_timestamp" => {
            arity(n, &args, 1, 1)?;
            V::Time(time_arg(n, &args[0])?)
        }
        "to_string" => {
            arity(n, &args, 2, 2)?;
            let t = time_arg(n, &args[0])?;
            V::Str(format_pattern(t, &text_arg(n, &args[1])?)?)
        }
        "extract" => {
            arity(n, &args, 2, 2)?;
            let part = text_arg(n, &args[0])?;
            let t = time_arg(n, &args[1])?;
            let (y, mo, d, h, mi, s, _) = civil(t);
            V::Int(match part.as_str() {
                "year" => y,
                "month" => mo as i64,
                "day" => d as i64,
                "hour" => h as i64,
                "minute" => mi as i64,
                "second" => s as i64,
                "timezone_hour" | "timezone_minute" => 0,
                other => return Err(err("InvalidArgument", format!("EXTRACT does not know the part {other}."))),
            })
        }
        "date_add" => {
            arity(n, &args, 3, 3)?;
            let part = text_arg(n, &args[0])?;
            let qty = int_arg(n, &args[1])?;
            let t = time_arg(n, &args[2])?;
            V::Time(date_add(&part, qty, t)?)
        }
        "date_diff" => {
            arity(n, &args, 3, 3)?;
            let part = text_arg(n, &args[0])?;
            let (a, b) = (time_arg(n, &args[1])?, time_arg(n, &args[2])?);
            V::Int(date_diff(&part, a, b)?)
        }
        other => {
            return Err(err("UnsupportedFunction", format!("The function {} is not supported.", other.to_uppercase())));
        }
    })
}

// ----------------------------------------------------------------------------- aggregates

/// The running state of one aggregate.
#[derive(Debug, Clone)]
pub enum Acc {
    Count(i64),
    Sum(Option<Num>),
    Avg(f64, i64),
    Min(Option<V>),
    Max(Option<V>),
}

impl Acc {
    pub fn new(f: Agg) -> Acc {
        match f {
            Agg::Count => Acc::Count(0),
            Agg::Sum => Acc::Sum(None),
            Agg::Avg => Acc::Avg(0.0, 0),
            Agg::Min => Acc::Min(None),
            Agg::Max => Acc::Max(None),
        }
    }

    /// Adds one value (`None` for COUNT(*)).
    pub fn add(&mut self, v: Option<V>) -> Result<(), SelectError> {
        let Some(v) = v else {
            if let Acc::Count(n) = self {
                *n += 1;
            }
            return Ok(());
        };
        if v.is_absent() {
            return Ok(());
        }
        let number = |v: &V| {
            v.number().ok_or_else(|| {
                err("InvalidDataType", format!("The aggregate expects numbers, not the {} {v:?}.", v.type_name()))
            })
        };
        match self {
            Acc::Count(n) => *n += 1,
            Acc::Sum(s) => {
                let x = number(&v)?;
                *s = Some(match (*s, x) {
                    (None, x) => x,
                    (Some(Num::Int(a)), Num::Int(b)) => {
                        a.checked_add(b).map_or(Num::Float(a as f64 + b as f64), Num::Int)
                    }
                    (Some(a), b) => Num::Float(a.as_f64() + b.as_f64()),
                });
            }
            Acc::Avg(sum, count) => {
                *sum += number(&v)?.as_f64();
                *count += 1;
            }
            Acc::Min(_) | Acc::Max(_) => {
                let want = if matches!(self, Acc::Min(_)) { Ordering::Less } else { Ordering::Greater };
                let (Acc::Min(m) | Acc::Max(m)) = self else { return Ok(()) };
                // CSV numbers compare as numbers.
                let v = match v.number() {
                    Some(x) if matches!(v, V::Str(_)) => x.into_value(),
                    _ => v,
                };
                if m.as_ref().is_none_or(|cur| compare(&v, cur) == Some(want)) {
                    *m = Some(v);
                }
            }
        }
        Ok(())
    }

    pub fn result(&self) -> V {
        match self {
            Acc::Count(n) => V::Int(*n),
            Acc::Sum(s) => s.map_or(V::Null, Num::into_value),
            Acc::Avg(_, 0) => V::Null,
            Acc::Avg(sum, count) => V::Float(sum / *count as f64),
            Acc::Min(m) | Acc::Max(m) => m.clone().unwrap_or(V::Null),
        }
    }
}

/// Every aggregate of an expression tree, in slot order.
pub fn aggregates(e: &Expr, out: &mut Vec<(usize, Agg, Option<Expr>)>) {
    match e {
        Expr::Aggregate { f, arg, slot } => out.push((*slot, *f, arg.as_deref().cloned())),
        Expr::Lit(_) | Expr::Path(_) => {}
        Expr::Neg(a) | Expr::Not(a) | Expr::Cast(a, _) | Expr::Is { e: a, .. } => aggregates(a, out),
        Expr::And(a, b) | Expr::Or(a, b) | Expr::Bin(_, a, b) => {
            aggregates(a, out);
            aggregates(b, out);
        }
        Expr::Like { e, pattern, escape, .. } => {
            aggregates(e, out);
            aggregates(pattern, out);
            if let Some(x) = escape {
                aggregates(x, out);
            }
        }
        Expr::Between { e, low, high, .. } => {
            aggregates(e, out);
            aggregates(low, out);
            aggregates(high, out);
        }
        Expr::In { e, list, .. } => {
            aggregates(e, out);
            list.iter().for_each(|x| aggregates(x, out));
        }
        Expr::Case { operand, whens, otherwise } => {
            if let Some(o) = operand {
                aggregates(o, out);
            }
            for (c, v) in whens {
                aggregates(c, out);
                aggregates(v, out);
            }
            if let Some(o) = otherwise {
                aggregates(o, out);
            }
        }
        Expr::Call(_, args) => args.iter().for_each(|x| aggregates(x, out)),
    }
}

// ----------------------------------------------------------------------------- timestamps

use stratus_core::time::days_from_civil;

/// (year, month, day, hour, minute, second, millisecond) of epoch milliseconds.
fn civil(ms: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let c = stratus_core::time::civil(ms);
    (c.year, c.month, c.day, c.hour, c.minute, c.second, c.millis)
}

/// Reads an ISO 8601 timestamp as S3 Select takes them: `YYYY`, `YYYY-MM`, `YYYY-MM-DD`,
/// `YYYY-MM-DDThh:mm[:ss[.fff]]` with `Z` or `±hh:mm`, and the `T` ones without a zone as UTC.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        if part.bytes().all(|c| c.is_ascii_digit()) { part.parse().ok() } else { None }
    };
    let year = num(0, 4)?;
    let (mut month, mut day) = (1u32, 1u32);
    let mut i = 4;
    if b.get(i) == Some(&b'-') {
        month = num(i + 1, 2)? as u32;
        i += 3;
        if b.get(i) == Some(&b'-') {
            day = num(i + 1, 2)? as u32;
            i += 3;
        }
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * 86_400_000;
    if i == b.len() || (i + 1 == b.len() && b[i] == b'T') {
        return Some(ms);
    }
    if b.get(i) != Some(&b'T') {
        return None;
    }
    let hour = num(i + 1, 2)?;
    if b.get(i + 3) != Some(&b':') {
        return None;
    }
    let minute = num(i + 4, 2)?;
    i += 6;
    let mut second = 0;
    let mut frac = 0;
    if b.get(i) == Some(&b':') {
        second = num(i + 1, 2)?;
        i += 3;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut j = start;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let digits = s.get(start..j)?;
            if digits.is_empty() {
                return None;
            }
            let padded: String = digits.chars().chain("000".chars()).take(3).collect();
            frac = padded.parse::<i64>().ok()?;
            i = j;
        }
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    ms += ((hour * 60 + minute) * 60 + second) * 1000 + frac;
    match b.get(i) {
        None | Some(b'Z') if i + 1 >= b.len() => Some(ms),
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(i + 1, 2)?;
            let om = if b.get(i + 3) == Some(&b':') { num(i + 4, 2)? } else { num(i + 3, 2)? };
            let offset = (oh * 60 + om) * 60_000;
            Some(if sign == b'+' { ms - offset } else { ms + offset })
        }
        _ => None,
    }
}

/// How S3 Select writes a timestamp: ISO 8601 in UTC, as precise as it needs to be.
pub fn format_timestamp(ms: i64) -> String {
    let (y, mo, d, h, mi, s, f) = civil(ms);
    if f != 0 {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:03}Z")
    } else if s != 0 {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}Z")
    }
}

/// TO_STRING's format patterns: y, M (numbers; MMM and MMMM names), d, H, h, m, s, S, a,
/// X/x (zone, always UTC here) and quoted literals.
fn format_pattern(ms: i64, pattern: &str) -> Result<String, SelectError> {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let (y, mo, d, h, mi, s, f) = civil(ms);
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '\'' {
                out.push(chars[j]);
                j += 1;
            }
            i = j + 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let pad = |v: i64, w: usize| format!("{v:0w$}");
        match c {
            'y' if n == 2 => out.push_str(&pad(y.rem_euclid(100), 2)),
            'y' => out.push_str(&pad(y, n)),
            'M' if n == 3 => out.push_str(&MONTHS[(mo - 1) as usize][..3]),
            'M' if n >= 4 => out.push_str(MONTHS[(mo - 1) as usize]),
            'M' => out.push_str(&pad(mo as i64, n)),
            'd' => out.push_str(&pad(d as i64, n)),
            'H' => out.push_str(&pad(h as i64, n)),
            'h' => out.push_str(&pad(if h % 12 == 0 { 12 } else { (h % 12) as i64 }, n)),
            'm' => out.push_str(&pad(mi as i64, n)),
            's' => out.push_str(&pad(s as i64, n)),
            'S' => out.push_str(&format!("{f:03}").chars().chain(std::iter::repeat('0')).take(n).collect::<String>()),
            'a' => out.push_str(if h < 12 { "AM" } else { "PM" }),
            'X' => out.push('Z'),
            'x' => out.push_str(if n >= 3 { "+00:00" } else { "+00" }),
            c if c.is_ascii_alphabetic() => {
                return Err(err("InvalidArgument", format!("TO_STRING does not know the pattern letter {c}.")));
            }
            c => (0..n).for_each(|_| out.push(c)),
        }
        i += n;
    }
    Ok(out)
}

fn date_add(part: &str, qty: i64, t: i64) -> Result<i64, SelectError> {
    let unit = match part {
        "second" => 1000,
        "minute" => 60_000,
        "hour" => 3_600_000,
        "day" => 86_400_000,
        "month" | "year" => {
            let (y, mo, d, ..) = civil(t);
            let months = if part == "year" { qty * 12 } else { qty };
            let total = y * 12 + (mo as i64 - 1) + months;
            let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
            let last =
                [31, if is_leap(ny) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][(nm - 1) as usize];
            let time_of_day = t.rem_euclid(86_400_000);
            return Ok(days_from_civil(ny, nm, d.min(last)) * 86_400_000 + time_of_day);
        }
        other => return Err(err("InvalidArgument", format!("DATE_ADD does not know the part {other}."))),
    };
    Ok(t.saturating_add(qty.saturating_mul(unit)))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn date_diff(part: &str, a: i64, b: i64) -> Result<i64, SelectError> {
    Ok(match part {
        "second" => (b - a) / 1000,
        "minute" => (b - a) / 60_000,
        "hour" => (b - a) / 3_600_000,
        "day" => (b - a) / 86_400_000,
        "month" | "year" => {
            let (ya, ma, ..) = civil(a);
            let (yb, mb, ..) = civil(b);
            let months = (yb * 12 + mb as i64) - (ya * 12 + ma as i64);
            if part == "year" { months / 12 } else { months }
        }
        other => return Err(err("InvalidArgument", format!("DATE_DIFF does not know the part {other}."))),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("hello", "h%o", None));
        assert!(like("hello", "h_llo", None));
        assert!(!like("hello", "h_lo", None));
        assert!(like("50%", "50!%", Some('!')));
        assert!(!like("500", "50!%", Some('!')));
        assert!(like("", "%", None));
        assert!(like("abcabc", "%abc", None));
    }

    #[test]
    fn timestamps_round_trip() {
        let t = parse_timestamp("2007-04-05T14:30:15.250Z").unwrap();
        assert_eq!(format_timestamp(t), "2007-04-05T14:30:15.250Z");
        assert_eq!(parse_timestamp("2007-04-05T14:30+02:00").unwrap(), parse_timestamp("2007-04-05T12:30Z").unwrap());
        assert_eq!(format_timestamp(parse_timestamp("2007").unwrap()), "2007-01-01T00:00Z");
        assert!(parse_timestamp("2007-13-01").is_none());
        assert_eq!(format_pattern(t, "MMMM d, y h:mm a").unwrap(), "April 5, 2007 2:30 PM");
        assert_eq!(
            format_timestamp(date_add("month", 1, parse_timestamp("2020-01-31").unwrap()).unwrap()),
            "2020-02-29T00:00Z"
        );
        assert_eq!(
            date_diff("year", parse_timestamp("2010-01-01").unwrap(), parse_timestamp("2011-06-01").unwrap()).unwrap(),
            1
        );
    }

    #[test]
    fn comparisons_of_csv_strings_and_numbers() {
        assert_eq!(compare(&V::Str("10".into()), &V::Int(9)), Some(Ordering::Greater));
        assert_eq!(compare(&V::Str("abc".into()), &V::Int(9)), None);
        assert_eq!(compare(&V::Null, &V::Int(9)), None);
        assert_eq!(binary(BinOp::Eq, V::Str("a".into()), V::Int(1)).unwrap(), V::Bool(false));
        assert_eq!(binary(BinOp::Eq, V::Missing, V::Int(1)).unwrap(), V::Null);
        assert_eq!(binary(BinOp::Div, V::Int(7), V::Int(2)).unwrap(), V::Int(3));
        assert!(binary(BinOp::Div, V::Int(7), V::Int(0)).is_err());
    }
}
