"""The ONE module that talks to the Kubernetes API (besides kopf's own machinery).

A thin async face over the official ``kubernetes`` client: its calls are blocking, so each runs
in a worker thread (``asyncio.to_thread``). Objects go in and come out as plain dicts (what
kopf hands to handlers too), so the pure modules never see client classes.

``create_or_get`` is the idempotent create every child uses: AlreadyExists (409) means "read
what is there and carry on" — that is how a restarted operator finds the Jobs it made before.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kubernetes import client, config
from pydantic import SecretStr

from mge.models.project import API_GROUP, API_VERSION

T = TypeVar("T")

CONFLICT = 409
NOT_FOUND = 404

PLURALS = {"Project": "projects", "AtomReview": "atomreviews"}


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


def is_status(error: BaseException, code: int) -> bool:
    """True when ``error`` is an API error with HTTP status ``code``."""
    return isinstance(error, client.ApiException) and error.status == code


class KubeClient:
    """Async CRUD on the kinds the operator touches, dicts in and out."""

    def __init__(self, api: client.ApiClient, counter: CallCounter | None = None) -> None:
        self.api = api
        self.counter = counter or CallCounter()
        # Typed as Any: the generated client wants its model classes; we pass plain dicts.
        self._core: Any = client.CoreV1Api(api)
        self._batch: Any = client.BatchV1Api(api)
        self._net: Any = client.NetworkingV1Api(api)
        self._custom: Any = client.CustomObjectsApi(api)

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

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
        try:
            made = await self._call(self._create_fn(kind, namespace, body))
            return self._plain(made), True
        except client.ApiException as error:
            if error.status != CONFLICT:
                raise
        existing = await self.get(kind, namespace, name)
        if existing is None:  # deleted between our create and read: try once more
            made = await self._call(self._create_fn(kind, namespace, body))
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
            return self._plain(await self._call(fns[kind]))
        except client.ApiException as error:
            if error.status == NOT_FOUND:
                return None
            raise

    async def secret_value(self, namespace: str, name: str, key: str) -> SecretStr | None:
        """One key of a Secret, decoded, as a SecretStr (never logged); None when absent."""
        try:
            secret = await self._call(lambda: self._core.read_namespaced_secret(name, namespace))
        except client.ApiException as error:
            if error.status == NOT_FOUND:
                return None
            raise
        raw = (secret.data or {}).get(key)
        if raw is None:
            return None
        return SecretStr(base64.b64decode(raw).decode().strip())

    async def list(self, kind: str, namespace: str, selector: str) -> list[dict[str, Any]]:
        """Objects of ``kind`` in ``namespace`` matching the label ``selector``."""
        out: Any
        if kind == "Pod":
            out = await self._call(
                self._core.list_namespaced_pod, namespace, label_selector=selector
            )
        elif kind == "Job":
            out = await self._call(
                self._batch.list_namespaced_job, namespace, label_selector=selector
            )
        elif kind in PLURALS:
            out = await self._call(
                self._custom.list_namespaced_custom_object,
                API_GROUP,
                API_VERSION,
                namespace,
                PLURALS[kind],
                label_selector=selector,
            )
        else:
            raise ValueError(f"kind {kind} is not listed by KubeClient")
        items: list[dict[str, Any]] = self._plain(out).get("items", [])
        return items

    async def pod_log(self, namespace: str, name: str, limit_bytes: int) -> str:
        """The pod's log, at most ``limit_bytes`` bytes (the API server cuts the rest)."""
        text = await self._call(
            self._core.read_namespaced_pod_log, name, namespace, limit_bytes=limit_bytes
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
        )
        return self._plain(out)

    async def patch(
        self, kind: str, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge-patch a custom object (metadata or spec)."""
        self.counter.add("patch", kind)
        out = await self._call(
            self._custom.patch_namespaced_custom_object,
            API_GROUP,
            API_VERSION,
            namespace,
            PLURALS[kind],
            name,
            patch,
        )
        return self._plain(out)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._call(self.api.close)
