"""The batch folder: atom folders, safe writes and reads, cleanup of whatever was left."""

from __future__ import annotations

import os
from pathlib import Path

from mge.models.sandbox import SandboxBatch
from mge.sandbox.toolchains import TMP_NAME
from mge.sandbox.workspace import (
    create_atom_dir,
    create_batch_dir,
    read_capped,
    remove_tree,
)


def _batch() -> SandboxBatch:
    return SandboxBatch.model_validate(
        {
            "batchId": "b1",
            "language": "python",
            "sharedFiles": {"pkg/__init__.py": "", "pkg/m.py": "OLD = 1\n"},
            "items": [
                {
                    "atomId": "a",
                    "files": {"pkg/m.py": "NEW = 2\n", "t.py": ""},
                    "testFiles": ["t.py"],
                },
                {"atomId": "b", "command": ["true"]},
            ],
        }
    )


def test_atom_folders_get_shared_files_overlaid_by_their_own(tmp_path: Path) -> None:
    batch = _batch()
    root = create_batch_dir(batch, tmp_path / "scratch")
    assert root.parent == tmp_path / "scratch" and root.name.startswith("mge-batch-b1-")
    assert oct(root.stat().st_mode & 0o777) == "0o700"
    a = create_atom_dir(root, 0, batch, batch.items[0])
    b = create_atom_dir(root, 1, batch, batch.items[1])
    assert (a / "pkg" / "m.py").read_text() == "NEW = 2\n"
    assert (b / "pkg" / "m.py").read_text() == "OLD = 1\n"
    assert not (b / "t.py").exists() and (a / TMP_NAME).is_dir()


def test_reports_are_read_capped_and_symlinks_not_followed(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_bytes(b"x" * 100)
    assert read_capped(tmp_path / "r.xml", 10) == b"x" * 11
    secret = tmp_path / "secret"
    secret.write_text("s3cret")
    (tmp_path / "link.xml").symlink_to(secret)
    assert read_capped(tmp_path / "link.xml", 100) is None
    os.mkfifo(tmp_path / "fifo.xml")
    assert read_capped(tmp_path / "fifo.xml", 100) is None
    assert read_capped(tmp_path / "missing.xml", 100) is None


def test_remove_tree_copes_with_locked_folders(tmp_path: Path) -> None:
    root = tmp_path / "batch"
    locked = root / "a" / "locked"
    locked.mkdir(parents=True)
    (locked / "f").write_text("x")
    locked.chmod(0)
    (root / "a").chmod(0o500)
    remove_tree(root)
    assert not root.exists()
