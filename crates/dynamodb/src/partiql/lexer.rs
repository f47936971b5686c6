//! The PartiQL lexer: whitespace and comments (`--` to the end of the line, `/* … */`) are
//! skipped; keywords are case-insensitive; `'…'` is a string (`''` is a quote), `"…"` a quoted
//! identifier (`""` is a quote); numbers are decimal with an optional exponent; `<<` and `>>`
//! enclose bags. Anything else it cannot read fails the whole statement with DynamoDB's
//! "wasn't well formed" message and nothing after the colon (as AWS answers for a `#` comment, an
//! unterminated block comment or an exponent out of range).

use stratus_proto::AwsError;

use super::malformed;

/// Words that are keywords, so never a bare identifier. Only words the grammar here needs and
/// that PartiQL certainly reserves (SQL-92 reserved words and PartiQL's own): AWS reserves many
/// more, and a word it reserves that is missing here is merely accepted as a name.
const KEYWORDS: &[&str] = &[
    "ALL", "AS", "ASC", "AT", "BY", "CASE", "CAST", "CREATE", "DELETE", "DESC", "DISTINCT", "DROP", "ELSE", "END",
    "ESCAPE", "FALSE", "FROM", "GROUP", "HAVING", "INDEX", "INSERT", "INTO", "JOIN", "LET", "LIMIT", "MISSING", "NULL",
    "OFFSET", "ON", "ORDER", "PIVOT", "REMOVE", "SELECT", "SET", "TABLE", "THEN", "TRUE", "UNION", "UNPIVOT", "UPDATE",
    "VALUE", "VALUES", "WHEN", "WHERE",
];

/// Operators, symbolic and word (PartiQL lexes `AND`, `OR`, `NOT`, `IN`, `IS`, `LIKE` and
/// `BETWEEN` as operators, not keywords, which shows in its messages: "Unexpected operator").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Slash,
    Percent,
    Concat,
    /// `*` between operands (the lexer gives [`Tok::Star`]).
    Times,
    And,
    Or,
    Not,
    In,
    Is,
    Like,
    Between,
}

impl Op {
    pub(super) fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Plus => "+",
            Op::Minus => "-",
            Op::Slash => "/",
            Op::Percent => "%",
            Op::Concat => "||",
            Op::Times => "*",
            Op::And => "AND",
            Op::Or => "OR",
            Op::Not => "NOT",
            Op::In => "IN",
            Op::Is => "IS",
            Op::Like => "LIKE",
            Op::Between => "BETWEEN",
        }
    }
}

const WORD_OPS: [(&str, Op); 7] = [
    ("AND", Op::And),
    ("OR", Op::Or),
    ("NOT", Op::Not),
    ("IN", Op::In),
    ("IS", Op::Is),
    ("LIKE", Op::Like),
    ("BETWEEN", Op::Between),
];

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    /// A bare identifier, as written.
    Ident(String),
    /// A double-quoted identifier, unescaped.
    Quoted(String),
    /// A single-quoted string, unescaped.
    Str(String),
    /// A number literal's text (no sign).
    Num(String),
    /// A keyword, upper case (one of [`KEYWORDS`]).
    Kw(&'static str),
    Op(Op),
    Star,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    LBag,
    RBag,
    Comma,
    Dot,
    Semi,
    Colon,
    Question,
    Eof,
}

fn unreadable() -> AwsError {
    malformed("")
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '$'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// The tokens of `text`, ending with [`Tok::Eof`].
pub(super) fn lex(text: &str) -> Result<Vec<Tok>, AwsError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            let close = (i + 2..chars.len().saturating_sub(1)).find(|&j| chars[j] == '*' && chars[j + 1] == '/');
            i = close.ok_or_else(unreadable)? + 2;
            continue;
        }
        let (tok, len) = match (c, next) {
            ('<', Some('<')) => (Tok::LBag, 2),
            ('>', Some('>')) => (Tok::RBag, 2),
            ('<', Some('>')) | ('!', Some('=')) => (Tok::Op(Op::Ne), 2),
            ('<', Some('=')) => (Tok::Op(Op::Le), 2),
            ('>', Some('=')) => (Tok::Op(Op::Ge), 2),
            ('|', Some('|')) => (Tok::Op(Op::Concat), 2),
            ('<', _) => (Tok::Op(Op::Lt), 1),
            ('>', _) => (Tok::Op(Op::Gt), 1),
            ('=', _) => (Tok::Op(Op::Eq), 1),
            ('+', _) => (Tok::Op(Op::Plus), 1),
            ('-', _) => (Tok::Op(Op::Minus), 1),
            ('/', _) => (Tok::Op(Op::Slash), 1),
            ('%', _) => (Tok::Op(Op::Percent), 1),
            ('*', _) => (Tok::Star, 1),
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('[', _) => (Tok::LBracket, 1),
            (']', _) => (Tok::RBracket, 1),
            ('{', _) => (Tok::LBrace, 1),
            ('}', _) => (Tok::RBrace, 1),
            (',', _) => (Tok::Comma, 1),
            (';', _) => (Tok::Semi, 1),
            (':', _) => (Tok::Colon, 1),
            ('?', _) => (Tok::Question, 1),
            ('.', Some(d)) if d.is_ascii_digit() => number(&chars, i)?,
            ('.', _) => (Tok::Dot, 1),
            ('\'', _) => {
                let (s, len) = quoted(&chars, i)?;
                (Tok::Str(s), len)
            }
            ('"', _) => {
                let (s, len) = quoted(&chars, i)?;
                (Tok::Quoted(s), len)
            }
            (d, _) if d.is_ascii_digit() => number(&chars, i)?,
            (a, _) if is_ident_start(a) => {
                let len = chars[i..].iter().take_while(|c| is_ident_char(**c)).count();
                let word: String = chars[i..i + len].iter().collect();
                // After a dot a word names an attribute, keyword or not (`a.value`).
                if out.last() == Some(&Tok::Dot) { (Tok::Ident(word), len) } else { (word_token(word), len) }
            }
            _ => return Err(unreadable()),
        };
        out.push(tok);
        i += len;
    }
    out.push(Tok::Eof);
    Ok(out)
}

fn word_token(word: String) -> Tok {
    if let Some(&(_, op)) = WORD_OPS.iter().find(|(w, _)| w.eq_ignore_ascii_case(&word)) {
        return Tok::Op(op);
    }
    match KEYWORDS.iter().find(|k| k.eq_ignore_ascii_case(&word)) {
        Some(k) => Tok::Kw(k),
        None => Tok::Ident(word),
    }
}

/// A quoted string or identifier starting at `start` (its quote character); a doubled quote
/// stands for one.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), AwsError> {
    let q = chars[start];
    let mut s = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => return Err(unreadable()),
            Some(&c) if c == q => {
                if chars.get(i + 1) == Some(&q) {
                    s.push(q);
                    i += 2;
                } else {
                    return Ok((s, i + 1 - start));
                }
            }
            Some(&c) => {
                s.push(c);
                i += 1;
            }
        }
    }
}

/// A number literal: digits with an optional fraction and exponent. AWS refuses, with nothing
/// after the "wasn't well formed" colon, an exponent outside a 32-bit integer and a scale (the
/// fraction's digits less the exponent) outside one.
fn number(chars: &[char], start: usize) -> Result<(Tok, usize), AwsError> {
    let digits = |from: usize| chars[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i = start + digits(start);
    let mut fraction = 0;
    if chars.get(i) == Some(&'.') {
        fraction = digits(i + 1);
        i += 1 + fraction;
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        let negative = chars.get(j) == Some(&'-');
        if matches!(chars.get(j), Some('+' | '-')) {
            j += 1;
        }
        let n = digits(j);
        if n == 0 {
            return Err(unreadable());
        }
        let text: String = chars[j..j + n].iter().collect();
        let magnitude: i64 = if n > 12 { i64::MAX } else { text.parse().map_err(|_| unreadable())? };
        let exponent = if negative { -magnitude } else { magnitude };
        let scale = fraction as i64 - exponent;
        if i32::try_from(exponent).is_err() || i32::try_from(scale).is_err() {
            return Err(unreadable());
        }
        i = j + n;
    }
    Ok((Tok::Num(chars[start..i].iter().collect()), i - start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).expect("lexes")
    }

    #[test]
    fn tokens() {
        assert_eq!(
            toks("select \"My \"\"T\"\"\" . 'it''s' <<1.5e3>> <> != <= -- note\n/* x */ ?"),
            vec![
                Tok::Kw("SELECT"),
                Tok::Quoted("My \"T\"".into()),
                Tok::Dot,
                Tok::Str("it's".into()),
                Tok::LBag,
                Tok::Num("1.5e3".into()),
                Tok::RBag,
                Tok::Op(Op::Ne),
                Tok::Op(Op::Ne),
                Tok::Op(Op::Le),
                Tok::Question,
                Tok::Eof,
            ]
        );
        assert_eq!(toks("a AnD b"), vec![Tok::Ident("a".into()), Tok::Op(Op::And), Tok::Ident("b".into()), Tok::Eof]);
        assert_eq!(toks(".5"), vec![Tok::Num(".5".into()), Tok::Eof]);
    }

    #[test]
    fn unreadable_input() {
        for bad in ["a # b", "'open", "\"open", "/* open", "1e", "1e2147483648", "1.5e-2147483647", "é", "`ion`"] {
            let e = lex(bad).expect_err(bad);
            assert_eq!(e.message, "Statement wasn't well formed, can't be processed: ", "{bad}");
        }
        assert!(lex("1e2147483647").is_ok());
    }
}
