#!/usr/bin/env python3
"""What enforcing IAM costs: SQS SendMessage throughput of durable Stratus in `--auth open` and
in `--auth enforce`, where every request of an IAM user with ten policies (eight inline, one AWS
managed, one customer managed that grants the send, with a condition) is evaluated.

One command (about 1-2 minutes; needs target/release/stratus and target/release/stratus-loadgen):

    bench/enforce_bench.py                 # options: --rounds 3 --duration 8 --connections 32

Each round starts a fresh open-mode server and a fresh enforce-mode server (durable, temp data
directory, one after the other) and runs `stratus-loadgen --workload send` against each; in
enforce mode as the IAM user (every request authorized) and, for reference, as the configured root
credential (authenticated, never evaluated). Reports medians and the enforce/open ratio to stdout
and bench/results/enforce-latest.md (+ .json). Targets 127.0.0.1 only; stops only its own
processes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import boto3

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import run as common  # noqa: E402  (process helpers, report writing)

log = common.log
ACCOUNT = "123456789012"
ROOT_KEY = ("AKIDBENCHROOT0000001", "bench-root-secret")


def client(service: str, port: int, key: str, secret: str):
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret)


def start(stratus: Path, mode: str, tmp: Path, logs: Path) -> tuple:
    port = common.free_port()
    cfg = tmp / f"stratus-{mode}-{port}.toml"
    cfg.write_text(f'[[credentials]]\naccess_key_id = "{ROOT_KEY[0]}"\nsecret_access_key = "{ROOT_KEY[1]}"\n'
                   f'account = "{ACCOUNT}"\n')
    data = Path(tempfile.mkdtemp(prefix=f"enforce-{mode}-", dir=tmp))
    cmd = [str(stratus), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data),
           "--auth", mode, "--config", str(cfg)]
    proc = common.spawn(cmd, logs / f"{mode}.log", env=dict(os.environ, STRATUS_LOG_LEVEL="warn"))
    sqs = client("sqs", port, *ROOT_KEY)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            sqs.list_queues()
            return proc, port
        except Exception:  # noqa: BLE001  (not up yet)
            time.sleep(0.05)
    common.stop(proc)
    raise RuntimeError(f"stratus --auth {mode} did not start; see {logs}")


def user_with_ten_policies(port: int, queue: str) -> tuple[str, str]:
    iam = client("iam", port, *ROOT_KEY)
    iam.create_user(UserName="bench")
    for n in range(8):
        iam.put_user_policy(UserName="bench", PolicyName=f"inline-{n}", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["sns:Publish", "logs:PutLogEvents"],
                "Resource": f"arn:aws:sns:us-east-1:{ACCOUNT}:topic-{n}-*",
                "Condition": {"StringLike": {"aws:username": "bench*"}}}]}))
    iam.attach_user_policy(UserName="bench", PolicyArn="arn:aws:iam::aws:policy/AmazonSNSReadOnlyAccess")
    grant = iam.create_policy(PolicyName="send", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["sqs:CreateQueue", "sqs:GetQueueUrl", "sqs:SendMessage"],
            "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue}",
            "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}]}))["Policy"]
    iam.attach_user_policy(UserName="bench", PolicyArn=grant["Arn"])
    key = iam.create_access_key(UserName="bench")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def loadgen(loadgen_bin: Path, port: int, key: tuple[str, str], queue: str, args, logs: Path, pid: int) -> dict:
    cmd = [str(loadgen_bin), "--endpoint", f"http://127.0.0.1:{port}", "--workload", "send",
           "--connections", str(args.connections), "--duration", str(args.duration), "--warmup", "1",
           "--queue", queue, "--access-key", key[0], "--secret-key", key[1], "--json"]
    return common.run_json_client(cmd, pid, args.duration + 60, logs / "clients.log")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=float, default=8.0)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--target-dir", default=str(ROOT / "target"))
    p.add_argument("--out", default=str(BENCH / "results" / "enforce-latest.md"))
    args = p.parse_args()
    stratus = Path(args.target_dir) / "release" / "stratus"
    lg = Path(args.target_dir) / "release" / "stratus-loadgen"
    for b in (stratus, lg):
        if not b.exists():
            log(f"missing {b}: cargo build --release -p stratus -p stratus-loadgen")
            return 2
    logs = common.fresh_logs("enforce-logs")
    tmp = Path(tempfile.mkdtemp(prefix="stratus-enforce-bench-"))
    runs: dict[str, list[dict]] = {"open": [], "enforce (IAM user, 10 policies)": [], "enforce (root)": []}
    queue = "bench-enforce"
    try:
        for rnd in range(1, args.rounds + 1):
            log(f"round {rnd}")
            proc, port = start(stratus, "open", tmp, logs)
            try:
                runs["open"].append(loadgen(lg, port, ROOT_KEY, queue, args, logs, common.real_pid(proc.pid)))
            finally:
                common.stop(proc)
            proc, port = start(stratus, "enforce", tmp, logs)
            try:
                client("sqs", port, *ROOT_KEY).create_queue(QueueName=queue)
                user = user_with_ten_policies(port, queue)
                pid = common.real_pid(proc.pid)
                runs["enforce (IAM user, 10 policies)"].append(loadgen(lg, port, user, queue, args, logs, pid))
                runs["enforce (root)"].append(loadgen(lg, port, ROOT_KEY, queue, args, logs, pid))
            finally:
                common.stop(proc)
            for k, v in runs.items():
                r = v[-1]
                log(f"  {k:<34} {r.get('msgs_per_s', 0):>9.0f} msg/s  errors {r.get('errors')}  "
                    f"{r.get('first_error') or ''}")
    finally:
        common.stop_all()
    med = {k: statistics.median(r.get("msgs_per_s", 0) for r in v) for k, v in runs.items()}
    p50 = {k: statistics.median(r.get("latency_ms", {}).get("p50", 0) for r in v) for k, v in runs.items()}
    cpu = {k: statistics.median(r.get("server_cpu_cores") or 0 for r in v) for k, v in runs.items()}
    base = med["open"] or 1
    lines = ["# IAM enforcement cost: SQS SendMessage, durable Stratus", "",
             f"stratus-loadgen, {args.connections} connections, {args.duration:g} s per run, median of "
             f"{args.rounds} rounds (each round: fresh servers).", "",
             "| Mode | messages/s (median) | range | p50 ms | server CPU, cores | vs open |",
             "|---|---:|---|---:|---:|---:|"]
    for k, v in runs.items():
        rates = [r.get("msgs_per_s", 0) for r in v]
        lines.append(f"| {k} | {med[k]:,.0f} | {min(rates):,.0f}–{max(rates):,.0f} | {p50[k]:.2f} | "
                     f"{cpu[k]:.2f} | {med[k] / base:.2f}× |")
    md = "\n".join(lines) + "\n"
    out, raw = common.write_report(md, {"runs": runs, "medians": med}, args.out)
    log(f"wrote {out} and {raw}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
