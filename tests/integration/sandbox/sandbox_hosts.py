"""What this host offers the sandbox, probed once per test session (shared by the sandbox tests)."""

from __future__ import annotations

import asyncio
from functools import cache

from mge.sandbox import HostReport, probe_host


@cache
def host_report() -> HostReport:
    """The probe of this host, shared by collection and the tests."""
    return asyncio.run(probe_host())


def available_isolations() -> list[str]:
    """The isolation choices to test here: every working wrapper, and unsandboxed for contrast."""
    host = host_report()
    kinds = [name for name, p in (("bwrap", host.bwrap), ("unshare", host.unshare)) if p.ok]
    return [*kinds, "unsandboxed"]
