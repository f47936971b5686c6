//! A recursive-descent parser for DynamoDB's expression grammar (conditions, update and
//! projection expressions), building raw trees. It reports DynamoDB's syntax errors (the first
//! token that cannot be taken, with the text from the token before it to the token after it)
//! and its redundant-parentheses error, which DynamoDB raises while parsing.

use super::ast::{ArithOp, CmpOp, RawAction, RawCond, RawElem, RawOperand, RawPath, RawSetValue, Section};
use super::lexer::{Tok, Token, lex, matching_parens};
use super::{ExprError, ExprKind};

/// How deeply parentheses, NOT and function calls may nest. DynamoDB's limit on operators per
/// expression (300) bounds real expressions well below this; the cap keeps the recursion (and
/// so the stack) bounded whatever the input.
pub(crate) const MAX_NESTING: usize = 200;

type PResult<T> = Result<T, ExprError>;

pub(crate) struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    matches: Vec<Option<usize>>,
    pos: usize,
    depth: usize,
    kind: ExprKind,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(text: &'a str, kind: ExprKind) -> Parser<'a> {
        let tokens = lex(text);
        let matches = matching_parens(&tokens);
        Parser { text, tokens, matches, pos: 0, depth: 0, kind }
    }

    /// A whole condition (ConditionExpression, FilterExpression or KeyConditionExpression).
    pub(crate) fn parse_condition(mut self) -> PResult<RawCond> {
        let (cond, _) = self.condition()?;
        self.expect(Tok::Eof)?;
        Ok(cond)
    }

    /// A whole update expression: its sections in order, each with its actions.
    pub(crate) fn parse_update(mut self) -> PResult<Vec<(Section, Vec<RawAction>)>> {
        let mut sections = Vec::new();
        loop {
            let section = match self.peek() {
                Tok::Set => Section::Set,
                Tok::Remove => Section::Remove,
                Tok::Add => Section::Add,
                Tok::Delete => Section::Delete,
                _ => return Err(self.syntax_error()),
            };
            self.advance();
            let mut actions = vec![self.action(section)?];
            while self.eat(Tok::Comma) {
                actions.push(self.action(section)?);
            }
            sections.push((section, actions));
            if self.peek() == Tok::Eof {
                return Ok(sections);
            }
        }
    }

    /// A whole projection expression: its paths in order.
    pub(crate) fn parse_projection(mut self) -> PResult<Vec<RawPath>> {
        let mut paths = vec![self.path()?];
        while self.eat(Tok::Comma) {
            paths.push(self.path()?);
        }
        self.expect(Tok::Eof)?;
        Ok(paths)
    }

    // Conditions. Each returns whether what it parsed is wrapped whole in parentheses, which
    // makes another pair around it redundant.

    fn condition(&mut self) -> PResult<(RawCond, bool)> {
        let first = self.and_condition()?;
        if self.peek() != Tok::Or {
            return Ok(first);
        }
        let mut parts = vec![first.0];
        while self.eat(Tok::Or) {
            parts.push(self.and_condition()?.0);
        }
        Ok((RawCond::Or(parts), false))
    }

    fn and_condition(&mut self) -> PResult<(RawCond, bool)> {
        let first = self.unary_condition()?;
        if self.peek() != Tok::And {
            return Ok(first);
        }
        let mut parts = vec![first.0];
        while self.eat(Tok::And) {
            parts.push(self.unary_condition()?.0);
        }
        Ok((RawCond::And(parts), false))
    }

    fn unary_condition(&mut self) -> PResult<(RawCond, bool)> {
        if self.eat(Tok::Not) {
            self.enter()?;
            let (inner, _) = self.unary_condition()?;
            self.leave();
            return Ok((RawCond::Not(Box::new(inner)), false));
        }
        self.primary_condition()
    }

    fn primary_condition(&mut self) -> PResult<(RawCond, bool)> {
        match self.peek() {
            Tok::LParen if self.paren_groups_condition() => {
                self.advance();
                self.enter()?;
                let (inner, wrapped) = self.condition()?;
                self.expect(Tok::RParen)?;
                self.leave();
                if wrapped {
                    return Err(self.redundant_parens());
                }
                Ok((inner, true))
            }
            Tok::Id if self.peek_at(1) == Tok::LParen => {
                let (name, args) = self.call()?;
                if is_comparison_start(self.peek()) {
                    Ok((self.comparison(RawOperand::Call(name, args))?, false))
                } else {
                    Ok((RawCond::Call(name, args), false))
                }
            }
            _ => {
                let (left, _) = self.operand()?;
                Ok((self.comparison(left)?, false))
            }
        }
    }

    /// Whether the `(` here opens a grouped condition rather than a parenthesised operand:
    /// an operand's closing parenthesis is followed by a comparison.
    fn paren_groups_condition(&self) -> bool {
        match self.matches.get(self.pos).copied().flatten() {
            Some(close) => !self.tokens.get(close + 1).is_some_and(|t| is_comparison_start(t.kind)),
            None => true,
        }
    }

    fn comparison(&mut self, left: RawOperand) -> PResult<RawCond> {
        let op = match self.peek() {
            Tok::Eq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            Tok::In => {
                self.advance();
                self.expect(Tok::LParen)?;
                let mut list = vec![self.operand()?.0];
                while self.eat(Tok::Comma) {
                    list.push(self.operand()?.0);
                }
                self.expect(Tok::RParen)?;
                return Ok(RawCond::In(left, list));
            }
            Tok::Between => {
                self.advance();
                let (low, _) = self.operand()?;
                self.expect(Tok::And)?;
                let (high, _) = self.operand()?;
                return Ok(RawCond::Between(left, low, high));
            }
            _ => return Err(self.syntax_error()),
        };
        self.advance();
        let (right, _) = self.operand()?;
        Ok(RawCond::Cmp(op, left, right))
    }

    fn operand(&mut self) -> PResult<(RawOperand, bool)> {
        match self.peek() {
            Tok::LParen => {
                self.advance();
                self.enter()?;
                let (inner, wrapped) = self.operand()?;
                self.expect(Tok::RParen)?;
                self.leave();
                if wrapped {
                    return Err(self.redundant_parens());
                }
                Ok((inner, true))
            }
            Tok::Id if self.peek_at(1) == Tok::LParen => {
                let (name, args) = self.call()?;
                Ok((RawOperand::Call(name, args), false))
            }
            Tok::Id | Tok::NameRef => Ok((RawOperand::Path(self.path()?), false)),
            Tok::ValueRef => {
                let t = self.advance();
                Ok((RawOperand::Value(self.text_of(t).to_string()), false))
            }
            _ => Err(self.syntax_error()),
        }
    }

    fn call(&mut self) -> PResult<(String, Vec<RawOperand>)> {
        let name = self.advance();
        let name = self.text_of(name).to_string();
        self.expect(Tok::LParen)?;
        self.enter()?;
        let mut args = vec![self.operand()?.0];
        while self.eat(Tok::Comma) {
            args.push(self.operand()?.0);
        }
        self.expect(Tok::RParen)?;
        self.leave();
        Ok((name, args))
    }

    fn path(&mut self) -> PResult<RawPath> {
        let mut elems = vec![self.path_name()?];
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.advance();
                    elems.push(self.path_name()?);
                }
                Tok::LBracket => {
                    self.advance();
                    let index = self.expect(Tok::Index)?;
                    let index = self.text_of(index).parse::<usize>().map_err(|_| self.index_out_of_range())?;
                    self.expect(Tok::RBracket)?;
                    elems.push(RawElem::Index(index));
                }
                _ => return Ok(elems),
            }
        }
    }

    fn path_name(&mut self) -> PResult<RawElem> {
        let make = match self.peek() {
            Tok::Id => RawElem::Ident,
            Tok::NameRef => RawElem::Name,
            _ => return Err(self.syntax_error()),
        };
        let t = self.advance();
        Ok(make(self.text_of(t).to_string()))
    }

    // Update expressions.

    fn action(&mut self, section: Section) -> PResult<RawAction> {
        let path = self.path()?;
        Ok(match section {
            Section::Set => {
                self.expect(Tok::Eq)?;
                RawAction::Set(path, self.set_value()?.0)
            }
            Section::Remove => RawAction::Remove(path),
            Section::Add => RawAction::Add(path, self.value_ref()?),
            Section::Delete => RawAction::Delete(path, self.value_ref()?),
        })
    }

    fn set_value(&mut self) -> PResult<(RawSetValue, bool)> {
        if self.peek() == Tok::LParen && !self.paren_starts_arithmetic() {
            self.advance();
            self.enter()?;
            let (inner, wrapped) = self.set_value()?;
            self.expect(Tok::RParen)?;
            self.leave();
            if wrapped {
                return Err(self.redundant_parens());
            }
            return Ok((inner, true));
        }
        let (left, wrapped) = self.operand()?;
        let op = match self.peek() {
            Tok::Plus => ArithOp::Plus,
            Tok::Minus => ArithOp::Minus,
            _ => return Ok((RawSetValue::Operand(left), wrapped)),
        };
        self.advance();
        let (right, _) = self.operand()?;
        Ok((RawSetValue::Arith(op, left, right), false))
    }

    /// Whether the `(` here wraps the left operand of a `+` or `-`.
    fn paren_starts_arithmetic(&self) -> bool {
        self.matches
            .get(self.pos)
            .copied()
            .flatten()
            .and_then(|close| self.tokens.get(close + 1))
            .is_some_and(|t| matches!(t.kind, Tok::Plus | Tok::Minus))
    }

    fn value_ref(&mut self) -> PResult<String> {
        let t = self.expect(Tok::ValueRef)?;
        Ok(self.text_of(t).to_string())
    }

    // Tokens.

    fn peek(&self) -> Tok {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> Tok {
        self.tokens.get(self.pos + ahead).map_or(Tok::Eof, |t| t.kind)
    }

    fn advance(&mut self) -> Token {
        let t = self.tokens[self.pos.min(self.tokens.len() - 1)];
        if t.kind != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    fn eat(&mut self, kind: Tok) -> bool {
        if self.peek() == kind {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, kind: Tok) -> PResult<Token> {
        if self.peek() == kind { Ok(self.advance()) } else { Err(self.syntax_error()) }
    }

    fn text_of(&self, t: Token) -> &'a str {
        &self.text[t.start..t.end]
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            if self.has_redundant_pair() {
                return Err(self.redundant_parens());
            }
            // No DynamoDB message is known for this (its operator limit is hit first); this one
            // follows the form of its expression-size message.
            return Err(self.kind.invalid(format!(
                "Expression nesting has exceeded the maximum allowed depth; maximum depth: {MAX_NESTING}"
            )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    // Errors.

    /// DynamoDB's syntax error at the current token: the token, and the text from the token
    /// before it through the token after it (to the end of the input when that is the end).
    fn syntax_error(&self) -> ExprError {
        let at = self.pos.min(self.tokens.len() - 1);
        let tok = self.tokens[at];
        let shown = if tok.kind == Tok::Eof { "<EOF>" } else { self.text_of(tok) };
        let start = if at > 0 { self.tokens[at - 1].start } else { tok.start };
        let end = self.tokens.get(at + 1).map_or(self.text.len(), |t| t.end);
        let near = &self.text[start..end];
        self.kind.invalid(format!("Syntax error; token: \"{shown}\", near: \"{near}\""))
    }

    /// Whether some `((…))` anywhere is redundant whatever it holds, so DynamoDB, which finds
    /// redundant parentheses while parsing, would report that before any nesting limit.
    fn has_redundant_pair(&self) -> bool {
        self.matches.iter().enumerate().any(|(open, close)| {
            let inner_close = self.matches.get(open + 1).copied().flatten();
            matches!((close, inner_close), (Some(c), Some(ic)) if ic + 1 == *c)
        })
    }

    fn redundant_parens(&self) -> ExprError {
        self.kind.invalid("The expression has redundant parentheses;")
    }

    fn index_out_of_range(&self) -> ExprError {
        // Not verified against DynamoDB: the form AWS's own DAX client gives an index too large.
        self.kind.invalid("List index is not within the allowable range")
    }
}

fn is_comparison_start(t: Tok) -> bool {
    matches!(t, Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge | Tok::In | Tok::Between)
}
