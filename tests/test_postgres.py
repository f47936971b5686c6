"""Stratus on PostgreSQL (`--database-url`): a throwaway cluster (`initdb` and `pg_ctl` in a
temporary directory; as root they run as the `postgres` user) holds the state; the services
work on it as on the embedded store, and what was acknowledged is there after a restart and
after a `kill -9`. Skipped, saying so, where PostgreSQL is not installed."""

from __future__ import annotations

import os
import time
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import boto3
import pytest
import requests

from sqs_helpers import REGION, ServerProcess, client_config, unique

pytestmark = pytest.mark.stratus_only


def tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    base = Path("/usr/lib/postgresql")
    for version in sorted(base.iterdir(), reverse=True) if base.is_dir() else []:
        if (version / "bin" / name).exists():
            return str(version / "bin" / name)
    return None


def run(as_postgres: bool, *cmd: str) -> None:
    full = ["runuser", "-u", "postgres", "--", *cmd] if as_postgres else list(cmd)
    subprocess.run(full, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


@pytest.fixture(scope="module")
def database():
    initdb, pg_ctl = tool("initdb"), tool("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL (initdb, pg_ctl) is not installed here")
    # Outside pytest's own temporary tree, which only root may enter.
    base = Path(tempfile.mkdtemp(prefix="stratus-pg-"))
    as_postgres = os.geteuid() == 0
    if as_postgres:
        subprocess.run(["chown", "-R", "postgres:postgres", str(base)], check=True)
    data = base / "data"
    run(as_postgres, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run(as_postgres, pg_ctl, "-D", str(data), "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1",
        "-l", str(base / "log"), "-w", "start")
    yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    run(as_postgres, pg_ctl, "-D", str(data), "-m", "immediate", "stop")
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def server(database, tmp_path):
    srv = ServerProcess(tmp_path / "data", log_dir=tmp_path, extra_args=["--database-url", database])
    srv.start(timeout=15)
    yield srv
    # A clean stop removes the node's record, so that the next test's node may use the database.
    srv.stop()


def clients(endpoint):
    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test",
              config=client_config())
    return boto3.client("sqs", **kw), boto3.client("s3", **kw), boto3.client("dynamodb", **kw)


def test_services_run_on_postgres_and_keep_state_across_kill_9(server):
    health = requests.get(f"{server.endpoint}/_stratus/health", timeout=5).json()
    assert health["storage"] == "postgres"
    sqs, s3, ddb = clients(server.endpoint)
    url = sqs.create_queue(QueueName=unique("pg"))["QueueUrl"]
    sent = [sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")["MessageId"] for n in range(5)]
    bucket = unique("pg").lower()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"kept in blobs, listed in postgres")
    table = unique("pg")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
    ddb.put_item(TableName=table, Item={"k": {"S": "a"}, "n": {"N": "1"}})

    server.kill()  # kill -9: acknowledged writes are committed in the database
    server.start(timeout=15)
    sqs, s3, ddb = clients(server.endpoint)
    got = []
    for _ in range(5):
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(m["MessageId"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        if len(got) == len(sent):
            break
    assert sorted(got) == sorted(sent)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept in blobs, listed in postgres"
    assert ddb.get_item(TableName=table, Key={"k": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    assert [t for t in ddb.list_tables()["TableNames"] if t == table] == [table]


def cluster(endpoint):
    return requests.get(f"{endpoint}/_stratus/cluster", timeout=5).json()


def test_one_node_per_database_until_several_are_supported(database, tmp_path):
    a = ServerProcess(tmp_path / "a", log_dir=tmp_path, extra_args=["--database-url", database, "--node-id", "node-a"])
    a.start(timeout=15)
    b = ServerProcess(tmp_path / "b", log_dir=tmp_path, extra_args=["--database-url", database, "--node-id", "node-b"])
    try:
        assert requests.get(f"{a.endpoint}/_stratus/health", timeout=5).json()["node"] == "node-a"
        first = cluster(a.endpoint)
        assert first["storage"] == "postgres"
        assert [(n["id"], n["address"]) for n in first["nodes"]] == [("node-a", f"127.0.0.1:{a.port}")]
        time.sleep(2.2)
        assert cluster(a.endpoint)["nodes"][0]["heartbeat"] > first["nodes"][0]["heartbeat"], "the node renews its record"

        # A second node on the same database is refused while node-a is live, and says why.
        refused = subprocess.run(b.command(), capture_output=True, text=True, timeout=60)
        assert refused.returncode != 0
        assert "another Stratus node (node-a at 127.0.0.1:" in refused.stderr, refused.stderr[-2000:]

        # After a kill -9 the record stays live for a few seconds; the same node (its data
        # directory keeps its id) comes back at once, and still counts as one node.
        a.kill()
        a.start(timeout=15)
        assert [n["id"] for n in cluster(a.endpoint)["nodes"]] == ["node-a"]

        # A clean stop removes the record: node-b may start right away.
        assert a.stop() == 0
        b.start(timeout=15)
        assert [n["id"] for n in cluster(b.endpoint)["nodes"]] == ["node-b"]
    finally:
        a.kill()
        b.stop()


def test_a_node_keeps_its_id_in_its_data_directory(tmp_path):
    srv = ServerProcess(tmp_path / "data", log_dir=tmp_path)
    srv.start()
    try:
        first = requests.get(f"{srv.endpoint}/_stratus/health", timeout=5).json()["node"]
        assert first and (tmp_path / "data" / "node-id").read_text().strip() == first
        # The embedded store is one node's: the cluster is this node.
        assert [n["id"] for n in cluster(srv.endpoint)["nodes"]] == [first]
        srv.kill()
        srv.start()
        assert requests.get(f"{srv.endpoint}/_stratus/health", timeout=5).json()["node"] == first
    finally:
        srv.kill()
