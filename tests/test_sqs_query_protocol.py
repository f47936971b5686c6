"""The legacy query protocol: form-encoded POST and GET with a query string,
signed with SigV4, answered in XML (namespace http://queue.amazonaws.com/doc/2012-11-05/)."""

import base64
import xml.etree.ElementTree as ET

import pytest

from sqs_helpers import (SQS_XMLNS, md5_hex, md5_of_attributes, parse_xml, unique, xfail_moto,
                         xml_error, xml_name_values)

MODES = ["post-root", "get-root", "post-queue-path", "get-queue-path"]


def mode_param(mode):
    marks = []
    if mode == "get-root":
        marks = [xfail_moto("GET requests to / with a QueueUrl parameter are not routed to the queue")]
    elif mode == "get-queue-path":
        marks = [xfail_moto("GET requests on a queue path answer 500")]
    return pytest.param(mode, marks=marks)


@pytest.fixture
def qcall(query):
    """Call an action on a queue in one of the four addressing styles."""
    def call(mode, action, queue_url, params=None):
        params = dict(params or {})
        method = "GET" if mode.startswith("get") else "POST"
        if mode.endswith("queue-path"):
            return query(action, params, method=method, url=queue_url)
        params["QueueUrl"] = queue_url
        return query(action, params, method=method)
    return call


def result(root, action):
    assert root is not None, "empty body"
    assert root.tag == f"{action}Response", ET.tostring(root)[:500]
    assert root.findtext("ResponseMetadata/RequestId"), "RequestId missing"
    res = root.find(f"{action}Result")
    return res


@pytest.mark.parametrize("method", ["POST", pytest.param("GET", marks=xfail_moto("GET CreateQueue answers 500"))])
def test_queue_lifecycle(query_raw, query, method, target):
    name = unique("qp")
    r = query_raw("CreateQueue", {"QueueName": name, "Attribute.1.Name": "VisibilityTimeout",
                                  "Attribute.1.Value": "40", "Attribute.2.Name": "DelaySeconds",
                                  "Attribute.2.Value": "0", "Tag.1.Key": "env", "Tag.1.Value": "test"},
                  method=method)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/xml")
    raw_root = ET.fromstring(r.content)
    assert raw_root.tag == f"{{{SQS_XMLNS}}}CreateQueueResponse"
    url = result(parse_xml(r.content), "CreateQueue").findtext("QueueUrl")
    assert url.endswith(f"/{target.account}/{name}")

    status, root = query("GetQueueUrl", {"QueueName": name}, method=method)
    assert status == 200 and result(root, "GetQueueUrl").findtext("QueueUrl") == url

    status, root = query("ListQueues", {"QueueNamePrefix": name}, method=method)
    assert status == 200
    assert [e.text for e in result(root, "ListQueues").findall("QueueUrl")] == [url]

    status, root = query("GetQueueAttributes", {"QueueUrl": url, "AttributeName.1": "All"}, method=method)
    attrs = xml_name_values(result(root, "GetQueueAttributes"))
    assert attrs["VisibilityTimeout"] == "40"
    assert attrs["QueueArn"] == target.queue_arn(name)
    assert attrs["MaximumMessageSize"] == "1048576"

    status, root = query("ListQueueTags", {"QueueUrl": url}, method=method)
    assert xml_name_values(result(root, "ListQueueTags"), "Tag", "Key", "Value") == {"env": "test"}

    status, root = query("DeleteQueue", {"QueueUrl": url}, method=method)
    assert status == 200
    result(root, "DeleteQueue")

    status, root = query("GetQueueUrl", {"QueueName": name}, method=method)
    assert status == 400
    err = xml_error(root)
    assert err["Type"] == "Sender"
    assert err["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert err["Message"]
    assert root.findtext("RequestId")


@pytest.mark.parametrize("mode", [mode_param(m) for m in MODES])
def test_message_round_trip(sqs, new_queue, qcall, mode):
    url = new_queue()
    blob = b"\x00\x01binary\xff"
    attrs = {"str": {"DataType": "String", "StringValue": "v\u00e9"},
             "bin": {"DataType": "Binary", "BinaryValue": blob},
             "num": {"DataType": "Number.int", "StringValue": "42"}}
    body = "query <body> & \"quotes\" \u4e2d"
    status, root = qcall(mode, "SendMessage", url, {
        "MessageBody": body,
        "MessageAttribute.1.Name": "str", "MessageAttribute.1.Value.DataType": "String",
        "MessageAttribute.1.Value.StringValue": "v\u00e9",
        "MessageAttribute.2.Name": "bin", "MessageAttribute.2.Value.DataType": "Binary",
        "MessageAttribute.2.Value.BinaryValue": base64.b64encode(blob).decode(),
        "MessageAttribute.3.Name": "num", "MessageAttribute.3.Value.DataType": "Number.int",
        "MessageAttribute.3.Value.StringValue": "42",
    })
    assert status == 200, ET.tostring(root)
    res = result(root, "SendMessage")
    message_id = res.findtext("MessageId")
    assert message_id
    assert res.findtext("MD5OfMessageBody") == md5_hex(body)
    assert res.findtext("MD5OfMessageAttributes") == md5_of_attributes(attrs)

    status, root = qcall(mode, "ReceiveMessage", url, {"AttributeName.1": "All", "MessageAttributeName.1": "All",
                                                        "MaxNumberOfMessages": "10", "WaitTimeSeconds": "1"})
    assert status == 200
    [msg] = result(root, "ReceiveMessage").findall("Message")
    assert msg.findtext("MessageId") == message_id
    assert msg.findtext("Body") == body
    assert msg.findtext("MD5OfBody") == md5_hex(body)
    assert msg.findtext("MD5OfMessageAttributes") == md5_of_attributes(attrs)
    sys_attrs = xml_name_values(msg)
    assert {"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"} <= set(sys_attrs)
    assert sys_attrs["ApproximateReceiveCount"] == "1"
    got = {}
    for ma in msg.findall("MessageAttribute"):
        v = ma.find("Value")
        entry = {"DataType": v.findtext("DataType")}
        if v.find("StringValue") is not None:
            entry["StringValue"] = v.findtext("StringValue")
        if v.find("BinaryValue") is not None:
            entry["BinaryValue"] = base64.b64decode(v.findtext("BinaryValue"))
        got[ma.findtext("Name")] = entry
    assert got == attrs
    handle = msg.findtext("ReceiptHandle")

    status, root = qcall(mode, "ChangeMessageVisibility", url, {"ReceiptHandle": handle, "VisibilityTimeout": "0"})
    assert status == 200
    result(root, "ChangeMessageVisibility")
    status, root = qcall(mode, "ReceiveMessage", url, {"WaitTimeSeconds": "1"})
    [msg] = result(root, "ReceiveMessage").findall("Message")
    status, root = qcall(mode, "DeleteMessage", url, {"ReceiptHandle": msg.findtext("ReceiptHandle")})
    assert status == 200
    result(root, "DeleteMessage")

    status, root = qcall(mode, "ReceiveMessage", url, {"VisibilityTimeout": "0"})
    assert status == 200
    assert result(root, "ReceiveMessage").findall("Message") == []
    # the JSON protocol sees the same (now empty) queue
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []


def test_query_and_json_interoperate(sqs, new_queue, query):
    url = new_queue()
    sent = sqs.send_message(QueueUrl=url, MessageBody="from json",
                            MessageAttributes={"a": {"DataType": "String", "StringValue": "b"}})
    status, root = query("ReceiveMessage", {"QueueUrl": url, "MessageAttributeName.1": "All"})
    [msg] = result(root, "ReceiveMessage").findall("Message")
    assert msg.findtext("MessageId") == sent["MessageId"]
    assert msg.findtext("MD5OfMessageAttributes") == sent["MD5OfMessageAttributes"]
    status, root = query("SendMessage", {"QueueUrl": url, "MessageBody": "from query"})
    assert status == 200
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
    assert got["Body"] == "from query"


def test_batches(new_queue, query):
    url = new_queue()
    status, root = query("SendMessageBatch", {
        "QueueUrl": url,
        "SendMessageBatchRequestEntry.1.Id": "one", "SendMessageBatchRequestEntry.1.MessageBody": "b1",
        "SendMessageBatchRequestEntry.2.Id": "two", "SendMessageBatchRequestEntry.2.MessageBody": "b2",
        "SendMessageBatchRequestEntry.2.DelaySeconds": "0",
        "SendMessageBatchRequestEntry.2.MessageAttribute.1.Name": "k",
        "SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.DataType": "String",
        "SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.StringValue": "v",
    })
    assert status == 200, ET.tostring(root)
    entries = {e.findtext("Id"): e for e in result(root, "SendMessageBatch").findall("SendMessageBatchResultEntry")}
    assert set(entries) == {"one", "two"}
    assert entries["one"].findtext("MD5OfMessageBody") == md5_hex("b1")
    assert entries["two"].findtext("MD5OfMessageAttributes") == md5_of_attributes(
        {"k": {"DataType": "String", "StringValue": "v"}})
    assert all(e.findtext("MessageId") for e in entries.values())

    status, root = query("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": "10", "WaitTimeSeconds": "1"})
    msgs = result(root, "ReceiveMessage").findall("Message")
    if len(msgs) < 2:
        status, root = query("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": "10", "WaitTimeSeconds": "1"})
        msgs += result(root, "ReceiveMessage").findall("Message")
    assert sorted(m.findtext("Body") for m in msgs) == ["b1", "b2"]

    status, root = query("ChangeMessageVisibilityBatch", {
        "QueueUrl": url,
        "ChangeMessageVisibilityBatchRequestEntry.1.Id": "c1",
        "ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle": msgs[0].findtext("ReceiptHandle"),
        "ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout": "60",
    })
    assert status == 200
    assert [e.findtext("Id") for e in result(root, "ChangeMessageVisibilityBatch").findall(
        "ChangeMessageVisibilityBatchResultEntry")] == ["c1"]

    status, root = query("DeleteMessageBatch", {
        "QueueUrl": url,
        "DeleteMessageBatchRequestEntry.1.Id": "d1",
        "DeleteMessageBatchRequestEntry.1.ReceiptHandle": msgs[0].findtext("ReceiptHandle"),
        "DeleteMessageBatchRequestEntry.2.Id": "d2",
        "DeleteMessageBatchRequestEntry.2.ReceiptHandle": "garbage",
    })
    assert status == 200
    res = result(root, "DeleteMessageBatch")
    assert [e.findtext("Id") for e in res.findall("DeleteMessageBatchResultEntry")] == ["d1"]
    [err] = res.findall("BatchResultErrorEntry")
    assert err.findtext("Id") == "d2"
    assert err.findtext("SenderFault") == "true"
    assert err.findtext("Code") == "ReceiptHandleIsInvalid"


def test_attributes_tags_permissions_purge(new_queue, query, target, queue_arn):
    url = new_queue()
    status, root = query("SetQueueAttributes", {"QueueUrl": url, "Attribute.1.Name": "VisibilityTimeout",
                                                "Attribute.1.Value": "77", "Attribute.2.Name": "DelaySeconds",
                                                "Attribute.2.Value": "3"})
    assert status == 200
    result(root, "SetQueueAttributes")
    status, root = query("GetQueueAttributes", {"QueueUrl": url, "AttributeName.1": "VisibilityTimeout",
                                                "AttributeName.2": "DelaySeconds"})
    assert xml_name_values(result(root, "GetQueueAttributes")) == {"VisibilityTimeout": "77", "DelaySeconds": "3"}

    status, root = query("TagQueue", {"QueueUrl": url, "Tag.1.Key": "a", "Tag.1.Value": "1",
                                      "Tag.2.Key": "b", "Tag.2.Value": "2"})
    assert status == 200
    result(root, "TagQueue")
    status, root = query("UntagQueue", {"QueueUrl": url, "TagKey.1": "a"})
    assert status == 200
    status, root = query("ListQueueTags", {"QueueUrl": url})
    assert xml_name_values(result(root, "ListQueueTags"), "Tag", "Key", "Value") == {"b": "2"}

    status, root = query("AddPermission", {"QueueUrl": url, "Label": "lbl", "AWSAccountId.1": "111111111111",
                                           "ActionName.1": "SendMessage"})
    assert status == 200, ET.tostring(root)
    status, root = query("GetQueueAttributes", {"QueueUrl": url, "AttributeName.1": "Policy"})
    policy = xml_name_values(result(root, "GetQueueAttributes"))["Policy"]
    assert '"lbl"' in policy and "111111111111" in policy
    status, root = query("RemovePermission", {"QueueUrl": url, "Label": "lbl"})
    assert status == 200
    result(root, "RemovePermission")

    status, root = query("PurgeQueue", {"QueueUrl": url})
    assert status == 200
    result(root, "PurgeQueue")


@xfail_moto("Tags.N.Key/Value is not understood")
def test_tag_queue_java_sdk_v1_parameter_names(new_queue, query):
    """The AWS SDK for Java v1 sends TagQueue tags as Tags.N.Key/Value instead of Tag.N.Key/Value."""
    url = new_queue()
    status, root = query("TagQueue", {"QueueUrl": url, "Tags.1.Key": "k1", "Tags.1.Value": "v1"})
    assert status == 200, ET.tostring(root)
    status, root = query("ListQueueTags", {"QueueUrl": url})
    assert xml_name_values(result(root, "ListQueueTags"), "Tag", "Key", "Value") == {"k1": "v1"}


def test_dead_letter_source_queues(new_queue, query, queue_arn):
    dlq = new_queue("dlq")
    arn = queue_arn(dlq)
    status, root = query("CreateQueue", {"QueueName": unique("src"), "Attribute.1.Name": "RedrivePolicy",
                                         "Attribute.1.Value": f'{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"3"}}'})
    assert status == 200, ET.tostring(root)
    src = result(root, "CreateQueue").findtext("QueueUrl")
    status, root = query("ListDeadLetterSourceQueues", {"QueueUrl": dlq})
    assert status == 200
    assert [e.text for e in result(root, "ListDeadLetterSourceQueues").findall("QueueUrl")] == [src]


def test_fifo_send_returns_sequence_number(new_queue, query):
    url = new_queue(fifo=True)
    status, root = query("SendMessage", {"QueueUrl": url, "MessageBody": "f", "MessageGroupId": "g",
                                         "MessageDeduplicationId": "d"})
    assert status == 200
    assert result(root, "SendMessage").findtext("SequenceNumber").isdigit()
    status, root = query("SendMessage", {"QueueUrl": url, "MessageBody": "f", "MessageDeduplicationId": "d2"})
    assert status == 400
    assert xml_error(root)["Code"] == "MissingParameter"


@xfail_moto("GET requests on a queue path answer 500")
def test_get_queue_attributes_on_queue_path(new_queue, query):
    url = new_queue()
    status, root = query("GetQueueAttributes", {"AttributeName.1": "QueueArn"}, method="GET", url=url)
    assert status == 200
    assert list(xml_name_values(result(root, "GetQueueAttributes"))) == ["QueueArn"]


# ------------------------------------------------------------------ errors
@xfail_moto("an unknown Action answers 500")
def test_unknown_action(query):
    for method in ("POST", "GET"):
        status, root = query("FooBar", {}, method=method)
        assert status == 400
        err = xml_error(root)
        assert (err["Type"], err["Code"]) == ("Sender", "InvalidAction")
        assert "FooBar" in err["Message"]


@xfail_moto("a missing MessageBody answers an empty JSON document")
def test_missing_parameter(new_queue, query):
    status, root = query("SendMessage", {"QueueUrl": new_queue()})
    assert status == 400
    err = xml_error(root)
    assert (err["Type"], err["Code"]) == ("Sender", "MissingParameter")
    assert "MessageBody" in err["Message"]


def test_unknown_attribute_name(new_queue, query):
    status, root = query("GetQueueAttributes", {"QueueUrl": new_queue(), "AttributeName.1": "Foobar"})
    assert status == 400
    err = xml_error(root)
    assert err["Code"] == "InvalidAttributeName"
    assert "Foobar" in err["Message"]


def test_batch_errors(new_queue, query):
    url = new_queue()
    params = {"QueueUrl": url}
    for i in range(1, 12):
        params[f"SendMessageBatchRequestEntry.{i}.Id"] = f"m{i}"
        params[f"SendMessageBatchRequestEntry.{i}.MessageBody"] = "x"
    status, root = query("SendMessageBatch", params)
    assert status == 400
    assert xml_error(root)["Code"] == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    status, root = query("SendMessageBatch", {"QueueUrl": url})
    assert status == 400
    assert xml_error(root)["Code"] == "AWS.SimpleQueueService.EmptyBatchRequest"


def test_nonexistent_queue_error_shape(query_raw, target):
    r = query_raw("GetQueueAttributes", {"QueueUrl": f"{target.endpoint}/{target.account}/{unique('gone')}",
                                         "AttributeName.1": "All"})
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("text/xml")
    raw = ET.fromstring(r.content)
    assert raw.tag == f"{{{SQS_XMLNS}}}ErrorResponse"
    root = parse_xml(r.content)
    err = xml_error(root)
    assert (err["Type"], err["Code"]) == ("Sender", "AWS.SimpleQueueService.NonExistentQueue")
    assert err["Message"]
    assert root.findtext("RequestId")


def test_query_create_queue_conflict_and_invalid_value(query):
    name = unique("conf")
    status, _ = query("CreateQueue", {"QueueName": name, "Attribute.1.Name": "DelaySeconds", "Attribute.1.Value": "1"})
    assert status == 200
    status, root = query("CreateQueue", {"QueueName": name, "Attribute.1.Name": "DelaySeconds", "Attribute.1.Value": "2"})
    assert status == 400
    assert xml_error(root)["Code"] == "QueueAlreadyExists"
