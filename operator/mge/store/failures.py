"""Turning driver and SQLAlchemy exceptions into one readable :class:`~mge.errors.StoreError`.

SQLAlchemy's own messages carry the whole statement and its parameters (pages of generated code
for an attempt row). A person needs the operation, the (masked) database and the driver's first
line of complaint; the original exception stays chained for a debugger.
"""

from __future__ import annotations

import re

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from mge.errors import StoreError

__all__ = ["DB_FAILURES", "MAX_REASON_CHARS", "reason_of", "store_error"]

MAX_REASON_CHARS = 300
"""The driver's complaint is cut to this many characters in the message."""

DB_FAILURES: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError, TimeoutError)
"""What a database operation can raise that is the database's fault, not a bug of ours.

asyncpg reports a refused or unreachable server as a plain ``OSError`` (not wrapped by
SQLAlchemy), and a timed-out connect as ``TimeoutError``.
"""

_CLASS_PREFIX = re.compile(r"^<class '[\w.]+'>:\s*")
_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def reason_of(exc: BaseException) -> str:
    """The first line of the driver's own message, without SQL, parameters or class noise."""
    inner: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        inner = exc.orig
    text = str(inner).strip() or type(inner).__name__
    first = _CLASS_PREFIX.sub("", text.splitlines()[0])
    first = _PASSWORD.sub(r"\1***@", first)
    if len(first) > MAX_REASON_CHARS:
        first = first[: MAX_REASON_CHARS - 1] + "…"
    return first


def store_error(what: str, where: str, exc: BaseException) -> StoreError:
    """A StoreError saying what failed, on which (masked) database, and why."""
    return StoreError(f"store {where}: {what} failed: {reason_of(exc)}")
