"""Queue lifecycle: CreateQueue, GetQueueUrl, ListQueues, GetQueueAttributes,
SetQueueAttributes, DeleteQueue, PurgeQueue, tags, permissions, accounts and regions."""

import json
import re
import time

import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, error_code, http_status, queue_attrs, unique, xfail_moto

NONEXISTENT = "AWS.SimpleQueueService.NonExistentQueue"


# ---------------------------------------------------------------- CreateQueue
def test_create_queue_returns_url_and_default_attributes(sqs, target):
    name = unique("defaults")
    before = int(time.time())
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert url.endswith(f"/{target.account}/{name}")
    attrs = queue_attrs(sqs, url)
    after = int(time.time())
    expected = {
        "VisibilityTimeout": "30",
        "MaximumMessageSize": "1048576",
        "MessageRetentionPeriod": "345600",
        "DelaySeconds": "0",
        "ReceiveMessageWaitTimeSeconds": "0",
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
        "ApproximateNumberOfMessagesDelayed": "0",
        "SqsManagedSseEnabled": "true",
        "QueueArn": target.queue_arn(name),
    }
    for key, value in expected.items():
        assert attrs.get(key) == value, f"{key}: {attrs.get(key)!r} != {value!r}"
    for key in ("CreatedTimestamp", "LastModifiedTimestamp"):
        assert before - 5 <= float(attrs[key]) <= after + 5, (key, attrs[key])
    # standard queues do not report FIFO-only attributes
    for key in ("FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit",
                "RedrivePolicy", "Policy"):
        assert key not in attrs


@xfail_moto("timestamps are returned as floats, AWS returns whole epoch seconds")
def test_created_timestamps_are_whole_epoch_seconds(sqs, new_queue):
    attrs = queue_attrs(sqs, new_queue(), "CreatedTimestamp", "LastModifiedTimestamp")
    assert re.fullmatch(r"\d{10}", attrs["CreatedTimestamp"]), attrs
    assert re.fullmatch(r"\d{10}", attrs["LastModifiedTimestamp"]), attrs


@xfail_moto("QueueUrl host is the request host, not localhost:PORT")
def test_queue_url_format(sqs, target):
    name = unique("urlfmt")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert url == f"http://{target.queue_host}/{target.account}/{name}"


def test_create_queue_with_attributes(sqs):
    name = unique("attrs")
    attrs = {"VisibilityTimeout": "45", "MaximumMessageSize": "2048", "MessageRetentionPeriod": "86400",
             "DelaySeconds": "5", "ReceiveMessageWaitTimeSeconds": "7"}
    url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    got = queue_attrs(sqs, url)
    for k, v in attrs.items():
        assert got[k] == v


def test_create_queue_is_idempotent_with_same_attributes(sqs):
    name = unique("idem")
    attrs = {"VisibilityTimeout": "69", "DelaySeconds": "1"}
    url1 = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    assert sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"] == url1
    # no attributes, or a matching subset, also return the existing queue
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == url1
    assert sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "1"})["QueueUrl"] == url1


def test_create_queue_with_explicit_default_value_matches_existing(sqs):
    name = unique("idemdef")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})["QueueUrl"] == url


def test_create_queue_with_different_attributes_fails(sqs):
    name = unique("clash")
    sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "1"})
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "2"})
    assert error_code(e.value) == "QueueAlreadyExists"
    assert e.value.response["Error"].get("QueryErrorCode") == "QueueNameExists"
    assert http_status(e.value) == 400
    # botocore maps it to the modeled exception
    with pytest.raises(sqs.exceptions.QueueNameExists):
        sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "3"})


def test_create_queue_after_set_attributes_uses_current_values(sqs):
    name = unique("clash2")
    url = sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "1"})["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "2"})
    assert sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "2"})["QueueUrl"] == url
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "1"})
    assert error_code(e.value) == "QueueAlreadyExists"


@pytest.mark.parametrize("name", ["has space", "bad!char", "x" * 81, "dots.in.name"])
def test_invalid_queue_names_rejected(sqs, name):
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=name)
    assert error_code(e.value) == "InvalidParameterValue"


def test_queue_name_of_80_characters_accepted(sqs):
    name = ("n-" + unique("x") + "_" * 80)[:80]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert url.endswith("/" + name)


# ------------------------------------------------------------ attribute ranges
VALID_BOUNDS = [
    ("VisibilityTimeout", "0"), ("VisibilityTimeout", "43200"),
    ("MaximumMessageSize", "1024"), ("MaximumMessageSize", "1048576"),
    ("MessageRetentionPeriod", "60"), ("MessageRetentionPeriod", "1209600"),
    ("DelaySeconds", "0"), ("DelaySeconds", "900"),
    ("ReceiveMessageWaitTimeSeconds", "0"), ("ReceiveMessageWaitTimeSeconds", "20"),
]
INVALID_VALUES = [
    ("VisibilityTimeout", "-1"), ("VisibilityTimeout", "43201"), ("VisibilityTimeout", "abc"),
    ("MaximumMessageSize", "1023"), ("MaximumMessageSize", "1048577"),
    ("MessageRetentionPeriod", "59"), ("MessageRetentionPeriod", "1209601"),
    ("DelaySeconds", "-1"), ("DelaySeconds", "901"),
    ("ReceiveMessageWaitTimeSeconds", "-1"), ("ReceiveMessageWaitTimeSeconds", "21"),
]


@pytest.mark.parametrize("attr,value", VALID_BOUNDS)
def test_attribute_bounds_accepted(sqs, attr, value):
    url = sqs.create_queue(QueueName=unique("ok"), Attributes={attr: value})["QueueUrl"]
    assert queue_attrs(sqs, url, attr)[attr] == value
    sqs.set_queue_attributes(QueueUrl=url, Attributes={attr: value})


@xfail_moto("queue attribute values are mostly not range-checked")
@pytest.mark.parametrize("attr,value", INVALID_VALUES)
def test_attribute_out_of_range_rejected_on_create(sqs, attr, value):
    name = unique("bad")
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=name, Attributes={attr: value})
    assert error_code(e.value) == "InvalidAttributeValue"
    # nothing was created
    with pytest.raises(ClientError) as e2:
        sqs.get_queue_url(QueueName=name)
    assert error_code(e2.value) == NONEXISTENT


@xfail_moto("queue attribute values are mostly not range-checked")
@pytest.mark.parametrize("attr,value", INVALID_VALUES)
def test_attribute_out_of_range_rejected_on_set(sqs, new_queue, attr, value):
    url = new_queue()
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={attr: value})
    assert error_code(e.value) == "InvalidAttributeValue"


@xfail_moto("unknown attribute names are accepted")
def test_unknown_attribute_name_rejected(sqs, new_queue):
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=unique("unk"), Attributes={"NoSuchAttribute": "1"})
    assert error_code(e.value) == "InvalidAttributeName"
    url = new_queue()
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"NoSuchAttribute": "1"})
    assert error_code(e.value) == "InvalidAttributeName"
    with pytest.raises(ClientError) as e:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["NoSuchAttribute"])
    assert error_code(e.value) == "InvalidAttributeName"


@xfail_moto("read-only attributes are silently accepted")
def test_read_only_attribute_cannot_be_set(sqs, new_queue):
    url = new_queue()
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"QueueArn": "arn:aws:sqs:us-east-1:000000000000:x"})
    assert error_code(e.value) == "InvalidAttributeName"


def test_set_queue_attributes_updates_values_and_last_modified(sqs, new_queue):
    url = new_queue(attributes={"VisibilityTimeout": "20"})
    first = queue_attrs(sqs, url)
    time.sleep(1.1)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "69", "MaximumMessageSize": "2048",
                                                        "DelaySeconds": "420"})
    attrs = queue_attrs(sqs, url)
    assert (attrs["VisibilityTimeout"], attrs["MaximumMessageSize"], attrs["DelaySeconds"]) == ("69", "2048", "420")
    assert attrs["CreatedTimestamp"] == first["CreatedTimestamp"]
    assert float(attrs["LastModifiedTimestamp"]) >= float(first["LastModifiedTimestamp"]) + 1


def test_get_queue_attributes_returns_only_requested(sqs, new_queue):
    url = new_queue()
    attrs = queue_attrs(sqs, url, "QueueArn", "VisibilityTimeout")
    assert set(attrs) == {"QueueArn", "VisibilityTimeout"}
    # no AttributeNames at all → no attributes
    assert sqs.get_queue_attributes(QueueUrl=url).get("Attributes", {}) == {}


def test_approximate_counters(sqs, new_queue):
    url = new_queue()
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=30)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=30)
    attrs = queue_attrs(sqs, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                        "ApproximateNumberOfMessagesDelayed")
    assert attrs == {"ApproximateNumberOfMessages": "2", "ApproximateNumberOfMessagesNotVisible": "1",
                     "ApproximateNumberOfMessagesDelayed": "1"}


# ------------------------------------------------------------------ GetQueueUrl
def test_get_queue_url(sqs, target):
    name = unique("gqu")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    assert sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=target.account)["QueueUrl"] == url


def test_get_queue_url_nonexistent(sqs):
    with pytest.raises(ClientError) as e:
        sqs.get_queue_url(QueueName=unique("missing"))
    assert error_code(e.value) == NONEXISTENT
    assert e.value.response["Error"].get("QueryErrorCode") == "QueueDoesNotExist"
    assert e.value.response["Error"].get("Type") == "Sender"
    assert http_status(e.value) == 400
    # the raw JSON answer carries the query-compatible error code header
    headers = e.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers.get("x-amzn-query-error") == f"{NONEXISTENT};Sender"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=unique("missing"))


@xfail_moto("accounts are not derived from 12-digit access key ids")
def test_queue_owner_account_for_other_account(sqs, make_sqs, target):
    name = unique("xacct")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.add_permission(QueueUrl=url, Label="allow-other", AWSAccountIds=["111111111111"], Actions=["*"])
    other = make_sqs(access_key="111111111111")
    # the other account has its own namespace
    with pytest.raises(ClientError) as e:
        other.get_queue_url(QueueName=name)
    assert error_code(e.value) == NONEXISTENT
    assert other.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=target.account)["QueueUrl"] == url


@xfail_moto("accounts are not derived from 12-digit access key ids")
def test_twelve_digit_access_key_is_the_account(make_sqs):
    client = make_sqs(access_key="222233334444")
    name = unique("acct")
    url = client.create_queue(QueueName=name)["QueueUrl"]
    assert url.endswith(f"/222233334444/{name}")
    arn = queue_attrs(client, url, "QueueArn")["QueueArn"]
    assert arn == f"arn:aws:sqs:{REGION}:222233334444:{name}"
    # invisible to the default account
    assert url not in make_sqs().list_queues(QueueNamePrefix=name).get("QueueUrls", [])


def test_region_comes_from_signature_scope(make_sqs, target):
    west = make_sqs(region="eu-west-1")
    east = make_sqs(region="us-east-1")
    name = unique("region")
    url = west.create_queue(QueueName=name)["QueueUrl"]
    assert queue_attrs(west, url, "QueueArn")["QueueArn"] == f"arn:aws:sqs:eu-west-1:{target.account}:{name}"
    assert east.list_queues(QueueNamePrefix=name).get("QueueUrls", []) == []
    with pytest.raises(ClientError) as e:
        east.get_queue_url(QueueName=name)
    assert error_code(e.value) == NONEXISTENT
    # the same name can exist in both regions
    east_url = east.create_queue(QueueName=name)["QueueUrl"]
    assert queue_attrs(east, east_url, "QueueArn")["QueueArn"].startswith("arn:aws:sqs:us-east-1:")


def test_queue_url_host_is_not_significant(sqs, target):
    """The server routes by path, so a QueueUrl with 127.0.0.1 or localhost both work."""
    name = unique("host")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    path = url.split("/", 3)[3]
    for host in ("127.0.0.1", "localhost"):
        alt = f"http://{host}:{target.port}/{path}"
        sqs.send_message(QueueUrl=alt, MessageBody=f"via {host}")
    bodies = sorted(m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                           WaitTimeSeconds=1).get("Messages", []))
    assert bodies == ["via 127.0.0.1", "via localhost"]


# ------------------------------------------------------------------- ListQueues
def test_list_queues_prefix(sqs):
    prefix = unique("lst")
    a = [sqs.create_queue(QueueName=f"{prefix}-a{i}")["QueueUrl"] for i in range(2)]
    b = sqs.create_queue(QueueName=f"{prefix}-b0")["QueueUrl"]
    got = sqs.list_queues(QueueNamePrefix=f"{prefix}-a")["QueueUrls"]
    assert sorted(got) == sorted(a)
    assert sorted(sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"]) == sorted(a + [b])
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix=unique("none"))
    everything = sqs.list_queues().get("QueueUrls", [])
    assert set(a + [b]) <= set(everything)
    # prefixes are case-sensitive
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix=prefix.upper())


@xfail_moto("ListQueues ignores MaxResults/NextToken")
def test_list_queues_pagination(sqs):
    prefix = unique("page")
    urls = {sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(5)}
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"QueueNamePrefix": prefix, "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        r = sqs.list_queues(**kwargs)
        pages += 1
        assert len(r.get("QueueUrls", [])) <= 2
        seen += r.get("QueueUrls", [])
        token = r.get("NextToken")
        if not token:
            break
        assert pages < 10, "pagination does not terminate"
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == urls
    assert pages == 3
    # without MaxResults there is no NextToken
    assert "NextToken" not in sqs.list_queues(QueueNamePrefix=prefix)


@xfail_moto("MaxResults is not validated")
@pytest.mark.parametrize("max_results", [0, 1001])
def test_list_queues_max_results_out_of_range(sqs, max_results):
    with pytest.raises(ClientError) as e:
        sqs.list_queues(MaxResults=max_results)
    assert error_code(e.value) == "InvalidParameterValue"


# ------------------------------------------------------------------- DeleteQueue
def test_delete_queue_then_calls_fail(sqs, new_queue):
    url = new_queue()
    sqs.send_message(QueueUrl=url, MessageBody="x")
    sqs.delete_queue(QueueUrl=url)
    for call in (
        lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]),
        lambda: sqs.send_message(QueueUrl=url, MessageBody="y"),
        lambda: sqs.receive_message(QueueUrl=url),
        lambda: sqs.purge_queue(QueueUrl=url),
        lambda: sqs.delete_queue(QueueUrl=url),
        lambda: sqs.list_queue_tags(QueueUrl=url),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e.value) == NONEXISTENT
    assert url not in sqs.list_queues().get("QueueUrls", [])


@xfail_moto("QueueDeletedRecently is not enforced")
def test_recreate_deleted_queue_within_60_seconds(sqs):
    name = unique("recent")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=name)
    assert error_code(e.value) == "AWS.SimpleQueueService.QueueDeletedRecently"


# -------------------------------------------------------------------- PurgeQueue
def test_purge_queue(sqs, new_queue):
    url = new_queue()
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=30)  # some in flight
    sqs.purge_queue(QueueUrl=url)
    attrs = queue_attrs(sqs, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    assert attrs == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []


@xfail_moto("PurgeQueueInProgress is not enforced")
def test_second_purge_within_60_seconds(sqs, new_queue):
    url = new_queue()
    sqs.purge_queue(QueueUrl=url)
    with pytest.raises(ClientError) as e:
        sqs.purge_queue(QueueUrl=url)
    assert error_code(e.value) == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert http_status(e.value) == 403
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress):
        sqs.purge_queue(QueueUrl=url)


# -------------------------------------------------------------------------- Tags
def test_tag_list_untag(sqs, new_queue):
    url = new_queue()
    assert sqs.list_queue_tags(QueueUrl=url).get("Tags", {}) == {}
    sqs.tag_queue(QueueUrl=url, Tags={"tag1": "value1", "tag2": "value2", "tag3": ""})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"tag1": "value1", "tag2": "value2", "tag3": ""}
    sqs.tag_queue(QueueUrl=url, Tags={"tag1": "VALUE1", "Tag1": "other-case"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"tag1": "VALUE1", "Tag1": "other-case",
                                                       "tag2": "value2", "tag3": ""}
    sqs.untag_queue(QueueUrl=url, TagKeys=["tag1", "tag3", "never-existed"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"Tag1": "other-case", "tag2": "value2"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["Tag1", "tag2"])
    assert sqs.list_queue_tags(QueueUrl=url).get("Tags", {}) == {}


@xfail_moto("an empty Tags map is returned instead of omitting it")
def test_list_queue_tags_omits_empty_tags(sqs, new_queue):
    url = new_queue(tags={"a": "b"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["a"])
    assert "Tags" not in sqs.list_queue_tags(QueueUrl=url)


def test_create_queue_with_tags(sqs):
    url = sqs.create_queue(QueueName=unique("tagged"), tags={"env": "test", "team": "core"})["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "test", "team": "core"}


# ------------------------------------------------------------- Policy/permissions
def _as_list(v):
    return v if isinstance(v, list) else [v]


def test_add_and_remove_permission(sqs, new_queue, target):
    url = new_queue()
    arn = queue_attrs(sqs, url, "QueueArn")["QueueArn"]
    sqs.add_permission(QueueUrl=url, Label="perm1", AWSAccountIds=[target.account, "111111111111"],
                       Actions=["SendMessage", "ReceiveMessage"])
    policy = json.loads(queue_attrs(sqs, url, "Policy")["Policy"])
    assert policy["Version"] in ("2008-10-17", "2012-10-17")
    [stmt] = policy["Statement"]
    assert stmt["Sid"] == "perm1"
    assert stmt["Effect"] == "Allow"
    assert stmt["Resource"] == arn
    principals = set(_as_list(stmt["Principal"]["AWS"]))
    assert principals == {f"arn:aws:iam::{target.account}:root", "arn:aws:iam::111111111111:root"}
    assert {a.lower() for a in _as_list(stmt["Action"])} == {"sqs:sendmessage", "sqs:receivemessage"}

    sqs.add_permission(QueueUrl=url, Label="perm2", AWSAccountIds=["111111111111"], Actions=["DeleteMessage"])
    policy = json.loads(queue_attrs(sqs, url, "Policy")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["perm1", "perm2"]

    sqs.remove_permission(QueueUrl=url, Label="perm1")
    policy = json.loads(queue_attrs(sqs, url, "Policy")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["perm2"]
    sqs.remove_permission(QueueUrl=url, Label="perm2")
    remaining = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
    assert "Policy" not in remaining


def test_permission_label_errors(sqs, new_queue, target):
    url = new_queue()
    sqs.add_permission(QueueUrl=url, Label="dup", AWSAccountIds=[target.account], Actions=["ReceiveMessage"])
    with pytest.raises(ClientError) as e:
        sqs.add_permission(QueueUrl=url, Label="dup", AWSAccountIds=["111111111111"], Actions=["ReceiveMessage"])
    assert error_code(e.value) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        sqs.remove_permission(QueueUrl=url, Label="no-such-label")
    assert error_code(e.value) == "InvalidParameterValue"


def test_set_policy_is_stored_and_returned(sqs, new_queue):
    url = new_queue()
    arn = queue_attrs(sqs, url, "QueueArn")["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Id": "custom",
        "Statement": [{
            "Sid": "AllowSns", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:000000000000:topic"}},
        }],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    assert json.loads(queue_attrs(sqs, url, "Policy")["Policy"]) == policy
    assert json.loads(queue_attrs(sqs, url)["Policy"]) == policy  # also under All
    # an empty policy removes it
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    assert "Policy" not in queue_attrs(sqs, url)


@xfail_moto("an invalid policy document answers 500")
def test_set_invalid_policy_rejected(sqs, new_queue):
    url = new_queue()
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": "{not json"})
    assert error_code(e.value) == "InvalidAttributeValue"
