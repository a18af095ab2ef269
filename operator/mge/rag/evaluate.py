"""Retrieval quality: recall@k of the pattern library over a labelled set of queries.

``python -m mge.rag.evaluate`` indexes the pattern library into a throw-away Chroma (or the one
under ``--workdir``), runs every query in ``data/eval_queries.yaml`` and prints recall@k per query
and overall, with the index and search timings. Exit code 1 when the mean falls below
``--min-recall``, so CI can use it as a gate.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from mge.config import Settings
from mge.errors import InputError
from mge.rag.patterns import DEFAULT_PATTERNS_DIR, Language, PatternLibrary
from mge.rag.retriever import DEFAULT_K, IndexStats, MetadataValue, Retriever

__all__ = [
    "DEFAULT_LEARNED_PATH",
    "DEFAULT_QUERIES_PATH",
    "EvalQuery",
    "EvalReport",
    "LearnedSet",
    "QueryResult",
    "evaluate",
    "load_learned",
    "load_queries",
    "recall_at_k",
]

#: The labelled query set shipped with the package.
DEFAULT_QUERIES_PATH = Path(__file__).parent / "data" / "eval_queries.yaml"
#: Learned entries and queries over them (memory across projects, with tenancy).
DEFAULT_LEARNED_PATH = Path(__file__).parent / "data" / "eval_learned.yaml"
#: The namespace the library-only queries ask from when learned entries are in the index.
EVAL_NAMESPACE = "team-a"
#: The recall@5 the pattern library must reach (the test suite and CI gate on it).
MIN_RECALL = 0.8


class EvalQuery(BaseModel):
    """A query and the pattern ids a good retriever returns for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    query: str = Field(min_length=3)
    expect: tuple[str, ...] = Field(min_length=1)
    language: Language | None = None
    framework: str | None = None


class LearnedEntry(BaseModel):
    """Code a completed project taught, as the learn step stores it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    atom_id: str = Field(min_length=1)
    namespace: str = Field(min_length=1)
    project: str = Field(min_length=1)
    language: Literal["python", "typescript", "javascript"]
    qualname: str
    description: str
    code: str = Field(min_length=1)


class LearnedQuery(BaseModel):
    """A query asked by a project in ``namespace``: what it should get (``expect``, learned atom
    ids or pattern ids) and what tenancy must keep from it (``forbid``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    query: str = Field(min_length=3)
    expect: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    language: Language | None = None
    namespace: str = Field(min_length=1)


class LearnedSet(BaseModel):
    """The learned entries and the queries over them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entries: tuple[LearnedEntry, ...]
    queries: tuple[LearnedQuery, ...]


class QueryResult(BaseModel):
    """What the retriever returned for one query, its recall, and the first relevant rank."""

    model_config = ConfigDict(frozen=True)

    query: EvalQuery
    returned: tuple[str, ...]
    recall: float

    @property
    def reciprocal_rank(self) -> float:
        """1/rank of the first expected id returned (1.0 = it came first), 0 if none."""
        for rank, pattern_id in enumerate(self.returned, start=1):
            if pattern_id in self.query.expect:
                return 1.0 / rank
        return 0.0


class LearnedResult(BaseModel):
    """What the retriever returned for one learned-set query."""

    model_config = ConfigDict(frozen=True)

    query: LearnedQuery
    returned: tuple[str, ...]
    recall: float


class EvalReport(BaseModel):
    """Per-query results, the mean recall, and the timings."""

    model_config = ConfigDict(frozen=True)

    k: int
    results: tuple[QueryResult, ...]
    mean_recall: float
    index: IndexStats
    search_seconds: float
    learned_results: tuple[LearnedResult, ...] = ()
    """The learned set's queries (empty when it was not evaluated)."""

    @property
    def learned_recall(self) -> float:
        """Mean recall@k over the learned set's queries that expect something."""
        scored = [r.recall for r in self.learned_results if r.query.expect]
        return statistics.fmean(scored) if scored else 0.0

    @property
    def leaks(self) -> int:
        """Hits tenancy should have kept out (a forbidden id returned), over all queries."""
        return sum(len(set(r.query.forbid) & set(r.returned)) for r in self.learned_results)

    @property
    def mrr(self) -> float:
        """Mean reciprocal rank of the first relevant hit."""
        return statistics.fmean(r.reciprocal_rank for r in self.results) if self.results else 0.0


def recall_at_k(expected: Sequence[str], returned: Sequence[str], k: int) -> float:
    """Share of ``expected`` ids found among the first ``k`` of ``returned``."""
    if not expected:
        raise ValueError("recall needs at least one expected id")
    top = set(returned[:k])
    return sum(1 for e in set(expected) if e in top) / len(set(expected))


def load_learned(path: Path = DEFAULT_LEARNED_PATH) -> LearnedSet:
    """The learned entries and their queries in ``path``."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return LearnedSet.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as e:
        raise InputError(f"cannot read the learned evaluation set from {path}: {e}") from e


async def _learn(retriever: Retriever, learned: LearnedSet) -> None:
    by_scope: dict[str, list[tuple[str, str, Any, dict[str, MetadataValue]]]] = {}
    for e in learned.entries:
        meta: dict[str, MetadataValue] = {
            "title": e.qualname,
            "qualname": e.qualname,
            "description": e.description,
            "kind": "learned",
            "project": e.project,
            "namespace": e.namespace,
        }
        by_scope.setdefault(f"{e.namespace}/{e.project}", []).append(
            (e.atom_id, e.code, e.language, meta)
        )
    for scope, rows in by_scope.items():
        await retriever.learn_many(rows, scope=scope)


async def _learned_results(
    retriever: Retriever, learned: LearnedSet, k: int
) -> tuple[LearnedResult, ...]:
    results = []
    for q in learned.queries:
        hits = await retriever.search(q.query, k=k, language=q.language, namespaces=[q.namespace])
        returned = tuple(h.pattern_id for h in hits)
        recall = recall_at_k(q.expect, returned, k) if q.expect else 1.0
        results.append(LearnedResult(query=q, returned=returned, recall=recall))
    return tuple(results)


def load_queries(path: Path = DEFAULT_QUERIES_PATH) -> list[EvalQuery]:
    """The labelled queries in ``path`` (a YAML list)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return TypeAdapter(list[EvalQuery]).validate_python(raw)
    except (OSError, yaml.YAMLError, ValidationError) as e:
        raise InputError(f"cannot read evaluation queries from {path}: {e}") from e


async def evaluate(
    retriever: Retriever,
    patterns_dir: Path,
    queries: Sequence[EvalQuery],
    k: int = DEFAULT_K,
    *,
    use_filters: bool = True,
    learned: LearnedSet | None = None,
) -> EvalReport:
    """Index ``patterns_dir`` with ``retriever`` and measure recall@k over ``queries``.

    With ``use_filters`` false the queries' language/framework filters are ignored, which
    measures the embedding alone.

    With ``learned``, its entries are learned first (under their namespaces) and every query
    also searches the learned collection, from the namespace it asks from (the library queries
    from :data:`EVAL_NAMESPACE`): learned code must be found, must not crowd the library's
    answers out, and must stay in its namespace.

    Raises InputError when a query expects a pattern id the library does not have (a typo in
    the labels would otherwise read as a retrieval miss).
    """
    patterns = PatternLibrary.load(patterns_dir)
    known = {p.id for p in patterns}
    unknown = sorted({e for q in queries for e in q.expect} - known)
    if unknown:
        raise InputError(f"evaluation queries expect unknown pattern ids: {unknown}")
    if learned is not None:
        ids = known | {e.atom_id for e in learned.entries}
        unknown = sorted({e for q in learned.queries for e in (*q.expect, *q.forbid)} - ids)
        if unknown:
            raise InputError(f"learned evaluation queries name unknown ids: {unknown}")
    stats = await retriever.index(patterns)
    if learned is not None:
        await _learn(retriever, learned)
    results = []
    started = time.perf_counter()
    for q in queries:
        hits = await retriever.search(
            q.query,
            k=k,
            language=q.language if use_filters else None,
            framework=q.framework if use_filters else None,
            include_learned=learned is not None,
            namespaces=[EVAL_NAMESPACE] if learned is not None else None,
        )
        returned = tuple(h.pattern_id for h in hits)
        results.append(
            QueryResult(query=q, returned=returned, recall=recall_at_k(q.expect, returned, k))
        )
    learned_results = await _learned_results(retriever, learned, k) if learned else ()
    search_seconds = time.perf_counter() - started
    mean = statistics.fmean(r.recall for r in results) if results else 0.0
    return EvalReport(
        k=k,
        results=tuple(results),
        mean_recall=mean,
        index=stats,
        search_seconds=search_seconds,
        learned_results=learned_results,
    )


def render(report: EvalReport) -> str:
    """The report as text: one line per query (misses show what came back instead)."""
    lines = []
    for r in report.results:
        mark = "ok  " if r.recall == 1.0 else "MISS"
        lines.append(f"{mark} recall@{report.k}={r.recall:.2f}  {r.query.query}")
        if r.recall < 1.0:
            lines.append(f"       expected {list(r.query.expect)}, got {list(r.returned)}")
    for lr in report.learned_results:
        leaked = sorted(set(lr.query.forbid) & set(lr.returned))
        mark = "LEAK" if leaked else ("ok  " if lr.recall == 1.0 else "MISS")
        lines.append(
            f"{mark} learned recall@{report.k}={lr.recall:.2f}  [{lr.query.namespace}] "
            f"{lr.query.query}"
        )
        if lr.recall < 1.0 or leaked:
            lines.append(f"       expected {list(lr.query.expect)}, got {list(lr.returned)}")
    n = len(report.results) + len(report.learned_results)
    if report.learned_results:
        lines.append(
            f"\nlearned set: recall@{report.k} = {report.learned_recall:.3f} over "
            f"{sum(1 for r in report.learned_results if r.query.expect)} queries; "
            f"tenancy leaks: {report.leaks}; library queries with learned entries present: "
            f"recall@{report.k} = {report.mean_recall:.3f}"
        )
    lines.append(
        f"\nmean recall@{report.k} = {report.mean_recall:.3f} (MRR {report.mrr:.3f}) over {n} "
        "queries; "
        f"index: {report.index.embedded} embedded, {report.index.unchanged} unchanged in "
        f"{report.index.seconds:.2f} s; search: {1000 * report.search_seconds / max(n, 1):.1f} "
        "ms/query"
    )
    return "\n".join(lines)


def main(
    patterns: Annotated[Path, typer.Option(help="Pattern library folder.")] = DEFAULT_PATTERNS_DIR,
    queries: Annotated[Path, typer.Option(help="Labelled queries (YAML).")] = DEFAULT_QUERIES_PATH,
    k: Annotated[int, typer.Option(min=1, max=50, help="Hits per query.")] = DEFAULT_K,
    workdir: Annotated[
        Path | None, typer.Option(help="Reuse this workdir's Chroma (default: a temp dir).")
    ] = None,
    min_recall: Annotated[float, typer.Option(help="Fail below this mean recall.")] = MIN_RECALL,
    filters: Annotated[
        bool, typer.Option(help="Apply each query's language/framework filter.")
    ] = True,
    learned: Annotated[
        Path | None,
        typer.Option(
            help="Also learn these entries and run their queries (memory across projects); "
            "e.g. the shipped data/eval_learned.yaml."
        ),
    ] = None,
) -> None:
    """Print recall@k per query for the pattern library."""

    async def run(folder: Path) -> EvalReport:
        retriever = await Retriever.open(Settings(workdir=folder))
        extra = load_learned(learned) if learned is not None else None
        return await evaluate(
            retriever, patterns, load_queries(queries), k, use_filters=filters, learned=extra
        )

    if workdir is not None:
        report = asyncio.run(run(workdir))
    else:
        with tempfile.TemporaryDirectory(prefix="mge-rag-eval-") as tmp:
            report = asyncio.run(run(Path(tmp)))
    typer.echo(render(report))
    if report.leaks:
        typer.echo(f"{report.leaks} learned hit(s) crossed a namespace", err=True)
        raise typer.Exit(code=1)
    if report.mean_recall < min_recall:
        typer.echo(f"recall@{k} {report.mean_recall:.3f} is below {min_recall}", err=True)
        raise typer.Exit(code=1)


if __name__ == "__main__":
    typer.run(main)
