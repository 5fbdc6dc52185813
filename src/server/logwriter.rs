//! The log's writer: lines are appended to one shared buffer, and a logging thread writes the
//! buffer out at most every 10 ms, in one `write`.
//!
//! A request thread never makes a system call to log: it formats its line and appends it to
//! the buffer under a lock held for a copy. The logging thread sleeps until the first line
//! arrives in an empty buffer, gives the others 10 ms to join it, and writes them all. That is
//! at most a hundred wake-ups a second however busy the server is, and none when it is idle.
//! A writer that woke the logging thread for each line (tracing-appender's) cost about 17 µs
//! of server CPU per line at a few thousand requests a second, mostly in context switches
//! (docs/BENCHMARKS.md).
//!
//! Nothing is lost: a buffer that reaches 1 MiB (stderr slower than the requests) makes the
//! request threads wait for the logging thread, and dropping the [`LogGuard`] writes out what
//! is left before it returns. Lines stay whole and in the order they were appended.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the logging thread lets lines gather before writing them.
const TICK: Duration = Duration::from_millis(10);

/// A buffer this full makes the request threads wait for the logging thread.
const MAX_PENDING: usize = 1 << 20;

struct Shared {
    state: Mutex<State>,
    /// Signalled when the buffer stops being empty, and when the writer is closed.
    arrived: Condvar,
    /// Signalled when the logging thread has taken the buffer.
    taken: Condvar,
}

#[derive(Default)]
struct State {
    pending: Vec<u8>,
    closed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A thread that panicked while appending left whole lines or none: keep logging.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What tracing-subscriber writes formatted lines to ([`tracing_subscriber::fmt::MakeWriter`]).
#[derive(Clone)]
pub(crate) struct LogWriter(Arc<Shared>);

/// Keeps the logging thread running; dropping it writes out every line and stops the thread.
#[must_use = "dropping the guard stops the logging thread"]
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl core::fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LogGuard").finish_non_exhaustive()
    }
}

/// Starts the logging thread, writing to `out`.
pub(crate) fn spawn<W: Write + Send + 'static>(out: W) -> io::Result<(LogWriter, LogGuard)> {
    let shared = Arc::new(Shared {
        state: Mutex::default(),
        arrived: Condvar::new(),
        taken: Condvar::new(),
    });
    let thread = std::thread::Builder::new()
        .name("gcm-oracle-log".into())
        .spawn({
            let shared = Arc::clone(&shared);
            move || write_batches(&shared, out)
        })?;
    let guard = LogGuard {
        shared: Arc::clone(&shared),
        thread: Some(thread),
    };
    Ok((LogWriter(shared), guard))
}

/// The logging thread: waits for a first line, lets others gather for a tick, writes them all.
fn write_batches<W: Write>(shared: &Shared, mut out: W) {
    let mut batch = Vec::new();
    loop {
        let mut state = shared.lock();
        while state.pending.is_empty() && !state.closed {
            state = (shared.arrived.wait(state)).unwrap_or_else(PoisonError::into_inner);
        }
        if !state.closed {
            state = (shared
                .arrived
                .wait_timeout_while(state, TICK, |state| !state.closed))
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        }
        // Swap buffers: the next lines go into the one just written, without allocating.
        batch.clear();
        core::mem::swap(&mut batch, &mut state.pending);
        let closed = state.closed;
        drop(state);
        shared.taken.notify_all();
        // A closed or full stderr must not stop the server: the lines are dropped then.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        if closed && shared.lock().pending.is_empty() {
            return;
        }
    }
}

impl Write for &LogWriter {
    /// Appends `line` whole: tracing-subscriber writes each formatted event with one call.
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let shared = &*self.0;
        let mut state = shared.lock();
        while state.pending.len() >= MAX_PENDING && !state.closed {
            state = (shared.taken.wait(state)).unwrap_or_else(PoisonError::into_inner);
        }
        let was_empty = state.pending.is_empty();
        state.pending.extend_from_slice(line);
        drop(state);
        if was_empty {
            shared.arrived.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = &'a LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.arrived.notify_all();
        self.shared.taken.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// A `Write` that keeps what it was given, and counts the `write` calls.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let mut sink = self.0.lock().unwrap();
            sink.0.extend_from_slice(bytes);
            sink.1 += 1;
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_whole_and_in_order_by_the_time_the_guard_is_dropped() {
        let sink = Sink::default();
        let (writer, guard) = spawn(sink.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..5_000 {
                        let line = format!("thread {t} line {i} {}\n", "x".repeat(i % 300));
                        (&writer).write_all(line.as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        drop(guard);
        let (written, _) = sink.0.lock().unwrap().clone();
        let text = String::from_utf8(written).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 20_000);
        for t in 0..4 {
            let prefix = format!("thread {t} line ");
            let mine: Vec<usize> = (lines.iter())
                .filter_map(|line| line.strip_prefix(&prefix))
                .map(|rest| rest.split(' ').next().unwrap().parse().unwrap())
                .collect();
            assert_eq!(mine, (0..5_000).collect::<Vec<_>>(), "thread {t}");
        }
        for line in lines {
            let i: usize = line.split(' ').nth(3).unwrap().parse().unwrap();
            assert_eq!(line.split(' ').nth(4).unwrap().len(), i % 300, "{line}");
        }
    }

    #[test]
    fn lines_logged_together_go_out_in_one_write() {
        let sink = Sink::default();
        let (writer, guard) = spawn(sink.clone()).unwrap();
        for i in 0..100 {
            (&writer)
                .write_all(format!("line {i}\n").as_bytes())
                .unwrap();
        }
        // Well past a tick: the lines were written without the guard being dropped.
        std::thread::sleep(TICK * 20);
        let (written, writes) = sink.0.lock().unwrap().clone();
        assert_eq!(String::from_utf8(written).unwrap().lines().count(), 100);
        assert!(writes <= 2, "{writes} writes for 100 lines logged at once");
        drop(guard);
    }

    #[test]
    fn a_full_buffer_holds_the_loggers_back_instead_of_losing_lines() {
        /// A `Write` as slow as a congested pipe.
        struct Slow(Sink);
        impl Write for Slow {
            fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
                std::thread::sleep(Duration::from_millis(20));
                self.0.write(bytes)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let (writer, guard) = spawn(Slow(sink.clone())).unwrap();
        let line = [b'x'; 1023]
            .iter()
            .chain(b"\n")
            .copied()
            .collect::<Vec<u8>>();
        for _ in 0..4 * 1024 {
            (&writer).write_all(&line).unwrap();
            assert!(writer.0.lock().pending.len() <= MAX_PENDING + line.len());
        }
        drop(guard);
        assert_eq!(sink.0.lock().unwrap().0.len(), 4 * 1024 * line.len());
    }

    #[test]
    fn an_idle_writer_does_not_write() {
        let sink = Sink::default();
        let (_writer, guard) = spawn(sink.clone()).unwrap();
        std::thread::sleep(TICK * 5);
        drop(guard);
        assert_eq!(sink.0.lock().unwrap().1, 0);
    }
}
