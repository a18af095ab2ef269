"""A part a test needs is missing on this machine: skip on a developer's machine, fail under CI.

`scripts/test.sh` sets ``CI=true`` so the test command never skips silently; every test that
would skip for a missing part (PostgreSQL, cgroups, Go, the Node tools) decides it here, with
one reading of ``CI``.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

CI_VALUES = ("true", "1", "yes")


def in_ci() -> bool:
    """``CI`` set to true, 1 or yes (any case), as CI services and scripts/test.sh set it."""
    return os.environ.get("CI", "").strip().lower() in CI_VALUES


def missing_part(why: str) -> NoReturn:
    """Skip with ``why``; under CI fail with it instead (the part must be there)."""
    if in_ci():
        pytest.fail(f"{why} (CI is set: this test must run here, not be skipped)", pytrace=False)
    pytest.skip(why)
