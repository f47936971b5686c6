"""`--auth enforce`, nothing slips through: every operation of every served API's model (SQS,
SNS, Lambda, CloudWatch Logs, IAM, STS, S3, DynamoDB, Kinesis), called by an IAM user that has no policy, is
refused with the service's access-denied error — whatever the operation and whether Stratus
serves it (DynamoDB and DynamoDB Streams too). Generated from the botocore models; inputs are placeholders (authorization comes
before validation, as on AWS).
"""

from __future__ import annotations

import datetime
import tempfile

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import ServerProcess, client_config, unique

pytestmark = pytest.mark.stratus_only

ROOT = ("AKIDEVERYOPROOT00001", "every-op-root-secret", "210987654321")
SERVICES = ("sqs", "sns", "lambda", "logs", "iam", "sts", "s3", "dynamodb", "dynamodbstreams", "kinesis", "apigateway", "apigatewayv2", "elbv2",
            "codecommit")
# Answered whatever the caller's policies: who am I, and the token-authorized exchanges.
EXEMPT = {("sts", "GetCallerIdentity"), ("sts", "AssumeRoleWithWebIdentity"), ("sts", "AssumeRoleWithSAML")}
DENIALS = {"AccessDenied", "AuthorizationError", "AccessDeniedException"}
# S3 operations no route reaches (newer than the S3 protocol layer Stratus builds on, or S3
# Object Lambda's own endpoint) and those the S3 door answers as not served (S3 Metadata, ABAC,
# directory buckets' RenameObject, UpdateObjectEncryption): nothing runs; they answer
# NotImplemented before any caller is considered.
UNROUTABLE = {("s3", "CreateBucketMetadataConfiguration"), ("s3", "ListDirectoryBuckets"),
              ("s3", "WriteGetObjectResponse")} | {
    ("s3", op) for op in (
        "CreateBucketMetadataTableConfiguration", "DeleteBucketMetadataConfiguration",
        "DeleteBucketMetadataTableConfiguration", "GetBucketMetadataConfiguration",
        "GetBucketMetadataTableConfiguration", "UpdateBucketMetadataInventoryTableConfiguration",
        "UpdateBucketMetadataJournalTableConfiguration", "GetBucketAbac", "PutBucketAbac", "RenameObject",
        "UpdateObjectEncryption")}


def placeholder(shape, depth=0):
    kind = shape.type_name
    if kind == "structure":
        if depth > 3:
            return {}
        return {name: placeholder(shape.members[name], depth + 1) for name in shape.required_members}
    if kind == "list":
        return []
    if kind == "map":
        return {}
    if kind in ("integer", "long"):
        return 1
    if kind in ("float", "double"):
        return 1.0
    if kind == "boolean":
        return False
    if kind == "blob":
        return b"x"
    if kind == "timestamp":
        return datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    if shape.enum:
        return shape.enum[0]
    name = shape.name.lower()
    if "bucket" in name:
        return "every-op-bucket"
    return "placeholder-x"


def operations(service: str):
    model = botocore.session.get_session().get_service_model(service)
    for op in model.operation_names:
        if (service, op) not in EXEMPT:
            yield op, model.operation_model(op)


@pytest.fixture(scope="module")
def user_clients(tmp_path_factory):
    cfg = tmp_path_factory.mktemp("every-op") / "stratus.toml"
    cfg.write_text("\n".join(["[[credentials]]", f'access_key_id = "{ROOT[0]}"', f'secret_access_key = "{ROOT[1]}"',
                              f'account = "{ROOT[2]}"', ""]))
    srv = ServerProcess(in_memory=True, log_dir=tempfile.mkdtemp(prefix="stratus-every-op-"),
                        extra_args=["--auth", "enforce", "--config", str(cfg)])
    srv.start()
    session = boto3.session.Session()
    iam = session.client("iam", endpoint_url=srv.endpoint, region_name="us-east-1",
                         aws_access_key_id=ROOT[0], aws_secret_access_key=ROOT[1])
    user = iam.create_user(UserName=unique("nobody"))["User"]["UserName"]
    key = iam.create_access_key(UserName=user)["AccessKey"]
    clients = {s: session.client(s, endpoint_url=srv.endpoint, region_name="us-east-1",
                                 aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                                 config=client_config(parameter_validation=False, inject_host_prefix=False))
               for s in SERVICES}
    yield clients
    srv.kill()


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_is_denied_to_a_user_without_policies(user_clients, service):
    client = user_clients[service]
    slipped = []
    for op, model in operations(service):
        params = placeholder(model.input_shape) if model.input_shape is not None else {}
        method = getattr(client, botocore.xform_name(op))
        try:
            method(**params)
            slipped.append(f"{op}: succeeded")
        except ClientError as e:
            code = e.response["Error"]["Code"]
            status = e.response["ResponseMetadata"]["HTTPStatusCode"]
            if model.http.get("method") == "HEAD" and (code, status) == ("403", 403):
                continue  # a HEAD answer has no body: the status is all there is, as on AWS
            if (service, op) in UNROUTABLE and status == 501:
                continue
            if code not in DENIALS or status not in (400, 403):
                slipped.append(f"{op}: {status} {code} {e.response['Error'].get('Message', '')[:120]}")
        except Exception as e:  # noqa: BLE001  (a client-side failure to build the request is a test bug)
            slipped.append(f"{op}: client could not send it: {type(e).__name__}: {str(e)[:120]}")
    assert not slipped, f"{len(slipped)} {service} operations not denied:\n" + "\n".join(slipped)
