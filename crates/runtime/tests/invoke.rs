//! Invokes real functions: zips built here, run by the runtime as OS processes speaking the
//! Lambda Runtime API. Assertions are on what AWS documents for each case.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use stratus_runtime::{Outcome, RuntimeError};

/// AWS's custom runtime tutorial, unchanged: a bash bootstrap using curl.
const TUTORIAL_BOOTSTRAP: &str = r#"#!/bin/bash
set -euo pipefail

# Initialization - load function handler
source $LAMBDA_TASK_ROOT/"$(echo $_HANDLER | cut -d. -f1).sh"

# Processing
while true
do
  HEADERS="$(mktemp)"
  # Get an event. The HTTP request will block until one is received
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")

  # Extract request ID by scraping response headers received above
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)

  # Run the handler function from the script
  RESPONSE=$($(echo "$_HANDLER" | cut -d. -f2) "$EVENT_DATA")

  # Send the response
  curl -sS "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response"  -d "$RESPONSE" > /dev/null
done
"#;

const TUTORIAL_FUNCTION: &str = r#"function handler () {
  EVENT_DATA=$1
  echo "$EVENT_DATA" 1>&2;
  RESPONSE="Echoing request: '$EVENT_DATA'"

  echo $RESPONSE
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_bootstrap_from_the_aws_tutorial() {
    let fx = fixture();
    let code = zip_files(&[("bootstrap", TUTORIAL_BOOTSTRAP), ("function.sh", TUTORIAL_FUNCTION)]);
    let spec = spec("provided.al2023", "function.handler", code);
    let first = fx.runtimes.invoke(&spec, invocation(&spec, r#"{"key1":"value1"}"#)).await.unwrap();
    assert_eq!(first.outcome, Outcome::Success(r#"Echoing request: '{"key1":"value1"}'"#.into()), "{}", first.log_tail);
    assert!(first.init_duration.is_some(), "a cold start reports its init");
    assert!(first.log_tail.contains("Init Duration:"), "{}", first.log_tail);
    // The function's stderr is in the log, between START and END.
    let start = first.log_tail.find("START RequestId:").unwrap();
    let echo = first.log_tail.find(r#"{"key1":"value1"}"#).unwrap();
    let end = first.log_tail.find("END RequestId:").unwrap();
    assert!(start < echo && echo < end, "{}", first.log_tail);

    let second = fx.runtimes.invoke(&spec, invocation(&spec, r#""again""#)).await.unwrap();
    assert_eq!(second.outcome, Outcome::Success(r#"Echoing request: '"again"'"#.into()));
    assert!(second.init_duration.is_none(), "the second invoke is warm");
    assert!(!second.log_tail.contains("Init Duration"), "{}", second.log_tail);
    assert_eq!(first.log_stream, second.log_stream, "one environment, one stream");
    assert_eq!(fx.runtimes.environment_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_reach_the_sink_with_start_end_report() {
    let fx = fixture();
    let code =
        zip_files(&[("app.py", "def handler(event, context):\n    print('hello from the handler')\n    return 1\n")]);
    let spec = spec("python3.12", "app.handler", code);
    let inv = invocation(&spec, "{}");
    let id = inv.request_id.clone();
    let r = fx.runtimes.invoke(&spec, inv).await.unwrap();
    assert_eq!(r.outcome, Outcome::Success("1".into()));
    // The sink is fed from its own thread: wait for the REPORT line.
    let deadline = Instant::now() + Duration::from_secs(5);
    let lines = loop {
        let lines = fx.sink.messages(&r.log_stream);
        if lines.iter().any(|l| l.starts_with("REPORT")) || Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let events = fx.sink.events.lock().unwrap().clone();
    assert!(events.iter().all(|e| e.0 == spec.log_group), "every event goes to the function's group");
    let pos = |prefix: &str| {
        lines.iter().position(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix} in {lines:#?}"))
    };
    assert_eq!(lines[pos("START")], format!("START RequestId: {id} Version: $LATEST"));
    assert_eq!(lines[pos("END")], format!("END RequestId: {id}"));
    let hello = pos("hello from the handler");
    assert!(pos("START") < hello && hello < pos("END") && pos("END") < pos("REPORT"), "{lines:#?}");
    let report = &lines[pos("REPORT")];
    let fields: Vec<&str> = report.split('\t').collect();
    assert_eq!(fields[0], format!("REPORT RequestId: {id}"));
    assert!(fields[1].starts_with("Duration: ") && fields[1].ends_with(" ms"), "{report}");
    assert!(fields[2].starts_with("Billed Duration: ") && fields[2].ends_with(" ms"), "{report}");
    assert_eq!(fields[3], "Memory Size: 128 MB");
    assert!(fields[4].starts_with("Max Memory Used: ") && fields[4].ends_with(" MB"), "{report}");
    assert!(fields[5].starts_with("Init Duration: ") && fields[5].ends_with(" ms"), "{report}");
    assert!(r.max_memory_mb > 0, "memory used is measured");
    // The stream name is Lambda's: date/[version]32 hex.
    let (date, rest) = r.log_stream.split_at(11);
    assert_eq!(date.len(), 11);
    assert!(rest.starts_with("[$LATEST]") && rest.len() == "[$LATEST]".len() + 32, "{}", r.log_stream);
}

const PYTHON_APP: &str = r#"
import os, sys, tempfile, time

def handler(event, context):
    print("event:", event)
    names = ["_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_LAMBDA_RUNTIME_API",
             "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
             "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_EXECUTION_ENV", "AWS_REGION",
             "MY_VARIABLE", "TZ", "LANG", "PATH", "LD_LIBRARY_PATH", "TMPDIR", "HOME", "CARGO_MANIFEST_DIR",
             "_X_AMZN_TRACE_ID"]
    with tempfile.NamedTemporaryFile() as f:
        tmp = os.path.dirname(f.name)
    return {
        "pid": os.getpid(),
        "event": event,
        "cwd": os.getcwd(),
        "tmp": tmp,
        "env": {k: os.environ.get(k) for k in names},
        "context": {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
            "client_context_custom": context.client_context.custom if context.client_context else None,
            "identity_id": context.identity.cognito_identity_id,
        },
    }

class MyError(Exception):
    pass

def fail(event, context):
    raise MyError("boom " + str(event.get("n")))

def big(event, context):
    return "x" * (7 * 1024 * 1024)

def slow(event, context):
    time.sleep(event.get("sleep", 1))
    return os.getpid()

def hog(event, context):
    blocks = []
    for _ in range(64):
        blocks.append(bytearray(16 * 1024 * 1024))
    return len(blocks)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_handler_sees_context_and_environment() {
    let fx = fixture();
    let spec = spec("python3.12", "app.handler", zip_files(&[("app.py", PYTHON_APP)]));
    let mut inv = invocation(&spec, r#"{"hello":"world"}"#);
    inv.client_context = Some(r#"{"custom":{"k":"v"},"env":{},"client":{}}"#.into());
    inv.cognito_identity = Some(r#"{"cognitoIdentityId":"us-east-1:abc","cognitoIdentityPoolId":"pool"}"#.into());
    inv.trace_id = Some("Root=1-5e1b4151-5ac6c58f5b5dbd6a3c4a1cbd;Parent=0123456789abcdef;Sampled=1".into());
    let request_id = inv.request_id.clone();
    let r = fx.runtimes.invoke(&spec, inv).await.unwrap();
    let v = success_json(&r);
    assert_eq!(v["event"], serde_json::json!({"hello": "world"}));
    let c = &v["context"];
    assert_eq!(c["aws_request_id"], request_id.as_str());
    assert_eq!(c["function_name"], spec.function_name.as_str());
    assert_eq!(c["function_version"], "$LATEST");
    assert_eq!(c["invoked_function_arn"], spec.invoked_arn_base.as_str());
    assert_eq!(c["memory_limit_in_mb"], "128");
    assert_eq!(c["log_group_name"], spec.log_group.as_str());
    assert_eq!(c["log_stream_name"], r.log_stream.as_str());
    let remaining = c["remaining"].as_u64().unwrap();
    assert!(remaining > 3_000 && remaining <= 5_000, "remaining {remaining}");
    assert_eq!(c["client_context_custom"], serde_json::json!({"k": "v"}));
    assert_eq!(c["identity_id"], "us-east-1:abc");

    let env = &v["env"];
    let task_root = env["LAMBDA_TASK_ROOT"].as_str().unwrap();
    assert_eq!(v["cwd"], task_root, "the function runs in its task root");
    assert_eq!(env["_HANDLER"], "app.handler");
    assert!(env["AWS_LAMBDA_RUNTIME_API"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], spec.function_name.as_str());
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], spec.log_group.as_str());
    assert_eq!(env["AWS_LAMBDA_LOG_STREAM_NAME"], r.log_stream.as_str());
    assert_eq!(env["AWS_EXECUTION_ENV"], "AWS_Lambda_python3.12");
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["MY_VARIABLE"], "my value");
    assert_eq!(env["TZ"], ":UTC");
    assert_eq!(env["LANG"], "en_US.UTF-8");
    assert_eq!(env["_X_AMZN_TRACE_ID"], "Root=1-5e1b4151-5ac6c58f5b5dbd6a3c4a1cbd;Parent=0123456789abcdef;Sampled=1");
    let tmpdir = env["TMPDIR"].as_str().unwrap();
    assert_eq!(v["tmp"], tmpdir, "tempfile uses the environment's private directory");
    // In the sandbox (root, mount namespaces) it is the private /tmp; otherwise a host directory.
    assert!(tmpdir == "/tmp" || tmpdir.starts_with(fx.dir.to_str().unwrap()), "{tmpdir}");
    assert!(env["PATH"].as_str().unwrap().ends_with("/opt/bin"), "{}", env["PATH"]);
    assert!(env["LD_LIBRARY_PATH"].as_str().unwrap().ends_with("/opt/lib"));
    // Nothing of the server's own environment leaks in.
    assert_eq!(env["HOME"], serde_json::Value::Null);
    assert_eq!(env["CARGO_MANIFEST_DIR"], serde_json::Value::Null);
    assert!(r.log_tail.contains("event: {'hello': 'world'}"), "{}", r.log_tail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_exception_is_reported_like_aws() {
    let fx = fixture();
    let spec = spec("python3.12", "app.fail", zip_files(&[("app.py", PYTHON_APP)]));
    let inv = invocation(&spec, r#"{"n": 7}"#);
    let id = inv.request_id.clone();
    let r = fx.runtimes.invoke(&spec, inv).await.unwrap();
    let (error_type, v) = error_json(&r);
    assert_eq!(error_type, "MyError");
    assert_eq!(v["errorType"], "MyError");
    assert_eq!(v["errorMessage"], "boom 7");
    assert_eq!(v["requestId"], id.as_str());
    let trace = v["stackTrace"].as_array().unwrap();
    assert!(!trace.is_empty() && trace.iter().all(|l| l.is_string()));
    assert!(
        trace.iter().any(|l| l.as_str().unwrap().contains("app.py") && l.as_str().unwrap().contains("in fail")),
        "{trace:?}"
    );
    assert!(
        !trace.iter().any(|l| l.as_str().unwrap().contains("bootstrap.py")),
        "runtime frames are hidden: {trace:?}"
    );
    assert!(r.log_tail.contains("[ERROR] MyError: boom 7"), "{}", r.log_tail);
    // A handled error does not cost the environment.
    let again = fx.runtimes.invoke(&spec, invocation(&spec, r#"{"n": 8}"#)).await.unwrap();
    assert!(again.init_duration.is_none(), "the environment survives a function error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_import_errors_are_init_errors() {
    let fx = fixture();
    let code = zip_files(&[("app.py", PYTHON_APP), ("broken.py", "import no_such_module_here\n")]);
    let cases = [
        ("missing.handler", "Runtime.ImportModuleError", "Unable to import module 'missing'"),
        ("broken.handler", "Runtime.ImportModuleError", "No module named 'no_such_module_here'"),
        ("app.nope", "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'"),
        ("nodots", "Runtime.MalformedHandlerName", "Bad handler 'nodots'"),
    ];
    for (handler, want_type, want_message) in cases {
        let spec = spec("python3.11", handler, code.clone());
        let r = fx.runtimes.invoke(&spec, invocation(&spec, "{}")).await.unwrap();
        let (error_type, v) = error_json(&r);
        assert_eq!(error_type, want_type, "{handler}: {v}");
        assert_eq!(v["errorType"], want_type);
        assert!(v["errorMessage"].as_str().unwrap().contains(want_message), "{handler}: {v}");
        assert!(r.log_tail.contains("INIT_REPORT"), "{}", r.log_tail);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_packages_in_subdirectories_load() {
    let fx = fixture();
    let code = zip_files(&[
        ("pkg/__init__.py", ""),
        ("pkg/sub/__init__.py", ""),
        ("pkg/sub/mod.py", "from pkg.sub import helper\ndef handler(e, c):\n    return helper.VALUE\n"),
        ("pkg/sub/helper.py", "VALUE = 'nested'\n"),
    ]);
    let spec = spec("python3.12", "pkg/sub/mod.handler", code);
    let r = fx.runtimes.invoke(&spec, invocation(&spec, "{}")).await.unwrap();
    assert_eq!(r.outcome, Outcome::Success(r#""nested""#.into()));
    let spec = spec_with_handler(&spec, "pkg.sub.mod.handler");
    let r = fx.runtimes.invoke(&spec, invocation(&spec, "{}")).await.unwrap();
    assert_eq!(r.outcome, Outcome::Success(r#""nested""#.into()));
}

fn spec_with_handler(s: &stratus_runtime::FunctionSpec, handler: &str) -> stratus_runtime::FunctionSpec {
    let mut s = s.clone();
    s.key = format!("{}-{handler}", s.key);
    s.handler = handler.to_string();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_environment_is_reused() {
    let fx = fixture();
    let spec = spec("python3.12", "app.handler", zip_files(&[("app.py", PYTHON_APP)]));
    let a = fx.runtimes.invoke(&spec, invocation(&spec, "{}")).await.unwrap();
    let b = fx.runtimes.invoke(&spec, invocation(&spec, "{}")).await.unwrap();
    assert_eq!(success_json(&a)["pid"], success_json(&b)["pid"], "same process for the same key");
    assert!(a.init_duration.is_some() && b.init_duration.is_none());
    // Another key (another version or code) never shares it.
    let other = spec_with_handler(&spec, "app.handler");
    let c = fx.runtimes.invoke(&other, invocation(&other, "{}")).await.unwrap();
    assert_ne!(success_json(&a)["pid"], success_json(&c)["pid"]);
    // Retired: the idle environment stops, the next invoke starts a new one.
    fx.runtimes.retire(&spec.key);
    let d = fx.runtimes.invoke(&spec, invocation(&spec, "{}")).await.unwrap();
    assert_ne!(success_json(&a)["pid"], success_json(&d)["pid"]);
    assert!(d.init_duration.is_some());
    let old_pid = success_json(&a)["pid"].as_u64().unwrap();
    wait_gone(old_pid).await;
}

async fn wait_gone(pid: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        // A zombie has no status other than Z; it is gone as far as the function goes.
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            && stat.split(") ").nth(1).is_some_and(|s| s.starts_with('Z'))
        {
            return;
        }
        assert!(Instant::now() < deadline, "process {pid} still runs");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_concurrency_throttles_and_scales_out_otherwise() {
    let fx = fixture();
    let mut limited = spec("python3.12", "app.slow", zip_files(&[("app.py", PYTHON_APP)]));
    limited.max_concurrency = Some(1);
    let rt = &fx.runtimes;
    let first = rt.invoke(&limited, invocation(&limited, r#"{"sleep": 1}"#));
    let second = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        rt.invoke(&limited, invocation(&limited, r#"{"sleep": 0}"#)).await
    };
    let (first, second) = tokio::join!(first, second);
    assert!(matches!(first.unwrap().outcome, Outcome::Success(_)));
    assert_eq!(second.unwrap_err(), RuntimeError::Throttled);
    // Once the first is done, its environment takes the next event.
    let third = rt.invoke(&limited, invocation(&limited, r#"{"sleep": 0}"#)).await.unwrap();
    assert!(third.init_duration.is_none());

    let mut zero = limited.clone();
    zero.key.push_str("-zero");
    zero.max_concurrency = Some(0);
    assert_eq!(rt.invoke(&zero, invocation(&zero, "{}")).await.unwrap_err(), RuntimeError::Throttled);

    // Without a limit, overlapping events get their own environments.
    let mut open = limited.clone();
    open.key.push_str("-open");
    open.max_concurrency = None;
    let (a, b) = tokio::join!(
        rt.invoke(&open, invocation(&open, r#"{"sleep": 0.5}"#)),
        rt.invoke(&open, invocation(&open, r#"{"sleep": 0.5}"#))
    );
    let (a, b) = (success_json(&a.unwrap()), success_json(&b.unwrap()));
    assert_ne!(a, b, "two processes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_kills_the_process_group_and_reports() {
    let fx = fixture();
    let bootstrap = r#"#!/bin/bash
curl -sS -o /dev/null "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next"
echo "pid=$$"
sleep 30 &
echo "child=$!"
wait
"#;
    let mut spec = spec("provided.al2", "x", zip_files(&[("bootstrap", bootstrap)]));
    spec.timeout = Duration::from_secs(1);
    let inv = invocation(&spec, "{}");
    let id = inv.request_id.clone();
    let t = Instant::now();
    let r = fx.runtimes.invoke(&spec, inv).await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    let (error_type, v) = error_json(&r);
    assert_eq!(error_type, "Sandbox.Timedout");
    let message = v["errorMessage"].as_str().unwrap();
    assert!(message.ends_with(&format!("{id} Task timed out after 1.00 seconds")), "{message}");
    assert!(message.starts_with("20") && message.as_bytes()[10] == b'T', "starts with a timestamp: {message}");
    assert!(r.log_tail.contains(&format!("{id} Task timed out after 1.00 seconds")), "{}", r.log_tail);
    assert!(r.log_tail.contains("Status: timeout"), "{}", r.log_tail);
    assert_eq!(r.duration, Duration::from_secs(1));
    let pid_of = |tag: &str| -> u64 {
        let line = r.log_tail.lines().find(|l| l.starts_with(tag)).unwrap_or_else(|| panic!("{}", r.log_tail));
        line[tag.len()..].trim().parse().unwrap()
    };
    wait_gone(pid_of("pid=")).await;
    wait_gone(pid_of("child=")).await;
    // The next event gets a new environment.
    let r = fx.runtimes.invoke(&spec, invocation(&spec, "{}")).await.unwrap();
    assert!(r.init_duration.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashing_runtime_is_an_exit_error() {
    let fx = fixture();
    // Exits during init, before asking for an event.
    let spec1 = spec("provided.al2023", "x", zip_files(&[("bootstrap", "#!/bin/sh\necho starting\nexit 3\n")]));
    let r = fx.runtimes.invoke(&spec1, invocation(&spec1, "{}")).await.unwrap();
    let (error_type, v) = error_json(&r);
    assert_eq!(error_type, "Runtime.ExitError");
    assert!(v["errorMessage"].as_str().unwrap().ends_with("Error: Runtime exited with error: exit status 3"), "{v}");
    assert!(r.log_tail.contains("starting"), "{}", r.log_tail);

    // Exits while handling the event.
    let bootstrap = "#!/bin/sh\ncurl -sS -o /dev/null \"http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next\"\nexit 3\n";
    let spec2 = spec("provided.al2023", "x", zip_files(&[("bootstrap", bootstrap)]));
    let inv = invocation(&spec2, "{}");
    let id = inv.request_id.clone();
    let r = fx.runtimes.invoke(&spec2, inv).await.unwrap();
    let (error_type, v) = error_json(&r);
    assert_eq!(error_type, "Runtime.ExitError");
    assert_eq!(v["errorType"], "Runtime.ExitError");
    assert_eq!(v["errorMessage"], format!("RequestId: {id} Error: Runtime exited with error: exit status 3"));
    assert!(r.log_tail.contains("Runtime.ExitError"), "{}", r.log_tail);
    assert_eq!(fx.runtimes.environment_count(), 0, "a crashed environment is not kept");
    // And the next event starts afresh.
    let r = fx.runtimes.invoke(&spec2, invocation(&spec2, "{}")).await.unwrap();
    assert_eq!(error_json(&r).0, "Runtime.ExitError");
    assert!(r.init_duration.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_bootstrap_and_init_error_reports() {
    let fx = fixture();
    let spec1 = spec("provided.al2023", "x", zip_files(&[("README", "no bootstrap here")]));
    let r = fx.runtimes.invoke(&spec1, invocation(&spec1, "{}")).await.unwrap();
    let (error_type, v) = error_json(&r);
    assert_eq!(error_type, "Runtime.InvalidEntrypoint");
    assert!(v["errorMessage"].as_str().unwrap().contains("Couldn't find valid bootstrap(s)"), "{v}");

    // A custom runtime reporting its own init failure: its error type and body are what the
    // invoker gets.
    let bootstrap = r#"#!/bin/sh
curl -sS -o /dev/null -H "Lambda-Runtime-Function-Error-Type: Runtime.ConfigError" \
  -d '{"errorMessage":"missing DB_URL","errorType":"Runtime.ConfigError"}' \
  "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/init/error"
exit 1
"#;
    let spec2 = spec("provided.al2023", "x", zip_files(&[("bootstrap", bootstrap)]));
    let r = fx.runtimes.invoke(&spec2, invocation(&spec2, "{}")).await.unwrap();
    let (error_type, v) = error_json(&r);
    assert_eq!(error_type, "Runtime.ConfigError");
    assert_eq!(v["errorMessage"], "missing DB_URL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_api_answers_misuse_like_aws_and_survives_garbage() {
    let fx = fixture();
    // A custom runtime in Python that misbehaves before behaving, and reports what it saw.
    let bootstrap = format!(
        r#"#!{python}
import http.client, json, os, socket
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
seen = {{}}
def call(method, path, body=None, headers={{}}, chunked=False):
    c = http.client.HTTPConnection(host, int(port))
    c.request(method, "/2018-06-01/runtime" + path, body=body, headers=headers, encode_chunked=chunked)
    r = c.getresponse()
    return r.status, r.read(), r
# Garbage on the socket, then a response before any event.
s = socket.create_connection((host, int(port)))
s.sendall(b"\x00\x01 NOT HTTP AT ALL\r\n\r\n")
s.close()
seen["early_response"] = call("POST", "/invocation/nope/response", b"{{}}")[0]
seen["unknown_path"] = call("GET", "/nothing/here")[0]
status, body, r = call("GET", "/invocation/next")
rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
seen["deadline"] = int(r.getheader("Lambda-Runtime-Deadline-Ms"))
seen["arn"] = r.getheader("Lambda-Runtime-Invoked-Function-Arn")
seen["trace"] = r.getheader("Lambda-Runtime-Trace-Id")
seen["event"] = json.loads(body)
s, b, _ = call("POST", "/invocation/wrong-id/response", b"{{}}")
seen["wrong_id"] = [s, json.loads(b)]
s, b, _ = call("POST", "/init/error", b"{{}}")
seen["late_init_error"] = [s, json.loads(b)["errorType"]]
# The real answer, sent chunked.
def chunks():
    yield json.dumps(seen).encode()
s, b, _ = call("POST", "/invocation/%s/response" % rid, chunks(), {{"Transfer-Encoding": "chunked"}}, True)
s2, b2, _ = call("POST", "/invocation/%s/response" % rid, b"{{}}")
print("answered", s, b.decode(), "again", s2, flush=True)
status, body, r = call("GET", "/invocation/next")
rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
call("POST", "/invocation/%s/response" % rid, b"\"second\"")
call("GET", "/invocation/next")
"#,
        python = host_python()
    );
    let spec = spec("provided.al2023", "x", zip_files(&[("bootstrap", &bootstrap)]));
    let r = fx.runtimes.invoke(&spec, invocation(&spec, r#"{"a":1}"#)).await.unwrap();
    let v = success_json(&r);
    assert_eq!(v["early_response"], 403, "a response before any event is a state error");
    assert_eq!(v["unknown_path"], 404);
    assert_eq!(
        v["wrong_id"],
        serde_json::json!([400, {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}])
    );
    assert_eq!(v["late_init_error"], serde_json::json!([403, "InvalidStateTransition"]));
    assert_eq!(v["event"], serde_json::json!({"a": 1}));
    assert_eq!(v["arn"], spec.invoked_arn_base.as_str());
    assert!(v["trace"].as_str().unwrap().starts_with("Root=1-"), "a trace header is always passed");
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let deadline = v["deadline"].as_i64().unwrap();
    assert!(deadline > now_ms && deadline <= now_ms + 5_000, "deadline {deadline} now {now_ms}");
    let r2 = fx.runtimes.invoke(&spec, invocation(&spec, "{}")).await.unwrap();
    assert_eq!(r2.outcome, Outcome::Success(r#""second""#.into()));
    // What the runtime printed after its answers: accepted once, refused the second time.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines = fx.sink.messages(&r.log_stream);
        if lines.iter().any(|l| l == r#"answered 202 {"status":"OK"} again 400"#) {
            break;
        }
        assert!(Instant::now() < deadline, "{lines:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_response_is_refused_and_the_environment_lives_on() {
    let fx = fixture();
    let spec = spec("python3.12", "app.big", zip_files(&[("app.py", PYTHON_APP)]));
    let r = fx.runtimes.invoke(&spec, invocation(&spec, "{}")).await.unwrap();
    let (error_type, v) = error_json(&r);
    assert_eq!(error_type, "Function.ResponseSizeTooLarge");
    assert_eq!(v["errorMessage"], "Response payload size exceeded maximum allowed payload size (6291556 bytes).");
    let again = fx.runtimes.invoke(&spec, invocation(&spec, "{}")).await.unwrap();
    assert_eq!(error_json(&again).0, "Function.ResponseSizeTooLarge");
    assert!(again.init_duration.is_none(), "the environment serves the next event");
    // The Node runtime client too.
    let node = common::spec("nodejs20.x", "index.big", zip_files(&[("index.js", NODE_APP)]));
    for _ in 0..2 {
        let r = fx.runtimes.invoke(&node, invocation(&node, "{}")).await.unwrap();
        assert_eq!(error_json(&r).0, "Function.ResponseSizeTooLarge");
    }
    let r = fx.runtimes.invoke(&node, invocation(&node, "{}")).await.unwrap();
    assert!(r.init_duration.is_none(), "the Node environment serves the next event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_size_is_enforced() {
    let fx = fixture();
    let spec = spec("python3.12", "app.hog", zip_files(&[("app.py", PYTHON_APP)]));
    let r = fx.runtimes.invoke(&spec, invocation(&spec, "{}")).await.unwrap();
    let (error_type, _) = error_json(&r);
    let expected = match fx.runtimes.memory_enforcement().as_str() {
        "rlimit" => "MemoryError",
        _ => "Runtime.OutOfMemory",
    };
    assert_eq!(error_type, expected, "{} enforcement\n{}", fx.runtimes.memory_enforcement(), r.log_tail);
    println!("memory enforcement: {}, max memory used {} MB", fx.runtimes.memory_enforcement(), r.max_memory_mb);
}

const NODE_APP: &str = r#"
exports.handler = async (event, context) => {
  console.log('event', JSON.stringify(event));
  return {
    pid: process.pid,
    event,
    awsRequestId: context.awsRequestId,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    logGroupName: context.logGroupName,
    logStreamName: context.logStreamName,
    remaining: context.getRemainingTimeInMillis(),
    waits: context.callbackWaitsForEmptyEventLoop,
    env: { region: process.env.AWS_REGION, exec: process.env.AWS_EXECUTION_ENV, handler: process.env._HANDLER },
  };
};

exports.callback = (event, context, callback) => {
  setTimeout(() => console.log('timer after the callback'), 100);
  callback(null, { viaCallback: true });
};

exports.callbackError = (event, context, callback) => {
  callback(new Error('callback failed'));
};

exports.boom = async () => {
  throw new TypeError('bad thing');
};

exports.nested = { inner: { fn: async () => 'deep' } };
exports.big = async () => 'x'.repeat(7 * 1024 * 1024);
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_handlers_async_callback_and_errors() {
    let fx = fixture();
    let code = zip_files(&[
        ("index.js", NODE_APP),
        ("esm/app.mjs", "export const handler = async (event) => ({ esm: true, got: event.x });\n"),
        ("esmpkg/package.json", r#"{"type":"module"}"#),
        ("esmpkg/app.js", "import { sep } from 'node:path';\nexport const handler = async () => `esm .js ${sep}`;\n"),
    ]);
    let base = spec("nodejs20.x", "index.handler", code);
    let inv = invocation(&base, r#"{"x":1}"#);
    let id = inv.request_id.clone();
    let r = fx.runtimes.invoke(&base, inv).await.unwrap();
    let v = success_json(&r);
    assert_eq!(v["event"], serde_json::json!({"x": 1}));
    assert_eq!(v["awsRequestId"], id.as_str());
    assert_eq!(v["functionName"], base.function_name.as_str());
    assert_eq!(v["functionVersion"], "$LATEST");
    assert_eq!(v["invokedFunctionArn"], base.invoked_arn_base.as_str());
    assert_eq!(v["memoryLimitInMB"], "128");
    assert_eq!(v["logGroupName"], base.log_group.as_str());
    assert_eq!(v["logStreamName"], r.log_stream.as_str());
    assert_eq!(v["waits"], true);
    assert!(v["remaining"].as_u64().unwrap() > 3_000);
    assert_eq!(
        v["env"],
        serde_json::json!({"region": "us-east-1", "exec": "AWS_Lambda_nodejs20.x", "handler": "index.handler"})
    );
    // console.log lines carry timestamp, request id and level.
    let line = r.log_tail.lines().find(|l| l.contains("event {\"x\":1}")).unwrap_or_else(|| panic!("{}", r.log_tail));
    let parts: Vec<&str> = line.split('\t').collect();
    assert_eq!(&parts[1..], &[id.as_str(), "INFO", "event {\"x\":1}"], "{line}");

    // Warm: same process.
    let r2 = fx.runtimes.invoke(&base, invocation(&base, "{}")).await.unwrap();
    assert_eq!(success_json(&r2)["pid"], v["pid"]);

    // A callback handler answers when its event loop is empty.
    let cb = spec_with_handler(&base, "index.callback");
    let r = fx.runtimes.invoke(&cb, invocation(&cb, "{}")).await.unwrap();
    assert_eq!(success_json(&r), serde_json::json!({"viaCallback": true}));
    let timer = r.log_tail.find("timer after the callback").unwrap_or_else(|| panic!("{}", r.log_tail));
    assert!(timer < r.log_tail.find("END RequestId").unwrap());
    assert!(r.duration >= Duration::from_millis(100), "{:?}", r.duration);

    let e = spec_with_handler(&base, "index.callbackError");
    let r = fx.runtimes.invoke(&e, invocation(&e, "{}")).await.unwrap();
    let (t, v) = error_json(&r);
    assert_eq!((t.as_str(), v["errorMessage"].as_str()), ("Error", Some("callback failed")));

    let boom = spec_with_handler(&base, "index.boom");
    let r = fx.runtimes.invoke(&boom, invocation(&boom, "{}")).await.unwrap();
    let (t, v) = error_json(&r);
    assert_eq!(t, "TypeError");
    assert_eq!(v["errorType"], "TypeError");
    assert_eq!(v["errorMessage"], "bad thing");
    let trace = v["trace"].as_array().unwrap();
    assert_eq!(trace[0], "TypeError: bad thing");
    assert!(trace.iter().any(|l| l.as_str().unwrap().contains("index.js")), "{trace:?}");
    assert!(r.log_tail.contains("\tERROR\tInvoke Error"), "{}", r.log_tail);

    let nested = spec_with_handler(&base, "index.nested.inner.fn");
    let r = fx.runtimes.invoke(&nested, invocation(&nested, "{}")).await.unwrap();
    assert_eq!(r.outcome, Outcome::Success(r#""deep""#.into()));

    let esm = spec_with_handler(&base, "esm/app.handler");
    let r = fx.runtimes.invoke(&esm, invocation(&esm, r#"{"x":2}"#)).await.unwrap();
    assert_eq!(success_json(&r), serde_json::json!({"esm": true, "got": 2}));

    let esm = spec_with_handler(&base, "esmpkg/app.handler");
    let r = fx.runtimes.invoke(&esm, invocation(&esm, "{}")).await.unwrap();
    assert_eq!(r.outcome, Outcome::Success(r#""esm .js /""#.into()), "{}", r.log_tail);

    for (handler, want) in [
        ("missing.handler", "Runtime.ImportModuleError"),
        ("index.nothing", "Runtime.HandlerNotFound"),
        ("index", "Runtime.MalformedHandlerName"),
    ] {
        let s = spec_with_handler(&base, handler);
        let r = fx.runtimes.invoke(&s, invocation(&s, "{}")).await.unwrap();
        let (t, v) = error_json(&r);
        assert_eq!(t, want, "{handler}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layers_are_visible_in_order() {
    let fx = fixture();
    let layer1 = zip_modes(&[
        ("bin/layer-tool", 0o755, "#!/bin/sh\necho tool from layer 1\n"),
        ("python/layermod.py", 0o644, "VALUE = 'layer 1'\n"),
        ("data/only-in-1.txt", 0o644, "one"),
    ]);
    let layer2 = zip_modes(&[("python/layermod.py", 0o644, "VALUE = 'layer 2'\n")]);
    let app = r#"
import os, subprocess, layermod
def handler(event, context):
    opt = os.environ["PATH"].split(":")[-1][:-len("/bin")]
    return {
        "module": layermod.VALUE,
        "tool": subprocess.check_output(["layer-tool"]).decode().strip(),
        "file": open(os.path.join(opt, "data", "only-in-1.txt")).read(),
    }
"#;
    let mut spec = spec("python3.12", "app.handler", zip_files(&[("app.py", app)]));
    spec.layers = vec![
        ("arn:aws:lambda:us-east-1:000000000000:layer:one:1".into(), layer1),
        ("arn:aws:lambda:us-east-1:000000000000:layer:two:1".into(), layer2),
    ];
    let r = fx.runtimes.invoke(&spec, invocation(&spec, "{}")).await.unwrap();
    assert_eq!(success_json(&r), serde_json::json!({"module": "layer 2", "tool": "tool from layer 1", "file": "one"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_environments_are_reaped_and_runtimes_are_checked() {
    let fx = fixture_with(|c| c.idle_timeout = Duration::from_millis(200));
    let spec = spec("python3.12", "app.handler", zip_files(&[("app.py", PYTHON_APP)]));
    let r = fx.runtimes.invoke(&spec, invocation(&spec, "{}")).await.unwrap();
    let pid = success_json(&r)["pid"].as_u64().unwrap();
    assert_eq!(fx.runtimes.environment_count(), 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while fx.runtimes.environment_count() > 0 {
        assert!(Instant::now() < deadline, "the idle environment was not reaped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_gone(pid).await;

    assert_eq!(fx.runtimes.check_runtime("python3.12"), Ok(()));
    assert_eq!(fx.runtimes.check_runtime("nodejs20.x"), Ok(()));
    assert_eq!(fx.runtimes.check_runtime("provided.al2023"), Ok(()));
    assert!(matches!(fx.runtimes.check_runtime("java21"), Err(RuntimeError::UnsupportedRuntime(_))));
    let missing = fixture_with(|c| c.node = Some("/nonexistent/node".into()));
    assert!(matches!(missing.runtimes.check_runtime("nodejs22.x"), Err(RuntimeError::MissingInterpreter(_))));
    let s = common::spec("nodejs22.x", "index.handler", zip_files(&[("index.js", NODE_APP)]));
    assert!(matches!(
        missing.runtimes.invoke(&s, invocation(&s, "{}")).await,
        Err(RuntimeError::MissingInterpreter(_))
    ));

    assert!(matches!(stratus_runtime::Runtimes::check_code(b"PK\x03\x04garbage"), Err(RuntimeError::InvalidCode(_))));
    assert_eq!(stratus_runtime::Runtimes::check_code(&zip_files(&[("a.py", "")])), Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_kills_busy_environments() {
    let fx = fixture();
    let spec = spec("python3.12", "app.slow", zip_files(&[("app.py", PYTHON_APP)]));
    let rt = &fx.runtimes;
    let busy = rt.invoke(&spec, invocation(&spec, r#"{"sleep": 30}"#));
    let stop = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        rt.shutdown().await;
    };
    let t = Instant::now();
    let (r, ()) = tokio::join!(busy, stop);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(error_json(&r.unwrap()).0, "Runtime.ExitError");
    assert_eq!(rt.environment_count(), 0);
    assert!(rt.invoke(&spec, invocation(&spec, "{}")).await.is_err());
}
