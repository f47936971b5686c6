//! Fuzzes SigV4 parsing (and verification when parsing succeeds).
//!
//! Input layout: the first byte picks the method; the rest is split on
//! `\n`: the first line is the request target (URI), every further line a
//! `name: value` header. Lines that are not valid URIs / headers are skipped,
//! so most inputs still reach `parse`.
//!
//! Run with `cargo +nightly fuzz run sigv4_parse` from this directory.
#![no_main]

use std::time::{Duration, SystemTime};

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Uri};
use libfuzzer_sys::fuzz_target;

const METHODS: [&str; 6] = ["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let method = Method::from_bytes(METHODS[usize::from(selector) % METHODS.len()].as_bytes()).unwrap_or(Method::GET);

    let mut lines = rest.split(|&b| b == b'\n');
    let uri = lines.next().and_then(|line| Uri::try_from(line).ok()).unwrap_or_else(|| Uri::from_static("/"));

    let mut headers = HeaderMap::new();
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = line.split_at(colon);
        let value = value.get(1..).unwrap_or_default();
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            headers.append(name, value);
        }
    }

    if let Ok(Some(info)) = stratus_sigv4::parse(&method, &uri, &headers) {
        // A fixed clock keeps runs reproducible; 2024-05-17T10:30:00Z.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_715_941_800);
        let _ = stratus_sigv4::verify(&info, &method, &uri, &headers, "", "secret", now);
        let body_hash = stratus_sigv4::sha256_hex(b"");
        let _ = stratus_sigv4::verify(&info, &method, &uri, &headers, &body_hash, "secret", now);
    }
});
