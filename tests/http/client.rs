//! The typed client against a spawned server: every method, and how each server error code
//! it can meet reaches the caller.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gcm_oracle::{Client, Envelope, KeySize, NonceSize, SealOptions};
use zeroize::Zeroizing;

use crate::helpers::{ClientError, spawn, spawn_with};

fn code(err: &ClientError) -> (u16, &str) {
    match err {
        ClientError::Server { status, body } => (*status, body.code.as_str()),
        other => panic!("not a server error: {other:?}"),
    }
}

#[tokio::test]
async fn encrypt_and_decrypt_round_trip_any_bytes() {
    let server = spawn().await;
    let client = server.typed_client();
    for plaintext in [&b""[..], b"text", &[0xff, 0x00, 0xfe]] {
        let envelope = client.encrypt(plaintext).await.unwrap();
        assert_eq!(
            STANDARD
                .decode(envelope.key.as_deref().unwrap().as_str())
                .unwrap()
                .len(),
            32
        );
        assert_eq!(client.decrypt(&envelope).await.unwrap(), plaintext);
        // The envelope opens locally too: the client returns exactly what the server sealed.
        assert_eq!(envelope.open().unwrap(), plaintext);
    }
}

#[tokio::test]
async fn encrypt_with_honours_sizes_and_aad() {
    let server = spawn().await;
    let client = server.typed_client();
    for key_size in KeySize::ALL {
        for nonce_size in NonceSize::ALL {
            let options = SealOptions::new()
                .key_size(key_size)
                .nonce_size(nonce_size)
                .aad([0u8, 0xff]);
            let envelope = client.encrypt_with(b"sized", &options).await.unwrap();
            assert_eq!(
                STANDARD
                    .decode(envelope.key.as_deref().unwrap().as_str())
                    .unwrap()
                    .len(),
                key_size.byte_len()
            );
            assert_eq!(
                STANDARD.decode(&envelope.nonce).unwrap().len(),
                nonce_size.byte_len()
            );
            assert_eq!(
                client.decrypt_with(&envelope, &[0, 0xff]).await.unwrap(),
                b"sized"
            );
            let err = client.decrypt(&envelope).await.unwrap_err();
            assert_eq!(code(&err), (400, "decryption_failed"));
        }
    }
}

#[tokio::test]
async fn batches_keep_order_and_per_item_errors() {
    let server = spawn().await;
    let client = server.typed_client();
    let answers = client
        .encrypt_batch(&["one", "two", "three"], &SealOptions::new().aad(b"b"))
        .await
        .unwrap();
    let mut envelopes: Vec<Envelope> = answers.into_iter().map(Result::unwrap).collect();
    assert_ne!(envelopes[0].key, envelopes[1].key);
    envelopes[1].mac = envelopes[0].mac.clone();
    envelopes.push(Envelope {
        key: Some(Zeroizing::new("short".into())),
        ..envelopes[0].clone()
    });
    let opened = client.decrypt_batch(&envelopes, b"b").await.unwrap();
    assert_eq!(opened[0].as_deref().unwrap(), b"one");
    assert_eq!(opened[1].as_ref().unwrap_err().code, "decryption_failed");
    assert_eq!(opened[2].as_deref().unwrap(), b"three");
    assert_eq!(opened[3].as_ref().unwrap_err().code, "invalid_base64");
}

#[tokio::test]
async fn malformed_envelopes_are_reported_with_the_servers_code() {
    let server = spawn().await;
    let client = server.typed_client();
    let envelope = client.encrypt(b"x").await.unwrap();

    let bad_base64 = Envelope {
        nonce: "***".into(),
        ..envelope.clone()
    };
    let err = client.decrypt(&bad_base64).await.unwrap_err();
    assert_eq!(code(&err), (400, "invalid_base64"));
    assert!(err.to_string().contains("`nonce`"), "{err}");

    let bad_length = Envelope {
        key: Some(Zeroizing::new(STANDARD.encode([0u8; 20]))),
        ..envelope
    };
    let err = client.decrypt(&bad_length).await.unwrap_err();
    assert_eq!(code(&err), (400, "invalid_length"));
}

#[tokio::test]
async fn limits_are_reported_with_the_servers_code() {
    let server = spawn_with(&["--max-body", "1KiB", "--max-batch-items", "2"]).await;
    let client = server.typed_client();
    let err = client.encrypt(vec![b'a'; 2000]).await.unwrap_err();
    assert_eq!(code(&err), (413, "payload_too_large"));
    let err = client
        .encrypt_batch(&["a", "b", "c"], &SealOptions::new())
        .await
        .unwrap_err();
    assert_eq!(code(&err), (413, "too_many_items"));
}

#[tokio::test]
async fn a_wrong_base_path_is_reported_as_not_found() {
    let server = spawn().await;
    let client = Client::with_ca_pem(&server.url("/v9"), &server.ca_pem).unwrap();
    let err = client.encrypt(b"x").await.unwrap_err();
    assert_eq!(code(&err), (404, "not_found"));
}

#[tokio::test]
async fn a_server_whose_certificate_is_not_trusted_is_refused() {
    let server = spawn().await;
    let stranger = spawn().await;
    let client = Client::with_ca_pem(&server.url, &stranger.ca_pem).unwrap();
    let err = client.encrypt(b"x").await.unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
    // Nor does the system's trust store know a development CA.
    let client = Client::new(&server.url).unwrap();
    assert!(matches!(
        client.encrypt(b"x").await.unwrap_err(),
        ClientError::Transport(_)
    ));
}
