#!/usr/bin/env bash
# Build the operator and sandbox images with podman (no Docker engine, no registry here) on the
# Debian base that base.sh makes. Layers are cached by podman: a warm run with unchanged inputs
# reuses every layer; a code change re-runs only the package install.
#   hack/images/build.sh [operator|sandbox|all]     (default all)
# Prints one line per image: "<image> <size in bytes>". Env: MGE_IMAGE_TAG (default the package
# version), BASE_IMAGE (default localhost/debian:bookworm, made by base.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WHAT=${1:-all}
TAG=${MGE_IMAGE_TAG:-$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml" | head -n 1)}
BASE=${BASE_IMAGE:-localhost/debian:bookworm}
OPERATOR_IMAGE=${MGE_OPERATOR_IMAGE:-localhost/mge-operator:$TAG}
SANDBOX_IMAGE=${MGE_SANDBOX_IMAGE:-localhost/mge-sandbox:$TAG}

# One build at a time on this machine: the images' names and podman's storage are shared by
# every checkout, and two test runs building the same tags at once failed each other's build.
LOCK_DIR=${XDG_CACHE_HOME:-$HOME/.cache}
mkdir -p "$LOCK_DIR"
exec 9>"$LOCK_DIR/mge-image-build.lock"
if ! flock -n 9; then
  echo "images: waiting for another build on this machine ($LOCK_DIR/mge-image-build.lock)" >&2
  flock 9
fi

if [ "$BASE" = localhost/debian:bookworm ]; then bash "$HERE/base.sh" >&2; fi

# A CA bundle for pip/npm inside RUN steps (a TLS-intercepting proxy), passed as a build secret:
# mounted for those steps only, never stored in an image layer.
CA_BUNDLE=${MGE_BUILD_CA_BUNDLE:-${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}}
SECRET=()
if [ -s "$CA_BUNDLE" ]; then SECRET=(--secret "id=ca-bundle,src=$CA_BUNDLE"); fi

build() {  # build IMAGE DOCKERFILE
  local t0; t0=$(date +%s)
  podman build --isolation=chroot --layers --build-arg "BASE_IMAGE=$BASE" "${SECRET[@]}" \
    -f "$2" -t "$1" "$REPO" >&2
  echo "images: $1 built in $(( $(date +%s) - t0 )) s" >&2
  echo "$1 $(podman image inspect --format '{{.Size}}' "$1")"
}

case "$WHAT" in
  operator) build "$OPERATOR_IMAGE" "$REPO/Dockerfile" ;;
  sandbox) build "$SANDBOX_IMAGE" "$REPO/sandbox-image/Dockerfile" ;;
  all)
    build "$SANDBOX_IMAGE" "$REPO/sandbox-image/Dockerfile"
    build "$OPERATOR_IMAGE" "$REPO/Dockerfile"
    ;;
  *) echo "usage: $0 [operator|sandbox|all]" >&2; exit 2 ;;
esac
