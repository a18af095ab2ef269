"""Hierarchical validation: L1 atoms in batches, L2 modules, L3 components, L4 the system.

Pure parts (assembly, static checks, architecture and acceptance rules, error analysis) are
separate from the I/O parts (mypy as a subprocess, tests through the sandbox TestRunner).
"""

from mge.validation.assemble import Assembly, assemble, assemble_with_spans
from mge.validation.batch import (
    BatchValidator,
    Candidate,
    LocalBatchValidator,
    Prepared,
    Workspace,
    batch_fingerprint,
    prepare,
    static_checks,
)
from mge.validation.codebase import Codebase, is_test_file, python_module_name
from mge.validation.diagnosis import FailureAnalysis, FailureKind, analyze, classify
from mge.validation.hierarchy import (
    Component,
    HierarchicalValidator,
    acceptance_checks,
    acceptance_map,
    api_mismatches,
    architecture_violations,
    contexts_from_domain,
    default_interfaces,
)
from mge.validation.runner import TestJob, TestOutcome, TestRunner
from mge.validation.sandboxed import SandboxTestRunner
from mge.validation.typecheck import MypyChecker, TypeChecker, TypeIssue

__all__ = [
    "Assembly",
    "BatchValidator",
    "Candidate",
    "Codebase",
    "Component",
    "FailureAnalysis",
    "FailureKind",
    "HierarchicalValidator",
    "LocalBatchValidator",
    "MypyChecker",
    "Prepared",
    "SandboxTestRunner",
    "TestJob",
    "TestOutcome",
    "TestRunner",
    "TypeChecker",
    "TypeIssue",
    "Workspace",
    "acceptance_checks",
    "acceptance_map",
    "analyze",
    "api_mismatches",
    "architecture_violations",
    "assemble",
    "assemble_with_spans",
    "batch_fingerprint",
    "classify",
    "contexts_from_domain",
    "default_interfaces",
    "is_test_file",
    "prepare",
    "python_module_name",
    "static_checks",
]
