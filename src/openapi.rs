//! The OpenAPI 3.1 document, generated from the handlers' annotations and the wire types, and
//! served at `GET /openapi.json`; `GET /docs/` shows it with a Swagger UI bundled into the
//! binary (nothing is fetched from a CDN, at build time or when the page is viewed).

use std::sync::OnceLock;

use utoipa::OpenApi;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use crate::crypto::{Bits, KeySize, NonceSize};

/// The service's API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "gcm-oracle",
        description = "A stateless AES-GCM encryption oracle: every call draws a fresh key and nonce, \
                       encrypts, returns everything needed to decrypt, and keeps nothing."
    ),
    paths(
        crate::api::encrypt,
        crate::api::decrypt,
        crate::api::encrypt_batch,
        crate::api::decrypt_batch,
        crate::api::keypair,
        crate::api::usage,
        crate::api::healthz,
        crate::api::readyz,
        crate::api::metrics,
        crate::api::openapi_json,
    ),
    tags((name = "oracle", description = "Encryption and decryption"), (name = "keys", description = "Asymmetric key pairs, handed out and forgotten"), (name = "operations", description = "Probes, metrics and documentation"))
)]
#[derive(Debug)]
pub struct ApiDoc;

/// The document as JSON, built once.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_default())
}

impl utoipa::PartialSchema for KeySize {
    fn schema() -> RefOr<Schema> {
        bits_schema::<Self>("AES key size in bits.")
    }
}

impl utoipa::ToSchema for KeySize {}

impl utoipa::PartialSchema for NonceSize {
    fn schema() -> RefOr<Schema> {
        bits_schema::<Self>("Nonce size in bits; 96 is NIST's recommendation.")
    }
}

impl utoipa::ToSchema for NonceSize {}

/// An integer enum of the allowed bit sizes, with the default.
fn bits_schema<T: Bits>(description: &str) -> RefOr<Schema> {
    let bits: Vec<u16> = T::ALL_SIZES.iter().map(|&size| size.into()).collect();
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .enum_values(Some(bits))
        .default(Some(T::default().into().into()))
        .description(Some(description))
        .into()
}
