"""TLS on the one port: the local CA is downloadable at /_stratus/ca.pem and kept in the data
directory across restarts; clients that trust it reach every front door over https (HTTP/1.1
and HTTP/2 by ALPN) on the same port as plain HTTP; functions trust it without being told."""

from __future__ import annotations

import json
import socket
import ssl

import boto3
import pytest
import requests

from sqs_helpers import REGION, client_config, unique
from test_lambda import ROLE, create, zip_of

pytestmark = pytest.mark.stratus_only


def ca_file(endpoint, tmp_path):
    r = requests.get(f"{endpoint}/_stratus/ca.pem")
    assert r.status_code == 200 and r.text.startswith("-----BEGIN CERTIFICATE-----")
    path = tmp_path / "ca.pem"
    path.write_text(r.text)
    return path


def test_https_on_the_same_port_with_the_downloadable_ca(target, tmp_path):
    ca = ca_file(target.endpoint, tmp_path)
    https = f"https://localhost:{target.port}"
    r = requests.get(f"{https}/_stratus/health", verify=str(ca))
    assert r.status_code == 200 and r.json()["status"] == "ready"
    assert requests.get(f"{target.endpoint}/_stratus/health").status_code == 200, "plain HTTP still works"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{https}/_stratus/health", verify=True)  # not a publicly trusted certificate
    sqs = boto3.client("sqs", endpoint_url=https, region_name=REGION, aws_access_key_id="test",
                       aws_secret_access_key="test", verify=str(ca), config=client_config())
    url = sqs.create_queue(QueueName=unique("tls"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="over tls")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "over tls"


def test_service_host_names_are_covered_and_http2_is_offered(target, tmp_path):
    ca = ca_file(target.endpoint, tmp_path)
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    for name in ("abc123defg.execute-api.localhost", "bucket.s3.localhost", "lb-1234567890.us-east-1.elb.localhost"):
        with socket.create_connection(("127.0.0.1", target.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as tls:
                assert tls.selected_alpn_protocol() == "h2", name
    plain = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", target.port), timeout=5) as raw:
        with plain.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"GET /_stratus/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    assert data.startswith(b"HTTP/1.1 200")


def test_the_ca_is_kept_across_restarts(server_factory, tmp_path):
    srv = server_factory()
    first = requests.get(f"{srv.endpoint}/_stratus/ca.pem").text
    srv.stop()
    srv.start(timeout=10)
    assert requests.get(f"{srv.endpoint}/_stratus/ca.pem").text == first
    path = tmp_path / "ca.pem"
    path.write_text(first)
    assert requests.get(f"https://localhost:{srv.port}/_stratus/health", verify=str(path)).status_code == 200


def test_functions_trust_the_ca(target):
    lam = boto3.client("lambda", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
                       aws_secret_access_key="test", config=client_config(read_timeout=60))
    name, _ = create(lam, zip_of({"app.py": """
import json, os, urllib.request
def handler(event, context):
    with urllib.request.urlopen(event["url"], timeout=10) as r:
        body = json.loads(r.read())
    return {"status": body["status"], "env": {k: os.environ.get(k) for k in
            ("AWS_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")}}
"""}))
    r = lam.invoke(FunctionName=name, Payload=json.dumps({"url": f"https://127.0.0.1:{target.port}/_stratus/health"}))
    out = json.loads(r["Payload"].read())
    assert "FunctionError" not in r, out
    assert out["status"] == "ready"
    assert len(set(out["env"].values())) == 1 and next(iter(out["env"].values())).endswith("ca-bundle.pem")


def test_rest_api_over_tls_says_https_to_the_function(target, tmp_path):
    from test_apigateway import PROXY_ECHO, lambda_uri
    ca = ca_file(target.endpoint, tmp_path)
    kw = dict(endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    lam = boto3.client("lambda", config=client_config(read_timeout=60), **kw)
    agw = boto3.client("apigateway", **kw)
    name, fn = create(lam, PROXY_ECHO)
    api = agw.create_rest_api(name=unique("tlsapi"))
    res = agw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{proxy+}")
    agw.put_method(restApiId=api["id"], resourceId=res["id"], httpMethod="ANY", authorizationType="NONE")
    agw.put_integration(restApiId=api["id"], resourceId=res["id"], httpMethod="ANY", type="AWS_PROXY",
                        integrationHttpMethod="POST", uri=lambda_uri(fn["FunctionArn"]))
    lam.add_permission(FunctionName=name, StatementId="apigw", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com",
                       SourceArn=f"arn:aws:execute-api:{REGION}:000000000000:{api['id']}/*")
    agw.create_deployment(restApiId=api["id"], stageName="prod")
    r = requests.get(f"https://localhost:{target.port}/_aws/execute-api/{api['id']}/prod/x", verify=str(ca))
    assert r.status_code == 200, r.text
    headers = r.json()["headers"]
    assert headers["X-Forwarded-Proto"] == "https"
    assert headers["X-Forwarded-Port"] == str(target.port)
