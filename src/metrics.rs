//! Prometheus metrics: one registry per server, rendered in the text exposition format at
//! `GET /metrics`.

use std::time::Duration;

use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
    TextEncoder,
};

/// The server's metrics. Cheap to clone: every field is a handle to shared counters.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    rejected: IntCounterVec,
    encrypted_bytes: IntCounter,
    decrypted_bytes: IntCounter,
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    ///
    /// # Panics
    ///
    /// Never in practice: the metric names and labels below are valid and registered once.
    #[must_use]
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "gcm_oracle_http_requests_total",
                "HTTP requests by route and status.",
            ),
            &["route", "status"],
        )
        .unwrap_or_else(|err| unreachable!("valid metric: {err}"));
        // From 100 µs (a small seal) to 10 s (the body timeout's order of magnitude).
        let buckets = vec![
            0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            2.5, 5.0, 10.0,
        ];
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "gcm_oracle_http_request_duration_seconds",
                "Time from request to response, by route.",
            )
            .buckets(buckets),
            &["route"],
        )
        .unwrap_or_else(|err| unreachable!("valid metric: {err}"));
        let rejected = IntCounterVec::new(
            Opts::new(
                "gcm_oracle_rejected_requests_total",
                "Requests answered with an error, by error code.",
            ),
            &["code"],
        )
        .unwrap_or_else(|err| unreachable!("valid metric: {err}"));
        let encrypted_bytes = IntCounter::new(
            "gcm_oracle_encrypted_bytes_total",
            "Clear-text bytes encrypted.",
        )
        .unwrap_or_else(|err| unreachable!("valid metric: {err}"));
        let decrypted_bytes = IntCounter::new(
            "gcm_oracle_decrypted_bytes_total",
            "Clear-text bytes recovered by decryption.",
        )
        .unwrap_or_else(|err| unreachable!("valid metric: {err}"));
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(rejected.clone()),
            Box::new(encrypted_bytes.clone()),
            Box::new(decrypted_bytes.clone()),
        ] {
            registry
                .register(collector)
                .unwrap_or_else(|err| unreachable!("registered once: {err}"));
        }
        Self {
            registry,
            requests,
            latency,
            rejected,
            encrypted_bytes,
            decrypted_bytes,
        }
    }

    /// Counts one answered request.
    pub fn observe_request(&self, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .with_label_values(&[route, status.to_string().as_str()])
            .inc();
        self.latency
            .with_label_values(&[route])
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one request refused with `code`.
    pub fn observe_rejection(&self, code: &str) {
        self.rejected.with_label_values(&[code]).inc();
    }

    /// Counts clear-text bytes encrypted.
    pub fn add_encrypted(&self, bytes: usize) {
        self.encrypted_bytes.inc_by(bytes as u64);
    }

    /// Counts clear-text bytes decrypted.
    pub fn add_decrypted(&self, bytes: usize) {
        self.decrypted_bytes.inc_by(bytes as u64);
    }

    /// Everything, in the Prometheus text exposition format (version 0.0.4).
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec only fails for invalid metric families, which are not built here.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_metric_in_text_format() {
        let metrics = Metrics::new();
        metrics.observe_request("/oracleinvocation/", 200, Duration::from_millis(2));
        metrics.observe_rejection("decryption_failed");
        metrics.add_encrypted(5);
        metrics.add_decrypted(3);
        let text = metrics.render();
        for line in [
            r#"gcm_oracle_http_requests_total{route="/oracleinvocation/",status="200"} 1"#,
            r#"gcm_oracle_http_request_duration_seconds_count{route="/oracleinvocation/"} 1"#,
            r#"gcm_oracle_rejected_requests_total{code="decryption_failed"} 1"#,
            "gcm_oracle_encrypted_bytes_total 5",
            "gcm_oracle_decrypted_bytes_total 3",
            "# TYPE gcm_oracle_http_request_duration_seconds histogram",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
