//! Reads the socket in pieces of up to 64 KiB under TLS, instead of one TLS record or less.
//!
//! rustls asks its transport for at most one record at a time (16 KiB, and 4 KiB when it has
//! used up what it had), so a 1 MiB request body took about 70 `recv` calls, each paying for
//! the system call, the socket lock and often an acknowledgement. Under rustls, this layer
//! reads what the socket holds, up to 64 KiB, and hands it out from memory: 17 calls for the
//! same body, and 8–13 % less server CPU per 1 MiB request (docs/BENCHMARKS.md).
//!
//! The buffer exists only while bytes are arriving: it is freed as soon as the socket has
//! nothing more, so an idle keep-alive connection holds none. It only ever holds TLS records
//! as they came off the wire, never clear text.

use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use actix_web::rt::net::{ActixStream, Ready, TcpStream};
use bytes::{Buf as _, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most read from the socket at once: the loopback MTU, and four full TLS records.
const READ_AHEAD: usize = 64 * 1024;

/// A TCP stream whose reads go through a read-ahead buffer; writes pass straight through.
pub(crate) struct ReadAhead {
    io: TcpStream,
    /// Bytes read from `io` and not yet handed out; no allocation when there are none and the
    /// socket is idle.
    buffer: BytesMut,
}

impl ReadAhead {
    pub(crate) fn new(io: TcpStream) -> Self {
        Self {
            io,
            buffer: BytesMut::new(),
        }
    }

    /// The stream underneath.
    pub(crate) fn get_ref(&self) -> &TcpStream {
        &self.io
    }

    /// Copies as much of the buffer as fits into `dst`.
    fn hand_out(&mut self, dst: &mut ReadBuf<'_>) {
        let n = self.buffer.len().min(dst.remaining());
        dst.put_slice(&self.buffer[..n]);
        self.buffer.advance(n);
    }
}

impl AsyncRead for ReadAhead {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.buffer.is_empty() {
            this.hand_out(dst);
            return Poll::Ready(Ok(()));
        }
        // tokio's own readiness check: actix's `ActixStream` one registers a waker and drops it.
        if let waiting @ (Poll::Pending | Poll::Ready(Err(_))) = this.io.poll_read_ready(cx) {
            // Idle, typically a keep-alive connection between requests: wait without a buffer.
            this.buffer = BytesMut::new();
            return waiting.map_ok(drop);
        }
        // Reuses the allocation while the buffer is only drained, not freed.
        this.buffer.reserve(READ_AHEAD);
        match tokio_util::io::poll_read_buf(Pin::new(&mut this.io), cx, &mut this.buffer) {
            Poll::Ready(Ok(_)) => {
                this.hand_out(dst);
                Poll::Ready(Ok(()))
            }
            waiting => {
                this.buffer = BytesMut::new();
                waiting.map_ok(drop)
            }
        }
    }
}

impl AsyncWrite for ReadAhead {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl ActixStream for ReadAhead {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<Ready>> {
        if self.buffer.is_empty() {
            ActixStream::poll_read_ready(&self.io, cx)
        } else {
            Poll::Ready(Ok(Ready::READABLE))
        }
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<Ready>> {
        ActixStream::poll_write_ready(&self.io, cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    use super::*;

    /// A connected pair: the client end, and the server end wrapped in `ReadAhead`.
    async fn pair() -> (TcpStream, ReadAhead) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        (client.unwrap(), ReadAhead::new(accepted.unwrap().0))
    }

    /// Waits until `n` bytes sent by the client are in the server's socket.
    async fn until_readable(server: &ReadAhead, n: usize) {
        let mut peek = vec![0; n];
        while server.io.peek(&mut peek).await.unwrap() < n {
            tokio::task::yield_now().await;
        }
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[tokio::test]
    async fn bytes_pass_through_in_order_whatever_the_read_sizes() {
        let (mut client, mut server) = pair().await;
        let sent = pattern(3 << 20);
        let writer = tokio::spawn({
            let sent = sent.clone();
            async move {
                client.write_all(&sent).await.unwrap();
                client.shutdown().await.unwrap();
                client
            }
        });
        let mut received = Vec::new();
        let mut sizes = [1, 4096, 18_437, 70_000, 65_536, 7].into_iter().cycle();
        loop {
            let mut piece = vec![0; sizes.next().unwrap()];
            let n = server.read(&mut piece).await.unwrap();
            if n == 0 {
                break;
            }
            received.extend_from_slice(&piece[..n]);
        }
        assert_eq!(received.len(), sent.len());
        assert!(received == sent, "the bytes differ");
        drop(writer.await.unwrap());
    }

    #[tokio::test]
    async fn a_small_read_takes_what_the_socket_holds_and_keeps_the_rest() {
        let (mut client, mut server) = pair().await;
        client.write_all(&pattern(10_000)).await.unwrap();
        until_readable(&server, 10_000).await;
        let mut piece = [0; 100];
        assert_eq!(server.read(&mut piece).await.unwrap(), 100);
        assert_eq!(server.buffer.len(), 9_900, "read ahead in one call");
        let mut rest = vec![0; 9_900];
        server.read_exact(&mut rest).await.unwrap();
        assert_eq!([&piece[..], &rest].concat(), pattern(10_000));
    }

    #[tokio::test]
    async fn a_connection_waiting_for_bytes_holds_no_buffer() {
        let (mut client, mut server) = pair().await;
        client.write_all(b"one request").await.unwrap();
        let mut piece = [0; 64];
        let n = server.read(&mut piece).await.unwrap();
        assert_eq!(&piece[..n], b"one request");
        // The next read waits on an empty socket: it must let the buffer go first.
        let pending = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            server.read(&mut piece),
        );
        assert!(pending.await.is_err(), "nothing was sent");
        assert_eq!(server.buffer.capacity(), 0);
        // And it still wakes up for the next bytes.
        client.write_all(b"two").await.unwrap();
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), server.read(&mut piece));
        let read = read.await;
        assert!(read.is_ok(), "not woken for the next bytes");
        let n = read.unwrap().unwrap();
        assert_eq!(&piece[..n], b"two");
    }

    #[tokio::test]
    async fn writes_pass_straight_through() {
        let (mut client, mut server) = pair().await;
        server.write_all(b"answer").await.unwrap();
        server.flush().await.unwrap();
        let mut got = [0; 6];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"answer");
    }
}
