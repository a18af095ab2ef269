"""L2 module, L3 component and L4 system validation, above the per-atom L1 checks.

- **L2 module**: the module assembled with all its bodies parses, keeps every skeleton
  signature (API consistency), imports, and passes its tests.
- **L3 component**: the component's modules pass their tests together, and the architecture
  rule holds: no import across bounded contexts except through a declared interface module.
- **L4 system**: the whole generated test suite, and every acceptance criterion from discovery
  is checked by at least one passing test (a test names it, ``AC-3``, in its name, docstring or
  body, or lives in a test file of a task that lists it); a performance criterion is checked
  by its benchmark instead (the L3 performance verdict is passed in as ``measured``).

The rules are pure functions (tested with tables); :class:`HierarchicalValidator` runs the
tests through the same sandbox :class:`~mge.validation.runner.TestRunner` as L1.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from mge.models.domain import AcceptanceCriterion, DomainModel
from mge.models.execution import CheckResult, ValidationResult
from mge.models.plan import Task
from mge.validation.codebase import (
    TEST_ID_SEPARATOR,
    Codebase,
    is_test_file,
    language_of,
    python_module_name,
)
from mge.validation.diagnosis import truncate
from mge.validation.runner import TestJob, TestOutcome, TestRunner
from mge.validation.source import definitions, parse, syntax_errors

AC_PATTERN = re.compile(r"\bAC[-_ ]?(\d+)\b", re.I)
INTERFACE_NAMES = frozenset({"api", "interface", "interfaces", "ports", "__init__", "index"})
"""Module names that count as a bounded context's declared interface by default."""


# --- API consistency (L2) ---------------------------------------------------------------------


def api_mismatches(skeleton: str, assembled: str, path: str) -> list[str]:
    """Skeleton definitions missing from, or with another signature in, the assembled module."""
    language = language_of(path) or "python"
    want = definitions(skeleton, language)
    have = definitions(assembled, language)
    problems = []
    for qualname, d in want.items():
        got = have.get(qualname)
        if got is None:
            problems.append(f"{path}: `{qualname}` is missing")
        elif got.signature != d.signature:
            problems.append(
                f"{path}: `{qualname}` signature changed: `{d.signature}` → `{got.signature}`"
            )
    return problems


# --- architecture rule (L3) -------------------------------------------------------------------


def imports_of(path: str, source: str) -> list[str]:
    """Project-relative import targets of a file: Python dotted modules (relative imports
    resolved against the file's package) or TS/JS relative paths resolved to file paths
    without suffix."""
    language = language_of(path)
    if language is None:
        return []
    root = parse(source, language)
    found: list[str] = []
    if language == "python":
        package = (python_module_name(path) or "").split(".")[:-1]
        if path.endswith("__init__.py"):
            package = (python_module_name(path) or "").split(".")
        for node in root.children:
            if node.type == "import_statement":
                for name in node.children_by_field_name("name"):
                    target = (
                        name.child_by_field_name("name") if name.type == "aliased_import" else name
                    )
                    if target is not None:
                        found.append((target.text or b"").decode())
            elif node.type == "import_from_statement":
                module = node.child_by_field_name("module_name")
                if module is None:
                    continue
                text = (module.text or b"").decode()
                dots = len(text) - len(text.lstrip("."))
                if dots:
                    base = package[: len(package) - dots + 1] if dots > 1 else package
                    rest = text[dots:]
                    found.append(".".join([*base, *([rest] if rest else [])]))
                else:
                    found.append(text)
        return found
    for node in root.children:
        if node.type in ("import_statement", "export_statement"):
            src = node.child_by_field_name("source")
            if src is not None:
                spec = (src.text or b"").decode()[1:-1]
                if spec.startswith("."):
                    joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), spec))
                    found.append(posixpath.splitext(joined)[0])
    return found


def _module_index(paths: Iterable[str]) -> dict[str, str]:
    """Import name (Python dotted, or TS path without suffix) → file path."""
    index: dict[str, str] = {}
    for p in paths:
        name = python_module_name(p)
        if name:
            index[name] = p
        if language_of(p) in ("typescript", "javascript"):
            index[posixpath.splitext(p)[0]] = p
    return index


def context_of(path: str, contexts: Mapping[str, str]) -> str | None:
    """The bounded context of a file: the longest path prefix in ``contexts`` that holds it."""
    best: tuple[int, str] | None = None
    for prefix, name in contexts.items():
        norm = prefix.rstrip("/") + "/"
        if (path.startswith(norm) or path == prefix) and (best is None or len(norm) > best[0]):
            best = (len(norm), name)
    return best[1] if best else None


def contexts_from_domain(paths: Iterable[str], domain: DomainModel) -> dict[str, str]:
    """Folder prefix → context name, for folders named after a bounded context
    (``Billing`` / ``order management`` match ``billing/`` / ``order_management/``)."""
    wanted = {_slug(c.name): c.name for c in domain.contexts}
    found: dict[str, str] = {}
    for p in paths:
        parts = p.split("/")[:-1]
        for i, part in enumerate(parts):
            if _slug(part) in wanted:
                found["/".join(parts[: i + 1])] = wanted[_slug(part)]
                break
    return found


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def default_interfaces(paths: Iterable[str]) -> set[str]:
    """Files that are a context's public surface by name: api, interface(s), ports, package
    ``__init__``, ``index``."""
    return {p for p in paths if posixpath.splitext(posixpath.basename(p))[0] in INTERFACE_NAMES}


def architecture_violations(
    files: Mapping[str, str],
    contexts: Mapping[str, str],
    interfaces: Iterable[str],
    only: Iterable[str] | None = None,
) -> list[str]:
    """Imports from one bounded context into another that bypass the declared interfaces.

    ``files`` is the whole tree (so imports resolve); ``only`` limits which importing files
    are checked. Test files are exempt (a test may reach into what it tests). Imports of
    modules outside the project, or of files in no context (shared kernel), are allowed.
    """
    allowed = set(interfaces)
    index = _module_index(files)
    checked = sorted(set(only) & set(files)) if only is not None else sorted(files)
    problems = []
    for path in checked:
        here = context_of(path, contexts)
        if here is None or is_test_file(path):
            continue
        for target in imports_of(path, files[path]):
            dest = index.get(target) or index.get(target.rsplit(".", 1)[0])
            if dest is None:
                continue
            there = context_of(dest, contexts)
            if there is not None and there != here and dest not in allowed:
                problems.append(
                    f"{path} ({here}) imports {dest} ({there}) directly; "
                    f"go through {there}'s declared interface"
                )
    return problems


# --- acceptance criteria (L4) -----------------------------------------------------------------


def ac_mentions(codebase: Codebase) -> dict[str, set[str]]:
    """AC ids each test names in its name, docstring or body (``AC-3``, ``ac_3``…)."""
    mentions: dict[str, set[str]] = {}
    for path in codebase.test_files:
        source = codebase.files[path]
        language = language_of(path) or "python"
        defs = definitions(source, language) if language == "python" else {}
        data = source.encode()
        for test_id in (t for t in codebase.all_tests if t.startswith(path + TEST_ID_SEPARATOR)):
            parts = test_id.split(TEST_ID_SEPARATOR)[1:]
            d = defs.get(".".join(parts))
            text = data[d.start : d.end].decode() if d else parts[-1]
            ids = {f"AC-{int(m.group(1))}" for m in AC_PATTERN.finditer(text)}
            if ids:
                mentions[test_id] = ids
    return mentions


def acceptance_map(
    criteria: Sequence[AcceptanceCriterion], codebase: Codebase, tasks: Sequence[Task] = ()
) -> dict[str, list[str]]:
    """AC id → the tests that check it (by mention, or by owning task)."""
    by_ac: dict[str, list[str]] = {c.id: [] for c in criteria}
    for test_id, ids in ac_mentions(codebase).items():
        for ac in ids:
            if ac in by_ac:
                by_ac[ac].append(test_id)
    for task in tasks:
        test_files = [f for f in task.files if is_test_file(f)]
        for ac in task.acceptance:
            if ac not in by_ac:
                continue
            for t in codebase.all_tests:
                if t.split(TEST_ID_SEPARATOR)[0] in test_files and t not in by_ac[ac]:
                    by_ac[ac].append(t)
    return by_ac


def acceptance_checks(
    criteria: Sequence[AcceptanceCriterion],
    by_ac: Mapping[str, Sequence[str]],
    failed: Iterable[str],
    ran: Iterable[str],
) -> list[CheckResult]:
    """One check per criterion: passed when it has tests, all of which ran and passed."""
    failed_set, ran_set = set(failed), set(ran)
    checks = []
    for c in criteria:
        tests = list(by_ac.get(c.id, ()))
        if not tests:
            checks.append(CheckResult(name=c.id, passed=False, detail=f"no test checks: {c.text}"))
            continue
        bad = [t for t in tests if t in failed_set or t not in ran_set]
        detail = f"{len(tests) - len(bad)}/{len(tests)} tests pass" + (
            ": failing " + ", ".join(bad) if bad else ""
        )
        checks.append(CheckResult(name=c.id, passed=not bad, detail=detail))
    return checks


# --- the validator ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    """A group of modules validated together (graph boundaries give them)."""

    name: str
    paths: tuple[str, ...]


class HierarchicalValidator:
    """Runs L2/L3/L4 through a sandbox runner; results are ValidationResults."""

    def __init__(self, codebase: Codebase, runner: TestRunner) -> None:
        self.codebase = codebase
        self.runner = runner
        self._jobs = 0

    async def module(self, path: str, codes: Mapping[str, str]) -> ValidationResult:
        """L2: parse, API consistency, import, module tests."""
        assembled = self.codebase.render_file(path, codes, stub_missing=True).source
        language = self.codebase.language(path)
        errors = syntax_errors(assembled, language)
        checks = [
            CheckResult(name="parse", passed=not errors, detail="; ".join(str(e) for e in errors)),
        ]
        mismatches = api_mismatches(self.codebase.files[path], assembled, path)
        checks.append(CheckResult(name="api", passed=not mismatches, detail="\n".join(mismatches)))
        missing = [
            a.qualname for a in self.codebase.atoms_by_file.get(path, []) if a.id not in codes
        ]
        checks.append(
            CheckResult(
                name="complete",
                passed=not missing,
                detail=("bodies without validated code: " + ", ".join(missing)) if missing else "",
            )
        )
        tests = self.codebase.module_tests(path)
        checks += await self._run_checks(tests, codes, [path])
        return ValidationResult(
            level="L2", subject=path, passed=all(c.passed for c in checks), checks=checks
        )

    async def component(
        self,
        component: Component,
        codes: Mapping[str, str],
        contexts: Mapping[str, str] | None = None,
        interfaces: Iterable[str] | None = None,
    ) -> ValidationResult:
        """L3: the architecture rule over the component's files and its modules' tests."""
        files = self.codebase.render(codes, stub_missing=True)
        allowed = set(interfaces) if interfaces is not None else default_interfaces(files)
        problems = (
            architecture_violations(files, contexts, allowed, only=component.paths)
            if contexts
            else []
        )
        checks = [CheckResult(name="architecture", passed=not problems, detail="\n".join(problems))]
        tests = list(
            dict.fromkeys(t for p in component.paths for t in self.codebase.module_tests(p))
        )
        checks += await self._run_checks(tests, codes, list(component.paths))
        return ValidationResult(
            level="L3",
            subject=component.name,
            passed=all(c.passed for c in checks),
            checks=checks,
        )

    async def system(
        self,
        codes: Mapping[str, str],
        criteria: Sequence[AcceptanceCriterion] = (),
        tasks: Sequence[Task] = (),
        measured: Mapping[str, CheckResult] | None = None,
    ) -> ValidationResult:
        """L4: the full generated test suite, then one check per acceptance criterion
        (``measured``: criterion id → its benchmark's verdict, for performance criteria)."""
        tests = self.codebase.all_tests
        outcome = await self._run(tests, codes, sorted(self.codebase.atoms_by_file))
        failed = set(outcome.failed_tests) if outcome.failed_tests or outcome.passed else set(tests)
        checks = [_suite_check("suite", tests, outcome, failed)]
        by_ac = acceptance_map(criteria, self.codebase, tasks)
        benched = measured or {}
        tested = [c for c in criteria if c.id not in benched]
        results = {c.name: c for c in acceptance_checks(tested, by_ac, failed, tests)}
        checks += [
            benched[c.id].model_copy(update={"name": c.id}) if c.id in benched else results[c.id]
            for c in criteria
        ]
        return ValidationResult(
            level="L4", subject="system", passed=all(c.passed for c in checks), checks=checks
        )

    async def _run_checks(
        self, tests: list[str], codes: Mapping[str, str], paths: list[str]
    ) -> list[CheckResult]:
        outcome = await self._run(tests, codes, paths)
        checks = []
        imports_wanted = any(python_module_name(p) for p in paths)
        if imports_wanted:
            checks.append(
                CheckResult(
                    name="import",
                    passed=not outcome.import_error,
                    detail=truncate(outcome.import_error),
                )
            )
        failed = set(outcome.failed_tests) if outcome.failed_tests or outcome.passed else set(tests)
        checks.append(_suite_check("tests", tests, outcome, failed))
        return checks

    async def _run(
        self, tests: Sequence[str], codes: Mapping[str, str], paths: Sequence[str]
    ) -> TestOutcome:
        self._jobs += 1
        imports = tuple(m for m in (python_module_name(p) for p in paths if p.endswith(".py")) if m)
        job = TestJob(
            id=f"hierarchy-{self._jobs}",
            files=self.codebase.render(codes, stub_missing=True),
            tests=tuple(tests),
            imports=imports,
            language=self.codebase.language(paths[0]) if paths else "python",
        )
        outcomes = await self.runner.run([job])
        return outcomes.get(job.id) or TestOutcome(job.id, passed=False, error="no result")


def _suite_check(
    name: str, tests: Sequence[str], outcome: TestOutcome, failed: set[str]
) -> CheckResult:
    if not tests:
        return CheckResult(name=name, passed=outcome.passed, detail="no tests")
    bad = [t for t in tests if t in failed]
    if not bad and outcome.passed:
        return CheckResult(name=name, passed=True, detail=f"{len(tests)} passed")
    lines = [f"{len(tests) - len(bad)}/{len(tests)} passed"]
    lines += [f"FAILED {t}\n{outcome.details.get(t, '')}".rstrip() for t in bad]
    if outcome.error or (not outcome.details and outcome.output):
        lines.append(outcome.error or outcome.output)
    return CheckResult(name=name, passed=False, detail=truncate("\n".join(lines)))
