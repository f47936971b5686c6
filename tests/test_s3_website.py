"""S3 static website hosting: the website endpoint reached with a `Host` of
`{bucket}.s3-website.localhost:PORT` (or the path form `/_aws/s3-website/{bucket}/{key}`)
serves index documents, the trailing-slash redirect, custom and built-in HTML error pages,
405 for anything but GET/HEAD, object redirects (x-amz-website-redirect-location),
RedirectAllRequestsTo and routing rules; DeleteBucketWebsite turns it off again and the
REST API keeps answering as before.

Expected answers follow the S3 User Guide ("Configuring an index document", "Configuring a
custom error document", "Configuring a webpage redirect", "Website endpoints") and the
website answers recorded against real AWS in LocalStack's AWS-validated website tests."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
import requests

from s3_helpers import bucket, s3  # noqa: F401  (fixtures)
from sqs_helpers import unique

pytestmark = pytest.mark.stratus_only

HOST_FORMS = pytest.mark.parametrize("host_form", [True, False], ids=["host", "path"])

# key -> (body, Content-Type); the error page has its own Content-Type so that passing the
# stored one through can be told apart from a hard-coded text/html.
PAGES = {
    "index.html": (b"<html><body>home</body></html>", "text/html"),
    "docs/index.html": (b"<html><body>docs home</body></html>", "text/html"),
    "page.html": (b"<html><body>a page</body></html>", "text/html"),
    "error.html": (b"<html><body>custom not found</body></html>", "text/html; charset=utf-8"),
}
INDEX_AND_ERROR = {"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "error.html"}}


def website_host(target, bucket: str) -> str:
    return f"{bucket}.s3-website.localhost:{urlparse(target.endpoint).port}"


def site(target, bucket: str, path: str = "/", host_form: bool = True, **kw) -> requests.Response:
    """GET (or `method=...`) `path` on the bucket's website endpoint, either through the
    website Host header on the server's address or through /_aws/s3-website/{bucket}.
    Redirects are never followed (some point at example.com)."""
    method = kw.pop("method", "GET")
    kw.setdefault("allow_redirects", False)
    kw.setdefault("timeout", 10)
    if not path.startswith("/"):
        path = "/" + path
    if host_form:
        headers = {"Host": website_host(target, bucket), **kw.pop("headers", {})}
        return requests.request(method, target.endpoint + path, headers=headers, **kw)
    return requests.request(method, f"{target.endpoint}/_aws/s3-website/{bucket}{path}", **kw)


def put_pages(s3, bucket: str, pages: dict) -> dict:
    return {key: s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=ctype)["ETag"]
            for key, (body, ctype) in pages.items()}


def is_html(r: requests.Response) -> bool:
    return r.headers.get("Content-Type", "").startswith("text/html") and "<html" in r.text.lower()


@pytest.fixture
def website(s3, bucket):
    """A bucket with index.html, docs/index.html, page.html and error.html, configured as a
    website with index and error documents -> (bucket, {key: ETag})."""
    etags = put_pages(s3, bucket, PAGES)
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=INDEX_AND_ERROR)
    return bucket, etags


@HOST_FORMS
def test_index_documents_and_pages_with_get_and_head(target, s3, website, host_form):
    b, etags = website
    for path, key in [("/", "index.html"), ("/docs/", "docs/index.html"), ("/page.html", "page.html")]:
        body, ctype = PAGES[key]
        r = site(target, b, path, host_form)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        assert r.content == body, path
        assert r.headers["Content-Type"] == ctype, path
        assert r.headers["ETag"] == etags[key], path
        rest = s3.head_object(Bucket=b, Key=key)["ResponseMetadata"]["HTTPHeaders"]
        assert r.headers["Last-Modified"] == rest["last-modified"], path

        h = site(target, b, path, host_form, method="HEAD")
        assert h.status_code == 200, (path, h.status_code)
        assert h.content == b"", path
        assert h.headers["ETag"] == etags[key] and h.headers["Content-Type"] == ctype, path
        assert h.headers["Last-Modified"] == r.headers["Last-Modified"], path
        assert int(h.headers["Content-Length"]) == len(body), path


def test_folder_without_trailing_slash_redirects_to_the_folder(target, s3, website):
    # User Guide, "Configuring an index document": without the trailing slash S3 first looks
    # for the object `docs`, then for docs/index.html, and answers 302 Found pointing at
    # `docs/` (recorded AWS answer: Location is exactly "/docs/").
    b, _ = website
    r = site(target, b, "/docs")
    assert r.status_code == 302, (r.status_code, r.text[:300])
    assert r.headers["Location"] == "/docs/"
    r = site(target, b, r.headers["Location"])
    assert r.status_code == 200 and r.content == PAGES["docs/index.html"][0]

    # neither an object nor an index document below it: an error, not a redirect
    r = site(target, b, "/nodir")
    assert r.status_code == 404 and r.content == PAGES["error.html"][0]

    # an object named like the folder is served as it is
    s3.put_object(Bucket=b, Key="docs", Body=b"plain docs object", ContentType="text/plain")
    r = site(target, b, "/docs")
    assert r.status_code == 200 and r.content == b"plain docs object"
    assert r.headers["Content-Type"] == "text/plain"


@HOST_FORMS
def test_missing_key_serves_the_error_document(target, website, host_form):
    b, _ = website
    body, ctype = PAGES["error.html"]
    for path in ["/missing.html", "/nowhere/", "/docs/missing.html"]:
        r = site(target, b, path, host_form)
        assert r.status_code == 404, (path, r.status_code, r.text[:300])
        assert r.content == body, path
        assert r.headers["Content-Type"] == ctype, path
    h = site(target, b, "/missing.html", host_form, method="HEAD")
    assert h.status_code == 404 and h.content == b""


def test_missing_key_without_a_custom_error_document(target, s3, bucket):
    # Recorded AWS answers: with only an IndexDocument and no index.html, GET / is a 404 HTML
    # page "404 Not Found" / "Code: NoSuchKey"; the same when the configured ErrorDocument
    # does not exist itself.
    s3.put_object(Bucket=bucket, Key="page.html", Body=b"<html>p</html>", ContentType="text/html")
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    for path in ["/", "/missing.html"]:
        r = site(target, bucket, path)
        assert r.status_code == 404, (path, r.status_code, r.text[:300])
        assert is_html(r), (path, r.headers.get("Content-Type"), r.text[:300])
        assert "NoSuchKey" in r.text, path
    assert site(target, bucket, "/page.html").status_code == 200

    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=INDEX_AND_ERROR)  # error.html is not there
    r = site(target, bucket, "/missing.html")
    assert r.status_code == 404 and is_html(r) and "NoSuchKey" in r.text, r.text[:300]


@HOST_FORMS
def test_no_website_configuration_and_no_bucket(target, s3, bucket, host_form):
    put_pages(s3, bucket, {"index.html": PAGES["index.html"]})
    for path in ["/", "/index.html"]:
        r = site(target, bucket, path, host_form)
        assert r.status_code == 404, (path, r.status_code, r.text[:300])
        assert is_html(r), (path, r.headers.get("Content-Type"), r.text[:300])
        assert "NoSuchWebsiteConfiguration" in r.text, path
        assert r.content != PAGES["index.html"][0]

    r = site(target, unique("nobkt"), "/", host_form)
    assert r.status_code == 404, (r.status_code, r.text[:300])
    assert is_html(r) and "NoSuchBucket" in r.text, r.text[:300]


def test_only_get_and_head_are_allowed(target, s3, website):
    # Website endpoints support only GET and HEAD ("Website endpoints", key differences);
    # recorded AWS answers: POST and DELETE are 405 even with an ErrorDocument configured.
    b, etags = website
    for host_form in (True, False):
        for method in ("PUT", "POST", "DELETE"):
            for path in ("/", "/page.html"):
                r = site(target, b, path, host_form, method=method, data=b"overwritten?")
                assert r.status_code == 405, (host_form, method, path, r.status_code, r.text[:300])
                assert r.content != PAGES["error.html"][0]
    got = s3.get_object(Bucket=b, Key="page.html")
    assert got["Body"].read() == PAGES["page.html"][0] and got["ETag"] == etags["page.html"]
    assert s3.get_object(Bucket=b, Key="index.html")["Body"].read() == PAGES["index.html"][0]


def test_object_website_redirect_location(target, s3, website):
    # "Configuring a webpage redirect": x-amz-website-redirect-location makes the website
    # answer 301 with that Location, to a key in the bucket or to an external URL.
    b, _ = website
    s3.put_object(Bucket=b, Key="other.html", Body=b"<html>other</html>", ContentType="text/html")
    s3.put_object(Bucket=b, Key="old-page.html", Body=b"kept body", WebsiteRedirectLocation="/other.html")
    s3.put_object(Bucket=b, Key="away.html", Body=b"", WebsiteRedirectLocation="https://example.org/elsewhere")
    for method in ("GET", "HEAD"):
        r = site(target, b, "/old-page.html", method=method)
        assert r.status_code == 301, (method, r.status_code, r.text[:300])
        assert r.headers["Location"] == "/other.html", method
    r = site(target, b, "/away.html")
    assert r.status_code == 301 and r.headers["Location"] == "https://example.org/elsewhere"
    r = site(target, b, "/other.html")
    assert r.status_code == 200 and r.content == b"<html>other</html>"


def test_redirect_all_requests_to_another_host(target, s3, bucket):
    put_pages(s3, bucket, {"index.html": PAGES["index.html"]})
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={
        "RedirectAllRequestsTo": {"HostName": "example.com", "Protocol": "https"}})
    for path in ["/", "/index.html", "/docs/a.html", "/missing"]:
        r = site(target, bucket, path)
        assert r.status_code == 301, (path, r.status_code, r.text[:300])
        assert r.headers["Location"] == f"https://example.com{path}", path
    h = site(target, bucket, "/index.html", method="HEAD")
    assert h.status_code == 301 and h.headers["Location"] == "https://example.com/index.html"


def test_routing_rules_replace_the_key_prefix_or_the_key(target, s3, website):
    # Recorded AWS answers: the Location keeps the request's scheme and host
    # ("{website_url}/replaced-prefix/key"), and KeyPrefixEquals rules are applied before the
    # object is looked up, so an existing old/a.html is redirected too.
    b, _ = website
    s3.put_bucket_website(Bucket=b, WebsiteConfiguration={**INDEX_AND_ERROR, "RoutingRules": [
        {"Condition": {"KeyPrefixEquals": "old/"}, "Redirect": {"ReplaceKeyPrefixWith": "new/"}},
        {"Condition": {"KeyPrefixEquals": "gone/"},
         "Redirect": {"HttpRedirectCode": "302", "ReplaceKeyWith": "moved.html"}},
    ]})
    put_pages(s3, b, {"old/a.html": (b"<html>old</html>", "text/html"),
                      "new/a.html": (b"<html>new</html>", "text/html"),
                      "moved.html": (b"<html>moved</html>", "text/html")})
    origin = f"http://{website_host(target, b)}"

    r = site(target, b, "/old/a.html")
    assert r.status_code == 301, (r.status_code, r.text[:300])
    assert r.headers["Location"].endswith("/new/a.html")
    assert r.headers["Location"] == f"{origin}/new/a.html"
    r = site(target, b, "/old/deeper/b.html")
    assert r.status_code == 301 and r.headers["Location"] == f"{origin}/new/deeper/b.html"

    r = site(target, b, "/gone/anything.html")
    assert r.status_code == 302, (r.status_code, r.text[:300])
    assert r.headers["Location"] == f"{origin}/moved.html"

    for path, body in [("/new/a.html", b"<html>new</html>"), ("/page.html", PAGES["page.html"][0])]:
        r = site(target, b, path)
        assert r.status_code == 200 and r.content == body, path


def test_routing_rule_on_404_redirects_to_a_fallback_host(target, s3, website):
    # "Configuring a webpage redirect", example 3; recorded AWS answers: a HostName-only
    # redirect keeps the request's scheme and path ("http://random-hostname/host/key"), and
    # the rule wins over the ErrorDocument.
    b, _ = website
    s3.put_bucket_website(Bucket=b, WebsiteConfiguration={**INDEX_AND_ERROR, "RoutingRules": [
        {"Condition": {"HttpErrorCodeReturnedEquals": "404"}, "Redirect": {"HostName": "fallback.example.com"}}]})
    r = site(target, b, "/missing.html")
    assert r.status_code == 301, (r.status_code, r.text[:300])
    assert r.headers["Location"] == "http://fallback.example.com/missing.html"
    r = site(target, b, "/docs/gone.html")
    assert r.status_code == 301 and r.headers["Location"] == "http://fallback.example.com/docs/gone.html"

    for path, key in [("/page.html", "page.html"), ("/", "index.html"), ("/docs/", "docs/index.html")]:
        r = site(target, b, path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        assert r.content == PAGES[key][0], path


def test_deleting_the_website_configuration_turns_the_site_off(target, s3, website):
    b, _ = website
    assert site(target, b, "/").status_code == 200
    s3.delete_bucket_website(Bucket=b)
    for host_form in (True, False):
        for path in ["/", "/page.html", "/missing.html"]:
            r = site(target, b, path, host_form)
            assert r.status_code == 404, (host_form, path, r.status_code, r.text[:300])
            assert "NoSuchWebsiteConfiguration" in r.text, (host_form, path)
    assert s3.get_object(Bucket=b, Key="page.html")["Body"].read() == PAGES["page.html"][0]

    s3.put_bucket_website(Bucket=b, WebsiteConfiguration=INDEX_AND_ERROR)
    r = site(target, b, "/")
    assert r.status_code == 200 and r.content == PAGES["index.html"][0]


def test_the_rest_api_is_unaffected(target, s3, website):
    # "Website endpoints", key differences: the REST endpoint lists the bucket at its root and
    # answers XML errors; "Configuring a webpage redirect": the REST endpoint returns an object
    # with a website redirect location instead of redirecting.
    b, etags = website
    s3.put_object(Bucket=b, Key="old-page.html", Body=b"kept body", WebsiteRedirectLocation="/other.html")

    got = s3.get_object(Bucket=b, Key="index.html")
    assert got["Body"].read() == PAGES["index.html"][0]
    assert got["ContentType"] == "text/html" and got["ETag"] == etags["index.html"]
    got = s3.get_object(Bucket=b, Key="old-page.html")
    assert got["Body"].read() == b"kept body" and got["WebsiteRedirectLocation"] == "/other.html"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]]
    assert keys == sorted([*PAGES, "old-page.html"])

    r = requests.get(f"{target.endpoint}/{b}/", timeout=10)
    assert r.status_code == 200 and "ListBucketResult" in r.text and r.content != PAGES["index.html"][0]
    r = requests.get(f"{target.endpoint}/{b}/old-page.html", allow_redirects=False, timeout=10)
    assert r.status_code == 200 and r.content == b"kept body"
    r = requests.get(f"{target.endpoint}/{b}/missing.html", timeout=10)
    assert r.status_code == 404 and "<Code>NoSuchKey</Code>" in r.text and r.content != PAGES["error.html"][0]

    port = urlparse(target.endpoint).port
    r = requests.get(target.endpoint + "/", headers={"Host": f"{b}.s3.localhost:{port}"}, timeout=10)
    assert r.status_code == 200 and "ListBucketResult" in r.text
