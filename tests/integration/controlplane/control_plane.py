"""ControlPlane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok as local
processes, with an admin kubeconfig and helpers for RBAC tests.

Real: etcd, the API server (authentication, RBAC, admission incl. Pod Security, CRDs with CEL,
TokenRequest), the controller manager (Job, garbage collector, service accounts and tokens, node
lifecycle, ...) and the scheduler. Stand-in: kwok plays one node and the kubelet's pod status
updates (see kwok_config.py); harness.py plays the container runtime for sandbox pods.

Usable from pytest and from plain scripts::

    with ControlPlane(find_binaries()) as cp, cp.connect() as api:
        ...  # the work dir is deleted on a clean exit, kept after an exception
"""

from __future__ import annotations

import atexit
import json
import shutil
import signal
import ssl
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import yaml
from kubernetes import client, config

from .binaries import Binaries
from .harness import PodHarness, PodRunner
from .kubeconfig import write_kubeconfig
from .kwok_config import render_config
from .pki import Pki, generate_pki
from .processes import ManagedProcess, ProcessError, free_port, log_tail, wait_until

NODE_NAME = "kwok-node-0"
"""The one node kwok plays; every schedulable pod lands here."""

SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"

START_TIMEOUT_SECONDS = 120.0
"""Per readiness step; a warm start takes seconds, a loaded 2-core CI machine more."""

RBAC_PROPAGATION_TIMEOUT_SECONDS = 30.0
"""How long a new Role/RoleBinding may take to reach the RBAC authorizer's cache."""

RuleSpec = Mapping[str, Sequence[str]]
"""A PolicyRule as a mapping: apiGroups, resources, verbs (and optionally resourceNames)."""


@dataclass(frozen=True)
class Ports:
    """The TCP ports of one control plane, all on 127.0.0.1."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kwok: int

    @classmethod
    def pick(cls) -> Ports:
        """Free ports, chosen by the kernel (distinct while the sockets are held)."""
        chosen: set[int] = set()
        values: list[int] = []
        while len(values) < 6:
            port = free_port()
            if port not in chosen:
                chosen.add(port)
                values.append(port)
        return cls(*values)


class ControlPlane:
    """A running test control plane; start() it or use it as a context manager."""

    def __init__(
        self,
        binaries: Binaries,
        work_dir: Path | None = None,
        start_timeout: float = START_TIMEOUT_SECONDS,
    ) -> None:
        self.binaries = binaries.check()
        self.work_dir = work_dir or Path(tempfile.mkdtemp(prefix="mge-controlplane-"))
        self.log_dir = self.work_dir / "logs"
        self.pod_log_dir = self.work_dir / "pod-logs"
        self.start_timeout = start_timeout
        self.ports = Ports.pick()
        self.server = f"https://127.0.0.1:{self.ports.apiserver}"
        self.startup_seconds: float | None = None
        self.phase_seconds: dict[str, float] = {}
        """Seconds spent in each start-up phase, in order (what to optimise)."""
        self._processes: list[ManagedProcess] = []
        self._pki: Pki | None = None
        self._admin_kubeconfig: Path | None = None
        self._lock = threading.Lock()
        self._previous_sigterm: Any = None

    # ----------------------------------------------------------------- properties

    @property
    def pki(self) -> Pki:
        """The CA and certificates (available after start())."""
        if self._pki is None:
            raise RuntimeError("control plane not started")
        return self._pki

    @property
    def kubeconfig(self) -> Path:
        """Admin kubeconfig (client certificate in group system:masters)."""
        if self._admin_kubeconfig is None:
            raise RuntimeError("control plane not started")
        return self._admin_kubeconfig

    def api_client(self, kubeconfig: Path | None = None) -> client.ApiClient:
        """A new kubernetes ApiClient for ``kubeconfig`` (default: admin). Close it when done."""
        path = str(kubeconfig or self.kubeconfig)
        api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=path
        )
        return api

    @contextmanager
    def connect(self, kubeconfig: Path | None = None) -> Iterator[client.ApiClient]:
        """An ApiClient for ``kubeconfig`` (default: admin), closed on exit."""
        api = self.api_client(kubeconfig)
        try:
            yield api
        finally:
            close_api(api)

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop; delete the work dir after a clean exit, keep it (and say where) otherwise."""
        self.stop()
        if exc_type is None:
            self.remove_work_dir()
        else:
            print(f"control plane logs kept in {self.log_dir}", file=sys.stderr)

    def start(self) -> ControlPlane:
        """Start every component and wait until the cluster can run a Job. Stops on failure."""
        started = time.monotonic()
        atexit.register(self.stop)
        self._install_sigterm_handler()
        try:
            self._start()
        except BaseException as error:
            self.stop()
            if isinstance(error, ProcessError):
                raise ProcessError(f"{error}\ncontrol plane logs: {self.log_dir}") from error
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        """Kill every component's process group (reverse start order). Idempotent."""
        with self._lock:
            processes, self._processes = self._processes, []
        for process in reversed(processes):
            process.stop()
        atexit.unregister(self.stop)
        self._restore_sigterm_handler()

    def remove_work_dir(self) -> None:
        """Delete the work dir (certificates, etcd data, logs). Call after stop()."""
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def _install_sigterm_handler(self) -> None:
        """Turn SIGTERM into SystemExit so that teardown (and atexit) still run."""
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return

        def _exit(signum: int, frame: FrameType | None) -> None:
            raise SystemExit(128 + signum)

        self._previous_sigterm = signal.signal(signal.SIGTERM, _exit)

    def _restore_sigterm_handler(self) -> None:
        if self._previous_sigterm is None:
            return
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None

    def _spawn(self, name: str, argv: Sequence[str]) -> ManagedProcess:
        process = ManagedProcess(name, argv, self.log_dir / f"{name}.log", cwd=self.work_dir)
        with self._lock:
            self._processes.append(process)
        process.start()
        return process

    def _start(self) -> None:
        mark = time.monotonic()

        def phase(name: str) -> None:
            nonlocal mark
            now = time.monotonic()
            self.phase_seconds[name] = round(now - mark, 2)
            mark = now

        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.pod_log_dir.mkdir(parents=True, exist_ok=True)
        self._pki = pki = generate_pki(self.work_dir / "pki")
        self._admin_kubeconfig = write_kubeconfig(
            self.work_dir / "admin.kubeconfig", self.server, pki.ca.cert, "admin", pki.admin
        )
        phase("pki")

        etcd = self._spawn("etcd", self._etcd_argv())
        wait_until("etcd /health", self._etcd_healthy, self.start_timeout, [etcd])
        phase("etcd")
        apiserver = self._spawn("kube-apiserver", self._apiserver_argv(pki))
        wait_until(
            "kube-apiserver /readyz", self._apiserver_ready, self.start_timeout, [etcd, apiserver]
        )
        phase("apiserver")

        with self.connect() as api:
            self._install_kwok_logs_crd(api)
            self._create_node(api)
            (self.work_dir / "kwok.yaml").write_text(render_config())
            phase("bootstrap")
            others = [
                self._spawn("kube-controller-manager", self._controller_manager_argv(pki)),
                self._spawn("kube-scheduler", self._scheduler_argv()),
                self._spawn("kwok", self._kwok_argv(pki)),
            ]
            everything = [etcd, apiserver, *others]
            for name, port, ca in (
                ("kube-controller-manager", self.ports.controller_manager, None),
                ("kube-scheduler", self.ports.scheduler, None),
                ("kwok", self.ports.kwok, pki.ca.cert),
            ):
                wait_until(
                    f"{name} /healthz", _healthz_probe(port, ca), self.start_timeout, everything
                )
                phase(name)
            wait_until(
                f"node {NODE_NAME} Ready", lambda: _node_ready(api), self.start_timeout, everything
            )
            phase("node-ready")
            wait_until(
                "ServiceAccount default/default",
                lambda: _default_sa_exists(api),
                self.start_timeout,
                everything,
            )
            phase("default-serviceaccount")

    # ----------------------------------------------------------------- command lines

    def _etcd_argv(self) -> list[str]:
        client_url = f"http://127.0.0.1:{self.ports.etcd_client}"
        peer_url = f"http://127.0.0.1:{self.ports.etcd_peer}"
        return [
            str(self.binaries["etcd"]),
            "--name=default",
            f"--data-dir={self.work_dir / 'etcd'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=default={peer_url}",
            "--unsafe-no-fsync",
            "--log-level=warn",
        ]

    def _apiserver_argv(self, pki: Pki) -> list[str]:
        return [
            str(self.binaries["kube-apiserver"]),
            f"--etcd-servers=http://127.0.0.1:{self.ports.etcd_client}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.ports.apiserver}",
            f"--cert-dir={self.work_dir / 'apiserver-certs'}",
            f"--tls-cert-file={pki.apiserver.cert}",
            f"--tls-private-key-file={pki.apiserver.key}",
            f"--client-ca-file={pki.ca.cert}",
            "--authorization-mode=RBAC",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={pki.service_account_pub}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            "--allow-privileged=true",
            # Pod logs: the apiserver dials the node's InternalIP at the kwok server's port,
            # verifies kwok's serving certificate and presents its own client certificate.
            "--kubelet-preferred-address-types=InternalIP",
            f"--kubelet-certificate-authority={pki.ca.cert}",
            f"--kubelet-client-certificate={pki.apiserver_kubelet_client.cert}",
            f"--kubelet-client-key={pki.apiserver_kubelet_client.key}",
            "--profiling=false",
            "--v=1",
        ]

    def _component_common(self, port: int) -> list[str]:
        kubeconfig = str(self.kubeconfig)
        return [
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={port}",
            "--leader-elect=false",
            "--v=1",
        ]

    def _controller_manager_argv(self, pki: Pki) -> list[str]:
        return [
            str(self.binaries["kube-controller-manager"]),
            *self._component_common(self.ports.controller_manager),
            f"--cert-dir={self.work_dir / 'kcm-certs'}",
            # Every controller talks to the apiserver as its own ServiceAccount, as in a
            # real cluster (tokens from the TokenRequest API, signed with the SA key).
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki.service_account_key}",
            f"--root-ca-file={pki.ca.cert}",
            f"--cluster-signing-cert-file={pki.ca.cert}",
            f"--cluster-signing-key-file={pki.ca.key}",
            "--profiling=false",
        ]

    def _scheduler_argv(self) -> list[str]:
        return [
            str(self.binaries["kube-scheduler"]),
            *self._component_common(self.ports.scheduler),
            f"--cert-dir={self.work_dir / 'scheduler-certs'}",
            "--profiling=false",
        ]

    def _kwok_argv(self, pki: Pki) -> list[str]:
        return [
            str(self.binaries["kwok"]),
            f"--kubeconfig={self.kubeconfig}",
            f"--config={self.work_dir / 'kwok.yaml'}",
            f"--manage-single-node={NODE_NAME}",
            "--node-ip=127.0.0.1",
            f"--node-port={self.ports.kwok}",
            f"--server-address=127.0.0.1:{self.ports.kwok}",
            f"--tls-cert-file={pki.kubelet_serving.cert}",
            f"--tls-private-key-file={pki.kubelet_serving.key}",
            f"--cidr={POD_CIDR}",
            "--enable-crds=Logs",
        ]

    # ----------------------------------------------------------------- readiness probes

    def _etcd_healthy(self) -> bool:
        url = f"http://127.0.0.1:{self.ports.etcd_client}/health"
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(json.load(response).get("health") == "true")

    def _apiserver_ready(self) -> bool:
        context = ssl.create_default_context(cafile=str(self.pki.ca.cert))
        context.load_cert_chain(str(self.pki.admin.cert), str(self.pki.admin.key))
        with urllib.request.urlopen(
            f"{self.server}/readyz", context=context, timeout=5
        ) as response:
            return bool(response.status == 200)

    # ----------------------------------------------------------------- bootstrap objects

    def _install_kwok_logs_crd(self, api: client.ApiClient) -> None:
        crd = client.V1CustomResourceDefinition.model_validate(
            yaml.safe_load(self.binaries.kwok_logs_crd.read_text())
        )
        extensions = client.ApiextensionsV1Api(api)
        extensions.create_custom_resource_definition(crd)
        name = crd.metadata.name if crd.metadata and crd.metadata.name else ""

        def established() -> bool:
            status = extensions.read_custom_resource_definition(name).status
            conditions = (status.conditions if status else None) or []
            return any(c.type == "Established" and c.status == "True" for c in conditions)

        wait_until(f"CRD {name} Established", established, self.start_timeout)

    def _create_node(self, api: client.ApiClient) -> None:
        node = client.V1Node.model_validate(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": NODE_NAME,
                    "labels": {
                        "kubernetes.io/hostname": NODE_NAME,
                        "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64",
                        "type": "kwok",
                    },
                    "annotations": {"kwok.x-k8s.io/node": "fake"},
                },
            }
        )
        client.CoreV1Api(api).create_node(node)

    # ----------------------------------------------------------------- test helpers

    def create_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        """Create a namespace and wait for its ``default`` ServiceAccount (pods need it)."""
        with self.connect() as api:
            core = client.CoreV1Api(api)
            core.create_namespace(
                client.V1Namespace.model_validate(
                    {"metadata": {"name": name, "labels": dict(labels or {})}}
                )
            )

            def has_default_sa() -> bool:
                core.read_namespaced_service_account("default", name)
                return True

            wait_until(f"ServiceAccount {name}/default", has_default_sa, self.start_timeout)

    def kubeconfig_for_user(self, name: str, groups: Sequence[str] = ()) -> Path:
        """A kubeconfig for user ``name`` in ``groups`` via a CA-signed client certificate.

        The user has no permissions beyond those of system:authenticated unless a test binds
        some.
        """
        pair = self.pki.client_cert(name, tuple(groups))
        return write_kubeconfig(
            self.work_dir / "kubeconfigs" / f"user-{name}.kubeconfig",
            self.server,
            self.pki.ca.cert,
            name,
            pair,
        )

    def kubeconfig_for_service_account(
        self,
        namespace: str,
        name: str,
        role_rules: Sequence[RuleSpec],
        cluster_wide: bool = False,
        token_seconds: int = 3600,
    ) -> Path:
        """Create ServiceAccount ``namespace/name`` bound to ``role_rules`` and return a
        kubeconfig with a token from the TokenRequest API.

        The rules go into a Role + RoleBinding in ``namespace``, or with ``cluster_wide`` a
        ClusterRole + ClusterRoleBinding. Returns once RBAC grants the first rule, so a test can
        use the kubeconfig at once.
        """
        with self.connect() as api:
            core = client.CoreV1Api(api)
            rbac = client.RbacAuthorizationV1Api(api)
            _ensure_namespace(core, namespace)
            core.create_namespaced_service_account(
                namespace, client.V1ServiceAccount.model_validate({"metadata": {"name": name}})
            )
            role_name = f"{namespace}-{name}" if cluster_wide else name
            role = {"metadata": {"name": role_name}, "rules": [dict(r) for r in role_rules]}
            binding = {
                "metadata": {"name": role_name},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole" if cluster_wide else "Role",
                    "name": role_name,
                },
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
            }
            if cluster_wide:
                rbac.create_cluster_role(client.V1ClusterRole.model_validate(role))
                rbac.create_cluster_role_binding(
                    client.V1ClusterRoleBinding.model_validate(binding)
                )
            else:
                rbac.create_namespaced_role(namespace, client.V1Role.model_validate(role))
                rbac.create_namespaced_role_binding(
                    namespace, client.V1RoleBinding.model_validate(binding)
                )
            request = client.AuthenticationV1TokenRequest.model_validate(
                {"spec": {"audiences": [], "expirationSeconds": token_seconds}}
            )
            status = core.create_namespaced_service_account_token(name, namespace, request).status
            if status is None:
                raise RuntimeError(f"TokenRequest for {namespace}/{name} returned no token")
            token = status.token
        path = write_kubeconfig(
            self.work_dir / "kubeconfigs" / f"sa-{namespace}-{name}.kubeconfig",
            self.server,
            self.pki.ca.cert,
            f"system:serviceaccount:{namespace}:{name}",
            token=token,
        )
        if role_rules:
            self._wait_until_allowed(path, role_rules[0], None if cluster_wide else namespace)
        return path

    def _wait_until_allowed(self, kubeconfig: Path, rule: RuleSpec, namespace: str | None) -> None:
        attributes = {
            "group": next(iter(rule.get("apiGroups", [""])), ""),
            "resource": next(iter(rule.get("resources", [""])), ""),
            "verb": next(iter(rule.get("verbs", ["get"]))),
        }
        if namespace:
            attributes["namespace"] = namespace
        if attributes["verb"] == "*":
            attributes["verb"] = "get"
        if attributes["resource"] == "*":
            attributes["resource"] = "pods"
        if attributes["group"] == "*":
            attributes["group"] = ""
        with self.connect(kubeconfig) as api:
            authz = client.AuthorizationV1Api(api)

            review = client.V1SelfSubjectAccessReview.model_validate(
                {"spec": {"resourceAttributes": attributes}}
            )

            def allowed() -> bool:
                status = authz.create_self_subject_access_review(review).status
                return bool(status and status.allowed)

            wait_until(f"RBAC to allow {attributes}", allowed, RBAC_PROPAGATION_TIMEOUT_SECONDS)

    def harness(self, run: PodRunner, namespace: str | None = None, workers: int = 4) -> PodHarness:
        """A PodHarness (not yet started) running this cluster's sandbox pods with ``run``."""
        return PodHarness(
            self.api_client(),
            run,
            self.pod_log_dir,
            namespace=namespace,
            workers=workers,
            close_api_on_stop=True,
        )

    def describe(self) -> str:
        """One line per component: pid and log path (for failure messages)."""
        with self._lock:
            processes = list(self._processes)
        return "\n".join(f"{p.name}: pid {p.pid}, log {p.log_path}" for p in processes)

    def log_tails(self) -> str:
        """The end of every component's log."""
        return "\n".join(
            f"===== {path.name}\n{log_tail(path)}" for path in sorted(self.log_dir.glob("*.log"))
        )


def close_api(api: client.ApiClient) -> None:
    """Close an ApiClient's connection pool (the client leaves this method untyped)."""
    api.close()  # type: ignore[no-untyped-call]


def _healthz_probe(port: int, ca: Path | None) -> Callable[[], bool]:
    def probe() -> bool:
        if ca is not None:
            context = ssl.create_default_context(cafile=str(ca))
        else:
            # The controller manager and the scheduler serve a self-signed certificate.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        url = f"https://127.0.0.1:{port}/healthz"
        with urllib.request.urlopen(url, context=context, timeout=5) as response:
            return bool(response.status == 200)

    return probe


def _node_ready(api: client.ApiClient) -> bool:
    node = client.CoreV1Api(api).read_node(NODE_NAME)
    conditions = (node.status.conditions if node.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def _default_sa_exists(api: client.ApiClient) -> bool:
    client.CoreV1Api(api).read_namespaced_service_account("default", "default")
    return True


def _ensure_namespace(core: client.CoreV1Api, namespace: str) -> None:
    try:
        core.create_namespace(client.V1Namespace.model_validate({"metadata": {"name": namespace}}))
    except client.ApiException as error:
        if error.status != 409:
            raise
