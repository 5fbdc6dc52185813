//! Streams without a server: a fresh key per stream, and the record loop of
//! [`crate::crypto::stream`] driven over `std::io` readers and writers or over async byte
//! streams, in constant memory (one record of each format at a time).
//!
//! ```
//! use gcm_oracle::{StreamFormat, StreamOptions, open_stream, seal_stream};
//!
//! let options = StreamOptions::new(StreamFormat::Aes128Gcm);
//! let mut sealed = Vec::new();
//! let key = seal_stream(&b"attack at dawn"[..], &mut sealed, &options).unwrap();
//! let mut clear = Vec::new();
//! open_stream(&sealed[..], &mut clear, &key, &options).unwrap();
//! assert_eq!(clear, b"attack at dawn");
//! ```

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io::{Read, Write};

use bytes::Bytes;
use futures_core::Stream;
use zeroize::{Zeroize as _, Zeroizing};

use crate::crypto::Key;
use crate::crypto::stream::{
    RecordLoop, StreamError, StreamOpener, StreamOptions, StreamSealer, step,
};

/// How much is read from a reader at a time.
const READ_CHUNK: usize = 64 * 1024;

/// Encrypts everything `reader` yields into `writer` under a fresh key of the format's size,
/// and returns the key. Holds one record at a time.
///
/// # Errors
///
/// Options that do not fit the format; reading or writing failing ([`StreamError::Io`]).
pub fn seal_stream(
    reader: impl Read,
    writer: impl Write,
    options: &StreamOptions,
) -> Result<Key, StreamError> {
    let key = Key::generate(options.format.key_size());
    seal_stream_under(&key, reader, writer, options)?;
    Ok(key)
}

/// As [`seal_stream`], under a key of the caller's (which must never seal two streams: a
/// fresh salt makes each stream's keys differ, but the key itself should still be fresh).
///
/// # Errors
///
/// As [`seal_stream`], and a key of the wrong size for the format.
pub fn seal_stream_under(
    key: &Key,
    reader: impl Read,
    writer: impl Write,
    options: &StreamOptions,
) -> Result<u64, StreamError> {
    // The output is ciphertext: cleared between reads, never wiped.
    pump(StreamSealer::new(key, options)?, reader, writer, Vec::clear)
}

/// Decrypts the stream `reader` yields into `writer`, record by record, and returns the
/// length of the clear text.
///
/// Each record's clear text is written only once it has authenticated, but the whole is known
/// to be complete only when this returns `Ok`: after an error, `writer` may hold the clear text
/// of the records before the failure, and must be discarded.
///
/// # Errors
///
/// [`StreamError::DecryptionFailed`] for a stream that is not authentic in full (altered,
/// reordered, cut short, or followed by more bytes); options that do not fit the format;
/// reading or writing failing.
pub fn open_stream(
    reader: impl Read,
    writer: impl Write,
    key: &Key,
    options: &StreamOptions,
) -> Result<u64, StreamError> {
    // Wiped, not just cleared: a later, larger record would move the buffer, and leave this
    // clear text behind in the memory it freed.
    pump(StreamOpener::new(key, options)?, reader, writer, |out| {
        out.zeroize()
    })
}

/// Runs `records` over everything `reader` yields, writing what comes out to `writer`, and
/// returns how many bytes were written. `empty` empties the output buffer between reads.
fn pump<L: RecordLoop>(
    records: L,
    mut reader: impl Read,
    mut writer: impl Write,
    empty: fn(&mut Vec<u8>),
) -> Result<u64, StreamError> {
    let mut records = Some(records);
    // The input may be clear text: wiped when dropped.
    let mut input = Zeroizing::new(vec![0u8; READ_CHUNK]);
    let mut out = Zeroizing::new(Vec::with_capacity(READ_CHUNK * 2));
    let mut written = 0u64;
    while records.is_some() {
        let read = match reader.read(&mut input) {
            Ok(read) => read,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err.into()),
        };
        step(&mut records, (read > 0).then(|| &input[..read]), &mut out)?;
        writer.write_all(&out)?;
        written += out.len() as u64;
        empty(&mut out);
    }
    writer.flush()?;
    Ok(written)
}

/// The sealed stream of an async byte stream: see [`SealedStream::new`].
pub struct SealedStream<S> {
    input: S,
    sealer: Option<StreamSealer>,
}

impl<S> fmt::Debug for SealedStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedStream")
            .field("sealer", &self.sealer)
            .finish_non_exhaustive()
    }
}

impl<S, B, E> SealedStream<S>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: Into<std::io::Error>,
{
    /// Seals `input` under `key` as it is polled: each item is the records completed by the
    /// input so far (the header first), the last one ends the stream. An input error ends it
    /// without a last record, as [`StreamError::Io`].
    ///
    /// # Errors
    ///
    /// Options that do not fit the format, or a key of the wrong size.
    pub fn new(input: S, key: &Key, options: &StreamOptions) -> Result<Self, StreamError> {
        Ok(Self {
            input,
            sealer: Some(StreamSealer::new(key, options)?),
        })
    }
}

impl<S, B, E> Stream for SealedStream<S>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: Into<std::io::Error>,
{
    type Item = Result<Bytes, StreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        poll_records(&mut this.input, &mut this.sealer, cx)
    }
}

/// The clear text of an async stream of a sealed stream: see [`OpenedStream::new`].
pub struct OpenedStream<S> {
    input: S,
    opener: Option<StreamOpener>,
}

impl<S> fmt::Debug for OpenedStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenedStream")
            .field("opener", &self.opener)
            .finish_non_exhaustive()
    }
}

impl<S, B, E> OpenedStream<S>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: Into<std::io::Error>,
{
    /// Opens `input` under `key` as it is polled: each item is the clear text of the records
    /// that authenticated so far. The stream is complete only if it ends without an error;
    /// after an error nothing more comes, and what came before must be discarded.
    ///
    /// # Errors
    ///
    /// Options that do not fit the format, or a key of the wrong size.
    pub fn new(input: S, key: &Key, options: &StreamOptions) -> Result<Self, StreamError> {
        Ok(Self {
            input,
            opener: Some(StreamOpener::new(key, options)?),
        })
    }
}

impl<S, B, E> Stream for OpenedStream<S>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: Into<std::io::Error>,
{
    type Item = Result<Bytes, StreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        poll_records(&mut this.input, &mut this.opener, cx)
    }
}

/// Polls `input` through the loop in `state` until something is ready: the next records, the
/// end (`None` once the loop has finished), or the first error (after which nothing comes).
fn poll_records<S, B, E, L>(
    input: &mut S,
    state: &mut Option<L>,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Bytes, StreamError>>>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: Into<std::io::Error>,
    L: RecordLoop,
{
    let mut out = Vec::new();
    while state.is_some() {
        let stepped = match Pin::new(&mut *input).poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => step(state, Some(chunk.as_ref()), &mut out),
            Poll::Ready(Some(Err(err))) => {
                *state = None;
                Err(StreamError::Io(err.into()))
            }
            Poll::Ready(None) => step(state, None, &mut out),
        };
        if let Err(err) = stepped {
            return Poll::Ready(Some(Err(err)));
        }
        if !out.is_empty() {
            return Poll::Ready(Some(Ok(out.into())));
        }
    }
    Poll::Ready(None)
}
