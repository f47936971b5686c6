//! Java-like methods and properties on built-in values (`String`, `List`, `Map`, numbers), the
//! ones mapping templates commonly call. A method that does not exist yields `Null`, which the
//! renderer shows as the literal reference, as Velocity does.

use crate::regex::Regex;
use crate::render::velocity_eq;
use crate::{Error, MAX_OUTPUT, Value};

fn capitalize(name: &str) -> String {
    let mut c = name.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn decapitalize(name: &str) -> String {
    let mut c = name.chars();
    c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
}

/// `$v.name`: a map key first, then the zero-argument methods `name()`, `getName()`, `isName()`.
pub(crate) fn get_property(v: &Value, name: &str) -> Result<Value, Error> {
    match v {
        Value::Null => return Ok(Value::Null),
        Value::Map(m) => {
            if let Some(found) = m.try_borrow().ok().and_then(|m| m.get(name).cloned()) {
                return Ok(found);
            }
        }
        Value::Object(o) => {
            if let Some(found) = o.get(name) {
                return Ok(found);
            }
        }
        _ => {}
    }
    let cap = capitalize(name);
    for candidate in [name.to_string(), format!("get{cap}"), format!("is{cap}")] {
        let r = call_method(v, &candidate, &[])?;
        if !r.is_null() {
            return Ok(r);
        }
    }
    Ok(Value::Null)
}

/// `$v[idx]`: list position or map key.
pub(crate) fn index_value(v: &Value, idx: &Value) -> Value {
    match (v, idx) {
        (Value::List(l), Value::Int(i)) => l
            .try_borrow()
            .ok()
            .and_then(|l| usize::try_from(*i).ok().and_then(|i| l.get(i).cloned()))
            .unwrap_or_default(),
        (Value::Map(m), k) => m.try_borrow().ok().and_then(|m| m.get(&k.to_java_string()).cloned()).unwrap_or_default(),
        (Value::Object(o), k) => o.get(&k.to_java_string()).unwrap_or_default(),
        _ => Value::Null,
    }
}

fn int_arg(args: &[Value], i: usize) -> Option<i64> {
    match args.get(i)? {
        Value::Int(n) => Some(*n),
        Value::Float(f) => Some(*f as i64),
        _ => None,
    }
}

fn str_arg(args: &[Value], i: usize) -> Option<String> {
    match args.get(i)? {
        Value::Null => None,
        v => Some(v.to_java_string()),
    }
}

fn checked(s: String) -> Result<Value, Error> {
    if s.len() > MAX_OUTPUT {
        return Err(Error::Limit("string value too large".into()));
    }
    Ok(Value::String(s))
}

fn out_of_range(what: &str) -> Error {
    Error::render(format!("{what}: index out of range"))
}

/// `$v.name(args)`; `Ok(Null)` when there is no such method.
pub(crate) fn call_method(v: &Value, name: &str, args: &[Value]) -> Result<Value, Error> {
    let r = match v {
        Value::Null => Value::Null,
        Value::String(s) => string_method(s, name, args)?,
        Value::List(l) => {
            let r = list_method(l, name, args)?;
            if r.is_null() { common(v, name, args) } else { r }
        }
        Value::Map(m) => {
            let r = map_method(m, name, args)?;
            if !r.is_null() {
                r
            } else if args.is_empty() {
                // Java-bean style access to keys: `$entry.getKey()`, `$foreach.hasNext()`.
                let key = name.strip_prefix("get").or_else(|| name.strip_prefix("is")).map(decapitalize);
                let found = m
                    .try_borrow()
                    .ok()
                    .and_then(|m| m.get(name).or_else(|| key.as_deref().and_then(|k| m.get(k))).cloned());
                found.unwrap_or_else(|| common(v, name, args))
            } else {
                common(v, name, args)
            }
        }
        Value::Int(_) | Value::Float(_) => match (name, v) {
            ("intValue" | "longValue" | "shortValue", Value::Float(f)) => Value::Int(*f as i64),
            ("intValue" | "longValue" | "shortValue", _) => v.clone(),
            ("doubleValue" | "floatValue", _) => Value::Float(v.as_f64().unwrap_or_default()),
            _ => common(v, name, args),
        },
        Value::Bool(_) if name == "booleanValue" => v.clone(),
        Value::Object(o) => o.call(name, args)?.unwrap_or_default(),
        _ => common(v, name, args),
    };
    Ok(r)
}

fn common(v: &Value, name: &str, args: &[Value]) -> Value {
    match (name, args) {
        ("toString", []) => Value::String(v.to_java_string()),
        ("equals", [o]) => Value::Bool(velocity_eq(v, o) && std::mem::discriminant(v) == std::mem::discriminant(o)),
        _ => Value::Null,
    }
}

fn string_method(s: &str, name: &str, args: &[Value]) -> Result<Value, Error> {
    let chars = || s.chars().collect::<Vec<char>>();
    let char_index = |byte: usize| s[..byte].chars().count() as i64;
    let a0 = str_arg(args, 0);
    Ok(match (name, args.len()) {
        ("length" | "size", 0) => Value::Int(s.chars().count() as i64),
        ("isEmpty", 0) => Value::Bool(s.is_empty()),
        ("toString" | "trim" | "toLowerCase" | "toUpperCase" | "strip", 0) => Value::String(match name {
            "trim" | "strip" => s.trim().to_string(),
            "toLowerCase" => s.to_lowercase(),
            "toUpperCase" => s.to_uppercase(),
            _ => s.to_string(),
        }),
        ("isBlank", 0) => Value::Bool(s.trim().is_empty()),
        ("contains", 1) => a0.map_or(Value::Null, |a| Value::Bool(s.contains(&a))),
        ("startsWith", 1) => a0.map_or(Value::Null, |a| Value::Bool(s.starts_with(&a))),
        ("endsWith", 1) => a0.map_or(Value::Null, |a| Value::Bool(s.ends_with(&a))),
        ("equals", 1) => Value::Bool(matches!(&args[0], Value::String(o) if o == s)),
        ("equalsIgnoreCase", 1) => {
            Value::Bool(matches!(&args[0], Value::String(o) if o.to_lowercase() == s.to_lowercase()))
        }
        ("indexOf", 1 | 2) => {
            let Some(a) = a0 else { return Ok(Value::Null) };
            let from = int_arg(args, 1).unwrap_or(0).max(0) as usize;
            let cs = chars();
            let skip: usize = cs.iter().take(from).map(|c| c.len_utf8()).sum();
            match s.get(skip..).and_then(|rest| rest.find(&a)) {
                Some(b) => Value::Int(char_index(skip + b)),
                None => Value::Int(-1),
            }
        }
        ("lastIndexOf", 1) => match a0 {
            Some(a) => Value::Int(s.rfind(&a).map_or(-1, char_index)),
            None => Value::Null,
        },
        ("charAt", 1) => {
            let i = int_arg(args, 0).ok_or_else(|| Error::render("charAt needs an int"))?;
            let c = usize::try_from(i).ok().and_then(|i| s.chars().nth(i)).ok_or_else(|| out_of_range("charAt"))?;
            Value::String(c.to_string())
        }
        ("substring", 1 | 2) => {
            let cs = chars();
            let len = cs.len() as i64;
            let (Some(a), b) = (int_arg(args, 0), if args.len() == 2 { int_arg(args, 1) } else { Some(len) }) else {
                return Ok(Value::Null);
            };
            let b = b.ok_or_else(|| Error::render("substring needs int arguments"))?;
            if a < 0 || b > len || a > b {
                return Err(out_of_range("substring"));
            }
            Value::String(cs[a as usize..b as usize].iter().collect())
        }
        ("concat", 1) => match a0 {
            Some(a) => checked(format!("{s}{a}"))?,
            None => Value::Null,
        },
        ("replace", 2) => match (a0, str_arg(args, 1)) {
            (Some(a), Some(b)) if !a.is_empty() => checked(s.replace(&a, &b))?,
            (Some(_), Some(b)) => {
                // Java inserts the replacement between every character for an empty target.
                let mut out = b.clone();
                for c in s.chars() {
                    out.push(c);
                    out.push_str(&b);
                }
                checked(out)?
            }
            _ => Value::Null,
        },
        ("replaceAll" | "replaceFirst", 2) => match (a0, str_arg(args, 1)) {
            (Some(re), Some(rep)) => {
                let limit = if name == "replaceAll" { usize::MAX } else { 1 };
                checked(Regex::new(&re)?.replace(s, &rep, limit)?)?
            }
            _ => Value::Null,
        },
        ("matches", 1) => match a0 {
            Some(re) => Value::Bool(Regex::new(&re)?.is_full_match(s)?),
            None => Value::Null,
        },
        ("split", 1) => match a0 {
            Some(re) => Value::list(Regex::new(&re)?.split(s)?.into_iter().map(Value::String).collect()),
            None => Value::Null,
        },
        _ => Value::Null,
    })
}

fn list_method(l: &crate::List, name: &str, args: &[Value]) -> Result<Value, Error> {
    let busy = || Error::render("list is being modified");
    if matches!(name, "add" | "set" | "remove" | "clear" | "addAll") {
        let mut items = l.try_borrow_mut().map_err(|_| busy())?;
        return Ok(match (name, args) {
            ("add", [x]) => {
                items.push(x.clone());
                Value::Bool(true)
            }
            ("add", [Value::Int(i), x]) => {
                let i = usize::try_from(*i).ok().filter(|i| *i <= items.len()).ok_or_else(|| out_of_range("add"))?;
                items.insert(i, x.clone());
                Value::Bool(true)
            }
            ("set", [Value::Int(i), x]) => {
                let slot =
                    usize::try_from(*i).ok().and_then(|i| items.get_mut(i)).ok_or_else(|| out_of_range("set"))?;
                std::mem::replace(slot, x.clone())
            }
            ("remove", [Value::Int(i)]) => {
                let i = usize::try_from(*i).ok().filter(|i| *i < items.len()).ok_or_else(|| out_of_range("remove"))?;
                items.remove(i)
            }
            ("remove", [x]) => match items.iter().position(|y| y.java_equals(x)) {
                Some(i) => {
                    items.remove(i);
                    Value::Bool(true)
                }
                None => Value::Bool(false),
            },
            ("clear", []) => {
                items.clear();
                Value::Bool(true)
            }
            ("addAll", [Value::List(other)]) => {
                let extra: Vec<Value> = if std::rc::Rc::ptr_eq(l, other) {
                    items.clone()
                } else {
                    other.try_borrow().map_err(|_| busy())?.clone()
                };
                items.extend(extra);
                Value::Bool(true)
            }
            _ => Value::Null,
        });
    }
    let items = l.try_borrow().map_err(|_| busy())?;
    Ok(match (name, args) {
        ("size", []) => Value::Int(items.len() as i64),
        ("isEmpty", []) => Value::Bool(items.is_empty()),
        ("get", [Value::Int(i)]) => {
            usize::try_from(*i).ok().and_then(|i| items.get(i).cloned()).ok_or_else(|| out_of_range("get"))?
        }
        ("contains", [x]) => Value::Bool(items.iter().any(|y| y.java_equals(x))),
        ("indexOf", [x]) => Value::Int(items.iter().position(|y| y.java_equals(x)).map_or(-1, |i| i as i64)),
        _ => Value::Null,
    })
}

fn map_method(m: &crate::Map, name: &str, args: &[Value]) -> Result<Value, Error> {
    let busy = || Error::render("map is being modified");
    let key = |i: usize| str_arg(args, i).unwrap_or_else(|| "null".into());
    if matches!(name, "put" | "remove" | "clear" | "putAll") {
        let mut map = m.try_borrow_mut().map_err(|_| busy())?;
        return Ok(match (name, args) {
            // `put` returns the previous value (null when none), like Java.
            ("put", [_, v]) => map.insert(key(0), v.clone()).unwrap_or_default(),
            ("remove", [_]) => map.remove(&key(0)).unwrap_or_default(),
            ("clear", []) => {
                map.clear();
                Value::Null
            }
            ("putAll", [Value::Map(other)]) => {
                if !std::rc::Rc::ptr_eq(m, other) {
                    let other = other.try_borrow().map_err(|_| busy())?;
                    for (k, v) in other.iter() {
                        map.insert(k.clone(), v.clone());
                    }
                }
                Value::Null
            }
            _ => Value::Null,
        });
    }
    let map = m.try_borrow().map_err(|_| busy())?;
    Ok(match (name, args) {
        ("size", []) => Value::Int(map.len() as i64),
        ("isEmpty", []) => Value::Bool(map.is_empty()),
        ("get", [_]) => map.get(&key(0)).cloned().unwrap_or_default(),
        ("getOrDefault", [_, d]) => map.get(&key(0)).cloned().unwrap_or_else(|| d.clone()),
        ("containsKey", [_]) => Value::Bool(map.contains_key(&key(0))),
        ("containsValue", [x]) => Value::Bool(map.iter().any(|(_, v)| v.java_equals(x))),
        ("keySet", []) => Value::list(map.iter().map(|(k, _)| Value::String(k.clone())).collect()),
        ("values", []) => Value::list(map.iter().map(|(_, v)| v.clone()).collect()),
        ("entrySet", []) => Value::list(
            map.iter().map(|(k, v)| Value::map([("key", Value::String(k.clone())), ("value", v.clone())])).collect(),
        ),
        _ => Value::Null,
    })
}
