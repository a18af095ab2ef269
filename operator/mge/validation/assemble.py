"""Splice generated bodies into a skeleton, keeping the skeleton's signatures and docstrings.

The skeleton is the contract: its signatures, types and docstrings were planned and checked
before any body was written. Assembly therefore takes only the *body* of what the model wrote
and puts it where the skeleton's empty body was (found by tree-sitter spans, never by regular
expressions), so a model cannot change an API by rewriting a signature. Python imports the
model put above its function are moved into the body as local imports, so the atom stays
self-contained. Pure: text in, text out.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mge.errors import InputError
from mge.validation.source import (
    Definition,
    SourceLanguage,
    definitions,
    parse,
)

PY_EMPTY_BODY = "..."
"""What a Python body holds when the model returned nothing usable (it fails its tests)."""

_PY_IMPORTS = frozenset({"import_statement", "import_from_statement"})
TS_INDENT = "  "
_WRAP = "MgeWrappedMethod"


@dataclass(frozen=True)
class Assembly:
    """An assembled file and, per spliced qualname, its 1-based inclusive line span in it."""

    source: str
    spans: dict[str, tuple[int, int]]


def assemble(
    skeleton_source: str, bodies: Mapping[str, str], language: SourceLanguage = "python"
) -> str:
    """``skeleton_source`` with the body of each ``bodies[qualname]`` spliced in.

    A value may be a whole definition (as a model writes it) or just the body statements.
    Raises InputError for a qualname the skeleton does not define, or for nested targets
    (a class and one of its methods at once).
    """
    return assemble_with_spans(skeleton_source, bodies, language).source


def assemble_with_spans(
    skeleton_source: str, bodies: Mapping[str, str], language: SourceLanguage = "python"
) -> Assembly:
    """Like :func:`assemble`, also returning where each spliced definition ended up."""
    if not bodies:
        return Assembly(skeleton_source, {})
    defs = definitions(skeleton_source, language)
    missing = sorted(q for q in bodies if q not in defs)
    if missing:
        raise InputError(f"the skeleton defines no {', '.join(missing)}")
    targets = sorted((defs[q] for q in bodies), key=lambda d: d.start)
    for a, b in itertools.pairwise(targets):
        if b.start < a.end:
            raise InputError(
                f"cannot splice both {a.qualname} and {b.qualname}: one holds the other"
            )
    data = skeleton_source.encode()
    for target in reversed(targets):
        start, end, text = _replacement(data, target, bodies[target.qualname], language)
        data = data[:start] + text.encode() + data[end:]
    source = data.decode()
    after = definitions(source, language)
    spans = {q: (after[q].start_line, after[q].end_line) for q in bodies if q in after}
    return Assembly(source, spans)


def _replacement(
    data: bytes, target: Definition, code: str, language: SourceLanguage
) -> tuple[int, int, str]:
    if language == "python":
        return _python_replacement(data, target, code)
    return _script_replacement(data, target, code, language)


# --- Python -----------------------------------------------------------------------------------


def _python_replacement(data: bytes, target: Definition, code: str) -> tuple[int, int, str]:
    body_line_start = data.rfind(b"\n", 0, target.body_start) + 1
    header_line_start = data.rfind(b"\n", 0, target.header_end) + 1
    on_own_line = body_line_start > header_line_start
    indent = " " * (target.body_start - body_line_start if on_own_line else target.column + 4)
    statements = python_body(code, target.qualname, skip_imports=_python_imports(data.decode()))
    lines: list[str] = []
    if target.docstring_end is not None:
        lines.append(indent + data[target.body_start : target.docstring_end].decode())
    lines += [indent + line if line.strip() else "" for line in statements.splitlines()]
    text = "\n".join(lines)
    if on_own_line:
        return body_line_start, target.body_end, text
    return target.header_end, target.body_end, "\n" + text


def python_body(code: str, qualname: str, skip_imports: Sequence[str] = ()) -> str:
    """The body statements of ``qualname`` in ``code``, dedented and without a docstring.

    ``code`` may be the whole definition (imports above it, except those in ``skip_imports``
    which the file already has, are moved into the body) or the bare statements. An empty
    result becomes ``...``.
    """
    text = textwrap.dedent(code).strip("\n")
    if not text.strip():
        return PY_EMPTY_BODY
    found = _match(definitions(text, "python"), qualname)
    if found is None:
        return text
    data = text.encode()
    if found.docstring_end is not None:
        rest = data[found.docstring_end : found.body_end]
        newline = rest.find(b"\n")
        rest = rest[newline + 1 :] if newline >= 0 else b""
    else:
        line_start = data.rfind(b"\n", 0, found.body_start) + 1
        header_line = data.rfind(b"\n", 0, found.header_end) + 1
        rest = data[line_start if line_start > header_line else found.body_start : found.body_end]
    body = textwrap.dedent(rest.decode()).strip("\n")
    imports = [i for i in _python_imports(text) if i not in skip_imports]
    if imports:
        body = "\n".join([*imports, body])
    return body if body.strip() else PY_EMPTY_BODY


def _python_imports(text: str) -> list[str]:
    """Top-level import statements of ``text`` (not ``from __future__``)."""
    root = parse(text, "python")
    found: list[str] = []
    for child in root.children:
        if child.type in _PY_IMPORTS:
            line = (child.text or b"").decode()
            if not line.startswith("from __future__"):
                found.append(line)
    return found


def _match(defs: Mapping[str, Definition], qualname: str) -> Definition | None:
    """The definition for ``qualname``: exact, else the only one whose last name matches."""
    if qualname in defs:
        return defs[qualname]
    last = qualname.rsplit(".", 1)[-1]
    same = [d for q, d in defs.items() if q.rsplit(".", 1)[-1] == last]
    return same[0] if len(same) == 1 else None


# --- TypeScript / JavaScript ------------------------------------------------------------------


def _script_replacement(
    data: bytes, target: Definition, code: str, language: SourceLanguage
) -> tuple[int, int, str]:
    line_start = data.rfind(b"\n", 0, target.header_start) + 1
    line = data[line_start : target.header_start].decode()
    indent = line[: len(line) - len(line.lstrip())]
    block = script_block(code, target.qualname, language, indent)
    return target.body_start, target.body_end, block


def script_block(code: str, qualname: str, language: SourceLanguage, indent: str = "") -> str:
    """The ``{ ... }`` body of ``qualname`` in ``code``, re-indented to sit at ``indent``.

    ``code`` may be the whole function/method or just its statements.
    """
    text = textwrap.dedent(code).strip("\n")
    found = _match(definitions(text, language), qualname) if text.strip() else None
    if found is None and text.strip():
        wrapped = f"class {_WRAP} {{\n{text}\n}}"
        found = definitions(wrapped, language).get(f"{_WRAP}.{qualname.rsplit('.', 1)[-1]}")
        text = wrapped if found is not None else text
    if found is None:
        inner = textwrap.indent(text, indent + TS_INDENT) if text.strip() else ""
        return "{\n" + inner + ("\n" if inner else "") + indent + "}"
    data = text.encode()
    def_line_start = data.rfind(b"\n", 0, found.header_start) + 1
    def_line = data[def_line_start : found.header_start].decode()
    own_indent = def_line[: len(def_line) - len(def_line.lstrip())]
    block_lines = data[found.body_start : found.body_end].decode().split("\n")
    shifted = [block_lines[0]] + [_reindent(ln, own_indent, indent) for ln in block_lines[1:]]
    return "\n".join(shifted)


def _reindent(line: str, old: str, new: str) -> str:
    if not line.strip():
        return ""
    return new + line[len(old) :] if line.startswith(old) else new + line.lstrip()
