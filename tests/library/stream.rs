//! The stream API without a server: over `std::io` (a reader that fails, a writer that fails, a
//! stream cut short) and over async byte streams, both formats.

use std::io::{self, Read};

use gcm_oracle::{
    Key, KeySize, StreamError, StreamFormat, StreamOptions, open_stream, seal_stream,
    seal_stream_under,
};

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A reader that yields `good` bytes, then fails.
struct Failing {
    good: io::Cursor<Vec<u8>>,
}

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.good.read(buf)? {
            0 => Err(io::Error::other("the disk went away")),
            read => Ok(read),
        }
    }
}

#[test]
fn both_formats_round_trip_over_std_io() {
    for format in StreamFormat::ALL {
        for len in [0, 1, 65_519, 65_520, 2_200_000] {
            let options = StreamOptions::new(format);
            let clear = data(len);
            let mut sealed = Vec::new();
            let key = seal_stream(&clear[..], &mut sealed, &options).unwrap();
            assert_eq!(key.size(), format.key_size());
            assert_eq!(Some(sealed.len() as u64), options.sealed_len(len as u64));
            let mut opened = Vec::new();
            let written = open_stream(&sealed[..], &mut opened, &key, &options).unwrap();
            assert_eq!(written, len as u64);
            assert_eq!(opened, clear, "{format} {len}");
        }
    }
}

#[test]
fn a_failing_reader_is_an_io_error_and_never_a_finished_stream() {
    let options = StreamOptions::new(StreamFormat::Aes128Gcm).record_size(100);
    let mut sealed = Vec::new();
    let err = seal_stream(
        Failing {
            good: io::Cursor::new(data(1000)),
        },
        &mut sealed,
        &options,
    )
    .unwrap_err();
    assert!(matches!(err, StreamError::Io(_)), "{err:?}");
    // What was written before the failure has no last record: it does not open.
    let key = Key::generate(KeySize::Aes128);
    let mut sealed = Vec::new();
    let _ = seal_stream_under(
        &key,
        Failing {
            good: io::Cursor::new(data(1000)),
        },
        &mut sealed,
        &options,
    );
    let mut opened = Vec::new();
    assert!(matches!(
        open_stream(&sealed[..], &mut opened, &key, &options),
        Err(StreamError::DecryptionFailed)
    ));
}

#[test]
fn a_failing_writer_is_an_io_error() {
    let options = StreamOptions::new(StreamFormat::Aes128Gcm);
    let mut full = [0u8; 10];
    let err = seal_stream(&data(100)[..], &mut full[..], &options).unwrap_err();
    assert!(matches!(err, StreamError::Io(_)), "{err:?}");
}

#[test]
fn a_cut_stream_writes_what_authenticated_and_fails() {
    let options = StreamOptions::new(StreamFormat::Aes128Gcm).record_size(100);
    let clear = data(1000);
    let mut sealed = Vec::new();
    let key = seal_stream(&clear[..], &mut sealed, &options).unwrap();
    let mut opened = Vec::new();
    let err = open_stream(&sealed[..21 + 500], &mut opened, &key, &options).unwrap_err();
    assert!(matches!(err, StreamError::DecryptionFailed), "{err:?}");
    // Five whole records authenticated and were written; the caller must discard them.
    assert_eq!(opened, clear[..5 * 83]);
}

#[cfg(feature = "server")]
mod async_streams {
    use bytes::Bytes;
    use futures_util::{StreamExt as _, stream};
    use gcm_oracle::{Key, OpenedStream, SealedStream, StreamError, StreamFormat, StreamOptions};

    use super::data;

    fn pieces(bytes: &[u8], size: usize) -> Vec<Result<Bytes, std::io::Error>> {
        bytes
            .chunks(size)
            .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
            .collect()
    }

    async fn collect(
        mut stream: impl futures_util::Stream<Item = Result<Bytes, StreamError>> + Unpin,
    ) -> Result<Vec<u8>, StreamError> {
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn async_streams_round_trip_in_any_pieces() {
        for format in StreamFormat::ALL {
            let options = StreamOptions::new(format).aad(if format == StreamFormat::Aes128Gcm {
                Vec::new()
            } else {
                b"context".to_vec()
            });
            let key = Key::generate(format.key_size());
            let clear = data(1_300_000);
            for size in [1_000, 65_536, 700_000] {
                let sealed =
                    SealedStream::new(stream::iter(pieces(&clear, size)), &key, &options).unwrap();
                let sealed = collect(sealed).await.unwrap();
                assert_eq!(
                    Some(sealed.len() as u64),
                    options.sealed_len(clear.len() as u64)
                );
                let opened =
                    OpenedStream::new(stream::iter(pieces(&sealed, size / 3 + 1)), &key, &options)
                        .unwrap();
                assert_eq!(collect(opened).await.unwrap(), clear, "{format} {size}");
            }
        }
    }

    #[tokio::test]
    async fn an_input_error_ends_the_async_stream_with_an_error() {
        let options = StreamOptions::new(StreamFormat::Aes128Gcm);
        let key = Key::generate(options.format.key_size());
        let mut input = pieces(&data(200_000), 10_000);
        input.push(Err(std::io::Error::other("the upload broke off")));
        let mut sealed = SealedStream::new(stream::iter(input), &key, &options).unwrap();
        let mut saw_error = false;
        while let Some(item) = sealed.next().await {
            if let Err(err) = item {
                assert!(matches!(err, StreamError::Io(_)), "{err:?}");
                saw_error = true;
            }
        }
        assert!(saw_error, "the stream ended cleanly");
        // A tampered record fails the opened stream, and nothing comes after the error.
        let mut whole = Vec::new();
        let key = Key::generate(options.format.key_size());
        let sealed_ok =
            SealedStream::new(stream::iter(pieces(&data(300_000), 5000)), &key, &options).unwrap();
        whole.extend(collect(sealed_ok).await.unwrap());
        whole[200_000] ^= 1;
        let mut opened =
            OpenedStream::new(stream::iter(pieces(&whole, 4096)), &key, &options).unwrap();
        let mut after_error = 0;
        let mut errored = false;
        while let Some(item) = opened.next().await {
            if errored {
                after_error += 1;
            }
            if item.is_err() {
                errored = true;
            }
        }
        assert!(errored);
        assert_eq!(after_error, 0);
    }
}
