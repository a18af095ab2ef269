"""The pattern library: human-written examples of good code, one Markdown file each.

A pattern file is YAML front matter, a short explanation, and one or more fenced code blocks in
the pattern's language::

    ---
    id: py-repository-sqlalchemy
    title: Async repository over SQLAlchemy Core
    language: python            # python | typescript
    framework: sqlalchemy       # fastapi, express, react, … or none
    kind: repository            # repository, service, router, validation, …
    tags: [persistence, async]
    ---
    Why and when to use it, in a few sentences.

    ```python
    ...
    ```

:meth:`PatternLibrary.load` reads a folder of them and reports every broken file at once. Each
:class:`Pattern` carries a content hash over everything that goes into the index, so indexing can
skip patterns that did not change.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Literal

import yaml
from markdown_it import MarkdownIt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mge.errors import InputError

__all__ = [
    "DEFAULT_PATTERNS_DIR",
    "DOCUMENT_FORMAT",
    "PATTERN_ID_RE",
    "Language",
    "Pattern",
    "PatternLibrary",
    "default_patterns_dir",
]

Language = Literal["python", "typescript"]

#: Bump when :meth:`Pattern.document` or the metadata change shape: every pattern re-embeds.
DOCUMENT_FORMAT = 1
#: Pattern ids double as Chroma ids and file-name-like handles.
PATTERN_ID_RE = r"^[a-z0-9][a-z0-9._-]{2,99}$"
#: Files in a pattern folder that are documentation, not patterns.
NON_PATTERN_FILES = frozenset({"README.md"})
#: Fence info strings accepted for each language.
FENCE_LANGUAGES: dict[str, frozenset[str]] = {
    "python": frozenset({"python", "py"}),
    "typescript": frozenset({"typescript", "ts", "tsx"}),
}

_FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_MARKDOWN = MarkdownIt("commonmark")


def default_patterns_dir() -> Path:
    """The pattern library shipped inside the package (``mge/rag/library/``).

    It is package data (pyproject's ``package-data``), so a wheel, an editable install, the
    source tree and the operator image all find it next to this module, with no copy or link.
    """
    return Path(__file__).resolve().parent / "library"


#: The pattern library that ships with MGE; ``--patterns`` options default to it.
DEFAULT_PATTERNS_DIR = default_patterns_dir()


class Pattern(BaseModel):
    """One pattern: its labels, the prose that explains it, and its code."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=PATTERN_ID_RE)
    title: str = Field(min_length=3, max_length=200)
    language: Language
    framework: str = Field(description="Library the pattern is written for, or 'none'.")
    kind: str = Field(description="What the pattern is: repository, service, router, …")
    tags: tuple[str, ...] = ()
    summary: str = Field(min_length=20, description="The explanation, without the code.")
    code: str = Field(min_length=1, description="The code blocks, joined by a blank line.")
    source: str = Field(default="", description="File the pattern was read from, for messages.")

    @field_validator("framework", "kind")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError("must be lower-case letters, digits and dashes")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [t for t in value if not _SLUG.match(t)]
        if bad:
            raise ValueError(f"tags must be lower-case slugs, got {bad}")
        return value

    def document(self) -> str:
        """The text that is embedded: labels and explanation first, then the code.

        The embedder keeps the first 256 word pieces, so what a query is most likely to match
        (title, kind, tags, explanation) comes first.
        """
        labels = f"{self.kind} pattern, {self.language}, framework {self.framework}"
        tags = ", ".join(self.tags)
        return f"{self.title}\n{labels}. Tags: {tags}.\n{self.summary}\n\n{self.code}"

    @property
    def content_hash(self) -> str:
        """SHA-256 over everything that reaches the index (not the source path)."""
        payload = self.model_dump(exclude={"source"})
        blob = json.dumps([DOCUMENT_FORMAT, payload], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()


class PatternLibrary:
    """Reads pattern files. Stateless: the index lives in Chroma (see retriever.py)."""

    @staticmethod
    def parse(text: str, source: str = "<string>") -> Pattern:
        """Parse one pattern file's text; raises InputError naming ``source`` and the problem."""
        front = _FRONT.match(text)
        if not front:
            raise InputError(f"{source}: missing YAML front matter (a '---' block at the top)")
        try:
            meta = yaml.safe_load(front.group(1))
        except yaml.YAMLError as e:
            raise InputError(f"{source}: front matter is not valid YAML: {e}") from e
        if not isinstance(meta, dict):
            raise InputError(f"{source}: front matter must be a mapping")
        body = text[front.end() :]
        tokens = _MARKDOWN.parse(body)
        fences = [t for t in tokens if t.type == "fence"]
        prose = [t.content.strip() for t in tokens if t.type == "inline" and t.content.strip()]
        language = meta.get("language")
        accepted = FENCE_LANGUAGES.get(str(language), frozenset())
        blocks = [t.content.rstrip() for t in fences if t.info.strip().lower() in accepted]
        if not blocks:
            raise InputError(f"{source}: needs a fenced code block tagged as {language!r}")
        try:
            return Pattern(
                **meta, summary="\n".join(prose), code="\n\n".join(blocks) + "\n", source=source
            )
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
            )
            raise InputError(f"{source}: {problems}") from e

    @classmethod
    def load(cls, folder: Path) -> list[Pattern]:
        """Every pattern under ``folder`` (recursively), sorted by id.

        Raises InputError listing every broken file and every duplicate id, so one run shows all
        the problems.
        """
        if not folder.is_dir():
            raise InputError(f"pattern folder {folder} does not exist")
        patterns: list[Pattern] = []
        problems: list[str] = []
        for path in sorted(folder.rglob("*.md")):
            if path.name in NON_PATTERN_FILES:
                continue
            try:
                patterns.append(cls.parse(path.read_text(encoding="utf-8"), str(path)))
            except InputError as e:
                problems.append(str(e))
        seen: dict[str, str] = {}
        for p in patterns:
            if p.id in seen:
                problems.append(f"{p.source}: id {p.id!r} is also used by {seen[p.id]}")
            seen[p.id] = p.source
        if problems:
            raise InputError("invalid pattern library:\n" + "\n".join(f"  - {m}" for m in problems))
        return sorted(patterns, key=lambda p: p.id)
