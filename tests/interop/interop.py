#!/usr/bin/env python3
"""Interoperability check against a running gcm-oracle server.

Two independent AES-GCM implementations, Python's `cryptography` (OpenSSL) and `pycryptodome`,
decrypt the server's answers for every key and nonce size, with and without associated data,
for text and binary clear text; and data they encrypt opens through the server's /decrypt/.

    python3 interop.py --url https://127.0.0.1:8443 --cacert certs/dev-ca.pem

Prints one PASS/FAIL line per check and ends with "N passed, M failed"; exits 1 on any failure.
"""

import argparse
import os

from Crypto.Cipher import AES
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from oracle import Oracle, b64, check, finish, unb64

KEY_BITS = (128, 192, 256)
NONCE_BITS = (96, 128)
TEXT = 'He said "héllo" \\ 👋 — ünïcødé'
BINARY = bytes(range(256)) + b"\x00\xff"

def decrypt_cryptography(envelope, aad):
    ciphertext, tag = unb64(envelope["data"]), unb64(envelope["mac"])
    return AESGCM(unb64(envelope["key"])).decrypt(unb64(envelope["nonce"]), ciphertext + tag, aad or None)


def decrypt_pycryptodome(envelope, aad):
    cipher = AES.new(unb64(envelope["key"]), AES.MODE_GCM, nonce=unb64(envelope["nonce"]))
    if aad:
        cipher.update(aad)
    return cipher.decrypt_and_verify(unb64(envelope["data"]), unb64(envelope["mac"]))


def server_answers_decrypt_in_python(oracle):
    for key_bits in KEY_BITS:
        for nonce_bits in NONCE_BITS:
            for aad in (None, b"order 7", b"order 7 \xff"):
                for name, clear in (("text", TEXT.encode("utf-8")), ("binary", BINARY)):
                    request = {"key_bits": key_bits, "nonce_bits": nonce_bits}
                    if name == "text" and (aad is None or aad.isascii()):
                        request["data"] = TEXT
                        if aad is not None:
                            request["aad"] = aad.decode("ascii")
                    else:
                        request.update(data=b64(clear), encoding="base64")
                        if aad is not None:
                            request["aad"] = b64(aad)
                    what = f"AES-{key_bits}, {nonce_bits}-bit nonce, {'aad' if aad else 'no aad'}, {name}"
                    status, envelope = oracle.post("/oracleinvocation/", request)
                    if status != 200:
                        check(f"server encrypts ({what})", False, f"status {status}: {envelope}")
                        continue
                    sizes = (len(unb64(envelope["key"])), len(unb64(envelope["nonce"])), len(unb64(envelope["mac"])))
                    check(f"sizes ({what})", sizes == (key_bits // 8, nonce_bits // 8, 16), f"got {sizes}")
                    for library, decrypt in (("cryptography", decrypt_cryptography), ("pycryptodome", decrypt_pycryptodome)):
                        try:
                            ok, detail = decrypt(envelope, aad) == clear, "different clear text"
                        except Exception as error:  # noqa: BLE001 - any failure is the finding
                            ok, detail = False, repr(error)
                        check(f"{library} decrypts the server's answer ({what})", ok, detail)


def python_encryptions_open_on_the_server(oracle):
    for key_bits in KEY_BITS:
        for nonce_bits in NONCE_BITS:
            for aad in (b"", b"header \x00\x01"):
                key, nonce = os.urandom(key_bits // 8), os.urandom(nonce_bits // 8)
                what = f"AES-{key_bits}, {nonce_bits}-bit nonce, {'aad' if aad else 'no aad'}"

                sealed = AESGCM(key).encrypt(nonce, BINARY, aad or None)
                envelopes = {"cryptography": (sealed[:-16], sealed[-16:])}
                cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
                cipher.update(aad)
                envelopes["pycryptodome"] = cipher.encrypt_and_digest(BINARY)

                for library, (ciphertext, tag) in envelopes.items():
                    request = {"data": b64(ciphertext), "key": b64(key), "mac": b64(tag), "nonce": b64(nonce), "encoding": "base64"}
                    if aad:
                        request["aad"] = b64(aad)
                    status, answer = oracle.post("/decrypt/", request)
                    ok = status == 200 and unb64(answer.get("data", "")) == BINARY
                    check(f"/decrypt/ opens {library}'s encryption ({what})", ok, f"status {status}: {answer}")


def original_python_service_format_opens(oracle):
    # The original service: pycryptodome's defaults, AES-128 with a 16-byte nonce, text data.
    key = os.urandom(16)
    cipher = AES.new(key, AES.MODE_GCM)
    ciphertext, tag = cipher.encrypt_and_digest(TEXT.encode("utf-8"))
    request = {"data": b64(ciphertext), "key": b64(key), "mac": b64(tag), "nonce": b64(cipher.nonce)}
    status, answer = oracle.post("/decrypt/", request)
    check("/decrypt/ opens the original Python service's output", status == 200 and answer == {"data": TEXT}, f"status {status}: {answer}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="https://localhost:8443")
    parser.add_argument("--cacert", required=True)
    args = parser.parse_args()
    oracle = Oracle(args.url, args.cacert)
    server_answers_decrypt_in_python(oracle)
    python_encryptions_open_on_the_server(oracle)
    original_python_service_format_opens(oracle)
    finish()


if __name__ == "__main__":
    main()
