#!/usr/bin/env python3
"""Lambda deployment benchmark: how long CreateFunction takes with a package just under AWS's 50 MB
direct-upload limit and with a 1 MB one, through the aws CLI and through boto3, on durable Stratus
and on moto_server.

One command (about 1-3 minutes; needs target/release/stratus, the aws CLI, Python with boto3,
moto_server):

    bench/deploy_bench.py                      # options: --runs 5, --servers stratus, --budget 300

Starts durable Stratus (fresh temp --data-dir, STRATUS_LOG_LEVEL=warn), then moto_server, each on a
free 127.0.0.1 port, one after the other, and per server and package size times N runs (a new
function name and a new package each run, so that no run reuses stored code):

- `aws lambda create-function --zip-file fileb://X`: wall time of the whole CLI process (Python
  start-up, reading and base64-encoding the zip, signing, the request, the answer);
- boto3 `create_function(Code={"ZipFile": bytes})` in this process (one client per server, made
  beforehand): the call alone, no interpreter start-up; after it, the time until GetFunction
  reports State Active (polled every 20 ms).

For reference, `aws lambda list-functions` N times gives the CLI's own start-up cost. Packages are
zips of random (incompressible) bytes stored uncompressed plus a tiny Python handler; each function
is deleted after its run (untimed). moto_server checks that the execution role exists in its IAM,
so one is created there first (Stratus accepts any role ARN); it stores functions without running
them, which does not matter for CreateFunction.

Markdown goes to stdout and bench/results/deploy-latest.md (raw figures in deploy-latest.json,
server output in results/deploy-logs/). Everything targets 127.0.0.1, every step is bounded in time
and count (--budget), and only the processes started here are stopped, by PID.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
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

import deep_queue_bench as dq  # noqa: E402  (binary build time / dirty tree for the header)
import lambda_bench as lb  # noqa: E402  (stats, load average)
import run as common  # noqa: E402  (process helpers: spawn, free ports, readiness, stop by PID)

log = common.log
REGION = "us-east-1"
SERVER_KEYS = ("stratus", "moto")
HANDLER = 'NONCE = "{nonce}"\ndef handler(event, context):\n    return {{"nonce": NONCE}}\n'


class Budget(BaseException):
    """The run exceeded --budget."""


# --------------------------------------------------------------------------- #
# packages


class Packages:
    """Zips of exactly `size` bytes: app.py (with a per-run nonce, so every package has its own
    SHA-256) and blob.bin, random bytes stored uncompressed. The random bytes are drawn once per size."""

    def __init__(self, work: Path):
        self.work = work
        self.blobs: dict[int, bytes] = {}

    def make(self, size: int, name: str) -> Path:
        path = self.work / f"pkg-{size}.zip"
        # a fixed-length nonce: the zip's overhead, and so its size, is the same every run
        app = HANDLER.format(nonce=hashlib.sha256(name.encode()).hexdigest()).encode()

        def write(blob: bytes) -> int:
            with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
                for name, data in (("app.py", app), ("blob.bin", blob)):
                    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                    info.external_attr = (0o644 | 0o100000) << 16
                    z.writestr(info, data)
            return path.stat().st_size

        if size not in self.blobs:
            overhead = write(b"")
            self.blobs[size] = os.urandom(size - overhead)
        got = write(self.blobs[size])
        if got != size:
            raise RuntimeError(f"package is {got} bytes, wanted {size}")
        return path


# --------------------------------------------------------------------------- #
# clients


def find_aws() -> list[str] | None:
    """The aws CLI; the real script rather than a pyenv shim (which adds its own start-up)."""
    path = shutil.which("aws")
    if path and "/shims/" in path and shutil.which("pyenv"):
        real = subprocess.run(["pyenv", "which", "aws"], capture_output=True, text=True).stdout.strip()
        if real:
            path = real
    if path:
        return [path]
    try:
        import awscli  # noqa: F401
        return [sys.executable, "-m", "awscli"]
    except ImportError:
        return None


def cli_env(work: Path) -> dict:
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=REGION,
               AWS_CONFIG_FILE=str(work / "aws-config"), AWS_SHARED_CREDENTIALS_FILE=str(work / "aws-credentials"),
               AWS_PAGER="", AWS_MAX_ATTEMPTS="1", AWS_RETRY_MODE="standard")
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    return env


def boto3_client(service: str, port: int, timeout: float):
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        service, endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION, aws_access_key_id="test",
        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}, connect_timeout=10,
                                                    read_timeout=timeout))


def short(e: BaseException | str) -> str:
    text = str(e).strip().replace("\n", " ").replace("|", "/")
    return text[:240] + ("…" if len(text) > 240 else "")


# --------------------------------------------------------------------------- #
# per-server runs


def execution_role(server: common.Server) -> str:
    if not server.is_moto:
        return "arn:aws:iam::000000000000:role/bench-deploy"
    iam = boto3_client("iam", server.port, 30)
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                              "Principal": {"Service": "lambda.amazonaws.com"}}]})
    return iam.create_role(RoleName="bench-deploy", AssumeRolePolicyDocument=doc)["Role"]["Arn"]


def wait_active(lam, name: str, limit: float) -> float | None:
    """Seconds until GetFunction says Active (polled every 20 ms), None if not within `limit`."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        state = lam.get_function(FunctionName=name)["Configuration"].get("State")
        if state == "Active":
            return time.perf_counter() - t0
        if state == "Failed":
            raise RuntimeError(f"{name} went to State Failed")
        time.sleep(0.02)
    return None


def run_server(server: common.Server, args, aws: list[str], pkgs: Packages, work: Path, logs: Path, env,
               results: dict, tag: str) -> None:
    log(f"starting {server.label}")
    entry = results["servers"].setdefault(server.key, {"label": server.label})
    try:
        entry["ready_s"] = server.start(logs / f"{server.key}.log", timeout=60, env=env)
    except RuntimeError as e:
        log(f"  {e}")
        entry["error"] = str(e)
        return
    acct = lb.CpuAccount()
    acct.server_pid = server.pid
    acct.reset()
    endpoint = f"http://127.0.0.1:{server.port}"
    base = [*aws, "--endpoint-url", endpoint, "--region", REGION, "--output", "json",
            "--cli-read-timeout", str(int(args.call_timeout)), "lambda"]
    cenv = cli_env(work)
    try:
        role = execution_role(server)
        lam = boto3_client("lambda", server.port, args.call_timeout)
        lam.list_functions()  # the client's first call (endpoint resolution, connection) is not timed

        # the CLI's own cost: start-up plus one tiny request
        times, err = [], None
        for _ in range(args.runs):
            t0 = time.perf_counter()
            p = subprocess.run([*base, "list-functions", "--max-items", "1"], capture_output=True, text=True,
                               env=cenv, timeout=args.call_timeout + 30, stdin=subprocess.DEVNULL)
            if p.returncode != 0:
                err = short(p.stderr)
                break
            times.append(time.perf_counter() - t0)
        results["rows"].append({"server": server.key, "client": "cli", "op": "list-functions", "size": 0,
                                "times_s": times, "error": err})
        log(f"  {server.key:<8} aws lambda list-functions x{len(times)}: median "
            f"{statistics.median(times) if times else float('nan'):.2f} s" + (f" ({err})" if err else ""))

        for size in args.sizes:
            for client in ("cli", "boto3"):
                row = {"server": server.key, "client": client, "op": "create-function", "size": size,
                       "times_s": [], "active_s": [], "error": None}
                results["rows"].append(row)
                for i in range(args.runs):
                    name = f"deploy-{tag}-{client}-{size}-{i}"
                    try:
                        path = pkgs.make(size, name)
                        if client == "cli":
                            t0 = time.perf_counter()
                            p = subprocess.run([*base, "create-function", "--function-name", name, "--runtime",
                                                "python3.12", "--role", role, "--handler", "app.handler",
                                                "--zip-file", f"fileb://{path}"], capture_output=True, text=True,
                                               env=cenv, timeout=args.call_timeout + 30, stdin=subprocess.DEVNULL)
                            dt = time.perf_counter() - t0
                            if p.returncode != 0:
                                raise RuntimeError(p.stderr.strip())
                            out = json.loads(p.stdout)
                        else:
                            data = path.read_bytes()
                            t0 = time.perf_counter()
                            out = lam.create_function(FunctionName=name, Runtime="python3.12", Role=role,
                                                      Handler="app.handler", Code={"ZipFile": data})
                            dt = time.perf_counter() - t0
                            del data
                        if out.get("CodeSize") != size:
                            raise RuntimeError(f"CodeSize {out.get('CodeSize')} != {size}")
                        row["times_s"].append(dt)
                        if client == "boto3":
                            active = wait_active(lam, name, 60)
                            row["active_s"].append(active)
                        lam.delete_function(FunctionName=name)
                    except Budget:
                        raise
                    except Exception as e:  # noqa: BLE001  (an n/a row rather than an abort)
                        row["error"] = short(e)
                        log(f"    {name}: {row['error']}")
                        break
                t = row["times_s"]
                log(f"  {server.key:<8} {client:<5} create-function {size:>11,} B x{len(t)}: median "
                    f"{statistics.median(t) if t else float('nan'):.2f} s, min {min(t) if t else float('nan'):.2f}, "
                    f"max {max(t) if t else float('nan'):.2f}")
        st = common.proc_status(server.pid)
        entry["rss_end_kib"], entry["hwm_kib"] = st.get("VmRSS"), st.get("VmHWM")
        if server.data_dir and not server.is_moto:
            entry["data_dir_bytes"] = sum(f.stat().st_size for f in server.data_dir.rglob("*") if f.is_file())
        if server.proc and server.proc.poll() is not None:
            entry["error"] = f"server exited with {server.proc.returncode} during the run"
    except Budget:
        raise
    except Exception as e:  # noqa: BLE001
        entry["error"] = short(e)
        log(f"  {server.label}: {entry['error']}")
    finally:
        entry["cpu"] = acct.phase(server.label)
        server.stop()
        if server.data_dir:
            shutil.rmtree(server.data_dir, ignore_errors=True)


# --------------------------------------------------------------------------- #
# report


def size_label(n: int) -> str:
    return f"{n / 1e6:,.1f} MB ({n:,} B)"


def render(results: dict, args) -> str:
    m = results["meta"]
    labels = {k: s["label"] for k, s in results["servers"].items()}
    o = [f"# Lambda deployment benchmark ({m['date']})", "",
         f"- Machine: {m['cpu']} ({m['cores']} cores), {m['mem_gib']} GiB RAM, Linux {m['kernel']}",
         (f"- {dq.stratus_line(m)}, durable (fresh temp --data-dir, fsync), STRATUS_LOG_LEVEL=warn; "
          if "stratus" in results["servers"] else "- ")
         + f"moto {m.get('moto_version') or '?'}; {m.get('aws_cli') or 'aws CLI ?'}; "
         f"boto3 {m.get('boto3_version') or '?'}",
         f"- {args.runs} runs per row, each a new function and a new package (random bytes stored uncompressed + "
         "a tiny Python handler with a per-run nonce); the function is deleted after each run (untimed). "
         "*aws CLI*: wall time of `aws lambda create-function --zip-file fileb://…` (the whole process: "
         "Python start-up, reading and base64-encoding the zip, signing, the request). *boto3*: the "
         "`create_function` call in a warm process; *until Active*: from its answer until GetFunction says "
         "`State: Active` (polled every 20 ms).",
         f"- Load average at start {m.get('load_start')}, at end {m.get('load_end')}; run took {m.get('total_s')} s.",
         "", "| Server | Client | Operation | Package | n | median s | min s | max s | MB/s (median) | "
         "until Active, median s |", "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results["rows"]:
        client = "aws CLI" if r["client"] == "cli" else "boto3"
        op = "list-functions (CLI start-up reference)" if r["op"] == "list-functions" else "create-function"
        pkg = "–" if not r["size"] else size_label(r["size"])
        head = f"| {labels.get(r['server'], r['server'])} | {client} | {op} | {pkg} |"
        t = r["times_s"]
        if not t:
            o.append(f"{head} 0 | n/a ({r.get('error') or 'no run'}) | | | | |")
            continue
        med = statistics.median(t)
        mbps = f"{r['size'] / 1e6 / med:,.1f}" if r["size"] else "–"
        act = [a for a in r.get("active_s", []) if a is not None]
        active = f"{statistics.median(act):.3f}" if act else "–"
        o.append(f"{head} {len(t)} | {med:.3f} | {min(t):.3f} | {max(t):.3f} | {mbps} | {active} |")
    notes = []
    for r in results["rows"]:
        if r.get("error") and r["times_s"]:
            notes.append(f"- {labels.get(r['server'], r['server'])} / {r['client']} / {r['op']} {r['size']:,} B: "
                         f"stopped after {len(r['times_s'])} runs: `{r['error']}`")
    for s in results["servers"].values():
        if s.get("error"):
            notes.append(f"- {s['label']}: {s['error']}")
        if s.get("hwm_kib"):
            notes.append(f"- {s['label']}: peak RSS {s['hwm_kib'] / 1024:,.0f} MiB"
                         + (f"; data directory {s['data_dir_bytes'] / 2**20:,.0f} MiB at the end"
                            if s.get("data_dir_bytes") is not None else "")
                         + (f"; machine busy {s['cpu']['machine_cores']:.2f} cores during its phase, "
                            f"{s['cpu']['others_cores']:.2f} of them other processes" if s.get("cpu") else "") + ".")
    notes += [f"- {n}" for n in results.get("notes", [])]
    notes.append("- The aws CLI is run as its real script (not through a pyenv shim); the list-functions rows "
                 "show what every CLI call pays before any upload.")
    o += ["", "## Notes", ""] + notes
    return "\n".join(o) + "\n"


# --------------------------------------------------------------------------- #


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="CreateFunction with large and small packages: aws CLI and boto3, "
                                "Stratus and moto_server.")
    p.add_argument("--runs", type=int, default=5, help="runs per server, client and size (default 5)")
    p.add_argument("--big", type=int, default=52_400_000,
                   help="bytes of the large package (default 52,400,000: just under 50 MiB = 52,428,800)")
    p.add_argument("--small", type=int, default=1_000_000, help="bytes of the small package (default 1,000,000)")
    p.add_argument("--servers", default="stratus,moto", help="comma list of stratus (durable), moto")
    p.add_argument("--call-timeout", type=float, default=120.0, help="limit per CreateFunction, seconds")
    p.add_argument("--budget", type=float, default=300.0, help="hard limit on the whole run, seconds")
    p.add_argument("--stratus", default=str(ROOT / "target" / "release" / "stratus"))
    p.add_argument("--out", default=str(RESULTS / "deploy-latest.md"))
    a = p.parse_args(argv)
    a.servers = [{"stratus-durable": "stratus"}.get(s, s) for s in a.servers.split(",") if s]
    if set(a.servers) - set(SERVER_KEYS) or not a.servers:
        p.error(f"--servers: comma list of {', '.join(SERVER_KEYS)}")
    if not (1 <= a.runs <= 50 and 1000 <= a.small <= 52_428_800 and 1000 <= a.big <= 52_428_800
            and 5 <= a.call_timeout <= 600 and 30 <= a.budget <= 3600):
        p.error("an option is out of range (see --help; packages up to 52,428,800 bytes)")
    a.sizes = [a.big, a.small]
    return a


def main(argv=None) -> int:
    args = parse_args(argv)
    stratus = Path(args.stratus)
    want_stratus = "stratus" in args.servers
    if want_stratus and not stratus.exists():
        log(f"missing {stratus} (cargo build --release -p stratus), or pass --servers moto")
        return 2
    aws = find_aws()
    if not aws:
        log("the aws CLI is not installed (pip install awscli)")
        return 2
    moto = common.find_moto()
    if "moto" in args.servers and not moto:
        log("moto_server not found (pip install 'moto[server]'), or pass --servers stratus")
        return 2

    logs = common.fresh_logs("deploy-logs")
    tmp = Path(tempfile.mkdtemp(prefix="stratus-deploy-bench-"))
    work = tmp / "work"
    work.mkdir()
    env = dict(os.environ, STRATUS_LOG_LEVEL="warn", RUST_LOG="warn")
    servers = common.peer_servers(stratus, moto, tmp)
    meta = common.meta_info(stratus if want_stratus else None)
    meta.update(dq.binary_info(stratus if want_stratus else None))
    try:
        meta["aws_cli"] = subprocess.run([*aws, "--version"], capture_output=True, text=True,
                                         timeout=60).stdout.strip().split(" ")[0] or None
    except (OSError, subprocess.TimeoutExpired):
        meta["aws_cli"] = None
    meta["load_start"] = lb.loadavg()
    results = {"meta": meta, "servers": {}, "rows": [], "notes": [], "args": vars(args)}

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
    tag = str(int(time.time()) % 100000)
    rc = 0
    try:
        pkgs = Packages(work)
        for key in args.servers:
            run_server(servers[key], args, aws, pkgs, work, logs, env, results, tag)
    except Budget as e:
        results["notes"].append(str(e))
        log(str(e))
        rc = 1
    finally:
        signal.alarm(0)
        common.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    meta["load_end"] = lb.loadavg()
    meta["total_s"] = round(time.perf_counter() - t_all, 1)

    md = render(results, args)
    out, raw = common.write_report(md, results, args.out)
    log(f"done in {meta['total_s']} s; wrote {out} and {raw}")
    if rc == 0 and not any(r["times_s"] for r in results["rows"] if r["op"] == "create-function"):
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
