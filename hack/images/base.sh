#!/usr/bin/env bash
# Make a Debian bookworm base image from Debian packages (there is no registry here) and import it
# into podman as localhost/debian:bookworm. The rootfs tarball is cached under
# ~/.cache/mge-images; a warm run only imports it (or does nothing if the image exists).
set -euo pipefail
CACHE=${MGE_IMAGE_CACHE:-$HOME/.cache/mge-images}
TAR=$CACHE/debian-bookworm-minbase.tar
IMAGE=localhost/debian:bookworm
mkdir -p "$CACHE"
if podman image exists "$IMAGE"; then echo "base: $IMAGE exists"; exit 0; fi
if [ ! -s "$TAR" ]; then
  # The mirror is whatever this machine's apt already uses (first URIs line of its sources).
  MIRROR=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  [ -n "$MIRROR" ] || MIRROR=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
  ROOT=$(mktemp -d)
  t0=$(date +%s)
  debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1
  # Keep apt pointed at the same mirror inside the image.
  echo "deb $MIRROR bookworm main" >"$ROOT/etc/apt/sources.list"
  tar -C "$ROOT" -cf "$TAR.tmp" . && mv "$TAR.tmp" "$TAR"
  rm -rf "$ROOT"
  echo "base: debootstrap took $(( $(date +%s) - t0 )) s"
fi
podman import "$TAR" "$IMAGE" >/dev/null
echo "base: imported $IMAGE"
