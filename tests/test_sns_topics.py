"""SNS topics: CreateTopic (idempotency, names, FIFO), attributes, DeleteTopic, ListTopics
pagination, tags, unsupported operations, and the aws CLI."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from botocore.exceptions import ClientError

from sns_helpers import error, sns  # noqa: F401  (fixture)
from sqs_helpers import REGION, aws_cli_base, unique

pytestmark = pytest.mark.stratus_only


def test_create_is_idempotent_and_checks_attributes(sns, target):
    name = unique("t")
    arn = sns.create_topic(Name=name, Attributes={"DisplayName": "Shop"})["TopicArn"]
    assert arn == f"arn:aws:sns:{REGION}:{target.account}:{name}"
    # Same request again: the same topic.
    assert sns.create_topic(Name=name, Attributes={"DisplayName": "Shop"})["TopicArn"] == arn
    assert sns.create_topic(Name=name)["TopicArn"] == arn
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=name, Attributes={"DisplayName": "Other"})
    assert error(e) == ("InvalidParameter", 400)
    assert "already exists with different attributes" in e.value.response["Error"]["Message"]
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Shop"


@pytest.mark.parametrize("name", ["", "has space", "dot.name", "x" * 257, "plain.fifo"])
def test_bad_topic_names(sns, name):
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=name)
    assert error(e) == ("InvalidParameter", 400)


def test_fifo_topics(sns):
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=unique("t"), Attributes={"FifoTopic": "true"})
    assert error(e) == ("InvalidParameter", 400)
    name = unique("t") + ".fifo"
    arn = sns.create_topic(Name=name, Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"})["TopicArn"]
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["FifoTopic"] == "true" and attrs["ContentBasedDeduplication"] == "true"
    sns.set_topic_attributes(TopicArn=arn, AttributeName="ContentBasedDeduplication", AttributeValue="false")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["ContentBasedDeduplication"] == "false"
    # Content-based deduplication is for FIFO topics only.
    std = sns.create_topic(Name=unique("t"))["TopicArn"]
    with pytest.raises(ClientError) as e:
        sns.set_topic_attributes(TopicArn=std, AttributeName="ContentBasedDeduplication", AttributeValue="true")
    assert error(e) == ("InvalidParameter", 400)
    assert "FifoTopic" not in sns.get_topic_attributes(TopicArn=std)["Attributes"]


def test_default_attributes(sns, target):
    arn = sns.create_topic(Name=unique("t"))["TopicArn"]
    a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert a["TopicArn"] == arn and a["Owner"] == target.account
    assert (a["SubscriptionsConfirmed"], a["SubscriptionsPending"], a["SubscriptionsDeleted"]) == ("0", "0", "0")
    assert a["DisplayName"] == ""
    policy = json.loads(a["Policy"])
    assert policy["Version"] == "2008-10-17"
    st = policy["Statement"][0]
    assert st["Effect"] == "Allow" and st["Resource"] == arn and "SNS:Publish" in st["Action"]
    assert st["Condition"] == {"StringEquals": {"AWS:SourceOwner": target.account}}
    eff = json.loads(a["EffectiveDeliveryPolicy"])
    retry = eff["http"]["defaultHealthyRetryPolicy"]
    assert (retry["numRetries"], retry["minDelayTarget"], retry["maxDelayTarget"]) == (3, 20, 20)
    # SignatureVersion is absent until set (absent means 1).
    assert "SignatureVersion" not in a


def test_set_attributes(sns):
    arn = sns.create_topic(Name=unique("t"))["TopicArn"]
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Hello")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="2")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="TracingConfig", AttributeValue="Active")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="KmsMasterKeyId", AttributeValue="alias/aws/sns")
    policy = {"http": {"defaultHealthyRetryPolicy": {"numRetries": 5, "minDelayTarget": 2, "maxDelayTarget": 9}}}
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(policy))
    a = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert (a["DisplayName"], a["SignatureVersion"], a["TracingConfig"], a["KmsMasterKeyId"]) == \
        ("Hello", "2", "Active", "alias/aws/sns")
    assert json.loads(a["DeliveryPolicy"]) == policy
    eff = json.loads(a["EffectiveDeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"]
    assert (eff["numRetries"], eff["minDelayTarget"], eff["maxDelayTarget"]) == (5, 2, 9)
    for name, value in [("SignatureVersion", "3"), ("TracingConfig", "Sometimes"), ("Policy", "not json"),
                        ("DeliveryPolicy", "{"), ("NoSuchAttribute", "x")]:
        with pytest.raises(ClientError) as e:
            sns.set_topic_attributes(TopicArn=arn, AttributeName=name, AttributeValue=value)
        assert error(e) == ("InvalidParameter", 400), name
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SignatureVersion"] == "2"


def test_missing_topic(sns, target):
    missing = f"arn:aws:sns:{REGION}:{target.account}:{unique('nope')}"
    for call in (lambda: sns.get_topic_attributes(TopicArn=missing),
                 lambda: sns.set_topic_attributes(TopicArn=missing, AttributeName="DisplayName", AttributeValue="x"),
                 lambda: sns.publish(TopicArn=missing, Message="x"),
                 lambda: sns.list_subscriptions_by_topic(TopicArn=missing)):
        with pytest.raises(ClientError) as e:
            call()
        assert error(e) == ("NotFound", 404)


def test_delete_topic(sns):
    arn = sns.create_topic(Name=unique("t"))["TopicArn"]
    sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=f"arn:aws:sqs:{REGION}:000000000000:x",
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    sns.delete_topic(TopicArn=arn)
    with pytest.raises(ClientError) as e:
        sns.get_topic_attributes(TopicArn=arn)
    assert error(e) == ("NotFound", 404)
    # Its subscriptions go with it; deleting again is not an error.
    with pytest.raises(ClientError) as e:
        sns.get_subscription_attributes(SubscriptionArn=sub)
    assert error(e) == ("NotFound", 404)
    sns.delete_topic(TopicArn=arn)
    assert arn not in [t["TopicArn"] for t in sns.list_topics()["Topics"]]


def test_list_topics_pages_of_100(sns):
    arns = {sns.create_topic(Name=f"page-{i:03d}")["TopicArn"] for i in range(105)}
    first = sns.list_topics()
    assert len(first["Topics"]) == 100 and "NextToken" in first
    second = sns.list_topics(NextToken=first["NextToken"])
    assert len(second["Topics"]) == 5 and "NextToken" not in second
    assert {t["TopicArn"] for t in first["Topics"] + second["Topics"]} == arns
    pages = sns.get_paginator("list_topics").paginate()
    assert sum(len(p["Topics"]) for p in pages) == 105
    with pytest.raises(ClientError) as e:
        sns.list_topics(NextToken="%%%")
    assert error(e) == ("InvalidParameter", 400)


def test_tags(sns, target):
    arn = sns.create_topic(Name=unique("t"), Tags=[{"Key": "team", "Value": "a"}])["TopicArn"]
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "b"}])
    assert sorted((t["Key"], t["Value"]) for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]) == \
        [("env", "dev"), ("team", "b")]
    sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    with pytest.raises(ClientError) as e:
        sns.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert error(e) == ("TagLimitExceeded", 400)
    missing = f"arn:aws:sns:{REGION}:{target.account}:{unique('nope')}"
    with pytest.raises(ClientError) as e:
        sns.list_tags_for_resource(ResourceArn=missing)
    assert error(e) == ("ResourceNotFound", 404)
    # Creating again with different tags is refused.
    name = arn.rsplit(":", 1)[1]
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=name, Tags=[{"Key": "other", "Value": "x"}])
    assert error(e) == ("InvalidParameter", 400)


def test_aws_cli(target, tmp_path):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=REGION,
               AWS_CONFIG_FILE=str(tmp_path / "config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "creds"),
               AWS_PAGER="", AWS_MAX_ATTEMPTS="1")
    env.pop("AWS_PROFILE", None)

    def aws(*args):
        cmd = [*aws_cli_base(), "--endpoint-url", target.endpoint, "--region", REGION, "--output", "json", "sns", *args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout) if p.stdout.strip() else None

    name = unique("cli")
    arn = aws("create-topic", "--name", name)["TopicArn"]
    assert arn.endswith(":" + name)
    published = aws("publish", "--topic-arn", arn, "--message", "hello from the CLI", "--subject", "hi")
    assert len(published["MessageId"]) == 36
    assert arn in [t["TopicArn"] for t in aws("list-topics")["Topics"]]
    aws("delete-topic", "--topic-arn", arn)
    assert arn not in [t["TopicArn"] for t in aws("list-topics")["Topics"]]
