#!/usr/bin/env python3
"""Stratus benchmark harness: one command, one markdown table.

Builds `stratus` and `stratus-loadgen` (release), starts durable Stratus (fresh
temp data dir), in-memory Stratus and moto_server on free loopback ports, runs
send / send-batch / receive-delete with both clients (stratus-loadgen and
boto3) against each server, measures start-up time (spawn -> first answered
ListQueues, median of N starts), idle RSS and peak RSS under load, and writes
the results to stdout and bench/results/latest.md (+ latest.json).

Every load run is bounded in time and request count and targets 127.0.0.1
only. Only processes started here are stopped, by PID.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
WORKLOADS = ("send", "send-batch", "receive-delete")
CLK_TCK = os.sysconf("SC_CLK_TCK")
CLIENT_LABELS = {"loadgen": "stratus-loadgen", "boto3": "boto3", "sdk": "AWS SDK for Rust"}

STARTED: list[subprocess.Popen] = []


def log(msg: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------- #
# processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL, one process we started (by its PID)."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
        except ProcessLookupError:
            pass
    if proc in STARTED:
        STARTED.remove(proc)


def stop_all() -> None:
    for p in list(STARTED):
        stop(p)


def spawn(cmd: list[str], log_path: Path | None, env=None) -> subprocess.Popen:
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    try:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env, cwd=ROOT)
    finally:
        if log_path:
            out.close()
    STARTED.append(p)
    return p


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM in KiB."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is state (field 3); utime/stime are fields 14/15
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


class CpuSampler(threading.Thread):
    """Samples a process's CPU seconds every 50 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while True:
            self.samples.append((time.perf_counter(), cpu_seconds(self.pid)))
            if self.done.wait(0.05):
                break

    def stop(self) -> None:
        self.done.set()
        self.join()
        self.samples.append((time.perf_counter(), cpu_seconds(self.pid)))

    def _at(self, t: float) -> float:
        s = self.samples
        for (t0, c0), (t1, c1) in zip(s, s[1:]):
            if t0 <= t <= t1:
                return c0 + (c1 - c0) * ((t - t0) / (t1 - t0) if t1 > t0 else 0.0)
        return s[0][1] if t < s[0][0] else s[-1][1]

    def cores_between(self, start: float, end: float) -> float | None:
        if len(self.samples) < 2 or end - start < 0.2:
            return None
        return round((self._at(end) - self._at(start)) / (end - start), 2)


def real_pid(pid: int) -> int:
    """Follow wrapper processes (pyenv shims, sh) down to the one real server."""
    for _ in range(5):
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return pid
        if name in ("bash", "sh", "dash", "pyenv") and len(children) == 1:
            pid = int(children[0])
        else:
            return pid
    return pid


# --------------------------------------------------------------------------- #
# SQS probe (ListQueues, SigV4-signed like any SDK call)


def signed_list_queues(port: int) -> tuple[bytes, dict[str, str]]:
    body = b"{}"
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "AmazonSQS.ListQueues",
    }
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        req = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=body, headers=headers)
        SigV4Auth(Credentials("test", "test"), "sqs", "us-east-1").add_auth(req)
        return body, dict(req.headers.items())
    except ImportError:  # no botocore: a syntactically valid, unverified header
        now = dt.datetime.now(dt.timezone.utc)
        headers["X-Amz-Date"] = now.strftime("%Y%m%dT%H%M%SZ")
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential=test/{now:%Y%m%d}/us-east-1/sqs/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64
        )
        return body, headers


def probe(port: int, body: bytes, headers: dict[str, str], timeout: float = 2.0) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/", body=body, headers=headers)
        r = conn.getresponse()
        r.read()
        return r.status == 200
    except OSError:
        return False
    finally:
        conn.close()


def wait_ready(proc: subprocess.Popen, port: int, timeout: float) -> float | None:
    """Seconds from now until ListQueues answers 200; None if it never does."""
    body, headers = signed_list_queues(port)
    t0 = time.perf_counter()
    deadline = t0 + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            return None
        if probe(port, body, headers):
            return time.perf_counter() - t0
        time.sleep(0.002)
    return None


# --------------------------------------------------------------------------- #
# servers


class Server:
    def __init__(self, key: str, label: str, cmd_fn, tmp: Path, is_moto: bool = False):
        self.key, self.label, self.cmd_fn, self.tmp, self.is_moto = key, label, cmd_fn, tmp, is_moto
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.data_dir: Path | None = None

    def command(self, port: int, data_dir: Path) -> list[str]:
        return self.cmd_fn(port, data_dir)

    def start(self, log_path: Path, timeout: float, env=None) -> float:
        self.port = free_port()
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"{self.key}-data-", dir=self.tmp))
        body, headers = signed_list_queues(self.port)
        t0 = time.perf_counter()
        self.proc = spawn(self.command(self.port, self.data_dir), log_path, env)
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.proc.returncode}; see {log_path}")
            if probe(self.port, body, headers):
                return time.perf_counter() - t0
            time.sleep(0.002)
        stop(self.proc)
        raise RuntimeError(f"{self.label} did not answer ListQueues within {timeout}s; see {log_path}")

    @property
    def pid(self) -> int:
        return real_pid(self.proc.pid) if self.proc else 0

    def stop(self) -> None:
        if self.proc:
            stop(self.proc)
            self.proc = None


def fresh_logs(name: str) -> Path:
    """An empty `bench/results/{name}` for a run's server and client output."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    logs = RESULTS / name
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir()
    return logs


def write_report(md: str, results: dict, out: str | Path) -> tuple[Path, Path]:
    """Writes the markdown report to `out` and the raw results beside it (`.json`), prints the
    markdown, and returns both paths."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md)
    raw = out.with_suffix(".json")
    raw.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(md)
    return out, raw


def peer_servers(stratus: Path, moto: str | None, tmp: Path) -> dict:
    """Durable Stratus (a fresh temp data directory per start) and moto_server, as the push,
    deep-queue and deploy benchmarks run them."""
    return {
        "stratus": Server("stratus", "Stratus (durable, fsync)",
                          lambda port, d: [str(stratus), "serve", "--host", "127.0.0.1", "--port",
                                           str(port), "--data-dir", str(d)], tmp),
        "moto": Server("moto", "moto_server", lambda port, d: [moto, "-H", "127.0.0.1", "-p", str(port)],
                       tmp, is_moto=True),
    }


def measure_startup(server: Server, n: int, logs: Path, env) -> list[float]:
    times = []
    for i in range(n):
        try:
            t = server.start(logs / f"startup-{server.key}.log", timeout=60, env=env)
            times.append(t)
        finally:
            server.stop()
            if server.data_dir:
                shutil.rmtree(server.data_dir, ignore_errors=True)
    return times


# --------------------------------------------------------------------------- #
# load runs


def run_client(client: str, loadgen: Path, server: Server, workload: str, conns: int, args,
               queue: str, prefill: int, prefill_secs: float, logs: Path) -> dict:
    endpoint = f"http://127.0.0.1:{server.port}"
    common = ["--endpoint", endpoint, "--workload", workload, "--duration", str(args.duration),
              "--warmup", str(args.warmup), "--queue", queue, "--body-size", str(args.body_size),
              "--prefill", str(prefill), "--prefill-secs", str(prefill_secs),
              "--max-requests", str(args.max_requests), "--json"]
    if client == "loadgen":
        cmd = [str(loadgen), "--connections", str(conns)] + common
    elif client == "sdk":
        cmd = [str(args.sdk_client), "--connections", str(conns)] + common
    else:
        cmd = [sys.executable, str(BENCH / "sqs_boto3.py"), "--threads", str(conns)] + common
    limit = args.warmup + args.duration + prefill_secs + 90
    return run_json_client(cmd, server.pid, limit, logs / "clients.log")


def run_json_client(cmd: list[str], server_pid: int, limit: float, log_path: Path) -> dict:
    """Runs a client that prints one JSON report line (bounded by `limit` seconds), appends its
    output to `log_path`, and adds the server's CPU (cores) during the client's measured window
    (its last `duration_s` seconds before it exited). An `error` key says what went wrong."""
    sampler = CpuSampler(server_pid)
    sampler.start()
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, cwd=ROOT,
                            stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"error": f"{Path(cmd[0]).name} timed out after {limit:.0f}s"}
    finally:
        end = time.perf_counter()
        sampler.stop()
    with open(log_path, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n{cp.stdout}{cp.stderr}\n")
    line = next((ln for ln in reversed(cp.stdout.splitlines()) if ln.startswith("{")), None)
    if line is None:
        return {"error": (cp.stderr.strip().splitlines() or [f"exit {cp.returncode}"])[-1][:200]}
    res = json.loads(line)
    res["server_cpu_cores"] = sampler.cores_between(end - float(res.get("duration_s") or 0), end)
    res["exit_code"] = cp.returncode
    return res


def run_server(server: Server, args, loadgen: Path, logs: Path, env, results: dict) -> None:
    log(f"starting {server.label}")
    entry = results["servers"].setdefault(server.key, {"label": server.label})
    try:
        entry["ready_s"] = server.start(logs / f"{server.key}.log", timeout=60, env=env)
    except RuntimeError as e:
        log(f"  {e}")
        entry["error"] = str(e)
        return
    try:
        time.sleep(1.0)
        entry["idle_rss_kib"] = proc_status(server.pid).get("VmRSS")
        conns = {"loadgen": args.moto_connections if server.is_moto else args.connections,
                 "sdk": args.moto_connections if server.is_moto else args.connections,
                 "boto3": args.boto3_threads}
        for client in args.clients:
            batch_rate = None
            for workload in WORKLOADS:
                queue = f"bench-{client}-{workload}-{int(time.time() * 1000) % 10**9}"
                prefill, prefill_secs = 0, 0.0
                if workload == "receive-delete":
                    # enough messages for the measured window at the send-batch
                    # rate just measured (consumption is rarely faster), bounded
                    window = args.warmup + args.duration
                    rate = batch_rate or 1000.0
                    prefill = int(min(args.max_prefill, rate * window * 1.2 + 500))
                    prefill_secs = round(window * 1.5 + 5, 1)
                log(f"  {server.key:<15} {client:<7} {workload:<14} x{conns[client]}"
                    + (f" (pre-fill {prefill})" if prefill else ""))
                res = run_client(client, loadgen, server, workload, conns[client], args, queue,
                                 prefill, prefill_secs, logs)
                res.update(server=server.key, client=client, workload=workload)
                if workload == "send-batch" and res.get("msgs_per_s"):
                    batch_rate = res["msgs_per_s"]
                results["runs"].append(res)
                if "error" in res and "ops_per_s" not in res:
                    log(f"    failed: {res['error']}")
                else:
                    log(f"    {res['ops_per_s']:.0f} ops/s, {res['msgs_per_s']:.0f} msg/s, "
                        f"p50 {res['latency_ms']['p50']} ms, p99 {res['latency_ms']['p99']} ms, "
                        f"errors {res['errors']}")
            st = proc_status(server.pid)
            entry[f"hwm_after_{client}_kib"] = st.get("VmHWM")
        st = proc_status(server.pid)
        entry["rss_end_kib"] = st.get("VmRSS")
        entry["hwm_kib"] = st.get("VmHWM")
        if server.data_dir and server.key == "stratus-durable":
            entry["data_dir_bytes"] = sum(f.stat().st_size for f in server.data_dir.rglob("*") if f.is_file())
        if server.proc and server.proc.poll() is not None:
            entry["error"] = f"server exited with {server.proc.returncode} during the run"
    finally:
        server.stop()
        if server.data_dir:
            shutil.rmtree(server.data_dir, ignore_errors=True)


def median_runs(runs: list[dict]) -> list[dict]:
    """One run per (server, client, workload): the one with the median messages/s, with the
    range over all rounds in `msgs_per_s_range` (the machine's noise, seen in the report)."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["server"], r["client"], r["workload"]), []).append(r)
    out = []
    for rs in groups.values():
        good = sorted((r for r in rs if "msgs_per_s" in r), key=lambda r: r["msgs_per_s"])
        if not good:
            out.append(rs[0])
            continue
        pick = dict(good[(len(good) - 1) // 2])
        pick["rounds"] = len(good)
        pick["msgs_per_s_range"] = [good[0]["msgs_per_s"], good[-1]["msgs_per_s"]]
        out.append(pick)
    return out


# --------------------------------------------------------------------------- #
# report


def mib(kib) -> str:
    return "–" if kib is None else f"{kib / 1024:.1f} MiB"


def fnum(x, digits=0) -> str:
    if x is None:
        return "–"
    return f"{x:,.{digits}f}"


def startup_cell(times: list[float] | None) -> str:
    if not times:
        return "–"
    ms = sorted(t * 1000 for t in times)
    return f"{statistics.median(ms):.1f} ms ({ms[0]:.1f}–{ms[-1]:.1f}, n={len(ms)})"


def render(results: dict, args) -> str:
    meta = results["meta"]
    out = [f"# Stratus benchmark results ({meta['date']})", ""]
    out += [
        f"- Machine: {meta['cpu']} ({meta['cores']} cores), {meta['mem_gib']} GiB RAM, Linux {meta['kernel']}",
        f"- Stratus {meta.get('stratus_version') or '?'} (commit {meta.get('commit') or 'uncommitted'}), "
        f"moto {meta.get('moto_version') or '?'}, boto3 {meta.get('boto3_version') or '?'}, "
        f"Python {meta['python']}",
        f"- Each run: {args.warmup:g} s warm-up + {args.duration:g} s measured, {args.body_size} B bodies, "
        f"fresh queue per run. Clients and server share the same {meta['cores']} cores (loopback).",
        f"- Connections: stratus-loadgen {args.connections} (moto_server: {args.moto_connections}), "
        f"boto3 {args.boto3_threads} threads in one process.",
        "",
        "## Start-up and memory",
        "",
        "| Server | Start-up: spawn → first ListQueues answered, median (min–max) | Idle RSS | Peak RSS under stratus-loadgen load | Peak RSS, whole run |",
        "|---|---|---|---|---|",
    ]
    for key, s in results["servers"].items():
        out.append(f"| {s['label']} | {startup_cell(s.get('startup_s'))} | {mib(s.get('idle_rss_kib'))} | "
                   f"{mib(s.get('hwm_after_loadgen_kib'))} | {mib(s.get('hwm_kib'))} |")
    out += ["", "## Throughput and latency", "",
            "| Server | Client | Workload | Conns | ops/s | messages/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU, cores |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    labels = {k: s["label"] for k, s in results["servers"].items()}
    for r in results["runs"]:
        label = labels.get(r["server"], r["server"])
        client = CLIENT_LABELS.get(r["client"], r["client"])
        if "ops_per_s" not in r:
            out.append(f"| {label} | {client} | {r['workload']} | – | failed: {r.get('error', '?')} | | | | | | | |")
            continue
        lat = r["latency_ms"]
        note = f" ({r['prefilled']:,} queued)" if r.get("prefilled") else ""
        if r.get("msgs_per_s_range"):
            lo, hi = r["msgs_per_s_range"]
            note += f" (median of {r['rounds']}: {fnum(lo)}–{fnum(hi)} msg/s)"
        note += " (drained)" if r.get("drained") else ""
        out.append(
            f"| {label} | {client} | {r['workload']}{note} | {r['connections']} | {fnum(r['ops_per_s'])} | "
            f"{fnum(r['msgs_per_s'])} | {lat['p50']:.2f} | {lat['p90']:.2f} | {lat['p99']:.2f} | "
            f"{lat['max']:.2f} | {r['errors']} | {fnum(r.get('server_cpu_cores'), 2)} |")

    # Stratus / moto ratios (messages/s), same client, same workload
    by = {(r["server"], r["client"], r["workload"]): r for r in results["runs"] if r.get("msgs_per_s")}
    ratio_rows = []
    for peer in ("moto", "fakecloud"):
        for skey in ("stratus-durable", "stratus-mem"):
            for client in args.clients:
                for w in WORKLOADS:
                    a, b = by.get((skey, client, w)), by.get((peer, client, w))
                    if a and b and b["msgs_per_s"] > 0:
                        ratio_rows.append(
                            f"| {labels.get(skey, skey)} | {labels.get(peer, peer)} | "
                            f"{CLIENT_LABELS.get(client, client)} | {w} | "
                            f"{a['msgs_per_s'] / b['msgs_per_s']:.2f}× | "
                            f"{(b['latency_ms']['p50'] / a['latency_ms']['p50']) if a['latency_ms']['p50'] else 0:.2f}× |")
    if ratio_rows:
        out += ["", "## Stratus relative to its peers", "",
                "| Server | Peer | Client | Workload | messages/s ratio | p50 latency ratio (peer / Stratus) |",
                "|---|---|---|---|---:|---:|"] + ratio_rows
    notes = []
    for key, s in results["servers"].items():
        if s.get("error"):
            notes.append(f"- {s['label']}: {s['error']}")
        if s.get("data_dir_bytes") is not None:
            notes.append(f"- {s['label']}: data directory held {s['data_dir_bytes'] / 2**20:.1f} MiB after all runs.")
    for r in results["runs"]:
        if r.get("first_error"):
            notes.append(f"- {labels.get(r['server'], r['server'])} / {r['client']} / {r['workload']}: "
                         f"first error: `{str(r['first_error'])[:160]}`")
    if any(r.get("drained") for r in results["runs"]):
        notes.append("- (drained): the pre-filled queue ran empty before the measured window ended; "
                     "the figures cover the time until it did.")
    if notes:
        out += ["", "## Notes", ""] + notes
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- #


def meta_info(stratus: Path | None) -> dict:
    def cmd_out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=ROOT).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = int(line.split()[1])
    except OSError:
        pass
    versions = {}
    try:
        import boto3
        versions["boto3_version"] = boto3.__version__
    except ImportError:
        pass
    try:
        from importlib.metadata import version
        versions["moto_version"] = version("moto")
    except Exception:  # noqa: BLE001
        pass
    return {
        "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem_gib": round(mem / 2**20),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": cmd_out(["git", "rev-parse", "--short", "HEAD"]) or None,
        "stratus_version": (cmd_out([str(stratus), "--version"]) if stratus and stratus.exists() else None),
        **versions,
    }


def find_moto() -> str | None:
    path = shutil.which("moto_server")
    if path and "/shims/" in path and shutil.which("pyenv"):
        # run the real script, not the pyenv shim (which adds ~100 ms per start)
        real = subprocess.run(["pyenv", "which", "moto_server"], capture_output=True, text=True).stdout.strip()
        if real:
            return real
    return path


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Run the Stratus vs moto_server benchmark.")
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds per run (default 5)")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per run (default 1)")
    p.add_argument("--connections", type=int, default=32, help="stratus-loadgen connections vs Stratus")
    p.add_argument("--moto-connections", type=int, default=4,
                   help="stratus-loadgen connections vs moto_server (it is single-process and slow)")
    p.add_argument("--boto3-threads", type=int, default=4, help="boto3 client threads")
    p.add_argument("--body-size", type=int, default=256)
    p.add_argument("--max-requests", type=int, default=5_000_000, help="cap per client run")
    p.add_argument("--max-prefill", type=int, default=400_000, help="cap on receive-delete pre-fill")
    p.add_argument("--starts", type=int, default=10, help="start-ups measured per server")
    p.add_argument("--rounds", type=int, default=1,
                   help="run every server this many times, alternating, and report the median run")
    p.add_argument("--servers", default="stratus-durable,stratus-mem,moto",
                   help="comma list of stratus-durable, stratus-mem, moto, fakecloud (needs --fakecloud)")
    p.add_argument("--fakecloud", default=None,
                   help="path of a fakecloud binary (an in-memory AWS emulator) to run as a peer")
    p.add_argument("--clients", default="loadgen,boto3",
                   help="comma list of loadgen, boto3, sdk (the AWS SDK for Rust client in bench/sdk-client)")
    p.add_argument("--sdk-client", default=None,
                   help="path of stratus-sdk-client (default: built from bench/sdk-client into "
                        "TARGET/sdk-client unless --no-build)")
    p.add_argument("--no-build", action="store_true", help="use existing release binaries")
    p.add_argument("--target-dir", default=os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target")))
    p.add_argument("--loadgen", default=None, help="path of stratus-loadgen (default: target dir)")
    p.add_argument("--stratus", default=None, help="path of stratus (default: target dir)")
    p.add_argument("--out", default=str(RESULTS / "latest.md"))
    a = p.parse_args(argv)
    a.servers = [s for s in a.servers.split(",") if s]
    a.clients = [c for c in a.clients.split(",") if c]
    bad = set(a.servers) - {"stratus-durable", "stratus-mem", "moto", "fakecloud"} | set(a.clients) - {"loadgen", "boto3", "sdk"}
    if bad:
        p.error(f"unknown server/client: {sorted(bad)}")
    if "fakecloud" in a.servers and not a.fakecloud:
        p.error("--servers fakecloud needs --fakecloud PATH")
    if not 0 < a.duration <= 600 or not 0 <= a.warmup <= 60:
        p.error("--duration must be in (0, 600], --warmup in [0, 60]")
    return a


def main(argv=None) -> int:
    args = parse_args(argv)
    target = Path(args.target_dir)
    stratus = Path(args.stratus) if args.stratus else target / "release" / "stratus"
    loadgen = Path(args.loadgen) if args.loadgen else target / "release" / "stratus-loadgen"
    want_stratus = any(s.startswith("stratus") for s in args.servers)

    if not args.no_build:
        pkgs = (["-p", "stratus"] if want_stratus and not args.stratus else []) + \
               (["-p", "stratus-loadgen"] if "loadgen" in args.clients and not args.loadgen else [])
        if pkgs:
            log(f"cargo build --release {' '.join(pkgs)}")
            env = dict(os.environ, CARGO_TARGET_DIR=str(target))
            if subprocess.run(["cargo", "build", "--release", *pkgs], cwd=ROOT, env=env).returncode != 0:
                log("build failed")
                return 2
    if "sdk" in args.clients and not args.sdk_client:
        args.sdk_client = str(target / "sdk-client" / "release" / "stratus-sdk-client")
        if not args.no_build:
            log("cargo build --release (bench/sdk-client)")
            env = dict(os.environ, CARGO_TARGET_DIR=str(target / "sdk-client"))
            manifest = BENCH / "sdk-client" / "Cargo.toml"
            if subprocess.run(["cargo", "build", "--release", "--manifest-path", str(manifest)],
                              cwd=ROOT, env=env).returncode != 0:
                log("build failed")
                return 2
    if "sdk" in args.clients and not Path(args.sdk_client).exists():
        log(f"missing {args.sdk_client}")
        return 2
    if want_stratus and not stratus.exists():
        log(f"missing {stratus} (build it, or pass --servers moto)")
        return 2
    if "loadgen" in args.clients and not loadgen.exists():
        log(f"missing {loadgen}")
        return 2
    moto = find_moto()
    if "moto" in args.servers and not moto:
        log("moto_server not found (pip install 'moto[server]'), or pass --servers without moto")
        return 2

    logs = fresh_logs("logs")
    tmp = Path(tempfile.mkdtemp(prefix="stratus-bench-"))
    env = dict(os.environ)
    # request logging would be measured too
    env.setdefault("STRATUS_LOG_LEVEL", "warn")
    env.setdefault("RUST_LOG", "warn")

    servers = {
        "stratus-durable": Server("stratus-durable", "Stratus (durable, fsync)",
                                  lambda port, d: [str(stratus), "serve", "--host", "127.0.0.1", "--port",
                                                   str(port), "--data-dir", str(d)], tmp),
        "stratus-mem": Server("stratus-mem", "Stratus (--in-memory)",
                              lambda port, d: [str(stratus), "serve", "--host", "127.0.0.1", "--port",
                                               str(port), "--in-memory"], tmp),
        "moto": Server("moto", "moto_server",
                       lambda port, d: [moto, "-H", "127.0.0.1", "-p", str(port)], tmp, is_moto=True),
        "fakecloud": Server("fakecloud", "fakecloud (in memory)",
                            lambda port, d: [str(args.fakecloud), "--addr", f"127.0.0.1:{port}",
                                                     "--log-level", "warn"], tmp),
    }
    results = {"meta": meta_info(stratus if want_stratus else None), "servers": {}, "runs": [],
               "args": {k: v for k, v in vars(args).items()}}

    def on_signal(signum, _frame):
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t_all = time.perf_counter()
    try:
        for key in args.servers:
            s = servers[key]
            entry = results["servers"].setdefault(key, {"label": s.label})
            if args.starts > 0:
                log(f"measuring start-up of {s.label} x{args.starts}")
                try:
                    entry["startup_s"] = measure_startup(s, args.starts, logs, env)
                    log(f"  median {statistics.median(entry['startup_s']) * 1000:.1f} ms")
                except RuntimeError as e:
                    log(f"  {e}")
                    entry["error"] = str(e)
        for rnd in range(1, args.rounds + 1):
            if args.rounds > 1:
                log(f"round {rnd} of {args.rounds}")
            for key in args.servers:
                run_server(servers[key], args, loadgen, logs, env, results)
        if args.rounds > 1:
            results["all_runs"] = results["runs"]
            results["runs"] = median_runs(results["all_runs"])
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    results["meta"]["total_s"] = round(time.perf_counter() - t_all, 1)

    md = render(results, args)
    out, raw = write_report(md, results, args.out)
    log(f"done in {results['meta']['total_s']} s; wrote {out} and {raw}")
    ok = any("ops_per_s" in r for r in results["runs"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
