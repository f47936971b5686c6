//! API Gateway mapping-template behaviour, table-driven from the examples of the Amazon API Gateway
//! developer guide. Each row names the guide page it comes from. Where the guide shows a
//! pretty-printed result (not the byte-exact output), the row compares the rendered text as JSON.

use stratus_vtl::Template;
use stratus_vtl::apigw::{self, Overrides, Params, Variables};

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

const PETS: &str = r#"{"pets":[{"id":1,"type":"dog","price":249.99},{"id":2,"type":"cat","price":124.99},{"id":3,"type":"fish","price":0.99}]}"#;
const PET_LIST: &str = r#"[{"id":1,"type":"dog","price":249.99},{"id":2,"type":"cat","price":124.99},{"id":3,"type":"fish","price":0.99}]"#;

fn vars(body: &str) -> Variables {
    Variables {
        body: body.to_string(),
        params: Params {
            path: pairs(&[("petId", "7")]),
            querystring: pairs(&[("name", "toys"), ("q", "a b")]),
            header: pairs(&[("Accept", "application/json"), ("header1", "h1"), ("header2", "h2")]),
        },
        context: serde_json::json!({
            "stage": "prod",
            "requestId": "abcdefg-000-000-0000-abcdefg",
            "apiId": "abcd1234",
            "resourcePath": "/",
            "resourceId": "efg567",
            "httpMethod": "GET",
            "identity": {
                "sourceIp": "192.0.2.1",
                "userAgent": "curl/7.84.0",
                "accountId": "111122223333",
                "apiKey": "MyTestKey",
                "caller": "ABCD-0000-12345",
                "user": "ABCD-0000-12345",
                "userArn": "arn:aws:sts::111122223333:assumed-role/Admin/carlos-salazar"
            }
        }),
        stage_variables: pairs(&[("url", "example.com"), ("version", "v2")]),
    }
}

fn run(template: &str, body: &str) -> (String, Overrides) {
    let t = Template::parse(template).unwrap_or_else(|e| panic!("parse {template:?}: {e}"));
    let mut ctx = vars(body).into_context();
    let out = t.render(&mut ctx).unwrap_or_else(|e| panic!("render {template:?}: {e}"));
    (out, apigw::overrides(&ctx))
}

enum Expect {
    Exact(&'static str),
    Json(&'static str),
}

struct Case {
    page: &'static str,
    template: &'static str,
    body: &'static str,
    expect: Expect,
}

const REFERENCE: &str = "Variables for data transformations for API Gateway";
const EXAMPLES: &str = "Examples using variables for mapping template transformations for API Gateway";
const MAPPING: &str = "Mapping template transformations for REST APIs in API Gateway";

fn cases() -> Vec<Case> {
    use Expect::*;
    vec![
        // Variables for data transformations: $input.json(x) returns the JSON string selected.
        Case {
            page: REFERENCE,
            template: "$input.json('$.pets')",
            body: PETS,
            expect: Exact(
                r#"[{"id":1,"type":"dog","price":249.99},{"id":2,"type":"cat","price":124.99},{"id":3,"type":"fish","price":0.99}]"#,
            ),
        },
        // Variables for data transformations: $input.path(x).size() on the pets payload is 3.
        Case { page: REFERENCE, template: "$input.path('$.pets').size()", body: PETS, expect: Exact("3") },
        // Variables for data transformations: the "name"/"body" parameter-and-payload template.
        Case {
            page: REFERENCE,
            template: "{\n    \"name\" : \"$input.params('name')\",\n    \"body\" : $input.json('$')\n}",
            body: r#"{"toys":["ball"],"price":25.00}"#,
            expect: Exact("{\n    \"name\" : \"toys\",\n    \"body\" : {\"toys\":[\"ball\"],\"price\":25.0}\n}"),
        },
        // Variables for data transformations: $util.parseJson on a stringified errorMessage.
        Case {
            page: REFERENCE,
            template: "#set ($errorMessageObj = $util.parseJson($input.path('$.errorMessage')))\n{\n   \"errorMessageObjKey2ArrVal\" : $errorMessageObj.key2.arr[0]\n}",
            body: r#"{"errorMessage":"{\"key1\":\"var1\",\"key2\":{\"arr\":[1,2,3]}}"}"#,
            expect: Exact("{\n   \"errorMessageObjKey2ArrVal\" : 1\n}"),
        },
        // Variables for data transformations: escapeJavaScript output, with the documented
        // replaceAll("\\'","'") to turn \' back into ' for JSON.
        Case {
            page: REFERENCE,
            template: "\"input\" : \"$util.escapeJavaScript($input.json('$')).replaceAll(\"\\\\'\",\"'\")\"",
            body: r#"{"s":"it's"}"#,
            expect: Exact(r#""input" : "{\"s\":\"it's\"}""#),
        },
        // Variables for data transformations: $input.params() exposes path/querystring/header maps.
        Case {
            page: REFERENCE,
            template: "$input.params().header.get('Accept') $input.params().querystring.q $input.params().path.petId $input.params('petId') $input.params('accept')",
            body: "",
            expect: Exact("application/json a b 7 7 application/json"),
        },
        // Variables for data transformations: $stageVariables.<name>.
        Case {
            page: REFERENCE,
            template: "https://$stageVariables.url/$stageVariables.version/${stageVariables.version}",
            body: "",
            expect: Exact("https://example.com/v2/v2"),
        },
        // Examples using variables ... Example 1: pass multiple $context variables.
        Case {
            page: EXAMPLES,
            template: r#"{
    "stage" : "$context.stage",
    "request_id" : "$context.requestId",
    "api_id" : "$context.apiId",
    "resource_path" : "$context.resourcePath",
    "resource_id" : "$context.resourceId",
    "http_method" : "$context.httpMethod",
    "source_ip" : "$context.identity.sourceIp",
    "user-agent" : "$context.identity.userAgent",
    "account_id" : "$context.identity.accountId",
    "api_key" : "$context.identity.apiKey",
    "caller" : "$context.identity.caller",
    "user" : "$context.identity.user",
    "user_arn" : "$context.identity.userArn"
}"#,
            body: "",
            expect: Json(
                r#"{"stage":"prod","request_id":"abcdefg-000-000-0000-abcdefg","api_id":"abcd1234","resource_path":"/",
                "resource_id":"efg567","http_method":"GET","source_ip":"192.0.2.1","user-agent":"curl/7.84.0",
                "account_id":"111122223333","api_key":"MyTestKey","caller":"ABCD-0000-12345","user":"ABCD-0000-12345",
                "user_arn":"arn:aws:sts::111122223333:assumed-role/Admin/carlos-salazar"}"#,
            ),
        },
        // Examples using variables ... Example 2: pass all request parameters as JSON.
        Case {
            page: EXAMPLES,
            template: r#"#set($allParams = $input.params())
{
  "params" : {
    #foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
    "$type" : {
      #foreach($paramName in $params.keySet())
      "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
      #if($foreach.hasNext),#end
      #end
    }
    #if($foreach.hasNext),#end
    #end
  }
}"#,
            body: "",
            expect: Json(
                r#"{"params":{"path":{"petId":"7"},"querystring":{"name":"toys","q":"a b"},
                "header":{"Accept":"application/json","header1":"h1","header2":"h2"}}}"#,
            ),
        },
        // Examples using variables ... JSONPath selection of a sub-document with $input.json.
        Case {
            page: EXAMPLES,
            template: "{\n  \"first\" : $input.json('$.pets[0]'),\n  \"types\" : $input.json('$.pets[*].type'),\n  \"prices\" : $input.json('$..price')\n}",
            body: PETS,
            expect: Exact(
                "{\n  \"first\" : {\"id\":1,\"type\":\"dog\",\"price\":249.99},\n  \"types\" : [\"dog\",\"cat\",\"fish\"],\n  \"prices\" : [249.99,124.99,0.99]\n}",
            ),
        },
        // Mapping template transformations: the PetStore integration-response template that
        // builds a JSON array with #foreach over $input.path('$').
        Case {
            page: MAPPING,
            template: r#"#set($inputRoot = $input.path('$'))
[
#foreach($elem in $inputRoot)
  {
    "description" : "Item $elem.id is a $elem.type.",
    "askingPrice" : $elem.price
  }#if($foreach.hasNext),#end

#end
]"#,
            body: PET_LIST,
            expect: Json(
                r#"[{"description":"Item 1 is a dog.","askingPrice":249.99},
                {"description":"Item 2 is a cat.","askingPrice":124.99},
                {"description":"Item 3 is a fish.","askingPrice":0.99}]"#,
            ),
        },
        // Same template, byte-exact under this crate's gobbling rule.
        Case {
            page: MAPPING,
            template: "#set($inputRoot = $input.path('$'))\n[\n#foreach($elem in $inputRoot)\n  {\"id\": $elem.id}#if($foreach.hasNext),#end\n#end\n]",
            body: PET_LIST,
            expect: Exact("[\n  {\"id\": 1},\n  {\"id\": 2},\n  {\"id\": 3}\n]"),
        },
        // Mapping template transformations: remapping a payload with $input.path properties.
        Case {
            page: MAPPING,
            template: "#set($inputRoot = $input.path('$'))\n{\n  \"count\": $inputRoot.pets.size(),\n  \"cheapest\": \"$inputRoot.pets[2].type\",\n  \"last\": \"$input.path('$.pets[-1].type')\"\n}",
            body: PETS,
            expect: Exact("{\n  \"count\": 3,\n  \"cheapest\": \"fish\",\n  \"last\": \"fish\"\n}"),
        },
    ]
}

#[test]
fn developer_guide_examples() {
    let mut failures = Vec::new();
    for case in cases() {
        let (out, _) = run(case.template, case.body);
        let ok = match &case.expect {
            Expect::Exact(e) => out == *e,
            Expect::Json(e) => {
                let want: serde_json::Value = serde_json::from_str(e).expect("expected is JSON");
                serde_json::from_str::<serde_json::Value>(&out).is_ok_and(|got| got == want)
            }
        };
        if !ok {
            failures.push(format!("[{}]\n{}\n--- got ---\n{}", case.page, case.template, out));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n=====\n"));
}

// "Override your API's request and response parameters and status codes for REST APIs in API
// Gateway", Example 1: override the status code based on the integration body.
#[test]
fn override_status_from_body() {
    let template = r#"#set($inputRoot = $input.path('$'))
$input.json("$")
#if($inputRoot.toString().contains("error"))
#set($context.responseOverride.status = 400)
#end"#;
    let body = r#"{"errors":[{"key":"GetPetRequest.petId","message":"The value is out of range."}]}"#;
    let (out, ov) = run(template, body);
    assert_eq!(out, format!("{body}\n"));
    assert_eq!(ov.status, Some(400));
    let (_, ov) = run(template, r#"{"id":1}"#);
    assert_eq!(ov.status, None);
}

// "Override your API's request and response parameters and status codes ...", Example 2:
// override request headers and create new ones from other parameters.
#[test]
fn override_request_and_response_headers() {
    let template = r#"#set($header3Value = "$input.params('header1')$input.params('header2')")
$input.json("$")
#set($context.requestOverride.header.header3 = $header3Value)
#set($context.requestOverride.header.header1 = "pets")
#set($context.requestOverride.querystring.q = "x")
#set($context.requestOverride.path.petId = "8")
#set($context.responseOverride.header.Content-Type = "text/plain")
#set($context.responseOverride.header.X-Count = 3)
#set($context.responseOverride.status = "201")"#;
    let (out, ov) = run(template, r#"{"a":1}"#);
    assert_eq!(out, "{\"a\":1}\n");
    assert_eq!(ov.request_headers, pairs(&[("header3", "h1h2"), ("header1", "pets")]));
    assert_eq!(ov.request_querystring, pairs(&[("q", "x")]));
    assert_eq!(ov.request_path, pairs(&[("petId", "8")]));
    assert_eq!(ov.headers, pairs(&[("Content-Type", "text/plain"), ("X-Count", "3")]));
    assert_eq!(ov.status, Some(201));
}

#[test]
fn util_functions() {
    let cases = [
        (r#"$util.escapeJavaScript('a"b''c\d/e')"#, r#"a\"b\'c\\d\/e"#),
        ("$util.escapeJavaScript($input.path('$.s'))", "line1\\nline2\\t\\u0001\\u00E9\\uD83D\\uDE00"),
        ("$util.urlEncode('a b&c=d/é*-._~')", "a+b%26c%3Dd%2F%C3%A9*-._%7E"),
        ("$util.urlDecode('a+b%26c%3Dd%2F%C3%A9')", "a b&c=d/é"),
        ("$util.base64Encode('hello world')", "aGVsbG8gd29ybGQ="),
        ("$util.base64Decode('aGVsbG8gd29ybGQ=') $util.base64Decode('aGk')", "hello world hi"),
        ("#set($o = $util.parseJson('{\"b\":2,\"a\":[true,null]}'))$o $o.a.size() $o.b", "{b=2, a=[true, null]} 2 2"),
    ];
    for (template, expected) in cases {
        let (out, _) = run(template, "{\"s\":\"line1\\nline2\\t\\u0001\u{e9}\u{1F600}\"}");
        assert_eq!(out, expected, "{template}");
    }
    let t = Template::parse("$util.parseJson('{bad')").expect("parses");
    assert!(t.render(&mut vars("").into_context()).is_err());
}

#[test]
fn input_edge_cases() {
    // Empty body behaves as {}.
    assert_eq!(run("$input.json('$')|$input.body|", "").0, "{}||");
    // Non-JSON body: $input.path('$') is the raw string, $input.json('$') the quoted string.
    let (out, _) = run("#set($raw = $input.path('$'))$raw.split('&').size() $input.json('$')", "a=1&b=2");
    assert_eq!(out, "2 \"a=1&b=2\"");
    // Missing paths: json gives "", path gives null (literal unless quiet).
    assert_eq!(run("[$input.json('$.nope')][$!input.path('$.nope')]", "{}").0, "[][]");
    assert_eq!(run("$input.path('$.nope')", "{}").0, "$input.path('$.nope')");
    // Missing parameter is the empty string, so the length() idiom works.
    assert_eq!(run("#set($l = $input.params('limit'))#if($l && $l.length() != 0)set#{else}unset#end", "").0, "unset");
    // $input.path results are fresh copies: mutating one does not change the body.
    let (out, _) = run("#set($r = $input.path('$'))#set($d = $r.put('x', 1))$input.json('$') $r", r#"{"a":2}"#);
    assert_eq!(out, r#"{"a":2} {a=2, x=1}"#);
    // Key order of the body is preserved; floats print as Java does.
    assert_eq!(
        run("$input.json('$') $input.path('$')", r#"{"z":1.50,"a":2.0,"m":1e3}"#).0,
        r#"{"z":1.5,"a":2.0,"m":1000.0} {z=1.5, a=2.0, m=1000.0}"#
    );
    // Wildcard with #foreach and bracket notation.
    assert_eq!(
        run("#foreach($t in $input.path('$.pets[*].type'))$t #end$input.path(\"$['pets'][1]['id']\")", PETS).0,
        "dog cat fish 2"
    );
}
