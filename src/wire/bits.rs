//! Key and nonce sizes on the wire: a JSON integer of bits (`"key_bits": 128`), one of a few
//! allowed values, with errors that name the field and list what it accepts. The sizes
//! themselves are `crypto`'s; this is how the wire writes and reads them.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::{KeySize, NonceSize};

/// A size written on the wire as a number of bits, one of a few allowed values: what
/// [`KeySize`] and [`NonceSize`] share for parsing, errors and the OpenAPI schema.
pub(crate) trait Bits: Sized + Copy + Default + Into<u16> + 'static {
    /// Every allowed size.
    const ALL_SIZES: &'static [Self];
    /// The request field it is read from.
    const FIELD: &'static str;
    /// What a reader of an error message is told to send.
    const EXPECTING: &'static str;

    /// The size that is `bits` long.
    fn from_bits(bits: u64) -> Option<Self> {
        Self::ALL_SIZES
            .iter()
            .copied()
            .find(|size| u64::from((*size).into()) == bits)
    }
}

/// Implements [`Bits`], `TryFrom<u16>`, `Into<u16>`, `Serialize` and `Deserialize` (as a
/// JSON integer) for a size enum with `ALL` and `bits()`.
macro_rules! bits_size {
    ($size:ty, $field:literal, $expecting:literal) => {
        impl Bits for $size {
            const ALL_SIZES: &'static [Self] = &Self::ALL;
            const FIELD: &'static str = $field;
            const EXPECTING: &'static str = $expecting;
        }

        impl TryFrom<u16> for $size {
            type Error = String;

            fn try_from(bits: u16) -> Result<Self, String> {
                Self::from_bits(bits.into()).ok_or_else(|| {
                    format!("`{}` must be {}, not {bits}", Self::FIELD, Self::EXPECTING)
                })
            }
        }

        impl From<$size> for u16 {
            fn from(size: $size) -> Self {
                size.bits()
            }
        }

        impl Serialize for $size {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_u16(self.bits())
            }
        }

        impl<'de> Deserialize<'de> for $size {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_u64(BitsVisitor(core::marker::PhantomData))
            }
        }
    };
}

bits_size!(KeySize, "key_bits", "128, 192 or 256");
bits_size!(NonceSize, "nonce_bits", "96 or 128");

/// Reads a size from a JSON integer, with an error that lists the allowed values.
struct BitsVisitor<T>(core::marker::PhantomData<T>);

impl<T: Bits> serde::de::Visitor<'_> for BitsVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_u64<E: serde::de::Error>(self, bits: u64) -> Result<T, E> {
        T::from_bits(bits)
            .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Unsigned(bits), &self))
    }

    fn visit_i64<E: serde::de::Error>(self, bits: i64) -> Result<T, E> {
        match u64::try_from(bits) {
            Ok(bits) => self.visit_u64(bits),
            Err(_) => Err(E::invalid_value(serde::de::Unexpected::Signed(bits), &self)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_read_and_written_in_bits() {
        assert_eq!(serde_json::to_string(&KeySize::Aes192).unwrap(), "192");
        assert_eq!(
            serde_json::from_str::<NonceSize>("128").unwrap(),
            NonceSize::Bits128
        );
        let err = serde_json::from_str::<KeySize>("100")
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected 128, 192 or 256"), "{err}");
        assert!(serde_json::from_str::<NonceSize>("64").is_err());
    }
}
