#!/usr/bin/env bash
# Build (or reuse) hack/kstatus: a small command that runs the real kstatus library
# (sigs.k8s.io/cli-utils/pkg/kstatus/status.Compute, the one Flux uses) over objects on stdin.
#
# The version is pinned by hack/kstatus/go.mod. The binary goes to
# ${MGE_KSTATUS_CACHE:-$HOME/.cache/mge-kstatus}/<version-key>/kstatus and is built only when it is
# missing. Progress goes to stderr; the last line of stdout is the binary's path:
#   KSTATUS=$(hack/kstatus/build.sh | tail -n1)
#
# Environment: MGE_KSTATUS_CACHE (cache root), GO (go binary; default: go on PATH, else
# /usr/local/go/bin/go). Needs the Go module proxy (or a warm module cache) on a cache miss.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${MGE_KSTATUS_CACHE:-$HOME/.cache/mge-kstatus}"

log() { printf '[kstatus] %s\n' "$*" >&2; }

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

VERSION="$(sed -n 's|^[[:space:]]*sigs\.k8s\.io/cli-utils \(v[^[:space:]]*\).*|\1|p' "$HERE/go.mod" | head -n1)"
# The key changes whenever the pinned version, a dependency (go.sum) or the command changes.
SUMS_HASH="$(cat "$HERE/go.mod" "$HERE/go.sum" "$HERE/main.go" | sha256sum | cut -c1-10)"
BIN_DIR="$CACHE_ROOT/cli-utils-${VERSION}_${SUMS_HASH}"

mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build.lock"
flock 9
if [[ ! -x "$BIN_DIR/kstatus" ]]; then
  GO_BIN="$(find_go)"
  log "cache miss: building cli-utils $VERSION into $BIN_DIR"
  tmp="$(mktemp -d "$CACHE_ROOT/.tmp.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$HERE" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:--mod=readonly}" \
    "$GO_BIN" build -trimpath -ldflags "-s -w" -o "$tmp/kstatus" .)
  chmod 755 "$tmp"
  rm -rf "$BIN_DIR"
  mv "$tmp" "$BIN_DIR"
  trap - EXIT
else
  log "cache hit: $BIN_DIR"
fi
printf '%s\n' "$BIN_DIR/kstatus"
