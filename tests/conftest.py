"""Fixtures for the Stratus end-to-end suite.

Default: every pytest process (every xdist worker) starts its own
`target/release/stratus serve` (override with STRATUS_BIN) on a free port with a
temporary data directory, and `POST /_stratus/reset` runs before each test.

STRATUS_TEST_ENDPOINT=http://127.0.0.1:5055 runs the suite against a server
started by hand instead (e.g. `moto_server -p 5055`, to check the tests
themselves); tests marked `stratus_only` are then skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass, field

import pytest
import requests

from sqs_helpers import (
    DEFAULT_ACCOUNT,
    AwsCliError,
    EXTERNAL_ENDPOINT,
    IS_EXTERNAL,
    IS_MOTO,
    REGION,
    ServerProcess,
    aws_cli_base,
    make_sqs_client,
    parse_xml,
    query_request,
    start_or_fail,
    unique,
)


def pytest_collection_modifyitems(config, items):
    if not IS_EXTERNAL:
        return
    skip = pytest.mark.skip(reason="stratus_only: needs the Stratus binary (STRATUS_TEST_ENDPOINT is set)")
    for item in items:
        if "stratus_only" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config):
    if IS_EXTERNAL:
        return f"target: external endpoint {EXTERNAL_ENDPOINT} ({'moto' if IS_MOTO else 'stratus'})"
    return "target: Stratus binary started per worker"


@dataclass
class Target:
    endpoint: str
    account: str
    is_moto: bool
    server: ServerProcess | None = None
    port: int | None = None
    _http: requests.Session = field(default_factory=requests.Session)

    @property
    def queue_host(self) -> str:
        """Host:port that Stratus puts into QueueUrls."""
        return f"localhost:{self.port}"

    def reset(self) -> None:
        path = "/moto-api/reset" if self.is_moto else "/_stratus/reset"
        r = self._http.post(self.endpoint + path, timeout=10)
        assert r.status_code == 200, f"reset failed: {r.status_code} {r.text[:300]}"

    def queue_arn(self, name: str, region: str = REGION, account: str | None = None) -> str:
        return f"arn:aws:sqs:{region}:{account or self.account}:{name}"


def _discover_account(endpoint: str) -> str:
    client = make_sqs_client(endpoint)
    url = client.create_queue(QueueName=unique("account-probe"))["QueueUrl"]
    client.delete_queue(QueueUrl=url)
    return url.rstrip("/").split("/")[-2]


@pytest.fixture(scope="session")
def target(tmp_path_factory):
    if IS_EXTERNAL:
        # Stratus' account for non-numeric keys is 000000000000; moto's default
        # differs (123456789012 unless MOTO_ACCOUNT_ID is set), so ask it.
        account = _discover_account(EXTERNAL_ENDPOINT) if IS_MOTO else DEFAULT_ACCOUNT
        port = int(EXTERNAL_ENDPOINT.rsplit(":", 1)[1]) if EXTERNAL_ENDPOINT.count(":") == 2 else None
        yield Target(endpoint=EXTERNAL_ENDPOINT, account=account, is_moto=IS_MOTO, port=port)
        return
    data_dir = tmp_path_factory.mktemp("stratus-data")
    log_dir = tmp_path_factory.mktemp("stratus-logs")
    server = start_or_fail(ServerProcess(data_dir, log_dir=log_dir))
    global _SESSION_SERVER
    _SESSION_SERVER = server
    try:
        yield Target(endpoint=server.endpoint, account=DEFAULT_ACCOUNT, is_moto=False, server=server,
                     port=server.port)
    finally:
        _SESSION_SERVER = None
        try:
            server.stop()
        except AssertionError:
            server.kill()  # test_platform checks SIGTERM handling explicitly; do not fail the session here


def _parallel_external() -> bool:
    # A shared external server cannot be reset per test while other workers use it;
    # tests use unique queue names, so skipping the reset there is safe.
    return IS_EXTERNAL and int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1


@pytest.fixture(autouse=True)
def _reset_state(target):
    if not _parallel_external():
        target.reset()
    yield
    srv = target.server
    if srv is not None and not srv.alive():
        code = srv.proc.returncode if srv.proc else None
        tail = srv.stderr_tail()
        srv.start(timeout=10)  # restart on the same data dir and port so the remaining tests can run
        pytest.fail(f"stratus died during this test (exit code {code}); restarted it\n--- stderr ---\n{tail}",
                    pytrace=False)


_SESSION_SERVER: ServerProcess | None = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and _SESSION_SERVER is not None:
        report.sections.append(("stratus stderr (last 3000 characters)", _SESSION_SERVER.stderr_tail(3000)))


@pytest.fixture(scope="session")
def endpoint(target) -> str:
    return target.endpoint


@pytest.fixture(scope="session")
def sqs(target):
    """boto3 SQS client (JSON protocol), dummy credentials, no retries."""
    return make_sqs_client(target.endpoint)


@pytest.fixture(scope="session")
def make_sqs(target):
    """Factory for clients with other credentials/regions: make_sqs(access_key=..., region=...)."""
    def factory(**kwargs):
        return make_sqs_client(target.endpoint, **kwargs)
    return factory


@pytest.fixture
def new_queue(sqs):
    """new_queue(prefix="q", attributes=None, fifo=False, tags=None, client=None) -> QueueUrl."""
    def create(prefix: str = "q", attributes: dict | None = None, fifo: bool = False, tags: dict | None = None,
               client=None, name: str | None = None) -> str:
        attrs = dict(attributes or {})
        if name is None:
            name = unique(prefix) + (".fifo" if fifo else "")
        if fifo:
            attrs.setdefault("FifoQueue", "true")
        kwargs = {"QueueName": name}
        if attrs:
            kwargs["Attributes"] = attrs
        if tags:
            kwargs["tags"] = tags
        return (client or sqs).create_queue(**kwargs)["QueueUrl"]
    return create


@pytest.fixture
def queue_arn(sqs):
    def get(url: str) -> str:
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return get


@pytest.fixture(scope="session")
def cli_env(tmp_path_factory):
    """The environment the aws CLI runs in: test credentials, its own empty config, no retries."""
    home = tmp_path_factory.mktemp("aws-home")
    env = dict(os.environ)
    env.update({
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
    })
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    return env


@pytest.fixture(scope="session")
def aws(target, cli_env):
    """aws("create-queue", "--queue-name", "x") -> parsed JSON (None for empty output);
    raises AwsCliError with stderr on a non-zero exit."""
    env = cli_env
    base = aws_cli_base()

    def run(*args: str, timeout: float = 60):
        cmd = [*base, "--endpoint-url", target.endpoint, "--region", REGION, "--output", "json", "sqs", *args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        if p.returncode != 0:
            raise AwsCliError(p.returncode, p.stderr, cmd)
        return json.loads(p.stdout) if p.stdout.strip() else None

    return run


@pytest.fixture(scope="session")
def query(target):
    """query(action, params, method="POST", url=None) -> (status, parsed XML root, namespaces stripped)."""
    def run(action: str, params=None, method: str = "POST", url: str | None = None, **kwargs):
        r = query_request(target.endpoint, action, params, method=method, url=url, **kwargs)
        return r.status_code, parse_xml(r.content)
    return run


@pytest.fixture(scope="session")
def query_raw(target):
    """Like `query` but returns the requests.Response."""
    def run(action: str, params=None, method: str = "POST", url: str | None = None, **kwargs):
        return query_request(target.endpoint, action, params, method=method, url=url, **kwargs)
    return run


@pytest.fixture
def server_factory(tmp_path):
    """Start extra Stratus processes: server_factory(data_dir=None, in_memory=False, port=None).
    Every process started through it is killed at the end of the test."""
    servers: list[ServerProcess] = []

    def start(data_dir=None, in_memory: bool = False, port: int | None = None, timeout: float = 10.0,
              start: bool = True) -> ServerProcess:
        if data_dir is None and not in_memory:
            data_dir = tmp_path / f"data-{uuid.uuid4().hex[:8]}"
            data_dir.mkdir()
        srv = ServerProcess(data_dir, in_memory=in_memory, port=port, log_dir=tmp_path)
        servers.append(srv)
        if start:
            start_or_fail(srv, timeout)
        return srv

    yield start
    for srv in servers:
        srv.kill()
