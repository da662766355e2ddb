#!/usr/bin/env bash
# Runs every check GuestGuard has: formatting, clippy with warnings denied, unit and
# integration tests against real PostgreSQL / NATS JetStream / gRPC (the tests start
# their own on free ports), the release build with the wasm bundle, and the Playwright
# tests in Debian's Chromium against that build on its own services.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$GG_ROOT/scripts/stack.sh"

"$GG_ROOT/scripts/bootstrap.sh"
gg_select_route
cd "$GG_ROOT"

step() { log "== $* =="; }
wasm_args=(--target wasm32-unknown-unknown)
[ "$GG_ROUTE" = debian ] && wasm_args+=(-Zbuild-std=std,panic_abort)

step "format"
cargo fmt --all --check

step "clippy (server side)"
cargo clippy --locked -p app -p server -p fraud -p proto --features app/ssr --all-targets -- -D warnings
step "clippy (browser side)"
cargo clippy --locked -p frontend "${wasm_args[@]}" -- -D warnings

step "unit and integration tests"
cargo test --locked -p app -p server -p fraud -p proto --features app/ssr

step "release build (server + wasm bundle)"
cargo leptos build --release "${GG_LEPTOS_ARGS[@]}"
scripts/precompress.sh "$GG_ROOT/target/site/pkg"
cargo build --locked --release -p fraud
wasm="$GG_ROOT/target/site/pkg/guestguard.wasm"
[ -f "$wasm" ] || die "the wasm bundle is missing at $wasm"
log "wasm bundle: $(stat -c %s "$wasm") bytes raw, $(gzip -9 -c "$wasm" | wc -c) bytes gzipped"

step "end-to-end tests in Chromium"
stack_start_services e2e
stack_spawn_fraud "$CARGO_TARGET_DIR/release/fraud" "$run_dir/fraud.log" "$nats_port" "$fraud_port"
stack_spawn_web "$CARGO_TARGET_DIR/release/server" "$GG_ROOT/target/site" "$run_dir/server.log" \
    "$pg_port" "$nats_port" "$fraud_port"
if ! GUESTGUARD_URL="http://127.0.0.1:$web_port" node --test --test-concurrency=1 end2end/tests/; then
    log "server log (last 40 lines):"
    tail -n 40 "$run_dir/server.log" >&2
    die "end-to-end tests failed"
fi
log "all checks passed"
