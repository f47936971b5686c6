//! Consumed capacity as DynamoDB counts it: a read unit per 4 KB (half for eventually
//! consistent reads), a write unit per 1 KB of the larger of the old and new item, at least one
//! unit per item; `ReturnConsumedCapacity` `TOTAL` or `INDEXES`.

use serde_json::{Value as Json, json};

use crate::table::TableRecord;
use crate::value::{Item, item_size};

pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

pub fn write_units(old: Option<&Item>, new: Option<&Item>) -> f64 {
    let bytes = old.map_or(0, item_size).max(new.map_or(0, item_size));
    bytes.div_ceil(1024).max(1) as f64
}

/// The `ConsumedCapacity` member the request asked for, if any.
pub fn consumed(input: &Json, table: &TableRecord, units: f64, write: bool) -> Option<Json> {
    let mode = input.get("ReturnConsumedCapacity").and_then(Json::as_str).unwrap_or("NONE");
    let (read, written) = if write { (None, Some(units)) } else { (Some(units), None) };
    let mut c = json!({"TableName": table.name, "CapacityUnits": units});
    let o = c.as_object_mut()?;
    if let Some(r) = read {
        o.insert("ReadCapacityUnits".into(), json!(r));
    }
    if let Some(w) = written {
        o.insert("WriteCapacityUnits".into(), json!(w));
    }
    match mode {
        "TOTAL" => Some(c),
        "INDEXES" => {
            o.insert("Table".into(), json!({"CapacityUnits": units}));
            Some(c)
        }
        _ => None,
    }
}
