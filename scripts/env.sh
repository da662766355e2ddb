# Shared environment of every project script (sourced, never run).
#
# Picks the Rust toolchain route for the browser bundle:
#   rustup  - rustup's `wasm32-unknown-unknown` target is installed or can be installed;
#   debian  - otherwise Debian's rustc-web / cargo-web 1.96 with the standard library
#             built from source (see README, "Offline toolchain").
# Exports GG_ROUTE and GG_LEPTOS_ARGS (extra arguments for every `cargo leptos` call),
# and NATS_SERVER_BIN (the NATS server to run, see gg_nats_server_bin).

GG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export GG_ROOT

# The cargo target directory lives outside the clone so a fresh clone reuses the build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/guestguard/target}"
export PATH="$GG_ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export LEPTOS_OUTPUT_NAME=guestguard

# Versions the project pins (wasm-bindgen must equal the one in Cargo.lock).
GG_CARGO_LEPTOS_VERSION=0.3.11
# NATS server: one >= 2.10 on PATH is used as it is; otherwise bootstrap.sh puts the
# official 2.15.1 binary (scripts/tools/nats-server.requirements.txt) in the project's cache.
GG_NATS_MIN_MINOR=10
GG_NATS_VERSION=2.15.1
GG_NATS_CACHED_BIN="${XDG_CACHE_HOME:-$HOME/.cache}/guestguard/tools/nats-server-$GG_NATS_VERSION/nats-server"
# The project's Python virtualenv (scripts/tools/python.requirements.txt): the mail
# catcher's SMTP server. GG_PYTHON is its interpreter; tests find it as GG_PYTHON too.
GG_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/guestguard/venv"
export GG_PYTHON="$GG_VENV/bin/python3"
GG_WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' "$GG_ROOT/Cargo.lock")"

log() { printf '\033[1;34m[guestguard]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[guestguard] error:\033[0m %s\n' "$*" >&2; exit 1; }

# Run a command as root (directly when we are root, otherwise with sudo).
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

gg_select_route() {
    if [ -n "${GG_ROUTE:-}" ]; then
        :
    elif command -v rustup >/dev/null 2>&1 \
        && { rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
             || rustup target add wasm32-unknown-unknown >/dev/null 2>&1; }; then
        GG_ROUTE=rustup
    else
        GG_ROUTE=debian
    fi
    export GG_ROUTE
    # Every script calls this right after bootstrap.sh: pick up a NATS server it installed.
    gg_nats_server_bin || true
    GG_LEPTOS_ARGS=()
    if [ "$GG_ROUTE" = debian ]; then
        export PATH="/usr/bin:$PATH"
        export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
        export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19
        GG_LEPTOS_ARGS=(--lib-cargo-args=-Zbuild-std=std,panic_abort)
        # Keep Debian-route artefacts apart from rustup-route ones.
        export CARGO_TARGET_DIR="${CARGO_TARGET_DIR%/}-debian"
    fi
}

# gg_nats_version_ok BIN: BIN runs and is a NATS server 2.x with x >= 10.
gg_nats_version_ok() {
    local version
    version="$({ "$1" --version 2>/dev/null || true; } | sed -n 's/^nats-server: v\([0-9]*\.[0-9]*\).*/\1/p')"
    [ -n "$version" ] || return 1
    [ "${version%%.*}" -gt 2 ] || { [ "${version%%.*}" -eq 2 ] && [ "${version#*.}" -ge "$GG_NATS_MIN_MINOR" ]; }
}

# gg_nats_server_bin: picks the NATS server every script and test uses and exports its
# absolute path as NATS_SERVER_BIN (the Rust test harnesses read it): an explicitly set
# NATS_SERVER_BIN that is new enough, else a `nats-server` >= 2.10 on PATH, else the
# cached official binary. With none of them (before bootstrap.sh ran) it unsets
# NATS_SERVER_BIN and fails. Cheap: called again after bootstrap and before each start.
gg_nats_server_bin() {
    local candidate
    for candidate in "${NATS_SERVER_BIN:-}" "$(command -v nats-server 2>/dev/null || true)" \
        "$GG_NATS_CACHED_BIN"; do
        [ -n "$candidate" ] && [ -x "$candidate" ] || continue
        if gg_nats_version_ok "$candidate"; then
            candidate="$(cd "$(dirname "$candidate")" && pwd)/$(basename "$candidate")"
            export NATS_SERVER_BIN="$candidate"
            return 0
        fi
    done
    unset NATS_SERVER_BIN
    return 1
}

# Installed version of a cargo tool, or nothing.
tool_version() {
    "$@" --version 2>/dev/null | awk '{ print $2 }'
}

# PostgreSQL server binaries (newest installed major version).
pg_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$dir" ] && [ -x "$dir/initdb" ] || die "PostgreSQL server binaries not found; run scripts/bootstrap.sh"
    printf '%s\n' "$dir"
}

# A loopback port nothing listens on.
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 30000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { printf '%s\n' "$port"; return; }
    done
}

wait_for_port() { # port what [seconds]
    local port="$1" what="$2" limit="${3:-60}" i=0
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -le $((limit * 10)) ] || die "$what did not start listening on port $port"
        sleep 0.1
    done
}

gg_nats_server_bin || true
