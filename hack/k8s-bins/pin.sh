#!/usr/bin/env bash
# Re-pin the control-plane versions: rewrites go.mod/go.sum of the three tools modules next to
# this script. build.sh reads the versions from those files, so nothing else needs editing.
#
#   hack/k8s-bins/pin.sh K8S_VERSION KWOK_VERSION ETCD_VERSION
#   hack/k8s-bins/pin.sh v1.34.4 v0.8.0 v3.6.16
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces ~30 staging modules
# (k8s.io/api, k8s.io/apiserver, ...) with ./staging/... paths. The tools module requires
# k8s.io/kubernetes and replaces each staging module with its published v0.<minor>.<patch>,
# taking the list from k8s.io/kubernetes's own go.mod. kwok and etcd get modules of their own
# because they need other versions of the same libraries.
set -euo pipefail

if [[ $# -ne 3 ]]; then
  sed -n '2,6p' "$0" >&2
  exit 2
fi
K8S_VERSION="$1" KWOK_VERSION="$2" ETCD_VERSION="$3"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

fresh_module() {  # DIR MODULE_PATH
  rm -f "$1/go.mod" "$1/go.sum"
  mkdir -p "$1"
  (cd "$1" && "$GO" mod init "$2" >/dev/null 2>&1 && "$GO" mod edit -go=1.21)
}

# --- k8s.io/kubernetes (its go directive and godebug settings are copied too)
staging="v0.${K8S_VERSION#v1.}"
kk_mod="$(cd "$HERE" && "$GO" mod download -json "k8s.io/kubernetes@$K8S_VERSION" \
  | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
fresh_module "$HERE" mge.dev/hack/k8s-bins
cd "$HERE"
while read -r module; do
  "$GO" mod edit -replace="$module=$module@$staging"
done < <(sed -n 's|^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*|\1|p' "$kk_mod")
"$GO" mod edit -go="$(sed -n 's/^go //p' "$kk_mod")"
godebug="$(sed -n 's/^godebug //p' "$kk_mod")"
[[ -n "$godebug" ]] && "$GO" mod edit -godebug="$godebug"
"$GO" get -tool \
  "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
  "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" \
  "k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION"

# --- kwok
fresh_module "$HERE/kwok" mge.dev/hack/k8s-bins/kwok
(cd "$HERE/kwok" && "$GO" get -tool "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" && "$GO" mod tidy)

# --- etcd
fresh_module "$HERE/etcd" mge.dev/hack/k8s-bins/etcd
(cd "$HERE/etcd" && "$GO" get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION" && "$GO" mod tidy)

echo "pinned k8s $K8S_VERSION, kwok $KWOK_VERSION, etcd $ETCD_VERSION; now run build.sh" >&2
