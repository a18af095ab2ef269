"""URLs: supported backends, the async driver pinned, and a password never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, IntegrityError

from mge.errors import ConfigError, StoreError
from mge.store.failures import MAX_REASON_CHARS, reason_of, store_error
from mge.store.urls import backend_of, mask_url, normalize_url, sqlite_path


@pytest.mark.parametrize(
    ("given_url", "driver"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@h:5432/db", "postgresql+asyncpg"),
    ],
)
def test_supported_urls_get_the_async_driver(given_url: str, driver: str) -> None:
    assert normalize_url(given_url).drivername == driver


@pytest.mark.parametrize(
    "bad", ["mysql://u:pw@h/db", "postgresql+psycopg://u:pw@h/db", "::nonsense::", ""]
)
def test_other_urls_are_config_errors_naming_the_setting(bad: str) -> None:
    with pytest.raises(ConfigError, match="database_url") as e:
        normalize_url(bad)
    assert "pw@" not in str(e.value)


def test_backend_and_sqlite_path() -> None:
    assert backend_of(normalize_url("postgresql://h/db")) == "postgresql"
    assert backend_of(normalize_url("sqlite:///a/b.db")) == "sqlite"
    assert sqlite_path(normalize_url("sqlite:////abs/mge.db")) == Path("/abs/mge.db")
    assert sqlite_path(normalize_url("sqlite://")) is None
    assert sqlite_path(normalize_url("sqlite:///:memory:")) is None
    assert sqlite_path(normalize_url("postgresql://h/db")) is None


passwords = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=6, max_size=30
)


@given(password=passwords)
def test_mask_url_never_shows_the_password(password: str) -> None:
    url = URL.create("postgresql+asyncpg", "mge", password, "db.example", 5432, "mge")
    text = url.render_as_string(hide_password=False)
    assume(password not in url.render_as_string(hide_password=True))
    assert password not in mask_url(text)
    assert password not in mask_url(url)
    assert mask_url(text).startswith("postgresql+asyncpg://mge:***@db.example:5432")


def test_mask_url_of_an_unparsable_url_still_hides_the_password() -> None:
    assert mask_url("weird+://me:topsecret@somewhere/x") == "weird+://me:***@somewhere/x"
    assert mask_url("no credentials here") == "no credentials here"


def test_reason_is_the_drivers_first_line_without_sql() -> None:
    orig = Exception(
        "<class 'asyncpg.exceptions.ForeignKeyViolationError'>: insert or update on table "
        '"documents" violates foreign key constraint\nDETAIL: Key (project)=(x) is not present'
    )
    err = IntegrityError("INSERT INTO documents VALUES ($1, $2)", {"code": "x" * 10_000}, orig)
    assert reason_of(err) == (
        'insert or update on table "documents" violates foreign key constraint'
    )


def test_reason_is_cut_and_masks_urls() -> None:
    long = DBAPIError("SELECT 1", None, Exception("y" * 5000))
    assert len(reason_of(long)) == MAX_REASON_CHARS
    assert reason_of(OSError("cannot reach postgresql://u:pw123@h/db")) == (
        "cannot reach postgresql://u:***@h/db"
    )
    assert reason_of(TimeoutError()) == "TimeoutError"


def test_store_error_says_what_where_and_why() -> None:
    err = store_error("saving atoms", "sqlite+aiosqlite:///x.db", OSError("disk full"))
    assert isinstance(err, StoreError)
    assert str(err) == "store sqlite+aiosqlite:///x.db: saving atoms failed: disk full"
