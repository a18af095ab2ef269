"""Skeletons and sources shared by the atomization tests.

The skeletons follow the conventions of docs/atomization.md: empty bodies, docstrings with
``Pre:``/``Post:``/``Uses:`` contracts, and tests that call the stubs. STOCK_SKELETON is the
StockLevel task (T-2) of examples/inventory-lib written out as the LLM is asked to write it.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PACKAGE = REPO / "operator" / "mge"

STOCK_MODELS = '''"""Domain primitives."""

from dataclasses import dataclass


class InventoryError(Exception):
    """Base of the inventory errors."""


class InsufficientStock(InventoryError):
    """A reservation asked for more than is available."""


@dataclass(frozen=True)
class Sku:
    """A stock-keeping unit code."""

    value: str
'''

STOCK = '''"""Stock levels of one product."""

from __future__ import annotations

from dataclasses import dataclass

from inventory.models import InsufficientStock


@dataclass(frozen=True)
class StockLevel:
    """Units on hand and reserved for one product."""

    on_hand: int = 0
    reserved: int = 0

    @property
    def available(self) -> int:
        """Units that can still be reserved.

        Post: result == self.on_hand - self.reserved
        """
        ...

    def receive(self, quantity: int) -> StockLevel:
        """Add a delivery to the units on hand.

        Pre: quantity > 0
        Post: result.on_hand == self.on_hand + quantity
        Uses: check_quantity
        """
        ...

    def reserve(self, quantity: int) -> StockLevel:
        """Set units aside for an order.

        Requires:
            - quantity > 0
        Ensures:
            - result.reserved == self.reserved + quantity
            - InsufficientStock is raised when quantity exceeds the available units
        """
        raise NotImplementedError


def check_quantity(quantity: int) -> int:
    """Return the quantity unchanged when it is positive.

    Pre: quantity is an int
    Post: result == quantity
    Post: ValueError is raised when quantity <= 0
    """
    pass
'''

STOCK_TESTS = """import pytest

from inventory.models import InsufficientStock
from inventory.stock import StockLevel, check_quantity


def test_receive_adds_units() -> None:
    assert StockLevel().receive(3).on_hand == 3


def test_reserve_more_than_available_fails() -> None:
    level = StockLevel(on_hand=2)
    with pytest.raises(InsufficientStock):
        level.reserve(3)


def test_available_is_on_hand_minus_reserved() -> None:
    assert StockLevel(on_hand=5, reserved=2).available == 3


def test_check_quantity_rejects_zero() -> None:
    with pytest.raises(ValueError):
        check_quantity(0)
"""

STOCK_SKELETON = {
    "inventory/models.py": STOCK_MODELS,
    "inventory/stock.py": STOCK,
    "tests/test_stock.py": STOCK_TESTS,
}

CART = """import { Money } from "./money";

/** A line of a shopping cart. */
export interface Line {
  sku: string;
  unitPrice: Money;
  quantity: number;
}

/**
 * Total price of the lines.
 * Pre: every quantity >= 0
 * Post: result.cents is the sum of the line totals
 * Uses: lineTotal
 */
export function cartTotal(lines: Line[]): Money {
  throw new Error("TODO");
}

/**
 * Price of one line.
 * @pre line.quantity >= 0
 * @post result.cents === line.unitPrice.cents * line.quantity
 */
export function lineTotal(line: Line): Money {
  throw new Error("TODO: lineTotal");
}
"""

MONEY = """/** An amount of money in cents. */
export interface Money {
  cents: number;
  currency: string;
}
"""

CART_TESTS = """import { cartTotal, lineTotal } from "./cart";

const pen = { sku: "PEN", unitPrice: { cents: 150, currency: "EUR" }, quantity: 2 };

describe("cart", () => {
  it("prices a line", () => {
    expect(lineTotal(pen).cents).toBe(300);
  });
  it("sums the lines", () => {
    expect(cartTotal([pen, pen]).cents).toBe(600);
  });
});
"""

CART_SKELETON = {
    "src/cart.ts": CART,
    "src/money.ts": MONEY,
    "src/cart.test.ts": CART_TESTS,
}

GREET_JS = """/**
 * Greeting for a person.
 * @param {string} name who to greet
 * @returns {string} the greeting
 * Pre: name is not empty
 * Post: result starts with "Hello, "
 */
function greet(name) {
  throw new Error("not implemented");
}

module.exports = { greet };
"""

GREET_JS_TESTS = """const { greet } = require("../src/greet");

test("greets by name", () => {
  expect(greet("Ada")).toBe("Hello, Ada");
});
"""

GREET_SKELETON = {"src/greet.js": GREET_JS, "__tests__/greet.test.js": GREET_JS_TESTS}
