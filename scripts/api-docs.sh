#!/usr/bin/env bash
# Writes the API reference (docs/api/*.md) from the package's type
# declarations (pkg/*.d.ts, made by scripts/build.sh), with TypeDoc.
#   scripts/api-docs.sh          rewrite docs/api/
#   scripts/api-docs.sh DIR      write into DIR instead (the tests compare)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/api}
node_modules/.bin/typedoc --options docs/api/typedoc.json --out "$out" --logLevel Warn
