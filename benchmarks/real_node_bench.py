"""The real test node for the operator benchmarks' ``--real-node`` runs (issue 20, point 4).

The same parts and fixture code as tests/integration/realnode and ``hack/real-node/node.sh``
(kubelet + containerd + runc + CNI bridge on this machine, the kwok node cordoned so every new
pod lands on the real node), and :class:`PodTimer`, which times each sandbox pod's container
from the kubelet's status as the benchmarks' harness timer timed the harness's run of it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

IMAGE = os.environ.get("MGE_SANDBOX_IMAGE", "localhost/mge-sandbox:0.1.0")
"""The sandbox image imported into the node's containerd (and set as the Projects' image)."""


@contextlib.contextmanager
def real_node(cp: Any) -> Iterator[dict[str, Any]]:
    """A Ready real node on control plane ``cp`` (kwok node cordoned from here on). Yields a
    dict of facts; after the block it also holds ``leftBehind`` (what the stop left on the
    host, empty when clean). Exits with the reasons when this machine cannot run a kubelet."""
    from tests.integration.controlplane.real_node import (
        NODE_NAME,
        ControlPlaneAccess,
        RealNode,
        build_kubelet,
        build_pause_image,
        preflight,
    )
    from tests.integration.controlplane.real_node_cli import cordon_kwok_node

    reasons = preflight()
    if reasons:
        raise SystemExit("--real-node: this machine cannot run a kubelet: " + "; ".join(reasons))
    kubelet, pause = build_kubelet(), build_pause_image()
    cordon_kwok_node(cp)
    node = RealNode(ControlPlaneAccess(cp.server, cp.pki, cp.kubeconfig), kubelet, pause, [IMAGE])
    started = time.monotonic()
    node.up()
    info: dict[str, Any] = {
        "image": IMAGE,
        "nodeName": NODE_NAME,
        "upSeconds": round(time.monotonic() - started, 1),
        "upPhases": dict(node.phase_seconds),
    }
    print(f"real node up in {info['upSeconds']} s {info['upPhases']}", flush=True)
    try:
        yield info
    finally:
        info["leftBehind"] = node.down()
        if info["leftBehind"]:
            print(f"the real node left behind: {info['leftBehind']}", flush=True)


@dataclass
class TimedPod:
    """One sandbox pod as the kubelet reported it (times from this process's clock)."""

    name: str
    job: str
    node: str
    tests: tuple[str, ...]
    created: float
    running: float | None = None
    finished: float | None = None
    exit_code: int | None = None
    reason: str | None = None


class PodTimer:
    """Watches the sandbox pods of ``namespace`` in a thread: when each was created, first seen
    running and first seen finished (watch events, this clock; the status timestamps have 1 s
    resolution), and the tests of its batch (``tests_of(configmap data)``, read when the pod
    is first seen)."""

    def __init__(
        self, api: Any, namespace: str, tests_of: Callable[[dict[str, str]], tuple[str, ...]]
    ) -> None:
        from kubernetes import client

        self.core = client.CoreV1Api(api)
        self.namespace = namespace
        self.tests_of = tests_of
        self.pods: dict[str, TimedPod] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from kubernetes import watch

        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # a dropped watch: start another
                for event in watch.Watch().stream(
                    self.core.list_namespaced_pod,
                    self.namespace,
                    label_selector="mge.dev/sandbox=true",
                    timeout_seconds=5,
                ):
                    self._record(event["object"])
                    if self._stop.is_set():
                        return

    def _tests(self, pod: Any) -> tuple[str, ...]:
        tests: tuple[str, ...] = ()
        for volume in pod.spec.volumes or []:
            if volume.config_map is not None:
                with contextlib.suppress(Exception):  # gone already: the pod keeps no tests
                    cm = self.core.read_namespaced_config_map(
                        volume.config_map.name, self.namespace
                    )
                    tests += self.tests_of(cm.data or {})
        return tests

    def _record(self, pod: Any) -> None:
        now = time.time()
        name = pod.metadata.name
        seen = self.pods.get(name)
        if seen is None:
            seen = TimedPod(
                name=name,
                job=(pod.metadata.labels or {}).get("job-name", name),
                node=pod.spec.node_name or "",
                tests=self._tests(pod),
                created=pod.metadata.creation_timestamp.timestamp(),
            )
            self.pods[name] = seen
        seen.node = pod.spec.node_name or seen.node
        statuses = (pod.status.container_statuses if pod.status else None) or []
        state = statuses[0].state if statuses else None
        if state is not None and state.running is not None and seen.running is None:
            seen.running = now
        if state is not None and state.terminated is not None and seen.finished is None:
            seen.finished = now
            seen.running = seen.running or now
            seen.exit_code = state.terminated.exit_code
            seen.reason = state.terminated.reason

    def __enter__(self) -> PodTimer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)
