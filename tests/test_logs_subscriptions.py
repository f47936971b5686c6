"""CloudWatch Logs subscription filters: Put/Describe/DeleteSubscriptionFilter with AWS's
limits, and delivery to a Lambda function — the `awslogs` event (base64 of the gzipped
DATA_MESSAGE) with the events that match the filter pattern, from PutLogEvents and from a
function's own output."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, client_config, unique
from test_lambda import create, zip_of

pytestmark = pytest.mark.stratus_only

ACCOUNT = "000000000000"

# Decodes the awslogs payload and sends the DATA_MESSAGE to a queue.
CONSUMER = zip_of({"app.py": """
import base64, gzip, json, os
import boto3
sqs = boto3.client("sqs")
def handler(event, context):
    data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    sqs.send_message(QueueUrl=os.environ["QUEUE"], MessageBody=json.dumps(data))
"""})

# A function whose own output goes to its log group.
TALKER = zip_of({"app.py": """
def handler(event, context):
    print("ERROR something broke: " + event["what"])
    print("INFO all good otherwise")
    return "ok"
"""})


@pytest.fixture(scope="module")
def c(target):
    kw = dict(endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
              aws_secret_access_key="test")

    class Clients:
        logs = boto3.client("logs", **kw)
        lam = boto3.client("lambda", config=client_config(read_timeout=60), **kw)
        sqs = boto3.client("sqs", **kw)
    return Clients


def consumer(c):
    q = c.sqs.create_queue(QueueName=unique("awslogs"))["QueueUrl"]
    name, fn = create(c.lam, CONSUMER, Environment={"Variables": {"QUEUE": q}}, Timeout=30)
    c.lam.add_permission(FunctionName=name, StatementId="logs", Action="lambda:InvokeFunction",
                         Principal="logs.amazonaws.com",
                         SourceArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*")
    return fn["FunctionArn"], q


def messages(c, q, want, timeout=30):
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        for m in c.sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            seen.append(json.loads(m["Body"]))
            c.sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])
        if want(seen):
            return seen
    raise AssertionError(f"not delivered in {timeout}s: {seen}")


def test_subscription_filters_api(c):
    group = unique("/app/sub")
    c.logs.create_log_group(logGroupName=group)
    arn, _ = consumer(c)
    c.logs.put_subscription_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                                   destinationArn=arn)
    c.logs.put_subscription_filter(logGroupName=group, filterName="all", filterPattern="", destinationArn=arn)
    got = c.logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    assert {f["filterName"] for f in got} == {"errors", "all"}
    errors = [f for f in got if f["filterName"] == "errors"][0]
    assert errors["logGroupName"] == group and errors["filterPattern"] == "ERROR"
    assert errors["destinationArn"] == arn and errors["distribution"] == "ByLogStream"
    assert isinstance(errors["creationTime"], int)
    # A third is over AWS's limit of two; the same name replaces.
    with pytest.raises(ClientError) as e:
        c.logs.put_subscription_filter(logGroupName=group, filterName="third", filterPattern="", destinationArn=arn)
    assert e.value.response["Error"]["Code"] == "LimitExceededException"
    c.logs.put_subscription_filter(logGroupName=group, filterName="errors", filterPattern="WARN",
                                   destinationArn=arn)
    assert [f["filterPattern"] for f in c.logs.describe_subscription_filters(
        logGroupName=group, filterNamePrefix="err")["subscriptionFilters"]] == ["WARN"]
    with pytest.raises(ClientError) as e:
        c.logs.put_subscription_filter(logGroupName=group, filterName="bad", filterPattern='{ $.x = ',
                                       destinationArn=arn)
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        c.logs.put_subscription_filter(logGroupName=unique("/nope"), filterName="x", filterPattern="",
                                       destinationArn=arn)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    c.logs.delete_subscription_filter(logGroupName=group, filterName="all")
    with pytest.raises(ClientError) as e:
        c.logs.delete_subscription_filter(logGroupName=group, filterName="all")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert len(c.logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]) == 1


def test_put_log_events_reach_the_function_filtered(c):
    fn, q = consumer(c)
    group, stream = unique("/app/orders"), "web-1"
    c.logs.create_log_group(logGroupName=group)
    c.logs.create_log_stream(logGroupName=group, logStreamName=stream)
    c.logs.put_subscription_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                                   destinationArn=fn)
    now = int(time.time() * 1000)
    c.logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": now, "message": "INFO started"},
        {"timestamp": now + 1, "message": "ERROR order 42 failed"},
        {"timestamp": now + 2, "message": "ERROR order 43 failed"}])
    data = messages(c, q, lambda s: len(s) >= 1)[0]
    assert data["messageType"] == "DATA_MESSAGE" and data["owner"] == ACCOUNT
    assert data["logGroup"] == group and data["logStream"] == stream
    assert data["subscriptionFilters"] == ["errors"]
    assert [e["message"] for e in data["logEvents"]] == ["ERROR order 42 failed", "ERROR order 43 failed"]
    assert [e["timestamp"] for e in data["logEvents"]] == [now + 1, now + 2]
    assert all(e["id"] for e in data["logEvents"])
    # Events that match nothing send nothing.
    c.logs.put_log_events(logGroupName=group, logStreamName=stream,
                          logEvents=[{"timestamp": now + 3, "message": "INFO fine"}])
    c.logs.put_log_events(logGroupName=group, logStreamName=stream,
                          logEvents=[{"timestamp": now + 4, "message": "ERROR again"}])
    later = messages(c, q, lambda s: len(s) >= 1)
    assert [e["message"] for m in later for e in m["logEvents"]] == ["ERROR again"]


def test_a_functions_own_output_reaches_a_subscriber(c):
    fn, q = consumer(c)
    name, _ = create(c.lam, TALKER)
    group = f"/aws/lambda/{name}"
    c.lam.invoke(FunctionName=name, Payload=json.dumps({"what": "warm-up"}))  # makes the log group
    deadline = time.time() + 30
    while time.time() < deadline and not c.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        time.sleep(0.2)
    c.logs.put_subscription_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                                   destinationArn=fn)
    c.lam.invoke(FunctionName=name, Payload=json.dumps({"what": "the disk"}))
    got = messages(c, q, lambda s: any("the disk" in e["message"] for m in s for e in m["logEvents"]))
    events = [e["message"] for m in got for e in m["logEvents"]]
    assert any("ERROR something broke: the disk" in m for m in events)
    assert not any("INFO all good" in m for m in events)
    assert all(m["logGroup"] == group for m in got)


def test_a_function_must_allow_cloudwatch_logs(c):
    q = c.sqs.create_queue(QueueName=unique("awslogs-denied"))["QueueUrl"]
    name, fn = create(c.lam, CONSUMER, Environment={"Variables": {"QUEUE": q}}, Timeout=30)
    group = unique("/app/denied")
    c.logs.create_log_group(logGroupName=group)
    with pytest.raises(ClientError) as e:
        c.logs.put_subscription_filter(logGroupName=group, filterName="all", filterPattern="",
                                       destinationArn=fn["FunctionArn"])
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "permission" in e.value.response["Error"]["Message"]
    # A permission for another log group does not count; one for this group does.
    c.lam.add_permission(FunctionName=name, StatementId="other", Action="lambda:InvokeFunction",
                         Principal="logs.amazonaws.com",
                         SourceArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/somewhere/else:*")
    with pytest.raises(ClientError) as e:
        c.logs.put_subscription_filter(logGroupName=group, filterName="all", filterPattern="",
                                       destinationArn=fn["FunctionArn"])
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    c.lam.add_permission(FunctionName=name, StatementId="this", Action="lambda:InvokeFunction",
                         Principal="logs.amazonaws.com",
                         SourceArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*")
    c.logs.put_subscription_filter(logGroupName=group, filterName="all", filterPattern="",
                                   destinationArn=fn["FunctionArn"])
    with pytest.raises(ClientError) as e:
        c.logs.put_subscription_filter(logGroupName=group, filterName="gone", filterPattern="",
                                       destinationArn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{unique('missing')}")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"


def stream_records(kinesis, arn, want, timeout=15):
    shard = kinesis.list_shards(StreamARN=arn)["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamARN=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = kinesis.get_records(ShardIterator=it, StreamARN=arn)
        it = r["NextShardIterator"]
        seen.extend(r["Records"])
        if len(seen) >= want:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"{len(seen)} of {want} records arrived in {timeout}s")


def test_put_log_events_reach_a_kinesis_stream(c, target):
    import gzip

    kinesis = boto3.client("kinesis", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
                           aws_secret_access_key="test")
    name = unique("logs-stream")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    group = unique("/app/kin")
    c.logs.create_log_group(logGroupName=group)
    c.logs.create_log_stream(logGroupName=group, logStreamName="web")
    role = f"arn:aws:iam::{ACCOUNT}:role/CWLtoKinesisRole"
    with pytest.raises(ClientError) as e:  # a stream needs the role Logs writes as
        c.logs.put_subscription_filter(logGroupName=group, filterName="k", filterPattern="", destinationArn=arn)
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        c.logs.put_subscription_filter(logGroupName=group, filterName="k", filterPattern="", roleArn=role,
                                       destinationArn=arn.replace(name, unique("missing")))
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    c.logs.put_subscription_filter(logGroupName=group, filterName="errors", filterPattern="ERROR", roleArn=role,
                                   destinationArn=arn)
    now = int(time.time() * 1000)
    c.logs.put_log_events(logGroupName=group, logStreamName="web", logEvents=[
        {"timestamp": now, "message": "ERROR one"}, {"timestamp": now, "message": "INFO skip"},
        {"timestamp": now + 1, "message": "ERROR two"}])
    [record] = stream_records(kinesis, arn, 1)
    assert record["PartitionKey"] == "web"
    doc = json.loads(gzip.decompress(record["Data"]))
    assert doc["messageType"] == "DATA_MESSAGE" and doc["logGroup"] == group and doc["logStream"] == "web"
    assert doc["subscriptionFilters"] == ["errors"] and doc["owner"] == ACCOUNT
    assert [ev["message"] for ev in doc["logEvents"]] == ["ERROR one", "ERROR two"]


def test_destinations_forward_other_accounts_subscriptions_to_their_stream(target):
    import gzip

    def client(service, key):
        return boto3.client(service, endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id=key,
                            aws_secret_access_key="test")

    owner_logs, kinesis = client("logs", "000000000000"), client("kinesis", "000000000000")
    other_logs = client("logs", "111111111111")
    name = unique("dest-stream")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    stream_arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    dname = unique("central")
    d = owner_logs.put_destination(destinationName=dname, targetArn=stream_arn,
                                   roleArn=f"arn:aws:iam::{ACCOUNT}:role/CWLtoKinesis")["destination"]
    assert d["arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:destination:{dname}" and d["targetArn"] == stream_arn
    assert [x["destinationName"] for x in owner_logs.describe_destinations(DestinationNamePrefix=dname)[
        "destinations"]] == [dname]

    group = unique("/other/app")
    other_logs.create_log_group(logGroupName=group)
    other_logs.create_log_stream(logGroupName=group, logStreamName="s")
    with pytest.raises(ClientError) as e:  # the destination's policy does not let that account in yet
        other_logs.put_subscription_filter(logGroupName=group, filterName="f", filterPattern="", destinationArn=d["arn"])
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    owner_logs.put_destination_policy(destinationName=dname, accessPolicy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "111111111111"},
                                                "Action": "logs:PutSubscriptionFilter", "Resource": d["arn"]}]}))
    other_logs.put_subscription_filter(logGroupName=group, filterName="f", filterPattern="", destinationArn=d["arn"])
    other_logs.put_log_events(logGroupName=group, logStreamName="s",
                              logEvents=[{"timestamp": int(time.time() * 1000), "message": "from afar"}])
    [record] = stream_records(kinesis, stream_arn, 1)
    doc = json.loads(gzip.decompress(record["Data"]))
    assert doc["owner"] == "111111111111" and doc["logGroup"] == group
    assert [ev["message"] for ev in doc["logEvents"]] == ["from afar"]

    owner_logs.delete_destination(destinationName=dname)
    with pytest.raises(ClientError) as e:
        owner_logs.delete_destination(destinationName=dname)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
