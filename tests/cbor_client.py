"""A Kinesis client that speaks CBOR (`application/x-amz-cbor-1.1`) as the AWS SDK for Java and
the Kinesis Producer/Client Libraries do: requests encoded with the cbor2 library and signed
with botocore's SigV4 signer; responses decoded here, keeping tags (the SDKs read tag 1 as epoch
milliseconds, which general-purpose decoders would take for seconds)."""

from __future__ import annotations

import struct

import cbor2
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sqs_helpers import REGION

CONTENT_TYPE = "application/x-amz-cbor-1.1"


class Tag:
    def __init__(self, tag: int, value):
        self.tag, self.value = tag, value

    def __repr__(self):
        return f"Tag({self.tag}, {self.value!r})"


def call(endpoint: str, op: str, body: dict, *, raw: bytes | None = None) -> tuple[int, object, object]:
    """Calls `op` with `body` (or the bytes `raw`): (HTTP status, decoded body, headers)."""
    data = raw if raw is not None else cbor2.dumps(body)
    headers = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": f"Kinesis_20131202.{op}"}
    req = AWSRequest(method="POST", url=endpoint + "/", data=data, headers=headers)
    SigV4Auth(Credentials("test", "test"), "kinesis", REGION).add_auth(req)
    r = requests.post(endpoint + "/", data=data, headers=dict(req.headers.items()), timeout=30)
    return r.status_code, (decode(r.content) if r.content else None), r.headers


def decode(data: bytes):
    value, end = _item(data, 0)
    if end != len(data):
        raise ValueError(f"{len(data) - end} bytes after the item")
    return value


def _length(data: bytes, pos: int, info: int) -> tuple[int | None, int]:
    if info < 24:
        return info, pos
    if info == 31:
        return None, pos  # indefinite
    size = {24: 1, 25: 2, 26: 4, 27: 8}[info]
    return int.from_bytes(data[pos:pos + size], "big"), pos + size


def _item(data: bytes, pos: int):
    initial = data[pos]
    major, info = initial >> 5, initial & 31
    pos += 1
    if major == 7:
        if info == 20:
            return False, pos
        if info == 21:
            return True, pos
        if info in (22, 23):
            return None, pos
        if info == 25:
            return struct.unpack(">e", data[pos:pos + 2])[0], pos + 2
        if info == 26:
            return struct.unpack(">f", data[pos:pos + 4])[0], pos + 4
        if info == 27:
            return struct.unpack(">d", data[pos:pos + 8])[0], pos + 8
        raise ValueError(f"simple value {info}")
    n, pos = _length(data, pos, info)
    if major == 0:
        return n, pos
    if major == 1:
        return -1 - n, pos
    if major in (2, 3):
        if n is None:
            chunks = []
            while data[pos] != 0xFF:
                chunk, pos = _item(data, pos)
                chunks.append(chunk)
            out = b"".join(chunks) if major == 2 else "".join(chunks)
            return out, pos + 1
        raw = data[pos:pos + n]
        return (bytes(raw) if major == 2 else raw.decode()), pos + n
    if major == 4:
        out = []
        while (n is None and data[pos] != 0xFF) or (n is not None and len(out) < n):
            v, pos = _item(data, pos)
            out.append(v)
        return out, pos + (1 if n is None else 0)
    if major == 5:
        out = {}
        while (n is None and data[pos] != 0xFF) or (n is not None and len(out) < n):
            k, pos = _item(data, pos)
            out[k], pos = _item(data, pos)
        return out, pos + (1 if n is None else 0)
    value, pos = _item(data, pos)
    return Tag(n, value), pos
