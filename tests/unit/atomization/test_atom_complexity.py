"""Cyclomatic complexity from the tree-sitter tree, with radon as the independent oracle:
on this project's own code and on randomly generated functions. Statement-group splitting
keeps every decision point (nothing lost, nothing counted twice)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from atom_support import PACKAGE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from radon.complexity import cc_visit
from radon.visitors import Function

from mge.atomization import parse_file
from mge.atomization.packing import Limits


def radon_functions(source: str) -> dict[str, list[Function]]:
    """radon's functions and methods by our qualname scheme, in source order."""
    out: dict[str, list[Function]] = defaultdict(list)

    def walk(blocks: list[object], prefix: str = "") -> None:
        for b in blocks:
            if hasattr(b, "methods"):
                for m in b.methods:
                    out[f"{prefix}{b.name}.{m.name}"].append(m)  # type: ignore[attr-defined]
                walk(b.inner_classes, f"{prefix}{b.name}.")  # type: ignore[attr-defined]
            elif not b.is_method:  # type: ignore[attr-defined]
                add_function(b, prefix + b.name)  # type: ignore[attr-defined]

    def add_function(fn: Function, name: str) -> None:
        out[name].append(fn)
        for c in fn.closures:
            add_function(c, f"{name}.<locals>.{c.name}")

    walk(cc_visit(source))
    for fns in out.values():
        fns.sort(key=lambda f: f.lineno)
    return out


def ours(source: str, path: str = "x.py") -> dict[str, list[int]]:
    got: dict[str, list[int]] = defaultdict(list)
    for d in parse_file(path, source).definitions:
        if d.kind in ("function", "method"):
            got[re.sub(r"~\d+", "", d.qualname)].append(d.complexity)
    return got


def test_complexity_matches_radon_on_this_project() -> None:
    compared = 0
    mismatches = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        theirs = radon_functions(source)
        mine = ours(source, str(path))
        for name, fns in theirs.items():
            assert name in mine, f"{path}: radon sees {name}, the parser does not"
            assert len(mine[name]) == len(fns), f"{path}: {name}"
            for fn, value in zip(fns, mine[name], strict=True):
                compared += 1
                if fn.complexity != value:
                    mismatches.append(
                        f"{path}:{fn.lineno} {name}: {value} vs radon {fn.complexity}"
                    )
    assert compared > 500, compared
    assert mismatches == []


# -- generated functions ------------------------------------------------------------------------

CONDITIONS = st.sampled_from(
    ["a", "a and b", "a or b and c", "not a", "(a or b) and (c or d)", "x if a else y"]
)


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


def statements(depth: int) -> st.SearchStrategy[list[str]]:
    simple = st.one_of(
        st.just(["x = 1"]),
        CONDITIONS.map(lambda c: [f"y = {c}"]),
        CONDITIONS.map(lambda c: [f"assert {c}"]),
        CONDITIONS.map(lambda c: [f"z = [i for i in xs if ({c})]"]),
        st.just(["w = {k: v for k in ks for v in vs if k if v}"]),
        st.just(["f = lambda q: q if q else 0"]),
    )
    if depth == 0:
        return simple
    block = st.lists(statements(depth - 1), min_size=1, max_size=3).map(
        lambda parts: [line for part in parts for line in part]
    )

    def if_stmt(c: str, body: list[str], elifs: list[list[str]], orelse: list[str]) -> list[str]:
        out = [f"if {c}:", *_indent(body)]
        for e in elifs:
            out += ["elif b:", *_indent(e)]
        if orelse:
            out += ["else:", *_indent(orelse)]
        return out

    def loop(kind: str, body: list[str], orelse: list[str]) -> list[str]:
        head = "for i in xs:" if kind == "for" else "while a:"
        return [head, *_indent(body)] + (["else:", *_indent(orelse)] if orelse else [])

    def try_stmt(body: list[str], handlers: int, orelse: list[str], final: bool) -> list[str]:
        out = ["try:", *_indent(body)]
        for n in range(handlers):
            out += [f"except E{n}:", *_indent(body)]
        if orelse:
            out += ["else:", *_indent(orelse)]
        if final:
            out += ["finally:", "    pass"]
        return out

    def match_stmt(cases: int, wildcard: bool) -> list[str]:
        out = ["match v:"]
        for n in range(cases):
            out += [f"    case {n}:", "        pass"]
        if wildcard:
            out += ["    case _:", "        pass"]
        return out

    def nested_def(body: list[str]) -> list[str]:
        return ["def inner():", *_indent(body), "inner()"]

    empty_or_block: st.SearchStrategy[list[str]] = st.one_of(st.just([]), block)
    return st.one_of(
        simple,
        st.builds(if_stmt, CONDITIONS, block, st.lists(block, max_size=2), empty_or_block),
        st.builds(loop, st.sampled_from(["for", "while"]), block, empty_or_block),
        st.builds(try_stmt, block, st.integers(1, 3), empty_or_block, st.booleans()),
        st.builds(match_stmt, st.integers(1, 3), st.booleans()),
        st.builds(lambda b: ["with open(p) as fh:", *_indent(b)], block),
        st.builds(nested_def, block),
    )


FUNCTIONS = st.lists(statements(3), min_size=1, max_size=6).map(
    lambda parts: (
        "def generated(a, b, c, d, x, y, xs, ks, vs, v, p):\n"
        + "\n".join(_indent([line for part in parts for line in part]))
        + "\n"
    )
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FUNCTIONS)
def test_complexity_matches_radon_on_generated_functions(source: str) -> None:
    theirs = radon_functions(source)
    mine = ours(source)
    assert set(mine) == set(theirs)
    for name, fns in theirs.items():
        assert mine[name] == [f.complexity for f in fns], f"{name}\n{source}"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FUNCTIONS)
def test_splitting_keeps_every_decision_point(source: str) -> None:
    """The function's radon complexity is spread over its residual and its groups exactly."""
    limits = Limits(max_loc=4, max_complexity=2)
    pf = parse_file("x.py", source, limits=limits, split=True)
    expected = radon_functions(source)["generated"][0].complexity
    parts = [
        d
        for d in pf.definitions
        if d.qualname == "generated" or d.qualname.startswith("generated#")
    ]
    assert sum(d.complexity - 1 for d in parts) + 1 == expected
    for d in parts:
        assert d.loc >= 0 and d.complexity >= 1


def test_typescript_and_javascript_decision_points() -> None:
    src = """function f(a, b, xs) {
  if (a && b) { return 1; } else if (a || b) { return 2; }
  for (const x of xs) { while (x) { break; } }
  do { a--; } while (a > 0);
  try { g(); } catch (e) { h(); }
  switch (a) { case 1: break; case 2: break; default: break; }
  const y = a ? b : a ?? b;
  const inner = () => (a ? 1 : 2);
  return y;
}
"""
    # if, &&, else-if, ||, for-of, while, do, catch, case, case, ?:, ??, ?: (in the arrow)
    for path in ("f.js", "f.ts"):
        d = parse_file(path, src).definition("f")
        assert d is not None and d.complexity == 14, path


HEADERS = """function f(v = a || b) { return v; }
function g({ p = b || c }, [q = d ?? e]) { return p; }
const h = (v = a ? 1 : 2) => { return v; };
class A extends (cond ? X : Y) {
  constructor(x = a || b) { super(); }
  m(v = a ?? b) { return v; }
  [a || b]() { return 1; }
}
@dec(a || b)
class C {}
"""


def test_decision_points_in_headers_count_for_their_definition() -> None:
    """Parameter defaults (plain, destructured, of constructors and methods), a class's
    extends, class decorators and computed member names are branches of that definition."""
    expected = {
        "f": 2,
        "g": 3,
        "h": 2,
        "A": 2,
        "A.constructor": 2,
        "A.m": 2,
        "A.[a || b]": 2,
        "C": 2,
    }
    for path in ("h.ts", "h.js"):
        got = {d.qualname: d.complexity for d in parse_file(path, HEADERS).definitions}
        assert got == expected, path
    ts_property = "class P { constructor(private readonly x = a || b) {} }\n"
    ctor = parse_file("p.ts", ts_property).definition("P.constructor")
    assert ctor is not None and ctor.complexity == 2


def test_nested_function_counts_for_itself_in_typescript() -> None:
    src = (
        "function outer(a: boolean) {\n"
        "  function inner() { if (a) { return 1; } }\n"
        "  return a ? inner() : 0;\n"
        "}\n"
    )
    pf = parse_file("n.ts", src)
    outer = pf.definition("outer")
    inner = pf.definition("outer.<locals>.inner")
    assert outer is not None and inner is not None
    assert (outer.complexity, inner.complexity) == (2, 2)


def test_every_python_file_of_the_package_parses_cleanly() -> None:
    broken = [
        str(e)
        for p in sorted(PACKAGE.rglob("*.py"))
        for e in parse_file(str(p), Path(p).read_text()).errors
    ]
    assert broken == []
