"""Validation checkpoints: module, component and fan-out boundaries of the atom graph.

Hierarchical validation runs L2 on a *module* (10–20 atoms), L3 on a *component* (50–100) and
pays extra attention to *fan-out points* (atoms many others depend on: a fault there spreads).
Each boundary says after which level all its atoms exist (``ready_after_level``), so the
executor knows when the checkpoint can run.

Modules follow files: a file with 10–20 atoms is one module; a bigger file is cut into
balanced runs in dependency order; small files of one folder are pooled until they reach the
minimum. Components pool modules folder by folder up to 50–100 atoms. Sizes are targets: a
folder with fewer atoms than the minimum still forms its own boundary rather than mixing
unrelated code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from mge.models.atoms import AtomicUnit

MODULE_MIN_ATOMS = 10
MODULE_MAX_ATOMS = 20
COMPONENT_MIN_ATOMS = 50
COMPONENT_MAX_ATOMS = 100
FANOUT_MIN_DEPENDENTS = 5
"""An atom with at least this many direct dependents is a fan-out point."""

BoundaryKind = Literal["module", "component", "fan-out"]


@dataclass(frozen=True)
class Boundary:
    """A checkpoint: a named set of atoms validated together once all of them exist."""

    kind: BoundaryKind
    name: str
    atoms: tuple[str, ...]
    ready_after_level: int
    files: tuple[str, ...] = ()
    dependents: int = 0
    """Fan-out points: how many atoms depend on it directly."""


@dataclass(frozen=True)
class Sizes:
    """Boundary size targets (atoms)."""

    module_min: int = MODULE_MIN_ATOMS
    module_max: int = MODULE_MAX_ATOMS
    component_min: int = COMPONENT_MIN_ATOMS
    component_max: int = COMPONENT_MAX_ATOMS
    fanout_min: int = FANOUT_MIN_DEPENDENTS


def _folder(path: str) -> str:
    return str(PurePosixPath(path.split(", ")[0]).parent)


def _balanced_chunks(items: Sequence[str], maximum: int) -> list[list[str]]:
    """Split into the fewest chunks of at most ``maximum``, sizes differing by at most one."""
    if len(items) <= maximum:
        return [list(items)]
    n = -(-len(items) // maximum)
    size, extra = divmod(len(items), n)
    out, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return out


def _common_folder(files: Sequence[str]) -> str:
    parts = [PurePosixPath(_folder(f)).parts for f in files]
    common: list[str] = []
    for group in zip(*parts, strict=False):
        if len(set(group)) != 1:
            break
        common.append(group[0])
    return "/".join(common) or "."


def module_boundaries(
    atoms: Mapping[str, AtomicUnit], order: Sequence[str], level_of: Mapping[str, int], sizes: Sizes
) -> list[Boundary]:
    """Modules of 10–20 atoms along files and folders (see the module docstring)."""
    by_file: dict[str, list[str]] = defaultdict(list)
    for a in order:
        by_file[atoms[a].file].append(a)
    by_folder: dict[str, list[str]] = defaultdict(list)
    for f in sorted(by_file):
        by_folder[_folder(f)].append(f)
    modules: list[tuple[list[str], list[str]]] = []
    for folder in sorted(by_folder):
        pool_atoms: list[str] = []
        pool_files: list[str] = []
        folder_modules: list[tuple[list[str], list[str]]] = []
        for f in by_folder[folder]:
            ids = by_file[f]
            if len(ids) >= sizes.module_min:
                for chunk in _balanced_chunks(ids, sizes.module_max):
                    folder_modules.append((chunk, [f]))
                continue
            if pool_atoms and len(pool_atoms) + len(ids) > sizes.module_max:
                folder_modules.append((pool_atoms, pool_files))
                pool_atoms, pool_files = [], []
            pool_atoms = pool_atoms + ids
            pool_files = [*pool_files, f]
            if len(pool_atoms) >= sizes.module_min:
                folder_modules.append((pool_atoms, pool_files))
                pool_atoms, pool_files = [], []
        if pool_atoms:
            small = [m for m in folder_modules if len(m[0]) + len(pool_atoms) <= sizes.module_max]
            if small:
                target = small[-1]
                target[0].extend(pool_atoms)
                target[1].extend(f for f in pool_files if f not in target[1])
            else:
                folder_modules.append((pool_atoms, pool_files))
        modules.extend(folder_modules)
    out = []
    counts: dict[str, int] = defaultdict(int)
    for ids, files in modules:
        base = files[0] if len(files) == 1 else f"{_common_folder(files)}/ ({len(files)} files)"
        counts[base] += 1
        out.append((base, ids, files))
    seen: dict[str, int] = defaultdict(int)
    result = []
    for base, ids, files in out:
        seen[base] += 1
        name = f"{base} [{seen[base]}/{counts[base]}]" if counts[base] > 1 else base
        result.append(
            Boundary(
                kind="module",
                name=name,
                atoms=tuple(ids),
                ready_after_level=max(level_of[a] for a in ids),
                files=tuple(files),
            )
        )
    return result


def component_boundaries(
    modules: Sequence[Boundary], level_of: Mapping[str, int], sizes: Sizes
) -> list[Boundary]:
    """Components of 50–100 atoms: whole modules pooled in folder order."""
    ordered = sorted(modules, key=lambda m: (m.files[0] if m.files else m.name, m.name))
    groups: list[list[Boundary]] = []
    current: list[Boundary] = []
    count = 0
    for m in ordered:
        size = len(m.atoms)
        if current and count + size > sizes.component_max:
            groups.append(current)
            current, count = [], 0
        current.append(m)
        count += size
        if count >= sizes.component_min:
            groups.append(current)
            current, count = [], 0
    if current:
        if groups and sum(len(m.atoms) for m in groups[-1]) + count <= sizes.component_max:
            groups[-1].extend(current)
        else:
            groups.append(current)
    out = []
    for g in groups:
        ids = tuple(a for m in g for a in m.atoms)
        files = tuple(dict.fromkeys(f for m in g for f in m.files))
        out.append(
            Boundary(
                kind="component",
                name=_common_folder(files) if files else g[0].name,
                atoms=ids,
                ready_after_level=max(level_of[a] for a in ids),
                files=files,
            )
        )
    names: dict[str, int] = defaultdict(int)
    for b in out:
        names[b.name] += 1
    seen: dict[str, int] = defaultdict(int)
    renamed = []
    for b in out:
        if names[b.name] > 1:
            seen[b.name] += 1
            b = Boundary(
                b.kind, f"{b.name} [{seen[b.name]}/{names[b.name]}]", b.atoms,
                b.ready_after_level, b.files,
            )  # fmt: skip
        renamed.append(b)
    return renamed


def fanout_points(
    dependents: Mapping[str, int], atoms: Mapping[str, AtomicUnit], level_of: Mapping[str, int],
    sizes: Sizes,
) -> list[Boundary]:  # fmt: skip
    """Atoms with at least ``fanout_min`` direct dependents, most depended-on first."""
    hot = [(n, a) for a, n in dependents.items() if n >= sizes.fanout_min]
    hot.sort(key=lambda t: (-t[0], atoms[t[1]].file, atoms[t[1]].qualname))
    return [
        Boundary(
            kind="fan-out",
            name=atoms[a].qualname,
            atoms=(a,),
            ready_after_level=level_of[a],
            files=(atoms[a].file,),
            dependents=n,
        )
        for n, a in hot
    ]
