"""S3 buckets and objects through boto3: CRUD, metadata, ranges, conditionals, copy, batch
delete, listings, multipart, presigned URLs and virtual-hosted requests."""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.client
import urllib.error
import urllib.parse
import urllib.request

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from s3_helpers import bucket, bucket_name, make_s3_client, s3  # noqa: F401  (fixtures)


def code(e: ClientError) -> str:
    return e.response["Error"]["Code"]


def status(e: ClientError) -> int:
    return e.response["ResponseMetadata"]["HTTPStatusCode"]


def test_bucket_lifecycle(s3):
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket=name)
    assert s3.get_bucket_location(Bucket=name).get("LocationConstraint") is None
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=name)
    assert code(e.value) == "BucketNotEmpty" and status(e.value) == 409
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=name)
    assert status(e.value) == 404


def test_bucket_errors(s3, endpoint):
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="Invalid_Name")
    assert code(e.value) == "InvalidBucketName"
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=bucket_name("missing"))
    assert code(e.value) == "NoSuchBucket" and status(e.value) == 404
    # Outside us-east-1 a repeated create by the owner is refused.
    eu = make_s3_client(endpoint, region="eu-west-1")
    name = bucket_name()
    eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert eu.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    with pytest.raises(ClientError) as e:
        eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code(e.value) == "BucketAlreadyOwnedByYou"
    # Another account cannot take the name.
    other = make_s3_client(endpoint, region="eu-west-1", access_key="111122223333")
    with pytest.raises(ClientError) as e:
        other.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code(e.value) == "BucketAlreadyExists"


def test_put_get_head_delete_with_metadata(s3, bucket):
    body = b"hello, object"
    r = s3.put_object(Bucket=bucket, Key="dir/file.txt", Body=body, ContentType="text/plain",
                      Metadata={"color": "blue"}, CacheControl="max-age=60", ContentDisposition="inline",
                      ContentEncoding="identity", ContentLanguage="en",
                      Expires=datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc))
    etag = '"%s"' % hashlib.md5(body).hexdigest()
    assert r["ETag"] == etag
    g = s3.get_object(Bucket=bucket, Key="dir/file.txt")
    assert g["Body"].read() == body
    assert g["ETag"] == etag
    assert g["ContentType"] == "text/plain"
    assert g["Metadata"] == {"color": "blue"}
    assert g["CacheControl"] == "max-age=60"
    assert g["ContentDisposition"] == "inline"
    assert g["ContentLanguage"] == "en"
    assert g["ContentLength"] == len(body)
    h = s3.head_object(Bucket=bucket, Key="dir/file.txt")
    assert h["ContentLength"] == len(body) and h["ETag"] == etag and h["Metadata"] == {"color": "blue"}
    s3.delete_object(Bucket=bucket, Key="dir/file.txt")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="dir/file.txt")
    assert code(e.value) == "NoSuchKey" and status(e.value) == 404
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="dir/file.txt")
    assert status(e.value) == 404


def test_default_content_type_and_overwrite(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"one")
    s3.put_object(Bucket=bucket, Key="k", Body=b"two!")
    g = s3.get_object(Bucket=bucket, Key="k")
    assert g["Body"].read() == b"two!"
    assert g["ContentType"] == "binary/octet-stream"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1


def test_ranges(s3, bucket):
    data = bytes(range(256)) * 4
    s3.put_object(Bucket=bucket, Key="r", Body=data)
    g = s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-19")
    assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert g["ContentRange"] == f"bytes 10-19/{len(data)}"
    assert g["Body"].read() == data[10:20]
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-5")["Body"].read() == data[-5:]
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=1000-")["Body"].read() == data[1000:]
    h = s3.head_object(Bucket=bucket, Key="r", Range="bytes=10-19")
    assert h["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert h["ContentRange"] == f"bytes 10-19/{len(data)}" and h["ContentLength"] == 10
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=5000-6000")
    assert code(e.value) == "InvalidRange" and status(e.value) == 416


def test_conditional_requests(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"data")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"data"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert status(e.value) == 412
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert status(e.value) == 304
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=future)
    assert status(e.value) == 304
    assert s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=past)["Body"].read() == b"data"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="c", IfUnmodifiedSince=past)
    assert status(e.value) == 412
    # Conditional writes.
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="c", Body=b"new", IfNoneMatch="*")
    assert status(e.value) == 412
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"data"


def test_content_md5_and_checksums(s3, bucket):
    body = b"checked body"
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    s3.put_object(Bucket=bucket, Key="ok", Body=body, ContentMD5=md5)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad", Body=body,
                      ContentMD5=base64.b64encode(hashlib.md5(b"other").digest()).decode())
    assert code(e.value) == "BadDigest"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad", Body=body, ContentMD5="bm90IGFuIG1kNQ==")
    assert code(e.value) == "InvalidDigest"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad")
    sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
    r = s3.put_object(Bucket=bucket, Key="sha", Body=body, ChecksumSHA256=sha)
    assert r["ChecksumSHA256"] == sha
    g = s3.get_object(Bucket=bucket, Key="sha", ChecksumMode="ENABLED")
    assert g["ChecksumSHA256"] == sha and g["Body"].read() == body
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="sha2", Body=body,
                      ChecksumSHA256=base64.b64encode(hashlib.sha256(b"x").digest()).decode())
    assert code(e.value) == "BadDigest"
    # botocore's default CRC32 is stored and returned.
    r = s3.put_object(Bucket=bucket, Key="crc", Body=body, ChecksumAlgorithm="CRC32")
    assert "ChecksumCRC32" in r
    assert s3.head_object(Bucket=bucket, Key="crc", ChecksumMode="ENABLED")["ChecksumCRC32"] == r["ChecksumCRC32"]


def test_copy_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"copy me", ContentType="text/x-src", Metadata={"a": "1"})
    dest = bucket_name()
    s3.create_bucket(Bucket=dest)
    r = s3.copy_object(Bucket=dest, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert r["CopyObjectResult"]["ETag"] == '"%s"' % hashlib.md5(b"copy me").hexdigest()
    g = s3.get_object(Bucket=dest, Key="dst")
    assert g["Body"].read() == b"copy me" and g["Metadata"] == {"a": "1"} and g["ContentType"] == "text/x-src"
    s3.copy_object(Bucket=dest, Key="dst2", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="REPLACE", Metadata={"b": "2"}, ContentType="text/plain")
    h = s3.head_object(Bucket=dest, Key="dst2")
    assert h["Metadata"] == {"b": "2"} and h["ContentType"] == "text/plain"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert code(e.value) == "InvalidRequest"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "missing"})
    assert code(e.value) == "NoSuchKey"
    # Deleting the source leaves the copy intact.
    s3.delete_object(Bucket=bucket, Key="src")
    assert s3.get_object(Bucket=dest, Key="dst")["Body"].read() == b"copy me"


def test_delete_objects(s3, bucket):
    for k in ["a", "b", "c"]:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "nope"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["a", "b", "nope"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["c"]
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in r
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_list_v1_and_v2_with_delimiter_and_pagination(s3, bucket):
    keys = ["a.txt", "dir/1", "dir/2", "dir/sub/3", "other/x", "z y.txt"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"1")
    v2 = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in v2["Contents"]] == ["a.txt", "z y.txt"]
    assert [p["Prefix"] for p in v2["CommonPrefixes"]] == ["dir/", "other/"]
    assert v2["KeyCount"] == 4
    sub = s3.list_objects_v2(Bucket=bucket, Prefix="dir/", Delimiter="/")
    assert [o["Key"] for o in sub["Contents"]] == ["dir/1", "dir/2"]
    assert [p["Prefix"] for p in sub["CommonPrefixes"]] == ["dir/sub/"]
    # Pagination (v2) returns every key once, in order.
    seen, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=bucket, MaxKeys=2, **kw)
        seen += [o["Key"] for o in page.get("Contents", [])]
        assert page["KeyCount"] <= 2
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == sorted(keys)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, StartAfter="dir/2")["Contents"]] == keys[3:]
    # v1 with markers and a delimiter.
    p1 = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=2)
    assert p1["IsTruncated"] and p1["NextMarker"] == "dir/"
    p2 = s3.list_objects(Bucket=bucket, Delimiter="/", Marker=p1["NextMarker"])
    assert [p["Prefix"] for p in p2.get("CommonPrefixes", [])] == ["other/"]
    assert [o["Key"] for o in p2["Contents"]] == ["z y.txt"]
    paginator = s3.get_paginator("list_objects")
    all_keys = [o["Key"] for page in paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 4})
                for o in page.get("Contents", [])]
    assert all_keys == sorted(keys)


def test_multipart_upload_via_transfer(s3, bucket, tmp_path):
    data = bytes(range(256)) * (45 * 1024)  # 11.25 MiB: three parts of 5 MiB
    f = tmp_path / "big.bin"
    f.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_file(str(f), bucket, "big.bin", Config=cfg)
    h = s3.head_object(Bucket=bucket, Key="big.bin")
    assert h["ContentLength"] == len(data)
    assert h["ETag"].endswith('-3"')
    out = tmp_path / "out.bin"
    s3.download_file(bucket, "big.bin", str(out), Config=cfg)
    assert out.read_bytes() == data
    part2 = s3.get_object(Bucket=bucket, Key="big.bin", PartNumber=2)
    assert part2["ContentLength"] == 5 * 1024 * 1024 and part2["PartsCount"] == 3
    assert part2["Body"].read() == data[5 * 1024 * 1024:10 * 1024 * 1024]


def test_multipart_low_level(s3, bucket):
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", Metadata={"m": "1"})["UploadId"]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [up]
    p1 = b"a" * (5 * 1024 * 1024)
    e1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=1, Body=p1)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=2, Body=b"tail")["ETag"]
    parts = s3.list_parts(Bucket=bucket, Key="mp", UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, len(p1)), (2, 4)]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]})
    assert code(e.value) == "InvalidPartOrder"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": '"%s"' % ("0" * 32)}, {"PartNumber": 2, "ETag": e2}]})
    assert code(e.value) == "InvalidPart"
    r = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    md5s = hashlib.md5(p1).digest() + hashlib.md5(b"tail").digest()
    assert r["ETag"] == '"%s-2"' % hashlib.md5(md5s).hexdigest()
    g = s3.get_object(Bucket=bucket, Key="mp")
    assert g["Body"].read() == p1 + b"tail" and g["Metadata"] == {"m": "1"}
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket) or \
        s3.list_multipart_uploads(Bucket=bucket)["Uploads"] == []
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="mp", UploadId=up)
    assert code(e.value) == "NoSuchUpload"


def test_multipart_small_part_abort_and_copy(s3, bucket):
    s3.put_object(Bucket=bucket, Key="source", Body=b"0123456789")
    up = s3.create_multipart_upload(Bucket=bucket, Key="small")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="small", UploadId=up, PartNumber=1, Body=b"tiny")["ETag"]
    e2 = s3.upload_part_copy(Bucket=bucket, Key="small", UploadId=up, PartNumber=2,
                             CopySource={"Bucket": bucket, "Key": "source"},
                             CopySourceRange="bytes=2-5")["CopyPartResult"]["ETag"]
    assert e2 == '"%s"' % hashlib.md5(b"2345").hexdigest()
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="small", UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert code(e.value) == "EntityTooSmall"
    s3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=up)
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="small", UploadId=up, PartNumber=3, Body=b"x")
    assert code(e.value) == "NoSuchUpload"
    # A single (last) part may be small.
    up = s3.create_multipart_upload(Bucket=bucket, Key="one")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="one", UploadId=up, PartNumber=1, Body=b"tiny")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="one", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}]})
    assert s3.get_object(Bucket=bucket, Key="one")["Body"].read() == b"tiny"


@pytest.mark.parametrize("signature", ["s3v4", None])
def test_presigned_get_and_put(endpoint, bucket, signature):
    kw = {"signature_version": signature} if signature else {}
    client = make_s3_client(endpoint, **kw)
    put_url = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "pre sign.txt"},
                                            ExpiresIn=300)
    if signature is None:
        assert "AWSAccessKeyId=" in put_url and "Signature=" in put_url
    else:
        assert "X-Amz-Signature=" in put_url
    req = urllib.request.Request(put_url, data=b"uploaded by url", method="PUT")
    with urllib.request.urlopen(req) as r:
        assert r.status == 200
    get_url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre sign.txt"})
    with urllib.request.urlopen(get_url) as r:
        assert r.read() == b"uploaded by url"
    missing = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "missing"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(missing)
    assert e.value.code == 404 and b"NoSuchKey" in e.value.read()


def test_virtual_host_request(s3, bucket, endpoint):
    s3.put_object(Bucket=bucket, Key="vh/key.txt", Body=b"virtual")
    port = urllib.parse.urlparse(endpoint).port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/vh/key.txt", headers={"Host": f"{bucket}.s3.localhost:{port}"})
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"virtual"
    conn.request("GET", "/?list-type=2", headers={"Host": f"{bucket}.s3.localhost:{port}"})
    r = conn.getresponse()
    body = r.read()
    assert r.status == 200 and b"<Key>vh/key.txt</Key>" in body
    conn.close()


def test_unsigned_error_is_s3_xml(endpoint):
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{endpoint}/{bucket_name('nobucket')}/key")
    assert e.value.code == 404
    assert b"<Code>NoSuchBucket</Code>" in e.value.read()


@pytest.mark.stratus_only
@pytest.mark.parametrize("framing", ["STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"])
def test_aws_chunked_uploads_in_open_mode(s3, bucket, endpoint, framing):
    """The framing SDKs use for streamed uploads and trailing checksums (JavaScript, Java, Go,
    Rust): the stored object is the payload, not the frames."""
    payload = b"0123456789" * 1000 + b"tail"
    pieces = [payload[:4096], payload[4096:8192], payload[8192:]]
    if framing.endswith("TRAILER"):
        body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
        body += b"0\r\nx-amz-checksum-crc32:" + base64.b64encode(b"\0\0\0\0") + b"\r\n\r\n"
    else:
        sig = "0" * 64
        body = b"".join(b"%x;chunk-signature=%s\r\n%s\r\n" % (len(p), sig.encode(), p) for p in pieces)
        body += b"0;chunk-signature=" + sig.encode() + b"\r\n\r\n"
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "Host": urllib.parse.urlparse(endpoint).netloc,
        "Content-Length": str(len(body)),
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(payload)),
        "X-Amz-Content-Sha256": framing,
        "X-Amz-Date": date,
        "Content-Type": "text/plain",
        "Authorization": f"AWS4-HMAC-SHA256 Credential=test/{date[:8]}/us-east-1/s3/aws4_request, "
                         f"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={'0' * 64}",
    }
    if framing.endswith("TRAILER"):
        headers["X-Amz-Trailer"] = "x-amz-checksum-crc32"
    u = urllib.parse.urlparse(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("PUT", f"/{bucket}/chunked.txt", body=body, headers=headers)
    r = conn.getresponse()
    assert r.status == 200, r.read()
    r.read()
    got = s3.get_object(Bucket=bucket, Key="chunked.txt")
    assert got["Body"].read() == payload
    assert got["ContentLength"] == len(payload)
    assert got["ETag"] == f'"{hashlib.md5(payload).hexdigest()}"'


@pytest.mark.parametrize("signature", ["s3v4", None])
def test_browser_form_upload_in_open_mode(endpoint, bucket, signature):
    """PostObject with the form `generate_presigned_post` builds (SigV4 or the legacy fields):
    the signature is not checked in open mode, but the policy's conditions are."""
    import requests
    s3 = make_s3_client(endpoint, **({"signature_version": signature} if signature else {}))
    post = s3.generate_presigned_post(bucket, "forms/${filename}", Fields={"Content-Type": "text/plain"},
                                      Conditions=[{"Content-Type": "text/plain"}, ["content-length-range", 0, 100],
                                                  ["starts-with", "$key", "forms/"]])
    r = requests.post(post["url"], data=post["fields"], files={"file": ("note.txt", b"from a browser")}, timeout=10)
    assert r.status_code == 204, r.text
    got = s3.get_object(Bucket=bucket, Key="forms/note.txt")
    assert got["Body"].read() == b"from a browser" and got["ContentType"] == "text/plain"
    r = requests.post(post["url"], data=post["fields"], files={"file": ("big.txt", b"x" * 200)}, timeout=10)
    assert r.status_code == 400 and "<Code>EntityTooLarge</Code>" in r.text
