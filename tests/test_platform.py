"""Stratus platform behaviour: health, reset, startup, durability across a graceful restart."""

import json
import time

import pytest
import requests
from botocore.exceptions import ClientError

from sqs_helpers import error_code, queue_attrs, receive_all

pytestmark = pytest.mark.stratus_only


def test_health(target):
    r = requests.get(f"{target.endpoint}/_stratus/health", timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["status"] == "ready"
    assert isinstance(body["version"], str) and body["version"]
    assert isinstance(body["services"], list) and "sqs" in body["services"]


def test_reset_wipes_everything(sqs, target):
    url = sqs.create_queue(QueueName="to-be-reset", tags={"a": "b"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="gone soon")
    r = requests.post(f"{target.endpoint}/_stratus/reset", timeout=10)
    assert r.status_code == 200
    assert sqs.list_queues().get("QueueUrls", []) == []
    with pytest.raises(ClientError) as e:
        sqs.get_queue_url(QueueName="to-be-reset")
    assert error_code(e.value) == "AWS.SimpleQueueService.NonExistentQueue"
    # the name is free again right away, and the new queue is empty
    url2 = sqs.create_queue(QueueName="to-be-reset")["QueueUrl"]
    assert url2 == url
    assert sqs.receive_message(QueueUrl=url2).get("Messages", []) == []
    assert sqs.list_queue_tags(QueueUrl=url2).get("Tags", {}) == {}


def test_starts_quickly(server_factory):
    srv = server_factory()
    assert srv.last_start_seconds < 5, f"took {srv.last_start_seconds:.2f}s to become ready"


def test_queue_urls_carry_the_server_port(server_factory):
    srv = server_factory()
    url = srv.sqs().create_queue(QueueName="porty")["QueueUrl"]
    assert url == f"http://localhost:{srv.port}/000000000000/porty"


def test_data_survives_graceful_restart(server_factory):
    srv = server_factory()
    sqs = srv.sqs()
    dlq = sqs.create_queue(QueueName="durable-dlq")["QueueUrl"]
    dlq_arn = queue_attrs(sqs, dlq, "QueueArn")["QueueArn"]
    std = sqs.create_queue(QueueName="durable", Attributes={
        "VisibilityTimeout": "2", "DelaySeconds": "0", "MaximumMessageSize": "4096",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})},
        tags={"team": "core"})["QueueUrl"]
    fifo = sqs.create_queue(QueueName="durable.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sqs.add_permission(QueueUrl=std, Label="p", AWSAccountIds=["111111111111"], Actions=["SendMessage"])
    attrs_before = queue_attrs(sqs, std)
    attrs = {"k": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}}
    sent = {sqs.send_message(QueueUrl=std, MessageBody=f"std-{i}", MessageAttributes=attrs)["MessageId"]
            for i in range(20)}
    for i in range(10):
        sqs.send_message(QueueUrl=fifo, MessageBody=f"fifo-{i}", MessageGroupId="g", MessageDeduplicationId=f"d{i}")
    in_flight = sqs.receive_message(QueueUrl=std, MaxNumberOfMessages=3, VisibilityTimeout=2)["Messages"]
    assert len(in_flight) == 3

    assert srv.stop(timeout=10) == 0, f"exit code after SIGTERM\n{srv.stderr_tail()}"
    srv.start(timeout=10)
    sqs = srv.sqs()

    assert sorted(sqs.list_queues()["QueueUrls"]) == sorted([dlq, std, fifo])
    attrs_after = queue_attrs(sqs, std)
    for key in ("QueueArn", "VisibilityTimeout", "MaximumMessageSize", "CreatedTimestamp", "RedrivePolicy",
                "Policy"):
        assert attrs_after[key] == attrs_before[key], key
    assert sqs.list_queue_tags(QueueUrl=std)["Tags"] == {"team": "core"}
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [std]

    time.sleep(2.2)  # let the in-flight messages become visible again
    got = receive_all(sqs, std, expected=20, MessageAttributeNames=["All"])
    assert {m["MessageId"] for m in got} == sent
    assert all(m["MessageAttributes"] == attrs for m in got)

    fifo_bodies = [m["Body"] for m in receive_all(sqs, fifo, expected=10)]
    assert fifo_bodies == [f"fifo-{i}" for i in range(10)]
    # the deduplication window survives the restart too
    sqs.send_message(QueueUrl=fifo, MessageBody="again", MessageGroupId="g", MessageDeduplicationId="d0")
    assert sqs.receive_message(QueueUrl=fifo, WaitTimeSeconds=1).get("Messages", []) == []


def test_in_memory_mode_forgets_on_restart(server_factory):
    srv = server_factory(in_memory=True)
    srv.sqs().create_queue(QueueName="ephemeral")
    assert srv.stop(timeout=10) == 0
    srv.start(timeout=10)
    assert srv.sqs().list_queues().get("QueueUrls", []) == []


def test_second_server_cannot_share_a_data_dir_or_a_port(server_factory, tmp_path):
    first = server_factory()
    import subprocess
    from sqs_helpers import free_port, stratus_binary
    same_dir = subprocess.run([str(stratus_binary()), "serve", "--port", str(free_port()), "--data-dir",
                               str(first.data_dir)], capture_output=True, text=True, timeout=20)
    assert same_dir.returncode != 0 and "in use by another Stratus process" in same_dir.stderr
    other = tmp_path / "other"
    same_port = subprocess.run([str(stratus_binary()), "serve", "--port", str(first.port), "--data-dir", str(other)],
                               capture_output=True, text=True, timeout=20)
    assert same_port.returncode != 0 and "cannot listen" in same_port.stderr
    assert first.alive()
