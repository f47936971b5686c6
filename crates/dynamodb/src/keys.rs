//! Where DynamoDB keeps things in the store, and the order-preserving key encoding that makes a
//! Query one range scan.
//!
//! - `ddb/t/{account}/{region}/{table name}` → table record (JSON)
//! - `ddb/i/{table id}{partition key}{sort key}` → item (DynamoDB JSON)
//! - `ddb/x/{table id}{index number}{index partition key}{index sort key}{table key}` → the
//!   item as the index projects it
//! - `ddb/n/{table id}` → the table's item count and size (two big-endian `u64`), and
//!   `ddb/n/{table id}{index number}` an index's: kept apart from the table record so that a
//!   write changes 16 bytes, not the record
//!
//! Table ids are big-endian `u64`; index numbers one byte. Key attribute values are encoded so
//! that byte order is DynamoDB's order (numbers numerically, strings and binaries bytewise) and
//! no encoding is a prefix of another, so a key is a concatenation.

use crate::value::Value;

pub const TABLE_IDS: &str = "dynamodb/table-id";

pub fn table(account: &str, region: &str, name: &str) -> Vec<u8> {
    format!("ddb/t/{account}/{region}/{name}").into_bytes()
}

pub fn tables(account: &str, region: &str) -> Vec<u8> {
    format!("ddb/t/{account}/{region}/").into_bytes()
}

/// All items of a table.
pub fn items(table_id: u64) -> Vec<u8> {
    let mut k = b"ddb/i/".to_vec();
    k.extend_from_slice(&table_id.to_be_bytes());
    k
}

/// All entries of one index.
pub fn index(table_id: u64, number: u8) -> Vec<u8> {
    let mut k = b"ddb/x/".to_vec();
    k.extend_from_slice(&table_id.to_be_bytes());
    k.push(number);
    k
}

/// The counts of a table (`index` None) or of one of its indexes.
pub fn counts(table_id: u64, index: Option<u8>) -> Vec<u8> {
    let mut k = b"ddb/n/".to_vec();
    k.extend_from_slice(&table_id.to_be_bytes());
    k.extend(index);
    k
}

/// Appends the encoding of a key attribute value (S, N or B).
pub fn push_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::N(n) => {
            out.push(b'N');
            out.extend(n.sort_key());
        }
        Value::S(s) => {
            out.push(b'S');
            push_bytes(out, s.as_bytes());
        }
        Value::B(b) => {
            out.push(b'B');
            push_bytes(out, b);
        }
        // Key attributes are S, N or B; anything else was refused before.
        other => {
            out.push(b'?');
            push_bytes(out, other.type_name().as_bytes());
        }
    }
}

/// Bytes with `0x00` escaped as `0x00 0xFF`, ended by `0x00 0x01`: order-preserving and
/// prefix-free.
fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::number::Number;

    fn enc(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        push_value(&mut out, v);
        out
    }

    #[test]
    fn encodings_sort_as_dynamodb_does() {
        let s = |x: &str| Value::S(x.into());
        assert!(enc(&s("a")) < enc(&s("ab")));
        assert!(enc(&s("a\0")) > enc(&s("a")));
        assert!(enc(&s("a\0")) < enc(&s("a\u{1}")));
        let n = |x: &str| Value::N(Number::parse(x).expect("number"));
        assert!(enc(&n("-5")) < enc(&n("2")));
        assert!(enc(&n("2")) < enc(&n("10")));
        // Concatenations keep the first component's order.
        let mut a = enc(&s("a"));
        a.extend(enc(&n("9")));
        let mut b = enc(&s("ab"));
        b.extend(enc(&n("1")));
        assert!(a < b);
    }
}
