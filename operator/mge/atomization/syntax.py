"""What parsing a file yields, in plain language-neutral data (no tree-sitter objects).

A :class:`ParsedFile` lists the file's *definitions* — functions, methods, classes (and TS
interfaces, type aliases, enums), groups of module-level statements and, after decomposition,
groups of statements split out of a long body — each with its span, signature, docstring or
JSDoc, the calls it makes, the type names it uses, the plain names it reads and binds, and its
size and cyclomatic complexity. Imports and syntax errors (line and column) sit beside them.

These are frozen slotted dataclasses rather than pydantic models: a 100,000-atom codebase makes
millions of them, and they never cross a process boundary (AtomicUnit does that).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mge.atomization.languages import Grammar, LanguageName
from mge.models.atoms import AtomKind


@dataclass(frozen=True, slots=True)
class SyntaxIssue:
    """A syntax error: 1-based line and column and what the parser expected or could not read."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


@dataclass(frozen=True, slots=True)
class ImportRef:
    """One imported binding: ``alias`` names, in this file, ``name`` of ``module``.

    ``name`` is None when the module object itself is bound (``import a.b as c``,
    ``import * as ns from "./x"``). ``level`` is Python's count of leading dots; TS/JS keep the
    relative path (``./x``) in ``module`` with level 0.
    """

    alias: str
    module: str
    name: str | None
    line: int
    level: int = 0
    scope: str | None = None
    """Qualname of the definition holding a function-level import; None at module level."""
    type_only: bool = False
    """``if TYPE_CHECKING:`` imports and ``import type``: no runtime dependency."""


@dataclass(frozen=True, slots=True)
class CallRef:
    """A call: ``receiver.name(...)`` or ``name(...)``; ``new C()`` has ``constructor`` set.

    ``receiver`` is None for a plain call and ``"?"`` when it is an expression other than a
    (dotted) name, such as ``f().g()``.
    """

    name: str
    receiver: str | None
    line: int
    constructor: bool = False


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter and its annotation (None when untyped)."""

    name: str
    annotation: str | None


@dataclass(frozen=True, slots=True)
class Definition:
    """One definition or statement group of a file, with what it uses.

    ``kind`` is an AtomKind: function, method, class (also TS interface/type/enum), module (a
    group of module-level statements) or statements (a group split out of a longer body).
    """

    qualname: str
    name: str
    kind: AtomKind
    start_line: int
    end_line: int
    signature: str = ""
    params: tuple[Param, ...] = ()
    returns: str | None = None
    returns_required: bool = True
    """False for constructors, whose return type is implied."""
    docstring: str = ""
    parent: str | None = None
    """Qualname of the enclosing definition (class of a method, function of a group)."""
    scope: str | None = None
    """Qualname of the function whose local names this definition sees (itself for functions)."""
    is_stub: bool = False
    """The body is still to be written (``...``/``pass``/``throw new Error("TODO")``)."""
    is_test: bool = False
    loc: int = 0
    complexity: int = 1
    calls: tuple[CallRef, ...] = ()
    type_refs: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    """Plain names read (not attribute names, not names bound here)."""
    binds: tuple[str, ...] = ()
    """Names bound here: parameters, assignment targets, loop variables (not imports)."""
    mutates: tuple[str, ...] = ()
    """Names whose item or attribute is assigned here (``x[k] = v``, ``x.a = v``)."""
    assigns_outer: tuple[str, ...] = ()
    """Names declared ``global``/``nonlocal`` (Python) or assigned without a declaration (TS/JS)."""
    decorators: tuple[str, ...] = ()
    bases: tuple[str, ...] = ()
    """Base classes / extended and implemented types of a class."""


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """A parsed source file: its definitions in source order, imports and syntax errors."""

    path: str
    language: LanguageName
    grammar: Grammar
    definitions: tuple[Definition, ...]
    imports: tuple[ImportRef, ...]
    errors: tuple[SyntaxIssue, ...]
    docstring: str = ""
    is_test_file: bool = False
    source: str = field(default="", repr=False)

    def definition(self, qualname: str) -> Definition | None:
        """The definition with this qualified name, if any."""
        for d in self.definitions:
            if d.qualname == qualname:
                return d
        return None

    def lines(self, start_line: int, end_line: int) -> str:
        """Source text of 1-based inclusive lines."""
        return "\n".join(self.source.splitlines()[start_line - 1 : end_line])
