"""Valid TypeScript that the bundled grammar (tree-sitter-typescript 0.23.2, the newest on PyPI)
reports as a syntax error, and the byte-for-byte workaround. Pure.

Two gaps, both valid TypeScript that a skeleton may use:

* variance annotations on type parameters (TS 4.7+): ``interface Box<in T>``, ``<out T>``,
  ``<in out T>``;
* a generic call signature right after a member that ends without ``;``
  (``a(): void`` then a line ``<T>(x: T): T``).

When (and only when) a TypeScript file does not parse, :func:`bridge` rewrites those two shapes
*in place, keeping every byte offset and line*: the variance keywords become spaces, and the
first indentation character before such a signature becomes the ``;`` the grammar wants. The
tree of the rewritten bytes is used only if it has no error left; spans, lines and the text
every later step slices out of the *original* source stay exact (a one-line header built from
the tree's own text shows the parameter without its keyword, e.g. ``type F<T>``). Drop this
module when a newer grammar ships.
"""

from __future__ import annotations

import re

from tree_sitter import Parser, Tree

__all__ = ["bridge", "parse_bridged"]

_VARIANCE = re.compile(
    rb"(?<=[<,])(\s*)((?:in\s+out|in|out)\s+)(?=[A-Za-z_$][\w$]*\s*(?:[,>=]|extends\b))"
)
"""``in``/``out`` before a type parameter name inside ``<…>``."""
_SIGNATURE_AFTER_MEMBER = re.compile(rb"(?<=[^\s;,{(\[])(\n)([ \t])(?=[ \t]*<[A-Za-z_$])")
"""A line starting with ``<T…`` after a line that did not end a member."""


def _blank(match: re.Match[bytes]) -> bytes:
    return match.group(1) + b" " * len(match.group(2))


def bridge(src: bytes) -> bytes:
    """``src`` with the two gaps bridged; the same length and line breaks (see the module)."""
    out = _VARIANCE.sub(_blank, src)
    out = _SIGNATURE_AFTER_MEMBER.sub(lambda m: m.group(1) + b";", out)
    assert len(out) == len(src)
    return out


def parse_bridged(parser: Parser, src: bytes) -> Tree:
    """The tree of ``src``; when it has errors, the tree of the bridged bytes if that one is
    clean (a TypeScript parser only: the caller decides)."""
    tree = parser.parse(src)
    if tree.root_node.has_error:
        bridged = bridge(src)
        if bridged != src:
            again = parser.parse(bridged)
            if not again.root_node.has_error:
                return again
    return tree
