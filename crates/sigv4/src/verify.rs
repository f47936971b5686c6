//! Checking a parsed SigV4 authentication against the request and a secret.

use std::time::SystemTime;

use http::{HeaderMap, Method, Uri};

use crate::canonical::{
    self, EMPTY_SHA256, UNSIGNED_PAYLOAD, canonical_headers, canonical_query, canonical_query_as_sent,
    canonical_request, canonical_uri, canonical_uri_as_sent, constant_time_eq, credential_scope, is_s3_service,
    signing_key, string_to_sign,
};
use crate::error::{ExpiresProblem, SigV4Error};
use crate::time::{format_amz_date_secs, parse_amz_date_secs, system_time_secs};
use crate::{AuthInfo, AuthKind};

/// How far a header-signed request's time may be from the server's, and how
/// far in the future a presigned URL's `X-Amz-Date` may be: 15 minutes.
pub const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;
/// The longest a presigned URL may be valid: 7 days.
pub const MAX_PRESIGN_EXPIRES_SECS: u64 = 604_800;

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
}

fn is_signed(info: &AuthInfo, name: &str) -> bool {
    info.signed_headers.iter().any(|h| h.eq_ignore_ascii_case(name))
}

fn require_signed(info: &AuthInfo, name: &str, spelling: &str) -> Result<(), SigV4Error> {
    if is_signed(info, name) { Ok(()) } else { Err(SigV4Error::UnsignedRequiredHeader { header: spelling.to_owned() }) }
}

fn fmt_time(secs: i64) -> String {
    format_amz_date_secs(secs).unwrap_or_default()
}

/// Checks the time rules and the shape of `info` (everything but the
/// signature itself).
fn check_time_and_shape(info: &AuthInfo, headers: &HeaderMap, now: SystemTime) -> Result<(), SigV4Error> {
    let presigned = matches!(info.kind, AuthKind::Presigned { .. });
    let Some(request_secs) = parse_amz_date_secs(&info.amz_date) else {
        return Err(SigV4Error::InvalidDate { value: info.amz_date.clone(), presigned });
    };
    if info.amz_date.get(..8) != Some(info.date.as_str()) {
        return Err(SigV4Error::ScopeDateMismatch {
            scope_date: info.date.clone(),
            amz_date: info.amz_date.clone(),
            presigned,
        });
    }
    let now_secs = system_time_secs(now);
    match info.kind {
        AuthKind::Header => {
            let earliest = now_secs.saturating_sub(MAX_CLOCK_SKEW_SECS);
            let latest = now_secs.saturating_add(MAX_CLOCK_SKEW_SECS);
            if request_secs < earliest || request_secs > latest {
                let future = request_secs > latest;
                return Err(SigV4Error::RequestTimeTooSkewed {
                    request_time: info.amz_date.clone(),
                    server_time: fmt_time(now_secs),
                    limit: fmt_time(if future { latest } else { earliest }),
                    future,
                });
            }
            require_signed(info, "host", "Host")?;
            if headers.contains_key("x-amz-date") {
                require_signed(info, "x-amz-date", "X-Amz-Date")?;
            } else {
                require_signed(info, "date", "Date")?;
            }
            if headers.contains_key("x-amz-target") {
                require_signed(info, "x-amz-target", "X-Amz-Target")?;
            }
        }
        AuthKind::Presigned { expires_secs } => {
            let problem = if expires_secs == 0 {
                Some(ExpiresProblem::Zero)
            } else if expires_secs > MAX_PRESIGN_EXPIRES_SECS {
                Some(ExpiresProblem::TooLarge)
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(SigV4Error::InvalidExpires { value: expires_secs.to_string(), problem });
            }
            if request_secs > now_secs.saturating_add(MAX_CLOCK_SKEW_SECS) {
                return Err(SigV4Error::PresignNotYetValid {
                    amz_date: info.amz_date.clone(),
                    server_time: fmt_time(now_secs),
                });
            }
            // expires_secs <= 604800 here, so the cast is lossless.
            let expiry = request_secs.saturating_add(expires_secs as i64);
            if now_secs >= expiry {
                return Err(SigV4Error::PresignExpired {
                    amz_date: info.amz_date.clone(),
                    expires_secs,
                    server_time: fmt_time(now_secs),
                });
            }
            require_signed(info, "host", "Host")?;
        }
    }
    Ok(())
}

/// Verifies the signature of a request whose authentication `parse` read.
///
/// Rebuilds the canonical request (canonical URI: each path segment
/// URI-encoded — twice for non-S3 services, whose paths are also normalized,
/// once for S3; canonical query string sorted, without `X-Amz-Signature` for
/// presigned requests; canonical headers from `signed_headers` with values
/// trimmed and inner whitespace runs collapsed; payload hash = the
/// `x-amz-content-sha256` header when present — including `UNSIGNED-PAYLOAD`
/// and `STREAMING-*` values — else `payload_sha256_hex`; for presigned
/// requests `UNSIGNED-PAYLOAD` unless the header, or an
/// `X-Amz-Content-Sha256` query parameter, says otherwise), the string to
/// sign and the signing key from `secret_key`, and compares signatures in
/// constant time.
///
/// For clients that sign the path or query exactly as they sent it rather
/// than in canonical form, the as-sent forms are tried too when they differ
/// (and for presigned requests, the body hash as well as `UNSIGNED-PAYLOAD`,
/// which is what SDKs use when presigning non-S3 requests). Every candidate
/// still requires a valid signature by the secret key.
///
/// `payload_sha256_hex` is the hex SHA-256 of the body. Pass it whenever it is
/// known: if the request also has an `x-amz-content-sha256` header holding a
/// hash, the two must agree ([`SigV4Error::ContentSha256Mismatch`]). Pass an
/// empty string when the body has not been read yet (streaming); the caller
/// must then check the body against the header itself.
///
/// Time: for the header form the request time must be within 15 minutes of
/// `now` ([`SigV4Error::RequestTimeTooSkewed`]); for presigned requests `now`
/// must be before `amz_date + expires` ([`SigV4Error::PresignExpired`]),
/// `expires` must be in 1..=604800 and `amz_date` not more than 15 minutes
/// in the future ([`SigV4Error::PresignNotYetValid`]). The credential scope
/// date must be `amz_date`'s date. `host` (and for the header form the date
/// header and, when present, `x-amz-target`) must be signed.
///
/// The caller looks up the secret for `info.access_key` (answering
/// [`SigV4Error::UnknownAccessKey`] when there is none) and decides whether
/// `info.region` and `info.service` are acceptable.
pub fn verify(
    info: &AuthInfo,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    payload_sha256_hex: &str,
    secret_key: &str,
    now: SystemTime,
) -> Result<(), SigV4Error> {
    check_time_and_shape(info, headers, now)?;
    let presigned = matches!(info.kind, AuthKind::Presigned { .. });

    // The payload hash(es) the client may have signed.
    let declared = header_str(headers, "x-amz-content-sha256");
    if let Some(declared) = &declared
        && is_sha256_hex(declared)
        && is_sha256_hex(payload_sha256_hex)
        && !declared.eq_ignore_ascii_case(payload_sha256_hex)
    {
        return Err(SigV4Error::ContentSha256Mismatch {
            declared: declared.clone(),
            computed: payload_sha256_hex.to_owned(),
        });
    }
    let mut payloads: Vec<String> = Vec::with_capacity(2);
    match declared {
        Some(declared) => payloads.push(declared),
        None if presigned => match query_param(uri, "X-Amz-Content-Sha256") {
            Some(value) => payloads.push(value),
            None => {
                payloads.push(UNSIGNED_PAYLOAD.to_owned());
                let body = if payload_sha256_hex.is_empty() { EMPTY_SHA256 } else { payload_sha256_hex };
                payloads.push(body.to_owned());
            }
        },
        None => payloads.push(payload_sha256_hex.to_owned()),
    }

    let s3 = is_s3_service(&info.service);
    let raw_path = uri.path();
    let raw_query = uri.query();
    let mut uris = vec![canonical_uri(raw_path, s3)];
    let as_sent = canonical_uri_as_sent(raw_path, s3);
    if as_sent != uris[0] {
        uris.push(as_sent);
    }
    let mut queries = vec![canonical_query(raw_query, presigned)];
    let as_sent = canonical_query_as_sent(raw_query, presigned);
    if as_sent != queries[0] {
        queries.push(as_sent);
    }

    let key = signing_key(secret_key, &info.date, &info.region, &info.service);
    let scope = credential_scope(&info.date, &info.region, &info.service);
    let signed_headers = info.signed_headers.join(";");
    let headers_block = canonical_headers(&info.signed_headers, headers, uri);
    let provided = info.signature.to_ascii_lowercase();

    let mut first: Option<(Vec<u8>, String)> = None;
    for payload in &payloads {
        for canonical_uri in &uris {
            for canonical_query in &queries {
                let request = canonical_request(
                    method.as_str(),
                    canonical_uri,
                    canonical_query,
                    &headers_block,
                    &signed_headers,
                    payload,
                );
                let to_sign = string_to_sign(&info.amz_date, &scope, &request);
                let computed = canonical::signature(&key, &to_sign);
                if constant_time_eq(computed.as_bytes(), provided.as_bytes()) {
                    return Ok(());
                }
                if first.is_none() {
                    first = Some((request, to_sign));
                }
            }
        }
    }
    let (request, to_sign) = first.unwrap_or_default();
    Err(SigV4Error::SignatureMismatch {
        access_key: info.access_key.clone(),
        signature_provided: info.signature.clone(),
        canonical_request: String::from_utf8_lossy(&request).into_owned(),
        string_to_sign: to_sign,
    })
}

fn query_param(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|piece| {
        let (n, v) = piece.split_once('=').unwrap_or((piece, ""));
        (percent_encoding::percent_decode_str(n).decode_utf8_lossy() == name)
            .then(|| percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned())
    })
}

/// The `x-amz-*` headers present in the request but not covered by the
/// signature (lower-case names, sorted). S3 refuses such requests with
/// `AccessDenied` / "There were headers present in the request which were not
/// signed"; `verify` does not, because some clients add
/// `x-amz-security-token` after signing for other services.
pub fn unsigned_amz_headers(info: &AuthInfo, headers: &HeaderMap) -> Vec<String> {
    let mut out: Vec<String> = headers
        .keys()
        .map(|name| name.as_str())
        .filter(|name| name.starts_with("x-amz-") && !is_signed(info, name))
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}
