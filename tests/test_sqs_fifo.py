"""FIFO queues: naming, attributes, ordering, message groups, deduplication."""

import time

import pytest
from botocore.exceptions import ClientError

from sqs_helpers import error_code, md5_hex, queue_attrs, unique, xfail_moto


def bodies(resp):
    return [m["Body"] for m in resp.get("Messages", [])]


# ------------------------------------------------------------ naming/attributes
def test_fifo_queue_default_attributes(sqs, target):
    name = unique("fifo") + ".fifo"
    url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]
    assert url.endswith(f"/{target.account}/{name}")
    attrs = queue_attrs(sqs, url)
    assert attrs["FifoQueue"] == "true"
    assert attrs["ContentBasedDeduplication"] == "false"
    assert attrs["QueueArn"] == target.queue_arn(name)
    assert attrs["VisibilityTimeout"] == "30"


def test_fifo_high_throughput_defaults(sqs, new_queue):
    attrs = queue_attrs(sqs, new_queue(fifo=True))
    assert attrs["DeduplicationScope"] == "queue"
    assert attrs["FifoThroughputLimit"] == "perQueue"


@xfail_moto("moto answers InvalidParameterValue")
def test_fifo_name_requires_suffix(sqs):
    # Without the suffix the queue is a standard one, which does not know the attribute.
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=unique("nosuffix"), Attributes={"FifoQueue": "true"})
    assert error_code(e.value) == "InvalidAttributeName"


@xfail_moto("a standard queue may be named *.fifo")
def test_standard_queue_cannot_have_fifo_suffix(sqs):
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=unique("std") + ".fifo")
    assert error_code(e.value) == "InvalidParameterValue"


def test_fifo_name_length_includes_suffix(sqs):
    ok = ("f" * 75) + ".fifo"
    assert sqs.create_queue(QueueName=ok, Attributes={"FifoQueue": "true"})["QueueUrl"].endswith("/" + ok)
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=("f" * 76) + ".fifo", Attributes={"FifoQueue": "true"})
    assert error_code(e.value) == "InvalidParameterValue"


def test_fifo_create_idempotency(sqs):
    name = unique("idem") + ".fifo"
    attrs = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    assert sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"] == url
    with pytest.raises(sqs.exceptions.QueueNameExists):
        sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"})


def test_high_throughput_attributes(sqs, new_queue):
    url = new_queue(fifo=True, attributes={"DeduplicationScope": "messageGroup",
                                          "FifoThroughputLimit": "perMessageGroupId"})
    attrs = queue_attrs(sqs, url, "DeduplicationScope", "FifoThroughputLimit")
    assert attrs == {"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DeduplicationScope": "queue",
                                                       "FifoThroughputLimit": "perQueue"})
    assert queue_attrs(sqs, url, "DeduplicationScope", "FifoThroughputLimit") == {
        "DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue"}


@xfail_moto("FIFO attribute values are not validated")
@pytest.mark.parametrize("attr,value", [("DeduplicationScope", "everything"),
                                        ("FifoThroughputLimit", "perNothing"),
                                        ("ContentBasedDeduplication", "maybe")])
def test_invalid_fifo_attribute_values(sqs, new_queue, attr, value):
    with pytest.raises(ClientError) as e:
        new_queue(fifo=True, attributes={attr: value})
    assert error_code(e.value) == "InvalidAttributeValue"


@xfail_moto("changing the queue type is not rejected")
def test_queue_type_cannot_change(sqs, new_queue):
    std = new_queue()
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=std, Attributes={"FifoQueue": "true"})
    assert error_code(e.value) == "InvalidAttributeName"
    fifo = new_queue(fifo=True)
    sqs.set_queue_attributes(QueueUrl=fifo, Attributes={"FifoQueue": "true"})  # unchanged: fine
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=fifo, Attributes={"FifoQueue": "false"})
    assert error_code(e.value) == "InvalidAttributeValue"


def test_content_based_deduplication_can_be_toggled(sqs, new_queue):
    url = new_queue(fifo=True, attributes={"ContentBasedDeduplication": "true"})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"ContentBasedDeduplication": "false"})
    assert queue_attrs(sqs, url, "ContentBasedDeduplication")["ContentBasedDeduplication"] == "false"


# ------------------------------------------------------------ send validation
def test_message_group_id_required(sqs, new_queue):
    url = new_queue(fifo=True, attributes={"ContentBasedDeduplication": "true"})
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="no group")
    assert error_code(e.value) == "MissingParameter"


def test_deduplication_id_required_without_content_based_dedup(sqs, new_queue):
    url = new_queue(fifo=True)
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="no dedup", MessageGroupId="g")
    assert error_code(e.value) == "InvalidParameterValue"


def test_per_message_delay_rejected_on_fifo(sqs, new_queue):
    url = new_queue(fifo=True, attributes={"ContentBasedDeduplication": "true"})
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g", DelaySeconds=2)
    assert error_code(e.value) == "InvalidParameterValue"
    # DelaySeconds=0 is accepted
    sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g", DelaySeconds=0)


def test_queue_level_delay_applies_to_fifo(sqs, new_queue):
    url = new_queue(fifo=True, attributes={"ContentBasedDeduplication": "true", "DelaySeconds": "1"})
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g")
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    time.sleep(1.3)
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2)) == ["m0", "m1", "m2"]


@xfail_moto("SequenceNumbers are random, not increasing")
# ------------------------------------------------------------ ordering and groups
def test_order_within_group_and_sequence_numbers(sqs, new_queue):
    url = new_queue(fifo=True)
    sent = [sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g1",
                             MessageDeduplicationId=f"d{i}") for i in range(10)]
    seqs = [int(s["SequenceNumber"]) for s in sent]
    assert seqs == sorted(seqs) and len(set(seqs)) == 10
    for s, i in zip(sent, range(10)):
        assert s["MD5OfMessageBody"] == md5_hex(f"m{i}")
    r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
    msgs = r["Messages"]
    assert [m["Body"] for m in msgs] == [f"m{i}" for i in range(10)]
    assert [m["MessageId"] for m in msgs] == [s["MessageId"] for s in sent]
    for m, s, i in zip(msgs, sent, range(10)):
        a = m["Attributes"]
        assert a["MessageGroupId"] == "g1"
        assert a["MessageDeduplicationId"] == f"d{i}"
        assert a["SequenceNumber"] == s["SequenceNumber"]
        assert a["ApproximateReceiveCount"] == "1"
        assert {"SenderId", "SentTimestamp", "ApproximateFirstReceiveTimestamp"} <= set(a)


@xfail_moto("messages of one group are not returned together")
def test_groups_are_returned_group_by_group(sqs, new_queue):
    url = new_queue(fifo=True, attributes={"ContentBasedDeduplication": "true"})
    for body, group in [("g1-m1", "group-1"), ("g2-m1", "group-2"), ("g1-m2", "group-1"), ("g1-m3", "group-1")]:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    got = bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10))
    assert got == ["g1-m1", "g1-m2", "g1-m3", "g2-m1"]


def test_group_blocked_while_message_in_flight(sqs, new_queue):
    url = new_queue(fifo=True, attributes={"ContentBasedDeduplication": "true"})
    sqs.send_message(QueueUrl=url, MessageBody="A1", MessageGroupId="A")
    sqs.send_message(QueueUrl=url, MessageBody="A2", MessageGroupId="A")
    sqs.send_message(QueueUrl=url, MessageBody="B1", MessageGroupId="B")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
    assert first["Body"] == "A1"
    # A2 must not be delivered while A1 is in flight, but group B is served
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)) == ["B1"]
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == []
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["A2"]


@xfail_moto("group order is lost on redelivery")
def test_visibility_timeout_redelivers_group_in_order(sqs, new_queue):
    url = new_queue(fifo=True, attributes={"VisibilityTimeout": "1"})
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="1", MessageDeduplicationId=str(i))
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["m0", "m1", "m2"]
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == []
    time.sleep(1.5)
    r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["ApproximateReceiveCount"])
    assert bodies(r) == ["m0", "m1", "m2"]
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in r["Messages"]] == ["2", "2", "2"]


@xfail_moto("a group is not blocked while one of its messages is in flight")
def test_partial_delete_keeps_group_blocked(sqs, new_queue):
    url = new_queue(fifo=True, attributes={"ContentBasedDeduplication": "true"})
    for body, group in [("g1-m1", "1"), ("g2-m1", "2"), ("g1-m2", "1"), ("g2-m2", "2"), ("g1-m3", "1"),
                        ("g3-m1", "3")]:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)
    assert bodies(r) == ["g1-m1", "g1-m2"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=r["Messages"][0]["ReceiptHandle"])
    # g1-m2 still in flight: g1-m3 must not be delivered
    rest = bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10))
    assert sorted(rest) == ["g2-m1", "g2-m2", "g3-m1"]
    assert rest.index("g2-m1") < rest.index("g2-m2")


def test_fifo_approximate_counts(sqs, new_queue):
    url = new_queue(fifo=True, attributes={"ContentBasedDeduplication": "true"})
    for body, group in [("g1-m1", "1"), ("g1-m2", "1"), ("g1-m3", "1"), ("g2-m1", "2"), ("g3-m1", "3")]:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    assert queue_attrs(sqs, url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "5"
    r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=4)
    assert len(r["Messages"]) == 4
    assert queue_attrs(sqs, url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "1"
    for m in r["Messages"]:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert queue_attrs(sqs, url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "1"


@xfail_moto("expired FIFO receipt handles still delete")
def test_fifo_delete_with_expired_receipt_handle(sqs, new_queue):
    url = new_queue(fifo=True, attributes={"ContentBasedDeduplication": "true", "VisibilityTimeout": "1"})
    sqs.send_message(QueueUrl=url, MessageBody="g1-m1", MessageGroupId="1")
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    time.sleep(2)
    with pytest.raises(ClientError) as e:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    assert error_code(e.value) == "InvalidParameterValue"


@xfail_moto("a deduplicated send returns a new MessageId")
# ------------------------------------------------------------ deduplication
def test_dedup_by_message_deduplication_id(sqs, new_queue):
    url = new_queue(fifo=True)
    first = sqs.send_message(QueueUrl=url, MessageBody="one", MessageGroupId="g", MessageDeduplicationId="dup")
    second = sqs.send_message(QueueUrl=url, MessageBody="two", MessageGroupId="g", MessageDeduplicationId="dup")
    assert second["MessageId"] == first["MessageId"]
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)) == ["one"]
    assert queue_attrs(sqs, url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "1"


@xfail_moto("a deduplicated send returns a new MessageId")
def test_content_based_deduplication(sqs, new_queue):
    url = new_queue(fifo=True, attributes={"ContentBasedDeduplication": "true"})
    a = sqs.send_message(QueueUrl=url, MessageBody='{"foo": "bar"}', MessageGroupId="g")
    b = sqs.send_message(QueueUrl=url, MessageBody='{"foo": "bar"}', MessageGroupId="g")
    c = sqs.send_message(QueueUrl=url, MessageBody='{"foo": "baz"}', MessageGroupId="g")
    assert a["MessageId"] == b["MessageId"] != c["MessageId"]
    # an explicit dedup id wins over the content hash
    d = sqs.send_message(QueueUrl=url, MessageBody='{"foo": "bar"}', MessageGroupId="g", MessageDeduplicationId="x")
    assert d["MessageId"] != a["MessageId"]
    got = bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10))
    assert got == ['{"foo": "bar"}', '{"foo": "baz"}', '{"foo": "bar"}']


@xfail_moto("deleting a message ends its deduplication interval")
@pytest.mark.parametrize("content_based", [True, False])
def test_dedup_survives_delete(sqs, new_queue, content_based):
    attrs = {"ContentBasedDeduplication": "true"} if content_based else {}
    url = new_queue(fifo=True, attributes=attrs)
    kwargs = {} if content_based else {"MessageDeduplicationId": "dedup1"}
    sqs.send_message(QueueUrl=url, MessageBody="item", MessageGroupId="g", **kwargs)
    msg = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
    sqs.send_message(QueueUrl=url, MessageBody="item", MessageGroupId="g", **kwargs)
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []


def test_dedup_scope_queue_spans_groups(sqs, new_queue):
    url = new_queue(fifo=True)
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g1", MessageDeduplicationId="same")
    sqs.send_message(QueueUrl=url, MessageBody="y", MessageGroupId="g2", MessageDeduplicationId="same")
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["x"]


@xfail_moto("DeduplicationScope=messageGroup is not implemented")
def test_dedup_scope_message_group(sqs, new_queue):
    url = new_queue(fifo=True, attributes={"DeduplicationScope": "messageGroup",
                                          "FifoThroughputLimit": "perMessageGroupId"})
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g1", MessageDeduplicationId="same")
    sqs.send_message(QueueUrl=url, MessageBody="y", MessageGroupId="g2", MessageDeduplicationId="same")
    sqs.send_message(QueueUrl=url, MessageBody="z", MessageGroupId="g1", MessageDeduplicationId="same")
    assert sorted(bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10))) == ["x", "y"]


def test_fifo_batch_keeps_order_and_reports_sequence_numbers(sqs, new_queue):
    url = new_queue(fifo=True)
    entries = [{"Id": f"e{i}", "MessageBody": f"b{i}", "MessageGroupId": "g" if i % 2 == 0 else "h",
                "MessageDeduplicationId": f"dd{i}"} for i in range(10)]
    r = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert len(r["Successful"]) == 10 and not r.get("Failed")
    for ok in r["Successful"]:
        assert ok["SequenceNumber"].isdigit()
        assert ok["MD5OfMessageBody"] == md5_hex("b" + ok["Id"][1:])
    got = []
    for _ in range(5):
        resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        got += resp.get("Messages", [])
        for m in resp.get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        if len(got) == 10:
            break
    g = [m["Body"] for m in got if int(m["Body"][1:]) % 2 == 0]
    h = [m["Body"] for m in got if int(m["Body"][1:]) % 2 == 1]
    assert g == ["b0", "b2", "b4", "b6", "b8"]
    assert h == ["b1", "b3", "b5", "b7", "b9"]


@xfail_moto("answers MissingParameter where AWS answers InvalidParameterValue")
def test_fifo_batch_missing_group_id_fails_request(sqs, new_queue):
    url = new_queue(fifo=True)
    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "1"},
            {"Id": "b", "MessageBody": "y", "MessageDeduplicationId": "2"}])
    assert error_code(e.value) == "InvalidParameterValue"


def test_fifo_change_visibility_zero_releases_message(sqs, new_queue):
    url = new_queue(fifo=True, attributes={"ContentBasedDeduplication": "true"})
    sqs.send_message(QueueUrl=url, MessageBody="g1-m1", MessageGroupId="1")
    sqs.send_message(QueueUrl=url, MessageBody="g1-m2", MessageGroupId="1")
    r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)
    assert bodies(r) == ["g1-m1"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=r["Messages"][0]["ReceiptHandle"], VisibilityTimeout=0)
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["g1-m1", "g1-m2"]


@xfail_moto("ReceiveRequestAttemptId is not deduplicated")
def test_receive_request_attempt_id_returns_the_same_messages(sqs, new_queue):
    url = new_queue(fifo=True, attributes={"ContentBasedDeduplication": "true"})
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="attempt-1")
    assert bodies(first) == ["m0", "m1"]
    retry = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="attempt-1")
    assert [m["MessageId"] for m in retry["Messages"]] == [m["MessageId"] for m in first["Messages"]]
    assert [m["ReceiptHandle"] for m in retry["Messages"]] == [m["ReceiptHandle"] for m in first["Messages"]]
    # Another attempt finds the group in flight.
    assert sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="attempt-2").get("Messages", []) == []
    for m in retry["Messages"]:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["m2"]
