//! Pagination tokens. GetLogEvents answers AWS-shaped `f/…` and `b/…` tokens (56 digits naming
//! an event position); the other operations answer opaque base64 tokens.
//!
//! An event position is (timestamp, sequence): events are ordered by it, so "after the last
//! event returned" and "before the first event returned" are stable across writes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use stratus_proto::AwsError;

use crate::errors::invalid_token;

/// Where GetLogEvents continues: after or before an event position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

pub type Position = (u64, u64);

fn position_number(p: Position) -> u128 {
    (u128::from(p.0) << 64) | u128::from(p.1)
}

pub fn encode_event_token(dir: Direction, p: Position) -> String {
    let d = match dir {
        Direction::Forward => 'f',
        Direction::Backward => 'b',
    };
    format!("{d}/{:056}/s", position_number(p))
}

pub fn decode_event_token(token: &str) -> Result<(Direction, Position), AwsError> {
    let (dir, rest) = match token.split_at_checked(2) {
        Some(("f/", r)) => (Direction::Forward, r),
        Some(("b/", r)) => (Direction::Backward, r),
        _ => return Err(invalid_token()),
    };
    let digits = rest.strip_suffix("/s").unwrap_or(rest);
    if digits.is_empty() || digits.len() > 56 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid_token());
    }
    let n: u128 = digits.parse().map_err(|_| invalid_token())?;
    Ok((dir, ((n >> 64) as u64, n as u64)))
}

/// FilterLogEvents: continue after this event position.
pub fn encode_filter_token(p: Position) -> String {
    URL_SAFE_NO_PAD.encode(format!("filter:{}:{}", p.0, p.1))
}

pub fn decode_filter_token(token: &str) -> Result<Position, AwsError> {
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid_token())?;
    let s = String::from_utf8(raw).map_err(|_| invalid_token())?;
    let mut it = s.strip_prefix("filter:").ok_or_else(invalid_token)?.split(':');
    let ts = it.next().and_then(|v| v.parse().ok()).ok_or_else(invalid_token)?;
    let seq = it.next().and_then(|v| v.parse().ok()).ok_or_else(invalid_token)?;
    if it.next().is_some() {
        return Err(invalid_token());
    }
    Ok((ts, seq))
}

/// Listing operations: continue after this sort key.
pub fn encode_list_token(kind: &str, after: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}\n{after}"))
}

pub fn decode_list_token(kind: &str, token: &str) -> Result<String, AwsError> {
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid_token())?;
    let s = String::from_utf8(raw).map_err(|_| invalid_token())?;
    match s.split_once('\n') {
        Some((k, after)) if k == kind => Ok(after.to_string()),
        _ => Err(invalid_token()),
    }
}

/// The event id FilterLogEvents reports: 56 digits, stable for an event (`aws logs tail
/// --follow` deduplicates by it).
pub fn event_id(stream_id: u64, p: Position) -> String {
    format!("{:020}{:020}{:016}", p.0, p.1, stream_id % 10_000_000_000_000_000)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn event_tokens_round_trip_and_look_like_aws() {
        for p in [(0, 0), (1_700_000_000_123, 42), (u64::MAX, u64::MAX)] {
            for d in [Direction::Forward, Direction::Backward] {
                let t = encode_event_token(d, p);
                assert_eq!(t.len(), 2 + 56 + 2, "{t}");
                assert_eq!(decode_event_token(&t).unwrap(), (d, p));
            }
        }
        assert!(encode_event_token(Direction::Forward, (5, 6)).starts_with("f/"));
        assert!(encode_event_token(Direction::Backward, (5, 6)).starts_with("b/"));
        // Without the `/s` suffix, as some clients store them.
        assert_eq!(decode_event_token("f/00000000000000000000000000000000000000000000000000000001").unwrap().1, (0, 1));
    }

    #[test]
    fn bad_tokens_are_invalid_parameter() {
        for t in ["", "x", "f/", "f/abc", "c/123", "invalid-token", "f/1/2", &format!("f/{}", "9".repeat(57))] {
            let e = decode_event_token(t).unwrap_err();
            assert_eq!(e.code, "InvalidParameterException", "{t}");
            assert_eq!(e.message, "The specified nextToken is invalid.");
        }
        // 56 nines overflow u128.
        assert!(decode_event_token(&format!("f/{}", "9".repeat(56))).is_err());
        for t in
            ["", "invalid-token", "!!!", &URL_SAFE_NO_PAD.encode("filter:1"), &URL_SAFE_NO_PAD.encode("filter:1:2:3")]
        {
            assert!(decode_filter_token(t).is_err(), "{t}");
        }
    }

    #[test]
    fn filter_and_list_tokens_round_trip() {
        assert_eq!(decode_filter_token(&encode_filter_token((12, 34))).unwrap(), (12, 34));
        let t = encode_list_token("groups", "/a/b");
        assert_eq!(decode_list_token("groups", &t).unwrap(), "/a/b");
        assert!(decode_list_token("streams", &t).is_err());
    }

    #[test]
    fn event_ids_are_56_digits_and_distinct() {
        let a = event_id(3, (1_700_000_000_000, 1));
        let b = event_id(3, (1_700_000_000_000, 2));
        assert_eq!(a.len(), 56);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_digit()));
    }
}
