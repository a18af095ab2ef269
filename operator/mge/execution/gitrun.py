"""One git subprocess with a time limit: what local commits and operator pushes both run.

Callers turn the outcome into their own error (output.py: MGEError; gitpush.py: GitPushError
with secrets scrubbed), so this module only runs git and reports what happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GitRun:
    """How one git command ended: ``timed_out``, or its exit code and decoded output."""

    returncode: int
    out: str
    err: str
    timed_out: bool = False


async def run_git(
    git: str,
    args: Sequence[str],
    *,
    timeout_s: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> GitRun:
    """Run ``git *args`` (stdin closed); kill it after ``timeout_s`` seconds."""
    proc = await asyncio.create_subprocess_exec(
        git,
        *args,
        cwd=str(cwd) if cwd is not None else None,
        env=dict(env) if env is not None else None,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return GitRun(-1, "", "", timed_out=True)
    rc = proc.returncode if proc.returncode is not None else -1
    return GitRun(rc, out.decode(errors="replace").strip(), err.decode(errors="replace").strip())
