#!/usr/bin/env bash
# The test command: install, start a throwaway PostgreSQL, build (or reuse) the Kubernetes test
# control plane, lint and type-check, then run every test. `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
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
