"""Chroma collection names: which collection holds what, and a check that a name is accepted.

Names carry the embedder, because vectors from two embedders live in different spaces and must
never share a collection: switching ``Settings.embedder`` indexes into a fresh collection
instead of mixing vectors.
"""

from __future__ import annotations

import re
from typing import Literal

from mge.errors import ConfigError

__all__ = ["DEFAULT_PREFIX", "CollectionKind", "collection_name", "validate_collection_name"]

CollectionKind = Literal["patterns", "learned"]

#: Prefix of every collection MGE creates, so a shared Chroma server shows whose they are.
DEFAULT_PREFIX = "mge"
#: Chroma's rule: 3–512 characters of [a-zA-Z0-9._-], alphanumeric at both ends, no "..".
_NAME = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9._-]{1,510})[a-zA-Z0-9]$")


def validate_collection_name(name: str) -> str:
    """Return ``name`` if Chroma accepts it as a collection name, else raise ConfigError."""
    if not _NAME.match(name) or ".." in name:
        raise ConfigError(
            f"collection name {name!r} is invalid: use 3-512 characters of letters, digits, "
            "'.', '_' and '-', starting and ending with a letter or digit, without '..'"
        )
    return name


def collection_name(kind: CollectionKind, embedder: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The collection for ``kind`` embedded by ``embedder``, e.g. ``mge-patterns-minilm-int8``."""
    return validate_collection_name(f"{prefix}-{kind}-{embedder}")
