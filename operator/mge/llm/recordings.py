"""The recording format the scripted provider replays: reading and checking the files.

A recordings folder holds any number of ``*.yaml`` files of this shape (see docs/llm.md)::

    recording: true
    note: Written by the MGE developers as a recording; not model output.
    responses:
      - key: discovery                 # LLMRequest.key
        usage: {input_tokens: 1850, output_tokens: 1400}   # optional
        delay_seconds: 3.2             # optional: replay this long after the request
        response: |
          {... JSON or code ...}

The same key listed again in the same file is the next response for that key. A key may not
appear in two files: which file wins would depend on the order files are read.
``delay_seconds`` makes the replay wait that long before answering, as a model's latency would
(benchmarks replay synthetic projects at a latency they chose; 0 by default). A file without
``recording: true`` is refused, so a stray YAML file is never mistaken for model answers.

Everything here is pure: :func:`parse_recording` takes text, :func:`index_recordings` takes the
parsed files, so both are tested without a disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mge.errors import InputError
from mge.models.execution import Usage

__all__ = [
    "RECORDING_GLOB",
    "RecordedResponse",
    "RecordingFile",
    "index_recordings",
    "load_folder",
    "parse_recording",
]

RECORDING_GLOB = "*.yaml"
"""Which files of a recordings folder are read."""

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's C loader when present: several times faster on large recordings."""


class _UsageFigures(BaseModel):
    """Optional token figures of one recorded response (snake_case, as in the Anthropic API)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cache_read_tokens: int = Field(default=0, ge=0)
    cache_write_tokens: int = Field(default=0, ge=0)


class _Entry(BaseModel):
    """One item of ``responses``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(min_length=1)
    response: str
    usage: _UsageFigures = Field(default_factory=_UsageFigures)
    delay_seconds: float = Field(
        default=0.0, ge=0.0, le=600.0, description="Optional: wait this long before answering."
    )
    note: str | None = Field(default=None, description="Optional: why this entry exists.")


class _File(BaseModel):
    """A whole recording file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recording: bool
    note: str | None = None
    responses: list[_Entry] = Field(default_factory=list)


@dataclass(frozen=True)
class RecordedResponse:
    """One recorded answer: its text, its usage, and where it came from (for messages)."""

    key: str
    text: str
    usage: Usage
    source: str
    delay_seconds: float = 0.0


@dataclass(frozen=True)
class RecordingFile:
    """A parsed recording file: its name and its entries in file order."""

    source: str
    responses: tuple[RecordedResponse, ...]


def _describe(err: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in err.errors()
    )


def parse_recording(text: str, source: str) -> RecordingFile:
    """Parse one recording file's text; InputError names the file and the problem."""
    try:
        data: Any = yaml.load(text, Loader=_Loader)  # a safe loader (C or Python)
    except yaml.YAMLError as e:
        raise InputError(f"recording {source} is not valid YAML: {e}") from e
    if not isinstance(data, Mapping) or data.get("recording") is not True:
        raise InputError(
            f"{source} is not a recording: a recording file starts with `recording: true` "
            "(and a `note:` saying who wrote it); this file is refused"
        )
    try:
        parsed = _File.model_validate(data)
    except ValidationError as e:
        raise InputError(f"recording {source} is malformed: {_describe(e)}") from e
    return RecordingFile(
        source=source,
        responses=tuple(
            RecordedResponse(
                key=e.key,
                text=e.response,
                usage=Usage(**e.usage.model_dump()),
                source=source,
                delay_seconds=e.delay_seconds,
            )
            for e in parsed.responses
        ),
    )


def index_recordings(files: Iterable[RecordingFile]) -> dict[str, tuple[RecordedResponse, ...]]:
    """Responses by key, in order; a key found in two files is an InputError naming both."""
    index: dict[str, list[RecordedResponse]] = {}
    for f in files:
        for r in f.responses:
            earlier = index.setdefault(r.key, [])
            if earlier and earlier[0].source != f.source:
                raise InputError(
                    f"recording key {r.key!r} appears in both {earlier[0].source} and {f.source}; "
                    "list successive responses for one key in one file"
                )
            earlier.append(r)
    return {k: tuple(v) for k, v in index.items()}


def load_folder(folder: Path) -> dict[str, tuple[RecordedResponse, ...]]:
    """Read and index every ``*.yaml`` file of ``folder`` (sorted by name)."""
    if not folder.is_dir():
        raise InputError(f"recordings folder {folder} does not exist or is not a folder")
    files = [parse_recording(p.read_text(encoding="utf-8"), str(p)) for p in _yaml_files(folder)]
    return index_recordings(files)


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob(RECORDING_GLOB) if p.is_file())
