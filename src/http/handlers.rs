//! HTTP handlers, nothing else. The route table is [`crate::http::routes`]; reading bodies is
//! [`crate::http::body`]'s, sealing and opening [`crate::oracle`]'s, error mapping [`crate::oracle::error`]'s.

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::{Zeroize as _, Zeroizing};

use crate::http::body::{JsonBody, JsonBytes};
use crate::http::error::HttpError;
use crate::http::keygen::KeygenLimiter;
use crate::http::metrics::Metrics;
use crate::http::playground;
use crate::keys::keypair::{Keypair, KeypairRequest};
use crate::oracle::Answer;
use crate::oracle::error::Error;
use crate::wire::batch::{Batch, BatchItem, parse_items};
use crate::wire::envelope::Envelope;
use crate::wire::json::ErrorBody;
use crate::wire::json::parse_object;
use crate::wire::request::{DecryptRequest, DecryptResponse, EncryptRequest};

/// The most items a batch may hold, shared with the handlers through app data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxBatchItems(pub usize);

impl Default for MaxBatchItems {
    fn default() -> Self {
        Self(crate::wire::batch::DEFAULT_MAX_ITEMS)
    }
}

/// The plain-text note served at `GET /`: where to look, not a copy of the contract (that is
/// docs/WIRE.md, and the OpenAPI document the server describes itself with).
const USAGE: &str = "\
gcm-oracle: a stateless AES-GCM encryption oracle. Nothing is stored.

  curl --cacert certs/dev-ca.pem -H 'Content-Type: application/json' \\
       -d '{\"data\":\"hi\"}' https://localhost:8443/oracleinvocation/

In a browser, this URL is a playground that shows AES-GCM byte by byte.
The API, with a page to try it:  GET /docs/
The OpenAPI 3.1 document:        GET /openapi.json
";

/// A request body for `POST /decrypt/` that opens as it is, for the OpenAPI document's "Try it
/// out": "attack at dawn" sealed under an example key (the bytes 0 to 31) and nonce (0 to 11),
/// with the associated data "order 7" or none. A published key protects nothing: it is only
/// an example.
fn decrypt_example(with_aad: bool) -> serde_json::Value {
    let (data, key, nonce) = (
        "JnaieqaO4nr5YfPqxoc=",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "AAECAwQFBgcICQoL",
    );
    if with_aad {
        let mac = "A5O8IZseju1ooaO260pH4Q==";
        serde_json::json!({"data": data, "key": key, "mac": mac, "nonce": nonce, "aad": "order 7"})
    } else {
        let mac = "SmRejiClTg6jo+JyJH8ShA==";
        serde_json::json!({"data": data, "key": key, "mac": mac, "nonce": nonce})
    }
}

/// The error answers every endpoint that reads a JSON body can give, for `#[utoipa::path]`.
pub(crate) struct BodyErrors;

impl utoipa::IntoResponses for BodyErrors {
    fn responses()
    -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, ResponsesBuilder};
        let error = |description: &str| {
            let schema = Ref::from_schema_name("ErrorBody");
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(schema)).build(),
                )
                .build()
        };
        ResponsesBuilder::new()
            .response("400", error("Malformed request; see `code`"))
            .response("408", error("The body stalled"))
            .response("413", error("Body or batch too large"))
            .response("415", error("Not `application/json`"))
            .build()
            .into()
    }
}

/// A short plain-text note that points to these docs; a browser gets the playground.
#[utoipa::path(get, path = "/", tag = "operations",
    responses((status = 200, description = "A plain-text usage note. A browser (an `Accept` that ranks `text/html` first) gets the playground instead: an HTML page that teaches AES-GCM with the live oracle", body = String, content_type = "text/plain")))]
pub(crate) async fn usage(req: HttpRequest) -> HttpResponse {
    if playground::wants_html(&req) {
        return playground::page();
    }
    HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .insert_header((actix_web::http::header::VARY, "Accept"))
        .body(USAGE)
}

#[utoipa::path(post, path = "/oracleinvocation/", tag = "oracle", request_body(content = EncryptRequest, example = json!({"data": "attack at dawn"})),
    responses((status = 200, description = "Sealed under a fresh key and nonce", body = Envelope), BodyErrors))]
/// Encrypt clear text under a fresh key and nonce.
///
/// The answer holds everything needed to decrypt: ciphertext, key, tag and nonce, each in
/// standard base64. Nothing is kept.
pub(crate) async fn encrypt(
    JsonBytes(body): JsonBytes,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, HttpError> {
    // Read and sealed as an `EncryptRequest`, but the clear text is encrypted in the body.
    let answer = Answer::from_body(body)?;
    metrics.add_encrypted(answer.ciphertext_len());
    Ok(json_body(answer.to_json()))
}

#[utoipa::path(post, path = "/decrypt/", tag = "oracle", request_body(content = DecryptRequest, example = json!(decrypt_example(false))),
    responses((status = 200, description = "The clear text", body = DecryptResponse), BodyErrors,
        (status = 422, description = "Binary clear text asked for as UTF-8", body = ErrorBody)))]
/// Decrypt an envelope the oracle returned.
///
/// Send the answer of the encrypt endpoint as it is, with the same associated data if there
/// was any. Anything that is not authentic is one opaque `decryption_failed`.
pub(crate) async fn decrypt(
    JsonBody(request): JsonBody<DecryptRequest>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, HttpError> {
    let opened = request.open()?;
    metrics.add_decrypted(request.ciphertext_len());
    Ok(json(&opened))
}

#[utoipa::path(post, path = "/oracleinvocation/batch", tag = "oracle", request_body(content = Batch<EncryptRequest>, example = json!({"items": [{"data": "attack at dawn"}, {"data": "pay 10", "aad": "order 7", "key_bits": 128}]})),
    responses((status = 200, description = "One answer per item, in order", body = Batch<BatchItem<Envelope>>), BodyErrors))]
/// Encrypt many clear texts in one request.
///
/// Each item is sealed as the single endpoint would, under its own fresh key and nonce, and
/// fails on its own.
pub(crate) async fn encrypt_batch(
    JsonBytes(mut body): JsonBytes,
    limit: web::Data<MaxBatchItems>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, HttpError> {
    // Items sealed for the same recipient parse its key once.
    let mut recipients = crate::keys::recipient::RecipientCache::default();
    let answered = each_item(&body, limit.0, |request: EncryptRequest| {
        let answer = request.into_answer_cached(&mut recipients)?;
        metrics.add_encrypted(answer.ciphertext_len());
        Ok(answer.to_envelope())
    });
    // The body holds clear text: wipe it before it is freed.
    body.zeroize();
    answered
}

#[utoipa::path(post, path = "/decrypt/batch", tag = "oracle", request_body(content = Batch<DecryptRequest>, example = json!({"items": [decrypt_example(false), decrypt_example(true)]})),
    responses((status = 200, description = "One answer per item, in order", body = Batch<BatchItem<DecryptResponse>>), BodyErrors))]
/// Decrypt many envelopes in one request.
///
/// Each item is opened as the single endpoint would, and fails on its own.
pub(crate) async fn decrypt_batch(
    JsonBytes(mut body): JsonBytes,
    limit: web::Data<MaxBatchItems>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, HttpError> {
    let answered = each_item(&body, limit.0, |request: DecryptRequest| {
        let opened = request.open()?;
        metrics.add_decrypted(request.ciphertext_len());
        Ok(opened)
    });
    // The body holds keys: wipe it before it is freed.
    body.zeroize();
    answered
}

/// Parses and answers every item on its own, so one bad item fails alone.
fn each_item<T: DeserializeOwned, R: Serialize>(
    body: &[u8],
    limit: usize,
    mut answer: impl FnMut(T) -> Result<R, Error>,
) -> Result<HttpResponse, HttpError> {
    let items: Vec<BatchItem<R>> = parse_items(body, limit)?
        .into_iter()
        .map(|item| {
            parse_object(item.get().as_bytes())
                .map_err(Error::from)
                .and_then(&mut answer)
                .into()
        })
        .collect();
    Ok(json(&Batch { items }))
}

#[utoipa::path(post, path = "/keypair/", tag = "keys", request_body(content = KeypairRequest, example = json!({"algorithm": "x25519"})),
    responses((status = 200, description = "A fresh key pair, not kept", body = Keypair), (status = 400, description = "Malformed request or unknown algorithm; see `code`", body = ErrorBody), (status = 408, description = "The body stalled", body = ErrorBody), (status = 413, description = "Body too large", body = ErrorBody), (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 503, description = "Too many RSA key pairs being generated; retry after `Retry-After` seconds", body = ErrorBody)))]
/// Generate a fresh asymmetric key pair.
///
/// The private key is PKCS#8 PEM, the public key SubjectPublicKeyInfo PEM. Nothing is kept.
pub(crate) async fn keypair(
    JsonBody(request): JsonBody<KeypairRequest>,
    keygen: web::Data<KeygenLimiter>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, HttpError> {
    let pair = keygen.generate(request.algorithm).await?;
    metrics.add_keypair(request.algorithm.name());
    Ok(json(&pair))
}

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Health, example = json!({"status": "ok"}))))]
/// Tell whether the process is alive and answering.
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(r#"{"status":"ok"}"#)
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready for traffic", body = Health, example = json!({"status": "ready"}))))]
/// Tell whether the server is ready for traffic.
///
/// Certificates are loaded and the listener accepts connections.
pub(crate) async fn readyz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(r#"{"status":"ready"}"#)
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain; version=0.0.4")))]
/// Counters and histograms in the Prometheus text exposition format.
pub(crate) async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}

/// The body of the health probes.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    /// `ok` or `ready`.
    status: &'static str,
}

fn json(value: &impl Serialize) -> HttpResponse {
    // Measured first, then written into a buffer of exactly that size: a growing buffer would
    // leave copies of keys behind in the memory it frees. Serializing these plain structs of
    // strings cannot fail; the fallback keeps it total.
    let mut counter = ByteCounter(0);
    let _ = serde_json::to_writer(&mut counter, value);
    let mut body = Zeroizing::new(Vec::with_capacity(counter.0));
    if serde_json::to_writer(&mut *body, value).is_err() {
        body.clear();
    }
    json_body(body)
}

/// An `io::Write` that only counts.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A 200 JSON response whose body owns its secrets: `Zeroizing` (clear text, keys) or
/// [`EnvelopeJson`](crate::EnvelopeJson) (only the key), wiped when actix drops the last reference.
fn json_body<B: AsRef<[u8]> + Send + 'static>(body: B) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(Slices(web::Bytes::from_owner(body)))
}

/// How much of a large body actix is handed at a time.
const SLICE: usize = 64 * 1024;

/// A body handed to actix in [`SLICE`]-sized views of one buffer, not all at once: actix-http
/// copies each piece into its connection's write buffer before TLS encrypts it, so a 1.4 MB
/// answer would otherwise be copied whole (1.4 MB more per connection at the peak, and a copy
/// that no longer fits in the CPU's caches). Small bodies go as one piece, as before.
struct Slices(web::Bytes);

impl MessageBody for Slices {
    type Error = core::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.0.len() as u64)
    }

    fn poll_next(
        self: core::pin::Pin<&mut Self>,
        _: &mut core::task::Context<'_>,
    ) -> core::task::Poll<Option<Result<web::Bytes, Self::Error>>> {
        let rest = &mut self.get_mut().0;
        core::task::Poll::Ready(
            (!rest.is_empty()).then(|| Ok(rest.split_to(rest.len().min(SLICE)))),
        )
    }

    fn try_into_bytes(self) -> Result<web::Bytes, Self> {
        if self.0.len() <= SLICE {
            Ok(self.0)
        } else {
            Err(self)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn a_large_body_goes_out_in_slices_of_one_buffer_and_a_small_one_whole() {
        let large: Vec<u8> = (0..SLICE * 2 + 5).map(|i| i as u8).collect();
        let body = Slices(web::Bytes::from(large.clone()));
        assert_eq!(body.size(), BodySize::Sized(large.len() as u64));
        let mut body = core::pin::pin!(body.try_into_bytes().map(|_| ()).unwrap_err());
        let mut pieces = Vec::new();
        while let Some(piece) = core::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await {
            pieces.push(piece.unwrap());
        }
        let lengths: Vec<usize> = pieces.iter().map(web::Bytes::len).collect();
        assert_eq!(lengths, [SLICE, SLICE, 5]);
        assert_eq!(pieces.concat(), large);

        let small = Slices(web::Bytes::from_static(b"{\"status\":\"ok\"}"));
        assert_eq!(small.try_into_bytes().ok().unwrap(), "{\"status\":\"ok\"}");
    }
}
