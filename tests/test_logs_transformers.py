"""CloudWatch Logs log transformers: PutTransformer, GetTransformer, DeleteTransformer and
TestTransformer, with every processor the CloudWatch Logs User Guide gives a worked example for.

Facts relied on, and where they come from:
- Shapes and constraints: the botocore service model for `logs` (Processors 1..20 items,
  TestEventMessages 1..50 items; RenameKeyEntry is key / renameTo / overwriteIfExists;
  CopyValueEntry and MoveKeyEntry are source / target / overwriteIfExists; GetTransformer answers
  logGroupIdentifier, creationTime, lastModifiedTime, transformerConfig; TransformedLogRecord is
  eventNumber, eventMessage, transformedEventMessage) and the API reference pages
  API_PutTransformer / API_GetTransformer / API_DeleteTransformer / API_TestTransformer (their error
  lists: InvalidParameterException and ResourceNotFoundException, HTTP 400; logGroupIdentifier is
  "either the name or ARN of the log group"; TestTransformer "responds with an array that includes
  the original log events and the transformed versions"; eventMessage is "the original log event
  message before it was transformed"; PutTransformer: "You can create transformers only for the log
  groups in the Standard log class"; "The processors work one after another, in the order that you
  list them, like a pipeline").
- Rules for a transformer: the User Guide page "Create and manage log transformers"
  (CloudWatch-Logs-Transformation-Create.html): the first processor must be a parser; a built-in
  parser for AWS vended logs must be the first processor and only one is allowed; only one grok;
  at most five parser-type processors; at most 20 processors; only one addKeys; only one copyValue.
- Processor behaviour: the worked examples (example log event, transformer configuration,
  transformed log event) of the User Guide pages "Configurable parser-type processors"
  (CloudWatch-Logs-Transformation-Configurable.html: parseJSON, grok with its pattern table, csv,
  parseKeyValue), "Built-in processors for AWS vended logs" (CloudWatch-Logs-Transformation-BuiltIn:
  parsePostgres, parseCloudfront, parseRoute53, parseVPC), "String mutate processors"
  (CloudWatch-Logs-Transformation-StringMutate), "JSON mutate processors"
  (CloudWatch-Logs-Transformation-JSONMutate) and "Datatype converter processors"
  (CloudWatch-Logs-Transformation-Datatype: typeConverter). These pages were formerly one page,
  "Processors that you can use" (CloudWatch-Logs-Transformation-Processors.html). The inputs and
  outputs below are copied from those examples; outputs are compared as parsed JSON, so key order
  does not matter.

Where the User Guide's example disagrees with the API (kept as the API has it):
- renameKeys: the example names the new key `target`; the API member is `renameTo`.
- copyValue: the example's first entry is written `"key": "outer_key.new_key"` yet yields
  `"new_key": "inner_value"`; the API member is `source`, and the value copied is that of
  `outer_key.inner_key`. The example's metadata entries (@logGroupName, ...) are left out: the
  values they produce depend on the log group the event was ingested into, which TestTransformer
  has none of.
- parseCloudfront: the example shows the fields separated by runs of spaces; CloudFront standard
  logs separate fields with tabs, which is what is sent here.

Not asserted because AWS does not document it: the number the first eventNumber has (only that the
records come in input order), what transformedEventMessage holds for an event a parser cannot
parse, and whether GetTransformer's logGroupIdentifier echoes the name or answers the ARN.
"""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_helpers import REGION, client_config, error_code, http_status, unique

pytestmark = pytest.mark.stratus_only


def now_ms() -> int:
    return int(time.time() * 1000)


def fails(fn, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as e:
        fn(**kwargs)
    return e.value


def expect_error(code: str, fn, **kwargs) -> ClientError:
    err = fails(fn, **kwargs)
    assert error_code(err) == code, err.response
    assert http_status(err) == 400, err.response
    return err


def _client(target, **config):
    return boto3.session.Session().client(
        "logs", endpoint_url=target.endpoint, region_name=REGION, aws_access_key_id="test",
        aws_secret_access_key="test", config=client_config(**config))


@pytest.fixture(scope="module")
def logs(target):
    return _client(target)


@pytest.fixture(scope="module")
def logs_unchecked(target):
    """A client that sends what botocore's own validation would refuse (list sizes out of range)."""
    return _client(target, parameter_validation=False)


@pytest.fixture
def group(logs) -> str:
    name = f"/tf/{unique('g')}"
    logs.create_log_group(logGroupName=name)
    return name


def run(logs, config: list, *messages: str) -> list[dict]:
    return logs.test_transformer(transformerConfig=config, logEventMessages=list(messages))["transformedLogs"]


def transform(logs, config: list, message: str) -> dict:
    """TestTransformer on one message: the transformed event, parsed."""
    [record] = run(logs, config, message)
    assert record["eventMessage"] == message, record
    return json.loads(record["transformedEventMessage"])


PARSE_JSON = {"parseJSON": {}}
LOWER = {"lowerCaseString": {"withKeys": ["k"]}}


# ---------------------------------------------------------------------------------------------
# PutTransformer / GetTransformer / DeleteTransformer
# ---------------------------------------------------------------------------------------------
def test_put_then_get_returns_the_config_and_times(logs, group):
    config = [
        PARSE_JSON,
        {"addKeys": {"entries": [{"key": "env", "value": "prod", "overwriteIfExists": True}]}},
        {"lowerCaseString": {"withKeys": ["level"]}},
    ]
    before = now_ms()
    assert "transformerConfig" not in logs.put_transformer(logGroupIdentifier=group, transformerConfig=config)
    after = now_ms()

    got = logs.get_transformer(logGroupIdentifier=group)
    assert got["transformerConfig"] == config
    assert before - 5000 <= got["creationTime"] <= after + 5000
    assert got["creationTime"] <= got["lastModifiedTime"] <= after + 5000
    assert got["logGroupIdentifier"]


def test_second_put_replaces_config_and_moves_last_modified(logs, group):
    logs.put_transformer(logGroupIdentifier=group, transformerConfig=[PARSE_JSON, LOWER])
    first = logs.get_transformer(logGroupIdentifier=group)
    time.sleep(0.05)

    replacement = [{"grok": {"match": "%{WORD:method} %{URIPATH:path}"}}]
    logs.put_transformer(logGroupIdentifier=group, transformerConfig=replacement)
    second = logs.get_transformer(logGroupIdentifier=group)

    assert second["transformerConfig"] == replacement
    assert second["creationTime"] == first["creationTime"]
    assert second["lastModifiedTime"] > first["lastModifiedTime"]


def test_group_can_be_named_by_arn(logs, group, target):
    arn = f"arn:aws:logs:{REGION}:{target.account}:log-group:{group}"
    logs.put_transformer(logGroupIdentifier=arn, transformerConfig=[PARSE_JSON])
    assert logs.get_transformer(logGroupIdentifier=group)["transformerConfig"] == [PARSE_JSON]
    assert logs.get_transformer(logGroupIdentifier=arn)["transformerConfig"] == [PARSE_JSON]
    logs.delete_transformer(logGroupIdentifier=arn)
    expect_error("ResourceNotFoundException", logs.get_transformer, logGroupIdentifier=group)


def test_delete_then_get_is_not_found(logs, group):
    logs.put_transformer(logGroupIdentifier=group, transformerConfig=[PARSE_JSON])
    logs.delete_transformer(logGroupIdentifier=group)
    expect_error("ResourceNotFoundException", logs.get_transformer, logGroupIdentifier=group)


def test_get_on_a_group_without_transformer_is_not_found(logs, group):
    expect_error("ResourceNotFoundException", logs.get_transformer, logGroupIdentifier=group)


def test_unknown_group_is_not_found(logs):
    missing = f"/tf/{unique('missing')}"
    expect_error("ResourceNotFoundException", logs.put_transformer, logGroupIdentifier=missing,
                 transformerConfig=[PARSE_JSON])
    expect_error("ResourceNotFoundException", logs.get_transformer, logGroupIdentifier=missing)
    expect_error("ResourceNotFoundException", logs.delete_transformer, logGroupIdentifier=missing)


def test_only_standard_class_groups_take_a_transformer(logs):
    name = f"/tf/{unique('ia')}"
    logs.create_log_group(logGroupName=name, logGroupClass="INFREQUENT_ACCESS")
    err = fails(logs.put_transformer, logGroupIdentifier=name, transformerConfig=[PARSE_JSON])
    assert error_code(err) in {"InvalidOperationException", "InvalidParameterException"}, err.response
    assert http_status(err) == 400


# ---------------------------------------------------------------------------------------------
# The rules a transformer's processors follow
# ---------------------------------------------------------------------------------------------
BAD_CONFIGS = [
    pytest.param([{"addKeys": {"entries": [{"key": "a", "value": "b"}]}}], id="first-not-a-parser"),
    pytest.param([LOWER, PARSE_JSON], id="parser-second"),
    pytest.param([PARSE_JSON, {"parseVPC": {}}], id="vended-parser-not-first"),
    pytest.param([{"parseVPC": {}}, {"parseRoute53": {}}], id="two-vended-parsers"),
    pytest.param([{"grok": {"match": "%{WORD:a}"}}, {"grok": {"source": "a", "match": "%{WORD:b}"}}],
                 id="two-grok"),
    pytest.param([PARSE_JSON, {"csv": {"source": "a"}}, {"csv": {"source": "b"}},
                  {"parseKeyValue": {"source": "c"}}, {"parseKeyValue": {"source": "d"}},
                  {"csv": {"source": "e"}}], id="six-parsers"),
    pytest.param([PARSE_JSON, {"addKeys": {"entries": [{"key": "a", "value": "1"}]}},
                  {"addKeys": {"entries": [{"key": "b", "value": "2"}]}}], id="two-addKeys"),
    pytest.param([PARSE_JSON, {"copyValue": {"entries": [{"source": "a", "target": "b"}]}},
                  {"copyValue": {"entries": [{"source": "a", "target": "c"}]}}], id="two-copyValue"),
]


@pytest.mark.parametrize("config", BAD_CONFIGS)
def test_put_refuses_a_config_breaking_the_rules(logs, group, config):
    expect_error("InvalidParameterException", logs.put_transformer, logGroupIdentifier=group,
                 transformerConfig=config)
    # Nothing was kept.
    expect_error("ResourceNotFoundException", logs.get_transformer, logGroupIdentifier=group)


def test_twenty_processors_allowed_twenty_one_refused(logs, logs_unchecked, group):
    twenty = [PARSE_JSON] + [LOWER] * 19
    logs.put_transformer(logGroupIdentifier=group, transformerConfig=twenty)
    assert len(logs.get_transformer(logGroupIdentifier=group)["transformerConfig"]) == 20

    expect_error("InvalidParameterException", logs_unchecked.put_transformer, logGroupIdentifier=group,
                 transformerConfig=twenty + [LOWER])
    expect_error("InvalidParameterException", logs_unchecked.test_transformer,
                 transformerConfig=twenty + [LOWER], logEventMessages=["{}"])
    # The refused put left the twenty-processor transformer in place.
    assert logs.get_transformer(logGroupIdentifier=group)["transformerConfig"] == twenty


def test_empty_config_refused(logs_unchecked, group):
    expect_error("InvalidParameterException", logs_unchecked.put_transformer, logGroupIdentifier=group,
                 transformerConfig=[])
    expect_error("InvalidParameterException", logs_unchecked.test_transformer, transformerConfig=[],
                 logEventMessages=["{}"])


def test_test_transformer_takes_one_to_fifty_messages(logs, logs_unchecked):
    records = run(logs, [PARSE_JSON], *[json.dumps({"n": n}) for n in range(50)])
    assert len(records) == 50
    expect_error("InvalidParameterException", logs_unchecked.test_transformer, transformerConfig=[PARSE_JSON],
                 logEventMessages=["{}"] * 51)
    expect_error("InvalidParameterException", logs_unchecked.test_transformer, transformerConfig=[PARSE_JSON],
                 logEventMessages=[])


# ---------------------------------------------------------------------------------------------
# TestTransformer: the records
# ---------------------------------------------------------------------------------------------
def test_records_follow_input_order_and_echo_messages(logs):
    messages = [json.dumps({"k": "A"}), json.dumps({"k": "B"}), json.dumps({"k": "C"})]
    records = run(logs, [PARSE_JSON, LOWER], *messages)
    assert [r["eventMessage"] for r in records] == messages
    numbers = [r["eventNumber"] for r in records]
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    assert [json.loads(r["transformedEventMessage"]) for r in records] == [{"k": "a"}, {"k": "b"}, {"k": "c"}]


def test_unparseable_event_still_gets_its_record(logs):
    good = json.dumps({"k": "VALUE"})
    records = run(logs, [PARSE_JSON, LOWER], "not json", good)
    assert [r["eventMessage"] for r in records] == ["not json", good]
    assert json.loads(records[1]["transformedEventMessage"]) == {"k": "value"}


def test_processors_run_in_the_order_listed(logs):
    message = json.dumps({"a": "x"})
    upper_then_copy = [PARSE_JSON, {"upperCaseString": {"withKeys": ["a"]}},
                       {"copyValue": {"entries": [{"source": "a", "target": "b"}]}}]
    copy_then_upper = [PARSE_JSON, {"copyValue": {"entries": [{"source": "a", "target": "b"}]}},
                       {"upperCaseString": {"withKeys": ["a"]}}]
    assert transform(logs, upper_then_copy, message) == {"a": "X", "b": "X"}
    assert transform(logs, copy_then_upper, message) == {"a": "X", "b": "x"}


def test_add_keys_overwrites_only_when_asked(logs):
    message = json.dumps({"k": "old"})
    keep = [PARSE_JSON, {"addKeys": {"entries": [{"key": "k", "value": "new"}]}}]
    replace = [PARSE_JSON, {"addKeys": {"entries": [{"key": "k", "value": "new", "overwriteIfExists": True}]}}]
    assert transform(logs, keep, message) == {"k": "old"}
    assert transform(logs, replace, message) == {"k": "new"}


# ---------------------------------------------------------------------------------------------
# TestTransformer: the User Guide's worked example for each processor
# ---------------------------------------------------------------------------------------------
NESTED = {"outer_key": {"inner_key": "inner_value"}}
LIST_EVENT = {"outer_key": [
    {"inner_key": "a", "inner_value": "val-a"},
    {"inner_key": "b", "inner_value": "val-b1"},
    {"inner_key": "b", "inner_value": "val-b2"},
    {"inner_key": "c", "inner_value": "val-c"},
]}
LIST_TO_MAP = {"source": "outer_key", "key": "inner_key", "valueKey": "inner_value"}

CLOUDFRONT_FIELDS = [
    "2019-12-04", "21:02:31", "LAX1", "392", "192.0.2.24", "GET", "d111111abcdef8.cloudfront.net", "/index.html",
    "200", "-",
    "Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)"
    "%20Chrome/78.0.3904.108%20Safari/537.36",
    "-", "-", "Hit", "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==", "d111111abcdef8.cloudfront.net",
    "https", "23", "0.001", "-", "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", "Hit", "HTTP/2.0", "-", "-", "11040",
    "0.001", "Hit", "text/html", "78", "-", "-",
]
CLOUDFRONT_OUT = {
    "date": "2019-12-04", "time": "21:02:31", "x-edge-location": "LAX1", "sc-bytes": 392, "c-ip": "192.0.2.24",
    "cs-method": "GET", "cs(Host)": "d111111abcdef8.cloudfront.net", "cs-uri-stem": "/index.html",
    "sc-status": 200, "cs(Referer)": "-",
    "cs(User-Agent)": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/78.0.3904.108 Safari/537.36",
    "cs-uri-query": "-", "cs(Cookie)": "-", "x-edge-result-type": "Hit",
    "x-edge-request-id": "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==",
    "x-host-header": "d111111abcdef8.cloudfront.net", "cs-protocol": "https", "cs-bytes": 23, "time-taken": 0.001,
    "x-forwarded-for": "-", "ssl-protocol": "TLSv1.2", "ssl-cipher": "ECDHE-RSA-AES128-GCM-SHA256",
    "x-edge-response-result-type": "Hit", "cs-protocol-version": "HTTP/2.0", "fle-status": "-",
    "fle-encrypted-fields": "-", "c-port": 11040, "time-to-first-byte": 0.001, "x-edge-detailed-result-type": "Hit",
    "sc-content-type": "text/html", "sc-content-len": 78, "sc-range-start": "-", "sc-range-end": "-",
}

DOC_EXAMPLES = [
    # --- Configurable parser-type processors ---
    pytest.param([{"parseJSON": {"destination": "new_key"}}], json.dumps(NESTED), {"new_key": NESTED},
                 id="parseJSON-destination"),
    pytest.param([{"grok": {"match": "%{NUMBER:version} %{HOSTNAME:hostname} %{NOTSPACE:status} "
                                     "%{QUOTEDSTRING:logMsg}"}}],
                 '293750 server-01.internal-network.local OK "[Thread-000] token generated"',
                 {"version": "293750", "hostname": "server-01.internal-network.local", "status": "OK",
                  "logMsg": "[Thread-000] token generated"},
                 id="grok-example1-unstructured"),
    pytest.param([{"grok": {"match": "%{HTTPDATE:timestamp} %{IPORHOST:clientip} %{NUMBER:response_status}"}}],
                 "23/Nov/2024:10:25:15 -0900 172.16.0.1 200",
                 {"timestamp": "23/Nov/2024:10:25:15 -0900", "clientip": "172.16.0.1", "response_status": "200"},
                 id="grok-example1-httpdate"),
    pytest.param([PARSE_JSON, {"grok": {"source": "logMsg",
                                        "match": "%{WORD:http_method} %{NOTSPACE:request} HTTP/%{NUMBER:http_version}"}}],
                 json.dumps({"timestamp": "2024-11-23T16:03:12Z", "level": "ERROR",
                             "logMsg": "GET /page.html HTTP/1.1"}),
                 {"timestamp": "2024-11-23T16:03:12Z", "level": "ERROR", "logMsg": "GET /page.html HTTP/1.1",
                  "http_method": "GET", "request": "/page.html", "http_version": "1.1"},
                 id="grok-example2-with-parseJSON"),
    pytest.param([{"grok": {"match": "%{IP:client.ip} %{WORD:method} %{URIPATHPARAM:request.uri} "
                                     "%{NUMBER:response.status} %{NUMBER:response.bytes}"}}],
                 "192.168.1.1 GET /index.html?param=value 200 1234",
                 {"client": {"ip": "192.168.1.1"}, "method": "GET", "request": {"uri": "/index.html?param=value"},
                  "response": {"status": "200", "bytes": "1234"}},
                 id="grok-example3-dotted-names"),
    pytest.param([{"csv": {"delimiter": ":", "quoteCharacter": "'"}}],
                 "'Akua Mansa':28:'New York: USA'",
                 {"column_1": "Akua Mansa", "column_2": "28", "column_3": "New York: USA"},
                 id="csv-example1"),
    pytest.param([PARSE_JSON, {"csv": {"source": "logMsg", "delimiter": ":", "quoteCharacter": "'",
                                       "columns": ["name", "age", "location"], "destination": "msg"}}],
                 json.dumps({"timestamp": "2024-11-23T16:03:12Z", "type": "user_data",
                             "logMsg": "'Akua Mansa':28:'New York: USA'"}),
                 {"timestamp": "2024-11-23T16:03:12Z", "logMsg": "'Akua Mansa':28:'New York: USA'",
                  "type": "user_data", "msg": {"name": "Akua Mansa", "age": "28", "location": "New York: USA"}},
                 id="csv-example2-columns-destination"),
    pytest.param([{"parseKeyValue": {"destination": "new_key", "fieldDelimiter": "!", "keyValueDelimiter": ":",
                                     "nonMatchValue": "defaultValue", "keyPrefix": "parsed_"}}],
                 "key1:value1!key2:value2!key3:value3!key4",
                 {"new_key": {"parsed_key1": "value1", "parsed_key2": "value2", "parsed_key3": "value3",
                              "parsed_key4": "defaultValue"}},
                 id="parseKeyValue"),
    # --- Built-in processors for AWS vended logs ---
    pytest.param([{"parsePostgres": {}}],
                 '2019-03-10 03:54:59 UTC:10.0.0.123(52834):postgres@logtestdb:[20175]:ERROR: '
                 'column "wrong_column_name" does not exist at character 8',
                 {"logTime": "2019-03-10 03:54:59 UTC", "srcIp": "10.0.0.123(52834)", "userName": "postgres",
                  "dbName": "logtestdb", "processId": "20175", "logLevel": "ERROR"},
                 id="parsePostgres"),
    pytest.param([{"parseCloudfront": {}}], "\t".join(CLOUDFRONT_FIELDS), CLOUDFRONT_OUT, id="parseCloudfront"),
    pytest.param([{"parseRoute53": {}}],
                 "1.0 2017-12-13T08:15:50.235Z Z123412341234 example.com AAAA NOERROR TCP IAD12 192.0.2.0 "
                 "198.51.100.0/24",
                 {"version": 1.0, "queryTimestamp": "2017-12-13T08:15:50.235Z", "hostZoneId": "Z123412341234",
                  "queryName": "example.com", "queryType": "AAAA", "responseCode": "NOERROR", "protocol": "TCP",
                  "edgeLocation": "IAD12", "resolverIp": "192.0.2.0", "ednsClientSubnet": "198.51.100.0/24"},
                 id="parseRoute53"),
    pytest.param([{"parseVPC": {}}],
                 "2 123456789010 eni-abc123de 192.0.2.0 192.0.2.24 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
                 {"version": 2, "accountId": "123456789010", "interfaceId": "eni-abc123de", "srcAddr": "192.0.2.0",
                  "dstAddr": "192.0.2.24", "srcPort": 20641, "dstPort": 22, "protocol": 6, "packets": 20,
                  "bytes": 4249, "start": 1418530010, "end": 1418530070, "action": "ACCEPT", "logStatus": "OK"},
                 id="parseVPC"),
    # --- String mutate processors ---
    pytest.param([PARSE_JSON, {"lowerCaseString": {"withKeys": ["outer_key.inner_key"]}}],
                 json.dumps({"outer_key": {"inner_key": "INNER_VALUE"}}), NESTED, id="lowerCaseString"),
    pytest.param([PARSE_JSON, {"upperCaseString": {"withKeys": ["outer_key.inner_key"]}}],
                 json.dumps(NESTED), {"outer_key": {"inner_key": "INNER_VALUE"}}, id="upperCaseString"),
    pytest.param([PARSE_JSON, {"splitString": {"entries": [{"source": "outer_key.inner_key", "delimiter": "_"}]}}],
                 json.dumps(NESTED), {"outer_key": {"inner_key": ["inner", "value"]}}, id="splitString-example1"),
    pytest.param([PARSE_JSON, {"splitString": {"entries": [{"source": "outer_key.inner_key", "delimiter": ", "}]}}],
                 json.dumps({"outer_key": {"inner_key": "item1, item2, item3"}}),
                 {"outer_key": {"inner_key": ["item1", "item2", "item3"]}}, id="splitString-example2-multichar"),
    pytest.param([PARSE_JSON, {"substituteString": {"entries": [
                     {"source": "outer_key.inner_key1", "from": r"\[\]", "to": "value1"},
                     {"source": "outer_key.inner_key2", "from": "[0-9]{3}-[0-9]{3}-[0-9]{3}", "to": "xxx-xxx-xxx"},
                     {"source": "outer_key.inner_key3", "from": "cat", "to": "dog"}]}}],
                 json.dumps({"outer_key": {"inner_key1": "[]", "inner_key2": "123-345-567",
                                           "inner_key3": "A cat takes a catnap."}}),
                 {"outer_key": {"inner_key1": "value1", "inner_key2": "xxx-xxx-xxx",
                                "inner_key3": "A dog takes a dognap."}},
                 id="substituteString-example1"),
    pytest.param([PARSE_JSON, {"substituteString": {"entries": [
                     {"source": "outer_key.inner_key1", "from": r"(\w+), (\w+), and (\w+)", "to": "$1 and $3"},
                     {"source": "outer_key.inner_key2",
                      "from": r"^arn:aws:sts::(?P<account_id>\d{12}):assumed-role/(?P<role_name>[\w+=,.@-]+)"
                              r"/(?P<role_session_name>[\w+=,.@-]+)$",
                      "to": "${account_id}:${role_name}:${role_session_name}"}]}}],
                 json.dumps({"outer_key": {
                     "inner_key1": "Tom, Dick, and Harry",
                     "inner_key2": "arn:aws:sts::123456789012:assumed-role/MyImportantRole/MySession"}}),
                 {"outer_key": {"inner_key1": "Tom and Harry", "inner_key2": "123456789012:MyImportantRole:MySession"}},
                 id="substituteString-example2-backreferences"),
    pytest.param([PARSE_JSON, {"trimString": {"withKeys": ["outer_key.inner_key"]}}],
                 json.dumps({"outer_key": {"inner_key": "   inner_value  "}}), NESTED, id="trimString"),
    # --- JSON mutate processors ---
    pytest.param([PARSE_JSON, {"addKeys": {"entries": [{"key": "outer_key.new_key", "value": "new_value"}]}}],
                 json.dumps(NESTED), {"outer_key": {"inner_key": "inner_value", "new_key": "new_value"}},
                 id="addKeys"),
    pytest.param([PARSE_JSON, {"deleteKeys": {"withKeys": ["outer_key.inner_key"]}}],
                 json.dumps(NESTED), {"outer_key": {}}, id="deleteKeys"),
    pytest.param([PARSE_JSON, {"moveKeys": {"entries": [{"source": "outer_key1.inner_key1", "target": "outer_key2"}]}}],
                 json.dumps({"outer_key1": {"inner_key1": "inner_value1"}, "outer_key2": {"inner_key2": "inner_value2"}}),
                 {"outer_key1": {}, "outer_key2": {"inner_key2": "inner_value2", "inner_key1": "inner_value1"}},
                 id="moveKeys"),
    pytest.param([PARSE_JSON, {"renameKeys": {"entries": [{"key": "outer_key", "renameTo": "new_key"}]}}],
                 json.dumps(NESTED), {"new_key": {"inner_key": "inner_value"}}, id="renameKeys"),
    pytest.param([PARSE_JSON, {"copyValue": {"entries": [{"source": "outer_key.inner_key", "target": "new_key"}]}}],
                 json.dumps(NESTED), {"outer_key": {"inner_key": "inner_value"}, "new_key": "inner_value"},
                 id="copyValue"),
    pytest.param([PARSE_JSON, {"listToMap": {**LIST_TO_MAP, "flatten": False}}], json.dumps(LIST_EVENT),
                 {**LIST_EVENT, "a": ["val-a"], "b": ["val-b1", "val-b2"], "c": ["val-c"]},
                 id="listToMap-not-flattened"),
    pytest.param([PARSE_JSON, {"listToMap": {**LIST_TO_MAP, "flatten": True, "flattenedElement": "first"}}],
                 json.dumps(LIST_EVENT), {**LIST_EVENT, "a": "val-a", "b": "val-b1", "c": "val-c"},
                 id="listToMap-flatten-first"),
    pytest.param([PARSE_JSON, {"listToMap": {**LIST_TO_MAP, "flatten": True, "flattenedElement": "last"}}],
                 json.dumps(LIST_EVENT), {**LIST_EVENT, "a": "val-a", "b": "val-b2", "c": "val-c"},
                 id="listToMap-flatten-last"),
    # --- Datatype converter processors ---
    pytest.param([PARSE_JSON, {"typeConverter": {"entries": [{"key": "status", "type": "integer"}]}}],
                 json.dumps({"name": "value", "status": "200"}), {"name": "value", "status": 200},
                 id="typeConverter"),
]


@pytest.mark.parametrize("config, message, expected", DOC_EXAMPLES)
def test_documented_example(logs, config, message, expected):
    assert transform(logs, config, message) == expected


# The grok pattern table (Configurable parser-type processors → Supported grok patterns):
# input, pattern and output as given there.
GROK_TABLE = [
    ("-456", "%{INT:num}", {"num": "-456"}),
    ("123", "%{POSINT:num}", {"num": "123"}),
    ("user_123", "%{WORD:user}", {"user": "user_123"}),
    ("hello_world123", "%{NOTSPACE:msg}", {"msg": "hello_world123"}),
    ("abc def ghi", "%{DATA:x} %{DATA:y}", {"x": "abc", "y": "def ghi"}),
    ("abc def ghi", "%{GREEDYDATA:x} %{GREEDYDATA:y}", {"x": "abc def", "y": "ghi"}),
    ('"Hello, world!"', "%{QUOTEDSTRING:msg}", {"msg": "Hello, world!"}),
    ("550e8400-e29b-41d4-a716-446655440000", "%{UUID:id}", {"id": "550e8400-e29b-41d4-a716-446655440000"}),
    ("192.168.0.1", "%{IPV4:ip}", {"ip": "192.168.0.1"}),
    ("192.168.0.1", "%{IP:ip}", {"ip": "192.168.0.1"}),
    ("/category/sub-category/product_name", "%{URIPATH:path}", {"path": "/category/sub-category/product_name"}),
    ("2023-05-15T14:30:00+05:30", "%{TIMESTAMP_ISO8601:timestamp}", {"timestamp": "2023-05-15T14:30:00+05:30"}),
    ("INFO", "%{LOGLEVEL:logLevel}", {"logLevel": "INFO"}),
    ("23/Nov/2024:14:30:00 +0640", "%{HTTPDATE:date}", {"date": "23/Nov/2024:14:30:00 +0640"}),
]


@pytest.mark.parametrize("message, pattern, expected", GROK_TABLE, ids=[p for _, p, _ in GROK_TABLE])
def test_grok_pattern_table(logs, message, pattern, expected):
    assert transform(logs, [{"grok": {"match": pattern}}], message) == expected


def test_put_accepts_every_documented_example(logs, group):
    """Each worked example's configuration is a transformer a log group can hold."""
    for param in DOC_EXAMPLES:
        config = param.values[0]
        logs.put_transformer(logGroupIdentifier=group, transformerConfig=config)
        assert logs.get_transformer(logGroupIdentifier=group)["transformerConfig"] == config, param.id
