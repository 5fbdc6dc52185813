// gcm-oracle playground. Same origin only, no dependencies: the oracle answers, the browser's own
// WebCrypto checks. What the oracle never does (skip the tag, reuse a nonce) is computed here.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const utf8 = new TextEncoder();
  const FIELDS = ["key", "nonce", "ciphertext", "tag"];
  const HEX_LIMIT = 512; // bytes shown in hex; the base64 is always whole

  // The oracle's answer as it came, what is shown (flips included), and the flipped bits.
  let original = null;
  let shown = null;
  let flips = [];

  const toBase64 = (bytes) => {
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
  };
  const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
  const xor = (a, b) => a.map((byte, i) => byte ^ b[i]);
  const copy = (bytes) => new Uint8Array(bytes);
  const equal = (a, b) => a.length === b.length && a.every((byte, i) => byte === b[i]);
  const printable = (bytes) => {
    try {
      return JSON.stringify(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch {
      return `(binary) ${hex(bytes.subarray(0, 64))}${bytes.length > 64 ? " …" : ""}`;
    }
  };

  const say = (id, text, kind) => {
    const element = $(id);
    element.textContent = text;
    element.classList.remove("ok", "bad");
    if (kind) element.classList.add(kind);
  };

  // One field: hex (flipped bytes marked) and base64, with its length.
  const render = (name) => {
    const bytes = shown[name];
    const output = $(`out-${name}`);
    output.dataset.base64 = toBase64(bytes);
    output.replaceChildren();
    const hexLine = document.createElement("span");
    hexLine.className = "hex";
    const flippedBytes = new Set(flips.filter((f) => f.field === name).map((f) => f.bit >> 3));
    bytes.subarray(0, HEX_LIMIT).forEach((byte, i) => {
      const span = document.createElement("span");
      span.textContent = byte.toString(16).padStart(2, "0");
      if (flippedBytes.has(i)) span.className = "flipped";
      hexLine.append(span, i + 1 < Math.min(bytes.length, HEX_LIMIT) ? " " : "");
    });
    if (bytes.length > HEX_LIMIT) hexLine.append(` … (${bytes.length - HEX_LIMIT} more bytes)`);
    const b64Line = document.createElement("span");
    b64Line.className = "b64";
    b64Line.textContent = `base64: ${output.dataset.base64}`;
    output.append(hexLine, b64Line);
    $(`len-${name}`).textContent = `${bytes.length} bytes = ${bytes.length * 8} bits`;
  };

  const renderAll = () => {
    FIELDS.forEach(render);
    const aad = shown.aad.length ? `associated data ${printable(shown.aad)}` : "no associated data";
    $("flips").textContent = flips.length
      ? `Flipped: ${flips.map((f) => `${f.field} bit ${f.bit}`).join(", ")}; ${aad}.`
      : `Nothing flipped; ${aad}.`;
    $("why-length").textContent =
      `The ciphertext is ${shown.ciphertext.length} bytes, exactly as long as the clear text: ` +
      "GCM is counter mode, which XORs the clear text with a keystream and adds no padding. " +
      `The ${shown.tag.length}-byte tag that authenticates ciphertext, nonce and associated data ` +
      "travels beside it (\"mac\" on the wire), not inside it.";
    renderCopies();
  };

  const renderCopies = () => {
    const body = {
      data: toBase64(shown.ciphertext),
      key: toBase64(shown.key),
      mac: toBase64(shown.tag),
      nonce: toBase64(shown.nonce),
      encoding: "base64",
    };
    if (shown.aad.length) body.aad = toBase64(shown.aad);
    $("copy-curl").value =
      `curl --cacert certs/dev-ca.pem -H 'Content-Type: application/json' \\\n` +
      `  -d '${JSON.stringify(body)}' \\\n  ${location.origin}/decrypt/`;
    $("copy-python").value = [
      "import base64",
      "from cryptography.hazmat.primitives.ciphers.aead import AESGCM",
      "b = base64.b64decode",
      `clear = AESGCM(b("${body.key}")).decrypt(`,
      `    b("${body.nonce}"), b("${body.data}") + b("${body.mac}"), ` +
        (shown.aad.length ? `b("${body.aad}"))` : "None)"),
      "print(clear)",
    ].join("\n");
  };

  // The browser's own AES-GCM opens the oracle's answer.
  const verify = async () => {
    say("verify-status", "WebCrypto is checking the answer…");
    const answer = original;
    try {
      const key = await crypto.subtle.importKey("raw", answer.key, "AES-GCM", false, ["decrypt"]);
      const sealed = new Uint8Array(answer.ciphertext.length + answer.tag.length);
      sealed.set(answer.ciphertext);
      sealed.set(answer.tag, answer.ciphertext.length);
      const params = { name: "AES-GCM", iv: answer.nonce, tagLength: 128 };
      if (answer.aad.length) params.additionalData = answer.aad;
      const clear = new Uint8Array(await crypto.subtle.decrypt(params, key, sealed));
      if (answer !== original) return;
      if (equal(clear, answer.plaintext)) {
        say("verify-status", "Your browser's WebCrypto opened the oracle's answer: authentic, and the same clear text.", "ok");
      } else {
        say("verify-status", "WebCrypto opened the answer, but to different bytes.", "bad");
      }
    } catch (err) {
      if (answer !== original) return;
      if (answer.key.length === 24) {
        say("verify-status", "Your browser's WebCrypto cannot check this one: Chromium refuses 192-bit AES keys (Firefox takes them). The answer is standard AES-192-GCM; decrypt it below or with the Python line.", "bad");
      } else {
        say("verify-status", `WebCrypto could not open the answer (${err.name}).`, "bad");
      }
    }
  };

  const encrypt = async () => {
    say("encrypt-status", "Asking the oracle…");
    try {
      const file = $("file").files[0];
      const data = file ? new Uint8Array(await file.arrayBuffer()) : utf8.encode($("plaintext").value);
      const aad = utf8.encode($("aad").value);
      const request = {
        data: toBase64(data),
        encoding: "base64",
        key_bits: Number($("key-bits").value),
        nonce_bits: Number($("nonce-bits").value),
      };
      if (aad.length) request.aad = toBase64(aad);
      const response = await fetch("/oracleinvocation/", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(request),
      });
      const answer = await response.json();
      if (!response.ok) {
        say("encrypt-status", `The oracle refused: ${answer.code} (${answer.error})`, "bad");
        return;
      }
      original = {
        key: fromBase64(answer.key),
        nonce: fromBase64(answer.nonce),
        ciphertext: fromBase64(answer.data),
        tag: fromBase64(answer.mac),
        aad,
        plaintext: data,
      };
      undo();
      say("encrypt-status", `Sealed ${data.length} bytes under a fresh ${original.key.length * 8}-bit key and ${original.nonce.length * 8}-bit nonce. The oracle has already forgotten them.`, "ok");
      say("decrypt-status", "");
      $("malleability-out").textContent = "";
      verify();
    } catch (err) {
      say("encrypt-status", `Could not reach the oracle (${err.name}).`, "bad");
    }
  };

  const undo = () => {
    if (!original) return;
    shown = {
      key: copy(original.key),
      nonce: copy(original.nonce),
      ciphertext: copy(original.ciphertext),
      tag: copy(original.tag),
      aad: copy(original.aad),
    };
    flips = [];
    renderAll();
    say("decrypt-status", "");
  };

  const flip = (field) => {
    if (!shown) {
      say("decrypt-status", "Encrypt something first.", "bad");
      return;
    }
    const bytes = shown[field];
    if (!bytes.length) {
      say("decrypt-status", `There is no ${field === "aad" ? "associated data" : field} to flip.`, "bad");
      return;
    }
    const bit = Math.max(0, Number($("flip-bit").value) || 0) % (bytes.length * 8);
    bytes[bit >> 3] ^= 1 << (bit & 7);
    const at = flips.findIndex((f) => f.field === field && f.bit === bit);
    if (at >= 0) flips.splice(at, 1);
    else flips.push({ field, bit });
    renderAll();
    say("decrypt-status", "");
  };

  // Sent as a one-item batch: the answer is then always a 200, and an expected
  // `decryption_failed` is not a failed request in the browser's console. Same fields, same code.
  const decrypt = async () => {
    if (!shown) {
      say("decrypt-status", "Encrypt something first.", "bad");
      return;
    }
    say("decrypt-status", "Asking the oracle…");
    const item = {
      data: toBase64(shown.ciphertext),
      key: toBase64(shown.key),
      mac: toBase64(shown.tag),
      nonce: toBase64(shown.nonce),
      encoding: "base64",
    };
    if (shown.aad.length) item.aad = toBase64(shown.aad);
    try {
      const response = await fetch("/decrypt/batch", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ items: [item] }),
      });
      const answer = await response.json();
      const result = response.ok ? answer.items[0] : answer;
      if (result.code) {
        say("decrypt-status", `${result.code}: the oracle refused to decrypt. Whatever was changed, the error is the same.`, "bad");
      } else {
        say("decrypt-status", `Opened: ${printable(fromBase64(result.data))}`, "ok");
      }
    } catch (err) {
      say("decrypt-status", `Could not reach the oracle (${err.name}).`, "bad");
    }
  };

  // Counter mode without the tag: AES-CTR from GCM's first clear-text counter, nonce ‖ 2.
  const malleability = async () => {
    const out = $("malleability-out");
    if (!original) {
      out.textContent = "Encrypt something first.";
      return;
    }
    if (original.nonce.length !== 12) {
      out.textContent = "Shown for 96-bit nonces: GCM derives the counter of a 128-bit nonce with GHASH, which WebCrypto's AES-CTR does not do. Encrypt again with a 96-bit nonce.";
      return;
    }
    if (!original.ciphertext.length) {
      out.textContent = "Encrypt some clear text first: there is no ciphertext to flip.";
      return;
    }
    try {
      const key = await crypto.subtle.importKey("raw", original.key, "AES-CTR", false, ["decrypt"]);
      const counter = new Uint8Array(16);
      counter.set(original.nonce);
      counter[15] = 2;
      const bit = Math.max(0, Number($("flip-bit").value) || 0) % (original.ciphertext.length * 8);
      const altered = copy(original.ciphertext);
      altered[bit >> 3] ^= 1 << (bit & 7);
      const params = { name: "AES-CTR", counter, length: 32 };
      const clear = new Uint8Array(await crypto.subtle.decrypt(params, key, altered));
      const diff = xor(clear, original.plaintext);
      out.textContent = [
        `Ciphertext bit ${bit} flipped, decrypted with AES-CTR (no tag check):`,
        `clear text before: ${printable(original.plaintext)}`,
        `clear text after:  ${printable(clear)}`,
        `difference (hex):  ${hex(diff.subarray(0, 64))}`,
        `Exactly bit ${bit} changed: an attacker can edit GCM's clear text blind, which is why the oracle always checks the tag first.`,
      ].join("\n");
    } catch (err) {
      out.textContent = original.key.length === 24
        ? "Chromium's WebCrypto refuses 192-bit AES keys: encrypt again with 128 or 256 bits."
        : `WebCrypto could not run this (${err.name}).`;
    }
  };

  // Two messages under one key and nonce, in the browser: the XOR of the ciphertexts is the XOR
  // of the clear texts, with no key needed.
  const nonceReuse = async () => {
    const out = $("nonce-reuse-out");
    try {
      const a = utf8.encode($("reuse-a").value);
      const b = utf8.encode($("reuse-b").value);
      const n = Math.min(a.length, b.length);
      const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt"]);
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const seal = async (m) => new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, m));
      const ca = (await seal(a)).subarray(0, a.length);
      const cb = (await seal(b)).subarray(0, b.length);
      const ciphertexts = xor(ca.subarray(0, n), cb.subarray(0, n));
      const clears = xor(a.subarray(0, n), b.subarray(0, n));
      out.textContent = [
        "One key and ONE nonce for both (a key made here in the browser, never the oracle's):",
        `A xor B, clear texts:  ${hex(clears)}`,
        `A xor B, ciphertexts:  ${hex(ciphertexts)}`,
        equal(clears, ciphertexts)
          ? "The same: whoever sees both ciphertexts learns A xor B without the key, and knowing A gives away B. The oracle draws a fresh key and nonce for every call."
          : "They differ (unexpected).",
      ].join("\n");
    } catch (err) {
      out.textContent = `WebCrypto could not run this (${err.name}).`;
    }
  };

  const copyText = async (id) => {
    try {
      await navigator.clipboard.writeText($(id).value);
    } catch {
      $(id).select();
    }
  };

  $("encrypt").addEventListener("click", encrypt);
  $("decrypt").addEventListener("click", decrypt);
  $("undo").addEventListener("click", undo);
  for (const field of ["ciphertext", "tag", "nonce", "aad"]) {
    $(`flip-${field}`).addEventListener("click", () => flip(field));
  }
  $("lesson-malleability").addEventListener("click", malleability);
  $("lesson-nonce-reuse").addEventListener("click", nonceReuse);
  $("copy-curl-button").addEventListener("click", () => copyText("copy-curl"));
  $("copy-python-button").addEventListener("click", () => copyText("copy-python"));
  $("file").addEventListener("change", () => {
    $("plaintext").disabled = $("file").files.length > 0;
  });
})();
