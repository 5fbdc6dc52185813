# syntax=docker/dockerfile:1
#
# gcm-oracle container image.
#   docker build -t gcm-oracle .                 # the runtime image (target prod, the last stage)
#   docker build --target test .                 # runs the test suite
#   docker run -p 8443:8443 gcm-oracle           # development certificates, made at start
#   docker run -p 8443:8443 -v "$PWD/tls:/etc/gcm-oracle/tls:ro" \
#     -e GCM_ORACLE_CERT=/etc/gcm-oracle/tls/tls.crt -e GCM_ORACLE_KEY=/etc/gcm-oracle/tls/tls.key \
#     -e GCM_ORACLE_PROBE_CACERT=/etc/gcm-oracle/tls/ca.crt -e GCM_ORACLE_PROBE_SERVERNAME=oracle.example.com \
#     gcm-oracle

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# ---- build: compile once; the cache mounts keep the registry and target/ between builds, so
# a change to the code recompiles only this crate, not its dependencies.
FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# vendor/h2 is the patched h2 that Cargo.toml's [patch.crates-io] points at.
COPY vendor ./vendor
COPY src ./src
# The playground page, script and stylesheet, compiled into the binary (include_str!).
COPY assets ./assets
COPY tests ./tests
COPY examples ./examples
COPY benches ./benches
COPY certs/README.md ./certs/README.md
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && install -D -m 0755 target/release/gcm-oracle /out/gcm-oracle

# ---- test: `docker build --target test .` runs the whole suite in the build environment.
FROM build AS test
# tests/library/fuzz_corpus.rs replays the fuzz corpus through the fuzz harness.
COPY fuzz/src ./fuzz/src
COPY fuzz/corpus ./fuzz/corpus
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo test --locked

# ---- prod: a slim runtime with the binary only: no compiler, no shell tools needed, non-root.
FROM debian:${DEBIAN_RELEASE}-slim AS prod
# ca-certificates: system roots for `gcm-oracle probe` when no --cacert is given. Not pinned
# (DL3008): it must follow Debian's security updates for the release, which a pin would freeze.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/gcm-oracle --create-home gcm-oracle
COPY --from=build /out/gcm-oracle /usr/local/bin/gcm-oracle
USER 10001:10001
WORKDIR /var/lib/gcm-oracle
# Listen on every interface inside the container. Without --cert/--key (or GCM_ORACLE_CERT and
# GCM_ORACLE_KEY, e.g. from a mounted volume) development certificates are made in the
# writable certs directory; the probe trusts their CA unless told otherwise.
# The health check reads its settings from the environment too: with a real certificate set
# GCM_ORACLE_PROBE_CACERT to its CA and GCM_ORACLE_PROBE_SERVERNAME to a name it covers; with
# another port, GCM_ORACLE_PROBE_URL.
# GLIBC_TUNABLES: bookworm's glibc copies with REP MOVSB, slow on AMD Zen 3 CPUs for the
# misaligned copies rustls makes; vector copies instead (as in .cargo/config.toml, which says
# why, and docs/BENCHMARKS.md).
ENV GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=1073741824 \
    GCM_ORACLE_BIND=0.0.0.0:8443 \
    GCM_ORACLE_CERT_DIR=/var/lib/gcm-oracle/certs \
    GCM_ORACLE_LOG_FORMAT=json \
    GCM_ORACLE_PROBE_URL=https://localhost:8443/healthz \
    GCM_ORACLE_PROBE_CACERT=/var/lib/gcm-oracle/certs/dev-ca.pem
EXPOSE 8443
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/gcm-oracle", "probe"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/gcm-oracle"]
CMD ["serve"]
