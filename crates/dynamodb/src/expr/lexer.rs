//! The expression lexer, following the token rules of DynamoDB's expression grammar: whitespace
//! is skipped, keywords are case-insensitive, identifiers start with a letter, `#name` and
//! `:value` are placeholders, list indexes are decimal numbers without leading zeros, and any
//! other character is a one-character token that no rule accepts.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    In,
    Between,
    Not,
    And,
    Or,
    Set,
    Add,
    Delete,
    Remove,
    /// A list index: `0` or a number without a leading zero.
    Index,
    /// An identifier: a letter, then letters, digits and `_`.
    Id,
    /// `#` and one or more identifier characters.
    NameRef,
    /// `:` and one or more identifier characters.
    ValueRef,
    /// A quoted string, which the grammar lexes but never accepts.
    Str,
    /// Any other single character.
    Unknown,
    Eof,
}

/// One token and where it is in the expression (byte offsets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Tok,
    pub start: usize,
    pub end: usize,
}

const KEYWORDS: [(&str, Tok); 9] = [
    ("IN", Tok::In),
    ("BETWEEN", Tok::Between),
    ("NOT", Tok::Not),
    ("AND", Tok::And),
    ("OR", Tok::Or),
    ("SET", Tok::Set),
    ("ADD", Tok::Add),
    ("DELETE", Tok::Delete),
    ("REMOVE", Tok::Remove),
];

fn is_id_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The tokens of `text`, always ending with an `Eof` token at `text.len()`.
pub(crate) fn lex(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
            continue;
        }
        let (kind, end) = token_at(text, i);
        tokens.push(Token { kind, start: i, end });
        i = end;
    }
    tokens.push(Token { kind: Tok::Eof, start: text.len(), end: text.len() });
    tokens
}

/// The token starting at byte `i` (not whitespace) and where it ends.
fn token_at(text: &str, i: usize) -> (Tok, usize) {
    let bytes = text.as_bytes();
    let next = bytes.get(i + 1).copied();
    match bytes[i] {
        b'=' => (Tok::Eq, i + 1),
        b'<' if next == Some(b'>') => (Tok::Ne, i + 2),
        b'<' if next == Some(b'=') => (Tok::Le, i + 2),
        b'<' => (Tok::Lt, i + 1),
        b'>' if next == Some(b'=') => (Tok::Ge, i + 2),
        b'>' => (Tok::Gt, i + 1),
        b'+' => (Tok::Plus, i + 1),
        b'-' => (Tok::Minus, i + 1),
        b'(' => (Tok::LParen, i + 1),
        b')' => (Tok::RParen, i + 1),
        b'[' => (Tok::LBracket, i + 1),
        b']' => (Tok::RBracket, i + 1),
        b',' => (Tok::Comma, i + 1),
        b'.' => (Tok::Dot, i + 1),
        b'0' => (Tok::Index, i + 1),
        b'1'..=b'9' => (Tok::Index, scan(bytes, i + 1, |b| b.is_ascii_digit())),
        b'#' | b':' if next.is_some_and(is_id_char) => {
            let kind = if bytes[i] == b'#' { Tok::NameRef } else { Tok::ValueRef };
            (kind, scan(bytes, i + 1, is_id_char))
        }
        b if b.is_ascii_alphabetic() => {
            let end = scan(bytes, i + 1, is_id_char);
            (keyword(&text[i..end]).unwrap_or(Tok::Id), end)
        }
        q @ (b'"' | b'\'') => match bytes[i + 1..].iter().position(|&c| c == q) {
            Some(len) => (Tok::Str, i + 2 + len),
            None => (Tok::Unknown, i + 1),
        },
        _ => (Tok::Unknown, i + char_len(text, i)),
    }
}

fn scan(bytes: &[u8], mut i: usize, keep: impl Fn(u8) -> bool) -> usize {
    while i < bytes.len() && keep(bytes[i]) {
        i += 1;
    }
    i
}

fn keyword(word: &str) -> Option<Tok> {
    KEYWORDS.iter().find(|(k, _)| k.eq_ignore_ascii_case(word)).map(|&(_, t)| t)
}

fn char_len(text: &str, i: usize) -> usize {
    text[i..].chars().next().map_or(1, char::len_utf8)
}

/// For every `(`, the index of its matching `)` (None if it has none); other slots are None.
pub(crate) fn matching_parens(tokens: &[Token]) -> Vec<Option<usize>> {
    let mut matches = vec![None; tokens.len()];
    let mut open = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            Tok::LParen => open.push(i),
            Tok::RParen => {
                if let Some(o) = open.pop() {
                    matches[o] = Some(i);
                }
            }
            _ => {}
        }
    }
    matches
}
