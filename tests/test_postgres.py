"""Stratus on PostgreSQL (`--database-url`): a throwaway cluster (`initdb` and `pg_ctl` in a
temporary directory; as root they run as the `postgres` user) holds the state; the services
work on it as on the embedded store, and what was acknowledged is there after a restart and
after a `kill -9`. Skipped, saying so, where PostgreSQL is not installed."""

from __future__ import annotations

import os
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
    srv.kill()


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
