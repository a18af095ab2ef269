"""PodWatch: every pod of a namespace as the kubelet last reported it (node, container id,
phase, termination), for tests that must show a pod really ran on the real node."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from kubernetes import client, watch


@dataclass
class SeenPod:
    name: str
    job: str
    node: str | None
    container_id: str | None
    phase: str | None
    reason: str | None
    exit_code: int | None
    created: float
    started: float | None
    finished: float | None


class PodWatch:
    """Watches pods of ``namespace`` in a thread; ``pods`` maps name to its latest state."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.core = client.CoreV1Api(api)
        self.namespace = namespace
        self.pods: dict[str, SeenPod] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            stream = watch.Watch().stream(
                self.core.list_namespaced_pod, self.namespace, timeout_seconds=2
            )
            for event in stream:
                self._record(event["object"])
                if self._stop.is_set():
                    break

    def _record(self, pod: client.V1Pod) -> None:
        statuses = (pod.status.container_statuses if pod.status else None) or []
        state = statuses[0].state if statuses else None
        done = state.terminated if state else None
        running = state.running if state else None
        previous = self.pods.get(pod.metadata.name)
        self.pods[pod.metadata.name] = SeenPod(
            name=pod.metadata.name,
            job=(pod.metadata.labels or {}).get("job-name", ""),
            node=pod.spec.node_name,
            container_id=statuses[0].container_id if statuses else None,
            phase=pod.status.phase if pod.status else None,
            reason=done.reason if done else None,
            exit_code=done.exit_code if done else None,
            created=pod.metadata.creation_timestamp.timestamp(),
            started=(running.started_at.timestamp() if running and running.started_at else None)
            or (done.started_at.timestamp() if done and done.started_at else None)
            or (previous.started if previous else None),
            finished=done.finished_at.timestamp() if done and done.finished_at else None,
        )

    def __enter__(self) -> PodWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
