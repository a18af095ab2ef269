"""Contracts written in docstrings and JSDoc: preconditions, postconditions, declared uses.

The convention (also in docs/atomization.md), case-insensitive, in a Python docstring or a
JSDoc block:

* one per line: ``Pre: x > 0`` / ``Requires: …`` / ``Precondition: …``;
  ``Post: result >= 0`` / ``Ensures: …`` / ``Postcondition: …``;
  ``Uses: parse_line, Order.total`` (dependencies the body will call, comma-separated);
* or as a section: a line ``Requires:`` followed by indented or bulleted lines, up to a blank
  line or the next section header (``Returns:``, ``Raises:``…);
* in JSDoc also as tags: ``@pre``, ``@requires``, ``@post``, ``@ensures``, ``@uses``.

Preconditions are the caller's obligation (the body may assume them); postconditions are what
the body guarantees and what tests check.

Everything else in the docstring is the *description*; its bullet or numbered lines count as
*steps*. A stub's size is estimated from the description (see :func:`estimate_stub`): the LLM
splitter refines oversized estimates later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

STUB_BASE_LOC = 2
"""Estimated lines of any non-empty body (compute, return)."""
LOC_PER_STEP = 1
"""Estimated lines per step line (bullet or number) of the description."""
LOC_PER_BRANCH = 2
"""Estimated lines per branch the description names (the test and its consequence)."""

CONTRACT_CACHE_SIZE = 4096
"""Parsed docstrings kept for reuse."""

_PRE = ("pre", "precondition", "preconditions", "requires")
_POST = ("post", "postcondition", "postconditions", "ensures")
_USES = ("uses",)
_TAG_LINE = re.compile(r"^\s*@?([A-Za-z]+)\s*:?\s*(.*)$")
_SECTION_HEADER = re.compile(r"^\s*([A-Za-z][A-Za-z ]*):\s*$")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_BRANCH = re.compile(
    r"\b(if|when|whenever|unless|otherwise|else|each|every|for all|until|while)\b", re.I
)
_NAME = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")


@dataclass(frozen=True, slots=True)
class Contract:
    """What a docstring promises: description, pre/postconditions, declared uses."""

    description: str
    preconditions: tuple[str, ...] = ()
    postconditions: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    steps: int = 0

    @property
    def summary(self) -> str:
        """The first sentence of the description."""
        first = self.description.strip().split("\n\n")[0].replace("\n", " ")
        return re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0].strip()


def _kind_of(word: str) -> str | None:
    w = word.lower()
    if w in _PRE:
        return "pre"
    if w in _POST:
        return "post"
    if w in _USES:
        return "uses"
    return None


def _tagged(line: str) -> tuple[str, str] | None:
    """(kind, text) when the line is ``Tag: text`` or ``@tag text`` of a contract kind."""
    stripped = line.strip()
    m = _TAG_LINE.match(stripped)
    if m is None:
        return None
    kind = _kind_of(m.group(1))
    if kind is None:
        return None
    rest = stripped[len(m.group(1)) + (1 if stripped.startswith("@") else 0) :].lstrip()
    if not stripped.startswith("@") and not rest.startswith(":"):
        return None
    return kind, rest.removeprefix(":").strip()


@lru_cache(maxsize=CONTRACT_CACHE_SIZE)
def parse_contract(docstring: str) -> Contract:
    """Split a docstring into description, pre/postconditions and declared uses (cached: the
    context injector and the validator ask again for the same docstrings)."""
    pre: list[str] = []
    post: list[str] = []
    uses: list[str] = []
    description: list[str] = []
    steps = 0
    section: str | None = None
    section_indent = 0
    lists = {"pre": pre, "post": post, "uses": uses}
    for line in docstring.splitlines():
        indent = len(line) - len(line.lstrip())
        if not line.strip():
            section = None
            description.append("")
            continue
        tagged = _tagged(line)
        if tagged is not None:
            kind, text = tagged
            if text:
                lists[kind].append(text)
                section = kind
                section_indent = indent
            else:
                section = kind
                section_indent = indent
            continue
        if _SECTION_HEADER.match(line):
            section = None
            description.append(line)
            continue
        if section is not None and (indent > section_indent or _BULLET.match(line)):
            text = _BULLET.sub("", line).strip()
            target = lists[section]
            if not _BULLET.match(line) and target and indent > section_indent + 2:
                target[-1] = f"{target[-1]} {text}"
            else:
                target.append(text)
            continue
        section = None
        description.append(line)
        if _BULLET.match(line):
            steps += 1
    used = [n for item in uses for n in _NAME.findall(item)]
    return Contract(
        description="\n".join(description).strip(),
        preconditions=tuple(pre),
        postconditions=tuple(post),
        uses=tuple(dict.fromkeys(used)),
        steps=steps,
    )


def branch_count(contract: Contract) -> int:
    """Branches the description and postconditions name (if, when, each, otherwise, …)."""
    text = "\n".join((contract.description, *contract.postconditions))
    return len(_BRANCH.findall(text))


def estimate_stub(contract: Contract) -> tuple[int, int]:
    """Estimated (lines of code, cyclomatic complexity) of a stub's body from its contract.

    ``STUB_BASE_LOC`` + one line per step + two per named branch; complexity 1 + branches.
    Preconditions add nothing: the body may assume them.
    """
    branches = branch_count(contract)
    loc = STUB_BASE_LOC + LOC_PER_STEP * contract.steps + LOC_PER_BRANCH * branches
    return loc, 1 + branches
