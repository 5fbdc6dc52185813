//! The JSON and base64 contract: what goes over the wire and how it is read. The envelope and
//! the request and response types, `Encoding`, strict base64, zero-copy field parsing, key and
//! nonce sizes as bits, JSON bodies and their error messages, batches. Below it is only
//! `crypto`; above it, `keys` and `oracle` give these types their behaviour.

pub(crate) mod batch;
pub(crate) mod bits;
pub(crate) mod envelope;
pub(crate) mod json;
pub(crate) mod request;
pub(crate) mod stream;
