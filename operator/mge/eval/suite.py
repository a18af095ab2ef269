"""HumanEval as an MGE codebase: one skeleton file and one atom per problem (pure).

Problem ``HumanEval/<n>`` becomes ``problems/he_<nnn>.py`` holding the prompt exactly as given
(imports, helper functions, the entry point's signature and docstring, no body) and one atom,
the entry point's body. Its visible examples become ``tests/test_he_<nnn>.py``, the atom's
tests. The atom executor then treats it like any other atom: the skeleton and the visible
tests go into the prompt, validation runs them in the sandbox, retries see only what they
reported. The hidden tests are not part of the codebase.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

from mge.errors import InputError
from mge.eval.examples import examples_test_source, visible_examples
from mge.eval.problems import HumanEvalProblem
from mge.models.atoms import AtomicUnit, ContextPack, atom_id
from mge.validation.codebase import TEST_ID_SEPARATOR, Codebase, python_module_name
from mge.validation.source import definitions

__all__ = ["EvalSuite", "ProblemEntry", "build_suite"]

PROBLEM_FILE = "problems/he_{n:03d}.py"
TEST_FILE = "tests/test_he_{n:03d}.py"
ESTIMATED_LOC = 10
"""HumanEval solutions are typically a handful of lines; only a label for the atom."""


@dataclass(frozen=True)
class ProblemEntry:
    """Where one problem lives in the suite."""

    problem: HumanEvalProblem
    atom_id: str
    file: str
    examples: int
    """Visible examples turned into tests (0: validated by the static checks and import only)."""


@dataclass(frozen=True)
class EvalSuite:
    """The codebase of a set of problems and, per atom id, the problem it stands for."""

    codebase: Codebase
    entries: dict[str, ProblemEntry]

    @property
    def atom_ids(self) -> list[str]:
        """Atom ids in problem order."""
        return list(self.entries)


def _docstring(prompt: str, entry_point: str) -> str:
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return ""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == entry_point:
            return ast.get_docstring(node) or ""
    return ""


def _atom(problem: HumanEvalProblem, file: str, tests: list[str], test_src: str) -> AtomicUnit:
    skeleton = problem.prompt
    found = definitions(skeleton, "python").get(problem.entry_point)
    if found is None:
        raise InputError(f"{problem.task_id}: the prompt defines no {problem.entry_point}()")
    return AtomicUnit(
        id=atom_id(file, problem.entry_point),
        task_id=problem.task_id,
        file=file,
        language="python",
        kind="function",
        qualname=problem.entry_point,
        signature=found.signature,
        spec=_docstring(skeleton, problem.entry_point),
        test_cases=tests,
        estimated_loc=ESTIMATED_LOC,
        complexity=1,
        context=ContextPack(tests=[test_src] if tests else [], completeness=1.0),
    )


def build_suite(problems: Sequence[HumanEvalProblem]) -> EvalSuite:
    """The codebase for ``problems`` (skeletons, visible-example tests, one atom each)."""
    files: dict[str, str] = {}
    atoms: dict[str, AtomicUnit] = {}
    entries: dict[str, ProblemEntry] = {}
    for problem in problems:
        file = PROBLEM_FILE.format(n=problem.number)
        test_file = TEST_FILE.format(n=problem.number)
        module = python_module_name(file) or ""
        examples = visible_examples(problem.prompt, problem.entry_point)
        test_src, count = examples_test_source(problem.task_id, module, examples)
        tests = [f"{test_file}{TEST_ID_SEPARATOR}test_example_{i}" for i in range(1, count + 1)]
        files[file] = problem.prompt if problem.prompt.endswith("\n") else problem.prompt + "\n"
        if count:
            files[test_file] = test_src
        atom = _atom(problem, file, tests, test_src)
        atoms[atom.id] = atom
        entries[atom.id] = ProblemEntry(problem, atom.id, file, count)
    return EvalSuite(Codebase(files=files, atoms=atoms), entries)
