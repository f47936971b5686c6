#!/usr/bin/env python3
"""Checks the crate dependency rules of ARCHITECTURE.md with `cargo metadata`.

- the protocol layer knows no service and no storage;
- the storage interface depends on no backend;
- a service depends on no other service, no storage backend, not on the function runtime and
  not on the binary;
- the function runtime knows no AWS service.
"""
import json
import subprocess
import sys

SERVICES = {"stratus-sqs", "stratus-lambda", "stratus-logs", "stratus-sns", "stratus-s3", "stratus-iam-api", "stratus-dynamodb", "stratus-kinesis", "stratus-apigateway", "stratus-apigatewayv2", "stratus-elbv2", "stratus-codecommit"}
# Runs function code; only the binary joins it to the Lambda API (through lambda::Executor).
RUNTIME = "stratus-runtime"
BACKENDS = {"stratus-storage-sqlite"}

meta = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--no-deps", "--locked"]))
deps = {p["name"]: {d["name"] for d in p["dependencies"] if d.get("kind") in (None, "normal")} for p in meta["packages"]}
ours = {n for n in deps if n.startswith("stratus")}

rules = []
for name, ds in deps.items():
    mine = ds & ours
    if name == "stratus-proto":
        rules += [(name, d) for d in mine - {"stratus-core"}]
    if name == "stratus-storage":
        rules += [(name, d) for d in mine & (BACKENDS | SERVICES)]
    if name in SERVICES:
        rules += [(name, d) for d in mine & (SERVICES | BACKENDS | {"stratus", RUNTIME})]
    if name == RUNTIME:
        rules += [(name, d) for d in mine - {"stratus-core"}]
for crate in SERVICES | BACKENDS | {"stratus-proto", "stratus-storage"}:
    if crate not in deps:
        rules.append((crate, "(missing from the workspace: update scripts/check-deps.py)"))

if rules:
    for a, b in rules:
        print(f"dependency rule broken: {a} -> {b}")
    sys.exit(1)
print(f"crate dependency rules hold ({len(ours)} crates)")
