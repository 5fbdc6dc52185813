#!/usr/bin/env bash
# Hostile clients against a real server on loopback: slow clients (slowloris), HTTP/2 abuse
# (empty DATA floods, rapid reset, oversized header lists, CONTINUATION floods) and a soak of
# 1,000,000 requests. Each check gets a fresh server on 127.0.0.1:0 with its own certificates.
#
#   bash .ci/hostile.sh path/to/gcm-oracle path/to/python
#
# The python needs the packages in .ci/requirements.txt (the `h2` package's hpack and
# hyperframe). h2load (Debian's nghttp2-client) is installed if missing. Every process started
# here is stopped on exit; a check fails if its script fails, if the server dies, or if the
# server logs a panic. About three minutes on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -ne 2 ]; then
    echo "usage: bash .ci/hostile.sh path/to/gcm-oracle path/to/python" >&2
    exit 2
fi
bin="$(realpath "$1")"
python="$2"
[ -x "$bin" ] || { echo "not an executable: $bin" >&2; exit 2; }

step() { printf '\n==> %s\n' "$*"; }
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v h2load >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root apt-get install -y -qq nghttp2-client
fi
h2load --version | head -n 1
"$python" -c 'import h2, hpack, hyperframe; print("h2", h2.__version__, "hpack", hpack.__version__, "hyperframe", hyperframe.__version__)'

# 1,200 slow connections at once, plus the clients: the server and the scripts need the
# descriptors (inherited by every process started below).
ulimit -n "$(ulimit -Hn)"
echo "open files: $(ulimit -n)"

work="$(mktemp -d)"
server_pid=""
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$server_pid" 2>/dev/null || true
    fi
    if [ -n "$server_pid" ]; then
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT

url=""
# start_server NAME [ENV=VALUE...] -- [FLAGS...]: a fresh server; sets url and server_pid.
start_server() {
    local name="$1"
    shift
    local env=()
    while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
        env+=("$1")
        shift
    done
    shift
    mkdir -p "$work/$name"
    env "${env[@]}" "$bin" serve --bind 127.0.0.1:0 --cert-dir "$work/$name/certs" "$@" \
        >"$work/$name/server.log" 2>&1 &
    server_pid=$!
    url=""
    for _ in $(seq 1 600); do
        url="$(grep -o 'listening on https://[^ ]*' "$work/$name/server.log" | head -n 1 | sed 's/^listening on //' || true)"
        [ -n "$url" ] && break
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "server exited early:" >&2
            cat "$work/$name/server.log" >&2
            return 1
        fi
        sleep 0.1
    done
    if [ -z "$url" ]; then
        echo "server did not report its address within 60 s:" >&2
        cat "$work/$name/server.log" >&2
        return 1
    fi
    echo "server $server_pid at $url ($*)"
}

failed=()
# finish_check NAME STATUS: the script's status, then the server's health and log.
finish_check() {
    local name="$1" status="$2" log="$work/$1/server.log"
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "FAIL: $name: the server process died" >&2
        status=1
    fi
    if grep -q 'panicked at' "$log"; then
        echo "FAIL: $name: the server logged a panic:" >&2
        grep -A 2 'panicked at' "$log" | head -n 20 >&2
        status=1
    fi
    stop_server
    echo "server log ($name), warnings and errors:"
    grep -E '\b(WARN|ERROR)\b' "$log" | grep -v 'gcm_oracle::access' | sed -E 's/^[^ ]+Z +//' | sort | uniq -c | sort -rn | head -n 10 || true
    if [ "$status" -ne 0 ]; then
        failed+=("$name")
    fi
    return 0
}

started=$SECONDS

step "slow clients: 1,000 header dribblers + 200 stalled bodies, ordinary requests alongside"
# The default request timeout (5 s) and the same for bodies: short enough for CI, long enough
# that the attacker keeps 1,200 connections open at once on two cores.
start_server slow -- --request-timeout 5s --body-timeout 5s
status=0
"$python" tests/hostile/slow_clients.py --url "$url" --cacert "$work/slow/certs/dev-ca.pem" --pid "$server_pid" \
    --request-timeout 5s --body-timeout 5s --slack 2 || status=$?
finish_check slow "$status"

step "HTTP/2 abuse: empty DATA floods, rapid reset, header lists, CONTINUATION floods"
# MIMALLOC_PURGE_DELAY=0: freed pages go back to the OS at once, so RSS follows live memory and
# one attack's leftovers cannot hide the next one's growth (the default delays that return).
start_server h2 MIMALLOC_PURGE_DELAY=0 -- --request-timeout 5s --body-timeout 5s
status=0
"$python" tests/hostile/h2_abuse.py --url "$url" --cacert "$work/h2/certs/dev-ca.pem" --pid "$server_pid" \
    --body-timeout 5 --log "$work/h2/server.log" || status=$?
finish_check h2 "$status"

step "soak: 1,000,000 requests at a steady 20,000/s over HTTP/2"
start_server soak --
status=0
"$python" tests/hostile/soak.py --url "$url" --cacert "$work/soak/certs/dev-ca.pem" --pid "$server_pid" \
    --requests 1000000 --rate 20000 || status=$?
finish_check soak "$status"

echo
echo "hostile checks took $((SECONDS - started)) s"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "all hostile checks passed"
