//! Velocity language behaviour: references, directives, gobbling, escapes, arithmetic, methods.

use stratus_vtl::{Context, Error, Template, Value};

fn render_ctx(src: &str, ctx: &mut Context) -> Result<String, Error> {
    Template::parse(src)?.render(ctx)
}

fn base_ctx() -> Context {
    let mut ctx = Context::new();
    ctx.set("name", "World");
    ctx.set("s", "Hello, World");
    ctx.set("n", Value::Int(3));
    ctx.set("list", Value::list(vec![Value::Int(1), "two".into(), Value::Float(3.5)]));
    ctx.set("map", Value::map([("a", Value::Int(1)), ("b c", "x".into())]));
    ctx
}

#[test]
fn language_table() {
    let cases: &[(&str, &str)] = &[
        // references
        ("Hello $name!", "Hello World!"),
        ("Hello ${name}s", "Hello Worlds"),
        ("$missing|$!missing|${missing}|$!{missing}", "$missing||${missing}|"),
        ("$missing.prop $missing.call(1)", "$missing.prop $missing.call(1)"),
        ("$name.nope() $!name.nope()", "$name.nope() "),
        ("$map.a $map['b c'] $map.get('a') $map.size() $map.size", "1 x 1 2 2"),
        ("$list[1] $list.get(0) $list.size() $list", "two 1 3 [1, two, 3.5]"),
        ("$map", "{a=1, b c=x}"),
        ("a$ b $1 $.x #", "a$ b $1 $.x #"),
        ("$name.", "World."),
        ("email: $name@x.com", "email: World@x.com"),
        // escapes
        ("\\$name \\$missing \\\\$name", "$name \\$missing \\World"),
        ("\\#if(true)", "#if(true)"),
        // comments and unparsed content
        ("a## comment\nb", "ab"),
        ("a#* block\n comment *#b", "ab"),
        ("#[[$name #if(]]#", "$name #if("),
        // #set
        ("#set($a = 1)$a", "1"),
        ("#set( $a = \"v=$name\" )$a", "v=World"),
        ("#set($a = 'v=$name')$a", "v=$name"),
        ("#set($a = \"say \"\"hi\"\"\")$a", "say \"hi\""),
        ("#set($a = 1)#set($a = $missing)$a", "1"),
        ("#set($m = {})#set($m.k = 'v')#set($m['z'] = 2)$m", "{k=v, z=2}"),
        ("#set($m = {'a': 1})#set($d = $m.put('b', 2))$m $m.put('c', 3)", "{a=1, b=2} $m.put('c', 3)"),
        ("#set($l = [])#set($d = $l.add('x'))$l.add('y') $l", "true [x, y]"),
        ("#set($l = [1..3])$l #set($r = [3..1])$r", "[1, 2, 3] [3, 2, 1]"),
        ("#set($x = $n)#set($r = [1..$x])$r.size()", "3"),
        // arithmetic
        ("#set($a = 7 / 2)$a #set($b = 7 % 3)$b #set($c = 7 * 1.5)$c #set($d = -2 + 1)$d", "3 1 10.5 -1"),
        ("#set($a = 2.0)$a #set($b = 1.0 / 4)$b #set($c = 1 + 2 * 3)$c #set($d = (1 + 2) * 3)$d", "2.0 0.25 7 9"),
        ("#set($a = 'n' + 1)$a #set($b = 1 + 'n')$b", "n1 1n"),
        ("#set($a = 1)#set($a = 1 / 0)$a", "1"),
        ("#set($big = 10000000.0)$big #set($small = 0.0001)$small", "1.0E7 1.0E-4"),
        // conditions
        ("#if($n > 2)big#elseif($n > 1)mid#{else}small#end", "big"),
        ("#if($n < 2)big#elseif($n gt 1)mid#{else}small#end", "mid"),
        ("#if(1 == '1')eq#end #if($name != 'x' && !false)ok#end #if(not true or false)no#{else}yes#end", "eq ok yes"),
        ("#if($missing)t#{else}f#end #if('')t#{else}f#end #if(0)t#end #if(false)t#{else}f#end", "f t t f"),
        ("#if($n eq 3 and $n ge 3 and $n le 3 and $n ne 4 and $n lt 4)ok#end", "ok"),
        ("#{if}(true)yes#{end}", "yes"),
        // foreach
        ("#foreach($i in [1..3])$i#if($foreach.hasNext),#end#end", "1,2,3"),
        ("#foreach($i in $list)$velocityCount:$foreach.index:$foreach.count #end", "1:0:1 2:1:2 3:2:3 "),
        ("#foreach($i in [1, 2, 3])#if($foreach.first)F#end#if($foreach.last)L#end$i#end", "F12L3"),
        ("#foreach($i in [1..5])#if($i == 3)#break#end$i#end", "12"),
        ("#set($i = 'orig')#foreach($i in [1, 2])$i#end $i", "12 orig"),
        ("#foreach($v in $map)$v;#end", "1;x;"),
        ("#foreach($k in $map.keySet())$k=$map.get($k);#end", "a=1;b c=x;"),
        ("#foreach($e in $map.entrySet())$e.key=$e.value/$e.getKey();#end", "a=1/a;b c=x/b c;"),
        ("#foreach($x in $missing)never#end.", "."),
        ("#foreach($a in [1, 2])#foreach($b in ['x', 'y'])$a$b#end#end", "1x1y2x2y"),
        // macros, define, evaluate, stop
        ("#macro(greet $who $punct)Hi $who$punct#end#greet('Bob' '!') #greet($name, '?')", "Hi Bob! Hi World?"),
        ("#macro(twice $x)$x$x#end#twice(\"a$n\")", "a3a3"),
        ("#nosuchmacro('x') #nomacro", "#nosuchmacro('x') #nomacro"),
        ("#define($blk)hello $name#end$blk", "hello World"),
        ("#set($src = '#set($q = 5)q=$q')#evaluate($src)", "q=5"),
        ("a#stop b", "a"),
        ("#foreach($i in [1..3])$i#if($i == 2)#stop#end#end after", "12"),
        // strings
        (
            "$s.length() $s.toUpperCase() $s.toLowerCase() $s.substring(7) $s.substring(0, 5)",
            "12 HELLO, WORLD hello, world World Hello",
        ),
        (
            "$s.contains('World') $s.startsWith('He') $s.endsWith('x') $s.indexOf('o') $s.lastIndexOf('o')",
            "true true false 4 8",
        ),
        (
            "$s.replace('l', 'L') $s.replaceAll('[aeiou]', '_') $s.replaceFirst('l+', 'L') $s.charAt(1)",
            "HeLLo, WorLd H_ll_, W_rld HeLo, World e",
        ),
        (
            "$s.split(', ')[1] $s.split(',').size() $s.matches('H.*d') $s.matches('\\d+') ' x '",
            "World 2 true false ' x '",
        ),
        (
            "$s.equals('Hello, World') $s.equalsIgnoreCase('hello, world') $s.isEmpty() $s.concat('!') $s.trim()",
            "true true false Hello, World! Hello, World",
        ),
        ("#set($t = ' a b ')[$t.trim()] $t.length", "[a b] 5"),
        ("#set($x = 5)$x.toString() $x.intValue() #set($f = 2.7)$f.intValue()", "5 5 2"),
        // equality of containers and JSON-ish output
        ("#if([1, 2] == [1, 2])same#end #if({'a': 1} == {'a': 1})same#end", "same same"),
        ("#set($l = [1, $missing, 'x'])$l", "[1, null, x]"),
    ];
    let mut failures = Vec::new();
    for (src, expected) in cases {
        let mut ctx = base_ctx();
        match render_ctx(src, &mut ctx) {
            Ok(out) if out == *expected => {}
            other => failures.push(format!("{src:?}\n   expected {expected:?}\n   got      {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn gobbling_of_directive_only_lines() {
    let src = "<a>\n#set($xs = [1, 2])\n  #foreach($x in $xs)\n    <b>$x</b>\n  #end\n## a comment line\n</a>\n";
    assert_eq!(render_ctx(src, &mut Context::new()).expect("renders"), "<a>\n    <b>1</b>\n    <b>2</b>\n</a>\n");
    let src = "{\n  #if(true)\n  \"a\": 1#if(false),#end\n  #else\n  \"b\": 2\n  #end\n}";
    assert_eq!(render_ctx(src, &mut Context::new()).expect("renders"), "{\n  \"a\": 1\n}");
    // Text next to a directive keeps the line.
    let src = "x #set($a = 1)\ny";
    assert_eq!(render_ctx(src, &mut Context::new()).expect("renders"), "x \ny");
    // CRLF line ends are gobbled too.
    let src = "#set($a = 1)\r\n$a\r\n";
    assert_eq!(render_ctx(src, &mut Context::new()).expect("renders"), "1\r\n");
}

#[test]
fn context_reads_back_template_sets() {
    let mut ctx = Context::new();
    ctx.set("out", Value::map(Vec::<(String, Value)>::new()));
    render_ctx("#set($x = 42)#set($out.status = 'done')", &mut ctx).expect("renders");
    assert_eq!(ctx.get("x"), Some(&Value::Int(42)));
    let Some(Value::Map(m)) = ctx.get("out") else { panic!("out is a map") };
    assert_eq!(m.borrow().get("status"), Some(&Value::String("done".into())));
}

#[test]
fn parse_errors_carry_positions() {
    for (src, line) in [("#if(true)\nx", 1), ("ok\n  #set($a = )", 2), ("a\nb\n#end", 3), ("#foreach($x on $y)#end", 1)]
    {
        match Template::parse(src) {
            Err(Error::Parse { line: l, column, .. }) => {
                assert_eq!(l, line, "{src:?}");
                assert!(column >= 1);
            }
            other => panic!("{src:?}: expected parse error, got {other:?}"),
        }
    }
    let e = Template::parse("#if(").expect_err("error");
    assert!(e.to_string().contains("line 1"), "{e}");
}

#[test]
fn render_errors() {
    let e = render_ctx("\n  $s.substring(40)", &mut base_ctx()).expect_err("out of range");
    assert!(matches!(e, Error::Render { line: 2, column: 3, .. }), "{e:?}");
    assert!(render_ctx("$s.matches('(?=x)')", &mut base_ctx()).is_err());
}

#[test]
fn runaway_guards() {
    let mut ctx = Context::new();
    let e = render_ctx("#macro(r)#r()#end#r()", &mut ctx).expect_err("recursion");
    assert!(matches!(e, Error::Limit(_)), "{e:?}");
    let e = render_ctx("#set($s = 'xxxxxxxxxx')#foreach($i in [1..30])#set($s = \"$s$s\")#end", &mut ctx)
        .expect_err("size");
    assert!(matches!(e, Error::Limit(_)), "{e:?}");
    let e = render_ctx("#foreach($i in [1..2000])#foreach($j in [1..600])#end#end", &mut ctx).expect_err("loops");
    assert!(matches!(e, Error::Limit(_)), "{e:?}");
    let e = render_ctx("#set($r = [1..100000000])", &mut ctx).expect_err("range");
    assert!(matches!(e, Error::Limit(_)), "{e:?}");
    let e =
        render_ctx("#set($l = [])#set($d = $l.add($l))#foreach($i in [1..30])#set($d = $l.add($l))#end$l", &mut ctx);
    assert!(e.is_ok() || e.is_err(), "self-containing lists must not hang or overflow");
}

#[test]
fn template_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Template>();
}
