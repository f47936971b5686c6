//! Garbage in, no panic out: deterministic pseudo-random templates built from VTL fragments and
//! raw bytes must parse-or-error and render-or-error without panicking or hanging.

use stratus_vtl::apigw::{Params, Variables};
use stratus_vtl::{Template, Value};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const FRAGMENTS: &[&str] = &[
    "$",
    "$!",
    "${",
    "}",
    "#",
    "#set(",
    "$x",
    " = ",
    "1",
    "'s'",
    "\"q$x\"",
    ")",
    "#if(",
    "#elseif(",
    "#else",
    "#end",
    "#foreach(",
    " in ",
    "[1..3]",
    "#break",
    "#stop",
    "#macro(m $a)",
    "#m(",
    "#define($d)",
    "#evaluate(",
    "##",
    "#*",
    "*#",
    "#[[",
    "]]#",
    "\\",
    "\n",
    " ",
    "(",
    "[",
    "]",
    "{",
    "'k': ",
    ",",
    ".",
    ".size()",
    ".get(0)",
    "[0]",
    "+",
    "-",
    "*",
    "/",
    "%",
    "==",
    "!",
    "&&",
    "||",
    " and ",
    "null",
    "true",
    "2.5",
    "$input.json('$",
    "$input.path('$.a[*]')",
    "$util.escapeJavaScript(",
    "$util.parseJson('{",
    "$context.responseOverride.status",
    "\"",
    "'",
    ".replaceAll('(a|b)*",
    "c', 'x')",
    ".split('",
    "$foreach.hasNext",
    "é",
    "\u{1F600}",
    "$x.put('k', $x)",
    "$l.add($l)",
];

fn vars() -> Variables {
    Variables {
        body: r#"{"a":[1,{"b":"c"},[2]],"s":"x\"y"}"#.into(),
        params: Params {
            path: vec![("id".into(), "7".into())],
            querystring: vec![("q".into(), "a b".into())],
            header: vec![("Host".into(), "h".into())],
        },
        context: serde_json::json!({"stage": "dev"}),
        stage_variables: vec![("v".into(), "1".into())],
    }
}

#[test]
fn garbage_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    let rounds: usize = std::env::var("VTL_FUZZ_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3000);
    for round in 0..rounds {
        let mut src = String::new();
        let pieces = 1 + rng.below(24);
        for _ in 0..pieces {
            if round % 3 == 0 && rng.below(4) == 0 {
                // raw bytes, lossily decoded
                let bytes: Vec<u8> = (0..1 + rng.below(6)).map(|_| rng.next() as u8).collect();
                src.push_str(&String::from_utf8_lossy(&bytes));
            } else {
                src.push_str(FRAGMENTS[rng.below(FRAGMENTS.len())]);
            }
        }
        if let Ok(t) = Template::parse(&src) {
            parsed += 1;
            let mut ctx = vars().into_context();
            ctx.set("x", Value::map([("k", Value::Int(1))]));
            ctx.set("l", Value::list(vec![Value::Int(1)]));
            let _ = t.render(&mut ctx);
        }
    }
    eprintln!("fuzz: {rounds} rounds, {parsed} parsed");
    assert!(parsed > 100, "the generator should produce some valid templates ({parsed})");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for src in [
        "#set($a = ".to_string() + &"(".repeat(10_000) + "1" + &")".repeat(10_000) + ")",
        "#set($a = ".to_string() + &"[".repeat(10_000),
        "#set($a = ".to_string() + &"!".repeat(10_000) + "true)",
        "#if(true)".repeat(5_000) + &"#end".repeat(5_000),
        "$a.b(".repeat(5_000),
        "#set($a = \"".to_string() + &"$a.b(\"".repeat(3_000),
    ] {
        if let Ok(t) = Template::parse(&src) {
            let _ = t.render(&mut vars().into_context());
        }
    }
    let mut v = vars();
    v.body = "[".repeat(100_000);
    let _ = Template::parse("$input.json('$') $input.path('$')").map(|t| t.render(&mut v.into_context()));
}
