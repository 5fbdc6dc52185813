"""What the interop scripts share: PASS/FAIL bookkeeping, strict base64, and a JSON client for
a gcm-oracle server that trusts only the given CA."""

import base64
import json
import ssl
import sys
import urllib.error
import urllib.request

passed = failed = 0


def check(what, ok, detail=""):
    """Prints one PASS or FAIL line and counts it."""
    global passed, failed
    if ok:
        passed += 1
        print(f"PASS: {what}")
    else:
        failed += 1
        print(f"FAIL: {what} ({detail})")


def finish():
    """Prints "N passed, M failed" and exits 1 if anything failed."""
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def b64(data):
    return base64.b64encode(data).decode("ascii")


def unb64(text):
    return base64.b64decode(text, validate=True)


class Oracle:
    def __init__(self, url, cacert, timeout=60):
        self.url = url.rstrip("/")
        self.context = ssl.create_default_context(cafile=cacert)
        self.timeout = timeout

    def post(self, path, body):
        """POSTs `body` as JSON; the status and the decoded JSON answer, errors included."""
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=self.timeout) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)
