"""The shipped pattern library: size, balance, coverage, and code that parses and lints clean."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import tree_sitter_typescript
from markdown_it import MarkdownIt
from tree_sitter import Language, Node, Parser

from mge.rag.patterns import DEFAULT_PATTERNS_DIR, FENCE_LANGUAGES, Pattern, PatternLibrary

TS = Parser(Language(tree_sitter_typescript.language_typescript()))
TSX = Parser(Language(tree_sitter_typescript.language_tsx()))
#: Kinds the library must offer in both languages (the common needs of generated services).
KINDS_IN_BOTH = {
    "repository",
    "service",
    "router",
    "validation",
    "pagination",
    "error-handling",
    "retry",
    "config",
    "testing",
    "caching",
    "logging",
    "cli",
    "value-object",
    "domain-event",
    "unit-of-work",
    "http-client",
    "parsing",
}


@pytest.fixture(scope="module")
def library() -> list[Pattern]:
    return PatternLibrary.load(DEFAULT_PATTERNS_DIR)


def test_library_has_at_least_60_patterns_balanced_by_language(library: list[Pattern]) -> None:
    counts = Counter(p.language for p in library)
    print(f"patterns: {len(library)} {dict(counts)}")
    assert len(library) >= 60
    assert min(counts["python"], counts["typescript"]) >= 0.4 * len(library)


def test_common_kinds_exist_in_both_languages(library: list[Pattern]) -> None:
    have = {(p.language, p.kind) for p in library}
    missing = sorted(
        (lang, kind)
        for kind in KINDS_IN_BOTH
        for lang in FENCE_LANGUAGES
        if (lang, kind) not in have
    )
    assert not missing


def test_named_frameworks_are_covered(library: list[Pattern]) -> None:
    frameworks = {p.framework for p in library}
    assert {
        "fastapi",
        "pydantic",
        "sqlalchemy",
        "express",
        "fastify",
        "react",
        "typer",
    } <= frameworks


def test_python_samples_parse_and_pass_pyflakes(library: list[Pattern], tmp_path: Path) -> None:
    for p in library:
        if p.language == "python":
            ast.parse(p.code, filename=p.source)
            (tmp_path / f"{p.id.replace('-', '_')}.py").write_text(p.code)
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run(
        [str(ruff), "check", "--isolated", "--no-cache", "--select", "F,E9,B", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _errors(node: Node, source: bytes) -> list[str]:
    if node.type == "ERROR" or node.is_missing:
        return [f"line {node.start_point[0] + 1}: {source[node.start_byte : node.end_byte][:60]!r}"]
    return [e for child in node.children for e in _errors(child, source)]


def test_typescript_samples_parse_without_errors(library: list[Pattern]) -> None:
    markdown = MarkdownIt("commonmark")
    problems = []
    for p in library:
        if p.language != "typescript":
            continue
        body = Path(p.source).read_text(encoding="utf-8")
        for token in markdown.parse(body):
            if token.type != "fence" or token.info not in FENCE_LANGUAGES["typescript"]:
                continue
            parser = TSX if token.info == "tsx" else TS
            source = token.content.encode()
            problems += [f"{p.id} {e}" for e in _errors(parser.parse(source).root_node, source)]
    assert not problems, "\n".join(problems)
