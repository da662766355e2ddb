# syntax=docker/dockerfile:1
# The GuestGuard web server: the `server` binary with its site (wasm bundle, JS, CSS,
# public files, each with its .gz and .br beside it from `--precompress`), built the way
# scripts/test.sh builds it, with hashed file names for long caching; and the
# notification worker (`/app/notify`, the same image with another command). Configure
# them with the production settings of deploy/README.md; they refuse to start without.
#
#   docker build -f deploy/docker/server.Dockerfile -t guestguard-server .   # repo root
ARG RUST_IMAGE=rust:1.96-bookworm

FROM node:22-bookworm-slim AS node

FROM ${RUST_IMAGE} AS build
# Node for the npm build tools (Tailwind v4 CLI, wasm-opt 132 from binaryen), which
# cargo-leptos finds in node_modules/.bin.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && apt-get update \
    && apt-get install -y --no-install-recommends brotli \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add wasm32-unknown-unknown
# The versions scripts/env.sh pins: cargo-leptos, and wasm-bindgen exactly as in Cargo.lock.
ARG CARGO_LEPTOS_VERSION=0.3.11
ARG WASM_BINDGEN_VERSION=0.2.130
RUN cargo install cargo-leptos --version "${CARGO_LEPTOS_VERSION}" --locked --features no_downloads \
    && cargo install wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}"
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm install --no-save --no-audit --no-fund --loglevel=error
COPY . .
# hash-files (Cargo.toml): hashed file names in site/pkg, and hash.txt written next to
# the server binary, where the server reads it at start; --precompress writes the .gz
# and .br of every site file. scripts/guest-bundle.sh adds the guest's own bundle and
# guest-hash.txt beside hash.txt.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo leptos build --release --precompress \
    && CARGO_TARGET_DIR=/src/target scripts/guest-bundle.sh target/site/pkg target/release \
    && cargo build --locked --release -p server --bin notify \
    && mkdir -p /out \
    && cp target/release/server target/release/notify target/release/hash.txt \
        target/release/guest-hash.txt /out/ \
    && cp -r target/site /out/site

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 1000 --user-group --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin guestguard
WORKDIR /app
COPY --from=build /out/server /out/notify /out/hash.txt /out/guest-hash.txt /app/
COPY --from=build /out/site /app/site
ENV GUESTGUARD_ENV=production \
    LEPTOS_ENV=PROD \
    LEPTOS_OUTPUT_NAME=guestguard \
    LEPTOS_SITE_ROOT=site \
    LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_HASH_FILES=true \
    LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    RUST_LOG=info
USER 1000:1000
EXPOSE 3000
# Healthy while /healthz answers 200: PostgreSQL, NATS and the fraud engine all reachable.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "--max-time", "2", "http://127.0.0.1:3000/healthz"]
CMD ["/app/server"]
