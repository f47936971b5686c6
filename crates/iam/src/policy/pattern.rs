//! Wildcard patterns (`*` any run of characters, `?` one character) with policy variables.
//!
//! A pattern is compiled once into pieces. Matching is the linear greedy algorithm with one
//! backtrack point (the last `*`), so a pattern with many stars cannot blow up. Common shapes
//! (`*`, a plain string, `prefix*`) skip the general matcher.
//!
//! Policy variables (2012-10-17 policies only): `${key}` is replaced by the request's value of the
//! single-valued key `key`; `${key, 'default'}` falls back to `default`; `${*}`, `${?}`, `${$}`
//! are a literal `*`, `?`, `$`. A variable with no value and no default makes the pattern match
//! nothing. Text a variable resolves to is literal: a `*` in a user name is not a wildcard.

/// Resolves policy variables (keys in lower case) for one request.
pub(crate) trait VarSource {
    fn resolve(&self, key: &str) -> Option<&str>;
}

/// No variables (tests).
#[cfg(test)]
pub(crate) struct NoVars;

#[cfg(test)]
impl VarSource for NoVars {
    fn resolve(&self, _key: &str) -> Option<&str> {
        None
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(Box<str>),
    /// `?`
    One,
    /// `*`
    Any,
    /// `${key}` or `${key, 'default'}`; the slot indexes the per-match resolution table.
    Var {
        key: Box<str>,
        default: Option<Box<str>>,
        slot: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// `*`
    Everything,
    /// No wildcard, no variable.
    Exact(Box<str>),
    /// `literal*`
    Prefix(Box<str>),
    General,
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    shape: Shape,
    pieces: Box<[Piece]>,
    vars: usize,
}

impl Pattern {
    /// Compiles `src`; `wildcards`: `*` and `?` are wildcards (else literal); `variables`:
    /// `${...}` are policy variables (else literal).
    pub fn compile(src: &str, wildcards: bool, variables: bool) -> Pattern {
        let mut pieces: Vec<Piece> = Vec::new();
        let mut lit = String::new();
        let mut vars = 0;
        let mut rest = src;
        while let Some(c) = rest.chars().next() {
            if variables
                && rest.starts_with("${")
                && let Some(end) = rest.find('}')
            {
                let body = rest[2..end].trim();
                rest = &rest[end + 1..];
                match body {
                    "*" | "?" | "$" => lit.push_str(body),
                    _ => {
                        flush(&mut lit, &mut pieces);
                        let (key, default) = match body.split_once(',') {
                            Some((k, d)) => (k.trim(), Some(unquote(d.trim()))),
                            None => (body, None),
                        };
                        pieces.push(Piece::Var {
                            key: key.to_lowercase().into(),
                            default: default.map(Into::into),
                            slot: vars,
                        });
                        vars += 1;
                    }
                }
                continue;
            }
            rest = &rest[c.len_utf8()..];
            match c {
                '*' if wildcards => {
                    flush(&mut lit, &mut pieces);
                    if pieces.last() != Some(&Piece::Any) {
                        pieces.push(Piece::Any);
                    }
                }
                '?' if wildcards => {
                    flush(&mut lit, &mut pieces);
                    pieces.push(Piece::One);
                }
                _ => lit.push(c),
            }
        }
        flush(&mut lit, &mut pieces);
        let shape = match pieces.as_slice() {
            [] => Shape::Exact("".into()),
            [Piece::Any] => Shape::Everything,
            [Piece::Lit(s)] => Shape::Exact(s.clone()),
            [Piece::Lit(s), Piece::Any] => Shape::Prefix(s.clone()),
            _ => Shape::General,
        };
        Pattern { shape, pieces: pieces.into_boxed_slice(), vars }
    }

    /// Whether `text` matches; `fold`: compare case-insensitively.
    pub fn matches(&self, text: &str, fold: bool, vars: &dyn VarSource) -> bool {
        match &self.shape {
            Shape::Everything => true,
            Shape::Exact(s) => eq(s, text, fold),
            Shape::Prefix(p) => strip_prefix(text, p, fold).is_some(),
            Shape::General => {
                if self.vars == 0 {
                    return general_match(&self.pieces, &[], text, fold);
                }
                let mut resolved: Vec<&str> = Vec::with_capacity(self.vars);
                for piece in self.pieces.iter() {
                    if let Piece::Var { key, default, .. } = piece {
                        match vars.resolve(key).or(default.as_deref()) {
                            Some(v) => resolved.push(v),
                            None => return false,
                        }
                    }
                }
                general_match(&self.pieces, &resolved, text, fold)
            }
        }
    }
}

fn flush(lit: &mut String, pieces: &mut Vec<Piece>) {
    if !lit.is_empty() {
        pieces.push(Piece::Lit(std::mem::take(lit).into_boxed_str()));
    }
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')).unwrap_or(s)
}

pub(crate) fn chars_eq(a: char, b: char, fold: bool) -> bool {
    a == b
        || (fold
            && (a.eq_ignore_ascii_case(&b)
                || (!(a.is_ascii() && b.is_ascii()) && a.to_lowercase().eq(b.to_lowercase()))))
}

/// String equality, optionally case-insensitive.
pub(crate) fn eq(a: &str, b: &str, fold: bool) -> bool {
    if !fold || a.is_ascii() && b.is_ascii() {
        return if fold { a.eq_ignore_ascii_case(b) } else { a == b };
    }
    let (mut x, mut y) = (a.chars(), b.chars());
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(c), Some(d)) if chars_eq(c, d, true) => {}
            _ => return false,
        }
    }
}

/// `text` without the prefix `prefix`, if it has it.
fn strip_prefix<'t>(text: &'t str, prefix: &str, fold: bool) -> Option<&'t str> {
    if !fold {
        return text.strip_prefix(prefix);
    }
    let mut rest = text;
    for p in prefix.chars() {
        let c = rest.chars().next()?;
        if !chars_eq(p, c, true) {
            return None;
        }
        rest = &rest[c.len_utf8()..];
    }
    Some(rest)
}

#[derive(Clone, Copy)]
enum Unit {
    Char(char),
    One,
    Any,
}

/// A position in the pattern: piece index and byte offset inside a literal or resolved variable.
#[derive(Clone, Copy)]
struct Cursor {
    piece: usize,
    off: usize,
}

fn next_unit(pieces: &[Piece], resolved: &[&str], mut at: Cursor) -> Option<(Unit, Cursor)> {
    loop {
        let piece = pieces.get(at.piece)?;
        let text: &str = match piece {
            Piece::Any => return Some((Unit::Any, Cursor { piece: at.piece + 1, off: 0 })),
            Piece::One => return Some((Unit::One, Cursor { piece: at.piece + 1, off: 0 })),
            Piece::Lit(s) => s,
            Piece::Var { slot, .. } => resolved.get(*slot).copied().unwrap_or(""),
        };
        match text.get(at.off..).and_then(|t| t.chars().next()) {
            Some(c) => return Some((Unit::Char(c), Cursor { piece: at.piece, off: at.off + c.len_utf8() })),
            None => at = Cursor { piece: at.piece + 1, off: 0 },
        }
    }
}

fn general_match(pieces: &[Piece], resolved: &[&str], text: &str, fold: bool) -> bool {
    let mut p = Cursor { piece: 0, off: 0 };
    let mut t = 0usize;
    // After the last `*`: where the pattern resumes and how much text the star has taken.
    let mut star: Option<(Cursor, usize)> = None;
    loop {
        let unit = next_unit(pieces, resolved, p);
        let Some(c) = text.get(t..).and_then(|s| s.chars().next()) else {
            // Text consumed: only stars may remain.
            let mut rest = unit;
            loop {
                match rest {
                    None => return true,
                    Some((Unit::Any, next)) => rest = next_unit(pieces, resolved, next),
                    Some(_) => return false,
                }
            }
        };
        match unit {
            Some((Unit::Any, next)) => {
                star = Some((next, t));
                p = next;
                continue;
            }
            Some((Unit::One, next)) => {
                p = next;
                t += c.len_utf8();
                continue;
            }
            Some((Unit::Char(pc), next)) if chars_eq(pc, c, fold) => {
                p = next;
                t += c.len_utf8();
                continue;
            }
            _ => {}
        }
        // Mismatch: let the last star take one more character, or fail.
        let Some((resume, taken)) = star else { return false };
        let Some(sc) = text.get(taken..).and_then(|s| s.chars().next()) else { return false };
        let taken = taken + sc.len_utf8();
        star = Some((resume, taken));
        p = resume;
        t = taken;
    }
}

/// Splits `src` at `:` outside `${...}` into at most `n` parts (the last keeps the rest).
pub(crate) fn split_arn(src: &str, n: usize) -> Vec<&str> {
    let mut parts = Vec::with_capacity(n);
    let mut start = 0;
    let mut depth = false;
    let bytes = src.as_bytes();
    let mut i = 0;
    while i < bytes.len() && parts.len() + 1 < n {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth = true;
                i += 1;
            }
            b'}' => depth = false,
            b':' if !depth => {
                parts.push(&src[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&src[start..]);
    parts
}
