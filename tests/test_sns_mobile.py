"""SNS mobile push (platform applications, platform endpoints, Publish to a TargetArn and
`application` subscriptions) and SMS (Publish to a PhoneNumber, `sms` subscriptions, SMS
attributes, opt-outs and the SMS sandbox).

Nothing leaves the machine: every SMS and push message Stratus would have sent is recorded and
read back from `GET /_stratus/sns/messages` (optionally filtered by `phoneNumber` or
`endpointArn`). A direct Publish (PhoneNumber, TargetArn) is recorded before Publish returns;
delivery through a topic subscription is asynchronous, so those tests poll."""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from datetime import datetime, timedelta, timezone

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from sqs_helpers import REGION, unique

pytestmark = pytest.mark.stratus_only

ARN_PREFIX = f"arn:aws:sns:{REGION}:"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def sns(target):
    return boto3.client("sns", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
                        aws_secret_access_key="test")


def error(e):
    """(code, HTTP status) of a ClientError raised inside pytest.raises."""
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def message_of(e):
    return e.value.response["Error"]["Message"]


def phone() -> str:
    """A fresh E.164 number, so that tests never read each other's messages."""
    return f"+1555{random.randint(0, 9_999_999):07d}"


def recorded(target, **filters) -> list[dict]:
    """The recorded SMS and push messages, oldest first (filters: phoneNumber, endpointArn)."""
    r = requests.get(f"{target.endpoint}/_stratus/sns/messages", params=filters, timeout=10)
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    assert isinstance(body.get("messages"), list), body
    return body["messages"]


def wait_recorded(target, count: int = 1, timeout: float = 5.0, **filters) -> list[dict]:
    """Polls until at least `count` messages match the filters (topic delivery is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        got = recorded(target, **filters)
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def assert_recent_timestamp(value: str):
    ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert ts.tzinfo is not None, value
    assert abs(datetime.now(timezone.utc) - ts) < timedelta(minutes=5), value


def gcm_app(sns, name: str | None = None) -> str:
    return sns.create_platform_application(Name=name or unique("gcm"), Platform="GCM",
                                           Attributes={"PlatformCredential": "server-key"})["PlatformApplicationArn"]


def apns_app(sns, name: str | None = None) -> str:
    return sns.create_platform_application(
        Name=name or unique("apns"), Platform="APNS",
        Attributes={"PlatformCredential": "private-key", "PlatformPrincipal": "certificate"})["PlatformApplicationArn"]


def endpoint(sns, app_arn: str, token: str | None = None, **kwargs) -> str:
    return sns.create_platform_endpoint(PlatformApplicationArn=app_arn, Token=token or unique("token"),
                                        **kwargs)["EndpointArn"]


def all_pages(call, key: str, **kwargs) -> list[list]:
    """Every page of a NextToken-paginated list call."""
    pages, token = [], None
    for _ in range(50):
        r = call(**kwargs, **({"NextToken": token} if token else {}))
        pages.append(r[key])
        token = r.get("NextToken")
        if not token:
            return pages
    raise AssertionError("pagination does not end")


# ----------------------------------------------------------------------------- platform applications

def test_platform_application_lifecycle(sns, target):
    name = unique("app")
    arn = gcm_app(sns, name)
    assert arn == f"{ARN_PREFIX}{target.account}:app/GCM/{name}"
    apns_name = unique("ios")
    assert apns_app(sns, apns_name) == f"{ARN_PREFIX}{target.account}:app/APNS/{apns_name}"

    # Credentials are kept but never answered back; Enabled defaults to true.
    attrs = sns.get_platform_application_attributes(PlatformApplicationArn=arn)["Attributes"]
    assert attrs["Enabled"] == "true"
    assert "PlatformCredential" not in attrs and "PlatformPrincipal" not in attrs

    topic = sns.create_topic(Name=unique("events"))["TopicArn"]
    sns.set_platform_application_attributes(PlatformApplicationArn=arn, Attributes={
        "EventEndpointCreated": topic, "SuccessFeedbackSampleRate": "100", "PlatformCredential": "rotated-key"})
    attrs = sns.get_platform_application_attributes(PlatformApplicationArn=arn)["Attributes"]
    assert attrs["EventEndpointCreated"] == topic
    assert attrs["SuccessFeedbackSampleRate"] == "100"
    assert attrs["Enabled"] == "true"
    assert "PlatformCredential" not in attrs

    apps = sns.list_platform_applications()["PlatformApplications"]
    listed = {a["PlatformApplicationArn"]: a["Attributes"] for a in apps}
    assert arn in listed and listed[arn]["EventEndpointCreated"] == topic
    assert "PlatformCredential" not in listed[arn]

    sns.delete_platform_application(PlatformApplicationArn=arn)
    assert arn not in [a["PlatformApplicationArn"] for a in sns.list_platform_applications()["PlatformApplications"]]
    sns.delete_platform_application(PlatformApplicationArn=arn)  # deleting a missing application succeeds

    with pytest.raises(ClientError) as e:
        sns.get_platform_application_attributes(PlatformApplicationArn=arn)
    assert error(e) == ("NotFound", 404)
    with pytest.raises(ClientError) as e:
        sns.set_platform_application_attributes(PlatformApplicationArn=arn,
                                                Attributes={"SuccessFeedbackSampleRate": "5"})
    assert error(e) == ("NotFound", 404)


def test_platform_application_validation(sns):
    cases = [
        ("GCM", {}),                                          # GCM needs PlatformCredential
        ("APNS", {"PlatformCredential": "private-key"}),      # APNS needs PlatformPrincipal too
        ("APNS", {"PlatformPrincipal": "certificate"}),       # ... and PlatformCredential
        ("FOO", {"PlatformCredential": "key"}),               # not a platform
    ]
    for platform, attributes in cases:
        with pytest.raises(ClientError) as e:
            sns.create_platform_application(Name=unique("bad"), Platform=platform, Attributes=attributes)
        assert error(e) == ("InvalidParameter", 400), (platform, attributes)
    assert sns.list_platform_applications()["PlatformApplications"] == []


def test_list_platform_applications_pages(sns):
    # AWS pages these up to 100 at a time; 101 applications need at least two pages.
    created = {gcm_app(sns, f"page-{i:03d}-{uuid.uuid4().hex[:6]}") for i in range(101)}
    pages = all_pages(sns.list_platform_applications, "PlatformApplications")
    assert len(pages) >= 2
    assert all(len(p) <= 100 for p in pages)
    arns = [a["PlatformApplicationArn"] for p in pages for a in p]
    assert len(arns) == len(set(arns)) == 101
    assert set(arns) == created
    assert all(a["Attributes"]["Enabled"] == "true" for p in pages for a in p)


# ----------------------------------------------------------------------------- platform endpoints

def test_platform_endpoint_lifecycle(sns, target):
    app_name = unique("app")
    app = gcm_app(sns, app_name)
    token = unique("device")
    arn = sns.create_platform_endpoint(PlatformApplicationArn=app, Token=token,
                                       CustomUserData="user-42")["EndpointArn"]
    assert re.fullmatch(re.escape(f"{ARN_PREFIX}{target.account}:endpoint/GCM/{app_name}/") + UUID_RE, arn), arn

    attrs = sns.get_endpoint_attributes(EndpointArn=arn)["Attributes"]
    assert attrs["Token"] == token
    assert attrs["Enabled"] == "true"
    assert attrs["CustomUserData"] == "user-42"

    sns.set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "false", "CustomUserData": "user-43"})
    attrs = sns.get_endpoint_attributes(EndpointArn=arn)["Attributes"]
    assert (attrs["Token"], attrs["Enabled"], attrs["CustomUserData"]) == (token, "false", "user-43")

    listed = sns.list_endpoints_by_platform_application(PlatformApplicationArn=app)["Endpoints"]
    assert [x["EndpointArn"] for x in listed] == [arn]
    assert listed[0]["Attributes"] == attrs

    sns.delete_endpoint(EndpointArn=arn)
    assert sns.list_endpoints_by_platform_application(PlatformApplicationArn=app)["Endpoints"] == []
    with pytest.raises(ClientError) as e:
        sns.get_endpoint_attributes(EndpointArn=arn)
    assert error(e) == ("NotFound", 404)
    assert message_of(e) == "Endpoint does not exist"
    with pytest.raises(ClientError) as e:
        sns.set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "true"})
    assert error(e)[0] == "NotFound"
    sns.delete_endpoint(EndpointArn=arn)  # deleting a missing endpoint succeeds

    missing_app = f"{app}-missing"
    with pytest.raises(ClientError) as e:
        sns.create_platform_endpoint(PlatformApplicationArn=missing_app, Token="t")
    assert error(e) == ("NotFound", 404)
    assert message_of(e) == "PlatformApplication does not exist"
    with pytest.raises(ClientError) as e:
        sns.list_endpoints_by_platform_application(PlatformApplicationArn=missing_app)
    assert error(e) == ("NotFound", 404)
    assert message_of(e) == "PlatformApplication does not exist"


def test_create_platform_endpoint_is_idempotent(sns):
    app = gcm_app(sns)
    first = endpoint(sns, app, "token-a")
    assert endpoint(sns, app, "token-a") == first
    # Naming the default value is the same attributes.
    assert endpoint(sns, app, "token-a", Attributes={"Enabled": "true"}) == first
    with pytest.raises(ClientError) as e:
        endpoint(sns, app, "token-a", CustomUserData="someone")
    assert error(e) == ("InvalidParameter", 400)
    assert message_of(e) == (f"Invalid parameter: Token Reason: Endpoint {first} already exists with the same "
                             "Token, but different attributes.")

    second = endpoint(sns, app, "token-b", CustomUserData="user data", Attributes={"Enabled": "false"})
    assert second != first
    assert endpoint(sns, app, "token-b", CustomUserData="user data", Attributes={"Enabled": "false"}) == second
    with pytest.raises(ClientError) as e:
        endpoint(sns, app, "token-b", CustomUserData="user data", Attributes={"Enabled": "true"})
    assert error(e) == ("InvalidParameter", 400)
    assert "already exists with the same Token, but different attributes" in message_of(e)
    assert second in message_of(e)

    listed = sns.list_endpoints_by_platform_application(PlatformApplicationArn=app)["Endpoints"]
    assert sorted(x["EndpointArn"] for x in listed) == sorted([first, second])


def test_list_endpoints_pages(sns):
    app = gcm_app(sns)
    created = {endpoint(sns, app, f"token-{i:03d}"): f"token-{i:03d}" for i in range(101)}
    pages = all_pages(sns.list_endpoints_by_platform_application, "Endpoints", PlatformApplicationArn=app)
    assert len(pages) >= 2
    assert all(len(p) <= 100 for p in pages)
    seen = {x["EndpointArn"]: x["Attributes"]["Token"] for p in pages for x in p}
    assert sum(len(p) for p in pages) == 101
    assert seen == created


def test_deleting_application_deletes_its_endpoints(sns):
    app = gcm_app(sns)
    other = gcm_app(sns)
    doomed = [endpoint(sns, app), endpoint(sns, app)]
    kept = endpoint(sns, other)
    sns.delete_platform_application(PlatformApplicationArn=app)
    for arn in doomed:
        with pytest.raises(ClientError) as e:
            sns.get_endpoint_attributes(EndpointArn=arn)
        assert error(e) == ("NotFound", 404)
    with pytest.raises(ClientError) as e:
        sns.list_endpoints_by_platform_application(PlatformApplicationArn=app)
    assert error(e)[0] == "NotFound"
    assert sns.get_endpoint_attributes(EndpointArn=kept)["Attributes"]["Enabled"] == "true"
    assert [a["PlatformApplicationArn"] for a in sns.list_platform_applications()["PlatformApplications"]] == [other]


# ----------------------------------------------------------------------------- push delivery

def test_publish_to_endpoint_is_recorded(sns, target):
    gcm = endpoint(sns, gcm_app(sns))
    apns = endpoint(sns, apns_app(sns))
    attributes = {"color": {"DataType": "String", "StringValue": "blue"}}
    plain = sns.publish(TargetArn=gcm, Message="hello device", Subject="greeting", MessageAttributes=attributes)
    structured = {"default": "fallback", "GCM": json.dumps({"notification": {"title": "t", "body": "gcm body"}}),
                  "APNS": json.dumps({"aps": {"alert": "apns body"}})}
    to_gcm = sns.publish(TargetArn=gcm, Message=json.dumps(structured), MessageStructure="json")
    to_apns = sns.publish(TargetArn=apns, Message=json.dumps(structured), MessageStructure="json")
    only_default = sns.publish(TargetArn=gcm, Message=json.dumps({"default": "just the default"}),
                               MessageStructure="json")

    # Recorded before Publish returned: no waiting.
    got = recorded(target, endpointArn=gcm)
    assert [m["messageId"] for m in got] == [plain["MessageId"], to_gcm["MessageId"], only_default["MessageId"]]
    assert [m["message"] for m in got] == ["hello device", structured["GCM"], "just the default"]
    first = got[0]
    assert first["kind"] == "push"
    assert first["endpointArn"] == gcm
    assert (first["account"], first["region"]) == (target.account, REGION)
    assert first["subject"] == "greeting"
    assert first["messageAttributes"] == attributes
    assert "phoneNumber" not in first and "topicArn" not in first
    assert_recent_timestamp(first["timestamp"])

    got = recorded(target, endpointArn=apns)
    assert [(m["messageId"], m["message"]) for m in got] == [(to_apns["MessageId"], structured["APNS"])]

    everything = recorded(target)
    assert [m["messageId"] for m in everything] == [plain["MessageId"], to_gcm["MessageId"], to_apns["MessageId"],
                                                    only_default["MessageId"]]


def test_publish_to_disabled_or_unknown_endpoint(sns, target):
    app = gcm_app(sns)
    arn = endpoint(sns, app, Attributes={"Enabled": "false"})
    with pytest.raises(ClientError) as e:
        sns.publish(TargetArn=arn, Message="nobody home")
    assert error(e) == ("EndpointDisabled", 400)
    assert message_of(e) == "Endpoint is disabled"
    assert recorded(target, endpointArn=arn) == []

    sns.set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "true"})
    message_id = sns.publish(TargetArn=arn, Message="back again")["MessageId"]
    assert [(m["messageId"], m["message"]) for m in recorded(target, endpointArn=arn)] == [(message_id, "back again")]

    unknown = f"{ARN_PREFIX}{target.account}:endpoint/APNS/{unique('nope')}/{uuid.uuid4()}"
    with pytest.raises(ClientError) as e:
        sns.publish(TargetArn=unknown, Message="into the void")
    assert error(e) == ("InvalidParameter", 400)
    assert message_of(e) == "Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified"


def test_topic_delivers_to_application_subscriptions(sns, target):
    topic = sns.create_topic(Name=unique("push"))["TopicArn"]
    gcm = endpoint(sns, gcm_app(sns))
    apns = endpoint(sns, apns_app(sns))
    for arn in (gcm, apns):
        sub = sns.subscribe(TopicArn=topic, Protocol="application", Endpoint=arn,
                            ReturnSubscriptionArn=True)["SubscriptionArn"]
        attrs = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
        assert (attrs["Protocol"], attrs["Endpoint"], attrs["PendingConfirmation"]) == ("application", arn, "false")

    structured = {"default": "default text", "GCM": json.dumps({"data": {"k": "gcm"}}),
                  "APNS": json.dumps({"aps": {"alert": "apns"}})}
    sns.publish(TopicArn=topic, Message=json.dumps(structured), MessageStructure="json")
    for arn, want in ((gcm, structured["GCM"]), (apns, structured["APNS"])):
        got = wait_recorded(target, endpointArn=arn)
        assert len(got) == 1, got
        assert got[0]["kind"] == "push"
        assert got[0]["message"] == want
        assert got[0]["topicArn"] == topic
        assert got[0]["endpointArn"] == arn

    sns.publish(TopicArn=topic, Message="plain text for everyone")
    got = wait_recorded(target, 2, endpointArn=gcm)
    assert [m["message"] for m in got] == [structured["GCM"], "plain text for everyone"]

    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=topic, Protocol="application",
                      Endpoint=f"{ARN_PREFIX}{target.account}:endpoint/GCM/{unique('gone')}/{uuid.uuid4()}")
    assert error(e)[0] == "InvalidParameter"


# ----------------------------------------------------------------------------- SMS

def test_publish_sms_is_recorded(sns, target):
    number, other = phone(), phone()
    attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
    sent = sns.publish(PhoneNumber=number, Message="Your code is ready", MessageAttributes=attributes)
    sns.publish(PhoneNumber=other, Message="Someone else's text")

    got = recorded(target, phoneNumber=number)  # recorded before Publish returned
    assert len(got) == 1, got
    m = got[0]
    assert m["kind"] == "sms"
    assert m["messageId"] == sent["MessageId"]
    assert m["phoneNumber"] == number
    assert m["message"] == "Your code is ready"
    assert (m["account"], m["region"]) == (target.account, REGION)
    assert m["messageAttributes"] == attributes
    assert "endpointArn" not in m and "topicArn" not in m
    assert_recent_timestamp(m["timestamp"])
    assert [x["message"] for x in recorded(target, phoneNumber=other)] == ["Someone else's text"]
    assert [x.get("phoneNumber") for x in recorded(target)] == [number, other]

    with pytest.raises(ClientError) as e:
        sns.publish(PhoneNumber="+1a234", Message="never sent")
    assert error(e) == ("InvalidParameter", 400)
    assert message_of(e) == "Invalid parameter: PhoneNumber Reason: +1a234 is not valid to publish to"
    with pytest.raises(ClientError) as e:
        sns.publish(PhoneNumber="not-a-number", Message="never sent")
    assert error(e) == ("InvalidParameter", 400)
    assert len(recorded(target)) == 2


def test_topic_delivers_to_sms_subscriptions(sns, target):
    topic = sns.create_topic(Name=unique("texts"))["TopicArn"]
    number = phone()
    sub = sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint=number, ReturnSubscriptionArn=True)["SubscriptionArn"]
    attrs = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert (attrs["Protocol"], attrs["Endpoint"], attrs["PendingConfirmation"]) == ("sms", number, "false")

    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint="NAA+15551234567")
    assert error(e) == ("InvalidParameter", 400)
    assert message_of(e) == "Invalid SMS endpoint: NAA+15551234567"

    sns.publish(TopicArn=topic, Message="Meeting moved to 3pm")
    got = wait_recorded(target, phoneNumber=number)
    assert len(got) == 1, got
    assert got[0]["kind"] == "sms"
    assert got[0]["message"] == "Meeting moved to 3pm"
    assert got[0]["topicArn"] == topic
    assert got[0]["phoneNumber"] == number

    # With MessageStructure=json an SMS subscriber gets the "sms" entry.
    sns.publish(TopicArn=topic, MessageStructure="json",
                Message=json.dumps({"default": "long default text", "sms": "short text"}))
    got = wait_recorded(target, 2, phoneNumber=number)
    assert [m["message"] for m in got] == ["Meeting moved to 3pm", "short text"]


def test_sms_attributes_and_opt_outs(sns):
    sns.set_sms_attributes(attributes={"DefaultSMSType": "Transactional", "DefaultSenderID": "Stratus"})
    attrs = sns.get_sms_attributes()["attributes"]
    assert attrs["DefaultSMSType"] == "Transactional"
    assert attrs["DefaultSenderID"] == "Stratus"
    assert sns.get_sms_attributes(attributes=["DefaultSMSType"])["attributes"] == {"DefaultSMSType": "Transactional"}
    sns.set_sms_attributes(attributes={"DefaultSMSType": "Promotional"})
    attrs = sns.get_sms_attributes()["attributes"]
    assert (attrs["DefaultSMSType"], attrs["DefaultSenderID"]) == ("Promotional", "Stratus")

    number = phone()
    assert sns.check_if_phone_number_is_opted_out(phoneNumber=number)["isOptedOut"] is False
    with pytest.raises(ClientError) as e:
        sns.check_if_phone_number_is_opted_out(phoneNumber="+44742LALALA")
    assert error(e) == ("InvalidParameter", 400)
    listed = sns.list_phone_numbers_opted_out()
    assert listed["phoneNumbers"] == []
    assert sns.opt_in_phone_number(phoneNumber=number)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert sns.check_if_phone_number_is_opted_out(phoneNumber=number)["isOptedOut"] is False


def test_sms_sandbox_verification(sns, target):
    assert sns.get_sms_sandbox_account_status()["IsInSandbox"] is False
    assert sns.list_origination_numbers()["PhoneNumbers"] == []

    number = phone()
    sns.create_sms_sandbox_phone_number(PhoneNumber=number, LanguageCode="en-US")
    texts = wait_recorded(target, phoneNumber=number)
    assert len(texts) == 1, texts
    assert texts[0]["kind"] == "sms"
    codes = re.findall(r"(?<!\d)\d{6}(?!\d)", texts[0]["message"])
    assert len(codes) == 1, texts[0]["message"]
    code = codes[0]

    def status():
        return {p["PhoneNumber"]: p["Status"] for p in sns.list_sms_sandbox_phone_numbers()["PhoneNumbers"]}

    assert status().get(number) == "Pending"
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(ClientError) as e:
        sns.verify_sms_sandbox_phone_number(PhoneNumber=number, OneTimePassword=wrong)
    assert error(e)[0] == "VerificationException"
    assert status().get(number) == "Pending"

    sns.verify_sms_sandbox_phone_number(PhoneNumber=number, OneTimePassword=code)
    assert status().get(number) == "Verified"

    sns.delete_sms_sandbox_phone_number(PhoneNumber=number)
    assert number not in status()
