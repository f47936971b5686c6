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
    assert good.list_buckets()["Owner"]["ID"] == USER[2]
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
