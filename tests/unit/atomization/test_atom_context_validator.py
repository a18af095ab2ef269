"""ContextInjector (what an atom is told, how complete, what is missing) and the
AtomicityValidator's ten criteria, each with a reason."""

from __future__ import annotations

import pytest
from atom_support import CART_SKELETON, GREET_SKELETON, STOCK_SKELETON

from mge.atomization import (
    CONTEXT_TARGET,
    CRITERIA,
    AtomicityValidator,
    Atomization,
    ContextInjector,
    RecursiveDecomposer,
)
from mge.models import AtomicityReport, AtomicUnit


def skeleton(files: dict[str, str]) -> tuple[Atomization, dict[str, AtomicUnit]]:
    az = RecursiveDecomposer().atomize_skeleton(files, "T-1")
    atoms = ContextInjector(az).inject()
    return az, {a.qualname: a for a in atoms}


def existing(files: dict[str, str]) -> tuple[Atomization, dict[str, AtomicityReport]]:
    az = RecursiveDecomposer().atomize_existing(files)
    atoms = ContextInjector(az).inject()
    reports = AtomicityValidator().check_all(az, atoms)
    by_name = {a.id: a.qualname for a in atoms}
    return az, {by_name[r.atom_id]: r for r in reports}


def failed(report: AtomicityReport) -> dict[str, str]:
    return {c.name: c.reason for c in report.criteria if not c.passed}


@pytest.mark.parametrize("files", [STOCK_SKELETON, CART_SKELETON, GREET_SKELETON])
def test_complete_skeletons_reach_the_context_target(files: dict[str, str]) -> None:
    _, atoms = skeleton(files)
    assert atoms
    for a in atoms.values():
        assert a.context.completeness >= CONTEXT_TARGET, (a.qualname, a.context.missing)
        assert a.context.missing == []


def test_context_pack_contents_for_a_method() -> None:
    _, atoms = skeleton(STOCK_SKELETON)
    receive = atoms["StockLevel.receive"].context
    (outline,) = receive.types
    assert outline.startswith("# inventory/stock.py\n@dataclass(frozen=True)\nclass StockLevel:")
    assert "on_hand: int = 0" in outline
    assert "def reserve(self, quantity: int) -> StockLevel:" in outline
    assert "Set units aside" not in outline  # method bodies (docstrings too) are left out
    assert receive.dependency_signatures == [
        "inventory/stock.py: def check_quantity(quantity: int) -> int"
        "  # Return the quantity unchanged when it is positive."
    ]
    assert receive.preconditions == ["quantity > 0"]
    (test,) = receive.tests
    assert test.startswith("def test_receive_adds_units() -> None:")


def test_typescript_context_brings_the_interfaces() -> None:
    _, atoms = skeleton(CART_SKELETON)
    line_total = atoms["lineTotal"].context
    assert any(
        t.startswith("# src/cart.ts\n/** A line") or "interface Line" in t for t in line_total.types
    )
    assert any("interface Money" in t for t in line_total.types)


def test_missing_parts_are_named_and_lower_the_score() -> None:
    files = {
        "pkg/calc.py": (
            "def total(prices, rate: Rate):\n    ...\n\n"
            "def tax(amount: int) -> int:\n"
            '    """Tax on an amount.\n\n    Post: result >= 0\n    """\n'
            "    ...\n"
        )
    }
    _, atoms = skeleton(files)
    total = atoms["total"].context
    assert total.completeness < 0.5
    assert "spec: a docstring/JSDoc saying what the body must do" in total.missing
    assert "typed signature: parameter `prices` has no type" in total.missing
    assert "typed signature: return type has no type" in total.missing
    assert "type `Rate`: not defined in the project nor imported" in total.missing
    assert "tests: no test calls it" in total.missing
    tax = atoms["tax"].context
    assert tax.missing == ["preconditions: no `Pre:`/`Requires:` line", "tests: no test calls it"]
    assert total.completeness < tax.completeness < CONTEXT_TARGET


def test_validator_has_ten_named_criteria_and_passes_a_good_skeleton() -> None:
    assert [c.name for c in CRITERIA] == [
        "size",
        "complexity",
        "single_responsibility",
        "has_test",
        "typed_io",
        "no_hidden_global_state",
        "deterministic",
        "dependencies_declared",
        "context_complete",
        "one_file",
    ]
    az, atoms = skeleton(STOCK_SKELETON)
    reports = AtomicityValidator().check_all(az, list(atoms.values()))
    for r in reports:
        assert r.passed, failed(r)
        assert all(c.reason for c in r.criteria)


def test_validator_failures_on_existing_code_say_why() -> None:
    files = {
        "app/state.py": '''import random
import time

CACHE: dict[str, int] = {}
COUNT = 0


def remember(key: str, value: int) -> None:
    """Remember a value."""
    CACHE[key] = value


def bump() -> None:
    """Count a call."""
    global COUNT
    COUNT += 1


def stamp(name):
    """Name with the time and then a random suffix."""
    return f"{name}-{time.time()}-{random.random()}"


def report(x: int) -> int:
    """Report."""
    return undefined_helper(x)


TABLE = [
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
]
''',
    }
    _, reports = existing(files)
    assert "mutates module-level CACHE" in failed(reports["remember"])["no_hidden_global_state"]
    assert "COUNT" in failed(reports["bump"])["no_hidden_global_state"]
    stamp = failed(reports["stamp"])
    assert "time.time()" in stamp["deterministic"]
    assert stamp["typed_io"] == "untyped: name, return value"
    assert "'and then'" in stamp["single_responsibility"]
    assert "undefined_helper" in failed(reports["report"])["dependencies_declared"]
    table = failed(reports["<module>#3"])
    assert table["size"].startswith("13 lines of code > 10")
    assert "has_test" not in table  # module statements run on import
    assert failed(reports["remember"])["has_test"] == "no test calls it"
    assert "context completeness" in failed(reports["remember"])["context_complete"]


def test_javascript_hidden_state_and_randomness() -> None:
    _, reports = existing(
        {
            "web/id.js": "let last = 0;\n\n/** @returns {number} next */\nfunction next() {\n"
            "  last = last + Math.random();\n  return last;\n}\n"
        }
    )
    f = failed(reports["next"])
    assert f["no_hidden_global_state"] == "assigns names outside its scope: last"
    assert "Math.random()" in f["deterministic"]


def test_stub_nondeterminism_needs_an_injected_clock() -> None:
    files = {
        "t/clock.py": "def age(born: int) -> int:\n"
        '    """Years since born, at the current time."""\n'
        "    ...\n\n"
        "def age_at(born: int, now: int) -> int:\n"
        '    """Years since born, at the current time."""\n'
        "    ...\n"
    }
    az = RecursiveDecomposer().atomize_skeleton(files, "T-1")
    reports = {r.atom_id: r for r in AtomicityValidator().check_all(az)}
    by_name = {a.qualname: reports[a.id] for a in az.atoms}
    assert "deterministic" in failed(by_name["age"])
    assert "deterministic" not in failed(by_name["age_at"])


def test_uses_naming_an_unknown_function_fails_dependencies_declared() -> None:
    files = {"t/a.py": 'def f(x: int) -> int:\n    """F.\n\n    Uses: nowhere\n    """\n    ...\n'}
    az = RecursiveDecomposer().atomize_skeleton(files, "T-1")
    (report,) = AtomicityValidator().check_all(az)
    assert failed(report)["dependencies_declared"] == "names nothing defines: nowhere"


def test_one_file_checks_the_language_of_the_file() -> None:
    _, atoms = skeleton(STOCK_SKELETON)
    atom = atoms["check_quantity"].model_copy(update={"language": "typescript"})
    report = AtomicityValidator().check(atom)
    assert "inventory/stock.py is python" in failed(report)["one_file"]
