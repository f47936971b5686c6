"""kill -9 with asynchronous invocations accepted (202) but not yet run: after a restart on the
same data directory every one of them still runs (at least once), and the functions are there."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from sqs_helpers import REGION, client_config
from test_lambda import ROLE, zip_of

pytestmark = pytest.mark.stratus_only

SLOW_SENDER = zip_of({"slow.py": """
import json, os, time, boto3
def handler(event, context):
    time.sleep(1.0)
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=os.environ["SINK"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": event["n"]}))
    return {"ok": True}
"""})

N = 20


def clients(endpoint):
    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test",
              config=client_config(read_timeout=30))
    return boto3.session.Session().client("lambda", **kw), boto3.session.Session().client("sqs", **kw)


def test_kill9_keeps_accepted_async_invocations(server_factory):
    srv = server_factory()
    lam, sqs = clients(srv.endpoint)
    sink = sqs.create_queue(QueueName="crash-sink")["QueueUrl"]
    lam.create_function(FunctionName="slow", Runtime="python3.11", Role=ROLE, Handler="slow.handler",
                        Code={"ZipFile": SLOW_SENDER}, Timeout=60,
                        Environment={"Variables": {"SINK": "crash-sink"}})
    lam.get_waiter("function_active_v2").wait(FunctionName="slow", WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    for n in range(N):
        r = lam.invoke(FunctionName="slow", InvocationType="Event", Payload=json.dumps({"n": n}).encode())
        assert r["StatusCode"] == 202
    srv.kill()  # the first handlers are still sleeping: nothing (or little) has been delivered

    srv.start(timeout=15)
    lam, sqs = clients(srv.endpoint)
    assert lam.get_function(FunctionName="slow")["Configuration"]["State"] == "Active"
    seen = set()
    # Twenty Python functions importing boto3 at once on a busy two-core machine can take a
    # while: the timeout and the deadline leave room for that, so only a lost event fails.
    deadline = time.monotonic() + 120
    while len(seen) < N and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=sink, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            seen.add(json.loads(m["Body"])["n"])
            sqs.delete_message(QueueUrl=sink, ReceiptHandle=m["ReceiptHandle"])
    assert seen == set(range(N)), f"missing after restart: {sorted(set(range(N)) - seen)}"
