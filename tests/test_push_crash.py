"""kill -9 in the middle of writes that cause events: every S3 notification and every SNS
delivery of a PutObject / Publish acknowledged before the kill still arrives after a restart on
the same data directory (at least once), and every acknowledged object reads back whole."""

from __future__ import annotations

import json
import time
import threading

import boto3
import pytest

from sqs_helpers import REGION, client_config

pytestmark = pytest.mark.stratus_only

N = 120


def clients(endpoint):
    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test",
              config=client_config(read_timeout=30, max_pool_connections=16))
    s = boto3.session.Session()
    return s.client("s3", **kw), s.client("sqs", **kw), s.client("sns", **kw)


def collect(sqs, url, want: set, key, timeout: float = 60) -> set:
    seen: set = set()
    deadline = time.monotonic() + timeout
    while not want <= seen and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            k = key(json.loads(m["Body"]))
            if k is not None:
                seen.add(k)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return seen


def body_of(n: int) -> bytes:
    return (b"%d:" % n) * (30 if n % 4 else 30_000)


def test_kill9_during_puts_and_publishes(server_factory):
    srv = server_factory()
    s3, sqs, sns = clients(srv.endpoint)
    s3_url = sqs.create_queue(QueueName="s3-events")["QueueUrl"]
    s3_arn = sqs.get_queue_attributes(QueueUrl=s3_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns_url = sqs.create_queue(QueueName="sns-deliveries")["QueueUrl"]
    sns_arn = sqs.get_queue_attributes(QueueUrl=sns_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket="crash-bucket")
    s3.put_bucket_notification_configuration(Bucket="crash-bucket", NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": s3_arn, "Events": ["s3:ObjectCreated:*"]}]})
    topic = sns.create_topic(Name="crash-topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sns_arn, Attributes={"RawMessageDelivery": "true"})

    def put(n):
        # Small objects are kept inline with their metadata; large ones in blob files.
        s3.put_object(Bucket="crash-bucket", Key=f"obj-{n}", Body=body_of(n))
        return n

    def publish(n):
        sns.publish(TopicArn=topic, Message=json.dumps({"n": n}))
        return n

    # Writers keep going while the server is killed under them: what was acknowledged before
    # the kill must produce its event; what was cut off may or may not.
    acked_puts, acked_publishes = set(), set()
    stop = threading.Event()

    def writer(worker: int, write, acked: set):
        n = worker
        while not stop.is_set():
            try:
                write(n)
            except Exception:  # the kill cut this request off
                return
            acked.add(n)
            n += 4

    threads = [threading.Thread(target=writer, args=(w, put, acked_puts)) for w in range(4)]
    threads += [threading.Thread(target=writer, args=(w, publish, acked_publishes)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while (len(acked_puts) < N or len(acked_publishes) < N) and time.monotonic() < deadline:
        time.sleep(0.01)
    srv.kill()  # while writes are in flight
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(acked_puts) >= N and len(acked_publishes) >= N, "too few writes before the kill"
    acked_puts, acked_publishes = set(acked_puts), set(acked_publishes)

    srv.start(timeout=15)
    s3, sqs, sns = clients(srv.endpoint)

    def s3_key(body):
        recs = body.get("Records")
        return recs[0]["s3"]["object"]["key"] if recs else None

    seen_keys = collect(sqs, s3_url, {f"obj-{n}" for n in acked_puts}, s3_key)
    missing = {f"obj-{n}" for n in acked_puts} - seen_keys
    assert not missing, f"S3 events lost across kill -9: {sorted(missing)[:10]}"
    for n in sorted(acked_puts):
        assert s3.get_object(Bucket="crash-bucket", Key=f"obj-{n}")["Body"].read() == body_of(n)
    seen_n = collect(sqs, sns_url, acked_publishes, lambda b: b.get("n"))
    missing = acked_publishes - seen_n
    assert not missing, f"SNS deliveries lost across kill -9: {sorted(missing)[:10]}"
