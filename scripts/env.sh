# Shared environment of every project script (sourced, never run).
#
# Picks the Rust toolchain route for the browser bundle:
#   rustup  - rustup's `wasm32-unknown-unknown` target is installed or can be installed;
#   debian  - otherwise Debian's rustc-web / cargo-web 1.96 with the standard library
#             built from source (see README, "Offline toolchain").
# Exports GG_ROUTE and GG_LEPTOS_ARGS (extra arguments for every `cargo leptos` call).

GG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export GG_ROOT

# The cargo target directory lives outside the clone so a fresh clone reuses the build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/guestguard/target}"
export PATH="$GG_ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export LEPTOS_OUTPUT_NAME=guestguard

# Versions the project pins (wasm-bindgen must equal the one in Cargo.lock).
GG_CARGO_LEPTOS_VERSION=0.3.11
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
