"""S3 bucket features through boto3 and the aws CLI: versioning and delete markers, tagging,
policy, CORS, notification configuration, and the high-level `aws s3` commands."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from s3_helpers import bucket, bucket_name, make_s3_client, s3, s3cli  # noqa: F401  (fixtures)
from sqs_helpers import AwsCliError


def code(e: ClientError) -> str:
    return e.response["Error"]["Code"]


def test_versioning_and_delete_markers(s3, bucket):
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="doc", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="doc", Body=b"two")["VersionId"]
    assert v1 != v2 and v1 != "null"
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"two"
    assert s3.get_object(Bucket=bucket, Key="doc", VersionId=v1)["Body"].read() == b"one"
    d = s3.delete_object(Bucket=bucket, Key="doc")
    assert d["DeleteMarker"] is True
    marker = d["VersionId"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="doc")
    assert code(e.value) == "NoSuchKey"
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-delete-marker") == "true"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    vs = s3.list_object_versions(Bucket=bucket)
    assert [(v["VersionId"], v["IsLatest"]) for v in vs["Versions"]] == [(v2, False), (v1, False)]
    assert [(m["VersionId"], m["IsLatest"]) for m in vs["DeleteMarkers"]] == [(marker, True)]
    # Removing the marker brings the object back.
    r = s3.delete_object(Bucket=bucket, Key="doc", VersionId=marker)
    assert r["DeleteMarker"] is True and r["VersionId"] == marker
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"two"
    # Deleting a specific version removes it for good.
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"one"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="doc", VersionId=v2)
    assert code(e.value) == "NoSuchVersion"
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=bucket)
    assert code(e.value) == "BucketNotEmpty"


def test_suspended_versioning_uses_null_version(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kept = s3.put_object(Bucket=bucket, Key="k", Body=b"versioned")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    s3.put_object(Bucket=bucket, Key="k", Body=b"null 1")
    s3.put_object(Bucket=bucket, Key="k", Body=b"null 2")
    ids = [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]]
    assert ids == ["null", kept]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"null 2"
    d = s3.delete_object(Bucket=bucket, Key="k")
    assert d["DeleteMarker"] is True and d["VersionId"] == "null"
    vs = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in vs["Versions"]] == [kept]
    assert [m["VersionId"] for m in vs["DeleteMarkers"]] == ["null"]


def test_list_object_versions_pagination(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    expected = []
    for k in ["a", "b"]:
        ids = [s3.put_object(Bucket=bucket, Key=k, Body=b"x")["VersionId"] for _ in range(3)]
        expected += [(k, i) for i in reversed(ids)]
    seen, km, vm = [], None, None
    while True:
        kw = {"KeyMarker": km, "VersionIdMarker": vm} if km else {}
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=4, **kw)
        seen += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
        if not page["IsTruncated"]:
            break
        km, vm = page["NextKeyMarker"], page["NextVersionIdMarker"]
    assert seen == expected


def test_object_and_bucket_tagging(s3, bucket):
    s3.put_object(Bucket=bucket, Key="t", Body=b"x", Tagging="env=prod&team=a%20b")
    tags = s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "prod"), ("team", "a b")]
    assert s3.get_object(Bucket=bucket, Key="t")["TagCount"] == 2
    s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [{"Key": "k", "Value": "v"}]
    s3.delete_object_tagging(Bucket=bucket, Key="t")
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []
    with pytest.raises(ClientError) as e:
        s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": "k", "Value": "1"},
                                                                         {"Key": "k", "Value": "2"}]})
    assert code(e.value) == "InvalidTag"
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert code(e.value) == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "owner", "Value": "me"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "owner", "Value": "me"}]
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert code(e.value) == "NoSuchTagSet"


@pytest.mark.stratus_only  # moto_server neither defaults Block Public Access on nor enforces it
def test_block_public_access(s3, bucket):
    everyone = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    # New buckets block public access entirely.
    conf = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert conf == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True}
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(everyone))
    assert code(e.value) == "AccessDenied"
    assert "because public policies are blocked by the BlockPublicPolicy block public access setting" in str(e.value)
    # A grant pinned to an account is not public.
    pinned = json.loads(json.dumps(everyone))
    pinned["Statement"][0]["Condition"] = {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(pinned))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
    # With BlockPublicPolicy off the public policy is accepted, and reported public.
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": True})
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is False
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(everyone))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    s3.delete_public_access_block(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_public_access_block(Bucket=bucket)
    assert code(e.value) == "NoSuchPublicAccessBlockConfiguration"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_bucket_policy(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_policy(Bucket=bucket)
    assert code(e.value) == "NoSuchBucketPolicy"
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                       "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    # A public policy needs Block Public Access off, as on AWS.
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == policy
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=bucket, Policy="not json")
    assert code(e.value) == "MalformedPolicy"
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_policy(Bucket=bucket)
    assert code(e.value) == "NoSuchBucketPolicy"


def test_cors_configuration_and_preflight(s3, bucket, endpoint):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert code(e.value) == "NoSuchCORSConfiguration"
    rules = [{"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["https://app.example.com"],
              "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600}]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    got = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert got[0]["AllowedMethods"] == ["GET", "PUT"] and got[0]["MaxAgeSeconds"] == 600
    req = urllib.request.Request(f"{endpoint}/{bucket}/obj", method="OPTIONS", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 200
        assert r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        assert "PUT" in r.headers["Access-Control-Allow-Methods"]
    bad = urllib.request.Request(f"{endpoint}/{bucket}/obj", method="OPTIONS", headers={
        "Origin": "https://evil.example.org", "Access-Control-Request-Method": "GET"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(bad)
    assert e.value.code == 403
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert code(e.value) == "NoSuchCORSConfiguration"


QUEUE = "arn:aws:sqs:us-east-1:000000000000:s3-events"
TOPIC_NAME = "s3-removals"


@pytest.fixture
def destinations(endpoint, _reset_state):
    """The queue and topic the configurations name (destinations must exist); made after the
    per-test reset."""
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
              aws_secret_access_key="test")
    boto3.client("sqs", **kw).create_queue(QueueName=QUEUE.rsplit(":", 1)[1])
    return boto3.client("sns", **kw).create_topic(Name=TOPIC_NAME)["TopicArn"]


def test_notification_configuration_round_trip(s3, bucket, destinations):
    topic = destinations
    assert "QueueConfigurations" not in s3.get_bucket_notification_configuration(Bucket=bucket)
    cfg = {
        "QueueConfigurations": [{"Id": "images", "QueueArn": QUEUE, "Events": ["s3:ObjectCreated:*"],
                                 "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/"},
                                                                    {"Name": "suffix", "Value": ".jpg"}]}}}],
        "TopicConfigurations": [{"Id": "removed", "TopicArn": topic, "Events": ["s3:ObjectRemoved:Delete"]}],
    }
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=cfg)
    got = s3.get_bucket_notification_configuration(Bucket=bucket)
    q = got["QueueConfigurations"][0]
    assert q["Id"] == "images" and q["QueueArn"] == QUEUE and q["Events"] == ["s3:ObjectCreated:*"]
    rules = {r["Name"].lower(): r["Value"] for r in q["Filter"]["Key"]["FilterRules"]}
    assert rules == {"prefix": "images/", "suffix": ".jpg"}
    assert got["TopicConfigurations"][0]["TopicArn"] == topic
    # Writes still succeed with notifications configured.
    s3.put_object(Bucket=bucket, Key="images/cat.jpg", Body=b"meow")
    s3.delete_object(Bucket=bucket, Key="images/cat.jpg")
    # An empty configuration removes them.
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    assert "QueueConfigurations" not in s3.get_bucket_notification_configuration(Bucket=bucket)


def test_notification_configuration_validation(s3, bucket, destinations):
    with pytest.raises(ClientError) as e:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": QUEUE, "Events": ["s3:ObjectCreated:Nope"]}]})
    assert code(e.value) == "InvalidArgument"
    with pytest.raises(ClientError) as e:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "QueueConfigurations": [
                {"Id": "a", "QueueArn": QUEUE, "Events": ["s3:ObjectCreated:*"],
                 "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/"}]}}},
                {"Id": "b", "QueueArn": QUEUE, "Events": ["s3:ObjectCreated:Put"],
                 "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/2024/"}]}}}]})
    assert code(e.value) == "InvalidArgument"
    assert "overlap" in e.value.response["Error"]["Message"]
    assert "QueueConfigurations" not in s3.get_bucket_notification_configuration(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.put_bucket_notification_configuration(Bucket=bucket_name("missing"), NotificationConfiguration={})
    assert code(e.value) == "NoSuchBucket"


def test_cli_cp_ls_sync_rm(s3cli, s3, bucket, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x01\x02\x03" * (3 * 1024 * 1024))  # 9 MiB: multipart in the CLI
    s3cli("s3", "cp", str(big), f"s3://{bucket}/big.bin")
    h = s3.head_object(Bucket=bucket, Key="big.bin")
    assert h["ContentLength"] == big.stat().st_size and "-" in h["ETag"]
    back = tmp_path / "back.bin"
    s3cli("s3", "cp", f"s3://{bucket}/big.bin", str(back))
    assert back.read_bytes() == big.read_bytes()
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.txt").write_text("b")
    s3cli("s3", "sync", str(src), f"s3://{bucket}/tree")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="tree/")["Contents"])
    assert keys == ["tree/a.txt", "tree/sub/b.txt"]
    out, _ = s3cli("s3", "ls", f"s3://{bucket}/tree/")
    assert "PRE sub/" in out and "a.txt" in out
    out, _ = s3cli("s3", "ls")
    assert bucket in out
    s3cli("s3", "rm", f"s3://{bucket}/tree", "--recursive")
    assert s3.list_objects_v2(Bucket=bucket, Prefix="tree/")["KeyCount"] == 0
    _, parsed = s3cli("s3api", "head-object", "--bucket", bucket, "--key", "big.bin")
    assert parsed["ContentLength"] == big.stat().st_size
    with pytest.raises(AwsCliError) as e:
        s3cli("s3api", "head-bucket", "--bucket", bucket_name("missing"))
    assert "404" in e.value.stderr or "Not Found" in e.value.stderr
