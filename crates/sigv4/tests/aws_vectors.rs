//! AWS's published SigV4 examples.
//!
//! * The "Signature Version 4 test suite" (credentials AKIDEXAMPLE /
//!   wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, us-east-1, service `service`,
//!   20150830T123600Z): request, canonical request, string to sign and
//!   signature per case.
//! * The IAM example of the SigV4 documentation (ListUsers).
//! * The older test suite's `get-vanilla-query-order-key` case, which dates
//!   the request with the `Date` header.
//! * The S3 API reference examples (examplebucket, AKIAIOSFODNN7EXAMPLE /
//!   wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, 20130524T000000Z): GET object,
//!   PUT object, GET lifecycle, list objects, presigned GET, and the
//!   chunked-upload (aws-chunked) seed and chunk signatures.
#![allow(clippy::unwrap_used)]

use std::time::SystemTime;

use http::header::HeaderName;
use http::{HeaderMap, HeaderValue, Method, Uri};
use stratus_sigv4::{AuthKind, SigV4Error, chunk_signature, parse, parse_amz_date, sha256_hex, verify};

const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SUITE_SCOPE: &str = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";
const S3_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn at(amz_date: &str) -> SystemTime {
    parse_amz_date(amz_date).unwrap()
}

fn headers(list: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in list {
        map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }
    map
}

/// Parses and verifies a header-signed request; checks that a wrong secret
/// fails and that the canonical request / string to sign the server reports
/// are the expected ones (when given).
#[allow(clippy::too_many_arguments)]
fn check_header_signed(
    method: &str,
    uri: &str,
    header_list: &[(&str, &str)],
    body: &[u8],
    secret: &str,
    now: &str,
    expected_creq: Option<&str>,
    expected_sts: Option<&str>,
) {
    let method: Method = method.parse().unwrap();
    let uri: Uri = uri.parse().unwrap();
    let map = headers(header_list);
    let info = parse(&method, &uri, &map).unwrap().unwrap();
    assert_eq!(info.kind, AuthKind::Header);
    let body_hash = sha256_hex(body);
    verify(&info, &method, &uri, &map, &body_hash, secret, at(now)).unwrap_or_else(|e| panic!("{method} {uri}: {e:?}"));
    match verify(&info, &method, &uri, &map, &body_hash, "wrong", at(now)) {
        Err(SigV4Error::SignatureMismatch { canonical_request, string_to_sign, .. }) => {
            if let Some(creq) = expected_creq {
                assert_eq!(canonical_request, creq, "{method} {uri}");
            }
            if let Some(sts) = expected_sts {
                assert_eq!(string_to_sign, sts, "{method} {uri}");
            }
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

struct SuiteCase {
    name: &'static str,
    method: &'static str,
    uri: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    signed_headers: &'static str,
    signature: &'static str,
    creq: &'static str,
    sts_hash: &'static str,
}

const HOST: (&str, &str) = ("host", "example.amazonaws.com");
const DATE: (&str, &str) = ("x-amz-date", "20150830T123600Z");
const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

const SUITE: &[SuiteCase] = &[
    SuiteCase {
        name: "get-vanilla",
        method: "GET",
        uri: "/",
        headers: &[HOST, DATE],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        creq: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
    },
    SuiteCase {
        name: "get-vanilla-empty-query-key",
        method: "GET",
        uri: "/?Param1=value1",
        headers: &[HOST, DATE],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
        creq: "GET\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab",
    },
    SuiteCase {
        name: "get-vanilla-query-order-key",
        method: "GET",
        uri: "/?Param1=value2&Param1=Value1",
        headers: &[HOST, DATE],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1",
        creq: "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89",
    },
    SuiteCase {
        name: "get-vanilla-query-order-key-case",
        method: "GET",
        uri: "/?Param2=value2&Param1=value1",
        headers: &[HOST, DATE],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        creq: "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
    },
    SuiteCase {
        name: "get-vanilla-query-order-value",
        method: "GET",
        uri: "/?Param1=value2&Param1=value1",
        headers: &[HOST, DATE],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694",
        creq: "GET\n/\nParam1=value1&Param1=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606",
    },
    SuiteCase {
        name: "get-vanilla-query-unreserved",
        method: "GET",
        uri: "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        headers: &[HOST, DATE],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
        creq: "GET\n/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
    },
    SuiteCase {
        // The suite sends "ሴ" raw; on the wire (and in http::Uri) it is
        // percent-encoded UTF-8.
        name: "get-vanilla-utf8-query",
        method: "GET",
        uri: "/?%E1%88%B4=bar",
        headers: &[HOST, DATE],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
        creq: "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
    },
    SuiteCase {
        name: "get-unreserved",
        method: "GET",
        uri: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        headers: &[HOST, DATE],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
        creq: "GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
    },
    SuiteCase {
        name: "get-header-key-duplicate",
        method: "GET",
        uri: "/",
        headers: &[HOST, ("my-header1", "value2"), ("my-header1", "value2"), ("my-header1", "value1"), DATE],
        body: "",
        signed_headers: "host;my-header1;x-amz-date",
        signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        creq: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
    },
    SuiteCase {
        name: "get-header-value-order",
        method: "GET",
        uri: "/",
        headers: &[
            HOST,
            ("my-header1", "value4"),
            ("my-header1", "value1"),
            ("my-header1", "value3"),
            ("my-header1", "value2"),
            DATE,
        ],
        body: "",
        signed_headers: "host;my-header1;x-amz-date",
        signature: "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
        creq: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
    },
    SuiteCase {
        name: "get-header-value-trim",
        method: "GET",
        uri: "/",
        headers: &[HOST, ("my-header1", " value1"), ("my-header2", " \"a   b   c\""), DATE],
        body: "",
        signed_headers: "host;my-header1;my-header2;x-amz-date",
        signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
        creq: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
    },
    SuiteCase {
        name: "get-relative",
        method: "GET",
        uri: "/example/..",
        headers: &[HOST, DATE],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        creq: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
    },
    SuiteCase {
        name: "get-relative-relative",
        method: "GET",
        uri: "/example1/example2/../..",
        headers: &[HOST, DATE],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        creq: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
    },
    SuiteCase {
        name: "get-slash",
        method: "GET",
        uri: "//",
        headers: &[HOST, DATE],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        creq: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
    },
    SuiteCase {
        name: "get-slash-dot-slash",
        method: "GET",
        uri: "/./",
        headers: &[HOST, DATE],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        creq: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
    },
    SuiteCase {
        name: "get-slash-pointless-dot",
        method: "GET",
        uri: "/./example",
        headers: &[HOST, DATE],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
        creq: "GET\n/example\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702",
    },
    SuiteCase {
        name: "get-slashes",
        method: "GET",
        uri: "//example//",
        headers: &[HOST, DATE],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
        creq: "GET\n/example/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
    },
    SuiteCase {
        name: "post-header-key-case",
        method: "POST",
        uri: "/",
        headers: &[HOST, DATE],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        creq: "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
    },
    SuiteCase {
        name: "post-header-key-sort",
        method: "POST",
        uri: "/",
        headers: &[HOST, ("my-header1", "value1"), DATE],
        body: "",
        signed_headers: "host;my-header1;x-amz-date",
        signature: "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
        creq: "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
    },
    SuiteCase {
        name: "post-header-value-case",
        method: "POST",
        uri: "/",
        headers: &[HOST, ("my-header1", "VALUE1"), DATE],
        body: "",
        signed_headers: "host;my-header1;x-amz-date",
        signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
        creq: "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93",
    },
    SuiteCase {
        name: "post-vanilla-query",
        method: "POST",
        uri: "/?Param1=value1",
        headers: &[HOST, DATE],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        creq: "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
    },
    SuiteCase {
        // The published creq file of this case lists content-length among the
        // signed headers, but its authorization and string-to-sign files (and
        // the signature) are for content-type;host;x-amz-date, as here.
        name: "post-x-www-form-urlencoded",
        method: "POST",
        uri: "/",
        headers: &[("content-type", "application/x-www-form-urlencoded"), HOST, DATE, ("content-length", "13")],
        body: "Param1=value1",
        signed_headers: "content-type;host;x-amz-date",
        signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        creq: "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
        sts_hash: "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
    },
    SuiteCase {
        name: "post-sts-header-before",
        method: "POST",
        uri: "/",
        headers: &[HOST, DATE, ("x-amz-security-token", TOKEN)],
        body: "",
        signed_headers: "host;x-amz-date;x-amz-security-token",
        signature: "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
        creq: "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\n\nhost;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
    },
    SuiteCase {
        // The token is added after signing and not signed.
        name: "post-sts-header-after",
        method: "POST",
        uri: "/",
        headers: &[HOST, DATE, ("x-amz-security-token", TOKEN)],
        body: "",
        signed_headers: "host;x-amz-date",
        signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        creq: "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sts_hash: "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
    },
];

#[test]
fn sigv4_test_suite() {
    assert_eq!(EMPTY, sha256_hex(b""));
    for case in SUITE {
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={SUITE_SCOPE}, SignedHeaders={}, Signature={}",
            case.signed_headers, case.signature
        );
        let mut list: Vec<(&str, &str)> = case.headers.to_vec();
        list.push(("authorization", &authorization));
        let sts =
            format!("AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n{}", case.sts_hash);
        assert_eq!(sha256_hex(case.creq.as_bytes()), case.sts_hash, "{}: suite data", case.name);
        println!("{}", case.name);
        check_header_signed(
            case.method,
            case.uri,
            &list,
            case.body.as_bytes(),
            SUITE_SECRET,
            "20150830T123600Z",
            Some(case.creq),
            Some(&sts),
        );
    }
}

#[test]
fn iam_documentation_example() {
    // GET https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08,
    // the worked example of the SigV4 documentation.
    check_header_signed(
        "GET",
        "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
        &[
            ("host", "iam.amazonaws.com"),
            ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("x-amz-date", "20150830T123600Z"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
            ),
        ],
        b"",
        SUITE_SECRET,
        "20150830T123600Z",
        None,
        Some(
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59",
        ),
    );
}

#[test]
fn old_suite_with_date_header() {
    // The 2011 test suite (get-vanilla-query-order-key): no X-Amz-Date, the
    // time comes from the Date header, which is signed.
    check_header_signed(
        "GET",
        "/?foo=Zoo&foo=aha",
        &[
            ("date", "Mon, 09 Sep 2011 23:36:00 GMT"),
            ("host", "host.foo.com"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=be7148d34ebccdc6423b19085378aa0bee970bdc61d144bd1a8c48c33079ab09",
            ),
        ],
        b"",
        SUITE_SECRET,
        "20110909T233600Z",
        Some(
            "GET\n/\nfoo=Zoo&foo=aha\ndate:Mon, 09 Sep 2011 23:36:00 GMT\nhost:host.foo.com\n\ndate;host\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        Some(
            "AWS4-HMAC-SHA256\n20110909T233600Z\n20110909/us-east-1/host/aws4_request\ne25f777ba161a0f1baf778a87faf057187cf5987f17953320e3ca399feb5f00d",
        ),
    );
}

const S3_CRED: &str = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request";

#[test]
fn s3_get_object() {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={S3_CRED},SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    );
    check_header_signed(
        "GET",
        "/test.txt",
        &[
            ("host", "examplebucket.s3.amazonaws.com"),
            ("range", "bytes=0-9"),
            ("x-amz-content-sha256", EMPTY),
            ("x-amz-date", "20130524T000000Z"),
            ("authorization", &auth),
        ],
        b"",
        S3_SECRET,
        "20130524T000000Z",
        Some(
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        Some(
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
        ),
    );
}

#[test]
fn s3_put_object() {
    // Path "/test$file.text" → canonical "/test%24file.text".
    let body = b"Welcome to Amazon S3.";
    let hash = sha256_hex(body);
    assert_eq!(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={S3_CRED},SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    );
    check_header_signed(
        "PUT",
        "/test$file.text",
        &[
            ("host", "examplebucket.s3.amazonaws.com"),
            ("date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", &hash),
            ("authorization", &auth),
        ],
        body,
        S3_SECRET,
        "20130524T000000Z",
        Some(
            "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\nhost:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\nx-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\ndate;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
        ),
        None,
    );
}

#[test]
fn s3_get_lifecycle_and_list_objects() {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={S3_CRED},SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
    );
    check_header_signed(
        "GET",
        "/?lifecycle",
        &[
            ("host", "examplebucket.s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-content-sha256", EMPTY),
            ("authorization", &auth),
        ],
        b"",
        S3_SECRET,
        "20130524T000000Z",
        Some(
            "GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        None,
    );
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={S3_CRED},SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
    );
    check_header_signed(
        "GET",
        "/?max-keys=2&prefix=J",
        &[
            ("host", "examplebucket.s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-content-sha256", EMPTY),
            ("authorization", &auth),
        ],
        b"",
        S3_SECRET,
        "20130524T000000Z",
        Some(
            "GET\n/\nmax-keys=2&prefix=J\nhost:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        None,
    );
}

#[test]
fn s3_presigned_get() {
    let uri: Uri = "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404".parse().unwrap();
    let map = headers(&[("host", "examplebucket.s3.amazonaws.com")]);
    let info = parse(&Method::GET, &uri, &map).unwrap().unwrap();
    assert_eq!(info.kind, AuthKind::Presigned { expires_secs: 86400 });
    // Valid from X-Amz-Date for 86400 s.
    for now in ["20130524T000000Z", "20130524T235959Z", "20130523T235000Z"] {
        verify(&info, &Method::GET, &uri, &map, "", S3_SECRET, at(now)).unwrap();
    }
    let err = verify(&info, &Method::GET, &uri, &map, "", S3_SECRET, at("20130525T000000Z")).unwrap_err();
    assert!(matches!(err, SigV4Error::PresignExpired { .. }), "{err:?}");
    let err = verify(&info, &Method::GET, &uri, &map, "", S3_SECRET, at("20130523T234459Z")).unwrap_err();
    assert!(matches!(err, SigV4Error::PresignNotYetValid { .. }), "{err:?}");
    match verify(&info, &Method::GET, &uri, &map, "", "wrong", at("20130524T000000Z")) {
        Err(SigV4Error::SignatureMismatch { canonical_request, .. }) => assert_eq!(
            canonical_request,
            "GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\nhost:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn s3_chunked_upload() {
    // Seed request of the aws-chunked example (66560 bytes in 64 KiB + 1 KiB chunks).
    let auth = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
    let uri: Uri = "/examplebucket/chunkObject.txt".parse().unwrap();
    let map = headers(&[
        ("host", "s3.amazonaws.com"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("authorization", auth),
        ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"),
        ("content-length", "66824"),
    ]);
    let info = parse(&Method::PUT, &uri, &map).unwrap().unwrap();
    // The body is not known up front: pass "".
    verify(&info, &Method::PUT, &uri, &map, "", S3_SECRET, at("20130524T000000Z")).unwrap();

    let key = info.signing_key(S3_SECRET);
    let scope = info.credential_scope();
    let first = chunk_signature(&key, &info.amz_date, &scope, &info.signature, &sha256_hex(&[b'a'; 65536]));
    assert_eq!(first, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
    let second = chunk_signature(&key, &info.amz_date, &scope, &first, &sha256_hex(&[b'a'; 1024]));
    assert_eq!(second, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497");
    let last = chunk_signature(&key, &info.amz_date, &scope, &second, &sha256_hex(b""));
    assert_eq!(last, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9");
}
