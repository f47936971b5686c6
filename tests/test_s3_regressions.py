"""S3 answers that once differed from AWS's, each pinned by a test: conditional deletes keep
the object, 304 carries the ETag, single-part objects answer partNumber=1, unusable Range
headers are ignored, malformed version ids and empty continuation tokens are refused, system
tag keys are refused, an empty bucket tag set deletes the tags, and objects report the default
encryption."""

from __future__ import annotations

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from sqs_helpers import REGION, unique

pytestmark = pytest.mark.stratus_only


@pytest.fixture(scope="module")
def s3(target):
    return boto3.client("s3", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
                        aws_secret_access_key="test")


@pytest.fixture
def obj(s3, target):
    b = unique("reg").lower()
    s3.create_bucket(Bucket=b)
    etag = s3.put_object(Bucket=b, Key="k", Body=b"hello world")["ETag"]
    return b, etag, f"{target.endpoint}/{b}/k"


def code(e):
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_conditional_delete_keeps_the_object(s3, obj):
    b, etag, url = obj
    r = requests.delete(url, headers={"If-Match": '"0123456789abcdef0123456789abcdef"'})
    assert r.status_code == 412 and "<Code>PreconditionFailed</Code>" in r.text
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"hello world", "the object is still there"
    assert requests.delete(url, headers={"If-Match": etag}).status_code == 204
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=b, Key="k")
    assert code(e)[1] == 404


def test_not_modified_carries_the_etag(obj):
    _, etag, url = obj
    r = requests.get(url, headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.headers["ETag"] == etag


def test_part_number_of_a_single_part_object(obj):
    _, _, url = obj
    r = requests.get(url + "?partNumber=1")
    assert r.status_code == 206 and r.headers["Content-Range"] == "bytes 0-10/11" and r.content == b"hello world"
    r = requests.get(url + "?partNumber=2")
    assert r.status_code == 416 and "<Code>InvalidPartNumber</Code>" in r.text


def test_unusable_range_headers_are_ignored(obj):
    _, _, url = obj
    for header in ("bytes=abc", "bytes=0-1,3-4", "items=0-3"):
        r = requests.get(url, headers={"Range": header})
        assert r.status_code == 200 and r.content == b"hello world", header
    r = requests.get(url, headers={"Range": "bytes=0-4"})
    assert r.status_code == 206 and r.content == b"hello"
    r = requests.get(url, headers={"Range": "bytes=100-200"})
    assert r.status_code == 416


def test_malformed_version_ids_and_continuation_tokens(s3, obj):
    b, _, _ = obj
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=b, Key="k", VersionId="not-a-version")
    assert code(e) == ("InvalidArgument", 400)
    assert e.value.response["Error"]["Message"] == "Invalid version id specified"
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=b, ContinuationToken="")
    assert code(e) == ("InvalidArgument", 400)
    assert e.value.response["Error"]["Message"] == "The continuation token provided is incorrect"


def test_system_tags_are_refused_and_an_empty_tag_set_deletes(s3, obj):
    b, _, _ = obj
    with pytest.raises(ClientError) as e:
        s3.put_object_tagging(Bucket=b, Key="k", Tagging={"TagSet": [{"Key": "aws:owner", "Value": "x"}]})
    assert code(e) == ("InvalidTag", 400)
    with pytest.raises(ClientError) as e:
        s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "aws:owner", "Value": "x"}]})
    assert code(e) == ("InvalidTag", 400)
    s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "team", "Value": "a"}]})
    assert s3.get_bucket_tagging(Bucket=b)["TagSet"] == [{"Key": "team", "Value": "a"}]
    s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": []})
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=b)
    assert code(e) == ("NoSuchTagSet", 404)


def test_objects_report_the_default_encryption(s3, obj):
    b, _, _ = obj
    assert s3.put_object(Bucket=b, Key="e", Body=b"x")["ServerSideEncryption"] == "AES256"
    assert s3.head_object(Bucket=b, Key="e")["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=b, Key="e")["ServerSideEncryption"] == "AES256"


def test_region_endpoints_and_head_bucket(target, s3, obj):
    b, _, _ = obj
    r = requests.head(f"{target.endpoint}/{b}")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/xml"
    eu = boto3.client("s3", endpoint_url=target.endpoint, region_name="eu-west-1", aws_access_key_id="test",
                      aws_secret_access_key="test")
    with pytest.raises(ClientError) as e:
        eu.create_bucket(Bucket=unique("reg").lower(), CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    assert code(e) == ("IllegalLocationConstraintException", 400)
    assert "us-west-2 location constraint is incompatible" in e.value.response["Error"]["Message"]
    # us-east-1's endpoint is the global one: it makes buckets in any region.
    name = unique("reg").lower()
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "us-west-2"


def test_error_bodies_name_what_they_are_about(target, obj):
    b, _, url = obj
    r = requests.get(f"{target.endpoint}/{b}/missing%20key.txt")
    assert r.status_code == 404 and "<Key>missing key.txt</Key>" in r.text
    r = requests.get(f"{target.endpoint}/no-such-bucket-{b[-8:]}/x")
    assert r.status_code == 404 and f"<BucketName>no-such-bucket-{b[-8:]}</BucketName>" in r.text
    r = requests.get(f"{target.endpoint}/{b}?tagging")
    assert r.status_code == 404 and "<Code>NoSuchTagSet</Code>" in r.text and f"<BucketName>{b}</BucketName>" in r.text
    r = requests.get(f"{target.endpoint}/{b}/k?uploadId=nope")
    assert r.status_code == 404 and "<UploadId>nope</UploadId>" in r.text
    assert r.text.index("<UploadId>") < r.text.index("<RequestId>")


def test_reserved_bucket_name_suffixes(s3, target):
    # Directory buckets (`--x-s3`), table buckets (`--table-s3`) and AWS's documentation prefix
    # are not general purpose bucket names.
    for name in (f"{unique('t').lower()}--table-s3", f"amzn-s3-demo-{unique('b').lower()}"):
        with pytest.raises(ClientError) as e:
            s3.create_bucket(Bucket=name)
        assert code(e) == ("InvalidBucketName", 400), name
    # The SDKs send directory bucket names to S3 Express's own endpoints; a plain PUT here.
    r = requests.put(f"{target.endpoint}/{unique('d').lower()}--usw2-az1--x-s3")
    assert r.status_code == 400 and "<Code>InvalidBucketName</Code>" in r.text


def test_account_regional_namespace(s3, target):
    # Names in an account regional namespace end with -{account}-{region}-an and are created
    # with x-amz-bucket-namespace: account-regional, by that account, in that region.
    prefix = unique("mine").lower()[:20]
    name = f"{prefix}-{target.account}-{REGION}-an"
    s3.create_bucket(Bucket=name, BucketNamespace="account-regional")
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"x"
    # Another account's suffix, another region's, or no suffix at all is refused.
    for bad in (f"{prefix}x-111122223333-{REGION}-an", f"{prefix}y-{target.account}-eu-west-3-an", f"{prefix}z"):
        with pytest.raises(ClientError) as e:
            s3.create_bucket(Bucket=bad, BucketNamespace="account-regional")
        assert code(e) == ("InvalidBucketName", 400), bad
    # The suffix is kept out of the global namespace.
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=f"{prefix}w-{target.account}-{REGION}-an")
    assert code(e) == ("InvalidBucketName", 400)


def test_operations_the_server_does_not_serve_leave_data_alone(s3, obj):
    # Operations of S3's model this server does not serve answer NotImplemented — they are not
    # read as another operation (UpdateObjectEncryption's PUT ?encryption once overwrote the
    # object with its XML; RenameObject created an empty object; GetBucketAbac listed keys).
    b, etag, _ = obj
    with pytest.raises(ClientError) as e:
        s3.update_object_encryption(Bucket=b, Key="k", ObjectEncryption={
            "SSEKMS": {"KMSKeyArn": "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"}})
    assert code(e) == ("NotImplemented", 501)
    with pytest.raises(ClientError) as e:
        s3.rename_object(Bucket=b, Key="renamed", RenameSource="k")
    assert code(e) == ("NotImplemented", 501)
    for call in (lambda: s3.get_bucket_abac(Bucket=b),
                 lambda: s3.put_bucket_abac(Bucket=b, AbacStatus={"Status": "Enabled"})):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == ("NotImplemented", 501)
    got = s3.get_object(Bucket=b, Key="k")
    assert (got["Body"].read(), got["ETag"]) == (b"hello world", etag)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]] == ["k"]
