//! The route table: every path, the methods it answers and the handler for each, in one place.
//! Handlers are in [`crate::http::handlers`]; this is the only module that knows both them and the
//! OpenAPI document's own route.

use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{FromRequest, Handler, HttpResponse, Resource, Responder, web};
use utoipa_swagger_ui::SwaggerUi;

use crate::http::error::HttpError as Error;
use crate::http::handlers::{
    decrypt, decrypt_batch, encrypt, encrypt_batch, healthz, keypair, metrics, readyz, usage,
};
use crate::http::openapi::openapi_json;
use crate::http::playground;
use crate::http::stream;

/// Registers every route. Each path answers its own methods and a JSON 405 (with `Allow`) for
/// the rest; both spellings of each path, with and without the trailing slash, are the same
/// endpoint.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let [
        oracle,
        decrypt_path,
        oracle_batch,
        decrypt_batch_path,
        keypair_path,
    ] = JSON_POSTS;
    post(cfg, oracle, encrypt);
    post(cfg, decrypt_path, decrypt);
    post(cfg, oracle_batch, encrypt_batch);
    post(cfg, decrypt_batch_path, decrypt_batch);
    post(cfg, keypair_path, keypair);
    post(cfg, stream::SEAL_ROUTE, stream::seal);
    post(cfg, stream::OPEN_ROUTE, stream::open);
    cfg.service(get_resource("/", usage))
        .service(get_resource("/playground.js", playground::script))
        .service(get_resource("/playground.css", playground::style))
        .service(get_resource("/healthz", healthz))
        .service(get_resource("/readyz", readyz))
        .service(get_resource("/metrics", metrics))
        .service(get_resource("/openapi.json", openapi_json))
        .service(
            SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::from("/openapi.json")),
        )
        // Swagger UI answers GET (and so HEAD, see `head_as_get`); every other method on its
        // pages is a JSON 405.
        .service(
            web::resource("/docs/{_:.*}").default_service(web::to(|| not_allowed("GET, HEAD"))),
        )
        .service(
            web::resource("/docs")
                .route(web::get().to(|| async {
                    HttpResponse::PermanentRedirect()
                        .insert_header((actix_web::http::header::LOCATION, "/docs/"))
                        .finish()
                }))
                .default_service(web::to(|| not_allowed("GET, HEAD"))),
        )
        .default_service(web::to(not_found));
}

/// The endpoints that take a JSON body by POST, each also with a trailing `/`.
const JSON_POSTS: [&str; 5] = [
    "/oracleinvocation",
    "/decrypt",
    "/oracleinvocation/batch",
    "/decrypt/batch",
    "/keypair",
];

/// Whether `path` is an endpoint that takes a JSON body by POST.
#[must_use]
pub fn takes_json_body(path: &str) -> bool {
    let path = path.strip_suffix('/').unwrap_or(path);
    JSON_POSTS.contains(&path)
}

/// Registers `handler` for POST at `path` and at `path/`, with a JSON 405 (`Allow: POST`) for
/// other methods. Two static resources, not one with two patterns: actix matches a
/// multi-pattern resource with a regular expression, which cost half the time of a small
/// request (measured with `cargo bench -- request`).
fn post<F, Args>(cfg: &mut web::ServiceConfig, path: &str, handler: F)
where
    F: Handler<Args> + Clone,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    for path in [path.to_owned(), format!("{path}/")] {
        cfg.service(
            web::resource(path)
                .route(web::post().to(handler.clone()))
                .default_service(web::to(|| not_allowed("POST"))),
        );
    }
}

/// A resource answering GET (and so HEAD, see `head_as_get`) with `handler`, and a JSON 405
/// with `Allow: GET, HEAD` otherwise.
fn get_resource<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args> + Clone,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .route(web::get().to(handler))
        .default_service(web::to(|| not_allowed("GET, HEAD")))
}

/// Middleware: a HEAD request is routed as the GET it asks about, so every GET route answers
/// HEAD, Swagger UI's pages included. actix-http sends only the head of the answer: it noted
/// the method before routing.
///
/// # Errors
///
/// Only what the inner service returns.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// Middleware: an empty 404 from a service that is not ours (Swagger UI's asset handler) becomes
/// the usual JSON `not_found`, so every error stays JSON.
///
/// # Errors
///
/// Only what the inner service returns.
pub async fn empty_404_as_json(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let res = next.call(req).await?;
    let empty = matches!(
        res.response().body().size(),
        BodySize::None | BodySize::Sized(0)
    );
    if res.status() == StatusCode::NOT_FOUND && empty {
        let (req, _) = res.into_parts();
        return Ok(ServiceResponse::from_err(Error::NotFound, req).map_into_right_body());
    }
    Ok(res.map_into_left_body())
}

async fn not_allowed(allow: &'static str) -> Result<HttpResponse, Error> {
    Err(Error::MethodNotAllowed { allow })
}

async fn not_found() -> Result<HttpResponse, Error> {
    Err(Error::NotFound)
}
