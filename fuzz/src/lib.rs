//! The fuzz harnesses: each takes the raw bytes of a request body or envelope, runs them
//! through the same public API the server's handlers use, and panics if a property breaks.
//!
//! One copy of this logic serves twice: `cargo +nightly fuzz run <target>` (the one-line
//! targets in `fuzz/fuzz_targets/`), and `tests/library/fuzz_corpus.rs`, which replays the
//! committed corpus on stable with `#[path]` so `cargo test` checks every seed. So this file
//! depends on nothing but `gcm-oracle`, `base64` and `serde_json`, and uses no `unwrap` or
//! `expect`: every failure is a `panic!` that says which property broke.
//!
//! The properties, besides "no panic, no hang":
//! - every error a body can cause is a 4xx, and decoding errors are `malformed_json` or
//!   `invalid_request`;
//! - a decodable encrypt request is refused only for bad base64 or a bad recipient, and what it
//!   seals opens (directly and through `/decrypt/`) to exactly the clear text it sent;
//! - the JSON written for an answer is the envelope serde would write, and parses back;
//! - what `/decrypt/` opens, the envelope path opens to the same bytes, and a flipped tag bit
//!   is refused;
//! - an envelope survives a JSON round trip unchanged, and opening it directly or as a
//!   `/decrypt/` request gives the same answer or the same error.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gcm_oracle::internals::{HttpError, parse_items, parse_object};
use gcm_oracle::{
    Answer, Batch, BatchItem, DecryptRequest, Encoding, EncryptRequest, Envelope, EnvelopeError,
    Error, RecipientError, Sealed, Wrap, open_for_recipient_with,
};

/// An X25519 key pair made for the fuzz corpus and public on purpose: seeds sealed for
/// [`FIXTURE_PUBLIC_KEY`] let the harnesses check that a wrapped key really unwraps. It
/// protects nothing.
pub const FIXTURE_PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VuBCIEIKcOTMcHLpfRvoVOqE5ajbRg7m7rJNv9mQakGODcwGaE
-----END PRIVATE KEY-----
";

/// The public half of [`FIXTURE_PRIVATE_KEY`], as `"recipient"` carries it.
pub const FIXTURE_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VuAyEA314ugauE8mHMRq/kQgbl0hDL+h2+78bSKzoVaHHC7w8=
-----END PUBLIC KEY-----
";

/// The batch limit the `batch` target parses with: small, so the fuzzer reaches the over-limit
/// path and each execution stays cheap.
pub const BATCH_LIMIT: usize = 8;

/// `POST /oracleinvocation/`: seal the body where it lies as the server does, and check it
/// against the body decoded as an [`EncryptRequest`].
pub fn encrypt_request(data: &[u8]) {
    let answered = Answer::from_body(data.to_vec());
    let request = match parse_object::<EncryptRequest>(data) {
        Ok(request) => request,
        Err(err) => {
            let Err(in_body) = answered else {
                panic!("a body that does not decode as an encrypt request was sealed ({err})");
            };
            assert!(
                (in_body.code(), in_body.to_string()) == (err.code(), err.to_string()),
                "sealing in the body refused with {} ({in_body}), decoding with {} ({err})",
                in_body.code(),
                err.code(),
            );
            return assert_decoding_error(&Error::from(err), "encrypt request");
        }
    };
    // What the request asks to seal, decoded here independently of the library.
    let clear = decode_clear(request.encoding, &request.data);
    let aad = match &request.aad {
        Some(aad) => decode_clear(request.encoding, aad),
        None => Some(Vec::new()),
    };
    let original = request.clone();
    // The library's own path (what `seal` and the batch endpoint use) refuses or seals alike.
    let by_library = request.into_answer();
    match (&answered, &by_library) {
        (Ok(_), Ok(_)) => {}
        (Err(server), Err(library)) => assert!(
            (server.code(), server.to_string()) == (library.code(), library.to_string()),
            "sealing in the body refused with {} ({server}), the library with {} ({library})",
            server.code(),
            library.code(),
        ),
        _ => panic!("sealing a decoded request and sealing its body disagree"),
    }
    let answers = match (answered, by_library) {
        (Ok(server), Ok(library)) => [server, library],
        (Err(err), _) | (_, Err(err)) => {
            assert_client_error(&err, "sealing");
            assert!(
                original.recipient.is_some() || clear.is_none() || aad.is_none(),
                "a request with valid base64 and no recipient was refused: {} ({})",
                err.code(),
                err,
            );
            return;
        }
    };
    let (Some(clear), Some(aad)) = (clear, aad) else {
        panic!("a request with invalid base64 in `data` or `aad` was sealed");
    };
    for answer in &answers {
        check_answer(answer, &original, &clear, &aad);
    }
}

/// An answer's JSON is its envelope exactly as serde writes it, and the envelope opens to the
/// request's clear text.
fn check_answer(answer: &Answer, request: &EncryptRequest, clear: &[u8], aad: &[u8]) {
    assert_eq!(answer.ciphertext_len(), clear.len(), "ciphertext length");
    let json = answer.to_json();
    let envelope = answer.to_envelope();
    let written: Envelope = serde_json::from_slice(&json)
        .unwrap_or_else(|err| panic!("the answer's JSON does not parse as an envelope: {err}"));
    assert!(written == envelope, "the answer's JSON is not its envelope");
    let by_serde = serde_json::to_vec(&envelope)
        .unwrap_or_else(|err| panic!("the envelope does not serialize: {err}"));
    assert!(
        *json == by_serde,
        "the direct JSON writer differs from serde's"
    );
    match &request.recipient {
        None => check_plain_answer(request, &envelope, clear, aad),
        Some(recipient) => check_wrapped_answer(recipient, &envelope, clear, aad),
    }
}

/// A sealed answer with its key in the clear opens to the request's clear text, with the sizes
/// asked for, and the matching `/decrypt/` request gives back the request's own `data`.
fn check_plain_answer(request: &EncryptRequest, envelope: &Envelope, clear: &[u8], aad: &[u8]) {
    let sealed = Sealed::try_from(envelope)
        .unwrap_or_else(|err| panic!("the answer's envelope does not decode: {err}"));
    assert_eq!(sealed.key.size(), request.key_bits, "key size");
    assert_eq!(sealed.nonce.size(), request.nonce_bits, "nonce size");
    match envelope.open_with(aad) {
        Ok(opened) => assert!(opened == clear, "the envelope opens to other bytes"),
        Err(err) => panic!("the answer's envelope does not open: {err}"),
    }
    let decrypt = DecryptRequest::new(envelope, aad, request.encoding)
        .unwrap_or_else(|err| panic!("no decrypt request for a plain envelope: {err}"));
    match decrypt.open() {
        // The encodings are canonical (strict base64, UTF-8 as is): the very string sent.
        Ok(response) => assert!(
            response.data.as_str() == request.data.as_str(),
            "/decrypt/ returns other data than was sealed"
        ),
        Err(err) => panic!("/decrypt/ refuses a fresh answer: {} ({err})", err.code()),
    }
}

/// A wrapped answer carries no key, cannot be opened without the private key, and opens with
/// the fixture key exactly when it was sealed for it.
fn check_wrapped_answer(recipient: &str, envelope: &Envelope, clear: &[u8], aad: &[u8]) {
    assert!(
        envelope.key.is_none() && envelope.wrapped_key.is_some() && envelope.wrap.is_some(),
        "a recipient's envelope must carry `wrapped_key` and `wrap` and no `key`"
    );
    assert_eq!(envelope.open_with(aad), Err(EnvelopeError::Wrapped));
    match (
        envelope.wrap,
        open_for_recipient_with(envelope, FIXTURE_PRIVATE_KEY, aad),
    ) {
        (_, Ok(opened)) => assert!(opened == clear, "the recipient opens other bytes"),
        (_, Err(_)) if recipient == FIXTURE_PUBLIC_KEY => {
            panic!("an envelope sealed for the fixture key does not open with it")
        }
        (Some(Wrap::HpkeX25519Sha256Aes256Gcm), Err(err)) => assert!(
            matches!(
                err,
                RecipientError::Envelope(EnvelopeError::DecryptionFailed(_))
            ),
            "another X25519 key's envelope must fail opaquely: {err}"
        ),
        (_, Err(err)) => assert!(
            matches!(err, RecipientError::WrongKeyType { .. }),
            "an RSA-wrapped envelope opened with an X25519 key: {err}"
        ),
    }
}

/// `POST /decrypt/`: decode the body and open it.
pub fn decrypt_request(data: &[u8]) {
    let request = match parse_object::<DecryptRequest>(data) {
        Ok(request) => request,
        Err(err) => return assert_decoding_error(&Error::from(err), "decrypt request"),
    };
    let response = match request.open() {
        Ok(response) => response,
        Err(err) => return check_refused_decryption(&request, &err),
    };
    let opened = match request.encoding {
        Encoding::Utf8 => response.data.as_bytes().to_vec(),
        Encoding::Base64 => STANDARD
            .decode(response.data.as_str())
            .unwrap_or_else(|_| panic!("/decrypt/ answers invalid base64")),
    };
    assert_eq!(request.ciphertext_len(), opened.len(), "ciphertext length");

    // The envelope path opens the same fields to the same bytes.
    let aad = match &request.aad {
        Some(aad) => decode_clear(request.encoding, aad)
            .unwrap_or_else(|| panic!("opened with an `aad` that does not decode")),
        None => Vec::new(),
    };
    match envelope_of(&request).open_with(&aad) {
        Ok(bytes) => assert!(bytes == opened, "the envelope path opens other bytes"),
        Err(err) => panic!("/decrypt/ opens what the envelope path refuses: {err}"),
    }

    // Any change to the tag is refused, with the one opaque error.
    let mut tampered = request.clone();
    let mut tag = STANDARD
        .decode(&request.mac)
        .unwrap_or_else(|_| panic!("opened with a `mac` that is not base64"));
    if let Some(first) = tag.first_mut() {
        *first ^= 0x01;
    }
    tampered.mac = STANDARD.encode(&tag);
    match tampered.open() {
        Ok(_) => panic!("a flipped tag bit was accepted"),
        Err(err) => assert_eq!(err.code(), "decryption_failed", "tampered tag: {err}"),
    }
}

/// A refused `/decrypt/` request is the client's fault; binary clear text asked for as UTF-8
/// is still there as base64.
fn check_refused_decryption(request: &DecryptRequest, err: &Error) {
    assert_client_error(err, "opening");
    if err.code() != "plaintext_not_utf8" {
        return;
    }
    assert_eq!(request.encoding, Encoding::Utf8, "422 for a base64 answer");
    let mut as_base64 = request.clone();
    as_base64.encoding = Encoding::Base64;
    as_base64.aad = request.aad.as_ref().map(|aad| STANDARD.encode(aad));
    if let Err(err) = as_base64.open() {
        panic!(
            "binary clear text does not open as base64: {} ({err})",
            err.code()
        );
    }
}

/// A sealed message as it arrives on the wire: parse it, open it, and round-trip it.
pub fn envelope(data: &[u8]) {
    let envelope = match serde_json::from_slice::<Envelope>(data) {
        Ok(envelope) => envelope,
        Err(err) => return assert_decoding_error(&Error::from_json(&err), "envelope"),
    };
    let json = serde_json::to_vec(&envelope)
        .unwrap_or_else(|err| panic!("a parsed envelope does not serialize: {err}"));
    match serde_json::from_slice::<Envelope>(&json) {
        Ok(again) => assert!(
            again == envelope,
            "an envelope changes in a JSON round trip"
        ),
        Err(err) => panic!("a re-serialized envelope does not parse: {err}"),
    }

    // Opening directly and through a `/decrypt/` request agree, answer or error.
    let opened = envelope.open();
    match (
        &opened,
        DecryptRequest::new(&envelope, b"", Encoding::Base64),
    ) {
        (Err(direct), Err(new)) => assert_eq!(*direct, new, "DecryptRequest::new's error"),
        (Ok(_), Err(err)) => panic!("an envelope that opens has no decrypt request: {err}"),
        (Err(direct), Ok(request)) => match request.open() {
            Ok(_) => panic!("/decrypt/ opens an envelope that does not open: {direct}"),
            Err(err) => {
                assert_eq!(err.code(), Error::from(*direct).code(), "{err} vs {direct}");
            }
        },
        (Ok(clear), Ok(request)) => {
            assert_eq!(envelope.ciphertext_len(), clear.len(), "ciphertext length");
            match request.open() {
                Ok(response) => assert!(
                    response.data.as_str() == STANDARD.encode(clear),
                    "/decrypt/ opens other bytes"
                ),
                Err(err) => panic!("/decrypt/ refuses an envelope that opens: {err}"),
            }
        }
    }
    if let Err(err) = &opened {
        assert_client_error(&Error::from(*err), "opening an envelope");
    }

    // Whatever the envelope, a recipient's attempt fails as the client's fault, or opens a
    // message that really was wrapped for the fixture key.
    match open_for_recipient_with(&envelope, FIXTURE_PRIVATE_KEY, b"") {
        Ok(_) => assert!(
            envelope.key.is_none() && envelope.wrap == Some(Wrap::HpkeX25519Sha256Aes256Gcm),
            "a recipient opened an envelope that is not HPKE-wrapped"
        ),
        Err(err) => assert_client_error(&Error::from(err), "opening for a recipient"),
    }
}

/// `POST /oracleinvocation/batch` and `POST /decrypt/batch`: split the body into items, then
/// run each item through both single-item harnesses and write the batch answer.
pub fn batch(data: &[u8]) {
    let items = match parse_items(data, BATCH_LIMIT) {
        Ok(items) => items,
        Err(err) => {
            assert_client_error(&Error::from(err.clone()), "batch");
            // A looser limit reads the same body to a batch over this one's limit, or to the
            // same kind of error.
            let loose = parse_items(data, usize::MAX);
            match (err.code(), loose) {
                ("too_many_items", Ok(items)) => assert!(items.len() > BATCH_LIMIT),
                ("too_many_items", Err(other)) => {
                    assert_ne!(other.code(), "too_many_items", "no limit, yet too many");
                }
                (_, Ok(_)) => panic!("only the item limit refuses a batch: {}", err.code()),
                (code, Err(other)) => assert_eq!(code, other.code(), "the limit changes errors"),
            }
            return;
        }
    };
    assert!(items.len() <= BATCH_LIMIT, "more items than the limit");
    let mut answers: Vec<BatchItem<Envelope>> = Vec::with_capacity(items.len());
    for item in &items {
        let bytes = item.get().as_bytes();
        assert!(
            serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok(),
            "an item is not JSON on its own"
        );
        encrypt_request(bytes);
        decrypt_request(bytes);
        let answer = parse_object::<EncryptRequest>(bytes)
            .map_err(Error::from)
            .and_then(EncryptRequest::into_answer)
            .map(|answer| answer.to_envelope());
        answers.push(answer.into());
    }
    // The answer is one item per request, each an envelope or an error body.
    let written = serde_json::to_vec(&Batch { items: answers })
        .unwrap_or_else(|err| panic!("a batch answer does not serialize: {err}"));
    match serde_json::from_slice::<Batch<BatchItem<Envelope>>>(&written) {
        Ok(back) => assert_eq!(back.items.len(), items.len(), "batch answer length"),
        Err(err) => panic!("a batch answer does not parse back: {err}"),
    }
}

/// Bytes of a clear-text field (`data` or `aad`) in `encoding`, or `None` if they do not
/// decode: the API's definition, written out independently.
fn decode_clear(encoding: Encoding, text: &str) -> Option<Vec<u8>> {
    match encoding {
        Encoding::Utf8 => Some(text.as_bytes().to_vec()),
        Encoding::Base64 => STANDARD.decode(text).ok(),
    }
}

/// The envelope a `/decrypt/` request's fields make.
fn envelope_of(request: &DecryptRequest) -> Envelope {
    Envelope {
        data: request.data.clone(),
        key: Some(request.key.clone()),
        wrapped_key: None,
        wrap: None,
        mac: request.mac.clone(),
        nonce: request.nonce.clone(),
    }
}

/// A body that does not decode is a 400 saying the JSON is broken or of the wrong shape.
fn assert_decoding_error(err: &Error, what: &str) {
    assert!(
        matches!(err.code(), "malformed_json" | "invalid_request")
            && HttpError::status_of(err) == 400,
        "decoding an {what} gave {} {} ({err})",
        HttpError::status_of(err),
        err.code(),
    );
}

/// Whatever a client sends, the answer is a 4xx: nothing in a body may cause a server error.
fn assert_client_error(err: &Error, what: &str) {
    assert!(
        (400..500).contains(&HttpError::status_of(err)),
        "{what} gave {} {} ({err}): input must never cause a 5xx",
        HttpError::status_of(err),
        err.code(),
    );
}

/// The key the `stream` target opens streams with: fixed, so seeds can be valid streams (16
/// bytes for `aes128gcm`, all 32 for the Tink format). It protects nothing.
pub const STREAM_KEY: [u8; 32] = [7; 32];

/// `POST /decrypt/stream` and `open_stream`: the first byte picks the format (even:
/// `aes128gcm`, odd: `aes256gcm-hkdf-1mb`) and the second the size of the pieces the rest is
/// fed in. Properties: no panic; the same verdict and the same clear text whatever the pieces;
/// and the rest, sealed under the same key, opens back to itself.
pub fn stream(data: &[u8]) {
    use gcm_oracle::{
        Key, StreamFormat, StreamOpener, StreamOptions, StreamSealer, open_stream,
        seal_stream_under,
    };

    let [format, piece, stream @ ..] = data else {
        return;
    };
    let (format, key_len) = if format % 2 == 0 {
        (StreamFormat::Aes128Gcm, 16)
    } else {
        (StreamFormat::Aes256GcmHkdf1Mb, 32)
    };
    let Ok(key) = Key::try_from(&STREAM_KEY[..key_len]) else {
        panic!("a fixed key of a valid length was refused");
    };
    let options = StreamOptions::new(format);

    let mut whole = Vec::new();
    let at_once = open_stream(stream, &mut whole, &key, &options).map(|_| whole);
    let mut opener = match StreamOpener::new(&key, &options) {
        Ok(opener) => opener,
        Err(err) => panic!("an opener with valid options was refused: {err}"),
    };
    let mut pieces = Vec::new();
    let in_pieces = stream
        .chunks(usize::from(*piece).max(1))
        .try_for_each(|chunk| opener.update(chunk, &mut pieces))
        .and_then(|()| opener.finish(&mut pieces))
        .map(|()| pieces);
    match (&at_once, &in_pieces) {
        (Ok(a), Ok(b)) => assert!(a == b, "the same stream opened to different clear texts"),
        (Err(_), Err(_)) => {}
        _ => panic!(
            "opened at once: {:?}, in pieces: {:?}",
            at_once.as_ref().map(Vec::len).map_err(ToString::to_string),
            in_pieces
                .as_ref()
                .map(Vec::len)
                .map_err(ToString::to_string),
        ),
    }

    let mut sealed = Vec::new();
    if let Err(err) = seal_stream_under(&key, stream, &mut sealed, &options) {
        panic!("sealing failed: {err}");
    }
    assert!(
        options.sealed_len(stream.len() as u64) == Some(sealed.len() as u64),
        "sealed_len disagrees with the stream sealed"
    );
    let mut back = Vec::new();
    match open_stream(&sealed[..], &mut back, &key, &options) {
        Ok(_) => assert!(back == stream, "a sealed stream opened to other bytes"),
        Err(err) => panic!("a stream just sealed did not open: {err}"),
    }
    // The sealer is also usable directly, piece by piece, and agrees on the length.
    let Ok(mut sealer) = StreamSealer::new(&key, &options) else {
        panic!("a sealer with valid options was refused");
    };
    let mut direct = Vec::new();
    for chunk in stream.chunks(usize::from(*piece).max(1)) {
        if let Err(err) = sealer.update(chunk, &mut direct) {
            panic!("sealing a piece failed: {err}");
        }
    }
    if let Err(err) = sealer.finish(&mut direct) {
        panic!("finishing failed: {err}");
    }
    assert!(
        direct.len() == sealed.len(),
        "two seals of one stream differ in length"
    );
}
