"""CloudWatch Logs: field index policies and field indexes, ListLogGroupsForQuery, lookup tables,
import tasks, OpenSearch integrations, S3 Table integration sources and
PutBearerTokenAuthentication.

Facts relied on, and where they come from:
- Shapes, required members and constraints: the botocore service model for `logs`
  (IndexPolicy = logGroupIdentifier, lastUpdateTime, policyDocument, policyName, source
  ACCOUNT | LOG_GROUP; DescribeIndexPolicies' logGroupIdentifiers holds 1..1 entries;
  FieldIndex = logGroupIdentifier, fieldIndexName, lastScanTime, firstEventTime, lastEventTime,
  type; CreateLookupTable answers lookupTableArn and createdAt only; LookupTableName
  `^[a-zA-Z0-9_]+$`; LookupTable = lookupTableArn, lookupTableName, description, tableFields,
  recordsCount, sizeBytes, lastUpdatedTime, kmsKeyId; DescribeImportTasks answers `imports`;
  DataSource requires `name` only; LogGroup has bearerTokenAuthenticationEnabled;
  CreateLookupTable's errors include ResourceAlreadyExistsException, not ConflictException).
  botocore checks only `min` constraints on the client side, so `max`/pattern violations reach
  the server.
- Behaviour, from the API reference and the model's documentation strings: IndexPolicy.policyName
  "Responses about log group-level field index policies don't have this field"; the index policy
  document "must include at least one field index"; "Matches of log events to the names of
  indexed fields are case-sensitive. For example, a field index of RequestId won't match a log
  event containing requestId"; FieldIndex.firstEventTime is "the earliest log event that matches
  this field index, after the index policy that contains it was created" (so events are put after
  the policy); DescribeFieldIndexes returns "custom and default field indexes which are discovered
  in log data" (so default indexes such as @logStream may be listed too, and the assertions look
  for the custom ones only); DescribeLookupTables "Results are sorted by table name in ascending
  order" and recordsCount is "The number of data rows in the lookup table, excluding the header
  row"; UpdateLookupTable "is a full replacement operation"; the only import source is a
  CloudTrail Lake event data store; only one OPENSEARCH integration exists per account.
- Examples: the AWS CLI examples put-index-policy / describe-index-policies answer
  logGroupIdentifier as the log group ARN without `:*`, the policy document verbatim, source
  "LOG_GROUP" and no policyName; describe-field-indexes answers logGroupIdentifier as that ARN.
- ARN formats, from the Service Authorization Reference: lookup table
  arn:${Partition}:logs:${Region}:${Account}:lookup-table:${LookupTableName}; S3 Table
  integration arn:${Partition}:observabilityadmin:${Region}:${Account}:s3tableintegration/${Id}.

Not asserted because AWS does not document it: the order of DescribeFieldIndexes entries, the
exact value of lastScanTime, the size a lookup table reports beyond the byte length of its CSV
body, and which 400 error code a rejected PutIntegration carries.
"""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, client_config, error_code, http_status, unique

pytestmark = pytest.mark.stratus_only

BAD_PARAMETER = {"InvalidParameterException", "ValidationException"}


def now_ms() -> int:
    return int(time.time() * 1000)


def fails(fn, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as e:
        fn(**kwargs)
    return e.value


def expect_error(code: str, fn, **kwargs) -> ClientError:
    err = fails(fn, **kwargs)
    assert error_code(err) == code, err.response
    assert http_status(err) == 400, err.response
    return err


@pytest.fixture(scope="module")
def logs(target):
    return boto3.session.Session().client(
        "logs", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
        aws_secret_access_key="test", config=client_config())


@pytest.fixture
def account(target) -> str:
    return target.account


def group_arn(account: str, name: str) -> str:
    return f"arn:aws:logs:{REGION}:{account}:log-group:{name}"


def new_group(logs) -> str:
    name = f"/more/{unique('g')}"
    logs.create_log_group(logGroupName=name)
    return name


def put_events(logs, group: str, events: list[tuple[int, str]], stream: str = "s1") -> None:
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except ClientError as e:
        if error_code(e) != "ResourceAlreadyExistsException":
            raise
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": ts, "message": m} for ts, m in sorted(events)])


def custom_indexes(logs, group_ids: list[str], want: set[str] | None = None, wait: float = 5.0) -> list[dict]:
    """DescribeFieldIndexes entries whose names do not start with `@` (AWS's default indexes may
    be listed too). With `want`, polls until every name in it is listed or `wait` seconds pass."""
    deadline = time.monotonic() + wait
    while True:
        entries = logs.describe_field_indexes(logGroupIdentifiers=group_ids)["fieldIndexes"]
        custom = [e for e in entries if not e["fieldIndexName"].startswith("@")]
        if not want or want <= {e["fieldIndexName"] for e in custom} or time.monotonic() > deadline:
            return custom
        time.sleep(0.2)


def table_name(prefix: str = "lt") -> str:
    # Lookup table names are `^[a-zA-Z0-9_]+$`: no hyphens, unlike `unique()`.
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def lookup_arn(account: str, name: str) -> str:
    return f"arn:aws:logs:{REGION}:{account}:lookup-table:{name}"


USERS_CSV = "id,name,dept\n1,alice,eng\n2,bob,ops"


# ---------------------------------------------------------------------------
# Field index policies
# ---------------------------------------------------------------------------

def test_put_index_policy_returns_the_log_group_policy(logs, account):
    group = new_group(logs)
    doc = '{"Fields": ["RequestId", "TransactionId"]}'
    before = now_ms()
    resp = logs.put_index_policy(logGroupIdentifier=group, policyDocument=doc)
    after = now_ms()
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    policy = resp["indexPolicy"]
    assert policy["logGroupIdentifier"] == group_arn(account, group)
    assert policy["policyDocument"] == doc
    assert policy["source"] == "LOG_GROUP"
    assert before - 1000 <= policy["lastUpdateTime"] <= after + 1000
    # "Responses about log group-level field index policies don't have this field."
    assert "policyName" not in policy, policy

    listed = logs.describe_index_policies(logGroupIdentifiers=[group])["indexPolicies"]
    assert len(listed) == 1
    assert (listed[0]["logGroupIdentifier"], listed[0]["policyDocument"], listed[0]["source"]) == \
        (group_arn(account, group), doc, "LOG_GROUP")
    assert listed[0]["lastUpdateTime"] == policy["lastUpdateTime"]


def test_index_policy_by_arn_and_replaced_by_a_second_put(logs, account):
    group = new_group(logs)
    arn = group_arn(account, group)
    logs.put_index_policy(logGroupIdentifier=arn, policyDocument='{"Fields": ["a"]}')
    by_name = logs.describe_index_policies(logGroupIdentifiers=[group])["indexPolicies"]
    by_arn = logs.describe_index_policies(logGroupIdentifiers=[arn])["indexPolicies"]
    assert [p["policyDocument"] for p in by_name] == ['{"Fields": ["a"]}']
    assert by_arn == by_name

    # AWS's own example document, with typed FieldsV2 entries next to Fields.
    doc2 = ('{"Fields": [ "TransactionId" ], "FieldsV2": {"RequestId": {"type": "FIELD_INDEX"}, '
            '"APIName": {"type": "FACET"}, "StatusCode": {"type": "FACET"}}}')
    second = logs.put_index_policy(logGroupIdentifier=group, policyDocument=doc2)["indexPolicy"]
    assert second["policyDocument"] == doc2
    listed = logs.describe_index_policies(logGroupIdentifiers=[arn])["indexPolicies"]
    assert [p["policyDocument"] for p in listed] == [doc2]
    assert listed[0]["lastUpdateTime"] >= by_name[0]["lastUpdateTime"]


def test_describe_index_policies_of_a_group_without_one_is_empty(logs):
    with_policy, without = new_group(logs), new_group(logs)
    logs.put_index_policy(logGroupIdentifier=with_policy, policyDocument='{"Fields": ["x"]}')
    assert logs.describe_index_policies(logGroupIdentifiers=[without])["indexPolicies"] == []


def test_delete_index_policy(logs):
    group = new_group(logs)
    logs.put_index_policy(logGroupIdentifier=group, policyDocument='{"Fields": ["x"]}')
    resp = logs.delete_index_policy(logGroupIdentifier=group)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert logs.describe_index_policies(logGroupIdentifiers=[group])["indexPolicies"] == []
    expect_error("ResourceNotFoundException", logs.delete_index_policy, logGroupIdentifier=group)


def test_index_operations_on_an_unknown_group(logs, account):
    missing = f"/more/{unique('missing')}"
    expect_error("ResourceNotFoundException", logs.put_index_policy, logGroupIdentifier=missing,
                 policyDocument='{"Fields": ["x"]}')
    expect_error("ResourceNotFoundException", logs.put_index_policy,
                 logGroupIdentifier=group_arn(account, missing), policyDocument='{"Fields": ["x"]}')
    expect_error("ResourceNotFoundException", logs.describe_index_policies, logGroupIdentifiers=[missing])
    expect_error("ResourceNotFoundException", logs.delete_index_policy, logGroupIdentifier=missing)
    expect_error("ResourceNotFoundException", logs.describe_field_indexes, logGroupIdentifiers=[missing])


@pytest.mark.parametrize("doc", [
    "not json",
    '{"Fields": ["unterminated"',
    "{}",
    '{"Other": ["x"]}',
    '{"Fields": "RequestId"}',
    '{"Fields": []}',  # "The policy document must include at least one field index."
])
def test_malformed_index_policy_document_is_rejected(logs, doc):
    group = new_group(logs)
    expect_error("InvalidParameterException", logs.put_index_policy, logGroupIdentifier=group, policyDocument=doc)
    assert logs.describe_index_policies(logGroupIdentifiers=[group])["indexPolicies"] == []


def test_describe_index_policies_takes_exactly_one_log_group(logs):
    # The model bounds logGroupIdentifiers to 1..1 ("the name or ARN of the log group").
    a, b = new_group(logs), new_group(logs)
    for g in (a, b):
        logs.put_index_policy(logGroupIdentifier=g, policyDocument='{"Fields": ["x"]}')
    err = fails(logs.describe_index_policies, logGroupIdentifiers=[a, b])
    assert error_code(err) in BAD_PARAMETER, err.response
    assert http_status(err) == 400


# ---------------------------------------------------------------------------
# Field indexes
# ---------------------------------------------------------------------------

def test_field_index_lists_an_indexed_field_with_its_event_time(logs, account):
    group = new_group(logs)
    logs.put_index_policy(logGroupIdentifier=group, policyDocument='{"Fields": ["requestId"]}')
    ts = now_ms() - 60_000
    put_events(logs, group, [(ts, '{"requestId": "r1"}')])

    found = custom_indexes(logs, [group], want={"requestId"})
    assert [e["fieldIndexName"] for e in found] == ["requestId"], found
    entry = found[0]
    assert entry["logGroupIdentifier"] == group_arn(account, group)
    assert entry["firstEventTime"] == ts
    assert entry["lastEventTime"] == ts
    assert isinstance(entry["lastScanTime"], int) and entry["lastScanTime"] > 0
    if "type" in entry:
        assert entry["type"] in {"FIELD_INDEX", "FACET"}


def test_field_indexes_follow_the_policy_fields_found_in_events(logs, account):
    group, other = new_group(logs), new_group(logs)
    # `neverSeen` occurs in no event; `RequestId` does not match `requestId` (case-sensitive).
    logs.put_index_policy(logGroupIdentifier=group,
                          policyDocument='{"Fields": ["requestId", "user", "neverSeen", "RequestId"]}')
    t1 = now_ms() - 120_000
    t2 = t1 + 30_000
    t3 = t1 + 60_000
    put_events(logs, group, [
        (t1, json.dumps({"requestId": "a", "level": "INFO"})),
        (t2, "plain text requestId=b user=u1"),
        (t3, json.dumps({"requestId": "c", "user": "u2"})),
    ])
    # A group with such events but no policy has no custom field indexes.
    put_events(logs, other, [(t1, json.dumps({"requestId": "z", "user": "u9"}))])

    found = custom_indexes(logs, [group, group_arn(account, other)], want={"requestId", "user"})
    by_name = {e["fieldIndexName"]: e for e in found}
    assert sorted(by_name) == ["requestId", "user"], found
    assert len(found) == 2, found
    assert (by_name["requestId"]["firstEventTime"], by_name["requestId"]["lastEventTime"]) == (t1, t3)
    assert (by_name["user"]["firstEventTime"], by_name["user"]["lastEventTime"]) == (t3, t3)
    assert {e["logGroupIdentifier"] for e in found} == {group_arn(account, group)}


# ---------------------------------------------------------------------------
# ListLogGroupsForQuery
# ---------------------------------------------------------------------------

def start_and_finish(logs, **kwargs) -> str:
    now = int(time.time())
    qid = logs.start_query(startTime=now - 3600, endTime=now + 60, queryString="fields @message", **kwargs)["queryId"]
    deadline = time.monotonic() + 10
    while logs.get_query_results(queryId=qid)["status"] in ("Scheduled", "Running"):
        assert time.monotonic() < deadline, "query did not finish"
        time.sleep(0.1)
    return qid


def test_list_log_groups_for_query_by_names(logs, account):
    a, b, unrelated = new_group(logs), new_group(logs), new_group(logs)
    put_events(logs, a, [(now_ms() - 60_000, "hello")])
    qid = start_and_finish(logs, logGroupNames=[a, b])
    resp = logs.list_log_groups_for_query(queryId=qid)
    assert sorted(resp["logGroupIdentifiers"]) == sorted([group_arn(account, a), group_arn(account, b)])
    assert group_arn(account, unrelated) not in resp["logGroupIdentifiers"]
    assert "nextToken" not in resp


def test_list_log_groups_for_query_by_identifiers(logs, account):
    a, b = new_group(logs), new_group(logs)
    qid = start_and_finish(logs, logGroupIdentifiers=[group_arn(account, a), b])
    got = logs.list_log_groups_for_query(queryId=qid)["logGroupIdentifiers"]
    assert sorted(got) == sorted([group_arn(account, a), group_arn(account, b)])
    assert not any(i.endswith(":*") for i in got)


def test_list_log_groups_for_an_unknown_query(logs):
    expect_error("ResourceNotFoundException", logs.list_log_groups_for_query, queryId=str(uuid.uuid4()))


# ---------------------------------------------------------------------------
# Lookup tables
# ---------------------------------------------------------------------------

def test_create_and_get_lookup_table(logs, account):
    name = table_name()
    before = now_ms()
    resp = logs.create_lookup_table(lookupTableName=name, tableBody=USERS_CSV, description="users by id",
                                    tags={"team": "sec"})
    after = now_ms()
    assert resp["lookupTableArn"] == lookup_arn(account, name)
    assert before - 1000 <= resp["createdAt"] <= after + 1000

    got = logs.get_lookup_table(lookupTableArn=resp["lookupTableArn"])
    assert got["lookupTableArn"] == lookup_arn(account, name)
    assert got["lookupTableName"] == name
    assert got["description"] == "users by id"
    assert got["tableBody"] == USERS_CSV
    assert got["sizeBytes"] == len(USERS_CSV.encode())
    assert resp["createdAt"] <= got["lastUpdatedTime"] <= after + 1000


def test_describe_lookup_tables_lists_metadata_sorted_with_prefix_and_pages(logs, account):
    tag = uuid.uuid4().hex[:8]
    names = [f"zz_{tag}_{s}" for s in ("c", "a", "b")]
    bodies = {names[0]: "k,v\n1,x", names[1]: USERS_CSV, names[2]: "only_header"}
    for n in names:
        logs.create_lookup_table(lookupTableName=n, tableBody=bodies[n])
    outsider = f"yy_{tag}"
    logs.create_lookup_table(lookupTableName=outsider, tableBody="a\n1")

    everything = logs.describe_lookup_tables()["lookupTables"]
    assert [t["lookupTableName"] for t in everything] == sorted(names + [outsider])

    listed = logs.describe_lookup_tables(lookupTableNamePrefix=f"zz_{tag}")
    tables = listed["lookupTables"]
    assert [t["lookupTableName"] for t in tables] == sorted(names)
    assert "nextToken" not in listed
    by_name = {t["lookupTableName"]: t for t in tables}
    assert by_name[names[1]]["lookupTableArn"] == lookup_arn(account, names[1])
    assert by_name[names[1]]["tableFields"] == ["id", "name", "dept"]
    assert by_name[names[1]]["recordsCount"] == 2
    assert by_name[names[0]]["recordsCount"] == 1
    assert by_name[names[2]]["recordsCount"] == 0
    assert by_name[names[2]]["tableFields"] == ["only_header"]
    for n, t in by_name.items():
        assert t["sizeBytes"] == len(bodies[n].encode())
        assert isinstance(t["lastUpdatedTime"], int)

    first = logs.describe_lookup_tables(lookupTableNamePrefix=f"zz_{tag}", maxResults=2)
    assert [t["lookupTableName"] for t in first["lookupTables"]] == sorted(names)[:2]
    assert first.get("nextToken")
    rest = logs.describe_lookup_tables(lookupTableNamePrefix=f"zz_{tag}", maxResults=2,
                                       nextToken=first["nextToken"])
    assert [t["lookupTableName"] for t in rest["lookupTables"]] == sorted(names)[2:]
    assert "nextToken" not in rest


def test_update_lookup_table_replaces_the_body(logs, account):
    name = table_name()
    arn = logs.create_lookup_table(lookupTableName=name, tableBody=USERS_CSV, description="v1")["lookupTableArn"]
    created = logs.get_lookup_table(lookupTableArn=arn)["lastUpdatedTime"]
    new_body = "code,meaning\n404,not found\n500,server error\n503,unavailable"
    resp = logs.update_lookup_table(lookupTableArn=arn, tableBody=new_body, description="v2")
    assert resp["lookupTableArn"] == arn
    assert resp["lastUpdatedTime"] >= created

    got = logs.get_lookup_table(lookupTableArn=arn)
    assert got["tableBody"] == new_body
    assert got["description"] == "v2"
    assert got["lookupTableName"] == name
    assert got["sizeBytes"] == len(new_body.encode())
    assert got["lastUpdatedTime"] == resp["lastUpdatedTime"]

    [listed] = logs.describe_lookup_tables(lookupTableNamePrefix=name)["lookupTables"]
    assert listed["tableFields"] == ["code", "meaning"]
    assert listed["recordsCount"] == 3


def test_delete_lookup_table(logs):
    keep, gone = table_name("keep"), table_name("gone")
    logs.create_lookup_table(lookupTableName=keep, tableBody=USERS_CSV)
    arn = logs.create_lookup_table(lookupTableName=gone, tableBody=USERS_CSV)["lookupTableArn"]
    resp = logs.delete_lookup_table(lookupTableArn=arn)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    expect_error("ResourceNotFoundException", logs.get_lookup_table, lookupTableArn=arn)
    expect_error("ResourceNotFoundException", logs.delete_lookup_table, lookupTableArn=arn)
    assert [t["lookupTableName"] for t in logs.describe_lookup_tables()["lookupTables"]] == [keep]
    # The name is free again.
    assert logs.create_lookup_table(lookupTableName=gone, tableBody="a\n1")["lookupTableArn"] == arn


def test_create_lookup_table_with_a_taken_name(logs):
    name = table_name()
    arn = logs.create_lookup_table(lookupTableName=name, tableBody=USERS_CSV)["lookupTableArn"]
    expect_error("ResourceAlreadyExistsException", logs.create_lookup_table, lookupTableName=name,
                 tableBody="other\n1")
    assert logs.get_lookup_table(lookupTableArn=arn)["tableBody"] == USERS_CSV


def test_lookup_table_operations_on_an_unknown_arn(logs, account):
    arn = lookup_arn(account, table_name("missing"))
    expect_error("ResourceNotFoundException", logs.get_lookup_table, lookupTableArn=arn)
    expect_error("ResourceNotFoundException", logs.update_lookup_table, lookupTableArn=arn, tableBody="a\n1")
    expect_error("ResourceNotFoundException", logs.delete_lookup_table, lookupTableArn=arn)
    assert logs.describe_lookup_tables()["lookupTables"] == []


@pytest.mark.parametrize("bad", ["has-hyphen", "has space", "dot.name"])
def test_lookup_table_name_outside_the_pattern_is_rejected(logs, bad):
    # LookupTableName pattern `^[a-zA-Z0-9_]+$` ("only alphanumeric characters and underscores").
    err = fails(logs.create_lookup_table, lookupTableName=bad, tableBody=USERS_CSV)
    assert error_code(err) in BAD_PARAMETER, err.response
    assert http_status(err) == 400
    assert logs.describe_lookup_tables()["lookupTables"] == []


# ---------------------------------------------------------------------------
# Import tasks (the only source, a CloudTrail Lake event data store, does not exist here)
# ---------------------------------------------------------------------------

def test_create_import_task_from_an_unknown_event_data_store(logs):
    groups_before = logs.describe_log_groups()["logGroups"]
    expect_error("ResourceNotFoundException", logs.create_import_task,
                 importSourceArn="arn:aws:cloudtrail:us-east-1:000000000000:eventdatastore/abc",
                 importRoleArn="arn:aws:iam::000000000000:role/r")
    assert logs.describe_import_tasks().get("imports") == []
    # No managed destination log group was created.
    assert logs.describe_log_groups()["logGroups"] == groups_before


def test_describe_import_tasks_is_empty(logs):
    resp = logs.describe_import_tasks()
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp.get("imports") == [], resp
    assert "nextToken" not in resp


def test_import_task_batches_and_cancel_of_an_unknown_import(logs):
    expect_error("ResourceNotFoundException", logs.describe_import_task_batches, importId="x")
    expect_error("ResourceNotFoundException", logs.cancel_import_task, importId="x")


# ---------------------------------------------------------------------------
# OpenSearch integrations
# ---------------------------------------------------------------------------

def test_no_integrations_and_unknown_names(logs):
    resp = logs.list_integrations()
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp.get("integrationSummaries") == [], resp
    assert logs.list_integrations(integrationType="OPENSEARCH").get("integrationSummaries") == []
    expect_error("ResourceNotFoundException", logs.get_integration, integrationName="nope")
    expect_error("ResourceNotFoundException", logs.delete_integration, integrationName="nope")


def test_put_integration_fails_without_opensearch(logs, account):
    err = fails(logs.put_integration, integrationName="dashboards", integrationType="OPENSEARCH",
                resourceConfig={"openSearchResourceConfig": {
                    "dataSourceRoleArn": f"arn:aws:iam::{account}:role/os-data-source",
                    "dashboardViewerPrincipals": [f"arn:aws:iam::{account}:role/viewer"],
                    "retentionDays": 7,
                }})
    assert http_status(err) == 400, err.response
    assert logs.list_integrations().get("integrationSummaries") == []
    expect_error("ResourceNotFoundException", logs.get_integration, integrationName="dashboards")


# ---------------------------------------------------------------------------
# S3 Table integration sources
# ---------------------------------------------------------------------------

def s3_table_integration_arn(account: str) -> str:
    return f"arn:aws:observabilityadmin:{REGION}:{account}:s3tableintegration/3g5043wqe54nmw5apiugwkn1a"


@pytest.mark.parametrize("op", ["associate", "associate_name_only", "disassociate", "list"])
def test_s3_table_integration_does_not_exist(logs, account, op):
    arn = s3_table_integration_arn(account)
    if op == "associate":
        expect_error("ResourceNotFoundException", logs.associate_source_to_s3_table_integration,
                     integrationArn=arn, dataSource={"name": "x", "type": "y"})
    elif op == "associate_name_only":
        # DataSource requires `name`; `type` is optional.
        expect_error("ResourceNotFoundException", logs.associate_source_to_s3_table_integration,
                     integrationArn=arn, dataSource={"name": "x"})
    elif op == "disassociate":
        expect_error("ResourceNotFoundException", logs.disassociate_source_from_s3_table_integration,
                     identifier="a8928b36-ab82-4ae2-ae5c-fcb910ec4237")
    else:
        expect_error("ResourceNotFoundException", logs.list_sources_for_s3_table_integration, integrationArn=arn)


# ---------------------------------------------------------------------------
# PutBearerTokenAuthentication
# ---------------------------------------------------------------------------

def bearer_flag(logs, group: str):
    groups = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    [g] = [g for g in groups if g["logGroupName"] == group]
    return g.get("bearerTokenAuthenticationEnabled", False)


def test_put_bearer_token_authentication_flips_the_log_group_flag(logs, account):
    group, other = new_group(logs), new_group(logs)
    assert bearer_flag(logs, group) is False

    resp = logs.put_bearer_token_authentication(logGroupIdentifier=group, bearerTokenAuthenticationEnabled=True)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert bearer_flag(logs, group) is True
    assert bearer_flag(logs, other) is False

    logs.put_bearer_token_authentication(logGroupIdentifier=group_arn(account, group),
                                         bearerTokenAuthenticationEnabled=False)
    assert bearer_flag(logs, group) is False

    logs.put_bearer_token_authentication(logGroupIdentifier=group_arn(account, other),
                                         bearerTokenAuthenticationEnabled=True)
    assert bearer_flag(logs, other) is True


def test_put_bearer_token_authentication_on_an_unknown_group(logs, account):
    missing = f"/more/{unique('missing')}"
    expect_error("ResourceNotFoundException", logs.put_bearer_token_authentication, logGroupIdentifier=missing,
                 bearerTokenAuthenticationEnabled=True)
    expect_error("ResourceNotFoundException", logs.put_bearer_token_authentication,
                 logGroupIdentifier=group_arn(account, missing), bearerTokenAuthenticationEnabled=True)
