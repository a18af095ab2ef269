"""The ContextInjector: what the generator is told about an atom, and how complete that is.

For each atom it gathers the types and schemas it uses (outlines: fields and method signatures,
no method bodies), the signatures of everything it depends on, its pre/postconditions and the
source of its tests, and scores the pack from 0 to 1 against these checks (weights in
:data:`CHECK_WEIGHTS`; a check that does not apply to the atom's kind is left out of the score):

* **spec** — the docstring/JSDoc says what the body must do (functions, methods, classes);
* **typed signature** — every parameter and the return value are annotated, with partial
  credit (functions, methods);
* **types resolved** — every type the signature names is defined in the project, imported or
  built in (all kinds);
* **dependencies** — every dependency's signature is known (all kinds);
* **postconditions** — at least one ``Post:``/``Ensures:`` (functions, methods);
* **preconditions** — at least one ``Pre:``/``Requires:`` (functions and methods that take
  parameters);
* **tests** — at least one test calls it and its source is at hand (functions, methods,
  classes).

``missing`` names each failed check so the planner or a person can fill the gap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mge.atomization.atomize import Atomization
from mge.atomization.batch import collector_paused
from mge.atomization.contracts import parse_contract
from mge.atomization.linking import JS_GLOBALS, PYTHON_BUILTINS, Target
from mge.atomization.python_rules import type_names
from mge.atomization.syntax import Definition, ParsedFile
from mge.models.atoms import AtomicUnit, ContextPack

CONTEXT_TARGET = 0.95
"""Completeness an atom's context should reach before generation (the examples reach it)."""
MAX_TYPE_CHARS = 4000
"""Longest type outline put in a context pack; longer ones are cut with a marker."""

CHECK_WEIGHTS: dict[str, float] = {
    "spec": 0.20,
    "typed signature": 0.15,
    "types resolved": 0.15,
    "dependencies": 0.15,
    "postconditions": 0.10,
    "preconditions": 0.05,
    "tests": 0.20,
}

_CALLABLE_KINDS = frozenset({"function", "method"})
_SPEC_KINDS = frozenset({"function", "method", "class"})
_TYPING_NAMES = frozenset(
    [
        "Any",
        "Optional",
        "Union",
        "List",
        "Dict",
        "Set",
        "FrozenSet",
        "Tuple",
        "Callable",
        "Iterable",
        "Iterator",
        "Sequence",
        "Mapping",
        "MutableMapping",
        "MutableSequence",
        "Literal",
        "Final",
        "ClassVar",
        "Annotated",
        "TypeVar",
        "Generic",
        "Protocol",
        "Awaitable",
        "Coroutine",
        "AsyncIterator",
        "AsyncIterable",
        "Generator",
        "AsyncGenerator",
        "Self",
        "Never",
        "NoReturn",
        "TypedDict",
        "NamedTuple",
        "Type",
        "Collection",
        "Container",
        "Hashable",
        "Sized",
        "Reversible",
        "Counter",
        "Deque",
        "DefaultDict",
        "OrderedDict",
        "ChainMap",
        "Pattern",
        "Match",
        "IO",
        "TextIO",
        "BinaryIO",
        "None",
        "string",
        "number",
        "boolean",
        "void",
        "any",
        "unknown",
        "never",
        "object",
        "undefined",
        "null",
        "bigint",
        "symbol",
    ]
)


def _builtin_type(name: str, language: str) -> bool:
    head = name.split(".")[0]
    if head in _TYPING_NAMES:
        return True
    if language == "python":
        return head in PYTHON_BUILTINS
    return head in JS_GLOBALS


_LITERAL = re.compile(r"Literal\[[^\]]*\]")
_KEYWORD = re.compile(r"\b[A-Za-z_]\w*\s*=(?!=)")
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
_LABEL = re.compile(r"[A-Za-z_$][\w$]*\??\s*:")


def annotation_names(text: str, language: str) -> list[str]:
    """Type names in an annotation (Python forward references included; TS literals and
    function-type parameter names left out)."""
    text = _LITERAL.sub("Literal", text)
    text = _KEYWORD.sub(" ", text)  # keyword arguments: Query(ge=1)
    if language != "python":
        text = _STRING.sub(" ", text)
        text = _LABEL.sub(" ", text)
    return type_names(text)


def type_outline(pf: ParsedFile, d: Definition) -> str:
    """A type's source with method bodies left out (signatures and ``...`` only)."""
    lines = pf.source.splitlines()
    body_lines = list(range(d.start_line, d.end_line + 1))
    keep = dict.fromkeys(body_lines, True)
    placeholders: dict[int, str] = {}
    for child in pf.definitions:
        if child.parent != d.qualname or child.kind not in _CALLABLE_KINDS:
            continue
        first_body = _signature_end(lines, child)
        for n in range(first_body + 1, child.end_line + 1):
            keep[n] = False
        indent = _indent(lines[first_body - 1]) + ("    " if pf.language == "python" else "  ")
        placeholders[first_body] = indent + ("..." if pf.language == "python" else "/* … */ }")
    out: list[str] = []
    for n in body_lines:
        if keep.get(n):
            out.append(lines[n - 1] if n - 1 < len(lines) else "")
        if n in placeholders:
            out.append(placeholders[n])
    text = "\n".join(out)
    if len(text) > MAX_TYPE_CHARS:
        text = text[:MAX_TYPE_CHARS] + "\n# … (cut)"
    return text


def _signature_end(lines: list[str], d: Definition) -> int:
    """The line where a definition's header ends (``:`` in Python, ``{`` in TS/JS)."""
    for n in range(d.start_line, d.end_line + 1):
        text = lines[n - 1].rstrip() if n - 1 < len(lines) else ""
        if text.endswith((":", "{")) and not text.lstrip().startswith("@"):
            return n
    return d.start_line


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


class ContextInjector:
    """Builds each atom's :class:`ContextPack` from an :class:`Atomization`."""

    def __init__(self, atomization: Atomization, target: float = CONTEXT_TARGET) -> None:
        self.atomization = atomization
        self.target = target
        self.by_id = {a.id: a for a in atomization.atoms}
        self.atom_targets = {Target(a.file, a.qualname) for a in atomization.atoms}
        self._outlines: dict[Target, str] = {}
        self._described: dict[str | Target, str] = {}

    def pack(self, atom: AtomicUnit) -> ContextPack:
        """The context pack of one atom, with its completeness score and what is missing."""
        path_def = self.atomization.definitions.get(atom.id)
        d = path_def[1] if path_def else None
        types, unresolved_types = self._types(atom, d)
        deps, unknown_deps = self._dependencies(atom)
        tests = [
            self.atomization.test_sources[t]
            for t in atom.test_cases
            if t in self.atomization.test_sources
        ]
        scores: dict[str, float] = {}
        missing: list[str] = []
        callable_kind = atom.kind in _CALLABLE_KINDS
        if atom.kind in _SPEC_KINDS:
            scores["spec"] = 1.0 if atom.spec.strip() else 0.0
            if not atom.spec.strip():
                missing.append("spec: a docstring/JSDoc saying what the body must do")
        if callable_kind and d is not None:
            typed, untyped = _typed_fraction(d)
            scores["typed signature"] = typed
            missing.extend(untyped)
        scores["types resolved"] = 0.0 if unresolved_types else 1.0
        missing.extend(
            f"type `{n}`: not defined in the project nor imported" for n in unresolved_types
        )
        scores["dependencies"] = 0.0 if unknown_deps else 1.0
        missing.extend(f"dependency `{n}`: no signature known" for n in unknown_deps)
        if callable_kind:
            scores["postconditions"] = 1.0 if atom.postconditions else 0.0
            if not atom.postconditions:
                missing.append("postconditions: no `Post:`/`Ensures:` line")
            if d is not None and d.params:
                scores["preconditions"] = 1.0 if atom.preconditions else 0.0
                if not atom.preconditions:
                    missing.append("preconditions: no `Pre:`/`Requires:` line")
        if atom.kind in _SPEC_KINDS:
            scores["tests"] = 1.0 if tests else 0.0
            if not tests:
                missing.append("tests: no test calls it")
        total = sum(CHECK_WEIGHTS[k] for k in scores)
        got = sum(CHECK_WEIGHTS[k] * v for k, v in scores.items())
        completeness = round(got / total, 4) if total else 1.0
        # every field is computed above with its declared type; skip re-validation (hot path)
        return ContextPack.model_construct(
            types=types,
            dependency_signatures=deps,
            preconditions=list(atom.preconditions),
            postconditions=list(atom.postconditions),
            tests=tests,
            completeness=completeness,
            missing=missing,
        )

    def inject(self, atoms: Iterable[AtomicUnit] | None = None) -> list[AtomicUnit]:
        """Copies of the atoms with their context packs attached."""
        chosen = self.atomization.atoms if atoms is None else list(atoms)
        with collector_paused():
            return [a.model_copy(update={"context": self.pack(a)}) for a in chosen]

    # -- parts ------------------------------------------------------------------------------

    def _types(self, atom: AtomicUnit, d: Definition | None) -> tuple[list[str], list[str]]:
        """Outlines of the project types the atom uses, and the type names nothing defines."""
        table = self.atomization.table
        refs = self.atomization.references.get(atom.id, {})
        outlines: list[str] = []
        for target, kind in refs.items():
            td = table.definition(target)
            if kind == "type" and td is not None and td.kind == "class":
                if target not in self._outlines:
                    outline = type_outline(table.files[target.file], td)
                    self._outlines[target] = f"# {target.file}\n{outline}"
                outlines.append(self._outlines[target])
        unresolved: list[str] = []
        if d is not None:
            path = atom.file
            imported = table.module_imports.get(path, {})
            names = [p.annotation for p in d.params if p.annotation] + (
                [d.returns] if d.returns else []
            )
            for text in names:
                for name in annotation_names(text, atom.language):
                    head = name.split(".")[0]
                    if _builtin_type(name, atom.language) or head in imported:
                        continue
                    if table.lookup(path, d, name) is None:
                        unresolved.append(name)
        return outlines, sorted(set(unresolved))

    def _dependencies(self, atom: AtomicUnit) -> tuple[list[str], list[str]]:
        """Signatures of the dependencies (atoms, and project definitions that are not atoms)."""
        table = self.atomization.table
        sigs: list[str] = []
        unknown: list[str] = []
        described = self._described  # one shared string per dependency, however many users
        for dep in atom.dependencies:
            text = described.get(dep)
            if text is None:
                other = self.by_id.get(dep)
                if other is None:
                    unknown.append(dep)
                    continue
                text = _describe(other.file, other.qualname, other.signature, other.spec, other)
                described[dep] = text
            sigs.append(text)
        for target, kind in self.atomization.references.get(atom.id, {}).items():
            if kind == "type" or target in self.atom_targets:
                continue
            text = described.get(target)
            if text is None:
                td = table.definition(target)
                if td is None or td.kind not in _CALLABLE_KINDS:
                    continue
                text = _describe(target.file, td.qualname, td.signature, td.docstring, None)
                described[target] = text
            sigs.append(text)
        return sigs, unknown


def _describe(file: str, qualname: str, signature: str, spec: str, atom: AtomicUnit | None) -> str:
    if not signature:
        span = atom.span if atom is not None else None
        where = f" (lines {span.start_line}-{span.end_line})" if span else ""
        return f"{file}: {qualname}{where}"
    summary = parse_contract(spec).summary if spec else ""
    return f"{file}: {signature}" + (f"  # {summary}" if summary else "")


def _typed_fraction(d: Definition) -> tuple[float, list[str]]:
    """Share of parameters (and the return) that are annotated, and what is not."""
    slots = [(f"parameter `{p.name}`", p.annotation) for p in d.params]
    if d.returns_required:
        slots.append(("return type", d.returns))
    if not slots:
        return 1.0, []
    untyped = [f"typed signature: {what} has no type" for what, ann in slots if not ann]
    return (len(slots) - len(untyped)) / len(slots), untyped
