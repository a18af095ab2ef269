"""Models to JSON documents and content hashes (pure).

Stored JSON is the camelCase wire form (the same shape a manifest or a CRD status uses), with
every field present, so a document read back validates into the same model. Hashes are taken
over canonical JSON (sorted keys, no whitespace), so key order never changes a hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

__all__ = ["canonical_json", "content_hash", "to_document"]


def to_document(value: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-ready dict: a model's camelCase dump, or a copy of a mapping (checked JSON-able)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    doc = dict(value)
    canonical_json(doc)  # fail here, with the offending type, rather than in the driver
    return doc


def canonical_json(value: Any) -> str:
    """Canonical JSON text: sorted keys, compact separators, unicode kept.

    Raises TypeError for values JSON cannot hold (sets, datetimes, objects).
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(value: BaseModel | Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON of a model or mapping."""
    return hashlib.sha256(canonical_json(to_document(value)).encode()).hexdigest()
