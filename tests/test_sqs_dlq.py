"""Dead-letter queues: RedrivePolicy, RedriveAllowPolicy, ListDeadLetterSourceQueues,
and DLQ redrive with StartMessageMoveTask / ListMessageMoveTasks / CancelMessageMoveTask."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from sqs_helpers import error_code, http_status, queue_attrs, wait_until, xfail_moto


def redrive(arn, count):
    return json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": count})


@pytest.fixture
def dlq_pair(sqs, new_queue, queue_arn):
    """(source_url, dlq_url, dlq_arn) with maxReceiveCount=2 and a 1 s visibility timeout."""
    dlq = new_queue("dlq")
    dlq_arn = queue_arn(dlq)
    src = new_queue("src", attributes={"VisibilityTimeout": "1", "RedrivePolicy": redrive(dlq_arn, 2)})
    return src, dlq, dlq_arn


def test_message_moves_to_dlq_after_max_receive_count(sqs, dlq_pair):
    src, dlq, _ = dlq_pair
    attrs = {"k": {"DataType": "String", "StringValue": "v"}}
    sent = sqs.send_message(QueueUrl=src, MessageBody="poison", MessageAttributes=attrs)
    counts = []
    for _ in range(2):
        r = sqs.receive_message(QueueUrl=src, WaitTimeSeconds=2, MessageSystemAttributeNames=["All"])
        [m] = r["Messages"]
        assert m["MessageId"] == sent["MessageId"]
        counts.append(m["Attributes"]["ApproximateReceiveCount"])
        sent_ts = m["Attributes"]["SentTimestamp"]
        time.sleep(1.3)
    assert counts == ["1", "2"]
    # the third receive attempt finds the message over its limit and moves it
    assert sqs.receive_message(QueueUrl=src, WaitTimeSeconds=1).get("Messages", []) == []
    r = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=5, MessageAttributeNames=["All"],
                            MessageSystemAttributeNames=["SentTimestamp"])
    [dead] = r["Messages"]
    assert dead["MessageId"] == sent["MessageId"]
    assert dead["Body"] == "poison"
    assert dead["MessageAttributes"] == attrs
    assert dead["Attributes"]["SentTimestamp"] == sent_ts
    assert queue_attrs(sqs, src, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible") == {
        "ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_deleted_message_does_not_reach_dlq(sqs, dlq_pair):
    src, dlq, _ = dlq_pair
    sqs.send_message(QueueUrl=src, MessageBody="handled")
    m = sqs.receive_message(QueueUrl=src, WaitTimeSeconds=2)["Messages"][0]
    time.sleep(1.3)
    m = sqs.receive_message(QueueUrl=src, WaitTimeSeconds=2)["Messages"][0]
    sqs.delete_message(QueueUrl=src, ReceiptHandle=m["ReceiptHandle"])
    time.sleep(1.3)
    assert sqs.receive_message(QueueUrl=src, WaitTimeSeconds=1).get("Messages", []) == []
    assert sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", []) == []


def test_fifo_dead_letter_queue(sqs, new_queue, queue_arn):
    dlq = new_queue("dlq", fifo=True, attributes={"ContentBasedDeduplication": "true"})
    src = new_queue("src", fifo=True, attributes={"ContentBasedDeduplication": "true", "VisibilityTimeout": "60",
                                                 "RedrivePolicy": redrive(queue_arn(dlq), 2)})
    sent = sqs.send_message(QueueUrl=src, MessageBody="foobar", MessageGroupId="1")
    for _ in range(3):
        sqs.receive_message(QueueUrl=src, WaitTimeSeconds=1, VisibilityTimeout=0)
    r = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=5, MessageSystemAttributeNames=["MessageGroupId"])
    [m] = r["Messages"]
    assert (m["MessageId"], m["Body"]) == (sent["MessageId"], "foobar")
    assert m["Attributes"]["MessageGroupId"] == "1"


def test_redrive_policy_attribute_round_trip(sqs, new_queue, queue_arn):
    dlq_arn = queue_arn(new_queue("dlq"))
    src = new_queue(attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                                             "maxReceiveCount": "10"})})
    policy = json.loads(queue_attrs(sqs, src, "RedrivePolicy")["RedrivePolicy"])
    assert policy == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 10}
    sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": redrive(dlq_arn, 5)})
    assert json.loads(queue_attrs(sqs, src)["RedrivePolicy"])["maxReceiveCount"] == 5


def test_list_dead_letter_source_queues(sqs, new_queue, queue_arn):
    dlq = new_queue("dlq")
    arn = queue_arn(dlq)
    s1 = new_queue("s1", attributes={"RedrivePolicy": redrive(arn, 50)})
    s2 = new_queue("s2", attributes={"RedrivePolicy": redrive(arn, 50)})
    new_queue("unrelated")
    assert sorted(sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"]) == sorted([s1, s2])
    assert sqs.list_dead_letter_source_queues(QueueUrl=s1).get("queueUrls", []) == []
    # clearing the redrive policy removes the source
    sqs.set_queue_attributes(QueueUrl=s2, Attributes={"RedrivePolicy": ""})
    assert "RedrivePolicy" not in queue_attrs(sqs, s2)
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [s1]


@xfail_moto("ListDeadLetterSourceQueues ignores MaxResults/NextToken")
def test_list_dead_letter_source_queues_pagination(sqs, new_queue, queue_arn):
    dlq = new_queue("dlq")
    arn = queue_arn(dlq)
    sources = {new_queue(f"s{i}", attributes={"RedrivePolicy": redrive(arn, 3)}) for i in range(3)}
    seen, token = [], None
    for _ in range(10):
        kwargs = {"QueueUrl": dlq, "MaxResults": 1}
        if token:
            kwargs["NextToken"] = token
        r = sqs.list_dead_letter_source_queues(**kwargs)
        assert len(r.get("queueUrls", [])) <= 1
        seen += r.get("queueUrls", [])
        token = r.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(sources)


def test_list_dead_letter_source_queues_nonexistent(sqs, new_queue):
    url = new_queue()
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as e:
        sqs.list_dead_letter_source_queues(QueueUrl=url)
    assert error_code(e.value) == "AWS.SimpleQueueService.NonExistentQueue"


@xfail_moto("RedrivePolicy is only partially validated")
@pytest.mark.parametrize("case", ["max-zero", "max-1001", "max-not-number", "no-arn", "no-count", "bad-arn",
                                  "missing-dlq", "not-json"])
def test_invalid_redrive_policies(sqs, new_queue, queue_arn, target, case):
    dlq_arn = queue_arn(new_queue("dlq"))
    policy = {
        "max-zero": redrive(dlq_arn, 0),
        "max-1001": redrive(dlq_arn, 1001),
        "max-not-number": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "invalid"}),
        "no-arn": json.dumps({"maxReceiveCount": 5}),
        "no-count": json.dumps({"deadLetterTargetArn": dlq_arn}),
        "bad-arn": redrive("dummy", 42),
        "missing-dlq": redrive(target.queue_arn("no-such-queue-xyz"), 3),
        "not-json": "{nope",
    }[case]
    src = new_queue()
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": policy})
    assert error_code(e.value) == "InvalidParameterValue"
    assert "RedrivePolicy" not in queue_attrs(sqs, src)


@xfail_moto("a standard DLQ for a FIFO source is reported as InvalidParameterCombination")
def test_fifo_source_needs_fifo_dlq(sqs, new_queue, queue_arn):
    std_dlq = queue_arn(new_queue("dlq"))
    with pytest.raises(ClientError) as e:
        new_queue(fifo=True, attributes={"RedrivePolicy": redrive(std_dlq, 3)})
    assert error_code(e.value) == "InvalidParameterValue"


# ---------------------------------------------------------- RedriveAllowPolicy
@xfail_moto("RedriveAllowPolicy is an unknown attribute")
def test_redrive_allow_policy_round_trip(sqs, new_queue):
    policy = {"redrivePermission": "denyAll"}
    dlq = new_queue("dlq", attributes={"RedriveAllowPolicy": json.dumps(policy)})
    assert json.loads(queue_attrs(sqs, dlq, "RedriveAllowPolicy")["RedriveAllowPolicy"]) == policy


@xfail_moto("RedriveAllowPolicy is not enforced")
def test_redrive_allow_policy_deny_all(sqs, new_queue, queue_arn):
    dlq = new_queue("dlq", attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})})
    with pytest.raises(ClientError) as e:
        new_queue("src", attributes={"RedrivePolicy": redrive(queue_arn(dlq), 3)})
    assert error_code(e.value) == "InvalidParameterValue"


@xfail_moto("RedriveAllowPolicy is not enforced")
def test_redrive_allow_policy_by_queue(sqs, new_queue, queue_arn):
    allowed = new_queue("allowed")
    other = new_queue("other")
    dlq = new_queue("dlq", attributes={"RedriveAllowPolicy": json.dumps(
        {"redrivePermission": "byQueue", "sourceQueueArns": [queue_arn(allowed)]})})
    sqs.set_queue_attributes(QueueUrl=allowed, Attributes={"RedrivePolicy": redrive(queue_arn(dlq), 3)})
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=other, Attributes={"RedrivePolicy": redrive(queue_arn(dlq), 3)})
    assert error_code(e.value) == "InvalidParameterValue"
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [allowed]


@xfail_moto("RedriveAllowPolicy is not validated")
@pytest.mark.parametrize("policy", [
    {"redrivePermission": "byQueue"},
    {"redrivePermission": "byQueue", "sourceQueueArns": [f"arn:aws:sqs:us-east-1:000000000000:q{i}" for i in range(11)]},
    {"redrivePermission": "allowAll", "sourceQueueArns": ["arn:aws:sqs:us-east-1:000000000000:q"]},
    {"redrivePermission": "denyAll", "sourceQueueArns": ["arn:aws:sqs:us-east-1:000000000000:q"]},
    {"redrivePermission": "sometimes"},
    "not json",
], ids=["byQueue-without-arns", "byQueue-11-arns", "allowAll-with-arns", "denyAll-with-arns", "bad-permission",
        "not-json"])
def test_invalid_redrive_allow_policies(sqs, new_queue, policy):
    url = new_queue()
    value = policy if isinstance(policy, str) else json.dumps(policy)
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedriveAllowPolicy": value})
    assert error_code(e.value) in ("InvalidParameterValue", "InvalidAttributeValue")


# ---------------------------------------------------------- message move tasks
def _fill_dlq_by_redrive(sqs, src, dlq, n):
    for i in range(n):
        sqs.send_message(QueueUrl=src, MessageBody=f"dead-{i}")
    # maxReceiveCount=1: receive everything once, then the next receive moves it
    def moved():
        sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return queue_attrs(sqs, dlq, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == str(n)
    wait_until(moved, timeout=10, interval=0.2, message=f"{n} messages in the DLQ")


def _wait_task(sqs, dlq_arn, status, timeout=15.0):
    def check():
        results = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        return results[0] if results and results[0]["Status"] == status else None
    return wait_until(check, timeout=timeout, interval=0.2, message=f"move task {status}")


@pytest.fixture
def redrive_setup(sqs, new_queue, queue_arn):
    dlq = new_queue("dlq")
    dlq_arn = queue_arn(dlq)
    src = new_queue("src", attributes={"RedrivePolicy": redrive(dlq_arn, 1)})
    return src, dlq, dlq_arn


@xfail_moto("message move tasks are not implemented")
def test_move_task_back_to_original_source(sqs, redrive_setup, queue_arn):
    src, dlq, dlq_arn = redrive_setup
    _fill_dlq_by_redrive(sqs, src, dlq, 2)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert handle
    task = _wait_task(sqs, dlq_arn, "COMPLETED")
    assert task["SourceArn"] == dlq_arn
    assert "DestinationArn" not in task
    assert task["ApproximateNumberOfMessagesMoved"] == 2
    assert task["ApproximateNumberOfMessagesToMove"] == 2
    assert isinstance(task["StartedTimestamp"], int) and task["StartedTimestamp"] > 0
    assert "TaskHandle" not in task  # only running tasks show their handle
    assert queue_attrs(sqs, dlq, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "0"
    assert queue_attrs(sqs, src, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "2"


@xfail_moto("message move tasks are not implemented")
def test_move_task_to_destination_and_listing(sqs, redrive_setup, new_queue, queue_arn):
    src, dlq, dlq_arn = redrive_setup
    dest = new_queue("dest")
    dest_arn = queue_arn(dest)
    for i in range(3):
        sqs.send_message(QueueUrl=dlq, MessageBody=f"direct-{i}")
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=dest_arn)
    first = _wait_task(sqs, dlq_arn, "COMPLETED")
    assert first["DestinationArn"] == dest_arn
    assert first["ApproximateNumberOfMessagesMoved"] == 3
    got = sqs.receive_message(QueueUrl=dest, MaxNumberOfMessages=10, WaitTimeSeconds=2)["Messages"]
    assert sorted(m["Body"] for m in got) == ["direct-0", "direct-1", "direct-2"]

    sqs.send_message(QueueUrl=dlq, MessageBody="second round")
    time.sleep(1.1)  # distinct StartedTimestamp
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=dest_arn, MaxNumberOfMessagesPerSecond=100)
    second = _wait_task(sqs, dlq_arn, "COMPLETED")
    assert second["ApproximateNumberOfMessagesMoved"] == 1
    assert second["MaxNumberOfMessagesPerSecond"] == 100
    # default MaxResults is 1 (the most recent task); up to 10 on request, newest first
    assert len(sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]) == 1
    both = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
    assert [t["ApproximateNumberOfMessagesMoved"] for t in both] == [1, 3]
    assert both[0]["StartedTimestamp"] >= both[1]["StartedTimestamp"]


@xfail_moto("message move tasks are not implemented")
def test_cancel_running_move_task(sqs, redrive_setup, new_queue, queue_arn):
    src, dlq, dlq_arn = redrive_setup
    dest_arn = queue_arn(new_queue("dest"))
    sqs.send_message_batch(QueueUrl=dlq, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(10)])
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=dest_arn,
                                         MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    running = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
    assert running["Status"] == "RUNNING"
    assert running["TaskHandle"] == handle
    assert running["MaxNumberOfMessagesPerSecond"] == 1
    assert running["ApproximateNumberOfMessagesToMove"] == 10
    # only one active task per source queue
    with pytest.raises(ClientError) as e:
        sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=dest_arn)
    assert error_code(e.value) == "InvalidParameterValue"
    cancelled = sqs.cancel_message_move_task(TaskHandle=handle)
    assert isinstance(cancelled["ApproximateNumberOfMessagesMoved"], int)
    task = _wait_task(sqs, dlq_arn, "CANCELLED", timeout=10)
    assert task["ApproximateNumberOfMessagesMoved"] < 10
    moved = task["ApproximateNumberOfMessagesMoved"]
    assert int(queue_attrs(sqs, dlq, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"]) == 10 - moved
    # a finished task cannot be cancelled
    with pytest.raises(ClientError) as e:
        sqs.cancel_message_move_task(TaskHandle=handle)
    assert 400 <= http_status(e.value) < 500


@xfail_moto("message move tasks are not implemented")
def test_move_task_errors(sqs, new_queue, queue_arn, redrive_setup, target):
    src, dlq, dlq_arn = redrive_setup
    plain_arn = queue_arn(new_queue("plain"))
    with pytest.raises(ClientError) as e:
        sqs.start_message_move_task(SourceArn=plain_arn)
    assert error_code(e.value) == "InvalidParameterValue"  # not a dead-letter queue
    with pytest.raises(ClientError) as e:
        sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=target.queue_arn("no-such-dest-queue"))
    assert error_code(e.value) == "ResourceNotFoundException"
    assert http_status(e.value) == 404
    with pytest.raises(ClientError) as e:
        sqs.cancel_message_move_task(TaskHandle="not-a-task-handle")
    assert error_code(e.value) == "InvalidParameterValue"
