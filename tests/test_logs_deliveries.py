"""CloudWatch Logs vended-log deliveries (delivery sources, delivery destinations and their
policies, deliveries, configuration templates), log anomaly detectors, AssociateKmsKey /
DisassociateKmsKey on a log group, and the ListLogGroups listing operation.

Facts relied on, and where they come from:
- Shapes, required members, enums and constraints: the botocore service model for `logs`
  (DeliverySourceName / DeliveryDestinationName `[\\w-]*`, 1..60 characters; DeliveryId
  `^[0-9A-Za-z]+$`, 1..64; DescribeLimit 1..50; DeliveryDestinationType S3 | CWL | FH | XRAY;
  OutputFormat json | plain | w3c | raw | parquet; AnomalyDetectorStatus INITIALIZING | TRAINING |
  ANALYZING | FAILED | DELETED | PAUSED; LogGroupSummary = logGroupName, logGroupArn, logGroupClass).
- Behaviour: the CloudWatch Logs API reference (DeleteDeliverySource / DeleteDeliveryDestination:
  "You can't delete a delivery source [destination] if any current deliveries are associated with
  it", with ConflictException among their errors; "You can configure a single delivery source to
  send logs to multiple destinations ... multiple delivery sources to send logs to the same
  delivery destination"; AssociateKmsKey "overrides any existing associations"; ListLogGroups:
  `^` matches by prefix, a plain string is a case-sensitive substring match, `|` separates up to
  five patterns, and the first page holds 50 results by default; the 400 status of
  ConflictException / ResourceNotFoundException / ValidationException).
- Response shapes: the AWS CLI examples (put-delivery-source: `service` is the ARN's service,
  `arn` is arn:aws:logs:{region}:{account}:delivery-source:{name}; create-delivery: `arn` is
  ...:delivery:{id}; put/get-delivery-destination-policy: the policy comes back as a JSON string;
  get-log-anomaly-detector: ARN ...:anomaly-detector:{uuid}) and responses recorded against AWS
  (LocalStack's validated tests/aws/services/logs/test_logs_delivery.snapshot.json: an S3 bucket
  destination has deliveryDestinationType "S3"; a destination put without outputFormat has none;
  PutDeliveryDestination with a new destinationResourceArn replaces it; an invalid outputFormat is
  a ValidationException; GetDeliveryDestinationPolicy after DeleteDeliveryDestinationPolicy
  answers without a policy rather than failing; unknown sources, destinations and deliveries are
  ResourceNotFoundException).

Not asserted because AWS does not document it: evaluationFrequency's default, the default
anomalyVisibilityTime, default recordFields / s3DeliveryConfiguration of a delivery, and which
parameters may change when a delivery source is put again.
"""

from __future__ import annotations

import json
import re
import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, client_config, error_code, http_status, unique

pytestmark = pytest.mark.stratus_only

DETECTOR_STATUSES = {"INITIALIZING", "TRAINING", "ANALYZING", "FAILED", "DELETED", "PAUSED"}


def now_ms() -> int:
    return int(time.time() * 1000)


def fails(fn, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as e:
        fn(**kwargs)
    return e.value


@pytest.fixture(scope="module")
def clients(target):
    kw = dict(endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
              aws_secret_access_key="test", config=client_config())
    return boto3.client("logs", **kw), boto3.client("s3", **kw)


class Kit:
    """Builds the resources the tests pair up: sources, destinations of each type, deliveries."""

    def __init__(self, logs, s3, account: str):
        self.logs, self.s3, self.account = logs, s3, account

    def logs_arn(self, kind: str, name: str) -> str:
        return f"arn:aws:logs:{REGION}:{self.account}:{kind}:{name}"

    def group_arn(self, name: str) -> str:
        # logGroupArn form: no trailing `:*`.
        return self.logs_arn("log-group", name)

    def cloudfront_arn(self, dist: str = "E1Q5F5862X9VJ5") -> str:
        return f"arn:aws:cloudfront::{self.account}:distribution/{dist}"

    def new_group(self, name: str | None = None, **kw) -> str:
        name = name or f"/vended/{unique('g')}"
        self.logs.create_log_group(logGroupName=name, **kw)
        return name

    def new_bucket(self) -> str:
        bucket = unique("vended").lower()
        self.s3.create_bucket(Bucket=bucket)
        return bucket

    def source(self, name: str | None = None, resource_arn: str | None = None, log_type: str = "ACCESS_LOGS",
               **kw) -> dict:
        return self.logs.put_delivery_source(name=name or unique("src"),
                                             resourceArn=resource_arn or self.cloudfront_arn(),
                                             logType=log_type, **kw)["deliverySource"]

    def destination(self, resource_arn: str, name: str | None = None, **kw) -> dict:
        return self.logs.put_delivery_destination(
            name=name or unique("dst"), deliveryDestinationConfiguration={"destinationResourceArn": resource_arn},
            **kw)["deliveryDestination"]

    def cwl_destination(self, name: str | None = None, **kw) -> dict:
        return self.destination(self.group_arn(self.new_group()), name, **kw)

    def s3_destination(self, name: str | None = None, bucket: str | None = None, **kw) -> dict:
        return self.destination(f"arn:aws:s3:::{bucket or self.new_bucket()}", name, **kw)

    def fh_destination(self, name: str | None = None, **kw) -> dict:
        return self.destination(f"arn:aws:firehose:{REGION}:{self.account}:deliverystream/{unique('fh')}", name, **kw)

    def delivery(self, source_name: str, destination_arn: str, **kw) -> dict:
        return self.logs.create_delivery(deliverySourceName=source_name, deliveryDestinationArn=destination_arn,
                                         **kw)["delivery"]

    def detector(self, group: str | None = None, **kw) -> str:
        group = group or self.new_group()
        return self.logs.create_log_anomaly_detector(logGroupArnList=[self.group_arn(group)],
                                                     **kw)["anomalyDetectorArn"]


@pytest.fixture
def kit(clients, target):
    logs, s3 = clients
    return Kit(logs, s3, target.account)


def page_all(call, key: str, limit: int, **kwargs) -> list[list]:
    """Pages through a Describe*/List* operation; returns the pages."""
    pages, token = [], None
    while True:
        resp = call(limit=limit, **({"nextToken": token} if token else {}), **kwargs)
        pages.append(resp[key])
        token = resp.get("nextToken")
        if not token:
            return pages
        assert len(pages) < 20, "pagination does not end"


# ---------------------------------------------------------------------------
# Delivery sources
# ---------------------------------------------------------------------------

def test_put_delivery_source_returns_the_source(kit):
    name = unique("src")
    resp = kit.logs.put_delivery_source(name=name, resourceArn=kit.cloudfront_arn(), logType="ACCESS_LOGS",
                                        tags={"team": "edge"})
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    src = resp["deliverySource"]
    assert src["name"] == name
    assert src["arn"] == f"arn:aws:logs:{REGION}:{kit.account}:delivery-source:{name}"
    assert src["resourceArns"] == [kit.cloudfront_arn()]
    assert src["service"] == "cloudfront"
    assert src["logType"] == "ACCESS_LOGS"
    assert src["tags"] == {"team": "edge"}

    got = kit.logs.get_delivery_source(name=name)["deliverySource"]
    assert (got["name"], got["arn"], got["resourceArns"], got["service"], got["logType"]) == \
        (name, src["arn"], [kit.cloudfront_arn()], "cloudfront", "ACCESS_LOGS")
    assert got["tags"] == {"team": "edge"}


def test_delivery_source_service_comes_from_the_resource_arn(kit):
    # The AWS CLI example: a CodeWhisperer customization ARN gives service "codewhisperer".
    arn = f"arn:aws:codewhisperer:{REGION}:{kit.account}:customization/ABC1DE2FGHI"
    name = unique("cw")
    kit.source(name=name, resource_arn=arn, log_type="EVENT_LOGS")
    got = kit.logs.get_delivery_source(name=name)["deliverySource"]
    assert got["service"] == "codewhisperer"
    assert got["resourceArns"] == [arn]
    assert got["logType"] == "EVENT_LOGS"
    assert got.get("tags", {}) == {}


def test_put_delivery_source_again_updates_in_place(kit):
    name = unique("src")
    first = kit.source(name=name)
    second = kit.source(name=name)
    assert second["arn"] == first["arn"]
    assert (second["logType"], second["resourceArns"]) == ("ACCESS_LOGS", [kit.cloudfront_arn()])
    listed = kit.logs.describe_delivery_sources()["deliverySources"]
    assert [s["name"] for s in listed] == [name]


def test_describe_delivery_sources_lists_and_paginates(kit):
    names = {kit.source()["name"] for _ in range(3)}
    everything = kit.logs.describe_delivery_sources()
    assert {s["name"] for s in everything["deliverySources"]} == names
    assert "nextToken" not in everything
    for s in everything["deliverySources"]:
        assert s["arn"] == kit.logs_arn("delivery-source", s["name"])
        assert (s["service"], s["logType"]) == ("cloudfront", "ACCESS_LOGS")

    pages = page_all(kit.logs.describe_delivery_sources, "deliverySources", limit=2)
    assert [len(p) for p in pages] == [2, 1]
    seen = [s["name"] for p in pages for s in p]
    assert sorted(seen) == sorted(names)


def test_delete_delivery_source_and_unknown_sources(kit):
    name = kit.source()["name"]
    kit.logs.delete_delivery_source(name=name)
    e = fails(kit.logs.get_delivery_source, name=name)
    assert error_code(e) == "ResourceNotFoundException" and http_status(e) == 400
    assert kit.logs.describe_delivery_sources()["deliverySources"] == []
    assert error_code(fails(kit.logs.delete_delivery_source, name=name)) == "ResourceNotFoundException"
    assert error_code(fails(kit.logs.get_delivery_source, name="never-made")) == "ResourceNotFoundException"


def test_delivery_source_name_must_match_pattern_and_length(kit):
    # DeliverySourceName: pattern [\w-]*, at most 60 characters.
    e = fails(kit.logs.put_delivery_source, name="bad name!", resourceArn=kit.cloudfront_arn(),
              logType="ACCESS_LOGS")
    assert error_code(e) == "ValidationException" and http_status(e) == 400
    e = fails(kit.logs.put_delivery_source, name="s" * 61, resourceArn=kit.cloudfront_arn(), logType="ACCESS_LOGS")
    assert error_code(e) == "ValidationException"
    assert kit.logs.describe_delivery_sources()["deliverySources"] == []
    ok = kit.source(name="a_b-C9" + "x" * 54)  # exactly 60 characters of the allowed set
    assert ok["name"] == "a_b-C9" + "x" * 54


# ---------------------------------------------------------------------------
# Delivery destinations
# ---------------------------------------------------------------------------

def test_delivery_destination_type_follows_the_resource(kit):
    group = kit.new_group()
    bucket = kit.new_bucket()
    firehose = f"arn:aws:firehose:{REGION}:{kit.account}:deliverystream/{unique('fh')}"
    for resource, kind in ((kit.group_arn(group), "CWL"), (f"arn:aws:s3:::{bucket}", "S3"), (firehose, "FH")):
        name = unique(kind.lower())
        d = kit.destination(resource, name=name)
        assert d["name"] == name
        assert d["arn"] == f"arn:aws:logs:{REGION}:{kit.account}:delivery-destination:{name}"
        assert d["deliveryDestinationType"] == kind, resource
        assert d["deliveryDestinationConfiguration"] == {"destinationResourceArn": resource}
        got = kit.logs.get_delivery_destination(name=name)["deliveryDestination"]
        assert (got["arn"], got["deliveryDestinationType"], got["deliveryDestinationConfiguration"]) == \
            (d["arn"], kind, {"destinationResourceArn": resource})


def test_delivery_destination_output_format(kit):
    with_format = kit.s3_destination(outputFormat="json")
    assert with_format["outputFormat"] == "json"
    assert kit.logs.get_delivery_destination(name=with_format["name"])["deliveryDestination"]["outputFormat"] == "json"
    # Recorded against AWS: a destination put without outputFormat reports none.
    without = kit.s3_destination()
    assert "outputFormat" not in kit.logs.get_delivery_destination(name=without["name"])["deliveryDestination"]
    # Recorded against AWS: a value outside the enum is a ValidationException.
    e = fails(kit.logs.put_delivery_destination, name=unique("dst"), outputFormat="foobar",
              deliveryDestinationConfiguration={"destinationResourceArn": f"arn:aws:s3:::{kit.new_bucket()}"})
    assert error_code(e) == "ValidationException" and http_status(e) == 400


def test_put_delivery_destination_again_replaces_the_resource(kit):
    name = unique("dst")
    first_bucket, second_bucket = kit.new_bucket(), kit.new_bucket()
    first = kit.s3_destination(name=name, bucket=first_bucket)
    second = kit.s3_destination(name=name, bucket=second_bucket)
    assert second["arn"] == first["arn"]
    assert second["deliveryDestinationConfiguration"] == {"destinationResourceArn": f"arn:aws:s3:::{second_bucket}"}
    got = kit.logs.get_delivery_destination(name=name)["deliveryDestination"]
    assert got["deliveryDestinationConfiguration"]["destinationResourceArn"] == f"arn:aws:s3:::{second_bucket}"
    assert [d["name"] for d in kit.logs.describe_delivery_destinations()["deliveryDestinations"]] == [name]


def test_describe_delivery_destinations_lists_and_paginates(kit):
    made = [kit.cwl_destination(), kit.s3_destination(), kit.fh_destination()]
    everything = kit.logs.describe_delivery_destinations()["deliveryDestinations"]
    assert {d["name"]: d["deliveryDestinationType"] for d in everything} == \
        {d["name"]: t for d, t in zip(made, ("CWL", "S3", "FH"))}
    pages = page_all(kit.logs.describe_delivery_destinations, "deliveryDestinations", limit=2)
    assert [len(p) for p in pages] == [2, 1]
    assert sorted(d["arn"] for p in pages for d in p) == sorted(d["arn"] for d in made)


def test_delete_delivery_destination_and_unknown_destinations(kit):
    name = kit.cwl_destination()["name"]
    kit.logs.delete_delivery_destination(name=name)
    e = fails(kit.logs.get_delivery_destination, name=name)
    assert error_code(e) == "ResourceNotFoundException" and http_status(e) == 400
    assert kit.logs.describe_delivery_destinations()["deliveryDestinations"] == []
    assert error_code(fails(kit.logs.delete_delivery_destination, name=name)) == "ResourceNotFoundException"
    assert error_code(fails(kit.logs.get_delivery_destination, name="foobar")) == "ResourceNotFoundException"


# ---------------------------------------------------------------------------
# Delivery destination policies
# ---------------------------------------------------------------------------

def destination_policy(account: str) -> dict:
    # The policy of AWS's put-delivery-destination-policy example.
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowLogDeliveryActions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": "logs:CreateDelivery",
            "Resource": [
                f"arn:aws:logs:{REGION}:{account}:delivery-source:*",
                f"arn:aws:logs:{REGION}:{account}:delivery:*",
                f"arn:aws:logs:{REGION}:{account}:delivery-destination:*",
            ],
        }],
    }


def test_delivery_destination_policy_round_trip(kit):
    name = kit.s3_destination()["name"]
    doc = destination_policy(kit.account)
    put = kit.logs.put_delivery_destination_policy(deliveryDestinationName=name,
                                                   deliveryDestinationPolicy=json.dumps(doc, indent=2))
    assert json.loads(put["policy"]["deliveryDestinationPolicy"]) == doc
    got = kit.logs.get_delivery_destination_policy(deliveryDestinationName=name)
    assert json.loads(got["policy"]["deliveryDestinationPolicy"]) == doc

    # Putting again replaces the policy.
    doc2 = destination_policy(kit.account)
    doc2["Statement"][0]["Sid"] = "Replaced"
    kit.logs.put_delivery_destination_policy(deliveryDestinationName=name, deliveryDestinationPolicy=json.dumps(doc2))
    got = kit.logs.get_delivery_destination_policy(deliveryDestinationName=name)
    assert json.loads(got["policy"]["deliveryDestinationPolicy"])["Statement"][0]["Sid"] == "Replaced"


def test_delete_delivery_destination_policy_and_unknown_destination(kit):
    name = kit.s3_destination()["name"]
    kit.logs.put_delivery_destination_policy(deliveryDestinationName=name,
                                             deliveryDestinationPolicy=json.dumps(destination_policy(kit.account)))
    kit.logs.delete_delivery_destination_policy(deliveryDestinationName=name)
    # Recorded against AWS: the destination still answers, with an empty policy.
    got = kit.logs.get_delivery_destination_policy(deliveryDestinationName=name)
    assert "deliveryDestinationPolicy" not in got.get("policy", {})
    assert kit.logs.get_delivery_destination(name=name)["deliveryDestination"]["name"] == name

    policy = json.dumps(destination_policy(kit.account))
    assert error_code(fails(kit.logs.put_delivery_destination_policy, deliveryDestinationName="nope",
                            deliveryDestinationPolicy=policy)) == "ResourceNotFoundException"
    assert error_code(fails(kit.logs.get_delivery_destination_policy,
                            deliveryDestinationName="nope")) == "ResourceNotFoundException"


# ---------------------------------------------------------------------------
# Deliveries
# ---------------------------------------------------------------------------

def test_create_delivery_returns_the_delivery(kit):
    src = kit.source()
    dst = kit.s3_destination()
    d = kit.delivery(src["name"], dst["arn"], recordFields=["date", "time", "c-ip"], fieldDelimiter=",",
                     tags={"k": "v"})
    assert re.fullmatch(r"[0-9A-Za-z]{1,64}", d["id"]), d["id"]
    assert d["arn"] == f"arn:aws:logs:{REGION}:{kit.account}:delivery:{d['id']}"
    assert d["deliverySourceName"] == src["name"]
    assert d["deliveryDestinationArn"] == dst["arn"]
    assert d["deliveryDestinationType"] == "S3"
    assert d["recordFields"] == ["date", "time", "c-ip"]
    assert d["fieldDelimiter"] == ","
    assert d["tags"] == {"k": "v"}


def test_get_and_describe_deliveries(kit):
    src = kit.source()
    dst = kit.cwl_destination()
    d = kit.delivery(src["name"], dst["arn"])
    got = kit.logs.get_delivery(id=d["id"])["delivery"]
    assert (got["id"], got["arn"], got["deliverySourceName"], got["deliveryDestinationArn"],
            got["deliveryDestinationType"]) == (d["id"], d["arn"], src["name"], dst["arn"], "CWL")
    [listed] = kit.logs.describe_deliveries()["deliveries"]
    assert (listed["id"], listed["arn"], listed["deliverySourceName"], listed["deliveryDestinationArn"]) == \
        (d["id"], d["arn"], src["name"], dst["arn"])


def test_create_delivery_needs_existing_source_and_destination(kit):
    src = kit.source()
    dst = kit.cwl_destination()
    e = fails(kit.logs.create_delivery, deliverySourceName="no-such-source", deliveryDestinationArn=dst["arn"])
    assert error_code(e) == "ResourceNotFoundException" and http_status(e) == 400
    e = fails(kit.logs.create_delivery, deliverySourceName=src["name"],
              deliveryDestinationArn=kit.logs_arn("delivery-destination", "no-such-destination"))
    assert error_code(e) == "ResourceNotFoundException"
    assert kit.logs.describe_deliveries()["deliveries"] == []


def test_second_delivery_of_a_source_to_the_same_destination_conflicts(kit):
    src = kit.source()
    dst = kit.s3_destination()
    first = kit.delivery(src["name"], dst["arn"])
    e = fails(kit.logs.create_delivery, deliverySourceName=src["name"], deliveryDestinationArn=dst["arn"])
    assert error_code(e) == "ConflictException" and http_status(e) == 400
    assert [d["id"] for d in kit.logs.describe_deliveries()["deliveries"]] == [first["id"]]


def test_one_source_delivers_to_destinations_of_each_type(kit):
    src = kit.source()
    dests = {"CWL": kit.cwl_destination(), "S3": kit.s3_destination(), "FH": kit.fh_destination()}
    made = {kind: kit.delivery(src["name"], d["arn"]) for kind, d in dests.items()}
    assert len({d["id"] for d in made.values()}) == 3
    for kind, d in made.items():
        assert d["deliveryDestinationType"] == kind
        assert d["deliveryDestinationArn"] == dests[kind]["arn"]
    listed = {d["id"]: d["deliveryDestinationType"] for d in kit.logs.describe_deliveries()["deliveries"]}
    assert listed == {d["id"]: kind for kind, d in made.items()}


def test_source_and_destination_in_use_cannot_be_deleted(kit):
    src = kit.source()
    dst = kit.cwl_destination()
    d = kit.delivery(src["name"], dst["arn"])
    e = fails(kit.logs.delete_delivery_source, name=src["name"])
    assert error_code(e) == "ConflictException" and http_status(e) == 400
    assert error_code(fails(kit.logs.delete_delivery_destination, name=dst["name"])) == "ConflictException"
    # Both are still there, and so is the delivery.
    assert kit.logs.get_delivery_source(name=src["name"])["deliverySource"]["name"] == src["name"]
    assert kit.logs.get_delivery_destination(name=dst["name"])["deliveryDestination"]["arn"] == dst["arn"]
    assert kit.logs.get_delivery(id=d["id"])["delivery"]["id"] == d["id"]

    # DeleteDelivery removes only the connection; then both can go.
    kit.logs.delete_delivery(id=d["id"])
    assert kit.logs.get_delivery_source(name=src["name"])["deliverySource"]["name"] == src["name"]
    kit.logs.delete_delivery_source(name=src["name"])
    kit.logs.delete_delivery_destination(name=dst["name"])
    assert kit.logs.describe_delivery_sources()["deliverySources"] == []
    assert kit.logs.describe_delivery_destinations()["deliveryDestinations"] == []


def test_delete_delivery_and_unknown_deliveries(kit):
    src = kit.source()
    d = kit.delivery(src["name"], kit.s3_destination()["arn"])
    kit.logs.delete_delivery(id=d["id"])
    e = fails(kit.logs.get_delivery, id=d["id"])
    assert error_code(e) == "ResourceNotFoundException" and http_status(e) == 400
    assert kit.logs.describe_deliveries()["deliveries"] == []
    assert error_code(fails(kit.logs.delete_delivery, id=d["id"])) == "ResourceNotFoundException"
    assert error_code(fails(kit.logs.get_delivery, id="NoSuchDelivery1")) == "ResourceNotFoundException"
    # Deleting a delivery leaves its source alone.
    assert kit.logs.get_delivery_source(name=src["name"])["deliverySource"]["name"] == src["name"]


def test_describe_deliveries_paginates(kit):
    # Several sources to one destination, which AWS documents as allowed.
    dst = kit.s3_destination()
    ids = {kit.delivery(kit.source()["name"], dst["arn"])["id"] for _ in range(3)}
    pages = page_all(kit.logs.describe_deliveries, "deliveries", limit=2)
    assert [len(p) for p in pages] == [2, 1]
    seen = [d["id"] for p in pages for d in p]
    assert sorted(seen) == sorted(ids)


def test_update_delivery_configuration(kit):
    src = kit.source()
    dst = kit.s3_destination()
    d = kit.delivery(src["name"], dst["arn"], recordFields=["date", "time", "c-ip"], fieldDelimiter=",")
    resp = kit.logs.update_delivery_configuration(
        id=d["id"], recordFields=["date", "time"], fieldDelimiter="\t",
        s3DeliveryConfiguration={"suffixPath": "AWSLogs/{account-id}/CloudFront/", "enableHiveCompatiblePath": True})
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    got = kit.logs.get_delivery(id=d["id"])["delivery"]
    assert got["recordFields"] == ["date", "time"]
    assert got["fieldDelimiter"] == "\t"
    assert got["s3DeliveryConfiguration"] == {"suffixPath": "AWSLogs/{account-id}/CloudFront/",
                                              "enableHiveCompatiblePath": True}
    # The source and destination of a delivery do not change.
    assert (got["deliverySourceName"], got["deliveryDestinationArn"]) == (src["name"], dst["arn"])

    e = fails(kit.logs.update_delivery_configuration, id="NoSuchDelivery1", fieldDelimiter=",")
    assert error_code(e) == "ResourceNotFoundException"


def test_describe_configuration_templates_honours_filters(kit):
    everything = kit.logs.describe_configuration_templates()
    assert isinstance(everything["configurationTemplates"], list)
    for t in everything["configurationTemplates"]:
        assert {"service", "logType", "resourceType", "deliveryDestinationType"} <= set(t), t
        assert t["deliveryDestinationType"] in {"S3", "CWL", "FH", "XRAY"}
    s3_only = kit.logs.describe_configuration_templates(deliveryDestinationTypes=["S3"])["configurationTemplates"]
    assert all(t["deliveryDestinationType"] == "S3" for t in s3_only), s3_only
    cloudfront = kit.logs.describe_configuration_templates(service="cloudfront")["configurationTemplates"]
    assert all(t["service"] == "cloudfront" for t in cloudfront), cloudfront


# ---------------------------------------------------------------------------
# Log anomaly detectors
# ---------------------------------------------------------------------------

def test_create_and_get_log_anomaly_detector(kit):
    group = kit.new_group()
    before = now_ms()
    arn = kit.detector(group, detectorName="checkout-errors", evaluationFrequency="FIVE_MIN",
                       filterPattern="ERROR", anomalyVisibilityTime=14)
    after = now_ms()
    prefix = f"arn:aws:logs:{REGION}:{kit.account}:anomaly-detector:"
    assert arn.startswith(prefix), arn
    assert str(uuid.UUID(arn[len(prefix):])) == arn[len(prefix):]

    got = kit.logs.get_log_anomaly_detector(anomalyDetectorArn=arn)
    assert got["detectorName"] == "checkout-errors"
    assert got["logGroupArnList"] == [kit.group_arn(group)]
    assert got["evaluationFrequency"] == "FIVE_MIN"
    assert got["filterPattern"] == "ERROR"
    assert got["anomalyVisibilityTime"] == 14
    # A new, enabled detector is neither paused, failed nor deleted.
    assert got["anomalyDetectorStatus"] in {"INITIALIZING", "TRAINING", "ANALYZING"}
    assert before - 1000 <= got["creationTimeStamp"] <= after + 1000
    assert got["lastModifiedTimeStamp"] >= got["creationTimeStamp"]

    e = fails(kit.logs.get_log_anomaly_detector, anomalyDetectorArn=f"{prefix}{uuid.uuid4()}")
    assert error_code(e) == "ResourceNotFoundException" and http_status(e) == 400


def test_list_log_anomaly_detectors_filters_and_paginates(kit):
    groups = [kit.new_group() for _ in range(3)]
    arns = [kit.detector(g, detectorName=f"d{i}", evaluationFrequency="TEN_MIN") for i, g in enumerate(groups)]
    listed = kit.logs.list_log_anomaly_detectors()["anomalyDetectors"]
    assert {d["anomalyDetectorArn"]: d["detectorName"] for d in listed} == {a: f"d{i}" for i, a in enumerate(arns)}
    for d in listed:
        assert d["evaluationFrequency"] == "TEN_MIN"
        assert d["anomalyDetectorStatus"] in DETECTOR_STATUSES
        assert d["logGroupArnList"] == [kit.group_arn(groups[arns.index(d["anomalyDetectorArn"])])]

    [only] = kit.logs.list_log_anomaly_detectors(filterLogGroupArn=kit.group_arn(groups[1]))["anomalyDetectors"]
    assert only["anomalyDetectorArn"] == arns[1]
    other = kit.group_arn(kit.new_group())
    assert kit.logs.list_log_anomaly_detectors(filterLogGroupArn=other)["anomalyDetectors"] == []

    pages = page_all(kit.logs.list_log_anomaly_detectors, "anomalyDetectors", limit=2)
    assert [len(p) for p in pages] == [2, 1]
    assert sorted(d["anomalyDetectorArn"] for p in pages for d in p) == sorted(arns)


def test_update_log_anomaly_detector(kit):
    arn = kit.detector(detectorName="upd", evaluationFrequency="FIVE_MIN", filterPattern="ERROR",
                       anomalyVisibilityTime=7)
    created = kit.logs.get_log_anomaly_detector(anomalyDetectorArn=arn)
    time.sleep(0.05)
    t0 = now_ms()
    kit.logs.update_log_anomaly_detector(anomalyDetectorArn=arn, enabled=True, evaluationFrequency="ONE_HOUR",
                                         filterPattern="WARN", anomalyVisibilityTime=30)
    got = kit.logs.get_log_anomaly_detector(anomalyDetectorArn=arn)
    assert (got["evaluationFrequency"], got["filterPattern"], got["anomalyVisibilityTime"]) == ("ONE_HOUR", "WARN", 30)
    assert got["detectorName"] == "upd"
    assert got["creationTimeStamp"] == created["creationTimeStamp"]
    assert got["lastModifiedTimeStamp"] >= t0
    assert got["anomalyDetectorStatus"] != "PAUSED"


def test_disabling_a_detector_pauses_it(kit):
    arn = kit.detector(evaluationFrequency="FIFTEEN_MIN")
    kit.logs.update_log_anomaly_detector(anomalyDetectorArn=arn, enabled=False)
    assert kit.logs.get_log_anomaly_detector(anomalyDetectorArn=arn)["anomalyDetectorStatus"] == "PAUSED"
    [listed] = kit.logs.list_log_anomaly_detectors()["anomalyDetectors"]
    assert listed["anomalyDetectorStatus"] == "PAUSED"
    kit.logs.update_log_anomaly_detector(anomalyDetectorArn=arn, enabled=True)
    assert kit.logs.get_log_anomaly_detector(anomalyDetectorArn=arn)["anomalyDetectorStatus"] in \
        {"INITIALIZING", "TRAINING", "ANALYZING"}


def test_delete_log_anomaly_detector(kit):
    keep = kit.detector(detectorName="keep")
    arn = kit.detector(detectorName="gone")
    kit.logs.delete_log_anomaly_detector(anomalyDetectorArn=arn)
    assert error_code(fails(kit.logs.get_log_anomaly_detector, anomalyDetectorArn=arn)) == "ResourceNotFoundException"
    assert [d["anomalyDetectorArn"] for d in kit.logs.list_log_anomaly_detectors()["anomalyDetectors"]] == [keep]
    assert error_code(fails(kit.logs.delete_log_anomaly_detector,
                            anomalyDetectorArn=arn)) == "ResourceNotFoundException"
    assert error_code(fails(kit.logs.update_log_anomaly_detector, anomalyDetectorArn=arn,
                            enabled=False)) == "ResourceNotFoundException"


def test_fresh_detector_has_no_anomalies_and_unknown_anomaly_is_not_found(kit):
    arn = kit.detector(evaluationFrequency="ONE_MIN")
    assert kit.logs.list_anomalies(anomalyDetectorArn=arn)["anomalies"] == []
    assert kit.logs.list_anomalies()["anomalies"] == []
    # AnomalyId is exactly 36 characters: a UUID.
    e = fails(kit.logs.update_anomaly, anomalyDetectorArn=arn, anomalyId=str(uuid.uuid4()), suppressionType="INFINITE")
    assert error_code(e) == "ResourceNotFoundException" and http_status(e) == 400


# ---------------------------------------------------------------------------
# AssociateKmsKey / DisassociateKmsKey
# ---------------------------------------------------------------------------

def kms_arn(account: str) -> str:
    return f"arn:aws:kms:{REGION}:{account}:key/{uuid.uuid4()}"


def describe_group(logs, name: str) -> dict:
    [g] = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]
    return g


def test_associate_and_disassociate_kms_key(kit):
    group = kit.new_group()
    other = kit.new_group()
    assert "kmsKeyId" not in describe_group(kit.logs, group)
    first, second = kms_arn(kit.account), kms_arn(kit.account)
    kit.logs.associate_kms_key(logGroupName=group, kmsKeyId=first)
    assert describe_group(kit.logs, group)["kmsKeyId"] == first
    # A new association overrides the existing one.
    kit.logs.associate_kms_key(logGroupName=group, kmsKeyId=second)
    assert describe_group(kit.logs, group)["kmsKeyId"] == second
    assert "kmsKeyId" not in describe_group(kit.logs, other)

    kit.logs.disassociate_kms_key(logGroupName=group)
    assert "kmsKeyId" not in describe_group(kit.logs, group)


def test_kms_key_operations_on_unknown_group(kit):
    e = fails(kit.logs.associate_kms_key, logGroupName="/no/such/group", kmsKeyId=kms_arn(kit.account))
    assert error_code(e) == "ResourceNotFoundException" and http_status(e) == 400
    e = fails(kit.logs.disassociate_kms_key, logGroupName="/no/such/group")
    assert error_code(e) == "ResourceNotFoundException"


# ---------------------------------------------------------------------------
# ListLogGroups
# ---------------------------------------------------------------------------

def test_list_log_groups_summaries_and_class_filter(kit):
    std = kit.new_group("/list/standard")
    ia = kit.new_group("/list/infrequent", logGroupClass="INFREQUENT_ACCESS")
    groups = kit.logs.list_log_groups()["logGroups"]
    assert sorted(groups, key=lambda g: g["logGroupName"]) == [
        {"logGroupName": ia, "logGroupArn": kit.group_arn(ia), "logGroupClass": "INFREQUENT_ACCESS"},
        {"logGroupName": std, "logGroupArn": kit.group_arn(std), "logGroupClass": "STANDARD"},
    ]
    assert [g["logGroupName"] for g in kit.logs.list_log_groups(logGroupClass="STANDARD")["logGroups"]] == [std]
    assert [g["logGroupName"] for g in
            kit.logs.list_log_groups(logGroupClass="INFREQUENT_ACCESS")["logGroups"]] == [ia]
    assert kit.logs.list_log_groups(logGroupClass="DELIVERY")["logGroups"] == []


def list_names(logs, **kwargs) -> set[str]:
    return {g["logGroupName"] for g in logs.list_log_groups(**kwargs)["logGroups"]}


def test_list_log_groups_pattern_is_a_case_sensitive_substring(kit):
    for name in ("/app/Alpha", "/app/alpha", "/other/beta", "/x/app/gamma"):
        kit.new_group(name)
    assert list_names(kit.logs, logGroupNamePattern="app") == {"/app/Alpha", "/app/alpha", "/x/app/gamma"}
    assert list_names(kit.logs, logGroupNamePattern="Alpha") == {"/app/Alpha"}
    assert list_names(kit.logs, logGroupNamePattern="pha") == {"/app/Alpha", "/app/alpha"}
    assert list_names(kit.logs, logGroupNamePattern="nothing-like-it") == set()


def test_list_log_groups_pattern_prefix_and_alternatives(kit):
    for name in ("/app/Alpha", "/app/alpha", "/other/beta", "/x/app/gamma"):
        kit.new_group(name)
    # `^` anchors at the start of the name; `|` separates patterns.
    assert list_names(kit.logs, logGroupNamePattern="^/app") == {"/app/Alpha", "/app/alpha"}
    assert list_names(kit.logs, logGroupNamePattern="^/other|gamma") == {"/other/beta", "/x/app/gamma"}
    assert list_names(kit.logs, logGroupNamePattern="^/app|^/other") == {"/app/Alpha", "/app/alpha", "/other/beta"}
    assert list_names(kit.logs, logGroupNamePattern="^app") == set()


def test_list_log_groups_paginates(kit):
    names = {kit.new_group(f"/page/g{i:02d}") for i in range(5)}
    pages = page_all(kit.logs.list_log_groups, "logGroups", limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    seen = [g["logGroupName"] for p in pages for g in p]
    assert sorted(seen) == sorted(names)


def test_list_log_groups_default_page_is_50(kit):
    names = {kit.new_group(f"/many/g{i:02d}") for i in range(51)}
    first = kit.logs.list_log_groups()
    assert len(first["logGroups"]) == 50
    assert first.get("nextToken")
    rest = kit.logs.list_log_groups(nextToken=first["nextToken"])
    assert "nextToken" not in rest
    assert {g["logGroupName"] for g in first["logGroups"] + rest["logGroups"]} == names
