"""The runner entry point stays light: no store, no LLM, no vector DB, no Kubernetes client.

The sandbox image runs `python -m mge.cli.sandbox run BATCH`; everything it imports is startup
time paid per Job, and a dependency that is not there is a surface that is not there.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "anthropic",
    "chromadb",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "alembic",
    "kopf",
    "kubernetes",
    "tree_sitter",
    "networkx",
    "onnxruntime",
    "tokenizers",
    "httpx",
    "mge.store",
    "mge.llm",
    "mge.rag",
)


@pytest.mark.parametrize("module", ["mge.cli.sandbox", "mge.sandbox", "mge.models.sandbox"])
def test_importing_the_runner_loads_nothing_heavy(module: str) -> None:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out)
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    assert heavy == []
