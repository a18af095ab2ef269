"""Codebase: rendering, test resolution, which tests can run when."""

from __future__ import annotations

import pytest
from shop_codebase import ADD, DISCOUNT, GOOD, SUBTOTAL, TOTAL, codebase

from mge.validation.codebase import (
    is_test_file,
    list_tests,
    python_module_name,
    stub_body,
    stub_failures,
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_shop.py", True),
        ("src/shop/cart_test.py", True),
        ("test_x.py", True),
        ("src/cart.test.ts", True),
        ("src/cart.spec.tsx", True),
        ("__tests__/cart.ts", True),
        ("tests/conftest.py", False),
        ("src/shop/cart.py", False),
        ("src/testing.py", False),
        ("tests/data.json", False),
    ],
)
def test_is_test_file(path: str, expected: bool) -> None:
    assert is_test_file(path) is expected


@pytest.mark.parametrize(
    ("path", "module"),
    [
        ("src/shop/cart.py", "shop.cart"),
        ("shop/__init__.py", "shop"),
        ("tool.py", "tool"),
        ("README.md", None),
    ],
)
def test_python_module_name(path: str, module: str | None) -> None:
    assert python_module_name(path) == module


def test_test_functions_python_and_typescript() -> None:
    cb = codebase()
    assert cb.all_tests == [
        "tests/test_shop.py::test_subtotal",
        "tests/test_shop.py::test_discount",
        "tests/test_shop.py::test_total_AC_1",
        "tests/test_shop.py::TestCart::test_add",
        "tests/test_shop.py::TestCart::test_add_and_total",
    ]
    ts = 'import { test } from "node:test";\ntest("adds two", () => {});\nit(`works`, () => {});\n'
    assert list_tests("src/a.test.ts", ts) == ["src/a.test.ts::adds two", "src/a.test.ts::works"]


def test_test_names_resolve_by_name_suffix_or_node_id() -> None:
    cb = codebase()
    assert cb.tests_by_atom[ADD.id] == [
        "tests/test_shop.py::TestCart::test_add",
        "tests/test_shop.py::TestCart::test_add_and_total",
    ]
    assert cb.tests_by_atom[TOTAL.id] == [
        "tests/test_shop.py::test_total_AC_1",
        "tests/test_shop.py::TestCart::test_add_and_total",
    ]
    assert cb.unresolved_tests == [f"{ADD.id}: test_missing"]
    assert cb.atoms_by_test["tests/test_shop.py::TestCart::test_add_and_total"] == {
        ADD.id,
        TOTAL.id,
    }


def test_ready_tests_wait_for_every_covered_atom() -> None:
    cb = codebase()
    assert cb.ready_tests([SUBTOTAL.id, DISCOUNT.id]) == [
        "tests/test_shop.py::test_subtotal",
        "tests/test_shop.py::test_discount",
    ]
    # test_add_and_total covers Cart.add and total: ready only when both have code.
    assert "tests/test_shop.py::TestCart::test_add_and_total" not in cb.ready_tests([ADD.id])
    assert "tests/test_shop.py::TestCart::test_add_and_total" in cb.ready_tests([ADD.id, TOTAL.id])


def test_module_tests_by_coverage_and_by_name() -> None:
    cb = codebase()
    assert cb.module_tests("src/shop/cart.py") == [
        "tests/test_shop.py::TestCart::test_add",
        "tests/test_shop.py::TestCart::test_add_and_total",
    ]
    assert len(cb.module_tests("src/shop/pricing.py")) == 4
    # tests/test_shop.py is named after a module `shop`: every test belongs to it.
    assert len(cb.module_tests("src/shop/__init__.py")) == 5


def test_render_splices_only_given_atoms_and_keeps_other_files() -> None:
    cb = codebase()
    files = cb.render({SUBTOTAL.id: GOOD[SUBTOTAL.id]})
    assert "return float(sum(prices))" in files["src/shop/pricing.py"]
    assert files["src/shop/cart.py"] == cb.files["src/shop/cart.py"]
    assert files["tests/test_shop.py"] == cb.files["tests/test_shop.py"]
    assert files["src/shop/pricing.py"].count("    ...\n") == 2


def test_render_with_marked_stubs_raises_for_unwritten_bodies() -> None:
    cb = codebase()
    files = cb.render({SUBTOTAL.id: GOOD[SUBTOTAL.id]}, stub_missing=True)
    pricing = files["src/shop/pricing.py"]
    assert "return float(sum(prices))" in pricing
    assert pricing.count("MGE-STUB") == 2 and "MGE-STUB total: no accepted code yet" in pricing
    assert "MGE-STUB Cart.add" in files["src/shop/cart.py"]
    namespace: dict[str, object] = {}
    exec(compile(pricing, "pricing.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="MGE-STUB discount"):
        namespace["discount"](1.0, 2.0)  # type: ignore[operator]
    assert stub_failures("E   NotImplementedError: MGE-STUB Cart.add: no accepted code yet") == [
        "Cart.add"
    ]
    ts = stub_body("total", "typescript")
    assert ts == "throw new Error('MGE-STUB total: no accepted code yet');"


def test_a_file_rendered_before_is_not_assembled_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every batch renders every file for its checks; a file whose atoms' code has not changed
    # since is taken as it was (assembling means parsing it with tree-sitter, twice).
    import mge.validation.codebase as module

    assembled: list[str] = []
    real = module.assemble_with_spans

    def counting(source: str, bodies: dict[str, str], language: str) -> object:
        assembled.append(source)
        return real(source, bodies, language)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "assemble_with_spans", counting)
    module._assembled.cache_clear()
    cb = codebase()
    first = cb.render({ADD.id: GOOD[ADD.id]}, stub_missing=True)
    files = len(assembled)
    assert cb.render({ADD.id: GOOD[ADD.id]}, stub_missing=True) == first
    assert len(assembled) == files, "nothing changed: nothing assembled again"
    changed = cb.render({ADD.id: GOOD[ADD.id], SUBTOTAL.id: GOOD[SUBTOTAL.id]}, stub_missing=True)
    assert changed != first
    assert len(assembled) == files + 1, "only the file holding the new atom is assembled again"
