"""Helpers for the SNS end-to-end tests: clients, queues that receive from topics, an HTTP
endpoint run by the test, and verification of SNS message signatures."""

from __future__ import annotations

import base64
import json
import queue as queue_mod
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
import requests

from sqs_helpers import REGION, client_config, unique


@pytest.fixture(scope="session")
def sns(target):
    return boto3.session.Session().client(
        "sns", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
        aws_secret_access_key="test", config=client_config())


def make_queue(sqs, name=None, fifo=False, **attrs):
    """(url, arn) of a new queue."""
    name = name or unique("q") + (".fifo" if fifo else "")
    attributes = {k: str(v) for k, v in attrs.items()}
    if fifo:
        attributes["FifoQueue"] = "true"
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive(sqs, url, want, timeout=10.0, **kw):
    """Up to `want` messages (deleted once received), waiting up to `timeout` seconds."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                MessageAttributeNames=["All"], AttributeNames=["All"], **kw)
        for m in r.get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def queue_is_empty(sqs, url, wait=1.0):
    time.sleep(wait)
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"]) == 0


def subscribe_queue(sns, sqs, topic_arn, raw=False, fifo=False, **attrs):
    """A new queue subscribed to the topic: (queue url, subscription arn)."""
    url, arn = make_queue(sqs, fifo=fifo)
    attributes = {k: v for k, v in attrs.items()}
    if raw:
        attributes["RawMessageDelivery"] = "true"
    sub = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes,
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    return url, sub


def error(e):
    """(code, HTTP status) of a ClientError raised inside pytest.raises."""
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


# ----------------------------------------------------------------------------- HTTP endpoint

class Endpoint:
    """An HTTP server in a thread that records POSTs; it answers the statuses queued in `answers`
    first, in order, then `status`."""

    def __init__(self, status: int = 200, ssl_context=None):
        self.status = status
        self.answers: list[int] = []
        self.lock = threading.Lock()
        self.requests: queue_mod.Queue = queue_mod.Queue()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                n = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(n).decode()
                outer.requests.put({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body})
                with outer.lock:
                    status = outer.answers.pop(0) if outer.answers else outer.status
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        scheme = "https" if ssl_context is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/hook"

    def next(self, timeout=10.0):
        return self.requests.get(timeout=timeout)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_endpoint():
    endpoints = []

    def make(status=200, ssl_context=None):
        e = Endpoint(status, ssl_context)
        endpoints.append(e)
        return e

    yield make
    for e in endpoints:
        e.close()


# ----------------------------------------------------------------------------- signatures

NOTIFICATION_FIELDS = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION_FIELDS = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]


def canonical(msg: dict) -> bytes:
    """The string SNS signs (documented in sns-verify-signature-of-message)."""
    fields = NOTIFICATION_FIELDS if msg["Type"] == "Notification" else CONFIRMATION_FIELDS
    return "".join(f"{k}\n{msg[k]}\n" for k in fields if k in msg).encode()


def verify_signature(msg: dict) -> None:
    """Fetches the certificate from SigningCertURL and verifies the message's signature;
    raises on failure."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    pem = requests.get(msg["SigningCertURL"], timeout=10)
    assert pem.status_code == 200, pem.text
    cert = x509.load_pem_x509_certificate(pem.content)
    algorithm = hashes.SHA256() if msg["SignatureVersion"] == "2" else hashes.SHA1()
    cert.public_key().verify(base64.b64decode(msg["Signature"]), canonical(msg), padding.PKCS1v15(), algorithm)


def envelope(m) -> dict:
    return json.loads(m["Body"])
