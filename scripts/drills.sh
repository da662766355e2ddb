#!/usr/bin/env bash
# The fault drills, alone: each runs load on the real stack (its own PostgreSQL, NATS
# JetStream, fraud engine, web servers and, for the SIGTERM drill, nginx, all on free
# loopback ports), injects its fault, recovers and reconciles what was sent against the
# database and the stream, printing its counts. They are ordinary tests, so
# scripts/test.sh (and CI) runs them too; this command runs only them, with their output.
#
#   NATS SIGKILLed for 20 s during RSVPs      resilience.rs nats_killed_for_twenty_seconds...
#   NATS down, events written meanwhile       pipeline.rs   events_written_while_nats_is_down...
#   the engine stopped, and hung (SIGSTOP)    resilience.rs with_the_engine_stopped... / a_hung_engine...
#   PostgreSQL stopped -m immediate           resilience.rs with_postgres_down...
#   a replica sent SIGTERM behind nginx       edge.rs       a_replica_sent_sigterm...
#   a redelivery after a lost ack             pipeline.rs   publishing_an_event_again_or_redelivering...
#   the engine SIGKILLed 5 times mid-consumption   fraud tests/engine/consumer.rs an_engine_killed...
#   an outbox row that cannot be published    resilience.rs outbox_rows_that_cannot_be_published...
#   one link 20 times at once, 50 guests for 10 places   resilience.rs
#   10,000 malformed / tampered / expired / wrong-key tokens   app invitations::token
#   schemathesis against the OpenAPI document (no 5xx, no answer or refusal the document
#   does not describe)                         scripts/api-fuzz.sh (a release build)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$GG_ROOT/scripts/bootstrap.sh"
gg_select_route
cd "$GG_ROOT"

step() { log "== $* =="; }
step "resilience drills (engine, outbox, PostgreSQL, NATS, races)"
cargo test --locked -p server --features app/ssr --test resilience -- --nocapture --test-threads 1
step "NATS down and redelivery (pipeline)"
cargo test --locked -p server --features app/ssr --test pipeline -- --nocapture \
    events_written_while_nats_is_down publishing_an_event_again_or_redelivering
step "the fraud engine's process SIGKILLed while consuming (fraud)"
cargo test --locked -p fraud --test engine -- --nocapture an_engine_killed_again_and_again
step "SIGTERM under load behind nginx (edge)"
cargo test --locked -p server --features app/ssr --test edge -- --nocapture a_replica_sent_sigterm
step "10,000 bad tokens"
cargo test --locked -p app --features ssr --lib -- --nocapture ten_thousand_malformed
step "the REST API fuzzed from its OpenAPI document (schemathesis)"
"$GG_ROOT/scripts/api-fuzz.sh"
log "every drill passed"
