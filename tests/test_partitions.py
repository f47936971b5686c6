"""ARNs use the partition of their region: `arn:aws-cn:` in the China regions, `arn:aws-us-gov:`
in GovCloud, `arn:aws:` elsewhere — in what services answer and in the event records they send.
IAM reads a policy's ARNs of any partition, so policies written for a partition apply to it."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from sqs_helpers import client_config, unique
from test_lambda import PY_ECHO, zip_of  # noqa: F401

pytestmark = pytest.mark.stratus_only


def client(target, service, region):
    return boto3.client(service, endpoint_url=target.endpoint, region_name=region, aws_access_key_id="test",
                        aws_secret_access_key="test", config=client_config())


@pytest.mark.parametrize("region, partition", [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"),
                                               ("eu-west-1", "aws")])
def test_resources_are_named_in_their_partition(target, region, partition):
    account = target.account
    sqs = client(target, "sqs", region)
    url = sqs.create_queue(QueueName=unique("q"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert queue_arn.startswith(f"arn:{partition}:sqs:{region}:{account}:")
    topic = client(target, "sns", region).create_topic(Name=unique("t"))["TopicArn"]
    assert topic.startswith(f"arn:{partition}:sns:{region}:{account}:")
    table = client(target, "dynamodb", region).create_table(
        TableName=unique("t"), BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])["TableDescription"]["TableArn"]
    assert table.startswith(f"arn:{partition}:dynamodb:{region}:{account}:table/")
    logs = client(target, "logs", region)
    group = f"/p/{unique('g')}"
    logs.create_log_group(logGroupName=group)
    [g] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert g["logGroupArn"] == f"arn:{partition}:logs:{region}:{account}:log-group:{group}"
    kinesis = client(target, "kinesis", region)
    name = unique("s")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    assert arn == f"arn:{partition}:kinesis:{region}:{account}:stream/{name}"
    who = client(target, "sts", region).get_caller_identity()
    assert who["Arn"] == f"arn:{partition}:iam::{account}:root"
    lam = client(target, "lambda", region)
    fn = lam.create_function(FunctionName=unique("f"), Runtime="python3.11", Handler="app.handler",
                             Role=f"arn:{partition}:iam::{account}:role/lambda-role", Code={"ZipFile": PY_ECHO})
    assert fn["FunctionArn"].startswith(f"arn:{partition}:lambda:{region}:{account}:function:")


def test_event_records_and_deliveries_in_a_china_region(target):
    region, partition = "cn-north-1", "aws-cn"
    s3, sqs, sns = client(target, "s3", region), client(target, "sqs", region), client(target, "sns", region)
    url = sqs.create_queue(QueueName=unique("q"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bucket = unique("cn").lower()
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    # The queue's policy names the bucket and the topic in their partition.
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": ["s3.amazonaws.com", "sns.amazonaws.com"]},
        "Action": "sqs:SendMessage", "Resource": queue_arn,
        "Condition": {"ArnLike": {"aws:SourceArn": [f"arn:{partition}:s3:::{bucket}", topic]}}}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "false"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    sns.publish(TopicArn=topic, Message="hello")
    bodies = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(bodies) < 3:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            bodies.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    records = [b["Records"][0] for b in bodies if "Records" in b]
    assert [r["s3"]["bucket"]["arn"] for r in records] == [f"arn:{partition}:s3:::{bucket}"]
    notes = [b for b in bodies if b.get("Type") == "Notification"]
    assert [(n["TopicArn"], n["Message"]) for n in notes] == [(topic, "hello")]
