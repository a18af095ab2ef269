"""The batch runner end to end, under every isolation this host has."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from mge.errors import SandboxUnavailable
from mge.models.sandbox import AtomStatus, SandboxBatch, SandboxResult
from mge.sandbox import (
    HostReport,
    LocalSandbox,
    Probe,
    RunnerOptions,
    choose_isolation,
    probe_host,
)

ADD = "def add(a, b):\n    return a + b\n"
TEST_ADD = "from pkg.add import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def _py(atom_id: str, code: str, test: str = TEST_ADD, **extra: object) -> dict[str, object]:
    return {
        "atomId": atom_id,
        "files": {"pkg/add.py": code, "tests/test_add.py": test},
        "testFiles": ["tests/test_add.py"],
        **extra,
    }


def _batch(items: list[dict[str, object]], **over: object) -> SandboxBatch:
    data: dict[str, object] = {
        "batchId": "it",
        "language": "python",
        "sharedFiles": {"pkg/__init__.py": ""},
        "limits": {"timeoutSeconds": 20},
        "items": items,
    }
    data.update(over)
    return SandboxBatch.model_validate(data)


async def _run(
    batch: SandboxBatch, isolation: str, tmp_path: Path, **opts: object
) -> SandboxResult:
    options = RunnerOptions(isolation=isolation, scratch_dir=tmp_path / "scratch", **opts)  # type: ignore[arg-type]
    return await LocalSandbox(options).run(batch)


def test_this_host_has_real_isolation(host: HostReport) -> None:
    kind, _ = choose_isolation("auto", host)
    assert kind.value in ("bwrap", "unshare")


async def test_each_atom_gets_its_own_verdict(isolation: str, tmp_path: Path) -> None:
    batch = _batch(
        [
            _py("ok", ADD),
            _py("wrong", "def add(a, b):\n    return a - b\n"),
            _py("syntax", "def add(a, b)\n    return a\n"),
            _py("no-tests", ADD, test="def helper():\n    pass\n"),
            {"atomId": "cmd-3", "command": ["python", "-c", "raise SystemExit(3)"]},
            {"atomId": "cmd-missing", "command": ["no-such-program-xyz"]},
        ]
    )
    result = await _run(batch, isolation, tmp_path)
    got = {o.atom_id: o.status for o in result.outcomes}
    assert got == {
        "ok": AtomStatus.PASSED,
        "wrong": AtomStatus.FAILED,
        "syntax": AtomStatus.ERROR,
        "no-tests": AtomStatus.NO_TESTS,
        "cmd-3": AtomStatus.FAILED,
        "cmd-missing": AtomStatus.FAILED,
    }
    assert [o.atom_id for o in result.outcomes] == [i.atom_id for i in batch.items]
    wrong = result.outcome("wrong")
    assert wrong.exit_code == 1 and "assert -1 == 5" in wrong.detail
    assert wrong.cases[0].name == "test_add" and wrong.cases[0].status == "failed"
    assert "SyntaxError" in result.outcome("syntax").detail
    assert result.outcome("cmd-3").exit_code == 3
    assert "no-such-program-xyz" in result.outcome("cmd-missing").detail
    assert result.isolation == {"unsandboxed": "none"}.get(isolation, isolation)
    assert list((tmp_path / "scratch").iterdir()) == []  # batch folder removed
    assert SandboxResult.model_validate_json(result.model_dump_json(by_alias=True)) == result


async def test_shared_files_are_seen_and_atoms_do_not_see_each_other(
    isolation: str, tmp_path: Path
) -> None:
    writer = "open('leak.txt', 'w').write('from writer')\n"
    reader = (
        "import os, pathlib\n"
        "from pkg.util import VALUE\n"
        "assert VALUE == 41 and not os.path.exists('leak.txt')\n"
        "assert pathlib.Path('pkg/util.py').read_text().startswith('VALUE')\n"
    )
    batch = _batch(
        [
            {"atomId": "writer", "command": ["python", "-c", writer]},
            {"atomId": "reader", "command": ["python", "-c", reader]},
            {
                "atomId": "overrider",
                "files": {"pkg/util.py": "VALUE = 42\n"},
                "command": ["python", "-c", "from pkg.util import VALUE; assert VALUE == 42"],
            },
        ],
        sharedFiles={"pkg/__init__.py": "", "pkg/util.py": "VALUE = 41\n"},
    )
    result = await _run(batch, isolation, tmp_path, concurrency=1)
    assert [o.status for o in result.outcomes] == [AtomStatus.PASSED] * 3, [
        o.detail for o in result.outcomes
    ]


async def test_javascript_atoms(isolation: str, tmp_path: Path) -> None:
    test = (
        "const test = require('node:test'); const assert = require('node:assert');\n"
        "const { add } = require('./add.js');\n"
        "test('adds', () => assert.strictEqual(add(2, 3), 5));\n"
    )
    items: list[dict[str, object]] = [
        {
            "atomId": "js-ok",
            "files": {"add.js": "exports.add = (a, b) => a + b;\n", "add.test.js": test},
            "testFiles": ["add.test.js"],
        },
        {
            "atomId": "js-bad",
            "files": {"add.js": "exports.add = (a, b) => a * b;\n", "add.test.js": test},
            "testFiles": ["add.test.js"],
        },
    ]
    result = await _run(_batch(items, language="javascript", sharedFiles={}), isolation, tmp_path)
    assert result.outcome("js-ok").status is AtomStatus.PASSED
    bad = result.outcome("js-bad")
    assert bad.status is AtomStatus.FAILED and "6 !== 5" in bad.detail


async def test_typescript_atoms_run_with_types_stripped(isolation: str, tmp_path: Path) -> None:
    test = (
        'import { test } from "node:test";\nimport assert from "node:assert/strict";\n'
        'import { add } from "./add.ts";\n'
        'test("adds", () => assert.equal(add(2, 3), 5));\n'
    )
    good = "export function add(a: number, b: number): number {\n  return a + b;\n}\n"
    items: list[dict[str, object]] = [
        {"atomId": "ts-ok", "files": {"add.ts": good}, "testFiles": ["add.test.ts"]},
        {
            "atomId": "ts-bad",
            "files": {"add.ts": good.replace("a + b", "a * b")},
            "testFiles": ["add.test.ts"],
        },
    ]
    batch = _batch(items, language="typescript", sharedFiles={"add.test.ts": test})
    result = await _run(batch, isolation, tmp_path)
    ok = result.outcome("ts-ok")
    assert ok.status is AtomStatus.PASSED, ok.detail
    assert [c.name for c in ok.cases] == ["adds"]
    bad = result.outcome("ts-bad")
    assert bad.status is AtomStatus.FAILED and "6 !== 5" in bad.detail


async def test_concurrency_is_bounded(isolation: str, tmp_path: Path) -> None:
    code = "import time; a = time.time(); time.sleep(0.5); print(a, time.time())"
    items: list[dict[str, object]] = [
        {"atomId": f"s{i}", "command": ["python", "-c", code]} for i in range(5)
    ]
    result = await _run(_batch(items), isolation, tmp_path, concurrency=2)
    spans = [tuple(map(float, o.stdout_tail.split())) for o in result.outcomes]
    points = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    running = peak = 0
    for _, step in points:
        running += step
        peak = max(peak, running)
    assert peak == 2 and result.concurrency == 2


async def test_keep_files_leaves_the_batch_folder(isolation: str, tmp_path: Path) -> None:
    batch = _batch([{"atomId": "a", "command": ["python", "-c", "open('out.txt','w').write('x')"]}])
    await _run(batch, isolation, tmp_path, keep_files=True)
    (batch_dir,) = (tmp_path / "scratch").iterdir()
    assert (batch_dir / "0000-a" / "out.txt").read_text() == "x"


async def test_a_broken_wrapper_is_a_sandbox_error_not_a_code_failure(
    host: HostReport, tmp_path: Path
) -> None:
    fake = tmp_path / "bwrap"  # injected fault: a bubblewrap that cannot set up
    fake.write_text(
        "#!/bin/sh\necho 'bwrap: Creating new namespace failed: injected' >&2\nexit 1\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    broken = HostReport(
        root=host.root,
        prlimit=host.prlimit,
        bwrap=Probe(True, str(fake)),
        unshare=host.unshare,
        cgroups=host.cgroups,
        python=host.python,
        node=host.node,
    )
    batch = _batch([_py("a", ADD)])
    options = RunnerOptions(isolation="bwrap", scratch_dir=tmp_path / "scratch")
    result = await LocalSandbox(options, host=broken).run(batch)
    (only,) = result.outcomes
    assert only.status is AtomStatus.SANDBOX_ERROR and "injected" in only.detail


async def test_no_isolation_is_refused(host: HostReport, tmp_path: Path) -> None:
    none = HostReport(
        root=host.root,
        prlimit=host.prlimit,
        bwrap=Probe(False, None, "missing"),
        unshare=Probe(False, None, "missing"),
        cgroups=None,
        python=host.python,
        node=host.node,
    )
    options = RunnerOptions(isolation="auto", scratch_dir=tmp_path / "scratch")
    try:
        await LocalSandbox(options, host=none).run(_batch([_py("a", ADD)]))
    except SandboxUnavailable as e:
        assert "unsandboxed" in str(e)
    else:
        raise AssertionError("ran without isolation")
    assert not (tmp_path / "scratch").exists()


async def test_result_json_is_what_the_cli_prints(isolation: str, tmp_path: Path) -> None:
    result = await _run(_batch([_py("ok", ADD)]), isolation, tmp_path)
    wire = json.loads(result.model_dump_json(by_alias=True))
    assert wire["outcomes"][0]["atomId"] == "ok" and wire["outcomes"][0]["passed"] is True


async def test_probing_for_a_choice_probes_only_what_it_needs() -> None:
    auto = await probe_host("auto")
    assert auto.bwrap.ok, auto.bwrap.reason  # bubblewrap is installed on this project's machines
    assert auto.unshare.reason == "not probed"
    pod = await probe_host("pod")
    assert pod.bwrap.reason == pod.unshare.reason == "not probed" and pod.prlimit.ok
