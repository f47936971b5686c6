"""Amazon Kinesis Data Streams end to end with boto3 and the aws CLI: streams (provisioned and
ON_DEMAND, waiters, listings, tags, retention, encryption, enhanced monitoring, stream mode),
PutRecord/PutRecords (MD5 hash-key routing, ExplicitHashKey, per-shard sequence order),
GetShardIterator in all five types, GetRecords paging, resharding (SplitShard, MergeShards,
UpdateShardCount) with closed parents read to their end and ChildShards, ListShards filters and
NextToken paging, enhanced fan-out consumers, resource policies and the errors of each.

Evidence for expected values and messages:
- mhart/kinesalite `test/*.js`, written against production Kinesis: "Stream {name} under account
  {acct} not found.", "Shard shardId-… in stream … under account … does not exist", "Could not
  find shard …", the GetShardIterator "Must either specify (1) …" texts, "Invalid
  StartingSequenceNumber. It encodes …", "Invalid ShardIterator.", the ExplicitHashKey range text,
  the SplitShard hash-key and MergeShards adjacency texts, the retention texts, the 3-shard hash
  key ranges, 56-digit sequence numbers, split/merge parent and child shapes.
- localstack/localstack tests/aws/services/kinesis/test_kinesis.snapshot.json (recorded against
  AWS): shard and record shapes, consumer shapes and ARN.
- The Kinesis API reference and the botocore model: output shapes (StreamSummaries,
  StreamDescriptionSummary, ChildShards, consumer ARN pattern), limits (PartitionKey 1..256,
  Limit 1..10000, 500 records per PutRecords, 1 MiB records), retention 24..8760 hours.
- GitHub issues quoting AWS: "NextToken and StreamName cannot be provided together."
  (hashicorp/terraform-provider-aws#40494), the 1 MiB ValidationException
  (awslabs/kinesis-aggregation#30).
Every error here is HTTP 400. botocore checks only minimums client-side, so the few tests that
send values below a minimum use a client with parameter_validation=False.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import math
import re
import subprocess
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, aws_cli_base, client_config, unique, xfail_moto

MAX_HASH = 2**128 - 1
SEQ = re.compile(r"^\d{56}$")


def fails(call, *args, **kwargs) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as e:
        call(*args, **kwargs)
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"].get("Message", "")


def _client(target, **config):
    return boto3.session.Session().client("kinesis", endpoint_url=target.endpoint, region_name=REGION,
                                          aws_access_key_id="test", aws_secret_access_key="test",
                                          config=client_config(**config))


@pytest.fixture(scope="module")
def kinesis(target):
    return _client(target)


@pytest.fixture(scope="module")
def raw(target):
    """A client that sends values below the model's minimums (botocore would refuse them)."""
    return _client(target, parameter_validation=False)


def wait_active(kinesis, name: str, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        d = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if d["StreamStatus"] == "ACTIVE":
            return d
        assert time.monotonic() < deadline, f"stream {name} still {d['StreamStatus']}"
        time.sleep(0.05)


def new_stream(kinesis, shards: int | None = 1, prefix: str = "ks", **kwargs) -> str:
    name = unique(prefix)
    if shards is not None:
        kwargs["ShardCount"] = shards
    kinesis.create_stream(StreamName=name, **kwargs)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 150})
    return name


def shards_of(kinesis, name: str) -> list[dict]:
    return kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"]


def shard_for(shards: list[dict], hash_key: int) -> str:
    hits = [s["ShardId"] for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]
            and int(s["HashKeyRange"]["StartingHashKey"]) <= hash_key <= int(s["HashKeyRange"]["EndingHashKey"])]
    assert len(hits) == 1, hits
    return hits[0]


def md5_key(partition_key: str) -> int:
    return int(hashlib.md5(partition_key.encode()).hexdigest(), 16)


def iterator(kinesis, name: str, shard: str = "shardId-000000000000", kind: str = "TRIM_HORIZON", **kw) -> str:
    return kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType=kind, **kw)["ShardIterator"]


def read_all(kinesis, it: str, max_calls: int = 50) -> tuple[list[dict], dict]:
    """Follow NextShardIterator until a call returns no records (open shard) or no iterator
    (closed shard). Returns the records and the last response."""
    records: list[dict] = []
    for _ in range(max_calls):
        r = kinesis.get_records(ShardIterator=it)
        records += r["Records"]
        if "NextShardIterator" not in r or not r["Records"]:
            return records, r
        it = r["NextShardIterator"]
    raise AssertionError("shard did not end")


def even_ranges(n: int) -> list[tuple[str, str]]:
    f = 2**128 // n
    return [(str(i * f), str((i + 1) * f - 1 if i < n - 1 else MAX_HASH)) for i in range(n)]


# ============================================================================ streams

def test_create_and_describe_provisioned_stream(kinesis, target):
    name = new_stream(kinesis, 3)
    d = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert d["StreamName"] == name
    assert d["StreamARN"] == f"arn:aws:kinesis:{REGION}:{target.account}:stream/{name}"
    assert d["StreamStatus"] == "ACTIVE"
    assert d["RetentionPeriodHours"] == 24
    assert d["HasMoreShards"] is False
    assert d["EncryptionType"] == "NONE"
    assert isinstance(d["StreamCreationTimestamp"], datetime.datetime)
    assert [s["ShardId"] for s in d["Shards"]] == ["shardId-000000000000", "shardId-000000000001",
                                                   "shardId-000000000002"]
    # The 3-shard ranges recorded against AWS (kinesalite test/createStream.js).
    assert [(s["HashKeyRange"]["StartingHashKey"], s["HashKeyRange"]["EndingHashKey"]) for s in d["Shards"]] == [
        ("0", "113427455640312821154458202477256070484"),
        ("113427455640312821154458202477256070485", "226854911280625642308916404954512140969"),
        ("226854911280625642308916404954512140970", "340282366920938463463374607431768211455")]
    for s in d["Shards"]:
        assert set(s["SequenceNumberRange"]) == {"StartingSequenceNumber"}
        assert "ParentShardId" not in s and "AdjacentParentShardId" not in s


def test_describe_stream_enhanced_monitoring_default(kinesis):
    name = new_stream(kinesis, 1)
    assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["EnhancedMonitoring"] == [
        {"ShardLevelMetrics": []}]
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["EnhancedMonitoring"] == [
        {"ShardLevelMetrics": []}]


@xfail_moto("a stream created without StreamModeDetails reports none")
def test_default_stream_mode_is_provisioned(kinesis):
    name = new_stream(kinesis, 1)
    assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamModeDetails"] == {
        "StreamMode": "PROVISIONED"}
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamModeDetails"] == {
        "StreamMode": "PROVISIONED"}
    listed = {s["StreamName"]: s for s in kinesis.list_streams()["StreamSummaries"]}
    assert listed[name]["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}


@xfail_moto("sequence numbers are small counters, and a closed shard's EndingSequenceNumber is 0")
def test_sequence_number_format(kinesis):
    """56-digit sequence numbers (kinesalite test/createStream.js, recorded against AWS)."""
    name = new_stream(kinesis, 2)
    starts = [s["SequenceNumberRange"]["StartingSequenceNumber"] for s in shards_of(kinesis, name)]
    assert all(SEQ.match(s) for s in starts)
    one = kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="p")["SequenceNumber"]
    many = [r["SequenceNumber"] for r in kinesis.put_records(
        StreamName=name, Records=[{"Data": b"y", "PartitionKey": str(i)} for i in range(5)])["Records"]]
    assert all(SEQ.match(s) for s in [one, *many])
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**126))
    wait_active(kinesis, name)
    rng = shards_of(kinesis, name)[0]["SequenceNumberRange"]
    assert SEQ.match(rng["EndingSequenceNumber"])
    assert int(rng["StartingSequenceNumber"]) < int(rng["EndingSequenceNumber"])


def test_describe_stream_summary(kinesis, target):
    name = new_stream(kinesis, 4)
    s = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert s["StreamName"] == name
    assert s["StreamARN"] == f"arn:aws:kinesis:{REGION}:{target.account}:stream/{name}"
    assert s["StreamStatus"] == "ACTIVE"
    assert s["RetentionPeriodHours"] == 24
    assert s["OpenShardCount"] == 4
    assert s["EncryptionType"] == "NONE"
    assert [(x["HashKeyRange"]["StartingHashKey"], x["HashKeyRange"]["EndingHashKey"])
            for x in shards_of(kinesis, name)] == even_ranges(4)


def test_describe_by_stream_arn(kinesis, target):
    name = new_stream(kinesis, 2)
    arn = f"arn:aws:kinesis:{REGION}:{target.account}:stream/{name}"
    assert kinesis.describe_stream(StreamARN=arn)["StreamDescription"]["StreamName"] == name
    assert kinesis.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]["OpenShardCount"] == 2
    assert kinesis.put_record(StreamARN=arn, Data=b"x", PartitionKey="k")["ShardId"].startswith("shardId-")


def test_on_demand_stream(kinesis):
    name = new_stream(kinesis, None, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    s = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert s["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    shards = shards_of(kinesis, name)
    assert s["OpenShardCount"] == len(shards) >= 1
    # The open shards cover the whole hash key space without gaps.
    assert shards[0]["HashKeyRange"]["StartingHashKey"] == "0"
    assert shards[-1]["HashKeyRange"]["EndingHashKey"] == str(MAX_HASH)
    for a, b in zip(shards, shards[1:]):
        assert int(a["HashKeyRange"]["EndingHashKey"]) + 1 == int(b["HashKeyRange"]["StartingHashKey"])
    out = kinesis.put_record(StreamName=name, Data=b"on-demand", PartitionKey="p")
    assert out["ShardId"] == shard_for(shards, md5_key("p"))


def test_delete_stream_and_waiters(kinesis, target):
    name = new_stream(kinesis, 1)
    assert name in kinesis.list_streams()["StreamNames"]
    kinesis.delete_stream(StreamName=name)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 150})
    assert fails(kinesis.describe_stream, StreamName=name) == (
        "ResourceNotFoundException", 400, f"Stream {name} under account {target.account} not found.")
    assert name not in kinesis.list_streams()["StreamNames"]
    # The name can be used again.
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 150})
    assert len(shards_of(kinesis, name)) == 1


def test_list_streams_with_summaries(kinesis, target):
    a = new_stream(kinesis, 1, prefix="ls-a")
    b = new_stream(kinesis, None, prefix="ls-b", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    out = kinesis.list_streams()
    assert out["HasMoreStreams"] is False
    assert {a, b} <= set(out["StreamNames"])
    summaries = {s["StreamName"]: s for s in out["StreamSummaries"]}
    assert summaries[a]["StreamARN"] == f"arn:aws:kinesis:{REGION}:{target.account}:stream/{a}"
    assert summaries[a]["StreamStatus"] == "ACTIVE"
    assert summaries[b]["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert isinstance(summaries[a]["StreamCreationTimestamp"], datetime.datetime)


def test_list_streams_paging(kinesis):
    names = sorted(new_stream(kinesis, 1, prefix="pg") for _ in range(3))
    seen: list[str] = []
    page = kinesis.list_streams(Limit=1)
    assert len(page["StreamNames"]) == 1 and page["HasMoreStreams"] is True
    seen += page["StreamNames"]
    while page["HasMoreStreams"]:
        page = kinesis.list_streams(Limit=1, ExclusiveStartStreamName=seen[-1])
        assert len(page["StreamNames"]) <= 1
        seen += page["StreamNames"]
    assert set(names) <= set(seen)
    assert len(seen) == len(set(seen))


def test_create_stream_with_existing_name(kinesis):
    name = new_stream(kinesis, 1)
    code, status, msg = fails(kinesis.create_stream, StreamName=name, ShardCount=1)
    assert (code, status) == ("ResourceInUseException", 400)
    assert name in msg


@xfail_moto("ShardCount 0 is a 500")
def test_create_stream_validation(kinesis, raw):
    code, status, msg = fails(raw.create_stream, StreamName=unique("ks"), ShardCount=0)
    assert (code, status) == ("ValidationException", 400)
    assert "Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1" in msg
    long_name = "a" * 129
    code, status, msg = fails(kinesis.create_stream, StreamName=long_name, ShardCount=1)
    assert (code, status) == ("ValidationException", 400)
    assert (f"Value '{long_name}' at 'streamName' failed to satisfy constraint: "
            "Member must have length less than or equal to 128") in msg


@xfail_moto("a PROVISIONED stream without ShardCount is a 500")
def test_create_provisioned_stream_without_shard_count(kinesis):
    name = unique("ks")
    code, status, _ = fails(kinesis.create_stream, StreamName=name,
                            StreamModeDetails={"StreamMode": "PROVISIONED"})
    assert status == 400 and code in ("ValidationException", "InvalidArgumentException")
    assert name not in kinesis.list_streams()["StreamNames"]


def test_stream_not_found_errors(kinesis, target):
    name = unique("missing")
    expected = ("ResourceNotFoundException", 400, f"Stream {name} under account {target.account} not found.")
    assert fails(kinesis.describe_stream, StreamName=name) == expected
    assert fails(kinesis.describe_stream_summary, StreamName=name) == expected
    assert fails(kinesis.put_record, StreamName=name, Data=b"x", PartitionKey="k") == expected
    assert fails(kinesis.put_records, StreamName=name, Records=[{"Data": b"x", "PartitionKey": "k"}]) == expected
    assert fails(kinesis.delete_stream, StreamName=name) == expected
    assert fails(kinesis.list_shards, StreamName=name) == expected
    assert fails(kinesis.increase_stream_retention_period, StreamName=name, RetentionPeriodHours=48) == expected
    assert fails(kinesis.add_tags_to_stream, StreamName=name, Tags={"a": "b"}) == expected


@xfail_moto("GetShardIterator on a missing stream says the stream is not found")
def test_get_shard_iterator_on_missing_stream(kinesis, target):
    name = unique("missing")
    assert fails(kinesis.get_shard_iterator, StreamName=name, ShardId="shardId-000000000000",
                 ShardIteratorType="LATEST") == (
        "ResourceNotFoundException", 400,
        f"Shard shardId-000000000000 in stream {name} under account {target.account} does not exist")


# ============================================================================ stream settings

@xfail_moto("CreateStream ignores Tags")
def test_create_stream_with_tags(kinesis):
    name = new_stream(kinesis, 1, Tags={"team": "data", "env": "test"})
    out = kinesis.list_tags_for_stream(StreamName=name)
    assert {t["Key"]: t["Value"] for t in out["Tags"]} == {"team": "data", "env": "test"}


def test_tags(kinesis):
    name = new_stream(kinesis, 1)
    kinesis.add_tags_to_stream(StreamName=name, Tags={"team": "data", "env": "test"})
    out = kinesis.list_tags_for_stream(StreamName=name)
    assert {t["Key"]: t["Value"] for t in out["Tags"]} == {"team": "data", "env": "test"}
    assert out["HasMoreTags"] is False
    kinesis.add_tags_to_stream(StreamName=name, Tags={"env": "prod", "owner": "me"})
    tags = {t["Key"]: t["Value"] for t in kinesis.list_tags_for_stream(StreamName=name)["Tags"]}
    assert tags == {"team": "data", "env": "prod", "owner": "me"}
    kinesis.remove_tags_from_stream(StreamName=name, TagKeys=["team", "nope"])
    tags = {t["Key"]: t["Value"] for t in kinesis.list_tags_for_stream(StreamName=name)["Tags"]}
    assert tags == {"env": "prod", "owner": "me"}


def test_retention_increase_and_decrease(kinesis):
    name = new_stream(kinesis, 1)
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
    assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["RetentionPeriodHours"] == 48
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=8760)
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["RetentionPeriodHours"] == 8760
    kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=24)
    assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["RetentionPeriodHours"] == 24


def test_retention_errors(kinesis):
    name = new_stream(kinesis, 1)
    assert fails(kinesis.increase_stream_retention_period, StreamName=name, RetentionPeriodHours=23) == (
        "InvalidArgumentException", 400,
        "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short.")
    assert fails(kinesis.increase_stream_retention_period, StreamName=name, RetentionPeriodHours=8761) == (
        "InvalidArgumentException", 400,
        "Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long.")
    assert fails(kinesis.decrease_stream_retention_period, StreamName=name, RetentionPeriodHours=23) == (
        "InvalidArgumentException", 400,
        "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short.")
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
    assert fails(kinesis.increase_stream_retention_period, StreamName=name, RetentionPeriodHours=36) == (
        "InvalidArgumentException", 400,
        f"Requested retention period (36 hours) for stream {name} can not be shorter than existing retention "
        "period (48 hours). Use DecreaseRetentionPeriod API.")
    assert fails(kinesis.decrease_stream_retention_period, StreamName=name, RetentionPeriodHours=72) == (
        "InvalidArgumentException", 400,
        f"Requested retention period (72 hours) for stream {name} can not be longer than existing retention "
        "period (48 hours). Use IncreaseRetentionPeriod API.")
    assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["RetentionPeriodHours"] == 48


def test_stream_encryption(kinesis):
    name = new_stream(kinesis, 1)
    kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    wait_active(kinesis, name)
    d = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert (d["EncryptionType"], d["KeyId"]) == ("KMS", "alias/aws/kinesis")
    s = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert (s["EncryptionType"], s["KeyId"]) == ("KMS", "alias/aws/kinesis")
    kinesis.stop_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    wait_active(kinesis, name)
    d = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert d["EncryptionType"] == "NONE" and "KeyId" not in d


@xfail_moto("records written to a KMS-encrypted stream do not carry EncryptionType")
def test_encrypted_stream_records_carry_encryption_type(kinesis):
    name = new_stream(kinesis, 1)
    kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    wait_active(kinesis, name)
    assert kinesis.put_record(StreamName=name, Data=b"secret", PartitionKey="k")["EncryptionType"] == "KMS"
    assert kinesis.put_records(StreamName=name, Records=[{"Data": b"s", "PartitionKey": "k"}])["EncryptionType"] == "KMS"
    rec = kinesis.get_records(ShardIterator=iterator(kinesis, name))["Records"]
    assert [(r["Data"], r["EncryptionType"]) for r in rec] == [(b"secret", "KMS"), (b"s", "KMS")]


def test_enhanced_monitoring(kinesis):
    name = new_stream(kinesis, 1)
    out = kinesis.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["IncomingBytes", "OutgoingBytes"])
    assert out["StreamName"] == name
    assert out["CurrentShardLevelMetrics"] == []
    assert sorted(out["DesiredShardLevelMetrics"]) == ["IncomingBytes", "OutgoingBytes"]
    wait_active(kinesis, name)
    metrics = kinesis.describe_stream(StreamName=name)["StreamDescription"]["EnhancedMonitoring"][0]["ShardLevelMetrics"]
    assert sorted(metrics) == ["IncomingBytes", "OutgoingBytes"]
    out = kinesis.disable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["IncomingBytes"])
    assert sorted(out["CurrentShardLevelMetrics"]) == ["IncomingBytes", "OutgoingBytes"]
    assert out["DesiredShardLevelMetrics"] == ["OutgoingBytes"]
    wait_active(kinesis, name)
    s = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert s["EnhancedMonitoring"] == [{"ShardLevelMetrics": ["OutgoingBytes"]}]


@xfail_moto("UpdateStreamMode is not reflected in DescribeStreamSummary")
def test_update_stream_mode(kinesis, target):
    name = new_stream(kinesis, 2)
    arn = f"arn:aws:kinesis:{REGION}:{target.account}:stream/{name}"
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    wait_active(kinesis, name)
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamModeDetails"] == {
        "StreamMode": "ON_DEMAND"}
    code, status, _ = fails(kinesis.update_shard_count, StreamName=name, TargetShardCount=3,
                            ScalingType="UNIFORM_SCALING")
    assert status == 400 and code in ("ValidationException", "InvalidArgumentException")
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "PROVISIONED"})
    wait_active(kinesis, name)
    assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamModeDetails"] == {
        "StreamMode": "PROVISIONED"}


# ============================================================================ writing and reading

def test_put_record_then_get_records(kinesis):
    name = new_stream(kinesis, 1)
    before = datetime.datetime.now(datetime.timezone.utc)
    puts = [kinesis.put_record(StreamName=name, Data=f"record-{i}".encode(), PartitionKey="pk") for i in range(3)]
    assert [p["ShardId"] for p in puts] == ["shardId-000000000000"] * 3
    seqs = [p["SequenceNumber"] for p in puts]
    assert all(s.isdigit() for s in seqs)
    assert [int(s) for s in seqs] == sorted(int(s) for s in seqs) and len(set(seqs)) == 3
    start = int(shards_of(kinesis, name)[0]["SequenceNumberRange"]["StartingSequenceNumber"])
    assert start <= int(seqs[0])
    out = kinesis.get_records(ShardIterator=iterator(kinesis, name))
    assert [(r["Data"], r["PartitionKey"], r["SequenceNumber"]) for r in out["Records"]] == [
        (f"record-{i}".encode(), "pk", seqs[i]) for i in range(3)]
    for r in out["Records"]:
        assert before - datetime.timedelta(seconds=5) <= r["ApproximateArrivalTimestamp"] <= \
            datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)
    assert isinstance(out["MillisBehindLatest"], int) and out["MillisBehindLatest"] >= 0
    assert kinesis.get_records(ShardIterator=out["NextShardIterator"])["Records"] == []


def test_record_data_is_kept_byte_for_byte(kinesis):
    name = new_stream(kinesis, 1)
    payloads = [b"", bytes(range(256)), "ünicödé 统一码 💣".encode(), b"a" * 1000]
    for p in payloads:
        kinesis.put_record(StreamName=name, Data=p, PartitionKey="1")
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator(kinesis, name))["Records"]] == payloads


def test_md5_hash_key_routing(kinesis):
    name = new_stream(kinesis, 4)
    shards = shards_of(kinesis, name)
    keys = [f"key-{i}" for i in range(40)]
    got = {k: kinesis.put_record(StreamName=name, Data=k.encode(), PartitionKey=k)["ShardId"] for k in keys}
    assert got == {k: shard_for(shards, md5_key(k)) for k in keys}
    assert len(set(got.values())) == 4  # 40 keys spread over all 4 shards
    # Each shard holds exactly the records routed to it, in put order.
    for s in shards:
        records, _ = read_all(kinesis, iterator(kinesis, name, s["ShardId"]))
        assert [r["PartitionKey"] for r in records] == [k for k in keys if got[k] == s["ShardId"]]


@xfail_moto("hash keys near shard boundaries find no shard (500)")
def test_explicit_hash_key_routing(kinesis):
    name = new_stream(kinesis, 3)
    third = 2**128 // 3
    cases = {"0": "shardId-000000000000", str(third - 1): "shardId-000000000000",
             str(third): "shardId-000000000001", str(third * 2 - 1): "shardId-000000000001",
             str(third * 2): "shardId-000000000002", str(MAX_HASH): "shardId-000000000002"}
    for key, shard in cases.items():
        # The partition key's own hash would route elsewhere for at least some of these.
        assert kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="same",
                                  ExplicitHashKey=key)["ShardId"] == shard
    out = kinesis.put_records(StreamName=name, Records=[
        {"Data": b"a", "PartitionKey": "same", "ExplicitHashKey": "0"},
        {"Data": b"b", "PartitionKey": "same", "ExplicitHashKey": str(MAX_HASH)}])
    assert [r["ShardId"] for r in out["Records"]] == ["shardId-000000000000", "shardId-000000000002"]


def test_put_records_results_in_request_order(kinesis):
    name = new_stream(kinesis, 3)
    shards = shards_of(kinesis, name)
    keys = [f"k{i}" for i in range(12)]
    out = kinesis.put_records(StreamName=name, Records=[{"Data": k.encode(), "PartitionKey": k} for k in keys])
    assert out["FailedRecordCount"] == 0
    assert len(out["Records"]) == 12
    assert [r["ShardId"] for r in out["Records"]] == [shard_for(shards, md5_key(k)) for k in keys]
    for r in out["Records"]:
        assert set(r) == {"SequenceNumber", "ShardId"} and r["SequenceNumber"].isdigit()
    by_shard: dict[str, list[tuple[str, str]]] = {}
    for k, r in zip(keys, out["Records"]):
        by_shard.setdefault(r["ShardId"], []).append((k, r["SequenceNumber"]))
    for shard, expected in by_shard.items():
        seqs = [int(s) for _, s in expected]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        records, _ = read_all(kinesis, iterator(kinesis, name, shard))
        assert [(r["PartitionKey"], r["SequenceNumber"]) for r in records] == expected


def test_sequence_numbers_increase_per_shard_across_calls(kinesis):
    name = new_stream(kinesis, 1)
    seqs = []
    for i in range(4):
        seqs.append(kinesis.put_record(StreamName=name, Data=b"x", PartitionKey=str(i))["SequenceNumber"])
        seqs += [r["SequenceNumber"] for r in kinesis.put_records(
            StreamName=name, Records=[{"Data": b"y", "PartitionKey": str(i)}] * 2)["Records"]]
    seqs.append(kinesis.put_record(StreamName=name, Data=b"z", PartitionKey="z",
                                   SequenceNumberForOrdering=seqs[-1])["SequenceNumber"])
    assert [int(s) for s in seqs] == sorted(int(s) for s in seqs)
    assert len(set(seqs)) == len(seqs) == 13
    records, _ = read_all(kinesis, iterator(kinesis, name))
    assert [r["SequenceNumber"] for r in records] == seqs


def test_shard_iterator_types(kinesis):
    name = new_stream(kinesis, 1)
    seqs = [kinesis.put_record(StreamName=name, Data=str(i).encode(), PartitionKey="p")["SequenceNumber"]
            for i in range(5)]

    def data(it):
        return [r["Data"] for r in kinesis.get_records(ShardIterator=it)["Records"]]

    assert data(iterator(kinesis, name, kind="TRIM_HORIZON")) == [b"0", b"1", b"2", b"3", b"4"]
    assert data(iterator(kinesis, name, kind="AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])) == [
        b"2", b"3", b"4"]
    assert data(iterator(kinesis, name, kind="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])) == [
        b"3", b"4"]
    assert data(iterator(kinesis, name, kind="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[4])) == []
    latest = iterator(kinesis, name, kind="LATEST")
    assert kinesis.get_records(ShardIterator=latest)["Records"] == []
    kinesis.put_record(StreamName=name, Data=b"5", PartitionKey="p")
    assert data(latest) == [b"5"]


@xfail_moto("AT_TIMESTAMP returns records older than the timestamp")
def test_at_timestamp_iterator(kinesis):
    name = new_stream(kinesis, 1)
    kinesis.put_record(StreamName=name, Data=b"old", PartitionKey="p")
    # boto3 sends timestamps in whole seconds: "new" goes in after the next second begins.
    boundary = math.floor(time.time()) + 1
    time.sleep(boundary - time.time() + 0.05)
    middle = datetime.datetime.fromtimestamp(boundary, datetime.timezone.utc)
    kinesis.put_record(StreamName=name, Data=b"new", PartitionKey="p")

    def data(ts):
        it = iterator(kinesis, name, kind="AT_TIMESTAMP", Timestamp=ts)
        return [r["Data"] for r in kinesis.get_records(ShardIterator=it)["Records"]]

    assert data(middle - datetime.timedelta(hours=1)) == [b"old", b"new"]
    assert data(middle) == [b"new"]
    assert data(middle + datetime.timedelta(hours=1)) == []


def test_get_records_limit_and_paging(kinesis):
    name = new_stream(kinesis, 1)
    kinesis.put_records(StreamName=name, Records=[{"Data": str(i).encode(), "PartitionKey": "p"} for i in range(7)])
    it = iterator(kinesis, name)
    pages = []
    for _ in range(4):
        out = kinesis.get_records(ShardIterator=it, Limit=3)
        assert "MillisBehindLatest" in out
        pages.append([r["Data"] for r in out["Records"]])
        it = out["NextShardIterator"]
    assert pages == [[b"0", b"1", b"2"], [b"3", b"4", b"5"], [b"6"], []]
    # An iterator can be used again and reads the same records.
    first = iterator(kinesis, name)
    assert kinesis.get_records(ShardIterator=first, Limit=2)["Records"] == \
        kinesis.get_records(ShardIterator=first, Limit=2)["Records"]


@xfail_moto("GetRecords Limit is not validated")
def test_get_records_limit_out_of_range(kinesis, raw):
    name = new_stream(kinesis, 1)
    it = iterator(kinesis, name)
    code, status, msg = fails(raw.get_records, ShardIterator=it, Limit=10001)
    assert (code, status) == ("ValidationException", 400)
    assert msg == ("1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: "
                   "Member must have value less than or equal to 10000")
    code, status, msg = fails(raw.get_records, ShardIterator=it, Limit=0)
    assert (code, status) == ("ValidationException", 400)
    assert msg == ("1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
                   "Member must have value greater than or equal to 1")


@xfail_moto("a malformed ShardIterator is not InvalidArgumentException 'Invalid ShardIterator.'")
def test_malformed_shard_iterator(kinesis):
    assert fails(kinesis.get_records, ShardIterator="not-an-iterator") == (
        "InvalidArgumentException", 400, "Invalid ShardIterator.")
    assert fails(kinesis.get_records, ShardIterator=base64.b64encode(b"\0" * 200).decode()) == (
        "InvalidArgumentException", 400, "Invalid ShardIterator.")


@xfail_moto("a missing or superfluous StartingSequenceNumber is a 500")
def test_shard_iterator_argument_errors(kinesis, target):
    name = new_stream(kinesis, 2)
    prefix = ("Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or "
              "(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. ")
    for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        assert fails(kinesis.get_shard_iterator, StreamName=name, ShardId="shardId-000000000000",
                     ShardIteratorType=kind) == (
            "InvalidArgumentException", 400, prefix + f"Request specified {kind} and no StartingSequenceNumber.")
    seq = kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="p",
                             ExplicitHashKey="0")["SequenceNumber"]
    for kind in ("LATEST", "TRIM_HORIZON"):
        assert fails(kinesis.get_shard_iterator, StreamName=name, ShardId="shardId-000000000000",
                     ShardIteratorType=kind, StartingSequenceNumber=seq) == (
            "InvalidArgumentException", 400, prefix + f"Request specified {kind} and also a StartingSequenceNumber.")


@xfail_moto("sequence numbers are not checked against the shard they came from")
def test_sequence_number_from_another_shard(kinesis):
    name = new_stream(kinesis, 2)
    seq = kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="p",
                             ExplicitHashKey=str(MAX_HASH))["SequenceNumber"]
    assert fails(kinesis.get_shard_iterator, StreamName=name, ShardId="shardId-000000000000",
                 ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=seq) == (
        "InvalidArgumentException", 400,
        "Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was used in a call to a "
        "shard with shardId-000000000000")


@xfail_moto("a sequence number that did not come from the stream is accepted")
def test_sequence_number_not_from_this_stream(kinesis, target):
    name = new_stream(kinesis, 1)
    code, status, msg = fails(kinesis.get_shard_iterator, StreamName=name, ShardId="shardId-000000000000",
                              ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber="12345")
    assert (code, status) == ("InvalidArgumentException", 400)
    assert msg.startswith("StartingSequenceNumber ")
    assert (f" used in GetShardIterator on shard shardId-000000000000 in stream {name} under account "
            f"{target.account} is invalid") in msg


def test_unknown_shard_in_existing_stream(kinesis, target):
    name = new_stream(kinesis, 3)
    assert fails(kinesis.get_shard_iterator, StreamName=name, ShardId="shardId-000000000005",
                 ShardIteratorType="LATEST") == (
        "ResourceNotFoundException", 400,
        f"Shard shardId-000000000005 in stream {name} under account {target.account} does not exist")


@xfail_moto("short shard ids like 'shardId-1' are not normalised to shardId-000000000001")
def test_short_shard_ids_are_normalised(kinesis, target):
    name = new_stream(kinesis, 2)
    kinesis.put_record(StreamName=name, Data=b"one", PartitionKey="p", ExplicitHashKey=str(MAX_HASH))
    for shard_id in ("shardId-1", "shard-1", "anything-000001", "1"):
        it = iterator(kinesis, name, shard_id)
        assert [r["Data"] for r in kinesis.get_records(ShardIterator=it)["Records"]] == [b"one"]
    assert fails(kinesis.get_shard_iterator, StreamName=name, ShardId="shardId-7", ShardIteratorType="LATEST") == (
        "ResourceNotFoundException", 400,
        f"Shard shardId-000000000007 in stream {name} under account {target.account} does not exist")


@xfail_moto("an iterator of a deleted stream still reads")
def test_iterator_of_deleted_stream(kinesis, target):
    name = new_stream(kinesis, 1)
    it = iterator(kinesis, name)
    kinesis.delete_stream(StreamName=name)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 150})
    assert fails(kinesis.get_records, ShardIterator=it) == (
        "ResourceNotFoundException", 400,
        f"Shard shardId-000000000000 in stream {name} under account {target.account} does not exist")


# ============================================================================ write limits

@xfail_moto("records over 1 MiB are accepted")
def test_put_record_data_size_limit(kinesis):
    name = new_stream(kinesis, 1)
    mib = 1024 * 1024
    assert kinesis.put_record(StreamName=name, Data=b"x" * mib, PartitionKey="p")["ShardId"] == "shardId-000000000000"
    code, status, msg = fails(kinesis.put_record, StreamName=name, Data=b"x" * (mib + 1), PartitionKey="p")
    assert (code, status) == ("ValidationException", 400)
    assert "at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576" in msg
    records, _ = read_all(kinesis, iterator(kinesis, name))
    assert [len(r["Data"]) for r in records] == [mib]


def test_put_records_data_size_limit_rejects_the_request(kinesis):
    name = new_stream(kinesis, 1)
    code, status, msg = fails(kinesis.put_records, StreamName=name, Records=[
        {"Data": b"ok", "PartitionKey": "p"}, {"Data": b"x" * (1024 * 1024 + 1), "PartitionKey": "p"}])
    assert (code, status) == ("ValidationException", 400)
    assert "at 'records.2.member.data' failed to satisfy constraint: Member must have length less than or equal to 1048576" in msg
    assert kinesis.get_records(ShardIterator=iterator(kinesis, name))["Records"] == []


@xfail_moto("a 257-character partition key is InvalidArgumentException without the validation message")
def test_partition_key_length(kinesis):
    name = new_stream(kinesis, 1)
    assert kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k" * 256)["ShardId"] == "shardId-000000000000"
    key = "k" * 257
    assert fails(kinesis.put_record, StreamName=name, Data=b"x", PartitionKey=key) == (
        "ValidationException", 400,
        f"1 validation error detected: Value '{key}' at 'partitionKey' failed to satisfy constraint: "
        "Member must have length less than or equal to 256")


@xfail_moto("an ExplicitHashKey of 2^128 is InvalidArgumentException without AWS's message")
def test_explicit_hash_key_out_of_range(kinesis):
    name = new_stream(kinesis, 1)
    key = str(2**128)
    assert fails(kinesis.put_record, StreamName=name, Data=b"x", PartitionKey="p", ExplicitHashKey=key) == (
        "InvalidArgumentException", 400,
        f"Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {key}")


@xfail_moto("a non-numeric ExplicitHashKey is not a ValidationException")
def test_explicit_hash_key_pattern(kinesis):
    name = new_stream(kinesis, 1)
    code, status, msg = fails(kinesis.put_record, StreamName=name, Data=b"x", PartitionKey="p",
                              ExplicitHashKey="12abc")
    assert (code, status) == ("ValidationException", 400)
    assert ("Value '12abc' at 'explicitHashKey' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})") in msg


def test_put_records_over_500(kinesis):
    name = new_stream(kinesis, 1)
    out = kinesis.put_records(StreamName=name, Records=[{"Data": b"x", "PartitionKey": str(i)} for i in range(500)])
    assert out["FailedRecordCount"] == 0 and len(out["Records"]) == 500
    code, status, msg = fails(kinesis.put_records, StreamName=name,
                              Records=[{"Data": b"x", "PartitionKey": str(i)} for i in range(501)])
    assert (code, status) == ("ValidationException", 400)
    assert "at 'records' failed to satisfy constraint: Member must have length less than or equal to 500" in msg


# ============================================================================ resharding

def test_split_shard(kinesis):
    name = new_stream(kinesis, 1)
    half = str(2**127)
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=half)
    wait_active(kinesis, name)
    shards = shards_of(kinesis, name)
    assert [s["ShardId"] for s in shards] == ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"]
    parent, low, high = shards
    assert parent["SequenceNumberRange"]["EndingSequenceNumber"].isdigit()
    assert parent["HashKeyRange"] == {"StartingHashKey": "0", "EndingHashKey": str(MAX_HASH)}
    assert low["ParentShardId"] == high["ParentShardId"] == "shardId-000000000000"
    assert "AdjacentParentShardId" not in low and "AdjacentParentShardId" not in high
    assert low["HashKeyRange"] == {"StartingHashKey": "0", "EndingHashKey": str(2**127 - 1)}
    assert high["HashKeyRange"] == {"StartingHashKey": half, "EndingHashKey": str(MAX_HASH)}
    assert "EndingSequenceNumber" not in low["SequenceNumberRange"]


@xfail_moto("records put after a reshard still go to the closed parent")
def test_records_after_resharding_go_to_open_shards(kinesis):
    name = new_stream(kinesis, 1)
    half = str(2**127)
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=half)
    wait_active(kinesis, name)
    assert kinesis.put_record(StreamName=name, Data=b"l", PartitionKey="p", ExplicitHashKey="0")["ShardId"] == \
        "shardId-000000000001"
    assert kinesis.put_record(StreamName=name, Data=b"h", PartitionKey="p", ExplicitHashKey=half)["ShardId"] == \
        "shardId-000000000002"
    keys = [f"k{i}" for i in range(8)]
    out = kinesis.put_records(StreamName=name, Records=[{"Data": b"x", "PartitionKey": k} for k in keys])
    assert [r["ShardId"] for r in out["Records"]] == [
        "shardId-000000000001" if md5_key(k) < 2**127 else "shardId-000000000002" for k in keys]
    kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000001",
                         AdjacentShardToMerge="shardId-000000000002")
    wait_active(kinesis, name)
    for k in keys:
        assert kinesis.put_record(StreamName=name, Data=b"x", PartitionKey=k)["ShardId"] == "shardId-000000000003"
    assert kinesis.get_records(ShardIterator=iterator(kinesis, name, "shardId-000000000000"))["Records"] == []


@xfail_moto("OpenShardCount counts closed shards too")
def test_open_shard_count_after_resharding(kinesis):
    name = new_stream(kinesis, 3)

    def open_count():
        return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"]

    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000002", NewStartingHashKey=str(2**127 + 2**126))
    wait_active(kinesis, name)
    assert open_count() == 4
    kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000000",
                         AdjacentShardToMerge="shardId-000000000001")
    wait_active(kinesis, name)
    assert open_count() == 3
    assert len(shards_of(kinesis, name)) == 6


@xfail_moto("a split parent keeps receiving records and never ends (no ChildShards)")
def test_closed_parent_is_read_to_its_end_then_child_shards(kinesis):
    name = new_stream(kinesis, 1)
    before = [kinesis.put_record(StreamName=name, Data=f"b{i}".encode(), PartitionKey=str(i))["SequenceNumber"]
              for i in range(3)]
    it = iterator(kinesis, name)  # taken while the shard is open
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127))
    wait_active(kinesis, name)
    kinesis.put_record(StreamName=name, Data=b"after", PartitionKey="x")
    end = int(shards_of(kinesis, name)[0]["SequenceNumberRange"]["EndingSequenceNumber"])
    assert all(int(s) <= end for s in before)
    for start in (it, iterator(kinesis, name)):
        records: list[dict] = []
        last: dict = {}
        for _ in range(20):
            last = kinesis.get_records(ShardIterator=start)
            records += last["Records"]
            if "NextShardIterator" not in last:
                break
            start = last["NextShardIterator"]
        assert [r["SequenceNumber"] for r in records] == before
        assert "NextShardIterator" not in last
        assert last["ChildShards"] == [
            {"ShardId": "shardId-000000000001", "ParentShards": ["shardId-000000000000"],
             "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": str(2**127 - 1)}},
            {"ShardId": "shardId-000000000002", "ParentShards": ["shardId-000000000000"],
             "HashKeyRange": {"StartingHashKey": str(2**127), "EndingHashKey": str(MAX_HASH)}}]


def test_merge_shards(kinesis):
    name = new_stream(kinesis, 3)
    r = even_ranges(3)
    kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000000",
                         AdjacentShardToMerge="shardId-000000000001")
    wait_active(kinesis, name)
    shards = shards_of(kinesis, name)
    assert [s["ShardId"] for s in shards] == [f"shardId-00000000000{i}" for i in range(4)]
    for closed in shards[:2]:
        assert closed["SequenceNumberRange"]["EndingSequenceNumber"].isdigit()
    assert "EndingSequenceNumber" not in shards[2]["SequenceNumberRange"]
    child = shards[3]
    assert child["ParentShardId"] == "shardId-000000000000"
    assert child["AdjacentParentShardId"] == "shardId-000000000001"
    assert child["HashKeyRange"] == {"StartingHashKey": r[0][0], "EndingHashKey": r[1][1]}
    assert "EndingSequenceNumber" not in child["SequenceNumberRange"]
    assert kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="p", ExplicitHashKey=r[2][0])["ShardId"] == \
        "shardId-000000000002"


@xfail_moto("a merged parent never ends: NextShardIterator stays, no ChildShards")
def test_merged_parent_child_shards(kinesis):
    name = new_stream(kinesis, 2)
    kinesis.put_record(StreamName=name, Data=b"p0", PartitionKey="p", ExplicitHashKey="0")
    kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000000",
                         AdjacentShardToMerge="shardId-000000000001")
    wait_active(kinesis, name)
    expected = [{"ShardId": "shardId-000000000002",
                 "ParentShards": ["shardId-000000000000", "shardId-000000000001"],
                 "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": str(MAX_HASH)}}]
    for shard, data in (("shardId-000000000000", [b"p0"]), ("shardId-000000000001", [])):
        it = iterator(kinesis, name, shard)
        records: list[dict] = []
        last: dict = {}
        for _ in range(20):
            last = kinesis.get_records(ShardIterator=it)
            records += last["Records"]
            if "NextShardIterator" not in last:
                break
            it = last["NextShardIterator"]
        assert [r["Data"] for r in records] == data
        assert "NextShardIterator" not in last
        assert last["ChildShards"] == expected


@xfail_moto("SplitShard accepts a NewStartingHashKey of StartingHashKey+1")
def test_split_shard_hash_key_out_of_range(kinesis, target):
    name = new_stream(kinesis, 3)
    end0 = "113427455640312821154458202477256070484"
    for key in ("1", end0):
        assert fails(kinesis.split_shard, StreamName=name, ShardToSplit="shardId-000000000000",
                     NewStartingHashKey=key) == (
            "InvalidArgumentException", 400,
            f"NewStartingHashKey {key} used in SplitShard() on shard shardId-000000000000 in stream {name} "
            f"under account {target.account} is not both greater than one plus the shard's StartingHashKey 0 "
            f"and less than the shard's EndingHashKey {end0}.")
    key = "999999999999999999999999999999999999999"
    assert fails(kinesis.split_shard, StreamName=name, ShardToSplit="shardId-000000000002",
                 NewStartingHashKey=key) == (
        "InvalidArgumentException", 400,
        f"NewStartingHashKey {key} used in SplitShard() on shard shardId-000000000002 in stream {name} under "
        f"account {target.account} is not both greater than one plus the shard's StartingHashKey "
        "226854911280625642308916404954512140970 and less than the shard's EndingHashKey "
        "340282366920938463463374607431768211455.")
    # The smallest accepted key is StartingHashKey + 2.
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey="2")
    wait_active(kinesis, name)
    assert shards_of(kinesis, name)[3]["HashKeyRange"] == {"StartingHashKey": "0", "EndingHashKey": "1"}


def test_split_unknown_shard(kinesis, target):
    name = new_stream(kinesis, 3)
    assert fails(kinesis.split_shard, StreamName=name, ShardToSplit="shardId-000000000005",
                 NewStartingHashKey="5") == (
        "ResourceNotFoundException", 400,
        f"Could not find shard shardId-000000000005 in stream {name} under account {target.account}.")


def test_split_or_merge_closed_shard(kinesis, target):
    name = new_stream(kinesis, 1)
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127))
    wait_active(kinesis, name)
    closed = (f"Shard shardId-000000000000 in stream {name} under account {target.account} has already been "
              "merged or split, and thus is not eligible for merging or splitting.")
    assert fails(kinesis.split_shard, StreamName=name, ShardToSplit="shardId-000000000000",
                 NewStartingHashKey=str(2**126)) == ("InvalidArgumentException", 400, closed)
    code, status, _ = fails(kinesis.merge_shards, StreamName=name, ShardToMerge="shardId-000000000000",
                            AdjacentShardToMerge="shardId-000000000001")
    assert (code, status) == ("InvalidArgumentException", 400)
    assert len(shards_of(kinesis, name)) == 3


@xfail_moto("the non-adjacent MergeShards message is only the shard id, and inverted order is accepted")
def test_merge_non_adjacent_shards(kinesis, target):
    name = new_stream(kinesis, 3)
    for a, b in (("0", "2"), ("1", "0")):
        assert fails(kinesis.merge_shards, StreamName=name, ShardToMerge=f"shardId-00000000000{a}",
                     AdjacentShardToMerge=f"shardId-00000000000{b}") == (
            "InvalidArgumentException", 400,
            f"Shards shardId-00000000000{a} and shardId-00000000000{b} in stream {name} under account "
            f"{target.account} are not an adjacent pair of shards eligible for merging")
    assert len(shards_of(kinesis, name)) == 3


def test_merge_unknown_shard(kinesis, target):
    name = new_stream(kinesis, 2)
    assert fails(kinesis.merge_shards, StreamName=name, ShardToMerge="shardId-000000000000",
                 AdjacentShardToMerge="shardId-000000000009") == (
        "ResourceNotFoundException", 400,
        f"Could not find shard shardId-000000000009 in stream {name} under account {target.account}.")


@xfail_moto("UpdateShardCount's answer has no StreamARN")
def test_update_shard_count_up_and_down(kinesis, target):
    name = new_stream(kinesis, 1)
    out = kinesis.update_shard_count(StreamName=name, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    assert (out["StreamName"], out["CurrentShardCount"], out["TargetShardCount"]) == (name, 1, 2)
    assert out["StreamARN"] == f"arn:aws:kinesis:{REGION}:{target.account}:stream/{name}"
    wait_active(kinesis, name)
    shards = shards_of(kinesis, name)
    assert len(shards) == 3
    assert "EndingSequenceNumber" in shards[0]["SequenceNumberRange"]
    open_shards = [s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
    assert [(s["HashKeyRange"]["StartingHashKey"], s["HashKeyRange"]["EndingHashKey"]) for s in open_shards] == \
        even_ranges(2)
    assert [s["ParentShardId"] for s in open_shards] == ["shardId-000000000000"] * 2

    out = kinesis.update_shard_count(StreamName=name, TargetShardCount=1, ScalingType="UNIFORM_SCALING")
    assert (out["CurrentShardCount"], out["TargetShardCount"]) == (2, 1)
    wait_active(kinesis, name)
    shards = shards_of(kinesis, name)
    assert len(shards) == 4
    (last,) = [s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
    assert last["HashKeyRange"] == {"StartingHashKey": "0", "EndingHashKey": str(MAX_HASH)}
    assert {last["ParentShardId"], last["AdjacentParentShardId"]} == {s["ShardId"] for s in open_shards}
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"] == 1


def test_update_shard_count_keeps_records_readable(kinesis):
    name = new_stream(kinesis, 2)
    kinesis.put_records(StreamName=name, Records=[{"Data": str(i).encode(), "PartitionKey": str(i)} for i in range(10)])
    kinesis.update_shard_count(StreamName=name, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    wait_active(kinesis, name)
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 4
    data = []
    for s in ("shardId-000000000000", "shardId-000000000001"):
        data += [r["Data"] for r in read_all(kinesis, iterator(kinesis, name, s))[0]]
    assert sorted(data) == sorted(str(i).encode() for i in range(10))


@xfail_moto("UpdateShardCount limits are InvalidArgumentException with other texts")
def test_update_shard_count_limits(kinesis):
    name = new_stream(kinesis, 2)
    assert fails(kinesis.update_shard_count, StreamName=name, TargetShardCount=5, ScalingType="UNIFORM_SCALING") == (
        "LimitExceededException", 400,
        "UpdateShardCount cannot scale up over double your current open shard count. "
        "Current open shard count: 2, Target shard count: 5")
    name = new_stream(kinesis, 4)
    assert fails(kinesis.update_shard_count, StreamName=name, TargetShardCount=1, ScalingType="UNIFORM_SCALING") == (
        "LimitExceededException", 400,
        "UpdateShardCount cannot scale down below half your current open shard count. "
        "Current open shard count: 4, Target shard count: 1")
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"] == 4


# ============================================================================ ListShards

def test_list_shards_paging(kinesis):
    name = new_stream(kinesis, 5)
    everything = kinesis.list_shards(StreamName=name)
    assert "NextToken" not in everything
    assert everything["Shards"] == shards_of(kinesis, name)
    page = kinesis.list_shards(StreamName=name, MaxResults=2)
    assert [s["ShardId"] for s in page["Shards"]] == ["shardId-000000000000", "shardId-000000000001"]
    assert page["NextToken"]


@xfail_moto("ExclusiveStartShardId is ignored")
def test_list_shards_exclusive_start_shard_id(kinesis):
    name = new_stream(kinesis, 5)
    after = kinesis.list_shards(StreamName=name, ExclusiveStartShardId="shardId-000000000002")
    assert [s["ShardId"] for s in after["Shards"]] == ["shardId-000000000003", "shardId-000000000004"]
    assert "NextToken" not in after


@xfail_moto("a NextToken without StreamName is refused")
def test_list_shards_next_token_alone(kinesis):
    name = new_stream(kinesis, 5)
    page = kinesis.list_shards(StreamName=name, MaxResults=2)
    ids = [s["ShardId"] for s in page["Shards"]]
    while "NextToken" in page:
        page = kinesis.list_shards(NextToken=page["NextToken"], MaxResults=2)  # the token names the stream
        assert len(page["Shards"]) <= 2
        ids += [s["ShardId"] for s in page["Shards"]]
    assert ids == [f"shardId-00000000000{i}" for i in range(5)]


@xfail_moto("NextToken together with StreamName is accepted")
def test_list_shards_next_token_with_stream_name(kinesis):
    name = new_stream(kinesis, 3)
    token = kinesis.list_shards(StreamName=name, MaxResults=1)["NextToken"]
    assert fails(kinesis.list_shards, StreamName=name, NextToken=token) == (
        "InvalidArgumentException", 400, "NextToken and StreamName cannot be provided together.")


@xfail_moto("ListShards without a stream is ResourceNotFoundException")
def test_list_shards_without_stream(kinesis):
    code, status, _ = fails(kinesis.list_shards)
    assert (code, status) == ("InvalidArgumentException", 400)


@xfail_moto("ShardFilter AT_LATEST also lists closed shards")
def test_list_shards_filters(kinesis):
    name = new_stream(kinesis, 2)
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**126))
    wait_active(kinesis, name)

    def ids(**kw):
        return [s["ShardId"] for s in kinesis.list_shards(StreamName=name, **kw)["Shards"]]

    assert ids() == [f"shardId-00000000000{i}" for i in range(4)]
    assert ids(ShardFilter={"Type": "AT_LATEST"}) == ["shardId-000000000001", "shardId-000000000002",
                                                       "shardId-000000000003"]
    # The shards open at the trim horizon: the stream's first shards (their children came later).
    assert ids(ShardFilter={"Type": "AT_TRIM_HORIZON"}) == ["shardId-000000000000", "shardId-000000000001"]
    assert ids(ShardFilter={"Type": "FROM_TRIM_HORIZON"}) == [f"shardId-00000000000{i}" for i in range(4)]
    assert ids(ShardFilter={"Type": "AFTER_SHARD_ID", "ShardId": "shardId-000000000001"}) == [
        "shardId-000000000002", "shardId-000000000003"]


# ============================================================================ consumers

def wait_consumer(kinesis, arn: str, status: str = "ACTIVE", timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        d = kinesis.describe_stream_consumer(ConsumerARN=arn)["ConsumerDescription"]
        if d["ConsumerStatus"] == status:
            return d
        assert time.monotonic() < deadline, d
        time.sleep(0.05)


@xfail_moto("a new consumer is ACTIVE at once instead of CREATING")
def test_register_stream_consumer_starts_creating(kinesis, target):
    name = new_stream(kinesis, 1)
    stream_arn = f"arn:aws:kinesis:{REGION}:{target.account}:stream/{name}"
    c = kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName="app")["Consumer"]
    assert c["ConsumerStatus"] == "CREATING"
    assert wait_consumer(kinesis, c["ConsumerARN"])["ConsumerStatus"] == "ACTIVE"


def test_stream_consumer_lifecycle(kinesis, target):
    name = new_stream(kinesis, 1)
    stream_arn = f"arn:aws:kinesis:{REGION}:{target.account}:stream/{name}"
    c = kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName="app")["Consumer"]
    assert c["ConsumerName"] == "app"
    assert c["ConsumerARN"].startswith(f"{stream_arn}/consumer/app")
    assert isinstance(c["ConsumerCreationTimestamp"], datetime.datetime)
    d = wait_consumer(kinesis, c["ConsumerARN"])
    assert d == {"ConsumerName": "app", "ConsumerARN": c["ConsumerARN"], "ConsumerStatus": "ACTIVE",
                 "ConsumerCreationTimestamp": c["ConsumerCreationTimestamp"], "StreamARN": stream_arn}
    assert kinesis.describe_stream_consumer(StreamARN=stream_arn, ConsumerName="app")["ConsumerDescription"] == d
    listed = kinesis.list_stream_consumers(StreamARN=stream_arn)["Consumers"]
    assert listed == [{"ConsumerName": "app", "ConsumerARN": c["ConsumerARN"], "ConsumerStatus": "ACTIVE",
                       "ConsumerCreationTimestamp": c["ConsumerCreationTimestamp"]}]

    kinesis.deregister_stream_consumer(ConsumerARN=c["ConsumerARN"])
    deadline = time.monotonic() + 15
    while kinesis.list_stream_consumers(StreamARN=stream_arn)["Consumers"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    code, status, _ = fails(kinesis.describe_stream_consumer, ConsumerARN=c["ConsumerARN"])
    assert (code, status) == ("ResourceNotFoundException", 400)
    # A consumer registered again under the same name is a new one.
    again = kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName="app")["Consumer"]
    assert again["ConsumerName"] == "app"


@xfail_moto("consumer ARNs have no creation timestamp, and ConsumerCount is missing")
def test_consumer_arn_and_count(kinesis, target):
    """ConsumerARN = {stream ARN}/consumer/{name}:{creation epoch seconds} (API reference pattern)."""
    name = new_stream(kinesis, 1)
    stream_arn = f"arn:aws:kinesis:{REGION}:{target.account}:stream/{name}"
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["ConsumerCount"] == 0
    before = time.time()
    c = kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName="app")["Consumer"]
    m = re.fullmatch(re.escape(stream_arn) + r"/consumer/app:(\d+)", c["ConsumerARN"])
    assert m, c["ConsumerARN"]
    assert int(before) - 5 <= int(m.group(1)) <= time.time() + 5
    assert abs(int(m.group(1)) - c["ConsumerCreationTimestamp"].timestamp()) < 2
    kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName="other")
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["ConsumerCount"] == 2


@xfail_moto("a second consumer with the same name is accepted")
def test_register_duplicate_consumer(kinesis, target):
    name = new_stream(kinesis, 1)
    stream_arn = f"arn:aws:kinesis:{REGION}:{target.account}:stream/{name}"
    kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName="dup")
    code, status, _ = fails(kinesis.register_stream_consumer, StreamARN=stream_arn, ConsumerName="dup")
    assert (code, status) == ("ResourceInUseException", 400)
    assert len(kinesis.list_stream_consumers(StreamARN=stream_arn)["Consumers"]) == 1


@xfail_moto("an unknown consumer is a 500")
def test_consumer_not_found(kinesis, target):
    name = new_stream(kinesis, 1)
    stream_arn = f"arn:aws:kinesis:{REGION}:{target.account}:stream/{name}"
    code, status, _ = fails(kinesis.describe_stream_consumer, StreamARN=stream_arn, ConsumerName="nobody")
    assert (code, status) == ("ResourceNotFoundException", 400)
    code, status, _ = fails(kinesis.describe_stream_consumer,
                            ConsumerARN=f"{stream_arn}/consumer/nobody:1700000000")
    assert (code, status) == ("ResourceNotFoundException", 400)
    missing = f"arn:aws:kinesis:{REGION}:{target.account}:stream/{unique('missing')}"
    code, status, _ = fails(kinesis.register_stream_consumer, StreamARN=missing, ConsumerName="c")
    assert (code, status) == ("ResourceNotFoundException", 400)


# ============================================================================ resource policies

def test_resource_policy(kinesis, target):
    name = new_stream(kinesis, 1)
    arn = f"arn:aws:kinesis:{REGION}:{target.account}:stream/{name}"
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "read", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{target.account}:root"},
        "Action": ["kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStreamSummary"],
        "Resource": arn}]}
    kinesis.put_resource_policy(ResourceARN=arn, Policy=json.dumps(policy))
    assert json.loads(kinesis.get_resource_policy(ResourceARN=arn)["Policy"]) == policy
    policy["Statement"][0]["Action"] = ["kinesis:ListShards"]
    kinesis.put_resource_policy(ResourceARN=arn, Policy=json.dumps(policy))
    assert json.loads(kinesis.get_resource_policy(ResourceARN=arn)["Policy"]) == policy
    kinesis.delete_resource_policy(ResourceARN=arn)
    try:
        after = kinesis.get_resource_policy(ResourceARN=arn)["Policy"]
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ResourceNotFoundException"
    else:
        assert json.loads(after) == {}


@xfail_moto("a policy for a missing stream is accepted")
def test_resource_policy_on_missing_stream(kinesis, target):
    arn = f"arn:aws:kinesis:{REGION}:{target.account}:stream/{unique('missing')}"
    code, status, _ = fails(kinesis.put_resource_policy, ResourceARN=arn, Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": []}))
    assert (code, status) == ("ResourceNotFoundException", 400)


# ============================================================================ aws CLI

def test_aws_cli(target, kinesis, cli_env):
    name = unique("cli")

    def aws(*args):
        cmd = [*aws_cli_base(), "--endpoint-url", target.endpoint, "--region", REGION, "--output", "json",
               "kinesis", *args]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60, env=cli_env).stdout
        return json.loads(out) if out.strip() else None

    assert aws("create-stream", "--stream-name", name, "--shard-count", "2") is None
    aws("wait", "stream-exists", "--stream-name", name)
    # CLI v1 sends blob arguments as given; v2 decodes them as base64 unless told otherwise.
    v2 = subprocess.run([*aws_cli_base(), "--version"], capture_output=True, text=True,
                        env=cli_env).stdout.startswith("aws-cli/2")
    put = aws("put-record", "--stream-name", name, "--partition-key", "cli", "--data", "hello from the CLI",
              *(["--cli-binary-format", "raw-in-base64-out"] if v2 else []))
    assert put["ShardId"] == shard_for(shards_of(kinesis, name), md5_key("cli"))
    it = aws("get-shard-iterator", "--stream-name", name, "--shard-id", put["ShardId"],
             "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]
    got = aws("get-records", "--shard-iterator", it)
    assert [(base64.b64decode(r["Data"]), r["SequenceNumber"]) for r in got["Records"]] == [
        (b"hello from the CLI", put["SequenceNumber"])]
    assert name in aws("list-streams")["StreamNames"]
    assert len(aws("list-shards", "--stream-name", name)["Shards"]) == 2
    aws("delete-stream", "--stream-name", name)
    aws("wait", "stream-not-exists", "--stream-name", name)
    assert name not in kinesis.list_streams()["StreamNames"]


# ============================================================================ shard limits (opt-in)

@pytest.mark.stratus_only
def test_shard_limits_are_applied_to_streams_tagged_for_them(kinesis):
    """AWS's per-shard limits (1,000 records and 1 MiB of writes, 5 reads per second) apply
    only to streams tagged `stratus:shard-limits`, so retry code can be tested."""
    name = new_stream(kinesis, 1, Tags={"stratus:shard-limits": "aws"})
    free = new_stream(kinesis, 1)
    batch = [{"Data": b"x" * 3000, "PartitionKey": f"k{i}"} for i in range(500)]
    # 500 × 3 KB is over 1 MiB: AWS's limit refuses the records past it, each with its error.
    out = kinesis.put_records(StreamName=name, Records=batch)
    failed = [r for r in out["Records"] if "ErrorCode" in r]
    assert 0 < out["FailedRecordCount"] == len(failed) < 500
    assert failed[0]["ErrorCode"] == "ProvisionedThroughputExceededException"
    assert failed[0]["ErrorMessage"].startswith(f"Rate exceeded for shard shardId-000000000000 in stream {name}")
    ok = [r for r in out["Records"] if "SequenceNumber" in r]
    # What fits in 1 MiB (data and partition keys), in request order.
    assert 340 <= len(ok) <= 349 and all("SequenceNumber" in r for r in out["Records"][:len(ok)])
    # The stream without the tag takes it all.
    assert kinesis.put_records(StreamName=free, Records=batch)["FailedRecordCount"] == 0
    # Only the admitted records were written.
    it = kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert len(kinesis.get_records(ShardIterator=it)["Records"]) == len(ok)
    # Reads: five GetRecords calls per second and shard.
    codes = []
    for _ in range(30):  # within at most two seconds: one of them sees more than five
        try:
            kinesis.get_records(ShardIterator=it, Limit=1)
            codes.append("ok")
        except ClientError as e:
            codes.append(e.response["Error"]["Code"])
            break
    assert codes[-1] == "ProvisionedThroughputExceededException" and "ok" in codes
