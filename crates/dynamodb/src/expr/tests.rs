//! Tests of the expression language: parsing every construct, DynamoDB's messages (most taken
//! from tests that were run against DynamoDB itself), evaluation truth tables, update semantics
//! and adversarial inputs.

use serde_json::{Value as Json, json};

use super::*;

const MAX_NESTING_FOR_TESTS: usize = super::parse::MAX_NESTING;
use crate::value::{Item, Value, item_from_json};

fn ph(names: Json, values: Json) -> Placeholders {
    let names = (!names.is_null()).then_some(&names);
    let values = (!values.is_null()).then_some(&values);
    Placeholders::new(names, values).expect("valid placeholders")
}

fn item(j: Json) -> Item {
    item_from_json(&j).expect("valid item")
}

fn val(j: Json) -> Value {
    Value::from_json(&j).expect("valid value")
}

fn filter_err(text: &str, names: Json, values: Json) -> String {
    parse_condition(text, ExprKind::Filter, &mut ph(names, values)).expect_err(text).message
}

fn update_err(text: &str, names: Json, values: Json) -> String {
    parse_update(text, &mut ph(names, values)).expect_err(text).message
}

fn key_err(text: &str, values: Json) -> String {
    parse_key_condition(text, &mut ph(Json::Null, values)).expect_err(text).message
}

/// Evaluates a ConditionExpression against an item.
fn holds(text: &str, values: Json, it: &Item) -> bool {
    let c = parse_condition(text, ExprKind::Condition, &mut ph(json!({"#n": "n"}), values)).expect(text);
    c.eval(it).expect("evaluates")
}

/// Applies an UpdateExpression to an item.
fn updated(text: &str, names: Json, values: Json, it: Json) -> Result<Item, String> {
    let u = parse_update(text, &mut ph(names, values)).expect(text);
    let mut it = item(it);
    u.apply(&mut it).map_err(|e| e.message)?;
    Ok(it)
}

// Lexing and syntax errors.

#[test]
fn lexes_keywords_placeholders_indexes_and_unknown_characters() {
    use super::lexer::{Tok, lex};
    let kinds: Vec<Tok> = lex("a.b[10] <> #n AND :v1 andy 007 _ ü \"x\"").iter().map(|t| t.kind).collect();
    assert_eq!(
        kinds,
        vec![
            Tok::Id,
            Tok::Dot,
            Tok::Id,
            Tok::LBracket,
            Tok::Index,
            Tok::RBracket,
            Tok::Ne,
            Tok::NameRef,
            Tok::And,
            Tok::ValueRef,
            Tok::Id,
            Tok::Index,
            Tok::Index,
            Tok::Index,
            Tok::Unknown,
            Tok::Unknown,
            Tok::Str,
            Tok::Eof
        ]
    );
}

#[test]
fn syntax_errors_name_the_token_and_its_neighbours() {
    // Messages recorded from DynamoDB.
    let cases = [
        (
            parse_condition("foo", ExprKind::Condition, &mut ph(Json::Null, Json::Null)),
            "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"foo\"",
        ),
        (
            parse_condition("pk = :pk AND __typename = :t", ExprKind::KeyCondition, &mut ph(Json::Null, Json::Null)),
            "Invalid KeyConditionExpression: Syntax error; token: \"_\", near: \"AND __\"",
        ),
    ];
    for (result, expected) in cases {
        assert_eq!(result.expect_err(expected).message, expected);
    }
    for (text, token, near) in [
        ("SET MyStr = myNum + 1", "1", "+ 1"),
        ("SET MyStr = myNum Mystr2 myNum2", "Mystr2", "myNum Mystr2 myNum2"),
        ("SET MyStr = my Num", "Num", "my Num"),
        ("SET path = VALUE 1", "1", "VALUE 1"),
        ("SET a = b +", "<EOF>", "+"),
        ("SET numx = numx / :v", "/", "numx / :v"),
        ("SET", "<EOF>", "SET"),
    ] {
        assert_eq!(
            update_err(text, Json::Null, Json::Null),
            format!("Invalid UpdateExpression: Syntax error; token: \"{token}\", near: \"{near}\"")
        );
    }
    assert_eq!(
        key_err("a = :a AND begins_with(b, :type", json!({":a": {"S": "x"}, ":type": {"S": "t"}})),
        "Invalid KeyConditionExpression: Syntax error; token: \"<EOF>\", near: \":type\""
    );
    assert_eq!(
        parse_projection("a b", &mut ph(Json::Null, Json::Null)).expect_err("two names").message,
        "Invalid ProjectionExpression: Syntax error; token: \"b\", near: \"a b\""
    );
    assert_eq!(
        filter_err("!!", Json::Null, Json::Null),
        "Invalid FilterExpression: Syntax error; token: \"!\", near: \"!!\""
    );
}

#[test]
fn refuses_what_the_grammar_does_not_allow() {
    // Expressions DynamoDB answered with a syntax error.
    for text in [
        "things are not gonna be ok",
        "a > 4",
        "attribute_exists(Pictures-RearView)",
        "attribute_exists(\"Pictures.RearView\")",
        "attribute_exists(Pictures..RearView)",
        "attribute_exists(Pi#ctures.RearView)",
        "attribute_exists(asdf[a])",
        "a.:a < b.:b",
        "a in b, c",
        "a > between",
        "a in b",
        "a in (b,c,)",
        "(a)between(b.(c.d))and(c)",
        "(a)between(b.c.d)and((c)",
        "#$.b > a",
        "a > :things.stuff",
        "b[:a] > a",
        "b[#_] > a",
        "ü > a",
        "(a)between(b.c[4.5].#d)and(:a)",
        "size(a).b > a",
        "(size(a)).b > a",
        "size(a)[0] > a",
        "(size(a))[0] > a",
        "a = b[01]",
        "remove = a",
        "a = (b = c)",
        "foo()",
        "",
    ] {
        let message = filter_err(text, Json::Null, Json::Null);
        let expected = if text.is_empty() {
            "Invalid FilterExpression: The expression can not be empty;"
        } else {
            "Invalid FilterExpression: Syntax error; "
        };
        assert!(message.starts_with(expected), "{text}: {message}");
    }
    for text in [
        "whatever",
        "set a",
        "add a",
        "delete a",
        "set a=set",
        "remove a = b",
        "add a = b",
        "delete a = b",
        "delete a b",
        "delete a if_not_exist(b)",
        "add abort b",
        "add a if_not_exist(b)",
        "remove a b",
        "set a b",
        "set :a = b",
        "add :a b",
        "delete :a b",
        "remove :a",
        "set a = b / c",
        "set a = b * c",
        "set a[1] = \"eight\"",
        "set a[1] = 1",
        "SET a = if_not_exist(a, 100)",
        "SET if_not_exist(a, b) = a",
        "set (a = (b + c))",
        "set a = (b.c).d + e",
        "set a = (b.c)[0] + e",
        "set a = b + c + d",
    ] {
        let message = update_err(text, Json::Null, Json::Null);
        assert!(message.starts_with("Invalid UpdateExpression: Syntax error; "), "{text}: {message}");
    }
}

#[test]
fn refuses_redundant_parentheses() {
    for text in [
        "a=a and a > ((views))",
        "(a)between(((b.c)).d)and(c)",
        "a > whatever((:things), ((a)))",
        "a=a AND ((a=a AND a=a)) AND a=a",
        "a=a OR ((a=a OR a=a)) OR a=a",
        "a=a AND ((a=a AND (a=a AND a=a)))",
    ] {
        assert_eq!(
            filter_err(text, Json::Null, Json::Null),
            "Invalid FilterExpression: The expression has redundant parentheses;"
        );
    }
    assert_eq!(
        update_err("SET a = ((b + c))", Json::Null, Json::Null),
        "Invalid UpdateExpression: The expression has redundant parentheses;"
    );
    assert_eq!(
        update_err("SET a = ((b))", Json::Null, Json::Null),
        "Invalid UpdateExpression: The expression has redundant parentheses;"
    );
}

// Parsing each construct.

#[test]
fn parses_every_condition_construct() {
    let values = json!({":v": {"S": "x"}, ":n": {"N": "1"}, ":t": {"S": "S"}, ":m": {"N": "9"}});
    for text in [
        "a = :v",
        "a <> :v",
        "a < :v",
        "a <= :v",
        "a > :v",
        "a >= :v",
        "a BETWEEN :n AND :m",
        "a IN (:v, :n)",
        "attribute_exists(a.b[1].c)",
        "attribute_not_exists(#n)",
        "attribute_type(a, :t)",
        "begins_with(a, :v)",
        "contains(a, :v)",
        "size(a) > :n",
        ":n < size(a)",
        "(size(a)) = :n",
        "NOT a = :v",
        "not (a = :v or b = :v) and c = :v",
        "(a = :v)",
        "a = :v AND (b = :v OR c = :v)",
        "a[0][1].#n = :v",
        "(a)between(:n)and(:m)",
        "\ta\r\n=\n:v ",
    ] {
        parse_condition(text, ExprKind::Condition, &mut ph(json!({"#n": "n"}), values.clone())).expect(text);
    }
}

#[test]
fn precedence_is_not_then_and_then_or() {
    let it = item(json!({"a": {"N": "1"}}));
    let v = json!({":one": {"N": "1"}, ":two": {"N": "2"}});
    // true OR (false AND false)
    assert!(holds("a = :one OR a = :two AND a = :two", v.clone(), &it));
    // (true OR false) AND false
    assert!(!holds("(a = :one OR a = :two) AND a = :two", v.clone(), &it));
    // (NOT false) AND true
    assert!(holds("NOT a = :two AND a = :one", v.clone(), &it));
    // NOT (true AND false)... written without parentheses NOT binds first: (NOT true) AND false
    assert!(!holds("NOT a = :one AND a = :two", v.clone(), &it));
    assert!(holds("NOT (a = :one AND a = :two)", v.clone(), &it));
    // BETWEEN's AND is not a logical AND.
    assert!(holds("a BETWEEN :one AND :two AND a = :one", v, &it));
}

// Condition messages.

#[test]
fn refuses_unknown_and_misused_functions() {
    assert_eq!(
        filter_err("a=a and whatever((:things)) > a", Json::Null, Json::Null),
        "Invalid FilterExpression: Invalid function name; function: whatever"
    );
    assert_eq!(
        filter_err("attRIbute_exIsts((views), #a)", Json::Null, Json::Null),
        "Invalid FilterExpression: Invalid function name; function: attRIbute_exIsts"
    );
    for (text, function) in [
        ("a=a and attribute_exists((views), (#a)) > b", "attribute_exists"),
        ("attribute_not_exists(things) > b", "attribute_not_exists"),
        ("attribute_type(things, :a) > b", "attribute_type"),
        ("begins_with(things, a) > b", "begins_with"),
        ("contains(:things, c) > b", "contains"),
        ("size(contains(a, b)) > a", "contains"),
        ("size(things)", "size"),
        ("a between b and attribute_exists(things)", "attribute_exists"),
        ("a in (b, attribute_exists(things))", "attribute_exists"),
    ] {
        assert_eq!(
            filter_err(text, Json::Null, Json::Null),
            format!(
                "Invalid FilterExpression: The function is not allowed to be used this way in an expression; function: {function}"
            )
        );
    }
}

#[test]
fn refuses_reserved_words_unless_behind_a_name() {
    for (text, word) in [("attribute_exists(views, #a)", "views"), (":a < abOrT", "abOrT"), ("a.b.Size = :v", "Size")] {
        assert_eq!(
            filter_err(text, Json::Null, Json::Null),
            format!("Invalid FilterExpression: Attribute name is a reserved keyword; reserved keyword: {word}")
        );
    }
    parse_condition("#s = :v", ExprKind::Condition, &mut ph(json!({"#s": "status"}), json!({":v": {"S": "x"}})))
        .expect("reserved word behind a name");
    assert!(super::reserved::is_reserved("status") && super::reserved::is_reserved("ZONE"));
    assert!(!super::reserved::is_reserved("statuses") && !super::reserved::is_reserved(""));
}

#[test]
fn refuses_undefined_names_and_values() {
    for (text, name) in [
        ("attribute_exists(#Pictures.RearView, :a) and a=a", "#Pictures"),
        ("begins_with(Pictures.#RearView)", "#RearView"),
        ("(#P between :lo and :hi) and (#PC in (:cat1, :cat2))", "#P"),
        ("#4g > a", "#4g"),
        ("#_ > a", "#_"),
        ("(a)between(b.c[45].#d)and(:a)", "#d"),
    ] {
        assert_eq!(
            filter_err(text, Json::Null, Json::Null),
            format!(
                "Invalid FilterExpression: An expression attribute name used in the document path is not defined; attribute name: {name}"
            )
        );
    }
    for (text, value) in [("begins_with(:hello, #a, #b)", ":hello"), (":a < :b", ":a"), (":_ > a", ":_")] {
        assert_eq!(
            filter_err(text, Json::Null, Json::Null),
            format!(
                "Invalid FilterExpression: An expression attribute value used in expression is not defined; attribute value: {value}"
            )
        );
    }
}

#[test]
fn refuses_wrong_operand_counts() {
    for (text, function, count) in [
        ("attribute_exists(things, a) and a=a", "attribute_exists", 2),
        ("attribute_not_exists(things, b)", "attribute_not_exists", 2),
        ("attribute_type(things)", "attribute_type", 1),
        ("begins_with(things)", "begins_with", 1),
        ("begins_with(things, size(a), b)", "begins_with", 3),
        ("contains(things)", "contains", 1),
        ("size(things, a) > b", "size", 2),
    ] {
        assert_eq!(
            filter_err(text, Json::Null, Json::Null),
            format!(
                "Invalid FilterExpression: Incorrect number of operands for operator or function; operator or function: {function}, number of operands: {count}"
            )
        );
    }
    let values: serde_json::Map<String, Json> =
        (0..101).map(|i| (format!(":v{i}"), json!({"N": i.to_string()}))).collect();
    let list: Vec<String> = (0..101).map(|i| format!(":v{i}")).collect();
    assert_eq!(
        filter_err(&format!("a IN ({})", list.join(",")), Json::Null, Json::Object(values.clone())),
        "Invalid FilterExpression: Too many operands for the operator or function; operator or function: IN, number of operands: 101"
    );
    parse_condition(
        &format!("a IN ({})", list[..100].join(",")),
        ExprKind::Filter,
        &mut ph(Json::Null, Json::Object(values)),
    )
    .expect("100 values are allowed");
}

#[test]
fn refuses_wrong_operand_types() {
    for (text, function, value) in [
        ("attribute_type(a, size(a)) and a=a and a=:a", "attribute_type", json!({"N": "1"})),
        ("attribute_type(a, :a)", "attribute_type", json!({"N": "1"})),
        ("attribute_type(a, :a)", "attribute_type", json!({"B": "YQ=="})),
        ("attribute_type(a, :a)", "attribute_type", json!({"BOOL": true})),
        ("attribute_type(a, :a)", "attribute_type", json!({"NULL": true})),
        ("attribute_type(a, :a)", "attribute_type", json!({"L": []})),
        ("attribute_type(a, :a)", "attribute_type", json!({"M": {}})),
        ("attribute_type(a, :a)", "attribute_type", json!({"SS": ["1"]})),
        ("begins_with(a, size(a)) and a=:a", "begins_with", json!({"N": "1"})),
        ("begins_with(a, :a)", "begins_with", json!({"N": "1"})),
        ("begins_with(a, :a)", "begins_with", json!({"BOOL": true})),
        ("begins_with(a, :a)", "begins_with", json!({"NS": ["1"]})),
        ("begins_with(:a, a)", "begins_with", json!({"L": []})),
        ("begins_with(:a, a)", "begins_with", json!({"M": {}})),
        ("size(size(a)) > :a", "size", json!({"N": "1"})),
        ("attribute_not_exists(size(:a))", "size", json!({"N": "1"})),
        ("size(:a) > a", "size", json!({"BOOL": true})),
        ("size(:a) > a", "size", json!({"NULL": true})),
    ] {
        let type_name = val(value.clone()).type_name();
        assert_eq!(
            filter_err(text, Json::Null, json!({":a": value})),
            format!(
                "Invalid FilterExpression: Incorrect operand type for operator or function; operator or function: {function}, operand type: {type_name}"
            )
        );
    }
    assert_eq!(
        filter_err("attribute_type(a, :a)", Json::Null, json!({":a": {"S": "1"}})),
        "Invalid FilterExpression: Invalid attribute type name found; type: 1, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"
    );
    for (text, function) in [
        ("attribute_exists(:a) and a=a", "attribute_exists"),
        ("attribute_not_exists(size(:a))", "attribute_not_exists"),
    ] {
        assert_eq!(
            filter_err(text, Json::Null, json!({":a": {"S": "1"}})),
            format!(
                "Invalid FilterExpression: Operator or function requires a document path; operator or function: {function}"
            )
        );
    }
}

#[test]
fn refuses_operands_that_must_differ() {
    for (text, operator, path) in [
        ("a = a AND #a = b AND :views > a", "=", "[a]"),
        ("#a <> a", "<>", "[a]"),
        ("a > #a", ">", "[a]"),
        ("((a=a) OR (a=a))", "=", "[a]"),
        ("contains(ab.bc[1].a, ab.bc[1].#a)", "contains", "[ab, bc, [1], a]"),
        ("attribute_type(ab.bc[1].#a, ab.bc[1].a)", "attribute_type", "[ab, bc, [1], a]"),
        ("begins_with(ab.bc[1].a, ab.bc[1].#a)", "begins_with", "[ab, bc, [1], a]"),
    ] {
        assert_eq!(
            filter_err(text, json!({"#a": "a"}), Json::Null),
            format!(
                "Invalid FilterExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: {operator}, first operand: {path}"
            )
        );
    }
}

#[test]
fn refuses_between_bounds_out_of_order_or_of_different_types() {
    assert_eq!(
        key_err("a between :b and :a", json!({":a": {"S": "a"}, ":b": {"N": "1"}})),
        "Invalid KeyConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:a}"
    );
    assert_eq!(
        key_err("a between :b and :a", json!({":a": {"S": "a"}, ":b": {"S": "b"}})),
        "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {S:b}, upper bound operand: AttributeValue: {S:a}"
    );
    assert_eq!(
        filter_err("x between :b and :a", Json::Null, json!({":a": {"N": "2"}, ":b": {"N": "10"}})),
        "Invalid FilterExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:10}, upper bound operand: AttributeValue: {N:2}"
    );
}

#[test]
fn refuses_update_functions_in_conditions() {
    assert_eq!(
        filter_err("a = if_not_exists(b, :v)", Json::Null, json!({":v": {"S": "x"}})),
        "Invalid FilterExpression: The function is not allowed in a condition expression; function: if_not_exists"
    );
}

#[test]
fn refuses_expressions_over_four_kilobytes() {
    let long = format!("a = :v{}", " ".repeat(MAX_EXPRESSION_BYTES));
    assert_eq!(
        filter_err(&long, Json::Null, Json::Null),
        format!(
            "Invalid FilterExpression: Expression size has exceeded the maximum allowed size; expression size: {}",
            long.len()
        )
    );
    let exact = format!("a = :v{}", " ".repeat(MAX_EXPRESSION_BYTES - 6));
    parse_condition(&exact, ExprKind::Filter, &mut ph(Json::Null, json!({":v": {"S": "x"}})))
        .expect("4096 bytes is allowed");
}

// Evaluation.

fn sample() -> Item {
    item(json!({
        "s": {"S": "hello"},
        "n": {"N": "10"},
        "b": {"B": "AQID"},
        "ss": {"SS": ["x", "y"]},
        "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": ["AQ==", "Ag=="]},
        "l": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"k": {"S": "v"}}}]},
        "m": {"M": {"nested": {"M": {"deep": {"N": "3"}}}, "arr": {"L": [{"N": "0"}, {"N": "1"}]}}},
        "nul": {"NULL": true},
        "t": {"BOOL": true},
        "u": {"S": "é𝄞"}
    }))
}

#[test]
fn comparisons_follow_dynamodb_types() {
    let it = sample();
    let v = json!({
        ":s": {"S": "hello"}, ":s2": {"S": "help"}, ":n": {"N": "10.0"}, ":n9": {"N": "9"}, ":ns": {"NS": ["2.50", "1"]},
        ":ss": {"SS": ["y", "x"]}, ":b": {"B": "AQID"}, ":b2": {"B": "AQIE"}, ":t": {"BOOL": true}, ":l": {"L": [{"S": "x"}, {"N": "1.0"}, {"M": {"k": {"S": "v"}}}]},
        ":nstr": {"S": "10"}
    });
    let truth = [
        ("s = :s", true),
        ("n = :n", true),
        ("n = :nstr", false),
        ("n <> :nstr", true),
        ("ns = :ns", true),
        ("ss = :ss", true),
        ("l = :l", true),
        ("b = :b", true),
        ("t = :t", true),
        ("s < :s2", true),
        ("s >= :s2", false),
        ("n > :n9", true),
        ("n <= :n9", false),
        ("b < :b2", true),
        ("n > :s", false),
        ("n < :s", false),
        ("ss > :ss", false),
        ("t >= :t", false),
        ("absent = :s", false),
        ("absent <> :s", true),
        ("absent < :s", false),
        ("n BETWEEN :n9 AND :n", true),
        ("s BETWEEN :s AND :s2", true),
        ("n BETWEEN :s AND :s2", false),
        ("absent BETWEEN :n9 AND :n", false),
        ("n IN (:s, :n)", true),
        ("n IN (:s, :n9)", false),
        ("absent IN (:s)", false),
        ("m.nested.deep = :n9", false),
        ("m.arr[1] <> :n", true),
        ("l[2].k = :s", false),
    ];
    for (text, expected) in truth {
        assert_eq!(holds(text, v.clone(), &it), expected, "{text}");
    }
}

#[test]
fn functions_evaluate_as_documented() {
    let it = sample();
    let v = json!({
        ":S": {"S": "S"}, ":N": {"S": "N"}, ":NULL": {"S": "NULL"}, ":M": {"S": "M"}, ":SS": {"S": "SS"},
        ":he": {"S": "he"}, ":lo": {"S": "lo"}, ":x": {"S": "x"}, ":z": {"S": "z"}, ":one": {"N": "1"}, ":two5": {"N": "2.50"},
        ":b01": {"B": "AQ=="}, ":b02": {"B": "AgM="}, ":map": {"M": {"k": {"S": "v"}}},
        ":3": {"N": "3"}, ":5": {"N": "5"}, ":2": {"N": "2"}
    });
    let truth = [
        ("attribute_exists(s)", true),
        ("attribute_exists(m.nested.deep)", true),
        ("attribute_exists(m.arr[2])", false),
        ("attribute_exists(s.x)", false),
        ("attribute_not_exists(absent)", true),
        ("attribute_not_exists(l[0])", false),
        ("attribute_type(s, :S)", true),
        ("attribute_type(n, :N)", true),
        ("attribute_type(nul, :NULL)", true),
        ("attribute_type(m, :M)", true),
        ("attribute_type(ss, :SS)", true),
        ("attribute_type(s, :N)", false),
        ("attribute_type(absent, :S)", false),
        ("begins_with(s, :he)", true),
        ("begins_with(s, :lo)", false),
        ("begins_with(b, :b01)", true),
        ("begins_with(n, :he)", false),
        ("contains(s, :lo)", true),
        ("contains(s, :z)", false),
        ("contains(ss, :x)", true),
        ("contains(ss, :z)", false),
        ("contains(ns, :two5)", true),
        ("contains(bs, :b01)", true),
        ("contains(b, :b02)", true),
        ("contains(l, :x)", true),
        ("contains(l, :one)", true),
        ("contains(l, :map)", true),
        ("contains(n, :one)", false),
        ("contains(absent, :x)", false),
        ("size(s) = :5", true),
        ("size(u) = :3", true),
        ("size(b) = :3", true),
        ("size(ss) = :2", true),
        ("size(l) = :3", true),
        ("size(m) = :2", true),
        ("size(n) = :2", false),
        ("size(absent) = :2", false),
        ("size(absent) <> :2", true),
        ("size(:he) = :2", true),
    ];
    for (text, expected) in truth {
        assert_eq!(holds(text, v.clone(), &it), expected, "{text}");
    }
}

#[test]
fn conditions_on_a_absent_item_see_no_attributes() {
    let v = json!({":v": {"S": "x"}});
    let empty = Item::new();
    assert!(holds("attribute_not_exists(id)", v.clone(), &empty));
    assert!(!holds("attribute_exists(id)", v.clone(), &empty));
    assert!(holds("id <> :v", v.clone(), &empty));
    assert!(!holds("id = :v", v, &empty));
}

// Update expressions.

#[test]
fn set_computes_every_value_from_the_item_as_it_was() {
    // An update DynamoDB ran: right-hand sides read the old item, list writes past the end
    // append in index order.
    let result = updated(
        "set b.c=((c[1])+(b.a)),b.a = a,c[1] = a, c[4] = b.a - b.b, c[2] = b.c add c[8] :b, c[6] :a",
        Json::Null,
        json!({":a": {"N": "2"}, ":b": {"SS": ["a"]}}),
        json!({"a": {"S": "key"}, "b": {"M": {"a": {"N": "1"}, "b": {"N": "2"}, "c": {"N": "3"}}}, "c": {"L": [{"N": "1"}, {"N": "3"}]}}),
    )
    .expect("applies");
    assert_eq!(
        result,
        item(json!({
            "a": {"S": "key"},
            "b": {"M": {"a": {"S": "key"}, "b": {"N": "2"}, "c": {"N": "4"}}},
            "c": {"L": [{"N": "1"}, {"S": "key"}, {"N": "3"}, {"N": "-1"}, {"N": "2"}, {"SS": ["a"]}]}
        }))
    );
}

#[test]
fn set_add_remove_delete_on_a_new_item() {
    let result = updated(
        "REMOVE b DELETE c :c ADD d :d, e :e SET f = :f",
        Json::Null,
        json!({":c": {"SS": ["a", "b"]}, ":d": {"N": "5"}, ":e": {"SS": ["a", "b"]}, ":f": {"L": [{"S": "a"}, {"N": "1"}]}}),
        json!({"a": {"S": "k"}}),
    )
    .expect("applies");
    assert_eq!(
        result,
        item(json!({"a": {"S": "k"}, "d": {"N": "5"}, "e": {"SS": ["a", "b"]}, "f": {"L": [{"S": "a"}, {"N": "1"}]}}))
    );
}

#[test]
fn arithmetic_is_exact_and_counters_start_at_zero() {
    let result = updated(
        "SET n = n + :a, m = :b - n, c = if_not_exists(c, :zero) + :a ADD z :a",
        Json::Null,
        json!({":a": {"N": "0.1"}, ":b": {"N": "1"}, ":zero": {"N": "0"}}),
        json!({"n": {"N": "0.2"}}),
    )
    .expect("applies");
    assert_eq!(result, item(json!({"n": {"N": "0.3"}, "m": {"N": "0.8"}, "c": {"N": "0.1"}, "z": {"N": "0.1"}})));
}

#[test]
fn add_and_delete_treat_sets_as_sets() {
    let start = json!({"ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": ["AQ=="]}});
    let result = updated(
        "ADD ss :ss, ns :ns, bs :bs",
        Json::Null,
        json!({":ss": {"SS": ["b", "c"]}, ":ns": {"NS": ["2.0", "3"]}, ":bs": {"BS": ["AQ==", "Ag=="]}}),
        start.clone(),
    )
    .expect("applies");
    assert_eq!(
        result,
        item(json!({"ss": {"SS": ["a", "b", "c"]}, "ns": {"NS": ["1", "2", "3"]}, "bs": {"BS": ["AQ==", "Ag=="]}}))
    );
    let result = updated(
        "DELETE ss :ss, ns :ns, absent :ss",
        Json::Null,
        json!({":ss": {"SS": ["a", "z"]}, ":ns": {"NS": ["1", "2"]}}),
        start,
    )
    .expect("applies");
    // Deleting every member removes the attribute: sets are never empty.
    assert_eq!(result, item(json!({"ss": {"SS": ["b"]}, "bs": {"BS": ["AQ=="]}})));
}

#[test]
fn list_functions_and_indexes() {
    let start = json!({"l": {"L": [{"N": "0"}, {"N": "1"}, {"N": "2"}, {"N": "3"}]}});
    let result = updated(
        "SET l = list_append(l, :more), k = list_append(if_not_exists(k, :empty), :more)",
        Json::Null,
        json!({":more": {"L": [{"S": "x"}]}, ":empty": {"L": []}}),
        start.clone(),
    )
    .expect("applies");
    assert_eq!(
        result,
        item(
            json!({"l": {"L": [{"N": "0"}, {"N": "1"}, {"N": "2"}, {"N": "3"}, {"S": "x"}]}, "k": {"L": [{"S": "x"}]}})
        )
    );
    // REMOVE names elements by their index before the update; past the end it does nothing.
    let result = updated("REMOVE l[1], l[2], l[9]", Json::Null, Json::Null, start.clone()).expect("applies");
    assert_eq!(result, item(json!({"l": {"L": [{"N": "0"}, {"N": "3"}]}})));
    let result =
        updated("SET l[9] = :v, l[0] = :v REMOVE l[3]", Json::Null, json!({":v": {"S": "v"}}), start).expect("applies");
    assert_eq!(result, item(json!({"l": {"L": [{"S": "v"}, {"N": "1"}, {"N": "2"}, {"S": "v"}]}})));
}

#[test]
fn nested_paths_and_names() {
    let result = updated(
        "SET #m.#dot = :v, m.rest[0] = :v REMOVE m.gone",
        json!({"#m": "m", "#dot": "a.b"}),
        json!({":v": {"S": "v"}}),
        json!({"m": {"M": {"rest": {"L": [{"N": "1"}]}, "gone": {"N": "1"}}}}),
    )
    .expect("applies");
    assert_eq!(result, item(json!({"m": {"M": {"a.b": {"S": "v"}, "rest": {"L": [{"S": "v"}]}}}})));
}

#[test]
fn update_runtime_errors_leave_the_item_unchanged() {
    let start =
        json!({"s": {"S": "x"}, "n": {"N": "1"}, "ns": {"NS": ["1"]}, "l": {"L": [{"N": "1"}]}, "m": {"M": {}}});
    let values = json!({":n": {"N": "1"}, ":ss": {"SS": ["a"]}, ":ns": {"NS": ["1"]}, ":l": {"L": []}});
    let absent = "The provided expression refers to an attribute that does not exist in the item";
    let wrong_type = "An operand in the update expression has an incorrect data type";
    let bad_path = "The document path provided in the update expression is invalid for update";
    for (text, expected) in [
        ("SET a = nope", absent),
        ("SET a = nope + :n", absent),
        ("SET a = list_append(nope, :l)", absent),
        ("SET a = s + :n", wrong_type),
        ("SET a = :n - s", wrong_type),
        ("SET a = list_append(ns, :l)", wrong_type),
        ("ADD s :n", wrong_type),
        ("ADD ns :ss", wrong_type),
        ("ADD n :ns", wrong_type),
        ("DELETE ns :ss", wrong_type),
        ("DELETE n :ns", wrong_type),
        ("SET nope.a = :n", bad_path),
        ("SET nope[0] = :n", bad_path),
        ("SET s.a = :n", bad_path),
        ("SET m[0] = :n", bad_path),
        ("SET l.a = :n", bad_path),
        ("SET l[5].a = :n", bad_path),
        ("REMOVE nope.a", bad_path),
        ("REMOVE s[0]", bad_path),
        ("ADD nope.a :n", bad_path),
        ("DELETE l.a :ns", bad_path),
        ("SET z = :n, a = nope", absent),
    ] {
        let u = parse_update(text, &mut ph(Json::Null, values.clone())).expect(text);
        let mut it = item(start.clone());
        assert_eq!(u.apply(&mut it).expect_err(text).message, expected, "{text}");
        assert_eq!(it, item(start.clone()), "{text}");
    }
}

#[test]
fn number_limits_surface_as_update_errors() {
    let big = format!("9{}", "0".repeat(125));
    let err = updated("SET n = n + :big", Json::Null, json!({":big": {"N": big}}), json!({"n": {"N": big}}))
        .expect_err("overflows");
    assert!(err.contains("Number overflow"), "{err}");
}

#[test]
fn update_paths_project_the_updated_attributes() {
    // ReturnValues UPDATED_NEW as DynamoDB answered it for this update.
    let u = parse_update(
        "set b.c=((c[1])+(b.a)),b.a = a,c[1] = a, c[4] = b.a - b.b, c[2] = b.c add c[8] :b, c[6] :a",
        &mut ph(Json::Null, json!({":a": {"N": "2"}, ":b": {"SS": ["a"]}})),
    )
    .expect("parses");
    let mut it = item(
        json!({"a": {"S": "key"}, "b": {"M": {"a": {"N": "1"}, "b": {"N": "2"}, "c": {"N": "3"}}}, "c": {"L": [{"N": "1"}, {"N": "3"}]}}),
    );
    u.apply(&mut it).expect("applies");
    assert_eq!(
        u.projection().apply(&it),
        item(
            json!({"b": {"M": {"a": {"S": "key"}, "c": {"N": "4"}}}, "c": {"L": [{"S": "key"}, {"N": "3"}, {"N": "2"}]}})
        )
    );
}

#[test]
fn conditions_report_the_attributes_they_read() {
    let c = parse_condition(
        "a.b = :v AND (size(#c[0]) > :n OR NOT attribute_exists(d)) AND e IN (:v, f) AND a <> :v",
        ExprKind::Filter,
        &mut ph(json!({"#c": "c"}), json!({":v": {"S": "x"}, ":n": {"N": "1"}})),
    )
    .expect("parses");
    assert_eq!(c.top_level_names(), vec!["a", "c", "d", "e", "f"]);
}

#[test]
fn reports_top_level_names() {
    let u = parse_update(
        "SET a.b = :v, c = :v REMOVE a.d, #e ADD f :n",
        &mut ph(json!({"#e": "e"}), json!({":v": {"S": "x"}, ":n": {"N": "1"}})),
    )
    .expect("parses");
    assert_eq!(u.top_level_names(), vec!["a", "c", "e", "f"]);
}

// Update messages.

#[test]
fn refuses_repeated_sections() {
    for (text, section) in [
        ("set a = #c set c = :d", "SET"),
        ("remove #d set a = b remove e", "REMOVE"),
        ("add #d :e set a = b add e :f", "ADD"),
        ("delete #d :e set a = b delete #e :f", "DELETE"),
    ] {
        assert_eq!(
            update_err(text, json!({"#a": "a", "#b": "b"}), json!({":a": {"S": "a"}})),
            format!(
                "Invalid UpdateExpression: The \"{section}\" section can only be used once in an update expression;"
            )
        );
    }
}

#[test]
fn update_checks_come_in_dynamodb_order() {
    let names = json!({"#a": "a", "#b": "b"});
    let values = json!({":a": {"S": "a"}, ":b": {"S": "a"}});
    for (text, expected) in [
        (" set #c = :c set abOrt = true ", "Attribute name is a reserved keyword; reserved keyword: abOrt"),
        (" remove Absolute ", "Attribute name is a reserved keyword; reserved keyword: Absolute"),
        ("set #c = if_not_exist(:c) set c = d", "Invalid function name; function: if_not_exist"),
        ("SET a = size(b)", "The function is not allowed in an update expression; function: size"),
        (
            "SET #c = if_not_exists(:c)",
            "An expression attribute name used in the document path is not defined; attribute name: #c",
        ),
        (
            "SET #a = if_not_exists(:c)",
            "An expression attribute value used in expression is not defined; attribute value: :c",
        ),
        (
            "set a = if_not_exists(c)",
            "Incorrect number of operands for operator or function; operator or function: if_not_exists, number of operands: 1",
        ),
        (
            "set a = list_append(c)",
            "Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 1",
        ),
        (
            "set a = if_not_exists(:a, c)",
            "Operator or function requires a document path; operator or function: if_not_exists",
        ),
        (
            "set a = if_not_exists(if_not_exists(a, b), c)",
            "Operator or function requires a document path; operator or function: if_not_exists",
        ),
    ] {
        assert_eq!(update_err(text, names.clone(), values.clone()), format!("Invalid UpdateExpression: {expected}"));
    }
}

#[test]
fn refuses_overlapping_and_conflicting_paths() {
    let names = json!({"#b": "b", "#c": "c", "#d": "[3]"});
    for (text, one, two) in [
        ("set d[1] = a, d.b = a, c[1].a = a, #c = if_not_exists(a)", "[c, [1], a]", "[c]"),
        ("set c.b.#c = a, c = a, #d = a", "[c, b, c]", "[c]"),
        ("set a = b remove a, #c, #d", "[a]", "[a]"),
        ("set #c[3].#d = a, #c[3] = a", "[c, [3], [3]]", "[c, [3]]"),
        ("remove c, #c.a, #d", "[c]", "[c, a]"),
        ("remove a, #c, a, #d", "[a]", "[a]"),
    ] {
        assert_eq!(
            update_err(text, names.clone(), Json::Null),
            format!(
                "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {one}, path two: {two}"
            )
        );
    }
    for (text, one, two) in [
        ("set #c[3].#d = a, #c.#d[3] = if_not_exists(a)", "[c, [3], [3]]", "[c, [3], [3]]"),
        ("remove a.#c set a[1] = #d", "[a, c]", "[a, [1]]"),
    ] {
        assert_eq!(
            update_err(text, names.clone(), Json::Null),
            format!(
                "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {one}, path two: {two}"
            )
        );
    }
}

#[test]
fn refuses_wrong_add_and_delete_operands() {
    for (text, value, operator, shown) in [
        ("set b = list_append(:a, a), c = if_not_exists(a) add a.b :a", json!({"S": "a"}), "ADD", "STRING"),
        ("delete a.b :a", json!({"S": "a"}), "DELETE", "STRING"),
        ("add a.b :a", json!({"NULL": true}), "ADD", "NULL"),
        ("delete a.b :a", json!({"BOOL": false}), "DELETE", "BOOLEAN"),
        ("add a.b :a", json!({"B": "YQ=="}), "ADD", "BINARY"),
        ("add a.b :a", json!({"M": {"a": {"L": [{"N": "1"}]}}}), "ADD", "MAP"),
        ("delete a.b :a", json!({"L": [{"N": "1"}]}), "DELETE", "LIST"),
        ("delete a.b :a", json!({"N": "1"}), "DELETE", "NUMBER"),
    ] {
        assert_eq!(
            update_err(text, Json::Null, json!({":a": value})),
            format!(
                "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: {operator}, operand type: {shown}"
            )
        );
    }
}

#[test]
fn refuses_wrong_function_operand_types() {
    let values = json!({
        ":a": {"S": "a"}, ":b": {"N": "1"}, ":c": {"B": "YQ=="}, ":d": {"BOOL": false}, ":e": {"NULL": true},
        ":f": {"SS": ["a"]}, ":g": {"NS": ["1"]}, ":h": {"BS": ["YQ=="]}, ":i": {"M": {}}, ":j": {"L": []}
    });
    for (text, function, shown) in [
        ("set a = list_append(:a, a)", "list_append", "S"),
        ("set a = list_append(a, :b)", "list_append", "N"),
        ("set a = list_append(:c, a)", "list_append", "B"),
        ("set a = list_append(:i, a)", "list_append", "M"),
        ("set a = a + :a", "+", "S"),
        ("set a = :a + :c", "+", "S"),
        ("set a = :c + a", "+", "B"),
        ("set a = a + :d", "+", "BOOL"),
        ("set a = a + :j", "+", "L"),
        ("set a = a - :e", "-", "NULL"),
        ("set a = a - :f", "-", "SS"),
        ("set a = a - :h", "-", "BS"),
    ] {
        assert_eq!(
            update_err(text, Json::Null, values.clone()),
            format!(
                "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: {function}, operand type: {shown}"
            )
        );
    }
}

// Projections.

#[test]
fn projection_keeps_only_what_it_names() {
    let p = parse_projection(
        "s, m.nested, l[2].k, l[0], #n[1], absent, m.arr[7]",
        &mut ph(json!({"#n": "ns_list"}), Json::Null),
    )
    .expect("parses");
    let mut it = sample();
    it.insert("ns_list".into(), val(json!({"L": [{"N": "1"}, {"N": "2"}]})));
    assert_eq!(
        p.apply(&it),
        item(json!({
            "s": {"S": "hello"},
            "m": {"M": {"nested": {"M": {"deep": {"N": "3"}}}}},
            "l": {"L": [{"S": "x"}, {"M": {"k": {"S": "v"}}}]},
            "ns_list": {"L": [{"N": "2"}]}
        }))
    );
    assert_eq!(p.top_level_names(), vec!["s", "m", "l", "ns_list", "absent"]);
    let p = parse_projection("s.x, l.k, n[0]", &mut ph(Json::Null, Json::Null)).expect("parses");
    assert_eq!(p.apply(&it), Item::new());
}

#[test]
fn projection_messages() {
    let err = |text: &str, names: Json| parse_projection(text, &mut ph(names, Json::Null)).expect_err(text).message;
    assert_eq!(err("", Json::Null), "Invalid ProjectionExpression: The expression can not be empty;");
    assert_eq!(
        err("a, name", Json::Null),
        "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: name"
    );
    assert_eq!(
        err("a, #b", Json::Null),
        "Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #b"
    );
    assert_eq!(
        err("a.b, #a", json!({"#a": "a"})),
        "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a]"
    );
    assert_eq!(
        err("a.b, a[0]", Json::Null),
        "Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [0]]"
    );
    assert!(
        err("a,", Json::Null).starts_with("Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", near: \",\"")
    );
}

// Key conditions.

#[test]
fn key_conditions_give_partition_and_sort() {
    let values = json!({":p": {"S": "p"}, ":a": {"N": "1"}, ":b": {"N": "5"}, ":s": {"S": "pre"}});
    let parse = |text: &str| parse_key_condition(text, &mut ph(json!({"#pk": "pk"}), values.clone())).expect(text);
    let p = ("pk".to_string(), val(json!({"S": "p"})));
    let n = |x: &str| val(json!({"N": x}));
    assert_eq!(parse("#pk = :p"), KeyCondition { partition: p.clone(), sort: None });
    assert_eq!(parse("#pk = :p AND sk < :a").sort, Some(("sk".into(), SortCondition::Lt(n("1")))));
    assert_eq!(parse(":a > sk AND :p = #pk").sort, Some(("sk".into(), SortCondition::Lt(n("1")))));
    assert_eq!(parse(":a <= sk AND #pk = :p").sort, Some(("sk".into(), SortCondition::Ge(n("1")))));
    assert_eq!(parse("#pk = :p AND sk >= :a").sort, Some(("sk".into(), SortCondition::Ge(n("1")))));
    assert_eq!(parse("(#pk = :p) AND (sk > :a)").sort, Some(("sk".into(), SortCondition::Gt(n("1")))));
    assert_eq!(parse("#pk = :p AND sk <= :a").sort, Some(("sk".into(), SortCondition::Le(n("1")))));
    assert_eq!(
        parse("#pk = :p AND sk BETWEEN :a AND :b").sort,
        Some(("sk".into(), SortCondition::Between(n("1"), n("5"))))
    );
    assert_eq!(
        parse("begins_with(sk, :s) AND #pk = :p"),
        KeyCondition {
            partition: p.clone(),
            sort: Some(("sk".into(), SortCondition::BeginsWith(val(json!({"S": "pre"})))))
        }
    );
    let both = parse("sk = :a AND #pk = :p");
    assert_eq!(both.partition.0, "sk");
    let both = both.with_partition_key("pk");
    assert_eq!(both, KeyCondition { partition: p, sort: Some(("sk".into(), SortCondition::Eq(n("1")))) });
}

#[test]
fn key_condition_messages() {
    let values = json!({":a": {"S": "1"}, ":b": {"S": "1"}});
    assert!(key_err("a > 4", Json::Null).starts_with("Invalid KeyConditionExpression: Syntax error; "));
    assert!(key_err("attribute_type(a, b)", Json::Null).starts_with(
        "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type:"
    ));
    assert_eq!(
        key_err("attribute_type(a, :a)", json!({":a": {"S": "S"}})),
        "Invalid operator used in KeyConditionExpression: attribute_type"
    );
    for (text, operator) in [
        ("a > b and size(b) > c or a > c", "OR"),
        ("a in (b, size(c), d)", "IN"),
        ("attribute_exists(a)", "attribute_exists"),
        ("attribute_not_exists(a)", "attribute_not_exists"),
        ("contains(a.d, b)", "contains"),
        ("not a > b", "NOT"),
        ("a <> b", "<>"),
    ] {
        assert_eq!(key_err(text, Json::Null), format!("Invalid operator used in KeyConditionExpression: {operator}"));
    }
    for (text, operator) in
        [(":a between size(b) and size(a) and b > :b", "BETWEEN"), ("begins_with(:a, b) and a > :b", "begins_with")]
    {
        assert_eq!(
            key_err(text, values.clone()),
            format!(
                "Invalid condition in KeyConditionExpression: {operator} operator must have the key attribute as its first operand"
            )
        );
    }
    for text in ["size(b) > a AND a.b > b AND b > c", "a > size(b.d)", "a between size(b) and size(a)"] {
        assert_eq!(key_err(text, Json::Null), "KeyConditionExpressions cannot contain nested operations");
    }
    for text in ["b > a.b", "b between c[1] and d", "a between b and size(a)", "begins_with(a, b)"] {
        assert_eq!(
            key_err(text, Json::Null),
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"
        );
    }
    for text in ["b.d > a AND c.d > e.f", "a.d > c", "b[0] > a"] {
        assert_eq!(key_err(text, Json::Null), "KeyConditionExpressions cannot have conditions on nested attributes");
    }
    let numbers = json!({":a": {"N": "1"}, ":b": {"N": "1"}});
    for text in [":b > :a AND a < :b", ":a > b AND :a < :b"] {
        assert_eq!(
            key_err(text, numbers.clone()),
            "Invalid condition in KeyConditionExpression: No key attribute specified"
        );
    }
    for text in ["b > :a AND b < :a and c = :a and d = :a", "(a > :a and b > :a) and (b > :a and c > :a)"] {
        assert_eq!(
            key_err(text, json!({":a": {"N": "1"}})),
            "KeyConditionExpressions must only contain one condition per key"
        );
    }
    assert_eq!(key_err("a > :a", json!({":a": {"N": "1"}})), "Query key condition not supported");
    assert_eq!(key_err("a = :a AND b = :a AND c = :a", json!({":a": {"N": "1"}})), "Query key condition not supported");
    assert_eq!(key_err("", Json::Null), "Invalid KeyConditionExpression: The expression can not be empty;");
    let parts = parse_key_condition_parts("sk > :a", &mut ph(Json::Null, json!({":a": {"N": "1"}}))).expect("parses");
    assert_eq!(parts, vec![("sk".to_string(), SortCondition::Gt(val(json!({"N": "1"}))))]);
}

// Placeholders.

#[test]
fn placeholder_validation_messages() {
    let err = |names: Option<Json>, values: Option<Json>| {
        Placeholders::new(names.as_ref(), values.as_ref()).expect_err("invalid").message
    };
    assert_eq!(err(Some(json!({})), None), "ExpressionAttributeNames must not be empty");
    assert_eq!(
        err(Some(json!({"a": "a"})), None),
        "ExpressionAttributeNames contains invalid key: Syntax error; key: \"a\""
    );
    assert_eq!(
        err(Some(json!({"#": "a"})), None),
        "ExpressionAttributeNames contains invalid key: Syntax error; key: \"#\""
    );
    assert_eq!(
        err(Some(json!({"#DE": ""})), None),
        "ExpressionAttributeNames contains invalid value: Empty attribute name for key #DE"
    );
    assert_eq!(err(None, Some(json!({}))), "ExpressionAttributeValues must not be empty");
    assert_eq!(
        err(None, Some(json!({":b": {"S": "a"}, "b": {"S": "a"}}))),
        "ExpressionAttributeValues contains invalid key: Syntax error; key: \"b\""
    );
    assert_eq!(
        err(None, Some(json!({":b": {"NULL": false}}))),
        "ExpressionAttributeValues contains invalid value: One or more parameter values were invalid: Null attribute value types must have the value of true for key :b"
    );
    assert_eq!(
        err(None, Some(json!({":b": {"S": "a", "N": "1"}}))),
        "ExpressionAttributeValues contains invalid value: Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes for key :b"
    );
    assert_eq!(
        err(None, Some(json!({":b": {}}))),
        "ExpressionAttributeValues contains invalid value: Supplied AttributeValue is empty, must contain exactly one of the supported datatypes for key :b"
    );
}

#[test]
fn refuses_unused_placeholders() {
    let mut p = ph(json!({"#a": "a", "#b": "b"}), json!({":a": {"S": "a"}, ":b": {"S": "a"}, ":c": {"S": "a"}}));
    parse_update("remove a set b = list_append(b, if_not_exists(a, :a))", &mut p).expect("parses");
    parse_condition("a = :b", ExprKind::Condition, &mut p).expect("parses");
    assert_eq!(
        p.check_all_used().expect_err("unused").message,
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #b}"
    );
    let mut p = ph(Json::Null, json!({":a": {"S": "a"}, ":b": {"S": "a"}, ":c": {"S": "a"}}));
    parse_condition("a = :b", ExprKind::Condition, &mut p).expect("parses");
    assert_eq!(
        p.check_all_used().expect_err("unused").message,
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:a, :c}"
    );
    let mut p = ph(json!({"#a": "a"}), json!({":a": {"S": "a"}}));
    parse_projection("#a", &mut p).expect("parses");
    parse_condition("b = :a", ExprKind::Filter, &mut p).expect("parses");
    p.check_all_used().expect("all used");
}

// Adversarial inputs: errors, never panics or stack overflows.

#[test]
fn deep_nesting_errors_instead_of_overflowing() {
    let values = json!({":v": {"S": "x"}});
    let deep_parens = format!("{}a = :v{}", "(".repeat(2000), ")".repeat(2000));
    assert_eq!(
        filter_err(&deep_parens, Json::Null, values.clone()),
        "Invalid FilterExpression: The expression has redundant parentheses;"
    );
    let deep_not = format!("{}a = :v", "NOT ".repeat(1000));
    assert!(filter_err(&deep_not, Json::Null, values.clone()).contains("nesting"));
    let deep_groups = format!("{}a = :v{}", "(a = :v AND ".repeat(300), ")".repeat(300));
    assert!(deep_groups.len() <= MAX_EXPRESSION_BYTES);
    assert!(filter_err(&deep_groups, Json::Null, values.clone()).contains("nesting"));
    let deep_size = format!("{}a{} = :v", "size(".repeat(600), ")".repeat(600));
    assert!(filter_err(&deep_size, Json::Null, values.clone()).contains("nesting"));
    let deep_set = format!("SET a = {}b{}", "if_not_exists(a,".repeat(220), ")".repeat(220));
    assert!(update_err(&deep_set, Json::Null, Json::Null).contains("nesting"));
    // Nesting up to the limit works.
    let limit = format!("{}a = :v{}", "(a = :v AND ".repeat(MAX_NESTING_FOR_TESTS), ")".repeat(MAX_NESTING_FOR_TESTS));
    let c = parse_condition(&limit, ExprKind::Filter, &mut ph(Json::Null, values.clone())).expect("at the limit");
    assert!(c.eval(&item(json!({"a": {"S": "x"}}))).expect("evaluates"));
    let nots = format!("{}a = :v", "NOT ".repeat(MAX_NESTING_FOR_TESTS));
    let c = parse_condition(&nots, ExprKind::Filter, &mut ph(Json::Null, values.clone())).expect("at the limit");
    assert!(c.eval(&item(json!({"a": {"S": "x"}}))).expect("evaluates"));
    let fine = format!("{}a = :v{}", "(a = :v AND ".repeat(100), ")".repeat(100));
    let c = parse_condition(&fine, ExprKind::Filter, &mut ph(Json::Null, values.clone())).expect("100 levels");
    assert!(c.eval(&item(json!({"a": {"S": "x"}}))).expect("evaluates"));
    // Long flat chains are not nesting.
    let chain = vec!["a = :v"; 400].join(" OR ");
    parse_condition(&chain, ExprKind::Filter, &mut ph(Json::Null, values)).expect("flat chain");
}

#[test]
fn huge_and_malformed_inputs_error() {
    let huge = "a".repeat(1 << 20);
    assert!(filter_err(&huge, Json::Null, Json::Null).contains("expression size: 1048576"));
    assert!(update_err(&huge, Json::Null, Json::Null).contains("expression size: 1048576"));
    // A huge value is fine: only the expression is limited.
    let big_value = json!({":v": {"S": "x".repeat(1 << 20)}});
    let c = parse_condition("contains(a, :v)", ExprKind::Filter, &mut ph(Json::Null, big_value)).expect("parses");
    assert!(!c.eval(&item(json!({"a": {"S": "x"}}))).expect("evaluates"));
    for text in [
        "((a = :v)",
        "(a = :v))",
        ")a = :v(",
        "a = :v)",
        "((((",
        "))))",
        "a[",
        "a[99999999999999999999999] = :v",
        "a = :",
        "#",
        ":",
        "\u{0}",
        "a = :v AND",
        "NOT",
        "\"unterminated",
        "a IN ()",
        "𝄞𝄞𝄞",
    ] {
        let message = filter_err(text, Json::Null, json!({":v": {"S": "x"}}));
        assert!(message.starts_with("Invalid FilterExpression: "), "{text}: {message}");
    }
    for text in
        ["SET", "SET a", "SET a =", "REMOVE", "ADD a", "DELETE a", "SET a = (", "SET a = )", "SET a[", "SET a = :v,"]
    {
        let message = update_err(text, Json::Null, json!({":v": {"S": "x"}}));
        assert!(message.starts_with("Invalid UpdateExpression: Syntax error; "), "{text}: {message}");
    }
}
