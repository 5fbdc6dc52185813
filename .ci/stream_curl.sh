#!/usr/bin/env bash
# The streaming endpoints with curl, the way a user drives them: a 5 MiB file uploaded with
# `curl -T` over HTTP/1.1 and HTTP/2 to /oracleinvocation/stream (both formats), the ciphertext
# sent back through /decrypt/stream with the Oracle-Key it came with, and `cmp` against the
# original; a chunked upload from stdin; a tampered stream that must not end cleanly; and the
# 4xx answers (415 for text/plain, JSON 400 for ?rs=17 and for an unknown query parameter).
#
#   bash .ci/stream_curl.sh https://127.0.0.1:PORT path/to/dev-ca.pem
#
# Needs curl (with HTTP/2) and jq. Every curl has --max-time; loopback only. Prints one
# PASS/FAIL line per check, ends with "N passed, M failed" and exits 1 if anything failed.
set -euo pipefail

if [ "$#" -ne 2 ]; then
    echo "usage: bash .ci/stream_curl.sh URL CACERT" >&2
    exit 2
fi
url="${1%/}"
cacert="$2"
[ -r "$cacert" ] || { echo "cannot read the CA certificate $cacert" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

curl_opts=(-sS --max-time 60 --cacert "$cacert")
passed=0
failed=0
# check WHAT DETAIL COMMAND...: PASS if COMMAND succeeds, else FAIL with DETAIL; never exits.
check() {
    local what="$1" detail="$2"
    shift 2
    if "$@"; then
        passed=$((passed + 1))
        echo "PASS: $what"
    else
        failed=$((failed + 1))
        echo "FAIL: $what ($detail)"
    fi
}

# header NAME FILE: the value of the last NAME header in a `curl -D` file (the final answer's,
# after any 100 Continue), without the CR.
header() {
    grep -i "^$1:" "$2" | tail -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//' || true
}

# json_error STATUS_WANTED CODE_WANTED STATUS BODY_FILE: 0 if the answer is that status and a
# JSON error {"error": string, "code": string}, with CODE_WANTED as its code if one is given.
json_error() {
    [ "$3" = "$1" ] && jq -e --arg code "$2" \
        'type == "object" and (.error | type) == "string" and (.code | type) == "string"
         and ($code == "" or .code == $code)' "$4" >/dev/null 2>&1
}

# flip_byte FILE OFFSET: XORs one byte of FILE with 1, in place.
flip_byte() {
    local byte
    byte="$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')"
    # shellcheck disable=SC2059 # the format is the octal escape of the new byte
    printf "\\$(printf '%03o' $((byte ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# peek FILE...: the start of what came back, printable, for a FAIL line.
peek() { cat "$@" 2>/dev/null | head -c 300 | tr -c '[:print:]' '.' || true; }

size() { wc -c <"$1" 2>/dev/null | tr -d ' ' || echo 0; }

# same STATUS WANTED FILE_A FILE_B: the status is WANTED and the files are the same bytes.
same() { [ "$1" = "$2" ] && cmp -s "$3" "$4"; }

# refused CURL_EXIT STATUS BODY_FILE: a decryption that did not end cleanly (curl failed: the
# connection closed or the stream reset mid-body) or was a JSON 400 decryption_failed.
refused() { [ "$1" -ne 0 ] || json_error 400 decryption_failed "$2" "$3"; }

# 5 MiB and a few bytes: five full Tink segments and a short last one; 80 full aes128gcm
# records at the default rs.
head -c $((5 * 1024 * 1024 + 13)) /dev/urandom >"$work/clear"

# round_trip PROTOCOL_FLAG FORMAT_QUERY KEY_BYTES: upload, check the answer, decrypt, compare.
round_trip() {
    local proto="$1" query="$2" key_bytes="$3"
    local name="${proto#--} ${query:-(default format)}"
    local tag="${proto#--}${query//[^a-z0-9]/_}"
    local want_version="${proto#--http}"
    local format="${query#?format=}"
    format="${format:-aes128gcm}"

    local answer
    answer="$(curl "${curl_opts[@]}" "$proto" -T "$work/clear" -X POST \
        -H 'Content-Type: application/octet-stream' -D "$work/$tag.seal.h" -o "$work/$tag.ct" \
        -w '%{http_code} %{http_version}' "$url/oracleinvocation/stream$query" 2>"$work/$tag.err")" || true
    local shown=("$work/$tag.err") # and the body, unless it is ciphertext
    [[ $answer == 200* ]] || shown+=("$work/$tag.ct")
    check "$name: /oracleinvocation/stream answers 200 over HTTP/$want_version" "got '$answer': $(peek "${shown[@]}")" \
        [ "$answer" = "200 $want_version" ]
    [ "$answer" = "200 $want_version" ] || return 0

    local key key_len length
    key="$(header Oracle-Key "$work/$tag.seal.h")"
    key_len="$(printf '%s' "$key" | base64 -d 2>/dev/null | wc -c | tr -d ' ' || true)"
    length="$(header Content-Length "$work/$tag.seal.h")"
    local got_format got_type got_cache
    got_format="$(header Oracle-Format "$work/$tag.seal.h")"
    got_type="$(header Content-Type "$work/$tag.seal.h")"
    got_cache="$(header Cache-Control "$work/$tag.seal.h")"
    check "$name: Oracle-Format $format" "$got_format" [ "$got_format" = "$format" ]
    check "$name: Oracle-Key of $key_bytes bytes" "$key_len bytes" [ "$key_len" = "$key_bytes" ]
    check "$name: Content-Type application/octet-stream" "$got_type" [ "$got_type" = application/octet-stream ]
    check "$name: Content-Length is the ciphertext's length" "Content-Length '$length', $(size "$work/$tag.ct") bytes" \
        [ "$length" = "$(size "$work/$tag.ct")" ]
    check "$name: Cache-Control: no-store" "$got_cache" [ "$got_cache" = no-store ]

    answer="$(curl "${curl_opts[@]}" "$proto" -T "$work/$tag.ct" -X POST \
        -H 'Content-Type: application/octet-stream' -H "Oracle-Key: $key" -D "$work/$tag.open.h" \
        -o "$work/$tag.back" -w '%{http_code}' "$url/decrypt/stream$query" 2>"$work/$tag.err")" || true
    check "$name: /decrypt/stream gives back the same bytes" \
        "status '$answer', $(size "$work/$tag.back") bytes: $(peek "$work/$tag.err")" \
        same "$answer" 200 "$work/clear" "$work/$tag.back"

    # The last record (segment) tampered with: the answer may start, but must not end cleanly.
    cp "$work/$tag.ct" "$work/$tag.bad"
    flip_byte "$work/$tag.bad" $(($(size "$work/$tag.bad") - 5))
    local rc=0
    answer="$(curl "${curl_opts[@]}" "$proto" -T "$work/$tag.bad" -X POST \
        -H 'Content-Type: application/octet-stream' -H "Oracle-Key: $key" \
        -o "$work/$tag.bad.out" -w '%{http_code}' "$url/decrypt/stream$query" 2>"$work/$tag.err")" || rc=$?
    check "$name: a tampered last record does not decrypt cleanly" "curl exit $rc, status '$answer'" \
        refused "$rc" "$answer" "$work/$tag.bad.out"
}

round_trip --http1.1 "" 16
round_trip --http2 "" 16
round_trip --http2 "?format=aes256gcm-hkdf-1mb" 32
round_trip --http1.1 "?format=aes256gcm-hkdf-1mb" 32

# A chunked upload from stdin (no Content-Length; curl sends what it reads as it reads it).
head -c $((3 * 1024 * 1024 + 7)) /dev/urandom >"$work/chunked.clear"
answer="$(curl "${curl_opts[@]}" --http1.1 -T - -X POST -H 'Transfer-Encoding: chunked' \
    -H 'Content-Type: application/octet-stream' -D "$work/chunked.h" -o "$work/chunked.ct" \
    -w '%{http_code}' "$url/oracleinvocation/stream?rs=4096" <"$work/chunked.clear" 2>"$work/chunked.err")" || true
key="$(header Oracle-Key "$work/chunked.h")"
check "chunked upload: 200 with an Oracle-Key" "status '$answer': $(peek "$work/chunked.err" "$work/chunked.ct")" \
    [ "$answer${key:+ with a key}" = "200 with a key" ]
answer="$(curl "${curl_opts[@]}" --http1.1 -T - -X POST -H 'Transfer-Encoding: chunked' \
    -H "Oracle-Key: $key" -o "$work/chunked.back" -w '%{http_code}' "$url/decrypt/stream" \
    <"$work/chunked.ct" 2>"$work/chunked.err")" || true
check "chunked upload: its ciphertext, uploaded chunked, decrypts to the same bytes" \
    "status '$answer': $(peek "$work/chunked.err")" same "$answer" 200 "$work/chunked.clear" "$work/chunked.back"
# The same from stdin over HTTP/2: DATA frames without a content-length.
answer="$(curl "${curl_opts[@]}" --http2 -T - -X POST -H "Oracle-Key: $key" -o "$work/chunked.back2" \
    -w '%{http_code} %{http_version}' "$url/decrypt/stream" <"$work/chunked.ct" 2>"$work/chunked.err")" || true
check "HTTP/2 upload without a length: decrypts to the same bytes" "got '$answer': $(peek "$work/chunked.err")" \
    same "$answer" "200 2" "$work/chunked.clear" "$work/chunked.back2"

# The 4xx answers: JSON errors, before any body is streamed, over both protocols. The server
# reads (and drops) a refused body before it answers: over HTTP/2, an answer that came before
# the upload ended was followed by RST_STREAM(NO_ERROR), and curl 7.88 (Debian 12) then failed
# about one time in six with error 92 and no answer.
# expect_error WHAT STATUS CODE(or "") CURL_ARGS...: one request per protocol, one check each.
expect_error() {
    local what="$1" want="$2" code="$3" answer protocol
    shift 3
    for protocol in --http1.1 --http2; do
        rm -f "$work/error.json"
        answer="$(curl "${curl_opts[@]}" "$protocol" -o "$work/error.json" -w '%{http_code}' "$@" 2>"$work/error.err")" || true
        check "$what ($protocol): a JSON $want${code:+ $code}" "status '$answer': $(peek "$work/error.json" "$work/error.err")" \
            json_error "$want" "$code" "$answer" "$work/error.json"
    done
}
expect_error "Content-Type: text/plain" 415 "" -X POST -H 'Content-Type: text/plain' \
    --data-binary 'attack at dawn' "$url/oracleinvocation/stream"
expect_error "?rs=17" 400 "" -X POST -H 'Content-Type: application/octet-stream' \
    --data-binary 'attack at dawn' "$url/oracleinvocation/stream?rs=17"
expect_error "an unknown query parameter" 400 "" -X POST -H 'Content-Type: application/octet-stream' \
    --data-binary 'attack at dawn' "$url/oracleinvocation/stream?compress=yes"
printf 'attack at dawn' >"$work/small.clear"
curl "${curl_opts[@]}" -X POST -T "$work/small.clear" -o "$work/small.ct" "$url/oracleinvocation/stream" 2>"$work/small.err" || true
expect_error "/decrypt/stream with the wrong key" 400 decryption_failed -X POST \
    -H "Oracle-Key: $(head -c 16 /dev/urandom | base64)" -T "$work/small.ct" "$url/decrypt/stream"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
