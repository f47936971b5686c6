"""CloudWatch Logs metric filters (Put/Describe/Delete, TestMetricFilter, the group's
metricFilterCount) and account-level resource policies."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, unique

pytestmark = pytest.mark.stratus_only


@pytest.fixture(scope="module")
def logs(target):
    return boto3.client("logs", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
                        aws_secret_access_key="test")


def transformation(name="Errors", namespace="App"):
    return [{"metricName": name, "metricNamespace": namespace, "metricValue": "1", "defaultValue": 0.0}]


def test_metric_filters(logs):
    group = unique("/app/metrics")
    logs.create_log_group(logGroupName=group)
    logs.put_metric_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                           metricTransformations=transformation())
    logs.put_metric_filter(logGroupName=group, filterName="latency", filterPattern='{ $.latency > 100 }',
                           metricTransformations=transformation("Slow", "App"))
    got = logs.describe_metric_filters(logGroupName=group)["metricFilters"]
    assert [f["filterName"] for f in got] == ["errors", "latency"]
    assert got[0]["logGroupName"] == group and got[0]["filterPattern"] == "ERROR"
    assert got[0]["metricTransformations"][0]["metricName"] == "Errors"
    assert isinstance(got[0]["creationTime"], int)
    by_metric = logs.describe_metric_filters(metricName="Slow", metricNamespace="App")["metricFilters"]
    assert [f["filterName"] for f in by_metric if f["logGroupName"] == group] == ["latency"]
    assert [f["filterName"] for f in logs.describe_metric_filters(
        logGroupName=group, filterNamePrefix="lat")["metricFilters"]] == ["latency"]
    count = [g for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]][0]["metricFilterCount"]
    assert count == 2
    with pytest.raises(ClientError) as e:
        logs.put_metric_filter(logGroupName=group, filterName="bad", filterPattern="{ $.x = ",
                               metricTransformations=transformation())
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    logs.delete_metric_filter(logGroupName=group, filterName="errors")
    with pytest.raises(ClientError) as e:
        logs.delete_metric_filter(logGroupName=group, filterName="errors")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert [f["filterName"] for f in logs.describe_metric_filters(logGroupName=group)["metricFilters"]] == ["latency"]


def test_test_metric_filter(logs):
    r = logs.test_metric_filter(filterPattern='{ $.level = "ERROR" }', logEventMessages=[
        '{"level": "INFO", "msg": "a"}', '{"level": "ERROR", "msg": "b"}', "not json", '{"level": "ERROR"}'])
    assert [(m["eventNumber"], m["eventMessage"]) for m in r["matches"]] == [
        (2, '{"level": "ERROR", "msg": "b"}'), (4, '{"level": "ERROR"}')]
    assert logs.test_metric_filter(filterPattern="ERROR", logEventMessages=["INFO only"])["matches"] == []


def test_account_resource_policies(logs):
    name = unique("policy")
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "es.amazonaws.com"},
                                                   "Action": ["logs:PutLogEvents", "logs:CreateLogStream"],
                                                   "Resource": "arn:aws:logs:*"}]}
    r = logs.put_resource_policy(policyName=name, policyDocument=json.dumps(doc))
    assert r["resourcePolicy"]["policyName"] == name and r["resourcePolicy"]["policyScope"] == "ACCOUNT"
    listed = {p["policyName"]: p for p in logs.describe_resource_policies()["resourcePolicies"]}
    assert json.loads(listed[name]["policyDocument"]) == doc
    with pytest.raises(ClientError) as e:
        logs.put_resource_policy(policyName=unique("bad"), policyDocument="{nope")
    assert e.value.response["Error"]["Code"] == "MalformedPolicyDocumentException"
    logs.delete_resource_policy(policyName=name)
    assert name not in {p["policyName"] for p in logs.describe_resource_policies()["resourcePolicies"]}
    with pytest.raises(ClientError) as e:
        logs.delete_resource_policy(policyName=name)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_data_protection_and_account_policies_are_kept(target):
    logs = boto3.client("logs", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
                        aws_secret_access_key="test")
    group = unique("/app/dp")
    logs.create_log_group(logGroupName=group)
    doc = json.dumps({"Name": "mask", "Version": "2021-06-01", "Statement": []})
    assert logs.get_data_protection_policy(logGroupIdentifier=group).get("policyDocument") is None
    put = logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=doc)
    assert put["policyDocument"] == doc and isinstance(put["lastUpdatedTime"], int)
    got = logs.get_data_protection_policy(logGroupIdentifier=group)
    assert (got["logGroupIdentifier"], got["policyDocument"]) == (group, doc)
    logs.delete_data_protection_policy(logGroupIdentifier=group)
    with pytest.raises(ClientError) as e:
        logs.delete_data_protection_policy(logGroupIdentifier=group)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument="not json")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.put_data_protection_policy(logGroupIdentifier=unique("/missing"), policyDocument=doc)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"

    name = unique("acct")
    p = logs.put_account_policy(policyName=name, policyDocument=doc, policyType="DATA_PROTECTION_POLICY",
                                scope="ALL")["accountPolicy"]
    assert (p["policyName"], p["policyType"], p["scope"]) == (name, "DATA_PROTECTION_POLICY", "ALL")
    listed = logs.describe_account_policies(policyType="DATA_PROTECTION_POLICY")["accountPolicies"]
    assert [x["policyDocument"] for x in listed if x["policyName"] == name] == [doc]
    assert logs.describe_account_policies(policyType="FIELD_INDEX_POLICY")["accountPolicies"] == []
    logs.delete_account_policy(policyName=name, policyType="DATA_PROTECTION_POLICY")
    with pytest.raises(ClientError) as e:
        logs.delete_account_policy(policyName=name, policyType="DATA_PROTECTION_POLICY")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
