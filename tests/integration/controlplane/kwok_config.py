"""kwok's configuration: the Stages that play the node and the pods on it.

kwok (sigs.k8s.io/kwok) plays kubelets: it patches Node and Pod status according to Stages, each
a selector over the object plus the status to write next (a Go template). Stage format: the
``kwok.x-k8s.io/v1alpha1`` Stage type of kwok v0.8.0 (``pkg/apis/v1alpha1/stage_types.go``).
Selector keys are jq paths; ``NotIn``/``DoesNotExist`` match when the path is absent.

Pod lifecycle played here:

- ``pod-ready``: a pod bound to the kwok node goes Running with every container started.
- ``pod-complete``: a Running pod owned by a Job, *without* the sandbox label, succeeds at once.
- ``pod-harness-succeeded`` / ``pod-harness-failed``: a Running pod *with* the sandbox label
  waits until the harness (our kubelet stand-in, see harness.py) has run it and annotated it
  ``mge.dev/harness-done=true`` plus an exit code and a reason; then it ends Succeeded, or
  Failed with that exit code and reason (e.g. 137/OOMKilled) on every container.
- ``pod-delete``: a pod marked for deletion is removed (what a kubelet does after stopping it).

Node lifecycle: ``node-initialize`` makes the node Ready with an InternalIP and the kwok server
port as its kubelet endpoint (the apiserver fetches pod logs there); ``node-heartbeat`` renews
the conditions so the node lifecycle controller keeps it Ready.
"""

from __future__ import annotations

from typing import Any

import yaml

SANDBOX_LABEL = "mge.dev/sandbox"
"""Pods with this label set to "true" are run by the harness, not completed by a Stage."""

HARNESS_DONE_ANNOTATION = "mge.dev/harness-done"
"""Set to "true" by the harness once the pod's output is served as its log."""

HARNESS_EXIT_CODE_ANNOTATION = "mge.dev/harness-exit-code"
"""The exit code every container of the pod reports ("0" = Succeeded)."""

HARNESS_REASON_ANNOTATION = "mge.dev/harness-reason"
"""The terminated reason every container reports, e.g. Completed, Error, OOMKilled."""

HARNESS_MESSAGE_ANNOTATION = "mge.dev/harness-message"
"""The terminated message every container reports (may be empty)."""

KWOK_API_VERSION = "kwok.x-k8s.io/v1alpha1"

NODE_HEARTBEAT_MILLISECONDS = 10_000
"""Heartbeat period of the node conditions; well under the 40 s node-monitor grace period."""

_POD = {"apiGroup": "v1", "kind": "Pod"}
_NODE = {"apiGroup": "v1", "kind": "Node"}


def _expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    expression: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        expression["values"] = list(values)
    return expression


def _annotation(name: str) -> str:
    return f'.metadata.annotations["{name}"]'


_NOT_DELETING = _expr(".metadata.deletionTimestamp", "DoesNotExist")
_RUNNING = _expr(".status.phase", "In", "Running")


def _stage(
    name: str, ref: dict[str, str], selector: dict[str, Any], next_: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "apiVersion": KWOK_API_VERSION,
        "kind": "Stage",
        "metadata": {"name": name},
        "spec": {"resourceRef": ref, "selector": selector, "next": next_, **extra},
    }


_NODE_CONDITIONS = """\
conditions:
{{ range NodeConditions }}
- type: {{ .type | Quote }}
  status: {{ .status | Quote }}
  reason: {{ .reason | Quote }}
  message: {{ .message | Quote }}
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $since | Quote }}
{{ end }}
"""

_NODE_INITIALIZE = (
    """\
{{ $now := Now }}
{{ $since := or .metadata.creationTimestamp $now }}
"""
    + _NODE_CONDITIONS
    + """\
addresses:
- type: InternalIP
  address: {{ NodeIP | Quote }}
- type: Hostname
  address: {{ .metadata.name | Quote }}
daemonEndpoints:
  kubeletEndpoint:
    Port: {{ NodePort }}
capacity:
  cpu: "64"
  memory: 256Gi
  pods: "1000"
allocatable:
  cpu: "64"
  memory: 256Gi
  pods: "1000"
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  kubeletVersion: {{ printf "kwok-%s" Version | Quote }}
  kubeProxyVersion: {{ printf "kwok-%s" Version | Quote }}
  containerRuntimeVersion: {{ printf "kwok-%s" Version | Quote }}
  kernelVersion: {{ printf "kwok-%s" Version | Quote }}
  osImage: kwok
  machineID: ""
  systemUUID: ""
  bootID: ""
phase: Running
"""
)

_NODE_HEARTBEAT = (
    """\
{{ $now := Now }}
{{ $since := or .metadata.creationTimestamp $now }}
"""
    + _NODE_CONDITIONS
)

_POD_READY = """\
{{ $now := Now }}
phase: Running
startTime: {{ $now | Quote }}
conditions:
{{ range list "PodReadyToStartContainers" "Initialized" "ContainersReady" "Ready" }}
- type: {{ . | Quote }}
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: {{ printf "kwok://%s" .image | Quote }}
  containerID: {{ printf "kwok://%s" .name | Quote }}
  ready: true
  started: true
  restartCount: 0
  state:
    running:
      startedAt: {{ $now | Quote }}
{{ end }}
{{ with NodeIPWith .spec.nodeName }}
hostIP: {{ . | Quote }}
hostIPs:
- ip: {{ . | Quote }}
{{ end }}
{{ with PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) \
( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
podIP: {{ . | Quote }}
podIPs:
- ip: {{ . | Quote }}
{{ end }}
"""

_CONTAINER_TERMINATED = """\
{{ $now := Now }}
{{ $root := . }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: {{ printf "kwok://%s" .image | Quote }}
  containerID: {{ printf "kwok://%s" .name | Quote }}
  ready: false
  started: false
  restartCount: 0
  state:
    terminated:
      exitCode: EXIT_CODE
      reason: REASON
      message: MESSAGE
      startedAt: {{ or $root.status.startTime $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}
conditions:
{{ range list "Ready" "ContainersReady" }}
- type: {{ . | Quote }}
  status: "False"
  reason: PodCompleted
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
phase: PHASE
"""


def _terminated(phase: str, exit_code: str, reason: str, message: str) -> str:
    return (
        _CONTAINER_TERMINATED.replace("EXIT_CODE", exit_code)
        .replace("REASON", reason)
        .replace("MESSAGE", message)
        .replace("PHASE", phase)
    )


def _from_annotation(name: str, quote: bool) -> str:
    value = f'(index $root.metadata.annotations "{name}")'
    return f"{{{{ {value} | Quote }}}}" if quote else f"{{{{ {value} }}}}"


def stages() -> list[dict[str, Any]]:
    """All Stages, as Kubernetes-style objects."""
    sandbox_done: dict[str, Any] = {
        "matchLabels": {SANDBOX_LABEL: "true"},
        "matchAnnotations": {HARNESS_DONE_ANNOTATION: "true"},
    }
    return [
        _stage(
            "node-initialize",
            _NODE,
            {
                "matchExpressions": [
                    _expr(
                        '.status.conditions.[] | select(.type == "Ready") | .status',
                        "NotIn",
                        "True",
                    ),
                ]
            },
            {"statusTemplate": _NODE_INITIALIZE},
        ),
        _stage(
            "node-heartbeat",
            _NODE,
            {
                "matchExpressions": [
                    _expr(".status.phase", "In", "Running"),
                    _expr(
                        '.status.conditions.[] | select(.type == "Ready") | .status', "In", "True"
                    ),
                ]
            },
            {"statusTemplate": _NODE_HEARTBEAT},
            delay={"durationMilliseconds": NODE_HEARTBEAT_MILLISECONDS},
            immediateNextStage=True,
        ),
        _stage(
            "pod-ready",
            _POD,
            {"matchExpressions": [_NOT_DELETING, _expr(".status.phase", "In", "Pending")]},
            {"statusTemplate": _POD_READY},
        ),
        _stage(
            "pod-complete",
            _POD,
            {
                "matchExpressions": [
                    _NOT_DELETING,
                    _RUNNING,
                    _expr(".metadata.ownerReferences.[].kind", "In", "Job"),
                    _expr(f'.metadata.labels["{SANDBOX_LABEL}"]', "NotIn", "true"),
                ]
            },
            {"statusTemplate": _terminated("Succeeded", "0", "Completed", '""')},
        ),
        _stage(
            "pod-harness-succeeded",
            _POD,
            {
                **sandbox_done,
                "matchExpressions": [
                    _NOT_DELETING,
                    _RUNNING,
                    _expr(_annotation(HARNESS_EXIT_CODE_ANNOTATION), "In", "0"),
                ],
            },
            {
                "statusTemplate": _terminated(
                    "Succeeded",
                    "0",
                    "Completed",
                    _from_annotation(HARNESS_MESSAGE_ANNOTATION, quote=True),
                )
            },
        ),
        _stage(
            "pod-harness-failed",
            _POD,
            {
                **sandbox_done,
                "matchExpressions": [
                    _NOT_DELETING,
                    _RUNNING,
                    _expr(_annotation(HARNESS_EXIT_CODE_ANNOTATION), "Exists"),
                    _expr(_annotation(HARNESS_EXIT_CODE_ANNOTATION), "NotIn", "0"),
                ],
            },
            {
                "statusTemplate": _terminated(
                    "Failed",
                    _from_annotation(HARNESS_EXIT_CODE_ANNOTATION, quote=False),
                    _from_annotation(HARNESS_REASON_ANNOTATION, quote=True),
                    _from_annotation(HARNESS_MESSAGE_ANNOTATION, quote=True),
                )
            },
        ),
        _stage(
            "pod-delete",
            _POD,
            {"matchExpressions": [_expr(".metadata.deletionTimestamp", "Exists")]},
            {"delete": True},
        ),
    ]


def render_config() -> str:
    """kwok's ``--config`` file: the Stages as a multi-document YAML stream."""
    return yaml.safe_dump_all(stages(), sort_keys=False)
