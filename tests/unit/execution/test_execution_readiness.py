"""L4 readiness: the tools' output parsed into findings, findings given to atoms, the verdict
of a tool run, the retry feedback, undeclared imports, readiness.md, and the policy's admission.

The samples are what the pinned tools print (captured from ruff 0.17.6, bandit 1.9.4,
detect-secrets 1.5.0, mypy 2.4.1 on a file with the problems in it).
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mge.execution.readiness.checks import PYTHON_CHECKS, checks_for
from mge.execution.readiness.install import declared, undeclared_imports
from mge.execution.readiness.parse import (
    known_path,
    parse_bandit,
    parse_detect_secrets,
    parse_install,
    parse_mypy,
    parse_ruff_check,
    parse_ruff_format,
)
from mge.execution.readiness.render import render_readiness
from mge.execution.readiness.verdict import attribute, check_result, retry_feedback
from mge.models.project import ProjectSpec
from mge.models.readiness import Finding, ReadinessCheckResult, ReadinessReport

KNOWN = ["pkg/db.py", "pkg/__init__.py", "tests/test_db.py"]


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        ("pkg/db.py", "pkg/db.py"),
        ("./pkg/db.py", "pkg/db.py"),
        ("/sandbox/pkg/db.py", "pkg/db.py"),
        ("/tmp/x/tests/test_db.py", "tests/test_db.py"),
        ("other.py", "other.py"),
    ],
)
def test_known_path(reported: str, expected: str) -> None:
    assert known_path(reported, KNOWN) == expected


RUFF = """\
/sandbox/pkg/db.py:1:1: E401 [*] Multiple imports on one line
/sandbox/pkg/db.py:1:8: F401 [*] `os` imported but unused
Found 2 errors.
[*] 2 fixable with `--fix`.
"""

BANDIT = """\
[main]\tINFO\tprofile include tests: None
pkg/db.py:7: B608 MEDIUM Possible SQL injection vector through string-based query construction.
pkg/db.py:10: B602 HIGH subprocess call with shell=True identified, security issue.
pkg/db.py:11: B307 MEDIUM Use of possibly insecure function - consider using safer ast.literal_eval.
"""

SECRETS = """{
  "version": "1.5.0",
  "results": {
    "pkg/db.py": [
      {"type": "AWS Access Key", "filename": "pkg/db.py", "hashed_secret": "25",
       "is_verified": false, "line_number": 4}
    ]
  }
}"""

MYPY = """\
pkg/db.py:6: error: Missing type parameters for generic type "list"  [type-arg]
pkg/db.py:6: note: See https://mypy.rtfd.io
tests/test_db.py:3: error: Function is missing a return type annotation  [no-untyped-def]
"""

FORMAT = """\
--- pkg/db.py
+++ pkg/db.py
@@ -5,7 +5,9 @@
~
 def find(conn, name):
     x = 1
-    return conn.execute("SELECT * FROM t WHERE name = '%s'" % name).fetchall()
+    return conn.execute(
+        "SELECT * FROM t WHERE name = '%s'" % name
+    ).fetchall()
~
 def h(x):
@@ -20,3 +22,4 @@
 a = 1
+
 b = 2
""".replace("~", " ")  # blank context lines of a unified diff are one space

INSTALL = """\
MGE-INSTALL {"stage": "build", "ok": true, "detail": ""}
MGE-INSTALL {"stage": "tests", "ok": false, "detail": "No module named 'yaml'"}
"""


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (
            parse_ruff_check,
            RUFF,
            [("lint", "E401", "pkg/db.py", 1), ("lint", "F401", "pkg/db.py", 1)],
        ),
        (
            parse_bandit,
            BANDIT,
            [
                ("security", "B608", "pkg/db.py", 7),
                ("security", "B602", "pkg/db.py", 10),
                ("security", "B307", "pkg/db.py", 11),
            ],
        ),
        (parse_detect_secrets, SECRETS, [("secrets", "AWS Access Key", "pkg/db.py", 4)]),
        (
            parse_mypy,
            MYPY,
            [
                ("types", "type-arg", "pkg/db.py", 6),
                ("types", "no-untyped-def", "tests/test_db.py", 3),
            ],
        ),
        # The first changed line of each hunk: line 8 (5 + three context lines), then 21.
        (
            parse_ruff_format,
            FORMAT,
            [("format", "", "pkg/db.py", 8), ("format", "", "pkg/db.py", 21)],
        ),
        (parse_install, INSTALL, [("install", "tests", "", None)]),
        (parse_ruff_check, "All checks passed!\n", []),
        (parse_bandit, "", []),
    ],
)
def test_parsers(parse, text: str, expected: list[tuple[str, str, str, int | None]]) -> None:  # type: ignore[no-untyped-def]
    found = parse(text, KNOWN)
    assert [(f.check, f.rule, f.path, f.line) for f in found] == expected


def test_install_finding_names_the_module_to_declare() -> None:
    (finding,) = parse_install(INSTALL)
    assert "no module named yaml" in finding.message
    assert "declare it in pyproject.toml" in finding.message


def test_detect_secrets_output_that_is_not_json_is_an_error() -> None:
    with pytest.raises(ValueError):
        parse_detect_secrets("Traceback: boom")


SPANS = {"pkg/db.py": {"find": (6, 7), "h": (9, 11)}}


@pytest.mark.parametrize(
    ("path", "line", "atom"),
    [
        ("pkg/db.py", 7, "find"),
        ("pkg/db.py", 6, "find"),
        ("pkg/db.py", 11, "h"),
        ("pkg/db.py", 8, None),  # between two atoms: skeleton code
        ("pkg/db.py", None, None),  # whole-file finding
        ("tests/test_db.py", 7, None),
    ],
)
def test_attribute(path: str, line: int | None, atom: str | None) -> None:
    (f,) = attribute([Finding(check="lint", path=path, line=line, message="m")], SPANS)
    assert f.atom_id == atom


BANDIT_CHECK = next(c for c in PYTHON_CHECKS if c.name == "security")
SECRETS_CHECK = next(c for c in PYTHON_CHECKS if c.name == "secrets")


@pytest.mark.parametrize(
    ("check", "exit_code", "output", "passed", "error"),
    [
        (BANDIT_CHECK, 0, "", True, ""),
        (BANDIT_CHECK, 1, BANDIT, False, ""),
        (BANDIT_CHECK, 1, "something odd", False, "without a finding it could read"),
        (BANDIT_CHECK, None, "", False, "did not finish"),
        (BANDIT_CHECK, 1, "/venv/bin/python: No module named bandit", False, "not installed"),
        (SECRETS_CHECK, 0, SECRETS, False, ""),
        (SECRETS_CHECK, 0, "oops", False, "unreadable detect-secrets output"),
    ],
)
def test_check_result(check, exit_code, output, passed, error) -> None:  # type: ignore[no-untyped-def]
    r = check_result(
        check, "block", exit_code=exit_code, output=output, detail="", known=KNOWN, version="1"
    )
    assert r.passed is passed
    assert (error in r.error) if error else r.error == ""


def test_missing_tool_names_what_to_install() -> None:
    r = check_result(
        BANDIT_CHECK,
        "block",
        exit_code=1,
        output="No module named bandit",
        detail="",
        known=KNOWN,
        version="1.9.4",
    )
    assert "install bandit==1.9.4" in r.error


def _report(mode: str, findings: list[Finding]) -> ReadinessReport:
    return ReadinessReport(
        language="python",
        checks=[
            ReadinessCheckResult(
                name="security",
                tool="bandit 1.9.4",
                mode=mode,  # type: ignore[arg-type]
                passed=not findings,
                findings=findings,
            )
        ],
    )


def test_retry_feedback_only_for_blocking_findings_with_an_atom() -> None:
    findings = [
        Finding(check="security", rule="B307", path="a.py", line=3, message="eval", atom_id="x"),
        Finding(check="security", rule="B608", path="a.py", line=9, message="sql"),
    ]
    feedback = retry_feedback(_report("block", findings))
    assert list(feedback) == ["x"]
    assert "security B307: eval (a.py:3)" in feedback["x"]
    assert retry_feedback(_report("report", findings)) == {}


@pytest.mark.parametrize(("mode", "ready"), [("block", False), ("report", True)])
def test_only_blocking_failures_make_a_run_not_ready(mode: str, ready: bool) -> None:
    report = _report(mode, [Finding(check="security", message="m")])
    assert report.ready is ready
    page = render_readiness(report)
    assert ("NOT ready" in page) is not ready
    assert "| security | bandit 1.9.4 |" in page


MANIFEST = """\
[project]
name = "x"
dependencies = ["PyYAML>=6", "fastapi"]
[project.optional-dependencies]
test = ["pytest", "httpx"]
"""


def test_declared_normalises_names() -> None:
    runtime, test = declared(MANIFEST)
    assert runtime == {"pyyaml", "fastapi"}
    assert test == {"pytest", "httpx"}


@pytest.mark.parametrize(
    ("path", "source", "undeclared"),
    [
        ("pkg/a.py", "import yaml\nimport os\n", []),
        ("pkg/a.py", "import fastapi\nfrom pkg import b\n", []),
        ("pkg/a.py", "import pytest\n", ["pytest"]),  # a test-only dependency in the code
        ("tests/test_a.py", "import pytest\nimport httpx\n", []),
        ("pkg/a.py", "import numpy\n", ["numpy"]),
        ("tests/test_a.py", "\n\nimport hypothesis\n", ["hypothesis"]),
    ],
)
def test_undeclared_imports(path: str, source: str, undeclared: list[str]) -> None:
    files = {"pyproject.toml": MANIFEST, path: source, "pkg/__init__.py": "", "pkg/b.py": ""}
    found = undeclared_imports(files)
    assert [f.message.split()[1] for f in found] == undeclared
    assert all(f.path == path and f.line is not None for f in found)


def test_no_manifest_is_a_finding() -> None:
    (f,) = undeclared_imports({"a.py": "import yaml\n"})
    assert f.rule == "manifest"


def test_python_has_every_check_and_a_language_without_tools_none() -> None:
    assert [c.name for c in checks_for("python")] == [
        "lint",
        "format",
        "types",
        "security",
        "secrets",
        "install",
    ]
    assert checks_for("go") == ()


def test_policy_defaults_and_refusals() -> None:
    spec = ProjectSpec.model_validate({"requirements": "x"})
    policy = spec.validation.readiness
    assert [
        policy.mode(c) for c in ("lint", "format", "types", "security", "secrets", "install")
    ] == [
        "block",
        "report",
        "block",
        "block",
        "block",
        "block",
    ]
    with pytest.raises(ValidationError, match="security"):
        ProjectSpec.model_validate(
            {"requirements": "x", "validation": {"readiness": {"security": "warn"}}}
        )
    with pytest.raises(ValidationError, match="bandit"):
        ProjectSpec.model_validate(
            {"requirements": "x", "validation": {"readiness": {"bandit": "block"}}}
        )
