#!/usr/bin/env bash
# Run every local benchmark; results land in benchmarks/results/. See benchmarks/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
$PY benchmarks/makespan.py --scales 0.1 1.0  # makespan vs critical path + overhead per atom
$PY benchmarks/cost_per_atom.py         # tokens and cost per atom on the scripted examples
$PY benchmarks/sandbox_throughput.py    # atoms/s: batches vs one process per atom
$PY benchmarks/atomize_scale.py         # atomization + graph at 800 / 10k atoms
$PY benchmarks/operator_scale.py --timeout 900  # through the operator: API requests, status writes, memory
$PY benchmarks/operator_makespan.py       # through the operator: makespan vs critical path, 800 atoms
