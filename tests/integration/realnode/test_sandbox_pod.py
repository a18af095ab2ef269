"""A sandbox pod (the operator's exact pod spec) on the real node, in a namespace enforcing Pod
Security ``restricted``: admitted, run by runc, and its securityContext really holds."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kubernetes import client
from tests.integration.controlplane.real_node import RealNode
from tests.integration.realnode.conftest import SANDBOX_IMAGE
from tests.integration.realnode.helpers import (
    RESTRICTED,
    assert_on_real_node,
    sandbox_pod,
    terminated,
    wait_pod_done,
)

pytestmark = [pytest.mark.kube, pytest.mark.realnode]

PROBE = r"""
echo "uid=$(id -u) gid=$(id -g)"
grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status
if touch /probe 2>/dev/null; then echo root=writable; else echo root=read-only; fi
token=/var/run/secrets/kubernetes.io/serviceaccount/token
if [ -e $token ]; then echo token=present; else echo token=absent; fi
echo "service_env=$(env | grep -c '_SERVICE_HOST=')"
v1=/sys/fs/cgroup
echo "memory_limit=$(cat $v1/memory/memory.limit_in_bytes 2>/dev/null || cat $v1/memory.max)"
echo "cpu_quota=$(cat $v1/cpu/cpu.cfs_quota_us 2>/dev/null || cat $v1/cpu.max)"
if unshare -U true 2>/dev/null; then echo unshare=allowed; else echo unshare=denied; fi
touch /work/ok && echo work=writable
"""


def _fields(log: str) -> dict[str, str]:
    out = {}
    for line in log.splitlines():
        key, sep, value = line.replace(":\t", "=").partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def test_restricted_sandbox_pod_runs_contained_on_the_real_node(
    real_node: RealNode, api: client.ApiClient, make_namespace: Callable[..., str]
) -> None:
    namespace = make_namespace(RESTRICTED)
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(namespace, sandbox_pod("probe", PROBE, SANDBOX_IMAGE, "200Mi"))
    pod = wait_pod_done(core, namespace, "probe")
    assert_on_real_node(pod)
    log = core.read_namespaced_pod_log("probe", namespace)  # kubelet -> API server
    assert pod.status.phase == "Succeeded", log
    fields = _fields(log)
    assert fields["uid"] == "65532 gid=65532"
    assert fields["CapEff"] == fields["CapBnd"] == "0000000000000000"
    assert fields["NoNewPrivs"] == "1"
    assert fields["Seccomp"] == "2", "RuntimeDefault seccomp: filter mode"
    assert fields["root"] == "read-only"
    assert fields["token"] == "absent"
    # enableServiceLinks: false leaves only the API server's own variables (always injected).
    assert fields["service_env"] == "1"
    assert fields["memory_limit"] == str(200 * 1024 * 1024)
    assert fields["cpu_quota"] in ("50000", "50000 100000"), "500m of CPU"
    assert fields["unshare"] == "denied"
    assert fields["work"] == "writable"
    # The container really ran under runc on this node: the kubelet reports a containerd id.
    assert pod.status.container_statuses[0].container_id.startswith("containerd://")


def test_privileged_pod_is_refused_by_pod_security(
    real_node: RealNode, api: client.ApiClient, make_namespace: Callable[..., str]
) -> None:
    namespace = make_namespace(RESTRICTED)
    body = sandbox_pod("root", "id", SANDBOX_IMAGE)
    body["spec"]["securityContext"]["runAsNonRoot"] = False
    body["spec"]["securityContext"]["runAsUser"] = 0
    body["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = False
    with pytest.raises(client.ApiException) as refused:
        client.CoreV1Api(api).create_namespaced_pod(namespace, body)
    assert refused.value.status == 403
    assert "restricted" in str(refused.value.body)


def test_memory_hog_ends_oom_killed_in_the_real_pod_status(
    real_node: RealNode, api: client.ApiClient, make_namespace: Callable[..., str]
) -> None:
    namespace = make_namespace(RESTRICTED)
    core = client.CoreV1Api(api)
    hog = "python3 -c 'x = []\nwhile True: x.append(bytearray(8 << 20))'"
    core.create_namespaced_pod(namespace, sandbox_pod("hog", hog, SANDBOX_IMAGE, "96Mi"))
    pod = wait_pod_done(core, namespace, "hog")
    assert_on_real_node(pod)
    state = terminated(pod)
    assert pod.status.phase == "Failed"
    assert (state.reason, state.exit_code) == ("OOMKilled", 137)


def test_work_past_its_size_limit_ends_evicted_in_the_real_pod_status(
    real_node: RealNode, api: client.ApiClient, make_namespace: Callable[..., str]
) -> None:
    from mge.kube.jobs import pod_failure

    namespace = make_namespace(RESTRICTED)
    core = client.CoreV1Api(api)
    # /tmp is the pod's 64Mi emptyDir: 96 files of 1 MiB, then wait for the kubelet's check
    fill = (
        "i=0; while [ $i -lt 96 ]; do head -c 1048576 /dev/zero > /tmp/f$i || break; "
        "i=$((i+1)); done; echo wrote $i; sleep 180"
    )
    core.create_namespaced_pod(namespace, sandbox_pod("fill", fill, SANDBOX_IMAGE))
    pod = wait_pod_done(core, namespace, "fill")
    assert_on_real_node(pod)
    assert (pod.status.phase, pod.status.reason) == ("Failed", "Evicted"), pod.status
    reason = pod_failure(client.ApiClient().sanitize_for_serialization(pod))
    assert reason is not None and reason.startswith("Evicted: "), reason
    assert "tmp" in reason and "64Mi" in reason, reason


def test_image_missing_from_containerd_is_named(
    real_node: RealNode, api: client.ApiClient, make_namespace: Callable[..., str]
) -> None:
    from tests.integration.controlplane.real_node import pod_problem
    from tests.integration.realnode.helpers import wait_waiting_reason

    namespace = make_namespace(RESTRICTED)
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(namespace, sandbox_pod("nope", "true", "localhost/not-imported:1"))
    pod = wait_waiting_reason(core, namespace, "nope", "ErrImageNeverPull")
    message = pod_problem(pod, [])
    assert "localhost/not-imported:1 is missing from containerd" in message
