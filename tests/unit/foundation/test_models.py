"""Domain models: manifests parse, camelCase on the wire, errors name the field."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from mge.models import ConfidenceParts, ProjectManifest, atom_id
from mge.models.project import ProjectSpec

MANIFEST = """
apiVersion: mge.dev/v1alpha1
kind: Project
metadata: {name: todo-lib}
spec:
  requirements: A small todo library.
  budget: {maxCostUSD: 2.5, maxAtoms: 40}
  llm: {provider: anthropic, baseURL: "http://127.0.0.1:9"}
"""


def test_manifest_round_trips_camel_case() -> None:
    m = ProjectManifest.model_validate(yaml.safe_load(MANIFEST))
    assert m.spec.budget.max_cost_usd == 2.5
    assert m.spec.llm.base_url == "http://127.0.0.1:9"
    wire = m.spec.wire()
    assert wire["budget"] == {"maxCostUSD": 2.5, "maxAtoms": 40}
    assert wire["llm"]["baseURL"] == "http://127.0.0.1:9"  # type: ignore[index]
    assert ProjectSpec.model_validate(wire) == m.spec


def test_typo_in_spec_is_an_error_naming_it() -> None:
    data = yaml.safe_load(MANIFEST)
    data["spec"]["budjet"] = {}
    with pytest.raises(ValidationError, match="budjet"):
        ProjectManifest.model_validate(data)


def test_exactly_one_requirements_source() -> None:
    with pytest.raises(ValidationError, match=r"exactly one of spec\.requirements"):
        ProjectSpec.model_validate({})
    with pytest.raises(ValidationError, match="exactly one"):
        ProjectSpec.model_validate({"requirements": "x", "requirementsFrom": {"name": "cm"}})


def test_atom_id_is_stable_readable_and_distinct() -> None:
    a = atom_id("inventory/stock.py", "Inventory.reserve")
    assert a == atom_id("inventory/stock.py", "Inventory.reserve")
    assert a.startswith("inventory-reserve-")
    assert a != atom_id("inventory/other.py", "Inventory.reserve")
    assert len(a) <= 63


def test_confidence_weights() -> None:
    parts = ConfidenceParts(validation=1.0, attempts=0.5, complexity=0.0, integration=1.0)
    assert parts.score == pytest.approx(0.4 + 0.15 + 0.0 + 0.1)


def test_the_planner_takes_the_planning_stages_and_keeps_the_temperature() -> None:
    spec = ProjectSpec.model_validate(
        {
            "requirements": "x",
            "llm": {
                "provider": "llamacpp",
                "model": "SmolLM2-135M-Instruct",
                "temperature": 0.2,
                "planner": {"provider": "scripted", "recordings": "rec"},
            },
        }
    )
    planning = spec.llm.for_planning()
    assert (planning.provider, planning.recordings, planning.temperature) == (
        "scripted",
        "rec",
        0.2,
    )
    assert planning.planner is None
    alone = ProjectSpec.model_validate({"requirements": "x"})
    assert alone.llm.for_planning() is alone.llm
    with pytest.raises(ValidationError, match="provider"):
        ProjectSpec.model_validate({"requirements": "x", "llm": {"planner": {"model": "m"}}})


@pytest.mark.parametrize("text", ["", "  \n\t "])
def test_blank_requirements_are_an_error_naming_the_field(text: str) -> None:
    with pytest.raises(ValidationError, match=r"spec\.requirements is empty"):
        ProjectSpec.model_validate({"requirements": text})


@pytest.mark.parametrize(
    ("repository", "ok"),
    [
        ("https://git.example.com/team/todo.git", True),
        ("ssh://git@git.example.com:2222/team/todo.git", True),
        ("git@github.com:team/todo.git", True),
        ("file:///srv/git/todo.git", True),
        ("/srv/git/todo.git", True),
        ("not a url at all", False),
        ("repos/todo.git", False),
        ("https://git.example.com/a b.git", False),
    ],
)
def test_git_repository_must_be_a_url_or_an_absolute_path(repository: str, ok: bool) -> None:
    spec = {"requirements": "x", "output": {"git": {"repository": repository}}}
    if ok:
        ProjectSpec.model_validate(spec)
    else:
        with pytest.raises(ValidationError, match="must be a git URL"):
            ProjectSpec.model_validate(spec)
