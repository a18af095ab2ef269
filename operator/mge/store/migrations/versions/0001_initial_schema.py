"""Initial schema: projects, documents, tasks, atoms, edges, attempts, validations,
review items, LLM response cache and cost ledger.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Frozen: this file spells out its types instead of importing mge.store.tables, so later changes
to the tables go into new revisions and this one keeps building the same schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = sa.String(253)
ID = sa.String(255)
HASH = sa.String(64)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _row_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _project_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["project"], ["projects.key"], name=f"fk_{table}_project", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("key", KEY, nullable=False),
        sa.Column("spec", _json(), nullable=False),
        sa.Column("spec_hash", HASH, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("phase", sa.String(32), nullable=False),
        sa.Column("summary", _json(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_projects"),
    )
    op.create_table(
        "documents",
        sa.Column("project", KEY, nullable=False),
        sa.Column("kind", ID, nullable=False),
        sa.Column("content", _json(), nullable=False),
        sa.Column("content_hash", HASH, nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("project", "kind", name="pk_documents"),
        _project_fk("documents"),
    )
    op.create_table(
        "tasks",
        sa.Column("project", KEY, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("project", "id", name="pk_tasks"),
        _project_fk("tasks"),
    )
    op.create_table(
        "atoms",
        sa.Column("project", KEY, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("task_id", ID, nullable=True),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("qualname", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("unit", _json(), nullable=False),
        sa.Column("unit_hash", HASH, nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("atomicity", _json(), nullable=True),
        sa.Column("confidence", sa.Double(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("project", "id", name="pk_atoms"),
        _project_fk("atoms"),
    )
    op.create_index("ix_atoms_project_state", "atoms", ["project", "state"])
    op.create_index("ix_atoms_project_level", "atoms", ["project", "level"])
    op.create_index("ix_atoms_project_task_id", "atoms", ["project", "task_id"])
    op.create_table(
        "edges",
        sa.Column("project", KEY, nullable=False),
        sa.Column("src", ID, nullable=False),
        sa.Column("dst", ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("project", "src", "dst", "kind", name="pk_edges"),
        _project_fk("edges"),
    )
    op.create_index("ix_edges_project_dst", "edges", ["project", "dst"])
    op.create_table(
        "attempts",
        sa.Column("project", KEY, nullable=False),
        sa.Column("atom_id", ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("temperature", sa.Double(), nullable=False),
        sa.Column("prompt_hash", HASH, nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("validation", _json(), nullable=True),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Double(), nullable=False),
        sa.Column("duration_s", sa.Double(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("project", "atom_id", "number", name="pk_attempts"),
        sa.ForeignKeyConstraint(
            ["project", "atom_id"],
            ["atoms.project", "atoms.id"],
            name="fk_attempts_project_atom_id",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "validations",
        sa.Column("id", _row_id(), autoincrement=True, nullable=False),
        sa.Column("project", KEY, nullable=False),
        sa.Column("level", sa.String(2), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("checks", _json(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_validations"),
        _project_fk("validations"),
    )
    op.create_index("ix_validations_project_subject", "validations", ["project", "subject"])
    op.create_index("ix_validations_project_level", "validations", ["project", "level"])
    op.create_table(
        "review_items",
        sa.Column("project", KEY, nullable=False),
        sa.Column("atom_id", ID, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("confidence", _json(), nullable=False),
        sa.Column("confidence_score", sa.Double(), nullable=False),
        sa.Column("context_summary", sa.Text(), nullable=False),
        sa.Column("suggestion", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("edited_code", sa.Text(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("decided_by", KEY, nullable=True),
        sa.Column("decided_at", _ts(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("project", "atom_id", name="pk_review_items"),
        sa.ForeignKeyConstraint(
            ["project", "atom_id"],
            ["atoms.project", "atoms.id"],
            name="fk_review_items_project_atom_id",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_review_items_project_decision", "review_items", ["project", "decision"])
    op.create_table(
        "llm_cache",
        sa.Column("content_hash", HASH, nullable=False),
        sa.Column("request_key", sa.Text(), nullable=False),
        sa.Column("response", _json(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("content_hash", name="pk_llm_cache"),
    )
    op.create_table(
        "cost_ledger",
        sa.Column("id", _row_id(), autoincrement=True, nullable=False),
        sa.Column("project", KEY, nullable=True),
        sa.Column("request_key", sa.Text(), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Double(), nullable=False),
        sa.Column("attempt_key", sa.String(510), nullable=True),
        sa.Column("at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cost_ledger"),
        sa.UniqueConstraint("project", "attempt_key", name="uq_cost_ledger_project_attempt_key"),
    )
    op.create_index("ix_cost_ledger_project", "cost_ledger", ["project"])


def downgrade() -> None:
    for table in (
        "cost_ledger",
        "llm_cache",
        "review_items",
        "validations",
        "attempts",
        "edges",
        "atoms",
        "tasks",
        "documents",
        "projects",
    ):
        op.drop_table(table)
