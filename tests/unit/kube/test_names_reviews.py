"""Deterministic child names, who-decided, and the AtomReview decision rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import cast

from hypothesis import given
from hypothesis import strategies as st

from mge.cli.operator import kopf_args
from mge.config import OperatorSettings
from mge.kube import reviews
from mge.kube.client import KubeClient
from mge.kube.jobs import JobTarget, KubeJobRunner, Slot
from mge.models.project import ExecutionSpec
from mge.models.review import AtomReviewSpec, AtomReviewStatus

DNS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

project_names = st.from_regex(r"[a-z][a-z0-9-]{0,60}[a-z0-9]", fullmatch=True)
atom_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", fullmatch=True)


@given(project_names, atom_ids)
def test_review_names_are_dns_labels_and_repeatable(project: str, atom: str) -> None:
    name = reviews.review_name(project, atom)
    assert len(name) <= 63 and DNS.match(name), name
    assert reviews.review_name(project, atom) == name


def test_review_names_keep_case_variants_apart() -> None:
    assert reviews.review_name("p", "Atom.A") != reviews.review_name("p", "atom-a")
    assert reviews.review_name("p", "atom-a") == "p-atom-a"


@given(project_names, st.integers(1, 10**6), st.integers(-1, 999), st.integers(0, 999))
def test_batch_names_are_dns_labels(project: str, gen: int, level: int, batch: int) -> None:
    target = JobTarget(
        namespace="ns", project=project, owner={}, generation=gen, execution=ExecutionSpec()
    )
    runner = KubeJobRunner(cast(KubeClient, None), target)
    name = runner.job_name(Slot(level=level, batch=batch, attempt=3), "0123456789abcdef" * 4)
    assert len(name) <= 63 and DNS.match(name)


def body(
    annotations: dict[str, str] | None = None, managed: list[dict[str, object]] | None = None
) -> dict[str, object]:
    return {"metadata": {"annotations": annotations or {}, "managedFields": managed or []}}


def test_decided_by_prefers_annotation_then_latest_decision_manager() -> None:
    managed: list[dict[str, object]] = [
        {
            "manager": "mge-operator",
            "time": "2026-11-24T10:00:00Z",
            "fieldsV1": {"f:spec": {"f:atomId": {}}},
        },
        {
            "manager": "kubectl-patch",
            "time": "2026-11-24T11:00:00Z",
            "fieldsV1": {"f:spec": {"f:decision": {}}},
        },
        {
            "manager": "argocd",
            "time": "2026-11-24T09:00:00Z",
            "fieldsV1": {"f:spec": {"f:decision": {}}},
        },
    ]
    assert reviews.decided_by(body(managed=managed)) == "kubectl-patch"
    assert reviews.decided_by(body({"mge.dev/decided-by": "alice"}, managed)) == "alice"
    assert reviews.decided_by(body()) == "unknown"


def spec(decision: str, **kw: str) -> AtomReviewSpec:
    return AtomReviewSpec.model_validate(
        {"projectRef": {"name": "p"}, "atomId": "a1", "decision": decision, **kw}
    )


def test_decide_review_acts_once_per_generation() -> None:
    plan = reviews.decide_review(
        spec("approve"), AtomReviewStatus(), generation=2, by="bob", now=NOW
    )
    assert plan.step == "accept" and plan.status.state == "Accepted"
    assert [(h.decision, h.by, h.at, h.generation) for h in plan.status.history] == [
        ("approve", "bob", "2026-11-24T12:00:00Z", 2)
    ]
    again = reviews.decide_review(spec("approve"), plan.status, generation=2, by="bob", now=NOW)
    assert again.step == "none" and again.status == plan.status


def test_decide_review_steps() -> None:
    st0 = AtomReviewStatus()
    assert reviews.decide_review(spec("pending"), st0, generation=1, by="x", now=NOW).step == "none"
    edit = reviews.decide_review(spec("edit", code="x = 1"), st0, generation=1, by="x", now=NOW)
    assert (edit.step, edit.status.state) == ("validate-edit", "Validating")
    regen = reviews.decide_review(
        spec("regenerate", feedback="use a set"), st0, generation=1, by="x", now=NOW
    )
    assert (regen.step, regen.status.state) == ("regenerate", "Regenerating")
    assert (
        reviews.settle(edit.status, accepted=False, code="", message="tests failed").state
        == "Rejected"
    )


def test_kopf_args_scope() -> None:
    assert kopf_args([], False)[-3:] == ["--all-namespaces", "-m", "mge.kube.handlers"]
    assert "--all-namespaces" in kopf_args([], True)
    assert kopf_args(["a", "b"], False)[2:6] == ["--namespace", "a", "--namespace", "b"]


def test_recordings_stay_under_root(tmp_path: object) -> None:
    from pathlib import Path

    import pytest

    from mge.errors import ConfigError

    root = Path(str(tmp_path))
    s = OperatorSettings(recordings_root=root)
    assert s.recordings_for("examples/x") == (root / "examples/x").resolve()
    with pytest.raises(ConfigError):
        s.recordings_for("../etc")
    with pytest.raises(ConfigError):
        OperatorSettings().recordings_for("x")
