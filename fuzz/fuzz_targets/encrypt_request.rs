//! `POST /oracleinvocation/`: any body, decoded, sealed and written as the server does.
//! The properties are in `src/lib.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gcm_oracle_fuzz::encrypt_request(data));
