"""The batch's folders on the host: a fresh temp folder per batch, a subfolder per atom.

Each atom folder gets the batch's shared files, then the atom's own files on top (the batch
model has already refused absolute paths, ``..`` and reserved names). Files are written with
``O_NOFOLLOW`` into folders this module just created, so nothing lands outside the batch folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from mge.models.sandbox import SandboxBatch, SandboxItem
from mge.sandbox.toolchains import TMP_NAME

BATCH_DIR_PREFIX = "mge-batch-"
FILE_MODE = 0o644
DIR_MODE = 0o755


def create_batch_dir(batch: SandboxBatch, scratch: Path | None) -> Path:
    """A new, private (0700) folder for ``batch`` under ``scratch`` (default: system temp)."""
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{BATCH_DIR_PREFIX}{batch.batch_id}-", dir=scratch))


def _write(root: Path, rel: str, content: str) -> None:
    target = root.joinpath(*rel.split("/"))
    target.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(target, flags, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(content.encode())


def write_files(root: Path, files: Mapping[str, str]) -> None:
    """Write ``files`` (relative path -> text) under ``root``."""
    for rel, content in files.items():
        _write(root, rel, content)


def create_atom_dir(batch_dir: Path, index: int, batch: SandboxBatch, item: SandboxItem) -> Path:
    """The folder for one atom: shared files, then the atom's files, and a private tmp folder."""
    atom_dir = batch_dir / f"{index:04d}-{item.atom_id}"
    atom_dir.mkdir(mode=DIR_MODE)
    write_files(atom_dir, {**batch.shared_files, **item.files})
    (atom_dir / TMP_NAME).mkdir(mode=0o700)
    return atom_dir


def read_capped(path: Path, limit: int) -> bytes | None:
    """Up to ``limit + 1`` bytes of a file the sandbox wrote; None unless it is a regular file
    (a symlink or FIFO planted by the code under test is neither followed nor blocked on)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return f.read(limit + 1)


def remove_tree(path: Path) -> None:
    """Delete a batch folder, whatever the sandboxed code left in it (e.g. folders it made
    unwritable)."""

    def _make_writable_and_retry(_func: Callable[..., object], p: str, _exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(p), 0o700)
        if os.path.isdir(p) and not os.path.islink(p):
            with contextlib.suppress(OSError):
                os.chmod(p, 0o700)
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(p)

    shutil.rmtree(path, onerror=_make_writable_and_retry)
