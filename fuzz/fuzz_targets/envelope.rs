//! An envelope as it arrives on the wire: parsed, round-tripped and opened every way.
//! The properties are in `src/lib.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gcm_oracle_fuzz::envelope(data));
