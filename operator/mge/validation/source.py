"""Read source with tree-sitter: definitions with their body spans, signatures, syntax errors.

These are the facts assembly and the static checks need: where each function's body starts
and ends (so a generated body can be spliced in), what its signature says (so API consistency
can be checked), and whether a text parses at all (an ERROR or MISSING node anywhere is a
syntax error). Everything here is pure: text in, facts out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

import tree_sitter_javascript
import tree_sitter_python
import tree_sitter_typescript
from tree_sitter import Language, Node, Parser

from mge.atomization.ts_grammar_gaps import parse_bridged

SourceLanguage = Literal["python", "typescript", "javascript"]
DefinitionKind = Literal["function", "method", "class"]

_PY_FUNCTION = "function_definition"
_PY_CLASS = "class_definition"
_TS_FUNCTIONS = frozenset({"function_declaration", "generator_function_declaration"})
_TS_CLASSES = frozenset({"class_declaration", "abstract_class_declaration"})
_TS_ARROW_HOSTS = frozenset({"lexical_declaration", "variable_declaration"})
_TS_ARROWS = frozenset({"arrow_function", "function_expression", "function"})
_TS_WRAPPERS = frozenset({"export_statement"})
_PY_WRAPPERS = frozenset({"decorated_definition"})


@cache
def _language(language: SourceLanguage) -> Language:
    if language == "python":
        return Language(tree_sitter_python.language())
    if language == "typescript":
        return Language(tree_sitter_typescript.language_typescript())
    return Language(tree_sitter_javascript.language())


def parse(source: str, language: SourceLanguage) -> Node:
    """The root node of ``source`` (a fresh parser each call: parsers are not thread-safe).

    TypeScript that fails only on the bundled grammar's known gaps gets the tree of the bridged
    bytes (same offsets: :mod:`mge.atomization.ts_grammar_gaps`)."""
    parser = Parser(_language(language))
    if language == "typescript":
        return parse_bridged(parser, source.encode()).root_node
    return parser.parse(source.encode()).root_node


@dataclass(frozen=True)
class SyntaxIssue:
    """One ERROR or MISSING node: 1-based line and column, and the text around it."""

    line: int
    column: int
    text: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.text}"


def syntax_errors(source: str, language: SourceLanguage, limit: int = 5) -> list[SyntaxIssue]:
    """Every ERROR/MISSING node in ``source`` (at most ``limit``), outermost first."""
    issues: list[SyntaxIssue] = []
    stack = [parse(source, language)]
    while stack and len(issues) < limit:
        node = stack.pop()
        if not node.has_error:
            continue
        if node.is_error or node.is_missing:
            what = "missing " + node.type if node.is_missing else "unexpected " + _snippet(node)
            issues.append(SyntaxIssue(node.start_point.row + 1, node.start_point.column + 1, what))
            continue
        stack.extend(reversed(node.children))
    return issues


def _snippet(node: Node, width: int = 40) -> str:
    text = (node.text or b"").decode(errors="replace").strip().splitlines()
    first = text[0] if text else ""
    return repr(first[:width])


@dataclass(frozen=True)
class Definition:
    """A function, method or class found in a source text.

    Byte offsets index the UTF-8 encoding of the source. ``body_start``/``body_end`` cover the
    body node (Python ``block``, TS/JS ``statement_block`` or ``class_body``);
    ``header_end`` is where the signature ends (the Python ``:`` or the start of the TS body).
    """

    qualname: str
    kind: DefinitionKind
    start: int
    end: int
    header_start: int
    header_end: int
    body_start: int
    body_end: int
    start_line: int
    end_line: int
    column: int
    signature: str
    docstring_end: int | None = None
    """Python only: byte offset just after the docstring statement, when the body has one."""


def definitions(source: str, language: SourceLanguage) -> dict[str, Definition]:
    """Every function, method and class of ``source`` by qualified name (``Class.method``).

    Nested functions inside function bodies are not listed: atoms are top-level functions,
    methods and classes, and a nested helper belongs to the body that holds it.
    """
    root = parse(source, language)
    found: dict[str, Definition] = {}
    if language == "python":
        _walk_python(root, "", found)
    else:
        _walk_script(root, "", found)
    return found


def _unwrap(child: Node, wrappers: frozenset[str], field: str) -> Node | None:
    """The definition inside a decorator/export wrapper (``child`` itself when not wrapped)."""
    return child.child_by_field_name(field) if child.type in wrappers else child


def _definition(
    qualname: str,
    kind: DefinitionKind,
    outer: Node,
    header: Node,
    header_end: int,
    body: Node,
    *,
    column: int,
    docstring_end: int | None = None,
) -> Definition:
    """The spans every kind of definition has: ``outer`` (wrappers included), header, body."""
    text = (header.text or b"")[: header_end - header.start_byte].decode()
    return Definition(
        qualname=qualname,
        kind=kind,
        start=outer.start_byte,
        end=outer.end_byte,
        header_start=header.start_byte,
        header_end=header_end,
        body_start=body.start_byte,
        body_end=body.end_byte,
        start_line=outer.start_point.row + 1,
        end_line=outer.end_point.row + 1,
        column=column,
        signature=normalize_signature(text),
        docstring_end=docstring_end,
    )


def _walk_python(node: Node, prefix: str, found: dict[str, Definition]) -> None:
    for child in node.children:
        target = _unwrap(child, _PY_WRAPPERS, "definition")
        if target is None or target.type not in (_PY_FUNCTION, _PY_CLASS):
            continue
        name_node = target.child_by_field_name("name")
        body = target.child_by_field_name("body")
        if name_node is None or body is None:
            continue
        qualname = prefix + _text(name_node)
        if target.type == _PY_CLASS:
            found[qualname] = _python_definition(child, target, body, qualname, "class")
            _walk_python(body, qualname + ".", found)
        else:
            kind: DefinitionKind = "method" if prefix else "function"
            found[qualname] = _python_definition(child, target, body, qualname, kind)


def _python_definition(
    outer: Node, target: Node, body: Node, qualname: str, kind: DefinitionKind
) -> Definition:
    docstring_end = None
    first = body.named_children[0] if body.named_children else None
    if first is not None and first.type == "expression_statement":
        expr = first.named_children[0] if first.named_children else None
        if expr is not None and expr.type == "string":
            docstring_end = first.end_byte
    colon = _python_colon(target, body)
    column = target.start_point.column
    return _definition(
        qualname, kind, outer, target, colon, body, column=column, docstring_end=docstring_end
    )


def _python_colon(target: Node, body: Node) -> int:
    """Byte offset just after the ``:`` that ends a Python header."""
    colon = body.start_byte
    for child in target.children:
        if child.type == ":" and child.end_byte <= body.start_byte:
            colon = child.end_byte
    return colon


def _walk_script(node: Node, prefix: str, found: dict[str, Definition]) -> None:
    for child in node.children:
        target = _unwrap(child, _TS_WRAPPERS, "declaration")
        if target is None:
            continue
        if target.type in _TS_FUNCTIONS:
            _add_script(found, child, target, prefix, "method" if prefix else "function")
        elif target.type in _TS_CLASSES:
            qualname = _add_script(found, child, target, prefix, "class")
            body = target.child_by_field_name("body")
            if qualname is not None and body is not None:
                _walk_script(body, qualname + ".", found)
        elif target.type == "method_definition":
            _add_script(found, child, target, prefix, "method")
        elif target.type in _TS_ARROW_HOSTS:
            for declarator in target.named_children:
                value = declarator.child_by_field_name("value")
                is_arrow = value is not None and value.type in _TS_ARROWS
                if declarator.type == "variable_declarator" and value is not None and is_arrow:
                    _add_arrow(found, child, declarator, value, prefix)


def _add_script(
    found: dict[str, Definition], outer: Node, target: Node, prefix: str, kind: DefinitionKind
) -> str | None:
    name_node = target.child_by_field_name("name")
    body = target.child_by_field_name("body")
    if name_node is None or body is None:
        return None
    qualname = prefix + _text(name_node)
    column = target.start_point.column
    found[qualname] = _definition(
        qualname, kind, outer, target, body.start_byte, body, column=column
    )
    return qualname


def _add_arrow(
    found: dict[str, Definition], outer: Node, declarator: Node, value: Node, prefix: str
) -> None:
    name_node = declarator.child_by_field_name("name")
    body = value.child_by_field_name("body")
    if name_node is None or body is None or body.type != "statement_block":
        return
    qualname = prefix + _text(name_node)
    column = outer.start_point.column
    found[qualname] = _definition(
        qualname, "function", outer, declarator, body.start_byte, body, column=column
    )


def _text(node: Node) -> str:
    return (node.text or b"").decode()


def normalize_signature(header: str) -> str:
    """A signature with whitespace squeezed and a trailing comma or ``=>`` noise removed.

    Two headers that differ only in layout (line breaks, spaces, a trailing comma in the
    parameter list) normalise to the same text, so layout never counts as an API change.
    """
    squeezed = " ".join(header.split())
    for opener, closer in (("( ", "("), (" )", ")"), (", )", ")"), (",)", ")")):
        squeezed = squeezed.replace(opener, closer)
    squeezed = squeezed.rstrip(":").rstrip()
    return squeezed.removesuffix("=>").rstrip()


def line_of(source_bytes: bytes, offset: int) -> int:
    """1-based line number of a byte offset."""
    return source_bytes.count(b"\n", 0, offset) + 1
