//! A small backtracking regular-expression engine covering the subset of `java.util.regex` that
//! mapping templates use with `replaceAll`, `replaceFirst`, `split` and `matches`.
//!
//! Supported: literal characters, `.`, classes `[abc]`, `[^a-z]`, `\d \D \w \W \s \S` (also inside
//! classes), escapes `\t \n \r \f` and escaped metacharacters (`\.`, `\\`, `\'` …), quantifiers
//! `* + ? {n} {n,} {n,m}` with lazy (`*?`) forms, anchors `^ $`, word boundaries `\b \B`,
//! alternation `|`, capturing groups `( )` and non-capturing groups `(?: )`. Not supported (a
//! pattern using them is an error): back-references, look-around, named groups, flags, `\Q…\E`.
//! Matching is limited in steps so a pathological pattern fails instead of hanging.

use crate::Error;

const MAX_PATTERN: usize = 1000;
const MAX_STEPS: usize = 2_000_000;
const MAX_REPEAT_DEPTH: usize = 1000;

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Regex {
    root: Vec<Node>,
    groups: usize,
}

#[derive(Debug, Clone)]
enum ClassItem {
    Range(char, char),
    Digit(bool),
    Word(bool),
    Space(bool),
}

#[derive(Debug, Clone)]
enum Node {
    Char(char),
    Any,
    Class(bool, Vec<ClassItem>),
    Start,
    End,
    WordBoundary(bool),
    Group(Vec<Vec<Node>>, Option<usize>),
    Repeat(Box<Node>, usize, Option<usize>, bool),
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl ClassItem {
    fn matches(&self, c: char) -> bool {
        match self {
            ClassItem::Range(a, b) => *a <= c && c <= *b,
            ClassItem::Digit(neg) => c.is_ascii_digit() != *neg,
            ClassItem::Word(neg) => is_word(c) != *neg,
            ClassItem::Space(neg) => matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}') != *neg,
        }
    }
}

impl Node {
    fn single(&self, c: char) -> Option<bool> {
        match self {
            Node::Char(x) => Some(*x == c),
            Node::Any => Some(c != '\n' && c != '\r'),
            Node::Class(neg, items) => Some(items.iter().any(|i| i.matches(c)) != *neg),
            _ => None,
        }
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    groups: usize,
}

impl Parser {
    fn err(&self, msg: &str) -> Error {
        Error::render(format!("unsupported or invalid regex at {}: {msg}", self.pos))
    }
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn alt(&mut self, depth: usize) -> Result<Vec<Vec<Node>>, Error> {
        if depth > 50 {
            return Err(self.err("groups nested too deeply"));
        }
        let mut alts = vec![self.seq(depth)?];
        while self.peek() == Some('|') {
            self.pos += 1;
            alts.push(self.seq(depth)?);
        }
        Ok(alts)
    }
    fn seq(&mut self, depth: usize) -> Result<Vec<Node>, Error> {
        let mut nodes = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom(depth)?;
            nodes.push(self.quantifier(atom)?);
        }
        Ok(nodes)
    }
    fn number(&mut self) -> Option<usize> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect::<String>().parse().ok()
    }
    fn quantifier(&mut self, atom: Node) -> Result<Node, Error> {
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') if self.chars.get(self.pos + 1).is_some_and(|c| c.is_ascii_digit()) => {
                self.pos += 1;
                let min = self.number().ok_or_else(|| self.err("bad repetition"))?;
                let max = if self.peek() == Some(',') {
                    self.pos += 1;
                    if self.peek() == Some('}') {
                        None
                    } else {
                        Some(self.number().ok_or_else(|| self.err("bad repetition"))?)
                    }
                } else {
                    Some(min)
                };
                if self.peek() != Some('}') || max.is_some_and(|m| m < min) {
                    return Err(self.err("bad repetition"));
                }
                (min, max)
            }
            _ => return Ok(atom),
        };
        self.pos += 1;
        if matches!(atom, Node::Start | Node::End | Node::WordBoundary(_)) {
            return Err(self.err("quantifier after anchor"));
        }
        let greedy = match self.peek() {
            Some('?') => {
                self.pos += 1;
                false
            }
            Some('+') => {
                self.pos += 1;
                true
            }
            _ => true,
        };
        Ok(Node::Repeat(Box::new(atom), min, max, greedy))
    }
    fn escape(&mut self, in_class: bool) -> Result<Result<ClassItem, Node>, Error> {
        let c = self.peek().ok_or_else(|| self.err("trailing backslash"))?;
        self.pos += 1;
        Ok(match c {
            'd' => Ok(ClassItem::Digit(false)),
            'D' => Ok(ClassItem::Digit(true)),
            'w' => Ok(ClassItem::Word(false)),
            'W' => Ok(ClassItem::Word(true)),
            's' => Ok(ClassItem::Space(false)),
            'S' => Ok(ClassItem::Space(true)),
            'b' if !in_class => Err(Node::WordBoundary(true)),
            'B' if !in_class => Err(Node::WordBoundary(false)),
            't' => Err(Node::Char('\t')),
            'n' => Err(Node::Char('\n')),
            'r' => Err(Node::Char('\r')),
            'f' => Err(Node::Char('\u{c}')),
            c if c.is_ascii_alphanumeric() => return Err(self.err("unsupported escape")),
            c => Err(Node::Char(c)),
        })
    }
    fn class(&mut self) -> Result<Node, Error> {
        let negated = self.peek() == Some('^');
        if negated {
            self.pos += 1;
        }
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self.peek().ok_or_else(|| self.err("unterminated class"))?;
            if c == ']' && !first {
                self.pos += 1;
                break;
            }
            first = false;
            self.pos += 1;
            let lo = if c == '\\' {
                match self.escape(true)? {
                    Ok(item) => {
                        items.push(item);
                        continue;
                    }
                    Err(Node::Char(ch)) => ch,
                    Err(_) => return Err(self.err("bad escape in class")),
                }
            } else if c == '[' {
                return Err(self.err("nested classes"));
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|&n| n != ']') {
                self.pos += 1;
                let mut hi = self.peek().ok_or_else(|| self.err("unterminated class"))?;
                self.pos += 1;
                if hi == '\\' {
                    match self.escape(true)? {
                        Err(Node::Char(ch)) => hi = ch,
                        _ => return Err(self.err("bad range")),
                    }
                }
                if hi < lo {
                    return Err(self.err("bad range"));
                }
                items.push(ClassItem::Range(lo, hi));
            } else {
                items.push(ClassItem::Range(lo, lo));
            }
        }
        Ok(Node::Class(negated, items))
    }
    fn atom(&mut self, depth: usize) -> Result<Node, Error> {
        let c = self.peek().ok_or_else(|| self.err("unexpected end"))?;
        self.pos += 1;
        Ok(match c {
            '(' => {
                let capture = if self.peek() == Some('?') {
                    if self.chars.get(self.pos + 1) == Some(&':') {
                        self.pos += 2;
                        None
                    } else {
                        return Err(self.err("unsupported group"));
                    }
                } else {
                    self.groups += 1;
                    Some(self.groups)
                };
                let alts = self.alt(depth + 1)?;
                if self.peek() != Some(')') {
                    return Err(self.err("missing ')'"));
                }
                self.pos += 1;
                Node::Group(alts, capture)
            }
            '[' => self.class()?,
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '\\' => match self.escape(false)? {
                Ok(item) => Node::Class(false, vec![item]),
                Err(node) => node,
            },
            '*' | '+' | '?' => return Err(self.err("dangling quantifier")),
            c => Node::Char(c),
        })
    }
}

type Caps = Vec<Option<(usize, usize)>>;

struct Matcher<'t> {
    text: &'t [char],
    caps: Caps,
    steps: usize,
    depth: usize,
    exceeded: bool,
}

impl Matcher<'_> {
    fn seq(&mut self, seq: &[Node], pos: usize, k: &mut dyn FnMut(&mut Self, usize) -> bool) -> bool {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            self.exceeded = true;
        }
        if self.exceeded {
            return false;
        }
        let Some((node, rest)) = seq.split_first() else {
            return k(self, pos);
        };
        match node {
            Node::Start => pos == 0 && self.seq(rest, pos, k),
            Node::End => pos == self.text.len() && self.seq(rest, pos, k),
            Node::WordBoundary(want) => {
                let before = pos > 0 && self.text.get(pos - 1).is_some_and(|&c| is_word(c));
                let after = self.text.get(pos).is_some_and(|&c| is_word(c));
                ((before != after) == *want) && self.seq(rest, pos, k)
            }
            Node::Group(alts, cap) => {
                for alt in alts {
                    let matched = self.seq(alt, pos, &mut |m: &mut Self, end| {
                        let saved = cap.and_then(|i| m.caps.get(i).copied().flatten());
                        if let Some(i) = cap
                            && let Some(slot) = m.caps.get_mut(*i)
                        {
                            *slot = Some((pos, end));
                        }
                        if m.seq(rest, end, k) {
                            return true;
                        }
                        if let Some(i) = cap
                            && let Some(slot) = m.caps.get_mut(*i)
                        {
                            *slot = saved;
                        }
                        false
                    });
                    if matched {
                        return true;
                    }
                }
                false
            }
            Node::Repeat(inner, min, max, greedy) => {
                if inner.single(' ').is_some() {
                    let mut n = 0;
                    while max.is_none_or(|m| n < m)
                        && self.text.get(pos + n).is_some_and(|&c| inner.single(c).unwrap_or(false))
                    {
                        n += 1;
                    }
                    if n < *min {
                        return false;
                    }
                    if *greedy {
                        (*min..=n).rev().any(|i| self.seq(rest, pos + i, k))
                    } else {
                        (*min..=n).any(|i| self.seq(rest, pos + i, k))
                    }
                } else {
                    self.repeat(inner, *min, *max, *greedy, 0, pos, rest, k)
                }
            }
            single => match self.text.get(pos) {
                Some(&c) if single.single(c).unwrap_or(false) => self.seq(rest, pos + 1, k),
                _ => false,
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn repeat(
        &mut self,
        inner: &Node,
        min: usize,
        max: Option<usize>,
        greedy: bool,
        count: usize,
        pos: usize,
        rest: &[Node],
        k: &mut dyn FnMut(&mut Self, usize) -> bool,
    ) -> bool {
        self.depth += 1;
        if self.depth > MAX_REPEAT_DEPTH {
            self.exceeded = true;
        }
        // Greedy: try one more repetition first; lazy: try to stop first.
        let result = !self.exceeded
            && ((!greedy && count >= min && self.seq(rest, pos, k))
                || self.repeat_more(inner, min, max, greedy, count, pos, rest, k)
                || (greedy && count >= min && self.seq(rest, pos, k)));
        self.depth -= 1;
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn repeat_more(
        &mut self,
        inner: &Node,
        min: usize,
        max: Option<usize>,
        greedy: bool,
        count: usize,
        pos: usize,
        rest: &[Node],
        k: &mut dyn FnMut(&mut Self, usize) -> bool,
    ) -> bool {
        max.is_none_or(|mx| count < mx)
            && self.seq(std::slice::from_ref(inner), pos, &mut |m: &mut Self, p| {
                (p != pos || count < min) && m.repeat(inner, min, max, greedy, count + 1, p, rest, k)
            })
    }
}

impl Regex {
    /// Compiles `pattern`; unsupported syntax is an error.
    pub fn new(pattern: &str) -> Result<Regex, Error> {
        let chars: Vec<char> = pattern.chars().collect();
        if chars.len() > MAX_PATTERN {
            return Err(Error::render("regex pattern too long"));
        }
        let mut p = Parser { chars, pos: 0, groups: 0 };
        let alts = p.alt(0)?;
        if p.pos != p.chars.len() {
            return Err(p.err("unmatched ')'"));
        }
        Ok(Regex { root: vec![Node::Group(alts, None)], groups: p.groups })
    }

    fn matcher<'t>(&self, text: &'t [char]) -> Matcher<'t> {
        Matcher { text, caps: vec![None; self.groups + 1], steps: 0, depth: 0, exceeded: false }
    }

    /// Whether the whole of `text` matches (Java `String.matches`).
    pub fn is_full_match(&self, text: &str) -> Result<bool, Error> {
        let chars: Vec<char> = text.chars().collect();
        let mut m = self.matcher(&chars);
        let len = chars.len();
        let ok = m.seq(&self.root, 0, &mut |_, p| p == len);
        if m.exceeded {
            return Err(Error::render("regex too complex"));
        }
        Ok(ok)
    }

    fn find_at(&self, m: &mut Matcher<'_>, from: usize) -> Result<Option<Caps>, Error> {
        for start in from..=m.text.len() {
            m.caps.iter_mut().for_each(|c| *c = None);
            let mut end = None;
            if m.seq(&self.root, start, &mut |_, p| {
                end = Some(p);
                true
            }) {
                let mut caps = m.caps.clone();
                if let (Some(slot), Some(e)) = (caps.get_mut(0), end) {
                    *slot = Some((start, e));
                }
                return Ok(Some(caps));
            }
            if m.exceeded {
                return Err(Error::render("regex too complex"));
            }
        }
        Ok(None)
    }

    /// All matches as capture vectors (group 0 is the whole match), Java `Matcher.find` style.
    fn find_all(&self, chars: &[char], limit: usize) -> Result<Vec<Caps>, Error> {
        let mut m = self.matcher(chars);
        let mut out = Vec::new();
        let mut pos = 0;
        while pos <= chars.len() && out.len() < limit {
            let Some(caps) = self.find_at(&mut m, pos)? else { break };
            let (s, e) = caps.first().copied().flatten().unwrap_or((pos, pos));
            pos = if e == s { e + 1 } else { e };
            out.push(caps);
        }
        Ok(out)
    }

    /// Java `String.replaceAll` (`limit = usize::MAX`) / `replaceFirst` (`limit = 1`): `$n` in the
    /// replacement inserts group `n`, `\x` inserts `x` literally.
    pub fn replace(&self, text: &str, replacement: &str, limit: usize) -> Result<String, Error> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::new();
        let mut last = 0;
        for caps in self.find_all(&chars, limit)? {
            let (s, e) = caps.first().copied().flatten().unwrap_or((last, last));
            out.extend(&chars[last.min(s)..s]);
            self.expand(replacement, &chars, &caps, &mut out)?;
            last = e;
            if out.len() > crate::MAX_OUTPUT {
                return Err(Error::Limit("string too large".into()));
            }
        }
        out.extend(chars.get(last..).unwrap_or(&[]));
        Ok(out)
    }

    fn expand(&self, replacement: &str, chars: &[char], caps: &Caps, out: &mut String) -> Result<(), Error> {
        let mut it = replacement.chars().peekable();
        while let Some(c) = it.next() {
            match c {
                '\\' => match it.next() {
                    Some(x) => out.push(x),
                    None => return Err(Error::render("character to be escaped is missing")),
                },
                '$' => {
                    let mut group = match it.next().and_then(|d| d.to_digit(10)) {
                        Some(d) => d as usize,
                        None => return Err(Error::render("illegal group reference")),
                    };
                    while let Some(d) = it.peek().and_then(|d| d.to_digit(10)) {
                        let bigger = group * 10 + d as usize;
                        if bigger > self.groups {
                            break;
                        }
                        group = bigger;
                        it.next();
                    }
                    if group > self.groups {
                        return Err(Error::render(format!("no group {group}")));
                    }
                    if let Some(Some((s, e))) = caps.get(group) {
                        out.extend(&chars[*s..*e]);
                    }
                }
                c => out.push(c),
            }
        }
        Ok(())
    }

    /// Java `String.split(regex)`: trailing empty strings are removed, and a zero-width match at
    /// the start does not produce a leading empty string.
    pub fn split(&self, text: &str) -> Result<Vec<String>, Error> {
        let chars: Vec<char> = text.chars().collect();
        let mut parts = Vec::new();
        let mut index = 0;
        for caps in self.find_all(&chars, usize::MAX)? {
            let Some((s, e)) = caps.first().copied().flatten() else { continue };
            if s == 0 && e == 0 {
                continue;
            }
            parts.push(chars[index.min(s)..s].iter().collect::<String>());
            index = e;
        }
        if index == 0 && parts.is_empty() {
            return Ok(vec![text.to_string()]);
        }
        parts.push(chars.get(index..).unwrap_or(&[]).iter().collect());
        while parts.last().is_some_and(|p| p.is_empty()) {
            parts.pop();
        }
        Ok(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::Regex;

    fn re(p: &str) -> Regex {
        Regex::new(p).expect("pattern compiles")
    }

    #[test]
    fn matches_and_replaces() {
        assert!(re("a.c").is_full_match("abc").expect("ok"));
        assert!(re("[a-z]+\\d{2,3}").is_full_match("abc123").expect("ok"));
        assert!(!re("[a-z]+\\d{2,3}").is_full_match("abc1").expect("ok"));
        assert!(re("(ab|cd)*e").is_full_match("abcdabe").expect("ok"));
        assert_eq!(re("\\\\'").replace("it\\'s", "'", usize::MAX).expect("ok"), "it's");
        assert_eq!(re("(\\w+)@(\\w+)").replace("me@host", "$2 at $1", usize::MAX).expect("ok"), "host at me");
        assert_eq!(re("x*").replace("a", "-", usize::MAX).expect("ok"), "-a-");
        assert_eq!(re("o").replace("foo", "0", 1).expect("ok"), "f0o");
        assert_eq!(re(",").split("a,b,,c,,").expect("ok"), vec!["a", "b", "", "c"]);
        assert_eq!(re("").split("abc").expect("ok"), vec!["a", "b", "c"]);
        assert_eq!(re("\\s+").split(" a  b").expect("ok"), vec!["", "a", "b"]);
        assert!(Regex::new("(a").is_err());
        assert!(Regex::new("(?=a)").is_err());
        assert!(
            re("(a*)*b").is_full_match(&"a".repeat(40)).is_err() || !re("(a*)*b").is_full_match("aaa").expect("ok")
        );
    }
}
