"""Application Load Balancers (elbv2) and the EC2 default network: the control plane with boto3
and the aws CLI, and load balancers served by Host name and on their listeners' own ports:
fixed responses, redirects, rules in priority order, Lambda targets (the documented event and
answer contract, multi-value mode, base64 bodies, 502/503, the invoke permission) and IP
targets proxied to a local HTTP server."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from sqs_helpers import REGION, aws_cli_base, unique
from test_lambda import create, zip_of

ECHO = zip_of({"app.py": """
import json
def handler(event, context):
    body = event.get("body") or ""
    if body.startswith("respond:"):
        return json.loads(body[len("respond:"):])
    if body == "raise":
        raise ValueError("boom")
    return {"statusCode": 200, "statusDescription": "200 OK", "isBase64Encoded": False,
            "headers": {"Content-Type": "application/json", "X-From": "lambda"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "Content-Type": ["application/json"]},
            "body": json.dumps(event)}
"""})


@pytest.fixture(scope="module")
def c(target):
    kw = dict(endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    s = boto3.session.Session()

    class Clients:
        elb = s.client("elbv2", **kw)
        ec2 = s.client("ec2", **kw)
        lam = s.client("lambda", **kw)
        endpoint = target.endpoint
        port = target.port

    return Clients


def code(e):
    return e.value.response["Error"]["Code"]


def lb(c, **kw):
    name = kw.pop("Name", unique("lb")[:32].rstrip("-"))
    return c.elb.create_load_balancer(Name=name, **kw)["LoadBalancers"][0]


def lambda_group(c, multi=False):
    tg = c.elb.create_target_group(Name=unique("tg")[:32].rstrip("-"), TargetType="lambda")["TargetGroups"][0]
    if multi:
        c.elb.modify_target_group_attributes(
            TargetGroupArn=tg["TargetGroupArn"], Attributes=[{"Key": "lambda.multi_value_headers.enabled", "Value": "true"}])
    return tg


def function_for(c, tg_arn, allow=True):
    name, fn = create(c.lam, ECHO)
    if allow:
        c.lam.add_permission(FunctionName=name, StatementId="elb", Action="lambda:InvokeFunction",
                             Principal="elasticloadbalancing.amazonaws.com", SourceArn=tg_arn)
    return fn["FunctionArn"]


def get(c, dns, path="/", method="GET", **kw):
    return requests.request(method, f"http://127.0.0.1:{c.port}{path}", headers={"Host": dns, **kw.pop("headers", {})},
                            allow_redirects=False, timeout=30, **kw)


# ----------------------------------------------------------------------------- EC2

def test_ec2_default_network(c):
    vpcs = c.ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    assert len(vpcs) == 1 and vpcs[0]["IsDefault"] is True and vpcs[0]["CidrBlock"] == "172.31.0.0/16"
    vpc = vpcs[0]["VpcId"]
    assert vpc.startswith("vpc-")
    subnets = c.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                              {"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    assert [s["AvailabilityZone"] for s in subnets] == [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
    assert [s["CidrBlock"] for s in subnets] == ["172.31.0.0/20", "172.31.16.0/20", "172.31.32.0/20"]
    assert all(s["MapPublicIpOnLaunch"] and s["DefaultForAz"] for s in subnets)
    one = c.ec2.describe_subnets(SubnetIds=[subnets[1]["SubnetId"]])["Subnets"]
    assert one[0]["AvailabilityZone"] == f"{REGION}b"
    sgs = c.ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["default"]},
                                                  {"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
    assert len(sgs) == 1 and sgs[0]["GroupId"].startswith("sg-")
    zones = c.ec2.describe_availability_zones()["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
    # Stable: the same ids on the next call.
    assert c.ec2.describe_vpcs()["Vpcs"][0]["VpcId"] == vpc
    with pytest.raises(ClientError) as e:
        c.ec2.describe_vpcs(VpcIds=["vpc-0123456789abcdef0"])
    assert code(e) == "InvalidVpcID.NotFound"
    with pytest.raises(ClientError) as e:
        c.ec2.describe_subnets(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    assert code(e) == "InvalidParameterValue"


# ----------------------------------------------------------------------------- control plane

def test_load_balancer_lifecycle(c):
    subnets = [s["SubnetId"] for s in c.ec2.describe_subnets()["Subnets"]][:2]
    created = lb(c, Subnets=subnets, Tags=[{"Key": "team", "Value": "a"}])
    assert created["Type"] == "application" and created["Scheme"] == "internet-facing"
    assert created["IpAddressType"] == "ipv4" and created["State"]["Code"] == "active"
    name = created["LoadBalancerName"]
    assert created["DNSName"].startswith(f"{name}-") and created["DNSName"].endswith(f".{REGION}.elb.localhost")
    assert created["LoadBalancerArn"].startswith(f"arn:aws:elasticloadbalancing:{REGION}:")
    assert f":loadbalancer/app/{name}/" in created["LoadBalancerArn"]
    assert sorted(z["SubnetId"] for z in created["AvailabilityZones"]) == sorted(subnets)
    internal = lb(c, Scheme="internal")
    assert internal["DNSName"].startswith("internal-")
    got = c.elb.describe_load_balancers(Names=[name])["LoadBalancers"]
    assert got[0]["LoadBalancerArn"] == created["LoadBalancerArn"]
    page = c.elb.describe_load_balancers(PageSize=1)
    assert len(page["LoadBalancers"]) == 1 and "NextMarker" in page
    tags = c.elb.describe_tags(ResourceArns=[created["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
    assert tags == [{"Key": "team", "Value": "a"}]
    attrs = {a["Key"]: a["Value"] for a in
             c.elb.describe_load_balancer_attributes(LoadBalancerArn=created["LoadBalancerArn"])["Attributes"]}
    assert attrs["idle_timeout.timeout_seconds"] == "60" and attrs["deletion_protection.enabled"] == "false"
    c.elb.modify_load_balancer_attributes(LoadBalancerArn=created["LoadBalancerArn"],
                                          Attributes=[{"Key": "deletion_protection.enabled", "Value": "true"}])
    with pytest.raises(ClientError) as e:
        c.elb.delete_load_balancer(LoadBalancerArn=created["LoadBalancerArn"])
    assert code(e) == "OperationNotPermitted"
    with pytest.raises(ClientError) as e:
        c.elb.modify_load_balancer_attributes(LoadBalancerArn=created["LoadBalancerArn"],
                                              Attributes=[{"Key": "no.such", "Value": "1"}])
    assert code(e) == "ValidationError"
    c.elb.modify_load_balancer_attributes(LoadBalancerArn=created["LoadBalancerArn"],
                                          Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}])
    c.elb.delete_load_balancer(LoadBalancerArn=created["LoadBalancerArn"])
    with pytest.raises(ClientError) as e:
        c.elb.describe_load_balancers(Names=[name])
    assert code(e) == "LoadBalancerNotFound"


def test_load_balancer_validation(c):
    for bad in ["-lead", "trail-", "under_score", "internal-x", "x" * 33]:
        with pytest.raises(ClientError) as e:
            c.elb.create_load_balancer(Name=bad)
        assert code(e) == "ValidationError", bad
    subnets = [s["SubnetId"] for s in c.ec2.describe_subnets()["Subnets"]]
    with pytest.raises(ClientError) as e:
        lb(c, Subnets=subnets[:1])
    assert code(e) == "ValidationError"
    with pytest.raises(ClientError) as e:
        lb(c, Subnets=["subnet-00000000000000000", subnets[0]])
    assert code(e) == "SubnetNotFound"
    with pytest.raises(ClientError) as e:
        c.elb.describe_load_balancers(LoadBalancerArns=[
            f"arn:aws:elasticloadbalancing:{REGION}:000000000000:loadbalancer/app/nope/0123456789abcdef"])
    assert code(e) == "LoadBalancerNotFound"
    with pytest.raises(ClientError) as e:
        c.elb.set_ip_address_type(LoadBalancerArn="x", IpAddressType="ipv4")
    assert code(e) == "InvalidAction"
    limits = {l["Name"]: l["Max"] for l in c.elb.describe_account_limits()["Limits"]}
    assert limits["application-load-balancers"] == "50"


def test_target_groups(c):
    vpc = c.ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    tg = lambda_group(c)
    assert tg["TargetType"] == "lambda" and tg["HealthCheckEnabled"] is False
    assert "Protocol" not in tg and "Port" not in tg and "VpcId" not in tg
    assert tg["HealthCheckIntervalSeconds"] == 35 and tg["HealthCheckTimeoutSeconds"] == 30
    attrs = c.elb.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])["Attributes"]
    assert attrs == [{"Key": "lambda.multi_value_headers.enabled", "Value": "false"}]
    with pytest.raises(ClientError) as e:
        c.elb.create_target_group(Name=unique("tg")[:32], TargetType="lambda", Protocol="HTTP", Port=80, VpcId=vpc)
    assert code(e) == "ValidationError"
    ip = c.elb.create_target_group(Name=unique("ip")[:32], TargetType="ip", Protocol="HTTP", Port=8080,
                                   VpcId=vpc)["TargetGroups"][0]
    assert ip["HealthCheckEnabled"] is True and ip["HealthCheckPort"] == "traffic-port"
    assert ip["HealthCheckIntervalSeconds"] == 30 and ip["Matcher"] == {"HttpCode": "200"}
    for missing in [dict(Port=80, VpcId=vpc), dict(Protocol="HTTP", VpcId=vpc), dict(Protocol="HTTP", Port=80)]:
        with pytest.raises(ClientError) as e:
            c.elb.create_target_group(Name=unique("ip")[:32], TargetType="ip", **missing)
        assert code(e) == "ValidationError"
    with pytest.raises(ClientError) as e:
        c.elb.create_target_group(Name="bad_name", TargetType="lambda")
    assert code(e) == "ValidationError"
    modified = c.elb.modify_target_group(TargetGroupArn=ip["TargetGroupArn"], HealthCheckPath="/health")
    assert modified["TargetGroups"][0]["HealthCheckPath"] == "/health"
    c.elb.delete_target_group(TargetGroupArn=ip["TargetGroupArn"])
    with pytest.raises(ClientError) as e:
        c.elb.describe_target_groups(TargetGroupArns=[ip["TargetGroupArn"]])
    assert code(e) == "TargetGroupNotFound"


def test_listeners_rules_and_priorities(c):
    balancer = lb(c)
    arn = balancer["LoadBalancerArn"]
    fixed = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain",
                                                               "MessageBody": "nothing"}}
    listener = c.elb.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=8081,
                                     DefaultActions=[fixed])["Listeners"][0]
    assert listener["Port"] == 8081 and listener["DefaultActions"][0]["Type"] == "fixed-response"
    with pytest.raises(ClientError) as e:
        c.elb.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=8081, DefaultActions=[fixed])
    assert code(e) == "DuplicateListener"
    with pytest.raises(ClientError) as e:
        c.elb.create_listener(LoadBalancerArn=arn, Protocol="HTTPS", Port=8443, DefaultActions=[fixed])
    assert code(e) == "CertificateNotFound"
    auth = {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {
        "Issuer": "https://i", "AuthorizationEndpoint": "https://i/a", "TokenEndpoint": "https://i/t",
        "UserInfoEndpoint": "https://i/u", "ClientId": "c", "ClientSecret": "s"}}
    with pytest.raises(ClientError) as e:
        c.elb.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=8082, DefaultActions=[auth, dict(fixed, Order=2)])
    assert code(e) == "InvalidLoadBalancerAction"
    larn = listener["ListenerArn"]
    r1 = c.elb.create_rule(ListenerArn=larn, Priority=10, Conditions=[{"Field": "path-pattern", "Values": ["/a/*"]}],
                           Actions=[fixed])["Rules"][0]
    assert r1["Priority"] == "10" and r1["IsDefault"] is False
    assert r1["Conditions"][0]["PathPatternConfig"] == {"Values": ["/a/*"]}
    with pytest.raises(ClientError) as e:
        c.elb.create_rule(ListenerArn=larn, Priority=10, Conditions=[{"Field": "path-pattern", "Values": ["/b"]}],
                          Actions=[fixed])
    assert code(e) == "PriorityInUse"
    with pytest.raises(ClientError) as e:
        c.elb.create_rule(ListenerArn=larn, Priority=50001, Conditions=[{"Field": "path-pattern", "Values": ["/b"]}],
                          Actions=[fixed])
    assert code(e) == "ValidationError"
    r2 = c.elb.create_rule(ListenerArn=larn, Priority=20, Conditions=[
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["prod"]}}],
        Actions=[fixed])["Rules"][0]
    rules = c.elb.describe_rules(ListenerArn=larn)["Rules"]
    assert [r["Priority"] for r in rules] == ["10", "20", "default"]
    assert rules[-1]["IsDefault"] is True
    c.elb.set_rule_priorities(RulePriorities=[{"RuleArn": r1["RuleArn"], "Priority": 30}])
    assert [r["Priority"] for r in c.elb.describe_rules(ListenerArn=larn)["Rules"]] == ["20", "30", "default"]
    with pytest.raises(ClientError) as e:
        c.elb.set_rule_priorities(RulePriorities=[{"RuleArn": r1["RuleArn"], "Priority": 20}])
    assert code(e) == "PriorityInUse"
    with pytest.raises(ClientError) as e:
        c.elb.delete_rule(RuleArn=rules[-1]["RuleArn"])
    assert code(e) == "OperationNotPermitted"
    c.elb.modify_rule(RuleArn=r2["RuleArn"], Conditions=[{"Field": "host-header", "Values": ["*.example.com"]}])
    c.elb.delete_rule(RuleArn=r2["RuleArn"])
    with pytest.raises(ClientError) as e:
        c.elb.describe_rules(RuleArns=[r2["RuleArn"]])
    assert code(e) == "RuleNotFound"
    tg = lambda_group(c)
    c.elb.modify_listener(ListenerArn=larn, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    got = c.elb.describe_listeners(LoadBalancerArn=arn)["Listeners"][0]["DefaultActions"][0]
    assert got["TargetGroupArn"] == tg["TargetGroupArn"]
    assert got["ForwardConfig"]["TargetGroups"] == [{"TargetGroupArn": tg["TargetGroupArn"], "Weight": 1}]
    described = c.elb.describe_target_groups(TargetGroupArns=[tg["TargetGroupArn"]])["TargetGroups"][0]
    assert described["LoadBalancerArns"] == [arn]
    with pytest.raises(ClientError) as e:
        c.elb.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])
    assert code(e) == "ResourceInUse"
    c.elb.delete_load_balancer(LoadBalancerArn=arn)
    with pytest.raises(ClientError) as e:
        c.elb.describe_listeners(ListenerArns=[larn])
    assert code(e) == "ListenerNotFound"
    c.elb.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])


# ----------------------------------------------------------------------------- data plane

def test_fixed_response_redirect_and_rule_order(c):
    balancer = lb(c)
    dns = balancer["DNSName"]
    listener = c.elb.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {
            "StatusCode": "503", "ContentType": "text/plain", "MessageBody": "default"}}])["Listeners"][0]
    larn = listener["ListenerArn"]
    c.elb.create_rule(ListenerArn=larn, Priority=5, Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
                      Actions=[{"Type": "fixed-response", "FixedResponseConfig": {
                          "StatusCode": "200", "ContentType": "application/json", "MessageBody": '{"ok":true}'}}])
    c.elb.create_rule(ListenerArn=larn, Priority=1, Conditions=[
        {"Field": "path-pattern", "Values": ["/api/special"]},
        {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "v", "Value": "2"}]}}],
        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "202", "MessageBody": "special"}}])
    c.elb.create_rule(ListenerArn=larn, Priority=7, Conditions=[{"Field": "path-pattern", "Values": ["/old/*"]}],
                      Actions=[{"Type": "redirect", "RedirectConfig": {
                          "Host": "example.com", "Path": "/new/#{path}", "Query": "from=alb&#{query}",
                          "StatusCode": "HTTP_301"}}])
    c.elb.create_rule(ListenerArn=larn, Priority=8, Conditions=[
        {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["DELETE"]}}],
        Actions=[{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "StatusCode": "HTTP_302"}}])
    r = get(c, dns, "/api/users")
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Server"] == "awselb/2.0"
    assert get(c, dns, "/api/special?v=2").text == "special"
    assert get(c, dns, "/api/special?v=3").status_code == 200
    assert get(c, dns, "/API/users").text == "default"  # paths are case-sensitive
    r = get(c, dns, "/old/page?x=1")
    assert r.status_code == 301 and r.headers["Location"] == "http://example.com/new/old/page?from=alb&x=1"
    r = get(c, dns, "/anything", method="DELETE")
    assert r.status_code == 302 and r.headers["Location"] == f"https://{dns}:80/anything"
    r = get(c, f"{dns}:{c.port}", "/nothing")
    assert r.status_code == 503 and r.text == "default"


def test_lambda_target_event_and_answers(c):
    balancer = lb(c)
    dns = balancer["DNSName"]
    tg = lambda_group(c)
    tg_arn = tg["TargetGroupArn"]
    c.elb.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}])
    r = get(c, dns, "/lambda")
    assert r.status_code == 503 and "<title>503 Service Temporarily Unavailable</title>" in r.text
    assert r.headers["Server"] == "awselb/2.0"
    fn = function_for(c, tg_arn)
    c.elb.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": fn}])
    health = c.elb.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
    assert health[0]["Target"]["Id"] == fn
    assert health[0]["TargetHealth"] == {"State": "unavailable", "Reason": "Target.HealthCheckDisabled",
                                         "Description": "Health checks are disabled"}
    r = get(c, dns, "/lambda", params="query=1234ABCD&enc=a%20b&dup=1&dup=2",
            headers={"X-Custom": "v", "Content-Type": "application/json"}, method="POST", data='{"a": 1}')
    assert r.status_code == 200, r.text
    assert r.headers["X-From"] == "lambda"
    ev = r.json()
    assert ev["requestContext"] == {"elb": {"targetGroupArn": tg_arn}}
    assert ev["httpMethod"] == "POST" and ev["path"] == "/lambda"
    assert ev["queryStringParameters"] == {"query": "1234ABCD", "enc": "a%20b", "dup": "2"}
    h = ev["headers"]
    assert h["x-custom"] == "v" and h["host"] == dns and h["content-type"] == "application/json"
    assert h["x-forwarded-proto"] == "http" and h["x-forwarded-port"] == "80"
    assert h["x-forwarded-for"] == "127.0.0.1" and h["x-amzn-trace-id"].startswith("Root=1-")
    assert all(k == k.lower() for k in h)
    assert ev["body"] == '{"a": 1}' and ev["isBase64Encoded"] is False
    assert "multiValueHeaders" not in ev
    empty = get(c, dns, "/").json()
    assert empty["queryStringParameters"] == {} and empty["body"] == "" and empty["isBase64Encoded"] is False
    binary = get(c, dns, "/bin", method="POST", data=b"\x00\x01\x02", headers={"Content-Type": "application/octet-stream"}).json()
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\x00\x01\x02"
    answer = {"statusCode": 201, "statusDescription": "201 Created", "isBase64Encoded": True,
              "headers": {"Content-Type": "image/png"}, "body": base64.b64encode(b"\x89PNG").decode()}
    r = get(c, dns, "/", method="POST", data="respond:" + json.dumps(answer), headers={"Content-Type": "text/plain"})
    assert r.status_code == 201 and r.content == b"\x89PNG" and r.headers["Content-Type"] == "image/png"
    r = get(c, dns, "/", method="POST", data='respond:{"no": "status"}', headers={"Content-Type": "text/plain"})
    assert r.status_code == 502 and "<title>502 Bad Gateway</title>" in r.text
    only_multi = {"statusCode": 200, "multiValueHeaders": {"A": ["1"]}, "body": "x"}
    r = get(c, dns, "/", method="POST", data="respond:" + json.dumps(only_multi), headers={"Content-Type": "text/plain"})
    assert r.status_code == 502
    r = get(c, dns, "/", method="POST", data="raise", headers={"Content-Type": "text/plain"})
    assert r.status_code == 502
    r = get(c, dns, "/", method="POST", data=b"x" * (1024 * 1024 + 1), headers={"Content-Type": "text/plain"})
    assert r.status_code == 413


def test_lambda_multi_value_mode(c):
    balancer = lb(c)
    tg = lambda_group(c, multi=True)
    c.elb.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    c.elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": function_for(c, tg["TargetGroupArn"])}])
    r = get(c, balancer["DNSName"], "/m", params="a=1&a=2", headers={"X-Dup": "x"})
    assert r.status_code == 200
    ev = r.json()
    assert ev["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert ev["multiValueHeaders"]["x-dup"] == ["x"]
    assert "headers" not in ev and "queryStringParameters" not in ev
    assert r.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_lambda_permission_is_checked(c):
    tg = lambda_group(c)
    fn = function_for(c, tg["TargetGroupArn"], allow=False)
    with pytest.raises(ClientError) as e:
        c.elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": fn}])
    assert code(e) == "AccessDenied"
    assert "elasticloadbalancing principal does not have permission to invoke" in e.value.response["Error"]["Message"]
    health = c.elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": fn}])
    assert health["TargetHealthDescriptions"][0]["TargetHealth"]["Reason"] == "Target.NotRegistered"
    other = lambda_group(c)
    c.elb.register_targets(TargetGroupArn=other["TargetGroupArn"], Targets=[{"Id": function_for(c, other["TargetGroupArn"])}])
    h = c.elb.describe_target_health(TargetGroupArn=other["TargetGroupArn"])["TargetHealthDescriptions"][0]
    assert h["TargetHealth"] == {"State": "unused", "Reason": "Target.NotInUse",
                                 "Description": "Target group is not configured to receive traffic from the load balancer"}
    with pytest.raises(ClientError) as e:
        c.elb.register_targets(TargetGroupArn=other["TargetGroupArn"], Targets=[{"Id": function_for(c, other["TargetGroupArn"])}])
    assert code(e) == "TooManyTargets"


class _Echo(BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        out = json.dumps({"method": self.command, "path": self.path, "body": body.decode(),
                          "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(207)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Backend", str(self.server.server_port))
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def backends():
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Echo) for _ in range(2)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    yield [s.server_port for s in servers]
    for s in servers:
        s.shutdown()


def test_ip_targets_round_robin(c, backends):
    vpc = c.ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    balancer = lb(c)
    tg = c.elb.create_target_group(Name=unique("ip")[:32], TargetType="ip", Protocol="HTTP", Port=backends[0],
                                   VpcId=vpc)["TargetGroups"][0]
    c.elb.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward", "ForwardConfig": {
                              "TargetGroups": [{"TargetGroupArn": tg["TargetGroupArn"], "Weight": 1}]}}])
    c.elb.register_targets(TargetGroupArn=tg["TargetGroupArn"],
                           Targets=[{"Id": "127.0.0.1"}, {"Id": "127.0.0.1", "Port": backends[1]}])
    seen = set()
    for _ in range(4):
        r = get(c, balancer["DNSName"], "/p/q", params="x=1", method="POST", data="hello")
        assert r.status_code == 207
        got = r.json()
        assert got["path"] == "/p/q?x=1" and got["body"] == "hello"
        assert got["headers"]["x-forwarded-for"] == "127.0.0.1" and got["headers"]["x-forwarded-proto"] == "http"
        assert got["headers"]["host"] == balancer["DNSName"]
        seen.add(r.headers["X-Backend"])
    assert seen == {str(p) for p in backends}
    health = c.elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]
    assert [h["TargetHealth"]["State"] for h in health] == ["healthy", "healthy"]
    c.elb.deregister_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": backends[1]}])
    c.elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": 1}])
    health = {h["Target"]["Port"]: h["TargetHealth"]["State"] for h in
              c.elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]}
    assert health[1] == "unhealthy"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_listener_port_and_deletion_stop_serving(c):
    balancer = lb(c)
    port = _free_port()
    listener = c.elb.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=port,
                                     DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {
                                         "StatusCode": "200", "MessageBody": "on its port"}}])["Listeners"][0]
    deadline = time.time() + 5
    while True:
        try:
            r = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
            break
        except requests.ConnectionError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)
    assert r.status_code == 200 and r.text == "on its port"
    assert get(c, balancer["DNSName"], "/").text == "on its port"
    c.elb.delete_load_balancer(LoadBalancerArn=balancer["LoadBalancerArn"])
    # At once: the host is no longer the load balancer's, and its listener's port closes.
    assert get(c, balancer["DNSName"], "/").text != "on its port"
    with pytest.raises(ClientError) as e:
        c.elb.describe_listeners(ListenerArns=[listener["ListenerArn"]])
    assert code(e) == "ListenerNotFound"
    deadline = time.time() + 5
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=2)
        except requests.ConnectionError:
            break
        assert time.time() < deadline, "the listener's port still answers"
        time.sleep(0.05)


def test_cli_describe_load_balancers(c, cli_env):
    created = lb(c)
    base = [*aws_cli_base(), "--endpoint-url", c.endpoint, "--region", REGION, "--output", "json", "elbv2"]
    p = subprocess.run([*base, "describe-load-balancers", "--names", created["LoadBalancerName"]],
                       capture_output=True, text=True, env=cli_env)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["LoadBalancers"][0]["DNSName"] == created["DNSName"]
    p = subprocess.run([*base, "describe-target-groups", "--names", "missing-tg"], capture_output=True, text=True,
                       env=cli_env)
    assert p.returncode != 0 and "TargetGroupNotFound" in p.stderr
