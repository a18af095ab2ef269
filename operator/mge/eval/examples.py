"""The examples a HumanEval prompt shows, turned into visible unit tests (pure).

HumanEval docstrings show examples in a dozen styles: doctests (``>>> f(1)`` then ``2``), and
prose lines such as ``f(1) == 2``, ``f(1) ==> 2``, ``f(1) ➞ 2``, ``f(1) -> 2``,
``f(1) should return 2``. Each example whose call and expected value both parse as Python (the
expected value as a literal) becomes one pytest function. These are the ONLY tests the retry
loop sees; the hidden tests never feed back. An example that does not parse is dropped, not
guessed at: a prompt without usable examples gets no tests, and its atoms are validated by the
static checks and the import alone.
"""

from __future__ import annotations

import ast
import doctest
import re
from dataclasses import dataclass

__all__ = ["Example", "examples_test_source", "visible_examples"]

ARROWS = ("==>", "=>", "➞", "→", "->", "==", "should return", "returns", "should be", "=")
"""Separators between a call and its expected value, longest first where one holds another."""

_TRAILING = ".,;"


@dataclass(frozen=True)
class Example:
    """``call`` (a Python expression calling the entry point) should evaluate to ``expected``."""

    call: str
    expected: str


def _literal(text: str) -> str | None:
    """``text`` normalised if it is a Python literal, else None."""
    candidate = text.strip().rstrip(_TRAILING).strip()
    if not candidate:
        return None
    try:
        value = ast.literal_eval(candidate)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return repr(value)


def _is_call_to(expr: str, entry_point: str) -> bool:
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        return False
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == entry_point
        for n in ast.walk(tree)
    )


def _closing_paren(text: str, start: int) -> int | None:
    """Index of the parenthesis closing the one at ``start`` (strings are skipped)."""
    depth = 0
    quote: str | None = None
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return i
    return None


def _want_text(want: str) -> str:
    """A doctest's expected output without the docstring's closing quotes after it."""
    kept: list[str] = []
    for line in want.splitlines():
        if line.strip().startswith(('"""', "'''")):
            break
        kept.append(line)
    return "\n".join(kept)


def _doctest_examples(prompt: str, entry_point: str) -> list[Example]:
    found: list[Example] = []
    try:
        parsed = doctest.DocTestParser().get_examples(prompt)
    except ValueError:
        return found
    for ex in parsed:
        expected = _literal(_want_text(ex.want))
        if expected is not None and _is_call_to(ex.source, entry_point):
            found.append(Example(ex.source.strip(), expected))
    return found


def _prose_examples(prompt: str, entry_point: str) -> list[Example]:
    found: list[Example] = []
    call_start = re.compile(rf"(?<![\w.]){re.escape(entry_point)}\s*\(")
    for line in prompt.splitlines():
        if line.lstrip().startswith(">>>"):
            continue
        for m in call_start.finditer(line):
            end = _closing_paren(line, m.end() - 1)
            if end is None:
                continue
            call, rest = line[m.start() : end + 1], line[end + 1 :].strip()
            for arrow in ARROWS:
                if rest.startswith(arrow):
                    expected = _literal(rest[len(arrow) :])
                    if expected is not None and _is_call_to(call, entry_point):
                        found.append(Example(call, expected))
                    break
    return found


def visible_examples(prompt: str, entry_point: str) -> list[Example]:
    """The examples in ``prompt`` that call ``entry_point``, doctests first, without repeats."""
    unique: dict[str, Example] = {}
    for ex in [*_doctest_examples(prompt, entry_point), *_prose_examples(prompt, entry_point)]:
        unique.setdefault(ex.call, ex)
    return list(unique.values())


_HEADER = '''\
"""Examples visible in the prompt of {task_id}; the hidden tests are not here."""

import math

from {module} import *  # noqa: F403


def _same(actual, expected):
    if isinstance(expected, float) or isinstance(actual, float):
        try:
            return math.isclose(actual, expected, rel_tol=1e-6, abs_tol=1e-9)
        except TypeError:
            return False
    return actual == expected
'''

_TEST = """

def test_example_{n}():
    actual = {call}
    assert _same(actual, {expected}), (
        "{shown} returned %r, expected %r" % (actual, {expected})
    )
"""


def examples_test_source(task_id: str, module: str, examples: list[Example]) -> tuple[str, int]:
    """A pytest file with one test per example and the number of tests in it."""
    parts = [_HEADER.format(task_id=task_id, module=module)]
    for n, ex in enumerate(examples, start=1):
        shown = ex.call.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
        parts.append(_TEST.format(n=n, call=ex.call, expected=ex.expected, shown=shown))
    return "".join(parts), len(examples)
