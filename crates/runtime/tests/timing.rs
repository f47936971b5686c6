//! Cold-start and warm-invoke latency per runtime, printed, never asserted (STYLE.md rule 9).
//!
//! `cargo test -p stratus-runtime --release --test timing -- --ignored --nocapture`
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use stratus_runtime::{FunctionSpec, Outcome};

/// A minimal custom runtime in C: one keep-alive connection (TCP_NODELAY, as HTTP clients
/// set it), echoes the event.
const C_BOOTSTRAP: &str = r#"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int fd;
static char buf[1 << 20];

static void die(const char *m) { perror(m); exit(1); }

static void send_all(const char *p, size_t n) {
    while (n) { ssize_t w = write(fd, p, n); if (w <= 0) die("write"); p += w; n -= w; }
}

/* Reads one response; returns body length, body at *body, request id into rid. */
static size_t read_response(char **body, char *rid) {
    size_t have = 0; char *end = NULL;
    while (!(end = strstr(buf, "\r\n\r\n"))) {
        ssize_t r = read(fd, buf + have, sizeof buf - have - 1); if (r <= 0) die("read");
        have += r; buf[have] = 0;
    }
    size_t head = end + 4 - buf, len = 0;
    for (char *l = buf; l < end; l = strstr(l, "\r\n") + 2) {
        if (!strncasecmp(l, "content-length:", 15)) len = strtoul(l + 15, NULL, 10);
        if (rid && !strncasecmp(l, "lambda-runtime-aws-request-id:", 30)) {
            char *v = l + 30; while (*v == ' ') v++;
            size_t n = strcspn(v, "\r\n"); memcpy(rid, v, n); rid[n] = 0;
        }
    }
    while (have < head + len) {
        ssize_t r = read(fd, buf + have, sizeof buf - have - 1); if (r <= 0) die("read body");
        have += r;
    }
    *body = buf + head;
    return len;
}

int main(void) {
    char *api = getenv("AWS_LAMBDA_RUNTIME_API"), host[64], rid[128], req[512], *body;
    char *colon = strrchr(api, ':'); size_t hl = colon - api; memcpy(host, api, hl); host[hl] = 0;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(colon + 1)) };
    inet_pton(AF_INET, host, &a.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) die("connect");
    for (;;) {
        memset(buf, 0, 8192);
        int n = snprintf(req, sizeof req, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n", api);
        send_all(req, n);
        size_t len = read_response(&body, rid);
        char *event = malloc(len + 1); memcpy(event, body, len); event[len] = 0;
        n = snprintf(req, sizeof req, "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\n\r\n", rid, api, len);
        send_all(req, n); send_all(event, len); free(event);
        memset(buf, 0, 8192);
        read_response(&body, NULL);
    }
}
"#;

const SHELL_BOOTSTRAP: &str = r#"#!/bin/bash
while true; do
  HEADERS="$(mktemp)"
  EVENT=$(curl -sS -LD "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
  ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  rm -f "$HEADERS"
  curl -sS -o /dev/null "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$ID/response" -d "$EVENT"
done
"#;

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    format!("median {:7.2} ms  p90 {:7.2} ms  min {:7.2} ms  (n={})", ms(p(0.5)), ms(p(0.9)), ms(v[0]), v.len())
}

async fn measure(fx: &Fixture, label: &str, base: FunctionSpec, colds: usize, warms: usize) {
    let mut cold = Vec::new();
    let mut init = Vec::new();
    for i in 0..colds {
        let mut spec = base.clone();
        spec.key = format!("{}-cold{i}", base.key);
        let t = Instant::now();
        let r = fx.runtimes.invoke(&spec, invocation(&spec, r#"{"n":1}"#)).await.unwrap();
        cold.push(t.elapsed());
        assert!(matches!(r.outcome, Outcome::Success(_)), "{label}: {:?}\n{}", r.outcome, r.log_tail);
        init.push(r.init_duration.unwrap_or_default());
        fx.runtimes.retire(&spec.key);
    }
    let spec = base.clone();
    fx.runtimes.invoke(&spec, invocation(&spec, "{}")).await.unwrap();
    let mut warm = Vec::new();
    for _ in 0..warms {
        let t = Instant::now();
        let r = fx.runtimes.invoke(&spec, invocation(&spec, r#"{"n":1}"#)).await.unwrap();
        warm.push(t.elapsed());
        assert!(matches!(r.outcome, Outcome::Success(_)));
    }
    println!("{label:<22} cold (invoke→response) {}", stats(cold));
    println!("{label:<22}   of which init        {}", stats(init));
    println!("{label:<22} warm                   {}", stats(warm));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints timings; run with --ignored --nocapture"]
async fn cold_and_warm_latency() {
    let fx = fixture();
    println!("memory enforcement: {}", fx.runtimes.memory_enforcement());
    let (colds, warms) = (10, 200);

    let c_dir = fx.dir.join("c-build");
    std::fs::create_dir_all(&c_dir).unwrap();
    std::fs::write(c_dir.join("bootstrap.c"), C_BOOTSTRAP).unwrap();
    let built = std::process::Command::new("cc")
        .args(["-O2", "-o"])
        .arg(c_dir.join("bootstrap"))
        .arg(c_dir.join("bootstrap.c"))
        .status();
    if built.is_ok_and(|s| s.success()) {
        let binary = std::fs::read(c_dir.join("bootstrap")).unwrap();
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
        w.start_file("bootstrap", opts).unwrap();
        std::io::Write::write_all(&mut w, &binary).unwrap();
        let code = std::sync::Arc::new(w.finish().unwrap().into_inner());
        measure(&fx, "provided (C)", spec("provided.al2023", "x", code), colds, warms).await;
    } else {
        println!("provided (C): no C compiler, skipped");
    }

    let shell = zip_files(&[("bootstrap", SHELL_BOOTSTRAP)]);
    measure(&fx, "provided (bash+curl)", spec("provided.al2023", "x", shell), colds, warms / 4).await;

    let py = zip_files(&[("app.py", "def handler(event, context):\n    return event\n")]);
    measure(&fx, "python3.12", spec("python3.12", "app.handler", py), colds, warms).await;

    let node = zip_files(&[("index.js", "exports.handler = async (event) => event;\n")]);
    measure(&fx, "nodejs20.x", spec("nodejs20.x", "index.handler", node), colds, warms).await;
}
