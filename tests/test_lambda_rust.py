"""A Rust function on the official runtime (the `lambda_runtime` crate from crates.io), built
from tests/functions/rust-echo, deployed as `provided.al2023` and invoked with boto3 and the
aws CLI: a real third-party Runtime API client against Stratus's Runtime API.

The build goes to $STRATUS_FUNCTIONS_TARGET (default `target/functions`); scripts/test.sh builds
it before pytest, so the fixture's `cargo build` is then a no-op. A cold build takes about a
minute, hence the long timeout of this module."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from sqs_helpers import REGION, aws_cli_base, unique
from test_lambda import ROLE, create, invoke, lam, zip_of  # noqa: F401  (fixtures)

BUILD_TIMEOUT = 15 * 60

# The first test of each worker builds the function (pytest.ini's 300 s would cut a cold build).
pytestmark = [pytest.mark.stratus_only, pytest.mark.timeout(BUILD_TIMEOUT + 300)]

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "tests" / "functions" / "rust-echo" / "Cargo.toml"

# How lambda_runtime 1.5 reports an `Err(lambda_runtime::Error)`: a `Diagnostic` with the error's
# Display text and std::any::type_name of a *reference* to the boxed error (its
# `type_name_of_val(&value)` takes its argument by value, hence the leading `&`), posted to
# /runtime/invocation/{id}/error with `Lambda-Runtime-Function-Error-Type: unhandled`.
BOXED_ERROR_TYPE = "&alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>"


@pytest.fixture(scope="session")
def rust_echo_bootstrap() -> bytes:
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.fail("cargo is not on PATH: the Rust toolchain (https://rustup.rs) is needed to build "
                    f"{MANIFEST.parent.relative_to(ROOT)} for test_lambda_rust.py", pytrace=False)
    target_dir = ROOT / os.environ.get("STRATUS_FUNCTIONS_TARGET", "target/functions")
    cmd = [cargo, "build", "--release", "--locked", "--manifest-path", str(MANIFEST)]
    try:
        # Concurrent xdist workers share the target dir: cargo's lock on it serializes them.
        p = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, CARGO_TARGET_DIR=str(target_dir)),
                           capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"building the Rust function took over {BUILD_TIMEOUT} s: {' '.join(cmd)}", pytrace=False)
    if p.returncode != 0:
        pytest.fail(f"building the Rust function failed ({' '.join(cmd)}, exit {p.returncode}):\n"
                    f"{p.stderr[-4000:]}", pytrace=False)
    return (target_dir / "release" / "bootstrap").read_bytes()


def package(bootstrap: bytes, marker: str | None = None) -> bytes:
    files = {"bootstrap": bootstrap} | ({"marker.txt": marker} if marker is not None else {})
    return zip_of(files, modes={"bootstrap": 0o755})


@pytest.fixture(scope="session")
def rust_echo(rust_echo_bootstrap) -> bytes:
    return package(rust_echo_bootstrap)


def create_rust(lam, code: bytes, **kw):
    return create(lam, code, runtime="provided.al2023", handler="bootstrap", **kw)


def test_request_response_with_context(lam, rust_echo):
    for memory in (None, 256):
        name, created = create_rust(lam, rust_echo, **({"MemorySize": memory} if memory else {}))
        before_ms = time.time() * 1000
        r, body = invoke(lam, name, {"k": [1, "two"], "nested": {"x": None}})
        after_ms = time.time() * 1000
        assert r["StatusCode"] == 200 and "FunctionError" not in r, body
        assert r["ExecutedVersion"] == "$LATEST"
        assert body["event"] == {"k": [1, "two"], "nested": {"x": None}}
        assert body["request_id"] == r["ResponseMetadata"]["RequestId"]
        assert body["function_arn"] == created["FunctionArn"]
        assert body["function_name"] == name and body["version"] == "$LATEST"
        assert body["memory"] == str(memory or 128)
        # Lambda-Runtime-Deadline-Ms: wall-clock ms, the event's start plus the 3 s default timeout.
        assert before_ms + 3000 - 1000 <= body["deadline_ms"] <= after_ms + 3000 + 1000


def test_function_error_is_reported_through_the_error_endpoint(lam, rust_echo):
    name, _ = create_rust(lam, rust_echo)
    r, body = invoke(lam, name, {"fail": True})
    assert r["StatusCode"] == 200 and r["FunctionError"] == "Unhandled"
    assert body == {"errorType": BOXED_ERROR_TYPE, "errorMessage": "asked to fail"}
    # lambda_runtime goes back to /next: the same process serves the next event.
    r, ok = invoke(lam, name, {"after": "error"})
    assert "FunctionError" not in r and ok["event"] == {"after": "error"}
    r, again = invoke(lam, name, {})
    assert again["pid"] == ok["pid"]


def test_warm_invokes(lam, rust_echo):
    name, _ = create_rust(lam, rust_echo)
    bodies = []
    for i in range(20):
        r, body = invoke(lam, name, {"i": i})
        assert r["StatusCode"] == 200 and "FunctionError" not in r, body
        assert body["event"] == {"i": i} and body["request_id"] == r["ResponseMetadata"]["RequestId"]
        bodies.append(body)
    assert len({b["pid"] for b in bodies}) == 1, "one warm environment serves sequential invokes"
    assert len({b["request_id"] for b in bodies}) == 20


def test_aws_cli_deploy_and_invoke(target, rust_echo, tmp_path):
    code = tmp_path / "fn.zip"
    code.write_bytes(rust_echo)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=REGION,
               AWS_PAGER="")
    base = [*aws_cli_base(), "--endpoint-url", target.endpoint, "--region", REGION, "--output", "json", "lambda"]

    def cli(*args):
        p = subprocess.run([*base, *args], capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout) if p.stdout.strip() else None

    name = unique("rust-cli")
    created = cli("create-function", "--function-name", name, "--runtime", "provided.al2023", "--role", ROLE,
                  "--handler", "bootstrap", "--memory-size", "256", "--zip-file", f"fileb://{code}")
    cli("wait", "function-active-v2", "--function-name", name)
    # aws CLI v1 sends --payload as given (v2 would want --cli-binary-format raw-in-base64-out).
    out = tmp_path / "out.json"
    meta = cli("invoke", "--function-name", name, "--payload", '{"cli": true}', str(out))
    assert meta["StatusCode"] == 200 and "FunctionError" not in meta
    body = json.loads(out.read_text())
    assert body["event"] == {"cli": True} and body["function_name"] == name
    assert body["function_arn"] == created["FunctionArn"] and body["memory"] == "256"
    failed = cli("invoke", "--function-name", name, "--payload", '{"fail": true}', str(out))
    assert failed["StatusCode"] == 200 and failed["FunctionError"] == "Unhandled"
    assert json.loads(out.read_text()) == {"errorType": BOXED_ERROR_TYPE, "errorMessage": "asked to fail"}


def test_updates_start_a_new_environment(lam, rust_echo_bootstrap):
    name, _ = create_rust(lam, package(rust_echo_bootstrap), Environment={"Variables": {"GREETING": "hello"}})
    _, first = invoke(lam, name)
    assert first["greeting"] == "hello" and first["marker"] is None

    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"GREETING": "bonjour"}})
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    _, second = invoke(lam, name)
    assert second["greeting"] == "bonjour", "the environment variable change is visible"
    assert second["pid"] != first["pid"], "a configuration update starts a new (cold) environment"

    # New code (same binary, another file beside it) reaches the next invoke too.
    lam.update_function_code(FunctionName=name, ZipFile=package(rust_echo_bootstrap, marker="v2"))
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    _, third = invoke(lam, name)
    assert third["marker"] == "v2" and third["greeting"] == "bonjour"
    assert third["pid"] != second["pid"]
