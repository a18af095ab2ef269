"""Which Claude models still accept a ``temperature``.

From Claude Opus 4.7, Sonnet 5 and Haiku 5.5 on (and every Fable and Mythos model) the Messages
API answers a request that sets a sampling parameter with HTTP 400 ("temperature is deprecated for
this model"). MGE lowers the temperature on retries, so the provider must leave it out for those
models instead of failing every call. A model id this module cannot read is treated as a new
model, i.e. one that rejects it: leaving the temperature out costs some determinism, sending it to
a model that refuses it costs every call.
"""

from __future__ import annotations

import re

__all__ = ["accepts_temperature"]

_CLAUDE_ID = re.compile(
    r"^claude-(?P<family>opus|sonnet|haiku|fable|mythos)(?:-(?P<major>\d+)(?:-(?P<minor>\d{1,2}))?)?"
    r"(?:-\d{8})?(?:-.*)?$"
)
_CLAUDE_3 = re.compile(r"^claude-3(?:-\d)?-(?:opus|sonnet|haiku)")

FIRST_REJECTING_VERSION: dict[str, tuple[int, int]] = {
    "opus": (4, 7),
    "sonnet": (5, 0),
    "haiku": (5, 0),
}
"""Per family, the first version that refuses sampling parameters. Fable and Mythos all refuse."""


def accepts_temperature(model: str) -> bool:
    """True when requests to ``model`` may carry a temperature."""
    if _CLAUDE_3.match(model):
        return True
    m = _CLAUDE_ID.match(model)
    if m is None or m.group("major") is None:
        return False
    family = m.group("family")
    if family not in FIRST_REJECTING_VERSION:
        return False
    version = (int(m.group("major")), int(m.group("minor") or 0))
    return version < FIRST_REJECTING_VERSION[family]
