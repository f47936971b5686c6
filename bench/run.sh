#!/usr/bin/env bash
# One command for the whole benchmark; see bench/README.md. Options go to run.py
# (e.g. bench/run.sh --duration 10, bench/run.sh --servers moto --no-build).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/run.py "$@"
