#!/usr/bin/env bash
# Contract test for the gcm-oracle HTTPS service (AES-GCM encryption oracle).
#
# Needs only bash, curl, jq and coreutils (base64, od, wc, ...). Every check is
# printed as "PASS: ..." or "FAIL: ... (detail)", and the last line is
# "N passed, M failed". Exit status: 0 if nothing failed, 1 if a check failed
# or the server could not be reached, 2 on a usage error.

# No `set -e`: a failed check must be reported and the run must go on.
set -u

default_input='He said "héllo" \ 👋 — ünïcødé'
addr='https://localhost:8443'
input=$default_input
curl_opts=(-sS --max-time 10)

usage() {
	cat <<EOF
Usage: ${0##*/} [options]

Contract test for the gcm-oracle HTTPS service.

  -a, --addr URL      base URL of the server (default: https://localhost:8443)
  -i, --input TEXT    UTF-8 clear text to encrypt (default: $default_input)
  -k, --insecure      do not verify the server's TLS certificate (curl -k)
      --cacert FILE   verify the server's certificate against FILE (curl --cacert)
  -h, --help          show this help and exit

Exit status: 0 if every check passed, 1 if a check failed or the server
is unreachable, 2 on a usage error.
EOF
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

for tool in curl jq base64 od wc mktemp; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "error: '$tool' is required but was not found in PATH" >&2
		exit 1
	}
done

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

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
# HTTP status, "000" if curl failed); the response is left in $tmp/body and
# $tmp/headers. The body goes through stdin so that no text is ever read by
# curl as an option or an @file name. If the very first request fails at the
# curl level, the server is unreachable and there is no point going on.
first_request=1
post() {
	local path=$1 body=$2 ctype=${3:-application/json} rc
	: >"$tmp/body"
	: >"$tmp/headers"
	status=$(printf '%s' "$body" | curl "${curl_opts[@]}" -o "$tmp/body" -D "$tmp/headers" \
		-w '%{http_code}' -H "Content-Type: $ctype" --data-binary @- "$addr$path" 2>"$tmp/curl_err")
	rc=$?
	if ((rc != 0)); then
		status=000
		if ((first_request)); then
			echo "error: cannot reach gcm-oracle at $addr (curl exit $rc):" >&2
			cat "$tmp/curl_err" >&2
			case $rc in
			35 | 51 | 58 | 60 | 77) echo "hint: for a self-signed certificate use --cacert FILE or -k" >&2 ;;
			esac
			exit 1
		fi
	fi
	first_request=0
	return "$rc"
}

# header NAME: print the value of response header NAME (case-insensitive) of
# the last response in $tmp/headers; repeated headers are joined with ", ".
header() {
	local line name=${1,,} value='' v
	while IFS= read -r line; do
		line=${line%$'\r'}
		if [[ $line == HTTP/* ]]; then # a new status line (e.g. after a 100 Continue)
			value=
		elif [[ ${line,,} == "$name":* ]]; then
			v=${line#*:}
			v=${v#"${v%%[![:space:]]*}"} # strip leading whitespace
			value=${value:+$value, }$v
		fi
	done <"$tmp/headers"
	printf '%s' "$value"
}

# get_field FILE NAME: set $val to the string field NAME of the JSON object in
# FILE; status 1 (and val empty) if FILE is not an object or NAME is absent or
# not a string. The trailing "x" keeps trailing newlines of the value intact.
get_field() {
	local out
	out=$(jq -je --arg f "$2" 'objects | .[$f] | strings' "$1" 2>/dev/null && printf x) || {
		val=
		return 1
	}
	val=${out%x}
}

# is_json_error FILE CODE: FILE is a JSON error body {"error": string,
# "code": string} and, if CODE is given, its code is CODE.
is_json_error() {
	jq -e --arg code "${2-}" \
		'type == "object" and (.error | type) == "string" and (.code | type) == "string"
		 and ($code == "" or .code == $code)' "$1" >/dev/null 2>&1
}

# short FILE: the first 200 bytes of a body, for failure details.
short() { head -c 200 "$1" | tr '\n\r' '  '; }

# byte_len FILE: size in bytes, as a plain number.
byte_len() { echo $(($(wc -c <"$1"))); }

# flip_first_bit B64: print B64 re-encoded with the lowest bit of its first
# decoded byte flipped. Done with od + printf so no xxd is needed.
flip_first_bit() {
	local -a bytes
	local b esc=''
	read -r -d '' -a bytes < <(printf '%s' "$1" | base64 -d 2>/dev/null | od -An -v -tu1)
	((${#bytes[@]})) || return 1
	bytes[0]=$((bytes[0] ^ 1))
	for b in "${bytes[@]}"; do esc+=$(printf '\\0%03o' "$b"); done
	printf '%b' "$esc" | base64 -w0
}

# Standard alphabet, '=' padding mandatory (RFC 4648 §4). Empty is valid.
b64_re='^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$'

# Request bodies are always built by jq, so any input text is escaped right.
oracle_body=$(jq -nc --arg data "$input" '{data: $data}')
input_len=$(printf '%s' "$input" | wc -c)
input_len=$((input_len))

# --- 1. encrypt: status and content type ------------------------------------
post /oracleinvocation/ "$oracle_body"
cp "$tmp/body" "$tmp/r1.json"
ctype=$(header content-type)
cache=$(header cache-control)
json_ct_re='^application/json[[:space:]]*(;.*)?$' # parameters such as charset allowed
[[ $status == 200 && ${ctype,,} =~ $json_ct_re ]]
check "POST /oracleinvocation/ returns 200 with a JSON content type" $? \
	"status $status, Content-Type '$ctype', body: $(short "$tmp/r1.json")"

# --- Cache-Control: ciphertexts and keys must never be cached ----------------
cache_tokens=",${cache,,},"
cache_tokens=${cache_tokens//[[:space:]]/}
[[ $cache_tokens == *,no-store,* ]]
check "response carries Cache-Control: no-store" $? "Cache-Control: '$cache'"

# --- 2. exactly data, key, mac, nonce, all strings --------------------------
jq -e 'type == "object" and keys == ["data", "key", "mac", "nonce"]
       and all(.[]; type == "string")' "$tmp/r1.json" >/dev/null 2>&1
check "response has exactly the string fields data, key, mac, nonce" $? \
	"body: $(short "$tmp/r1.json")"

# --- 3. each field is standard padded base64 and decodes --------------------
for f in data key mac nonce; do
	ok=1 why=''
	if ! get_field "$tmp/r1.json" "$f"; then
		why="missing or not a string"
	elif ! [[ $val =~ $b64_re ]]; then
		why="not standard padded base64: '${val:0:80}'"
	elif ! printf '%s' "$val" | base64 -d >"$tmp/$f.bin" 2>/dev/null; then
		why="base64 -d rejects '${val:0:80}'"
	else
		ok=0
	fi
	((ok == 0)) || : >"$tmp/$f.bin" # later checks then see 0 bytes
	check "field '$f' is standard padded base64" "$ok" "$why"
done

# --- 4. sizes: AES-256 key, 96-bit GCM nonce, 128-bit tag --------------------
for spec in key:32 nonce:12 mac:16; do
	f=${spec%%:*} want=${spec#*:}
	got=$(byte_len "$tmp/$f.bin")
	[[ $got == "$want" ]]
	check "$f decodes to $want bytes" $? "got $got bytes"
done

# --- 5. GCM is a stream mode: ciphertext as long as the UTF-8 clear text -----
got=$(byte_len "$tmp/data.bin")
[[ $got == "$input_len" ]]
check "ciphertext length equals the UTF-8 length of the input ($input_len bytes)" $? \
	"ciphertext is $got bytes"

# --- 6. every call gets a fresh random key and nonce ------------------------
get_field "$tmp/r1.json" key
key1=$val
get_field "$tmp/r1.json" nonce
nonce1=$val
post /oracleinvocation/ "$oracle_body"
cp "$tmp/body" "$tmp/r2.json"
status2=$status
get_field "$tmp/r2.json" key
key2=$val
get_field "$tmp/r2.json" nonce
nonce2=$val
[[ $status2 == 200 && -n $key1 && -n $key2 && $key1 != "$key2" ]]
check "two calls give different keys" $? "status $status2, keys '$key1' and '$key2'"
[[ $status2 == 200 && -n $nonce1 && -n $nonce2 && $nonce1 != "$nonce2" ]]
check "two calls give different nonces" $? "status $status2, nonces '$nonce1' and '$nonce2'"

# --- 7. round trip through /decrypt/ ----------------------------------------
get_field "$tmp/r1.json" data
data1=$val
get_field "$tmp/r1.json" mac
mac1=$val
# decrypt_body MAC: the first response's fields, with the given tag.
decrypt_body() {
	jq -nc --arg data "$data1" --arg key "$key1" --arg mac "$1" --arg nonce "$nonce1" \
		'{data: $data, key: $key, mac: $mac, nonce: $nonce}'
}
post /decrypt/ "$(decrypt_body "$mac1")"
# Compared inside jq so that the text is matched exactly, byte for byte.
[[ $status == 200 ]] && jq -e --arg want "$input" '.data == $want' "$tmp/body" >/dev/null 2>&1
check "POST /decrypt/ of the first response returns the input exactly" $? \
	"status $status, body: $(short "$tmp/body")"

# --- 8. a tampered tag must be rejected ---------------------------------------
if flipped=$(flip_first_bit "$mac1"); then
	post /decrypt/ "$(decrypt_body "$flipped")"
	[[ $status == 400 ]] && is_json_error "$tmp/body" decryption_failed
	check "a tag with one bit flipped gives 400 decryption_failed" $? \
		"status $status, body: $(short "$tmp/body")"
else
	check "a tag with one bit flipped gives 400 decryption_failed" 1 "no decodable tag to tamper with"
fi

# --- 9. malformed JSON ------------------------------------------------------
post /oracleinvocation/ '{"data": '
[[ $status == 400 ]] && is_json_error "$tmp/body" malformed_json
check "malformed JSON gives 400 with a JSON error, code malformed_json" $? \
	"status $status, body: $(short "$tmp/body")"

# --- 10. wrong media type (valid JSON, so only the Content-Type is wrong) ---
post /oracleinvocation/ "$oracle_body" text/plain
[[ $status == 415 ]] && is_json_error "$tmp/body" unsupported_media_type
check "Content-Type text/plain gives 415 with a JSON error, code unsupported_media_type" $? \
	"status $status, body: $(short "$tmp/body")"

# --- the path without its trailing slash works too --------------------------
post /oracleinvocation "$oracle_body"
[[ $status == 200 ]] && jq -e 'type == "object" and keys == ["data", "key", "mac", "nonce"]' \
	"$tmp/body" >/dev/null 2>&1
check "POST /oracleinvocation (no trailing slash) returns 200 with the four fields" $? \
	"status $status, body: $(short "$tmp/body")"

echo "$passed passed, $failed failed"
((failed == 0))
