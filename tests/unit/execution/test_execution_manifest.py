"""The output folder's pyproject.toml: its own packages, the third-party modules it imports."""

from __future__ import annotations

import tomllib

import pytest

from mge.execution.manifest import PYPROJECT, python_manifest, with_manifest


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
