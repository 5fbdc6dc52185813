//! Running the `gcm-oracle` binary as a child process.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_gcm-oracle");

/// A child process killed when the test ends, however it ends.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn gcm_oracle(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env_remove("RUST_LOG");
    // Settings come from the flags under test only.
    for (name, _) in std::env::vars() {
        if name.starts_with("GCM_ORACLE_") {
            command.env_remove(name);
        }
    }
    command
}

/// Runs to completion, failing the test if it takes longer than 30 s.
pub fn run_to_end(args: &[&str]) -> Output {
    let child = gcm_oracle(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || done_tx.send(child.wait_with_output()));
    done_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("gcm-oracle did not exit")
        .unwrap()
}

/// Starts `serve` and collects its log until the curl hint appears.
pub fn start(args: &[&str]) -> (Running, Vec<String>) {
    let mut child = gcm_oracle(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let running = Running(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut lines = Vec::new();
    while !lines.iter().any(|line: &String| line.contains("try: curl")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(_) => panic!("no start-up lines within 30 s; got {lines:#?}"),
        }
    }
    (running, lines)
}

pub fn after<'a>(lines: &'a [String], marker: &str) -> &'a str {
    let line = lines.iter().find(|line| line.contains(marker)).unwrap();
    let start = line.find(marker).unwrap() + marker.len();
    line[start..].split_whitespace().next().unwrap()
}

/// A server whose stderr goes to a file, for tests that read the whole log afterwards.
pub struct Logged {
    pub server: Running,
    pub log: std::path::PathBuf,
    pub url: String,
    pub ca_pem: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl Logged {
    /// Everything the server has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` to the server.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.server.0.id()).unwrap());
        nix::sys::signal::kill(pid, signal).unwrap();
    }

    /// Waits up to `limit` for the server to exit, returning its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.server.0.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "server still running after {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Starts `serve` on a free loopback port with `args` and `env`, logging to a file, and waits
/// until it is listening.
pub fn start_logged(args: &[&str], env: &[(&str, &str)]) -> Logged {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let cert_dir = dir.path().join("certs");
    let mut command = gcm_oracle(&[
        "--bind",
        "127.0.0.1:0",
        "--cert-dir",
        cert_dir.to_str().unwrap(),
    ]);
    command
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let server = Running(command.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(start) = text.find("listening on https://") {
            let rest = &text[start + "listening on ".len()..];
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            // The curl hint comes last: once it is there, the server is serving.
            if text.contains("try: curl") {
                break rest[..end].to_owned();
            }
        }
        assert!(
            Instant::now() < deadline,
            "not listening within 30 s:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let ca_pem = std::fs::read(cert_dir.join("dev-ca.pem")).unwrap_or_default();
    Logged {
        server,
        log,
        url,
        ca_pem,
        _dir: dir,
    }
}
