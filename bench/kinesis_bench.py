#!/usr/bin/env python3
"""Kinesis Data Streams beside its peers, in one run: durable Stratus, moto_server and (when
installed) kinesalite, each driven by the same boto3 client threads and, when a stratus-loadgen
with the kinesis-* workloads is found, by stratus-loadgen too.

    bench/kinesis_bench.py                    # options: --rounds 3 --duration 5 --threads 8
    bench/kinesis_bench.py --kinesalite PATH  # default: bench/peers/node_modules/.bin/kinesalite
                                              # (npm ci --prefix bench/peers), else `kinesalite` on PATH

Workloads (each timed for --duration seconds with --threads client threads, one boto3 client
per thread): PutRecord of 1 KiB of data under a random partition key, PutRecords of 500 such
records, and GetRecords (Limit=1000) along the shards of a 4-shard stream pre-filled with
--prefill records of 1 KiB (thread t reads shard t mod 4 with its own iterator, follows
NextShardIterator, and takes a new TRIM_HORIZON iterator when a reply has fewer than 1000
records, i.e. at the shard's tip; the GetShardIterator calls are inside the timed window).
stratus-loadgen runs kinesis-put, kinesis-put-batch and kinesis-get (the same shapes) with
--connections connections, 1 s warm-up + --duration. Figures are records/s; rounds alternate the
servers, each cell is the median of the rounds with their range. Every server starts fresh per
round: Stratus with a new `--data-dir` (durable: fsync before ack), kinesalite with `--path` on a
new directory (LevelDB on disk, writes not fsynced; `--kinesalite-in-memory` drops `--path`),
moto_server in memory (it has no other mode). Reports to stdout and
bench/results/kinesis-latest.md (+ .json). Targets 127.0.0.1 only; stops only its own processes.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
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

WORKLOADS = ["PutRecord", "PutRecords", "GetRecords"]
LOADGEN_WORKLOADS = {"PutRecord": "kinesis-put", "PutRecords": "kinesis-put-batch", "GetRecords": "kinesis-get"}
SHARDS = 4
BATCH = 500
GET_LIMIT = 1000
RECORD = os.urandom(1024)
# The targets the comparison is for: Stratus at least this many times the peer's records/s.
TARGETS = {"moto": 10.0, "kinesalite": 3.0}
LABELS = {"stratus": "Stratus (durable)", "moto": "moto_server", "kinesalite": "kinesalite"}
CLIENTS = {"boto3": "boto3", "loadgen": "stratus-loadgen"}


def client(port: int):
    return boto3.session.Session().client(
        "kinesis", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1", aws_access_key_id="bench",
        aws_secret_access_key="bench", config=Config(retries={"max_attempts": 0}, max_pool_connections=4))


def find_kinesalite() -> str | None:
    local = BENCH / "peers/node_modules/.bin/kinesalite"
    return str(local) if local.exists() else shutil.which("kinesalite")


def kinesalite_version(path: str | None) -> str | None:
    """The version in the package.json beside the kinesalite CLI (cli.js), if there is one."""
    try:
        import json
        return json.loads((Path(path).resolve().parent / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def find_loadgen(explicit: str | None) -> Path | None:
    """A stratus-loadgen that lists the kinesis-* workloads."""
    cands = [explicit] if explicit else [
        os.environ.get("STRATUS_LOADGEN"),
        str(ROOT / "target/release/stratus-loadgen"),
        os.environ.get("CARGO_TARGET_DIR") and str(Path(os.environ["CARGO_TARGET_DIR"]) / "release/stratus-loadgen"),
    ]
    for c in cands:
        if not c or not Path(c).exists():
            continue
        try:
            cp = subprocess.run([c, "--help"], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if "kinesis-put-batch" in cp.stdout and "kinesis-get" in cp.stdout:
            return Path(c)
    return None


def start(kind: str, args, tmp: Path, logs: Path):
    """Starts one server on a free port; returns (process, port, its data directory or None)."""
    port = common.free_port()
    data = None
    if kind == "stratus":
        data = Path(tempfile.mkdtemp(prefix="kinesis-bench-", dir=tmp))
        cmd = [str(args.stratus), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data)]
    elif kind == "moto":
        cmd = [args.moto, "-H", "127.0.0.1", "-p", str(port)]
    else:
        cmd = [args.kinesalite, "--port", str(port), "--createStreamMs", "0", "--deleteStreamMs", "0",
               "--updateStreamMs", "0", "--shardLimit", "1000"]
        if not args.kinesalite_in_memory:
            data = Path(tempfile.mkdtemp(prefix="kinesalite-", dir=tmp))
            cmd += ["--path", str(data)]
    proc = common.spawn(cmd, logs / f"{kind}.log", env=dict(os.environ, STRATUS_LOG_LEVEL="warn"))
    c = client(port)
    deadline = time.time() + 30
    while time.time() < deadline and proc.poll() is None:
        try:
            c.list_streams()
            return proc, port, data
        except Exception:  # noqa: BLE001  (not up yet)
            time.sleep(0.05)
    common.stop(proc)
    raise RuntimeError(f"{kind} did not start; see {logs}")


def create_stream(c, name: str) -> list[str]:
    """A stream of SHARDS shards, once ACTIVE; returns its shard ids."""
    c.create_stream(StreamName=name, ShardCount=SHARDS)
    c.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    return [s["ShardId"] for s in c.list_shards(StreamName=name)["Shards"]]


def setup(port: int, prefill: int) -> dict:
    """Stream `bench` for the writes, stream `bench-read` filled with `prefill` records for GetRecords."""
    c = client(port)
    create_stream(c, "bench")
    shards = create_stream(c, "bench-read")
    rng = random.Random(0)
    t0 = time.monotonic()
    put = 0
    while put < prefill:
        n = min(BATCH, prefill - put)
        r = c.put_records(StreamName="bench-read", Records=[
            {"Data": RECORD, "PartitionKey": f"{rng.getrandbits(64):016x}"} for _ in range(n)])
        put += n - r.get("FailedRecordCount", 0)
    return {"shards": shards, "prefilled": put, "prefill_s": round(time.monotonic() - t0, 2)}


def machine_busy() -> float:
    """CPU seconds all cores have been busy since boot (from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / common.CLK_TCK  # less idle and iowait


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system


class Reader:
    """One thread's place in one shard of `bench-read`."""

    def __init__(self, shard: str):
        self.shard = shard
        self.iterator: str | None = None


def workload(name: str, c, rng: random.Random, reader: Reader) -> int:
    """One request; returns the records it moved."""
    if name == "PutRecord":
        c.put_record(StreamName="bench", Data=RECORD, PartitionKey=f"{rng.getrandbits(64):016x}")
        return 1
    if name == "PutRecords":
        r = c.put_records(StreamName="bench", Records=[
            {"Data": RECORD, "PartitionKey": f"{rng.getrandbits(64):016x}"} for _ in range(BATCH)])
        return BATCH - r.get("FailedRecordCount", 0)
    if reader.iterator is None:
        reader.iterator = c.get_shard_iterator(StreamName="bench-read", ShardId=reader.shard,
                                               ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        return 0
    r = c.get_records(ShardIterator=reader.iterator, Limit=GET_LIMIT)
    got = len(r["Records"])
    # At the shard's tip (or a closed shard's end): start again from its oldest record.
    reader.iterator = r.get("NextShardIterator") if got >= GET_LIMIT else None
    return got


def measure(port: int, pid: int, name: str, threads: int, duration: float, shards: list[str]) -> dict:
    clients = [client(port) for _ in range(threads)]
    records, calls, errors = [0] * threads, [0] * threads, [0] * threads
    first_error: list[str] = []
    stop = time.monotonic() + duration

    def worker(t: int):
        rng = random.Random(t + 1)
        reader = Reader(shards[t % len(shards)])
        while time.monotonic() < stop:
            try:
                records[t] += workload(name, clients[t], rng, reader)
                calls[t] += 1
            except Exception as e:  # noqa: BLE001  (counted; the first one is reported)
                errors[t] += 1
                reader.iterator = None
                if not first_error:
                    first_error.append(f"{type(e).__name__}: {e}"[:300])
                time.sleep(0.02)

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    cpu0, own0, busy0, begin = common.cpu_seconds(pid), own_cpu(), machine_busy(), time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    secs = time.monotonic() - begin
    server, own = (common.cpu_seconds(pid) - cpu0) / secs, (own_cpu() - own0) / secs
    return {"records_per_s": sum(records) / secs, "calls_per_s": sum(calls) / secs, "errors": sum(errors),
            "first_error": first_error[0] if first_error else None, "server_cpu_cores": round(server, 2),
            "client_cpu_cores": round(own, 2),
            # Everything else on the machine (another build, tests): figures from a busy window mislead.
            "other_cpu_cores": round(max(0.0, (machine_busy() - busy0) / secs - server - own), 2)}


def run_loadgen(loadgen: Path, proc, port: int, name: str, args, logs: Path) -> dict:
    stream = {"PutRecord": "loadgen-put", "PutRecords": "loadgen-put-batch", "GetRecords": "loadgen-get"}[name]
    cmd = [str(loadgen), "--endpoint", f"http://127.0.0.1:{port}", "--workload", LOADGEN_WORKLOADS[name],
           "--stream", stream, "--connections", str(args.connections), "--duration", str(args.duration),
           "--warmup", "1", "--prefill", str(args.prefill), "--prefill-secs", "120",
           "--max-requests", "5000000", "--json"]
    res = common.run_json_client(cmd, common.real_pid(proc.pid), args.duration + 1 + 120 + 90,
                                 logs / "loadgen.log")
    if "msgs_per_s" in res:
        res["records_per_s"] = res["msgs_per_s"]
        res["calls_per_s"] = res["ops_per_s"]
    return res


def cell(values: list[float]) -> str:
    if not values:
        return "n/a"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:,.0f}"
    return f"{med:,.0f} ({min(values):,.0f}–{max(values):,.0f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stratus", type=Path, default=ROOT / "target/release/stratus")
    ap.add_argument("--moto", default=common.find_moto(), help="moto_server (default: the one on PATH)")
    ap.add_argument("--kinesalite", default=find_kinesalite(),
                    help="the kinesalite CLI (default: bench/peers/node_modules/.bin/kinesalite, else PATH)")
    ap.add_argument("--kinesalite-in-memory", action="store_true",
                    help="run kinesalite without --path (in memory) instead of on LevelDB")
    ap.add_argument("--servers", default="stratus,moto,kinesalite",
                    help="comma list of stratus, moto, kinesalite (those not found are skipped)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per workload")
    ap.add_argument("--threads", type=int, default=8, help="boto3 client threads")
    ap.add_argument("--prefill", type=int, default=20_000, help="records in the GetRecords stream")
    ap.add_argument("--loadgen", default=None,
                    help="stratus-loadgen with the kinesis-* workloads (default: the first of $STRATUS_LOADGEN, "
                         "target/release/stratus-loadgen, $CARGO_TARGET_DIR/release/stratus-loadgen that has them)")
    ap.add_argument("--no-loadgen", action="store_true", help="boto3 rows only")
    ap.add_argument("--connections", type=int, default=16, help="stratus-loadgen connections (every server)")
    args = ap.parse_args()
    if not 0 < args.duration <= 600 or not 1 <= args.threads <= 256 or not 0 < args.prefill <= 2_000_000 \
            or args.rounds < 1:
        ap.error("--duration in (0, 600], --threads in [1, 256], --prefill in [1, 2000000], --rounds >= 1")
    wanted = [s for s in args.servers.split(",") if s]
    if set(wanted) - set(LABELS):
        ap.error(f"unknown server: {sorted(set(wanted) - set(LABELS))}")
    if "stratus" in wanted and not args.stratus.exists():
        ap.error(f"missing {args.stratus} (cargo build --release -p stratus, or pass --servers moto,kinesalite)")
    servers = [s for s in ["stratus", "moto", "kinesalite"]
               if s in wanted and (s == "stratus" or getattr(args, s))]
    for s in set(wanted) - set(servers):
        log(f"{s} not found: skipped (see --{s})")
    loadgen = None if args.no_loadgen else find_loadgen(args.loadgen)
    clients = ["boto3"] + (["loadgen"] if loadgen else [])
    if not loadgen and not args.no_loadgen:
        log("no stratus-loadgen with kinesis-put/kinesis-put-batch/kinesis-get: boto3 rows only")
    logs = common.fresh_logs("kinesis-logs")
    results: dict = {c: {s: {w: [] for w in WORKLOADS} for s in servers} for c in clients}
    runs: list[dict] = []
    t_all = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="kinesis-bench-"))
    try:
        for r in range(args.rounds):
            for s in servers:
                proc, port, data = start(s, args, tmp, logs)
                try:
                    prep = setup(port, args.prefill)
                    log(f"round {r + 1} {s:10} pre-filled {prep['prefilled']} records in {prep['prefill_s']} s")
                    for w in WORKLOADS:
                        res = measure(port, common.real_pid(proc.pid), w, args.threads, args.duration,
                                      prep["shards"])
                        results["boto3"][s][w].append(res["records_per_s"])
                        runs.append({**res, "round": r + 1, "server": s, "client": "boto3", "workload": w})
                        err = f"  ({res['errors']} errors: {res['first_error']})" if res["errors"] else ""
                        log(f"round {r + 1} {s:10} boto3   {w:11} {res['records_per_s']:10.0f} records/s, "
                            f"server {res['server_cpu_cores']:.2f} cores, client {res['client_cpu_cores']:.2f}, "
                            f"others {res['other_cpu_cores']:.2f}{err}")
                    for w in WORKLOADS if loadgen else []:
                        res = run_loadgen(loadgen, proc, port, w, args, logs)
                        if "records_per_s" in res:
                            results["loadgen"][s][w].append(res["records_per_s"])
                        runs.append({**res, "round": r + 1, "server": s, "client": "loadgen", "workload": w})
                        log(f"round {r + 1} {s:10} loadgen {w:11} "
                            + (f"{res['records_per_s']:10.0f} records/s, server {res.get('server_cpu_cores') or 0:.2f} "
                               f"cores, {res.get('errors', 0)} errors" if "records_per_s" in res
                               else f"failed: {res.get('error') or res.get('first_error')}"))
                finally:
                    common.stop(proc)
                    if data:
                        shutil.rmtree(data, ignore_errors=True)
    finally:
        common.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)

    med = {c: {s: {w: (statistics.median(v) if v else None) for w, v in ws.items()} for s, ws in cs.items()}
           for c, cs in results.items()}
    peers = servers[1:] if servers and servers[0] == "stratus" else []
    lines = ["| Client | Workload | " + " | ".join(LABELS[s] for s in servers) + "".join(
        f" | Stratus / {LABELS[p]} (target ≥{TARGETS[p]:g}×)" for p in peers) + " |",
        "|---|---|" + "---:|" * (len(servers) + len(peers))]
    missed = []
    for c in clients:
        for w in WORKLOADS:
            cells = [cell(results[c][s][w]) for s in servers]
            for p in peers:
                a, b = med[c]["stratus"][w], med[c][p][w]
                if a is None or not b:
                    cells.append("n/a")
                    continue
                ok = a / b >= TARGETS[p]
                cells.append(f"{a / b:.1f}× {'✓' if ok else '✗'}")
                if not ok:
                    missed.append(f"{CLIENTS[c]} {w} vs {LABELS[p]} ({a / b:.1f}×)")
            lines.append(f"| {CLIENTS[c]} | {w} | " + " | ".join(cells) + " |")
    kmode = "in memory" if args.kinesalite_in_memory else "`--path` (LevelDB on disk, not fsynced)"
    md = (f"Kinesis Data Streams, records/s (1 KiB records): median of {args.rounds} alternating rounds "
          f"(range in brackets), {args.duration:g} s per workload; boto3 with {args.threads} threads"
          + (f", stratus-loadgen with {args.connections} connections (+1 s warm-up)" if loadgen else "")
          + f". PutRecord: 1 record per call; PutRecords: {BATCH} per call; GetRecords: Limit={GET_LIMIT} "
          f"along the {SHARDS} shards of a stream pre-filled with {args.prefill:,} records, new TRIM_HORIZON "
          f"iterator at each shard's tip. Stratus durable (`--data-dir`, fsync before ack)"
          + (f"; kinesalite {kmode}" if "kinesalite" in servers else "")
          + ("; moto_server in memory" if "moto" in servers else "") + ".\n\n" + "\n".join(lines) + "\n")
    if peers:
        md += ("\nTargets met in every row.\n" if not missed else "\nTargets missed: " + "; ".join(missed) + ".\n")
    # CPU shows where a row is bound: a server far below the machine's cores waits on its client.
    def cpu_cell(c: str, s: str, w: str) -> str:
        rows = [x for x in runs if (x["client"], x["server"], x["workload"]) == (c, s, w)
                and x.get("server_cpu_cores") is not None]
        if not rows:
            return "n/a"
        server = f"{statistics.median(x['server_cpu_cores'] for x in rows):.2f}"
        if c != "boto3":
            return server
        return f"{server} / {statistics.median(x['client_cpu_cores'] for x in rows):.2f}"

    md += (f"\nCPU during the measured windows, cores (median of the rounds; the machine has {os.cpu_count()}): "
           "server / boto3 client process for boto3 rows, server for stratus-loadgen rows.\n\n"
           "| Client | Workload | " + " | ".join(LABELS[s] for s in servers) + " |\n|---|---|"
           + "---:|" * len(servers) + "\n")
    for c in clients:
        for w in WORKLOADS:
            md += f"| {CLIENTS[c]} | {w} | " + " | ".join(cpu_cell(c, s, w) for s in servers) + " |\n"
    others = [x["other_cpu_cores"] for x in runs if x.get("other_cpu_cores") is not None]
    if others:
        md += (f"\nOther processes on the machine during the boto3 windows: median {statistics.median(others):.2f} "
               f"cores, at most {max(others):.2f} (figures from windows well above 0 are disturbed).\n")
    meta = common.meta_info(args.stratus if "stratus" in servers else None)
    meta["kinesalite_version"] = kinesalite_version(args.kinesalite) if "kinesalite" in servers else None
    common.write_report(md, {"meta": meta,
                             "args": {k: str(v) for k, v in vars(args).items()}, "loadgen": str(loadgen),
                             "median": med, "rounds": results, "runs": runs,
                             "total_s": round(time.monotonic() - t_all, 1)},
                        BENCH / "results/kinesis-latest.md")


if __name__ == "__main__":
    main()
