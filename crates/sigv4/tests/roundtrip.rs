//! Sign → parse → verify round trips, tampering, time rules and error kinds.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue, Method, Uri};
use stratus_sigv4::{
    AuthInfo, AuthKind, Dialect, SigV4Error, SigV4ErrorKind, SigningParams, parse, parse_amz_date, presign, sha256_hex,
    sign, unsigned_amz_headers, verify,
};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn t0() -> SystemTime {
    parse_amz_date("20240517T103000Z").unwrap()
}

fn params(service: &'static str) -> SigningParams<'static> {
    SigningParams {
        access_key: "AKIDEXAMPLE",
        secret_key: SECRET,
        session_token: None,
        region: "us-east-1",
        service,
        time: t0(),
    }
}

struct Signed {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Signed {
    fn new(service: &'static str, method: Method, uri: &str, body: &[u8]) -> Self {
        let uri: Uri = uri.parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.0"));
        headers.insert("x-amz-target", HeaderValue::from_static("AmazonSQS.ListQueues"));
        sign(&params(service), &method, &uri, &mut headers, body).unwrap();
        Signed { method, uri, headers, body: body.to_vec() }
    }

    fn info(&self) -> AuthInfo {
        parse(&self.method, &self.uri, &self.headers).unwrap().unwrap()
    }

    fn verify_with(&self, secret: &str, now: SystemTime) -> Result<(), SigV4Error> {
        verify(&self.info(), &self.method, &self.uri, &self.headers, &sha256_hex(&self.body), secret, now)
    }

    fn verify(&self) -> Result<(), SigV4Error> {
        self.verify_with(SECRET, t0())
    }
}

fn kind(r: Result<(), SigV4Error>) -> SigV4ErrorKind {
    r.unwrap_err().kind()
}

#[test]
fn sign_then_verify() {
    let s = Signed::new("sqs", Method::POST, "http://localhost:4566/", br#"{"QueueNamePrefix":"x"}"#);
    let auth = s.headers.get("authorization").unwrap().to_str().unwrap();
    assert!(auth.starts_with(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240517/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="
    ));
    assert_eq!(s.headers.get("host").unwrap(), "localhost:4566");
    assert_eq!(s.headers.get("x-amz-date").unwrap(), "20240517T103000Z");
    assert!(s.headers.get("x-amz-content-sha256").is_none());
    s.verify().unwrap();

    let info = s.info();
    assert_eq!(info.kind, AuthKind::Header);
    assert_eq!(info.credential_scope(), "20240517/us-east-1/sqs/aws4_request");
    assert!(!info.is_presigned());
    assert!(unsigned_amz_headers(&info, &s.headers).is_empty());
}

#[test]
fn sign_then_verify_s3_with_awkward_path_and_query() {
    let s = Signed::new(
        "s3",
        Method::PUT,
        "http://127.0.0.1:9000/bucket/dir%20x/a+b/%E2%82%AC!'()*.txt?uploads&partNumber=2&x=a%2Fb&y=c+d&z",
        b"data",
    );
    assert_eq!(s.headers.get("x-amz-content-sha256").unwrap(), sha256_hex(b"data").as_str());
    s.verify().unwrap();
}

#[test]
fn sign_with_session_token_and_unsigned_payload() {
    let uri: Uri = "https://s3.us-west-2.amazonaws.com/b/k".parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("x-amz-content-sha256", HeaderValue::from_static("UNSIGNED-PAYLOAD"));
    let p = SigningParams { session_token: Some("session/token+="), region: "us-west-2", ..params("s3") };
    sign(&p, &Method::PUT, &uri, &mut headers, b"ignored").unwrap();
    assert_eq!(headers.get("host").unwrap(), "s3.us-west-2.amazonaws.com");
    let info = parse(&Method::PUT, &uri, &headers).unwrap().unwrap();
    assert_eq!(info.session_token.as_deref(), Some("session/token+="));
    assert!(info.signed_headers.contains(&"x-amz-security-token".to_owned()));
    // Any body: the payload is unsigned.
    verify(&info, &Method::PUT, &uri, &headers, &sha256_hex(b"other"), SECRET, t0()).unwrap();
}

#[test]
fn wrong_secret_is_a_mismatch() {
    let s = Signed::new("sqs", Method::POST, "http://localhost/", b"{}");
    let err = s.verify_with("not-the-secret", t0()).unwrap_err();
    assert_eq!(err.kind(), SigV4ErrorKind::SignatureMismatch);
    let SigV4Error::SignatureMismatch { access_key, canonical_request, string_to_sign, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(access_key, "AKIDEXAMPLE");
    assert!(canonical_request.starts_with("POST\n/\n\ncontent-type:application/x-amz-json-1.0\n"));
    assert!(string_to_sign.starts_with("AWS4-HMAC-SHA256\n20240517T103000Z\n"));
    assert_eq!(
        err.to_string(),
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    );
    let s3 = err.aws_error(Dialect::S3);
    assert_eq!((s3.code, s3.status), ("SignatureDoesNotMatch", 403));
}

#[test]
fn tampering_is_a_mismatch() {
    let fresh = || Signed::new("sqs", Method::POST, "http://localhost/queue/a?Action=X&b=1", b"{\"a\":1}");
    fresh().verify().unwrap();

    let mut s = fresh();
    s.headers.insert("x-amz-target", HeaderValue::from_static("AmazonSQS.DeleteQueue"));
    assert_eq!(kind(s.verify()), SigV4ErrorKind::SignatureMismatch);

    let mut s = fresh();
    s.headers.insert("content-type", HeaderValue::from_static("text/plain"));
    assert_eq!(kind(s.verify()), SigV4ErrorKind::SignatureMismatch);

    let mut s = fresh();
    s.body = b"{\"a\":2}".to_vec();
    assert_eq!(kind(s.verify()), SigV4ErrorKind::SignatureMismatch);

    let mut s = fresh();
    s.uri = "http://localhost/queue/b?Action=X&b=1".parse().unwrap();
    assert_eq!(kind(s.verify()), SigV4ErrorKind::SignatureMismatch);

    let mut s = fresh();
    s.uri = "http://localhost/queue/a?Action=X&b=2".parse().unwrap();
    assert_eq!(kind(s.verify()), SigV4ErrorKind::SignatureMismatch);

    let mut s = fresh();
    s.uri = "http://localhost/queue/a?Action=X&b=1&c=3".parse().unwrap();
    assert_eq!(kind(s.verify()), SigV4ErrorKind::SignatureMismatch);

    let mut s = fresh();
    s.method = Method::PUT;
    assert_eq!(kind(s.verify()), SigV4ErrorKind::SignatureMismatch);

    let mut s = fresh();
    s.headers.insert("host", HeaderValue::from_static("evil.example"));
    assert_eq!(kind(s.verify()), SigV4ErrorKind::SignatureMismatch);

    // Another signature of the right shape.
    let s = fresh();
    let mut info = s.info();
    info.signature = "0".repeat(64);
    let err = verify(&info, &s.method, &s.uri, &s.headers, &sha256_hex(&s.body), SECRET, t0());
    assert_eq!(kind(err), SigV4ErrorKind::SignatureMismatch);

    // An unsigned extra header does not matter…
    let mut s = fresh();
    s.headers.insert("user-agent", HeaderValue::from_static("x"));
    s.verify().unwrap();
    // …but an unsigned x-amz-* header is reported for S3-style checks.
    let mut s = fresh();
    s.headers.insert("x-amz-acl", HeaderValue::from_static("public-read"));
    s.verify().unwrap();
    assert_eq!(unsigned_amz_headers(&s.info(), &s.headers), vec!["x-amz-acl"]);
}

#[test]
fn content_sha256_header_must_match_the_body() {
    let uri: Uri = "http://localhost/b/k".parse().unwrap();
    let mut headers = HeaderMap::new();
    sign(&params("s3"), &Method::PUT, &uri, &mut headers, b"body").unwrap();
    let info = parse(&Method::PUT, &uri, &headers).unwrap().unwrap();
    verify(&info, &Method::PUT, &uri, &headers, &sha256_hex(b"body"), SECRET, t0()).unwrap();
    // Body not read yet: the caller must compare later.
    verify(&info, &Method::PUT, &uri, &headers, "", SECRET, t0()).unwrap();
    let err = verify(&info, &Method::PUT, &uri, &headers, &sha256_hex(b"other"), SECRET, t0()).unwrap_err();
    assert!(matches!(err, SigV4Error::ContentSha256Mismatch { .. }), "{err:?}");
    assert_eq!(err.aws_error(Dialect::S3).code, "XAmzContentSHA256Mismatch");
}

#[test]
fn clock_skew() {
    let s = Signed::new("sqs", Method::POST, "http://localhost/", b"{}");
    let fifteen = Duration::from_secs(15 * 60);
    s.verify_with(SECRET, t0() + fifteen).unwrap();
    s.verify_with(SECRET, t0() - fifteen).unwrap();

    let err = s.verify_with(SECRET, t0() + fifteen + Duration::from_secs(1)).unwrap_err();
    assert_eq!(err.kind(), SigV4ErrorKind::Expired);
    assert_eq!(
        err.to_string(),
        "Signature expired: 20240517T103000Z is now earlier than 20240517T103001Z (20240517T104501Z - 15 min.)"
    );
    let json = err.aws_error(Dialect::Json);
    assert_eq!((json.code, json.status), ("InvalidSignatureException", 400));
    let query = err.aws_error(Dialect::Query);
    assert_eq!((query.code, query.status), ("SignatureDoesNotMatch", 403));
    let s3 = err.aws_error(Dialect::S3);
    assert_eq!((s3.code, s3.status), ("RequestTimeTooSkewed", 403));

    let err = s.verify_with(SECRET, t0() - fifteen - Duration::from_secs(60)).unwrap_err();
    assert_eq!(err.kind(), SigV4ErrorKind::Expired);
    assert_eq!(
        err.to_string(),
        "Signature not yet current: 20240517T103000Z is still later than 20240517T102900Z (20240517T101400Z + 15 min.)"
    );

    // Skew is checked before the signature: even a wrong secret reports it.
    let err = s.verify_with("wrong", t0() + fifteen * 2).unwrap_err();
    assert_eq!(err.kind(), SigV4ErrorKind::Expired);
}

#[test]
fn presign_then_verify() {
    let base: Uri = "https://localhost:4566/bucket/some%20key.txt?versionId=3".parse().unwrap();
    let url = presign(&params("s3"), &Method::GET, &base, 600).unwrap();
    assert!(url.starts_with("https://localhost:4566/bucket/some%20key.txt?versionId=3&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240517%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240517T103000Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature="));
    let uri: Uri = url.parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("localhost:4566"));
    let info = parse(&Method::GET, &uri, &headers).unwrap().unwrap();
    assert_eq!(info.kind, AuthKind::Presigned { expires_secs: 600 });
    assert!(info.is_presigned());
    let check = |secret: &str, now: SystemTime| verify(&info, &Method::GET, &uri, &headers, "", secret, now);
    check(SECRET, t0()).unwrap();
    check(SECRET, t0() + Duration::from_secs(599)).unwrap();
    // Presigned URLs are not bound by the 15-minute skew after signing.
    check(SECRET, t0() - Duration::from_secs(899)).unwrap();

    let err = check(SECRET, t0() + Duration::from_secs(600)).unwrap_err();
    assert_eq!(err.kind(), SigV4ErrorKind::PresignExpired);
    assert_eq!(err.to_string(), "Request has expired");
    let s3 = err.aws_error(Dialect::S3);
    assert_eq!((s3.code, s3.status, s3.message.as_str()), ("AccessDenied", 403, "Request has expired"));

    let err = check(SECRET, t0() - Duration::from_secs(901)).unwrap_err();
    assert_eq!(err.kind(), SigV4ErrorKind::PresignExpired);
    assert_eq!(err.to_string(), "Request is not yet valid");

    assert_eq!(kind(check("wrong", t0())), SigV4ErrorKind::SignatureMismatch);

    // Other method, other host, extra parameter: mismatch.
    assert_eq!(kind(verify(&info, &Method::PUT, &uri, &headers, "", SECRET, t0())), SigV4ErrorKind::SignatureMismatch);
    let mut other_host = headers.clone();
    other_host.insert("host", HeaderValue::from_static("localhost:4567"));
    assert_eq!(
        kind(verify(&info, &Method::GET, &uri, &other_host, "", SECRET, t0())),
        SigV4ErrorKind::SignatureMismatch
    );
    let extra: Uri = format!("{url}&x=1").parse().unwrap();
    assert_eq!(
        kind(verify(&info, &Method::GET, &extra, &headers, "", SECRET, t0())),
        SigV4ErrorKind::SignatureMismatch
    );
}

#[test]
fn presign_with_token_for_non_s3_service() {
    let base: Uri = "http://localhost:4566/?Action=GetCallerIdentity&Version=2011-06-15".parse().unwrap();
    let p = SigningParams { session_token: Some("tok/en+=="), ..params("sts") };
    let url = presign(&p, &Method::GET, &base, 60).unwrap();
    let uri: Uri = url.parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("localhost:4566"));
    let info = parse(&Method::GET, &uri, &headers).unwrap().unwrap();
    assert_eq!(info.session_token.as_deref(), Some("tok/en+=="));
    assert_eq!(info.service, "sts");
    verify(&info, &Method::GET, &uri, &headers, &sha256_hex(b""), SECRET, t0()).unwrap();
    // Re-presigning an already presigned URL replaces the auth parameters.
    let again = presign(&p, &Method::GET, &uri, 60).unwrap();
    assert_eq!(again, url);
}

#[test]
fn presign_expiry_limits() {
    let base: Uri = "https://localhost/b/k".parse().unwrap();
    for bad in [0, 604_801] {
        let err = presign(&params("s3"), &Method::GET, &base, bad).unwrap_err();
        assert_eq!(err.kind(), SigV4ErrorKind::Malformed);
    }
    let url = presign(&params("s3"), &Method::GET, &base, 604_800).unwrap();
    let uri: Uri = url.parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("localhost"));
    let info = parse(&Method::GET, &uri, &headers).unwrap().unwrap();
    verify(&info, &Method::GET, &uri, &headers, "", SECRET, t0() + Duration::from_secs(604_799)).unwrap();

    // A hand-made AuthInfo with an out-of-range expiry is refused by verify.
    let mut long = info.clone();
    long.kind = AuthKind::Presigned { expires_secs: 604_801 };
    let err = verify(&long, &Method::GET, &uri, &headers, "", SECRET, t0()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"
    );
    let s3 = err.aws_error(Dialect::S3);
    assert_eq!((s3.code, s3.status), ("AuthorizationQueryParametersError", 400));
}

#[test]
fn scope_date_must_match_request_date() {
    let s = Signed::new("sqs", Method::POST, "http://localhost/", b"{}");
    let auth = s.headers.get("authorization").unwrap().to_str().unwrap();
    let mut headers = s.headers.clone();
    headers.insert("authorization", HeaderValue::from_str(&auth.replace("/20240517/", "/20240516/")).unwrap());
    let info = parse(&s.method, &s.uri, &headers).unwrap().unwrap();
    let err = verify(&info, &s.method, &s.uri, &headers, &sha256_hex(&s.body), SECRET, t0()).unwrap_err();
    assert_eq!(err.kind(), SigV4ErrorKind::SignatureMismatch);
    assert_eq!(
        err.to_string(),
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20240516' != '20240517', from '20240517T103000Z'."
    );
    assert_eq!(
        err.aws_error(Dialect::S3).message,
        "The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date."
    );
}

#[test]
fn required_headers_must_be_signed() {
    let s = Signed::new("sqs", Method::POST, "http://localhost/", b"{}");
    let mut info = s.info();
    info.signed_headers.retain(|h| h != "host");
    let err = verify(&info, &s.method, &s.uri, &s.headers, &sha256_hex(&s.body), SECRET, t0()).unwrap_err();
    assert_eq!(err, SigV4Error::UnsignedRequiredHeader { header: "Host".into() });
    assert_eq!(err.kind(), SigV4ErrorKind::Incomplete);

    let mut info = s.info();
    info.signed_headers.retain(|h| h != "x-amz-date");
    let err = verify(&info, &s.method, &s.uri, &s.headers, &sha256_hex(&s.body), SECRET, t0()).unwrap_err();
    assert!(matches!(err, SigV4Error::UnsignedRequiredHeader { .. }));

    let mut info = s.info();
    info.signed_headers.retain(|h| h != "x-amz-target");
    let err = verify(&info, &s.method, &s.uri, &s.headers, &sha256_hex(&s.body), SECRET, t0()).unwrap_err();
    assert_eq!(err.to_string(), "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.");
}

#[test]
fn missing_parts_are_incomplete() {
    let uri: Uri = "/".parse().unwrap();
    for auth in [
        "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=abc",
        "AWS4-HMAC-SHA256 Credential=AKID/20240517/us-east-1/sqs/aws4_request, Signature=abc",
        "AWS4-HMAC-SHA256 Credential=AKID/20240517/us-east-1/sqs/aws4_request, SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=abc",
        "AWS4-HMAC-SHA256 ",
    ] {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_str(auth).unwrap());
        headers.insert("x-amz-date", HeaderValue::from_static("20240517T103000Z"));
        let err = parse(&Method::GET, &uri, &headers).unwrap_err();
        assert_eq!(err.kind(), SigV4ErrorKind::Incomplete, "{auth}");
        let q = err.aws_error(Dialect::Query);
        assert_eq!((q.code, q.status), ("IncompleteSignature", 400));
        assert_eq!(err.aws_error(Dialect::S3).code, "AuthorizationHeaderMalformed");
    }
}

#[test]
fn unknown_access_key_is_for_callers() {
    let err = SigV4Error::UnknownAccessKey { access_key: "AKIDNOPE".into() };
    assert_eq!(err.kind(), SigV4ErrorKind::UnknownAccessKey);
    assert_eq!(err.to_string(), "The security token included in the request is invalid.");
}

#[test]
fn http2_authority_stands_in_for_host() {
    let uri: Uri = "https://sqs.local:8443/".parse().unwrap();
    let mut headers = HeaderMap::new();
    sign(&params("sqs"), &Method::POST, &uri, &mut headers, b"{}").unwrap();
    assert_eq!(headers.get("host").unwrap(), "sqs.local:8443");
    headers.remove("host");
    let info = parse(&Method::POST, &uri, &headers).unwrap().unwrap();
    verify(&info, &Method::POST, &uri, &headers, &sha256_hex(b"{}"), SECRET, t0()).unwrap();
}

#[test]
fn signing_needs_a_host_and_sane_inputs() {
    let relative: Uri = "/just/a/path".parse().unwrap();
    let mut headers = HeaderMap::new();
    let err = sign(&params("sqs"), &Method::GET, &relative, &mut headers, b"").unwrap_err();
    assert!(matches!(err, SigV4Error::MissingHost));
    let err = presign(&params("s3"), &Method::GET, &relative, 60).unwrap_err();
    assert!(matches!(err, SigV4Error::MissingHost));

    // With an explicit Host header a relative URI is fine.
    headers.insert("host", HeaderValue::from_static("example.com"));
    sign(&params("sqs"), &Method::GET, &relative, &mut headers, b"").unwrap();

    let bad = SigningParams { access_key: "AK/ID", ..params("sqs") };
    let uri: Uri = "http://x/".parse().unwrap();
    let err = sign(&bad, &Method::GET, &uri, &mut HeaderMap::new(), b"").unwrap_err();
    assert!(matches!(err, SigV4Error::InvalidSigningInput { .. }));
    let bad = SigningParams { session_token: Some("bad\ntoken"), ..params("sqs") };
    let err = sign(&bad, &Method::GET, &uri, &mut HeaderMap::new(), b"").unwrap_err();
    assert!(matches!(err, SigV4Error::InvalidSigningInput { .. }));
    // The secret is not printed.
    assert!(!format!("{:?}", params("s3")).contains(SECRET));
}

#[test]
fn default_ports_are_left_out_of_the_host() {
    for (uri, host) in [
        ("http://example.com:80/", "example.com"),
        ("https://example.com:443/", "example.com"),
        ("http://example.com:443/", "example.com:443"),
        ("http://EXAMPLE.com:8080/", "example.com:8080"),
        ("http://[::1]:4566/", "[::1]:4566"),
    ] {
        let uri: Uri = uri.parse().unwrap();
        let mut headers = HeaderMap::new();
        sign(&params("sqs"), &Method::GET, &uri, &mut headers, b"").unwrap();
        assert_eq!(headers.get("host").unwrap(), host);
    }
}

mod properties {
    use super::*;
    use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
    use proptest::prelude::*;

    /// What a typical client leaves unencoded in a path segment.
    const PATH: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'/')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'[')
        .add(b'\\')
        .add(b']')
        .add(b'^')
        .add(b'`')
        .add(b'{')
        .add(b'|')
        .add(b'}');
    /// The same for query names and values (also `&`, `=`, `+`).
    const QUERY: &AsciiSet = &PATH.add(b'&').add(b'=').add(b'+');

    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9._~-]{0,6}",
            "[ !$&'()*+,;=:@%./a-z\u{e9}\u{20ac}]{0,6}",
            Just(".".to_owned()),
            Just("..".to_owned()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_signed_request_verifies(
            s3 in any::<bool>(),
            segments in prop::collection::vec(segment(), 0..5),
            trailing_slash in any::<bool>(),
            query in prop::collection::vec(("[a-zA-Z0-9 +&=/%-]{0,5}", "[a-zA-Z0-9 +&=/%~-]{0,5}"), 0..4),
            header_value in "[ -~]{0,20}",
            body in prop::collection::vec(any::<u8>(), 0..64),
            method in prop_oneof![Just(Method::GET), Just(Method::PUT), Just(Method::POST), Just(Method::DELETE)],
        ) {
            let mut path = String::new();
            for seg in &segments {
                path.push('/');
                path.push_str(&utf8_percent_encode(seg, PATH).to_string());
            }
            if path.is_empty() || trailing_slash {
                path.push('/');
            }
            let mut uri = format!("http://localhost:4566{path}");
            for (i, (name, value)) in query.iter().enumerate() {
                uri.push(if i == 0 { '?' } else { '&' });
                uri.push_str(&utf8_percent_encode(name, QUERY).to_string());
                uri.push('=');
                uri.push_str(&utf8_percent_encode(value, QUERY).to_string());
            }
            let uri: Uri = uri.parse().unwrap();
            let service = if s3 { "s3" } else { "sqs" };
            let mut headers = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&header_value) {
                headers.insert("x-amz-meta-note", v);
            }
            sign(&params(service), &method, &uri, &mut headers, &body).unwrap();
            let info = parse(&method, &uri, &headers).unwrap().unwrap();
            let hash = sha256_hex(&body);
            prop_assert!(verify(&info, &method, &uri, &headers, &hash, SECRET, t0()).is_ok());
            let other = sha256_hex(b"something else entirely");
            if !s3 {
                // Without x-amz-content-sha256 the body hash is what was signed.
                prop_assert_eq!(
                    verify(&info, &method, &uri, &headers, &other, SECRET, t0()).unwrap_err().kind(),
                    SigV4ErrorKind::SignatureMismatch
                );
            }
            prop_assert_eq!(
                verify(&info, &method, &uri, &headers, &hash, "other secret", t0()).unwrap_err().kind(),
                SigV4ErrorKind::SignatureMismatch
            );

            // Presigned form of the same request.
            let url = presign(&params(service), &method, &uri, 300).unwrap();
            let presigned: Uri = url.parse().unwrap();
            let mut host = HeaderMap::new();
            host.insert("host", HeaderValue::from_static("localhost:4566"));
            let info = parse(&method, &presigned, &host).unwrap().unwrap();
            prop_assert!(verify(&info, &method, &presigned, &host, "", SECRET, t0()).is_ok());
        }

        #[test]
        fn garbage_never_panics(
            method in prop_oneof![Just(Method::GET), Just(Method::POST), Just(Method::from_bytes(b"X-CUSTOM").unwrap())],
            uri in "[ -~]{0,60}",
            auth_parts in prop::collection::vec(prop_oneof![
                Just("AWS4-HMAC-SHA256".to_owned()),
                Just(" ".to_owned()),
                Just(",".to_owned()),
                Just("Credential=".to_owned()),
                Just("SignedHeaders=".to_owned()),
                Just("Signature=".to_owned()),
                Just("AKID/20240517/us-east-1/s3/aws4_request".to_owned()),
                Just("host;x-amz-date".to_owned()),
                Just("/".to_owned()),
                Just(";".to_owned()),
                Just("=".to_owned()),
                "[ -~]{0,8}",
            ], 0..12),
            query_parts in prop::collection::vec(prop_oneof![
                Just("X-Amz-Algorithm=AWS4-HMAC-SHA256".to_owned()),
                Just("X-Amz-Credential=AKID%2F20240517%2Fus-east-1%2Fs3%2Faws4_request".to_owned()),
                Just("X-Amz-Date=20240517T103000Z".to_owned()),
                Just("X-Amz-Expires=".to_owned()),
                Just("X-Amz-SignedHeaders=host".to_owned()),
                Just("X-Amz-Signature=".to_owned()),
                Just("X-Amz-Security-Token=".to_owned()),
                Just("&".to_owned()),
                Just("%".to_owned()),
                "[a-zA-Z0-9%=&]{0,8}",
            ], 0..10),
            header_bytes in prop::collection::vec((prop_oneof![
                Just("authorization"), Just("x-amz-date"), Just("date"), Just("host"),
                Just("x-amz-content-sha256"), Just("x-amz-security-token"), Just("x-amz-target"),
            ], prop::collection::vec(any::<u8>(), 0..40)), 0..6),
            use_auth in any::<bool>(),
            secs in any::<u64>(),
        ) {
            let uri_text = format!("{}?{}", uri.split('?').next().unwrap_or(""), query_parts.concat());
            let uri: Uri = uri_text.parse().unwrap_or_else(|_| Uri::from_static("/"));
            let mut headers = HeaderMap::new();
            if use_auth
                && let Ok(v) = HeaderValue::from_str(&auth_parts.concat())
            {
                headers.insert("authorization", v);
            }
            for (name, bytes) in header_bytes {
                if let Ok(v) = HeaderValue::from_bytes(&bytes) {
                    headers.append(name, v);
                }
            }
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(secs % 400_000_000_000);
            if let Ok(Some(info)) = parse(&method, &uri, &headers) {
                let _ = verify(&info, &method, &uri, &headers, "", "secret", now);
                let _ = verify(&info, &method, &uri, &headers, &sha256_hex(b""), "secret", now);
            }
            // Hand-made AuthInfo with odd contents.
            let info = AuthInfo {
                kind: if secs % 2 == 0 { AuthKind::Header } else { AuthKind::Presigned { expires_secs: secs } },
                access_key: auth_parts.concat(),
                date: query_parts.concat(),
                region: String::new(),
                service: uri_text.clone(),
                amz_date: auth_parts.join(""),
                signed_headers: auth_parts.clone(),
                signature: String::new(),
                session_token: None,
            };
            let _ = verify(&info, &method, &uri, &headers, "x", "", now);
            for e in [parse(&method, &uri, &headers).err()].into_iter().flatten() {
                let _ = e.kind();
                let _ = e.to_string();
                for d in [Dialect::Json, Dialect::Query, Dialect::S3] {
                    let _ = e.aws_error(d);
                }
            }
        }
    }
}
