"""`mge plan`: trees, JSON, answers files, interactive answers and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from planning_support import EXAMPLES, REPO
from typer.testing import CliRunner

from mge.cli.app import app
from mge.cli.plan import load_manifest  # also registers the command
from mge.errors import ConfigError, InputError

INVENTORY = str(EXAMPLES / "inventory-lib" / "project.yaml")
runner = CliRunner()


def plan(*args: str, stdin: str | None = None) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(app, ["plan", *args], input=stdin)
    return result.exit_code, result.stdout, result.exception


def test_tree_shows_model_plan_and_answers() -> None:
    answers = str(EXAMPLES / "inventory-lib" / "answers.yaml")
    code, out, exc = plan(INVENTORY, "--no-patterns", "--answers", answers)
    assert (code, exc) == (0, None)
    for expected in (
        "context Inventory",
        "value object StockLevel",
        "event LowStockDetected",
        "AC-7",
        "answer: A single total per SKU",
        "default: Yes: quantities are positive integers.",
        "Masterplan — 5 tasks",
        "T-3 Inventory aggregate",
        "files: inventory/aggregate.py, tests/test_aggregate.py",
        "py-dataclass-value-object",
    ):
        assert expected in out, expected


def test_json_has_discovery_plan_and_findings() -> None:
    code, out, _ = plan(str(EXAMPLES / "tasks-api" / "project.yaml"), "--json", "--no-patterns")
    assert code == 0
    data = json.loads(out)
    assert len(data["plan"]["phases"][0]["milestones"][0]["tasks"]) == 2
    assert data["discovery"]["stack"]["framework"] == "fastapi"
    assert data["patternsOffered"] == []
    assert [f["rule"] for f in data["findings"]] == []  # not checked: nothing was retrieved
    # No answers given: every question's default is an assumption.
    assert sum("→ default:" in a for a in data["discovery"]["assumptions"]) == 3


def test_interactive_asks_open_questions_and_blank_keeps_default() -> None:
    code, out, exc = plan(
        INVENTORY, "--no-patterns", "--json", "--interactive", stdin="per order\n\n\n"
    )
    assert (code, exc) == (0, None)
    data = json.loads(out[out.index("{\n") :])
    answers = {q["id"]: q.get("answer") for q in data["discovery"]["questions"]}
    assert answers["Q-1"] == "per order"
    # Pressing Enter accepts the default, which then counts as the person's answer.
    questions = {q["id"]: q for q in data["discovery"]["questions"]}
    assert answers["Q-2"] == questions["Q-2"]["default"]


def test_unknown_answer_id_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "answers.yaml"
    bad.write_text("Q-9: nobody asked\n")
    code, _, exc = plan(INVENTORY, "--no-patterns", "--answers", str(bad))
    assert code != 0 and isinstance(exc, InputError)
    assert "Q-9" in str(exc) and "Q-1, Q-2, Q-3" in str(exc)


def test_invalid_manifest_names_the_field(tmp_path: Path) -> None:
    broken = tmp_path / "project.yaml"
    broken.write_text(
        (EXAMPLES / "inventory-lib" / "project.yaml").read_text().replace("hints:", "hintz:")
    )
    try:
        load_manifest(broken)
    except ConfigError as e:
        assert "hintz" in str(e) and str(broken) in str(e)
    else:
        raise AssertionError("an invalid manifest was accepted")


def test_entry_point_exits_2_with_one_line_for_mge_errors(tmp_path: Path) -> None:
    empty = tmp_path / "project.yaml"
    empty.write_text(
        "apiVersion: mge.dev/v1alpha1\nkind: Project\nmetadata: {name: empty}\n"
        "spec:\n  requirements: '   '\n  llm: {provider: scripted, recordings: rec}\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mge.cli import main; main()",
            "plan",
            str(empty),
            "--no-patterns",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    # Blank requirements are now refused with the manifest (the field and the fix named),
    # as admission refuses them in a cluster, before any stage runs.
    assert done.stderr.startswith("error: manifest ")
    assert "spec.requirements" in done.stderr and "is empty" in done.stderr
