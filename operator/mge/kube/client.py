"""The ONE module that talks to the Kubernetes API (besides kopf's own machinery).

A thin async face over the official ``kubernetes`` client: its calls are blocking, so each runs
in a worker thread (``asyncio.to_thread``). Objects go in and come out as plain dicts (what
kopf hands to handlers too), so the pure modules never see client classes.

``create_or_get`` is the idempotent create every child uses: AlreadyExists (409) means "read
what is there and carry on" — that is how a restarted operator finds the Jobs it made before.

API failures are sorted here, once (:func:`classify`): transient ones — 5xx, 429 (honouring
``Retry-After``), 409 Conflict on an update, a dropped connection, a timeout — are retried in
place with backoff (:class:`RetryPolicy`); if they outlast it they raise
:class:`~mge.errors.KubeUnavailable`, which the worker retries with a longer backoff. Anything else
(403, 422, …) raises :class:`~mge.errors.KubeAPIError` with a CamelCase ``reason`` for the
Project's condition. 404 (and AlreadyExists on create) are answers, not errors: callers handle them.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import functools
import json
import logging
import math
from collections.abc import Callable, Collection
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config, watch
from pydantic import SecretStr

from mge.errors import KubeAPIError, KubeUnavailable
from mge.models.project import API_GROUP, API_VERSION

log = logging.getLogger("mge.operator.kube")

T = TypeVar("T")

CONFLICT = 409
NOT_FOUND = 404
GONE = 410
"""A watch's resourceVersion is older than the server keeps: list again, watch from there."""
WATCH_THREADS = 64
"""Threads for open watches: each blocks one while it waits (apart from the shared pool)."""
WATCH_READ_SLACK_SECONDS = 10.0
"""Client-side read timeout beyond a watch's server-side timeout: a connection that neither
delivers nor closes is given up, so a lost watch cannot hang its waiter."""

PLURALS = {"Project": "projects", "AtomReview": "atomreviews"}

TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
"""HTTP statuses worth retrying as they are (409 Conflict too, on an update)."""
REASONS = {
    401: "KubernetesUnauthorized",
    403: "KubernetesForbidden",
    404: "KubernetesNotFound",
    409: "KubernetesConflict",
    422: "KubernetesInvalid",
    429: "KubernetesThrottled",
}
"""CamelCase condition reasons by HTTP status; other 5xx → KubernetesUnavailable."""
UNREACHABLE = "KubernetesUnreachable"
"""Reason when no HTTP answer came back (connection refused or dropped, timeout)."""
MESSAGE_LIMIT = 300
"""Characters of the API server's message kept in an error (conditions are short)."""


def classify(status: int, *, conflict_is_transient: bool = True) -> tuple[bool, str]:
    """(transient, reason) of an API failure with HTTP ``status`` (0: no response). Pure."""
    if status == 0:
        return True, UNREACHABLE
    transient = status in TRANSIENT_STATUSES or (status == CONFLICT and conflict_is_transient)
    reason = REASONS.get(status) or (
        "KubernetesUnavailable" if status >= 500 else "KubernetesAPIError"
    )
    return transient, reason


@dataclass(frozen=True)
class RetryPolicy:
    """Quick in-place retries of one API call (the worker retries longer outages)."""

    attempts: int = 5
    """Tries per call, the first included."""
    base_seconds: float = 0.25
    """Pause after the first failure (seconds); doubles after each further one."""
    max_seconds: float = 4.0
    """Longest pause between two tries (seconds); also caps a server's Retry-After."""

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based). Pure."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_seconds)
        return min(self.base_seconds * 2.0 ** (attempt - 1), self.max_seconds)


def _api_message(error: client.ApiException) -> str:
    """The API server's own message (from its Status body), else the HTTP reason."""
    text = ""
    try:
        body = json.loads(error.body or "{}")
        text = str(body.get("message") or "") if isinstance(body, dict) else ""
    except (TypeError, ValueError):
        text = ""
    return (text or str(error.reason or "")).strip()[:MESSAGE_LIMIT]


def _retry_after(error: client.ApiException) -> float | None:
    headers: Any = error.headers or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def api_error(what: str, error: BaseException, *, conflict_is_transient: bool) -> KubeAPIError:
    """The MGE error for a failed API call ``what`` (``create Job ns/name``)."""
    if isinstance(error, client.ApiException):
        status = int(error.status or 0)
        transient, reason = classify(status, conflict_is_transient=conflict_is_transient)
        message = f"{what}: HTTP {status} {reason}: {_api_message(error)}"
    else:
        status, transient, reason = 0, True, UNREACHABLE
        message = f"{what}: {reason}: {type(error).__name__}: {str(error)[:MESSAGE_LIMIT]}"
    kind = KubeUnavailable if transient else KubeAPIError
    return kind(message, status=status, reason=reason)


@dataclass
class CallCounter:
    """Counts API writes by verb and kind (tests read it to prove "no duplicate Jobs")."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, verb: str, kind: str) -> None:
        """Count one call."""
        key = f"{verb}:{kind}"
        self.counts[key] = self.counts.get(key, 0) + 1

    def get(self, verb: str, kind: str) -> int:
        """How many calls of ``verb`` on ``kind`` were made."""
        return self.counts.get(f"{verb}:{kind}", 0)


def load_api_client(kubeconfig: str | None = None) -> client.ApiClient:
    """An ApiClient from ``kubeconfig``, else in-cluster config, else ~/.kube/config."""
    loader: Any = config.new_client_from_config
    if kubeconfig:
        made: client.ApiClient = loader(config_file=kubeconfig)
        return made
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
        return client.ApiClient()
    except config.ConfigException:
        fallback: client.ApiClient = loader()
        return fallback


@dataclass(frozen=True)
class ApiServer:
    """Where the API server is and how to trust it, and nothing else: no credentials. The
    review interface calls it with each person's own bearer token (:func:`user_api_client`)."""

    url: str
    """``https://host:port`` of the API server."""
    ca_file: str | None = None
    """PEM file of the CA that signed its serving certificate (None: the system's CAs)."""

    @classmethod
    def from_kubeconfig(cls, path: str) -> ApiServer:
        """The current context's server and CA from a kubeconfig; its credentials are ignored."""
        made = client.Configuration()
        loader: Any = config.load_kube_config
        loader(config_file=path, client_configuration=made)
        return cls(made.host, made.ssl_ca_cert or None)


def user_api_client(server: ApiServer, token: str) -> client.ApiClient:
    """An ApiClient that authenticates as the holder of ``token`` (a bearer token) only."""
    made = client.Configuration()
    made.host = server.url
    made.ssl_ca_cert = server.ca_file
    made.verify_ssl = True
    made.api_key = {"authorization": token}
    made.api_key_prefix = {"authorization": "Bearer"}
    return client.ApiClient(made)


@dataclass(frozen=True)
class WatchEnd:
    """How one watch request ended: the event that ended it, or why there was none."""

    event: str | None = None
    """ADDED, MODIFIED or DELETED: the event ``until`` accepted (None: none did)."""
    object: dict[str, Any] | None = None
    """That event's object."""
    gone: bool = False
    """410 Gone: the resourceVersion is too old; list again and watch from the new one."""
    dropped: str = ""
    """Why the connection broke (empty: it did not); list again."""

    @property
    def ended_by(self) -> str:
        """One word for counting: event, gone, dropped or timeout."""
        if self.object is not None:
            return "event"
        return "gone" if self.gone else "dropped" if self.dropped else "timeout"


def watch_failure(error: BaseException) -> WatchEnd:
    """How a watch that raised ``error`` ended: 410 is ``gone``, anything else ``dropped``."""
    if isinstance(error, client.ApiException):
        if error.status == GONE:
            return WatchEnd(gone=True)
        return WatchEnd(dropped=f"{error.status} {error.reason}")
    return WatchEnd(dropped=f"{type(error).__name__}: {error}"[:MESSAGE_LIMIT])


def is_status(error: BaseException, code: int) -> bool:
    """True when ``error`` is an API error with HTTP status ``code``."""
    return isinstance(error, client.ApiException) and error.status == code


class KubeClient:
    """Async CRUD on the kinds the operator touches, dicts in and out."""

    def __init__(
        self,
        api: client.ApiClient,
        counter: CallCounter | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.api = api
        self.counter = counter or CallCounter()
        self.retry = retry or RetryPolicy()
        # Typed as Any: the generated client wants its model classes; we pass plain dicts.
        self._core: Any = client.CoreV1Api(api)
        self._batch: Any = client.BatchV1Api(api)
        self._net: Any = client.NetworkingV1Api(api)
        self._custom: Any = client.CustomObjectsApi(api)
        self._coordination: Any = client.CoordinationV1Api(api)
        self._watch_threads = ThreadPoolExecutor(
            max_workers=WATCH_THREADS, thread_name_prefix="mge-watch"
        )
        self._lease_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mge-lease")
        """Lease calls get a thread of their own: a renewal must not queue behind other API
        calls in the shared default pool, or a busy operator loses its Lease."""

    async def _call(
        self,
        fn: Callable[..., T],
        *args: Any,
        what: str = "Kubernetes API call",
        answers: Collection[int] = (NOT_FOUND,),
        conflict_is_transient: bool = True,
        executor: Executor | None = None,
        **kwargs: Any,
    ) -> T:
        """Run one blocking client call in a thread, retrying transient failures in place.

        Statuses in ``answers`` (404; 409 on create = AlreadyExists) are re-raised as the
        client's ApiException for the caller to handle; other failures become KubeAPIError or,
        once the retries are spent, KubeUnavailable. ``executor``: the threads to run it on
        (default: the loop's shared pool).
        """
        call = functools.partial(fn, *args, **kwargs)
        attempt = 0
        while True:
            attempt += 1
            try:
                if executor is None:
                    return await asyncio.to_thread(call)
                return await asyncio.get_running_loop().run_in_executor(executor, call)
            except client.ApiException as e:
                if e.status in answers:
                    raise
                error = api_error(what, e, conflict_is_transient=conflict_is_transient)
                retry_after = _retry_after(e)
                cause: BaseException = e
            except (urllib3.exceptions.HTTPError, OSError, TimeoutError) as e:
                error = api_error(what, e, conflict_is_transient=conflict_is_transient)
                retry_after, cause = None, e
            if not isinstance(error, KubeUnavailable) or attempt >= self.retry.attempts:
                raise error from cause
            pause = self.retry.delay(attempt, retry_after)
            log.warning("%s; retry %d in %.2f s", error, attempt, pause)
            await asyncio.sleep(pause)

    def _plain(self, obj: Any) -> dict[str, Any]:
        if isinstance(obj, dict):
            return obj
        sanitize: Any = self.api.sanitize_for_serialization
        plain: dict[str, Any] = sanitize(obj)
        return plain

    # ------------------------------------------------------------------ create / read

    def _create_fn(self, kind: str, namespace: str, body: dict[str, Any]) -> Callable[[], Any]:
        if kind == "ConfigMap":
            return lambda: self._core.create_namespaced_config_map(namespace, body)
        if kind == "Job":
            return lambda: self._batch.create_namespaced_job(namespace, body)
        if kind == "NetworkPolicy":
            return lambda: self._net.create_namespaced_network_policy(namespace, body)
        if kind in PLURALS:
            return lambda: self._custom.create_namespaced_custom_object(
                API_GROUP, API_VERSION, namespace, PLURALS[kind], body
            )
        raise ValueError(f"kind {kind} is not handled by KubeClient")

    async def create_or_get(self, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create ``body``; on AlreadyExists read the existing object. Returns (object, created)."""
        kind = body["kind"]
        namespace = body["metadata"]["namespace"]
        name = body["metadata"]["name"]
        self.counter.add("create", kind)
        what = f"create {kind} {namespace}/{name}"
        try:
            made = await self._call(
                self._create_fn(kind, namespace, body), what=what, answers=(CONFLICT,)
            )
            return self._plain(made), True
        except client.ApiException as error:
            if error.status != CONFLICT:
                raise
        existing = await self.get(kind, namespace, name)
        if existing is None:  # deleted between our create and read: try once more
            made = await self._call(self._create_fn(kind, namespace, body), what=what, answers=())
            return self._plain(made), True
        return existing, False

    async def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        fns: dict[str, Callable[[], Any]] = {
            "ConfigMap": lambda: self._core.read_namespaced_config_map(name, namespace),
            "Job": lambda: self._batch.read_namespaced_job(name, namespace),
            "Pod": lambda: self._core.read_namespaced_pod(name, namespace),
            "NetworkPolicy": lambda: self._net.read_namespaced_network_policy(name, namespace),
        }
        if kind in PLURALS:
            fns[kind] = lambda: self._custom.get_namespaced_custom_object(
                API_GROUP, API_VERSION, namespace, PLURALS[kind], name
            )
        try:
            return self._plain(await self._call(fns[kind], what=f"get {kind} {namespace}/{name}"))
        except client.ApiException as error:
            if error.status == NOT_FOUND:
                return None
            raise

    async def secret_value(self, namespace: str, name: str, key: str) -> SecretStr | None:
        """One key of a Secret, decoded, as a SecretStr (never logged); None when absent."""
        data = await self.secret_data(namespace, name)
        return None if data is None else data.get(key)

    async def secret_data(self, namespace: str, name: str) -> dict[str, SecretStr] | None:
        """Every key of a Secret, decoded, as SecretStr (never logged); None when absent."""
        try:
            secret = await self._call(
                lambda: self._core.read_namespaced_secret(name, namespace),
                what=f"get Secret {namespace}/{name}",
            )
        except client.ApiException as error:
            if error.status == NOT_FOUND:
                return None
            raise
        return {
            k: SecretStr(base64.b64decode(v).decode().strip())
            for k, v in (secret.data or {}).items()
        }

    async def list(self, kind: str, namespace: str, selector: str) -> list[dict[str, Any]]:
        """Objects of ``kind`` in ``namespace`` matching the label ``selector``."""
        out: Any
        how: dict[str, Any] = {"what": f"list {kind} in {namespace}", "answers": ()}
        if kind == "Pod":
            out = await self._call(
                self._core.list_namespaced_pod, namespace, label_selector=selector, **how
            )
        elif kind == "Job":
            out = await self._call(
                self._batch.list_namespaced_job, namespace, label_selector=selector, **how
            )
        elif kind in PLURALS:
            out = await self._call(
                self._custom.list_namespaced_custom_object,
                API_GROUP,
                API_VERSION,
                namespace,
                PLURALS[kind],
                label_selector=selector,
                **how,
            )
        else:
            raise ValueError(f"kind {kind} is not listed by KubeClient")
        items: list[dict[str, Any]] = self._plain(out).get("items", [])
        return items

    async def watch_job(
        self,
        namespace: str,
        name: str,
        resource_version: str,
        timeout_seconds: float,
        until: Callable[[str, dict[str, Any]], bool],
    ) -> WatchEnd:
        """Watch one Job from ``resource_version`` until ``until(event type, job)`` is true or
        ``timeout_seconds`` pass (the server ends the watch; at least 1 s).

        Never raises for the watch's own failures: a 410 Gone or a broken connection come back
        as :class:`WatchEnd` (``gone`` / ``dropped``) for the caller to list again; the server
        ending the watch early looks like a timeout. Runs on threads of its own (a watch holds
        one while it waits), so open watches never queue the other API calls.
        """
        self.counter.add("watch", "Job")
        return await self._watch(
            self._batch.list_namespaced_job,
            namespace,
            {"field_selector": f"metadata.name={name}", "resource_version": resource_version},
            timeout_seconds,
            until,
        )

    async def watch_pods(
        self,
        namespace: str,
        selector: str,
        timeout_seconds: float,
        until: Callable[[str, dict[str, Any]], bool],
    ) -> WatchEnd:
        """Watch the Pods matching the label ``selector``, as :meth:`watch_job` watches a Job.

        The watch starts from the current state (no resourceVersion): each Pod that exists
        comes first as an ADDED event with its state now, so nothing that happened before the
        call is missed and every call sees the Pods afresh.
        """
        self.counter.add("watch", "Pod")
        return await self._watch(
            self._core.list_namespaced_pod,
            namespace,
            {"label_selector": selector},
            timeout_seconds,
            until,
        )

    async def _watch(
        self,
        list_call: Callable[..., Any],
        namespace: str,
        query: dict[str, str],
        timeout_seconds: float,
        until: Callable[[str, dict[str, Any]], bool],
    ) -> WatchEnd:
        seconds = max(1, math.ceil(timeout_seconds))

        def run() -> WatchEnd:
            stream = watch.Watch()  # type: ignore[no-untyped-call]
            try:
                for event in stream.stream(  # type: ignore[no-untyped-call]
                    list_call,
                    namespace,
                    **query,
                    timeout_seconds=seconds,
                    _request_timeout=seconds + WATCH_READ_SLACK_SECONDS,
                ):
                    obj = self._plain(event["object"])
                    if until(str(event["type"]), obj):
                        return WatchEnd(event=str(event["type"]), object=obj)
                return WatchEnd()
            except (
                client.ApiException,
                urllib3.exceptions.HTTPError,
                OSError,
                TimeoutError,
                ValueError,
            ) as error:
                return watch_failure(error)
            finally:
                stream.stop()  # type: ignore[no-untyped-call]

        return await asyncio.get_running_loop().run_in_executor(self._watch_threads, run)

    async def pod_log(self, namespace: str, name: str, limit_bytes: int) -> str:
        """The pod's log, at most ``limit_bytes`` bytes (the API server cuts the rest)."""
        text = await self._call(
            self._core.read_namespaced_pod_log,
            name,
            namespace,
            limit_bytes=limit_bytes,
            what=f"read the log of Pod {namespace}/{name}",
            answers=(),
        )
        return str(text)

    # ------------------------------------------------------------------ updates

    async def patch_status(
        self, kind: str, namespace: str, name: str, status: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge-patch the status subresource of a custom object."""
        self.counter.add("patch-status", kind)
        out = await self._call(
            self._custom.patch_namespaced_custom_object_status,
            API_GROUP,
            API_VERSION,
            namespace,
            PLURALS[kind],
            name,
            {"status": status},
            what=f"patch the status of {kind} {namespace}/{name}",
            answers=(),
        )
        return self._plain(out)

    async def patch(
        self,
        kind: str,
        namespace: str,
        name: str,
        patch: dict[str, Any],
        *,
        conflict_is_transient: bool = True,
    ) -> dict[str, Any]:
        """Merge-patch a custom object (metadata or spec). A patch carrying
        ``metadata.resourceVersion`` is a precondition: pass ``conflict_is_transient=False``
        so a 409 (someone else changed it) is reported at once, not retried."""
        self.counter.add("patch", kind)
        out = await self._call(
            self._custom.patch_namespaced_custom_object,
            API_GROUP,
            API_VERSION,
            namespace,
            PLURALS[kind],
            name,
            patch,
            what=f"patch {kind} {namespace}/{name}",
            answers=(),
            conflict_is_transient=conflict_is_transient,
        )
        return self._plain(out)

    # ------------------------------------------------------------------ as a person

    async def list_custom(
        self, kind: str, namespace: str | None, selector: str = ""
    ) -> builtins.list[dict[str, Any]]:
        """Custom objects of ``kind`` in ``namespace``, or in every namespace (None)."""
        how: dict[str, Any] = {"label_selector": selector, "answers": ()}
        if namespace is None:
            out = await self._call(
                self._custom.list_cluster_custom_object,
                API_GROUP,
                API_VERSION,
                PLURALS[kind],
                what=f"list {kind} in all namespaces",
                **how,
            )
        else:
            out = await self._call(
                self._custom.list_namespaced_custom_object,
                API_GROUP,
                API_VERSION,
                namespace,
                PLURALS[kind],
                what=f"list {kind} in {namespace}",
                **how,
            )
        found: builtins.list[dict[str, Any]] = self._plain(out).get("items", [])
        return found

    async def whoami(self) -> str:
        """The user name the API server authenticates this client's credentials as
        (SelfSubjectReview, authentication.k8s.io/v1)."""
        auth: Any = client.AuthenticationV1Api(self.api)
        out = await self._call(
            auth.create_self_subject_review,
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
            what="SelfSubjectReview",
            answers=(),
        )
        user = ((self._plain(out).get("status") or {}).get("userInfo") or {}).get("username")
        if not user:
            raise KubeAPIError("SelfSubjectReview named no user", status=0)
        return str(user)

    async def may(self, verb: str, kind: str, namespace: str | None) -> bool:
        """Whether this client's user may ``verb`` objects of ``kind`` in ``namespace``
        (SelfSubjectAccessReview, authorization.k8s.io/v1)."""
        authz: Any = client.AuthorizationV1Api(self.api)
        attributes: dict[str, Any] = {"group": API_GROUP, "resource": PLURALS[kind], "verb": verb}
        if namespace is not None:
            attributes["namespace"] = namespace
        out = await self._call(
            authz.create_self_subject_access_review,
            {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attributes},
            },
            what=f"SelfSubjectAccessReview {verb} {kind}",
            answers=(),
        )
        return bool((self._plain(out).get("status") or {}).get("allowed"))

    # ------------------------------------------------------------------ leader election

    async def get_lease(
        self, namespace: str, name: str, *, request_seconds: float
    ) -> dict[str, Any] | None:
        """The Lease, or None when there is none (``request_seconds``: HTTP timeout)."""
        try:
            out = await self._call(
                self._coordination.read_namespaced_lease,
                name,
                namespace,
                _request_timeout=request_seconds,
                what=f"get Lease {namespace}/{name}",
                executor=self._lease_thread,
            )
        except client.ApiException as error:
            if error.status == NOT_FOUND:
                return None
            raise
        return self._plain(out)

    async def write_lease(
        self, body: dict[str, Any], *, request_seconds: float
    ) -> dict[str, Any] | None:
        """Create ``body`` (no resourceVersion) or replace the Lease at the resourceVersion it
        carries. None when another replica got there first (AlreadyExists, 409 Conflict, or the
        Lease is gone): the caller reads it again rather than retrying blindly."""
        namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
        replace = "resourceVersion" in body["metadata"]
        verb = "update" if replace else "create"
        self.counter.add(verb, "Lease")
        fn: Callable[..., Any]
        args: tuple[Any, ...]
        if replace:
            fn, args = self._coordination.replace_namespaced_lease, (name, namespace, body)
        else:
            fn, args = self._coordination.create_namespaced_lease, (namespace, body)
        try:
            out = await self._call(
                fn,
                *args,
                _request_timeout=request_seconds,
                what=f"{verb} Lease {namespace}/{name}",
                answers=(CONFLICT, NOT_FOUND),
                executor=self._lease_thread,
            )
        except client.ApiException as error:
            if error.status in (CONFLICT, NOT_FOUND):
                return None
            raise
        return self._plain(out)

    async def close(self) -> None:
        """Close the connection pool."""
        self._watch_threads.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self.api.close)
