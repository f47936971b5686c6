"""Signature verification through the real binary (`--auth verify`): known keys work, and
wrong secrets, unknown keys, missing signatures, skewed clocks and expired presigned URLs get
AWS's errors in each protocol."""

from __future__ import annotations

import datetime
import time
from unittest import mock

import pytest
import requests
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from sqs_helpers import ServerProcess, make_sqs_client

pytestmark = pytest.mark.stratus_only

ADMIN = ("AKIDADMINEXAMPLE", "admin-secret", "111111111111")
USER = ("AKIDUSEREXAMPLE", "user-secret", "222222222222")


class VerifyingServer(ServerProcess):
    def __init__(self, config_path, **kw):
        super().__init__(in_memory=True, **kw)
        self.config_path = config_path

    def command(self):
        return super().command() + ["--auth", "verify", "--config", str(self.config_path)]

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"stratus exited: {self.stderr_tail()}")
            try:
                if requests.get(f"{self.endpoint}/_stratus/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.02)
        raise RuntimeError("stratus did not become ready")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    cfg = tmp_path_factory.mktemp("auth") / "stratus.toml"
    lines = []
    for (key, secret, account), admin in ((ADMIN, True), (USER, False)):
        lines += ["[[credentials]]", f'access_key_id = "{key}"', f'secret_access_key = "{secret}"',
                  f'account = "{account}"', f"admin = {'true' if admin else 'false'}", ""]
    cfg.write_text("\n".join(lines))
    s = VerifyingServer(cfg).start()
    yield s
    s.stop()


def client(server, key, secret):
    return make_sqs_client(server.endpoint, access_key=key, secret_key=secret)


def code_and_status(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def query(server, params, key, secret, *, when=None):
    req = AWSRequest(method="POST", url=f"{server.endpoint}/", data=params,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    auth = SigV4Auth(Credentials(key, secret), "sqs", "us-east-1")
    if when is None:
        auth.add_auth(req)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
            auth.add_auth(req)
    p = req.prepare()
    return requests.post(p.url, data=p.body, headers=dict(p.headers), timeout=10)


def test_known_key_acts_in_its_account(server):
    sqs = client(server, *USER[:2])
    url = sqs.create_queue(QueueName="mine")["QueueUrl"]
    assert f"/{USER[2]}/mine" in url
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert arn == f"arn:aws:sqs:us-east-1:{USER[2]}:mine"


def test_wrong_secret_is_rejected_in_json_and_query(server):
    code, status = code_and_status(lambda: client(server, USER[0], "wrong").list_queues())
    assert code in ("InvalidSignatureException", "SignatureDoesNotMatch")
    assert status in (400, 403)
    r = query(server, {"Action": "ListQueues", "Version": "2012-11-05"}, USER[0], "wrong")
    assert r.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in r.text


def test_unknown_key_is_rejected(server):
    code, status = code_and_status(lambda: client(server, "AKIDNOBODY", "x").list_queues())
    assert code in ("UnrecognizedClientException", "InvalidClientTokenId")
    r = query(server, {"Action": "ListQueues"}, "AKIDNOBODY", "x")
    assert r.status_code == 403 and "<Code>InvalidClientTokenId</Code>" in r.text


def test_unsigned_request_is_rejected(server):
    r = requests.post(f"{server.endpoint}/", data={"Action": "ListQueues"}, timeout=10)
    assert r.status_code == 403
    assert "<Code>MissingAuthenticationToken</Code>" in r.text


def test_clock_skew_is_rejected(server):
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
    r = query(server, {"Action": "ListQueues"}, USER[0], USER[1], when=old)
    assert r.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in r.text and "Signature expired" in r.text


def test_presigned_url_valid_then_expired(server):
    def presign(expires):
        req = AWSRequest(method="GET", url=f"{server.endpoint}/?Action=ListQueues&Version=2012-11-05")
        SigV4QueryAuth(Credentials(USER[0], USER[1]), "sqs", "us-east-1", expires=expires).add_auth(req)
        return req.url
    assert requests.get(presign(60), timeout=10).status_code == 200
    url = presign(1)
    time.sleep(2.2)
    r = requests.get(url, timeout=10)
    assert r.status_code in (400, 403)
    assert "expired" in r.text.lower()


def test_reset_needs_an_admin_key(server):
    user = SigV4Auth(Credentials(USER[0], USER[1]), "sqs", "us-east-1")
    admin = SigV4Auth(Credentials(ADMIN[0], ADMIN[1]), "sqs", "us-east-1")
    for auth, want in ((None, 403), (user, 403), (admin, 200)):
        req = AWSRequest(method="POST", url=f"{server.endpoint}/_stratus/reset", data=b"")
        if auth:
            auth.add_auth(req)
        p = req.prepare()
        assert requests.post(p.url, data=p.body, headers=dict(p.headers), timeout=10).status_code == want


def test_non_loopback_open_mode_is_refused(tmp_path):
    s = ServerProcess(in_memory=True)
    import subprocess
    out = subprocess.run([str(s.binary), "serve", "--host", "0.0.0.0", "--port", str(s.port), "--in-memory"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode != 0
    assert "open mode" in out.stderr


def test_sns_links_work_unsigned_but_nothing_else_does(server):
    """The UnsubscribeURL SNS puts in every message works without a signature, as on AWS;
    other SNS actions sent unsigned the same way are refused."""
    import boto3
    import json as _json
    kw = dict(endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=USER[0],
              aws_secret_access_key=USER[1])
    sns, sqs = boto3.client("sns", **kw), boto3.client("sqs", **kw)
    url = sqs.create_queue(QueueName="sns-links")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="links")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    sns.publish(TopicArn=topic, Message="hi")
    msgs = []
    deadline = time.monotonic() + 10
    while not msgs and time.monotonic() < deadline:
        msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    assert msgs, "no delivery"
    unsubscribe_url = _json.loads(msgs[0]["Body"])["UnsubscribeURL"]
    r = requests.get(f"{server.endpoint}/?Action=ListTopics", timeout=10)
    assert r.status_code == 403
    r = requests.get(unsubscribe_url, timeout=10)
    assert r.status_code == 200, r.text
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
