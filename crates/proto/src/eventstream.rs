//! The event stream encoding (`application/vnd.amazon.eventstream`) of operations whose output
//! is a stream of events (Kinesis SubscribeToShard): each message is a prelude (total length,
//! headers length, CRC-32 of the two), headers (`:message-type`, `:event-type`,
//! `:content-type`, …, each a name, a type byte and a value), the payload, and a CRC-32 of all
//! that came before. Services produce event payloads as JSON values; the protocol layer frames
//! them.

use serde_json::Value;

use crate::{AwsError, BoxFuture};

/// The events of one streamed response, produced by the service: each item is the event's
/// member name in the output's event stream (`SubscribeToShardEvent`) and its value; `None`
/// ends the stream. An `Err` ends it with an exception message.
pub trait EventSource: Send {
    fn next(&mut self) -> BoxFuture<'_, Option<Result<(String, Value), AwsError>>>;
}

/// One message with string headers.
pub fn message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (name, value) in headers {
        h.push(name.len() as u8);
        h.extend_from_slice(name.as_bytes());
        h.push(7); // string
        h.extend_from_slice(&(value.len() as u16).to_be_bytes());
        h.extend_from_slice(value.as_bytes());
    }
    let total = 12 + h.len() + payload.len() + 4;
    let mut m = Vec::with_capacity(total);
    m.extend_from_slice(&(total as u32).to_be_bytes());
    m.extend_from_slice(&(h.len() as u32).to_be_bytes());
    let prelude_crc = crc32(&m);
    m.extend_from_slice(&prelude_crc.to_be_bytes());
    m.extend_from_slice(&h);
    m.extend_from_slice(payload);
    let crc = crc32(&m);
    m.extend_from_slice(&crc.to_be_bytes());
    m
}

/// An event message.
pub fn event(event_type: &str, content_type: &str, payload: &[u8]) -> Vec<u8> {
    message(&[(":event-type", event_type), (":content-type", content_type), (":message-type", "event")], payload)
}

/// An exception message (the stream ends after it).
pub fn exception(code: &str, content_type: &str, payload: &[u8]) -> Vec<u8> {
    message(&[(":exception-type", code), (":content-type", content_type), (":message-type", "exception")], payload)
}

/// CRC-32 (IEEE 802.3), as the event stream encoding uses.
pub fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::LazyLock<[u32; 256]> = std::sync::LazyLock::new(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
            *slot = c;
        }
        t
    });
    let mut crc = !0u32;
    for b in data {
        crc = TABLE[((crc ^ u32::from(*b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn messages_are_framed() {
        let m = event("SubscribeToShardEvent", "application/json", b"{}");
        let total = u32::from_be_bytes([m[0], m[1], m[2], m[3]]) as usize;
        let headers = u32::from_be_bytes([m[4], m[5], m[6], m[7]]) as usize;
        assert_eq!(total, m.len());
        assert_eq!(crc32(&m[..8]).to_be_bytes(), m[8..12]);
        assert_eq!(&m[12 + headers..total - 4], b"{}");
        assert_eq!(crc32(&m[..total - 4]).to_be_bytes(), m[total - 4..]);
        // The first header: `:event-type`, a string.
        assert_eq!(usize::from(m[12]), ":event-type".len());
        assert_eq!(&m[13..24], b":event-type");
        assert_eq!(m[24], 7);
    }
}
