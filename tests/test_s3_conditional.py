"""S3 conditional writes and GetObjectAttributes, as AWS answers them.

Conditional writes: PutObject, CompleteMultipartUpload and CopyObject with If-None-Match: *
(create only) or If-Match: <ETag> (replace only that version). A failed condition is
412 PreconditionFailed with a <Condition> element and leaves the object alone; a refused
CompleteMultipartUpload keeps the upload; a write to the key made after the upload began
makes a conditional completion 409 ConditionalRequestConflict; If-Match on a key without a
current object is 404 NoSuchKey; If-None-Match other than "*" is 501 NotImplemented.

GetObjectAttributes: the ETag without quotes, ObjectSize, StorageClass, LastModified,
Checksum, ObjectParts (parts listed only for uploads with checksums), versions, and its
errors.

Sources of the expected answers (recorded from AWS or published by AWS):
- LocalStack's `tests/aws/services/s3/test_s3_api.snapshot.json`,
  TestS3ObjectWritePrecondition (recorded against AWS, March 2025): codes, status codes,
  the Condition/Header/Key elements and the messages asserted below.
- LocalStack's `tests/aws/services/s3/test_s3.snapshot.json`, test_get_object_attributes
  and test_put_object_checksum (recorded against AWS): unquoted ETag, ObjectParts holding
  only TotalPartsCount for an upload without checksums, ChecksumSHA256.
- versity/versitygw issues #915, #917 and #1000 quote AWS's own error bodies for a
  missing and an invalid x-amz-object-attributes header.
- The botocore S3 model (API reference text): If-None-Match expects "*", CopyObject's
  If-None-Match applies to the destination key, Parts are returned only when an
  additional checksum was applied to the object.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from botocore.exceptions import ClientError

from s3_helpers import bucket, make_s3_client, s3  # noqa: F401  (fixtures)
from sqs_helpers import unique

pytestmark = pytest.mark.stratus_only

PRECONDITION_MESSAGE = "At least one of the pre-conditions you specified did not hold"
NOT_IMPLEMENTED_MESSAGE = "A header you provided implies functionality that is not implemented"
CONFLICT_MESSAGE = "The conditional request cannot succeed due to a conflicting operation against this resource."
NO_SUCH_KEY_MESSAGE = "The specified key does not exist."
ALL_ATTRIBUTES = ["ETag", "ObjectSize", "StorageClass", "Checksum", "ObjectParts"]
MIB = 1024 * 1024


def err(e) -> tuple[str, int]:
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def error(e) -> dict:
    return e.value.response["Error"]


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def body(s3, b: str, key: str) -> bytes:
    return s3.get_object(Bucket=b, Key=key)["Body"].read()


def assert_absent(s3, b: str, key: str) -> None:
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=b, Key=key)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def one_part_upload(s3, b: str, key: str, data: bytes) -> tuple[str, list[dict]]:
    up = s3.create_multipart_upload(Bucket=b, Key=key)["UploadId"]
    part = s3.upload_part(Bucket=b, Key=key, UploadId=up, PartNumber=1, Body=data)
    return up, [{"ETag": part["ETag"], "PartNumber": 1}]


@pytest.fixture
def versioned_bucket(s3):
    name = unique("cond").lower()
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


# --------------------------------------------------------------------------- PutObject


def test_if_none_match_star_creates_only_absent_keys(s3, bucket):
    key = unique("create")
    first = s3.put_object(Bucket=bucket, Key=key, Body=b"first", IfNoneMatch="*")
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key=key, Body=b"second", IfNoneMatch="*")
    # AWS: 412 PreconditionFailed, <Condition>If-None-Match</Condition> (LocalStack snapshot).
    assert err(e) == ("PreconditionFailed", 412)
    assert error(e)["Condition"] == "If-None-Match"
    assert error(e)["Message"] == PRECONDITION_MESSAGE
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == b"first" and got["ETag"] == first["ETag"], "the refused write changed the object"
    s3.delete_object(Bucket=bucket, Key=key)
    s3.put_object(Bucket=bucket, Key=key, Body=b"third", IfNoneMatch="*")
    assert body(s3, bucket, key) == b"third"


def test_if_none_match_in_a_versioned_bucket_looks_at_the_current_version(s3, versioned_bucket):
    b, key = versioned_bucket, unique("create")
    v1 = s3.put_object(Bucket=b, Key=key, Body=b"one", IfNoneMatch="*")["VersionId"]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=b, Key=key, Body=b"two", IfNoneMatch="*")
    assert err(e) == ("PreconditionFailed", 412) and error(e)["Condition"] == "If-None-Match"
    assert [v["VersionId"] for v in s3.list_object_versions(Bucket=b, Prefix=key)["Versions"]] == [v1], \
        "a refused write must not add a version"
    marker = s3.delete_object(Bucket=b, Key=key)
    assert marker["DeleteMarker"] is True
    # AWS: a delete marker as the current version counts as "no object" (LocalStack snapshot
    # test_put_object_if_none_match_versioned_bucket: the write succeeds, a third version id).
    v2 = s3.put_object(Bucket=b, Key=key, Body=b"three", IfNoneMatch="*")["VersionId"]
    assert v2 not in (v1, marker["VersionId"])
    listing = s3.list_object_versions(Bucket=b, Prefix=key)
    assert [(v["VersionId"], v["IsLatest"]) for v in listing["Versions"]] == [(v2, True), (v1, False)]
    assert [(m["VersionId"], m["IsLatest"]) for m in listing["DeleteMarkers"]] == [(marker["VersionId"], False)]
    assert body(s3, b, key) == b"three"


def test_if_none_match_accepts_only_a_star(s3, bucket):
    key = unique("star")
    etag = s3.put_object(Bucket=bucket, Key=key, Body=b"data")["ETag"]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key=key, Body=b"other", IfNoneMatch=etag)
    # AWS: 501 NotImplemented naming the header (LocalStack snapshot
    # test_put_object_if_none_match_validation).
    assert err(e) == ("NotImplemented", 501)
    assert error(e)["Header"] == "If-None-Match"
    assert error(e)["Message"] == NOT_IMPLEMENTED_MESSAGE
    assert body(s3, bucket, key) == b"data"
    # Both conditions at once: 501 naming both headers (test_put_object_if_match_and_if_none_match_validation).
    other = unique("both")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key=other, Body=b"x", IfNoneMatch="*", IfMatch=etag)
    assert err(e) == ("NotImplemented", 501)
    assert error(e)["Header"] == "If-Match,If-None-Match"
    assert_absent(s3, bucket, other)


def test_if_match_replaces_only_the_current_etag(s3, bucket):
    key = unique("swap")
    etag1 = s3.put_object(Bucket=bucket, Key=key, Body=b"v1")["ETag"]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x", IfMatch="d41d8cd98f00b204e9800998ecf8427e")
    assert err(e) == ("PreconditionFailed", 412)
    assert error(e)["Condition"] == "If-Match" and error(e)["Message"] == PRECONDITION_MESSAGE
    assert body(s3, bucket, key) == b"v1"
    etag2 = s3.put_object(Bucket=bucket, Key=key, Body=b"v2", IfMatch=etag1)["ETag"]
    assert etag2 != etag1 and body(s3, bucket, key) == b"v2"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key=key, Body=b"v3", IfMatch=etag1)
    assert err(e) == ("PreconditionFailed", 412) and error(e)["Condition"] == "If-Match"
    assert body(s3, bucket, key) == b"v2"


def test_if_match_without_a_current_object_is_no_such_key(s3, bucket, versioned_bucket):
    # AWS: 404 NoSuchKey, not 412, both for a key never written and for a delete marker on top
    # (LocalStack snapshots test_put_object_if_match and test_put_object_if_match_versioned_bucket).
    missing = unique("missing")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key=missing, Body=b"x", IfMatch='"098f6bcd4621d373cade4e832627b4f6"')
    assert err(e) == ("NoSuchKey", 404)
    assert error(e)["Key"] == missing and error(e)["Message"] == NO_SUCH_KEY_MESSAGE
    assert_absent(s3, bucket, missing)

    b, key = versioned_bucket, unique("marked")
    etag = s3.put_object(Bucket=b, Key=key, Body=b"test")["ETag"]
    marker = s3.delete_object(Bucket=b, Key=key)["VersionId"]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=b, Key=key, Body=b"again", IfMatch=etag)
    assert err(e) == ("NoSuchKey", 404)
    listing = s3.list_object_versions(Bucket=b, Prefix=key)
    assert len(listing["Versions"]) == 1
    assert [(m["VersionId"], m["IsLatest"]) for m in listing["DeleteMarkers"]] == [(marker, True)]


# --------------------------------------------------------------------------- CompleteMultipartUpload


def test_complete_multipart_if_none_match_refuses_an_existing_key_and_keeps_the_upload(s3, bucket):
    key = unique("mpu")
    s3.put_object(Bucket=bucket, Key=key, Body=b"existing")
    up, parts = one_part_upload(s3, bucket, key, b"part one")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": parts},
                                     IfNoneMatch="*")
    assert err(e) == ("PreconditionFailed", 412)
    assert error(e)["Condition"] == "If-None-Match" and error(e)["Message"] == PRECONDITION_MESSAGE
    assert body(s3, bucket, key) == b"existing"
    # The refused completion leaves the upload in place: AWS answers a later completion of the
    # same upload id instead of NoSuchUpload (LocalStack snapshots test_multipart_if_match_etag,
    # test_multipart_if_none_match_with_delete).
    assert [p["PartNumber"] for p in s3.list_parts(Bucket=bucket, Key=key, UploadId=up)["Parts"]] == [1]
    assert up in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    done = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": parts})
    assert done["ETag"].endswith('-1"')
    assert body(s3, bucket, key) == b"part one"


def test_complete_multipart_conflicts_with_a_write_made_after_the_upload_began(s3, bucket):
    # The sequence of LocalStack's test_multipart_if_none_match_with_delete, recorded against AWS.
    key = unique("mpu")
    s3.put_object(Bucket=bucket, Key=key, Body=b"existing")
    up, parts = one_part_upload(s3, bucket, key, b"test")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": parts},
                                     IfNoneMatch="*")
    assert err(e) == ("PreconditionFailed", 412)
    s3.delete_object(Bucket=bucket, Key=key)
    # The key is absent now, but it was deleted after CreateMultipartUpload: 409.
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": parts},
                                     IfNoneMatch="*")
    assert err(e) == ("ConditionalRequestConflict", 409)
    assert error(e)["Condition"] == "If-None-Match"
    assert error(e)["Key"] == key and error(e)["Message"] == CONFLICT_MESSAGE
    assert_absent(s3, bucket, key)
    # A fresh upload on the absent key completes with If-None-Match.
    up2, parts2 = one_part_upload(s3, bucket, key, b"test")
    done = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up2, MultipartUpload={"Parts": parts2},
                                        IfNoneMatch="*")
    assert done["ResponseMetadata"]["HTTPStatusCode"] == 200 and done["ETag"].endswith('-1"')
    assert body(s3, bucket, key) == b"test"


def test_complete_multipart_if_match(s3, bucket):
    # LocalStack's test_multipart_if_match_etag, recorded against AWS.
    key = unique("mpu")
    etag1 = s3.put_object(Bucket=bucket, Key=key, Body=b"test")["ETag"]
    up, parts = one_part_upload(s3, bucket, key, b"first upload")
    mp_etag = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": parts},
                                           IfMatch=etag1)["ETag"]
    assert mp_etag != etag1 and mp_etag.endswith('-1"')
    up2, parts2 = one_part_upload(s3, bucket, key, b"second upload")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up2, MultipartUpload={"Parts": parts2},
                                     IfMatch=etag1)
    assert err(e) == ("PreconditionFailed", 412)
    assert error(e)["Condition"] == "If-Match" and error(e)["Message"] == PRECONDITION_MESSAGE
    assert body(s3, bucket, key) == b"first upload"
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up2, MultipartUpload={"Parts": parts2},
                                 IfMatch=mp_etag)
    assert body(s3, bucket, key) == b"second upload"


# --------------------------------------------------------------------------- CopyObject


def test_copy_object_if_none_match_checks_the_destination(s3, bucket):
    # API reference (botocore model, CopyObject IfNoneMatch): "Copies the object only if the
    # object key name at the destination does not already exist ... Otherwise, Amazon S3
    # returns a 412 Precondition Failed error." No recorded body: code and status only.
    src, other, dst = unique("src"), unique("other"), unique("dst")
    s3.put_object(Bucket=bucket, Key=src, Body=b"source")
    s3.put_object(Bucket=bucket, Key=other, Body=b"other")
    s3.copy_object(Bucket=bucket, Key=dst, CopySource={"Bucket": bucket, "Key": src}, IfNoneMatch="*")
    assert body(s3, bucket, dst) == b"source"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key=dst, CopySource={"Bucket": bucket, "Key": other}, IfNoneMatch="*")
    assert err(e) == ("PreconditionFailed", 412)
    assert body(s3, bucket, dst) == b"source"


# --------------------------------------------------------------------------- GetObjectAttributes


def test_object_attributes_of_a_single_part_object(s3, bucket):
    key, data = unique("attrs"), b"attribute body"
    put = s3.put_object(Bucket=bucket, Key=key, Body=data, ChecksumAlgorithm="SHA256")
    a = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=ALL_ATTRIBUTES)
    assert a["ResponseMetadata"]["HTTPStatusCode"] == 200
    # AWS returns the ETag without quotes (LocalStack snapshot test_get_object_attributes).
    assert a["ETag"] == put["ETag"].strip('"') and not a["ETag"].startswith('"')
    assert a["ObjectSize"] == len(data)
    assert a["StorageClass"] == "STANDARD"
    assert a["LastModified"] == s3.head_object(Bucket=bucket, Key=key)["LastModified"]
    assert a["Checksum"]["ChecksumSHA256"] == b64_sha256(data)
    assert a["Checksum"]["ChecksumType"] == "FULL_OBJECT"
    assert "ObjectParts" not in a, "a single-part object has no ObjectParts"
    assert "VersionId" not in a, "unversioned bucket"
    # Only the requested attributes come back.
    only = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["ObjectSize"])
    assert only["ObjectSize"] == len(data)
    assert not {"ETag", "StorageClass", "Checksum", "ObjectParts"} & only.keys()
    assert "LastModified" in only


def test_object_attributes_of_a_multipart_object_without_checksums(endpoint, bucket):
    plain = make_s3_client(endpoint, request_checksum_calculation="when_required")
    key, p1, p2 = unique("mpu"), b"a" * (5 * MIB), b"b" * 1000
    up = plain.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = [{"PartNumber": n, "ETag": plain.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=n,
                                                         Body=d)["ETag"]} for n, d in ((1, p1), (2, p2))]
    done = plain.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": parts})
    a = plain.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["ETag", "ObjectSize", "ObjectParts",
                                                                               "StorageClass"], MaxParts=3)
    assert a["ETag"] == done["ETag"].strip('"') and a["ETag"].endswith("-2")
    assert a["ObjectSize"] == len(p1) + len(p2)
    assert a["StorageClass"] == "STANDARD"
    # AWS: without additional checksums only the count is returned, even with MaxParts
    # (LocalStack snapshot "object-attrs-multiparts-2-parts"; API reference for Parts).
    assert a["ObjectParts"] == {"TotalPartsCount": 2}


def test_object_attributes_list_the_parts_of_a_checksummed_multipart_object(s3, bucket):
    key, p1, p2 = unique("mpu"), b"c" * (5 * MIB), b"d" * 777
    up = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
    parts = []
    for n, d in ((1, p1), (2, p2)):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=n, Body=d, ChecksumAlgorithm="SHA256")
        assert r["ChecksumSHA256"] == b64_sha256(d)
        parts.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]})
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": parts})

    a = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["ObjectParts", "Checksum"], MaxParts=1)
    op = a["ObjectParts"]
    assert op["TotalPartsCount"] == 2
    assert op["IsTruncated"] is True and op["MaxParts"] == 1 and op["NextPartNumberMarker"] == 1
    assert [(p["PartNumber"], p["Size"], p["ChecksumSHA256"]) for p in op["Parts"]] == [(1, len(p1), b64_sha256(p1))]
    # The object's checksum is the composite one (a checksum of the part checksums), shown
    # without the "-2" part count.
    composite = b64_sha256(hashlib.sha256(p1).digest() + hashlib.sha256(p2).digest())
    assert a["Checksum"]["ChecksumSHA256"] == composite
    assert a["Checksum"]["ChecksumType"] == "COMPOSITE"

    rest = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["ObjectParts"], PartNumberMarker=1)
    op = rest["ObjectParts"]
    assert op["TotalPartsCount"] == 2 and op["PartNumberMarker"] == 1 and op["IsTruncated"] is False
    assert [(p["PartNumber"], p["Size"], p["ChecksumSHA256"]) for p in op["Parts"]] == [(2, len(p2), b64_sha256(p2))]


def test_object_attributes_follow_versions(s3, versioned_bucket):
    b, key = versioned_bucket, unique("ver")
    put1 = s3.put_object(Bucket=b, Key=key, Body=b"69\n420\n")
    put2 = s3.put_object(Bucket=b, Key=key, Body=b"version 2")
    cur = s3.get_object_attributes(Bucket=b, Key=key, ObjectAttributes=["ETag", "ObjectSize"])
    assert cur["VersionId"] == put2["VersionId"]
    assert cur["ETag"] == put2["ETag"].strip('"') and cur["ObjectSize"] == 9
    old = s3.get_object_attributes(Bucket=b, Key=key, VersionId=put1["VersionId"],
                                   ObjectAttributes=["ETag", "ObjectSize"])
    assert old["VersionId"] == put1["VersionId"]
    assert old["ETag"] == put1["ETag"].strip('"') and old["ObjectSize"] == 7
    s3.delete_object(Bucket=b, Key=key)
    with pytest.raises(ClientError) as e:
        s3.get_object_attributes(Bucket=b, Key=key, ObjectAttributes=["ETag"])
    assert err(e) == ("NoSuchKey", 404)
    again = s3.get_object_attributes(Bucket=b, Key=key, VersionId=put1["VersionId"], ObjectAttributes=["ObjectSize"])
    assert again["ObjectSize"] == 7


def test_object_attributes_errors(s3, bucket, endpoint):
    key = unique("attrs")
    s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.get_object_attributes(Bucket=bucket, Key=unique("missing"), ObjectAttributes=["ETag"])
    assert err(e) == ("NoSuchKey", 404)
    # AWS's body for a name outside the five (versitygw issues #917, #1000 quote it):
    # InvalidArgument "Invalid attribute name specified.", ArgumentName and ArgumentValue.
    with pytest.raises(ClientError) as e:
        s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["Bogus"])
    assert err(e) == ("InvalidArgument", 400)
    assert error(e)["Message"] == "Invalid attribute name specified."
    assert error(e)["ArgumentName"] == "x-amz-object-attributes" and error(e)["ArgumentValue"] == "Bogus"
    with pytest.raises(ClientError) as e:
        s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["ETag", "Bogus"])
    assert err(e) == ("InvalidArgument", 400)
    # Without the x-amz-object-attributes header (botocore requires the parameter, so the
    # header is removed before signing): InvalidRequest (versitygw issue #915 quotes AWS).
    bare = make_s3_client(endpoint)

    def drop_attributes_header(request, **_):
        del request.headers["x-amz-object-attributes"]

    bare.meta.events.register("before-sign.s3.GetObjectAttributes", drop_attributes_header)
    with pytest.raises(ClientError) as e:
        bare.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["ETag"])
    assert err(e) == ("InvalidRequest", 400)
    assert error(e)["Message"] == ("The x-amz-object-attributes header specifying the attributes to be "
                                   "retrieved is either missing or empty")


def test_checksum_types_on_put_complete_and_head(s3, bucket):
    key = unique("ctype")
    put = s3.put_object(Bucket=bucket, Key=key, Body=b"hello", ChecksumAlgorithm="SHA256")
    assert put["ChecksumType"] == "FULL_OBJECT" and put["ChecksumSHA256"] == b64_sha256(b"hello")
    mkey = unique("ctype-mpu")
    up = s3.create_multipart_upload(Bucket=bucket, Key=mkey, ChecksumAlgorithm="SHA256")["UploadId"]
    first, second = b"a" * (5 * 1024 * 1024), b"b" * 10
    p1 = s3.upload_part(Bucket=bucket, Key=mkey, UploadId=up, PartNumber=1, Body=first, ChecksumAlgorithm="SHA256")
    p2 = s3.upload_part(Bucket=bucket, Key=mkey, UploadId=up, PartNumber=2, Body=second, ChecksumAlgorithm="SHA256")
    parts = [{"PartNumber": n, "ETag": p["ETag"], "ChecksumSHA256": p["ChecksumSHA256"]} for n, p in ((1, p1), (2, p2))]
    done = s3.complete_multipart_upload(Bucket=bucket, Key=mkey, UploadId=up, MultipartUpload={"Parts": parts})
    composite = base64.b64encode(hashlib.sha256(hashlib.sha256(first).digest() + hashlib.sha256(second).digest())
                                 .digest()).decode()
    assert done["ChecksumSHA256"] == f"{composite}-2" and done["ChecksumType"] == "COMPOSITE"
    head = s3.head_object(Bucket=bucket, Key=mkey, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == f"{composite}-2" and head["ChecksumType"] == "COMPOSITE"
    assert "ChecksumSHA256" not in s3.head_object(Bucket=bucket, Key=mkey)


def test_invalid_range_names_the_range_and_size_and_delete_markers_allow_delete(s3, bucket):
    key = unique("range")
    s3.put_object(Bucket=bucket, Key=key, Body=b"0123456789")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key=key, Range="bytes=100-200")
    assert err(e) == ("InvalidRange", 416)
    assert error(e)["RangeRequested"] == "bytes=100-200" and error(e)["ActualObjectSize"] == "10"

    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    vkey = unique("marker")
    s3.put_object(Bucket=bucket, Key=vkey, Body=b"x")
    marker = s3.delete_object(Bucket=bucket, Key=vkey)["VersionId"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key=vkey, VersionId=marker)
    assert err(e) == ("MethodNotAllowed", 405)
    headers = e.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers.get("allow") == "DELETE" and headers.get("x-amz-delete-marker") == "true"
    assert error(e)["Method"] == "GET" and error(e)["ResourceType"] == "OBJECT"
