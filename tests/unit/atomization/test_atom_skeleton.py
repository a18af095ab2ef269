"""Skeleton → atoms: one atom per body to write, with spec, contracts, tests and dependencies;
oversized stubs handed to a splitter; broken skeletons rejected with line and column."""

from __future__ import annotations

import pytest
from atom_support import CART_SKELETON, GREET_SKELETON, STOCK, STOCK_SKELETON

from mge.atomization import RecursiveDecomposer, SplitRequest, atoms_from_skeleton
from mge.atomization.packing import Limits
from mge.errors import InputError
from mge.models import AtomicUnit, atom_id


def by_name(atoms: list[AtomicUnit]) -> dict[str, AtomicUnit]:
    return {a.qualname: a for a in atoms}


def test_python_skeleton_gives_one_atom_per_stub() -> None:
    atoms = by_name(atoms_from_skeleton(STOCK_SKELETON, "T-2"))
    assert set(atoms) == {
        "StockLevel.available",
        "StockLevel.receive",
        "StockLevel.reserve",
        "check_quantity",
    }
    receive = atoms["StockLevel.receive"]
    assert receive.id == atom_id("inventory/stock.py", "StockLevel.receive")
    assert (receive.task_id, receive.file, receive.language, receive.kind) == (
        "T-2",
        "inventory/stock.py",
        "python",
        "method",
    )
    assert receive.signature == "def receive(self, quantity: int) -> StockLevel"
    assert receive.spec.startswith("Add a delivery to the units on hand.")
    assert receive.preconditions == ["quantity > 0"]
    assert receive.postconditions == ["result.on_hand == self.on_hand + quantity"]
    assert receive.test_cases == ["tests/test_stock.py::test_receive_adds_units"]
    assert receive.dependencies == [atoms["check_quantity"].id]  # from `Uses:`
    assert receive.span is not None and receive.span.start_line == 25
    reserve = atoms["StockLevel.reserve"]
    assert reserve.preconditions == ["quantity > 0"]
    assert len(reserve.postconditions) == 2
    assert reserve.test_cases == ["tests/test_stock.py::test_reserve_more_than_available_fails"]
    # a property read (not a call) in a test still counts as exercising it
    assert atoms["StockLevel.available"].test_cases == [
        "tests/test_stock.py::test_available_is_on_hand_minus_reserved"
    ]


def test_estimates_come_from_the_docstring() -> None:
    atoms = by_name(atoms_from_skeleton(STOCK_SKELETON, "T-2"))
    check = atoms["check_quantity"]
    assert (check.estimated_loc, check.complexity) == (6, 3)  # "when" twice
    assert (
        atoms["StockLevel.available"].estimated_loc,
        atoms["StockLevel.available"].complexity,
    ) == (2, 1)


def test_ids_are_stable_across_runs_and_do_not_depend_on_order() -> None:
    first = [a.id for a in atoms_from_skeleton(STOCK_SKELETON, "T-2")]
    reordered = dict(reversed(list(STOCK_SKELETON.items())))
    second = [a.id for a in atoms_from_skeleton(reordered, "T-2")]
    assert sorted(first) == sorted(second)


def test_typescript_skeleton_with_uses_and_jest_tests() -> None:
    atoms = by_name(atoms_from_skeleton(CART_SKELETON, "T-7"))
    assert set(atoms) == {"cartTotal", "lineTotal"}
    total = atoms["cartTotal"]
    assert total.language == "typescript"
    assert total.dependencies == [atoms["lineTotal"].id]
    assert total.test_cases == ["src/cart.test.ts::cart > sums the lines"]
    assert atoms["lineTotal"].preconditions == ["line.quantity >= 0"]  # @pre tag
    assert atoms["lineTotal"].signature == "export function lineTotal(line: Line): Money"


def test_javascript_skeleton_with_require_and_jsdoc() -> None:
    (greet,) = atoms_from_skeleton(GREET_SKELETON, "T-1")
    assert greet.qualname == "greet" and greet.language == "javascript"
    assert greet.test_cases == ["__tests__/greet.test.js::greets by name"]
    assert greet.preconditions == ["name is not empty"]


def test_other_files_are_skipped_and_the_suffix_decides_the_grammar() -> None:
    files = {
        **STOCK_SKELETON,
        **CART_SKELETON,
        "README.md": "# Stock\n\nNot code: `def x(`.\n",
        "package.json": '{"name": "cart"}\n',
    }
    atoms = atoms_from_skeleton(files, "T-2", language="python")
    assert {(a.qualname, a.language) for a in atoms} >= {
        ("check_quantity", "python"),
        ("cartTotal", "typescript"),
    }


def test_a_skeleton_with_syntax_errors_is_rejected_with_positions() -> None:
    broken = {
        **STOCK_SKELETON,
        "inventory/stock.py": STOCK.replace("def reserve(self,", "def reserve(self,,"),
    }
    with pytest.raises(InputError, match=r"inventory/stock\.py:\d+:\d+: "):
        atoms_from_skeleton(broken, "T-2")


# -- splitting oversized stubs ---------------------------------------------------------------------

BIG = '''def settle(order: Order) -> Receipt:
    """Settle an order.

    - price every line
    - apply the discount when a code is given
    - add tax for each line
    - if the total is zero, skip payment
    - otherwise charge the card
    Post: result.total >= 0
    """
    ...
'''

SPLIT = '''def settle(order: Order) -> Receipt:
    """Settle an order: price it, then charge it.

    Uses: price_order, charge
    Post: result.total >= 0
    """
    ...


def price_order(order: Order) -> int:
    """Total of the order after discount and tax.

    Post: result >= 0
    """
    ...


def charge(order: Order, total: int) -> Receipt:
    """Charge the card unless the total is zero.

    Post: result.total == total
    """
    ...
'''


class ScriptedSplitter:
    """Returns a prepared rewrite of the file; records what it was asked."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.requests: list[SplitRequest] = []

    async def __call__(self, request: SplitRequest) -> str:
        self.requests.append(request)
        return self.answer


async def test_oversized_stub_is_split_by_the_splitter() -> None:
    files = {"shop/settle.py": BIG}
    splitter = ScriptedSplitter(SPLIT)
    result = await RecursiveDecomposer(splitter=splitter).decompose_skeleton(files, "T-9")
    atoms = by_name(result.atoms)
    assert set(atoms) == {"settle", "price_order", "charge"}
    parent = atoms["settle"].id
    assert atoms["price_order"].parent == parent and atoms["charge"].parent == parent
    assert atoms["settle"].parent is None
    assert set(atoms["settle"].dependencies) == {atoms["price_order"].id, atoms["charge"].id}
    assert all(Limits().fits(a.estimated_loc, a.complexity) for a in result.atoms)
    assert result.files["shop/settle.py"] == SPLIT
    (request,) = splitter.requests
    assert request.atom.qualname == "settle" and request.depth == 0
    assert request.source == BIG


async def test_a_split_that_does_not_parse_is_dropped_and_the_stub_kept() -> None:
    files = {"shop/settle.py": BIG}
    splitter = ScriptedSplitter("def settle(order:\n")  # fault: a broken answer
    result = await RecursiveDecomposer(splitter=splitter).decompose_skeleton(files, "T-9")
    assert [a.qualname for a in result.atoms] == ["settle"]
    assert result.files == files
    assert len(splitter.requests) == 1  # given up, not retried forever


async def test_a_split_that_makes_no_progress_stops_at_the_depth_limit() -> None:
    files = {"shop/settle.py": BIG}
    # answers the same oversized stub again under a new helper name each time
    calls = 0

    async def stubborn(request: SplitRequest) -> str:
        nonlocal calls
        calls += 1
        return request.source + BIG.replace("settle", f"settle_{calls}")

    result = await RecursiveDecomposer(splitter=stubborn, max_depth=2).decompose_skeleton(
        files, "T-9"
    )
    assert calls <= 1 + 2 + 4  # bounded by the depth limit per lineage
    assert any(not Limits().fits(a.estimated_loc, a.complexity) for a in result.atoms)


async def test_without_a_splitter_oversized_stubs_stay() -> None:
    result = await RecursiveDecomposer().decompose_skeleton({"shop/settle.py": BIG}, "T-9")
    (settle,) = result.atoms
    assert settle.estimated_loc > 10
