"""CloudWatch Logs live tail (StartLiveTail): one `sessionStart`, then every second a
`sessionUpdate` with the events ingested since (an empty list when none were), filtered by
group, stream names or prefixes and the filter pattern; AWS's errors for bad sessions."""

from __future__ import annotations

import queue
import threading
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sqs_helpers import REGION, client_config, unique

pytestmark = pytest.mark.stratus_only


@pytest.fixture(scope="module")
def logs(target):
    # StartLiveTail's endpoint has a host prefix (`stream-`), which a local endpoint cannot take.
    config = client_config().merge(Config(inject_host_prefix=False))
    return boto3.client("logs", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
                        aws_secret_access_key="test", config=config)


def group_arn(logs, name):
    [g] = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]
    return g["logGroupArn"]


class Tail:
    """A live tail session read on a thread: its events land in `events`."""

    def __init__(self, logs, **kwargs):
        self.resp = logs.start_live_tail(**kwargs)
        self.events: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for ev in self.resp["responseStream"]:
                self.events.put(ev)
        except Exception as e:  # noqa: BLE001 - the session was closed by the test
            self.events.put({"closed": str(e)})

    def first(self, timeout=5.0):
        return self.events.get(timeout=timeout)

    def results(self, want, timeout=8.0):
        """Session results until `want` events arrived (or the time is up); also the updates."""
        got, updates = [], []
        deadline = time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            try:
                ev = self.events.get(timeout=0.5)
            except queue.Empty:
                continue
            if "sessionUpdate" in ev:
                updates.append(ev["sessionUpdate"])
                got.extend(ev["sessionUpdate"].get("sessionResults", []))
        return got, updates

    def close(self):
        self.resp["responseStream"].close()


def make_group(logs, *streams):
    name = f"/tail/{unique('g')}"
    logs.create_log_group(logGroupName=name)
    for s in streams:
        logs.create_log_stream(logGroupName=name, logStreamName=s)
    return name


def put(logs, group, stream, *messages):
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": now, "message": m} for m in messages])


def test_session_start_then_updates_with_new_events(logs):
    group = make_group(logs, "app")
    arn = group_arn(logs, group)
    put(logs, group, "app", "before the session")  # not tailed: ingested before it began
    tail = Tail(logs, logGroupIdentifiers=[arn])
    try:
        start = tail.first()["sessionStart"]
        assert start["logGroupIdentifiers"] == [arn]
        assert start["sessionId"] and start["requestId"]
        put(logs, group, "app", "first", "second")
        got, updates = tail.results(2)
        assert [e["message"] for e in got] == ["first", "second"]
        for e in got:
            assert (e["logGroupIdentifier"], e["logStreamName"]) == (arn, "app")
            assert e["ingestionTime"] >= e["timestamp"] - 1000
        assert all(u["sessionMetadata"]["sampled"] is False for u in updates)
        # With nothing new, an update still comes every second, empty.
        _, quiet = tail.results(1, timeout=2.5)
        assert quiet and all(u["sessionResults"] == [] for u in quiet)
    finally:
        tail.close()


def test_filters_by_stream_prefix_and_pattern(logs):
    group = make_group(logs, "web-1", "web-2", "worker")
    tail = Tail(logs, logGroupIdentifiers=[group_arn(logs, group)], logStreamNamePrefixes=["web-"],
                logEventFilterPattern="ERROR")
    try:
        tail.first()
        put(logs, group, "worker", "ERROR in the worker")
        put(logs, group, "web-1", "INFO fine", "ERROR in web 1")
        put(logs, group, "web-2", "ERROR in web 2")
        got, _ = tail.results(2)
        assert sorted(e["message"] for e in got) == ["ERROR in web 1", "ERROR in web 2"]
        more, _ = tail.results(1, timeout=1.5)
        assert more == []
    finally:
        tail.close()


def test_several_groups_by_name_and_arn(logs):
    a, b = make_group(logs, "s"), make_group(logs, "s")
    tail = Tail(logs, logGroupIdentifiers=[group_arn(logs, a), b])
    try:
        tail.first()
        put(logs, a, "s", "from a")
        put(logs, b, "s", "from b")
        got, _ = tail.results(2)
        assert {(e["logGroupIdentifier"], e["message"]) for e in got} == {(group_arn(logs, a), "from a"), (b, "from b")}
    finally:
        tail.close()


def test_bad_sessions_are_refused(logs):
    group = make_group(logs, "s")
    arn = group_arn(logs, group)
    with pytest.raises(ClientError) as e:
        logs.start_live_tail(logGroupIdentifiers=[arn.replace(group, "/tail/never-made")])
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        logs.start_live_tail(logGroupIdentifiers=[arn], logStreamNames=["s"], logStreamNamePrefixes=["s"])
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    other = make_group(logs, "s")
    with pytest.raises(ClientError) as e:
        logs.start_live_tail(logGroupIdentifiers=[arn, group_arn(logs, other)], logStreamNames=["s"])
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.start_live_tail(logGroupIdentifiers=[arn], logEventFilterPattern='{ $.x = ')
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
