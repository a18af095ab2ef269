"""Operator settings, read once at start-up, and the kopf settings hook.

Environment (all optional):

- ``MGE_OPERATOR_NAMESPACE``: informational; the namespace scope is given to ``mge operator run``.
- ``MGE_RECORDINGS_ROOT``: base folder for ``spec.llm.recordings`` (scripted provider); a
  cluster has no manifest path, so recordings are looked up relative to this folder and may not
  leave it.
- ``MGE_DATABASE_URL``: the store (PostgreSQL in a cluster, SQLite file in tests).
- ``MGE_JOB_POLL_MAX_SECONDS``: longest pause between two looks at a running sandbox Job.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mge.errors import ConfigError
from mge.models.project import API_GROUP

FINALIZER = f"{API_GROUP}/cleanup"
"""Finalizer on every Project: store rows are deleted before the object goes."""
ANNOTATION_PREFIX = API_GROUP
"""kopf's progress and diff-base annotations live under this prefix."""
RECONCILE_INTERVAL_SECONDS = 30.0
"""Timer period of the level-triggered reconcile (seconds)."""
RECONCILE_IDLE_SECONDS = 5.0
"""The timer waits this long after the last change before firing (seconds)."""
DEFAULT_DATABASE_URL = "sqlite:///mge-operator.db"
JOB_POLL_MAX_SECONDS = 5.0
"""Longest wait between two looks at a running sandbox Job (seconds; polling backs off to it)."""


@dataclass(frozen=True)
class OperatorSettings:
    """What the operator needs to know besides the Projects themselves."""

    database_url: str = DEFAULT_DATABASE_URL
    """Store URL: PostgreSQL (asyncpg) in a cluster, SQLite for tests."""
    recordings_root: Path | None = None
    """Base folder of scripted-provider recordings (``spec.llm.recordings`` is relative)."""
    reconcile_interval: float = RECONCILE_INTERVAL_SECONDS
    """Seconds between timer-driven reconciles."""
    job_poll_max: float = JOB_POLL_MAX_SECONDS
    """Seconds, at most, between two looks at a running sandbox Job."""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> OperatorSettings:
        """Settings from ``MGE_*`` environment variables."""
        e = dict(os.environ if env is None else env)
        root = e.get("MGE_RECORDINGS_ROOT")
        interval = float(e.get("MGE_RECONCILE_INTERVAL", RECONCILE_INTERVAL_SECONDS))
        return cls(
            database_url=e.get("MGE_DATABASE_URL", DEFAULT_DATABASE_URL),
            recordings_root=Path(root) if root else None,
            reconcile_interval=interval,
            job_poll_max=float(e.get("MGE_JOB_POLL_MAX_SECONDS", JOB_POLL_MAX_SECONDS)),
        )

    def recordings_for(self, relative: str) -> Path:
        """The recordings folder for a Project, which must stay under ``recordings_root``."""
        if self.recordings_root is None:
            raise ConfigError("spec.llm.recordings needs MGE_RECORDINGS_ROOT set on the operator")
        root = self.recordings_root.resolve()
        path = (root / relative).resolve()
        if path != root and root not in path.parents:
            raise ConfigError(f"spec.llm.recordings {relative!r} leaves MGE_RECORDINGS_ROOT")
        return path


def configure_kopf(settings: Any) -> None:
    """Fill kopf's ``OperatorSettings`` (called from the one startup hook).

    Finalizer and annotations under ``mge.dev``; peering off (run one replica; leader election
    is the Deployment's job — see docs/operator.md); Events from INFO up.
    """
    import logging

    import kopf

    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=ANNOTATION_PREFIX
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING
    settings.peering.standalone = True
    settings.watching.server_timeout = 60
    settings.networking.request_timeout = 90
