"""`mge atomize PATH [--json] [--graph]` and `mge graph PATH [--dot] [--png]` on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import mge.cli.atomize  # noqa: F401  (registers the commands)
from mge.cli.app import app
from mge.errors import GraphCycleError, InputError

runner = CliRunner()

SHOP = {
    "shop/prices.py": '''"""Prices."""

RATE = 2


def net(amount: int) -> int:
    """Net amount."""
    return amount * RATE


def gross(amount: int) -> int:
    """Gross amount."""
    if amount < 0:
        raise ValueError("negative")
    return net(amount) + 1
''',
    "shop/ui.ts": """import { fmt } from "./fmt";

export function label(n: number): string {
  return n > 0 ? fmt(n) : "free";
}
""",
    "shop/fmt.ts": "export function fmt(n: number): string {\n  return `${n} EUR`;\n}\n",
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    for rel, text in SHOP.items():
        f = tmp_path / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    return tmp_path / "shop"


def run(*args: str) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.exception


def test_atomize_text_lists_atoms_with_span_size_complexity_and_dependencies(shop: Path) -> None:
    code, out, exc = run("atomize", str(shop))
    assert (code, exc) == (0, None)
    lines = out.splitlines()
    gross = next(line for line in lines if " gross " in line)
    assert gross.split()[:3] == ["L11-15", "function", "gross"]
    assert "loc   3" in gross and "cc  2" in gross and "← net" in gross
    assert any(" label " in line and "← fmt" in line for line in lines)
    assert "3 files, " in out


def test_atomize_json_and_graph(shop: Path) -> None:
    code, out, exc = run("atomize", str(shop), "--json", "--graph")
    assert (code, exc) == (0, None)
    data = json.loads(out)
    atoms = {a["qualname"]: a for a in data["atoms"] if a["file"].endswith("prices.py")}
    atoms |= {a["qualname"]: a for a in data["atoms"] if a["file"].endswith(".ts")}
    assert {"net", "gross", "label", "fmt", "<module>#1"} <= set(atoms)
    prices_module = next(
        a for a in data["atoms"] if a["file"].endswith("prices.py") and a["kind"] == "module"
    )
    assert atoms["gross"]["complexity"] == 2 and atoms["gross"]["span"] == {
        "startLine": 11,
        "endLine": 15,
    }
    assert atoms["net"]["id"] in atoms["gross"]["dependencies"]
    kinds = {(e["src"], e["dst"]): e["kind"] for e in data["edges"]}
    assert kinds[(atoms["gross"]["id"], atoms["net"]["id"])] == "call"
    assert kinds[(atoms["net"]["id"], prices_module["id"])] == "data"
    assert kinds[(atoms["label"]["id"], atoms["fmt"]["id"])] == "call"
    graph = data["graph"]
    assert graph["summary"]["levels"] == len(graph["levels"]) >= 3
    assert graph["levels"][0] and graph["modules"] and graph["components"]


def test_atomize_graph_text(shop: Path) -> None:
    code, out, _ = run("atomize", str(shop), "--graph")
    assert code == 0
    for expected in (
        "levels: ",
        "widths: ",
        "critical path: ",
        "modules (",
        "components (",
        "fan-out points (",
    ):
        assert expected in out


def test_graph_writes_dot_and_png(shop: Path, tmp_path: Path) -> None:
    dot, png = tmp_path / "g.dot", tmp_path / "g.png"
    code, out, exc = run("graph", str(shop), "--dot", str(dot), "--png", str(png))
    assert (code, exc) == (0, None)
    assert "critical path: " in out
    text = dot.read_text()
    assert text.startswith('digraph "mge" {') and " -> " in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_graph_of_a_stored_project_reads_atoms_and_edges_from_the_store(
    shop: Path, tmp_path: Path
) -> None:
    import asyncio

    from mge.atomization import RecursiveDecomposer, read_sources_sync
    from mge.models.project import ProjectSpec
    from mge.store import Store

    az = RecursiveDecomposer().atomize_existing(read_sources_sync([shop]))

    async def store_it() -> None:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'state' / 'mge.db'}")
        await store.upsert_project("shop", ProjectSpec(requirements="a shop"), 1)
        await store.save_atoms("shop", az.atoms)
        await store.save_edges("shop", az.edges)
        await store.close()

    (tmp_path / "state").mkdir()
    asyncio.run(store_it())
    code, out, exc = run("--workdir", str(tmp_path / "state"), "graph", "shop")
    assert (code, exc) == (0, None)
    assert f"graph: {len(az.atoms)} atoms" in out and "critical path: " in out
    code, _, exc = run("--workdir", str(tmp_path / "state"), "graph", "no-such-project")
    assert code != 0 and isinstance(exc, InputError)
    assert "projects: shop" in str(exc)


def test_a_cycle_across_files_is_reported_with_files_and_lines(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from b import g\n\n\ndef f() -> int:\n    return g()\n")
    (tmp_path / "b.py").write_text("from a import f\n\n\ndef g() -> int:\n    return f()\n")
    code, _, exc = run("atomize", str(tmp_path), "--graph")
    assert code != 0 and isinstance(exc, GraphCycleError)
    message = str(exc)
    assert "f (" in message and "a.py:4)" in message and "b.py:4)" in message
    assert message.count(" → ") == 2
    code, out, exc = run("atomize", str(tmp_path), "--graph", "--cycles", "merge")
    assert (code, exc) == (0, None) and "merged mutual recursion: 1 units from 2 atoms" in out


def test_bad_options_are_usage_errors(shop: Path) -> None:
    code, _, _ = run("atomize", str(shop), "--cycles", "sometimes")
    assert code == 2
    code, _, _ = run("graph", str(shop), "--view", "sideways")
    assert code == 2
