"""S3 under `--auth verify`: signatures (SigV4 header, SigV4 and SigV2 presigned URLs) are
checked against the configured keys, and the bucket belongs to the key's account."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from s3_helpers import bucket_name, make_s3_client
from test_auth import USER, VerifyingServer, server  # noqa: F401  (fixture)

pytestmark = pytest.mark.stratus_only


def test_signed_requests_work_and_wrong_secrets_fail(server):
    good = make_s3_client(server.endpoint, access_key=USER[0], secret_key=USER[1])
    name = bucket_name()
    good.create_bucket(Bucket=name)
    good.put_object(Bucket=name, Key="k", Body=b"verified")
    assert good.get_object(Bucket=name, Key="k")["Body"].read() == b"verified"
    # Owners are named by the account's canonical user id, the one ACLs name too.
    owner = good.list_buckets()["Owner"]["ID"]
    assert len(owner) == 64 and owner == good.get_bucket_acl(Bucket=name)["Owner"]["ID"]
    bad = make_s3_client(server.endpoint, access_key=USER[0], secret_key="wrong")
    with pytest.raises(ClientError) as e:
        bad.get_object(Bucket=name, Key="k")
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    unknown = make_s3_client(server.endpoint, access_key="AKIDNOBODY", secret_key="x")
    with pytest.raises(ClientError) as e:
        unknown.list_buckets()
    assert e.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{server.endpoint}/{name}/k")
    assert e.value.code == 403


@pytest.mark.parametrize("signature", ["s3v4", None])
def test_presigned_urls_are_verified(server, signature):
    kw = {"signature_version": signature} if signature else {}
    good = make_s3_client(server.endpoint, access_key=USER[0], secret_key=USER[1], **kw)
    name = bucket_name()
    good.create_bucket(Bucket=name)
    good.put_object(Bucket=name, Key="p", Body=b"presigned")
    url = good.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "p"})
    with urllib.request.urlopen(url) as r:
        assert r.read() == b"presigned"
    bad = make_s3_client(server.endpoint, access_key=USER[0], secret_key="wrong", **kw)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(bad.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "p"}))
    assert e.value.code == 403


def test_browser_form_upload_is_verified_and_notifies_as_post(server):
    """PostObject (an HTML form built with a signed policy): accepted with a valid signature,
    refused with a wrong one; the object's event is `ObjectCreated:Post`."""
    import json
    import time

    import boto3
    import requests
    kw = dict(endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=USER[0],
              aws_secret_access_key=USER[1])
    s3 = make_s3_client(server.endpoint, access_key=USER[0], secret_key=USER[1])
    sqs = boto3.client("sqs", **kw)
    url = sqs.create_queue(QueueName="form-events")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = bucket_name("forms")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": qarn, "Events": ["s3:ObjectCreated:Post"]}]})
    post = s3.generate_presigned_post(name, "uploads/a.txt")
    r = requests.post(post["url"], data=post["fields"], files={"file": ("a.txt", b"posted body")}, timeout=10)
    assert r.status_code in (200, 204), r.text
    assert s3.get_object(Bucket=name, Key="uploads/a.txt")["Body"].read() == b"posted body"
    forged = make_s3_client(server.endpoint, access_key=USER[0], secret_key="wrong").generate_presigned_post(
        name, "uploads/b.txt")
    r = requests.post(forged["url"], data=forged["fields"], files={"file": ("b.txt", b"x")}, timeout=10)
    assert r.status_code == 403, r.text
    events = []
    deadline = time.monotonic() + 10
    while len(events) < 2 and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            events.append(json.loads(m["Body"]))
    names = [e["Records"][0]["eventName"] for e in events if "Records" in e]
    assert names == ["ObjectCreated:Post"], events
