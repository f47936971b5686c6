"""S3 server access logging and Requester Pays buckets, as AWS documents them.

Server access logging runs on a server of its own started with `--s3-access-log-seconds 1`:
buffered log records are delivered every second (best effort, as on AWS), one log object per
delivery and source bucket, into the target bucket named by PutBucketLogging.

AWS references used below (S3 User Guide):
- "Amazon S3 server access log format": space-delimited records, the time as
  `[%d/%b/%Y:%H:%M:%S %z]` in UTC, quoted Request-URI, Referer and User-Agent, `-` for a
  field that is unknown or not applicable; Requester is the canonical user id or `-` for
  unauthenticated requests; Key is URL encoded or `-` when the operation takes none; Bytes Sent
  is `-` when zero; Version Id is the version id in the request; Signature Version is SigV2 or
  SigV4 (`-` unauthenticated); Cipher Suite and TLS version are `-` over plain HTTP;
  Authentication Type is AuthHeader, QueryString (presigned URL) or `-`; query parameters
  beginning with `x-` are ignored by S3 but kept in the Request-URI; new fields may be appended
  at the end of a record, so parsers must accept trailing fields.
- "Logging requests with server access logging": keys `TargetPrefixYYYY-mm-DD-HH-MM-SS-UniqueString`
  named by the delivery time; a log object holds records of one source bucket only; a file
  delivered at some time holds records from before that time.
- API reference, PartitionedPrefix: `[DestinationPrefix][SourceAccountId]/[SourceRegion]/
  [SourceBucket]/[YYYY]/[MM]/[DD]/[YYYY]-[MM]-[DD]-[hh]-[mm]-[ss]-[UniqueString]`; with
  EventTime the date is the day of the events and hour, minutes and seconds are 00; with
  DeliveryTime the time is the delivery time.
- "Using Requester Pays buckets" / "Downloading objects from Requester Pays buckets": requesters
  other than the owner must send `x-amz-request-payer: requester`, else 403; a charged request's
  response carries `x-amz-request-charged: requester`; owners need not send the header; anonymous
  requests to a Requester Pays bucket are refused.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError

from s3_helpers import bucket_name, make_s3_client, s3  # noqa: F401  (fixture)
from sqs_helpers import DEFAULT_ACCOUNT, REGION, ServerProcess, start_own_server, unique

pytestmark = pytest.mark.stratus_only

FLUSH = 1       # seconds between deliveries on the logging server
WAIT = 10.0     # how long a record may take to be delivered
POLL = 0.25
OTHER_ACCOUNT = "111111111111"  # a 12-digit access key id is that account's caller
PREFIX = "access/"

# One record of the documented format; a parser must accept fields appended later (AWS appends
# new fields at the end of the line), hence the optional tail.
LINE = re.compile(
    r"^(?P<bucket_owner>\S+) (?P<bucket>\S+) \[(?P<time>[^\]]+)\] (?P<remote_ip>\S+) (?P<requester>\S+)"
    r" (?P<request_id>\S+) (?P<operation>\S+) (?P<key>\S+) \"(?P<request_uri>[^\"]*)\""
    r" (?P<http_status>\d{3}|-) (?P<error_code>\S+) (?P<bytes_sent>\d+|-) (?P<object_size>\d+|-)"
    r" (?P<total_time>\d+|-) (?P<turn_around_time>\d+|-) \"(?P<referer>[^\"]*)\" \"(?P<user_agent>[^\"]*)\""
    r" (?P<version_id>\S+) (?P<host_id>\S+) (?P<signature_version>\S+) (?P<cipher_suite>\S+)"
    r" (?P<authentication_type>\S+) (?P<host_header>\S+) (?P<tls_version>\S+) (?P<access_point_arn>\S+)"
    r" (?P<acl_required>\S+)(?: \S.*)?$")
TIME = re.compile(r"(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) \+0000")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
UNIQUE = r"[0-9A-F]{16}"


def code(e) -> str:
    return e.value.response["Error"]["Code"]


def status(e) -> int:
    return e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def rid(resp: dict) -> str:
    return resp["ResponseMetadata"]["RequestId"]


def parse_time(text: str) -> datetime:
    m = TIME.fullmatch(text)
    assert m, f"time {text!r} is not [%d/%b/%Y:%H:%M:%S +0000]"
    day, mon, year, hh, mm, ss = m.groups()
    assert mon in MONTHS, text
    return datetime(int(year), MONTHS.index(mon) + 1, int(day), int(hh), int(mm), int(ss), tzinfo=timezone.utc)


def parse_line(line: str) -> dict:
    m = LINE.match(line)
    assert m, f"log record does not follow the server access log format:\n{line}"
    rec = m.groupdict()
    rec["_time"] = parse_time(rec["time"])
    return rec


def key_time(parts) -> datetime:
    y, mo, d, hh, mm, ss = (int(p) for p in parts)
    return datetime(y, mo, d, hh, mm, ss, tzinfo=timezone.utc)


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


# ----------------------------------------------------------------------------- what boto3 sent

class Sent:
    """Records what a boto3 client sent and received: method, Request-URI, User-Agent, status
    and the number of body bytes of each response (known for non-streaming responses)."""

    def __init__(self, client):
        self.calls: list[dict] = []
        client.meta.events.register("before-send.s3", self._send)
        client.meta.events.register("before-parse.s3", self._parse)

    def _send(self, request, **_):
        ua = request.headers.get("User-Agent")
        if isinstance(ua, bytes):
            ua = ua.decode()
        parts = urlsplit(request.url)
        uri = parts.path + (f"?{parts.query}" if parts.query else "")
        self.calls.append({"uri": f"{request.method} {uri} HTTP/1.1", "ua": ua, "body": None})

    def _parse(self, response_dict, **_):
        body = response_dict.get("body")
        if isinstance(body, (bytes, bytearray)):
            self.calls[-1]["body"] = len(body)
        self.calls[-1]["status"] = response_dict["status_code"]
        self.calls[-1]["request_id"] = response_dict["headers"].get("x-amz-request-id")

    @property
    def last(self) -> dict:
        return self.calls[-1]


# ----------------------------------------------------------------------------- the logging server

@pytest.fixture(scope="module")
def log_server(tmp_path_factory):
    srv = start_own_server(tmp_path_factory, "s3-access-logs", ["--s3-access-log-seconds", str(FLUSH)])
    yield srv
    srv.kill()


@pytest.fixture
def ls3(log_server):
    return make_s3_client(log_server.endpoint)


@pytest.fixture
def owner_id(ls3) -> str:
    return ls3.list_buckets()["Owner"]["ID"]


def new_bucket(client, prefix: str = "sal") -> str:
    name = unique(prefix).lower()
    client.create_bucket(Bucket=name)
    return name


def enable_logging(client, src: str, logs: str, prefix: str = PREFIX, key_format: dict | None = None) -> None:
    enabled = {"TargetBucket": logs, "TargetPrefix": prefix}
    if key_format is not None:
        enabled["TargetObjectKeyFormat"] = key_format
    client.put_bucket_logging(Bucket=src, BucketLoggingStatus={"LoggingEnabled": enabled})


def read_logs(client, logs: str, prefix: str = PREFIX, cache: dict | None = None) -> dict[str, list[dict]]:
    """{log object key: parsed records} of every log object under `prefix` in `logs`."""
    cache = {} if cache is None else cache
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=logs, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"] not in cache:
                text = client.get_object(Bucket=logs, Key=obj["Key"])["Body"].read().decode("utf-8")
                cache[obj["Key"]] = [dict(parse_line(line), _key=obj["Key"]) for line in text.splitlines() if line]
    return cache


def by_request(objects: dict[str, list[dict]]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for records in objects.values():
        for r in records:
            out.setdefault(r["request_id"], []).append(r)
    return out


def wait_for(srv: ServerProcess, client, logs: str, request_ids, prefix: str = PREFIX,
             timeout: float = WAIT) -> dict[str, list[dict]]:
    """Records by request id once every id in `request_ids` has been delivered."""
    wanted = set(request_ids)
    assert all(wanted), f"a request id is missing: {wanted}"
    cache: dict = {}
    deadline = time.monotonic() + timeout
    while True:
        found = by_request(read_logs(client, logs, prefix, cache))
        missing = wanted - found.keys()
        if not missing:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(
                f"log records of {sorted(missing)} not delivered to {logs}/{prefix} within {timeout}s; "
                f"delivered objects: {sorted(cache)}\n--- stratus stderr ---\n{srv.stderr_tail(3000)}")
        time.sleep(POLL)


def only(found: dict[str, list[dict]], request_id: str) -> dict:
    records = found[request_id]
    assert len(records) == 1, f"one record per request, got {len(records)}: {records}"
    return records[0]


# ----------------------------------------------------------------------------- record fields

def test_get_object_record_has_every_documented_field(log_server, ls3, owner_id):
    src, logs = new_bucket(ls3), new_bucket(ls3)
    enable_logging(ls3, src, logs)
    body = b"hello access log"
    ls3.put_object(Bucket=src, Key="dir/some key.txt", Body=body)
    sent = Sent(ls3)
    before = now() - timedelta(seconds=1)
    got = ls3.get_object(Bucket=src, Key="dir/some key.txt")
    assert got["Body"].read() == body
    after = now() + timedelta(seconds=1)
    call = dict(sent.last)  # before the polling below sends requests of its own

    r = only(wait_for(log_server, ls3, logs, [rid(got)]), rid(got))
    assert r["bucket_owner"] == owner_id
    assert re.fullmatch(r"[0-9a-f]{64}", owner_id), owner_id  # a canonical user id
    assert r["bucket"] == src
    assert before <= r["_time"] <= after, (r["time"], before, after)
    assert r["remote_ip"] == "127.0.0.1"
    assert r["requester"] == owner_id  # the account's own (root) caller
    assert r["request_id"] == rid(got) == got["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
    assert r["operation"] == "REST.GET.OBJECT"
    assert r["key"] == "dir/some%20key.txt"
    assert r["request_uri"] == f"GET /{src}/dir/some%20key.txt HTTP/1.1" == call["uri"]
    assert (r["http_status"], r["error_code"]) == ("200", "-")
    assert (r["bytes_sent"], r["object_size"]) == (str(len(body)), str(len(body)))
    assert r["total_time"].isdigit()
    if r["turn_around_time"] != "-":
        assert int(r["turn_around_time"]) <= int(r["total_time"])
    assert r["referer"] == "-"
    assert r["user_agent"] == call["ua"]
    assert "Boto3" in r["user_agent"] or "Botocore" in r["user_agent"]
    assert r["version_id"] == "-"  # no versionId in the request
    host_id = got["ResponseMetadata"]["HTTPHeaders"].get("x-amz-id-2")
    if host_id:
        assert r["host_id"] == host_id  # the x-amz-id-2 of the response
    else:
        assert r["host_id"]
    assert r["signature_version"] == "SigV4"
    assert r["cipher_suite"] == "-"  # plain HTTP
    assert r["authentication_type"] == "AuthHeader"
    assert r["host_header"] == f"127.0.0.1:{log_server.port}"
    assert r["tls_version"] == "-"
    assert (r["access_point_arn"], r["acl_required"]) == ("-", "-")


def test_put_head_delete_and_missing_key_records(log_server, ls3, owner_id):
    src, logs = new_bucket(ls3), new_bucket(ls3)
    enable_logging(ls3, src, logs)
    sent = Sent(ls3)
    body = b"0123456789" * 7
    put = ls3.put_object(Bucket=src, Key="obj.bin", Body=body)
    put_call = sent.last
    head = ls3.head_object(Bucket=src, Key="obj.bin")
    with pytest.raises(ClientError) as missing_get:
        ls3.get_object(Bucket=src, Key="no such key")
    missing_get_call = sent.last
    with pytest.raises(ClientError) as missing_head:
        ls3.head_object(Bucket=src, Key="no such key")
    delete = ls3.delete_object(Bucket=src, Key="obj.bin")
    ids = [rid(put), rid(head), rid(missing_get.value.response), rid(missing_head.value.response), rid(delete)]
    found = wait_for(log_server, ls3, logs, ids)

    r = only(found, rid(put))
    assert (r["operation"], r["key"], r["http_status"], r["error_code"]) == ("REST.PUT.OBJECT", "obj.bin", "200", "-")
    assert r["request_uri"] == f"PUT /{src}/obj.bin HTTP/1.1" == put_call["uri"]
    assert r["bytes_sent"] == "-"  # PutObject answers without a body
    assert r["object_size"] == str(len(body))

    r = only(found, rid(head))
    assert (r["operation"], r["key"], r["http_status"], r["error_code"]) == ("REST.HEAD.OBJECT", "obj.bin", "200", "-")
    assert r["request_uri"] == f"HEAD /{src}/obj.bin HTTP/1.1"
    assert r["bytes_sent"] == "-"
    assert r["object_size"] == str(len(body))

    r = only(found, rid(missing_get.value.response))
    assert (r["operation"], r["key"]) == ("REST.GET.OBJECT", "no%20such%20key")
    assert (r["http_status"], r["error_code"]) == ("404", "NoSuchKey")
    assert r["bytes_sent"] == str(missing_get_call["body"]) and missing_get_call["body"] > 0  # the error document
    assert r["object_size"] == "-"
    assert r["requester"] == owner_id

    r = only(found, rid(missing_head.value.response))
    assert (r["operation"], r["http_status"], r["error_code"]) == ("REST.HEAD.OBJECT", "404", "NoSuchKey")
    assert r["bytes_sent"] == "-"  # a HEAD answer has no body

    r = only(found, rid(delete))
    assert (r["operation"], r["key"]) == ("REST.DELETE.OBJECT", "obj.bin")
    assert (r["http_status"], r["error_code"]) == ("204", "-")
    assert r["bytes_sent"] == "-"


def test_operations_are_named_rest_method_resource(log_server, ls3):
    src, logs = new_bucket(ls3), new_bucket(ls3)
    enable_logging(ls3, src, logs)
    ls3.put_bucket_tagging(Bucket=src, Tagging={"TagSet": [{"Key": "team", "Value": "logs"}]})
    ls3.put_object(Bucket=src, Key="docs/a b.txt", Body=b"source of a copy")
    ls3.put_object_tagging(Bucket=src, Key="docs/a b.txt", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    sent = Sent(ls3)
    calls: list[tuple[str, str, str, dict, dict]] = []  # (operation, key, request id, response, sent call)

    def call(operation: str, key: str, fn):
        resp = fn()
        calls.append((operation, key, rid(resp), resp, dict(sent.last)))
        return resp

    call("REST.GET.BUCKET", "-", lambda: ls3.list_objects_v2(Bucket=src))
    call("REST.GET.BUCKET", "-", lambda: ls3.list_objects(Bucket=src))
    call("REST.HEAD.BUCKET", "-", lambda: ls3.head_bucket(Bucket=src))
    call("REST.GET.VERSIONING", "-", lambda: ls3.get_bucket_versioning(Bucket=src))
    call("REST.GET.ACL", "-", lambda: ls3.get_bucket_acl(Bucket=src))
    call("REST.GET.TAGGING", "-", lambda: ls3.get_bucket_tagging(Bucket=src))
    call("REST.GET.OBJECT_TAGGING", "docs/a%20b.txt", lambda: ls3.get_object_tagging(Bucket=src, Key="docs/a b.txt"))
    call("REST.COPY.OBJECT", "docs/copy.txt", lambda: ls3.copy_object(
        Bucket=src, Key="docs/copy.txt", CopySource={"Bucket": src, "Key": "docs/a b.txt"}))
    upload = call("REST.POST.UPLOADS", "big.bin", lambda: ls3.create_multipart_upload(Bucket=src, Key="big.bin"))
    part = call("REST.PUT.PART", "big.bin", lambda: ls3.upload_part(
        Bucket=src, Key="big.bin", UploadId=upload["UploadId"], PartNumber=1, Body=b"only part"))
    call("REST.POST.UPLOAD", "big.bin", lambda: ls3.complete_multipart_upload(
        Bucket=src, Key="big.bin", UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}))
    call("REST.POST.MULTI_OBJECT_DELETE", "-", lambda: ls3.delete_objects(
        Bucket=src, Delete={"Objects": [{"Key": "docs/copy.txt"}, {"Key": "big.bin"}]}))
    call("REST.DELETE.OBJECT", "docs/a%20b.txt", lambda: ls3.delete_object(Bucket=src, Key="docs/a b.txt"))

    found = wait_for(log_server, ls3, logs, [c[2] for c in calls])
    for operation, key, request_id, resp, sent_call in calls:
        records = [r for r in found[request_id] if r["operation"] == operation]
        assert len(records) == 1, (operation, found[request_id])
        r = records[0]
        if operation not in ("REST.COPY.OBJECT", "REST.POST.MULTI_OBJECT_DELETE"):
            # A copy and a multi-object delete may add records of their parts (as AWS does).
            assert len(found[request_id]) == 1, (operation, found[request_id])
        assert r["bucket"] == src, operation
        assert r["key"] == key, operation
        assert r["request_uri"] == sent_call["uri"], operation
        assert r["http_status"] == str(resp["ResponseMetadata"]["HTTPStatusCode"]), operation
        assert r["error_code"] == "-", operation
        expected_bytes = sent_call["body"]
        if expected_bytes is not None:
            assert r["bytes_sent"] == (str(expected_bytes) if expected_bytes else "-"), operation
        assert (r["signature_version"], r["authentication_type"]) == ("SigV4", "AuthHeader"), operation
    uris = {c[0]: c[4]["uri"] for c in calls}
    assert uris["REST.GET.VERSIONING"] == f"GET /{src}?versioning HTTP/1.1"
    assert uris["REST.PUT.PART"].startswith(f"PUT /{src}/big.bin?") and "uploadId=" in uris["REST.PUT.PART"]


def test_unauthenticated_request_keeps_custom_query_parameters_and_referer(log_server, ls3, owner_id):
    src, logs = new_bucket(ls3), new_bucket(ls3)
    enable_logging(ls3, src, logs)
    ls3.put_object(Bucket=src, Key="public.txt", Body=b"anyone")
    headers = {"Referer": "http://www.example.com/webservices", "User-Agent": "curl/7.15.1"}
    # S3 ignores query parameters beginning with "x-" but logs them in the Request-URI.
    ok = requests.get(f"{log_server.endpoint}/{src}/public.txt?x-user=johndoe", headers=headers, timeout=10)
    assert ok.status_code == 200 and ok.content == b"anyone"
    missing = requests.get(f"{log_server.endpoint}/{src}/not%20here?x-user=johndoe", headers=headers, timeout=10)
    assert missing.status_code == 404
    ids = [ok.headers["x-amz-request-id"], missing.headers["x-amz-request-id"]]
    found = wait_for(log_server, ls3, logs, ids)

    r = only(found, ids[0])
    assert r["bucket_owner"] == owner_id
    assert r["requester"] == "-"
    assert (r["operation"], r["key"]) == ("REST.GET.OBJECT", "public.txt")
    assert r["request_uri"] == f"GET /{src}/public.txt?x-user=johndoe HTTP/1.1"
    assert (r["http_status"], r["bytes_sent"], r["object_size"]) == ("200", "6", "6")
    assert r["referer"] == "http://www.example.com/webservices"
    assert r["user_agent"] == "curl/7.15.1"
    assert (r["signature_version"], r["authentication_type"]) == ("-", "-")
    assert r["host_header"] == f"127.0.0.1:{log_server.port}"

    r = only(found, ids[1])
    assert r["requester"] == "-"
    assert (r["operation"], r["key"]) == ("REST.GET.OBJECT", "not%20here")
    assert r["request_uri"] == f"GET /{src}/not%20here?x-user=johndoe HTTP/1.1"
    assert (r["http_status"], r["error_code"]) == ("404", "NoSuchKey")
    assert r["bytes_sent"] == str(len(missing.content))


@pytest.mark.parametrize("signature,logged", [("s3v4", "SigV4"), ("s3", "SigV2")])
def test_presigned_url_is_logged_as_query_string_authentication(log_server, ls3, owner_id, signature, logged):
    src, logs = new_bucket(ls3), new_bucket(ls3)
    enable_logging(ls3, src, logs)
    ls3.put_object(Bucket=src, Key="shared file.txt", Body=b"presigned")
    signer = make_s3_client(log_server.endpoint, signature_version=signature)
    url = signer.generate_presigned_url("get_object", Params={"Bucket": src, "Key": "shared file.txt"},
                                        ExpiresIn=300)
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.content == b"presigned"
    rec = only(wait_for(log_server, ls3, logs, [r.headers["x-amz-request-id"]]), r.headers["x-amz-request-id"])
    parts = urlsplit(url)
    assert rec["request_uri"] == f"GET {parts.path}?{parts.query} HTTP/1.1"
    assert (rec["operation"], rec["key"]) == ("REST.GET.OBJECT", "shared%20file.txt")
    assert rec["requester"] == owner_id
    assert rec["signature_version"] == logged
    assert rec["authentication_type"] == "QueryString"
    assert (rec["bytes_sent"], rec["object_size"]) == ("9", "9")


def test_version_id_is_the_one_in_the_request(log_server, ls3):
    src, logs = new_bucket(ls3), new_bucket(ls3)
    ls3.put_bucket_versioning(Bucket=src, VersioningConfiguration={"Status": "Enabled"})
    enable_logging(ls3, src, logs)
    v1 = ls3.put_object(Bucket=src, Key="doc", Body=b"first")["VersionId"]
    ls3.put_object(Bucket=src, Key="doc", Body=b"second!")
    old = ls3.get_object(Bucket=src, Key="doc", VersionId=v1)
    assert old["Body"].read() == b"first"
    latest = ls3.get_object(Bucket=src, Key="doc")
    assert latest["Body"].read() == b"second!"
    found = wait_for(log_server, ls3, logs, [rid(old), rid(latest)])
    r = only(found, rid(old))
    assert r["version_id"] == v1
    assert f"versionId={quote(v1, safe='')}" in r["request_uri"]
    assert r["object_size"] == "5"
    r = only(found, rid(latest))
    assert r["version_id"] == "-"
    assert r["object_size"] == "7"


# ----------------------------------------------------------------------------- log objects

@pytest.mark.parametrize("key_format", [None, {"SimplePrefix": {}}], ids=["default", "SimplePrefix"])
def test_simple_prefix_keys_name_the_delivery_time(log_server, ls3, key_format):
    src, logs = new_bucket(ls3), new_bucket(ls3)
    enable_logging(ls3, src, logs, key_format=key_format)
    expected = {"TargetBucket": logs, "TargetPrefix": PREFIX}
    if key_format is not None:
        expected["TargetObjectKeyFormat"] = key_format
    assert ls3.get_bucket_logging(Bucket=src)["LoggingEnabled"] == expected
    start = now() - timedelta(seconds=1)
    resp = ls3.put_object(Bucket=src, Key="k", Body=b"v")
    found = wait_for(log_server, ls3, logs, [rid(resp)])
    end = now() + timedelta(seconds=1)
    key = only(found, rid(resp))["_key"]
    m = re.fullmatch(rf"access/(\d{{4}})-(\d{{2}})-(\d{{2}})-(\d{{2}})-(\d{{2}})-(\d{{2}})-({UNIQUE})", key)
    assert m, key
    delivered = key_time(m.groups()[:6])
    assert start <= delivered <= end, (key, start, end)
    objects = read_logs(ls3, logs)
    for k, records in objects.items():
        assert records, f"empty log object {k}"
        # A log file delivered at some time holds records of requests received before it.
        assert all(r["_time"] <= key_time(re.match(r"access/(\d+)-(\d+)-(\d+)-(\d+)-(\d+)-(\d+)-", k).groups())
                   for r in records), k
    # The log objects are ordinary objects of the target bucket.
    head = ls3.head_object(Bucket=logs, Key=key)
    assert head["ContentLength"] > 0


def test_partitioned_prefix_by_event_time(log_server, ls3):
    src, logs = new_bucket(ls3), new_bucket(ls3)
    key_format = {"PartitionedPrefix": {"PartitionDateSource": "EventTime"}}
    enable_logging(ls3, src, logs, key_format=key_format)
    assert ls3.get_bucket_logging(Bucket=src)["LoggingEnabled"] == {
        "TargetBucket": logs, "TargetPrefix": PREFIX, "TargetObjectKeyFormat": key_format}
    resp = ls3.put_object(Bucket=src, Key="event", Body=b"time")
    found = wait_for(log_server, ls3, logs, [rid(resp)])
    record = only(found, rid(resp))
    key = record["_key"]
    m = re.fullmatch(
        rf"access/{DEFAULT_ACCOUNT}/{REGION}/{re.escape(src)}/(\d{{4}})/(\d{{2}})/(\d{{2}})/"
        rf"(\d{{4}})-(\d{{2}})-(\d{{2}})-(\d{{2}})-(\d{{2}})-(\d{{2}})-({UNIQUE})", key)
    assert m, key
    y, mo, d, y2, mo2, d2, hh, mm, ss, _ = m.groups()
    assert (y, mo, d) == (y2, mo2, d2), key
    # EventTime: the day the events happened; hour, minutes and seconds are 00.
    assert (hh, mm, ss) == ("00", "00", "00"), key
    for r in read_logs(ls3, logs)[key]:
        assert r["_time"].strftime("%Y/%m/%d") == f"{y}/{mo}/{d}", (key, r["time"])


def test_partitioned_prefix_by_delivery_time(log_server, ls3):
    src, logs = new_bucket(ls3), new_bucket(ls3)
    enable_logging(ls3, src, logs, prefix="by-delivery/",
                   key_format={"PartitionedPrefix": {"PartitionDateSource": "DeliveryTime"}})
    start = now() - timedelta(seconds=1)
    resp = ls3.get_bucket_versioning(Bucket=src)
    found = wait_for(log_server, ls3, logs, [rid(resp)], prefix="by-delivery/")
    end = now() + timedelta(seconds=1)
    record = only(found, rid(resp))
    assert record["operation"] == "REST.GET.VERSIONING"
    m = re.fullmatch(
        rf"by-delivery/{DEFAULT_ACCOUNT}/{REGION}/{re.escape(src)}/(\d{{4}})/(\d{{2}})/(\d{{2}})/"
        rf"(\d{{4}})-(\d{{2}})-(\d{{2}})-(\d{{2}})-(\d{{2}})-(\d{{2}})-({UNIQUE})", record["_key"])
    assert m, record["_key"]
    assert m.groups()[0:3] == m.groups()[3:6], record["_key"]
    delivered = key_time(m.groups()[3:9])
    assert start <= delivered <= end and record["_time"] <= delivered, (record["_key"], record["time"])


def test_each_log_object_holds_one_source_buckets_records(log_server, ls3):
    first, second, logs = new_bucket(ls3), new_bucket(ls3), new_bucket(ls3)
    enable_logging(ls3, first, logs)
    enable_logging(ls3, second, logs)
    ids = []
    for i in range(3):
        ids.append(rid(ls3.put_object(Bucket=first, Key=f"one-{i}", Body=b"1")))
        ids.append(rid(ls3.put_object(Bucket=second, Key=f"two-{i}", Body=b"2")))
    found = wait_for(log_server, ls3, logs, ids)
    assert {only(found, i)["bucket"] for i in ids[0::2]} == {first}
    assert {only(found, i)["bucket"] for i in ids[1::2]} == {second}
    objects = read_logs(ls3, logs)
    keys_by_bucket: dict[str, set] = {}
    for key, records in objects.items():
        buckets = {r["bucket"] for r in records}
        assert len(buckets) == 1, f"log object {key} mixes source buckets {buckets}"
        keys_by_bucket.setdefault(buckets.pop(), set()).add(key)
    assert set(keys_by_bucket) == {first, second}
    assert not keys_by_bucket[first] & keys_by_bucket[second]
    assert all(re.fullmatch(rf"access/[0-9-]{{19}}-{UNIQUE}", k) for k in objects), sorted(objects)


def test_buckets_without_logging_produce_no_records(log_server, ls3):
    quiet, logged, logs = new_bucket(ls3), new_bucket(ls3), new_bucket(ls3)
    enable_logging(ls3, logged, logs)
    quiet_ids = [rid(ls3.put_object(Bucket=quiet, Key="q", Body=b"quiet")),
                 rid(ls3.get_object(Bucket=quiet, Key="q")),
                 rid(ls3.list_objects_v2(Bucket=quiet))]
    marker = rid(ls3.put_object(Bucket=logged, Key="marker", Body=b"m"))
    wait_for(log_server, ls3, logs, [marker])
    time.sleep(FLUSH + 0.5)
    records = [r for rs in read_logs(ls3, logs, prefix="").values() for r in rs]
    assert not [r for r in records if r["bucket"] == quiet or r["request_id"] in quiet_ids]
    assert {r["bucket"] for r in records} == {logged}


def test_empty_logging_status_stops_logging(log_server, ls3):
    src, keep, logs = new_bucket(ls3), new_bucket(ls3), new_bucket(ls3)
    enable_logging(ls3, src, logs)
    enable_logging(ls3, keep, logs)
    first = rid(ls3.put_object(Bucket=src, Key="before.txt", Body=b"logged"))
    wait_for(log_server, ls3, logs, [first])
    ls3.put_bucket_logging(Bucket=src, BucketLoggingStatus={})
    assert "LoggingEnabled" not in ls3.get_bucket_logging(Bucket=src)
    later = [rid(ls3.put_object(Bucket=src, Key="after.txt", Body=b"not logged")),
             rid(ls3.get_object(Bucket=src, Key="after.txt"))]
    marker = rid(ls3.put_object(Bucket=keep, Key="marker", Body=b"m"))
    wait_for(log_server, ls3, logs, [marker])
    time.sleep(FLUSH + 0.5)
    found = by_request(read_logs(ls3, logs))
    assert not set(later) & found.keys(), "requests after logging was disabled were logged"
    assert [r["key"] for r in found[first]] == ["before.txt"]


def test_requester_pays_requests_are_logged_with_the_requester(log_server, ls3, owner_id):
    src, logs = new_bucket(ls3), new_bucket(ls3)
    enable_logging(ls3, src, logs)
    ls3.put_object(Bucket=src, Key="data.txt", Body=b"paid")
    ls3.put_bucket_request_payment(Bucket=src, RequestPaymentConfiguration={"Payer": "Requester"})
    other = make_s3_client(log_server.endpoint, access_key=OTHER_ACCOUNT)
    other_id = other.list_buckets()["Owner"]["ID"]
    assert other_id != owner_id
    with pytest.raises(ClientError) as denied:
        other.get_object(Bucket=src, Key="data.txt")
    assert (status(denied), code(denied)) == (403, "AccessDenied")
    paid = other.get_object(Bucket=src, Key="data.txt", RequestPayer="requester")
    assert paid["Body"].read() == b"paid" and paid["RequestCharged"] == "requester"
    found = wait_for(log_server, ls3, logs, [rid(denied.value.response), rid(paid)])

    r = only(found, rid(denied.value.response))
    assert (r["bucket_owner"], r["requester"]) == (owner_id, other_id)
    assert (r["operation"], r["http_status"], r["error_code"]) == ("REST.GET.OBJECT", "403", "AccessDenied")
    r = only(found, rid(paid))
    assert (r["bucket_owner"], r["requester"]) == (owner_id, other_id)
    assert (r["http_status"], r["error_code"], r["bytes_sent"]) == ("200", "-", "4")


# ----------------------------------------------------------------------------- requester pays

@pytest.fixture
def rp_bucket(s3):  # noqa: F811
    name = bucket_name("rp")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="data.txt", Body=b"pay to read")
    s3.put_bucket_request_payment(Bucket=name, RequestPaymentConfiguration={"Payer": "Requester"})
    return name


@pytest.fixture
def other(endpoint):
    return make_s3_client(endpoint, access_key=OTHER_ACCOUNT)


def charged(resp: dict) -> str | None:
    return resp["ResponseMetadata"]["HTTPHeaders"].get("x-amz-request-charged")


def test_request_payment_configuration_round_trips(s3):  # noqa: F811
    name = bucket_name("rp")
    s3.create_bucket(Bucket=name)
    assert s3.get_bucket_request_payment(Bucket=name)["Payer"] == "BucketOwner"
    s3.put_bucket_request_payment(Bucket=name, RequestPaymentConfiguration={"Payer": "Requester"})
    assert s3.get_bucket_request_payment(Bucket=name)["Payer"] == "Requester"
    s3.put_bucket_request_payment(Bucket=name, RequestPaymentConfiguration={"Payer": "BucketOwner"})
    assert s3.get_bucket_request_payment(Bucket=name)["Payer"] == "BucketOwner"


def test_owner_needs_no_header_and_is_not_charged(s3, rp_bucket):  # noqa: F811
    got = s3.get_object(Bucket=rp_bucket, Key="data.txt")
    assert got["Body"].read() == b"pay to read"
    head = s3.head_object(Bucket=rp_bucket, Key="data.txt")
    put = s3.put_object(Bucket=rp_bucket, Key="owner.txt", Body=b"mine")
    listed = s3.list_objects_v2(Bucket=rp_bucket)
    assert {o["Key"] for o in listed["Contents"]} == {"data.txt", "owner.txt"}
    for resp in (got, head, put, listed):
        assert "RequestCharged" not in resp
        assert charged(resp) is None


def test_other_account_without_the_header_is_denied(s3, other, rp_bucket):  # noqa: F811
    for op in (lambda: other.get_object(Bucket=rp_bucket, Key="data.txt"),
               lambda: other.put_object(Bucket=rp_bucket, Key="intruder.txt", Body=b"free ride"),
               lambda: other.list_objects_v2(Bucket=rp_bucket)):
        with pytest.raises(ClientError) as e:
            op()
        assert (status(e), code(e)) == (403, "AccessDenied")
    with pytest.raises(ClientError) as e:
        other.head_object(Bucket=rp_bucket, Key="data.txt")
    assert status(e) == 403  # a HEAD answer has no body to name the code
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=rp_bucket, Key="intruder.txt")
    assert status(e) == 404, "the refused PutObject wrote nothing"


def test_other_account_with_the_header_is_charged(s3, other, rp_bucket):  # noqa: F811
    got = other.get_object(Bucket=rp_bucket, Key="data.txt", RequestPayer="requester")
    assert got["Body"].read() == b"pay to read"
    assert got["RequestCharged"] == "requester" and charged(got) == "requester"
    head = other.head_object(Bucket=rp_bucket, Key="data.txt", RequestPayer="requester")
    assert head["ContentLength"] == 11 and head["RequestCharged"] == "requester"
    put = other.put_object(Bucket=rp_bucket, Key="paid.txt", Body=b"paid upload", RequestPayer="requester")
    assert put["RequestCharged"] == "requester"
    assert s3.get_object(Bucket=rp_bucket, Key="paid.txt")["Body"].read() == b"paid upload"
    listed = other.list_objects_v2(Bucket=rp_bucket, RequestPayer="requester")
    assert {o["Key"] for o in listed["Contents"]} == {"data.txt", "paid.txt"}
    assert charged(listed) == "requester"


def test_presigned_url_of_another_account_needs_the_header(endpoint, rp_bucket):
    signer = make_s3_client(endpoint, access_key=OTHER_ACCOUNT, signature_version="s3v4")
    url = signer.generate_presigned_url("get_object", Params={"Bucket": rp_bucket, "Key": "data.txt"})
    assert requests.get(url, timeout=10).status_code == 403
    paid_url = signer.generate_presigned_url(
        "get_object", Params={"Bucket": rp_bucket, "Key": "data.txt", "RequestPayer": "requester"})
    r = requests.get(paid_url, headers={"x-amz-request-payer": "requester"}, timeout=10)
    assert r.status_code == 200 and r.content == b"pay to read"
    assert r.headers.get("x-amz-request-charged") == "requester"


def test_anonymous_requests_are_refused(s3, endpoint, rp_bucket):  # noqa: F811
    url = f"{endpoint}/{rp_bucket}/data.txt"
    assert requests.get(url, timeout=10).status_code == 403
    # The header cannot make an unauthenticated request chargeable.
    assert requests.get(url, headers={"x-amz-request-payer": "requester"}, timeout=10).status_code == 403
    s3.put_bucket_request_payment(Bucket=rp_bucket, RequestPaymentConfiguration={"Payer": "BucketOwner"})
    r = requests.get(url, timeout=10)  # the server's open mode lets anonymous callers read again
    assert r.status_code == 200 and r.content == b"pay to read"


def test_switching_back_to_bucket_owner_lets_others_in_uncharged(s3, other, rp_bucket):  # noqa: F811
    s3.put_bucket_request_payment(Bucket=rp_bucket, RequestPaymentConfiguration={"Payer": "BucketOwner"})
    assert s3.get_bucket_request_payment(Bucket=rp_bucket)["Payer"] == "BucketOwner"
    got = other.get_object(Bucket=rp_bucket, Key="data.txt")
    assert got["Body"].read() == b"pay to read"
    assert "RequestCharged" not in got and charged(got) is None
    # The owner pays on a BucketOwner bucket, even when a requester offers to.
    offered = other.get_object(Bucket=rp_bucket, Key="data.txt", RequestPayer="requester")
    assert offered["Body"].read() == b"pay to read"
    assert "RequestCharged" not in offered
    listed = other.list_objects_v2(Bucket=rp_bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["data.txt"]
