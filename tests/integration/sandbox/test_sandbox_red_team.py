"""Red team: generated code that tries to escape, in one batch with honest atoms.

One batch per isolation kind this host has, run through the real entry point
(`python -m mge.cli.sandbox run`) with fake secrets in the runner's environment. Each attack atom's
test *asserts that its attack worked*, so a contained attack is a failing atom. For every threat
the threat matrix marks ``contained`` the test checks the atom failed, the host shows no trace
(no connection, no file, no secret in any output, no process left), and the honest atoms in the
same batch passed. For threats marked ``exposed`` (unsandboxed mode) and safe to demonstrate, the
same attack must *succeed* — which shows the attacks are real, not strawmen.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from red_team_js import JS_GOOD, JS_SHARED, js_attacks, js_flood
from sandbox_hosts import available_isolations, host_report

from mge.models.sandbox import AtomOutcome, AtomStatus, SandboxResult
from mge.sandbox import IsolationKind, Threat

TOKEN = secrets.token_hex(6)
SECRET = f"sk-fake-{secrets.token_hex(12)}"
CANARY = f"canary-{secrets.token_hex(12)}"
SAFE_TO_DEMONSTRATE = {
    Threat.NETWORK,
    Threat.ENV_SECRETS,
    Threat.HOST_FILES_READ,
    Threat.HOST_FILES_WRITE,
}
"""Attacks that do no harm when they succeed, so exposed modes may show them succeeding."""
KIND = {
    "bwrap": IsolationKind.BWRAP,
    "unshare": IsolationKind.UNSHARE,
    "unsandboxed": IsolationKind.NONE,
}
ATTACK_TIMEOUT = 4
SLOW_ATTACKS = (Threat.FORK_BOMB, Threat.CPU_LOOP, Threat.MEMORY_BOMB, Threat.OUTPUT_FLOOD)


@dataclass
class RedTeamRun:
    result: SandboxResult
    outside: Path
    scratch: Path
    listener: socket.socket
    connections: int


def _attacks(port: int, outside: Path, scratch: Path) -> dict[Threat, str]:
    return {
        Threat.NETWORK: f"""
import socket
def test_reach_the_host():
    s = socket.create_connection(("127.0.0.1", {port}), timeout=3)
    s.sendall(b"PWNED")
    s.close()
""",
        Threat.ENV_SECRETS: """
import glob, os
NAMES = (b"MGE_FAKE_SECRET=", b"ANTHROPIC_API_KEY=")
def test_find_secrets():
    found = [f"{k}={v}" for k, v in os.environ.items() if k.encode() + b"=" in NAMES]
    for path in glob.glob("/proc/[0-9]*/environ"):
        try:
            data = open(path, "rb").read()
        except OSError:
            continue
        for name in NAMES:
            i = data.find(name)
            if i >= 0:
                found.append(data[i:data.find(b"\\0", i)].decode())
    open("loot.txt", "w").write(repr(found))  # the atom folder goes back to the runner
    assert found
""",
        Threat.HOST_FILES_READ: f"""
def test_read_host_files():
    got = []
    for path in ({str(outside / "canary.txt")!r}, "/etc/shadow", "/root/.bashrc"):
        try:
            got.append(open(path).read()[:200])
        except OSError:
            pass
    open("loot.txt", "w").write(repr(got))
    assert got
""",
        Threat.HOST_FILES_WRITE: f"""
import glob, os
def test_write_outside():
    # Host paths only count (the sandbox's own /tmp is private); no makedirs, which would just
    # build the path inside the sandbox.
    wrote = []
    targets = [{str(outside / "pwned.txt")!r}]
    targets += [d + "/pwned.txt" for d in glob.glob({str(scratch)!r} + "/mge-batch-*/*")
                if os.path.realpath(d) != os.path.realpath(".")]
    for t in targets + ["/tmp/pwned-{TOKEN}.txt", "/pwned-{TOKEN}.txt"]:
        try:
            open(t, "w").write("pwned")
            wrote.append(t)
        except OSError:
            pass
    assert set(wrote) & set(targets)
""",
        Threat.KERNEL_SETTINGS: """
def test_write_a_sysctl():
    path = "/proc/sys/kernel/core_pattern"
    current = open(path).read()
    with open(path, "w") as f:  # the same value: harmless even if it worked, but it must not
        f.write(current)
""",
        Threat.FORK_BOMB: """
import os
def test_fork_bomb():
    for _ in range(1_000_000):
        try:
            os.fork()
        except OSError:
            pass
""",
        Threat.MEMORY_BOMB: """
def test_eat_memory():
    blocks = []
    while True:
        blocks.append(bytearray(8 * 2**20))
""",
        Threat.CPU_LOOP: """
def test_spin():
    while True:
        pass
""",
    }


GOOD = {
    "good-add": (
        "pkg/add.py",
        "def add(a, b):\n    return a + b\n",
        "from pkg.add import add\ndef test_add():\n    assert add(2, 3) == 5\n",
    ),
    "good-shared": (
        "pkg/twice.py",
        "from pkg.base import BASE\ndef twice():\n    return 2 * BASE\n",
        "from pkg.twice import twice\ndef test_twice():\n    assert twice() == 42\n",
    ),
    "good-str": (
        "pkg/shout.py",
        "def shout(s):\n    return s.upper() + '!'\n",
        "from pkg.shout import shout\ndef test_shout():\n    assert shout('a') == 'A!'\n",
    ),
}


LANGUAGES = ("python", "javascript")


def _batch(
    port: int, outside: Path, scratch: Path, threats: set[Threat], language: str = "python"
) -> dict[str, object]:
    """The batch: an atom per threat in ``threats`` (only attacks that are safe to run under the
    isolation at hand — a fork bomb is never run where nothing would stop it), plus honest ones,
    written in ``language`` (python, or javascript run by ``node --test``)."""
    js = language == "javascript"
    attacks = js_attacks(port, outside, scratch, TOKEN) if js else _attacks(port, outside, scratch)
    items: list[dict[str, object]] = []
    for threat, code in attacks.items():
        if threat not in threats:
            continue
        stem = f"{threat.value}_{TOKEN}"
        test = f"tests/{stem}.test.mjs" if js else f"tests/test_{stem}.py"
        item: dict[str, object] = {
            "atomId": threat.value,
            "files": {test: code},
            "testFiles": [test],
        }
        if threat in SLOW_ATTACKS:
            item["timeoutSeconds"] = ATTACK_TIMEOUT
        items.append(item)
    flood = f"import sys  # {TOKEN}\nwhile True:\n    sys.stdout.write('x' * 65536)\n"
    if Threat.OUTPUT_FLOOD in threats:
        items.append(
            {
                "atomId": Threat.OUTPUT_FLOOD.value,
                "command": js_flood(TOKEN) if js else ["python", "-c", flood],
                "timeoutSeconds": ATTACK_TIMEOUT,
            }
        )
    for atom_id, (module, code, test) in (JS_GOOD if js else GOOD).items():
        stem = atom_id.replace("-", "_")
        name = f"tests/{stem}.test.mjs" if js else f"tests/test_{stem}.py"
        items.append({"atomId": atom_id, "files": {module: code, name: test}, "testFiles": [name]})
    shared = JS_SHARED if js else {"pkg/__init__.py": "", "pkg/base.py": "BASE = 21\n"}
    return {
        "batchId": f"red-team-{language}-{TOKEN}",
        "language": language,
        "limits": {
            "timeoutSeconds": 30,
            "memoryMb": 128,
            # node runs ~11 threads, and node --test a second node per test file
            "maxProcesses": 64 if js else 32,
            "maxFileSizeMb": 8,
            "maxOutputBytes": 262144,
            "tmpSizeMb": 16,
        },
        "sharedFiles": shared,
        "items": items,
    }


_runs: dict[str, RedTeamRun] = {}


@pytest.fixture(scope="module")
def listeners() -> Iterator[dict[str, socket.socket]]:
    socks: dict[str, socket.socket] = {}
    yield socks
    for s in socks.values():
        s.close()
    for p in Path("/tmp").glob(f"pwned-{TOKEN}*"):  # left by the demonstrations that must work
        p.unlink()


@pytest.fixture
def red(
    iso: str,
    lang: str,
    tmp_path_factory: pytest.TempPathFactory,
    listeners: dict[str, socket.socket],
) -> RedTeamRun:
    """The red-team batch in ``lang`` under ``iso``, run once per module."""
    key = f"{iso}-{lang}"
    if key in _runs:
        return _runs[key]
    base = tmp_path_factory.mktemp(f"red-{key}")
    outside, scratch = base / "outside", base / "scratch"
    outside.mkdir()
    (outside / "canary.txt").write_text(CANARY)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    listeners[key] = listener
    batch_file = base / "batch.json"
    threats = {t for i, t, _ in _cases() if i == iso}
    port = listener.getsockname()[1]
    batch_file.write_text(json.dumps(_batch(port, outside, scratch, threats, lang)))
    env = {**os.environ, "MGE_FAKE_SECRET": SECRET, "ANTHROPIC_API_KEY": SECRET}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mge.cli.sandbox",
            "run",
            str(batch_file),
            "--isolation",
            iso,
            "--scratch",
            str(scratch),
            "--keep",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    connections = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            break
        conn.close()
        connections += 1
    run = RedTeamRun(
        SandboxResult.model_validate_json(proc.stdout), outside, scratch, listener, connections
    )
    _runs[key] = run
    return run


def _all_output(result: SandboxResult) -> str:
    return "\n".join(o.model_dump_json() for o in result.outcomes)


def _leftover_processes() -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if TOKEN in text and ("pytest" in text or "node" in text):
            found.append(f"{cmdline.parent.name}: {text[:120]}")
    return found


def _loot(run: RedTeamRun, threat: Threat) -> str:
    (loot,) = run.scratch.glob(f"mge-batch-*/*-{threat.value}/loot.txt") or [None]
    return loot.read_text() if loot is not None else ""


def _host_traces(threat: Threat, run: RedTeamRun) -> list[str]:
    """Evidence on the host that the attack worked."""
    traces = []
    if threat is Threat.ENV_SECRETS and SECRET in _loot(run, threat):
        traces.append("the secret was copied into the atom folder")
    if threat is Threat.HOST_FILES_READ and CANARY in _loot(run, threat):
        traces.append("the canary was copied into the atom folder")
    if threat is Threat.NETWORK and run.connections:
        traces.append(f"{run.connections} connection(s) reached the host listener")
    if threat is Threat.ENV_SECRETS and SECRET in _all_output(run.result):
        traces.append("the secret appears in the results")
    if threat is Threat.HOST_FILES_READ and CANARY in _all_output(run.result):
        traces.append("the canary appears in the results")
    if threat is Threat.HOST_FILES_WRITE:
        written = list(run.outside.glob("pwned*")) + list(Path("/tmp").glob(f"pwned-{TOKEN}*"))
        written += list(Path("/").glob(f"pwned-{TOKEN}*"))
        written += [
            p
            for p in run.scratch.glob("mge-batch-*/*/pwned.txt")
            if not p.parent.name.endswith(Threat.HOST_FILES_WRITE.value)
        ]
        traces += [f"wrote {p}" for p in written]
    if threat is Threat.FORK_BOMB:
        traces += _leftover_processes()
    return traces


def _cases() -> list[tuple[str, Threat, str]]:
    host = host_report()
    out = []
    for iso in available_isolations():
        for threat, c in host.matrix(KIND[iso]).items():
            if c.level == "contained":
                out.append((iso, threat, "contained"))
            elif c.level == "exposed" and threat in SAFE_TO_DEMONSTRATE:
                out.append((iso, threat, "exposed"))
    return out


EXPECTED_STATUS = {
    Threat.MEMORY_BOMB: {AtomStatus.OOM},
    Threat.CPU_LOOP: {AtomStatus.TIMEOUT, AtomStatus.CPU_LIMIT},
    Threat.OUTPUT_FLOOD: {AtomStatus.OUTPUT_LIMIT},
    Threat.FORK_BOMB: {AtomStatus.PROCESS_LIMIT, AtomStatus.TIMEOUT, AtomStatus.CPU_LIMIT},
}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    ("iso", "threat", "level"), _cases(), ids=[f"{i}-{t.value}-{lv}" for i, t, lv in _cases()]
)
def test_attack(iso: str, lang: str, threat: Threat, level: str, red: RedTeamRun) -> None:
    atom: AtomOutcome = red.result.outcome(threat.value)
    traces = _host_traces(threat, red)
    if level == "contained":
        assert not atom.passed, f"{threat.value} succeeded under {iso}: {atom.stdout_tail[-500:]}"
        assert traces == []
        expected = EXPECTED_STATUS.get(threat)
        if expected:
            assert atom.status in expected, atom.detail
        if threat in SLOW_ATTACKS:
            assert atom.duration_s < ATTACK_TIMEOUT + 5
    else:
        assert atom.passed, (
            f"the {threat.value} attack did not work even unsandboxed: {atom.detail}"
        )
        assert traces, "no trace on the host of an attack that passed"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("iso", available_isolations())
def test_honest_atoms_in_the_same_batch_pass(iso: str, lang: str, red: RedTeamRun) -> None:
    for atom_id in GOOD:
        outcome = red.result.outcome(atom_id)
        assert outcome.passed, f"{atom_id} under {iso}: {outcome.detail}"
    assert _leftover_processes() == []


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("iso", [i for i in available_isolations() if i != "unsandboxed"])
def test_the_secret_never_reaches_generated_code_under_isolation(
    iso: str, lang: str, red: RedTeamRun
) -> None:
    assert SECRET not in _all_output(red.result)
    assert all(
        SECRET not in p.read_text(errors="replace") for p in red.scratch.rglob("*") if p.is_file()
    )
