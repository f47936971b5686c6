"""Lambda through the real binary: the API with boto3 and the aws CLI, and real functions
(Python and Node handlers run by Stratus's runtime interface clients, a shell-script custom
runtime) invoked in every mode."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import time
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, aws_cli_base, client_config, unique

pytestmark = pytest.mark.stratus_only

ROLE = "arn:aws:iam::000000000000:role/lambda-role"


def zip_of(files: dict[str, str], modes: dict[str, int] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = ((modes or {}).get(name, 0o644) | 0o100000) << 16
            z.writestr(info, text)
    return buf.getvalue()


PY_ECHO = zip_of({"app.py": """
import os, time
def handler(event, context):
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("asked to fail")
    if isinstance(event, dict) and event.get("sleep"):
        time.sleep(event["sleep"])
    print("handling", event)
    return {"event": event, "request_id": context.aws_request_id, "name": context.function_name,
            "version": context.function_version, "memory": context.memory_limit_in_mb,
            "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 3000,
            "env": os.environ.get("GREETING"), "pid": os.getpid()}
"""})

PY_SENDS_TO_SQS = zip_of({"sender.py": """
import json, os, boto3
def handler(event, context):
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=event["queue"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"from": context.function_name, "n": event["n"]}))
    return {"sent": event["n"]}
"""})

NODE_ECHO = zip_of({"index.js": """
exports.handler = async (event, context) => {
  if (event && event.fail) { throw new TypeError("node failure"); }
  return { event, requestId: context.awsRequestId, name: context.functionName };
};
exports.cb = (event, context, callback) => { callback(null, { viaCallback: event }); };
"""})

SHELL_BOOTSTRAP = zip_of({"bootstrap": """#!/bin/bash
set -euo pipefail
while true; do
  HEADERS="$(mktemp)"
  EVENT=$(curl -sS -LD "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  curl -sS -X POST "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response" -d "{\\"shell\\": $EVENT}" > /dev/null
done
"""}, modes={"bootstrap": 0o755})


@pytest.fixture(scope="session")
def lam(target):
    return boto3.session.Session().client(
        "lambda", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
        aws_secret_access_key="test", config=client_config(read_timeout=60))


@pytest.fixture(scope="session")
def sqs_client(target):
    return boto3.session.Session().client(
        "sqs", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
        aws_secret_access_key="test", config=client_config())


def create(lam, code: bytes, runtime="python3.11", handler="app.handler", name=None, **kw):
    name = name or unique("fn")
    r = lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler,
                            Code={"ZipFile": code}, **kw)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    return name, r


def invoke(lam, name, payload=None, **kw):
    r = lam.invoke(FunctionName=name, Payload=json.dumps(payload if payload is not None else {}).encode(), **kw)
    body = r["Payload"].read()
    return r, (json.loads(body) if body else None)


def error_code(e):
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


# ----------------------------------------------------------------------------- control plane

def test_create_get_list_delete(lam):
    name, created = create(lam, PY_ECHO, Environment={"Variables": {"GREETING": "hi"}}, Timeout=5,
                           MemorySize=256, Description="echo", Tags={"team": "a"})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["State"] == "Pending" and created["StateReasonCode"] == "Creating"
    assert created["FunctionArn"] == f"arn:aws:lambda:{REGION}:000000000000:function:{name}"
    assert created["CodeSize"] == len(PY_ECHO)
    import hashlib
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(PY_ECHO).digest()).decode()
    got = lam.get_function(FunctionName=name)
    cfg = got["Configuration"]
    assert cfg["State"] == "Active" and cfg["LastUpdateStatus"] == "Successful"
    assert (cfg["Runtime"], cfg["Handler"], cfg["Timeout"], cfg["MemorySize"], cfg["Version"]) == \
        ("python3.11", "app.handler", 5, 256, "$LATEST")
    assert cfg["Environment"]["Variables"] == {"GREETING": "hi"}
    assert got["Tags"] == {"team": "a"}
    # The code location serves the package back.
    import requests
    assert requests.get(got["Code"]["Location"], timeout=10).content == PY_ECHO
    assert lam.get_function_configuration(FunctionName=cfg["FunctionArn"])["FunctionName"] == name
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert name in names
    lam.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName=name)
    assert error_code(e) == ("ResourceNotFoundException", 404)


def test_list_functions_paginates(lam):
    made = sorted(create(lam, PY_ECHO, name=unique(f"page{i}"))[0] for i in range(5))
    seen, marker = [], None
    while True:
        kw = {"MaxItems": 2} | ({"Marker": marker} if marker else {})
        page = lam.list_functions(**kw)
        assert len(page["Functions"]) <= 2
        seen += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert [n for n in seen if n in made] == made


def test_create_errors(lam):
    name, _ = create(lam, PY_ECHO)
    with pytest.raises(ClientError) as e:
        create(lam, PY_ECHO, name=name)
    assert error_code(e) == ("ResourceConflictException", 409)
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=unique("x"), Runtime="python3.11", Role="not-a-role", Handler="a.b",
                            Code={"ZipFile": PY_ECHO})
    assert error_code(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=unique("x"), Runtime="python3.11", Role=ROLE, Handler="a.b",
                            Code={"ZipFile": b"definitely not a zip"})
    assert error_code(e) == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=unique("x"), Runtime="python3.11", Role=ROLE, Handler="a.b",
                            Code={"ZipFile": PY_ECHO}, Timeout=901)
    assert error_code(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=unique("x"), Runtime="python3.11", Role=ROLE, Handler="a.b",
                            Code={"ZipFile": PY_ECHO}, Environment={"Variables": {"AWS_REGION": "x"}})
    assert error_code(e)[0] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="no-such-function")
    assert error_code(e) == ("ResourceNotFoundException", 404)


def test_update_code_and_configuration_with_revision_ids(lam):
    name, created = create(lam, PY_ECHO)
    r = lam.update_function_configuration(FunctionName=name, Timeout=10, Environment={"Variables": {"GREETING": "x"}})
    assert r["LastUpdateStatus"] == "InProgress"
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    cfg = lam.get_function_configuration(FunctionName=name)
    assert cfg["Timeout"] == 10 and cfg["Environment"]["Variables"] == {"GREETING": "x"}
    assert cfg["RevisionId"] != created["RevisionId"]
    with pytest.raises(ClientError) as e:
        lam.update_function_code(FunctionName=name, ZipFile=NODE_ECHO, RevisionId=created["RevisionId"])
    assert error_code(e) == ("PreconditionFailedException", 412)
    r = lam.update_function_code(FunctionName=name, ZipFile=NODE_ECHO, RevisionId=cfg["RevisionId"])
    assert r["CodeSize"] == len(NODE_ECHO) and r["LastUpdateStatus"] == "InProgress"


def test_versions_and_aliases(lam):
    name, _ = create(lam, PY_ECHO)
    v1 = lam.publish_version(FunctionName=name, Description="first")
    assert v1["Version"] == "1" and v1["FunctionArn"].endswith(f"{name}:1")
    again = lam.publish_version(FunctionName=name)
    assert again["Version"] == "1", "nothing changed: no new version"
    lam.update_function_configuration(FunctionName=name, Timeout=7)
    v2 = lam.publish_version(FunctionName=name)
    assert v2["Version"] == "2" and v2["Timeout"] == 7
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]
    assert versions == ["$LATEST", "1", "2"]
    alias = lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1",
                             RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    assert alias["AliasArn"].endswith(f"{name}:live")
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert error_code(e) == ("ResourceConflictException", 409)
    assert lam.get_function_configuration(FunctionName=name, Qualifier="live")["Version"] in ("1", "2")
    lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2", RoutingConfig={"AdditionalVersionWeights": {}})
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2"
    assert [a["Name"] for a in lam.list_aliases(FunctionName=name)["Aliases"]] == ["live"]
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName=name, Qualifier="2")
    assert error_code(e) == ("ResourceConflictException", 409)
    lam.delete_alias(FunctionName=name, Name="live")
    lam.delete_function(FunctionName=name, Qualifier="2")
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST", "1"]


def test_concurrency_tags_permissions_account_settings(lam):
    name, created = create(lam, PY_ECHO)
    arn = created["FunctionArn"]
    assert lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)["ReservedConcurrentExecutions"] == 5
    assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 5
    settings = lam.get_account_settings()
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 995
    with pytest.raises(ClientError) as e:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=950)
    assert error_code(e)[0] == "InvalidParameterValueException"
    lam.delete_function_concurrency(FunctionName=name)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name)

    lam.tag_resource(Resource=arn, Tags={"a": "1", "b": "2"})
    lam.untag_resource(Resource=arn, TagKeys=["a"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"b": "2"}

    st = lam.add_permission(FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction",
                            Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::bucket", SourceAccount="000000000000")
    statement = json.loads(st["Statement"])
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == "arn:aws:s3:::bucket"
    with pytest.raises(ClientError) as e:
        lam.add_permission(FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction", Principal="sns.amazonaws.com")
    assert error_code(e) == ("ResourceConflictException", 409)
    policy = json.loads(lam.get_policy(FunctionName=name)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["s3"]
    lam.remove_permission(FunctionName=name, StatementId="s3")
    with pytest.raises(ClientError) as e:
        lam.get_policy(FunctionName=name)
    assert error_code(e) == ("ResourceNotFoundException", 404)


# ----------------------------------------------------------------------------- invoke

def test_python_request_response(lam):
    name, _ = create(lam, PY_ECHO, Environment={"Variables": {"GREETING": "hello"}})
    r, body = invoke(lam, name, {"k": 1})
    assert r["StatusCode"] == 200 and "FunctionError" not in r
    assert r["ExecutedVersion"] == "$LATEST"
    assert body["event"] == {"k": 1} and body["name"] == name and body["version"] == "$LATEST"
    assert body["memory"] in (128, "128") and body["remaining_ok"] and body["env"] == "hello"
    assert body["request_id"] == r["ResponseMetadata"]["RequestId"]
    # Warm: the same process serves the next invoke.
    _, again = invoke(lam, name, {"k": 2})
    assert again["pid"] == body["pid"]


def test_function_error_and_log_tail(lam):
    name, _ = create(lam, PY_ECHO)
    r, body = invoke(lam, name, {"fail": True}, LogType="Tail")
    assert r["StatusCode"] == 200 and r["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "asked to fail"
    assert isinstance(body.get("stackTrace"), list)
    log = base64.b64decode(r["LogResult"]).decode()
    assert "START RequestId:" in log and "END RequestId:" in log and "REPORT RequestId:" in log


def test_timeout_is_enforced(lam):
    name, _ = create(lam, PY_ECHO, Timeout=1)
    t0 = time.monotonic()
    r, body = invoke(lam, name, {"sleep": 5})
    assert time.monotonic() - t0 < 4
    assert r["FunctionError"] == "Unhandled"
    assert "Task timed out after 1" in body["errorMessage"]


def test_node_handlers(lam):
    name, _ = create(lam, NODE_ECHO, runtime="nodejs20.x", handler="index.handler")
    r, body = invoke(lam, name, {"n": 1})
    assert body["event"] == {"n": 1} and body["name"] == name
    r, body = invoke(lam, name, {"fail": True})
    assert r["FunctionError"] == "Unhandled" and body["errorType"] == "TypeError"
    cb, _ = create(lam, NODE_ECHO, runtime="nodejs20.x", handler="index.cb")
    _, body = invoke(lam, cb, {"x": 2})
    assert body == {"viaCallback": {"x": 2}}


def test_shell_custom_runtime(lam):
    name, _ = create(lam, SHELL_BOOTSTRAP, runtime="provided.al2023", handler="unused")
    r, body = invoke(lam, name, {"s": "x"})
    assert r["StatusCode"] == 200 and body == {"shell": {"s": "x"}}


def test_dry_run_event_and_throttle(lam, sqs_client):
    q = sqs_client.create_queue(QueueName=unique("from-fn"))["QueueUrl"]
    name, _ = create(lam, PY_SENDS_TO_SQS, handler="sender.handler")
    r = lam.invoke(FunctionName=name, InvocationType="DryRun")
    assert r["StatusCode"] == 204
    # Synchronous: the function reaches Stratus's SQS with its own credentials.
    r, body = invoke(lam, name, {"queue": q.rsplit("/", 1)[1], "n": 1})
    assert body == {"sent": 1}, body
    # Asynchronous: accepted with 202, delivered in the background.
    r = lam.invoke(FunctionName=name, InvocationType="Event",
                   Payload=json.dumps({"queue": q.rsplit("/", 1)[1], "n": 2}).encode())
    assert r["StatusCode"] == 202
    got = []
    deadline = time.monotonic() + 15
    while len(got) < 2 and time.monotonic() < deadline:
        for m in sqs_client.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(m["Body"])["n"])
    assert sorted(got) == [1, 2]
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as e:
        invoke(lam, name, {})
    assert error_code(e) == ("TooManyRequestsException", 429)
    assert e.value.response.get("Reason") == "ReservedFunctionConcurrentInvocationLimitExceeded"


def test_invoke_alias_reports_executed_version(lam):
    name, _ = create(lam, PY_ECHO)
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="prod", FunctionVersion="1")
    r, body = invoke(lam, name, {}, Qualifier="prod")
    assert r["ExecutedVersion"] == "1" and body["version"] == "1"


def test_payload_limits(lam):
    name, _ = create(lam, PY_ECHO)
    big = json.dumps({"x": "a" * (1024 * 1024 + 10)}).encode()
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=big)
    assert error_code(e) == ("RequestTooLargeException", 413)
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=name, Payload=b"{not json")
    assert error_code(e)[0] == "InvalidRequestContentException"


def test_aws_cli_deploy_and_invoke(target, tmp_path):
    code = tmp_path / "fn.zip"
    code.write_bytes(PY_ECHO)
    out = tmp_path / "out.json"
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=REGION,
               AWS_PAGER="")
    base = [*aws_cli_base(), "--endpoint-url", target.endpoint, "--region", REGION, "--output", "json", "lambda"]
    name = unique("cli")
    subprocess.run([*base, "create-function", "--function-name", name, "--runtime", "python3.11", "--role", ROLE,
                    "--handler", "app.handler", "--zip-file", f"fileb://{code}"], check=True, capture_output=True,
                   env=env, timeout=60)
    subprocess.run([*base, "wait", "function-active-v2", "--function-name", name], check=True, env=env, timeout=60)
    # aws CLI v1 sends --payload as given (v2 would want --cli-binary-format raw-in-base64-out).
    p = subprocess.run([*base, "invoke", "--function-name", name, "--payload", '{"cli": true}', str(out)],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["StatusCode"] == 200
    assert json.loads(out.read_text())["event"] == {"cli": True}


def test_function_output_lands_in_cloudwatch_logs(lam, target):
    logs = boto3.session.Session().client(
        "logs", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
        aws_secret_access_key="test", config=client_config())
    name, _ = create(lam, PY_ECHO)
    r, _ = invoke(lam, name, {"marker": "find-me"})
    request_id = r["ResponseMetadata"]["RequestId"]
    group = f"/aws/lambda/{name}"
    messages = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            messages = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
        except ClientError:
            messages = []
        if any(m.startswith("REPORT RequestId: " + request_id) for m in messages):
            break
        time.sleep(0.1)
    text = "\n".join(messages)
    assert f"START RequestId: {request_id} Version: $LATEST" in text
    assert "find-me" in text, "the handler's print() output"
    assert f"END RequestId: {request_id}" in text
    report = next(m for m in messages if m.startswith(f"REPORT RequestId: {request_id}"))
    for field in ("Duration:", "Billed Duration:", "Memory Size: 128 MB", "Max Memory Used:", "Init Duration:"):
        assert field in report, report
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert len(streams) == 1 and "[$LATEST]" in streams[0]["logStreamName"]


def test_layers_reach_the_function(lam):
    layer_zip = zip_of({"python/shared_helper.py": "GREETING = 'from a layer'\n"})
    layer = lam.publish_layer_version(LayerName=unique("shared"), Content={"ZipFile": layer_zip},
                                      CompatibleRuntimes=["python3.11"])
    assert layer["Version"] == 1 and layer["Content"]["CodeSize"] == len(layer_zip)
    code = zip_of({"app.py": "import shared_helper\ndef handler(e, c):\n    return shared_helper.GREETING\n"})
    name, created = create(lam, code, Layers=[layer["LayerVersionArn"]])
    assert created["Layers"][0]["Arn"] == layer["LayerVersionArn"]
    _, body = invoke(lam, name, {})
    assert body == "from a layer"
    with pytest.raises(ClientError) as e:
        create(lam, code, Layers=[layer["LayerVersionArn"][:-1] + "9"])
    assert error_code(e)[0] == "InvalidParameterValueException"


def test_async_failure_goes_to_the_on_failure_destination(lam, sqs_client):
    dest = sqs_client.create_queue(QueueName=unique("failures"))["QueueUrl"]
    dest_arn = sqs_client.get_queue_attributes(QueueUrl=dest, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name, _ = create(lam, PY_ECHO)
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": dest_arn}})
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"fail": True}).encode())
    msgs = []
    deadline = time.monotonic() + 15
    while not msgs and time.monotonic() < deadline:
        msgs = sqs_client.receive_message(QueueUrl=dest, WaitTimeSeconds=1).get("Messages", [])
    assert msgs, "no destination record"
    record = json.loads(msgs[0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["functionArn"].endswith(f"{name}:$LATEST")
    assert record["requestPayload"] == {"fail": True}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "ValueError"


SANDBOX_PROBE = zip_of({"probe.py": """
import os
def handler(event, context):
    out = {"cwd": os.getcwd(), "task_root": os.environ["LAMBDA_TASK_ROOT"], "tmpdir": os.environ["TMPDIR"]}
    try:
        open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "written.txt"), "w").write("x")
        out["task_writable"] = True
    except OSError:
        out["task_writable"] = False
    marker = "/tmp/marker-" + event["who"]
    open(marker, "w").write("x")
    out["tmp_entries"] = sorted(n for n in os.listdir("/tmp") if n.startswith("marker-"))
    out["opt_listing"] = sorted(os.listdir("/opt")) if os.path.isdir("/opt") else None
    return out
"""})


def test_functions_get_aws_file_layout_with_private_tmp_and_read_only_code(lam):
    layer = lam.publish_layer_version(LayerName=unique("probe-layer"),
                                      Content={"ZipFile": zip_of({"python/probe_layer.py": "X = 1\n"})})
    a, _ = create(lam, SANDBOX_PROBE, handler="probe.handler", Layers=[layer["LayerVersionArn"]])
    b, _ = create(lam, SANDBOX_PROBE, handler="probe.handler")
    _, ra = invoke(lam, a, {"who": "a"})
    _, rb = invoke(lam, b, {"who": "b"})
    assert ra["cwd"] == ra["task_root"] == "/var/task"
    assert ra["tmpdir"] == "/tmp"
    assert ra["task_writable"] is False, "the package is read-only to the function"
    assert ra["tmp_entries"] == ["marker-a"] and rb["tmp_entries"] == ["marker-b"], "each environment has its own /tmp"
    assert ra["opt_listing"] == ["python"], "layers are extracted at /opt"
    assert rb["opt_listing"] == []
