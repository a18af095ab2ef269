"""Tree-sitter helpers shared by the language rule sets (python_rules, ecmascript_rules).

Both rule sets read node text the same way, flatten headers to one line the same way (only the
brackets differ) and turn the same reference captures into :class:`References`; keeping those
here means a fix to, say, how undecodable bytes are shown reaches every language at once.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from tree_sitter import Node

from mge.atomization.rules import References
from mge.atomization.syntax import CallRef

__all__ = ["fill_names", "in_test_dir", "name_calls", "node_text", "node_texts", "one_line"]


def node_text(node: Node | None) -> str:
    """The node's source text ('' for no node); bad bytes become U+FFFD rather than failing."""
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def node_texts(nodes: list[Node], skip: set[int] | None = None) -> list[tuple[int, str]]:
    """(position, text) of each node not starting at a ``skip`` position.

    The hot loop of reference extraction, hence the two comprehensions instead of one with a
    test per node.
    """
    if skip is None:
        return [(n.start_byte, t.decode("utf-8", "replace")) for n in nodes if (t := n.text)]
    return [
        (n.start_byte, t.decode("utf-8", "replace"))
        for n in nodes
        if n.start_byte not in skip and (t := n.text)
    ]


def one_line(text: str, opening: str = "([", closing: str = ")]") -> str:
    """``text`` on one line: runs of whitespace become one space, none inside the brackets.

    ``opening``/``closing`` are the bracket characters of the language (TS adds ``{}`` and
    ``<>``); a trailing comma before a closing bracket goes too, so a header wrapped by a
    formatter reads as it would unwrapped.
    """
    if "\n" not in text and "  " not in text:
        return text.strip()
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(f"([{re.escape(opening)}]) ", r"\1", text)
    return re.sub(f",? ([{re.escape(closing)}])", r"\1", text)


def name_calls(refs: References, nodes: list[Node]) -> None:
    """Add a call of a plain name (``f(…)``, no receiver) for each captured name node."""
    for node in nodes:
        refs.calls.append(
            (node.start_byte, CallRef(node_text(node), None, node.start_point[0] + 1))
        )


def fill_names(refs: References, caps: dict[str, list[Node]], outer: str) -> None:
    """Fill binds, reads, mutations and outer assignments from the shared capture names.

    ``@bind`` names are bound, ``@id`` names read unless also ``@bind`` or ``@nonread``, ``@mut``
    objects mutated; ``outer`` is the capture that holds assignments reaching outside a unit
    (Python's ``global``/``nonlocal`` names, TS/JS plain assignments).
    """
    bound = caps.get("bind", [])
    skip = {n.start_byte for n in caps.get("nonread", [])}
    skip.update(n.start_byte for n in bound)
    refs.binds = node_texts(bound)
    refs.reads = node_texts(caps.get("id", []), skip)
    refs.mutates = node_texts(caps.get("mut", []))
    refs.assigns_outer = node_texts(caps.get(outer, []))


def in_test_dir(path: str, dirs: frozenset[str]) -> bool:
    """True when a folder of ``path`` (not the file name) is one of the test folders ``dirs``."""
    return any(part in dirs for part in PurePosixPath(path).parts[:-1])
