//! Streaming encryption, record by record in constant memory, in two standard formats that
//! independent libraries read: RFC 8188's `aes128gcm` content coding ([`ece`]) and Tink's
//! streaming AEAD with the `AES256_GCM_HKDF_1MB` parameters ([`tink`]).
//!
//! Sans I/O: a [`StreamSealer`] or [`StreamOpener`] takes bytes as they arrive, in pieces of
//! any size, and appends whole records (or the clear text of whole, authenticated records) to a
//! buffer the caller drains. Neither holds more than one record.

use core::fmt;

use zeroize::{Zeroize, Zeroizing};

use crate::crypto::{Key, KeySize};

mod ece;
mod open;
mod tink;

pub use open::StreamOpener;

/// Smallest `aes128gcm` record size: a tag, a delimiter and one byte of clear text.
pub const MIN_RECORD_SIZE: u32 = 18;
/// Largest `aes128gcm` record size this crate writes or reads (16 MiB): a reader holds one
/// record in memory.
pub const MAX_RECORD_SIZE: u32 = 16 * 1024 * 1024;
/// The default `aes128gcm` record size, 64 KiB.
pub const DEFAULT_RECORD_SIZE: u32 = 65_536;

/// A streaming format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamFormat {
    /// RFC 8188 `aes128gcm`: a 16-byte key, records of a chosen size, no associated data.
    #[default]
    Aes128Gcm,
    /// Tink's streaming AEAD, `AES256_GCM_HKDF_1MB`: a 32-byte key, 1 MiB segments, optional
    /// associated data.
    Aes256GcmHkdf1Mb,
}

impl StreamFormat {
    /// Every format.
    pub const ALL: [Self; 2] = [Self::Aes128Gcm, Self::Aes256GcmHkdf1Mb];

    /// The format's name on the wire: `aes128gcm` or `aes256gcm-hkdf-1mb`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Aes128Gcm => "aes128gcm",
            Self::Aes256GcmHkdf1Mb => "aes256gcm-hkdf-1mb",
        }
    }

    /// The format a wire name stands for.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|format| format.name() == name)
    }

    /// The size of the keys the oracle draws for this format.
    #[must_use]
    pub fn key_size(self) -> KeySize {
        match self {
            Self::Aes128Gcm => KeySize::Aes128,
            Self::Aes256GcmHkdf1Mb => KeySize::Aes256,
        }
    }
}

impl fmt::Display for StreamFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How to write or read a stream: the format, and its record size or associated data.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamOptions {
    /// The format.
    pub format: StreamFormat,
    /// `aes128gcm` only: the record size when writing, [`DEFAULT_RECORD_SIZE`] if `None`.
    /// A reader takes it from the stream's header.
    pub record_size: Option<u32>,
    /// `aes256gcm-hkdf-1mb` only: associated data, authenticated but not encrypted.
    pub aad: Vec<u8>,
}

impl StreamOptions {
    /// The defaults for `format`.
    #[must_use]
    pub fn new(format: StreamFormat) -> Self {
        Self {
            format,
            ..Self::default()
        }
    }

    /// Sets the `aes128gcm` record size.
    #[must_use]
    pub fn record_size(mut self, record_size: u32) -> Self {
        self.record_size = Some(record_size);
        self
    }

    /// Sets the associated data (`aes256gcm-hkdf-1mb` only).
    #[must_use]
    pub fn aad(mut self, aad: impl Into<Vec<u8>>) -> Self {
        self.aad = aad.into();
        self
    }

    /// Checks that the options fit the format, and returns the record size to write.
    fn check(&self) -> Result<u32, StreamError> {
        match self.format {
            StreamFormat::Aes128Gcm if !self.aad.is_empty() => Err(StreamError::AadNotSupported),
            StreamFormat::Aes128Gcm => {
                let record_size = self.record_size.unwrap_or(DEFAULT_RECORD_SIZE);
                if (MIN_RECORD_SIZE..=MAX_RECORD_SIZE).contains(&record_size) {
                    Ok(record_size)
                } else {
                    Err(StreamError::InvalidRecordSize)
                }
            }
            StreamFormat::Aes256GcmHkdf1Mb if self.record_size.is_some() => {
                Err(StreamError::RecordSizeNotSupported)
            }
            StreamFormat::Aes256GcmHkdf1Mb => Ok(0),
        }
    }

    /// The exact length of the stream that `plaintext_len` bytes of clear text seal into, or
    /// `None` if the options are invalid or the length overflows.
    #[must_use]
    pub fn sealed_len(&self, plaintext_len: u64) -> Option<u64> {
        let record_size = self.check().ok()?;
        let (header, first, rest, overhead) = match self.format {
            StreamFormat::Aes128Gcm => {
                let capacity = u64::from(record_size) - ece::OVERHEAD as u64;
                (ece::HEADER_LEN, capacity, capacity, ece::OVERHEAD)
            }
            StreamFormat::Aes256GcmHkdf1Mb => (
                tink::HEADER_LEN,
                tink::FIRST_CAPACITY as u64,
                tink::CAPACITY as u64,
                crate::crypto::TAG_LEN,
            ),
        };
        // One record at least (the empty stream has one, empty and last).
        let records = 1 + plaintext_len.saturating_sub(first).div_ceil(rest);
        (header as u64)
            .checked_add(plaintext_len)?
            .checked_add(records.checked_mul(overhead as u64)?)
    }
}

impl fmt::Debug for StreamOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamOptions")
            .field("format", &self.format)
            .field("record_size", &self.record_size)
            .field("aad_len", &self.aad.len())
            .finish()
    }
}

/// Why a stream could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The stream is not authentic in full: a wrong key or associated data, an altered,
    /// reordered or duplicated record, a stream cut short (no last record) or bytes after the
    /// last record. One opaque error, whatever the cause.
    #[error(
        "the stream is not authentic: a wrong key or associated data, or altered, reordered or missing records"
    )]
    DecryptionFailed,
    /// An `aes128gcm` record size outside 18 to 16 MiB was asked for.
    #[error("the record size must be 18 to 16777216 bytes")]
    InvalidRecordSize,
    /// An `aes128gcm` stream's header names a record size over 16 MiB, more than a reader
    /// here holds.
    #[error("the stream's record size is over the 16777216 bytes this reader accepts")]
    RecordTooLarge,
    /// Associated data was given for `aes128gcm`, which has none.
    #[error("the aes128gcm format has no associated data")]
    AadNotSupported,
    /// A record size was given for `aes256gcm-hkdf-1mb`, whose segments are always 1 MiB.
    #[error("the record size applies to the aes128gcm format only")]
    RecordSizeNotSupported,
    /// The key is the wrong size for the format.
    #[error("this format takes a {expected}-byte key")]
    KeyLength {
        /// The key length the format takes.
        expected: usize,
    },
    /// More records than the format can number (Tink: 2^32 segments, about 4 PiB).
    #[error("the stream is longer than its format can number records")]
    TooLong,
    /// Reading the input or writing the output failed.
    #[error("stream I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A record's clear text length and whether it was the last.
struct Opened {
    len: usize,
    last: bool,
}

/// One stream's keys, by format.
#[allow(
    clippy::large_enum_variant,
    reason = "one per stream, never moved in a loop: boxing the larger key schedule buys nothing"
)]
enum Records {
    Ece(ece::Records),
    Tink(tink::Records),
}

impl Records {
    fn capacity(&self, index: u64) -> usize {
        match self {
            Self::Ece(records) => records.capacity(),
            Self::Tink(_) => tink::Records::capacity(index),
        }
    }

    fn record_len(&self, index: u64) -> usize {
        match self {
            Self::Ece(records) => records.record_len(),
            Self::Tink(_) => tink::Records::record_len(index),
        }
    }

    fn seal(
        &self,
        index: u64,
        last: bool,
        out: &mut Vec<u8>,
        start: usize,
    ) -> Result<(), StreamError> {
        match self {
            Self::Ece(records) => {
                records.seal_record(index, last, out, start);
                Ok(())
            }
            Self::Tink(records) => records.seal_record(index, last, out, start),
        }
    }

    fn open(&self, index: u64, at_end: bool, record: &mut [u8]) -> Result<Opened, StreamError> {
        match self {
            Self::Ece(records) => records.open_record(index, at_end, record),
            Self::Tink(records) => records.open_record(index, at_end, record),
        }
    }

    /// Whether a full record says itself whether it is the last (`aes128gcm`'s delimiter), or
    /// only the end of the stream does (Tink: its nonce depends on it).
    fn last_is_marked(&self) -> bool {
        matches!(self, Self::Ece(_))
    }
}

/// What sealing and opening have in common: bytes in, whole records (or their clear text) out,
/// then an end. The I/O adapters and the HTTP endpoints drive either through [`step`].
pub(crate) trait RecordLoop {
    /// As [`StreamSealer::update`] / [`StreamOpener::update`].
    fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), StreamError>;
    /// As [`StreamSealer::finish`] / [`StreamOpener::finish`].
    fn finish(self, out: &mut Vec<u8>) -> Result<(), StreamError>;
}

/// Feeds one piece of input (`None`: the input ended) to the loop in `state`, appending what
/// is ready to `out`. The loop is taken at the end, or after an error, so that nothing more is
/// fed to it; with none left, nothing happens.
pub(crate) fn step<L: RecordLoop>(
    state: &mut Option<L>,
    input: Option<&[u8]>,
    out: &mut Vec<u8>,
) -> Result<(), StreamError> {
    let result = match (input, state.as_mut()) {
        (Some(input), Some(records)) => records.update(input, out),
        (None, Some(_)) => state.take().map_or(Ok(()), |records| records.finish(out)),
        (_, None) => Ok(()),
    };
    if result.is_err() {
        *state = None;
    }
    result
}

impl RecordLoop for StreamSealer {
    fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), StreamError> {
        Self::update(self, input, out)
    }
    fn finish(self, out: &mut Vec<u8>) -> Result<(), StreamError> {
        Self::finish(self, out)
    }
}

impl RecordLoop for StreamOpener {
    fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), StreamError> {
        Self::update(self, input, out)
    }
    fn finish(self, out: &mut Vec<u8>) -> Result<(), StreamError> {
        Self::finish(self, out)
    }
}

/// Encrypts a stream under a key: feed it clear text with [`update`](Self::update), then
/// [`finish`](Self::finish). Holds at most one record of clear text, wiped as it goes.
pub struct StreamSealer {
    records: Records,
    header: Option<Vec<u8>>,
    pending: Zeroizing<Vec<u8>>,
    index: u64,
    format: StreamFormat,
}

impl fmt::Debug for StreamSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamSealer")
            .field("format", &self.format)
            .field("records_sealed", &self.index)
            .finish_non_exhaustive()
    }
}

impl StreamSealer {
    /// A sealer for a new stream under `key`, with a fresh random salt (and, for Tink, nonce
    /// prefix).
    ///
    /// # Errors
    ///
    /// If the options do not fit the format, or the key is the wrong size for it.
    pub fn new(key: &Key, options: &StreamOptions) -> Result<Self, StreamError> {
        let record_size = options.check()?;
        let (records, header) = match options.format {
            StreamFormat::Aes128Gcm => {
                let (records, header) = ece::Records::seal(key, record_size);
                (Records::Ece(records), header)
            }
            StreamFormat::Aes256GcmHkdf1Mb => {
                let (records, header) = tink::Records::seal(key, &options.aad)?;
                (Records::Tink(records), header)
            }
        };
        // Room for the largest record with its delimiter and tag, once: a buffer of clear text
        // that grew would leave a copy behind in the memory it freed.
        let largest = records.capacity(0).max(records.capacity(1)) + ece::OVERHEAD;
        let pending = Zeroizing::new(Vec::with_capacity(largest));
        Ok(Self {
            records,
            header: Some(header),
            pending,
            index: 0,
            format: options.format,
        })
    }

    /// Takes more clear text, and appends to `out` the header (first time) and each record
    /// that is now complete. A full record is sealed only once more clear text arrives: until
    /// then it may be the last.
    ///
    /// # Errors
    ///
    /// [`StreamError::TooLong`] past the format's record count.
    pub fn update(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), StreamError> {
        if let Some(header) = self.header.take() {
            out.extend_from_slice(&header);
        }
        while !input.is_empty() {
            let capacity = self.records.capacity(self.index);
            if self.pending.is_empty() && input.len() > capacity {
                // A whole record with more after it: sealed straight from the input, without
                // a stop (and a wipe) in `pending`.
                let start = out.len();
                out.reserve(capacity + ece::OVERHEAD);
                out.extend_from_slice(&input[..capacity]);
                self.seal_at(false, out, start)?;
                input = &input[capacity..];
                continue;
            }
            if self.pending.len() == capacity {
                self.seal_pending(false, out)?;
                continue;
            }
            let take = (capacity - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
        }
        Ok(())
    }

    /// Seals what is left as the last record (empty if the stream is empty) and appends it.
    ///
    /// # Errors
    ///
    /// [`StreamError::TooLong`] past the format's record count.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), StreamError> {
        if let Some(header) = self.header.take() {
            out.extend_from_slice(&header);
        }
        self.seal_pending(true, out)
    }

    /// Seals the pending clear text where it lies, then moves the record to `out`: what is left
    /// behind in `pending` is ciphertext, which needs no wiping.
    fn seal_pending(&mut self, last: bool, out: &mut Vec<u8>) -> Result<(), StreamError> {
        self.records.seal(self.index, last, &mut self.pending, 0)?;
        self.index += 1;
        out.extend_from_slice(&self.pending);
        self.pending.clear();
        Ok(())
    }

    /// Seals the clear text at `out[start..]` in place as the next record.
    fn seal_at(&mut self, last: bool, out: &mut Vec<u8>, start: usize) -> Result<(), StreamError> {
        let sealed = self.records.seal(self.index, last, out, start);
        if sealed.is_err() {
            out[start..].zeroize();
            out.truncate(start);
        }
        self.index += 1;
        sealed
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    use super::*;

    const ECE_CAPACITY_18: usize = 1;

    fn key(size: KeySize) -> Key {
        Key::generate(size)
    }

    fn ece(record_size: u32) -> StreamOptions {
        StreamOptions::new(StreamFormat::Aes128Gcm).record_size(record_size)
    }

    fn tink() -> StreamOptions {
        StreamOptions::new(StreamFormat::Aes256GcmHkdf1Mb)
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// Seals `plaintext` fed in pieces of `chunk` bytes.
    fn seal(key: &Key, options: &StreamOptions, plaintext: &[u8], chunk: usize) -> Vec<u8> {
        let mut sealer = StreamSealer::new(key, options).unwrap();
        let mut out = Vec::new();
        for piece in plaintext.chunks(chunk.max(1)) {
            sealer.update(piece, &mut out).unwrap();
        }
        sealer.finish(&mut out).unwrap();
        out
    }

    /// Opens `stream` fed in pieces of `chunk` bytes.
    fn open(
        key: &Key,
        options: &StreamOptions,
        stream: &[u8],
        chunk: usize,
    ) -> Result<Vec<u8>, StreamError> {
        let mut opener = StreamOpener::new(key, options)?;
        let mut out = Vec::new();
        for piece in stream.chunks(chunk.max(1)) {
            opener.update(piece, &mut out)?;
        }
        opener.finish(&mut out)?;
        Ok(out)
    }

    fn round_trip(key: &Key, options: &StreamOptions, len: usize) -> Vec<u8> {
        let plaintext = data(len);
        let stream = seal(key, options, &plaintext, 4096);
        assert_eq!(
            Some(stream.len() as u64),
            options.sealed_len(len as u64),
            "sealed_len for {len} bytes, {options:?}"
        );
        assert_eq!(
            open(key, options, &stream, 4096).unwrap(),
            plaintext,
            "{len} bytes, {options:?}"
        );
        stream
    }

    #[test]
    fn rfc_8188_section_3_1_opens() {
        let key =
            Key::try_from(&URL_SAFE_NO_PAD.decode("yqdlZ-tYemfogSmv7Ws5PQ").unwrap()[..]).unwrap();
        let stream = URL_SAFE_NO_PAD
            .decode("I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg")
            .unwrap();
        let options = StreamOptions::new(StreamFormat::Aes128Gcm);
        assert_eq!(
            open(&key, &options, &stream, 1).unwrap(),
            b"I am the walrus"
        );
        assert_eq!(
            open(&key, &options, &stream, 1000).unwrap(),
            b"I am the walrus"
        );
    }

    #[test]
    fn rfc_8188_section_3_1_seals_byte_for_byte() {
        let key =
            Key::try_from(&URL_SAFE_NO_PAD.decode("yqdlZ-tYemfogSmv7Ws5PQ").unwrap()[..]).unwrap();
        let salt: [u8; 16] = URL_SAFE_NO_PAD
            .decode("I1BsxtFttlv3u_Oo94xnmw")
            .unwrap()
            .try_into()
            .unwrap();
        let records = ece::Records::for_salt(&key, &salt, 4096);
        let mut out = salt.to_vec();
        out.extend_from_slice(&4096u32.to_be_bytes());
        out.push(0);
        let start = out.len();
        out.extend_from_slice(b"I am the walrus");
        records.seal_record(0, true, &mut out, start);
        assert_eq!(
            URL_SAFE_NO_PAD.encode(out),
            "I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg"
        );
    }

    #[test]
    fn rfc_8188_section_3_2_opens_with_a_key_id_and_two_records() {
        let key =
            Key::try_from(&URL_SAFE_NO_PAD.decode("BO3ZVPxUlnLORbVGMpbT1Q").unwrap()[..]).unwrap();
        let stream = URL_SAFE_NO_PAD
            .decode(
                "uNCkWiNYzKTnBN9ji3-qWAAAABkCYTHOG8chz_gnvgOqdGYovxyjuqRyJFjEDyoF1Fvkj6hQPdPHI51OEUKEpgz3SsLWIqS_uA",
            )
            .unwrap();
        let options = StreamOptions::new(StreamFormat::Aes128Gcm);
        for chunk in [1, 7, 1000] {
            assert_eq!(
                open(&key, &options, &stream, chunk).unwrap(),
                b"I am the walrus"
            );
        }
    }

    #[test]
    fn empty_input_is_one_empty_last_record() {
        let aes128 = key(KeySize::Aes128);
        let stream = round_trip(&aes128, &ece(DEFAULT_RECORD_SIZE), 0);
        assert_eq!(stream.len(), ece::HEADER_LEN + ece::OVERHEAD);
        let aes256 = key(KeySize::Aes256);
        let stream = round_trip(&aes256, &tink(), 0);
        assert_eq!(stream.len(), tink::HEADER_LEN + crate::crypto::TAG_LEN);
    }

    #[test]
    fn aes128gcm_every_record_boundary_round_trips() {
        let key = key(KeySize::Aes128);
        for record_size in [18u32, 19, 20, 64, 4096] {
            let capacity = record_size as usize - ece::OVERHEAD;
            for len in [
                0,
                1,
                capacity - 1,
                capacity,
                capacity + 1,
                2 * capacity,
                2 * capacity + 1,
                5 * capacity + 3,
            ] {
                round_trip(&key, &ece(record_size), len);
            }
        }
        assert_eq!(ECE_CAPACITY_18, 18 - ece::OVERHEAD);
    }

    #[test]
    fn aes128gcm_records_are_exactly_the_record_size() {
        let key = key(KeySize::Aes128);
        let stream = round_trip(&key, &ece(100), 83 * 3);
        // Three full records (83 bytes of clear text each), the last marked last.
        assert_eq!(stream.len(), ece::HEADER_LEN + 3 * 100);
        assert_eq!(&stream[16..20], &100u32.to_be_bytes());
        assert_eq!(stream[20], 0, "idlen");
    }

    #[test]
    fn tink_every_segment_boundary_round_trips() {
        let key = key(KeySize::Aes256);
        let (first, rest) = (tink::FIRST_CAPACITY, tink::CAPACITY);
        for len in [
            0,
            1,
            first - 1,
            first,
            first + 1,
            first + rest,
            first + rest + 1,
        ] {
            round_trip(&key, &tink(), len);
            round_trip(&key, &tink().aad(b"context".to_vec()), len);
        }
        // The first segment, header included, is exactly 1 MiB.
        let stream = round_trip(&key, &tink(), first + 1);
        assert_eq!(stream.len(), tink::SEGMENT_LEN + 1 + crate::crypto::TAG_LEN);
        assert_eq!(stream[0], 40);
    }

    #[test]
    fn wrong_key_or_aad_fails() {
        let stream = seal(&key(KeySize::Aes128), &ece(64), &data(300), 50);
        assert!(matches!(
            open(&key(KeySize::Aes128), &ece(64), &stream, 50),
            Err(StreamError::DecryptionFailed)
        ));
        let key256 = key(KeySize::Aes256);
        let stream = seal(&key256, &tink().aad(b"a".to_vec()), &data(300), 50);
        assert!(matches!(
            open(&key256, &tink(), &stream, 50),
            Err(StreamError::DecryptionFailed)
        ));
        assert!(matches!(
            open(&key256, &tink().aad(b"b".to_vec()), &stream, 50),
            Err(StreamError::DecryptionFailed)
        ));
        assert_eq!(
            open(&key256, &tink().aad(b"a".to_vec()), &stream, 50).unwrap(),
            data(300)
        );
    }

    #[test]
    fn every_flipped_byte_of_an_aes128gcm_stream_fails() {
        let key = key(KeySize::Aes128);
        // Header, a first, middle and last record (the last one short).
        let stream = seal(&key, &ece(40), &data(23 * 3 + 5), 7);
        for at in 0..stream.len() {
            let mut altered = stream.clone();
            altered[at] ^= 0x01;
            assert!(
                open(&key, &ece(40), &altered, 13).is_err(),
                "byte {at} flipped"
            );
        }
    }

    #[test]
    fn every_flipped_byte_of_a_tink_header_and_records_fails() {
        let key = key(KeySize::Aes256);
        let stream = seal(
            &key,
            &tink(),
            &data(tink::FIRST_CAPACITY + tink::CAPACITY + 10),
            65536,
        );
        let first_end = tink::SEGMENT_LEN;
        let middle_end = first_end + tink::SEGMENT_LEN;
        let positions = (0..tink::HEADER_LEN)
            .chain([tink::HEADER_LEN + 5, first_end - 1])
            .chain([first_end, first_end + 1000, middle_end - 1])
            .chain(middle_end..stream.len());
        for at in positions {
            let mut altered = stream.clone();
            altered[at] ^= 0x80;
            assert!(
                open(&key, &tink(), &altered, 65536).is_err(),
                "byte {at} flipped"
            );
        }
    }

    #[test]
    fn truncation_at_every_record_boundary_is_detected() {
        let key = key(KeySize::Aes128);
        let stream = seal(&key, &ece(40), &data(23 * 4 + 1), 100);
        for cut in (ece::HEADER_LEN..stream.len()).step_by(40) {
            assert!(
                matches!(
                    open(&key, &ece(40), &stream[..cut], 9),
                    Err(StreamError::DecryptionFailed)
                ),
                "cut at {cut}"
            );
        }
        for cut in 0..stream.len() {
            assert!(
                open(&key, &ece(40), &stream[..cut], 9).is_err(),
                "cut at {cut}"
            );
        }
        let key = self::key(KeySize::Aes256);
        let stream = seal(&key, &tink(), &data(tink::FIRST_CAPACITY + 5), 65536);
        for cut in [
            0,
            1,
            tink::HEADER_LEN,
            tink::SEGMENT_LEN,
            tink::SEGMENT_LEN + 10,
            stream.len() - 1,
        ] {
            assert!(
                open(&key, &tink(), &stream[..cut], 65536).is_err(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn reordered_or_duplicated_records_fail() {
        let key = key(KeySize::Aes128);
        let stream = seal(&key, &ece(40), &data(23 * 4 + 1), 100);
        let header = &stream[..ece::HEADER_LEN];
        let record = |i: usize| &stream[ece::HEADER_LEN + 40 * i..ece::HEADER_LEN + 40 * (i + 1)];
        let last = &stream[ece::HEADER_LEN + 160..];
        let swapped = [header, record(1), record(0), record(2), record(3), last].concat();
        assert!(matches!(
            open(&key, &ece(40), &swapped, 64),
            Err(StreamError::DecryptionFailed)
        ));
        let duplicated = [
            header,
            record(0),
            record(0),
            record(1),
            record(2),
            record(3),
            last,
        ]
        .concat();
        assert!(matches!(
            open(&key, &ece(40), &duplicated, 64),
            Err(StreamError::DecryptionFailed)
        ));
        let dropped = [header, record(0), record(2), record(3), last].concat();
        assert!(matches!(
            open(&key, &ece(40), &dropped, 64),
            Err(StreamError::DecryptionFailed)
        ));

        let key = self::key(KeySize::Aes256);
        let stream = seal(
            &key,
            &tink(),
            &data(tink::FIRST_CAPACITY + 2 * tink::CAPACITY + 3),
            65536,
        );
        let (first, second, third) = (
            tink::SEGMENT_LEN,
            2 * tink::SEGMENT_LEN,
            3 * tink::SEGMENT_LEN,
        );
        let swapped = [
            &stream[..first],
            &stream[second..third],
            &stream[first..second],
            &stream[third..],
        ]
        .concat();
        assert!(matches!(
            open(&key, &tink(), &swapped, 65536),
            Err(StreamError::DecryptionFailed)
        ));
        let duplicated = [&stream[..second], &stream[first..]].concat();
        assert!(matches!(
            open(&key, &tink(), &duplicated, 65536),
            Err(StreamError::DecryptionFailed)
        ));
    }

    /// An `aes128gcm` stream built record by record, with chosen delimiters and padding.
    fn crafted(key: &Key, record_size: u32, bodies: &[&[u8]]) -> Vec<u8> {
        let salt = [7u8; 16];
        let records = ece::Records::for_salt(key, &salt, record_size);
        let mut stream = salt.to_vec();
        stream.extend_from_slice(&record_size.to_be_bytes());
        stream.push(0);
        for (index, body) in bodies.iter().enumerate() {
            let mut body = body.to_vec();
            records.seal_raw(index as u64, &mut body);
            stream.extend_from_slice(&body);
        }
        stream
    }

    #[test]
    fn aes128gcm_last_record_rules() {
        let key = key(KeySize::Aes128);
        let options = ece(20);
        // Three bytes of clear text per full record (20 - 16 - 1).
        let ok = crafted(&key, 20, &[b"abc\x01", b"de\x02"]);
        assert_eq!(open(&key, &options, &ok, 5).unwrap(), b"abcde");
        // Padding after the delimiter is removed, in full and short records.
        let padded = crafted(&key, 20, &[b"a\x01\0\0", b"b\x02\0\0"]);
        assert_eq!(open(&key, &options, &padded, 5).unwrap(), b"ab");
        // The stream ends on a record that says more follows.
        let cut = crafted(&key, 20, &[b"abc\x01", b"de\x01"]);
        assert!(matches!(
            open(&key, &options, &cut, 5),
            Err(StreamError::DecryptionFailed)
        ));
        // A full record marked last, then more.
        let after = crafted(&key, 20, &[b"abc\x02", b"de\x02"]);
        assert!(matches!(
            open(&key, &options, &after, 5),
            Err(StreamError::DecryptionFailed)
        ));
        // No delimiter at all, or an unknown one.
        let none = crafted(&key, 20, &[b"\0\0\0\0"]);
        assert!(matches!(
            open(&key, &options, &none, 5),
            Err(StreamError::DecryptionFailed)
        ));
        let unknown = crafted(&key, 20, &[b"ab\x03"]);
        assert!(matches!(
            open(&key, &options, &unknown, 5),
            Err(StreamError::DecryptionFailed)
        ));
        // A header only: no last record.
        let header_only = crafted(&key, 20, &[]);
        assert!(matches!(
            open(&key, &options, &header_only, 5),
            Err(StreamError::DecryptionFailed)
        ));
        // A short record before the end cannot exist: it is read as part of a full one.
        let short_first = crafted(&key, 20, &[b"a\x01", b"bc\x02"]);
        assert!(open(&key, &options, &short_first, 5).is_err());
    }

    #[test]
    fn an_opener_refuses_everything_after_an_error() {
        let key = key(KeySize::Aes128);
        let stream = seal(&key, &ece(40), &data(23 * 3), 100);
        let mut opener = StreamOpener::new(&key, &ece(40)).unwrap();
        let mut out = Vec::new();
        let mut garbage = stream[21..61].to_vec();
        garbage[3] ^= 1;
        opener.update(&stream[..21], &mut out).unwrap();
        assert!(opener.update(&garbage, &mut out).is_err());
        // Carrying on with the genuine records must not make the stream look whole.
        assert!(opener.update(&stream[21..], &mut out).is_err());
        assert!(opener.finish(&mut out).is_err());
    }

    #[test]
    fn aes128gcm_header_record_sizes_are_checked() {
        let key = key(KeySize::Aes128);
        let mut stream = seal(&key, &ece(18), b"x", 1);
        stream[16..20].copy_from_slice(&17u32.to_be_bytes());
        assert!(matches!(
            open(&key, &ece(18), &stream, 64),
            Err(StreamError::DecryptionFailed)
        ));
        stream[16..20].copy_from_slice(&(MAX_RECORD_SIZE + 1).to_be_bytes());
        assert!(matches!(
            open(&key, &ece(18), &stream, 64),
            Err(StreamError::RecordTooLarge)
        ));
    }

    #[test]
    fn options_that_do_not_fit_the_format_are_refused() {
        let aes128 = key(KeySize::Aes128);
        let aes256 = key(KeySize::Aes256);
        let refused =
            |key: &Key, options: StreamOptions| StreamSealer::new(key, &options).unwrap_err();
        assert!(matches!(
            refused(&aes128, ece(17)),
            StreamError::InvalidRecordSize
        ));
        assert!(matches!(
            refused(&aes128, ece(MAX_RECORD_SIZE + 1)),
            StreamError::InvalidRecordSize
        ));
        assert!(matches!(
            refused(
                &aes128,
                StreamOptions::new(StreamFormat::Aes128Gcm).aad(b"x".to_vec())
            ),
            StreamError::AadNotSupported
        ));
        assert!(matches!(
            refused(&aes256, tink().record_size(100)),
            StreamError::RecordSizeNotSupported
        ));
        assert!(matches!(
            refused(&aes128, tink()),
            StreamError::KeyLength { expected: 32 }
        ));
        assert!(matches!(
            StreamOpener::new(&aes128, &tink()).unwrap_err(),
            StreamError::KeyLength { expected: 32 }
        ));
        assert!(StreamSealer::new(&aes128, &ece(MAX_RECORD_SIZE)).is_ok());
        assert_eq!(ece(17).sealed_len(1), None);
    }

    #[test]
    fn debug_shows_no_secrets() {
        let key = key(KeySize::Aes256);
        let sealer = StreamSealer::new(&key, &tink().aad(b"secret aad".to_vec())).unwrap();
        let opener = StreamOpener::new(&key, &tink().aad(b"secret aad".to_vec())).unwrap();
        for shown in [
            format!("{sealer:?}"),
            format!("{opener:?}"),
            format!("{:?}", tink().aad(b"secret aad".to_vec())),
        ] {
            assert!(!shown.contains("secret"), "{shown}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn aes128gcm_round_trips_any_size_and_chunking(
            len in 0usize..3000,
            record_size in 18u32..300,
            in_chunk in 1usize..500,
            out_chunk in 1usize..500,
        ) {
            let key = key(KeySize::Aes128);
            let plaintext = data(len);
            let stream = seal(&key, &ece(record_size), &plaintext, in_chunk);
            prop_assert_eq!(Some(stream.len() as u64), ece(record_size).sealed_len(len as u64));
            prop_assert_eq!(open(&key, &ece(record_size), &stream, out_chunk).unwrap(), plaintext);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(6))]

        #[test]
        fn tink_round_trips_any_size_and_chunking(
            len in 0usize..(2 * tink::SEGMENT_LEN + 100),
            in_chunk in 1usize..300_000,
            out_chunk in 1usize..300_000,
        ) {
            let key = key(KeySize::Aes256);
            let plaintext = data(len);
            let stream = seal(&key, &tink(), &plaintext, in_chunk);
            prop_assert_eq!(Some(stream.len() as u64), tink().sealed_len(len as u64));
            prop_assert_eq!(open(&key, &tink(), &stream, out_chunk).unwrap(), plaintext);
        }
    }
}
