"""The review web interface in a real browser: Debian's Chromium driven headless by Playwright
(from PyPI, never downloading a browser), against the real `mge review serve` on a store made by
a real `mge run` of examples/inventory-lib (scripted provider, hand-written recordings).

One `mge run` per session; each test gets its own copy of the workdir and its own server.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
MANIFEST = REPO / "examples" / "inventory-lib" / "project.yaml"
RECORDINGS = Path(__file__).parent / "recordings"
MGE = str(Path(sys.executable).parent / "mge")
PROJECT = "inventory-lib"
REVIEWER = "reviewer-a"
RUN_TIMEOUT_S = 900
SERVER_START_S = 120
URL_LINE = re.compile(r"open (http://127\.0\.0\.1:\d+/\S+)")


def chromium_path() -> str:
    """Debian's chromium (scripts/install.sh installs it); MGE_CHROMIUM overrides."""
    path = os.environ.get("MGE_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "no chromium: run scripts/install.sh (apt package chromium) or set MGE_CHROMIUM"
        )
    return path


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MGE_")}


@pytest.fixture(scope="session")
def inventory_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workdir after a real `mge run` of inventory-lib: Reviewing, with its review queue."""
    base = tmp_path_factory.mktemp("inventory-run")
    done = subprocess.run(
        [MGE, "--workdir", ".mge", "run", str(MANIFEST), "--no-patterns", "-o", "out"],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=_env(),
        cwd=base,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return base / ".mge"


@dataclass
class Server:
    """A running `mge review serve` and what it printed."""

    url: str
    workdir: Path
    proc: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.url.split("/?", 1)[0]

    @property
    def secret(self) -> str:
        return self.url.split("token=", 1)[1].split("#", 1)[0]

    def mge(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Another mge command on the same store (another reviewer, the CLI)."""
        return subprocess.run(
            [MGE, "--workdir", str(self.workdir), *args],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            env=_env(),
        )

    def log(self) -> str:
        return "".join(self.output)


@pytest.fixture
def server(inventory_workdir: Path, tmp_path: Path) -> Iterator[Server]:
    """A fresh copy of the run's store, served on a free port."""
    workdir = tmp_path / ".mge"
    shutil.copytree(inventory_workdir, workdir)
    proc = subprocess.Popen(
        [
            MGE,
            "--workdir",
            str(workdir),
            "review",
            "serve",
            "--port",
            "0",
            "--no-browser",
            "--by",
            REVIEWER,
            "--recordings",
            str(RECORDINGS),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    output: list[str] = []
    found = threading.Event()
    url: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            m = URL_LINE.search(line)
            if m and not url:
                url.append(m.group(1))
                found.set()

    threading.Thread(target=pump, daemon=True).start()
    if not found.wait(SERVER_START_S):
        proc.kill()
        pytest.fail("mge review serve printed no URL:\n" + "".join(output))
    running = Server(url[0], workdir, proc, output)
    try:
        yield running
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


EXPECT_TIMEOUT_MS = 60_000
"""How long an expectation may wait: generous, the machine may be busy (no timing is asserted)."""


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium per test module. Not per session: Playwright's sync API runs its
    own event loop on the main thread while it is open, and every pytest-asyncio test collected
    after these (the integration suite) would fail to start its loop."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()
