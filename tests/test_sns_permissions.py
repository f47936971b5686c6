"""SNS topic permissions by statement (AddPermission/RemovePermission on the topic's access
policy) and data protection policies (Put/GetDataProtectionPolicy)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, unique

pytestmark = pytest.mark.stratus_only


@pytest.fixture(scope="module")
def sns(target):
    return boto3.client("sns", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
                        aws_secret_access_key="test")


def policy(sns, arn):
    return json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])


def test_add_and_remove_permission(sns):
    arn = sns.create_topic(Name=unique("perm"))["TopicArn"]
    before = policy(sns, arn)["Statement"]
    sns.add_permission(TopicArn=arn, Label="partners", AWSAccountId=["111122223333", "444455556666"],
                       ActionName=["Publish", "Subscribe"])
    statements = policy(sns, arn)["Statement"]
    assert len(statements) == len(before) + 1
    added = [s for s in statements if s["Sid"] == "partners"][0]
    assert added["Effect"] == "Allow" and added["Resource"] == arn
    assert added["Principal"] == {"AWS": ["arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:root"]}
    assert added["Action"] == ["SNS:Publish", "SNS:Subscribe"]
    sns.add_permission(TopicArn=arn, Label="one", AWSAccountId=["111122223333"], ActionName=["Publish"])
    one = [s for s in policy(sns, arn)["Statement"] if s["Sid"] == "one"][0]
    assert one["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"} and one["Action"] == "SNS:Publish"
    with pytest.raises(ClientError) as e:
        sns.add_permission(TopicArn=arn, Label="partners", AWSAccountId=["111122223333"], ActionName=["Publish"])
    assert e.value.response["Error"]["Code"] == "InvalidParameter"
    with pytest.raises(ClientError) as e:
        sns.add_permission(TopicArn=arn, Label="bad", AWSAccountId=["111122223333"], ActionName=["Fly"])
    assert e.value.response["Error"]["Code"] == "InvalidParameter"
    sns.remove_permission(TopicArn=arn, Label="partners")
    assert "partners" not in [s["Sid"] for s in policy(sns, arn)["Statement"]]
    with pytest.raises(ClientError) as e:
        sns.remove_permission(TopicArn=arn, Label="partners")
    assert e.value.response["Error"]["Code"] == "InvalidParameter"
    with pytest.raises(ClientError) as e:
        sns.add_permission(TopicArn=arn.replace(arn.split(":")[-1], unique("missing")), Label="x",
                           AWSAccountId=["111122223333"], ActionName=["Publish"])
    assert e.value.response["Error"]["Code"] == "NotFound"


def test_data_protection_policy(sns):
    arn = sns.create_topic(Name=unique("dpp"))["TopicArn"]
    assert sns.get_data_protection_policy(ResourceArn=arn)["DataProtectionPolicy"] == ""
    doc = {"Name": "basic", "Version": "2021-06-01", "Statement": [{
        "DataDirection": "Inbound", "Principal": ["*"], "DataIdentifier": [
            "arn:aws:dataprotection::aws:data-identifier/EmailAddress"], "Operation": {"Audit": {"SampleRate": "99"}}}]}
    sns.put_data_protection_policy(ResourceArn=arn, DataProtectionPolicy=json.dumps(doc))
    assert json.loads(sns.get_data_protection_policy(ResourceArn=arn)["DataProtectionPolicy"]) == doc
    with pytest.raises(ClientError) as e:
        sns.put_data_protection_policy(ResourceArn=arn, DataProtectionPolicy="{not json")
    assert e.value.response["Error"]["Code"] == "InvalidParameter"
