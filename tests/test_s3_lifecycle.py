"""S3 storage classes and lifecycle rules applied by the server, as AWS behaves.

Storage classes run on the shared server: every class a general purpose bucket accepts is
recorded by PutObject, CopyObject and CreateMultipartUpload and reported by HeadObject and
GetObject (without the header for STANDARD, which AWS omits), ListObjects(V2),
ListObjectVersions, ListMultipartUploads and GetObjectAttributes (with STANDARD); an unknown
class is 400 InvalidStorageClass; GLACIER and DEEP_ARCHIVE objects refuse reads with 403
InvalidObjectState until RestoreObject restored them.

Lifecycle runs on a server of its own started with `--s3-lifecycle-day-seconds 1`: a
lifecycle "day" is one second and day boundaries ("midnight UTC") are whole seconds, so an
object under a one-day rule is acted on within about two to three seconds. AWS adds the days to
the object's creation time and rounds up to the next midnight UTC; noncurrent days count from
the successor's creation (S3 User Guide, "Lifecycle configuration elements").

AWS references used below: the S3 User Guide ("Lifecycle configuration elements",
"Transitioning objects using Amazon S3 Lifecycle", "Configuring S3 Lifecycle event
notifications", "Event message structure"), the API reference (HeadObject, RestoreObject,
CopyObject, Transition) and LocalStack's snapshots recorded against AWS
(tests/aws/services/s3/test_s3.snapshot.json: GetObject of a DEEP_ARCHIVE object is 403
InvalidObjectState with the class in the error, RestoreObject answers 202, GetObjectAttributes
and listings name STANDARD).
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
from botocore.exceptions import ClientError

from s3_helpers import bucket, make_s3_client, s3  # noqa: F401  (fixtures)
from sqs_helpers import REGION, ServerProcess, make_sqs_client, start_own_server, unique, wait_until

pytestmark = pytest.mark.stratus_only

# Every class PutObject accepts on a general purpose bucket (OUTPOSTS, SNOW and
# EXPRESS_ONEZONE belong to other kinds of storage).
CLASSES = ["STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
           "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"]
READABLE = ["REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"]
ARCHIVED = ["GLACIER", "DEEP_ARCHIVE"]
NOT_VALID_FOR_CLASS = "The operation is not valid for the object's storage class"

DAY = 1        # seconds in a lifecycle day on the lifecycle server
WAIT = 10.0    # how long an effect of a one-day rule may take
POLL = 0.2
SETTLE = 2.5   # more than two sweeps and a day boundary: what was left alone stays alone


def code(e) -> str:
    return e.value.response["Error"]["Code"]


def status(e) -> int:
    return e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def new_bucket(client, versioned: bool = False) -> str:
    name = unique("lc").lower()
    client.create_bucket(Bucket=name)
    if versioned:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def exists(client, bucket_: str, key: str) -> bool:
    try:
        client.head_object(Bucket=bucket_, Key=key)
        return True
    except ClientError as e:
        if e.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return False
        raise


def versions(client, bucket_: str, key: str) -> tuple[list[dict], list[dict]]:
    """(versions, delete markers) of exactly `key`."""
    r = client.list_object_versions(Bucket=bucket_, Prefix=key)
    return ([v for v in r.get("Versions", []) if v["Key"] == key],
            [m for m in r.get("DeleteMarkers", []) if m["Key"] == key])


def set_rules(client, bucket_: str, *rules: dict) -> None:
    client.put_bucket_lifecycle_configuration(Bucket=bucket_, LifecycleConfiguration={"Rules": list(rules)})


def rule(rule_id: str, filter_: dict, enabled: bool = True, **actions) -> dict:
    return {"ID": rule_id, "Status": "Enabled" if enabled else "Disabled", "Filter": filter_, **actions}


def head_class(client, bucket_: str, key: str) -> str:
    return client.head_object(Bucket=bucket_, Key=key).get("StorageClass", "STANDARD")


# ----------------------------------------------------------------------------- the lifecycle server

@pytest.fixture(scope="module")
def lifecycle_server(tmp_path_factory):
    srv = start_own_server(tmp_path_factory, "s3-lifecycle", ["--s3-lifecycle-day-seconds", str(DAY)])
    yield srv
    srv.kill()


@pytest.fixture
def ls3(lifecycle_server):
    return make_s3_client(lifecycle_server.endpoint)


@pytest.fixture
def lsqs(lifecycle_server):
    return make_sqs_client(lifecycle_server.endpoint)


def eventually(srv: ServerProcess, check, what: str, timeout: float = WAIT):
    """check()'s first truthy value; fails with the lifecycle server's stderr after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(POLL)
    raise AssertionError(f"{what}: not seen within {timeout}s (last: {last!r})\n"
                         f"--- stratus stderr ---\n{srv.stderr_tail(3000)}")


def subscribed_queue(s3_client, sqs_client, bucket_: str, events: list[str]) -> str:
    url = sqs_client.create_queue(QueueName=unique("lc-events"))["QueueUrl"]
    arn = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3_client.put_bucket_notification_configuration(Bucket=bucket_, NotificationConfiguration={
        "QueueConfigurations": [{"Id": "lifecycle", "QueueArn": arn, "Events": events}]})
    return url


def records(sqs_client, url: str, want: int, timeout: float = 15.0) -> list[dict]:
    """Event records from `url` (the s3:TestEvent messages skipped) until `want` arrived or `timeout`."""
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        for m in sqs_client.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                            WaitTimeSeconds=1).get("Messages", []):
            sqs_client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            body = json.loads(m["Body"])
            if body.get("Event") == "s3:TestEvent":
                continue
            got.extend(body["Records"])
    return got


# ----------------------------------------------------------------------------- storage classes

def test_every_storage_class_is_recorded_and_reported(s3, bucket):
    for cls in CLASSES:
        s3.put_object(Bucket=bucket, Key=f"k/{cls}", Body=b"data", StorageClass=cls)
    s3.put_object(Bucket=bucket, Key="k/default", Body=b"data")
    expected = {f"k/{cls}": cls for cls in CLASSES} | {"k/default": "STANDARD"}

    for key, cls in expected.items():
        head = s3.head_object(Bucket=bucket, Key=key)
        if cls == "STANDARD":
            # AWS returns x-amz-storage-class for every class except STANDARD (HeadObject reference).
            assert "StorageClass" not in head, (key, head)
            assert "x-amz-storage-class" not in head["ResponseMetadata"]["HTTPHeaders"]
        else:
            assert head["StorageClass"] == cls, (key, head)
        # GetObjectAttributes names STANDARD too (recorded AWS answer).
        attrs = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["StorageClass", "ObjectSize"])
        assert (attrs["StorageClass"], attrs["ObjectSize"]) == (cls, 4), key

    assert {o["Key"]: o["StorageClass"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]} == expected
    assert {o["Key"]: o["StorageClass"] for o in s3.list_objects(Bucket=bucket)["Contents"]} == expected
    assert {v["Key"]: v["StorageClass"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]} == expected

    for cls in READABLE:
        got = s3.get_object(Bucket=bucket, Key=f"k/{cls}")
        assert got["StorageClass"] == cls and got["Body"].read() == b"data"
    got = s3.get_object(Bucket=bucket, Key="k/STANDARD")
    assert "StorageClass" not in got and got["Body"].read() == b"data"


def test_copy_and_multipart_upload_record_the_class_and_unknown_classes_are_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"source bytes", StorageClass="GLACIER_IR")
    s3.copy_object(Bucket=bucket, Key="copy-ia", CopySource={"Bucket": bucket, "Key": "src"}, StorageClass="ONEZONE_IA")
    assert head_class(s3, bucket, "copy-ia") == "ONEZONE_IA"
    # Without x-amz-storage-class the copy is STANDARD, whatever the source's class (CopyObject reference).
    s3.copy_object(Bucket=bucket, Key="copy-default", CopySource={"Bucket": bucket, "Key": "src"})
    assert "StorageClass" not in s3.head_object(Bucket=bucket, Key="copy-default")
    # A copy onto itself is allowed when it changes the storage class: AWS's way to change one.
    s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"}, StorageClass="STANDARD_IA")
    assert head_class(s3, bucket, "src") == "STANDARD_IA"
    assert s3.get_object(Bucket=bucket, Key="src")["Body"].read() == b"source bytes"

    ia = s3.create_multipart_upload(Bucket=bucket, Key="mpu-ia", StorageClass="STANDARD_IA")["UploadId"]
    plain = s3.create_multipart_upload(Bucket=bucket, Key="mpu-plain")["UploadId"]
    uploads = {u["Key"]: u["StorageClass"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]}
    assert uploads == {"mpu-ia": "STANDARD_IA", "mpu-plain": "STANDARD"}
    part = s3.upload_part(Bucket=bucket, Key="mpu-ia", UploadId=ia, PartNumber=1, Body=b"multipart body")
    s3.complete_multipart_upload(Bucket=bucket, Key="mpu-ia", UploadId=ia,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    s3.abort_multipart_upload(Bucket=bucket, Key="mpu-plain", UploadId=plain)
    assert head_class(s3, bucket, "mpu-ia") == "STANDARD_IA"
    assert s3.get_object_attributes(Bucket=bucket, Key="mpu-ia", ObjectAttributes=["StorageClass"])[
        "StorageClass"] == "STANDARD_IA"

    for write in (
        lambda: s3.put_object(Bucket=bucket, Key="bad", Body=b"x", StorageClass="FROZEN"),
        lambda: s3.copy_object(Bucket=bucket, Key="bad", CopySource={"Bucket": bucket, "Key": "src"},
                               StorageClass="FROZEN"),
        lambda: s3.create_multipart_upload(Bucket=bucket, Key="bad", StorageClass="FROZEN"),
    ):
        with pytest.raises(ClientError) as e:
            write()
        assert (status(e), code(e)) == (400, "InvalidStorageClass")
        assert e.value.response["Error"]["Message"] == "The storage class you specified is not valid"
    assert not exists(s3, bucket, "bad")
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket, Prefix="bad")


def test_archived_objects_refuse_reads_but_answer_heads(s3, bucket):
    for cls in ARCHIVED:
        s3.put_object(Bucket=bucket, Key=cls, Body=b"cold", StorageClass=cls)
        head = s3.head_object(Bucket=bucket, Key=cls)
        assert (head["StorageClass"], head["ContentLength"]) == (cls, 4)
        assert "Restore" not in head  # never restored: no x-amz-restore
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket=bucket, Key=cls)
        # Recorded AWS answer: 403, InvalidObjectState, the message and the object's class.
        assert (status(e), code(e)) == (403, "InvalidObjectState")
        assert e.value.response["Error"]["Message"] == NOT_VALID_FOR_CLASS
        assert e.value.response["Error"]["StorageClass"] == cls
    # Glacier Instant Retrieval is read like any other object.
    s3.put_object(Bucket=bucket, Key="instant", Body=b"instant bytes", StorageClass="GLACIER_IR")
    got = s3.get_object(Bucket=bucket, Key="instant", Range="bytes=0-6")
    assert got["Body"].read() == b"instant" and got["StorageClass"] == "GLACIER_IR"


def test_restore_object_makes_a_glacier_object_readable(s3, bucket):
    s3.put_object(Bucket=bucket, Key="cold", Body=b"archived bytes", StorageClass="GLACIER")
    r = s3.restore_object(Bucket=bucket, Key="cold", RestoreRequest={"Days": 1})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 202  # not restored before: 202 Accepted

    # x-amz-restore: ongoing-request="true" while the restore runs, then
    # ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT" (HeadObject reference).
    first = s3.head_object(Bucket=bucket, Key="cold").get("Restore", "")
    assert re.fullmatch(r'ongoing-request="true"|ongoing-request="false", expiry-date="[^"]+"', first), first
    done = wait_until(
        lambda: re.fullmatch(r'ongoing-request="false", expiry-date="([^"]+)"',
                             s3.head_object(Bucket=bucket, Key="cold").get("Restore", "")),
        timeout=10, interval=0.2, message="the restore to complete")
    expiry_text = done.group(1)
    expiry = parsedate_to_datetime(expiry_text)
    assert expiry_text.endswith(" 00:00:00 GMT"), expiry_text  # a restored copy expires at midnight UTC
    now = datetime.now(timezone.utc)
    assert now < expiry <= now + timedelta(days=2, minutes=1), expiry_text

    got = s3.get_object(Bucket=bucket, Key="cold")
    assert got["Body"].read() == b"archived bytes"
    assert got["StorageClass"] == "GLACIER"  # the restored copy does not change the class
    assert got["Restore"] == f'ongoing-request="false", expiry-date="{expiry_text}"'
    again = s3.restore_object(Bucket=bucket, Key="cold", RestoreRequest={"Days": 1})
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200  # already restored: 200 OK

    s3.put_object(Bucket=bucket, Key="warm", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.restore_object(Bucket=bucket, Key="warm", RestoreRequest={"Days": 1})
    assert (status(e), code(e)) == (403, "InvalidObjectState")
    with pytest.raises(ClientError) as e:
        s3.restore_object(Bucket=bucket, Key="missing", RestoreRequest={"Days": 1})
    assert (status(e), code(e)) == (404, "NoSuchKey")


def test_transitions_to_infrequent_access_wait_thirty_days(s3, bucket):
    # "you cannot create a Lifecycle rule to transition objects to the S3 Standard-IA storage
    # class one day after you create them" (User Guide); archive classes take any day count.
    for cls, days in (("STANDARD_IA", 1), ("ONEZONE_IA", 29)):
        with pytest.raises(ClientError) as e:
            set_rules(s3, bucket, rule("ia", {"Prefix": "logs/"}, Transitions=[{"Days": days, "StorageClass": cls}]))
        assert (status(e), code(e)) == (400, "InvalidArgument")
        assert e.value.response["Error"]["Message"] == (
            f"'Days' in Transition action must be greater than or equal to 30 for storageClass '{cls}'")
    with pytest.raises(ClientError):
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    set_rules(s3, bucket,
              rule("ia", {"Prefix": "logs/"}, Transitions=[{"Days": 30, "StorageClass": "STANDARD_IA"}]),
              rule("archive", {"Prefix": "tmp/"}, Transitions=[{"Days": 1, "StorageClass": "GLACIER"}]),
              rule("instant", {"Prefix": "img/"}, Transitions=[{"Days": 0, "StorageClass": "GLACIER_IR"}]))
    got = {r["ID"]: r["Transitions"] for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert got == {"ia": [{"Days": 30, "StorageClass": "STANDARD_IA"}],
                   "archive": [{"Days": 1, "StorageClass": "GLACIER"}],
                   "instant": [{"Days": 0, "StorageClass": "GLACIER_IR"}]}


# ----------------------------------------------------------------------------- lifecycle applied

def test_expiration_removes_objects_under_the_prefix_of_an_enabled_rule(lifecycle_server, ls3):
    b = new_bucket(ls3)
    set_rules(ls3, b,
              rule("expire-tmp", {"Prefix": "tmp/"}, Expiration={"Days": 1}),
              rule("paused", {"Prefix": "keep/"}, enabled=False, Expiration={"Days": 1}))
    for key in ("tmp/a", "tmp/nested/b", "keep/c", "other/d", "tmpx/e"):
        ls3.put_object(Bucket=b, Key=key, Body=b"x")
    eventually(lifecycle_server, lambda: not exists(ls3, b, "tmp/a") and not exists(ls3, b, "tmp/nested/b"),
               "objects under tmp/ expired")
    time.sleep(SETTLE)
    # A disabled rule does nothing; keys outside the prefix are untouched.
    assert [k for k in ("keep/c", "other/d", "tmpx/e") if not exists(ls3, b, k)] == []
    assert sorted(o["Key"] for o in ls3.list_objects_v2(Bucket=b)["Contents"]) == ["keep/c", "other/d", "tmpx/e"]


def test_expiration_filters_by_tag_by_prefix_and_tags_and_by_size(lifecycle_server, ls3):
    b = new_bucket(ls3)
    set_rules(ls3, b,
              rule("tag", {"Tag": {"Key": "lifecycle", "Value": "expire"}}, Expiration={"Days": 1}),
              rule("and", {"And": {"Prefix": "logs/", "Tags": [{"Key": "team", "Value": "a"},
                                                              {"Key": "tier", "Value": "tmp"}]}},
                   Expiration={"Days": 1}),
              rule("size", {"ObjectSizeGreaterThan": 100}, Expiration={"Days": 1}))
    expire = {"tagged/match": "lifecycle=expire",
              "logs/both": "team=a&tier=tmp",
              "logs/more": "team=a&tier=tmp&extra=yes"}  # more tags than the rule names still match
    keep = {"tagged/other-value": "lifecycle=keep",
            "logs/one-tag": "team=a",
            "elsewhere/both": "team=a&tier=tmp"}
    for key, tags in {**expire, **keep}.items():
        ls3.put_object(Bucket=b, Key=key, Body=b"small", Tagging=tags)
    ls3.put_object(Bucket=b, Key="big", Body=b"b" * 500)
    ls3.put_object(Bucket=b, Key="little", Body=b"s" * 10)
    gone = [*expire, "big"]
    eventually(lifecycle_server, lambda: not any(exists(ls3, b, k) for k in gone),
               f"{gone} expired")
    time.sleep(SETTLE)
    assert [k for k in [*keep, "little"] if not exists(ls3, b, k)] == []


def test_expiration_in_a_versioned_bucket_adds_a_delete_marker(lifecycle_server, ls3):
    b = new_bucket(ls3, versioned=True)
    set_rules(ls3, b, rule("expire", {"Prefix": "docs/"}, Expiration={"Days": 1}))
    v1 = ls3.put_object(Bucket=b, Key="docs/a", Body=b"version one")["VersionId"]
    eventually(lifecycle_server, lambda: not exists(ls3, b, "docs/a"), "docs/a expired")
    time.sleep(SETTLE)
    # The current version becomes noncurrent behind one delete marker; with a delete marker
    # current, Expiration takes no further action (User Guide).
    vs, markers = versions(ls3, b, "docs/a")
    assert [(v["VersionId"], v["IsLatest"]) for v in vs] == [(v1, False)]
    assert len(markers) == 1 and markers[0]["IsLatest"] is True and markers[0]["VersionId"] != v1
    assert ls3.get_object(Bucket=b, Key="docs/a", VersionId=v1)["Body"].read() == b"version one"


def test_noncurrent_versions_and_expired_delete_markers_are_removed(lifecycle_server, ls3):
    b = new_bucket(ls3, versioned=True)
    set_rules(ls3, b,
              rule("history", {"Prefix": "a/"}, NoncurrentVersionExpiration={"NoncurrentDays": 1},
                   Expiration={"ExpiredObjectDeleteMarker": True}),
              rule("markers", {"Prefix": "b/"}, Expiration={"ExpiredObjectDeleteMarker": True}))
    ls3.put_object(Bucket=b, Key="a/doc", Body=b"old")
    current = ls3.put_object(Bucket=b, Key="a/doc", Body=b"new")["VersionId"]
    ls3.put_object(Bucket=b, Key="a/gone", Body=b"x")
    ls3.delete_object(Bucket=b, Key="a/gone")
    ls3.delete_object(Bucket=b, Key="b/ghost")  # a delete marker with no version behind it
    kept = ls3.put_object(Bucket=b, Key="b/kept", Body=b"x")["VersionId"]
    ls3.delete_object(Bucket=b, Key="b/kept")

    eventually(lifecycle_server, lambda: versions(ls3, b, "a/doc")[0] and
               [v["VersionId"] for v in versions(ls3, b, "a/doc")[0]] == [current],
               "the noncurrent version of a/doc removed")
    # a/gone: its version expires as noncurrent, then its delete marker is alone and goes too.
    eventually(lifecycle_server, lambda: versions(ls3, b, "a/gone") == ([], []), "a/gone removed entirely")
    eventually(lifecycle_server, lambda: versions(ls3, b, "b/ghost") == ([], []), "the lone b/ghost marker removed")
    time.sleep(SETTLE)
    vs, markers = versions(ls3, b, "b/kept")  # a marker with a version behind it is not expired
    assert [v["VersionId"] for v in vs] == [kept] and len(markers) == 1 and markers[0]["IsLatest"]
    vs, markers = versions(ls3, b, "a/doc")
    assert [(v["VersionId"], v["IsLatest"]) for v in vs] == [(current, True)] and markers == []
    assert ls3.get_object(Bucket=b, Key="a/doc")["Body"].read() == b"new"


def test_incomplete_multipart_uploads_are_aborted(lifecycle_server, ls3):
    b = new_bucket(ls3)
    set_rules(ls3, b, rule("abort", {"Prefix": "uploads/"}, AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1}))
    stale = ls3.create_multipart_upload(Bucket=b, Key="uploads/big")["UploadId"]
    part = ls3.upload_part(Bucket=b, Key="uploads/big", UploadId=stale, PartNumber=1, Body=b"part one")
    other = ls3.create_multipart_upload(Bucket=b, Key="elsewhere/big")["UploadId"]

    def listed():
        return {u["UploadId"] for u in ls3.list_multipart_uploads(Bucket=b).get("Uploads", [])}

    eventually(lifecycle_server, lambda: stale not in listed(), "the upload under uploads/ aborted")
    time.sleep(SETTLE)
    assert listed() == {other}
    with pytest.raises(ClientError) as e:
        ls3.list_parts(Bucket=b, Key="uploads/big", UploadId=stale)
    assert (status(e), code(e)) == (404, "NoSuchUpload")
    with pytest.raises(ClientError) as e:
        ls3.complete_multipart_upload(Bucket=b, Key="uploads/big", UploadId=stale,
                                      MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert code(e) == "NoSuchUpload"
    assert not exists(ls3, b, "uploads/big")


def test_transition_moves_objects_to_glacier(lifecycle_server, ls3):
    b = new_bucket(ls3)
    # GLACIER takes any day count; STANDARD_IA and ONEZONE_IA would need 30 (User Guide).
    set_rules(ls3, b, rule("archive", {"Prefix": "cold/"}, Transitions=[{"Days": 1, "StorageClass": "GLACIER"}]))
    etag = ls3.put_object(Bucket=b, Key="cold/a", Body=b"to archive")["ETag"]
    ls3.put_object(Bucket=b, Key="warm/b", Body=b"stays")
    assert head_class(ls3, b, "cold/a") == "STANDARD"
    eventually(lifecycle_server, lambda: head_class(ls3, b, "cold/a") == "GLACIER", "cold/a transitioned")
    head = ls3.head_object(Bucket=b, Key="cold/a")
    assert head["ETag"] == etag and head["ContentLength"] == len(b"to archive")
    with pytest.raises(ClientError) as e:
        ls3.get_object(Bucket=b, Key="cold/a")
    assert (status(e), code(e)) == (403, "InvalidObjectState")
    time.sleep(SETTLE)
    assert {o["Key"]: o["StorageClass"] for o in ls3.list_objects_v2(Bucket=b)["Contents"]} == {
        "cold/a": "GLACIER", "warm/b": "STANDARD"}
    assert ls3.get_object(Bucket=b, Key="warm/b")["Body"].read() == b"stays"


def test_lifecycle_expiration_events(lifecycle_server, ls3, lsqs):
    plain, versioned = new_bucket(ls3), new_bucket(ls3, versioned=True)
    queues = {}
    for b in (plain, versioned):
        queues[b] = subscribed_queue(ls3, lsqs, b, ["s3:LifecycleExpiration:*"])
        set_rules(ls3, b, rule("expire", {"Prefix": "tmp/"}, Expiration={"Days": 1}))
        ls3.put_object(Bucket=b, Key="tmp/gone", Body=b"x")
        ls3.put_object(Bucket=b, Key="keep/x", Body=b"x")
    # A delete by a request is s3:ObjectRemoved:Delete, which these queues are not subscribed to.
    ls3.put_object(Bucket=plain, Key="tmp/manual", Body=b"x")
    ls3.delete_object(Bucket=plain, Key="tmp/manual")

    expected = {plain: "LifecycleExpiration:Delete",                 # unversioned: the object is deleted
                versioned: "LifecycleExpiration:DeleteMarkerCreated"}  # versioned: a delete marker is added
    for b, name in expected.items():
        got = records(lsqs, queues[b], 1)
        assert len(got) == 1, (b, got, lifecycle_server.stderr_tail(2000))
        rec = got[0]
        assert rec["eventName"] == name
        assert rec["eventSource"] == "aws:s3" and rec["awsRegion"] == REGION
        # The documented lifecycle event names S3 itself as the principal and the source.
        assert rec["userIdentity"]["principalId"] == "s3.amazonaws.com"
        assert rec["requestParameters"]["sourceIPAddress"] == "s3.amazonaws.com"
        assert rec["s3"]["configurationId"] == "lifecycle"
        assert rec["s3"]["bucket"]["name"] == b and rec["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{b}"
        assert rec["s3"]["object"]["key"] == "tmp/gone"
    assert not exists(ls3, plain, "tmp/gone") and not exists(ls3, versioned, "tmp/gone")
    time.sleep(SETTLE)
    for b in (plain, versioned):
        assert records(lsqs, queues[b], 1, timeout=1.5) == []  # nothing else, and no second marker


def test_lifecycle_transition_event(lifecycle_server, ls3, lsqs):
    b = new_bucket(ls3)
    url = subscribed_queue(ls3, lsqs, b, ["s3:LifecycleTransition"])
    set_rules(ls3, b, rule("archive", {"Prefix": "cold/"}, Transitions=[{"Days": 1, "StorageClass": "GLACIER"}]))
    ls3.put_object(Bucket=b, Key="cold/a", Body=b"x")
    ls3.put_object(Bucket=b, Key="warm/b", Body=b"x")
    got = records(lsqs, url, 1)
    assert len(got) == 1, (got, lifecycle_server.stderr_tail(2000))
    rec = got[0]
    assert rec["eventName"] == "LifecycleTransition"
    assert rec["s3"]["object"]["key"] == "cold/a" and rec["s3"]["bucket"]["name"] == b
    # Transition events carry lifecycleEventData (User Guide, "Configuring S3 Lifecycle event notifications").
    assert rec["lifecycleEventData"]["transitionEventData"]["destinationStorageClass"] == "GLACIER"
    assert head_class(ls3, b, "cold/a") == "GLACIER"
    assert records(lsqs, url, 1, timeout=SETTLE) == []


def test_lifecycle_keeps_working_after_a_restart(lifecycle_server):
    srv = lifecycle_server
    client = make_s3_client(srv.endpoint)
    b = new_bucket(client)
    set_rules(client, b, rule("expire-tmp", {"Prefix": "tmp/"}, Expiration={"Days": 1}))
    client.put_object(Bucket=b, Key="tmp/before", Body=b"x")
    client.put_object(Bucket=b, Key="keep/before", Body=b"x")
    srv.stop()
    srv.start(timeout=10)
    client = make_s3_client(srv.endpoint)
    assert [r["ID"] for r in client.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]] == ["expire-tmp"]
    client.put_object(Bucket=b, Key="tmp/after", Body=b"x")
    eventually(srv, lambda: not exists(client, b, "tmp/before") and not exists(client, b, "tmp/after"),
               "tmp/ objects expired after the restart")
    assert exists(client, b, "keep/before")
