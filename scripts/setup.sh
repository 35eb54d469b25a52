#!/usr/bin/env bash
# Installs what building, the demo and the tests need on a fresh Debian
# machine, skipping whatever is already present. Idempotent and quick when
# everything is there.
#
#   scripts/setup.sh          everything (tests included)
#   scripts/setup.sh demo     only what the demo needs (no browser)
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_PACK_VERSION=0.15.1
CARGO_FUZZ_VERSION=0.13.2
# The CLI must be exactly the wasm-bindgen of Cargo.lock (pinned with "=" in
# Cargo.toml); the check below fails loudly if the two ever part.
WASM_BINDGEN_VERSION=0.2.130
# Python's websockets, a foreign echo server of tests/foreign/, kept in
# target/python (PYTHONPATH) rather than in the system's Python (3.11 or
# later: Debian 12 has 3.11).
WEBSOCKETS_VERSION=17.4
want=${1:-all}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

say() { echo "setup: $*"; }

# The wasm-bindgen version Cargo.lock resolved.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

locked=$(wasm_bindgen_version)
if [ "$locked" != "$WASM_BINDGEN_VERSION" ]; then
  echo "setup: Cargo.lock has wasm-bindgen $locked but this script installs $WASM_BINDGEN_VERSION; update WASM_BINDGEN_VERSION" >&2
  exit 1
fi
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes)"
  # Without --locked: a dependency pinned in its lock file is not on crates.io.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# The fuzz targets (scripts/fuzz.sh) run in the tests.
if [ "$want" != demo ] && ! cargo fuzz --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
  say "installing cargo-fuzz $CARGO_FUZZ_VERSION (a few minutes)"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --force
fi

if ! wasm-pack --version 2>/dev/null | grep -qx "wasm-pack $WASM_PACK_VERSION"; then
  say "installing wasm-pack $WASM_PACK_VERSION (a few minutes)"
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked --force
fi

packages=()
if [ "$want" != demo ]; then
  [ -x /usr/bin/chromium ] || packages+=(chromium)
  [ -x /usr/bin/chromedriver ] || packages+=(chromium-driver)
  # Several server instances share channels through Redis in the tests.
  [ -x /usr/bin/redis-server ] || packages+=(redis-server)
fi
# Python's websockets, unless target/python has that version.
has_websockets() {
  PYTHONPATH=target/python python3 -c "import sys, websockets; sys.exit(websockets.__version__ != '$WEBSOCKETS_VERSION')" 2>/dev/null
}
need_websockets=no
if [ "$want" != demo ] && ! has_websockets; then
  need_websockets=yes
  python3 -m pip --version >/dev/null 2>&1 || packages+=(python3-pip)
fi
if [ ${#packages[@]} -gt 0 ]; then
  say "installing ${packages[*]} with apt"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

if [ "$need_websockets" = yes ]; then
  say "installing Python's websockets $WEBSOCKETS_VERSION into target/python"
  # --target installs beside the system's Python, not into it (which
  # Debian refuses); --upgrade replaces an older version there.
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-deps \
    --upgrade --target target/python "websockets==$WEBSOCKETS_VERSION"
fi

# npm ci writes node_modules/.package-lock.json: older than the lock file
# (or missing) means node_modules is stale.
if [ ! node_modules/.package-lock.json -nt package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
say "ready"
