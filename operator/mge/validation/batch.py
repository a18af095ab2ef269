"""L1 atom validation, a batch at a time: static checks, one type check, sandboxed tests.

:class:`BatchValidator` is the seam both drivers implement: ``validate(level, batch_index,
candidates, visible)`` returns a ValidationResult per atom id. :class:`LocalBatchValidator` is
the local one; the operator's runs the same :func:`prepare` and ships the jobs as one Kubernetes
Job per batch. The checks, in order (a failed static check skips the rest for that candidate;
the type check and the sandbox run at the same time, and a type error drops the sandbox's
outcome):

1. ``parse``     the code and the assembled file parse with no ERROR/MISSING node (tree-sitter)
2. ``signature`` a definition in the code keeps the skeleton's signature
3. ``compile``   Python: the assembled file byte-compiles (``compile()``; nothing is executed)
4. ``types``     mypy (Python) and strict ``tsc --noEmit`` (TypeScript) over the batch's
                 assembled files, one run each; errors inside the atom's span are its own
5. ``import``    the atom's module imports in the sandbox
6. ``tests``     the atom's unit tests pass in the sandbox; a test that fails only because it
                 reaches a function with no code yet (a marked stub) is deferred to
                 progressive integration
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from mge.errors import InputError
from mge.models.atoms import AtomicUnit
from mge.models.execution import CheckResult, ValidationResult
from mge.validation.codebase import Codebase, python_module_name, stub_failures
from mge.validation.diagnosis import truncate
from mge.validation.runner import TestJob, TestOutcome, TestRunner
from mge.validation.source import definitions, normalize_signature, syntax_errors
from mge.validation.typecheck import TypeChecker, attribute

T = TypeVar("T")

CHECK_THREADS = 2
"""Worker threads for the in-process checks' CPU work (parsing, rendering). The GIL runs one of
them at a time anyway; a pool of their own keeps the default executor, which the API calls and
file writes share, free while a large batch is prepared."""
_CHECKS = ThreadPoolExecutor(max_workers=CHECK_THREADS, thread_name_prefix="mge-checks")


async def off_loop(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` in a check thread: the event loop runs on meanwhile."""
    return await asyncio.get_running_loop().run_in_executor(_CHECKS, functools.partial(fn, *args))


DEFERRED = "deferred"
"""Detail prefix of a ``tests`` check that passed because no unit test could run yet."""

STATIC_CHECKS = ("parse", "signature", "compile")


@dataclass(frozen=True)
class Candidate:
    """Code proposed for one atom by one attempt."""

    atom_id: str
    attempt: int
    code: str

    @property
    def code_hash(self) -> str:
        """sha256 of the code (identifies the candidate in Job names and caches)."""
        return hashlib.sha256(self.code.encode()).hexdigest()


def batch_fingerprint(candidates: Sequence[Candidate]) -> str:
    """A short, order-independent hash of a batch: a repeatable part of a Job name."""
    blob = "\n".join(sorted(f"{c.atom_id}:{c.attempt}:{c.code_hash}" for c in candidates))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


class BatchValidator(Protocol):
    """Validates the candidates of one batch of one level; returns a result per atom id."""

    async def validate(
        self,
        level: int,
        batch_index: int,
        candidates: list[Candidate],
        visible: Mapping[str, str] | None = None,
    ) -> dict[str, ValidationResult]:
        """An L1 ValidationResult for every candidate's atom id, checked against the validated
        code ``visible`` (default: what the workspace shows a batch of ``level``; the executor
        passes the view recorded with the batch, see mge.execution.views)."""
        ...


@dataclass
class Workspace:
    """The codebase plus the code accepted so far; shared by generator and validator."""

    codebase: Codebase
    validated: dict[str, str] = field(default_factory=dict)
    level_of: dict[str, int] | None = None
    """Each atom's graph level, set while levels overlap (dependency-ready dispatch): a batch
    of level k is then checked against the validated code of levels up to k only, as when the
    levels ran one after the other — code of later levels validated meanwhile is not in its
    tree (which is part of its Job name)."""

    def visible(self, level: int) -> dict[str, str]:
        """The validated code a batch of ``level`` is checked against (see ``level_of``)."""
        if self.level_of is None:
            return dict(self.validated)
        return {a: c for a, c in self.validated.items() if self.level_of.get(a, level) <= level}


@dataclass(frozen=True)
class Prepared:
    """A candidate after the static checks, with what the sandbox must run for it."""

    candidate: Candidate
    atom: AtomicUnit
    static: tuple[CheckResult, ...]
    job: TestJob | None

    @property
    def statically_ok(self) -> bool:
        """True when every static check passed (the candidate goes on to mypy and the sandbox)."""
        return all(c.passed for c in self.static)


def static_checks(
    codebase: Codebase, atom: AtomicUnit, code: str, assembled: str | None
) -> list[CheckResult]:
    """Parse, signature and compile checks of one candidate (pure, runs nothing)."""
    language = codebase.language(atom.file)
    if not code.strip():
        return [CheckResult(name="parse", passed=False, detail="the answer held no code")]
    errors = syntax_errors(code, language)
    if errors and language != "python" and not syntax_errors(as_class_member(code), language):
        errors = []  # a TS/JS method answered on its own parses only inside a class body
    if not errors and assembled is not None:
        errors = syntax_errors(assembled, language)
        where = f"in {atom.file} after splicing the body: "
    else:
        where = ""
    if errors:
        detail = where + "syntax error at " + "; ".join(str(e) for e in errors)
        return [CheckResult(name="parse", passed=False, detail=detail)]
    checks = [CheckResult(name="parse", passed=True)]
    checks.append(_signature_check(codebase, atom, code))
    if language == "python" and assembled is not None:
        checks.append(_compile_check(atom.file, assembled))
    return checks


def as_class_member(code: str) -> str:
    """``code`` inside a class body, where a bare TS/JS method (``add(x: T): R { … }``) parses."""
    return "class MgeMember {\n" + code + "\n}\n"


def _signature_check(codebase: Codebase, atom: AtomicUnit, code: str) -> CheckResult:
    language = codebase.language(atom.file)
    expected = definitions(codebase.files[atom.file], language).get(atom.qualname)
    written = definitions(code, language)
    last = atom.qualname.rsplit(".", 1)[-1]
    mine = written.get(atom.qualname) or next(
        (d for q, d in written.items() if q.rsplit(".", 1)[-1] == last), None
    )
    if expected is None or mine is None or expected.kind == "class":
        return CheckResult(name="signature", passed=True)
    if normalize_signature(mine.signature) == normalize_signature(expected.signature):
        return CheckResult(name="signature", passed=True)
    # Parameter names and annotations must match; `self`-less method headers are compared too.
    return CheckResult(
        name="signature",
        passed=False,
        detail=f"signature changed: expected `{expected.signature}`, got `{mine.signature}`",
    )


def _compile_check(path: str, source: str) -> CheckResult:
    try:
        compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as e:
        return CheckResult(
            name="compile", passed=False, detail=f"{type(e).__name__}: {e.msg} (line {e.lineno})"
        )
    except ValueError as e:  # null bytes
        return CheckResult(name="compile", passed=False, detail=str(e))
    return CheckResult(name="compile", passed=True)


def prepare(
    codebase: Codebase,
    validated: Mapping[str, str],
    candidate: Candidate,
    base_files: Mapping[str, str] | None = None,
) -> Prepared:
    """Static checks and the sandbox job for one candidate (pure).

    The job's tree holds the validated code of every other atom plus this candidate, and a
    marked stub (``MGE-STUB``) for every atom without code, so the candidate is tested against
    exactly the dependency code it was generated with, and a test that reaches unwritten code
    says so. All of the atom's tests run: one that fails only by reaching unwritten code is
    deferred to integration (see :func:`outcome_checks`), whatever the coverage data said.
    ``base_files``: ``codebase.render(validated, stub_missing=True)`` when the caller already
    has it (a batch renders it once for all its candidates).
    """
    atom = codebase.atoms[candidate.atom_id]
    codes = {**validated, atom.id: candidate.code}
    try:
        assembled: str | None = codebase.render_file(atom.file, codes).source
    except InputError as e:  # a body that cannot be spliced is a parse failure of this candidate
        assembled = None
        static: list[CheckResult] = [
            CheckResult(name="parse", passed=False, detail=f"cannot splice the body: {e}")
        ]
    else:
        static = static_checks(codebase, atom, candidate.code, assembled)
    if not all(c.passed for c in static):
        return Prepared(candidate, atom, tuple(static), None)
    base = base_files if base_files is not None else codebase.render(validated, stub_missing=True)
    files = {**base, atom.file: codebase.render_file(atom.file, codes, stub_missing=True).source}
    module = python_module_name(atom.file) if codebase.language(atom.file) == "python" else None
    job = TestJob(
        id=atom.id,
        files=files,
        tests=tuple(codebase.tests_by_atom.get(atom.id, [])),
        imports=(module,) if module else (),
        language=codebase.language(atom.file),
    )
    return Prepared(candidate, atom, tuple(static), job)


def outcome_checks(prepared: Prepared, outcome: TestOutcome | None) -> list[CheckResult]:
    """The ``import`` and ``tests`` checks from a sandbox outcome (pure)."""
    job = prepared.job
    if job is None:
        return []
    if outcome is None:
        return [CheckResult(name="tests", passed=False, detail="the sandbox returned no result")]
    checks: list[CheckResult] = []
    if job.imports:
        import_ok = not outcome.import_error and not (outcome.timed_out and not job.tests)
        detail = outcome.import_error or (outcome.error if not import_ok else "")
        checks.append(CheckResult(name="import", passed=import_ok, detail=truncate(detail)))
        if not import_ok:
            return checks
    if not job.tests:
        note = f"{DEFERRED}: the atom has no unit test of its own"
        checks.append(CheckResult(name="tests", passed=True, detail=note))
        return checks
    if outcome.passed:
        detail = f"{len(job.tests)} passed"
        checks.append(CheckResult(name="tests", passed=True, detail=detail))
        return checks
    waiting = _waiting_on_stubs(outcome)
    if waiting:
        passed = len(outcome.passed_tests)
        note = (
            f"{DEFERRED}: {passed} passed; {len(outcome.failed_tests)} reach code not written "
            f"yet ({', '.join(waiting)}) and wait for integration"
        )
        checks.append(CheckResult(name="tests", passed=True, detail=note))
        return checks
    checks.append(CheckResult(name="tests", passed=False, detail=_failure_text(outcome)))
    return checks


def _waiting_on_stubs(outcome: TestOutcome) -> list[str]:
    """The unwritten functions every failing test reached, when that explains every failure
    (no other failure, no timeout, no import error); [] otherwise."""
    if outcome.timed_out or outcome.import_error or not outcome.failed_tests:
        return []
    reached: list[str] = []
    for test in outcome.failed_tests:
        names = stub_failures(outcome.details.get(test, ""))
        if not names:
            return []
        reached += [n for n in names if n not in reached]
    return reached


def _failure_text(outcome: TestOutcome) -> str:
    parts = []
    if outcome.timed_out:
        parts.append("timed out: " + (outcome.error or "the run exceeded its time limit"))
    elif outcome.error:
        parts.append(outcome.error)
    for test in outcome.failed_tests:
        parts.append(f"FAILED {test}\n{outcome.details.get(test, '')}".rstrip())
    if not parts or not outcome.details:
        parts.append(outcome.output)
    return truncate("\n".join(p for p in parts if p))


def result_of(prepared: Prepared, extra: Sequence[CheckResult]) -> ValidationResult:
    """The L1 ValidationResult of one candidate from its static and later checks."""
    checks = [*prepared.static, *extra]
    return ValidationResult(
        level="L1",
        subject=prepared.candidate.atom_id,
        passed=all(c.passed for c in checks),
        checks=checks,
    )


class LocalBatchValidator:
    """Validates a batch here: static checks in-process, mypy as a subprocess, tests in the
    injected sandbox runner (one job per candidate, run concurrently by the runner)."""

    def __init__(
        self,
        workspace: Workspace,
        runner: TestRunner,
        typechecker: TypeChecker | None = None,
    ) -> None:
        self.workspace = workspace
        self.runner = runner
        self.typechecker = typechecker

    @property
    def codebase(self) -> Codebase:
        """The codebase being validated."""
        return self.workspace.codebase

    async def validate(
        self,
        level: int,
        batch_index: int,
        candidates: list[Candidate],
        visible: Mapping[str, str] | None = None,
    ) -> dict[str, ValidationResult]:
        """L1 results for the batch (``level``/``batch_index`` only label it locally)."""
        # a copy: the thread below reads it alone
        validated = dict(visible) if visible is not None else self.workspace.visible(level)
        prepared = await off_loop(self._prepare, validated, candidates)
        ok = [p for p in prepared if p.statically_ok]
        jobs = [p.job for p in ok if p.job is not None]
        # The type check and the sandbox run side by side: neither needs the other's verdict,
        # so the batch's sandbox run no longer waits for mypy/tsc. A candidate that fails its
        # type check costs a sandbox run whose outcome is dropped (its result stops at types).
        checking = asyncio.ensure_future(self._types(validated, ok))
        try:
            outcomes = await self.runner.run(jobs) if jobs else {}
        except BaseException:  # the run's own error goes up as it is, the type check is dropped
            checking.cancel()
            await asyncio.gather(checking, return_exceptions=True)
            raise
        type_checks = await checking
        results: dict[str, ValidationResult] = {}
        for p in prepared:
            extra: list[CheckResult] = []
            if p.statically_ok:
                extra.append(type_checks[p.atom.id])
                if extra[0].passed:
                    extra += outcome_checks(p, outcomes.get(p.atom.id))
            results[p.atom.id] = result_of(p, extra)
        return results

    def _prepare(self, validated: Mapping[str, str], candidates: list[Candidate]) -> list[Prepared]:
        """The static checks and sandbox jobs of a batch. Parsing and rendering every file is
        CPU work (seconds per batch for hundreds of atoms on a busy machine), so the callers
        run it in a worker thread: the event loop (the operator's watches and its Lease) goes on
        meanwhile. Pure apart from the codebase's assembly cache."""
        base = self.codebase.render(validated, stub_missing=True)
        return [prepare(self.codebase, validated, c, base) for c in candidates]

    def _typed_files(
        self, codes: Mapping[str, str], python: list[Prepared]
    ) -> tuple[dict[str, str], dict[str, dict[str, tuple[int, int]]]]:
        """The files the type checker reads, and where each candidate's definition is in them
        (CPU work like :meth:`_prepare`, run in a worker thread for the same reason)."""
        files = self.codebase.render(codes, stub_missing=True)
        spans: dict[str, dict[str, tuple[int, int]]] = {}
        for path in sorted({p.atom.file for p in python}):
            assembly = self.codebase.render_file(path, codes, stub_missing=True)
            owner = {p.atom.qualname: p.atom.id for p in python if p.atom.file == path}
            spans[path] = {owner[q]: span for q, span in assembly.spans.items() if q in owner}
        return files, spans

    async def _types(
        self, validated: Mapping[str, str], ok: list[Prepared]
    ) -> dict[str, CheckResult]:
        checker = self.typechecker
        # no checker at all was asked for (the eval harness); otherwise name a missing one
        covered = checker.languages if checker is not None and checker.available else ()
        if checker is None:
            covered = tuple(MISSING_CHECKER)
        verdicts = {
            p.atom.id: CheckResult(
                name="types",
                passed=True,
                detail=unchecked_reason(self.codebase.language(p.atom.file), covered),
            )
            for p in ok
        }
        if checker is None or not checker.available:
            return verdicts
        python = [p for p in ok if self.codebase.language(p.atom.file) in checker.languages]
        if not python:
            return verdicts
        codes = {**validated, **{p.atom.id: p.candidate.code for p in python}}
        files, spans = await off_loop(self._typed_files, codes, python)
        issues = await checker.check(files, sorted(spans))
        owned = attribute(issues, spans)
        for p in python:
            mine = owned.get(p.atom.id, [])
            lines = files[p.atom.file].splitlines()
            shown = [f"{i}\n    > {_line(lines, i.line)}" for i in mine]
            verdicts[p.atom.id] = CheckResult(
                name="types", passed=not mine, detail=truncate("\n".join(shown))
            )
        return verdicts


MISSING_CHECKER = {
    "typescript": "tsc not found: run scripts/install.sh (python -m mge.sandbox.nodetools install)",
    "python": "mypy not installed for this interpreter",
}


def unchecked_reason(language: str, covered: Sequence[str]) -> str:
    """Why an atom was not type-checked (a missing checker is named, with how to install it)."""
    if language in covered or language not in MISSING_CHECKER:
        return "not type-checked"
    return "not type-checked: " + MISSING_CHECKER[language]


def _line(lines: list[str], number: int) -> str:
    return lines[number - 1].strip() if 1 <= number <= len(lines) else ""
