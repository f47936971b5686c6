"""API Gateway v2 authorization: JWT authorizers (a JWKS served by this test as an OpenID
issuer, tokens signed here), Lambda REQUEST authorizers (payload 2.0 simple responses with
caching, payload 1.0 IAM policies), AWS_IAM routes (SigV4-signed requests), and the `$connect`
authorizer of WebSocket APIs."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from sqs_helpers import REGION, unique
from test_apigatewayv2 import ACCOUNT, c, call, echo  # noqa: F401  (fixtures)
from test_lambda import create, zip_of

pytestmark = pytest.mark.stratus_only


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    """An OpenID issuer on 127.0.0.1: its configuration and JWKS over HTTP, and tokens."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "k1"
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"}
                elif self.path == "/jwks":
                    nums = issuer.key.public_key().public_numbers()
                    body = {"keys": [{"kty": "RSA", "kid": issuer.kid, "alg": "RS256", "use": "sig",
                                      "n": b64url(nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")),
                                      "e": b64url(nums.e.to_bytes(3, "big"))}]}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, key=None, **claims) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": "my-app", "sub": "user-1", "iat": now, "exp": now + 600, **claims}
        head = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signed = f"{b64url(json.dumps(head).encode())}.{b64url(json.dumps(body).encode())}"
        sig = (key or self.key).sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signed}.{b64url(sig)}"


@pytest.fixture(scope="module")
def issuer():
    i = Issuer()
    yield i
    i.server.shutdown()


def deployed(c, api):
    c.v2.create_stage(ApiId=api, StageName="$default", AutoDeploy=True)


def test_jwt_authorizer_checks_issuer_audience_expiry_signature_and_scopes(c, echo, issuer):
    api = c.v2.create_api(Name=unique("jwt"), ProtocolType="HTTP")["ApiId"]
    integ = c.v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY", IntegrationUri=echo,
                                    PayloadFormatVersion="2.0")["IntegrationId"]
    auth = c.v2.create_authorizer(ApiId=api, Name="jwt", AuthorizerType="JWT",
                                  IdentitySource=["$request.header.Authorization"],
                                  JwtConfiguration={"Issuer": issuer.url, "Audience": ["my-app"]})
    assert auth["AuthorizerType"] == "JWT" and auth["JwtConfiguration"]["Issuer"] == issuer.url
    assert c.v2.get_authorizers(ApiId=api)["Items"][0]["AuthorizerId"] == auth["AuthorizerId"]
    c.v2.create_route(ApiId=api, RouteKey="GET /secure", Target=f"integrations/{integ}",
                      AuthorizationType="JWT", AuthorizerId=auth["AuthorizerId"], AuthorizationScopes=["read"])
    c.v2.create_route(ApiId=api, RouteKey="GET /open", Target=f"integrations/{integ}")
    deployed(c, api)

    assert call(c, api, "/open").status_code == 200
    r = call(c, api, "/secure")
    assert r.status_code == 401 and r.json() == {"message": "Unauthorized"}
    assert r.headers["www-authenticate"] == "Bearer"
    good = issuer.token(scope="read write", groups=["a", "b"])
    r = call(c, api, "/secure", headers={"Authorization": f"Bearer {good}"})
    assert r.status_code == 200, r.text
    jwt = r.json()["requestContext"]["authorizer"]["jwt"]
    assert jwt["claims"]["sub"] == "user-1" and jwt["claims"]["groups"] == "[a b]"
    assert jwt["claims"]["iss"] == issuer.url and jwt["scopes"] == ["read", "write"]

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for bad, why in [(issuer.token(aud="someone-else", scope="read"), "audience"),
                     (issuer.token(exp=int(time.time()) - 10, scope="read"), "expired"),
                     (issuer.token(iss="http://elsewhere", scope="read"), "issuer"),
                     (issuer.token(key=other_key, scope="read"), "signature"),
                     ("not-a-token", "malformed")]:
        r = call(c, api, "/secure", headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401, why
        assert 'error="invalid_token"' in r.headers["www-authenticate"], why
    r = call(c, api, "/secure", headers={"Authorization": issuer.token(scope="write")})
    assert r.status_code == 403 and r.json() == {"message": "Forbidden"}
    # client_id stands for aud (Cognito access tokens).
    r = call(c, api, "/secure", headers={"Authorization": issuer.token(aud=None, client_id="my-app", scope="read")})
    assert r.status_code == 200

    with pytest.raises(ClientError) as e:
        c.v2.delete_authorizer(ApiId=api, AuthorizerId=auth["AuthorizerId"])
    assert e.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(ClientError) as e:
        c.v2.create_route(ApiId=api, RouteKey="GET /x", AuthorizationType="JWT", AuthorizerId="nope")
    assert e.value.response["Error"]["Code"] == "NotFoundException"


SIMPLE_AUTHORIZER = zip_of({"app.py": """
calls = 0
def handler(event, context):
    global calls
    calls += 1
    ok = event["identitySource"] == ["let-me-in"]
    assert event["type"] == "REQUEST" and event["version"] == "2.0" and event["routeArn"].startswith("arn:aws:execute-api:")
    return {"isAuthorized": ok, "context": {"user": "alice", "calls": calls}}
"""})

POLICY_AUTHORIZER = zip_of({"app.py": """
def handler(event, context):
    assert event["version"] == "1.0" and event["type"] == "REQUEST"
    arn = event["methodArn"]
    base = arn.split("/")[0]
    effect = "Allow" if event["identitySource"] == "token-1" else "Deny"
    return {"principalId": "user|1",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": base + "/*/GET/items"}]},
            "context": {"tier": "gold"}}
"""})


def authorizer_function(c, code):
    name, fn = create(c.lam, code)
    c.lam.add_permission(FunctionName=name, StatementId="apigw", Action="lambda:InvokeFunction",
                         Principal="apigateway.amazonaws.com",
                         SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*")
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{fn['FunctionArn']}/invocations"


def test_lambda_authorizer_simple_responses_with_caching(c, echo):
    uri = authorizer_function(c, SIMPLE_AUTHORIZER)
    api = c.v2.create_api(Name=unique("lam"), ProtocolType="HTTP")["ApiId"]
    integ = c.v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY", IntegrationUri=echo,
                                    PayloadFormatVersion="2.0")["IntegrationId"]
    with pytest.raises(ClientError) as e:
        c.v2.create_authorizer(ApiId=api, Name="x", AuthorizerType="REQUEST", AuthorizerUri=uri,
                               IdentitySource=["$request.header.x-token"], AuthorizerPayloadFormatVersion="1.0",
                               EnableSimpleResponses=True)
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    auth = c.v2.create_authorizer(ApiId=api, Name="simple", AuthorizerType="REQUEST", AuthorizerUri=uri,
                                  IdentitySource=["$request.header.x-token"], AuthorizerPayloadFormatVersion="2.0",
                                  EnableSimpleResponses=True, AuthorizerResultTtlInSeconds=300)
    c.v2.create_route(ApiId=api, RouteKey="GET /me", Target=f"integrations/{integ}",
                      AuthorizationType="CUSTOM", AuthorizerId=auth["AuthorizerId"])
    deployed(c, api)
    assert call(c, api, "/me").status_code == 401
    r = call(c, api, "/me", headers={"x-token": "wrong"})
    assert r.status_code == 403 and r.json() == {"message": "Forbidden"}
    first = call(c, api, "/me", headers={"x-token": "let-me-in"})
    assert first.status_code == 200, first.text
    lam = first.json()["requestContext"]["authorizer"]["lambda"]
    assert lam["user"] == "alice"
    again = call(c, api, "/me", headers={"x-token": "let-me-in"}).json()["requestContext"]["authorizer"]["lambda"]
    assert again["calls"] == lam["calls"], "the answer is reused within the TTL"


def test_lambda_authorizer_iam_policy_payload_1(c, echo):
    uri = authorizer_function(c, POLICY_AUTHORIZER)
    api = c.v2.create_api(Name=unique("pol"), ProtocolType="HTTP")["ApiId"]
    integ = c.v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY", IntegrationUri=echo,
                                    PayloadFormatVersion="2.0")["IntegrationId"]
    auth = c.v2.create_authorizer(ApiId=api, Name="policy", AuthorizerType="REQUEST", AuthorizerUri=uri,
                                  IdentitySource=["$request.querystring.token"],
                                  AuthorizerPayloadFormatVersion="1.0")
    for key in ("GET /items", "GET /other"):
        c.v2.create_route(ApiId=api, RouteKey=key, Target=f"integrations/{integ}",
                          AuthorizationType="CUSTOM", AuthorizerId=auth["AuthorizerId"])
    deployed(c, api)
    r = call(c, api, "/items?token=token-1")
    assert r.status_code == 200, r.text
    lam = r.json()["requestContext"]["authorizer"]["lambda"]
    assert lam == {"tier": "gold", "principalId": "user|1"}
    assert call(c, api, "/other?token=token-1").status_code == 403, "the policy allows only GET /items"
    assert call(c, api, "/items?token=token-2").status_code == 403, "explicit deny"
    assert call(c, api, "/items").status_code == 401


def test_aws_iam_route_needs_a_signature(c, echo):
    api = c.v2.create_api(Name=unique("iam"), ProtocolType="HTTP")["ApiId"]
    integ = c.v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY", IntegrationUri=echo,
                                    PayloadFormatVersion="2.0")["IntegrationId"]
    c.v2.create_route(ApiId=api, RouteKey="GET /private", Target=f"integrations/{integ}", AuthorizationType="AWS_IAM")
    deployed(c, api)
    assert call(c, api, "/private").status_code == 403
    url = f"{c.endpoint}/_aws/execute-api/{api}/private"
    req = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials("test", "test"), "execute-api", REGION).add_auth(req)
    r = requests.get(url, headers=dict(req.headers))
    assert r.status_code == 200, r.text
    iam = r.json()["requestContext"]["authorizer"]["iam"]
    assert iam["accessKey"] == "test" and iam["accountId"] == ACCOUNT


WS_AUTHORIZER = zip_of({"app.py": """
def handler(event, context):
    token = (event.get("queryStringParameters") or {}).get("token")
    effect = "Allow" if token == "ok" else "Deny"
    return {"principalId": "bob", "context": {"room": "blue"},
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]}}
"""})

WS_ECHO = zip_of({"app.py": """
import json
def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"].get("authorizer"))}
"""})


def test_websocket_connect_authorizer(c):
    uri = authorizer_function(c, WS_AUTHORIZER)
    name, fn = create(c.lam, WS_ECHO)
    c.lam.add_permission(FunctionName=name, StatementId="apigw", Action="lambda:InvokeFunction",
                         Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*")
    api = c.v2.create_api(Name=unique("wsauth"), ProtocolType="WEBSOCKET",
                          RouteSelectionExpression="$request.body.action")["ApiId"]
    with pytest.raises(ClientError) as e:
        c.v2.create_authorizer(ApiId=api, Name="jwt", AuthorizerType="JWT", IdentitySource=["$request.header.A"],
                               JwtConfiguration={"Issuer": "http://x", "Audience": ["a"]})
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    auth = c.v2.create_authorizer(ApiId=api, Name="ws", AuthorizerType="REQUEST", AuthorizerUri=uri,
                                  IdentitySource=["route.request.querystring.token"])
    integ = c.v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY",
                                    IntegrationUri=fn["FunctionArn"])["IntegrationId"]
    c.v2.create_route(ApiId=api, RouteKey="$connect", Target=f"integrations/{integ}",
                      AuthorizationType="CUSTOM", AuthorizerId=auth["AuthorizerId"])
    with pytest.raises(ClientError) as e:
        c.v2.create_route(ApiId=api, RouteKey="other", AuthorizationType="CUSTOM", AuthorizerId=auth["AuthorizerId"])
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    route = c.v2.create_route(ApiId=api, RouteKey="$default", Target=f"integrations/{integ}",
                              RouteResponseSelectionExpression="$default")
    c.v2.create_route_response(ApiId=api, RouteId=route["RouteId"], RouteResponseKey="$default")
    c.v2.create_stage(ApiId=api, StageName="prod", AutoDeploy=True)
    url = f"ws://127.0.0.1:{c.port}/_aws/execute-api/{api}/prod"
    with pytest.raises(InvalidStatus) as e:
        connect(url, open_timeout=30)
    assert e.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as e:
        connect(url + "?token=bad", open_timeout=30)
    assert e.value.response.status_code == 403
    with connect(url + "?token=ok", open_timeout=30) as ws:
        ws.send("hello")
        granted = json.loads(ws.recv(timeout=30))
    assert granted == {"room": "blue", "principalId": "bob"}
