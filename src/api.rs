//! HTTP handlers and routes, nothing else: decoding is in [`crate::body`] and
//! [`crate::envelope`], cryptography in [`crate::crypto`], error mapping in [`crate::error`].

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::body::JsonBody;
use crate::crypto;
use crate::envelope::{DecryptResponse, EncryptRequest, Envelope};
use crate::error::Error;

/// The plain-text usage note served at `GET /`.
const USAGE: &str = "\
gcm-oracle: a stateless AES-256-GCM encryption oracle. Nothing is stored.

POST /oracleinvocation/   {\"data\": \"<clear text>\"}
                          -> {\"data\": <ciphertext>, \"key\", \"mac\", \"nonce\"} (standard base64)
POST /decrypt/            {\"data\", \"key\", \"mac\", \"nonce\"} as returned above
                          -> {\"data\": \"<clear text>\"}
GET  /                    this note

Send bodies with Content-Type: application/json. Errors are {\"error\", \"code\"}.
Example:
  curl --cacert certs/dev-ca.pem -H 'Content-Type: application/json' \\
       -d '{\"data\":\"hi\"}' https://localhost:8443/oracleinvocation/
";

/// Registers every route. Each path answers its own methods and a JSON 405 (with `Allow`) for
/// the rest; both spellings of each path, with and without the trailing slash, are the same
/// endpoint.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/")
            .route(web::get().to(usage))
            .route(web::head().to(usage))
            .default_service(web::to(|| not_allowed("GET, HEAD"))),
    )
    .service(
        web::resource(["/oracleinvocation", "/oracleinvocation/"])
            .route(web::post().to(encrypt))
            .default_service(web::to(|| not_allowed("POST"))),
    )
    .service(
        web::resource(["/decrypt", "/decrypt/"])
            .route(web::post().to(decrypt))
            .default_service(web::to(|| not_allowed("POST"))),
    )
    .default_service(web::to(not_found));
}

async fn usage() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body(USAGE)
}

/// `POST /oracleinvocation/`: seal the clear text under a fresh key and nonce.
async fn encrypt(JsonBody(request): JsonBody<EncryptRequest>) -> HttpResponse {
    let sealed = crypto::seal(request.data.as_bytes());
    json(&Envelope::from(&sealed))
}

/// `POST /decrypt/`: open an envelope the oracle returned.
async fn decrypt(JsonBody(envelope): JsonBody<Envelope>) -> Result<HttpResponse, Error> {
    let plaintext = envelope.open()?;
    let text = String::from_utf8(plaintext).map_err(|err| {
        Zeroizing::new(err.into_bytes());
        Error::PlaintextNotUtf8
    })?;
    Ok(json(&DecryptResponse {
        data: Zeroizing::new(text),
    }))
}

async fn not_allowed(allow: &'static str) -> Result<HttpResponse, Error> {
    Err(Error::MethodNotAllowed { allow })
}

async fn not_found() -> Result<HttpResponse, Error> {
    Err(Error::NotFound)
}

fn json(value: &impl Serialize) -> HttpResponse {
    // Serializing these plain structs of strings cannot fail; the fallback keeps it total.
    let body = serde_json::to_vec(value).unwrap_or_default();
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body)
}
