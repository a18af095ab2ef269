"""Atomization: source or skeleton → AtomicUnits of ~10 lines with contracts and context.

* :func:`parse_file` — tree-sitter parsing for Python, TypeScript/TSX and JavaScript:
  definitions with spans, signatures, docstrings/JSDoc, calls, type names, imports, size,
  cyclomatic complexity, and syntax errors with line and column.
* :class:`RecursiveDecomposer` — existing code split at function, method and statement-group
  boundaries; skeleton stubs estimated from their docstrings and, with a :class:`Splitter`
  (the LLM), split further. :func:`atoms_from_skeleton` is the no-LLM shortcut.
* :class:`ContextInjector` — types, dependency signatures, contracts and tests per atom, with a
  completeness score and what is missing.
* :class:`AtomicityValidator` — ten named criteria, pass/fail with reasons.

Pure functions throughout; :mod:`mge.atomization.sources` is the one module that reads disk.
"""

from mge.atomization.atomize import Atomization, atomize_parsed
from mge.atomization.context import CONTEXT_TARGET, ContextInjector
from mge.atomization.contracts import Contract, estimate_stub, parse_contract
from mge.atomization.decompose import (
    RecursiveDecomposer,
    SplitRequest,
    Splitter,
    atoms_from_skeleton,
)
from mge.atomization.languages import LanguageName, is_source_file
from mge.atomization.packing import Limits
from mge.atomization.parsing import parse_file
from mge.atomization.sources import read_sources, read_sources_sync
from mge.atomization.syntax import CallRef, Definition, ImportRef, Param, ParsedFile, SyntaxIssue
from mge.atomization.validator import CRITERIA, AtomFacts, AtomicityValidator, facts_for

__all__ = [
    "CONTEXT_TARGET",
    "CRITERIA",
    "AtomFacts",
    "AtomicityValidator",
    "Atomization",
    "CallRef",
    "ContextInjector",
    "Contract",
    "Definition",
    "ImportRef",
    "LanguageName",
    "Limits",
    "Param",
    "ParsedFile",
    "RecursiveDecomposer",
    "SplitRequest",
    "Splitter",
    "SyntaxIssue",
    "atomize_parsed",
    "atoms_from_skeleton",
    "estimate_stub",
    "facts_for",
    "is_source_file",
    "parse_contract",
    "parse_file",
    "read_sources",
    "read_sources_sync",
]
