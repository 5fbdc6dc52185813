//! Batches: `{"items": [ … ]}` in, `{"items": [ … ]}` out, in the same order, each answer
//! either a normal result or that item's own `{"error", "code"}`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorBody};

/// The most items one batch may hold by default: enough to amortise a round trip, few enough
/// that one request cannot monopolise a worker.
pub const DEFAULT_MAX_ITEMS: usize = 1000;

/// A batch of requests or of answers.
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch<T> {
    /// The items, in order.
    pub items: Vec<T>,
}

/// One answer in a batch: the item's result, or its own error.
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BatchItem<T> {
    /// This item failed; the others are unaffected.
    Err(ErrorBody),
    /// This item's result.
    Ok(T),
}

impl<T> From<Result<T, Error>> for BatchItem<T> {
    fn from(result: Result<T, Error>) -> Self {
        match result {
            Ok(value) => Self::Ok(value),
            Err(err) => Self::Err(err.body()),
        }
    }
}

impl<T> BatchItem<T> {
    /// The item's result as a `Result`.
    ///
    /// # Errors
    ///
    /// The item's own error, as the server sent it.
    pub fn into_result(self) -> Result<T, ErrorBody> {
        match self {
            Self::Ok(value) => Ok(value),
            Self::Err(body) => Err(body),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::Envelope;

    #[test]
    fn items_round_trip_through_json_as_results_or_errors() {
        let items: Vec<BatchItem<Envelope>> = vec![
            Ok(Envelope::from(crate::seal(b"a"))).into(),
            Err(Error::NotFound).into(),
        ];
        let json = serde_json::to_string(&Batch { items }).unwrap();
        let back: Batch<BatchItem<Envelope>> = serde_json::from_str(&json).unwrap();
        assert!(matches!(back.items[0], BatchItem::Ok(_)));
        let BatchItem::Err(error) = &back.items[1] else {
            panic!("not an error: {json}");
        };
        assert_eq!(error.code, "not_found");
    }
}
