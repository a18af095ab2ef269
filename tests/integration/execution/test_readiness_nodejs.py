"""L4 readiness for TypeScript and JavaScript with the real tools in the real local sandbox:
ESLint (lint and security rules), prettier, tsc --noEmit, detect-secrets and the offline
install + test check, on small generated trees with planted defects; each finding must name
the atom whose lines hold it.

Needs the pinned Node tools (``bash scripts/install.sh``), as every TypeScript sandbox run does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.integration.parts import missing_part

from mge.execution.readiness import ReadinessGate
from mge.models.atoms import AtomicUnit
from mge.models.readiness import ReadinessPolicy, ReadinessReport
from mge.models.sandbox import SandboxBatch, SandboxResult
from mge.sandbox.nodetools import find_node_modules
from mge.sandbox.runner import RunnerOptions, run_batch
from mge.validation.codebase import Codebase


@pytest.fixture(autouse=True)
def _node_tools() -> None:
    """The pinned Node tools: without them skip on a developer's machine, fail under CI."""
    if find_node_modules() is None:
        missing_part(
            "the pinned Node tools are not installed (bash scripts/install.sh installs them)"
        )


TS_SKELETON = """\
export interface Db {
  query(sql: string, params?: unknown[]): unknown[];
}

/** The note with this id. */
export function findNote(db: Db, id: string): unknown[] {
  throw new Error("not implemented");
}

/** How many notes. */
export function countNotes(db: Db): number {
  throw new Error("not implemented");
}
"""
FIND = """\
export function findNote(db: Db, id: string): unknown[] {
  const unused = id.length;
  return db.query(`SELECT * FROM notes WHERE id = '${id}'`)
}"""
COUNT = """\
export function countNotes(db: Db): number {
  const rows = db.query("SELECT count(*) AS n FROM notes");
  return rows.length > 0 ? "many" : 0;
}"""
TS_TEST = """\
import { test } from "node:test";
import assert from "node:assert/strict";
import { findNote } from "../src/notes.ts";

test("finds", () => {
  const db = { query: (_sql: string) => [{ id: "1" }] };
  assert.equal(findNote(db, "1").length, 1);
});
"""


def _atom(atom_id: str, file: str, qualname: str, language: str) -> AtomicUnit:
    return AtomicUnit(
        id=atom_id,
        file=file,
        language=language,  # type: ignore[arg-type]
        kind="function",
        qualname=qualname,
        signature=qualname,
        estimated_loc=3,
        complexity=1,
        test_cases=[],
    )


def _check(
    tmp_path: Path,
    files: dict[str, str],
    atoms: list[AtomicUnit],
    codes: dict[str, str],
    language: str,
) -> ReadinessReport:
    options = RunnerOptions(isolation="auto", scratch_dir=tmp_path / "scratch")

    async def runner(batch: SandboxBatch) -> SandboxResult:
        return await run_batch(batch, options)

    codebase = Codebase(files, {a.id: a for a in atoms})
    gate = ReadinessGate(codebase, runner, ReadinessPolicy(), language=language, project="notes")
    return asyncio.run(gate.check(codes))


def test_typescript_defects_are_found_by_the_real_tools_and_named_by_atom(
    tmp_path: Path,
) -> None:
    atoms = [
        _atom("find", "src/notes.ts", "findNote", "typescript"),
        _atom("count", "src/notes.ts", "countNotes", "typescript"),
    ]
    files = {"src/notes.ts": TS_SKELETON, "tests/notes.test.ts": TS_TEST}
    report = _check(tmp_path, files, atoms, {"find": FIND, "count": COUNT}, "typescript")

    checks = {c.name: c for c in report.checks}
    assert list(checks) == ["lint", "format", "types", "security", "secrets", "install"]
    assert all(not c.error for c in report.checks), [c.error for c in report.checks]
    # prettier would add the semicolon findNote's return lacks (format only reports).
    assert [(f.line, f.atom_id) for f in checks["format"].findings] == [(8, "find")]
    assert checks["format"].mode == "report"
    lint = [(f.rule, f.atom_id) for f in checks["lint"].findings]
    assert lint == [("@typescript-eslint/no-unused-vars", "find")]
    security = [(f.rule, f.path, f.atom_id) for f in checks["security"].findings]
    # The template literal with a value is SQL built from strings; the literal query is not.
    assert security == [("no-restricted-syntax", "src/notes.ts", "find")]
    types = [(f.rule, f.atom_id) for f in checks["types"].findings]
    assert types == [("TS2322", "count")]
    assert checks["secrets"].passed
    # npm test runs tsc --noEmit first, so the fresh install's tests fail on the same error.
    (install,) = checks["install"].findings
    assert install.rule == "tests" and "TS2322" in install.message
    assert checks["lint"].tool == "eslint 10.16.0" and checks["types"].tool == "typescript 5.9.3"
    assert not report.ready


JS_SKELETON = """\
/** Shout a word. */
export function shout(word) {
  throw new Error("not implemented");
}
"""
SHOUT = """\
export function shout(word) {
  const token = "AKIAIOSFODNN7EXAMPLF";
  return word.toUpperCase() + "!" + token.slice(0, 0);
}"""
JS_TEST = """\
import { test } from "node:test";
import assert from "node:assert/strict";
import { shout } from "../src/shout.js";
import leftPad from "left-pad";

test("shouts", () => {
  assert.equal(shout("hi"), "HI!!");
  assert.equal(leftPad("a", 2), " a");
});
"""


def test_javascript_install_runs_the_tests_in_a_fresh_copy_and_secrets_are_found(
    tmp_path: Path,
) -> None:
    atoms = [_atom("shout", "src/shout.js", "shout", "javascript")]
    files = {"src/shout.js": JS_SKELETON, "tests/shout.test.js": JS_TEST}
    report = _check(tmp_path, files, atoms, {"shout": SHOUT}, "javascript")

    checks = {c.name: c for c in report.checks}
    assert list(checks) == ["lint", "format", "security", "secrets", "install"]
    assert checks["lint"].passed and checks["security"].passed, checks
    assert checks["format"].passed and not checks["format"].error
    (secret,) = checks["secrets"].findings
    assert (secret.rule, secret.path, secret.atom_id) == ("AWS Access Key", "src/shout.js", "shout")
    # left-pad is declared as a devDependency at "*": the sandbox has no such package offline.
    install = [(f.rule, f.message) for f in checks["install"].findings]
    assert install == [
        ("dependencies", "dependencies failed: not available offline in the sandbox: left-pad")
    ]

    # Without left-pad the fresh copy gets as far as running the tests, and one fails.
    test = JS_TEST.replace('import leftPad from "left-pad";\n', "").replace(
        '  assert.equal(leftPad("a", 2), " a");\n', ""
    )
    files["tests/shout.test.js"] = test
    again = _check(tmp_path / "again", files, atoms, {"shout": SHOUT}, "javascript")
    (failed,) = next(c for c in again.checks if c.name == "install").findings
    assert failed.rule == "tests" and "npm test exited 1" in failed.message
    assert "'HI!'" in failed.message and "'HI!!'" in failed.message  # node:test's diff
