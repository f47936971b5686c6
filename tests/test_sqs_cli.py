"""The aws CLI against the server: a realistic queue workflow."""

import json

import pytest

from sqs_helpers import AwsCliError, md5_hex, md5_of_attributes, unique


def test_cli_queue_workflow(aws, target):
    name = unique("cli")
    url = aws("create-queue", "--queue-name", name, "--attributes", "VisibilityTimeout=45,DelaySeconds=0",
              "--tags", "env=test")["QueueUrl"]
    assert url.endswith(f"/{target.account}/{name}")
    assert aws("get-queue-url", "--queue-name", name)["QueueUrl"] == url
    assert url in aws("list-queues", "--queue-name-prefix", name)["QueueUrls"]

    attrs = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
    assert attrs["VisibilityTimeout"] == "45"
    assert attrs["QueueArn"] == target.queue_arn(name)

    msg_attrs = {"kind": {"DataType": "String", "StringValue": "cli"}}
    sent = aws("send-message", "--queue-url", url, "--message-body", "hello from the cli",
               "--message-attributes", json.dumps(msg_attrs))
    assert sent["MD5OfMessageBody"] == md5_hex("hello from the cli")
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(msg_attrs)

    got = aws("receive-message", "--queue-url", url, "--attribute-names", "All", "--message-attribute-names", "All",
              "--wait-time-seconds", "2", "--max-number-of-messages", "10")
    [msg] = got["Messages"]
    assert msg["MessageId"] == sent["MessageId"]
    assert msg["Body"] == "hello from the cli"
    assert msg["MessageAttributes"] == msg_attrs
    assert msg["Attributes"]["ApproximateReceiveCount"] == "1"

    assert aws("delete-message", "--queue-url", url, "--receipt-handle", msg["ReceiptHandle"]) is None
    assert aws("receive-message", "--queue-url", url) in (None, {}, {"Messages": []})

    assert aws("list-queue-tags", "--queue-url", url)["Tags"] == {"env": "test"}
    aws("set-queue-attributes", "--queue-url", url, "--attributes", "VisibilityTimeout=5")
    assert aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "VisibilityTimeout")[
        "Attributes"] == {"VisibilityTimeout": "5"}

    aws("delete-queue", "--queue-url", url)
    listed = aws("list-queues", "--queue-name-prefix", name)
    assert not (listed or {}).get("QueueUrls")


def test_cli_batch_and_purge(aws):
    url = aws("create-queue", "--queue-name", unique("clib"))["QueueUrl"]
    entries = [{"Id": f"e{i}", "MessageBody": f"m{i}"} for i in range(5)]
    r = aws("send-message-batch", "--queue-url", url, "--entries", json.dumps(entries))
    assert sorted(e["Id"] for e in r["Successful"]) == [f"e{i}" for i in range(5)]
    attrs = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "ApproximateNumberOfMessages")
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "5"
    aws("purge-queue", "--queue-url", url)
    attrs = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "ApproximateNumberOfMessages")
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_cli_fifo(aws):
    name = unique("clififo") + ".fifo"
    url = aws("create-queue", "--queue-name", name, "--attributes",
              "FifoQueue=true,ContentBasedDeduplication=true")["QueueUrl"]
    for i in range(3):
        aws("send-message", "--queue-url", url, "--message-body", f"f{i}", "--message-group-id", "g")
    got = aws("receive-message", "--queue-url", url, "--max-number-of-messages", "10")
    assert [m["Body"] for m in got["Messages"]] == ["f0", "f1", "f2"]


def test_cli_error_for_missing_queue(aws):
    with pytest.raises(AwsCliError) as e:
        aws("get-queue-url", "--queue-name", unique("nope"))
    assert e.value.returncode != 0
    assert "NonExistentQueue" in e.value.stderr
