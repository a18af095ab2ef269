"""Red team through a real pod: hostile atom bodies in one sandbox batch next to honest ones,
run by the operator's KubeJobRunner as one Job on the real node (``--isolation=pod``: the pod is
the isolation), in a namespace enforcing Pod Security ``restricted``.

Each attack atom's test asserts that its attack *worked*, so a contained attack is a failing
atom. The test checks every attack atom failed with the expected status, the honest atoms
passed, and the host shows no trace: no connection reached a listener (host, node address,
another pod), no secret or canary in any output, nothing written outside, no process of the
batch left after the pod ended.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from tests.integration.controlplane.real_node import NODE_IP, RealNode
from tests.integration.kube.helpers import project_body
from tests.integration.realnode.conftest import SANDBOX_IMAGE
from tests.integration.realnode.helpers import RESTRICTED, sandbox_pod

from mge.kube.client import KubeClient
from mge.kube.jobs import JobTarget, KubeJobRunner, Slot
from mge.models.project import ExecutionSpec, ResourceSpec
from mge.models.sandbox import AtomStatus, SandboxBatch, SandboxResult

pytestmark = [pytest.mark.kube, pytest.mark.realnode, pytest.mark.usefixtures("crds_installed")]

TOKEN = secrets.token_hex(6)
SECRET = f"sk-fake-{secrets.token_hex(12)}"
CANARY = f"canary-{secrets.token_hex(12)}"
ATTACK_TIMEOUT = 6
LISTENER = """
import socket, sys
s = socket.socket(); s.bind(("0.0.0.0", 8080)); s.listen(8)
print("listening", flush=True)
while True:
    c, a = s.accept(); print("CONNECTED", a, flush=True); c.close()
"""


def attacks(targets: list[tuple[str, int]], canary: Path) -> dict[str, str]:
    """Attack atom bodies (pytest files) by atom id; each test passes only if it got out."""
    return {
        "network-egress": f"""
import socket
def test_reach_something():
    reached = []
    for host, port in {targets!r}:
        try:
            socket.create_connection((host, port), timeout=2).close()
            reached.append((host, port))
        except OSError:
            pass
    assert reached
""",
        "secrets": """
import glob, os, ssl, urllib.request
def test_find_secrets():
    found = [f"{k}={v}" for k, v in os.environ.items() if "sk-fake" in v]
    for path in glob.glob("/proc/[0-9]*/environ"):
        try:
            if b"sk-fake" in open(path, "rb").read():
                found.append(path)
        except OSError:
            pass
    for path in ("/var/run/secrets/kubernetes.io/serviceaccount/token",
                 "/run/secrets/kubernetes.io/serviceaccount/token"):
        try:
            found.append(open(path).read())
        except OSError:
            pass
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    try:
        ctx = ssl._create_unverified_context()
        url = f"https://{host}/api/v1/namespaces/{os.environ.get('NS', 'default')}/secrets"
        found.append(urllib.request.urlopen(url, context=ctx, timeout=3).read().decode())
    except Exception:
        pass
    open("loot.txt", "w").write(repr(found))
    assert found
""",
        "host-files-read": f"""
def test_read_host_files():
    got = []
    for path in ({str(canary)!r}, "/etc/shadow", "/proc/1/root/etc/hostname", "/etc/hostname"):
        try:
            text = open(path).read()
        except OSError:
            continue
        # The container's own /etc/hostname holds the pod's name; only the host's counts.
        host = text.strip() == {socket.gethostname()!r}
        if path == "/etc/shadow" or text.startswith("canary-") or host:
            got.append(text[:200])
    open("loot.txt", "w").write(repr(got))
    assert got
""",
        "write-outside": f"""
def test_write_outside_the_work_folders():
    wrote = []
    for path in ("/pwned-{TOKEN}", "/input/pwned-{TOKEN}", "/usr/lib/pwned-{TOKEN}",
                 {str(canary.parent / f"pwned-{TOKEN}")!r}, "/etc/pwned-{TOKEN}"):
        try:
            open(path, "w").write("pwned")
            wrote.append(path)
        except OSError:
            pass
    assert wrote
""",
        "kernel-settings": """
def test_write_a_sysctl():
    path = "/proc/sys/kernel/core_pattern"
    current = open(path).read()
    with open(path, "w") as f:
        f.write(current)
""",
        "fork-bomb": """
import os
def test_fork_bomb():
    for _ in range(1_000_000):
        try:
            os.fork()
        except OSError:
            pass
""",
        "memory-bomb": """
def test_eat_memory():
    blocks = []
    while True:
        blocks.append(bytearray(8 * 2**20))
""",
        "endless-loop": """
def test_spin():
    while True:
        pass
""",
        "orphan": f"""
import os, subprocess, time
def test_leave_a_child_behind():
    subprocess.Popen(["python3", "-c", "import time; time.sleep(600)  # {TOKEN}"],
                     start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    assert False, "the child is meant to outlive this test"
""",
    }


EXPECTED = {
    "network-egress": {AtomStatus.FAILED},
    "secrets": {AtomStatus.FAILED},
    "host-files-read": {AtomStatus.FAILED},
    "write-outside": {AtomStatus.FAILED},
    "kernel-settings": {AtomStatus.FAILED},
    # Pod mode has no pids or memory cgroup per atom (the container's cgroup fs is read-only):
    # the runner caps each atom's process tree and gives it a data limit that fits the pod
    # (mge/sandbox/proctree.py, container.py). Before that these ended `timeout` / `killed`.
    "fork-bomb": {AtomStatus.PROCESS_LIMIT},
    "memory-bomb": {AtomStatus.OOM},
    "endless-loop": {AtomStatus.TIMEOUT, AtomStatus.CPU_LIMIT},
    "output-flood": {AtomStatus.OUTPUT_LIMIT},
    "orphan": {AtomStatus.FAILED},
}
"""The status each hostile atom must end with (its own test asserts the attack worked)."""

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


def batch(
    targets: list[tuple[str, int]], canary: Path, only: set[str] | None = None
) -> SandboxBatch:
    """The hostile atoms (all but ``orphan``, or those in ``only``) plus the honest ones."""
    items: list[dict[str, Any]] = []
    slow = {"fork-bomb", "memory-bomb", "endless-loop"}
    chosen = only or set(EXPECTED) - {"orphan"}
    for atom, code in attacks(targets, canary).items():
        if atom not in chosen:
            continue
        test = f"tests/test_{atom.replace('-', '_')}_{TOKEN}.py"
        item: dict[str, Any] = {"atomId": atom, "files": {test: code}, "testFiles": [test]}
        if atom in slow:
            item["timeoutSeconds"] = ATTACK_TIMEOUT
        items.append(item)
    flood = f"import sys  # {TOKEN}\nwhile True:\n    sys.stdout.write('x' * 65536)\n"
    if "output-flood" in chosen:
        items.append(
            {
                "atomId": "output-flood",
                "command": ["python", "-c", flood],
                "timeoutSeconds": ATTACK_TIMEOUT,
            }
        )
    for atom, (module, code, test) in GOOD.items():
        name = f"tests/test_{atom.replace('-', '_')}.py"
        items.append({"atomId": atom, "files": {module: code, name: test}, "testFiles": [name]})
    return SandboxBatch.model_validate(
        {
            "batchId": f"red-team-{TOKEN}-{len(chosen)}",
            "language": "python",
            "limits": {
                "timeoutSeconds": 30,
                "memoryMb": 128,
                "maxProcesses": 32,
                "maxFileSizeMb": 8,
                "maxOutputBytes": 262144,
                "tmpSizeMb": 16,
            },
            "sharedFiles": {"pkg/__init__.py": "", "pkg/base.py": "BASE = 21\n"},
            "items": items,
        }
    )


def _wait_running(core: client.CoreV1Api, namespace: str, name: str) -> client.V1Pod:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pod = core.read_namespaced_pod(name, namespace)
        if pod.status.phase == "Running" and pod.status.pod_ip:
            log = core.read_namespaced_pod_log(name, namespace)
            if "listening" in log:
                return pod
        time.sleep(0.3)
    pytest.fail(f"listener pod never ran: {pod.status}")


def _host_processes_with(token: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if token in text and "pytest" not in text:
            found.append(f"{cmdline.parent.name}: {text[:120]}")
    return found


def test_red_team_batch_in_a_real_pod(
    real_node: RealNode,
    api: client.ApiClient,
    custom: client.CustomObjectsApi,
    make_namespace: Callable[..., str],
    tmp_path: Path,
) -> None:
    namespace = make_namespace(RESTRICTED)
    core = client.CoreV1Api(api)
    core.create_namespaced_secret(
        namespace,
        client.V1Secret.model_validate(
            {"metadata": {"name": "llm-key"}, "stringData": {"key": SECRET}}
        ),
    )
    # Listeners the egress attack aims at: another pod, the node's address, the host.
    listener = sandbox_pod("listener", LISTENER, SANDBOX_IMAGE, shell="python3")
    # python3 as PID 1 ignores SIGTERM: without a short grace the node's stop waits 30 s for it.
    listener["spec"]["terminationGracePeriodSeconds"] = 1
    core.create_namespaced_pod(namespace, listener)
    other_pod = _wait_running(core, namespace, "listener").status.pod_ip
    host_listener = socket.socket()
    host_listener.bind(("0.0.0.0", 0))
    host_listener.listen(8)
    host_listener.setblocking(False)
    host_port = host_listener.getsockname()[1]
    api_port = int(real_node.access.server.rsplit(":", 1)[1])
    targets = [
        (other_pod, 8080),
        (NODE_IP, real_node.layout.kubelet_port),
        (NODE_IP, host_port),
        ("10.96.0.1", 443),  # the kubernetes Service address (no kube-proxy: unrouted anyway)
        ("127.0.0.1", api_port),  # the API server, as the host sees it
        ("127.0.0.1", host_port),
    ]
    canary = tmp_path / "canary.txt"
    canary.write_text(CANARY)

    body = custom.create_namespaced_custom_object(
        "mge.dev", "v1alpha1", namespace, "projects", project_body("redteam")
    )
    target = JobTarget(
        namespace=namespace,
        project="redteam",
        owner=body,
        generation=1,
        execution=ExecutionSpec(
            atom_timeout_seconds=60,
            sandbox_image=SANDBOX_IMAGE,
            resources=ResourceSpec(memory="256Mi"),
        ),
    )
    runner = KubeJobRunner(KubeClient(api), target, poll_first=0.2, poll_max=1.0)
    started = time.monotonic()
    result: SandboxResult = asyncio.run(runner.batch_runner(Slot(0, 0, 0))(batch(targets, canary)))
    took = time.monotonic() - started
    # The orphan gets a Job of its own: next to the fork bomb it could not even start a child.
    orphan_run = asyncio.run(
        runner.batch_runner(Slot(0, 1, 0))(batch(targets, canary, only={"orphan"}))
    )
    outcomes = {o.atom_id: o for o in result.outcomes}
    orphan = next(o for o in orphan_run.outcomes if o.atom_id == "orphan")
    summary = {a: (o.status.value, o.detail[-100:]) for a, o in outcomes.items()}
    print(f"\nred-team Job on the real node in {took:.1f} s: {summary}")

    # The pod itself ended normally: every verdict below came from its log.
    pods = core.list_namespaced_pod(namespace, label_selector="mge.dev/sandbox=true").items
    for pod in pods:
        log = core.read_namespaced_pod_log(pod.metadata.name, namespace)
        (Path(real_node.work_dir) / f"{pod.metadata.name}.log").write_text(log)
    broken = [o.atom_id for o in [*result.outcomes, orphan] if o.detail.startswith("NoResult")]
    if broken:
        pytest.fail(f"no result in a pod log for {broken}; logs in {real_node.work_dir}")
    assert len(pods) == 2, [p.metadata.name for p in pods]
    assert all(p.status.phase == "Succeeded" for p in pods), [p.status for p in pods]
    assert all(p.spec.node_name == real_node.layout.node_name for p in pods)
    assert orphan.status is AtomStatus.FAILED and "meant to outlive" in orphan.detail, orphan
    good = {o.atom_id: o.status for o in orphan_run.outcomes if o.atom_id in GOOD}
    assert set(good.values()) == {AtomStatus.PASSED}, good

    for atom, allowed in EXPECTED.items():
        if atom == "orphan":
            continue
        assert outcomes[atom].status in allowed, (atom, summary[atom])
    # The bomb met its own limit (MemoryError inside the atom), not the pod's OOM killer.
    assert "MemoryError" in outcomes["memory-bomb"].detail, summary["memory-bomb"]
    assert "processes/threads at once" in outcomes["fork-bomb"].detail, summary["fork-bomb"]
    for atom in GOOD:
        assert outcomes[atom].status is AtomStatus.PASSED, (atom, summary[atom])

    everything = "\n".join(o.model_dump_json() for o in result.outcomes)
    assert SECRET not in everything and CANARY not in everything
    assert "sk-fake" not in everything
    connections = 0
    while True:
        try:
            conn, _ = host_listener.accept()
        except BlockingIOError:
            break
        conn.close()
        connections += 1
    host_listener.close()
    assert connections == 0, "a pod reached the host listener"
    assert "CONNECTED" not in core.read_namespaced_pod_log("listener", namespace)
    assert not list(tmp_path.glob("pwned*"))
    assert not list(Path("/").glob(f"pwned-{TOKEN}*"))
    assert _host_processes_with(TOKEN) == [], "a process of the batch outlived its pod"
