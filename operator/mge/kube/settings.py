"""The operator's start-up: which :class:`~mge.config.Settings` it runs with, and kopf's own
settings (the one startup hook).

The operator's settings are the section ``settings.operator`` of the one settings object
(:mod:`mge.config`: flags > ``MGE_*`` env > YAML file > defaults, the same error messages as
the CLI). ``mge operator run`` resolves them with the global flags and hands them over with
:func:`use` before kopf imports the handlers; a process that imports the handlers itself
(kopf.testing) gets :func:`~mge.config.load_settings` from the environment.
"""

from __future__ import annotations

from typing import Any

from mge.config import Settings, load_settings
from mge.models.project import API_GROUP

FINALIZER = f"{API_GROUP}/cleanup"
"""Finalizer on every Project: store rows are deleted before the object goes."""
ANNOTATION_PREFIX = API_GROUP
"""kopf's progress and diff-base annotations live under this prefix."""
RECONCILE_IDLE_SECONDS = 5.0
"""The timer waits this long after the last change before firing (seconds)."""

_chosen: Settings | None = None


def use(settings: Settings) -> None:
    """Run the operator with ``settings`` (the CLI's, flags included); call before the
    handlers are imported, as their timer interval is read at import."""
    global _chosen
    _chosen = settings


def startup_settings() -> Settings:
    """The settings handed over by :func:`use`, else loaded from the environment (read once)."""
    global _chosen
    if _chosen is None:
        _chosen = load_settings()
    return _chosen


def configure_kopf(settings: Any) -> None:
    """Fill kopf's ``OperatorSettings`` (called from the one startup hook).

    Finalizer and annotations under ``mge.dev``; kopf peering off (``--standalone``): replicas
    elect one active operator with a Lease (:mod:`mge.kube.leader`) before kopf watches
    anything, so kopf never sees a second operator; Events from WARNING up.
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
