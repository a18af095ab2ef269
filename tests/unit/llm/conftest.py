"""Fixtures for the LLM unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from llm_support import NOTE, WriteRecording


@pytest.fixture
def write_recording(tmp_path: Path) -> WriteRecording:
    """write_recording(entries, name="main.yaml", header=True) -> the recordings folder."""
    folder = tmp_path / "recordings"
    folder.mkdir()

    def write(
        entries: list[dict[str, object]], name: str = "main.yaml", header: bool = True
    ) -> Path:
        doc: dict[str, object] = {"recording": True, "note": NOTE} if header else {"note": NOTE}
        doc["responses"] = entries
        (folder / name).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return folder

    return write
