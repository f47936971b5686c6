"""Kinesis over CBOR (`application/x-amz-cbor-1.1`), the wire of the AWS SDK for Java and the
KPL/KCL, driven by an independent CBOR client (cbor_client.py: requests encoded by the cbor2
library, responses decoded by the client): blobs are byte strings both ways, timestamps are tag
1 with epoch milliseconds (as the Java SDKs write and read them), errors are CBOR maps with
`__type` and `message` and the JSON protocol's statuses; and SubscribeToShard's event stream
(`application/vnd.amazon.eventstream`) read by boto3 over HTTP/1.1."""

from __future__ import annotations

import threading
import time

import boto3
import cbor2
import pytest

import cbor_client
from sqs_helpers import REGION, unique

pytestmark = pytest.mark.stratus_only


@pytest.fixture(scope="module")
def kinesis(target):
    return boto3.session.Session().client("kinesis", endpoint_url=target.endpoint, region_name=REGION,
                                          aws_access_key_id="test", aws_secret_access_key="test")


def test_records_round_trip_over_cbor(target):
    e = target.endpoint
    name = unique("cbor")
    status, body, headers = cbor_client.call(e, "CreateStream", {"StreamName": name, "ShardCount": 2})
    assert status == 200 and headers["Content-Type"] == "application/x-amz-cbor-1.1"
    payloads = [bytes(range(256)), b"", "ünïcødé".encode()]
    before_ms = int(time.time() * 1000) - 1000
    for n, p in enumerate(payloads):
        status, out, _ = cbor_client.call(e, "PutRecord", {"StreamName": name, "Data": p, "PartitionKey": "k"})
        assert status == 200 and out["ShardId"].startswith("shardId-") and len(out["SequenceNumber"]) == 56
    status, out, _ = cbor_client.call(e, "PutRecords", {"StreamName": name, "Records": [
        {"Data": b"batch-%d" % i, "PartitionKey": f"p{i}"} for i in range(10)]})
    assert status == 200 and out["FailedRecordCount"] == 0 and len(out["Records"]) == 10
    shard = [r["ShardId"] for r in out["Records"]][0]
    status, d, _ = cbor_client.call(e, "DescribeStream", {"StreamName": name})
    created = d["StreamDescription"]["StreamCreationTimestamp"]
    assert isinstance(created, cbor_client.Tag) and created.tag == 1
    assert isinstance(created.value, int) and abs(created.value - time.time() * 1000) < 60_000  # milliseconds

    # Read the key "k"'s shard from the start: the payloads come back as byte strings.
    k_shard = cbor_client.call(e, "PutRecord", {"StreamName": name, "Data": b"last", "PartitionKey": "k"})[1]["ShardId"]
    status, it, _ = cbor_client.call(e, "GetShardIterator", {"StreamName": name, "ShardId": k_shard,
                                                            "ShardIteratorType": "TRIM_HORIZON"})
    status, got, _ = cbor_client.call(e, "GetRecords", {"ShardIterator": it["ShardIterator"]})
    mine = [r for r in got["Records"] if r["PartitionKey"] == "k"]
    assert [r["Data"] for r in mine] == payloads + [b"last"]
    arrival = mine[0]["ApproximateArrivalTimestamp"]
    assert isinstance(arrival, cbor_client.Tag) and arrival.tag == 1 and arrival.value >= before_ms
    assert isinstance(got["MillisBehindLatest"], int) and got["NextShardIterator"]

    # AT_TIMESTAMP with a tag-1 millisecond timestamp, as the Java SDK sends it.
    last_arrival = mine[-1]["ApproximateArrivalTimestamp"].value
    status, it, _ = cbor_client.call(e, "GetShardIterator", {
        "StreamName": name, "ShardId": k_shard, "ShardIteratorType": "AT_TIMESTAMP",
        "Timestamp": cbor2.CBORTag(1, last_arrival)})
    assert status == 200, it
    status, got, _ = cbor_client.call(e, "GetRecords", {"ShardIterator": it["ShardIterator"]})
    assert got["Records"] and got["Records"][0]["ApproximateArrivalTimestamp"].value >= last_arrival
    assert shard


def test_errors_over_cbor(target):
    e = target.endpoint
    status, body, headers = cbor_client.call(e, "DescribeStream", {"StreamName": unique("missing")})
    assert status == 400 and headers["Content-Type"] == "application/x-amz-cbor-1.1"
    assert body["__type"].endswith("ResourceNotFoundException") and "not found" in body["message"]
    # A body that is not CBOR.
    status, body, _ = cbor_client.call(e, "ListStreams", {}, raw=b"\xbf\x61")
    assert status == 400 and body["__type"].endswith("SerializationException")
    # The server keeps serving.
    status, body, _ = cbor_client.call(e, "ListStreams", {})
    assert status == 200 and "StreamNames" in body


def test_subscribe_to_shard_pushes_records(kinesis):
    name = unique("efo")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2})
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    first = kinesis.put_record(StreamName=name, PartitionKey="a", Data=b"before")
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="reader")["Consumer"]
    assert consumer["ConsumerStatus"] == "CREATING"
    assert consumer["ConsumerARN"].startswith(f"{arn}/consumer/reader:")
    # Not yet ACTIVE: AWS refuses the subscription.
    with pytest.raises(kinesis.exceptions.ResourceInUseException):
        kinesis.subscribe_to_shard(ConsumerARN=consumer["ConsumerARN"], ShardId="shardId-000000000000",
                                   StartingPosition={"Type": "TRIM_HORIZON"})
    deadline = time.time() + 10
    while kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])[
            "ConsumerDescription"]["ConsumerStatus"] != "ACTIVE":
        assert time.time() < deadline
        time.sleep(0.05)

    sub = kinesis.subscribe_to_shard(ConsumerARN=consumer["ConsumerARN"], ShardId="shardId-000000000000",
                                     StartingPosition={"Type": "TRIM_HORIZON"})
    events = iter(sub["EventStream"])
    threading.Timer(0.3, lambda: kinesis.put_record(StreamName=name, PartitionKey="a", Data=b"after")).start()
    seen = []
    continuation = None
    deadline = time.time() + 20
    while len(seen) < 2 and time.time() < deadline:
        event = next(events)["SubscribeToShardEvent"]
        seen += [r["Data"] for r in event["Records"]]
        continuation = event["ContinuationSequenceNumber"]
    sub["EventStream"].close()
    assert seen == [b"before", b"after"]
    # A new subscription continues after the continuation sequence number.
    kinesis.put_record(StreamName=name, PartitionKey="a", Data=b"third")
    sub = kinesis.subscribe_to_shard(ConsumerARN=consumer["ConsumerARN"], ShardId="shardId-000000000000",
                                     StartingPosition={"Type": "AFTER_SEQUENCE_NUMBER",
                                                       "SequenceNumber": continuation})
    event = next(iter(sub["EventStream"]))["SubscribeToShardEvent"]
    sub["EventStream"].close()
    assert [r["Data"] for r in event["Records"]] == [b"third"]
    assert first["SequenceNumber"] < continuation


def test_subscription_to_a_closed_shard_ends_with_its_children(kinesis):
    name = unique("efo")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2})
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    kinesis.put_record(StreamName=name, PartitionKey="a", Data=b"x")
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2 ** 127))
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]
    time.sleep(0.5)
    sub = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000000",
                                     StartingPosition={"Type": "TRIM_HORIZON"})
    events = [e["SubscribeToShardEvent"] for e in sub["EventStream"]]  # ends by itself
    assert [r["Data"] for e in events for r in e["Records"]] == [b"x"]
    assert sorted(c["ShardId"] for c in events[-1]["ChildShards"]) == ["shardId-000000000001", "shardId-000000000002"]
    assert "ContinuationSequenceNumber" not in events[-1] or events[-1]["ContinuationSequenceNumber"] is None


def test_javascript_sdk_over_http2(target):
    """The AWS SDK for JavaScript v3's Kinesis client speaks HTTP/2 (h2c here) for every
    operation, SubscribeToShard included."""
    import os
    import shutil
    import subprocess
    from pathlib import Path
    node_dir = Path(__file__).parent / "node"
    if shutil.which("node") is None or not (node_dir / "node_modules" / "@aws-sdk" / "client-kinesis").exists():
        pytest.skip("node or tests/node/node_modules is missing (the test command installs them)")
    out = subprocess.run(["node", str(node_dir / "kinesis_client.mjs"), target.endpoint, unique("js")],
                         capture_output=True, text=True, timeout=60, cwd=node_dir, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    import json
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r == {"status": "ACTIVE", "failed": 0, "read": ["a", "b", "c"], "arrival": True,
                 "pushed": ["a", "b", "c"]}
