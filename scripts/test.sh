#!/usr/bin/env bash
# The test command: install, start a throwaway PostgreSQL, build (or reuse) the Kubernetes test
# control plane, lint and type-check, then run every test. `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
# No silent skips in the test command: with CI set, every test that would skip for a missing
# part (PostgreSQL, cgroups, Go, the real node) fails and names it instead.
export CI=${CI:-true}
start=$(date +%s)

bash scripts/install.sh

echo "== postgres"
MGE_TEST_POSTGRES_URL=$(bash scripts/start-postgres.sh | tail -n 1)
export MGE_TEST_POSTGRES_URL
trap 'bash scripts/stop-postgres.sh >/dev/null 2>&1 || true' EXIT

if [ -x hack/k8s-bins/build.sh ] || [ -f hack/k8s-bins/build.sh ]; then
  echo "== kubernetes test control plane (built only on a cache miss)"
  MGE_K8S_BIN_DIR=$(bash hack/k8s-bins/build.sh | tail -n 1)
  export MGE_K8S_BIN_DIR
fi

echo "== helm tools and images (built only on a cache miss)"
bash hack/helm/build.sh >/dev/null
bash hack/images/build.sh all

# The real node's parts: the kubelet (same version as the control plane; cold ~75 s with the
# control plane's Go cache warm, a cache hit 0.1 s) and the pause image (cold ~5 s, hit 0.3 s).
# tests/integration/realnode runs pods as real containers on it; where this machine cannot run
# a kubelet those tests fail with the reason (MGE_REAL_NODE=0 skips them, never under CI).
echo "== real test node: kubelet and pause image (built only on a cache miss)"
node_start=$(date +%s)
bash hack/real-node/build-kubelet.sh >/dev/null
bash hack/real-node/build-pause.sh >/dev/null
echo "real node parts ready in $(( $(date +%s) - node_start )) s"

echo "== lint"
.venv/bin/ruff check operator tests benchmarks
.venv/bin/ruff format --check operator tests benchmarks
.venv/bin/mypy
.venv/bin/lint-imports

echo "== tests"
.venv/bin/python -m pytest "$@"

echo "== local model: SmolLM2 through the pipeline (llama-cpp-python wheel cached in ~/.cache/mge-wheels)"
bash scripts/install-local-models.sh
MGE_LOCAL_MODEL=1 .venv/bin/python -m pytest tests/e2e/local_model -m local_model
echo "test.sh: finished in $(( $(date +%s) - start )) s"
