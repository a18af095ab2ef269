"""`mge atomize PATH…` and `mge graph PATH…`: atoms, complexity and the dependency graph of
existing source files, without an LLM.

`mge atomize` lists every atom (file, qualified name, span, lines of code, cyclomatic
complexity, dependencies); `--graph` adds levels, widths, critical path and the module,
component and fan-out boundaries; `--json` prints all of it as JSON.

`mge graph` prints the graph part and can write it as DOT (`--dot FILE`) and PNG (`--png FILE`,
needs Graphviz `dot`). For a project kept in the store the store-backed driver calls
:func:`graph_report` with the stored atoms and edges.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from mge.atomization import Atomization, Limits, RecursiveDecomposer, read_sources
from mge.atomization.batch import collector_paused
from mge.cli.app import app
from mge.errors import InputError
from mge.graph import CYCLE_POLICIES, CyclePolicy, DependencyAnalyzer, DependencyGraph, to_dot
from mge.graph.render import View, render_png
from mge.models import AtomicUnit, Edge

MAX_DEPENDENCIES_SHOWN = 6
"""Dependencies listed per atom in the text output; the rest are counted."""
MAX_FANOUT_SHOWN = 25
"""Fan-out points listed in the text output (all of them in --json)."""

CyclesOption = Annotated[
    str,
    typer.Option(
        "--cycles",
        help="merge-untested: merge mutually recursive atoms of one file when one lacks tests, "
        "else fail naming the cycle; merge: merge every cycle; error: fail on any cycle.",
    ),
]


def _policy(value: str) -> CyclePolicy:
    for p in CYCLE_POLICIES:
        if p == value:
            return p
    raise typer.BadParameter(f"--cycles must be one of {', '.join(CYCLE_POLICIES)}")


def atomize_paths(paths: Sequence[Path], limits: Limits) -> Atomization:
    """Read the source files under ``paths`` and atomize them as existing code."""
    files = asyncio.run(read_sources(paths))
    if not files:
        shown = ", ".join(str(p) for p in paths)
        raise InputError(f"no Python, TypeScript or JavaScript files under {shown}")
    return RecursiveDecomposer(limits).atomize_existing(files)


# -- text output -------------------------------------------------------------------------------


def _dep_name(atom: AtomicUnit, dep: AtomicUnit) -> str:
    """A dependency as shown: its qualified name, with the file for another file's module group
    (``<module>#2`` alone would read as the atom's own file)."""
    if dep.kind == "module" and dep.file != atom.file:
        return f"{dep.file}:{dep.qualname}"
    return dep.qualname


def print_atoms(az: Atomization, limits: Limits, out: TextIO) -> None:
    """Atoms grouped by file: span, kind, qualified name, LOC, complexity, dependencies."""
    by_id = {a.id: a for a in az.atoms}
    by_file: dict[str, list[AtomicUnit]] = defaultdict(list)
    for a in az.atoms:
        by_file[a.file].append(a)
    width = max((len(a.qualname) for a in az.atoms), default=10)
    width = min(width, 60)
    for path in sorted(by_file):
        out.write(f"{path}\n")
        for a in by_file[path]:
            span = f"L{a.span.start_line}-{a.span.end_line}" if a.span else ""
            over = "" if limits.fits(a.estimated_loc, a.complexity) else "  (over limits)"
            deps = [_dep_name(a, by_id[d]) if d in by_id else d for d in a.dependencies]
            shown = ", ".join(deps[:MAX_DEPENDENCIES_SHOWN])
            if len(deps) > MAX_DEPENDENCIES_SHOWN:
                shown += f", +{len(deps) - MAX_DEPENDENCIES_SHOWN}"
            out.write(
                f"  {span:<11} {a.kind:<10} {a.qualname:<{width}} loc {a.estimated_loc:>3}"
                f"  cc {a.complexity:>2}{over}" + (f"  ← {shown}" if shown else "") + "\n"
            )
    over_limits = sum(1 for a in az.atoms if not limits.fits(a.estimated_loc, a.complexity))
    out.write(
        f"\n{len(az.parsed)} files, {len(az.atoms)} atoms, {len(az.edges)} dependencies; "
        f"{over_limits} over the limits (loc ≤ {limits.max_loc}, cc ≤ {limits.max_complexity}) "
        "that statement boundaries cannot split further\n"
    )
    for e in az.errors:
        out.write(f"syntax error: {e}\n")


def print_graph(dg: DependencyGraph, out: TextIO) -> None:
    """Levels, widths, critical path and boundaries."""
    s = dg.summary()
    kinds = ", ".join(f"{k} {n}" for k, n in s.edges_by_kind.items())
    out.write(f"graph: {s.atoms} atoms, {s.edges} edges ({kinds})\n")
    out.write(f"levels: {s.levels}  widths: {' '.join(str(w) for w in s.widths)}\n")
    names = [dg.atoms[n].qualname for n in dg.critical_path]
    out.write(f"critical path: {s.critical_path_length} atoms: {' → '.join(names)}\n")
    if dg.merged:
        out.write(f"merged mutual recursion: {s.merged_units} units from {s.merged_atoms} atoms\n")
        for unit, members in dg.merged.items():
            out.write(f"  {dg.atoms[unit].qualname} ({dg.atoms[unit].file})\n")
            del members
    out.write(f"\nmodules ({s.modules}):\n")
    for b in dg.modules:
        out.write(
            f"  {b.name:<60} {len(b.atoms):>4} atoms  ready after level {b.ready_after_level}\n"
        )
    out.write(f"\ncomponents ({s.components}):\n")
    for b in dg.components:
        out.write(
            f"  {b.name:<60} {len(b.atoms):>4} atoms  ready after level {b.ready_after_level}\n"
        )
    out.write(f"\nfan-out points ({s.fanout_points}):\n")
    for b in dg.fanout[:MAX_FANOUT_SHOWN]:
        a = dg.atoms[b.atoms[0]]
        where = f"({a.file}, level {b.ready_after_level})"
        out.write(f"  {a.qualname:<50} {b.dependents:>4} dependents  {where}\n")
    if len(dg.fanout) > MAX_FANOUT_SHOWN:
        out.write(f"  … {len(dg.fanout) - MAX_FANOUT_SHOWN} more (see --json)\n")


# -- JSON --------------------------------------------------------------------------------------


def graph_json(dg: DependencyGraph) -> dict[str, Any]:
    """The graph analysis as JSON-ready data."""

    def boundary(b: Any) -> dict[str, Any]:
        return {
            "name": b.name,
            "atoms": list(b.atoms),
            "readyAfterLevel": b.ready_after_level,
            "files": list(b.files),
            **({"dependents": b.dependents} if b.kind == "fan-out" else {}),
        }

    return {
        "summary": dg.summary().as_dict(),
        "levels": dg.levels,
        "merged": dg.merged,
        "modules": [boundary(b) for b in dg.modules],
        "components": [boundary(b) for b in dg.components],
        "fanOut": [boundary(b) for b in dg.fanout],
    }


def _write_pictures(dg: DependencyGraph, dot: Path | None, png: Path | None, view: View) -> None:
    text = to_dot(dg, view)
    if dot is not None:
        dot.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {dot}", err=True)
    if png is not None:
        asyncio.run(render_png(text, png))
        typer.echo(f"wrote {png}", err=True)


def graph_report(
    atoms: Sequence[AtomicUnit],
    edges: Sequence[Edge],
    *,
    cycles: CyclePolicy = "merge-untested",
    dot: Path | None = None,
    png: Path | None = None,
    view: View = "auto",
    as_json: bool = False,
    out: TextIO | None = None,
) -> DependencyGraph:
    """Analyse stored or fresh atoms and edges, print the report, write DOT/PNG if asked.

    This is what ``mge graph PROJECT`` calls with the atoms and edges read from the store.
    """
    out = out or sys.stdout
    dg = DependencyAnalyzer(cycles).analyze(atoms, edges)
    if as_json:
        out.write(json.dumps(graph_json(dg), indent=2) + "\n")
    else:
        print_graph(dg, out)
    _write_pictures(dg, dot, png, view)
    return dg


# -- commands ----------------------------------------------------------------------------------

PathsArgument = Annotated[
    list[Path], typer.Argument(help="Source files or folders (.py, .ts, .tsx, .js, .jsx).")
]


@app.command("atomize")
def atomize_command(
    paths: PathsArgument,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print atoms (and graph) as JSON.")
    ] = False,
    graph: Annotated[
        bool, typer.Option("--graph", help="Add levels, critical path and boundaries.")
    ] = False,
    cycles: CyclesOption = "merge-untested",
    max_loc: Annotated[
        int, typer.Option("--max-loc", min=1, help="Atom size limit.")
    ] = Limits().max_loc,
    max_complexity: Annotated[
        int, typer.Option("--max-complexity", min=1, help="Atom complexity limit.")
    ] = Limits().max_complexity,
) -> None:
    """Split existing source into atoms (no LLM): file, name, span, LOC, complexity, deps."""
    limits = Limits(max_loc, max_complexity)
    policy = _policy(cycles)
    with collector_paused():  # a short-lived command: no cyclic GC passes over its atoms
        az = atomize_paths(paths, limits)
        dg = DependencyAnalyzer(policy).analyze(az.atoms, az.edges) if graph else None
    if as_json:
        data: dict[str, Any] = {
            "files": sorted(az.parsed),
            "atoms": [a.wire() for a in az.atoms],
            "edges": [e.wire() for e in az.edges],
            "errors": [
                {"file": e.file, "line": e.line, "column": e.column, "message": e.message}
                for e in az.errors
            ],
        }
        if dg is not None:
            data["graph"] = graph_json(dg)
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    print_atoms(az, limits, sys.stdout)
    if dg is not None:
        sys.stdout.write("\n")
        print_graph(dg, sys.stdout)


async def _stored_graph(project: str) -> tuple[list[AtomicUnit], list[Edge]]:
    """The atoms and edges `mge run` stored for ``project``; an error names what exists."""
    from mge.cli.app import State
    from mge.store import Store

    store = await Store.open(State.settings().resolved_database_url())
    try:
        atoms = [s.unit for s in await store.list_atoms(project)]
        if not atoms:
            known = ", ".join(p.key for p in await store.list_projects()) or "none"
            raise InputError(
                f"{project!r} is neither a file or folder nor a project with atoms in the store "
                f"(projects: {known})"
            )
        return atoms, await store.list_edges(project)
    finally:
        await store.close()


@app.command("graph")
def graph_command(
    targets: Annotated[
        list[str], typer.Argument(help="Source files or folders (or, later, a project name).")
    ],
    dot: Annotated[Path | None, typer.Option("--dot", help="Write the graph as DOT.")] = None,
    png: Annotated[
        Path | None, typer.Option("--png", help="Draw the graph as PNG (Graphviz `dot`).")
    ] = None,
    view: Annotated[
        str, typer.Option("--view", help="auto, atoms or modules (auto: modules when large).")
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the analysis as JSON.")] = False,
    cycles: CyclesOption = "merge-untested",
) -> None:
    """Dependency graph of source paths: levels, widths, critical path, boundaries; DOT/PNG."""
    if view not in ("auto", "atoms", "modules"):
        raise typer.BadParameter("--view must be auto, atoms or modules")
    paths = [Path(t) for t in targets]
    missing = [t for t, p in zip(targets, paths, strict=True) if not p.exists()]
    if missing:
        if len(targets) != 1:
            raise InputError(f"{', '.join(missing)}: no such file or folder")
        atoms, edges = asyncio.run(_stored_graph(targets[0]))
        graph_report(
            atoms,
            edges,
            cycles=_policy(cycles),
            dot=dot,
            png=png,
            view=view,  # type: ignore[arg-type]
            as_json=as_json,
        )
        return
    with collector_paused():  # a short-lived command: no cyclic GC passes over its atoms
        az = atomize_paths(paths, Limits())
        graph_report(
            az.atoms,
            az.edges,
            cycles=_policy(cycles),
            dot=dot,
            png=png,
            view=view,  # type: ignore[arg-type]
            as_json=as_json,
        )
