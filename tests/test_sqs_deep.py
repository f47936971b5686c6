"""What Stratus keeps beside the messages so that deep queues stay fast (a message count per
queue; each FIFO group's order and oldest message) must agree with the messages themselves
through every operation that adds or removes them."""

from __future__ import annotations

import time

from sqs_helpers import queue_attrs

COUNTS = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
          "ApproximateNumberOfMessagesDelayed"]


def counts(sqs, url) -> tuple[int, int, int]:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=COUNTS)["Attributes"]
    return tuple(int(a[n]) for n in COUNTS)


def test_counts_follow_sends_receives_deletes_and_purge(sqs, new_queue):
    url = new_queue("deep-counts")
    for i in range(0, 30, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(j), "MessageBody": f"m{i + j}"} for j in range(10)])
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    assert counts(sqs, url) == (30, 0, 1)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert counts(sqs, url) == (30 - len(got), len(got), 1)
    sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                    for i, m in enumerate(got[:4])])
    assert counts(sqs, url) == (30 - len(got), len(got) - 4, 1)
    # Made visible again: counted as visible.
    for m in got[4:]:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    assert counts(sqs, url) == (26, 0, 1)
    sqs.purge_queue(QueueUrl=url)
    assert counts(sqs, url) == (0, 0, 0)
    sqs.send_message(QueueUrl=url, MessageBody="after purge")
    assert counts(sqs, url) == (1, 0, 0)


def test_dead_lettering_moves_the_count(sqs, new_queue, queue_arn):
    dlq = new_queue("deep-dlq")
    src = new_queue("deep-src", attributes={
        "RedrivePolicy": f'{{"deadLetterTargetArn": "{queue_arn(dlq)}", "maxReceiveCount": 1}}'})
    sqs.send_message(QueueUrl=src, MessageBody="x")
    sqs.receive_message(QueueUrl=src, VisibilityTimeout=1)
    time.sleep(1.2)
    assert sqs.receive_message(QueueUrl=src, WaitTimeSeconds=0).get("Messages", []) == []
    assert counts(sqs, src) == (0, 0, 0)
    assert counts(sqs, dlq) == (1, 0, 0)


def test_fifo_groups_are_served_oldest_first_one_group_at_a_time(sqs, new_queue):
    url = new_queue("deep-groups", fifo=True)
    groups = [f"g{i:02d}" for i in range(30)]
    n = 0
    # Round robin: g00 m0, g01 m0, ..., g29 m0, g00 m1, ...
    for round_ in range(4):
        entries = []
        for g in groups:
            entries.append({"Id": str(len(entries)), "MessageBody": f"{g}-{round_}", "MessageGroupId": g,
                            "MessageDeduplicationId": f"d{n}"})
            n += 1
            if len(entries) == 10:
                sqs.send_message_batch(QueueUrl=url, Entries=entries)
                entries = []
    assert counts(sqs, url) == (120, 0, 0)
    seen_groups = []
    for _ in range(30):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=4, VisibilityTimeout=60)["Messages"]
        bodies = [m["Body"] for m in got]
        group = bodies[0].split("-")[0]
        # One group's four messages, in send order; groups in the order of their oldest message.
        assert bodies == [f"{group}-{r}" for r in range(4)], bodies
        seen_groups.append(group)
    assert seen_groups == groups
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []
    assert counts(sqs, url) == (0, 120, 0)


def test_fifo_receive_fills_from_the_next_groups_and_skips_groups_in_flight(sqs, new_queue):
    url = new_queue("deep-fill", fifo=True)
    for i in range(9):
        g = "abc"[i % 3]
        sqs.send_message(QueueUrl=url, MessageBody=f"{g}{i}", MessageGroupId=g, MessageDeduplicationId=str(i))
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=4, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in first] == ["a0", "a3", "a6", "b1"]
    # a and b are in flight now; c is the only group that can be served.
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in rest] == ["c2", "c5", "c8"]


def test_fifo_group_head_moves_on_delete_and_blocks_while_in_flight(sqs, new_queue):
    url = new_queue("deep-head", fifo=True)
    for i, g in enumerate(["a", "b", "a", "b", "a"]):
        sqs.send_message(QueueUrl=url, MessageBody=f"{g}{i}", MessageGroupId=g, MessageDeduplicationId=str(i))
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in first] == ["a0"]
    # a is blocked behind its in-flight head: b is next.
    second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in second] == ["b1", "b3"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    third = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in third] == ["a2", "a4"]
    for m in second + third:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert counts(sqs, url) == (0, 0, 0)
    # A group emptied and used again starts a new head.
    sqs.send_message(QueueUrl=url, MessageBody="a9", MessageGroupId="a", MessageDeduplicationId="9")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["a9"]


def test_fifo_receive_looks_past_messages_it_dead_letters(sqs, new_queue, queue_arn):
    dlq = new_queue("deep-fdlq", fifo=True)
    url = new_queue("deep-fsrc", fifo=True, attributes={
        "RedrivePolicy": f'{{"deadLetterTargetArn": "{queue_arn(dlq)}", "maxReceiveCount": 1}}'})
    for i in range(20):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g", MessageDeduplicationId=str(i))
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=1)["Messages"]
    assert len(got) == 10
    time.sleep(1.2)
    # The ten received once go to the dead-letter queue; the receive goes on to the eleventh.
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=30)["Messages"]
    assert [m["Body"] for m in again] == ["m10"]
    assert counts(sqs, dlq) == (10, 0, 0)
    assert counts(sqs, url) == (9, 1, 0)
