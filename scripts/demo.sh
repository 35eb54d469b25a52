#!/usr/bin/env bash
# The demo: builds the package and starts the reference server, which serves
# the dashboard in www/ and the WebSocket endpoint on 127.0.0.1, publishes the
# demo streams (--demo) and takes the dashboard's resilience drills
# (--test-control, which is why it only binds to the loopback address).
#   PORT=9000 scripts/demo.sh   to pick another port (default 8080)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh demo
bash scripts/build.sh
cargo build --quiet -p tabwire-server
echo "demo: open http://127.0.0.1:${PORT:-8080}/ (Ctrl-C stops the server)"
exec target/debug/tabwire-server --host 127.0.0.1 --port "${PORT:-8080}" --www www --pkg pkg --demo --test-control
