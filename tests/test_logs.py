"""Amazon CloudWatch Logs end to end: boto3 and the aws CLI against the server.

Expected errors and messages follow AWS's API reference and responses recorded against AWS
(ResourceAlreadyExistsException "The specified log group already exists", the
"1 validation error detected: ..." form of InvalidParameterException, "The specified nextToken
is invalid.", PutLogEvents' chronological-order and 24-hour-span errors).

`aws logs tail` is a command of AWS CLI v2 only; its tests run when the installed CLI has it
and are skipped otherwise. `TestTailCalls` makes the exact calls that v2's tail command makes
(read from its source, awscli/customizations/logs/tail.py) with boto3, so they run always.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import threading
import time
from datetime import datetime, timezone

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import (IS_MOTO, REGION, AwsCliError, aws_cli_base, client_config, error_code, http_status, unique,
                         xfail_moto)

pytestmark = pytest.mark.stratus_only

MINUTE = 60 * 1000
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture(scope="module")
def logs(target):
    return boto3.session.Session().client(
        "logs", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
        aws_secret_access_key="test", config=client_config())


@pytest.fixture
def group(logs):
    name = f"/test/{unique('g')}"
    logs.create_log_group(logGroupName=name)
    return name


@pytest.fixture
def stream(logs, group):
    name = unique("s")
    logs.create_log_stream(logGroupName=group, logStreamName=name)
    return name


def put(logs, group, stream, events):
    """events: [(timestamp, message)] -> PutLogEvents response."""
    return logs.put_log_events(logGroupName=group, logStreamName=stream,
                               logEvents=[{"timestamp": t, "message": m} for t, m in events])


def messages(resp) -> list[str]:
    return [e["message"] for e in resp["events"]]


def filter_all(logs, **kwargs) -> list[dict]:
    events = []
    for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
        events.extend(page["events"])
    return events


def expect_error(code: str, fn, *args, message: str | None = None, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as exc:
        fn(*args, **kwargs)
    assert error_code(exc.value) == code, exc.value.response
    assert http_status(exc.value) == 400
    if message is not None:
        assert exc.value.response["Error"]["Message"] == message
    return exc.value


# ---------------------------------------------------------------------------------------------
# Log groups
# ---------------------------------------------------------------------------------------------
class TestLogGroups:
    @xfail_moto("moto omits logGroupClass")
    def test_create_describe_delete(self, logs, target):
        name = f"/app/{unique('g')}"
        before = now_ms()
        logs.create_log_group(logGroupName=name)
        [g] = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        assert g["logGroupName"] == name
        assert g["arn"] == f"arn:aws:logs:{REGION}:{target.account}:log-group:{name}:*"
        assert g["logGroupArn"] == f"arn:aws:logs:{REGION}:{target.account}:log-group:{name}"
        assert before - 5000 <= g["creationTime"] <= now_ms() + 5000
        assert g["metricFilterCount"] == 0
        assert g["storedBytes"] == 0
        assert g["logGroupClass"] == "STANDARD"
        assert "retentionInDays" not in g
        logs.delete_log_group(logGroupName=name)
        assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []
        expect_error("ResourceNotFoundException", logs.delete_log_group, logGroupName=name,
                     message="The specified log group does not exist.")

    @xfail_moto("moto does not validate log group names")
    def test_duplicate_and_invalid_names(self, logs, group):
        expect_error("ResourceAlreadyExistsException", logs.create_log_group, logGroupName=group,
                     message="The specified log group already exists")
        err = expect_error("InvalidParameterException", logs.create_log_group, logGroupName="has space")
        assert "Member must satisfy regular expression pattern" in err.response["Error"]["Message"]
        expect_error("InvalidParameterException", logs.create_log_group, logGroupName="colon:name")
        expect_error("InvalidParameterException", logs.create_log_group, logGroupName="a" * 513)

    @xfail_moto("moto allows names starting with aws/")
    def test_aws_prefix_is_reserved(self, logs):
        expect_error("InvalidParameterException", logs.create_log_group, logGroupName=f"aws/{unique('g')}",
                     message="Log groups starting with AWS/ are reserved for AWS.")
        # A leading slash makes it an ordinary name (Lambda's groups are /aws/lambda/...).
        logs.create_log_group(logGroupName=f"/aws/lambda/{unique('fn')}")

    @xfail_moto("moto omits logGroupClass")
    def test_class_kms_and_tags_on_create(self, logs):
        name = unique("ia")
        logs.create_log_group(logGroupName=name, logGroupClass="INFREQUENT_ACCESS", tags={"env": "dev"})
        [g] = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        assert g["logGroupClass"] == "INFREQUENT_ACCESS"
        assert logs.list_tags_log_group(logGroupName=name)["tags"] == {"env": "dev"}
        assert [x["logGroupName"] for x in
                logs.describe_log_groups(logGroupNamePrefix=name, logGroupClass="STANDARD")["logGroups"]] == []

    @xfail_moto("moto matches logGroupNamePattern case-insensitively")
    def test_prefix_pattern_limit_and_paging(self, logs):
        base = unique("page")
        names = sorted(f"{base}/{i:02d}" for i in range(7))
        for n in names:
            logs.create_log_group(logGroupName=n)
        logs.create_log_group(logGroupName=f"other-{base}")

        first = logs.describe_log_groups(logGroupNamePrefix=base, limit=3)
        assert [g["logGroupName"] for g in first["logGroups"]] == names[:3]
        assert "nextToken" in first
        seen = []
        for page in logs.get_paginator("describe_log_groups").paginate(
                logGroupNamePrefix=base, PaginationConfig={"PageSize": 3}):
            seen += [g["logGroupName"] for g in page["logGroups"]]
        assert seen == names

        # logGroupNamePattern: case-sensitive substring anywhere in the name; groups come in name order.
        matched = [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePattern=base)["logGroups"]]
        assert matched == sorted(names + [f"other-{base}"])
        assert logs.describe_log_groups(logGroupNamePattern=base.upper())["logGroups"] == []

        expect_error("InvalidParameterException", logs.describe_log_groups, logGroupNamePrefix=base,
                     logGroupNamePattern=base,
                     message="LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
        expect_error("InvalidParameterException", logs.describe_log_groups, limit=51,
                     message="1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: "
                             "Member must have value less than or equal to 50")
        expect_error("InvalidParameterException", logs.describe_log_groups, nextToken="not-a-token")

    @xfail_moto("moto accepts any retentionInDays")
    def test_retention_policy(self, logs, group):
        logs.put_retention_policy(logGroupName=group, retentionInDays=7)
        [g] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert g["retentionInDays"] == 7
        err = expect_error("InvalidParameterException", logs.put_retention_policy, logGroupName=group,
                           retentionInDays=2)
        assert err.response["Error"]["Message"].startswith(
            "1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy constraint: "
            "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, ")
        logs.delete_retention_policy(logGroupName=group)
        [g] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert "retentionInDays" not in g
        missing = unique("missing")
        expect_error("ResourceNotFoundException", logs.put_retention_policy, logGroupName=missing, retentionInDays=1)
        expect_error("ResourceNotFoundException", logs.delete_retention_policy, logGroupName=missing)

    @xfail_moto("PutLogEvents does not reject events older than the retention period")
    def test_retention_rejects_expired_events(self, logs, group, stream):
        # "Events older than 14 days or preceding the log group's retention period are rejected while
        # processing remaining valid events." (PutLogEvents). When AWS deletes expired events is not
        # specified ("typically ... up to 72 hours"), so only the rejection is asserted here.
        now = now_ms()
        logs.put_retention_policy(logGroupName=group, retentionInDays=1)
        resp = put(logs, group, stream, [(now - 2 * DAY, "expired"), (now, "kept")])
        assert resp["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 0}
        assert messages(logs.get_log_events(logGroupName=group, logStreamName=stream)) == ["kept"]

    @xfail_moto("moto does not limit tags to 50")
    @xfail_moto("moto has no deletion protection")
    def test_deletion_protection(self, logs):
        # "If you attempt to delete a log group with deletion protection enabled, you receive a
        # ValidationException with the message: ..." (Protecting log groups from deletion).
        name = unique("protected")
        logs.create_log_group(logGroupName=name, deletionProtectionEnabled=True)
        assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["deletionProtectionEnabled"] is True
        expect_error("ValidationException", logs.delete_log_group, logGroupName=name,
                     message="Cannot delete log group with deletion protection enabled. "
                             "Disable deletion protection first.")
        logs.put_log_group_deletion_protection(logGroupIdentifier=name, deletionProtectionEnabled=False)
        logs.delete_log_group(logGroupName=name)
        assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []

    def test_tags_deprecated_and_arn_apis_agree(self, logs, target):
        name = unique("tags")
        logs.create_log_group(logGroupName=name, tags={"env": "testing1"})
        arn = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["logGroupArn"]
        assert arn == f"arn:aws:logs:{REGION}:{target.account}:log-group:{name}"
        logs.tag_resource(resourceArn=arn, tags={"test1": "val1", "test2": "val2"})
        logs.tag_log_group(logGroupName=name, tags={"test3": "val3"})
        expected = {"env": "testing1", "test1": "val1", "test2": "val2", "test3": "val3"}
        assert logs.list_tags_log_group(logGroupName=name)["tags"] == expected
        assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == expected
        logs.untag_log_group(logGroupName=name, tags=["test3"])
        logs.untag_resource(resourceArn=arn, tagKeys=["env", "test1"])
        assert logs.list_tags_log_group(logGroupName=name)["tags"] == {"test2": "val2"}
        assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"test2": "val2"}
        missing_arn = f"arn:aws:logs:{REGION}:{target.account}:log-group:{unique('missing')}"
        expect_error("ResourceNotFoundException", logs.list_tags_for_resource, resourceArn=missing_arn)
        expect_error("ResourceNotFoundException", logs.tag_log_group, logGroupName=unique("missing"), tags={"a": "b"})
        too_many = {f"k{i}": "v" for i in range(50)}
        expect_error("TooManyTagsException", logs.tag_resource, resourceArn=arn, tags=too_many)

    def test_groups_are_per_account_and_region(self, logs, target):
        name = unique("scoped")
        logs.create_log_group(logGroupName=name)
        other_region = boto3.session.Session().client(
            "logs", endpoint_url=target.endpoint, region_name="eu-west-1", aws_access_key_id="test",
            aws_secret_access_key="test", config=client_config())
        assert other_region.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []
        other_region.create_log_group(logGroupName=name)
        [g] = other_region.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        assert ":eu-west-1:" in g["arn"]


# ---------------------------------------------------------------------------------------------
# Log streams
# ---------------------------------------------------------------------------------------------
class TestLogStreams:
    @xfail_moto("moto answers the log group message for a duplicate stream")
    def test_create_describe_delete(self, logs, group, target):
        name = unique("s")
        logs.create_log_stream(logGroupName=group, logStreamName=name)
        [s] = logs.describe_log_streams(logGroupName=group)["logStreams"]
        assert s["logStreamName"] == name
        assert s["arn"] == f"arn:aws:logs:{REGION}:{target.account}:log-group:{group}:log-stream:{name}"
        assert s["storedBytes"] == 0
        assert "firstEventTimestamp" not in s and "lastEventTimestamp" not in s
        expect_error("ResourceAlreadyExistsException", logs.create_log_stream, logGroupName=group,
                     logStreamName=name, message="The specified log stream already exists")
        expect_error("ResourceNotFoundException", logs.create_log_stream, logGroupName=unique("nogroup"),
                     logStreamName=name, message="The specified log group does not exist.")
        expect_error("InvalidParameterException", logs.create_log_stream, logGroupName=group,
                     logStreamName="with:colon")
        logs.delete_log_stream(logGroupName=group, logStreamName=name)
        assert logs.describe_log_streams(logGroupName=group)["logStreams"] == []
        expect_error("ResourceNotFoundException", logs.delete_log_stream, logGroupName=group, logStreamName=name,
                     message="The specified log stream does not exist.")

    def test_event_times_and_ordering(self, logs, group):
        now = now_ms()
        for name, ts in [("b", now - 2000), ("a", now - 1000), ("c", now - 3000)]:
            logs.create_log_stream(logGroupName=group, logStreamName=name)
            put(logs, group, name, [(ts, f"event in {name}")])
        streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
        assert [s["logStreamName"] for s in streams] == ["a", "b", "c"]
        a = streams[0]
        assert a["firstEventTimestamp"] == a["lastEventTimestamp"] == now - 1000
        assert abs(a["lastIngestionTime"] - now_ms()) < 60_000
        assert isinstance(a.get("uploadSequenceToken"), str)

        by_time = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True)
        assert [s["logStreamName"] for s in by_time["logStreams"]] == ["a", "b", "c"]
        desc = logs.describe_log_streams(logGroupName=group, descending=True)
        assert [s["logStreamName"] for s in desc["logStreams"]] == ["c", "b", "a"]
        assert [s["logStreamName"] for s in
                logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="b")["logStreams"]] == ["b"]
        expect_error("InvalidParameterException", logs.describe_log_streams, logGroupName=group,
                     orderBy="LastEventTime", logStreamNamePrefix="a")

    @xfail_moto("moto accepts logGroupName with logGroupIdentifier")
    def test_paging_and_group_identifier(self, logs, group, target):
        names = [f"s-{i:02d}" for i in range(5)]
        for n in names:
            logs.create_log_stream(logGroupName=group, logStreamName=n)
        seen = []
        for page in logs.get_paginator("describe_log_streams").paginate(
                logGroupName=group, PaginationConfig={"PageSize": 2}):
            seen += [s["logStreamName"] for s in page["logStreams"]]
        assert seen == names
        arn = f"arn:aws:logs:{REGION}:{target.account}:log-group:{group}"
        assert len(logs.describe_log_streams(logGroupIdentifier=arn)["logStreams"]) == 5
        assert len(logs.describe_log_streams(logGroupIdentifier=group)["logStreams"]) == 5
        expect_error("ValidationException", logs.describe_log_streams, logGroupName=group, logGroupIdentifier=arn,
                     message="LogGroup name and LogGroup ARN are mutually exclusive parameters.")

    def test_delete_group_removes_streams_and_events(self, logs):
        name = unique("gone")
        logs.create_log_group(logGroupName=name)
        logs.create_log_stream(logGroupName=name, logStreamName="s")
        put(logs, name, "s", [(now_ms(), "bye")])
        logs.delete_log_group(logGroupName=name)
        logs.create_log_group(logGroupName=name)
        assert logs.describe_log_streams(logGroupName=name)["logStreams"] == []
        assert logs.filter_log_events(logGroupName=name)["events"] == []


# ---------------------------------------------------------------------------------------------
# PutLogEvents / GetLogEvents
# ---------------------------------------------------------------------------------------------
class TestEvents:
    def test_put_and_get_round_trip(self, logs, group, stream):
        now = now_ms()
        body = "🙀 - 参よ - 日本語"
        resp = put(logs, group, stream, [(now - 2, "first"), (now - 1, body), (now - 1, "same time, later")])
        assert isinstance(resp["nextSequenceToken"], str)
        assert "rejectedLogEventsInfo" not in resp
        got = logs.get_log_events(logGroupName=group, logStreamName=stream)
        assert messages(got) == ["first", body, "same time, later"]
        e = got["events"][0]
        assert e["timestamp"] == now - 2
        assert abs(e["ingestionTime"] - now_ms()) < 60_000
        assert got["nextForwardToken"].startswith("f/")
        assert got["nextBackwardToken"].startswith("b/")
        [s] = logs.describe_log_streams(logGroupName=group)["logStreams"]
        assert s["firstEventTimestamp"] == now - 2 and s["lastEventTimestamp"] == now - 1

    def test_sequence_token_is_ignored(self, logs, group, stream):
        now = now_ms()
        first = put(logs, group, stream, [(now, "one")])
        # A stale, or made-up, token is accepted as AWS now accepts it.
        logs.put_log_events(logGroupName=group, logStreamName=stream, sequenceToken="49999999999999999999",
                            logEvents=[{"timestamp": now, "message": "two"}])
        logs.put_log_events(logGroupName=group, logStreamName=stream, sequenceToken=first["nextSequenceToken"],
                            logEvents=[{"timestamp": now, "message": "three"}])
        assert messages(logs.get_log_events(logGroupName=group, logStreamName=stream)) == ["one", "two", "three"]

    @xfail_moto("moto does not check the 24-hour span or the batch size")
    def test_batch_rules(self, logs, group, stream):
        now = now_ms()
        expect_error("InvalidParameterException", put, logs, group, stream, [(now, "b"), (now - 2 * DAY, "a")],
                     message="Log events in a single PutLogEvents request must be in chronological order.")
        expect_error("InvalidParameterException", put, logs, group, stream,
                     [(now - 25 * HOUR, "a"), (now, "b")],
                     message="The batch of log events in a single PutLogEvents request cannot span more than "
                             "24 hours.")
        big = "x" * 600_000
        expect_error("InvalidParameterException", put, logs, group, stream, [(now, big), (now, big)])
        expect_error("ResourceNotFoundException", put, logs, group, unique("nostream"), [(now, "m")],
                     message="The specified log stream does not exist.")
        expect_error("ResourceNotFoundException", put, logs, unique("nogroup"), stream, [(now, "m")],
                     message="The specified log group does not exist.")
        assert logs.get_log_events(logGroupName=group, logStreamName=stream)["events"] == []

    @xfail_moto("moto reports the last too-new index, not the first")
    def test_too_old_and_too_new_are_rejected_not_failed(self, logs, group, stream):
        now = now_ms()
        resp = put(logs, group, stream, [
            (now - 30 * DAY, "too old"), (now - 15 * DAY, "too old too"),
            (now - 1000, "ok"), (now + DAY, "too new"), (now + 2 * DAY, "too new too")])
        assert resp["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 3}
        assert messages(logs.get_log_events(logGroupName=group, logStreamName=stream)) == ["ok"]

    def test_get_log_events_paging_with_tokens(self, logs, group, stream):
        base = now_ms() - 60_000
        put(logs, group, stream, [(base + i, f"m{i:02d}") for i in range(25)])

        # Without a token: the newest events, oldest first.
        tail = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=5)
        assert messages(tail) == [f"m{i:02d}" for i in range(20, 25)]
        older = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=5,
                                    nextToken=tail["nextBackwardToken"])
        assert messages(older) == [f"m{i:02d}" for i in range(15, 20)]

        # At the end, the forward token comes back unchanged (how clients know they are done).
        end = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=tail["nextForwardToken"])
        assert end["events"] == []
        assert end["nextForwardToken"] == tail["nextForwardToken"]
        put(logs, group, stream, [(base + 100, "late")])
        assert messages(logs.get_log_events(logGroupName=group, logStreamName=stream,
                                            nextToken=tail["nextForwardToken"])) == ["late"]

        # From the head, forward until the token repeats.
        seen, token = [], None
        while True:
            kwargs = {"nextToken": token} if token else {}
            page = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=7, startFromHead=True, **kwargs)
            seen += messages(page)
            if page["nextForwardToken"] == token:
                break
            token = page["nextForwardToken"]
        assert seen == [f"m{i:02d}" for i in range(25)] + ["late"]

    @xfail_moto("moto includes events at endTime")
    def test_get_log_events_time_range_and_identifier(self, logs, group, stream, target):
        base = now_ms() - 60_000
        put(logs, group, stream, [(base + i * 10, f"m{i}") for i in range(10)])
        # startTime inclusive, endTime exclusive.
        got = logs.get_log_events(logGroupName=group, logStreamName=stream, startTime=base + 20, endTime=base + 50,
                                  startFromHead=True)
        assert messages(got) == ["m2", "m3", "m4"]
        arn = f"arn:aws:logs:{REGION}:{target.account}:log-group:{group}"
        assert len(logs.get_log_events(logGroupIdentifier=arn, logStreamName=stream)["events"]) == 10
        assert len(logs.get_log_events(logGroupIdentifier=group, logStreamName=stream)["events"]) == 10

    @xfail_moto("moto answers the log group message for a missing stream")
    def test_get_log_events_errors(self, logs, group, stream):
        expect_error("InvalidParameterException", logs.get_log_events, logGroupName=group, logStreamName=stream,
                     nextToken="invalid-token", message="The specified nextToken is invalid.")
        expect_error("InvalidParameterException", logs.get_log_events, logGroupName=group, logStreamName=stream,
                     limit=10001,
                     message="1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: "
                             "Member must have value less than or equal to 10000")
        expect_error("ResourceNotFoundException", logs.get_log_events, logGroupName=unique("nogroup"),
                     logStreamName=stream, message="The specified log group does not exist.")
        expect_error("ResourceNotFoundException", logs.get_log_events, logGroupName=group,
                     logStreamName=unique("nostream"), message="The specified log stream does not exist.")


# ---------------------------------------------------------------------------------------------
# FilterLogEvents
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def busy_group(logs, group):
    """Three streams with interleaved events; returns (group, base timestamp)."""
    base = now_ms() - 60_000
    for s in ("web-1", "web-2", "worker"):
        logs.create_log_stream(logGroupName=group, logStreamName=s)
    put(logs, group, "web-1", [(base, "[ERROR] disk full"), (base + 20, "[INFO] served /index.html"),
                               (base + 40, json.dumps({"level": "warn", "latency": 120, "user": {"id": 7}}))])
    put(logs, group, "web-2", [(base + 10, "[INFO] started"), (base + 30, "[ERROR] timeout talking to db"),
                               (base + 50, json.dumps({"level": "info", "latency": 3, "user": {"id": 8}}))])
    put(logs, group, "worker", [(base + 5, "job 1 done"), (base + 25, "job 2 failed: ERROR code 7")])
    return group, base


class TestFilterLogEvents:
    @xfail_moto("moto does not interleave streams")
    def test_all_events_interleaved_across_streams(self, logs, busy_group):
        group, base = busy_group
        resp = logs.filter_log_events(logGroupName=group)
        events = resp["events"]
        assert [e["timestamp"] - base for e in events] == [0, 5, 10, 20, 25, 30, 40, 50]
        assert [e["logStreamName"] for e in events[:3]] == ["web-1", "worker", "web-2"]
        assert all({"logStreamName", "timestamp", "message", "ingestionTime", "eventId"} <= e.keys() for e in events)
        assert len({e["eventId"] for e in events}) == 8
        assert "nextToken" not in resp

    @xfail_moto("moto does not interleave streams")
    def test_unstructured_patterns(self, logs, busy_group):
        group, _ = busy_group

        def match(pattern):
            return [e["message"] for e in filter_all(logs, logGroupName=group, filterPattern=pattern)]

        assert match("ERROR") == ["[ERROR] disk full", "job 2 failed: ERROR code 7", "[ERROR] timeout talking to db"]
        assert match("error") == []  # case-sensitive
        assert match("ERROR db") == ["[ERROR] timeout talking to db"]
        assert match("ERROR -job") == ["[ERROR] disk full", "[ERROR] timeout talking to db"]
        assert match("?disk ?started") == ["[ERROR] disk full", "[INFO] started"]
        assert match('"talking to"') == ["[ERROR] timeout talking to db"]
        assert match('"to talking"') == []
        assert match("-INFO -ERROR -level") == ["job 1 done"]
        assert len(match("")) == 8

    @xfail_moto("moto ignores JSON filter patterns")
    def test_json_patterns(self, logs, busy_group):
        group, _ = busy_group

        def match(pattern):
            return [json.loads(e["message"])["level"]
                    for e in filter_all(logs, logGroupName=group, filterPattern=pattern)]

        assert match('{ $.level = "warn" }') == ["warn"]
        assert match('{ $.level = "*n*" }') == ["warn", "info"]
        assert match("{ $.latency > 100 }") == ["warn"]
        assert match("{ $.latency <= 3 }") == ["info"]
        assert match('{ $.user.id = 8 || $.level = "warn" }') == ["warn", "info"]
        assert match('{ ($.latency > 1) && ($.user.id = 7) }') == ["warn"]
        assert match("{ $.missing NOT EXISTS }") == ["warn", "info"]

    @xfail_moto("moto accepts malformed filter patterns")
    def test_invalid_pattern_is_invalid_parameter(self, logs, busy_group):
        group, _ = busy_group
        for bad in ["{ $.level = ", '"unterminated', "{ $.a > \"x\" }"]:
            expect_error("InvalidParameterException", logs.filter_log_events, logGroupName=group, filterPattern=bad)

    @xfail_moto("moto ignores logStreamNamePrefix")
    def test_stream_selection_and_time_range(self, logs, busy_group):
        group, base = busy_group
        resp = logs.filter_log_events(logGroupName=group, logStreamNames=["worker"])
        assert messages(resp) == ["job 1 done", "job 2 failed: ERROR code 7"]
        assert len(logs.filter_log_events(logGroupName=group, logStreamNamePrefix="web-")["events"]) == 6
        expect_error("InvalidParameterException", logs.filter_log_events, logGroupName=group,
                     logStreamNamePrefix="web", logStreamNames=["worker"])
        # Both ends inclusive.
        resp = logs.filter_log_events(logGroupName=group, startTime=base + 10, endTime=base + 25)
        assert [e["timestamp"] - base for e in resp["events"]] == [10, 20, 25]

    @xfail_moto("moto accepts malformed nextTokens")
    def test_paging(self, logs, busy_group):
        group, _ = busy_group
        first = logs.filter_log_events(logGroupName=group, limit=3)
        assert len(first["events"]) == 3 and "nextToken" in first
        pages = list(logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, PaginationConfig={"PageSize": 3}))
        ids = [e["eventId"] for p in pages for e in p["events"]]
        assert ids == [e["eventId"] for e in logs.filter_log_events(logGroupName=group)["events"]]
        assert "nextToken" not in pages[-1]
        expect_error("InvalidParameterException", logs.filter_log_events, logGroupName=group,
                     nextToken="invalid-token", message="The specified nextToken is invalid.")
        expect_error("InvalidParameterException", logs.filter_log_events, logGroupName=group, limit=10001,
                     message="1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: "
                             "Member must have value less than or equal to 10000")

    def test_missing_group(self, logs):
        expect_error("ResourceNotFoundException", logs.filter_log_events, logGroupName=unique("nogroup"),
                     message="The specified log group does not exist.")


# ---------------------------------------------------------------------------------------------
# What `aws logs tail` does (AWS CLI v2), made with boto3
# ---------------------------------------------------------------------------------------------
class TestTailCalls:
    def test_no_follow_pages_filter_log_events_interleaved_from_since(self, logs, group, stream):
        now = now_ms()
        put(logs, group, stream, [(now - 20 * MINUTE, "too early for --since 10m"),
                                  (now - 5 * MINUTE, "five minutes ago"), (now - 1000, "just now")])
        # tail: {'logGroupName': g, 'interleaved': True, 'startTime': now - 10m}, paginated.
        kwargs = {"logGroupName": group, "interleaved": True, "startTime": now - 10 * MINUTE}
        events = filter_all(logs, **kwargs)
        assert [e["message"] for e in events] == ["five minutes ago", "just now"]
        events = filter_all(logs, filterPattern="just", **kwargs)
        assert [e["message"] for e in events] == ["just now"]

    def test_follow_polls_from_the_newest_timestamp_and_dedups_by_event_id(self, logs, group, stream):
        now = now_ms()
        put(logs, group, stream, [(now - 2000, "a"), (now - 1000, "b")])
        kwargs = {"logGroupName": group, "interleaved": True, "startTime": now - 10 * MINUTE}
        seen_ids: dict[int, set] = {}
        out = []

        def poll():
            resp = logs.filter_log_events(**kwargs)
            for e in resp["events"]:
                if e["eventId"] not in seen_ids.setdefault(e["timestamp"], set()):
                    seen_ids[e["timestamp"]].add(e["eventId"])
                    out.append(e["message"])
            newest = max(seen_ids) if seen_ids else None
            if newest is not None:
                seen = seen_ids[newest]
                seen_ids.clear()
                seen_ids[newest] = seen
            if "nextToken" in resp:
                kwargs["nextToken"] = resp["nextToken"]
            else:
                kwargs.pop("nextToken", None)
                if newest is not None:
                    kwargs["startTime"] = newest

        poll()
        assert out == ["a", "b"]
        poll()
        assert out == ["a", "b"], "re-reading from the newest timestamp must not repeat events"
        put(logs, group, stream, [(now - 1000, "same ms as b"), (now + 500, "c")])
        poll()
        assert out == ["a", "b", "same ms as b", "c"]


# ---------------------------------------------------------------------------------------------
# The aws CLI
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def aws_logs(target, cli_env):
    """aws_logs("describe-log-groups", ...) -> stdout (parsed as JSON when it is JSON)."""
    def run(*args: str, timeout: float = 60, raw: bool = False):
        cmd = [*aws_cli_base(), "--endpoint-url", target.endpoint, "--region", REGION, "--output", "json",
               "logs", *args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=cli_env)
        if p.returncode != 0:
            raise AwsCliError(p.returncode, p.stderr, cmd)
        if raw:
            return p.stdout
        return json.loads(p.stdout) if p.stdout.strip() else None
    return run


@pytest.fixture(scope="module")
def cli_has_tail(cli_env):
    p = subprocess.run([*aws_cli_base(), "logs", "tail", "help"], capture_output=True, text=True, timeout=60,
                       env=cli_env)
    if p.returncode != 0:
        pytest.skip("the installed aws CLI has no `logs tail` (it is an AWS CLI v2 command)")


def test_cli_workflow(aws_logs):
    group = f"/cli/{unique('g')}"
    aws_logs("create-log-group", "--log-group-name", group, "--tags", "team=core")
    aws_logs("create-log-stream", "--log-group-name", group, "--log-stream-name", "s1")
    now = now_ms()
    events = json.dumps([{"timestamp": now - 1, "message": "hello from the cli"},
                         {"timestamp": now, "message": "ERROR something broke"}])
    resp = aws_logs("put-log-events", "--log-group-name", group, "--log-stream-name", "s1", "--log-events", events)
    assert "nextSequenceToken" in resp
    got = aws_logs("get-log-events", "--log-group-name", group, "--log-stream-name", "s1", "--start-from-head")
    assert [e["message"] for e in got["events"]] == ["hello from the cli", "ERROR something broke"]
    found = aws_logs("filter-log-events", "--log-group-name", group, "--filter-pattern", "ERROR")
    assert [e["message"] for e in found["events"]] == ["ERROR something broke"]
    groups = aws_logs("describe-log-groups", "--log-group-name-prefix", group)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [group]
    aws_logs("put-retention-policy", "--log-group-name", group, "--retention-in-days", "14")
    assert aws_logs("describe-log-groups", "--log-group-name-prefix", group)["logGroups"][0]["retentionInDays"] == 14
    assert aws_logs("list-tags-log-group", "--log-group-name", group)["tags"] == {"team": "core"}
    with pytest.raises(AwsCliError) as exc:
        aws_logs("create-log-group", "--log-group-name", group)
    assert "ResourceAlreadyExistsException" in exc.value.stderr
    aws_logs("delete-log-group", "--log-group-name", group)


class TestCliTail:
    @pytest.fixture(autouse=True)
    def _needs_tail(self, cli_has_tail):
        pass

    def _group(self, logs):
        group = f"/tail/{unique('g')}"
        logs.create_log_group(logGroupName=group)
        for s in ("app", "db"):
            logs.create_log_stream(logGroupName=group, logStreamName=s)
        return group

    def test_tail_since_and_filter_pattern(self, logs, aws_logs):
        group = self._group(logs)
        now = now_ms()
        put(logs, group, "app", [(now - 2 * HOUR, "two hours ago"), (now - 5 * MINUTE, "app started"),
                                 (now - 2000, "ERROR request failed")])
        put(logs, group, "db", [(now - 3 * MINUTE, "db ready")])

        out = aws_logs("tail", group, "--format", "detailed", raw=True)
        lines = out.strip().splitlines()
        assert [line.split(" ", 2)[2] for line in lines] == ["app started", "db ready", "ERROR request failed"]
        assert [line.split(" ", 2)[1] for line in lines] == ["app", "db", "app"]
        ts = datetime.fromisoformat(lines[0].split(" ", 1)[0])
        assert abs(ts.timestamp() * 1000 - (now - 5 * MINUTE)) < 1000
        assert ts.tzinfo is not None and ts.utcoffset() == timezone.utc.utcoffset(None)

        out = aws_logs("tail", group, "--since", "3h", "--format", "short", raw=True)
        assert [line.split(" ", 1)[1] for line in out.strip().splitlines()] == [
            "two hours ago", "app started", "db ready", "ERROR request failed"]
        out = aws_logs("tail", group, "--filter-pattern", "ERROR", "--format", "short", raw=True)
        assert [line.split(" ", 1)[1] for line in out.strip().splitlines()] == ["ERROR request failed"]
        out = aws_logs("tail", group, "--log-stream-names", "db", "--format", "short", raw=True)
        assert [line.split(" ", 1)[1] for line in out.strip().splitlines()] == ["db ready"]

    def test_tail_unknown_group_fails(self, aws_logs):
        with pytest.raises(AwsCliError) as exc:
            aws_logs("tail", unique("nogroup"), raw=True)
        assert "ResourceNotFoundException" in exc.value.stderr

    def test_tail_follow(self, logs, target, cli_env):
        group = self._group(logs)
        now = now_ms()
        put(logs, group, "app", [(now - 1000, "before follow")])
        cmd = [*aws_cli_base(), "--endpoint-url", target.endpoint, "--region", REGION, "--color", "off",
               "logs", "tail", group, "--follow", "--format", "short"]
        # A terminal, so that the CLI writes each line as it comes (a pipe would buffer it).
        master, slave = pty.openpty()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, env=cli_env)
        os.close(slave)
        chunks: list[bytes] = []

        def reader():
            while True:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    return
                if not data:
                    return
                chunks.append(data)

        def lines() -> list[str]:
            text = b"".join(chunks).decode("utf-8", "replace").replace("\r", "")
            return [x for x in text.split("\n") if x.strip()]

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any("before follow" in x for x in lines()):
                time.sleep(0.1)
            assert any("before follow" in x for x in lines()), f"no output from tail --follow: {lines()}"
            put(logs, group, "db", [(now_ms(), "during follow 1")])
            put(logs, group, "app", [(now_ms(), "during follow 2")])
            # The CLI polls every 5 seconds, from the newest timestamp it has seen.
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not any("during follow 2" in x for x in lines()):
                time.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C sends; the CLI ends --follow on it
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            t.join(5)
            os.close(master)
        msgs = [x.split(" ", 1)[1] for x in lines() if " " in x]
        assert msgs == ["before follow", "during follow 1", "during follow 2"], lines()
