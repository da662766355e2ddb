#!/usr/bin/env bash
# Runs every check GuestGuard has: formatting, clippy with warnings denied, unit and
# integration tests against real PostgreSQL / NATS JetStream / gRPC (the tests start
# their own on free ports), the release build with the wasm bundle, the Playwright
# tests in Debian's Chromium against that build on its own services, and the REST API
# drill (scripts/api-fuzz.sh: schemathesis against the OpenAPI document).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$GG_ROOT/scripts/stack.sh"

"$GG_ROOT/scripts/bootstrap.sh"
gg_select_route
cd "$GG_ROOT"

step() { log "== $* =="; }

# bundle_report DIR: raw, gzip and brotli bytes of every .wasm/.js/.css (the guest's
# first visit transfers the brotli column), failing when the bundle is missing.
bundle_report() {
    local dir="$1" file total_raw=0 total_br=0
    compgen -G "$dir/*.wasm" >/dev/null || die "the wasm bundle is missing in $dir"
    for file in "$dir"/*.wasm "$dir"/*.js "$dir"/*.css; do
        [ -f "$file" ] || continue
        [ -f "$file.br" ] && [ -f "$file.gz" ] || die "$file has no precompressed .br/.gz"
        log "$(printf '%-44s %9s raw %9s gzip %9s brotli' "$(basename "$file")" \
            "$(stat -c %s "$file")" "$(stat -c %s "$file.gz")" "$(stat -c %s "$file.br")")"
        total_raw=$((total_raw + $(stat -c %s "$file")))
        total_br=$((total_br + $(stat -c %s "$file.br")))
    done
    log "bundle: $total_raw bytes raw, $total_br bytes as brotli"
}
# guest_first_visit DIR: the bytes a guest's first visit to their invitation page
# transfers (the guest bundle's wasm and JS and the stylesheet, as brotli), failing when
# they grow past the budget by more than 10 %.
# Measured 2026-12-04: 268 KB wasm + 8 KB JS + the stylesheet (the goal is 150 KB:
# issue 13). The budget is what it is now, so that it cannot grow unnoticed.
GG_GUEST_FIRST_VISIT_BUDGET="${GG_GUEST_FIRST_VISIT_BUDGET:-290000}"
guest_first_visit() {
    local dir="$1" total=0 file limit
    for file in "$dir"/guest.*.wasm "$dir"/guest.*.js "$dir"/*.css; do
        [ -f "$file.br" ] || die "$file has no precompressed .br (did scripts/guest-bundle.sh run?)"
        total=$((total + $(stat -c %s "$file.br")))
    done
    limit=$((GG_GUEST_FIRST_VISIT_BUDGET * 110 / 100))
    log "a guest's first visit: $total bytes as brotli (budget $GG_GUEST_FIRST_VISIT_BUDGET, fails over $limit)"
    [ "$total" -le "$limit" ] || die "the guest's first visit grew to $total bytes, over the budget of $GG_GUEST_FIRST_VISIT_BUDGET + 10 %"
}
wasm_args=(--target wasm32-unknown-unknown)
[ "$GG_ROUTE" = debian ] && wasm_args+=(-Zbuild-std=std,panic_abort)

step "format"
cargo fmt --all --check

step "clippy (server side)"
cargo clippy --locked -p app -p server -p fraud -p proto --features app/ssr --all-targets -- -D warnings
step "clippy (browser side)"
cargo clippy --locked -p frontend -p frontend-guest "${wasm_args[@]}" -- -D warnings

step "unit and integration tests"
cargo test --locked -p app -p server -p fraud -p proto --features app/ssr

step "release build (server + wasm bundle)"
# Hashed file names (hash-files in Cargo.toml) and a .gz / .br beside every site file.
cargo leptos build --release --precompress "${GG_LEPTOS_ARGS[@]}"
"$GG_ROOT/scripts/guest-bundle.sh" "$GG_ROOT/target/site/pkg" "$CARGO_TARGET_DIR/release"
cargo build --locked --release -p fraud
cargo build --locked --release -p server --bin notify
bundle_report "$GG_ROOT/target/site/pkg"
guest_first_visit "$GG_ROOT/target/site/pkg"

step "end-to-end tests in Chromium (screenshots in target/e2e-artifacts/)"
stack_start_services e2e
stack_spawn_fraud "$CARGO_TARGET_DIR/release/fraud" "$run_dir/fraud.log" "$nats_port" "$fraud_port"
stack_spawn_web "$CARGO_TARGET_DIR/release/server" "$GG_ROOT/target/site" "$run_dir/server.log" \
    "$pg_port" "$nats_port" "$fraud_port"
smtp_port="$(free_port)" mail_port="$(free_port)"
stack_start_mail "$run_dir/mail" "$smtp_port" "$mail_port"
stack_spawn_notify "$CARGO_TARGET_DIR/release/notify" "$run_dir/notify.log" "$pg_port" "$nats_port" \
    "$smtp_port" "http://127.0.0.1:$web_port"
# The monitor's test starts (and restarts) a second replica of its own on the same
# services: end2end/replica.mjs reads where they are from GG_E2E_*.
hashed=false
[ -f "$CARGO_TARGET_DIR/release/hash.txt" ] && hashed=true
if ! GUESTGUARD_URL="http://127.0.0.1:$web_port" GUESTGUARD_MAIL_URL="http://127.0.0.1:$mail_port" \
    GG_E2E_SERVER_BIN="$CARGO_TARGET_DIR/release/server" GG_E2E_SITE_ROOT="$GG_ROOT/target/site" \
    GG_E2E_HASH_FILES="$hashed" GG_E2E_DATABASE_URL="postgres://guestguard@127.0.0.1:$pg_port/guestguard" \
    GG_E2E_NATS_URL="nats://127.0.0.1:$nats_port" GG_E2E_FRAUD_URL="http://127.0.0.1:$fraud_port" \
    node --test --test-concurrency=1 end2end/tests/; then
    log "server log (last 40 lines):"
    tail -n 40 "$run_dir/server.log" >&2
    die "end-to-end tests failed"
fi
stack_stop

step "the REST API drill: schemathesis against /api/v1/openapi.json (reports in target/api-fuzz/)"
GG_API_FUZZ_BUILT=1 "$GG_ROOT/scripts/api-fuzz.sh"
log "all checks passed"
