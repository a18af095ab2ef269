"""The local sandbox: run generated code and its tests for a batch of atoms, contained.

Stages call :class:`LocalSandbox` (or :func:`run_batch`) with a
:class:`~mge.models.sandbox.SandboxBatch` and get a :class:`~mge.models.sandbox.SandboxResult`;
the operator's Job-based sandbox takes the same batch and returns the same result, so both fit
the :class:`Sandbox` protocol. ``mge sandbox run BATCH.json`` is this runner as a command; it
imports neither the store nor the LLM layer, so it stays light inside the sandbox image.
"""

from __future__ import annotations

from typing import Protocol

from mge.models.sandbox import SandboxBatch, SandboxResult
from mge.sandbox.isolation import IsolationChoice, IsolationKind
from mge.sandbox.probe import HostReport, Probe, choose_isolation, probe_host
from mge.sandbox.runner import LocalSandbox, RunnerOptions, default_concurrency, run_batch
from mge.sandbox.threats import Containment, Threat, contained_threats, containment


class Sandbox(Protocol):
    """Anything that runs a batch: the local runner here, sandbox Jobs in the operator."""

    async def run(self, batch: SandboxBatch) -> SandboxResult:
        """Run every atom of ``batch`` and report one outcome per atom."""
        ...


__all__ = [
    "Containment",
    "HostReport",
    "IsolationChoice",
    "IsolationKind",
    "LocalSandbox",
    "Probe",
    "RunnerOptions",
    "Sandbox",
    "Threat",
    "choose_isolation",
    "contained_threats",
    "containment",
    "default_concurrency",
    "probe_host",
    "run_batch",
]
