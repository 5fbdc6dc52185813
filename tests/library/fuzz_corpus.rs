//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the fuzz harnesses on
//! stable, so every seed's properties are checked by `cargo test`, not only by the nightly
//! fuzzing run in CI. The harnesses are the fuzz crate's own, included by path: one copy.

#[path = "../../fuzz/src/lib.rs"]
mod harness;

use std::path::Path;

/// Runs `harness` on every file in `fuzz/corpus/<target>/`, which must hold some.
fn replay(target: &str, harness: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "{}: the corpus is empty", dir.display());
    for seed in &seeds {
        let data = std::fs::read(seed).expect("a readable seed");
        // Name the seed that broke a property; the harness's panic says which one.
        eprintln!("{target}: {}", seed.display());
        harness(&data);
    }
    eprintln!("{target}: {} seeds replayed", seeds.len());
}

#[test]
fn every_encrypt_request_seed_seals_and_opens_back_or_is_a_4xx() {
    replay("encrypt_request", harness::encrypt_request);
}

#[test]
fn every_decrypt_request_seed_opens_consistently_or_is_a_4xx() {
    replay("decrypt_request", harness::decrypt_request);
}

#[test]
fn every_envelope_seed_round_trips_and_opens_the_same_every_way() {
    replay("envelope", harness::envelope);
}

#[test]
fn every_batch_seed_keeps_its_limit_and_answers_each_item() {
    replay("batch", harness::batch);
}

#[test]
fn every_stream_seed_opens_the_same_in_any_pieces_and_round_trips() {
    replay("stream", harness::stream);
}
