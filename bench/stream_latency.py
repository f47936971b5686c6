#!/usr/bin/env python3
"""Write → function start through a stream mapping: durable Stratus, a Python function that
reports, for each record, the milliseconds between the write (a time the client sets just
before PutItem / PutRecord: the item's `t` attribute, or the record's data) and the function's
start; one write at a time.

    bench/stream_latency.py                    # a DynamoDB stream; options: --writes 100
    bench/stream_latency.py --source kinesis   # a Kinesis stream (PutRecord)

Reports p50/p90/max to stdout and bench/results/stream-latency[-kinesis]-latest.md (+ .json).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import boto3

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import run as common  # noqa: E402

FUNCTION = """
import json, os, time, boto3
sqs = boto3.client("sqs")
import base64
def written(r):
    if "kinesis" in r:
        return float(base64.b64decode(r["kinesis"]["data"]))
    return float(r["dynamodb"]["NewImage"]["t"]["N"])
def handler(event, context):
    now = time.time() * 1000
    lags = [now - written(r) for r in event["Records"]]
    sqs.send_message(QueueUrl=os.environ["OUT"], MessageBody=json.dumps(lags))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stratus", type=Path, default=ROOT / "target/release/stratus")
    ap.add_argument("--writes", type=int, default=100)
    ap.add_argument("--source", choices=["dynamodb", "kinesis"], default="dynamodb")
    args = ap.parse_args()
    logs = common.fresh_logs("stream-latency-logs")
    with tempfile.TemporaryDirectory(prefix="stream-latency-") as tmp:
        port = common.free_port()
        proc = common.spawn([str(args.stratus), "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--data-dir", tmp], logs / "stratus.log", env=dict(os.environ, STRATUS_LOG_LEVEL="warn"))
        kw = dict(endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                  aws_access_key_id="bench", aws_secret_access_key="bench")
        try:
            ddb, lam, sqs = boto3.client("dynamodb", **kw), boto3.client("lambda", **kw), boto3.client("sqs", **kw)
            kinesis = boto3.client("kinesis", **kw)
            deadline = time.time() + 30
            while True:
                try:
                    ddb.list_tables()
                    break
                except Exception:  # noqa: BLE001  (not up yet)
                    if time.time() > deadline:
                        raise
                    time.sleep(0.05)
            out = sqs.create_queue(QueueName="lags")["QueueUrl"]
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as z:
                z.writestr("app.py", FUNCTION)
            lam.create_function(FunctionName="lag", Runtime="python3.11", Role="arn:aws:iam::000000000000:role/r",
                                Handler="app.handler", Code={"ZipFile": buf.getvalue()}, Timeout=30,
                                Environment={"Variables": {"OUT": out}})
            if args.source == "kinesis":
                kinesis.create_stream(StreamName="lat", ShardCount=1)
                arn = kinesis.describe_stream_summary(StreamName="lat")["StreamDescriptionSummary"]["StreamARN"]
            else:
                ddb.create_table(TableName="lat", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                 BillingMode="PAY_PER_REQUEST",
                                 StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
                arn = ddb.describe_table(TableName="lat")["Table"]["LatestStreamArn"]
            lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="lag", StartingPosition="LATEST",
                                            BatchSize=1)
            lags: list[float] = []
            for n in range(args.writes + 5):
                if args.source == "kinesis":
                    kinesis.put_record(StreamName="lat", PartitionKey=f"k{n}", Data=repr(time.time() * 1000).encode())
                else:
                    ddb.put_item(TableName="lat", Item={"pk": {"S": f"k{n}"}, "t": {"N": repr(time.time() * 1000)}})
                got = sqs.receive_message(QueueUrl=out, WaitTimeSeconds=10).get("Messages", [])
                for m in got:
                    sqs.delete_message(QueueUrl=out, ReceiptHandle=m["ReceiptHandle"])
                    if n >= 5:  # the first invocations start the function's environment
                        lags += json.loads(m["Body"])
                time.sleep(0.05)
        finally:
            common.stop(proc)
    lags.sort()
    q = lambda p: lags[min(len(lags) - 1, int(p * len(lags)))]  # noqa: E731
    what = "PutRecord → function start through a Kinesis" if args.source == "kinesis" else (
        "Write → function start through a DynamoDB")
    md = (f"{what} stream mapping (durable Stratus, BatchSize 1, warm "
          f"function, one write at a time, {len(lags)} writes): p50 {statistics.median(lags):.1f} ms, "
          f"p90 {q(0.9):.1f} ms, max {lags[-1]:.1f} ms.\n")
    name = "stream-latency-kinesis-latest.md" if args.source == "kinesis" else "stream-latency-latest.md"
    common.write_report(md, {"lags_ms": lags}, BENCH / "results" / name)


if __name__ == "__main__":
    main()
