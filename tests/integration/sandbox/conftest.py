"""Sandbox tests run once per isolation kind this host really has (probed, not assumed)."""

from __future__ import annotations

import pytest
from sandbox_hosts import available_isolations, host_report

from mge.sandbox import HostReport


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "isolation" in metafunc.fixturenames:
        metafunc.parametrize("isolation", available_isolations())


@pytest.fixture
def host() -> HostReport:
    return host_report()
