#!/usr/bin/env python3
"""Interoperability of key pairs and recipient sealing against a running gcm-oracle server.

Independent implementations do the receiving side: Python's `cryptography` (OpenSSL) reads
every key pair /keypair/ hands out and unwraps RSA-OAEP-SHA256 keys; `pyhpke` (RFC 9180)
unwraps X25519 HPKE keys; both then decrypt the data with AES-GCM. Keys generated in Python
work as recipients too, and a wrong private key fails. With --bin, messages wrapped in Python
open with `gcm-oracle open`.

    python3 recipient.py --url https://127.0.0.1:8443 --cacert certs/dev-ca.pem [--bin target/release/gcm-oracle]

Prints one PASS/FAIL line per check and ends with "N passed, M failed"; exits 1 on any failure.
"""

import argparse
import json
import os
import subprocess
import tempfile

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKey, OpenError

from oracle import Oracle, b64, check, finish, unb64

# The wire contract, as docs/WIRE.md documents it (Recipients).
WRAP_RSA = "rsa-oaep-sha256"
WRAP_HPKE = "hpke-x25519-sha256-aes256gcm"
HPKE_INFO = b"gcm-oracle wrapped key"
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
SUITE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)
ALGORITHMS = {
    "rsa-2048": (rsa.RSAPrivateKey, 2048),
    "rsa-3072": (rsa.RSAPrivateKey, 3072),
    "rsa-4096": (rsa.RSAPrivateKey, 4096),
    "ecdsa-p256": (ec.EllipticCurvePrivateKey, "secp256r1"),
    "ecdsa-p384": (ec.EllipticCurvePrivateKey, "secp384r1"),
    "ed25519": (ed25519.Ed25519PrivateKey, None),
    "x25519": (x25519.X25519PrivateKey, None),
}
TEXT = "for your eyes only — ünïcødé 👋"

def spki_pem(public_key):
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def unwrap(wrap, wrapped, private_key):
    """The AES key, unwrapped by Python's own implementations."""
    if wrap == WRAP_RSA:
        return private_key.decrypt(wrapped, OAEP)
    if wrap == WRAP_HPKE:
        enc, ciphertext = wrapped[:32], wrapped[32:]
        recipient = SUITE.create_recipient_context(enc, KEMKey.from_pyca_cryptography_key(private_key), info=HPKE_INFO)
        return recipient.open(ciphertext, aad=b"")
    raise ValueError(f"unknown wrap {wrap!r}")


def open_envelope(envelope, private_key, aad=b""):
    key = unwrap(envelope["wrap"], unb64(envelope["wrapped_key"]), private_key)
    sealed = unb64(envelope["data"]) + unb64(envelope["mac"])
    return AESGCM(key).decrypt(unb64(envelope["nonce"]), sealed, aad or None), len(key)


def keypairs_load_in_cryptography(oracle):
    """Every algorithm: PKCS#8 and SPKI PEM load, the halves match, the key is the right kind."""
    pairs = {}
    for algorithm, (kind, size) in ALGORITHMS.items():
        status, answer = oracle.post("/keypair/", {"algorithm": algorithm})
        if status != 200:
            check(f"/keypair/ {algorithm}", False, f"status {status}: {answer}")
            continue
        try:
            assert answer["private_key_pem"].startswith("-----BEGIN PRIVATE KEY-----\n")
            private = serialization.load_pem_private_key(answer["private_key_pem"].encode("ascii"), password=None)
            public = serialization.load_pem_public_key(answer["public_key_pem"].encode("ascii"))
            ok = isinstance(private, kind) and spki_pem(private.public_key()) == spki_pem(public) == answer["public_key_pem"]
            if kind is rsa.RSAPrivateKey:
                ok = ok and private.key_size == size and private.private_numbers().public_numbers.e == 65537
            elif kind is ec.EllipticCurvePrivateKey:
                ok = ok and private.curve.name == size
            detail = "wrong kind or halves do not match"
            pairs[algorithm] = private
        except Exception as error:  # noqa: BLE001 - any failure is the finding
            ok, detail = False, repr(error)
        check(f"cryptography reads the {algorithm} pair and its halves match", ok, detail)
    return pairs


def sealed_for_recipients_open_in_python(oracle, pairs):
    python_keys = {"python rsa-2048": rsa.generate_private_key(public_exponent=65537, key_size=2048),
                   "python x25519": x25519.X25519PrivateKey.generate()}
    recipients = {name: pairs[name] for name in ("rsa-2048", "rsa-3072", "x25519") if name in pairs}
    recipients.update(python_keys)
    for name, private in recipients.items():
        expected_wrap = WRAP_HPKE if isinstance(private, x25519.X25519PrivateKey) else WRAP_RSA
        for key_bits in (128, 192, 256):
            for aad in (b"", b"order 7"):
                what = f"{name}, AES-{key_bits}, {'aad' if aad else 'no aad'}"
                request = {"data": TEXT, "key_bits": key_bits, "recipient": spki_pem(private.public_key())}
                if aad:
                    request["aad"] = aad.decode("ascii")
                status, envelope = oracle.post("/oracleinvocation/", request)
                if status != 200:
                    check(f"server seals for {what}", False, f"status {status}: {envelope}")
                    continue
                check(f"no plain key and wrap {expected_wrap} ({what})",
                      "key" not in envelope and envelope.get("wrap") == expected_wrap, json.dumps(sorted(envelope)))
                try:
                    clear, key_len = open_envelope(envelope, private, aad)
                    ok, detail = clear == TEXT.encode("utf-8") and key_len == key_bits // 8, "different clear text or key size"
                except Exception as error:  # noqa: BLE001
                    ok, detail = False, repr(error)
                library = "pyhpke" if expected_wrap == WRAP_HPKE else "cryptography"
                check(f"{library} unwraps the key and AES-GCM decrypts ({what})", ok, detail)

        # A wrong private key of the same kind fails, in the independent implementation too.
        other = x25519.X25519PrivateKey.generate() if expected_wrap == WRAP_HPKE else rsa.generate_private_key(public_exponent=65537, key_size=2048)
        status, envelope = oracle.post("/oracleinvocation/", {"data": TEXT, "recipient": spki_pem(private.public_key())})
        try:
            open_envelope(envelope, other)
            ok, detail = False, "opened with the wrong key"
        except (ValueError, OpenError, InvalidTag):
            ok, detail = True, ""
        except Exception as error:  # noqa: BLE001
            ok, detail = False, repr(error)
        check(f"a wrong private key fails cleanly ({name})", ok, detail)


def python_wrapped_messages_open_with_the_cli(binary):
    """Envelopes built entirely in Python, opened by `gcm-oracle open` with Python-written keys."""
    cases = {
        "rsa pkcs8": (rsa.generate_private_key(public_exponent=65537, key_size=3072), serialization.PrivateFormat.PKCS8),
        "rsa pkcs1": (rsa.generate_private_key(public_exponent=65537, key_size=2048), serialization.PrivateFormat.TraditionalOpenSSL),
        "x25519 pkcs8": (x25519.X25519PrivateKey.generate(), serialization.PrivateFormat.PKCS8),
    }
    with tempfile.TemporaryDirectory() as directory:
        for name, (private, form) in cases.items():
            key_file = os.path.join(directory, name.replace(" ", "-") + ".pem")
            with open(key_file, "wb") as file:
                file.write(private.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption()))
            key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
            if isinstance(private, x25519.X25519PrivateKey):
                wrap = WRAP_HPKE
                sender = KEMKey.from_pyca_cryptography_key(private.public_key())
                enc, context = SUITE.create_sender_context(sender, info=HPKE_INFO)
                wrapped = enc + context.seal(key, aad=b"")
            else:
                wrap, wrapped = WRAP_RSA, private.public_key().encrypt(key, OAEP)
            sealed = AESGCM(key).encrypt(nonce, TEXT.encode("utf-8"), None)
            envelope = {"data": b64(sealed[:-16]), "wrapped_key": b64(wrapped), "wrap": wrap,
                        "mac": b64(sealed[-16:]), "nonce": b64(nonce)}
            result = subprocess.run([binary, "open", "--private-key", key_file], input=json.dumps(envelope).encode(),
                                    capture_output=True, timeout=30, check=False)
            check(f"gcm-oracle open reads Python's {name} key and {wrap} wrap",
                  result.returncode == 0 and result.stdout == TEXT.encode("utf-8"), f"exit {result.returncode}: {result.stderr!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="https://localhost:8443")
    parser.add_argument("--cacert", required=True)
    parser.add_argument("--bin", help="a gcm-oracle binary, to check `gcm-oracle open` too")
    args = parser.parse_args()
    oracle = Oracle(args.url, args.cacert)
    pairs = keypairs_load_in_cryptography(oracle)
    sealed_for_recipients_open_in_python(oracle, pairs)
    if args.bin:
        python_wrapped_messages_open_with_the_cli(args.bin)
    finish()


if __name__ == "__main__":
    main()
