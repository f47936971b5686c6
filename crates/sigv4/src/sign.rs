//! Signing requests (Authorization header) and presigning URLs.

use http::{HeaderMap, HeaderValue, Method, Uri, header};

use crate::SigningParams;
use crate::canonical::{
    self, ALGORITHM, UNSIGNED_PAYLOAD, canonical_headers, canonical_query, canonical_request, canonical_uri,
    credential_scope, is_s3_service, sha256_hex, signing_key, string_to_sign, uri_encode,
};
use crate::error::{ExpiresProblem, SigV4Error};
use crate::time::format_amz_date;
use crate::verify::MAX_PRESIGN_EXPIRES_SECS;

fn invalid(reason: impl Into<String>) -> SigV4Error {
    SigV4Error::InvalidSigningInput { reason: reason.into() }
}

fn check_scope_part(what: &str, value: &str) -> Result<(), SigV4Error> {
    if value.is_empty() {
        return Err(invalid(format!("empty {what}")));
    }
    if value.bytes().any(|b| b == b'/' || b == b',' || b == b'=' || !b.is_ascii_graphic()) {
        return Err(invalid(format!("{what} must be printable ASCII without '/', ',', '=' or spaces")));
    }
    Ok(())
}

fn check_params(params: &SigningParams) -> Result<(), SigV4Error> {
    check_scope_part("access key", params.access_key)?;
    check_scope_part("region", params.region)?;
    check_scope_part("service", params.service)
}

/// The `host` header value for a URI, as SDKs derive it: the authority
/// without user info, host lower-cased, port kept unless it is the scheme's
/// default.
fn host_for(uri: &Uri) -> Option<String> {
    let authority = uri.authority()?;
    let mut host = authority.host().to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    if let Some(port) = authority.port_u16() {
        let default = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => Some(443),
            Some(s) if s.eq_ignore_ascii_case("http") => Some(80),
            _ => None,
        };
        if default != Some(port) {
            host.push(':');
            host.push_str(&port.to_string());
        }
    }
    Some(host)
}

fn amz_date_for(params: &SigningParams) -> Result<String, SigV4Error> {
    format_amz_date(params.time).ok_or_else(|| invalid("time outside the years 0..=9999"))
}

/// Signs a request in place: sets `x-amz-date`, `x-amz-security-token` (when
/// the params have one) and `authorization`, replacing any previous values.
///
/// Signs `host`, `content-type` (if present) and every `x-amz-*` header. The
/// `host` header is used when present, else derived from the URI's authority
/// and inserted ([`SigV4Error::MissingHost`] when there is neither). The
/// payload hash is the `x-amz-content-sha256` header if the caller set one
/// (e.g. `UNSIGNED-PAYLOAD`), else the SHA-256 of `body`; for S3 the header is
/// then added, as S3 requires it.
pub fn sign(
    params: &SigningParams,
    method: &Method,
    uri: &Uri,
    headers: &mut HeaderMap,
    body: &[u8],
) -> Result<(), SigV4Error> {
    check_params(params)?;
    let amz_date = amz_date_for(params)?;
    let date = amz_date.get(..8).unwrap_or_default();
    let value = |s: &str| HeaderValue::from_str(s).map_err(|_| invalid(format!("bad header value {s:?}")));

    if !headers.contains_key(header::HOST) {
        let host = host_for(uri).ok_or(SigV4Error::MissingHost)?;
        headers.insert(header::HOST, value(&host)?);
    }
    headers.remove(header::AUTHORIZATION);
    headers.insert("x-amz-date", value(&amz_date)?);
    if let Some(token) = params.session_token {
        headers.insert("x-amz-security-token", value(token)?);
    }
    let s3 = is_s3_service(params.service);
    let payload_hash = match headers.get("x-amz-content-sha256") {
        Some(v) => String::from_utf8_lossy(v.as_bytes()).trim().to_owned(),
        None => {
            let hash = sha256_hex(body);
            if s3 {
                headers.insert("x-amz-content-sha256", value(&hash)?);
            }
            hash
        }
    };

    let mut names: Vec<String> = headers
        .keys()
        .map(|name| name.as_str())
        .filter(|name| *name == "host" || *name == "content-type" || name.starts_with("x-amz-"))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    let signed_headers = names.join(";");

    let request = canonical_request(
        method.as_str(),
        &canonical_uri(uri.path(), s3),
        &canonical_query(uri.query(), false),
        &canonical_headers(&names, headers, uri),
        &signed_headers,
        &payload_hash,
    );
    let scope = credential_scope(date, params.region, params.service);
    let key = signing_key(params.secret_key, date, params.region, params.service);
    let signature = canonical::signature(&key, &string_to_sign(&amz_date, &scope, &request));
    let authorization = format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        params.access_key
    );
    headers.insert(header::AUTHORIZATION, value(&authorization)?);
    Ok(())
}

/// Query parameters `presign` sets (and drops from the URI if already there).
const PRESIGN_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
];

/// Returns a presigned URL (query form) for `method` on `uri`, valid for
/// `expires_secs` (1..=604800) from `params.time`. Only `host` is signed and
/// the payload is `UNSIGNED-PAYLOAD`. The URI must be absolute (it needs an
/// authority); existing query parameters are kept.
pub fn presign(params: &SigningParams, method: &Method, uri: &Uri, expires_secs: u64) -> Result<String, SigV4Error> {
    check_params(params)?;
    if expires_secs == 0 || expires_secs > MAX_PRESIGN_EXPIRES_SECS {
        return Err(SigV4Error::InvalidExpires {
            value: expires_secs.to_string(),
            problem: if expires_secs == 0 { ExpiresProblem::Zero } else { ExpiresProblem::TooLarge },
        });
    }
    let authority = uri.authority().ok_or(SigV4Error::MissingHost)?;
    let host = host_for(uri).ok_or(SigV4Error::MissingHost)?;
    let amz_date = amz_date_for(params)?;
    let date = amz_date.get(..8).unwrap_or_default();
    let scope = credential_scope(date, params.region, params.service);

    let mut query = String::new();
    for piece in uri.query().unwrap_or("").split('&') {
        if piece.is_empty() {
            continue;
        }
        let name = piece.split_once('=').map_or(piece, |(n, _)| n);
        let decoded = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
        if PRESIGN_PARAMS.contains(&decoded.as_ref()) {
            continue;
        }
        query.push_str(piece);
        query.push('&');
    }
    let credential = format!("{}/{scope}", params.access_key);
    let expires = expires_secs.to_string();
    let mut auth_params: Vec<(&str, &str)> = vec![
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", &credential),
        ("X-Amz-Date", &amz_date),
        ("X-Amz-Expires", &expires),
        ("X-Amz-SignedHeaders", "host"),
    ];
    if let Some(token) = params.session_token {
        auth_params.push(("X-Amz-Security-Token", token));
    }
    for (i, (name, value)) in auth_params.iter().enumerate() {
        if i > 0 {
            query.push('&');
        }
        query.push_str(name);
        query.push('=');
        query.push_str(&uri_encode(value.as_bytes()));
    }

    let s3 = is_s3_service(params.service);
    let mut headers_block = Vec::with_capacity(host.len() + 6);
    headers_block.extend_from_slice(b"host:");
    headers_block.extend_from_slice(host.as_bytes());
    headers_block.push(b'\n');
    let request = canonical_request(
        method.as_str(),
        &canonical_uri(uri.path(), s3),
        &canonical_query(Some(&query), true),
        &headers_block,
        "host",
        UNSIGNED_PAYLOAD,
    );
    let key = signing_key(params.secret_key, date, params.region, params.service);
    let signature = canonical::signature(&key, &string_to_sign(&amz_date, &scope, &request));
    let scheme = uri.scheme_str().unwrap_or("https");
    Ok(format!("{scheme}://{authority}{}?{query}&X-Amz-Signature={signature}", uri.path()))
}
