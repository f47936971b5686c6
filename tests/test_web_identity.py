"""OpenID Connect providers (IAM) and STS AssumeRoleWithWebIdentity under `--auth verify`: the
provider API, then tokens signed by a test identity provider whose JWKS the configuration names
(`[[oidc-keys]]`), traded unsigned for a role's credentials when the role's trust policy lets
the provider in with the token's claims (`{provider}:aud`, `{provider}:sub`).

AWS references: the IAM API reference (CreateOpenIDConnectProvider: the ARN
`arn:aws:iam::{account}:oidc-provider/{url without https://}`, GetOpenIDConnectProvider's Url
without the scheme, EntityAlreadyExists), the STS API reference (AssumeRoleWithWebIdentity's
SubjectFromWebIdentityToken, Provider and Audience; InvalidIdentityToken, ExpiredTokenException,
IDPCommunicationError).
"""

from __future__ import annotations

import base64
import json
import tempfile
import time

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sqs_helpers import ServerProcess, unique
from test_sts import creds_client, fails, make_client

pytestmark = pytest.mark.stratus_only

ROOT = ("AKIDWEBIDENTITY00001", "web-identity-secret", "123456789012")
ISSUER = "https://idp.example.test"
UNKEYED = "https://unkeyed.example.test"
PROVIDER = f"arn:aws:iam::{ROOT[2]}:oidc-provider/idp.example.test"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_b64(n: int) -> str:
    return b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def token(key=KEY, iss=ISSUER, aud="my-app", sub="repo:org/app:ref:refs/heads/main", exp_in=300, kid="k1") -> str:
    header = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": kid}).encode())
    now = int(time.time())
    claims = b64(json.dumps({"iss": iss, "aud": aud, "sub": sub, "iat": now, "exp": now + exp_in}).encode())
    signature = key.sign(f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{claims}.{b64(signature)}"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = tmp_path_factory.mktemp("web-identity")
    numbers = KEY.public_key().public_numbers()
    (d / "jwks.json").write_text(json.dumps({"keys": [
        {"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": int_b64(numbers.n), "e": int_b64(numbers.e)}]}))
    (d / "stratus.toml").write_text("\n".join([
        "[[credentials]]", f'access_key_id = "{ROOT[0]}"', f'secret_access_key = "{ROOT[1]}"', f'account = "{ROOT[2]}"',
        "[[oidc-keys]]", f'issuer = "{ISSUER}"', 'jwks-file = "jwks.json"', ""]))
    s = ServerProcess(in_memory=True, log_dir=tempfile.mkdtemp(prefix="stratus-webid-"),
                      extra_args=["--auth", "verify", "--config", str(d / "stratus.toml")])
    s.start()
    yield s
    s.kill()


@pytest.fixture(scope="module")
def iam(srv):
    return make_client("iam", srv.endpoint, *ROOT[:2])


@pytest.fixture(scope="module")
def provider(iam):
    return iam.create_open_id_connect_provider(Url=ISSUER, ClientIDList=["my-app"])["OpenIDConnectProviderArn"]


def unsigned_sts(srv):
    return boto3.session.Session().client("sts", endpoint_url=srv.endpoint, region_name="us-east-1",
                                          config=Config(signature_version=UNSIGNED))


def web_role(iam, sub="repo:org/*") -> dict:
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"idp.example.test:aud": "my-app"},
                      "StringLike": {"idp.example.test:sub": sub}}}]}
    return iam.create_role(RoleName=unique("web"), AssumeRolePolicyDocument=json.dumps(trust))["Role"]


def test_provider_api(iam, provider):
    assert provider == PROVIDER
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider)
    assert (got["Url"], got["ClientIDList"], got["ThumbprintList"]) == ("idp.example.test", ["my-app"], [])
    assert {"Arn": provider} in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert fails(iam.create_open_id_connect_provider, Url=ISSUER, ClientIDList=["x"])[:2] == ("EntityAlreadyExists", 409)
    assert fails(iam.create_open_id_connect_provider, Url="http://plain.example.test")[:2] == ("ValidationError", 400)
    other = iam.create_open_id_connect_provider(Url="https://other.example.test/path", ClientIDList=["a"],
                                                ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
                                                Tags=[{"Key": "team", "Value": "blue"}])["OpenIDConnectProviderArn"]
    assert other.endswith(":oidc-provider/other.example.test/path")
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=other, ClientID="b")
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=other, ClientID="a")
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=other, ThumbprintList=[])
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=other)
    assert (got["ClientIDList"], got["ThumbprintList"], got["Tags"]) == (["b"], [], [{"Key": "team", "Value": "blue"}])
    iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=other, TagKeys=["team"])
    assert iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=other)["Tags"] == []
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=other)
    assert fails(iam.get_open_id_connect_provider, OpenIDConnectProviderArn=other) == (
        "NoSuchEntity", 404, f"OpenIDConnect Provider not found for arn {other}")


def test_a_token_is_traded_for_the_roles_credentials(srv, iam, provider):
    role = web_role(iam)
    sts = unsigned_sts(srv)
    out = sts.assume_role_with_web_identity(RoleArn=role["Arn"], RoleSessionName="ci-run", WebIdentityToken=token())
    assert out["SubjectFromWebIdentityToken"] == "repo:org/app:ref:refs/heads/main"
    assert (out["Provider"], out["Audience"]) == (ISSUER, "my-app")
    arn = f"arn:aws:sts::{ROOT[2]}:assumed-role/{role['RoleName']}/ci-run"
    assert out["AssumedRoleUser"]["Arn"] == arn
    me = creds_client("sts", srv.endpoint, out["Credentials"]).get_caller_identity()
    assert me["Arn"] == arn


def test_tokens_the_role_or_provider_do_not_accept_are_refused(srv, iam, provider):
    role = web_role(iam)
    sts = unsigned_sts(srv)

    def attempt(t):
        return fails(sts.assume_role_with_web_identity, RoleArn=role["Arn"], RoleSessionName="s1", WebIdentityToken=t)

    # The trust policy's condition on the subject.
    assert attempt(token(sub="repo:someone-else/app"))[:2] == ("AccessDenied", 403)
    # The provider's client ids.
    assert attempt(token(aud="another-app")) == ("InvalidIdentityToken", 400, "Incorrect token audience")
    # Expired.
    code, status, message = attempt(token(exp_in=-60))
    assert (code, status) == ("ExpiredTokenException", 400) and message.startswith("Token expired")
    # Signed by a key the provider's JWKS does not have.
    assert attempt(token(key=OTHER_KEY))[:2] == ("InvalidIdentityToken", 400)
    # Not a JWT.
    assert attempt("not-a-token")[:2] == ("InvalidIdentityToken", 400)
    # An issuer with no provider in the account.
    assert attempt(token(iss="https://stranger.example.test")) == (
        "InvalidIdentityToken", 400, "No OpenIDConnect provider found in your account for https://stranger.example.test")
    # A provider whose keys Stratus was not given.
    iam.create_open_id_connect_provider(Url=UNKEYED, ClientIDList=["my-app"])
    assert attempt(token(iss=UNKEYED))[:2] == ("IDPCommunicationError", 400)


def test_other_actions_do_not_ride_unsigned(srv):
    sts = unsigned_sts(srv)
    assert fails(sts.get_caller_identity)[:2] == ("MissingAuthenticationToken", 403)
