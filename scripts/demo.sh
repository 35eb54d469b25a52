#!/usr/bin/env bash
# The demo: builds the package and starts the reference server, which serves
# the dashboard in www/ and the WebSocket endpoint on 127.0.0.1, publishes the
# demo streams (--demo) and takes the dashboard's resilience drills
# (--test-control, which is why it only binds to the loopback address). It
# lets in the pages of Vite's development server (port 5173) besides its own,
# for the README's walk-through; more server options may follow.
#   PORT=9000 scripts/demo.sh   to pick another port (default 8080)
#   scripts/demo.sh --allow-origin http://127.0.0.1:3000   to let in another dev server
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh demo
bash scripts/build.sh
cargo build --quiet -p tabwire-server
echo "demo: open http://127.0.0.1:${PORT:-8080}/ (Ctrl-C stops the server)"
exec target/debug/tabwire-server --host 127.0.0.1 --port "${PORT:-8080}" --www www --pkg pkg --demo --test-control \
  --allow-origin http://localhost:5173 --allow-origin http://127.0.0.1:5173 "$@"
