#!/usr/bin/env python3
"""S3 and SNS benchmark: Stratus and moto_server side by side, plus S3 PUT -> function start
latency on Stratus.

One command (a few minutes; needs cargo, Python with boto3, moto_server):

    bench/push_bench.py                    # options: --servers moto, --no-build, --skip-latency

Starts durable Stratus (fresh temp --data-dir, STRATUS_LOG_LEVEL=warn) and moto_server on free
127.0.0.1 ports, one after the other, and per server runs:

- S3 PutObject and GetObject at 1 KiB and 1 MiB with `stratus-loadgen --workload s3-put|s3-get`
  (path style, SigV4 service s3), plus a boto3 put_object loop (1 KiB);
- SNS Publish to a topic with one SQS subscriber (`stratus-loadgen --workload sns-publish`, then
  a boto3 publish loop), each on a fresh topic + queue; after each run the queue is polled with
  boto3 until it holds as many messages as were published (bounded wait), giving the delivered
  count and the time until the last one arrived.

Then, on Stratus only (moto runs Lambda only in Docker): a python3.12 function subscribed to a
bucket's s3:ObjectCreated:* notifications; after a warm-up, N PUTs spaced --latency-gap apart,
each preceded by `time.time()`; the handler's first statement takes `time.time()` and logs it with
the object key (read back with FilterLogEvents). Reported: p50/p90/p99 of handler start - sender
time.

Markdown goes to stdout and bench/results/push-latest.md (raw figures in push-latest.json, server
and client output in results/push-logs/). A server that lacks S3 or SNS gets "n/a (error ...)"
rows. Every run is bounded in time and request count, everything targets 127.0.0.1, and only the
processes started here are stopped, by PID.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

import lambda_bench as lb  # noqa: E402  (signed http.client client, function packages, stats)
import run as common  # noqa: E402  (process helpers: spawn, free ports, readiness, stop by PID)

log = common.log
REGION = lb.REGION
KIB, MIB = 1024, 1024 * 1024

# The handler's first statement takes the time; one log line per record.
S3_HANDLER = """
import json, time
def handler(event, context):
    start = time.time()
    for r in event.get("Records", []):
        s3 = r.get("s3", {})
        print("BENCH_S3 " + json.dumps({"key": s3.get("object", {}).get("key"), "start": start,
                                        "event_time": r.get("eventTime")}))
    return {}
"""


class Budget(BaseException):
    """The run exceeded --budget (a BaseException, so the per-row `except Exception` lets it through)."""


def boto3_client(service: str, port: int, timeout: float = 10.0):
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()  # one per thread: sessions are not thread-safe
    return session.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION,
                          aws_access_key_id="test", aws_secret_access_key="test",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=timeout,
                                        read_timeout=timeout, s3={"addressing_style": "path"}))


def short_error(e: BaseException | str) -> str:
    """One line for a table cell: an XML error reply shortened to its Code and Message."""
    text = str(e).strip().removeprefix("stratus-loadgen: ")
    code, message = re.search(r"<Code>(.*?)</Code>", text), re.search(r"<Message>(.*?)</Message>", text)
    if code:
        text = text[:text.find("<")].rstrip(": ") + f": {code.group(1)}" + (f": {message.group(1)}" if message else "")
    text = text.replace("\n", " ").replace("|", "/")
    return text[:200] + ("…" if len(text) > 200 else "")


# --------------------------------------------------------------------------- #
# clients


def run_loadgen(loadgen: Path, server: common.Server, workload: str, conns: int, args, logs: Path,
                extra: list[str], max_requests: int) -> dict:
    """One stratus-loadgen run; its JSON report plus the server's CPU in the measured window."""
    cmd = [str(loadgen), "--endpoint", f"http://127.0.0.1:{server.port}", "--workload", workload,
           "--connections", str(conns), "--duration", str(args.duration), "--warmup", str(args.warmup),
           "--max-requests", str(max_requests), "--timeout", "10", "--json", *extra]
    limit = args.warmup + args.duration + 60 + 60  # + the s3-get uploads (--prefill-secs 60)
    res = common.run_json_client(cmd, server.pid, limit, logs / "loadgen.log")
    if "error" in res:
        return res
    if res.get("requests_ok", 0) == 0:
        res["error"] = res.get("first_error") or "no request succeeded"
    return res


def boto3_loop(make_client, call, threads: int, warmup: float, duration: float, max_calls: int) -> dict:
    """`call(client, thread, n)` in `threads` threads (one client each) for warmup + duration s,
    at most max_calls calls in all; latency quantiles over the measured window."""
    clients = [make_client() for _ in range(threads)]
    start = time.perf_counter()
    measure, end = start + warmup, start + warmup + duration
    lock = threading.Lock()
    state = {"issued": 0, "ok_all": 0, "errors": 0, "first_error": None}
    lat: list[list[float]] = [[] for _ in range(threads)]

    def worker(i: int) -> None:
        n = 0
        while True:
            with lock:
                if time.perf_counter() >= end or state["issued"] >= max_calls:
                    return
                state["issued"] += 1
            t0 = time.perf_counter()
            try:
                call(clients[i], i, n)
                ok = True
            except Exception as e:  # noqa: BLE001  (any client error counts as a failed request)
                ok = False
                with lock:
                    state["first_error"] = state["first_error"] or short_error(e)
                    state["errors"] += t0 >= measure
                time.sleep(0.02)
            dt = time.perf_counter() - t0
            n += 1
            if ok:
                with lock:
                    state["ok_all"] += 1
                if t0 >= measure:
                    lat[i].append(dt * 1000)

    ts = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=warmup + duration + 30)
    stopped = time.perf_counter()
    all_lat = [x for per in lat for x in per]
    el = max(1e-9, min(stopped, max(end, measure)) - measure)
    res = {"tool": "boto3", "connections": threads, "requests_ok": len(all_lat), "requests_ok_all": state["ok_all"],
           "errors": state["errors"], "first_error": state["first_error"], "ops_per_s": len(all_lat) / el,
           "duration_s": el}
    if all_lat:
        s = lb.summary(all_lat)
        res["latency_ms"] = {k: s[k] for k in ("p50", "p90", "p99", "max", "mean")}
    else:
        res["error"] = state["first_error"] or "no request succeeded"
    return res


# --------------------------------------------------------------------------- #
# per-server runs


def wait_delivered(sqs, queue_url: str, want: int, t_done: float, max_wait: float) -> dict:
    """Polls the queue depth (every 20 ms, with a client made before the run) until it reaches
    `want`, it stops growing for 5 s, or max_wait passes. Returns the count and, when all arrived,
    the seconds from t_done to the answer of the first poll that saw them all (an upper bound)."""
    deadline = time.perf_counter() + max_wait
    count, last_change, last_count, polls = 0, t_done, -1, 0
    while True:
        try:
            attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
            count = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
        except Exception as e:  # noqa: BLE001
            return {"delivered": None, "delivery_error": short_error(e)}
        polls += 1
        now = time.perf_counter()
        if count != last_count:
            last_count, last_change = count, now
        if count >= want or now >= deadline or now - last_change > 5.0:
            break
        time.sleep(0.02)
    out = {"delivered": count, "published": want, "all_delivered": count >= want, "delivery_polls": polls}
    if count >= want:
        out["delivery_s"] = round(max(0.0, last_change - t_done), 4)
    return out


def with_server_cpu(server: common.Server, run) -> dict:
    """Runs `run()` (a client run returning a report with duration_s) while sampling the server's
    CPU; adds its cores over the last duration_s seconds."""
    sampler = common.CpuSampler(server.pid)
    sampler.start()
    try:
        res = run()
    finally:
        end = time.perf_counter()
        sampler.stop()
    res["server_cpu_cores"] = sampler.cores_between(end - float(res.get("duration_s") or 0), end)
    return res


def sns_setup(port: int, name: str):
    """A fresh queue and topic, the queue subscribed (raw delivery off, as by default). Returns the
    topic ARN, the queue URL and the SQS client (for the delivery check)."""
    sqs, sns = boto3_client("sqs", port), boto3_client("sns", port)
    qurl = sqs.create_queue(QueueName=name)["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=qurl, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name=name)["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    return topic, qurl, sqs


def run_server(server: common.Server, args, loadgen: Path, logs: Path, env, results: dict, tag: str) -> None:
    log(f"starting {server.label}")
    entry = results["servers"].setdefault(server.key, {"label": server.label})
    try:
        entry["ready_s"] = server.start(logs / f"{server.key}.log", timeout=60, env=env)
    except RuntimeError as e:
        log(f"  {e}")
        entry["error"] = str(e)
        return
    conns = args.moto_connections if server.is_moto else args.connections
    acct = lb.CpuAccount()
    acct.server_pid = server.pid
    acct.reset()

    def add(row: dict) -> None:
        row["server"] = server.key
        results["runs"].append(row)
        if "latency_ms" in row:
            extra = f", {row['mb_per_s']:.1f} MB/s" if row.get("mb_per_s") is not None else ""
            log(f"    {row['ops_per_s']:.0f} ops/s{extra}, p50 {row['latency_ms']['p50']:.2f} ms, "
                f"p99 {row['latency_ms']['p99']:.2f} ms, errors {row['errors']}")
        else:
            log(f"    n/a: {row.get('error')}")

    try:
        bucket = f"bench-push-{tag}"
        for op, workload in (("PutObject", "s3-put"), ("GetObject", "s3-get")):
            for size in (KIB, MIB):
                log(f"  {server.key:<8} loadgen {workload} {size // KIB} KiB x{conns}")
                # bounds the bytes written too: at most ~4 GiB per run
                cap = min(args.max_requests, max(1000, (4 << 30) // size))
                extra = ["--bucket", bucket, "--object-size", str(size), "--objects", str(args.objects),
                         "--prefill-secs", "60"]
                r = run_loadgen(loadgen, server, workload, conns, args, logs, extra, cap)
                r.update(client="loadgen", kind="s3", op=op, object_size=size)
                add(r)
        if not args.no_boto3:
            log(f"  {server.key:<8} boto3   put_object 1 KiB x{args.boto3_threads}")
            body = b"b" * KIB
            try:
                boto3_client("s3", server.port).create_bucket(Bucket=bucket)
                r = with_server_cpu(server, lambda: boto3_loop(
                    lambda: boto3_client("s3", server.port),
                    lambda c, i, n: c.put_object(Bucket=bucket, Key=f"boto3/{i}/{n}", Body=body),
                    args.boto3_threads, args.warmup, args.duration, args.max_requests))
            except Exception as e:  # noqa: BLE001
                r = {"error": short_error(e)}
            r.update(client="boto3", kind="s3", op="PutObject", object_size=KIB)
            add(r)

        clients = ["loadgen"] + ([] if args.no_boto3 else ["boto3"])
        for client in clients:
            n = conns if client == "loadgen" else args.boto3_threads
            log(f"  {server.key:<8} {client:<7} sns publish (1 SQS subscriber) x{n}")
            name = f"bench-push-{client}-{tag}"
            try:
                topic, qurl, sqs = sns_setup(server.port, name)
            except Exception as e:  # noqa: BLE001
                add({"client": client, "kind": "sns", "op": "Publish", "error": short_error(e)})
                continue
            msg = "m" * args.body_size
            if client == "loadgen":
                r = run_loadgen(loadgen, server, "sns-publish", n, args, logs,
                                ["--topic-arn", topic, "--body-size", str(args.body_size)], args.max_requests)
            else:
                r = with_server_cpu(server, lambda: boto3_loop(
                    lambda: boto3_client("sns", server.port),
                    lambda c, i, k: c.publish(TopicArn=topic, Message=msg),
                    n, args.warmup, args.duration, args.max_requests))
            t_done = time.perf_counter()
            published = r.get("requests_ok_all") or 0
            if published:
                r.update(wait_delivered(sqs, qurl, published, t_done, args.delivery_wait))
                log(f"    delivered {r.get('delivered')}/{published}"
                    + (f", all within {r['delivery_s'] * 1000:.0f} ms ({r['delivery_polls']} polls)"
                       if r.get("delivery_s") is not None else ""))
            r.update(client=client, kind="sns", op="Publish")
            add(r)
        st = common.proc_status(server.pid)
        entry["rss_end_kib"], entry["hwm_kib"] = st.get("VmRSS"), st.get("VmHWM")
        if server.data_dir and not server.is_moto:
            entry["data_dir_bytes"] = sum(f.stat().st_size for f in server.data_dir.rglob("*") if f.is_file())

        if not server.is_moto and not args.skip_latency:
            log(f"S3 PUT -> function start: {args.latency_puts} PUTs, {args.latency_gap * 1000:.0f} ms apart")
            try:
                results["latency"] = s3_to_function(server.port, tag, args, logs)
                s = results["latency"]["start_minus_sender_ms"]
                if s.get("n"):
                    log(f"  handler start - sender: p50 {s['p50']:.2f} ms, p99 {s['p99']:.2f} ms "
                        f"({results['latency']['n_seen']}/{args.latency_puts} seen)")
                else:
                    log("  no handler start seen")
            except Exception as e:  # noqa: BLE001  (n/a row rather than an abort)
                results["latency"] = {"error": short_error(e)}
                log(f"  n/a: {short_error(e)}")
        if server.proc and server.proc.poll() is not None:
            entry["error"] = f"server exited with {server.proc.returncode} during the run"
        entry["cpu"] = acct.phase(server.label)
    finally:
        server.stop()
        if server.data_dir:
            shutil.rmtree(server.data_dir, ignore_errors=True)


def s3_to_function(port: int, tag: str, args, logs_dir: Path) -> dict:
    """S3 PUT -> handler start, mirroring lambda_bench's SQS -> function measurement."""
    lam, s3, logs = boto3_client("lambda", port), boto3_client("s3", port), boto3_client("logs", port)
    cli = lb.Signed(port, timeout=10)
    bucket, fn = f"bench-notify-{tag}", f"bench-s3-{tag}"
    try:
        s3.create_bucket(Bucket=bucket)
        arn = cli.create_function(fn, "python3.12", "app.handler", lb.zip_of({"app.py": S3_HANDLER}))["FunctionArn"]
        lam.add_permission(FunctionName=fn, StatementId="s3-invoke", Action="lambda:InvokeFunction",
                           Principal="s3.amazonaws.com", SourceArn=f"arn:aws:s3:::{bucket}")
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
        # Warm the environment: a direct invoke, then unmeasured PUTs through the notification.
        lb.invoke_ok(*cli.invoke(fn, b'{"Records": []}'), "warm-up invoke of the S3 function")
        body = b"x" * args.latency_size
        sha = hashlib.sha256(body).hexdigest()

        def put(key: str) -> tuple[float, float, float]:
            t = time.time()
            ts = time.perf_counter()
            st, _, data = cli.call("PUT", f"/{bucket}/{key}", "s3", body,
                                   {"Content-Type": "application/octet-stream", "X-Amz-Content-SHA256": sha})
            call_ms = (time.perf_counter() - ts) * 1000
            if st != 200:
                raise RuntimeError(f"PUT {key}: HTTP {st}: {data[:300]!r}")
            return t, time.time(), call_ms

        sent, acked, call_ms = {}, {}, []
        for i in range(-5, args.latency_puts):
            key = f"lat/{'w' if i < 0 else ''}{abs(i)}"
            sent[key], acked[key], ms = put(key)
            if i >= 0:
                call_ms.append(ms)
            time.sleep(args.latency_gap)
        wanted = {f"lat/{i}" for i in range(args.latency_puts)}
        seen = collect_log_records(logs, f"/aws/lambda/{fn}", "BENCH_S3", wanted, args.delivery_wait)
    finally:
        cli.close()
    measured = [seen[k] for k in sorted(wanted) if k in seen]
    lat = [(r["start"] - sent[r["key"]]) * 1000 for r in measured]
    lat_ack = [(r["start"] - acked[r["key"]]) * 1000 for r in measured]
    lat_event = []
    for r in measured:
        et = parse_event_time(r.get("event_time"))
        if et is not None:
            lat_event.append((r["start"] - et) * 1000)
    (logs_dir / "s3-records.json").write_text(json.dumps([seen[k] for k in sorted(seen)], indent=1))
    return {"n_sent": args.latency_puts, "n_seen": len(measured), "warmup_puts": 5,
            "gap_ms": args.latency_gap * 1000, "object_size": args.latency_size,
            "start_minus_sender_ms": lb.summary(lat), "start_minus_ack_ms": lb.summary(lat_ack),
            "start_minus_event_time_ms": lb.summary(lat_event), "put_call_ms": lb.summary(call_ms)}


def parse_event_time(value) -> float | None:
    import datetime as dt

    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def collect_log_records(logs, group: str, marker: str, wanted: set[str], max_wait: float) -> dict[str, dict]:
    """Reads `marker {json}` lines of a log group (FilterLogEvents, paged) until every wanted key
    was seen or max_wait passes."""
    seen: dict[str, dict] = {}
    deadline = time.monotonic() + max_wait
    while True:
        token = None
        for _ in range(100):
            kw = {"logGroupName": group, "filterPattern": marker}
            if token:
                kw["nextToken"] = token
            try:
                page = logs.filter_log_events(**kw)
            except Exception:  # noqa: BLE001  (group not there yet)
                break
            for e in page.get("events", []):
                msg = e.get("message", "")
                if f"{marker} " in msg:
                    try:
                        rec = json.loads(msg.split(f"{marker} ", 1)[1].strip())
                    except ValueError:
                        continue
                    if rec.get("key"):
                        seen[rec["key"]] = rec
            token = page.get("nextToken")
            if not token:
                break
        if wanted <= seen.keys() or time.monotonic() >= deadline:
            return seen
        time.sleep(0.2)


# --------------------------------------------------------------------------- #
# report


def f2(x, d=2) -> str:
    return "–" if x is None else f"{x:,.{d}f}"


def size_label(n: int) -> str:
    return f"{n // MIB} MiB" if n >= MIB and n % MIB == 0 else f"{n // KIB} KiB" if n % KIB == 0 else f"{n} B"


def render(results: dict, args) -> str:
    m = results["meta"]
    labels = {k: s["label"] for k, s in results["servers"].items()}
    o = [f"# Stratus S3 / SNS benchmark ({m['date']})", "",
         f"- Machine: {m['cpu']} ({m['cores']} cores), {m['mem_gib']} GiB RAM, Linux {m['kernel']}",
         (f"- Stratus {m.get('stratus_version') or '?'} (commit {m.get('commit') or '?'}), durable (fresh temp "
          "--data-dir, fsync), STRATUS_LOG_LEVEL=warn; " if "stratus" in results["servers"] else
          f"- Commit {m.get('commit') or '?'}; ")
         + f"moto {m.get('moto_version') or '?'}, boto3 {m.get('boto3_version') or '?'}, Python {m['python']}",
         f"- Each run: {args.warmup:g} s warm-up + {args.duration:g} s measured. stratus-loadgen connections: "
         f"{args.connections} against Stratus, {args.moto_connections} against moto_server; boto3: "
         f"{args.boto3_threads} threads in one process. Client and server share the same cores (loopback).",
         f"- Load average at start {m.get('load_start')}, at end {m.get('load_end')}; run took {m.get('total_s')} s.",
         ""]
    s3_rows = [r for r in results["runs"] if r.get("kind") == "s3"]
    if s3_rows:
        o += ["## S3 PutObject / GetObject", "",
              "Path-style requests (`PUT|GET /{bucket}/{key}`, SigV4 service `s3`, `x-amz-content-sha256` = "
              "the payload's SHA-256). PutObject writes a new key per request; GetObject first uploads "
              f"{args.objects} objects, then reads them round-robin and checks each body's length. "
              "MB/s = 10^6 bytes of object data per second.", "",
              "| Server | Client | Operation | Object | Conns | ops/s | MB/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU, cores |",
              "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in s3_rows:
            head = (f"| {labels.get(r['server'], r['server'])} | {client_label(r)} | {r['op']} | "
                    f"{size_label(r['object_size'])} |")
            if "latency_ms" not in r:
                o.append(f"{head} – | n/a (error: {short_error(r.get('error', '?'))}) | | | | | | | |")
                continue
            lat = r["latency_ms"]
            mbps = r.get("mb_per_s")
            if mbps is None:
                mbps = r["ops_per_s"] * r["object_size"] / 1e6
            o.append(f"{head} {r['connections']} | {f2(r['ops_per_s'], 0)} | {f2(mbps, 1)} | {f2(lat['p50'])} | "
                     f"{f2(lat['p90'])} | {f2(lat['p99'])} | {f2(lat['max'])} | {r['errors']} | "
                     f"{f2(r.get('server_cpu_cores'))} |")
        o.append("")
    sns_rows = [r for r in results["runs"] if r.get("kind") == "sns"]
    if sns_rows:
        o += ["## SNS Publish, one SQS subscriber", "",
              f"Publish (query protocol, {args.body_size} B message) to a fresh topic whose only subscription "
              "is a fresh SQS queue. *Published* counts every successful Publish, warm-up included; "
              "*delivered* is the queue's ApproximateNumberOfMessages, polled with boto3 every 20 ms after "
              f"the run until it reaches that count (or stops growing for 5 s, at most {args.delivery_wait:g} s); "
              "*all delivered within* = from the client's exit to the answer of the first poll that saw them "
              "all (an upper bound; \"first poll\": they were all there when the first poll answered).", "",
              "| Server | Client | Conns | Publish/s | p50 ms | p90 ms | p99 ms | max ms | errors | published | delivered | all delivered within | server CPU, cores |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in sns_rows:
            head = f"| {labels.get(r['server'], r['server'])} | {client_label(r)} |"
            if "latency_ms" not in r:
                o.append(f"{head} – | n/a (error: {short_error(r.get('error', '?'))}) | | | | | | | | | |")
                continue
            lat = r["latency_ms"]
            if r.get("delivered") is None:
                delivered, after = f"? ({r.get('delivery_error', 'not checked')})", "–"
            else:
                delivered = f"{r['delivered']:,}"
                if not r.get("all_delivered"):
                    after = "not all"
                else:
                    after = f"{r['delivery_s'] * 1000:,.1f} ms" + (" (first poll)" if r.get("delivery_polls") == 1 else "")
            o.append(f"{head} {r['connections']} | {f2(r['ops_per_s'], 0)} | {f2(lat['p50'])} | {f2(lat['p90'])} | "
                     f"{f2(lat['p99'])} | {f2(lat['max'])} | {r['errors']} | {r.get('requests_ok_all', 0):,} | "
                     f"{delivered} | {after} | {f2(r.get('server_cpu_cores'))} |")
        o.append("")
    lat = results.get("latency")
    if lat is not None:
        o += ["## S3 PUT → function start (Stratus)", ""]
        if "error" in lat:
            o += [f"n/a (error: {lat['error']})", ""]
        else:
            o += [f"A python3.12 function subscribed to the bucket's `s3:ObjectCreated:*` notifications "
                  f"(LambdaFunctionConfigurations, permission for `s3.amazonaws.com`), warmed by a direct invoke "
                  f"and {lat['warmup_puts']} unmeasured PUTs; then {lat['n_sent']} PutObject calls of "
                  f"{lat['object_size']} B, {lat['gap_ms']:.0f} ms apart, each on one keep-alive connection "
                  "signed with botocore. The sender takes `time.time()` just before signing and sending; the "
                  "handler's first statement takes `time.time()` (same machine, same clock) and logs it with "
                  f"the key, read back from CloudWatch Logs. {lat['n_seen']} of {lat['n_sent']} seen"
                  + (f"; with {lat['n_seen']} samples p99 is the maximum." if lat["n_seen"] < 100 else "."), "",
                  "| Measure | n | p50 ms | p90 ms | p99 ms | min ms | max ms |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
            for label, s in (("handler start − sender's time before the PUT", lat["start_minus_sender_ms"]),
                             ("handler start − PUT response received", lat["start_minus_ack_ms"]),
                             ("handler start − the record's eventTime (ms precision)",
                              lat["start_minus_event_time_ms"]),
                             ("PutObject call (sign → response)", lat["put_call_ms"])):
                if s.get("n"):
                    o.append(f"| {label} | {s['n']} | {s['p50']:.2f} | {s['p90']:.2f} | {s['p99']:.2f} | "
                             f"{s['min']:.2f} | {s['max']:.2f} |")
            o.append("")
    elif args.skip_latency:
        o += ["S3 PUT → function start: skipped (--skip-latency).", ""]
    elif "stratus" not in results["servers"]:
        o += ["S3 PUT → function start: not measured (Stratus not in --servers).", ""]
    if "moto" in results["servers"]:
        o += ["moto_server has no S3 → function row: it runs Lambda functions only in Docker containers.", ""]
    cpu = [(s["label"], s["cpu"]) for s in results["servers"].values() if s.get("cpu")]
    if cpu:
        o += ["## Noise: CPU use while each server was measured", "",
              "Cores busy on the whole machine (/proc/stat), of which this benchmark's processes (this script "
              "and its boto3 threads, stratus-loadgen, the server and its functions) and other processes. "
              "Figures from a phase where other processes took a noticeable share of the cores are not "
              "comparable with a quiet run.", "",
              "| Server phase | wall s | machine busy, cores | this benchmark | other processes |",
              "|---|---:|---:|---:|---:|"]
        for label, r in cpu:
            o.append(f"| {label} | {r['wall_s']} | {r['machine_cores']:.2f} | {r['ours_cores']:.2f} | "
                     f"{r['others_cores']:.2f} |")
        o.append("")
    notes = [f"- {n}" for n in results.get("notes", [])]
    for key, s in results["servers"].items():
        if s.get("error"):
            notes.append(f"- {s['label']}: {s['error']}")
        if s.get("data_dir_bytes") is not None:
            notes.append(f"- {s['label']}: data directory held {s['data_dir_bytes'] / 2**20:,.1f} MiB after the runs.")
    for r in results["runs"]:
        if r.get("first_error") and "latency_ms" in r:
            notes.append(f"- {labels.get(r['server'], r['server'])} / {client_label(r)} / {r['op']}: first error: "
                         f"`{short_error(r['first_error'])}`")
    if notes:
        o += ["## Notes", ""] + notes + [""]
    return "\n".join(o)


def client_label(r: dict) -> str:
    return "stratus-loadgen" if r.get("client") == "loadgen" else "boto3"


# --------------------------------------------------------------------------- #


SERVER_KEYS = ("stratus", "moto")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="S3 / SNS benchmark: Stratus vs moto_server, and S3 PUT -> "
                                "function start latency on Stratus.")
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds per run (default 5)")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per run (default 1)")
    p.add_argument("--servers", default="stratus,moto", help="comma list of stratus (durable), moto")
    p.add_argument("--connections", type=int, default=16, help="stratus-loadgen connections vs Stratus")
    p.add_argument("--moto-connections", type=int, default=4, help="stratus-loadgen connections vs moto_server")
    p.add_argument("--boto3-threads", type=int, default=4)
    p.add_argument("--no-boto3", action="store_true", help="skip the boto3 rows")
    p.add_argument("--objects", type=int, default=100, help="objects read round-robin by GetObject runs")
    p.add_argument("--body-size", type=int, default=256, help="SNS message size, bytes")
    p.add_argument("--max-requests", type=int, default=2_000_000, help="cap per client run")
    p.add_argument("--delivery-wait", type=float, default=30.0,
                   help="longest wait for SNS deliveries / function log lines, seconds")
    p.add_argument("--skip-latency", action="store_true", help="skip S3 PUT -> function start")
    p.add_argument("--latency-puts", type=int, default=50)
    p.add_argument("--latency-gap", type=float, default=0.1, help="seconds between latency PUTs")
    p.add_argument("--latency-size", type=int, default=1024, help="object size of the latency PUTs")
    p.add_argument("--no-build", action="store_true", help="use existing release binaries")
    p.add_argument("--target-dir", default=os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target")))
    p.add_argument("--loadgen", default=None, help="path of stratus-loadgen (default: target dir)")
    p.add_argument("--stratus", default=None, help="path of stratus (default: target dir)")
    p.add_argument("--budget", type=float, default=900.0, help="hard limit on the whole run, seconds")
    p.add_argument("--out", default=str(RESULTS / "push-latest.md"))
    a = p.parse_args(argv)
    # "stratus-durable" as in run.py
    a.servers = [{"stratus-durable": "stratus"}.get(s, s) for s in a.servers.split(",") if s]
    if set(a.servers) - set(SERVER_KEYS) or not a.servers:
        p.error(f"--servers: comma list of {', '.join(SERVER_KEYS)}")
    if not (0 < a.duration <= 600 and 0 <= a.warmup <= 60 and 1 <= a.latency_puts <= 1000
            and 0 <= a.latency_gap <= 5 and 1 <= a.objects <= 10_000 and 1 <= a.body_size <= 262_144
            and 1 <= a.connections <= 1024 and 1 <= a.moto_connections <= 1024 and 1 <= a.boto3_threads <= 64
            and 0 < a.delivery_wait <= 600 and 1 <= a.latency_size <= 16 * MIB and 30 <= a.budget <= 7200):
        p.error("an option is out of range (see --help)")
    return a


def main(argv=None) -> int:
    args = parse_args(argv)
    target = Path(args.target_dir)
    stratus = Path(args.stratus) if args.stratus else target / "release" / "stratus"
    loadgen = Path(args.loadgen) if args.loadgen else target / "release" / "stratus-loadgen"
    want_stratus = "stratus" in args.servers

    if not args.no_build:
        pkgs = (["-p", "stratus"] if want_stratus and not args.stratus else []) + \
               ([] if args.loadgen else ["-p", "stratus-loadgen"])
        if pkgs:
            log(f"cargo build --release {' '.join(pkgs)}")
            env = dict(os.environ, CARGO_TARGET_DIR=str(target))
            if subprocess.run(["cargo", "build", "--release", *pkgs], cwd=ROOT, env=env).returncode != 0:
                log("build failed")
                return 2
    if want_stratus and not stratus.exists():
        log(f"missing {stratus} (build it, or pass --servers moto)")
        return 2
    if not loadgen.exists():
        log(f"missing {loadgen}")
        return 2
    help_text = subprocess.run([str(loadgen), "--help"], capture_output=True, text=True, timeout=20).stdout
    if "s3-put" not in help_text or "sns-publish" not in help_text:
        log(f"{loadgen} has no s3-put / sns-publish workload (rebuild it, without --no-build)")
        return 2
    moto = common.find_moto()
    if "moto" in args.servers and not moto:
        log("moto_server not found (pip install 'moto[server]'), or pass --servers stratus")
        return 2

    logs = common.fresh_logs("push-logs")
    tmp = Path(tempfile.mkdtemp(prefix="stratus-push-bench-"))
    env = dict(os.environ, STRATUS_LOG_LEVEL="warn", RUST_LOG="warn")
    servers = common.peer_servers(stratus, moto, tmp)
    meta = common.meta_info(stratus if want_stratus else None)
    meta["load_start"] = lb.loadavg()
    results = {"meta": meta, "servers": {}, "runs": [], "args": vars(args)}

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
        for key in args.servers:
            run_server(servers[key], args, loadgen, logs, env, results, tag)
    except Budget as e:
        results.setdefault("notes", []).append(str(e))
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
    if rc == 0 and not any("latency_ms" in r for r in results["runs"]):
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
