"""find_culprits: adaptive group testing over recent atoms."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mge.execution.integration import find_culprits


class Probe:
    """The check 'the tests fail with this subset added' for a fixed set of culprits."""

    def __init__(self, culprits: set[int]) -> None:
        self.culprits = culprits
        self.runs: list[list[int]] = []

    async def __call__(self, subset: Sequence[int]) -> bool:
        self.runs.append(list(subset))
        return bool(self.culprits & set(subset))


@settings(max_examples=150, deadline=None)
@given(st.data())
async def test_finds_exactly_the_culprits(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=1, max_value=40))
    culprits = data.draw(st.sets(st.integers(min_value=0, max_value=n - 1), min_size=1, max_size=4))
    probe = Probe(culprits)
    found = await find_culprits(list(range(n)), probe, max_runs=1000)
    assert set(found) == culprits
    assert found == sorted(found)  # order of the input is kept
    # c culprits cost at most about c·2·log2(n) runs.
    assert len(probe.runs) <= len(culprits) * 2 * max(1, math.ceil(math.log2(n))) + 1


@pytest.mark.parametrize(
    ("n", "culprits", "max_runs"),
    [(16, {3}, 4), (1, {0}, 0), (8, {0, 7}, 2)],
)
async def test_best_guess_in_runs_it_is_allowed(n: int, culprits: set[int], max_runs: int) -> None:
    probe = Probe(culprits)
    found = await find_culprits(list(range(n)), probe, max_runs=max_runs)
    assert len(probe.runs) <= max_runs
    assert culprits <= set(found)  # never drops a culprit: undecided atoms stay suspects


async def test_not_known_failing_and_passing_returns_nothing() -> None:
    probe = Probe(set())
    assert await find_culprits([1, 2, 3], probe, known_failing=False) == []
    assert probe.runs == [[1, 2, 3]]


async def test_single_culprit_in_eight() -> None:
    probe = Probe({5})
    assert await find_culprits(list(range(8)), probe) == [5]
    # Halves down to 5, plus one run clearing [6, 7] (a second culprit could hide there).
    assert probe.runs == [[0, 1, 2, 3], [4, 5], [4], [6, 7]]
