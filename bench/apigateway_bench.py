#!/usr/bin/env python3
"""HTTP front door benchmark for Stratus: what a REST API and an Application Load Balancer add to
a Lambda invoke, how many requests/s go through them, and a MOCK integration's ceiling;
moto_server beside it.

One command (about 6 minutes; --quick about 2; needs `target/release/stratus` (not rebuilt),
gcc, Python with boto3, and `moto_server` for the peer rows):

    bench/apigateway_bench.py             # options: --quick, --rounds 3, --client python, --no-moto

Starts a durable Stratus (fresh temp --data-dir, STRATUS_LOG_LEVEL=warn) on a free 127.0.0.1
port and deploys, with boto3 (untimed): a provided.al2023 function built from
bench/lambda/bootstrap.c with gcc, changed only to answer the Lambda proxy response
`{"statusCode":200,"body":"ok"}` (the original's `{"fn_ns":N}` is a malformed proxy response,
which API Gateway answers with 502); a REST API `/{proxy+}` ANY -> AWS_PROXY integration to it,
stage `bench`; a REST API `GET /ping` -> MOCK integration answering `{"pong": true}`, stage
`bench`; and a load balancer whose HTTP listener forwards to a lambda target group of the
function. Then, in --rounds rounds (median reported), each run --warmup s + --duration s:

  a. direct Lambda Invoke of the function    (stratus-loadgen --workload lambda-invoke)
  b. the same function through the REST API  (stratus-loadgen --workload http, unsigned
     GET /bench/anything with Host: {api}.execute-api.localhost:{port})
  c. the MOCK integration                    (--workload http, GET /bench/ping)
  d. the same function through the ALB       (--workload http, GET /anything with the load
     balancer's DNS name as Host)
  e. the same function through an HTTP API  (API Gateway v2 quick create: `$default` route,
     payload 2.0; --workload http, GET /anything with Host: {api}.execute-api.localhost:{port})

with --connections (16) keep-alive connections, and a, b, d and e once more with one connection
(sequential: the added latency without queueing). When no stratus-loadgen with the `http`
workload is found (or with --client python), every run uses the Python client below instead
(asyncio, raw HTTP/1.1 keep-alive connections, one process), so a, b and c share one client.

moto_server (in the same run): it serves API Gateway's control plane, but in server mode not
the data plane (its stage URLs are only mocked inside the Python process, with decorators, and
it ignores MOCK and AWS_PROXY integrations); the script probes it once and reports what it
answered, runs Lambda only in Docker (absent here), and compares the control plane instead:
GetResources and CreateRestApi calls/s on one keep-alive SigV4-signed connection, both servers.

Markdown to stdout and bench/results/apigateway-latest.md, raw figures in apigateway-latest.json,
server and client output in bench/results/apigateway-logs/. Every run is bounded by a request
count and a deadline, everything targets 127.0.0.1, and only the processes started here are
stopped, by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

import run as common  # noqa: E402  (process helpers, report writing)
import lambda_bench as lb  # noqa: E402  (start_stratus, zip_of, Signed, cpu accounting)

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402

REGION, ACCOUNT = lb.REGION, lb.ACCOUNT
log = common.log
STAGE = "bench"
FUNCTION = "apigw-bench"
PAYLOAD = b'{"bench":"loadgen"}'  # stratus-loadgen's default lambda-invoke payload
PROXY_ANSWER = '{"statusCode":200,"body":"ok"}'
MOCK_ANSWER = '{"pong": true}'
# Stated beside the figures, not asserted.
TARGETS = {"added_p50_ms": 0.3, "proxy_rps": 5000, "mock_rps": 20000}
MAX_REQUESTS = 3_000_000
CASES = {
    "invoke": "a. Lambda Invoke (direct)",
    "proxy": "b. REST API → AWS_PROXY → same function",
    "mock": "c. REST API → MOCK integration",
    "alb": "d. Application Load Balancer → same function",
    "http": "e. HTTP API (v2, payload 2.0) → same function",
}

# --------------------------------------------------------------------------- #
# the function


def build_proxy_bootstrap(work: Path) -> bytes:
    """bench/lambda/bootstrap.c with its answer replaced by a Lambda proxy response, compiled as
    lambda_bench.build_c_bootstrap compiles the original (gcc -O2, libc only)."""
    src = (BENCH / "lambda" / "bootstrap.c").read_text()
    pattern = re.compile(r'int bl = snprintf\(body_out, sizeof body_out, "\{\\"fn_ns\\":%lld\}", spent\);')
    if not pattern.search(src):
        raise RuntimeError("bench/lambda/bootstrap.c no longer writes its answer with the line this script "
                           "replaces (int bl = snprintf(body_out, ..., \"{\\\"fn_ns\\\":%lld}\", spent);)")
    answer = PROXY_ANSWER.replace('"', '\\"')
    variant = pattern.sub(lambda _m: f'(void)spent; int bl = snprintf(body_out, sizeof body_out, "{answer}");', src)
    c_path = work / "bootstrap_proxy.c"
    c_path.write_text(variant)
    out = work / "bootstrap"
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        raise RuntimeError("gcc not found: it compiles the C bootstrap")
    cp = subprocess.run([cc, "-O2", "-Wall", "-o", str(out), str(c_path)], capture_output=True, text=True,
                        timeout=120)
    if cp.returncode != 0:
        raise RuntimeError(f"compiling {c_path} failed:\n{cp.stderr}")
    return out.read_bytes()


# --------------------------------------------------------------------------- #
# setup (boto3, untimed)


def boto(service: str, port: int):
    import boto3
    from botocore.config import Config

    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 0}))


def root_resource(agw, api: str) -> str:
    return next(r["id"] for r in agw.get_resources(restApiId=api)["items"] if r["path"] == "/")


def create_mock_api(agw, name: str) -> str:
    """GET /ping -> MOCK (`{"statusCode": 200}`), integration response 200 `{"pong": true}`,
    deployed to stage `bench`."""
    api = agw.create_rest_api(name=name)["id"]
    res = agw.create_resource(restApiId=api, parentId=root_resource(agw, api), pathPart="ping")["id"]
    agw.put_method(restApiId=api, resourceId=res, httpMethod="GET", authorizationType="NONE")
    agw.put_integration(restApiId=api, resourceId=res, httpMethod="GET", type="MOCK",
                        requestTemplates={"application/json": '{"statusCode": 200}'})
    agw.put_method_response(restApiId=api, resourceId=res, httpMethod="GET", statusCode="200")
    agw.put_integration_response(restApiId=api, resourceId=res, httpMethod="GET", statusCode="200",
                                 responseTemplates={"application/json": MOCK_ANSWER})
    agw.create_deployment(restApiId=api, stageName=STAGE)
    return api


def setup_stratus(port: int, code: bytes) -> dict:
    lam, agw = boto("lambda", port), boto("apigateway", port)
    fn = lam.create_function(FunctionName=FUNCTION, Runtime="provided.al2023", Role=lb.ROLE, Handler="unused",
                             Code={"ZipFile": code})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if lam.get_function(FunctionName=FUNCTION)["Configuration"].get("State") == "Active":
            break
        time.sleep(0.02)
    api = agw.create_rest_api(name="bench-proxy")["id"]
    res = agw.create_resource(restApiId=api, parentId=root_resource(agw, api), pathPart="{proxy+}")["id"]
    agw.put_method(restApiId=api, resourceId=res, httpMethod="ANY", authorizationType="NONE")
    agw.put_integration(restApiId=api, resourceId=res, httpMethod="ANY", type="AWS_PROXY",
                        integrationHttpMethod="POST",
                        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
                            f"{fn['FunctionArn']}/invocations")
    lam.add_permission(FunctionName=FUNCTION, StatementId="apigateway-bench", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com",
                       SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*")
    agw.create_deployment(restApiId=api, stageName=STAGE)
    return {"function_arn": fn["FunctionArn"], "proxy_api": api, "mock_api": create_mock_api(agw, "bench-mock"),
            "alb_host": create_alb(port, fn["FunctionArn"]), "http_api": create_http_api(port, fn["FunctionArn"])}


def create_http_api(port: int, function_arn: str) -> str:
    """An HTTP API made by quick create (`$default` route → AWS_PROXY, payload 2.0, auto-deployed
    `$default` stage); returns its id."""
    v2, lam = boto("apigatewayv2", port), boto("lambda", port)
    api = v2.create_api(Name="bench-http", ProtocolType="HTTP", Target=function_arn)["ApiId"]
    lam.add_permission(FunctionName=FUNCTION, StatementId="http-api-bench", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com",
                       SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*")
    return api


def create_alb(port: int, function_arn: str) -> str:
    """A load balancer whose HTTP listener forwards everything to a lambda target group of the
    function; returns its DNS name."""
    elb, lam = boto("elbv2", port), boto("lambda", port)
    subnets = [s["SubnetId"] for s in boto("ec2", port).describe_subnets()["Subnets"]]
    lb_ = elb.create_load_balancer(Name="bench-alb", Subnets=subnets)["LoadBalancers"][0]
    tg = elb.create_target_group(Name="bench-fn", TargetType="lambda")["TargetGroups"][0]
    lam.add_permission(FunctionName=FUNCTION, StatementId="alb-bench", Action="lambda:InvokeFunction",
                       Principal="elasticloadbalancing.amazonaws.com", SourceArn=tg["TargetGroupArn"])
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": function_arn}])
    elb.create_listener(LoadBalancerArn=lb_["LoadBalancerArn"], Protocol="HTTP", Port=80,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    return lb_["DNSName"]


def plain_get(port: int, path: str, host: str | None = None) -> tuple[int, str]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", path, headers={"Host": host} if host else {})
        r = c.getresponse()
        return r.status, r.read()[:300].decode(errors="replace")
    finally:
        c.close()


def verify_stratus(port: int, ids: dict) -> dict:
    """One request of each kind before measuring; a row whose check fails is not measured."""
    out = {}
    cli = lb.Signed(port)
    st, hdrs, data = cli.invoke(FUNCTION, PAYLOAD)
    cli.close()
    out["invoke"] = {"status": st, "body": data[:300].decode(errors="replace"),
                     "function_error": hdrs.get("x-amz-function-error")}
    out["invoke"]["ok"] = st == 200 and not out["invoke"]["function_error"]
    for key, host, path, want in (("proxy", f"{ids['proxy_api']}.execute-api.localhost:{port}", f"/{STAGE}/anything", "ok"),
                                  ("mock", f"{ids['mock_api']}.execute-api.localhost:{port}", f"/{STAGE}/ping", MOCK_ANSWER),
                                  ("alb", f"{ids['alb_host']}:{port}", "/anything", "ok"),
                                  ("http", f"{ids['http_api']}.execute-api.localhost:{port}", "/anything", "ok")):
        st, body = plain_get(port, path, host)
        out[key] = {"status": st, "body": body, "ok": st == 200 and body == want}
    return out


# --------------------------------------------------------------------------- #
# clients


def loadgen_workloads(path: Path) -> set[str]:
    try:
        cp = subprocess.run([str(path), "--help"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return set(re.findall(r"^\s*- ([a-z0-9-]+):", cp.stdout, re.M))


def find_loadgen(explicit: str | None) -> Path | None:
    """A stratus-loadgen with both the lambda-invoke and the http workloads."""
    cands = [explicit] if explicit else [
        os.environ.get("STRATUS_LOADGEN"),
        str(ROOT / "target" / "release" / "stratus-loadgen"),
        os.environ.get("CARGO_TARGET_DIR") and str(Path(os.environ["CARGO_TARGET_DIR"]) / "release" / "stratus-loadgen"),
    ]
    for c in cands:
        if c and Path(c).exists() and {"lambda-invoke", "http"} <= loadgen_workloads(Path(c)):
            return Path(c)
    return None


def loadgen_cmd(loadgen: Path, port: int, target: dict, conns: int, duration: float, warmup: float) -> list[str]:
    cmd = [str(loadgen), "--endpoint", f"http://127.0.0.1:{port}", "--connections", str(conns),
           "--threads", "1" if conns == 1 else "2", "--duration", str(duration), "--warmup", str(warmup),
           "--max-requests", str(MAX_REQUESTS), "--timeout", "10", "--json"]
    if target["kind"] == "invoke":
        return cmd + ["--workload", "lambda-invoke", "--function", target["function"]]
    return cmd + ["--workload", "http", "--http-path", target["path"], "--http-host", target["host"],
                  "--http-method", "GET"]


def signed_invoke_request(port: int, function: str) -> bytes:
    """The bytes of one signed Invoke. The Python client signs once per run and sends the same
    request again and again (a run lasts seconds, well inside SigV4's 5-minute window)."""
    path = f"/2015-03-31/functions/{function}/invocations"
    req = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}{path}", data=PAYLOAD,
                     headers={"Content-Type": "application/json"})
    SigV4Auth(lb.CREDS, "lambda", REGION).add_auth(req)
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(PAYLOAD)}"]
    head += [f"{k}: {v}" for k, v in req.headers.items() if k.lower() not in ("host", "content-length")]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + PAYLOAD


def plain_request(path: str, host: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


class _Conn(asyncio.Protocol):
    """One closed-loop keep-alive connection: send, read one whole response (Content-Length
    framed), send again. Reconnects when the server closes."""

    def __init__(self, run: "_PyRun"):
        self.run = run
        self.transport = None
        self.buf = bytearray()
        self.t0 = 0.0
        self.busy = False

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.send()

    def send(self):
        if not self.run.may_send():
            self.transport.close()
            return
        self.buf.clear()
        self.busy = True
        self.t0 = time.perf_counter()
        self.transport.write(self.run.request)

    def data_received(self, data):
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).decode("latin-1")
        m = re.search(r"\r\ncontent-length:\s*(\d+)", head, re.I)
        clen = int(m.group(1)) if m else 0
        if re.search(r"\r\ntransfer-encoding:", head, re.I):
            self.run.done_one(self.t0, False, "chunked responses are not supported by the Python client")
            self.busy = False
            self.transport.close()
            return
        if len(self.buf) < end + 4 + clen:
            return
        status = int(head[9:12]) if head[:5] == "HTTP/" and head[9:12].isdigit() else 0
        ok = 200 <= status < 300 and not re.search(r"\r\nx-amz-function-error:", head, re.I)
        err = None if ok else f"HTTP {status}: {bytes(self.buf[end + 4:end + 4 + clen])[:200]!r}"
        self.busy = False
        self.run.done_one(self.t0, ok, err)
        if re.search(r"\r\nconnection:\s*close", head, re.I):
            self.transport.close()
        else:
            self.send()

    def connection_lost(self, exc):
        if self.busy:
            self.busy = False
            self.run.done_one(self.t0, False, f"connection lost: {exc}")
        self.run.reconnect(self)


class _PyRun:
    def __init__(self, port: int, request: bytes, conns: int, duration: float, warmup: float):
        self.port, self.request, self.conns = port, request, conns
        self.start = time.perf_counter()
        self.measure = self.start + warmup
        self.end = self.measure + duration
        self.lat: list[float] = []
        self.errors, self.first_error, self.sent, self.connects = 0, None, 0, 0
        self.last_done = self.measure
        self.open = 0
        self.finished: asyncio.Future | None = None

    def may_send(self) -> bool:
        if time.perf_counter() >= self.end or self.sent >= MAX_REQUESTS:
            return False
        self.sent += 1
        return True

    def done_one(self, t0: float, ok: bool, err: str | None) -> None:
        t1 = time.perf_counter()
        if t0 < self.measure or t1 > self.end:
            return
        self.last_done = t1
        if ok:
            self.lat.append((t1 - t0) * 1000)
        else:
            self.errors += 1
            self.first_error = self.first_error or err

    def reconnect(self, _conn: _Conn) -> None:
        self.open -= 1
        if time.perf_counter() < self.end and self.sent < MAX_REQUESTS and self.connects < 200_000:
            asyncio.get_running_loop().create_task(self.connect())
        elif self.open <= 0 and not self.finished.done():
            self.finished.set_result(None)

    async def connect(self) -> None:
        self.connects += 1
        self.open += 1
        try:
            await asyncio.get_running_loop().create_connection(lambda: _Conn(self), "127.0.0.1", self.port)
        except OSError as e:
            self.open -= 1
            self.errors += 1
            self.first_error = self.first_error or f"connect: {e}"
            await asyncio.sleep(0.01)
            if self.open <= 0 and time.perf_counter() >= self.end and not self.finished.done():
                self.finished.set_result(None)
            elif time.perf_counter() < self.end:
                asyncio.get_running_loop().create_task(self.connect())

    async def main(self) -> None:
        self.finished = asyncio.get_running_loop().create_future()
        for _ in range(self.conns):
            await self.connect()
        try:
            await asyncio.wait_for(self.finished, timeout=self.end - time.perf_counter() + 15)
        except asyncio.TimeoutError:
            self.first_error = self.first_error or "requests still open 15 s after the end"


def py_run(port: int, request: bytes, conns: int, duration: float, warmup: float) -> dict:
    r = _PyRun(port, request, conns, duration, warmup)
    asyncio.run(r.main())
    el = max(1e-9, min(r.last_done, r.end) - r.measure)
    s = lb.summary(r.lat)
    return {"tool": "python asyncio client", "connections": conns, "duration_s": round(el, 3),
            "requests_ok": len(r.lat), "errors": r.errors, "connects": r.connects, "ops_per_s": len(r.lat) / el,
            "latency_ms": {k: s.get(k) for k in ("p50", "p90", "p99", "max", "mean")} if r.lat else {},
            "first_error": r.first_error}


def measure(client: str, loadgen: Path | None, port: int, server_pid: int, target: dict, conns: int,
            duration: float, warmup: float, logs: Path) -> dict:
    """One run; adds Stratus's CPU (its whole process tree: the function too), the client's and
    that of other processes on the machine (cores, averaged over the run)."""
    busy0, t0 = lb.cpu_busy()[0], time.perf_counter()
    tree0 = lb.tree_cpu(server_pid)
    own = os.times()
    own0 = own.user + own.system + own.children_user + own.children_system
    if client == "loadgen":
        res = common.run_json_client(loadgen_cmd(loadgen, port, target, conns, duration, warmup), server_pid,
                                     duration + warmup + 60, logs / "loadgen.log")
    else:
        req = signed_invoke_request(port, target["function"]) if target["kind"] == "invoke" else \
            plain_request(target["path"], target["host"])
        res = py_run(port, req, conns, duration, warmup)
    wall = max(1e-9, time.perf_counter() - t0)
    own = os.times()
    client_cores = (own.user + own.system + own.children_user + own.children_system - own0) / wall
    stratus_cores = (lb.tree_cpu(server_pid) - tree0) / wall
    machine = (lb.cpu_busy()[0] - busy0) / common.CLK_TCK / wall
    res.update(stratus_tree_cores=round(stratus_cores, 2), client_cores=round(client_cores, 2),
               other_cores=round(max(0.0, machine - stratus_cores - client_cores), 2))
    if res.get("ops_per_s"):
        # CPU averaged over warm-up and measured window alike (same load), over the measured rate.
        res["stratus_us_per_request"] = round(stratus_cores / res["ops_per_s"] * 1e6, 1)
    return res


# --------------------------------------------------------------------------- #
# the peer: control plane calls on one signed keep-alive connection


def control_plane(port: int, api: str, seconds: float, max_calls: int = 20_000) -> dict:
    out = {}
    cli = lb.Signed(port, timeout=30)
    try:
        for op in ("GetResources", "CreateRestApi"):
            lat, errors, first_error, n = [], 0, None, 0
            t_start = time.perf_counter()
            end = t_start + seconds
            while n < max_calls and time.perf_counter() < end:
                n += 1
                t0 = time.perf_counter()
                if op == "GetResources":
                    st, _, data = cli.call("GET", f"/restapis/{api}/resources", "apigateway")
                else:
                    st, _, data = cli.call("POST", "/restapis", "apigateway",
                                           json.dumps({"name": f"cp-{n}"}).encode(),
                                           {"Content-Type": "application/json"})
                dt = (time.perf_counter() - t0) * 1000
                if 200 <= st < 300:
                    lat.append(dt)
                else:
                    errors += 1
                    first_error = first_error or f"HTTP {st}: {data[:200]!r}"
            el = max(1e-9, time.perf_counter() - t_start)
            out[op] = {"calls_per_s": len(lat) / el, "n_ok": len(lat), "latency_ms": lb.summary(lat), "errors": errors,
                       "first_error": first_error}
    finally:
        cli.close()
    return out


def probe_moto_data_plane(port: int, api: str) -> list[dict]:
    out = []
    for desc, path, host in (
            ("GET /restapis/{api}/bench/_user_request_/ping", f"/restapis/{api}/{STAGE}/_user_request_/ping", None),
            ("GET /bench/ping, Host {api}.execute-api.us-east-1.amazonaws.com", f"/{STAGE}/ping",
             f"{api}.execute-api.{REGION}.amazonaws.com"),
            ("GET /bench/ping, Host {api}.execute-api.localhost:PORT", f"/{STAGE}/ping",
             f"{api}.execute-api.localhost:{port}")):
        try:
            st, body = plain_get(port, path, host)
        except (OSError, http.client.HTTPException) as e:
            st, body = 0, str(e)
        code = re.search(r"<Code>([^<]+)</Code>", body)
        out.append({"request": desc, "status": st, "answer": code.group(1) if code else body[:120]})
    return out


def start_moto(moto: str, logs: Path) -> tuple:
    port = common.free_port()
    proc = common.spawn([moto, "-H", "127.0.0.1", "-p", str(port)], logs / "moto.log")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/moto-api/")
            c.getresponse().read()
            c.close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    common.stop(proc)
    raise RuntimeError(f"moto_server did not start; see {logs / 'moto.log'}")


# --------------------------------------------------------------------------- #
# report


def med(runs: list[dict], key: str, sub: str | None = None) -> float | None:
    vals = []
    for r in runs:
        v = r.get(key)
        if sub is not None:
            v = (v or {}).get(sub)
        if isinstance(v, (int, float)):
            vals.append(v)
    return statistics.median(vals) if vals else None


def f(x, d=0) -> str:
    return "–" if x is None else f"{x:,.{d}f}"


def rng(runs: list[dict]) -> str:
    v = [r["ops_per_s"] for r in runs if "ops_per_s" in r]
    return "" if len(v) < 2 else f" ({min(v):,.0f}–{max(v):,.0f})"


def ok_runs(res: dict, case: str, conns: int) -> list[dict]:
    return [r for r in res["runs"] if r["case"] == case and r["conns"] == conns and "ops_per_s" in r]


def all_runs(res: dict, case: str, conns: int) -> list[dict]:
    return [r for r in res["runs"] if r["case"] == case and r["conns"] == conns]


def target_cell(case: str, rps: float | None) -> str:
    t = {"proxy": TARGETS["proxy_rps"], "alb": TARGETS["proxy_rps"], "http": TARGETS["proxy_rps"],
         "mock": TARGETS["mock_rps"]}.get(case)
    if t is None:
        return "–"
    return f"≥ {t:,} /s" + ("" if rps is None else (" (met)" if rps >= t else " (not met)"))


def render(res: dict, args) -> str:
    m = res["meta"]
    n = args.connections
    o = [f"# Stratus API Gateway benchmark ({m['date']})", "",
         f"- Machine: {m['cpu']} ({m['cores']} cores), {m['mem_gib']} GiB RAM, Linux {m['kernel']}",
         f"- Stratus {m.get('stratus_version') or '?'} (commit {m.get('commit') or '?'}, binary built "
         f"{m.get('stratus_built')}), durable (fresh temp --data-dir, fsync), STRATUS_LOG_LEVEL=warn; "
         f"moto {m.get('moto_version') or '–'}; {m.get('gcc')}",
         f"- Client: {res['client_label']}. {args.rounds} round(s), each run {args.warmup:g} s warm-up + "
         f"{args.duration:g} s measured; every cell is the median over the rounds (requests/s range in "
         "brackets). Everything on 127.0.0.1, client, Stratus and the function sharing the cores.",
         f"- Function: provided.al2023, bench/lambda/bootstrap.c (C, one keep-alive Runtime API connection) "
         f"answering `{PROXY_ANSWER}` — the same function and answer in a and b. Direct Invoke payload "
         f"`{PAYLOAD.decode()}`; through the REST API the function gets API Gateway's proxy event instead.",
         f"- Load average at start {m['load_start']}, at end {m['load_end']}; run took {m.get('total_s')} s.", ""]
    if res.get("verify"):
        bad = {k: v for k, v in res["verify"].items() if not v.get("ok")}
        if bad:
            o += ["**Checks failed before measuring** (those rows are not measured): "
                  + "; ".join(f"{k}: HTTP {v['status']} `{v['body'][:120]}`" for k, v in bad.items()), ""]
    o += [f"## Requests/s and latency, {n} connections", "",
          "Closed loop, keep-alive HTTP/1.1. a: signed `POST /2015-03-31/functions/NAME/invocations`; "
          f"b: unsigned `GET /{STAGE}/anything` with `Host: {{api}}.execute-api.localhost:PORT` (route "
          f"`/{{proxy+}}` ANY, AWS_PROXY); c: unsigned `GET /{STAGE}/ping` (MOCK, answers `{MOCK_ANSWER}`). "
          "2xx = success. *Stratus CPU* is the server and the function's processes (per request: cores ÷ "
          "requests/s); *others* = CPU of "
          "everything else on the machine (a figure from a run with others well above 0 is disturbed).", "",
          "| Path | requests/s | p50 ms | p90 ms | p99 ms | errors | Stratus CPU, cores | Stratus CPU per request, µs | client CPU | others | target |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for case, label in CASES.items():
        runs = ok_runs(res, case, n)
        if not runs:
            errs = [r.get("error") or r.get("first_error") for r in all_runs(res, case, n)]
            o.append(f"| {label} | not measured: {next((e for e in errs if e), 'no run')} | | | | | | | | | "
                     f"{target_cell(case, None)} |")
            continue
        rps = med(runs, "ops_per_s")
        o.append(f"| {label} | {f(rps)}{rng(runs)} | {f(med(runs, 'latency_ms', 'p50'), 3)} | "
                 f"{f(med(runs, 'latency_ms', 'p90'), 3)} | {f(med(runs, 'latency_ms', 'p99'), 3)} | "
                 f"{sum(r.get('errors', 0) for r in runs)} | {f(med(runs, 'stratus_tree_cores'), 2)} | "
                 f"{f(med(runs, 'stratus_us_per_request'))} | "
                 f"{f(med(runs, 'client_cores'), 2)} | {f(med(runs, 'other_cores'), 2)} | {target_cell(case, rps)} |")
    o.append("")
    o += ["## What the front doors add (b − a, d − a)", "",
          "Median over the rounds of each run's percentile, b minus a, in ms. With one connection there "
          "is no queueing, so the difference is the REST API's own work per request (routing, the proxy "
          "event, the permission check, the proxy response) plus the larger event the function reads; "
          f"with {n} connections it also includes the queueing that work adds.", "",
          "| Front door | Connections | a p50 | door p50 | added p50 | a p99 | door p99 | added p99 | a requests/s | door requests/s | target (added p50) |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for c, case in ((1, "proxy"), (n, "proxy"), (1, "alb"), (n, "alb"), (1, "http"), (n, "http")):
        a, b = ok_runs(res, "invoke", c), ok_runs(res, case, c)
        a50, b50 = med(a, "latency_ms", "p50"), med(b, "latency_ms", "p50")
        a99, b99 = med(a, "latency_ms", "p99"), med(b, "latency_ms", "p99")
        d50 = None if a50 is None or b50 is None else b50 - a50
        d99 = None if a99 is None or b99 is None else b99 - a99
        tgt = f"< {TARGETS['added_p50_ms']} ms" + ("" if d50 is None else
                                                  (" (met)" if d50 < TARGETS["added_p50_ms"] else " (not met)"))
        door = {"proxy": "REST API", "alb": "ALB", "http": "HTTP API"}[case]
        o.append(f"| {door} | {c} | {f(a50, 3)} | {f(b50, 3)} | **{f(d50, 3)}** | {f(a99, 3)} | {f(b99, 3)} | "
                 f"**{f(d99, 3)}** | {f(med(a, 'ops_per_s'))}{rng(a)} | {f(med(b, 'ops_per_s'))}{rng(b)} | {tgt} |")
    o.append("")
    pe = res.get("peer") or {}
    o += ["## Beside moto_server", ""]
    if pe.get("skipped"):
        o += [f"moto_server not measured: {pe['skipped']}", ""]
    else:
        o += ["| Measure | Stratus (durable) | moto_server |", "|---|---:|---:|"]
        for case in CASES:
            runs = ok_runs(res, case, n)
            s = f"{f(med(runs, 'ops_per_s'))} req/s, p50 {f(med(runs, 'latency_ms', 'p50'), 3)} ms" if runs else "–"
            if case == "invoke":
                mcell = "not possible: moto runs Lambda functions only in Docker, which this machine lacks"
            elif case in ("proxy", "alb", "http"):
                mcell = "not possible: needs Lambda (Docker), and moto_server has no data plane (below)"
            else:
                mcell = "not served (below)"
            o.append(f"| {CASES[case]}, {n} connections | {s} | {mcell} |")
        cp = pe.get("control") or {}
        for op in ("GetResources", "CreateRestApi"):
            cells = []
            for srv in ("stratus", "moto"):
                runs = [r[op] for r in cp.get(srv, []) if op in r]
                if not runs:
                    cells.append("–")
                    continue
                errs = sum(r["errors"] for r in runs)
                cells.append(f"{f(med(runs, 'calls_per_s'))} calls/s, p50 "
                             f"{f(med(runs, 'latency_ms', 'p50'), 3)} ms" + (f", {errs} errors" if errs else ""))
            o.append(f"| control plane: {op}, 1 client, sequential | {cells[0]} | {cells[1]} |")
        o += ["", "What was compared: moto_server serves API Gateway's control plane, but not the stage "
              "URLs of a deployed API in server mode (moto documents its data plane as mocked inside the "
              "Python process, with decorators only, and ignores MOCK and AWS_PROXY integrations). The same "
              "MOCK API deployed to moto_server answered:", ""]
        for p in pe.get("data_plane_probe", []):
            o.append(f"- `{p['request']}` → HTTP {p['status']} `{p['answer']}`")
        o += ["", "So the peer rows are control-plane calls: one keep-alive connection signed with botocore's "
              f"SigV4Auth (service `apigateway`), sequential, {args.cp_seconds:g} s per operation and round: "
              "`GET /restapis/{api}/resources` of the MOCK API, and `POST /restapis` (CreateRestApi; Stratus "
              "stores it durably, moto in memory; the APIs created accumulate over the rounds: "
              f"{pe.get('created', {}).get('stratus', 0):,} in Stratus, {pe.get('created', {}).get('moto', 0):,} "
              "in moto_server). moto_server closes the connection after every response, so its rows include "
              "a TCP connect per call.", ""]
    if res.get("notes"):
        o += ["## Notes", ""] + [f"- {x}" for x in res["notes"]] + [""]
    return "\n".join(o)


# --------------------------------------------------------------------------- #


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="API Gateway benchmark for Stratus (REST API front door vs direct "
                                "Lambda Invoke, MOCK integration, moto_server control plane).")
    p.add_argument("--rounds", type=int, default=None, help="rounds (default 3; --quick 1)")
    p.add_argument("--duration", type=float, default=None, help="measured seconds per run (default 10; --quick 5)")
    p.add_argument("--warmup", type=float, default=None, help="warm-up seconds per run (default 2; --quick 1)")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--cp-seconds", type=float, default=None,
                   help="seconds per control-plane operation and server (peer; default 3, --quick 2)")
    p.add_argument("--client", choices=("auto", "loadgen", "python"), default="auto",
                   help="auto: stratus-loadgen if it has the http and lambda-invoke workloads, else Python")
    p.add_argument("--loadgen", default=None, help="path of stratus-loadgen")
    p.add_argument("--stratus", default=str(ROOT / "target" / "release" / "stratus"))
    p.add_argument("--moto", default=None, help="moto_server (default: the one on PATH)")
    p.add_argument("--no-moto", action="store_true", help="skip the moto_server rows")
    p.add_argument("--quick", action="store_true", help="1 round, 5 s runs, 1 s warm-up (about 45 s)")
    p.add_argument("--out", default=str(RESULTS / "apigateway-latest.md"))
    p.add_argument("--budget", type=float, default=480.0, help="hard limit on the whole run, seconds")
    a = p.parse_args(argv)
    # Flags given explicitly win over --quick.
    for name, full, quick in (("rounds", 3, 1), ("duration", 10.0, 5.0), ("warmup", 2.0, 1.0),
                              ("cp_seconds", 3.0, 2.0)):
        if getattr(a, name) is None:
            setattr(a, name, quick if a.quick else full)
    if not (1 <= a.rounds <= 10 and 0 < a.duration <= 60 and 0 <= a.warmup <= 30 and 1 <= a.connections <= 256
            and 0 < a.cp_seconds <= 30 and 10 <= a.budget <= 3600):
        p.error("out of range: --rounds 1..10, --duration (0,60], --warmup [0,30], --connections 1..256, "
                "--cp-seconds (0,30], --budget 10..3600")
    return a


class Budget(Exception):
    pass


def main(argv=None) -> int:
    args = parse_args(argv)
    stratus = Path(args.stratus)
    if not stratus.exists():
        log(f"missing {stratus}: build it with cargo build --release -p stratus")
        return 2
    loadgen = None if args.client == "python" else find_loadgen(args.loadgen)
    if args.client == "loadgen" and loadgen is None:
        log("no stratus-loadgen with the http and lambda-invoke workloads found")
        return 2
    client = "loadgen" if loadgen else "python"
    moto = None if args.no_moto else (args.moto or common.find_moto())

    logs = common.fresh_logs("apigateway-logs")
    tmp = Path(tempfile.mkdtemp(prefix="stratus-apigateway-bench-"))
    env = dict(os.environ, STRATUS_LOG_LEVEL="warn", RUST_LOG="warn")
    meta = common.meta_info(stratus)
    meta["stratus_built"] = time.strftime("%Y-%m-%d %H:%M", time.localtime(stratus.stat().st_mtime))
    try:
        meta["gcc"] = subprocess.run(["gcc", "--version"], capture_output=True, text=True,
                                     timeout=20).stdout.splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        meta["gcc"] = "gcc ?"
    meta["load_start"] = lb.loadavg()
    res: dict = {"meta": meta, "args": vars(args), "runs": [], "notes": [], "loadgen": str(loadgen) if loadgen else None}
    if client == "loadgen":
        res["client_label"] = f"stratus-loadgen ({loadgen}; `lambda-invoke` for a, `http` for b and c)"
    else:
        res["client_label"] = ("Python asyncio client (raw HTTP/1.1 keep-alive connections in this process; "
                               "the Invoke request signed once per run) for a, b and c")
        if args.client == "auto":
            res["notes"].append("No stratus-loadgen with the `http` workload was found, so every run used the "
                                "Python client (one process, one core at most, beside Stratus on the same cores): "
                                "requests/s can be bounded by the client (its CPU is in the table), and "
                                "stratus-loadgen would show higher ceilings; a, b and c use the same client, so "
                                "b − a compares like with like.")
            log("no stratus-loadgen with the http workload: the Python client runs a, b and c")

    def on_signal(signum, _frame):
        if signum == signal.SIGALRM:
            raise Budget(f"run exceeded --budget {args.budget:g} s")
        common.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        sys.exit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        signal.signal(s, on_signal)
    signal.alarm(int(args.budget))
    t_all = time.perf_counter()
    rc = 0
    proc = moto_proc = None
    try:
        code = lb.zip_of({"bootstrap": build_proxy_bootstrap(tmp)}, {"bootstrap": 0o755})
        proc, port, server_pid = lb.start_stratus(stratus, ["--data-dir", str(tmp / "data")],
                                                  logs / "stratus.log", env)
        log(f"Stratus on 127.0.0.1:{port} (pid {server_pid})")
        ids = setup_stratus(port, code)
        res["ids"] = ids
        res["verify"] = verify_stratus(port, ids)
        for k, v in res["verify"].items():
            log(f"  check {k}: HTTP {v['status']} {v['body'][:80]!r}" + ("" if v["ok"] else "  <- FAILED"))
        targets = {
            "invoke": {"kind": "invoke", "function": FUNCTION},
            "proxy": {"kind": "http", "path": f"/{STAGE}/anything",
                      "host": f"{ids['proxy_api']}.execute-api.localhost:{port}"},
            "mock": {"kind": "http", "path": f"/{STAGE}/ping", "host": f"{ids['mock_api']}.execute-api.localhost:{port}"},
            "alb": {"kind": "http", "path": "/anything", "host": f"{ids['alb_host']}:{port}"},
            "http": {"kind": "http", "path": "/anything", "host": f"{ids['http_api']}.execute-api.localhost:{port}"},
        }
        plan = [(c, args.connections) for c in ("invoke", "proxy", "mock", "alb", "http")] + [
            ("invoke", 1), ("proxy", 1), ("alb", 1), ("http", 1)]
        for rnd in range(args.rounds):
            # Alternate the order of a and b between rounds, so drift of the machine does not favour one.
            order = plan if rnd % 2 == 0 else [plan[1], plan[0], plan[3], plan[2], plan[4], plan[6], plan[5],
                                               plan[8], plan[7]]
            for case, conns in order:
                if not res["verify"][case]["ok"]:
                    res["runs"].append({"case": case, "conns": conns, "round": rnd + 1,
                                        "error": f"check failed: HTTP {res['verify'][case]['status']}"})
                    continue
                r = measure(client, loadgen, port, server_pid, targets[case], conns, args.duration, args.warmup, logs)
                r.update(case=case, conns=conns, round=rnd + 1)
                res["runs"].append(r)
                if "ops_per_s" in r:
                    lat = r["latency_ms"] or {}
                    log(f"round {rnd + 1} {case:6} x{conns:<3} {r['ops_per_s']:9.0f}/s  p50 {lat.get('p50') or 0:.3f} ms  "
                        f"p99 {lat.get('p99') or 0:.3f} ms  errors {r.get('errors')}  "
                        f"[Stratus {r['stratus_tree_cores']:.2f} cores, client {r['client_cores']:.2f}, "
                        f"others {r['other_cores']:.2f}]"
                        + (f"  first error: {r['first_error']}" if r.get("first_error") else ""))
                else:
                    log(f"round {rnd + 1} {case} x{conns}: {r.get('error')}")
        if proc.poll() is not None:
            res["notes"].append(f"Stratus exited with {proc.returncode} during the run")

        peer: dict = {}
        res["peer"] = peer
        if args.no_moto:
            peer["skipped"] = "--no-moto"
        elif not moto:
            peer["skipped"] = "moto_server not found (pip install 'moto[server]')"
        else:
            moto_proc, mport = start_moto(moto, logs)
            log(f"moto_server on 127.0.0.1:{mport} (pid {common.real_pid(moto_proc.pid)})")
            m_api = create_mock_api(boto("apigateway", mport), "bench-mock")
            peer["moto_mock_api"] = m_api
            peer["data_plane_probe"] = probe_moto_data_plane(mport, m_api)
            for p in peer["data_plane_probe"]:
                log(f"  moto data plane: {p['request']} -> HTTP {p['status']} {p['answer']}")
            peer["control"] = {"stratus": [], "moto": []}
            for rnd in range(args.rounds):
                for srv, p, api in (("stratus", port, ids["mock_api"]), ("moto", mport, m_api)):
                    r = control_plane(p, api, args.cp_seconds)
                    peer["control"][srv].append(r)
                    created = peer.setdefault("created", {})
                    created[srv] = created.get(srv, 0) + r["CreateRestApi"]["n_ok"]
                    log(f"round {rnd + 1} control plane {srv:8} " + "  ".join(
                        f"{op} {v['calls_per_s']:7.0f}/s p50 {v['latency_ms'].get('p50') or 0:.3f} ms"
                        + (f" ({v['errors']} errors: {v['first_error']})" if v["errors"] else "")
                        for op, v in r.items()))
    except Budget as e:
        res["notes"].append(str(e))
        log(str(e))
        rc = 1
    except Exception as e:  # noqa: BLE001  (reported; the processes are stopped below)
        res["notes"].append(f"aborted: {type(e).__name__}: {e}")
        log(f"aborted: {type(e).__name__}: {e}")
        rc = 1
    finally:
        signal.alarm(0)
        for p in (moto_proc, proc):
            if p is not None:
                common.stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
    meta["load_end"] = lb.loadavg()
    meta["total_s"] = round(time.perf_counter() - t_all, 1)
    md = render(res, args)
    out, raw = common.write_report(md, res, args.out)
    log(f"done in {meta['total_s']} s; wrote {out} and {raw}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
