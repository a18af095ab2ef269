#!/usr/bin/env bash
# Build (or reuse) the binaries of the test control plane: kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok and etcd.
#
# The versions are pinned by the Go modules next to this script:
#   hack/k8s-bins/go.mod       k8s.io/kubernetes (staging modules replaced by their published v0.x)
#   hack/k8s-bins/kwok/go.mod  sigs.k8s.io/kwok (its own module: it needs newer k8s.io/* libraries)
#   hack/k8s-bins/etcd/go.mod  go.etcd.io/etcd/server/v3
#
# Binaries go to ${MGE_K8S_CACHE:-$HOME/.cache/mge-k8s}/<version-key>/ and are built only when
# that directory lacks a binary or the stamp file. Progress goes to stderr; the last line of stdout
# is the bin dir, so callers can do: BIN_DIR=$(hack/k8s-bins/build.sh | tail -n1)
#
# Environment: MGE_K8S_CACHE (cache root), GO (go binary; default: go on PATH, else
# /usr/local/go/bin/go), MGE_K8S_FORCE=1 (rebuild even on a cache hit).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${MGE_K8S_CACHE:-$HOME/.cache/mge-k8s}"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kwok etcd)
STAMP=".build-complete"
KWOK_LOGS_CRD="kwok-crds/kwok.x-k8s.io_logs.yaml"

log() { printf '[k8s-bins] %s\n' "$*" >&2; }

find_go() {
  if [[ -n "${GO:-}" ]]; then
    printf '%s\n' "$GO"
  elif command -v go >/dev/null 2>&1; then
    command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then
    printf '%s\n' /usr/local/go/bin/go
  else
    log "no Go toolchain found (set GO=/path/to/go)"
    exit 1
  fi
}

# module_version DIR MODULE: the version DIR/go.mod requires for MODULE.
module_version() {
  local version
  version="$(sed -n "s|^[[:space:]]*${2//./\\.} \(v[^[:space:]]*\).*|\1|p" "$1/go.mod" | head -n1)"
  if [[ -z "$version" ]]; then
    log "$1/go.mod does not require $2"
    exit 1
  fi
  printf '%s\n' "$version"
}

K8S_VERSION="$(module_version "$HERE" k8s.io/kubernetes)"
KWOK_VERSION="$(module_version "$HERE/kwok" sigs.k8s.io/kwok)"
ETCD_VERSION="$(module_version "$HERE/etcd" go.etcd.io/etcd/server/v3)"
K8S_MINOR="$(cut -d. -f2 <<<"$K8S_VERSION")"

# The key changes whenever a pinned version or any dependency (go.sum) changes.
SUMS_HASH="$(cat "$HERE/go.sum" "$HERE/kwok/go.sum" "$HERE/etcd/go.sum" | sha256sum | cut -c1-10)"
VERSION_KEY="k8s-${K8S_VERSION}_kwok-${KWOK_VERSION}_etcd-${ETCD_VERSION}_${SUMS_HASH}"
BIN_DIR="$CACHE_ROOT/$VERSION_KEY"

cache_hit() {
  [[ -f "$BIN_DIR/$STAMP" ]] || return 1
  local bin
  for bin in "${BINARIES[@]}"; do
    [[ -x "$BIN_DIR/$bin" ]] || return 1
  done
  [[ -f "$BIN_DIR/$KWOK_LOGS_CRD" ]]
}

build_all() {
  local go_bin out
  go_bin="$(find_go)"
  out="$1"
  export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:--mod=readonly}"
  log "go: $("$go_bin" version)"

  local k8s_ldflags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$K8S_MINOR"
    k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  log "building kube-apiserver, kube-controller-manager, kube-scheduler $K8S_VERSION"
  (cd "$HERE" && "$go_bin" build -trimpath -ldflags "$k8s_ldflags" -o "$out/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler)

  log "building kwok $KWOK_VERSION"
  local kwok_ldflags="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"
  kwok_ldflags+=" -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${K8S_VERSION#v}"
  (cd "$HERE/kwok" && "$go_bin" build -trimpath -ldflags "$kwok_ldflags" -o "$out/kwok" \
    sigs.k8s.io/kwok/cmd/kwok)

  # kwok serves pod logs from Logs objects it watches; their CRD ships in its module.
  local kwok_dir
  kwok_dir="$(cd "$HERE/kwok" && "$go_bin" list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
  mkdir -p "$out/kwok-crds"
  cp "$kwok_dir/kustomize/crd/bases/${KWOK_LOGS_CRD#kwok-crds/}" "$out/$KWOK_LOGS_CRD"

  log "building etcd $ETCD_VERSION"
  (cd "$HERE/etcd" && "$go_bin" build -trimpath \
    -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" \
    -o "$out/etcd" go.etcd.io/etcd/server/v3)
}

main() {
  mkdir -p "$CACHE_ROOT"
  # One build at a time per cache root (parallel CI jobs, pytest workers).
  exec 9>"$CACHE_ROOT/.build.lock"
  flock 9

  if [[ "${MGE_K8S_FORCE:-0}" != 1 ]] && cache_hit; then
    log "cache hit: $BIN_DIR"
    printf '%s\n' "$BIN_DIR"
    return
  fi

  log "cache miss: building into $BIN_DIR (cold: minutes; warm Go cache: seconds)"
  local started tmp
  started="$(date +%s)"
  tmp="$(mktemp -d "$CACHE_ROOT/.tmp-$VERSION_KEY.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  chmod 755 "$tmp"
  build_all "$tmp"
  printf 'k8s=%s kwok=%s etcd=%s built=%s\n' "$K8S_VERSION" "$KWOK_VERSION" "$ETCD_VERSION" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$tmp/$STAMP"
  rm -rf "$BIN_DIR"
  mv "$tmp" "$BIN_DIR"
  trap - EXIT
  log "built in $(($(date +%s) - started)) s"
  printf '%s\n' "$BIN_DIR"
}

main "$@"
