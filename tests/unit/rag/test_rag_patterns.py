"""Pattern files: parsing, validation errors that name the file, and content hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from mge.errors import InputError
from mge.rag.patterns import Pattern, PatternLibrary

GOOD = """---
id: py-example
title: An example pattern
language: python
framework: none
kind: testing
tags: [example, demo]
---
This explains what the example is for, in more than twenty characters.

```python
def add(a: int, b: int) -> int:
    return a + b
```

More prose after the code.

```text
not code in the pattern's language, ignored
```
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_parse_reads_front_matter_prose_and_code() -> None:
    p = PatternLibrary.parse(GOOD, "x.md")
    assert (p.id, p.language, p.framework, p.kind, p.tags) == (
        "py-example",
        "python",
        "none",
        "testing",
        ("example", "demo"),
    )
    assert p.code == "def add(a: int, b: int) -> int:\n    return a + b\n"
    assert "explains what the example is for" in p.summary
    assert "More prose after the code." in p.summary
    assert "not code" not in p.code


def test_document_puts_title_and_explanation_before_code() -> None:
    doc = PatternLibrary.parse(GOOD).document()
    assert doc.startswith("An example pattern\n")
    assert doc.index("explains") < doc.index("def add")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no front matter\n", "missing YAML front matter"),
        ("---\n[unclosed\n---\nbody\n", "not valid YAML"),
        ("---\n- a list\n---\nbody\n", "must be a mapping"),
        (GOOD.replace("```python", "```ts"), "fenced code block tagged as 'python'"),
        (GOOD.replace("language: python", "language: rust"), "fenced code block"),
        (GOOD.replace("id: py-example", "id: Bad Id"), "id"),
        (GOOD.replace("framework: none", "framework: Fast API"), "framework"),
        (GOOD.replace("tags: [example, demo]", "tags: [Not A Slug]"), "tags"),
        (GOOD.replace("kind: testing", "kind: testing\nauthor: me"), "author"),
        (GOOD.replace("title: An example pattern\n", ""), "title"),
    ],
)
def test_parse_errors_name_the_file_and_problem(text: str, message: str) -> None:
    with pytest.raises(InputError, match=r"broken\.md") as err:
        PatternLibrary.parse(text, "broken.md")
    assert message in str(err.value)


def test_load_reads_recursively_sorted_and_skips_readme(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path, "README.md", "# not a pattern\n")
    write(tmp_path / "sub", "b.md", GOOD.replace("py-example", "py-b"))
    write(tmp_path, "a.md", GOOD.replace("py-example", "py-a"))
    assert [p.id for p in PatternLibrary.load(tmp_path)] == ["py-a", "py-b"]


def test_load_reports_every_problem_at_once(tmp_path: Path) -> None:
    write(tmp_path, "one.md", GOOD)
    write(tmp_path, "two.md", GOOD)  # duplicate id
    write(tmp_path, "three.md", "no front matter")
    with pytest.raises(InputError) as err:
        PatternLibrary.load(tmp_path)
    text = str(err.value)
    assert "three.md: missing YAML front matter" in text
    assert "id 'py-example' is also used by" in text


def test_load_of_missing_folder_fails(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        PatternLibrary.load(tmp_path / "nope")


def test_content_hash_follows_content_not_location() -> None:
    base = PatternLibrary.parse(GOOD, "a.md")
    moved = PatternLibrary.parse(GOOD, "elsewhere/b.md")
    edited = PatternLibrary.parse(GOOD.replace("a + b", "b + a"), "a.md")
    retagged = PatternLibrary.parse(GOOD.replace("demo]", "demo, extra]"), "a.md")
    assert base.content_hash == moved.content_hash
    assert len({base.content_hash, edited.content_hash, retagged.content_hash}) == 3


def test_pattern_is_immutable() -> None:
    p = PatternLibrary.parse(GOOD)
    with pytest.raises(ValueError, match="frozen"):
        p.title = "changed"  # type: ignore[misc]
    assert isinstance(p, Pattern)
