//! A round trip through a running server, verifying its certificate against a CA file:
//!
//! ```text
//! cargo run --example remote --features client -- https://127.0.0.1:8443 certs/dev-ca.pem "some text"
//! ```

#![allow(
    clippy::print_stdout,
    reason = "an example shows its results on stdout"
)]

use gcm_oracle::{Client, SealOptions};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(ca_file)) = (args.next(), args.next()) else {
        eprintln!("usage: remote URL CA_FILE [TEXT]");
        std::process::exit(2);
    };
    let text = args.next().unwrap_or_else(|| "attack at dawn".to_owned());
    let client = Client::with_ca_pem(&url, &std::fs::read(&ca_file)?)?;

    let envelope = client.encrypt(&text).await?;
    println!("encrypted: {}", serde_json::to_string(&envelope)?);
    let opened = client.decrypt(&envelope).await?;
    println!("decrypted: {}", String::from_utf8(opened)?);

    let options = SealOptions::new().aad(b"context");
    let envelope = client.encrypt_with(&text, &options).await?;
    let opened = client.decrypt_with(&envelope, b"context").await?;
    println!("with aad:  {}", String::from_utf8(opened)?);
    Ok(())
}
