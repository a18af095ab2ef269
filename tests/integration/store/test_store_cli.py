"""`mge db upgrade` and `mge db current` on both backends, through the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import mge.cli.db  # noqa: F401  (registers the `db` commands on the app)
from mge.cli.app import app
from mge.errors import StoreError
from mge.store import head_revision

runner = CliRunner()


def _mge(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_upgrade_then_upgrade_again_is_a_no_op(db_url: str) -> None:
    code, out = _mge("--database-url", db_url, "db", "current")
    assert code == 0 and "revision none (empty)" in out and "behind" in out

    code, out = _mge("--database-url", db_url, "db", "upgrade")
    assert code == 0 and f"upgraded empty -> {head_revision()}" in out

    code, out = _mge("--database-url", db_url, "db", "upgrade")
    assert code == 0 and f"already at {head_revision()} (nothing to do)" in out

    code, out = _mge("--database-url", db_url, "db", "current", "--check")
    assert code == 0 and f"revision {head_revision()}, newest {head_revision()} (up to date)" in out


def test_current_check_fails_on_an_empty_database(db_url: str) -> None:
    with pytest.raises(StoreError, match="run `mge db upgrade`"):
        _mge("--database-url", db_url, "db", "current", "--check")


def test_current_does_not_create_a_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("MGE_CONFIG", raising=False)
    code, out = _mge("--workdir", str(tmp_path / "wd"), "db", "current")
    assert code == 0 and "none (empty)" in out
    assert not (tmp_path / "wd" / "mge.db").exists()


def test_console_entry_point_masks_password_and_exits_2(tmp_path: Path) -> None:
    """The installed `mge` entry point: errors are one line on stderr and exit code 2."""
    url = "postgresql://mge:hunter2-secret@127.0.0.1:1/mge"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mge.cli import main; main()",
            "--database-url",
            url,
            "db",
            "upgrade",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "hunter2-secret" not in done.stderr + done.stdout
    assert done.stderr.startswith("error: store postgresql+asyncpg://mge:***@127.0.0.1:1/mge")


def test_unknown_target_revision_is_a_store_error(db_url: str) -> None:
    with pytest.raises(StoreError, match="Can't locate revision identified by 'nope'"):
        _mge("--database-url", db_url, "db", "upgrade", "--revision", "nope")


@pytest.mark.parametrize(("level", "chatter"), [("INFO", False), ("DEBUG", True)])
def test_migration_chatter_only_at_debug(tmp_path: Path, level: str, chatter: bool) -> None:
    """`mge db upgrade` on a new store says what it did, not Alembic's context lines."""
    done = subprocess.run(
        [sys.executable, "-c", "from mge.cli import main; main()", "db", "upgrade"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "MGE_WORKDIR": str(tmp_path / "wd"), "MGE_LOG_LEVEL": level},
    )
    assert done.returncode == 0, done.stderr
    assert ("alembic" in done.stderr + done.stdout) is chatter, done.stderr
