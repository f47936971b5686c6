//! Cross-check against botocore (the signer of the AWS CLI and boto3).
//!
//! The expected values were produced once with botocore 1.43.11 by
//! `tests/data/gen_botocore_vectors.py` (SigV4Auth, S3SigV4Auth and
//! S3SigV4QueryAuth, time pinned to 2024-05-17T10:30:00Z). Each test checks
//! that `verify` accepts botocore's request, rejects it with another secret,
//! and that `sign` / `presign` with the same inputs produce botocore's
//! signature.
#![allow(clippy::unwrap_used)]

use std::time::SystemTime;

use http::header::HeaderName;
use http::{HeaderMap, HeaderValue, Method, Uri};
use stratus_sigv4::{
    AuthKind, SigV4ErrorKind, SigningParams, parse, parse_amz_date, presign, sha256_hex, sign, verify,
};

const ACCESS: &str = "AKIDSTRATUSEXAMPLE";
const SECRET: &str = "stratus/secret+key/EXAMPLEKEY0123456789ab";
const TOKEN: &str = "FQoGZXIvYXdzEXAMPLETOKEN//////////wEaDSESSION+token=";
const WHEN: &str = "20240517T103000Z";

fn now() -> SystemTime {
    parse_amz_date(WHEN).unwrap()
}

fn headers(list: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in list {
        map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }
    map
}

fn signature_of(authorization: &str) -> &str {
    authorization.rsplit("Signature=").next().unwrap()
}

/// Verifies botocore's header-signed request, then re-signs the same request
/// (without botocore's auth headers) and compares the Authorization header.
fn check(
    method: Method,
    uri: &str,
    botocore_headers: &[(&str, &str)],
    body: &[u8],
    region: &str,
    service: &str,
    token: Option<&str>,
) {
    let uri: Uri = uri.parse().unwrap();
    let map = headers(botocore_headers);
    let info = parse(&method, &uri, &map).unwrap().unwrap();
    assert_eq!(info.kind, AuthKind::Header);
    assert_eq!(info.session_token.as_deref(), token);
    let body_hash = sha256_hex(body);
    verify(&info, &method, &uri, &map, &body_hash, SECRET, now()).unwrap();
    let err = verify(&info, &method, &uri, &map, &body_hash, "other", now()).unwrap_err();
    assert_eq!(err.kind(), SigV4ErrorKind::SignatureMismatch);

    // Our signer, fed the request botocore started from, must agree.
    let mut ours = HeaderMap::new();
    for (name, value) in botocore_headers {
        if !matches!(*name, "authorization" | "x-amz-date" | "x-amz-security-token" | "x-amz-content-sha256") {
            ours.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
    }
    let params =
        SigningParams { access_key: ACCESS, secret_key: SECRET, session_token: token, region, service, time: now() };
    sign(&params, &method, &uri, &mut ours, body).unwrap();
    let theirs = map.get("authorization").unwrap().to_str().unwrap();
    let mine = ours.get("authorization").unwrap().to_str().unwrap();
    assert_eq!(mine, theirs);
}

#[test]
fn sqs_json_list_queues() {
    check(
        Method::POST,
        "https://sqs.us-east-1.amazonaws.com/",
        &[
            ("host", "sqs.us-east-1.amazonaws.com"),
            ("x-amz-target", "AmazonSQS.ListQueues"),
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-date", WHEN),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDSTRATUSEXAMPLE/20240517/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=e5f7450ad4f2e695cbd2b4cb9ab6ac370d2347e95466807f70f0d22d1c461473",
            ),
        ],
        br#"{"QueueNamePrefix":"stratus"}"#,
        "us-east-1",
        "sqs",
        None,
    );
}

#[test]
fn sqs_json_with_session_token() {
    check(
        Method::POST,
        "https://sqs.eu-west-1.amazonaws.com/",
        &[
            ("host", "sqs.eu-west-1.amazonaws.com"),
            ("x-amz-target", "AmazonSQS.ListQueues"),
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-date", WHEN),
            ("x-amz-security-token", TOKEN),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDSTRATUSEXAMPLE/20240517/eu-west-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=36ce38a190045810220b48f7fc85d8ed8b41af815d92edeb65f69171fdc59877",
            ),
        ],
        b"{}",
        "eu-west-1",
        "sqs",
        Some(TOKEN),
    );
}

#[test]
fn s3_put_header_signed() {
    // botocore signs the host with its port; the path key "key%3Dvalue.txt"
    // is already encoded once; "?tagging" has no value.
    check(
        Method::PUT,
        "http://localhost:4566/my-bucket/dir/key%3Dvalue.txt?tagging",
        &[
            ("host", "localhost:4566"),
            ("content-type", "text/plain"),
            ("x-amz-date", WHEN),
            ("x-amz-content-sha256", "0ee6e6acbdec38a5cd8c6c9c745cd8fb307c9eb32d1e3e5fbebf4e5551ee6516"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDSTRATUSEXAMPLE/20240517/us-east-1/s3/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=6e47a120c003393602d43c3fbc2882f99343ed2c572d2783d34d76121407716f",
            ),
        ],
        b"hello stratus",
        "us-east-1",
        "s3",
        None,
    );
}

#[test]
fn sqs_query_path_is_double_encoded() {
    check(
        Method::POST,
        "https://sqs.us-east-1.amazonaws.com/123456789012/my%20queue",
        &[
            ("host", "sqs.us-east-1.amazonaws.com"),
            ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("x-amz-date", WHEN),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDSTRATUSEXAMPLE/20240517/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=19abe3c00e30fbf4096b73da2601d9abe9dc51f9cbaa53efbaf5836ac6eebb83",
            ),
        ],
        b"Action=GetQueueAttributes&AttributeName.1=All&Version=2012-11-05",
        "us-east-1",
        "sqs",
        None,
    );
}

const PRESIGNED: &str = "http://127.0.0.1:4566/my-bucket/photos/2024/a%20b%2Bc.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDSTRATUSEXAMPLE%2F20240517%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240517T103000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=5e9be11f4106cbf38ab4bf59e154520261cf464e0ae85091e88e7f7f650f416d";

#[test]
fn s3_presigned_get() {
    let uri: Uri = PRESIGNED.parse().unwrap();
    // An HTTP client sends the authority as the Host header.
    let map = headers(&[("host", "127.0.0.1:4566")]);
    let info = parse(&Method::GET, &uri, &map).unwrap().unwrap();
    assert_eq!(info.kind, AuthKind::Presigned { expires_secs: 3600 });
    verify(&info, &Method::GET, &uri, &map, "", SECRET, now()).unwrap();
    let err = verify(&info, &Method::GET, &uri, &map, "", "other", now()).unwrap_err();
    assert_eq!(err.kind(), SigV4ErrorKind::SignatureMismatch);
    let late = now() + std::time::Duration::from_secs(3600);
    let err = verify(&info, &Method::GET, &uri, &map, "", SECRET, late).unwrap_err();
    assert_eq!(err.kind(), SigV4ErrorKind::PresignExpired);

    // Our presigner produces the same URL.
    let params = SigningParams {
        access_key: ACCESS,
        secret_key: SECRET,
        session_token: None,
        region: "us-east-1",
        service: "s3",
        time: now(),
    };
    let base: Uri = "http://127.0.0.1:4566/my-bucket/photos/2024/a%20b%2Bc.jpg".parse().unwrap();
    let url = presign(&params, &Method::GET, &base, 3600).unwrap();
    assert_eq!(url, PRESIGNED);
    assert_eq!(signature_of(&url), "5e9be11f4106cbf38ab4bf59e154520261cf464e0ae85091e88e7f7f650f416d");
}
