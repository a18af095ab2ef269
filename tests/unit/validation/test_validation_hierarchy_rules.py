"""Pure L2/L3/L4 rules: API consistency, architecture, acceptance mapping."""

from __future__ import annotations

import pytest
from shop_codebase import codebase

from mge.models.domain import AcceptanceCriterion, BoundedContext, DomainModel
from mge.models.plan import Task
from mge.validation.hierarchy import (
    acceptance_checks,
    acceptance_map,
    api_mismatches,
    architecture_violations,
    context_of,
    contexts_from_domain,
    default_interfaces,
    imports_of,
)

SKELETON = "def f(a: int) -> int:\n    ...\n\n\nclass K:\n    def g(self) -> str:\n        ...\n"


@pytest.mark.parametrize(
    ("assembled", "problems"),
    [
        (
            "def f(a: int) -> int:\n    return a\n\n\nclass K:\n    def g(self) -> str:\n"
            "        return ''\n",
            [],
        ),
        (
            "def f(a: int, b: int = 0) -> int:\n    return a\n\n\nclass K:\n"
            "    def g(self) -> str:\n        return ''\n",
            [
                "m.py: `f` signature changed: `def f(a: int) -> int` → "
                "`def f(a: int, b: int = 0) -> int`"
            ],
        ),
        (
            "def f(a: int) -> int:\n    return a\n",
            ["m.py: `K` is missing", "m.py: `K.g` is missing"],
        ),
    ],
    ids=["same", "changed", "missing"],
)
def test_api_mismatches(assembled: str, problems: list[str]) -> None:
    assert api_mismatches(SKELETON, assembled, "m.py") == problems


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        (
            "src/shop/billing/invoice.py",
            "import os\nimport shop.orders.model as m\n"
            "from shop.orders import api\nfrom . import tax\nfrom ..orders.model import Order\n",
            ["os", "shop.orders.model", "shop.orders", "shop.billing", "shop.orders.model"],
        ),
        ("src/shop/billing/__init__.py", "from .invoice import x\n", ["shop.billing.invoice"]),
        (
            "web/billing/invoice.ts",
            'import { Order } from "../orders/model";\nimport x from "lodash";\n',
            ["web/orders/model"],
        ),
    ],
)
def test_imports_of(path: str, source: str, expected: list[str]) -> None:
    assert imports_of(path, source) == expected


FILES = {
    "src/shop/orders/__init__.py": "",
    "src/shop/orders/model.py": "class Order: ...\n",
    "src/shop/orders/api.py": "from shop.orders.model import Order\n",
    "src/shop/billing/invoice.py": "from shop.orders.api import Order\n",
    "src/shop/billing/tax.py": "from shop.orders.model import Order\n",
    "src/shop/common.py": "X = 1\n",
    "src/shop/billing/rates.py": "from shop.common import X\nfrom shop.billing.tax import t\n",
    "tests/test_billing.py": "from shop.orders.model import Order\n",
}
CONTEXTS = {"src/shop/orders": "Orders", "src/shop/billing": "Billing"}


def test_architecture_rule_allows_interfaces_shared_kernel_and_tests() -> None:
    problems = architecture_violations(FILES, CONTEXTS, default_interfaces(FILES))
    assert problems == [
        "src/shop/billing/tax.py (Billing) imports src/shop/orders/model.py (Orders) directly; "
        "go through Orders's declared interface"
    ]
    assert (
        architecture_violations(
            FILES, CONTEXTS, default_interfaces(FILES), only=["src/shop/billing/invoice.py"]
        )
        == []
    )


def test_contexts_from_domain_and_context_of() -> None:
    domain = DomainModel(contexts=[BoundedContext(name="Orders"), BoundedContext(name="Billing")])
    assert contexts_from_domain(FILES, domain) == CONTEXTS
    assert context_of("src/shop/orders/model.py", CONTEXTS) == "Orders"
    assert context_of("src/shop/common.py", CONTEXTS) is None
    nested = {**CONTEXTS, "src/shop/orders/legacy": "Legacy"}
    assert context_of("src/shop/orders/legacy/x.py", nested) == "Legacy"


def test_acceptance_mapping_by_mention_and_by_task() -> None:
    cb = codebase()
    criteria = [
        AcceptanceCriterion(id="AC-1", text="total applies the discount"),
        AcceptanceCriterion(id="AC-2", text="carts hold prices"),
        AcceptanceCriterion(id="AC-3", text="never checked"),
    ]
    task = Task(
        id="T-1", title="cart", role="backend", files=["src/shop/cart.py"], acceptance=["AC-2"]
    )
    by_ac = acceptance_map(criteria, cb, [task])
    assert by_ac["AC-1"] == ["tests/test_shop.py::test_total_AC_1"]
    assert by_ac["AC-2"] == []  # the task owns no test file
    task2 = task.model_copy(update={"files": ["src/shop/cart.py", "tests/test_shop.py"]})
    assert len(acceptance_map(criteria, cb, [task2])["AC-2"]) == 5
    checks = acceptance_checks(criteria, by_ac, failed=[], ran=cb.all_tests)
    assert [(c.name, c.passed) for c in checks] == [
        ("AC-1", True),
        ("AC-2", False),
        ("AC-3", False),
    ]
    failing = acceptance_checks(
        criteria, by_ac, failed=["tests/test_shop.py::test_total_AC_1"], ran=cb.all_tests
    )
    assert (
        not failing[0].passed and "failing tests/test_shop.py::test_total_AC_1" in failing[0].detail
    )
