//! Echoes the event with the invocation context, for tests/test_lambda_rust.py.
//! An event with `"fail": true` returns an error, which lambda_runtime reports through
//! `POST /runtime/invocation/{id}/error`. `marker` is the text of `marker.txt` beside the
//! binary, if the package has one: the test changes it with UpdateFunctionCode.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    if payload.get("fail").and_then(Value::as_bool) == Some(true) {
        return Err("asked to fail".into());
    }
    let env = |name: &str| std::env::var(name).ok();
    let marker = env("LAMBDA_TASK_ROOT")
        .and_then(|root| std::fs::read_to_string(std::path::Path::new(&root).join("marker.txt")).ok());
    Ok(json!({
        "event": payload,
        "request_id": context.request_id,
        "function_arn": context.invoked_function_arn,
        "deadline_ms": context.deadline,
        "memory": env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
        "function_name": env("AWS_LAMBDA_FUNCTION_NAME"),
        "version": env("AWS_LAMBDA_FUNCTION_VERSION"),
        "greeting": env("GREETING"),
        "marker": marker,
        "pid": std::process::id(),
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
