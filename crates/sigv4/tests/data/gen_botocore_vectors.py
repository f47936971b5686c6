#!/usr/bin/env python3
"""Generates the botocore cross-check vectors embedded in
crates/sigv4/tests/botocore_vectors.rs.

Run with python3 and botocore installed (tested with botocore 1.43):

    python3 crates/sigv4/tests/data/gen_botocore_vectors.py

The time is pinned by patching botocore.auth.get_current_datetime, so the
output is deterministic. Paste the printed values into the Rust test if the
inputs there are changed.
"""
import datetime
from unittest import mock

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

FIXED = datetime.datetime(2024, 5, 17, 10, 30, 0)
ACCESS = "AKIDSTRATUSEXAMPLE"
SECRET = "stratus/secret+key/EXAMPLEKEY0123456789ab"
TOKEN = "FQoGZXIvYXdzEXAMPLETOKEN//////////wEaDSESSION+token="


def run(auth, req):
    with mock.patch("botocore.auth.get_current_datetime", return_value=FIXED):
        auth.add_auth(req)
    return req


def show(name, req):
    print(f"== {name}")
    print("url:", req.url)
    for k, v in req.headers.items():
        print(f"header: {k}: {v}")
    print()


# 1. SQS JSON protocol POST (AmazonSQS.ListQueues), no session token.
req = AWSRequest(
    method="POST",
    url="https://sqs.us-east-1.amazonaws.com/",
    headers={
        "X-Amz-Target": "AmazonSQS.ListQueues",
        "Content-Type": "application/x-amz-json-1.0",
    },
    data=b'{"QueueNamePrefix":"stratus"}',
)
show("sqs-json-listqueues", run(SigV4Auth(Credentials(ACCESS, SECRET), "sqs", "us-east-1"), req))

# 2. Same call with a session token (x-amz-security-token is signed).
req = AWSRequest(
    method="POST",
    url="https://sqs.eu-west-1.amazonaws.com/",
    headers={
        "X-Amz-Target": "AmazonSQS.ListQueues",
        "Content-Type": "application/x-amz-json-1.0",
    },
    data=b"{}",
)
show("sqs-json-token", run(SigV4Auth(Credentials(ACCESS, SECRET, TOKEN), "sqs", "eu-west-1"), req))

# 3. S3 presigned GET (query auth) on a key that needs encoding.
req = AWSRequest(
    method="GET",
    url="http://127.0.0.1:4566/my-bucket/photos/2024/a%20b%2Bc.jpg",
)
show("s3-presign-get", run(S3SigV4QueryAuth(Credentials(ACCESS, SECRET), "s3", "us-east-1", expires=3600), req))

# 4. S3 header-signed PUT (x-amz-content-sha256 = sha256(body)).
req = AWSRequest(
    method="PUT",
    url="http://localhost:4566/my-bucket/dir/key%3Dvalue.txt?tagging",
    headers={"Content-Type": "text/plain"},
    data=b"hello stratus",
)
show("s3-put-header", run(S3SigV4Auth(Credentials(ACCESS, SECRET), "s3", "us-east-1"), req))

# 5. Query protocol (form body) with a non-S3 path needing double encoding.
req = AWSRequest(
    method="POST",
    url="https://sqs.us-east-1.amazonaws.com/123456789012/my%20queue",
    headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    data=b"Action=GetQueueAttributes&AttributeName.1=All&Version=2012-11-05",
)
show("sqs-query-path", run(SigV4Auth(Credentials(ACCESS, SECRET), "sqs", "us-east-1"), req))
