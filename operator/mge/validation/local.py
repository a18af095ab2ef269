"""Local wiring of validation: the process sandbox, mypy and tsc, configured from the settings.

Both ``mge run`` and ``mge review`` validate through these; the operator builds its own
BatchValidator on sandbox Jobs instead.
"""

from __future__ import annotations

import re

from mge.config import Settings
from mge.errors import ConfigError
from mge.models.project import ExecutionSpec
from mge.models.sandbox import SandboxLimits
from mge.sandbox import LocalSandbox, RunnerOptions
from mge.validation.batch import LocalBatchValidator, Workspace
from mge.validation.sandboxed import SandboxTestRunner
from mge.validation.tscheck import TscChecker
from mge.validation.typecheck import MypyChecker, TypeCheckers

SANDBOX_SCRATCH = "sandbox"
MYPY_CACHE = "mypy-cache"
_QUANTITY = re.compile(r"^([0-9]+)(Ki|Mi|Gi)?$")
_MIB_PER_UNIT = {None: 1 / (1024 * 1024), "Ki": 1 / 1024, "Mi": 1, "Gi": 1024}


def memory_mb(quantity: str) -> int:
    """A Kubernetes memory quantity (``512Mi``, ``1Gi``, bytes) in MiB, at least 32."""
    m = _QUANTITY.match(quantity)
    if m is None:
        raise ConfigError(f"spec.execution.resources.memory: {quantity!r} is not like 512Mi")
    return max(32, int(int(m.group(1)) * _MIB_PER_UNIT[m.group(2)]))


def sandbox_limits(execution: ExecutionSpec) -> SandboxLimits:
    """Per-atom sandbox limits from the project's execution spec."""
    return SandboxLimits(
        timeout_seconds=float(execution.atom_timeout_seconds),
        memory_mb=memory_mb(execution.resources.memory),
    )


def local_runner(settings: Settings, execution: ExecutionSpec) -> SandboxTestRunner:
    """A TestRunner on the local process sandbox (isolation as ``settings.sandbox`` says)."""
    options = RunnerOptions(
        isolation=settings.sandbox,
        concurrency=execution.parallelism,
        scratch_dir=(settings.workdir / SANDBOX_SCRATCH).resolve(),
    )
    return SandboxTestRunner(LocalSandbox(options).run, sandbox_limits(execution))


def type_checkers(settings: Settings) -> TypeCheckers:
    """mypy for Python (cached under the workdir) and strict tsc for TypeScript."""
    return TypeCheckers(MypyChecker(cache_dir=settings.workdir / MYPY_CACHE), TscChecker())


def local_validator(
    workspace: Workspace, runner: SandboxTestRunner, settings: Settings
) -> LocalBatchValidator:
    """The local BatchValidator: static checks, mypy and tsc, the sandbox."""
    return LocalBatchValidator(workspace, runner, type_checkers(settings))
