#!/bin/sh
# The sandbox Job's entry point: `sandbox run BATCH --isolation=pod ...` (the Job's args, the same
# words as `mge sandbox run ...`) runs through the light `python -m mge.cli.sandbox`, which loads
# no other command module (no store, no LLM, no Kubernetes client).
set -eu
if [ "${1:-}" = "sandbox" ]; then shift; fi
exec /opt/mge/bin/python -m mge.cli.sandbox "$@"
