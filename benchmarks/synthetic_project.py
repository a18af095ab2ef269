"""A synthetic Project with recordings, for replaying a latency distribution through a pipeline.

``benchmarks/makespan.py`` feeds its synthetic atoms straight to the executor. To measure the
same shapes through ``mge run`` or the operator, the whole pipeline needs answers: a discovery
document, a masterplan, a skeleton per task and code per atom attempt. This module writes them as
a scripted-provider recordings folder next to a ``project.yaml``:

* the atoms are those of :func:`makespan.synthetic_dependencies` (wide fan-out utilities,
  layered services, deep chains), ``def f_<id>(x: int) -> int`` whose answer adds up its
  dependencies' results plus one, placed 20 to a module in level order so that a module imports
  only from modules before it;
* each module has a test file with one test per atom, its expected value computed here;
* every atom answer carries ``delay_seconds`` drawn from the makespan benchmark's model
  (lognormal around 3 s, plus the retry-after of a 429 / the back-off of a 529 that call meets)
  and a seeded share of first attempts is wrong (``+ 2``), so a retry with the error fed back
  happens as in real runs; attempts 2 and 3 are right.

The files say they are recordings written by this script, not model output. The atom ids are
computed with :func:`mge.models.atoms.atom_id`, the function the atomizer uses.

    .venv/bin/python benchmarks/synthetic_project.py --atoms 800 --out /tmp/synthetic
    .venv/bin/mge run /tmp/synthetic/project.yaml    # the whole pipeline, locally
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from makespan import (
    ATOMS_PER_FILE,
    DEFAULT_SEED,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    draw_call,
    fails_validation,
    synthetic_dependencies,
)

from mge.models.atoms import atom_id

NOTE = (
    "Written by benchmarks/synthetic_project.py for a benchmark: a synthetic project's answers "
    "with a chosen latency (delay_seconds); not model output."
)
PACKAGE = "pkg"
EXTRA_ATTEMPTS = (2, 3)
"""Attempts recorded (right) for every atom, so any retry finds an answer."""


@dataclass(frozen=True)
class SyntheticAtom:
    """One synthetic function: its short id, module, dependencies and expected f(1)."""

    short: str
    module: int
    deps: tuple[str, ...]
    expected: int

    @property
    def name(self) -> str:
        return f"f_{self.short}"

    @property
    def path(self) -> str:
        return f"{PACKAGE}/mod{self.module}.py"

    @property
    def atom_id(self) -> str:
        return atom_id(self.path, self.name)


# ------------------------------------------------------------------------------- pure layout


def levels_of(deps: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Graph level of each atom: 0 without dependencies, else 1 + the deepest dependency's."""
    level: dict[str, int] = {}
    for a in TopologicalSorter(deps).static_order():
        level[a] = 1 + max((level[d] for d in deps[a]), default=-1)
    return level


def layout(deps: Mapping[str, Sequence[str]]) -> dict[str, SyntheticAtom]:
    """Atoms in modules of ATOMS_PER_FILE, in level order; expected values of f(1)."""
    level = levels_of(deps)
    ordered = sorted(deps, key=lambda a: (level[a], a))
    value: dict[str, int] = {}
    atoms: dict[str, SyntheticAtom] = {}
    for i, short in enumerate(ordered):
        value[short] = sum(value[d] for d in deps[short]) + (1 if deps[short] else 2)
        atoms[short] = SyntheticAtom(short, i // ATOMS_PER_FILE, tuple(deps[short]), value[short])
    return atoms


def answer(atom: SyntheticAtom, *, wrong: bool = False) -> str:
    """The code of an atom's answer: its dependencies' results plus one (plus two if wrong)."""
    body = " + ".join(f"f_{d}(x)" for d in atom.deps) or "x"
    return f"def {atom.name}(x: int) -> int:\n    return {body} + {2 if wrong else 1}\n"


def module_files(
    module: int, atoms: Sequence[SyntheticAtom], by_short: Mapping[str, SyntheticAtom]
) -> dict[str, str]:
    """The skeleton source of one module and its test file."""
    imports: dict[int, set[str]] = {}
    for a in atoms:
        for d in a.deps:
            dep = by_short[d]
            if dep.module != module:
                imports.setdefault(dep.module, set()).add(dep.name)
    lines = [
        f'"""Synthetic module {module} of the benchmark project."""',
        "",
        "from __future__ import annotations",
        "",
    ]
    for m in sorted(imports):
        lines.append(f"from {PACKAGE}.mod{m} import {', '.join(sorted(imports[m]))}")
    for a in atoms:
        uses = ", ".join(f"f_{d}" for d in a.deps)
        result = " + ".join(f"f_{d}(x)" for d in a.deps) + " + 1" if a.deps else "x + 1"
        doc = [f'    """Step {a.short}: the results of its dependencies added up, plus one.', ""]
        if uses:
            doc.append(f"    Uses: {uses}")
        doc += [f"    Post: returns {result}.", '    """']
        lines += ["", "", f"def {a.name}(x: int) -> int:", *doc, "    ..."]
    source = "\n".join(lines) + "\n"
    names = ", ".join(a.name for a in atoms)
    tests = [
        f'"""Tests of {PACKAGE}/mod{module}.py."""',
        "",
        f"from {PACKAGE}.mod{module} import {names}",
    ]
    for a in atoms:
        tests += [
            "",
            "",
            f"def test_{a.name}() -> None:",
            f"    assert {a.name}(1) == {a.expected}",
        ]
    return {
        f"{PACKAGE}/mod{module}.py": source,
        f"tests/test_mod{module}.py": "\n".join(tests) + "\n",
    }


# ------------------------------------------------------------------------------ recordings


def _block(files: Mapping[str, str]) -> str:
    return "\n".join(f"### {path}\n```python\n{text}```\n" for path, text in files.items())


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks (readable recordings), no anchors/aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _recording(responses: list[dict[str, Any]]) -> str:
    body = {"recording": True, "note": NOTE, "responses": responses}
    return yaml.dump(body, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)


def discovery_document(n: int, modules: int) -> dict[str, Any]:
    """A small discovery answer for the synthetic project: one acceptance criterion per module
    (the masterplan's size check wants tasks in proportion to what discovery found)."""
    return {
        "summary": f"A synthetic pure-Python package of {n} integer pipeline steps for benchmarks.",
        "domain": {
            "contexts": [
                {
                    "name": "Pipeline",
                    "description": "Integer steps that add up the results of the steps they use.",
                    "entities": [],
                    "valueObjects": [],
                    "aggregates": [],
                    "services": [],
                    "events": [],
                }
            ]
        },
        "stack": {
            "language": "python",
            "framework": None,
            "choices": [{"name": "pytest", "reason": "One test per step."}],
        },
        "acceptance": [
            {"id": f"AC-{m + 1}", "text": f"pytest passes on the tests of module {m}."}
            for m in range(modules)
        ],
        "assumptions": ["Synthetic: the shapes matter, not the arithmetic."],
        "questions": [],
    }


def plan_document(
    modules: Mapping[int, Sequence[SyntheticAtom]], by_short: Mapping[str, SyntheticAtom]
) -> dict[str, Any]:
    """One task per module; a task depends on the tasks of the modules it imports from."""
    tasks = []
    for m, atoms in modules.items():
        needs = sorted({by_short[d].module for a in atoms for d in a.deps} - {m})
        files = [f"{PACKAGE}/mod{m}.py", f"tests/test_mod{m}.py"]
        if m == 0:
            files.insert(0, f"{PACKAGE}/__init__.py")
        tasks.append(
            {
                "id": f"T-{m + 1}",
                "title": f"Module {m}: steps {atoms[0].short} to {atoms[-1].short}",
                "role": "backend",
                "description": f"{len(atoms)} pipeline steps and their tests.",
                "files": files,
                "covers": [],
                "acceptance": [f"AC-{m + 1}"],
                "dependsOn": [f"T-{d + 1}" for d in needs],
            }
        )
    return {
        "phases": [
            {
                "id": "P-1",
                "title": "Pipeline",
                "milestones": [{"id": "M-1", "title": "All steps", "tasks": tasks}],
            }
        ],
        "patternsUsed": [],
    }


def write_project(out: Path, n: int, seed: int, name: str) -> dict[str, Any]:
    """Write ``out/project.yaml`` and ``out/recordings/``; a summary of what was written."""
    deps = synthetic_dependencies(n, seed)
    atoms = layout(deps)
    modules: dict[int, list[SyntheticAtom]] = {}
    for a in atoms.values():
        modules.setdefault(a.module, []).append(a)
    rec = out / "recordings"
    rec.mkdir(parents=True, exist_ok=True)
    usage = {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS}
    (rec / "discovery.yaml").write_text(
        _recording(
            [
                {
                    "key": "discovery",
                    "usage": usage,
                    "response": json.dumps(discovery_document(n, len(modules)), indent=1) + "\n",
                }
            ]
        )
    )
    (rec / "plan.yaml").write_text(
        _recording(
            [
                {
                    "key": "plan",
                    "usage": usage,
                    "response": json.dumps(plan_document(modules, atoms), indent=1) + "\n",
                }
            ]
        )
    )
    skeletons = []
    for m, members in modules.items():
        files = module_files(m, members, atoms)
        if m == 0:
            files = {f"{PACKAGE}/__init__.py": '"""Synthetic benchmark package."""\n', **files}
        skeletons.append({"key": f"skeleton/T-{m + 1}", "usage": usage, "response": _block(files)})
    (rec / "skeletons.yaml").write_text(_recording(skeletons))
    answers, reviews = [], []
    delays: dict[str, float] = {}
    wrong_first = 0
    for short, a in atoms.items():
        for attempt in (1, *EXTRA_ATTEMPTS):
            key = f"atom/{a.atom_id}/attempt-{attempt}"
            record = draw_call(seed, key)
            delay = round(record.latency_s + record.penalty_s, 3)
            wrong = attempt == 1 and fails_validation(seed, short, 1)
            wrong_first += wrong
            delays[key] = delay
            code = f"```python\n{answer(a, wrong=wrong)}```\n"
            answers.append({"key": key, "delay_seconds": delay, "usage": usage, "response": code})
        reviews.append(
            {
                "key": f"review/{a.atom_id}",
                "response": "Synthetic step: the sum of its dependencies plus one.\n",
            }
        )
    (rec / "atoms.yaml").write_text(_recording(answers))
    (rec / "reviews.yaml").write_text(_recording(reviews))
    project = {
        "apiVersion": "mge.dev/v1alpha1",
        "kind": "Project",
        "metadata": {"name": name},
        "spec": {
            "requirements": f"A synthetic pure-Python package of {n} pipeline steps (benchmark).",
            "hints": {"language": "python", "constraints": ["pytest for tests"]},
            "discovery": {"interactive": False},
            "llm": {"provider": "scripted", "recordings": "recordings"},
            "budget": {"maxCostUSD": 10_000, "maxAtoms": max(2000, 2 * n)},
            "execution": {"concurrency": 100, "batchSize": 20, "parallelism": 4},
            "output": {"path": f"out/{name}"},
        },
    }
    (out / "project.yaml").write_text(
        "# Synthetic benchmark project written by benchmarks/synthetic_project.py; its LLM\n"
        "# answers are recordings with a chosen latency (recordings/), not model output.\n"
        + yaml.safe_dump(project, sort_keys=False)
    )
    return {
        "atoms": n,
        "modules": len(modules),
        "levels": 1 + max(levels_of(deps).values()),
        "wrongFirstAttempts": wrong_first,
        "delays": delays,
        "atomIds": {short: a.atom_id for short, a in atoms.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--atoms", type=int, default=800)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--name", default="synthetic")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    summary = write_project(args.out, args.atoms, args.seed, args.name)
    print(
        f"wrote {args.out}/project.yaml: {summary['atoms']} atoms in {summary['modules']} modules, "
        f"{summary['levels']} levels, {summary['wrongFirstAttempts']} wrong first attempts"
    )


if __name__ == "__main__":
    main()
