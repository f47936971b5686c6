#!/usr/bin/env python3
"""DynamoDB beside its peers, in one run: durable Stratus, moto_server and (when installed)
dynalite, each driven by the same boto3 client threads.

    bench/dynamodb_bench.py                  # options: --rounds 3 --duration 5 --threads 8
    bench/dynamodb_bench.py --dynalite PATH  # the dynalite CLI (npm install dynalite)

Workloads (each timed for --duration seconds with --threads client threads, one boto3 client
per thread): PutItem of a 200-byte item, GetItem of a stored item, Query of a 100-item
partition, BatchWriteItem of 25 items. Rounds alternate the servers; each figure is the median
of the rounds (operations/s; items/s for batches). Reports to stdout and
bench/results/dynamodb-latest.md (+ .json). Targets 127.0.0.1 only; stops only its own
processes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import run as common  # noqa: E402  (process helpers, report writing)

log = common.log


def client(port: int):
    return boto3.session.Session().client(
        "dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1", aws_access_key_id="bench",
        aws_secret_access_key="bench", config=Config(retries={"max_attempts": 0}, max_pool_connections=4))


def start(kind: str, args, tmp: Path, logs: Path):
    port = common.free_port()
    if kind == "stratus":
        data = Path(tempfile.mkdtemp(prefix="ddb-bench-", dir=tmp))
        cmd = [str(args.stratus), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data)]
    elif kind == "moto":
        cmd = [args.moto, "-H", "127.0.0.1", "-p", str(port)]
    else:
        cmd = [args.dynalite, "--port", str(port), "--path", tempfile.mkdtemp(prefix="dynalite-", dir=tmp)]
    proc = common.spawn(cmd, logs / f"{kind}.log", env=dict(os.environ, STRATUS_LOG_LEVEL="warn"))
    c = client(port)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            c.list_tables()
            return proc, port
        except Exception:  # noqa: BLE001  (not up yet)
            time.sleep(0.05)
    common.stop(proc)
    raise RuntimeError(f"{kind} did not start; see {logs}")


def setup(port: int) -> None:
    c = client(port)
    c.create_table(TableName="bench", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                                 {"AttributeName": "sk", "KeyType": "RANGE"}],
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                         {"AttributeName": "sk", "AttributeType": "N"}],
                   BillingMode="PAY_PER_REQUEST")
    c.get_waiter("table_exists").wait(TableName="bench", WaiterConfig={"Delay": 0.2})
    for start in range(0, 100, 25):
        c.batch_write_item(RequestItems={"bench": [
            {"PutRequest": {"Item": {"pk": {"S": "hot"}, "sk": {"N": str(n)}, "v": {"S": "x" * 180}}}}
            for n in range(start, start + 25)]})


def workload(name: str, c, thread: int, n: int) -> int:
    """One operation; returns the items it moved."""
    if name == "PutItem":
        c.put_item(TableName="bench", Item={"pk": {"S": f"t{thread}"}, "sk": {"N": str(n)}, "v": {"S": "x" * 180}})
        return 1
    if name == "GetItem":
        c.get_item(TableName="bench", Key={"pk": {"S": "hot"}, "sk": {"N": str(n % 100)}})
        return 1
    if name == "Query":
        c.query(TableName="bench", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "hot"}})
        return 1
    c.batch_write_item(RequestItems={"bench": [
        {"PutRequest": {"Item": {"pk": {"S": f"b{thread}"}, "sk": {"N": str(n * 25 + k)}, "v": {"S": "x" * 180}}}}
        for k in range(25)]})
    return 25


def measure(port: int, name: str, threads: int, duration: float) -> float:
    clients = [client(port) for _ in range(threads)]
    counts = [0] * threads
    stop = time.monotonic() + duration

    def worker(t: int):
        n = 0
        while time.monotonic() < stop:
            counts[t] += workload(name, clients[t], t, n)
            n += 1

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    begin = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.monotonic() - begin)


WORKLOADS = ["PutItem", "GetItem", "Query", "BatchWriteItem"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stratus", type=Path, default=ROOT / "target/release/stratus")
    ap.add_argument("--moto", default=common.find_moto())
    ap.add_argument("--dynalite", default=shutil.which("dynalite"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    servers = ["stratus"] + (["moto"] if args.moto else []) + (["dynalite"] if args.dynalite else [])
    logs = common.fresh_logs("dynamodb-logs")
    results: dict = {s: {w: [] for w in WORKLOADS} for s in servers}
    with tempfile.TemporaryDirectory(prefix="ddb-bench-") as tmp:
        for r in range(args.rounds):
            for s in servers:
                proc, port = start(s, args, Path(tmp), logs)
                try:
                    setup(port)
                    for w in WORKLOADS:
                        rate = measure(port, w, args.threads, args.duration)
                        results[s][w].append(rate)
                        log(f"round {r + 1} {s:8} {w:15} {rate:10.0f}/s")
                finally:
                    common.stop(proc)
    med = {s: {w: statistics.median(v) for w, v in ws.items()} for s, ws in results.items()}
    lines = ["| Workload | " + " | ".join(servers) + " | " + " | ".join(f"stratus / {p}" for p in servers[1:]) + " |",
             "|---|" + "---:|" * (2 * len(servers) - 1)]
    for w in WORKLOADS:
        cells = [f"{med[s][w]:,.0f}" for s in servers]
        ratios = [f"{med['stratus'][w] / med[p][w]:.1f}×" for p in servers[1:] if med[p][w] > 0]
        lines.append(f"| {w} | " + " | ".join(cells + ratios) + " |")
    md = (f"DynamoDB, boto3 with {args.threads} threads, {args.duration:.0f} s per workload, median of "
          f"{args.rounds} alternating rounds (operations/s; BatchWriteItem in items/s).\n\n" + "\n".join(lines) + "\n")
    common.write_report(md, {"median": med, "runs": results}, BENCH / "results/dynamodb-latest.md")


if __name__ == "__main__":
    main()
