"""Visible examples from HumanEval prompts: the only tests the retry loop may see."""

from __future__ import annotations

import ast

import pytest

from mge.eval.examples import Example, examples_test_source, visible_examples
from mge.eval.problems import load_humaneval


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (">>> add(2, 3)\n    5\n", Example("add(2, 3)", "5")),
        ("add(2, 3) == 5", Example("add(2, 3)", "5")),
        ("add(2, 3) ==> 5", Example("add(2, 3)", "5")),
        ("add(2, 3) ➞ 5", Example("add(2, 3)", "5")),
        ("add(2, 3) -> 5.", Example("add(2, 3)", "5")),
        ("add(2, 3) should return 5.", Example("add(2, 3)", "5")),
        ('add("a)", [1, (2)]) == "b"', Example('add("a)", [1, (2)])', "'b'")),
    ],
)
def test_each_style_of_example_is_read(line: str, expected: Example) -> None:
    prompt = f'def add(a, b):\n    """Add.\n    {line}\n    """\n'
    assert visible_examples(prompt, "add") == [expected]


@pytest.mark.parametrize(
    "line",
    [
        "For N = 1000 the output should be 1",  # prose, no call
        "other(2) == 5",  # another function
        "add(2, 3) == five",  # not a literal
        "add(2, == 5",  # unbalanced
    ],
)
def test_what_is_not_an_example_is_dropped_not_guessed(line: str) -> None:
    prompt = f'def add(a, b):\n    """Add.\n    {line}\n    """\n'
    assert visible_examples(prompt, "add") == []


def test_the_docstrings_closing_quotes_are_not_part_of_the_expected_output() -> None:
    prompt = 'def f(x):\n    """\n    >>> f(1)\n    [1, 2]\n    """\n'
    assert visible_examples(prompt, "f") == [Example("f(1)", "[1, 2]")]


def test_the_generated_test_file_parses_and_names_one_test_per_example() -> None:
    src, n = examples_test_source(
        "HumanEval/7", "problems.he_007", [Example("f(1)", "2"), Example('f("%")', "'x'")]
    )
    tree = ast.parse(src)
    names = [x.name for x in tree.body if isinstance(x, ast.FunctionDef)]
    assert n == 2 and names == ["_same", "test_example_1", "test_example_2"]
    assert "from problems.he_007 import *" in src


def test_every_humaneval_prompt_yields_parseable_tests_and_most_have_examples() -> None:
    problems = load_humaneval()
    assert len(problems) == 164
    with_examples = 0
    for p in problems:
        examples = visible_examples(p.prompt, p.entry_point)
        ast.parse(examples_test_source(p.task_id, "m", examples)[0])
        with_examples += bool(examples)
        for ex in examples:  # an example is never taken from the hidden test
            assert ex.call.split("(")[0].strip() == p.entry_point or p.entry_point in ex.call
    assert with_examples == 132  # measured; a change here means the reader changed
