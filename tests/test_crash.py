"""kill -9 under load, restart on the same data directory: nothing acknowledged is lost.

Standard queue: every acknowledged message is received at least once. FIFO queue:
every acknowledged message is received exactly once, in send order per group.
Messages whose send was in flight at the crash may or may not appear; messages
that were never sent must not appear.
"""

import os
import random
import threading
import time
from collections import defaultdict

import pytest

from sqs_helpers import make_sqs_client

pytestmark = pytest.mark.stratus_only

N_STANDARD = 2000
N_FIFO = 2000
FIFO_GROUPS = 4


def crash_client(endpoint):
    return make_sqs_client(endpoint, connect_timeout=2, read_timeout=15)


class Ledger:
    """What the clients know: acknowledged sends and sends that may have landed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}            # body -> MessageId
        self.attempted = set()     # bodies of every send that was started
        self.errors = []

    def attempt(self, bodies):
        with self.lock:
            self.attempted.update(bodies)

    def ack(self, body, message_id):
        with self.lock:
            self.acked[body] = message_id

    @property
    def count(self):
        with self.lock:
            return len(self.acked)


def standard_sender(client, url, ledger, stop):
    i = 0
    try:
        while i < N_STANDARD and not stop.is_set():
            if i % 3 == 0:  # every third request is a batch of 10
                batch = [f"std-{i + j:05d}" for j in range(min(10, N_STANDARD - i))]
                ledger.attempt(batch)
                r = client.send_message_batch(QueueUrl=url, Entries=[
                    {"Id": f"e{k}", "MessageBody": b} for k, b in enumerate(batch)])
                ok = {e["Id"]: e["MessageId"] for e in r.get("Successful", [])}
                assert not r.get("Failed"), r["Failed"]
                for k, b in enumerate(batch):
                    ledger.ack(b, ok[f"e{k}"])
                i += len(batch)
            else:
                body = f"std-{i:05d}"
                ledger.attempt([body])
                ledger.ack(body, client.send_message(QueueUrl=url, MessageBody=body)["MessageId"])
                i += 1
    except AssertionError as e:
        ledger.errors.append(e)
    except Exception:
        pass  # the server died under us: expected


def fifo_sender(client, url, ledger, stop):
    seq = defaultdict(int)
    rng = random.Random(7)
    sent = 0
    try:
        while sent < N_FIFO and not stop.is_set():
            group = f"g{rng.randrange(FIFO_GROUPS)}"
            if sent % 4 == 0:  # batches stay within one group so the order per group is the send order
                batch = []
                for _ in range(min(10, N_FIFO - sent)):
                    batch.append(f"{group}:{seq[group]:05d}")
                    seq[group] += 1
                ledger.attempt(batch)
                r = client.send_message_batch(QueueUrl=url, Entries=[
                    {"Id": f"e{k}", "MessageBody": b, "MessageGroupId": group, "MessageDeduplicationId": b}
                    for k, b in enumerate(batch)])
                assert not r.get("Failed"), r["Failed"]
                ok = {e["Id"]: e["MessageId"] for e in r["Successful"]}
                for k, b in enumerate(batch):
                    ledger.ack(b, ok[f"e{k}"])
                sent += len(batch)
            else:
                body = f"{group}:{seq[group]:05d}"
                seq[group] += 1
                ledger.attempt([body])
                r = client.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group,
                                        MessageDeduplicationId=body)
                ledger.ack(body, r["MessageId"])
                sent += 1
    except AssertionError as e:
        ledger.errors.append(e)
    except Exception:
        pass


def drain(client, url, fifo: bool):
    """Receive and delete until the queue stays empty; returns messages in receive order."""
    out = []
    empty = 0
    deadline = time.monotonic() + 120
    while empty < 3 and time.monotonic() < deadline:
        r = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300, WaitTimeSeconds=1)
        msgs = r.get("Messages", [])
        if not msgs:
            empty += 1
            continue
        empty = 0
        out.extend(msgs)
        d = client.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(msgs)])
        assert not d.get("Failed"), d["Failed"]
    return out


def test_kill9_mid_stream_loses_no_acknowledged_message(server_factory):
    seed = int(os.environ.get("STRATUS_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    srv = server_factory()
    setup = srv.sqs()
    std_url = setup.create_queue(QueueName="crash-std")["QueueUrl"]
    fifo_url = setup.create_queue(QueueName="crash.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]

    std_ledger, fifo_ledger = Ledger(), Ledger()
    stop = threading.Event()
    threads = [
        threading.Thread(target=standard_sender, args=(crash_client(srv.endpoint), std_url, std_ledger, stop)),
        threading.Thread(target=fifo_sender, args=(crash_client(srv.endpoint), fifo_url, fifo_ledger, stop)),
    ]
    for t in threads:
        t.start()
    # let some traffic through, then crash at a random moment
    deadline = time.monotonic() + 30
    while std_ledger.count + fifo_ledger.count < 200 and time.monotonic() < deadline and any(
            t.is_alive() for t in threads):
        time.sleep(0.01)
    time.sleep(rng.uniform(0.05, 0.6))
    srv.kill()
    stop.set()
    for t in threads:
        t.join(30)
        assert not t.is_alive(), "sender did not stop after the crash"
    assert not std_ledger.errors and not fifo_ledger.errors, (std_ledger.errors, fifo_ledger.errors)
    acked_total = std_ledger.count + fifo_ledger.count
    assert acked_total > 0, "nothing was acknowledged before the crash"

    srv.start(timeout=15)
    client = crash_client(srv.endpoint)
    info = f"(seed {seed}; acknowledged std={std_ledger.count} fifo={fifo_ledger.count})"
    print(f"crash after {acked_total} acknowledged sends {info}")

    # standard queue: at least once, nothing invented
    std_msgs = drain(client, std_url, fifo=False)
    std_seen = {}
    for m in std_msgs:
        std_seen.setdefault(m["Body"], m["MessageId"])
    missing = set(std_ledger.acked) - set(std_seen)
    assert not missing, f"{len(missing)} acknowledged standard messages lost, e.g. {sorted(missing)[:5]} {info}"
    phantom = set(std_seen) - std_ledger.attempted
    assert not phantom, f"messages that were never sent: {sorted(phantom)[:5]} {info}"
    wrong_ids = [b for b, mid in std_ledger.acked.items() if std_seen[b] != mid]
    assert not wrong_ids, f"MessageId changed across the crash for {wrong_ids[:5]} {info}"

    # FIFO queue: exactly once and in order per group
    fifo_msgs = drain(client, fifo_url, fifo=True)
    bodies = [m["Body"] for m in fifo_msgs]
    dupes = {b for b in bodies if bodies.count(b) > 1}
    assert not dupes, f"FIFO messages delivered twice: {sorted(dupes)[:5]} {info}"
    missing = set(fifo_ledger.acked) - set(bodies)
    assert not missing, f"{len(missing)} acknowledged FIFO messages lost, e.g. {sorted(missing)[:5]} {info}"
    phantom = set(bodies) - fifo_ledger.attempted
    assert not phantom, f"FIFO messages that were never sent: {sorted(phantom)[:5]} {info}"
    per_group = defaultdict(list)
    for b in bodies:
        group, n = b.split(":")
        per_group[group].append(int(n))
    for group, seqs in per_group.items():
        assert seqs == sorted(seqs), f"group {group} out of order: {seqs[:20]}... {info}"
    for m in fifo_msgs:
        if m["Body"] in fifo_ledger.acked:
            assert m["MessageId"] == fifo_ledger.acked[m["Body"]], info


def test_kill9_keeps_deletes_and_in_flight_messages(server_factory):
    srv = server_factory()
    client = srv.sqs()
    url = client.create_queue(QueueName="crash-inflight", Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
    sent = {}
    for start in range(0, 50, 10):
        r = client.send_message_batch(QueueUrl=url, Entries=[
            {"Id": f"e{i}", "MessageBody": f"m{start + i:02d}"} for i in range(10)])
        for e in r["Successful"]:
            sent[f"m{start + int(e['Id'][1:]):02d}"] = e["MessageId"]
    deleted = set()
    while len(deleted) < 25:
        msgs = client.receive_message(QueueUrl=url, MaxNumberOfMessages=min(10, 25 - len(deleted)),
                                      VisibilityTimeout=60)["Messages"]
        d = client.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(msgs)])
        assert not d.get("Failed")
        deleted |= {m["Body"] for m in msgs}
    in_flight = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=2)["Messages"]
    assert len(in_flight) == 10

    srv.kill()
    srv.start(timeout=15)
    client = srv.sqs()
    time.sleep(2.2)
    remaining = drain(client, url, fifo=False)
    bodies = {m["Body"] for m in remaining}
    assert not bodies & deleted, f"acknowledged deletes came back: {sorted(bodies & deleted)[:5]}"
    assert bodies == set(sent) - deleted
