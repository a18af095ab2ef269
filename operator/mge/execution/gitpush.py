"""Push a codebase to a branch of a remote git repository with the ``git`` CLI.

Deterministic: the commit's tree is the files, its parent the branch's current head, its
author and committer name, e-mail and date are given by the caller (derived from the project),
and so is its message — the same input gives the same commit id, so pushing again after a
restart adds nothing. If the branch already holds exactly this tree, nothing is committed or
pushed at all.

Credentials never touch the disk, a URL or a log: the remote is passed to each git command as
an argument (no ``git remote add``), the username and password reach git through the
environment of the git process and a ``GIT_ASKPASS`` helper script (in a private temporary
folder, mode 0700) that only prints those variables; ``GIT_TERMINAL_PROMPT=0`` so git never
waits for a prompt; no credential helper, no user or system git config. Error messages are
scrubbed of the password and of any ``user:pass@`` in a URL.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from mge.errors import GitPushError
from mge.execution.gitrun import run_git

GIT_TIMEOUT_SECONDS = 120.0
"""Longest a single git command (ls-remote, fetch, push) may take (seconds)."""
ERROR_LIMIT = 400
"""Characters of git's stderr kept in an error message."""
REASON_PUSH_FAILED = "GitPushFailed"
REASON_AUTH_FAILED = "GitAuthFailed"
_AUTH_MARKERS = ("authentication failed", "401", "403", "could not read username", "permission")
_ASKPASS = """#!/bin/sh
case "$1" in
  Username*|username*) printf '%s\\n' "$MGE_GIT_USERNAME" ;;
  *) printf '%s\\n' "$MGE_GIT_PASSWORD" ;;
esac
"""


@dataclass(frozen=True)
class GitCredentials:
    """HTTPS basic-auth credentials (a token goes in ``password``)."""

    username: str
    password: SecretStr


@dataclass(frozen=True)
class CommitIdentity:
    """Author and committer of the commit (both the same), and its date."""

    name: str
    email: str
    date: str
    """A date git understands, e.g. ``2026-01-02T03:04:05+00:00``."""


@dataclass(frozen=True)
class PushResult:
    """What :func:`push_tree` did."""

    commit: str
    """The branch's head after the call (our commit, or the one already there)."""
    pushed: bool
    """False when the branch already held this exact tree (nothing committed or pushed)."""


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` without the given secrets and without ``user:pass@`` in URLs. Pure."""
    out = re.sub(r"(\w+://)[^/@\s]+@", r"\1***@", text)
    for secret in secrets:
        if secret:
            out = out.replace(secret, "***")
    return out


def _reason(stderr: str) -> str:
    low = stderr.lower()
    return REASON_AUTH_FAILED if any(m in low for m in _AUTH_MARKERS) else REASON_PUSH_FAILED


class _Git:
    """git commands in one private temp folder, with a locked-down environment."""

    def __init__(self, root: Path, credentials: GitCredentials | None) -> None:
        git = shutil.which("git")
        if git is None:
            raise GitPushError("git is not installed in the operator image", reason="GitMissing")
        self.git = git
        self.repo = root / "repo"
        self.secrets = [credentials.password.get_secret_value()] if credentials else []
        askpass = root / "askpass.sh"
        askpass.write_text(_ASKPASS, encoding="utf-8")
        askpass.chmod(0o700)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(root),
            "LANG": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": str(askpass),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
        }
        if credentials is not None:
            self.env["MGE_GIT_USERNAME"] = credentials.username
            self.env["MGE_GIT_PASSWORD"] = credentials.password.get_secret_value()

    async def run(
        self, *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> str:
        done = await run_git(
            self.git,
            ["-c", "credential.helper=", "-c", "commit.gpgsign=false", *args],
            timeout_s=GIT_TIMEOUT_SECONDS,
            cwd=cwd or self.repo,
            env={**self.env, **(env or {})},
        )
        if done.timed_out:
            raise GitPushError(f"git {args[0]} timed out after {GIT_TIMEOUT_SECONDS:g} s")
        if done.returncode != 0:
            text = scrub(done.err, self.secrets)[-ERROR_LIMIT:]
            raise GitPushError(f"git {args[0]} failed: {text}", reason=_reason(text))
        return done.out


def _write(folder: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


async def push_tree(
    files: Mapping[str, str],
    *,
    repository: str,
    branch: str,
    message: str,
    identity: CommitIdentity,
    credentials: GitCredentials | None = None,
) -> PushResult:
    """Make ``branch`` of ``repository`` hold exactly ``files`` (path → text): one commit on top
    of its head (or a root commit for a new branch), pushed; nothing when it already does.

    Raises GitPushError (reason ``GitAuthFailed`` or ``GitPushFailed``) with git's scrubbed
    message; the caller retries later — a repeat makes the same commit.
    """
    ref = f"refs/heads/{branch}"
    with tempfile.TemporaryDirectory(prefix="mge-git-") as tmp:  # mode 0700
        git = _Git(Path(tmp), credentials)
        git.repo.mkdir()
        await git.run("init", "-q")
        heads = await git.run("ls-remote", "--", repository, ref)
        parent = heads.split()[0] if heads else ""
        if parent:
            await git.run("fetch", "-q", "--depth=1", "--", repository, ref)
        await asyncio.to_thread(_write, git.repo, files)
        await git.run("add", "-A")
        tree = await git.run("write-tree")
        if parent and await git.run("rev-parse", "FETCH_HEAD^{tree}") == tree:
            return PushResult(commit=parent, pushed=False)
        who = {
            "GIT_AUTHOR_NAME": identity.name,
            "GIT_AUTHOR_EMAIL": identity.email,
            "GIT_AUTHOR_DATE": identity.date,
            "GIT_COMMITTER_NAME": identity.name,
            "GIT_COMMITTER_EMAIL": identity.email,
            "GIT_COMMITTER_DATE": identity.date,
        }
        args = ["commit-tree", tree, "-m", message]
        if parent:
            args += ["-p", parent]
        commit = await git.run(*args, env=who)
        await git.run("push", "-q", "--", repository, f"{commit}:{ref}")
        return PushResult(commit=commit, pushed=True)
