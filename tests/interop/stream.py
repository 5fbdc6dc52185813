#!/usr/bin/env python3
"""Interoperability of the streaming endpoints against a running gcm-oracle server.

Independent implementations on the other side of each stream: `http_ece` (RFC 8188,
`aes128gcm`) opens what /oracleinvocation/stream writes, for record sizes from the smallest to
the default and clear text on every side of a record boundary; and what it writes opens through
/decrypt/stream, byte for byte. Google's `tink` (streaming AEAD, AES256_GCM_HKDF_1MB) does the
same for `aes256gcm-hkdf-1mb`, on every side of its 1 MiB segments, with and without associated
data (Oracle-Aad); a wrong one fails on both sides. Tampered and truncated streams are refused,
and a key sealed for an RSA recipient unwraps with `cryptography`.

    python3 stream.py --url https://127.0.0.1:8443 --cacert certs/dev-ca.pem

The client is full duplex, as curl is: it reads the ciphertext while it still uploads the clear
text, so a server that streams with backpressure cannot deadlock it. Every exchange has a
deadline (--timeout, default 60 s), and the whole run another (--deadline, default 600 s).

Prints one PASS/FAIL line per check and ends with "N passed, M failed"; exits 1 on any failure.
"""

import argparse
import asyncio
import io
import json
import os
import signal
import ssl
import struct
import urllib.parse
from importlib.metadata import version

import http_ece
import tink
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tink import cleartext_keyset_handle, streaming_aead
from tink.proto import aes_gcm_hkdf_streaming_pb2, common_pb2, tink_pb2

from oracle import b64, check, finish, unb64

# The wire contract of the streaming endpoints, as docs/WIRE.md documents it.
SEAL, OPEN = "/oracleinvocation/stream", "/decrypt/stream"
ECE, TINK = "aes128gcm", "aes256gcm-hkdf-1mb"
ECE_HEADER_LEN = 16 + 4 + 1  # salt, rs, idlen (0: no key id)
ECE_OVERHEAD = 1 + 16  # the delimiter and the tag
DEFAULT_RS = 65536
TINK_SEGMENT = 1 << 20
TINK_FIRST_CLEAR = TINK_SEGMENT - 40 - 16  # the first segment also holds the 40-byte header
WRAP_RSA = "rsa-oaep-sha256"
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
AAD = b"order 7 \x00\xff"
MiB = 1 << 20


# --- a full-duplex HTTP/1.1 client -----------------------------------------------------

class Reply:
    """One answer: status, headers (lower-case names), the body as far as it came, and why it did
    not end cleanly (None when it did)."""

    def __init__(self, status, headers, body, aborted):
        self.status, self.headers, self.body, self.aborted = status, headers, body, aborted

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def code(self):
        answer = self.json()
        return answer.get("code") if isinstance(answer, dict) else None

    def __repr__(self):
        if self.aborted:
            return f"status {self.status}, aborted after {len(self.body)} body bytes: {self.aborted}"
        return f"status {self.status}, {len(self.body)} bytes: {self.body[:200]!r}"


class Client:
    """POSTs raw bodies over its own TLS connection per request, uploading and reading at once."""

    def __init__(self, url, cacert, timeout):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 443
        self.context = ssl.create_default_context(cafile=cacert)
        self.timeout = timeout

    def post(self, path, body, headers=None, chunked=False):
        """The Reply to POST `path`; the body goes with Content-Length, or chunked."""
        try:
            return asyncio.run(asyncio.wait_for(self._exchange(path, body, headers or {}, chunked), self.timeout))
        except (asyncio.TimeoutError, TimeoutError):
            return Reply(None, {}, b"", f"no complete answer within {self.timeout} s")
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError, ValueError) as error:
            return Reply(None, {}, b"", repr(error))

    async def _exchange(self, path, body, headers, chunked):
        reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self.context)
        try:
            head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Connection: close"]
            head += [f"{name}: {value}" for name, value in headers.items()]
            head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}")
            sender = asyncio.create_task(self._send(writer, ("\r\n".join(head) + "\r\n\r\n").encode("latin-1"), body, chunked))
            try:
                return await self._receive(reader)
            finally:
                # The server may answer (a 415, a 400) before it has read the whole body.
                if not sender.done():
                    sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (OSError, ssl.SSLError):
                pass

    @staticmethod
    async def _send(writer, head, body, chunked):
        writer.write(head)
        for at in range(0, len(body), 64 * 1024):
            piece = body[at:at + 64 * 1024]
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
        await writer.drain()

    @staticmethod
    async def _receive(reader):
        status_line = await reader.readline()
        if not status_line:
            return Reply(None, {}, b"", "connection closed before an answer")
        status = int(status_line.split()[1])
        headers = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        body = bytearray()
        try:
            if "chunked" in headers.get("transfer-encoding", "").lower():
                while size := int((await reader.readline()).split(b";")[0].strip() or b"-1", 16):
                    if size < 0:
                        return Reply(status, headers, bytes(body), "the chunked body ended without its last chunk")
                    body += await reader.readexactly(size)
                    await reader.readexactly(2)
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
            elif "content-length" in headers:
                body += await reader.readexactly(int(headers["content-length"]))
            else:
                body += await reader.read()
        except (asyncio.IncompleteReadError, OSError, ssl.SSLError, ValueError) as error:
            if isinstance(error, asyncio.IncompleteReadError):
                body += error.partial
            return Reply(status, headers, bytes(body), repr(error))
        return Reply(status, headers, bytes(body), None)


def query(**params):
    given = {name: value for name, value in params.items() if value is not None}
    return "?" + urllib.parse.urlencode(given) if given else ""


def octets(**headers):
    """Request headers: the body is bytes; None values left out."""
    given = {"Content-Type": "application/octet-stream"}
    given.update((name.replace("_", "-"), value) for name, value in headers.items() if value is not None)
    return given


def answer_problems(reply, fmt, key_len, exact_length):
    """What is wrong with the headers of a 200 from /oracleinvocation/stream."""
    problems = []
    if reply.headers.get("content-type") != "application/octet-stream":
        problems.append(f"Content-Type {reply.headers.get('content-type')!r}")
    if reply.headers.get("oracle-format") != fmt:
        problems.append(f"Oracle-Format {reply.headers.get('oracle-format')!r}")
    try:
        length = len(unb64(reply.headers.get("oracle-key", "")))
    except ValueError as error:
        length = repr(error)
    if length != key_len:
        problems.append(f"Oracle-Key of {length} bytes, not {key_len}")
    if exact_length and reply.headers.get("content-length") != str(len(reply.body)):
        problems.append(f"Content-Length {reply.headers.get('content-length')!r} for {len(reply.body)} body bytes")
    if "no-store" not in [token.strip() for token in reply.headers.get("cache-control", "").split(",")]:
        problems.append(f"Cache-Control {reply.headers.get('cache-control')!r}")
    return problems


def refused(reply):
    """A decryption that failed as the contract says: a JSON 4xx `decryption_failed` before any
    clear text, or a 200 whose body is cut off (connection closed, RST_STREAM)."""
    if reply.status is not None and 400 <= reply.status < 500:
        return reply.code() == "decryption_failed"
    return reply.status == 200 and reply.aborted is not None


def opened(reply, clear):
    """The check and its detail for a /decrypt/stream answer that should be `clear`."""
    if reply.status != 200 or reply.aborted is not None:
        return False, repr(reply)
    if reply.body != clear:
        return False, f"{len(reply.body)} bytes that differ from the {len(clear)} sent"
    if "no-store" not in reply.headers.get("cache-control", ""):
        return False, f"Cache-Control {reply.headers.get('cache-control')!r}"
    return True, ""


# --- RFC 8188 with http_ece ----------------------------------------------------------------

def ece_sizes(rs):
    """Clear text on every side of the first record boundaries (rs - 17 bytes per record)."""
    return sorted({0, 1, rs - 18, rs - 17, rs, rs + 1})


def ece_decrypt(ciphertext, key):
    try:
        return http_ece.decrypt(ciphertext, key=key, version=ECE), None
    except http_ece.ECEException as error:
        return None, error.message


def server_streams_open_in_http_ece(client):
    cases = [(rs, size) for rs in (18, 100, 4096) for size in ece_sizes(rs)]
    cases += [(None, size) for size in ece_sizes(DEFAULT_RS) + [3 * MiB + 7]]
    for rs, size in cases:
        what = f"aes128gcm, rs {rs or f'{DEFAULT_RS} (default)'}, {size} bytes"
        clear = os.urandom(size)
        reply = client.post(SEAL + query(rs=rs), clear, octets())
        if reply.status != 200 or reply.aborted:
            check(f"server seals a stream ({what})", False, repr(reply))
            continue
        problems = answer_problems(reply, ECE, 16, exact_length=True)
        check(f"answer headers ({what})", not problems, "; ".join(problems))
        header = reply.body[:ECE_HEADER_LEN]
        record_size, idlen = struct.unpack("!LB", header[16:]) if len(header) == ECE_HEADER_LEN else (None, None)
        check(f"stream header: rs {rs or DEFAULT_RS}, no key id ({what})", (record_size, idlen) == (rs or DEFAULT_RS, 0),
              f"rs {record_size}, idlen {idlen}")
        if size == 0:
            # http_ece would accept a header alone, but a stream without its last record is one
            # whose records were all cut off: the empty stream is one empty last record.
            check(f"the empty stream is one record ({what})", len(reply.body) == ECE_HEADER_LEN + ECE_OVERHEAD,
                  f"{len(reply.body)} bytes")
        opened_clear, error = ece_decrypt(reply.body, unb64(reply.headers["oracle-key"]))
        check(f"http_ece opens the server's stream ({what})", opened_clear == clear,
              error or f"{len(opened_clear)} bytes that differ from the {size} sent")


def http_ece_streams_open_on_the_server(client):
    cases = [(rs, size) for rs in (18, 100, 4096, DEFAULT_RS) for size in ece_sizes(rs) if size]
    cases.append((DEFAULT_RS, 3 * MiB + 7))
    for rs, size in cases:
        what = f"aes128gcm, rs {rs}, {size} bytes"
        key, clear = os.urandom(16), os.urandom(size)
        ciphertext = http_ece.encrypt(clear, key=key, rs=rs, version=ECE)
        reply = client.post(OPEN, ciphertext, octets(oracle_key=b64(key)))
        check(f"/decrypt/stream opens http_ece's stream ({what})", *opened(reply, clear))

    key = os.urandom(16)
    header_only = http_ece.encrypt(b"", key=key, rs=4096, version=ECE)
    assert len(header_only) == ECE_HEADER_LEN, "http_ece writes the empty clear text as a header alone"
    salt = header_only[:16]
    cek, nonce = http_ece.derive_key("encrypt", ECE, salt, key, None, None, None, None)
    one_empty_record = header_only + AESGCM(cek).encrypt(nonce, b"\x02", None)
    reply = client.post(OPEN, one_empty_record, octets(oracle_key=b64(key)))
    check("/decrypt/stream opens one empty last record to nothing", *opened(reply, b""))
    reply = client.post(OPEN, header_only, octets(oracle_key=b64(key)))
    check("/decrypt/stream refuses a header without records (http_ece's empty stream: every record cut off)",
          refused(reply), repr(reply))


def broken_ece_streams_are_refused(client):
    key, clear = os.urandom(16), os.urandom(3 * MiB + 7)
    ciphertext = http_ece.encrypt(clear, key=key, rs=DEFAULT_RS, version=ECE)
    first_record = ECE_HEADER_LEN + 5
    last_record = len(ciphertext) - 5
    whole_records = ECE_HEADER_LEN + (len(ciphertext) - ECE_HEADER_LEN) // DEFAULT_RS * DEFAULT_RS
    flip = lambda data, at: data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]
    cases = [
        ("a wrong key", ciphertext, os.urandom(16), True),
        ("the first record tampered with", flip(ciphertext, first_record), key, True),
        ("the last record tampered with", flip(ciphertext, last_record), key, False),
        ("the last record cut off", ciphertext[:whole_records], key, False),
        ("cut in the middle of a record", ciphertext[:whole_records - 100], key, False),
        ("the header's rs changed", ciphertext[:16] + struct.pack("!L", 4096) + ciphertext[20:], key, True),
    ]
    for what, body, key_used, first in cases:
        reply = client.post(OPEN, body, octets(oracle_key=b64(key_used)))
        if first:
            # Detected in the first record, before any clear text: the JSON error.
            ok = reply.status is not None and 400 <= reply.status < 500 and reply.code() == "decryption_failed"
        else:
            ok = refused(reply)
        check(f"/decrypt/stream refuses aes128gcm with {what}", ok, repr(reply))


def chunked_uploads_stream(client):
    for rs, size in ((None, 0), (100, 1000), (None, 3 * MiB + 7)):
        what = f"chunked upload, rs {rs or DEFAULT_RS}, {size} bytes"
        clear = os.urandom(size)
        reply = client.post(SEAL + query(rs=rs), clear, octets(), chunked=True)
        if reply.status != 200 or reply.aborted:
            check(f"server seals a stream ({what})", False, repr(reply))
            continue
        problems = answer_problems(reply, ECE, 16, exact_length=False)
        check(f"answer headers ({what})", not problems, "; ".join(problems))
        opened_clear, error = ece_decrypt(reply.body, unb64(reply.headers["oracle-key"]))
        check(f"http_ece opens the server's stream ({what})", opened_clear == clear, error or "different clear text")
        reply = client.post(OPEN, reply.body, octets(oracle_key=reply.headers["oracle-key"]), chunked=True)
        check(f"/decrypt/stream opens it back ({what})", *opened(reply, clear))
    reply = client.post(SEAL, b"no content type", {})
    check("a body without Content-Type is taken as bytes", reply.status == 200 and not reply.aborted, repr(reply))


# --- Tink's streaming AEAD -----------------------------------------------------------------

def tink_primitive(raw_key):
    """Tink's StreamingAead for a raw 32-byte key: an AesGcmHkdfStreamingKey with the
    AES256_GCM_HKDF_1MB parameters in a one-key RAW keyset, read as cleartext."""
    key = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey(
        version=0,
        key_value=raw_key,
        params=aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingParams(
            ciphertext_segment_size=TINK_SEGMENT, derived_key_size=32, hkdf_hash_type=common_pb2.SHA256),
    )
    keyset = tink_pb2.Keyset(primary_key_id=1, key=[tink_pb2.Keyset.Key(
        key_data=tink_pb2.KeyData(
            type_url="type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey",
            value=key.SerializeToString(),
            key_material_type=tink_pb2.KeyData.SYMMETRIC),
        status=tink_pb2.ENABLED,
        key_id=1,
        output_prefix_type=tink_pb2.RAW)])
    handle = cleartext_keyset_handle.read(tink.BinaryKeysetReader(keyset.SerializeToString()))
    return handle.primitive(streaming_aead.StreamingAead)


class _Sink(io.BytesIO):
    """Keeps what was written after Tink closes it."""

    def close(self):
        self.written = self.getvalue()
        super().close()


def tink_encrypt(raw_key, clear, aad):
    sink = _Sink()
    with tink_primitive(raw_key).new_encrypting_stream(sink, aad) as stream:
        stream.write(clear)
    return sink.written


def tink_decrypt(raw_key, ciphertext, aad):
    try:
        with tink_primitive(raw_key).new_decrypting_stream(io.BytesIO(ciphertext), aad) as stream:
            return stream.read(), None
    except tink.TinkError as error:
        return None, repr(error)


TINK_SIZES = (0, 1, TINK_FIRST_CLEAR, TINK_FIRST_CLEAR + 1, 3 * MiB + 5)


def server_streams_open_in_tink(client):
    for aad in (None, AAD):
        for size in TINK_SIZES:
            what = f"{TINK}, {size} bytes, {'aad' if aad else 'no aad'}"
            clear = os.urandom(size)
            reply = client.post(SEAL + query(format=TINK), clear, octets(oracle_aad=b64(aad) if aad else None))
            if reply.status != 200 or reply.aborted:
                check(f"server seals a stream ({what})", False, repr(reply))
                continue
            problems = answer_problems(reply, TINK, 32, exact_length=True)
            check(f"answer headers ({what})", not problems, "; ".join(problems))
            key = unb64(reply.headers["oracle-key"])
            opened_clear, error = tink_decrypt(key, reply.body, aad or b"")
            check(f"tink opens the server's stream ({what})", opened_clear == clear, error or "different clear text")
            if size == 1:
                wrong = b"" if aad else b"other"
                opened_clear, error = tink_decrypt(key, reply.body, wrong)
                check(f"tink refuses it with the wrong associated data ({what})", opened_clear is None,
                      "opened with the wrong associated data")


def tink_streams_open_on_the_server(client):
    for aad in (None, AAD):
        for size in TINK_SIZES:
            what = f"{TINK}, {size} bytes, {'aad' if aad else 'no aad'}"
            key, clear = os.urandom(32), os.urandom(size)
            ciphertext = tink_encrypt(key, clear, aad or b"")
            headers = octets(oracle_key=b64(key), oracle_aad=b64(aad) if aad else None)
            reply = client.post(OPEN + query(format=TINK), ciphertext, headers)
            check(f"/decrypt/stream opens tink's stream ({what})", *opened(reply, clear))

    key = os.urandom(32)
    for size in (1, 3 * MiB + 5):
        ciphertext = tink_encrypt(key, os.urandom(size), AAD)
        for what, aad in (("no", None), ("different", b"order 8")):
            headers = octets(oracle_key=b64(key), oracle_aad=b64(aad) if aad else None)
            reply = client.post(OPEN + query(format=TINK), ciphertext, headers)
            # The key derives from the associated data: the first segment fails, before any clear text.
            ok = reply.status is not None and 400 <= reply.status < 500 and reply.code() == "decryption_failed"
            check(f"/decrypt/stream refuses tink's stream ({size} bytes) with {what} associated data", ok, repr(reply))

    ciphertext = tink_encrypt(key, os.urandom(3 * MiB + 5), b"")
    for what, body in (("the last segment cut off", ciphertext[:2 * TINK_SEGMENT]),
                       ("the last segment tampered with", ciphertext[:-1] + bytes([ciphertext[-1] ^ 1]))):
        reply = client.post(OPEN + query(format=TINK), body, octets(oracle_key=b64(key)))
        check(f"/decrypt/stream refuses tink's stream with {what}", refused(reply), repr(reply))


# --- the rest of the contract ---------------------------------------------------------------

def recipients_unwrap_in_cryptography(client):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    spki = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    for fmt, key_len, decrypt in ((ECE, 16, ece_decrypt), (TINK, 32, lambda c, k: tink_decrypt(k, c, b""))):
        clear = os.urandom(1000)
        reply = client.post(SEAL + query(format=fmt), clear, octets(oracle_recipient=b64(spki)))
        if reply.status != 200 or reply.aborted:
            check(f"server seals a {fmt} stream for an RSA recipient", False, repr(reply))
            continue
        headers = reply.headers
        check(f"no Oracle-Key, Oracle-Wrap {WRAP_RSA} ({fmt})",
              "oracle-key" not in headers and headers.get("oracle-wrap") == WRAP_RSA and "oracle-wrapped-key" in headers,
              json.dumps(sorted(headers)))
        try:
            key = private.decrypt(unb64(headers.get("oracle-wrapped-key", "")), OAEP)
            opened_clear, error = decrypt(reply.body, key)
            ok, detail = len(key) == key_len and opened_clear == clear, error or f"a {len(key)}-byte key, or different clear text"
        except ValueError as error:
            ok, detail = False, repr(error)
        check(f"cryptography unwraps the key and the stream opens ({fmt})", ok, detail)


def requests_outside_the_contract_are_400s(client):
    key16 = b64(os.urandom(16))
    cases = [
        ("Oracle-Aad with aes128gcm", SEAL, octets(oracle_aad=b64(b"x"))),
        ("rs 17", SEAL + "?rs=17", octets()),
        ("rs over 16 MiB", SEAL + f"?rs={16 * MiB + 1}", octets()),
        ("rs with the Tink format", SEAL + f"?format={TINK}&rs=4096", octets()),
        ("an unknown format", SEAL + "?format=aes128gcm-but-not", octets()),
        ("an unknown query parameter", SEAL + "?level=9", octets()),
        ("/decrypt/stream without Oracle-Key", OPEN, octets()),
        ("/decrypt/stream with a 16-byte key for the Tink format", OPEN + f"?format={TINK}", octets(oracle_key=key16)),
        ("an Oracle-Key that is not base64", OPEN, octets(oracle_key="not base64!")),
    ]
    for what, path, headers in cases:
        reply = client.post(path, b"x" * 100, headers)
        check(f"{what}: a JSON 400", reply.status == 400 and isinstance(reply.code(), str), repr(reply))
    reply = client.post(SEAL, b"x", {"Content-Type": "text/plain"})
    check("Content-Type: text/plain: a JSON 415", reply.status == 415 and isinstance(reply.code(), str), repr(reply))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="https://localhost:8443")
    parser.add_argument("--cacert", required=True)
    parser.add_argument("--timeout", type=float, default=60, help="seconds for one exchange")
    parser.add_argument("--deadline", type=int, default=600, help="seconds for the whole run")
    args = parser.parse_args()

    def out_of_time(_signum, _frame):
        check(f"the run ends within {args.deadline} s", False, "deadline passed")
        finish()

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(args.deadline)
    streaming_aead.register()
    client = Client(args.url, args.cacert, args.timeout)
    server_streams_open_in_http_ece(client)
    http_ece_streams_open_on_the_server(client)
    broken_ece_streams_are_refused(client)
    chunked_uploads_stream(client)
    server_streams_open_in_tink(client)
    tink_streams_open_on_the_server(client)
    recipients_unwrap_in_cryptography(client)
    requests_outside_the_contract_are_400s(client)
    print(f"(http_ece {version('http_ece')}, tink {version('tink')})")
    finish()


if __name__ == "__main__":
    main()
