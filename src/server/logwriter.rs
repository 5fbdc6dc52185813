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
    /// Signalled when the buffer stops being empty or fills up, and when the guard is dropped.
    arrived: Condvar,
    /// Signalled when the logging thread has taken the buffer.
    taken: Condvar,
}

#[derive(Default)]
struct State {
    pending: Vec<u8>,
    /// The guard was dropped: write out what is pending, then stop.
    closed: bool,
    /// The logging thread has stopped: lines logged now are dropped, and nobody waits.
    finished: bool,
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
    // However the thread ends (a panicking `out` included), loggers must not wait for it.
    let _finished = Finished(shared);
    let mut batch = Vec::new();
    loop {
        let mut state = shared.lock();
        while state.pending.is_empty() && !state.closed {
            state = (shared.arrived.wait(state)).unwrap_or_else(PoisonError::into_inner);
        }
        if state.pending.is_empty() {
            return; // closed, and everything written
        }
        if !state.closed {
            state = (shared.arrived.wait_timeout_while(state, TICK, |state| {
                !state.closed && state.pending.len() < MAX_PENDING
            }))
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        }
        // Swap buffers: the next lines go into the one just written, without allocating.
        batch.clear();
        core::mem::swap(&mut batch, &mut state.pending);
        drop(state);
        shared.taken.notify_all();
        // A closed or full stderr must not stop the server: the lines are dropped then.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
    }
}

/// Marks the logging thread finished when it ends, and wakes everyone waiting on it.
struct Finished<'a>(&'a Shared);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.lock().finished = true;
        self.0.taken.notify_all();
    }
}

impl Write for &LogWriter {
    /// Appends `line` whole: tracing-subscriber writes each formatted event with one call.
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let shared = &*self.0;
        let mut state = shared.lock();
        while state.pending.len() >= MAX_PENDING && !state.finished {
            state = (shared.taken.wait(state)).unwrap_or_else(PoisonError::into_inner);
        }
        if state.finished {
            // Logged after the guard was dropped: nobody is left to write it.
            return Ok(line.len());
        }
        let was_empty = state.pending.is_empty();
        state.pending.extend_from_slice(line);
        let full = state.pending.len() >= MAX_PENDING;
        drop(state);
        // The first line wakes the logging thread; a full buffer cuts its tick short.
        if was_empty || full {
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
    /// Writes out every line logged before it, then stops the logging thread. It waits for
    /// stderr to take them: a stderr that nobody reads (a pipe never drained) holds it.
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.arrived.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// A `Write` that keeps what it was given, and counts the `write` and `flush` calls.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<(Vec<u8>, usize, usize)>>);

    impl Sink {
        fn written(&self) -> Vec<u8> {
            self.0.lock().unwrap().0.clone()
        }
        fn writes(&self) -> usize {
            self.0.lock().unwrap().1
        }
        fn flushes(&self) -> usize {
            self.0.lock().unwrap().2
        }
    }

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let mut sink = self.0.lock().unwrap();
            sink.0.extend_from_slice(bytes);
            sink.1 += 1;
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            self.0.lock().unwrap().2 += 1;
            Ok(())
        }
    }

    /// A log line of 1 KiB, newline included.
    fn kib_line() -> Vec<u8> {
        let mut line = vec![b'x'; 1023];
        line.push(b'\n');
        line
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
        let text = String::from_utf8(sink.written()).unwrap();
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
    fn lines_logged_together_go_out_together_without_the_guard_being_dropped() {
        let sink = Sink::default();
        let (writer, guard) = spawn(sink.clone()).unwrap();
        for i in 0..100 {
            (&writer)
                .write_all(format!("line {i}\n").as_bytes())
                .unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while String::from_utf8(sink.written()).unwrap().lines().count() < 100 {
            assert!(
                std::time::Instant::now() < deadline,
                "the lines were not written"
            );
            std::thread::sleep(TICK);
        }
        // A write per line would be 100; one per tick of 10 ms, a handful at most.
        assert!(
            sink.writes() <= 10,
            "{} writes for 100 lines",
            sink.writes()
        );
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
        let line = kib_line();
        for _ in 0..4 * 1024 {
            (&writer).write_all(&line).unwrap();
            assert!(writer.0.lock().pending.len() <= MAX_PENDING + line.len());
        }
        drop(guard);
        assert_eq!(sink.written().len(), 4 * 1024 * line.len());
    }

    #[test]
    fn an_idle_writer_does_not_wake_up() {
        let sink = Sink::default();
        let (_writer, guard) = spawn(sink.clone()).unwrap();
        std::thread::sleep(TICK * 5);
        assert_eq!((sink.writes(), sink.flushes()), (0, 0));
        drop(guard);
    }

    #[test]
    fn a_line_logged_after_the_guard_is_dropped_is_not_kept() {
        let sink = Sink::default();
        let (writer, guard) = spawn(sink.clone()).unwrap();
        (&writer).write_all(b"before\n").unwrap();
        drop(guard);
        (&writer).write_all(b"after\n").unwrap();
        assert_eq!(sink.written(), b"before\n");
        assert!(
            writer.0.lock().pending.is_empty(),
            "nobody would ever write it"
        );
    }

    #[test]
    fn a_logging_thread_that_dies_never_holds_the_loggers() {
        /// A `Write` that panics.
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                panic!("broken writer")
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (writer, guard) = spawn(Broken).unwrap();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let line = kib_line();
            for _ in 0..4 * 1024 {
                (&writer).write_all(&line).unwrap();
            }
            done.send(()).unwrap();
        });
        let waited = finished.recv_timeout(Duration::from_secs(10));
        assert!(
            waited.is_ok(),
            "4 MiB of lines were held back by a dead logging thread"
        );
        drop(guard);
    }
}
