# syntax=docker/dockerfile:1
# The GuestGuard fraud engine: the `fraud` binary (gRPC FraudService on 50059 and the
# JetStream consumer). Configure it with the production settings of deploy/README.md.
#
#   docker build -f deploy/docker/fraud.Dockerfile -t guestguard-fraud .     # repo root
ARG RUST_IMAGE=rust:1.96-bookworm

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release -p fraud \
    && mkdir -p /out \
    && cp target/release/fraud /out/

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 1000 --user-group --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin guestguard
WORKDIR /app
COPY --from=build /out/fraud /app/fraud
ENV GUESTGUARD_ENV=production \
    FRAUD_GRPC_ADDR=0.0.0.0:50059 \
    RUST_LOG=info
USER 1000:1000
EXPOSE 50059
# Healthy while the gRPC port accepts connections (the engine's own gRPC health, which
# also follows NATS, is what the web server's /healthz reports).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/50059"]
CMD ["/app/fraud"]
