"""A real Kubernetes control plane for tests and benchmarks, built from Go modules.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the real binaries (built by
``hack/k8s-bins/build.sh``); kwok plays the node and the kubelet's status updates; PodHarness
plays the container runtime for pods labelled ``mge.dev/sandbox=true``. See
docs/control-plane.md.

From a script (repository root on ``sys.path``)::

    from tests.integration.controlplane import ControlPlane, find_binaries

    with ControlPlane(find_binaries()) as cp, cp.connect() as api:
        ...
"""

from .binaries import Binaries, BinariesError, build_binaries, find_binaries
from .control_plane import NODE_NAME, ControlPlane, Ports
from .harness import HandledPod, PodHarness, PodRunner, RunOutcome
from .kwok_config import (
    HARNESS_DONE_ANNOTATION,
    HARNESS_EXIT_CODE_ANNOTATION,
    HARNESS_MESSAGE_ANNOTATION,
    HARNESS_REASON_ANNOTATION,
    SANDBOX_LABEL,
)
from .pki import CertPair, Pki, PkiError
from .processes import ProcessError

__all__ = [
    "HARNESS_DONE_ANNOTATION",
    "HARNESS_EXIT_CODE_ANNOTATION",
    "HARNESS_MESSAGE_ANNOTATION",
    "HARNESS_REASON_ANNOTATION",
    "NODE_NAME",
    "SANDBOX_LABEL",
    "Binaries",
    "BinariesError",
    "CertPair",
    "ControlPlane",
    "HandledPod",
    "Pki",
    "PkiError",
    "PodHarness",
    "PodRunner",
    "Ports",
    "ProcessError",
    "RunOutcome",
    "build_binaries",
    "find_binaries",
]
