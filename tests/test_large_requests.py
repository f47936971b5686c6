"""Large Lambda code uploads end to end: a deployment package just under AWS's 50 MB direct-upload
limit deploys (aws CLI and boto3) and runs; a request over CreateFunction's request-size limit is
refused with 413 RequestEntityTooLargeException as soon as its head is read, without the server
taking in the body; and the server keeps serving afterwards.

AWS's limits (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): 50 MB
zipped (52,428,800 bytes) for a package uploaded through the API, and a request-size limit on the
upload operations, reported as "Request must be smaller than 70167211 bytes for the ... operation".
The package travels base64-encoded inside the JSON body, so a 49.5 MB zip makes a ~66 MB request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import time
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, aws_cli_base, client_config, raw_exchange, unique

pytestmark = pytest.mark.stratus_only

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
ZIPPED_LIMIT = 52_428_800  # 50 MB, AWS's limit for a package uploaded directly
REQUEST_LIMIT = 70_167_211  # AWS's request-size limit of the code upload operations
JUST_UNDER = 49_500_000  # bytes of the "just under 50 MB" packages
# A package over 50 MB whose base64 request still fits the request limit: the service's own
# check on the zipped size answers.
OVER = 52_500_000

HANDLER = """
import os
def handler(event, context):
    return {{"marker": "{marker}", "blob_bytes": os.path.getsize("blob.bin"), "event": event}}
"""


def big_zip(path, size: int, marker: str) -> bytes:
    """Writes a zip of exactly `size` bytes to `path`: `app.py` (returns `marker` and the size of
    blob.bin as the function sees it) and `blob.bin`, random bytes stored uncompressed (ZIP_STORED,
    so the zip is as big as its content). Returns the zip's bytes."""
    app = HANDLER.format(marker=marker).encode()

    def write(blob_len: int, blob: bytes | None = None) -> int:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
            for name, data in (("app.py", app), ("blob.bin", blob if blob is not None else b"")):
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                info.external_attr = (0o644 | 0o100000) << 16
                z.writestr(info, data)
        return path.stat().st_size

    overhead = write(0)  # headers and directory; the same for any blob size below ZIP64's 4 GiB
    write(size - overhead, os.urandom(size - overhead))
    data = path.read_bytes()
    assert len(data) == size
    return data


def code_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.fixture(scope="session")
def lam(target):
    return boto3.session.Session().client(
        "lambda", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
        aws_secret_access_key="test", config=client_config(read_timeout=120))


@pytest.fixture
def aws_lambda(target, tmp_path):
    """aws_lambda("create-function", ...) -> CompletedProcess of `aws lambda ...` against the target."""
    home = tmp_path / "aws-home"
    home.mkdir()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=REGION,
               AWS_CONFIG_FILE=str(home / "config"), AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
               AWS_PAGER="", AWS_MAX_ATTEMPTS="1", AWS_RETRY_MODE="standard")
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    base = [*aws_cli_base(), "--endpoint-url", target.endpoint, "--region", REGION, "--output", "json", "lambda"]

    def run(*args: str, timeout: float = 180):
        return subprocess.run([*base, *args], capture_output=True, text=True, env=env, timeout=timeout)

    return run


def wait_active(lam, name: str) -> None:
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})


def wait_updated(lam, name: str) -> None:
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})


def invoke_json(lam, name: str, payload: dict) -> dict:
    r = lam.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    body = r["Payload"].read()
    assert r["StatusCode"] == 200 and "FunctionError" not in r, body[:500]
    return json.loads(body)


def assert_still_serving(lam, tmp_path) -> None:
    """After a refused upload: the API answers and a small function deploys and runs."""
    lam.list_functions()
    name = unique("after")
    small = big_zip(tmp_path / "small.zip", 4096, "small")
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": small})
    wait_active(lam, name)
    assert invoke_json(lam, name, {"n": 1})["marker"] == "small"
    assert name in [f["FunctionName"] for f in lam.list_functions()["Functions"]]


# ----------------------------------------------------------------------------- just under 50 MB

@pytest.mark.slow
def test_cli_deploys_a_package_just_under_50_mb(lam, aws_lambda, tmp_path):
    path = tmp_path / "big.zip"
    data = big_zip(path, JUST_UNDER, "cli-big")
    name = unique("big-cli")
    p = aws_lambda("create-function", "--function-name", name, "--runtime", "python3.12", "--role", ROLE,
                   "--handler", "app.handler", "--timeout", "30", "--zip-file", f"fileb://{path}")
    assert p.returncode == 0, p.stderr[-3000:]
    created = json.loads(p.stdout)
    assert created["CodeSize"] == JUST_UNDER
    assert created["CodeSha256"] == code_sha256(data)
    wait_active(lam, name)
    cfg = lam.get_function(FunctionName=name)["Configuration"]
    assert cfg["CodeSize"] == JUST_UNDER and cfg["CodeSha256"] == code_sha256(data)
    out = invoke_json(lam, name, {"hello": "big"})
    assert out["marker"] == "cli-big" and out["event"] == {"hello": "big"}
    # the whole blob reached the function: the zip minus its small app.py and zip headers
    assert JUST_UNDER - 2048 < out["blob_bytes"] < JUST_UNDER


@pytest.mark.slow
def test_update_function_code_with_a_package_just_under_50_mb(lam, tmp_path):
    name = unique("big-update")
    small = big_zip(tmp_path / "small.zip", 4096, "before")
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": small}, Timeout=30)
    wait_active(lam, name)
    assert invoke_json(lam, name, {})["marker"] == "before"

    data = big_zip(tmp_path / "big.zip", JUST_UNDER, "after")
    r = lam.update_function_code(FunctionName=name, ZipFile=data)
    assert r["CodeSize"] == JUST_UNDER and r["CodeSha256"] == code_sha256(data)
    wait_updated(lam, name)
    cfg = lam.get_function(FunctionName=name)["Configuration"]
    assert cfg["CodeSize"] == JUST_UNDER and cfg["CodeSha256"] == code_sha256(data)
    out = invoke_json(lam, name, {"n": 2})
    assert out["marker"] == "after" and JUST_UNDER - 2048 < out["blob_bytes"] < JUST_UNDER


# ----------------------------------------------------------------------------- over the limits

def split_response(raw: bytes) -> tuple[dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return headers, body


def error_type(raw: bytes) -> str | None:
    """The error code a REST-JSON SDK reads: x-amzn-ErrorType, else the body's __type / Type / code."""
    headers, body = split_response(raw)
    if headers.get("x-amzn-errortype"):
        return headers["x-amzn-errortype"].split(":")[0]
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    code = doc.get("__type") or doc.get("Type") or doc.get("code")
    return code.rsplit("#", 1)[-1] if isinstance(code, str) else None


def first_megabyte():
    """The start of a CreateFunction body whose ZipFile would go on for 80 MB."""
    yield b'{"FunctionName":"too-big","Runtime":"python3.12","Role":"' + ROLE.encode() + \
        b'","Handler":"app.handler","Code":{"ZipFile":"'
    for _ in range(4):
        yield b"A" * (256 * 1024)


@pytest.mark.parametrize("method,path,operation", [
    ("POST", "/2015-03-31/functions", "CreateFunction"),
    ("PUT", "/2015-03-31/functions/some-function/code", "UpdateFunctionCode"),
    ("POST", "/2018-10-31/layers/some-layer/versions", "PublishLayerVersion"),
], ids=["CreateFunction", "UpdateFunctionCode", "PublishLayerVersion"])
def test_oversized_upload_is_refused_from_its_content_length(lam, target, tmp_path, method, path, operation):
    # Unsigned (the test server runs in open mode): routed to Lambda by its URI.
    declared = 80_000_000
    assert declared > REQUEST_LIMIT
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{target.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {declared}\r\n\r\n").encode()
    t0 = time.monotonic()
    status, raw, sent = raw_exchange(target.port, head, first_megabyte(), timeout=5)
    elapsed = time.monotonic() - t0
    # Only ~1 MB of the 80 MB was ever sent: an answer at all means the server did not wait for the body.
    assert sent <= 1_100_000
    assert status == 413, f"expected 413 within 5 s, got {status} after {elapsed:.1f} s: {raw[:500]!r}"
    assert error_type(raw) == "RequestEntityTooLargeException", raw[:500]
    _, body = split_response(raw)
    assert str(REQUEST_LIMIT) in body.decode("utf-8", "replace") and operation in body.decode(), body[:500]
    assert elapsed < 5
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="too-big")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert_still_serving(lam, tmp_path)


@pytest.mark.slow
def test_oversized_chunked_upload_is_refused_at_the_limit(lam, target, tmp_path):
    # No Content-Length to judge by: the server reads up to the limit, then refuses.
    head = (f"POST /2015-03-31/functions HTTP/1.1\r\nHost: 127.0.0.1:{target.port}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    piece = b"A" * (1024 * 1024)

    def chunked():
        for data in first_megabyte():
            yield f"{len(data):x}\r\n".encode() + data + b"\r\n"
        for _ in range(149):  # up to ~150 MB in all; the sender stops once the answer is in
            yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"

    status, raw, sent = raw_exchange(target.port, head, chunked(), timeout=30)
    assert status == 413, f"got {status}: {raw[:500]!r}"
    assert error_type(raw) == "RequestEntityTooLargeException", raw[:500]
    # The server stops reading at the ~70 MB limit; what the sender got out beyond it sits in
    # socket buffers (several MB each side on loopback), far from the 150 MB it had.
    assert sent < 110 * 1024 * 1024
    assert_still_serving(lam, tmp_path)


@pytest.mark.slow
def test_boto3_refuses_a_package_over_50_mb(lam, tmp_path):
    data = big_zip(tmp_path / "over.zip", OVER, "over")
    assert len(data) > ZIPPED_LIMIT
    name = unique("over")
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": data})
    err = e.value.response
    assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == ("RequestEntityTooLargeException", 413)
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName=name)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"

    # The same package as new code for an existing function.
    small_name = unique("keep")
    small = big_zip(tmp_path / "small.zip", 4096, "kept")
    lam.create_function(FunctionName=small_name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": small})
    wait_active(lam, small_name)
    with pytest.raises(ClientError) as e:
        lam.update_function_code(FunctionName=small_name, ZipFile=data)
    err = e.value.response
    assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == ("RequestEntityTooLargeException", 413)
    assert "UpdateFunctionCode" in err["Error"]["Message"], err["Error"]["Message"]
    assert lam.get_function(FunctionName=small_name)["Configuration"]["CodeSha256"] == code_sha256(small)
    assert invoke_json(lam, small_name, {})["marker"] == "kept"
    assert_still_serving(lam, tmp_path)
