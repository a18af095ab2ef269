"""Run a batch of atoms: a fresh folder per batch, a sandboxed process tree per atom.

Per atom, the argv is layered, outermost first::

    [join the atom's cgroup]   sh: echo $$ > cgroup.procs; exec …     (when cgroups are available)
    [isolation]                bwrap … --  |  unshare … sh -c '…'  |  nothing (pod / none)
    [rlimits]                  prlimit --cpu --as --nproc --fsize --nofile --core=0 --
    [the test run]             python -m pytest … --junitxml  |  node --test …  |  the command

Without a wrapper (``pod``, ``unsandboxed``) a Python batch's pytest runs instead fork from one
warm interpreter per batch (:mod:`mge.sandbox.warm`): the child joins the atom's cgroup and sets
the same rlimits itself, so an atom pays neither Python's start nor pytest's import.

The runner waits for each atom with a wall-clock limit and an output cap, reads its JUnit report,
and decides its status (classify.py). Up to ``concurrency`` atoms run at once. An atom whose run
goes wrong in any way gets an outcome saying so; only a sandbox that cannot work at all (no
isolation, no toolchain) raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mge.errors import SandboxError
from mge.models.sandbox import (
    AtomOutcome,
    AtomStatus,
    CaseOutcome,
    SandboxBatch,
    SandboxItem,
    SandboxResult,
)
from mge.sandbox.cgroups import AtomCgroup, BatchCgroups, attach_argv
from mge.sandbox.classify import LimitFacts, RunFacts, classify
from mge.sandbox.container import atom_data_budget, read_container_memory, resident_bytes
from mge.sandbox.isolation import (
    LAUNCHER_ENV,
    SANDBOX_WORKDIR,
    IsolationChoice,
    IsolationKind,
    RootEntry,
    bwrap_argv,
    host_root_entries,
    sandbox_env,
    unshare_argv,
)
from mge.sandbox.junit import MAX_REPORT_BYTES, parse_junit
from mge.sandbox.limits import (
    MIB,
    ResourceLimits,
    prlimit_argv,
    resolve_limits,
    uid_task_count,
)
from mge.sandbox.probe import HostReport, choose_isolation, probe_host
from mge.sandbox.process import ProcessRun, run_capped
from mge.sandbox.proctree import TreeCap
from mge.sandbox.toolchains import REPORT_NAME, TMP_NAME, Toolchain, toolchain_for
from mge.sandbox.warm import Zygote, pytest_args, warm_script, zygote_python
from mge.sandbox.workspace import create_atom_dir, create_batch_dir, read_capped, remove_tree

log = logging.getLogger(__name__)

_WRAPPERS = (IsolationKind.BWRAP, IsolationKind.UNSHARE)
WRAPPER_PROCESSES = 4
"""Processes the wrappers add inside an atom's pids cgroup (bwrap and its pid-1 reaper, …)."""


def default_concurrency() -> int:
    """Atoms run at once by default: the CPUs this process may use."""
    return max(1, len(os.sched_getaffinity(0)))


@dataclass(frozen=True)
class RunnerOptions:
    """How the local runner runs batches."""

    isolation: IsolationChoice = "auto"
    concurrency: int | None = None
    """Atoms at once; default :func:`default_concurrency`."""
    scratch_dir: Path | None = None
    """Where batch folders go; default the system temp folder."""
    keep_files: bool = False
    """Keep the batch folder afterwards (for debugging); it is deleted otherwise."""
    use_cgroups: bool = True
    warm: bool = True
    """Fork Python atoms' pytest runs from one warm interpreter per batch where the isolation
    allows it (``pod``, ``unsandboxed``; see :mod:`mge.sandbox.warm`)."""


@dataclass(frozen=True)
class _Plan:
    """What every atom of one batch shares."""

    batch: SandboxBatch
    kind: IsolationKind
    host: HostReport
    toolchain: Toolchain
    root_entries: tuple[RootEntry, ...]
    concurrency: int
    uid_baseline: int
    """Tasks the runner's uid ran when the batch started (counts against a per-uid NPROC)."""
    zygote: Zygote | None = None
    """The batch's warm interpreter, when its atoms' pytest runs fork from one."""
    data_budget_bytes: int | None = None
    """Each atom's RLIMIT_DATA budget where the container's limit is the only memory limit
    (``pod``, Python); None elsewhere."""


class LocalSandbox:
    """Runs batches on this machine; probes the host once, on first use."""

    def __init__(self, options: RunnerOptions | None = None, host: HostReport | None = None):
        self.options = options or RunnerOptions()
        self._host = host

    async def host(self) -> HostReport:
        """What this host offers (probed once)."""
        if self._host is None:
            self._host = await probe_host(self.options.isolation)
        return self._host

    async def run(self, batch: SandboxBatch) -> SandboxResult:
        """Run every atom of ``batch``; one outcome per atom, in batch order."""
        start = time.monotonic()
        host = await self.host()
        kind, warnings = choose_isolation(self.options.isolation, host)
        for w in warnings:
            log.warning("sandbox: %s", w)
        toolchain = toolchain_for(batch.language)
        concurrency = min(self.options.concurrency or default_concurrency(), len(batch.items))
        plan = _Plan(
            batch=batch,
            kind=kind,
            host=host,
            toolchain=toolchain,
            root_entries=tuple(host_root_entries()),
            concurrency=max(1, concurrency),
            uid_baseline=uid_task_count(os.getuid()),
        )
        batch_dir = create_batch_dir(batch, self.options.scratch_dir)
        cgroups = self._batch_cgroups(batch, host, warnings)
        gate = asyncio.Semaphore(plan.concurrency)

        async def one(index: int, item: SandboxItem) -> AtomOutcome:
            async with gate:
                return await _run_atom(plan, index, item, batch_dir, cgroups)

        try:
            if self.options.warm and _warm_fits(plan):
                try:
                    zygote = await Zygote.start(zygote_python(), _zygote_env(plan), batch_dir)
                    plan = dataclasses.replace(plan, zygote=zygote)
                except (SandboxError, OSError) as e:
                    warnings.append(f"warm interpreter unavailable, one process per atom: {e}")
            plan = _with_data_budget(plan, warnings)
            outcomes = await asyncio.gather(*(one(i, it) for i, it in enumerate(batch.items)))
        finally:
            if plan.zygote is not None:
                await plan.zygote.close()
            if cgroups is not None:
                await asyncio.to_thread(cgroups.remove)
            if self.options.keep_files:
                log.info("sandbox: kept batch folder %s", batch_dir)
            else:
                await asyncio.to_thread(remove_tree, batch_dir)
        return SandboxResult(
            batch_id=batch.batch_id,
            isolation=kind.value,
            isolation_detail=_describe(plan, cgroups),
            warnings=warnings,
            concurrency=plan.concurrency,
            duration_s=round(time.monotonic() - start, 3),
            outcomes=list(outcomes),
        )

    def _batch_cgroups(
        self, batch: SandboxBatch, host: HostReport, warnings: list[str]
    ) -> BatchCgroups | None:
        if not self.options.use_cgroups or host.cgroups is None:
            return None
        try:
            return BatchCgroups(host.cgroups, batch.batch_id)
        except OSError as e:
            warnings.append(f"cgroups detected but unusable, running without them: {e}")
            return None


async def run_batch(batch: SandboxBatch, options: RunnerOptions | None = None) -> SandboxResult:
    """Run one batch with a fresh :class:`LocalSandbox` (probes the host each call)."""
    return await LocalSandbox(options).run(batch)


def _describe(plan: _Plan, cgroups: BatchCgroups | None) -> list[str]:
    lim = plan.batch.limits
    detail = {
        IsolationKind.BWRAP: "bubblewrap: user, pid, net, ipc, uts, cgroup namespaces; empty "
        "read-only root with /usr and the toolchain; read-only /proc/sys; uid 65534",
        IsolationKind.UNSHARE: "unshare: net, pid, ipc, uts, mount namespaces; read-only "
        "/proc/sys; no capabilities; host file system visible",
        IsolationKind.POD: "pod: isolation by the pod spec; the runner applies limits only",
        IsolationKind.NONE: "none: UNSANDBOXED, limits only",
    }[plan.kind]
    out = [detail]
    if cgroups is not None:
        out.append(cgroups.support.describe())
    out.append(
        f"rlimits: cpu, address space ({lim.memory_mb} MiB + toolchain headroom), "
        f"{lim.max_processes} processes, {lim.max_file_size_mb} MiB files, "
        f"{lim.max_open_files} open files"
    )
    out.append(
        f"wall clock {lim.timeout_seconds:g} s per atom; output cap {lim.max_output_bytes} B"
    )
    if plan.data_budget_bytes is not None:
        out.append(
            f"memory: RLIMIT_DATA of {plan.data_budget_bytes // MIB} MiB new memory per atom "
            "(its share of the container's limit; no memory cgroup per atom here)"
        )
    if cgroups is None and plan.kind in (IsolationKind.POD, IsolationKind.NONE):
        out.append(
            f"processes: an atom whose process tree holds {lim.max_processes} tasks is ended "
            "as process_limit (no pids cgroup here; RLIMIT_NPROC is shared by the uid)"
        )
    if plan.zygote is not None:
        out.append(
            "warm: Python test runs fork from one interpreter per batch (each child: own "
            "process group, folder, environment, rlimits and cgroup)"
        )
    out.append("environment built from scratch (no HOME, no credentials)")
    return out


def _with_data_budget(plan: _Plan, warnings: list[str]) -> _Plan:
    """In a pod (Python), give every atom a data limit that fits the container's memory: no
    memory cgroup per atom can be made there (read-only cgroup fs), and the address-space
    limit alone is larger than the pod, so a memory bomb would meet the pod's OOM killer."""
    if plan.kind is not IsolationKind.POD or plan.toolchain.language != "python":
        return plan
    overhead = resident_bytes(plan.zygote.pid) if plan.zygote is not None else 0
    budget = atom_data_budget(
        read_container_memory(),
        memory_mb=plan.batch.limits.memory_mb,
        concurrency=plan.concurrency,
        per_atom_overhead_bytes=overhead,
    )
    if budget < plan.batch.limits.memory_mb * MIB:
        warnings.append(
            f"each atom gets {budget // MIB} MiB, not memoryMb {plan.batch.limits.memory_mb}: "
            f"that is its share of the pod's memory limit with {plan.concurrency} atoms at once "
            "(raise the pod's memory to give atoms more)"
        )
    return dataclasses.replace(plan, data_budget_bytes=budget)


def _tree_cap(plan: _Plan, cg: AtomCgroup | None) -> TreeCap | None:
    """A runner-side process cap where the atom has no pids cgroup and no user namespace of its
    own (``pod``, ``unsandboxed``): RLIMIT_NPROC there is shared by the whole uid."""
    if cg is not None or plan.kind not in (IsolationKind.POD, IsolationKind.NONE):
        return None
    return TreeCap(plan.batch.limits.max_processes)


def _chain(*kills: Callable[[], None] | None) -> Callable[[], None] | None:
    present = [k for k in kills if k is not None]
    if not present:
        return None

    def kill_all() -> None:
        for kill in present:
            kill()

    return kill_all


def _warm_fits(plan: _Plan) -> bool:
    """Whether the batch's runs can fork from one interpreter: Python, some atom running pytest
    or a ``python -s -c`` script (the validation driver), and no wrapper (an atom under
    bwrap/unshare needs namespaces of its own)."""
    return (
        plan.toolchain.language == "python"
        and plan.kind in (IsolationKind.POD, IsolationKind.NONE)
        and any(item.command is None or warm_script(item.command) for item in plan.batch.items)
    )


def _zygote_env(plan: _Plan) -> dict[str, str]:
    """The zygote's own environment: what must be set when Python starts (hash seed, no
    bytecode files), nothing of the runner's."""
    env = sandbox_env(
        workdir="",
        tmpdir="/tmp",
        toolchain_env=plan.toolchain.env,
        batch_env={},
        path_dirs=plan.toolchain.bin_dirs,
    )
    env.pop("PYTHONPATH")
    return env


def _shared_uid_slots(plan: _Plan) -> int:
    """>0 when RLIMIT_NPROC counts the whole uid rather than one atom (no own user namespace)."""
    private_userns = plan.kind is IsolationKind.BWRAP or (
        plan.kind is IsolationKind.UNSHARE and not plan.host.root
    )
    return 0 if private_userns else plan.concurrency


def _argv(
    plan: _Plan, item: SandboxItem, atom_dir: Path, rl: ResourceLimits
) -> tuple[list[str], dict[str, str]]:
    """(argv, environment of the launched process) for one atom."""
    bwrap = plan.kind is IsolationKind.BWRAP
    workdir = SANDBOX_WORKDIR if bwrap else str(atom_dir)
    env = sandbox_env(
        workdir=workdir,
        tmpdir="/tmp" if bwrap else str(atom_dir / TMP_NAME),
        toolchain_env=plan.toolchain.env,
        batch_env=plan.batch.env,
        path_dirs=plan.toolchain.bin_dirs,
    )
    assert plan.host.prlimit.path is not None  # choose_isolation refused otherwise
    inner = [*prlimit_argv(plan.host.prlimit.path, rl)]
    inner += plan.toolchain.test_argv(plan.batch, item, workdir)
    if bwrap:
        assert plan.host.bwrap.path is not None
        wrapper = bwrap_argv(
            plan.host.bwrap.path,
            host_workdir=str(atom_dir),
            read_only_paths=plan.toolchain.read_only_paths,
            root_entries=plan.root_entries,
            env=env,
            tmp_size_bytes=plan.batch.limits.tmp_size_mb * MIB,
        )
        return [*wrapper, *inner], dict(LAUNCHER_ENV)
    if plan.kind is IsolationKind.UNSHARE:
        assert plan.host.unshare.path is not None
        return [*unshare_argv(plan.host.unshare.path, as_root=plan.host.root), *inner], env
    return inner, env


async def _run_atom(
    plan: _Plan, index: int, item: SandboxItem, batch_dir: Path, cgroups: BatchCgroups | None
) -> AtomOutcome:
    batch = plan.batch
    timeout = batch.timeout_for(item)
    rl = resolve_limits(
        batch.limits,
        timeout_seconds=timeout,
        address_space_headroom_bytes=plan.toolchain.address_space_headroom,
        shared_uid_slots=_shared_uid_slots(plan),
        uid_baseline=plan.uid_baseline,
    )
    if plan.data_budget_bytes is not None:
        rl = dataclasses.replace(rl, data_budget_bytes=plan.data_budget_bytes)
    cg: AtomCgroup | None = None
    cap: TreeCap | None = None
    started = time.monotonic()
    try:
        atom_dir = create_atom_dir(batch_dir, index, batch, item)
        argv, env = _argv(plan, item, atom_dir, rl)
        workdir = str(atom_dir)
        if cgroups is not None:
            cg = cgroups.atom(
                index,
                pids_max=batch.limits.max_processes + WRAPPER_PROCESSES,
                memory_bytes=batch.limits.memory_mb * MIB,
            )
        cap = _tree_cap(plan, cg)
        tripwire = cg.pids_limit_hit if cg is not None else (cap.tripped if cap else None)
        extra_kill = _chain(cg.kill_all if cg is not None else None, cap.kill_all if cap else None)
        on_start = cap.started if cap is not None else None
        script = warm_script(item.command)
        if plan.zygote is not None and plan.zygote.alive and (item.command is None or script):
            run = await plan.zygote.run(
                None if script else pytest_args(plan.toolchain.test_argv(batch, item, workdir)),
                script=script,
                cwd=atom_dir,
                env=env,
                limits=rl,
                cgroup_procs=cg.procs_files if cg is not None else [],
                timeout_s=timeout,
                max_output_bytes=batch.limits.max_output_bytes,
                extra_kill=extra_kill,
                tripwire=tripwire,
                on_start=on_start,
            )
        else:
            if cg is not None:
                argv = [*attach_argv(cg.procs_files), *argv]
            run = await run_capped(
                argv,
                env=env,
                cwd=str(atom_dir),
                timeout_s=timeout,
                max_output_bytes=batch.limits.max_output_bytes,
                extra_kill=extra_kill,
                tripwire=tripwire,
                on_start=on_start,
            )
        return _outcome(plan, item, atom_dir, run, cg, cap, rl, timeout)
    except Exception as e:  # one atom's trouble is that atom's outcome, never the batch's
        log.exception("sandbox: atom %s could not be run", item.atom_id)
        return AtomOutcome(
            atom_id=item.atom_id,
            status=AtomStatus.SANDBOX_ERROR,
            passed=False,
            duration_s=round(time.monotonic() - started, 3),
            detail=f"the sandbox could not run this atom: {type(e).__name__}: {e}",
        )
    finally:
        if cg is not None:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(cg.remove)  # may wait for the last processes to go


def _read_report(atom_dir: Path) -> tuple[list[CaseOutcome] | None, str]:
    data = read_capped(atom_dir / REPORT_NAME, MAX_REPORT_BYTES)
    if data is None:
        return None, "no test report was written"
    try:
        return parse_junit(data), ""
    except ValueError as e:
        return None, f"unreadable test report: {e}"


def _outcome(
    plan: _Plan,
    item: SandboxItem,
    atom_dir: Path,
    run: ProcessRun,
    cg: AtomCgroup | None,
    cap: TreeCap | None,
    rl: ResourceLimits,
    timeout: float,
) -> AtomOutcome:
    cases: list[CaseOutcome] | None = None
    problem = ""
    if item.command is None:
        cases, problem = _read_report(atom_dir)
    stdout = run.stdout_tail.decode(errors="replace")
    stderr = run.stderr_tail.decode(errors="replace")
    runner = (
        "command"
        if item.command is not None
        else ("pytest" if plan.toolchain.language == "python" else "node")
    )
    facts = RunFacts(
        returncode=run.returncode,
        wrapper=plan.kind.value if plan.kind in _WRAPPERS else "",
        timed_out=run.timed_out,
        output_exceeded=run.output_exceeded,
        oom_killed=cg.oom_killed() if cg is not None else False,
        pids_limit_hit=cg.pids_limit_hit() if cg is not None else bool(cap and cap.hit),
        peak_processes=cg.peak_processes() if cg is not None else (cap.peak if cap else 0),
        cases=cases,
        report_problem=problem,
        stdout_tail=stdout,
        stderr_tail=stderr,
        explicit_command=item.command is not None,
        runner=runner,
    )
    limits = LimitFacts(
        timeout_s=timeout,
        cpu_s=rl.cpu_seconds,
        memory_mb=(rl.data_budget_bytes // MIB)
        if rl.data_budget_bytes is not None
        else plan.batch.limits.memory_mb,
        processes=plan.batch.limits.max_processes,
        file_size_mb=plan.batch.limits.max_file_size_mb,
        output_bytes=plan.batch.limits.max_output_bytes,
    )
    verdict = classify(facts, limits)
    detail = verdict.detail
    if run.notes:
        detail += "\n(" + "; ".join(run.notes) + ")"
    return AtomOutcome(
        atom_id=item.atom_id,
        status=verdict.status,
        passed=verdict.status is AtomStatus.PASSED,
        exit_code=verdict.exit_code,
        signal=verdict.signal,
        duration_s=round(run.duration_s, 3),
        stdout_tail=stdout,
        stderr_tail=stderr,
        stdout_bytes=run.stdout_bytes,
        stderr_bytes=run.stderr_bytes,
        cases=cases or [],
        detail=detail,
    )
