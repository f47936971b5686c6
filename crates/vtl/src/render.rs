//! Rendering: walks the syntax tree against a [`Context`], evaluating expressions with Velocity 1.7
//! semantics and enforcing the iteration, depth and output limits.

use std::collections::HashMap;
use std::sync::Arc;

use crate::methods::{call_method, get_property, index_value};
use crate::parser::{BinOp, Expr, MacroDef, Node, Part, Reference, Template};
use crate::{Error, MAX_DEPTH, MAX_ITERATIONS, MAX_OUTPUT, Value};

/// The variables a template reads and writes.
///
/// After [`Template::render`] the host can read back whatever the template `#set`, including
/// changes made through shared maps (e.g. `$context.responseOverride.status`).
#[derive(Default, Clone, Debug)]
pub struct Context {
    vars: HashMap<String, Value>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets a variable.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.vars.insert(name.into(), value.into());
    }
    /// Reads a variable.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }
    /// Removes a variable, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.vars.remove(name)
    }
    /// The names of all variables (in no particular order).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }
}

impl Template {
    /// Renders the template, reading and writing variables in `ctx`.
    pub fn render(&self, ctx: &mut Context) -> Result<String, Error> {
        let mut r = Renderer { ctx, iterations: 0, depth: 0, nest: 0, macros: (*self.macros).clone() };
        let mut out = String::new();
        r.nodes(&self.nodes, &mut out)?;
        Ok(out)
    }
}

#[derive(PartialEq)]
enum Flow {
    Normal,
    Break,
    Stop,
}

struct Renderer<'c> {
    ctx: &'c mut Context,
    iterations: usize,
    depth: usize,
    nest: usize,
    macros: HashMap<String, Arc<MacroDef>>,
}

/// Maximum nesting of blocks (`#if`, `#foreach`, macro bodies, interpolated strings) while rendering,
/// which bounds the renderer's stack use.
const MAX_NESTING: usize = 200;

fn push(out: &mut String, s: &str) -> Result<(), Error> {
    if out.len() + s.len() > MAX_OUTPUT {
        return Err(Error::Limit(format!("output larger than {MAX_OUTPUT} bytes")));
    }
    out.push_str(s);
    Ok(())
}

/// How a resolved value renders; `None` means "render the reference literally".
fn display(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Object(o) => o.render(),
        v => Some(v.to_java_string()),
    }
}

/// Velocity 1.7 `==`: numbers numerically, same types with `equals`, otherwise by `toString()`.
pub(crate) fn velocity_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => a.as_f64() == b.as_f64(),
        _ if std::mem::discriminant(a) == std::mem::discriminant(b) => a.java_equals(b),
        _ => a.to_java_string() == b.to_java_string(),
    }
}

fn arith(op: BinOp, a: &Value, b: &Value) -> Value {
    if op == BinOp::Add && (matches!(a, Value::String(_)) || matches!(b, Value::String(_))) {
        if a.is_null() || b.is_null() {
            return Value::Null;
        }
        return Value::String(format!("{}{}", a.to_java_string(), b.to_java_string()));
    }
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        let r = match op {
            BinOp::Add => x.checked_add(*y),
            BinOp::Sub => x.checked_sub(*y),
            BinOp::Mul => x.checked_mul(*y),
            BinOp::Div if *y == 0 => return Value::Null,
            BinOp::Div => x.checked_div(*y),
            BinOp::Mod if *y == 0 => return Value::Null,
            BinOp::Mod => x.checked_rem(*y),
            _ => None,
        };
        if let Some(r) = r {
            return Value::Int(r);
        }
    }
    let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) else { return Value::Null };
    match op {
        BinOp::Add => Value::Float(x + y),
        BinOp::Sub => Value::Float(x - y),
        BinOp::Mul => Value::Float(x * y),
        BinOp::Div | BinOp::Mod if y == 0.0 => Value::Null,
        BinOp::Div => Value::Float(x / y),
        BinOp::Mod => Value::Float(x % y),
        _ => Value::Null,
    }
}

impl Renderer<'_> {
    fn nodes(&mut self, nodes: &[Node], out: &mut String) -> Result<Flow, Error> {
        self.nest += 1;
        if self.nest > MAX_NESTING {
            return Err(Error::Limit(format!("blocks nested deeper than {MAX_NESTING}")));
        }
        let mut result = Ok(Flow::Normal);
        for node in nodes {
            match self.node(node, out) {
                Ok(Flow::Normal) => {}
                other => {
                    result = other;
                    break;
                }
            }
        }
        self.nest -= 1;
        result
    }

    fn restore(&mut self, name: &str, old: Option<Value>) {
        match old {
            Some(v) => self.ctx.set(name, v),
            None => {
                self.ctx.remove(name);
            }
        }
    }

    fn node(&mut self, node: &Node, out: &mut String) -> Result<Flow, Error> {
        match node {
            Node::Text(t) => push(out, t)?,
            Node::Ref(r) => {
                let v = self.reference(r)?;
                match display(&v) {
                    Some(s) => push(out, &s)?,
                    None if r.quiet => {}
                    None => push(out, &r.literal)?,
                }
            }
            Node::EscapedRef(n, r) => {
                let v = self.reference(r)?;
                if v.is_null() {
                    push(out, &"\\".repeat(*n))?;
                    push(out, &r.literal)?;
                } else {
                    push(out, &"\\".repeat(n / 2))?;
                    if n % 2 == 1 {
                        push(out, &r.literal)?;
                    } else {
                        push(out, &display(&v).unwrap_or_else(|| r.literal.clone()))?;
                    }
                }
            }
            Node::Set(target, expr) => {
                let v = self.expr(expr)?;
                if !v.is_null() {
                    self.assign(target, v)?;
                }
            }
            Node::If(branches, otherwise) => {
                for (cond, body) in branches {
                    if self.expr(cond)?.is_truthy() {
                        return self.nodes(body, out);
                    }
                }
                if let Some(body) = otherwise {
                    return self.nodes(body, out);
                }
            }
            Node::Foreach(pos, var, expr, body) => {
                return self.foreach(var, expr, body, out).map_err(|e| e.at(pos.line, pos.col));
            }
            Node::Break => return Ok(Flow::Break),
            Node::Stop => return Ok(Flow::Stop),
            Node::MacroCall(pos, name, args, literal) => {
                let Some(def) = self.macros.get(name).cloned() else {
                    push(out, literal)?;
                    return Ok(Flow::Normal);
                };
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.expr(a).map_err(|e| e.at(pos.line, pos.col))?);
                }
                self.enter()?;
                let saved: Vec<Option<Value>> = def.params.iter().map(|p| self.ctx.get(p).cloned()).collect();
                for (i, p) in def.params.iter().enumerate() {
                    match values.get(i) {
                        Some(v) => self.ctx.set(p.clone(), v.clone()),
                        None => {
                            self.ctx.remove(p);
                        }
                    }
                }
                let flow = self.nodes(&def.body, out);
                for (p, old) in def.params.iter().zip(saved) {
                    self.restore(p, old);
                }
                self.depth -= 1;
                if flow? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
            }
            Node::Define(var, body) => {
                let mut s = String::new();
                let flow = self.nodes(body, &mut s)?;
                self.ctx.set(var.clone(), s);
                if flow == Flow::Stop {
                    return Ok(Flow::Stop);
                }
            }
            Node::Evaluate(pos, expr) => {
                let v = self.expr(expr).map_err(|e| e.at(pos.line, pos.col))?;
                let Some(src) = display(&v) else { return Ok(Flow::Normal) };
                let t = Template::parse(&src)?;
                self.enter()?;
                for (k, m) in t.macros.iter() {
                    self.macros.insert(k.clone(), m.clone());
                }
                let flow = self.nodes(&t.nodes, out);
                self.depth -= 1;
                if flow? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
            }
        }
        Ok(Flow::Normal)
    }

    fn enter(&mut self) -> Result<(), Error> {
        if self.depth >= MAX_DEPTH {
            return Err(Error::Limit(format!("macro/#evaluate nesting deeper than {MAX_DEPTH}")));
        }
        self.depth += 1;
        Ok(())
    }

    fn foreach(&mut self, var: &str, expr: &Expr, body: &[Node], out: &mut String) -> Result<Flow, Error> {
        let items: Vec<Value> = match self.expr(expr)? {
            Value::List(l) => l.try_borrow().map(|v| v.clone()).unwrap_or_default(),
            Value::Map(m) => m.try_borrow().map(|m| m.iter().map(|(_, v)| v.clone()).collect()).unwrap_or_default(),
            _ => Vec::new(),
        };
        let saved_var = self.ctx.get(var).cloned();
        let saved_foreach = self.ctx.get("foreach").cloned();
        let saved_count = self.ctx.get("velocityCount").cloned();
        let n = items.len();
        let mut flow = Flow::Normal;
        let mut result = Ok(());
        for (i, item) in items.into_iter().enumerate() {
            self.iterations += 1;
            if self.iterations > MAX_ITERATIONS {
                result = Err(Error::Limit(format!("more than {MAX_ITERATIONS} #foreach iterations")));
                break;
            }
            self.ctx.set(var, item);
            let mut scope = vec![
                ("index", Value::Int(i as i64)),
                ("count", Value::Int(i as i64 + 1)),
                ("hasNext", Value::Bool(i + 1 < n)),
                ("first", Value::Bool(i == 0)),
                ("last", Value::Bool(i + 1 == n)),
            ];
            if let Some(parent) = &saved_foreach {
                scope.push(("parent", parent.clone()));
            }
            self.ctx.set("foreach", Value::map(scope));
            self.ctx.set("velocityCount", Value::Int(i as i64 + 1));
            match self.nodes(body, out) {
                Ok(Flow::Normal) => {}
                Ok(Flow::Break) => break,
                Ok(Flow::Stop) => {
                    flow = Flow::Stop;
                    break;
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.restore(var, saved_var);
        self.restore("foreach", saved_foreach);
        self.restore("velocityCount", saved_count);
        result.map(|()| flow)
    }

    fn assign(&mut self, target: &Reference, v: Value) -> Result<(), Error> {
        let Some((last, init)) = target.parts.split_last() else {
            self.ctx.set(target.name.clone(), v);
            return Ok(());
        };
        let mut base = self.ctx.get(&target.name).cloned().unwrap_or_default();
        for p in init {
            base = self.part(&base, p).map_err(|e| e.at(target.pos.line, target.pos.col))?;
            if base.is_null() {
                return Ok(());
            }
        }
        match (last, &base) {
            (Part::Prop(k), Value::Map(m)) => {
                if let Ok(mut m) = m.try_borrow_mut() {
                    m.insert(k.clone(), v);
                }
            }
            (Part::Prop(k), Value::Object(o)) => {
                o.call("put", &[Value::String(k.clone()), v])?;
            }
            (Part::Index(e), Value::Map(m)) => {
                let key = self.expr(e)?.to_java_string();
                if let Ok(mut m) = m.try_borrow_mut() {
                    m.insert(key, v);
                }
            }
            (Part::Index(e), Value::List(l)) => {
                if let Value::Int(i) = self.expr(e)?
                    && let Ok(mut l) = l.try_borrow_mut()
                    && let Some(slot) = usize::try_from(i).ok().and_then(|i| l.get_mut(i))
                {
                    *slot = v;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn part(&mut self, base: &Value, part: &Part) -> Result<Value, Error> {
        match part {
            Part::Prop(name) => get_property(base, name),
            Part::Index(e) => {
                let idx = self.expr(e)?;
                Ok(index_value(base, &idx))
            }
            Part::Call(name, args) => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.expr(a)?);
                }
                call_method(base, name, &values)
            }
        }
    }

    fn reference(&mut self, r: &Reference) -> Result<Value, Error> {
        let mut cur = self.ctx.get(&r.name).cloned().unwrap_or_default();
        for p in &r.parts {
            if cur.is_null() {
                return Ok(Value::Null);
            }
            cur = self.part(&cur, p).map_err(|e| e.at(r.pos.line, r.pos.col))?;
        }
        if let Value::String(s) = &cur
            && s.len() > MAX_OUTPUT
        {
            return Err(Error::Limit("string value too large".into()));
        }
        Ok(cur)
    }

    fn expr(&mut self, e: &Expr) -> Result<Value, Error> {
        Ok(match e {
            Expr::Null => Value::Null,
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Int(i) => Value::Int(*i),
            Expr::Float(f) => Value::Float(*f),
            Expr::Str(s) => Value::String(s.clone()),
            Expr::Interp(nodes) => {
                let mut s = String::new();
                self.nodes(nodes, &mut s)?;
                Value::String(s)
            }
            Expr::List(items) => {
                let mut v = Vec::with_capacity(items.len());
                for i in items {
                    v.push(self.expr(i)?);
                }
                Value::list(v)
            }
            Expr::Range(a, b) => {
                let (Value::Int(a), Value::Int(b)) = (self.expr(a)?, self.expr(b)?) else { return Ok(Value::Null) };
                if a.abs_diff(b) >= MAX_ITERATIONS as u64 {
                    return Err(Error::Limit(format!("range [{a}..{b}] too large")));
                }
                let v: Vec<Value> =
                    if a <= b { (a..=b).map(Value::Int).collect() } else { (b..=a).rev().map(Value::Int).collect() };
                Value::list(v)
            }
            Expr::Map(entries) => {
                let mut v = Vec::with_capacity(entries.len());
                for (k, val) in entries {
                    v.push((self.expr(k)?.to_java_string(), self.expr(val)?));
                }
                Value::map(v)
            }
            Expr::Ref(r) => self.reference(r)?,
            Expr::Not(e) => Value::Bool(!self.expr(e)?.is_truthy()),
            Expr::Neg(e) => match self.expr(e)? {
                Value::Int(i) => i.checked_neg().map_or(Value::Float(-(i as f64)), Value::Int),
                Value::Float(f) => Value::Float(-f),
                _ => Value::Null,
            },
            Expr::Bin(op, a, b) => match op {
                BinOp::And => Value::Bool(self.expr(a)?.is_truthy() && self.expr(b)?.is_truthy()),
                BinOp::Or => Value::Bool(self.expr(a)?.is_truthy() || self.expr(b)?.is_truthy()),
                BinOp::Eq => Value::Bool(velocity_eq(&self.expr(a)?, &self.expr(b)?)),
                BinOp::Ne => Value::Bool(!velocity_eq(&self.expr(a)?, &self.expr(b)?)),
                BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    let (x, y) = (self.expr(a)?, self.expr(b)?);
                    let ord = match (&x, &y) {
                        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
                        _ => x.as_f64().zip(y.as_f64()).and_then(|(x, y)| x.partial_cmp(&y)),
                    };
                    Value::Bool(ord.is_some_and(|o| match op {
                        BinOp::Lt => o.is_lt(),
                        BinOp::Le => o.is_le(),
                        BinOp::Gt => o.is_gt(),
                        _ => o.is_ge(),
                    }))
                }
                op => {
                    let v = arith(*op, &self.expr(a)?, &self.expr(b)?);
                    if let Value::String(s) = &v
                        && s.len() > MAX_OUTPUT
                    {
                        return Err(Error::Limit("string value too large".into()));
                    }
                    v
                }
            },
        })
    }
}
