"""Atoms for the graph tests, built directly as models (the graph stage's whole input)."""

from __future__ import annotations

from mge.models import AtomicUnit, Span


def atom(
    aid: str,
    deps: list[str] | None = None,
    *,
    file: str = "pkg/mod.py",
    line: int = 1,
    tests: list[str] | None = None,
    loc: int = 3,
    complexity: int = 1,
) -> AtomicUnit:
    """An atom whose id and qualified name are ``aid``."""
    return AtomicUnit(
        id=aid,
        file=file,
        language="python",
        kind="function",
        qualname=aid,
        signature=f"def {aid}() -> None",
        estimated_loc=loc,
        complexity=complexity,
        dependencies=deps or [],
        test_cases=tests or [],
        span=Span(start_line=line, end_line=line + loc),
    )


def chain_atoms(n: int) -> list[AtomicUnit]:
    """n0 ← n1 ← … ← n(n-1): each atom needs the one before."""
    return [atom(f"n{i}", [f"n{i - 1}"] if i else []) for i in range(n)]
