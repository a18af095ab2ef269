"""PatternIndex when Chroma is not there: planning hears why, atoms never wait for examples.

A closed loopback port stands for a Chroma server that is down (connection refused at once).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mge.config import Settings
from mge.errors import RetrievalUnavailable
from mge.models.atoms import AtomicUnit, atom_id
from mge.pipeline.collaborators import PatternIndex

ATOM = AtomicUnit(
    id=atom_id("m.py", "f"),
    file="m.py",
    language="python",
    kind="function",
    qualname="f",
    signature="def f() -> int",
    estimated_loc=1,
    complexity=1,
)


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


async def test_examples_do_not_wait_and_planning_is_told_why(tmp_path: Path) -> None:
    url = _dead_url()
    index = PatternIndex(Settings(workdir=tmp_path, chroma_url=url))
    examples = index.examples(["team-a"])
    assert await examples(ATOM) == []  # the index is still opening: no waiting for it
    with pytest.raises(RetrievalUnavailable, match=f"cannot reach Chroma at {url}"):
        await index.open()
    with pytest.raises(RetrievalUnavailable):  # a failed opening is tried again, not cached
        await index.source("python", ["team-a"])("hash a password")
    assert await examples(ATOM) == []
