#!/usr/bin/env bash
# Release build of the npm package into pkg/ (the wasm-pack output, the
# framework bindings of js/ and the package.json that exports them), and
# its size as a page loads it: the .wasm plus the JS glue, raw and gzipped,
# checked against the budget in size-budget.json, with the largest
# contributors (scripts/size-report.mjs) to show where the bytes are.
set -euo pipefail
cd "$(dirname "$0")/.."

wasm-pack --quiet build --release --target web --mode no-install >/dev/null
# Kept for the size report: wasm-opt strips the function names.
mkdir -p target/size
cp pkg/tabwire_bg.wasm target/size/tabwire_bg.wasm
# binaryen from npm (version 132): Debian's wasm-opt 108 corrupts the
# externref table that wasm-bindgen emits. A second -Oz pass still finds
# about 0.4 KB (gzipped) for a fraction of a second; the producers and
# target_features sections are for tools, not for browsers.
node_modules/.bin/wasm-opt -Oz -Oz --strip-producers --strip-target-features \
  --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-reference-types --enable-multivalue --enable-sign-ext --enable-mutable-globals \
  pkg/tabwire_bg.wasm -o pkg/tabwire_bg.wasm
node scripts/package.mjs

size() { wc -c < "$1" | tr -d ' '; }
gz() { gzip -9 -c "$1" | wc -c | tr -d ' '; }
wasm=pkg/tabwire_bg.wasm
glue=pkg/tabwire.js
total=$(( $(gz "$wasm") + $(gz "$glue") ))
printf 'size: %-18s %7s B raw %7s B gzip\n' "$(basename "$wasm")" "$(size "$wasm")" "$(gz "$wasm")"
printf 'size: %-18s %7s B raw %7s B gzip\n' "$(basename "$glue")" "$(size "$glue")" "$(gz "$glue")"
printf 'size: wasm + glue, gzipped: %s B (%s KiB)\n' "$total" "$(awk "BEGIN { printf \"%.1f\", $total / 1024 }")"
node scripts/size-report.mjs target/size/tabwire_bg.wasm 12

# The budget only moves on purpose: when a change is worth its bytes, raise
# "gzip" in size-budget.json in the same commit and say there (and in the
# commit message) what the bytes buy; after a saving, lower it.
budget=$(node -p 'require("./size-budget.json").gzip')
if [ "$total" -gt "$budget" ]; then
  echo "size: wasm + glue is $total B gzipped, over the budget of $budget B in size-budget.json (by $(( total - budget )) B)" >&2
  exit 1
fi
echo "size: within the budget of $budget B ($(( budget - total )) B to spare)"
