//! [`StreamOpener`]: reading a stream back, record by record, releasing each record's clear
//! text only once it has authenticated.

use core::fmt;

use zeroize::Zeroize as _;

use super::{Records, StreamError, StreamFormat, StreamOptions, ece, tink};
use crate::crypto::{Key, KeySize};

/// Decrypts a stream: feed it the stream with [`update`](Self::update), then
/// [`finish`](Self::finish). Each record's clear text is released only once the record has
/// authenticated; the whole stream is known to be complete only when `finish` succeeds.
pub struct StreamOpener {
    key: Key,
    options: StreamOptions,
    records: Option<Records>,
    /// The stream's header, then the record being received: ciphertext only.
    buffer: Vec<u8>,
    index: u64,
    done: bool,
    /// An error was returned: nothing more is accepted.
    failed: bool,
}

impl fmt::Debug for StreamOpener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamOpener")
            .field("format", &self.options.format)
            .field("records_opened", &self.index)
            .finish_non_exhaustive()
    }
}

impl StreamOpener {
    /// An opener for a stream under `key`. The record size, if set in `options`, is ignored:
    /// an `aes128gcm` stream names its own.
    ///
    /// # Errors
    ///
    /// Associated data for `aes128gcm`; a key of the wrong size for the Tink format.
    pub fn new(key: &Key, options: &StreamOptions) -> Result<Self, StreamError> {
        let options = StreamOptions {
            record_size: None,
            ..options.clone()
        };
        options.check()?;
        if options.format == StreamFormat::Aes256GcmHkdf1Mb && key.size() != KeySize::Aes256 {
            return Err(StreamError::KeyLength { expected: 32 });
        }
        Ok(Self {
            key: key.clone(),
            options,
            records: None,
            buffer: Vec::new(),
            index: 0,
            done: false,
            failed: false,
        })
    }

    /// How many records have authenticated so far.
    #[must_use]
    pub fn records_opened(&self) -> u64 {
        self.index
    }

    /// Takes more of the stream, and appends to `out` the clear text of each record that is
    /// now complete and authentic.
    ///
    /// # Errors
    ///
    /// The first record that does not authenticate, bytes after the last record, or a header
    /// this reader refuses. After an error the opener refuses everything:
    /// [`StreamError::DecryptionFailed`] for every later call, `finish` included.
    pub fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), StreamError> {
        if self.failed {
            return Err(StreamError::DecryptionFailed);
        }
        let result = self.take(input, out);
        self.failed = result.is_err();
        result
    }

    fn take(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), StreamError> {
        loop {
            if self.done {
                return if input.is_empty() {
                    Ok(())
                } else {
                    Err(StreamError::DecryptionFailed)
                };
            }
            let needed = match &self.records {
                None => self.header_len(),
                Some(records) => {
                    let full = records.record_len(self.index);
                    // A whole record in the input, known to be or not to be the last: opened
                    // straight into `out`, without a stop (and a wipe) in `buffer`.
                    if self.buffer.is_empty()
                        && input.len() >= full
                        && (records.last_is_marked() || input.len() > full)
                    {
                        self.open_into(&input[..full], false, out)?;
                        input = &input[full..];
                        continue;
                    }
                    full
                }
            };
            let take = needed.saturating_sub(self.buffer.len()).min(input.len());
            self.buffer.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.buffer.len() < needed {
                return Ok(());
            }
            match &self.records {
                None => {
                    if self.buffer.len() == self.header_len() {
                        self.read_header()?;
                    }
                }
                Some(records) => {
                    // A full record: opened now if it says whether it is the last, or once
                    // more bytes show it is not.
                    if !records.last_is_marked() && input.is_empty() {
                        return Ok(());
                    }
                    self.open_buffered(false, out)?;
                }
            }
        }
    }

    /// Ends the stream: opens the last record and checks that the stream was complete.
    ///
    /// # Errors
    ///
    /// [`StreamError::DecryptionFailed`] if the stream ended before its last record; a last record
    /// that does not authenticate.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), StreamError> {
        if self.failed {
            return Err(StreamError::DecryptionFailed);
        }
        if self.done {
            return Ok(());
        }
        if self.records.is_none() || self.buffer.is_empty() {
            return Err(StreamError::DecryptionFailed);
        }
        self.open_buffered(true, out)
    }

    fn header_len(&self) -> usize {
        match self.options.format {
            StreamFormat::Aes128Gcm => ece::Records::header_len(&self.buffer),
            StreamFormat::Aes256GcmHkdf1Mb => tink::HEADER_LEN,
        }
    }

    fn read_header(&mut self) -> Result<(), StreamError> {
        let records = match self.options.format {
            StreamFormat::Aes128Gcm => Records::Ece(ece::Records::open(&self.key, &self.buffer)?),
            StreamFormat::Aes256GcmHkdf1Mb => Records::Tink(tink::Records::open(
                &self.key,
                &self.options.aad,
                &self.buffer,
            )?),
        };
        self.records = Some(records);
        self.buffer.clear();
        Ok(())
    }

    /// Opens `record` (the next one, whole) into `out`, which keeps only its clear text.
    fn open_into(
        &mut self,
        record: &[u8],
        at_end: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), StreamError> {
        let start = out.len();
        out.extend_from_slice(record);
        self.open_at(out, start, at_end)
    }

    /// Opens the record at `out[start..]` in place, keeping only its clear text.
    fn open_at(
        &mut self,
        out: &mut Vec<u8>,
        start: usize,
        at_end: bool,
    ) -> Result<(), StreamError> {
        let Some(records) = &self.records else {
            return Err(StreamError::DecryptionFailed);
        };
        match records.open(self.index, at_end, &mut out[start..]) {
            Ok(opened) => {
                out.truncate(start + opened.len);
                self.index += 1;
                self.done = opened.last;
                Ok(())
            }
            Err(err) => {
                // Unauthenticated bytes: wiped, never released.
                out[start..].zeroize();
                out.truncate(start);
                Err(err)
            }
        }
    }

    /// Opens the buffered record: moved to `out` while it is still ciphertext (so `buffer`
    /// never holds clear text and needs no wiping), and opened there.
    fn open_buffered(&mut self, at_end: bool, out: &mut Vec<u8>) -> Result<(), StreamError> {
        let start = out.len();
        if start == 0 {
            // Moved, not copied: a 16 MiB record is held once, not twice.
            core::mem::swap(&mut self.buffer, out);
        } else {
            out.extend_from_slice(&self.buffer);
        }
        self.buffer.clear();
        self.open_at(out, start, at_end)
    }
}
