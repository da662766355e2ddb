#!/usr/bin/env bash
# Builds the guest's own browser bundle (crate frontend/guest: the invitation page
# alone) beside the one `cargo leptos build --release` made, with the same tools and
# steps cargo-leptos uses for that one: the wasm-release profile, wasm-bindgen (the
# version pinned in Cargo.lock), wasm-opt from node_modules, content hashes in the file
# names, and a .br / .gz beside each file.
#
#   scripts/guest-bundle.sh SITE_PKG_DIR SERVER_BIN_DIR
#
# Writes SITE_PKG_DIR/guest.<hash>.js and guest.<hash>.wasm, and SERVER_BIN_DIR/
# guest-hash.txt, where the server looks for it (app::guest_shell): without that file
# the guest's page is hydrated by the hosts' bundle.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
gg_select_route
cd "$GG_ROOT"

pkg_dir="${1:?usage: scripts/guest-bundle.sh SITE_PKG_DIR SERVER_BIN_DIR}"
bin_dir="${2:?usage: scripts/guest-bundle.sh SITE_PKG_DIR SERVER_BIN_DIR}"
[ -d "$pkg_dir" ] || die "$pkg_dir does not exist: run cargo leptos build --release first"

wasm_args=(--target wasm32-unknown-unknown)
[ "$GG_ROUTE" = debian ] && wasm_args+=(-Zbuild-std=std,panic_abort)
log "building the guest's bundle (frontend/guest, profile wasm-release)"
cargo build --locked -p frontend-guest --lib --profile wasm-release "${wasm_args[@]}"
input="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/frontend_guest.wasm"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
wasm-bindgen --target=web --out-name=guest --out-dir="$work" "$input"
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$work/guest_bg.wasm" -o "$work/guest.wasm"

hash_of() { sha256sum "$1" | cut -c1-20; }
js_hash="$(hash_of "$work/guest.js")"
wasm_hash="$(hash_of "$work/guest.wasm")"
rm -f "$pkg_dir"/guest.*.js* "$pkg_dir"/guest.*.wasm*
cp "$work/guest.js" "$pkg_dir/guest.$js_hash.js"
cp "$work/guest.wasm" "$pkg_dir/guest.$wasm_hash.wasm"
for file in "$pkg_dir/guest.$js_hash.js" "$pkg_dir/guest.$wasm_hash.wasm"; do
    brotli --force --best --output="$file.br" "$file"
    gzip --force --best --keep "$file"
done
printf 'js: %s\nwasm: %s\n' "$js_hash" "$wasm_hash" >"$bin_dir/guest-hash.txt"
log "guest bundle: guest.$js_hash.js, guest.$wasm_hash.wasm ($(stat -c %s "$pkg_dir/guest.$wasm_hash.wasm.br") bytes of wasm as brotli)"
