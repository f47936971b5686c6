"""Kinesis event source mappings end to end: a Python function receives the stream's records in
the event shape AWS documents (Lambda developer guide, "Using Lambda with Kinesis": `kinesis`
with kinesisSchemaVersion/partitionKey/sequenceNumber/data/approximateArrivalTimestamp,
eventSource `aws:kinesis`, eventVersion `1.0`, eventID `shardId-…:sequence`, eventName
`aws:kinesis:record`, invokeIdentityArn = the function's role, awsRegion, eventSourceARN), in
order per shard and across resharding (children after their parents), with FilterCriteria on
the decoded `data`, ReportBatchItemFailures, on-failure destinations with `KinesisBatchInfo`,
AT_TIMESTAMP, and an enhanced fan-out consumer ARN as the event source."""

from __future__ import annotations

import base64
import json
import math
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, client_config, unique
from test_lambda import ROLE, create, zip_of

pytestmark = pytest.mark.stratus_only

# Forwards each event to the queue in SINK; fails a batch holding a record whose data is
# {"fail": true} (or reports it, with PARTIAL set).
FORWARD = zip_of({"app.py": """
import base64, json, os, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    bad = [r["kinesis"]["sequenceNumber"] for r in event["Records"]
           if json.loads(base64.b64decode(r["kinesis"]["data"])).get("fail")]
    if bad and os.environ.get("PARTIAL"):
        return {"batchItemFailures": [{"itemIdentifier": bad[0]}]}
    if bad:
        raise Exception("refused")
    sqs.send_message(QueueUrl=os.environ["SINK"], MessageBody=json.dumps(event))
    return {}
"""})


@pytest.fixture(scope="module")
def c(target):
    kw = dict(endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    s = boto3.session.Session()

    class Clients:
        kinesis = s.client("kinesis", **kw)
        lam = s.client("lambda", config=client_config(read_timeout=60), **kw)
        sqs = s.client("sqs", **kw)
    return Clients


def new_stream(c, shards=1) -> tuple[str, str]:
    name = unique("ks")
    c.kinesis.create_stream(StreamName=name, ShardCount=shards)
    c.kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2})
    return name, c.kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]


def queue(c) -> tuple[str, str]:
    url = c.sqs.create_queue(QueueName=unique("q"))["QueueUrl"]
    return url, c.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def put(c, stream, key, value):
    return c.kinesis.put_record(StreamName=stream, PartitionKey=key, Data=json.dumps(value).encode())


def records(c, sink, want: int, timeout=30) -> list:
    got: list = []
    deadline = time.time() + timeout
    while len(got) < want and time.time() < deadline:
        for m in c.sqs.receive_message(QueueUrl=sink, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", []):
            c.sqs.delete_message(QueueUrl=sink, ReceiptHandle=m["ReceiptHandle"])
            got += json.loads(m["Body"])["Records"]
    return got


def data(r) -> dict:
    return json.loads(base64.b64decode(r["kinesis"]["data"]))


def test_records_reach_the_function_in_the_documented_shape(c):
    sink, _ = queue(c)
    name, _ = create(c.lam, FORWARD, Timeout=30, Environment={"Variables": {"SINK": sink}})
    stream, arn = new_stream(c)
    first = put(c, stream, "a", {"n": 0})
    m = c.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
                                          BatchSize=100)
    assert m["StartingPosition"] == "TRIM_HORIZON" and m["EventSourceArn"] == arn
    for n in range(1, 5):
        put(c, stream, "a", {"n": n})
    got = records(c, sink, 5)
    assert [data(r)["n"] for r in got] == [0, 1, 2, 3, 4]
    r = got[0]
    assert r["eventSource"] == "aws:kinesis" and r["eventVersion"] == "1.0"
    assert r["eventName"] == "aws:kinesis:record" and r["awsRegion"] == REGION
    assert r["eventSourceARN"] == arn and r["invokeIdentityArn"] == ROLE
    assert r["eventID"] == f"{first['ShardId']}:{first['SequenceNumber']}"
    k = r["kinesis"]
    assert k["kinesisSchemaVersion"] == "1.0" and k["partitionKey"] == "a"
    assert k["sequenceNumber"] == first["SequenceNumber"]
    assert isinstance(k["approximateArrivalTimestamp"], float) and abs(k["approximateArrivalTimestamp"] - time.time()) < 60
    c.lam.delete_event_source_mapping(UUID=m["UUID"])


def test_order_per_key_is_kept_across_a_split_and_a_merge(c):
    sink, _ = queue(c)
    name, _ = create(c.lam, FORWARD, Timeout=30, Environment={"Variables": {"SINK": sink}})
    stream, arn = new_stream(c)
    m = c.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
                                          BatchSize=7)
    keys = [f"key-{i}" for i in range(6)]
    sent = []
    n = 0

    def burst(count):
        nonlocal n
        for _ in range(count):
            key = keys[n % len(keys)]
            put(c, stream, key, {"k": key, "n": n})
            sent.append((key, n))
            n += 1

    burst(20)
    c.kinesis.split_shard(StreamName=stream, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2 ** 127))
    burst(20)
    c.kinesis.merge_shards(StreamName=stream, ShardToMerge="shardId-000000000001",
                           AdjacentShardToMerge="shardId-000000000002")
    burst(20)
    got = [(data(r)["k"], data(r)["n"]) for r in records(c, sink, len(sent), timeout=60)]
    first = list(dict.fromkeys(got))
    assert set(first) == set(sent)
    for key in keys:
        mine = [x for k, x in first if k == key]
        assert mine == sorted(mine), f"{key} out of order: {mine}"
    c.lam.delete_event_source_mapping(UUID=m["UUID"])


def test_filters_match_the_decoded_data(c):
    sink, _ = queue(c)
    name, _ = create(c.lam, FORWARD, Timeout=30, Environment={"Variables": {"SINK": sink}})
    stream, arn = new_stream(c)
    m = c.lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON", BatchSize=100,
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"data": {"kind": ["order"]}})}]})
    put(c, stream, "a", {"kind": "refund", "n": 1})
    put(c, stream, "a", {"kind": "order", "n": 2})
    c.kinesis.put_record(StreamName=stream, PartitionKey="a", Data=b"not json")
    put(c, stream, "a", {"kind": "order", "n": 3})
    got = records(c, sink, 2)
    time.sleep(1)
    got += records(c, sink, 1, timeout=1)
    assert [data(r)["n"] for r in got] == [2, 3]
    c.lam.delete_event_source_mapping(UUID=m["UUID"])


def test_partial_failures_and_the_on_failure_destination(c):
    sink, _ = queue(c)
    failures, failures_arn = queue(c)
    name, _ = create(c.lam, FORWARD, Timeout=30, Environment={"Variables": {"SINK": sink, "PARTIAL": "1"}})
    stream, arn = new_stream(c)
    m = c.lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON", BatchSize=10,
        MaximumBatchingWindowInSeconds=1, FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": failures_arn}})
    assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    put(c, stream, "a", {"n": 1})
    bad = put(c, stream, "a", {"n": 2, "fail": True})
    msgs = c.sqs.receive_message(QueueUrl=failures, WaitTimeSeconds=20).get("Messages", [])
    assert msgs, "no failure record"
    info = json.loads(msgs[0]["Body"])
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    batch = info["KinesisBatchInfo"]
    assert batch["streamArn"] == arn and batch["shardId"] == bad["ShardId"]
    assert batch["startSequenceNumber"] == bad["SequenceNumber"] and batch["batchSize"] == 1
    # The shard moved on: later records still arrive.
    put(c, stream, "a", {"n": 3})
    got = [data(r)["n"] for r in records(c, sink, 1, timeout=20)]
    assert 3 in got
    c.lam.delete_event_source_mapping(UUID=m["UUID"])


def test_at_timestamp_and_a_consumer_as_the_source(c):
    sink, _ = queue(c)
    name, _ = create(c.lam, FORWARD, Timeout=30, Environment={"Variables": {"SINK": sink}})
    stream, arn = new_stream(c)
    put(c, stream, "a", {"n": 1})
    # boto3 sends the timestamp in whole seconds: the second record goes in after the next one.
    start = math.floor(time.time()) + 1
    time.sleep(start - time.time() + 0.05)
    put(c, stream, "a", {"n": 2})
    m = c.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="AT_TIMESTAMP",
                                          StartingPositionTimestamp=start, BatchSize=10)
    assert [data(r)["n"] for r in records(c, sink, 1)] == [2]
    c.lam.delete_event_source_mapping(UUID=m["UUID"])

    consumer = c.kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="efo")["Consumer"]["ConsumerARN"]
    m = c.lam.create_event_source_mapping(EventSourceArn=consumer, FunctionName=name,
                                          StartingPosition="LATEST", BatchSize=10)
    assert m["EventSourceArn"] == consumer
    time.sleep(1.5)  # the poller starts at the tip
    put(c, stream, "a", {"n": 3})
    assert [data(r)["n"] for r in records(c, sink, 1)] == [3]
    c.lam.delete_event_source_mapping(UUID=m["UUID"])


# Sums `n` per window; the final invocation of each window reports the total.
WINDOWED = zip_of({"app.py": """
import base64, json, os, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    state = dict(event["state"])
    for r in event["Records"]:
        state["sum"] = state.get("sum", 0) + json.loads(base64.b64decode(r["kinesis"]["data"]))["n"]
        state["count"] = state.get("count", 0) + 1
    if event["isFinalInvokeForWindow"]:
        sqs.send_message(QueueUrl=os.environ["SINK"], MessageBody=json.dumps(
            {"window": event["window"], "state": event["state"], "records": len(event["Records"]),
             "shardId": event["shardId"], "eventSourceARN": event["eventSourceARN"]}))
    return {"state": state}
"""})


def test_tumbling_windows_carry_state_and_end_with_a_final_invocation(c):
    sink, _ = queue(c)
    name, _ = create(c.lam, WINDOWED, Timeout=30, Environment={"Variables": {"SINK": sink}})
    stream, arn = new_stream(c)
    m = c.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
                                          BatchSize=2, TumblingWindowInSeconds=2)
    assert m["TumblingWindowInSeconds"] == 2
    for n in range(1, 7):
        put(c, stream, "a", {"n": n})
    finals = []
    deadline = time.time() + 30
    while sum(f["state"].get("count", 0) for f in finals) < 6 and time.time() < deadline:
        for msg in c.sqs.receive_message(QueueUrl=sink, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", []):
            c.sqs.delete_message(QueueUrl=sink, ReceiptHandle=msg["ReceiptHandle"])
            finals.append(json.loads(msg["Body"]))
    # Every record counted once, in the state the final invocations hand over.
    assert sum(f["state"]["sum"] for f in finals) == 21 and sum(f["state"]["count"] for f in finals) == 6
    for f in finals:
        start, end = (f["window"][k] for k in ("start", "end"))
        assert start.endswith("Z") and end > start
        assert f["records"] == 0 and f["shardId"] == "shardId-000000000000" and f["eventSourceARN"] == arn
    c.lam.delete_event_source_mapping(UUID=m["UUID"])
    with pytest.raises(ClientError) as e:
        c.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="LATEST",
                                          TumblingWindowInSeconds=901)
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_parallelization_keeps_order_per_key_and_bisect_isolates_a_bad_record(c):
    sink, _ = queue(c)
    failures, failures_arn = queue(c)
    name, _ = create(c.lam, FORWARD, Timeout=30, Environment={"Variables": {"SINK": sink}})
    stream, arn = new_stream(c)
    m = c.lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON", BatchSize=20,
        MaximumBatchingWindowInSeconds=1, ParallelizationFactor=4, BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": failures_arn}})
    assert m["ParallelizationFactor"] == 4 and m["BisectBatchOnFunctionError"] is True
    keys = [f"key-{i}" for i in range(8)]
    sent = []
    for n in range(40):
        key = keys[n % len(keys)]
        value = {"k": key, "n": n}
        if n == 13:
            value["fail"] = True
        put(c, stream, key, value)
        if n != 13:
            sent.append((key, n))
    got = [(data(r)["k"], data(r)["n"]) for r in records(c, sink, len(sent), timeout=60)]
    first = list(dict.fromkeys(got))
    assert set(first) == set(sent)
    for key in keys:
        mine = [x for k, x in first if k == key]
        assert mine == sorted(mine), f"{key} out of order: {mine}"
    # Bisection narrowed the failure down to the one bad record.
    msgs = c.sqs.receive_message(QueueUrl=failures, WaitTimeSeconds=20).get("Messages", [])
    assert msgs, "no failure record"
    info = json.loads(msgs[0]["Body"])["KinesisBatchInfo"]
    assert info["batchSize"] == 1
    c.lam.delete_event_source_mapping(UUID=m["UUID"])
