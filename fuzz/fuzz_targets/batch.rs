//! `POST /oracleinvocation/batch` and `/decrypt/batch`: the batch split, then each item.
//! The properties are in `src/lib.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gcm_oracle_fuzz::batch(data));
