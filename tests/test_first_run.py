"""The first thing a user does: run the README's `serve` command from wherever they are, with
no `--data-dir` (so `./stratus-data`), or `--in-memory`, or relative paths given by flag or in a
config file, and invoke a Python, a Node and a `provided` function. Function environments
change directory before they start, so any relative path that reached them would break here."""

from __future__ import annotations

import json

import boto3
import pytest

from sqs_helpers import REGION, ServerProcess, client_config, unique
from test_lambda import NODE_ECHO, PY_ECHO, ROLE, SHELL_BOOTSTRAP

pytestmark = pytest.mark.stratus_only


def invoke_each_runtime(endpoint: str) -> None:
    lam = boto3.session.Session().client(
        "lambda", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test",
        aws_secret_access_key="test", config=client_config(read_timeout=60))
    cases = [
        ("python3.12", "app.handler", PY_ECHO, lambda body: body["event"] == {"n": 1}),
        ("nodejs20.x", "index.handler", NODE_ECHO, lambda body: body["event"] == {"n": 1}),
        ("provided.al2023", "unused", SHELL_BOOTSTRAP, lambda body: body == {"shell": {"n": 1}}),
    ]
    for runtime, handler, code, check in cases:
        name = unique("first")
        lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler, Code={"ZipFile": code})
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
        r = lam.invoke(FunctionName=name, Payload=json.dumps({"n": 1}).encode())
        body = json.loads(r["Payload"].read())
        assert "FunctionError" not in r, f"{runtime}: {body}"
        assert check(body), f"{runtime}: {body}"


def run(tmp_path, **kwargs) -> ServerProcess:
    srv = ServerProcess(log_dir=tmp_path / "logs", **kwargs)
    (tmp_path / "logs").mkdir(exist_ok=True)
    srv.start(timeout=15)
    return srv


def test_readme_serve_from_a_fresh_directory(tmp_path):
    work = tmp_path / "project"
    work.mkdir()
    srv = run(tmp_path, data_dir=False, cwd=work)
    try:
        invoke_each_runtime(srv.endpoint)
        assert (work / "stratus-data" / "stratus.db").exists()
        assert f"data in {work / 'stratus-data'}" in srv.stderr_tail(100_000)
    finally:
        srv.kill()


def test_in_memory_from_a_fresh_directory(tmp_path):
    work = tmp_path / "project"
    work.mkdir()
    srv = run(tmp_path, in_memory=True, cwd=work)
    try:
        invoke_each_runtime(srv.endpoint)
        assert list(work.iterdir()) == []  # nothing written where it was started
    finally:
        srv.kill()


def test_relative_data_dir_flag_and_config_file(tmp_path):
    work = tmp_path / "project"
    (work / "etc").mkdir(parents=True)
    # A path in the config file is relative to the file, not to where the server starts.
    (work / "etc" / "stratus.toml").write_text('data-dir = "state"\n')
    srv = run(tmp_path, data_dir=False, cwd=work, extra_args=["--config", "etc/stratus.toml"])
    try:
        invoke_each_runtime(srv.endpoint)
        assert (work / "etc" / "state" / "stratus.db").exists()
    finally:
        srv.kill()
    srv = run(tmp_path, data_dir=False, cwd=work, extra_args=["--data-dir", "./flag-data"])
    try:
        invoke_each_runtime(srv.endpoint)
        assert (work / "flag-data" / "stratus.db").exists()
    finally:
        srv.kill()
