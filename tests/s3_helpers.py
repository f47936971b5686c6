"""Shared helpers for the S3 end-to-end tests."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import boto3
import pytest
from botocore.config import Config

from sqs_helpers import REGION, AwsCliError, aws_cli_base


def make_s3_client(endpoint: str, region: str = REGION, access_key: str = "test", secret_key: str = "test",
                   **config):
    opts = dict(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=60,
                s3={"addressing_style": "path"})
    opts.update(config)
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=region, aws_access_key_id=access_key,
        aws_secret_access_key=secret_key, config=Config(**opts))


def bucket_name(prefix: str = "bkt") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def s3(endpoint):
    return make_s3_client(endpoint)


@pytest.fixture
def bucket(s3):
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def s3cli(endpoint, tmp_path_factory):
    """s3cli("s3", "ls") or s3cli("s3api", "list-buckets") -> (stdout, parsed JSON or None)."""
    home = tmp_path_factory.mktemp("aws-s3-home")
    env = dict(os.environ)
    env.update({
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
    })
    env.pop("AWS_PROFILE", None)
    base = aws_cli_base()

    def run(*args: str, timeout: float = 120):
        cmd = [*base, "--endpoint-url", endpoint, "--region", REGION, "--output", "json", *args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        if p.returncode != 0:
            raise AwsCliError(p.returncode, p.stderr, cmd)
        out = p.stdout
        try:
            parsed = json.loads(out) if out.strip() else None
        except json.JSONDecodeError:
            parsed = None
        return out, parsed

    return run
