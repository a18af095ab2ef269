"""The HumanEval harness end to end on recorded answers: real executor, real sandbox.

The answers are recordings written for this test (canonical solutions, a wrong answer, prose
without code, code that games the visible examples), so each outcome is known in advance and a
wrong figure in the report is a bug in the harness, not in a model.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from mge.config import Settings
from mge.eval import EvalOptions, build_suite, load_humaneval, run_humaneval, summarize
from mge.llm import LLMClient, LLMRequest, LLMResponse, ScriptedProvider
from mge.validation.local import local_runner

NOTE = "Written by the MGE developers for the eval harness test; not model output."


class Watching:
    """Passes requests on to the real client and keeps them (to check what the model saw)."""

    def __init__(self, inner: LLMClient) -> None:
        self.inner = inner
        self.requests: list[LLMRequest] = []

    async def complete(self, request: LLMRequest, project: str | None = None) -> LLMResponse:
        self.requests.append(request)
        return await self.inner.complete(request, project)


def fenced(code: str) -> str:
    return f"```python\n{code}```"


async def test_scores_first_and_final_answers_on_hidden_tests_only(tmp_path: Path) -> None:
    problems = load_humaneval(limit=4)
    ids = build_suite(problems).atom_ids
    p0, p1 = problems[:2]
    responses = [
        # 0: right first time.
        {"key": f"atom/{ids[0]}/attempt-1", "response": fenced(p0.prompt + p0.canonical_solution)},
        # 1: prose first (no code), right on the retry.
        {"key": f"atom/{ids[1]}/attempt-1", "response": "Sure! I would split on parentheses."},
        {"key": f"atom/{ids[1]}/attempt-2", "response": fenced(p1.prompt + p1.canonical_solution)},
        # 2: wrong three times.
        *(
            {
                "key": f"atom/{ids[2]}/attempt-{n}",
                "response": fenced(
                    "def truncate_number(number: float) -> float:\n    return number\n"
                ),
            }
            for n in (1, 2, 3)
        ),
        # 3: passes the two visible examples by rote, fails the hidden tests.
        {
            "key": f"atom/{ids[3]}/attempt-1",
            "response": fenced(
                "def below_zero(operations: List[int]) -> bool:\n"
                "    return operations == [1, 2, -4, 5]\n"
            ),
        },
    ]
    folder = tmp_path / "recordings"
    folder.mkdir()
    doc = {"recording": True, "note": NOTE, "responses": responses}
    (folder / "he.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")

    options = EvalOptions(chunk=3)
    runner = local_runner(Settings(workdir=tmp_path / "wd"), options.execution_spec())
    llm = Watching(LLMClient(ScriptedProvider(folder)))
    rows = await run_humaneval(problems, llm, runner, options)

    got = {r.task_id: r for r in rows}
    assert [r.task_id for r in rows] == [p.task_id for p in problems]
    r0, r1, r2, r3 = (got[p.task_id] for p in problems)
    assert (r0.attempts, r0.validated, r0.first_hidden_passed, r0.final_hidden_passed) == (
        1,
        True,
        True,
        True,
    )
    assert (
        r1.attempts,
        r1.unparseable_answers,
        r1.first_hidden_passed,
        r1.final_hidden_passed,
    ) == (
        2,
        1,
        False,
        True,
    )
    assert (r2.attempts, r2.validated, r2.final_hidden_passed) == (3, False, False)
    assert r2.final_detail  # why it failed is kept
    assert (r3.validated, r3.first_hidden_passed, r3.final_hidden_passed) == (True, False, False)

    s = summarize(rows)
    assert (s["passed_first"], s["passed_final"], s["validated"], s["attempts_used"]) == (
        1,
        2,
        3,
        7,
    )

    # Nothing the model saw comes from a hidden test.
    assert len(llm.requests) == 7
    for request in llm.requests:
        text = "\n".join([*request.system, request.prompt])
        assert "def check(candidate)" not in text and "candidate(" not in text
    retry = next(r for r in llm.requests if r.key == f"atom/{ids[2]}/attempt-2")
    assert "truncate_number(3.5)" in retry.prompt  # the visible example is the feedback
