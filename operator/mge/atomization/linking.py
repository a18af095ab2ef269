"""Resolve names across a codebase: which definition does each call, type, read and import mean.

Pure: works on :class:`~mge.atomization.syntax.ParsedFile` values only. The result is, per
definition, the project definitions it refers to and *how* — the edge kinds of the dependency
graph:

``call``    it calls the target (``f()``, ``self.f()``, ``mod.f()``, ``C()`` → the constructor),
            or the target is one of its own statement groups / split parts;
``type``    it names the target in a type position (annotation, base class, ``implements``),
            or it is a method of the target class (the class declares the fields it uses);
``data``    it reads a value that a module-level statement group binds, or a local variable that
            an earlier statement group of the same function binds;
``import``  any other reference: the target is imported by a module-level import group, or
            named as a value (a decorator, a callback, ``isinstance(x, C)``).

Python modules are found by every dotted suffix of their path (``operator/mge/models/atoms.py``
answers to ``atoms``, ``models.atoms`` and ``mge.models.atoms``), so a package imports resolve
whatever folder the scan starts from; relative imports resolve from the file's folder. TS/JS
resolve relative specifiers with the usual extension and ``index`` probing; bare specifiers are
external packages. Names that resolve to nothing in the project are external (builtins, the
standard library, packages) unless they look local and are not: those are reported as
*unresolved* so the atomicity validator can flag them.
"""

from __future__ import annotations

import builtins
import posixpath
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from mge.atomization.syntax import CallRef, Definition, ImportRef, ParsedFile
from mge.models.atoms import EdgeKind

MAX_REEXPORT_DEPTH = 8
"""How many ``from x import y`` / ``export … from`` hops a name is followed through."""

SELF_NAMES = frozenset({"self", "cls", "this"})
CONSTRUCTORS = ("__init__", "constructor")
KIND_PRIORITY: dict[EdgeKind, int] = {"call": 4, "data": 3, "type": 2, "import": 1}
"""When one definition refers to another in several ways, the edge keeps the strongest kind."""

PYTHON_BUILTINS = frozenset(dir(builtins))
JS_GLOBALS = frozenset(
    [
        "console",
        "Math",
        "JSON",
        "Object",
        "Array",
        "String",
        "Number",
        "Boolean",
        "Promise",
        "Error",
        "TypeError",
        "RangeError",
        "SyntaxError",
        "ReferenceError",
        "Map",
        "Set",
        "WeakMap",
        "WeakSet",
        "Date",
        "RegExp",
        "Symbol",
        "BigInt",
        "Intl",
        "Reflect",
        "Proxy",
        "parseInt",
        "parseFloat",
        "isNaN",
        "isFinite",
        "setTimeout",
        "clearTimeout",
        "setInterval",
        "clearInterval",
        "queueMicrotask",
        "structuredClone",
        "encodeURIComponent",
        "decodeURIComponent",
        "encodeURI",
        "decodeURI",
        "require",
        "module",
        "exports",
        "process",
        "Buffer",
        "fetch",
        "globalThis",
        "window",
        "document",
        "undefined",
        "NaN",
        "Infinity",
        "describe",
        "it",
        "test",
        "expect",
        "beforeEach",
        "afterEach",
        "beforeAll",
        "afterAll",
        "jest",
        "vi",
        "suite",
        "Uint8Array",
        "ArrayBuffer",
        "DataView",
        "TextEncoder",
        "TextDecoder",
        "URL",
        "URLSearchParams",
        "AbortController",
        "Record",
        "Partial",
        "Required",
        "Readonly",
        "Pick",
        "Omit",
        "Exclude",
        "Extract",
        "NonNullable",
        "ReturnType",
        "Parameters",
        "InstanceType",
        "Awaited",
        "Iterable",
        "Iterator",
        "AsyncIterable",
        "Generator",
        "PromiseLike",
        "ArrayLike",
        "Function",
        "Unknown",
    ]
)

_PY_SUFFIX = ".py"
_ECMA_PROBE = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")


@dataclass(frozen=True, slots=True)
class Target:
    """A definition somewhere in the project: file and qualified name."""

    file: str
    qualname: str


@dataclass(slots=True)
class Resolution:
    """What one definition refers to in the project, and what it names that nothing defines."""

    targets: dict[Target, EdgeKind] = field(default_factory=dict)
    unresolved: set[str] = field(default_factory=set)

    def add(self, target: Target, kind: EdgeKind) -> None:
        old = self.targets.get(target)
        if old is None or KIND_PRIORITY[kind] > KIND_PRIORITY[old]:
            self.targets[target] = kind


def python_module_names(path: str) -> list[str]:
    """Every dotted suffix a Python file answers to (``a/b/c.py`` → c, b.c, a.b.c)."""
    p = PurePosixPath(path)
    parts = list(p.parts[:-1])
    if p.name != "__init__.py":
        parts.append(p.name.removesuffix(_PY_SUFFIX))
    parts = [x for x in parts if x not in ("", "/", ".")]
    return [".".join(parts[i:]) for i in range(len(parts) - 1, -1, -1)]


class SymbolTable:
    """Index of a parsed codebase for resolving names (built once, queried per definition)."""

    def __init__(self, files: Mapping[str, ParsedFile]) -> None:
        self.files = files
        self.modules: dict[str, list[str]] = defaultdict(list)
        self.ecma_paths: dict[str, str] = {}
        self.top: dict[str, dict[str, str]] = {}
        self.members: dict[str, dict[str, dict[str, str]]] = {}
        self.defs: dict[str, dict[str, Definition]] = {}
        self.module_imports: dict[str, dict[str, ImportRef]] = {}
        self.star_imports: dict[str, list[ImportRef]] = {}
        self.scoped_imports: dict[str, dict[str | None, dict[str, ImportRef]]] = {}
        self.locals: dict[str, dict[str, set[str]]] = {}
        self.binders: dict[str, dict[str, list[Definition]]] = {}
        self.group_binders: dict[str, dict[tuple[str, str], list[Definition]]] = {}
        self._module_cache: dict[tuple[str, str, int, bool], str | None] = {}
        for path, pf in files.items():
            self._index(path, pf)

    def _index(self, path: str, pf: ParsedFile) -> None:
        if pf.language == "python":
            for name in python_module_names(path):
                self.modules[name].append(path)
        else:
            self.ecma_paths[path] = path
        top: dict[str, str] = {}
        members: dict[str, dict[str, str]] = defaultdict(dict)
        defs: dict[str, Definition] = {}
        local_names: dict[str, set[str]] = defaultdict(set)
        binders: dict[str, list[Definition]] = defaultdict(list)
        group_binders: dict[tuple[str, str], list[Definition]] = defaultdict(list)
        for d in pf.definitions:
            if d.kind == "statements" and d.scope is not None:
                for name in d.binds:
                    group_binders[(d.scope, name)].append(d)
            defs[d.qualname] = d
            if d.kind == "module":
                for name in d.binds:
                    top.setdefault(name, d.qualname)
                    binders[name].append(d)
            elif d.parent is None and d.kind in ("function", "class") and not d.is_test:
                top[d.name] = d.qualname
            elif d.parent is not None and d.kind in ("method", "class", "function"):
                parent = defs.get(d.parent)
                if parent is not None and parent.kind == "class":
                    members[d.parent].setdefault(d.name, d.qualname)
            if d.scope is not None and d.kind in ("function", "method", "statements"):
                local_names[d.scope].update(d.binds)
                local_names[d.scope].update(p.name.lstrip("*.") for p in d.params)
        # a definition wins over a module-level binding of the same name
        for d in pf.definitions:
            if d.parent is None and d.kind in ("function", "class") and not d.is_test:
                top[d.name] = d.qualname
        imports: dict[str, ImportRef] = {}
        stars: list[ImportRef] = []
        scoped: dict[str | None, dict[str, ImportRef]] = defaultdict(dict)
        for imp in pf.imports:
            if imp.alias == "*":
                stars.append(imp)
            elif imp.scope is None:
                imports[imp.alias] = imp
            else:
                scoped[imp.scope][imp.alias] = imp
        # ``const { f } = require("./m")`` binds ``f`` too: the import says what it is
        for alias in imports:
            qual = top.get(alias)
            if qual is not None and defs[qual].kind == "module":
                del top[alias]
        self.top[path] = top
        self.members[path] = dict(members)
        self.defs[path] = defs
        self.module_imports[path] = imports
        self.star_imports[path] = stars
        self.scoped_imports[path] = dict(scoped)
        self.locals[path] = dict(local_names)
        self.binders[path] = dict(binders)
        self.group_binders[path] = dict(group_binders)

    # -- modules ----------------------------------------------------------------------------

    def module_file(self, importer: str, module: str, level: int) -> str | None:
        """The project file a module name means from ``importer``, or None (external)."""
        pf = self.files.get(importer)
        if pf is None:
            return None
        key = (posixpath.dirname(importer), module, level, pf.language == "python")
        if key in self._module_cache:
            return self._module_cache[key]
        if pf.language == "python":
            found = self._python_module(importer, module, level)
        else:
            found = self._ecma_module(importer, module)
        self._module_cache[key] = found
        return found

    def _python_module(self, importer: str, module: str, level: int) -> str | None:
        if level:
            base = PurePosixPath(importer).parent
            for _ in range(level - 1):
                base = base.parent
            rel = module.replace(".", "/") if module else ""
            stem = base / rel if rel else base
            for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
                if candidate in self.files:
                    return candidate
            return None
        candidates = self.modules.get(module)
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0]
        importer_parts = PurePosixPath(importer).parts
        return max(candidates, key=lambda c: _common_prefix(PurePosixPath(c).parts, importer_parts))

    def _ecma_module(self, importer: str, module: str) -> str | None:
        if not module.startswith("."):
            return None
        base = PurePosixPath(importer).parent / module
        norm = _normalise(str(base))
        stem = norm
        for ext in (".js", ".jsx", ".mjs", ".cjs"):
            if norm.endswith(ext):
                stem = norm[: -len(ext)]
        candidates = [
            norm,
            *(stem + e for e in _ECMA_PROBE),
            *(f"{norm}/index{e}" for e in _ECMA_PROBE),
        ]
        for c in candidates:
            if c in self.ecma_paths:
                return c
        return None

    # -- names ------------------------------------------------------------------------------

    def resolve_import(self, importer: str, imp: ImportRef, depth: int = 0) -> Target | str | None:
        """What an import binds: a definition, a module file (str) or None (external)."""
        module_file = self.module_file(importer, imp.module, imp.level)
        if imp.name is None:
            return module_file
        if module_file is None:
            if self.files[importer].language == "python" and imp.level:
                # ``from . import name`` where name is a submodule of the package
                sub = self._python_module(importer, imp.name, imp.level)
                return sub
            full = f"{imp.module}.{imp.name}" if imp.module else imp.name
            sub = self.module_file(importer, full, imp.level) if full else None
            return sub
        found = self.symbol(module_file, imp.name, depth + 1)
        if found is not None:
            return found
        if self.files[importer].language == "python":
            full = f"{imp.module}.{imp.name}" if imp.module else imp.name
            return self._python_module(importer, full, imp.level)
        return None

    def symbol(self, path: str, name: str, depth: int = 0) -> Target | str | None:
        """A module-level name of file ``path``, following re-exports and star imports."""
        if depth > MAX_REEXPORT_DEPTH or path not in self.top:
            return None
        qual = self.top[path].get(name)
        if qual is not None:
            return Target(path, qual)
        imp = self.module_imports[path].get(name)
        if imp is not None:
            return self.resolve_import(path, imp, depth)
        for star in self.star_imports[path]:
            module_file = self.module_file(path, star.module, star.level)
            if module_file is not None:
                found = self.symbol(module_file, name, depth + 1)
                if found is not None:
                    return found
        return None

    def lookup(self, path: str, d: Definition, name: str) -> Target | str | None:
        """What a plain or dotted name means inside definition ``d`` of file ``path``."""
        head, _, rest = name.partition(".")
        found = self._lookup_head(path, d, head)
        for part in rest.split(".") if rest else ():
            if found is None:
                return None
            found = self.symbol(found, part) if isinstance(found, str) else self.member(found, part)
        return found

    def _lookup_head(self, path: str, d: Definition, name: str) -> Target | str | None:
        scope = d.scope
        scoped = self.scoped_imports[path]
        defs = self.defs[path]
        while scope is not None:
            nested = f"{scope}.<locals>.{name}"
            if nested in defs:
                return Target(path, nested)
            imp = scoped.get(scope, {}).get(name)
            if imp is not None:
                return self.resolve_import(path, imp)
            if name in self.locals[path].get(scope, ()):
                return None
            owner = defs.get(scope)
            scope = _enclosing_function(defs, owner)
        return self.symbol(path, name)

    def known(self, path: str, d: Definition, name: str) -> bool:
        """True when ``name`` is bound anywhere visible from ``d``: a local or parameter of it or
        an enclosing function, an import at any level, or a module-level name."""
        scope = d.scope
        scoped = self.scoped_imports[path]
        defs = self.defs[path]
        while scope is not None:
            if name in scoped.get(scope, {}) or name in self.locals[path].get(scope, ()):
                return True
            if f"{scope}.<locals>.{name}" in defs:
                return True
            scope = _enclosing_function(defs, defs.get(scope))
        if name in self.top[path] or name in self.module_imports[path]:
            return True
        return bool(self.star_imports[path])

    def member(self, cls: Target, name: str, depth: int = 0) -> Target | None:
        """A member of a class, looked up through its project base classes too."""
        if depth > MAX_REEXPORT_DEPTH:
            return None
        members = self.members.get(cls.file, {}).get(cls.qualname, {})
        if name in members:
            return Target(cls.file, members[name])
        d = self.defs.get(cls.file, {}).get(cls.qualname)
        if d is None:
            return None
        for base in d.bases:
            found = self.lookup(cls.file, d, base)
            if isinstance(found, Target):
                hit = self.member(found, name, depth + 1)
                if hit is not None:
                    return hit
        return None

    def definition(self, target: Target) -> Definition | None:
        """The definition a target names."""
        return self.defs.get(target.file, {}).get(target.qualname)

    def enclosing_class(self, path: str, d: Definition) -> Target | None:
        """The class a method (or a part of one) belongs to."""
        defs = self.defs[path]
        cur: Definition | None = d
        while cur is not None and cur.parent is not None:
            parent = defs.get(cur.parent)
            if parent is not None and parent.kind == "class":
                return Target(path, parent.qualname)
            cur = parent
        return None


def _enclosing_function(defs: Mapping[str, Definition], d: Definition | None) -> str | None:
    cur = d
    while cur is not None and cur.parent is not None:
        parent = defs.get(cur.parent)
        if parent is None:
            return None
        if parent.kind in ("function", "method"):
            return parent.qualname
        cur = parent
    return None


def _common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _normalise(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == ".." and parts and parts[-1] != "..":
            parts.pop()
        else:
            parts.append(part)
    return ("/" if path.startswith("/") else "") + "/".join(parts)


# -- resolving one definition -------------------------------------------------------------------


def _call_target(table: SymbolTable, path: str, d: Definition, call: CallRef) -> Target | None:
    if call.receiver is None:
        found = table.lookup(path, d, call.name)
    elif call.receiver in SELF_NAMES:
        cls = table.enclosing_class(path, d)
        return table.member(cls, call.name) if cls is not None else None
    elif call.receiver == "?":
        return None
    else:
        owner = table.lookup(path, d, call.receiver)
        if owner is None:
            return None
        found = (
            table.symbol(owner, call.name)
            if isinstance(owner, str)
            else table.member(owner, call.name)
        )
    if not isinstance(found, Target):
        return None
    target_def = table.definition(found)
    if target_def is not None and target_def.kind == "class":
        for ctor in CONSTRUCTORS:
            hit = table.member(found, ctor)
            if hit is not None:
                return hit
    return found


def _looks_local(name: str, language: str) -> bool:
    known = PYTHON_BUILTINS if language == "python" else JS_GLOBALS
    return name not in known


def resolve_definition(table: SymbolTable, path: str, d: Definition) -> Resolution:
    """Everything definition ``d`` of file ``path`` refers to in the project, with edge kinds."""
    res = Resolution()
    pf = table.files[path]
    for call in d.calls:
        target = _call_target(table, path, d, call)
        if target is not None:
            res.add(target, "call")
        elif (
            call.receiver is None
            and _looks_local(call.name, pf.language)
            and not table.known(path, d, call.name)
        ):
            res.unresolved.add(call.name)
    for name in d.type_refs:
        found = table.lookup(path, d, name)
        if isinstance(found, Target) and found.qualname != d.qualname:
            res.add(found, "type")
    for name in d.bases:
        found = table.lookup(path, d, name)
        if isinstance(found, Target):
            res.add(found, "type")
    _resolve_reads(table, path, d, res)
    # A part referring to the definition it was split from (recursion, a class naming itself)
    # stays inside that unit, like direct recursion.
    defs = table.defs[path]
    cur: Definition | None = d
    while cur is not None:
        res.targets.pop(Target(path, cur.qualname), None)
        cur = defs.get(cur.parent) if cur.parent else None
    if d.kind == "method" or (d.kind == "class" and d.parent is not None):
        cls = table.enclosing_class(path, d)
        if cls is not None:
            res.add(cls, "type")
    return res


def _resolve_reads(table: SymbolTable, path: str, d: Definition, res: Resolution) -> None:
    defs = table.defs[path]
    scope_locals = table.locals[path].get(d.scope, set()) if d.scope else set()
    for name in d.reads:
        if d.kind == "statements" and name in scope_locals:
            binder = _previous_binder(table, path, d, name)
            if binder is not None:
                res.add(Target(path, binder), "data")
            continue
        found = table.lookup(path, d, name)
        if not isinstance(found, Target):
            continue
        target = defs.get(found.qualname) if found.file == path else table.definition(found)
        if target is None:
            continue
        if target.kind == "module":
            if found.file == path and d.kind == "module":
                binder = _previous_module_binder(table, path, d, name)
                if binder is not None:
                    res.add(Target(path, binder), "data")
                continue
            res.add(_last_binder(table, found, name), "data")
        else:
            res.add(found, "import")


def _last_binder(table: SymbolTable, found: Target, name: str) -> Target:
    binders = table.binders.get(found.file, {}).get(name)
    return Target(found.file, binders[-1].qualname) if binders else found


def _previous_module_binder(table: SymbolTable, path: str, d: Definition, name: str) -> str | None:
    best: str | None = None
    for b in table.binders[path].get(name, ()):
        if b.end_line < d.start_line:
            best = b.qualname
    return best


def _previous_binder(table: SymbolTable, path: str, d: Definition, name: str) -> str | None:
    """The nearest earlier statement group of the same function that binds ``name``."""
    best: Definition | None = None
    assert d.scope is not None
    for other in table.group_binders[path].get((d.scope, name), ()):
        if (
            other.end_line < d.start_line
            and name in other.binds
            and not d.qualname.startswith(other.qualname + ".")
            and (best is None or other.end_line > best.end_line)
        ):
            best = other
    return best.qualname if best is not None else None


def import_group_targets(table: SymbolTable, path: str) -> dict[str, list[Target]]:
    """Module-level import groups → the project definitions their imports bind."""
    pf = table.files[path]
    groups = [d for d in pf.definitions if d.kind == "module"]
    out: dict[str, list[Target]] = defaultdict(list)
    for imp in pf.imports:
        if imp.scope is not None:
            continue
        found = table.resolve_import(path, imp)
        if not isinstance(found, Target):
            continue
        for g in groups:
            if g.start_line <= imp.line <= g.end_line:
                out[g.qualname].append(found)
                break
    return dict(out)


def module_imports(table: SymbolTable, runtime_only: bool = True) -> dict[str, list[str]]:
    """File → project files it imports at module level (``TYPE_CHECKING`` ones left out)."""
    out: dict[str, list[str]] = {}
    for path, pf in table.files.items():
        deps: dict[str, None] = {}
        for imp in pf.imports:
            if imp.scope is not None or (runtime_only and imp.type_only):
                continue
            found = table.resolve_import(path, imp)
            dep = found.file if isinstance(found, Target) else found
            if dep is None and imp.name is not None:
                dep = table.module_file(path, imp.module, imp.level)
            if dep is not None and dep != path:
                deps[dep] = None
        out[path] = list(deps)
    return out


def split_parts(defs: Iterable[Definition]) -> dict[str, list[str]]:
    """Definition → its direct statement groups (its split parts), in source order."""
    out: dict[str, list[str]] = defaultdict(list)
    for d in defs:
        if d.kind == "statements" and d.parent is not None:
            out[d.parent].append(d.qualname)
    return dict(out)
