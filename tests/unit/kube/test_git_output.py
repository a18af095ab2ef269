"""spec.output.git: the pure push rules (gitoutput, decide, record_push) and the git push itself
against real repositories on disk (the `git` CLI, no mocks; over HTTP in tests/integration/kube).
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from mge.errors import GitPushError
from mge.execution.gitpush import CommitIdentity, GitCredentials, push_tree, scrub
from mge.kube import gitoutput
from mge.kube.decide import Event, Observed, PushOutput, decide, record_push
from mge.models.project import GitOutput, OutputStatus, Phase, ProjectSpec, ProjectStatus

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
GIT = GitOutput(repository="https://git.example/team/app.git", branch="mge/out")
IDENTITY = CommitIdentity("MGE operator", "p.ns@mge.dev", "2026-11-24T10:00:00+00:00")


def spec(git: GitOutput | None = GIT) -> ProjectSpec:
    return ProjectSpec.model_validate(
        {"requirements": "a todo list", "output": {"git": git.wire() if git else None}}
    )


def cond(status: ProjectStatus, kind: str) -> tuple[str, str]:
    c = next(c for c in status.conditions if c.type == kind)
    return c.status, c.reason


def completed(output: OutputStatus | None = None, generation: int = 1) -> ProjectStatus:
    return ProjectStatus(phase="Completed", observed_generation=generation, output=output)


OBSERVED = Observed(generation=1, key="ns/p", stored_phase=Phase.COMPLETED, worker="finished")

# ------------------------------------------------------------------ pure rules


def test_retry_pause_doubles_to_a_cap() -> None:
    pauses = [gitoutput.retry_pause(n) for n in range(1, 9)]
    assert pauses[:3] == [10.0, 20.0, 40.0]
    assert pauses[-1] == gitoutput.PUSH_RETRY_MAX_SECONDS


@pytest.mark.parametrize(
    ("output", "due"),
    [
        (None, True),
        (OutputStatus(store_key="ns/p"), True),
        (
            OutputStatus(
                repository=GIT.repository,
                branch=GIT.branch,
                git_commit="a" * 40,
                pushed_generation=1,
            ),
            False,
        ),
        # pushed, but for another branch / generation: push again
        (
            OutputStatus(
                repository=GIT.repository, branch="main", git_commit="a" * 40, pushed_generation=1
            ),
            True,
        ),
        (
            OutputStatus(
                repository=GIT.repository,
                branch=GIT.branch,
                git_commit="a" * 40,
                pushed_generation=0,
            ),
            True,
        ),
        # failed 5 s ago: wait (first pause 10 s); failed 11 s ago: retry
        (OutputStatus(push_failures=1, last_push_at="2026-11-24T11:59:55Z"), False),
        (OutputStatus(push_failures=1, last_push_at="2026-11-24T11:59:49Z"), True),
        (OutputStatus(push_failures=3, last_push_at="2026-11-24T11:59:30Z"), False),
    ],
)
def test_push_due(output: OutputStatus | None, due: bool) -> None:
    assert gitoutput.push_due(GIT, output, 1, NOW) is due


def test_record_success_clears_failures_and_holds_no_credentials() -> None:
    failed = gitoutput.record(None, GIT, 1, gitoutput.PushOutcome(error="GitAuthFailed: no"), NOW)
    assert (failed.push_failures, failed.push_error) == (1, "GitAuthFailed: no")
    again = gitoutput.record(failed, GIT, 1, gitoutput.PushOutcome(error="x"), NOW)
    assert again.push_failures == 2
    ok = gitoutput.record(again, GIT, 1, gitoutput.PushOutcome(commit="c" * 40, pushed=True), NOW)
    assert ok.push_failures is None and ok.push_error is None
    assert (ok.repository, ok.branch, ok.git_commit, ok.pushed_generation) == (
        GIT.repository,
        GIT.branch,
        "c" * 40,
        1,
    )
    assert gitoutput.is_pushed(GIT, ok, 1)


def test_credentials_from_secret_keys() -> None:
    s = SecretStr
    both = gitoutput.credentials({"username": s("bob"), "password": s("pw")})
    assert both is not None and (both.username, both.password.get_secret_value()) == ("bob", "pw")
    token = gitoutput.credentials({"token": s("t0k")})
    assert token is not None and (token.username, token.password.get_secret_value()) == (
        "git",
        "t0k",
    )
    own_key = gitoutput.credentials({"gh": s("k")}, key="gh")
    assert own_key is not None and own_key.password.get_secret_value() == "k"
    assert gitoutput.credentials({"username": s("bob")}) is None
    assert "pw" not in repr(both)


def test_identity_and_message_come_from_the_project() -> None:
    meta = {"name": "app", "namespace": "team", "creationTimestamp": "2026-11-24T10:00:00Z"}
    assert gitoutput.identity(meta) == gitoutput.identity(dict(meta))
    assert gitoutput.identity(meta).date == "2026-11-24T10:00:00Z"
    message = gitoutput.commit_message("team/app", 3, 12)
    assert "team/app" in message and "generation 3" in message


def test_scrub_removes_secrets_and_url_userinfo() -> None:
    text = "fatal: unable to access 'https://bob:hunter2@host/r.git/': hunter2 rejected"
    assert "hunter2" not in scrub(text, ["hunter2"])
    assert "bob" not in scrub(text, [])


# ------------------------------------------------------------------ decide + record_push


def test_completed_with_git_plans_a_push_and_is_not_ready_until_pushed() -> None:
    plan = decide(spec(), completed(), OBSERVED, NOW)
    assert PushOutput(1) in plan.actions
    assert cond(plan.status, "Ready") == ("False", gitoutput.REASON_PUSHING)
    assert cond(plan.status, "Reconciling")[0] == "True"


def test_reviews_decided_save_then_push_in_that_order() -> None:
    observed = Observed(
        generation=1, key="ns/p", stored_phase=Phase.REVIEWING, review_items=1, reviews_total=1
    )
    plan = decide(spec(), ProjectStatus(phase="Reviewing", observed_generation=1), observed, NOW)
    names = [type(a).__name__ for a in plan.actions]
    assert names.index("SaveOutput") < names.index("PushOutput")
    assert plan.status.phase == "Completed"


def test_without_git_completed_is_ready_and_pushes_nothing() -> None:
    plan = decide(spec(None), completed(), OBSERVED, NOW)
    assert not any(isinstance(a, PushOutput) for a in plan.actions)
    assert cond(plan.status, "Ready") == ("True", "Completed")


def test_failed_push_is_stalled_then_retried_after_backoff_then_ready() -> None:
    first = decide(spec(), completed(), OBSERVED, NOW)
    failed = record_push(
        spec(), first.status, 1, gitoutput.PushOutcome(error="GitAuthFailed: 401", reason="x"), NOW
    )
    assert failed.phase == "Completed"
    assert cond(failed, "Stalled") == ("True", gitoutput.REASON_PUSH_FAILED)
    assert cond(failed, "Ready")[0] == "False"
    assert "401" in failed.message

    soon = decide(spec(), failed, OBSERVED, NOW + timedelta(seconds=5))
    assert not any(isinstance(a, PushOutput) for a in soon.actions)  # backing off
    assert cond(soon.status, "Stalled") == ("True", gitoutput.REASON_PUSH_FAILED)
    assert not any(isinstance(a, Event) for a in soon.actions)  # the stall was already told

    later = decide(spec(), failed, OBSERVED, NOW + timedelta(seconds=11))
    assert PushOutput(1) in later.actions
    done = record_push(
        spec(), later.status, 1, gitoutput.PushOutcome(commit="f" * 40, pushed=True), NOW
    )
    assert cond(done, "Ready") == ("True", "Completed")
    assert cond(done, "Stalled")[0] == "False"
    assert done.output is not None and done.output.git_commit == "f" * 40

    again = decide(spec(), done, OBSERVED, NOW + timedelta(hours=1))
    assert not any(isinstance(a, PushOutput) for a in again.actions)
    assert cond(again.status, "Ready") == ("True", "Completed")


def test_a_new_generation_forgets_push_failures() -> None:
    failed = completed(OutputStatus(push_failures=4, last_push_at="2026-11-24T11:59:59Z"))
    plan = decide(spec(), failed, Observed(generation=2, key="ns/p"), NOW)
    assert plan.status.output is not None and plan.status.output.push_failures is None


# ------------------------------------------------------------------ the git push, real git


def git(*args: str, cwd: Path | None = None) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    path = tmp_path / "remote.git"
    git("init", "-q", "--bare", str(path))
    return path


FILES = {"pkg/__init__.py": "", "pkg/core.py": "def f() -> int:\n    return 1\n"}


async def test_push_creates_the_branch_then_repeats_nothing(remote: Path) -> None:
    kw = {"repository": str(remote), "branch": "mge/out", "message": "m", "identity": IDENTITY}
    first = await push_tree(FILES, **kw)  # type: ignore[arg-type]
    assert first.pushed
    assert git("rev-parse", "refs/heads/mge/out", cwd=remote) == first.commit
    assert git("show", "mge/out:pkg/core.py", cwd=remote) == FILES["pkg/core.py"].strip()
    assert git("log", "-1", "--format=%an <%ae> %aI", "mge/out", cwd=remote) == (
        "MGE operator <p.ns@mge.dev> 2026-11-24T10:00:00+00:00"
    )
    again = await push_tree(FILES, **kw)  # type: ignore[arg-type]
    assert (again.pushed, again.commit) == (False, first.commit)
    assert git("rev-list", "--count", "mge/out", cwd=remote) == "1"

    changed = await push_tree({**FILES, "pkg/core.py": "X = 2\n"}, **kw)  # type: ignore[arg-type]
    assert changed.pushed
    assert git("rev-parse", "mge/out~1", cwd=remote) == first.commit
    assert git("rev-list", "--count", "mge/out", cwd=remote) == "2"


async def test_same_input_same_commit_in_another_repository(tmp_path: Path, remote: Path) -> None:
    other = tmp_path / "other.git"
    git("init", "-q", "--bare", str(other))
    kw = {"branch": "b", "message": "m", "identity": IDENTITY}
    a = await push_tree(FILES, repository=str(remote), **kw)  # type: ignore[arg-type]
    b = await push_tree(FILES, repository=str(other), **kw)  # type: ignore[arg-type]
    assert a.commit == b.commit


async def test_unreachable_repository_fails_with_a_reason_and_no_secret(tmp_path: Path) -> None:
    creds = GitCredentials("bob", SecretStr("hunter2"))
    with pytest.raises(GitPushError) as err:
        await push_tree(
            FILES,
            repository=str(tmp_path / "missing.git"),
            branch="b",
            message="m",
            identity=IDENTITY,
            credentials=creds,
        )
    assert err.value.reason in ("GitPushFailed", "GitAuthFailed")
    assert "hunter2" not in str(err.value)


def test_the_status_patch_deletes_output_fields_a_stale_reconcile_never_saw() -> None:
    # A timer's reconcile started from a status older than the failed push's: the success
    # must still delete the failure count and error the API server holds.
    pushed = {
        "phase": "Completed",
        "output": {"gitCommit": "abc", "repository": "https://git.example/r.git", "branch": "b"},
    }
    patch = gitoutput.status_patch(pushed)
    assert patch["phase"] == "Completed"
    assert patch["output"]["gitCommit"] == "abc"
    assert patch["output"]["pushFailures"] is None and patch["output"]["pushError"] is None
    assert patch["output"]["lastPushAt"] is None
    assert gitoutput.status_patch({"phase": "Executing"}) == {"phase": "Executing"}
