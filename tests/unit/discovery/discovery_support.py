"""Shared helpers for discovery tests: the example recordings and a recordings writer."""

from __future__ import annotations

from pathlib import Path

import yaml

from mge.llm.recordings import load_folder
from mge.models.domain import DiscoveryResult

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
NOTE = (
    "Written by the MGE developers as a recording of what a model could answer; not model output."
)


def example_discovery(name: str = "inventory-lib") -> DiscoveryResult:
    """The discovery answer recorded for an example project."""
    (entry,) = load_folder(EXAMPLES / name / "recordings")["discovery"]
    return DiscoveryResult.model_validate_json(entry.text)


def write_recordings(folder: Path, entries: list[tuple[str, str]]) -> Path:
    """A recording file of (key, response) entries in order; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "recording": True,
        "note": NOTE,
        "responses": [{"key": k, "response": r} for k, r in entries],
    }
    (folder / "script.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return folder
