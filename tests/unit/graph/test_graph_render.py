"""DOT text written by hand (checked by Graphviz itself) and PNG through `dot`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from graph_support import atom, chain_atoms

from mge.errors import InputError
from mge.graph import DependencyAnalyzer, render_png, to_dot
from mge.graph.render import MAX_ATOMS_PER_PICTURE
from mge.models import Edge


def test_dot_has_clusters_labels_and_edge_styles_and_graphviz_accepts_it() -> None:
    atoms = [atom('say "hi"'), atom("b", ['say "hi"'], file="lib/other.py")]
    edges = [Edge(src="b", dst='say "hi"', kind="type")]
    dg = DependencyAnalyzer().analyze(atoms, edges)
    text = to_dot(dg)
    assert text.startswith('digraph "mge" {\n') and text.endswith("}\n")
    assert "subgraph cluster_0" in text and 'label="pkg/mod.py"' in text
    assert '"b" -> "say \\"hi\\""' in text and "style=dashed" in text
    assert "L1 · 3 loc · cc 1" in text
    checked = subprocess.run(["dot", "-Tcanon"], input=text, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_large_graphs_are_drawn_by_module() -> None:
    dg = DependencyAnalyzer().analyze(chain_atoms(MAX_ATOMS_PER_PICTURE + 1))
    text = to_dot(dg)
    assert "cluster" not in text and "atoms · ready after level" in text
    assert to_dot(dg, view="atoms").count(" -> ") == MAX_ATOMS_PER_PICTURE


async def test_png_is_rendered_by_graphviz(tmp_path: Path) -> None:
    dg = DependencyAnalyzer().analyze(chain_atoms(5))
    out = tmp_path / "g.png"
    await render_png(to_dot(dg), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_a_missing_dot_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Graphviz `no-such-dot` is not installed"):
        await render_png("digraph {}", tmp_path / "g.png", dot_binary="no-such-dot")


async def test_broken_dot_text_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="`dot` failed"):
        await render_png("digraph { a -> }", tmp_path / "g.png")
