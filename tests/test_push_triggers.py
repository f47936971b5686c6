"""Push triggers across services through the real binary: S3 event notifications to SQS, SNS
and Lambda (with filters, validation, the test event and AWS's record shape), Lambda code taken
from S3, and Lambda destinations to SNS."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.parse

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, client_config, unique
from test_lambda import ROLE, create, invoke, zip_of

pytestmark = pytest.mark.stratus_only

# Sends the event it got to the queue named in its environment.
FORWARDER = zip_of({"fwd.py": """
import json, os, boto3
def handler(event, context):
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=os.environ["SINK"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    return {"ok": True}
"""})


def client(target, service):
    return boto3.session.Session().client(
        service, endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
        aws_secret_access_key="test", config=client_config(read_timeout=60))


@pytest.fixture(scope="module")
def s3(target):
    return client(target, "s3")


@pytest.fixture(scope="module")
def sqs(target):
    return client(target, "sqs")


@pytest.fixture(scope="module")
def sns(target):
    return client(target, "sns")


@pytest.fixture(scope="module")
def lam(target):
    return client(target, "lambda")


def new_queue(sqs, prefix="sink"):
    url = sqs.create_queue(QueueName=unique(prefix))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def new_bucket(s3, prefix="bkt"):
    name = unique(prefix).lower().replace("_", "-")[:60]
    s3.create_bucket(Bucket=name)
    return name


def drain(sqs, url, want: int, timeout: float = 20) -> list[dict]:
    """Messages of `url` until `want` arrived (or timeout), each deleted once read."""
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def quiet(sqs, url, seconds: float = 1.5) -> list:
    """Whatever arrives within `seconds` (to show that nothing else was delivered)."""
    return drain(sqs, url, 1, timeout=seconds)


def error_code(e):
    return e.value.response["Error"]["Code"]


# ----------------------------------------------------------------------------- S3 -> SQS

def test_s3_to_sqs_test_event_filters_and_record_shape(s3, sqs):
    url, arn = new_queue(sqs)
    bucket = new_bucket(s3)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{
            "Id": "images", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "img/"},
                                               {"Name": "suffix", "Value": ".jpg"}]}},
        }],
    })
    conf = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert conf["QueueConfigurations"][0]["QueueArn"] == arn
    assert conf["QueueConfigurations"][0]["Events"] == ["s3:ObjectCreated:*"]
    rules = {r["Name"].lower(): r["Value"] for r in conf["QueueConfigurations"][0]["Filter"]["Key"]["FilterRules"]}
    assert rules == {"prefix": "img/", "suffix": ".jpg"}

    test_event = drain(sqs, url, 1)
    assert len(test_event) == 1 and test_event[0]["Event"] == "s3:TestEvent", test_event
    assert test_event[0]["Service"] == "Amazon S3" and test_event[0]["Bucket"] == bucket

    body = b"jpeg bytes"
    s3.put_object(Bucket=bucket, Key="img/a cat+1.jpg", Body=body)
    s3.put_object(Bucket=bucket, Key="img/a.png", Body=b"x")       # suffix does not match
    s3.put_object(Bucket=bucket, Key="doc/a.jpg", Body=b"x")       # prefix does not match
    s3.copy_object(Bucket=bucket, Key="img/copy.jpg", CopySource={"Bucket": bucket, "Key": "img/a cat+1.jpg"})
    got = drain(sqs, url, 2)
    got += quiet(sqs, url)
    assert len(got) == 2, got
    by_name = {e["Records"][0]["eventName"]: e["Records"][0] for e in got}
    assert set(by_name) == {"ObjectCreated:Put", "ObjectCreated:Copy"}
    rec = by_name["ObjectCreated:Put"]
    assert rec["eventVersion"] == "2.1"
    assert rec["eventSource"] == "aws:s3"
    assert rec["awsRegion"] == REGION
    assert rec["eventTime"].endswith("Z")
    assert "principalId" in rec["userIdentity"]
    assert rec["requestParameters"]["sourceIPAddress"] == "127.0.0.1"  # the client's address
    assert set(rec["responseElements"]) >= {"x-amz-request-id", "x-amz-id-2"}
    s3rec = rec["s3"]
    assert s3rec["s3SchemaVersion"] == "1.0"
    assert s3rec["configurationId"] == "images"
    assert s3rec["bucket"]["name"] == bucket
    assert s3rec["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    assert "principalId" in s3rec["bucket"]["ownerIdentity"]
    # The key is URL-encoded with spaces as '+'.
    assert s3rec["object"]["key"] == urllib.parse.quote_plus("img/a cat+1.jpg", safe="/")
    assert s3rec["object"]["size"] == len(body)
    assert s3rec["object"]["eTag"] == hashlib.md5(body).hexdigest()
    assert s3rec["object"]["sequencer"]
    assert "versionId" not in s3rec["object"] or s3rec["object"]["versionId"] in (None, "null")


def test_s3_removed_events_with_versioning(s3, sqs):
    url, arn = new_queue(sqs)
    bucket = new_bucket(s3)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectRemoved:*"]}],
    })
    assert drain(sqs, url, 1)[0]["Event"] == "s3:TestEvent"
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    marker = s3.delete_object(Bucket=bucket, Key="k")
    assert marker["DeleteMarker"] is True
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v1)
    got = drain(sqs, url, 2)
    got += quiet(sqs, url)
    names = sorted(e["Records"][0]["eventName"] for e in got)
    assert names == ["ObjectRemoved:Delete", "ObjectRemoved:DeleteMarkerCreated"], got
    recs = {e["Records"][0]["eventName"]: e["Records"][0]["s3"]["object"] for e in got}
    assert recs["ObjectRemoved:DeleteMarkerCreated"]["versionId"] == marker["VersionId"]
    assert recs["ObjectRemoved:Delete"]["versionId"] == v1
    # The sequencer orders events of one key.
    seqs = [recs["ObjectRemoved:DeleteMarkerCreated"]["sequencer"], recs["ObjectRemoved:Delete"]["sequencer"]]
    assert int(seqs[0], 16) < int(seqs[1], 16)


def test_notification_configuration_is_validated(s3, sqs, lam):
    bucket = new_bucket(s3)
    _, arn = new_queue(sqs)
    missing = arn + "-missing"
    with pytest.raises(ClientError) as e:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": missing, "Events": ["s3:ObjectCreated:*"]}]})
    assert error_code(e) == "InvalidArgument"
    with pytest.raises(ClientError) as e:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:Nope"]}]})
    assert error_code(e) == "InvalidArgument"
    with pytest.raises(ClientError) as e:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "QueueConfigurations": [
                {"QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
                 "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "a/"}]}}},
                {"QueueArn": arn, "Events": ["s3:ObjectCreated:Put"],
                 "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "a/b"}]}}},
            ]})
    assert error_code(e) == "InvalidArgument"
    # A function without a permission for s3.amazonaws.com cannot be a destination.
    name, r = create(lam, FORWARDER, handler="fwd.handler")
    with pytest.raises(ClientError) as e:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": r["FunctionArn"], "Events": ["s3:ObjectCreated:*"]}]})
    assert error_code(e) == "InvalidArgument"
    # Nothing was stored by the failed attempts.
    conf = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert not conf.get("QueueConfigurations") and not conf.get("LambdaFunctionConfigurations")


# ----------------------------------------------------------------------------- S3 -> Lambda, S3 -> SNS

def test_s3_to_lambda(s3, sqs, lam):
    sink_url, _ = new_queue(sqs)
    sink = sink_url.rsplit("/", 1)[1]
    name, r = create(lam, FORWARDER, handler="fwd.handler", Timeout=30, Environment={"Variables": {"SINK": sink}})
    bucket = new_bucket(s3)
    lam.add_permission(FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction",
                       Principal="s3.amazonaws.com", SourceArn=f"arn:aws:s3:::{bucket}")
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"Id": "to-fn", "LambdaFunctionArn": r["FunctionArn"],
                                          "Events": ["s3:ObjectCreated:Put"]}]})
    s3.put_object(Bucket=bucket, Key="uploads/x.txt", Body=b"hello")
    got = drain(sqs, sink_url, 1, timeout=30)
    assert len(got) == 1, got
    rec = got[0]["Records"][0]
    assert rec["eventName"] == "ObjectCreated:Put"
    assert rec["s3"]["configurationId"] == "to-fn"
    assert rec["s3"]["object"]["key"] == "uploads/x.txt"
    assert rec["s3"]["object"]["size"] == 5
    # Lambda destinations get no test event.
    assert quiet(sqs, sink_url) == []


def test_s3_to_sns_to_sqs(s3, sqs, sns):
    url, qarn = new_queue(sqs)
    topic = sns.create_topic(Name=unique("s3-topic"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    bucket = new_bucket(s3)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"],
                                 "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".csv"}]}}}]})
    s3.put_object(Bucket=bucket, Key="data.csv", Body=b"a,b")
    s3.put_object(Bucket=bucket, Key="data.txt", Body=b"a b")
    got = drain(sqs, url, 2)
    got += quiet(sqs, url)
    assert len(got) == 2, got
    assert all(m["Type"] == "Notification" and m["TopicArn"] == topic for m in got)
    assert all(m["Subject"] == "Amazon S3 Notification" for m in got)
    # A standard queue keeps no order between the two deliveries: the test event first.
    inner = sorted((json.loads(m["Message"]) for m in got), key=lambda x: "Records" in x)
    assert inner[0]["Event"] == "s3:TestEvent"
    assert inner[1]["Records"][0]["s3"]["object"]["key"] == "data.csv"


# ----------------------------------------------------------------------------- Lambda and S3 / SNS

def test_lambda_code_from_s3(s3, lam):
    bucket = new_bucket(s3, "code")
    code = zip_of({"app.py": "def handler(event, context):\n    return {'from': 's3', 'got': event}\n"})
    s3.put_object(Bucket=bucket, Key="pkg/app.zip", Body=code)
    name = unique("s3code")
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                        Code={"S3Bucket": bucket, "S3Key": "pkg/app.zip"})
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    assert lam.get_function(FunctionName=name)["Configuration"]["CodeSize"] == len(code)
    _, body = invoke(lam, name, {"n": 1})
    assert body == {"from": "s3", "got": {"n": 1}}
    code2 = zip_of({"app.py": "def handler(event, context):\n    return 'v2'\n"})
    s3.put_object(Bucket=bucket, Key="pkg/v2.zip", Body=code2)
    lam.update_function_code(FunctionName=name, S3Bucket=bucket, S3Key="pkg/v2.zip")
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    assert invoke(lam, name, {})[1] == "v2"
    with pytest.raises(ClientError) as e:
        lam.update_function_code(FunctionName=name, S3Bucket=bucket, S3Key="pkg/missing.zip")
    assert error_code(e) == "InvalidParameterValueException"
    assert "NoSuchKey" in e.value.response["Error"]["Message"]


def test_lambda_destination_to_sns(lam, sns, sqs):
    url, qarn = new_queue(sqs)
    topic = sns.create_topic(Name=unique("dest"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
    name, _ = create(lam, zip_of({"app.py": "def handler(e, c):\n    return {'ok': e['n']}\n"}))
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": topic}})
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"n": 7}).encode())
    got = drain(sqs, url, 1, timeout=30)
    assert len(got) == 1, got
    assert got[0]["requestContext"]["condition"] == "Success"
    assert got[0]["responsePayload"] == {"ok": 7}
