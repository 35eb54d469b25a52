#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a while (cargo fuzz: libFuzzer with
# AddressSanitizer; scripts/setup.sh installs cargo-fuzz).
#   scripts/fuzz.sh                          30 s per target (scripts/test.sh asks for 20)
#   SECONDS_PER_TARGET=600 scripts/fuzz.sh   longer
# cargo fuzz wants nightly flags; RUSTC_BOOTSTRAP lets the stable toolchain
# take them. A crash fails the run and leaves its input in
# fuzz/artifacts/<target>/: turn it into a regression test, then fix it.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${SECONDS_PER_TARGET:-30}
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in $(cargo fuzz list); do
  if cargo fuzz run -O "$target" -- -max_total_time="$seconds" -max_len=4096 >"$log" 2>&1; then
    echo "fuzz: $target: $(grep -E '^Done [0-9]+ runs' "$log" || echo 'done'), no crash"
    echo "# pass 1"
  else
    tail -40 "$log"
    echo "fuzz: $target crashed; the input is in fuzz/artifacts/$target/"
    echo "# fail 1"
    exit 1
  fi
done
