#!/usr/bin/env bash
# The whole test suite, as CI runs it. On a fresh machine it installs what the tests need first.
#   scripts/test.sh          everything
#   scripts/test.sh --quick  skip the tests marked slow
set -euo pipefail
cd "$(dirname "$0")/.."

PYTEST_ARGS=()
if [[ "${1:-}" == "--quick" ]]; then PYTEST_ARGS+=(-m "not slow"); fi

step() { printf '\n== %s\n' "$*"; }

step "python test dependencies"
python3 -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt

step "node test dependencies (the AWS SDK for JavaScript v3 as a client)"
npm ci --prefix tests/node --no-audit --no-fund --silent

step "vendored models match botocore"
python3 scripts/vendor-models.py --check

step "vendored Service Authorization Reference and AWS managed policies match their sources"
python3 scripts/vendor-authorization.py --check
python3 scripts/vendor-managed-policies.py --check

step "crate dependency rules"
python3 scripts/check-deps.py

step "format"
cargo fmt --all -- --check

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "unit, storage conformance and protocol tests"
cargo test --workspace --locked

step "release build"
cargo build --release --locked -p stratus

step "test functions (Rust lambda_runtime)"
# tests/test_lambda_rust.py deploys it; built here so pytest finds it ready (its build is then a no-op).
CARGO_TARGET_DIR=target/functions cargo build --release --locked --manifest-path tests/functions/rust-echo/Cargo.toml

step "end-to-end tests (real binary, boto3, aws CLI)"
python3 -m pytest tests -n 2 "${PYTEST_ARGS[@]}"
