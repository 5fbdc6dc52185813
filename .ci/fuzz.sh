#!/usr/bin/env bash
# Fuzzes every cargo-fuzz target (fuzz/fuzz_targets/) for a bounded time, starting from the
# committed corpus (fuzz/corpus/<target>/). Any crash, property violation, timeout or
# out-of-memory fails the run, and the input that caused it is printed and kept.
#
#   bash .ci/fuzz.sh [seconds-per-target]     (default 60)
#
# Needs a nightly toolchain (`rustup toolchain install nightly`); installs cargo-fuzz if
# missing. The run never writes to the repository: libFuzzer works on a copy of the corpus, and
# crash inputs go under the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
targets=(encrypt_request decrypt_request envelope batch stream)
build_dir="${CARGO_TARGET_DIR:-$PWD/target}"
# The fuzz crate's own build directory: sanitizer builds share nothing with the main crate's.
fuzz_target_dir="${CARGO_TARGET_DIR:+$CARGO_TARGET_DIR/fuzz}"
fuzz_target_dir="${fuzz_target_dir:-$PWD/fuzz/target}"
findings="$build_dir/fuzz-findings"

step() { printf '\n==> %s\n' "$*"; }

step "fuzz tools"
if ! cargo fuzz --version >/dev/null 2>&1; then
    if [ ! -x "$build_dir/ci-tools/bin/cargo-fuzz" ]; then
        cargo install --locked --quiet cargo-fuzz --root "$build_dir/ci-tools"
    fi
    export PATH="$build_dir/ci-tools/bin:$PATH"
fi
cargo fuzz --version
if ! cargo +nightly --version; then
    echo "cargo-fuzz needs a nightly toolchain: rustup toolchain install nightly" >&2
    exit 1
fi
# cargo fuzz has no --locked: check here that fuzz/Cargo.lock needs no change.
cargo +nightly metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

step "build the fuzz targets (AddressSanitizer, debug assertions)"
# Debug assertions make arithmetic overflow a crash instead of a wrapped length.
if ! cargo +nightly fuzz build --debug-assertions --target-dir "$fuzz_target_dir" \
    >"$work/build.log" 2>&1; then
    tail -n 60 "$work/build.log" >&2
    exit 1
fi

status=0
for target in "${targets[@]}"; do
    step "fuzz $target for ${seconds} s"
    seeds="fuzz/corpus/$target"
    if [ -z "$(ls -A "$seeds" 2>/dev/null)" ]; then
        echo "$seeds is missing or empty" >&2
        status=1
        continue
    fi
    # New inputs go to a copy; the committed corpus is only read.
    mkdir -p "$work/corpus/$target"
    cp -R "$seeds/." "$work/corpus/$target/"
    rm -rf "${findings:?}/$target"
    mkdir -p "$findings/$target"
    # -timeout: one input running 10 s is a hang. -max_len: 64 KiB is room for any request
    # shape; bigger bodies only repeat the same code. -rss_limit_mb: 2 GiB is far above what
    # any input here should take, and keeps a leak from taking the machine down.
    if cargo +nightly fuzz run --debug-assertions --target-dir "$fuzz_target_dir" \
        "$target" "$work/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -max_len=65536 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$findings/$target/" \
        >"$work/$target.log" 2>&1; then
        # The last status line (`#N DONE cov: … ft: … corp: … exec/s: …`) and the totals.
        grep -E '^#[0-9]+[[:space:]]+DONE' "$work/$target.log" | tail -n 1 || true
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb):' \
            "$work/$target.log" || true
    else
        status=1
        echo "fuzz target $target failed; the end of its log:" >&2
        tail -n 80 "$work/$target.log" >&2
        # The stack trace can push the reason out of the tail: repeat it last.
        echo "--- why:" >&2
        grep -E -A 2 'panicked at|ERROR: (libFuzzer|AddressSanitizer)' "$work/$target.log" \
            | head -n 12 >&2 || true
        for input in "$findings/$target"/*; do
            [ -f "$input" ] || continue
            echo "--- $input ($(wc -c <"$input") bytes), first 1 KiB:" >&2
            head -c 1024 "$input" | od -A d -c >&2
        done
        echo "reproduce with: cargo +nightly fuzz run $target <input above>" >&2
    fi
done

if [ "$status" -ne 0 ]; then
    echo "fuzzing found failures; inputs kept under $findings" >&2
fi
exit "$status"
