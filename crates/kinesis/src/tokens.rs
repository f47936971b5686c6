//! Pagination tokens (ListStreams, ListShards, ListStreamConsumers): opaque to clients,
//! carrying where the listing stopped and when the token was made; AWS's tokens expire after
//! five minutes (`ExpiredNextTokenException`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use stratus_proto::AwsError;

use crate::errors::invalid_argument;

const LIFETIME_MS: u64 = 300_000;

pub fn seal(payload: &str, now_ms: u64) -> String {
    STANDARD.encode(format!("{now_ms}\n{payload}"))
}

/// The payload of a token, or AWS's error for a malformed or expired one.
pub fn open(token: &str, now_ms: u64) -> Result<String, AwsError> {
    let bad = || invalid_argument(format!("Invalid NextToken {token}."));
    let raw = STANDARD.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (made, payload) = text.split_once('\n').ok_or_else(bad)?;
    let made: u64 = made.parse().map_err(|_| bad())?;
    if now_ms.saturating_sub(made) > LIFETIME_MS {
        return Err(AwsError::new(
            "ExpiredNextTokenException",
            format!("The timestamp of the NextToken {token} has expired."),
        ));
    }
    Ok(payload.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_expire() {
        let t = seal("a/b", 1000);
        assert_eq!(open(&t, 2000).unwrap(), "a/b");
        assert_eq!(open(&t, 1000 + LIFETIME_MS + 1).unwrap_err().code, "ExpiredNextTokenException");
        assert_eq!(open("!!", 0).unwrap_err().code, "InvalidArgumentException");
    }
}
