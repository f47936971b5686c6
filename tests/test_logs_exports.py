"""CloudWatch Logs export tasks to S3: CreateExportTask writes a group's events of a time range
as gzipped text objects under `{destinationPrefix}/{taskId}/{stream}/000000.gz` (each line
`{ISO-8601 timestamp} {message}`) plus the `aws-logs-write-test` object S3 access is checked with,
then reports COMPLETED; DescribeExportTasks and CancelExportTask; AWS's errors."""

from __future__ import annotations

import gzip
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, unique

pytestmark = pytest.mark.stratus_only


@pytest.fixture(scope="module")
def clients(target):
    kw = dict(endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    return boto3.client("logs", **kw), boto3.client("s3", **kw)


def wait_done(logs, task_id, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        [t] = logs.describe_export_tasks(taskId=task_id)["exportTasks"]
        if t["status"]["code"] not in ("PENDING", "RUNNING") or time.monotonic() > deadline:
            return t
        time.sleep(0.1)


def test_export_task_writes_gzipped_events_per_stream(clients):
    logs, s3 = clients
    bucket = unique("exports").lower()
    s3.create_bucket(Bucket=bucket)
    group = f"/export/{unique('g')}"
    logs.create_log_group(logGroupName=group)
    now = int(time.time() * 1000)
    base = now - 60_000
    for stream, offsets in (("a", [0, 1000, 2000]), ("b", [500, 5000])):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": base + o, "message": f"{stream}-{o}"} for o in offsets])
    task_id = logs.create_export_task(taskName="nightly", logGroupName=group, **{"from": base}, to=base + 2000,
                                      destination=bucket, destinationPrefix="logs/out")["taskId"]
    t = wait_done(logs, task_id)
    assert t["status"]["code"] == "COMPLETED", t
    assert (t["taskName"], t["logGroupName"], t["destination"], t["destinationPrefix"]) == \
        ("nightly", group, bucket, "logs/out")
    assert (t["from"], t["to"]) == (base, base + 2000)
    assert "creationTime" in t["executionInfo"] and "completionTime" in t["executionInfo"]

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert "logs/out/aws-logs-write-test" in keys
    a_key, b_key = f"logs/out/{task_id}/a/000000.gz", f"logs/out/{task_id}/b/000000.gz"
    assert a_key in keys and b_key in keys

    def lines(key):
        return gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode().splitlines()

    a = lines(a_key)
    assert [line.split(" ", 1)[1] for line in a] == ["a-0", "a-1000", "a-2000"]
    assert a[0].split(" ", 1)[0].endswith("Z") and "T" in a[0].split(" ", 1)[0]
    assert [line.split(" ", 1)[1] for line in lines(b_key)] == ["b-500"]


def test_export_task_errors_and_cancel(clients):
    logs, s3 = clients
    bucket = unique("exports").lower()
    s3.create_bucket(Bucket=bucket)
    group = f"/export/{unique('g')}"
    logs.create_log_group(logGroupName=group)
    now = int(time.time() * 1000)
    with pytest.raises(ClientError) as e:
        logs.create_export_task(logGroupName=f"/missing/{unique('g')}", **{"from": 0}, to=now, destination=bucket)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        logs.create_export_task(logGroupName=group, **{"from": now}, to=now - 1000, destination=bucket)
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.create_export_task(logGroupName=group, **{"from": 0}, to=now, destination=unique("nobucket").lower())
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"

    task_id = logs.create_export_task(logGroupName=group, **{"from": 0}, to=now, destination=bucket)["taskId"]
    t = wait_done(logs, task_id)
    assert t["status"]["code"] == "COMPLETED"
    assert t["destinationPrefix"] == "exportedlogs"
    with pytest.raises(ClientError) as e:
        logs.cancel_export_task(taskId=task_id)
    assert e.value.response["Error"]["Code"] == "InvalidOperationException"
    with pytest.raises(ClientError) as e:
        logs.cancel_export_task(taskId="0" * 36)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    listed = logs.describe_export_tasks(statusCode="COMPLETED")["exportTasks"]
    assert task_id in [x["taskId"] for x in listed]
    assert task_id not in [x["taskId"] for x in logs.describe_export_tasks(statusCode="CANCELLED")["exportTasks"]]
