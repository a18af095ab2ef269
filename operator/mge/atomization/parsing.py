"""Parse one source file into definitions: the one parsing interface for every language.

:func:`parse_file` runs tree-sitter, asks the language's :class:`~mge.atomization.rules.
LanguageRules` for the definitions, decision points and references, and then does the same
work for every language:

* nests definitions by extent and names them (``Class.method``, ``outer.<locals>.inner``);
* counts each definition's own lines of code and decision points, leaving out nested
  definitions (they are units of their own, as radon counts closures);
* packs module-level statements into ``module`` groups and, when ``split`` is on, splits bodies
  over the limits into ``statements`` groups (:mod:`mge.atomization.packing`);
* attributes every call, type name, read and binding to the innermost unit holding it.

The tree is dropped before returning, so a caller can parse a large codebase file by file and
keep only the plain :class:`~mge.atomization.syntax.ParsedFile` results.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate

from tree_sitter import Node, QueryCursor

from mge.atomization.ecmascript_rules import EcmaScriptRules
from mge.atomization.languages import (
    GRAMMAR_LANGUAGE,
    Grammar,
    LanguageName,
    compiled_query,
    grammar_for,
    parse_tree,
)
from mge.atomization.packing import Group, Limits, Stmt, pack, split_body
from mge.atomization.python_rules import PythonRules
from mge.atomization.rules import LanguageRules, RawDef, References
from mge.atomization.syntax import (
    CallRef,
    Definition,
    ImportRef,
    Param,
    ParsedFile,
    SyntaxIssue,
)
from mge.models.atoms import AtomKind

MAX_SYNTAX_ISSUES = 20
"""Syntax errors reported per file; later ones are usually consequences of the first."""
MODULE_SCOPE = "<module>"
"""Qualified-name prefix of module-level statement groups."""

ERRORS_QUERY = "(ERROR) @error (MISSING) @missing"


@cache
def rules_for(grammar: Grammar) -> LanguageRules:
    """The syntax rules of a grammar (one instance per process)."""
    if grammar == "python":
        return PythonRules()
    return EcmaScriptRules(grammar)


_MUTATING_METHODS = frozenset(
    {
        "append", "extend", "insert", "remove", "pop", "clear", "update", "setdefault", "add",
        "discard", "popitem", "sort", "reverse", "push", "shift", "unshift", "splice", "set",
        "delete", "fill",
    }
)  # fmt: skip
"""Method names that change their receiver in place (Python and JS containers)."""


@dataclass(slots=True, eq=False)
class _Unit:
    """A definition or statement group while the file is being processed."""

    qualname: str
    name: str
    kind: AtomKind
    start: int
    end: int
    start_line: int
    end_line: int
    parent: _Unit | None
    scope: str | None
    raw: RawDef | None = None
    children: list[_Unit] = field(default_factory=list)
    loc: int = 0
    decisions: int = 0
    is_test: bool = False
    calls: list[CallRef] = field(default_factory=list)
    types: set[str] = field(default_factory=set)
    reads: set[str] = field(default_factory=set)
    binds: set[str] = field(default_factory=set)
    mutates: set[str] = field(default_factory=set)
    assigns_outer: set[str] = field(default_factory=set)


class _FileParser:
    """Turns one tree into definitions (see the module docstring)."""

    def __init__(
        self, path: str, source: str, src: bytes, root: Node, rules: LanguageRules, limits: Limits
    ) -> None:
        self.path = path
        self.source = source
        self.src = src
        self.root = root
        self.rules = rules
        self.limits = limits
        self.dps = rules.decision_points(root)
        comments = rules.comment_prefixes
        is_code = [
            (s := line.lstrip()) != "" and not s.startswith(comments) for line in source.split("\n")
        ]
        self.code_prefix = list(accumulate(is_code, initial=0))
        self.units: list[_Unit] = []
        self.top: list[_Unit] = []
        self.outer_needs_undeclared = False

    # -- counting ---------------------------------------------------------------------------

    def code_lines(self, first: int, last: int) -> int:
        """Lines of code among 1-based lines ``first..last``."""
        if last < first:
            return 0
        last = min(last, len(self.code_prefix) - 1)
        return self.code_prefix[last] - self.code_prefix[first - 1]

    def decisions_in(self, start: int, end: int) -> int:
        """Decision points in the byte range ``[start, end)``."""
        return bisect_left(self.dps, end) - bisect_left(self.dps, start)

    def _nested(self, children: Sequence[_Unit], start: int, end: int) -> tuple[int, int]:
        """Code lines and decision points of the child units inside ``[start, end)``."""
        loc = dec = 0
        for c in children:
            if c.start >= start and c.end <= end:
                loc += self.code_lines(c.start_line, c.end_line)
                dec += self.decisions_in(c.start, c.end)
        return loc, dec

    # -- definitions ------------------------------------------------------------------------

    def collect_definitions(self, split: bool) -> None:
        raws = sorted(
            self.rules.definitions(self.root),
            key=lambda r: (r.outer.start_byte, -r.outer.end_byte),
        )
        test_file = self.rules.is_test_file(self.path)
        stack: list[tuple[_Unit, RawDef]] = []
        seen: dict[str, int] = {}
        for raw in raws:
            while stack and stack[-1][0].end <= raw.outer.start_byte:
                stack.pop()
            parent = stack[-1][0] if stack else None
            parent_raws = tuple(r for _, r in stack)
            unit = self._unit_for(raw, parent, seen)
            unit.is_test = raw.kind == "test" or (
                test_file and self.rules.is_test_definition(raw, parent_raws)
            )
            (parent.children if parent else self.top).append(unit)
            self.units.append(unit)
            stack.append((unit, raw))
        for unit in list(self.units):
            self._measure(unit, split)

    def _unit_for(self, raw: RawDef, parent: _Unit | None, seen: dict[str, int]) -> _Unit:
        if raw.kind == "test":
            qualname = " > ".join((*raw.label_scope, raw.name))
            kind: AtomKind = "function"
        elif parent is None:
            qualname = raw.name
            kind = "function" if raw.kind == "function" else "class"
        elif parent.kind == "class":
            qualname = f"{parent.qualname}.{raw.name}"
            kind = "method" if raw.kind == "function" else "class"
        else:
            qualname = f"{parent.qualname}.<locals>.{raw.name}"
            kind = "function" if raw.kind == "function" else "class"
        n = seen.get(qualname, 0) + 1
        seen[qualname] = n
        if n > 1:
            qualname = f"{qualname}~{n}"
        scope = qualname if kind in ("function", "method") else (parent.scope if parent else None)
        return _Unit(
            qualname=qualname,
            name=raw.name,
            kind=kind,
            start=raw.outer.start_byte,
            end=raw.outer.end_byte,
            start_line=raw.outer.start_point[0] + 1,
            end_line=raw.outer.end_point[0] + 1,
            parent=parent,
            scope=scope,
            raw=raw,
        )

    def _measure(self, unit: _Unit, split: bool) -> None:
        """Own lines and decision points of a definition; split it when asked and too big."""
        assert unit.raw is not None
        stmts = self.rules.own_statements(unit.raw)
        header = self._header_decisions(unit, stmts[0].start_byte if stmts else unit.end)
        if not stmts:
            unit.loc, unit.decisions = 0, header
            return
        first, last = stmts[0], stmts[-1]
        start_line, end_line = first.start_point[0] + 1, last.end_point[0] + 1
        nested_loc, nested_dec = self._nested(unit.children, first.start_byte, last.end_byte)
        unit.loc = self.code_lines(start_line, end_line) - nested_loc
        unit.decisions = self.decisions_in(first.start_byte, last.end_byte) - nested_dec + header
        if unit.raw.kind == "test":
            return
        if split and not self.limits.fits(unit.loc, 1 + unit.decisions):
            outline = self.outline(stmts, unit.children)
            result = split_body(outline, self.limits, unit.loc, unit.decisions)
            if result is not None:
                groups, unit.loc, unit.decisions = result
                scope = unit.scope if unit.kind in ("function", "method") else None
                self._add_groups(groups, unit, unit.qualname, "statements", scope)

    def _header_decisions(self, unit: _Unit, body_start: int) -> int:
        """Decision points before the body (when the language counts them), less those of
        definitions nested there (an arrow function as a parameter default counts for itself).
        They stay with the definition when its body is split into groups."""
        if not self.rules.header_decisions or body_start <= unit.start:
            return 0
        _, nested_dec = self._nested(unit.children, unit.start, body_start)
        return self.decisions_in(unit.start, body_start) - nested_dec

    # -- statement outlines and groups ------------------------------------------------------

    def outline(self, nodes: Sequence[Node], children: Sequence[_Unit]) -> list[Stmt]:
        """Statements as packing sees them; nested definitions become barriers."""
        out: list[Stmt] = []
        last_line = 0
        starts = [c.start for c in children]
        for node in nodes:
            if self.rules.is_definition(node):
                out.append(Stmt(node.start_byte, node.end_byte, 0, 0, 0, 0, barrier=True))
                last_line = node.end_point[0] + 1
                continue
            first_line, end_line = node.start_point[0] + 1, node.end_point[0] + 1
            lo = bisect_left(starts, node.start_byte)
            hi = bisect_right(starts, node.end_byte)
            inside = children[lo:hi]
            nested_loc, nested_dec = self._nested(inside, node.start_byte, node.end_byte)
            count_from = first_line + 1 if first_line == last_line else first_line
            loc = self.code_lines(count_from, end_line) - nested_loc
            dec = self.decisions_in(node.start_byte, node.end_byte) - nested_dec
            blocks: tuple[tuple[Stmt, ...], ...] = ()
            if not self.limits.fits(loc, 1 + dec):
                blocks = tuple(
                    tuple(self.outline(block, inside)) for block in self.rules.blocks(node)
                )
            out.append(
                Stmt(
                    node.start_byte,
                    node.end_byte,
                    first_line,
                    end_line,
                    max(loc, 0),
                    max(dec, 0),
                    blocks,
                    is_import=self.rules.is_import(node),
                )
            )
            last_line = end_line
        return out

    def _add_groups(
        self,
        groups: Sequence[Group],
        parent: _Unit | None,
        prefix: str,
        kind: AtomKind,
        scope: str | None,
        nested: bool = False,
    ) -> None:
        """Units for packed groups: ``prefix#i`` under a definition, ``prefix.i`` under a group.

        Groups of module-level statements stay kind ``module`` however deep they nest.
        """
        for i, g in enumerate(groups, 1):
            qualname = f"{prefix}.{i}" if nested else f"{prefix}#{i}"
            unit = _Unit(
                qualname=qualname,
                name=qualname.rsplit(".", 1)[-1] if nested else qualname.rsplit("#", 1)[-1],
                kind=kind,
                start=g.start_byte,
                end=g.end_byte,
                start_line=g.start_line,
                end_line=g.end_line,
                parent=parent,
                scope=scope,
                loc=g.own_loc,
                decisions=g.own_decisions,
            )
            self.units.append(unit)
            if g.children:
                self._add_groups(g.children, unit, qualname, kind, scope, nested=True)

    def collect_module_groups(self) -> None:
        """Module-level statements packed into ``<module>#n`` groups."""
        stmts = self.rules.module_statements(self.root)
        if not stmts:
            return
        top = sorted(self.top, key=lambda u: u.start)
        outline = self.outline(stmts, top)
        groups = pack(outline, self.limits, nest=False)
        self._add_groups(groups, None, MODULE_SCOPE, "module", None)

    # -- attribution ------------------------------------------------------------------------

    def attribute(self, refs: References, imports: list[tuple[int, ImportRef]]) -> list[ImportRef]:
        """Give each reference to the innermost unit that holds it."""
        self.outer_needs_undeclared = refs.outer_needs_undeclared
        units = sorted(self.units, key=lambda u: (u.start, -u.end))
        starts = [u.start for u in units]
        ends = [u.end for u in units]
        parent_of: list[int] = []
        stack: list[int] = []
        for i, u in enumerate(units):
            while stack and ends[stack[-1]] <= u.start:
                stack.pop()
            parent_of.append(stack[-1] if stack else -1)
            stack.append(i)

        def holder(pos: int) -> _Unit | None:
            i = bisect_right(starts, pos) - 1
            while i >= 0 and ends[i] <= pos:
                i = parent_of[i]
            return units[i] if i >= 0 else None

        for pos, call in refs.calls:
            if (owner := holder(pos)) is not None:
                owner.calls.append(call)
                if call.receiver and call.name in _MUTATING_METHODS:
                    owner.mutates.add(call.receiver)
        for attr, pairs in (
            ("types", refs.types),
            ("reads", refs.reads),
            ("binds", refs.binds),
            ("mutates", refs.mutates),
            ("assigns_outer", refs.assigns_outer),
        ):
            for pos, name in pairs:
                if (owner := holder(pos)) is not None:
                    getattr(owner, attr).add(name)
        scoped: list[ImportRef] = []
        for pos, imp in imports:
            owner = holder(pos)
            scope = owner.scope if owner is not None else None
            if scope is not None:
                imp = ImportRef(
                    imp.alias, imp.module, imp.name, imp.line, imp.level, scope, imp.type_only
                )
            scoped.append(imp)
        return scoped

    # -- output -----------------------------------------------------------------------------

    def release(self) -> None:
        """Break the parent/child cycles (which also hold tree nodes, hence the whole tree), so
        reference counting frees them even while the cyclic collector is paused."""
        for u in self.units:
            u.parent = None
            u.children = []
            u.raw = None
        self.units = []
        self.top = []

    def definition(self, unit: _Unit) -> Definition:
        raw = unit.raw
        rules = self.rules
        doc = ""
        signature = ""
        params: tuple[Param, ...] = ()
        returns = None
        decorators: tuple[str, ...] = ()
        bases: tuple[str, ...] = ()
        is_stub = False
        if raw is not None:
            doc, _ = rules.docstring(raw)
            if raw.kind != "test":
                signature = rules.signature(raw, self.src)
                params = rules.params(raw, unit.kind == "method")
                returns = rules.returns(raw)
                decorators = rules.decorators(raw)
                bases = rules.bases(raw)
                is_stub = rules.is_stub(raw)
        own_binds = unit.binds
        reads = unit.reads - own_binds
        outer = (
            unit.assigns_outer - own_binds if self.outer_needs_undeclared else unit.assigns_outer
        )
        return Definition(
            qualname=unit.qualname,
            name=unit.name,
            kind=unit.kind,
            start_line=unit.start_line,
            end_line=unit.end_line,
            signature=signature,
            params=params,
            returns=returns,
            returns_required=unit.name not in ("__init__", "constructor"),
            docstring=doc,
            parent=unit.parent.qualname if unit.parent else None,
            scope=unit.scope,
            is_stub=is_stub,
            is_test=unit.is_test,
            loc=max(unit.loc, 0),
            complexity=1 + max(unit.decisions, 0),
            calls=tuple(unit.calls),
            type_refs=tuple(sorted(unit.types)),
            reads=tuple(sorted(reads)),
            binds=tuple(sorted(own_binds)),
            mutates=tuple(sorted(unit.mutates)),
            assigns_outer=tuple(sorted(outer)),
            decorators=decorators,
            bases=bases,
        )


def parse_file(
    path: str,
    source: str,
    language: LanguageName | None = None,
    *,
    limits: Limits | None = None,
    split: bool = False,
) -> ParsedFile:
    """Parse one file: definitions with spans, signatures, docstrings, calls, type names,
    imports, size and complexity, and syntax errors with line and column.

    ``language`` is needed only when the suffix does not tell. ``limits`` bound the module-level
    statement groups and, with ``split=True``, every body: oversized bodies are split into
    statement groups (:mod:`mge.atomization.packing`). A file with syntax errors still yields
    the definitions tree-sitter could recover, plus the errors.
    """
    grammar = grammar_for(path, language)
    rules = rules_for(grammar)
    src = source.encode("utf-8")
    root = parse_tree(grammar, src).root_node
    limits = limits or Limits()
    fp = _FileParser(path, source, src, root, rules, limits)
    fp.collect_definitions(split)
    fp.collect_module_groups()
    imports = fp.attribute(rules.references(root), rules.imports(root))
    units = sorted(fp.units, key=lambda u: (u.start, -u.end))
    parsed = ParsedFile(
        path=path,
        language=GRAMMAR_LANGUAGE[grammar],
        grammar=grammar,
        definitions=tuple(fp.definition(u) for u in units),
        imports=tuple(imports),
        errors=syntax_issues(path, grammar, root),
        docstring=rules.module_docstring(root),
        is_test_file=rules.is_test_file(path),
        source=source,
    )
    fp.release()
    return parsed


def syntax_issues(path: str, grammar: Grammar, root: Node) -> tuple[SyntaxIssue, ...]:
    """Syntax errors of a tree, outermost first, each with 1-based line and column."""
    if not root.has_error:
        return ()
    caps = QueryCursor(compiled_query(grammar, ERRORS_QUERY)).captures(root)
    found: list[tuple[int, int, Node, bool]] = []
    for node in caps.get("error", []):
        found.append((node.start_byte, -node.end_byte, node, False))
    for node in caps.get("missing", []):
        found.append((node.start_byte, -node.end_byte, node, True))
    found.sort(key=lambda t: (t[0], t[1]))
    issues: list[SyntaxIssue] = []
    covered_until = -1
    for start, _neg_end, node, missing in found:
        if not missing and start < covered_until:
            continue
        row, col = node.start_point
        if missing:
            message = f"missing {node.type!r}"
        else:
            covered_until = node.end_byte
            snippet = (node.text or b"").decode("utf-8", "replace").strip().split("\n")[0][:40]
            message = f"syntax error near {snippet!r}" if snippet else "syntax error"
        issues.append(SyntaxIssue(path, row + 1, col + 1, message))
        if len(issues) >= MAX_SYNTAX_ISSUES:
            break
    return tuple(issues)
