#!/usr/bin/env python3
"""CodeCommit benchmark for Stratus: git over HTTP beside plain `git http-backend`, and how soon
a push starts a function.

One command (about 3 minutes; needs `target/release/stratus` (not rebuilt), git, Python with
boto3):

    bench/codecommit_bench.py            # options: --files 10000 --commits 1000 --rounds 3 --pushes 30

1. A source repository is generated with `git fast-import` (untimed): one commit adding
   --files small files in 100 folders, then commits changing 10 files each, --commits in all.
2. Stratus (durable, fresh temp --data-dir, STRATUS_LOG_LEVEL=warn) gets a CodeCommit
   repository; the peer is the same `git http-backend` behind a minimal CGI server (Python's
   `ThreadingHTTPServer`, one `git http-backend` process per request, bare repository on the
   same disk). For each: the first push of the whole history (timed once), then --rounds
   rounds (after one warm-up round), the two servers taking turns, of a fresh clone without
   checkout (`--no-checkout`: the server's work and the transfer, not the client writing the
   files) and a push of one more commit; medians.
3. Push → function start: a trigger on the Stratus repository invokes a warm Python function
   that sends `time.time()` at its start to an SQS queue; --pushes pushes of one small commit
   each, one at a time; reported from the moment `git push` started and from when it returned.

Markdown to stdout and bench/results/codecommit-latest.md, raw figures in
codecommit-latest.json, server output in bench/results/codecommit-logs/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

import run as common  # noqa: E402  (process helpers)
import lambda_bench as lb  # noqa: E402  (start_stratus, zip_of)

REGION, ACCOUNT = lb.REGION, lb.ACCOUNT

GIT_ENV = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
GIT_ENV.update({"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
                "LC_ALL": "C", "NO_PROXY": "*", "no_proxy": "*"})

RECORDER = """
import json, os, time
import boto3
sqs = boto3.client("sqs")
def handler(event, context):
    started = time.time()
    commit = event["Records"][0]["codecommit"]["references"][0]["commit"]
    sqs.send_message(QueueUrl=os.environ["QUEUE"], MessageBody=json.dumps({"started": started, "commit": commit}))
"""


def git(*args, cwd=None, input=None) -> str:
    p = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, input=input, capture_output=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {p.stderr.decode(errors='replace')[-2000:]}")
    return p.stdout.decode(errors="replace")


def generate(dest: Path, files: int, commits: int) -> None:
    """A repository with `files` files and `commits` commits, written by git fast-import."""
    git("init", "-q", "-b", "main", str(dest))
    lines = []
    t = 1_700_000_000
    mark = 0

    def commit(changes: list[tuple[str, str]], msg: str):
        nonlocal t, mark
        t += 60
        mark += 1
        lines.append(f"commit refs/heads/main\nmark :{mark}\ncommitter Bench <bench@example.com> {t} +0000\n")
        data = msg.encode()
        lines.append(f"data {len(data)}\n{msg}\n")
        if mark > 1:
            lines.append(f"from :{mark - 1}\n")
        for path, content in changes:
            b = content.encode()
            lines.append(f"M 100644 inline {path}\ndata {len(b)}\n{content}\n")

    commit([(f"dir{n % 100:03}/file{n:05}.txt", f"file {n}\n") for n in range(files)], "initial import")
    for c in range(1, commits):
        commit([(f"dir{(c * 10 + k) % 100:03}/file{(c * 10 + k) % files:05}.txt", f"file {(c * 10 + k) % files} v{c}\n")
                for k in range(10)], f"change {c}")
    git("fast-import", "--quiet", cwd=dest, input="".join(lines).encode())
    git("checkout", "-q", "main", cwd=dest)


class CgiHandler(BaseHTTPRequestHandler):
    """Plain `git http-backend`, one process per request, as a web server's CGI would run it."""

    protocol_version = "HTTP/1.1"
    project_root = ""

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _run(self):
        body = self._body()
        length = len(body)
        path, _, query = self.path.partition("?")
        env = dict(GIT_ENV, GIT_PROJECT_ROOT=self.project_root, GIT_HTTP_EXPORT_ALL="1", PATH_INFO=path,
                   REQUEST_METHOD=self.command, QUERY_STRING=query,
                   CONTENT_TYPE=self.headers.get("Content-Type", ""), REMOTE_USER="bench", REMOTE_ADDR="127.0.0.1")
        if length:
            env["CONTENT_LENGTH"] = str(length)
        for h, e in (("Git-Protocol", "GIT_PROTOCOL"), ("Content-Encoding", "HTTP_CONTENT_ENCODING")):
            if self.headers.get(h):
                env[e] = self.headers[h]
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, rest = out.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode(errors="replace").split("\r\n"):
            if ":" in line:
                k, v = line.split(":", 1)
                if k.lower() == "status":
                    status = int(v.strip().split()[0])
                else:
                    headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        self.wfile.write(rest)

    do_GET = _run
    do_POST = _run

    def log_message(self, *a):
        pass


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def first_push(url: str, source: Path) -> float:
    return timed(lambda: git("push", "-q", url, "main", cwd=source))


def clone_time(url: str, dest: Path) -> float:
    """A clone without checking out files: the server's part (negotiation, the pack) and the
    transfer, not the client writing 10,000 files (whose cost is the file system's, and the
    same for both servers)."""
    t = timed(lambda: git("clone", "-q", "--no-checkout", url, str(dest)))
    shutil.rmtree(dest)
    return t


def push_time(clone: Path, n: int) -> float:
    (clone / "bench.txt").write_text(f"push {n}\n")
    git("add", "bench.txt", cwd=clone)
    git("-c", "user.name=Bench", "-c", "user.email=b@e", "commit", "-q", "-m", f"push {n}", cwd=clone)
    return timed(lambda: git("push", "-q", "origin", "main", cwd=clone))


def compare(urls: dict[str, str], source: Path, work: Path, rounds: int) -> dict:
    """Both servers, their rounds interleaved (so that both see the same machine)."""
    out = {name: {"first_push_s": first_push(url, source), "clones": [], "pushes": []} for name, url in urls.items()}
    clones = {}
    for name, url in urls.items():
        clones[name] = work / f"pusher-{name}"
        git("clone", "-q", url, str(clones[name]))
    for r in range(rounds + 1):  # the first round warms both
        for name, url in urls.items():
            c = clone_time(url, work / f"clone-{name}")
            p = push_time(clones[name], r)
            if r > 0:
                out[name]["clones"].append(c)
                out[name]["pushes"].append(p)
    for name in urls:
        out[name]["clone_s"] = statistics.median(out[name]["clones"])
        out[name]["push_one_commit_s"] = statistics.median(out[name]["pushes"])
    return out


def trigger_latency(port: int, url: str, work: Path, pushes: int) -> dict:
    import boto3

    kw = dict(endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION, aws_access_key_id="test",
              aws_secret_access_key="test")
    lam, sqs, cc = boto3.client("lambda", **kw), boto3.client("sqs", **kw), boto3.client("codecommit", **kw)
    queue = sqs.create_queue(QueueName="codecommit-bench")["QueueUrl"]
    fn = lam.create_function(FunctionName="codecommit-bench", Runtime="python3.11", Role=lb.ROLE,
                             Handler="app.handler", Code={"ZipFile": lb.zip_of({"app.py": RECORDER})},
                             Environment={"Variables": {"QUEUE": queue}}, Timeout=30)
    while lam.get_function(FunctionName="codecommit-bench")["Configuration"].get("State") != "Active":
        time.sleep(0.05)
    repo = cc.create_repository(repositoryName="trigger-bench")["repositoryMetadata"]
    lam.add_permission(FunctionName="codecommit-bench", StatementId="cc", Action="lambda:InvokeFunction",
                       Principal="codecommit.amazonaws.com", SourceArn=repo["Arn"])
    cc.put_repository_triggers(repositoryName="trigger-bench", triggers=[{
        "name": "bench", "destinationArn": fn["FunctionArn"], "branches": [], "events": ["all"]}])
    clone = work / "trigger-clone"
    git("clone", "-q", repo["cloneUrlHttp"], str(clone))
    from_start, from_end = [], []
    for n in range(pushes + 3):
        (clone / "n.txt").write_text(f"{n}\n")
        git("add", "n.txt", cwd=clone)
        git("-c", "user.name=Bench", "-c", "user.email=b@e", "commit", "-q", "-m", f"n{n}", cwd=clone)
        head = git("rev-parse", "HEAD", cwd=clone).strip()
        t0 = time.time()
        git("push", "-q", "origin", "HEAD:main", cwd=clone)
        t1 = time.time()
        deadline = time.time() + 30
        got = None
        while got is None and time.time() < deadline:
            for m in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", []):
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
                body = json.loads(m["Body"])
                if body["commit"] == head:
                    got = body["started"]
        if got is None:
            raise RuntimeError(f"no function start for push {n}")
        if n >= 3:  # the first pushes warm the function
            from_start.append((got - t0) * 1000)
            from_end.append((got - t1) * 1000)
    return {"pushes": pushes, "from_push_start_ms_p50": statistics.median(from_start),
            "from_push_start_ms_max": max(from_start), "from_push_end_ms_p50": statistics.median(from_end)}


def render(res: dict) -> str:
    s, p = res["stratus"], res["peer"]
    rows = [("first push of the whole history", "first_push_s"), ("clone, no checkout (median)", "clone_s"),
            ("push of one commit (median)", "push_one_commit_s")]
    out = [f"CodeCommit benchmark, {res['when']}: {res['files']:,} files, {res['commits']:,} commits "
           f"(pack {res['pack_mib']:.1f} MiB)", "",
           "| | Stratus | git http-backend (CGI) | Stratus / peer |", "| --- | ---: | ---: | ---: |"]
    for label, key in rows:
        out.append(f"| {label} | {s[key]:.3f} s | {p[key]:.3f} s | {s[key] / p[key]:.2f} |")
    t = res["trigger"]
    out += ["", f"Push → function start ({t['pushes']} pushes of one commit, warm function): "
            f"p50 {t['from_push_start_ms_p50']:.1f} ms from the start of `git push` "
            f"(max {t['from_push_start_ms_max']:.1f} ms), {t['from_push_end_ms_p50']:.1f} ms after it returned."]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--commits", type=int, default=1_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pushes", type=int, default=30)
    ap.add_argument("--stratus", default=str(ROOT / "target" / "release" / "stratus"))
    args = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    logs = RESULTS / "codecommit-logs"
    logs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "source"
        generate(source, args.files, args.commits)
        pack = sum(f.stat().st_size for f in (source / ".git" / "objects").rglob("*") if f.is_file())
        res = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "files": args.files,
               "commits": args.commits, "pack_mib": pack / 2**20}
        # Peer: git http-backend behind a minimal CGI server.
        peer_root = work / "peer"
        git("init", "-q", "--bare", str(peer_root / "repo.git"))
        git("config", "http.receivepack", "true", cwd=peer_root / "repo.git")
        git("symbolic-ref", "HEAD", "refs/heads/main", cwd=peer_root / "repo.git")
        CgiHandler.project_root = str(peer_root)
        server = ThreadingHTTPServer(("127.0.0.1", 0), CgiHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        peer_url = f"http://127.0.0.1:{server.server_address[1]}/repo.git"
        env = dict(os.environ, STRATUS_LOG_LEVEL="warn")
        proc, port, _pid = lb.start_stratus(Path(args.stratus), ["--data-dir", str(work / "data")],
                                            logs / "stratus.log", env)
        try:
            import boto3

            cc = boto3.client("codecommit", endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION,
                              aws_access_key_id="test", aws_secret_access_key="test")
            url = cc.create_repository(repositoryName="bench")["repositoryMetadata"]["cloneUrlHttp"]
            both = compare({"stratus": url, "peer": peer_url}, source, work, args.rounds)
            res["stratus"], res["peer"] = both["stratus"], both["peer"]
            res["trigger"] = trigger_latency(port, url, work, args.pushes)
        finally:
            common.stop(proc)
            server.shutdown()
    md = render(res)
    print(md)
    (RESULTS / "codecommit-latest.md").write_text(md)
    (RESULTS / "codecommit-latest.json").write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
