//! Parsed statements as item operations: values into DynamoDB JSON, conditions, projections and
//! updates into the expression language with fresh placeholders (`#p0`, `:p0`, …), so no name
//! is ever a reserved word of the expression language and no value appears in its text.

use std::collections::HashMap;

use serde_json::{Map, Value as Json, json};
use stratus_proto::AwsError;

use super::ast::{Action, Expr, Lit, Path, Projected, Returning, Select, Statement, Step, TypeKind};
use super::lexer::Op;
use super::messages as msg;
use super::parser::kind_of;
use super::{Op as ItemOp, Translated, validation};
use crate::number::Number;
use crate::value::Value;

type TResult<T> = Result<T, AwsError>;

/// The key equalities of a WHERE (attribute and value, in the order written).
type Key = Vec<(String, Value)>;

/// How a rendered condition binds, for the parentheses it needs inside another.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Leaf,
    And,
    Or,
}

/// The placeholders of one request, as they are handed out.
struct Builder {
    params: Vec<Value>,
    names: Map<String, Json>,
    name_of: HashMap<String, String>,
    values: Map<String, Json>,
}

pub(super) fn statement(stmt: Statement, params: Vec<Value>) -> TResult<Translated> {
    let mut b = Builder { params, names: Map::new(), name_of: HashMap::new(), values: Map::new() };
    match stmt {
        Statement::Select(select) => b.select(select),
        Statement::Insert { table, item } => b.insert(table, &item),
        Statement::Update { table, actions, filter, returning } => {
            b.update(table, &actions, filter.as_ref(), returning)
        }
        Statement::Delete { table, filter, returning } => b.delete(table, filter.as_ref(), returning),
        Statement::Exists(select) => b.exists(select),
    }
}

impl Builder {
    // Statements.

    fn select(&mut self, s: Select) -> TResult<Translated> {
        let mut input = json!({ "TableName": s.table });
        if let Some(index) = s.index {
            input["IndexName"] = json!(index);
        }
        let mut paths = Vec::new();
        let mut shown = Vec::new();
        for item in &s.projection {
            let Projected::Expr(e) = item else { continue };
            let Expr::Path(p) = e else {
                // Unverified: the message AWS gives a function, literal or parameter here.
                return Err(validation(msg::UNEXPECTED_PATH_COMPONENT));
            };
            let name = output_name(p);
            if shown.iter().any(|(n, _): &(String, Json)| *n == name) {
                return Err(validation(msg::duplicate_projection(&name)));
            }
            paths.push(self.path(p)?);
            shown.push((name, path_json(p)));
        }
        if !paths.is_empty() {
            input["ProjectionExpression"] = json!(paths.join(", "));
            input["StratusProjection"] =
                Json::Array(shown.into_iter().map(|(name, path)| json!({ "Name": name, "Path": path })).collect());
        }
        if let Some(filter) = &s.filter {
            input["FilterExpression"] = json!(self.condition(filter)?.0);
            let equalities = self.equalities(filter)?;
            if !equalities.is_empty() {
                input["StratusEqualities"] = Json::Object(equalities);
            }
        }
        if !s.order_by.is_empty() {
            let mut keys = Vec::new();
            for (key, descending) in &s.order_by {
                match key {
                    Expr::Path(Path { root, steps }) if steps.is_empty() => {
                        keys.push(json!({ "AttributeName": root, "Descending": descending }));
                    }
                    other => return Err(validation(msg::order_by_argument(kind_of(other)))),
                }
            }
            input["StratusOrderBy"] = Json::Array(keys);
        }
        Ok(self.finish(ItemOp::Scan, input))
    }

    fn insert(&mut self, table: String, item: &Expr) -> TResult<Translated> {
        let Expr::Struct(fields) = item else { return Err(validation(msg::ITEM_SYNTAX)) };
        // Each attribute's value is its own root in messages (`root`, `root.x`, `root[1]`).
        let mut item = Map::new();
        for (key, value) in fields {
            let Expr::Lit(Lit::Str(name)) = key else {
                return Err(validation(msg::struct_key_type(&type_of(key), "root")));
            };
            if item.contains_key(name) {
                return Err(validation(msg::duplicate_struct_key(name, "root")));
            }
            item.insert(name.clone(), self.value(value, "root")?.to_json());
        }
        let input = json!({ "TableName": table, "Item": item, "StratusInsert": true });
        Ok(Translated { op: ItemOp::PutItem, input })
    }

    fn update(
        &mut self,
        table: String,
        actions: &[Action],
        filter: Option<&Expr>,
        returning: Option<Returning>,
    ) -> TResult<Translated> {
        let (key, rest) = self.split_where(filter)?;
        let update = self.update_expression(actions)?;
        let condition = self.key_condition(&key, &rest)?;
        let mut input = json!({
            "TableName": table,
            "Key": key_json(&key),
            "UpdateExpression": update,
            "ConditionExpression": condition,
        });
        if let Some(r) = returning {
            input["ReturnValues"] = json!(r.return_values());
        }
        Ok(self.finish(ItemOp::UpdateItem, input))
    }

    fn delete(&mut self, table: String, filter: Option<&Expr>, returning: Option<Returning>) -> TResult<Translated> {
        let (key, rest) = self.split_where(filter)?;
        let mut input = json!({ "TableName": table, "Key": key_json(&key) });
        if !rest.is_empty() {
            input["ConditionExpression"] = json!(self.conjunction(&rest)?);
        }
        match returning {
            None => {}
            Some(Returning::AllOld) => input["ReturnValues"] = json!("ALL_OLD"),
            Some(other) => return Err(validation(msg::returning_delete(other.words()))),
        }
        Ok(self.finish(ItemOp::DeleteItem, input))
    }

    fn exists(&mut self, s: Select) -> TResult<Translated> {
        if s.index.is_some() {
            return Err(validation(msg::INDEX_IN_TRANSACTION));
        }
        let (key, rest) = self.split_where(s.filter.as_ref())?;
        let condition = self.key_condition(&key, &rest)?;
        let input = json!({ "TableName": s.table, "Key": key_json(&key), "ConditionExpression": condition });
        Ok(self.finish(ItemOp::ConditionCheck, input))
    }

    /// The input with the placeholders handed out (DynamoDB refuses empty maps).
    fn finish(&mut self, op: ItemOp, mut input: Json) -> Translated {
        if !self.names.is_empty() {
            input["ExpressionAttributeNames"] = Json::Object(std::mem::take(&mut self.names));
        }
        if !self.values.is_empty() {
            input["ExpressionAttributeValues"] = Json::Object(std::mem::take(&mut self.values));
        }
        Translated { op, input }
    }

    // WHERE of a write: the key and the rest.

    /// The `attr = value` terms of the WHERE's top-level AND (all of them: which attributes
    /// are the key is not known here), and every other term.
    fn split_where<'e>(&mut self, filter: Option<&'e Expr>) -> TResult<(Key, Vec<&'e Expr>)> {
        let mut key: Key = Vec::new();
        let mut rest = Vec::new();
        for term in conjuncts(filter) {
            match equality(term) {
                Some((name, value)) => {
                    if key.iter().any(|(k, _)| k == name) {
                        return Err(validation(msg::multiple_key_conditions(name)));
                    }
                    let value = self.value(value, "root")?;
                    key.push((name.to_string(), value));
                }
                None => rest.push(term),
            }
        }
        if key.is_empty() {
            return Err(validation(msg::INCOMPLETE_KEY));
        }
        Ok((key, rest))
    }

    /// `attribute_exists` of every key attribute, then the rest of the WHERE.
    fn key_condition(&mut self, key: &[(String, Value)], rest: &[&Expr]) -> TResult<String> {
        let mut parts = Vec::new();
        for (name, _) in key {
            let n = self.name(name)?;
            parts.push(format!("attribute_exists({n})"));
        }
        if !rest.is_empty() {
            parts.push(self.conjunction(rest)?);
        }
        Ok(parts.join(" AND "))
    }

    /// Terms joined by AND.
    fn conjunction(&mut self, terms: &[&Expr]) -> TResult<String> {
        let mut parts = Vec::new();
        for term in terms {
            let (text, shape) = self.condition(term)?;
            parts.push(if shape == Shape::Or { format!("({text})") } else { text });
        }
        Ok(parts.join(" AND "))
    }

    /// The equalities of a SELECT's WHERE, for a caller reading by key.
    fn equalities(&mut self, filter: &Expr) -> TResult<Map<String, Json>> {
        let mut out = Map::new();
        for term in conjuncts(Some(filter)) {
            if let Some((name, value)) = equality(term)
                && !out.contains_key(name)
            {
                out.insert(name.to_string(), self.value(value, "root")?.to_json());
            }
        }
        Ok(out)
    }

    // Conditions.

    fn condition(&mut self, e: &Expr) -> TResult<(String, Shape)> {
        Ok(match e {
            Expr::And(parts) => {
                let parts: Vec<&Expr> = parts.iter().collect();
                (self.conjunction(&parts)?, Shape::And)
            }
            Expr::Or(parts) => {
                let mut texts = Vec::new();
                for part in parts {
                    texts.push(self.condition(part)?.0);
                }
                (texts.join(" OR "), Shape::Or)
            }
            Expr::Not(inner) => match inner.as_ref() {
                Expr::Is(x, t) if t.kind == Some(TypeKind::Missing) => {
                    (format!("attribute_exists({})", self.is_operand(x)?), Shape::Leaf)
                }
                _ => (format!("NOT ({})", self.condition(inner)?.0), Shape::Leaf),
            },
            Expr::Binary(op @ (Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge), a, b) => {
                let (a, b) = (self.operand(a)?, self.operand(b)?);
                (format!("{a} {} {b}", op.symbol()), Shape::Leaf)
            }
            Expr::Binary(op, ..) | Expr::Sign(op, _) => return Err(validation(msg::condition_operator(op.symbol()))),
            Expr::Between(x, low, high) => {
                let (x, low, high) = (self.operand(x)?, self.operand(low)?, self.operand(high)?);
                (format!("{x} BETWEEN {low} AND {high}"), Shape::Leaf)
            }
            Expr::In(x, list) => {
                let (Expr::Path(path), Expr::List(items)) = (x.as_ref(), list.as_ref()) else {
                    return Err(validation(msg::IN_OPERANDS));
                };
                if items.is_empty() {
                    return Err(validation(msg::IN_OPERANDS));
                }
                let path = self.path(path)?;
                let mut operands = Vec::new();
                for item in items {
                    operands.push(self.operand(item)?);
                }
                (format!("{path} IN ({})", operands.join(", ")), Shape::Leaf)
            }
            Expr::Is(x, t) => {
                let x = self.is_operand(x)?;
                let type_name = match t.kind {
                    Some(TypeKind::Missing) => return Ok((format!("attribute_not_exists({x})"), Shape::Leaf)),
                    // Unverified: how AWS reads IS NULL of an attribute that is missing (PartiQL
                    // counts MISSING as NULL); here it asks for a NULL value.
                    Some(TypeKind::Null) => "NULL",
                    Some(TypeKind::Dynamo(t)) => t,
                    None => return Err(validation(msg::is_type(&t.name))),
                };
                let v = self.placeholder(Value::S(type_name.to_string()));
                (format!("attribute_type({x}, {v})"), Shape::Leaf)
            }
            Expr::Call(name, args) => match name.as_str() {
                "begins_with" | "contains" | "attribute_type" | "attribute_exists" | "attribute_not_exists" => {
                    let mut operands = Vec::new();
                    for arg in args {
                        operands.push(self.operand(arg)?);
                    }
                    (format!("{name}({})", operands.join(", ")), Shape::Leaf)
                }
                "size" => return Err(validation(msg::NOT_BOOLEAN)),
                other => return Err(validation(msg::unrecognized_function(other))),
            },
            _ => return Err(validation(msg::NOT_BOOLEAN)),
        })
    }

    /// The operand of IS: a path.
    fn is_operand(&mut self, x: &Expr) -> TResult<String> {
        match x {
            Expr::Path(p) => self.path(p),
            // Unverified: AWS also takes a literal here (its message says so); a condition on
            // constants alone has no form in the expression language.
            _ => Err(validation(msg::IS_OPERAND)),
        }
    }

    /// An operand of a comparison or function: a path, a value or `size(path)`.
    fn operand(&mut self, e: &Expr) -> TResult<String> {
        match e {
            Expr::Path(p) => self.path(p),
            Expr::Lit(Lit::Missing) => Err(validation(msg::MISSING_LITERAL)),
            Expr::Call(name, args) if name == "size" => {
                let mut operands = Vec::new();
                for arg in args {
                    operands.push(self.operand(arg)?);
                }
                Ok(format!("size({})", operands.join(", ")))
            }
            Expr::Call(name, _) => Err(validation(msg::unrecognized_function(name))),
            Expr::Binary(op, ..) | Expr::Sign(op, _) => Err(validation(msg::condition_operator(op.symbol()))),
            e if is_value(e) => {
                let v = self.value(e, "root")?;
                Ok(self.placeholder(v))
            }
            other => Err(validation(msg::condition_operator(kind_of(other)))),
        }
    }

    // Updates.

    fn update_expression(&mut self, actions: &[Action]) -> TResult<String> {
        let (mut set, mut remove, mut add, mut delete) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for action in actions {
            match action {
                Action::Set(target, Expr::Call(f, args)) if f == "set_add" || f == "set_delete" => {
                    let function = if f == "set_add" { "ADD" } else { "DELETE" };
                    let [first, second] = args.as_slice() else {
                        return Err(validation(msg::set_function_arguments(function)));
                    };
                    if !matches!(first, Expr::Path(p) if p == target) {
                        return Err(validation(msg::set_function_first(function)));
                    }
                    let set_value = match second {
                        Expr::Bag(_) | Expr::Param(_) => self.value(second, "root")?,
                        _ => return Err(validation(msg::set_function_second(function))),
                    };
                    if !matches!(set_value, Value::Ss(_) | Value::Ns(_) | Value::Bs(_)) {
                        return Err(validation(msg::set_function_second(function)));
                    }
                    let text = format!("{} {}", self.path(target)?, self.placeholder(set_value));
                    if function == "ADD" { add.push(text) } else { delete.push(text) }
                }
                Action::Set(target, value) => {
                    let target = self.path(target)?;
                    set.push(format!("{target} = {}", self.set_value(value)?));
                }
                Action::Remove(target) => remove.push(self.path(target)?),
            }
        }
        let sections: Vec<String> = [("SET", set), ("REMOVE", remove), ("ADD", add), ("DELETE", delete)]
            .into_iter()
            .filter(|(_, actions)| !actions.is_empty())
            .map(|(keyword, actions)| format!("{keyword} {}", actions.join(", ")))
            .collect();
        Ok(sections.join(" "))
    }

    fn set_value(&mut self, e: &Expr) -> TResult<String> {
        match e {
            Expr::Binary(op @ (Op::Plus | Op::Minus), a, b) => {
                let (a, b) = (self.set_operand(a)?, self.set_operand(b)?);
                Ok(format!("{a} {} {b}", op.symbol()))
            }
            _ => self.set_operand(e),
        }
    }

    fn set_operand(&mut self, e: &Expr) -> TResult<String> {
        match e {
            Expr::Path(p) => self.path(p),
            Expr::Call(name, args) if name == "list_append" || name == "if_not_exists" => {
                let mut operands = Vec::new();
                for arg in args {
                    operands.push(self.set_operand(arg)?);
                }
                Ok(format!("{name}({})", operands.join(", ")))
            }
            Expr::Call(name, _) if name == "set_add" || name == "set_delete" => {
                Err(validation(msg::update_operator(&name.to_ascii_uppercase())))
            }
            Expr::Call(name, _) => Err(validation(msg::unrecognized_function(name))),
            Expr::Is(..) => Err(validation(msg::IS_IN_UPDATE)),
            Expr::Not(inner) if matches!(inner.as_ref(), Expr::Is(..)) => Err(validation(msg::IS_IN_UPDATE)),
            Expr::Binary(op, ..) | Expr::Sign(op, _) => Err(validation(msg::update_operator(op.symbol()))),
            e if is_value(e) || matches!(e, Expr::Lit(Lit::Missing)) => {
                let v = self.value(e, "root")?;
                Ok(self.placeholder(v))
            }
            other => Err(validation(msg::update_operator(kind_of(other)))),
        }
    }

    // Names, paths and values.

    fn name(&mut self, attr: &str) -> TResult<String> {
        if attr.is_empty() {
            return Err(validation(msg::EMPTY_PATH_COMPONENT));
        }
        if let Some(n) = self.name_of.get(attr) {
            return Ok(n.clone());
        }
        let n = format!("#p{}", self.names.len());
        self.names.insert(n.clone(), json!(attr));
        self.name_of.insert(attr.to_string(), n.clone());
        Ok(n)
    }

    fn path(&mut self, p: &Path) -> TResult<String> {
        let mut text = self.name(&p.root)?;
        for step in &p.steps {
            match step {
                Step::Name(n) => {
                    text.push('.');
                    text.push_str(&self.name(n)?);
                }
                Step::Index(i) => text.push_str(&format!("[{i}]")),
            }
        }
        Ok(text)
    }

    fn placeholder(&mut self, v: Value) -> String {
        let key = format!(":p{}", self.values.len());
        self.values.insert(key.clone(), v.to_json());
        key
    }

    /// A literal (or parameter) as an attribute value; `at` names where it is for messages,
    /// as AWS does (`root`, `root.m`, `root[1]`).
    fn value(&self, e: &Expr, at: &str) -> TResult<Value> {
        Ok(match e {
            Expr::Lit(Lit::Str(s)) => Value::S(s.clone()),
            Expr::Lit(Lit::Num(text)) => Value::N(number(text, at)?),
            Expr::Lit(Lit::Bool(b)) => Value::Bool(*b),
            Expr::Lit(Lit::Null) => Value::Null,
            Expr::Lit(Lit::Missing) => return Err(validation(msg::unsupported_data_type("MISSING", at))),
            Expr::Param(i) => match self.params.get(*i) {
                Some(v) => v.clone(),
                None => return Err(validation(msg::PARAMETER_COUNT)),
            },
            Expr::List(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    out.push(self.value(item, &format!("{at}[{i}]"))?);
                }
                Value::L(out)
            }
            Expr::Struct(fields) => Value::M(self.struct_value(fields, at)?),
            Expr::Bag(items) => set(items, at)?,
            other => return Err(validation(msg::unsupported_data_type(&kind_of(other).to_ascii_uppercase(), at))),
        })
    }

    fn struct_value(&self, fields: &[(Expr, Expr)], at: &str) -> TResult<std::collections::BTreeMap<String, Value>> {
        let mut out = std::collections::BTreeMap::new();
        for (key, value) in fields {
            let Expr::Lit(Lit::Str(name)) = key else {
                return Err(validation(msg::struct_key_type(&type_of(key), at)));
            };
            if out.contains_key(name) {
                return Err(validation(msg::duplicate_struct_key(name, at)));
            }
            let value = self.value(value, &format!("{at}.{name}"))?;
            out.insert(name.clone(), value);
        }
        Ok(out)
    }
}

/// The terms of an expression's top-level AND.
fn conjuncts(filter: Option<&Expr>) -> Vec<&Expr> {
    match filter {
        None => Vec::new(),
        Some(Expr::And(parts)) => parts.iter().collect(),
        Some(e) => vec![e],
    }
}

/// `attr = value` (or `value = attr`) on a top-level attribute.
fn equality(e: &Expr) -> Option<(&str, &Expr)> {
    let Expr::Binary(Op::Eq, a, b) = e else { return None };
    match (a.as_ref(), b.as_ref()) {
        (Expr::Path(Path { root, steps }), v) | (v, Expr::Path(Path { root, steps }))
            if steps.is_empty() && is_value(v) =>
        {
            Some((root.as_str(), v))
        }
        _ => None,
    }
}

/// Whether an expression is a value: literals, parameters and collections of them.
fn is_value(e: &Expr) -> bool {
    match e {
        Expr::Lit(l) => *l != Lit::Missing,
        Expr::Param(_) => true,
        Expr::List(items) | Expr::Bag(items) => items.iter().all(is_value),
        Expr::Struct(fields) => fields.iter().all(|(k, v)| matches!(k, Expr::Lit(Lit::Str(_))) && is_value(v)),
        _ => false,
    }
}

fn key_json(key: &[(String, Value)]) -> Json {
    Json::Object(key.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

/// PartiQL's name of a literal's type (for messages; unverified).
fn type_of(e: &Expr) -> String {
    match e {
        Expr::Lit(Lit::Num(t)) if t.contains(['.', 'e', 'E']) => "DECIMAL".into(),
        Expr::Lit(Lit::Num(_)) => "INT".into(),
        Expr::Lit(Lit::Bool(_)) => "BOOL".into(),
        Expr::Lit(Lit::Null) => "NULL".into(),
        Expr::Lit(Lit::Missing) => "MISSING".into(),
        Expr::Lit(Lit::Str(_)) => "STRING".into(),
        other => kind_of(other).to_ascii_uppercase(),
    }
}

/// The name a projected path's value comes back under: its last name and any indexes after it
/// (`m.k[1]` is `k[1]`), as DynamoDB names it.
fn output_name(p: &Path) -> String {
    let last_name = p.steps.iter().rposition(|s| matches!(s, Step::Name(_)));
    let (mut name, rest) = match last_name {
        Some(i) => (
            match &p.steps[i] {
                Step::Name(n) => n.clone(),
                Step::Index(_) => String::new(),
            },
            &p.steps[i + 1..],
        ),
        None => (p.root.clone(), &p.steps[..]),
    };
    for step in rest {
        if let Step::Index(i) = step {
            name.push_str(&format!("[{i}]"));
        }
    }
    name
}

/// A path as JSON: names as strings, indexes as numbers.
fn path_json(p: &Path) -> Json {
    let mut out = vec![json!(p.root)];
    for step in &p.steps {
        out.push(match step {
            Step::Name(n) => json!(n),
            Step::Index(i) => json!(i),
        });
    }
    Json::Array(out)
}

/// A number literal (the lexer has checked its exponent fits 32 bits); DynamoDB's range and
/// precision errors name where it is.
fn number(text: &str, at: &str) -> TResult<Number> {
    let under = |m: String| validation(format!("{m} under {at}"));
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (text, 0),
    };
    // Number::parse reads exponents of up to six digits; beyond that (and within the 8 KB of
    // a statement) only zero is in range.
    if exponent.abs() >= 1_000_000 {
        if !mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
            return Ok(Number::zero());
        }
        return Err(under(
            if exponent > 0 {
                "Number overflow. Attempting to store a number with magnitude larger than supported range"
            } else {
                "Number underflow. Attempting to store a number with magnitude smaller than supported range"
            }
            .to_string(),
        ));
    }
    Number::parse(&format!("{mantissa}e{exponent}")).map_err(under)
}

/// A bag literal as a string or number set.
fn set(items: &[Expr], at: &str) -> TResult<Value> {
    if items.is_empty() {
        return Err(validation(msg::EMPTY_BAG));
    }
    let value = if items.iter().all(|e| matches!(e, Expr::Lit(Lit::Str(_)))) {
        let strings: Vec<String> = items
            .iter()
            .filter_map(|e| match e {
                Expr::Lit(Lit::Str(s)) => Some(s.clone()),
                _ => None,
            })
            .collect();
        if has_duplicates(&strings) {
            return Err(validation(msg::BAG_DUPLICATES));
        }
        Value::Ss(strings)
    } else if items.iter().all(|e| matches!(e, Expr::Lit(Lit::Num(_)))) {
        let mut numbers = Vec::new();
        for e in items {
            if let Expr::Lit(Lit::Num(text)) = e {
                numbers.push(number(text, at)?);
            }
        }
        if has_duplicates(&numbers) {
            return Err(validation(msg::BAG_DUPLICATES));
        }
        Value::Ns(numbers)
    } else {
        return Err(validation(msg::BAG_TYPE));
    };
    Ok(value)
}

fn has_duplicates<T: PartialEq>(items: &[T]) -> bool {
    items.iter().enumerate().any(|(i, x)| items[..i].contains(x))
}
