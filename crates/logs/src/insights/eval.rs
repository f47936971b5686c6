//! Evaluating queries: values, records (an event's built-in fields, the fields discovered in
//! its JSON message, and those `parse` and `fields` add), expressions and aggregates.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};

use serde_json::Value as Json;

use super::query::Expr;

/// A value in a query.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Null,
    Num(f64),
    Str(String),
    /// Milliseconds since the epoch (`@timestamp`, `bin()`): written as a timestamp.
    Time(u64),
}

impl V {
    pub fn is_null(&self) -> bool {
        matches!(self, V::Null)
    }

    pub fn num(&self) -> Option<f64> {
        match self {
            V::Num(n) => Some(*n),
            V::Time(t) => Some(*t as f64),
            V::Str(s) => s.trim().parse().ok(),
            V::Null => None,
        }
    }

    pub fn text(&self) -> String {
        match self {
            V::Null => String::new(),
            V::Num(n) => format_number(*n),
            V::Str(s) => s.clone(),
            V::Time(t) => format_time(*t),
        }
    }

    /// A cheap text that tells values apart (grouping).
    pub fn key(&self) -> String {
        match self {
            V::Time(t) => format!("\u{1}{t}"),
            other => other.text(),
        }
    }

    fn truthy(&self) -> bool {
        match self {
            V::Null => false,
            V::Num(n) => *n != 0.0,
            V::Str(s) => !s.is_empty() && s != "false",
            V::Time(_) => true,
        }
    }
}

/// Numbers as Insights writes them: whole numbers without a decimal point, others in their
/// shortest exact form.
pub fn format_number(n: f64) -> String {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") }
}

/// `YYYY-MM-DD HH:MM:SS.mmm`, UTC.
pub fn format_time(ms: u64) -> String {
    let iso = stratus_core::time::iso8601_millis(ms);
    // "2024-01-01T00:00:00.000Z" → "2024-01-01 00:00:00.000"
    iso.trim_end_matches('Z').replacen('T', " ", 1)
}

/// Orders values: nulls last, numbers numerically, text bytewise.
pub fn compare(a: &V, b: &V) -> Ordering {
    match (a, b) {
        (V::Null, V::Null) => Ordering::Equal,
        (V::Null, _) => Ordering::Greater,
        (_, V::Null) => Ordering::Less,
        (V::Str(x), V::Str(y)) => x.cmp(y),
        _ => match (a.num(), b.num()) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => a.text().cmp(&b.text()),
        },
    }
}

/// One log event as a query sees it.
pub struct Record {
    pub timestamp: u64,
    pub ingestion: u64,
    pub message: String,
    pub stream: std::rc::Rc<str>,
    /// `{account}:{group}`
    pub log: std::rc::Rc<str>,
    /// Where the event is: (group id, stream id, sequence); `@ptr` is made from it.
    pub at: (u64, u64, u64),
    /// Fields discovered in the message (flattened JSON), parsed on first use.
    json: Option<Vec<(String, V)>>,
    /// Fields `parse` and `fields` added, latest last.
    pub extra: Vec<(String, V)>,
}

/// A JSON message's fields, nested keys joined with dots (`req.path`, `items.0`).
pub fn flatten(message: &str) -> Vec<(String, V)> {
    let mut out = Vec::new();
    let trimmed = message.trim_start();
    if !trimmed.starts_with('{') {
        return out;
    }
    let Ok(Json::Object(o)) = serde_json::from_str::<Json>(trimmed) else { return out };
    fn walk(prefix: &str, v: &Json, out: &mut Vec<(String, V)>) {
        match v {
            Json::Object(o) => {
                for (k, v) in o {
                    let name = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&name, v, out);
                }
            }
            Json::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(&format!("{prefix}.{i}"), v, out);
                }
            }
            Json::String(s) => out.push((prefix.to_string(), V::Str(s.clone()))),
            Json::Number(n) => out.push((prefix.to_string(), n.as_f64().map_or(V::Null, V::Num))),
            Json::Bool(b) => out.push((prefix.to_string(), V::Str(b.to_string()))),
            Json::Null => out.push((prefix.to_string(), V::Null)),
        }
    }
    for (k, v) in &o {
        walk(k, v, &mut out);
    }
    out
}

impl Record {
    pub fn new(
        timestamp: u64,
        ingestion: u64,
        message: String,
        stream: std::rc::Rc<str>,
        log: std::rc::Rc<str>,
        at: (u64, u64, u64),
    ) -> Self {
        Record { timestamp, ingestion, message, stream, log, at, json: None, extra: Vec::new() }
    }

    /// The `@ptr` of the event.
    pub fn ptr(&self) -> String {
        super::pointer(self.at.0, self.at.1, self.timestamp, self.at.2)
    }

    pub fn get(&mut self, name: &str) -> V {
        if let Some((_, v)) = self.extra.iter().rev().find(|(k, _)| k == name) {
            return v.clone();
        }
        match name {
            "@timestamp" => return V::Time(self.timestamp),
            "@message" => return V::Str(self.message.clone()),
            "@logStream" => return V::Str(self.stream.to_string()),
            "@log" => return V::Str(self.log.to_string()),
            "@ingestionTime" => return V::Time(self.ingestion),
            "@ptr" => return V::Str(self.ptr()),
            _ => {}
        }
        let json = self.json.get_or_insert_with(|| flatten(&self.message));
        json.iter().find(|(k, _)| k == name).map_or(V::Null, |(_, v)| v.clone())
    }

    pub fn set(&mut self, name: &str, v: V) {
        self.extra.push((name.to_string(), v));
    }
}

/// Something expressions read fields from: a record, or a stats row.
pub trait Fields {
    fn field(&mut self, name: &str) -> V;
}

impl Fields for Record {
    fn field(&mut self, name: &str) -> V {
        self.get(name)
    }
}

impl Fields for BTreeMap<String, V> {
    fn field(&mut self, name: &str) -> V {
        self.get(name).cloned().unwrap_or(V::Null)
    }
}

/// A duration such as `5m`, `1h`, `30s`, `1d` in milliseconds.
pub fn duration_ms(s: &str) -> Option<u64> {
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().ok()?;
    let unit_ms = match unit {
        "ms" => 1.0,
        "s" | "sec" | "second" | "seconds" => 1000.0,
        "m" | "min" | "minute" | "minutes" => 60_000.0,
        "h" | "hr" | "hour" | "hours" => 3_600_000.0,
        "d" | "day" | "days" => 86_400_000.0,
        "w" | "week" | "weeks" => 604_800_000.0,
        "mo" | "month" | "months" => 2_592_000_000.0,
        "q" | "quarter" | "quarters" => 7_776_000_000.0,
        "y" | "year" | "years" => 31_536_000_000.0,
        _ => return None,
    };
    let ms = n * unit_ms;
    (ms >= 1.0).then_some(ms as u64)
}

fn arith(op: &str, a: &V, b: &V) -> V {
    let (Some(x), Some(y)) = (a.num(), b.num()) else { return V::Null };
    let r = match op {
        "+" => x + y,
        "-" => x - y,
        "*" => x * y,
        "/" if y != 0.0 => x / y,
        "%" if y != 0.0 => x % y,
        "^" => x.powf(y),
        _ => return V::Null,
    };
    V::Num(r)
}

fn equal(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::Null, _) | (_, V::Null) => false,
        (V::Str(x), V::Str(y)) => x == y,
        _ => match (a.num(), b.num()) {
            (Some(x), Some(y)) => x == y,
            _ => a.text() == b.text(),
        },
    }
}

/// Evaluates an expression (aggregates are evaluated by [`Aggregate`], not here).
pub fn eval(e: &Expr, r: &mut dyn Fields) -> V {
    match e {
        Expr::Field(f) => r.field(f),
        Expr::Num(n) => V::Num(*n),
        Expr::Str(s) => V::Str(s.clone()),
        Expr::Star | Expr::List(_) | Expr::Regex(_) => V::Null,
        Expr::Not(x) => V::Num(if eval(x, r).truthy() { 0.0 } else { 1.0 }),
        Expr::Neg(x) => eval(x, r).num().map_or(V::Null, |n| V::Num(-n)),
        Expr::And(a, b) => V::Num(if eval(a, r).truthy() && eval(b, r).truthy() { 1.0 } else { 0.0 }),
        Expr::Or(a, b) => V::Num(if eval(a, r).truthy() || eval(b, r).truthy() { 1.0 } else { 0.0 }),
        Expr::Arith(op, a, b) => {
            let (x, y) = (eval(a, r), eval(b, r));
            arith(op, &x, &y)
        }
        Expr::Cmp(op, a, b) => {
            let (x, y) = (eval(a, r), eval(b, r));
            let holds = match *op {
                "=" => equal(&x, &y),
                "!=" => !x.is_null() && !y.is_null() && !equal(&x, &y),
                _ if x.is_null() || y.is_null() => false,
                op => {
                    let ord = compare(&x, &y);
                    match op {
                        "<" => ord == Ordering::Less,
                        "<=" => ord != Ordering::Greater,
                        ">" => ord == Ordering::Greater,
                        _ => ord != Ordering::Less,
                    }
                }
            };
            V::Num(if holds { 1.0 } else { 0.0 })
        }
        Expr::Like(negated, a, b) => {
            let x = eval(a, r);
            let found = match (&x, b.as_ref()) {
                (V::Null, _) => false,
                (_, Expr::Regex(re)) => re.is_match(&x.text()),
                (_, other) => x.text().contains(&eval(other, r).text()),
            };
            let holds = if x.is_null() { false } else { found != *negated };
            V::Num(if holds { 1.0 } else { 0.0 })
        }
        Expr::In(negated, a, b) => {
            let x = eval(a, r);
            let Expr::List(items) = b.as_ref() else { return V::Num(0.0) };
            let found = items.iter().any(|i| equal(&x, &eval(i, r)));
            V::Num(if !x.is_null() && found != *negated { 1.0 } else { 0.0 })
        }
        Expr::Call(f, args) => call(f, args, r),
    }
}

fn call(f: &str, args: &[Expr], r: &mut dyn Fields) -> V {
    let mut vals = || args.iter().map(|a| eval(a, r)).collect::<Vec<V>>();
    let text = |v: &V| v.text();
    match f {
        "bin" | "datefloor" | "dateceil" => {
            let (ts, period) = match (f, args) {
                ("bin", [Expr::Field(p)]) | ("bin", [Expr::Str(p)]) => (r.field("@timestamp"), p.clone()),
                (_, [t, Expr::Field(p)]) | (_, [t, Expr::Str(p)]) => (eval(t, r), p.clone()),
                _ => return V::Null,
            };
            let (Some(t), Some(p)) = (ts.num(), duration_ms(&period)) else { return V::Null };
            let t = t.max(0.0) as u64;
            let floor = t / p * p;
            V::Time(if f == "dateceil" && floor < t { floor + p } else { floor })
        }
        "strlen" => {
            let v = vals();
            v.first().filter(|v| !v.is_null()).map_or(V::Null, |v| V::Num(text(v).chars().count() as f64))
        }
        "toupper" => vals().first().map_or(V::Null, |v| V::Str(text(v).to_uppercase())),
        "tolower" => vals().first().map_or(V::Null, |v| V::Str(text(v).to_lowercase())),
        "trim" => vals().first().map_or(V::Null, |v| V::Str(text(v).trim().to_string())),
        "ltrim" => vals().first().map_or(V::Null, |v| V::Str(text(v).trim_start().to_string())),
        "rtrim" => vals().first().map_or(V::Null, |v| V::Str(text(v).trim_end().to_string())),
        "concat" => V::Str(vals().iter().map(text).collect()),
        "substr" => {
            let v = vals();
            let s: Vec<char> = v.first().map(text).unwrap_or_default().chars().collect();
            let start = v.get(1).and_then(V::num).unwrap_or(0.0).max(0.0) as usize;
            let len = v.get(2).and_then(V::num).map_or(s.len(), |n| n.max(0.0) as usize);
            V::Str(s.iter().skip(start).take(len).collect())
        }
        "replace" => {
            let v = vals();
            match (v.first(), v.get(1), v.get(2)) {
                (Some(s), Some(a), Some(b)) => V::Str(text(s).replace(&text(a), &text(b))),
                _ => V::Null,
            }
        }
        "strcontains" => {
            let v = vals();
            match (v.first(), v.get(1)) {
                (Some(s), Some(sub)) if !s.is_null() => V::Num(if text(s).contains(&text(sub)) { 1.0 } else { 0.0 }),
                _ => V::Num(0.0),
            }
        }
        "ispresent" => V::Num(if vals().first().is_some_and(|v| !v.is_null()) { 1.0 } else { 0.0 }),
        "isempty" => V::Num(if vals().first().is_none_or(|v| v.is_null() || text(v).is_empty()) { 1.0 } else { 0.0 }),
        "isblank" => {
            V::Num(if vals().first().is_none_or(|v| v.is_null() || text(v).trim().is_empty()) { 1.0 } else { 0.0 })
        }
        "coalesce" => vals().into_iter().find(|v| !v.is_null()).unwrap_or(V::Null),
        "abs" | "ceil" | "floor" | "sqrt" | "log" | "exp" | "tonumber" => {
            let Some(n) = vals().first().and_then(V::num) else { return V::Null };
            V::Num(match f {
                "abs" => n.abs(),
                "ceil" => n.ceil(),
                "floor" => n.floor(),
                "sqrt" => n.sqrt(),
                "log" => n.ln(),
                "exp" => n.exp(),
                _ => n,
            })
        }
        "round" => {
            let v = vals();
            let Some(n) = v.first().and_then(V::num) else { return V::Null };
            let digits = v.get(1).and_then(V::num).unwrap_or(0.0) as i32;
            let scale = 10f64.powi(digits);
            V::Num((n * scale).round() / scale)
        }
        "pow" => {
            let v = vals();
            match (v.first().and_then(V::num), v.get(1).and_then(V::num)) {
                (Some(a), Some(b)) => V::Num(a.powf(b)),
                _ => V::Null,
            }
        }
        "greatest" | "least" => {
            let v: Vec<V> = vals().into_iter().filter(|v| !v.is_null()).collect();
            let pick = v.into_iter().reduce(|a, b| {
                let ord = compare(&a, &b);
                if (f == "greatest") == (ord == Ordering::Less) { b } else { a }
            });
            pick.unwrap_or(V::Null)
        }
        "frommillis" => vals().first().and_then(V::num).map_or(V::Null, |n| V::Time(n.max(0.0) as u64)),
        "tomillis" => vals().first().and_then(V::num).map_or(V::Null, V::Num),
        "tostring" => vals().first().map_or(V::Null, |v| V::Str(text(v))),
        _ => V::Null,
    }
}

/// An aggregate being computed for one group.
#[derive(Debug, Clone)]
pub enum Aggregate {
    Count(u64),
    Distinct(HashSet<String>),
    Sum(f64, bool),
    Avg(f64, u64),
    Min(Option<V>),
    Max(Option<V>),
    Values(Vec<f64>, f64),
    Stddev(Vec<f64>),
    /// (timestamp, value): earliest / latest.
    Earliest(Option<(u64, V)>),
    Latest(Option<(u64, V)>),
}

impl Aggregate {
    pub fn new(f: &str, args: &[Expr]) -> Aggregate {
        match f {
            "count" => Aggregate::Count(0),
            "count_distinct" => Aggregate::Distinct(HashSet::new()),
            "sum" => Aggregate::Sum(0.0, false),
            "avg" => Aggregate::Avg(0.0, 0),
            "min" => Aggregate::Min(None),
            "max" => Aggregate::Max(None),
            "pct" | "percentile" => {
                let p = match args.get(1) {
                    Some(Expr::Num(n)) => *n,
                    _ => 50.0,
                };
                Aggregate::Values(Vec::new(), p)
            }
            "stddev" => Aggregate::Stddev(Vec::new()),
            "earliest" | "sortsfirst" => Aggregate::Earliest(None),
            _ => Aggregate::Latest(None),
        }
    }

    pub fn add(&mut self, args: &[Expr], r: &mut Record) {
        let v = match args.first() {
            None | Some(Expr::Star) => V::Num(1.0),
            Some(e) => eval(e, r),
        };
        match self {
            Aggregate::Count(n) => {
                if !v.is_null() {
                    *n += 1;
                }
            }
            Aggregate::Distinct(set) => {
                if !v.is_null() {
                    set.insert(v.text());
                }
            }
            Aggregate::Sum(s, any) => {
                if let Some(x) = v.num() {
                    *s += x;
                    *any = true;
                }
            }
            Aggregate::Avg(s, n) => {
                if let Some(x) = v.num() {
                    *s += x;
                    *n += 1;
                }
            }
            Aggregate::Min(m) => {
                if !v.is_null() && m.as_ref().is_none_or(|cur| compare(&v, cur) == Ordering::Less) {
                    *m = Some(v);
                }
            }
            Aggregate::Max(m) => {
                if !v.is_null() && m.as_ref().is_none_or(|cur| compare(&v, cur) == Ordering::Greater) {
                    *m = Some(v);
                }
            }
            Aggregate::Values(vs, _) | Aggregate::Stddev(vs) => {
                if let Some(x) = v.num() {
                    vs.push(x);
                }
            }
            Aggregate::Earliest(e) => {
                if !v.is_null() && e.as_ref().is_none_or(|(t, _)| r.timestamp < *t) {
                    *e = Some((r.timestamp, v));
                }
            }
            Aggregate::Latest(l) => {
                if !v.is_null() && l.as_ref().is_none_or(|(t, _)| r.timestamp >= *t) {
                    *l = Some((r.timestamp, v));
                }
            }
        }
    }

    pub fn value(&self) -> V {
        match self {
            Aggregate::Count(n) => V::Num(*n as f64),
            Aggregate::Distinct(s) => V::Num(s.len() as f64),
            Aggregate::Sum(s, any) => {
                if *any {
                    V::Num(*s)
                } else {
                    V::Null
                }
            }
            Aggregate::Avg(s, n) => {
                if *n == 0 {
                    V::Null
                } else {
                    V::Num(*s / *n as f64)
                }
            }
            Aggregate::Min(m) | Aggregate::Max(m) => m.clone().unwrap_or(V::Null),
            Aggregate::Values(vs, p) => {
                if vs.is_empty() {
                    return V::Null;
                }
                let mut sorted = vs.clone();
                sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
                // Nearest rank.
                let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
                V::Num(sorted[rank.min(sorted.len()) - 1])
            }
            Aggregate::Stddev(vs) => {
                if vs.len() < 2 {
                    return if vs.is_empty() { V::Null } else { V::Num(0.0) };
                }
                let mean = vs.iter().sum::<f64>() / vs.len() as f64;
                let var = vs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (vs.len() - 1) as f64;
                V::Num(var.sqrt())
            }
            Aggregate::Earliest(e) | Aggregate::Latest(e) => e.as_ref().map_or(V::Null, |(_, v)| v.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(29.5), "29.5");
        assert_eq!(format_time(1_704_067_260_456), "2024-01-01 00:01:00.456");
        assert_eq!(duration_ms("5m"), Some(300_000));
        assert_eq!(duration_ms("1h"), Some(3_600_000));
        assert_eq!(duration_ms("x"), None);
    }

    #[test]
    fn flattens_json() {
        let f = flatten(r#"{"a": 1, "b": {"c": "x", "d": [true]}}"#);
        assert!(f.contains(&("a".into(), V::Num(1.0))));
        assert!(f.contains(&("b.c".into(), V::Str("x".into()))));
        assert!(f.contains(&("b.d.0".into(), V::Str("true".into()))));
        assert!(flatten("plain text").is_empty());
    }
}
