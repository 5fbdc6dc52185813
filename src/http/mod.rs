//! HTTP (feature `server`), on actix-web: the one route table, the body extractors, the
//! handlers, the metrics they keep, the OpenAPI document, and the HTTP error that wraps the
//! library's with a status. It turns requests into `oracle` calls and answers into responses;
//! the listener, TLS and logs around it are `server`'s.

pub(crate) mod body;
pub(crate) mod error;
pub(crate) mod handlers;
pub(crate) mod keygen;
pub(crate) mod metrics;
pub(crate) mod openapi;
pub(crate) mod playground;
pub(crate) mod routes;
pub(crate) mod stream;
