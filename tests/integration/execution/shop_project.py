"""A tiny shop project: skeleton files, five atoms in three levels, acceptance criteria.

The recordings in recordings/ answer its prompts: `discount` fails its first attempt (wrong
formula) and is fixed on the retry; `Cart.checkout` fails all three attempts (a syntax error,
a type error, a wrong result) and ends in review, where a regeneration with feedback fixes it.
"""

from __future__ import annotations

from pathlib import Path

from mge.models.atoms import AtomicUnit, atom_id
from mge.models.domain import AcceptanceCriterion
from mge.models.project import ProjectSpec
from mge.validation.codebase import Codebase

RECORDINGS = Path(__file__).parent / "recordings"

PRICING = '''"""Prices and discounts."""


def subtotal(prices: list[float]) -> float:
    """Sum of the prices.

    Pre: every price >= 0.
    """
    ...


def discount(amount: float, percent: float) -> float:
    """``amount`` reduced by ``percent`` per cent, rounded to cents.

    Pre: 0 <= percent <= 100.
    """
    ...


def total(prices: list[float], percent: float) -> float:
    """The subtotal of ``prices`` with the discount applied."""
    ...
'''

CART = '''"""A shopping cart."""

from shop.pricing import total


class Cart:
    """Prices added one by one."""

    def __init__(self) -> None:
        self.prices: list[float] = []

    def add(self, price: float) -> None:
        """Append ``price``.

        Pre: price >= 0, else ValueError.
        """
        ...

    def checkout(self, percent: float) -> float:
        """The cart's total with ``percent`` discount."""
        ...
'''

TESTS = '''import pytest

from shop.cart import Cart
from shop.pricing import discount, subtotal, total


def test_subtotal() -> None:
    assert subtotal([1.0, 2.5]) == 3.5
    assert subtotal([]) == 0.0


def test_discount() -> None:
    assert discount(10.0, 15) == 8.5
    assert discount(9.99, 0) == 9.99


def test_total_AC_1() -> None:
    """AC-1: the total applies the discount to the sum of the prices."""
    assert total([10.0, 10.0], 50) == 10.0


class TestCart:
    def test_add(self) -> None:
        cart = Cart()
        cart.add(2.0)
        assert cart.prices == [2.0]

    def test_add_rejects_negative(self) -> None:
        with pytest.raises(ValueError):
            Cart().add(-1.0)

    def test_checkout_AC_2(self) -> None:
        """AC-2: checkout charges the discounted total of what was added."""
        cart = Cart()
        cart.add(10.0)
        cart.add(30.0)
        assert cart.checkout(25) == 30.0
'''

FILES = {
    "src/shop/__init__.py": "",
    "src/shop/pricing.py": PRICING,
    "src/shop/cart.py": CART,
    "tests/test_shop.py": TESTS,
}

ACCEPTANCE = [
    AcceptanceCriterion(id="AC-1", text="The total applies the discount to the sum."),
    AcceptanceCriterion(id="AC-2", text="Checkout charges the discounted total."),
]


def _atom(
    file: str, qualname: str, signature: str, tests: list[str], deps: tuple[str, ...] = ()
) -> AtomicUnit:
    return AtomicUnit(
        id=atom_id(file, qualname),
        task_id="T-1",
        file=file,
        language="python",
        kind="method" if "." in qualname else "function",
        qualname=qualname,
        signature=signature,
        spec=f"See the docstring of {qualname}.",
        estimated_loc=4,
        complexity=1,
        test_cases=tests,
        dependencies=list(deps),
    )


SUBTOTAL = _atom(
    "src/shop/pricing.py",
    "subtotal",
    "def subtotal(prices: list[float]) -> float",
    ["test_subtotal"],
)
DISCOUNT = _atom(
    "src/shop/pricing.py",
    "discount",
    "def discount(amount: float, percent: float) -> float",
    ["test_discount"],
)
ADD = _atom(
    "src/shop/cart.py",
    "Cart.add",
    "def add(self, price: float) -> None",
    ["TestCart::test_add", "TestCart::test_add_rejects_negative"],
)
TOTAL = _atom(
    "src/shop/pricing.py",
    "total",
    "def total(prices: list[float], percent: float) -> float",
    ["test_total_AC_1"],
    (SUBTOTAL.id, DISCOUNT.id),
)
CHECKOUT = _atom(
    "src/shop/cart.py",
    "Cart.checkout",
    "def checkout(self, percent: float) -> float",
    ["test_checkout_AC_2"],
    (TOTAL.id,),
)

ATOMS = {a.id: a for a in (SUBTOTAL, DISCOUNT, ADD, TOTAL, CHECKOUT)}
LEVELS = [[SUBTOTAL.id, DISCOUNT.id, ADD.id], [TOTAL.id], [CHECKOUT.id]]


def codebase() -> Codebase:
    return Codebase(FILES, ATOMS)


def spec(**budget: float) -> ProjectSpec:
    return ProjectSpec.model_validate(
        {
            "requirements": "A shop: prices, discounts and a cart.",
            "llm": {
                "provider": "scripted",
                "model": "claude-sonnet-4-5",
                "recordings": str(RECORDINGS),
            },
            "budget": budget or {},
            "review": {"fraction": 0.15},
        }
    )
