"""``spec.output.git``: when to push the final codebase, and what to record. Pure.

The reconcile plans a :class:`~mge.kube.decide.PushOutput` when a Project is ``Completed``, has
``spec.output.git``, and ``status.output`` does not already say this generation was pushed to
that repository and branch; after a failure it waits :func:`retry_pause` (10 s doubling to
5 min) since ``status.output.lastPushAt``. apply.py does the push
(:func:`mge.execution.gitpush.push_tree`) and hands back a :class:`PushOutcome`, which
:func:`record` folds into ``status.output``. The commit is deterministic (identity and date from
the Project, message naming Project and generation), so a push repeated after a restart — the
status write lost — finds the tree already there and adds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr

from mge.execution.gitpush import CommitIdentity, GitCredentials
from mge.kube.conditions import now_rfc3339
from mge.models.project import GitOutput, OutputStatus

REASON_PUSH_FAILED = "GitPushFailed"
REASON_PUSHED = "GitPushed"
REASON_PUSHING = "PushingOutput"
PUSH_RETRY_BASE_SECONDS = 10.0
"""Pause after the first failed push (seconds); doubles after each further failure."""
PUSH_RETRY_MAX_SECONDS = 300.0
"""Longest pause between two push attempts (seconds)."""
ERROR_LIMIT = 500
"""Characters of a push error kept in the status."""
DEFAULT_USERNAME = "git"
"""Username sent with a bare ``token`` (hosts that take a token as the password ignore it)."""
COMMIT_NAME = "MGE operator"
COMMIT_EMAIL_DOMAIN = "mge.dev"
EPOCH = "1970-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class PushOutcome:
    """What one push attempt did (no credentials in it)."""

    commit: str = ""
    pushed: bool = False
    """True when a commit was pushed; False with a commit: the branch already had the tree."""
    error: str = ""
    reason: str = ""

    @property
    def ok(self) -> bool:
        """The branch holds the codebase."""
        return not self.error and bool(self.commit)


def retry_pause(failures: int) -> float:
    """Seconds to wait after ``failures`` consecutive failed pushes."""
    return min(PUSH_RETRY_BASE_SECONDS * 2.0 ** max(0, failures - 1), PUSH_RETRY_MAX_SECONDS)


def is_pushed(git: GitOutput, output: OutputStatus | None, generation: int) -> bool:
    """True when ``status.output`` says ``generation`` is on ``git``'s repository and branch."""
    return (
        output is not None
        and bool(output.git_commit)
        and output.repository == git.repository
        and output.branch == git.branch
        and output.pushed_generation == generation
    )


def push_due(git: GitOutput, output: OutputStatus | None, generation: int, now: datetime) -> bool:
    """True when a push should be attempted now (not pushed yet, backoff over)."""
    if is_pushed(git, output, generation):
        return False
    if output is None or not output.push_failures or not output.last_push_at:
        return True
    try:
        last = datetime.fromisoformat(output.last_push_at.replace("Z", "+00:00"))
    except ValueError:
        return True
    return now >= last + timedelta(seconds=retry_pause(output.push_failures))


def record(
    output: OutputStatus | None,
    git: GitOutput,
    generation: int,
    outcome: PushOutcome,
    now: datetime,
) -> OutputStatus:
    """``status.output`` after ``outcome``: where the codebase is, or the failure count."""
    base = output or OutputStatus()
    if outcome.ok:
        return base.model_copy(
            update={
                "repository": git.repository,
                "branch": git.branch,
                "git_commit": outcome.commit,
                "pushed_generation": generation,
                "push_failures": None,
                "push_error": None,
                "last_push_at": now_rfc3339(now),
            }
        )
    return base.model_copy(
        update={
            "push_failures": (base.push_failures or 0) + 1,
            "push_error": (outcome.error or "git push failed")[:ERROR_LIMIT],
            "last_push_at": now_rfc3339(now),
        }
    )


def status_patch(new: dict[str, Any]) -> dict[str, Any]:
    """``new`` (a status dumped without None) as a merge patch: every ``status.output`` field
    it leaves out is sent as null, which deletes it (a push's failure count once it
    succeeded). Not "what the last status held": a reconcile can start from a status older
    than the last one written (a timer beside an event), and a field it never saw must still
    go."""
    output = new.get("output")
    if not isinstance(output, dict):
        return new
    gone = {k: None for k in OutputStatus().model_dump(by_alias=True) if k not in output}
    return {**new, "output": {**output, **gone}}


def reset(output: OutputStatus | None) -> OutputStatus | None:
    """``status.output`` for a new generation: earlier push failures no longer count."""
    if output is None:
        return None
    return output.model_copy(
        update={"push_failures": None, "push_error": None, "last_push_at": None}
    )


def credentials(data: Mapping[str, SecretStr], key: str = "") -> GitCredentials | None:
    """Credentials from a Secret's data: ``username`` + ``password``, or ``token`` (or the
    secretRef's own ``key``) as the password; None when it holds none of them."""
    secret = data.get("password") or data.get("token") or (data.get(key) if key else None)
    if secret is None or not secret.get_secret_value():
        return None
    user = data.get("username")
    return GitCredentials(user.get_secret_value() if user else DEFAULT_USERNAME, secret)


def identity(metadata: Mapping[str, Any]) -> CommitIdentity:
    """Author = committer, from the Project: the same for every push of it."""
    namespace, name = metadata.get("namespace", ""), metadata.get("name", "")
    return CommitIdentity(
        name=COMMIT_NAME,
        email=f"{name}.{namespace}@{COMMIT_EMAIL_DOMAIN}",
        date=str(metadata.get("creationTimestamp") or EPOCH),
    )


def commit_message(key: str, generation: int, files: int) -> str:
    """The commit message: which Project, which generation."""
    return (
        f"MGE: {key} generation {generation}\n\n"
        f"{files} files generated by the MGE operator from Project {key} "
        f"(metadata.generation {generation})."
    )
