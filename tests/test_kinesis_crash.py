"""kill -9 under PutRecords load while a Kinesis event source mapping is processing: after a
restart on the same data directory every acknowledged record is readable, in order per shard,
with the sequence number it was acknowledged with, and the mapping resumes after its last
checkpoint without skipping a record (delivery is at least once, in order per partition key)."""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest

from sqs_helpers import REGION, client_config
from test_lambda import ROLE, zip_of

pytestmark = pytest.mark.stratus_only

BATCHES_PER_WRITER = 60
WRITERS = 3
PER_BATCH = 20

# Sends the (key, n) pairs of each batch to the queue named in its environment.
FORWARD = zip_of({"app.py": """
import base64, json, os, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    pairs = [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in event["Records"]]
    sqs.send_message(QueueUrl=os.environ["SINK"], MessageBody=json.dumps(pairs))
    return {}
"""})


def clients(endpoint):
    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test",
              config=client_config(read_timeout=30, max_pool_connections=16))
    s = boto3.session.Session()
    return s.client("kinesis", **kw), s.client("lambda", **kw), s.client("sqs", **kw)


def read_stream(kinesis, name) -> dict:
    """Every record of every shard: sequence number -> (shard, key, n), in shard order."""
    out = {}
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            page = kinesis.get_records(ShardIterator=it, Limit=1000)
            for r in page["Records"]:
                out[r["SequenceNumber"]] = (shard["ShardId"], *json.loads(r["Data"]))
            if not page["Records"]:
                break
            it = page.get("NextShardIterator")
    return out


def in_order_per_key(pairs) -> bool:
    last: dict = {}
    for key, n in pairs:
        if n < last.get(key, -1):
            return False
        last[key] = n
    return True


def test_kill9_under_put_records_load(server_factory):
    srv = server_factory()
    kinesis, lam, sqs = clients(srv.endpoint)
    sink = sqs.create_queue(QueueName="kinesis-sink")["QueueUrl"]
    lam.create_function(FunctionName="fwd", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": FORWARD}, Timeout=30, Environment={"Variables": {"SINK": sink}})
    lam.get_waiter("function_active_v2").wait(FunctionName="fwd", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    kinesis.create_stream(StreamName="crash", ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName="crash", WaiterConfig={"Delay": 0.2})
    arn = kinesis.describe_stream_summary(StreamName="crash")["StreamDescriptionSummary"]["StreamARN"]
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="fwd", StartingPosition="TRIM_HORIZON",
                                    BatchSize=50)
    acked: dict = {}  # sequence number -> (shard, key, n)
    lock = threading.Lock()

    def writer(w: int):
        for b in range(BATCHES_PER_WRITER):
            batch = [[f"k{w}-{i % 4}", b * PER_BATCH + i] for i in range(PER_BATCH)]
            try:
                out = kinesis.put_records(StreamName="crash", Records=[
                    {"Data": json.dumps(p).encode(), "PartitionKey": p[0]} for p in batch])
            except Exception:  # the kill cut this request off
                return
            assert out["FailedRecordCount"] == 0
            with lock:
                for p, r in zip(batch, out["Records"]):
                    acked[r["SequenceNumber"]] = (r["ShardId"], *p)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acked) < WRITERS * BATCHES_PER_WRITER * PER_BATCH // 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    srv.kill()  # writes and the mapping's batches are in flight
    for t in threads:
        t.join(timeout=30)
    assert len(acked) >= WRITERS * BATCHES_PER_WRITER * PER_BATCH // 3, "too few writes before the kill"

    srv.start(timeout=15)
    kinesis, lam, sqs = clients(srv.endpoint)
    stored = read_stream(kinesis, "crash")
    # Every acknowledged record, with the sequence number and shard it was acknowledged with.
    missing = [s for s, v in acked.items() if stored.get(s) != v]
    assert not missing, f"acknowledged records missing or changed: {missing[:5]}"
    # Each shard reads back in sequence order, and each key's records in the order written.
    for shard in {v[0] for v in stored.values()}:
        seqs = [s for s, v in stored.items() if v[0] == shard]
        assert seqs == sorted(seqs, key=int)
    assert in_order_per_key([(k, n) for _, k, n in stored.values()])
    # The function: every stored record at least once, in order per key (redelivered batches
    # repeat a suffix, so the first delivery of each pair keeps the order).
    want = {(k, n) for _, k, n in stored.values()}
    delivered: list = []
    deadline = time.monotonic() + 90
    while not want <= set(delivered) and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=sink, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            delivered += [tuple(p) for p in json.loads(m["Body"])]
            sqs.delete_message(QueueUrl=sink, ReceiptHandle=m["ReceiptHandle"])
    assert want <= set(delivered), f"records never delivered: {sorted(want - set(delivered))[:10]}"
    assert in_order_per_key(list(dict.fromkeys(delivered)))
