#!/usr/bin/env python3
"""Slow clients (slowloris) against a running gcm-oracle, on loopback.

The attack keeps --dribblers TLS connections that send a request's headers one byte at a time
(one byte every 100-500 ms, never finishing them) and --stallers connections that send complete
POST headers with Content-Length: 64, half of the body, then nothing. Whenever the server closes
one, its slot opens another, so the attack stays at full strength until the ordinary requests
are done (at least --duration seconds, at most --duration + 60), then the last slow connections
are left to be closed. Meanwhile a separate process (so the attacking event loop cannot
inflate its numbers) makes ordinary POST requests with 64-byte bodies at a steady rate,
alternating a keep-alive connection and fresh connections.

Pass/fail:
  * every dribbling connection is closed by the server (EOF, reset, or a 408 then EOF) within
    --request-timeout + --slack seconds of its TLS handshake completing;
  * every stalling connection is closed within --body-timeout + --slack seconds of its last byte;
  * every ordinary request succeeds (200, a JSON envelope with a 32-byte key, 12-byte nonce,
    16-byte tag, 64-byte ciphertext) and their p99 latency is at most --p99-ms (100 ms);
  * the server is still alive at the end.
The slack (default 2 s) covers scheduling on both sides: the timers of a busy server and of a
Python event loop driving over a thousand TLS connections (its worst lag is printed).
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import multiprocessing
import random
import re
import ssl
import sys
import time

from hostile_common import (
    alive,
    base_parser,
    describe,
    mib,
    percentile,
    raise_fd_limit,
    rss_kib,
    split_url,
    close_reason,
    tls_context,
    verdict,
)


def seconds(text: str) -> float:
    match = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s)?\s*", text)
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    value = float(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value


def body_of(size: int) -> bytes:
    """A JSON request body of exactly `size` bytes: {"data":"xxx…"}."""
    overhead = len(b'{"data":""}')
    return b'{"data":"' + b"x" * (size - overhead) + b'"}'


# ---------------------------------------------------------------------------------------------
# The ordinary client, in its own process.


def check_envelope(raw: bytes, plaintext_len: int) -> str:
    try:
        answer = json.loads(raw)
        sizes = {
            "key": 32,
            "nonce": 12,
            "mac": 16,
            "data": plaintext_len,
        }
        if set(answer) != set(sizes):
            return f"fields {sorted(answer)}"
        for field, size in sizes.items():
            got = len(base64.b64decode(answer[field], validate=True))
            if got != size:
                return f"{field} is {got} bytes, expected {size}"
    except (ValueError, TypeError) as err:
        return f"not a JSON envelope: {err}"
    return ""


def ordinary_main(host, port, cacert, path, count, rate, start_event, done_event, results):
    context = tls_context(cacert, ["http/1.1"])
    body = body_of(64)
    plaintext_len = 64 - len(b'{"data":""}')
    headers = {"Content-Type": "application/json"}
    start_event.wait()
    samples = []
    keep_alive = None
    interval = 1.0 / rate
    begin = time.monotonic()
    for i in range(count):
        # A steady schedule: the i-th request is due at begin + i * interval, whatever the
        # previous one took (a slow answer is not hidden by sending fewer requests).
        due = begin + i * interval
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        kind = "keep-alive" if i % 2 == 0 else "fresh"
        started = time.monotonic()
        why = ""
        try:
            if kind == "fresh":
                conn = http.client.HTTPSConnection(host, port, context=context, timeout=10)
            else:
                if keep_alive is None:
                    keep_alive = http.client.HTTPSConnection(host, port, context=context, timeout=10)
                    keep_alive.connect()
                    started = time.monotonic()  # the handshake is not part of a keep-alive request
                conn = keep_alive
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            elapsed = time.monotonic() - started
            if response.status != 200:
                why = f"status {response.status}: {raw[:120]!r}"
            else:
                why = check_envelope(raw, plaintext_len)
            if kind == "fresh":
                conn.close()
        except (OSError, http.client.HTTPException) as err:
            elapsed = time.monotonic() - started
            why = f"{type(err).__name__}: {err}"
            if kind == "keep-alive" and keep_alive is not None:
                keep_alive.close()
                keep_alive = None
        samples.append((kind, started, elapsed, why))
    if keep_alive is not None:
        keep_alive.close()
    done_event.set()
    results.put(samples)


# ---------------------------------------------------------------------------------------------
# The attack, in one event loop.


class Record:
    __slots__ = ("kind", "t_connect", "t_ready", "t_last_byte", "t_answer", "t_closed", "how", "first_line", "sent")

    def __init__(self, kind: str, t_connect: float):
        self.kind = kind
        self.t_connect = t_connect
        self.t_ready = None  # TLS handshake done
        self.t_last_byte = None  # stallers: the moment the half body was written
        self.t_answer = None  # the first byte the server sent (a 408)
        self.t_closed = None
        self.how = ""
        self.first_line = ""
        self.sent = 0


async def read_until_closed(reader: asyncio.StreamReader, record: Record) -> None:
    """Reads whatever the server sends until it closes; notes how and when."""
    received = b""
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                record.how = "eof"
                break
            if not received:
                record.t_answer = time.monotonic()
            received += chunk
    except OSError as err:
        record.how = close_reason(err)
    record.t_closed = time.monotonic()
    if received:
        record.first_line = received.split(b"\r\n", 1)[0].decode("latin-1")[:60]


class Attack:
    def __init__(self, args, host, port, context):
        self.args = args
        self.host = host
        self.port = port
        self.context = context
        self.records: list[Record] = []
        self.connect_errors: list[str] = []
        self.end_at = 0.0
        self.stopping = False
        self.open_now = {"dribbler": 0, "staller": 0}
        self.peak_open = {"dribbler": 0, "staller": 0}
        self.handshakes = asyncio.Semaphore(args.handshake_concurrency)

    async def connect(self, kind: str):
        record = Record(kind, time.monotonic())
        try:
            async with self.handshakes:
                record.t_connect = time.monotonic()
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        self.host, self.port, ssl=self.context, server_hostname=self.host, ssl_handshake_timeout=15
                    ),
                    timeout=20,
                )
        except (OSError, asyncio.TimeoutError, ssl.SSLError) as err:
            self.connect_errors.append(f"{kind}: {type(err).__name__}: {err}")
            await asyncio.sleep(0.2)
            return None
        record.t_ready = time.monotonic()
        self.records.append(record)
        return record, reader, writer

    def hold(self, kind: str, delta: int):
        self.open_now[kind] += delta
        self.peak_open[kind] = max(self.peak_open[kind], self.open_now[kind])

    def give_up(self, kind: str, record, reading: asyncio.Task, writer) -> None:
        """Ends one attacking connection: if the server has not closed it by now, it is
        recorded as still open; then the socket is dropped."""
        if not reading.done():
            reading.cancel()
            record.how = "still-open"
            record.t_closed = None
        writer.transport.abort()
        self.hold(kind, -1)

    async def attack(self, kind: str):
        """Opens one attacking connection and starts reading what the server sends on it:
        (record, reading task, writer), or None if it could not connect."""
        opened = await self.connect(kind)
        if opened is None:
            return None
        record, reader, writer = opened
        self.hold(kind, 1)
        return record, asyncio.create_task(read_until_closed(reader, record)), writer

    async def dribble_once(self) -> None:
        attacking = await self.attack("dribbler")
        if attacking is None:
            return
        record, reading, writer = attacking
        # Headers that never end: a request line, a Host, then padding headers forever.
        stream = (
            f"GET /healthz HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n".encode()
            + b"".join(f"X-Pad-{n}: {'a' * 20}\r\n".encode() for n in range(1000))
        )
        limit = record.t_ready + self.args.request_timeout + self.args.slack + 3.0
        try:
            for byte in stream:
                if reading.done() or time.monotonic() > limit:
                    break
                writer.write(bytes([byte]))
                record.sent += 1
                try:
                    await asyncio.wait_for(asyncio.shield(reading), random.uniform(self.args.dribble_min, self.args.dribble_max))
                except asyncio.TimeoutError:
                    pass
            if not reading.done():
                await asyncio.wait_for(asyncio.shield(reading), max(0.0, limit - time.monotonic()))
        except (asyncio.TimeoutError, OSError, ssl.SSLError):
            pass
        finally:
            self.give_up("dribbler", record, reading, writer)

    async def stall_once(self) -> None:
        attacking = await self.attack("staller")
        if attacking is None:
            return
        record, reading, writer = attacking
        body = body_of(64)
        head = (
            f"POST {self.args.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        try:
            writer.write(head + body[: len(body) // 2])
            await writer.drain()
            record.sent = len(head) + len(body) // 2
            record.t_last_byte = time.monotonic()
            limit = self.args.body_timeout + self.args.slack + 3.0
            await asyncio.wait_for(asyncio.shield(reading), limit)
        except (asyncio.TimeoutError, OSError, ssl.SSLError):
            pass
        finally:
            self.give_up("staller", record, reading, writer)

    async def slot(self, once):
        while not self.stopping:
            await once()

    async def loop_lag(self, lags: list[float]):
        while not self.stopping:
            before = time.monotonic()
            await asyncio.sleep(0.05)
            lags.append(time.monotonic() - before - 0.05)


async def attack(args, host, port, start_ordinary, ordinary_done) -> tuple[Attack, list[float], float, float]:
    """Runs the attack at full strength until the ordinary client is done and at least
    --duration seconds have passed (at most --duration + 60 s), then lets every open slow
    connection run to its close."""
    context = tls_context(args.cacert, ["http/1.1"])
    state = Attack(args, host, port, context)
    started = time.monotonic()
    lags: list[float] = []
    lag_task = asyncio.create_task(state.loop_lag(lags))
    slots = [asyncio.create_task(state.slot(state.dribble_once)) for _ in range(args.dribblers)]
    slots += [asyncio.create_task(state.slot(state.stall_once)) for _ in range(args.stallers)]
    # The ordinary client starts once the attack is at full strength (or after 10 s at most).
    while time.monotonic() < started + 10.0:
        if (
            state.open_now["dribbler"] >= args.dribblers * 0.95
            and state.open_now["staller"] >= args.stallers * 0.95
        ):
            break
        await asyncio.sleep(0.05)
    ramp = time.monotonic() - started
    start_ordinary.set()
    hard_end = started + args.duration + 60
    while time.monotonic() < hard_end:
        if time.monotonic() >= started + args.duration and ordinary_done.is_set():
            break
        await asyncio.sleep(0.1)
    state.end_at = time.monotonic()
    state.stopping = True
    await asyncio.gather(*slots)
    lag_task.cancel()
    return state, lags, ramp, state.end_at - started


def main() -> int:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--request-timeout", type=seconds, required=True, help="the server's --request-timeout (e.g. 2s)")
    parser.add_argument("--body-timeout", type=seconds, required=True, help="the server's --body-timeout (e.g. 2s)")
    parser.add_argument("--slack", type=float, default=2.0, help="seconds allowed past a timeout (default %(default)s)")
    parser.add_argument("--dribblers", type=int, default=1000, help="concurrent header-dribbling connections")
    parser.add_argument("--stallers", type=int, default=200, help="concurrent connections stalled mid-body")
    parser.add_argument("--duration", type=float, default=10.0, help="least seconds the attack is kept at full strength (it also lasts until the ordinary requests are done)")
    parser.add_argument("--dribble-min", type=float, default=0.1, help="shortest pause between two header bytes (s)")
    parser.add_argument("--dribble-max", type=float, default=0.5, help="longest pause between two header bytes (s)")
    parser.add_argument("--handshake-concurrency", type=int, default=64, help="TLS handshakes the attacker runs at once")
    parser.add_argument("--ordinary", type=int, default=300, help="ordinary requests made during the attack")
    parser.add_argument("--ordinary-rate", type=float, default=30.0, help="ordinary requests per second")
    parser.add_argument("--p99-ms", type=float, default=100.0, help="p99 latency bound for ordinary requests")
    args = parser.parse_args()
    host, port = split_url(args.url)

    nofile = raise_fd_limit()
    if nofile < args.dribblers + args.stallers + 100:
        print(f"FAIL: RLIMIT_NOFILE is {nofile}, too low for {args.dribblers + args.stallers} connections")
        return 1
    if not alive(args.pid):
        print(f"FAIL: server pid {args.pid} is not running")
        return 1

    rss_before = rss_kib(args.pid)
    ctx = multiprocessing.get_context("spawn")
    start_ordinary = ctx.Event()
    ordinary_done = ctx.Event()
    results = ctx.Queue()
    ordinary = ctx.Process(
        target=ordinary_main,
        args=(host, port, args.cacert, args.path, args.ordinary, args.ordinary_rate, start_ordinary, ordinary_done, results),
        daemon=True,
    )
    ordinary.start()
    rss_peak = [rss_before or 0]

    async def run():
        async def sample():
            while True:
                value = rss_kib(args.pid)
                if value:
                    rss_peak[0] = max(rss_peak[0], value)
                await asyncio.sleep(0.2)

        sampler = asyncio.create_task(sample())
        outcome = await attack(args, host, port, start_ordinary, ordinary_done)
        sampler.cancel()
        return outcome

    t0 = time.monotonic()
    state, lags, ramp, full_strength = asyncio.run(run())
    elapsed = time.monotonic() - t0
    start_ordinary.set()
    try:
        samples = results.get(timeout=args.duration + 60)
    except Exception:  # noqa: BLE001 - queue.Empty or a dead child: both are a failure
        samples = None
    ordinary.join(timeout=10)
    rss_after = rss_kib(args.pid)

    failures: list[str] = []
    print(
        f"attack: {elapsed:.1f} s in all, {full_strength:.1f} s of it opening new slow connections; "
        f"{args.dribblers} dribbling + {args.stallers} stalling slots "
        f"(peak open {state.peak_open['dribbler']} + {state.peak_open['staller']}, reached after {ramp:.1f} s); "
        f"server timeouts: request {args.request_timeout:g} s, body {args.body_timeout:g} s; slack {args.slack:g} s"
    )
    print(f"attacker event-loop lag: {describe(lags)}")
    if state.connect_errors:
        print(f"attacker connections that failed to open: {len(state.connect_errors)} (first: {state.connect_errors[0]})")

    for kind, timeout, since in (
        ("dribbler", args.request_timeout, "handshake done"),
        ("staller", args.body_timeout, "last body byte"),
    ):
        records = [r for r in state.records if r.kind == kind]
        closed = [r for r in records if r.t_closed is not None]
        still_open = [r for r in records if r.t_closed is None]
        if kind == "dribbler":
            times = [r.t_closed - r.t_ready for r in closed]
            answers = [r.t_answer - r.t_ready for r in closed if r.t_answer]
        else:
            closed = [r for r in closed if r.t_last_byte is not None]
            times = [r.t_closed - r.t_last_byte for r in closed]
            answers = [r.t_answer - r.t_last_byte for r in closed if r.t_answer]
        hows: dict[str, int] = {}
        for r in closed:
            key = f"{r.first_line or '(nothing)'} then {r.how}"
            hows[key] = hows.get(key, 0) + 1
        print(f"{kind}s: {len(records)} connections, {len(closed)} closed by the server, {len(still_open)} still open")
        print(f"  close time since {since}: {describe(times, 's', 1.0)}")
        print(f"  answer (408) time since {since}: {describe(answers, 's', 1.0)}")
        if kind == "dribbler":
            print(f"  close time since the TCP connect began: {describe([r.t_closed - r.t_connect for r in closed], 's', 1.0)}")
        print("  reactions: " + "; ".join(f"{n} × {how}" for how, n in sorted(hows.items(), key=lambda kv: -kv[1])))
        if kind == "dribbler":
            sent = [r.sent for r in closed]
            if sent:
                print(f"  header bytes sent before the close: min {min(sent)}, max {max(sent)}")
        bound = timeout + args.slack
        late = [t for t in times if t > bound]
        if not records:
            failures.append(f"no {kind} connection could be opened")
        if still_open:
            failures.append(f"{len(still_open)} {kind} connections were still open {timeout + args.slack + 3:g} s after they began")
        if late:
            failures.append(f"{len(late)} {kind} connections closed later than {bound:g} s (worst {max(late):.2f} s)")
        # A close long before the timeout would mean something else closed them (a crash, a
        # limit): the timeout is what this checks. (The server's clock may start at the TCP
        # accept, a little before the handshake completes here, hence the margin.)
        if times and min(times) < timeout * 0.5:
            failures.append(
                f"{kind} connections closed after {min(times):.2f} s, well before the {timeout:g} s timeout: not the timeout at work"
            )

    if samples is None:
        failures.append("the ordinary client did not report")
    else:
        bad = [s for s in samples if s[3]]
        for kind in ("keep-alive", "fresh", "all"):
            chosen = [s for s in samples if kind == "all" or s[0] == kind]
            latencies = [s[2] for s in chosen if not s[3]]
            label = {"keep-alive": "keep-alive connection", "fresh": "fresh connection (incl. TLS handshake)", "all": "all"}[kind]
            print(f"ordinary requests, {label}: {describe(latencies)}")
        if samples:
            span = samples[-1][1] - samples[0][1]
            print(f"ordinary requests: {len(samples)} over {span:.1f} s, {len(bad)} failed")
        if bad:
            failures.append(f"{len(bad)} ordinary requests failed (first: {bad[0][3]})")
        latencies = [s[2] for s in samples if not s[3]]
        p99 = percentile(latencies, 0.99) * 1000 if latencies else float("inf")
        if p99 > args.p99_ms:
            failures.append(f"ordinary request p99 {p99:.1f} ms > {args.p99_ms:g} ms")
        # Against the moment the attack stopped itself: t0 is taken before the event loop
        # starts, a few ms before the attack's own clock, and t0 + full_strength would end the
        # window early by that much.
        in_window = [s for s in samples if s[1] + s[2] <= state.end_at]
        if len(in_window) < len(samples):
            failures.append(f"only {len(in_window)} of {len(samples)} ordinary requests finished during the attack")

    print(
        f"server RSS: before {mib(rss_before or 0)}, peak {mib(rss_peak[0])}, after {mib(rss_after or 0)}"
    )
    return verdict(
        failures, args.pid, "slow clients were closed within the timeouts and ordinary requests kept their latency"
    )


if __name__ == "__main__":
    sys.exit(main())
