#!/usr/bin/env python3
"""The playground in a real browser: Debian's Chromium, driven by Playwright, against a running
gcm-oracle server.

    python3 playground.py --url https://127.0.0.1:8443 --screenshots DIR [--chromium /usr/bin/chromium]

It encrypts through the page and checks the values shown with Python's `cryptography`, waits for
the browser's own WebCrypto verdict, decrypts, flips the tag and the ciphertext and sees
`decryption_failed`, undoes, tries the key and nonce options (192-bit keys included, which
Chromium's WebCrypto refuses), runs the two lessons, and checks the page at a phone's 390 px.
Any console error, uncaught exception or request to another origin fails it. It saves
screenshots (desktop and phone) in --screenshots.

Playwright's own browser download is never used (it cannot work offline): `executable_path`
points at the system's Chromium. Prints PASS/FAIL lines and "N passed, M failed"; exits 1 on
any failure.
"""

import argparse
import base64
import sys
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from playwright.sync_api import sync_playwright

# The PASS/FAIL counting every interop script shares.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))
from oracle import check, finish  # noqa: E402

def shown(page, name):
    return base64.b64decode(page.get_attribute(f"#out-{name}", "data-base64"), validate=True)


def encrypt(page, plaintext, aad, key_bits, nonce_bits):
    before = page.get_attribute("#out-key", "data-base64")
    page.fill("#plaintext", plaintext)
    page.fill("#aad", aad)
    page.select_option("#key-bits", str(key_bits))
    page.select_option("#nonce-bits", str(nonce_bits))
    page.click("#encrypt")
    page.wait_for_function(
        "before => document.querySelector('#out-key').dataset.base64 !== before", arg=before, timeout=10_000
    )
    return {name: shown(page, name) for name in ("key", "nonce", "ciphertext", "tag")}


def status_contains(page, selector, text, timeout=10_000):
    try:
        page.wait_for_function(
            "([s, t]) => document.querySelector(s).textContent.includes(t)", arg=[selector, text], timeout=timeout
        )
        return True
    except Exception:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--screenshots", required=True, type=Path)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    args.screenshots.mkdir(parents=True, exist_ok=True)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(args.url))

    console_errors, page_errors, foreign = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        # The development certificate is not in Chromium's store; TLS itself is checked by the
        # other CI steps. The page is still a secure context, as WebCrypto needs.
        context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
        page.on("pageerror", lambda e: page_errors.append(str(e)))

        def on_request(request):
            url = request.url
            if not url.startswith("data:") and not url.startswith(origin + "/"):
                foreign.append(url)

        page.on("request", on_request)

        response = page.goto(args.url + "/")
        check("GET / in a browser is the page", response.status == 200 and "text/html" in response.headers["content-type"],
              f"{response.status} {response.headers.get('content-type')}")
        csp = response.headers.get("content-security-policy", "")
        check("the page has a CSP with default-src 'self' and no inline script",
              csp.startswith("default-src 'self'") and "unsafe-inline" not in csp, csp)
        check("the page is a secure context", page.evaluate("window.isSecureContext"))

        # Encrypt with the defaults plus associated data, and check what is shown.
        values = encrypt(page, "attack at dawn", "order 7", 256, 96)
        sizes = tuple(len(values[n]) for n in ("key", "nonce", "ciphertext", "tag"))
        check("AES-256, 96-bit nonce: 32/12/14/16 bytes shown", sizes == (32, 12, 14, 16), str(sizes))
        try:
            clear = AESGCM(values["key"]).decrypt(values["nonce"], values["ciphertext"] + values["tag"], b"order 7")
        except Exception as err:  # noqa: BLE001 - report, do not stop
            clear = repr(err)
        check("Python's cryptography opens the values shown", clear == b"attack at dawn", repr(clear))
        hex_shown = page.text_content("#out-ciphertext .hex").replace(" ", "")
        check("the hex shown is the ciphertext", hex_shown == values["ciphertext"].hex(), hex_shown)
        check("WebCrypto says the answer is authentic", status_contains(page, "#verify-status", "authentic"),
              page.text_content("#verify-status"))

        page.click("#decrypt")
        check("decrypt through the oracle shows the clear text",
              status_contains(page, "#decrypt-status", "attack at dawn"), page.text_content("#decrypt-status"))

        page.click("#flip-tag")
        flipped = shown(page, "tag")
        diff = bin(int.from_bytes(flipped, "big") ^ int.from_bytes(values["tag"], "big")).count("1")
        check("flip-tag flips exactly one bit of the shown tag", diff == 1, f"{diff} bits")
        page.click("#decrypt")
        check("a flipped tag is decryption_failed", status_contains(page, "#decrypt-status", "decryption_failed"),
              page.text_content("#decrypt-status"))
        page.click("#undo")
        page.click("#decrypt")
        check("undo, and it opens again", status_contains(page, "#decrypt-status", "attack at dawn"),
              page.text_content("#decrypt-status"))
        page.click("#flip-ciphertext")
        page.click("#decrypt")
        check("a flipped ciphertext bit is decryption_failed",
              status_contains(page, "#decrypt-status", "decryption_failed"), page.text_content("#decrypt-status"))
        page.click("#undo")
        page.click("#flip-aad")
        page.click("#decrypt")
        check("a flipped associated-data bit is decryption_failed",
              status_contains(page, "#decrypt-status", "decryption_failed"), page.text_content("#decrypt-status"))
        page.click("#undo")

        copied = page.input_value("#copy-python")
        check("the Python line carries the values shown", base64.b64encode(values["key"]).decode() in copied)

        page.click("#lesson-malleability")
        check("malleability: the same bit flips in the clear text",
              status_contains(page, "#malleability-out", "Exactly bit 0 changed"), page.text_content("#malleability-out"))
        page.click("#lesson-nonce-reuse")
        check("nonce reuse: XOR of ciphertexts is XOR of clear texts",
              status_contains(page, "#nonce-reuse-out", "The same"), page.text_content("#nonce-reuse-out"))
        page.screenshot(path=str(args.screenshots / "playground-desktop.png"), full_page=True)
        # The README's picture: the form, the answer byte by byte and the verdict.
        page.screenshot(path=str(args.screenshots / "playground.png"), full_page=True,
                        clip={"x": 0, "y": 0, "width": 1280, "height": 1330})

        # The options: AES-128 with a 128-bit nonce (the original Python service's format).
        values = encrypt(page, "legacy", "", 128, 128)
        sizes = tuple(len(values[n]) for n in ("key", "nonce", "tag"))
        check("AES-128, 128-bit nonce: 16/16/16 bytes shown", sizes == (16, 16, 16), str(sizes))
        try:
            clear = AESGCM(values["key"]).decrypt(values["nonce"], values["ciphertext"] + values["tag"], None)
        except Exception as err:  # noqa: BLE001
            clear = repr(err)
        check("cryptography opens the AES-128 answer", clear == b"legacy", repr(clear))
        check("WebCrypto opens the AES-128 answer", status_contains(page, "#verify-status", "authentic"),
              page.text_content("#verify-status"))
        values = encrypt(page, "middle", "", 192, 96)
        check("AES-192: a 24-byte key shown", len(values["key"]) == 24)
        check("AES-192: the page says plainly that Chromium's WebCrypto refuses it",
              status_contains(page, "#verify-status", "192-bit"), page.text_content("#verify-status"))
        page.click("#decrypt")
        check("AES-192 still opens through the oracle", status_contains(page, "#decrypt-status", "middle"),
              page.text_content("#decrypt-status"))

        # A phone: 390 px wide, nothing wider than the screen.
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        encrypt(page, "attack at dawn", "", 256, 96)
        width = page.evaluate("document.documentElement.scrollWidth")
        check("at 390 px nothing scrolls sideways", width <= 390, f"scrollWidth {width}")
        page.screenshot(path=str(args.screenshots / "playground-phone.png"), full_page=True)

        # The keyboard reaches the encrypt button.
        page.focus("#plaintext")
        tabs = 0
        while page.evaluate("document.activeElement.id") != "encrypt" and tabs < 10:
            page.keyboard.press("Tab")
            tabs += 1
        check("the encrypt button is reachable with Tab", page.evaluate("document.activeElement.id") == "encrypt")

        browser.close()

    check("no console errors", not console_errors, "; ".join(console_errors))
    check("no uncaught exceptions", not page_errors, "; ".join(page_errors))
    check("no request to another origin", not foreign, ", ".join(foreign))
    finish()


if __name__ == "__main__":
    main()
