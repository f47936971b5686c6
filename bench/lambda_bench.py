#!/usr/bin/env python3
"""Lambda benchmark for Stratus: cold starts, warm invoke latency, platform overhead, invokes/s
under concurrency, and SQS send -> function start latency through an event source mapping.

One command (about 2 minutes; needs a built `target/release/stratus`, gcc, curl, python3,
node, Python with boto3):

    bench/lambda_bench.py                  # options: --quick, --client python, --build-loadgen

Starts a durable Stratus (fresh temp --data-dir, STRATUS_LOG_LEVEL=warn) on a free 127.0.0.1
port, compiles a tiny C custom runtime (bench/lambda/bootstrap.c) with gcc, and prints markdown
tables (also written to bench/results/lambda-latest.md, raw figures in lambda-latest.json).

Clients: every timed control-plane call and the SQS sends use one keep-alive `http.client`
connection with botocore's SigV4Auth (not boto3's full stack); warm latency and concurrency
use `stratus-loadgen --workload lambda-invoke` when a binary with that workload is found
(else the same Python client, sequential only). boto3 is used only for untimed setup.

Every loop is bounded by a count and a deadline, everything targets 127.0.0.1, and only the
processes started here are stopped, by PID.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
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
import zipfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

import run as common  # noqa: E402  (bench/run.py: process helpers shared with the SQS benchmark)

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/bench"
CREDS = Credentials("test", "test")
log = common.log

# --------------------------------------------------------------------------- #
# function packages


def zip_of(files: dict[str, bytes | str], modes: dict[str, int] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = ((modes or {}).get(name, 0o644) | 0o100000) << 16
            z.writestr(info, data)
    return buf.getvalue()


# The handlers report the nanoseconds they spent in `fn_ns`; stratus-loadgen subtracts it.
PY_HANDLER = """
import time
def handler(event, context):
    t0 = time.perf_counter_ns()
    result = {"ok": True}
    result["fn_ns"] = time.perf_counter_ns() - t0
    return result
"""

NODE_HANDLER = """
exports.handler = async (event, context) => {
  const t0 = process.hrtime.bigint();
  const result = { ok: true };
  result.fn_ns = Number(process.hrtime.bigint() - t0);
  return result;
};
"""

# The custom-runtime example of AWS's documentation, minus the function body.
BASH_BOOTSTRAP = """#!/bin/bash
set -euo pipefail
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation"
HEADERS="${TMPDIR:-/tmp}/headers"
while true; do
  EVENT=$(curl -sS -LD "$HEADERS" "$API/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  curl -sS -X POST "$API/$REQUEST_ID/response" -d '{"ok":true}' > /dev/null
done
"""

# Records its start time first, then one log line per record (read back from CloudWatch Logs).
SQS_HANDLER = """
import json, time
def handler(event, context):
    start = time.time()
    for r in event["Records"]:
        body = json.loads(r["body"])
        print("BENCH_SQS " + json.dumps({"i": body["i"], "sent": body["t"], "start": start,
                                         "sent_ts_ms": int(r["attributes"]["SentTimestamp"])}))
    return {}
"""


def build_c_bootstrap(work: Path) -> bytes:
    src = BENCH / "lambda" / "bootstrap.c"
    out = work / "bootstrap"
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        raise RuntimeError("gcc not found: it compiles the C bootstrap")
    cp = subprocess.run([cc, "-O2", "-Wall", "-o", str(out), str(src)], capture_output=True, text=True,
                        timeout=120)
    if cp.returncode != 0:
        raise RuntimeError(f"compiling {src} failed:\n{cp.stderr}")
    return out.read_bytes()


# --------------------------------------------------------------------------- #
# a light signed client: one keep-alive http.client connection, botocore SigV4Auth


class Signed:
    def __init__(self, port: int, timeout: float = 60.0):
        self.port = port
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        c.connect()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return c

    def call(self, method: str, path: str, service: str, body: bytes = b"",
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        req = AWSRequest(method=method, url=f"http://127.0.0.1:{self.port}{path}", data=body,
                         headers=dict(headers or {}))
        SigV4Auth(CREDS, service, REGION).add_auth(req)
        hdrs = dict(req.headers.items())
        for attempt in range(2):
            if self.conn is None:
                self.conn = self._connect()
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                r = self.conn.getresponse()
                data = r.read()
                out = {k.lower(): v for k, v in r.getheaders()}
                if out.get("connection", "").lower() == "close":
                    self.close()
                return r.status, out, data
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    # Lambda -----------------------------------------------------------------
    def create_function(self, name: str, runtime: str, handler: str, code: bytes, **extra) -> dict:
        body = json.dumps({"FunctionName": name, "Runtime": runtime, "Role": ROLE, "Handler": handler,
                           "Code": {"ZipFile": base64.b64encode(code).decode()}, **extra}).encode()
        st, _, data = self.call("POST", "/2015-03-31/functions", "lambda", body,
                                {"Content-Type": "application/json"})
        if st != 201:
            raise RuntimeError(f"CreateFunction {name}: HTTP {st}: {data[:300]!r}")
        return json.loads(data)

    def get_function_state(self, name: str) -> str:
        st, _, data = self.call("GET", f"/2015-03-31/functions/{name}", "lambda")
        if st != 200:
            raise RuntimeError(f"GetFunction {name}: HTTP {st}: {data[:300]!r}")
        return json.loads(data)["Configuration"].get("State", "")

    def delete_function(self, name: str) -> None:
        self.call("DELETE", f"/2015-03-31/functions/{name}", "lambda")

    def invoke(self, name: str, payload: bytes = b'{"bench":"py"}', tail: bool = False):
        headers = {"Content-Type": "application/json"}
        if tail:
            headers["X-Amz-Log-Type"] = "Tail"
        return self.call("POST", f"/2015-03-31/functions/{name}/invocations", "lambda", payload, headers)

    # SQS ---------------------------------------------------------------------
    def sqs(self, action: str, params: dict) -> dict:
        st, _, data = self.call("POST", "/", "sqs", json.dumps(params).encode(),
                                {"Content-Type": "application/x-amz-json-1.0",
                                 "X-Amz-Target": f"AmazonSQS.{action}"})
        if st != 200:
            raise RuntimeError(f"{action}: HTTP {st}: {data[:300]!r}")
        return json.loads(data) if data else {}


def invoke_ok(st: int, hdrs: dict[str, str], data: bytes, what: str) -> None:
    if st != 200 or "x-amz-function-error" in hdrs:
        raise RuntimeError(f"{what}: HTTP {st} {hdrs.get('x-amz-function-error', '')}: {data[:300]!r}")


# --------------------------------------------------------------------------- #
# stats


def pct(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    s = sorted(values)
    k = max(1, int(-(-q * len(s) // 1)))  # ceil
    return s[min(k, len(s)) - 1]


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": statistics.median(values), "p90": pct(values, 0.90),
            "p99": pct(values, 0.99), "min": min(values), "max": max(values),
            "mean": statistics.fmean(values)}


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def tree_cpu(root: int) -> float:
    """CPU seconds of `root` and its descendants: their own time plus that of the children they
    have reaped (functions Stratus has stopped, curl processes under the bash bootstrap)."""
    stats: dict[int, tuple[int, float]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            f = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # f[1] = ppid (field 4); utime, stime, cutime, cstime = fields 14-17
        stats[int(d.name)] = (int(f[1]), sum(int(x) for x in f[11:15]) / common.CLK_TCK)
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        kids.setdefault(ppid, []).append(pid)
    total, todo, seen = 0.0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in stats:
            continue
        seen.add(pid)
        total += stats[pid][1]
        todo.extend(kids.get(pid, []))
    return total


def thread_ticks(pid: int) -> dict[str, int]:
    """CPU ticks of a process's threads, summed by thread name."""
    out: dict[str, int] = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return out
    for t in tasks:
        try:
            comm = (t / "comm").read_text().strip()
            f = (t / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        out[comm] = out.get(comm, 0) + int(f[11]) + int(f[12])
    return out


class CpuAccount:
    """Splits the machine's busy CPU time into this benchmark's (this process, its reaped
    children such as stratus-loadgen, Stratus and the functions under it) and everyone else's,
    phase by phase: the measure of how noisy the run was."""

    def __init__(self):
        self.server_pid = 0
        self.phases: list[dict] = []
        self._last = self._snap()

    def _snap(self) -> tuple[float, float, float]:
        busy, _ = cpu_busy()
        t = os.times()
        ours = t.user + t.system + t.children_user + t.children_system
        if self.server_pid:
            ours += tree_cpu(self.server_pid)
        return time.perf_counter(), busy / common.CLK_TCK, ours

    def reset(self) -> None:
        self._last = self._snap()

    def phase(self, name: str) -> dict:
        now = self._snap()
        wall = max(1e-9, now[0] - self._last[0])
        machine = (now[1] - self._last[1]) / wall
        ours = (now[2] - self._last[2]) / wall
        self._last = now
        row = {"phase": name, "wall_s": round(wall, 1), "machine_cores": round(machine, 2),
               "ours_cores": round(ours, 2), "others_cores": round(max(0.0, machine - ours), 2)}
        self.phases.append(row)
        return row


def cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    try:
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    idle = f[3] + (f[4] if len(f) > 4 else 0)
    return float(sum(f) - idle), float(sum(f))


# --------------------------------------------------------------------------- #
# the measurements

RUNTIMES = [
    # key, label, Runtime, Handler (packages are built in main)
    ("c", "provided.al2023, C bootstrap", "provided.al2023", "unused"),
    ("bash", "provided.al2023, bash + curl bootstrap", "provided.al2023", "unused"),
    ("python", "python3.12", "python3.12", "app.handler"),
    ("node", "nodejs20.x", "nodejs20.x", "index.handler"),
]


PAUSE = 0.1  # seconds of quiet before each isolated cold start


def cold_starts(cli: Signed, packages: dict[str, bytes], n: int, tag: str, deadline: float) -> dict:
    """Per runtime: n new functions timed from CreateFunction to the first Invoke response, and n
    more whose first Invoke is timed after GetFunction says Active; each after PAUSE s of quiet,
    as a cold start usually comes. One untimed function first (the server resolves the
    interpreter once, and the page cache warms). Then, for the C bootstrap only, n cold starts
    back to back (each right after the previous one)."""
    out = {}
    for key, label, runtime, handler in RUNTIMES:
        code = packages[key]
        rows = {"total_ms": [], "create_ms": [], "invoke_ms": [], "after_active_ms": [], "init_ms": [],
                "active_polls": []}
        warm_name = f"cold-{tag}-{key}-warmup"
        cli.create_function(warm_name, runtime, handler, code)
        invoke_ok(*cli.invoke(warm_name), f"warm-up {warm_name}")
        cli.delete_function(warm_name)
        time.sleep(0.05)
        for i in range(n):
            if time.monotonic() > deadline:
                log(f"  cold starts: time budget used up at {key} #{i}")
                break
            # (a) CreateFunction call start -> first Invoke response
            name = f"cold-{tag}-{key}-a{i}"
            time.sleep(PAUSE)
            t0 = time.perf_counter()
            cli.create_function(name, runtime, handler, code)
            t1 = time.perf_counter()
            st, hdrs, data = cli.invoke(name, tail=True)
            t2 = time.perf_counter()
            invoke_ok(st, hdrs, data, f"first invoke of {name}")
            rows["total_ms"].append((t2 - t0) * 1000)
            rows["create_ms"].append((t1 - t0) * 1000)
            rows["invoke_ms"].append((t2 - t1) * 1000)
            m = re.search(r"Init Duration: ([0-9.]+) ms", base64.b64decode(hdrs.get("x-amz-log-result", "")).decode(
                errors="replace"))
            if m:
                rows["init_ms"].append(float(m.group(1)))
            cli.delete_function(name)
            # (b) first Invoke once the function is Active
            name = f"cold-{tag}-{key}-b{i}"
            time.sleep(PAUSE)
            cli.create_function(name, runtime, handler, code)
            polls = 0
            while polls < 500 and cli.get_function_state(name) != "Active":
                polls += 1
                time.sleep(0.01)
            rows["active_polls"].append(polls)
            t0 = time.perf_counter()
            st, hdrs, data = cli.invoke(name)
            t1 = time.perf_counter()
            invoke_ok(st, hdrs, data, f"first invoke of {name}")
            rows["after_active_ms"].append((t1 - t0) * 1000)
            cli.delete_function(name)
        out[key] = {"label": label, **{k: summary(v) for k, v in rows.items() if k != "active_polls"},
                    "max_active_polls": max(rows["active_polls"], default=0)}
        s = out[key]
        log(f"  {label:<40} create->first response p50 {s['total_ms'].get('p50', 0):7.2f} ms, "
            f"first invoke after Active p50 {s['after_active_ms'].get('p50', 0):7.2f} ms")
    # Back to back: each C function created and invoked right after the previous one's first
    # response, with no pause; deleted afterwards.
    rows = {"total_ms": [], "create_ms": [], "invoke_ms": [], "init_ms": []}
    names = []
    time.sleep(PAUSE)
    for i in range(n):
        if time.monotonic() > deadline:
            break
        name = f"cold-{tag}-c-seq{i}"
        t0 = time.perf_counter()
        cli.create_function(name, "provided.al2023", "unused", packages["c"])
        t1 = time.perf_counter()
        st, hdrs, data = cli.invoke(name, tail=True)
        t2 = time.perf_counter()
        invoke_ok(st, hdrs, data, f"first invoke of {name}")
        names.append(name)
        rows["total_ms"].append((t2 - t0) * 1000)
        rows["create_ms"].append((t1 - t0) * 1000)
        rows["invoke_ms"].append((t2 - t1) * 1000)
        m = re.search(r"Init Duration: ([0-9.]+) ms", base64.b64decode(hdrs.get("x-amz-log-result", "")).decode(
            errors="replace"))
        if m:
            rows["init_ms"].append(float(m.group(1)))
    for name in names:
        cli.delete_function(name)
    out["c-seq"] = {"label": "provided.al2023, C bootstrap, back to back (no pause)",
                    **{k: summary(v) for k, v in rows.items()}, "after_active_ms": {"n": 0}}
    s = out["c-seq"]
    log(f"  {s['label']:<40} create->first response p50 {s['total_ms'].get('p50', 0):7.2f} ms")
    return out


def loadgen_has_lambda(path: Path) -> bool:
    try:
        cp = subprocess.run([str(path), "--help"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "lambda-invoke" in cp.stdout


def find_loadgen(explicit: str | None) -> Path | None:
    cands = [explicit] if explicit else [
        os.environ.get("STRATUS_LOADGEN"),
        str(ROOT / "target" / "release" / "stratus-loadgen"),
        os.environ.get("CARGO_TARGET_DIR") and str(Path(os.environ["CARGO_TARGET_DIR"]) / "release" / "stratus-loadgen"),
        "/tmp/loadgen-target/release/stratus-loadgen",
    ]
    for c in cands:
        if c and Path(c).exists() and loadgen_has_lambda(Path(c)):
            return Path(c)
    return None


def run_loadgen(loadgen: Path, port: int, fn: str, conns: int, duration: float, warmup: float,
                server_pid: int, logs: Path) -> dict:
    cmd = [str(loadgen), "--endpoint", f"http://127.0.0.1:{port}", "--workload", "lambda-invoke",
           "--function", fn, "--connections", str(conns), "--threads", "1" if conns == 1 else "2",
           "--duration", str(duration), "--warmup", str(warmup), "--max-requests", "3000000",
           "--timeout", "10", "--json"]
    sampler = common.CpuSampler(server_pid)
    sampler.start()
    busy0 = cpu_busy()
    threads0, t_start = thread_ticks(server_pid), time.perf_counter()
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + warmup + 60,
                            stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"error": "stratus-loadgen timed out"}
    finally:
        end = time.perf_counter()
        sampler.stop()
    busy1 = cpu_busy()
    threads1, wall = thread_ticks(server_pid), max(1e-9, time.perf_counter() - t_start)
    by_thread = {k: round((v - threads0.get(k, 0)) / common.CLK_TCK / wall, 2) for k, v in threads1.items()}
    with open(logs / "loadgen.log", "a") as f:
        f.write(f"$ {' '.join(cmd)}\n{cp.stdout}{cp.stderr}\n")
    line = next((ln for ln in reversed(cp.stdout.splitlines()) if ln.startswith("{")), None)
    if line is None:
        return {"error": (cp.stderr.strip().splitlines() or [f"exit {cp.returncode}"])[-1][:300]}
    res = json.loads(line)
    res["server_cpu_cores"] = sampler.cores_between(end - float(res.get("duration_s") or 0), end)
    res["server_threads_cores"] = {k: v for k, v in sorted(by_thread.items(), key=lambda kv: -kv[1]) if v > 0}
    if busy1[1] > busy0[1]:
        res["machine_busy"] = round((busy1[0] - busy0[0]) / (busy1[1] - busy0[1]), 3)
    return res


def py_invoke_loop(cli: Signed, fn: str, duration: float, warmup: float, max_n: int = 200_000) -> dict:
    """Fallback client: sequential invokes on one keep-alive connection."""
    lat, fn_ms, over = [], [], []
    errors, first_error = 0, None
    t_start = time.perf_counter()
    measure = t_start + warmup
    end = measure + duration
    n = 0
    while n < max_n:
        t0 = time.perf_counter()
        if t0 >= end:
            break
        n += 1
        st, hdrs, data = cli.invoke(fn, b'{"bench":"py"}')
        dt = time.perf_counter() - t0
        if t0 < measure:
            continue
        if st != 200 or "x-amz-function-error" in hdrs:
            errors += 1
            first_error = first_error or f"HTTP {st}: {data[:200]!r}"
            continue
        lat.append(dt * 1000)
        try:
            f = json.loads(data).get("fn_ns")
        except (ValueError, AttributeError):
            f = None
        if isinstance(f, (int, float)):
            fn_ms.append(f / 1e6)
            over.append(dt * 1000 - f / 1e6)
    el = max(1e-9, min(time.perf_counter(), end) - measure)
    q = lambda v: {k: v2 for k, v2 in summary(v).items() if k in ("p50", "p90", "p99", "max", "mean")}  # noqa: E731
    res = {"tool": "python http.client", "connections": 1, "requests_ok": len(lat), "errors": errors,
           "ops_per_s": len(lat) / el, "latency_ms": q(lat), "first_error": first_error,
           "reported": len(fn_ms)}
    if fn_ms:
        res["function_ms"], res["overhead_ms"] = q(fn_ms), q(over)
    return res


def sqs_to_function(cli: Signed, port: int, tag: str, n: int, warm: int, gap: float, logs_dir: Path) -> dict:
    import boto3

    kw = dict(endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION, aws_access_key_id="test",
              aws_secret_access_key="test")
    lam = boto3.client("lambda", **kw)
    logs = boto3.client("logs", **kw)
    qname = f"bench-esm-{tag}"
    qurl = cli.sqs("CreateQueue", {"QueueName": qname})["QueueUrl"]
    qarn = cli.sqs("GetQueueAttributes", {"QueueUrl": qurl, "AttributeNames": ["QueueArn"]})["Attributes"]["QueueArn"]
    fn = f"bench-esm-{tag}"
    cli.create_function(fn, "python3.12", "app.handler", zip_of({"app.py": SQS_HANDLER}))
    # Warm the environment the mapping will use (same function, same version).
    warm_event = {"Records": [{"body": json.dumps({"i": -1, "t": time.time()}),
                               "attributes": {"SentTimestamp": str(int(time.time() * 1000))}}]}
    invoke_ok(*cli.invoke(fn, json.dumps(warm_event).encode()), "warm-up invoke of the SQS function")
    mapping = lam.create_event_source_mapping(EventSourceArn=qarn, FunctionName=fn, BatchSize=1, Enabled=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if lam.get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Enabled":
            break
        time.sleep(0.05)
    time.sleep(0.3)
    sent, acked, send_ms, sign_ms = {}, {}, [], []
    for i in range(-warm, n):
        t = time.time()
        body = json.dumps({"i": i, "t": t})
        # What the send costs before it leaves (SigV4 with botocore) is part of the figure.
        ts = time.perf_counter()
        cli.sqs("SendMessage", {"QueueUrl": qurl, "MessageBody": body})
        acked[i] = time.time()
        send_ms.append((time.perf_counter() - ts) * 1000)
        sent[i] = t
        time.sleep(gap)
    # Collect the handler's log lines.
    group = f"/aws/lambda/{fn}"
    seen: dict[int, dict] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len([i for i in seen if i >= 0]) < n:
        token = None
        for _ in range(100):
            kw2 = {"logGroupName": group, "filterPattern": "BENCH_SQS"}
            if token:
                kw2["nextToken"] = token
            try:
                page = logs.filter_log_events(**kw2)
            except Exception:  # noqa: BLE001  (group not there yet)
                break
            for e in page.get("events", []):
                msg = e["message"]
                if "BENCH_SQS " in msg:
                    rec = json.loads(msg.split("BENCH_SQS ", 1)[1].strip())
                    seen[rec["i"]] = rec
            token = page.get("nextToken")
            if not token:
                break
        if len([i for i in seen if i >= 0]) < n:
            time.sleep(0.2)
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
    measured = [seen[i] for i in range(n) if i in seen]
    lat = [(r["start"] - r["sent"]) * 1000 for r in measured]
    lat_attr = [r["start"] * 1000 - r["sent_ts_ms"] for r in measured]
    lat_ack = [(r["start"] - acked[r["i"]]) * 1000 for r in measured]
    (logs_dir / "sqs-records.json").write_text(json.dumps([seen[k] for k in sorted(seen)], indent=1))
    cli.delete_function(fn)
    # signing cost of the client alone, for the record
    for _ in range(200):
        ts = time.perf_counter()
        req = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=b"{}", headers={})
        SigV4Auth(CREDS, "sqs", REGION).add_auth(req)
        sign_ms.append((time.perf_counter() - ts) * 1000)
    return {"n_sent": n, "n_seen": len(measured), "warmup_msgs": warm, "gap_ms": gap * 1000,
            "start_minus_sender_ms": summary(lat), "start_minus_sent_timestamp_ms": summary(lat_attr),
            "start_minus_ack_ms": summary(lat_ack),
            "send_call_ms": summary(send_ms[warm:]), "sign_ms": summary(sign_ms)}


# --------------------------------------------------------------------------- #
# report


def f2(x, d=2) -> str:
    return "–" if x is None else f"{x:,.{d}f}"


def us(ms_value) -> str:
    """stratus-loadgen reports whole microseconds (as ms with 3 decimals)."""
    if ms_value is None:
        return "–"
    return "< 1" if ms_value < 0.001 else f"{ms_value * 1000:.0f}"


def mmm(s: dict, d=1) -> str:
    if not s or not s.get("n"):
        return "–"
    return f"{s['p50']:.{d}f} ({s['min']:.{d}f}–{s['max']:.{d}f})"


def render(res: dict, args) -> str:
    m = res["meta"]
    o = [f"# Stratus Lambda benchmark ({m['date']})", "",
         f"- Machine: {m['cpu']} ({m['cores']} cores), {m['mem_gib']} GiB RAM, Linux {m['kernel']}",
         f"- Stratus {m.get('stratus_version') or '?'} (checkout at commit {m.get('commit') or '?'}, binary built "
         f"{m.get('stratus_built')}), durable "
         f"(fresh temp --data-dir, fsync), STRATUS_LOG_LEVEL=warn; functions: Python {m.get('fn_python')}, "
         f"Node {m.get('fn_node')}, {m.get('gcc')}",
         f"- Warm/concurrency client: {res['warm_client']}; cold starts and SQS sends: one keep-alive "
         "http.client connection signing with botocore SigV4Auth. Everything on 127.0.0.1, client, "
         "server and functions sharing the same cores.",
         f"- Load average at start {m['load_start']}, at end {m['load_end']}; run took {m.get('total_s')} s.",
         ""]
    cs = res.get("cold")
    if cs:
        o += ["## Cold start", "",
              f"Median (min–max) over {args.cold} new functions per runtime and column; ms. Column 1: "
              "CreateFunction request start → first Invoke response (the function is invoked right "
              "after CreateFunction returns). Column 4: a separate set of functions, first Invoke timed "
              "once GetFunction reports `Active`. Init Duration: process start → the runtime's first "
              "`/next`, from the first invoke's REPORT line (column 1's set). Each cold start follows "
              f"{PAUSE * 1000:.0f} ms without one; the last row starts C functions back to back "
              "(each right after the previous one answered).", "",
              "| Runtime | CreateFunction → first response | of which CreateFunction | of which first Invoke | first Invoke after Active | Init Duration (REPORT) |",
              "|---|---:|---:|---:|---:|---:|"]
        for k, s in cs.items():
            o.append(f"| {s['label']} | {mmm(s['total_ms'])} | {mmm(s['create_ms'])} | {mmm(s['invoke_ms'])} | "
                     f"{mmm(s['after_active_ms'])} | {mmm(s['init_ms'])} |")
        o.append("")
    w = res.get("warm")
    if w:
        o += ["## Warm invoke latency (one client, sequential)", "",
              f"{args.warmup:g} s warm-up + {args.duration:g} s measured per runtime, one keep-alive "
              "connection, payload `{\"bench\":...}` (19 B). *Function* = the time the function reports "
              "(`fn_ns` in its reply: the C bootstrap from having read the event to starting its "
              "response, the handlers their own body); *rest* = latency − function, per request.", "",
              "| Runtime | invokes/s | p50 ms | p90 ms | p99 ms | max ms | function p50 µs | rest p50 ms | rest p99 ms | errors | Stratus CPU, cores |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for k, r in w.items():
            if "latency_ms" not in r:
                o.append(f"| {r['label']} | failed: {r.get('error')} | | | | | | | | | |")
                continue
            lat, fm, ov = r["latency_ms"], r.get("function_ms") or {}, r.get("overhead_ms") or {}
            o.append(f"| {r['label']} | {f2(r['ops_per_s'], 0)} | {f2(lat['p50'], 3)} | {f2(lat['p90'], 3)} | "
                     f"{f2(lat['p99'], 3)} | {f2(lat['max'], 2)} | {us(fm.get('p50'))} | {f2(ov.get('p50'), 3)} | "
                     f"{f2(ov.get('p99'), 3)} | {r['errors']} | {f2(r.get('server_cpu_cores'))} |")
        c = w.get("c", {})
        if c.get("overhead_ms"):
            o += ["", f"**Platform overhead, warm invoke:** {c['overhead_ms']['p50']:.3f} ms p50 "
                  f"({c['overhead_ms']['p99']:.3f} ms p99) — the C bootstrap's invoke latency through "
                  f"Stratus's API (p50 {c['latency_ms']['p50']:.3f} ms) minus the time it reports spending "
                  f"(p50 {us(c['function_ms']['p50'])} µs), per request. It includes the client's "
                  "signing and the loopback round trips (client → Stratus, and Stratus ↔ the runtime's "
                  "`/next` and `/response`)."]
            if c.get("server_cpu_cores"):
                th = ", ".join(f"`{k}` {v:.2f}" for k, v in (c.get("server_threads_cores") or {}).items())
                o += ["", f"Stratus CPU during that run: {c['server_cpu_cores']:.2f} cores at "
                      f"{c['ops_per_s']:,.0f} invokes/s, i.e. {c['server_cpu_cores'] / c['ops_per_s'] * 1e6:.0f} µs "
                      f"of server CPU per warm invoke; by thread (cores, warm-up included): {th}."]
        o.append("")
    cc = res.get("concurrency")
    if cc:
        o += ["## Invokes/s with concurrent clients (one function)", "",
              f"stratus-loadgen, N keep-alive connections (closed loop), {args.conc_warmup:g} s warm-up "
              f"(environments start) + {args.duration:g} s measured. Stratus starts one environment per "
              "concurrent request (up to 32 per function), so N clients → N processes. *Machine busy* = "
              "share of all cores busy during the run (client, Stratus and functions).", "",
              "| Runtime | clients | invokes/s | p50 ms | p90 ms | p99 ms | max ms | errors | Stratus CPU, cores | machine busy |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in cc:
            if "latency_ms" not in r:
                o.append(f"| {r['label']} | {r['clients']} | failed: {r.get('error')} | | | | | | | |")
                continue
            lat = r["latency_ms"]
            o.append(f"| {r['label']} | {r['clients']} | {f2(r['ops_per_s'], 0)} | {f2(lat['p50'], 3)} | "
                     f"{f2(lat['p90'], 3)} | {f2(lat['p99'], 3)} | {f2(lat['max'], 2)} | {r['errors']} | "
                     f"{f2(r.get('server_cpu_cores'))} | {f2((r.get('machine_busy') or 0) * 100, 0)} % |")
        o.append("")
    im = res.get("in_memory")
    if im:
        o += ["## For comparison: the same on Stratus `--in-memory`", "",
              "The C bootstrap again, on a second Stratus started with `--in-memory` (nothing written to "
              "disk, so no fsync on any path); same client and settings. The difference to the durable "
              "rows is what durability costs on the invoke path.", "",
              "| Runtime | clients | invokes/s | p50 ms | p90 ms | p99 ms | max ms | rest p50 ms | errors | Stratus CPU, cores | machine busy |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in im:
            if "latency_ms" not in r:
                o.append(f"| {r['label']} | {r['clients']} | failed: {r.get('error')} | | | | | | | | |")
                continue
            lat, ov = r["latency_ms"], r.get("overhead_ms") or {}
            o.append(f"| {r['label']} | {r['clients']} | {f2(r['ops_per_s'], 0)} | {f2(lat['p50'], 3)} | "
                     f"{f2(lat['p90'], 3)} | {f2(lat['p99'], 3)} | {f2(lat['max'], 2)} | {f2(ov.get('p50'), 3)} | "
                     f"{r['errors']} | {f2(r.get('server_cpu_cores'))} | {f2((r.get('machine_busy') or 0) * 100, 0)} % |")
        if im[0].get("server_threads_cores"):
            th = ", ".join(f"`{k}` {v:.2f}" for k, v in im[0]["server_threads_cores"].items())
            o += ["", f"Stratus CPU by thread, 1 client (cores, warm-up included): {th}."]
        o.append("")
    sq = res.get("sqs")
    if sq:
        a, b = sq["start_minus_sender_ms"], sq["start_minus_sent_timestamp_ms"]
        o += ["## SQS send → function start", "",
              f"A python3.12 function behind an SQS event source mapping (BatchSize 1, no batching window), "
              f"warmed first; {sq['n_sent']} messages sent one at a time, {sq['gap_ms']:.0f} ms apart "
              f"(after {sq['warmup_msgs']} unmeasured ones). The sender puts `time.time()` in the body just "
              "before signing and sending SendMessage; the handler's first statement takes `time.time()` "
              "(same machine, same clock) and logs both, read back from CloudWatch Logs. "
              f"{sq['n_seen']} of {sq['n_sent']} records seen"
              + (f"; with {sq['n_seen']} samples p99 is the maximum." if sq["n_seen"] < 100 else "."), "",
              "| Measure | n | p50 ms | p90 ms | p99 ms | min ms | max ms |",
              "|---|---:|---:|---:|---:|---:|---:|"]
        for label, s in (("handler start − sender's timestamp", a),
                         ("handler start − SentTimestamp (server, whole ms)", b),
                         ("handler start − SendMessage response received", sq.get("start_minus_ack_ms", {})),
                         ("SendMessage call (sign → response)", sq["send_call_ms"]),
                         ("of which SigV4 signing (botocore)", sq["sign_ms"])):
            if s.get("n"):
                o.append(f"| {label} | {s['n']} | {s['p50']:.2f} | {s['p90']:.2f} | {s['p99']:.2f} | "
                         f"{s['min']:.2f} | {s['max']:.2f} |")
        o.append("")
    if res.get("cpu"):
        o += ["## Noise: CPU use during each phase", "",
              "Cores busy on the whole machine (from /proc/stat), of which this benchmark's processes "
              "(this script, stratus-loadgen, Stratus and its functions) and other processes. Approximate: "
              "the machine total is sampled at timer ticks and per-process times are exact, so a phase "
              "of short bursts can show this benchmark above the machine; what matters is whether "
              "other processes took a noticeable share of the cores.", "",
              "| Phase | wall s | machine busy, cores | this benchmark | other processes |",
              "|---|---:|---:|---:|---:|"]
        for r in res["cpu"]:
            o.append(f"| {r['phase']} | {r['wall_s']} | {r['machine_cores']:.2f} | {r['ours_cores']:.2f} | "
                     f"{r['others_cores']:.2f} |")
        o.append("")
    o += ["moto_server is not measured: it runs Lambda functions only in Docker containers, and this "
          "machine has no Docker.", ""]
    if res.get("notes"):
        o += ["## Notes", ""] + [f"- {n}" for n in res["notes"]] + [""]
    return "\n".join(o)


# --------------------------------------------------------------------------- #


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Lambda benchmark for Stratus (cold start, warm latency, "
                                "concurrency, SQS -> function).")
    p.add_argument("--cold", type=int, default=10, help="new functions per runtime and cold-start column")
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds per warm/concurrency run")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds, sequential runs")
    p.add_argument("--conc-warmup", type=float, default=2.0, help="warm-up seconds, concurrent runs")
    p.add_argument("--concurrency", default="1,4,16", help="client counts for the concurrency table")
    p.add_argument("--sqs-messages", type=int, default=50)
    p.add_argument("--no-in-memory", dest="in_memory", action="store_false",
                   help="skip the comparison runs against Stratus --in-memory")
    p.add_argument("--sqs-gap", type=float, default=0.05, help="seconds between SQS sends")
    p.add_argument("--client", choices=("auto", "loadgen", "python"), default="auto",
                   help="warm-latency client (auto: stratus-loadgen if it has lambda-invoke)")
    p.add_argument("--loadgen", default=None, help="path of a stratus-loadgen with --workload lambda-invoke")
    p.add_argument("--build-loadgen", action="store_true",
                   help="cargo build --release -p stratus-loadgen first (into $CARGO_TARGET_DIR or target/)")
    p.add_argument("--stratus", default=str(ROOT / "target" / "release" / "stratus"))
    p.add_argument("--quick", action="store_true", help="smaller run (cold 3, 2 s runs, 20 SQS messages)")
    p.add_argument("--out", default=str(RESULTS / "lambda-latest.md"))
    p.add_argument("--budget", type=float, default=360.0, help="hard limit on the whole run, seconds")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                   help="first wait up to SECONDS for a 2 s window in which other processes use less "
                        "than --quiet-cores (default: do not wait)")
    p.add_argument("--quiet-cores", type=float, default=0.25)
    a = p.parse_args(argv)
    if a.quick:
        a.cold, a.duration, a.warmup, a.conc_warmup, a.sqs_messages = 3, 2.0, 0.5, 1.0, 20
    a.concurrency = [int(x) for x in a.concurrency.split(",") if x]
    if not 0 <= a.wait_quiet <= 3600:
        p.error("--wait-quiet must be in [0, 3600]")
    if not (1 <= a.cold <= 50 and 0 < a.duration <= 60 and 0 <= a.warmup <= 30 and 1 <= a.sqs_messages <= 1000
            and all(1 <= c <= 32 for c in a.concurrency) and 0 <= a.sqs_gap <= 2):
        p.error("out of range: --cold 1..50, --duration (0,60], --sqs-messages 1..1000, --concurrency 1..32")
    return a


class Budget(Exception):
    pass


def start_stratus(stratus: Path, extra: list[str], log_path: Path, env) -> tuple:
    """Starts Stratus on a free loopback port; returns (process, port, server pid) once
    /_stratus/health answers."""
    port = common.free_port()
    cmd = [str(stratus), "serve", "--host", "127.0.0.1", "--port", str(port), *extra]
    proc = common.spawn(cmd, log_path, env)
    for _ in range(2500):  # up to ~10 s
        if proc.poll() is not None:
            break
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/_stratus/health")
            ok = c.getresponse().status == 200
            c.close()
            if ok:
                return proc, port, common.real_pid(proc.pid)
        except OSError:
            pass
        time.sleep(0.004)
    common.stop(proc)
    raise RuntimeError(f"Stratus did not become ready; see {log_path}")


def wait_quiet(max_wait: float, cores: float) -> float | None:
    """Waits (bounded) for a 2 s window in which the machine is almost idle; returns the busy
    cores of the last window."""
    end = time.monotonic() + max_wait
    last = None
    while True:
        b0 = cpu_busy()[0]
        time.sleep(2.0)
        last = (cpu_busy()[0] - b0) / common.CLK_TCK / 2.0
        if last < cores or time.monotonic() >= end:
            return last
        log(f"  machine busy with {last:.2f} cores of other work; waiting (until {max_wait:g} s)")


def main(argv=None) -> int:
    args = parse_args(argv)
    stratus = Path(args.stratus)
    if not stratus.exists():
        log(f"missing {stratus}: build it with cargo build --release -p stratus")
        return 2
    if args.build_loadgen:
        log("cargo build --release -p stratus-loadgen")
        if subprocess.run(["cargo", "build", "--release", "-p", "stratus-loadgen"], cwd=ROOT).returncode != 0:
            return 2
    loadgen = None if args.client == "python" else find_loadgen(args.loadgen)
    if args.client == "loadgen" and loadgen is None:
        log("no stratus-loadgen with --workload lambda-invoke found (try --build-loadgen)")
        return 2
    if loadgen is None and args.client == "auto":
        log("no stratus-loadgen with lambda-invoke found: warm latency with the Python client, no "
            "concurrency table (bench/lambda_bench.py --build-loadgen builds it)")

    logs = common.fresh_logs("lambda-logs")
    tmp = Path(tempfile.mkdtemp(prefix="stratus-lambda-bench-"))
    env = dict(os.environ, STRATUS_LOG_LEVEL="warn", RUST_LOG="warn")
    meta = common.meta_info(stratus)
    meta["stratus_built"] = time.strftime("%Y-%m-%d %H:%M", time.localtime(stratus.stat().st_mtime))
    meta.pop("moto_version", None)

    def version_of(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError):
            return "?"

    meta["fn_python"] = version_of(["python3", "-c", "import sys; print(sys.version.split()[0])"])
    meta["fn_node"] = version_of(["node", "--version"])
    meta["gcc"] = version_of(["gcc", "--version"])
    if args.wait_quiet > 0:
        meta["busy_before_start_cores"] = round(wait_quiet(args.wait_quiet, args.quiet_cores), 2)
    meta["load_start"] = loadavg()
    res = {"meta": meta, "notes": [], "warm_client": (f"stratus-loadgen ({loadgen})" if loadgen else
                                                      "Python http.client + botocore SigV4Auth")}

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
    acct = CpuAccount()
    res["cpu"] = acct.phases

    def noise(name: str) -> None:
        row = acct.phase(name)
        log(f"  [{name}: machine {row['machine_cores']:.2f} cores busy, this benchmark {row['ours_cores']:.2f}, "
            f"other processes {row['others_cores']:.2f}; load average {loadavg()}]")

    deadline = time.monotonic() + args.budget - 30
    proc = None
    mem_work = None
    rc = 0
    try:
        packages = {
            "c": zip_of({"bootstrap": build_c_bootstrap(tmp)}, {"bootstrap": 0o755}),
            "bash": zip_of({"bootstrap": BASH_BOOTSTRAP}, {"bootstrap": 0o755}),
            "python": zip_of({"app.py": PY_HANDLER}),
            "node": zip_of({"index.js": NODE_HANDLER}),
        }
        data = tmp / "data"
        proc, port, server_pid = start_stratus(stratus, ["--data-dir", str(data)], logs / "stratus.log", env)
        log(f"Stratus on 127.0.0.1:{port} (pid {server_pid}), data in {data}")
        acct.server_pid = server_pid
        acct.reset()
        cli = Signed(port)
        tag = str(int(time.time()) % 100000)

        log(f"cold starts: {args.cold} + {args.cold} new functions per runtime")
        res["cold"] = cold_starts(cli, packages, args.cold, tag, deadline)
        noise("cold starts")

        # Long-lived functions for the warm and concurrency runs.
        warm_names = {}
        for key, label, runtime, handler in RUNTIMES:
            name = f"warm-{tag}-{key}"
            cli.create_function(name, runtime, handler, packages[key])
            invoke_ok(*cli.invoke(name), f"first invoke of {name}")
            warm_names[key] = name

        log("warm invoke latency, sequential")
        res["warm"] = {}
        for key, label, _, _ in RUNTIMES:
            if time.monotonic() > deadline:
                res["notes"].append("time budget used up before all warm runs")
                break
            if loadgen:
                r = run_loadgen(loadgen, port, warm_names[key], 1, args.duration, args.warmup, server_pid, logs)
            else:
                r = py_invoke_loop(cli, warm_names[key], args.duration, args.warmup)
            r["label"] = label
            res["warm"][key] = r
            if "latency_ms" in r:
                ov = r.get("overhead_ms") or {}
                log(f"  {label:<40} {r['ops_per_s']:8.0f}/s  p50 {r['latency_ms']['p50']:.3f} ms  "
                    f"p99 {r['latency_ms']['p99']:.3f} ms  rest p50 {ov.get('p50', float('nan')):.3f} ms  "
                    f"errors {r['errors']}")
            else:
                log(f"  {label}: {r.get('error')}")

        noise("warm, sequential")
        if loadgen:
            log("invokes/s with concurrent clients")
            res["concurrency"] = []
            for key in ("c", "python"):
                label = next(lb for k, lb, _, _ in RUNTIMES if k == key)
                for n in args.concurrency:
                    if time.monotonic() > deadline:
                        res["notes"].append("time budget used up before all concurrency runs")
                        break
                    r = run_loadgen(loadgen, port, warm_names[key], n, args.duration, args.conc_warmup,
                                    server_pid, logs)
                    r.update(label=label, clients=n)
                    res["concurrency"].append(r)
                    if "latency_ms" in r:
                        log(f"  {label:<40} x{n:<3} {r['ops_per_s']:8.0f}/s  p50 {r['latency_ms']['p50']:.3f} ms  "
                            f"p99 {r['latency_ms']['p99']:.3f} ms  errors {r['errors']}")
                    else:
                        log(f"  {label} x{n}: {r.get('error')}")
            noise("concurrency")
        for name in warm_names.values():
            cli.delete_function(name)
        time.sleep(0.2)

        log(f"SQS -> function: {args.sqs_messages} messages, {args.sqs_gap * 1000:.0f} ms apart")
        res["sqs"] = sqs_to_function(cli, port, tag, args.sqs_messages, 5, args.sqs_gap, logs)
        s = res["sqs"]["start_minus_sender_ms"]
        if s.get("n"):
            log(f"  handler start - send: p50 {s['p50']:.2f} ms, p99 {s['p99']:.2f} ms "
                f"({res['sqs']['n_seen']}/{args.sqs_messages} seen)")
        noise("SQS -> function")
        if proc.poll() is not None:
            res["notes"].append(f"Stratus exited with {proc.returncode} during the run")
        cli.close()
        common.stop(proc)
        proc = None

        if loadgen and args.in_memory:
            log("for comparison: the C bootstrap on Stratus --in-memory")
            proc, port, server_pid = start_stratus(stratus, ["--in-memory"], logs / "stratus-in-memory.log", env)
            # In memory mode Stratus keeps function code in $TMPDIR/stratus-functions-<pid>; removed below.
            mem_work = Path(tempfile.gettempdir()) / f"stratus-functions-{server_pid}"
            acct.server_pid = server_pid
            acct.reset()
            cli = Signed(port)
            name = f"mem-{tag}-c"
            cli.create_function(name, "provided.al2023", "unused", packages["c"])
            invoke_ok(*cli.invoke(name), f"first invoke of {name}")
            res["in_memory"] = []
            for n in args.concurrency:
                if time.monotonic() > deadline:
                    res["notes"].append("time budget used up before all in-memory runs")
                    break
                r = run_loadgen(loadgen, port, name, n, args.duration, args.warmup if n == 1 else args.conc_warmup,
                                server_pid, logs)
                r.update(label="provided.al2023, C bootstrap (Stratus --in-memory)", clients=n)
                res["in_memory"].append(r)
                if "latency_ms" in r:
                    log(f"  in-memory C x{n:<3} {r['ops_per_s']:8.0f}/s  p50 {r['latency_ms']['p50']:.3f} ms  "
                        f"p99 {r['latency_ms']['p99']:.3f} ms  errors {r['errors']}")
            noise("in-memory comparison")
            cli.close()
    except Budget as e:
        res["notes"].append(str(e))
        log(str(e))
        rc = 1
    except (RuntimeError, OSError, http.client.HTTPException) as e:
        res["notes"].append(f"aborted: {e}")
        log(f"aborted: {e}")
        rc = 1
    finally:
        signal.alarm(0)
        if proc is not None:
            common.stop(proc)
        if mem_work is not None:
            shutil.rmtree(mem_work, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    meta["load_end"] = loadavg()
    meta["total_s"] = round(time.perf_counter() - t_all, 1)
    md = render(res, args)
    out, raw = common.write_report(md, res, args.out)
    log(f"done in {meta['total_s']} s; wrote {out} and {raw}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
