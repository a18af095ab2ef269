"""The cluster backend's pure parts: AtomReviews → pages, the decision patch, staleness."""

from __future__ import annotations

from typing import Any

import pytest

from mge.models.review import ReviewDecision
from mge.web.backend import NotFound
from mge.web.kube_backend import split_key
from mge.web.kube_views import (
    decision_patch,
    kube_atom_view,
    kube_marks,
    kube_outcome,
    kube_project_view,
    kube_queue_view,
    kube_version,
    language_of,
    stale_reason,
)


def review(atom: str, score: str, decision: str = "pending", **status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"shop-{atom}",
            "namespace": "ns",
            "generation": 1,
            "resourceVersion": "7",
            "annotations": {},
        },
        "spec": {"projectRef": {"name": "shop"}, "atomId": atom, "decision": decision},
        "status": {
            "state": "Pending",
            "code": "def f(): ...",
            "file": "shop.py",
            "confidence": {"score": score, "validation": 0.5},
            **status,
        },
    }


def test_the_queue_is_least_confident_first_and_filtered_by_decision() -> None:
    reviews = [review("b", "0.70"), review("a", "0.20"), review("c", "0.20", "approve")]
    assert [r["atom"] for r in kube_queue_view(reviews, "pending")] == ["a", "b"]
    assert [r["atom"] for r in kube_queue_view(reviews, "decided")] == ["c"]
    assert [r["atom"] for r in kube_queue_view(reviews, "all")] == ["a", "c", "b"]
    row = kube_queue_view(reviews, "all")[0]
    assert row["confidence"]["score"] == 0.2 and row["where"] == "shop.py"


def test_who_decided_is_the_annotation_else_the_history() -> None:
    r = review("a", "0.1", "approve", history=[{"decision": "approve", "by": "bob"}])
    assert kube_queue_view([r], "all")[0]["decidedBy"] == "bob"
    r["metadata"]["annotations"]["mge.dev/decided-by"] = "alice"
    assert kube_queue_view([r], "all")[0]["decidedBy"] == "alice"
    assert kube_queue_view([review("p", "0.1")], "all")[0]["decidedBy"] is None


def test_the_project_row_counts_reviews_and_reads_progress_and_cost() -> None:
    project = {
        "metadata": {"namespace": "ns", "name": "shop"},
        "status": {
            "phase": "Reviewing",
            "progress": {"atomsTotal": 9, "percent": 80},
            "cost": {"usd": "1.25"},
        },
    }
    row = kube_project_view(project, [review("a", "0.1"), review("b", "0.2", "edit")])
    assert row["key"] == "ns/shop" and row["phase"] == "Reviewing"
    assert row["review"] == {"total": 2, "pending": 1, "decided": 1}
    assert row["atoms"] == 9 and row["progress"] == 80 and row["costUsd"] == 1.25


def test_the_atom_page_takes_store_details_only_when_given() -> None:
    r = review("a", "0.1", suggestion="use a set")
    bare = kube_atom_view("ns/shop", r, None, None)
    assert bare["details"] is False and bare["attempts"] == [] and bare["code"] == "def f(): ..."
    assert bare["readOnly"] is None and bare["suggestion"] == "use a set"
    details = {
        "unit": {"spec": "adds"},
        "attempts": [{"number": 1}],
        "failures": [],
        "dependencies": [],
        "atomState": "in_review",
        "code": "IGNORED",
    }
    full = kube_atom_view("ns/shop", r, details, "Read-only: …")
    assert full["details"] is True and full["attempts"] == [{"number": 1}]
    assert full["code"] == "def f(): ..."  # the AtomReview is the truth for what is decided
    assert full["readOnly"] == "Read-only: …"


def test_a_decision_is_a_preconditioned_patch_naming_the_user() -> None:
    edit = ReviewDecision("a", "edit", code="x = 1\n", by="alice")
    assert decision_patch(edit, "alice", "42") == {
        "metadata": {"resourceVersion": "42", "annotations": {"mge.dev/decided-by": "alice"}},
        "spec": {"decision": "edit", "code": "x = 1\n", "feedback": None},
    }
    regen = decision_patch(ReviewDecision("a", "regenerate", feedback="f"), "bob", "1")
    assert regen["spec"] == {"decision": "regenerate", "code": None, "feedback": "f"}


def test_a_page_holding_an_old_version_or_a_decided_item_is_stale() -> None:
    r = review("a", "0.1")
    assert stale_reason(r, kube_version(r)) is None
    assert "changed since this page loaded it" in (stale_reason(r, "old") or "")
    r["spec"]["decision"] = "approve"
    r["metadata"]["annotations"]["mge.dev/decided-by"] = "bob"
    assert "already decided elsewhere (approve by bob)" in (stale_reason(r, kube_version(r)) or "")


def test_the_version_moves_with_the_outcome() -> None:
    r = review("a", "0.1")
    before = kube_version(r)
    r["status"]["state"] = "Accepted"
    assert kube_version(r) != before


def test_the_outcome_waits_for_the_operator_of_that_generation() -> None:
    r = review("a", "0.1", "edit", state="Accepted", observedGeneration=1)
    assert kube_outcome(r, 2)["pending"] is True
    r["status"]["observedGeneration"] = 2
    assert kube_outcome(r, 2)["accepted"] is True
    r["status"].update(state="Rejected", message="mypy: error")
    out = kube_outcome(r, 2)
    assert out["accepted"] is False and out["pending"] is False
    assert out["failures"][0]["detail"] == "mypy: error"


def test_marks_change_with_any_resource_version() -> None:
    project = {"metadata": {"namespace": "ns", "name": "shop", "resourceVersion": "1"}}
    reviews = [review("a", "0.1")]
    before = kube_marks([project], reviews)
    assert set(before) == {"ns/shop"}
    reviews[0]["metadata"]["resourceVersion"] = "8"
    assert kube_marks([project], reviews) != before


def test_keys_and_languages() -> None:
    assert split_key("ns/shop") == ("ns", "shop")
    for bad in ("shop", "/shop", "ns/", "a/b/c"):
        with pytest.raises(NotFound):
            split_key(bad)
    assert language_of("a.ts") == "typescript" and language_of("a.py") == "python"


def test_a_rejected_decision_can_be_decided_again() -> None:
    r = review("a", "0.1", "edit", state="Rejected", observedGeneration=2)
    r["metadata"]["generation"] = 2
    assert kube_queue_view([r], "pending")[0]["open"] is True
    assert stale_reason(r, kube_version(r)) is None
    r["metadata"]["generation"] = 3  # a new decision the operator has not acted on yet
    assert kube_queue_view([r], "pending") == []
    assert "already decided elsewhere" in (stale_reason(r, kube_version(r)) or "")
