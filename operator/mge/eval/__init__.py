"""Evaluation harnesses: MGE's own executor and sandbox on public benchmarks (HumanEval).

Entry points: :func:`load_humaneval`, :func:`run_humaneval` (with :class:`EvalOptions`),
:class:`EvalReport` and :func:`render_markdown`. The prompt is the problem; retries see only
the examples visible in it; the hidden tests score the result, in the sandbox.
"""

from mge.eval.examples import Example, examples_test_source, visible_examples
from mge.eval.harness import CappedCompleter, EvalOptions, classify_attempt, run_humaneval
from mge.eval.problems import HumanEvalProblem, dataset_path, load_humaneval
from mge.eval.report import EvalReport, ProblemResult, render_markdown, summarize
from mge.eval.scoring import HiddenVerdict, hidden_job, score_hidden
from mge.eval.suite import EvalSuite, ProblemEntry, build_suite

__all__ = [
    "CappedCompleter",
    "EvalOptions",
    "EvalReport",
    "EvalSuite",
    "Example",
    "HiddenVerdict",
    "HumanEvalProblem",
    "ProblemEntry",
    "ProblemResult",
    "build_suite",
    "classify_attempt",
    "dataset_path",
    "examples_test_source",
    "hidden_job",
    "load_humaneval",
    "render_markdown",
    "run_humaneval",
    "score_hidden",
    "summarize",
    "visible_examples",
]
