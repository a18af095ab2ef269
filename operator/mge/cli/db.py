"""`mge db`: the store's schema — `mge db upgrade` migrates, `mge db current` reports.

The database is the one in the settings (``--database-url`` / ``MGE_DATABASE_URL``; default a
SQLite file under the workdir). The store itself is imported only when a command runs, so other
commands (``mge sandbox run`` in a sandbox image) never load SQLAlchemy or Alembic.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from mge.cli.app import State, app

db_app = typer.Typer(
    name="db",
    help="The store's database schema: upgrade it, or show its revision.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade(
    revision: Annotated[
        str, typer.Option("--revision", help="Target revision (default: the newest).")
    ] = "head",
) -> None:
    """Create or migrate the store's tables. Running it again is a no-op."""
    from mge.store import mask_url, upgrade_database

    url = State.settings().resolved_database_url()
    result = asyncio.run(upgrade_database(url, revision))
    where = mask_url(url)
    if result.changed:
        typer.echo(f"{where}: upgraded {result.before or 'empty'} -> {result.after}")
    else:
        typer.echo(f"{where}: already at {result.after or 'empty'} (nothing to do)")


@db_app.command("current")
def current(
    check: Annotated[
        bool,
        typer.Option("--check", help="Fail (exit 2) unless the schema is the newest."),
    ] = False,
) -> None:
    """Show the store's schema revision and the newest one this MGE ships."""
    from mge.errors import StoreError
    from mge.store import head_revision, mask_url, revision_of

    url = State.settings().resolved_database_url()
    now, head = asyncio.run(revision_of(url)), head_revision()
    status = "up to date" if now == head else "behind: run `mge db upgrade`"
    typer.echo(f"{mask_url(url)}: revision {now or 'none (empty)'}, newest {head} ({status})")
    if check and now != head:
        raise StoreError(f"schema revision is {now or 'none'}, not {head}: run `mge db upgrade`")
