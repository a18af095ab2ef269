#!/usr/bin/env bash
# Build (or reuse) the pause image of the test node with podman: a static Go program
# (hack/real-node/pause/main.go) in a FROM scratch image. The tag carries a hash of the inputs,
# so an unchanged source is a cache hit. Prints the image name on the last line of stdout.
# Env: GO (go binary).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/pause" && pwd)"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
HASH="$(cat "$HERE/main.go" "$HERE/go.mod" "$HERE/Containerfile" | sha256sum | cut -c1-12)"
IMAGE="localhost/mge-pause:$HASH"
if podman image exists "$IMAGE"; then
  echo "[pause] cache hit: $IMAGE" >&2
  printf '%s\n' "$IMAGE"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$HERE" && CGO_ENABLED=0 GOTOOLCHAIN=local "$GO" build -trimpath -ldflags "-s -w" -o "$tmp/pause" .)
cp "$HERE/Containerfile" "$tmp/"
podman build --isolation=chroot -q -t "$IMAGE" "$tmp" >&2
echo "[pause] built $IMAGE" >&2
printf '%s\n' "$IMAGE"
