"""SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch."""

import time

import pytest
from botocore.exceptions import ClientError

from sqs_helpers import error_code, md5_hex, md5_of_attributes, queue_attrs, receive_all, xfail_moto


def test_send_message_batch(sqs, new_queue):
    url = new_queue()
    attrs = {"k": {"DataType": "String", "StringValue": "v"}, "n": {"DataType": "Number", "StringValue": "7"}}
    entries = [{"Id": f"id-{i}", "MessageBody": f"body-{i}"} for i in range(9)]
    entries.append({"Id": "with_attrs", "MessageBody": "attrs", "MessageAttributes": attrs, "DelaySeconds": 0})
    r = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert not r.get("Failed")
    by_id = {e["Id"]: e for e in r["Successful"]}
    assert set(by_id) == {e["Id"] for e in entries}
    for e in entries:
        assert by_id[e["Id"]]["MD5OfMessageBody"] == md5_hex(e["MessageBody"])
        assert by_id[e["Id"]]["MessageId"]
    assert by_id["with_attrs"]["MD5OfMessageAttributes"] == md5_of_attributes(attrs)
    assert "MD5OfMessageAttributes" not in by_id["id-0"]
    got = receive_all(sqs, url, expected=10, MessageAttributeNames=["All"])
    assert sorted(m["Body"] for m in got) == sorted(e["MessageBody"] for e in entries)
    assert {m["MessageId"] for m in got} == {e["MessageId"] for e in r["Successful"]}
    [with_attrs] = [m for m in got if m["Body"] == "attrs"]
    assert with_attrs["MessageAttributes"] == attrs


def test_send_batch_per_entry_delay(sqs, new_queue):
    url = new_queue()
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "now", "MessageBody": "now"}, {"Id": "later", "MessageBody": "later", "DelaySeconds": 2}])
    assert queue_attrs(sqs, url, "ApproximateNumberOfMessagesDelayed")["ApproximateNumberOfMessagesDelayed"] == "1"
    r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
    assert [m["Body"] for m in r["Messages"]] == ["now"]
    time.sleep(2.2)
    r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
    assert [m["Body"] for m in r["Messages"]] == ["later"]


@xfail_moto("invalid characters in a batch entry are accepted")
def test_send_batch_mixed_success(sqs, new_queue):
    url = new_queue()
    entries = [{"Id": str(i), "MessageBody": str(i)} for i in range(9)]
    entries.append({"Id": "9", "MessageBody": "\x01"})
    r = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert len(r["Successful"]) == 9
    [failed] = r["Failed"]
    assert failed["Id"] == "9"
    assert failed["SenderFault"] is True
    assert failed["Code"] == "InvalidMessageContents"
    assert failed.get("Message")
    got = receive_all(sqs, url, expected=9)
    assert sorted(m["Body"] for m in got) == [str(i) for i in range(9)]


def test_send_batch_too_many_entries(sqs, new_queue):
    url = new_queue()
    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": "x"} for i in range(11)])
    assert error_code(e.value) == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": "x"} for i in range(20)])
    assert queue_attrs(sqs, url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "0"


def test_send_batch_empty(sqs, new_queue):
    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(QueueUrl=new_queue(), Entries=[])
    assert error_code(e.value) == "AWS.SimpleQueueService.EmptyBatchRequest"


def test_send_batch_duplicate_ids(sqs, new_queue):
    url = new_queue()
    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "same", "MessageBody": "a"},
                                                     {"Id": "same", "MessageBody": "b"}])
    assert error_code(e.value) == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    assert queue_attrs(sqs, url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "0"


@pytest.mark.parametrize("bad_id", ["invalid:id", "", "x" * 81, "sp ace", "dot.ted"])
def test_send_batch_invalid_entry_id(sqs, new_queue, bad_id):
    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(QueueUrl=new_queue(), Entries=[{"Id": bad_id, "MessageBody": "x"}])
    assert error_code(e.value) == "AWS.SimpleQueueService.InvalidBatchEntryId"


def test_send_batch_entry_id_of_80_characters_accepted(sqs, new_queue):
    r = sqs.send_message_batch(QueueUrl=new_queue(), Entries=[{"Id": "A-_z" * 20, "MessageBody": "x"}])
    assert r["Successful"][0]["Id"] == "A-_z" * 20


def test_send_batch_total_size_limit(sqs, new_queue):
    url = new_queue()
    # each entry is fine on its own; together they exceed 1 MiB
    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": "a" * 120_000}
                                                     for i in range(10)])
    assert error_code(e.value) == "AWS.SimpleQueueService.BatchRequestTooLong"
    # exactly 1 MiB in total is accepted
    r = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "a" * 524_288}, {"Id": "b", "MessageBody": "b" * 524_288}])
    assert len(r["Successful"]) == 2


# ------------------------------------------------------------ DeleteMessageBatch
def test_delete_message_batch(sqs, new_queue):
    url = new_queue()
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(10)])
    got = receive_all(sqs, url, expected=10, delete=False)
    assert len(got) == 10
    r = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]}
                                                       for i, m in enumerate(got)])
    assert sorted(e["Id"] for e in r["Successful"]) == sorted(f"d{i}" for i in range(10))
    assert not r.get("Failed")
    assert queue_attrs(sqs, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible") == {
        "ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_delete_message_batch_mixed_success(sqs, new_queue):
    url = new_queue()
    sqs.send_message(QueueUrl=url, MessageBody="real")
    msg = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)["Messages"][0]
    r = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": "good", "ReceiptHandle": msg["ReceiptHandle"]},
        {"Id": "bad", "ReceiptHandle": "garbage"}])
    assert [e["Id"] for e in r["Successful"]] == ["good"]
    [failed] = r["Failed"]
    assert failed["Id"] == "bad"
    assert failed["SenderFault"] is True
    assert failed["Code"] == "ReceiptHandleIsInvalid"
    assert queue_attrs(sqs, url, "ApproximateNumberOfMessagesNotVisible")["ApproximateNumberOfMessagesNotVisible"] == "0"


@xfail_moto("more than 10 delete entries are accepted")
def test_delete_batch_request_errors(sqs, new_queue):
    url = new_queue()
    with pytest.raises(ClientError) as e:
        sqs.delete_message_batch(QueueUrl=url, Entries=[])
    assert error_code(e.value) == "AWS.SimpleQueueService.EmptyBatchRequest"
    with pytest.raises(ClientError) as e:
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": f"h{i}"} for i in range(11)])
    assert error_code(e.value) == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    with pytest.raises(ClientError) as e:
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": "h1"},
                                                        {"Id": "x", "ReceiptHandle": "h2"}])
    assert error_code(e.value) == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    for bad_id in ("", "testLongId" * 10, "invalid:id"):
        with pytest.raises(ClientError) as e:
            sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": bad_id, "ReceiptHandle": "testHandle1"}])
        assert error_code(e.value) == "AWS.SimpleQueueService.InvalidBatchEntryId"


# ---------------------------------------------------- ChangeMessageVisibilityBatch
def test_change_message_visibility_batch(sqs, new_queue):
    url = new_queue()
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "a"}, {"Id": "b", "MessageBody": "b"},
                                                 {"Id": "c", "MessageBody": "c"}])
    got = receive_all(sqs, url, expected=3, delete=False, visibility=2)
    handles = {m["Body"]: m["ReceiptHandle"] for m in got}
    assert sorted(handles) == ["a", "b", "c"]
    r = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "ea", "ReceiptHandle": handles["a"], "VisibilityTimeout": 30},
        {"Id": "eb", "ReceiptHandle": handles["b"], "VisibilityTimeout": 0},
        {"Id": "bad", "ReceiptHandle": "garbage", "VisibilityTimeout": 30},
    ])
    assert sorted(e["Id"] for e in r["Successful"]) == ["ea", "eb"]
    [failed] = r["Failed"]
    assert failed["Id"] == "bad" and failed["SenderFault"] is True
    assert failed["Code"] == "ReceiptHandleIsInvalid"
    # b is visible right away; c comes back when its 2 s run out; a stays hidden for 30 s
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
    assert [m["Body"] for m in first.get("Messages", [])] == ["b"]
    time.sleep(2.2)
    later = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=1)
    assert [m["Body"] for m in later.get("Messages", [])] == ["c"]


@xfail_moto("more than 10 change-visibility entries are accepted")
def test_change_visibility_batch_request_errors(sqs, new_queue):
    url = new_queue()
    with pytest.raises(ClientError) as e:
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[])
    assert error_code(e.value) == "AWS.SimpleQueueService.EmptyBatchRequest"
    with pytest.raises(ClientError) as e:
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": f"h{i}", "VisibilityTimeout": 5} for i in range(11)])
    assert error_code(e.value) == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    with pytest.raises(ClientError) as e:
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": "x", "ReceiptHandle": "h1", "VisibilityTimeout": 5},
            {"Id": "x", "ReceiptHandle": "h2", "VisibilityTimeout": 5}])
    assert error_code(e.value) == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    with pytest.raises(ClientError) as e:
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": "a:b", "ReceiptHandle": "h", "VisibilityTimeout": 5}])
    assert error_code(e.value) == "AWS.SimpleQueueService.InvalidBatchEntryId"
