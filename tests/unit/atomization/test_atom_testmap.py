"""Which tests cover which atoms: fixtures and helpers, constructor hooks and special methods,
web routes requested through a test client — and the example projects' skeletons reaching the
context target."""

from __future__ import annotations

import pytest
import yaml
from atom_support import REPO

from mge.atomization import AtomicityValidator, ContextInjector, RecursiveDecomposer
from mge.atomization.context import CONTEXT_TARGET
from mge.planning.skeleton import skeleton_files

API = {
    "shop/routes.py": '''from fastapi import APIRouter

router = APIRouter(prefix="/items", tags=["items"])


@router.post("", status_code=201)
def create_item(name: str) -> dict[str, str]:
    """Create an item."""
    ...


@router.get("/{item_id}")
def read_item(item_id: int) -> dict[str, str]:
    """One item."""
    ...


@router.delete("/{item_id}")
def delete_item(item_id: int) -> None:
    """Remove an item."""
    ...


def make_app() -> object:
    """The application."""
    ...
''',
    "tests/conftest.py": """import pytest

from shop.routes import make_app


@pytest.fixture
def app():
    return make_app()


@pytest.fixture
def client(app):
    return TestClient(app)
""",
    "tests/api/test_items.py": """def create(client):
    return client.post("/items", json={"name": "pen"}).json()


def test_read_after_create(client) -> None:
    item = create(client)
    assert client.get(f"/items/{item['id']}?full=1").status_code == 200


def test_nothing_requested() -> None:
    assert True
""",
}


def covered(files: dict[str, str]) -> dict[str, list[str]]:
    az = RecursiveDecomposer().atomize_skeleton(files, "T-1")
    return {a.qualname: a.test_cases for a in az.atoms}


def test_routes_fixtures_and_helpers_link_http_tests_to_handlers() -> None:
    tests = covered(API)
    case = "tests/api/test_items.py::test_read_after_create"
    assert tests["create_item"] == [case]  # POST /items through the `create` helper
    assert tests["read_item"] == [case]  # GET /items/{id} (f-string, query string dropped)
    assert tests["delete_item"] == []  # never requested
    assert tests["make_app"] == [case]  # through the `client` → `app` fixtures in conftest.py


def test_constructing_a_class_covers_its_hooks_and_special_methods() -> None:
    files = {
        "m/sku.py": '''from dataclasses import dataclass


@dataclass(frozen=True)
class Sku:
    """A code."""

    value: str

    def __post_init__(self) -> None:
        """Check the value."""
        ...

    def __str__(self) -> str:
        """As written."""
        ...

    def parts(self) -> list[str]:
        """Dash-separated parts."""
        ...
''',
        "tests/test_sku.py": """from m.sku import Sku


def test_bad_value_is_rejected() -> None:
    Sku("bad value")
""",
    }
    tests = covered(files)
    case = ["tests/test_sku.py::test_bad_value_is_rejected"]
    assert tests["Sku.__post_init__"] == case and tests["Sku.__str__"] == case
    assert tests["Sku.parts"] == []  # a plain method must be touched to count


def example_files(project: str) -> dict[str, str]:
    data = yaml.safe_load(
        (REPO / "examples" / project / "recordings" / "skeletons.yaml").read_text()
    )
    files: dict[str, str] = {}
    for response in data["responses"]:
        files.update(skeleton_files(response["response"]))
    return files


@pytest.mark.parametrize("project", ["inventory-lib", "tasks-api"])
def test_example_skeletons_reach_the_context_target(project: str) -> None:
    """The examples' recorded skeletons: context completeness ≥ 0.95 on average, and an atom
    below it only for want of a test that statically reaches it (framework-wired code)."""
    az = RecursiveDecomposer().atomize_skeleton(example_files(project), None)
    assert az.errors == [] and len(az.atoms) >= 20
    atoms = ContextInjector(az).inject()
    mean = sum(a.context.completeness for a in atoms) / len(atoms)
    assert mean >= CONTEXT_TARGET, mean
    for a in atoms:
        if a.context.completeness < CONTEXT_TARGET:
            assert a.context.missing == ["tests: no test calls it"], (a.qualname, a.context)
    if project == "inventory-lib":
        assert all(a.context.completeness == 1.0 for a in atoms)
        reports = AtomicityValidator().check_all(az, atoms)
        assert all(r.passed for r in reports), [
            (r.atom_id, [c.reason for c in r.criteria if not c.passed])
            for r in reports
            if not r.passed
        ]
