#!/usr/bin/env bash
# Runs the whole product locally: PostgreSQL and NATS JetStream (project-local, data in
# .data/, fixed non-default loopback ports), the fraud engine, the notification worker
# with a mail catcher (every email GuestGuard sends lands there, readable in a browser),
# and the web app in watch mode. Ctrl-C stops all of it. A second run reuses the data.
#
# NATS runs with the project's configuration (deploy/nats/nats-server.conf): three users
# with passwords. The local ones are the development passwords, which the web server and
# the fraud engine use by default; tools connect as guestguard-ops (printed below).
#
# Point at external services instead with DATABASE_URL, NATS_URL (then also NATS_USER /
# NATS_PASSWORD) and FRAUD_GRPC_URL.
# Point at a real mail server with SMTP_HOST (and SMTP_PORT, SMTP_TLS, SMTP_USERNAME,
# SMTP_PASSWORD, MAIL_FROM): then no catcher starts.
# Ports: GG_PG_PORT (54329), GG_NATS_PORT (42229), GG_FRAUD_PORT (50059), GG_WEB_PORT (3000),
# GG_SMTP_PORT (2525), GG_MAIL_PORT (8025, the catcher's page).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$GG_ROOT/scripts/stack.sh"

"$GG_ROOT/scripts/bootstrap.sh" --dev
gg_select_route
cd "$GG_ROOT"

pg_port="${GG_PG_PORT:-54329}"
nats_port="${GG_NATS_PORT:-42229}"
fraud_port="${GG_FRAUD_PORT:-50059}"
web_port="${GG_WEB_PORT:-3000}"
smtp_port="${GG_SMTP_PORT:-2525}"
mail_port="${GG_MAIL_PORT:-8025}"

# `cargo leptos watch` builds the server with RUSTFLAGS="--cfg erase_components" (its
# debug default) and LEPTOS_WATCH=true (which Leptos reads at compile time); the engine
# and the worker are built the same way, so the web app reuses everything they compiled
# (with another LEPTOS_WATCH each start rebuilt the app crate twice, 13 s more).
leptos_dev_env=(RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--cfg erase_components" LEPTOS_WATCH=true)

trap stack_stop EXIT
trap 'exit 130' INT TERM

if [ -z "${DATABASE_URL:-}" ]; then
    stack_start_postgres "$GG_ROOT/.data/pg" "$pg_port"
    export DATABASE_URL="postgres://guestguard@127.0.0.1:$pg_port/guestguard"
fi
if [ -z "${NATS_URL:-}" ]; then
    stack_start_nats "$GG_ROOT/.data/nats" "$nats_port"
    export NATS_URL="nats://127.0.0.1:$nats_port"
    if [ -n "${GG_NATS_OPS_PASSWORD:-}" ]; then
        log "NATS tools: --server $NATS_URL --user guestguard-ops --password (\$GG_NATS_OPS_PASSWORD)"
    else
        log "NATS tools: --server $NATS_URL --user guestguard-ops --password $GG_NATS_DEV_OPS_PASSWORD"
    fi
fi
if [ -z "${FRAUD_GRPC_URL:-}" ]; then
    env "${leptos_dev_env[@]}" cargo build -p fraud
    FRAUD_GRPC_ADDR="127.0.0.1:$fraud_port" stack_spawn "fraud engine on 127.0.0.1:$fraud_port" \
        "$CARGO_TARGET_DIR/debug/fraud"
    wait_for_port "$fraud_port" "the fraud engine"
    export FRAUD_GRPC_URL="http://127.0.0.1:$fraud_port"
fi

export LEPTOS_SITE_ADDR="127.0.0.1:$web_port"
export LEPTOS_RELOAD_PORT="$((web_port + 1))"
export GUESTGUARD_PUBLIC_URL="${GUESTGUARD_PUBLIC_URL:-http://127.0.0.1:$web_port}"

if [ -z "${SMTP_HOST:-}" ]; then
    stack_start_mail "$GG_ROOT/.data/mail" "$smtp_port" "$mail_port"
    export SMTP_HOST=127.0.0.1 SMTP_PORT="$smtp_port"
fi
env "${leptos_dev_env[@]}" cargo build -p server --bin notify
stack_spawn "notification worker" "$CARGO_TARGET_DIR/debug/notify"
log "emails: http://127.0.0.1:$mail_port/ (the mail catcher)"
log "building the web app; migrations are applied when it starts"
log "GuestGuard: http://127.0.0.1:$web_port   (health: http://127.0.0.1:$web_port/healthz; Ctrl-C stops everything)"
cargo leptos watch "${GG_LEPTOS_ARGS[@]}"
