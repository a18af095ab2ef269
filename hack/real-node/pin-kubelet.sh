#!/usr/bin/env bash
# Re-pin the kubelet module to the control plane's Kubernetes version: copies the replace list
# (and go/godebug lines) from hack/k8s-bins/go.mod and adds the kubelet as the only tool.
# Run after hack/k8s-bins/pin.sh; then hack/real-node/build-kubelet.sh.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
src="$HERE/../k8s-bins"
version="$(sed -n 's|^[[:space:]]*k8s\.io/kubernetes \(v[^[:space:]]*\).*|\1|p' "$src/go.mod" | head -n1)"
cd "$HERE/kubelet"
cp "$src/go.mod" "$src/go.sum" .
"$GO" mod edit -module=mge.dev/hack/real-node/kubelet
for tool in kube-apiserver kube-controller-manager kube-scheduler; do
  "$GO" mod edit -droptool="k8s.io/kubernetes/cmd/$tool"
done
"$GO" get -tool "k8s.io/kubernetes/cmd/kubelet@$version"
"$GO" mod tidy
echo "pinned kubelet $version; now run hack/real-node/build-kubelet.sh" >&2
