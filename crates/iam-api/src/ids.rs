//! Identifiers in AWS's shapes: a four-letter prefix saying what it names (`AIDA` users,
//! `AGPA` groups, `AROA` roles, `ANPA` policies, `AKIA` long-term and `ASIA` temporary access
//! keys) followed by base-32 characters.

use stratus_core::IdSource;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// `prefix` followed by `len` random base-32 characters.
pub fn id(ids: &dyn IdSource, prefix: &str, len: usize) -> String {
    let mut s = String::with_capacity(prefix.len() + len);
    s.push_str(prefix);
    let mut bytes = ids.random_bytes();
    let mut used = 0;
    for _ in 0..len {
        if used == bytes.len() {
            bytes = ids.random_bytes();
            used = 0;
        }
        s.push(char::from(BASE32[usize::from(bytes[used] & 31)]));
        used += 1;
    }
    s
}

/// A unique id of an entity (21 characters, as AWS's are).
pub fn entity(ids: &dyn IdSource, prefix: &str) -> String {
    id(ids, prefix, 17)
}

/// An access key id (20 characters).
pub fn access_key(ids: &dyn IdSource, temporary: bool) -> String {
    id(ids, if temporary { "ASIA" } else { "AKIA" }, 16)
}

/// A secret access key: 40 characters of base64's alphabet.
pub fn secret(ids: &dyn IdSource) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(40);
    while s.len() < 40 {
        for b in ids.random_bytes() {
            if s.len() < 40 {
                s.push(char::from(ALPHABET[usize::from(b & 63)]));
            }
        }
    }
    s
}

/// A session token: opaque, long, base64's alphabet.
pub fn session_token(ids: &dyn IdSource) -> String {
    let mut s = String::from("FwoGZXIvYXdzE");
    for _ in 0..8 {
        s.push_str(&secret(ids));
    }
    s
}
