# syntax=docker/dockerfile:1
# Floe's catalog server in a small image.
#
#   docker build -t floe-catalog .
#   docker run -p 8181:8181 floe-catalog          # SQLite and a file warehouse in /var/lib/floe
#
# Settings are the FLOE_* environment variables (`catalog-server --help`), or a TOML file named
# by FLOE_CONFIG (e.g. with [[warehouses]]); docker-compose.yml shows PostgreSQL and MinIO.

ARG RUST_VERSION=1.95

# ---- build: the release binary ------------------------------------------------------------
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
# The registry and target caches survive between builds (BuildKit); the binary is copied out
# of the cache mount, with debug info stripped (the release profile keeps line tables).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p catalog-server \
 && strip --strip-debug target/release/catalog-server \
 && cp target/release/catalog-server /usr/local/bin/catalog-server

# ---- runtime: Debian slim, CA certificates for https S3 endpoints, a non-root user -----------
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 floe \
 && useradd --system --uid 10001 --gid floe --home-dir /var/lib/floe --shell /usr/sbin/nologin floe \
 && mkdir -p /var/lib/floe \
 && chown floe:floe /var/lib/floe
COPY --from=build /usr/local/bin/catalog-server /usr/local/bin/catalog-server

USER floe:floe
WORKDIR /var/lib/floe
# Listening on every interface needs authentication: the root principal's credentials come
# from FLOE_ROOT_CLIENT_ID / FLOE_ROOT_CLIENT_SECRET, or are generated and printed to the log
# once, at the first start.
ENV FLOE_LISTEN=0.0.0.0:8181 \
    FLOE_AUTH=oauth2 \
    FLOE_DATA_DIR=/var/lib/floe
VOLUME ["/var/lib/floe"]
EXPOSE 8181
# GET /health over bash's /dev/tcp: no curl in the image.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8181 && printf 'GET /health HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/local/bin/catalog-server"]
