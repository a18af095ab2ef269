"""The sandbox batch format: what the runner is asked to run, and what it reports back.

One JSON document in (:class:`SandboxBatch`), one out (:class:`SandboxResult`) — the same for a
local run (``mge sandbox run BATCH.json``) and for the sandbox Job image, where the batch comes
from a mounted file and the result goes to the pod log. camelCase on the wire like every model.

A batch holds the atoms of one dependency-graph level (or part of it). Each atom runs in its own
folder holding the batch's ``sharedFiles`` (already validated modules) overlaid with the atom's
own ``files``; one atom's failure is that atom's only.
"""

from __future__ import annotations

import itertools
import re
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Literal

from pydantic import Field, field_validator, model_validator

from mge.models.base import WireModel
from mge.models.execution import CheckResult

SandboxLanguage = Literal["python", "javascript", "typescript"]
CaseStatus = Literal["passed", "failed", "error", "skipped"]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
"""Batch and atom ids: safe as folder names and Kubernetes label values."""
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
PLUGIN_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.]{0,127}$"

DEFAULT_TIMEOUT_SECONDS = 30.0
"""Wall-clock limit per atom, seconds (the whole process group is killed after it)."""
DEFAULT_MEMORY_MB = 512
"""Memory per atom, MiB: a memory cgroup limit where one is available, else address space."""
DEFAULT_MAX_PROCESSES = 64
"""Processes *and threads* per atom (Node alone starts about 11 threads)."""
DEFAULT_MAX_FILE_SIZE_MB = 64
"""Largest file an atom may write, MiB (RLIMIT_FSIZE)."""
DEFAULT_MAX_OPEN_FILES = 256
"""Open file descriptors per process (RLIMIT_NOFILE)."""
DEFAULT_MAX_OUTPUT_BYTES = 1_048_576
"""stdout + stderr bytes per atom; more and the atom is killed and reported ``output_limit``."""
DEFAULT_TMP_SIZE_MB = 64
"""Size of the private /tmp (a tmpfs under bubblewrap), MiB."""

MAX_ITEMS = 1000
"""Atoms per batch; a bigger level is split into several batches."""
MAX_BATCH_BYTES = 64 * 1024 * 1024
"""All file contents of a batch together (shared files count once per atom), bytes."""
MAX_PATH_CHARS = 512
RESERVED_PREFIX = ".mge-"
"""Top-level names the runner uses inside an atom folder (reports, private tmp)."""
RESERVED_ENV = frozenset(
    {"PATH", "TMPDIR", "PYTHONPATH", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "LD_PRELOAD"}
)
"""Variables the runner sets itself; a batch may not override them."""

TAIL_BYTES = 65536
"""How much of the end of stdout and of stderr an outcome keeps."""
MAX_MESSAGE_CHARS = 2000
"""Longest failure message kept per test case."""


def check_relative_path(path: str) -> str:
    """Return ``path`` if it is a safe relative POSIX path inside an atom folder, else raise.

    Refused: empty, absolute, ``.``/``..`` parts, backslashes, NUL, empty parts, names the runner
    reserves (``.mge-*`` at the top). This is what keeps a batch from writing outside its folder.
    """
    if not path or len(path) > MAX_PATH_CHARS:
        raise ValueError(f"path must be 1..{MAX_PATH_CHARS} characters: {path!r}")
    if "\\" in path or "\x00" in path:
        raise ValueError(f"path may not contain a backslash or NUL: {path!r}")
    if path.startswith("/"):
        raise ValueError(f"path must be relative: {path!r}")
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"path may not contain empty, '.' or '..' parts: {path!r}")
    if parts[0].startswith(RESERVED_PREFIX):
        raise ValueError(f"top-level names starting {RESERVED_PREFIX!r} are reserved: {path!r}")
    return str(PurePosixPath(path))


def _check_files(files: dict[str, str]) -> dict[str, str]:
    for p in files:
        check_relative_path(p)
    paths = sorted(files)
    for a, b in itertools.pairwise(paths):
        if b.startswith(a + "/"):
            raise ValueError(f"{a!r} is a file and also a folder of {b!r}")
    return files


class SandboxLimits(WireModel):
    """Per-atom limits. Defaults suit one ~10-line atom and its unit tests."""

    timeout_seconds: float = Field(
        default=DEFAULT_TIMEOUT_SECONDS, gt=0, le=3600, description="Wall clock per atom, s."
    )
    cpu_seconds: int | None = Field(
        default=None, ge=1, le=3600, description="CPU time per process, s (default: the timeout)."
    )
    memory_mb: int = Field(default=DEFAULT_MEMORY_MB, ge=32, le=65536, description="MiB.")
    max_processes: int = Field(default=DEFAULT_MAX_PROCESSES, ge=4, le=4096)
    max_file_size_mb: int = Field(default=DEFAULT_MAX_FILE_SIZE_MB, ge=1, le=16384)
    max_open_files: int = Field(default=DEFAULT_MAX_OPEN_FILES, ge=16, le=65536)
    max_output_bytes: int = Field(default=DEFAULT_MAX_OUTPUT_BYTES, ge=1024, le=1 << 30)
    tmp_size_mb: int = Field(default=DEFAULT_TMP_SIZE_MB, ge=1, le=16384)


class SandboxItem(WireModel):
    """One atom to check: the files to write and what to run."""

    atom_id: str = Field(pattern=NAME_PATTERN)
    files: dict[str, str] = Field(
        default_factory=dict, description="Relative path -> text, written over the shared files."
    )
    test_files: list[str] = Field(
        default_factory=list, description="Test files (from files or sharedFiles) to run."
    )
    command: list[str] | None = Field(
        default=None,
        min_length=1,
        description="argv to run instead of the language's test runner (no shell). 'python' and "
        "'node' name the sandbox's interpreters.",
    )
    timeout_seconds: float | None = Field(
        default=None, gt=0, le=3600, description="Overrides limits.timeoutSeconds for this atom."
    )

    @field_validator("files")
    @classmethod
    def _safe_files(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_files(v)

    @field_validator("test_files")
    @classmethod
    def _safe_tests(cls, v: list[str]) -> list[str]:
        return [check_relative_path(p) for p in v]

    @model_validator(mode="after")
    def _something_to_run(self) -> SandboxItem:
        if not self.test_files and self.command is None:
            raise ValueError(f"atom {self.atom_id}: give testFiles or a command")
        return self


class SandboxBatch(WireModel):
    """A batch of atoms of one language, run at once with bounded concurrency."""

    batch_id: str = Field(pattern=NAME_PATTERN)
    language: SandboxLanguage
    limits: SandboxLimits = Field(default_factory=SandboxLimits)
    shared_files: dict[str, str] = Field(
        default_factory=dict, description="Files every atom sees (validated modules, fixtures)."
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment variables (never secrets)."
    )
    pytest_plugins: list[str] = Field(
        default_factory=list,
        description="Pytest plugins to load with -p (autoload is off: it costs ~1 s per atom).",
    )
    items: list[SandboxItem] = Field(min_length=1, max_length=MAX_ITEMS)

    @field_validator("shared_files")
    @classmethod
    def _safe_shared(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_files(v)

    @field_validator("env")
    @classmethod
    def _safe_env(cls, v: dict[str, str]) -> dict[str, str]:
        for k, val in v.items():
            if not re.match(ENV_NAME_PATTERN, k):
                raise ValueError(f"env name {k!r} must match {ENV_NAME_PATTERN}")
            if k in RESERVED_ENV:
                raise ValueError(f"env {k} is set by the runner and cannot be overridden")
            if "\x00" in val:
                raise ValueError(f"env {k} contains NUL")
        return v

    @field_validator("pytest_plugins")
    @classmethod
    def _safe_plugins(cls, v: list[str]) -> list[str]:
        for name in v:
            if not re.match(PLUGIN_PATTERN, name):
                raise ValueError(f"pytest plugin {name!r} must match {PLUGIN_PATTERN}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> SandboxBatch:
        ids = [i.atom_id for i in self.items]
        dupes = sorted({a for a in ids if ids.count(a) > 1})
        if dupes:
            raise ValueError(f"duplicate atom ids: {', '.join(dupes)}")
        shared_bytes = sum(len(c.encode()) for c in self.shared_files.values())
        total = 0
        for item in self.items:
            merged = {**self.shared_files, **item.files}
            _check_files(merged)
            missing = [t for t in item.test_files if t not in merged]
            if missing:
                raise ValueError(f"atom {item.atom_id}: test files not given: {missing}")
            total += shared_bytes + sum(len(c.encode()) for c in item.files.values())
        if total > MAX_BATCH_BYTES:
            raise ValueError(f"batch holds {total} bytes of files; the limit is {MAX_BATCH_BYTES}")
        return self

    def timeout_for(self, item: SandboxItem) -> float:
        """The wall-clock limit that applies to ``item``."""
        return item.timeout_seconds or self.limits.timeout_seconds


class AtomStatus(StrEnum):
    """How an atom's run ended. Only ``passed`` counts as validated."""

    PASSED = "passed"
    FAILED = "failed"
    """Its tests ran and at least one failed."""
    ERROR = "error"
    """It could not be tested: syntax/import/collection error, no report, bad exit."""
    NO_TESTS = "no_tests"
    TIMEOUT = "timeout"
    CPU_LIMIT = "cpu_limit"
    OOM = "oom"
    PROCESS_LIMIT = "process_limit"
    FILE_LIMIT = "file_limit"
    OUTPUT_LIMIT = "output_limit"
    KILLED = "killed"
    """Ended by a signal nobody in the runner sent (segfault, abort, …)."""
    SANDBOX_ERROR = "sandbox_error"
    """The sandbox itself failed for this atom; not the code's fault, worth a plain retry."""


class CaseOutcome(WireModel):
    """One test case from the runner's JUnit report (pytest or node --test)."""

    name: str
    classname: str = ""
    status: CaseStatus
    message: str = Field(default="", description=f"Failure text, ≤{MAX_MESSAGE_CHARS} chars.")
    duration_s: float = 0.0


class AtomOutcome(WireModel):
    """What happened to one atom."""

    atom_id: str
    status: AtomStatus
    passed: bool
    exit_code: int | None = Field(default=None, description="None when ended by a signal.")
    signal: str | None = Field(default=None, description="e.g. SIGKILL, when ended by one.")
    duration_s: float = 0.0
    stdout_tail: str = Field(default="", description=f"Last ≤{TAIL_BYTES} bytes of stdout.")
    stderr_tail: str = ""
    stdout_bytes: int = Field(default=0, description="Bytes read from stdout in all.")
    stderr_bytes: int = 0
    cases: list[CaseOutcome] = Field(default_factory=list)
    detail: str = Field(default="", description="One paragraph for a person or a retry prompt.")

    @model_validator(mode="after")
    def _passed_matches_status(self) -> AtomOutcome:
        if self.passed != (self.status is AtomStatus.PASSED):
            raise ValueError(f"passed={self.passed} contradicts status {self.status.value}")
        return self

    def failures(self) -> list[CaseOutcome]:
        """Cases that failed or errored."""
        return [c for c in self.cases if c.status in ("failed", "error")]

    def as_check(self, name: str = "tests") -> CheckResult:
        """This outcome as one validation check; a failure's detail is what a retry is told."""
        return CheckResult(name=name, passed=self.passed, detail="" if self.passed else self.detail)


class SandboxResult(WireModel):
    """The runner's answer for a batch: one outcome per atom, in batch order."""

    batch_id: str
    isolation: str = Field(description="bwrap, unshare, pod or none.")
    isolation_detail: list[str] = Field(
        default_factory=list, description="What contained the atoms (namespaces, cgroups, limits)."
    )
    warnings: list[str] = Field(default_factory=list)
    concurrency: int = 1
    duration_s: float = 0.0
    outcomes: list[AtomOutcome] = Field(default_factory=list)

    def outcome(self, atom_id: str) -> AtomOutcome:
        """The outcome of one atom; KeyError if the batch had no such atom."""
        for o in self.outcomes:
            if o.atom_id == atom_id:
                return o
        raise KeyError(atom_id)

    @property
    def passed_count(self) -> int:
        """Atoms that passed."""
        return sum(o.passed for o in self.outcomes)
