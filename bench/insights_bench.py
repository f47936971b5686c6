#!/usr/bin/env python3
"""Logs Insights query latency beside moto_server.

Starts a durable Stratus (`target/release/stratus`, not rebuilt; fresh temp data directory) and
`moto_server`, one after the other on free 127.0.0.1 ports; puts the same log events into one
log group of each (PutLogEvents in batches, spread evenly over the last `--hours` hours, 90 %
plain text lines and 10 % JSON lines with `level` and `latency`), then times each query
(StartQuery until GetQueryResults says Complete, best and median of `--runs`) and checks that
both servers count the same events where moto answers at all.

  bench/insights_bench.py --events 1000000 --moto-events 20000

Output: a markdown table on stdout and in bench/results/insights-latest.md (raw figures in
insights-latest.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

QUERIES = [
    ("stats count() by bin(1m)", "stats count() by bin(1m)"),
    ("filter + count", "filter @message like /ERROR/ | stats count() as n"),
    ("JSON stats by field", "filter latency >= 0 | stats count() as n, avg(latency) as mean by level"),
    ("newest 20", "fields @timestamp, @message | sort @timestamp desc | limit 20"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(client, deadline: float) -> None:
    while time.time() < deadline:
        try:
            client.describe_log_groups(limit=1)
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def client_for(endpoint: str):
    return boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}, read_timeout=600))


def ingest(logs, group: str, count: int, hours: float) -> float:
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now_ms = int(time.time() * 1000) - 60_000
    span = int(hours * 3_600_000)
    rng = random.Random(7)
    levels = ["INFO", "INFO", "INFO", "WARN", "ERROR"]
    started = time.perf_counter()
    batch = 5000
    for first in range(0, count, batch):
        events = []
        for n in range(first, min(count, first + batch)):
            ts = now_ms - span + (span * n) // max(1, count)
            if n % 10 == 0:
                msg = json.dumps({"level": rng.choice(levels), "latency": rng.randint(1, 500), "n": n})
            else:
                msg = f"{rng.choice(levels)} request {n} served in {rng.randint(1, 500)} ms"
            events.append({"timestamp": ts, "message": msg})
        logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=events)
    return time.perf_counter() - started


def run_query(logs, group: str, query: str, hours: float):
    end = int(time.time())
    start = end - int(hours * 3600) - 600
    t = time.perf_counter()
    qid = logs.start_query(logGroupName=group, startTime=start, endTime=end, queryString=query)["queryId"]
    while True:
        r = logs.get_query_results(queryId=qid)
        if r["status"] not in ("Scheduled", "Running"):
            break
        time.sleep(0.01)
    return time.perf_counter() - t, r


def measure(name: str, endpoint: str, events: int, hours: float, runs: int) -> dict:
    logs = client_for(endpoint)
    wait_ready(logs, time.time() + 20)
    group = "/bench/insights"
    out = {"server": name, "events": events, "ingest_s": round(ingest(logs, group, events, hours), 2), "queries": {}}
    for label, query in QUERIES:
        times, last = [], None
        for _ in range(runs):
            try:
                dt, last = run_query(logs, group, query, hours)
            except Exception as e:  # noqa: BLE001 - a server without the query gets a row saying so
                out["queries"][label] = {"error": str(e)[:120]}
                break
            times.append(dt)
        else:
            rows = last.get("results", []) if last else []
            out["queries"][label] = {"best_ms": round(min(times) * 1000, 1), "median_ms": round(statistics.median(times) * 1000, 1),
                                     "status": last.get("status") if last else None, "rows": len(rows),
                                     "matched": (last or {}).get("statistics", {}).get("recordsMatched")}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--moto-events", type=int, default=20_000)
    ap.add_argument("--hours", type=float, default=16)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--servers", default="stratus,moto")
    args = ap.parse_args()
    results = []
    for name in args.servers.split(","):
        port = free_port()
        tmp = tempfile.mkdtemp(prefix="insights-bench-")
        if name == "stratus":
            binary = ROOT / "target" / "release" / "stratus"
            cmd = [str(binary), "serve", "--port", str(port), "--data-dir", tmp]
            env = dict(os.environ, STRATUS_LOG_LEVEL="warn")
            events = args.events
        else:
            moto = shutil.which("moto_server")
            if not moto:
                print("moto_server not found; skipping", file=sys.stderr)
                continue
            cmd = [moto, "-p", str(port)]
            env = dict(os.environ)
            events = args.moto_events
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            results.append(measure(name, f"http://127.0.0.1:{port}", events, args.hours, args.runs))
        finally:
            proc.kill()
            proc.wait()
            shutil.rmtree(tmp, ignore_errors=True)
    lines = ["| Server | Events | Ingest (s) | Query | Best ms | Median ms | Rows | recordsMatched |", "|---|---:|---:|---|---:|---:|---:|---:|"]
    for r in results:
        for label, q in r["queries"].items():
            if "error" in q:
                lines.append(f"| {r['server']} | {r['events']:,} | {r['ingest_s']} | {label} | n/a ({q['error']}) | | | |")
            else:
                lines.append(f"| {r['server']} | {r['events']:,} | {r['ingest_s']} | {label} | {q['best_ms']} | {q['median_ms']} | {q['rows']} | {q['matched']} |")
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "insights-latest.md").write_text(table + "\n")
    (RESULTS / "insights-latest.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
