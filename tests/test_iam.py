"""IAM end to end (query protocol, global: us-east-1): users, groups, roles, inline and managed
policies, AWS managed policies, access keys and policy-document validation, in open mode, plus
IAM under `--auth verify` (per-account state, the caller of GetUser).

Expected codes, statuses and messages follow responses recorded against AWS in LocalStack's
snapshot tests (tests/aws/services/iam/test_iam_{users,groups,roles,policies,managed_policies}
.snapshot.json), e.g. "The user with name X cannot be found." (404), "User with name X already
exists." (409), "Cannot delete entity, must detach all policies first." (409), "A managed policy
can have up to 5 versions. ..." (409), "Cannot exceed quota for AccessKeysPerUser: 2" (409),
"Syntax errors in policy." / "This policy contains invalid Json" (400). Tests whose AWS
behaviour moto_server does not reproduce are `stratus_only`, with the reason next to them.
"""

from __future__ import annotations

import json
import re
import tempfile
import urllib.parse

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import ServerProcess, client_config, unique

REGION = "us-east-1"

TRUST_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
S3_LIST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::example_bucket"}],
}
SQS_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}

USER_ID = re.compile(r"^AIDA[A-Z0-9]{17}$")
ROLE_ID = re.compile(r"^AROA[A-Z0-9]{17}$")
GROUP_ID = re.compile(r"^AGPA[A-Z0-9]{17}$")
POLICY_ID = re.compile(r"^ANPA[A-Z0-9]{17}$")
ACCESS_KEY_ID = re.compile(r"^AKIA[A-Z0-9]{16}$")


def make_iam(endpoint: str, key: str = "test", secret: str = "test", token: str | None = None,
             validate: bool = True):
    return boto3.session.Session().client(
        "iam", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=key, aws_secret_access_key=secret,
        aws_session_token=token, config=client_config(parameter_validation=validate))


@pytest.fixture(scope="module")
def iam(target):
    return make_iam(target.endpoint)


@pytest.fixture(scope="module")
def iam_raw(target):
    """No client-side parameter validation: out-of-range values reach the server."""
    return make_iam(target.endpoint, validate=False)


@pytest.fixture
def acct(target) -> str:
    return target.account


def fails(call, *args, **kwargs) -> tuple[str, int, str]:
    """(code, HTTP status, message) of the ClientError `call` raises."""
    with pytest.raises(ClientError) as e:
        call(*args, **kwargs)
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"].get("Message", "")


def new_user(iam, **kwargs) -> dict:
    return iam.create_user(UserName=unique("u"), **kwargs)["User"]


def new_role(iam, doc: dict = TRUST_LAMBDA, **kwargs) -> dict:
    return iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument=json.dumps(doc), **kwargs)["Role"]


def new_policy(iam, doc: dict = S3_LIST, **kwargs) -> dict:
    return iam.create_policy(PolicyName=unique("p"), PolicyDocument=json.dumps(doc), **kwargs)["Policy"]


# ---------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------
def test_create_and_get_user(iam, acct):
    name = unique("u")
    tags = [{"Key": "team", "Value": "core"}, {"Key": "env", "Value": ""}]
    created = iam.create_user(UserName=name, Path="/division/team/", Tags=tags)["User"]
    assert created["UserName"] == name
    assert created["Path"] == "/division/team/"
    assert created["Arn"] == f"arn:aws:iam::{acct}:user/division/team/{name}"
    assert created["Tags"] == tags
    got = iam.get_user(UserName=name)["User"]
    for k in ("UserName", "Path", "Arn", "UserId", "CreateDate", "Tags"):
        assert got[k] == created[k], k
    plain = new_user(iam)
    assert plain["Path"] == "/" and plain["Arn"] == f"arn:aws:iam::{acct}:user/{plain['UserName']}"
    assert "Tags" not in iam.get_user(UserName=plain["UserName"])["User"]


@pytest.mark.stratus_only  # moto_server: "User X already exists" (AWS: "User with name X already exists.")
def test_user_not_found_and_already_exists(iam):
    name = unique("u")
    code, status, msg = fails(iam.get_user, UserName=name)
    assert (code, status, msg) == ("NoSuchEntity", 404, f"The user with name {name} cannot be found.")
    for call, kw in ((iam.delete_user, {}), (iam.update_user, {"NewPath": "/x/"}), (iam.list_user_tags, {})):
        assert fails(call, UserName=name, **kw)[:2] == ("NoSuchEntity", 404)
    iam.create_user(UserName=name)
    code, status, msg = fails(iam.create_user, UserName=name)
    assert (code, status, msg) == ("EntityAlreadyExists", 409, f"User with name {name} already exists.")


@pytest.mark.stratus_only  # moto_server accepts any user name
@pytest.mark.parametrize("bad", ["has space", "semi;colon", "x" * 65])
def test_create_user_rejects_invalid_names(iam_raw, bad):
    code, status, _ = fails(iam_raw.create_user, UserName=bad)
    assert (code, status) == ("ValidationError", 400)


@pytest.mark.stratus_only  # moto_server ignores MaxItems in ListUsers (returns every user, IsTruncated false)
def test_list_users_path_prefix_and_pages(iam):
    prefix = f"/{unique('p')}/"
    names = sorted(unique("u") for _ in range(5))
    for n in names:
        iam.create_user(UserName=n, Path=prefix)
    new_user(iam)  # outside the prefix
    listed = iam.list_users(PathPrefix=prefix)
    assert listed["IsTruncated"] is False
    assert sorted(u["UserName"] for u in listed["Users"]) == names
    seen, marker, pages = [], None, 0
    while True:
        kw = {"Marker": marker} if marker else {}
        page = iam.list_users(PathPrefix=prefix, MaxItems=2, **kw)
        pages += 1
        assert len(page["Users"]) <= 2
        seen += [u["UserName"] for u in page["Users"]]
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        marker = page["Marker"]
    assert pages == 3
    assert sorted(seen) == names and len(seen) == len(set(seen))


def test_update_user_renames_and_moves(iam, acct):
    user = new_user(iam)
    new_name = unique("renamed")
    iam.update_user(UserName=user["UserName"], NewUserName=new_name, NewPath="/moved/")
    got = iam.get_user(UserName=new_name)["User"]
    assert got["UserId"] == user["UserId"]
    assert got["Path"] == "/moved/"
    assert got["Arn"] == f"arn:aws:iam::{acct}:user/moved/{new_name}"
    code, status, msg = fails(iam.get_user, UserName=user["UserName"])
    assert (code, status, msg) == ("NoSuchEntity", 404, f"The user with name {user['UserName']} cannot be found.")


def test_user_tags(iam):
    user = new_user(iam)["UserName"]
    assert iam.list_user_tags(UserName=user)["Tags"] == []
    iam.tag_user(UserName=user, Tags=[{"Key": "key-1", "Value": "value-1"}, {"Key": "key-2", "Value": "value-2"}])
    iam.tag_user(UserName=user, Tags=[{"Key": "key-1", "Value": "changed"}])
    tags = iam.list_user_tags(UserName=user)
    assert tags["IsTruncated"] is False
    assert {t["Key"]: t["Value"] for t in tags["Tags"]} == {"key-1": "changed", "key-2": "value-2"}
    iam.untag_user(UserName=user, TagKeys=["key-2"])
    assert iam.list_user_tags(UserName=user)["Tags"] == [{"Key": "key-1", "Value": "changed"}]


@pytest.mark.stratus_only  # moto_server omits PermissionsBoundary from CreateUser's answer
def test_user_permissions_boundary(iam):
    boundary = new_policy(iam)["Arn"]
    user = new_user(iam, PermissionsBoundary=boundary)
    want = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    assert user["PermissionsBoundary"] == want
    assert iam.get_user(UserName=user["UserName"])["User"]["PermissionsBoundary"] == want


@pytest.mark.stratus_only  # moto_server deletes a user that still has access keys
def test_delete_user_conflicts(iam):
    policy = new_policy(iam)["Arn"]
    group = iam.create_group(GroupName=unique("g"))["Group"]["GroupName"]

    with_key = new_user(iam)["UserName"]
    iam.create_access_key(UserName=with_key)
    with_inline = new_user(iam)["UserName"]
    iam.put_user_policy(UserName=with_inline, PolicyName="inline", PolicyDocument=json.dumps(S3_LIST))
    with_attached = new_user(iam)["UserName"]
    iam.attach_user_policy(UserName=with_attached, PolicyArn=policy)
    in_group = new_user(iam)["UserName"]
    iam.add_user_to_group(GroupName=group, UserName=in_group)

    assert fails(iam.delete_user, UserName=with_key) == (
        "DeleteConflict", 409, "Cannot delete entity, must delete access keys first.")
    assert fails(iam.delete_user, UserName=with_inline) == (
        "DeleteConflict", 409, "Cannot delete entity, must delete policies first.")
    assert fails(iam.delete_user, UserName=with_attached) == (
        "DeleteConflict", 409, "Cannot delete entity, must detach all policies first.")
    assert fails(iam.delete_user, UserName=in_group)[:2] == ("DeleteConflict", 409)

    key = iam.list_access_keys(UserName=with_key)["AccessKeyMetadata"][0]["AccessKeyId"]
    iam.delete_access_key(UserName=with_key, AccessKeyId=key)
    iam.delete_user_policy(UserName=with_inline, PolicyName="inline")
    iam.detach_user_policy(UserName=with_attached, PolicyArn=policy)
    iam.remove_user_from_group(GroupName=group, UserName=in_group)
    for name in (with_key, with_inline, with_attached, in_group):
        iam.delete_user(UserName=name)
        assert fails(iam.get_user, UserName=name)[:2] == ("NoSuchEntity", 404)


@pytest.mark.stratus_only  # moto_server makes random lower-case ids (AWS: AIDA/AROA/AGPA/ANPA + 17 upper-case)
def test_unique_id_formats(iam):
    assert USER_ID.match(new_user(iam)["UserId"])
    assert ROLE_ID.match(new_role(iam)["RoleId"])
    assert GROUP_ID.match(iam.create_group(GroupName=unique("g"))["Group"]["GroupId"])
    assert POLICY_ID.match(new_policy(iam)["PolicyId"])
    for arn in ("arn:aws:iam::aws:policy/AdministratorAccess",
                "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"):
        assert POLICY_ID.match(iam.get_policy(PolicyArn=arn)["Policy"]["PolicyId"]), arn


# ---------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------
def test_group_membership(iam, acct):
    name = unique("g")
    group = iam.create_group(GroupName=name, Path="/teams/")["Group"]
    assert group["Arn"] == f"arn:aws:iam::{acct}:group/teams/{name}"
    other = iam.create_group(GroupName=unique("g"))["Group"]["GroupName"]
    users = [new_user(iam)["UserName"] for _ in range(2)]
    for u in users:
        iam.add_user_to_group(GroupName=name, UserName=u)
    iam.add_user_to_group(GroupName=other, UserName=users[0])
    iam.add_user_to_group(GroupName=name, UserName=users[0])  # already a member: no error, no duplicate

    got = iam.get_group(GroupName=name)
    assert got["Group"]["GroupId"] == group["GroupId"]
    assert sorted(u["UserName"] for u in got["Users"]) == sorted(users)
    assert sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName=users[0])["Groups"]) == sorted(
        [name, other])
    assert {name, other} <= {g["GroupName"] for g in iam.list_groups()["Groups"]}

    iam.remove_user_from_group(GroupName=name, UserName=users[0])
    assert [u["UserName"] for u in iam.get_group(GroupName=name)["Users"]] == [users[1]]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=users[0])["Groups"]] == [other]

    iam.remove_user_from_group(GroupName=name, UserName=users[1])
    iam.delete_group(GroupName=name)
    assert fails(iam.get_group, GroupName=name)[:2] == ("NoSuchEntity", 404)


@pytest.mark.stratus_only  # moto_server: "Group X not found" (AWS: "The group with name X cannot be found.");
# it also ignores ListGroups' PathPrefix and deletes groups that still have members
def test_group_errors_and_conflicts(iam):
    prefixed = iam.create_group(GroupName=unique("g"), Path="/teams/")["Group"]["GroupName"]
    assert [g["GroupName"] for g in iam.list_groups(PathPrefix="/teams/")["Groups"]] == [prefixed]
    user = new_user(iam)["UserName"]
    group = unique("g")
    assert fails(iam.add_user_to_group, GroupName=group, UserName=user) == (
        "NoSuchEntity", 404, f"The group with name {group} cannot be found.")
    iam.create_group(GroupName=group)
    assert fails(iam.create_group, GroupName=group) == (
        "EntityAlreadyExists", 409, f"Group with name {group} already exists.")
    assert fails(iam.add_user_to_group, GroupName=group, UserName="nobody-here") == (
        "NoSuchEntity", 404, "The user with name nobody-here cannot be found.")
    iam.add_user_to_group(GroupName=group, UserName=user)
    assert fails(iam.delete_group, GroupName=group)[:2] == ("DeleteConflict", 409)
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_group(GroupName=group)


# ---------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------
def test_create_and_get_role(iam, acct):
    name = unique("r")
    created = iam.create_role(RoleName=name, Path="/service/", Description="runs functions",
                              AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA),
                              Tags=[{"Key": "app", "Value": "demo"}])["Role"]
    assert created["Arn"] == f"arn:aws:iam::{acct}:role/service/{name}"
    assert created["AssumeRolePolicyDocument"] == TRUST_LAMBDA
    assert created["Tags"] == [{"Key": "app", "Value": "demo"}]
    got = iam.get_role(RoleName=name)["Role"]
    assert got["RoleId"] == created["RoleId"] and got["Arn"] == created["Arn"]
    assert got["Path"] == "/service/"
    assert got["Description"] == "runs functions"
    assert got["MaxSessionDuration"] == 3600
    assert got["AssumeRolePolicyDocument"] == TRUST_LAMBDA
    assert got["Tags"] == [{"Key": "app", "Value": "demo"}]


@pytest.mark.stratus_only  # moto_server: "Role X not found" (AWS: "The role with name X cannot be found.")
def test_role_errors(iam):
    role = new_role(iam)["RoleName"]
    for call, kw in ((iam.get_role, {}), (iam.delete_role, {}), (iam.list_role_tags, {}),
                     (iam.tag_role, {"Tags": [{"Key": "k", "Value": "v"}]}), (iam.update_role, {"Description": "d"})):
        assert fails(call, RoleName="no-such-role", **kw) == (
            "NoSuchEntity", 404, "The role with name no-such-role cannot be found."), call
    assert fails(iam.create_role, RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA)) == (
        "EntityAlreadyExists", 409, f"Role with name {role} already exists.")


def test_role_trust_policy_is_url_encoded_on_the_wire(iam):
    """AWS returns AssumeRolePolicyDocument URL-encoded in the XML; boto3 decodes it."""
    role = new_role(iam)
    bodies = []

    def keep(http_response, **_):
        bodies.append(http_response.content)

    iam.meta.events.register("after-call.iam.GetRole", keep)
    try:
        iam.get_role(RoleName=role["RoleName"])
    finally:
        iam.meta.events.unregister("after-call.iam.GetRole", keep)
    raw = re.search(rb"<AssumeRolePolicyDocument>([^<]*)</AssumeRolePolicyDocument>", bodies[0]).group(1).decode()
    assert raw.startswith("%7B"), raw
    assert json.loads(urllib.parse.unquote(raw)) == TRUST_LAMBDA


@pytest.mark.stratus_only  # moto_server accepts any trust policy text
def test_trust_policy_validation(iam):
    code, status, msg = fails(iam.create_role, RoleName=unique("r"), AssumeRolePolicyDocument="{not json")
    assert (code, status, msg) == ("MalformedPolicyDocument", 400, "This policy contains invalid Json")
    role = new_role(iam)["RoleName"]
    assert fails(iam.update_assume_role_policy, RoleName=role, PolicyDocument="not json") == (
        "MalformedPolicyDocument", 400, "This policy contains invalid Json")
    bad_action = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "s3:GetObject"}]}
    assert fails(iam.update_assume_role_policy, RoleName=role, PolicyDocument=json.dumps(bad_action)) == (
        "MalformedPolicyDocument", 400, "AssumeRole policy may only specify STS AssumeRole actions.")
    with_resource = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole",
         "Resource": "*"}]}
    assert fails(iam.update_assume_role_policy, RoleName=role, PolicyDocument=json.dumps(with_resource)) == (
        "MalformedPolicyDocument", 400, "Has prohibited field Resource")
    assert iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"] == TRUST_LAMBDA


@pytest.mark.stratus_only  # moto_server accepts any MaxSessionDuration
def test_max_session_duration_range(iam_raw):
    for bad in (3599, 43201):
        code, status, _ = fails(iam_raw.create_role, RoleName=unique("r"), MaxSessionDuration=bad,
                                AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))
        assert (code, status) == ("ValidationError", 400), bad
    role = new_role(iam_raw, MaxSessionDuration=43200)
    assert iam_raw.get_role(RoleName=role["RoleName"])["Role"]["MaxSessionDuration"] == 43200
    assert fails(iam_raw.update_role, RoleName=role["RoleName"], MaxSessionDuration=43201)[:2] == (
        "ValidationError", 400)


def test_update_role_and_trust_policy(iam):
    role = new_role(iam, Description="before")["RoleName"]
    iam.update_role(RoleName=role, Description="after", MaxSessionDuration=7200)
    got = iam.get_role(RoleName=role)["Role"]
    assert (got["Description"], got["MaxSessionDuration"]) == ("after", 7200)
    trust_ec2 = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(trust_ec2))
    assert iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"] == trust_ec2


def test_list_roles_pages(iam):
    prefix = f"/{unique('p')}/"
    names = sorted(unique("r") for _ in range(5))
    for n in names:
        iam.create_role(RoleName=n, Path=prefix, AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))
    new_role(iam)
    first = iam.list_roles(PathPrefix=prefix, MaxItems=2)
    assert first["IsTruncated"] is True and len(first["Roles"]) == 2
    assert first["Roles"][0]["AssumeRolePolicyDocument"] == TRUST_LAMBDA
    rest = iam.list_roles(PathPrefix=prefix, Marker=first["Marker"])
    assert rest["IsTruncated"] is False and len(rest["Roles"]) == 3
    assert sorted(r["RoleName"] for r in first["Roles"] + rest["Roles"]) == names
    assert iam.list_roles(PathPrefix=f"/{unique('none')}/")["Roles"] == []


def test_delete_role_conflicts(iam):
    policy = new_policy(iam)["Arn"]
    role = new_role(iam)["RoleName"]
    iam.attach_role_policy(RoleName=role, PolicyArn=policy)
    assert fails(iam.delete_role, RoleName=role) == (
        "DeleteConflict", 409, "Cannot delete entity, must detach all policies first.")
    iam.detach_role_policy(RoleName=role, PolicyArn=policy)
    iam.put_role_policy(RoleName=role, PolicyName="inline", PolicyDocument=json.dumps(S3_LIST))
    assert fails(iam.delete_role, RoleName=role) == (
        "DeleteConflict", 409, "Cannot delete entity, must delete policies first.")
    iam.delete_role_policy(RoleName=role, PolicyName="inline")
    iam.delete_role(RoleName=role)
    assert fails(iam.get_role, RoleName=role)[:2] == ("NoSuchEntity", 404)


def test_role_tags(iam):
    role = new_role(iam)["RoleName"]
    iam.tag_role(RoleName=role, Tags=[{"Key": "somekey", "Value": "somevalue"},
                                      {"Key": "someotherkey", "Value": "someothervalue"}])
    iam.tag_role(RoleName=role, Tags=[{"Key": "somekey", "Value": "updatedvalue"}])
    tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role)["Tags"]}
    assert tags == {"somekey": "updatedvalue", "someotherkey": "someothervalue"}
    iam.untag_role(RoleName=role, TagKeys=["somekey"])
    assert iam.list_role_tags(RoleName=role)["Tags"] == [{"Key": "someotherkey", "Value": "someothervalue"}]


@pytest.mark.stratus_only  # moto_server: PermissionsBoundaryType "PermissionsBoundaryPolicy" (AWS: "Policy")
def test_role_permissions_boundary(iam):
    boundary = new_policy(iam)["Arn"]
    role = new_role(iam, PermissionsBoundary=boundary)
    want = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    assert role["PermissionsBoundary"] == want
    assert iam.get_role(RoleName=role["RoleName"])["Role"]["PermissionsBoundary"] == want


# ---------------------------------------------------------------------------
# Inline policies (user, role, group)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["user", "role", "group"])
def test_inline_policy_lifecycle(iam, kind):
    if kind == "user":
        owner = {"UserName": new_user(iam)["UserName"]}
    elif kind == "role":
        owner = {"RoleName": new_role(iam)["RoleName"]}
    else:
        owner = {"GroupName": iam.create_group(GroupName=unique("g"))["Group"]["GroupName"]}
    Kind = kind.capitalize()
    put = getattr(iam, f"put_{kind}_policy")
    get = getattr(iam, f"get_{kind}_policy")
    lst = getattr(iam, f"list_{kind}_policies")
    delete = getattr(iam, f"delete_{kind}_policy")

    assert lst(**owner)["PolicyNames"] == []
    put(**owner, PolicyName="b-policy", PolicyDocument=json.dumps(S3_LIST))
    put(**owner, PolicyName="a-policy", PolicyDocument=json.dumps(SQS_ALL))
    got = get(**owner, PolicyName="b-policy")
    assert got["PolicyName"] == "b-policy"
    assert got[f"{Kind}Name"] == next(iter(owner.values()))
    assert got["PolicyDocument"] == S3_LIST
    put(**owner, PolicyName="b-policy", PolicyDocument=json.dumps(SQS_ALL))  # replaces
    assert get(**owner, PolicyName="b-policy")["PolicyDocument"] == SQS_ALL
    assert sorted(lst(**owner)["PolicyNames"]) == ["a-policy", "b-policy"]
    delete(**owner, PolicyName="b-policy")
    assert lst(**owner)["PolicyNames"] == ["a-policy"]
    assert fails(get, **owner, PolicyName="b-policy")[:2] == ("NoSuchEntity", 404)
    assert fails(delete, **owner, PolicyName="b-policy")[:2] == ("NoSuchEntity", 404)


@pytest.mark.stratus_only  # moto_server: "Policy X not found" / "Policy Document X not attached to role R"
@pytest.mark.parametrize("kind", ["user", "role", "group"])
def test_inline_policy_not_found_message(iam, kind):
    if kind == "user":
        owner = {"UserName": new_user(iam)["UserName"]}
    elif kind == "role":
        owner = {"RoleName": new_role(iam)["RoleName"]}
    else:
        owner = {"GroupName": iam.create_group(GroupName=unique("g"))["Group"]["GroupName"]}
    want = ("NoSuchEntity", 404, f"The {kind} policy with name missing cannot be found.")
    assert fails(getattr(iam, f"get_{kind}_policy"), **owner, PolicyName="missing") == want
    assert fails(getattr(iam, f"delete_{kind}_policy"), **owner, PolicyName="missing") == want
    assert getattr(iam, f"list_{kind}_policies")(**owner)["IsTruncated"] is False


# ---------------------------------------------------------------------------
# Managed policies
# ---------------------------------------------------------------------------
def test_create_and_get_policy(iam, acct):
    name = unique("p")
    created = iam.create_policy(PolicyName=name, Path="/team/", Description="lists a bucket",
                                PolicyDocument=json.dumps(S3_LIST))["Policy"]
    assert created["Arn"] == f"arn:aws:iam::{acct}:policy/team/{name}"
    assert (created["DefaultVersionId"], created["AttachmentCount"], created["IsAttachable"]) == ("v1", 0, True)
    assert created["Path"] == "/team/"
    got = iam.get_policy(PolicyArn=created["Arn"])["Policy"]
    for k in ("PolicyName", "PolicyId", "Arn", "Path", "DefaultVersionId", "AttachmentCount", "IsAttachable"):
        assert got[k] == created[k], k
    assert got["Description"] == "lists a bucket"
    version = iam.get_policy_version(PolicyArn=created["Arn"], VersionId="v1")["PolicyVersion"]
    assert version["Document"] == S3_LIST and version["IsDefaultVersion"] is True
    assert fails(iam.create_policy, PolicyName=name, Path="/team/", PolicyDocument=json.dumps(S3_LIST)) == (
        "EntityAlreadyExists", 409, f"A policy called {name} already exists. Duplicate names are not allowed.")


@pytest.mark.stratus_only  # moto_server lists versions oldest first (AWS: newest first, snapshot "list-versions")
# and answers "Policy version not found" for a missing version
def test_policy_versions(iam):
    arn = new_policy(iam)["Arn"]
    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(SQS_ALL), SetAsDefault=True)
    assert (v2["PolicyVersion"]["VersionId"], v2["PolicyVersion"]["IsDefaultVersion"]) == ("v2", True)
    v3 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(S3_LIST))
    assert (v3["PolicyVersion"]["VersionId"], v3["PolicyVersion"]["IsDefaultVersion"]) == ("v3", False)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["Document"] == SQS_ALL
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [("v3", False), ("v2", True), ("v1", False)]

    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"
    assert fails(iam.delete_policy_version, PolicyArn=arn, VersionId="v1") == (
        "DeleteConflict", 409, "Cannot delete the default version of a policy.")
    iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v2", "v1"]
    assert fails(iam.get_policy_version, PolicyArn=arn, VersionId="v9") == (
        "NoSuchEntity", 404, f"Policy {arn} version v9 does not exist or is not attachable.")


def test_policy_version_limit(iam):
    arn = new_policy(iam)["Arn"]
    for _ in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(SQS_ALL))
    assert fails(iam.create_policy_version, PolicyArn=arn, PolicyDocument=json.dumps(SQS_ALL)) == (
        "LimitExceeded", 409,
        "A managed policy can have up to 5 versions. Before you create a new version, you must delete an "
        "existing version.")
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    v6 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(SQS_ALL))["PolicyVersion"]
    assert v6["VersionId"] == "v6"


def test_attach_detach_everywhere(iam):
    arn = new_policy(iam)["Arn"]
    name = arn.rsplit("/", 1)[1]
    user = new_user(iam)["UserName"]
    role = new_role(iam)["RoleName"]
    group = iam.create_group(GroupName=unique("g"))["Group"]["GroupName"]
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3
    want = [{"PolicyName": name, "PolicyArn": arn}]
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == want
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == want
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"] == want
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in entities["PolicyUsers"]] == [user]
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == [role]
    assert [g["GroupName"] for g in entities["PolicyGroups"]] == [group]
    only_roles = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role")
    assert only_roles.get("PolicyUsers", []) == [] and only_roles.get("PolicyGroups", []) == []
    assert [r["RoleName"] for r in only_roles["PolicyRoles"]] == [role]

    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    iam.delete_policy(PolicyArn=arn)
    assert fails(iam.get_policy, PolicyArn=arn)[:2] == ("NoSuchEntity", 404)


@pytest.mark.stratus_only  # moto_server answers NoSuchEntity for a malformed ARN (AWS: ValidationError),
# deletes attached policies and counts a repeated attachment twice
def test_attach_errors_and_delete_conflict(iam, acct):
    role = new_role(iam)["RoleName"]
    missing = f"arn:aws:iam::{acct}:policy/nonexistent"
    assert fails(iam.attach_role_policy, RoleName=role, PolicyArn=missing) == (
        "NoSuchEntity", 404, f"Policy {missing} does not exist or is not attachable.")
    arn = new_policy(iam)["Arn"]
    assert fails(iam.detach_role_policy, RoleName=role, PolicyArn=arn) == (
        "NoSuchEntity", 404, f"Policy {arn} was not found.")
    assert fails(iam.attach_role_policy, RoleName=role, PolicyArn="notanarn-but-long-enough") == (
        "ValidationError", 400, "ARN notanarn-but-long-enough is not valid.")
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)  # attaching again changes nothing
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    assert fails(iam.delete_policy, PolicyArn=arn) == (
        "DeleteConflict", 409, "Cannot delete a policy attached to entities.")
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)


def test_list_policies_scope_only_attached_and_pages(iam):
    prefix = f"/{unique('p')}/"
    arns = sorted(new_policy(iam, Path=prefix)["Arn"] for _ in range(3))
    local = iam.list_policies(Scope="Local", PathPrefix=prefix)
    assert sorted(p["Arn"] for p in local["Policies"]) == arns
    first = iam.list_policies(Scope="Local", PathPrefix=prefix, MaxItems=2)
    assert first["IsTruncated"] is True and len(first["Policies"]) == 2
    rest = iam.list_policies(Scope="Local", PathPrefix=prefix, MaxItems=2, Marker=first["Marker"])
    assert rest["IsTruncated"] is False
    assert sorted(p["Arn"] for p in first["Policies"] + rest["Policies"]) == arns

    role = new_role(iam)["RoleName"]
    iam.attach_role_policy(RoleName=role, PolicyArn=arns[1])
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    attached_local = iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"]
    assert [p["Arn"] for p in attached_local] == [arns[1]]
    attached_aws = iam.list_policies(Scope="AWS", OnlyAttached=True)["Policies"]
    assert [p["Arn"] for p in attached_aws] == ["arn:aws:iam::aws:policy/AdministratorAccess"]
    attached_all = sorted(p["Arn"] for p in iam.list_policies(Scope="All", OnlyAttached=True)["Policies"])
    assert attached_all == sorted([arns[1], "arn:aws:iam::aws:policy/AdministratorAccess"])
    aws_service_role = [p["PolicyName"] for p in iam.get_paginator("list_policies").paginate(
        Scope="AWS", PathPrefix="/service-role/").build_full_result()["Policies"]]
    assert "AWSLambdaBasicExecutionRole" in aws_service_role
    assert not any(p["Arn"] in arns for p in iam.list_policies(Scope="AWS", PathPrefix=prefix)["Policies"])


AWS_MANAGED = [
    ("AdministratorAccess", "/"),
    ("AWSLambdaBasicExecutionRole", "/service-role/"),
    ("AWSLambdaSQSQueueExecutionRole", "/service-role/"),
]


@pytest.mark.parametrize("name,path", AWS_MANAGED)
def test_aws_managed_policy_attach_and_metadata(iam, name, path):
    arn = f"arn:aws:iam::aws:policy{path}{name}"
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert (policy["PolicyName"], policy["Arn"], policy["Path"]) == (name, arn, path)
    assert re.fullmatch(r"v[0-9]+", policy["DefaultVersionId"]) and policy["IsAttachable"] is True
    role = new_role(iam)["RoleName"]
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == [
        {"PolicyName": name, "PolicyArn": arn}]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    assert version["IsDefaultVersion"] is True
    assert version["Document"]["Version"] == "2012-10-17" and version["Document"]["Statement"]


@pytest.mark.stratus_only  # moto_server gives AWS managed policies random PolicyIds and no Description
def test_aws_managed_policy_real_ids_and_documents(iam):
    admin = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")["Policy"]
    assert admin["PolicyId"] == "ANPAIWMBCKSKIEE64ZLYK"
    assert admin["Description"] == "Provides full access to AWS services and resources."
    basic_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    basic = iam.get_policy(PolicyArn=basic_arn)["Policy"]
    assert basic["PolicyId"] == "ANPAJNCQGXC42545SKXIK"
    assert basic["Description"] == "Provides write permissions to CloudWatch Logs."
    doc = iam.get_policy_version(PolicyArn=basic_arn, VersionId="v1")["PolicyVersion"]["Document"]
    assert doc == {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": "*"}]}
    sqs_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
    sqs_doc = iam.get_policy_version(
        PolicyArn=sqs_arn, VersionId=iam.get_policy(PolicyArn=sqs_arn)["Policy"]["DefaultVersionId"],
    )["PolicyVersion"]["Document"]
    actions = sqs_doc["Statement"][0]["Action"]
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} <= set(actions)


# ---------------------------------------------------------------------------
# Access keys
# ---------------------------------------------------------------------------
def test_access_key_lifecycle(iam):
    user = new_user(iam)["UserName"]
    assert iam.list_access_keys(UserName=user)["AccessKeyMetadata"] == []
    key = iam.create_access_key(UserName=user)["AccessKey"]
    assert ACCESS_KEY_ID.match(key["AccessKeyId"]), key["AccessKeyId"]
    assert len(key["SecretAccessKey"]) == 40
    assert (key["Status"], key["UserName"]) == ("Active", user)
    listed = iam.list_access_keys(UserName=user)
    assert [(k["AccessKeyId"], k["Status"], k["UserName"]) for k in listed["AccessKeyMetadata"]] == [
        (key["AccessKeyId"], "Active", user)]
    assert "SecretAccessKey" not in listed["AccessKeyMetadata"][0]
    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert iam.list_access_keys(UserName=user)["AccessKeyMetadata"][0]["Status"] == "Inactive"
    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Active")
    assert iam.list_access_keys(UserName=user)["AccessKeyMetadata"][0]["Status"] == "Active"
    iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    assert iam.list_access_keys(UserName=user)["AccessKeyMetadata"] == []
    assert fails(iam.update_access_key, UserName=user, AccessKeyId="AKIAIOSFODNN7EXAMPLE",
                 Status="Inactive")[:2] == ("NoSuchEntity", 404)


@pytest.mark.stratus_only  # moto_server drops the final period of the message and IsTruncated
def test_access_key_errors(iam):
    user = new_user(iam)["UserName"]
    assert iam.list_access_keys(UserName=user)["IsTruncated"] is False
    assert fails(iam.update_access_key, UserName=user, AccessKeyId="AKIAIOSFODNN7EXAMPLE", Status="Inactive") == (
        "NoSuchEntity", 404, "The Access Key with id AKIAIOSFODNN7EXAMPLE cannot be found.")
    assert fails(iam.create_access_key, UserName="nonexistent-user") == (
        "NoSuchEntity", 404, "The user with name nonexistent-user cannot be found.")


def test_access_key_limit(iam):
    user = new_user(iam)["UserName"]
    keys = [iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"] for _ in range(2)]
    assert len(set(keys)) == 2
    assert fails(iam.create_access_key, UserName=user) == (
        "LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2")
    iam.delete_access_key(UserName=user, AccessKeyId=keys[0])
    iam.create_access_key(UserName=user)


def test_access_key_last_used_before_use(iam):
    user = new_user(iam)["UserName"]
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    got = iam.get_access_key_last_used(AccessKeyId=key)
    assert got["UserName"] == user
    assert got["AccessKeyLastUsed"]["Region"] == "N/A"
    assert got["AccessKeyLastUsed"]["ServiceName"] == "N/A"
    assert "LastUsedDate" not in got["AccessKeyLastUsed"]


@pytest.mark.stratus_only  # moto_server knows neither the per-service limit nor Keyspaces and Bedrock
def test_service_specific_credentials(iam, acct):
    user = new_user(iam)["UserName"]
    git = "codecommit.amazonaws.com"
    c = iam.create_service_specific_credential(UserName=user, ServiceName=git)["ServiceSpecificCredential"]
    assert (c["UserName"], c["ServiceName"], c["Status"]) == (user, git, "Active")
    assert c["ServiceUserName"] == f"{user}-at-{acct}"
    assert re.fullmatch(r"ACCA[A-Z0-9]{17}", c["ServiceSpecificCredentialId"]), c
    assert len(c["ServicePassword"]) == 44
    second = iam.create_service_specific_credential(UserName=user, ServiceName=git)["ServiceSpecificCredential"]
    assert second["ServicePassword"] != c["ServicePassword"]
    assert fails(iam.create_service_specific_credential, UserName=user, ServiceName=git) == (
        "LimitExceeded", 409, "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2")
    # The limit is per service; Bedrock's are API keys with an alias and a secret, and may expire.
    iam.create_service_specific_credential(UserName=user, ServiceName="cassandra.amazonaws.com")
    key = iam.create_service_specific_credential(UserName=user, ServiceName="bedrock.amazonaws.com",
                                                 CredentialAgeDays=30)["ServiceSpecificCredential"]
    assert key["ServiceCredentialAlias"].startswith("BedrockAPIKey-") and key["ServiceCredentialAlias"].endswith(
        f"-at-{acct}")
    assert len(key["ServiceCredentialSecret"]) > 44 and "ServicePassword" not in key
    assert (key["ExpirationDate"] - key["CreateDate"]).days == 30
    assert fails(iam.create_service_specific_credential, UserName=user, ServiceName="s3.amazonaws.com")[:2] == (
        "NotSupportedService", 404)
    assert fails(iam.create_service_specific_credential, UserName="nobody-here", ServiceName=git) == (
        "NoSuchEntity", 404, "The user with name nobody-here cannot be found.")
    # Listing shows no secrets, filtered by service.
    listed = iam.list_service_specific_credentials(UserName=user, ServiceName=git)["ServiceSpecificCredentials"]
    assert {x["ServiceSpecificCredentialId"] for x in listed} == {
        c["ServiceSpecificCredentialId"], second["ServiceSpecificCredentialId"]}
    assert all("ServicePassword" not in x for x in listed)
    assert len(iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]) == 4
    # Reset gives a new password; update changes the status.
    cid = c["ServiceSpecificCredentialId"]
    reset = iam.reset_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cid)
    assert reset["ServiceSpecificCredential"]["ServicePassword"] not in (c["ServicePassword"], "")
    iam.update_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cid, Status="Inactive")
    listed = iam.list_service_specific_credentials(UserName=user, ServiceName=git)["ServiceSpecificCredentials"]
    assert {x["ServiceSpecificCredentialId"]: x["Status"] for x in listed} == {
        cid: "Inactive", second["ServiceSpecificCredentialId"]: "Active"}
    # A user with credentials cannot be deleted.
    assert fails(iam.delete_user, UserName=user)[:2] == ("DeleteConflict", 409)
    for x in iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]:
        iam.delete_service_specific_credential(UserName=user, ServiceSpecificCredentialId=x["ServiceSpecificCredentialId"])
    assert iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"] == []
    assert fails(iam.delete_service_specific_credential, UserName=user, ServiceSpecificCredentialId=cid)[:2] == (
        "NoSuchEntity", 404)
    iam.delete_user(UserName=user)


@pytest.mark.stratus_only  # moto_server answers GetUser without UserName with a made-up user, not the root
def test_get_user_without_name_is_the_caller(iam, target, acct):
    # Root credentials: AWS answers UserId = account id and the root ARN, no UserName
    # (recorded in grycap/scar#180: {'UserId': '7127…', 'Arn': 'arn:aws:iam::7127…:root', 'CreateDate': …}).
    root = iam.get_user()["User"]
    assert root["UserId"] == acct and root["Arn"] == f"arn:aws:iam::{acct}:root"
    assert "UserName" not in root
    user = new_user(iam)
    key = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    me = make_iam(target.endpoint, key["AccessKeyId"], key["SecretAccessKey"]).get_user()["User"]
    assert (me["UserName"], me["UserId"], me["Arn"]) == (user["UserName"], user["UserId"], user["Arn"])


# ---------------------------------------------------------------------------
# Policy documents are validated on write
# ---------------------------------------------------------------------------
def _stmt(**fields) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [fields]})


MALFORMED = [
    pytest.param("This is not a json document", "Syntax errors in policy.", id="not-json"),
    pytest.param(_stmt(Action="s3:ListBucket", Resource="*"), "Syntax errors in policy.", id="no-effect"),
    pytest.param(_stmt(Effect="invalid", Action="s3:ListBucket", Resource="*"), "Syntax errors in policy.",
                 id="bad-effect"),
    pytest.param(_stmt(Effect="Allow", Resource="*"), "Policy statement must contain actions.", id="no-action"),
    pytest.param(_stmt(Effect="Allow", Action="s3:ListBucket"), "Policy statement must contain resources.",
                 id="no-resource"),
    pytest.param(json.dumps({"Version": "2008-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}),
        "Policy document must be version 2012-10-17 or greater.", id="old-version"),
    pytest.param(_stmt(Effect="Allow", Action="invalid", Resource="*"),
                 "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.", id="no-vendor"),
    pytest.param(json.dumps({"Version": "2012-10-17"}), "Syntax errors in policy.", id="no-statement"),
    # moto_server accepts a Principal in an identity policy
    pytest.param(_stmt(Effect="Allow", Principal="*", Action="s3:ListBucket", Resource="*"),
                 "Policy document should not specify a principal.", id="principal", marks=pytest.mark.stratus_only),
]


@pytest.mark.parametrize("doc,message", MALFORMED)
def test_create_policy_rejects_malformed_documents(iam, doc, message):
    name = unique("p")
    assert fails(iam.create_policy, PolicyName=name, PolicyDocument=doc) == (
        "MalformedPolicyDocument", 400, message)
    assert name not in [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]


def test_inline_and_version_documents_are_validated(iam):
    user = new_user(iam)["UserName"]
    role = new_role(iam)["RoleName"]
    no_effect = _stmt(Action="s3:ListBucket", Resource="*")
    assert fails(iam.put_user_policy, UserName=user, PolicyName="p", PolicyDocument="{not json")[:2] == (
        "MalformedPolicyDocument", 400)
    assert fails(iam.put_role_policy, RoleName=role, PolicyName="p", PolicyDocument=no_effect)[:2] == (
        "MalformedPolicyDocument", 400)
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == []
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == []
    arn = new_policy(iam)["Arn"]
    assert fails(iam.create_policy_version, PolicyArn=arn, PolicyDocument="{")[:2] == (
        "MalformedPolicyDocument", 400)
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v1"]


# ---------------------------------------------------------------------------
# IAM under --auth verify: state per account, the caller of GetUser
# ---------------------------------------------------------------------------
ACCOUNT_A = ("AKIDIAMADMINA", "secret-a", "111111111111")
ACCOUNT_B = ("AKIDIAMADMINB", "secret-b", "222222222222")


@pytest.fixture(scope="module")
def verify_server(tmp_path_factory):
    cfg = tmp_path_factory.mktemp("iam-verify") / "stratus.toml"
    lines = []
    for key, secret, account in (ACCOUNT_A, ACCOUNT_B):
        lines += ["[[credentials]]", f'access_key_id = "{key}"', f'secret_access_key = "{secret}"',
                  f'account = "{account}"', "admin = true", ""]
    cfg.write_text("\n".join(lines))
    srv = ServerProcess(in_memory=True, log_dir=tempfile.mkdtemp(prefix="stratus-iam-verify-"),
                        extra_args=["--auth", "verify", "--config", str(cfg)])
    srv.start()
    yield srv
    srv.kill()


@pytest.mark.stratus_only
def test_verify_mode_iam_is_per_account(verify_server):
    a = make_iam(verify_server.endpoint, *ACCOUNT_A[:2])
    b = make_iam(verify_server.endpoint, *ACCOUNT_B[:2])
    name = unique("u")
    user = a.create_user(UserName=name)["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT_A[2]}:user/{name}"
    assert fails(b.get_user, UserName=name) == ("NoSuchEntity", 404, f"The user with name {name} cannot be found.")
    b.create_user(UserName=name)  # the same name in another account is another user
    assert b.get_user(UserName=name)["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT_B[2]}:user/{name}"
    root = a.get_user()["User"]
    assert (root["UserId"], root["Arn"]) == (ACCOUNT_A[2], f"arn:aws:iam::{ACCOUNT_A[2]}:root")
    key = a.create_access_key(UserName=name)["AccessKey"]
    me = make_iam(verify_server.endpoint, key["AccessKeyId"], key["SecretAccessKey"]).get_user()["User"]
    assert (me["UserName"], me["UserId"]) == (name, user["UserId"])
    assert fails(make_iam(verify_server.endpoint, key["AccessKeyId"], "wrong-secret").get_user)[:2] == (
        "SignatureDoesNotMatch", 403)


@pytest.mark.stratus_only  # decided by Stratus's evaluation engine; moto's simulator differs
def test_simulate_principal_and_custom_policies(iam, acct):
    user = iam.create_user(UserName=unique("u"))["User"]
    queue = f"arn:aws:sqs:us-east-1:{acct}:jobs"
    iam.put_user_policy(UserName=user["UserName"], PolicyName="send", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": queue}]}))
    group = iam.create_group(GroupName=unique("g"))["Group"]["GroupName"]
    iam.put_group_policy(GroupName=group, PolicyName="no-delete", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sqs:DeleteQueue", "Resource": "*"}]}))
    iam.add_user_to_group(GroupName=group, UserName=user["UserName"])
    got = iam.simulate_principal_policy(PolicySourceArn=user["Arn"],
                                        ActionNames=["sqs:SendMessage", "sqs:DeleteQueue", "sns:Publish"],
                                        ResourceArns=[queue])["EvaluationResults"]
    assert [(r["EvalActionName"], r["EvalResourceName"], r["EvalDecision"]) for r in got] == [
        ("sqs:SendMessage", queue, "allowed"), ("sqs:DeleteQueue", queue, "explicitDeny"),
        ("sns:Publish", queue, "implicitDeny")]
    custom = iam.simulate_custom_policy(
        PolicyInputList=[json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
            "Condition": {"StringEquals": {"aws:username": "alice"}}}]})],
        ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::b/k"],
        ContextEntries=[{"ContextKeyName": "aws:username", "ContextKeyValues": ["alice"], "ContextKeyType": "string"}],
    )["EvaluationResults"]
    assert [r["EvalDecision"] for r in custom] == ["allowed"]
    with pytest.raises(ClientError) as e:
        iam.simulate_custom_policy(PolicyInputList=["{not json"], ActionNames=["s3:GetObject"])
    assert e.value.response["Error"]["Code"] == "MalformedPolicyDocument"


@pytest.mark.stratus_only  # not checked against moto_server
def test_get_account_authorization_details(iam, acct):
    user = iam.create_user(UserName=unique("u"))["User"]["UserName"]
    iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}))
    group = iam.create_group(GroupName=unique("g"))["Group"]["GroupName"]
    iam.add_user_to_group(GroupName=group, UserName=user)
    role = iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["RoleName"]
    basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    iam.attach_role_policy(RoleName=role, PolicyArn=basic)
    mine = iam.create_policy(PolicyName=unique("p"), PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))["Policy"]
    d = iam.get_account_authorization_details()
    u = next(x for x in d["UserDetailList"] if x["UserName"] == user)
    assert u["GroupList"] == [group]
    assert [(p["PolicyName"], p["PolicyDocument"]["Statement"][0]["Action"]) for p in u["UserPolicyList"]] == [
        ("inline", "sqs:*")]
    r = next(x for x in d["RoleDetailList"] if x["RoleName"] == role)
    assert r["AttachedManagedPolicies"] == [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": basic}]
    assert r["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    by_arn = {p["Arn"]: p for p in d["Policies"]}
    assert by_arn[basic]["AttachmentCount"] == 1
    assert by_arn[mine["Arn"]]["PolicyVersionList"][0]["IsDefaultVersion"] is True
    only_roles = iam.get_account_authorization_details(Filter=["Role"])
    assert only_roles["UserDetailList"] == [] and any(x["RoleName"] == role for x in only_roles["RoleDetailList"])
