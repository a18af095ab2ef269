"""The review interface over the Kubernetes API, acting as the reviewer.

Every call goes to the API server with the reviewer's own bearer token (one
:class:`~mge.kube.client.KubeClient` per person, made by :func:`~mge.kube.client.user_api_client`),
so RBAC decides what they may read and do and the audit log names them; this server has no
rights of its own. A decision is a merge patch of the AtomReview's spec with the
``mge.dev/decided-by`` annotation = the user the API server authenticated (SelfSubjectReview),
preconditioned on the resourceVersion read. The operator carries it out; the backend waits a
little for the outcome and otherwise lets the live updates bring it.

Store-backed details (contract, context, attempts) come from the store only after the same
token has been allowed to read the AtomReview.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from mge.errors import InputError, KubeAPIError
from mge.kube.children import LABEL_PROJECT
from mge.kube.client import KubeClient
from mge.kube.reviews import review_name
from mge.models.review import WEIGHTS
from mge.web.backend import Forbidden, LoginRequired, NotFound, StaleItem
from mge.web.kube_views import (
    READ_ONLY_MESSAGE,
    decision_patch,
    kube_atom_view,
    kube_marks,
    kube_outcome,
    kube_project_view,
    kube_queue_view,
    project_of,
    stale_reason,
)
from mge.web.service import ReviewService, parse_decision
from mge.web.views import QueueFilter

__all__ = ["SETTLE_SECONDS", "KubeReviewBackend", "split_key"]

T = TypeVar("T")

SETTLE_SECONDS = 20.0
"""How long a decision's answer waits for the operator's outcome (seconds); after that the
page says "submitted" and the live updates bring the outcome."""
SETTLE_POLL_SECONDS = 0.5
"""How often the AtomReview is read while waiting for the outcome (seconds)."""


def split_key(key: str) -> tuple[str, str]:
    """``namespace/name`` → (namespace, name); a clear error otherwise (pure)."""
    namespace, _, name = key.partition("/")
    if not namespace or not name or "/" in name:
        raise NotFound(f"project key {key!r} is not namespace/name")
    return namespace, name


async def as_reviewer(call: Awaitable[T], what: str) -> T:
    """Run one API call made with the reviewer's token; sort the API server's refusals."""
    try:
        return await call
    except KubeAPIError as e:
        if e.status == 401:
            raise LoginRequired(
                "the API server no longer accepts your token (expired or revoked): log in again"
            ) from e
        if e.status == 403:
            raise Forbidden(f"the API server refused to let you {what}: {e}") from e
        raise


@dataclass
class KubeReviewBackend:
    """Reads and decisions as one reviewer, with their token (inside ``kube``)."""

    kube: KubeClient
    by: str
    """The user the API server authenticated the token as."""
    namespaces: tuple[str, ...] = ()
    """Where to look for Projects; empty: every namespace (needs a cluster-wide list right)."""
    details: ReviewService | None = None
    """The store, for attempt history and context (None: the pages show what the API has)."""
    settle_seconds: float = SETTLE_SECONDS

    @property
    def user(self) -> str | None:
        """The authenticated user."""
        return self.by

    async def _list(self, kind: str, namespace: str | None, selector: str = "") -> list[Any]:
        where = f"namespace {namespace}" if namespace else "all namespaces"
        return await as_reviewer(
            self.kube.list_custom(kind, namespace, selector), f"list {kind}s in {where}"
        )

    async def _everywhere(self, kind: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for namespace in self.namespaces or (None,):
            out.extend(await self._list(kind, namespace))
        return out

    async def read_only(self, namespace: str) -> str | None:
        """None when this reviewer may patch AtomReviews in ``namespace``, else the message."""
        allowed = await as_reviewer(
            self.kube.may("patch", "AtomReview", namespace), "check your rights"
        )
        return None if allowed else READ_ONLY_MESSAGE.format(user=self.by, namespace=namespace)

    async def projects(self) -> list[dict[str, Any]]:
        """Every Project the reviewer can list, with its AtomReviews' counts."""
        projects = await self._everywhere("Project")
        reviews = await self._everywhere("AtomReview")
        by_project: dict[str, list[dict[str, Any]]] = {}
        for r in reviews:
            by_project.setdefault(project_of(r), []).append(r)
        rows = []
        for p in projects:
            meta = p.get("metadata") or {}
            key = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
            rows.append(kube_project_view(p, by_project.get(key, [])))
        return sorted(rows, key=lambda row: str(row["key"]))

    async def _project(self, key: str) -> tuple[str, str, dict[str, Any], list[dict[str, Any]]]:
        namespace, name = split_key(key)
        project = await as_reviewer(
            self.kube.get("Project", namespace, name), f"read Project {key}"
        )
        if project is None:
            raise NotFound(f"no Project {name} in namespace {namespace}")
        reviews = [
            r
            for r in await self._list("AtomReview", namespace, f"{LABEL_PROJECT}={name}")
            if ((r.get("spec") or {}).get("projectRef") or {}).get("name") == name
        ]
        return namespace, name, project, reviews

    async def queue(self, key: str, which: QueueFilter) -> dict[str, Any]:
        """The project's AtomReviews, least confident first, and whether the user may decide."""
        namespace, _, project, reviews = await self._project(key)
        return {
            "project": kube_project_view(project, reviews),
            "filter": which,
            "weights": WEIGHTS,
            "items": kube_queue_view(reviews, which),
            "readOnly": await self.read_only(namespace),
        }

    async def _review(self, key: str, atom_id: str) -> tuple[str, dict[str, Any]]:
        namespace, name = split_key(key)
        review = await as_reviewer(
            self.kube.get("AtomReview", namespace, review_name(name, atom_id)),
            f"read the review of {atom_id} in {key}",
        )
        if review is None or (review.get("spec") or {}).get("atomId") != atom_id:
            raise NotFound(f"project {key!r} has no AtomReview for atom {atom_id!r}")
        return namespace, review

    async def _page(self, key: str, namespace: str, review: dict[str, Any]) -> dict[str, Any]:
        atom_id = str((review.get("spec") or {}).get("atomId", ""))
        details: dict[str, Any] | None = None
        if self.details is not None:  # only now: the API server let this user read it
            try:
                details = await self.details.atom(key, atom_id)
            except NotFound:
                details = None
        return kube_atom_view(key, review, details, await self.read_only(namespace))

    async def atom(self, key: str, atom_id: str) -> dict[str, Any]:
        """The atom page: the AtomReview as this user may read it, then the store's details."""
        namespace, review = await self._review(key, atom_id)
        return await self._page(key, namespace, review)

    async def decide(self, key: str, atom_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Patch the decision as the reviewer; wait a little for the operator's outcome."""
        request, version = parse_decision(atom_id, body, self.by)
        namespace, review = await self._review(key, atom_id)
        stale = stale_reason(review, version)
        if stale is not None:
            raise StaleItem(stale, await self._page(key, namespace, review))
        name = str(review["metadata"]["name"])
        patch = decision_patch(request, self.by, str(review["metadata"]["resourceVersion"]))
        try:
            patched = await as_reviewer(
                self.kube.patch("AtomReview", namespace, name, patch, conflict_is_transient=False),
                f"decide on {atom_id} (patch atomreviews in namespace {namespace})",
            )
        except KubeAPIError as e:
            if e.status == 409:
                _, now = await self._review(key, atom_id)
                raise StaleItem(
                    f"{atom_id} changed while you decided (another reviewer or kubectl); "
                    "nothing was changed — your text is kept",
                    await self._page(key, namespace, now),
                ) from e
            if e.status in (400, 422):
                raise InputError(f"the API server refused the decision: {e}") from e
            raise
        generation = int(patched["metadata"].get("generation", 0))
        current = await self._settled(namespace, name, generation, patched)
        return {
            "result": kube_outcome(current, generation),
            "atom": await self._page(key, namespace, current),
        }

    async def _settled(
        self, namespace: str, name: str, generation: int, review: dict[str, Any]
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settle_seconds
        while kube_outcome(review, generation)["pending"] and loop.time() < deadline:
            await asyncio.sleep(SETTLE_POLL_SECONDS)
            now = await as_reviewer(
                self.kube.get("AtomReview", namespace, name), "read the outcome"
            )
            if now is None:
                break
            review = now
        return review

    async def close(self) -> None:
        """Close this person's API connection (logout, or their token was refused)."""
        await self.kube.close()

    async def marks(self) -> dict[str, str]:
        """Fingerprints of every visible Project and its AtomReviews (resourceVersions)."""
        return kube_marks(await self._everywhere("Project"), await self._everywhere("AtomReview"))
