#!/usr/bin/env bash
# The REST API drill: schemathesis (scripts/tools/api_fuzz.py, in the project's Python
# virtualenv) against a release server on services of its own — PostgreSQL, NATS
# JetStream, the fraud engine and the web server on free loopback ports, no notification
# worker (nothing the fuzzer registers is ever delivered) — all stopped on exit.
# It fails on any 5xx, any answer the OpenAPI document does not describe, and any
# request the document allows that the server refuses (or forbids that it takes).
#
#   scripts/api-fuzz.sh                 builds the release binaries first (as test.sh)
#   GG_API_FUZZ_BUILT=1 scripts/api-fuzz.sh    uses them as they are (test.sh, drills.sh)
#   GG_API_FUZZ_EXAMPLES=50             cases per operation and phase (default 50)
#   GG_API_FUZZ_SEED=1                  the generator's seed (the same cases every run)
#   GG_API_FUZZ_BIN_DIR=DIR             server and fraud binaries from DIR (default: the
#                                       release build; a debug build while iterating)
#
# Reports (JUnit, NDJSON events) go to target/api-fuzz/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$GG_ROOT/scripts/stack.sh"
cd "$GG_ROOT"

if [ "${GG_API_FUZZ_BUILT:-0}" != 1 ]; then
    "$GG_ROOT/scripts/bootstrap.sh"
    gg_select_route
    log "building the release server and engine"
    cargo leptos build --release --precompress "${GG_LEPTOS_ARGS[@]}"
    cargo build --locked --release -p fraud
fi
[ -x "$GG_PYTHON" ] && "$GG_PYTHON" -c 'import schemathesis' 2>/dev/null \
    || die "schemathesis is missing from the project's Python; run scripts/bootstrap.sh"
bin_dir="${GG_API_FUZZ_BIN_DIR:-$CARGO_TARGET_DIR/release}"
for bin in server fraud; do
    [ -x "$bin_dir/$bin" ] || die "$bin_dir/$bin is missing: build it first"
done

report_dir="$GG_ROOT/target/api-fuzz"
rm -rf "$report_dir"
mkdir -p "$report_dir"

stack_start_services api-fuzz
stack_spawn_fraud "$bin_dir/fraud" "$run_dir/fraud.log" "$nats_port" "$fraud_port"
# Webhook URLs the fuzzer registers are never resolved (no DNS lookups leave the
# machine); the fuzzer names each case's client in X-Forwarded-For, from 127.0.0.1.
GUESTGUARD_WEBHOOKS_ALLOW_PRIVATE=true GUESTGUARD_TRUSTED_PROXIES=127.0.0.1 \
    stack_spawn_web "$bin_dir/server" "$GG_ROOT/target/site" "$run_dir/server.log" \
    "$pg_port" "$nats_port" "$fraud_port"

started=$SECONDS
status=0
"$GG_PYTHON" "$GG_ROOT/scripts/tools/api_fuzz.py" --url "http://127.0.0.1:$web_port" \
    --report-dir "$report_dir" || status=$?
log "the API drill took $((SECONDS - started)) s (reports in $report_dir)"
cp "$run_dir/server.log" "$report_dir/server.log" 2>/dev/null || true
if [ "$status" != 0 ]; then
    log "server log (errors):"
    grep -E '"level":"(ERROR|WARN)"' "$run_dir/server.log" | tail -n 20 >&2 || true
    die "the API drill found failures (exit $status)"
fi
log "the API drill passed"
