//! A stream as `/decrypt/stream` and `open_stream` read it, in either format, in pieces of any
//! size. The properties are in `src/lib.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gcm_oracle_fuzz::stream(data));
