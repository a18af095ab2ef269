"""The seam between the language-neutral parser driver and one language's syntax.

A :class:`LanguageRules` knows how a language spells definitions, bodies, docstrings, stubs,
decision points, calls, type names, bindings and imports in its tree-sitter grammar; the driver
(:mod:`mge.atomization.parsing`) does everything else the same way for every language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from tree_sitter import Node

from mge.atomization.languages import Grammar
from mge.atomization.syntax import CallRef, ImportRef, Param

RawKind = Literal["function", "class", "type", "test"]


@dataclass(slots=True)
class RawDef:
    """A definition as the rules found it: its node, the node whose extent it covers, its body."""

    node: Node
    outer: Node
    kind: RawKind
    name: str
    body: Node | None
    label_scope: tuple[str, ...] = ()
    """For JS/TS ``it(...)`` tests: the labels of the enclosing ``describe`` calls."""


@dataclass(slots=True)
class References:
    """Everything a file refers to, as (byte position, value) pairs the driver attributes."""

    calls: list[tuple[int, CallRef]] = field(default_factory=list)
    types: list[tuple[int, str]] = field(default_factory=list)
    reads: list[tuple[int, str]] = field(default_factory=list)
    binds: list[tuple[int, str]] = field(default_factory=list)
    mutates: list[tuple[int, str]] = field(default_factory=list)
    assigns_outer: list[tuple[int, str]] = field(default_factory=list)
    outer_needs_undeclared: bool = False
    """True when ``assigns_outer`` holds every plain assignment (TS/JS) and only those to names
    the unit does not declare reach outside it; False when they are explicit ``global``s."""


class LanguageRules(Protocol):
    """One language's syntax, as the parser driver needs it."""

    grammar: Grammar
    comment_prefixes: tuple[str, ...]
    """A line starting (after indentation) with one of these holds only a comment."""
    header_decisions: bool
    """Whether decision points in a definition's header (parameter defaults, decorators, a
    class's ``extends``, computed member names) count for the definition, as for its body."""

    def definitions(self, root: Node) -> list[RawDef]:
        """Every function, method, class/type and test case in the file (any order)."""
        ...

    def docstring(self, raw: RawDef) -> tuple[str, Node | None]:
        """The cleaned docstring/JSDoc and the node it comes from (None when absent)."""
        ...

    def signature(self, raw: RawDef, src: bytes) -> str:
        """The header of the definition on one line, without decorators or body."""
        ...

    def params(self, raw: RawDef, is_method: bool) -> tuple[Param, ...]:
        """Parameters and their annotations (``self``/``cls``/``this`` left out)."""
        ...

    def returns(self, raw: RawDef) -> str | None:
        """The return annotation, if any."""
        ...

    def decorators(self, raw: RawDef) -> tuple[str, ...]:
        """Decorator expressions, without ``@``."""
        ...

    def bases(self, raw: RawDef) -> tuple[str, ...]:
        """Base classes and extended/implemented types of a class."""
        ...

    def is_stub(self, raw: RawDef) -> bool:
        """True when the body is a placeholder still to be written."""
        ...

    def own_statements(self, raw: RawDef) -> list[Node]:
        """The statements of the definition's body (class: its members), docstring excluded."""
        ...

    def module_statements(self, root: Node) -> list[Node]:
        """Top-level statements, module docstring and comments excluded."""
        ...

    def module_docstring(self, root: Node) -> str:
        """The file's own docstring (Python) or leading JSDoc/comment block (TS/JS)."""
        ...

    def is_definition(self, node: Node) -> bool:
        """True for a statement that is itself a definition (it becomes its own unit)."""
        ...

    def is_import(self, node: Node) -> bool:
        """True for an import statement."""
        ...

    def blocks(self, node: Node) -> list[list[Node]]:
        """The nested statement lists of a compound statement (empty for a simple one)."""
        ...

    def decision_points(self, root: Node) -> list[int]:
        """Byte positions of every decision point, sorted; see complexity rules per language."""
        ...

    def references(self, root: Node) -> References:
        """Calls, type names, reads, bindings and mutations with their positions."""
        ...

    def imports(self, root: Node) -> list[tuple[int, ImportRef]]:
        """Every import with its position (scope is filled by the driver)."""
        ...

    def is_test_file(self, path: str) -> bool:
        """True for a test file by the language's naming conventions."""
        ...

    def is_test_definition(self, raw: RawDef, parents: tuple[RawDef, ...]) -> bool:
        """True for a test function/case in a test file."""
        ...
