"""The RecursiveDecomposer: source or skeleton → atoms within the size limits.

On existing code (bodies present) it splits at function, method and statement-group boundaries
until each unit is within ``max_loc`` lines and complexity ``max_complexity`` or cannot be split
further at statement boundaries (:mod:`mge.atomization.packing`). No LLM is involved.

On a skeleton (bodies empty) every stub is one atom whose size is *estimated* from its docstring.
When an estimate is over the limits and a :class:`Splitter` is given (the LLM, wired by the
execution stage), the decomposer asks it to rewrite that stub's file with the stub split into
smaller stubs, re-reads the skeleton, and repeats up to ``max_depth`` times per lineage. The new
stubs record the atom they were split from in ``parent``. Without a splitter oversized stubs stay
as they are, and the atomicity validator reports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from mge.atomization.atomize import Atomization, atomize_parsed
from mge.atomization.batch import collector_paused
from mge.atomization.languages import LanguageName, is_parseable
from mge.atomization.packing import Limits
from mge.atomization.parsing import parse_file
from mge.atomization.syntax import ParsedFile
from mge.errors import InputError
from mge.models.atoms import AtomicUnit

DEFAULT_MAX_SPLIT_DEPTH = 3
"""How many times a stub and its descendants may be handed to the splitter."""


@dataclass(frozen=True)
class SplitRequest:
    """What the splitter gets: the oversized stub, the whole skeleton, the limits."""

    atom: AtomicUnit
    files: Mapping[str, str]
    limits: Limits
    depth: int
    """0 for a stub of the original skeleton, 1 for a stub split out of it, …"""

    @property
    def source(self) -> str:
        """The current source of the stub's file (the splitter returns its new version)."""
        return self.files[self.atom.file]


class Splitter(Protocol):
    """Rewrites one skeleton file so that ``request.atom`` becomes smaller stubs.

    Returns the complete new source of ``request.atom.file``: the original stub (same name and
    signature, its docstring now saying it composes the helpers, e.g. with a ``Uses:`` line) plus
    new helper stubs with their own docstrings and contracts. Raise an ``LLMError`` on failure.
    """

    async def __call__(self, request: SplitRequest) -> str:
        """The new source of the file holding ``request.atom``."""
        ...


class RecursiveDecomposer:
    """Turns sources (existing code or skeletons) into AtomicUnits within ``limits``."""

    def __init__(
        self,
        limits: Limits | None = None,
        splitter: Splitter | None = None,
        max_depth: int = DEFAULT_MAX_SPLIT_DEPTH,
    ) -> None:
        self.limits = limits or Limits()
        self.splitter = splitter
        self.max_depth = max_depth

    def parse(
        self, files: Mapping[str, str], language: LanguageName | None = None, *, split: bool
    ) -> dict[str, ParsedFile]:
        """Parse every source file; other files (README.md, package.json…) are skipped, and
        ``language`` only says how to read files without a suffix."""
        return {
            path: parse_file(path, src, language, limits=self.limits, split=split)
            for path, src in files.items()
            if is_parseable(path, language)
        }

    def atomize_existing(self, files: Mapping[str, str]) -> Atomization:
        """Atoms of existing code: every definition, long bodies split into statement groups."""
        with collector_paused():
            parsed = self.parse(files, split=True)
            return atomize_parsed(parsed, mode="existing", sources=files)

    def atomize_skeleton(
        self, files: Mapping[str, str], task_id: str | None, language: LanguageName | None = None
    ) -> Atomization:
        """Atoms of a skeleton: one per stub, estimates from the docstrings, no splitter."""
        with collector_paused():
            parsed = self.parse(files, language, split=False)
            return atomize_parsed(parsed, mode="skeleton", task_id=task_id, sources=files)

    def oversized(self, atoms: list[AtomicUnit]) -> list[AtomicUnit]:
        """Atoms whose size or complexity is over the limits."""
        return [a for a in atoms if not self.limits.fits(a.estimated_loc, a.complexity)]

    async def decompose_skeleton(
        self, files: Mapping[str, str], task_id: str | None, language: LanguageName | None = None
    ) -> Atomization:
        """Atoms of a skeleton, oversized stubs split by the splitter (see the module docstring).

        Raises InputError when the given skeleton has syntax errors. A splitter answer that does
        not parse, or that leaves the stub as big as before, ends that stub's splitting.
        """
        result = self.atomize_skeleton(files, task_id, language)
        if result.errors:
            raise InputError(_describe_errors(result))
        if self.splitter is None:
            return result
        current = dict(files)
        parents: dict[str, str] = {}
        depth: dict[str, int] = {}
        given_up: set[str] = set()
        for _ in range(self.max_depth + 1):
            todo = [
                a
                for a in self.oversized(result.atoms)
                if a.id not in given_up and depth.get(a.id, 0) < self.max_depth
            ]
            if not todo:
                break
            for atom in todo:
                before = {a.id for a in result.atoms}
                request = SplitRequest(atom, dict(current), self.limits, depth.get(atom.id, 0))
                new_source = await self.splitter(request)
                trial = {**current, atom.file: new_source}
                attempt = self.atomize_skeleton(trial, task_id, language)
                given_up.add(atom.id)
                if attempt.errors or new_source == current[atom.file]:
                    continue
                current, result = trial, attempt
                for new_id in {a.id for a in result.atoms} - before:
                    parents[new_id] = atom.id
                    depth[new_id] = depth.get(atom.id, 0) + 1
        atoms = [
            a.model_copy(update={"parent": parents[a.id]}) if a.id in parents else a
            for a in result.atoms
        ]
        return Atomization(
            files=current,
            parsed=result.parsed,
            atoms=atoms,
            edges=result.edges,
            definitions=result.definitions,
            references=result.references,
            unresolved=result.unresolved,
            test_sources=result.test_sources,
            module_imports=result.module_imports,
            table=result.table,
        )


def _describe_errors(result: Atomization) -> str:
    lines = [str(e) for e in result.errors]
    return "skeleton has syntax errors:\n" + "\n".join(f"  {line}" for line in lines)


def atoms_from_skeleton(
    files: Mapping[str, str], task_id: str | None, language: LanguageName | None = None
) -> list[AtomicUnit]:
    """One atom per body to write in a skeleton (stubs: ``...``/``pass``/``throw new
    Error("TODO")``), with signature, docstring as spec, pre/postconditions, the tests that call
    it and its dependencies. Raises InputError listing the syntax errors of a broken skeleton.
    """
    result = RecursiveDecomposer().atomize_skeleton(files, task_id, language)
    if result.errors:
        raise InputError(_describe_errors(result))
    return result.atoms
