#!/usr/bin/env bash
# Streaming benchmark of gcm-oracle on this machine, over real TLS on loopback (a benchmark, not
# a test: it fails only when a stream does).
#
#   bench/stream.sh [--bin PATH] [--size SIZE] [--concurrent N] [--concurrent-size SIZE]
#                   [--format FORMAT] [--max-time SECONDS] [--seal-mibps NUMBER | --with-criterion]
#
# Builds nothing: it takes the release binary (--bin, default target/release/gcm-oracle) and
# starts it with `serve --bind 127.0.0.1:0` and its own certificates. It writes a random file of
# --size bytes (default 1G; K, M, G are binary units) and, over HTTP/1.1 then HTTP/2, streams it
# with curl through /oracleinvocation/stream and the ciphertext back through /decrypt/stream,
# timing each (clear-text MB/s, 10^6 bytes) and checking that the bytes come back the same.
# Then --concurrent streams at once (default 16) of --concurrent-size bytes each (default 256M,
# so that the ciphertexts fit on disk): separate connections over HTTP/1.1, one connection over
# HTTP/2 (curl --parallel multiplexes them). The server's VmRSS is sampled every 0.1 s during
# each run: the table gives the peak and its growth over the RSS just before the run.
#
# --seal-mibps gives criterion's seal/1MiB throughput (MiB/s, as `cargo bench` prints it) to
# compare with; --with-criterion runs `cargo bench --bench oracle -- seal/1MiB` for it (a build).
# Temporary files (about 3 x --size, or --concurrent + 2 x --concurrent-size, whichever is more)
# go in $TMPDIR; every process and file is removed on exit. Loopback only.

set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
bin=${CARGO_TARGET_DIR:-$root/target}/release/gcm-oracle
size=1G
concurrent=16
concurrent_size=256M
format=aes128gcm
max_time=600
seal_mibps=
with_criterion=0
while (($#)); do
	case $1 in
	--bin | --size | --concurrent | --concurrent-size | --format | --max-time | --seal-mibps)
		(($# >= 2)) || {
			echo "$1 needs a value (see --help)" >&2
			exit 2
		}
		case $1 in
		--bin) bin=$2 ;;
		--size) size=$2 ;;
		--concurrent) concurrent=$2 ;;
		--concurrent-size) concurrent_size=$2 ;;
		--format) format=$2 ;;
		--max-time) max_time=$2 ;;
		--seal-mibps) seal_mibps=$2 ;;
		esac
		shift 2
		;;
	--with-criterion)
		with_criterion=1
		shift
		;;
	-h | --help)
		sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "unknown argument: $1 (see --help)" >&2
		exit 2
		;;
	esac
done

say() { printf '== %s\n' "$*" >&2; }
die() {
	printf 'bench/stream.sh: %s\n' "$*" >&2
	exit 1
}

bytes() { numfmt --from=iec "$1" 2>/dev/null || die "not a size: $1 (use bytes, or K, M, G)"; }
human() { numfmt --to=iec-i --suffix=B "$1"; }
size_bytes=$(bytes "$size")
concurrent_bytes=$(bytes "$concurrent_size")
[[ $concurrent =~ ^[1-9][0-9]*$ ]] || die "--concurrent takes a positive number"
[[ -z $seal_mibps || $seal_mibps =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--seal-mibps takes a number"
case $format in
aes128gcm | aes256gcm-hkdf-1mb) ;;
*) die "--format is aes128gcm or aes256gcm-hkdf-1mb" ;;
esac
[[ -x $bin ]] || die "no binary at $bin: build it with 'cargo build --release --locked', or give --bin"
command -v curl >/dev/null || die "needs curl"
curl --version | grep -q HTTP2 || die "needs a curl with HTTP/2"

work=$(mktemp -d)
server_pid=
sampler_pid=
curl_pid=
cleanup() {
	set +e
	[[ -n $curl_pid ]] && kill "$curl_pid" 2>/dev/null
	[[ -n $sampler_pid ]] && kill "$sampler_pid" 2>/dev/null
	[[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need=$((3 * size_bytes > (concurrent + 2) * concurrent_bytes ? 3 * size_bytes : (concurrent + 2) * concurrent_bytes))
free=$(($(df -Pk "$work" | awk 'NR == 2 { print $4 }') * 1024))
((free > need)) || die "needs $(human "$need") free in $work's file system, has $(human "$free") (set TMPDIR, or smaller sizes)"

# --- the server ---------------------------------------------------------------------
# The glibc tuning that `cargo run`, the image and the systemd unit give it (.cargo/config.toml
# says why), as in bench/load.sh; a GLIBC_TUNABLES set by the caller, even empty, wins.
tunables=${GLIBC_TUNABLES-$(python3 -c 'import tomllib; print(tomllib.load(open(".cargo/config.toml", "rb"))["env"]["GLIBC_TUNABLES"])' 2>/dev/null || true)}
GLIBC_TUNABLES=$tunables "$bin" serve --bind 127.0.0.1:0 --cert-dir "$work/certs" >"$work/server.log" 2>&1 &
server_pid=$!
url=
for _ in $(seq 1 600); do
	url=$(grep -o 'listening on https://[^ ]*' "$work/server.log" | head -n 1 | sed 's/^listening on //' || true)
	[[ -n $url ]] && break
	kill -0 "$server_pid" 2>/dev/null || {
		cat "$work/server.log" >&2
		die "the server exited early"
	}
	sleep 0.1
done
[[ -n $url ]] || die "the server did not report its address within 60 s"
ca=$work/certs/dev-ca.pem
say "server $("$bin" --version) at $url (GLIBC_TUNABLES=${tunables:-none})"

rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$server_pid/status"; }

# sample_start / sample_stop: the server's VmRSS (KiB) every 0.1 s into $work/rss, from which
# stop sets $rss_peak; start sets $rss_before.
sample_start() {
	rss_before=$(rss_kib)
	: >"$work/rss"
	while kill -0 "$server_pid" 2>/dev/null; do
		rss_kib >>"$work/rss" 2>/dev/null || true
		sleep 0.1
	done &
	sampler_pid=$!
}
sample_stop() {
	kill "$sampler_pid" 2>/dev/null || true
	wait "$sampler_pid" 2>/dev/null || true
	sampler_pid=
	rss_kib >>"$work/rss"
	rss_peak=$(sort -n "$work/rss" | tail -n 1)
}

now_ns() { date +%s%N; }

# The server's CPU time so far (user + system), in clock ticks.
server_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }

# timed CURL_ARGS...: runs curl in the background and waits for it (a signal is handled at once,
# not when curl ends); sets $elapsed_ns; returns curl's status.
timed() {
	local t0 status=0
	t0=$(now_ns)
	curl "$@" &
	curl_pid=$!
	wait "$curl_pid" || status=$?
	curl_pid=
	elapsed_ns=$(($(now_ns) - t0))
	return "$status"
}
query=
[[ $format == aes128gcm ]] || query="?format=$format"
# No `Expect: 100-continue` (curl sends it for large HTTP/1.1 uploads): the benchmark measures
# the stream, not how long curl waits for a 100 that a server may not send.
curl_opts=(-sS --fail-with-body --max-time "$max_time" --cacert "$ca" -X POST -H 'Expect:'
	-H 'Content-Type: application/octet-stream')

# One line per run in $work/results: name protocol streams bytes seal_ns open_ns rss_before
# rss_peak_seal rss_peak_open ok seal_ticks open_ticks
results=$work/results

# --- one stream at a time -------------------------------------------------------------
say "writing $(human "$size_bytes") of random clear text"
head -c "$size_bytes" /dev/urandom >"$work/clear"

# failed WHY: records the first failure of a run in the caller's $ok.
failed() { [[ $ok != ok ]] || ok=$1; }

# oracle_key FILE: the Oracle-Key of a `curl -D` headers file.
oracle_key() { awk -F': *' 'tolower($1) == "oracle-key" { sub(/\r$/, "", $2); print $2 }' "$1" | tail -n 1; }

single() {
	local proto=$1 label=$2 seal_ns open_ns before seal_peak ok=ok ticks seal_ticks open_ticks
	say "$label: one $(human "$size_bytes") stream, seal then open"
	sample_start
	before=$rss_before
	ticks=$(server_ticks)
	timed "${curl_opts[@]}" "--$proto" -T "$work/clear" -D "$work/headers" -o "$work/ciphertext" \
		"$url/oracleinvocation/stream$query" || failed "seal failed"
	seal_ns=$elapsed_ns
	seal_ticks=$(($(server_ticks) - ticks))
	sample_stop
	seal_peak=$rss_peak
	sample_start
	ticks=$(server_ticks)
	timed "${curl_opts[@]}" "--$proto" -T "$work/ciphertext" -H "Oracle-Key: $(oracle_key "$work/headers")" \
		-o "$work/back" "$url/decrypt/stream$query" || failed "open failed"
	open_ns=$elapsed_ns
	open_ticks=$(($(server_ticks) - ticks))
	sample_stop
	[[ $ok != ok ]] || cmp -s "$work/clear" "$work/back" || failed "different bytes back"
	echo "$label $proto 1 $size_bytes $seal_ns $open_ns $before $seal_peak $rss_peak ${ok// /_} $seal_ticks $open_ticks" >>"$results"
	rm -f "$work/ciphertext" "$work/back"
}
single http1.1 "HTTP/1.1"
single http2 "HTTP/2"
rm -f "$work/clear"

# --- N streams at once -----------------------------------------------------------------
say "writing $(human "$concurrent_bytes") of random clear text for $concurrent concurrent streams"
head -c "$concurrent_bytes" /dev/urandom >"$work/clear"

# many PROTO LABEL: N uploads in one curl --parallel (HTTP/1.1: N connections; HTTP/2: N streams
# on one connection), then the N ciphertexts back; stream 0 is compared byte for byte, the
# others by length (the disk holds one clear-text copy).
many() {
	local proto=$1 label=$2 seal_ns open_ns before seal_peak ok=ok i out ticks seal_ticks open_ticks
	local seal_args=() open_args=()
	say "$label: $concurrent streams of $(human "$concurrent_bytes") at once, seal then open"
	for ((i = 0; i < concurrent; i++)); do
		((i == 0)) || seal_args+=(--next)
		seal_args+=("${curl_opts[@]}" "--$proto" -T "$work/clear" -D "$work/headers.$i" -o "$work/ciphertext.$i"
			"$url/oracleinvocation/stream$query")
	done
	sample_start
	before=$rss_before
	ticks=$(server_ticks)
	timed --parallel --no-progress-meter --parallel-max "$concurrent" "${seal_args[@]}" || failed "a seal failed"
	seal_ns=$elapsed_ns
	seal_ticks=$(($(server_ticks) - ticks))
	sample_stop
	seal_peak=$rss_peak
	for ((i = 0; i < concurrent; i++)); do
		out=/dev/null
		if ((i == 0)); then
			out=$work/back
		else
			open_args+=(--next)
		fi
		open_args+=("${curl_opts[@]}" "--$proto" -T "$work/ciphertext.$i" -H "Oracle-Key: $(oracle_key "$work/headers.$i")"
			-w '%{size_download}\n' -o "$out" "$url/decrypt/stream$query")
	done
	sample_start
	ticks=$(server_ticks)
	timed --parallel --no-progress-meter --parallel-max "$concurrent" "${open_args[@]}" >"$work/sizes" || failed "an open failed"
	open_ns=$elapsed_ns
	open_ticks=$(($(server_ticks) - ticks))
	sample_stop
	if [[ $ok == ok ]]; then
		cmp -s "$work/clear" "$work/back" || failed "different bytes back"
		[[ $(grep -c "^$concurrent_bytes\$" "$work/sizes") == "$concurrent" ]] || failed "a stream came back short"
	fi
	echo "$label $proto $concurrent $concurrent_bytes $seal_ns $open_ns $before $seal_peak $rss_peak ${ok// /_} $seal_ticks $open_ticks" >>"$results"
	rm -f "$work"/ciphertext.* "$work/back"
}
many http1.1 "HTTP/1.1"
many http2 "HTTP/2"
rm -f "$work/clear"

# --- criterion's seal/1MiB, the encryption alone ------------------------------------------
seal_source=
if ((with_criterion)); then
	say "criterion: cargo bench --bench oracle -- seal/1MiB"
	cargo bench --quiet --locked --bench oracle -- --quiet 'seal/1MiB' >"$work/criterion.out" 2>&1 ||
		cat "$work/criterion.out" >&2
	seal_mibps=$(python3 - "$work/criterion.out" <<'EOF'
import re, sys
m = re.search(r"thrpt:\s+\[[\d.]+ \S+ ([\d.]+) (\w+)/s", open(sys.argv[1]).read())
print(float(m.group(1)) * {"B": 2**-20, "KiB": 2**-10, "MiB": 1, "GiB": 2**10}[m.group(2)] if m else "")
EOF
	)
	seal_source="measured now with --with-criterion"
elif [[ -n $seal_mibps ]]; then
	seal_source="given with --seal-mibps"
fi

# --- the report --------------------------------------------------------------------------
python3 - "$results" "$format" "$seal_mibps" "$seal_source" "$("$bin" --version)" "$tunables" \
	"$size_bytes" "$concurrent" "$concurrent_bytes" <<'EOF' || { echo "a stream failed; the server's log ends:" >&2; tail -n 20 "$work/server.log" >&2; exit 1; }
import os, sys
results, fmt, seal_mibps, seal_source, version, tunables = sys.argv[1:7]
size, concurrent, concurrent_size = map(int, sys.argv[7:10])
seal_mbs = float(seal_mibps) * 2**20 / 1e6 if seal_mibps else None
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
def human(n):
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} B"
print()
print(f"{version} on {cpu}, {os.cpu_count()} cores; curl on the same machine, TLS on loopback; format {fmt}")
print(f"server GLIBC_TUNABLES: {tunables or '(none)'}")
print()
tick = os.sysconf("SC_CLK_TCK")
ratio_head = " | seal ÷ seal/1MiB | open ÷ seal/1MiB" if seal_mbs else ""
cpu_head = " | server CPU s seal / open | server MB per CPU s seal / open" + (" | ÷ seal/1MiB" if seal_mbs else "")
print(f"| protocol | streams × clear text | seal s | seal MB/s | open s | open MB/s{ratio_head}{cpu_head} | RSS before | peak RSS seal / open | RSS growth | result |")
print(f"|---|---|---:|---:|---:|---:|{'---:|---:|' if seal_mbs else ''}---:|---:|{'---:|' if seal_mbs else ''}---:|---:|---:|---|")
for line in open(results):
    label, proto, streams, each, seal_ns, open_ns, before, peak_seal, peak_open, ok, seal_ticks, open_ticks = line.split()
    seal_cpu, open_cpu = int(seal_ticks) / tick, int(open_ticks) / tick
    streams, each = int(streams), int(each)
    total = streams * each
    seal_s, open_s = int(seal_ns) / 1e9, int(open_ns) / 1e9
    seal_rate, open_rate = total / seal_s / 1e6, total / open_s / 1e6
    before, peak = int(before), max(int(peak_seal), int(peak_open))
    ratios = f" | {seal_rate / seal_mbs:.2f} | {open_rate / seal_mbs:.2f}" if seal_mbs else ""
    seal_per_cpu = total / max(seal_cpu, 1 / tick) / 1e6
    open_per_cpu = total / max(open_cpu, 1 / tick) / 1e6
    ratios += f" | {seal_cpu:.2f} / {open_cpu:.2f} | {seal_per_cpu:,.0f} / {open_per_cpu:,.0f}"
    if seal_mbs:
        ratios += f" | {seal_per_cpu / seal_mbs:.2f} / {open_per_cpu / seal_mbs:.2f}"
    how = "" if streams == 1 else " (one connection)" if proto == "http2" else f" ({streams} connections)"
    print(f"| {label}{how} | {streams} × {human(each)} | "
          f"{seal_s:.2f} | {seal_rate:,.0f} | {open_s:.2f} | {open_rate:,.0f}{ratios} | {before / 1024:.1f} MiB | "
          f"{int(peak_seal) / 1024:.1f} / {int(peak_open) / 1024:.1f} MiB | {(peak - before) / 1024:+.1f} MiB | {ok.replace('_', ' ')} |")
print()
print("MB/s: clear-text bytes (all streams together) per second of wall time, 10^6 bytes; seal = upload the")
print("clear text and download the ciphertext (one curl), open = the reverse. RSS: the server's VmRSS, sampled")
print("every 0.1 s; growth is the peak over the value just before that row's runs. Server CPU: user + system")
print("time of the server process during the run; MB per CPU s is the rate one server core sustains, curl aside.")
print(f"One stream: {human(size)} (--size); {concurrent} at once: {human(concurrent_size)} each (--concurrent-size).")
if seal_mbs:
    print(f"seal/1MiB: {seal_mibps} MiB/s = {seal_mbs:,.0f} MB/s ({seal_source}).")
else:
    print("No ratio to criterion's seal/1MiB: give --seal-mibps NUMBER or --with-criterion.")
failed = [l for l in open(results) if l.split()[9] != "ok"]
sys.exit(1 if failed else 0)
EOF
