"""Which atoms a test exercises — the atom's *test cases*.

A test (``test_*`` function, ``it(…)``/``test(…)`` case) covers:

* what it calls or names, directly or through imports, and likewise what the helpers of its test
  files and the pytest fixtures it takes (by parameter name, from its own file or a
  ``conftest.py`` beside or above it) call or name;
* for each project class it uses: the constructor hooks (``__init__``, ``__post_init__``,
  ``__new__``, ``constructor``) and its other special methods (``__str__``, ``__eq__``…, which
  run implicitly), and the methods and properties it touches as ``.name``;
* a method called on an unknown receiver when only one method in the project has that name;
* web routes it requests: ``client.get(f"/tasks/{id}")`` matches a handler decorated
  ``@router.get("/{task_id}")`` on ``router = APIRouter(prefix="/tasks")`` (FastAPI, Flask
  ``route``/``url_prefix`` and similar decorators).
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from mge.atomization.linking import SymbolTable, Target, resolve_definition
from mge.atomization.syntax import CallRef, Definition

MAX_HELPERS = 64
"""Helpers and fixtures followed per test (a bound against pathological test suites)."""
CONSTRUCTOR_HOOKS = frozenset({"__init__", "__post_init__", "__new__", "constructor"})
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")

_ATTRIBUTE = re.compile(r"\.\s*([A-Za-z_$][\w$]*)")
_ROUTE = re.compile(
    r"^\s*(\w+)\.(get|post|put|patch|delete|head|options|route)\(\s*(?:path\s*=\s*)?"
    r"[rf]?[\"']([^\"']*)[\"']"
)
_PREFIX = re.compile(
    r"^(\w+)\s*=\s*[\w.]+\((?:[^()]|\([^()]*\))*?\b(?:prefix|url_prefix)\s*=\s*[\"']([^\"']*)[\"']",
    re.MULTILINE,
)
_REQUEST = re.compile(r"\.(get|post|put|patch|delete|head|options)\(\s*f?[\"']([^\"']*)[\"']")
_PARAM = re.compile(r"\{[^}]*\}|<[^>]*>|:\w+")


@dataclass(frozen=True)
class Route:
    """A request handler: HTTP method (None: any) and path pattern."""

    method: str | None
    pattern: re.Pattern[str]
    target: Target


def _route_pattern(path: str) -> re.Pattern[str]:
    parts = _PARAM.split(path)
    body = "[^/]+".join(re.escape(p) for p in parts)
    return re.compile(body.rstrip("/") + "/?")


def _request_path(path: str) -> str:
    return _PARAM.sub("x", path.split("?", 1)[0])


def _is_fixture(d: Definition) -> bool:
    return any(dec.split("(")[0] in ("pytest.fixture", "fixture") for dec in d.decorators)


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


class TestMap:
    """Finds the atoms each test exercises (see the module docstring)."""

    def __init__(self, table: SymbolTable, atoms: Iterable[Target]) -> None:
        self.table = table
        self.atoms = set(atoms)
        self.methods: dict[str, list[Target]] = defaultdict(list)
        self.members: dict[Target, list[Target]] = defaultdict(list)
        for t in self.atoms:
            d = table.definition(t)
            if d is not None and d.kind == "method" and d.parent is not None:
                self.methods[d.name].append(t)
                self.members[Target(t.file, d.parent)].append(t)
        self.fixtures: dict[str, dict[str, Definition]] = defaultdict(dict)
        for path, pf in table.files.items():
            if pf.is_test_file:
                for d in pf.definitions:
                    if _is_fixture(d):
                        self.fixtures[path][d.name] = d
        self.routes = self._routes()

    def _routes(self) -> list[Route]:
        routes: list[Route] = []
        for t in self.atoms:
            d = self.table.definition(t)
            if d is None or not d.decorators:
                continue
            prefixes = dict(_PREFIX.findall(self.table.files[t.file].source))
            for dec in d.decorators:
                m = _ROUTE.match(dec)
                if m is None:
                    continue
                owner, method, path = m.groups()
                pattern = _route_pattern(prefixes.get(owner, "") + path)
                routes.append(Route(None if method == "route" else method, pattern, t))
        return routes

    def _fixture(self, path: str, name: str) -> tuple[str, Definition] | None:
        """The fixture ``name`` visible from test file ``path`` (own file, then conftests up)."""
        own = self.fixtures.get(path, {}).get(name)
        if own is not None:
            return path, own
        folder = posixpath.dirname(path)
        while True:
            conftest = posixpath.join(folder, "conftest.py") if folder else "conftest.py"
            found = self.fixtures.get(conftest, {}).get(name)
            if found is not None:
                return conftest, found
            if not folder or folder == "/":
                return None
            folder = posixpath.dirname(folder)

    def targets(self, path: str, test: Definition) -> set[Target]:
        """The atoms test ``test`` of file ``path`` exercises."""
        hits: set[Target] = set()
        classes: set[Target] = set()
        sources: list[str] = []
        calls: list[CallRef] = []
        queue: list[tuple[str, Definition]] = [(path, test)]
        seen = {(path, test.qualname)}
        while queue and len(seen) <= MAX_HELPERS:
            p, d = queue.pop()
            pf = self.table.files[p]
            sources.append(pf.lines(d.start_line, d.end_line))
            calls.extend(d.calls)
            for t, kind in resolve_definition(self.table, p, d).targets.items():
                td = self.table.definition(t)
                if td is None:
                    continue
                if self.table.files[t.file].is_test_file:
                    if not td.is_test and (t.file, t.qualname) not in seen and td.kind != "class":
                        seen.add((t.file, t.qualname))
                        queue.append((t.file, td))
                    continue
                if kind in ("call", "import"):
                    hits.add(t)
                if td.kind == "class":
                    classes.add(t)
                elif td.kind == "method" and td.parent:
                    classes.add(Target(t.file, td.parent))
            for param in d.params:
                found = self._fixture(p, param.name)
                if found is not None and (found[0], found[1].qualname) not in seen:
                    seen.add((found[0], found[1].qualname))
                    queue.append(found)
        text = "\n".join(sources)
        touched = set(_ATTRIBUTE.findall(text))
        for cls in classes:
            for m in self.members.get(cls, ()):
                name = m.qualname.rsplit(".", 1)[-1]
                if name in touched or name in CONSTRUCTOR_HOOKS or _dunder(name):
                    hits.add(m)
        for call in calls:
            if call.receiver is None or call.receiver in ("self", "this", "cls"):
                continue
            candidates = self.methods.get(call.name, [])
            if len(candidates) == 1:
                hits.add(candidates[0])
        if self.routes:
            for method, url in _REQUEST.findall(text):
                requested = _request_path(url)
                for r in self.routes:
                    if (r.method is None or r.method == method) and r.pattern.fullmatch(requested):
                        hits.add(r.target)
        return {h for h in hits if h in self.atoms}
