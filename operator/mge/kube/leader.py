"""Active/standby replicas: hold a coordination.k8s.io Lease to handle Projects.

The decisions are pure (:mod:`mge.kube.lease`); this module only loops over them with the one
API client. The startup hook calls :meth:`LeaderElector.acquire`, which returns once this replica
holds the Lease (a standby waits there, so kopf never starts watching Projects on it); then
:meth:`LeaderElector.keep` renews it in the background. A leader that cannot renew in time
(:func:`~mge.kube.lease.must_step_down`) calls ``on_lost`` — stop the workers at once — and exits
the process with :data:`LOST_LEASE_EXIT_CODE`, so the Deployment restarts it as a standby. A
watchdog thread exits the process too if the event loop is too busy to notice in time. On a
graceful stop the cleanup hook stops the workers first and then :meth:`LeaderElector.release`
clears the holder, so a standby takes over at its next look instead of after the lease duration.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from mge import metrics
from mge.config import OperatorSettings
from mge.errors import ConfigError, KubeAPIError, KubeUnavailable
from mge.kube.client import KubeClient
from mge.kube.lease import (
    LeaseRecord,
    Sighting,
    decide_lease,
    lease_body,
    must_step_down,
    released_body,
    sight,
)

log = logging.getLogger("mge.operator.leader")

LOST_LEASE_EXIT_CODE = 75
"""Exit status of a leader that lost its Lease (EX_TEMPFAIL: restart me, as a standby)."""
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
DEFAULT_NAMESPACE = "default"
STANDBY_LOOK_SECONDS = 1.0
HEARTBEAT_SECONDS = 0.25
"""How often the leader's event loop marks that it runs; the watchdog reads it to say, with the
loop thread's stack, when something keeps the loop from renewing the Lease."""
"""A standby looks at the Lease at least this often (seconds; or every renew period if
shorter): a released Lease is taken within about a second. One GET per second is cheap."""


def lease_namespace(settings: OperatorSettings, sa_file: Path = SERVICE_ACCOUNT_NAMESPACE) -> str:
    """Where the Lease lives: the operator's namespace, else its ServiceAccount's, else
    ``default``."""
    if settings.namespace:
        return settings.namespace
    try:
        return sa_file.read_text().strip() or DEFAULT_NAMESPACE
    except OSError:
        return DEFAULT_NAMESPACE


def identity() -> str:
    """This process's holder identity: pod name (hostname), pid and a random tail — a restarted
    process is a new candidate, never mistaken for the holder it replaced."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class LeaderElector:
    """One replica's side of the election (see the module docstring)."""

    def __init__(
        self,
        kube: KubeClient,
        *,
        name: str,
        namespace: str,
        duration: float,
        renew: float,
        me: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        exit_process: Callable[[int], None] = os._exit,
    ) -> None:
        self.kube = kube
        self.name, self.namespace = name, namespace
        self.duration, self.renew = duration, renew
        self.me = me or identity()
        self.clock = clock
        self.exit_process = exit_process
        self.record: LeaseRecord | None = None
        self.seen: Sighting | None = None
        self.last_renewed: float | None = None
        """Monotonic time before our last successful write (None: we do not lead)."""
        self._task: asyncio.Task[None] | None = None
        self._beat_task: asyncio.Task[None] | None = None
        self.beat: float | None = None
        """Monotonic time the event loop last ran the heartbeat (None: not keeping the Lease)."""
        self._loop_thread: int | None = None
        self._watchdog: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def leading(self) -> bool:
        """True while we hold the Lease and are within its renew deadline."""
        return self.last_renewed is not None and not must_step_down(
            self.last_renewed, self.clock(), self.duration, self.renew
        )

    async def _look(self) -> None:
        obj = await self.kube.get_lease(self.namespace, self.name, request_seconds=self.renew)
        self.record = LeaseRecord.from_object(obj)
        self.seen = sight(self.seen, self.record, self.clock())

    async def _write(self) -> bool:
        """Write us as holder over ``self.record``; True if the API took it."""
        started = self.clock()
        body = lease_body(
            self.name,
            self.namespace,
            self.me,
            duration_seconds=self.duration,
            now=datetime.now(UTC),
            record=self.record,
        )
        out = await self.kube.write_lease(body, request_seconds=self.renew)
        if out is None:
            return False
        self.record = LeaseRecord.from_object(out)
        self.seen = sight(self.seen, self.record, self.clock())
        self.last_renewed = started
        metrics.set_leader(True)
        return True

    async def acquire(self) -> None:
        """Return once we hold the Lease (a standby waits here, looking every
        :data:`STANDBY_LOOK_SECONDS`)."""
        said = ""
        look = min(self.renew, STANDBY_LOOK_SECONDS)
        while True:
            wait = look
            try:
                await self._look()
                decision = decide_lease(
                    self.record, self.me, self.seen, self.clock(), retry_seconds=look
                )
                if decision.action == "wait":
                    wait = decision.wait_seconds
                    if decision.reason != said:
                        log.info("standby (%s): Lease %s %s", self.me, self.name, decision.reason)
                        said = decision.reason
                elif await self._write():
                    log.info(
                        "leading as %s: Lease %s/%s (%s)",
                        self.me,
                        self.namespace,
                        self.name,
                        decision.reason,
                    )
                    return
                else:
                    wait = 0.0  # lost a race: look again at once
            except KubeUnavailable as e:  # transient: keep trying, say why
                log.warning("standby: cannot look at Lease %s: %s", self.name, e)
            except KubeAPIError as e:  # 403 and the like: waiting cannot fix it
                raise ConfigError(
                    f"leader election: the API server refused the Lease {self.namespace}/"
                    f"{self.name} ({e}); grant this ServiceAccount get/update (and create) on "
                    "leases.coordination.k8s.io in that namespace, as the chart's leader-election "
                    "Role does, or run a single replica with MGE_LEADER_ELECTION=false"
                ) from e
            await asyncio.sleep(max(wait, 0.05))

    def keep(self, on_lost: Callable[[], Awaitable[None]]) -> None:
        """Renew the Lease in the background; on losing it run ``on_lost`` and exit."""
        self._task = asyncio.create_task(self._keep(on_lost), name="mge-lease-renewal")
        self._loop_thread = threading.get_ident()
        self.beat = self.clock()
        self._beat_task = asyncio.create_task(self._heartbeat(), name="mge-loop-heartbeat")
        self._watchdog = threading.Thread(
            target=self._watch, name="mge-lease-watchdog", daemon=True
        )
        self._watchdog.start()

    async def _renew_once(self) -> bool:
        assert self.last_renewed is not None
        left = self.last_renewed + self.duration - self.renew - self.clock()
        try:
            async with asyncio.timeout(max(left, 0.01)):
                await self._look()
                if self.record is None or self.record.holder != self.me:
                    holder = "nobody" if self.record is None else self.record.holder or "nobody"
                    log.error("Lease %s is held by %s, not by us", self.name, holder)
                    self.last_renewed = None
                    return False
                return await self._write()
        except (KubeAPIError, TimeoutError) as e:
            log.warning("could not renew Lease %s: %s", self.name, str(e) or "timed out")
            return False

    async def _keep(self, on_lost: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(self.renew)
            while not await self._renew_once():
                if self.last_renewed is None or must_step_down(
                    self.last_renewed, self.clock(), self.duration, self.renew
                ):
                    await self._step_down(on_lost)
                    return
                await asyncio.sleep(min(1.0, self.renew / 2))

    async def _step_down(self, on_lost: Callable[[], Awaitable[None]]) -> None:
        log.error(
            "lost the Lease %s: stopping the workers and exiting (code %d) to restart as a standby",
            self.name,
            LOST_LEASE_EXIT_CODE,
        )
        self.last_renewed = None
        metrics.set_leader(False)
        try:
            async with asyncio.timeout(max(self.renew / 2, 0.5)):
                await on_lost()
        finally:
            logging.shutdown()
            self.exit_process(LOST_LEASE_EXIT_CODE)

    async def _heartbeat(self) -> None:
        while True:
            self.beat = self.clock()
            await asyncio.sleep(HEARTBEAT_SECONDS)

    def _watch(self) -> None:
        """Backstop in a thread: exit the process if the loop did not step down in time; and
        say where the loop is stuck when it has not run for a renew period."""
        reported: float | None = None
        while not self._stopping.wait(0.2):
            beat, now = self.beat, self.clock()
            stalled = beat is not None and now - beat > max(self.renew, 4 * HEARTBEAT_SECONDS)
            if stalled and reported != beat:
                reported = beat
                log.warning(
                    "the event loop has not run for %.1f s (the Lease %s is renewed every %g s); "
                    "it is busy in:\n%s",
                    now - (beat or now),
                    self.name,
                    self.renew,
                    self._loop_stack(),
                )
            last = self.last_renewed
            if last is None:
                continue
            if now - last >= self.duration - self.renew / 2:
                log.error("Lease %s not renewed in time: exiting now", self.name)
                self.exit_process(LOST_LEASE_EXIT_CODE)
                return

    def _loop_stack(self) -> str:
        """The last frames of the event loop's thread (where it is stuck), for the log."""
        frame = sys._current_frames().get(self._loop_thread or 0)
        if frame is None:
            return "  (the event loop's thread is gone)"
        return "".join(traceback.format_stack(frame)[-12:]).rstrip()

    async def release(self) -> None:
        """Stop renewing and clear the holder (graceful stop: workers already stopped)."""
        self._stopping.set()
        tasks = [t for t in (self._task, self._beat_task) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.beat = None
        if self.last_renewed is None or self.record is None:
            return
        self.last_renewed = None
        metrics.set_leader(False)
        try:
            async with asyncio.timeout(self.renew):
                await self._look()
                if self.record is not None and self.record.holder == self.me:
                    body = released_body(self.name, self.namespace, self.record)
                    if await self.kube.write_lease(body, request_seconds=self.renew) is not None:
                        log.info("released the Lease %s", self.name)
        except (KubeAPIError, TimeoutError) as e:
            log.warning("could not release Lease %s (it expires by itself): %s", self.name, e)
