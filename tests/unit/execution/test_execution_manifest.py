"""The output folder's manifests: pyproject.toml, package.json, tsconfig.json, package-lock.json."""

from __future__ import annotations

import json
import tomllib

import pytest

from mge.execution.manifest import (
    PYPROJECT,
    lock_closure,
    package_of,
    python_manifest,
    with_manifest,
)


def _parsed(files: dict[str, str], project: str = "default/shop") -> dict[str, object]:
    doc: dict[str, object] = tomllib.loads(python_manifest(files, project))
    return doc


def test_flat_layout_with_stdlib_and_third_party_imports() -> None:
    doc = _parsed(
        {
            "shop/__init__.py": "",
            "shop/api.py": "import json\nimport yaml\nfrom fastapi import FastAPI\n"
            "from shop import models\nfrom . import models as m\n",
            "shop/models.py": "from dataclasses import dataclass\n",
            "tests/test_api.py": "import pytest\nimport httpx\nfrom shop.api import app\n",
        }
    )
    project = doc["project"]
    assert isinstance(project, dict)
    assert project["name"] == "shop"
    assert project["dependencies"] == ["fastapi", "PyYAML"]  # yaml → its distribution
    assert project["optional-dependencies"] == {"test": ["httpx", "pytest"]}
    assert doc["tool"] == {
        "setuptools": {"packages": {"find": {"include": ["shop*"]}}},
        "pytest": {"ini_options": {"testpaths": ["tests"]}},
    }


def test_src_layout_and_no_tests_folder() -> None:
    doc = _parsed({"src/calc/__init__.py": "", "src/calc/ops.py": "def add(a, b): ..."}, "calc")
    assert doc["tool"] == {
        "setuptools": {"packages": {"find": {"where": ["src"], "include": ["calc*"]}}}
    }


@pytest.mark.parametrize(
    ("language", "files", "kept"),
    [
        ("python", {"pyproject.toml": "# the skeleton's own\n", "m.py": ""}, True),
        ("typescript", {"m.ts": ""}, False),
    ],
)
def test_a_manifest_of_the_skeleton_is_kept_and_other_languages_get_none(
    language: str, files: dict[str, str], kept: bool
) -> None:
    out = with_manifest(files, "p", language)
    assert (out.get(PYPROJECT) == files.get(PYPROJECT)) is True
    assert (PYPROJECT in out) is (kept or language == "python")


def test_unparsable_source_adds_no_dependency() -> None:
    doc = _parsed({"pkg/__init__.py": "", "pkg/bad.py": "def broken(:\n"})
    project = doc["project"]
    assert isinstance(project, dict) and project["dependencies"] == []


# --- TypeScript / JavaScript -------------------------------------------------------------------

TS_FILES = {
    "src/math.ts": 'import { EventEmitter } from "node:events";\nimport fs from "fs";\n'
    'import { x } from "./x.ts";\nexport const y = 1;\n',
    "tests/math.test.ts": 'import { test } from "node:test";\n'
    'import { y } from "../src/math.ts";\n',
}


def test_a_typescript_folder_gets_package_json_tsconfig_and_an_offline_lockfile() -> None:
    out = with_manifest(TS_FILES, "default/My Lib", "typescript")
    package = json.loads(out["package.json"])
    assert package["type"] == "module" and package["name"] == "my-lib"
    assert package["scripts"]["test"] == 'tsc --noEmit && node --test "tests/math.test.ts"'
    assert package["devDependencies"] == {
        "@types/node": "22.20.7",
        "eslint": "10.16.0",
        "eslint-plugin-security": "4.1.0",
        "prettier": "3.10.2",
        "typescript": "5.9.3",
        "typescript-eslint": "8.74.0",
    }
    assert package["scripts"]["lint"] == "eslint ."
    assert package["scripts"]["format"] == "prettier --check ."
    assert "dependencies" not in package  # node:events and fs are Node's own
    assert json.loads(out["tsconfig.json"])["compilerOptions"]["strict"] is True
    lock = json.loads(out["package-lock.json"])
    assert lock["packages"]["node_modules/typescript"]["integrity"].startswith("sha512-")
    assert lock["packages"][""]["devDependencies"] == package["devDependencies"]
    assert 'import tseslint from "typescript-eslint";' in out["eslint.config.js"]
    assert "pyproject.toml" not in out
    # An older Node is refused at install, naming the version, not at test time.
    assert package["engines"] == {"node": ">=22.18"} and ">=22.18" in package["description"]
    assert "engine-strict=true" in out[".npmrc"].splitlines()


def test_a_javascript_lockfile_holds_what_its_dev_tools_need_and_nothing_else() -> None:
    out = with_manifest({"src/a.js": "export const a = 1;\n"}, "lib", "javascript")
    package = json.loads(out["package.json"])
    assert set(package["devDependencies"]) == {"eslint", "eslint-plugin-security", "prettier"}
    packages = json.loads(out["package-lock.json"])["packages"]
    assert "node_modules/typescript-eslint" not in packages
    assert "node_modules/@types/node" not in packages
    # ESLint's own dependencies are there, with their integrity hashes.
    assert packages["node_modules/espree"]["integrity"].startswith("sha512-")
    assert "typescript-eslint" not in out["eslint.config.js"]


def test_lock_closure_follows_nested_dependencies_and_required_peers() -> None:
    packages = {
        "node_modules/a": {
            "version": "1",
            "dependencies": {"b": "^1"},
            "peerDependencies": {"p": "*"},
        },
        "node_modules/b": {"version": "1", "dependencies": {"c": "^2"}},
        "node_modules/b/node_modules/c": {"version": "2"},
        "node_modules/c": {"version": "1"},
        "node_modules/p": {"version": "1"},
        "node_modules/q": {"version": "1"},
        "node_modules/o": {
            "version": "1",
            "peerDependencies": {"q": "*"},
            "peerDependenciesMeta": {"q": {"optional": True}},
        },
    }
    assert list(lock_closure(packages, ["a", "o"])) == [
        "node_modules/a",
        "node_modules/b",
        "node_modules/b/node_modules/c",
        "node_modules/o",
        "node_modules/p",
    ]


def test_third_party_imports_become_dependencies_and_no_lockfile_is_guessed() -> None:
    files = {"src/a.js": 'import z from "zod";\nconst l = require("@scope/pkg/sub");\n'}
    out = with_manifest(files, "lib", "javascript")
    package = json.loads(out["package.json"])
    assert package["dependencies"] == {"@scope/pkg": "*", "zod": "*"}
    assert "package-lock.json" not in out and "tsconfig.json" not in out
    assert package_of("node:fs") is None and package_of("../x.js") is None


def test_a_mixed_project_gets_both_manifests() -> None:
    files = {"app/main.py": "import os\n", **TS_FILES}
    out = with_manifest(files, "mixed", "python")
    assert {"pyproject.toml", "package.json", "tsconfig.json"} <= set(out)
