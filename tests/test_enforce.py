"""`--auth enforce`: every request is authorized by the caller's IAM policies, with AWS's
evaluation logic and each service's wording of the denial.

Covered: the configured root credential may do anything; an IAM user with no policy may do
nothing (but ask who it is); inline, managed (customer and AWS) and group policies grant at
once and stop granting at once; an explicit Deny wins; permissions boundaries and session
policies limit; role sessions act with their role's policies; conditions on global keys;
SQS (AccessDenied), SNS (AuthorizationError), Lambda (AccessDeniedException), IAM and S3
(AccessDenied) denials with AWS's "User: … is not authorized to perform: … because …" text;
services acting for someone: iam:PassRole, event source pollers and destinations acting as the
function's role, S3 and SNS delivering only where the destination's policy lets them.
"""

from __future__ import annotations

import json
import tempfile

import pytest

from sqs_helpers import ServerProcess, unique
from test_lambda import zip_of
from test_sts import creds_client, fails, make_client, trust

pytestmark = pytest.mark.stratus_only

ROOT = ("AKIDENFORCEROOT00001", "enforce-root-secret", "123456789012")
ACCT = ROOT[2]
OTHER = ("AKIDENFORCEOTHER0001", "enforce-other-secret", "444455556666")  # another account's root


def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*") -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    cfg = tmp_path_factory.mktemp("enforce") / "stratus.toml"
    cfg.write_text("\n".join(["[[credentials]]", f'access_key_id = "{ROOT[0]}"', f'secret_access_key = "{ROOT[1]}"',
                              f'account = "{ACCT}"', "admin = true",
                              "[[credentials]]", f'access_key_id = "{OTHER[0]}"', f'secret_access_key = "{OTHER[1]}"',
                              f'account = "{OTHER[2]}"', ""]))
    s = ServerProcess(in_memory=True, log_dir=tempfile.mkdtemp(prefix="stratus-enforce-"),
                      extra_args=["--auth", "enforce", "--config", str(cfg)])
    s.start()
    yield s
    s.kill()


@pytest.fixture
def root(srv):
    return lambda service: make_client(service, srv.endpoint, *ROOT[:2])


@pytest.fixture
def user(srv, root):
    """A new IAM user with a key: (user, a client factory signed with its key)."""
    iam = root("iam")
    u = iam.create_user(UserName=unique("u"))["User"]
    key = iam.create_access_key(UserName=u["UserName"])["AccessKey"]
    return u, lambda service: creds_client(service, srv.endpoint, key)


def queue(root) -> tuple[str, str]:
    name = unique("q")
    url = root("sqs").create_queue(QueueName=name)["QueueUrl"]
    return url, f"arn:aws:sqs:us-east-1:{ACCT}:{name}"


def denied(user_arn, action, resource, why="no identity-based policy allows") -> str:
    return f"User: {user_arn} is not authorized to perform: {action} on resource: {resource} because {why} the {action} action"


def test_root_may_do_anything_and_everyone_may_ask_who_they_are(root, user):
    url, _ = queue(root)
    root("sqs").send_message(QueueUrl=url, MessageBody="x")
    u, as_user = user
    assert as_user("sts").get_caller_identity()["Arn"] == u["Arn"]


def test_a_user_without_policies_is_denied_with_the_services_wording(root, user):
    u, as_user = user
    url, arn = queue(root)
    assert fails(as_user("sqs").send_message, QueueUrl=url, MessageBody="x") == (
        "AccessDenied", 403, denied(u["Arn"], "sqs:SendMessage", arn))
    code, status, message = fails(as_user("sns").list_topics)
    assert (code, status) == ("AuthorizationError", 403) and "SNS:ListTopics" in message
    code, status, _ = fails(as_user("lambda").list_functions)
    assert (code, status) == ("AccessDeniedException", 403)
    assert fails(as_user("iam").create_user, UserName=unique("x"))[:2] == ("AccessDenied", 403)


def test_inline_policy_grants_at_once_and_stops_at_once(root, user):
    u, as_user = user
    url, arn = queue(root)
    other, _ = queue(root)
    iam = root("iam")
    iam.put_user_policy(UserName=u["UserName"], PolicyName="send", PolicyDocument=doc(allow("sqs:SendMessage", arn)))
    as_user("sqs").send_message(QueueUrl=url, MessageBody="granted")
    assert fails(as_user("sqs").send_message, QueueUrl=other, MessageBody="x")[0] == "AccessDenied"
    # Batches are authorized as their single action.
    as_user("sqs").send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "b"}])
    iam.delete_user_policy(UserName=u["UserName"], PolicyName="send")
    assert fails(as_user("sqs").send_message, QueueUrl=url, MessageBody="x")[0] == "AccessDenied"


def test_explicit_deny_wins(root, user):
    u, as_user = user
    url, arn = queue(root)
    iam = root("iam")
    iam.put_user_policy(UserName=u["UserName"], PolicyName="all", PolicyDocument=doc(allow("sqs:*")))
    as_user("sqs").send_message(QueueUrl=url, MessageBody="x")
    iam.put_user_policy(UserName=u["UserName"], PolicyName="no", PolicyDocument=doc(deny("sqs:Send*", arn)))
    assert fails(as_user("sqs").send_message, QueueUrl=url, MessageBody="x") == (
        "AccessDenied", 403,
        f"User: {u['Arn']} is not authorized to perform: sqs:SendMessage on resource: {arn} "
        "with an explicit deny in an identity-based policy")
    as_user("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])


def test_managed_and_group_policies(root, user):
    u, as_user = user
    url, _ = queue(root)
    iam = root("iam")
    read_only = "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"
    iam.attach_user_policy(UserName=u["UserName"], PolicyArn=read_only)
    assert as_user("sqs").get_queue_url(QueueName=url.rsplit("/", 1)[1])["QueueUrl"] == url
    assert fails(as_user("sqs").send_message, QueueUrl=url, MessageBody="x")[0] == "AccessDenied"
    iam.detach_user_policy(UserName=u["UserName"], PolicyArn=read_only)
    assert fails(as_user("sqs").get_queue_attributes, QueueUrl=url)[0] == "AccessDenied"
    # A customer managed policy attached to a group the user is in; a new default version
    # applies on the next request.
    policy = iam.create_policy(PolicyName=unique("p"), PolicyDocument=doc(allow("sqs:SendMessage")))["Policy"]
    group = iam.create_group(GroupName=unique("g"))["Group"]["GroupName"]
    iam.attach_group_policy(GroupName=group, PolicyArn=policy["Arn"])
    assert fails(as_user("sqs").send_message, QueueUrl=url, MessageBody="x")[0] == "AccessDenied"
    iam.add_user_to_group(GroupName=group, UserName=u["UserName"])
    as_user("sqs").send_message(QueueUrl=url, MessageBody="via group")
    iam.create_policy_version(PolicyArn=policy["Arn"], PolicyDocument=doc(allow("sqs:ListQueues")), SetAsDefault=True)
    assert fails(as_user("sqs").send_message, QueueUrl=url, MessageBody="x")[0] == "AccessDenied"
    as_user("sqs").list_queues()


def test_permissions_boundary_limits_what_policies_grant(root, user):
    u, as_user = user
    url, arn = queue(root)
    iam = root("iam")
    boundary = iam.create_policy(PolicyName=unique("b"), PolicyDocument=doc(allow("sqs:GetQueueAttributes")))["Policy"]
    iam.put_user_policy(UserName=u["UserName"], PolicyName="all", PolicyDocument=doc(allow("sqs:*")))
    iam.put_user_permissions_boundary(UserName=u["UserName"], PermissionsBoundary=boundary["Arn"])
    as_user("sqs").get_queue_attributes(QueueUrl=url)
    assert fails(as_user("sqs").send_message, QueueUrl=url, MessageBody="x") == (
        "AccessDenied", 403, denied(u["Arn"], "sqs:SendMessage", arn, "no permissions boundary allows"))
    iam.delete_user_permissions_boundary(UserName=u["UserName"])
    as_user("sqs").send_message(QueueUrl=url, MessageBody="x")


def test_role_sessions_act_with_the_role_and_session_policies(srv, root, user):
    u, as_user = user
    url, arn = queue(root)
    iam = root("iam")
    role = iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument=trust(u["Arn"]))["Role"]
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="sqs", PolicyDocument=doc(allow("sqs:*")))
    # The user needs no identity policy for a same-account role whose trust names it.
    creds = as_user("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="worker")["Credentials"]
    as_role = lambda service: creds_client(service, srv.endpoint, creds)  # noqa: E731
    as_role("sqs").send_message(QueueUrl=url, MessageBody="as role")
    assert fails(as_role("sns").list_topics)[0] == "AuthorizationError"
    session = as_user("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="narrow",
                                         Policy=doc(allow("sqs:GetQueueAttributes")))["Credentials"]
    narrow = creds_client("sqs", srv.endpoint, session)
    narrow.get_queue_attributes(QueueUrl=url)
    session_arn = f"arn:aws:sts::{ACCT}:assumed-role/{role['RoleName']}/narrow"
    assert fails(narrow.send_message, QueueUrl=url, MessageBody="x") == (
        "AccessDenied", 403, denied(session_arn, "sqs:SendMessage", arn, "no session policy allows"))
    # Another user, not named in the trust policy, may not assume the role.
    other = iam.create_user(UserName=unique("u"))["User"]
    key = iam.create_access_key(UserName=other["UserName"])["AccessKey"]
    assert fails(creds_client("sts", srv.endpoint, key).assume_role, RoleArn=role["Arn"],
                 RoleSessionName="intruder")[:2] == ("AccessDenied", 403)


def test_conditions_on_global_keys(root, user):
    u, as_user = user
    url, _ = queue(root)
    iam = root("iam")
    iam.put_user_policy(UserName=u["UserName"], PolicyName="region", PolicyDocument=doc(
        allow("sqs:SendMessage", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}),
        allow("sqs:GetQueueAttributes", Condition={"StringEquals": {"aws:username": u["UserName"]}})))
    as_user("sqs").get_queue_attributes(QueueUrl=url)
    # The queue lives in us-east-1, where the condition does not hold.
    assert fails(as_user("sqs").send_message, QueueUrl=url, MessageBody="x")[0] == "AccessDenied"


def test_queue_policy_grants_and_denies_in_the_account(root, user):
    u, as_user = user
    url, arn = queue(root)
    sqs = root("sqs")
    # No identity policy: a queue policy naming the user is enough in the same account.
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": u["Arn"]}, "Action": "sqs:SendMessage", "Resource": arn}]})})
    as_user("sqs").send_message(QueueUrl=url, MessageBody="by queue policy")
    assert fails(as_user("sqs").receive_message, QueueUrl=url)[0] == "AccessDenied"
    # An explicit deny in the queue policy wins over an identity policy's allow.
    root("iam").put_user_policy(UserName=u["UserName"], PolicyName="all", PolicyDocument=doc(allow("sqs:*")))
    as_user("sqs").receive_message(QueueUrl=url)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": {"AWS": u["Arn"]}, "Action": "sqs:ReceiveMessage", "Resource": arn}]})})
    code, status, message = fails(as_user("sqs").receive_message, QueueUrl=url)
    assert (code, status) == ("AccessDenied", 403) and "explicit deny in a resource-based policy" in message, message
    as_user("sqs").send_message(QueueUrl=url, MessageBody="identity policy still allows this")


def test_cross_account_access_needs_the_queue_policy(srv, root):
    url, arn = queue(root)
    other = make_client("sqs", srv.endpoint, *OTHER[:2])
    assert fails(other.send_message, QueueUrl=url, MessageBody="x")[:2] == ("AccessDenied", 403)
    root("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER[2]}:root"},
             "Action": "sqs:SendMessage", "Resource": arn}]})})
    other.send_message(QueueUrl=url, MessageBody="from another account")
    assert fails(other.purge_queue, QueueUrl=url)[:2] == ("AccessDenied", 403)
    got = root("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in got] == ["from another account"]


def test_s3_objects_by_their_arns(root, user):
    u, as_user = user
    bucket = unique("b").lower()
    root("s3").create_bucket(Bucket=bucket)
    s3 = as_user("s3")
    assert fails(s3.put_object, Bucket=bucket, Key="in/a", Body=b"x")[:2] == ("AccessDenied", 403)
    root("iam").put_user_policy(UserName=u["UserName"], PolicyName="s3", PolicyDocument=doc(
        allow("s3:PutObject", f"arn:aws:s3:::{bucket}/in/*"), allow("s3:ListBucket", f"arn:aws:s3:::{bucket}")))
    s3.put_object(Bucket=bucket, Key="in/a", Body=b"x")
    assert fails(s3.put_object, Bucket=bucket, Key="out/a", Body=b"x")[:2] == ("AccessDenied", 403)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["in/a"]
    code, status, message = fails(s3.get_object, Bucket=bucket, Key="in/a")
    assert (code, status) == ("AccessDenied", 403) and "s3:GetObject" in message


def test_sns_delivers_to_a_queue_only_when_its_policy_lets_sns_send(root):
    sns, sqs = root("sns"), root("sqs")
    url, arn = queue(root)
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, Message="not allowed yet")
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
    sns.publish(TopicArn=topic, Message="allowed")
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    assert [m["Body"] for m in got] == ["allowed"]
    # Another topic is not the one the policy names.
    other = sns.create_topic(Name=unique("t"))["TopicArn"]
    sns.subscribe(TopicArn=other, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    sns.publish(TopicArn=other, Message="wrong topic")
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)


FN_CALLS_AWS = zip_of({"app.py": """
import boto3
from botocore.exceptions import ClientError
def handler(event, context):
    out = {"me": boto3.client("sts").get_caller_identity()["Arn"]}
    sqs = boto3.client("sqs")
    for name, url in event["queues"].items():
        try:
            sqs.send_message(QueueUrl=url, MessageBody="from the function")
            out[name] = "sent"
        except ClientError as e:
            out[name] = e.response["Error"]["Code"]
    return out
"""})


def test_functions_run_with_their_roles_credentials(root):
    allowed_url, allowed_arn = queue(root)
    other_url, _ = queue(root)
    iam, lam = root("iam"), root("lambda")
    role = iam.create_role(RoleName=unique("fn-role"), AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="send",
                        PolicyDocument=doc(allow("sqs:SendMessage", allowed_arn)))
    name = unique("fn")
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=role["Arn"], Handler="app.handler",
                        Code={"ZipFile": FN_CALLS_AWS}, Timeout=30)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    r = lam.invoke(FunctionName=name, Payload=json.dumps({"queues": {"allowed": allowed_url, "other": other_url}}))
    out = json.loads(r["Payload"].read())
    assert "FunctionError" not in r, out
    assert out == {"me": f"arn:aws:sts::{ACCT}:assumed-role/{role['RoleName']}/{name}",
                   "allowed": "sent", "other": "AccessDenied"}
    got = root("sqs").receive_message(QueueUrl=allowed_url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in got] == ["from the function"]


def test_create_function_needs_a_role_lambda_may_assume(root):
    iam, lam = root("iam"), root("lambda")
    not_lambda = iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ACCT}:root"))["Role"]
    expected = ("InvalidParameterValueException", 400, "The role defined for the function cannot be assumed by Lambda.")
    for role in (not_lambda["Arn"], f"arn:aws:iam::{ACCT}:role/{unique('missing')}"):
        assert fails(lam.create_function, FunctionName=unique("fn"), Runtime="python3.11", Role=role,
                     Handler="app.handler", Code={"ZipFile": FN_CALLS_AWS}) == expected


def test_bucket_policies_grant_other_accounts_and_anonymous_readers_and_deny(srv, root, user):
    import requests
    u, as_user = user
    s3 = root("s3")
    bucket = unique("b").lower()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="public/a.txt", Body=b"hello")
    s3.put_object(Bucket=bucket, Key="private/b.txt", Body=b"secret")
    other = make_client("s3", srv.endpoint, *OTHER[:2])
    url = f"{srv.endpoint}/{bucket}/public/a.txt"
    assert fails(other.get_object, Bucket=bucket, Key="public/a.txt")[:2] == ("AccessDenied", 403)
    assert requests.get(url, timeout=5).status_code == 403
    # Block Public Access, on for new buckets, refuses the public grant below until turned off.
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/public/*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER[2]}:root"}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/private/*"},
        {"Effect": "Deny", "Principal": {"AWS": u["Arn"]}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/private/*"}]}))
    r = requests.get(url, timeout=5)
    assert (r.status_code, r.content) == (200, b"hello")
    assert requests.get(f"{srv.endpoint}/{bucket}/private/b.txt", timeout=5).status_code == 403
    assert other.get_object(Bucket=bucket, Key="private/b.txt")["Body"].read() == b"secret"
    assert fails(other.put_object, Bucket=bucket, Key="private/c.txt", Body=b"x")[:2] == ("AccessDenied", 403)
    root("iam").put_user_policy(UserName=u["UserName"], PolicyName="s3", PolicyDocument=doc(allow("s3:GetObject")))
    assert as_user("s3").get_object(Bucket=bucket, Key="public/a.txt")["Body"].read() == b"hello"
    code, status, message = fails(as_user("s3").get_object, Bucket=bucket, Key="private/b.txt")
    assert (code, status) == ("AccessDenied", 403) and "explicit deny in a resource-based policy" in message, message
    # RestrictPublicBuckets: with a public policy only the owner's principals get in.
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
        "RestrictPublicBuckets": True})
    assert requests.get(url, timeout=5).status_code == 403
    assert fails(other.get_object, Bucket=bucket, Key="private/b.txt")[:2] == ("AccessDenied", 403)
    assert as_user("s3").get_object(Bucket=bucket, Key="public/a.txt")["Body"].read() == b"hello"


# ------------------------------------------------------------------ services acting for someone

LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})

# Sends the event it got to the queue whose URL is in its environment, as its role.
FN_FORWARDS = zip_of({"fwd.py": """
import json, os, boto3
def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=os.environ["OUT"], MessageBody=json.dumps(event))
    return {"ok": True}
"""})


def lambda_role(iam, *statements) -> dict:
    role = iam.create_role(RoleName=unique("fn-role"), AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]
    if statements:
        iam.put_role_policy(RoleName=role["RoleName"], PolicyName="base", PolicyDocument=doc(*statements))
    return role


def function(lam, role, out_url=None, code=FN_FORWARDS, handler="fwd.handler") -> tuple[str, str]:
    name = unique("fn")
    env = {"Variables": {"OUT": out_url}} if out_url else {}
    arn = lam.create_function(FunctionName=name, Runtime="python3.11", Role=role["Arn"], Handler=handler,
                              Code={"ZipFile": code}, Timeout=30, Environment=env)["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    return name, arn


def bodies(sqs, url, wait=5) -> list[str]:
    """What arrives on `url` within `wait` seconds (deleted as read)."""
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get("Messages", [])
    for m in got:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return [m["Body"] for m in got]


def test_handing_a_role_to_a_function_needs_pass_role(root, user):
    u, as_user = user
    iam = root("iam")
    role = lambda_role(iam)
    iam.put_user_policy(UserName=u["UserName"], PolicyName="lambda", PolicyDocument=doc(allow("lambda:*")))
    lam = as_user("lambda")
    name = unique("fn")
    create = dict(FunctionName=name, Runtime="python3.11", Role=role["Arn"], Handler="fwd.handler",
                  Code={"ZipFile": FN_FORWARDS})
    assert fails(lam.create_function, **create) == (
        "AccessDeniedException", 403, denied(u["Arn"], "iam:PassRole", role["Arn"]))
    # PassRole on another role is not enough.
    other = lambda_role(iam)
    iam.put_user_policy(UserName=u["UserName"], PolicyName="pass", PolicyDocument=doc(allow("iam:PassRole", other["Arn"])))
    assert fails(lam.create_function, **create)[:2] == ("AccessDeniedException", 403)
    assert fails(lam.get_function, FunctionName=name)[0] == "ResourceNotFoundException"
    iam.put_user_policy(UserName=u["UserName"], PolicyName="pass",
                        PolicyDocument=doc(allow("iam:PassRole", [role["Arn"], other["Arn"]])))
    assert lam.create_function(**create)["Role"] == role["Arn"]
    # Changing the role later needs it too.
    third = lambda_role(iam)
    assert fails(lam.update_function_configuration, FunctionName=name, Role=third["Arn"]) == (
        "AccessDeniedException", 403, denied(u["Arn"], "iam:PassRole", third["Arn"]))
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    assert lam.update_function_configuration(FunctionName=name, Role=other["Arn"])["Role"] == other["Arn"]


def test_event_source_mappings_need_and_poll_with_the_functions_role(root):
    iam, lam, sqs = root("iam"), root("lambda"), root("sqs")
    src_url, src_arn = queue(root)
    out_url, out_arn = queue(root)
    role = lambda_role(iam, allow("sqs:SendMessage", out_arn))
    name, _ = function(lam, role, out_url)
    msg = "The provided execution role does not have permissions to call {} on SQS"
    create = dict(EventSourceArn=src_arn, FunctionName=name, BatchSize=1)
    assert fails(lam.create_event_source_mapping, **create) == (
        "InvalidParameterValueException", 400, msg.format("ReceiveMessage"))
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="receive",
                        PolicyDocument=doc(allow("sqs:ReceiveMessage", src_arn)))
    assert fails(lam.create_event_source_mapping, **create) == (
        "InvalidParameterValueException", 400, msg.format("DeleteMessage"))
    assert lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"] == []
    # AWS's managed policy for SQS pollers is what applications attach.
    policy = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=policy)
    uuid = lam.create_event_source_mapping(Enabled=False, **create)["UUID"]
    # The poller reads as the role: without the right, the message stays in the queue.
    iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=policy)
    iam.delete_role_policy(RoleName=role["RoleName"], PolicyName="receive")
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    sqs.send_message(QueueUrl=src_url, MessageBody="waiting")
    assert bodies(sqs, out_url, wait=3) == []
    attrs = sqs.get_queue_attributes(QueueUrl=src_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "1"
    # Given back, the right applies on the poller's next round.
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=policy)
    got = bodies(sqs, out_url, wait=15)
    assert [json.loads(b)["Records"][0]["body"] for b in got] == ["waiting"]
    lam.delete_event_source_mapping(UUID=uuid)


def test_s3_notifies_a_queue_only_when_its_policy_lets_s3_send(root):
    s3, sqs = root("s3"), root("sqs")
    url, arn = queue(root)
    bucket = unique("b").lower()
    s3.create_bucket(Bucket=bucket)
    config = {"QueueConfigurations": [{"Id": "q", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]}
    assert fails(s3.put_bucket_notification_configuration, Bucket=bucket, NotificationConfiguration=config) == (
        "InvalidArgument", 400, "Unable to validate the following destination configurations")

    def s3_may_send(source_bucket):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": doc({
            "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": arn, "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{source_bucket}"},
                                           "StringEquals": {"aws:SourceAccount": ACCT}}})})

    s3_may_send(bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)
    assert [json.loads(b)["Event"] for b in bodies(sqs, url)] == ["s3:TestEvent"]
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    got = [json.loads(b)["Records"][0] for b in bodies(sqs, url)]
    assert [(r["eventName"], r["s3"]["object"]["key"]) for r in got] == [("ObjectCreated:Put", "a.txt")]
    # A policy for another bucket: this bucket's events are not delivered.
    s3_may_send("some-other-bucket")
    s3.put_object(Bucket=bucket, Key="b.txt", Body=b"b")
    assert bodies(sqs, url, wait=2) == []
    # That event was dropped, not delayed: only later ones arrive once S3 may send again.
    s3_may_send(bucket)
    s3.put_object(Bucket=bucket, Key="c.txt", Body=b"c")
    assert [json.loads(b)["Records"][0]["s3"]["object"]["key"] for b in bodies(sqs, url)] == ["c.txt"]


def test_sns_invokes_a_function_only_when_its_policy_lets_sns(root):
    iam, lam, sns, sqs = root("iam"), root("lambda"), root("sns"), root("sqs")
    out_url, out_arn = queue(root)
    name, arn = function(lam, lambda_role(iam, allow("sqs:SendMessage", out_arn)), out_url)
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="not allowed")
    assert bodies(sqs, out_url, wait=3) == []
    lam.add_permission(FunctionName=name, StatementId="sns", Action="lambda:InvokeFunction",
                       Principal="sns.amazonaws.com", SourceArn=topic)
    sns.publish(TopicArn=topic, Message="allowed")
    got = [json.loads(b)["Records"][0]["Sns"]["Message"] for b in bodies(sqs, out_url, wait=15)]
    assert got == ["allowed"]


RETURNS = zip_of({"app.py": "def handler(event, context):\n    return {'n': event['n']}\n"})


def test_function_destinations_are_sent_with_the_functions_role(root):
    iam, lam, sqs = root("iam"), root("lambda"), root("sqs")
    url, arn = queue(root)
    role = lambda_role(iam)
    name, _ = function(lam, role, code=RETURNS, handler="app.handler")
    config = dict(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn}})
    assert fails(lam.put_function_event_invoke_config, **config) == (
        "InvalidParameterValueException", 400,
        f"The function's execution role does not have permissions to call SendMessage on {arn}")
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="dest", PolicyDocument=doc(allow("sqs:SendMessage", arn)))
    lam.put_function_event_invoke_config(**config)
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"n": 1}))
    got = [json.loads(b) for b in bodies(sqs, url, wait=15)]
    assert [(r["requestContext"]["condition"], r["responsePayload"]) for r in got] == [("Success", {"n": 1})]
    # Once the role may no longer send, records are dropped, as on AWS.
    iam.delete_role_policy(RoleName=role["RoleName"], PolicyName="dest")
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"n": 2}))
    assert bodies(sqs, url, wait=3) == []
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="dest", PolicyDocument=doc(allow("sqs:SendMessage", arn)))
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"n": 3}))
    assert [json.loads(b)["responsePayload"] for b in bodies(sqs, url, wait=15)] == [{"n": 3}]


def test_code_locations_are_presigned_and_expire_with_their_signature(root):
    import io
    import zipfile

    import requests
    iam, lam = root("iam"), root("lambda")
    name, _ = function(lam, lambda_role(iam), code=RETURNS, handler="app.handler")
    url = lam.get_function(FunctionName=name)["Code"]["Location"]
    got = requests.get(url, timeout=10)
    assert got.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(got.content)).namelist() == ["app.py"]
    # Without its signature, with another one or past its expiry, the URL grants nothing.
    base, query = url.split("?", 1)
    params = dict(p.split("=", 1) for p in query.split("&"))
    assert set(params) == {"Expires", "Signature"}
    forged = "0" * len(params["Signature"])
    for bad in (base, f"{base}?Expires={params['Expires']}&Signature={forged}",
                f"{base}?Expires={int(params['Expires']) + 3600}&Signature={params['Signature']}",
                f"{base}?Expires=1&Signature={params['Signature']}"):
        assert requests.get(bad, timeout=10).status_code == 404, bad


def test_requests_carry_their_condition_keys(srv, root, user):
    u, as_user = user
    iam, s3 = root("iam"), root("s3")
    bucket = unique("b").lower()
    s3.create_bucket(Bucket=bucket)
    statements = [
        # S3's own keys: a listing only under the user's prefix.
        allow("s3:ListBucket", f"arn:aws:s3:::{bucket}", Condition={"StringLike": {"s3:prefix": "home/alice/*"}}),
        # The client's address: this test's requests come from 127.0.0.1.
        allow("sqs:ListQueues", Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}),
        allow("sqs:GetQueueUrl", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        # Tags the request sets.
        allow("sqs:CreateQueue", Condition={"StringEquals": {"aws:RequestTag/team": "blue"}}),
        # A service's own keys.
        allow("sns:CreateTopic"),
        allow("sns:Subscribe", Condition={"StringEquals": {"sns:Protocol": "sqs"}}),
    ]
    iam.put_user_policy(UserName=u["UserName"], PolicyName="conditional", PolicyDocument=doc(*statements))
    s3u, sqs, sns = as_user("s3"), as_user("sqs"), as_user("sns")
    assert s3u.list_objects_v2(Bucket=bucket, Prefix="home/alice/")["KeyCount"] == 0
    assert fails(s3u.list_objects_v2, Bucket=bucket, Prefix="home/bob/")[:2] == ("AccessDenied", 403)
    assert fails(s3u.list_objects_v2, Bucket=bucket)[:2] == ("AccessDenied", 403)
    sqs.list_queues()
    assert fails(sqs.get_queue_url, QueueName="anything")[:2] == ("AccessDenied", 403)
    name = unique("q")
    sqs.create_queue(QueueName=name, tags={"team": "blue"})
    assert fails(sqs.create_queue, QueueName=unique("q"), tags={"team": "red"})[:2] == ("AccessDenied", 403)
    assert fails(sqs.create_queue, QueueName=unique("q"))[:2] == ("AccessDenied", 403)
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:{ACCT}:{name}")
    assert fails(sns.subscribe, TopicArn=topic, Protocol="http", Endpoint="http://127.0.0.1:1/")[:2] == (
        "AuthorizationError", 403)


def test_assume_role_checks_the_external_id_and_pass_role_the_service(root, user):
    u, as_user = user
    iam = root("iam")
    role = iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument=doc({
        "Effect": "Allow", "Principal": {"AWS": u["Arn"]}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "right"}}}))["Role"]
    iam.put_user_policy(UserName=u["UserName"], PolicyName="assume", PolicyDocument=doc(
        allow("sts:AssumeRole", role["Arn"]), allow("lambda:CreateFunction"),
        allow("iam:PassRole", "*", Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}})))
    sts = as_user("sts")
    assert sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", ExternalId="right")["Credentials"]
    assert fails(sts.assume_role, RoleArn=role["Arn"], RoleSessionName="s1", ExternalId="wrong")[:2] == (
        "AccessDenied", 403)
    assert fails(sts.assume_role, RoleArn=role["Arn"], RoleSessionName="s1")[:2] == ("AccessDenied", 403)
    # PassRole limited to Lambda lets the user hand a role to a function.
    fn_role = lambda_role(iam)
    as_user("lambda").create_function(FunctionName=unique("fn"), Runtime="python3.11", Role=fn_role["Arn"],
                                      Handler="app.handler", Code={"ZipFile": RETURNS})


def test_conditions_on_the_resources_tags(root, user):
    u, as_user = user
    sqs, s3 = root("sqs"), root("s3")
    blue = sqs.create_queue(QueueName=unique("q"), tags={"team": "blue"})["QueueUrl"]
    red = sqs.create_queue(QueueName=unique("q"), tags={"team": "red"})["QueueUrl"]
    dev, prod = unique("b").lower(), unique("b").lower()
    for b, env in ((dev, "dev"), (prod, "prod")):
        s3.create_bucket(Bucket=b)
        s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "env", "Value": env}]})
    root("iam").put_user_policy(UserName=u["UserName"], PolicyName="tags", PolicyDocument=doc(
        allow("sqs:SendMessage", Condition={"StringEquals": {"aws:ResourceTag/team": "blue"}}),
        allow("s3:ListBucket", Condition={"StringEquals": {"aws:ResourceTag/env": "dev"}})))
    as_user("sqs").send_message(QueueUrl=blue, MessageBody="x")
    assert fails(as_user("sqs").send_message, QueueUrl=red, MessageBody="x")[:2] == ("AccessDenied", 403)
    as_user("s3").list_objects_v2(Bucket=dev)
    assert fails(as_user("s3").list_objects_v2, Bucket=prod)[:2] == ("AccessDenied", 403)
    # A change of tags applies on the next request.
    sqs.tag_queue(QueueUrl=red, Tags={"team": "blue"})
    as_user("sqs").send_message(QueueUrl=red, MessageBody="x")


def test_stream_mappings_need_a_role_that_reads_the_stream(root):
    iam, lam, ddb = root("iam"), root("lambda"), root("dynamodb")
    table = unique("t")
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    stream = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    role = lambda_role(iam)
    name, _ = function(lam, role, code=RETURNS, handler="app.handler")
    assert fails(lam.create_event_source_mapping, EventSourceArn=stream, FunctionName=name,
                 StartingPosition="LATEST") == (
        "InvalidParameterValueException", 400,
        f"Cannot access stream {stream}. Please ensure the role can perform the GetRecords, GetShardIterator, "
        "DescribeStream, and ListStreams Actions on your stream in IAM.")
    iam.attach_role_policy(RoleName=role["RoleName"],
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole")
    m = lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=name, StartingPosition="LATEST")
    lam.delete_event_source_mapping(UUID=m["UUID"])


def test_table_policies_grant_other_accounts(srv, root):
    ddb = root("dynamodb")
    table = unique("t")
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})
    arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
    other = make_client("dynamodb", srv.endpoint, *OTHER[:2])
    assert fails(other.get_item, TableName=arn, Key={"pk": {"S": "a"}})[:2] == ("AccessDeniedException", 400)
    ddb.put_resource_policy(ResourceArn=arn, Policy=doc({
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER[2]}:root"}, "Action": "dynamodb:GetItem",
        "Resource": arn}))
    assert other.get_item(TableName=arn, Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}
    assert fails(other.put_item, TableName=arn, Item={"pk": {"S": "b"}})[:2] == ("AccessDeniedException", 400)


def test_kinesis_streams_are_authorized_by_their_arns_and_policies(srv, root, user):
    """Kinesis actions act on the stream's ARN; GetRecords on the stream its iterator reads (the
    request names it only inside the iterator); a stream's resource policy admits another
    account."""
    u, as_user = user
    k = root("kinesis")
    mine, theirs = unique("ks"), unique("ks")
    for name in (mine, theirs):
        k.create_stream(StreamName=name, ShardCount=1)
    arn = f"arn:aws:kinesis:us-east-1:{ACCT}:stream/{mine}"
    k.put_record(StreamName=theirs, PartitionKey="p", Data=b"secret")
    root("iam").put_user_policy(UserName=u["UserName"], PolicyName="k", PolicyDocument=doc(allow(
        ["kinesis:PutRecord", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:DescribeStreamSummary"], arn)))
    uk = as_user("kinesis")
    uk.put_record(StreamName=mine, PartitionKey="p", Data=b"mine")
    it = uk.get_shard_iterator(StreamName=mine, ShardId="shardId-000000000000",
                               ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in uk.get_records(ShardIterator=it)["Records"]] == [b"mine"]
    code, status, message = fails(uk.put_record, StreamName=theirs, PartitionKey="p", Data=b"x")
    assert (code, status) == ("AccessDeniedException", 400)
    assert message == denied(u["Arn"], "kinesis:PutRecord", f"arn:aws:kinesis:us-east-1:{ACCT}:stream/{theirs}")
    # An iterator of the other stream (made by root) does not read it for the user.
    their_it = k.get_shard_iterator(StreamName=theirs, ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    code, _, message = fails(uk.get_records, ShardIterator=their_it)
    assert code == "AccessDeniedException" and f"stream/{theirs}" in message
    # Another account reaches the stream by its ARN once the stream's policy allows it.
    other = make_client("kinesis", srv.endpoint, *OTHER[:2])
    assert fails(other.put_record, StreamARN=arn, PartitionKey="p", Data=b"x")[0] == "AccessDeniedException"
    k.put_resource_policy(ResourceARN=arn, Policy=doc({
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER[2]}:root"}, "Action": "kinesis:PutRecord",
        "Resource": arn}))
    assert other.put_record(StreamARN=arn, PartitionKey="p", Data=b"x")["ShardId"] == "shardId-000000000000"


def test_api_gateway_is_authorized_by_path_and_execute_api_by_iam_and_the_apis_policy(srv, root, user):
    """The control plane is `apigateway:{METHOD}` on the request path; an AWS_IAM method is
    invoked only by callers IAM lets `execute-api:Invoke` the method's ARN; an API's resource
    policy decides for methods without IAM (anonymous callers included)."""
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    u, as_user = user
    agw = root("apigateway")
    ua = as_user("apigateway")
    code, status, message = fails(ua.create_rest_api, name="x")
    assert (code, status) == ("AccessDeniedException", 403)
    assert message == denied(u["Arn"], "apigateway:POST", "arn:aws:apigateway:us-east-1::/restapis")
    api = agw.create_rest_api(name=unique("api"))
    rid, root_res = api["id"], api["rootResourceId"]
    root("iam").put_user_policy(UserName=u["UserName"], PolicyName="read", PolicyDocument=doc(
        allow("apigateway:GET", f"arn:aws:apigateway:us-east-1::/restapis/{rid}*")))
    assert ua.get_rest_api(restApiId=rid)["id"] == rid
    assert fails(ua.delete_rest_api, restApiId=rid)[0] == "AccessDeniedException"

    for method, auth in [("GET", "AWS_IAM"), ("POST", "NONE")]:
        agw.put_method(restApiId=rid, resourceId=root_res, httpMethod=method, authorizationType=auth)
        agw.put_integration(restApiId=rid, resourceId=root_res, httpMethod=method, type="MOCK",
                            requestTemplates={"application/json": '{"statusCode": 200}'})
        agw.put_integration_response(restApiId=rid, resourceId=root_res, httpMethod=method, statusCode="200",
                                     responseTemplates={"application/json": '{"ok": true}'})
    agw.create_deployment(restApiId=rid, stageName="prod")
    target = f"{srv.endpoint}/_aws/execute-api/{rid}/prod/"
    method_arn = f"arn:aws:execute-api:us-east-1:{ACCT}:{rid}/prod/GET/"

    key = root("iam").create_access_key(UserName=u["UserName"])["AccessKey"]

    def signed_get():
        req = AWSRequest(method="GET", url=target)
        SigV4Auth(Credentials(key["AccessKeyId"], key["SecretAccessKey"]), "execute-api", "us-east-1").add_auth(req)
        return requests.get(target, headers=dict(req.headers))

    r = signed_get()
    assert r.status_code == 403 and r.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert r.json()["Message"].startswith(f"User: {u['Arn']} is not authorized to perform: execute-api:Invoke "
                                          f"on resource: {method_arn}")
    root("iam").put_user_policy(UserName=u["UserName"], PolicyName="invoke", PolicyDocument=doc(
        allow("execute-api:Invoke", f"arn:aws:execute-api:us-east-1:{ACCT}:{rid}/*/GET/*")))
    assert signed_get().status_code == 200
    # A method without IAM: open until the API's policy says otherwise.
    assert requests.post(target).status_code == 200
    agw.update_rest_api(restApiId=rid, patchOperations=[{"op": "replace", "path": "/policy", "value": doc(
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
         "Resource": f"arn:aws:execute-api:us-east-1:{ACCT}:{rid}/*/POST/*"})}])
    agw.create_deployment(restApiId=rid, stageName="prod")
    r = requests.post(target)
    assert r.status_code == 403 and r.json()["Message"].endswith("with an explicit deny"), r.text
