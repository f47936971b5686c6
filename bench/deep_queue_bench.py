#!/usr/bin/env python3
"""SQS latency against queue depth: how ReceiveMessage and GetQueueAttributes slow down as a queue
holds more messages, on durable Stratus and (at the small depth only) moto_server.

One command (default depths 1,000 and 1,000,000; about 5-15 minutes, bounded by --budget):

    bench/deep_queue_bench.py                          # options: --depths 1000,50000, --servers stratus

Per server (started here on a free 127.0.0.1 port, one after the other: durable Stratus with a
fresh temp --data-dir and STRATUS_LOG_LEVEL=warn, then moto_server), per queue type (standard; FIFO
with --groups message groups, group ids round-robin, a unique deduplication id per message) and per
depth D (a fresh queue each):

1. fill the queue to D messages with SendMessageBatch (10 entries of --body-size bytes): standard
   queues with `stratus-loadgen --workload send-batch --max-requests D/10` when it is found, FIFO
   queues (and standard ones with --filler python) with --fill-workers Python processes, each on
   one keep-alive signed connection. Filling stops at --budget; the depth reached is reported;
2. GetQueueAttributes(AttributeNames=All), --calls sequential calls, then
3. ReceiveMessage(MaxNumberOfMessages=10, VisibilityTimeout=600, WaitTimeSeconds=0), --calls
   sequential calls: received messages stay in flight (not deleted, invisible for 10 minutes).

Both measurements use one keep-alive `http.client` connection signing with botocore's SigV4Auth
(bench/lambda_bench.py's client; about 0.06 ms of signing per call), so the client's share of the
latency is small and the same everywhere. moto_server closes the connection after every response,
so its figures include a TCP connect per call. moto_server is only filled to depths <=
--moto-max-depth (default 1,000): its per-message cost grows with depth, filling it to a million
would take hours.

Markdown goes to stdout and bench/results/deep-queue-latest.md (raw figures in
deep-queue-latest.json, server and client output in results/deep-queue-logs/). Everything targets
127.0.0.1, every loop is bounded in count and time, and only the processes started here are
stopped, by PID.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

import lambda_bench as lb  # noqa: E402  (signed keep-alive http.client client, stats)
import run as common  # noqa: E402  (process helpers: spawn, free ports, readiness, stop by PID)

log = common.log
SERVER_KEYS = ("stratus", "moto")
QUEUE_TYPES = ("standard", "fifo")


class Budget(BaseException):
    """The hard limit (--budget plus the measurement allowance) was reached."""


# --------------------------------------------------------------------------- #
# filling


_COUNTER = None  # in a fill process: the shared count of messages sent, and the stop flag
_STOP = None


def _fill_init(counter, stop) -> None:
    """Fill process set-up: default signal handling (the parent's handlers would stop the server
    and remove its data), no inherited process list, and the shared counter and stop flag."""
    global _COUNTER, _STOP
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    common.STARTED.clear()
    _COUNTER, _STOP = counter, stop


def _fill_worker(port: int, queue_url: str, fifo: bool, groups: int, body: str, tag: str, worker: int,
                 workers: int, batches: int, deadline: float) -> dict:
    """Sends batches worker, worker + workers, ... < batches (10 messages each; message i of the
    whole fill belongs to group i % groups) until done, the stop flag is set or the deadline passes."""
    counter, stop = _COUNTER, _STOP
    cli = lb.Signed(port, timeout=30)
    ok = failed = errors = 0
    first_error = None
    try:
        for b in range(worker, batches, workers):
            if stop.is_set() or time.time() >= deadline:
                break
            entries = []
            for j in range(10):
                i = b * 10 + j
                e = {"Id": f"m{j}", "MessageBody": body}
                if fifo:
                    e["MessageGroupId"] = f"g{i % groups}"
                    e["MessageDeduplicationId"] = f"{tag}-{i}"
                entries.append(e)
            try:
                r = cli.sqs("SendMessageBatch", {"QueueUrl": queue_url, "Entries": entries})
            except Exception as e:  # noqa: BLE001  (counted; a few are tolerated, then we stop)
                errors += 1
                first_error = first_error or str(e)[:300]
                if errors > 20:
                    break
                time.sleep(0.05)
                continue
            n_ok = len(r.get("Successful", []))
            n_failed = len(r.get("Failed", []))
            ok += n_ok
            failed += n_failed
            if n_failed and first_error is None:
                first_error = json.dumps(r["Failed"][0])[:300]
            with counter.get_lock():
                counter.value += n_ok
    finally:
        cli.close()
    return {"ok": ok, "failed": failed, "errors": errors, "first_error": first_error}


def fill_python(port: int, queue_url: str, fifo: bool, depth: int, args, tag: str, deadline: float) -> dict:
    """Fills with --fill-workers processes; logs progress every 10 s."""
    ctx = mp.get_context("fork")
    counter, stop = ctx.Value("q", 0), ctx.Event()
    batches = depth // 10
    body = "b" * args.body_size
    t0 = time.perf_counter()
    deadline_wall = time.time() + max(0.0, deadline - time.monotonic())
    with ctx.Pool(args.fill_workers, initializer=_fill_init, initargs=(counter, stop)) as pool:
        pending = [pool.apply_async(_fill_worker, (port, queue_url, fifo, args.groups, body, tag, w,
                                                   args.fill_workers, batches, deadline_wall))
                   for w in range(args.fill_workers)]
        last_log = time.perf_counter()
        while not all(p.ready() for p in pending):
            time.sleep(0.2)
            if time.perf_counter() - last_log >= 10:
                last_log = time.perf_counter()
                n = counter.value
                log(f"      {n:,} / {depth:,} ({n / (last_log - t0):,.0f} msg/s)")
            if time.monotonic() > deadline + 60:  # workers stop at the deadline; this is a backstop
                stop.set()
                break
        outs = [p.get(timeout=60) for p in pending]
    elapsed = time.perf_counter() - t0
    return {"filler": f"python x{args.fill_workers}", "sent": sum(o["ok"] for o in outs),
            "failed_entries": sum(o["failed"] for o in outs), "errors": sum(o["errors"] for o in outs),
            "first_error": next((o["first_error"] for o in outs if o["first_error"]), None),
            "fill_s": elapsed}


def fill_loadgen(loadgen: Path, server: common.Server, name: str, depth: int, args, logs: Path,
                 deadline: float) -> dict:
    """stratus-loadgen send-batch capped at depth/10 requests (standard queues only)."""
    secs = max(1.0, min(3600.0, deadline - time.monotonic()))
    conns = args.moto_connections if server.is_moto else args.connections
    cmd = [str(loadgen), "--endpoint", f"http://127.0.0.1:{server.port}", "--workload", "send-batch",
           "--queue", name, "--connections", str(conns), "--duration", f"{secs:.1f}", "--warmup", "0",
           "--max-requests", str(depth // 10), "--body-size", str(args.body_size), "--timeout", "30", "--json"]
    t0 = time.perf_counter()
    res = common.run_json_client(cmd, server.pid, secs + 60, logs / "loadgen.log")
    elapsed = time.perf_counter() - t0
    if "requests_ok_all" not in res:
        return {"filler": f"stratus-loadgen x{conns}", "sent": 0, "fill_s": elapsed,
                "errors": 1, "first_error": res.get("error")}
    return {"filler": f"stratus-loadgen x{conns}", "sent": res["requests_ok_all"] * 10 - res.get("failed_entries", 0),
            "failed_entries": res.get("failed_entries", 0), "errors": res.get("errors", 0),
            "first_error": res.get("first_error"), "fill_s": elapsed}


# --------------------------------------------------------------------------- #
# measuring


def timed_calls(cli: lb.Signed, action: str, params: dict, n: int, max_secs: float,
                deadline: float) -> tuple[list[float], list[dict], str | None]:
    """Up to n sequential calls, stopping after max_secs (or at the run's hard deadline).
    Returns the latencies (ms), the replies, and why it stopped early (None when all n were made)."""
    lat, replies = [], []
    end = min(time.monotonic() + max_secs, deadline)
    for _ in range(n):
        if time.monotonic() >= end:
            return lat, replies, f"stopped after {len(lat)} calls: --measure-secs {max_secs:g} s used up"
        t0 = time.perf_counter()
        try:
            r = cli.sqs(action, params)
        except (OSError, TimeoutError) as e:  # a call over --call-timeout ends the phase
            cli.close()
            return lat, replies, f"call {len(lat) + 1} failed after {time.perf_counter() - t0:.0f} s: {e}"
        lat.append((time.perf_counter() - t0) * 1000)
        replies.append(r)
    return lat, replies, None


def measure_queue(server: common.Server, qtype: str, depth: int, args, loadgen: Path | None, logs: Path,
                  tag: str, fill_deadline: float, hard_deadline: float) -> dict:
    fifo = qtype == "fifo"
    name = f"deep-{qtype}-{depth}-{tag}" + (".fifo" if fifo else "")
    cli = lb.Signed(server.port, timeout=args.call_timeout)
    row = {"server": server.key, "queue_type": qtype, "depth_target": depth}
    try:
        attrs = {"FifoQueue": "true"} if fifo else {}
        url = cli.sqs("CreateQueue", {"QueueName": name, "Attributes": attrs})["QueueUrl"]
        log(f"  {server.key:<8} {qtype:<8} fill to {depth:,}")
        if not fifo and loadgen is not None and args.filler == "auto":
            fill = fill_loadgen(loadgen, server, name, depth, args, logs, fill_deadline)
        else:
            fill = fill_python(server.port, url, fifo, depth, args, tag, fill_deadline)
        row.update(fill)
        got = cli.sqs("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["ApproximateNumberOfMessages"]})
        row["depth"] = int(got["Attributes"]["ApproximateNumberOfMessages"])
        row["budget_hit"] = row["depth"] < depth and time.monotonic() >= fill_deadline
        row["fill_msgs_per_s"] = row["sent"] / row["fill_s"] if row["fill_s"] > 0 else None
        log(f"    depth {row['depth']:,} in {row['fill_s']:.1f} s ({row['fill_msgs_per_s'] or 0:,.0f} msg/s, "
            f"{row['filler']})" + (" - budget used up" if row["budget_hit"] else "")
            + (f"; first error: {row['first_error']}" if row.get("first_error") else ""))

        lat, _, why = timed_calls(cli, "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["All"]},
                                  args.calls, args.measure_secs, hard_deadline)
        row["gqa_ms"] = lb.summary(lat)
        row["gqa_series_ms"] = [round(x, 3) for x in lat]
        if why:
            row["gqa_stopped"] = why
            log(f"    GetQueueAttributes: {why}")
        lat, replies, why = timed_calls(cli, "ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10,
                                                                "VisibilityTimeout": 600, "WaitTimeSeconds": 0},
                                        args.calls, args.measure_secs, hard_deadline)
        if why:
            row["receive_stopped"] = why
            log(f"    ReceiveMessage: {why}")
        counts = [len(r.get("Messages", [])) for r in replies]
        row["receive_ms"] = lb.summary(lat)
        row["receive_series_ms"] = [round(x, 3) for x in lat]
        row["receive_counts"] = counts
        row["received"] = sum(counts)
        row["empty_receives"] = sum(1 for c in counts if c == 0)
        nonempty = [ms for ms, c in zip(lat, counts) if c > 0]
        row["receive_nonempty_ms"] = lb.summary(nonempty)
        g, r = row["gqa_ms"], row["receive_ms"]
        if g.get("n") and r.get("n"):
            log(f"    GetQueueAttributes p50 {g['p50']:.2f} ms p99 {g['p99']:.2f} ms; ReceiveMessage p50 "
                f"{r['p50']:.2f} ms p99 {r['p99']:.2f} ms ({row['received']:,} received, "
                f"{row['empty_receives']} empty)")
        t0 = time.perf_counter()
        try:
            cli.sqs("DeleteQueue", {"QueueUrl": url})
            row["delete_s"] = round(time.perf_counter() - t0, 2)
        except Exception as e:  # noqa: BLE001  (informational only)
            row["delete_error"] = str(e)[:200]
    except Budget:
        raise
    except Exception as e:  # noqa: BLE001  (an n/a row rather than an abort)
        row["error"] = str(e)[:300]
        log(f"    n/a: {row['error']}")
    finally:
        cli.close()
    return row


def run_server(server: common.Server, args, loadgen: Path | None, logs: Path, env, results: dict, tag: str,
               fill_deadline: float, hard_deadline: float) -> None:
    log(f"starting {server.label}")
    entry = results["servers"].setdefault(server.key, {"label": server.label})
    try:
        entry["ready_s"] = server.start(logs / f"{server.key}.log", timeout=60, env=env)
    except RuntimeError as e:
        log(f"  {e}")
        entry["error"] = str(e)
        return
    try:
        depths = [d for d in args.depths if not server.is_moto or d <= args.moto_max_depth]
        skipped = [d for d in args.depths if d not in depths]
        if skipped:
            entry["skipped_depths"] = skipped
        for qtype in args.queue_types:
            for depth in depths:
                if time.monotonic() >= fill_deadline:
                    results["rows"].append({"server": server.key, "queue_type": qtype, "depth_target": depth,
                                            "error": "not run: --budget used up"})
                    continue
                results["rows"].append(measure_queue(server, qtype, depth, args, loadgen, logs, tag,
                                                     fill_deadline, hard_deadline))
        st = common.proc_status(server.pid)
        entry["rss_end_kib"], entry["hwm_kib"] = st.get("VmRSS"), st.get("VmHWM")
        if server.data_dir and not server.is_moto:
            entry["data_dir_bytes"] = sum(f.stat().st_size for f in server.data_dir.rglob("*") if f.is_file())
        if server.proc and server.proc.poll() is not None:
            entry["error"] = f"server exited with {server.proc.returncode} during the run"
    finally:
        server.stop()
        if server.data_dir:
            shutil.rmtree(server.data_dir, ignore_errors=True)


def binary_info(stratus: Path | None) -> dict:
    """When the Stratus binary was built and whether the working tree had uncommitted changes
    then (the commit alone does not say what a binary built from a dirty tree contains)."""
    if stratus is None or not stratus.exists():
        return {}
    try:
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=30, cwd=ROOT).stdout.strip() != ""
    except (OSError, subprocess.TimeoutExpired):
        dirty = None
    return {"stratus_built": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stratus.stat().st_mtime)),
            "tree_dirty": dirty}


def stratus_line(m: dict) -> str:
    commit = m.get("commit") or "?"
    if m.get("tree_dirty"):
        commit += " + uncommitted changes"
    built = f", binary built {m['stratus_built']}" if m.get("stratus_built") else ""
    return f"Stratus {m.get('stratus_version') or '?'} (commit {commit}{built})"


# --------------------------------------------------------------------------- #
# report


def f2(x, d=2) -> str:
    return "–" if x is None else f"{x:,.{d}f}"


def depth_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n:,}"


def render(results: dict, args) -> str:
    m = results["meta"]
    labels = {k: s["label"] for k, s in results["servers"].items()}
    o = [f"# SQS latency against queue depth ({m['date']})", "",
         f"- Machine: {m['cpu']} ({m['cores']} cores), {m['mem_gib']} GiB RAM, Linux {m['kernel']}",
         (f"- {stratus_line(m)}, durable (fresh temp --data-dir, fsync), STRATUS_LOG_LEVEL=warn; "
          if "stratus" in results["servers"] else "- ")
         + f"moto {m.get('moto_version') or '?'}; Python {m['python']}",
         f"- Per server, queue type and depth D: a fresh queue filled to D with SendMessageBatch (10 × "
         f"{args.body_size} B bodies; FIFO: {args.groups:,} message groups, round-robin group ids, unique "
         f"deduplication ids), then {args.calls} GetQueueAttributes(All) calls, then {args.calls} "
         "ReceiveMessage(MaxNumberOfMessages=10, VisibilityTimeout=600, WaitTimeSeconds=0) calls; received "
         "messages stay in flight (*first receive*: the first of them, with nothing in flight yet). One keep-alive "
         "connection, signed with botocore's SigV4Auth, calls one at a time; each operation stops after "
         f"{args.measure_secs:g} s on a queue (--measure-secs) even if it made fewer calls.",
         f"- Load average at start {m.get('load_start')}, at end {m.get('load_end')}; run took {m.get('total_s')} s "
         f"(--budget {args.budget:g} s for filling).", ""]
    o += ["| Server | Queue | Depth | Fill s | Fill msg/s | Filled with | GetQueueAttributes p50 / p90 / p99 ms | "
          "ReceiveMessage p50 / p90 / p99 ms | first receive ms | msgs per receive | empty receives |",
          "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in results["rows"]:
        head = f"| {labels.get(r['server'], r['server'])} | {r['queue_type']} |"
        if "gqa_ms" not in r or not r["gqa_ms"].get("n"):
            o.append(f"{head} {depth_label(r['depth_target'])} | n/a ({r.get('error', 'no measurement')}) | | | | | | | |")
            continue
        depth = f"{r['depth']:,}" + (f" (budget; target {r['depth_target']:,})" if r['depth'] < r['depth_target'] else "")
        g, rc = r["gqa_ms"], r["receive_ms"]
        recv = f"{rc['p50']:.2f} / {rc['p90']:.2f} / {rc['p99']:.2f}" if rc.get("n") else "–"
        per = r["received"] / rc["n"] if rc.get("n") else None
        first = r["receive_series_ms"][0] if r.get("receive_series_ms") else None
        o.append(f"{head} {depth} | {f2(r['fill_s'], 2 if r['fill_s'] < 10 else 1)} | "
                 f"{f2(r.get('fill_msgs_per_s'), 0)} | {r['filler']} | "
                 f"{g['p50']:.2f} / {g['p90']:.2f} / {g['p99']:.2f} | {recv} | {f2(first)} | {f2(per, 1)} | "
                 f"{r['empty_receives']} of {rc.get('n', 0)} |")
    # ratios: largest measured depth over smallest, per server and queue type
    ratio_rows = []
    by: dict[tuple[str, str], list[dict]] = {}
    for r in results["rows"]:
        if r.get("gqa_ms", {}).get("n") and r.get("receive_ms", {}).get("n"):
            by.setdefault((r["server"], r["queue_type"]), []).append(r)
    for (srv, qt), rows in by.items():
        if len(rows) < 2:
            continue
        lo, hi = min(rows, key=lambda r: r["depth"]), max(rows, key=lambda r: r["depth"])

        def ratio(metric, q, lo=lo, hi=hi):
            a, b = lo[metric].get(q), hi[metric].get(q)
            return f"{b / a:.1f}×" if a and b is not None else "–"

        ratio_rows.append(
            f"| {labels.get(srv, srv)} | {qt} | {depth_label(hi['depth'])} / {depth_label(lo['depth'])} | "
            f"{ratio('gqa_ms', 'p50')} | {ratio('gqa_ms', 'p99')} | {ratio('receive_ms', 'p50')} | "
            f"{ratio('receive_ms', 'p99')} | {ratio('receive_nonempty_ms', 'p50')} |")
    if ratio_rows:
        o += ["", "## Growth with depth (deepest / shallowest)", "",
              "| Server | Queue | Depths | GetQueueAttributes p50 | GetQueueAttributes p99 | ReceiveMessage p50 | "
              "ReceiveMessage p99 | ReceiveMessage p50, non-empty receives only |",
              "|---|---|---|---:|---:|---:|---:|---:|"] + ratio_rows
    notes = [f"- {n}" for n in results.get("notes", [])]
    for key, s in results["servers"].items():
        if s.get("skipped_depths"):
            notes.append(f"- {s['label']}: measured at depths ≤ {args.moto_max_depth:,} only (skipped "
                         f"{', '.join(f'{d:,}' for d in s['skipped_depths'])}): filling moto_server is slow, its "
                         "per-message cost grows with the queue's depth. It also closes the connection after "
                         "every response, so its latencies include a TCP connect.")
        if s.get("error"):
            notes.append(f"- {s['label']}: {s['error']}")
        if s.get("hwm_kib"):
            notes.append(f"- {s['label']}: peak RSS {s['hwm_kib'] / 1024:,.0f} MiB"
                         + (f", data directory {s['data_dir_bytes'] / 2**20:,.0f} MiB at the end (queues deleted)"
                            if s.get("data_dir_bytes") is not None else "") + ".")
    if any(r.get("empty_receives") for r in results["rows"]):
        notes.append(f"- Empty receives: {args.calls} receives of up to 10 take up to {args.calls * 10:,} messages "
                     "and leave them in flight, so a shallow queue runs out of visible messages (a FIFO queue "
                     "also runs out of unblocked message groups: a group with a message in flight delivers "
                     "nothing more). Empty receives are usually cheaper; the last ratio column compares "
                     "non-empty receives only.")
    for r in results["rows"]:
        for key, op in (("gqa_stopped", "GetQueueAttributes"), ("receive_stopped", "ReceiveMessage")):
            if r.get(key):
                notes.append(f"- {labels.get(r['server'], r['server'])} / {r['queue_type']} / {r['depth_target']:,}: "
                             f"{op} {r[key]}; its percentiles cover those calls only.")
        if r.get("first_error"):
            notes.append(f"- {labels.get(r['server'], r['server'])} / {r['queue_type']} / {r['depth_target']:,}: "
                         f"fill error: `{str(r['first_error'])[:200]}`")
    if notes:
        o += ["", "## Notes", ""] + notes
    return "\n".join(o) + "\n"


# --------------------------------------------------------------------------- #


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="SQS ReceiveMessage / GetQueueAttributes latency against queue depth.")
    p.add_argument("--depths", default="1000,1000000", help="comma list of queue depths (default 1000,1000000)")
    p.add_argument("--servers", default="stratus,moto", help="comma list of stratus (durable), moto")
    p.add_argument("--queue-types", default="standard,fifo", help="comma list of standard, fifo")
    p.add_argument("--calls", type=int, default=200, help="measured calls per operation and queue (default 200)")
    p.add_argument("--groups", type=int, default=1000, help="FIFO message groups (default 1000)")
    p.add_argument("--body-size", type=int, default=64, help="message body bytes (default 64)")
    p.add_argument("--filler", choices=("auto", "python"), default="auto",
                   help="auto: stratus-loadgen for standard queues when found, Python for FIFO queues")
    p.add_argument("--fill-workers", type=int, default=6, help="Python fill processes (default 6)")
    p.add_argument("--connections", type=int, default=16, help="stratus-loadgen fill connections vs Stratus")
    p.add_argument("--moto-connections", type=int, default=4, help="stratus-loadgen fill connections vs moto")
    p.add_argument("--measure-secs", type=float, default=60.0,
                   help="longest time spent on the --calls calls of one operation on one queue (default 60)")
    p.add_argument("--call-timeout", type=float, default=120.0,
                   help="a single call taking longer ends that measurement (default 120 s)")
    p.add_argument("--moto-max-depth", type=int, default=1000, help="deepest queue filled on moto_server")
    p.add_argument("--budget", type=float, default=900.0,
                   help="seconds for the whole run's filling; filling stops there and the depth reached is "
                        "reported (measurements then finish within a few more minutes)")
    p.add_argument("--loadgen", default=None, help="path of stratus-loadgen (default: target/release)")
    p.add_argument("--stratus", default=str(ROOT / "target" / "release" / "stratus"))
    p.add_argument("--out", default=str(RESULTS / "deep-queue-latest.md"))
    a = p.parse_args(argv)
    try:
        a.depths = sorted({int(x.replace("_", "")) for x in a.depths.split(",") if x})
    except ValueError:
        p.error("--depths: comma list of integers")
    a.servers = [{"stratus-durable": "stratus"}.get(s, s) for s in a.servers.split(",") if s]
    a.queue_types = [q for q in a.queue_types.split(",") if q]
    if set(a.servers) - set(SERVER_KEYS) or not a.servers:
        p.error(f"--servers: comma list of {', '.join(SERVER_KEYS)}")
    if set(a.queue_types) - set(QUEUE_TYPES) or not a.queue_types:
        p.error("--queue-types: comma list of standard, fifo")
    if not (a.depths and all(10 <= d <= 10_000_000 and d % 10 == 0 for d in a.depths)):
        p.error("--depths: multiples of 10 in [10, 10,000,000]")
    if not (1 <= a.calls <= 10_000 and 1 <= a.groups <= 100_000 and 1 <= a.body_size <= 262_144
            and 1 <= a.fill_workers <= 32 and 1 <= a.connections <= 256 and 1 <= a.moto_connections <= 64
            and 30 <= a.budget <= 7200 and 1 <= a.measure_secs <= 3600 and 1 <= a.call_timeout <= 3600):
        p.error("an option is out of range (see --help)")
    return a


def main(argv=None) -> int:
    args = parse_args(argv)
    stratus = Path(args.stratus)
    want_stratus = "stratus" in args.servers
    if want_stratus and not stratus.exists():
        log(f"missing {stratus} (cargo build --release -p stratus), or pass --servers moto")
        return 2
    loadgen = Path(args.loadgen) if args.loadgen else ROOT / "target" / "release" / "stratus-loadgen"
    if args.filler == "python" or "standard" not in args.queue_types:
        loadgen = None
    elif not loadgen.exists():
        log(f"no {loadgen}: standard queues are filled with Python processes too")
        loadgen = None
    moto = common.find_moto()
    if "moto" in args.servers and not moto:
        log("moto_server not found (pip install 'moto[server]'), or pass --servers stratus")
        return 2

    logs = common.fresh_logs("deep-queue-logs")
    tmp = Path(tempfile.mkdtemp(prefix="stratus-deep-queue-"))
    env = dict(os.environ, STRATUS_LOG_LEVEL="warn", RUST_LOG="warn")
    servers = common.peer_servers(stratus, moto, tmp)
    meta = common.meta_info(stratus if want_stratus else None)
    meta.update(binary_info(stratus if want_stratus else None))
    meta["load_start"] = lb.loadavg()
    results = {"meta": meta, "servers": {}, "rows": [], "notes": [],
               "args": {k: v for k, v in vars(args).items()}}

    # Filling stops at --budget; the measurements after it (2 x --calls calls per queue) get a
    # bounded allowance, and SIGALRM stops everything at the hard limit.
    t_all = time.perf_counter()
    fill_deadline = time.monotonic() + args.budget
    queues = len(args.queue_types) * sum(1 for s in args.servers for d in args.depths
                                         if s != "moto" or d <= args.moto_max_depth)
    hard_limit = args.budget + queues * 2 * (args.measure_secs + 2 * args.call_timeout) + 300
    hard_deadline = time.monotonic() + hard_limit - 30

    def on_signal(signum, _frame):
        if signum == signal.SIGALRM:
            raise Budget(f"run exceeded its hard limit of {hard_limit:g} s")
        common.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        sys.exit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        signal.signal(s, on_signal)
    signal.alarm(int(hard_limit))
    tag = str(int(time.time()) % 100000)
    rc = 0
    try:
        for key in args.servers:
            run_server(servers[key], args, loadgen, logs, env, results, tag, fill_deadline, hard_deadline)
    except Budget as e:
        results["notes"].append(str(e))
        log(str(e))
        rc = 1
    finally:
        signal.alarm(0)
        common.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    if time.monotonic() >= fill_deadline:
        results["notes"].append(f"--budget {args.budget:g} s was used up: filling stopped there (depth reached "
                                "is in the table) and later queues were not run.")
    meta["load_end"] = lb.loadavg()
    meta["total_s"] = round(time.perf_counter() - t_all, 1)

    md = render(results, args)
    out, raw = common.write_report(md, results, args.out)
    log(f"done in {meta['total_s']} s; wrote {out} and {raw}")
    if rc == 0 and not any(r.get("gqa_ms", {}).get("n") for r in results["rows"]):
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
