"""Type checking generated Python with mypy, once per batch, errors mapped back to atoms.

mypy reads code and never runs it, so it runs in the trusted process as a subprocess on a
temporary copy of the assembled files (the sandbox is for running code). One mypy run covers a
whole batch: every candidate of the batch is spliced in together (atoms of one level do not
depend on each other and signatures come from the skeleton, so an error inside an atom's span
is that atom's), and each error line is attributed to the candidate whose span holds it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

MYPY_TIMEOUT_SECONDS = 120.0
"""A mypy run over one batch longer than this is reported as a failed type check."""

MYPY_FLAGS: tuple[str, ...] = (
    "--config-file=",
    "--ignore-missing-imports",
    "--follow-imports=silent",
    "--explicit-package-bases",
    "--check-untyped-defs",
    "--disable-error-code=empty-body",
    "--no-error-summary",
    "--show-error-codes",
    "--no-color-output",
    "--hide-error-context",
    "--no-pretty",
)
"""Lenient on what the skeleton cannot control (third-party stubs, empty sibling bodies),
strict on the bodies (untyped defs are checked too)."""

MYPY_CONCURRENCY = max(1, os.cpu_count() or 1)
"""mypy runs in flight at once per process, whatever the number of checkers: each run is a
CPU-bound process of ~80 MB, and an operator with 50 Projects in Executing started 50 at once
(3.9 GB, and the sandbox pods starved past their deadlines; see
benchmarks/results/operator_scale.md)."""

_limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def checker_slots() -> asyncio.Semaphore:
    """The process-wide limit on type-checker runs (mypy, tsc), one semaphore per event loop."""
    loop = asyncio.get_running_loop()
    slots = _limits.get(loop)
    if slots is None:
        slots = _limits[loop] = asyncio.Semaphore(MYPY_CONCURRENCY)
    return slots


_LINE = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+):(?:\d+:)? (?P<sev>error|note): (?P<msg>.*)$")


@dataclass(frozen=True)
class TypeIssue:
    """One type error: file, 1-based line, message (with its error code)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class TypeChecker(Protocol):
    """Checks some files of a tree; the tree is given whole so imports resolve."""

    available: bool
    languages: tuple[str, ...]
    """The source languages whose files it checks."""

    async def check(self, files: Mapping[str, str], targets: Sequence[str]) -> list[TypeIssue]:
        """Errors found in ``targets`` (paths into ``files``)."""
        ...


def parse_mypy_output(text: str) -> list[TypeIssue]:
    """The ``error`` lines of mypy's output (notes are attached to nothing and dropped)."""
    issues = []
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if m and m.group("sev") == "error":
            issues.append(TypeIssue(m.group("path"), int(m.group("line")), m.group("msg")))
    return issues


class MypyChecker:
    """Runs ``python -m mypy`` (the running interpreter's) on a temporary copy of the files."""

    languages: tuple[str, ...] = ("python",)

    def __init__(
        self,
        cache_dir: Path | None = None,
        timeout_s: float = MYPY_TIMEOUT_SECONDS,
        python: str = sys.executable,
    ) -> None:
        self.cache_dir = cache_dir
        self.timeout_s = timeout_s
        self.python = python
        self.available = importlib.util.find_spec("mypy") is not None

    async def check(self, files: Mapping[str, str], targets: Sequence[str]) -> list[TypeIssue]:
        """mypy errors in ``targets``; a timeout is reported as one issue per target."""
        py_targets = [t for t in targets if t.endswith(".py")]
        if not py_targets:
            return []
        async with checker_slots():  # the timeout below counts from the start of the run
            return await self._run(files, py_targets)

    async def _run(self, files: Mapping[str, str], py_targets: Sequence[str]) -> list[TypeIssue]:
        async with checker_tree("mge-mypy-", files, (".py", ".pyi", ".typed")) as root:
            tmp = str(root)
            cache = self.cache_dir or root / ".mypy_cache"
            args = [self.python, "-m", "mypy", *MYPY_FLAGS, f"--cache-dir={cache}", *py_targets]
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "MYPYPATH": "src" if (root / "src").is_dir() else "",
                "HOME": tmp,
            }
            out = await run_checker(args, cwd=root, env=env, timeout_s=self.timeout_s)
        if out is None:
            return [
                TypeIssue(t, 1, f"mypy timed out after {self.timeout_s:g} s") for t in py_targets
            ]
        return parse_mypy_output(out)


class TypeCheckers:
    """Several checkers as one: each gets the targets of its languages (by file suffix)."""

    def __init__(self, *checkers: TypeChecker) -> None:
        self.checkers = tuple(c for c in checkers if c.available)
        self.available = bool(self.checkers)
        self.languages = tuple(lang for c in self.checkers for lang in c.languages)

    async def check(self, files: Mapping[str, str], targets: Sequence[str]) -> list[TypeIssue]:
        """The issues every checker found in the targets of its languages."""
        found: list[TypeIssue] = []
        for checker in self.checkers:
            found += await checker.check(files, targets)
        return found


def attribute(
    issues: Sequence[TypeIssue], spans: Mapping[str, Mapping[str, tuple[int, int]]]
) -> dict[str, list[TypeIssue]]:
    """Issues per owner: ``spans[path][owner] = (first, last)`` lines; others are dropped."""
    owned: dict[str, list[TypeIssue]] = {}
    for issue in issues:
        for owner, (first, last) in spans.get(issue.path, {}).items():
            if first <= issue.line <= last:
                owned.setdefault(owner, []).append(issue)
                break
    return owned


@asynccontextmanager
async def checker_tree(
    prefix: str, files: Mapping[str, str], suffixes: tuple[str, ...]
) -> AsyncIterator[Path]:
    """A temporary directory holding the ``files`` whose names end in one of ``suffixes``,
    written and removed in a worker thread: on a busy disk writing a codebase of hundreds of
    atoms can take seconds, which the event loop (and the Lease it renews) must not wait for."""
    root = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix=prefix))
    try:
        await asyncio.to_thread(write_tree, root, files, suffixes)
        yield root
    finally:
        await asyncio.to_thread(shutil.rmtree, root, True)


def write_tree(root: Path, files: Mapping[str, str], suffixes: tuple[str, ...]) -> None:
    """Write the ``files`` whose names end in one of ``suffixes`` under ``root``."""
    for rel, text in files.items():
        if rel.endswith(suffixes):
            dest = root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text, encoding="utf-8")


async def run_checker(
    args: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout_s: float
) -> str | None:
    """A type checker's merged stdout/stderr, or None when it ran past ``timeout_s`` (killed)."""
    proc = await asyncio.create_subprocess_exec(
        *args,
        cwd=cwd,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return None
    except asyncio.CancelledError:  # a cancelled check (its batch's run failed) stops its checker
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        raise
    return out.decode(errors="replace")
