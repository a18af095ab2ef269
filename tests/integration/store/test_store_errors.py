"""Database failures become one readable StoreError that never shows a password or SQL."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from store_samples import attempt, spec

from mge.errors import ConfigError, StoreError
from mge.models import AtomState
from mge.store import Store, revision_of, upgrade_database

SECRET = "s3cr3t-Pa55"


def _closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_unreachable_postgres_is_a_store_error_with_the_password_masked() -> None:
    url = f"postgresql+asyncpg://mge:{SECRET}@127.0.0.1:{_closed_port()}/mge"
    for operation in (Store.open, upgrade_database, revision_of):
        with pytest.raises(StoreError) as e:
            await operation(url)
        message = str(e.value)
        assert SECRET not in message
        assert "mge:***@127.0.0.1" in message
        assert "failed" in message


async def test_sqlite_file_that_cannot_be_created_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(StoreError, match="opening failed"):
        await Store.open(f"sqlite+aiosqlite:///{blocker}/sub/mge.db")


@pytest.mark.parametrize(
    "url", ["mysql://root:pw@localhost/mge", "not a url at all", "oracle+cx://u:pw@h/x"]
)
async def test_unsupported_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError) as e:
        await Store.open(url)
    assert "pw@" not in str(e.value)


async def test_refused_write_names_the_operation_not_the_sql(store: Store) -> None:
    await store.upsert_project("default/todo", spec(), 1)
    long_code = "x = 1\n" * 5000
    with pytest.raises(StoreError) as e:
        await store.put_document("ghost", "plan", {"code": long_code})
    message = str(e.value)
    assert "saving document 'plan' of project 'ghost' failed" in message
    assert "[SQL:" not in message and "INSERT" not in message and long_code not in message
    assert len(message) < 600
    with pytest.raises(StoreError, match="is not in the store"):
        await store.record_attempt("default/todo", attempt("ghost"), AtomState.FAILED)


async def test_store_url_is_masked(store_url: str) -> None:
    store = await Store.open(store_url)
    try:
        assert store.backend in ("sqlite", "postgresql")
        assert store.url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://"))
    finally:
        await store.close()
