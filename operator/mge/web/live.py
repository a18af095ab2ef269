"""Live updates: poll the store's change marks and tell every open page what changed.

The store is written by other processes too (``mge review approve``, another server, the
pipeline), so the only reliable signal is the data itself: a cheap per-project fingerprint
(:meth:`mge.store.Store.review_marks`) read every ``interval`` seconds. Pages get the keys of
the projects that changed over Server-Sent Events and re-read what they show.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from mge.errors import MGEError

__all__ = ["POLL_SECONDS", "LiveFeed", "changed_projects"]

POLL_SECONDS = 1.0
"""How often the store's change marks are read (seconds): the delay of a live update."""
SUBSCRIBER_BACKLOG = 64
"""Pending notices kept per page before older ones are dropped (a page re-reads anyway)."""

log = logging.getLogger(__name__)


def changed_projects(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """Projects whose mark differs, appeared or disappeared (sorted)."""
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))


class LiveFeed:
    """One poller, many subscribers (each an open event stream)."""

    def __init__(
        self, read_marks: Callable[[], Awaitable[dict[str, str]]], interval: float = POLL_SECONDS
    ) -> None:
        self._read = read_marks
        self._interval = interval
        self._subscribers: set[asyncio.Queue[list[str] | None]] = set()
        self._marks: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Read the first marks and start polling (an unreadable start: from no marks)."""
        try:
            self._marks = await self._read()
        except MGEError as e:
            log.warning("live updates: the first read failed: %s", e)
            self._marks = {}
        self._task = asyncio.create_task(self._poll(), name="mge-review-live-feed")

    async def stop(self) -> None:
        """Stop polling and end every subscriber's stream."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for queue in self._subscribers:
            queue.put_nowait(None)

    def subscribe(self) -> asyncio.Queue[list[str] | None]:
        """A queue receiving lists of changed project keys; None means the feed ended."""
        queue: asyncio.Queue[list[str] | None] = asyncio.Queue(SUBSCRIBER_BACKLOG)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[list[str] | None]) -> None:
        """Forget a closed stream."""
        self._subscribers.discard(queue)

    async def check(self) -> list[str]:
        """Read the marks once and notify subscribers of what changed (also called right
        after this server's own decisions, so its pages need not wait for the next poll)."""
        marks = await self._read()
        changed = changed_projects(self._marks, marks)
        self._marks = marks
        if changed:
            for queue in self._subscribers:
                if queue.full():
                    with contextlib.suppress(asyncio.QueueEmpty):
                        queue.get_nowait()
                queue.put_nowait(changed)
        return changed

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.check()
            except Exception as e:  # a busy or briefly unreadable store: try again next tick
                log.warning("live updates: reading the store failed: %s", e)
