"""The codebase under construction: skeleton files, atoms, and which tests cover which atom.

A :class:`Codebase` is immutable and pure. Given the code chosen for some atoms it renders
every file (skeleton sources with those bodies spliced in, tests and other files as they
are). It also answers the questions validation asks: which tests belong to an atom, which
tests can run yet (every atom they cover has validated code), which tests belong to a module.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache

from mge.models.atoms import AtomicUnit
from mge.validation.assemble import Assembly, assemble_with_spans
from mge.validation.source import SourceLanguage, definitions, parse

TEST_ID_SEPARATOR = "::"
STUB_MARKER = "MGE-STUB"
"""Marks the error a not-yet-written body raises during validation."""
_STUB_NAME = re.compile(STUB_MARKER + r" ([\w.<>$]+)")
_TS_TEST_CALLS = frozenset({"test", "it"})
_SCRIPT_SUFFIXES = (".ts", ".tsx", ".js", ".mjs", ".cjs")


def stub_body(qualname: str, language: SourceLanguage) -> str:
    """A body that fails loudly and recognisably: the function has no accepted code yet."""
    message = f"{STUB_MARKER} {qualname}: no accepted code yet"
    if language == "python":
        return f"raise NotImplementedError({message!r})"
    return f"throw new Error({message!r});"


def stub_failures(text: str) -> list[str]:
    """Qualnames of not-yet-written functions a failure text says were reached."""
    return list(dict.fromkeys(_STUB_NAME.findall(text)))


def is_test_file(path: str) -> bool:
    """True for test sources: ``test_*.py``, ``*_test.py``, ``*.test.ts``/``*.spec.ts``…, or
    anything under a ``tests``/``__tests__`` folder that is a source file."""
    name = posixpath.basename(path)
    parts = path.split("/")
    if (name.startswith("test_") and name.endswith(".py")) or name.endswith("_test.py"):
        return True
    if any(f".{kind}{suffix}" in name for kind in ("test", "spec") for suffix in _SCRIPT_SUFFIXES):
        return True
    in_tests = any(p in ("tests", "__tests__", "test") for p in parts[:-1])
    return in_tests and name.endswith((".py", *_SCRIPT_SUFFIXES)) and name != "conftest.py"


def language_of(path: str) -> SourceLanguage | None:
    """The source language of a file by its suffix, or None for other files."""
    if path.endswith(".py"):
        return "python"
    if path.endswith((".ts", ".tsx")):
        return "typescript"
    if path.endswith((".js", ".mjs", ".cjs")):
        return "javascript"
    return None


def python_module_name(path: str) -> str | None:
    """The import name of a Python file (``src/`` layouts drop ``src``), or None."""
    if not path.endswith(".py"):
        return None
    parts = path[: -len(".py")].split("/")
    if parts and parts[0] == "src":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) if parts else None


def list_tests(path: str, source: str) -> list[str]:
    """Node ids (``path::name``, ``path::Class::name``) of the tests defined in one test file."""
    language = language_of(path)
    if language == "python":
        ids = []
        for qualname, d in definitions(source, "python").items():
            parts = qualname.split(".")
            if d.kind == "class" or not parts[-1].startswith("test"):
                continue
            if len(parts) == 1 or (len(parts) == 2 and parts[0].startswith("Test")):
                ids.append(path + TEST_ID_SEPARATOR + TEST_ID_SEPARATOR.join(parts))
        return ids
    if language is None:
        return []
    return [path + TEST_ID_SEPARATOR + name for name in _script_test_names(source, language)]


def _script_test_names(source: str, language: SourceLanguage) -> list[str]:
    names: list[str] = []
    stack = [parse(source, language)]
    while stack:
        node = stack.pop()
        if node.type == "call_expression":
            fn = node.child_by_field_name("function")
            args = node.child_by_field_name("arguments")
            if fn is not None and args is not None and (fn.text or b"").decode() in _TS_TEST_CALLS:
                first = args.named_children[0] if args.named_children else None
                if first is not None and first.type in ("string", "template_string"):
                    names.append((first.text or b"").decode()[1:-1])
        stack.extend(reversed(node.children))
    return names


@dataclass(frozen=True)
class Codebase:
    """Skeleton files plus atoms. ``files`` maps relative paths to their skeleton text."""

    files: Mapping[str, str]
    atoms: Mapping[str, AtomicUnit]

    @cached_property
    def test_files(self) -> list[str]:
        """Paths of test sources, sorted."""
        return sorted(p for p in self.files if is_test_file(p))

    @cached_property
    def all_tests(self) -> list[str]:
        """Node ids of every test in the codebase, in file order."""
        return [t for p in self.test_files for t in list_tests(p, self.files[p])]

    @cached_property
    def atoms_by_file(self) -> dict[str, list[AtomicUnit]]:
        """Atoms grouped by the file they live in (atoms in span order when spans are known)."""
        grouped: dict[str, list[AtomicUnit]] = defaultdict(list)
        for atom in self.atoms.values():
            grouped[atom.file].append(atom)
        for atoms in grouped.values():
            atoms.sort(key=lambda a: (a.span.start_line if a.span else 0, a.qualname))
        return dict(grouped)

    @cached_property
    def _resolution(self) -> tuple[dict[str, list[str]], list[str]]:
        resolved: dict[str, list[str]] = {}
        unresolved: list[str] = []
        for atom in self.atoms.values():
            ids: list[str] = []
            for name in atom.test_cases:
                found = self._resolve(name)
                if not found:
                    unresolved.append(f"{atom.id}: {name}")
                ids += [t for t in found if t not in ids]
            resolved[atom.id] = ids
        return resolved, unresolved

    @property
    def tests_by_atom(self) -> dict[str, list[str]]:
        """Resolved test node ids per atom id (names that match no test are dropped and listed
        in :attr:`unresolved_tests`)."""
        return self._resolution[0]

    @property
    def unresolved_tests(self) -> list[str]:
        """``atom_id: name`` for each test name an atom lists that no test file defines."""
        return self._resolution[1]

    @cached_property
    def atoms_by_test(self) -> dict[str, set[str]]:
        """Which atoms each test covers (inverse of :attr:`tests_by_atom`)."""
        covering: dict[str, set[str]] = defaultdict(set)
        for atom_id, tests in self.tests_by_atom.items():
            for t in tests:
                covering[t].add(atom_id)
        return dict(covering)

    def _resolve(self, name: str) -> list[str]:
        tests = self.all_tests
        if name in tests:
            return [name]
        tail = name.split(TEST_ID_SEPARATOR)
        matches = [t for t in tests if t.split(TEST_ID_SEPARATOR)[-len(tail) :] == tail]
        if not matches and len(tail) > 1:
            base = posixpath.basename(tail[0])
            matches = [
                t
                for t in tests
                if posixpath.basename(t.split(TEST_ID_SEPARATOR)[0]) == base
                and t.split(TEST_ID_SEPARATOR)[1:] == tail[1:]
            ]
        return matches

    def language(self, path: str) -> SourceLanguage:
        """The language of ``path`` (files without a known suffix count as Python)."""
        return language_of(path) or "python"

    @cached_property
    def _defined(self) -> dict[str, set[str]]:
        return {
            path: set(definitions(self.files[path], self.language(path)))
            for path in self.atoms_by_file
            if path in self.files
        }

    def render_file(
        self, path: str, codes: Mapping[str, str], stub_missing: bool = False
    ) -> Assembly:
        """One file with the given atom codes spliced in (only atoms of this file are used).

        With ``stub_missing`` every atom without code gets a body that raises
        ``NotImplementedError("MGE-STUB <qualname> …")`` instead of the skeleton's silent
        ``...``, so a test that reaches code nobody wrote yet says so instead of failing on a
        ``None`` (see :func:`stub_failures`).
        """
        mine = self.atoms_by_file.get(path, ())
        bodies = {a.qualname: codes[a.id] for a in mine if a.id in codes}
        if stub_missing:
            defined = self._defined.get(path, set())
            for a in mine:
                if a.id not in codes and a.qualname in defined:
                    bodies[a.qualname] = stub_body(a.qualname, self.language(path))
        return _assembled(self.files[path], tuple(sorted(bodies.items())), self.language(path))

    def render(self, codes: Mapping[str, str], stub_missing: bool = False) -> dict[str, str]:
        """Every file, with the given atom codes spliced into the sources that hold them
        (and, with ``stub_missing``, marked stubs for atoms without code)."""
        touched = {self.atoms[a].file for a in codes if a in self.atoms}
        if stub_missing:
            touched |= set(self.atoms_by_file)
        out = dict(self.files)
        for path in touched:
            if path in self.files:
                out[path] = self.render_file(path, codes, stub_missing).source
        return out

    def ready_tests(self, validated: Iterable[str]) -> list[str]:
        """Tests that cover at least one atom and whose covered atoms are all validated."""
        have = set(validated)
        covering = self.atoms_by_test
        return [t for t in self.all_tests if t in covering and covering[t] <= have]

    def module_tests(self, path: str) -> list[str]:
        """Tests of one module: those covering its atoms, plus those in ``test_<stem>`` files."""
        stem = posixpath.splitext(posixpath.basename(path))[0]
        if stem == "__init__":
            stem = posixpath.basename(posixpath.dirname(path)) or stem
        own = {a.id for a in self.atoms_by_file.get(path, ())}
        picked = []
        for t in self.all_tests:
            test_file = t.split(TEST_ID_SEPARATOR)[0]
            name = posixpath.splitext(posixpath.basename(test_file))[0]
            named_after = name in (f"test_{stem}", f"{stem}_test", f"{stem}.test", f"{stem}.spec")
            if named_after or self.atoms_by_test.get(t, set()) & own:
                picked.append(t)
        return picked

    def module_of(self, atom_id: str) -> str:
        """The file an atom lives in."""
        return self.atoms[atom_id].file


ASSEMBLY_CACHE = 2048
"""Assembled files kept (a few KB each): each batch renders every file of the codebase, with
the validated atoms spliced in, for its checks; most files have not changed since the last
batch, and parsing them again with tree-sitter is what the event loop would spend its time on
(800 atoms: seconds per batch on a busy machine)."""


@lru_cache(maxsize=ASSEMBLY_CACHE)
def _assembled(
    skeleton: str, bodies: tuple[tuple[str, str], ...], language: SourceLanguage
) -> Assembly:
    """:func:`assemble_with_spans`, remembered (pure: the same text in, the same text out)."""
    return assemble_with_spans(skeleton, dict(bodies), language)
