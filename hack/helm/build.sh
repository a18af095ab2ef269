#!/usr/bin/env bash
# Build helm and kubeconform with `go install` into ${MGE_TOOLS_CACHE:-~/.cache/mge-tools}/<key>/,
# only on a cache miss (a binary or the stamp file missing). The last line of stdout is the bin
# dir; progress goes to stderr. One build at a time per cache root (flock).
# Pins: change them here; the key holds both versions, so a new pin builds into a new folder.
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-v3.19.2}
KUBECONFORM_VERSION=${KUBECONFORM_VERSION:-v0.7.0}
ROOT=${MGE_TOOLS_CACHE:-$HOME/.cache/mge-tools}
KEY="helm-${HELM_VERSION}_kubeconform-${KUBECONFORM_VERSION}"
BIN=$ROOT/$KEY
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
STAMP=$BIN/.build-complete

mkdir -p "$ROOT"
exec 9>"$ROOT/.lock"
flock 9
if [ -z "${MGE_TOOLS_FORCE:-}" ] && [ -f "$STAMP" ] && [ -x "$BIN/helm" ] && [ -x "$BIN/kubeconform" ]; then
  echo "$BIN"; exit 0
fi
t0=$(date +%s)
mkdir -p "$BIN"
rm -f "$STAMP"
# helm's version string comes from ldflags; without them `helm version` prints v3.x-dev-ish.
HELM_LDF="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
echo "tools: go install helm ${HELM_VERSION} ..." >&2
CGO_ENABLED=0 GOBIN="$BIN" "$GO" install -trimpath -ldflags "$HELM_LDF" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}" >&2
echo "tools: go install kubeconform ${KUBECONFORM_VERSION} ..." >&2
CGO_ENABLED=0 GOBIN="$BIN" "$GO" install -trimpath -ldflags "-s -w" \
  "github.com/yannh/kubeconform/cmd/kubeconform@${KUBECONFORM_VERSION}" >&2
touch "$STAMP"
echo "tools: built in $(( $(date +%s) - t0 )) s" >&2
echo "$BIN"
