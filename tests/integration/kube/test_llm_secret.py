"""spec.llm.secretRef: the operator reads the LLM key from the Project's namespace, for real.

The key comes from a Secret in the real API server; it reaches the provider and nothing else
(no sandbox pod ever sees it). A missing Secret fails with a message naming Secret, key and fix.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes import client
from tests.integration.controlplane import ControlPlane

from mge.errors import InputError
from mge.kube.client import KubeClient
from mge.kube.stages import StageRunner
from mge.models.project import ProjectSpec
from mge.store import Store

pytestmark = [pytest.mark.kube]

KEY_VALUE = "sk-ant-test-0123456789"


def anthropic_spec(secret: str) -> ProjectSpec:
    return ProjectSpec.model_validate(
        {
            "requirements": "A tiny library.",
            "llm": {
                "provider": "anthropic",
                "baseURL": "http://127.0.0.1:9",
                "secretRef": {"name": secret, "key": "api-key"},
            },
        }
    )


async def test_secret_ref_key_reaches_the_provider_and_a_missing_one_is_named(
    control_plane: ControlPlane,
    api: client.ApiClient,
    make_namespace: Callable[..., str],
    tmp_path: Path,
) -> None:
    namespace = make_namespace()
    client.CoreV1Api(api).create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="llm-key"),
            data={"api-key": base64.b64encode(KEY_VALUE.encode()).decode()},
        ),
    )
    store = await Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    kube = KubeClient(api)
    try:
        stages = StageRunner(store, kube=kube)
        await store.upsert_project(f"{namespace}/good", anthropic_spec("llm-key"), 1)
        ctx = await stages.context(f"{namespace}/good")
        provider = ctx.llm.provider
        assert provider.name == "anthropic"
        assert provider._api_key.get_secret_value() == KEY_VALUE  # type: ignore[attr-defined]
        assert KEY_VALUE not in repr(provider)

        await store.upsert_project(f"{namespace}/bad", anthropic_spec("no-such-secret"), 1)
        with pytest.raises(InputError) as err:
            await stages.context(f"{namespace}/bad")
        message = str(err.value)
        assert "'no-such-secret'" in message and "'api-key'" in message
        assert "kubectl create secret generic no-such-secret" in message
    finally:
        await store.close()
