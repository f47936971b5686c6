//! DynamoDB numbers: exact decimals of up to 38 significant digits, magnitudes from 1E-130 to
//! 9.99…E+125, compared and added exactly (never through floating point), written back in
//! plain decimal notation as DynamoDB does (`"1.50"` and `"15E-1"` are both `1.5`).

use std::cmp::Ordering;
use std::fmt;

/// Significant digits a number may have.
pub const MAX_DIGITS: usize = 38;

/// `digits × 10^exp` with a sign; `digits` has no leading or trailing zeros (zero has none).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    digits: Vec<u8>,
    exp: i32,
}

fn not_a_number(s: &str) -> String {
    format!("The parameter cannot be converted to a numeric value: {s}")
}

impl Number {
    pub fn zero() -> Number {
        Number { negative: false, digits: Vec::new(), exp: 0 }
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Parses DynamoDB's number syntax (`-12.5`, `1e3`, `.5`, `+7`), with its limits.
    pub fn parse(s: &str) -> Result<Number, String> {
        let t = s.trim();
        let (negative, rest) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int_part, frac_part) = match mantissa.split_once('.') {
            Some((a, b)) => (a, b),
            None => (mantissa, ""),
        };
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if (int_part.is_empty() && frac_part.is_empty()) || !all_digits(int_part) || !all_digits(frac_part) {
            return Err(not_a_number(s));
        }
        let exp10: i64 = match exponent {
            None => 0,
            Some(e) => {
                let (sign, body) = match e.as_bytes().first() {
                    Some(b'-') => (-1, &e[1..]),
                    Some(b'+') => (1, &e[1..]),
                    _ => (1, e),
                };
                if body.is_empty() || !all_digits(body) || body.len() > 6 {
                    return Err(not_a_number(s));
                }
                sign * body.parse::<i64>().map_err(|_| not_a_number(s))?
            }
        };
        let digits: Vec<u8> = int_part.bytes().chain(frac_part.bytes()).map(|b| b - b'0').collect();
        let exp = exp10 - frac_part.len() as i64;
        Number::normalized(negative, digits, exp)
    }

    /// Strips zeros and checks DynamoDB's precision and range.
    fn normalized(negative: bool, mut digits: Vec<u8>, mut exp: i64) -> Result<Number, String> {
        let lead = digits.iter().take_while(|d| **d == 0).count();
        digits.drain(..lead);
        while digits.last() == Some(&0) {
            digits.pop();
            exp += 1;
        }
        if digits.is_empty() {
            return Ok(Number::zero());
        }
        if digits.len() > MAX_DIGITS {
            return Err("Attempting to store more than 38 significant digits in a Number".into());
        }
        // The magnitude is in [10^(top-1), 10^top).
        let top = exp + digits.len() as i64;
        if top > 126 {
            return Err(
                "Number overflow. Attempting to store a number with magnitude larger than supported range".into()
            );
        }
        if top < -129 {
            return Err(
                "Number underflow. Attempting to store a number with magnitude smaller than supported range".into()
            );
        }
        Ok(Number { negative, digits, exp: exp as i32 })
    }

    pub fn add(&self, other: &Number) -> Result<Number, String> {
        if self.is_zero() {
            return Ok(other.clone());
        }
        if other.is_zero() {
            return Ok(self.clone());
        }
        let exp = self.exp.min(other.exp);
        let a = self.scaled(exp);
        let b = other.scaled(exp);
        let (negative, digits) = if self.negative == other.negative {
            (self.negative, add_digits(&a, &b))
        } else {
            match cmp_digits(&a, &b) {
                Ordering::Equal => return Ok(Number::zero()),
                Ordering::Greater => (self.negative, sub_digits(&a, &b)),
                Ordering::Less => (other.negative, sub_digits(&b, &a)),
            }
        };
        Number::normalized(negative, digits, i64::from(exp))
    }

    pub fn sub(&self, other: &Number) -> Result<Number, String> {
        self.add(&other.negated())
    }

    pub fn negated(&self) -> Number {
        Number { negative: !self.negative && !self.is_zero(), ..self.clone() }
    }

    /// The digits with `self.exp - exp` zeros appended (`exp` ≤ `self.exp`).
    fn scaled(&self, exp: i32) -> Vec<u8> {
        let mut d = self.digits.clone();
        d.extend(std::iter::repeat_n(0, (self.exp - exp) as usize));
        d
    }

    /// Significant digits (for item sizes).
    pub fn precision(&self) -> usize {
        self.digits.len()
    }

    /// Bytes that sort as the numbers do (key encoding): a sign class, the magnitude's decimal
    /// exponent, then the digits; negative numbers invert it all.
    pub fn sort_key(&self) -> Vec<u8> {
        if self.is_zero() {
            return vec![0x80];
        }
        let top = self.exp + self.digits.len() as i32;
        let biased = (top + 0x4000) as u16;
        let mut out = Vec::with_capacity(self.digits.len() + 4);
        out.push(0x81);
        out.extend_from_slice(&biased.to_be_bytes());
        out.extend(self.digits.iter().map(|d| d + 1));
        out.push(0);
        if self.negative {
            for b in &mut out {
                *b = !*b;
            }
        }
        out
    }
}

fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    let (a, b) = (strip_leading(a), strip_leading(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn strip_leading(d: &[u8]) -> &[u8] {
    let lead = d.iter().take_while(|x| **x == 0).count();
    &d[lead..]
}

fn add_digits(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
    let (mut i, mut j, mut carry) = (a.len(), b.len(), 0u8);
    while i > 0 || j > 0 || carry > 0 {
        let x = if i > 0 {
            i -= 1;
            a[i]
        } else {
            0
        };
        let y = if j > 0 {
            j -= 1;
            b[j]
        } else {
            0
        };
        let s = x + y + carry;
        out.push(s % 10);
        carry = s / 10;
    }
    out.reverse();
    out
}

/// `a - b` for `a ≥ b`.
fn sub_digits(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len());
    let (mut i, mut j, mut borrow) = (a.len(), b.len(), 0i8);
    while i > 0 {
        i -= 1;
        let y = if j > 0 {
            j -= 1;
            b[j] as i8
        } else {
            0
        };
        let mut d = a[i] as i8 - y - borrow;
        borrow = 0;
        if d < 0 {
            d += 10;
            borrow = 1;
        }
        out.push(d as u8);
    }
    out.reverse();
    out
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        let sign = |n: &Number| {
            if n.is_zero() {
                0
            } else if n.negative {
                -1
            } else {
                1
            }
        };
        match sign(self).cmp(&sign(other)) {
            Ordering::Equal if sign(self) == 0 => Ordering::Equal,
            Ordering::Equal => {
                let top = |n: &Number| n.exp + n.digits.len() as i32;
                let magnitude = top(self).cmp(&top(other)).then_with(|| self.digits.cmp(&other.digits));
                if self.negative { magnitude.reverse() } else { magnitude }
            }
            unequal => unequal,
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        if self.negative {
            f.write_str("-")?;
        }
        let digits: String = self.digits.iter().map(|d| char::from(b'0' + d)).collect();
        let point = self.digits.len() as i32 + self.exp;
        if self.exp >= 0 {
            f.write_str(&digits)?;
            f.write_str(&"0".repeat(self.exp as usize))
        } else if point > 0 {
            let (int, frac) = digits.split_at(point as usize);
            write!(f, "{int}.{frac}")
        } else {
            write!(f, "0.{}{digits}", "0".repeat((-point) as usize))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).expect(s)
    }

    #[test]
    fn parses_and_writes_back_in_plain_notation() {
        for (given, shown) in [
            ("1.50", "1.5"),
            ("15E-1", "1.5"),
            ("1e2", "100"),
            ("-0", "0"),
            ("007", "7"),
            (".5", "0.5"),
            ("+3", "3"),
            ("-0.00012300", "-0.000123"),
            ("123456789012345678901234567890.12345678", "123456789012345678901234567890.12345678"),
        ] {
            assert_eq!(n(given).to_string(), shown, "{given}");
        }
        for bad in ["", "abc", "1..2", "--1", "1e", "e5", "1.2.3", " "] {
            assert_eq!(Number::parse(bad), Err(not_a_number(bad)), "{bad:?}");
        }
    }

    #[test]
    fn limits() {
        let too_precise = "1".repeat(39);
        assert!(Number::parse(&too_precise).expect_err("refused").contains("38 significant digits"));
        assert!(Number::parse(&format!("{}000", "1".repeat(38))).is_ok());
        assert!(Number::parse("9.9999999999999999999999999999999999999E+125").is_ok());
        assert!(Number::parse("1E+126").expect_err("refused").starts_with("Number overflow"));
        assert!(Number::parse("1E-130").is_ok());
        assert!(Number::parse("1E-131").expect_err("refused").starts_with("Number underflow"));
    }

    #[test]
    fn arithmetic_is_exact() {
        assert_eq!(n("0.1").add(&n("0.2")).expect("exact"), n("0.3"));
        assert_eq!(n("1").sub(&n("3")).expect("exact"), n("-2"));
        assert_eq!(n("-1.5").add(&n("1.5")).expect("exact"), Number::zero());
        assert_eq!(n("99999999999999999999999999999999999999").sub(&n("1")).expect("exact").to_string().len(), 38);
        assert!(n("99999999999999999999999999999999999999").add(&n("0.1")).is_err());
        assert_eq!(n("1e20").add(&n("1")).expect("exact"), n("100000000000000000001"));
    }

    #[test]
    fn order_and_sort_keys_agree() {
        let mut values: Vec<Number> =
            ["-100", "-1.5", "-1", "-0.12", "-0.1", "0", "1e-5", "0.1", "0.12", "1", "1.5", "10", "1e30"]
                .iter()
                .map(|s| n(s))
                .collect();
        let sorted = values.clone();
        values.reverse();
        values.sort();
        assert_eq!(values, sorted);
        for w in sorted.windows(2) {
            assert!(w[0].sort_key() < w[1].sort_key(), "{} < {}", w[0], w[1]);
        }
    }
}
