//! RFC 8188, "Encrypted Content-Encoding for HTTP": the `aes128gcm` content coding.
//!
//! The stream starts with a header: a 16-byte salt, the record size `rs` (a 32-bit big-endian
//! number) and `idlen`, the length of a key id that follows (always 0 when we write; skipped
//! when we read). HKDF-SHA-256 with the salt derives a 16-byte content-encryption key and a
//! 12-byte nonce from the input key. Each record is the clear text, a delimiter (0x01, or 0x02
//! for the last record) and optional zero padding, sealed with AES-128-GCM under the nonce
//! XORed with the record's sequence number; every record but the last is exactly `rs` bytes
//! with its tag.

use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{MAX_RECORD_SIZE, MIN_RECORD_SIZE, Opened, StreamError};
use crate::crypto::{Key, TAG_LEN, fill_random};

/// Salt length.
const SALT_LEN: usize = 16;
/// The fixed part of the header: salt, `rs`, `idlen`.
pub(super) const HEADER_LEN: usize = SALT_LEN + 4 + 1;
/// What a record adds to its clear text: the delimiter and the tag.
pub(super) const OVERHEAD: usize = 1 + TAG_LEN;
/// Delimiter of every record but the last.
const MORE: u8 = 0x01;
/// Delimiter of the last record.
const LAST: u8 = 0x02;

/// The keys of one stream and its record size.
pub(super) struct Records {
    cipher: Aes128Gcm,
    nonce: [u8; 12],
    record_size: usize,
}

impl Records {
    /// Derives the keys for `salt` and writes the header that carries it and `record_size`.
    pub(super) fn seal(key: &Key, record_size: u32) -> (Self, Vec<u8>) {
        let mut salt = [0u8; SALT_LEN];
        fill_random(&mut salt);
        let records = Self::derive(key, &salt, record_size);
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(&salt);
        header.extend_from_slice(&record_size.to_be_bytes());
        header.push(0);
        (records, header)
    }

    /// How many header bytes a reader needs, given the first ones: the fixed part, then the
    /// key id whose length it names.
    pub(super) fn header_len(start: &[u8]) -> usize {
        start
            .get(HEADER_LEN - 1)
            .map_or(HEADER_LEN, |&idlen| HEADER_LEN + usize::from(idlen))
    }

    /// Reads a whole header (the key id, if any, is skipped: the caller has the key).
    pub(super) fn open(key: &Key, header: &[u8]) -> Result<Self, StreamError> {
        let (salt, rest) = header.split_at(SALT_LEN);
        let mut rs = [0u8; 4];
        rs.copy_from_slice(&rest[..4]);
        let record_size = u32::from_be_bytes(rs);
        if record_size < MIN_RECORD_SIZE {
            // Not a record size any writer could use: not an aes128gcm stream.
            return Err(StreamError::DecryptionFailed);
        }
        if record_size > MAX_RECORD_SIZE {
            return Err(StreamError::RecordTooLarge);
        }
        Ok(Self::derive(key, salt, record_size))
    }

    fn derive(key: &Key, salt: &[u8], record_size: u32) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(salt), key.as_bytes());
        let mut cek = Zeroizing::new([0u8; 16]);
        let mut nonce = [0u8; 12];
        // 16 and 12 bytes are far below HKDF-SHA-256's 8160-byte limit.
        hkdf.expand(b"Content-Encoding: aes128gcm\0", &mut cek[..])
            .and_then(|()| hkdf.expand(b"Content-Encoding: nonce\0", &mut nonce))
            .unwrap_or_else(|_| unreachable!("HKDF output within its limit"));
        let cipher = Aes128Gcm::new_from_slice(&cek[..])
            .unwrap_or_else(|_| unreachable!("a 16-byte AES-128 key"));
        // `rs` is at most 16 MiB, which fits any usize this crate builds for.
        let record_size = usize::try_from(record_size).unwrap_or(usize::MAX);
        Self {
            cipher,
            nonce,
            record_size,
        }
    }

    /// Clear text per record.
    pub(super) fn capacity(&self) -> usize {
        self.record_size - OVERHEAD
    }

    /// Length of a full record.
    pub(super) fn record_len(&self) -> usize {
        self.record_size
    }

    /// The nonce of record `index`: the derived nonce XOR the 96-bit sequence number.
    fn nonce(&self, index: u64) -> aes_gcm::Nonce<aes_gcm::aead::array::typenum::U12> {
        let mut nonce = self.nonce;
        for (byte, seq) in nonce[4..].iter_mut().zip(index.to_be_bytes()) {
            *byte ^= seq;
        }
        nonce.into()
    }

    /// Seals the clear text at `out[start..]` in place as record `index`.
    pub(super) fn seal_record(&self, index: u64, last: bool, out: &mut Vec<u8>, start: usize) {
        out.push(if last { LAST } else { MORE });
        let tag = self
            .cipher
            .encrypt_inout_detached(&self.nonce(index), &[], (&mut out[start..]).into())
            .unwrap_or_else(|_| unreachable!("a record is far below GCM's length limit"));
        out.extend_from_slice(&tag);
    }

    /// Opens record `index` in place; `at_end` says that the stream ends after it.
    pub(super) fn open_record(
        &self,
        index: u64,
        at_end: bool,
        record: &mut [u8],
    ) -> Result<Opened, StreamError> {
        let Some(body_len) = record.len().checked_sub(TAG_LEN).filter(|&len| len > 0) else {
            return Err(StreamError::DecryptionFailed);
        };
        let (body, tag) = record.split_at_mut(body_len);
        let tag = aes_gcm::Tag::try_from(&*tag)
            .unwrap_or_else(|_| unreachable!("split at the tag length"));
        self.cipher
            .decrypt_inout_detached(&self.nonce(index), &[], body.into(), &tag)
            .map_err(|_| StreamError::DecryptionFailed)?;
        // The delimiter is the last byte that is not padding.
        let Some(delimiter_at) = body.iter().rposition(|&byte| byte != 0) else {
            return Err(StreamError::DecryptionFailed);
        };
        let last = match body[delimiter_at] {
            LAST => true,
            // A record that says more follows, at the end of the stream: cut short.
            MORE if at_end => return Err(StreamError::DecryptionFailed),
            MORE => false,
            _ => return Err(StreamError::DecryptionFailed),
        };
        Ok(Opened {
            len: delimiter_at,
            last,
        })
    }
}

#[cfg(test)]
impl Records {
    /// The keys for a chosen salt (test vectors).
    pub(super) fn for_salt(key: &Key, salt: &[u8; SALT_LEN], record_size: u32) -> Self {
        Self::derive(key, salt, record_size)
    }

    /// Seals `body` as record `index` exactly as given (delimiter and padding included), to
    /// build streams that break the rules.
    pub(super) fn seal_raw(&self, index: u64, body: &mut Vec<u8>) {
        let tag = self
            .cipher
            .encrypt_inout_detached(&self.nonce(index), &[], body.as_mut_slice().into())
            .unwrap_or_else(|_| unreachable!());
        body.extend_from_slice(&tag);
    }
}
