#!/usr/bin/env python3
"""Soak: a bounded run of --requests POST requests (64-byte JSON bodies) at a steady rate, on loopback.

The bound is a request count (default 1,000,000), not a duration: at the default 20,000
requests/s it takes under a minute, which fits CI; the output says how long it took. The load
is h2load (Debian's nghttp2-client) over HTTP/2 with TLS: --clients connections, --streams
concurrent streams each, each client paced to --rate / --clients requests per second.

Pass/fail:
  * h2load reports every request done and succeeded: 0 failed, 0 errored, 0 timeout, all 2xx;
  * the server's own counter (gcm_oracle_http_requests_total for the route, status 200) grew by
    exactly --requests;
  * RSS, sampled every second, never exceeds 1.10 × its value once the first 10 % of requests
    are done (the warm-up: buffers, TLS sessions and allocator pools reach their steady size);
  * the server process is alive at the end.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from hostile_common import alive, base_parser, mib, rss_kib, split_url, tls_context, verdict


def requests_counted(host: str, port: int, cacert: str, route: str) -> int:
    conn = http.client.HTTPSConnection(host, port, context=tls_context(cacert), timeout=10)
    try:
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        text = response.read().decode()
    finally:
        conn.close()
    pattern = re.compile(
        r'^gcm_oracle_http_requests_total\{(?=[^}]*route="' + re.escape(route) + r'")(?=[^}]*status="200")[^}]*\}\s+(\d+)',
        re.M,
    )
    match = pattern.search(text)
    return int(match.group(1)) if match else 0


def main() -> int:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000, help="requests in all (the bound)")
    parser.add_argument("--rate", type=int, default=20_000, help="steady requests per second, all clients together")
    parser.add_argument("--clients", type=int, default=16, help="h2load clients (connections)")
    parser.add_argument("--streams", type=int, default=8, help="concurrent streams per connection")
    parser.add_argument("--warmup", type=float, default=0.10, help="fraction of requests before the RSS baseline")
    parser.add_argument("--rss-growth", type=float, default=0.10, help="allowed RSS growth over the baseline")
    parser.add_argument("--route", default="/oracleinvocation", help="route label in the server's metrics")
    parser.add_argument("--h2load", default=shutil.which("h2load") or "h2load", help="h2load binary")
    args = parser.parse_args()
    host, port = split_url(args.url)
    if not alive(args.pid):
        print(f"FAIL: server pid {args.pid} is not running")
        return 1
    if not os.path.exists(args.h2load) and not shutil.which(args.h2load):
        print(f"FAIL: h2load not found ({args.h2load}); install Debian's nghttp2-client")
        return 1
    warmup_percent = int(round(args.warmup * 100))
    if warmup_percent % 10:
        parser.error("--warmup must be a multiple of 0.1 (h2load reports progress in tenths)")

    with tempfile.TemporaryDirectory() as scratch:
        body = os.path.join(scratch, "body.json")
        with open(body, "wb") as out:
            out.write(b'{"data":"' + b"x" * 53 + b'"}')  # 64 bytes
        counted_before = requests_counted(host, port, args.cacert, args.route)
        per_client = max(1, args.rate // args.clients)
        command = [
            args.h2load,
            "-n", str(args.requests),
            "-c", str(args.clients),
            "-m", str(args.streams),
            "--rps", str(per_client),
            "-d", body,
            "-H", "content-type: application/json",
            f"https://{host}:{port}{args.path}",
        ]
        expected = args.requests / (per_client * args.clients)
        limit = expected * 2 + 60
        print(f"soak: {args.requests} requests (the bound), {per_client * args.clients}/s steady "
              f"({args.clients} connections × {per_client}/s, {args.streams} streams each), expected {expected:.0f} s, limit {limit:.0f} s")
        print("$ " + " ".join(command), flush=True)

        samples: list[tuple[float, int]] = []
        progress: dict[int, float] = {}
        output: list[str] = []
        started = time.monotonic()
        h2load = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        def read_output():
            for line in h2load.stdout:
                output.append(line)
                match = re.match(r"progress: (\d+)% done", line)
                if match:
                    progress[int(match.group(1))] = time.monotonic()

        reader = threading.Thread(target=read_output, daemon=True)
        reader.start()
        timed_out = False
        while h2load.poll() is None:
            value = rss_kib(args.pid)
            if value is not None:
                samples.append((time.monotonic(), value))
            if time.monotonic() - started > limit:
                h2load.kill()
                timed_out = True
                break
            time.sleep(1.0)
        h2load.wait()
        reader.join(timeout=10)
        took = time.monotonic() - started
        value = rss_kib(args.pid)
        if value is not None:
            samples.append((time.monotonic(), value))

    text = "".join(output)
    failures: list[str] = []
    summary = [line.rstrip() for line in output if re.match(r"(finished in|requests:|status codes:|traffic:|time for request:|time to 1st byte:|req/s)", line.strip())]
    for line in summary:
        print("  " + line.strip())
    print(f"took {took:.1f} s")
    if timed_out:
        failures.append(f"h2load did not finish within {limit:.0f} s and was stopped")
    if h2load.returncode not in (0, None) and not timed_out:
        failures.append(f"h2load exited with {h2load.returncode}")

    match = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", text)
    if not match:
        failures.append("h2load printed no request summary:\n" + text[-2000:])
    else:
        total, _started, done, succeeded, failed, errored, timeouts = map(int, match.groups())
        if not (done == succeeded == args.requests) or failed or errored or timeouts:
            failures.append(f"h2load: {done} done, {succeeded} succeeded, {failed} failed, {errored} errored, {timeouts} timeout of {args.requests}")
    match = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if not match:
        failures.append("h2load printed no status summary")
    else:
        ok, *others = map(int, match.groups())
        if ok != args.requests or any(others):
            failures.append(f"status codes: {ok} 2xx, {others[0]} 3xx, {others[1]} 4xx, {others[2]} 5xx")

    counted = requests_counted(host, port, args.cacert, args.route) - counted_before
    print(f"server's counter gcm_oracle_http_requests_total{{route=\"{args.route}\",status=\"200\"}} grew by {counted}")
    if counted != args.requests:
        failures.append(f"the server counted {counted} successful requests, not {args.requests}")

    if warmup_percent in progress:
        mark = progress[warmup_percent]
        after = [v for t, v in samples if t >= mark]
        before = [v for t, v in samples if t < mark]
        if after:
            baseline = after[0]
            peak = max(after)
            last = after[-1]
            print(
                f"RSS: start {mib(samples[0][1]) if samples else '-'}, peak during warm-up {mib(max(before)) if before else '-'}, "
                f"baseline after {warmup_percent} % {mib(baseline)}, peak after {mib(peak)} "
                f"({(peak / baseline - 1) * 100:+.1f} %), end {mib(last)}; {len(samples)} samples"
            )
            if peak > baseline * (1 + args.rss_growth):
                failures.append(f"RSS grew {(peak / baseline - 1) * 100:.1f} % after warm-up (> {args.rss_growth * 100:g} %)")
        else:
            failures.append("no RSS sample after the warm-up")
    else:
        failures.append(f"h2load never reported {warmup_percent} % progress")

    return verdict(
        failures,
        args.pid,
        f"{args.requests} requests in {took:.1f} s with no error, RSS within {args.rss_growth * 100:g} % after warm-up",
    )


if __name__ == "__main__":
    sys.exit(main())
