"""PodHarness: a kubelet stand-in that "runs" sandbox pods by calling a Python callable.

kwok plays the node and moves pods through their phases, but it runs no containers. For pods
labelled ``mge.dev/sandbox=true`` this harness takes the container's place:

1. it watches those pods (the real API server's watch) and, once kwok has marked one Running,
   calls ``run(pod)`` once — sync or async; the real runner will execute ``mge sandbox run``
   with the pod's inputs, tests pass a trivial one;
2. it writes the returned text as the container log (CRI log format, the format a kubelet's
   runtime writes) and creates a kwok ``Logs`` object for the pod, so that
   ``read_namespaced_pod_log`` through the API server returns it (API server -> kwok's kubelet
   endpoint -> the file), and waits until it does;
3. only then annotates the pod ``mge.dev/harness-done=true`` with the exit code, reason and
   message, and kwok's harness Stages end the pod Succeeded, or Failed with that exit code and
   reason (e.g. 137/OOMKilled) — which the Job controller then counts like any pod failure.

Real here: the watch, the pod log API path, the Job controller's reaction. Stand-in: that the
"container" is a Python callable and that its termination state is whatever ``run`` returns.
Every container of a pod reports the same log and the same termination. Use
``restartPolicy: Never`` for sandbox pods: the stand-in does not restart containers.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import traceback
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client, watch

from .kwok_config import (
    HARNESS_DONE_ANNOTATION,
    HARNESS_EXIT_CODE_ANNOTATION,
    HARNESS_MESSAGE_ANNOTATION,
    HARNESS_REASON_ANNOTATION,
    KWOK_API_VERSION,
    SANDBOX_LABEL,
)
from .processes import wait_until

logger = logging.getLogger(__name__)

WATCH_TIMEOUT_SECONDS = 2
"""Server-side timeout of one watch request; bounds how long stop() waits for the thread."""

LOG_SERVED_TIMEOUT_SECONDS = 30.0
"""How long kwok may take to pick up a new Logs object before the harness gives up."""

MESSAGE_LIMIT = 1024
"""Longest terminated message kept on the pod (a kubelet caps it at 4096 bytes)."""


@dataclass(frozen=True)
class RunOutcome:
    """What a sandbox container "did": its output and how it terminated."""

    log: str
    exit_code: int = 0
    reason: str = ""
    """Terminated reason; empty means Completed for exit code 0, else Error."""
    message: str = ""

    @property
    def effective_reason(self) -> str:
        """The reason the pod will show."""
        if self.reason:
            return self.reason
        return "Completed" if self.exit_code == 0 else "Error"


RunResult = str | RunOutcome
PodRunner = Callable[[client.V1Pod], RunResult | Awaitable[RunResult]]
"""Called with the pod (a kubernetes.client.V1Pod); a plain string means exit code 0."""


@dataclass(frozen=True)
class HandledPod:
    """A pod the harness finished, with the outcome it published."""

    namespace: str
    name: str
    uid: str
    outcome: RunOutcome


class PodHarness:
    """Runs sandbox pods of one control plane; start() it or use it as a context manager.

    ``namespace`` limits it to one namespace (None: all). ``workers`` bounds how many ``run``
    calls proceed at once. The caller owns ``api`` unless ``close_api_on_stop``.
    """

    def __init__(
        self,
        api: client.ApiClient,
        run: PodRunner,
        log_dir: Path,
        namespace: str | None = None,
        workers: int = 4,
        close_api_on_stop: bool = False,
    ) -> None:
        self._api = api
        self._close_api_on_stop = close_api_on_stop
        self._core = client.CoreV1Api(api)
        self._custom = client.CustomObjectsApi(api)
        self._run = run
        self._log_dir = log_dir
        self._namespace = namespace
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="harness")
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._claimed: set[str] = set()
        self._lock = threading.Lock()
        self.handled: list[HandledPod] = []
        """Pods whose outcome was published, in completion order."""
        self.errors: list[str] = []
        """Failures of the harness itself or exceptions raised by ``run`` (with tracebacks)."""

    def __enter__(self) -> PodHarness:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> PodHarness:
        """Start watching in a background thread (once; later calls do nothing)."""
        if self._thread is not None:
            return self
        self._log_dir.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._watch_loop, name="pod-harness", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching and wait for runs in progress."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=WATCH_TIMEOUT_SECONDS * 3)
        self._executor.shutdown(wait=True)
        if self._close_api_on_stop:
            self._api.close()  # type: ignore[no-untyped-call]

    # ----------------------------------------------------------------- watching

    def _list_and_watch_calls(self) -> tuple[Callable[..., Any], tuple[str, ...]]:
        if self._namespace is None:
            return self._core.list_pod_for_all_namespaces, ()
        return self._core.list_namespaced_pod, (self._namespace,)

    def _watch_loop(self) -> None:
        selector = f"{SANDBOX_LABEL}=true"
        call, args = self._list_and_watch_calls()
        resource_version: str | None = None
        while not self._stopping.is_set():
            try:
                if resource_version is None:
                    pods: client.V1PodList = call(*args, label_selector=selector)
                    for pod in pods.items:
                        self._consider(pod)
                    resource_version = pods.metadata.resource_version if pods.metadata else None
                for pod in _watch_pods(call, args, selector, resource_version, self._stopping):
                    if pod.metadata and pod.metadata.resource_version:
                        resource_version = pod.metadata.resource_version
                    self._consider(pod)
            except client.ApiException as error:
                if error.status != 410:  # 410 Gone: history compacted, list again
                    self._record_error(f"watch failed: {error.status} {error.reason}")
                    self._stopping.wait(1.0)
                resource_version = None
            except Exception:
                self._record_error("watch failed:\n" + traceback.format_exc())
                self._stopping.wait(1.0)
                resource_version = None

    def _consider(self, pod: client.V1Pod) -> None:
        meta, status = pod.metadata, pod.status
        if meta is None or meta.uid is None or status is None:
            return
        if meta.deletion_timestamp is not None or status.phase != "Running":
            return
        if (meta.annotations or {}).get(HARNESS_DONE_ANNOTATION) == "true":
            return
        with self._lock:
            if meta.uid in self._claimed:
                return
            self._claimed.add(meta.uid)
        self._executor.submit(self._handle, pod)

    # ----------------------------------------------------------------- one pod

    def _handle(self, pod: client.V1Pod) -> None:
        namespace, name, uid = _identity(pod)
        outcome = self._call_run(pod)
        try:
            self._publish(pod, outcome)
        except Exception:
            if self._pod_gone(namespace, name, uid):
                # Deleted while it ran (e.g. its Job was deleted): a kubelet would drop it too.
                logger.info("pod %s/%s went away before its outcome was published", namespace, name)
                return
            self._record_error(f"publishing {namespace}/{name} failed:\n{traceback.format_exc()}")
            return
        with self._lock:
            self.handled.append(HandledPod(namespace, name, uid, outcome))

    def _call_run(self, pod: client.V1Pod) -> RunOutcome:
        try:
            result = self._run(pod)
            if inspect.isawaitable(result):
                result = asyncio.run(_await(result))
        except Exception as error:
            namespace, name, _ = _identity(pod)
            text = traceback.format_exc()
            self._record_error(f"run({namespace}/{name}) raised:\n{text}")
            return RunOutcome(log=text, exit_code=1, reason="Error", message=repr(error))
        if isinstance(result, str):
            return RunOutcome(log=result)
        return result

    def _publish(self, pod: client.V1Pod, outcome: RunOutcome) -> None:
        namespace, name, uid = _identity(pod)
        log_file = self._log_dir / f"{namespace}_{name}_{uid}.log"
        log_file.write_text(_cri_log(outcome.log))
        self._create_logs_object(namespace, name, uid, log_file)
        expected = _as_served(outcome.log)
        container = pod.spec.containers[0].name if pod.spec else None

        def served() -> bool:
            text = self._core.read_namespaced_pod_log(name, namespace, container=container)
            return text == expected

        wait_until(f"log of {namespace}/{name} served", served, LOG_SERVED_TIMEOUT_SECONDS)
        self._core.patch_namespaced_pod(
            name,
            namespace,
            {
                "metadata": {
                    "annotations": {
                        HARNESS_DONE_ANNOTATION: "true",
                        HARNESS_EXIT_CODE_ANNOTATION: str(int(outcome.exit_code)),
                        HARNESS_REASON_ANNOTATION: outcome.effective_reason,
                        HARNESS_MESSAGE_ANNOTATION: outcome.message[:MESSAGE_LIMIT],
                    }
                },
            },
        )

    def _pod_gone(self, namespace: str, name: str, uid: str) -> bool:
        try:
            current = self._core.read_namespaced_pod(name, namespace)
        except client.ApiException as error:
            return bool(error.status == 404)
        meta = current.metadata
        return meta is None or meta.uid != uid or meta.deletion_timestamp is not None

    def _create_logs_object(self, namespace: str, name: str, uid: str, log_file: Path) -> None:
        group, version = KWOK_API_VERSION.split("/")
        spec = {"logs": [{"logsFile": str(log_file)}]}
        body = {
            "apiVersion": KWOK_API_VERSION,
            "kind": "Logs",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": name, "uid": uid}],
            },
            "spec": spec,
        }
        try:
            self._custom.create_namespaced_custom_object(group, version, namespace, "logs", body)
        except client.ApiException as error:
            if error.status != 409:
                raise
            # A pod of the same name existed before; point its Logs at the new file.
            self._custom.patch_namespaced_custom_object(
                group, version, namespace, "logs", name, {"spec": spec}
            )

    def _record_error(self, text: str) -> None:
        logger.error("%s", text)
        with self._lock:
            self.errors.append(text)


def _identity(pod: client.V1Pod) -> tuple[str, str, str]:
    meta = pod.metadata
    if meta is None or not (meta.namespace and meta.name and meta.uid):
        raise ValueError("pod without namespace, name or uid")
    return meta.namespace, meta.name, meta.uid


def _watch_pods(
    call: Callable[..., Any],
    args: tuple[str, ...],
    selector: str,
    resource_version: str | None,
    stopping: threading.Event,
) -> Iterator[client.V1Pod]:
    """One watch request (ends after WATCH_TIMEOUT_SECONDS); raises ApiException on ERROR."""
    stream = watch.Watch()  # type: ignore[no-untyped-call]
    events = stream.stream(  # type: ignore[no-untyped-call]
        call,
        *args,
        label_selector=selector,
        resource_version=resource_version,
        timeout_seconds=WATCH_TIMEOUT_SECONDS,
    )
    for event in events:
        obj = event["object"]
        if isinstance(obj, client.V1Pod):
            yield obj
        if stopping.is_set():
            stream.stop()  # type: ignore[no-untyped-call]
            return


async def _await(awaitable: Awaitable[RunResult]) -> RunResult:
    return await awaitable


def _lines(text: str) -> list[str]:
    return text.splitlines()


def _cri_log(text: str) -> str:
    """``text`` in the CRI container log format: ``<RFC3339Nano> stdout F <line>``."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return "".join(f"{stamp} stdout F {line}\n" for line in _lines(text))


def _as_served(text: str) -> str:
    """What the log API returns for ``text``: every line newline-terminated."""
    return "".join(f"{line}\n" for line in _lines(text))
