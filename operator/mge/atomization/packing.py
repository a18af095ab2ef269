"""Statement-group splitting: pack a body's statements into groups within the atom limits.

Pure and language-neutral: it sees a body as an outline of :class:`Stmt` (lines of code and
decision points per statement, the nested statement lists of compound statements) and returns
:class:`Group` trees. The parser turns the groups into ``statements`` definitions.

The rule, applied recursively:

* consecutive statements are packed greedily while the group stays within ``max_loc`` lines and
  ``max_complexity - 1`` decision points (a group extracted into its own function has complexity
  1 + its decision points); imports and other statements never share a group; a nested
  definition ends the current group (it is an atom of its own);
* a statement that alone exceeds a limit becomes its own group, and its inner blocks (the
  branches of an ``if``, the body of a loop, the handlers of a ``try``) are packed the same way as
  children; what stays in the statement itself (headers, one line per child group) is its
  *residual* size;
* when packing yields more than ``max_loc`` groups, runs of groups are gathered under
  super-groups so that the enclosing body, which calls one line per group, stays small.

A single simple statement that is too big (a 20-line literal) cannot be split at statement
boundaries; it stays one oversized group and the atomicity validator reports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_MAX_LOC = 10
"""Largest atom, in lines of code (blank lines, comments and docstrings not counted)."""
DEFAULT_MAX_COMPLEXITY = 3
"""Largest cyclomatic complexity of an atom."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The atom size limits the decomposer splits down to."""

    max_loc: int = DEFAULT_MAX_LOC
    max_complexity: int = DEFAULT_MAX_COMPLEXITY

    def fits(self, loc: int, complexity: int) -> bool:
        """True when a unit of this size needs no further split."""
        return loc <= self.max_loc and complexity <= self.max_complexity


@dataclass(frozen=True, slots=True)
class Stmt:
    """One statement: extent, code lines and decision points (nested definitions excluded)."""

    start_byte: int
    end_byte: int
    start_line: int
    end_line: int
    loc: int
    decisions: int
    blocks: tuple[tuple[Stmt, ...], ...] = ()
    is_import: bool = False
    barrier: bool = False
    """A nested definition: never packed into a group, and ends the group before it."""


@dataclass(frozen=True, slots=True)
class Group:
    """A group of consecutive statements; ``own_*`` excludes what its child groups hold."""

    start_byte: int
    end_byte: int
    start_line: int
    end_line: int
    total_loc: int
    total_decisions: int
    own_loc: int
    own_decisions: int
    children: tuple[Group, ...] = ()

    @property
    def complexity(self) -> int:
        """Cyclomatic complexity of the group as an extracted function."""
        return 1 + self.own_decisions


def _run_group(run: Sequence[Stmt]) -> Group:
    loc = sum(s.loc for s in run)
    dec = sum(s.decisions for s in run)
    first, last = run[0], run[-1]
    return Group(
        first.start_byte, last.end_byte, first.start_line, last.end_line, loc, dec, loc, dec
    )


def _fits(limits: Limits, loc: int, decisions: int) -> bool:
    return limits.fits(loc, 1 + decisions)


def _split_statement(stmt: Stmt, limits: Limits) -> Group:
    """An oversized statement: its blocks packed as children, the rest as residual."""
    children = [g for block in stmt.blocks for g in pack(block, limits, nest=False)]
    own_loc, own_decisions = stmt.loc, stmt.decisions
    if children:  # else the statement stays whole: it owns all its lines and decisions
        children = _nest(children, limits)
        own_loc = max(stmt.loc - sum(c.total_loc for c in children), 0) + len(children)
        own_decisions = max(stmt.decisions - sum(c.total_decisions for c in children), 0)
    return Group(
        stmt.start_byte,
        stmt.end_byte,
        stmt.start_line,
        stmt.end_line,
        stmt.loc,
        stmt.decisions,
        own_loc,
        own_decisions,
        tuple(children),
    )


def _nest(groups: list[Group], limits: Limits) -> list[Group]:
    """Gather groups under super-groups until at most ``max_loc`` remain."""
    width = max(limits.max_loc, 2)
    while len(groups) > width:
        gathered = []
        for i in range(0, len(groups), width):
            chunk = groups[i : i + width]
            if len(chunk) == 1:
                gathered.append(chunk[0])
                continue
            gathered.append(
                Group(
                    chunk[0].start_byte,
                    chunk[-1].end_byte,
                    chunk[0].start_line,
                    chunk[-1].end_line,
                    sum(c.total_loc for c in chunk),
                    sum(c.total_decisions for c in chunk),
                    len(chunk),
                    0,
                    tuple(chunk),
                )
            )
        groups = gathered
    return groups


def pack(stmts: Sequence[Stmt], limits: Limits, *, nest: bool = True) -> list[Group]:
    """Pack ``stmts`` into groups within ``limits`` (see the module docstring for the rule)."""
    groups: list[Group] = []
    run: list[Stmt] = []
    run_loc = run_dec = 0
    for s in stmts:
        if s.barrier:
            if run:
                groups.append(_run_group(run))
                run, run_loc, run_dec = [], 0, 0
            continue
        if not _fits(limits, s.loc, s.decisions):
            if run:
                groups.append(_run_group(run))
                run, run_loc, run_dec = [], 0, 0
            groups.append(_split_statement(s, limits))
            continue
        if run and (
            not _fits(limits, run_loc + s.loc, run_dec + s.decisions)
            or run[-1].is_import != s.is_import
        ):
            groups.append(_run_group(run))
            run, run_loc, run_dec = [], 0, 0
        run.append(s)
        run_loc += s.loc
        run_dec += s.decisions
    if run:
        groups.append(_run_group(run))
    return _nest(groups, limits) if nest else groups


def split_body(
    stmts: Sequence[Stmt], limits: Limits, own_loc: int, own_decisions: int
) -> tuple[list[Group], int, int] | None:
    """Split a body whose own size exceeds the limits.

    Returns the groups and the residual (loc, decisions) of the body around them — one line per
    group plus whatever code is not inside a group — or None when splitting gains nothing (the
    body is one statement that cannot be split).
    """
    if limits.fits(own_loc, 1 + own_decisions):
        return None
    groups = pack(stmts, limits)
    if not groups:
        return None
    if len(groups) == 1 and not groups[0].children:
        return None
    inner_loc = sum(g.total_loc for g in groups)
    inner_dec = sum(g.total_decisions for g in groups)
    return groups, max(own_loc - inner_loc, 0) + len(groups), max(own_decisions - inner_dec, 0)
