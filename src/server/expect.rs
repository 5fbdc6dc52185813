//! `Expect: 100-continue`: a client that asks before sending its body gets the refusal its
//! headers already earn (413 for an announced length over the limit, 415 for a body that is not
//! JSON, or not raw bytes for a stream; 400 for a bad query string or an upgrade) instead of `100 Continue`, as RFC 9110 §10.1.1
//! allows; it never uploads a body only to have it refused. The connection is then closed, since
//! the client may send the body anyway.

use actix_http::body::BoxBody;
use actix_http::{ConnectionType, HttpMessage as _, Method, Request, Response};
use actix_web::ResponseError as _;
use actix_web::http::header;

use crate::http::body::{BodyLimits, Headers, check_head};
use crate::http::error::HttpError;
use crate::http::metrics::Metrics;
use crate::http::routes::takes_json_body;
use crate::http::stream;
use crate::server::{SECURITY_HEADERS, telemetry};

/// A request refused on its headers, answered in place of `100 Continue`.
#[derive(Debug)]
pub(crate) struct Refused(Response<BoxBody>);

impl From<Refused> for Response<BoxBody> {
    fn from(refused: Refused) -> Self {
        refused.0
    }
}

/// The expect handler: lets the request go on (and actix-http send `100 Continue`), or answers
/// it now.
pub(crate) async fn check(
    req: Request,
    limits: BodyLimits,
    metrics: Metrics,
) -> Result<Request, Refused> {
    if req.method() != Method::POST {
        return Ok(req);
    }
    let query = req.uri().query().unwrap_or_default();
    let err = if takes_json_body(req.path()) {
        match check_head(req.headers(), query, limits.max_body) {
            Headers::Accept { .. } => return Ok(req),
            Headers::Refuse(err) | Headers::RefuseUnread(err) => err,
        }
    } else if let Some(direction) = stream::direction_of(req.path()) {
        match stream::check_head(req.headers(), query, direction, limits.max_stream) {
            Ok(_) => return Ok(req),
            Err(err) => err,
        }
    } else {
        return Ok(req);
    };
    let id = telemetry::request_id(req.headers());
    telemetry::log_answered_early(
        &id,
        req.method(),
        req.path(),
        err.status(),
        err.code(),
        &metrics,
    );
    Err(Refused(answer(&err, &id)))
}

/// The JSON error with the headers every answer carries, closing the connection.
fn answer(err: &HttpError, id: &str) -> Response<BoxBody> {
    let mut response: Response<BoxBody> = err.error_response().into();
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    if let Ok(value) = header::HeaderValue::from_str(id) {
        headers.insert(telemetry::REQUEST_ID, value);
    }
    response
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    response
}
