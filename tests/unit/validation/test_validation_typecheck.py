"""mypy on assembled files: output parsing, attribution to atoms, one real run."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Mapping
from pathlib import Path

import pytest
from shop_codebase import ADD, DISCOUNT, GOOD, SUBTOTAL, TOTAL, codebase

from mge.validation.typecheck import MypyChecker, TypeIssue, attribute, parse_mypy_output


def test_parse_mypy_output_keeps_errors_only() -> None:
    text = (
        'src/a.py:4: error: Incompatible return value type (got "str", expected "int")  '
        "[return-value]\n"
        "src/a.py:4: note: see this\n"
        'src/b.py:10:5: error: Name "x" is not defined  [name-defined]\n'
        "Success: whatever\n"
    )
    assert parse_mypy_output(text) == [
        TypeIssue(
            "src/a.py",
            4,
            'Incompatible return value type (got "str", expected "int")  [return-value]',
        ),
        TypeIssue("src/b.py", 10, 'Name "x" is not defined  [name-defined]'),
    ]


def test_attribute_by_span_drops_unowned() -> None:
    issues = [TypeIssue("a.py", 3, "x"), TypeIssue("a.py", 9, "y"), TypeIssue("b.py", 1, "z")]
    spans = {"a.py": {"f": (1, 4), "g": (8, 12)}}
    assert attribute(issues, spans) == {"f": [issues[0]], "g": [issues[1]]}


async def test_real_mypy_finds_the_bad_body_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cb = codebase()
    codes = {
        SUBTOTAL.id: "def subtotal(prices: list[float]) -> float:\n    return 'zero'\n",
        DISCOUNT.id: GOOD[DISCOUNT.id],
        TOTAL.id: GOOD[TOTAL.id],
        ADD.id: GOOD[ADD.id],
    }
    files = cb.render(codes)
    checker = MypyChecker(cache_dir=tmp_path / "cache")
    assert checker.available
    issues = await checker.check(files, ["src/shop/pricing.py", "src/shop/cart.py"])
    assert len(issues) == 1, issues
    assert issues[0].path == "src/shop/pricing.py"
    assert "[return-value]" in issues[0].message
    owner = {
        SUBTOTAL.qualname: SUBTOTAL.id,
        DISCOUNT.qualname: DISCOUNT.id,
        TOTAL.qualname: TOTAL.id,
    }
    assembly = cb.render_file("src/shop/pricing.py", codes)
    spans = {"src/shop/pricing.py": {owner[q]: span for q, span in assembly.spans.items()}}
    assert list(attribute(issues, spans)) == [SUBTOTAL.id]


async def test_mypy_runs_are_limited_per_process(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Many checkers at once (one per Project in the operator) never run more than the limit."""
    from mge.validation import typecheck

    monkeypatch.setattr(typecheck, "MYPY_CONCURRENCY", 2)
    log = tmp_path / "runs.log"
    fake = tmp_path / "fake-python"  # stands in for `python -m mypy`: logs start/end, sleeps
    fake.write_text(
        f'#!/bin/sh\necho "start $(date +%s.%N)" >> {log}\nsleep 0.3\n'
        f'echo "end $(date +%s.%N)" >> {log}\n'
    )
    fake.chmod(0o755)
    checkers = [typecheck.MypyChecker(python=str(fake)) for _ in range(6)]
    files = {"m.py": "x = 1\n"}
    results = await asyncio.gather(*(c.check(files, ["m.py"]) for c in checkers))
    assert results == [[]] * 6
    running = peak = 0
    events = sorted(
        (float(t), 1 if kind == "start" else -1)
        for kind, t in (line.split() for line in log.read_text().splitlines())
    )
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert len(events) == 12 and peak == 2


async def test_a_cancelled_check_stops_its_checker_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A batch whose sandbox run fails cancels its type check; mypy must not run on unowned."""
    pid_file = tmp_path / "pid"
    fake = tmp_path / "fake-python"  # stands in for `python -m mypy`: says its pid, then sleeps
    fake.write_text(
        f"#!/bin/sh\necho $$ > {pid_file}.tmp && mv {pid_file}.tmp {pid_file}\nexec sleep 60\n"
    )
    fake.chmod(0o755)
    checker = MypyChecker(python=str(fake))
    check = asyncio.ensure_future(checker.check({"m.py": "x = 1\n"}, ["m.py"]))
    for _ in range(600):  # the process has started (bounded: 60 s)
        if pid_file.exists():
            break
        await asyncio.sleep(0.1)
    pid = int(pid_file.read_text())
    check.cancel()
    await asyncio.gather(check, return_exceptions=True)
    assert check.cancelled()
    assert not _alive(pid), "the checker process outlived its cancelled check"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_the_checkers_tree_is_written_and_removed_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On a busy disk, writing hundreds of files took the operator's loop 5 s (its Lease too).
    import mge.validation.typecheck as module

    writers: list[int] = []
    real = module.write_tree

    def recording(root: Path, files: Mapping[str, str], suffixes: tuple[str, ...]) -> None:
        writers.append(threading.get_ident())
        real(root, files, suffixes)

    monkeypatch.setattr(module, "write_tree", recording)
    async with module.checker_tree(
        "mge-test-", {"a.py": "x = 1\n", "b.txt": "no"}, (".py",)
    ) as root:
        assert (root / "a.py").read_text() == "x = 1\n"
        assert not (root / "b.txt").exists()
    assert writers and threading.get_ident() not in writers
    assert not root.exists(), "removed afterwards"
