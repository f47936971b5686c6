#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ on the stable toolchain.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 60; the targets default to all of them (`cargo fuzz list`).
# Each target runs alone (one libFuzzer process), niced, for SECONDS_PER_TARGET seconds of
# fuzzing (build time not included), starting from fuzz/corpus/<target> after the seeds in
# fuzz/seeds/<target> are copied in. The corpus grows across runs (it is gitignored).
#
# Exits non-zero if any target found a crash (panic, sanitizer report, timeout, OOM or leak),
# after printing the artifact path and the command that reproduces it; a build failure also
# exits non-zero.
#
# Stable toolchain: cargo-fuzz 0.13 adds `-Zsanitizer=address` to RUSTFLAGS for the default
# sanitizer, which stable rustc refuses; with RUSTC_BOOTSTRAP=1 stable rustc 1.95 accepts it,
# and the AddressSanitizer build links and runs (our code and all dependencies are
# instrumented; the prebuilt std is not, exactly as on nightly without --build-std, which
# would need rust-src and nightly cargo). ASan is the default because it also reports leaks and
# out-of-bounds accesses in unsafe/C code (libFuzzer's own, any -sys crate), not only Rust
# panics. FUZZ_SANITIZER=none builds with sanitizer coverage only: every flag cargo-fuzz then
# passes (`-Cpasses=sancov-module`, `-Cllvm-args=...`, `--cfg fuzzing`) is a stable `-C` flag,
# so that mode needs no RUSTC_BOOTSTRAP and runs about 5x faster here (json_decode: ~68k vs
# ~12k execs/s), but catches panics only. Switching sanitizers rebuilds everything.
#
# Builds use --debug-assertions so arithmetic overflow and debug_assert! fail as panics.
# Environment: FUZZ_SANITIZER (address|none, default address), FUZZ_JOBS (cargo build jobs,
# default 1 so other builds on this 2-core machine are not starved), FUZZ_ARGS (extra
# libFuzzer flags).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
fi
shift || true

export CARGO_TARGET_DIR="$root/fuzz/target"
export CARGO_BUILD_JOBS="${FUZZ_JOBS:-1}"
sanitizer="${FUZZ_SANITIZER:-address}"
if [ "$sanitizer" != none ]; then
    export RUSTC_BOOTSTRAP=1
fi
# cargo-fuzz flags shared by build and run, so that `run` reuses the build.
fuzz_flags=(--fuzz-dir "$root/fuzz" --sanitizer "$sanitizer" --release --debug-assertions)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    nice -n 10 cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir "$root/fuzz")
fi

echo "==> building ${targets[*]} (sanitizer: $sanitizer)"
for t in "${targets[@]}"; do
    nice -n 10 cargo fuzz build "${fuzz_flags[@]}" "$t"
done

logs="$CARGO_TARGET_DIR/fuzz-logs"
mkdir -p "$logs"
failed=()
summary=()
for t in "${targets[@]}"; do
    corpus="$root/fuzz/corpus/$t"
    artifacts="$root/fuzz/artifacts/$t"
    mkdir -p "$corpus" "$artifacts"
    if [ -d "$root/fuzz/seeds/$t" ]; then
        cp -n "$root/fuzz/seeds/$t"/* "$corpus"/ 2>/dev/null || true
    fi
    libfuzzer_args=(-max_total_time="$seconds" -timeout=20 -print_final_stats=1)
    if [ -f "$root/fuzz/dicts/$t.dict" ]; then
        libfuzzer_args+=(-dict="$root/fuzz/dicts/$t.dict")
    fi
    # shellcheck disable=SC2206 # FUZZ_ARGS is a whitespace-separated list of flags.
    libfuzzer_args+=(${FUZZ_ARGS:-})

    stamp="$(mktemp)"
    log="$logs/$t.log"
    echo "==> fuzzing $t for ${seconds}s (log: $log)"
    status=0
    nice -n 10 cargo fuzz run "${fuzz_flags[@]}" "$t" "$corpus" -- "${libfuzzer_args[@]}" 2>&1 | tee "$log" ||
        status=$?
    found="$(find "$artifacts" -type f -newer "$stamp" | sort)"
    rm -f "$stamp"

    last="$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
    rate="$(grep -E 'stat::average_exec_per_sec' "$log" | awk '{print $2}' || true)"
    runs="$(grep -E 'stat::number_of_executed_units' "$log" | awk '{print $2}' || true)"
    summary+=("$t: ${runs:-?} runs, ${rate:-?} exec/s; last: ${last:-none}")
    if [ "$status" -ne 0 ] || [ -n "$found" ]; then
        failed+=("$t")
        echo "!!! $t failed (exit $status)" >&2
        for a in $found; do
            echo "!!! artifact: $a" >&2
            echo "!!!   reproduce: ${RUSTC_BOOTSTRAP:+RUSTC_BOOTSTRAP=1 }CARGO_TARGET_DIR=$CARGO_TARGET_DIR cargo fuzz run ${fuzz_flags[*]} $t $a" >&2
        done
    fi
done

echo "==> summary"
printf '    %s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "==> crashes in: ${failed[*]}" >&2
    exit 1
fi
echo "==> no crashes"
