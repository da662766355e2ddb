#!/usr/bin/env bash
# Measures the guest side of GuestGuard (link openings and RSVPs with their fraud
# checks) with the load generator `server/examples/loadgen.rs`, on release binaries and
# services of its own on free ports (PostgreSQL, NATS JetStream, fraud engine, web
# server), in three scenarios, each with a fresh host and event:
#
#   a) fraud engine up;
#   b) fraud engine stopped: answers must be recorded unscored (fail open), fast;
#   c) fraud engine restarted: how long until the answers of (b) are scored, then a
#      run on the recovered stack.
#
# GG_BENCH_GUESTS (200) and GG_BENCH_CONCURRENCY (16) size every run. Everything it
# starts is stopped on exit; services already running on the machine are not touched.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$GG_ROOT/scripts/stack.sh"

guests="${GG_BENCH_GUESTS:-200}"
concurrency="${GG_BENCH_CONCURRENCY:-16}"
catch_up_limit=60

[[ "$guests" =~ ^[1-9][0-9]*$ ]] || die "GG_BENCH_GUESTS must be a positive number"
[[ "$concurrency" =~ ^[1-9][0-9]*$ ]] || die "GG_BENCH_CONCURRENCY must be a positive number"
pg_bin >/dev/null

gg_select_route
[ -n "${NATS_SERVER_BIN:-}" ] || die "no nats-server >= 2.10; run scripts/bootstrap.sh"
cd "$GG_ROOT"

log "== release build (server, fraud engine, load generator) =="
cargo build --locked --release -p server -p fraud
cargo build --locked --release -p server --example loadgen
bin="$CARGO_TARGET_DIR/release"

stack_start_services bench

fraud_pid=
start_fraud() {
    stack_spawn_fraud "$bin/fraud" "$run_dir/fraud.log" "$nats_port" "$fraud_port"
    fraud_pid="${GG_PIDS[-1]}"
}

# Stops only the fraud engine this script started, and forgets it.
stop_fraud() {
    local pid kept=()
    kill -TERM "$fraud_pid" 2>/dev/null || true
    wait "$fraud_pid" 2>/dev/null || true
    for pid in "${GG_PIDS[@]}"; do
        [ "$pid" = "$fraud_pid" ] || kept+=("$pid")
    done
    GG_PIDS=("${kept[@]}")
    fraud_pid=
}

start_fraud
mkdir -p "$run_dir/site/pkg" # the API needs no wasm bundle
stack_spawn_web "$bin/server" "$run_dir/site" "$run_dir/server.log" \
    "$pg_port" "$nats_port" "$fraud_port"
url="http://127.0.0.1:$web_port"

sql() {
    pg_run psql -h 127.0.0.1 -p "$pg_port" -U guestguard -d guestguard -tAc "$1"
}

# loadgen LABEL: one run with a fresh host and event; its output goes to the terminal
# and to $run_dir/LABEL.out.
loadgen() {
    local label="$1" out="$run_dir/$1.out"
    if ! "$bin/examples/loadgen" --url "$url" --guests "$guests" \
        --concurrency "$concurrency" --label "$label" | tee "$out"; then
        log "server log (last 30 lines):"
        tail -n 30 "$run_dir/server.log" >&2
        die "the load generator failed ($label)"
    fi
}

# The event id of a run, from its RESULT line.
event_of() {
    sed -n 's/^RESULT .*"event_id":"\([0-9a-f-]*\)".*/\1/p' "$run_dir/$1.out"
}

failures=()

log "== scenario a: fraud engine up =="
loadgen a-engine-up
echo

log "== scenario b: fraud engine stopped =="
stop_fraud
loadgen b-engine-stopped
event_b="$(event_of b-engine-stopped)"
[ -n "$event_b" ] || die "no RESULT line in scenario b"
read -r answered unscored <<<"$(sql "SELECT count(*), count(*) FILTER (WHERE risk_score IS NULL)
    FROM rsvps WHERE event_id = '$event_b'" | tr '|' ' ')"
echo "fail-open check: $answered of $guests answers recorded, $unscored of them unscored"
if [ "$answered" != "$guests" ] || [ "$unscored" != "$guests" ]; then
    failures+=("b: expected $guests answers recorded unscored, got $answered recorded / $unscored unscored")
fi
echo

log "== scenario c: fraud engine restarted =="
restarted="$(date +%s.%N)"
start_fraud
listening="$(date +%s.%N)"
left="$unscored"
while :; do
    left="$(sql "SELECT count(*) FROM rsvps WHERE event_id = '$event_b' AND risk_score IS NULL")"
    now="$(date +%s.%N)"
    [ "$left" = 0 ] && break
    if awk -v a="$restarted" -v b="$now" -v limit="$catch_up_limit" 'BEGIN { exit !(b - a > limit) }'; then
        break
    fi
    sleep 0.2
done
listen_s="$(awk -v a="$restarted" -v b="$listening" 'BEGIN { printf "%.2f", b - a }')"
catch_up_s="$(awk -v a="$restarted" -v b="$now" 'BEGIN { printf "%.2f", b - a }')"
if [ "$left" = 0 ]; then
    echo "catch-up: the $unscored answers left unscored in (b) were scored ${catch_up_s} s after the restart (engine listening after ${listen_s} s)"
else
    echo "catch-up: $left of $unscored answers of (b) still unscored ${catch_up_s} s after the restart"
    failures+=("c: $left answers of (b) were still unscored after ${catch_up_limit} s")
fi
bands="$(sql "SELECT coalesce(string_agg(risk || ' ' || n, ', ' ORDER BY risk), 'none')
    FROM (SELECT risk, count(*) AS n FROM rsvps WHERE event_id = '$event_b' GROUP BY risk) AS b")"
echo "catch-up bands of (b): $bands"
loadgen c-engine-restarted
echo

if command -v jq >/dev/null; then
    log "== summary ($guests guests, concurrency $concurrency, $(nproc) cores) =="
    printf '%-20s %10s %22s %10s %22s %s\n' scenario "open req/s" "open p50/p95/p99 ms" \
        "rsvp req/s" "rsvp p50/p95/p99 ms" "rsvp scored/unscored/blocked/errors"
    for label in a-engine-up b-engine-stopped c-engine-restarted; do
        sed -n 's/^RESULT //p' "$run_dir/$label.out" | jq -r --arg name "$label" '
            def lat: "\(.p50)/\(.p95)/\(.p99)";
            [$name, .open.throughput_rps, (.open.latency_ms | lat),
             .rsvp.report.throughput_rps, (.rsvp.report.latency_ms | lat),
             "\(.rsvp.verdicts.scored)/\(.rsvp.verdicts.unscored)/\(.rsvp.verdicts.blocked)/\(.rsvp.report.errors)"]
            | @tsv' | awk -F'\t' '{ printf "%-20s %10s %22s %10s %22s %s\n", $1, $2, $3, $4, $5, $6 }'
    done
    echo "catch-up after restart: ${catch_up_s} s ($unscored answers)"
fi

log "== token verification against the raw HMAC-SHA256 of the same bytes (criterion) =="
cargo bench --locked -p app --features ssr --bench token_verify -- --warm-up-time 1 --measurement-time 5 \
    | tee "$run_dir/token.out" | grep -E '^token/|time:'

if [ "${#failures[@]}" -gt 0 ]; then
    printf '%s\n' "${failures[@]}" >&2
    die "benchmark checks failed"
fi
log "benchmark done"
