"""Collection names Chroma accepts, and how Settings pick the Chroma client."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mge.config import Settings
from mge.errors import ConfigError, RetrievalUnavailable
from mge.rag.client import CHROMA_SUBDIR, make_client, parse_chroma_url
from mge.rag.naming import collection_name, validate_collection_name


def test_collection_names_carry_kind_and_embedder() -> None:
    assert collection_name("patterns", "minilm-int8") == "mge-patterns-minilm-int8"
    assert collection_name("learned", "chroma-default", "team.a") == "team.a-learned-chroma-default"


@pytest.mark.parametrize("name", ["abc", "a" * 512, "A.b_c-9", "mge-patterns-x"])
def test_valid_names(name: str) -> None:
    assert validate_collection_name(name) == name


@pytest.mark.parametrize("name", ["ab", "a" * 513, "-abc", "abc-", "a..b", "a b c", "ab/c", "é12"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(ConfigError, match="collection name"):
        validate_collection_name(name)


@given(st.text(min_size=0, max_size=600))
def test_accepted_names_obey_the_rule(name: str) -> None:
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    try:
        validate_collection_name(name)
    except ConfigError:
        return
    assert 3 <= len(name) <= 512
    assert set(name) <= allowed
    assert name[0].isalnum() and name[-1].isalnum() and ".." not in name


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("http://chroma:8000", ("chroma", 8000, False)),
        ("http://chroma", ("chroma", 8000, False)),
        ("https://chroma.example.org", ("chroma.example.org", 443, True)),
        ("https://10.0.0.5:9443/", ("10.0.0.5", 9443, True)),
    ],
)
def test_parse_chroma_url(url: str, parsed: tuple[str, int, bool]) -> None:
    assert parse_chroma_url(url) == parsed


@pytest.mark.parametrize(
    "url", ["chroma:8000", "ftp://x", "http://", "http://h/path", "http://h:x"]
)
def test_bad_chroma_url(url: str) -> None:
    with pytest.raises(ConfigError, match="chroma_url"):
        parse_chroma_url(url)


def test_default_client_is_embedded_under_workdir(tmp_path: Path) -> None:
    client = make_client(Settings(workdir=tmp_path / "w"))
    client.heartbeat()
    assert (tmp_path / "w" / CHROMA_SUBDIR).is_dir()


def test_unreachable_server_is_retrieval_unavailable() -> None:
    """Not a settings error (the URL is well formed): planning goes on without patterns."""
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    with pytest.raises(RetrievalUnavailable, match="cannot reach Chroma"):
        make_client(Settings(chroma_url="http://127.0.0.1:9"))
