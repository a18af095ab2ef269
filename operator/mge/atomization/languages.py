"""Which tree-sitter grammar reads which file, and the cached parsers and queries for each.

The official grammar wheels (tree-sitter-python, -typescript, -javascript) are the only grammar
source: they ship compiled grammars, so parsing works offline. TSX files use the TSX grammar of
the TypeScript wheel but count as language ``typescript`` everywhere else.
"""

from __future__ import annotations

import posixpath
from functools import cache
from typing import Literal

import tree_sitter_javascript
import tree_sitter_python
import tree_sitter_typescript
from tree_sitter import Language, Parser, Query, Tree

from mge.atomization.ts_grammar_gaps import parse_bridged
from mge.errors import InputError

LanguageName = Literal["python", "typescript", "javascript"]
Grammar = Literal["python", "typescript", "tsx", "javascript"]

EXTENSIONS: dict[str, Grammar] = {
    ".py": "python",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
}
"""File suffix → grammar. JSX parses with the JavaScript grammar, which includes JSX."""

GRAMMAR_LANGUAGE: dict[Grammar, LanguageName] = {
    "python": "python",
    "typescript": "typescript",
    "tsx": "typescript",
    "javascript": "javascript",
}

DEFAULT_GRAMMAR: dict[LanguageName, Grammar] = {
    "python": "python",
    "typescript": "typescript",
    "javascript": "javascript",
}


def grammar_for(path: str, language: LanguageName | None = None) -> Grammar:
    """The grammar for ``path``: from its suffix (which always wins, so a mixed skeleton parses
    each file right), else the default grammar of ``language``.

    Raises InputError when neither tells (an unknown suffix and no language given).
    """
    suffix = posixpath.splitext(path)[1].lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    if language is not None:
        return DEFAULT_GRAMMAR[language]
    known = ", ".join(sorted(EXTENSIONS))
    raise InputError(f"{path}: unknown source file type (known suffixes: {known})")


def is_parseable(path: str, language: LanguageName | None) -> bool:
    """A source file, or — when a language is given — a file without any suffix."""
    if is_source_file(path):
        return True
    return language is not None and "." not in posixpath.basename(path)


def is_source_file(path: str) -> bool:
    """True when ``path`` has a suffix one of the grammars reads (``.d.ts`` excluded)."""
    name = posixpath.basename(path).lower()
    if name.endswith(".d.ts"):
        return False
    return posixpath.splitext(name)[1] in EXTENSIONS


@cache
def ts_language(grammar: Grammar) -> Language:
    """The compiled tree-sitter language of a grammar (loaded once per process)."""
    if grammar == "python":
        return Language(tree_sitter_python.language())
    if grammar == "typescript":
        return Language(tree_sitter_typescript.language_typescript())
    if grammar == "tsx":
        return Language(tree_sitter_typescript.language_tsx())
    return Language(tree_sitter_javascript.language())


@cache
def parser_for(grammar: Grammar) -> Parser:
    """A parser for the grammar, reused across files (parsing is single-threaded here)."""
    return Parser(ts_language(grammar))


def parse_tree(grammar: Grammar, src: bytes) -> Tree:
    """The tree of ``src``; for TypeScript that only fails on the grammar's known gaps, the
    tree of the bridged bytes (same offsets and lines: :mod:`mge.atomization.ts_grammar_gaps`)."""
    if grammar in ("typescript", "tsx"):
        return parse_bridged(parser_for(grammar), src)
    return parser_for(grammar).parse(src)


@cache
def compiled_query(grammar: Grammar, source: str) -> Query:
    """A query compiled once per grammar and query text."""
    return Query(ts_language(grammar), source)
