"""STS end to end (query protocol): GetCallerIdentity for root, IAM-user and assumed-role
credentials, AssumeRole (credentials, durations, validation, trust), GetSessionToken and
GetAccessKeyInfo; then `--auth verify`: keys from CreateAccessKey work at once, inactive and
deleted keys are refused, temporary credentials need their session token, trust policies decide
who may assume a role.

AWS references: LocalStack's recorded AWS responses (tests/aws/services/sts/test_sts.snapshot.json:
AssumedRoleUser "arn:aws:sts::{acct}:assumed-role/{role}/{session}" with AssumedRoleId
"{RoleId}:{session}", the roleSessionName validation messages, "{arn} is invalid"), the STS API
reference (AssumeRole DurationSeconds 900..MaxSessionDuration: "The requested DurationSeconds
exceeds the MaxSessionDuration set for this role."; GetSessionToken defaults to 43,200 s for an
IAM user), and AWS answering AccessDenied "User: {caller} is not authorized to perform:
sts:AssumeRole on resource: {role arn}" whether or not the role exists.
"""

from __future__ import annotations

import json
import re
import tempfile
from datetime import datetime, timezone

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import ServerProcess, client_config, unique

REGION = "us-east-1"
TEMP_KEY_ID = re.compile(r"^ASIA[A-Z0-9]{16}$")
INVALID_TOKEN = ("InvalidClientTokenId", 403, "The security token included in the request is invalid.")


def make_client(service: str, endpoint: str, key: str = "test", secret: str = "test", token: str | None = None,
                validate: bool = True):
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=key, aws_secret_access_key=secret,
        aws_session_token=token, config=client_config(parameter_validation=validate))


def creds_client(service: str, endpoint: str, creds: dict, **kw):
    return make_client(service, endpoint, creds["AccessKeyId"], creds["SecretAccessKey"],
                       creds.get("SessionToken"), **kw)


def fails(call, *args, **kwargs) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as e:
        call(*args, **kwargs)
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"].get("Message", "")


def trust(principal_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": "sts:AssumeRole"}]})


def user_with_key(iam) -> tuple[dict, dict]:
    user = iam.create_user(UserName=unique("u"))["User"]
    key = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    return user, key


def expires_in(creds: dict, seconds: int, slack: int = 120) -> bool:
    left = (creds["Expiration"] - datetime.now(timezone.utc)).total_seconds()
    return seconds - slack <= left <= seconds + slack


@pytest.fixture(scope="module")
def iam(target):
    return make_client("iam", target.endpoint)


@pytest.fixture(scope="module")
def sts(target):
    return make_client("sts", target.endpoint)


@pytest.fixture
def acct(target) -> str:
    return target.account


@pytest.fixture
def caller(iam, target):
    """An IAM user, its access key, and STS signed with that key: (user, key, sts client)."""
    user, key = user_with_key(iam)
    return user, key, creds_client("sts", target.endpoint, key)


@pytest.fixture
def role_for(iam):
    """role_for(principal_arn, **create_role kwargs) -> Role trusting that principal."""
    def create(principal_arn: str, **kwargs) -> dict:
        return iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument=trust(principal_arn), **kwargs)["Role"]
    return create


# ---------------------------------------------------------------------------
# Open mode
# ---------------------------------------------------------------------------
@pytest.mark.stratus_only  # moto_server answers arn:aws:sts::{acct}:user/moto for any unknown key
def test_caller_identity_of_root_credentials(sts, target, acct):
    me = sts.get_caller_identity()
    assert (me["Account"], me["Arn"], me["UserId"]) == (acct, f"arn:aws:iam::{acct}:root", acct)
    other = make_client("sts", target.endpoint, key="123456789012").get_caller_identity()
    assert (other["Account"], other["Arn"]) == ("123456789012", "arn:aws:iam::123456789012:root")


def test_caller_identity_of_user_key(caller, acct):
    user, _, sts_user = caller
    me = sts_user.get_caller_identity()
    assert (me["Account"], me["Arn"], me["UserId"]) == (acct, user["Arn"], user["UserId"])


def test_assume_role_credentials(caller, role_for, target, acct):
    user, _, sts_user = caller
    role = role_for(user["Arn"], Path="/app/")
    session = unique("s")
    got = sts_user.assume_role(RoleArn=role["Arn"], RoleSessionName=session)
    creds = got["Credentials"]
    assert TEMP_KEY_ID.match(creds["AccessKeyId"]), creds["AccessKeyId"]
    assert len(creds["SecretAccessKey"]) == 40
    assert creds["SessionToken"]
    assert expires_in(creds, 3600)
    # the role's path is not part of the assumed-role ARN
    assert got["AssumedRoleUser"] == {"Arn": f"arn:aws:sts::{acct}:assumed-role/{role['RoleName']}/{session}",
                                      "AssumedRoleId": f"{role['RoleId']}:{session}"}
    me = creds_client("sts", target.endpoint, creds).get_caller_identity()
    assert (me["Account"], me["Arn"], me["UserId"]) == (
        acct, got["AssumedRoleUser"]["Arn"], got["AssumedRoleUser"]["AssumedRoleId"])
    second = sts_user.assume_role(RoleArn=role["Arn"], RoleSessionName=session)["Credentials"]
    assert second["AccessKeyId"] != creds["AccessKeyId"]


@pytest.mark.stratus_only  # moto_server accepts any DurationSeconds, beyond the role's MaxSessionDuration too
def test_assume_role_duration(caller, role_for, target):
    user, key, _ = caller
    sts_raw = creds_client("sts", target.endpoint, key, validate=False)
    role = role_for(user["Arn"])
    short = sts_raw.assume_role(RoleArn=role["Arn"], RoleSessionName="sess", DurationSeconds=900)["Credentials"]
    assert expires_in(short, 900)
    assert fails(sts_raw.assume_role, RoleArn=role["Arn"], RoleSessionName="sess", DurationSeconds=7200) == (
        "ValidationError", 400, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    assert fails(sts_raw.assume_role, RoleArn=role["Arn"], RoleSessionName="sess", DurationSeconds=899)[:2] == (
        "ValidationError", 400)
    long_role = role_for(user["Arn"], MaxSessionDuration=7200)
    long = sts_raw.assume_role(RoleArn=long_role["Arn"], RoleSessionName="sess", DurationSeconds=7200)["Credentials"]
    assert expires_in(long, 7200)


@pytest.mark.stratus_only  # moto_server does not validate RoleSessionName or the role ARN
def test_assume_role_parameter_validation(caller, role_for, target):
    user, key, _ = caller
    sts_raw = creds_client("sts", target.endpoint, key, validate=False)
    arn = role_for(user["Arn"])["Arn"]
    assert fails(sts_raw.assume_role, RoleArn=arn, RoleSessionName="Session1:2") == (
        "ValidationError", 400,
        "1 validation error detected: Value 'Session1:2' at 'roleSessionName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w+=,.@-]*")
    too_long = "s" * 65
    assert fails(sts_raw.assume_role, RoleArn=arn, RoleSessionName=too_long) == (
        "ValidationError", 400,
        f"1 validation error detected: Value '{too_long}' at 'roleSessionName' failed to satisfy constraint: "
        "Member must have length less than or equal to 64")
    assert fails(sts_raw.assume_role, RoleArn=arn, RoleSessionName="x")[:2] == ("ValidationError", 400)
    assert fails(sts_raw.assume_role, RoleArn="nothing-valid-in-here", RoleSessionName="ok") == (
        "ValidationError", 400, "nothing-valid-in-here is invalid")
    assert sts_raw.assume_role(RoleArn=arn, RoleSessionName="a.b@c=d,e+f-g_h")["AssumedRoleUser"]["Arn"].endswith(
        "/a.b@c=d,e+f-g_h")


@pytest.mark.stratus_only  # moto_server hands out credentials for roles that do not exist
def test_assume_missing_role_is_access_denied(caller, acct):
    user, _, sts_user = caller
    arn = f"arn:aws:iam::{acct}:role/{unique('missing')}"
    assert fails(sts_user.assume_role, RoleArn=arn, RoleSessionName="sess") == (
        "AccessDenied", 403, f"User: {user['Arn']} is not authorized to perform: sts:AssumeRole on resource: {arn}")


@pytest.mark.stratus_only  # moto_server returns the fixed key AKIAIOSFODNN7EXAMPLE (AWS: a temporary ASIA… key)
def test_get_session_token_for_user(caller, target, acct):
    user, _, sts_user = caller
    got = sts_user.get_session_token()["Credentials"]
    assert TEMP_KEY_ID.match(got["AccessKeyId"]), got["AccessKeyId"]
    assert got["SessionToken"] and len(got["SecretAccessKey"]) == 40
    assert expires_in(got, 43200)  # the default for IAM users
    me = creds_client("sts", target.endpoint, got).get_caller_identity()
    assert (me["Account"], me["Arn"], me["UserId"]) == (acct, user["Arn"], user["UserId"])
    assert expires_in(sts_user.get_session_token(DurationSeconds=900)["Credentials"], 900)


def test_get_access_key_info(iam, caller, role_for, sts, acct):
    user, _, sts_user = caller
    key = iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"][0]["AccessKeyId"]
    assert sts.get_access_key_info(AccessKeyId=key)["Account"] == acct
    temp = sts_user.assume_role(RoleArn=role_for(user["Arn"])["Arn"], RoleSessionName="sess")["Credentials"]
    assert sts.get_access_key_info(AccessKeyId=temp["AccessKeyId"])["Account"] == acct


# ---------------------------------------------------------------------------
# --auth verify: which keys authenticate, and as whom
# ---------------------------------------------------------------------------
ROOT = ("AKIDSTSROOTEXAMPLE", "root-secret", "111122223333")


@pytest.fixture(scope="module")
def vsrv(tmp_path_factory):
    cfg = tmp_path_factory.mktemp("sts-verify") / "stratus.toml"
    cfg.write_text("\n".join(["[[credentials]]", f'access_key_id = "{ROOT[0]}"', f'secret_access_key = "{ROOT[1]}"',
                              f'account = "{ROOT[2]}"', "admin = true", ""]))
    srv = ServerProcess(in_memory=True, log_dir=tempfile.mkdtemp(prefix="stratus-sts-verify-"),
                        extra_args=["--auth", "verify", "--config", str(cfg)])
    srv.start()
    yield srv
    srv.kill()


@pytest.fixture
def v_iam(vsrv):
    return make_client("iam", vsrv.endpoint, *ROOT[:2])


@pytest.fixture
def v_user(v_iam, vsrv):
    """A user of the verify server, its key, and STS signed with that key."""
    user, key = user_with_key(v_iam)
    return user, key, creds_client("sts", vsrv.endpoint, key)


@pytest.mark.stratus_only
def test_verify_root_identity(vsrv):
    me = make_client("sts", vsrv.endpoint, *ROOT[:2]).get_caller_identity()
    assert (me["Account"], me["Arn"], me["UserId"]) == (ROOT[2], f"arn:aws:iam::{ROOT[2]}:root", ROOT[2])


@pytest.mark.stratus_only
def test_verify_created_key_works_at_once(v_user):
    user, _, sts_user = v_user
    me = sts_user.get_caller_identity()
    assert (me["Account"], me["Arn"], me["UserId"]) == (ROOT[2], user["Arn"], user["UserId"])


@pytest.mark.stratus_only
def test_verify_unknown_key_and_wrong_secret(vsrv, v_user):
    _, key, _ = v_user
    assert fails(make_client("sts", vsrv.endpoint, "AKIAUNKNOWNKEY000000", "x").get_caller_identity) == INVALID_TOKEN
    wrong = make_client("sts", vsrv.endpoint, key["AccessKeyId"], "not-the-secret")
    assert fails(wrong.get_caller_identity)[:2] == ("SignatureDoesNotMatch", 403)


@pytest.mark.stratus_only
def test_verify_inactive_key_is_refused_until_reactivated(v_iam, v_user):
    user, key, sts_user = v_user
    v_iam.update_access_key(UserName=user["UserName"], AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert fails(sts_user.get_caller_identity) == INVALID_TOKEN
    v_iam.update_access_key(UserName=user["UserName"], AccessKeyId=key["AccessKeyId"], Status="Active")
    assert sts_user.get_caller_identity()["Arn"] == user["Arn"]


@pytest.mark.stratus_only
def test_verify_deleted_key_is_refused(v_iam, v_user):
    user, key, sts_user = v_user
    assert sts_user.get_caller_identity()["Arn"] == user["Arn"]
    v_iam.delete_access_key(UserName=user["UserName"], AccessKeyId=key["AccessKeyId"])
    assert fails(sts_user.get_caller_identity) == INVALID_TOKEN


@pytest.mark.stratus_only
def test_verify_assumed_role_credentials_need_their_token(vsrv, v_iam, v_user):
    user, _, sts_user = v_user
    role = v_iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument=trust(user["Arn"]))["Role"]
    got = sts_user.assume_role(RoleArn=role["Arn"], RoleSessionName="build")
    creds = got["Credentials"]
    me = creds_client("sts", vsrv.endpoint, creds).get_caller_identity()
    assert (me["Arn"], me["UserId"]) == (f"arn:aws:sts::{ROOT[2]}:assumed-role/{role['RoleName']}/build",
                                         f"{role['RoleId']}:build")
    without = make_client("sts", vsrv.endpoint, creds["AccessKeyId"], creds["SecretAccessKey"])
    assert fails(without.get_caller_identity) == INVALID_TOKEN
    other = sts_user.assume_role(RoleArn=role["Arn"], RoleSessionName="other")["Credentials"]
    mixed = make_client("sts", vsrv.endpoint, creds["AccessKeyId"], creds["SecretAccessKey"], other["SessionToken"])
    assert fails(mixed.get_caller_identity)[:2] == ("InvalidClientTokenId", 403)


@pytest.mark.stratus_only
def test_verify_session_token_credentials(vsrv, v_user):
    user, _, sts_user = v_user
    creds = sts_user.get_session_token()["Credentials"]
    assert creds_client("sts", vsrv.endpoint, creds).get_caller_identity()["Arn"] == user["Arn"]
    without = make_client("sts", vsrv.endpoint, creds["AccessKeyId"], creds["SecretAccessKey"])
    assert fails(without.get_caller_identity) == INVALID_TOKEN


@pytest.mark.stratus_only
def test_verify_trust_policy_decides_who_may_assume(vsrv, v_iam, v_user):
    alice, _, sts_alice = v_user
    bob, bob_key = user_with_key(v_iam)
    sts_bob = creds_client("sts", vsrv.endpoint, bob_key)
    role = v_iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument=trust(alice["Arn"]))["Role"]
    assert sts_alice.assume_role(RoleArn=role["Arn"], RoleSessionName="alice")["AssumedRoleUser"]["AssumedRoleId"] == (
        f"{role['RoleId']}:alice")
    assert fails(sts_bob.assume_role, RoleArn=role["Arn"], RoleSessionName="bob") == (
        "AccessDenied", 403,
        f"User: {bob['Arn']} is not authorized to perform: sts:AssumeRole on resource: {role['Arn']}")
    lambda_only = v_iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]
    assert fails(sts_alice.assume_role, RoleArn=lambda_only["Arn"], RoleSessionName="alice")[:2] == (
        "AccessDenied", 403)
    missing = f"arn:aws:iam::{ROOT[2]}:role/{unique('missing')}"
    assert fails(sts_alice.assume_role, RoleArn=missing, RoleSessionName="alice") == (
        "AccessDenied", 403,
        f"User: {alice['Arn']} is not authorized to perform: sts:AssumeRole on resource: {missing}")
    # a new trust policy takes effect at once
    v_iam.update_assume_role_policy(RoleName=role["RoleName"], PolicyDocument=trust(bob["Arn"]))
    assert sts_bob.assume_role(RoleArn=role["Arn"], RoleSessionName="bob")["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ROOT[2]}:assumed-role/{role['RoleName']}/bob")
    assert fails(sts_alice.assume_role, RoleArn=role["Arn"], RoleSessionName="alice")[:2] == ("AccessDenied", 403)


@pytest.mark.stratus_only
def test_verify_issued_keys_survive_a_crash(tmp_path):
    """Keys and sessions IAM and STS issued are durable: after kill -9 and a restart they still
    authenticate, and a key deleted before the crash stays refused."""
    cfg = tmp_path / "stratus.toml"
    cfg.write_text("\n".join(["[[credentials]]", f'access_key_id = "{ROOT[0]}"', f'secret_access_key = "{ROOT[1]}"',
                              f'account = "{ROOT[2]}"', ""]))
    args = ["--auth", "verify", "--config", str(cfg)]
    srv = ServerProcess(tmp_path / "data", log_dir=str(tmp_path), extra_args=args).start()
    try:
        iam = make_client("iam", srv.endpoint, *ROOT[:2])
        user, key = user_with_key(iam)
        gone = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
        iam.delete_access_key(UserName=user["UserName"], AccessKeyId=gone["AccessKeyId"])
        role = iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument=trust(user["Arn"]))["Role"]
        creds = creds_client("sts", srv.endpoint, key).assume_role(
            RoleArn=role["Arn"], RoleSessionName="before-crash")["Credentials"]
    finally:
        srv.kill()
    srv = ServerProcess(tmp_path / "data", log_dir=str(tmp_path), extra_args=args).start()
    try:
        assert creds_client("sts", srv.endpoint, key).get_caller_identity()["Arn"] == user["Arn"]
        me = creds_client("sts", srv.endpoint, creds).get_caller_identity()
        assert me["Arn"] == f"arn:aws:sts::{ROOT[2]}:assumed-role/{role['RoleName']}/before-crash"
        deleted = make_client("sts", srv.endpoint, gone["AccessKeyId"], gone["SecretAccessKey"])
        assert fails(deleted.get_caller_identity) == INVALID_TOKEN
    finally:
        srv.kill()


@pytest.mark.stratus_only
def test_verify_roles_may_not_be_assumed_by_root(vsrv, v_iam):
    role = v_iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ROOT[2]}:root"))["Role"]
    assert fails(make_client("sts", vsrv.endpoint, *ROOT[:2]).assume_role, RoleArn=role["Arn"],
                 RoleSessionName="as-root") == ("AccessDenied", 403, "Roles may not be assumed by root accounts.")
