//! Query and Scan: a key range of the table or of an index read in key order (Query may read it
//! backwards, chunk by chunk from its end), `Limit` items or 1 MB evaluated per page, then `FilterExpression`, projection and
//! `Select`; `ExclusiveStartKey` / `LastEvaluatedKey` name the last item evaluated.

use serde_json::{Value as Json, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, prefix_end};

use crate::errors::{invalid, validation};
use crate::expr::{self, ExprKind, SortCondition};
use crate::items::{decode, expr_error, placeholders, project, projection_of, table_for};
use crate::table::{IndexRecord, KeySchema, TableRecord};
use crate::tables::table_name;
use crate::value::{Item, Value, item_from_json, item_size, item_to_json};
use crate::{Inner, capacity, keys};

/// How much a page may read.
const PAGE_BYTES: usize = 1024 * 1024;

fn s<'a>(v: &'a Json, member: &str) -> Option<&'a str> {
    v.get(member).and_then(Json::as_str)
}

/// What a read goes over: the table or one of its indexes.
struct Source<'a> {
    table: &'a TableRecord,
    index: Option<&'a IndexRecord>,
}

impl Source<'_> {
    fn key(&self) -> &KeySchema {
        self.index.map_or(&self.table.key, |i| &i.key)
    }

    fn prefix(&self) -> Vec<u8> {
        match self.index {
            Some(i) => keys::index(self.table.id, i.number),
            None => keys::items(self.table.id),
        }
    }

    /// The store key of an entry from its key attributes (the index's, then the table's).
    fn entry_key(&self, item: &Item) -> Option<Vec<u8>> {
        let mut k = self.prefix();
        for name in self.key().names() {
            keys::push_value(&mut k, item.get(name)?);
        }
        if self.index.is_some() {
            for name in self.table.key.names() {
                keys::push_value(&mut k, item.get(name)?);
            }
        }
        Some(k)
    }

    /// The key attributes of an entry (`LastEvaluatedKey`).
    fn key_of(&self, item: &Item) -> Item {
        let mut names = self.key().names();
        if self.index.is_some() {
            names.extend(self.table.key.names());
        }
        names.into_iter().filter_map(|n| item.get(n).map(|v| (n.to_string(), v.clone()))).collect()
    }
}

fn source<'a>(table: &'a TableRecord, input: &Json) -> Result<Source<'a>, AwsError> {
    let index = match s(input, "IndexName") {
        Some(n) => Some(
            table.index(n).ok_or_else(|| validation(format!("The table does not have the specified index: {n}")))?,
        ),
        None => None,
    };
    if index.is_some_and(|i| table.gsis.iter().any(|g| g.name == i.name))
        && input.get("ConsistentRead").and_then(Json::as_bool) == Some(true)
    {
        return Err(validation("Consistent reads are not supported on global secondary indexes"));
    }
    Ok(Source { table, index })
}

/// `Select` and what it implies.
fn select(input: &Json, src: &Source<'_>, has_projection: bool) -> Result<String, AwsError> {
    let select = s(input, "Select").map(str::to_string).unwrap_or_else(|| {
        if has_projection {
            "SPECIFIC_ATTRIBUTES".into()
        } else if src.index.is_some() {
            "ALL_PROJECTED_ATTRIBUTES".into()
        } else {
            "ALL_ATTRIBUTES".into()
        }
    });
    match select.as_str() {
        "SPECIFIC_ATTRIBUTES" if !has_projection => Err(validation(
            "One or more parameter values were invalid: Select type SPECIFIC_ATTRIBUTES requires ProjectionExpression or AttributesToGet",
        )),
        "ALL_ATTRIBUTES" | "ALL_PROJECTED_ATTRIBUTES" | "COUNT" if has_projection => Err(validation(format!(
            "One or more parameter values were invalid: Cannot specify the Select value {select} when ProjectionExpression or AttributesToGet is specified"
        ))),
        "ALL_PROJECTED_ATTRIBUTES" if src.index.is_none() => Err(validation(
            "One or more parameter values were invalid: ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
        )),
        "ALL_ATTRIBUTES"
            if src
                .index
                .is_some_and(|i| i.projection.kind != "ALL" && src.table.gsis.iter().any(|g| g.name == i.name)) =>
        {
            Err(validation(format!(
                "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index {} because its projection type is not ALL",
                src.index.map_or("", |i| i.name.as_str())
            )))
        }
        "SPECIFIC_ATTRIBUTES" | "ALL_ATTRIBUTES" | "ALL_PROJECTED_ATTRIBUTES" | "COUNT" => Ok(select),
        other => Err(validation(format!(
            "1 validation error detected: Value '{other}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
        ))),
    }
}

/// The key range `[start, end)` a key condition covers.
fn key_range(src: &Source<'_>, kc: &expr::KeyCondition) -> Result<(Vec<u8>, Option<Vec<u8>>), AwsError> {
    let key = src.key();
    let (pk_name, pk_value) = &kc.partition;
    if pk_name != &key.hash {
        return Err(validation(format!("Query condition missed key schema element: {}", key.hash)));
    }
    let typed = |name: &str, v: &Value| -> Result<(), AwsError> {
        if src.table.attributes.get(name).map(String::as_str) != Some(v.type_name()) {
            return Err(invalid("Condition parameter type does not match schema type"));
        }
        Ok(())
    };
    typed(pk_name, pk_value)?;
    let mut prefix = src.prefix();
    keys::push_value(&mut prefix, pk_value);
    let Some((sk_name, cond)) = &kc.sort else {
        let end = prefix_end(&prefix);
        return Ok((prefix, end));
    };
    if Some(sk_name) != key.range.as_ref() {
        return Err(validation(format!(
            "Query condition missed key schema element: {}",
            key.range.as_deref().unwrap_or(sk_name)
        )));
    }
    let with = |v: &Value| -> Result<Vec<u8>, AwsError> {
        typed(sk_name, v)?;
        let mut k = prefix.clone();
        keys::push_value(&mut k, v);
        Ok(k)
    };
    let after = |k: Vec<u8>| prefix_end(&k).unwrap_or(k);
    let whole_end = prefix_end(&prefix);
    Ok(match cond {
        SortCondition::Eq(v) => {
            let k = with(v)?;
            let end = prefix_end(&k);
            (k, end)
        }
        SortCondition::Lt(v) => (prefix.clone(), Some(with(v)?)),
        SortCondition::Le(v) => (prefix.clone(), Some(after(with(v)?))),
        SortCondition::Gt(v) => (after(with(v)?), whole_end),
        SortCondition::Ge(v) => (with(v)?, whole_end),
        SortCondition::Between(a, b) => {
            if (a.type_name(), b.type_name()) == ("N", "N") || a.type_name() == b.type_name() {
                (with(a)?, Some(after(with(b)?)))
            } else {
                return Err(invalid("Condition parameter type does not match schema type"));
            }
        }
        SortCondition::BeginsWith(v) => {
            typed(sk_name, v)?;
            let mut k = prefix.clone();
            let mut full = Vec::new();
            keys::push_value(&mut full, v);
            // The encoding without its terminator: every longer value starts with it.
            k.extend_from_slice(&full[..full.len().saturating_sub(2)]);
            if matches!(v, Value::N(_)) {
                return Err(validation(
                    "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
                ));
            }
            let end = prefix_end(&k);
            (k, end)
        }
    })
}

/// One page of entries in `[start, end)`, forwards or backwards, after `exclusive_start`.
struct Page {
    items: Vec<Item>,
    scanned: usize,
    bytes: usize,
    last: Option<Item>,
}

#[allow(clippy::too_many_arguments)]
fn read_page(
    r: &mut dyn ReadTxn,
    src: &Source<'_>,
    start: Vec<u8>,
    end: Option<Vec<u8>>,
    exclusive_start: Option<Vec<u8>>,
    forward: bool,
    limit: Option<usize>,
    keep: &Keep<'_>,
) -> Result<Page, AwsError> {
    let (mut start, mut end) = (start, end);
    if let Some(k) = exclusive_start {
        if forward {
            let mut after = k;
            after.push(0);
            start = start.max(after);
        } else {
            end = Some(end.map_or(k.clone(), |e| e.min(k)));
        }
    }
    let mut page = Page { items: Vec::new(), scanned: 0, bytes: 0, last: None };
    let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    if forward {
        let mut from = start;
        loop {
            let chunk = r.scan(&from, end.as_deref(), 256)?;
            let done = chunk.len() < 256;
            for (k, v) in chunk {
                from = k.clone();
                from.push(0);
                entries.push((k, v));
                if visit(&mut page, &mut entries, src, limit, keep)? {
                    return Ok(page);
                }
            }
            if done {
                break;
            }
        }
    } else {
        // Backwards: chunks from the end of the range down.
        let mut below = end;
        loop {
            let chunk = r.scan_rev(&start, below.as_deref(), 256)?;
            let done = chunk.len() < 256;
            for (k, v) in chunk {
                below = Some(k.clone());
                entries.push((k, v));
                if visit(&mut page, &mut entries, src, limit, keep)? {
                    return Ok(page);
                }
            }
            if done {
                break;
            }
        }
    }
    page.last = None;
    Ok(page)
}

/// Which entries a read covers (a parallel scan's segment) and which it returns (the filter).
struct Keep<'a> {
    in_scope: &'a dyn Fn(&Item) -> bool,
    filter: &'a dyn Fn(&Item) -> bool,
}

/// Takes the entry just pushed; returns whether the page is full.
fn visit(
    page: &mut Page,
    entries: &mut Vec<(Vec<u8>, Vec<u8>)>,
    src: &Source<'_>,
    limit: Option<usize>,
    keep: &Keep<'_>,
) -> Result<bool, AwsError> {
    let Some((_, v)) = entries.pop() else { return Ok(false) };
    let item = decode(&v)?;
    if !(keep.in_scope)(&item) {
        return Ok(false);
    }
    page.scanned += 1;
    page.bytes += item_size(&item);
    let key = src.key_of(&item);
    if (keep.filter)(&item) {
        page.items.push(item);
    }
    let full = limit.is_some_and(|l| page.scanned >= l) || page.bytes >= PAGE_BYTES;
    if full {
        page.last = Some(key);
    }
    Ok(full)
}

fn limit_of(input: &Json) -> Result<Option<usize>, AwsError> {
    match input.get("Limit").and_then(Json::as_i64) {
        Some(l) if l < 1 => Err(validation(format!(
            "1 validation error detected: Value '{l}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ))),
        Some(l) => Ok(Some(l as usize)),
        None => Ok(None),
    }
}

fn exclusive_start(input: &Json, src: &Source<'_>) -> Result<Option<Vec<u8>>, AwsError> {
    let Some(v) = input.get("ExclusiveStartKey") else { return Ok(None) };
    let key = item_from_json(v).map_err(validation)?;
    src.entry_key(&key).map(Some).ok_or_else(|| {
        validation("The provided starting key is invalid: The provided key element does not match the schema")
    })
}

/// The answer: items (projected, or only their count), counts, `LastEvaluatedKey`.
fn answer(
    input: &Json,
    src: &Source<'_>,
    page: Page,
    projection: &Option<expr::Projection>,
    select: &str,
    consistent: bool,
) -> Json {
    let mut out = json!({"Count": page.items.len(), "ScannedCount": page.scanned});
    let Some(o) = out.as_object_mut() else { return out };
    if select != "COUNT" {
        let items: Vec<Json> = page.items.iter().map(|i| item_to_json(&project(projection, i))).collect();
        o.insert("Items".into(), Json::Array(items));
    }
    if let Some(last) = &page.last {
        o.insert("LastEvaluatedKey".into(), item_to_json(last));
    }
    let units = capacity::read_units(page.bytes, consistent);
    if let Some(c) = capacity::consumed(input, src.table, units, false) {
        o.insert("ConsumedCapacity".into(), c);
    }
    out
}

pub async fn query(i: &Inner, ctx: &RequestContext, mut input: Json) -> Result<Json, AwsError> {
    crate::legacy::translate(&mut input)?;
    let name = table_name(&input)?;
    let mut p = placeholders(&input)?;
    let kc_text = s(&input, "KeyConditionExpression").ok_or_else(|| {
        validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
    })?;
    let kc = expr::parse_key_condition(kc_text, &mut p).map_err(expr_error)?;
    let filter = match s(&input, "FilterExpression") {
        Some(f) => Some(expr::parse_condition(f, ExprKind::Filter, &mut p).map_err(expr_error)?),
        None => None,
    };
    let projection = projection_of(&input, &mut p)?;
    p.check_all_used().map_err(expr_error)?;
    let limit = limit_of(&input)?;
    let forward = input.get("ScanIndexForward").and_then(Json::as_bool).unwrap_or(true);
    let consistent = input.get("ConsistentRead").and_then(Json::as_bool).unwrap_or(false);
    let ctx = crate::tables::scoped(ctx, &input);
    i.read(move |r| {
        let table = table_for(r, &ctx, &name)?;
        let src = source(&table, &input)?;
        let select = select(&input, &src, projection.is_some())?;
        let (start, end) = key_range(&src, &kc)?;
        let esk = exclusive_start(&input, &src)?;
        let filter = |item: &Item| filter.as_ref().is_none_or(|f| f.eval(item).unwrap_or(false));
        let keep = Keep { in_scope: &|_| true, filter: &filter };
        let page = read_page(r, &src, start, end, esk, forward, limit, &keep)?;
        Ok(answer(&input, &src, page, &projection, &select, consistent))
    })
    .await
}

/// The segment of a parallel scan an item belongs to: a hash of its partition key, so that
/// a partition's items stay in one segment.
fn segment_of(partition: Option<&Value>, total: u64) -> u64 {
    let mut bytes = Vec::new();
    if let Some(v) = partition {
        keys::push_value(&mut bytes, v);
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h % total
}

pub async fn scan(i: &Inner, ctx: &RequestContext, mut input: Json) -> Result<Json, AwsError> {
    crate::legacy::translate(&mut input)?;
    let name = table_name(&input)?;
    let mut p = placeholders(&input)?;
    let filter = match s(&input, "FilterExpression") {
        Some(f) => Some(expr::parse_condition(f, ExprKind::Filter, &mut p).map_err(expr_error)?),
        None => None,
    };
    let projection = projection_of(&input, &mut p)?;
    p.check_all_used().map_err(expr_error)?;
    let limit = limit_of(&input)?;
    let consistent = input.get("ConsistentRead").and_then(Json::as_bool).unwrap_or(false);
    let segments = match (
        input.get("Segment").and_then(Json::as_u64),
        input.get("TotalSegments").and_then(Json::as_u64),
    ) {
        (None, None) => None,
        (Some(seg), Some(total)) if (1..=1_000_000).contains(&total) && seg < total => Some((seg, total)),
        (Some(seg), Some(total)) if seg >= total => {
            return Err(validation(format!(
                "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {seg} is not less than TotalSegments: {total}"
            )));
        }
        (Some(_), None) => {
            return Err(validation(
                "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
            ));
        }
        (None, Some(_)) => {
            return Err(validation(
                "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
            ));
        }
        _ => return Err(validation("TotalSegments must be between 1 and 1000000")),
    };
    let ctx = crate::tables::scoped(ctx, &input);
    i.read(move |r| {
        let table = table_for(r, &ctx, &name)?;
        let src = source(&table, &input)?;
        let select = select(&input, &src, projection.is_some())?;
        let prefix = src.prefix();
        let end = prefix_end(&prefix);
        let esk = exclusive_start(&input, &src)?;
        let hash = src.key().hash.clone();
        let in_scope = |item: &Item| segments.is_none_or(|(seg, total)| segment_of(item.get(&hash), total) == seg);
        let filter = |item: &Item| filter.as_ref().is_none_or(|f| f.eval(item).unwrap_or(false));
        let keep = Keep { in_scope: &in_scope, filter: &filter };
        let page = read_page(r, &src, prefix.clone(), end, esk, true, limit, &keep)?;
        Ok(answer(&input, &src, page, &projection, &select, consistent))
    })
    .await
}
