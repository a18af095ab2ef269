"""Kubeconfig files for the test control plane (one cluster, one user, one context each)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .pki import CertPair

CLUSTER_NAME = "mge-test"


def write_kubeconfig(
    path: Path,
    server: str,
    ca_cert: Path,
    user: str,
    client: CertPair | None = None,
    token: str | None = None,
) -> Path:
    """Write a kubeconfig authenticating with a client certificate or a bearer token."""
    if (client is None) == (token is None):
        raise ValueError("give exactly one of client (certificate) or token")
    credentials: dict[str, Any]
    if client is not None:
        credentials = {
            "client-certificate": str(client.cert),
            "client-key": str(client.key),
        }
    else:
        credentials = {"token": token}
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CLUSTER_NAME,
                "cluster": {"server": server, "certificate-authority": str(ca_cert)},
            }
        ],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": user, "context": {"cluster": CLUSTER_NAME, "user": user}}],
        "current-context": user,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)
    return path
