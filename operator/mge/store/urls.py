"""Database URLs: which backends are supported, normalising the driver, masking the password.

Pure functions, no I/O. A URL is a setting (``MGE_DATABASE_URL`` / ``--database-url``), so a URL
that cannot be used raises :class:`~mge.errors.ConfigError` naming that setting.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from mge.errors import ConfigError

__all__ = ["Backend", "backend_of", "mask_url", "normalize_url", "sqlite_path"]

Backend = Literal["sqlite", "postgresql"]

DRIVERS: dict[str, str] = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
"""Accepted URL schemes and the async driver each one is run with."""

_USERINFO = re.compile(r"(?P<head>://[^:/@]*:)[^@]*@")


def mask_url(url: str | URL) -> str:
    """The URL with its password replaced by ``***``, safe for logs and error messages.

    Works on URLs SQLAlchemy cannot parse too (then by pattern), so a typo never leaks a secret.
    """
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _USERINFO.sub(r"\g<head>***@", url)


def normalize_url(url: str) -> URL:
    """Parse ``url`` and pin the async driver (``postgresql://`` → ``postgresql+asyncpg://``).

    Raises ConfigError for anything but SQLite and PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as e:
        raise ConfigError(
            f"database_url {mask_url(url)!r} is not a database URL; expected e.g. "
            "sqlite+aiosqlite:///path/mge.db or postgresql+asyncpg://user@host:5432/db"
        ) from e
    driver = DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ConfigError(
            f"database_url uses {parsed.drivername!r}; the store supports "
            "sqlite+aiosqlite and postgresql+asyncpg"
        )
    return parsed.set(drivername=driver)


def backend_of(url: URL) -> Backend:
    """``sqlite`` or ``postgresql`` for a normalised URL."""
    return "sqlite" if url.get_backend_name() == "sqlite" else "postgresql"


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for in-memory SQLite and for PostgreSQL."""
    if backend_of(url) != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)
