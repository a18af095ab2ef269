"""Retrieval as the operator runs it: StageRunner's pattern index on a real Chroma server.

The operator opens the shipped pattern library's index once (at the first query) and hands
every Project's planning a source over it. A Chroma server that does not answer means planning
without patterns, said plainly, never a stuck or failed Project; and a phase after Planning gets
the patterns the plan was made with from the checkpoint, with no index at hand.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mge.config import Settings
from mge.kube.stages import StageRunner
from mge.models.domain import (
    AcceptanceCriterion,
    BoundedContext,
    DiscoveryResult,
    DomainModel,
    Entity,
    TechStack,
)
from mge.models.project import ProjectSpec
from mge.pipeline.planning_stages import retrieval_stage
from mge.store import Store

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
KEY = "team-a/passwords"
DISCOVERY = DiscoveryResult(
    summary="user accounts with login; passwords stored safely (hashed), sessions expire",
    domain=DomainModel(contexts=[BoundedContext(name="Accounts", entities=[Entity(name="User")])]),
    stack=TechStack(language="python"),
    acceptance=[AcceptanceCriterion(id="AC-1", text="a stored password is never plain text")],
)


class Notes:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def phase(self, name: str, detail: str = "") -> None: ...

    def progress(self, done: int, total: int, detail: str = "") -> None: ...

    def note(self, message: str) -> None:
        self.lines.append(message)


def _dead_url() -> str:
    with socket.socket() as s:  # a port nobody listens on once the socket is closed
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


async def _retrieve(store: Store, settings: Settings, key: str) -> tuple[list[str], list[str]]:
    runner = StageRunner(store, settings)
    ctx = await runner.context(key)
    notes = Notes()
    ctx.reporter = notes
    try:
        refs = await retrieval_stage(ctx, DISCOVERY)
    finally:
        await ctx.aclose()
    return [r.pattern_id for r in refs], notes.lines


@pytest.mark.slow
async def test_operator_retrieves_from_a_chroma_server_and_degrades_without_one(
    chroma_server: str, tmp_path: Path
) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'mge.db'}")
    try:
        spec = ProjectSpec.model_validate(
            {
                "requirements": "accounts with safe passwords",
                "llm": {"provider": "scripted", "recordings": "inventory-lib/recordings"},
            }
        )
        for key in (KEY, "team-a/other"):
            await store.upsert_project(key, spec, 1)

        operator = {"recordings_root": EXAMPLES}
        served = Settings(workdir=tmp_path / "op", chroma_url=chroma_server, operator=operator)
        found, notes = await _retrieve(store, served, KEY)
        assert found, notes
        assert any("hash" in p for p in found), found  # the library's password-hashing pattern
        assert any(line.startswith("retrieval: ") and "patterns" in line for line in notes)

        gone = Settings(workdir=tmp_path / "op", chroma_url=_dead_url(), operator=operator)
        # A later phase: the checkpoint answers, the dead server is never asked.
        again, _ = await _retrieve(store, gone, KEY)
        assert again == found
        # A new Project while the server is down: planning goes on without patterns.
        none, notes = await _retrieve(store, gone, "team-a/other")
        assert none == []
        assert any("retrieval: unavailable" in line and "cannot reach" in line for line in notes)
    finally:
        await store.close()
