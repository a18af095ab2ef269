"""The pure parts of the warm zygote's runner side: which items run warm, and what they ask."""

from __future__ import annotations

import pytest

from mge.errors import SandboxError
from mge.sandbox.limits import CPU_HARD_GRACE_SECONDS, ResourceLimits
from mge.sandbox.warm import pytest_args, rlimit_request, warm_script
from mge.sandbox.zygote import RLIMITS


@pytest.mark.parametrize(
    ("command", "script"),
    [
        (["python", "-s", "-c", "print(1)"], "print(1)"),
        (["python3", "-s", "-c", "x = 1"], "x = 1"),
        (None, None),
        (["python", "-c", "print(1)"], None),  # without -s: the user site would be on the path
        (["python", "-s", "-m", "pytest"], None),
        (["node", "-s", "-c", "x"], None),
        (["python", "-s", "-c", "x", "extra-arg"], None),
        (["/usr/bin/python", "-s", "-c", "x"], None),  # only the toolchain's own interpreter
    ],
)
def test_only_a_toolchain_python_c_script_runs_warm(
    command: list[str] | None, script: str | None
) -> None:
    assert warm_script(command) == script


def test_pytest_args_are_what_follows_dash_m_pytest() -> None:
    argv = ["/venv/bin/python", "-s", "-m", "pytest", "-q", "--junitxml=r.xml", "--", "t.py"]
    assert pytest_args(argv) == ["-q", "--junitxml=r.xml", "--", "t.py"]


def test_a_non_pytest_argv_is_refused() -> None:
    with pytest.raises(SandboxError, match="not a pytest command"):
        pytest_args(["node", "--test", "a.test.js"])


def test_rlimits_match_what_prlimit_would_set() -> None:
    limits = ResourceLimits(
        cpu_seconds=30,
        address_space_bytes=1 << 30,
        processes=64,
        file_size_bytes=8 << 20,
        open_files=256,
    )
    request = rlimit_request(limits)
    assert request == {
        "cpu": [30, 30 + CPU_HARD_GRACE_SECONDS],
        "as": [1 << 30, 1 << 30],
        "nproc": [64, 64],
        "fsize": [8 << 20, 8 << 20],
        "nofile": [256, 256],
        "core": [0, 0],
    }
    assert set(request) == set(RLIMITS)  # the zygote knows every key it is sent
