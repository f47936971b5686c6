"""Shared helpers for the end-to-end suite: target selection, server processes,
request signing for the query/JSON wire protocols, and AWS's MD5 digests.

Imported by conftest.py and by the test modules (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import random
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

REPO_ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"
SQS_XMLNS = "http://queue.amazonaws.com/doc/2012-11-05/"
API_VERSION = "2012-11-05"

# ---------------------------------------------------------------------------
# Target selection
# ---------------------------------------------------------------------------
# STRATUS_TEST_ENDPOINT points the suite at an already running server (used to
# check the tests themselves against moto_server). Without it, every pytest
# process (every xdist worker) starts its own Stratus binary.
EXTERNAL_ENDPOINT = (os.environ.get("STRATUS_TEST_ENDPOINT") or "").rstrip("/") or None


def _answers_stratus_health(endpoint: str) -> bool:
    try:
        r = requests.get(f"{endpoint}/_stratus/health", timeout=3)
        return r.status_code == 200 and r.json().get("status") == "ready"
    except Exception:
        return False


IS_EXTERNAL = EXTERNAL_ENDPOINT is not None
# An external target that does not answer Stratus' health endpoint is taken to be
# moto_server; tests that document a moto deviation use xfail_moto().
IS_MOTO = IS_EXTERNAL and not _answers_stratus_health(EXTERNAL_ENDPOINT)


def xfail_moto(reason: str):
    """Mark a test whose assertion follows AWS but which moto does not implement."""
    return pytest.mark.xfail(condition=IS_MOTO, reason=f"moto deviates from AWS: {reason}", strict=False)


def stratus_binary() -> Path:
    override = os.environ.get("STRATUS_BIN")
    return Path(override).resolve() if override else REPO_ROOT / "target" / "release" / "stratus"


def free_port() -> int:
    """A free port below the kernel's ephemeral range, so that no client connection (whose
    local port the kernel picks from that range) can take it between now and the server's
    bind, nor while a crashed server is restarted on it."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12000), low)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique(prefix: str = "q") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------------------
# Server processes
# ---------------------------------------------------------------------------
class ServerStartError(RuntimeError):
    pass


class ServerProcess:
    """One `stratus serve` process. The same object can be stopped, killed and
    started again on the same data directory and port (crash/restart tests)."""

    def __init__(self, data_dir: str | os.PathLike | None = None, *, in_memory: bool = False,
                 port: int | None = None, binary: str | os.PathLike | None = None,
                 log_dir: str | os.PathLike | None = None, cwd: str | os.PathLike | None = None,
                 extra_args: list[str] | None = None):
        """`cwd` runs the server from that directory; `data_dir=False` passes no `--data-dir`
        (the default `./stratus-data` of the working directory, as the README runs it)."""
        self.binary = Path(binary) if binary else stratus_binary()
        self.cwd = Path(cwd) if cwd is not None else None
        self.extra_args = list(extra_args or [])
        self.data_dir_flag = data_dir is not False
        if data_dir is False:
            data_dir = Path(cwd or ".") / "stratus-data"
        self.in_memory = in_memory
        self._own_tmp = None
        if data_dir is None and not in_memory:
            self._own_tmp = tempfile.mkdtemp(prefix="stratus-data-")
            data_dir = self._own_tmp
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.port = port or free_port()
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="stratus-log-"))
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._log_path: Path | None = None
        self.last_start_seconds: float | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [str(self.binary), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.in_memory:
            cmd.append("--in-memory")
        elif self.data_dir_flag:
            cmd += ["--data-dir", str(self.data_dir)]
        return cmd + self.extra_args

    def start(self, timeout: float = 10.0) -> "ServerProcess":
        if not self.binary.exists():
            raise ServerStartError(
                f"Stratus binary not found at {self.binary}: build it with "
                f"`cargo build --release` or point STRATUS_BIN at it")
        self.starts += 1
        self._log_path = self.log_dir / f"stratus-{self.port}-{self.starts}.stderr.log"
        log = open(self._log_path, "wb")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=log, start_new_session=True, cwd=self.cwd)
        log.close()
        try:
            self.wait_ready(timeout)
        except ServerStartError:
            self.kill()
            raise
        self.last_start_seconds = time.monotonic() - t0
        return self

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        last_err = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServerStartError(
                    f"stratus exited with code {self.proc.returncode} before becoming ready\n"
                    f"command: {' '.join(self.command())}\n--- stderr ---\n{self.stderr_tail()}")
            try:
                r = requests.get(f"{self.endpoint}/_stratus/health", timeout=1)
                if r.status_code == 200 and r.json().get("status") == "ready":
                    return
                last_err = f"health answered {r.status_code}: {r.text[:200]}"
            except Exception as e:  # not listening yet
                last_err = repr(e)
            time.sleep(0.05)
        raise ServerStartError(
            f"stratus did not become ready within {timeout}s (last: {last_err})\n"
            f"command: {' '.join(self.command())}\n--- stderr ---\n{self.stderr_tail()}")

    def stderr_tail(self, limit: int = 8000) -> str:
        if not self._log_path or not self._log_path.exists():
            return "<no log>"
        data = self._log_path.read_bytes()
        return data[-limit:].decode("utf-8", "replace")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """Graceful stop: SIGTERM, wait; SIGKILL if it does not exit in time."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise AssertionError(f"stratus did not exit within {timeout}s of SIGTERM")
        return self.proc.returncode

    def kill(self) -> None:
        """kill -9, the crash in crash tests."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def cleanup(self) -> None:
        self.kill()
        if self._own_tmp:
            shutil.rmtree(self._own_tmp, ignore_errors=True)

    def sqs(self, **kwargs):
        return make_sqs_client(self.endpoint, **kwargs)


# ---------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------
def client_config(**overrides) -> Config:
    opts = dict(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5,
                read_timeout=40, max_pool_connections=20)
    opts.update(overrides)
    return Config(**opts)


def make_sqs_client(endpoint: str, access_key: str = "test", secret_key: str = "test",
                    region: str = REGION, **config_overrides):
    return boto3.session.Session().client(
        "sqs", endpoint_url=endpoint, region_name=region, aws_access_key_id=access_key,
        aws_secret_access_key=secret_key, config=client_config(**config_overrides))


def error_code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def http_status(exc: ClientError) -> int:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"]


# ---------------------------------------------------------------------------
# Signed raw requests (query protocol and hand-made JSON protocol requests)
# ---------------------------------------------------------------------------
def aws_quote(value) -> str:
    return quote(str(value), safe="-_.~")


def encode_params(params) -> str:
    items = params.items() if isinstance(params, dict) else params
    return "&".join(f"{aws_quote(k)}={aws_quote(v)}" for k, v in items)


_session = requests.Session()


def raw_exchange(port: int, head: bytes, body_chunks=(), timeout: float = 30.0) -> tuple[int | None, bytes, int]:
    """Sends a request on a raw socket while a thread reads the answer, and stops sending as soon
    as a complete response arrived (the server may answer early, e.g. 413, and stop reading the
    body). Returns (status or None, raw response bytes, body bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    resp = bytearray()
    done = threading.Event()

    def complete() -> bool:
        end = resp.find(b"\r\n\r\n")
        if end < 0:
            return False
        headers = resp[:end].decode("latin-1").lower()
        for line in headers.split("\r\n"):
            if line.startswith("content-length:"):
                return len(resp) - end - 4 >= int(line.split(":", 1)[1])
        if "transfer-encoding: chunked" in headers:
            return resp.endswith(b"0\r\n\r\n")
        return False

    def reader():
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                resp.extend(chunk)
                if complete():
                    break
        except OSError:
            pass
        done.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    sent = 0
    try:
        sock.sendall(head)
        for chunk in body_chunks:
            if done.is_set():
                break
            sock.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass  # the server may stop reading once it has answered
    done.wait(timeout)
    sock.close()
    t.join(1)
    status = int(resp.split(b" ", 2)[1]) if resp.startswith(b"HTTP/") else None
    return status, bytes(resp), sent


def start_own_server(tmp_path_factory, name: str, extra_args: list[str]) -> "ServerProcess":
    """A server of a test module's own (a fresh data directory, `extra_args` on its command
    line), for settings the shared server does not have; the test fails if it does not start."""
    base = tmp_path_factory.mktemp(name)
    data = base / "data"
    data.mkdir()
    return start_or_fail(ServerProcess(data, log_dir=base, extra_args=extra_args))


def start_or_fail(srv: "ServerProcess", timeout: float = 10) -> "ServerProcess":
    """Starts `srv`; a server that does not start fails the test with its reason (no traceback)."""
    import pytest

    failure = None
    try:
        srv.start(timeout=timeout)
    except ServerStartError as e:
        failure = str(e)
    if failure:
        pytest.fail(failure, pytrace=False)
    return srv


def signed_request(method: str, url: str, body: bytes | str | None = None, headers: dict | None = None,
                   access_key: str = "test", region: str = REGION, timeout: float = 30) -> requests.Response:
    req = AWSRequest(method=method, url=url, data=body if body is not None else b"", headers=dict(headers or {}))
    SigV4Auth(Credentials(access_key, "test"), "sqs", region).add_auth(req)
    prepared = req.prepare()
    return _session.request(method, prepared.url, data=prepared.body, headers=dict(prepared.headers),
                            timeout=timeout)


def strip_namespaces(root: ET.Element) -> ET.Element:
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = el.tag.split("}", 1)[1]
    return root


def query_request(endpoint: str, action: str, params=None, method: str = "POST", url: str | None = None,
                  access_key: str = "test", region: str = REGION, version: str | None = API_VERSION,
                  timeout: float = 30) -> requests.Response:
    all_params = [("Action", action)]
    if version:
        all_params.append(("Version", version))
    if params:
        all_params += list(params.items() if isinstance(params, dict) else params)
    target = url or f"{endpoint}/"
    encoded = encode_params(all_params)
    if method.upper() == "GET":
        sep = "&" if "?" in target else "?"
        return signed_request("GET", f"{target}{sep}{encoded}", access_key=access_key, region=region,
                              timeout=timeout)
    return signed_request(method.upper(), target, body=encoded.encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                          access_key=access_key, region=region, timeout=timeout)


def parse_xml(content: bytes) -> ET.Element | None:
    if not content or not content.strip():
        return None
    try:
        return strip_namespaces(ET.fromstring(content))
    except ET.ParseError as e:
        raise AssertionError(f"response is not XML ({e}): {content[:800]!r}") from None


def xml_error(root: ET.Element) -> dict:
    """{Type, Code, Message} of a query-protocol <ErrorResponse>."""
    assert root is not None and root.tag == "ErrorResponse", f"not an ErrorResponse: {root and ET.tostring(root)}"
    err = root.find("Error")
    assert err is not None, ET.tostring(root)
    return {k: err.findtext(k) for k in ("Type", "Code", "Message")}


def xml_name_values(parent: ET.Element, tag: str = "Attribute", key: str = "Name", value: str = "Value") -> dict:
    """Flattened map members, e.g. <Attribute><Name>n</Name><Value>v</Value></Attribute>."""
    out = {}
    for el in parent.findall(tag):
        out[el.findtext(key)] = el.findtext(value)
    return out


def json_request(endpoint: str, operation: str | None, body: bytes | str | dict,
                 extra_headers: dict | None = None, access_key: str = "test", timeout: float = 30) -> requests.Response:
    """A hand-made SQS JSON-protocol request (X-Amz-Target: AmazonSQS.<operation>)."""
    if isinstance(body, dict):
        body = json.dumps(body)
    headers = {"Content-Type": "application/x-amz-json-1.0"}
    if operation is not None:
        headers["X-Amz-Target"] = f"AmazonSQS.{operation}"
    headers.update(extra_headers or {})
    return signed_request("POST", f"{endpoint}/", body=body, headers=headers, access_key=access_key, timeout=timeout)


# ---------------------------------------------------------------------------
# AWS digests (boto3 no longer verifies these, so the tests do)
# ---------------------------------------------------------------------------
def md5_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.md5(data).hexdigest()


def _length_prefixed(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def md5_of_attributes(attrs: dict | None) -> str | None:
    """AWS's MD5 of message (or message system) attributes: attributes sorted by
    name; for each, length-prefixed UTF-8 name, length-prefixed data type, one
    transport byte (1 = String/Number, 2 = Binary), length-prefixed value."""
    if not attrs:
        return None
    buf = bytearray()
    for name in sorted(attrs):
        v = attrs[name]
        buf += _length_prefixed(name.encode("utf-8"))
        buf += _length_prefixed(v["DataType"].encode("utf-8"))
        if v.get("StringValue") is not None:
            buf += b"\x01" + _length_prefixed(v["StringValue"].encode("utf-8"))
        elif v.get("BinaryValue") is not None:
            value = v["BinaryValue"]
            if isinstance(value, str):
                value = value.encode("utf-8")
            buf += b"\x02" + _length_prefixed(bytes(value))
        else:
            raise ValueError(f"attribute {name} has neither StringValue nor BinaryValue")
    return hashlib.md5(bytes(buf)).hexdigest()


# ---------------------------------------------------------------------------
# Small polling helpers
# ---------------------------------------------------------------------------
def receive_all(sqs, url: str, expected: int | None = None, timeout: float = 10.0, delete: bool = True,
                visibility: int = 60, **kwargs) -> list[dict]:
    """Receive until `expected` messages were seen (or the queue stays empty)."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    empty_rounds = 0
    while time.monotonic() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility,
                                WaitTimeSeconds=1, **kwargs)
        msgs = r.get("Messages", [])
        if msgs:
            empty_rounds = 0
            seen.extend(msgs)
            if delete:
                sqs.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])
        else:
            empty_rounds += 1
            if expected is None and empty_rounds >= 2:
                break
        if expected is not None and len(seen) >= expected:
            break
    return seen


def queue_attrs(sqs, url: str, *names: str) -> dict:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names) or ["All"])["Attributes"]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last value: {last!r})")


class AwsCliError(Exception):
    def __init__(self, returncode: int, stderr: str, cmd: list[str]):
        super().__init__(f"aws exited {returncode}: {stderr.strip()[:2000]}\ncommand: {' '.join(cmd)}")
        self.returncode = returncode
        self.stderr = stderr


def aws_cli_base() -> list[str]:
    exe = shutil.which("aws")
    return [exe] if exe else [sys.executable, "-m", "awscli"]
