//! Reading what a request's SigV4 authentication says, without verifying it.

use http::{HeaderMap, HeaderValue, Method, Uri, header};
use percent_encoding::percent_decode_str;

use crate::canonical::ALGORITHM;
use crate::error::{ExpiresProblem, SigV4Error};
use crate::time::{format_amz_date_secs, parse_amz_date_secs, parse_http_date_secs};
use crate::{AuthInfo, AuthKind};

/// The parts of a credential: `AKID/YYYYMMDD/region/service/aws4_request`.
struct Credential {
    access_key: String,
    date: String,
    region: String,
    service: String,
}

fn parse_credential(value: &str, presigned: bool) -> Result<Credential, SigV4Error> {
    let malformed = || SigV4Error::MalformedCredential { credential: value.to_owned(), presigned };
    let parts: Vec<&str> = value.split('/').collect();
    let [access_key, date, region, service, terminator] = parts.as_slice() else {
        return Err(malformed());
    };
    if access_key.is_empty()
        || region.is_empty()
        || service.is_empty()
        || *terminator != "aws4_request"
        || date.len() != 8
        || !date.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(malformed());
    }
    Ok(Credential {
        access_key: (*access_key).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
    })
}

fn split_signed_headers(value: &str) -> Vec<String> {
    value.split(';').map(str::to_owned).collect()
}

fn header_text(value: &HeaderValue) -> String {
    String::from_utf8_lossy(value.as_bytes()).into_owned()
}

/// The decoded query parameters, in order.
fn query_params(uri: &Uri) -> Vec<(String, String)> {
    let Some(query) = uri.query() else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            (
                percent_decode_str(name).decode_utf8_lossy().into_owned(),
                percent_decode_str(value).decode_utf8_lossy().into_owned(),
            )
        })
        .collect()
}

fn first_param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Parses the Authorization header (`AWS4-HMAC-SHA256 Credential=…,
/// SignedHeaders=…, Signature=…`) or the presigned query form
/// (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
/// `X-Amz-SignedHeaders`, `X-Amz-Signature`, `X-Amz-Security-Token`).
///
/// `Ok(None)` when the request carries no SigV4 at all: no `Authorization`
/// header and none of `X-Amz-Algorithm`, `X-Amz-Credential`,
/// `X-Amz-Signature` in the query (a SigV2 presigned URL —
/// `AWSAccessKeyId`/`Signature`/`Expires` — is also `None`; an
/// `Authorization` header with another scheme is an
/// [`SigV4Error::UnsupportedAlgorithm`] error).
///
/// For the header form the timestamp is `X-Amz-Date`, or else the `Date`
/// header converted to `YYYYMMDDTHHMMSSZ`.
///
/// Never panics, whatever the input.
pub fn parse(_method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<Option<AuthInfo>, SigV4Error> {
    let params = query_params(uri);
    let presigned = params
        .iter()
        .any(|(name, _)| matches!(name.as_str(), "X-Amz-Algorithm" | "X-Amz-Credential" | "X-Amz-Signature"));
    match (headers.get(header::AUTHORIZATION), presigned) {
        (Some(_), true) => Err(SigV4Error::MultipleAuthMechanisms),
        (Some(value), false) => parse_header_form(value, headers).map(Some),
        (None, true) => parse_query_form(&params).map(Some),
        (None, false) => Ok(None),
    }
}

fn parse_header_form(value: &HeaderValue, headers: &HeaderMap) -> Result<AuthInfo, SigV4Error> {
    let full = header_text(value);
    let text = full.trim();
    let Some(rest) = text.strip_prefix(ALGORITHM) else {
        return Err(SigV4Error::UnsupportedAlgorithm {
            algorithm: text.split_ascii_whitespace().next().unwrap_or("").to_owned(),
            presigned: false,
        });
    };
    if rest.as_bytes().first().is_some_and(|b| !b.is_ascii_whitespace()) {
        // e.g. "AWS4-HMAC-SHA256X …" or "AWS4-HMAC-SHA256Credential=…"
        return Err(SigV4Error::UnsupportedAlgorithm {
            algorithm: text.split_ascii_whitespace().next().unwrap_or("").to_owned(),
            presigned: false,
        });
    }

    let mut credential: Option<&str> = None;
    let mut signed_headers: Option<&str> = None;
    let mut signature: Option<&str> = None;
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((key, val)) = part.split_once('=') else {
            return Err(SigV4Error::IncompleteSignature {
                message: format!(
                    "'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{text}'."
                ),
                date_only: false,
            });
        };
        let val = val.trim();
        let slot = match key.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.is_none() && !val.is_empty() {
            *slot = Some(val);
        }
    }

    // The timestamp: X-Amz-Date, or else Date.
    let amz_date_header = headers.get("x-amz-date");
    let date_header = headers.get(header::DATE);
    let has_date = amz_date_header.is_some() || date_header.is_some();

    let (Some(credential), Some(signed_headers), Some(signature), true) =
        (credential, signed_headers, signature, has_date)
    else {
        let mut message = String::new();
        if credential.is_none() {
            message.push_str("Authorization header requires 'Credential' parameter. ");
        }
        if signature.is_none() {
            message.push_str("Authorization header requires 'Signature' parameter. ");
        }
        if signed_headers.is_none() {
            message.push_str("Authorization header requires 'SignedHeaders' parameter. ");
        }
        if !has_date {
            message.push_str("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ");
        }
        let date_only = credential.is_some() && signed_headers.is_some() && signature.is_some();
        message.push_str("Authorization=");
        message.push_str(text);
        return Err(SigV4Error::IncompleteSignature { message, date_only });
    };

    let cred = parse_credential(credential, false)?;

    let amz_date = match (amz_date_header, date_header) {
        (Some(v), _) => {
            let text = header_text(v);
            let text = text.trim();
            if parse_amz_date_secs(text).is_none() {
                return Err(SigV4Error::InvalidDate { value: text.to_owned(), presigned: false });
            }
            text.to_owned()
        }
        (None, Some(v)) => {
            let text = header_text(v);
            parse_http_date_secs(text.trim())
                .and_then(format_amz_date_secs)
                .ok_or_else(|| SigV4Error::InvalidDate { value: text.trim().to_owned(), presigned: false })?
        }
        (None, None) => {
            return Err(SigV4Error::IncompleteSignature {
                message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                    .to_owned(),
                date_only: true,
            });
        }
    };

    Ok(AuthInfo {
        kind: AuthKind::Header,
        access_key: cred.access_key,
        date: cred.date,
        region: cred.region,
        service: cred.service,
        amz_date,
        signed_headers: split_signed_headers(signed_headers),
        signature: signature.to_owned(),
        session_token: headers.get("x-amz-security-token").map(|v| header_text(v).trim().to_owned()),
    })
}

fn parse_query_form(params: &[(String, String)]) -> Result<AuthInfo, SigV4Error> {
    let get = |name: &str| first_param(params, name);
    let (Some(algorithm), Some(credential), Some(signature), Some(amz_date), Some(signed_headers), Some(expires)) = (
        get("X-Amz-Algorithm"),
        get("X-Amz-Credential"),
        get("X-Amz-Signature"),
        get("X-Amz-Date"),
        get("X-Amz-SignedHeaders"),
        get("X-Amz-Expires"),
    ) else {
        return Err(SigV4Error::MissingPresignParameters);
    };
    if algorithm != ALGORITHM {
        return Err(SigV4Error::UnsupportedAlgorithm { algorithm: algorithm.to_owned(), presigned: true });
    }
    let cred = parse_credential(credential, true)?;
    if parse_amz_date_secs(amz_date).is_none() {
        return Err(SigV4Error::InvalidDate { value: amz_date.to_owned(), presigned: true });
    }
    let expires_secs = parse_expires(expires)?;
    Ok(AuthInfo {
        kind: AuthKind::Presigned { expires_secs },
        access_key: cred.access_key,
        date: cred.date,
        region: cred.region,
        service: cred.service,
        amz_date: amz_date.to_owned(),
        signed_headers: split_signed_headers(signed_headers),
        signature: signature.to_owned(),
        session_token: get("X-Amz-Security-Token").map(str::to_owned),
    })
}

/// Parses `X-Amz-Expires` as a number of seconds (the range is checked by `verify`).
fn parse_expires(value: &str) -> Result<u64, SigV4Error> {
    let problem = |problem| SigV4Error::InvalidExpires { value: value.to_owned(), problem };
    if let Some(rest) = value.strip_prefix('-') {
        return Err(problem(if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
            ExpiresProblem::Negative
        } else {
            ExpiresProblem::NotANumber
        }));
    }
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(problem(ExpiresProblem::NotANumber));
    }
    // All digits: only overflow can fail, and that is "too large".
    value.parse::<u64>().map_err(|_| problem(ExpiresProblem::TooLarge))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::SigV4ErrorKind;

    fn req(uri: &str, headers: &[(&str, &str)]) -> (Method, Uri, HeaderMap) {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        (Method::GET, uri.parse().unwrap(), map)
    }

    fn parse_req(uri: &str, headers: &[(&str, &str)]) -> Result<Option<AuthInfo>, SigV4Error> {
        let (m, u, h) = req(uri, headers);
        parse(&m, &u, &h)
    }

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    #[test]
    fn no_auth_is_none() {
        assert_eq!(parse_req("/", &[]).unwrap(), None);
        assert_eq!(parse_req("/?a=b&X-Amz-Date=1", &[]).unwrap(), None);
        assert_eq!(parse_req("/?AWSAccessKeyId=x&Signature=y&Expires=1", &[]).unwrap(), None);
    }

    #[test]
    fn header_form() {
        let info = parse_req(
            "/",
            &[("authorization", AUTH), ("x-amz-date", "20150830T123600Z"), ("x-amz-security-token", "tok")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(info.kind, AuthKind::Header);
        assert_eq!(info.access_key, "AKIDEXAMPLE");
        assert_eq!(info.date, "20150830");
        assert_eq!(info.region, "us-east-1");
        assert_eq!(info.service, "service");
        assert_eq!(info.amz_date, "20150830T123600Z");
        assert_eq!(info.signed_headers, vec!["host", "x-amz-date"]);
        assert_eq!(info.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
        assert_eq!(info.session_token.as_deref(), Some("tok"));
    }

    #[test]
    fn header_form_without_spaces_and_with_date_header() {
        let auth = AUTH.replace(", ", ",");
        let info = parse_req("/", &[("authorization", auth.as_str()), ("date", "Mon, 09 Sep 2011 23:36:00 GMT")])
            .unwrap()
            .unwrap();
        assert_eq!(info.amz_date, "20110909T233600Z");
        assert_eq!(info.session_token, None);
    }

    #[test]
    fn missing_parts_are_incomplete() {
        let err = parse_req(
            "/",
            &[("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/sqs/aws4_request")],
        )
        .unwrap_err();
        assert_eq!(err.kind(), SigV4ErrorKind::Incomplete);
        assert_eq!(
            err.to_string(),
            "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/sqs/aws4_request"
        );

        let err = parse_req("/", &[("authorization", AUTH)]).unwrap_err();
        assert!(matches!(err, SigV4Error::IncompleteSignature { date_only: true, .. }));

        let err = parse_req(
            "/",
            &[
                ("authorization", "AWS4-HMAC-SHA256 Credential AKID/20150830/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00"),
                ("x-amz-date", "20150830T123600Z"),
            ],
        )
        .unwrap_err();
        assert_eq!(err.kind(), SigV4ErrorKind::Incomplete);
        assert!(err.to_string().contains("not a valid key=value pair (missing equal-sign)"));

        let err = parse_req("/", &[("authorization", "AWS4-HMAC-SHA256")]).unwrap_err();
        assert_eq!(err.kind(), SigV4ErrorKind::Incomplete);
    }

    #[test]
    fn bad_credentials_and_dates() {
        for cred in [
            "AKID/20150830/us-east-1/sqs",
            "AKID/20150830/us-east-1/sqs/aws4_request/x",
            "/20150830/us-east-1/sqs/aws4_request",
            "AKID/2015083/us-east-1/sqs/aws4_request",
            "AKID/2015083x/us-east-1/sqs/aws4_request",
            "AKID/20150830//sqs/aws4_request",
            "AKID/20150830/us-east-1/sqs/aws4_reques",
        ] {
            let auth = format!("AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders=host, Signature=00");
            let err = parse_req("/", &[("authorization", &auth), ("x-amz-date", "20150830T123600Z")]).unwrap_err();
            assert!(matches!(err, SigV4Error::MalformedCredential { presigned: false, .. }), "{cred}: {err:?}");
            assert_eq!(err.kind(), SigV4ErrorKind::Incomplete);
        }
        let err = parse_req("/", &[("authorization", AUTH), ("x-amz-date", "2015-08-30T12:36:00Z")]).unwrap_err();
        assert!(matches!(err, SigV4Error::InvalidDate { presigned: false, .. }));
        let err = parse_req("/", &[("authorization", AUTH), ("date", "yesterday")]).unwrap_err();
        assert!(matches!(err, SigV4Error::InvalidDate { presigned: false, .. }));
    }

    #[test]
    fn other_schemes_are_unsupported() {
        for auth in [
            "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
            "Bearer abc",
            "AWS4-HMAC-SHA512 Credential=a/b/c/d/aws4_request",
            "AWS4-HMAC-SHA256Credential=AKID/20150830/us-east-1/sqs/aws4_request",
            "",
        ] {
            let err = parse_req("/", &[("authorization", auth)]).unwrap_err();
            assert!(matches!(err, SigV4Error::UnsupportedAlgorithm { presigned: false, .. }), "{auth}: {err:?}");
            assert_eq!(err.kind(), SigV4ErrorKind::Malformed);
        }
    }

    const PRESIGNED: &str = "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

    #[test]
    fn query_form() {
        let info = parse_req(PRESIGNED, &[]).unwrap().unwrap();
        assert_eq!(info.kind, AuthKind::Presigned { expires_secs: 86400 });
        assert_eq!(info.access_key, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(info.service, "s3");
        assert_eq!(info.amz_date, "20130524T000000Z");
        assert_eq!(info.signed_headers, vec!["host"]);
        assert_eq!(info.session_token, None);
    }

    #[test]
    fn query_form_errors() {
        let err = parse_req(PRESIGNED, &[("authorization", AUTH)]).unwrap_err();
        assert!(matches!(err, SigV4Error::MultipleAuthMechanisms));

        let missing = PRESIGNED.replace("&X-Amz-Expires=86400", "");
        let err = parse_req(&missing, &[]).unwrap_err();
        assert!(matches!(err, SigV4Error::MissingPresignParameters));
        assert_eq!(err.kind(), SigV4ErrorKind::Malformed);

        let algo = PRESIGNED.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256");
        let err = parse_req(&algo, &[]).unwrap_err();
        assert!(matches!(err, SigV4Error::UnsupportedAlgorithm { presigned: true, .. }));

        for (expires, problem) in [
            ("abc", ExpiresProblem::NotANumber),
            ("", ExpiresProblem::NotANumber),
            ("-5", ExpiresProblem::Negative),
            ("-", ExpiresProblem::NotANumber),
            ("99999999999999999999999", ExpiresProblem::TooLarge),
        ] {
            let uri = PRESIGNED.replace("X-Amz-Expires=86400", &format!("X-Amz-Expires={expires}"));
            let err = parse_req(&uri, &[]).unwrap_err();
            assert_eq!(err, SigV4Error::InvalidExpires { value: expires.to_owned(), problem });
        }

        let cred = PRESIGNED.replace("%2Faws4_request", "");
        let err = parse_req(&cred, &[]).unwrap_err();
        assert!(matches!(err, SigV4Error::MalformedCredential { presigned: true, .. }));
        assert_eq!(err.kind(), SigV4ErrorKind::Malformed);

        let date = PRESIGNED.replace("X-Amz-Date=20130524T000000Z", "X-Amz-Date=20130524");
        let err = parse_req(&date, &[]).unwrap_err();
        assert!(matches!(err, SigV4Error::InvalidDate { presigned: true, .. }));
    }
}
