"""The store: MGE's durable state (projects, stage outputs, atoms, attempts, validations, review
items, the LLM response cache and the cost ledger) on SQLite locally or PostgreSQL in a cluster.

Open it with ``store = await Store.open(settings.resolved_database_url())``; the schema is
migrated to the newest revision on open (``mge db upgrade`` does the same explicitly).
"""

from mge.store.migrate import Revisions, head_revision, revision_of, upgrade_database
from mge.store.records import AtomSaveResult, StoredAtom, StoredProject, UsageTotals
from mge.store.repository import Store
from mge.store.urls import mask_url, normalize_url

__all__ = [
    "AtomSaveResult",
    "Revisions",
    "Store",
    "StoredAtom",
    "StoredProject",
    "UsageTotals",
    "head_revision",
    "mask_url",
    "normalize_url",
    "revision_of",
    "upgrade_database",
]
