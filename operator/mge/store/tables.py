"""The store's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Every table except ``llm_cache`` is scoped by ``project`` (a key such as ``default/todo-lib``).
This module is the *current* shape; the Alembic revisions in ``migrations/versions`` build it
step by step and a test checks that the two agree on both backends.

Why these choices:

- Timestamps are written by the application (the store's clock), never by a server default,
  so SQLite and PostgreSQL hold the same values; :class:`UTCDateTime` gives back aware UTC
  datetimes on both.
- JSON columns are ``JSONB`` on PostgreSQL and ``JSON`` (text) on SQLite.
- Foreign keys cascade as a safety net, but the repository deletes child rows explicitly, so
  nothing depends on SQLite's ``PRAGMA foreign_keys`` being on.
- The cost ledger has no foreign key to ``projects``: a paid call must be written down even if
  it happened before its project row (money spent is never lost to a constraint).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

__all__ = [
    "KEY_LEN",
    "atoms",
    "attempts",
    "cost_ledger",
    "documents",
    "edges",
    "llm_cache",
    "metadata",
    "project_scoped_tables",
    "projects",
    "review_items",
    "tasks",
    "validations",
]

KEY_LEN = 253
"""Longest project key: a Kubernetes namespace/name pair fits (63 + 1 + 63 ≤ 253)."""
ID_LEN = 255
"""Longest atom or task id (atom ids are ≤ 51 characters today)."""
HASH_LEN = 64
"""A hex sha256 digest."""

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names, so later migrations (and SQLite batch mode) can name them."""

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both backends.

    SQLite keeps no offset, so values are converted to UTC before writing and marked UTC when
    read back; PostgreSQL stores ``timestamptz``.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONDoc = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""A JSON document column: JSONB on PostgreSQL, JSON text on SQLite."""

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""An auto-increment id (SQLite only auto-increments an INTEGER primary key)."""


def _project_fk() -> sa.Column[str]:
    return sa.Column(
        "project",
        sa.String(KEY_LEN),
        sa.ForeignKey("projects.key", ondelete="CASCADE"),
        nullable=False,
    )


def _at(name: str) -> sa.Column[datetime]:
    return sa.Column(name, UTCDateTime(), nullable=False)


projects = sa.Table(
    "projects",
    metadata,
    sa.Column("key", sa.String(KEY_LEN), primary_key=True),
    sa.Column("spec", JSONDoc, nullable=False),
    sa.Column("spec_hash", sa.String(HASH_LEN), nullable=False),
    sa.Column("generation", sa.BigInteger(), nullable=False),
    sa.Column("phase", sa.String(32), nullable=False),
    sa.Column("summary", JSONDoc, nullable=False),
    _at("created_at"),
    _at("updated_at"),
)

documents = sa.Table(
    "documents",
    metadata,
    _project_fk(),
    sa.Column("kind", sa.String(ID_LEN), nullable=False),
    sa.Column("content", JSONDoc, nullable=False),
    sa.Column("content_hash", sa.String(HASH_LEN), nullable=False),
    _at("updated_at"),
    sa.PrimaryKeyConstraint("project", "kind"),
)

tasks = sa.Table(
    "tasks",
    metadata,
    _project_fk(),
    sa.Column("id", sa.String(ID_LEN), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("data", JSONDoc, nullable=False),
    _at("updated_at"),
    sa.PrimaryKeyConstraint("project", "id"),
)

atoms = sa.Table(
    "atoms",
    metadata,
    _project_fk(),
    sa.Column("id", sa.String(ID_LEN), nullable=False),
    sa.Column("task_id", sa.String(ID_LEN), nullable=True),
    sa.Column("file", sa.Text(), nullable=False),
    sa.Column("qualname", sa.Text(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("level", sa.Integer(), nullable=True),
    sa.Column("unit", JSONDoc, nullable=False),
    sa.Column("unit_hash", sa.String(HASH_LEN), nullable=False),
    sa.Column("code", sa.Text(), nullable=True),
    sa.Column("atomicity", JSONDoc, nullable=True),
    sa.Column("confidence", sa.Double(), nullable=True),
    _at("created_at"),
    _at("updated_at"),
    sa.PrimaryKeyConstraint("project", "id"),
    sa.Index("ix_atoms_project_state", "project", "state"),
    sa.Index("ix_atoms_project_level", "project", "level"),
    sa.Index("ix_atoms_project_task_id", "project", "task_id"),
)

edges = sa.Table(
    "edges",
    metadata,
    _project_fk(),
    sa.Column("src", sa.String(ID_LEN), nullable=False),
    sa.Column("dst", sa.String(ID_LEN), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.PrimaryKeyConstraint("project", "src", "dst", "kind"),
    sa.Index("ix_edges_project_dst", "project", "dst"),
)

attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("project", sa.String(KEY_LEN), nullable=False),
    sa.Column("atom_id", sa.String(ID_LEN), nullable=False),
    sa.Column("number", sa.Integer(), nullable=False),
    sa.Column("temperature", sa.Double(), nullable=False),
    sa.Column("prompt_hash", sa.String(HASH_LEN), nullable=False),
    sa.Column("code", sa.Text(), nullable=False),
    sa.Column("validation", JSONDoc, nullable=True),
    sa.Column("input_tokens", sa.BigInteger(), nullable=False),
    sa.Column("output_tokens", sa.BigInteger(), nullable=False),
    sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
    sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
    sa.Column("cost_usd", sa.Double(), nullable=False),
    sa.Column("duration_s", sa.Double(), nullable=False),
    sa.Column("error", sa.Text(), nullable=False),
    _at("created_at"),
    sa.PrimaryKeyConstraint("project", "atom_id", "number"),
    sa.ForeignKeyConstraint(
        ["project", "atom_id"], ["atoms.project", "atoms.id"], ondelete="CASCADE"
    ),
)

validations = sa.Table(
    "validations",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    _project_fk(),
    sa.Column("level", sa.String(2), nullable=False),
    sa.Column("subject", sa.Text(), nullable=False),
    sa.Column("passed", sa.Boolean(), nullable=False),
    sa.Column("checks", JSONDoc, nullable=False),
    _at("created_at"),
    sa.Index("ix_validations_project_subject", "project", "subject"),
    sa.Index("ix_validations_project_level", "project", "level"),
)

review_items = sa.Table(
    "review_items",
    metadata,
    sa.Column("project", sa.String(KEY_LEN), nullable=False),
    sa.Column("atom_id", sa.String(ID_LEN), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("code", sa.Text(), nullable=False),
    sa.Column("confidence", JSONDoc, nullable=False),
    sa.Column("confidence_score", sa.Double(), nullable=False),
    sa.Column("context_summary", sa.Text(), nullable=False),
    sa.Column("suggestion", sa.Text(), nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("edited_code", sa.Text(), nullable=True),
    sa.Column("feedback", sa.Text(), nullable=True),
    sa.Column("decided_by", sa.String(KEY_LEN), nullable=True),
    sa.Column("decided_at", UTCDateTime(), nullable=True),
    _at("created_at"),
    _at("updated_at"),
    sa.PrimaryKeyConstraint("project", "atom_id"),
    sa.ForeignKeyConstraint(
        ["project", "atom_id"], ["atoms.project", "atoms.id"], ondelete="CASCADE"
    ),
    sa.Index("ix_review_items_project_decision", "project", "decision"),
)

llm_cache = sa.Table(
    "llm_cache",
    metadata,
    sa.Column("content_hash", sa.String(HASH_LEN), primary_key=True),
    sa.Column("request_key", sa.Text(), nullable=False),
    sa.Column("response", JSONDoc, nullable=False),
    _at("created_at"),
)

cost_ledger = sa.Table(
    "cost_ledger",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("project", sa.String(KEY_LEN), nullable=True),
    sa.Column("request_key", sa.Text(), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("provider", sa.String(64), nullable=False),
    sa.Column("input_tokens", sa.BigInteger(), nullable=False),
    sa.Column("output_tokens", sa.BigInteger(), nullable=False),
    sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
    sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
    sa.Column("cost_usd", sa.Double(), nullable=False),
    # atom#number#prompt-hash on rows written by record_attempt, so re-recording is idempotent.
    sa.Column("attempt_key", sa.String(2 * ID_LEN), nullable=True),
    _at("at"),
    sa.UniqueConstraint("project", "attempt_key", name="uq_cost_ledger_project_attempt_key"),
    sa.Index("ix_cost_ledger_project", "project"),
)


def project_scoped_tables() -> list[sa.Table]:
    """Every table with a ``project`` column, children before parents (safe delete order)."""
    return [t for t in reversed(metadata.sorted_tables) if "project" in t.c]
