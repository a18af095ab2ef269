"""Assemble an example project from its hand-written recordings, the way `mge run` would.

The recordings of an example (``examples/<name>/recordings/*.yaml``) hold, besides discovery and
the plan, one ``skeleton/<task-id>`` answer per task (``### path`` sections with a fenced block
each) and one ``atom/<atom-id>/attempt-<n>`` answer per attempt of every atom. This module reads
them with the scripted provider's own loader, parses the skeletons, atomizes them with the real
atomizer, orders the atoms with the real dependency analyzer and splices chosen attempts into the
skeleton with the real :class:`~mge.validation.codebase.Codebase`, so the guard tests check the
recordings against the pipeline's own idea of atoms, levels and tests.

Running code is the only I/O: :func:`write_tree` writes a folder, :func:`run_pytest` runs plain
``python -m pytest`` in it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mge.atomization import RecursiveDecomposer
from mge.graph import DependencyAnalyzer
from mge.llm import extract_code
from mge.llm.recordings import RecordedResponse, load_folder
from mge.models import AtomicUnit
from mge.planning.skeleton import skeleton_files  # the parser `mge run` itself uses
from mge.sandbox.junit import parse_junit
from mge.validation.codebase import Codebase

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
EXAMPLE_NAMES: tuple[str, ...] = ("bookmarks-sql", "inventory-lib", "tasks-api")
"""Examples whose skeleton and atom recordings are written (all of them)."""

SKELETON_KEY = re.compile(r"^skeleton/(?P<task>T-\d+)$")
ATOM_KEY = re.compile(r"^atom/(?P<atom>[^/]+)/attempt-(?P<number>\d+)$")
REVIEW_KEY = re.compile(r"^review/(?P<atom>[^/]+)$")
OTHER_KEYS = frozenset({"discovery", "plan"})
"""Keys of the earlier phases, recorded in discovery.yaml and plan.yaml."""

PYTEST_TIMEOUT_SECONDS = 120.0
"""A pytest run of an assembled example longer than this counts as a failure."""

JUNIT_REPORT = ".pytest-report.xml"
"""Where :func:`run_pytest` has pytest write its JUnit report, inside the run's folder."""


def plan_tasks(plan_answer: str) -> dict[str, list[str]]:
    """Task id → the files the task owns, from the recorded masterplan JSON."""
    plan = json.loads(plan_answer)
    return {
        task["id"]: list(task["files"])
        for phase in plan["phases"]
        for milestone in phase["milestones"]
        for task in milestone["tasks"]
    }


@dataclass(frozen=True)
class ExampleRecordings:
    """An example's recordings, read and analysed with the pipeline's own parts."""

    name: str
    responses: Mapping[str, tuple[RecordedResponse, ...]]
    tasks: Mapping[str, list[str]]
    """Task id → files, from the plan."""
    skeletons: Mapping[str, Mapping[str, str]]
    """Task id → the files its skeleton answer writes."""
    codebase: Codebase
    levels: list[list[str]]
    attempts: Mapping[str, list[str]]
    """Atom id → the code of each recorded attempt, attempt 1 first."""
    reviews: Mapping[str, str]
    """Atom id → the recorded review suggestion."""

    @property
    def atoms(self) -> Mapping[str, AtomicUnit]:
        """Atoms by id."""
        return self.codebase.atoms

    def level_of(self, atom_id: str) -> int:
        """The execution level of an atom."""
        return next(k for k, level in enumerate(self.levels) if atom_id in level)

    def final_codes(self) -> dict[str, str]:
        """Each atom's code from its LAST recorded attempt (what the run ends with)."""
        return {atom_id: codes[-1] for atom_id, codes in self.attempts.items() if codes}

    def validated_before(self, atom_id: str) -> set[str]:
        """Atoms of the levels before this atom's: validated when it is generated."""
        k = self.level_of(atom_id)
        return {a for level in self.levels[:k] for a in level}

    def l1_tests(self, atom_id: str) -> list[str]:
        """The unit tests L1 validation runs for the atom: all of its own tests."""
        return list(self.codebase.tests_by_atom.get(atom_id, []))

    def l1_codes(self, atom_id: str, code: str) -> dict[str, str]:
        """The codes L1 tests ``code`` with: the final code of the atoms of earlier levels and
        this code; every other atom gets a marked ``MGE-STUB`` body when rendered."""
        before = self.validated_before(atom_id)
        codes = {a: c for a, c in self.final_codes().items() if a in before}
        return {**codes, atom_id: code}


def _only(responses: tuple[RecordedResponse, ...], key: str) -> str:
    if len(responses) != 1:
        raise ValueError(f"{key} is recorded {len(responses)} times; expected once")
    return responses[0].text


def load_example(name: str) -> ExampleRecordings:
    """Read, parse, atomize and order one example (see the module docstring)."""
    responses = load_folder(EXAMPLES / name / "recordings")
    tasks = plan_tasks(_only(responses["plan"], "plan"))
    skeletons = {
        m["task"]: skeleton_files(_only(r, key))
        for key, r in responses.items()
        if (m := SKELETON_KEY.match(key))
    }
    files = {path: text for task_files in skeletons.values() for path, text in task_files.items()}
    atomization = RecursiveDecomposer().atomize_skeleton(files, None)
    if atomization.errors:
        raise ValueError(f"{name}: skeleton syntax errors: {atomization.errors}")
    graph = DependencyAnalyzer("merge-untested").analyze(atomization.atoms, atomization.edges)
    numbered: dict[str, dict[int, str]] = {}
    for key, recorded in responses.items():
        if m := ATOM_KEY.match(key):
            code = extract_code(_only(recorded, key), "python")
            numbered.setdefault(m["atom"], {})[int(m["number"])] = code
    attempts = {a: [codes[n] for n in sorted(codes)] for a, codes in numbered.items()}
    reviews = {
        m["atom"]: _only(r, key) for key, r in responses.items() if (m := REVIEW_KEY.match(key))
    }
    return ExampleRecordings(
        name=name,
        responses=responses,
        tasks=tasks,
        skeletons=skeletons,
        codebase=Codebase(files, {a.id: a for a in atomization.atoms}),
        levels=[list(level) for level in graph.levels],
        attempts=attempts,
        reviews=reviews,
    )


def attempt_numbers(example: ExampleRecordings, atom_id: str) -> list[int]:
    """The attempt numbers recorded for an atom, sorted."""
    prefix = f"atom/{atom_id}/attempt-"
    return sorted(int(k[len(prefix) :]) for k in example.responses if k.startswith(prefix))


def write_tree(folder: Path, files: Mapping[str, str]) -> None:
    """Write ``files`` (relative path → text) under ``folder``."""
    for rel, text in files.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


@dataclass(frozen=True)
class PytestRun:
    """Exit code and output of one pytest run, and the message of each failed test."""

    returncode: int
    output: str
    failures: Mapping[str, str] = field(default_factory=dict)
    """Failed or erroring test → its message and traceback, from the JUnit report."""

    @property
    def passed(self) -> bool:
        """True when pytest exited 0 (every collected test passed)."""
        return self.returncode == 0

    def count(self, outcome: str) -> int:
        """How many tests ended with ``outcome`` (``passed``, ``failed``…) per the summary."""
        found = re.findall(rf"(\d+) {outcome}\b", self.output)
        return int(found[-1]) if found else 0


async def run_pytest(folder: Path, tests: Sequence[str] = ()) -> PytestRun:
    """Plain ``python -m pytest -q`` in ``folder`` (only ``tests`` when given)."""
    report = folder / JUNIT_REPORT
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={report}",
        *tests,
        cwd=folder,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), PYTEST_TIMEOUT_SECONDS)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return PytestRun(-1, f"pytest timed out after {PYTEST_TIMEOUT_SECONDS:g} s")
    failures = {}
    if report.exists():
        cases = parse_junit(report.read_bytes())
        failures = {
            f"{c.classname}.{c.name}": c.message for c in cases if c.status in ("failed", "error")
        }
    return PytestRun(proc.returncode or 0, out.decode(errors="replace"), failures)
