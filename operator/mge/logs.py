"""Logging set-up: structured JSON lines for clusters, readable text for terminals.

Every line carries the Project name, its phase and a trace id when they are known. They live in
:mod:`contextvars`, so they follow the asyncio task that set them (a kopf handler, a Project's
worker task) and never leak into another Project's lines::

    configure_logging(settings)                     # once, at start-up (log_level, log_format)
    with log_context(project="inventory-lib", phase="Planning"):
        log.info("masterplan ready")                # {"project": "inventory-lib", "phase": ...}

A trace id is made by :func:`log_context` when the outer context has none, so all lines of one
reconcile or one worker run share it. kopf's per-object loggers attach ``k8s_obj`` to records;
when no project is bound, its name is used. Extra fields given as ``extra={...}`` are written too.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

__all__ = [
    "TEXT_FORMAT",
    "ContextFilter",
    "JsonFormatter",
    "bind",
    "configure_logging",
    "current_context",
    "log_context",
    "new_trace_id",
]

LogFormat = Literal["text", "json"]

TRACE_ID_BYTES = 8
"""Trace ids are 16 hex characters: unique enough per process lifetime, short in a log line."""
TEXT_FORMAT = (
    "%(asctime)s %(levelname)-7s %(name)s [%(project)s %(phase)s %(trace_id)s] %(message)s"
)
"""Terminal format: time, level, logger, then the context in brackets ('-' when unset)."""
UNSET = "-"

_project: ContextVar[str | None] = ContextVar("mge_log_project", default=None)
_phase: ContextVar[str | None] = ContextVar("mge_log_phase", default=None)
_trace_id: ContextVar[str | None] = ContextVar("mge_log_trace_id", default=None)

_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "project", "phase", "trace_id", "taskName", "k8s_obj", "k8s_skip"}
)
"""LogRecord attributes that are not user extras (the rest of a record's dict is an extra)."""


def new_trace_id() -> str:
    """A fresh random trace id (hex)."""
    return secrets.token_hex(TRACE_ID_BYTES)


def current_context() -> dict[str, str | None]:
    """The project, phase and trace id bound in the current context."""
    return {"project": _project.get(), "phase": _phase.get(), "trace_id": _trace_id.get()}


def bind(
    *, project: str | None = None, phase: str | None = None, trace_id: str | None = None
) -> None:
    """Set fields for the rest of the current context (e.g. a phase change inside a worker)."""
    if project is not None:
        _project.set(project)
    if phase is not None:
        _phase.set(phase)
    if trace_id is not None:
        _trace_id.set(trace_id)


@contextmanager
def log_context(
    *, project: str | None = None, phase: str | None = None, trace_id: str | None = None
) -> Iterator[str]:
    """Bind fields for the block (restored after it); yields the trace id in force.

    A new trace id is made when neither ``trace_id`` nor an outer context gives one.
    """
    tid = trace_id or _trace_id.get() or new_trace_id()
    tokens = [_trace_id.set(tid)]
    if project is not None:
        tokens.append(_project.set(project))
    if phase is not None:
        tokens.append(_phase.set(phase))
    try:
        yield tid
    finally:
        for token in reversed(tokens):
            token.var.reset(token)


class ContextFilter(logging.Filter):
    """Puts ``project``, ``phase`` and ``trace_id`` on every record (from the context, else from
    kopf's ``k8s_obj``, else unset)."""

    def filter(self, record: logging.LogRecord) -> bool:
        project = _project.get()
        if project is None:
            obj = getattr(record, "k8s_obj", None)
            if isinstance(obj, dict):
                name = obj.get("name") or obj.get("metadata", {}).get("name")
                project = str(name) if name else None
        record.project = project
        record.phase = _phase.get()
        record.trace_id = _trace_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, project, phase,
    trace_id, any extras, and the traceback as ``exc_info`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "project": getattr(record, "project", None),
            "phase": getattr(record, "phase", None),
            "trace_id": getattr(record, "trace_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in doc:
                doc[key] = value
        if record.exc_info:
            doc["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    """The terminal format, with '-' for unset context fields."""

    def format(self, record: logging.LogRecord) -> str:
        for name in ("project", "phase", "trace_id"):
            if getattr(record, name, None) is None:
                setattr(record, name, UNSET)
        return super().format(record)


def make_handler(log_format: LogFormat, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler (stderr by default) with the context filter and the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else _TextFormatter(TEXT_FORMAT))
    return handler


QUIET_LIBRARIES = ("httpx", "httpcore", "chromadb", "urllib3", "anthropic", "openai", "alembic")
"""Libraries whose INFO lines are noise to a user (per request, per migration context); they log
WARNING and up unless the level asks for DEBUG."""


def configure_logging(
    level: str = "INFO", log_format: LogFormat = "text", stream: TextIO | None = None
) -> logging.Handler:
    """Replace the root logger's handlers with one of ours; returns it.

    Call once at start-up with ``Settings.log_level`` and ``Settings.log_format``
    (``MGE_LOG_LEVEL``, ``MGE_LOG_FORMAT``). In the operator call it from the kopf startup hook:
    ``kopf run`` installs its own root handler first, which this replaces. Calling again replaces
    the handler again (idempotent).
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = make_handler(log_format, stream)
    root.addHandler(handler)
    root.setLevel(level)
    # One INFO line per HTTP request or migration context drowns the story of a run; at DEBUG
    # the libraries speak as they like (NOTSET: they follow the root level).
    quiet = logging.NOTSET if root.level <= logging.DEBUG else max(logging.WARNING, root.level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(quiet)
    return handler
