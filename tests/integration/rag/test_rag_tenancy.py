"""Memory across projects on a real Chroma server, as the operator uses it: learning at
completion, tenancy between namespaces, re-learning as a no-op, and forgetting.

A Project retrieves learned code only from its own namespace unless the operator's
``share_learned`` setting shares another namespace (or all of them).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mge.config import OperatorSettings, Settings
from mge.kube.stages import StageRunner
from mge.models.atoms import AtomicUnit, AtomState, atom_id
from mge.pipeline.learning import AtomRecord, LearnEntry, select_learnable
from mge.rag import Retriever
from mge.store import Store

CHUNK = '''def chunked(items: list[int], size: int) -> list[list[int]]:
    """Split items into consecutive lists of at most size elements."""
    if size < 1:
        raise ValueError("size must be positive")
    return [items[i : i + size] for i in range(0, len(items), size)]
'''


def _unit(name: str, spec: str) -> AtomicUnit:
    return AtomicUnit(
        id=atom_id("app/util.py", name),
        file="app/util.py",
        language="python",
        kind="function",
        qualname=name,
        signature=f"def {name}(items: list[int], size: int) -> list[list[int]]",
        spec=spec,
        estimated_loc=3,
        complexity=1,
    )


LEARNED = _unit("chunked", "Split items into consecutive lists of at most size elements.")
ASKING = _unit("batches", "Group the items into consecutive batches of a given size.")


def _entries(namespace: str, project: str, code: str) -> list[LearnEntry]:
    return select_learnable(
        [AtomRecord(LEARNED, AtomState.VALIDATED, code)],
        [],
        [],
        project=project,
        namespace=namespace,
    )


async def _seen(store: Store, settings: Settings, key: str) -> list[tuple[str, str]]:
    """(namespace, project) of every learned example the Project ``key`` is shown."""
    runner = StageRunner(store, settings)
    await runner.patterns.open()  # examples never wait for the index to open
    examples = runner.memory(key).examples
    assert examples is not None
    found = await examples(ASKING)
    return [(e.entry_id.split("/")[0], e.project) for e in found]


@pytest.mark.slow
async def test_a_project_sees_learned_code_only_from_its_namespace_unless_shared(
    chroma_server: str, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]  # the server is shared by the module's tests
    ns_a, ns_b = f"a-{tag}", f"b-{tag}"
    code = CHUNK + f"# {tag}\n"
    store = await Store.open(f"sqlite:///{tmp_path / 'mge.db'}")
    try:
        base = Settings(workdir=tmp_path / "w", chroma_url=chroma_server)
        runner = StageRunner(store, base)
        first = await runner.patterns.learn(_entries(ns_a, "shop", code), f"{ns_a}/shop")
        assert len(first.added) == 1 and first.unchanged == []
        again = await runner.patterns.learn(_entries(ns_a, "shop", code), f"{ns_a}/shop")
        assert again.added == [] and again.unchanged == first.added  # re-learning: a no-op

        # the same namespace sees it; another namespace does not
        assert await _seen(store, base, f"{ns_a}/catalog") == [(ns_a, "shop")]
        assert await _seen(store, base, f"{ns_b}/catalog") == []
        # nor does B's planning (the pattern source searches learned code too)
        hits = await runner.patterns.source("python", [ns_b])(ASKING.spec)
        assert all(getattr(h, "source", "patterns") == "patterns" for h in hits)

        # shared explicitly: by name, or all
        for share in ([ns_a], "all"):
            shared = base.model_copy(
                update={"operator": OperatorSettings(share_learned=share)}  # type: ignore[arg-type]
            )
            assert (ns_a, "shop") in await _seen(store, shared, f"{ns_b}/catalog")
        elsewhere = base.model_copy(
            update={"operator": OperatorSettings(share_learned=[f"c-{tag}"])}
        )
        assert await _seen(store, elsewhere, f"{ns_b}/catalog") == []

        # forgetting a project, then a namespace
        retriever = await Retriever.open(base)
        await runner.patterns.learn(_entries(ns_a, "blog", code), f"{ns_a}/blog")
        assert await retriever.forget(namespace=ns_a, project="shop") == 1
        assert await _seen(store, base, f"{ns_a}/catalog") == [(ns_a, "blog")]
        assert await retriever.forget(namespace=ns_a) == 1
        assert await _seen(store, base, f"{ns_a}/catalog") == []
    finally:
        await store.close()


@pytest.mark.slow
def test_mge_rag_forget_removes_a_namespace(
    chroma_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from mge.cli.app import app

    tag = uuid.uuid4().hex[:8]
    ns = f"f-{tag}"
    settings = Settings(workdir=tmp_path, chroma_url=chroma_server)

    async def learn() -> None:
        retriever = await Retriever.open(settings)
        entries = _entries(ns, "shop", CHUNK + f"# {tag}\n")
        rows = [(e.atom_id, e.code, e.language, dict(e.metadata)) for e in entries]
        await retriever.learn_many(rows, scope=f"{ns}/shop")

    asyncio.run(learn())
    monkeypatch.setenv("MGE_CHROMA_URL", chroma_server)
    import mge.cli.rag  # noqa: F401  registers the command

    runner = CliRunner()
    result = runner.invoke(app, ["--workdir", str(tmp_path), "rag", "forget", "--namespace", ns])
    assert result.exit_code == 0, result.output
    assert f"forgot 1 learned entry of namespace {ns!r}" in result.output
    again = runner.invoke(app, ["--workdir", str(tmp_path), "rag", "forget", "--namespace", ns])
    assert "forgot 0 learned entries" in again.output
    missing = runner.invoke(app, ["--workdir", str(tmp_path), "rag", "forget"])
    assert missing.exit_code != 0
