//! The OpenAPI 3.1 document, generated from the handlers' annotations and the wire types, and
//! served at `GET /openapi.json`; `GET /docs/` shows it with a Swagger UI bundled into the
//! binary (nothing is fetched from a CDN, at build time or when the page is viewed).

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;
use utoipa::OpenApi;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use crate::crypto::{KeySize, NonceSize};
use crate::wire::bits::Bits;

/// The service's API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "gcm-oracle",
        description = "A stateless AES-GCM encryption oracle: every call draws a fresh key and nonce, \
                       encrypts, returns everything needed to decrypt, and keeps nothing."
    ),
    paths(
        crate::http::handlers::encrypt,
        crate::http::handlers::decrypt,
        crate::http::handlers::encrypt_batch,
        crate::http::handlers::decrypt_batch,
        crate::http::handlers::keypair,
        crate::http::stream::seal,
        crate::http::stream::open,
        crate::http::handlers::usage,
        crate::http::handlers::healthz,
        crate::http::handlers::readyz,
        crate::http::handlers::metrics,
        openapi_json,
    ),
    components(schemas(crate::wire::json::ErrorBody)),
    tags((name = "oracle", description = "Encryption and decryption"), (name = "keys", description = "Asymmetric key pairs, handed out and forgotten"), (name = "operations", description = "Probes, metrics and documentation"))
)]
#[derive(Debug)]
pub struct ApiDoc;

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
pub(crate) async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(json())
}

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
mod tests {
    use actix_web::test::{self, TestRequest};
    use serde_json::Value;

    use crate::server::{AppState, app};

    fn document() -> Value {
        serde_json::from_str(super::json()).unwrap()
    }

    #[actix_web::test]
    async fn every_request_body_example_is_answered_200_as_it_is() {
        let service = test::init_service(app(AppState::default())).await;
        let document = document();
        let mut tried = 0;
        for (path, operations) in document["paths"].as_object().unwrap() {
            let Some(post) = operations.get("post") else {
                continue;
            };
            if post["requestBody"]["content"]
                .get("application/octet-stream")
                .is_some()
            {
                // The streaming endpoints take raw bytes: their own tests are in tests/http.
                assert!(path.ends_with("/stream"), "{path}");
                continue;
            }
            let example = &post["requestBody"]["content"]["application/json"]["example"];
            assert!(example.is_object(), "POST {path} has no request example");
            let request = TestRequest::post()
                .uri(path)
                .insert_header(("content-type", "application/json"))
                .set_payload(example.to_string())
                .to_request();
            let response = test::call_service(&service, request).await;
            let status = response.status();
            let body = test::read_body(response).await;
            assert_eq!(status, 200, "POST {path} with its example: {body:?}");
            if path.ends_with("batch") {
                let answer: Value = serde_json::from_slice(&body).unwrap();
                for item in answer["items"].as_array().unwrap() {
                    assert!(item.get("error").is_none(), "POST {path}: {item}");
                }
            }
            tried += 1;
        }
        assert_eq!(tried, 5, "every POST endpoint is tried");
    }

    /// Error messages show a field path only when every name in it is one of
    /// `wire::json::FIELDS`: every request field of the document must be there.
    #[test]
    fn every_request_field_may_be_named_in_an_error() {
        let document = document();
        let schemas = document["components"]["schemas"].as_object().unwrap();
        let mut checked = 0;
        for (name, schema) in schemas.iter().filter(|(name, _)| name.ends_with("Request")) {
            for field in schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
            {
                checked += 1;
                assert!(
                    crate::wire::json::FIELDS.contains(&field.as_str()),
                    "{name}.{field} is not in wire::json::FIELDS"
                );
            }
        }
        assert!(checked > 10, "only {checked} fields seen");
    }

    #[test]
    fn summaries_and_descriptions_read_as_sentences_not_rustdoc() {
        let document = document();
        for (path, operations) in document["paths"].as_object().unwrap() {
            for (method, operation) in operations.as_object().unwrap() {
                let summary = operation["summary"].as_str().unwrap_or_default();
                assert!(
                    summary.ends_with('.') && summary.starts_with(char::is_uppercase),
                    "{method} {path}: summary {summary:?}"
                );
                let description = operation["description"].as_str().unwrap_or_default();
                for text in [summary, description] {
                    assert!(
                        !text.contains("[`") && !text.contains("`POST") && !text.contains("`GET"),
                        "{method} {path}: {text:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn body_reading_endpoints_document_the_shared_error_answers() {
        let document = document();
        for path in ["/oracleinvocation/", "/decrypt/", "/oracleinvocation/batch"] {
            let responses = &document["paths"][path]["post"]["responses"];
            for status in ["400", "408", "413", "415"] {
                let schema = &responses[status]["content"]["application/json"]["schema"];
                assert_eq!(
                    schema["$ref"], "#/components/schemas/ErrorBody",
                    "{path} {status}"
                );
            }
        }
    }
}
