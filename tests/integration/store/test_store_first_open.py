"""Opening a new store from several processes at once: every one of them succeeds.

`mge review` started beside `mge run` on a store neither has created yet is a real situation. On
SQLite, switching a new file to WAL fails at once with "database is locked" (no busy wait) while
another connection holds the write lock; the README's test command once failed that way under
load. Two tests: the race forced deterministically, and real processes started together many
times over, with the CPUs kept busy so the interleavings that only happen on a loaded machine do.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
from collections.abc import Callable, Iterator
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from mge.store import Store, head_revision, revision_of

PROCESSES = 4
"""Processes opening the same new store at once."""
ROUNDS = 12
"""New stores each group of processes opens (one per round)."""
BURNERS = 2
"""Busy-looping processes that keep both CPUs of the CI machine loaded during the rounds."""
HOLD_SECONDS = 1.0
"""How long the foreign writer keeps the write lock in the deterministic race."""


async def test_first_open_waits_for_a_writer_holding_a_new_file(tmp_path: Path) -> None:
    """Another connection holds the write lock of a file not yet in WAL mode: the open waits."""
    path = tmp_path / "mge.db"
    foreign = sqlite3.connect(path, isolation_level=None)
    foreign.execute("BEGIN IMMEDIATE")
    foreign.execute("CREATE TABLE someone_elses (x)")
    opening = asyncio.create_task(Store.open(f"sqlite:///{path}"))
    await asyncio.sleep(HOLD_SECONDS)
    assert not opening.done(), "the open finished while another connection held the write lock"
    foreign.execute("COMMIT")
    foreign.close()
    store = await asyncio.wait_for(opening, timeout=60)
    try:
        assert await store.schema_revision() == head_revision()
    finally:
        await store.close()


def _open_each(barrier: Barrier, urls: list[str], failures: multiprocessing.Queue[str]) -> None:
    """One process: for every round, wait for the others, then open (and so create) the store."""

    async def open_and_close(url: str) -> None:
        store = await Store.open(url)
        await store.close()

    for url in urls:
        barrier.wait(timeout=120)
        try:
            asyncio.run(open_and_close(url))
        except Exception as e:  # every failure is reported, the round goes on
            failures.put(f"{url}: {e!r}")
    failures.put("done")


def _burn() -> None:
    while True:
        pass


@pytest.fixture
def busy_cpus() -> Iterator[None]:
    ctx = multiprocessing.get_context("spawn")
    burners = [ctx.Process(target=_burn, daemon=True) for _ in range(BURNERS)]
    for b in burners:
        b.start()
    try:
        yield
    finally:
        for b in burners:
            b.kill()
            b.join()


@pytest.mark.slow
@pytest.mark.usefixtures("busy_cpus")
async def test_processes_opening_a_new_store_at_once_all_succeed(
    new_db_urls: Callable[[int], list[str]],
) -> None:
    urls = new_db_urls(ROUNDS)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    failures: multiprocessing.Queue[str] = ctx.Queue()
    procs = [
        ctx.Process(target=_open_each, args=(barrier, urls, failures)) for _ in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    reports: list[str] = []
    done = 0
    while done < PROCESSES:
        item = await asyncio.to_thread(failures.get, True, 600)
        if item == "done":
            done += 1
        else:
            reports.append(item)
    for p in procs:
        p.join(timeout=60)
    assert reports == [], f"{len(reports)} of {PROCESSES * ROUNDS} opens failed: {reports[:3]}"
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    for url in urls:
        assert await revision_of(url) == head_revision()
