#!/usr/bin/env bash
# Measures GuestGuard against its ceilings, in one run on one machine, and writes the
# figures to target/bench/results.json and target/bench/results.md (the README shows the
# latest table). Release binaries, on services of its own on free loopback ports
# (PostgreSQL, NATS JetStream, fraud engine, web server); services already running on
# the machine are never touched. Everything it starts is stopped on exit.
#
#   1. RSVPs and link openings, closed loop (GG_BENCH_CONCURRENCY guests at a time, as
#      fast as the server answers), GG_BENCH_GUESTS guests of one event, with the
#      `server/examples/loadgen.rs` load generator;
#   2. pgbench running the same SQL (scripts/bench/*.pgbench) at the same concurrency on
#      the same database and links: the ceiling, and the product's ratio to it;
#   3. the same load over GG_BENCH_EVENTS events answering at once (a mail-out of many
#      events), against one event with as many guests: does it scale or serialize?;
#   4. open loop at half the closed-loop maximum, latency counted from when each
#      request was due (no coordinated omission): p50 / p99, median of 3 runs;
#   5. the fraud engine stopped (answers recorded unscored, fast: fail open), then
#      restarted (how long until those answers are scored);
#   6. token verification against the raw HMAC-SHA256 of the same bytes (criterion);
#   7. `Score` over gRPC alone, open loop at 100, 500 and 1,000 calls/s
#      (`fraud/examples/score_load.rs`), against the same engine and NATS;
#   8. the guest's invitation page rendered on the server (`/i/<token>`, wrk with
#      scripts/bench/pages.lua), against an axum hello world (server/examples/hello.rs);
#   9. GG_BENCH_MONITORS (1000) live monitors (the host's WebSocket) on one event while
#      its guests open and answer at 20 a second: how late each answer reaches each
#      monitor, and how many any monitor missed.
#
# GG_BENCH_GUESTS (2000), GG_BENCH_CONCURRENCY (16), GG_BENCH_EVENTS (20),
# GG_BENCH_PGBENCH_SECONDS (10), GG_BENCH_SCORE_SECONDS (10), GG_BENCH_MONITORS (1000)
# size the runs; GG_BENCH_OUT (target/bench) is where the results go. GG_BENCH_STEPS
# (e.g. "1,2" or "9") runs only those steps, to measure one change again: their figures
# are printed and kept in the run's directory, and the results file and table are left
# as the last full run wrote them (steps 2, 4 and 8 need step 1's guests).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$GG_ROOT/scripts/stack.sh"

guests="${GG_BENCH_GUESTS:-2000}"
concurrency="${GG_BENCH_CONCURRENCY:-16}"
events="${GG_BENCH_EVENTS:-20}"
pg_seconds="${GG_BENCH_PGBENCH_SECONDS:-10}"
score_seconds="${GG_BENCH_SCORE_SECONDS:-10}"
monitors="${GG_BENCH_MONITORS:-1000}"
out_dir="${GG_BENCH_OUT:-$GG_ROOT/target/bench}"
all_steps=1,2,3,4,5,6,7,8,9
steps="${GG_BENCH_STEPS:-$all_steps}"
catch_up_limit=60

for setting in guests concurrency events pg_seconds score_seconds monitors; do
    [[ "${!setting}" =~ ^[1-9][0-9]*$ ]] || die "the benchmark's $setting must be a positive number"
done
[ "$events" -le "$guests" ] || die "GG_BENCH_EVENTS must be at most GG_BENCH_GUESTS"
[[ "$steps" =~ ^[1-9](,[1-9])*$ ]] || die "GG_BENCH_STEPS is a comma-separated list of steps 1 to 9"
# step N: whether this run measures step N.
step() { [[ ",$steps," == *",$1,"* ]]; }
for needs_one in 2 4 8; do
    if step "$needs_one" && ! step 1; then die "step $needs_one needs step 1: GG_BENCH_STEPS=1,$needs_one"; fi
done
"$GG_ROOT/scripts/bootstrap.sh"
pg_bin >/dev/null
command -v wrk >/dev/null || die "wrk is missing; run scripts/bootstrap.sh"
[ -x "$(pg_bin)/pgbench" ] || [ -x /usr/bin/pgbench ] || die "pgbench is missing; run scripts/bootstrap.sh"

gg_select_route
[ -n "${NATS_SERVER_BIN:-}" ] || die "no nats-server >= 2.10; run scripts/bootstrap.sh"
cd "$GG_ROOT"

log "== release build (server, fraud engine, load generator) =="
cargo build --locked --release -p server -p fraud
cargo build --locked --release -p server --example loadgen
cargo build --locked --release -p fraud --example score_load
cargo build --locked --release -p server --example hello
bin="$CARGO_TARGET_DIR/release"

stack_start_services bench
mkdir -p "$out_dir"
results="$run_dir/results"
mkdir -p "$results"

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
# Loopback is the trusted proxy, so that wrk's guests (step 8) can each arrive from an
# address of their own in X-Forwarded-For; the load generator sends from 127.0.a.b,
# which stays untrusted, so its guests are their source addresses as before.
GUESTGUARD_TRUSTED_PROXIES=127.0.0.1 stack_spawn_web "$bin/server" "$run_dir/site" \
    "$run_dir/server.log" "$pg_port" "$nats_port" "$fraud_port"
url="http://127.0.0.1:$web_port"

sql() {
    pg_run psql -h 127.0.0.1 -p "$pg_port" -U guestguard -d guestguard -v ON_ERROR_STOP=1 -tAc "$1"
}

# loadgen LABEL ARGS...: one run with a fresh host and events; its output goes to the
# terminal and its RESULT line to $results/LABEL.json.
loadgen() {
    local label="$1" out="$run_dir/$1.out"
    shift
    if ! "$bin/examples/loadgen" --url "$url" --label "$label" "$@" | tee "$out"; then
        log "server log (last 30 lines):"
        tail -n 30 "$run_dir/server.log" >&2
        die "the load generator failed ($label)"
    fi
    sed -n 's/^RESULT //p' "$out" >"$results/$label.json"
    [ -s "$results/$label.json" ] || die "no RESULT line in $label"
}

# field LABEL PYTHON-EXPRESSION: a figure of a run's RESULT (`r` is its JSON).
field() {
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$results/$1.json" "$2"
}

# pgbench_links LABEL: the links of run LABEL (their guests, events and first opening)
# in table bench_links, where the pgbench scripts pick a random one per transaction.
pgbench_links() {
    local ids
    ids="$(field "$1" "','.join(\"'%s'\" % e for e in r['event_ids'])")"
    sql "CREATE TABLE IF NOT EXISTS bench_links (n INTEGER PRIMARY KEY, invitation_id UUID NOT NULL,
             opening_id UUID, ip TEXT NOT NULL);
         TRUNCATE bench_links;
         INSERT INTO bench_links
         SELECT row_number() OVER (ORDER BY i.id), i.id, o.id, coalesce(host(o.ip), '127.8.0.1')
           FROM invitations i
           LEFT JOIN LATERAL (SELECT a.id, a.ip FROM access_attempts a
                               WHERE a.invitation_id = i.id AND a.kind = 'open'
                               ORDER BY a.accessed_at LIMIT 1) o ON true
          WHERE i.event_id IN ($ids);
         ANALYZE;" >/dev/null
    sql "SELECT count(*) FROM bench_links"
}

# pgbench_run LABEL SCRIPT LINKS: SCRIPT at the benchmark's concurrency for
# GG_BENCH_PGBENCH_SECONDS; writes {"tps", "latency_ms"} to $results/LABEL.json.
pgbench_run() {
    local label="$1" script="$2" links="$3" out="$run_dir/$1.out"
    pg_run pgbench -h 127.0.0.1 -p "$pg_port" -U guestguard -d guestguard -n -M prepared \
        -c "$concurrency" -j "$(nproc)" -T "$pg_seconds" -D "links=$links" \
        -f "$GG_ROOT/scripts/bench/$script" >"$out" 2>&1 \
        || { cat "$out" >&2; die "pgbench failed ($label)"; }
    python3 - "$out" >"$results/$label.json" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
tps = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", text, re.M)
lat = re.search(r"^latency average = ([0-9.]+) ms", text, re.M)
failed = re.search(r"^number of failed transactions: ([0-9]+)", text, re.M)
print(json.dumps({"tps": float(tps.group(1)), "latency_ms": float(lat.group(1)),
                  "failed": int(failed.group(1)) if failed else 0}))
PY
    printf '%s: %s\n' "$label" "$(cat "$results/$label.json")"
}

failures=()

if step 1; then
    log "== 1. closed loop, one event: $guests guests, concurrency $concurrency =="
    loadgen closed-1-event --guests "$guests" --concurrency "$concurrency" \
        --links-file "$run_dir/links.txt"
    event_a="$(field closed-1-event "r['event_id']")"
    read -r answered scored <<<"$(sql "SELECT count(*), count(risk_score) FROM rsvps
        WHERE event_id = '$event_a'" | tr '|' ' ')"
    echo "scoring check: $scored of $answered answers were scored before they were answered"
    printf '{"answers": %s, "scored": %s}\n' "$answered" "$scored" >"$results/scored-1-event.json"
    echo
fi

if step 2; then
    log "== 2. pgbench on the same SQL, same concurrency, same database and links =="
    links="$(pgbench_links closed-1-event)"
    pgbench_run pgbench-rsvp-1-event rsvp.pgbench "$links"
    pgbench_run pgbench-open-1-event open.pgbench "$links"
    echo
fi

if step 3; then
    log "== 3. closed loop, $guests guests over $events events answering at once =="
    loadgen "closed-$events-events" --guests "$guests" --events "$events" --concurrency "$concurrency"
    links="$(pgbench_links "closed-$events-events")"
    pgbench_run "pgbench-rsvp-$events-events" rsvp.pgbench "$links"
    echo
fi

if step 4; then
    log "== 4. open loop at half the closed-loop maximum, 3 runs =="
    rsvp_rate="$(field closed-1-event "round(r['rsvp']['report']['throughput_rps'] / 2, 1)")"
    # An opening is two requests (the link, then the page's signals): guests per second.
    open_rate="$(field closed-1-event "round(r['open']['throughput_rps'] / 4, 1)")"
    for run in 1 2 3; do
        loadgen "open-loop-$run" --guests "$guests" --rate "$rsvp_rate" --open-rate "$open_rate"
    done
    echo
fi

if step 5; then
    log "== 5a. fraud engine stopped =="
    stop_fraud
    loadgen engine-stopped --guests "$guests" --concurrency "$concurrency"
    event_b="$(field engine-stopped "r['event_id']")"
    read -r answered unscored <<<"$(sql "SELECT count(*), count(*) FILTER (WHERE risk_score IS NULL)
        FROM rsvps WHERE event_id = '$event_b'" | tr '|' ' ')"
    echo "fail-open check: $answered of $guests answers recorded, $unscored of them unscored"
    if [ "$answered" != "$guests" ] || [ "$unscored" != "$guests" ]; then
        failures+=("engine stopped: expected $guests answers recorded unscored, got $answered recorded / $unscored unscored")
    fi

    log "== 5b. fraud engine restarted =="
    restarted="$(date +%s.%N)"
    start_fraud
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
    catch_up_s="$(awk -v a="$restarted" -v b="$now" 'BEGIN { printf "%.2f", b - a }')"
    if [ "$left" = 0 ]; then
        echo "catch-up: the $unscored answers left unscored were scored ${catch_up_s} s after the restart"
    else
        echo "catch-up: $left of $unscored answers still unscored ${catch_up_s} s after the restart"
        failures+=("catch-up: $left answers were still unscored after ${catch_up_limit} s")
    fi
    printf '{"answers": %s, "seconds": %s, "left": %s}\n' "$unscored" "$catch_up_s" "$left" \
        >"$results/catch-up.json"
    echo
fi

if step 6; then
    log "== 6. token verification against the raw HMAC-SHA256 of the same bytes (criterion) =="
    cargo bench --locked -p app --features ssr --bench token_verify -- --warm-up-time 1 --measurement-time 5 \
        | tee "$run_dir/token.out" | grep -E '^token/|time:'
    python3 - "$run_dir/token.out" >"$results/token.json" <<'PY'
import json, re, sys
units = {"ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6}
found, name = {}, None
for line in open(sys.argv[1]):
    if line.startswith("token/"):
        name = line.split("time:")[0].strip()
    time = re.search(r"time:\s+\[\S+ \S+ ([0-9.]+) (ns|µs|us|ms)", line)
    if time and name:
        found[name] = float(time.group(1)) * units[time.group(2)]
        name = None
print(json.dumps({"ns": found}))
PY
    echo
fi

if step 7; then
    log "== 7. Score over gRPC alone, open loop =="
    if "$bin/examples/score_load" --url "http://127.0.0.1:$fraud_port" --rates 100,500,1000 \
        --seconds "$score_seconds" | tee "$run_dir/score.out"; then
        sed -n 's/^RESULT //p' "$run_dir/score.out" >"$results/score.json"
    else
        failures+=("the Score load generator failed")
    fi
    echo
fi

# wrk_run LABEL URL [LINKS]: wrk at the benchmark's concurrency for GG_BENCH_PGBENCH_SECONDS;
# writes {"rps", "p50_ms", "p99_ms", "non_2xx"} to $results/LABEL.json.
wrk_run() {
    local label="$1" target="$2" links="${3:-}" out="$run_dir/$1.out"
    GG_BENCH_LINKS="$links" wrk -t "$(nproc)" -c "$concurrency" -d "${pg_seconds}s" --latency \
        -s "$GG_ROOT/scripts/bench/pages.lua" "$target" >"$out" 2>&1 \
        || { cat "$out" >&2; die "wrk failed ($label)"; }
    python3 - "$out" >"$results/$label.json" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
def ms(value, unit):
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)
rps = float(re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M).group(1))
p50 = re.search(r"^\s+50%\s+([0-9.]+)(us|ms|s)$", text, re.M)
p99 = re.search(r"^\s+99%\s+([0-9.]+)(us|ms|s)$", text, re.M)
bad = re.search(r"Non-2xx or 3xx responses: ([0-9]+)", text)
print(json.dumps({"rps": rps, "p50_ms": ms(*p50.groups()), "p99_ms": ms(*p99.groups()),
                  "non_2xx": int(bad.group(1)) if bad else 0}))
PY
    printf '%s: %s\n' "$label" "$(cat "$results/$label.json")"
}

if step 8; then
    log "== 8. the guest page rendered on the server, against an axum hello world =="
    hello_port="$(free_port)"
    stack_spawn "hello world" "$bin/examples/hello" "127.0.0.1:$hello_port" >"$run_dir/hello.log" 2>&1
    wait_for_port "$hello_port" "the hello world"
    wrk_run hello-world "http://127.0.0.1:$hello_port"
    wrk_run guest-page "$url" "$run_dir/links.txt"
    if [ "$(field guest-page "r['non_2xx']")" != 0 ]; then
        failures+=("guest page: $(field guest-page "r['non_2xx']") answers were not 2xx")
    fi
    echo
fi

if step 9; then
    log "== 9. $monitors live monitors on one event, guests answering at 20/s =="
    loadgen "monitor-$monitors" --guests 200 --rate 20 --monitors "$monitors"
    if [ "$(field "monitor-$monitors" "r['monitor']['gaps']")" != 0 ]; then
        failures+=("live monitors: $(field "monitor-$monitors" "r['monitor']['gaps']") answers never reached a monitor")
    fi
    echo
fi

if [ "$steps" != "$all_steps" ]; then
    log "steps $steps measured; their figures: $results (the results file keeps the last full run)"
    if [ "${#failures[@]}" -gt 0 ]; then
        printf '%s\n' "${failures[@]}" >&2
        die "benchmark checks failed"
    fi
    exit 0
fi

# The results file: the machine, the versions, every figure, and the table.
python3 - "$results" "$out_dir" "$concurrency" "$guests" "$events" "$monitors" <<PY
import glob, json, os, platform, statistics, subprocess, sys, datetime
results, out_dir, concurrency, guests, events, monitors = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
runs = {os.path.basename(p)[:-5]: json.load(open(p)) for p in glob.glob(results + "/*.json")}

def version(*command):
    try:
        return subprocess.run(command, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        return "unknown"

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
one, many = runs["closed-1-event"], runs[f"closed-{events}-events"]
pg_rsvp, pg_open = runs["pgbench-rsvp-1-event"], runs["pgbench-open-1-event"]
pg_many = runs[f"pgbench-rsvp-{events}-events"]
open_runs = [runs[f"open-loop-{i}"] for i in (1, 2, 3)]
rsvp_rps = one["rsvp"]["report"]["throughput_rps"]
open_rps = one["open"]["throughput_rps"] / 2  # two requests per opening
many_rps = many["rsvp"]["report"]["throughput_rps"]
median = lambda values: round(statistics.median(values), 2)
figures = {
    "rsvp_closed_rps": rsvp_rps,
    "rsvp_closed_latency_ms": one["rsvp"]["report"]["latency_ms"],
    "rsvp_closed_scored": "%d of %d" % (runs["scored-1-event"]["scored"], runs["scored-1-event"]["answers"]),
    "rsvp_pgbench_tps": pg_rsvp["tps"],
    "rsvp_ratio_to_pgbench": round(rsvp_rps / pg_rsvp["tps"], 2),
    "open_closed_per_s": round(open_rps, 1),
    "open_pgbench_tps": pg_open["tps"],
    "open_ratio_to_pgbench": round(open_rps / pg_open["tps"], 2),
    "rsvp_many_events_rps": many_rps,
    "rsvp_many_events_pgbench_tps": pg_many["tps"],
    "rsvp_many_events_ratio_to_pgbench": round(many_rps / pg_many["tps"], 2),
    "rsvp_many_events_vs_one_event": round(many_rps / rsvp_rps, 2),
    "open_loop_rsvp_rate": open_runs[0]["rate"],
    "open_loop_rsvp_p50_ms": median([r["rsvp"]["report"]["latency_ms"]["p50"] for r in open_runs]),
    "open_loop_rsvp_p99_ms": median([r["rsvp"]["report"]["latency_ms"]["p99"] for r in open_runs]),
    "open_loop_open_rate": open_runs[0]["open_rate"],
    "open_loop_open_p99_ms": median([r["open"]["endpoints"]["GET /api/v1/access/{token}"]["p99"] for r in open_runs]),
    "engine_stopped_rsvp_p99_ms": runs["engine-stopped"]["rsvp"]["report"]["latency_ms"]["p99"],
    "catch_up_s": runs["catch-up"]["seconds"],
}
if "guest-page" in runs and "hello-world" in runs:
    figures["guest_page_rps"] = runs["guest-page"]["rps"]
    figures["guest_page_p99_ms"] = runs["guest-page"]["p99_ms"]
    figures["hello_world_rps"] = runs["hello-world"]["rps"]
    figures["guest_page_ratio_to_hello_world"] = round(runs["guest-page"]["rps"] / runs["hello-world"]["rps"], 3)
monitor = (runs.get("monitor-%d" % monitors) or {}).get("monitor")
if monitor:
    figures["monitor_sockets"] = monitor["sockets"]
    figures["monitor_p50_ms"] = monitor["latency_ms"]["p50"]
    figures["monitor_p99_ms"] = monitor["latency_ms"]["p99"]
    figures["monitor_gaps"] = monitor["gaps"]
for entry in runs.get("score") or []:
    figures["score_p50_ms_at_%d" % entry["rate"]] = entry["p50_ms"]
    figures["score_p99_ms_at_%d" % entry["rate"]] = entry["p99_ms"]
token = runs["token"]["ns"]
verify, raw = token.get("token/parse and verify a token"), token.get("token/raw HMAC-SHA256 of the same bytes")
if verify and raw:
    figures["token_verify_ns"] = round(verify, 1)
    figures["token_raw_hmac_ns"] = round(raw, 1)
    figures["token_ratio_to_raw_hmac"] = round(verify / raw, 2)
document = {
    "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "machine": {"cores": os.cpu_count(), "memory_gib": memory_gib, "cpu": cpu,
                "kernel": platform.release()},
    "versions": {"rustc": version(os.environ.get("RUSTC", "rustc"), "--version"),
                 "postgresql": version("$(pg_bin)/postgres", "--version"),
                 "nats": version("$NATS_SERVER_BIN", "--version"),
                 "commit": version("git", "-C", "$GG_ROOT", "rev-parse", "--short", "HEAD")},
    "settings": {"guests": guests, "concurrency": concurrency, "events": events},
    "figures": figures,
    "runs": runs,
}
json.dump(document, open(os.path.join(out_dir, "results.json"), "w"), indent=2)
f = figures
rows = [
    ("RSVP, closed loop, c=%d" % concurrency, "%.0f req/s" % rsvp_rps,
     "pgbench %.0f tps" % pg_rsvp["tps"], "%.2f of pgbench (goal >= 0.6)" % f["rsvp_ratio_to_pgbench"]),
    ("Link opening (open + signals)", "%.0f /s" % open_rps,
     "pgbench %.0f tps" % pg_open["tps"], "%.2f of pgbench (goal >= 0.6)" % f["open_ratio_to_pgbench"]),
    ("RSVP, %d events at once" % events, "%.0f req/s" % many_rps,
     "pgbench %.0f tps" % pg_many["tps"],
     "%.2f of pgbench; %.2fx one event" % (f["rsvp_many_events_ratio_to_pgbench"], f["rsvp_many_events_vs_one_event"])),
    ("RSVP, open loop at %.0f/s" % f["open_loop_rsvp_rate"], "p50 %.1f / p99 %.1f ms" % (f["open_loop_rsvp_p50_ms"], f["open_loop_rsvp_p99_ms"]),
     "median of 3", "goal p99 <= 25 ms"),
    ("Opening, open loop at %.0f/s" % f["open_loop_open_rate"], "p99 %.1f ms" % f["open_loop_open_p99_ms"], "median of 3", ""),
    ("RSVP, engine stopped (fail open)", "p99 %.1f ms" % f["engine_stopped_rsvp_p99_ms"], "", "scored %.1f s after restart" % f["catch_up_s"]),
]
if "token_ratio_to_raw_hmac" in f:
    rows.append(("Token verification", "%.0f ns" % f["token_verify_ns"], "raw HMAC %.0f ns" % f["token_raw_hmac_ns"],
                 "%.2fx (goal <= 1.5x)" % f["token_ratio_to_raw_hmac"]))
if "guest_page_rps" in f:
    rows.append(("Guest page, server-rendered (wrk, c=%d)" % concurrency,
                 "%.0f req/s, p99 %.1f ms" % (f["guest_page_rps"], f["guest_page_p99_ms"]),
                 "axum hello world %.0f req/s" % f["hello_world_rps"],
                 "%.3f of hello world" % f["guest_page_ratio_to_hello_world"]))
if "monitor_p99_ms" in f:
    rows.append(("Live monitor, %d sockets, 20 answers/s" % f["monitor_sockets"],
                 "answer -> every socket p50 %.1f / p99 %.1f ms" % (f["monitor_p50_ms"], f["monitor_p99_ms"]),
                 "%d missed" % f["monitor_gaps"], "goal p99 <= 100 ms, none missed"))
score = runs.get("score")
if score:
    for entry in score if isinstance(score, list) else [score]:
        if isinstance(entry, dict) and "rate" in entry and "p99_ms" in entry:
            rows.append(("Score over gRPC at %s/s (open loop)" % entry["rate"],
                         "p50 %s / p99 %s ms" % (entry.get("p50_ms"), entry["p99_ms"]),
                         "service time p99 %s ms" % entry.get("service_p99_ms"), "goal p99 <= 2 ms"))
table = ["| what | product | ceiling | ratio / goal |", "|---|---|---|---|"]
table += ["| %s |" % " | ".join(row) for row in rows]
head = "Measured %s on %d cores (%s), %s; %d guests per run.\n\n" % (
    document["when"], os.cpu_count(), cpu, document["versions"]["commit"], guests)
open(os.path.join(out_dir, "results.md"), "w").write(head + "\n".join(table) + "\n")
print(head + "\n".join(table))
PY
log "results: $out_dir/results.json, $out_dir/results.md"

if [ "${#failures[@]}" -gt 0 ]; then
    printf '%s\n' "${failures[@]}" >&2
    die "benchmark checks failed"
fi
log "benchmark done"
