"""Alembic environment for the MGE store, run programmatically by :mod:`mge.store.migrate`.

There is no alembic.ini: the caller passes an open SQLAlchemy (sync-facing) connection in
``config.attributes["connection"]``, already inside a transaction, so migrations run in the
caller's transaction on the caller's async engine (Alembic's documented "connection sharing"
recipe). Offline SQL generation (``--sql``) is not supported.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from mge.store.tables import metadata

VERSION_TABLE = "mge_schema_version"
"""Alembic's version table, named for MGE so a shared database cannot confuse it with another."""


def run_migrations(connection: Connection) -> None:
    """Run the requested upgrade/downgrade on ``connection``."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("the MGE store runs migrations online only (mge db upgrade)")
_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("run migrations through mge.store.migrate, which passes a connection")
run_migrations(_connection)
