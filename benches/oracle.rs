//! Criterion benchmarks: `seal` and `open` by clear-text size, the stream record loops, and
//! the request path without
//! the network (JSON in, response JSON out), through the real actix application and through
//! the library's wire types alone.
//!
//! `cargo bench` runs them all; `cargo bench -- seal/1MiB` one. Throughput is clear-text bytes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "benchmarks"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use actix_web::test::{self, TestRequest};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gcm_oracle::internals::{AppState, app};
use gcm_oracle::{
    Answer, EncryptRequest, Envelope, Key, StreamFormat, StreamOpener, StreamOptions, StreamSealer,
    open, seal,
};

// The allocator the server binary runs with, so the numbers are the server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SIZES: [(usize, &str); 4] = [
    (64, "64B"),
    (1024, "1KiB"),
    (64 * 1024, "64KiB"),
    (1024 * 1024, "1MiB"),
];

fn crypto(c: &mut Criterion) {
    let mut group = c.benchmark_group("seal");
    for (size, name) in SIZES {
        let data = vec![0x5a; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(name, |b| b.iter(|| seal(black_box(&data))));
    }
    group.finish();

    let mut group = c.benchmark_group("open");
    for (size, name) in SIZES {
        let sealed = seal(&vec![0x5a; size]);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(name, |b| b.iter(|| open(black_box(&sealed)).unwrap()));
    }
    group.finish();
}

/// The two candidate sources of fresh keys and nonces, for the 44 bytes one seal draws (a
/// 256-bit key and a 96-bit nonce): the operating system's CSPRNG (one `getrandom` system call),
/// and AWS-LC's NIST SP 800-90A CTR-DRBG, seeded and reseeded by the operating system.
fn randomness(c: &mut Criterion) {
    let mut group = c.benchmark_group("rng");
    let mut buf = [0u8; 44];
    group.bench_function("getrandom-44B", |b| {
        b.iter(|| getrandom::fill(black_box(&mut buf)).unwrap());
    });
    group.bench_function("aws-lc-drbg-44B", |b| {
        b.iter(|| aws_lc_rs::rand::fill(black_box(&mut buf)).unwrap());
    });
    group.finish();
}

/// The stream record loops, sans I/O: 16 MiB of clear text fed in 64 KiB pieces, as the
/// streaming endpoints receive it, sealed and opened in each format.
fn streams(c: &mut Criterion) {
    const SIZE: usize = 16 << 20;
    let clear = vec![0x5a; SIZE];
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Bytes(SIZE as u64));
    group.sample_size(20);
    for format in StreamFormat::ALL {
        let options = StreamOptions::new(format);
        let key = Key::generate(format.key_size());
        let seal_all = |clear: &[u8]| {
            let mut sealer = StreamSealer::new(&key, &options).unwrap();
            let mut sealed = Vec::with_capacity(SIZE + SIZE / 64);
            let mut out = Vec::new();
            for piece in clear.chunks(64 * 1024) {
                sealer.update(piece, &mut out).unwrap();
                sealed.extend_from_slice(&out);
                out.clear();
            }
            sealer.finish(&mut out).unwrap();
            sealed.extend_from_slice(&out);
            sealed
        };
        group.bench_function(format!("seal-{}", format.name()), |b| {
            b.iter(|| seal_all(black_box(&clear)));
        });
        let sealed = seal_all(&clear);
        group.bench_function(format!("open-{}", format.name()), |b| {
            b.iter(|| {
                let mut opener = StreamOpener::new(&key, &options).unwrap();
                let mut out = Vec::new();
                for piece in black_box(&sealed).chunks(64 * 1024) {
                    opener.update(piece, &mut out).unwrap();
                    out.clear();
                }
                opener.finish(&mut out).unwrap();
            });
        });
    }
    group.finish();
}

/// A request body holding `size` bytes of ASCII clear text.
fn body(size: usize) -> Vec<u8> {
    serde_json::to_vec(&EncryptRequest::text(&"a".repeat(size))).unwrap()
}

fn request_path(c: &mut Criterion) {
    // The library's part of a request, as the server does it: parse the JSON body, seal the
    // clear text where it lies in it, write the answer's JSON, free both. Each run gets its own
    // copy of the body, made outside the timing (the body becomes the ciphertext).
    let mut group = c.benchmark_group("wire");
    for (size, name) in SIZES {
        let body = body(size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(name, |b| {
            b.iter_batched(
                || body.clone(),
                |body| drop(black_box(Answer::from_body(body).unwrap().to_json())),
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();

    // The whole application in process: extractors, limits, middleware, handler, response
    // body, as the server runs it, minus TLS and HTTP parsing.
    let system = actix_web::rt::System::new();
    let state = AppState::default();
    let service = system.block_on(test::init_service(app(state)));
    let mut group = c.benchmark_group("request");
    for (size, name) in SIZES {
        let body = body(size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(
            BenchmarkId::new("oracleinvocation", name),
            &body,
            |b, body| {
                b.iter_custom(|iters| {
                    system.block_on(async {
                        let start = Instant::now();
                        for _ in 0..iters {
                            let request = TestRequest::post()
                                .uri("/oracleinvocation/")
                                .insert_header(("content-type", "application/json"))
                                .set_payload(body.clone())
                                .to_request();
                            let response = test::call_service(&service, request).await;
                            assert!(response.status().is_success());
                            let bytes = test::read_body(response).await;
                            black_box(bytes);
                        }
                        start.elapsed()
                    })
                });
            },
        );
    }
    group.throughput(Throughput::Elements(1));
    group.bench_function("healthz", |b| {
        b.iter_custom(|iters| {
            system.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let request = TestRequest::get().uri("/healthz").to_request();
                    let response = test::call_service(&service, request).await;
                    black_box(test::read_body(response).await);
                }
                start.elapsed()
            })
        });
    });
    group.finish();

    // Sanity: the in-process answer is a real envelope that opens.
    let answer = system.block_on(async {
        let request = TestRequest::post()
            .uri("/oracleinvocation/")
            .insert_header(("content-type", "application/json"))
            .set_payload(body(64))
            .to_request();
        test::read_body(test::call_service(&service, request).await).await
    });
    let envelope: Envelope = serde_json::from_slice(&answer).unwrap();
    assert_eq!(envelope.open().unwrap(), vec![b'a'; 64]);
}

fn config() -> Criterion {
    // Enough for stable medians on a noisy 2-core machine, short enough to re-run often.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = crypto, randomness, streams, request_path
}
criterion_main!(benches);
