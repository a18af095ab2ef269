"""Parsed files → AtomicUnits and typed dependency Edges (pure; no I/O).

Two modes share everything but the choice of atoms:

``existing``  every definition of a non-test file is an atom — functions, methods, classes, the
              module-level statement groups and the statement groups split out of long bodies —
              with its measured lines of code and complexity;
``skeleton``  only bodies still to be written (stubs) are atoms; their size is estimated from the
              docstring contract (:func:`~mge.atomization.contracts.estimate_stub`); classes,
              types, constants and implemented helpers of the skeleton are context.

Tests are never atoms: a test function (``test_*``, ``it(…)``) becomes a *test case* of every atom
it exercises (:mod:`mge.atomization.testmap`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from mge.atomization.contracts import Contract, estimate_stub, parse_contract
from mge.atomization.linking import (
    Resolution,
    SymbolTable,
    Target,
    import_group_targets,
    module_imports,
    resolve_definition,
    split_parts,
)
from mge.atomization.syntax import Definition, ParsedFile, SyntaxIssue
from mge.atomization.testmap import TestMap
from mge.models.atoms import AtomicUnit, Edge, EdgeKind, Span, atom_id

Mode = Literal["existing", "skeleton"]


_MENTION = re.compile(
    r"`([A-Za-z_$][\w$.]*)(?:\(\))?`|\b([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\("
)


@dataclass(frozen=True)
class Atomization:
    """Atoms, edges and the facts behind them, for the context injector, validator and graph."""

    files: Mapping[str, str]
    """The sources atomized (for a refined skeleton: the sources after splitting)."""
    parsed: Mapping[str, ParsedFile]
    atoms: list[AtomicUnit]
    edges: list[Edge]
    definitions: Mapping[str, tuple[str, Definition]] = field(repr=False)
    """Atom id → (file, definition)."""
    references: Mapping[str, Mapping[Target, EdgeKind]] = field(repr=False)
    """Atom id → every project definition it refers to (atoms or not) and the edge kind."""
    unresolved: Mapping[str, list[str]] = field(repr=False)
    """Atom id → names it calls or declares to use that nothing defines."""
    test_sources: Mapping[str, str] = field(repr=False)
    """Test case name → its source."""
    module_imports: Mapping[str, list[str]] = field(repr=False)
    """File → project files it imports at module level (runtime imports only)."""
    table: SymbolTable = field(repr=False)
    """The name index the references were resolved with (the context injector reuses it)."""

    @property
    def errors(self) -> list[SyntaxIssue]:
        """Syntax errors of every file."""
        return [e for pf in self.parsed.values() for e in pf.errors]

    def atom(self, atom_id_: str) -> AtomicUnit | None:
        """The atom with this id, if any."""
        for a in self.atoms:
            if a.id == atom_id_:
                return a
        return None


def test_case_name(path: str, d: Definition, language: str) -> str:
    """pytest-style node id for Python (``file::Class::test``), ``file::suite > case`` else."""
    if language == "python":
        return f"{path}::{d.qualname.replace('.', '::')}"
    return f"{path}::{d.qualname}"


def _mentions(contract: Contract, docstring: str) -> list[str]:
    """Names a stub's docstring says it uses: ``Uses:`` lines, then `backticked` and f() names."""
    names = list(contract.uses)
    for m in _MENTION.finditer(docstring):
        names.append(m.group(1) or m.group(2))
    return list(dict.fromkeys(names))


def _stub_resolution(
    table: SymbolTable, path: str, d: Definition, contract: Contract, res: Resolution
) -> None:
    """Dependencies a stub declares in its docstring (it has no body to read them from)."""
    declared = set(contract.uses)
    for name in _mentions(contract, d.docstring):
        found = table.lookup(path, d, name)
        if found is None and "." not in name:
            cls = table.enclosing_class(path, d)
            found = table.member(cls, name) if cls is not None else None
        if isinstance(found, Target) and found.qualname != d.qualname:
            target = table.definition(found)
            is_type = target is not None and target.kind == "class"
            res.add(found, "type" if is_type else "call")
        elif name in declared and found is None:
            res.unresolved.add(name)


def _is_atom(pf: ParsedFile, d: Definition, mode: Mode) -> bool:
    if pf.is_test_file or d.is_test:
        return False
    return d.is_stub if mode == "skeleton" else True


def atomize_parsed(
    parsed: Mapping[str, ParsedFile],
    *,
    mode: Mode = "existing",
    task_id: str | None = None,
    sources: Mapping[str, str] | None = None,
) -> Atomization:
    """Atoms and edges of a parsed codebase (see the module docstring for the two modes)."""
    table = SymbolTable(parsed)
    ids: dict[Target, str] = {}
    chosen: list[tuple[str, ParsedFile, Definition]] = []
    for path, pf in parsed.items():
        for d in pf.definitions:
            if _is_atom(pf, d, mode):
                ids[Target(path, d.qualname)] = atom_id(path, d.qualname)
                chosen.append((path, pf, d))
    testmap = TestMap(table, ids)

    tests_of: dict[Target, list[str]] = defaultdict(list)
    test_sources: dict[str, str] = {}
    for path, pf in parsed.items():
        for d in pf.definitions:
            if not d.is_test:
                continue
            name = test_case_name(path, d, pf.language)
            test_sources[name] = pf.lines(d.start_line, d.end_line)
            for target in testmap.targets(path, d):
                tests_of[target].append(name)

    parts = {path: split_parts(pf.definitions) for path, pf in parsed.items()}
    groups = (
        {path: import_group_targets(table, path) for path in parsed} if mode == "existing" else {}
    )
    atoms: list[AtomicUnit] = []
    edges: list[Edge] = []
    definitions: dict[str, tuple[str, Definition]] = {}
    references: dict[str, dict[Target, EdgeKind]] = {}
    unresolved: dict[str, list[str]] = {}
    for path, pf, d in chosen:
        aid = ids[Target(path, d.qualname)]
        res = resolve_definition(table, path, d)
        contract = parse_contract(d.docstring)
        if d.is_stub:
            _stub_resolution(table, path, d, contract, res)
        for part in parts[path].get(d.qualname, ()):
            res.add(Target(path, part), "call")
        for target in groups.get(path, {}).get(d.qualname, ()):
            res.add(target, "import")
        deps: dict[str, EdgeKind] = {}
        for target, kind in res.targets.items():
            dst = ids.get(target)
            if dst is not None and dst != aid:
                deps[dst] = kind
        # ids and kinds come from this module: construct without re-validating (hot at 100k)
        edges.extend(
            Edge.model_construct(src=aid, dst=dst, kind=kind) for dst, kind in deps.items()
        )
        if d.is_stub:
            loc, complexity = estimate_stub(contract)
        else:
            loc, complexity = d.loc, d.complexity
        parent_id = ids.get(Target(path, d.parent)) if d.parent else None
        atoms.append(
            AtomicUnit(
                id=aid,
                task_id=task_id,
                file=path,
                language=pf.language,
                kind=d.kind,
                qualname=d.qualname,
                signature=d.signature,
                spec=d.docstring,
                preconditions=list(contract.preconditions),
                postconditions=list(contract.postconditions),
                test_cases=sorted(set(tests_of.get(Target(path, d.qualname), ()))),
                estimated_loc=loc,
                complexity=complexity,
                dependencies=sorted(deps),
                span=Span(start_line=d.start_line, end_line=d.end_line),
                parent=parent_id,
            )
        )
        definitions[aid] = (path, d)
        references[aid] = dict(res.targets)
        if res.unresolved:
            unresolved[aid] = sorted(res.unresolved)
    return Atomization(
        files=dict(sources) if sources is not None else {p: pf.source for p, pf in parsed.items()},
        parsed=parsed,
        atoms=atoms,
        edges=edges,
        definitions=definitions,
        references=references,
        unresolved=unresolved,
        test_sources=test_sources,
        module_imports=module_imports(table),
        table=table,
    )
