#!/usr/bin/env python3
"""WebSocket API benchmark for Stratus: message round trips through a WebSocket API and the
memory that idle connections cost.

One command (about 2 minutes; needs `target/release/stratus` (not rebuilt), gcc, Python with
boto3 and `websockets`):

    bench/websocket_bench.py            # options: --messages 2000, --idle 10000, --no-idle

Starts a durable Stratus (fresh temp --data-dir, STRATUS_LOG_LEVEL=warn) on a free 127.0.0.1
port and deploys, with boto3 (untimed):

  - the C custom-runtime function of bench/lambda/bootstrap.c, answering the Lambda proxy
    response `{"statusCode":200,"body":"ok"}` (as bench/apigateway_bench.py builds it);
  - a Python 3.11 function that answers by calling PostToConnection with boto3, on the
    management endpoint AWS's chat sample builds: `https://` + domainName + `/` + stage (its
    client is made once per environment, as warm functions keep it);
  - one WebSocket API (route selection `$request.body.action`, stage `bench`) with the routes
    `c` (two-way: a RouteResponse, AWS_PROXY to the C function), `py` (one-way, AWS_PROXY to
    the Python function) and `mock` (two-way, MOCK integration with a response template).

Then, on one client connection, one message at a time (--messages each, after 200 warm-up
messages), the time from sending a message to receiving the answer:

  a. two-way route → C function → the route response back            (`c`)
  b. one-way route → Python function → PostToConnection over https     (`py`)
  c. two-way MOCK route (no function: the platform's own floor)       (`mock`)
  d. for reference, a direct Lambda Invoke of the C function over HTTP (sequential)

and then --idle idle connections opened to a stage without `$connect` (the client keeps them
open without traffic), with the server's resident memory (VmRSS) before and after, and the
rate at which the handshakes completed.

moto_server serves API Gateway v2's control plane but not WebSocket connections, so there is
no peer row; the reference for the round trip is the direct Invoke (d) in the same run.

Markdown to stdout and bench/results/websocket-latest.md, raw figures in
websocket-latest.json, server output in bench/results/websocket-logs/.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

import run as common  # noqa: E402  (process helpers)
import lambda_bench as lb  # noqa: E402  (start_stratus, zip_of)
import apigateway_bench as ab  # noqa: E402  (the proxy-answering C bootstrap, boto clients)

REGION, ACCOUNT = lb.REGION, lb.ACCOUNT
STAGE = "bench"

POSTER = """
import json
import boto3

clients = {}

def handler(event, context):
    ctx = event["requestContext"]
    endpoint = "https://" + ctx["domainName"] + "/" + ctx["stage"]
    api = clients.get(endpoint)
    if api is None:
        api = clients[endpoint] = boto3.client("apigatewaymanagementapi", endpoint_url=endpoint)
    api.post_to_connection(ConnectionId=ctx["connectionId"], Data=b"ok")
    return {"statusCode": 200}
"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def setup(port: int, work: Path) -> dict:
    lam, v2 = ab.boto("lambda", port), ab.boto("apigatewayv2", port)
    c_fn = lam.create_function(FunctionName="ws-bench-c", Runtime="provided.al2023", Role=lb.ROLE,
                               Handler="unused",
                               Code={"ZipFile": lb.zip_of({"bootstrap": ab.build_proxy_bootstrap(work)}, {"bootstrap": 0o755})})
    py_fn = lam.create_function(FunctionName="ws-bench-py", Runtime="python3.11", Role=lb.ROLE,
                                Handler="app.handler", Code={"ZipFile": lb.zip_of({"app.py": POSTER})},
                                Timeout=30)
    for name in ("ws-bench-c", "ws-bench-py"):
        deadline = time.monotonic() + 30
        while lam.get_function(FunctionName=name)["Configuration"].get("State") != "Active":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not become Active")
            time.sleep(0.05)
        lam.add_permission(FunctionName=name, StatementId="ws", Action="lambda:InvokeFunction",
                           Principal="apigateway.amazonaws.com",
                           SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*")
    api = v2.create_api(Name="ws-bench", ProtocolType="WEBSOCKET",
                        RouteSelectionExpression="$request.body.action")["ApiId"]

    def route(key: str, integration: str, two_way: bool) -> None:
        extra = {"RouteResponseSelectionExpression": "$default"} if two_way else {}
        r = v2.create_route(ApiId=api, RouteKey=key, Target=f"integrations/{integration}", **extra)
        if two_way:
            v2.create_route_response(ApiId=api, RouteId=r["RouteId"], RouteResponseKey="$default")

    c_int = v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY",
                                  IntegrationUri=c_fn["FunctionArn"])["IntegrationId"]
    py_int = v2.create_integration(ApiId=api, IntegrationType="AWS_PROXY",
                                   IntegrationUri=py_fn["FunctionArn"])["IntegrationId"]
    mock = v2.create_integration(ApiId=api, IntegrationType="MOCK",
                                 RequestTemplates={"$default": '{"statusCode": 200}'})["IntegrationId"]
    v2.create_integration_response(ApiId=api, IntegrationId=mock, IntegrationResponseKey="$default",
                                   ResponseTemplates={"$default": "ok"})
    route("c", c_int, True)
    route("py", py_int, False)
    route("mock", mock, True)
    v2.create_stage(ApiId=api, StageName=STAGE, AutoDeploy=True)
    return {"api": api}


async def round_trips(port: int, api: str, action: str, n: int, warmup: int) -> list[float]:
    from websockets.asyncio.client import connect

    url = f"ws://127.0.0.1:{port}/_aws/execute-api/{api}/{STAGE}"
    message = json.dumps({"action": action})
    out: list[float] = []
    async with connect(url, open_timeout=30, compression=None) as ws:
        for i in range(warmup + n):
            t0 = time.perf_counter()
            await ws.send(message)
            answer = await asyncio.wait_for(ws.recv(), timeout=30)
            dt = (time.perf_counter() - t0) * 1000
            if answer != "ok":
                raise RuntimeError(f"route {action} answered {answer!r}")
            if i >= warmup:
                out.append(dt)
    return out


def direct_invokes(port: int, n: int, warmup: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    for i in range(warmup + n):
        t0 = time.perf_counter()
        conn.request("POST", "/2015-03-31/functions/ws-bench-c/invocations", body=b"{}",
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        dt = (time.perf_counter() - t0) * 1000
        if r.status != 200:
            raise RuntimeError(f"Invoke answered {r.status}")
        if i >= warmup:
            out.append(dt)
    conn.close()
    return out


async def idle_connections(port: int, api: str, count: int, pid: int) -> dict:
    from websockets.asyncio.client import connect

    url = f"ws://127.0.0.1:{port}/_aws/execute-api/{api}/{STAGE}"
    before = rss_kib(pid)
    sockets = []
    sem = asyncio.Semaphore(64)

    async def one():
        async with sem:
            ws = await connect(url, open_timeout=60, compression=None, ping_interval=None)
            sockets.append(ws)

    t0 = time.perf_counter()
    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    elapsed = time.perf_counter() - t0
    failed = [r for r in results if isinstance(r, Exception)]
    await asyncio.sleep(2)
    after = rss_kib(pid)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    await asyncio.sleep(2)
    released = rss_kib(pid)
    return {
        "opened": len(sockets), "failed": len(failed), "first_error": repr(failed[0]) if failed else None,
        "seconds": elapsed, "per_s": len(sockets) / elapsed if elapsed else 0,
        "rss_before_kib": before, "rss_after_kib": after, "rss_closed_kib": released,
        "added_mib": (after - before) / 1024, "per_connection_kib": (after - before) / max(1, len(sockets)),
    }


def stats(values: list[float]) -> dict:
    return {"n": len(values), "p50": pct(values, 50), "p99": pct(values, 99), "mean": statistics.fmean(values)}


def render(res: dict) -> str:
    rows = [
        ("a", "two-way route → C function → route response", res["c"]),
        ("b", "one-way route → Python function → PostToConnection (https)", res["py"]),
        ("c", "two-way MOCK route (no function)", res["mock"]),
        ("d", "direct Invoke of the C function (reference)", res["invoke"]),
    ]
    out = [f"WebSocket benchmark, {res['when']}, {res['machine']}", "",
           "| | round trip, one message at a time | p50 ms | p99 ms | mean ms |",
           "| --- | --- | ---: | ---: | ---: |"]
    for key, what, s in rows:
        out.append(f"| {key} | {what} | {s['p50']:.2f} | {s['p99']:.2f} | {s['mean']:.2f} |")
    idle = res.get("idle")
    if idle:
        out += ["", "| idle connections | opened | failed | handshakes/s | RSS before | RSS with them | added | per connection | RSS after closing |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
                f"| {idle['opened'] + idle['failed']} | {idle['opened']} | {idle['failed']} | {idle['per_s']:.0f} | "
                f"{idle['rss_before_kib'] / 1024:.1f} MiB | {idle['rss_after_kib'] / 1024:.1f} MiB | "
                f"{idle['added_mib']:.1f} MiB | {idle['per_connection_kib']:.1f} KiB | "
                f"{idle['rss_closed_kib'] / 1024:.1f} MiB |"]
    return "\n".join(out) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--idle", type=int, default=10_000)
    p.add_argument("--no-idle", action="store_true")
    p.add_argument("--stratus", default=str(ROOT / "target" / "release" / "stratus"))
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, args.idle * 2 + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    RESULTS.mkdir(exist_ok=True)
    logs = RESULTS / "websocket-logs"
    logs.mkdir(exist_ok=True)
    env = dict(os.environ, STRATUS_LOG_LEVEL="warn")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "data"
        proc, port, pid = lb.start_stratus(Path(args.stratus), ["--data-dir", str(data)], logs / "stratus.log", env)
        try:
            ids = setup(port, work)
            res = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   "machine": f"{os.cpu_count()} cores"}
            res["c"] = stats(asyncio.run(round_trips(port, ids["api"], "c", args.messages, args.warmup)))
            res["py"] = stats(asyncio.run(round_trips(port, ids["api"], "py", args.messages, args.warmup)))
            res["mock"] = stats(asyncio.run(round_trips(port, ids["api"], "mock", args.messages, args.warmup)))
            res["invoke"] = stats(direct_invokes(port, args.messages, args.warmup))
            if not args.no_idle:
                res["idle"] = asyncio.run(idle_connections(port, ids["api"], args.idle, pid))
        finally:
            common.stop(proc)
    md = render(res)
    print(md)
    (RESULTS / "websocket-latest.md").write_text(md)
    (RESULTS / "websocket-latest.json").write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
