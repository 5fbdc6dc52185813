//! Black-box tests of the AEAD options (aad, key and nonce sizes, encodings) and the batch
//! endpoints, including the whole Wycheproof AES-GCM suite through `/decrypt/`.

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{decoded_len, spawn, spawn_with};

#[tokio::test]
async fn a_request_with_only_data_keeps_the_original_response_shape() {
    let server = spawn().await;
    let (status, body) = server
        .post_json_answer("/oracleinvocation/", &json!({ "data": "hi" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut fields: Vec<&String> = body.as_object().unwrap().keys().collect();
    fields.sort_unstable();
    assert_eq!(fields, ["data", "key", "mac", "nonce"]);
    assert_eq!(
        (decoded_len(&body["key"]), decoded_len(&body["nonce"])),
        (32, 12)
    );
}

#[tokio::test]
async fn every_key_and_nonce_size_seals_and_opens_with_sizes_read_from_the_envelope() {
    let server = spawn().await;
    for key_bits in [128, 192, 256] {
        for nonce_bits in [96, 128] {
            let request =
                json!({ "data": "sized", "key_bits": key_bits, "nonce_bits": nonce_bits });
            let (status, envelope) = server
                .post_json_answer("/oracleinvocation/", &request)
                .await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(decoded_len(&envelope["key"]), key_bits / 8);
            assert_eq!(decoded_len(&envelope["nonce"]), nonce_bits / 8);
            assert_eq!(decoded_len(&envelope["mac"]), 16);
            let (status, opened) = server.post_json_answer("/decrypt/", &envelope).await;
            assert_eq!(
                (status, opened),
                (StatusCode::OK, json!({ "data": "sized" }))
            );
        }
    }
}

#[tokio::test]
async fn the_original_python_format_is_128_bit_key_and_nonce() {
    let server = spawn().await;
    let request = json!({ "data": "legacy", "key_bits": 128, "nonce_bits": 128 });
    let (_, envelope) = server
        .post_json_answer("/oracleinvocation/", &request)
        .await;
    assert_eq!(
        (
            decoded_len(&envelope["key"]),
            decoded_len(&envelope["nonce"])
        ),
        (16, 16)
    );
    assert_eq!(envelope.as_object().unwrap().len(), 4);
}

#[tokio::test]
async fn invalid_sizes_and_encodings_are_400_naming_the_allowed_values() {
    let server = spawn().await;
    for (request, needle) in [
        (json!({ "data": "", "key_bits": 512 }), "128, 192 or 256"),
        (
            json!({ "data": "", "key_bits": "256" }),
            "field `key_bits`: invalid type: string, expected 128, 192 or 256",
        ),
        (json!({ "data": "", "nonce_bits": 64 }), "96 or 128"),
        (
            json!({ "data": "", "encoding": "hex" }),
            "`utf-8` or `base64`",
        ),
    ] {
        let (status, error) = server
            .post_json_answer("/oracleinvocation/", &request)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{request}");
        assert_eq!(error["code"], "invalid_request");
        assert!(error["error"].as_str().unwrap().contains(needle), "{error}");
    }
    let (_, mut envelope) = server
        .post_json_answer("/oracleinvocation/", &json!({ "data": "x" }))
        .await;
    envelope["nonce"] = STANDARD.encode([0u8; 8]).into();
    let (status, error) = server.post_json_answer("/decrypt/", &envelope).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_length"))
    );
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("`nonce` must decode to 12 or 16 bytes")
    );
}

#[tokio::test]
async fn aad_is_authenticated_not_returned_and_needed_to_decrypt() {
    let server = spawn().await;
    let (_, envelope) = server
        .post_json_answer(
            "/oracleinvocation/",
            &json!({ "data": "pay 10", "aad": "order 7" }),
        )
        .await;
    assert_eq!(
        envelope.as_object().unwrap().len(),
        4,
        "aad must not be returned"
    );
    let mut request = envelope.clone();
    request["aad"] = "order 7".into();
    let (status, opened) = server.post_json_answer("/decrypt/", &request).await;
    assert_eq!(
        (status, opened),
        (StatusCode::OK, json!({ "data": "pay 10" }))
    );

    let mut failures = Vec::new();
    for aad in [None, Some("order 8"), Some("")] {
        let mut request = envelope.clone();
        if let Some(aad) = aad {
            request["aad"] = aad.into();
        }
        failures.push(server.post_json_answer("/decrypt/", &request).await);
    }
    for (status, error) in &failures {
        assert_eq!(*status, StatusCode::BAD_REQUEST);
        assert_eq!(*error, failures[0].1, "failures must be indistinguishable");
        assert_eq!(error["code"], "decryption_failed");
    }
}

#[tokio::test]
async fn base64_encoding_carries_any_bytes_both_ways() {
    let server = spawn().await;
    let binary = [0x00u8, 0xff, 0xfe, 0xc3, 0x28];
    let aad = [0x80u8, 0x00];
    let request = json!({
        "data": STANDARD.encode(binary), "aad": STANDARD.encode(aad), "encoding": "base64"
    });
    let (status, envelope) = server
        .post_json_answer("/oracleinvocation/", &request)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(decoded_len(&envelope["data"]), binary.len());

    let mut request = envelope.clone();
    request["aad"] = STANDARD.encode(aad).into();
    request["encoding"] = "base64".into();
    let (status, opened) = server.post_json_answer("/decrypt/", &request).await;
    assert_eq!(
        (status, opened),
        (StatusCode::OK, json!({ "data": STANDARD.encode(binary) }))
    );

    // The same bytes asked for as text: 422, saying how to ask for them.
    let mut request = envelope;
    request["aad"] = STANDARD.encode(aad).into();
    request["encoding"] = "base64".into();
    let text_request = json!({
        "data": request["data"], "key": request["key"], "mac": request["mac"],
        "nonce": request["nonce"], "aad": "\u{80}\u{0}"
    });
    let (status, error) = server.post_json_answer("/decrypt/", &text_request).await;
    // The aad as UTF-8 text is different bytes (U+0080 is two bytes): authentication fails.
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("decryption_failed"))
    );
    let (_, envelope) = server
        .post_json_answer(
            "/oracleinvocation/",
            &json!({ "data": STANDARD.encode(binary), "encoding": "base64" }),
        )
        .await;
    let (status, error) = server.post_json_answer("/decrypt/", &envelope).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["code"], "plaintext_not_utf8");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains(r#""encoding": "base64""#),
        "{error}"
    );
}

#[tokio::test]
async fn bad_base64_in_clear_text_fields_is_400_naming_the_field() {
    let server = spawn().await;
    for (request, field) in [
        (
            json!({ "data": "not base64", "encoding": "base64" }),
            "`data`",
        ),
        (
            json!({ "data": "", "aad": "%%", "encoding": "base64" }),
            "`aad`",
        ),
    ] {
        let (status, error) = server
            .post_json_answer("/oracleinvocation/", &request)
            .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_base64"))
        );
        assert!(error["error"].as_str().unwrap().contains(field), "{error}");
    }
}

#[tokio::test]
async fn batch_answers_in_order_with_per_item_errors() {
    let server = spawn().await;
    let batch = json!({ "items": [
        { "data": "first" },
        { "data": "second", "key_bits": 128, "nonce_bits": 128, "aad": "ctx" },
        { "data": "third", "colour": "blue" },
        { "data": 3 },
        "not an object",
        { "data": "%%", "encoding": "base64" },
        { "data": "last" }
    ]});
    let (status, answer) = server
        .post_json_answer("/oracleinvocation/batch", &batch)
        .await;
    assert_eq!(status, StatusCode::OK);
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items.len(), 7);
    let codes: Vec<Option<&str>> = items.iter().map(|item| item["code"].as_str()).collect();
    assert_eq!(
        codes,
        [
            None,
            None,
            Some("invalid_request"),
            Some("invalid_request"),
            Some("invalid_request"),
            Some("invalid_base64"),
            None
        ]
    );
    for failed in [&items[2], &items[3], &items[4], &items[5]] {
        assert_eq!(failed.as_object().unwrap().len(), 2, "{failed}");
    }
    assert_eq!(decoded_len(&items[1]["key"]), 16);

    // The answers decrypt, in order, through the decrypt batch.
    let mut second = items[1].clone();
    second["aad"] = "ctx".into();
    let mut tampered = items[6].clone();
    tampered["mac"] = items[0]["mac"].clone();
    let decrypt = json!({ "items": [items[0], second, tampered, items[6], { "data": "x" }] });
    let (status, opened) = server.post_json_answer("/decrypt/batch", &decrypt).await;
    assert_eq!(status, StatusCode::OK);
    let opened = opened["items"].as_array().unwrap();
    assert_eq!(opened[0], json!({ "data": "first" }));
    assert_eq!(opened[1], json!({ "data": "second" }));
    assert_eq!(opened[2]["code"], "decryption_failed");
    assert_eq!(opened[3], json!({ "data": "last" }));
    assert_eq!(opened[4]["code"], "invalid_request");
}

#[tokio::test]
async fn every_batch_item_gets_its_own_key_and_nonce() {
    let server = spawn().await;
    let items: Vec<Value> = (0..200).map(|_| json!({ "data": "same" })).collect();
    let (_, answer) = server
        .post_json_answer("/oracleinvocation/batch/", &json!({ "items": items }))
        .await;
    let items = answer["items"].as_array().unwrap();
    let keys: HashSet<&str> = items
        .iter()
        .map(|item| item["key"].as_str().unwrap())
        .collect();
    let nonces: HashSet<&str> = items
        .iter()
        .map(|item| item["nonce"].as_str().unwrap())
        .collect();
    assert_eq!((keys.len(), nonces.len()), (200, 200));
}

#[tokio::test]
async fn batches_over_the_item_limit_are_413() {
    let server = spawn_with(&["--max-batch-items", "3"]).await;
    let item = json!({ "data": "x" });
    let (status, _) = server
        .post_json_answer(
            "/oracleinvocation/batch",
            &json!({ "items": [item, item, item] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for path in ["/oracleinvocation/batch", "/decrypt/batch"] {
        let (status, error) = server
            .post_json_answer(path, &json!({ "items": [item, item, item, item] }))
            .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_eq!(error["code"], "too_many_items");
    }
}

#[tokio::test]
async fn the_default_item_limit_is_1000() {
    let server = spawn().await;
    let items = |n: usize| json!({ "items": vec![json!({ "data": "" }); n] });
    let (status, _) = server
        .post_json_answer("/oracleinvocation/batch", &items(1000))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .post_json_answer("/oracleinvocation/batch", &items(1001))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn malformed_batches_are_rejected_whole() {
    let server = spawn().await;
    for body in [
        json!({ "items": { "data": "x" } }),
        json!({ "item": [] }),
        json!([]),
    ] {
        let (status, error) = server
            .post_json_answer("/oracleinvocation/batch", &body)
            .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{body}"
        );
    }
    let (status, answer) = server
        .post_json_answer("/decrypt/batch", &json!({ "items": [] }))
        .await;
    assert_eq!((status, answer), (StatusCode::OK, json!({ "items": [] })));
}

/// Every Wycheproof AES-GCM vector through `/decrypt/`: valid vectors open to their
/// plaintext, invalid ones are `decryption_failed`, and vectors with a key, nonce or tag size
/// the service does not support are `invalid_length` naming that field.
#[tokio::test]
async fn wycheproof_vectors_through_decrypt() {
    use wycheproof::TestResult;
    use wycheproof::aead::{TestName, TestSet};

    let server = spawn().await;
    let set = TestSet::load(TestName::AesGcm).unwrap();
    let mut requests = Vec::new();
    let mut expected = Vec::new();
    for group in set.test_groups {
        for test in group.tests {
            requests.push(json!({
                "data": STANDARD.encode(&*test.ct),
                "key": STANDARD.encode(&*test.key),
                "mac": STANDARD.encode(&*test.tag),
                "nonce": STANDARD.encode(&*test.nonce),
                "aad": STANDARD.encode(&*test.aad),
                "encoding": "base64",
            }));
            let field = if ![16, 24, 32].contains(&test.key.len()) {
                Some("`key`")
            } else if ![12, 16].contains(&test.nonce.len()) {
                Some("`nonce`")
            } else if test.tag.len() != 16 {
                Some("`mac`")
            } else {
                None
            };
            let outcome = match (field, test.result) {
                (Some(field), _) => Err(("invalid_length", field)),
                (None, TestResult::Invalid) => Err(("decryption_failed", "")),
                (None, _) => Ok(STANDARD.encode(&*test.pt)),
            };
            expected.push((test.tc_id, outcome));
        }
    }
    // One request per vector, through `/decrypt/` itself.
    let mut checked = 0;
    for (request, (tc_id, outcome)) in requests.iter().zip(&expected) {
        let (status, item) = server.post_json_answer("/decrypt/", request).await;
        match outcome {
            Ok(plaintext) => {
                assert_eq!(status, StatusCode::OK, "tcId {tc_id}: {item}");
                assert_eq!(item, json!({ "data": plaintext }), "tcId {tc_id}");
            }
            Err((code, field)) => {
                assert_eq!(status, StatusCode::BAD_REQUEST, "tcId {tc_id}: {item}");
                assert_eq!(item["code"], *code, "tcId {tc_id}: {item}");
                assert!(
                    item["error"].as_str().unwrap().contains(field),
                    "tcId {tc_id}: {item}"
                );
            }
        }
        checked += 1;
    }
    assert_eq!(checked, requests.len());
    let refused = expected
        .iter()
        .filter(|(_, o)| matches!(o, Err(("invalid_length", _))))
        .count();
    assert!(
        refused > 10 && checked > refused + 100,
        "{checked} checked, {refused} refused by size"
    );
}
