#!/usr/bin/env bash
# Every test of tabwire, layer by layer, after installing what is missing:
#   1. native:  cargo test (the core on a virtual clock, the reference server)
#   2. browser: wasm-pack test in headless Chromium against the reference server
#   3. types:   tsc --strict over TypeScript that uses the package
#   4. e2e:     Playwright driving the demo page
#   5. foreign: the package on default options against servers tabwire did
#               not write (Node's ws, with and without subprotocol
#               selection, and Python's websockets)
#   6. chaos:   tabs and a solo client publishing through seeded faults, broker
#               losses among them (Redis 75 s, memory broker 30 s, on the HTTP
#               transport 40 s), and tabs on default options against a plain
#               ws server (30 s)
#   7. consumer: the npm package from its tarball: its files, an application's
#                tsc, a Vite build in Chromium, the React hooks in Chromium
#   8. fuzz:    a short run of every cargo fuzz target
# Ends with one line counting what passed and failed.
#   LAYERS="browser chaos" bash scripts/test.sh   runs only those layers
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/setup.sh

logs=$(mktemp -d)
server_pids=()
redis_pid=
cleanup() {
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
  [ ${#server_pids[@]} -gt 0 ] && kill "${server_pids[@]}" 2>/dev/null || true
  rm -rf "$logs"
}
trap cleanup EXIT

passed=0
failed=0
# Adds up cargo's "test result: ok. N passed; M failed" lines and node's
# "# pass N" / "# fail M" lines of one layer's log.
count() {
  local sums
  sums=$(awk '
    /^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i - 1); if ($i ~ /^failed/) f += $(i - 1) } }
    /^# pass [0-9]+$/ { p += $3 }
    /^# fail [0-9]+$/ { f += $3 }
    END { print p + 0, f + 0 }' "$1")
  passed=$(( passed + ${sums% *} ))
  failed=$(( failed + ${sums#* } ))
}

layer() {
  local name=$1; shift
  if [ -n "${LAYERS:-}" ] && [[ " $LAYERS " != *" $name "* ]]; then
    echo "== $name skipped (LAYERS)"
    return
  fi
  echo "== $name"
  local status=0
  "$@" 2>&1 | tee "$logs/$name.log" || status=$?
  count "$logs/$name.log"
  if [ "$status" -ne 0 ]; then
    echo "== $name failed (exit $status)"
    echo "summary: $passed passed, $(( failed > 0 ? failed : 1 )) failed"
    exit 1
  fi
}

layer native cargo test --workspace --quiet

echo "== build"
bash scripts/build.sh
cargo build --quiet -p tabwire-server

free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}
# The browser tests' page is served by wasm-bindgen's test runner, on a
# port chosen here so that the reference servers can let it in.
runner_address=127.0.0.1:$(free_port)

# Reference servers for the browser tests, stopping by themselves at worst:
# one without authentication, one that asks for tokens, and two that share
# their channels through Redis.
start_server() {
  local name=$1; shift
  "$root/target/debug/tabwire-server" --port 0 --test-control --exit-after-secs 900 \
    --allow-origin "http://$runner_address" "$@" >"$logs/server-$name.out" &
  server_pids+=("$!")
}
address_of() {
  for _ in $(seq 100); do grep -q listening "$logs/server-$1.out" && break; sleep 0.1; done
  sed -n 's|.*http://\(127\.0\.0\.1:[0-9]*\).*|\1|p' "$logs/server-$1.out"
}
# A Redis on a free loopback port, without persistence (and stopping by
# itself at worst), for two instances that share their channels through it.
redis_port=$(free_port)
timeout 900 redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --loglevel warning >"$logs/redis.out" &
redis_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break; sleep 0.1; done
start_server open
start_server auth --jwt-secret "tabwire test secret, not for production"
start_server redis-a --redis "redis://127.0.0.1:$redis_port"
start_server redis-b --redis "redis://127.0.0.1:$redis_port"
address=$(address_of open)
auth_address=$(address_of auth)
redis_a=$(address_of redis-a)
redis_b=$(address_of redis-b)
[ -n "$address" ] && [ -n "$auth_address" ] && [ -n "$redis_a" ] && [ -n "$redis_b" ] || {
  echo "a reference server did not start"; cat "$logs"/server-*.out "$logs/redis.out"; exit 1;
}

browser_tests() {
  TABWIRE_TEST_SERVER=$address TABWIRE_TEST_AUTH_SERVER=$auth_address \
    TABWIRE_TEST_REDIS_SERVERS="$redis_a,$redis_b" WASM_BINDGEN_TEST_TIMEOUT=240 \
    WASM_BINDGEN_TEST_ADDRESS=$runner_address \
    wasm-pack test --headless --chrome --chromedriver /usr/bin/chromedriver --mode no-install
}
layer browser browser_tests
kill "${server_pids[@]}" "$redis_pid"; server_pids=(); redis_pid=

types_tests() {
  npx tsc -p tests/types && echo "# pass 1"
}
layer types types_tests

layer e2e node --test tests/e2e/
layer foreign node --test tests/foreign/
layer chaos node --test tests/chaos/
layer consumer node --test tests/consumer/
# A short run of every fuzz target (scripts/fuzz.sh; longer: SECONDS_PER_TARGET=600).
layer fuzz env SECONDS_PER_TARGET="${FUZZ_SECONDS:-20}" bash scripts/fuzz.sh

echo "summary: $passed passed, $failed failed"
