#!/usr/bin/env bash
# A real node (kubelet + containerd + runc + CNI bridge) for the test control plane, by hand.
#   hack/real-node/node.sh cluster               control plane + node in the foreground (Ctrl-C)
#   hack/real-node/node.sh up CONTROL_PLANE_DIR  join a running test control plane, detach
#   hack/real-node/node.sh down NODE_DIR         stop it; undo mounts, cgroups, iptables, sysctls
#   hack/real-node/node.sh import NODE_DIR IMAGE...
# Needs root, containerd, runc, containernetworking-plugins (scripts/install.sh), podman.
# Builds (cached) the kubelet and the pause image; imports localhost/mge-sandbox (build it with
# hack/images/build.sh sandbox). See docs/control-plane.md.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-$REPO/.venv/bin/python}"
[[ -x "$PY" ]] || PY=python3
cd "$REPO"
exec "$PY" -m tests.integration.controlplane.real_node_cli "$@"
