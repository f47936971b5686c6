"""kill -9 while DynamoDB writes stream to a function: after a restart on the same data
directory every acknowledged write is in the stream exactly once and in order per item, and the
stream event source mapping resumes after its last checkpoint, delivering every record of an
acknowledged write to the function (at least once) in order per item."""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest

from sqs_helpers import REGION, client_config
from test_lambda import ROLE, zip_of

pytestmark = pytest.mark.stratus_only

WRITES_PER_ITEM = 150
ITEMS = 4

# Sends the (item, value) pairs of each batch to the queue named in its environment.
FORWARD = zip_of({"app.py": """
import json, os, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    pairs = [[r["dynamodb"]["Keys"]["pk"]["S"], int(r["dynamodb"]["NewImage"]["v"]["N"])] for r in event["Records"]]
    sqs.send_message(QueueUrl=os.environ["SINK"], MessageBody=json.dumps(pairs))
    return {}
"""})


def clients(endpoint):
    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test",
              config=client_config(read_timeout=30, max_pool_connections=16))
    s = boto3.session.Session()
    return s.client("dynamodb", **kw), s.client("dynamodbstreams", **kw), s.client("lambda", **kw), s.client("sqs", **kw)


def stream_pairs(streams, arn) -> list:
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    out = []
    while True:
        page = streams.get_records(ShardIterator=it, Limit=1000)
        out += [(r["dynamodb"]["Keys"]["pk"]["S"], int(r["dynamodb"]["NewImage"]["v"]["N"])) for r in page["Records"]]
        if not page["Records"]:
            return out
        it = page["NextShardIterator"]


def in_order_per_item(pairs) -> bool:
    last: dict = {}
    for item, v in pairs:
        if v < last.get(item, -1):
            return False
        last[item] = v
    return True


def test_kill9_while_a_stream_mapping_is_processing(server_factory):
    srv = server_factory()
    ddb, streams, lam, sqs = clients(srv.endpoint)
    sink = sqs.create_queue(QueueName="stream-sink")["QueueUrl"]
    lam.create_function(FunctionName="fwd", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": FORWARD}, Timeout=30, Environment={"Variables": {"SINK": sink}})
    lam.get_waiter("function_active_v2").wait(FunctionName="fwd", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    ddb.create_table(TableName="crash", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    arn = ddb.describe_table(TableName="crash")["Table"]["LatestStreamArn"]
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="fwd", StartingPosition="TRIM_HORIZON",
                                    BatchSize=10)
    acked: list = []
    lock = threading.Lock()

    def writer(item: str):
        for v in range(WRITES_PER_ITEM):
            try:
                ddb.put_item(TableName="crash", Item={"pk": {"S": item}, "v": {"N": str(v)}})
            except Exception:  # the kill cut this request off
                return
            with lock:
                acked.append((item, v))

    threads = [threading.Thread(target=writer, args=(f"i{n}",)) for n in range(ITEMS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acked) < ITEMS * WRITES_PER_ITEM // 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    srv.kill()  # writes and the mapping's batches are in flight
    for t in threads:
        t.join(timeout=30)
    assert len(acked) >= ITEMS * WRITES_PER_ITEM // 2, "too few writes before the kill"

    srv.start(timeout=15)
    ddb, streams, lam, sqs = clients(srv.endpoint)
    # The stream: every acknowledged write exactly once, in order per item.
    recorded = stream_pairs(streams, arn)
    assert len(recorded) == len(set(recorded)), "a write is in the stream twice"
    assert set(acked) <= set(recorded), f"acknowledged writes missing from the stream: {sorted(set(acked) - set(recorded))[:10]}"
    assert in_order_per_item(recorded)
    # The function: every recorded write, at least once, in order per item (redelivered batches
    # repeat a suffix, so the first delivery of each pair keeps the order).
    delivered: list = []
    deadline = time.monotonic() + 60
    while not set(recorded) <= set(delivered) and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=sink, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            delivered += [tuple(p) for p in json.loads(m["Body"])]
            sqs.delete_message(QueueUrl=sink, ReceiptHandle=m["ReceiptHandle"])
    assert set(recorded) <= set(delivered), f"records never delivered: {sorted(set(recorded) - set(delivered))[:10]}"
    first_seen = list(dict.fromkeys(delivered))
    assert in_order_per_item(first_seen)
