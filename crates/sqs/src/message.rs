//! Messages: what is stored, the checksums AWS computes over them, attribute validation and
//! receipt handles.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use stratus_proto::AwsError;

use crate::errors::{invalid_parameter, invalid_value};
use crate::types::{MessageAttributeValue, MessageAttributes};

pub(crate) fn decode_stored(bytes: &[u8]) -> Result<StoredMessage, AwsError> {
    serde_json::from_slice(bytes).map_err(|e| AwsError::internal(format!("corrupt message record: {e}")))
}

pub(crate) fn encode_stored(m: &StoredMessage) -> Result<Vec<u8>, AwsError> {
    serde_json::to_vec(m).map_err(|e| AwsError::internal(e.to_string()))
}

/// A message as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredMessage {
    pub id: String,
    pub body: String,
    pub md5_body: String,
    #[serde(default)]
    pub attrs: MessageAttributes,
    #[serde(default)]
    pub sys_attrs: MessageAttributes,
    /// Milliseconds since the epoch.
    pub sent: u64,
    pub sender: String,
    pub first_receive: Option<u64>,
    pub receive_count: u32,
    /// When the current receive happened (ms), for the 12-hour visibility limit.
    #[serde(default)]
    pub received_at: Option<u64>,
    pub visible_at: u64,
    /// Bumped on each receive; part of the receipt handle, so that only the latest handle acts.
    pub receipt: u32,
    pub group: Option<String>,
    pub dedup: Option<String>,
    pub seq_number: Option<String>,
    /// The queue a dead-lettered message came from.
    #[serde(default)]
    pub dlq_source: Option<String>,
}

pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// AWS's MD5 over message attributes: for each attribute in name order, the length-prefixed
/// name, the length-prefixed data type, a transport byte (1 string, 2 binary, 3 string list,
/// 4 binary list) and the length-prefixed value(s).
pub fn md5_of_attributes(attrs: &MessageAttributes) -> Option<String> {
    if attrs.is_empty() {
        return None;
    }
    fn lp(buf: &mut Vec<u8>, b: &[u8]) {
        buf.extend_from_slice(&(b.len() as u32).to_be_bytes());
        buf.extend_from_slice(b);
    }
    let mut buf = Vec::with_capacity(64 * attrs.len());
    for (name, v) in attrs {
        lp(&mut buf, name.as_bytes());
        lp(&mut buf, v.data_type.as_bytes());
        if let Some(s) = &v.string_value {
            buf.push(1);
            lp(&mut buf, s.as_bytes());
        } else if let Some(b) = &v.binary_value {
            buf.push(2);
            lp(&mut buf, &STANDARD.decode(b).unwrap_or_default());
        } else if !v.string_list_values.is_empty() {
            buf.push(3);
            for s in &v.string_list_values {
                lp(&mut buf, s.as_bytes());
            }
        } else if !v.binary_list_values.is_empty() {
            buf.push(4);
            for b in &v.binary_list_values {
                lp(&mut buf, &STANDARD.decode(b).unwrap_or_default());
            }
        }
    }
    Some(md5_hex(&buf))
}

/// Characters SQS accepts in a message: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD |
/// #x10000 to #x10FFFF.
pub fn first_invalid_char(s: &str) -> Option<char> {
    s.chars().find(|&c| {
        !matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    })
}

/// Size that counts against MaximumMessageSize: body plus each attribute's name, type and value.
pub fn message_size(body: &str, attrs: &MessageAttributes) -> usize {
    body.len()
        + attrs
            .iter()
            .map(|(n, v)| {
                n.len()
                    + v.data_type.len()
                    + v.string_value.as_ref().map_or(0, String::len)
                    + v.binary_value.as_ref().map_or(0, |b| b.len() / 4 * 3)
                    + v.string_list_values.iter().map(String::len).sum::<usize>()
                    + v.binary_list_values.iter().map(|b| b.len() / 4 * 3).sum::<usize>()
            })
            .sum::<usize>()
}

/// Checks user message attributes as SQS does.
pub fn validate_attributes(attrs: &MessageAttributes) -> Result<(), AwsError> {
    if attrs.len() > 10 {
        return Err(invalid_parameter(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [10].",
            attrs.len()
        )));
    }
    for (name, v) in attrs {
        let lower = name.to_ascii_lowercase();
        let bad_name = name.is_empty()
            || name.len() > 256
            || name.starts_with('.')
            || name.ends_with('.')
            || name.contains("..")
            || lower.starts_with("aws.")
            || lower.starts_with("amazon.")
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if bad_name {
            return Err(invalid_parameter(format!("Message (user) attribute name '{name}' is invalid.")));
        }
        validate_value(name, v, "user")?;
    }
    Ok(())
}

fn validate_value(name: &str, v: &MessageAttributeValue, kind: &str) -> Result<(), AwsError> {
    let base = v.data_type.split('.').next().unwrap_or_default();
    if v.data_type.len() > 256 || !matches!(base, "String" | "Number" | "Binary") {
        return Err(invalid_parameter(format!(
            "The type of message ({kind}) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
        )));
    }
    let empty = |t: &str| {
        invalid_parameter(format!("Message ({kind}) attribute '{name}' must contain a non-empty value of type '{t}'."))
    };
    match base {
        "Binary" => {
            let b = v.binary_value.as_deref().filter(|b| !b.is_empty()).ok_or_else(|| empty("Binary"))?;
            if STANDARD.decode(b).is_err() {
                return Err(invalid_parameter(format!(
                    "Message ({kind}) attribute '{name}' has an invalid binary value."
                )));
            }
        }
        _ => {
            let s = v.string_value.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| empty(base))?;
            if let Some(c) = first_invalid_char(s) {
                return Err(AwsError::new(
                    "InvalidMessageContents",
                    format!(
                        "Invalid character '#x{:X}' was found in the value of message ({kind}) attribute '{name}'.",
                        c as u32
                    ),
                ));
            }
            if base == "Number" && !is_number(s) {
                return Err(invalid_parameter(format!(
                    "Can't cast the value of message ({kind}) attribute '{name}' to a number."
                )));
            }
        }
    }
    Ok(())
}

fn is_number(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty() && t.parse::<f64>().is_ok_and(f64::is_finite) && t.len() <= 40
}

/// Checks message system attributes: only `AWSTraceHeader`, a String.
pub fn validate_system_attributes(attrs: &MessageAttributes) -> Result<(), AwsError> {
    for (name, v) in attrs {
        if name != "AWSTraceHeader" {
            return Err(invalid_value("MessageSystemAttributes", name, "Message system attribute name is invalid."));
        }
        if v.data_type != "String" {
            return Err(invalid_parameter(format!(
                "The type of message (system) attribute '{name}' is invalid. The only supported type is String."
            )));
        }
        validate_value(name, v, "system")?;
    }
    Ok(())
}

/// A receipt handle names the queue incarnation, the message and which receive it came from.
pub struct Receipt {
    pub queue_id: u64,
    pub seq: u64,
    pub receipt: u32,
}

const RECEIPT_VERSION: u8 = 1;

pub fn encode_receipt(queue_id: u64, seq: u64, receipt: u32, nonce: [u8; 16]) -> String {
    let mut b = Vec::with_capacity(37);
    b.push(RECEIPT_VERSION);
    b.extend_from_slice(&queue_id.to_be_bytes());
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&receipt.to_be_bytes());
    b.extend_from_slice(&nonce);
    URL_SAFE_NO_PAD.encode(b)
}

pub fn decode_receipt(handle: &str) -> Option<Receipt> {
    let b = URL_SAFE_NO_PAD.decode(handle.trim()).ok()?;
    if b.len() != 37 || b[0] != RECEIPT_VERSION {
        return None;
    }
    Some(Receipt {
        queue_id: u64::from_be_bytes(b[1..9].try_into().ok()?),
        seq: u64::from_be_bytes(b[9..17].try_into().ok()?),
        receipt: u32::from_be_bytes(b[17..21].try_into().ok()?),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn attr(t: &str, s: Option<&str>, b: Option<&str>) -> MessageAttributeValue {
        MessageAttributeValue {
            data_type: t.into(),
            string_value: s.map(str::to_string),
            binary_value: b.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn body_md5() {
        assert_eq!(md5_hex(b"hello"), "5d41402abc4b2a76b9719d911017c592");
    }

    #[test]
    fn known_attribute_md5() {
        // Computed with the AWS algorithm for {"a": String "b"}:
        // 00000001 61 00000006 "String" 01 00000001 62
        let mut a = MessageAttributes::new();
        a.insert("a".into(), attr("String", Some("b"), None));
        let mut raw = vec![0, 0, 0, 1, b'a', 0, 0, 0, 6];
        raw.extend_from_slice(b"String");
        raw.extend_from_slice(&[1, 0, 0, 0, 1, b'b']);
        assert_eq!(md5_of_attributes(&a).unwrap(), md5_hex(&raw));
        // Binary: transport byte 2 and the decoded bytes.
        let mut b = MessageAttributes::new();
        b.insert("z".into(), attr("Binary", None, Some("AQID")));
        let mut raw = vec![0, 0, 0, 1, b'z', 0, 0, 0, 6];
        raw.extend_from_slice(b"Binary");
        raw.extend_from_slice(&[2, 0, 0, 0, 3, 1, 2, 3]);
        assert_eq!(md5_of_attributes(&b).unwrap(), md5_hex(&raw));
        assert_eq!(md5_of_attributes(&MessageAttributes::new()), None);
    }

    #[test]
    fn receipts_round_trip_and_reject_garbage() {
        let h = encode_receipt(7, 9, 3, [5; 16]);
        let r = decode_receipt(&h).unwrap();
        assert_eq!((r.queue_id, r.seq, r.receipt), (7, 9, 3));
        assert!(decode_receipt("nope").is_none());
        assert!(decode_receipt("").is_none());
    }

    #[test]
    fn invalid_chars() {
        assert_eq!(first_invalid_char("ok\tok\n"), None);
        assert_eq!(first_invalid_char("bad\u{0}"), Some('\u{0}'));
        assert_eq!(first_invalid_char("bad\u{FFFE}"), Some('\u{FFFE}'));
    }
}
