//! Seal and open in process, no server: `cargo run --example seal_local -- "some text"`.

#![allow(
    clippy::print_stdout,
    reason = "an example shows its results on stdout"
)]

use gcm_oracle::{Envelope, KeySize, NonceSize, SealOptions, open_with, seal_with};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "attack at dawn".to_owned());
    let options = SealOptions::new()
        .key_size(KeySize::Aes256)
        .nonce_size(NonceSize::Bits96)
        .aad(b"example v1");
    let sealed = seal_with(text.as_bytes(), &options);
    // The wire form the server returns: four standard base64 strings.
    let envelope = Envelope::from(&sealed);
    println!("{}", serde_json::to_string_pretty(&envelope)?);
    let opened = open_with(&sealed, b"example v1")?;
    println!("opened: {}", String::from_utf8(opened)?);
    Ok(())
}
