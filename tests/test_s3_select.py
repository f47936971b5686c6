"""S3 SelectObjectContent (S3 Select) through boto3: CSV and JSON input (plain and GZIP), CSV and
JSON output, the SQL subset (projections, WHERE operators, CAST, string and conditional
functions, aggregates, LIMIT, JSON paths), scan ranges, the event stream (Records, Stats,
Progress, End) and the documented error codes.

Expected results are computed by hand from the small objects below. Sources for AWS behaviour:
- the S3 Select SQL reference (SELECT command, data types, operators, aggregate, conditional,
  conversion and string functions); examples marked "doc example" are copied from it;
- API reference: SelectObjectContent, CSVInput/CSVOutput/JSONOutput, ScanRange, Stats;
- "List of SELECT Object Content Error Codes" (ErrorResponses) for error codes;
- the Hadoop S3A S3 Select notes, which quote real AWS errors (MissingHeaders when a header
  name is used with FileHeaderInfo NONE/IGNORE);
- the user guide's scan-range example ("A,B\\nC,D\\n...", Start 1, End 4 returns C,D).
"""

from __future__ import annotations

import gzip
import json

import pytest
from botocore.exceptions import ClientError

from s3_helpers import bucket, s3  # noqa: F401  (fixtures)

pytestmark = pytest.mark.stratus_only

CSV_USE = {"CSV": {"FileHeaderInfo": "USE"}}
CSV_IGNORE = {"CSV": {"FileHeaderInfo": "IGNORE"}}
CSV_NONE = {"CSV": {"FileHeaderInfo": "NONE"}}
JSON_LINES = {"JSON": {"Type": "LINES"}}
JSON_DOCUMENT = {"JSON": {"Type": "DOCUMENT"}}
OUT_CSV = {"CSV": {}}
OUT_JSON = {"JSON": {}}

PEOPLE_CSV = (
    "name,age,city\n"
    "Alice,30,Paris\n"
    "Bob,25,London\n"
    "Carol,35,Paris\n"
    "Dave,40,Berlin\n"
)

PEOPLE_JSON = [
    {"name": "Alice", "age": 30, "address": {"city": "Paris", "zip": "75001"}, "tags": ["admin", "dev"]},
    {"name": "Bob", "age": 25, "address": {"city": "London", "zip": "E1"}, "tags": ["dev"]},
    {"name": "Carol", "age": 35, "address": {"city": "Paris", "zip": "75002"}, "tags": []},
]
PEOPLE_LINES = "".join(json.dumps(p) + "\n" for p in PEOPLE_JSON)


# ---------------------------------------------------------------------------
# helpers


def put(s3, bucket, key, body) -> bytes:
    data = body.encode() if isinstance(body, str) else body
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    return data


def select(s3, bucket, key, sql, input=CSV_USE, output=OUT_CSV, **extra):
    """Run one query; returns (records payload bytes, Stats details, all events).

    Every successful answer must be HTTP 200, carry exactly one Stats event and end with End."""
    resp = s3.select_object_content(Bucket=bucket, Key=key, Expression=sql, ExpressionType="SQL",
                                    InputSerialization=input, OutputSerialization=output, **extra)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    events = list(resp["Payload"])
    assert events, "empty event stream"
    assert "End" in events[-1], f"stream does not end with End: {events[-3:]}"
    assert sum("End" in e for e in events) == 1
    stats = [e["Stats"]["Details"] for e in events if "Stats" in e]
    assert len(stats) == 1, f"expected one Stats event, got {len(stats)}"
    records = b"".join(e["Records"]["Payload"] for e in events if "Records" in e)
    return records, stats[0], events


def records_of(s3, bucket, key, sql, input=CSV_USE, output=OUT_CSV, **extra) -> bytes:
    return select(s3, bucket, key, sql, input, output, **extra)[0]


def csv_lines(records: bytes) -> list[str]:
    text = records.decode()
    if not text:
        return []
    assert text.endswith("\n"), f"CSV output must end with the record delimiter: {text!r}"
    return text[:-1].split("\n")


def json_rows(records: bytes, delimiter: str = "\n") -> list:
    text = records.decode()
    if not text:
        return []
    assert text.endswith(delimiter), f"JSON output must end with the record delimiter: {text!r}"
    return [json.loads(part) for part in text[: -len(delimiter)].split(delimiter)]


def select_error(s3, bucket, key, sql, input=CSV_USE, output=OUT_CSV, expression_type="SQL", **extra):
    """(error code, HTTP status or None) of a query that must fail, before or during the stream."""
    with pytest.raises(ClientError) as e:
        resp = s3.select_object_content(Bucket=bucket, Key=key, Expression=sql, ExpressionType=expression_type,
                                        InputSerialization=input, OutputSerialization=output, **extra)
        list(resp["Payload"])
    err = e.value.response
    return err["Error"]["Code"], err.get("ResponseMetadata", {}).get("HTTPStatusCode")


@pytest.fixture
def people(s3, bucket):
    put(s3, bucket, "people.csv", PEOPLE_CSV)
    return bucket


def names(s3, bucket, where: str) -> list[str]:
    return csv_lines(records_of(s3, bucket, "people.csv", f"SELECT s.name FROM S3Object s WHERE {where}"))


# ---------------------------------------------------------------------------
# the event stream


def test_select_star_streams_records_stats_and_end(s3, people):
    records, stats, events = select(s3, people, "people.csv", "SELECT * FROM S3Object")
    assert records == b"Alice,30,Paris\nBob,25,London\nCarol,35,Paris\nDave,40,Berlin\n"
    size = len(PEOPLE_CSV.encode())
    assert stats == {"BytesScanned": size, "BytesProcessed": size, "BytesReturned": len(records)}
    kinds = [next(iter(e)) for e in events]
    assert set(kinds) <= {"Records", "Stats", "Progress", "Cont", "End"}
    # Records come before the Stats, and Stats right before End.
    assert kinds.index("Stats") > max(i for i, k in enumerate(kinds) if k == "Records")
    assert kinds[-2:] == ["Stats", "End"]


def test_no_matching_rows_still_sends_stats_and_end(s3, people):
    records, stats, events = select(s3, people, "people.csv", "SELECT * FROM S3Object s WHERE s.city = 'Tokyo'")
    assert records == b""
    assert stats["BytesReturned"] == 0
    assert stats["BytesScanned"] == len(PEOPLE_CSV.encode())


def test_request_progress_events(s3, people):
    sql = "SELECT s.name FROM S3Object s WHERE s.city = 'Paris'"
    records, _, events = select(s3, people, "people.csv", sql, RequestProgress={"Enabled": True})
    assert records == b"Alice\nCarol\n"
    size = len(PEOPLE_CSV.encode())
    for e in events:
        if "Progress" in e:
            details = e["Progress"]["Details"]
            assert set(details) == {"BytesScanned", "BytesProcessed", "BytesReturned"}
            assert 0 <= details["BytesScanned"] <= size
    # Progress frames are off by default.
    _, _, events = select(s3, people, "people.csv", sql)
    assert not any("Progress" in e for e in events)
    _, _, events = select(s3, people, "people.csv", sql, RequestProgress={"Enabled": False})
    assert not any("Progress" in e for e in events)


# ---------------------------------------------------------------------------
# CSV input


def test_file_header_info_none_treats_first_line_as_data(s3, people):
    records = records_of(s3, people, "people.csv", "SELECT * FROM S3Object", input=CSV_NONE)
    assert records == PEOPLE_CSV.encode()
    sql = "SELECT s._1, s._2 FROM S3Object s WHERE s._3 = 'Paris'"
    assert csv_lines(records_of(s3, people, "people.csv", sql, input=CSV_NONE)) == ["Alice,30", "Carol,35"]
    # Without an alias, _N names the column directly.
    sql = "SELECT _1 FROM S3Object WHERE _3 = 'city'"
    assert csv_lines(records_of(s3, people, "people.csv", sql, input=CSV_NONE)) == ["name"]
    assert csv_lines(records_of(s3, people, "people.csv", "SELECT COUNT(*) FROM S3Object", input=CSV_NONE)) == ["5"]


def test_file_header_info_ignore_skips_header_but_names_columns_by_position(s3, people):
    sql = "SELECT s._1, s._3 FROM S3Object s WHERE s._2 = '25'"
    assert csv_lines(records_of(s3, people, "people.csv", sql, input=CSV_IGNORE)) == ["Bob,London"]
    records = records_of(s3, people, "people.csv", "SELECT * FROM S3Object", input=CSV_IGNORE)
    assert records == b"Alice,30,Paris\nBob,25,London\nCarol,35,Paris\nDave,40,Berlin\n"
    assert csv_lines(records_of(s3, people, "people.csv", "SELECT COUNT(*) FROM S3Object", input=CSV_IGNORE)) == ["4"]


def test_header_columns_by_name_alias_and_case(s3, people):
    sql = "SELECT s.name, s.age FROM S3Object s WHERE s.city = 'Paris'"
    assert csv_lines(records_of(s3, people, "people.csv", sql)) == ["Alice,30", "Carol,35"]
    # FROM ... AS alias, and columns without any alias.
    sql = "SELECT t.city FROM S3Object AS t WHERE t.name = 'Bob'"
    assert csv_lines(records_of(s3, people, "people.csv", sql)) == ["London"]
    sql = "SELECT name FROM S3Object WHERE city = 'Berlin'"
    assert csv_lines(records_of(s3, people, "people.csv", sql)) == ["Dave"]
    # Unquoted names are case-insensitive; quoted ones must match exactly.
    sql = "SELECT s.NAME, s.Age FROM S3Object s WHERE s.CITY = 'London'"
    assert csv_lines(records_of(s3, people, "people.csv", sql)) == ["Bob,25"]
    sql = 'SELECT s."name" FROM S3Object s WHERE s."city" = \'London\''
    assert csv_lines(records_of(s3, people, "people.csv", sql)) == ["Bob"]
    # Projection order follows the SELECT list, not the file.
    sql = "SELECT s.city, s.name FROM S3Object s WHERE s.age = '40'"
    assert csv_lines(records_of(s3, people, "people.csv", sql)) == ["Berlin,Dave"]


def test_quoted_header_name_is_case_sensitive(s3, bucket):
    # Doc (case sensitivity of header names): header NAME, s."name" -> 400 MissingHeaderName.
    put(s3, bucket, "upper.csv", "NAME,Score\nZed,7\n")
    assert records_of(s3, bucket, "upper.csv", 'SELECT s."NAME" FROM S3Object s') == b"Zed\n"
    assert records_of(s3, bucket, "upper.csv", "SELECT s.name FROM S3Object s") == b"Zed\n"
    code, status = select_error(s3, bucket, "upper.csv", 'SELECT s."name" FROM S3Object s')
    assert status == 400
    assert code in ("MissingHeaderName", "MissingHeaders")


def test_reserved_word_header_needs_double_quotes(s3, bucket):
    # Doc example: a header named CAST is reachable only as s."CAST"; s.CAST is a 400 parse error.
    put(s3, bucket, "kw.csv", "CAST,id\nhero,1\n")
    assert records_of(s3, bucket, "kw.csv", 'SELECT s."CAST" FROM S3Object s') == b"hero\n"
    code, status = select_error(s3, bucket, "kw.csv", "SELECT s.CAST FROM S3Object s")
    assert status == 400
    assert code.startswith("Parse"), code


def test_header_name_without_usable_header_is_missing_headers(s3, people):
    for header_info in (CSV_NONE, CSV_IGNORE):
        code, status = select_error(s3, people, "people.csv", "SELECT s.name FROM S3Object s", input=header_info)
        assert (code, status) == ("MissingHeaders", 400), header_info


def test_custom_field_and_record_delimiters(s3, bucket):
    put(s3, bucket, "semi.csv", "name;age|Alice;30|Bob;25|")
    inp = {"CSV": {"FileHeaderInfo": "USE", "FieldDelimiter": ";", "RecordDelimiter": "|"}}
    sql = "SELECT s.name, s.age FROM S3Object s WHERE CAST(s.age AS INT) > 26"
    assert records_of(s3, bucket, "semi.csv", sql, input=inp) == b"Alice,30\n"
    assert records_of(s3, bucket, "semi.csv", "SELECT COUNT(*) FROM S3Object", input=inp) == b"2\n"
    put(s3, bucket, "tabs.tsv", "name\tage\nAlice\t30\nBob\t25\n")
    inp = {"CSV": {"FileHeaderInfo": "USE", "FieldDelimiter": "\t"}}
    assert records_of(s3, bucket, "tabs.tsv", "SELECT s.age FROM S3Object s WHERE s.name = 'Bob'", input=inp) == b"25\n"


def test_quoted_fields_and_escapes(s3, bucket):
    # A quoted field keeps its field delimiter.
    put(s3, bucket, "q.csv", '"Smith, J",42\nLee,7\n')
    rows = json_rows(records_of(s3, bucket, "q.csv", "SELECT * FROM S3Object", input=CSV_NONE, output=OUT_JSON))
    assert rows == [{"_1": "Smith, J", "_2": "42"}, {"_1": "Lee", "_2": "7"}]
    # Doc example (CSVInput.QuoteEscapeCharacter): """ a , b """ is parsed as " a , b ".
    put(s3, bucket, "esc.csv", '""" a , b """,x\n')
    rows = json_rows(records_of(s3, bucket, "esc.csv", "SELECT * FROM S3Object", input=CSV_NONE, output=OUT_JSON))
    assert rows == [{"_1": '" a , b "', "_2": "x"}]
    # Another quote character.
    put(s3, bucket, "single.csv", "'a,b',c\n")
    inp = {"CSV": {"FileHeaderInfo": "NONE", "QuoteCharacter": "'"}}
    rows = json_rows(records_of(s3, bucket, "single.csv", "SELECT * FROM S3Object", input=inp, output=OUT_JSON))
    assert rows == [{"_1": "a,b", "_2": "c"}]
    # Another quote escape character.
    put(s3, bucket, "bs.csv", '"say \\"hi\\"",1\n')
    inp = {"CSV": {"FileHeaderInfo": "NONE", "QuoteEscapeCharacter": "\\"}}
    rows = json_rows(records_of(s3, bucket, "bs.csv", "SELECT * FROM S3Object", input=inp, output=OUT_JSON))
    assert rows == [{"_1": 'say "hi"', "_2": "1"}]


def test_comment_lines_are_skipped(s3, bucket):
    put(s3, bucket, "c.csv", "name,age\n#skip,1\nAlice,30\n#another one\nBob,25\n")
    inp = {"CSV": {"FileHeaderInfo": "USE", "Comments": "#"}}
    assert records_of(s3, bucket, "c.csv", "SELECT * FROM S3Object", input=inp) == b"Alice,30\nBob,25\n"
    assert records_of(s3, bucket, "c.csv", "SELECT COUNT(*) FROM S3Object", input=inp) == b"2\n"
    put(s3, bucket, "p.csv", "name,age\n%note,0\nAlice,30\n")
    inp = {"CSV": {"FileHeaderInfo": "USE", "Comments": "%"}}
    assert records_of(s3, bucket, "p.csv", "SELECT s.name FROM S3Object s", input=inp) == b"Alice\n"


def test_allow_quoted_record_delimiter(s3, bucket):
    put(s3, bucket, "ml.csv", '"line1\nline2",x\nplain,y\n')
    inp = {"CSV": {"FileHeaderInfo": "NONE", "AllowQuotedRecordDelimiter": True}}
    rows = json_rows(records_of(s3, bucket, "ml.csv", "SELECT * FROM S3Object", input=inp, output=OUT_JSON))
    assert rows == [{"_1": "line1\nline2", "_2": "x"}, {"_1": "plain", "_2": "y"}]
    assert records_of(s3, bucket, "ml.csv", "SELECT COUNT(*) FROM S3Object", input=inp) == b"2\n"


# ---------------------------------------------------------------------------
# output serialization


def test_json_output_of_csv_rows(s3, people):
    rows = json_rows(records_of(s3, people, "people.csv", "SELECT * FROM S3Object", output=OUT_JSON))
    assert rows == [
        {"name": "Alice", "age": "30", "city": "Paris"},
        {"name": "Bob", "age": "25", "city": "London"},
        {"name": "Carol", "age": "35", "city": "Paris"},
        {"name": "Dave", "age": "40", "city": "Berlin"},
    ]
    sql = "SELECT s.name, s.city FROM S3Object s WHERE s.name = 'Dave'"
    assert json_rows(records_of(s3, people, "people.csv", sql, output=OUT_JSON)) == [{"name": "Dave", "city": "Berlin"}]
    # Without header names the keys are the column positions.
    rows = json_rows(records_of(s3, people, "people.csv", "SELECT * FROM S3Object LIMIT 2", input=CSV_NONE,
                                output=OUT_JSON))
    assert rows == [{"_1": "name", "_2": "age", "_3": "city"}, {"_1": "Alice", "_2": "30", "_3": "Paris"}]
    rows = json_rows(records_of(s3, people, "people.csv", "SELECT * FROM S3Object LIMIT 1", input=CSV_IGNORE,
                                output=OUT_JSON))
    assert rows == [{"_1": "Alice", "_2": "30", "_3": "Paris"}]


def test_json_output_record_delimiter(s3, people):
    sql = "SELECT s.name FROM S3Object s WHERE s.city = 'Paris'"
    records = records_of(s3, people, "people.csv", sql, output={"JSON": {"RecordDelimiter": ","}})
    assert json_rows(records, delimiter=",") == [{"name": "Alice"}, {"name": "Carol"}]
    assert b"\n" not in records


def test_csv_output_delimiters_and_quoting(s3, people):
    sql = "SELECT s.name, s.age FROM S3Object s WHERE s.city = 'Paris'"
    out = {"CSV": {"FieldDelimiter": "|", "RecordDelimiter": ";"}}
    assert records_of(s3, people, "people.csv", sql, output=out) == b"Alice|30;Carol|35;"
    out = {"CSV": {"QuoteFields": "ALWAYS"}}
    assert records_of(s3, people, "people.csv", sql, output=out) == b'"Alice","30"\n"Carol","35"\n'
    out = {"CSV": {"QuoteFields": "ASNEEDED"}}
    assert records_of(s3, people, "people.csv", sql, output=out) == b"Alice,30\nCarol,35\n"


def test_csv_output_quotes_values_that_need_it(s3, bucket):
    put(s3, bucket, "q.csv", '"Smith, J",42\nLee,7\n')
    out = {"CSV": {"QuoteFields": "ASNEEDED"}}
    assert records_of(s3, bucket, "q.csv", "SELECT * FROM S3Object", input=CSV_NONE, output=out) == \
        b'"Smith, J",42\nLee,7\n'
    assert records_of(s3, bucket, "q.csv", "SELECT * FROM S3Object", input=CSV_NONE, output=OUT_CSV) == \
        b'"Smith, J",42\nLee,7\n'
    out = {"CSV": {"QuoteFields": "ALWAYS"}}
    assert records_of(s3, bucket, "q.csv", "SELECT * FROM S3Object", input=CSV_NONE, output=out) == \
        b'"Smith, J","42"\n"Lee","7"\n'


# ---------------------------------------------------------------------------
# WHERE operators


def test_comparison_operators_with_cast(s3, people):
    age = "CAST(s.age AS INT)"
    assert names(s3, people, f"{age} > 30") == ["Carol", "Dave"]
    assert names(s3, people, f"{age} >= 30") == ["Alice", "Carol", "Dave"]
    assert names(s3, people, f"{age} < 30") == ["Bob"]
    assert names(s3, people, f"{age} <= 30") == ["Alice", "Bob"]
    assert names(s3, people, f"{age} = 30") == ["Alice"]
    assert names(s3, people, f"{age} != 30") == ["Bob", "Carol", "Dave"]
    assert names(s3, people, f"{age} <> 30") == ["Bob", "Carol", "Dave"]
    # CSV values are strings: string equality needs no cast.
    assert names(s3, people, "s.city = 'Paris'") == ["Alice", "Carol"]
    assert names(s3, people, "s.age = '25'") == ["Bob"]


def test_logical_operators_and_precedence(s3, people):
    assert names(s3, people, "s.city = 'Paris' AND CAST(s.age AS INT) > 30") == ["Carol"]
    assert names(s3, people, "s.city = 'London' OR s.city = 'Berlin'") == ["Bob", "Dave"]
    assert names(s3, people, "NOT s.city = 'Paris'") == ["Bob", "Dave"]
    assert names(s3, people, "NOT (s.city = 'Paris' OR s.city = 'Berlin')") == ["Bob"]
    # AND binds tighter than OR.
    assert names(s3, people, "s.city = 'Berlin' OR s.city = 'Paris' AND CAST(s.age AS INT) < 33") == ["Alice", "Dave"]
    assert names(s3, people, "(s.city = 'Berlin' OR s.city = 'Paris') AND CAST(s.age AS INT) < 33") == ["Alice"]


def test_like_patterns(s3, people):
    assert names(s3, people, "s.name LIKE 'A%'") == ["Alice"]
    assert names(s3, people, "s.name LIKE '_ob'") == ["Bob"]
    assert names(s3, people, "s.name LIKE '%ar%'") == ["Carol"]
    assert names(s3, people, "s.name LIKE '%e'") == ["Alice", "Dave"]
    assert names(s3, people, "s.city LIKE 'P_ris'") == ["Alice", "Carol"]
    assert names(s3, people, "s.name LIKE '___'") == ["Bob"]
    assert names(s3, people, "NOT s.name LIKE '%e'") == ["Bob", "Carol"]


def test_in_and_between(s3, people):
    assert names(s3, people, "s.city IN ('Paris', 'Berlin')") == ["Alice", "Carol", "Dave"]
    assert names(s3, people, "s.name IN ('Bob')") == ["Bob"]
    assert names(s3, people, "NOT (s.name IN ('Alice', 'Bob'))") == ["Carol", "Dave"]
    assert names(s3, people, "CAST(s.age AS INT) IN (25, 40)") == ["Bob", "Dave"]
    # BETWEEN is inclusive at both ends.
    assert names(s3, people, "CAST(s.age AS INT) BETWEEN 25 AND 30") == ["Alice", "Bob"]
    assert names(s3, people, "CAST(s.age AS INT) BETWEEN 31 AND 39") == ["Carol"]
    assert names(s3, people, "CAST(s.age AS INT) NOT BETWEEN 25 AND 30") == ["Carol", "Dave"]


def test_limit(s3, people):
    sql = "SELECT s.name FROM S3Object s LIMIT 2"
    assert csv_lines(records_of(s3, people, "people.csv", sql)) == ["Alice", "Bob"]
    sql = "SELECT s.name FROM S3Object s WHERE s.city = 'Paris' LIMIT 1"
    assert csv_lines(records_of(s3, people, "people.csv", sql)) == ["Alice"]
    sql = "SELECT s.name FROM S3Object s LIMIT 10"
    assert csv_lines(records_of(s3, people, "people.csv", sql)) == ["Alice", "Bob", "Carol", "Dave"]
    sql = "SELECT * FROM S3Object LIMIT 0"
    assert records_of(s3, people, "people.csv", sql) == b""


# ---------------------------------------------------------------------------
# expressions and functions


def test_arithmetic_operators(s3, people):
    age = "CAST(s.age AS INT)"
    sql = (f"SELECT {age} + 1 AS plus, {age} - 5 AS minus, {age} * 2 AS times, {age} / 5 AS quot, "
           f"{age} % 7 AS rem, -{age} AS neg, {age} + 2 * 3 AS prec, ({age} + 2) * 3 AS paren "
           "FROM S3Object s WHERE s.name = 'Alice'")
    rows = json_rows(records_of(s3, people, "people.csv", sql, output=OUT_JSON))
    assert rows == [{"plus": 31, "minus": 25, "times": 60, "quot": 6, "rem": 2, "neg": -30, "prec": 36,
                     "paren": 96}]
    # Arithmetic in WHERE.
    assert names(s3, people, f"{age} * 2 > 70") == ["Dave"]
    assert names(s3, people, f"{age} % 10 = 5") == ["Bob", "Carol"]


def test_cast_to_each_type(s3, bucket):
    put(s3, bucket, "items.csv",
        "item,price,qty,active,joined\n"
        "apple,2.5,4,true,2021-03-04T10:00:00Z\n"
        "pear,10.25,1,false,2020-12-31T23:59:59Z\n")

    def items(where):
        return csv_lines(records_of(s3, bucket, "items.csv", f"SELECT s.item FROM S3Object s WHERE {where}"))

    assert items("CAST(s.price AS FLOAT) > 3.0") == ["pear"]
    assert items("CAST(s.price AS DECIMAL) < 3") == ["apple"]
    assert items("CAST(s.qty AS INT) = 4") == ["apple"]
    assert items("CAST(s.qty AS INTEGER) = 1") == ["pear"]
    assert items("CAST(s.joined AS TIMESTAMP) > CAST('2021-01-01T00:00:00Z' AS TIMESTAMP)") == ["apple"]
    assert items("CAST(s.joined AS TIMESTAMP) < CAST('2021-01-01T00:00:00Z' AS TIMESTAMP)") == ["pear"]
    sql = ("SELECT CAST(s.qty AS INT) * 2 AS dbl, CAST(s.price AS FLOAT) * 2 AS twice, "
           "CAST(s.active AS BOOL) AS act, CAST(CAST(s.qty AS INT) + 1 AS STRING) || 'x' AS label "
           "FROM S3Object s")
    rows = json_rows(records_of(s3, bucket, "items.csv", sql, output=OUT_JSON))
    assert [r["dbl"] for r in rows] == [8, 2]
    assert [r["twice"] for r in rows] == pytest.approx([5.0, 20.5])
    assert [r["act"] for r in rows] == [True, False]
    assert [r["label"] for r in rows] == ["5x", "2x"]


def test_cast_failure_is_an_error(s3, people):
    code, _ = select_error(s3, people, "people.csv", "SELECT CAST(s.name AS INT) FROM S3Object s")
    assert code in ("CastFailed", "InvalidCast")


def test_string_functions(s3, people):
    sql = ("SELECT LOWER(s.name), UPPER(s.city), CHAR_LENGTH(s.name), CHARACTER_LENGTH(s.city), "
           "s.name || '-' || s.city FROM S3Object s WHERE s.name = 'Alice'")
    assert csv_lines(records_of(s3, people, "people.csv", sql)) == ["alice,PARIS,5,5,Alice-Paris"]
    assert names(s3, people, "UPPER(s.city) = 'PARIS'") == ["Alice", "Carol"]
    assert names(s3, people, "LOWER(s.name) = 'dave'") == ["Dave"]
    assert names(s3, people, "CHAR_LENGTH(s.name) = 3") == ["Bob"]
    assert names(s3, people, "(s.name || s.city) = 'BobLondon'") == ["Bob"]


def test_substring_both_syntaxes(s3, bucket):
    # Doc examples on '123456789'.
    put(s3, bucket, "digits.csv", "123456789\n")
    sql = ("SELECT SUBSTRING(s._1 FROM 2), SUBSTRING(s._1 FROM 2 FOR 3), SUBSTRING(s._1, 1, 5), "
           "SUBSTRING(s._1, 2), SUBSTRING(s._1, 0), SUBSTRING(s._1, -4), SUBSTRING(s._1, 0, 999) "
           "FROM S3Object s")
    assert csv_lines(records_of(s3, bucket, "digits.csv", sql, input=CSV_NONE)) == \
        ["23456789,234,12345,23456789,123456789,123456789,123456789"]


def test_trim_variants(s3, bucket):
    # Doc examples, with the strings read from a JSON object so that spaces survive.
    put(s3, bucket, "t.json", json.dumps({"a": "   foobar   ", "b": "1112211foobar22211122"}) + "\n")
    sql = ("SELECT TRIM(s.a) AS t1, TRIM(LEADING FROM s.a) AS t2, TRIM(TRAILING FROM s.a) AS t3, "
           "TRIM(BOTH FROM s.a) AS t4, TRIM(BOTH '12' FROM s.b) AS t5 FROM S3Object s")
    rows = json_rows(records_of(s3, bucket, "t.json", sql, input=JSON_LINES, output=OUT_JSON))
    assert rows == [{"t1": "foobar", "t2": "foobar   ", "t3": "   foobar", "t4": "foobar", "t5": "foobar"}]


def test_coalesce_and_nullif(s3, bucket):
    put(s3, bucket, "n.json",
        '{"id": 1, "nick": "Al", "name": "Alice", "a": 1, "b": 1}\n'
        '{"id": 2, "nick": null, "name": "Bob", "a": 1, "b": 2}\n'
        '{"id": 3, "name": "Carol", "a": 3, "b": 3}\n')
    # COALESCE skips both null and missing.
    sql = "SELECT s.id, COALESCE(s.nick, s.name) AS shown FROM S3Object s"
    rows = json_rows(records_of(s3, bucket, "n.json", sql, input=JSON_LINES, output=OUT_JSON))
    assert rows == [{"id": 1, "shown": "Al"}, {"id": 2, "shown": "Bob"}, {"id": 3, "shown": "Carol"}]
    sql = "SELECT s.id, NULLIF(s.a, s.b) AS r FROM S3Object s"
    rows = json_rows(records_of(s3, bucket, "n.json", sql, input=JSON_LINES, output=OUT_JSON))
    assert rows == [{"id": 1, "r": None}, {"id": 2, "r": 1}, {"id": 3, "r": None}]
    sql = "SELECT s.id FROM S3Object s WHERE NULLIF(s.a, s.b) IS NULL"
    rows = json_rows(records_of(s3, bucket, "n.json", sql, input=JSON_LINES, output=OUT_JSON))
    assert rows == [{"id": 1}, {"id": 3}]


def test_is_null_and_is_missing(s3, bucket):
    put(s3, bucket, "nulls.json", '{"id": 1, "v": null}\n{"id": 2, "v": 5}\n{"id": 3, "v": null}\n')

    def ids(key, where):
        sql = f"SELECT s.id FROM S3Object s WHERE {where}"
        return [r["id"] for r in json_rows(records_of(s3, bucket, key, sql, input=JSON_LINES, output=OUT_JSON))]

    assert ids("nulls.json", "s.v IS NULL") == [1, 3]
    assert ids("nulls.json", "s.v IS NOT NULL") == [2]
    put(s3, bucket, "missing.json", '{"id": 1, "email": "a@x"}\n{"id": 2, "email": null}\n{"id": 3}\n')
    assert ids("missing.json", "s.email IS MISSING") == [3]
    assert ids("missing.json", "s.email IS NOT MISSING") == [1, 2]


# ---------------------------------------------------------------------------
# aggregates


def test_aggregates_over_csv(s3, people):
    sql = ("SELECT COUNT(*), COUNT(s.name), SUM(CAST(s.age AS INT)), MIN(CAST(s.age AS INT)), "
           "MAX(CAST(s.age AS INT)), AVG(CAST(s.age AS INT)) FROM S3Object s")
    [line] = csv_lines(records_of(s3, people, "people.csv", sql))
    fields = line.split(",")
    assert [int(f) for f in fields[:5]] == [4, 4, 130, 25, 40]
    assert float(fields[5]) == pytest.approx(32.5)
    # Aliases name the JSON keys; unnamed expressions are _1, _2, ...
    sql = "SELECT COUNT(*) AS n, SUM(CAST(s.age AS INT)) AS total FROM S3Object s WHERE s.city = 'Paris'"
    assert json_rows(records_of(s3, people, "people.csv", sql, output=OUT_JSON)) == [{"n": 2, "total": 65}]
    sql = "SELECT COUNT(*) FROM S3Object"
    assert json_rows(records_of(s3, people, "people.csv", sql, output=OUT_JSON)) == [{"_1": 4}]
    # No row matches: COUNT is 0.
    sql = "SELECT COUNT(*) FROM S3Object s WHERE s.city = 'Tokyo'"
    assert csv_lines(records_of(s3, people, "people.csv", sql)) == ["0"]


def test_aggregates_skip_null_and_missing(s3, bucket):
    put(s3, bucket, "scores.json",
        '{"id": 1, "score": 10}\n{"id": 2, "score": null}\n{"id": 3}\n{"id": 4, "score": 20}\n')
    sql = ("SELECT COUNT(*) AS n, COUNT(s.score) AS scored, SUM(s.score) AS total, MIN(s.score) AS lo, "
           "MAX(s.score) AS hi FROM S3Object s")
    rows = json_rows(records_of(s3, bucket, "scores.json", sql, input=JSON_LINES, output=OUT_JSON))
    assert rows == [{"n": 4, "scored": 2, "total": 30, "lo": 10, "hi": 20}]


# ---------------------------------------------------------------------------
# JSON input


def test_json_lines_select_star_and_paths(s3, bucket):
    put(s3, bucket, "people.json", PEOPLE_LINES)

    def query(sql, output=OUT_JSON):
        records = records_of(s3, bucket, "people.json", sql, input=JSON_LINES, output=output)
        return json_rows(records) if output is OUT_JSON else csv_lines(records)

    assert query("SELECT * FROM S3Object") == PEOPLE_JSON
    assert query("SELECT * FROM S3Object s WHERE s.age > 26") == [PEOPLE_JSON[0], PEOPLE_JSON[2]]
    # JSON numbers compare as numbers without CAST; a path projection is named after its last step.
    assert query("SELECT s.name, s.address.city FROM S3Object s WHERE s.age > 26") == \
        [{"name": "Alice", "city": "Paris"}, {"name": "Carol", "city": "Paris"}]
    assert query("SELECT s.name FROM S3Object s WHERE s.tags[0] = 'dev'") == [{"name": "Bob"}]
    assert query("SELECT s.tags[1] AS second FROM S3Object s WHERE s.name = 'Alice'") == [{"second": "dev"}]
    assert query("SELECT s.address FROM S3Object s WHERE s.name = 'Bob'") == \
        [{"address": {"city": "London", "zip": "E1"}}]
    assert query("SELECT s.age + 1 AS next FROM S3Object s WHERE s.address.zip = '75002'") == [{"next": 36}]
    # Scalars from JSON into CSV output.
    assert query("SELECT s.name, s.age FROM S3Object s WHERE s.address.city = 'Paris'", output=OUT_CSV) == \
        ["Alice,30", "Carol,35"]


def test_json_document_spanning_lines(s3, bucket):
    doc = {"owner": "Alice", "items": [{"sku": "a1", "qty": 1}, {"sku": "b2", "qty": 5}, {"sku": "c3", "qty": 3}]}
    put(s3, bucket, "doc.json", json.dumps(doc, indent=2))

    def query(sql):
        return json_rows(records_of(s3, bucket, "doc.json", sql, input=JSON_DOCUMENT, output=OUT_JSON))

    assert query("SELECT s.owner FROM S3Object s") == [{"owner": "Alice"}]
    assert query("SELECT * FROM S3Object") == [doc]
    assert query("SELECT s.items[1].sku AS second FROM S3Object s") == [{"second": "b2"}]
    assert query("SELECT i.sku FROM S3Object[*].items[*] i WHERE i.qty > 2") == [{"sku": "b2"}, {"sku": "c3"}]
    assert query("SELECT COUNT(*) AS n, SUM(i.qty) AS total FROM S3Object[*].items[*] i") == [{"n": 3, "total": 9}]


def test_json_document_examples_from_the_sql_reference(s3, bucket):
    # Doc example (attribute access).
    put(s3, bucket, "susan.json", json.dumps({
        "name": "Susan Smith", "org": "engineering",
        "projects": [{"project_name": "project1", "completed": False},
                     {"project_name": "project2", "completed": True}]}))
    assert json_rows(records_of(s3, bucket, "susan.json", "Select s.name from S3Object s", input=JSON_DOCUMENT,
                                output=OUT_JSON)) == [{"name": "Susan Smith"}]
    assert json_rows(records_of(s3, bucket, "susan.json", "Select s.projects[0].project_name from S3Object s",
                                input=JSON_DOCUMENT, output=OUT_JSON)) == [{"project_name": "project1"}]
    # Doc example #2 of the FROM clause: two root-level objects in one document.
    put(s3, bucket, "dirs.json",
        '{ "created": "936864000", "dir_name": "important_docs", "files": [ { "name": "." }, { "name": ".." }, '
        '{ "name": ".aws" }, { "name": "downloads" } ], "owner": "AWS S3" }\n'
        '{ "created": "936864000", "dir_name": "other_docs", "files": [ { "name": "." }, { "name": ".." }, '
        '{ "name": "my stuff" }, { "name": "backup" } ], "owner": "User" }\n')
    rows = json_rows(records_of(s3, bucket, "dirs.json", "SELECT d.dir_name, d.files FROM S3Object[*] d",
                                input=JSON_DOCUMENT, output=OUT_JSON))
    assert rows == [
        {"dir_name": "important_docs",
         "files": [{"name": "."}, {"name": ".."}, {"name": ".aws"}, {"name": "downloads"}]},
        {"dir_name": "other_docs",
         "files": [{"name": "."}, {"name": ".."}, {"name": "my stuff"}, {"name": "backup"}]},
    ]


# ---------------------------------------------------------------------------
# compression and scan ranges


def test_gzip_csv_and_json_lines(s3, bucket):
    raw = PEOPLE_CSV.encode()
    packed = gzip.compress(raw, mtime=0)
    put(s3, bucket, "people.csv.gz", packed)
    inp = {"CSV": {"FileHeaderInfo": "USE"}, "CompressionType": "GZIP"}
    records, stats, _ = select(s3, bucket, "people.csv.gz", "SELECT s.name FROM S3Object s WHERE s.city = 'Paris'",
                               input=inp)
    assert records == b"Alice\nCarol\n"
    assert stats["BytesProcessed"] == len(raw)
    assert stats["BytesScanned"] == len(packed)
    assert stats["BytesReturned"] == len(records)

    lines = PEOPLE_LINES.encode()
    put(s3, bucket, "people.json.gz", gzip.compress(lines, mtime=0))
    inp = {"JSON": {"Type": "LINES"}, "CompressionType": "GZIP"}
    records, stats, _ = select(s3, bucket, "people.json.gz", "SELECT s.name FROM S3Object s WHERE s.age < 30",
                               input=inp, output=OUT_JSON)
    assert json_rows(records) == [{"name": "Bob"}]
    assert stats["BytesProcessed"] == len(lines)
    # CompressionType NONE is the plain object.
    put(s3, bucket, "plain.csv", raw)
    inp = {"CSV": {"FileHeaderInfo": "USE"}, "CompressionType": "NONE"}
    assert records_of(s3, bucket, "plain.csv", "SELECT COUNT(*) FROM S3Object", input=inp) == b"4\n"


def test_scan_range_processes_records_that_start_inside_it(s3, bucket):
    # User guide example: Start 1, End 4 over these records returns C,D, the record that starts
    # at byte 4 (it is processed to its end even though that lies beyond the range).
    body = "A,B\nC,D\nD,E\nE,F\nG,H\nI,J\n"
    put(s3, bucket, "letters.csv", body)

    def ranged(**scan_range):
        return csv_lines(records_of(s3, bucket, "letters.csv", "SELECT * FROM S3Object", input=CSV_NONE,
                                    ScanRange=scan_range))

    assert ranged(Start=1, End=4) == ["C,D"]
    # Non-overlapping ranges split the object: every record comes from exactly one of them.
    assert ranged(Start=0, End=4) == ["A,B", "C,D"]
    assert ranged(Start=5, End=9) == ["D,E"]
    assert ranged(Start=10, End=len(body) - 1) == ["E,F", "G,H", "I,J"]
    # Start alone runs to the end of the object.
    assert ranged(Start=5) == ["D,E", "E,F", "G,H", "I,J"]

    put(s3, bucket, "n.json", '{"n":1}\n{"n":2}\n{"n":3}\n')
    records = records_of(s3, bucket, "n.json", "SELECT s.n FROM S3Object s", input=JSON_LINES, output=OUT_JSON,
                         ScanRange={"Start": 1, "End": 8})
    assert json_rows(records) == [{"n": 2}]


# ---------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("sql", [
    "SELECT * FROM S3Object WHERE",
    "SELECT FROM S3Object",
    "SELECT * FROM S3Object s WHERE s.name =",
    "SELECT s.name FROM S3Object s WHERE (s.name = 'Bob'",
    "SELECT s.name, FROM S3Object s",
])
def test_malformed_sql_is_a_parse_error(s3, people, sql):
    code, status = select_error(s3, people, "people.csv", sql)
    assert status == 400
    assert code.startswith("Parse"), code


def test_expression_longer_than_256_kb(s3, people):
    sql = "SELECT * FROM S3Object s WHERE s.name = '" + "x" * (260 * 1024) + "'"
    assert select_error(s3, people, "people.csv", sql) == ("ExpressionTooLong", 400)


def test_expression_type_other_than_sql(s3, people):
    code = select_error(s3, people, "people.csv", "SELECT * FROM S3Object", expression_type="XQUERY")
    assert code == ("InvalidExpressionType", 400)


def test_missing_key_and_missing_bucket(s3, bucket):
    assert select_error(s3, bucket, "nope.csv", "SELECT * FROM S3Object") == ("NoSuchKey", 404)
    assert select_error(s3, bucket + "-absent", "x.csv", "SELECT * FROM S3Object") == ("NoSuchBucket", 404)


def test_parquet_input_is_refused(s3, people):
    with pytest.raises(ClientError):
        resp = s3.select_object_content(Bucket=people, Key="people.csv", Expression="SELECT * FROM S3Object",
                                        ExpressionType="SQL", InputSerialization={"Parquet": {}},
                                        OutputSerialization=OUT_CSV)
        list(resp["Payload"])
