"""Reading source trees from disk: the I/O edge of atomization.

Everything else in :mod:`mge.atomization` works on ``{path: source}`` mappings; this module
finds the files under the paths a person names, skipping what is not source (virtual
environments, ``node_modules``, build output, hidden folders).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from pathlib import Path

from mge.atomization.languages import is_source_file
from mge.errors import InputError

SKIP_DIRS = frozenset(
    {
        "node_modules",
        "__pycache__",
        "dist",
        "build",
        "site-packages",
        "venv",
        ".venv",
        "coverage",
    }
)
"""Folder names never descended into (hidden folders are skipped too)."""
MAX_FILE_BYTES = 2_000_000
"""Larger files are skipped: generated bundles and data, not code to atomize."""


def find_sources(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """(file, display path) of every source file under ``paths``, sorted.

    Display paths are relative to the current folder when the file is below it, else absolute,
    and always use ``/``. Raises InputError for a path that does not exist.
    """
    found: dict[Path, str] = {}
    cwd = Path.cwd().resolve()
    for root in paths:
        if not root.exists():
            raise InputError(f"{root} does not exist")
        candidates: Iterable[Path] = [root] if root.is_file() else _walk(root)
        for f in candidates:
            if not is_source_file(f.name) or f.stat().st_size > MAX_FILE_BYTES:
                continue
            full = f.resolve()
            try:
                shown = full.relative_to(cwd).as_posix()
            except ValueError:
                shown = full.as_posix()
            found[full] = shown
    return sorted(found.items(), key=lambda item: item[1])


def _walk(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            yield Path(dirpath) / name


def read_sources_sync(paths: Iterable[Path]) -> dict[str, str]:
    """``{display path: source}`` of every source file under ``paths`` (UTF-8, errors replaced)."""
    return {
        shown: full.read_text(encoding="utf-8", errors="replace")
        for full, shown in find_sources(paths)
    }


async def read_sources(paths: Iterable[Path]) -> dict[str, str]:
    """:func:`read_sources_sync` in a worker thread, so an event loop stays responsive."""
    return await asyncio.to_thread(read_sources_sync, list(paths))
