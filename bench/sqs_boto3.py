#!/usr/bin/env python3
"""boto3 load client for SQS-compatible endpoints (Stratus benchmark harness).

Runs the same three workloads as `stratus-loadgen` -- send, send-batch and
receive-delete -- with boto3 from one process and a few threads, and prints
the same figures (ops/s, messages/s, p50/p90/p99/max latency), or one JSON
line with --json.

boto3 spends most of each call in Python (request building, signing, parsing,
all under the GIL), so a single process tops out near ~1,500 calls/s whatever
the server: this measures what a typical Python application sees, not the
server's ceiling.

Only loopback endpoints are accepted; every run is bounded by --duration and
--max-requests.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import socket
import sys
import threading
import time
from urllib.parse import urlparse

try:
    import boto3
    from botocore.config import Config
except ImportError:  # pragma: no cover - environment problem
    sys.stderr.write("sqs_boto3.py needs boto3: pip install boto3\n")
    sys.exit(2)

WORKLOADS = ("send", "send-batch", "receive-delete")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", required=True, help="e.g. http://127.0.0.1:4566 (loopback only)")
    p.add_argument("--workload", required=True, choices=WORKLOADS)
    p.add_argument("--threads", "--connections", dest="threads", type=int, default=4,
                   help="client threads, one boto3 client (and connection) each")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds (after --warmup)")
    p.add_argument("--warmup", type=float, default=0.0, help="seconds of unmeasured load first")
    p.add_argument("--queue", default=None, help="queue name (default loadgen-py-<workload>)")
    p.add_argument("--body-size", type=int, default=256, help="message body bytes")
    p.add_argument("--max-requests", type=int, default=2_000_000, help="hard cap on requests")
    p.add_argument("--prefill", type=int, default=20_000,
                   help="receive-delete: messages to put in the queue first")
    p.add_argument("--prefill-secs", type=float, default=60.0,
                   help="receive-delete: stop pre-filling after this many seconds")
    p.add_argument("--timeout", type=float, default=30.0, help="per-request read timeout, seconds")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    a = p.parse_args(argv)
    if not 1 <= a.threads <= 256:
        p.error("--threads must be 1..256")
    if not 0 < a.duration <= 3600 or not 0 <= a.warmup <= 3600:
        p.error("--duration must be in (0, 3600], --warmup in [0, 3600]")
    if not 1 <= a.body_size <= 262_144:
        p.error("--body-size must be 1..262144")
    return a


def check_loopback(endpoint: str) -> None:
    u = urlparse(endpoint)
    if u.scheme != "http" or not u.hostname:
        raise SystemExit(f"--endpoint must be http://HOST:PORT, got {endpoint!r}")
    infos = socket.getaddrinfo(u.hostname, u.port or 80, proto=socket.IPPROTO_TCP)
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        mapped = getattr(ip, "ipv4_mapped", None)
        if not (ip.is_loopback or (mapped is not None and mapped.is_loopback)):
            raise SystemExit(
                f"refusing non-loopback endpoint {u.hostname} ({ip}); only this machine is a target"
            )


def make_client(args):
    session = boto3.session.Session()
    return session.client(
        "sqs",
        endpoint_url=args.endpoint,
        region_name=args.region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(
            retries={"total_max_attempts": 1},
            max_pool_connections=2,
            connect_timeout=5,
            read_timeout=args.timeout,
            tcp_keepalive=True,
        ),
    )


def percentile(sorted_ns, q):
    if not sorted_ns:
        return 0
    rank = max(1, math.ceil(q * len(sorted_ns)))
    return sorted_ns[min(rank, len(sorted_ns)) - 1]


class Run:
    def __init__(self, args, queue_url, measure_start, deadline):
        self.args = args
        self.queue_url = queue_url
        self.measure_start = measure_start
        self.deadline = deadline
        self.lock = threading.Lock()
        self.issued = 0
        self.stop = threading.Event()

    def admit(self) -> bool:
        if self.stop.is_set() or time.perf_counter() >= self.deadline:
            return False
        with self.lock:
            self.issued += 1
            return self.issued <= self.args.max_requests


class Stats:
    def __init__(self):
        self.ok = 0
        self.errors = 0
        self.messages = 0
        self.failed_entries = 0
        self.empty_receives = 0
        self.drained = False
        self.lat_ns = []
        self.first_error = None
        self.end = None


def entries(body):
    return [{"Id": f"m{i}", "MessageBody": body} for i in range(10)]


def worker(run: Run, client, stats: Stats):
    args = run.args
    body = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" * (args.body_size // 62 + 1))[: args.body_size]
    batch = entries(body)
    consecutive_empty = 0

    def call(fn, **kw):
        t0 = time.perf_counter()
        measured = t0 >= run.measure_start
        try:
            r = fn(**kw)
        except Exception as e:  # noqa: BLE001 - any failure is an error sample
            if measured:
                stats.errors += 1
            if stats.first_error is None:
                stats.first_error = f"{fn.__name__}: {type(e).__name__}: {e}"[:300]
            time.sleep(0.02)
            return None
        if measured:
            stats.ok += 1
            stats.lat_ns.append(int((time.perf_counter() - t0) * 1e9))
        return r

    def count(n):
        if time.perf_counter() >= run.measure_start:
            stats.messages += n

    while run.admit():
        if args.workload == "send":
            if call(client.send_message, QueueUrl=run.queue_url, MessageBody=body) is not None:
                count(1)
        elif args.workload == "send-batch":
            r = call(client.send_message_batch, QueueUrl=run.queue_url, Entries=batch)
            if r is not None:
                count(len(r.get("Successful", [])))
                stats.failed_entries += len(r.get("Failed", []))
        else:
            r = call(client.receive_message, QueueUrl=run.queue_url, MaxNumberOfMessages=10,
                     VisibilityTimeout=120, WaitTimeSeconds=0)
            if r is None:
                continue
            msgs = r.get("Messages", [])
            if not msgs:
                stats.empty_receives += 1
                consecutive_empty += 1
                if consecutive_empty >= 3:
                    stats.drained = True
                    run.stop.set()
                    break
                continue
            consecutive_empty = 0
            with run.lock:
                run.issued += 1
            d = call(client.delete_message_batch, QueueUrl=run.queue_url,
                     Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])
            if d is not None:
                count(len(d.get("Successful", [])))
                stats.failed_entries += len(d.get("Failed", []))
    stats.end = time.perf_counter()


def prefill(args, clients, queue_url):
    """SendMessageBatch over all clients until args.prefill messages or the budget."""
    started = time.perf_counter()
    deadline = started + args.prefill_secs
    lock = threading.Lock()
    state = {"claimed": 0, "sent": 0, "error": None, "requests": 0}
    body = ("x" * args.body_size)
    batch = entries(body)

    def fill(client):
        while time.perf_counter() < deadline:
            with lock:
                if state["claimed"] >= args.prefill or state["requests"] >= args.max_requests:
                    return
                state["claimed"] += 10
                state["requests"] += 1
            try:
                r = client.send_message_batch(QueueUrl=queue_url, Entries=batch)
                with lock:
                    state["sent"] += len(r.get("Successful", []))
            except Exception as e:  # noqa: BLE001
                with lock:
                    state["claimed"] -= 10
                    state["error"] = state["error"] or f"{type(e).__name__}: {e}"
                time.sleep(0.02)

    threads = [threading.Thread(target=fill, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if state["sent"] == 0:
        raise SystemExit(f"pre-fill sent no message: {state['error']}")
    return state["sent"], time.perf_counter() - started


def main(argv=None) -> int:
    args = parse_args(argv)
    check_loopback(args.endpoint)
    queue = args.queue or f"loadgen-py-{args.workload}"
    clients = [make_client(args) for _ in range(args.threads)]
    try:
        queue_url = clients[0].create_queue(QueueName=queue)["QueueUrl"]
    except Exception as e:  # noqa: BLE001
        sys.stderr.write(f"sqs_boto3.py: CreateQueue {queue} failed: {e}\n")
        return 2

    prefilled = None
    if args.workload == "receive-delete" and args.prefill > 0:
        prefilled = prefill(args, clients, queue_url)

    measure_start = time.perf_counter() + args.warmup
    run = Run(args, queue_url, measure_start, measure_start + args.duration)
    stats = [Stats() for _ in clients]
    threads = [threading.Thread(target=worker, args=(run, c, s), daemon=True) for c, s in zip(clients, stats)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.warmup + args.duration + args.timeout + 60)

    ends = [s.end for s in stats if s.end is not None]
    end = max(ends) if ends else time.perf_counter()
    elapsed = max(end - measure_start, 1e-9)
    ok = sum(s.ok for s in stats)
    errors = sum(s.errors for s in stats)
    messages = sum(s.messages for s in stats)
    failed = sum(s.failed_entries for s in stats)
    empty = sum(s.empty_receives for s in stats)
    drained = any(s.drained for s in stats)
    first_error = next((s.first_error for s in stats if s.first_error), None)
    lat = sorted(x for s in stats for x in s.lat_ns)
    ms = lambda ns: round(ns / 1e6, 3)  # noqa: E731
    p50, p90, p99 = (percentile(lat, q) for q in (0.5, 0.9, 0.99))
    mx = lat[-1] if lat else 0
    mean = (sum(lat) / len(lat)) if lat else 0

    if args.json:
        print(json.dumps({
            "tool": "sqs_boto3",
            "boto3": boto3.__version__,
            "endpoint": args.endpoint,
            "workload": args.workload,
            "queue": queue,
            "connections": args.threads,
            "threads": args.threads,
            "body_size": args.body_size,
            "duration_s": round(elapsed, 3),
            "requests_ok": ok,
            "errors": errors,
            "messages": messages,
            "failed_entries": failed,
            "empty_receives": empty,
            "drained": drained,
            "prefilled": prefilled[0] if prefilled else None,
            "prefill_s": round(prefilled[1], 3) if prefilled else None,
            "ops_per_s": round(ok / elapsed, 3),
            "msgs_per_s": round(messages / elapsed, 3),
            "latency_ms": {"p50": ms(p50), "p90": ms(p90), "p99": ms(p99), "max": ms(mx), "mean": ms(mean)},
            "first_error": first_error,
        }, sort_keys=True))
    else:
        print(f"sqs_boto3 (boto3 {boto3.__version__})  workload={args.workload}  endpoint={args.endpoint}  "
              f"queue={queue}  threads={args.threads}  body={args.body_size}B")
        if prefilled:
            print(f"  pre-filled   {prefilled[0]} messages in {prefilled[1]:.2f}s "
                  f"({prefilled[0] / max(prefilled[1], 1e-9):.0f} msg/s)")
        print(f"  duration     {elapsed:.2f}s{'  (queue drained: stopped early)' if drained else ''}")
        print(f"  requests     {ok} ok, {errors} errors")
        print(f"  ops/s        {ok / elapsed:.1f}")
        extra = (f", {failed} failed batch entries" if failed else "") + (f", {empty} empty receives" if empty else "")
        print(f"  messages/s   {messages / elapsed:.1f}  ({messages} messages{extra})")
        print(f"  latency ms   p50 {ms(p50):.3f}  p90 {ms(p90):.3f}  p99 {ms(p99):.3f}  "
              f"max {ms(mx):.3f}  mean {ms(mean):.3f}")
        if first_error:
            print(f"  first error  {first_error}")
    return 0 if ok > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
