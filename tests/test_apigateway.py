"""API Gateway REST APIs: the control plane with boto3, and deployed stages served through the
execute-api door (by host and by the `/_aws/execute-api/` path) with plain HTTP clients: MOCK
integrations with mapping templates, Lambda proxy integrations with the documented event and
response contract, AWS integrations to Lambda and SQS, HTTP_PROXY, gateway responses, request
validation, API keys with usage plans, Lambda authorizers, and OpenAPI import and export."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from sqs_helpers import REGION, client_config, unique
from test_lambda import ROLE, create, zip_of

ACCOUNT = "000000000000"

PROXY_ECHO = zip_of({"app.py": """
import json
def handler(event, context):
    body = event.get("body")
    if body and "respond" in body:
        return json.loads(body)["respond"]
    return {"statusCode": 200, "headers": {"content-type": "application/json", "x-echo": "1"},
            "multiValueHeaders": {"x-multi": ["a", "b"]}, "body": json.dumps(event)}
"""})

PLAIN = zip_of({"app.py": """
def handler(event, context):
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("Bad thing: " + str(event["fail"]))
    return {"got": event}
"""})

AUTHORIZER = zip_of({"app.py": """
def handler(event, context):
    token = event.get("authorizationToken") or (event.get("headers") or {}).get("X-Token", "")
    if token == "boom":
        raise Exception("Unauthorized")
    effect = "Allow" if token.startswith("allow") else "Deny"
    return {"principalId": "user-" + token, "context": {"tier": "gold", "n": 7, "ok": True},
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]}}
"""})


@pytest.fixture(scope="module")
def c(target):
    kw = dict(endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    s = boto3.session.Session()

    class Clients:
        apigw = s.client("apigateway", **kw)
        lam = s.client("lambda", config=client_config(read_timeout=60), **kw)
        sqs = s.client("sqs", **kw)
        endpoint = target.endpoint
        port = target.port
    return Clients


def url(c, api, stage, path=""):
    return f"{c.endpoint}/_aws/execute-api/{api}/{stage}{path}"


def host_get(c, api, stage, path, **kw):
    """The same request by Host header, as a client resolving *.execute-api.localhost sends it."""
    headers = dict(kw.pop("headers", {}))
    headers["Host"] = f"{api}.execute-api.localhost:{c.port}"
    return requests.request(kw.pop("method", "GET"), f"{c.endpoint}/{stage}{path}", headers=headers, **kw)


def new_api(c, **kw):
    api = c.apigw.create_rest_api(name=unique("api"), **kw)
    return api["id"], api["rootResourceId"]


def function(c, code, name=None, allow_api=None):
    name, r = create(c.lam, code, name=name)
    if allow_api:
        c.lam.add_permission(FunctionName=name, StatementId="apigw", Action="lambda:InvokeFunction",
                             Principal="apigateway.amazonaws.com",
                             SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{allow_api}/*")
    return r["FunctionArn"]


def lambda_uri(fn_arn):
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{fn_arn}/invocations"


def deploy(c, api, stage="test", **kw):
    return c.apigw.create_deployment(restApiId=api, stageName=stage, **kw)["id"]


# ----------------------------------------------------------------------------- control plane

def test_rest_api_lifecycle_resources_and_errors(c):
    created = c.apigw.create_rest_api(name="pets", description="d", tags={"t": "1"})
    api = created["id"]
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert len(api) == 10 and api.isalnum() and api.islower()
    assert created["apiKeySource"] == "HEADER"
    assert created["endpointConfiguration"]["types"] == ["EDGE"]
    assert created["disableExecuteApiEndpoint"] is False
    got = c.apigw.get_rest_api(restApiId=api)
    assert got["name"] == "pets" and got["tags"] == {"t": "1"}
    assert api in [a["id"] for a in c.apigw.get_rest_apis()["items"]]
    models = {m["name"] for m in c.apigw.get_models(restApiId=api)["items"]}
    assert models == {"Empty", "Error"}

    root = [r for r in c.apigw.get_resources(restApiId=api)["items"] if r["path"] == "/"]
    assert root == [{"id": created["rootResourceId"], "path": "/"}]
    pets = c.apigw.create_resource(restApiId=api, parentId=created["rootResourceId"], pathPart="pets")
    assert pets["path"] == "/pets" and pets["parentId"] == created["rootResourceId"]
    pet = c.apigw.create_resource(restApiId=api, parentId=pets["id"], pathPart="{id}")
    assert pet["path"] == "/pets/{id}"
    with pytest.raises(ClientError) as e:
        c.apigw.create_resource(restApiId=api, parentId=pets["id"], pathPart="{other}")
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    with pytest.raises(ClientError) as e:
        c.apigw.create_resource(restApiId=api, parentId=created["rootResourceId"], pathPart="pets")
    assert e.value.response["Error"]["Code"] == "ConflictException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409

    updated = c.apigw.update_rest_api(restApiId=api, patchOperations=[
        {"op": "replace", "path": "/name", "value": "pets2"},
        {"op": "add", "path": "/binaryMediaTypes/image~1png"},
        {"op": "replace", "path": "/minimumCompressionSize", "value": "1024"},
    ])
    assert updated["name"] == "pets2" and updated["binaryMediaTypes"] == ["image/png"]
    assert updated["minimumCompressionSize"] == 1024
    with pytest.raises(ClientError) as e:
        c.apigw.update_rest_api(restApiId=api, patchOperations=[{"op": "replace", "path": "/id", "value": "x"}])
    assert e.value.response["Error"]["Code"] == "BadRequestException"

    c.apigw.delete_resource(restApiId=api, resourceId=pets["id"])
    paths = {r["path"] for r in c.apigw.get_resources(restApiId=api)["items"]}
    assert paths == {"/"}, "a resource is deleted with its children"

    with pytest.raises(ClientError) as e:
        c.apigw.get_rest_api(restApiId="nope123456")
    assert e.value.response["Error"]["Code"] == "NotFoundException"
    assert e.value.response["Error"]["Message"] == f"Invalid API identifier specified {ACCOUNT}:nope123456"
    c.apigw.delete_rest_api(restApiId=api)
    with pytest.raises(ClientError):
        c.apigw.get_rest_api(restApiId=api)


def test_methods_integrations_deployments_and_stages(c):
    api, root = new_api(c)
    with pytest.raises(ClientError) as e:
        c.apigw.create_deployment(restApiId=api, stageName="s")
    assert e.value.response["Error"]["Message"] == "The REST API doesn't contain any methods"
    m = c.apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    assert m["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert (m["httpMethod"], m["authorizationType"], m["apiKeyRequired"]) == ("GET", "NONE", False)
    with pytest.raises(ClientError) as e:
        c.apigw.put_method(restApiId=api, resourceId=root, httpMethod="FETCH", authorizationType="NONE")
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    with pytest.raises(ClientError) as e:
        c.apigw.create_deployment(restApiId=api, stageName="s")
    assert e.value.response["Error"]["Message"] == "No integration defined for method"
    i = c.apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK",
                                requestTemplates={"application/json": '{"statusCode": 200}'})
    assert i["passthroughBehavior"] == "WHEN_NO_MATCH" and i["timeoutInMillis"] == 29000
    assert i["cacheNamespace"] == root and i["cacheKeyParameters"] == []
    c.apigw.put_method_response(restApiId=api, resourceId=root, httpMethod="GET", statusCode="200")
    c.apigw.put_integration_response(restApiId=api, resourceId=root, httpMethod="GET", statusCode="200",
                                     responseTemplates={"application/json": '{"ok": true}'})
    got = c.apigw.get_method(restApiId=api, resourceId=root, httpMethod="GET")
    assert got["methodIntegration"]["integrationResponses"]["200"]["statusCode"] == "200"
    assert got["methodResponses"]["200"]["statusCode"] == "200"

    dep = deploy(c, api, "dev", variables={"color": "blue"})
    st = c.apigw.get_stage(restApiId=api, stageName="dev")
    assert st["deploymentId"] == dep and st["variables"] == {"color": "blue"}
    assert st["cacheClusterStatus"] == "NOT_AVAILABLE" and st["methodSettings"] == {}
    with pytest.raises(ClientError) as e:
        c.apigw.create_stage(restApiId=api, stageName="dev", deploymentId=dep)
    assert e.value.response["Error"]["Code"] == "ConflictException"
    st = c.apigw.update_stage(restApiId=api, stageName="dev", patchOperations=[
        {"op": "replace", "path": "/variables/color", "value": "red"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "123"},
        {"op": "replace", "path": "/~1pets/GET/logging/loglevel", "value": "INFO"},
    ])
    assert st["variables"] == {"color": "red"}
    assert st["methodSettings"]["*/*"]["throttlingBurstLimit"] == 123
    assert st["methodSettings"]["pets/GET"]["loggingLevel"] == "INFO"
    with pytest.raises(ClientError) as e:
        c.apigw.delete_deployment(restApiId=api, deploymentId=dep)
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    assert [s["stageName"] for s in c.apigw.get_stages(restApiId=api)["item"]] == ["dev"]

    r = requests.get(url(c, api, "dev", "/"))
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert r.headers["x-amzn-RequestId"] and r.headers["x-amz-apigw-id"]
    # Another method on the same path: not deployed until the next deployment.
    c.apigw.put_method(restApiId=api, resourceId=root, httpMethod="POST", authorizationType="NONE")
    c.apigw.put_integration(restApiId=api, resourceId=root, httpMethod="POST", type="MOCK",
                            requestTemplates={"application/json": '{"statusCode": 200}'})
    c.apigw.put_integration_response(restApiId=api, resourceId=root, httpMethod="POST", statusCode="200")
    assert requests.post(url(c, api, "dev", "/")).status_code == 403
    deploy(c, api, "dev")
    assert requests.post(url(c, api, "dev", "/")).status_code == 200


def test_unknown_paths_stages_and_apis_answer_as_aws(c):
    api, root = new_api(c)
    c.apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    c.apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK",
                            requestTemplates={"application/json": '{"statusCode": 200}'})
    c.apigw.put_integration_response(restApiId=api, resourceId=root, httpMethod="GET", statusCode="200")
    deploy(c, api, "prod")
    r = requests.get(url(c, api, "prod", "/nothing/here"))
    assert r.status_code == 403 and r.json() == {"message": "Missing Authentication Token"}
    assert r.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    r = requests.delete(url(c, api, "prod", "/"))
    assert r.status_code == 403 and r.json() == {"message": "Missing Authentication Token"}
    r = requests.get(url(c, api, "nostage", "/"))
    assert r.status_code == 403 and r.json() == {"message": "Forbidden"}
    r = requests.get(url(c, "zzzzzzzzzz", "prod", "/"))
    assert r.status_code == 403 and r.json() == {"message": "Forbidden"}
    # The same through the API's host name.
    assert host_get(c, api, "prod", "/").status_code == 200
    assert host_get(c, api, "prod", "/nothing").status_code == 403


# ----------------------------------------------------------------------------- MOCK and templates

def test_mock_integration_with_templates_selection_and_overrides(c):
    api, root = new_api(c)
    res = c.apigw.create_resource(restApiId=api, parentId=root, pathPart="items")
    item = c.apigw.create_resource(restApiId=api, parentId=res["id"], pathPart="{id}")
    c.apigw.put_method(restApiId=api, resourceId=item["id"], httpMethod="POST", authorizationType="NONE")
    c.apigw.put_integration(
        restApiId=api, resourceId=item["id"], httpMethod="POST", type="MOCK",
        requestTemplates={"application/json": '#if($input.path(\'$.fail\'))\n{"statusCode": 404}\n#else\n{"statusCode": 200}\n#end'})
    c.apigw.put_method_response(restApiId=api, resourceId=item["id"], httpMethod="POST", statusCode="200")
    c.apigw.put_method_response(restApiId=api, resourceId=item["id"], httpMethod="POST", statusCode="404")
    # A MOCK integration answers no body: the response template reads the method request.
    template = """{
  "id": "$input.params('id')",
  "q": "$input.params('q')",
  "header": "$input.params('X-Thing')",
  "keys": [#foreach($k in $input.params().querystring.keySet())"$util.escapeJavaScript($k)"#if($foreach.hasNext),#end#end],
  "stage": "$context.stage",
  "color": "$stageVariables.color",
  "method": "$context.httpMethod"
}
#if($input.params('tea') == 'yes')#set($context.responseOverride.status = 418)#set($context.responseOverride.header.X-Tea = "yes")#end"""
    c.apigw.put_integration_response(restApiId=api, resourceId=item["id"], httpMethod="POST", statusCode="200",
                                     responseTemplates={"application/json": template},
                                     responseParameters={"method.response.header.X-Static": "'fixed'"})
    c.apigw.put_integration_response(restApiId=api, resourceId=item["id"], httpMethod="POST", statusCode="404",
                                     selectionPattern="404",
                                     responseTemplates={"application/json": '{"error": "not here"}'})
    deploy(c, api, "v1", variables={"color": "green"})
    r = requests.post(url(c, api, "v1", '/items/42?q=find&a"b=1'), json={"fail": False}, headers={"X-Thing": "t"})
    assert r.status_code == 200, r.text
    assert json.loads(r.text) == {"id": "42", "q": "find", "header": "t", "keys": ["q", 'a"b'], "stage": "v1",
                                  "color": "green", "method": "POST"}
    assert r.headers["X-Static"] == "fixed"
    r = requests.post(url(c, api, "v1", "/items/1"), json={"names": [], "fail": True})
    assert r.status_code == 404 and r.json() == {"error": "not here"}
    r = requests.post(url(c, api, "v1", "/items/1?tea=yes"), json={})
    assert r.status_code == 418 and r.headers["X-Tea"] == "yes"


def test_passthrough_behaviours_and_unsupported_media_types(c):
    api, root = new_api(c)
    for method, behaviour in [("POST", "NEVER"), ("PUT", "WHEN_NO_TEMPLATES"), ("PATCH", "WHEN_NO_MATCH")]:
        c.apigw.put_method(restApiId=api, resourceId=root, httpMethod=method, authorizationType="NONE")
        c.apigw.put_integration(restApiId=api, resourceId=root, httpMethod=method, type="MOCK",
                                passthroughBehavior=behaviour,
                                requestTemplates={"application/json": '{"statusCode": 200}'})
        c.apigw.put_integration_response(restApiId=api, resourceId=root, httpMethod=method, statusCode="200",
                                         responseTemplates={"application/json": '{"m": "$context.httpMethod"}'})
    deploy(c, api)
    xml = {"Content-Type": "application/xml"}
    r = requests.post(url(c, api, "test", "/"), data="<a/>", headers=xml)
    assert r.status_code == 415 and r.json() == {"message": "Unsupported Media Type"}
    r = requests.put(url(c, api, "test", "/"), data="<a/>", headers=xml)
    assert r.status_code == 415
    r = requests.patch(url(c, api, "test", "/"), data='{"statusCode": 200}', headers=xml)
    assert r.status_code == 200 and r.json() == {"m": "PATCH"}
    r = requests.post(url(c, api, "test", "/"), json={})
    assert r.status_code == 200 and r.json() == {"m": "POST"}


# ----------------------------------------------------------------------------- Lambda proxy

def proxy_api(c, fn_arn, path_part="{proxy+}", method="ANY", **api_kw):
    api, root = new_api(c, **api_kw)
    res = c.apigw.create_resource(restApiId=api, parentId=root, pathPart=path_part)
    c.apigw.put_method(restApiId=api, resourceId=res["id"], httpMethod=method, authorizationType="NONE")
    c.apigw.put_integration(restApiId=api, resourceId=res["id"], httpMethod=method, type="AWS_PROXY",
                            integrationHttpMethod="POST", uri=lambda_uri(fn_arn))
    return api, res["id"]


def test_lambda_proxy_event_and_response_contract(c):
    fn = function(c, PROXY_ECHO)
    api, _ = proxy_api(c, fn)
    c.lam.add_permission(FunctionName=fn, StatementId="apigw", Action="lambda:InvokeFunction",
                         Principal="apigateway.amazonaws.com",
                         SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*/*/*")
    deploy(c, api, "test", variables={"v": "1"})
    r = requests.get(url(c, api, "test", "/a/b%2Bc/?x=1&x=2&y=a+b"), headers={"tEsT-HEADeR": "aValUE"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json" and r.headers["x-echo"] == "1"
    assert r.headers["x-multi"] == "a, b"
    assert r.headers["X-Amzn-Trace-Id"].startswith("Root=1-")
    e = r.json()
    assert e["resource"] == "/{proxy+}"
    assert e["path"] == "/a/b%2Bc/"
    assert e["httpMethod"] == "GET"
    assert e["pathParameters"] == {"proxy": "a/b%2Bc"}
    assert e["queryStringParameters"] == {"x": "2", "y": "a b"}
    assert e["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": ["a b"]}
    assert e["stageVariables"] == {"v": "1"}
    assert e["body"] is None and e["isBase64Encoded"] is False
    assert e["headers"]["tEsT-HEADeR"] == "aValUE", "header names keep the client's spelling"
    assert e["multiValueHeaders"]["tEsT-HEADeR"] == ["aValUE"]
    assert "Content-Length" not in e["headers"] and "Connection" not in e["headers"]
    assert e["headers"]["X-Forwarded-Proto"] == "http"
    rc = e["requestContext"]
    assert rc["path"] == "/test/a/b%2Bc/", "the /_aws/execute-api form never leaks into the path"
    assert rc["stage"] == "test" and rc["apiId"] == api and rc["accountId"] == ACCOUNT
    assert rc["resourcePath"] == "/{proxy+}" and rc["httpMethod"] == "GET"
    assert rc["protocol"] == "HTTP/1.1" and isinstance(rc["requestTimeEpoch"], int)
    assert rc["requestId"] == r.headers["x-amzn-RequestId"]
    assert rc["identity"]["sourceIp"] == "127.0.0.1" and rc["identity"]["accessKey"] is None
    assert "authorizer" not in rc
    assert len(rc["requestTime"].split("/")) == 3 and rc["requestTime"].endswith(" +0000")

    # No query string at all: nulls, not {}; a body arrives as a string.
    r = requests.post(url(c, api, "test", "/p"), data='{"k": 1}', headers={"content-type": "application/json"})
    e = r.json()
    assert e["queryStringParameters"] is None and e["multiValueQueryStringParameters"] is None
    assert e["body"] == '{"k": 1}'

    # The function's answer decides the status and headers; malformed answers are 502.
    def respond(obj):
        return requests.post(url(c, api, "test", "/r"), data=json.dumps({"respond": obj}))
    r = respond({"statusCode": 201, "body": "made", "headers": {"a": "1"}})
    assert (r.status_code, r.text, r.headers["a"]) == (201, "made", "1")
    r = respond({"statusCode": "202"})
    assert r.status_code == 202 and r.text == ""
    r = respond({"headers": {"h": True}})
    assert r.status_code == 200 and r.headers["h"] == "true"
    for bad in [{"statusCode": 200, "wrongValue": 1}, {"statusCode": "test"}, "justAString",
                {"statusCode": 200, "multiValueHeaders": {"m": "notalist"}}]:
        r = respond(bad)
        assert r.status_code == 502, bad
        assert r.json() == {"message": "Internal server error"}
        assert r.headers["x-amzn-ErrorType"] == "InternalServerErrorException"


def test_lambda_proxy_needs_the_functions_permission(c):
    fn = function(c, PROXY_ECHO)
    api, _ = proxy_api(c, fn)
    deploy(c, api)
    r = requests.get(url(c, api, "test", "/x"))
    assert r.status_code == 500 and r.json() == {"message": "Internal server error"}
    # A permission for another API does not count; one for this API does.
    c.lam.add_permission(FunctionName=fn, StatementId="other", Action="lambda:InvokeFunction",
                         Principal="apigateway.amazonaws.com",
                         SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:otherapi00/*")
    assert requests.get(url(c, api, "test", "/x")).status_code == 500
    c.lam.add_permission(FunctionName=fn, StatementId="this", Action="lambda:InvokeFunction",
                         Principal="apigateway.amazonaws.com",
                         SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*/GET/*")
    assert requests.get(url(c, api, "test", "/x")).status_code == 200
    assert requests.post(url(c, api, "test", "/x")).status_code == 500


def test_binary_media_types_in_and_out(c):
    fn = function(c, zip_of({"app.py": """
import base64
def handler(event, context):
    if event["httpMethod"] == "POST":
        return {"statusCode": 200, "body": event["body"] + "|" + str(event["isBase64Encoded"])}
    return {"statusCode": 200, "headers": {"content-type": "image/png"},
            "body": base64.b64encode(b"\\x89PNG\\x00\\x01").decode(), "isBase64Encoded": True}
"""}))
    api, _ = proxy_api(c, fn, binaryMediaTypes=["image/png", "application/octet-stream"])
    c.lam.add_permission(FunctionName=fn, StatementId="apigw", Action="lambda:InvokeFunction",
                         Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*")
    deploy(c, api)
    r = requests.post(url(c, api, "test", "/up"), data=b"\x00\xffbin", headers={"Content-Type": "application/octet-stream"})
    assert r.text == base64.b64encode(b"\x00\xffbin").decode() + "|True"
    r = requests.get(url(c, api, "test", "/img"), headers={"Accept": "image/png"})
    assert r.content == b"\x89PNG\x00\x01"
    r = requests.get(url(c, api, "test", "/img"), headers={"Accept": "application/json"})
    assert r.text == base64.b64encode(b"\x89PNG\x00\x01").decode(), "base64 when Accept is not binary"


# ----------------------------------------------------------------------------- AWS integrations

def test_aws_integration_to_lambda_with_templates_and_error_patterns(c):
    fn = function(c, PLAIN)
    api, root = new_api(c)
    c.lam.add_permission(FunctionName=fn, StatementId="apigw", Action="lambda:InvokeFunction",
                         Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*")
    c.apigw.put_method(restApiId=api, resourceId=root, httpMethod="POST", authorizationType="NONE")
    c.apigw.put_integration(restApiId=api, resourceId=root, httpMethod="POST", type="AWS",
                            integrationHttpMethod="POST", uri=lambda_uri(fn),
                            requestTemplates={"application/json": '{"wrapped": $input.json(\'$\'), "fail": $input.json(\'$.fail\')}'})
    c.apigw.put_integration_response(restApiId=api, resourceId=root, httpMethod="POST", statusCode="200",
                                     responseTemplates={"application/json": '{"answer": $input.json(\'$.got.wrapped.n\')}'})
    c.apigw.put_integration_response(restApiId=api, resourceId=root, httpMethod="POST", statusCode="400",
                                     selectionPattern="Bad thing.*",
                                     responseTemplates={"application/json": '{"error": "$input.path(\'$.errorMessage\')"}'})
    deploy(c, api)
    r = requests.post(url(c, api, "test", "/"), json={"n": 5, "fail": False})
    assert r.status_code == 200 and r.json() == {"answer": 5}
    r = requests.post(url(c, api, "test", "/"), json={"n": 5, "fail": "x"})
    assert r.status_code == 400 and r.json() == {"error": "Bad thing: x"}


def test_aws_service_integration_sends_to_sqs(c):
    q = c.sqs.create_queue(QueueName=unique("apiq"))["QueueUrl"]
    api, root = new_api(c)
    c.apigw.put_method(restApiId=api, resourceId=root, httpMethod="POST", authorizationType="NONE")
    c.apigw.put_integration(
        restApiId=api, resourceId=root, httpMethod="POST", type="AWS", integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:sqs:path/{ACCOUNT}/{q.rsplit('/', 1)[1]}",
        credentials=f"arn:aws:iam::{ACCOUNT}:role/apigw-sqs",
        requestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},
        requestTemplates={"application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"})
    c.apigw.put_integration_response(restApiId=api, resourceId=root, httpMethod="POST", statusCode="200",
                                     responseTemplates={"application/json": '{"queued": true}'})
    deploy(c, api)
    r = requests.post(url(c, api, "test", "/"), json={"order": 1})
    assert r.status_code == 200 and r.json() == {"queued": True}, r.text
    msgs = c.sqs.receive_message(QueueUrl=q, WaitTimeSeconds=2).get("Messages", [])
    assert [json.loads(m["Body"]) for m in msgs] == [{"order": 1}]


def test_http_proxy_integration_forwards_to_a_local_server(c):
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("X-In")))
            body = json.dumps({"path": self.path}).encode()
            self.send_response(207)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Out", "o")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        api, root = new_api(c)
        res = c.apigw.create_resource(restApiId=api, parentId=root, pathPart="{proxy+}")
        c.apigw.put_method(restApiId=api, resourceId=res["id"], httpMethod="ANY", authorizationType="NONE",
                           requestParameters={"method.request.path.proxy": True})
        c.apigw.put_integration(restApiId=api, resourceId=res["id"], httpMethod="ANY", type="HTTP_PROXY",
                                integrationHttpMethod="ANY", uri=f"http://127.0.0.1:{srv.server_port}/base/{{proxy}}",
                                requestParameters={"integration.request.path.proxy": "method.request.path.proxy"})
        deploy(c, api)
        r = requests.get(url(c, api, "test", "/a/b?z=1"), headers={"X-In": "i"})
        assert r.status_code == 207 and r.headers["X-Out"] == "o"
        assert r.json() == {"path": "/base/a/b?z=1"}
        assert seen == [("/base/a/b?z=1", "i")]
    finally:
        srv.shutdown()


# ----------------------------------------------------------------------------- auth, keys, validation

def test_api_keys_and_usage_plans_throttle_and_quota(c):
    api, root = new_api(c)
    c.apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE", apiKeyRequired=True)
    c.apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK",
                            requestTemplates={"application/json": '{"statusCode": 200}'})
    c.apigw.put_integration_response(restApiId=api, resourceId=root, httpMethod="GET", statusCode="200",
                                     responseTemplates={"application/json": '{"key": "$context.identity.apiKeyId"}'})
    deploy(c, api, "prod")
    key = c.apigw.create_api_key(name=unique("k"), enabled=True)
    assert len(key["value"]) >= 20 and key["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert "value" not in c.apigw.get_api_key(apiKey=key["id"])
    assert c.apigw.get_api_key(apiKey=key["id"], includeValue=True)["value"] == key["value"]
    r = requests.get(url(c, api, "prod", "/"))
    assert r.status_code == 403 and r.json() == {"message": "Forbidden"}
    r = requests.get(url(c, api, "prod", "/"), headers={"x-api-key": key["value"]})
    assert r.status_code == 403, "a key outside every usage plan of the stage is refused"
    plan = c.apigw.create_usage_plan(name=unique("plan"), apiStages=[{"apiId": api, "stage": "prod"}],
                                     throttle={"rateLimit": 1000, "burstLimit": 1000},
                                     quota={"limit": 3, "period": "DAY"})
    assert plan["quota"]["offset"] == 0
    pk = c.apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    assert pk["id"] == key["id"] and pk["type"] == "API_KEY"
    for _ in range(3):
        r = requests.get(url(c, api, "prod", "/"), headers={"x-api-key": key["value"]})
        assert r.status_code == 200 and r.json() == {"key": key["id"]}
    r = requests.get(url(c, api, "prod", "/"), headers={"x-api-key": key["value"]})
    assert r.status_code == 429 and r.json() == {"message": "Limit Exceeded"}
    today = time.strftime("%Y-%m-%d", time.gmtime())
    usage = c.apigw.get_usage(usagePlanId=plan["id"], startDate=today, endDate=today)
    assert usage["items"][key["id"]] == [[4, 0]] or usage["items"][key["id"]][0][0] >= 3

    c.apigw.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
        {"op": "replace", "path": "/quota/limit", "value": "1000"},
        {"op": "replace", "path": "/throttle/rateLimit", "value": "1"},
        {"op": "replace", "path": "/throttle/burstLimit", "value": "1"}])
    codes = [requests.get(url(c, api, "prod", "/"), headers={"x-api-key": key["value"]}).status_code for _ in range(5)]
    assert 429 in codes and codes[0] == 200
    c.apigw.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}])
    time.sleep(1.1)
    assert requests.get(url(c, api, "prod", "/"), headers={"x-api-key": key["value"]}).status_code == 403


def test_lambda_authorizers_token_and_request(c):
    auth_fn = function(c, AUTHORIZER)
    backend = function(c, PROXY_ECHO)
    api, root = new_api(c)
    for fn in (auth_fn, backend):
        c.lam.add_permission(FunctionName=fn, StatementId="apigw", Action="lambda:InvokeFunction",
                             Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*")
    token = c.apigw.create_authorizer(restApiId=api, name="tok", type="TOKEN", authorizerUri=lambda_uri(auth_fn),
                                      identitySource="method.request.header.Authorization",
                                      identityValidationExpression="^(allow|deny|boom).*",
                                      authorizerResultTtlInSeconds=0)
    assert token["ResponseMetadata"]["HTTPStatusCode"] == 201
    req = c.apigw.create_authorizer(restApiId=api, name="req", type="REQUEST", authorizerUri=lambda_uri(auth_fn),
                                    identitySource="method.request.header.X-Token", authorizerResultTtlInSeconds=300)
    for part, auth in [("t", token["id"]), ("r", req["id"])]:
        res = c.apigw.create_resource(restApiId=api, parentId=root, pathPart=part)
        c.apigw.put_method(restApiId=api, resourceId=res["id"], httpMethod="GET", authorizationType="CUSTOM",
                           authorizerId=auth)
        c.apigw.put_integration(restApiId=api, resourceId=res["id"], httpMethod="GET", type="AWS_PROXY",
                                integrationHttpMethod="POST", uri=lambda_uri(backend))
    with pytest.raises(ClientError) as e:
        c.apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="CUSTOM")
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    deploy(c, api)
    r = requests.get(url(c, api, "test", "/t"))
    assert r.status_code == 401 and r.json() == {"message": "Unauthorized"}
    r = requests.get(url(c, api, "test", "/t"), headers={"Authorization": "nope"})
    assert r.status_code == 401, "the validation expression refuses it before the function runs"
    r = requests.get(url(c, api, "test", "/t"), headers={"Authorization": "boom"})
    assert r.status_code == 401
    r = requests.get(url(c, api, "test", "/t"), headers={"Authorization": "deny-me"})
    assert r.status_code == 403 and r.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert r.json() == {"Message": "User is not authorized to access this resource with an explicit deny"}
    r = requests.get(url(c, api, "test", "/t"), headers={"Authorization": "allow-1"})
    assert r.status_code == 200, r.text
    a = r.json()["requestContext"]["authorizer"]
    assert a["principalId"] == "user-allow-1" and a["tier"] == "gold" and a["n"] == 7 and a["ok"] is True
    assert isinstance(a["integrationLatency"], int)
    r = requests.get(url(c, api, "test", "/r"), headers={"X-Token": "allow-2"})
    assert r.status_code == 200 and r.json()["requestContext"]["authorizer"]["principalId"] == "user-allow-2"
    assert requests.get(url(c, api, "test", "/r")).status_code == 401


def test_request_validation_of_parameters_and_body(c):
    api, root = new_api(c)
    c.apigw.create_model(restApiId=api, name="Pet", contentType="application/json", schema=json.dumps({
        "$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "required": ["name"],
        "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}}}))
    v = c.apigw.create_request_validator(restApiId=api, name="all", validateRequestBody=True,
                                         validateRequestParameters=True)
    c.apigw.put_method(restApiId=api, resourceId=root, httpMethod="POST", authorizationType="NONE",
                       requestValidatorId=v["id"], requestModels={"application/json": "Pet"},
                       requestParameters={"method.request.querystring.owner": True})
    c.apigw.put_integration(restApiId=api, resourceId=root, httpMethod="POST", type="MOCK",
                            requestTemplates={"application/json": '{"statusCode": 200}'})
    c.apigw.put_integration_response(restApiId=api, resourceId=root, httpMethod="POST", statusCode="200")
    deploy(c, api)
    r = requests.post(url(c, api, "test", "/"), json={"name": "rex"})
    assert r.status_code == 400 and r.json() == {"message": "Missing required request parameters: [owner]"}
    r = requests.post(url(c, api, "test", "/?owner=me"), json={"age": -1})
    assert r.status_code == 400 and r.json() == {"message": "Invalid request body"}
    assert r.headers["x-amzn-ErrorType"] == "BadRequestException"
    r = requests.post(url(c, api, "test", "/?owner=me"), json={"name": "rex", "age": 3})
    assert r.status_code == 200


def test_gateway_responses_customize_what_api_gateway_answers(c):
    api, _ = new_api(c)
    items = c.apigw.get_gateway_responses(restApiId=api)["items"]
    assert len(items) == 21 and all(i["defaultResponse"] for i in items)
    missing = [i for i in items if i["responseType"] == "MISSING_AUTHENTICATION_TOKEN"][0]
    assert missing["statusCode"] == "403"
    assert missing["responseTemplates"] == {"application/json": '{"message":$context.error.messageString}'}
    c.apigw.put_gateway_response(restApiId=api, responseType="MISSING_AUTHENTICATION_TOKEN", statusCode="404",
                                 responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
                                 responseTemplates={"application/json": '{"oops": $context.error.messageString, "type": "$context.error.responseType"}'})
    _, root = api, c.apigw.get_rest_api(restApiId=api)["rootResourceId"]
    c.apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    c.apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    deploy(c, api)
    r = requests.get(url(c, api, "test", "/missing"))
    assert r.status_code == 404 and r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.json() == {"oops": "Missing Authentication Token", "type": "MISSING_AUTHENTICATION_TOKEN"}
    with pytest.raises(ClientError) as e:
        c.apigw.delete_gateway_response(restApiId=api, responseType="THROTTLED")
    assert e.value.response["Error"]["Code"] == "NotFoundException"


# ----------------------------------------------------------------------------- OpenAPI

OPENAPI = {
    "openapi": "3.0.1",
    "info": {"title": "imported", "version": "2.1"},
    "x-amazon-apigateway-binary-media-types": ["image/png"],
    "x-amazon-apigateway-request-validators": {"body": {"validateRequestBody": True, "validateRequestParameters": False}},
    "paths": {
        "/pets": {
            "get": {
                "operationId": "ListPets",
                "parameters": [{"name": "limit", "in": "query", "required": False, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                    "responses": {"default": {"statusCode": "200",
                                              "responseTemplates": {"application/json": '{"pets": ["$input.params(\'limit\')"]}'}}}},
            },
            "post": {
                "x-amazon-apigateway-request-validator": "body",
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                                                    "responses": {"default": {"statusCode": "200"}}},
            },
        },
        "/pets/{id}": {
            "x-amazon-apigateway-any-method": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                                                    "responses": {"default": {"statusCode": "200",
                                                                              "responseTemplates": {"application/json": '{"id": "$input.params(\'id\')"}'}}}},
            }
        },
    },
    "components": {"schemas": {"Pet": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}},
}


def test_openapi_import_deploy_and_export(c):
    imported = c.apigw.import_rest_api(body=json.dumps(OPENAPI).encode())
    api = imported["id"]
    assert imported["name"] == "imported" and imported["version"] == "2.1"
    assert imported["binaryMediaTypes"] == ["image/png"]
    resources = {r["path"]: r for r in c.apigw.get_resources(restApiId=api, embed=["methods"])["items"]}
    assert set(resources) == {"/", "/pets", "/pets/{id}"}
    assert set(resources["/pets"]["resourceMethods"]) == {"GET", "POST"}
    assert set(resources["/pets/{id}"]["resourceMethods"]) == {"ANY"}
    get = c.apigw.get_method(restApiId=api, resourceId=resources["/pets"]["id"], httpMethod="GET")
    assert get["operationName"] == "ListPets"
    assert get["requestParameters"] == {"method.request.querystring.limit": False}
    assert get["methodIntegration"]["type"] == "MOCK"
    assert "Pet" in {m["name"] for m in c.apigw.get_models(restApiId=api)["items"]}
    deploy(c, api, "v1")
    assert requests.get(url(c, api, "v1", "/pets?limit=2")).json() == {"pets": ["2"]}
    assert requests.delete(url(c, api, "v1", "/pets/9")).json() == {"id": "9"}
    assert requests.post(url(c, api, "v1", "/pets"), json={"nope": 1}).status_code == 400
    assert requests.post(url(c, api, "v1", "/pets"), json={"name": "a"}).status_code == 200

    exported = c.apigw.get_export(restApiId=api, stageName="v1", exportType="oas30",
                                  parameters={"extensions": "integrations"}, accepts="application/json")
    doc = json.loads(exported["body"].read())
    assert doc["openapi"].startswith("3.0") and set(doc["paths"]) == {"/pets", "/pets/{id}"}
    assert doc["paths"]["/pets"]["get"]["x-amazon-apigateway-integration"]["type"] == "mock"
    assert "x-amazon-apigateway-any-method" in doc["paths"]["/pets/{id}"]
    swagger = c.apigw.get_export(restApiId=api, stageName="v1", exportType="swagger")
    assert json.loads(swagger["body"].read())["swagger"] == "2.0"

    # PutRestApi overwrite replaces the resources; merge keeps them.
    spec = {"openapi": "3.0.1", "info": {"title": "renamed", "version": "3"},
            "paths": {"/only": {"get": {"responses": {"200": {"description": "ok"}}}}}}
    out = c.apigw.put_rest_api(restApiId=api, mode="merge", body=json.dumps(spec).encode())
    assert out["name"] == "renamed"
    paths = {r["path"] for r in c.apigw.get_resources(restApiId=api)["items"]}
    assert {"/pets", "/only"} <= paths
    c.apigw.put_rest_api(restApiId=api, mode="overwrite", body=json.dumps(spec).encode())
    paths = {r["path"] for r in c.apigw.get_resources(restApiId=api)["items"]}
    assert paths == {"/", "/only"}


def test_import_accepts_yaml_and_refuses_garbage(c):
    yaml_doc = "swagger: '2.0'\ninfo:\n  title: yamlapi\n  version: '1'\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n"
    api = c.apigw.import_rest_api(body=yaml_doc.encode())
    assert api["name"] == "yamlapi"
    assert "/a" in {r["path"] for r in c.apigw.get_resources(restApiId=api["id"])["items"]}
    with pytest.raises(ClientError) as e:
        c.apigw.import_rest_api(body=b"{not a document")
    assert e.value.response["Error"]["Code"] == "BadRequestException"


def test_cli_drives_the_control_plane(c, cli_env):
    import subprocess
    from sqs_helpers import aws_cli_base
    base = [*aws_cli_base(), "--endpoint-url", c.endpoint, "--region", REGION, "--output", "json", "apigateway"]
    p = subprocess.run([*base, "create-rest-api", "--name", "from-cli"], capture_output=True, text=True, env=cli_env)
    assert p.returncode == 0, p.stderr
    api = json.loads(p.stdout)["id"]
    p = subprocess.run([*base, "get-resources", "--rest-api-id", api], capture_output=True, text=True, env=cli_env)
    assert p.returncode == 0 and json.loads(p.stdout)["items"][0]["path"] == "/"
    p = subprocess.run([*base, "get-rest-api", "--rest-api-id", "missing000"], capture_output=True, text=True, env=cli_env)
    assert p.returncode != 0 and "NotFoundException" in p.stderr


def test_cors_preflight_through_a_mock_options_method(c):
    """What a browser sends before a cross-origin POST, answered by the usual MOCK OPTIONS method."""
    fn = function(c, PROXY_ECHO)
    api, res = proxy_api(c, fn, path_part="items", method="POST")
    c.lam.add_permission(FunctionName=fn, StatementId="apigw", Action="lambda:InvokeFunction",
                         Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*")
    c.apigw.put_method(restApiId=api, resourceId=res, httpMethod="OPTIONS", authorizationType="NONE")
    c.apigw.put_integration(restApiId=api, resourceId=res, httpMethod="OPTIONS", type="MOCK",
                            requestTemplates={"application/json": '{"statusCode": 200}'})
    c.apigw.put_method_response(restApiId=api, resourceId=res, httpMethod="OPTIONS", statusCode="200",
                                responseParameters={f"method.response.header.{h}": False for h in
                                                    ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
                                                     "Access-Control-Allow-Headers")})
    c.apigw.put_integration_response(
        restApiId=api, resourceId=res, httpMethod="OPTIONS", statusCode="200",
        responseParameters={"method.response.header.Access-Control-Allow-Origin": "'https://app.example'",
                            "method.response.header.Access-Control-Allow-Methods": "'OPTIONS,POST'",
                            "method.response.header.Access-Control-Allow-Headers": "'Content-Type,X-Api-Key'"},
        responseTemplates={"application/json": ""})
    deploy(c, api)
    pre = requests.options(url(c, api, "test", "/items"), headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert pre.status_code == 200
    assert pre.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert pre.headers["Access-Control-Allow-Methods"] == "OPTIONS,POST"
    assert "Content-Type" in pre.headers["Access-Control-Allow-Headers"]
    r = requests.post(url(c, api, "test", "/items"), json={"a": 1}, headers={"Origin": "https://app.example"})
    assert r.status_code == 200 and r.json()["headers"]["Origin"] == "https://app.example"


def aws_integration(c, api, root, method, uri, template=None, params=None, response=None, path_part=None):
    res = root
    if path_part:
        res = c.apigw.create_resource(restApiId=api, parentId=root, pathPart=path_part)["id"]
    c.apigw.put_method(restApiId=api, resourceId=res, httpMethod=method, authorizationType="NONE")
    kw = {}
    if template is not None:
        kw["requestTemplates"] = {"application/json": template}
    if params:
        kw["requestParameters"] = params
    c.apigw.put_integration(restApiId=api, resourceId=res, httpMethod=method, type="AWS",
                            integrationHttpMethod="GET" if method == "GET" else "POST", uri=uri,
                            credentials=f"arn:aws:iam::{ACCOUNT}:role/apigw", **kw)
    c.apigw.put_integration_response(restApiId=api, resourceId=res, httpMethod=method, statusCode="200",
                                     responseTemplates={"application/json": response} if response else None)
    c.apigw.put_integration_response(restApiId=api, resourceId=res, httpMethod=method, statusCode="400",
                                     selectionPattern="4\\d\\d")
    return res


def test_aws_service_integrations_to_dynamodb_kinesis_sns_and_s3(c, target):
    kw = dict(endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    ddb = boto3.client("dynamodb", **kw)
    kin = boto3.client("kinesis", **kw)
    sns = boto3.client("sns", **kw)
    s3 = boto3.client("s3", **kw)
    table = unique("apitable")
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    stream = unique("apistream")
    kin.create_stream(StreamName=stream, ShardCount=1)
    topic = sns.create_topic(Name=unique("apitopic"))["TopicArn"]
    q = c.sqs.create_queue(QueueName=unique("apisink"))["QueueUrl"]
    q_arn = c.sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=q_arn, Attributes={"RawMessageDelivery": "true"})
    bucket = unique("apibucket")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello from s3")

    api, root = new_api(c)
    aws_integration(c, api, root, "POST", f"arn:aws:apigateway:{REGION}:dynamodb:action/PutItem",
                    template='{"TableName": "' + table + '", "Item": {"id": {"S": "$input.path(\'$.id\')"}, '
                             '"note": {"S": "$util.escapeJavaScript($input.path(\'$.note\'))"}}}',
                    response='{"stored": true}', path_part="items")
    aws_integration(c, api, root, "POST", f"arn:aws:apigateway:{REGION}:kinesis:action/PutRecord",
                    template='{"StreamName": "' + stream + '", "PartitionKey": "k", "Data": "$util.base64Encode($input.body)"}',
                    response='{"shard": "$input.path(\'$.ShardId\')"}', path_part="events")
    aws_integration(c, api, root, "POST", f"arn:aws:apigateway:{REGION}:sns:action/Publish",
                    params={"integration.request.querystring.TopicArn": f"'{topic}'",
                            "integration.request.querystring.Message": "method.request.body"},
                    response='{"published": true}', path_part="notify")
    files = c.apigw.create_resource(restApiId=api, parentId=root, pathPart="files")
    key = c.apigw.create_resource(restApiId=api, parentId=files["id"], pathPart="{key}")
    c.apigw.put_method(restApiId=api, resourceId=key["id"], httpMethod="GET", authorizationType="NONE",
                       requestParameters={"method.request.path.key": True})
    c.apigw.put_integration(restApiId=api, resourceId=key["id"], httpMethod="GET", type="AWS", integrationHttpMethod="GET",
                            uri=f"arn:aws:apigateway:{REGION}:s3:path/{bucket}/{{object}}",
                            credentials=f"arn:aws:iam::{ACCOUNT}:role/apigw",
                            requestParameters={"integration.request.path.object": "method.request.path.key"})
    c.apigw.put_integration_response(restApiId=api, resourceId=key["id"], httpMethod="GET", statusCode="200",
                                     responseParameters={"method.response.header.Content-Type": "integration.response.header.Content-Type"})
    c.apigw.put_integration_response(restApiId=api, resourceId=key["id"], httpMethod="GET", statusCode="404",
                                     selectionPattern="404")
    deploy(c, api)

    r = requests.post(url(c, api, "test", "/items"), json={"id": "a1", "note": 'say "hi"'})
    assert r.status_code == 200 and r.json() == {"stored": True}, r.text
    assert ddb.get_item(TableName=table, Key={"id": {"S": "a1"}})["Item"]["note"] == {"S": 'say "hi"'}
    r = requests.post(url(c, api, "test", "/events"), json={"click": 1})
    assert r.status_code == 200 and r.json() == {"shard": "shardId-000000000000"}, r.text
    it = kin.get_shard_iterator(StreamName=stream, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")
    recs = kin.get_records(ShardIterator=it["ShardIterator"])["Records"]
    assert [json.loads(x["Data"]) for x in recs] == [{"click": 1}]
    r = requests.post(url(c, api, "test", "/notify"), data="ping")
    assert r.status_code == 200 and r.json() == {"published": True}, r.text
    msgs = c.sqs.receive_message(QueueUrl=q, WaitTimeSeconds=3).get("Messages", [])
    assert [m["Body"] for m in msgs] == ["ping"]
    r = requests.get(url(c, api, "test", "/files/hello.txt"))
    assert r.status_code == 200 and r.text == "hello from s3", r.text
    r = requests.get(url(c, api, "test", "/files/missing.txt"))
    assert r.status_code == 404


def test_aws_iam_methods_take_sigv4_signed_requests(c):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    api, root = new_api(c)
    c.apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="AWS_IAM")
    c.apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK",
                            requestTemplates={"application/json": '{"statusCode": 200}'})
    c.apigw.put_integration_response(restApiId=api, resourceId=root, httpMethod="GET", statusCode="200",
                                     responseTemplates={"application/json": '{"caller": "$context.identity.userArn"}'})
    deploy(c, api)
    target = url(c, api, "test", "/")
    r = requests.get(target)
    assert r.status_code == 403 and r.json() == {"message": "Missing Authentication Token"}
    req = AWSRequest(method="GET", url=target)
    SigV4Auth(Credentials("test", "test"), "execute-api", REGION).add_auth(req)
    r = requests.get(target, headers=dict(req.headers))
    assert r.status_code == 200, r.text
    assert r.json() == {"caller": f"arn:aws:iam::{ACCOUNT}:root"}


def mock_api(c, template='{"hello": "$context.stage"}'):
    api, root = new_api(c)
    c.apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    c.apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK",
                            requestTemplates={"application/json": '{"statusCode": 200}'})
    c.apigw.put_integration_response(restApiId=api, resourceId=root, httpMethod="GET", statusCode="200",
                                     responseTemplates={"application/json": template})
    return api, root


def test_custom_domain_names_route_by_host_and_base_path(c):
    api, _ = mock_api(c)
    deploy(c, api, "prod")
    deploy(c, api, "beta")
    domain = f"{unique('api')}.example.test"
    d = c.apigw.create_domain_name(domainName=domain, regionalCertificateArn=f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/x",
                                   endpointConfiguration={"types": ["REGIONAL"]})
    assert d["domainNameStatus"] == "AVAILABLE" and d["regionalDomainName"].endswith(".amazonaws.com")
    c.apigw.create_base_path_mapping(domainName=domain, restApiId=api, stage="prod")
    c.apigw.create_base_path_mapping(domainName=domain, restApiId=api, basePath="v2", stage="beta")
    with pytest.raises(ClientError) as e:
        c.apigw.create_base_path_mapping(domainName=domain, restApiId=api, basePath="v2", stage="prod")
    assert e.value.response["Error"]["Code"] == "ConflictException"
    assert {m["basePath"] for m in c.apigw.get_base_path_mappings(domainName=domain)["items"]} == {"(none)", "v2"}
    host = {"Host": domain}
    r = requests.get(f"{c.endpoint}/", headers=host)
    assert r.status_code == 200 and r.json() == {"hello": "prod"}
    r = requests.get(f"{c.endpoint}/v2", headers=host)
    assert r.status_code == 200 and r.json() == {"hello": "beta"}
    c.apigw.delete_domain_name(domainName=domain)
    assert requests.get(f"{c.endpoint}/v2", headers=host).status_code != 200


def test_access_and_execution_logs_reach_cloudwatch_logs(c, target):
    logs = boto3.client("logs", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
                        aws_secret_access_key="test")
    group = unique("/apigw/access")
    logs.create_log_group(logGroupName=group)
    api, _ = mock_api(c)
    deploy(c, api, "prod")
    c.apigw.update_stage(restApiId=api, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/accessLogSettings/destinationArn",
         "value": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"},
        {"op": "replace", "path": "/accessLogSettings/format",
         "value": '{"requestId":"$context.requestId","status":"$context.status","path":"$context.path"}'},
        {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"}])
    r = requests.get(url(c, api, "prod", "/"))
    assert r.status_code == 200
    rid = r.headers["x-amzn-RequestId"]

    def lines(g):
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                events = logs.filter_log_events(logGroupName=g)["events"]
            except ClientError:
                events = []
            if events:
                return [e["message"] for e in events]
            time.sleep(0.2)
        return []
    access = lines(group)
    assert [json.loads(m) for m in access] == [{"requestId": rid, "status": "200", "path": "/prod/"}]
    execution = lines(f"API-Gateway-Execution-Logs_{api}/prod")
    assert any(f"({rid}) Method completed with status: 200" == m for m in execution), execution


def test_test_invoke_method_runs_the_undeployed_method(c):
    api, root = mock_api(c, template='{"q": "$input.params(\'q\')"}')
    out = c.apigw.test_invoke_method(restApiId=api, resourceId=root, httpMethod="GET", pathWithQueryString="/?q=7")
    assert out["status"] == 200 and json.loads(out["body"]) == {"q": "7"}
    assert "Method completed with status: 200" in out["log"]
    with pytest.raises(ClientError) as e:
        c.apigw.test_invoke_method(restApiId=api, resourceId=root, httpMethod="DELETE")
    assert e.value.response["Error"]["Code"] == "NotFoundException"


def test_stage_method_throttling_answers_429(c):
    api, _ = mock_api(c)
    deploy(c, api, "prod")
    assert all(requests.get(url(c, api, "prod", "/")).status_code == 200 for _ in range(5))
    c.apigw.update_stage(restApiId=api, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "2"},
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "1"}])
    codes = [requests.get(url(c, api, "prod", "/")).status_code for _ in range(6)]
    assert codes[:2] == [200, 200] and 429 in codes, codes
    r = requests.get(url(c, api, "prod", "/"))
    if r.status_code == 429:
        assert r.json() == {"message": "Too Many Requests"}
        assert r.headers["x-amzn-ErrorType"] == "TooManyRequestsException"


def test_bad_requests_to_stages_get_answers_and_the_server_keeps_serving(c):
    import socket
    api, _ = mock_api(c)
    deploy(c, api, "prod")
    host = f"{api}.execute-api.localhost:{c.port}"
    raw = [
        f"GET /prod/ HTTP/1.1\r\nHost: {host}\r\nX-Weird_Name: 1\r\n\r\n".encode(),
        f"POST /prod/ HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n".encode(),
        f"POST /prod/ HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\n\r\nab".encode(),
        f"GET /prod/%ff%fe/../..//x?%%%=%%% HTTP/1.1\r\nHost: {host}\r\n\r\n".encode(),
        b"\x16\x03\x01\x02\x00garbage\r\n\r\n",
        f"GET /prod/ HTTP/1.1\r\nHost: {host}\r\n" .encode() + b"X-Big: " + b"a" * 70000 + b"\r\n\r\n",
    ]
    for payload in raw:
        s = socket.create_connection(("127.0.0.1", c.port), timeout=5)
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            try:
                s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                pass
        finally:
            s.close()
    # Two requests pipelined on one connection keep their own header spelling.
    s = socket.create_connection(("127.0.0.1", c.port), timeout=5)
    try:
        s.sendall(f"GET /prod/ HTTP/1.1\r\nHost: {host}\r\n\r\nGET /prod/ HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        got = b""
        deadline = time.time() + 5
        while got.count(b"HTTP/1.1 200") < 2 and time.time() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        assert got.count(b"HTTP/1.1 200") == 2, got[:500]
    finally:
        s.close()
    assert requests.get(url(c, api, "prod", "/")).json() == {"hello": "prod"}
