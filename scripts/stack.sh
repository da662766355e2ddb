# Starting and stopping the services GuestGuard runs on (sourced, never run):
# a project-owned PostgreSQL cluster, a NATS JetStream server, the fraud engine and the
# web server. Every process started here is recorded and stopped by `stack_stop`;
# nothing else on the machine is touched.

GG_PIDS=()

# Run a PostgreSQL tool; PostgreSQL refuses to run as root, so root runs it as `postgres`.
pg_run() {
    local tool="$1"
    shift
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$(pg_bin)/$tool" "$@"
    else
        "$(pg_bin)/$tool" "$@"
    fi
}

# stack_start_postgres DIR PORT: creates the cluster on first use, then starts it and
# makes sure the `guestguard` role and database exist. A second run reuses the data.
stack_start_postgres() {
    local dir="$1" port="$2"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$dir"
        runuser -u postgres -- test -w "$dir" \
            || die "the postgres user cannot write $dir (every parent folder must be searchable)"
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        log "creating a PostgreSQL cluster in $dir"
        pg_run initdb -D "$dir/data" -U guestguard --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    fi
    log "starting PostgreSQL on 127.0.0.1:$port"
    pg_run pg_ctl -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null \
        || { tail -n 20 "$dir/postgres.log" >&2; die "PostgreSQL did not start (is port $port taken?)"; }
    GG_PG_DIR="$dir"
    if ! pg_run psql -h 127.0.0.1 -p "$port" -U guestguard -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'guestguard'" | grep -q 1; then
        pg_run createdb -h 127.0.0.1 -p "$port" -U guestguard guestguard
    fi
}

stack_stop_postgres() {
    [ -n "${GG_PG_DIR:-}" ] || return 0
    pg_run pg_ctl -D "$GG_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    GG_PG_DIR=
}

# Development passwords of the four NATS users in deploy/nats/nats-server.conf; the web
# server and the fraud engine default to the same ones (NATS_USER / NATS_PASSWORD) when
# GUESTGUARD_ENV is not production, so nothing has to be passed in development.
GG_NATS_DEV_SERVER_PASSWORD=development-only-nats-server-password
GG_NATS_DEV_FRAUD_PASSWORD=development-only-nats-fraud-password
GG_NATS_DEV_NOTIFY_PASSWORD=development-only-nats-notify-password
GG_NATS_DEV_OPS_PASSWORD=development-only-nats-ops-password

# stack_start_nats DIR PORT: NATS with JetStream and the project's configuration (users
# with passwords and permissions), its store in DIR (kept across runs). The passwords
# are GG_NATS_SERVER_PASSWORD / _FRAUD_ / _NOTIFY_ / _OPS_ when set, else the development ones.
stack_start_nats() {
    local dir="$1" port="$2" pid i=0
    gg_nats_server_bin || die "no nats-server >= 2.10 found; run scripts/bootstrap.sh"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    log "starting NATS JetStream on 127.0.0.1:$port ($NATS_SERVER_BIN)"
    GG_NATS_SERVER_PASSWORD="${GG_NATS_SERVER_PASSWORD:-$GG_NATS_DEV_SERVER_PASSWORD}" \
        GG_NATS_FRAUD_PASSWORD="${GG_NATS_FRAUD_PASSWORD:-$GG_NATS_DEV_FRAUD_PASSWORD}" \
        GG_NATS_NOTIFY_PASSWORD="${GG_NATS_NOTIFY_PASSWORD:-$GG_NATS_DEV_NOTIFY_PASSWORD}" \
        GG_NATS_OPS_PASSWORD="${GG_NATS_OPS_PASSWORD:-$GG_NATS_DEV_OPS_PASSWORD}" \
        "$NATS_SERVER_BIN" -c "$GG_ROOT/deploy/nats/nats-server.conf" \
        -a 127.0.0.1 -p "$port" -sd "$dir" -l "$dir/nats.log" &
    pid=$!
    GG_PIDS+=("$pid")
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null || [ "$i" -ge 600 ]; then
            tail -n 20 "$dir/nats.log" >&2 2>/dev/null || true
            die "NATS did not start listening on port $port (log: $dir/nats.log)"
        fi
        i=$((i + 1))
        sleep 0.1
    done
}

# stack_start_mail DIR SMTP_PORT HTTP_PORT: the development mail catcher (a real SMTP
# server, scripts/tools/mail_catcher.py) keeping messages in DIR, readable on HTTP_PORT.
stack_start_mail() {
    local dir="$1" smtp="$2" http="$3"
    [ -x "$GG_PYTHON" ] || die "the project's Python is missing; run scripts/bootstrap.sh"
    mkdir -p "$dir"
    log "starting the mail catcher: SMTP 127.0.0.1:$smtp, messages on http://127.0.0.1:$http/"
    "$GG_PYTHON" "$GG_ROOT/scripts/tools/mail_catcher.py" --smtp "127.0.0.1:$smtp" \
        --http "127.0.0.1:$http" --dir "$dir" >>"$dir/catcher.log" 2>&1 &
    GG_PIDS+=($!)
    wait_for_port "$smtp" "the mail catcher (log: $dir/catcher.log)"
    wait_for_port "$http" "the mail catcher's page"
}

# stack_spawn_notify NOTIFY_BIN LOG_FILE PG_PORT NATS_PORT SMTP_PORT PUBLIC_URL: the
# notification worker against the stack's PostgreSQL and NATS, mailing to SMTP_PORT.
stack_spawn_notify() {
    local bin="$1" log_file="$2" pg="$3" nats="$4" smtp="$5" public_url="$6"
    DATABASE_URL="postgres://guestguard@127.0.0.1:$pg/guestguard" \
        NATS_URL="nats://127.0.0.1:$nats" SMTP_HOST=127.0.0.1 SMTP_PORT="$smtp" \
        GUESTGUARD_PUBLIC_URL="$public_url" \
        stack_spawn "notification worker" "$bin" >>"$log_file" 2>&1
}

# stack_spawn NAME COMMAND...: runs a long-lived process of the stack in the background.
stack_spawn() {
    local name="$1"
    shift
    log "starting $name"
    "$@" &
    GG_PIDS+=($!)
}

# stack_start_services NAME: a run folder for a test or bench stack (removed on exit,
# after everything this shell started is stopped), PostgreSQL and NATS JetStream on free
# ports in it; sets run_dir, pg_port and nats_port, and picks a free fraud_port.
stack_start_services() {
    run_dir="$(mktemp -d -t "guestguard-$1-XXXXXX")"
    chmod 0755 "$run_dir" # the postgres user (PostgreSQL runs as it when we are root) must reach it
    trap 'stack_stop; rm -rf "$run_dir"' EXIT
    trap 'exit 130' INT TERM
    pg_port="$(free_port)"
    stack_start_postgres "$run_dir/pg" "$pg_port"
    nats_port="$(free_port)"
    stack_start_nats "$run_dir/nats" "$nats_port"
    fraud_port="$(free_port)"
}

# stack_spawn_fraud FRAUD_BIN LOG_FILE NATS_PORT FRAUD_PORT: the fraud engine on
# FRAUD_PORT against the stack's NATS (its log appended to LOG_FILE); waits until it
# listens.
stack_spawn_fraud() {
    local bin="$1" log_file="$2" nats="$3" port="$4"
    FRAUD_GRPC_ADDR="127.0.0.1:$port" NATS_URL="nats://127.0.0.1:$nats" \
        stack_spawn "fraud engine" "$bin" >>"$log_file" 2>&1
    wait_for_port "$port" "the fraud engine"
}

# stack_spawn_web SERVER_BIN SITE_ROOT LOG_FILE PG_PORT NATS_PORT FRAUD_PORT: the web
# server (production mode) on a free port against the stack's PostgreSQL, NATS and fraud
# engine; waits until it listens and sets web_port.
stack_spawn_web() {
    local bin="$1" site_root="$2" log_file="$3" pg="$4" nats="$5" fraud="$6" hashed=false
    web_port="$(free_port)"
    # A cargo-leptos build writes hash.txt beside the binary: the asset names are hashed.
    [ -f "$(dirname "$bin")/hash.txt" ] && hashed=true
    DATABASE_URL="postgres://guestguard@127.0.0.1:$pg/guestguard" \
        NATS_URL="nats://127.0.0.1:$nats" \
        FRAUD_GRPC_URL="http://127.0.0.1:$fraud" \
        LEPTOS_SITE_ROOT="$site_root" LEPTOS_SITE_PKG_DIR=pkg LEPTOS_HASH_FILES="$hashed" \
        LEPTOS_SITE_ADDR="127.0.0.1:$web_port" LEPTOS_ENV=PROD \
        GUESTGUARD_PUBLIC_URL="http://127.0.0.1:$web_port" \
        stack_spawn "web server" "$bin" >"$log_file" 2>&1
    wait_for_port "$web_port" "the web server" 120
}

# Stops everything this shell started, newest first, and waits for it.
stack_stop() {
    local i pid
    for ((i = ${#GG_PIDS[@]} - 1; i >= 0; i--)); do
        pid="${GG_PIDS[$i]}"
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${GG_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    GG_PIDS=()
    stack_stop_postgres
}
