"""Type checking generated TypeScript with ``tsc --noEmit`` (strict), once per batch.

Like mypy (:mod:`mge.validation.typecheck`), tsc reads code and never runs it, so it runs in the
trusted process as a subprocess on a temporary copy of the batch's assembled files: every
candidate of a batch is spliced in together and each diagnostic is attributed to the candidate
whose span holds its line. One tsc start per batch, not per atom (a cold tsc costs ~1 s of CPU).

The configuration (:data:`TSCONFIG`) is the one the output folder ships: strict, ESM
(``NodeNext``), ``.ts`` import suffixes (Node runs the files with their types stripped) and
erasable syntax only (no enums or namespaces, which Node cannot strip).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mge.sandbox.nodetools import find_node, find_tsc
from mge.validation.typecheck import TypeIssue, checker_slots, checker_tree, run_checker

TSC_TIMEOUT_SECONDS = 180.0
"""A tsc run over one batch longer than this is reported as a failed type check."""
TS_SUFFIXES = (".ts", ".mts", ".cts", ".tsx")

COMPILER_OPTIONS: dict[str, Any] = {
    "strict": True,
    "noEmit": True,
    "target": "ES2022",
    "lib": ["ES2023"],
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "allowImportingTsExtensions": True,
    "erasableSyntaxOnly": True,
    "verbatimModuleSyntax": True,
    "skipLibCheck": True,
    "types": ["node"],
}
"""Strict, ESM, ``.ts`` imports, erasable syntax only (what ``node`` can run as it is)."""


def tsconfig(type_roots: Sequence[str] = ()) -> dict[str, Any]:
    """The tsconfig.json the checker and the output folder use (pure)."""
    options = dict(COMPILER_OPTIONS)
    if type_roots:
        options["typeRoots"] = list(type_roots)
    return {"compilerOptions": options, "include": ["**/*.ts", "**/*.mts"]}


_LINE = re.compile(
    r"^(?P<path>[^(\n]+)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>TS\d+): (?P<msg>.*)$"
)


def parse_tsc_output(text: str) -> list[TypeIssue]:
    """The error diagnostics of ``tsc --pretty false`` (continuation lines join their error)."""
    issues: list[TypeIssue] = []
    for raw in text.splitlines():
        m = _LINE.match(raw.strip())
        if m:
            message = f"{m.group('msg')}  [{m.group('code')}]"
            issues.append(TypeIssue(m.group("path"), int(m.group("line")), message))
        elif raw.startswith(" ") and issues and raw.strip():
            last = issues[-1]
            issues[-1] = TypeIssue(last.path, last.line, f"{last.message}\n  {raw.strip()}")
    return issues


class TscChecker:
    """Runs ``node tsc -p`` (the pinned TypeScript, :mod:`mge.sandbox.nodetools`) on a copy."""

    languages: tuple[str, ...] = ("typescript",)

    def __init__(self, timeout_s: float = TSC_TIMEOUT_SECONDS) -> None:
        self.timeout_s = timeout_s
        self.node = find_node()
        self.tsc = find_tsc()
        self.available = self.node is not None and self.tsc is not None

    def _type_roots(self) -> list[str]:
        if self.tsc is None:
            return []
        modules = Path(self.tsc).resolve().parent.parent.parent  # node_modules/typescript/bin
        roots = modules / "@types"
        return [str(roots)] if roots.is_dir() else []

    async def check(self, files: Mapping[str, str], targets: Sequence[str]) -> list[TypeIssue]:
        """tsc errors in ``targets``; a timeout is reported as one issue per target."""
        ts_targets = [t for t in targets if t.endswith(TS_SUFFIXES)]
        if not ts_targets or self.node is None or self.tsc is None:
            return []
        async with checker_slots():
            issues = await self._run(files, ts_targets, self.node, self.tsc)
        wanted = set(ts_targets)
        return [i for i in issues if i.path in wanted]

    async def _run(
        self, files: Mapping[str, str], targets: Sequence[str], node: str, tsc: str
    ) -> list[TypeIssue]:
        suffixes = (*TS_SUFFIXES, ".js", ".mjs", ".json")
        async with checker_tree("mge-tsc-", files, suffixes) as root:
            tmp = str(root)
            package = root / "package.json"
            if not package.exists():
                package.write_text(json.dumps({"type": "module"}))
            (root / "tsconfig.json").write_text(json.dumps(tsconfig(self._type_roots())))
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp}
            args = [node, tsc, "-p", "tsconfig.json", "--pretty", "false"]
            out = await run_checker(args, cwd=root, env=env, timeout_s=self.timeout_s)
        if out is None:
            return [TypeIssue(t, 1, f"tsc timed out after {self.timeout_s:g} s") for t in targets]
        return parse_tsc_output(out)
