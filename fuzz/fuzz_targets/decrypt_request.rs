//! `POST /decrypt/`: any body, decoded and opened as the server does.
//! The properties are in `src/lib.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gcm_oracle_fuzz::decrypt_request(data));
