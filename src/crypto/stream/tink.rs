//! Tink's streaming AEAD, `AesGcmHkdfStreaming` with the `AES256_GCM_HKDF_1MB` parameters:
//! a 32-byte key, HKDF-SHA-256, a 32-byte derived key and 1 MiB ciphertext segments.
//!
//! The stream starts with a 40-byte header: its own length (one byte, 40), a 32-byte salt and
//! a 7-byte nonce prefix. HKDF-SHA-256 of the key with that salt and the associated data as
//! `info` derives the AES-256-GCM key. Segment `i` is sealed under the nonce
//! `prefix ‖ i (32-bit big-endian) ‖ last (one byte, 1 for the last segment)`, without
//! associated data. Every segment but the last is exactly 1 MiB with its tag, the first one
//! counting the header.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{Opened, StreamError};
use crate::crypto::{Key, KeySize, TAG_LEN, fill_random};

/// Salt length: the derived key's.
const SALT_LEN: usize = 32;
/// Nonce prefix length.
const PREFIX_LEN: usize = 7;
/// The header: its length byte, the salt and the nonce prefix.
pub(super) const HEADER_LEN: usize = 1 + SALT_LEN + PREFIX_LEN;
/// Ciphertext segment size, the header included in the first.
pub(super) const SEGMENT_LEN: usize = 1 << 20;
/// Clear text in the first segment.
pub(super) const FIRST_CAPACITY: usize = SEGMENT_LEN - HEADER_LEN - TAG_LEN;
/// Clear text in every other segment.
pub(super) const CAPACITY: usize = SEGMENT_LEN - TAG_LEN;

/// The derived key and the nonce prefix of one stream.
pub(super) struct Records {
    cipher: Aes256Gcm,
    prefix: [u8; PREFIX_LEN],
}

impl Records {
    /// Draws a salt and a nonce prefix, derives the key, and writes the header.
    pub(super) fn seal(key: &Key, aad: &[u8]) -> Result<(Self, Vec<u8>), StreamError> {
        let mut header = vec![0u8; HEADER_LEN];
        header[0] = u8::try_from(HEADER_LEN).unwrap_or_else(|_| unreachable!("40 bytes"));
        fill_random(&mut header[1..]);
        let records = Self::open(key, aad, &header)?;
        Ok((records, header))
    }

    /// Reads a header and derives the stream's key.
    pub(super) fn open(key: &Key, aad: &[u8], header: &[u8]) -> Result<Self, StreamError> {
        if key.size() != KeySize::Aes256 {
            return Err(StreamError::KeyLength { expected: 32 });
        }
        if usize::from(header[0]) != HEADER_LEN {
            return Err(StreamError::DecryptionFailed);
        }
        let (salt, prefix) = header[1..].split_at(SALT_LEN);
        let mut derived = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(salt), key.as_bytes())
            .expand(aad, &mut derived[..])
            .unwrap_or_else(|_| unreachable!("32 bytes is within HKDF's limit"));
        let cipher = Aes256Gcm::new_from_slice(&derived[..])
            .unwrap_or_else(|_| unreachable!("a 32-byte AES-256 key"));
        let mut nonce_prefix = [0u8; PREFIX_LEN];
        nonce_prefix.copy_from_slice(prefix);
        Ok(Self {
            cipher,
            prefix: nonce_prefix,
        })
    }

    /// Clear text in segment `index`.
    pub(super) fn capacity(index: u64) -> usize {
        if index == 0 { FIRST_CAPACITY } else { CAPACITY }
    }

    /// Length of a full segment `index` (the header not counted).
    pub(super) fn record_len(index: u64) -> usize {
        Self::capacity(index) + TAG_LEN
    }

    fn nonce(
        &self,
        index: u64,
        last: bool,
    ) -> Result<aes_gcm::Nonce<aes_gcm::aead::array::typenum::U12>, StreamError> {
        let index = u32::try_from(index).map_err(|_| StreamError::TooLong)?;
        let mut nonce = [0u8; 12];
        nonce[..PREFIX_LEN].copy_from_slice(&self.prefix);
        nonce[PREFIX_LEN..11].copy_from_slice(&index.to_be_bytes());
        nonce[11] = u8::from(last);
        Ok(nonce.into())
    }

    /// Seals the clear text at `out[start..]` in place as segment `index`.
    pub(super) fn seal_record(
        &self,
        index: u64,
        last: bool,
        out: &mut Vec<u8>,
        start: usize,
    ) -> Result<(), StreamError> {
        let nonce = self.nonce(index, last)?;
        let tag = self
            .cipher
            .encrypt_inout_detached(&nonce, &[], (&mut out[start..]).into())
            .unwrap_or_else(|_| unreachable!("a segment is far below GCM's length limit"));
        out.extend_from_slice(&tag);
        Ok(())
    }

    /// Opens segment `index` in place; the stream ends after it exactly when it is the last.
    pub(super) fn open_record(
        &self,
        index: u64,
        last: bool,
        record: &mut [u8],
    ) -> Result<Opened, StreamError> {
        let Some(len) = record.len().checked_sub(TAG_LEN) else {
            return Err(StreamError::DecryptionFailed);
        };
        let nonce = self.nonce(index, last)?;
        let (body, tag) = record.split_at_mut(len);
        let tag = aes_gcm::Tag::try_from(&*tag)
            .unwrap_or_else(|_| unreachable!("split at the tag length"));
        self.cipher
            .decrypt_inout_detached(&nonce, &[], body.into(), &tag)
            .map_err(|_| StreamError::DecryptionFailed)?;
        Ok(Opened { len, last })
    }
}
