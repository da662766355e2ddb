#!/usr/bin/env bash
# scripts/precompress.sh DIR: writes FILE.gz (gzip -9, no name or time stamp) and FILE.br
# (brotli quality 11) next to every .wasm, .js and .css file under DIR, replacing older
# ones, and prints their sizes. The web server sends these precompressed files to
# browsers that accept them (nginx in front does not compress, see deploy/).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

[ "$#" -eq 1 ] || die "usage: scripts/precompress.sh DIR"
dir="${1%/}"
[ -d "$dir" ] || die "precompress: $dir is not a folder"
command -v gzip >/dev/null || die "gzip is missing"
command -v brotli >/dev/null || die "brotli is missing; run scripts/bootstrap.sh"

mapfile -d '' files < <(find "$dir" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' \) -print0 | sort -z)
[ "${#files[@]}" -gt 0 ] || die "precompress: no .wasm, .js or .css files under $dir"

printf '%-40s %12s %12s %12s\n' file raw gzip brotli
total_raw=0 total_gz=0 total_br=0
for file in "${files[@]}"; do
    # Written beside and renamed, so a server never reads a half-written file.
    gzip -9 -n -c -- "$file" >"$file.gz.partial"
    mv -f -- "$file.gz.partial" "$file.gz"
    brotli -q 11 -f -o "$file.br.partial" -- "$file"
    mv -f -- "$file.br.partial" "$file.br"
    raw="$(stat -c %s -- "$file")" gz="$(stat -c %s -- "$file.gz")" br="$(stat -c %s -- "$file.br")"
    total_raw=$((total_raw + raw)) total_gz=$((total_gz + gz)) total_br=$((total_br + br))
    printf '%-40s %12s %12s %12s\n' "${file#"$dir"/}" "$raw" "$gz" "$br"
done
printf '%-40s %12s %12s %12s\n' "total (${#files[@]} files)" "$total_raw" "$total_gz" "$total_br"
