"""SNS delivery: SQS (envelope, raw, per-protocol messages), FIFO topics to FIFO queues, Lambda,
HTTP endpoints with signed messages, dead-letter queues, and Publish/PublishBatch errors."""

from __future__ import annotations

import base64
import json
import queue as queue_mod
import time

import pytest
import requests
from botocore.exceptions import ClientError

from sns_helpers import (  # noqa: F401  (fixtures)
    envelope,
    error,
    http_endpoint,
    make_queue,
    queue_is_empty,
    receive,
    sns,
    subscribe_queue,
    verify_signature,
)
from sqs_helpers import REGION, unique
from test_lambda import ROLE, create, lam, sqs_client, zip_of  # noqa: F401  (fixtures)

pytestmark = pytest.mark.stratus_only

try:
    import cryptography  # noqa: F401
    HAVE_CRYPTO = True
except ImportError:
    HAVE_CRYPTO = False


def test_sqs_envelope(sns, sqs, target):
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    url, sub = subscribe_queue(sns, sqs, topic)
    r = sns.publish(TopicArn=topic, Message="hello", Subject="greeting",
                    MessageAttributes={"color": {"DataType": "String", "StringValue": "red"},
                                       "n": {"DataType": "Number", "StringValue": "42"},
                                       "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
    [m] = receive(sqs, url, 1)
    body = envelope(m)
    assert body["Type"] == "Notification" and body["MessageId"] == r["MessageId"]
    assert (body["TopicArn"], body["Subject"], body["Message"]) == (topic, "greeting", "hello")
    assert body["SignatureVersion"] == "1" and body["Signature"]
    assert body["UnsubscribeURL"] == f"{target.endpoint}/?Action=Unsubscribe&SubscriptionArn={sub}"
    assert body["SigningCertURL"].startswith(target.endpoint + "/") and body["SigningCertURL"].endswith(".pem")
    assert body["Timestamp"].endswith("Z") and "T" in body["Timestamp"]
    assert body["MessageAttributes"] == {
        "color": {"Type": "String", "Value": "red"},
        "n": {"Type": "Number", "Value": "42"},
        "b": {"Type": "Binary", "Value": base64.b64encode(b"\x00\x01").decode()},
    }
    # Enveloped delivery carries no SQS message attributes.
    assert "MessageAttributes" not in m
    # Without a subject the envelope has none.
    sns.publish(TopicArn=topic, Message="plain")
    [m] = receive(sqs, url, 1)
    assert "Subject" not in envelope(m) and "MessageAttributes" not in envelope(m)


@pytest.mark.skipif(not HAVE_CRYPTO, reason="needs the cryptography package")
@pytest.mark.parametrize("version", ["1", "2"])
def test_signatures_verify_with_the_served_certificate(sns, sqs, version):
    topic = sns.create_topic(Name=unique("t"), Attributes={"SignatureVersion": version})["TopicArn"]
    url, _ = subscribe_queue(sns, sqs, topic)
    sns.publish(TopicArn=topic, Message="signed\nmessage", Subject="s")
    sns.publish(TopicArn=topic, Message="no subject")
    msgs = [envelope(m) for m in receive(sqs, url, 2)]
    assert len(msgs) == 2
    for body in msgs:
        assert body["SignatureVersion"] == version
        verify_signature(body)
    # A tampered message does not verify.
    from cryptography.exceptions import InvalidSignature
    with pytest.raises(InvalidSignature):
        verify_signature(dict(msgs[0], Message="tampered"))
    assert requests.get(msgs[0]["SigningCertURL"] + "x", timeout=10).status_code == 404


def test_raw_delivery_carries_attributes(sns, sqs):
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    url, _ = subscribe_queue(sns, sqs, topic, raw=True)
    sns.publish(TopicArn=topic, Message='{"raw": true}',
                MessageAttributes={"color": {"DataType": "String", "StringValue": "red"},
                                   "price": {"DataType": "Number", "StringValue": "9.5"},
                                   "blob": {"DataType": "Binary", "BinaryValue": b"\xff\x00"}})
    [m] = receive(sqs, url, 1)
    assert m["Body"] == '{"raw": true}'
    attrs = m["MessageAttributes"]
    assert attrs["color"] == {"StringValue": "red", "DataType": "String"}
    assert attrs["price"] == {"StringValue": "9.5", "DataType": "Number"}
    assert attrs["blob"] == {"BinaryValue": b"\xff\x00", "DataType": "Binary"}
    assert "MD5OfMessageAttributes" in m


def test_message_structure_json(sns, sqs, http_endpoint):
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    url, _ = subscribe_queue(sns, sqs, topic)
    raw_url, _ = subscribe_queue(sns, sqs, topic, raw=True)
    sns.publish(TopicArn=topic, MessageStructure="json",
                Message=json.dumps({"default": "for everyone", "sqs": "for queues", "http": "for web"}))
    [m] = receive(sqs, url, 1)
    assert envelope(m)["Message"] == "for queues"
    [m] = receive(sqs, raw_url, 1)
    assert m["Body"] == "for queues"
    for bad in ("not json", json.dumps({"sqs": "no default"}), json.dumps(["default"])):
        with pytest.raises(ClientError) as e:
            sns.publish(TopicArn=topic, MessageStructure="json", Message=bad)
        assert error(e) == ("InvalidParameter", 400)


def test_fifo_topic_to_fifo_queue_keeps_order_and_deduplicates(sns, sqs):
    topic = sns.create_topic(Name=unique("t") + ".fifo",
                             Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "false"})["TopicArn"]
    url, _ = subscribe_queue(sns, sqs, topic, fifo=True)
    raw_url, _ = subscribe_queue(sns, sqs, topic, fifo=True, raw=True)
    seqs = []
    for i in range(10):
        r = sns.publish(TopicArn=topic, Message=f"m{i}", MessageGroupId="g", MessageDeduplicationId=f"d{i}")
        seqs.append(int(r["SequenceNumber"]))
    assert seqs == sorted(seqs) and len(set(seqs)) == 10
    # A duplicate within five minutes is accepted with the first message's id and not delivered.
    first = sns.publish(TopicArn=topic, Message="again", MessageGroupId="g", MessageDeduplicationId="d0")
    got = receive(sqs, url, 10)
    assert [envelope(m)["Message"] for m in got] == [f"m{i}" for i in range(10)]
    body = envelope(got[0])
    assert body["SequenceNumber"] == str(seqs[0]) and "Signature" not in body
    assert first["SequenceNumber"] == str(seqs[0])
    assert got[0]["Attributes"]["MessageGroupId"] == "g"
    assert got[0]["Attributes"]["MessageDeduplicationId"] == "d0"
    raw = receive(sqs, raw_url, 10)
    assert [m["Body"] for m in raw] == [f"m{i}" for i in range(10)]
    assert queue_is_empty(sqs, url)
    # FIFO rules.
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=topic, Message="x", MessageDeduplicationId="z")
    assert error(e) == ("InvalidParameter", 400)
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=topic, Message="x", MessageGroupId="g")
    assert error(e) == ("InvalidParameter", 400)
    sns.set_topic_attributes(TopicArn=topic, AttributeName="ContentBasedDeduplication", AttributeValue="true")
    a = sns.publish(TopicArn=topic, Message="same body", MessageGroupId="g")
    b = sns.publish(TopicArn=topic, Message="same body", MessageGroupId="g")
    assert a["MessageId"] == b["MessageId"]
    assert len(receive(sqs, url, 2, timeout=3)) == 1


def test_publish_errors(sns, sqs, target):
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    url, _ = subscribe_queue(sns, sqs, topic)
    cases = [
        (dict(Message="x" * (256 * 1024 + 1)), "InvalidParameter"),
        (dict(Message=""), "InvalidParameter"),
        (dict(Message="x", Subject="line\nbreak"), "InvalidParameter"),
        (dict(Message="x", MessageAttributes={"a": {"DataType": "Number", "StringValue": "abc"}}),
         "ParameterValueInvalid"),
        (dict(Message="x", MessageAttributes={"a": {"DataType": "Weird", "StringValue": "v"}}),
         "ParameterValueInvalid"),
        (dict(Message="x", MessageAttributes={"a": {"DataType": "String", "StringValue": ""}}),
         "ParameterValueInvalid"),
        (dict(Message="x", MessageAttributes={"a": {"DataType": "String.Array", "StringValue": "[1, {}]"}}),
         "ParameterValueInvalid"),
        (dict(Message="x", MessageDeduplicationId="d"), "InvalidParameter"),
    ]
    for kwargs, code in cases:
        with pytest.raises(ClientError) as e:
            sns.publish(TopicArn=topic, **kwargs)
        assert error(e) == (code, 400), kwargs
    # The largest message is accepted; TargetArn names a topic as well.
    sns.publish(TargetArn=topic, Message="y" * (256 * 1024))
    [m] = receive(sqs, url, 1)
    assert len(envelope(m)["Message"]) == 256 * 1024
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=topic, TargetArn=topic, Message="x")
    assert error(e) == ("InvalidParameter", 400)


def test_publish_batch(sns, sqs):
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    url, _ = subscribe_queue(sns, sqs, topic, raw=True)
    r = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "ok1", "Message": "one"},
        {"Id": "bad", "Message": "two", "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "x"}}},
        {"Id": "ok2", "Message": "three", "Subject": "s"},
    ])
    assert sorted(s["Id"] for s in r["Successful"]) == ["ok1", "ok2"]
    assert r["Failed"] == [{"Id": "bad", "Code": "ParameterValueInvalid", "SenderFault": True,
                            "Message": r["Failed"][0]["Message"]}]
    assert sorted(m["Body"] for m in receive(sqs, url, 2)) == ["one", "three"]
    for entries, code in [
        ([], "EmptyBatchRequest"),
        ([{"Id": str(i), "Message": "m"} for i in range(11)], "TooManyEntriesInBatchRequest"),
        ([{"Id": "a", "Message": "m"}, {"Id": "a", "Message": "n"}], "BatchEntryIdsNotDistinct"),
        ([{"Id": "bad id!", "Message": "m"}], "InvalidBatchEntryId"),
    ]:
        with pytest.raises(ClientError) as e:
            sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
        assert error(e) == (code, 400), code
    assert queue_is_empty(sqs, url)


def test_publish_survives_restart(sns, sqs, target):
    """Deliveries are in the outbox before Publish answers: a restart does not lose them."""
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    url, _ = subscribe_queue(sns, sqs, topic, raw=True)
    for i in range(20):
        sns.publish(TopicArn=topic, Message=f"m{i}")
    target.server.kill()
    target.server.start(timeout=10)
    # At least once: records delivered just before the kill may come again, so read until
    # every message was seen, not until 20 arrived.
    want, got = {f"m{i}" for i in range(20)}, set()
    deadline = time.monotonic() + 15
    while not want <= got and time.monotonic() < deadline:
        got |= {m["Body"] for m in receive(sqs, url, 1, timeout=1)}
    assert got == want


# ----------------------------------------------------------------------------- Lambda

RECORDER = zip_of({"rec.py": """
import json, os, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    url = sqs.get_queue_url(QueueName=os.environ["SINK"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
"""})


def test_lambda_receives_the_sns_event(sns, sqs, lam):
    sink_url, _ = make_queue(sqs)
    # A generous timeout: a cold start that imports boto3 on a loaded machine must not turn
    # into a retried (and so duplicated) invocation.
    name, created = create(lam, RECORDER, handler="rec.handler", Timeout=30,
                           Environment={"Variables": {"SINK": sink_url.rsplit("/", 1)[1]}})
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=created["FunctionArn"])["SubscriptionArn"]
    assert sub.startswith(topic + ":")
    r = sns.publish(TopicArn=topic, Message="to the function",
                    MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    [m] = receive(sqs, sink_url, 1, timeout=30)
    event = json.loads(m["Body"])
    [rec] = event["Records"]
    assert (rec["EventSource"], rec["EventVersion"], rec["EventSubscriptionArn"]) == ("aws:sns", "1.0", sub)
    s = rec["Sns"]
    assert (s["Type"], s["MessageId"], s["TopicArn"], s["Message"]) == \
        ("Notification", r["MessageId"], topic, "to the function")
    assert s["Subject"] is None
    assert s["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
    assert s["SigningCertUrl"].endswith(".pem") and s["UnsubscribeUrl"].endswith(sub)
    assert s["SignatureVersion"] == "1" and s["Signature"]
    if HAVE_CRYPTO:
        # The event spells the URL differently and shows an absent subject as null.
        fields = {k: v for k, v in s.items() if v is not None}
        verify_signature({**fields, "SigningCertURL": s["SigningCertUrl"]})


def test_deleted_function_goes_to_the_dead_letter_queue(sns, sqs, lam):
    dlq_url, dlq_arn = make_queue(sqs)
    name, created = create(lam, RECORDER, handler="rec.handler")
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=created["FunctionArn"],
                  Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})})
    lam.delete_function(FunctionName=name)
    r = sns.publish(TopicArn=topic, Message="nobody home")
    [m] = receive(sqs, dlq_url, 1, timeout=15)
    body = envelope(m)
    assert (body["MessageId"], body["Message"], body["TopicArn"]) == (r["MessageId"], "nobody home", topic)


# ----------------------------------------------------------------------------- HTTP

def confirmed_http(sns, ep, topic, **attrs):
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=ep.url, Attributes=attrs)
    token = json.loads(ep.next()["body"])["Token"]
    return sns.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"]


def test_http_notification(sns, http_endpoint):
    ep = http_endpoint()
    topic = sns.create_topic(Name=unique("t"), Attributes={"SignatureVersion": "2"})["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=ep.url)
    conf = ep.next()
    assert conf["path"] == "/hook"
    assert conf["headers"]["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert conf["headers"]["x-amz-sns-topic-arn"] == topic
    confirmation = json.loads(conf["body"])
    if HAVE_CRYPTO:
        verify_signature(confirmation)
    sub = sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])["SubscriptionArn"]
    r = sns.publish(TopicArn=topic, Message="over http", Subject="hello")
    req = ep.next()
    h = req["headers"]
    assert h["x-amz-sns-message-type"] == "Notification"
    assert h["x-amz-sns-message-id"] == r["MessageId"]
    assert h["x-amz-sns-topic-arn"] == topic
    assert h["x-amz-sns-subscription-arn"] == sub
    assert h["content-type"] == "text/plain; charset=UTF-8"
    assert h["user-agent"] == "Amazon Simple Notification Service Agent"
    body = json.loads(req["body"])
    assert (body["Type"], body["Message"], body["Subject"], body["SignatureVersion"]) == \
        ("Notification", "over http", "hello", "2")
    if HAVE_CRYPTO:
        verify_signature(body)


def _tls_context(tmp_path, ca_dir=None):
    """A server TLS context for 127.0.0.1 and localhost, its certificate signed by the CA whose
    `ca.pem`/`ca.key` are in `ca_dir` — or self-signed when `ca_dir` is None."""
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    if ca_dir is None:
        issuer, signing_key = subject, key
    else:
        ca = x509.load_pem_x509_certificate((ca_dir / "ca.pem").read_bytes())
        issuer = ca.subject
        signing_key = serialization.load_pem_private_key((ca_dir / "ca.key").read_bytes(), password=None)
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(signing_key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "endpoint.pem", tmp_path / "endpoint.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    return ctx


@pytest.mark.stratus_only
def test_https_endpoint_with_a_trusted_certificate(sns, target, http_endpoint, tmp_path):
    # HTTPS endpoints are reached over TLS, trusting the system's CAs and the server's local CA
    # (whose key sits in the data directory: the test signs its endpoint's certificate with it).
    ep = http_endpoint(ssl_context=_tls_context(tmp_path, target.server.data_dir / "tls"))
    assert ep.url.startswith("https://")
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=ep.url)
    conf = ep.next()
    assert conf["headers"]["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    token = json.loads(conf["body"])["Token"]
    sub = sns.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"]
    r = sns.publish(TopicArn=topic, Message="over https")
    req = ep.next()
    assert req["headers"]["x-amz-sns-subscription-arn"] == sub
    assert req["headers"]["host"] == ep.url.split("/")[2]
    body = json.loads(req["body"])
    assert (body["Type"], body["MessageId"], body["Message"]) == ("Notification", r["MessageId"], "over https")


@pytest.mark.stratus_only
def test_https_endpoint_with_an_untrusted_certificate_gets_nothing(sns, http_endpoint, tmp_path):
    ep = http_endpoint(ssl_context=_tls_context(tmp_path))  # self-signed: no CA vouches for it
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=ep.url)
    with pytest.raises(queue_mod.Empty):
        ep.next(timeout=2)
    [s] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert s["SubscriptionArn"] == "PendingConfirmation"


def test_http_retries_then_dead_letter_queue(sns, sqs, http_endpoint):
    ep = http_endpoint()
    dlq_url, dlq_arn = make_queue(sqs)
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    policy = {"healthyRetryPolicy": {"numRetries": 2, "minDelayTarget": 1, "maxDelayTarget": 1}}
    confirmed_http(sns, ep, topic, DeliveryPolicy=json.dumps(policy),
                   RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn}))
    ep.status = 500
    started = time.monotonic()
    r = sns.publish(TopicArn=topic, Message="will fail")
    attempts = [ep.next(timeout=10) for _ in range(3)]  # the first try and two retries
    assert all(json.loads(a["body"])["MessageId"] == r["MessageId"] for a in attempts)
    [m] = receive(sqs, dlq_url, 1, timeout=10)
    assert envelope(m)["MessageId"] == r["MessageId"]
    assert time.monotonic() - started >= 2  # two one-second delays
    with pytest.raises(Exception):
        ep.next(timeout=1)


def test_http_endpoint_recovers_within_retries(sns, http_endpoint):
    ep = http_endpoint()
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    policy = {"healthyRetryPolicy": {"numRetries": 3, "numNoDelayRetries": 1, "minDelayTarget": 1,
                                     "maxDelayTarget": 1}}
    confirmed_http(sns, ep, topic, DeliveryPolicy=json.dumps(policy))
    ep.answers = [503]  # the first attempt fails; the immediate retry finds the endpoint healthy
    sns.publish(TopicArn=topic, Message="eventually")
    ep.next()
    ep.next()  # the immediate retry (answered 200)
    with pytest.raises(Exception):
        ep.next(timeout=2.5)  # delivered: no more retries


def test_undelivered_message_survives_kill_9(sns, target, http_endpoint):
    """A message whose endpoint is failing stays in the outbox across kill -9 and is delivered
    after the restart, signed with the same key (the certificate URL does not change)."""
    ep = http_endpoint()
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    policy = {"healthyRetryPolicy": {"numRetries": 50, "minDelayTarget": 1, "maxDelayTarget": 1}}
    confirmed_http(sns, ep, topic, DeliveryPolicy=json.dumps(policy))
    ep.status = 500
    r = sns.publish(TopicArn=topic, Message="keep me")
    before = json.loads(ep.next()["body"])
    target.server.kill()
    ep.status = 200
    while not ep.requests.empty():
        ep.requests.get_nowait()
    target.server.start(timeout=10)
    after = json.loads(ep.next(timeout=15)["body"])
    assert (after["MessageId"], after["Message"]) == (r["MessageId"], "keep me")
    assert after["SigningCertURL"] == before["SigningCertURL"]
    if HAVE_CRYPTO:
        verify_signature(after)


def test_concurrent_publishes_are_delivered_once_each(sns, sqs, target):
    """Without a crash nothing is delivered twice: records finishing while the delivery loop
    rescans the outbox must not be taken again."""
    from concurrent.futures import ThreadPoolExecutor
    import boto3
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    url, _ = subscribe_queue(sns, sqs, topic, raw=True)
    n = 400
    clients = [boto3.session.Session().client("sns", endpoint_url=target.endpoint, region_name="us-east-1",
                                              aws_access_key_id="test", aws_secret_access_key="test")
               for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: clients[i % 8].publish(TopicArn=topic, Message=f"m{i}"), range(n)))
    bodies = [m["Body"] for m in receive(sqs, url, n, timeout=30)]
    bodies += [m["Body"] for m in receive(sqs, url, 1, timeout=2)]  # anything extra
    assert sorted(set(bodies)) == sorted(f"m{i}" for i in range(n))
    assert len(bodies) == n, f"{len(bodies) - n} duplicate deliveries"


def test_unsubscribe_sends_unsubscribe_confirmation_whose_token_restores(sns, http_endpoint):
    ep = http_endpoint()
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    sub = confirmed_http(sns, ep, topic)
    sns.unsubscribe(SubscriptionArn=sub)
    req = ep.next()
    assert req["headers"]["x-amz-sns-message-type"] == "UnsubscribeConfirmation"
    body = json.loads(req["body"])
    assert body["Type"] == "UnsubscribeConfirmation" and body["TopicArn"] == topic
    assert sub in body["Message"] and "Action=ConfirmSubscription" in body["SubscribeURL"]
    if HAVE_CRYPTO:
        verify_signature(body)
    assert sub not in [s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]]
    # Its token brings the subscription back, once.
    assert sns.confirm_subscription(TopicArn=topic, Token=body["Token"])["SubscriptionArn"] == sub
    assert sub in [s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]]
    sns.publish(TopicArn=topic, Message="back again")
    assert json.loads(ep.next()["body"])["Message"] == "back again"
    with pytest.raises(ClientError) as e:
        sns.confirm_subscription(TopicArn=topic, Token="0" * 64)
    assert e.value.response["Error"]["Code"] == "InvalidParameter"
