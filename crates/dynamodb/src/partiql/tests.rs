use serde_json::{Value as Json, json};

use super::*;
use crate::expr::{self, ExprKind, Placeholders};
use crate::value::{Item, item_from_json, item_to_json};

const MALFORMED: &str = "Statement wasn't well formed, can't be processed: ";

fn ok(statement: &str) -> Translated {
    ok_with(statement, &[])
}

fn ok_with(statement: &str, params: &[Json]) -> Translated {
    let t = translate(statement, params).unwrap_or_else(|e| panic!("{statement}: {}", e.message));
    check_expressions(&t);
    t
}

fn err(statement: &str) -> String {
    err_with(statement, &[])
}

fn err_with(statement: &str, params: &[Json]) -> String {
    let e = translate(statement, params).expect_err(statement);
    assert_eq!(e.code, "ValidationException", "{statement}");
    e.message
}

/// Every expression of a translation parses and checks as the operations will, and uses every
/// placeholder.
fn check_expressions(t: &Translated) {
    let input = &t.input;
    let mut p = Placeholders::new(input.get("ExpressionAttributeNames"), input.get("ExpressionAttributeValues"))
        .expect("placeholders");
    let text = |member: &str| input.get(member).and_then(Json::as_str);
    if let Some(c) = text("ConditionExpression") {
        expr::parse_condition(c, ExprKind::Condition, &mut p).unwrap_or_else(|e| panic!("{c}: {e}"));
    }
    if let Some(c) = text("FilterExpression") {
        expr::parse_condition(c, ExprKind::Filter, &mut p).unwrap_or_else(|e| panic!("{c}: {e}"));
    }
    if let Some(c) = text("ProjectionExpression") {
        expr::parse_projection(c, &mut p).unwrap_or_else(|e| panic!("{c}: {e}"));
    }
    if let Some(c) = text("UpdateExpression") {
        expr::parse_update(c, &mut p).unwrap_or_else(|e| panic!("{c}: {e}"));
    }
    p.check_all_used().unwrap_or_else(|e| panic!("{input}: {e}"));
}

fn item(v: Json) -> Item {
    item_from_json(&v).expect("item")
}

/// Whether the WHERE of `SELECT * FROM t WHERE <condition>` holds for `it`.
fn holds(condition: &str, it: &Json) -> bool {
    let t = ok(&format!("SELECT * FROM \"tbl\" WHERE {condition}"));
    let input = &t.input;
    let mut p = Placeholders::new(input.get("ExpressionAttributeNames"), input.get("ExpressionAttributeValues"))
        .expect("placeholders");
    let filter = input["FilterExpression"].as_str().expect("filter");
    let c = expr::parse_condition(filter, ExprKind::Filter, &mut p).expect("parses");
    c.eval(&item(it.clone())).expect("evaluates")
}

/// The item after `UPDATE t SET/REMOVE … WHERE pk = 'k'` on `before`.
fn updated(actions: &str, before: Json, params: &[Json]) -> Json {
    let t = ok_with(&format!("UPDATE \"tbl\" {actions} WHERE pk = 'k'"), params);
    let input = &t.input;
    let mut p = Placeholders::new(input.get("ExpressionAttributeNames"), input.get("ExpressionAttributeValues"))
        .expect("placeholders");
    let u = expr::parse_update(input["UpdateExpression"].as_str().expect("update"), &mut p).expect("parses");
    let mut it = item(before);
    u.apply(&mut it).expect("applies");
    item_to_json(&it)
}

// SELECT.

#[test]
fn select_star() {
    assert_eq!(ok("SELECT * FROM \"Music\""), Translated { op: Op::Scan, input: json!({"TableName": "Music"}) });
    assert_eq!(ok("select * from Music;").input, json!({"TableName": "Music"}));
    assert_eq!(ok("  SeLeCt *\n FROM \"My-Table.v2\"  ; ").input, json!({"TableName": "My-Table.v2"}));
}

#[test]
fn select_projection_index_and_filter() {
    let t = ok("SELECT Artist, \"Song Title\", m.k[1] FROM Music.\"ByTitle\" WHERE Artist = 'Acme' AND n > 5");
    assert_eq!(t.op, Op::Scan);
    assert_eq!(
        t.input,
        json!({
            "TableName": "Music",
            "IndexName": "ByTitle",
            "ProjectionExpression": "#p0, #p1, #p2.#p3[1]",
            "FilterExpression": "#p0 = :p0 AND #p4 > :p1",
            "ExpressionAttributeNames": {"#p0": "Artist", "#p1": "Song Title", "#p2": "m", "#p3": "k", "#p4": "n"},
            "ExpressionAttributeValues": {":p0": {"S": "Acme"}, ":p1": {"N": "5"}},
            "StratusProjection": [
                {"Name": "Artist", "Path": ["Artist"]},
                {"Name": "Song Title", "Path": ["Song Title"]},
                {"Name": "k[1]", "Path": ["m", "k", 1]},
            ],
            "StratusEqualities": {"Artist": {"S": "Acme"}},
        })
    );
}

#[test]
fn select_reserved_words_and_odd_names_are_placeholders() {
    // `name`, `size`, `status` are reserved in the expression language; `a.value` is a
    // keyword after a dot, which names an attribute.
    let t = ok("SELECT \"name\", status FROM t1x WHERE size = 3 AND a.value = 'v' AND \"a.b\" = 1 AND m['x y'] = 2");
    assert_eq!(
        t.input["ExpressionAttributeNames"],
        json!({"#p0": "name", "#p1": "status", "#p2": "size", "#p3": "a", "#p4": "value", "#p5": "a.b", "#p6": "m", "#p7": "x y"})
    );
    assert_eq!(t.input["FilterExpression"], "#p2 = :p0 AND #p3.#p4 = :p1 AND #p5 = :p2 AND #p6.#p7 = :p3");
}

#[test]
fn select_order_by() {
    let t = ok("SELECT * FROM \"t1x\" WHERE pk = 'a' ORDER BY sk DESC, other");
    assert_eq!(
        t.input["StratusOrderBy"],
        json!([{"AttributeName": "sk", "Descending": true}, {"AttributeName": "other", "Descending": false}])
    );
    assert_eq!(
        err("SELECT * FROM \"t1x\" ORDER BY sk"),
        "Must have WHERE clause in the statement when using ORDER BY clause."
    );
}

#[test]
fn select_projection_refusals() {
    assert_eq!(err("SELECT a, a FROM t1x"), "Duplicate identifiers in select clause: a");
    assert_eq!(err("SELECT m.z, n.z FROM t1x"), "Duplicate identifiers in select clause: z");
    assert_eq!(
        err("SELECT *, a FROM t1x"),
        format!(
            "{MALFORMED}Other expressions may not be present in the select list when '*' is used without dot notation."
        )
    );
    assert_eq!(err("SELECT a AS b FROM t1x"), "Aliasing is not supported");
    assert_eq!(err("SELECT count(*) FROM t1x"), "Unexpected path component");
    assert_eq!(err("SELECT VALUE a FROM t1x"), "Select projection doesn't support value or pivot keywords");
    assert_eq!(err("SELECT * FROM t1x LIMIT 5"), "Unsupported clause: LIMIT");
    assert_eq!(err("SELECT * FROM a1x, b1x"), "Only select from a single table or index is supported.");
    assert_eq!(err("SELECT * FROM a1x.b1x.c1x"), "A path may contain at most 2 components in the FROM clause");
    assert_eq!(
        err("SELECT * FROM \"ab\""),
        "Table name should be within the length [3, 255] and only contain 'a-z', 'A-Z', '0-9', '-', '_', '.'."
    );
}

// WHERE.

#[test]
fn where_translations() {
    let cases = [
        ("a = 1 OR b <> 'x'", "#p0 = :p0 OR #p1 <> :p1"),
        ("a != 1", "#p0 <> :p0"),
        ("a = 1 AND (b = 2 OR c = 3)", "#p0 = :p0 AND (#p1 = :p1 OR #p2 = :p2)"),
        ("(a = 1 AND b = 2) OR c = 3", "#p0 = :p0 AND #p1 = :p1 OR #p2 = :p2"),
        ("((a = 1))", "#p0 = :p0"),
        ("NOT a = 1 AND b = 2", "NOT (#p0 = :p0) AND #p1 = :p1"),
        ("NOT (a = 1 OR b = 2)", "NOT (#p0 = :p0 OR #p1 = :p1)"),
        ("a BETWEEN 1 AND 5", "#p0 BETWEEN :p0 AND :p1"),
        ("a NOT BETWEEN 1 AND 5", "NOT (#p0 BETWEEN :p0 AND :p1)"),
        ("a BETWEEN 1 AND 5 AND b = 2", "#p0 BETWEEN :p0 AND :p1 AND #p1 = :p2"),
        ("a = 1 OR b = 2 AND c = 3", "#p0 = :p0 OR #p1 = :p1 AND #p2 = :p2"),
        ("NOT a = 1 OR b = 2", "NOT (#p0 = :p0) OR #p1 = :p1"),
        ("a IN [1, 2, 'x']", "#p0 IN (:p0, :p1, :p2)"),
        ("a IN (1, 2)", "#p0 IN (:p0, :p1)"),
        ("a NOT IN [1]", "NOT (#p0 IN (:p0))"),
        ("a IS MISSING", "attribute_not_exists(#p0)"),
        ("a IS NOT MISSING", "attribute_exists(#p0)"),
        ("NOT a IS MISSING", "attribute_exists(#p0)"),
        ("a IS NULL", "attribute_type(#p0, :p0)"),
        ("a IS NOT STRING", "NOT (attribute_type(#p0, :p0))"),
        ("begins_with(a, 'x')", "begins_with(#p0, :p0)"),
        ("contains(\"a b\".c[2], ?)", "contains(#p0.#p1[2], :p0)"),
        ("attribute_type(a, 'S')", "attribute_type(#p0, :p0)"),
        ("attribute_exists(a) AND attribute_not_exists(b)", "attribute_exists(#p0) AND attribute_not_exists(#p1)"),
        ("size(a) > 3", "size(#p0) > :p0"),
        ("1 < a", ":p0 < #p0"),
        ("a = b", "#p0 = #p1"),
        ("a.b[0].c = [1, {'k': <<'s'>>}]", "#p0.#p1[0].#p2 = :p0"),
        ("a = -5", "#p0 = :p0"),
        ("a = NULL AND b = true", "#p0 = :p0 AND #p1 = :p1"),
    ];
    for (condition, expected) in cases {
        let params = if condition.contains('?') { vec![json!({"S": "p"})] } else { vec![] };
        let t = ok_with(&format!("SELECT * FROM \"tbl\" WHERE {condition}"), &params);
        assert_eq!(t.input["FilterExpression"], expected, "{condition}");
    }
    let t = ok("SELECT * FROM tbl WHERE a.b[0].c = [1, {'k': <<'s'>>}] AND n = -5 AND z IS NULL AND y IS LIST");
    assert_eq!(
        t.input["ExpressionAttributeValues"],
        json!({
            ":p0": {"L": [{"N": "1"}, {"M": {"k": {"SS": ["s"]}}}]},
            ":p1": {"N": "-5"},
            ":p2": {"S": "NULL"},
            ":p3": {"S": "L"},
        })
    );
}

#[test]
fn where_semantics() {
    let it =
        json!({"pk": {"S": "k"}, "n": {"N": "7"}, "s": {"S": "hello"}, "l": {"L": [{"N": "1"}]}, "z": {"NULL": true}});
    let cases = [
        ("n = 7", true),
        ("n = 7.0", true),
        ("n > 7", false),
        ("n BETWEEN 1 AND 7", true),
        ("n NOT BETWEEN 1 AND 7", false),
        ("n IN [1, 7]", true),
        ("n NOT IN [1, 7]", false),
        ("missing_attr IS MISSING", true),
        ("n IS MISSING", false),
        ("n IS NOT MISSING", true),
        ("z IS NULL", true),
        ("n IS NUMERIC", true),
        ("s IS STRING AND l IS LIST", true),
        ("begins_with(s, 'he')", true),
        ("contains(s, 'll')", true),
        ("size(s) = 5", true),
        ("l[0] = 1", true),
        ("NOT n = 7 OR s = 'hello'", true),
        ("NOT (n = 7 OR s = 'hello')", false),
        ("pk = 'k' AND (n < 0 OR s = 'hello')", true),
        ("n BETWEEN 1 AND 5 AND s = 'hello'", false),
        ("n = 0 OR s = 'hello' AND n = 7", true),
        ("(n = 0 OR s = 'hello') AND n = 0", false),
    ];
    for (condition, expected) in cases {
        assert_eq!(holds(condition, &it), expected, "{condition}");
    }
}

#[test]
fn where_refusals() {
    let sel = |c: &str| err(&format!("SELECT * FROM \"tbl\" WHERE {c}"));
    assert_eq!(sel("a = MISSING"), "MISSING must be compared using IS operator");
    assert_eq!(sel("a"), "WHERE clause must contain an expression that resolves to a boolean");
    assert_eq!(sel("size(a)"), "WHERE clause must contain an expression that resolves to a boolean");
    assert_eq!(sel("a IN []"), msg_in());
    assert_eq!(sel("'x' IN ['x']"), msg_in());
    assert_eq!(sel("upper(a) = 'X'"), "Unrecognized function: upper");
    assert_eq!(sel("a LIKE 'x%'"), "Unsupported operator in Condition Expression. Operator: LIKE");
    assert_eq!(sel("a + 1 = 2"), "Unsupported operator in Condition Expression. Operator: +");
    assert_eq!(
        sel("a IS INT"),
        "Unsupported data type for IS operator: INT. Supported data types are [MISSING, NULL, BOOLEAN, BLOB, STRING, NUMERIC, STRUCT, TUPLE, LIST]"
    );
    assert_eq!(sel("a[*].b = 1"), "Wildcard path component like a[*].b are not supported");
    assert_eq!(sel("a.*.b = 1"), "Unpivot path component like a.*.b are not supported");
    assert_eq!(sel("a[?] = 1"), "Unexpected path component");
    assert_eq!(sel("\"\" = 1"), "Path component cannot be an empty string");
}

fn msg_in() -> &'static str {
    "IN operator must have a left hand argument of type Variable Reference and right hand argument of type Seq with at least one member"
}

// Literals.

#[test]
fn insert_literals() {
    let t =
        ok("INSERT INTO \"Music\" VALUE {'pk': 'a''b', 'n': 1.50, 'e': 15E-1, 'neg': -0.001, 'big': 1e3, 't': TRUE, \
         'f': false, 'z': NULL, 'l': [1, 'x', [], {}], 'm': {'k': true, 'inner': {'deep': [<<1, 2>>]}}, \
         's': <<'a','b'>>, 'ns': <<1, 2.5, -3>>, 'empty': ''}");
    assert_eq!(t.op, Op::PutItem);
    assert_eq!(
        t.input,
        json!({
            "TableName": "Music",
            "StratusInsert": true,
            "Item": {
                "pk": {"S": "a'b"},
                "n": {"N": "1.5"},
                "e": {"N": "1.5"},
                "neg": {"N": "-0.001"},
                "big": {"N": "1000"},
                "t": {"BOOL": true},
                "f": {"BOOL": false},
                "z": {"NULL": true},
                "l": {"L": [{"N": "1"}, {"S": "x"}, {"L": []}, {"M": {}}]},
                "m": {"M": {"k": {"BOOL": true}, "inner": {"M": {"deep": {"L": [{"NS": ["1", "2"]}]}}}}},
                "s": {"SS": ["a", "b"]},
                "ns": {"NS": ["1", "2.5", "-3"]},
                "empty": {"S": ""},
            }
        })
    );
}

#[test]
fn numbers_are_exact() {
    let n = |lit: &str| ok(&format!("INSERT INTO tbl VALUE {{'n': {lit}}}")).input["Item"]["n"]["N"].clone();
    assert_eq!(n("12345678901234567890123456789012345678"), "12345678901234567890123456789012345678");
    assert_eq!(n("0.12345678901234567890123456789012345678"), "0.12345678901234567890123456789012345678");
    assert_eq!(
        n("9.9999999999999999999999999999999999999E+125"),
        json!(format!("{}{}", "9".repeat(38), "0".repeat(88)))
    );
    assert_eq!(n("1E-130"), json!(format!("0.{}1", "0".repeat(129))));
    assert_eq!(n("-0"), "0");
    assert_eq!(n("0e9999999"), "0");
    assert_eq!(n("+7"), "7");
    assert_eq!(n(".5"), "0.5");
    assert_eq!(n("1e0000002"), "100");
}

#[test]
fn number_refusals_name_where() {
    let overflow = "Number overflow. Attempting to store a number with magnitude larger than supported range";
    let underflow = "Number underflow. Attempting to store a number with magnitude smaller than supported range";
    let digits = "Attempting to store more than 38 significant digits in a Number";
    assert_eq!(err("SELECT * FROM \"tbl\" WHERE pk = 1e126"), format!("{overflow} under root"));
    assert_eq!(err("SELECT * FROM \"tbl\" WHERE pk = 1e-131"), format!("{underflow} under root"));
    assert_eq!(
        err("SELECT * FROM \"tbl\" WHERE pk = 123456789012345678901234567890123456789"),
        format!("{digits} under root")
    );
    assert_eq!(err("INSERT INTO \"tbl\" VALUE {'pk': 1e126}"), format!("{overflow} under root"));
    assert_eq!(err("UPDATE \"tbl\" SET a = 1e-131 WHERE pk = 970005"), format!("{underflow} under root"));
    assert_eq!(err("INSERT INTO \"tbl\" VALUE {'pk': 970006, 'm': {'x': 1e126}}"), format!("{overflow} under root.x"));
    assert_eq!(err("INSERT INTO \"tbl\" VALUE {'pk': 970007, 'l': [1, 1e126]}"), format!("{overflow} under root[1]"));
    assert_eq!(err("INSERT INTO \"tbl\" VALUE {'pk': 1e99999999}"), format!("{overflow} under root"));
    assert_eq!(err("SELECT * FROM \"tbl\" WHERE pk = 1e2147483648"), MALFORMED);
    assert_eq!(err("SELECT * FROM \"tbl\" WHERE pk = 1e99999999999"), MALFORMED);
    assert_eq!(err("SELECT * FROM \"tbl\" WHERE pk = 1.5e-2147483647"), MALFORMED);
}

#[test]
fn collection_refusals() {
    let ins = |v: &str| err(&format!("INSERT INTO \"tbl\" VALUE {{'pk': 'a', 'v': {v}}}"));
    assert_eq!(ins("<<>>"), "Empty bags are not supported");
    assert_eq!(
        ins("<<1, 'a'>>"),
        "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags"
    );
    assert_eq!(
        ins("<<[1]>>"),
        "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags"
    );
    assert_eq!(ins("<<'a', 'a'>>"), "Input collection contains duplicates");
    assert_eq!(ins("<<1, 1.0>>"), "Input collection contains duplicates");
    assert_eq!(ins("MISSING"), "Unsupported data type: MISSING under key root");
    assert_eq!(ins("{'k': 1, 'k': 2}"), "Duplicate keys in tuple. Key: k under root");
    assert_eq!(ins("{1: 2}"), "Tuple keys must be of type String. Actual type: INT under root");
    assert_eq!(
        err_with("INSERT INTO \"tbl\" VALUE {'pk': 'a', 's': <<?>>}", &[json!({"S": "x"})]),
        "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags"
    );
    assert_eq!(err("INSERT INTO \"tbl\" VALUE {'pk': 'a', 'pk': 'b'}"), "Duplicate keys in tuple. Key: pk under root");
}

// INSERT.

#[test]
fn insert_refusals() {
    let many = "Unsupported operation: Inserting multiple items in a single statement is not supported, use \"INSERT INTO tableName VALUE item\" instead";
    assert_eq!(err("INSERT INTO \"tbl\" <<{'pk': 'a'}>>"), many);
    assert_eq!(err("INSERT INTO \"tbl\" VALUES ('a', 'b')"), many);
    assert_eq!(
        err("INSERT INTO \"tbl\" VALUE ['a']"),
        "Unsupported format in item expression. Please use struct format {...} to express item values for insert statement."
    );
    assert_eq!(
        err("INSERT INTO \"tbl\" VALUE {'pk': 'a'} RETURNING ALL NEW *"),
        "RETURNING is not supported in INSERT"
    );
    assert_eq!(err("INSERT INTO \"tbl\" VALUE {'pk': 'a'} AT 1"), "AT is not supported in insert statements.");
    assert_eq!(err("INSERT INTO \"tbl\" t VALUE {'pk': 'a'}"), format!("{MALFORMED}Unexpected token after expression"));
    assert_eq!(
        err("INSERT INTO \"tbl\" (a, b) VALUES ('x', 'y')"),
        format!("{MALFORMED}Unexpected token after expression")
    );
    assert_eq!(err("INSERT INTO \"tbl\".\"idx\" VALUE {'pk': 'a'}"), "This operation is not supported on an index");
    assert_eq!(err("INSERT \"tbl\" VALUE {'pk': 'a'}"), format!("{MALFORMED}Unexpected keyword"));
}

// UPDATE.

#[test]
fn update_statement() {
    let t = ok("UPDATE \"Music\" SET AwardsWon = 1 SET AwardDetail = {'Grammys': [2020, 2018]} REMOVE Old \
         WHERE Artist = 'Acme Band' AND SongTitle = 'PartiQL Rocks' RETURNING ALL NEW *");
    assert_eq!(t.op, Op::UpdateItem);
    assert_eq!(
        t.input,
        json!({
            "TableName": "Music",
            "Key": {"Artist": {"S": "Acme Band"}, "SongTitle": {"S": "PartiQL Rocks"}},
            "UpdateExpression": "SET #p0 = :p0, #p1 = :p1 REMOVE #p2",
            "ConditionExpression": "attribute_exists(#p3) AND attribute_exists(#p4)",
            "ExpressionAttributeNames": {"#p0": "AwardsWon", "#p1": "AwardDetail", "#p2": "Old", "#p3": "Artist", "#p4": "SongTitle"},
            "ExpressionAttributeValues": {
                ":p0": {"N": "1"},
                ":p1": {"M": {"Grammys": {"L": [{"N": "2020"}, {"N": "2018"}]}}},
            },
            "ReturnValues": "ALL_NEW",
        })
    );
}

#[test]
fn update_key_and_condition_split() {
    let t = ok("update tbl set a = 1 where pk = 'x' and 2 = sk and (c > 3 or d is missing) and e <> 'y'");
    assert_eq!(t.input["Key"], json!({"pk": {"S": "x"}, "sk": {"N": "2"}}));
    assert_eq!(
        t.input["ConditionExpression"],
        "attribute_exists(#p1) AND attribute_exists(#p2) AND (#p3 > :p1 OR attribute_not_exists(#p4)) AND #p5 <> :p2"
    );
    assert!(t.input.get("ReturnValues").is_none());
}

#[test]
fn update_actions() {
    let before = json!({"pk": {"S": "k"}, "n": {"N": "5"}, "l": {"L": [{"N": "1"}]}, "s": {"SS": ["a"]}, "ns": {"NS": ["1", "2"]}, "gone": {"S": "x"}, "m": {"M": {"a": {"L": [{"N": "0"}, {"N": "1"}]}}}});
    let after = updated(
        "SET n = n + ?, l = list_append(l, [2, 'x']), s = set_add(s, <<'b'>>), ns = SET_DELETE(ns, <<2>>) \
         SET m.a[1] = 9, fresh = if_not_exists(fresh, 'new'), d = 10 - n REMOVE gone REMOVE m.a[0]",
        before,
        &[json!({"N": "2.5"})],
    );
    assert_eq!(
        after,
        json!({
            "pk": {"S": "k"},
            "n": {"N": "7.5"},
            "l": {"L": [{"N": "1"}, {"N": "2"}, {"S": "x"}]},
            "s": {"SS": ["a", "b"]},
            "ns": {"NS": ["1"]},
            "m": {"M": {"a": {"L": [{"N": "9"}]}}},
            "fresh": {"S": "new"},
            "d": {"N": "5"},
        })
    );
    let t = ok("UPDATE tbl SET n = n + 1, s = set_add(s, <<'b'>>), t = set_delete(t, <<1>>) REMOVE x WHERE pk = 'k'");
    assert_eq!(t.input["UpdateExpression"], "SET #p0 = #p0 + :p0 REMOVE #p3 ADD #p1 :p1 DELETE #p2 :p2");
}

#[test]
fn update_refusals() {
    let upd = |a: &str| err(&format!("UPDATE tbl {a} WHERE pk = 'k'"));
    assert_eq!(upd("SET s = set_add(t, <<'a'>>)"), "The first argument to SET_ADD must equal the assignment value");
    assert_eq!(upd("SET s = set_add(s)"), "SET_ADD must have exactly two arguments");
    assert_eq!(upd("SET s = set_delete(s, 'a')"), "The second argument to SET_DELETE must be a value with type SET");
    assert_eq!(
        err_with("UPDATE tbl SET s = set_add(s, ?) WHERE pk = 'k'", &[json!({"L": []})]),
        "The second argument to SET_ADD must be a value with type SET"
    );
    assert_eq!(upd("SET a = b IS NULL"), "IS operator is not supported in update expressions");
    assert_eq!(upd("SET a = b * 2"), "Unsupported operator in Update Expression. Operator: *");
    assert_eq!(upd("SET a = b + 1 + 2"), "Unsupported operator in Update Expression. Operator: +");
    assert_eq!(upd("SET a = upper(b)"), "Unrecognized function: upper");
    assert_eq!(upd("SET a = MISSING"), "Unsupported data type: MISSING under key root");
    assert_eq!(err("UPDATE tbl SET a = 1"), "Where clause does not contain a mandatory equality on all key attributes");
    assert_eq!(
        err("UPDATE tbl SET a = 1 WHERE pk > 'a' OR pk = 'b'"),
        "Where clause does not contain a mandatory equality on all key attributes"
    );
    assert_eq!(
        err("UPDATE tbl SET a = 1 WHERE pk = 'a' AND pk = 'b'"),
        "Multiple conditions on same key pk. Only single item Update/Insert/Delete are supported"
    );
    assert_eq!(err("UPDATE tbl WHERE pk = 'a'"), format!("{MALFORMED}Expected data manipulation"));
    assert_eq!(err("UPDATE tbl SET WHERE pk = 'a'"), format!("{MALFORMED}Expected assignment for SET"));
    assert_eq!(
        err("UPDATE tbl SET a.* = 1 WHERE pk = 'a'"),
        format!("{MALFORMED}Invalid path dot component for simple path")
    );
    assert_eq!(
        err("UPDATE tbl SET a[b] = 1 WHERE pk = 'a'"),
        format!("{MALFORMED}Invalid path component for simple path")
    );
    assert_eq!(err("UPDATE \"tbl\".\"idx\" SET a = 1 WHERE pk = 'a'"), "This operation is not supported on an index");
}

#[test]
fn returning_clauses() {
    let rv = |r: &str| ok(&format!("UPDATE tbl SET a = 1 WHERE pk = 'k' RETURNING {r}")).input["ReturnValues"].clone();
    assert_eq!(rv("ALL NEW *"), "ALL_NEW");
    assert_eq!(rv("all old *"), "ALL_OLD");
    assert_eq!(rv("MODIFIED NEW *"), "UPDATED_NEW");
    assert_eq!(rv("Modified Old *"), "UPDATED_OLD");
    assert_eq!(
        err("UPDATE tbl SET a = 1 WHERE pk = 'k' RETURNING ALL NEW a"),
        "Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause"
    );
    assert_eq!(
        err("UPDATE tbl SET a = 1 WHERE pk = 'k' RETURNING ALL NEW *, ALL OLD *"),
        "Invalid syntax with multiple returning elements in RETURNING clause"
    );
    assert_eq!(ok("DELETE FROM tbl WHERE pk = 'k' RETURNING ALL OLD *").input["ReturnValues"], "ALL_OLD");
    assert_eq!(
        err("DELETE FROM tbl WHERE pk = 'k' RETURNING MODIFIED NEW *"),
        "Invalid returning clause: RETURNING MODIFIED NEW *. Only RETURNING ALL OLD * is allowed in DELETE statements."
    );
}

#[test]
fn from_first_update() {
    let t = ok("FROM \"tbl\" WHERE pk = 'k' SET c = 1 RETURNING MODIFIED OLD *");
    assert_eq!(t.op, Op::UpdateItem);
    assert_eq!(t.input["Key"], json!({"pk": {"S": "k"}}));
    assert_eq!(t.input["UpdateExpression"], "SET #p0 = :p0");
    assert_eq!(t.input["ReturnValues"], "UPDATED_OLD");
    let incomplete = "Where clause does not contain a mandatory equality on all key attributes";
    assert_eq!(err("FROM \"tbl\" SET c = 1"), incomplete);
    assert_eq!(err("FROM \"tbl\" REMOVE a"), incomplete);
    let leftover = format!("{MALFORMED}Unexpected token after expression");
    assert_eq!(err("FROM \"tbl\" SET c = 1 WHERE pk = 'x'"), leftover);
    assert_eq!(err("FROM \"tbl\" SET c = 1 WHERE pk = 'x' SET d = 2"), leftover);
}

// DELETE.

#[test]
fn delete_statement() {
    let t = ok("DELETE FROM \"Music\" WHERE Artist = 'Acme' AND SongTitle = 'X'");
    assert_eq!(
        t,
        Translated {
            op: Op::DeleteItem,
            input: json!({"TableName": "Music", "Key": {"Artist": {"S": "Acme"}, "SongTitle": {"S": "X"}}}),
        }
    );
    let t = ok("DELETE FROM tbl WHERE pk = 'k' AND begins_with(s, 'x')");
    assert_eq!(t.input["ConditionExpression"], "begins_with(#p0, :p0)");
    assert_eq!(err("DELETE FROM tbl"), "Where clause does not contain a mandatory equality on all key attributes");
    assert_eq!(err("DELETE \"tbl\" WHERE pk = 'a'"), format!("{MALFORMED}Expected FROM after DELETE"));
}

// EXISTS.

#[test]
fn exists_is_a_condition_check() {
    let t = ok("EXISTS(SELECT * FROM \"tbl\" WHERE pk = 'k' AND n > 3)");
    assert_eq!(t.op, Op::ConditionCheck);
    assert_eq!(
        t.input,
        json!({
            "TableName": "tbl",
            "Key": {"pk": {"S": "k"}},
            "ConditionExpression": "attribute_exists(#p0) AND #p1 > :p0",
            "ExpressionAttributeNames": {"#p0": "pk", "#p1": "n"},
            "ExpressionAttributeValues": {":p0": {"N": "3"}},
        })
    );
    assert_eq!(
        err("EXISTS(SELECT * FROM \"tbl\".\"idx\" WHERE pk = 'k')"),
        "Operations on indices are not supported in transactions"
    );
}

// Parameters.

#[test]
fn parameters() {
    let params = [json!({"S": "k"}), json!({"N": "42"}), json!({"L": [{"BOOL": true}]}), json!({"SS": ["a"]})];
    let t = ok_with(
        "UPDATE tbl SET a = ?, b = [?, 1], c = set_add(c, ?) WHERE pk = ?",
        &params[1..].iter().chain(&params[..1]).cloned().collect::<Vec<_>>(),
    );
    assert_eq!(t.input["Key"], json!({"pk": {"S": "k"}}));
    assert_eq!(
        t.input["ExpressionAttributeValues"],
        json!({":p0": {"N": "42"}, ":p1": {"L": [{"L": [{"BOOL": true}]}, {"N": "1"}]}, ":p2": {"SS": ["a"]}})
    );
    let t = ok_with("INSERT INTO tbl VALUE {'pk': ?, 'm': {'x': ?}}", &[json!({"S": "k"}), json!({"B": "AQI="})]);
    assert_eq!(t.input["Item"], json!({"pk": {"S": "k"}, "m": {"M": {"x": {"B": "AQI="}}}}));
    // A `?` inside a string is text.
    let t = ok("SELECT * FROM tbl WHERE a = '?'");
    assert_eq!(t.input["ExpressionAttributeValues"], json!({":p0": {"S": "?"}}));

    let count = "Number of parameters in request and statement don't match.";
    assert_eq!(err("SELECT * FROM tbl WHERE a = ?"), count);
    assert_eq!(err_with("SELECT * FROM tbl WHERE a = ? AND b = ?", &[json!({"S": "x"})]), count);
    assert_eq!(err_with("SELECT * FROM tbl WHERE a = 1", &[json!({"S": "x"})]), count);
    assert_eq!(
        err_with("SELECT * FROM tbl WHERE a = ?", &[json!({"N": "abc"})]),
        "The parameter cannot be converted to a numeric value: abc"
    );
    assert!(err_with("SELECT * FROM tbl WHERE a = ?", &[json!("plain")]).contains("not an object"));
}

// Syntax errors, with the messages AWS gives.

#[test]
fn syntax_errors() {
    let leftover = format!("{MALFORMED}Unexpected token after expression");
    let term = format!("{MALFORMED}Unexpected term");
    let cases: Vec<(&str, String)> = vec![
        ("SELECT * FROM \"tbl\" WHERE pk = 1 foo", leftover.clone()),
        ("SELECT * FROM \"tbl\" WHERE pk = 1 e5", leftover.clone()),
        ("UPDATE \"tbl\" SET a = 9 WHERE pk = 970002 foo", leftover.clone()),
        ("DELETE FROM \"tbl\" WHERE pk = 970003 foo", leftover.clone()),
        ("SELECT * FROM \"tbl\" WHERE pk = 1)", leftover.clone()),
        ("DELETE FROM \"tbl\" WHERE pk = 970004 ORDER BY pk", leftover.clone()),
        ("SELECT * FROM \"tbl\" ORDER BY pk WHERE pk = 1", leftover.clone()),
        ("SELECT * FROM \"tbl\" WHERE pk = 1 # note", MALFORMED.to_string()),
        ("SELECT * FROM \"tbl\" WHERE pk = 1 /* note", MALFORMED.to_string()),
        ("SELECT * FROM \"tbl\" WHERE", term.clone()),
        ("SELECT * FROM \"tbl\" WHERE;", term.clone()),
        ("SELECT * FROM \"tbl\" WHERE   ", term.clone()),
        ("SELECT pk FROM \"tbl\" WHERE", term.clone()),
        ("UPDATE \"tbl\" SET a = 1 WHERE", term.clone()),
        ("DELETE FROM \"tbl\" WHERE", term.clone()),
        ("SELECT * FROM \"tbl\" WHERE NOT", term.clone()),
        ("SELECT * FROM \"tbl\" WHERE (", term.clone()),
        ("SELECT * FROM", term.clone()),
        ("", String::new()),
        ("   ", term.clone()),
        (
            "SELECT * FROM \"tbl\" WHERE pk = 'p1' AND",
            format!("{MALFORMED}Missing right-hand side expression of infix operator"),
        ),
        (
            "SELECT * FROM \"tbl\" WHERE pk = 'p1' OR",
            format!("{MALFORMED}Missing right-hand side expression of infix operator"),
        ),
        ("SELECT * FROM \"tbl\" WHERE ORDER BY pk", format!("{MALFORMED}Unexpected keyword")),
        ("SELECT * FROM \"tbl\" WHERE pk = 'a' AND x IS FOO", format!("{MALFORMED}Expected type name")),
        ("SELECT * FROM \"tbl\" WHERE IS NULL", format!("{MALFORMED}Unexpected operator")),
        ("SELECT * FROM \"tbl\" WHERE pk = LIKE", format!("{MALFORMED}Unexpected operator")),
        ("DELETE FROM", format!("{MALFORMED}Expected identifier for simple path")),
        ("DELETE FROM   ", format!("{MALFORMED}Expected identifier for simple path")),
        ("DELETE FROM;", format!("{MALFORMED}Expected identifier for simple path")),
        ("DELETE FROM WHERE pk = 'a'", format!("{MALFORMED}Expected identifier for simple path")),
        ("SLECT * FROM \"Users\"", format!("{MALFORMED}Expected data manipulation")),
        (
            "SELECT * FROM tbl; SELECT * FROM tbl",
            format!("{MALFORMED}Unexpected token after semicolon. (Only one query is allowed.)"),
        ),
        ("SELECT * FROM tbl WHERE a IN [1, 2", format!("{MALFORMED}Expected RIGHT_BRACKET")),
        ("SELECT * FROM tbl WHERE a = {'k' 1}", format!("{MALFORMED}Expected COLON")),
        ("SELECT * FROM tbl WHERE a = 'unterminated", MALFORMED.to_string()),
        ("SELECT * FROM tbl WHERE a = ()", format!("{MALFORMED}Expression group cannot be empty")),
        ("SELECT * tbl", format!("{MALFORMED}Expected FROM after SELECT list")),
    ];
    for (statement, expected) in cases {
        let message = err(statement);
        if statement.is_empty() {
            assert!(message.contains("Member must have length greater than or equal to 1"), "{message}");
        } else {
            assert_eq!(message, expected, "{statement}");
        }
    }
}

#[test]
fn aliases_are_refused_after_parsing() {
    assert_eq!(err("SELECT * FROM \"tbl\" t WHERE pk = 'x'"), "Aliasing is not supported");
    assert_eq!(err("SELECT * FROM \"tbl\" AS t WHERE pk = 'x'"), "Aliasing is not supported");
    assert_eq!(err("UPDATE \"tbl\" t SET a = 3 WHERE pk = 'x'"), "Aliasing is not supported");
    assert_eq!(err("DELETE FROM \"tbl\" t WHERE pk = 'x'"), "Aliasing is not supported");
    // A syntax error anywhere comes first.
    assert_eq!(
        err("SELECT * FROM \"tbl\" t WHERE pk = 'x' foo"),
        format!("{MALFORMED}Unexpected token after expression")
    );
}

#[test]
fn unsupported_statements() {
    assert_eq!(err("CREATE TABLE foo"), "Unsupported operation: CreateTable");
    assert_eq!(err("create index on foo (a)"), "Unsupported operation: CreateIndex");
    assert_eq!(err("DROP TABLE foo"), "Unsupported operation: DropTable");
    for t in ["INT4", "INT8", "DOUBLE PRECISION", "CHARACTER VARYING"] {
        assert_eq!(err(&format!("x IS {t}")), "Unsupported operation: IsType", "{t}");
    }
    assert_eq!(err("1 + 1"), "Unsupported operation: Plus");
    assert_eq!(err("UPSERT INTO tbl VALUE {'pk': 'a'}"), format!("{MALFORMED}Unexpected token after expression"));
    assert_eq!(err("SELECT * FROM tbl GROUP BY a"), "Unsupported clause: GROUP BY");
}

// Hostile input.

#[test]
fn hostile_input_errors_without_panicking() {
    let deep = |open: &str, close: &str, n: usize| {
        format!("SELECT * FROM tbl WHERE a = {}1{}", open.repeat(n), close.repeat(n))
    };
    let too_deep = format!("{MALFORMED}Expression nesting exceeds the supported depth");
    assert_eq!(err(&deep("(", ")", 4000)), too_deep);
    assert_eq!(err(&deep("[", "]", 4000)), too_deep);
    assert_eq!(err(&deep("{'a':", "}", 1000)), too_deep);
    assert_eq!(err(&format!("SELECT * FROM tbl WHERE {}a = 1", "NOT ".repeat(2000))), too_deep);
    assert_eq!(err(&format!("SELECT * FROM tbl WHERE a = {}1", "- ".repeat(4000))), too_deep);
    assert_eq!(err(&format!("SELECT * FROM tbl WHERE a = 1{}", " + 1".repeat(2000))), too_deep);
    assert_eq!(
        err(&format!("SELECT * FROM tbl WHERE a{}", "[0]".repeat(2700))),
        "WHERE clause must contain an expression that resolves to a boolean"
    );
    assert!(translate(&format!("SELECT * FROM tbl WHERE a{} = 1", "[0]".repeat(2700)), &[]).is_ok());
    // Within the limits: nesting as deep as an item may go, and long AND chains.
    let t = ok(&format!("INSERT INTO tbl VALUE {{'pk': 'a', 'l': {}1{}}}", "[".repeat(31), "]".repeat(31)));
    assert!(t.input["Item"]["l"].is_object());
    let chain: Vec<String> = (0..500).map(|i| format!("a{i} = 1")).collect();
    let t = translate(&format!("SELECT * FROM tbl WHERE {}", chain.join(" AND ")), &[]).expect("long chain");
    assert!(t.input["FilterExpression"].as_str().is_some_and(|f| f.ends_with("#p499 = :p499")));
    // Sizes.
    let huge = format!("SELECT * FROM tbl WHERE a = '{}'", "x".repeat(9000));
    let message = err(&huge);
    assert!(message.starts_with("1 validation error detected: "), "{message}");
    assert!(message.contains("Member must have length less than or equal to 8192"), "{message}");
    assert!(!message.contains("xxxxxxxxxx"), "{message}");
    let big = ok(&format!("INSERT INTO tbl VALUE {{'pk': '{}'}}", "é".repeat(8000)));
    assert_eq!(big.input["Item"]["pk"]["S"].as_str().map(|s| s.chars().count()), Some(8000));
    // Odd bytes and truncations never panic.
    let samples = [
        "SELECT * FROM tbl WHERE a = 1",
        "INSERT INTO tbl VALUE {'pk': 'a', 'l': [1, <<'x'>>, {'k': -1.5e3}]}",
        "UPDATE tbl SET a = list_append(a, [?]) REMOVE b[1] WHERE pk = ? RETURNING ALL NEW *",
        "EXISTS(SELECT * FROM \"t\" WHERE pk = 'a' AND b IS NOT MISSING)",
    ];
    for s in samples {
        for end in 0..=s.len() {
            if s.is_char_boundary(end) {
                let _ = translate(&s[..end], &[json!({"S": "x"})]);
                let _ = translate(&s[end..], &[]);
            }
        }
    }
    for c in ['\0', '\u{7f}', '\u{feff}', '"', '\'', '<', '>', '`', '@', '~', '\\'] {
        let _ = translate(&format!("SELECT * FROM tbl WHERE a = {c}{c}"), &[]);
    }
}

// The completion the caller makes with the key schema.

#[test]
fn apply_key_schema_moves_non_key_equalities() {
    let mut t = ok("UPDATE tbl SET a = 1 WHERE pk = 'k' AND status = 'open' AND n > 1 RETURNING ALL OLD *");
    t.apply_key_schema(&["pk"]).expect("complete key");
    check_expressions(&t);
    assert_eq!(t.input["Key"], json!({"pk": {"S": "k"}}));
    assert_eq!(
        t.input["ConditionExpression"],
        "attribute_exists(#p1) AND attribute_exists(#p2) AND #p3 > :p1 AND #k0 = :k0"
    );
    assert_eq!(t.input["ExpressionAttributeNames"]["#k0"], "status");
    assert_eq!(t.input["ExpressionAttributeValues"][":k0"], json!({"S": "open"}));

    let mut t = ok("UPDATE tbl SET a = 1 WHERE pk = 'k' AND status = 'open'");
    assert_eq!(
        t.apply_key_schema(&["pk", "sk"]).expect_err("no sk").message,
        "Where clause does not contain a mandatory equality on all key attributes"
    );

    let mut t = ok("DELETE FROM tbl WHERE pk = 'k' AND sk = 1 AND flag = true AND (n > 1 OR n IS MISSING)");
    t.apply_key_schema(&["pk", "sk"]).expect("complete key");
    check_expressions(&t);
    assert_eq!(t.input["Key"], json!({"pk": {"S": "k"}, "sk": {"N": "1"}}));
    assert_eq!(
        t.input["ConditionExpression"],
        "attribute_not_exists(#k1) OR (#p0 > :p0 OR attribute_not_exists(#p0)) AND #k0 = :k0"
    );
    // Nothing to delete is no failure; an item the WHERE does not hold for is.
    let input = &t.input;
    let mut p = Placeholders::new(input.get("ExpressionAttributeNames"), input.get("ExpressionAttributeValues"))
        .expect("placeholders");
    let c =
        expr::parse_condition(input["ConditionExpression"].as_str().unwrap_or_default(), ExprKind::Condition, &mut p)
            .expect("condition");
    let existing =
        |flag: bool| item(json!({"pk": {"S": "k"}, "sk": {"N": "1"}, "flag": {"BOOL": flag}, "n": {"N": "5"}}));
    assert_eq!(c.eval(&Item::new()).ok(), Some(true));
    assert_eq!(c.eval(&existing(true)).ok(), Some(true));
    assert_eq!(c.eval(&existing(false)).ok(), Some(false));

    let mut t = ok("DELETE FROM tbl WHERE pk = 'k'");
    t.apply_key_schema(&["pk"]).expect("complete key");
    assert_eq!(t.input, json!({"TableName": "tbl", "Key": {"pk": {"S": "k"}}}));

    let mut t = ok("INSERT INTO tbl VALUE {'pk': 'k', 'a': 1}");
    t.apply_key_schema(&["pk", "sk"]).expect("insert");
    check_expressions(&t);
    assert_eq!(t.input["ConditionExpression"], "attribute_not_exists(#k0)");
    assert_eq!(t.input["ExpressionAttributeNames"], json!({"#k0": "pk"}));
    let markers = t.strip_markers();
    assert_eq!(markers, json!({"StratusInsert": true}).as_object().cloned().unwrap_or_default());
    assert!(t.input.get("StratusInsert").is_none());

    let mut t = ok("SELECT a FROM tbl WHERE pk = 'k' ORDER BY pk");
    t.apply_key_schema(&["pk"]).expect("scan");
    let mut markers: Vec<String> = t.strip_markers().keys().cloned().collect();
    markers.sort();
    assert_eq!(markers, vec!["StratusEqualities", "StratusOrderBy", "StratusProjection"]);
    assert!(t.input.as_object().is_some_and(|m| m.keys().all(|k| !k.starts_with("Stratus"))));
}

#[test]
fn op_names() {
    assert_eq!(Op::PutItem.name(), "PutItem");
    assert_eq!(Op::Scan.name(), "Scan");
    assert_eq!(Op::ConditionCheck.name(), "ConditionCheck");
}
