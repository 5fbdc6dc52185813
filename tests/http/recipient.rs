//! Asymmetric keys against a spawned server: `POST /keypair/` for every algorithm, sealing for
//! a recipient's public key, and the receiving side opening with its private key through the
//! library and through `gcm-oracle open`.

use std::io::Write as _;
use std::process::Stdio;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::{self, KeyPair as _, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gcm_oracle::{Algorithm, Envelope, Keypair, SealOptions, Wrap, open_for_recipient};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::process::gcm_oracle;
use crate::helpers::{ClientError, spawn, spawn_with};

/// The DER inside a PEM with `label`, checked to be the only thing in it.
fn pem_der(pem: &str, label: &str) -> Vec<u8> {
    let begin = format!("-----BEGIN {label}-----\n");
    let end = format!("-----END {label}-----\n");
    let body = pem
        .strip_prefix(&begin)
        .and_then(|rest| rest.strip_suffix(&end))
        .unwrap_or_else(|| panic!("not one {label} PEM block: {pem}"));
    assert!(
        body.lines().all(|line| line.len() <= 64),
        "PEM lines wrap at 64"
    );
    STANDARD.decode(body.replace('\n', "")).unwrap()
}

/// Signs with the private key and verifies with the public key: the two halves belong together.
fn assert_signing_pair_matches(pair: &Keypair) {
    let private = pem_der(&pair.private_key_pem, "PRIVATE KEY");
    let public = pem_der(&pair.public_key_pem, "PUBLIC KEY");
    let message = b"the pair matches";
    let (signature, verifier): (Vec<u8>, &dyn signature::VerificationAlgorithm) =
        match pair.algorithm {
            Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => {
                let (signing, verifying) = if pair.algorithm == Algorithm::EcdsaP256 {
                    (
                        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                        &signature::ECDSA_P256_SHA256_ASN1,
                    )
                } else {
                    (
                        &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                        &signature::ECDSA_P384_SHA384_ASN1,
                    )
                };
                let key = signature::EcdsaKeyPair::from_pkcs8(signing, &private).unwrap();
                assert_eq!(key.public_key().as_der().unwrap().as_ref(), &public[..]);
                let rng = aws_lc_rs::rand::SystemRandom::new();
                (
                    key.sign(&rng, message).unwrap().as_ref().to_vec(),
                    verifying,
                )
            }
            Algorithm::Ed25519 => {
                let key = signature::Ed25519KeyPair::from_pkcs8(&private).unwrap();
                assert_eq!(key.public_key().as_der().unwrap().as_ref(), &public[..]);
                (key.sign(message).as_ref().to_vec(), &signature::ED25519)
            }
            other => panic!("{other} is not a signing algorithm"),
        };
    // The SPKI's key bits, as the verifier takes them.
    let spki = spki_key_bits(&public);
    UnparsedPublicKey::new(verifier, spki)
        .verify(message, &signature)
        .unwrap();
}

/// The subjectPublicKey BIT STRING's contents of a SubjectPublicKeyInfo.
fn spki_key_bits(spki: &[u8]) -> Vec<u8> {
    use pkcs8::der::Decode as _;
    let info = spki::SubjectPublicKeyInfoRef::from_der(spki).unwrap();
    info.subject_public_key.raw_bytes().to_vec()
}

#[tokio::test]
async fn every_algorithm_gives_a_fresh_matching_pair_in_pkcs8_and_spki_pem() {
    let server = spawn().await;
    let client = server.typed_client();
    for algorithm in Algorithm::ALL {
        let (status, body) = server
            .post_json_answer("/keypair/", &json!({"algorithm": algorithm}))
            .await;
        assert_eq!(status, StatusCode::OK, "{algorithm}: {body}");
        let fields: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            fields,
            ["algorithm", "private_key_pem", "public_key_pem"],
            "{algorithm}"
        );
        assert_eq!(body["algorithm"], algorithm.name());
        let pair: Keypair = serde_json::from_value(body).unwrap();
        if matches!(algorithm, Algorithm::X25519) || algorithm.is_slow() {
            // An encryption key: what is sealed for the public half opens with the private one.
            let envelope = client
                .encrypt_for(b"matched", &pair.public_key_pem, &SealOptions::new())
                .await
                .unwrap();
            assert_eq!(
                open_for_recipient(&envelope, &pair.private_key_pem).unwrap(),
                b"matched"
            );
        } else {
            assert_signing_pair_matches(&pair);
        }
        // The client method gets a different pair of the same kind.
        let again = client.keypair(algorithm).await.unwrap();
        assert_eq!(again.algorithm, algorithm);
        assert_ne!(again.private_key_pem, pair.private_key_pem);
    }
}

#[tokio::test]
async fn keypair_requests_are_validated_like_every_other_body() {
    let server = spawn().await;
    let (status, body) = server
        .post_json_answer("/keypair", &json!({"algorithm": "rsa-1024"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("rsa-2048") && message.contains("x25519"),
        "{message}"
    );
    let (status, body) = server
        .post_json_answer("/keypair/", &json!({"algorithm": "x25519", "bits": 1}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (status, body) = server.post_json_answer("/keypair/", &json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let response = server.get("/keypair/").await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(response.headers()["cache-control"], "no-store");
}

/// A (the client) seals for B's public key through the server; B opens with its private key,
/// through the library and through `gcm-oracle open`, with no server.
#[tokio::test]
async fn two_parties_exchange_a_message_sealed_for_the_receivers_public_key() {
    let server = spawn().await;
    let alice = server.typed_client();
    for algorithm in [Algorithm::Rsa2048, Algorithm::X25519] {
        // B generates its pair offline and publishes only the public key.
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bob");
        let generated = keypair_cli(algorithm, &out);
        assert!(generated.status.success(), "{generated:?}");
        let public_pem = std::fs::read_to_string(out.join("public_key.pem")).unwrap();
        let private_pem = std::fs::read_to_string(out.join("private_key.pem")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(out.join("private_key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{algorithm}");
        }

        let message = "meet at the old mill at nine ✓";
        let envelope = alice
            .encrypt_for(message, &public_pem, &SealOptions::new())
            .await
            .unwrap();
        assert!(
            envelope.key.is_none(),
            "{algorithm}: the key is not given out"
        );
        let expected_wrap = if algorithm == Algorithm::X25519 {
            Wrap::HpkeX25519Sha256Aes256Gcm
        } else {
            Wrap::RsaOaepSha256
        };
        assert_eq!(envelope.wrap, Some(expected_wrap));
        // Nobody but B can have the server open it.
        assert!(matches!(
            alice.decrypt(&envelope).await,
            Err(ClientError::Envelope(gcm_oracle::EnvelopeError::Wrapped))
        ));

        // B with the library.
        let opened = open_for_recipient(&envelope, &private_pem).unwrap();
        assert_eq!(opened, message.as_bytes());

        // B with the CLI: the response JSON on stdin, the clear text on stdout.
        let json = serde_json::to_vec(&envelope).unwrap();
        let output = open_with_cli(&out.join("private_key.pem"), &[], &json);
        assert!(output.status.success(), "{algorithm}: {output:?}");
        assert_eq!(output.stdout, message.as_bytes());
        assert!(output.stderr.is_empty());

        // E, with another private key of the same kind, gets one clean failure and no text.
        let eve = dir.path().join("eve");
        assert!(keypair_cli(algorithm, &eve).status.success());
        let output = open_with_cli(&eve.join("private_key.pem"), &[], &json);
        assert_eq!(output.status.code(), Some(1), "{algorithm}");
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains("decryption failed"), "{stderr}");
        let eve_pem = std::fs::read_to_string(eve.join("private_key.pem")).unwrap();
        let err = open_for_recipient(&envelope, &eve_pem).unwrap_err();
        assert_eq!(
            err.to_string(),
            stderr.trim().trim_start_matches("gcm-oracle: ")
        );
    }
}

/// `gcm-oracle open --private-key KEY EXTRA...` with `stdin` piped in.
fn open_with_cli(
    private_key: &std::path::Path,
    extra: &[&str],
    stdin: &[u8],
) -> std::process::Output {
    let mut args = vec!["open", "--private-key", private_key.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut child = gcm_oracle(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn batch_items_are_sealed_for_their_own_recipients() {
    let server = spawn().await;
    let client = server.typed_client();
    let (rsa, x25519, ed25519) = (
        client.keypair(Algorithm::Rsa2048).await.unwrap(),
        client.keypair(Algorithm::X25519).await.unwrap(),
        client.keypair(Algorithm::Ed25519).await.unwrap(),
    );
    let body = json!({"items": [
        {"data": "for rsa", "recipient": rsa.public_key_pem},
        {"data": "for x25519", "recipient": x25519.public_key_pem, "aad": "order 7"},
        {"data": "for nobody", "recipient": ed25519.public_key_pem},
        {"data": "plain"},
    ]});
    let (status, body) = server
        .post_json_answer("/oracleinvocation/batch", &body)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["items"].as_array().unwrap();
    let first: Envelope = serde_json::from_value(items[0].clone()).unwrap();
    assert_eq!(
        open_for_recipient(&first, &rsa.private_key_pem).unwrap(),
        b"for rsa"
    );
    let second: Envelope = serde_json::from_value(items[1].clone()).unwrap();
    let opened =
        gcm_oracle::open_for_recipient_with(&second, &x25519.private_key_pem, b"order 7").unwrap();
    assert_eq!(opened, b"for x25519");
    assert_eq!(items[2]["code"], "unsupported_recipient");
    assert!(items[2]["error"].as_str().unwrap().contains("Ed25519"));
    assert!(items[3]["key"].is_string() && items[3].get("wrapped_key").is_none());
}

#[tokio::test]
async fn unusable_recipients_are_a_400_listing_what_is_accepted() {
    let server = spawn().await;
    let client = server.typed_client();
    let ecdsa = client.keypair(Algorithm::EcdsaP384).await.unwrap();
    let x25519 = client.keypair(Algorithm::X25519).await.unwrap();
    for (recipient, code) in [
        (ecdsa.public_key_pem.as_str(), "unsupported_recipient"),
        ("not a key", "invalid_recipient"),
        // A private key sent by mistake is refused, and never echoed.
        (x25519.private_key_pem.as_str(), "invalid_recipient"),
    ] {
        let (status, body) = server
            .post_json_answer(
                "/oracleinvocation/",
                &json!({"data": "x", "recipient": recipient}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{body}"
        );
        let message = body["error"].as_str().unwrap();
        assert!(
            message.contains("RSA") && message.contains("X25519"),
            "{message}"
        );
        assert!(!message.contains("PRIVATE KEY-----\n"), "{message}");
    }
}

/// RSA generation runs off the request threads with a bound: with one slot and a queue of
/// RSA-4096 generations, encryption requests are answered while key pairs are still pending,
/// and requests beyond the queue are refused at once with 503 and `Retry-After`.
#[tokio::test]
async fn rsa_generation_cannot_starve_encryption_traffic() {
    let server = spawn_with(&["--max-keygen", "1"]).await;
    let http = &server.client;
    let keygens: Vec<_> = (0..8)
        .map(|_| {
            let request = http
                .post(server.url("/keypair/"))
                .json(&json!({"algorithm": "rsa-4096"}))
                .send();
            tokio::spawn(request)
        })
        .collect();
    // Wait until the queue is full: the three refused answer as soon as five are admitted.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while keygens.iter().filter(|task| task.is_finished()).count() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the queue never filled"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    for _ in 0..20 {
        let response = http
            .post(server.url("/oracleinvocation/"))
            .json(&json!({"data": "still served"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    // One worker thread served all that while at most one RSA-4096 generation had finished
    // (five are admitted, one at a time, each far slower than twenty encryptions).
    // The three refused answer at once; of the five admitted, one may have finished.
    let finished = keygens.iter().filter(|task| task.is_finished()).count();
    let mut statuses = Vec::new();
    for task in keygens {
        let response = task.await.unwrap().unwrap();
        let status = response.status().as_u16();
        if status == 503 {
            assert_eq!(response.headers()["retry-after"], "1");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["code"], "keygen_busy");
        }
        statuses.push(status);
    }
    let ok = statuses.iter().filter(|&&s| s == 200).count();
    let refused = statuses.iter().filter(|&&s| s == 503).count();
    assert_eq!((ok, refused), (5, 3), "{statuses:?}");
    assert!(
        finished <= 3 + 1,
        "the encryptions waited for key generation: {finished} of 8 key requests were done"
    );
}

#[tokio::test]
async fn a_null_recipient_is_refused_rather_than_read_as_none() {
    let server = spawn().await;
    let (status, body) = server
        .post_json_answer(
            "/oracleinvocation/",
            &json!({"data": "x", "recipient": null}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    assert!(body.get("key").is_none());
}

fn keypair_cli(algorithm: Algorithm, out: &std::path::Path) -> std::process::Output {
    gcm_oracle(&[
        "keypair",
        "--algorithm",
        algorithm.name(),
        "--out",
        out.to_str().unwrap(),
    ])
    .output()
    .unwrap()
}

#[test]
fn keypair_cli_never_overwrites_and_keeps_its_directory_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keys");
    assert!(keypair_cli(Algorithm::X25519, &out).status.success());
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    let before = std::fs::read(out.join("private_key.pem")).unwrap();

    let again = keypair_cli(Algorithm::X25519, &out);
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8(again.stderr).unwrap();
    assert!(stderr.contains("never overwritten"), "{stderr}");
    assert_eq!(std::fs::read(out.join("private_key.pem")).unwrap(), before);

    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let refused = keypair_cli(Algorithm::X25519, &shared);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8(refused.stderr)
            .unwrap()
            .contains("writable by other users")
    );
    assert!(!shared.join("private_key.pem").exists());
}

#[tokio::test]
async fn open_cli_takes_text_or_binary_aad_and_explains_wrong_input() {
    let server = spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bob");
    assert!(keypair_cli(Algorithm::X25519, &out).status.success());
    let public_pem = std::fs::read_to_string(out.join("public_key.pem")).unwrap();
    let key = out.join("private_key.pem");

    let (_, text_aad) = server
        .post_json_answer(
            "/oracleinvocation/",
            &json!({"data": "with aad", "aad": "order 7", "recipient": public_pem}),
        )
        .await;
    let (_, binary_aad) = server
        .post_json_answer(
            "/oracleinvocation/",
            &json!({
                "data": "d2l0aCBieXRlcw==", "aad": "AP8=", "encoding": "base64",
                "recipient": public_pem
            }),
        )
        .await;
    let run =
        |extra: &[&str], stdin: &Value| open_with_cli(&key, extra, stdin.to_string().as_bytes());
    let opened = run(&["--aad", "order 7"], &text_aad);
    assert_eq!(opened.stdout, b"with aad", "{opened:?}");
    let opened = run(&["--aad-base64", "AP8="], &binary_aad);
    assert_eq!(opened.stdout, b"with bytes", "{opened:?}");
    // Without the aad: one opaque failure.
    let failed = run(&[], &text_aad);
    assert_eq!(failed.status.code(), Some(1));
    assert!(failed.stdout.is_empty());

    let batch = json!({"items": [text_aad]});
    let refused = run(&[], &batch);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(stderr.contains("jq '.items[0]'"), "{stderr}");

    let refused = run(&[], &json!({"data": "x", "kee": "y"}));
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(
        stderr.contains("an unknown field, expected one of `data`"),
        "{stderr}"
    );
    assert!(!stderr.contains("kee"), "{stderr}");
}
