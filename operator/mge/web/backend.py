"""The one interface the review pages use, whichever backend answers them.

Two implementations: :class:`mge.web.service.ReviewService` over the local store (``mge review
serve``) and :class:`mge.web.kube_backend.KubeReviewBackend` over the Kubernetes API, acting as
the reviewer with their own token (``mge review serve --cluster``, the chart's review-ui).
Both return the JSON shapes of :mod:`mge.web.views` and raise the errors below, which the
application (:mod:`mge.web.app`) turns into HTTP answers.
"""

from __future__ import annotations

from typing import Any, Protocol

from mge.errors import InputError, MGEError
from mge.web.views import QueueFilter

__all__ = ["Forbidden", "LoginRequired", "NotFound", "ReviewBackend", "StaleItem"]


class NotFound(InputError):
    """No such project, or no review item for that atom."""


class StaleItem(InputError):
    """The page acted on a version of the item that is no longer current."""

    def __init__(self, message: str, current: dict[str, Any]) -> None:
        super().__init__(message)
        self.current = current


class Forbidden(MGEError):
    """The API server refused the reviewer (HTTP 403): shown as the read-only view."""


class LoginRequired(MGEError):
    """The reviewer's token was refused (HTTP 401: expired or revoked): log in again."""


class ReviewBackend(Protocol):
    """Reads and decisions as one reviewer."""

    @property
    def user(self) -> str | None:
        """Who the decisions are recorded as."""
        ...

    async def projects(self) -> list[dict[str, Any]]:
        """Every project this reviewer can see, with phase, progress, review counts, cost."""
        ...

    async def queue(self, key: str, which: QueueFilter) -> dict[str, Any]:
        """A project's review queue, least confident first."""
        ...

    async def atom(self, key: str, atom_id: str) -> dict[str, Any]:
        """The atom page of one review item."""
        ...

    async def decide(self, key: str, atom_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Carry out a decision posted by a page; ``{"result": …, "atom": …}``."""
        ...

    async def marks(self) -> dict[str, str]:
        """A fingerprint per project key that changes with any change to its reviews."""
        ...

    async def close(self) -> None:
        """Release what this backend holds for its person (their API connection)."""
        ...
