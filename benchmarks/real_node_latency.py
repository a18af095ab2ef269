"""Latency of real pods and sandbox Jobs on the real test node (issue 20, point 4).

Starts the test control plane (real etcd, kube-apiserver, controller manager, scheduler; the kwok
node cordoned) and a real node (kubelet + containerd + runc + CNI bridge, see
docs/control-plane.md), then in a namespace enforcing Pod Security ``restricted``, one at a time:

* pods with the operator's sandbox pod spec running ``echo ready``: create call → pod Running
  (kubelet status) → container finished → log readable through the API server;
* sandbox Jobs through the operator's own KubeJobRunner with a one-atom batch (a function and
  its pytest test, run by the sandbox image's real entry point): create → result read from the
  pod log; the Job's own create → Complete from its status.

    .venv/bin/python benchmarks/real_node_latency.py --pods 10 --jobs 5

Needs root, containerd, runc, containernetworking-plugins, podman and the sandbox image
(hack/images/build.sh sandbox). Results: benchmarks/results/real_node_latency.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "operator"))

from kubernetes import client  # noqa: E402
from tests.integration.controlplane import ControlPlane, find_binaries  # noqa: E402
from tests.integration.controlplane.real_node import (  # noqa: E402
    ControlPlaneAccess,
    RealNode,
    build_kubelet,
    build_pause_image,
)
from tests.integration.controlplane.real_node_cli import cordon_kwok_node  # noqa: E402
from tests.integration.realnode.helpers import sandbox_pod  # noqa: E402

from mge.kube.client import KubeClient  # noqa: E402
from mge.kube.jobs import JobTarget, KubeJobRunner, Slot  # noqa: E402
from mge.models.project import ExecutionSpec  # noqa: E402
from mge.models.sandbox import SandboxBatch  # noqa: E402

IMAGE = os.environ.get("MGE_SANDBOX_IMAGE", "localhost/mge-sandbox:0.1.0")
NAMESPACE = "bench-real-node"
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}


def _until(probe: Any, timeout: float = 300.0, interval: float = 0.05) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return time.monotonic()
        time.sleep(interval)
    raise TimeoutError("timed out")


def pod_run(core: client.CoreV1Api, index: int) -> dict[str, float]:
    name = f"lat-{index}"
    t0 = time.monotonic()
    core.create_namespaced_pod(NAMESPACE, sandbox_pod(name, "echo ready", IMAGE))

    def phase() -> str:
        pod = core.read_namespaced_pod(name, NAMESPACE)
        return str(pod.status.phase) if pod.status else ""

    running = _until(lambda: phase() in ("Running", "Succeeded", "Failed"))
    finished = _until(lambda: phase() in ("Succeeded", "Failed"))

    def log_ready() -> bool:
        try:
            return "ready" in core.read_namespaced_pod_log(name, NAMESPACE)
        except client.ApiException:
            return False

    logged = _until(log_ready)
    core.delete_namespaced_pod(name, NAMESPACE, grace_period_seconds=0)
    return {
        "to_running_s": round(running - t0, 3),
        "to_finished_s": round(finished - t0, 3),
        "to_log_s": round(logged - t0, 3),
    }


def one_atom(index: int) -> SandboxBatch:
    test = f"tests/test_add_{index}.py"
    return SandboxBatch.model_validate(
        {
            "batchId": f"lat-{index}",
            "language": "python",
            "items": [
                {
                    "atomId": f"add-{index}",
                    "files": {
                        "calc.py": f"def add(a, b):\n    return a + b + {index} - {index}\n",
                        test: "from calc import add\ndef test_add():\n    assert add(2, 3) == 5\n",
                    },
                    "testFiles": [test],
                }
            ],
        }
    )


def job_runs(api: client.ApiClient, custom: client.CustomObjectsApi, count: int) -> list[dict]:
    body = custom.create_namespaced_custom_object(
        "mge.dev",
        "v1alpha1",
        NAMESPACE,
        "projects",
        {
            "apiVersion": "mge.dev/v1alpha1",
            "kind": "Project",
            "metadata": {"name": "latency"},
            "spec": {"requirements": "Latency probe."},
        },
    )
    target = JobTarget(
        namespace=NAMESPACE,
        project="latency",
        owner=body,
        generation=1,
        execution=ExecutionSpec(atom_timeout_seconds=60, sandbox_image=IMAGE),
    )
    runner = KubeJobRunner(KubeClient(api), target, poll_first=0.1, poll_max=0.2)
    batch_api = client.BatchV1Api(api)
    out = []
    for index in range(count):
        t0 = time.monotonic()
        result = asyncio.run(runner.batch_runner(Slot(0, index, 0))(one_atom(index)))
        read = time.monotonic() - t0
        assert result.outcomes[0].passed, result.outcomes[0].detail
        job = next(
            j
            for j in batch_api.list_namespaced_job(NAMESPACE).items
            if j.metadata.labels.get("mge.dev/batch") == str(index)
        )
        complete = next(c for c in job.status.conditions if c.type == "Complete")
        created = job.metadata.creation_timestamp
        out.append(
            {
                "to_result_s": round(read, 3),
                "job_complete_s": round((complete.last_transition_time - created).total_seconds()),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=5)
    args = parser.parse_args()
    from mge.kube import crds as crd_gen

    load = os.getloadavg()[0]
    kubelet, pause = build_kubelet(), build_pause_image()
    with ControlPlane(find_binaries()) as plane:
        cordon_kwok_node(plane)
        node = RealNode(
            ControlPlaneAccess(plane.server, plane.pki, plane.kubeconfig), kubelet, pause, [IMAGE]
        )
        node.up()
        try:
            with plane.connect() as api:
                extensions = client.ApiextensionsV1Api(api)
                import yaml

                for text in crd_gen.render().values():
                    extensions.create_custom_resource_definition(
                        client.V1CustomResourceDefinition.model_validate(yaml.safe_load(text))
                    )
                time.sleep(2)
                plane.create_namespace(NAMESPACE, RESTRICTED)
                core = client.CoreV1Api(api)
                pods = [pod_run(core, i) for i in range(args.pods)]
                jobs = job_runs(api, client.CustomObjectsApi(api), args.jobs)
        finally:
            left = node.down()
    write(pods, jobs, node.phase_seconds, load, left, args)


def _stats(rows: list[dict], key: str) -> dict[str, float]:
    values = sorted(r[key] for r in rows)
    return {
        "min": values[0],
        "median": round(statistics.median(values), 3),
        "max": values[-1],
    }


def write(
    pods: list[dict],
    jobs: list[dict],
    up: dict[str, float],
    load: float,
    left: list[str],
    args: Any,
) -> None:
    command = (
        f".venv/bin/python benchmarks/real_node_latency.py --pods {args.pods} --jobs {args.jobs}"
    )
    data = {
        "recorded": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, kernel {platform.release()}",
        "load_1min_at_start": load,
        "node_up_phases_s": up,
        "host_left_behind": left,
        "pods": pods,
        "jobs": jobs,
        "summary": {
            "pod_to_running_s": _stats(pods, "to_running_s"),
            "pod_to_finished_s": _stats(pods, "to_finished_s"),
            "pod_to_log_s": _stats(pods, "to_log_s"),
            "job_to_result_s": _stats(jobs, "to_result_s"),
            "job_create_to_complete_s": _stats(jobs, "job_complete_s"),
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "real_node_latency.json").write_text(json.dumps(data, indent=1) + "\n")
    s = data["summary"]
    rows = "\n".join(
        f"| {label} | {s[key]['min']} | {s[key]['median']} | {s[key]['max']} |"
        for label, key in (
            ("pod: create → Running", "pod_to_running_s"),
            ("pod: create → container finished", "pod_to_finished_s"),
            ("pod: create → log readable via API server", "pod_to_log_s"),
            ("sandbox Job (1 atom): create → result read from pod log", "job_to_result_s"),
            (
                "sandbox Job: creationTimestamp → Complete condition (1 s resolution)",
                "job_create_to_complete_s",
            ),
        )
    )
    (RESULTS / "real_node_latency.md").write_text(
        f"""# Pod and sandbox-Job latency on the real test node

Recorded {data["recorded"]} on {data["machine"]}, shared with other work (1-minute load
{load:.2f} at the start). Command: `{command}`.

Control plane of the tests (real etcd, kube-apiserver, controller manager, scheduler) and the
real node (kubelet v1.34.4, containerd 1.6.20, runc 1.1.5, CNI bridge); namespace enforcing Pod
Security `restricted`; the operator's sandbox pod spec; image `{IMAGE}` imported into
containerd. One at a time: {len(pods)} pods running `echo ready`, then {len(jobs)} sandbox Jobs
through the operator's KubeJobRunner, each a one-atom batch (function + pytest test) run by the
sandbox image's real entry point (`mge sandbox run --isolation=pod`).

| measure (seconds) | min | median | max |
|---|---:|---:|---:|
{rows}

Node start-up phases (s): {up}. Host left behind after the stop: {left or "nothing"}.

Not measured in this run: the same sequence through the pod harness. For scale, with the harness
standing in for the kubelet, 20 sandbox Jobs created at once were all Complete 5 s after the
first create (docs/control-plane.md).
"""
    )


if __name__ == "__main__":
    main()
