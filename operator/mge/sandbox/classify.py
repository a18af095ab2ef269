"""Decide how an atom's run ended, from what the runner observed. Pure.

The order of the checks is the order of certainty: what the runner itself did (output cap,
wall-clock kill) and what the kernel counted (refused forks, cgroup OOM kills) come before
guesses from exit codes and output text. Refused forks come before OOM kills: a fork bomb
usually fills the memory limit as well, and the retry prompt must name the cause.
"""

from __future__ import annotations

import re
import signal as signals
from collections.abc import Sequence
from dataclasses import dataclass

from mge.models.sandbox import AtomStatus, CaseOutcome

SIGNAL_OFFSET = 128
"""bubblewrap reports a child killed by signal N as exit status 128 + N."""
MEMORY_PATTERNS = re.compile(
    r"MemoryError|JavaScript heap out of memory|Fatal process out of memory|"
    r"Cannot allocate memory|std::bad_alloc|out of memory",
)
FILE_SIZE_PATTERNS = re.compile(r"\[Errno 27\]|File too large|EFBIG")
SANDBOX_SETUP_PATTERNS = re.compile(r"^(bwrap|unshare|setpriv|mount|mge-sandbox): ", re.M)
UNSHARE_SIGKILL = "unshare: sigprocmask unblock failed"
PYTEST_NO_TESTS = 5
MAX_LISTED_FAILURES = 3
MAX_STDERR_LINES = 12
MAX_CASE_LINES = 6
FORK_BOMB_PROCESSES = 16
"""An atom that held this many processes/threads at once was forking in a loop: no test runner
needs that many on its own (pytest runs 1-2, node about 11 counting V8's and libuv's threads)."""
NODE_FORK_BOMB_PROCESSES = 32
"""The same for ``node --test``, which runs each test file in a second node: ~17-22 threads."""


@dataclass(frozen=True)
class RunFacts:
    """Everything observed about one atom's run."""

    returncode: int | None
    wrapper: str
    """'bwrap', 'unshare' or '' — how the wrapper reports a child's death by signal."""
    timed_out: bool
    output_exceeded: bool
    oom_killed: bool
    pids_limit_hit: bool
    peak_processes: int
    """The most processes/threads the atom held at once; 0 when unknown."""
    cases: Sequence[CaseOutcome] | None
    """Parsed report; None when there was none (or it could not be read)."""
    report_problem: str
    stdout_tail: str
    stderr_tail: str
    explicit_command: bool
    runner: str
    """'pytest', 'node' or 'command' — how exit codes read."""


@dataclass(frozen=True)
class LimitFacts:
    """The limits that applied, for the explanation."""

    timeout_s: float
    cpu_s: int
    memory_mb: int
    processes: int
    file_size_mb: int
    output_bytes: int


@dataclass(frozen=True)
class Verdict:
    """The decision: status, decoded exit, and a paragraph saying why."""

    status: AtomStatus
    exit_code: int | None
    signal: str | None
    detail: str


def decode_exit(
    returncode: int | None, *, wrapper: str, stderr: str = ""
) -> tuple[int | None, int | None]:
    """(exit code, signal number) from a returncode; at most one is not None.

    bubblewrap exits 128 + N when its child dies of signal N. unshare re-raises the child's
    signal, except SIGKILL, which it cannot, and then exits 1 with a complaint.
    """
    if returncode is None:
        return None, None
    if returncode < 0:
        return None, -returncode
    if wrapper == "bwrap" and SIGNAL_OFFSET < returncode <= SIGNAL_OFFSET + 64:
        return None, returncode - SIGNAL_OFFSET
    if wrapper == "unshare" and returncode == 1 and UNSHARE_SIGKILL in stderr:
        return None, int(signals.SIGKILL)
    return returncode, None


def signal_name(number: int) -> str:
    """SIGKILL for 9, or SIG<n> for numbers without a name."""
    try:
        return signals.Signals(number).name
    except ValueError:
        return f"SIG{number}"


def _last_lines(text: str, n: int = MAX_STDERR_LINES) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return "\n".join(lines[-n:])


def _failure_summary(cases: Sequence[CaseOutcome]) -> str:
    bad = [c for c in cases if c.status in ("failed", "error")]
    shown = []
    for c in bad[:MAX_LISTED_FAILURES]:
        lines = [ln for ln in c.message.splitlines() if ln.strip()] or ["(no message)"]
        if len(lines) > MAX_CASE_LINES:  # the first line names the error; the last ones locate it
            lines = [lines[0], "…", *lines[-(MAX_CASE_LINES - 2) :]]
        shown.append(f"{c.name}: " + "\n".join(lines))
    more = f"\n(+{len(bad) - MAX_LISTED_FAILURES} more)" if len(bad) > MAX_LISTED_FAILURES else ""
    return "\n".join(shown) + more


def _text(facts: RunFacts) -> str:
    messages = " ".join(c.message for c in facts.cases or ())
    return "\n".join((facts.stdout_tail, facts.stderr_tail, messages))


def _limit_verdict(facts: RunFacts, lim: LimitFacts, sig: int | None) -> Verdict | None:
    name = signal_name(sig) if sig is not None else None
    if facts.output_exceeded:
        msg = f"killed after writing more than {lim.output_bytes} bytes to stdout/stderr"
        return Verdict(AtomStatus.OUTPUT_LIMIT, None, name, msg)
    if facts.pids_limit_hit:
        # Before memory: a fork bomb's copies of the interpreter (pytest's above all) fill the
        # memory limit too, but the forks the kernel refused say what the code was doing.
        msg = f"tried to run more than {lim.processes} processes/threads at once"
        if facts.oom_killed:
            msg += f", and together they ran out of memory ({lim.memory_mb} MiB)"
        elif facts.timed_out:
            msg += f", and was killed at the {lim.timeout_s:g} s wall-clock limit"
        return Verdict(AtomStatus.PROCESS_LIMIT, None, name, msg)
    bomb = NODE_FORK_BOMB_PROCESSES if facts.runner == "node" else FORK_BOMB_PROCESSES
    if facts.oom_killed and facts.peak_processes >= bomb:
        msg = (
            f"started {facts.peak_processes} processes/threads at once (limit {lim.processes}), "
            f"which together ran out of memory ({lim.memory_mb} MiB) before reaching that limit"
        )
        return Verdict(AtomStatus.PROCESS_LIMIT, None, name, msg)
    if facts.oom_killed:
        return Verdict(AtomStatus.OOM, None, name, f"ran out of memory ({lim.memory_mb} MiB)")
    if facts.timed_out:
        msg = f"killed at the {lim.timeout_s:g} s wall-clock limit"
        return Verdict(AtomStatus.TIMEOUT, None, name, msg)
    if sig == signals.SIGXCPU:
        msg = f"used more than {lim.cpu_s} s of CPU time"
        return Verdict(AtomStatus.CPU_LIMIT, None, name, msg)
    if sig == signals.SIGXFSZ:
        msg = f"wrote a file larger than {lim.file_size_mb} MiB"
        return Verdict(AtomStatus.FILE_LIMIT, None, name, msg)
    return None


def classify(facts: RunFacts, lim: LimitFacts) -> Verdict:
    """How the run ended, with a detail paragraph fit for a retry prompt."""
    code, sig = decode_exit(facts.returncode, wrapper=facts.wrapper, stderr=facts.stderr_tail)
    name = signal_name(sig) if sig is not None else None
    cases = list(facts.cases or ())
    limit = _limit_verdict(facts, lim, sig)
    if limit is not None:
        return limit
    bad = [c for c in cases if c.status in ("failed", "error")]
    ran_clean = code == 0 and not bad
    setup_failed = SANDBOX_SETUP_PATTERNS.search(facts.stderr_tail) and sig is None
    if not ran_clean and setup_failed and not cases:
        detail = "the sandbox could not start: " + _last_lines(facts.stderr_tail)
        return Verdict(AtomStatus.SANDBOX_ERROR, code, name, detail)
    if not ran_clean and MEMORY_PATTERNS.search(_text(facts)):
        detail = f"ran out of memory ({lim.memory_mb} MiB)\n" + _failure_summary(cases)
        return Verdict(AtomStatus.OOM, code, name, detail.strip())
    if not ran_clean and FILE_SIZE_PATTERNS.search(_text(facts)):
        detail = f"wrote a file larger than {lim.file_size_mb} MiB\n" + _failure_summary(cases)
        return Verdict(AtomStatus.FILE_LIMIT, code, name, detail.strip())
    if sig is not None:
        detail = f"killed by {name}\n" + _last_lines(facts.stderr_tail)
        return Verdict(AtomStatus.KILLED, None, name, detail.strip())
    return _verdict_from_tests(facts, code, cases)


def _verdict_from_tests(facts: RunFacts, code: int | None, cases: list[CaseOutcome]) -> Verdict:
    failed = [c for c in cases if c.status == "failed"]
    errored = [c for c in cases if c.status == "error"]
    stderr = _last_lines(facts.stderr_tail) or _last_lines(facts.stdout_tail)
    if failed:
        n_bad = len(failed) + len(errored)
        detail = f"{n_bad} of {len(cases)} tests failed:\n{_failure_summary(cases)}"
        return Verdict(AtomStatus.FAILED, code, None, detail)
    if errored:
        detail = f"could not be tested ({len(errored)} errors):\n{_failure_summary(cases)}"
        return Verdict(AtomStatus.ERROR, code, None, detail)
    if facts.runner == "command":
        if code == 0:
            return Verdict(AtomStatus.PASSED, 0, None, "command exited 0")
        return Verdict(AtomStatus.FAILED, code, None, f"command exited {code}\n{stderr}".strip())
    ran = [c for c in cases if c.status == "passed"]
    if code == 0 and ran:
        skipped = len(cases) - len(ran)
        note = f" ({skipped} skipped)" if skipped else ""
        return Verdict(AtomStatus.PASSED, 0, None, f"{len(ran)} tests passed{note}")
    if code == 0 or (facts.runner == "pytest" and code == PYTEST_NO_TESTS):
        return Verdict(AtomStatus.NO_TESTS, code, None, "no test ran")
    why = facts.report_problem or "no failing test in the report"
    detail = f"exited {code} ({why})\n{stderr}".strip()
    return Verdict(AtomStatus.ERROR, code, None, detail)
