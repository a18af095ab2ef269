#!/usr/bin/env bash
# Build the review web interface (webui/: TypeScript, React, CodeMirror 6) into
# operator/mge/web/dist, the package data that `mge review serve` serves. Only needed after
# changing webui/: the built assets are committed, so installing MGE needs no Node.
# tests/unit/web/test_built_assets.py fails when they are stale.
# Needs Node >= 18 and npm (Debian: apt-get install nodejs npm).
set -euo pipefail
cd "$(dirname "$0")/../webui"
command -v node >/dev/null 2>&1 || { echo "build-webui: node not found (apt-get install nodejs npm)" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
node_modules/.bin/tsc --noEmit -p .
node build.mjs
