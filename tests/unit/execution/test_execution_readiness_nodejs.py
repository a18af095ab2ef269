# ruff: noqa: E501  (the samples are tool output lines kept verbatim)
"""L4 readiness for TypeScript and JavaScript: ESLint's, tsc's and the npm install driver's
output parsed into findings, the checks per language, undeclared npm imports, and the shipped
ESLint config.

The samples are what the pinned tools printed (ESLint 10.16.0 through MGE's one-line
formatter, typescript 5.9.3, prettier 3.10.2 through MGE's driver, the install driver on a
project importing an undeclared package),
on files with the problems in them.
"""

from __future__ import annotations

import json

import pytest

from mge.execution.eslint_config import SECURITY_RULES, eslint_config, sql_selectors
from mge.execution.readiness.checks import checks_for
from mge.execution.readiness.nodejs import undeclared_npm_imports
from mge.execution.readiness.parse import (
    parse_eslint_lint,
    parse_eslint_security,
    parse_npm_install,
    parse_prettier,
    parse_tsc,
)
from mge.execution.readiness.verdict import attribute, check_result

KNOWN = ["src/db.ts", "src/a.js", "tests/db.test.ts"]

ESLINT = """\
/tmp/eslt/src/a.js:1:31: no-undef 'b' is not defined.
/tmp/eslt/src/db.ts:3:9: @typescript-eslint/no-unused-vars 'unused' is assigned a value but never used.
/tmp/eslt/src/db.ts:4:19: no-restricted-syntax SQL built from strings (a template literal or + with values in it): pass the values as query parameters instead
/tmp/eslt/src/db.ts:7:3: security/detect-child-process Found child_process.exec() with non Literal first argument
/tmp/eslt/src/db.ts:8:3: security/detect-eval-with-expression eval with argument of type Identifier
/tmp/eslt/src/db.ts:8:3: no-eval `eval` can be harmful.
/tmp/eslt/src/db.ts:9:14: security/detect-non-literal-regexp Found non-literal argument to RegExp Constructor
/tmp/eslt/src/db.ts:10:13: no-new-func The Function constructor is eval.
/tmp/eslt/src/db.ts:13:47: use-isnan Use the isNaN function to compare with NaN.

"""

TSC = """\
src/t.ts(4,14): error TS2322: Type 'number' is not assignable to type 'string'.
src/t.ts(5,19): error TS7006: Parameter 'x' implicitly has an 'any' type.
"""

INSTALL_TYPES = """\
MGE-INSTALL {"stage":"manifest","ok":true,"detail":""}
MGE-INSTALL {"stage":"dependencies","ok":true,"detail":""}
MGE-INSTALL {"stage":"tests","ok":false,"detail":"npm test exited 2:\\nsrc/a.ts(1,23): error TS2307: Cannot find module 'yaml' or its corresponding type declarations.\\n"}
"""

INSTALL_OFFLINE = """\
MGE-INSTALL {"stage":"manifest","ok":true,"detail":""}
MGE-INSTALL {"stage":"dependencies","ok":false,"detail":"not available offline in the sandbox: yaml"}
"""


def test_eslint_lint_and_security_split_one_run_by_rule() -> None:
    lint = [(f.rule, f.path, f.line) for f in parse_eslint_lint(ESLINT, KNOWN)]
    security = [(f.rule, f.path, f.line) for f in parse_eslint_security(ESLINT, KNOWN)]
    assert lint == [
        ("no-undef", "src/a.js", 1),
        ("@typescript-eslint/no-unused-vars", "src/db.ts", 3),
        ("use-isnan", "src/db.ts", 13),
    ]
    assert security == [
        ("no-restricted-syntax", "src/db.ts", 4),
        ("security/detect-child-process", "src/db.ts", 7),
        ("security/detect-eval-with-expression", "src/db.ts", 8),
        ("no-eval", "src/db.ts", 8),
        ("security/detect-non-literal-regexp", "src/db.ts", 9),
        ("no-new-func", "src/db.ts", 10),
    ]
    sql = parse_eslint_security(ESLINT, KNOWN)[0]
    assert sql.check == "security" and "query parameters" in sql.message


def test_tsc_errors_keep_their_code_as_the_rule() -> None:
    found = parse_tsc(TSC, ["src/t.ts"])
    assert [(f.check, f.rule, f.path, f.line) for f in found] == [
        ("types", "TS2322", "src/t.ts", 4),
        ("types", "TS7006", "src/t.ts", 5),
    ]
    assert found[0].message == "Type 'number' is not assignable to type 'string'."


PRETTIER = """\
src/db.ts:11: prettier would reformat this
src/db.ts:13: prettier would reformat this
src/bad.ts:2: prettier cannot parse this: Expression expected. (2:13)
"""


def test_prettier_regions_start_at_their_first_changed_line() -> None:
    found = parse_prettier(PRETTIER, ["src/db.ts", "src/bad.ts"])
    assert [(f.check, f.path, f.line) for f in found] == [
        ("format", "src/db.ts", 11),
        ("format", "src/db.ts", 13),
        ("format", "src/bad.ts", 2),
    ]
    assert found[2].message.startswith("prettier cannot parse this")


def test_install_names_the_package_to_declare() -> None:
    (finding,) = parse_npm_install(INSTALL_TYPES)
    assert finding.rule == "tests"
    assert finding.message.startswith("tests failed in a fresh install: cannot find yaml")
    assert "declare it in package.json" in finding.message
    (offline,) = parse_npm_install(INSTALL_OFFLINE)
    assert offline.rule == "dependencies" and "not available offline" in offline.message


def test_findings_in_an_atom_span_name_the_atom() -> None:
    found = attribute(parse_eslint_security(ESLINT, KNOWN), {"src/db.ts": {"db-find": (2, 5)}})
    assert [(f.line, f.atom_id) for f in found][:2] == [(4, "db-find"), (7, None)]


@pytest.mark.parametrize(
    ("language", "names"),
    [
        ("typescript", ["lint", "format", "types", "security", "secrets", "install"]),
        ("javascript", ["lint", "format", "security", "secrets", "install"]),
    ],
)
def test_checks_per_language(language: str, names: list[str]) -> None:
    checks = checks_for(language)
    assert [c.name for c in checks] == names
    by_name = {c.name: c for c in checks}
    # One ESLint run gives both the lint and the security findings.
    assert by_name["lint"].item_id == by_name["security"].item_id == "readiness-eslint"
    assert by_name["secrets"].runtime == "python" and by_name["install"].runtime == "node"


def test_a_missing_node_tool_says_where_it_is_pinned() -> None:
    lint = checks_for("typescript")[0]
    output = "MGE-NODE-TOOL-MISSING eslint (looked for /x/eslint/bin/eslint.js)\n"
    result = check_result(
        lint, "block", exit_code=3, output=output, detail="", known=[], version="10.16.0"
    )
    assert not result.passed
    assert "eslint is not installed in the sandbox: install eslint==10.16.0" in result.error
    assert "package-lock.json" in result.error


def test_tsc_exit_without_a_readable_error_is_a_tool_error() -> None:
    types = checks_for("typescript")[2]
    output = "error TS5058: The specified path does not exist: 'tsconfig.json'.\n"
    result = check_result(
        types, "block", exit_code=1, output=output, detail="", known=[], version="5.9.3"
    )
    assert not result.passed and "without a finding it could read" in result.error


PACKAGE = json.dumps({"dependencies": {"zod": "*"}, "devDependencies": {"eslint": "1"}})


@pytest.mark.parametrize(
    ("path", "source", "undeclared"),
    [
        ("src/a.ts", 'import { z } from "zod";\nimport fs from "node:fs";\n', []),
        ("src/a.ts", 'import x from "./x.ts";\nimport { y } from "@acme/y/sub";\n', ["@acme/y"]),
        ("src/a.js", 'const e = require("eslint");\n', ["eslint"]),  # dev only
        ("tests/a.test.ts", 'import { ESLint } from "eslint";\n', []),
        (
            "eslint.config.js",
            'import security from "eslint-plugin-security";\n',
            ["eslint-plugin-security"],
        ),
        ("eslint.config.js", 'import { x } from "eslint";\n', []),
        ("src/a.py", 'import x from "left-pad"\n', []),
    ],
)
def test_undeclared_npm_imports(path: str, source: str, undeclared: list[str]) -> None:
    found = undeclared_npm_imports({"package.json": PACKAGE, path: source})
    assert [f.message.split()[1].rstrip(",") for f in found] == undeclared
    assert all(f.path == path and f.line is not None for f in found)


def test_undeclared_imports_without_a_readable_manifest() -> None:
    assert undeclared_npm_imports({"a.ts": ""})[0].rule == "manifest"
    assert undeclared_npm_imports({"package.json": "{", "a.ts": ""})[0].rule == "manifest"


def test_the_config_enables_every_security_rule_and_imports_only_what_it_uses() -> None:
    ts, js = eslint_config("typescript"), eslint_config("javascript")
    for rule in SECURITY_RULES:
        assert f'"{rule}": ' in ts and f'"{rule}": ' in js
    assert "typescript-eslint" in ts and "typescript-eslint" not in js
    # The SQL selectors sit in the config as JSON strings ESLint reads back unchanged.
    for entry in sql_selectors():
        assert json.dumps(entry["selector"]) in ts
