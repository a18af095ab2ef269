"""The scripted provider: replays recorded responses by prompt key, never invents one.

Used offline, in tests and in examples: every answer comes from a recording file written by
people (format in recordings.py and docs/llm.md). A key with no recording, or asked for more often
than it was recorded, raises :class:`~mge.errors.RecordingMissing` naming the key and folder.

An entry's ``delay_seconds`` is slept before it is returned (a latency the recording asks for;
benchmarks use it). Responses carry ``recorded=True`` and provider ``scripted``. Their cost is
what the recorded usage *would* cost on ``priced_as`` (by default nothing is priced), so budgets
and reports can be exercised offline without pretending a model ran.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from mge.errors import RecordingMissing
from mge.llm.base import LLMRequest, LLMResponse
from mge.llm.pricing import cost_usd
from mge.llm.recordings import RecordedResponse, load_folder

__all__ = ["RECORDING_MODEL", "ScriptedProvider"]

RECORDING_MODEL = "recording"
"""The model name scripted responses carry; never a real model's name."""


class ScriptedProvider:
    """Replays the recordings in one folder; loads them on first use."""

    name = "scripted"

    def __init__(
        self,
        recordings_dir: Path,
        *,
        priced_as: str | None = None,
        model: str = RECORDING_MODEL,
    ) -> None:
        """``priced_as``: a model id whose prices turn recorded usage into a cost (None: $0)."""
        self.recordings_dir = Path(recordings_dir)
        self.model = model
        self.priced_as = priced_as
        self._index: dict[str, tuple[RecordedResponse, ...]] | None = None
        self._served: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"ScriptedProvider({str(self.recordings_dir)!r}, priced_as={self.priced_as!r})"

    def _recordings(self) -> dict[str, tuple[RecordedResponse, ...]]:
        if self._index is None:
            self._index = load_folder(self.recordings_dir)
        return self._index

    def keys(self) -> list[str]:
        """Every recorded key, sorted (loads the folder if needed)."""
        return sorted(self._recordings())

    def unserved(self) -> dict[str, int]:
        """Recorded responses not served yet, by key: a test can assert a script was used up."""
        left = {k: len(v) - self._served.get(k, 0) for k, v in self._recordings().items()}
        return {k: n for k, n in left.items() if n > 0}

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """The next recorded response for ``request.key``; RecordingMissing when there is none."""
        recorded = self._recordings().get(request.key)
        where = str(self.recordings_dir)
        if not recorded:
            raise RecordingMissing(request.key, where)
        n = self._served.get(request.key, 0)
        if n >= len(recorded):
            raise RecordingMissing(
                request.key,
                f"{where} (recording exhausted: {len(recorded)} response(s) recorded for this "
                f"key, this is call {n + 1})",
            )
        self._served[request.key] = n + 1
        entry = recorded[n]
        if entry.delay_seconds:
            await asyncio.sleep(entry.delay_seconds)
        cost = cost_usd(self.priced_as, entry.usage) if self.priced_as else 0.0
        return LLMResponse(
            text=entry.text,
            usage=entry.usage,
            cost_usd=cost,
            model=self.model,
            provider=self.name,
            recorded=True,
        )

    async def aclose(self) -> None:
        """Nothing to release."""
