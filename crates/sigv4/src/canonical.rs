//! The pieces of the SigV4 algorithm: canonical URI, query string and
//! headers, the canonical request, the string to sign, the signing key and
//! the signature.

use hmac::{Hmac, Mac};
use http::{HeaderMap, Uri};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode};
use sha2::{Digest, Sha256};

/// The only algorithm this crate speaks.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Payload hash placeholder for unsigned payloads (presigned URLs, S3 over TLS).
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Payload hash placeholder announcing an `aws-chunked` body whose chunks are signed.
pub const STREAMING_PAYLOAD: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// SHA-256 of the empty string.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Characters left alone by SigV4's URI encoding: `A-Z a-z 0-9 - . _ ~`.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes every byte outside the unreserved set, with upper-case hex.
pub(crate) fn uri_encode(input: &[u8]) -> String {
    percent_encode(input, UNRESERVED).to_string()
}

fn percent_decode(input: &str) -> Vec<u8> {
    percent_decode_str(input).collect()
}

/// Services signed with S3's rules: the path is encoded once and not normalized.
pub(crate) fn is_s3_service(service: &str) -> bool {
    matches!(service, "s3" | "s3express" | "s3-object-lambda" | "s3-outposts")
}

/// Removes `.` and `..` segments and empty segments (consecutive slashes), as
/// AWS does for every service but S3. Keeps a leading slash, and a trailing
/// one when something is left.
fn normalize_path(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            s => kept.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    if path.starts_with('/') {
        out.push('/');
    }
    out.push_str(&kept.join("/"));
    if path.ends_with('/') && !kept.is_empty() {
        out.push('/');
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Encodes each `/`-separated segment with `encode`, keeping the slashes.
fn encode_segments(path: &str, encode: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&encode(segment));
    }
    out
}

/// The canonical URI as the SigV4 specification defines it, from the path as
/// it appears on the wire (still percent-encoded).
///
/// * S3: each segment is decoded and encoded once (so `a%20b` stays `a%20b`
///   and a literal `+` becomes `%2B`); no normalization.
/// * Other services: the path is normalized (dot segments and duplicate
///   slashes removed) and each segment encoded again, i.e. the decoded path
///   is encoded twice (`a%20b` becomes `a%2520b`).
pub(crate) fn canonical_uri(raw_path: &str, s3: bool) -> String {
    let path = if raw_path.is_empty() { "/" } else { raw_path };
    if s3 {
        encode_segments(path, |seg| uri_encode(&percent_decode(seg)))
    } else {
        encode_segments(&normalize_path(path), |seg| uri_encode(seg.as_bytes()))
    }
}

/// A looser canonical URI for clients that sign the path as they sent it:
/// S3 → the wire path itself; others → each wire segment encoded again,
/// without normalization.
pub(crate) fn canonical_uri_as_sent(raw_path: &str, s3: bool) -> String {
    let path = if raw_path.is_empty() { "/" } else { raw_path };
    if s3 { path.to_owned() } else { encode_segments(path, |seg| uri_encode(seg.as_bytes())) }
}

/// The canonical query string: every parameter decoded and re-encoded with
/// SigV4's rules, sorted by name then value, `name=value` joined with `&`
/// (a parameter without `=` gets an empty value). `X-Amz-Signature` is left
/// out when `exclude_signature` (presigned requests).
pub(crate) fn canonical_query(raw_query: Option<&str>, exclude_signature: bool) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for piece in raw_query.unwrap_or("").split('&') {
        if piece.is_empty() {
            continue;
        }
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let name = percent_decode(name);
        if exclude_signature && name == b"X-Amz-Signature" {
            continue;
        }
        pairs.push((uri_encode(&name), uri_encode(&percent_decode(value))));
    }
    join_pairs(pairs)
}

/// A looser canonical query string for clients that sign the query as they
/// sent it (botocore does this): the raw `name=value` pieces, sorted.
pub(crate) fn canonical_query_as_sent(raw_query: Option<&str>, exclude_signature: bool) -> String {
    let raw = raw_query.unwrap_or("");
    if raw.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for piece in raw.split('&') {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        if exclude_signature && name == "X-Amz-Signature" {
            continue;
        }
        pairs.push((name.to_owned(), value.to_owned()));
    }
    join_pairs(pairs)
}

fn join_pairs(mut pairs: Vec<(String, String)>) -> String {
    pairs.sort();
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Appends a header value with leading/trailing whitespace removed and inner
/// whitespace runs collapsed to one space.
fn push_trimmed(value: &[u8], out: &mut Vec<u8>) {
    let mut started = false;
    let mut pending_space = false;
    for &b in value {
        if is_space(b) {
            pending_space = started;
        } else {
            if pending_space {
                out.push(b' ');
                pending_space = false;
            }
            out.push(b);
            started = true;
        }
    }
}

/// The canonical headers block: one `name:value\n` line per signed header,
/// in the order given, repeated values joined with `,`. A missing `host`
/// header is taken from the URI's authority (HTTP/2 `:authority`).
pub(crate) fn canonical_headers(signed: &[String], headers: &HeaderMap, uri: &Uri) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * signed.len());
    for name in signed {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut found = false;
        for value in headers.get_all(name.as_str()) {
            if found {
                out.push(b',');
            }
            found = true;
            push_trimmed(value.as_bytes(), &mut out);
        }
        if !found
            && name.eq_ignore_ascii_case("host")
            && let Some(authority) = uri.authority()
        {
            push_trimmed(authority.as_str().as_bytes(), &mut out);
        }
        out.push(b'\n');
    }
    out
}

/// Assembles the canonical request.
pub(crate) fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    canonical_headers: &[u8],
    signed_headers: &str,
    payload_hash: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        method.len()
            + canonical_uri.len()
            + canonical_query.len()
            + canonical_headers.len()
            + signed_headers.len()
            + payload_hash.len()
            + 5,
    );
    out.extend_from_slice(method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_headers);
    out.push(b'\n');
    out.extend_from_slice(signed_headers.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

/// `date/region/service/aws4_request`.
pub(crate) fn credential_scope(date: &str, region: &str, service: &str) -> String {
    format!("{date}/{region}/{service}/aws4_request")
}

/// The string to sign for a canonical request.
pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical_request)))
}

/// HMAC-SHA256.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        // HMAC takes keys of any length, so this cannot happen; an all-zero
        // result would only ever make a signature check fail.
        Err(_) => [0; 32],
    }
}

/// Derives the SigV4 signing key for a day, region and service.
pub fn signing_key(secret_key: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut secret = Vec::with_capacity(4 + secret_key.len());
    secret.extend_from_slice(b"AWS4");
    secret.extend_from_slice(secret_key.as_bytes());
    let k_date = hmac_sha256(&secret, date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// Hex signature of a string to sign.
pub(crate) fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(signing_key, string_to_sign.as_bytes()))
}

/// The signature of one chunk of an `aws-chunked` body
/// (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`): each chunk's signature chains the
/// previous one (the seed being the Authorization header's signature).
///
/// `scope` is `date/region/service/aws4_request`; `chunk_sha256_hex` is the
/// SHA-256 of the chunk's data (of nothing for the final, empty chunk).
pub fn chunk_signature(
    signing_key: &[u8; 32],
    amz_date: &str,
    scope: &str,
    previous_signature: &str,
    chunk_sha256_hex: &str,
) -> String {
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{previous_signature}\n{EMPTY_SHA256}\n{chunk_sha256_hex}"
    );
    signature(signing_key, &string_to_sign)
}

/// Compares two byte strings in time independent of where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn encoding() {
        assert_eq!(
            uri_encode(b"-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
            "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        );
        assert_eq!(uri_encode(b"a b+c/d=e*"), "a%20b%2Bc%2Fd%3De%2A");
        assert_eq!(uri_encode("ሴ".as_bytes()), "%E1%88%B4");
    }

    #[test]
    fn canonical_uris() {
        assert_eq!(canonical_uri("", false), "/");
        assert_eq!(canonical_uri("/", true), "/");
        assert_eq!(canonical_uri("/example/..", false), "/");
        assert_eq!(canonical_uri("/example1/example2/../..", false), "/");
        assert_eq!(canonical_uri("//", false), "/");
        assert_eq!(canonical_uri("/./", false), "/");
        assert_eq!(canonical_uri("/./example", false), "/example");
        assert_eq!(canonical_uri("//example//", false), "/example/");
        assert_eq!(canonical_uri("/example%20space/", false), "/example%2520space/");
        assert_eq!(canonical_uri("/a%20b/c+d", true), "/a%20b/c%2Bd");
        assert_eq!(canonical_uri("//a/./b/../c", true), "//a/./b/../c");
        assert_eq!(canonical_uri("/%7e%41", true), "/~A");
        assert_eq!(canonical_uri_as_sent("/a+b", true), "/a+b");
        assert_eq!(canonical_uri_as_sent("//a", false), "//a");
    }

    #[test]
    fn canonical_queries() {
        assert_eq!(canonical_query(None, false), "");
        assert_eq!(canonical_query(Some(""), false), "");
        assert_eq!(canonical_query(Some("Param1=value2&Param1=Value1"), false), "Param1=Value1&Param1=value2");
        assert_eq!(canonical_query(Some("b=2&a&c=x%2fy&d=a+b"), false), "a=&b=2&c=x%2Fy&d=a%2Bb");
        assert_eq!(canonical_query(Some("X-Amz-Signature=abc&X-Amz-Date=1"), true), "X-Amz-Date=1");
        assert_eq!(canonical_query_as_sent(Some("tagging&a=b+c"), false), "a=b+c&tagging=");
    }

    #[test]
    fn header_values_are_trimmed() {
        let mut headers = HeaderMap::new();
        headers.insert("my-header2", "  \"a   b \t  c\"  ".parse().unwrap());
        headers.append("my-header1", "value2".parse().unwrap());
        headers.append("my-header1", "value1".parse().unwrap());
        let uri: Uri = "https://example.amazonaws.com/".parse().unwrap();
        let signed = vec!["host".to_owned(), "my-header1".to_owned(), "my-header2".to_owned()];
        let block = canonical_headers(&signed, &headers, &uri);
        assert_eq!(
            String::from_utf8(block).unwrap(),
            "host:example.amazonaws.com\nmy-header1:value2,value1\nmy-header2:\"a b c\"\n"
        );
    }

    #[test]
    fn iam_signing_key() {
        // The signing key of AWS's documented example
        // (wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20150830/us-east-1/iam).
        let key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam");
        assert_eq!(hex::encode(key), "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
    }

    #[test]
    fn constant_time() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
