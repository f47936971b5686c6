"""CloudWatch Logs Insights end to end: StartQuery / GetQueryResults over a fixed data set, the
query commands (fields, filter, stats, sort, limit, parse, display, dedup), StopQuery,
DescribeQueries, query definitions, GetLogRecord and GetLogGroupFields.

Every expectation is computed by hand from the data set in `JSON_EVENTS` / `TEXT_EVENTS`.

AWS facts the assertions rely on:
- GetQueryResults: `results` is a list of rows, each a list of {"field", "value"} with string
  values; non-stats rows carry a trailing `@ptr`; `@timestamp` is written
  "YYYY-MM-DD HH:MM:SS.mmm" in UTC; `statistics` are doubles ("recordsMatched": 3.0 in the
  aws CLI example, awscli/examples/logs/get-query-results.rst) and "reflect the full raw results
  of the query" (API reference), so a `limit` does not lower recordsMatched.
- GetLogRecord returns @message, @logStream, @log ("{account}:{group}") and @timestamp as epoch
  milliseconds in a string (awscli/examples/logs/get-log-record.rst).
- StartQuery's startTime/endTime are epoch seconds and both ends are inclusive (API reference);
  AWS runs such a query as START=<start>000 END=<end>999 (its DescribeQueries queryString, as
  recorded against AWS in LocalStack's test_logs_queries.snapshot.json).
- Without `sort`, rows come newest first (the sort/dedup pages: "the default descending sort
  order using @timestamp"); `parse` keeps events that do not match ("you still see it in the
  results, but without the extracted fields"); `dedup` keeps the first row per value in sort
  order and never treats missing values as duplicates (the dedup page).
- StopQuery on a query that has ended: the API reference says it "returns an error indicating
  that the specified query is not running"; answering success=false is accepted as well.
- A query that does not parse is a MalformedQueryException, HTTP 400 (boto/boto3#3450 shows
  AWS's "mismatched input ... expecting {K_PARSE, ...}" message).
- GetLogGroupFields without `time` looks at the last 15 minutes and sorts by percent,
  highest first; nested JSON keys are flattened with dots (`req.path`).

Number formatting in results is not documented. The expectations write integers without a
decimal point ("6", "422") and averages as the shortest decimal ("29.5"); every average in the
data set has an exact short binary value, so there is no rounding to argue about.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, client_config, error_code, http_status, unique

pytestmark = pytest.mark.stratus_only

# (id, offset in seconds from T0, level, latency, user, req.path): stream "api", 0 ms past the second.
JSON_EVENTS = [
    ("e1", 0, "INFO", 10, "u1", "/a"),
    ("e2", 10, "ERROR", 120, "u1", "/b"),
    ("e3", 20, "INFO", 30, "u2", "/a"),
    ("e4", 30, "WARN", 50, "u3", "/c"),
    ("e5", 40, "INFO", 20, "u1", "/a"),
    ("e6", 60, "ERROR", 200, "u2", "/a"),
    ("e7", 70, "INFO", 40, "u3", "/b"),
    ("e8", 80, "ERROR", 7, "u1", "/a"),
    ("e9", 120, "ERROR", 95, "u3", "/c"),
    ("e10", 130, "INFO", 60, "u2", "/b"),
    ("e11", 140, "WARN", 71, "u1", "/a"),
    ("e12", 150, "INFO", 17, "u2", "/a"),
]
# (id, offset in seconds from T0, message): stream "web", 456 ms past the second.
TEXT_EVENTS = [
    ("t1", 5, "user=u2 action=login"),
    ("t2", 25, "user=u1 action=view"),
    ("t3", 45, "user=u3 action=login"),
    ("t4", 65, "user=u1 action=logout"),
    ("t5", 85, "user=u2 action=view"),
    ("t6", 125, "user=u3 action=view"),
    ("t7", 145, "GET /health 200"),
    ("t8", 155, "user=u1 action=login"),
]
TEXT_MS = 456


@dataclass
class Event:
    name: str
    stream: str
    ts: int  # epoch milliseconds
    message: str


@dataclass
class Data:
    group: str
    t0: int  # epoch seconds, a whole UTC minute
    events: dict[str, Event]

    def msg(self, *names: str) -> list[str]:
        return [self.events[n].message for n in names]


@pytest.fixture(scope="module")
def logs(target):
    return boto3.session.Session().client(
        "logs", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
        aws_secret_access_key="test", config=client_config())


def put_sorted(logs, group: str, stream: str, events: list[Event]) -> None:
    events = sorted(events, key=lambda e: e.ts)
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": e.ts, "message": e.message} for e in events])


@pytest.fixture
def data(logs) -> Data:
    """The 20-event data set, placed 10 minutes before the current minute (all in the past and
    inside GetLogGroupFields' default 15-minute window)."""
    t0 = int(time.time()) // 60 * 60 - 600
    group = f"/insights/{unique('g')}"
    logs.create_log_group(logGroupName=group)
    events: dict[str, Event] = {}
    for name, off, level, latency, user, path in JSON_EVENTS:
        msg = json.dumps({"id": name, "level": level, "latency": latency, "user": user, "req": {"path": path}})
        events[name] = Event(name, "api", (t0 + off) * 1000, msg)
    for name, off, msg in TEXT_EVENTS:
        events[name] = Event(name, "web", (t0 + off) * 1000 + TEXT_MS, msg)
    for stream in ("api", "web"):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        put_sorted(logs, group, stream, [e for e in events.values() if e.stream == stream])
    return Data(group=group, t0=t0, events=events)


def fmt_ts(ms: int) -> str:
    """Logs Insights' timestamp format: "2024-05-19 06:10:35.743" (UTC)."""
    d = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return d.strftime("%Y-%m-%d %H:%M:%S") + f".{ms % 1000:03d}"


def run(logs, groups, query: str, start: int | None = None, end: int | None = None, t0: int | None = None,
        **kwargs) -> dict:
    """StartQuery, then GetQueryResults every 0.1 s (up to 10 s) until it is no longer
    Scheduled/Running. `groups` is a group name or a list of names."""
    if isinstance(groups, str):
        kwargs["logGroupName"] = groups
    else:
        kwargs["logGroupNames"] = list(groups)
    if start is None:
        start = t0 - 60
    if end is None:
        end = t0 + 600
    qid = logs.start_query(startTime=start, endTime=end, queryString=query, **kwargs)["queryId"]
    assert isinstance(qid, str) and qid
    deadline = time.monotonic() + 10
    while True:
        resp = logs.get_query_results(queryId=qid)
        if resp["status"] not in ("Scheduled", "Running") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert resp["status"] == "Complete", resp
    resp["queryId"] = qid
    return resp


def q(logs, data: Data, query: str, **kwargs) -> dict:
    return run(logs, data.group, query, t0=data.t0, **kwargs)


def rows(resp) -> list[dict[str, str]]:
    return [{f["field"]: f["value"] for f in row} for row in resp["results"]]


def col(resp, field: str) -> list[str]:
    return [r[field] for r in rows(resp)]


def cols(resp, *fields: str) -> list[tuple[str, ...]]:
    return [tuple(r[f] for f in fields) for r in rows(resp)]


def by(resp, key: str) -> dict[str, dict[str, str]]:
    """Stats rows keyed by their group value (groups come in no documented order)."""
    out = {}
    for r in rows(resp):
        assert "@ptr" not in r, r
        k = r.pop(key)
        assert k not in out, resp["results"]
        out[k] = r
    return out


def expect_error(code: str, fn, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as exc:
        fn(**kwargs)
    assert error_code(exc.value) == code, exc.value.response
    assert http_status(exc.value) == 400
    return exc.value


_OFFSETS = {e[0]: e[1] for e in JSON_EVENTS + TEXT_EVENTS}  # all distinct
NEWEST_FIRST = sorted(_OFFSETS, key=lambda n: -_OFFSETS[n])


# ---------------------------------------------------------------------------------------------
# fields, default order, @ptr, statistics
# ---------------------------------------------------------------------------------------------
def test_fields_newest_first_with_ptr_and_statistics(logs, data):
    resp = q(logs, data, "fields @timestamp, @message, @logStream")
    # Requested fields in order, then @ptr (the aws CLI example's row shape).
    assert [[f["field"] for f in row] for row in resp["results"]] == \
        [["@timestamp", "@message", "@logStream", "@ptr"]] * 20
    ordered = [data.events[n] for n in NEWEST_FIRST]
    assert cols(resp, "@timestamp", "@message", "@logStream") == \
        [(fmt_ts(e.ts), e.message, e.stream) for e in ordered]
    assert col(resp, "@timestamp")[0].endswith(".456") and col(resp, "@timestamp")[1].endswith(".000")
    ptrs = col(resp, "@ptr")
    assert all(isinstance(p, str) and p for p in ptrs) and len(set(ptrs)) == 20

    stats = resp["statistics"]
    assert isinstance(stats["recordsMatched"], float) and stats["recordsMatched"] == 20.0
    assert isinstance(stats["recordsScanned"], float) and stats["recordsScanned"] >= 20.0
    assert isinstance(stats["bytesScanned"], float) and stats["bytesScanned"] > 0


def test_time_range_is_inclusive_epoch_seconds(logs, data):
    t0 = data.t0
    # e2 sits exactly on T0+10.000 and e5 exactly on T0+40.000: both ends are included.
    resp = q(logs, data, "fields @message", start=t0 + 10, end=t0 + 40)
    assert col(resp, "@message") == data.msg("e5", "e4", "t2", "e3", "e2")
    assert resp["statistics"]["recordsMatched"] == 5.0
    # t1 is at T0+5.456, inside [T0, T0+9].
    assert col(q(logs, data, "fields @message", start=t0, end=t0 + 9), "@message") == data.msg("t1", "e1")
    assert q(logs, data, "fields @message", start=t0 + 11, end=t0 + 19)["results"] == []


# ---------------------------------------------------------------------------------------------
# filter
# ---------------------------------------------------------------------------------------------
def test_filter_comparisons_boolean_logic_and_arithmetic(logs, data):
    def ids(query):
        return col(q(logs, data, query), "id")

    assert ids('filter latency >= 60 and level != "ERROR" | fields id') == ["e11", "e10"]
    assert ids('filter (level = "ERROR" or level = "WARN") and latency < 100 | fields id') == \
        ["e11", "e9", "e8", "e4"]
    assert ids('filter level = "INFO" and not (latency > 20) | fields id') == ["e12", "e5", "e1"]
    assert ids("filter latency > 50 and latency <= 95 | fields id") == ["e11", "e10", "e9"]
    assert ids("filter latency * 2 > 300 | fields id") == ["e6"]
    assert ids("filter latency + 1 = 8 | fields id") == ["e8"]
    assert ids("filter latency / 4 = 30 | fields id") == ["e2"]
    assert ids('filter level in ["WARN", "ERROR"] | fields id') == ["e11", "e9", "e8", "e6", "e4", "e2"]
    assert ids('filter user = "nobody" | fields id') == []


def test_filter_like_regex_substring_and_not_like(logs, data):
    def msgs(query):
        return col(q(logs, data, query), "@message")

    assert msgs("filter @message like /action=log(in|out)/ | fields @message") == \
        data.msg("t8", "t4", "t3", "t1")
    assert msgs('filter @message like "action=view" | fields @message') == data.msg("t6", "t5", "t2")
    # The JSON messages spell the key as "user": "...", so only t7 of the text lines is kept.
    not_like = msgs("filter @message not like /user=/ | fields @message")
    assert not_like == data.msg(*[n for n in NEWEST_FIRST if n.startswith("e") or n == "t7"])
    assert len(not_like) == 13
    assert msgs('filter user = "u3" or @message like "user=u3" | fields @message') == \
        data.msg("t6", "e9", "e7", "t3", "e4")


# ---------------------------------------------------------------------------------------------
# stats
# ---------------------------------------------------------------------------------------------
def test_stats_count_sum_avg_min_max_by_field(logs, data):
    assert rows(q(logs, data, "stats count(*) as n")) == [{"n": "20"}]
    assert rows(q(logs, data, "stats sum(latency) as total")) == [{"total": "720"}]

    # `latency >= 0` keeps the 12 JSON events (a comparison on a missing field is false).
    resp = q(logs, data, "filter latency >= 0 | stats count(*) as n by level | sort n desc")
    assert cols(resp, "level", "n") == [("INFO", "6"), ("ERROR", "4"), ("WARN", "2")]
    assert all("@ptr" not in r for r in rows(resp))

    resp = q(logs, data, "filter latency >= 0 | stats count() as n, sum(latency) as total, avg(latency) as mean, "
                         "min(latency) as lo, max(latency) as hi by level")
    assert by(resp, "level") == {
        "INFO": {"n": "6", "total": "177", "mean": "29.5", "lo": "10", "hi": "60"},
        "ERROR": {"n": "4", "total": "422", "mean": "105.5", "lo": "7", "hi": "200"},
        "WARN": {"n": "2", "total": "121", "mean": "60.5", "lo": "50", "hi": "71"},
    }


def test_stats_count_distinct_pct_and_nested_json_fields(logs, data):
    resp = q(logs, data, "filter latency >= 0 | stats count(*) as n by req.path")
    assert by(resp, "req.path") == {"/a": {"n": "7"}, "/b": {"n": "3"}, "/c": {"n": "2"}}

    resp = q(logs, data, "filter latency >= 0 | stats count_distinct(req.path) as paths by level")
    assert by(resp, "level") == {"INFO": {"paths": "2"}, "ERROR": {"paths": "3"}, "WARN": {"paths": "2"}}

    # Odd group sizes, so the median is one of the values: u1 = 7,10,[20],71,120; u3 = 40,[50],95.
    resp = q(logs, data, 'filter latency >= 0 and user != "u2" | stats pct(latency, 50) as p50 by user')
    assert by(resp, "user") == {"u1": {"p50": "20"}, "u3": {"p50": "50"}}

    resp = q(logs, data, 'filter req.path = "/c" | fields id, req.path, level')
    assert cols(resp, "id", "req.path", "level") == [("e9", "/c", "ERROR"), ("e4", "/c", "WARN")]


def test_stats_by_bin_one_minute(logs, data):
    resp = q(logs, data, "stats count(*) as n, sum(latency) as total by bin(1m)")
    got = {}
    for r in rows(resp):
        assert set(r) == {"bin(1m)", "n", "total"}, r
        got[r["bin(1m)"]] = (r["n"], r["total"])
    t0 = data.t0 * 1000
    assert got == {
        fmt_ts(t0): ("8", "230"),
        fmt_ts(t0 + 60_000): ("5", "247"),
        fmt_ts(t0 + 120_000): ("7", "243"),
    }
    assert all(k.endswith(":00.000") for k in got)


# ---------------------------------------------------------------------------------------------
# sort, limit
# ---------------------------------------------------------------------------------------------
def test_sort_and_limit(logs, data):
    resp = q(logs, data, "filter latency >= 0 | fields id, latency | sort latency desc | limit 3")
    assert cols(resp, "id", "latency") == [("e6", "200"), ("e2", "120"), ("e9", "95")]
    # Statistics describe the full result, not the limited rows.
    assert resp["statistics"]["recordsMatched"] == 12.0

    assert col(q(logs, data, "filter latency >= 0 | fields id | sort latency asc | limit 2"), "id") == ["e8", "e1"]
    resp = q(logs, data, "fields @timestamp, @message | sort @timestamp asc | limit 2")
    assert col(resp, "@message") == data.msg("e1", "t1")

    # StartQuery's limit parameter; with both, the smaller one applies.
    assert col(q(logs, data, "fields @message", limit=4), "@message") == data.msg("t8", "e12", "t7", "e11")
    assert len(q(logs, data, "fields @message | limit 5", limit=2)["results"]) == 2
    assert len(q(logs, data, "fields @message | limit 3", limit=10)["results"]) == 3


# ---------------------------------------------------------------------------------------------
# parse, fields expressions, display, dedup
# ---------------------------------------------------------------------------------------------
def test_parse_glob_and_regex(logs, data):
    resp = q(logs, data, 'parse @message "user=* action=*" as who, act | filter act = "login" | fields who, act')
    assert cols(resp, "who", "act") == [("u1", "login"), ("u3", "login"), ("u2", "login")]

    # Events that do not match the pattern stay in the results.
    assert len(q(logs, data, 'parse @message "user=* action=*" as who, act | fields @message')["results"]) == 20

    regex = r"parse @message /user=(?<who>\S+) action=(?<act>\S+)/"
    resp = q(logs, data, f"filter @message like /action=/ | {regex} | stats count(*) as n by act")
    assert by(resp, "act") == {"login": {"n": "3"}, "view": {"n": "3"}, "logout": {"n": "1"}}
    resp = q(logs, data, f'{regex} | filter who = "u1" | fields act')
    assert col(resp, "act") == ["login", "logout", "view"]


def test_fields_aliases_expressions_and_display(logs, data):
    resp = q(logs, data, 'fields strlen(@message) as len, id | filter id = "e1"')
    assert cols(resp, "id", "len") == [("e1", str(len(data.events["e1"].message)))]

    resp = q(logs, data, 'filter user = "u3" | fields id, latency * 2 as dbl')
    assert cols(resp, "id", "dbl") == [("e9", "190"), ("e7", "80"), ("e4", "100")]

    resp = q(logs, data, "fields id, level as severity, latency | filter latency > 60 | display id, severity")
    assert [set(r) - {"@ptr"} for r in rows(resp)] == [{"id", "severity"}] * 4
    assert cols(resp, "id", "severity") == [("e11", "WARN"), ("e9", "ERROR"), ("e6", "ERROR"), ("e2", "ERROR")]


def test_dedup(logs, data):
    # Without a sort, dedup keeps the newest event per value.
    resp = q(logs, data, "filter latency >= 0 | fields id, user | dedup user")
    assert cols(resp, "id", "user") == [("e12", "u2"), ("e11", "u1"), ("e9", "u3")]
    # After a sort, the first row in that order is kept.
    resp = q(logs, data, "filter latency >= 0 | fields id, level | sort latency asc | dedup level")
    assert cols(resp, "id", "level") == [("e8", "ERROR"), ("e1", "INFO"), ("e4", "WARN")]
    # Missing values are not duplicates: the 8 text events (no `user`) all stay.
    assert len(q(logs, data, "fields @message | dedup user")["results"]) == 3 + 8


# ---------------------------------------------------------------------------------------------
# several groups, GetLogRecord
# ---------------------------------------------------------------------------------------------
def test_several_log_groups_and_get_log_record(logs, data, target):
    g2 = f"/insights/{unique('g2')}"
    logs.create_log_group(logGroupName=g2)
    logs.create_log_stream(logGroupName=g2, logStreamName="s")
    extra = [Event(f"x{i}", "s", (data.t0 + i) * 1000,
                   json.dumps({"id": f"x{i}", "level": "ERROR" if i != 2 else "INFO", "latency": i}))
             for i in (1, 2, 3)]
    put_sorted(logs, g2, "s", extra)
    both = [data.group, g2]

    resp = run(logs, both, "fields id, @message | filter latency < 8", t0=data.t0)
    assert col(resp, "id") == ["e8", "x3", "x2", "x1"]
    assert rows(run(logs, both, 'filter level = "ERROR" | stats count(*) as n', t0=data.t0)) == [{"n": "6"}]

    ptr = dict(cols(resp, "id", "@ptr"))
    rec = logs.get_log_record(logRecordPointer=ptr["e8"])["logRecord"]
    e8 = data.events["e8"]
    assert rec["@message"] == e8.message
    assert rec["@logStream"] == "api"
    assert rec["@log"] == f"{target.account}:{data.group}"
    assert rec["@timestamp"] == str(e8.ts)
    rec = logs.get_log_record(logRecordPointer=ptr["x3"])["logRecord"]
    assert (rec["@message"], rec["@logStream"], rec["@log"], rec["@timestamp"]) == \
        (extra[2].message, "s", f"{target.account}:{g2}", str(extra[2].ts))

    [t7_ptr] = col(q(logs, data, 'filter @message = "GET /health 200" | fields @message'), "@ptr")
    rec = logs.get_log_record(logRecordPointer=t7_ptr)["logRecord"]
    assert (rec["@message"], rec["@logStream"], rec["@timestamp"]) == \
        ("GET /health 200", "web", str(data.events["t7"].ts))


def test_unknown_group_and_malformed_queries(logs, data):
    now = int(time.time())
    missing = f"/insights/{unique('missing')}"
    expect_error("ResourceNotFoundException", logs.start_query, logGroupName=missing, startTime=now - 600,
                 endTime=now, queryString="fields @message")
    expect_error("ResourceNotFoundException", logs.start_query, logGroupNames=[data.group, missing],
                 startTime=now - 600, endTime=now, queryString="fields @message")
    for bad in ('fields @message | filter (level = "ERROR"',
                "fields @message | frobnicate level",
                "stats count(*) by",
                "fields @message | limit many"):
        expect_error("MalformedQueryException", logs.start_query, logGroupName=data.group, startTime=now - 600,
                     endTime=now, queryString=bad)


# ---------------------------------------------------------------------------------------------
# StopQuery, DescribeQueries, query definitions
# ---------------------------------------------------------------------------------------------
def test_stop_finished_query_and_describe_queries(logs, data):
    before = int(time.time() * 1000)
    first = q(logs, data, "fields @message | limit 1")["queryId"]
    query_string = 'filter level = "ERROR" | stats count(*) as n'
    done = q(logs, data, query_string)
    after = int(time.time() * 1000)
    qid = done["queryId"]
    assert rows(done) == [{"n": "4"}]

    try:
        assert logs.stop_query(queryId=qid)["success"] is False
    except ClientError as e:  # AWS: "returns an error indicating that the specified query is not running"
        assert error_code(e) == "InvalidParameterException", e.response
    again = logs.get_query_results(queryId=qid)
    assert again["status"] == "Complete" and rows(again) == [{"n": "4"}]

    listed = {x["queryId"]: x for x in logs.describe_queries(logGroupName=data.group)["queries"]}
    assert {first, qid} <= set(listed)
    d = listed[qid]
    # AWS stores the query with a SOURCE ... START=... END=... | prefix; the text itself ends it.
    assert d["queryString"].endswith(query_string)
    assert d["status"] == "Complete"
    assert d["logGroupName"] == data.group
    assert before - 5000 <= d["createTime"] <= after + 5000
    assert qid in {x["queryId"] for x in logs.describe_queries(logGroupName=data.group, status="Complete")["queries"]}
    assert qid not in {x["queryId"] for x in logs.describe_queries(logGroupName=data.group, status="Running")["queries"]}


def test_query_definitions(logs):
    group = f"/insights/{unique('qd')}"
    logs.create_log_group(logGroupName=group)
    prefix = unique("saved")
    errors = logs.put_query_definition(name=f"{prefix}/errors", queryString='filter level = "ERROR"',
                                       logGroupNames=[group])["queryDefinitionId"]
    slow = logs.put_query_definition(name=f"{prefix}/slow", queryString="filter latency > 100",
                                     logGroupNames=[group])["queryDefinitionId"]
    logs.put_query_definition(name=unique("other"), queryString="fields @message")
    assert errors and slow and errors != slow

    def listed():
        defs = logs.describe_query_definitions(queryDefinitionNamePrefix=prefix)["queryDefinitions"]
        return {d["name"]: d for d in defs}

    defs = listed()
    assert set(defs) == {f"{prefix}/errors", f"{prefix}/slow"}
    d = defs[f"{prefix}/errors"]
    assert d["queryDefinitionId"] == errors
    assert d["queryString"] == 'filter level = "ERROR"'
    assert d["logGroupNames"] == [group]
    assert isinstance(d["lastModified"], int)

    # With its id, PutQueryDefinition updates in place.
    assert logs.put_query_definition(name=f"{prefix}/errors", queryDefinitionId=errors,
                                     queryString="fields @message | limit 5",
                                     logGroupNames=[group])["queryDefinitionId"] == errors
    defs = listed()
    assert len(defs) == 2
    assert defs[f"{prefix}/errors"]["queryString"] == "fields @message | limit 5"
    assert defs[f"{prefix}/errors"]["queryDefinitionId"] == errors

    assert logs.delete_query_definition(queryDefinitionId=slow)["success"] is True
    assert set(listed()) == {f"{prefix}/errors"}


# ---------------------------------------------------------------------------------------------
# GetLogGroupFields
# ---------------------------------------------------------------------------------------------
def test_get_log_group_fields(logs, data):
    fields = logs.get_log_group_fields(logGroupName=data.group)["logGroupFields"]
    percent = {f["name"]: f["percent"] for f in fields}
    # 12 of the 20 events are JSON.
    expected = {"@timestamp": 100, "@message": 100, "id": 60, "level": 60, "latency": 60, "user": 60,
                "req.path": 60}
    assert {k: percent.get(k) for k in expected} == expected
    assert "req" not in percent
    assert [f["percent"] for f in fields] == sorted((f["percent"] for f in fields), reverse=True)
