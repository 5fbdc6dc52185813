//! The `gcm-oracle` binary: what it logs at start, how it fails, and `gen-cert`.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::client;
use crate::helpers::pki::{KeyFormat, Pki};
use crate::helpers::process::{Running, after, gcm_oracle, run_to_end, start};

#[tokio::test]
async fn serve_logs_its_url_the_dev_ca_and_a_curl_line_that_works() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, lines) = start(&[
        "--bind",
        "127.0.0.1:0",
        "--cert-dir",
        dir.path().to_str().unwrap(),
    ]);
    let url = after(&lines, "listening on ");
    assert!(
        url.starts_with("https://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    let ca = after(&lines, "development CA certificate: ");
    assert_eq!(
        Path::new(ca),
        dir.path().canonicalize().unwrap().join("dev-ca.pem")
    );
    let curl = lines
        .iter()
        .find(|line| line.contains("try: curl"))
        .unwrap();
    assert!(curl.contains(&format!("--cacert {ca} ")), "{curl}");
    assert!(curl.contains(&format!("{url}/oracleinvocation/")), "{curl}");

    let response = client(&std::fs::read(ca).unwrap())
        .post(format!("{url}/oracleinvocation/"))
        .json(&json!({ "data": "hi" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn serve_is_also_the_named_subcommand_and_reuses_dev_certs() {
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let first = run_to_end(&["gen-cert", "--cert-dir", dir_arg]);
    assert!(first.status.success());
    let ca_before = std::fs::read(dir.path().join("dev-ca.pem")).unwrap();
    let (_server, lines) = start(&["serve", "--bind", "127.0.0.1:0", "--cert-dir", dir_arg]);
    assert!(
        lines
            .iter()
            .any(|line| line.contains("using existing development certificates")),
        "{lines:#?}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("dev-ca.pem")).unwrap(),
        ca_before
    );
}

#[test]
fn gen_cert_writes_the_three_files_with_a_private_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_to_end(&[
        "gen-cert",
        "--cert-dir",
        dir.path().to_str().unwrap(),
        "--san",
        "oracle.test",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for name in ["dev-ca.pem", "dev-cert.pem", "dev-key.pem"] {
        assert!(dir.path().join(name).is_file(), "{name} missing");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("dev-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// Asserts a failed start: non-zero exit and exactly one log line, an error containing `needle`.
fn assert_fails_with_one_line(args: &[&str], needle: &str) {
    let output = run_to_end(args);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("ERROR") && lines[0].contains(needle),
        "{stderr}"
    );
}

#[test]
fn a_busy_port_fails_at_start_with_one_clear_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let args = ["--bind", &addr, "--cert-dir", dir.path().to_str().unwrap()];
    let output = run_to_end(&args);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("ERROR"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
}

#[test]
fn a_mismatched_certificate_and_key_fail_at_start() {
    let pki = Pki::new();
    let cert = pki.leaf(KeyFormat::RsaPkcs1).cert;
    let key = pki.leaf(KeyFormat::EcSec1).key;
    assert_fails_with_one_line(
        &[
            "--bind",
            "127.0.0.1:0",
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
        "cannot be used together",
    );
}

#[test]
fn an_unreadable_certificate_fails_at_start_naming_the_file() {
    let pki = Pki::new();
    let key = pki.leaf(KeyFormat::EcSec1).key;
    assert_fails_with_one_line(
        &[
            "--bind",
            "127.0.0.1:0",
            "--cert",
            "/nonexistent/cert.pem",
            "--key",
            key.to_str().unwrap(),
        ],
        "/nonexistent/cert.pem",
    );
}

#[test]
fn a_key_file_without_a_key_fails_at_start_naming_the_file() {
    let pki = Pki::new();
    let cert = pki.leaf(KeyFormat::EcSec1).cert;
    assert_fails_with_one_line(
        &[
            "--bind",
            "127.0.0.1:0",
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            cert.to_str().unwrap(),
        ],
        "cannot read private key file",
    );
}

#[test]
fn invalid_flag_values_fail_with_a_usage_error() {
    let output = run_to_end(&["--max-body", "lots"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--max-body"), "{stderr}");
}

#[test]
fn help_shows_every_flag_with_its_variable_and_default() {
    let output = run_to_end(&["serve", "--help"]);
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "--bind",
        "GCM_ORACLE_BIND",
        "127.0.0.1:8443",
        "--cert-dir",
        "GCM_ORACLE_CERT_DIR",
        "--cert ",
        "--key ",
        "--san",
        "--max-body",
        "8MiB",
        "--body-timeout",
        "10s",
        "--max-batch-items",
        "1000",
        "--workers",
        "GCM_ORACLE_WORKERS",
        "one per CPU core",
        "--keep-alive",
        "GCM_ORACLE_KEEP_ALIVE",
        "5s",
        "--request-timeout",
        "GCM_ORACLE_REQUEST_TIMEOUT",
        "--max-connections",
        "25000",
        "--shutdown-timeout",
        "30s",
        "GCM_ORACLE_SHUTDOWN_TIMEOUT",
        "--log-format",
        "pretty",
        "GCM_ORACLE_LOG_FORMAT",
        "--redirect-http",
        "GCM_ORACLE_REDIRECT_HTTP",
        "--client-ca",
        "GCM_ORACLE_CLIENT_CA",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
}

#[tokio::test]
async fn a_failing_stderr_does_not_take_the_server_down() {
    let dir = tempfile::tempdir().unwrap();
    // A port that was free a moment ago: the log that would tell us the port cannot be read.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // Every write to /dev/full fails, so every log line fails to write.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut server = Running(
        gcm_oracle(&[
            "--bind",
            &addr.to_string(),
            "--cert-dir",
            dir.path().to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(full)
        .spawn()
        .unwrap(),
    );
    let url = format!("https://{addr}");
    let deadline = Instant::now() + Duration::from_secs(30);
    // The port is bound first, then the certificates are written (the key last).
    while std::net::TcpStream::connect(addr).is_err() || !dir.path().join("dev-key.pem").exists() {
        assert!(
            server.0.try_wait().unwrap().is_none(),
            "server exited at start"
        );
        assert!(
            Instant::now() < deadline,
            "server did not start within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ca = std::fs::read(dir.path().join("dev-ca.pem")).unwrap();
    for _ in 0..5 {
        let response = client(&ca)
            .post(format!("{url}/oracleinvocation/"))
            .json(&json!({ "data": "hi" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert!(server.0.try_wait().unwrap().is_none(), "server exited");
}

#[tokio::test]
async fn a_specific_bind_address_is_in_the_dev_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, lines) = start(&[
        "--bind",
        "127.0.0.2:0",
        "--cert-dir",
        dir.path().to_str().unwrap(),
    ]);
    let url = after(&lines, "listening on ");
    assert!(url.starts_with("https://127.0.0.2:"), "{url}");
    let ca = std::fs::read(dir.path().join("dev-ca.pem")).unwrap();
    let response = client(&ca)
        .post(format!("{url}/oracleinvocation/"))
        .json(&json!({ "data": "hi" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[test]
fn a_busy_port_fails_before_touching_the_certificate_directory() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let cert_dir = dir.path().join("certs");
    let output = run_to_end(&["--bind", &addr, "--cert-dir", cert_dir.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(
        !cert_dir.exists(),
        "certificates were written before the port was checked"
    );
}

#[test]
fn an_unreadable_client_ca_fails_at_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_to_end(&[
        "--bind",
        "127.0.0.1:0",
        "--cert-dir",
        dir.path().to_str().unwrap(),
        "--client-ca",
        "/nonexistent/client-ca.pem",
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("ERROR"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("/nonexistent/client-ca.pem"), "{stderr}");
}

#[tokio::test]
async fn probe_succeeds_only_on_200_over_verified_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, lines) = start(&[
        "--bind",
        "127.0.0.1:0",
        "--cert-dir",
        dir.path().to_str().unwrap(),
    ]);
    let url = after(&lines, "listening on ").to_owned();
    let port = url.rsplit(':').next().unwrap().to_owned();
    let ca = dir.path().join("dev-ca.pem");
    let ca = ca.to_str().unwrap();

    let ok = run_to_end(&[
        "probe",
        &format!("https://localhost:{port}/healthz"),
        "--cacert",
        ca,
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(ok.stderr.is_empty() && ok.stdout.is_empty());

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let stranger = tempfile::tempdir().unwrap();
    run_to_end(&["gen-cert", "--cert-dir", stranger.path().to_str().unwrap()]);
    let stranger_ca = stranger.path().join("dev-ca.pem");
    for (args, needle) in [
        (
            vec![
                "probe".to_owned(),
                format!("{url}/nowhere"),
                "--cacert".into(),
                ca.into(),
            ],
            "answered 404",
        ),
        (
            vec![
                "probe".to_owned(),
                format!("{url}/healthz"),
                "--cacert".into(),
                stranger_ca.to_str().unwrap().into(),
            ],
            "TLS failed",
        ),
        (
            vec![
                "probe".to_owned(),
                format!("https://127.0.0.1:{closed}/healthz"),
                "--cacert".into(),
                ca.into(),
            ],
            "cannot connect",
        ),
        (
            vec![
                "probe".to_owned(),
                format!("http://127.0.0.1:{port}/healthz"),
            ],
            "only https",
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run_to_end(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}
