#!/usr/bin/env bash
# Install MGE on a fresh machine and run an example project end to end, offline.
#   bash scripts/demo.sh [MANIFEST]      (default: examples/inventory-lib/project.yaml)
# The example uses the scripted provider: hand-written recordings, clearly marked, no model.
set -euo pipefail
cd "$(dirname "$0")/.."
MANIFEST=${1:-examples/inventory-lib/project.yaml}
bash scripts/install.sh
echo "== mge run $MANIFEST"
.venv/bin/mge run "$MANIFEST"
OUT=$(.venv/bin/python -c "import sys,yaml; m=yaml.safe_load(open(sys.argv[1])); print((m['spec'].get('output') or {}).get('path') or 'out/'+m['metadata']['name'])" "$MANIFEST")
echo "== the generated codebase's own tests (plain pytest in $OUT)"
PY="$(pwd)/.venv/bin/python"
(cd "$OUT" && "$PY" -m pytest -q -p no:cacheprovider)
