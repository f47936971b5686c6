"""CloudWatch Logs scheduled queries: CRUD with AWS's validation, and a query that runs on its
schedule, writes its results to S3 and records the run in its history."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, client_config, unique

pytestmark = pytest.mark.stratus_only

ROLE = "arn:aws:iam::000000000000:role/scheduled-queries"


@pytest.fixture(scope="module")
def clients(target):
    kw = dict(endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
              aws_secret_access_key="test", config=client_config())
    return boto3.client("logs", **kw), boto3.client("s3", **kw)


def code(e):
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def create(logs, name=None, **kw):
    args = dict(name=name or unique("sq"), queryLanguage="CWLI", queryString="stats count() as n",
                scheduleExpression="cron(0 * * * ? *)", executionRoleArn=ROLE)
    args.update(kw)
    return args["name"], logs.create_scheduled_query(**args)


def test_create_get_list_update_delete(clients):
    logs, _ = clients
    name, made = create(logs, description="hourly count", logGroupIdentifiers=["/sq/app"], startTimeOffset=3600)
    assert made["scheduledQueryArn"] == f"arn:aws:logs:{REGION}:000000000000:scheduled-query:{name}"
    assert made["state"] == "ENABLED"
    got = logs.get_scheduled_query(identifier=name)
    assert (got["name"], got["queryString"], got["scheduleExpression"], got["description"], got["startTimeOffset"]) == \
        (name, "stats count() as n", "cron(0 * * * ? *)", "hourly count", 3600)
    assert got["creationTime"] == got["lastUpdatedTime"]
    assert logs.get_scheduled_query(identifier=made["scheduledQueryArn"])["name"] == name
    [listed] = [q for q in logs.list_scheduled_queries()["scheduledQueries"] if q["name"] == name]
    assert listed["state"] == "ENABLED" and listed["scheduledQueryArn"] == made["scheduledQueryArn"]
    time.sleep(0.01)
    updated = logs.update_scheduled_query(identifier=name, queryLanguage="CWLI", queryString="stats count() as m",
                                          scheduleExpression="rate(1 hour)", executionRoleArn=ROLE, state="DISABLED")
    assert (updated["queryString"], updated["state"], updated["scheduleExpression"]) == \
        ("stats count() as m", "DISABLED", "rate(1 hour)")
    assert updated["lastUpdatedTime"] > updated["creationTime"]
    assert "description" not in updated  # what an update leaves out is cleared
    assert [q["name"] for q in logs.list_scheduled_queries(state="DISABLED")["scheduledQueries"]] == [name]
    assert logs.list_scheduled_queries(state="ENABLED")["scheduledQueries"] == []
    logs.delete_scheduled_query(identifier=name)
    for call in (lambda: logs.get_scheduled_query(identifier=name), lambda: logs.delete_scheduled_query(identifier=name),
                 lambda: logs.get_scheduled_query_history(identifier=name, startTime=0, endTime=2**40)):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == ("ResourceNotFoundException", 400)


def test_validation(clients):
    logs, _ = clients
    name, _ = create(logs)
    with pytest.raises(ClientError) as e:
        create(logs, name=name)
    assert code(e) == ("ConflictException", 400)
    for bad in (dict(scheduleExpression="every now and then"), dict(scheduleExpression="cron(0 25 * * ? *)"),
                dict(queryString="stats count( by"), dict(queryLanguage="SQL", queryString="SELECT 1"),
                dict(destinationConfiguration={"s3Configuration": {"destinationIdentifier": "bucket-only",
                                                                   "roleArn": ROLE}})):
        with pytest.raises(ClientError) as e:
            create(logs, **bad)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, bad


@pytest.mark.slow
def test_a_query_runs_on_its_schedule_and_writes_to_s3(clients):
    logs, s3 = clients
    bucket = unique("sq-results").lower()
    s3.create_bucket(Bucket=bucket)
    group = f"/sq/{unique('g')}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="s",
                        logEvents=[{"timestamp": now - 1000, "message": f"event {n}"} for n in range(3)])
    name, made = create(logs, queryString="stats count() as n", scheduleExpression="rate(1 minute)",
                        logGroupIdentifiers=[group], startTimeOffset=600,
                        destinationConfiguration={"s3Configuration": {
                            "destinationIdentifier": f"s3://{bucket}/results", "roleArn": ROLE}})
    deadline = time.monotonic() + 90
    history = []
    while time.monotonic() < deadline and not history:
        time.sleep(2)
        history = logs.get_scheduled_query_history(identifier=name, startTime=0,
                                                   endTime=int(time.time() * 1000) + 1000)["triggerHistory"]
    assert history, "the query did not run within 90 s of a one-minute rate"
    run = history[0]
    assert run["executionStatus"] == "Complete", run
    [dest] = run["destinations"]
    assert (dest["destinationType"], dest["status"]) == ("S3", "COMPLETE")
    key = dest["processedIdentifier"].removeprefix(f"s3://{bucket}/")
    assert key == f"results/{run['queryId']}.json"
    body = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert body["results"] == [[{"field": "n", "value": "3"}]]
    got = logs.get_scheduled_query(identifier=name)
    assert got["lastExecutionStatus"] == "Complete" and got["lastTriggeredTime"] == run["triggeredTimestamp"]
    assert logs.get_scheduled_query_history(identifier=name, startTime=0, endTime=2**42,
                                            executionStatuses=["Failed"])["triggerHistory"] == []
    logs.delete_scheduled_query(identifier=name)
