//! Batches: `{"items": [ … ]}` in, `{"items": [ … ]}` out, in the same order, each answer
//! either a normal result or that item's own `{"error", "code"}`.

use core::cell::Cell;
use core::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::wire::json::{ErrorBody, JsonError};

/// The most items one batch may hold by default: enough to amortise a round trip, few enough
/// that one request cannot monopolise a worker.
#[cfg(feature = "server")]
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

/// Reads `{"items": [ … ]}` from `body` without parsing the items, refusing more than `limit`
/// of them as soon as the one past the limit is seen: a batch of a million tiny items costs
/// no more memory than the limit allows. The items borrow from `body`.
///
/// # Errors
///
/// [`JsonError::TooManyItems`] over the limit; malformed JSON or a body of another shape as for any
/// request.
pub fn parse_items(body: &[u8], limit: usize) -> Result<Vec<&RawValue>, JsonError> {
    let over_limit = Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = deserializer
        .deserialize_map(BatchVisitor {
            limit,
            over_limit: &over_limit,
        })
        .and_then(|items| deserializer.end().map(|()| items));
    match parsed {
        Ok(items) => Ok(items),
        Err(_) if over_limit.get() => Err(JsonError::TooManyItems { limit }),
        Err(err) => match JsonError::from_serde(&err) {
            // `null` where the object should be is valid JSON of the wrong shape.
            JsonError::Malformed(message)
                if core::str::from_utf8(body).is_ok()
                    && serde_json::from_slice::<de::IgnoredAny>(body).is_ok() =>
            {
                Err(JsonError::Invalid(message))
            }
            other => Err(other),
        },
    }
}

struct BatchVisitor<'a> {
    limit: usize,
    over_limit: &'a Cell<bool>,
}

impl<'de> Visitor<'de> for BatchVisitor<'_> {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"an object {"items": [ ... ]}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut items = None;
        while let Some(key) = map.next_key::<&str>()? {
            match key {
                "items" if items.is_some() => return Err(de::Error::duplicate_field("items")),
                "items" => {
                    items = Some(map.next_value_seed(ItemsSeed {
                        limit: self.limit,
                        over_limit: self.over_limit,
                    })?);
                }
                other => return Err(de::Error::unknown_field(other, &["items"])),
            }
        }
        items.ok_or_else(|| de::Error::missing_field("items"))
    }
}

struct ItemsSeed<'a> {
    limit: usize,
    over_limit: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = Vec<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            if items.len() == self.limit {
                self.over_limit.set(true);
                return Err(de::Error::custom("too many items"));
            }
            items.push(item);
        }
        Ok(items)
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
            BatchItem::Err(ErrorBody {
                error: "no such endpoint".to_owned(),
                code: "not_found".to_owned(),
            }),
        ];
        let json = serde_json::to_string(&Batch { items }).unwrap();
        let back: Batch<BatchItem<Envelope>> = serde_json::from_str(&json).unwrap();
        assert!(matches!(back.items[0], BatchItem::Ok(_)));
        let BatchItem::Err(error) = &back.items[1] else {
            panic!("not an error: {json}");
        };
        assert_eq!(error.code, "not_found");
    }

    #[test]
    fn items_are_read_in_order_without_being_parsed() {
        let items = parse_items(br#"{"items": [{"data": "a"}, 5, null]}"#, 10).unwrap();
        let texts: Vec<&str> = items.iter().map(|item| item.get()).collect();
        assert_eq!(texts, [r#"{"data": "a"}"#, "5", "null"]);
    }

    #[test]
    fn the_limit_is_enforced_while_reading() {
        assert_eq!(parse_items(br#"{"items": [1, 2, 3]}"#, 3).unwrap().len(), 3);
        let many = format!(r#"{{"items": [{}1]}}"#, "1,".repeat(100_000));
        let err = parse_items(many.as_bytes(), 3).unwrap_err();
        assert_eq!(err.code(), "too_many_items");
    }

    #[test]
    fn other_shapes_are_invalid_requests() {
        for body in [
            r#"{"items": {}}"#,
            r#"{"item": []}"#,
            r#"{}"#,
            r#"[]"#,
            "null",
            r#"{"items": [], "items": []}"#,
            r#"{"items": [], "more": 1}"#,
        ] {
            let err = parse_items(body.as_bytes(), 10).unwrap_err();
            assert_eq!(err.code(), "invalid_request", "{body}: {err}");
        }
        let err = parse_items(br#"{"items": [1,"#, 10).unwrap_err();
        assert_eq!(err.code(), "malformed_json");
    }
}
