#!/usr/bin/env bash
# Load benchmark of gcm-oracle on this machine, over real TLS on loopback.
#
#   bench/load.sh [--duration SECONDS] [--out FILE] [--cores N]
#
# Builds the release binary, writes development certificates once, then for each test starts
# the server on a free loopback port and drives it with standard load tools: h2load (Debian's
# nghttp2-client) for keep-alive HTTP/1.1 and HTTP/2 throughput and latency, wrk for new TLS
# connections (one request per connection), oha (crates.io) for latency at a fixed rate. It
# prints one table and writes the numbers as JSON (default bench/results/latest.json), which
# bench/chart.py turns into docs/benchmarks.svg. Every run is bounded (--duration, default 10 s,
# per test); the whole script takes about 20 x that, plus the build. Loopback only.
#
# Missing tools are installed: apt-get for h2load and wrk (needs root), cargo install for oha
# into target/bench-tools. The server gets the GLIBC_TUNABLES of .cargo/config.toml, as under
# `cargo run`; `GLIBC_TUNABLES= bench/load.sh` measures it without.
#
# nginx (Debian's nginx-light, installed if missing) runs beside the oracle as the stack's
# ceiling: the same certificate, a fixed JSON body the size of the oracle's 64-byte answer, an
# access log line per request, as many workers as the oracle. Both are pinned to the first
# --cores cores (default: half of them, at least one) and the load generators to the rest, and
# each test reports both servers' CPU per request and their ratio, in one run. New TLS
# connections are also measured with both servers under a CPU quota of half their cores (a
# cgroup, when this runs as root), so that the servers and not wrk set the rate.

set -euo pipefail

duration=10
out=bench/results/latest.json
cores=$(($(nproc) / 2))
((cores >= 1)) || cores=1
while (($#)); do
	case $1 in
	--duration)
		duration=$2
		shift 2
		;;
	--out)
		out=$2
		shift 2
		;;
	--cores)
		cores=$2
		shift 2
		;;
	-h | --help)
		awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
		exit 0
		;;
	*)
		echo "unknown argument: $1 (see --help)" >&2
		exit 2
		;;
	esac
done

cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
bin=$target/release/gcm-oracle

say() { printf '\n== %s\n' "$*" >&2; }

# --- tools --------------------------------------------------------------------
need_apt=()
command -v h2load >/dev/null || need_apt+=(nghttp2-client)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v curl >/dev/null || need_apt+=(curl)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need_apt+=(nginx-light)
if ((${#need_apt[@]})); then
	say "installing ${need_apt[*]}"
	sudo=()
	((EUID == 0)) || sudo=(sudo)
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
oha=$(command -v oha || echo "$target/bench-tools/bin/oha")
if [[ ! -x $oha ]]; then
	say "installing oha from crates.io (a few minutes, once)"
	cargo install --quiet --locked --root "$target/bench-tools" oha
fi

say "building the release binary"
cargo build --quiet --release --locked

work=$(mktemp -d)
server_pid=
# Stops whatever is still running (the oracle, nginx, and the one on_nginx swapped out) and
# removes what this run made; every step runs whatever the one before did.
cleanup() {
	local pid
	for pid in "$server_pid" "${nginx_pid:-}" "${swapped_pid:-}"; do
		if [[ -n $pid ]]; then
			kill "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
	if [[ -n ${cap_dir:-} ]]; then
		sleep 0.5
		rmdir "$cap_dir" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

"$bin" gen-cert --cert-dir "$work/certs" 2>/dev/null

# The server runs with the glibc tuning that `cargo run`, the image and the systemd unit give it
# (.cargo/config.toml says why); a GLIBC_TUNABLES set by the caller, even empty, wins.
tunables=${GLIBC_TUNABLES-$(python3 -c 'import tomllib; print(tomllib.load(open(".cargo/config.toml", "rb"))["env"]["GLIBC_TUNABLES"])')}
ca=$work/certs/dev-ca.pem

# Pinning: the servers on cores 0 .. N-1, the load generators on the others (all of them when
# the machine has no other).
total_cores=$(nproc)
((cores < total_cores)) || cores=$((total_cores > 1 ? total_cores - 1 : 1))
server_cpus=0-$((cores - 1))
load_cpus=$cores-$((total_cores - 1))
((cores < total_cores)) || load_cpus=$server_cpus
h2load_bin=$(type -P h2load)
wrk_bin=$(type -P wrk)
h2load() { taskset -c "$load_cpus" "$h2load_bin" "$@"; }
wrk() { taskset -c "$load_cpus" "$wrk_bin" "$@"; }

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server [FLAGS...]: starts the server on a fresh port; sets $port, $url, $server_pid and
# $startup_ms: from exec to the first answered /healthz, certificates already on disk (the
# poller runs before the server starts, so its own start-up is not counted).
start_server() {
	port=$(free_port)
	url=https://127.0.0.1:$port
	python3 bench/first_answer.py "$port" "$ca" >"$work/ready" &
	local poller=$! t0
	sleep 0.3
	t0=$(date +%s%N)
	GLIBC_TUNABLES=$tunables GCM_ORACLE_WORKERS=$cores taskset -c "$server_cpus" \
		"$bin" serve --bind "127.0.0.1:$port" --cert-dir "$work/certs" "$@" >"$work/server.log" 2>&1 &
	server_pid=$!
	if ! wait "$poller"; then
		cat "$work/server.log" >&2
		exit 1
	fi
	startup_ms=$((($(cat "$work/ready") - t0) / 1000000))
}

stop_server() {
	kill "$server_pid"
	wait "$server_pid" 2>/dev/null || true
	server_pid=
}

# The CPU time (user + system, clock ticks) of the server under test: the oracle's process, or
# nginx's master and workers.
server_cpu_ticks() {
	local pid total=0
	for pid in $server_pid $(pgrep -P "$server_pid" || true); do
		total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
	done
	echo "$total"
}
rss_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$server_pid/status"; }

# Request bodies: 64 bytes and 1 MiB of clear text.
python3 - "$work" <<'EOF'
import json, sys
for name, size in (("64", 64), ("1m", 1 << 20)):
    with open(f"{sys.argv[1]}/body-{name}.json", "w") as f:
        json.dump({"data": "a" * size}, f)
EOF

results=$work/results.jsonl
record() { printf '%s\n' "$1" >>"$results"; }

# h2load_run NAME PROTO(h1|h2) CLEAR_BYTES PATH [h2load args...]: one keep-alive run.
h2load_run() {
	local name=$1 proto=$2 bytes=$3 path=$4
	shift 4
	local flags=(-t 1 -D "$duration" --warm-up-time 2 --log-file "$work/$name.log")
	[[ $proto == h1 ]] && flags+=(--h1)
	rm -f "$work/$name.log"
	say "$name: h2load ${flags[*]} $* $path"
	# The server's CPU time over the whole run (warm-up included, when it is as busy): divided
	# by the wall time and the rate, its CPU per request.
	local cpu0 t0
	cpu0=$(server_cpu_ticks)
	t0=$(date +%s%N)
	h2load "${flags[@]}" "$@" "$url$path" >"$work/$name.out" 2>&1 || true
	local cpu_s wall_s
	cpu_s=$(python3 -c "print(($(server_cpu_ticks) - $cpu0) / $(getconf CLK_TCK))")
	wall_s=$(python3 -c "print(($(date +%s%N) - $t0) / 1e9)")
	python3 - "$name" "$proto" "$bytes" "$work/$name.out" "$work/$name.log" "$cpu_s" "$wall_s" >>"$results" <<'EOF'
import json, re, sys
name, proto, clear, out_file, log_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
cpu_s, wall_s = float(sys.argv[6]), float(sys.argv[7])
out = open(out_file).read()
rate = float(re.search(r"finished in [\d.]+s, ([\d.]+) req/s", out).group(1))
counts = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", out)
codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
latencies = sorted(int(line.split()[2]) for line in open(log_file) if line.strip())
def pct(p):
    return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] / 1000 if latencies else None
print(json.dumps({"test": name, "protocol": proto, "clear_bytes": clear, "requests_per_s": rate,
                  "p50_ms": pct(50), "p99_ms": pct(99), "clear_mb_per_s": rate * clear / 1e6,
                  "server_cpu_us_per_request": cpu_s / wall_s / rate * 1e6 if rate else None,
                  "succeeded": int(counts.group(3)), "failed": int(counts.group(4)) + int(counts.group(5)),
                  "non_2xx": int(codes.group(2)) + int(codes.group(3)) + int(codes.group(4))}))
EOF
}

json_header=(-H 'content-type: application/json')

# --- start-up time and idle memory -----------------------------------------------
startups=()
for _ in 1 2 3 4 5; do
	start_server
	startups+=("$startup_ms")
	stop_server
done
startup_median=$(printf '%s\n' "${startups[@]}" | sort -n | sed -n 3p)
start_server
sleep 1
idle_rss=$(rss_kib VmRSS)
record "{\"test\": \"startup\", \"startup_ms_median\": $startup_median, \"startup_ms_runs\": [$(
	IFS=,
	echo "${startups[*]}"
)], \"idle_rss_kib\": $idle_rss}"

# The oracle's own answer to the 64-byte request: nginx serves one of the same size.
curl -sS --cacert "$ca" -H 'content-type: application/json' -d @"$work/body-64.json" "$url/oracleinvocation/" >"$work/answer-64.json"

# --- nginx, the stack's ceiling: a fixed body, an access log line per request --------------
# It runs from here to the end, idle while the oracle is measured, so that each of its runs
# follows the oracle's same run within seconds: the host's speed drifts by 10-20 % over
# minutes, and a ratio must not straddle that. on_nginx CMD... runs CMD against it.
nginx_pid=
start_nginx() {
	local port
	port=$(free_port)
	nginx_url=https://127.0.0.1:$port
	mkdir -p "$work/nginx/logs"
	cat >"$work/nginx/nginx.conf" <<EOF
worker_processes $cores;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 4096; }
http {
    access_log $work/nginx/logs/access.log;
    client_body_temp_path $work/nginx/body;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:$port ssl http2;
        ssl_certificate $work/certs/dev-cert.pem;
        ssl_certificate_key $work/certs/dev-key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {
            default_type application/json;
            return 200 '$(cat "$work/answer-64.json")';
        }
    }
}
EOF
	taskset -c "$server_cpus" "$(command -v nginx || echo /usr/sbin/nginx)" -p "$work/nginx" -e "$work/nginx/logs/error.log" \
		-c "$work/nginx/nginx.conf" >"$work/nginx/stdout.log" 2>&1 &
	nginx_pid=$!
	for _ in $(seq 1 100); do
		curl -s -o /dev/null --cacert "$ca" "$nginx_url/" && return 0
		sleep 0.1
	done
	cat "$work/nginx/logs/error.log" >&2
	exit 1
}
swapped_pid=
on_nginx() {
	local u=$url rc=0
	swapped_pid=$server_pid
	server_pid=$nginx_pid url=$nginx_url
	"$@" || rc=$?
	server_pid=$swapped_pid url=$u
	swapped_pid=
	return "$rc"
}

start_nginx

# --- keep-alive throughput: /healthz is the stack's own reference, nginx its ceiling --------
# Three rounds of /healthz, 64 B, and nginx's 64 B, back to back: the ratios of each round are
# taken within seconds, and the round with the median ratio is the one reported (all three are
# kept), so a moment when the host was busy cannot land on one side of a ratio only.
for round in 1 2 3; do
	h2load_run "healthz-h1-r$round" h1 0 /healthz -c 32
	h2load_run "post64-h1-r$round" h1 64 /oracleinvocation/ -c 32 -d "$work/body-64.json" "${json_header[@]}"
	on_nginx h2load_run "nginx-post64-h1-r$round" h1 64 /oracleinvocation/ -c 32 -d "$work/body-64.json" "${json_header[@]}"
done
python3 - "$results" >>"$results" <<'EOF'
import json, sys
by = {r["test"]: r for r in map(json.loads, open(sys.argv[1]))}
rounds = sorted((by[f"post64-h1-r{n}"]["requests_per_s"] / by[f"healthz-h1-r{n}"]["requests_per_s"], n) for n in (1, 2, 3))
ratio, median = rounds[1]
for name in ("healthz-h1", "post64-h1"):
    print(json.dumps({**by[f"{name}-r{median}"], "test": name, "round": median,
                      "round_rates": [by[f"{name}-r{n}"]["requests_per_s"] for n in (1, 2, 3)]}))
cpu = lambda name, n: by[f"{name}-r{n}"]["server_cpu_us_per_request"]
ratios = [cpu("post64-h1", n) / cpu("nginx-post64-h1", n) for n in (1, 2, 3)]
ratio, median = sorted(zip(ratios, (1, 2, 3)))[1]
print(json.dumps({**by[f"nginx-post64-h1-r{median}"], "test": "nginx-post64-h1", "round": median,
                  "oracle_cpu_us_per_request": cpu("post64-h1", median), "cpu_ratio": ratio,
                  "cpu_ratio_rounds": [round(r, 3) for r in ratios]}))
EOF
h2load_run healthz-h2 h2 0 /healthz -c 8 -m 16
h2load_run post64-h2 h2 64 /oracleinvocation/ -c 8 -m 16 -d "$work/body-64.json" "${json_header[@]}"
on_nginx h2load_run nginx-post64-h2 h2 64 /oracleinvocation/ -c 8 -m 16 -d "$work/body-64.json" "${json_header[@]}"

# --- 1 MiB bodies, and the memory they take: N concurrent requests ------------------
concurrent=8
echo 5 >"/proc/$server_pid/clear_refs" # resets VmHWM (peak RSS)
h2load_run post1m-h1 h1 1048576 /oracleinvocation/ -c "$concurrent" -d "$work/body-1m.json" "${json_header[@]}"
peak_rss=$(rss_kib VmHWM)
record "{\"test\": \"memory\", \"concurrent_1mib\": $concurrent, \"peak_rss_kib\": $peak_rss, \"idle_rss_kib\": $idle_rss}"
h2load_run post1m-h2 h2 1048576 /oracleinvocation/ -c 2 -m 4 -d "$work/body-1m.json" "${json_header[@]}"

# --- the encryption alone, for the 1 MiB target: criterion's seal/1MiB, right after the
# 1 MiB runs so that both sides of that ratio see the host in the same mood (the server idles)
say "criterion: seal/1MiB"
cargo bench --quiet --locked --bench oracle -- --quiet "seal/1MiB" >"$work/criterion.out" 2>&1 || cat "$work/criterion.out" >&2
python3 - "$work/criterion.out" >>"$results" <<'EOF2'
import json, re, sys
out = open(sys.argv[1]).read()
value, unit = re.search(r"thrpt:\s+\[[\d.]+ \S+ ([\d.]+) (\w+)/s", out).groups()
scale = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}[unit]
print(json.dumps({"test": "criterion-seal-1mib", "mb_per_s": float(value) * scale / 1e6}))
EOF2

# --- latency at half the sustainable 64-byte rate (HTTP/1.1 keep-alive) -------------
sustained=$(python3 -c 'import json,sys; print(next(r["requests_per_s"] for r in map(json.loads, open(sys.argv[1])) if r["test"] == "post64-h1"))' "$results")
half=$(python3 -c "print(max(1, int($sustained / 2)))")
say "post64-h1 at $half req/s: oha -q $half"
"$oha" --no-tui --output-format json -z "${duration}s" -c 32 -q "$half" --cacert "$ca" -m POST \
	-H 'content-type: application/json' -D "$work/body-64.json" "$url/oracleinvocation/" >"$work/oha.json" 2>"$work/oha.err" ||
	cat "$work/oha.err" >&2
python3 - "$work/oha.json" "$half" >>"$results" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
summary, pct = r["summary"], r.get("latencyPercentiles", {})
codes, errors = r.get("statusCodeDistribution", {}), dict(r.get("errorDistribution", {}))
# Requests still in flight when -z runs out are cut off by oha itself, not failed by the server.
cut_off = errors.pop("aborted due to deadline", 0)
print(json.dumps({"test": "post64-h1-half-rate", "protocol": "h1", "target_rate": int(sys.argv[2]),
                  "requests_per_s": summary["requestsPerSec"], "p50_ms": pct["p50"] * 1000, "p99_ms": pct["p99"] * 1000,
                  "succeeded": codes.get("200", 0), "cut_off_at_deadline": cut_off, "errors": errors,
                  "failed": sum(v for k, v in codes.items() if k != "200") + sum(errors.values())}))
EOF
stop_server

# --- new TLS connections: one request per connection -------------------------------
# A TLS handshake costs the client more than the server (it checks the certificate), so wrk
# on the cores left over sets the rate for both servers, not their own cost. Each server is
# therefore also measured under a CPU quota of half its cores (a cgroup; v2 or v1), which
# makes the server the limit: those "capped" rates are the ones the target compares.
# One wrk thread per load core, at most one per connection (16).
wrk_threads=$(($(nproc) - cores))
((wrk_threads >= 1)) || wrk_threads=1
((wrk_threads <= 16)) || wrk_threads=16
cap_dir=
# cap_server: puts the server under test (and nginx's workers) under the quota; false where
# cgroups cannot be written (not root, a read-only /sys/fs/cgroup).
cap_server() {
	local quota=$((cores * 5000)) period=10000 pid dir=
	cap_dir=
	if [[ -w /sys/fs/cgroup/cgroup.subtree_control ]] && grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control; then
		dir=/sys/fs/cgroup/gcm-oracle-bench.$$
		mkdir -p "$dir" && cap_dir=$dir && echo "$quota $period" >"$dir/cpu.max" || dir=
	elif [[ -w /sys/fs/cgroup/cpu ]]; then
		dir=/sys/fs/cgroup/cpu/gcm-oracle-bench.$$
		mkdir -p "$dir" && cap_dir=$dir && echo "$period" >"$dir/cpu.cfs_period_us" &&
			echo "$quota" >"$dir/cpu.cfs_quota_us" || dir=
	fi
	if [[ -n $dir ]]; then
		for pid in $server_pid $(pgrep -P "$server_pid" || true); do
			echo "$pid" >"$dir/cgroup.procs" || dir=
			# Joining a cgroup can reset a process's CPU affinity (cpuset): pin it again.
			taskset -a -p -c "$server_cpus" "$pid" >/dev/null || dir=
		done
	fi
	if [[ -z $dir ]]; then
		say "cannot put the server in a CPU-capped cgroup here: no capped new-connection run"
		return 1
	fi
}
# uncap_dir: removes the cgroup once the server in it has stopped.
uncap_dir() {
	[[ -n $cap_dir ]] || return 0
	for _ in $(seq 1 50); do
		rmdir "$cap_dir" 2>/dev/null && break
		sleep 0.1
	done
	cap_dir=
}
# wrk_run NAME PATH: one request per new TLS connection, with the server's CPU per connection.
wrk_run() {
	local name=$1 path=$2 cpu0 t0
	say "$name: wrk -H 'Connection: close' $path"
	cpu0=$(server_cpu_ticks)
	t0=$(date +%s%N)
	wrk -t "$wrk_threads" -c 16 -d "${duration}s" --latency -H 'Connection: close' "$url$path" >"$work/$name.out" 2>&1 || true
	python3 - "$name" "$work/$name.out" "$(($(server_cpu_ticks) - cpu0))" "$(($(date +%s%N) - t0))" "$(getconf CLK_TCK)" >>"$results" <<'EOF'
import json, re, sys
name, out_file, ticks, wall_ns, tick = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
out = open(out_file).read()
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
def ms(label):
    m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)\b", out)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)] if m else None
errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
print(json.dumps({"test": name, "protocol": "h1", "connections_per_s": rate,
                  "p50_ms": ms("50"), "p99_ms": ms("99"),
                  "server_cpu_us_per_request": ticks / tick / (wall_ns / 1e9) / rate * 1e6 if rate else None,
                  "failed": (sum(map(int, errors.groups())) if errors else 0) + (int(non2xx.group(1)) if non2xx else 0)}))
EOF
}
start_server
wrk_run new-connections /healthz
on_nginx wrk_run nginx-new-connections /healthz
if cap_server; then wrk_run new-connections-capped /healthz; fi
stop_server
uncap_dir
if on_nginx cap_server; then on_nginx wrk_run nginx-new-connections-capped /healthz; fi

nginx_log_lines=$(wc -l <"$work/nginx/logs/access.log")
record "{\"test\": \"nginx\", \"version\": \"$(nginx -v 2>&1 | sed 's/.*nginx\///')\", \"access_log_lines\": $nginx_log_lines}"
on_nginx stop_server
nginx_pid=
uncap_dir

# --- machine, and the report ------------------------------------------------------
mkdir -p "$(dirname "$out")"
python3 - "$results" "$out" "$duration" "$bin" "$tunables" "$server_cpus" "$load_cpus" <<'EOF'
import json, os, platform, subprocess, sys, time
results = [json.loads(line) for line in open(sys.argv[1])]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
machine = {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
           "cpu_features": [f for f in ("aes", "pclmulqdq", "avx2", "vaes", "vpclmulqdq", "avx512f") if f in flags],
           "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
           "gcm_oracle": subprocess.run([sys.argv[4], "--version"], capture_output=True, text=True).stdout.strip(),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "server_glibc_tunables": sys.argv[5], "server_cpus": sys.argv[6], "load_cpus": sys.argv[7]}
report = {"machine": machine, "duration_s": int(sys.argv[3]), "results": results}
json.dump(report, open(sys.argv[2], "w"), indent=2)

by = {r["test"]: r for r in results}
def f(v, fmt="{:,.0f}"):
    return "—" if v is None else fmt.format(v)
print()
print(f"gcm-oracle on {cpu}, {machine['cores']} cores ({', '.join(machine['cpu_features'])}); load generator on the same machine")
print(f"server GLIBC_TUNABLES: {sys.argv[5] or '(none)'}")
print()
print(f"| test | protocol | requests/s | p50 ms | p99 ms | clear text MB/s | server CPU µs/request | failed |")
print(f"|---|---|---:|---:|---:|---:|---:|---:|")
for name, what in (("healthz-h1", "GET /healthz"), ("post64-h1", "POST 64 B"), ("healthz-h2", "GET /healthz"),
                   ("post64-h2", "POST 64 B"), ("post1m-h1", "POST 1 MiB"), ("post1m-h2", "POST 1 MiB"),
                   ("post64-h1-half-rate", "POST 64 B at half rate"), ("new-connections", "new TLS connection + GET /healthz"),
                   ("new-connections-capped", "the same, server capped at half its cores"),
                   ("nginx-post64-h1", "nginx: POST 64 B, fixed answer"), ("nginx-post64-h2", "nginx: POST 64 B, fixed answer"),
                   ("nginx-new-connections", "nginx: new TLS connection"),
                   ("nginx-new-connections-capped", "nginx: new TLS connection, capped")):
    r = by.get(name)
    if not r:
        continue
    rate = r.get("requests_per_s", r.get("connections_per_s"))
    mbs = r.get("clear_mb_per_s")
    print(f"| {what} | {'HTTP/1.1' if r['protocol'] == 'h1' else 'HTTP/2'} | {f(rate)} | {f(r.get('p50_ms'), '{:.2f}')} | "
          f"{f(r.get('p99_ms'), '{:.2f}')} | {f(mbs, '{:,.1f}') if mbs else '—'} | {f(r.get('server_cpu_us_per_request'), '{:,.1f}')} | "
          f"{r.get('failed', 0) + r.get('non_2xx', 0)} |")
s, m = by["startup"], by["memory"]
print()
print(f"start to first answered request: {s['startup_ms_median']} ms (median of {s['startup_ms_runs']})")
print(f"idle RSS: {s['idle_rss_kib'] / 1024:.1f} MiB; peak RSS with {m['concurrent_1mib']} concurrent 1 MiB requests: "
      f"{m['peak_rss_kib'] / 1024:.1f} MiB (budget {40 + 4 * m['concurrent_1mib']} MiB)")
h1, p64 = by["healthz-h1"]["requests_per_s"], by["post64-h1"]["requests_per_s"]
ratios = ", ".join(f"{p / h:.2f}" for p, h in zip(by["post64-h1"]["round_rates"], by["healthz-h1"]["round_rates"]))
print(f"64 B POST / healthz (HTTP/1.1): {p64 / h1:.2f}, the median of three rounds ({ratios}) (target >= 0.85)")
cpu_h, cpu_p = by["healthz-h1"]["server_cpu_us_per_request"], by["post64-h1"]["server_cpu_us_per_request"]
print(f"  server CPU per request in that round: healthz {cpu_h:.1f} µs, 64 B POST {cpu_p:.1f} µs "
      f"(the load generator's CPU, on the same cores, is not in these)")
seal = by["criterion-seal-1mib"]["mb_per_s"]
seal_us = 2**20 / seal
for name, target in (("post1m-h1", 4), ("post1m-h2", 5)):
    cpu = by[name]["server_cpu_us_per_request"]
    print(f"{name}: {by[name]['clear_mb_per_s']:.0f} MB/s = {by[name]['clear_mb_per_s'] / seal:.2f} x seal's {seal:.0f} MB/s (target >= 0.2); "
          f"server CPU {cpu:,.0f} µs per request = {cpu / seal_us:.2f} x seal/1MiB's {seal_us:.0f} µs (target <= {target})")
half = by["post64-h1-half-rate"]
print(f"p99 at half the sustainable 64 B rate ({half['target_rate']} req/s): {half['p99_ms']:.2f} ms (target <= 2)")
if "nginx-post64-h1" in by:
    print()
    print(f"against nginx {by['nginx']['version']} (fixed body, {by['nginx']['access_log_lines']:,} access log lines), servers on {sys.argv[6]}, load on {sys.argv[7]}:")
    n = by["nginx-post64-h1"]
    print(f"  post64-h1: {n['oracle_cpu_us_per_request']:.1f} µs against nginx's {n['server_cpu_us_per_request']:.1f} µs of server CPU per request "
          f"= {n['cpu_ratio']:.2f} x (target <= 1.1), the median of three back-to-back rounds {n['cpu_ratio_rounds']}")
    a, b = by["post64-h2"]["server_cpu_us_per_request"], by["nginx-post64-h2"]["server_cpu_us_per_request"]
    print(f"  post64-h2: {a:.1f} µs against nginx's {b:.1f} µs of server CPU per request = {a / b:.2f} x (target <= 1.25); "
          f"{by['post64-h2']['requests_per_s'] / by['nginx-post64-h2']['requests_per_s']:.2f} x its rate")
    for suffix, what in (("-capped", "servers capped at half their cores, the target's measure"), ("", "uncapped, wrk's ceiling")):
        ours, theirs = by.get(f"new-connections{suffix}"), by.get(f"nginx-new-connections{suffix}")
        if not (ours and theirs):
            continue
        a, b = ours["connections_per_s"], theirs["connections_per_s"]
        print(f"  new TLS connections ({what}): {a:,.0f}/s against nginx's {b:,.0f}/s = {a / b:.2f} x (target >= 1.3); "
              f"server CPU per connection {ours['server_cpu_us_per_request']:.0f} µs against "
              f"{theirs['server_cpu_us_per_request']:.0f} µs")
print(f"\nwrote {sys.argv[2]}")
EOF
