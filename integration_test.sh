#!/usr/bin/env bash
# Contract test for the gcm-oracle HTTPS service (AES-GCM encryption oracle).
#
# Needs only bash (4 or newer), curl and jq: no coreutils, no temporary files.
# Every check is printed as "PASS: ..." or "FAIL: ... (detail)", and the last
# line is "N passed, M failed". Exit status: 0 if nothing failed, 1 if a check
# failed or the server could not be reached, 2 on a usage error.

# No `set -e`: a failed check must be reported and the run must go on.
set -u

if ((BASH_VERSINFO[0] < 4)); then
	printf 'error: bash 4 or newer is required (this is bash %s)\n' "$BASH_VERSION" >&2
	exit 1
fi

# Byte semantics for the whole script: ${#var} and ${var:0:N} count bytes (so
# the UTF-8 length of the input is ${#input}) and [A-Z]-style ranges in the
# regular expressions below are plain ASCII ranges.
LC_ALL=C

default_input='He said "héllo" \ 👋 — ünïcødé'
addr='https://localhost:8443'
input=$default_input
curl_opts=(-sS --max-time 10)

usage() {
	printf '%s\n' "Usage: ${0##*/} [options]

Contract test for the gcm-oracle HTTPS service.

  -a, --addr URL      base URL of the server (default: https://localhost:8443)
  -i, --input TEXT    UTF-8 clear text to encrypt (default: $default_input)
  -k, --insecure      do not verify the server's TLS certificate (curl -k)
      --cacert FILE   verify the server's certificate against FILE (curl --cacert)
  -h, --help          show this help and exit

Exit status: 0 if every check passed, 1 if a check failed or the server
is unreachable, 2 on a usage error."
}

die_usage() {
	printf '%s: %s\n\n' "${0##*/}" "$1" >&2
	usage >&2
	exit 2
}

while (($#)); do
	case $1 in
	-k | --insecure) curl_opts+=(-k) ;;
	-a | --addr | -i | --input | --cacert)
		(($# >= 2)) || die_usage "option $1 needs an argument"
		case $1 in
		-a | --addr) addr=$2 ;;
		-i | --input) input=$2 ;;
		--cacert) curl_opts+=(--cacert "$2") ;;
		esac
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*) die_usage "unknown option: $1" ;;
	esac
	shift
done
addr=${addr%/} # so "$addr/decrypt/" never has a double slash

for tool in curl jq; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "error: '$tool' is required but was not found in PATH" >&2
		exit 1
	}
done

passed=0 failed=0

# check WHAT RESULT DETAIL: RESULT is an exit status (0 = pass), so a check
# reads as `[[ condition ]]; check "what" $? "detail shown on failure"`.
check() {
	if [[ $2 -eq 0 ]]; then
		printf 'PASS: %s\n' "$1"
		passed=$((passed + 1))
	else
		printf 'FAIL: %s (%s)\n' "$1" "$3"
		failed=$((failed + 1))
	fi
}

# post PATH BODY [CONTENT-TYPE]: POST BODY to $addr/PATH. Sets $status (the
# HTTP status, "000" if curl failed), $headers (the header block of the final
# response, CRLF line ends) and $body (the response body). One curl call
# writes the headers (-D -), then the body, then a write-out trailer of two
# lines: curl's error message (empty on success) and the status. The request
# body goes through stdin so that no text is ever read by curl as an option or
# an @file name. If the very first request fails at the curl level, the
# server is unreachable: that is reported as a failed check, the summary is
# printed and the script stops.
first_request=1
post() {
	local path=$1 data=$2 ctype=${3:-application/json} out rc err
	out=$(printf '%s' "$data" | curl "${curl_opts[@]}" -D - \
		-w '\n%{errormsg}\n%{http_code}' -H "Content-Type: $ctype" \
		--data-binary @- "$addr$path" 2>/dev/null)
	rc=$?
	status=${out##*$'\n'}
	out=${out%$'\n'*}
	err=${out##*$'\n'}
	out=${out%$'\n'*}
	# Header blocks (a "100 Continue" or a proxy's CONNECT reply may come
	# before the final one) each end with an empty line; the last one wins.
	headers=
	while [[ $out == HTTP/* && $out == *$'\r\n\r\n'* ]]; do
		headers=${out%%$'\r\n\r\n'*}
		out=${out#*$'\r\n\r\n'}
	done
	body=$out
	if ((rc != 0)); then
		status=000 headers='' body=''
		if ((first_request)); then
			check "gcm-oracle is reachable at $addr" 1 "curl exit $rc${err:+: $err}"
			case $rc in
			35 | 51 | 58 | 60 | 77) echo "hint: for a self-signed certificate use --cacert FILE or -k" >&2 ;;
			esac
			echo "$passed passed, $failed failed"
			exit 1
		fi
	fi
	first_request=0
	return "$rc"
}

# header NAME: print the value of response header NAME (case-insensitive) of
# the last response ($headers); repeated headers are joined with ", ".
header() {
	local rest=$headers$'\n' line name=${1,,} value='' v
	while [[ -n $rest ]]; do
		line=${rest%%$'\n'*}
		rest=${rest#*$'\n'}
		line=${line%$'\r'}
		if [[ $line == HTTP/* ]]; then # a new status line
			value=
		elif [[ ${line,,} == "$name":* ]]; then
			v=${line#*:}
			v=${v#"${v%%[![:space:]]*}"} # strip leading whitespace
			value=${value:+$value, }$v
		fi
	done
	printf '%s' "$value"
}

# get_field JSON NAME: set $val to the string field NAME of the JSON object in
# the text JSON; status 1 (and val empty) if it is not an object or NAME is
# absent or not a string. The trailing "x" keeps trailing newlines of the
# value intact.
get_field() {
	local out
	out=$(printf '%s' "$1" | jq -je --arg f "$2" 'objects | .[$f] | strings' 2>/dev/null && printf x) || {
		val=
		return 1
	}
	val=${out%x}
}

# is_json_error JSON CODE: JSON is an error body {"error": string,
# "code": string} and, if CODE is given, its code is CODE.
is_json_error() {
	printf '%s' "$1" | jq -e --arg code "${2-}" \
		'type == "object" and (.error | type) == "string" and (.code | type) == "string"
		 and ($code == "" or .code == $code)' >/dev/null 2>&1
}

# short TEXT: the first 200 bytes of a body, for failure details.
short() {
	local s=${1:0:200}
	printf '%s' "${s//[$'\n\r']/ }"
}

# Standard alphabet, '=' padding mandatory (RFC 4648 §4). Empty is valid.
b64_alphabet='ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
b64_re='^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$'

# b64_index CHAR: set $idx to the value (0-63) of base64 character CHAR.
b64_index() {
	local before=${b64_alphabet%%"$1"*}
	idx=${#before}
}

# b64_check TEXT: status 0 if TEXT is canonical standard padded base64, with
# $dlen set to its decoded length in bytes; otherwise status 1 and $why says
# what is wrong. Canonical (as a strict decoder wants it): the bits that the
# padding discards are zero, i.e. in "xx==" the 2nd character's low 4 bits
# and in "xxx=" the 3rd character's low 2 bits.
b64_check() {
	local s=$1 n=${#1} pad=0
	dlen=0 why=
	if ! [[ $s =~ $b64_re ]]; then
		why="not standard padded base64: '${s:0:80}'"
		return 1
	fi
	if [[ $s == *== ]]; then
		pad=2
		b64_index "${s:n-3:1}"
		((idx & 15)) && why="non-canonical: '${s:n-3:1}' before '==' leaves bits set in '${s:0:80}'"
	elif [[ $s == *= ]]; then
		pad=1
		b64_index "${s:n-2:1}"
		((idx & 3)) && why="non-canonical: '${s:n-2:1}' before '=' leaves bits set in '${s:0:80}'"
	fi
	[[ -z $why ]] || return 1
	dlen=$((n * 3 / 4 - pad)) # n is a multiple of 4
}

# flip_first_bit B64: print B64 with the lowest bit of its first decoded byte
# flipped, without decoding it. Byte 0 is (c0 << 2) | (c1 >> 4), so its lowest
# bit is bit 4 (value 16) of the 2nd character: swap that character for the
# one 16 places away in the alphabet. Status 1 if B64 decodes to no bytes.
flip_first_bit() {
	local s=$1
	[[ ${#s} -ge 4 && $s =~ $b64_re ]] || return 1
	b64_index "${s:1:1}"
	printf '%s' "${s:0:1}${b64_alphabet:$((idx ^ 16)):1}${s:2}"
}

# Request bodies are always built by jq, so any input text is escaped right.
oracle_body=$(jq -nc --arg data "$input" '{data: $data}')
input_len=${#input} # bytes, thanks to LC_ALL=C

# --- 1. encrypt: status and content type ------------------------------------
post /oracleinvocation/ "$oracle_body"
r1=$body
ctype=$(header content-type)
cache=$(header cache-control)
json_ct_re='^application/json[[:space:]]*(;.*)?$' # parameters such as charset allowed
[[ $status == 200 && ${ctype,,} =~ $json_ct_re ]]
check "POST /oracleinvocation/ returns 200 with a JSON content type" $? \
	"status $status, Content-Type '$ctype', body: $(short "$r1")"

# --- Cache-Control: ciphertexts and keys must never be cached ----------------
cache_tokens=",${cache,,},"
cache_tokens=${cache_tokens//[[:space:]]/}
[[ $cache_tokens == *,no-store,* ]]
check "response carries Cache-Control: no-store" $? "Cache-Control: '$cache'"

# --- 2. exactly data, key, mac, nonce, all strings --------------------------
printf '%s' "$r1" | jq -e 'type == "object" and keys == ["data", "key", "mac", "nonce"]
       and all(.[]; type == "string")' >/dev/null 2>&1
check "response has exactly the string fields data, key, mac, nonce" $? \
	"body: $(short "$r1")"

# --- 3. each field is standard padded base64 and decodes --------------------
declare -A decoded_len # field -> decoded length in bytes (0 if it did not decode)
for f in data key mac nonce; do
	ok=1 why=''
	if ! get_field "$r1" "$f"; then
		why="missing or not a string"
	elif b64_check "$val"; then
		ok=0
	fi
	((ok == 0)) || dlen=0 # later checks then see 0 bytes
	decoded_len[$f]=$dlen
	check "field '$f' is standard padded base64" "$ok" "$why"
done

# --- 4. sizes: AES-256 key, 96-bit GCM nonce, 128-bit tag --------------------
for spec in key:32 nonce:12 mac:16; do
	f=${spec%%:*} want=${spec#*:}
	got=${decoded_len[$f]}
	[[ $got == "$want" ]]
	check "$f decodes to $want bytes" $? "got $got bytes"
done

# --- 5. GCM is a stream mode: ciphertext as long as the UTF-8 clear text -----
got=${decoded_len[data]}
[[ $got == "$input_len" ]]
check "ciphertext length equals the UTF-8 length of the input ($input_len bytes)" $? \
	"ciphertext is $got bytes"

# --- 6. every call gets a fresh random key and nonce ------------------------
get_field "$r1" key
key1=$val
get_field "$r1" nonce
nonce1=$val
post /oracleinvocation/ "$oracle_body"
r2=$body
status2=$status
get_field "$r2" key
key2=$val
get_field "$r2" nonce
nonce2=$val
[[ $status2 == 200 && -n $key1 && -n $key2 && $key1 != "$key2" ]]
check "two calls give different keys" $? "status $status2, keys '$key1' and '$key2'"
[[ $status2 == 200 && -n $nonce1 && -n $nonce2 && $nonce1 != "$nonce2" ]]
check "two calls give different nonces" $? "status $status2, nonces '$nonce1' and '$nonce2'"

# --- 7. round trip through /decrypt/ ----------------------------------------
get_field "$r1" data
data1=$val
get_field "$r1" mac
mac1=$val
# decrypt_body MAC: the first response's fields, with the given tag.
decrypt_body() {
	jq -nc --arg data "$data1" --arg key "$key1" --arg mac "$1" --arg nonce "$nonce1" \
		'{data: $data, key: $key, mac: $mac, nonce: $nonce}'
}
post /decrypt/ "$(decrypt_body "$mac1")"
# Compared inside jq so that the text is matched exactly, byte for byte.
[[ $status == 200 ]] && printf '%s' "$body" | jq -e --arg want "$input" '.data == $want' >/dev/null 2>&1
check "POST /decrypt/ of the first response returns the input exactly" $? \
	"status $status, body: $(short "$body")"

# --- 8. a tampered tag must be rejected ---------------------------------------
if flipped=$(flip_first_bit "$mac1"); then
	post /decrypt/ "$(decrypt_body "$flipped")"
	[[ $status == 400 ]] && is_json_error "$body" decryption_failed
	check "a tag with one bit flipped gives 400 decryption_failed" $? \
		"status $status, body: $(short "$body")"
else
	check "a tag with one bit flipped gives 400 decryption_failed" 1 "no decodable tag to tamper with"
fi

# --- 9. malformed JSON ------------------------------------------------------
post /oracleinvocation/ '{"data": '
[[ $status == 400 ]] && is_json_error "$body" malformed_json
check "malformed JSON gives 400 with a JSON error, code malformed_json" $? \
	"status $status, body: $(short "$body")"

# --- 10. wrong media type (valid JSON, so only the Content-Type is wrong) ---
post /oracleinvocation/ "$oracle_body" text/plain
[[ $status == 415 ]] && is_json_error "$body" unsupported_media_type
check "Content-Type text/plain gives 415 with a JSON error, code unsupported_media_type" $? \
	"status $status, body: $(short "$body")"

# --- the path without its trailing slash works too --------------------------
post /oracleinvocation "$oracle_body"
[[ $status == 200 ]] && printf '%s' "$body" | jq -e 'type == "object" and keys == ["data", "key", "mac", "nonce"]' \
	>/dev/null 2>&1
check "POST /oracleinvocation (no trailing slash) returns 200 with the four fields" $? \
	"status $status, body: $(short "$body")"

# --- 11. key pairs, and sealing for a recipient's public key ------------------
post /keypair/ '{"algorithm":"x25519"}'
pair=$body
printf '%s' "$pair" | jq -e '
	keys == ["algorithm", "private_key_pem", "public_key_pem"] and .algorithm == "x25519"
	and (.private_key_pem | startswith("-----BEGIN PRIVATE KEY-----\n") and endswith("-----END PRIVATE KEY-----\n"))
	and (.public_key_pem | startswith("-----BEGIN PUBLIC KEY-----\n") and endswith("-----END PUBLIC KEY-----\n"))' \
	>/dev/null 2>&1 && [[ $status == 200 ]]
check "POST /keypair/ x25519 returns a PKCS#8 private key and an SPKI public key in PEM" $? \
	"status $status, body: $(short "$pair")"

get_field "$pair" public_key_pem
post /oracleinvocation/ "$(jq -nc --arg data "$input" --arg r "$val" '{data: $data, recipient: $r}')"
sealed=$body
printf '%s' "$sealed" | jq -e 'keys == ["data", "mac", "nonce", "wrap", "wrapped_key"]
	and .wrap == "hpke-x25519-sha256-aes256gcm"' >/dev/null 2>&1 && [[ $status == 200 ]]
check "sealing for an X25519 recipient returns wrapped_key and wrap, and no key" $? \
	"status $status, body: $(short "$sealed")"
get_field "$sealed" wrapped_key
b64_check "$val" && ((dlen == 32 + 32 + 16))
check "wrapped_key is enc (32 bytes) + the wrapped AES-256 key (32) + tag (16)" $? \
	"${why:-decodes to $dlen bytes}"
get_field "$sealed" data
b64_check "$val" && ((dlen == input_len))
check "the ciphertext sealed for a recipient is as long as the input" $? "${why:-decodes to $dlen bytes}"

post /keypair/ '{"algorithm":"ed25519"}'
get_field "$body" public_key_pem
post /oracleinvocation/ "$(jq -nc --arg r "$val" '{data: "x", recipient: $r}')"
[[ $status == 400 ]] && is_json_error "$body" unsupported_recipient &&
	printf '%s' "$body" | jq -e '.error | contains("RSA") and contains("X25519")' >/dev/null 2>&1
check "an Ed25519 recipient gives 400 unsupported_recipient listing RSA and X25519" $? \
	"status $status, body: $(short "$body")"

echo "$passed passed, $failed failed"
((failed == 0))
