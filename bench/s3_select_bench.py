#!/usr/bin/env python3
"""S3 Select (SelectObjectContent) over a large CSV object, beside moto_server.

Starts a durable Stratus (`target/release/stratus`, not rebuilt; fresh temp data directory) and
`moto_server`, one after the other on free 127.0.0.1 ports; uploads the same generated CSV
(`--mb` megabytes: id, name, city, age, amount; header line) to each, then times each query
(request until the End event, best and median of `--runs`) and checks that both servers return
the same bytes where moto answers within `--moto-timeout` seconds. moto evaluates in Python, so
it gets a smaller object (`--moto-mb`) unless told otherwise; the table gives MB/s for both.

  bench/s3_select_bench.py --mb 100 --moto-mb 10

Output: a markdown table on stdout and in bench/results/s3-select-latest.md (raw figures in
s3-select-latest.json).
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
    ("count where", "SELECT COUNT(*) FROM S3Object s WHERE CAST(s.age AS INT) > 60"),
    ("sum + avg", "SELECT SUM(CAST(s.amount AS FLOAT)), AVG(CAST(s.age AS INT)) FROM S3Object s"),
    ("filter rows (~10%)", "SELECT s.id, s.name, s.amount FROM S3Object s WHERE s.city = 'Berlin'"),
    ("LIKE + LIMIT 1000", "SELECT * FROM S3Object s WHERE s.name LIKE 'an%' LIMIT 1000"),
]
CITIES = ["Berlin", "Paris", "Lima", "Osaka", "Accra", "Quito", "Perth", "Oslo", "Hanoi", "Tunis"]
SYLLABLES = ["an", "bo", "ka", "li", "mu", "ne", "ro", "sa", "ti", "vu"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_csv(path: Path, mb: int) -> int:
    rng = random.Random(11)
    target = mb * 1_000_000
    rows = 0
    with path.open("w") as f:
        f.write("id,name,city,age,amount\n")
        size = 0
        while size < target:
            lines = []
            for _ in range(10_000):
                rows += 1
                name = "".join(rng.choice(SYLLABLES) for _ in range(3))
                lines.append(f"{rows},{name},{rng.choice(CITIES)},{rng.randint(18, 90)},{rng.randint(1, 99999) / 100}\n")
            chunk = "".join(lines)
            f.write(chunk)
            size += len(chunk)
    return rows


def client_for(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}, read_timeout=3600, s3={"addressing_style": "path"}))


def wait_ready(s3, deadline: float) -> None:
    while time.time() < deadline:
        try:
            s3.list_buckets()
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def run_query(s3, sql: str) -> tuple[float, bytes]:
    t = time.perf_counter()
    resp = s3.select_object_content(Bucket="bench", Key="data.csv", Expression=sql, ExpressionType="SQL",
                                    InputSerialization={"CSV": {"FileHeaderInfo": "USE"}},
                                    OutputSerialization={"CSV": {}})
    out = bytearray()
    for ev in resp["Payload"]:
        if "Records" in ev:
            out += ev["Records"]["Payload"]
    return time.perf_counter() - t, bytes(out)


def measure(name: str, endpoint: str, csv: Path, runs: int, timeout: float) -> dict:
    s3 = client_for(endpoint)
    wait_ready(s3, time.time() + 20)
    s3.create_bucket(Bucket="bench")
    t = time.perf_counter()
    s3.upload_file(str(csv), "bench", "data.csv")
    size = csv.stat().st_size
    out = {"server": name, "mb": round(size / 1e6, 1), "upload_s": round(time.perf_counter() - t, 2), "queries": {}}
    for label, sql in QUERIES:
        times, result = [], b""
        for _ in range(runs):
            try:
                dt, result = run_query(s3, sql)
            except Exception as e:  # noqa: BLE001 - a server without the query gets a row saying so
                out["queries"][label] = {"error": str(e)[:120]}
                break
            times.append(dt)
            if dt > timeout:
                break
        else:
            out["queries"][label] = {"best_ms": round(min(times) * 1000, 1),
                                     "median_ms": round(statistics.median(times) * 1000, 1),
                                     "mb_per_s": round(size / 1e6 / min(times), 1),
                                     "returned_bytes": len(result), "head": result[:60].decode(errors="replace")}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--moto-mb", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--moto-timeout", type=float, default=120)
    ap.add_argument("--servers", default="stratus,moto")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="select-bench-"))
    results = []
    try:
        files = {}
        for mb in {args.mb, args.moto_mb}:
            files[mb] = work / f"data-{mb}.csv"
            make_csv(files[mb], mb)
        for name in args.servers.split(","):
            port = free_port()
            tmp = tempfile.mkdtemp(prefix="select-bench-data-")
            if name == "stratus":
                cmd = [str(ROOT / "target" / "release" / "stratus"), "serve", "--port", str(port), "--data-dir", tmp]
                env = dict(os.environ, STRATUS_LOG_LEVEL="warn")
                csv, timeout = files[args.mb], float("inf")
            else:
                moto = shutil.which("moto_server")
                if not moto:
                    print("moto_server not found; skipping", file=sys.stderr)
                    continue
                cmd, env = [moto, "-p", str(port)], dict(os.environ)
                csv, timeout = files[args.moto_mb], args.moto_timeout
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                results.append(measure(name, f"http://127.0.0.1:{port}", csv, args.runs, timeout))
            finally:
                proc.kill()
                proc.wait()
                shutil.rmtree(tmp, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = ["| Server | Object MB | Query | Best ms | Median ms | MB/s | Bytes returned |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for r in results:
        for label, q in r["queries"].items():
            if "error" in q:
                lines.append(f"| {r['server']} | {r['mb']} | {label} | n/a ({q['error']}) | | | |")
            else:
                lines.append(f"| {r['server']} | {r['mb']} | {label} | {q['best_ms']} | {q['median_ms']} | "
                             f"{q['mb_per_s']} | {q['returned_bytes']:,} |")
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "s3-select-latest.md").write_text(table + "\n")
    (RESULTS / "s3-select-latest.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
