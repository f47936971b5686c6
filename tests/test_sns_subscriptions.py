"""SNS subscriptions: Subscribe (protocols, endpoints, attributes, idempotency), the pending
state of HTTP subscriptions and its confirmation, Unsubscribe, listings and attributes."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from botocore.exceptions import ClientError

from sns_helpers import error, http_endpoint, sns  # noqa: F401  (fixtures)
from sqs_helpers import REGION, unique

pytestmark = pytest.mark.stratus_only


def qarn(target, name=None):
    return f"arn:aws:sqs:{REGION}:{target.account}:{name or unique('q')}"


def test_subscribe_sqs_is_confirmed_and_idempotent(sns, target):
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    endpoint = qarn(target)
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=endpoint)["SubscriptionArn"]
    assert sub.startswith(topic + ":") and len(sub) == len(topic) + 37
    assert sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=endpoint)["SubscriptionArn"] == sub
    a = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert (a["Protocol"], a["Endpoint"], a["TopicArn"], a["Owner"]) == ("sqs", endpoint, topic, target.account)
    assert (a["PendingConfirmation"], a["RawMessageDelivery"], a["ConfirmationWasAuthenticated"]) == \
        ("false", "false", "true")
    t = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert (t["SubscriptionsConfirmed"], t["SubscriptionsPending"]) == ("1", "0")
    # The same endpoint with different attributes is a conflict.
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=endpoint, Attributes={"RawMessageDelivery": "true"})
    assert error(e) == ("InvalidParameter", 400)


@pytest.mark.parametrize("protocol,endpoint", [
    ("carrier-pigeon", "x"),
    ("sqs", "not-an-arn"),
    ("sqs", None),
    ("lambda", "arn:aws:sqs:us-east-1:000000000000:q"),
    ("http", "https://example.com/"),
    ("https", "ftp://example.com/"),
    ("email", "someone@example.com"),
])
def test_bad_protocols_and_endpoints(sns, protocol, endpoint):
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    kwargs = {"TopicArn": topic, "Protocol": protocol}
    if endpoint is not None:
        kwargs["Endpoint"] = endpoint
    with pytest.raises(ClientError) as e:
        sns.subscribe(**kwargs)
    assert error(e) == ("InvalidParameter", 400)
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_fifo_rules(sns, target):
    std = sns.create_topic(Name=unique("t"))["TopicArn"]
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=std, Protocol="sqs", Endpoint=qarn(target, unique("q") + ".fifo"))
    assert error(e) == ("InvalidParameter", 400)
    fifo = sns.create_topic(Name=unique("t") + ".fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    assert sns.subscribe(TopicArn=fifo, Protocol="sqs", Endpoint=qarn(target, unique("q") + ".fifo"))
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=fifo, Protocol="http", Endpoint="http://127.0.0.1:9/x")
    assert error(e) == ("InvalidParameter", 400)


def test_subscription_attributes(sns, target):
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    policy = json.dumps({"color": ["red"]})
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn(target),
                        Attributes={"RawMessageDelivery": "true", "FilterPolicy": policy},
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    a = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert a["RawMessageDelivery"] == "true"
    assert json.loads(a["FilterPolicy"]) == {"color": ["red"]}
    assert a["FilterPolicyScope"] == "MessageAttributes"
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicyScope", AttributeValue="MessageBody")
    body_policy = json.dumps({"order": {"status": ["paid"]}})
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue=body_policy)
    redrive = json.dumps({"deadLetterTargetArn": qarn(target)})
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RedrivePolicy", AttributeValue=redrive)
    a = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert a["FilterPolicyScope"] == "MessageBody" and json.loads(a["FilterPolicy"]) == json.loads(body_policy)
    assert json.loads(a["RedrivePolicy"]) == json.loads(redrive)
    # A nested policy does not fit the attribute scope.
    with pytest.raises(ClientError) as e:
        sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicyScope",
                                        AttributeValue="MessageAttributes")
    assert error(e) == ("InvalidParameter", 400)
    # An empty value removes the policy.
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue="")
    assert "FilterPolicy" not in sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    bad = [("RawMessageDelivery", "maybe"), ("FilterPolicyScope", "Everything"), ("RedrivePolicy", "{}"),
           ("FilterPolicy", "{not json"), ("FilterPolicy", json.dumps({"a": [{"numeric": ["<", 1, ">", 5]}]})),
           ("DeliveryPolicy", json.dumps({"healthyRetryPolicy": {"numRetries": 1}})), ("Unknown", "x")]
    for name, value in bad:
        with pytest.raises(ClientError) as e:
            sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName=name, AttributeValue=value)
        assert error(e) == ("InvalidParameter", 400), name


def test_filter_policy_limits(sns, target):
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    six_keys = json.dumps({k: ["x"] for k in "abcdef"})
    too_complex = json.dumps({"a": [str(i) for i in range(13)], "b": [str(i) for i in range(12)]})
    for policy in (six_keys, too_complex, "[]", json.dumps({"a": []}), json.dumps({"a": [{"wat": 1}]})):
        with pytest.raises(ClientError) as e:
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn(target), Attributes={"FilterPolicy": policy})
        assert error(e) == ("InvalidParameter", 400), policy
        assert e.value.response["Error"]["Message"].startswith("Invalid parameter: Attributes Reason: FilterPolicy: "), policy
    ok = json.dumps({"a": [str(i) for i in range(12)], "b": [str(i) for i in range(12)]})
    assert sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn(target), Attributes={"FilterPolicy": ok})


def test_unsubscribe(sns, target):
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn(target))["SubscriptionArn"]
    sns.unsubscribe(SubscriptionArn=sub)
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    with pytest.raises(ClientError) as e:
        sns.get_subscription_attributes(SubscriptionArn=sub)
    assert error(e) == ("NotFound", 404)
    with pytest.raises(ClientError) as e:
        sns.unsubscribe(SubscriptionArn="not-an-arn")
    assert error(e) == ("InvalidParameter", 400)
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsDeleted"] == "1"


def test_list_subscriptions_pages_of_100(sns, target):
    t1 = sns.create_topic(Name=unique("t"))["TopicArn"]
    t2 = sns.create_topic(Name=unique("t"))["TopicArn"]
    subs = {sns.subscribe(TopicArn=t1, Protocol="sqs", Endpoint=qarn(target, f"q{i}"))["SubscriptionArn"]
            for i in range(103)}
    other = sns.subscribe(TopicArn=t2, Protocol="sqs", Endpoint=qarn(target, "other"))["SubscriptionArn"]
    page = sns.list_subscriptions_by_topic(TopicArn=t1)
    assert len(page["Subscriptions"]) == 100 and "NextToken" in page
    rest = sns.list_subscriptions_by_topic(TopicArn=t1, NextToken=page["NextToken"])
    assert len(rest["Subscriptions"]) == 3 and "NextToken" not in rest
    assert {s["SubscriptionArn"] for s in page["Subscriptions"] + rest["Subscriptions"]} == subs
    everything = [s for p in sns.get_paginator("list_subscriptions").paginate() for s in p["Subscriptions"]]
    assert {s["SubscriptionArn"] for s in everything} == subs | {other}
    entry = next(s for s in everything if s["SubscriptionArn"] == other)
    assert entry == {"SubscriptionArn": other, "Owner": target.account, "Protocol": "sqs",
                     "Endpoint": qarn(target, "other"), "TopicArn": t2}


def test_http_subscription_is_pending_until_confirmed(sns, http_endpoint):
    ep = http_endpoint()
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    assert sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=ep.url)["SubscriptionArn"] == "pending confirmation"
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in listed] == ["PendingConfirmation"]
    t = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert (t["SubscriptionsConfirmed"], t["SubscriptionsPending"]) == ("0", "1")
    req = ep.next()
    assert req["headers"]["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    msg = json.loads(req["body"])
    assert msg["Type"] == "SubscriptionConfirmation" and msg["TopicArn"] == topic
    with pytest.raises(ClientError) as e:
        sns.confirm_subscription(TopicArn=topic, Token="wrong")
    assert error(e) == ("InvalidParameter", 400)
    sub = sns.confirm_subscription(TopicArn=topic, Token=msg["Token"])["SubscriptionArn"]
    assert sub.startswith(topic + ":")
    assert [s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]] == [sub]
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["PendingConfirmation"] == "false"


def test_subscribe_url_and_unsubscribe_url_work_unsigned(sns, http_endpoint):
    ep = http_endpoint()
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=ep.url)
    msg = json.loads(ep.next()["body"])
    url = urlparse(msg["SubscribeURL"])
    assert parse_qs(url.query)["Action"] == ["ConfirmSubscription"]
    r = requests.get(msg["SubscribeURL"], timeout=10)
    assert r.status_code == 200 and "<ConfirmSubscriptionResult>" in r.text
    sub = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"]
    assert sub.startswith(topic + ":") and sub in r.text
    sns.publish(TopicArn=topic, Message="hi")
    note = json.loads(ep.next()["body"])
    r = requests.get(note["UnsubscribeURL"], timeout=10)
    assert r.status_code == 200 and "UnsubscribeResponse" in r.text
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
