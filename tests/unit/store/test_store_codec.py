"""Documents and hashes: models round-trip through their JSON form; key order never matters."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mge.models import ConfidenceParts, Edge, ProjectSpec, ReviewItem
from mge.store.codec import canonical_json, content_hash, to_document

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6))
def test_hash_ignores_key_order(doc: dict[str, Any]) -> None:
    reordered = dict(reversed(list(doc.items())))
    assert content_hash(doc) == content_hash(reordered)
    assert canonical_json(doc) == canonical_json(reordered)


def test_hash_changes_with_content() -> None:
    assert content_hash({"a": 1}) != content_hash({"a": 2})
    assert content_hash(Edge(src="a", dst="b", kind="call")) != content_hash(
        Edge(src="a", dst="b", kind="type")
    )


def test_models_are_stored_camel_case_and_validate_back() -> None:
    spec = ProjectSpec.model_validate({"requirements": "r", "budget": {"maxCostUSD": 3}})
    doc = to_document(spec)
    assert doc["budget"]["maxCostUSD"] == 3
    assert "requirementsFrom" in doc  # every field present, so nothing depends on defaults
    assert ProjectSpec.model_validate(doc) == spec
    assert content_hash(spec) == content_hash(doc)


def test_datetimes_in_models_become_iso_text() -> None:
    item = ReviewItem.model_validate(
        {
            "atomId": "a",
            "reason": "failed",
            "code": "",
            "confidence": ConfidenceParts(validation=0, attempts=0, complexity=0, integration=0),
            "decidedAt": "2026-11-24T12:00:00Z",
        }
    )
    doc = to_document(item)
    assert doc["decidedAt"].startswith("2026-11-24T12:00:00")
    assert ReviewItem.model_validate(doc) == item


def test_a_mapping_that_json_cannot_hold_is_refused_early() -> None:
    with pytest.raises(TypeError):
        to_document({"when": object()})
