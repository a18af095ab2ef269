#!/usr/bin/env bash
# Build (or reuse) the kubelet of the real test node, the same Kubernetes version as the test
# control plane (hack/k8s-bins/go.mod). Its own Go module (hack/real-node/kubelet/go.mod) holds
# the kubelet's extra dependencies, so adding it does not change the control plane's cache key.
#
# The binary goes to ${MGE_K8S_CACHE:-$HOME/.cache/mge-k8s}/kubelet-<version>_<go.sum hash>/kubelet
# and is built only when that directory lacks it or its stamp file. Progress goes to stderr; the
# last line of stdout is the bin dir: KUBELET_DIR=$(hack/real-node/build-kubelet.sh | tail -n1)
#
# Environment: MGE_K8S_CACHE, GO, MGE_K8S_FORCE=1 (as for hack/k8s-bins/build.sh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODULE_DIR="$HERE/kubelet"
CONTROL_PLANE_MOD="$HERE/../k8s-bins/go.mod"
CACHE_ROOT="${MGE_K8S_CACHE:-$HOME/.cache/mge-k8s}"
STAMP=".build-complete"

log() { printf '[kubelet] %s\n' "$*" >&2; }

k8s_version() {  # GO_MOD: the k8s.io/kubernetes version it requires
  sed -n 's|^[[:space:]]*k8s\.io/kubernetes \(v[^[:space:]]*\).*|\1|p' "$1" | head -n1
}

K8S_VERSION="$(k8s_version "$MODULE_DIR/go.mod")"
CP_VERSION="$(k8s_version "$CONTROL_PLANE_MOD")"
if [[ -z "$K8S_VERSION" || "$K8S_VERSION" != "$CP_VERSION" ]]; then
  log "kubelet module pins k8s.io/kubernetes '${K8S_VERSION}' but the control plane pins '${CP_VERSION}';"
  log "re-pin with: hack/real-node/pin-kubelet.sh"
  exit 1
fi
K8S_MINOR="$(cut -d. -f2 <<<"$K8S_VERSION")"
SUMS_HASH="$(sha256sum "$MODULE_DIR/go.sum" | cut -c1-10)"
BIN_DIR="$CACHE_ROOT/kubelet-${K8S_VERSION}_${SUMS_HASH}"

find_go() {
  if [[ -n "${GO:-}" ]]; then printf '%s\n' "$GO"
  elif command -v go >/dev/null 2>&1; then command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then printf '%s\n' /usr/local/go/bin/go
  else log "no Go toolchain found (set GO=/path/to/go)"; exit 1
  fi
}

main() {
  mkdir -p "$CACHE_ROOT"
  exec 9>"$CACHE_ROOT/.build.lock"
  flock 9
  if [[ "${MGE_K8S_FORCE:-0}" != 1 && -f "$BIN_DIR/$STAMP" && -x "$BIN_DIR/kubelet" ]]; then
    log "cache hit: $BIN_DIR"
    printf '%s\n' "$BIN_DIR"
    return
  fi
  log "cache miss: building kubelet $K8S_VERSION into $BIN_DIR"
  local go_bin started tmp ldflags pkg
  go_bin="$(find_go)"
  started="$(date +%s)"
  tmp="$(mktemp -d "$CACHE_ROOT/.tmp-kubelet.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  chmod 755 "$tmp"
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$K8S_MINOR"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$MODULE_DIR" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:--mod=readonly}" \
    "$go_bin" build -trimpath -ldflags "$ldflags" -o "$tmp/kubelet" k8s.io/kubernetes/cmd/kubelet)
  printf 'k8s=%s built=%s\n' "$K8S_VERSION" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$tmp/$STAMP"
  rm -rf "$BIN_DIR"
  mv "$tmp" "$BIN_DIR"
  trap - EXIT
  log "built in $(($(date +%s) - started)) s"
  printf '%s\n' "$BIN_DIR"
}

main "$@"
