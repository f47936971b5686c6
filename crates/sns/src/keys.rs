//! Where SNS keeps things in the store. Topic names are `[A-Za-z0-9_-]` (plus `.fifo`), so `/`
//! safely ends a name inside a key and a topic's subscriptions are one prefix.
//!
//! - `sns/t/{account}/{region}/{topic}` → topic record (JSON)
//! - `sns/s/{account}/{region}/{topic}/{id}` → subscription record (JSON); the subscription ARN
//!   is `arn:aws:sns:{region}:{account}:{topic}:{id}`, so a lookup by ARN is one `get`
//! - `sns/d/{account}/{region}/{topic}/{dedup id}` → FIFO deduplication entry (five minutes)
//! - `sns/us/{account}/{region}/{topic}/{token}` → an unsubscribed HTTP/S subscription that its
//!   UnsubscribeConfirmation's token can restore
//! - `sns/seq/{account}/{region}/{topic}` → the FIFO topic's sequence (store sequence name)
//! - `sns/signing` → the signing key and certificate (one per data directory)
//!
//! Deliveries travel through the outbox topic [`DELIVERY_TOPIC`].

/// The outbox topic: one record per (message, subscription) delivery.
pub const DELIVERY_TOPIC: &str = "sns-deliveries";

pub const SIGNING: &[u8] = b"sns/signing";

pub fn topic(account: &str, region: &str, name: &str) -> Vec<u8> {
    format!("sns/t/{account}/{region}/{name}").into_bytes()
}

pub fn topics(account: &str, region: &str) -> Vec<u8> {
    format!("sns/t/{account}/{region}/").into_bytes()
}

pub fn subscription(account: &str, region: &str, topic: &str, id: &str) -> Vec<u8> {
    format!("sns/s/{account}/{region}/{topic}/{id}").into_bytes()
}

/// Every subscription of a topic.
pub fn topic_subscriptions(account: &str, region: &str, topic: &str) -> Vec<u8> {
    format!("sns/s/{account}/{region}/{topic}/").into_bytes()
}

/// Every subscription in an account and region.
pub fn subscriptions(account: &str, region: &str) -> Vec<u8> {
    format!("sns/s/{account}/{region}/").into_bytes()
}

/// A subscription removed by Unsubscribe, kept with the token of its UnsubscribeConfirmation
/// so that confirming that token restores it (three days).
pub fn unsubscribed(account: &str, region: &str, topic: &str, token: &str) -> Vec<u8> {
    format!("sns/us/{account}/{region}/{topic}/{token}").into_bytes()
}

pub fn dedup(account: &str, region: &str, topic: &str, id: &str) -> Vec<u8> {
    format!("sns/d/{account}/{region}/{topic}/{id}").into_bytes()
}

pub fn dedups(account: &str, region: &str, topic: &str) -> Vec<u8> {
    format!("sns/d/{account}/{region}/{topic}/").into_bytes()
}

pub fn sequence(account: &str, region: &str, topic: &str) -> String {
    format!("sns/seq/{account}/{region}/{topic}")
}
