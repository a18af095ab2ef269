"""A tiny skeleton codebase (a shop) shared by the validation unit tests."""

from __future__ import annotations

from mge.models.atoms import AtomicUnit, atom_id
from mge.validation.codebase import Codebase

PRICING = '''"""Prices."""


def subtotal(prices: list[float]) -> float:
    """Sum of the prices."""
    ...


def discount(amount: float, percent: float) -> float:
    """``amount`` reduced by ``percent`` per cent, rounded to cents."""
    ...


def total(prices: list[float], percent: float) -> float:
    """Subtotal of ``prices`` with the discount applied."""
    ...
'''

CART = '''"""A cart."""

from shop.pricing import total


class Cart:
    """Prices added one by one."""

    def __init__(self) -> None:
        self.prices: list[float] = []

    def add(self, price: float) -> None:
        """Append ``price``; a negative price raises ValueError."""
        ...
'''

TESTS = '''from shop.cart import Cart
from shop.pricing import discount, subtotal, total


def test_subtotal() -> None:
    assert subtotal([1.0, 2.5]) == 3.5


def test_discount() -> None:
    assert discount(10.0, 15) == 8.5


def test_total_AC_1() -> None:
    """AC-1: the total applies the discount to the sum."""
    assert total([10.0, 10.0], 50) == 10.0


class TestCart:
    def test_add(self) -> None:
        cart = Cart()
        cart.add(2.0)
        assert cart.prices == [2.0]

    def test_add_and_total(self) -> None:
        cart = Cart()
        cart.add(4.0)
        assert total(cart.prices, 0) == 4.0
'''

FILES = {
    "src/shop/__init__.py": "",
    "src/shop/pricing.py": PRICING,
    "src/shop/cart.py": CART,
    "tests/test_shop.py": TESTS,
}


def atom(
    file: str, qualname: str, signature: str, tests: list[str], deps: list[str] = ()
) -> AtomicUnit:  # type: ignore[assignment]
    return AtomicUnit(
        id=atom_id(file, qualname),
        file=file,
        language="python",
        kind="method" if "." in qualname else "function",
        qualname=qualname,
        signature=signature,
        estimated_loc=3,
        complexity=1,
        test_cases=tests,
        dependencies=list(deps),
    )


SUBTOTAL = atom(
    "src/shop/pricing.py",
    "subtotal",
    "def subtotal(prices: list[float]) -> float",
    ["test_subtotal"],
)
DISCOUNT = atom(
    "src/shop/pricing.py",
    "discount",
    "def discount(amount: float, percent: float) -> float",
    ["test_discount"],
)
TOTAL = atom(
    "src/shop/pricing.py",
    "total",
    "def total(prices: list[float], percent: float) -> float",
    ["test_total_AC_1", "TestCart::test_add_and_total"],
    [SUBTOTAL.id, DISCOUNT.id],
)
ADD = atom(
    "src/shop/cart.py",
    "Cart.add",
    "def add(self, price: float) -> None",
    ["tests/test_shop.py::TestCart::test_add", "test_add_and_total", "test_missing"],
)

ATOMS = {a.id: a for a in (SUBTOTAL, DISCOUNT, TOTAL, ADD)}

GOOD = {
    SUBTOTAL.id: "def subtotal(prices: list[float]) -> float:\n    return float(sum(prices))\n",
    DISCOUNT.id: "def discount(amount: float, percent: float) -> float:\n"
    "    return round(amount * (100 - percent) / 100, 2)\n",
    TOTAL.id: "def total(prices: list[float], percent: float) -> float:\n"
    "    return discount(subtotal(prices), percent)\n",
    ADD.id: "def add(self, price: float) -> None:\n    if price < 0:\n"
    "        raise ValueError('negative price')\n    self.prices.append(price)\n",
}


def codebase() -> Codebase:
    return Codebase(FILES, ATOMS)
