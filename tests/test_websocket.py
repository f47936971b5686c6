"""API Gateway v2 WebSocket APIs: the control plane (WEBSOCKET APIs, routes, route and
integration responses) with boto3, connections with a real WebSocket client (`websockets`),
and the @connections API three ways: from boto3 outside, from a Python function using the
`https://` + domainName + stage endpoint exactly as AWS's chat sample does, and from a Node
function with the AWS SDK for JavaScript v3."""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from sqs_helpers import REGION, client_config, unique
from test_lambda import create, zip_of

pytestmark = pytest.mark.stratus_only

ACCOUNT = "000000000000"

# AWS's simple-websockets-chat-app, as a Python function: connection ids in DynamoDB, and
# messages broadcast through the management API at https://{domainName}/{stage}.
CHAT = zip_of({"app.py": """
import json, os
import boto3

ddb = boto3.client("dynamodb")
TABLE = os.environ["TABLE"]

def handler(event, context):
    ctx = event["requestContext"]
    route, cid = ctx["routeKey"], ctx["connectionId"]
    if route == "$connect":
        ddb.put_item(TableName=TABLE, Item={"connectionId": {"S": cid}})
        return {"statusCode": 200}
    if route == "$disconnect":
        ddb.delete_item(TableName=TABLE, Key={"connectionId": {"S": cid}})
        return {"statusCode": 200}
    data = json.loads(event["body"])["data"]
    api = boto3.client("apigatewaymanagementapi",
                       endpoint_url="https://" + ctx["domainName"] + "/" + ctx["stage"])
    for item in ddb.scan(TableName=TABLE)["Items"]:
        try:
            api.post_to_connection(ConnectionId=item["connectionId"]["S"], Data=data.encode())
        except api.exceptions.GoneException:
            ddb.delete_item(TableName=TABLE, Key={"connectionId": item["connectionId"]})
    return {"statusCode": 200}
"""})

# Answers with what it was given, and records every event in a queue.
RECORDER = zip_of({"app.py": """
import json, os
import boto3

sqs = boto3.client("sqs")

def handler(event, context):
    ctx = event["requestContext"]
    sqs.send_message(QueueUrl=os.environ["QUEUE"], MessageBody=json.dumps(event))
    if ctx["routeKey"] == "$connect":
        q = event.get("queryStringParameters") or {}
        if q.get("token") != "ok":
            return {"statusCode": 401, "body": "denied"}
        proto = (event.get("headers") or {}).get("Sec-WebSocket-Protocol")
        if proto:
            return {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": proto.split(",")[0].strip()}}
        return {"statusCode": 200}
    if event.get("body") == "fail":
        raise ValueError("asked to fail")
    return {"statusCode": 200, "body": "echo:" + (event.get("body") or "")}
"""})

NODE_ECHO = zip_of({"index.js": """
const { ApiGatewayManagementApiClient, PostToConnectionCommand } = require("@aws-sdk/client-apigatewaymanagementapi");
exports.handler = async (event) => {
  const { domainName, stage, connectionId, routeKey } = event.requestContext;
  if (routeKey !== "shout") return { statusCode: 200 };
  const client = new ApiGatewayManagementApiClient({ endpoint: `https://${domainName}/${stage}` });
  const data = JSON.parse(event.body).data;
  await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "node:" + data.toUpperCase() }));
  return { statusCode: 200 };
};
"""})


@pytest.fixture(scope="module")
def c(target):
    kw = dict(endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
              aws_secret_access_key="test")
    s = boto3.session.Session()

    class Clients:
        v2 = s.client("apigatewayv2", **kw)
        lam = s.client("lambda", config=client_config(read_timeout=60), **kw)
        ddb = s.client("dynamodb", **kw)
        sqs = s.client("sqs", **kw)
        endpoint = target.endpoint
        port = target.port

        @staticmethod
        def manage(api, stage):
            return s.client("apigatewaymanagementapi",
                            endpoint_url=f"{target.endpoint}/_aws/execute-api/{api}/{stage}",
                            region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    return Clients


def allow_apigateway(c, fn_name):
    c.lam.add_permission(FunctionName=fn_name, StatementId="apigw", Action="lambda:InvokeFunction",
                         Principal="apigateway.amazonaws.com",
                         SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*")


def ws_api(c, fn_arn, route_keys, two_way=(), stage="prod"):
    """A WebSocket API whose routes all go to one Lambda proxy integration."""
    api = c.v2.create_api(Name=unique("ws"), ProtocolType="WEBSOCKET",
                          RouteSelectionExpression="$request.body.action")["ApiId"]
    integ = c.v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY", IntegrationUri=fn_arn)["IntegrationId"]
    for key in route_keys:
        route = c.v2.create_route(ApiId=api, RouteKey=key, Target=f"integrations/{integ}",
                                  **({"RouteResponseSelectionExpression": "$default"} if key in two_way else {}))
        if key in two_way:
            c.v2.create_route_response(ApiId=api, RouteId=route["RouteId"], RouteResponseKey="$default")
    dep = c.v2.create_deployment(ApiId=api)["DeploymentId"]
    c.v2.create_stage(ApiId=api, StageName=stage, DeploymentId=dep)
    return api


def url(c, api, stage="prod", query=""):
    return f"ws://127.0.0.1:{c.port}/_aws/execute-api/{api}/{stage}{query}"


def queue(c):
    return c.sqs.create_queue(QueueName=unique("ws-events"))["QueueUrl"]


def events(c, q, want, timeout=30):
    """Events the recorder function saw, until `want(list)` holds."""
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        for m in c.sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            seen.append(json.loads(m["Body"]))
            c.sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])
        if want(seen):
            return seen
    raise AssertionError(f"events not seen in {timeout}s: {seen}")


@pytest.fixture
def recorder(c):
    q = queue(c)
    name, r = create(c.lam, RECORDER, Environment={"Variables": {"QUEUE": q}})
    allow_apigateway(c, name)
    return r["FunctionArn"], q


def test_websocket_control_plane(c):
    with pytest.raises(ClientError) as e:
        c.v2.create_api(Name=unique("ws"), ProtocolType="WEBSOCKET")
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    api = c.v2.create_api(Name=unique("ws"), ProtocolType="WEBSOCKET",
                          RouteSelectionExpression="$request.body.action")
    assert api["ProtocolType"] == "WEBSOCKET"
    assert api["ApiEndpoint"] == f"wss://{api['ApiId']}.execute-api.localhost:{c.port}"
    assert api["RouteSelectionExpression"] == "$request.body.action"
    api_id = api["ApiId"]
    integ = c.v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                    IntegrationUri=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f")
    assert integ["PayloadFormatVersion"] == "1.0" and integ["IntegrationMethod"] == "POST"
    mock = c.v2.create_integration(ApiId=api_id, IntegrationType="MOCK",
                                   RequestTemplates={"$default": '{"statusCode": 200}'},
                                   TemplateSelectionExpression="\\$default")
    assert mock["RequestTemplates"] == {"$default": '{"statusCode": 200}'}
    for key in ("$connect", "$disconnect", "$default", "sendmessage"):
        c.v2.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{integ['IntegrationId']}")
    with pytest.raises(ClientError) as e:
        c.v2.create_route(ApiId=api_id, RouteKey="$other")
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    with pytest.raises(ClientError) as e:
        c.v2.create_route(ApiId=api_id, RouteKey="sendmessage")
    assert e.value.response["Error"]["Code"] == "ConflictException"
    route = c.v2.create_route(ApiId=api_id, RouteKey="ask", RouteResponseSelectionExpression="$default",
                              Target=f"integrations/{mock['IntegrationId']}")
    assert route["RouteResponseSelectionExpression"] == "$default"
    rr = c.v2.create_route_response(ApiId=api_id, RouteId=route["RouteId"], RouteResponseKey="$default")
    assert c.v2.get_route_response(ApiId=api_id, RouteId=route["RouteId"],
                                   RouteResponseId=rr["RouteResponseId"])["RouteResponseKey"] == "$default"
    assert len(c.v2.get_route_responses(ApiId=api_id, RouteId=route["RouteId"])["Items"]) == 1
    with pytest.raises(ClientError) as e:
        c.v2.create_route_response(ApiId=api_id, RouteId=route["RouteId"], RouteResponseKey="$default")
    assert e.value.response["Error"]["Code"] == "ConflictException"
    ir = c.v2.create_integration_response(ApiId=api_id, IntegrationId=mock["IntegrationId"],
                                          IntegrationResponseKey="$default",
                                          ResponseTemplates={"$default": '{"pong": true}'})
    updated = c.v2.update_integration_response(ApiId=api_id, IntegrationId=mock["IntegrationId"],
                                               IntegrationResponseId=ir["IntegrationResponseId"],
                                               ResponseTemplates={"$default": '{"pong": 1}'})
    assert updated["ResponseTemplates"] == {"$default": '{"pong": 1}'}
    assert [i["IntegrationResponseKey"] for i in
            c.v2.get_integration_responses(ApiId=api_id, IntegrationId=mock["IntegrationId"])["Items"]] == ["$default"]
    with pytest.raises(ClientError) as e:
        c.v2.get_route_response(ApiId=api_id, RouteId=route["RouteId"], RouteResponseId="nope")
    assert e.value.response["Error"]["Code"] == "NotFoundException"
    c.v2.delete_route_response(ApiId=api_id, RouteId=route["RouteId"], RouteResponseId=rr["RouteResponseId"])
    assert c.v2.get_route_responses(ApiId=api_id, RouteId=route["RouteId"])["Items"] == []
    # HTTP APIs have neither.
    http = c.v2.create_api(Name=unique("http"), ProtocolType="HTTP")["ApiId"]
    hr = c.v2.create_route(ApiId=http, RouteKey="GET /x")
    with pytest.raises(ClientError) as e:
        c.v2.create_route_response(ApiId=http, RouteId=hr["RouteId"], RouteResponseKey="$default")
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    with pytest.raises(ClientError) as e:
        c.v2.create_api(Name=unique("ws"), ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.a",
                        Target=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f")
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    c.v2.delete_api(ApiId=api_id)


def test_chat_broadcast_from_python_through_https_management_endpoint(c):
    table = unique("connections")
    c.ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "connectionId", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "connectionId", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST")
    name, fn = create(c.lam, CHAT, Environment={"Variables": {"TABLE": table}}, Timeout=30)
    allow_apigateway(c, name)
    api = ws_api(c, fn["FunctionArn"], ["$connect", "$disconnect", "sendmessage"])
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(connect(url(c, api), open_timeout=30)) for _ in range(3)]
        assert len(c.ddb.scan(TableName=table)["Items"]) == 3
        clients[0].send(json.dumps({"action": "sendmessage", "data": "hello everyone"}))
        for ws in clients:
            assert ws.recv(timeout=30) == "hello everyone"
        # One leaves: $disconnect removes it, the others still get messages.
        clients[2].close()
        deadline = time.time() + 15
        while len(c.ddb.scan(TableName=table)["Items"]) != 2 and time.time() < deadline:
            time.sleep(0.1)
        assert len(c.ddb.scan(TableName=table)["Items"]) == 2
        clients[1].send(json.dumps({"action": "sendmessage", "data": "still here"}))
        assert clients[0].recv(timeout=30) == "still here"
        assert clients[1].recv(timeout=30) == "still here"


def test_connect_event_rejection_and_subprotocol(c, recorder):
    fn, q = recorder
    api = ws_api(c, fn, ["$connect"])
    with pytest.raises(InvalidStatus) as e:
        connect(url(c, api, query="?token=bad"), open_timeout=30)
    assert e.value.response.status_code == 401
    with connect(url(c, api, query="?token=ok&room=a&room=b"), open_timeout=30,
                 subprotocols=["chat.v1", "chat.v2"], additional_headers={"X-Custom": "yes"},
                 user_agent_header="ws-test/1.0") as ws:
        assert ws.subprotocol == "chat.v1"
    seen = events(c, q, lambda s: len(s) >= 2)
    ok = [e for e in seen if (e.get("queryStringParameters") or {}).get("token") == "ok"][0]
    ctx = ok["requestContext"]
    assert ctx["routeKey"] == "$connect" and ctx["eventType"] == "CONNECT"
    assert ctx["stage"] == "prod" and ctx["apiId"] == api and ctx["messageDirection"] == "IN"
    assert ctx["domainName"] == f"{api}.execute-api.localhost:{c.port}"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1" and ctx["identity"]["userAgent"] == "ws-test/1.0"
    assert isinstance(ctx["connectedAt"], int) and isinstance(ctx["requestTimeEpoch"], int)
    assert ctx["connectionId"].endswith("=") and ctx["requestId"]
    assert ok["headers"]["X-Custom"] == "yes"
    assert ok["headers"]["Sec-WebSocket-Version"] == "13"
    assert ok["multiValueQueryStringParameters"]["room"] == ["a", "b"]
    assert ok["isBase64Encoded"] is False


def test_messages_route_two_way_and_default_and_disconnect(c, recorder):
    fn, q = recorder
    api = ws_api(c, fn, ["$disconnect", "echo", "quiet", "$default"], two_way=("echo", "$default"))
    with connect(url(c, api), open_timeout=30) as ws:
        ws.send(json.dumps({"action": "quiet", "n": 1}))  # one-way: nothing comes back
        ws.send(json.dumps({"action": "echo", "n": 2}))
        assert ws.recv(timeout=30) == 'echo:{"action": "echo", "n": 2}'
        ws.send("not json")  # to $default
        assert ws.recv(timeout=30) == "echo:not json"
        ws.send(json.dumps({"action": "unknown"}))
        assert ws.recv(timeout=30) == 'echo:{"action": "unknown"}'
        ws.send("fail")
        err = json.loads(ws.recv(timeout=30))
        assert err["message"] == "Internal server error" and err["connectionId"] and err["requestId"]
        ws.send(b"\x00\x01binary")
        assert ws.recv(timeout=30) == "echo:AAFiaW5hcnk="
        ws.close(code=4000, reason="bye")
    routes = {"quiet", "echo", "$default", "$disconnect"}
    seen = events(c, q, lambda s: routes <= {e["requestContext"]["routeKey"] for e in s}
                  and sum(e["requestContext"]["routeKey"] == "$default" for e in s) == 4)
    by_route = {}
    for e in seen:
        by_route.setdefault(e["requestContext"]["routeKey"], []).append(e)
    quiet = by_route["quiet"][0]
    assert quiet["requestContext"]["eventType"] == "MESSAGE" and quiet["requestContext"]["messageId"]
    assert json.loads(quiet["body"]) == {"action": "quiet", "n": 1} and quiet["isBase64Encoded"] is False
    binary = [e for e in by_route["$default"] if e["isBase64Encoded"]][0]
    assert binary["body"] == "AAFiaW5hcnk="
    gone = by_route["$disconnect"][0]["requestContext"]
    assert gone["disconnectStatusCode"] == 4000 and gone["disconnectReason"] == "bye"
    assert gone["connectionId"] == quiet["requestContext"]["connectionId"]


def test_no_route_answers_forbidden_and_mock_route_responses(c):
    api = c.v2.create_api(Name=unique("ws"), ProtocolType="WEBSOCKET",
                          RouteSelectionExpression="${request.body.kind}")["ApiId"]
    mock = c.v2.create_integration(ApiId=api, IntegrationType="MOCK",
                                   RequestTemplates={"$default": '{"statusCode": 200}'},
                                   TemplateSelectionExpression="\\$default")["IntegrationId"]
    c.v2.create_integration_response(
        ApiId=api, IntegrationId=mock, IntegrationResponseKey="$default",
        ResponseTemplates={"$default": '{"pong": "$context.routeKey", "from": "$context.connectionId"}'})
    route = c.v2.create_route(ApiId=api, RouteKey="ping", Target=f"integrations/{mock}",
                              RouteResponseSelectionExpression="$default")
    c.v2.create_route_response(ApiId=api, RouteId=route["RouteId"], RouteResponseKey="$default")
    c.v2.create_stage(ApiId=api, StageName="dev", AutoDeploy=True)
    with connect(url(c, api, stage="dev"), open_timeout=30) as ws:
        ws.send(json.dumps({"kind": "ping"}))
        answer = json.loads(ws.recv(timeout=30))
        assert answer["pong"] == "ping" and answer["from"].endswith("=")
        ws.send(json.dumps({"kind": "other"}))
        err = json.loads(ws.recv(timeout=30))
        assert err["message"] == "Forbidden" and err["connectionId"] == answer["from"]
    with pytest.raises(InvalidStatus) as e:
        connect(url(c, api, stage="nostage"), open_timeout=30)
    assert e.value.response.status_code == 403


def test_management_api_from_boto3_and_gone_exception(c, recorder):
    fn, q = recorder
    api = ws_api(c, fn, ["$connect"])
    mgmt = c.manage(api, "prod")
    with connect(url(c, api, query="?token=ok"), open_timeout=30, user_agent_header="ws-test/2") as ws:
        cid = events(c, q, lambda s: len(s) >= 1)[0]["requestContext"]["connectionId"]
        info = mgmt.get_connection(ConnectionId=cid)
        assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "ws-test/2"}
        assert info["ConnectedAt"] <= info["LastActiveAt"]
        mgmt.post_to_connection(ConnectionId=cid, Data=b"from outside")
        assert ws.recv(timeout=10) == "from outside"
        mgmt.post_to_connection(ConnectionId=cid, Data=b"\xff\xfe")
        assert ws.recv(timeout=10) == b"\xff\xfe"
        with pytest.raises(ClientError) as e:
            mgmt.post_to_connection(ConnectionId=cid, Data=b"x" * (128 * 1024 + 1))
        assert e.value.response["Error"]["Code"] == "PayloadTooLargeException"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
        mgmt.delete_connection(ConnectionId=cid)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    for call in (lambda: mgmt.post_to_connection(ConnectionId=cid, Data=b"late"),
                 lambda: mgmt.get_connection(ConnectionId=cid),
                 lambda: mgmt.delete_connection(ConnectionId=cid),
                 lambda: mgmt.get_connection(ConnectionId="neverExisted=")):
        with pytest.raises(mgmt.exceptions.GoneException) as e:
            call()
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


def node_sdk_layer() -> bytes:
    """The AWS SDK for JavaScript v3 (tests/node) as a layer: /opt/nodejs/node_modules."""
    root = Path(__file__).parent / "node" / "node_modules"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                z.write(path, "nodejs/node_modules/" + str(path.relative_to(root)))
    return buf.getvalue()


def test_node_function_posts_with_the_js_sdk_v3(c):
    layer = c.lam.publish_layer_version(LayerName=unique("aws-sdk-js"), Content={"ZipFile": node_sdk_layer()},
                                        CompatibleRuntimes=["nodejs20.x"])
    name, fn = create(c.lam, NODE_ECHO, runtime="nodejs20.x", handler="index.handler",
                      Layers=[layer["LayerVersionArn"]], Timeout=30)
    allow_apigateway(c, name)
    api = ws_api(c, fn["FunctionArn"], ["shout"])
    with connect(url(c, api), open_timeout=30) as ws:
        ws.send(json.dumps({"action": "shout", "data": "hi there"}))
        assert ws.recv(timeout=60) == "node:HI THERE"


def test_oversized_messages_close_the_connection(c, recorder):
    fn, _ = recorder
    api = ws_api(c, fn, ["$default"])
    with connect(url(c, api), open_timeout=30, max_size=None) as ws:
        ws.send("x" * (128 * 1024 + 10))
        with pytest.raises(ConnectionClosed) as e:
            ws.recv(timeout=10)
    assert e.value.rcvd is not None and e.value.rcvd.code == 1009


def test_connections_of_a_killed_server_are_gone_after_restart(server_factory):
    srv = server_factory()
    kw = dict(endpoint_url=srv.endpoint, region_name=REGION, aws_access_key_id="test",
              aws_secret_access_key="test")
    v2 = boto3.client("apigatewayv2", **kw)
    api = v2.create_api(Name=unique("ws"), ProtocolType="WEBSOCKET",
                        RouteSelectionExpression="$request.body.action")["ApiId"]
    mock = v2.create_integration(ApiId=api, IntegrationType="MOCK",
                                 RequestTemplates={"$default": '{"statusCode": 200}'})["IntegrationId"]
    v2.create_integration_response(ApiId=api, IntegrationId=mock, IntegrationResponseKey="$default",
                                   ResponseTemplates={"$default": "$context.connectionId"})
    route = v2.create_route(ApiId=api, RouteKey="$default", Target=f"integrations/{mock}",
                            RouteResponseSelectionExpression="$default")
    v2.create_route_response(ApiId=api, RouteId=route["RouteId"], RouteResponseKey="$default")
    v2.create_stage(ApiId=api, StageName="prod", AutoDeploy=True)
    mgmt = boto3.client("apigatewaymanagementapi", endpoint_url=f"{srv.endpoint}/_aws/execute-api/{api}/prod",
                        region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    ws = connect(f"ws://127.0.0.1:{srv.port}/_aws/execute-api/{api}/prod", open_timeout=30)
    ws.send("who am i")
    cid = ws.recv(timeout=10)
    assert mgmt.get_connection(ConnectionId=cid)["Identity"]["SourceIp"] == "127.0.0.1"
    srv.kill()
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=10)
    srv.start(timeout=10)
    with pytest.raises(mgmt.exceptions.GoneException):
        mgmt.post_to_connection(ConnectionId=cid, Data=b"anyone?")
    # The API and its deployment survived: new connections work.
    with connect(f"ws://127.0.0.1:{srv.port}/_aws/execute-api/{api}/prod", open_timeout=30) as again:
        again.send("who am i")
        assert again.recv(timeout=10) not in ("", cid)
