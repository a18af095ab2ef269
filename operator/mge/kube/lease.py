"""Leader election decisions over a coordination.k8s.io/v1 Lease — pure, table-tested.

Several operator replicas run; only the one holding the Lease handles Projects (active/standby).
Each replica looks at the Lease and :func:`decide_lease` says what to do:

- no Lease yet → ``create`` it with us as holder;
- we hold it → ``renew`` (write a fresh ``renewTime``);
- nobody holds it (``holderIdentity`` empty: the leader released it on a graceful stop) →
  ``acquire`` at once;
- another replica holds it → ``wait``, unless the Lease has not changed for its whole
  ``leaseDurationSeconds`` *as this replica measured it* (:class:`Sighting`): then the holder is
  gone (SIGKILL, lost node) and we ``acquire`` it.

Expiry is measured on this replica's monotonic clock from the moment it first saw the Lease's
current ``resourceVersion`` (as client-go does), never from the ``renewTime`` another machine
wrote, so clock skew between nodes cannot make two leaders. Every write is a replace carrying
the ``resourceVersion`` read: of two replicas racing for the Lease one gets 409 Conflict.

The leader keeps its side of the bargain with :func:`must_step_down`: when it has not renewed
for ``duration - renew`` seconds (measured from *before* its last successful write was sent) it
stops its workers and exits, strictly before any standby can consider the Lease expired.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

LEASE_API_VERSION = "coordination.k8s.io/v1"

LeaseAction = Literal["create", "acquire", "renew", "wait"]


@dataclass(frozen=True)
class LeaseRecord:
    """What matters of a Lease object."""

    holder: str
    """``spec.holderIdentity``; empty when released."""
    duration_seconds: float
    """``spec.leaseDurationSeconds``."""
    version: str
    """``metadata.resourceVersion``: changes with every write (renewals included)."""
    transitions: int = 0
    """``spec.leaseTransitions``: how many times the Lease changed hands."""
    acquired: str | None = None
    """``spec.acquireTime`` as written (kept on renewals)."""

    @classmethod
    def from_object(cls, obj: dict[str, Any] | None) -> LeaseRecord | None:
        """The record of a Lease as the API returns it (camelCase dict); None for no Lease."""
        if obj is None:
            return None
        spec = obj.get("spec") or {}
        acquired = spec.get("acquireTime") or spec.get("acquire_time")
        return cls(
            holder=str(spec.get("holderIdentity") or spec.get("holder_identity") or ""),
            duration_seconds=float(
                spec.get("leaseDurationSeconds") or spec.get("lease_duration_seconds") or 0
            ),
            version=str((obj.get("metadata") or {}).get("resourceVersion") or ""),
            transitions=int(spec.get("leaseTransitions") or spec.get("lease_transitions") or 0),
            acquired=str(acquired) if acquired else None,
        )


@dataclass(frozen=True)
class Sighting:
    """When this replica first saw the Lease at its current ``resourceVersion``."""

    version: str
    at: float
    """Monotonic seconds (this process's clock)."""


def sight(previous: Sighting | None, record: LeaseRecord | None, now: float) -> Sighting | None:
    """The sighting after looking at ``record`` at ``now``: kept while the Lease is unchanged,
    restarted when it changed (a renewal or a new holder)."""
    if record is None:
        return None
    if previous is not None and previous.version == record.version:
        return previous
    return Sighting(version=record.version, at=now)


@dataclass(frozen=True)
class LeaseDecision:
    """What to do with the Lease, why, and (for ``wait``) when to look again at the latest."""

    action: LeaseAction
    reason: str
    wait_seconds: float = 0.0


def decide_lease(
    record: LeaseRecord | None,
    me: str,
    seen: Sighting | None,
    now: float,
    *,
    retry_seconds: float,
) -> LeaseDecision:
    """Create, acquire, renew or wait (pure). ``seen`` is :func:`sight` of ``record``;
    ``retry_seconds`` is how often a standby looks again."""
    if record is None:
        return LeaseDecision("create", "no Lease yet")
    if record.holder == me:
        return LeaseDecision("renew", "we hold the Lease")
    if not record.holder:
        return LeaseDecision("acquire", "the Lease was released")
    if seen is None or seen.version != record.version:
        return LeaseDecision("wait", f"held by {record.holder} (first sighting)", retry_seconds)
    unchanged = now - seen.at
    if unchanged >= record.duration_seconds:
        return LeaseDecision(
            "acquire",
            f"held by {record.holder} but not renewed for {unchanged:.1f} s "
            f"(lease {record.duration_seconds:g} s)",
        )
    left = record.duration_seconds - unchanged
    return LeaseDecision("wait", f"held by {record.holder}", min(retry_seconds, left))


def must_step_down(last_renewed: float, now: float, duration: float, renew: float) -> bool:
    """True when the leader has gone ``duration - renew`` seconds without a successful renewal
    (``last_renewed``: monotonic time *before* that write was sent): it must stop its workers
    now, ``renew`` seconds before a standby may take the Lease."""
    return now - last_renewed >= duration - renew


def lease_body(
    name: str,
    namespace: str,
    me: str,
    *,
    duration_seconds: float,
    now: datetime,
    record: LeaseRecord | None,
) -> dict[str, Any]:
    """The Lease to write for ``create``, ``acquire`` or ``renew`` by ``me`` at wall time
    ``now`` (UTC); carries ``record``'s resourceVersion so a lost race is a 409 Conflict."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    taking = record is None or record.holder != me
    transitions = 0 if record is None else record.transitions + (1 if taking else 0)
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if record is not None:
        metadata["resourceVersion"] = record.version
    return {
        "apiVersion": LEASE_API_VERSION,
        "kind": "Lease",
        "metadata": metadata,
        "spec": {
            "holderIdentity": me,
            "leaseDurationSeconds": max(1, math.ceil(duration_seconds)),
            "acquireTime": stamp if taking or record is None else record.acquired or stamp,
            "renewTime": stamp,
            "leaseTransitions": transitions,
        },
    }


def released_body(name: str, namespace: str, record: LeaseRecord) -> dict[str, Any]:
    """The Lease with no holder (graceful stop): a standby acquires it at its next look."""
    return {
        "apiVersion": LEASE_API_VERSION,
        "kind": "Lease",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": record.version},
        "spec": {
            "leaseDurationSeconds": max(1, math.ceil(record.duration_seconds)),
            "leaseTransitions": record.transitions,
        },
    }
