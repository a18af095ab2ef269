"""Choosing an isolation (pure) and the threat matrix it promises."""

from __future__ import annotations

import pytest

from mge.errors import SandboxUnavailable
from mge.sandbox import HostReport, IsolationKind, Probe, Threat, choose_isolation, containment
from mge.sandbox.cgroups import CgroupSupport
from mge.sandbox.probe import UNSANDBOXED_WARNING

OK = Probe(True, "/usr/bin/x")
NO = Probe(False, None, "not installed")
CG = CgroupSupport(version=1, parents={})


def host(bwrap: Probe = OK, unshare: Probe = OK, prlimit: Probe = OK) -> HostReport:
    return HostReport(
        root=False, prlimit=prlimit, bwrap=bwrap, unshare=unshare, cgroups=None, python=OK, node=OK
    )


@pytest.mark.parametrize(
    ("choice", "h", "kind"),
    [
        ("auto", host(), IsolationKind.BWRAP),
        ("auto", host(bwrap=NO), IsolationKind.UNSHARE),
        ("bwrap", host(), IsolationKind.BWRAP),
        ("unshare", host(), IsolationKind.UNSHARE),
        ("pod", host(bwrap=NO, unshare=NO), IsolationKind.POD),
        ("unsandboxed", host(bwrap=NO, unshare=NO), IsolationKind.NONE),
    ],
)
def test_choice(choice: str, h: HostReport, kind: IsolationKind) -> None:
    assert choose_isolation(choice, h)[0] is kind  # type: ignore[arg-type]


def test_falling_back_to_unshare_says_why_and_what_it_lacks() -> None:
    _, warnings = choose_isolation("auto", host(bwrap=NO))
    assert any("not installed" in w for w in warnings)
    assert any("file system stays visible" in w for w in warnings)


def test_unsandboxed_is_announced() -> None:
    assert choose_isolation("unsandboxed", host())[1] == [UNSANDBOXED_WARNING]


@pytest.mark.parametrize("choice", ["auto", "bwrap", "unshare"])
def test_no_isolation_is_refused_unless_asked_by_name(choice: str) -> None:
    h = host(bwrap=NO, unshare=Probe(False, "/usr/bin/unshare", "EPERM"))
    with pytest.raises(SandboxUnavailable, match="unsandboxed") as e:
        choose_isolation(choice, h)  # type: ignore[arg-type]
    assert "not installed" in str(e.value) or "EPERM" in str(e.value)


def test_limits_cannot_be_applied_without_prlimit() -> None:
    with pytest.raises(SandboxUnavailable, match="prlimit"):
        choose_isolation("unsandboxed", host(prlimit=NO))


def test_bwrap_contains_everything_when_fork_bombs_can_be_counted() -> None:
    for root, pids in [(False, False), (True, True)]:
        row = containment(IsolationKind.BWRAP, root=root, cgroup_pids=pids, cgroup_memory=pids)
        assert {c.level for c in row.values()} == {"contained"}, (root, pids)


def test_root_without_a_pids_cgroup_cannot_stop_fork_bombs() -> None:
    row = containment(IsolationKind.BWRAP, root=True, cgroup_pids=False, cgroup_memory=False)
    assert row[Threat.FORK_BOMB].level == "exposed"


def test_unsandboxed_exposes_the_host_and_pod_delegates_it() -> None:
    none = containment(IsolationKind.NONE, root=False, cgroup_pids=False, cgroup_memory=False)
    pod = containment(IsolationKind.POD, root=False, cgroup_pids=False, cgroup_memory=False)
    for t in (Threat.NETWORK, Threat.HOST_FILES_WRITE, Threat.ENV_SECRETS):
        assert none[t].level == "exposed" and pod[t].level == "delegated"
    assert none[Threat.FORK_BOMB].level == "shared"
    for t in (Threat.MEMORY_BOMB, Threat.CPU_LOOP, Threat.OUTPUT_FLOOD):
        assert none[t].level == pod[t].level == "contained"


def test_unshare_keeps_the_host_file_system_visible() -> None:
    row = containment(IsolationKind.UNSHARE, root=True, cgroup_pids=True, cgroup_memory=True)
    assert row[Threat.HOST_FILES_READ].level == "exposed"
    assert row[Threat.NETWORK].level == row[Threat.KERNEL_SETTINGS].level == "contained"
