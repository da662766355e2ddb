#!/usr/bin/env bash
# Makes a fresh Debian/Ubuntu machine with rustup able to build, run and test GuestGuard.
# Idempotent: installs only what is missing, so a second run takes seconds.
#
#   apt:   postgresql, nats-server, chromium (+ the Debian Rust route when needed)
#   cargo: cargo-leptos (built without download support) and wasm-bindgen-cli at the
#          exact version in Cargo.lock
#   npm:   the Tailwind v4 CLI, wasm-opt (binaryen) and playwright-core, from package-lock.json
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

apt_missing() {
    local package missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$package")
    done
    printf '%s\n' "${missing[@]}"
}

apt_install() {
    local missing
    mapfile -t missing < <(apt_missing "$@" | sed '/^$/d')
    [ "${#missing[@]}" -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# 1. Services, browser and build essentials from Debian.
apt_install postgresql nats-server chromium ca-certificates gcc libc6-dev
command -v node >/dev/null 2>&1 || apt_install nodejs npm

# 2. The Rust route for the browser bundle.
gg_select_route
if [ "$GG_ROUTE" = debian ]; then
    apt_install rustc-web cargo-web rust-web-src lld-19
fi
log "toolchain route: $GG_ROUTE ($(${RUSTC:-rustc} --version))"

# 3. Cargo tools. cargo-leptos needs rustc >= 1.96: use rustup's when it is new enough,
#    otherwise Debian's rustc-web.
rust_minor() { "$1" --version | awk '{ split($2, v, "."); print v[2] }'; }
install_with_cargo() {
    local rustc=rustc cargo=cargo
    if [ "$(rust_minor rustc)" -lt 96 ]; then
        apt_install rustc-web cargo-web
        rustc=/usr/bin/rustc cargo=/usr/bin/cargo
    fi
    log "building $* with $($rustc --version) (once per machine; cargo-leptos takes long)"
    env PATH="$(dirname "$cargo"):$PATH" RUSTC="$rustc" \
        CARGO_TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/guestguard/tools-target" \
        "$cargo" install --root "$HOME/.cargo" "$@"
}
if [ "$(tool_version cargo-leptos)" != "$GG_CARGO_LEPTOS_VERSION" ]; then
    install_with_cargo cargo-leptos --version "$GG_CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi
if [ "$(tool_version wasm-bindgen)" != "$GG_WASM_BINDGEN_VERSION" ]; then
    # Not --locked: the CLI's own lockfile pins a yanked crate.
    install_with_cargo wasm-bindgen-cli --version "$GG_WASM_BINDGEN_VERSION" --force
fi
command -v rustfmt >/dev/null && command -v cargo-clippy >/dev/null \
    || rustup component add rustfmt clippy

# 4. Node packages (exact versions from package-lock.json).
if [ ! -d "$GG_ROOT/node_modules" ] \
    || [ "$GG_ROOT/package-lock.json" -nt "$GG_ROOT/node_modules/.package-lock.json" ]; then
    log "installing Node packages"
    # `npm install --no-save` keeps the locked versions without rewriting the lockfile.
    # (`npm ci` rejects lockfiles that npm 11 writes without the other platforms'
    # optional Tailwind binaries, so it cannot be used here.)
    (cd "$GG_ROOT" && npm install --no-save --no-audit --no-fund --loglevel=error)
fi

log "bootstrap done: cargo-leptos $(tool_version cargo-leptos), wasm-bindgen $(tool_version wasm-bindgen), route $GG_ROUTE"
