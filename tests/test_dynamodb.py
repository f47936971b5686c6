"""Amazon DynamoDB end to end with boto3 (client and `resource('dynamodb').Table` with
`boto3.dynamodb.conditions`) and the aws CLI: tables and indexes, items with condition,
projection and update expressions, Query and Scan with pagination, batches and transactions.

Expected errors and messages follow responses recorded against AWS (LocalStack's
tests/aws/services/dynamodb/*.snapshot.json) and the DynamoDB API reference:
ResourceNotFoundException "Requested resource not found", ResourceInUseException "Table already
exists: …", ConditionalCheckFailedException "The conditional request failed",
"The provided key element does not match the schema", "One or more parameter values were
invalid: Missing the key … in the item", TransactionCanceledException with
CancellationReasons in request order.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from sqs_helpers import REGION, aws_cli_base, client_config, unique

pytestmark = pytest.mark.stratus_only


def fails(call, *args, **kwargs) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as e:
        call(*args, **kwargs)
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"].get("Message", "")


@pytest.fixture(scope="module")
def ddb(target):
    return boto3.session.Session().client("dynamodb", endpoint_url=target.endpoint, region_name=REGION,
                                          aws_access_key_id="test", aws_secret_access_key="test",
                                          config=client_config())


@pytest.fixture(scope="module")
def resource(target):
    return boto3.session.Session().resource("dynamodb", endpoint_url=target.endpoint, region_name=REGION,
                                            aws_access_key_id="test", aws_secret_access_key="test")


def new_table(ddb, range_key=True, **extra) -> str:
    name = unique("t")
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "sk", "AttributeType": "N"})
    attrs += extra.pop("ExtraAttributes", [])
    ddb.create_table(TableName=name, KeySchema=keys, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST",
                     **extra)
    return name


def test_table_lifecycle(ddb, target):
    name = new_table(ddb)
    d = ddb.describe_table(TableName=name)["Table"]
    assert d["TableStatus"] == "ACTIVE"
    assert d["TableArn"] == f"arn:aws:dynamodb:{REGION}:{target.account}:table/{name}"
    assert d["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert d["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1})
    assert name in ddb.list_tables()["TableNames"]
    assert fails(ddb.create_table, TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                 BillingMode="PAY_PER_REQUEST") == ("ResourceInUseException", 400, f"Table already exists: {name}")
    ddb.update_table(TableName=name, DeletionProtectionEnabled=True)
    assert fails(ddb.delete_table, TableName=name)[0] == "ValidationException"
    ddb.update_table(TableName=name, DeletionProtectionEnabled=False)
    assert ddb.delete_table(TableName=name)["TableDescription"]["TableStatus"] == "DELETING"
    assert fails(ddb.describe_table, TableName=name) == (
        "ResourceNotFoundException", 400, f"Requested resource not found: Table: {name} not found")
    assert fails(ddb.get_item, TableName=name, Key={"pk": {"S": "a"}})[:2] == ("ResourceNotFoundException", 400)


def test_create_table_validation(ddb):
    base = dict(TableName=unique("t"), BillingMode="PAY_PER_REQUEST")
    code, _, message = fails(ddb.create_table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                   {"AttributeName": "x", "AttributeType": "S"}], **base)
    assert code == "ValidationException" and "AttributeDefinitions" in message
    code, _, message = fails(ddb.create_table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                             ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}, **base)
    assert code == "ValidationException" and "PAY_PER_REQUEST" in message


def test_items_with_conditions_and_return_values(ddb):
    t = new_table(ddb)
    item = {"pk": {"S": "a"}, "sk": {"N": "1"}, "n": {"N": "1.50"}, "tags": {"SS": ["x", "y"]},
            "m": {"M": {"deep": {"L": [{"S": "v"}, {"NULL": True}]}}}}
    ddb.put_item(TableName=t, Item=item)
    got = ddb.get_item(TableName=t, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})["Item"]
    assert got["n"] == {"N": "1.5"} and got["m"] == item["m"]
    # A condition that does not hold leaves the item as it was.
    assert fails(ddb.put_item, TableName=t, Item={"pk": {"S": "a"}, "sk": {"N": "1"}},
                 ConditionExpression="attribute_not_exists(pk)") == (
        "ConditionalCheckFailedException", 400, "The conditional request failed")
    e = pytest.raises(ClientError, ddb.delete_item, TableName=t, Key={"pk": {"S": "a"}, "sk": {"N": "1"}},
                      ConditionExpression="n > :v", ExpressionAttributeValues={":v": {"N": "2"}},
                      ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert e.value.response["Item"]["n"] == {"N": "1.5"}
    old = ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "new"}},
                       ReturnValues="ALL_OLD")["Attributes"]
    assert old["tags"] == {"SS": ["x", "y"]}
    assert fails(ddb.get_item, TableName=t, Key={"pk": {"S": "a"}}) == (
        "ValidationException", 400, "The provided key element does not match the schema")
    assert fails(ddb.put_item, TableName=t, Item={"pk": {"S": "a"}}) == (
        "ValidationException", 400, "One or more parameter values were invalid: Missing the key sk in the item")
    code, _, message = fails(ddb.put_item, TableName=t, Item={"pk": {"S": "a"}, "sk": {"S": "1"}})
    assert code == "ValidationException" and "Type mismatch for key sk" in message
    gone = ddb.delete_item(TableName=t, Key={"pk": {"S": "a"}, "sk": {"N": "1"}}, ReturnValues="ALL_OLD")
    assert gone["Attributes"]["v"] == {"S": "new"}
    assert "Item" not in ddb.get_item(TableName=t, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})


def test_update_expressions(ddb):
    t = new_table(ddb)
    key = {"pk": {"S": "u"}, "sk": {"N": "0"}}
    out = ddb.update_item(TableName=t, Key=key, ReturnValues="ALL_NEW",
                          UpdateExpression="SET #c = if_not_exists(#c, :zero) + :one, l = list_append(if_not_exists(l, :empty), :l) ADD s :s",
                          ExpressionAttributeNames={"#c": "count"},
                          ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}, ":empty": {"L": []},
                                                     ":l": {"L": [{"S": "a"}]}, ":s": {"SS": ["x"]}})
    assert out["Attributes"]["count"] == {"N": "1"} and out["Attributes"]["l"] == {"L": [{"S": "a"}]}
    out = ddb.update_item(TableName=t, Key=key, ReturnValues="UPDATED_NEW",
                          UpdateExpression="SET #c = #c + :big REMOVE l DELETE s :s",
                          ExpressionAttributeNames={"#c": "count"},
                          ExpressionAttributeValues={":big": {"N": "0.1"}, ":s": {"SS": ["x"]}})
    assert out["Attributes"] == {"count": {"N": "1.1"}}
    item = ddb.get_item(TableName=t, Key=key)["Item"]
    assert set(item) == {"pk", "sk", "count"}
    code, _, message = fails(ddb.update_item, TableName=t, Key=key, UpdateExpression="SET sk = :v",
                             ExpressionAttributeValues={":v": {"N": "5"}})
    assert code == "ValidationException" and "This attribute is part of the key" in message
    code, _, message = fails(ddb.update_item, TableName=t, Key=key, UpdateExpression="SET a = :v",
                             ExpressionAttributeValues={":v": {"N": "5"}, ":unused": {"N": "1"}})
    assert code == "ValidationException" and "unused" in message


def test_query_scan_and_pagination(ddb, resource):
    t = new_table(ddb)
    table = resource.Table(t)
    with table.batch_writer() as w:
        for p in ("a", "b"):
            for n in range(12):
                w.put_item(Item={"pk": p, "sk": n, "even": n % 2 == 0, "pad": "x" * 10})
    got = table.query(KeyConditionExpression=Key("pk").eq("a") & Key("sk").between(3, 7))["Items"]
    assert [int(i["sk"]) for i in got] == [3, 4, 5, 6, 7]
    back = table.query(KeyConditionExpression=Key("pk").eq("a"), ScanIndexForward=False, Limit=3)
    assert [int(i["sk"]) for i in back["Items"]] == [11, 10, 9]
    more = table.query(KeyConditionExpression=Key("pk").eq("a"), ScanIndexForward=False, Limit=3,
                       ExclusiveStartKey=back["LastEvaluatedKey"])
    assert [int(i["sk"]) for i in more["Items"]] == [8, 7, 6]
    filtered = table.query(KeyConditionExpression=Key("pk").eq("a"), FilterExpression=Attr("even").eq(True))
    assert filtered["Count"] == 6 and filtered["ScannedCount"] == 12
    count = ddb.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "b"}},
                      Select="COUNT")
    assert count["Count"] == 12 and "Items" not in count
    # Pages of a scan cover every item once.
    seen, start = [], None
    while True:
        kw = {"ExclusiveStartKey": start} if start else {}
        page = table.scan(Limit=5, ProjectionExpression="pk, sk", **kw)
        seen += [(i["pk"], int(i["sk"])) for i in page["Items"]]
        assert all(set(i) == {"pk", "sk"} for i in page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert sorted(seen) == [(p, n) for p in ("a", "b") for n in range(12)]
    # Parallel scan segments split the items between them.
    parts = [table.scan(Segment=s, TotalSegments=3)["Items"] for s in range(3)]
    assert sum(len(p) for p in parts) == 24
    code, _, message = fails(ddb.query, TableName=t, KeyConditionExpression="sk = :v",
                             ExpressionAttributeValues={":v": {"N": "1"}})
    assert code == "ValidationException" and "pk" in message


def test_secondary_indexes(ddb, resource):
    t = new_table(ddb, ExtraAttributes=[{"AttributeName": "email", "AttributeType": "S"},
                                        {"AttributeName": "score", "AttributeType": "N"}],
                  GlobalSecondaryIndexes=[{"IndexName": "by-email",
                                           "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                                           "Projection": {"ProjectionType": "KEYS_ONLY"}}],
                  LocalSecondaryIndexes=[{"IndexName": "by-score",
                                          "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                        {"AttributeName": "score", "KeyType": "RANGE"}],
                                          "Projection": {"ProjectionType": "ALL"}}])
    table = resource.Table(t)
    table.put_item(Item={"pk": "u", "sk": 1, "email": "a@x", "score": 30, "name": "A"})
    table.put_item(Item={"pk": "u", "sk": 2, "email": "b@x", "score": 10, "name": "B"})
    table.put_item(Item={"pk": "u", "sk": 3, "score": 20, "name": "C"})  # not in the GSI: sparse
    by_email = table.query(IndexName="by-email", KeyConditionExpression=Key("email").eq("b@x"))["Items"]
    assert by_email == [{"pk": "u", "sk": 2, "email": "b@x"}]
    by_score = table.query(IndexName="by-score", KeyConditionExpression=Key("pk").eq("u"))["Items"]
    assert [i["name"] for i in by_score] == ["B", "C", "A"]
    d = ddb.describe_table(TableName=t)["Table"]
    assert d["GlobalSecondaryIndexes"][0]["ItemCount"] == 2
    assert d["GlobalSecondaryIndexes"][0]["IndexArn"].endswith(f"table/{t}/index/by-email")
    assert d["ItemCount"] == 3
    # Moving an item's index key moves its entry.
    table.update_item(Key={"pk": "u", "sk": 2}, UpdateExpression="SET email = :e",
                      ExpressionAttributeValues={":e": "c@x"})
    assert table.query(IndexName="by-email", KeyConditionExpression=Key("email").eq("b@x"))["Items"] == []
    assert len(table.query(IndexName="by-email", KeyConditionExpression=Key("email").eq("c@x"))["Items"]) == 1
    # An index added later is backfilled.
    ddb.update_table(TableName=t, AttributeDefinitions=[{"AttributeName": "name", "AttributeType": "S"}],
                     GlobalSecondaryIndexUpdates=[{"Create": {
                         "IndexName": "by-name", "KeySchema": [{"AttributeName": "name", "KeyType": "HASH"}],
                         "Projection": {"ProjectionType": "ALL"}}}])
    assert table.query(IndexName="by-name", KeyConditionExpression=Key("name").eq("C"))["Items"][0]["sk"] == 3


def test_batches_and_transactions(ddb):
    t = new_table(ddb, range_key=False)
    ddb.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": {"pk": {"S": f"k{n}"}, "v": {"N": str(n)}}}}
                                           for n in range(10)]})
    got = ddb.batch_get_item(RequestItems={t: {"Keys": [{"pk": {"S": "k1"}}, {"pk": {"S": "k2"}},
                                                        {"pk": {"S": "missing"}}]}})
    assert sorted(i["pk"]["S"] for i in got["Responses"][t]) == ["k1", "k2"] and got["UnprocessedKeys"] == {}
    ddb.transact_write_items(TransactItems=[
        {"Update": {"TableName": t, "Key": {"pk": {"S": "k1"}}, "UpdateExpression": "SET v = v - :n",
                    "ExpressionAttributeValues": {":n": {"N": "1"}}, "ConditionExpression": "v >= :n"}},
        {"Put": {"TableName": t, "Item": {"pk": {"S": "new"}, "v": {"N": "1"}}}}])
    assert ddb.get_item(TableName=t, Key={"pk": {"S": "k1"}})["Item"]["v"] == {"N": "0"}
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=[
            {"Delete": {"TableName": t, "Key": {"pk": {"S": "k2"}}}},
            {"ConditionCheck": {"TableName": t, "Key": {"pk": {"S": "k1"}}, "ConditionExpression": "v > :z",
                                "ExpressionAttributeValues": {":z": {"N": "0"}}}}])
    assert e.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in e.value.response["CancellationReasons"]] == ["None", "ConditionalCheckFailed"]
    # Nothing of a cancelled transaction happened.
    assert "Item" in ddb.get_item(TableName=t, Key={"pk": {"S": "k2"}})
    got = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": {"pk": {"S": "new"}}}},
                                                {"Get": {"TableName": t, "Key": {"pk": {"S": "nope"}}}}])
    assert got["Responses"][0]["Item"]["v"] == {"N": "1"} and got["Responses"][1] == {}


def test_exact_numbers_through_the_resource_api(resource, ddb):
    t = new_table(ddb, range_key=False)
    table = resource.Table(t)
    table.put_item(Item={"pk": "n", "v": Decimal("0.1")})
    table.update_item(Key={"pk": "n"}, UpdateExpression="ADD v :x", ExpressionAttributeValues={":x": Decimal("0.2")})
    assert table.get_item(Key={"pk": "n"})["Item"]["v"] == Decimal("0.3")
    big = Decimal("12345678901234567890123456789012345678")
    table.put_item(Item={"pk": "big", "v": big})
    assert table.get_item(Key={"pk": "big"})["Item"]["v"] == big


def test_aws_cli(target, ddb, cli_env):
    import subprocess
    t = new_table(ddb, range_key=False)

    def aws(*args):
        cmd = [*aws_cli_base(), "--endpoint-url", target.endpoint, "--region", REGION, "--output", "json",
               "dynamodb", *args]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60, env=cli_env).stdout

    aws("put-item", "--table-name", t, "--item", json.dumps({"pk": {"S": "cli"}, "n": {"N": "7"}}))
    out = json.loads(aws("get-item", "--table-name", t, "--key", json.dumps({"pk": {"S": "cli"}})))
    assert out["Item"] == {"pk": {"S": "cli"}, "n": {"N": "7"}}
    scanned = json.loads(aws("scan", "--table-name", t))
    assert scanned["Count"] == 1


# ----------------------------------------------------------------------------- streams

@pytest.fixture(scope="module")
def streams(target):
    return boto3.session.Session().client("dynamodbstreams", endpoint_url=target.endpoint, region_name=REGION,
                                          aws_access_key_id="test", aws_secret_access_key="test",
                                          config=client_config())


def streamed_table(ddb, view="NEW_AND_OLD_IMAGES") -> tuple[str, str]:
    t = new_table(ddb, range_key=False, StreamSpecification={"StreamEnabled": True, "StreamViewType": view})
    return t, ddb.describe_table(TableName=t)["Table"]["LatestStreamArn"]


def read_all(streams, arn, kind="TRIM_HORIZON", **kw) -> tuple[list, str]:
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind, **kw)["ShardIterator"]
    out = streams.get_records(ShardIterator=it)
    return out["Records"], out["NextShardIterator"]


def test_stream_records_one_per_change_in_order(ddb, streams):
    t, arn = streamed_table(ddb)
    key = {"pk": {"S": "a"}}
    ddb.put_item(TableName=t, Item={**key, "v": {"N": "1"}})
    ddb.update_item(TableName=t, Key=key, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": "2"}})
    ddb.put_item(TableName=t, Item={**key, "v": {"N": "2"}})  # changes nothing: no record
    ddb.delete_item(TableName=t, Key=key)
    ddb.delete_item(TableName=t, Key=key)  # nothing to delete: no record
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "ENABLED" and desc["TableName"] == t
    assert 28 <= len(desc["Shards"][0]["ShardId"]) <= 65
    records, _ = read_all(streams, arn)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert all(21 <= len(s) <= 40 for s in seqs) and [int(s) for s in seqs] == sorted(int(s) for s in seqs)
    insert, modify, remove = records
    assert insert["eventSource"] == "aws:dynamodb" and insert["awsRegion"] == REGION
    assert insert["dynamodb"]["Keys"] == key and "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["v"] == {"N": "1"} and modify["dynamodb"]["NewImage"]["v"] == {"N": "2"}
    assert "NewImage" not in remove["dynamodb"] and remove["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    # LATEST starts after what is there; AFTER_SEQUENCE_NUMBER after the one named.
    latest, _ = read_all(streams, arn, "LATEST")
    assert latest == []
    after, _ = read_all(streams, arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=seqs[0])
    assert [r["eventName"] for r in after] == ["MODIFY", "REMOVE"]
    assert arn in [s["StreamArn"] for s in streams.list_streams(TableName=t)["Streams"]]


def test_keys_only_streams_and_a_new_stream_after_disabling(ddb, streams):
    t, arn = streamed_table(ddb, "KEYS_ONLY")
    ddb.put_item(TableName=t, Item={"pk": {"S": "k"}, "big": {"S": "x" * 100}})
    records, _ = read_all(streams, arn)
    assert set(records[0]["dynamodb"]) >= {"Keys", "SequenceNumber", "SizeBytes"}
    assert "NewImage" not in records[0]["dynamodb"]
    ddb.update_table(TableName=t, StreamSpecification={"StreamEnabled": False})
    assert "LatestStreamArn" not in ddb.describe_table(TableName=t)["Table"]
    ddb.update_table(TableName=t, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    new_arn = ddb.describe_table(TableName=t)["Table"]["LatestStreamArn"]
    assert new_arn != arn



def test_stream_triggers_a_function(ddb, target):
    from test_lambda import create, zip_of
    lam = boto3.session.Session().client("lambda", endpoint_url=target.endpoint, region_name=REGION,
                                         aws_access_key_id="test", aws_secret_access_key="test",
                                         config=client_config(read_timeout=60))
    sqs = boto3.session.Session().client("sqs", endpoint_url=target.endpoint, region_name=REGION,
                                         aws_access_key_id="test", aws_secret_access_key="test")
    sink = sqs.create_queue(QueueName=unique("sink"))["QueueUrl"]
    failures = sqs.create_queue(QueueName=unique("fail"))["QueueUrl"]
    failures_arn = sqs.get_queue_attributes(QueueUrl=failures, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    code = zip_of({"app.py": """
import json, os, boto3
def handler(event, context):
    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
    if any(k.startswith("fail") for k in keys):
        raise Exception("refused")
    boto3.client("sqs").send_message(QueueUrl=os.environ["SINK"], MessageBody=json.dumps(event))
    return {}
"""})
    name, _ = create(lam, code, Timeout=30, Environment={"Variables": {"SINK": sink}})
    t, arn = streamed_table(ddb)
    ddb.put_item(TableName=t, Item={"pk": {"S": "before"}})
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
                                        BatchSize=10, MaximumRetryAttempts=1,
                                        DestinationConfig={"OnFailure": {"Destination": failures_arn}})
    assert m["StartingPosition"] == "TRIM_HORIZON" and m["MaximumRetryAttempts"] == 1
    assert m["DestinationConfig"]["OnFailure"]["Destination"] == failures_arn
    ddb.put_item(TableName=t, Item={"pk": {"S": "after"}})
    got = []
    deadline = time.time() + 30
    while len(got) < 2 and time.time() < deadline:
        for msg in sqs.receive_message(QueueUrl=sink, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", []):
            sqs.delete_message(QueueUrl=sink, ReceiptHandle=msg["ReceiptHandle"])
            got += json.loads(msg["Body"])["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in got] == ["before", "after"]
    assert all(r["eventSourceARN"] == arn for r in got)
    # The function sent to the sink before it returned; the mapping records the batch's result
    # once the invocation has ended.
    deadline = time.time() + 10
    while lam.get_event_source_mapping(UUID=m["UUID"])["LastProcessingResult"] != "OK" and time.time() < deadline:
        time.sleep(0.1)
    assert lam.get_event_source_mapping(UUID=m["UUID"])["LastProcessingResult"] == "OK"
    # A batch that keeps failing goes to the OnFailure destination after its retries.
    ddb.put_item(TableName=t, Item={"pk": {"S": "fail-1"}})
    msgs = sqs.receive_message(QueueUrl=failures, WaitTimeSeconds=20).get("Messages", [])
    assert msgs, "no failure record"
    info = json.loads(msgs[0]["Body"])
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["DDBStreamBatchInfo"]["streamArn"] == arn and info["DDBStreamBatchInfo"]["batchSize"] == 1
    # The shard moved on: later records still arrive.
    ddb.put_item(TableName=t, Item={"pk": {"S": "later"}})
    later = sqs.receive_message(QueueUrl=sink, WaitTimeSeconds=20).get("Messages", [])
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in json.loads(later[0]["Body"])["Records"]] == ["later"]
    lam.delete_event_source_mapping(UUID=m["UUID"])


def test_legacy_parameters(ddb):
    t = new_table(ddb)
    for n in range(5):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"N": str(n)}, "even": {"BOOL": n % 2 == 0}},
                     Expected={"pk": {"Exists": False}})
    assert fails(ddb.put_item, TableName=t, Item={"pk": {"S": "a"}, "sk": {"N": "1"}},
                 Expected={"pk": {"Exists": False}})[0] == "ConditionalCheckFailedException"
    got = ddb.query(TableName=t, KeyConditions={
        "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]},
        "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "3"}]}},
        QueryFilter={"even": {"ComparisonOperator": "EQ", "AttributeValueList": [{"BOOL": False}]}})
    assert [i["sk"]["N"] for i in got["Items"]] == ["1", "3"] and got["ScannedCount"] == 3
    ddb.update_item(TableName=t, Key={"pk": {"S": "a"}, "sk": {"N": "0"}}, AttributeUpdates={
        "count": {"Action": "ADD", "Value": {"N": "2"}}, "even": {"Action": "DELETE"},
        "name": {"Action": "PUT", "Value": {"S": "zero"}}}, Expected={"even": {"Value": {"BOOL": True}}})
    item = ddb.get_item(TableName=t, Key={"pk": {"S": "a"}, "sk": {"N": "0"}}, AttributesToGet=["count", "name", "even"])
    assert item["Item"] == {"count": {"N": "2"}, "name": {"S": "zero"}}
    scanned = ddb.scan(TableName=t, ScanFilter={"name": {"ComparisonOperator": "NOT_NULL"}})
    assert scanned["Count"] == 1
    code, _, message = fails(ddb.scan, TableName=t, ScanFilter={"name": {"ComparisonOperator": "NULL"}},
                             FilterExpression="attribute_exists(x)")
    assert code == "ValidationException" and "Can not use both expression and non-expression parameters" in message


def test_backups_and_restore(ddb, resource):
    t = new_table(ddb, ExtraAttributes=[{"AttributeName": "email", "AttributeType": "S"}],
                  GlobalSecondaryIndexes=[{"IndexName": "by-email",
                                           "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                                           "Projection": {"ProjectionType": "ALL"}}])
    table = resource.Table(t)
    for n in range(3):
        table.put_item(Item={"pk": "p", "sk": n, "email": f"{n}@x"})
    b = ddb.create_backup(TableName=t, BackupName="nightly")["BackupDetails"]
    assert b["BackupStatus"] == "AVAILABLE" and b["BackupArn"].startswith(
        ddb.describe_table(TableName=t)["Table"]["TableArn"] + "/backup/")
    table.put_item(Item={"pk": "p", "sk": 9, "email": "after@x"})  # not in the backup
    d = ddb.describe_backup(BackupArn=b["BackupArn"])["BackupDescription"]
    assert d["SourceTableDetails"]["TableName"] == t and d["SourceTableDetails"]["ItemCount"] == 3
    assert [s["BackupName"] for s in ddb.list_backups(TableName=t)["BackupSummaries"]] == ["nightly"]
    restored = unique("r")
    out = ddb.restore_table_from_backup(TargetTableName=restored, BackupArn=b["BackupArn"])["TableDescription"]
    assert out["RestoreSummary"]["SourceBackupArn"] == b["BackupArn"]
    copy = resource.Table(restored)
    assert sorted(int(i["sk"]) for i in copy.scan()["Items"]) == [0, 1, 2]
    assert copy.query(IndexName="by-email", KeyConditionExpression=Key("email").eq("1@x"))["Items"][0]["sk"] == 1
    assert ddb.describe_table(TableName=restored)["Table"]["ItemCount"] == 3
    assert fails(ddb.restore_table_from_backup, TargetTableName=restored, BackupArn=b["BackupArn"])[0] == (
        "TableAlreadyExistsException")
    assert ddb.delete_backup(BackupArn=b["BackupArn"])["BackupDescription"]["BackupDetails"]["BackupStatus"] == "DELETED"
    assert fails(ddb.describe_backup, BackupArn=b["BackupArn"])[0] == "BackupNotFoundException"


def test_node_document_client(ddb, target):
    import os
    import shutil
    import subprocess
    from pathlib import Path
    node_dir = Path(__file__).parent / "node"
    if shutil.which("node") is None or not (node_dir / "node_modules" / "@aws-sdk" / "lib-dynamodb").exists():
        pytest.skip("node or tests/node/node_modules is missing (the test command installs them)")
    t = new_table(ddb)
    out = subprocess.run(["node", str(node_dir / "dynamodb_document_client.mjs"), target.endpoint, t],
                         capture_output=True, text=True, timeout=60, cwd=node_dir, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["got"] == {"pk": "user#1", "sk": 1, "name": "Ada", "tags": ["a", "b"], "nested": {"langs": ["en", "fr"]}}
    assert r["visits"] == 1 and r["conditionFailed"] is True
    assert r["queried"] == [[1, "Ada"], [2, "Grace H."]]
    assert r["batch"] == ["Linus"] and r["gone"] is True


def test_parallelization_keeps_order_per_item(ddb, target):
    from test_lambda import create, zip_of
    kw = dict(endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    lam = boto3.session.Session().client("lambda", config=client_config(read_timeout=60), **kw)
    sqs = boto3.session.Session().client("sqs", **kw)
    sink = sqs.create_queue(QueueName=unique("sink"))["QueueUrl"]
    code = zip_of({"app.py": """
import json, os, boto3
def handler(event, context):
    pairs = [[r["dynamodb"]["Keys"]["pk"]["S"], int(r["dynamodb"]["NewImage"]["v"]["N"])] for r in event["Records"]]
    boto3.client("sqs").send_message(QueueUrl=os.environ["SINK"], MessageBody=json.dumps(pairs))
"""})
    name, _ = create(lam, code, Timeout=30, Environment={"Variables": {"SINK": sink}})
    t, arn = streamed_table(ddb, "NEW_IMAGE")
    for v in range(10):
        for k in ("a", "b", "c", "d"):
            ddb.put_item(TableName=t, Item={"pk": {"S": k}, "v": {"N": str(v)}})
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
                                        BatchSize=40, ParallelizationFactor=4)
    assert m["ParallelizationFactor"] == 4
    seen: list = []
    deadline = time.time() + 30
    while len(seen) < 40 and time.time() < deadline:
        for msg in sqs.receive_message(QueueUrl=sink, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", []):
            sqs.delete_message(QueueUrl=sink, ReceiptHandle=msg["ReceiptHandle"])
            seen += [tuple(p) for p in json.loads(msg["Body"])]
    assert sorted(seen) == sorted((k, v) for v in range(10) for k in "abcd")
    for k in "abcd":
        assert [v for key, v in seen if key == k] == list(range(10))
    lam.delete_event_source_mapping(UUID=m["UUID"])


def test_partiql(ddb):
    t = new_table(ddb)
    ddb.execute_statement(Statement=f"INSERT INTO \"{t}\" VALUE {{'pk': 'a', 'sk': 1, 'v': 'x', 'tags': <<'p', 'q'>>}}")
    assert fails(ddb.execute_statement, Statement=f"INSERT INTO \"{t}\" VALUE {{'pk': 'a', 'sk': 1}}")[:2] == (
        "DuplicateItemException", 400)
    ddb.execute_statement(Statement=f"INSERT INTO \"{t}\" VALUE {{'pk': ?, 'sk': ?}}",
                          Parameters=[{"S": "a"}, {"N": "2"}])
    got = ddb.execute_statement(Statement=f'SELECT * FROM "{t}" WHERE pk = ?', Parameters=[{"S": "a"}])["Items"]
    assert [i["sk"]["N"] for i in got] == ["1", "2"]
    assert got[0]["tags"] == {"SS": ["p", "q"]}
    out = ddb.execute_statement(Statement=f"UPDATE \"{t}\" SET v = 'y' WHERE pk = 'a' AND sk = 1 RETURNING ALL NEW *")
    assert out["Items"][0]["v"] == {"S": "y"}
    assert fails(ddb.execute_statement, Statement=f"UPDATE \"{t}\" SET v = 'z' WHERE pk = 'a' AND sk = 9")[0] == (
        "ConditionalCheckFailedException")
    ddb.execute_statement(Statement=f"DELETE FROM \"{t}\" WHERE pk = 'a' AND sk = 2")
    assert len(ddb.execute_statement(Statement=f'SELECT pk FROM "{t}"')["Items"]) == 1
    batch = ddb.batch_execute_statement(Statements=[
        {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'b', 'sk': 1}}"},
        {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'a', 'sk': 1}}"}])["Responses"]
    assert "Error" not in batch[0] and batch[1]["Error"]["Code"] == "DuplicateItem"
    ddb.execute_transaction(TransactStatements=[
        {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'c', 'sk': 1}}"},
        {"Statement": f"UPDATE \"{t}\" SET n = 1 WHERE pk = 'b' AND sk = 1"}])
    assert ddb.get_item(TableName=t, Key={"pk": {"S": "b"}, "sk": {"N": "1"}})["Item"]["n"] == {"N": "1"}
    code, _, _ = fails(ddb.execute_statement, Statement="SELEC nothing")
    assert code == "ValidationException"


def test_resource_policies(ddb):
    t = new_table(ddb, range_key=False)
    arn = ddb.describe_table(TableName=t)["Table"]["TableArn"]
    assert fails(ddb.get_resource_policy, ResourceArn=arn)[0] == "PolicyNotFoundException"
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                         "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "dynamodb:GetItem",
                         "Resource": arn}]})
    rev = ddb.put_resource_policy(ResourceArn=arn, Policy=policy)["RevisionId"]
    got = ddb.get_resource_policy(ResourceArn=arn)
    assert (json.loads(got["Policy"]), got["RevisionId"]) == (json.loads(policy), rev)
    assert fails(ddb.put_resource_policy, ResourceArn=arn, Policy=policy, ExpectedRevisionId="nope")[0] == (
        "PolicyNotFoundException")
    assert ddb.delete_resource_policy(ResourceArn=arn)["RevisionId"] == rev
    assert fails(ddb.delete_resource_policy, ResourceArn=arn)[0] == "PolicyNotFoundException"
