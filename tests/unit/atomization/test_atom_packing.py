"""Statement-group packing: groups stay within the limits, cover every statement once and in
order, keep imports apart, stop at nested definitions, and split oversized compounds inside."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from mge.atomization.packing import Group, Limits, Stmt, pack, split_body

LIMITS = Limits(max_loc=10, max_complexity=3)


def stmt(i: int, loc: int = 1, dec: int = 0, **kw: object) -> Stmt:
    """Statement number i occupying bytes [10i, 10i+9]."""
    return Stmt(10 * i, 10 * i + 9, i + 1, i + loc, loc, dec, **kw)  # type: ignore[arg-type]


def leaves(groups: list[Group]) -> Iterator[Group]:
    for g in groups:
        if g.children:
            yield from leaves(list(g.children))
        else:
            yield g


def test_consecutive_small_statements_share_a_group_up_to_the_limits() -> None:
    groups = pack([stmt(i, loc=3) for i in range(7)], LIMITS)
    assert [g.total_loc for g in groups] == [9, 9, 3]
    groups = pack([stmt(i, dec=1) for i in range(5)], LIMITS)
    assert [g.total_decisions for g in groups] == [2, 2, 1]  # 1 + 2 decisions = complexity 3


def test_imports_and_other_statements_never_share_a_group() -> None:
    stmts = [stmt(0, is_import=True), stmt(1, is_import=True), stmt(2), stmt(3)]
    groups = pack(stmts, LIMITS)
    assert [(g.start_byte, g.end_byte) for g in groups] == [(0, 19), (20, 39)]


def test_a_nested_definition_ends_the_group() -> None:
    stmts = [stmt(0), stmt(1, barrier=True), stmt(2)]
    groups = pack(stmts, LIMITS)
    assert [(g.start_byte, g.end_byte) for g in groups] == [(0, 9), (20, 29)]


def test_an_oversized_compound_is_split_inside_and_keeps_a_small_residual() -> None:
    body = tuple(stmt(10 + i, loc=4) for i in range(5))  # 20 lines inside the loop
    loop = Stmt(0, 200, 1, 22, 22, 1, blocks=(body,))
    groups = pack([loop], LIMITS)
    assert len(groups) == 1
    (g,) = groups
    assert [c.total_loc for c in g.children] == [8, 8, 4]
    assert g.own_loc == 22 - 20 + 3  # loop header lines + one call line per child
    assert g.own_decisions == 1 and g.complexity == 2


def test_an_unsplittable_statement_stays_one_oversized_group() -> None:
    groups = pack([stmt(0, loc=25)], LIMITS)
    assert len(groups) == 1 and groups[0].total_loc == 25 and not groups[0].children
    assert split_body([stmt(0, loc=25)], LIMITS, own_loc=25, own_decisions=0) is None


def test_many_groups_are_gathered_under_super_groups() -> None:
    groups = pack([stmt(i, loc=10) for i in range(25)], LIMITS)
    assert len(groups) <= LIMITS.max_loc
    assert sum(1 for _ in leaves(groups)) == 25


def test_split_body_residual_is_one_line_per_group() -> None:
    stmts = [stmt(i, loc=4, dec=1) for i in range(5)]
    result = split_body(stmts, LIMITS, own_loc=20, own_decisions=5)
    assert result is not None
    groups, loc, dec = result
    assert (loc, dec) == (len(groups), 0)
    assert split_body(stmts[:2], LIMITS, own_loc=8, own_decisions=2) is None  # already fits


statement_sizes = st.lists(
    st.tuples(st.integers(1, 14), st.integers(0, 4), st.booleans(), st.booleans()),
    min_size=1,
    max_size=40,
)


@given(statement_sizes)
def test_packing_covers_every_statement_once_in_order_within_limits(
    sizes: list[tuple[int, int, bool, bool]],
) -> None:
    stmts = [
        Stmt(10 * i, 10 * i + 9, i + 1, i + 1, loc, dec, is_import=imp, barrier=bar)
        for i, (loc, dec, imp, bar) in enumerate(sizes)
    ]
    groups = pack(stmts, LIMITS)
    kept = [s for s in stmts if not s.barrier]
    flat = list(leaves(groups))
    # in order, no overlap, every non-barrier statement inside exactly one leaf group
    for a, b in pairwise(flat):
        assert a.end_byte < b.start_byte
    for s in kept:
        holders = [g for g in flat if g.start_byte <= s.start_byte and s.end_byte <= g.end_byte]
        assert len(holders) == 1
    for s in stmts:
        if s.barrier:
            assert not any(g.start_byte <= s.start_byte <= g.end_byte for g in flat)
    # a leaf over the limits is a single statement that no split can help
    for g in flat:
        inside = [s for s in kept if g.start_byte <= s.start_byte and s.end_byte <= g.end_byte]
        if not LIMITS.fits(g.total_loc, 1 + g.total_decisions):
            assert len(inside) == 1
        assert g.total_loc == sum(s.loc for s in inside)
        assert g.total_decisions == sum(s.decisions for s in inside)
    assert len(groups) <= LIMITS.max_loc
