//! TLS: real certificates in every key format, protocol versions and ALPN.

use reqwest::StatusCode;
use serde_json::json;
use tokio_rustls::rustls::version::{TLS12, TLS13};
use tokio_rustls::rustls::{ProtocolVersion, SupportedProtocolVersion};

use crate::helpers::pki::{KeyFormat, Pki};
use crate::helpers::{connect, spawn, spawn_trusting, tls_config, tls_config_with};

#[tokio::test]
async fn serves_real_certificates_with_rsa_and_ecdsa_keys_in_every_pem_format() {
    let pki = Pki::new();
    for format in KeyFormat::ALL {
        let name = format.name();
        let leaf = pki.leaf(format);
        let server = spawn_trusting(
            pki.ca_path(),
            &[
                "--cert",
                leaf.cert.to_str().unwrap(),
                "--key",
                leaf.key.to_str().unwrap(),
            ],
        )
        .await;
        let response = server
            .post_json("/oracleinvocation/", &json!({ "data": name }))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{name}");
    }
}

#[tokio::test]
async fn speaks_tls_1_3_and_tls_1_2() {
    let server = spawn().await;
    let versions: [(&'static SupportedProtocolVersion, ProtocolVersion); 2] = [
        (&TLS13, ProtocolVersion::TLSv1_3),
        (&TLS12, ProtocolVersion::TLSv1_2),
    ];
    for (version, expected) in versions {
        let config = tls_config(&server.ca_pem, &[version], &[]);
        let stream = connect(server.addr, config).await.unwrap();
        assert_eq!(stream.get_ref().1.protocol_version(), Some(expected));
    }
}

#[tokio::test]
async fn offers_h2_and_http_1_1_by_alpn() {
    let server = spawn().await;
    for protocol in [b"h2".as_slice(), b"http/1.1".as_slice()] {
        let config = tls_config(&server.ca_pem, &[&TLS13], &[protocol]);
        let stream = connect(server.addr, config).await.unwrap();
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(protocol));
    }
}

#[tokio::test]
async fn http2_limits_and_flow_control_windows_are_the_documented_ones() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    const SETTINGS: u8 = 0x4;
    const WINDOW_UPDATE: u8 = 0x8;
    let server = spawn().await;
    let config = tls_config(&server.ca_pem, &[&TLS13], &[b"h2".as_slice()]);
    let mut stream = connect(server.addr, config).await.unwrap();
    // The client preface and an empty SETTINGS frame.
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    stream.flush().await.unwrap();
    let (mut settings, mut connection_window) = (None, None);
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while settings.is_none() || connection_window.is_none() {
            let mut head = [0u8; 9];
            stream.read_exact(&mut head).await.unwrap();
            let length = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
            let mut payload = vec![0u8; length];
            stream.read_exact(&mut payload).await.unwrap();
            let stream_id = u32::from_be_bytes([head[5], head[6], head[7], head[8]]);
            match (head[3], head[4] & 0x1, stream_id) {
                (SETTINGS, 0, 0) => {
                    settings = Some(
                        (payload.chunks_exact(6))
                            .map(|s| {
                                let id = u16::from_be_bytes([s[0], s[1]]);
                                (id, u32::from_be_bytes([s[2], s[3], s[4], s[5]]))
                            })
                            .collect::<std::collections::HashMap<_, _>>(),
                    );
                }
                (WINDOW_UPDATE, _, 0) => {
                    let increment = u32::from_be_bytes(payload[..4].try_into().unwrap());
                    // Every connection starts with 65,535 bytes; the update adds to that.
                    connection_window = Some(65_535 + increment);
                }
                _ => {}
            }
        }
    });
    read.await
        .expect("SETTINGS and a connection WINDOW_UPDATE within 10 s");
    let settings = settings.unwrap();
    // MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE, MAX_HEADER_LIST_SIZE (docs/WIRE.md, Limits).
    assert_eq!(settings.get(&0x3), Some(&128), "{settings:?}");
    assert_eq!(settings.get(&0x4), Some(&(2 << 20)), "{settings:?}");
    assert_eq!(settings.get(&0x6), Some(&(64 << 10)), "{settings:?}");
    assert_eq!(connection_window, Some(8 << 20));
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_dev_ca_is_refused() {
    let server = spawn().await;
    let other = spawn().await;
    // Each server has its own throwaway CA: trusting one does not trust the other.
    let config = tls_config(&other.ca_pem, &[&TLS13], &[]);
    assert!(connect(server.addr, config).await.is_err());
}

#[tokio::test]
async fn the_server_chooses_the_cipher_suite() {
    use tokio_rustls::rustls::crypto::aws_lc_rs::{cipher_suite, default_provider};
    use tokio_rustls::rustls::{CipherSuite, SupportedCipherSuite};

    let server = spawn().await;
    // Each client lists ChaCha20 first; the server's own order puts AES-256-GCM first, and
    // with server preference on, that is what every handshake settles on.
    let offers: [(
        &'static SupportedProtocolVersion,
        [SupportedCipherSuite; 2],
        CipherSuite,
    ); 2] = [
        (
            &TLS13,
            [
                cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
                cipher_suite::TLS13_AES_256_GCM_SHA384,
            ],
            CipherSuite::TLS13_AES_256_GCM_SHA384,
        ),
        (
            &TLS12,
            [
                cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
                cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            ],
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        ),
    ];
    for (version, client_order, expected) in offers {
        let mut provider = default_provider();
        provider.cipher_suites = client_order.to_vec();
        let config = tls_config_with(provider, &server.ca_pem, &[version], &[]);
        let stream = connect(server.addr, config).await.unwrap();
        let chosen = stream
            .get_ref()
            .1
            .negotiated_cipher_suite()
            .unwrap()
            .suite();
        assert_eq!(chosen, expected, "{version:?}");
    }
}
