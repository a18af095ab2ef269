"""Pictures of the graph: Graphviz DOT text (written here, no pydot) and PNG through ``dot``.

Atoms are boxes labelled with their qualified name, line, size and complexity, clustered by
module boundary; dependencies point down to what they need (level 0 at the top). Edge styles:
call solid, type dashed, data dotted, import grey. A graph too large to draw legibly as atoms
is drawn by module instead (one box per module, edges counted).
"""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from pathlib import Path
from typing import Literal

from mge.errors import InputError
from mge.graph.analyze import DependencyGraph

MAX_ATOMS_PER_PICTURE = 1500
"""Above this, ``auto`` draws modules instead of atoms."""
DOT_TIMEOUT_SECONDS = 120.0
"""Longest a ``dot`` run may take before it is stopped."""
EDGE_STYLES: dict[str, str] = {
    "call": 'color="#333333"',
    "type": 'color="#1f5fbf", style=dashed',
    "data": 'color="#2e8b57", style=dotted',
    "import": 'color="#999999"',
}
LEVEL_COLOURS = ("#e8f1fb", "#eaf7ea", "#fdf3e1", "#f6e8f6", "#eeeeee")

View = Literal["auto", "atoms", "modules"]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(dg: DependencyGraph, view: View = "auto", title: str = "mge") -> str:
    """The graph as DOT text (``view`` atoms, modules, or auto by size)."""
    if view == "modules" or (view == "auto" and len(dg.atoms) > MAX_ATOMS_PER_PICTURE):
        return _modules_dot(dg, title)
    lines = [
        f"digraph {_quote(title)} {{",
        '  graph [rankdir=BT, fontname="Helvetica", fontsize=10, newrank=true];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=9];',
        "  edge [arrowsize=0.6];",
    ]
    for i, module in enumerate(dg.modules):
        lines.append(f"  subgraph cluster_{i} {{")
        lines.append(f'    label={_quote(module.name)}; color="#bbbbbb";')
        for n in module.atoms:
            a = dg.atoms[n]
            line = a.span.start_line if a.span else "?"
            label = f"{a.qualname}\nL{line} · {a.estimated_loc} loc · cc {a.complexity}"
            colour = LEVEL_COLOURS[dg.level_of[n] % len(LEVEL_COLOURS)]
            lines.append(f'    {_quote(n)} [label={_quote(label)}, fillcolor="{colour}"];')
        lines.append("  }")
    for src, dst, kind in sorted(dg.graph.edges(data="kind")):
        lines.append(f"  {_quote(src)} -> {_quote(dst)} [{EDGE_STYLES.get(kind, '')}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _modules_dot(dg: DependencyGraph, title: str) -> str:
    module_of = {a: i for i, m in enumerate(dg.modules) for a in m.atoms}
    counts: Counter[tuple[int, int]] = Counter()
    for src, dst in dg.graph.edges():
        ms, md = module_of[src], module_of[dst]
        if ms != md:
            counts[(ms, md)] += 1
    lines = [
        f"digraph {_quote(title)} {{",
        '  graph [rankdir=BT, fontname="Helvetica", fontsize=10];',
        '  node [shape=box, style="rounded,filled", fillcolor="#e8f1fb", fontname="Helvetica"];',
    ]
    for i, m in enumerate(dg.modules):
        label = f"{m.name}\n{len(m.atoms)} atoms · ready after level {m.ready_after_level}"
        lines.append(f"  m{i} [label={_quote(label)}];")
    for (ms, md), n in sorted(counts.items()):
        lines.append(f'  m{ms} -> m{md} [label="{n}", fontsize=8];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_dot(dg: DependencyGraph, path: Path, view: View = "auto") -> None:
    """Write the DOT text to ``path``."""
    path.write_text(to_dot(dg, view), encoding="utf-8")


async def render_png(dot_text: str, path: Path, dot_binary: str = "dot") -> None:
    """Render DOT text to a PNG with Graphviz's ``dot`` (apt package ``graphviz``).

    Raises InputError when ``dot`` is not installed or fails.
    """
    exe = shutil.which(dot_binary)
    if exe is None:
        raise InputError(
            f"cannot draw a PNG: Graphviz `{dot_binary}` is not installed "
            "(apt-get install graphviz); `--dot FILE` writes the graph as text instead"
        )
    proc = await asyncio.create_subprocess_exec(
        exe,
        "-Tpng",
        "-o",
        str(path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _out, err = await asyncio.wait_for(
            proc.communicate(dot_text.encode("utf-8")), DOT_TIMEOUT_SECONDS
        )
    except TimeoutError as e:
        proc.kill()
        await proc.wait()
        raise InputError(f"`dot` took longer than {DOT_TIMEOUT_SECONDS:g}s; draw modules") from e
    if proc.returncode != 0:
        raise InputError(f"`dot` failed: {err.decode('utf-8', 'replace').strip()[:500]}")
