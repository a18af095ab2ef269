"""Helpers for the operator's control-plane tests: kubectl, polling, a minimal Project."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from tests.integration.controlplane import ControlPlane, RunOutcome

from mge.config import LEASE_NAME
from mge.kube import crds as crd_gen
from mge.kube.client import KubeClient
from mge.kube.jobs import JobTarget, KubeJobRunner
from mge.kube.rbac import OPERATOR_CLUSTER_RULES, lease_rules
from mge.models.project import ExecutionSpec

KUBECTL = "/usr/bin/kubectl"
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}


def oom_killed(_pod: Any) -> RunOutcome:
    """A harness ``run`` whose container is OOM-killed (exit 137) after printing ``Killed``."""
    return RunOutcome(log="Killed\n", exit_code=137, reason="OOMKilled")


def kubectl(
    kubeconfig: Path, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run kubectl with ``kubeconfig``; returns the completed process."""
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


def apply_crds(kubeconfig: Path) -> None:
    """Apply the generated CRDs server-side and wait until they are Established."""
    docs = "---\n".join(crd_gen.render().values())
    kubectl(kubeconfig, "apply", "--server-side", "-f", "-", stdin=docs)
    for plural in ("projects", "atomreviews"):
        established = f"crd/{plural}.mge.dev"
        kubectl(kubeconfig, "wait", "--for=condition=Established", established, "--timeout=30s")


def approve_with_kubectl(kubeconfig: Path, namespace: str, names: Iterable[str]) -> None:
    """Approve each AtomReview as a reviewer does: a merge patch through kubectl."""
    for name in names:
        kubectl(
            kubeconfig,
            "-n",
            namespace,
            "patch",
            "atomreview",
            name,
            "--type",
            "merge",
            "-p",
            '{"spec":{"decision":"approve"}}',
        )


def wait_for(what: str, probe: Any, timeout: float = 30.0, interval: float = 0.3) -> Any:
    """Poll ``probe()`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}; last: {last!r}")


def project_body(name: str, **spec: Any) -> dict[str, Any]:
    """A minimal Project manifest."""
    return {
        "apiVersion": "mge.dev/v1alpha1",
        "kind": "Project",
        "metadata": {"name": name},
        "spec": {"requirements": "A tiny inventory library.", **spec},
    }


def job_runner(
    api: Any,
    custom: Any,
    namespace: str,
    project: str,
    execution: ExecutionSpec,
    *,
    kube: KubeClient | None = None,
    poll_first: float = 0.2,
    poll_max: float = 1.0,
) -> KubeJobRunner:
    """A sandbox Job runner for a new Project ``project`` in ``namespace`` (the Project owns
    the Jobs, as the operator's do), re-reading Jobs quickly (``poll_*``: the watch timeouts);
    ``kube``: a client of the caller's (one injecting faults), else one on ``api``."""
    body = custom.create_namespaced_custom_object(
        "mge.dev", "v1alpha1", namespace, "projects", project_body(project)
    )
    target = JobTarget(
        namespace=namespace, project=project, owner=body, generation=1, execution=execution
    )
    return KubeJobRunner(kube or KubeClient(api), target, poll_first=poll_first, poll_max=poll_max)


def sandbox_entry_point(api: Any) -> Any:
    """A harness `run` that does what the sandbox container does: the real entry point
    ``python -m mge.cli.sandbox`` with the pod's own args, on the batch from the pod's ConfigMap.

    The pod's mounts (``/input``, ``/work``, ``/tmp``) become folders of a temp directory; the
    ConfigMap's keys are written where the volume would put them. The pod log is the process's
    stdout then stderr (a container log interleaves both; the result is the last JSON line).
    """
    import sys
    import tempfile

    from kubernetes import client
    from tests.integration.controlplane import RunOutcome

    core = client.CoreV1Api(api)

    def run(pod: client.V1Pod) -> RunOutcome:
        namespace = pod.metadata.namespace
        container = pod.spec.containers[0]
        volumes = {v.name: v for v in pod.spec.volumes}
        with tempfile.TemporaryDirectory() as tmp:
            mounts: dict[str, Path] = {}
            for m in container.volume_mounts:
                folder = Path(tmp) / m.mount_path.strip("/")
                folder.mkdir(parents=True, exist_ok=True)
                mounts[m.mount_path] = folder
                cm = volumes[m.name].config_map
                if cm is not None:
                    data = core.read_namespaced_config_map(cm.name, namespace).data or {}
                    for key, text in data.items():
                        (folder / key).write_text(text)
            args = list(container.args)
            if args and args[0] == "sandbox":  # the image's entrypoint drops it (entrypoint.sh)
                args = args[1:]
            for i, arg in enumerate(args):
                for path, folder in mounts.items():
                    if arg == path or arg.startswith(path + "/"):
                        args[i] = str(folder) + arg[len(path) :]
            done = subprocess.run(
                [sys.executable, "-m", "mge.cli.sandbox", *args],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=300,
            )
        return RunOutcome(log=done.stdout + done.stderr, exit_code=done.returncode)

    return run


REPO = Path(__file__).resolve().parents[3]


def example_recordings(tmp_path: Path, *examples: str) -> Path:
    """A copy of the examples' recordings under ``tmp_path`` (a test may add responses), laid
    out as ``MGE_RECORDINGS_ROOT`` expects: ``<root>/<example>/recordings``."""
    root = tmp_path / "recordings-root"
    for example in examples:
        shutil.copytree(REPO / "examples" / example / "recordings", root / example / "recordings")
    return root


class Operators:
    """Starts `mge operator run` processes for one namespace under the operator ServiceAccount."""

    def __init__(
        self, control_plane: ControlPlane, namespace: str, env: dict[str, str], logs: Path
    ):
        kubeconfig = control_plane.kubeconfig_for_service_account(
            namespace,
            "mge-operator",
            OPERATOR_CLUSTER_RULES + lease_rules(LEASE_NAME),
            cluster_wide=True,
        )
        self.namespace = namespace
        self.env = {
            **env,
            "KUBECONFIG": str(kubeconfig),
            "MGE_RECORDINGS_ROOT": str(REPO / "examples"),
            "MGE_OPERATOR_NAMESPACE": namespace,  # the Lease lives here: one election per test
        }
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.logs / f"operator-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "mge"),
                "operator",
                "run",
                "--namespace",
                self.namespace,
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def stop_all(self) -> str:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.logs.glob("operator-*.log"))
        )
