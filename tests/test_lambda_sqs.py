"""SQS as a Lambda event source: mappings through the API, and delivery to a real Python
function that records what it receives into another queue."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from sqs_helpers import unique
from test_lambda import ROLE, create, lam, sqs_client, zip_of  # noqa: F401  (fixtures)

pytestmark = pytest.mark.stratus_only

RECORDER = zip_of({"rec.py": """
import json, os, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    url = sqs.get_queue_url(QueueName=os.environ["SINK"])["QueueUrl"]
    failures = []
    for r in event["Records"]:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"record": r, "batch": len(event["Records"])}))
        if "bad" in r["body"]:
            failures.append({"itemIdentifier": r["messageId"]})
    if os.environ.get("FAIL_ALL"):
        raise RuntimeError("whole batch fails")
    return {"batchItemFailures": failures}
"""})


def queue(sqs, name=None, **attrs):
    name = name or unique("q")
    url = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attrs.items()})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def drain(sqs, url, want, timeout=15):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def count(sqs, url):
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])


def recorder(lam, sqs, **env):
    sink_url, _ = queue(sqs)
    name, _ = create(lam, RECORDER, handler="rec.handler",
                     Environment={"Variables": {"SINK": sink_url.rsplit("/", 1)[1], **env}})
    return name, sink_url


def test_mapping_lifecycle_and_validation(lam, sqs_client):
    url, arn = queue(sqs_client)
    name, _ = create(lam, RECORDER, handler="rec.handler", Timeout=5)
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=5)
    assert m["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert m["State"] == "Creating" and m["BatchSize"] == 5 and m["EventSourceArn"] == arn
    assert m["FunctionArn"].endswith(f":function:{name}")
    uuid = m["UUID"]
    assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
    assert [x["UUID"] for x in lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]] == [uuid]
    assert [x["UUID"] for x in lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]] == [uuid]
    with pytest.raises(ClientError) as e:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
    assert e.value.response["Error"]["Code"] == "ResourceConflictException"
    up = lam.update_event_source_mapping(UUID=uuid, Enabled=False, BatchSize=8)
    assert up["State"] == "Disabling"
    assert lam.update_event_source_mapping(UUID=uuid, BatchSize=8)["State"] == "Updating"
    got = lam.get_event_source_mapping(UUID=uuid)
    assert (got["State"], got["BatchSize"]) == ("Disabled", 8)
    assert lam.delete_event_source_mapping(UUID=uuid)["State"] == "Deleting"
    with pytest.raises(ClientError) as e:
        lam.get_event_source_mapping(UUID=uuid)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"

    slow, _ = create(lam, RECORDER, handler="rec.handler", Timeout=60)
    for kwargs in (
        {"FunctionName": slow},                                   # visibility 30 s < timeout 60 s
        {"FunctionName": name, "BatchSize": 100},                 # > 10 needs a batching window
        {"FunctionName": name, "FilterCriteria": {"Filters": [{"Pattern": "{not json"}]}},
    ):
        with pytest.raises(ClientError) as e:
            lam.create_event_source_mapping(EventSourceArn=arn, **kwargs)
        assert e.value.response["Error"]["Code"] == "InvalidParameterValueException", kwargs
    with pytest.raises(ClientError) as e:
        lam.create_event_source_mapping(EventSourceArn=arn.replace(arn.rsplit(":", 1)[1], "nope"), FunctionName=name)
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
    fifo_url, fifo_arn = queue(sqs_client, unique("f") + ".fifo", FifoQueue="true")
    with pytest.raises(ClientError) as e:
        lam.create_event_source_mapping(EventSourceArn=fifo_arn, FunctionName=name, BatchSize=20,
                                        MaximumBatchingWindowInSeconds=1)
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_messages_reach_the_function_in_the_sqs_event_shape_and_are_deleted(lam, sqs_client):
    url, arn = queue(sqs_client)
    name, sink = recorder(lam, sqs_client)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=10)
    sent = {}
    for i in range(3):
        r = sqs_client.send_message(QueueUrl=url, MessageBody=f"hello {i}",
                                    MessageAttributes={"n": {"DataType": "Number", "StringValue": str(i)}})
        sent[r["MessageId"]] = f"hello {i}"
    got = drain(sqs_client, sink, 3)
    records = {g["record"]["messageId"]: g["record"] for g in got}
    assert set(records) == set(sent)
    r = next(iter(records.values()))
    assert r["eventSource"] == "aws:sqs" and r["eventSourceARN"] == arn and r["awsRegion"] == "us-east-1"
    assert r["body"] == sent[r["messageId"]]
    assert r["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(r["attributes"])
    assert r["messageAttributes"]["n"]["dataType"] == "Number"
    assert r["messageAttributes"]["n"]["stringValue"] in ("0", "1", "2")
    assert r["md5OfBody"] and r["receiptHandle"]
    deadline = time.monotonic() + 5
    while count(sqs_client, url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert count(sqs_client, url) == 0, "delivered messages are deleted"


def test_partial_batch_failure_and_dead_letter_queue(lam, sqs_client):
    dlq_url, dlq_arn = queue(sqs_client)
    url, arn = queue(sqs_client, VisibilityTimeout=3,
                     RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}))
    name, sink = recorder(lam, sqs_client)
    lam.update_function_configuration(FunctionName=name, Timeout=3)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=10,
                                    FunctionResponseTypes=["ReportBatchItemFailures"])
    sqs_client.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "good 1"}, {"Id": "b", "MessageBody": "bad 1"}, {"Id": "c", "MessageBody": "good 2"}])
    seen = drain(sqs_client, sink, 3)
    assert sorted(g["record"]["body"] for g in seen) == ["bad 1", "good 1", "good 2"]
    # The failed item returns after the visibility timeout and, past maxReceiveCount, goes to the DLQ.
    deadline = time.monotonic() + 20
    dead = []
    while not dead and time.monotonic() < deadline:
        dead = sqs_client.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in dead] == ["bad 1"]
    extra = drain(sqs_client, sink, 10, timeout=2)
    assert all(g["record"]["body"] == "bad 1" for g in extra), "succeeded items are not delivered again"


def test_function_error_returns_the_whole_batch(lam, sqs_client):
    url, arn = queue(sqs_client, VisibilityTimeout=2)
    name, sink = recorder(lam, sqs_client, FAIL_ALL="1")
    lam.update_function_configuration(FunctionName=name, Timeout=2)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
    sqs_client.send_message(QueueUrl=url, MessageBody="retry me")
    first = drain(sqs_client, sink, 2, timeout=15)
    counts = sorted(int(g["record"]["attributes"]["ApproximateReceiveCount"]) for g in first)
    assert counts[:2] == [1, 2], "the failed message is delivered again after its visibility timeout"


def test_filter_criteria_drop_non_matching_messages(lam, sqs_client):
    url, arn = queue(sqs_client)
    name, sink = recorder(lam, sqs_client)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                    FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["keep"]}})}]})
    sqs_client.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "drop", "n": 1}))
    sqs_client.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "keep", "n": 2}))
    sqs_client.send_message(QueueUrl=url, MessageBody="not json at all")
    got = drain(sqs_client, sink, 1)
    assert [json.loads(g["record"]["body"])["n"] for g in got] == [2]
    deadline = time.monotonic() + 5
    while count(sqs_client, url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert count(sqs_client, url) == 0, "filtered-out messages are deleted"
    assert drain(sqs_client, sink, 1, timeout=1.5) == []


def test_disabled_mapping_stops_delivering(lam, sqs_client):
    url, arn = queue(sqs_client)
    name, sink = recorder(lam, sqs_client)
    uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, Enabled=False)["UUID"]
    sqs_client.send_message(QueueUrl=url, MessageBody="waits")
    assert drain(sqs_client, sink, 1, timeout=2) == []
    assert count(sqs_client, url) == 1
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    assert [g["record"]["body"] for g in drain(sqs_client, sink, 1)] == ["waits"]


def test_fifo_order_is_kept_per_group(lam, sqs_client):
    url, arn = queue(sqs_client, unique("order") + ".fifo", FifoQueue="true", ContentBasedDeduplication="true")
    name, sink = recorder(lam, sqs_client)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=3)
    for i in range(6):
        for g in ("a", "b"):
            sqs_client.send_message(QueueUrl=url, MessageBody=f"{g}{i}", MessageGroupId=g)
    got = drain(sqs_client, sink, 12, timeout=20)
    for g in ("a", "b"):
        seq = [x["record"]["body"] for x in got if x["record"]["body"].startswith(g)]
        assert seq == [f"{g}{i}" for i in range(6)], seq
    assert all(x["record"]["attributes"].get("MessageGroupId") in ("a", "b") for x in got)
