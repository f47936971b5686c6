"""S3 server-side encryption as clients see it: SSE-S3 by default, SSE-KMS with its key id
echoed (also from the bucket's default encryption), and SSE-C, where every read must give the
key the object was written with."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from s3_helpers import bucket, s3  # noqa: F401  (fixtures)
from sqs_helpers import unique

pytestmark = pytest.mark.stratus_only


def code(e):
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_default_and_kms_encryption_are_reported(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="plain", Body=b"x")
    assert put["ServerSideEncryption"] == "AES256"
    key_arn = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555"
    put = s3.put_object(Bucket=bucket, Key="kms", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn,
                        BucketKeyEnabled=True)
    assert (put["ServerSideEncryption"], put["SSEKMSKeyId"], put["BucketKeyEnabled"]) == ("aws:kms", key_arn, True)
    head = s3.head_object(Bucket=bucket, Key="kms")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key_arn)
    assert s3.get_object(Bucket=bucket, Key="kms")["SSEKMSKeyId"] == key_arn
    # A KMS key id without aws:kms is refused.
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"x", ServerSideEncryption="AES256", SSEKMSKeyId=key_arn)
    assert code(e) == ("InvalidArgument", 400)

    # The bucket's default encryption applies to writes that name none.
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]})
    put = s3.put_object(Bucket=bucket, Key="defaulted", Body=b"x")
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"].startswith("arn:aws:kms:")
    assert s3.head_object(Bucket=bucket, Key="plain")["ServerSideEncryption"] == "AES256"


def test_customer_keys_must_be_given_again_to_read(s3, bucket):
    key = os.urandom(32)
    headers = dict(SSECustomerAlgorithm="AES256", SSECustomerKey=base64.b64encode(key).decode(),
                   SSECustomerKeyMD5=base64.b64encode(hashlib.md5(key).digest()).decode())
    put = s3.put_object(Bucket=bucket, Key="secret", Body=b"top secret", **headers)
    assert put["SSECustomerAlgorithm"] == "AES256" and put["SSECustomerKeyMD5"] == headers["SSECustomerKeyMD5"]
    assert "ServerSideEncryption" not in put

    got = s3.get_object(Bucket=bucket, Key="secret", **headers)
    assert got["Body"].read() == b"top secret" and got["SSECustomerKeyMD5"] == headers["SSECustomerKeyMD5"]
    assert s3.head_object(Bucket=bucket, Key="secret", **headers)["SSECustomerAlgorithm"] == "AES256"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="secret")
    assert code(e) == ("InvalidRequest", 400)
    other = os.urandom(32)
    wrong = dict(SSECustomerAlgorithm="AES256", SSECustomerKey=base64.b64encode(other).decode(),
                 SSECustomerKeyMD5=base64.b64encode(hashlib.md5(other).digest()).decode())
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="secret", **wrong)
    assert code(e) == ("AccessDenied", 403)
    # Copying needs the source's key too.
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "secret"})
    assert code(e) == ("InvalidRequest", 400)
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "secret"},
                   CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=headers["SSECustomerKey"],
                   CopySourceSSECustomerKeyMD5=headers["SSECustomerKeyMD5"])
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == b"top secret"
    # A key whose MD5 does not match is refused before anything is stored.
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key=unique("bad"), Body=b"x", SSECustomerAlgorithm="AES256",
                      SSECustomerKey=headers["SSECustomerKey"], SSECustomerKeyMD5=wrong["SSECustomerKeyMD5"])
    assert code(e) == ("InvalidArgument", 400)


def test_multipart_upload_encryption(s3, bucket):
    # SSE-KMS asked for at initiation is echoed and applies to the completed object.
    key_arn = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    up = s3.create_multipart_upload(Bucket=bucket, Key="kms-mp", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
    assert (up["ServerSideEncryption"], up["SSEKMSKeyId"]) == ("aws:kms", key_arn)
    p = s3.upload_part(Bucket=bucket, Key="kms-mp", UploadId=up["UploadId"], PartNumber=1, Body=b"x" * 10)
    done = s3.complete_multipart_upload(Bucket=bucket, Key="kms-mp", UploadId=up["UploadId"],
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p["ETag"]}]})
    assert (done["ServerSideEncryption"], done["SSEKMSKeyId"]) == ("aws:kms", key_arn)
    assert s3.head_object(Bucket=bucket, Key="kms-mp")["SSEKMSKeyId"] == key_arn

    # SSE-C: every part gives the key, and reads of the completed object need it.
    key = os.urandom(32)
    headers = dict(SSECustomerAlgorithm="AES256", SSECustomerKey=base64.b64encode(key).decode(),
                   SSECustomerKeyMD5=base64.b64encode(hashlib.md5(key).digest()).decode())
    up = s3.create_multipart_upload(Bucket=bucket, Key="c-mp", **headers)
    assert up["SSECustomerKeyMD5"] == headers["SSECustomerKeyMD5"]
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="c-mp", UploadId=up["UploadId"], PartNumber=1, Body=b"no key")
    assert code(e)[1] == 400
    p = s3.upload_part(Bucket=bucket, Key="c-mp", UploadId=up["UploadId"], PartNumber=1, Body=b"with key",
                       **headers)
    s3.complete_multipart_upload(Bucket=bucket, Key="c-mp", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p["ETag"]}]})
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c-mp")
    assert code(e)[1] == 400
    assert s3.get_object(Bucket=bucket, Key="c-mp", **headers)["Body"].read() == b"with key"
