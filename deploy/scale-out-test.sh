#!/usr/bin/env bash
# Scale-out test, on this machine only: two gcm-oracle replicas on loopback ports behind a real
# nginx as the load balancer. Shows that
#   1. requests reach both replicas,
#   2. with one replica killed in the middle of a bounded load from concurrent clients, the rest
#      keeps succeeding once nginx has marked it down (prints how many requests failed and when),
#   3. a response from either replica decrypts on the other (no shared state is needed).
# Installs nginx (Debian package) if missing. Loopback only, bounded in time, cleans up.
# Ends with "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${GCM_ORACLE_BIN:-${CARGO_TARGET_DIR:-target}/release/gcm-oracle}"
LOAD_REQUESTS="${LOAD_REQUESTS:-400}"
KILL_AFTER="${KILL_AFTER:-130}"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v nginx >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root apt-get install -y -qq nginx
fi
for tool in curl jq; do
    command -v "$tool" >/dev/null 2>&1 || { as_root apt-get update -qq; as_root apt-get install -y -qq "$tool"; }
done
[ -x "$BIN" ] || cargo build --release --locked

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

passed=0 failed=0
check() { # check WHAT STATUS [DETAIL]
    if [ "$2" -eq 0 ]; then
        echo "PASS: $1"; passed=$((passed + 1))
    else
        echo "FAIL: $1${3:+ ($3)}"; failed=$((failed + 1))
    fi
}

# One development CA and leaf for both replicas and nginx.
"$BIN" gen-cert --cert-dir "$work/certs" 2>/dev/null
CA="$work/certs/dev-ca.pem"

# Starts a replica on a free loopback port; sets REPLICA_PID and REPLICA_PORT.
start_replica() {
    local name=$1
    "$BIN" serve --bind 127.0.0.1:0 --cert "$work/certs/dev-cert.pem" --key "$work/certs/dev-key.pem" \
        --log-format json 2>"$work/$name.log" &
    REPLICA_PID=$!
    pids+=("$REPLICA_PID")
    REPLICA_PORT=""
    for _ in $(seq 1 300); do
        REPLICA_PORT="$(grep -o 'listening on https://127.0.0.1:[0-9]*' "$work/$name.log" | grep -o '[0-9]*$' || true)"
        [ -n "$REPLICA_PORT" ] && return 0
        sleep 0.1
    done
    echo "replica $name did not start:" >&2
    cat "$work/$name.log" >&2
    exit 1
}
start_replica one; PORT_ONE=$REPLICA_PORT
start_replica two; PID_TWO=$REPLICA_PID; PORT_TWO=$REPLICA_PORT
echo "replicas on 127.0.0.1:$PORT_ONE and 127.0.0.1:$PORT_TWO"

# A free port for nginx.
LB_PORT=""
for port in $(seq 20443 20999); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        LB_PORT=$port
        break
    fi
done
[ -n "$LB_PORT" ] || { echo "no free port for nginx" >&2; exit 1; }

mkdir -p "$work/nginx/logs"
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root;"
cat >"$work/nginx/nginx.conf" <<CONF
$user_line
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 256; }
http {
    access_log $work/nginx/logs/access.log;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    client_max_body_size 8m;
    upstream gcm_oracle {
        server 127.0.0.1:$PORT_ONE max_fails=1 fail_timeout=10s;
        server 127.0.0.1:$PORT_TWO max_fails=1 fail_timeout=10s;
    }
    server {
        listen 127.0.0.1:$LB_PORT ssl;
        ssl_certificate $work/certs/dev-cert.pem;
        ssl_certificate_key $work/certs/dev-key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {
            proxy_pass https://gcm_oracle;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate $CA;
            proxy_ssl_name localhost;
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
            proxy_next_upstream_tries 2;
            proxy_connect_timeout 2s;
            proxy_read_timeout 10s;
        }
    }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=("$!")
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$LB_PORT") 2>/dev/null && break
    sleep 0.1
done
LB="https://127.0.0.1:$LB_PORT"
echo "nginx on $LB"

post() { # post URL BODY -> body on stdout; status in $STATUS
    local out
    out="$(curl -sS --max-time 5 --cacert "$CA" -H 'Content-Type: application/json' \
        --data-binary "$2" -w '\n%{http_code}' "$1" 2>/dev/null || printf '\n000')"
    STATUS="${out##*$'\n'}"
    BODY="${out%$'\n'*}"
}
served_by() { # served_by PORT -> how many encryptions that replica answered
    curl -sS --max-time 5 --cacert "$CA" "https://127.0.0.1:$1/metrics" \
        | awk -F' ' '/^gcm_oracle_http_requests_total\{route="\/oracleinvocation",status="200"\}/ {print $2}'
}

# 1. Requests reach both replicas.
ok=0
for i in $(seq 1 40); do
    post "$LB/oracleinvocation/" "$(jq -nc --arg d "warm-up $i" '{data: $d}')"
    [ "$STATUS" = 200 ] && ok=$((ok + 1))
    [ "$i" = 1 ] && ENVELOPE="$BODY"
done
check "40 requests through nginx all succeed" $((ok == 40 ? 0 : 1)) "$ok succeeded"
one="$(served_by "$PORT_ONE")"; two="$(served_by "$PORT_TWO")"
echo "served: replica one ${one:-0}, replica two ${two:-0}"
check "requests reached both replicas" $(( ${one:-0} > 0 && ${two:-0} > 0 ? 0 : 1 )) "one=${one:-0} two=${two:-0}"

# 3 (first half). Either replica decrypts what came through nginx.
for port in "$PORT_ONE" "$PORT_TWO"; do
    post "https://127.0.0.1:$port/decrypt/" "$ENVELOPE"
    check "replica on port $port decrypts a response served through nginx" \
        "$([ "$STATUS" = 200 ] && [ "$(jq -r .data <<<"$BODY")" = "warm-up 1" ] && echo 0 || echo 1)" "status $STATUS"
done

# 2. A bounded load from WORKERS concurrent clients; replica two is killed once KILL_AFTER
# requests have been answered, so other requests are in flight when it dies.
WORKERS="${WORKERS:-4}"
start=$(date +%s%N)
load_worker() { # load_worker N: requests N, N+WORKERS, ... ; one "index ms status" line each
    local w=$1 i out
    for ((i = w; i <= LOAD_REQUESTS; i += WORKERS)); do
        out="$(curl -sS --max-time 5 --cacert "$CA" -H 'Content-Type: application/json' \
            --data-binary "{\"data\":\"load $i\"}" -w '\n%{http_code}' "$LB/oracleinvocation/" 2>/dev/null \
            || printf '\n000')"
        echo "$i $(( ($(date +%s%N) - start) / 1000000 )) ${out##*$'\n'}" >>"$work/load.$w"
        [ "$i" = "$LOAD_REQUESTS" ] && printf '%s' "${out%$'\n'*}" >"$work/last.json"
    done
}
workers=()
for w in $(seq 1 "$WORKERS"); do
    : >"$work/load.$w"
    load_worker "$w" &
    workers+=("$!")
    pids+=("$!")
done
kill_at=""
deadline=$((SECONDS + 120))
while [ -z "$kill_at" ] && [ "$SECONDS" -lt "$deadline" ]; do
    if [ "$(cat "$work"/load.* | wc -l)" -ge "$KILL_AFTER" ]; then
        kill -KILL "$PID_TWO"
        kill_at=$(( ($(date +%s%N) - start) / 1000000 ))
        echo "killed replica two (port $PORT_TWO) at ${kill_at} ms, with requests in flight"
    fi
    sleep 0.02
done
for pid in "${workers[@]}"; do wait "$pid" || true; done
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
sort -n "$work"/load.* >"$work/load"
mapfile -t failures < <(awk '$3 != 200 {print "request " $1 " at " $2 " ms: status " $3}' "$work/load")
answered=$(wc -l <"$work/load")
echo "load: $answered requests from $WORKERS clients in ${elapsed} ms, ${#failures[@]} failed"
for failure in "${failures[@]}"; do echo "  $failure"; done
check "every request of the load was made" $((answered == LOAD_REQUESTS ? 0 : 1)) "$answered made"
# nginx retries a request whose replica died on the other one, so no failure is expected; at
# most the requests in flight at the moment of the kill may fail.
check "at most $WORKERS requests fail when a replica dies mid-load" $(( ${#failures[@]} <= WORKERS ? 0 : 1 )) "${#failures[@]} failed"
late=$(awk -v t="${kill_at:-0}" '$3 != 200 && $2 > t + 1000' "$work/load" | wc -l)
check "every request more than 1 s after the kill succeeds" $((late == 0 ? 0 : 1)) "$late late failures"
LAST="$(cat "$work/last.json")"

# 3 (second half). The survivor decrypts what was served during the load.
post "https://127.0.0.1:$PORT_ONE/decrypt/" "$LAST"
check "the surviving replica decrypts a response from the load" \
    "$([ "$STATUS" = 200 ] && [ "$(jq -r .data <<<"$BODY")" = "load $LOAD_REQUESTS" ] && echo 0 || echo 1)" "status $STATUS"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
