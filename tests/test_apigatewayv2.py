"""API Gateway v2 HTTP APIs: the control plane with boto3's `apigatewayv2` client, and stages
served through the execute-api door (by host and by the `/_aws/execute-api/` path) with plain
HTTP clients: quick create, routing, the Lambda proxy payload 2.0 event and response rules,
payload 1.0, HTTP_PROXY, named stages, CORS preflights and AWS's error answers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from sqs_helpers import REGION, client_config, unique
from test_lambda import create, zip_of

ACCOUNT = "000000000000"

ECHO = zip_of({"app.py": """
import json
def handler(event, context):
    body = event.get("body")
    if body and body.startswith("{") and "respond" in body:
        return json.loads(body)["respond"]
    if body == "fail":
        raise ValueError("asked to fail")
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
"""})


@pytest.fixture(scope="module")
def c(target):
    kw = dict(endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    s = boto3.session.Session()

    class Clients:
        v2 = s.client("apigatewayv2", **kw)
        v1 = s.client("apigateway", **kw)
        lam = s.client("lambda", config=client_config(read_timeout=60), **kw)
        endpoint = target.endpoint
        port = target.port
    return Clients


@pytest.fixture
def echo(c):
    """The echo function, which lets every API of the account invoke it."""
    name, r = create(c.lam, ECHO)
    c.lam.add_permission(FunctionName=name, StatementId="apigw", Action="lambda:InvokeFunction",
                         Principal="apigateway.amazonaws.com",
                         SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*")
    return r["FunctionArn"]


def call(c, api, path="/", method="GET", **kw):
    return requests.request(method, f"{c.endpoint}/_aws/execute-api/{api}{path}", **kw)


def by_host(c, api, path="/", method="GET", **kw):
    headers = dict(kw.pop("headers", {}))
    headers["Host"] = f"{api}.execute-api.localhost:{c.port}"
    return requests.request(method, f"{c.endpoint}{path}", headers=headers, **kw)


def quick(c, fn, **kw):
    return c.v2.create_api(Name=unique("http"), ProtocolType="HTTP", Target=fn, **kw)


def api_with_routes(c, fn, keys, payload="2.0", stage="$default", **stage_kw):
    api = c.v2.create_api(Name=unique("http"), ProtocolType="HTTP")["ApiId"]
    integ = c.v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY", IntegrationUri=fn,
                                    PayloadFormatVersion=payload)["IntegrationId"]
    for k in keys:
        c.v2.create_route(ApiId=api, RouteKey=k, Target=f"integrations/{integ}")
    c.v2.create_stage(ApiId=api, StageName=stage, AutoDeploy=True, **stage_kw)
    return api


# ----------------------------------------------------------------------------- control plane

def test_quick_create_and_invoke(c, echo):
    created = quick(c, echo)
    api = created["ApiId"]
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert len(api) == 10 and api.isalnum()
    assert created["ApiEndpoint"] == f"http://{api}.execute-api.localhost:{c.port}"
    assert created["ApiKeySelectionExpression"] == "$request.header.x-api-key"
    assert created["RouteSelectionExpression"] == "$request.method $request.path"
    assert created["DisableExecuteApiEndpoint"] is False
    assert created["ProtocolType"] == "HTTP" and "CreatedDate" in created
    routes = c.v2.get_routes(ApiId=api)["Items"]
    assert [r["RouteKey"] for r in routes] == ["$default"]
    integ = c.v2.get_integrations(ApiId=api)["Items"][0]
    assert integ["IntegrationType"] == "AWS_PROXY" and integ["PayloadFormatVersion"] == "2.0"
    assert integ["TimeoutInMillis"] == 30000 and integ["IntegrationMethod"] == "POST"
    assert routes[0]["Target"] == f"integrations/{integ['IntegrationId']}"
    stage = c.v2.get_stage(ApiId=api, StageName="$default")
    assert stage["AutoDeploy"] is True and stage["DeploymentId"]
    assert stage["DeploymentId"] in stage["LastDeploymentStatusMessage"]

    r = by_host(c, api, "/anything/here?a=1")
    assert r.status_code == 200, r.text
    assert r.headers["apigw-requestid"]
    event = r.json()
    assert event["routeKey"] == "$default" and event["rawPath"] == "/anything/here"
    assert event["requestContext"]["requestId"] == r.headers["apigw-requestid"]
    assert call(c, api, "/x").json()["rawPath"] == "/x"


def test_api_lifecycle_pagination_and_errors(c):
    ids = [c.v2.create_api(Name=unique("p"), ProtocolType="HTTP", Description="d")["ApiId"] for _ in range(3)]
    got = c.v2.get_api(ApiId=ids[0])
    assert got["Description"] == "d" and got["ApiId"] == ids[0]
    seen, token = [], None
    while True:
        page = c.v2.get_apis(MaxResults="2", **({"NextToken": token} if token else {}))
        assert len(page["Items"]) <= 2
        seen += [a["ApiId"] for a in page["Items"]]
        token = page.get("NextToken")
        if not token:
            break
    assert set(ids) <= set(seen)
    updated = c.v2.update_api(ApiId=ids[0], Name="renamed",
                              CorsConfiguration={"AllowOrigins": ["https://a.example"]})
    assert updated["Name"] == "renamed"
    assert updated["CorsConfiguration"] == {"AllowOrigins": ["https://a.example"]}
    c.v2.delete_cors_configuration(ApiId=ids[0])
    assert "CorsConfiguration" not in c.v2.get_api(ApiId=ids[0])
    assert c.v2.delete_api(ApiId=ids[0])["ResponseMetadata"]["HTTPStatusCode"] == 204

    with pytest.raises(ClientError) as e:
        c.v2.get_api(ApiId=ids[0])
    err = e.value.response
    assert err["Error"]["Code"] == "NotFoundException" and err["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert ids[0] in err["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        c.v2.create_api(Name="http", ProtocolType="HTTP", RouteSelectionExpression="$request.body.action")
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    with pytest.raises(ClientError) as e:
        c.v2.get_models(ApiId=ids[1])
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    assert "not supported" in e.value.response["Error"]["Message"]
    # REST APIs answer on the same signing name.
    assert c.v1.get_rest_apis()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_routes_integrations_and_their_errors(c, echo):
    api = c.v2.create_api(Name=unique("r"), ProtocolType="HTTP")["ApiId"]
    with pytest.raises(ClientError) as e:
        c.v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY", IntegrationUri=echo)
    assert e.value.response["Error"]["Code"] == "BadRequestException"  # no payload format version
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{echo}/invocations"
    integ = c.v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY", IntegrationUri=uri,
                                    PayloadFormatVersion="1.0", TimeoutInMillis=5000)
    assert integ["TimeoutInMillis"] == 5000 and integ["ConnectionType"] == "INTERNET"
    route = c.v2.create_route(ApiId=api, RouteKey="GET /pets/{id}", Target=f"integrations/{integ['IntegrationId']}")
    assert route["AuthorizationType"] == "NONE" and route["ApiKeyRequired"] is False
    with pytest.raises(ClientError) as e:
        c.v2.create_route(ApiId=api, RouteKey="GET /pets/{id}")
    assert e.value.response["Error"]["Code"] == "ConflictException"
    for bad in ["GET pets", "FETCH /a", "GET /{proxy+}/x"]:
        with pytest.raises(ClientError) as e:
            c.v2.create_route(ApiId=api, RouteKey=bad)
        assert e.value.response["Error"]["Code"] == "BadRequestException", bad
    with pytest.raises(ClientError) as e:
        c.v2.create_route(ApiId=api, RouteKey="GET /x", Target="integrations/nope")
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    updated = c.v2.update_route(ApiId=api, RouteId=route["RouteId"], RouteKey="POST /pets/{id}")
    assert updated["RouteKey"] == "POST /pets/{id}"
    assert c.v2.get_route(ApiId=api, RouteId=route["RouteId"])["RouteKey"] == "POST /pets/{id}"
    got = c.v2.update_integration(ApiId=api, IntegrationId=integ["IntegrationId"], PayloadFormatVersion="2.0")
    assert got["PayloadFormatVersion"] == "2.0"
    with pytest.raises(ClientError) as e:
        c.v2.get_route(ApiId=api, RouteId="nope")
    assert e.value.response["Error"]["Code"] == "NotFoundException"
    c.v2.delete_route(ApiId=api, RouteId=route["RouteId"])
    assert c.v2.get_routes(ApiId=api)["Items"] == []
    c.v2.delete_integration(ApiId=api, IntegrationId=integ["IntegrationId"])
    assert c.v2.get_integrations(ApiId=api)["Items"] == []


def test_stages_deployments_and_tags(c, echo):
    api = c.v2.create_api(Name=unique("s"), ProtocolType="HTTP", Tags={"a": "1"})["ApiId"]
    stage = c.v2.create_stage(ApiId=api, StageName="prod", StageVariables={"v": "1"})
    assert stage["AutoDeploy"] is False and "DeploymentId" not in stage
    with pytest.raises(ClientError) as e:
        c.v2.create_stage(ApiId=api, StageName="prod")
    assert e.value.response["Error"]["Code"] == "ConflictException"
    dep = c.v2.create_deployment(ApiId=api, StageName="prod", Description="first")
    assert dep["DeploymentStatus"] == "DEPLOYED" and dep["AutoDeployed"] is False
    assert c.v2.get_stage(ApiId=api, StageName="prod")["DeploymentId"] == dep["DeploymentId"]
    assert [d["DeploymentId"] for d in c.v2.get_deployments(ApiId=api)["Items"]] == [dep["DeploymentId"]]
    assert c.v2.get_deployment(ApiId=api, DeploymentId=dep["DeploymentId"])["Description"] == "first"
    assert c.v2.update_stage(ApiId=api, StageName="prod", StageVariables={"v": "2"})["StageVariables"] == {"v": "2"}

    arn = f"arn:aws:apigateway:{REGION}::/apis/{api}"
    assert c.v2.get_tags(ResourceArn=arn)["Tags"] == {"a": "1"}
    c.v2.tag_resource(ResourceArn=arn, Tags={"b": "2"})
    c.v2.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert c.v2.get_tags(ResourceArn=arn)["Tags"] == {"b": "2"}
    assert c.v2.get_api(ApiId=api)["Tags"] == {"b": "2"}
    stage_arn = f"{arn}/stages/prod"
    c.v2.tag_resource(ResourceArn=stage_arn, Tags={"s": "1"})
    assert c.v2.get_tags(ResourceArn=stage_arn)["Tags"] == {"s": "1"}
    with pytest.raises(ClientError) as e:
        c.v2.get_tags(ResourceArn=f"arn:aws:apigateway:{REGION}::/apis/nope000000")
    assert e.value.response["Error"]["Code"] == "NotFoundException"
    c.v2.delete_stage(ApiId=api, StageName="prod")
    assert c.v2.get_stages(ApiId=api)["Items"] == []


# ----------------------------------------------------------------------------- data plane

def test_routing_and_path_parameters(c, echo):
    api = api_with_routes(c, echo, ["GET /pets/{id}", "GET /pets/{proxy+}", "ANY /pets/{id}", "GET /pets/dog/1"])
    def route(method, path):
        r = call(c, api, path, method)
        return r.status_code, (r.json().get("routeKey"), r.json().get("pathParameters")) if r.ok else r.json()
    assert route("GET", "/pets/dog/1") == (200, ("GET /pets/dog/1", None))
    assert route("GET", "/pets/7") == (200, ("GET /pets/{id}", {"id": "7"}))
    assert route("DELETE", "/pets/7") == (200, ("ANY /pets/{id}", {"id": "7"}))
    assert route("GET", "/pets/a/b/c") == (200, ("GET /pets/{proxy+}", {"proxy": "a/b/c"}))
    assert route("GET", "/cats") == (404, {"message": "Not Found"})
    assert route("POST", "/pets/a/b") == (404, {"message": "Not Found"})
    # A route added later is served at once on an auto-deploying stage.
    integ = c.v2.get_integrations(ApiId=api)["Items"][0]["IntegrationId"]
    c.v2.create_route(ApiId=api, RouteKey="$default", Target=f"integrations/{integ}")
    assert route("GET", "/cats") == (200, ("$default", None))


def test_payload_2_event_field_by_field(c, echo):
    api = api_with_routes(c, echo, ["POST /items/{id}"], StageVariables={"color": "blue"})
    r = by_host(c, api, "/items/42?x=1&x=2&y=3", "POST", data='{"hello": "world"}',
                headers={"Content-Type": "application/json", "Cookie": "a=1; b=2", "X-Multi": "v1",
                         "User-Agent": "tester/1"})
    assert r.status_code == 200, r.text
    e = r.json()
    assert e["version"] == "2.0"
    assert e["routeKey"] == "POST /items/{id}"
    assert e["rawPath"] == "/items/42"
    assert e["rawQueryString"] == "x=1&x=2&y=3"
    assert e["cookies"] == ["a=1", "b=2"]
    assert e["queryStringParameters"] == {"x": "1,2", "y": "3"}
    assert e["pathParameters"] == {"id": "42"}
    assert e["stageVariables"] == {"color": "blue"}
    assert e["body"] == '{"hello": "world"}' and e["isBase64Encoded"] is False
    h = e["headers"]
    assert all(k == k.lower() for k in h)
    assert h["content-type"] == "application/json" and h["x-multi"] == "v1"
    assert h["x-forwarded-proto"] == "http" and "x-forwarded-for" in h
    assert "cookie" not in h
    rc = e["requestContext"]
    assert rc["accountId"] == ACCOUNT and rc["apiId"] == api
    assert rc["domainName"] == f"{api}.execute-api.localhost:{c.port}" and rc["domainPrefix"] == api
    assert rc["http"] == {"method": "POST", "path": "/items/42", "protocol": "HTTP/1.1",
                          "sourceIp": rc["http"]["sourceIp"], "userAgent": "tester/1"}
    assert rc["routeKey"] == "POST /items/{id}" and rc["stage"] == "$default"
    assert rc["requestId"] == r.headers["apigw-requestid"]
    assert isinstance(rc["timeEpoch"], int) and rc["time"].endswith(" +0000")
    for absent in ["multiValueHeaders", "multiValueQueryStringParameters"]:
        assert absent not in e
    # Without a query, cookies, body or parameters those fields are absent.
    bare = by_host(c, api, "/items/1", "POST").json()
    assert bare["rawQueryString"] == "" and "cookies" not in bare and "queryStringParameters" not in bare
    assert "body" not in bare
    # A binary body arrives base64-encoded.
    b = by_host(c, api, "/items/1", "POST", data=b"\x00\x01", headers={"Content-Type": "application/octet-stream"})
    assert b.json()["isBase64Encoded"] is True and b.json()["body"] == "AAE="


def respond(c, api, answer):
    return call(c, api, "/", "POST", data=json.dumps({"respond": answer}), headers={"Content-Type": "application/json"})


def test_structured_and_simple_responses_and_cookies(c, echo):
    api = quick(c, echo)["ApiId"]
    r = respond(c, api, {"statusCode": 201, "headers": {"x-a": "1"}, "cookies": ["s=1; Path=/", "t=2"],
                         "body": "created"})
    assert r.status_code == 201 and r.text == "created" and r.headers["x-a"] == "1"
    assert r.raw.headers.getlist("Set-Cookie") == ["s=1; Path=/", "t=2"]
    r = respond(c, api, {"statusCode": 200, "body": "aGVsbG8=", "isBase64Encoded": True})
    assert r.content == b"hello"
    r = respond(c, api, "just a string")
    assert (r.status_code, r.text, r.headers["content-type"]) == (200, "just a string", "application/json")
    r = respond(c, api, {"message": "no status"})
    assert r.status_code == 200 and r.json() == {"message": "no status"}
    r = respond(c, api, 7)
    assert r.status_code == 200 and r.text == "7"
    r = call(c, api, "/", "POST", data="fail", headers={"Content-Type": "text/plain"})
    assert (r.status_code, r.json()) == (500, {"message": "Internal Server Error"})
    r = respond(c, api, {"statusCode": "abc"})
    assert (r.status_code, r.json()) == (500, {"message": "Internal Server Error"})


def test_payload_1_and_named_stage(c, echo):
    api = api_with_routes(c, echo, ["GET /v/{id}"], payload="1.0", stage="prod")
    r = call(c, api, "/prod/v/9?q=1&q=2", headers={"X-A": "1"})
    assert r.status_code == 200, r.text
    e = r.json()
    assert e["version"] == "1.0" and e["resource"] == "/v/{id}" and e["httpMethod"] == "GET"
    assert e["path"] == "/prod/v/9"
    assert e["multiValueQueryStringParameters"] == {"q": ["1", "2"]} and e["queryStringParameters"] == {"q": "2"}
    assert e["pathParameters"] == {"id": "9"} and e["requestContext"]["stage"] == "prod"
    # A bare value is no valid 1.0 answer.
    assert respond(c, api, "x").status_code == 404  # no route for POST /
    c.v2.update_integration(ApiId=api, IntegrationId=c.v2.get_integrations(ApiId=api)["Items"][0]["IntegrationId"],
                            PayloadFormatVersion="2.0")
    e = call(c, api, "/prod/v/9").json()
    assert e["rawPath"] == "/prod/v/9" and e["requestContext"]["http"]["path"] == "/prod/v/9"
    assert e["requestContext"]["stage"] == "prod"
    assert call(c, api, "/v/9").status_code == 404  # no $default stage


def test_the_functions_permission_is_checked(c):
    name, r = create(c.lam, ECHO)
    api = quick(c, r["FunctionArn"])["ApiId"]
    assert call(c, api, "/").json() == {"message": "Internal Server Error"}
    c.lam.add_permission(FunctionName=name, StatementId="apigw", Action="lambda:InvokeFunction",
                         Principal="apigateway.amazonaws.com",
                         SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*/$default")
    import time
    time.sleep(1.1)  # found permissions are reused for a second
    assert call(c, api, "/").status_code == 200


def test_cors_preflight_and_headers(c, echo):
    api = quick(c, echo, CorsConfiguration={"AllowOrigins": ["https://a.example"], "AllowMethods": ["GET", "POST"],
                                            "AllowHeaders": ["x-custom"], "ExposeHeaders": ["x-out"],
                                            "MaxAge": 300})["ApiId"]
    r = call(c, api, "/x", "OPTIONS", headers={"Origin": "https://a.example",
                                              "Access-Control-Request-Method": "POST"})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "https://a.example"
    assert r.headers["access-control-allow-methods"] == "GET,POST"
    assert r.headers["access-control-allow-headers"] == "x-custom"
    assert r.headers["access-control-max-age"] == "300"
    r = call(c, api, "/x", "OPTIONS", headers={"Origin": "https://b.example", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 204 and "access-control-allow-origin" not in r.headers
    r = call(c, api, "/x", headers={"Origin": "https://a.example"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://a.example"
    assert r.headers["access-control-expose-headers"] == "x-out"


def test_http_proxy(c):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"path": self.path, "fwd": self.headers.get("x-forwarded-for")}).encode()
            self.send_response(203)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Backend", "yes")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        api = c.v2.create_api(Name=unique("h"), ProtocolType="HTTP")["ApiId"]
        integ = c.v2.create_integration(ApiId=api, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
                                        IntegrationUri=f"http://127.0.0.1:{port}/base/{{proxy}}",
                                        PayloadFormatVersion="1.0")
        c.v2.create_route(ApiId=api, RouteKey="GET /{proxy+}", Target=f"integrations/{integ['IntegrationId']}")
        c.v2.create_stage(ApiId=api, StageName="$default", AutoDeploy=True)
        r = call(c, api, "/a/b?z=1")
        assert r.status_code == 203 and r.headers["X-Backend"] == "yes"
        assert r.json()["path"] == "/base/a/b?z=1" and r.json()["fwd"]
    finally:
        server.shutdown()


def test_unknown_api_and_v1_side_by_side(c, echo):
    assert call(c, "nope000000", "/x").status_code in (403, 404)
    rest = c.v1.create_rest_api(name=unique("rest"))["id"]
    assert c.v1.get_rest_api(restApiId=rest)["id"] == rest
    with pytest.raises(ClientError) as e:
        c.v2.get_api(ApiId=rest)
    assert e.value.response["Error"]["Code"] == "NotFoundException"


SLOW = zip_of({"app.py": """
import time
def handler(event, context):
    time.sleep(2)
    return "late"
"""})


def test_integration_timeout_answers_504(c):
    name, r = create(c.lam, SLOW, Timeout=10)
    c.lam.add_permission(FunctionName=name, StatementId="apigw", Action="lambda:InvokeFunction",
                         Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*")
    api = c.v2.create_api(Name=unique("t"), ProtocolType="HTTP")["ApiId"]
    integ = c.v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY", IntegrationUri=r["FunctionArn"],
                                    PayloadFormatVersion="2.0", TimeoutInMillis=500)["IntegrationId"]
    c.v2.create_route(ApiId=api, RouteKey="GET /slow", Target=f"integrations/{integ}")
    c.v2.create_stage(ApiId=api, StageName="$default", AutoDeploy=True)
    r = call(c, api, "/slow")
    assert (r.status_code, r.json()) == (504, {"message": "Endpoint request timed out"})
    assert r.headers["apigw-requestid"]


def test_access_logs_reach_cloudwatch_logs(c, echo, target):
    import time
    logs = boto3.client("logs", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
                        aws_secret_access_key="test")
    group = unique("/http-api/access")
    logs.create_log_group(logGroupName=group)
    api = quick(c, echo)["ApiId"]
    c.v2.update_stage(ApiId=api, StageName="$default", AccessLogSettings={
        "DestinationArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}",
        "Format": '{"id":"$context.requestId","route":"$context.routeKey","status":"$context.status"}'})
    r = call(c, api, "/anything")
    assert r.status_code == 200
    deadline, events = time.time() + 5, []
    while not events and time.time() < deadline:
        events = logs.filter_log_events(logGroupName=group)["events"]
        time.sleep(0.1)
    assert [json.loads(e["message"]) for e in events] == [
        {"id": r.headers["apigw-requestid"], "route": "$default", "status": "200"}]


# ----------------------------------------------------------------------------- OpenAPI

OPENAPI = """
openapi: "3.0.1"
info:
  title: pets-imported
  version: "2024-01-01"
  description: imported from OpenAPI
x-amazon-apigateway-cors:
  allowOrigins: ["https://a.example"]
  allowMethods: ["GET"]
components:
  securitySchemes:
    my-jwt:
      type: oauth2
      flows: {}
      x-amazon-apigateway-authorizer:
        type: jwt
        identitySource: "$request.header.Authorization"
        jwtConfiguration:
          issuer: "http://127.0.0.1:9/issuer"
          audience: ["aud-1"]
paths:
  /pets/{id}:
    get:
      operationId: getPet
      x-amazon-apigateway-integration:
        type: aws_proxy
        uri: FUNCTION
        payloadFormatVersion: "2.0"
    delete:
      security:
        - my-jwt: ["pets/delete"]
      x-amazon-apigateway-integration:
        type: aws_proxy
        uri: FUNCTION
        payloadFormatVersion: "2.0"
  /$default:
    x-amazon-apigateway-any-method:
      x-amazon-apigateway-integration:
        type: aws_proxy
        uri: FUNCTION
        payloadFormatVersion: "1.0"
"""


def test_import_reimport_and_export_openapi(c, echo):
    body = OPENAPI.replace("FUNCTION", echo)
    api = c.v2.import_api(Body=body)
    api_id = api["ApiId"]
    assert api["Name"] == "pets-imported" and api["Version"] == "2024-01-01"
    assert api["CorsConfiguration"]["AllowOrigins"] == ["https://a.example"]
    routes = {r["RouteKey"]: r for r in c.v2.get_routes(ApiId=api_id)["Items"]}
    assert set(routes) == {"GET /pets/{id}", "DELETE /pets/{id}", "$default"}
    assert routes["GET /pets/{id}"]["OperationName"] == "getPet"
    assert routes["DELETE /pets/{id}"]["AuthorizationType"] == "JWT"
    assert routes["DELETE /pets/{id}"]["AuthorizationScopes"] == ["pets/delete"]
    integrations = c.v2.get_integrations(ApiId=api_id)["Items"]
    assert sorted(i["PayloadFormatVersion"] for i in integrations) == ["1.0", "2.0"], "identical ones are shared"
    auth = c.v2.get_authorizers(ApiId=api_id)["Items"]
    assert auth[0]["Name"] == "my-jwt" and auth[0]["JwtConfiguration"]["Audience"] == ["aud-1"]
    c.v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    r = call(c, api_id, "/pets/7")
    assert r.status_code == 200 and r.json()["pathParameters"] == {"id": "7"}
    assert call(c, api_id, "/pets/7", method="DELETE").status_code == 401
    assert call(c, api_id, "/other").json()["version"] == "1.0"

    exported = json.loads(c.v2.export_api(ApiId=api_id, Specification="OAS30", OutputType="JSON")["body"].read())
    assert exported["openapi"].startswith("3.0") and exported["info"]["title"] == "pets-imported"
    get = exported["paths"]["/pets/{id}"]["get"]
    assert get["operationId"] == "getPet" and get["x-amazon-apigateway-integration"]["uri"] == echo
    assert exported["paths"]["/pets/{id}"]["delete"]["security"] == [{"my-jwt": ["pets/delete"]}]
    assert "x-amazon-apigateway-any-method" in exported["paths"]["/$default"]
    assert exported["components"]["securitySchemes"]["my-jwt"]["x-amazon-apigateway-authorizer"]["type"] == "jwt"
    bare = c.v2.export_api(ApiId=api_id, Specification="OAS30", OutputType="YAML", IncludeExtensions=False)
    text = bare["body"].read().decode()
    assert "openapi:" in text and "x-amazon-apigateway-integration" not in text
    # The export imports again into an equal API.
    again = c.v2.import_api(Body=json.dumps(exported))["ApiId"]
    assert {r["RouteKey"] for r in c.v2.get_routes(ApiId=again)["Items"]} == set(routes)

    # Reimport replaces the routes (overwrite).
    smaller = body.split("  /$default:")[0]
    c.v2.reimport_api(ApiId=api_id, Body=smaller)
    assert {r["RouteKey"] for r in c.v2.get_routes(ApiId=api_id)["Items"]} == {"GET /pets/{id}", "DELETE /pets/{id}"}
    assert call(c, api_id, "/other").status_code == 404

    with pytest.raises(ClientError) as e:
        c.v2.import_api(Body='{"swagger": "2.0", "info": {"title": "x"}}')
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    bad = body.replace("type: jwt", "type: cognito")
    with pytest.raises(ClientError) as e:
        c.v2.import_api(Body=bad, FailOnWarnings=True)
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    created = c.v2.import_api(Body=bad)
    assert created["Warnings"] and "cognito" in created["Warnings"][0]


# ----------------------------------------------------------------------------- parameter mapping

def test_parameter_mapping_on_requests_and_responses(c):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Upstream", "up")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        api = c.v2.create_api(Name=unique("map"), ProtocolType="HTTP")["ApiId"]
        with pytest.raises(ClientError) as e:
            c.v2.create_integration(ApiId=api, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
                                    IntegrationUri=f"http://127.0.0.1:{port}/", PayloadFormatVersion="1.0",
                                    RequestParameters={"insert:header.x": "y"})
        assert e.value.response["Error"]["Code"] == "BadRequestException"
        integ = c.v2.create_integration(
            ApiId=api, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
            IntegrationUri=f"http://127.0.0.1:{port}/base/{{proxy}}", PayloadFormatVersion="1.0",
            RequestParameters={
                "append:header.x-request-id": "$context.requestId",
                "overwrite:header.x-user": "user-${request.querystring.user}",
                "remove:header.x-secret": "''",
                "overwrite:querystring.added": "$request.header.x-in",
                "remove:querystring.drop": "''",
                "overwrite:path": "/rewritten/$request.path.proxy",
            },
            ResponseParameters={"200": {"append:header.x-mapped": "from-$response.header.x-upstream",
                                        "overwrite:statuscode": "202"}})
        c.v2.create_route(ApiId=api, RouteKey="GET /{proxy+}", Target=f"integrations/{integ['IntegrationId']}")
        c.v2.create_stage(ApiId=api, StageName="$default", AutoDeploy=True)
        r = call(c, api, "/things/1?user=bob&drop=1", headers={"x-secret": "s", "x-in": "v"})
        assert r.status_code == 202, r.text
        assert r.headers["x-mapped"] == "from-up"
        seen = r.json()
        path, _, query = seen["path"].partition("?")
        assert path == "/rewritten/things/1"
        assert sorted(query.split("&")) == ["added=v", "user=bob"]
        assert seen["headers"]["x-user"] == "user-bob" and "x-secret" not in seen["headers"]
        assert seen["headers"]["x-request-id"] == r.headers["apigw-requestid"]
    finally:
        server.shutdown()


def test_sqs_and_kinesis_service_integrations(c, target):
    kw = dict(endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    sqs, kinesis = boto3.client("sqs", **kw), boto3.client("kinesis", **kw)
    queue = sqs.create_queue(QueueName=unique("svc"))["QueueUrl"]
    stream = unique("svc")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    api = c.v2.create_api(Name=unique("svc"), ProtocolType="HTTP")["ApiId"]
    with pytest.raises(ClientError) as e:
        c.v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY", IntegrationSubtype="SQS-SendMessage",
                                PayloadFormatVersion="1.0", RequestParameters={"QueueUrl": queue})
    assert "MessageBody" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        c.v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY", IntegrationSubtype="StepFunctions-StartExecution",
                                PayloadFormatVersion="1.0", RequestParameters={"StateMachineArn": "x"})
    assert e.value.response["Error"]["Code"] == "BadRequestException"

    def route(key, subtype, params):
        integ = c.v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY", IntegrationSubtype=subtype,
                                        PayloadFormatVersion="1.0", RequestParameters=params,
                                        CredentialsArn=f"arn:aws:iam::{ACCOUNT}:role/apigw")
        c.v2.create_route(ApiId=api, RouteKey=key, Target=f"integrations/{integ['IntegrationId']}")

    route("POST /send", "SQS-SendMessage", {"QueueUrl": queue, "MessageBody": "$request.body.message",
                                           "DelaySeconds": "0"})
    route("GET /receive", "SQS-ReceiveMessage", {"QueueUrl": queue, "MaxNumberOfMessages": "5"})
    route("DELETE /message", "SQS-DeleteMessage", {"QueueUrl": queue, "ReceiptHandle": "$request.header.x-handle"})
    route("POST /purge", "SQS-PurgeQueue", {"QueueUrl": queue})
    route("POST /record", "Kinesis-PutRecord", {"StreamName": stream, "Data": "$request.body.data",
                                                "PartitionKey": "$request.body.key"})
    c.v2.create_stage(ApiId=api, StageName="$default", AutoDeploy=True)

    sent = call(c, api, "/send", "POST", json={"message": "through the api"})
    assert sent.status_code == 200, sent.text
    assert sent.json()["MessageId"]
    got = call(c, api, "/receive").json()
    assert [m["Body"] for m in got["Messages"]] == ["through the api"]
    handle = got["Messages"][0]["ReceiptHandle"]
    assert call(c, api, "/message", "DELETE", headers={"x-handle": handle}).status_code == 200
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)
    call(c, api, "/send", "POST", json={"message": "again"})
    assert call(c, api, "/purge", "POST").status_code == 200
    put = call(c, api, "/record", "POST", json={"data": "hello kinesis", "key": "k1"})
    assert put.status_code == 200, put.text
    assert put.json()["ShardId"] and put.json()["SequenceNumber"]
    shard = kinesis.describe_stream(StreamName=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=it)["Records"]] == [b"hello kinesis"]
    # A service error is the route's answer.
    bad = call(c, api, "/message", "DELETE", headers={"x-handle": "not-a-handle"})
    assert bad.status_code == 400


# ----------------------------------------------------------------------------- domains, throttling

def test_custom_domain_names_and_api_mappings(c, echo):
    api = quick(c, echo)["ApiId"]
    named = c.v2.create_api(Name=unique("named"), ProtocolType="HTTP")["ApiId"]
    integ = c.v2.create_integration(ApiId=named, IntegrationType="AWS_PROXY", IntegrationUri=echo,
                                    PayloadFormatVersion="2.0")["IntegrationId"]
    c.v2.create_route(ApiId=named, RouteKey="GET /{proxy+}", Target=f"integrations/{integ}")
    c.v2.create_stage(ApiId=named, StageName="live", AutoDeploy=True)
    domain = f"{unique('api')}.example.com"
    created = c.v2.create_domain_name(DomainName=domain,
                                      DomainNameConfigurations=[{"EndpointType": "REGIONAL"}])
    conf = created["DomainNameConfigurations"][0]
    assert conf["ApiGatewayDomainName"].startswith("d-") and conf["DomainNameStatus"] == "AVAILABLE"
    assert created["ApiMappingSelectionExpression"] == "$request.basepath"
    with pytest.raises(ClientError) as e:
        c.v2.create_domain_name(DomainName=domain)
    assert e.value.response["Error"]["Code"] == "ConflictException"
    root = c.v2.create_api_mapping(DomainName=domain, ApiId=api, Stage="$default")
    orders = c.v2.create_api_mapping(DomainName=domain, ApiId=named, Stage="live", ApiMappingKey="v1/orders")
    assert orders["ApiMappingKey"] == "v1/orders"
    with pytest.raises(ClientError) as e:
        c.v2.create_api_mapping(DomainName=domain, ApiId=named, Stage="live", ApiMappingKey="v1/orders")
    assert e.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(ClientError) as e:
        c.v2.create_api_mapping(DomainName=domain, ApiId=named, Stage="nope", ApiMappingKey="x")
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    assert len(c.v2.get_api_mappings(DomainName=domain)["Items"]) == 2

    def get(path):
        return requests.get(f"{c.endpoint}{path}", headers={"Host": domain})

    r = get("/v1/orders/7")
    assert r.status_code == 200, r.text
    assert r.json()["requestContext"]["apiId"] == named and r.json()["pathParameters"] == {"proxy": "7"}
    r = get("/anything")
    assert r.status_code == 200 and r.json()["requestContext"]["apiId"] == api
    c.v2.delete_api_mapping(DomainName=domain, ApiMappingId=root["ApiMappingId"])
    assert get("/anything").status_code in (403, 404)
    assert domain in [d["DomainName"] for d in c.v2.get_domain_names()["Items"]]
    c.v2.delete_api_mapping(DomainName=domain, ApiMappingId=orders["ApiMappingId"])
    c.v2.delete_domain_name(DomainName=domain)
    with pytest.raises(ClientError) as e:
        c.v2.get_domain_name(DomainName=domain)
    assert e.value.response["Error"]["Code"] == "NotFoundException"


def test_route_throttling(c, echo):
    api = c.v2.create_api(Name=unique("thr"), ProtocolType="HTTP")["ApiId"]
    integ = c.v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY", IntegrationUri=echo,
                                    PayloadFormatVersion="2.0")["IntegrationId"]
    c.v2.create_route(ApiId=api, RouteKey="GET /limited", Target=f"integrations/{integ}")
    c.v2.create_route(ApiId=api, RouteKey="GET /free", Target=f"integrations/{integ}")
    c.v2.create_stage(ApiId=api, StageName="$default", AutoDeploy=True,
                      RouteSettings={"GET /limited": {"ThrottlingBurstLimit": 2, "ThrottlingRateLimit": 0.001}})
    codes = [call(c, api, "/limited").status_code for _ in range(4)]
    assert codes[:2] == [200, 200] and codes[2:] == [429, 429]
    r = call(c, api, "/limited")
    assert r.json() == {"message": "Too Many Requests"}
    assert all(call(c, api, "/free").status_code == 200 for _ in range(4))
    c.v2.delete_route_settings(ApiId=api, StageName="$default", RouteKey="GET /limited")
    assert call(c, api, "/limited").status_code == 200


NODE = zip_of({"index.js": """
exports.handler = async (event) => {
  if (event.version === "2.0") {
    // A bare object: API Gateway infers a 200 JSON answer.
    return { runtime: "node", route: event.routeKey, path: event.rawPath, q: event.queryStringParameters };
  }
  return { statusCode: 201, headers: { "x-node": "1" }, multiValueHeaders: { "set-cookie": ["a=1", "b=2"] },
           body: JSON.stringify({ runtime: "node", resource: event.resource, method: event.httpMethod }) };
};
"""})


def test_node_functions_with_payload_2_and_1(c):
    name, fn = create(c.lam, NODE, runtime="nodejs20.x", handler="index.handler")
    c.lam.add_permission(FunctionName=name, StatementId="apigw", Action="lambda:InvokeFunction",
                         Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*")
    arn = fn["FunctionArn"]
    v2 = api_with_routes(c, arn, ["GET /items/{id}"])
    r = call(c, v2, "/items/5?x=1&x=2")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {"runtime": "node", "route": "GET /items/{id}", "path": "/items/5", "q": {"x": "1,2"}}
    v1 = api_with_routes(c, arn, ["POST /things"], payload="1.0")
    r = call(c, v1, "/things", "POST", data="{}")
    assert r.status_code == 201 and r.headers["x-node"] == "1"
    assert r.json() == {"runtime": "node", "resource": "/things", "method": "POST"}
    assert r.raw.headers.getlist("set-cookie") == ["a=1", "b=2"]
