//! The `Condition` element: every condition operator, the `...IfExists` suffix and the
//! `ForAllValues:`/`ForAnyValue:` set operators.
//!
//! Semantics (IAM User Guide, "Condition operators" and "Condition with multiple context keys or
//! values"): keys in one operator block and operator blocks are ANDed (the statement keeps a flat
//! list of conditions, all of which must hold); the values given for one key are ORed, and for a
//! negated operator (`StringNotEquals`, `NotIpAddress`, ...) the request's value must match none
//! of them. A key absent from the request makes a condition false, except: negated operators
//! are true, `...IfExists` is true, `ForAllValues:` is true, `Null` tests presence itself.

use std::net::IpAddr;

use super::Request;
use super::context::{Values, lookup};
use super::pattern::{Pattern, VarSource, split_arn};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

impl Operator {
    pub fn from_name(name: &str) -> Option<Self> {
        use Operator::*;
        Some(match name {
            "StringEquals" => StringEquals,
            "StringNotEquals" => StringNotEquals,
            "StringEqualsIgnoreCase" => StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => StringNotEqualsIgnoreCase,
            "StringLike" => StringLike,
            "StringNotLike" => StringNotLike,
            "NumericEquals" => NumericEquals,
            "NumericNotEquals" => NumericNotEquals,
            "NumericLessThan" => NumericLessThan,
            "NumericLessThanEquals" => NumericLessThanEquals,
            "NumericGreaterThan" => NumericGreaterThan,
            "NumericGreaterThanEquals" => NumericGreaterThanEquals,
            "DateEquals" => DateEquals,
            "DateNotEquals" => DateNotEquals,
            "DateLessThan" => DateLessThan,
            "DateLessThanEquals" => DateLessThanEquals,
            "DateGreaterThan" => DateGreaterThan,
            "DateGreaterThanEquals" => DateGreaterThanEquals,
            "Bool" => Bool,
            "BinaryEquals" => BinaryEquals,
            "IpAddress" => IpAddress,
            "NotIpAddress" => NotIpAddress,
            "ArnEquals" => ArnEquals,
            "ArnLike" => ArnLike,
            "ArnNotEquals" => ArnNotEquals,
            "ArnNotLike" => ArnNotLike,
            "Null" => Null,
            _ => return None,
        })
    }

    /// Negated ("not") operators: true when the key is absent; the value must match none.
    fn negated(self) -> bool {
        use Operator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }

    pub fn is_date(self) -> bool {
        use Operator::*;
        matches!(
            self,
            DateEquals | DateNotEquals | DateLessThan | DateLessThanEquals | DateGreaterThan | DateGreaterThanEquals
        )
    }
}

/// `ForAllValues:` / `ForAnyValue:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetOperator {
    Single,
    ForAllValues,
    ForAnyValue,
}

/// A condition operator name split into its parts: `ForAnyValue:StringLikeIfExists` is
/// (ForAnyValue, StringLike, if_exists). `None` if the base operator is unknown.
pub(crate) fn parse_operator_name(name: &str) -> Option<(SetOperator, Operator, bool)> {
    let (set, rest) = if let Some(r) = name.strip_prefix("ForAllValues:") {
        (SetOperator::ForAllValues, r)
    } else if let Some(r) = name.strip_prefix("ForAnyValue:") {
        (SetOperator::ForAnyValue, r)
    } else {
        (SetOperator::Single, name)
    };
    if let Some(op) = Operator::from_name(rest) {
        return Some((set, op, false));
    }
    let op = Operator::from_name(rest.strip_suffix("IfExists")?)?;
    Some((set, op, true))
}

/// The policy's values for one key, parsed for the operator.
#[derive(Debug, Clone)]
enum Operand {
    /// String operators and `Bool` (compiled for wildcards and variables as the operator allows).
    Text(Vec<Pattern>),
    Numbers(Vec<Option<f64>>),
    /// Nanoseconds since the Unix epoch.
    Dates(Vec<Option<i128>>),
    /// Raw text and its base64 decoding.
    Binary(Vec<(Box<str>, Option<Vec<u8>>)>),
    Cidrs(Vec<Option<Cidr>>),
    Arns(Vec<Option<Box<[Pattern]>>>),
    /// `Null`: `true` = the key must be absent, `false` = present.
    Presence(Vec<Option<bool>>),
}

/// One condition: an operator applied to one context key.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    op: Operator,
    set: SetOperator,
    if_exists: bool,
    /// Lower case.
    key: Box<str>,
    operand: Operand,
}

impl Condition {
    /// `values` are the policy's values as strings; `variables`: the policy is 2012-10-17.
    pub fn new(op: Operator, set: SetOperator, if_exists: bool, key: &str, values: &[String], variables: bool) -> Self {
        use Operator::*;
        let text =
            |wildcards: bool| Operand::Text(values.iter().map(|v| Pattern::compile(v, wildcards, variables)).collect());
        let operand = match op {
            StringEquals | StringNotEquals | StringEqualsIgnoreCase | StringNotEqualsIgnoreCase | Bool => text(false),
            StringLike | StringNotLike => text(true),
            NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => Operand::Numbers(values.iter().map(|v| parse_number(v)).collect()),
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => Operand::Dates(values.iter().map(|v| parse_date(v)).collect()),
            BinaryEquals => Operand::Binary(values.iter().map(|v| (v.as_str().into(), base64_decode(v))).collect()),
            IpAddress | NotIpAddress => Operand::Cidrs(values.iter().map(|v| Cidr::parse(v)).collect()),
            ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => Operand::Arns(
                values
                    .iter()
                    .map(|v| {
                        let parts = split_arn(v, 6);
                        (parts.len() == 6).then(|| parts.iter().map(|p| Pattern::compile(p, true, variables)).collect())
                    })
                    .collect(),
            ),
            Null => Operand::Presence(
                values
                    .iter()
                    .map(|v| match v.to_ascii_lowercase().as_str() {
                        "true" => Some(true),
                        "false" => Some(false),
                        _ => None,
                    })
                    .collect(),
            ),
        };
        Condition { op, set, if_exists, key: key.to_lowercase().into(), operand }
    }

    pub fn evaluate(&self, req: &Request<'_>) -> bool {
        let values = lookup(req, &self.key);
        if let Operand::Presence(expected) = &self.operand {
            let absent = values.is_empty();
            return expected.contains(&Some(absent));
        }
        if values.is_empty() {
            return self.if_exists
                || match self.set {
                    SetOperator::ForAllValues => true,
                    SetOperator::ForAnyValue => false,
                    SetOperator::Single => self.op.negated(),
                };
        }
        let negated = self.op.negated();
        let holds = |v: &str| self.any_value_matches(v, req) != negated;
        match (self.set, negated) {
            (SetOperator::ForAllValues, _) | (SetOperator::Single, true) => all(values, holds),
            (SetOperator::ForAnyValue, _) | (SetOperator::Single, false) => any(values, holds),
        }
    }

    /// Whether the request value `v` matches at least one policy value under the operator's
    /// positive form (`StringNotEquals` → `StringEquals`).
    fn any_value_matches(&self, v: &str, vars: &dyn VarSource) -> bool {
        use Operator::*;
        match &self.operand {
            Operand::Text(patterns) => {
                let fold = matches!(self.op, StringEqualsIgnoreCase | StringNotEqualsIgnoreCase | Bool);
                patterns.iter().any(|p| p.matches(v, fold, vars))
            }
            Operand::Numbers(ns) => {
                let Some(x) = parse_number(v) else { return false };
                ns.iter().flatten().any(|n| compare(self.op, x.partial_cmp(n)))
            }
            Operand::Dates(ds) => {
                let Some(x) = parse_date(v) else { return false };
                ds.iter().flatten().any(|d| compare(self.op, Some(x.cmp(d))))
            }
            Operand::Binary(bs) => {
                let decoded = base64_decode(v);
                bs.iter().any(|(raw, bytes)| match (bytes, &decoded) {
                    (Some(b), Some(d)) => b == d,
                    _ => raw.as_ref() == v,
                })
            }
            Operand::Cidrs(cs) => {
                let Ok(ip) = v.trim().parse::<IpAddr>() else { return false };
                cs.iter().flatten().any(|c| c.contains(ip))
            }
            Operand::Arns(arns) => {
                let parts = split_plain(v);
                let Some(parts) = parts else { return false };
                arns.iter().flatten().any(|segs| segs.iter().zip(parts.iter()).all(|(p, s)| p.matches(s, false, vars)))
            }
            Operand::Presence(_) => false,
        }
    }
}

fn all(values: Values<'_>, f: impl Fn(&str) -> bool) -> bool {
    (0..values.len()).all(|i| values.get(i).is_some_and(&f))
}

fn any(values: Values<'_>, f: impl Fn(&str) -> bool) -> bool {
    (0..values.len()).any(|i| values.get(i).is_some_and(&f))
}

/// Numeric and date operators: the request value compared with the policy value.
fn compare(op: Operator, ord: Option<std::cmp::Ordering>) -> bool {
    use Operator::*;
    use std::cmp::Ordering::*;
    let Some(ord) = ord else { return false };
    match op {
        NumericEquals | NumericNotEquals | DateEquals | DateNotEquals => ord == Equal,
        NumericLessThan | DateLessThan => ord == Less,
        NumericLessThanEquals | DateLessThanEquals => ord != Greater,
        NumericGreaterThan | DateGreaterThan => ord == Greater,
        NumericGreaterThanEquals | DateGreaterThanEquals => ord != Less,
        _ => false,
    }
}

/// An ARN's six colon-separated components (the last keeps any further colons).
fn split_plain(arn: &str) -> Option<[&str; 6]> {
    let mut it = arn.splitn(6, ':');
    let parts = [it.next()?, it.next()?, it.next()?, it.next()?, it.next()?, it.next()?];
    Some(parts)
}

fn parse_number(s: &str) -> Option<f64> {
    let x: f64 = s.trim().parse().ok()?;
    x.is_finite().then_some(x)
}

/// An IPv4 or IPv6 block (`203.0.113.0/24`, `2001:db8::/32`; a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    v6: bool,
    network: u128,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let (v6, bits, value) = match addr {
            IpAddr::V4(a) => (false, 32u8, u128::from(u32::from(a))),
            IpAddr::V6(a) => (true, 128u8, u128::from(a)),
        };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse::<u8>().ok()?,
            Some(_) => return None,
            None => bits,
        };
        if prefix > bits {
            return None;
        }
        Some(Cidr { v6, network: value & mask(bits, prefix), prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (v6, bits, value) = match ip {
            IpAddr::V4(a) => (false, 32u8, u128::from(u32::from(a))),
            IpAddr::V6(a) => (true, 128u8, u128::from(a)),
        };
        v6 == self.v6 && value & mask(bits, self.prefix) == self.network
    }
}

/// The netmask of a `prefix`-bit network in a `bits`-bit address space.
fn mask(bits: u8, prefix: u8) -> u128 {
    let all: u128 = if bits == 128 { u128::MAX } else { (1u128 << bits) - 1 };
    // A full-length prefix (/128) would shift by the whole width: nothing is left of `all`.
    if prefix == 0 { 0 } else { all & !all.checked_shr(u32::from(prefix)).unwrap_or(0) }
}

/// Standard base64 (padding optional; whitespace ignored). `None` if not base64.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let trimmed = s.trim_end_matches(|c: char| c == '=' || c.is_ascii_whitespace());
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut acc = 0u32;
    let mut n = 0;
    for b in trimmed.bytes().filter(|b| !b.is_ascii_whitespace()) {
        acc = (acc << 6) | sextet(b)?;
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        0 => {}
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => return None,
    }
    Some(out)
}

/// A date as AWS's date operators accept it: epoch seconds (`1700000000`) or ISO 8601
/// (`2024-01-31`, `2024-01-31T12:00:00Z`, `2024-01-31T12:00:00.5+02:00`; no zone = UTC).
/// Returns nanoseconds since the Unix epoch.
pub(crate) fn parse_date(s: &str) -> Option<i128> {
    let s = s.trim();
    if !s.is_empty() && !s.contains(['-', 'T', 't']) {
        if !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 19 {
            return None;
        }
        let secs: i128 = s.parse().ok()?;
        return Some(secs * 1_000_000_000);
    }
    let (date, time) = match s.find(['T', 't']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut fields = date.split('-');
    let year = digits(fields.next()?, 4, 4)?;
    let month = fields.next().map_or(Some(1), |m| digits(m, 2, 2))?;
    let day = fields.next().map_or(Some(1), |d| digits(d, 2, 2))?;
    if fields.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut nanos = i128::from(days_from_civil(year, month, day)) * 86_400 * 1_000_000_000;
    if let Some(time) = time {
        // Zone: `Z`, `+hh:mm`, `-hh:mm`, `+hhmm`, `+hh`.
        let (clock, offset_secs) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
            (c, 0i64)
        } else if let Some(i) = time.rfind(['+', '-']) {
            let sign = if time.as_bytes()[i] == b'-' { -1 } else { 1 };
            let zone = &time[i + 1..];
            let (h, m) = match zone.split_once(':') {
                Some((h, m)) => (digits(h, 2, 2)?, digits(m, 2, 2)?),
                None if zone.len() == 4 => (digits(&zone[..2], 2, 2)?, digits(&zone[2..], 2, 2)?),
                None => (digits(zone, 2, 2)?, 0),
            };
            if h > 23 || m > 59 {
                return None;
            }
            (&time[..i], sign * (h * 3600 + m * 60))
        } else {
            (time, 0)
        };
        let (hms, frac) = match clock.split_once('.') {
            Some((a, f)) => (a, Some(f)),
            None => (clock, None),
        };
        let mut parts = hms.split(':');
        let h = digits(parts.next()?, 2, 2)?;
        let m = parts.next().map_or(Some(0), |m| digits(m, 2, 2))?;
        let sec = parts.next().map_or(Some(0), |x| digits(x, 2, 2))?;
        if parts.next().is_some() || h > 23 || m > 59 || sec > 59 {
            return None;
        }
        let mut frac_nanos: i128 = 0;
        if let Some(f) = frac {
            if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            frac_nanos = f.parse::<i128>().ok()? * 10i128.pow(9 - f.len() as u32);
        }
        nanos += i128::from(h * 3600 + m * 60 + sec - offset_secs) * 1_000_000_000 + frac_nanos;
    }
    Some(nanos)
}

/// A run of `min..=max` ASCII digits.
fn digits(s: &str, min: usize, max: usize) -> Option<i64> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1..=12).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod mask_tests {
    use super::mask;

    #[test]
    fn full_length_prefixes() {
        assert_eq!(mask(128, 128), u128::MAX);
        assert_eq!(mask(32, 32), u128::from(u32::MAX));
        assert_eq!(mask(32, 24), u128::from(0xffff_ff00u32));
        assert_eq!(mask(128, 0), 0);
    }
}
