"""SNS filter policies, table-driven: for each policy, which of a fixed set of messages reach a
raw SQS subscriber. Attribute scope (the default) and body scope (FilterPolicyScope
MessageBody), every operator SNS documents (sns-subscription-filter-policies)."""

from __future__ import annotations

import json
import time

import pytest

from sns_helpers import receive, sns, subscribe_queue  # noqa: F401  (fixture)
from sqs_helpers import unique

pytestmark = pytest.mark.stratus_only

S = "String"
N = "Number"
A = "String.Array"

# name -> message attributes {attribute: (type, value)}
MESSAGES = {
    "red": {"color": (S, "red"), "size": (N, "5"), "store": (S, "example_corp")},
    "blue": {"color": (S, "blue"), "size": (N, "50.5"), "store": (S, "other-corp")},
    "Red": {"color": (S, "Red"), "size": (N, "0")},
    "tags": {"color": (A, '["green", "red"]'), "size": (N, "1000")},
    "ip": {"color": (S, "orange"), "source_ip": (S, "10.0.1.15")},
    "bare": {},
}

ATTRIBUTE_CASES = [
    ({"color": ["red"]}, {"red", "tags"}),
    ({"color": ["red", "blue"]}, {"red", "blue", "tags"}),
    ({"size": [5]}, {"red"}),
    ({"size": [{"numeric": [">", 5]}]}, {"blue", "tags"}),
    ({"size": [{"numeric": [">=", 0, "<", 50]}]}, {"red", "Red"}),
    ({"size": [{"numeric": ["=", 50.5]}]}, {"blue"}),
    ({"store": [{"prefix": "example"}]}, {"red"}),
    ({"store": [{"suffix": "corp"}]}, {"red", "blue"}),
    ({"color": [{"equals-ignore-case": "RED"}]}, {"red", "Red", "tags"}),
    # A String.Array matches anything-but only if none of its elements is excluded ("tags"
    # holds "red").
    ({"color": [{"anything-but": "red"}]}, {"blue", "Red", "ip"}),
    ({"color": [{"anything-but": ["red", "blue"]}]}, {"Red", "ip"}),
    ({"color": [{"anything-but": {"prefix": "r"}}]}, {"blue", "Red", "ip"}),
    ({"store": [{"exists": True}]}, {"red", "blue"}),
    ({"store": [{"exists": False}]}, {"Red", "tags", "ip", "bare"}),
    ({"source_ip": [{"cidr": "10.0.0.0/16"}]}, {"ip"}),
    ({"source_ip": [{"cidr": "10.0.0.0/24"}]}, set()),
    ({"color": ["red"], "size": [{"numeric": ["<", 10]}]}, {"red"}),
    ({"$or": [{"color": ["blue"]}, {"size": [{"numeric": [">", 100]}]}]}, {"blue", "tags"}),
    ({"color": ["red", {"prefix": "or"}]}, {"red", "tags", "ip"}),
]

BODIES = {
    "paid": {"order": {"status": "paid", "total": 120, "items": ["book", "pen"]}, "region": "eu-west-1"},
    "open": {"order": {"status": "open", "total": 15, "items": ["pen"]}, "region": "us-east-1"},
    "nested": {"order": {"status": "paid", "total": 15, "customer": {"tier": "gold"}}, "region": "us-west-2"},
    "text": "not json at all",
}

BODY_CASES = [
    ({"order": {"status": ["paid"]}}, {"paid", "nested"}),
    ({"order": {"total": [{"numeric": [">", 100]}]}}, {"paid"}),
    ({"order": {"items": ["pen"]}}, {"paid", "open"}),
    ({"order": {"customer": {"tier": ["gold"]}}}, {"nested"}),
    ({"region": [{"prefix": "us-"}]}, {"open", "nested"}),
    ({"order": {"customer": [{"exists": False}]}, "region": [{"anything-but": "eu-west-1"}]}, {"open"}),
    ({"$or": [{"order": {"status": ["open"]}}, {"region": [{"suffix": "-2"}]}]}, {"open", "nested"}),
]


def attrs_of(spec):
    return {k: {"DataType": t, "StringValue": v} for k, (t, v) in spec.items()}


def run_cases(sns, sqs, cases, publish_all, scope):
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    queues = []
    for policy, expected in cases:
        attrs = {"FilterPolicy": json.dumps(policy)}
        if scope:
            attrs["FilterPolicyScope"] = scope
        url, _ = subscribe_queue(sns, sqs, topic, raw=True, **attrs)
        queues.append((policy, expected, url))
    total = publish_all(topic)
    got = {url: {m["Body"] for m in receive(sqs, url, len(expected), timeout=5)} for _, expected, url in queues}
    # Every delivery of these publishes is queued together; give stragglers a moment, then
    # collect anything a policy should not have let through.
    time.sleep(1)
    for _, _, url in queues:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        got[url] |= {m["Body"] for m in r.get("Messages", [])}
    failures = [f"{json.dumps(policy)}: expected {sorted(expected)}, got {sorted(got[url])}"
                for policy, expected, url in queues if got[url] != expected]
    assert not failures, "\n".join(failures)
    assert total == len(MESSAGES) or total == len(BODIES)


def test_attribute_policies(sns, sqs):
    def publish_all(topic):
        for name, spec in MESSAGES.items():
            kwargs = {"MessageAttributes": attrs_of(spec)} if spec else {}
            sns.publish(TopicArn=topic, Message=name, **kwargs)
        return len(MESSAGES)

    run_cases(sns, sqs, ATTRIBUTE_CASES, publish_all, None)


def test_body_policies(sns, sqs):
    names = {}

    def publish_all(topic):
        for name, body in BODIES.items():
            text = json.dumps(body) if isinstance(body, dict) else body
            names[text] = name
            sns.publish(TopicArn=topic, Message=text)
        return len(BODIES)

    # Raw delivery hands over the body itself; map it back to the case's name.
    cases = [(p, {json.dumps(BODIES[n]) if isinstance(BODIES[n], dict) else BODIES[n] for n in exp})
             for p, exp in BODY_CASES]
    run_cases(sns, sqs, cases, publish_all, "MessageBody")


def test_attribute_policy_ignores_the_body_and_body_policy_ignores_attributes(sns, sqs):
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    by_attr, _ = subscribe_queue(sns, sqs, topic, raw=True, FilterPolicy=json.dumps({"kind": ["a"]}))
    by_body, _ = subscribe_queue(sns, sqs, topic, raw=True, FilterPolicy=json.dumps({"kind": ["a"]}),
                                 FilterPolicyScope="MessageBody")
    sns.publish(TopicArn=topic, Message=json.dumps({"kind": "b"}),
                MessageAttributes={"kind": {"DataType": "String", "StringValue": "a"}})
    sns.publish(TopicArn=topic, Message=json.dumps({"kind": "a"}),
                MessageAttributes={"kind": {"DataType": "String", "StringValue": "b"}})
    assert [json.loads(m["Body"])["kind"] for m in receive(sqs, by_attr, 2, timeout=3)] == ["b"]
    assert [json.loads(m["Body"])["kind"] for m in receive(sqs, by_body, 2, timeout=3)] == ["a"]
