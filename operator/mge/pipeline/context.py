"""What every stage needs: the project, its spec, and the collaborators passed in.

Both drivers build a :class:`RunContext` — `mge run` with SQLite, embedded Chroma and the local
sandbox; the operator with PostgreSQL and sandbox Jobs — and hand it to the same stage functions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mge.config import Settings
from mge.execution.prompting import ExampleSource
from mge.llm.client import LLMClient
from mge.models.project import ProjectSpec
from mge.pipeline.learning import LearnEntry
from mge.planning import PatternSource
from mge.store import Store

Learner = Callable[[Sequence[LearnEntry], str], Awaitable[Any]]
"""Stores learn entries under a scope (``namespace/project``) in the learned collection."""


class Reporter(Protocol):
    """Where progress goes: a progress bar locally, status and Events in the cluster."""

    def phase(self, name: str, detail: str = "") -> None:
        """A phase started."""

    def progress(self, done: int, total: int, detail: str = "") -> None:
        """Work inside a phase advanced."""

    def note(self, message: str) -> None:
        """Something worth a log line."""


class LogReporter:
    """A Reporter that writes plain log lines (no terminal needed)."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self._log = log

    def phase(self, name: str, detail: str = "") -> None:
        self._log(f"phase {name}" + (f": {detail}" if detail else ""))

    def progress(self, done: int, total: int, detail: str = "") -> None:
        self._log(f"  {done}/{total} {detail}".rstrip())

    def note(self, message: str) -> None:
        self._log(f"  {message}")


@dataclass(frozen=True)
class Memory:
    """Code learned across projects: examples while generating, and the learn step when the
    project completes. ``namespace`` is the project's (a fixed one for `mge run`)."""

    namespace: str
    project: str
    examples: ExampleSource | None
    """Learned examples per atom (only from the namespaces this project may see)."""
    learn: Learner


@dataclass
class RunContext:
    """One project run: identity, spec and collaborators."""

    key: str
    """Project key in the store: `name` locally, `namespace/name` in a cluster."""
    spec: ProjectSpec
    store: Store
    llm: LLMClient
    patterns: PatternSource | None
    """Retrieval; None runs without patterns (and says so)."""
    reporter: Reporter
    answers: dict[str, str] = field(default_factory=dict)
    """Answers to clarifying questions by id (file, terminal or spec.discovery.answers)."""
    workdir: Path = Path(".mge")
    settings: Settings | None = None
    """Process settings the stages need (the local validator's sandbox choice, workdir);
    every driver passes its own, a test context may leave it out."""
    memory: Memory | None = None
    """Learned code across projects; None: no examples, nothing learned."""
    planner: LLMClient | None = None
    """The client for discovery, masterplan and skeletons when ``spec.llm.planner`` names
    another model; None: ``llm`` does those too."""

    @property
    def planning_llm(self) -> LLMClient:
        """Who answers the planning stages (discovery, masterplan, skeletons)."""
        return self.planner or self.llm

    async def aclose(self) -> None:
        """Close the LLM clients this run opened (the store belongs to the driver)."""
        await self.llm.aclose()
        if self.planner is not None:
            await self.planner.aclose()


def input_hash(*parts: object) -> str:
    """A stable hash of a stage's inputs: a stage whose inputs hash the same is not re-run."""
    blob = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()
